"""The activation ledger's history as Parquet in the lake, where dbt reads it (source ``activation``).

The ledger is SQLite (activation's own store: it never competes with dbt for the warehouse lock),
and DuckDB cannot read SQLite here (its sqlite extension is neither built in nor downloadable), so
activation writes what happened as Parquet next to the raw lake:

* ``<lake>/activation/activation_runs/dt=<interval>/part.parquet`` — every execution of a destination
  run of the interval (a task retry or a cleared run adds one: ``execution`` 1, 2, …), its counts
  as columns;
* ``<lake>/activation/activation_row_log/dt=<interval>/part.parquet`` — the row log of those runs
  (rejected, deferred, invalid, dead-lettered, stale, in doubt rows and why);
* ``<lake>/activation/activation_dead_letter/current/part.parquet`` — the dead letters now (a
  state, not a history: the whole view each time);
* ``<lake>/activation/activation_told/current/part.parquet`` — the leads each chat robot told (its
  first alert of the lead acknowledged, not held back, failed, dead-lettered or in doubt; an outbox
  file tells nobody) and the interval whose run told it (a state too): lead routing starts a
  lead's follow-up SLA there (``int_leads_told``, ``lead_assignments.told_at``).

An interval's files are replaced whole, by rename: a re-run of the interval rewrites its share (its
runs are all in the ledger), nothing is duplicated, and a reader sees the old file or the new one.
An interval with no runs still gets its (empty) files, so dbt always finds the tables' columns.
The marts ``activation_runs`` and ``activation_rejects`` are built from them by the next dbt build.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

RUNS = "activation_runs"
ROW_LOG = "activation_row_log"
DEAD_LETTER = "activation_dead_letter"
TOLD = "activation_told"
TABLES = (RUNS, ROW_LOG, DEAD_LETTER, TOLD)
# the run report's counts, one column each (a count a destination does not report is 0)
COUNT_COLUMNS = ("planned", "sent_ok", "unchanged", "rejected", "invalid", "deferred", "dead_lettered", "stale",
                 "requests")  # fmt: skip


def _per_execution(columns: dict[str, str]) -> dict[str, str]:
    """The columns of a table with a row per execution of a destination run (or per row of one):
    the run's key first, ``columns``, then ``execution`` last (the columns before it kept their places)."""
    return {"interval_start": "date32", "run_id": "string", "destination": "string", **columns, "execution": "int64"}


RUN_SCHEMA = _per_execution({
    "started_at": "timestamp",
    "finished_at": "timestamp",
    "mode": "string",
    **{column: "int64" for column in COUNT_COLUMNS},
    "error": "string",
})  # fmt: skip
ROW_LOG_SCHEMA = _per_execution({"record_key": "string", "outcome": "string", "reason": "string"})
DEAD_LETTER_SCHEMA = {
    "destination": "string",
    "record_key": "string",
    "attempts": "int64",
    "last_error": "string",
    "last_run_id": "string",
}
TOLD_SCHEMA = {"destination": "string", "record_key": "string", "told_interval": "date32"}


def history_dir(lake_dir: Path | str) -> Path:
    """``<lake>/activation``: one folder per table."""
    return Path(lake_dir) / "activation"


def _arrow_schema(columns: dict[str, str]):
    import pyarrow as pa

    types = {"string": pa.string(), "int64": pa.int64(), "date32": pa.date32(), "timestamp": pa.timestamp("s")}
    return pa.schema([(name, types[kind]) for name, kind in columns.items()])


def _write(path: Path, rows: list[dict], columns: dict[str, str]) -> None:
    """``rows`` as one Parquet file at ``path``, written beside it and renamed into place."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist([{name: row.get(name) for name in columns} for row in rows], _arrow_schema(columns))
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    pq.write_table(table, partial)
    os.replace(partial, path)


def _timestamp(value: str | None):
    from datetime import datetime

    return datetime.fromisoformat(value) if value else None


def _run_row(
    interval: str, run_id: str, destination: str, execution: int, started: str, finished: str | None,
    counts: str | None,
):  # fmt: skip
    report: dict[str, Any] = json.loads(counts) if counts else {}
    return {
        "interval_start": date.fromisoformat(interval),
        "run_id": run_id,
        "destination": destination,
        "execution": execution,
        "started_at": _timestamp(started),
        "finished_at": _timestamp(finished),
        "mode": report.get("mode"),
        **{column: int(report.get(column) or 0) for column in COUNT_COLUMNS},
        "error": report.get("error"),
    }


def export_history(ledger_path: Path | str, lake_dir: Path | str, intervals: Iterable[date] | None = None) -> dict:
    """Write the ledger's runs and row log of ``intervals`` (default: every interval the ledger has
    runs for) and its current dead letters as Parquet under ``<lake>/activation``; returns
    ``{"intervals": [...], "runs": n, "row_log": n, "dead_letters": n, "told": n}`` (rows written)."""
    from intent_pipeline.activation.ledger import Ledger

    out = history_dir(lake_dir)
    done: list[str] = []
    counted = {"runs": 0, "row_log": 0, "dead_letters": 0, "told": 0}
    with Ledger(ledger_path) as ledger:
        db: sqlite3.Connection = ledger.db
        if intervals is None:
            days = [day for (day,) in db.execute(f"select distinct interval_start from {RUNS} order by 1")]
        else:
            days = sorted({day.isoformat() for day in intervals})
        for day in days:
            runs = [
                _run_row(*row)
                for row in db.execute(
                    f"select interval_start, run_id, destination, execution, started_at, finished_at, counts"
                    f" from {RUNS} where interval_start = ? order by started_at, destination, execution",
                    (day,),
                )
            ]
            log = [
                dict(zip(("run_id", "destination", "execution", "record_key", "outcome", "reason"), row, strict=True))
                | {"interval_start": date.fromisoformat(day)}
                for row in db.execute(
                    f"select l.run_id, l.destination, l.execution, l.record_key, l.outcome, l.reason from {ROW_LOG} l"
                    f" join {RUNS} r on r.run_id = l.run_id and r.destination = l.destination"
                    " and r.execution = l.execution where r.interval_start = ? order by l.rowid",
                    (day,),
                )
            ]
            _write(out / RUNS / f"dt={day}" / "part.parquet", runs, RUN_SCHEMA)
            _write(out / ROW_LOG / f"dt={day}" / "part.parquet", log, ROW_LOG_SCHEMA)
            done.append(day)
            counted["runs"] += len(runs)
            counted["row_log"] += len(log)
        dead = [
            dict(zip(DEAD_LETTER_SCHEMA, row, strict=True))
            for row in db.execute(
                f"select destination, record_key, attempts, last_error, last_run_id from {DEAD_LETTER}"
                " order by destination, record_key"
            )
        ]
        told = told_leads(db)
    _write(out / DEAD_LETTER / "current" / "part.parquet", dead, DEAD_LETTER_SCHEMA)
    _write(out / TOLD / "current" / "part.parquet", told, TOLD_SCHEMA)
    counted["dead_letters"] = len(dead)
    counted["told"] = len(told)
    return {"intervals": done, **counted}


def told_leads(db: sqlite3.Connection) -> list[dict]:
    """``TOLD_SCHEMA`` rows: every lead a chat robot told, per robot: its first alert (round 0, the key
    is the person id: no ``#<round>``, no ``stall:``) acknowledged, with the interval of the run that
    did it (None for a ledger row from before the ledger kept it). An outbox (``<robot>:outbox``) told
    nobody; a held-back, failed, dead-lettered or in-doubt alert told nobody for sure."""
    from intent_pipeline.activation.chat import MENTION_COLUMNS
    from intent_pipeline.activation.ledger import ACKNOWLEDGED

    rows = db.execute(
        "select destination, record_key, acknowledged_interval from activation_ledger where status = ?"
        " order by destination, record_key",
        (ACKNOWLEDGED,),
    )
    return [
        {"destination": destination, "record_key": key,
         "told_interval": date.fromisoformat(day) if day else None}
        for destination, key, day in rows
        # a robot's own account (``<robot>@<account>``); its outbox is ``<robot>:outbox``
        if destination.split("@", 1)[0] in MENTION_COLUMNS and "#" not in key and not key.startswith("stall:")
    ]  # fmt: skip
