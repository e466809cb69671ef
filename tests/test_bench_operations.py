"""bench/operations.py's measures on hand-made metadata: they detect what they claim to."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import pytest

from tests.benches import load_bench

bench = load_bench("operations")
POOL = bench.WAREHOUSE_POOL


def t(minute: int, second: int = 0) -> datetime:
    return datetime(2026, 12, 4, 23, minute, second)


def test_overlapping_writers_are_found():
    tries = [
        ("run-a", "dbt_build", 1, t(0), t(2)),
        ("run-b", "dbt_build", 1, t(2), t(4)),  # starts when a ends: no overlap
        ("run-c", "publish", 1, t(3, 59), t(5)),  # starts before b ends: overlap
    ]
    assert bench.overlapping_pairs(tries) == [(("run-b", "dbt_build", 1), ("run-c", "publish", 1))]
    assert bench.overlapping_pairs(tries[:2]) == []


def _metadata(path, runs, tis):
    con = sqlite3.connect(path)
    con.execute(
        "create table dag_run "
        "(dag_id, run_id, run_type, state, logical_date, data_interval_start, start_date, end_date)"
    )
    con.execute("create table task_instance (dag_id, run_id, task_id, try_number, pool, state, start_date, end_date)")
    con.execute("create table task_instance_history as select * from task_instance where 0")
    con.executemany("insert into dag_run values ('customer_intent', ?, ?, ?, ?, ?, ?, ?)", runs)
    con.executemany("insert into task_instance values ('customer_intent', ?, ?, ?, ?, ?, ?, ?)", tis)
    con.commit()
    con.close()


def test_intervals_writers_and_logs_from_the_metadata_db(tmp_path):
    db = tmp_path / "airflow.db"
    _metadata(
        db,
        runs=[
            ("backfill__a", "backfill", "success", "2026-11-19 00:00:00", "2026-11-19 00:00:00",
             "2026-12-04 23:00:00", "2026-12-04 23:02:00"),
            ("manual__b", "manual", "success", "2026-11-19 00:00:00", "2026-11-19 00:00:00",
             "2026-12-04 23:01:00", "2026-12-04 23:03:30"),
        ],
        tis=[
            ("backfill__a", "dbt_build", 1, POOL, "success", "2026-12-04 23:00:00", "2026-12-04 23:01:30"),
            ("manual__b", "dbt_build", 1, POOL, "success", "2026-12-04 23:01:00", "2026-12-04 23:02:00"),
            ("manual__b", "publish", 1, POOL, "skipped", "2026-12-04 23:02:00", "2026-12-04 23:02:00"),
            ("manual__b", "extract_web", 1, "default_pool", "success", "2026-12-04 23:01:00", "2026-12-04 23:01:10"),
        ],
    )  # fmt: skip
    runs = bench.interval_runs(db)
    assert [r[0] for r in runs["2026-11-19"]] == ["backfill__a", "manual__b"]  # a duplicated interval
    tries = bench.writer_tries(db)
    assert len(tries) == 2  # the skipped publish never ran
    assert len(bench.overlapping_pairs(tries)) == 1
    assert bench.run_seconds(db) == {"backfill__a": 120.0, "manual__b": 150.0}
    logs = tmp_path / "logs"
    (logs / "dag_id=customer_intent" / "run_id=manual__b" / "task_id=extract_web").mkdir(parents=True)
    (logs / "dag_id=customer_intent" / "run_id=manual__b" / "task_id=extract_web" / "attempt=1.log").write_text("x")
    assert sorted(bench.task_logs_missing(db, logs)) == ["backfill__a/dbt_build/1", "manual__b/dbt_build/1"]


def test_a_run_whose_logical_date_is_not_its_interval_start_is_refused(tmp_path):
    db = tmp_path / "airflow.db"
    _metadata(db, runs=[("manual__x", "manual", "success", "2026-11-22 00:00:00", "2026-11-21 00:00:00",
                         None, None)], tis=[])  # fmt: skip
    with pytest.raises(AssertionError, match="logical date 2026-11-22 is not its interval start 2026-11-21"):
        bench.interval_runs(db)


def test_lock_errors_are_counted_in_task_logs(tmp_path):
    log = tmp_path / "dag_id=customer_intent" / "run_id=r" / "task_id=dbt_build" / "attempt=1.log"
    log.parent.mkdir(parents=True)
    log.write_text('IO Error: Could not set lock on file "/w.duckdb": Conflicting lock is held\\n')
    assert len(bench.lock_errors_in_logs(tmp_path)) == 2


def test_stale_values_sent_are_found_in_the_ledgers_runs(tmp_path):
    """A value acknowledged by a run of an older interval than a run of the same destination that had
    finished before it started is counted; overlapping runs, failed newer runs and other destinations
    are not."""
    import json

    from intent_pipeline.activation.ledger import Ledger

    path = tmp_path / "activation_ledger.sqlite"
    Ledger(path).close()

    def runs(*rows):
        con = sqlite3.connect(path)
        con.execute("delete from activation_runs")
        con.executemany(
            "insert into activation_runs (run_id, destination, interval_start, started_at, finished_at, counts)"
            " values (?, ?, ?, ?, ?, ?)",
            [(r[0], r[1], r[2], r[3], r[4], json.dumps(r[5])) for r in rows],
        )
        con.commit()
        con.close()
        return bench.stale_values(path)

    newer = ("manual__21", "hubspot:outbox", "2026-11-21", "2026-12-04 23:00:00", "2026-12-04 23:01:00",
             {"sent_ok": 50})  # fmt: skip
    older = ("backfill__19", "hubspot:outbox", "2026-11-19", "2026-12-04 23:02:00", "2026-12-04 23:03:00",
             {"sent_ok": 29, "stale": 0})  # fmt: skip
    assert runs(newer, older)["stale_values_sent"] == 29
    held = (*older[:5], {"sent_ok": 0, "stale": 31})
    assert runs(newer, held) == {"stale_values_sent": 0, "stale_held_back": 31, "activation_runs": 2}
    # the older run started before the newer one finished: not a value sent over a newer one
    overlapping = (*older[:3], "2026-12-04 23:00:30", "2026-12-04 23:03:00", older[5])
    assert runs(newer, overlapping)["stale_values_sent"] == 0
    # a newer run that failed holds nothing; another destination's run is not this one's
    failed = (*newer[:5], {"sent_ok": 0, "error": "ActivationGuardError: ..."})
    assert runs(failed, older)["stale_values_sent"] == 0
    assert runs((newer[0], "dingtalk:outbox", *newer[2:]), older)["stale_values_sent"] == 0
    assert bench.stale_values(tmp_path / "missing.sqlite")["stale_values_sent"] == 0
