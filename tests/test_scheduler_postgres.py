"""BI reads Postgres ``serving`` from another process while the next day builds, under the real scheduler.

Real Airflow 3 components (one api-server for both APIs, scheduler, dag-processor; SQLite metadata,
LocalExecutor: bench/operations.py's ``start``) run ``customer_intent`` with ``INTENT_ENGINE=postgres`` on the test
run's real PostgreSQL server (tests/postgres_server.py; this file has its own database there). Every
libpq client of the components (dbt, the tasks' psycopg2) runs with ``lock_timeout=60s``: a build or
publish that waited for the reader's locks would fail instead of hanging.

The scheduler creates no scheduled run here (``[scheduler] use_job_schedule`` off; manual runs and
backfills run as ever): the scheduled run of the latest interval, a day without data, is
tests/test_scheduler.py's, and here it only held day 1 back (scheduled and manual runs share the
DAG's ``max_active_runs=1``: day 1 started when it ended, 32 s after the start at load average about
20, after five task processes: the four extracts and the raw gate's skip).

Day 1 runs as a manual run (the REST API's trigger, logical date = interval start) and publishes.
Then a separate process reads ``serving`` in a loop (one autocommit connection, as a BI tool: the
list of tables, then one statement that reads ``serving.published`` and counts every table) while
day 2 runs as a backfill: extract, load, the dbt build into ``marts``, the snapshot, the gate, the
publish's swap. (Day 1 is not a backfill too: Airflow runs one backfill of a DAG at a time, and the
scheduler marks one complete only every 30 s, so a second backfill would wait for that mark.)
Asserted: both days succeed (so nothing the build or the publish did waited 60 s on the reader), the
reader never failed, every state it saw is exactly one run's published state (each table's rows
equal what that run's publish copied: never a half-built or mixed one), it saw day 1's state while
day 2's ``dbt_build`` ran and day 2's after its publish, and in that order. Each run took its
snapshot, its summary counts the people of that snapshot, and ``serving`` is masked. (That a later
build cannot change what a run's later tasks read is shown in tests/test_postgres_serving.py, where
the marts are replaced between a run's snapshot and its readers: here day 1's summary ran before day
2 built, so the live marts and the snapshot could not differ.)
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta

import pytest

from tests.airflow_home import airflow_metadata
from tests.benches import load_bench
from tests.postgres_server import (  # noqa: F401  (fixture server)
    database_fixture,
    masked_emails,
    pg_rows,
    postgres_server_fixture,
)

pytestmark = pytest.mark.slow

PEOPLE = 150
TIMEOUT = 3000

READER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import psycopg2

    params, stop, out = json.loads(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    con, states, errors, queries = None, [], [], 0
    while not stop.exists():
        try:
            if con is None:
                con = psycopg2.connect(**params)
                con.autocommit = True
            cursor = con.cursor()
            cursor.execute("select table_name from information_schema.tables where table_schema = 'serving'"
                           " and table_name not in ('published', 'masked_columns') order by 1")
            tables = [row[0] for row in cursor.fetchall()]
            counts = ", ".join(f'(select count(*) from serving."{t}")' for t in tables)
            # one statement: one snapshot of the data, its names resolved once
            cursor.execute(f"select run_id, {counts} from serving.published")
            row = cursor.fetchone()
            queries += 1
            state = [row[0], dict(zip(tables, row[1:]))]
            if not states or states[-1][0] != state:
                states.append([state, time.time(), time.time()])
            else:
                states[-1][2] = time.time()
        except Exception as error:
            errors.append(f"{type(error).__name__}: {error}".replace(chr(10), " "))
            con = None
        time.sleep(0.2)
    out.write_text(json.dumps({"queries": queries, "errors": errors, "states": states}))
    """
)


def utc_seconds(value: str) -> float:
    """Epoch seconds of a time in Airflow's metadata DB (UTC, naive or not)."""
    parsed = datetime.fromisoformat(value.replace(" ", "T"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


@pytest.fixture(scope="module")
def scenario(server, tmp_path_factory) -> dict:
    from intent_pipeline.postgres_load import profile_env, snapshot_prefix

    bench = load_bench("operations")
    runner = bench.airflow_run
    base = tmp_path_factory.mktemp("scheduler-postgres")
    day2 = bench.LAST_DAY
    day1 = day2 - timedelta(days=1)
    bench.generate_sample(base / "home", PEOPLE, 2)
    extra = {**profile_env(server), "INTENT_ENGINE": "postgres", "PGOPTIONS": "-c lock_timeout=60s"}
    extra.pop("DBT_TARGET")  # the engine decides the dbt target of the DAG's builds
    extra["AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE"] = "False"  # no scheduled run (see the module's doc)
    stop, out = base / "reader.stop", base / "reader.json"
    # one api-server for the REST and the task execution APIs (split=False): the REST writes that
    # deadlock with the task API's on SQLite (docs/operations.md) are the pools, the unpausing, the
    # trigger and the backfill's create, and here each comes while no task runs
    with bench.start(base, metadata=airflow_metadata(tmp_path_factory), extra_env=extra,
                     split=False) as deployment:  # fmt: skip
        env = deployment.env
        runner.trigger_manual(deployment.port, deployment.airflow_home, day1)
        first = runner.wait_for(env, [day1], TIMEOUT, every=bench.POLL_SECONDS)
        runner.wait_idle(env, TIMEOUT, backfills=False, every=bench.POLL_SECONDS)
        reader = subprocess.Popen([sys.executable, "-c", READER, json.dumps(server), str(stop), str(out)])
        try:
            runner.backfill(env, day2, day2, TIMEOUT)
            second = runner.wait_for(env, [day2], TIMEOUT, every=bench.POLL_SECONDS)
            # nothing queued or running when Airflow stops (its backfill need not be marked complete)
            runner.wait_idle(env, TIMEOUT, backfills=False, every=bench.POLL_SECONDS)
        finally:
            stop.touch()
            reader.wait(timeout=120)
        db = deployment.db
        con = sqlite3.connect(db)
        try:
            runs = dict(con.execute(
                "select run_id, data_interval_start from dag_run where dag_id = 'customer_intent'"
                " and run_type in ('manual', 'backfill')").fetchall())  # fmt: skip
            run_types = [row[0] for row in con.execute(
                "select run_type from dag_run where dag_id = 'customer_intent'").fetchall()]  # fmt: skip
            tries = con.execute("select run_id, task_id, start_date, end_date, state from task_instance"
                                " where dag_id = 'customer_intent'").fetchall()  # fmt: skip
        finally:
            con.close()
        home = deployment.home
        summaries = {day.isoformat(): json.loads((home / "data" / "reports" / "runs" / f"dt={day}.json").read_text())
                     for day in (day1, day2)}  # fmt: skip
        return {
            "states": {**first, **second},
            "run_types": sorted(run_types),
            "reader": json.loads(out.read_text()),
            "publishes": bench.task_returns(db, "publish"),
            "runs": {str(start)[:10]: run_id for run_id, start in runs.items()},
            "tries": tries,
            "summaries": summaries,
            "prefixes": {run_id: snapshot_prefix(run_id) for run_id in runs},
        }


def test_both_days_succeed_with_lock_timeout_set(scenario):
    assert scenario["states"] == {"2026-11-20": "success", "2026-11-21": "success"}
    assert scenario["run_types"] == ["backfill", "manual"]  # and no scheduled run before them


def test_the_reader_saw_only_whole_published_states_old_then_new(scenario):
    reader, runs = scenario["reader"], scenario["runs"]
    assert reader["errors"] == [] and reader["queries"] > 0
    published = {p["run_id"]: p["tables"] for p in scenario["publishes"] if p.get("engine") == "postgres"}
    day1, day2 = runs["2026-11-20"], runs["2026-11-21"]
    assert set(published) == {day1, day2}
    seen = []
    for (run_id, counts), _, _ in reader["states"]:
        assert run_id in published, run_id
        assert counts == published[run_id], f"a state that is not {run_id}'s publish"  # never half, never mixed
        seen.append(run_id)
    assert seen == [day1, day2], seen  # the old state, then (after the swap) the new one


def test_the_reader_read_the_old_state_while_the_next_build_ran(scenario):
    day2 = scenario["runs"]["2026-11-21"]
    build = [t for t in scenario["tries"] if t[0] == day2 and t[1] == "dbt_build"]
    assert len(build) == 1 and build[0][4] == "success"
    started, ended = utc_seconds(build[0][2]), utc_seconds(build[0][3])
    (first_state, first_from, first_to) = scenario["reader"]["states"][0]
    assert first_state[0] == scenario["runs"]["2026-11-20"]
    assert first_from < started and first_to > ended  # read throughout day 2's build, never waiting for it


def test_each_run_took_its_snapshot_its_summary_counts_it_and_serving_is_masked(scenario, server):
    for day, run_id in scenario["runs"].items():
        marts = scenario["prefixes"][run_id] + "__marts"
        in_snapshot = pg_rows(server, f'select count(*) from "{marts}".people')[0][0]
        assert scenario["summaries"][day]["warehouse"]["people"] == in_snapshot, day
    emails, masked, keys = masked_emails(server)
    assert emails > 0 and masked == emails and keys == emails
    assert pg_rows(server, "select count(*) from serving.masked_columns where mart = 'people'")[0][0] >= 3
