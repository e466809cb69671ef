"""Say what went wrong in a failed ``dbt build``, in the task's own exception (issue 14, item 7).

dbt writes its errors to stdout (and dbt.log), not stderr, and leaves ``run_results.json`` from an
earlier run in place when it fails before running anything (a warehouse locked by a BI session). So
the failure is explained from, in order: this run's ``run_results.json`` (a failing data test or
model: the node and dbt's message), else dbt's own error block in its output (the lock message, a
compilation error). A failed ``column_rules`` test (one per model and severity, checking all of its
not-null, unique, accepted-values and range rules: macros/generic_tests.sql) returns a row per broken
rule; dbt only counts them, so the rows are read back from the warehouse (DuckDB, given) and listed:
the column, the rule, how many rows break it, a sample value. Data and SQL errors fail the task
without retries (a retry reruns the same data); a lock or a lost connection is left to Airflow's retries.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_TIMESTAMP = re.compile(r"^\d{2}:\d{2}:\d{2}\s+")
# dbt's error headings (dbt_common exceptions) and the start of its closing summary
_ERROR_START = re.compile(
    r"(Runtime Error|Compilation Error|Database Error|Parsing Error|Encountered an error|"
    r"Dependency Error|Env var required|IO Error|Catalog Error|Binder Error|Failure in )"
)
# Errors a retry can fix: the warehouse held by another process, a connection dropped.
TRANSIENT = ("Could not set lock on file", "Conflicting lock", "database is locked", "Connection refused",
             "could not connect", "timeout expired")  # fmt: skip
MAX_MESSAGE = 4000
# DuckDB's lock error names the process holding the file: "Conflicting lock is held in <program> (PID <n>)"
_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


class DbtBuildFailed(RuntimeError):
    """dbt build failed for a reason a retry may fix (the lock): Airflow retries it."""


def broken_rules(compiled_sql: str, warehouse: Path, limit: int = 20) -> list[str]:
    """``<column>: <rule> broken by <n> row(s) (e.g. <value>)`` for each row a failed ``column_rules``
    test returns, re-run read-only on the DuckDB ``warehouse`` (dbt has exited: the file is free)."""
    import duckdb

    query = (f"select column_name, rule, failing_rows, sample_value from ({compiled_sql}) as broken "
             f"order by column_name, rule limit {int(limit)}")  # fmt: skip
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            rows = con.execute(query).fetchall()
        finally:
            con.close()
    except duckdb.Error as error:
        return [f"(the broken rules could not be read back: {str(error).splitlines()[0]})"]
    return [
        f"{column}: {rule} broken by {count} {'row' if count == 1 else 'rows'}"
        + (f" (e.g. {sample!r})" if sample is not None else "")
        for column, rule, count, sample in rows
    ]


def run_failures(target_path: Path, since: float, warehouse: Path | None = None) -> list[str]:
    """``<node>: <status> — <message>`` of every failed or erroring node of the run that started at
    ``since`` (epoch seconds); an older ``run_results.json`` (from an earlier run) says nothing about this one.
    With the DuckDB ``warehouse``, a failed ``column_rules`` test is followed by its broken rules
    (:func:`broken_rules`), one per line."""
    results_file = target_path / "run_results.json"
    if not results_file.exists() or results_file.stat().st_mtime < since:
        return []
    try:
        results = json.loads(results_file.read_text(encoding="utf-8"))["results"]
    except (ValueError, KeyError):
        return []
    failures = []
    for r in results:
        if r.get("status") not in ("fail", "error"):
            continue
        line = f"{r['unique_id']}: {r['status']} — {(r.get('message') or '').strip()[:300]}"
        name = r["unique_id"].split(".")[2] if r["unique_id"].count(".") >= 2 else ""
        folded = name.startswith("column_rules_") and r["status"] == "fail" and r.get("compiled_code")
        if warehouse is not None and folded:
            line += "".join(f"\n    {rule}" for rule in broken_rules(r["compiled_code"], warehouse))
        failures.append(line)
    return failures


def error_lines(output: str, limit: int = 40) -> list[str]:
    """dbt's error block(s) from its console output, without colours and timestamps."""
    lines = [_TIMESTAMP.sub("", _ANSI.sub("", line)).rstrip() for line in output.splitlines()]
    picked: list[str] = []
    inside = False
    for line in lines:
        if _ERROR_START.search(line):
            inside = True
        elif inside and (not line.strip() or line.startswith("Done.")):
            inside = False
        if inside and line.strip():
            picked.append(line.strip())
    return picked[:limit]


def lock_holder(output: str) -> str | None:
    """``PID <n>: <command line>`` of the process DuckDB says holds the warehouse (its program when
    the process is gone or out of sight), or None when the output names no holder."""
    match = _HOLDER.search(output)
    if match is None:
        return None
    pid = int(match["pid"])
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace").replace("\0", " ")
        command = " ".join(argv.split())  # one line, whatever the arguments hold
    except OSError:
        command = ""
    if len(command) > 400:  # its start (the program) and its end (what it opened, a name it was given)
        command = f"{command[:200]} … {command[-200:]}"
    return f"PID {pid}: {command or match['program']}"


def explain(
    completed: subprocess.CompletedProcess, target_path: Path, since: float, warehouse: Path | None = None,
    heading: str | None = None,
) -> tuple[str, bool]:  # fmt: skip
    """(message, transient) for a dbt build that exited non-zero (``warehouse``: :func:`run_failures`;
    ``heading``: the first line of dbt's own error, "dbt build exited with N" by default)."""
    failures = run_failures(target_path, since, warehouse)
    output = f"{completed.stdout or ''}\n{completed.stderr or ''}"
    transient = any(marker in output for marker in TRANSIENT)
    if failures and not transient:
        return "dbt build failed:\n" + "\n".join(f"- {failure}" for failure in failures), False
    lines = error_lines(output)
    if not lines:  # nothing recognisable: the last lines, stderr first (a crash of dbt itself)
        tail = (completed.stderr or "").strip() or (completed.stdout or "").strip()
        lines = [_ANSI.sub("", line) for line in tail.splitlines()[-20:]]
    message = f"{heading or f'dbt build exited with {completed.returncode}'}:\n" + "\n".join(lines)
    holder = lock_holder(output)
    if holder is not None:
        # first, before dbt's traceback: who to close, and where that reader should point instead
        message = (
            f"the warehouse is held open by another process ({holder}): dbt cannot write it while any "
            "process holds it, even read-only. BI tools and notebooks read the serving copy "
            "(serving/warehouse.duckdb, docs/operations.md 'BI: the serving copy'), never the build file; "
            "close that connection.\n" + message
        )
    note = "\n(the warehouse is held by another process or unreachable: this task is retried)" if transient else ""
    return message[: MAX_MESSAGE - len(note)] + note, transient


def raise_for_dbt_failure(
    completed: subprocess.CompletedProcess, target_path: Path, since: float, warehouse: Path | None = None,
    heading: str | None = None,
) -> None:  # fmt: skip
    """Raise for a failed build: AirflowFailException (no retries) for data and SQL errors,
    :class:`DbtBuildFailed` (retried) for a lock or a lost connection. ``warehouse``: the DuckDB file
    the build wrote, to name the broken rules of a failed ``column_rules`` test (:func:`run_failures`)."""
    message, transient = explain(completed, target_path, since, warehouse, heading)
    if transient:
        raise DbtBuildFailed(message)
    from airflow.sdk.exceptions import AirflowFailException

    raise AirflowFailException(message)


def raise_if_held(warehouse: Path, target_path: Path, since: float) -> None:
    """Before a build of the DuckDB ``warehouse``: when another process holds the file (DuckDB's lock,
    even a read-only session), raise what a build that failed on the lock raises
    (:func:`raise_for_dbt_failure`: the holder named, :class:`DbtBuildFailed`, retried), without
    starting dbt, whose start and parse cost about 5 CPU-seconds before it reached the same error
    (half a minute on a loaded machine). The file taken between this check and dbt's own open fails
    dbt instead, with the same message. A missing file (a first build) is no error."""
    if not warehouse.exists():
        return
    import duckdb

    try:
        duckdb.connect(str(warehouse)).close()
    except duckdb.IOException as error:
        text = str(error)
        if not any(marker in text for marker in TRANSIENT):
            raise
        opened = subprocess.CompletedProcess(["duckdb", str(warehouse)], 1, text, "")
        heading = "the warehouse could not be opened for writing (dbt build not started)"
        raise_for_dbt_failure(opened, target_path, since, warehouse, heading)
