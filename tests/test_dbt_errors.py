"""A failed dbt build says what happened (issue 14, item 7): the lock, the failing test, never a stale result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime

import duckdb
import pytest
from airflow.sdk.exceptions import AirflowFailException
from intent_pipeline.dbt_errors import DbtBuildFailed, error_lines, explain, raise_for_dbt_failure
from intent_pipeline.pipeline import dbt_build_task, duckdb_build
from intent_pipeline.settings import Settings

# a BI tool's session on the build file: read-only, open until told to quit (its last argument names it)
BI_ON_THE_BUILD_FILE = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print("open", flush=True)
sys.stdin.readline()
con.close()
"""


def _stale_results(target, message: str = "stale failure from yesterday") -> None:
    target.mkdir(parents=True, exist_ok=True)
    results = {"results": [{"unique_id": "test.intent.stale_test", "status": "fail", "message": message}]}
    (target / "run_results.json").write_text(json.dumps(results), encoding="utf-8")
    old = time.time() - 3600
    os.utime(target / "run_results.json", (old, old))


def _held_build(tmp_path, monkeypatch, build) -> tuple[Exception, int, Settings]:
    """``build(settings)`` while another process holds the warehouse file open read-only (a BI tool
    pointed at the build file instead of the serving copy): (what it raised, the holder's pid, settings)."""
    monkeypatch.setenv("INTENT_HOME", str(tmp_path))
    settings = Settings.from_env()
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    _stale_results(settings.state_dir / "dbt" / "target")
    duckdb.connect(str(settings.warehouse)).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", BI_ON_THE_BUILD_FILE, str(settings.warehouse), "bi-tool-on-the-build-file"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(DbtBuildFailed) as failure:
            build(settings)
    finally:
        holder.communicate("quit\n", timeout=60)
    return failure.value, holder.pid, settings


def _names_the_holder_and_is_retried(error: Exception, pid: int, settings: Settings) -> str:
    message = str(error)
    assert "lock" in message.lower() and str(settings.warehouse.name) in message, message
    # the holder by its process id and command line, first; where a BI tool should point instead
    first_line = message.splitlines()[0]
    assert f"PID {pid}: " in first_line and "bi-tool-on-the-build-file" in first_line, first_line
    assert "serving copy" in first_line
    assert message.endswith("this task is retried)")
    assert "stale" not in message  # yesterday's run_results.json is not blamed
    assert not isinstance(error, AirflowFailException)  # Airflow retries a lock
    return message


def test_a_warehouse_held_by_another_process_names_the_lock_and_is_retried(tmp_path, monkeypatch):
    """The DAG's dbt_build task finds the held file before it starts dbt (dbt's start and parse would
    only reach the same lock error): no dbt process, no log of one."""
    day, next_day = datetime(2026, 11, 21, tzinfo=UTC), datetime(2026, 11, 22, tzinfo=UTC)
    error, pid, settings = _held_build(tmp_path, monkeypatch, lambda _: dbt_build_task(day, next_day, "manual__lock"))
    message = _names_the_holder_and_is_retried(error, pid, settings)
    assert "dbt build not started" in message
    assert not list(tmp_path.rglob("dbt.log")), "dbt was started"


def test_a_warehouse_taken_after_the_check_fails_dbt_itself_with_the_same_message(tmp_path, monkeypatch):
    """The file taken between the task's check and dbt's own open: a real dbt build fails on DuckDB's
    lock, and its output is explained the same way."""

    def build(settings: Settings) -> None:
        since = time.time()
        completed = duckdb_build(settings, (datetime(2026, 11, 21), datetime(2026, 11, 22)))
        assert completed.returncode != 0
        raise_for_dbt_failure(completed, settings.state_dir / "dbt" / "target", since, settings.warehouse)

    error, pid, settings = _held_build(tmp_path, monkeypatch, build)
    message = _names_the_holder_and_is_retried(error, pid, settings)
    assert "dbt build exited with" in message and "not started" not in message


def test_a_failing_test_of_this_run_fails_without_retry_and_names_it(tmp_path):
    target = tmp_path / "target"
    since = time.time() - 1
    target.mkdir()
    results = {"results": [
        {"unique_id": "test.intent.not_null_people_person_id", "status": "fail", "message": "Got 3 results"},
        {"unique_id": "model.intent.people", "status": "success", "message": "OK"},
    ]}  # fmt: skip
    (target / "run_results.json").write_text(json.dumps(results), encoding="utf-8")
    completed = subprocess.CompletedProcess(["dbt"], 1, stdout="Done. PASS=1 WARN=0 ERROR=1", stderr="")

    with pytest.raises(AirflowFailException, match="not_null_people_person_id: fail — Got 3 results"):
        raise_for_dbt_failure(completed, target, since)


def test_a_compilation_error_is_quoted_from_dbt_output_and_not_retried(tmp_path):
    _stale_results(tmp_path / "target")
    stdout = (
        "\x1b[0m10:00:01  Running with dbt=1.11.0\n"
        "\x1b[0m10:00:02  Encountered an error:\n"
        "Compilation Error in model people (models/marts/people.sql)\n"
        "  'source_x' is undefined. This can happen when calling a macro that does not exist.\n"
        "\n"
    )
    completed = subprocess.CompletedProcess(["dbt"], 2, stdout=stdout, stderr="")

    message, transient = explain(completed, tmp_path / "target", time.time() - 1)

    assert not transient
    assert "Compilation Error in model people" in message and "'source_x' is undefined" in message
    assert "stale" not in message and "\x1b" not in message


def test_error_lines_without_any_error_block_is_empty():
    assert error_lines("10:00:01  Running with dbt=1.11.0\n10:00:02  Done. PASS=3") == []
