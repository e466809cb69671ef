"""``erase`` takes the DAG's writer pool (plugins/intent_pipeline/privacy/writer_pool.py): with a real
Airflow metadata DB, the pool ``intent_warehouse`` as the setup creates it and a real task of that
pool running (``dag.test()`` of a one-task DAG that holds its slot until told to stop), the erase
command refuses after ``--wait``, or waits and erases once the writer is done; the pool gets its
slots back either way. Slow: Airflow starts in every subprocess."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.airflow_home import airflow_metadata, install_metadata

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
POOL_DESCRIPTION = "customer_intent: one writer of the DuckDB warehouse at a time"
HOLDER_DAG = """
import os, pathlib, time
import pendulum
from airflow.sdk import dag, task


@dag(dag_id="pool_holder", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
def pool_holder():
    @task(pool="intent_warehouse")
    def dbt_build_stand_in():
        pathlib.Path(os.environ["HOLDER_STARTED"]).write_text("running")
        while not pathlib.Path(os.environ["HOLDER_STOP"]).exists():
            time.sleep(0.2)

    dbt_build_stand_in()


holder = pool_holder()
if __name__ == "__main__":
    holder.test()
"""
CLI_COMMANDS = """
import json, sys
from airflow.cli.cli_parser import get_parser
for args in json.loads(sys.argv[1]):
    parsed = get_parser().parse_args(args)
    parsed.func(parsed)
"""


@pytest.fixture(scope="module")
def airflow(tmp_path_factory):
    home = tmp_path_factory.mktemp("erase-pool")
    (home / "dags").mkdir()
    (home / "dags" / "pool_holder.py").write_text(HOLDER_DAG)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("INTENT_") and k != "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
    }
    env.update({
        "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "INTENT_HOME": str(home / "intent"), "INTENT_PII_SALT": "pool-salt",
        "HOLDER_STARTED": str(home / "started"), "HOLDER_STOP": str(home / "stop"),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT), env.get("PYTHONPATH", "")]),
    })  # fmt: skip
    # the test run's migrated metadata DB (tests/airflow_home.py), then `airflow pools set ...` as the
    # setup runs it (the CLI's parser and command, as `airflow <args>` runs them)
    install_metadata(airflow_metadata(tmp_path_factory), home)
    commands = [["pools", "set", "intent_warehouse", "1", POOL_DESCRIPTION]]
    done = subprocess.run([sys.executable, "-c", CLI_COMMANDS, json.dumps(commands)], env=env, capture_output=True,
                          text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert pool_row(home) == (1, POOL_DESCRIPTION)
    return home, env


def pool_row(home: Path) -> tuple[int, str]:
    db = sqlite3.connect(home / "airflow.db")
    try:
        return db.execute("select slots, description from slot_pool where pool = 'intent_warehouse'").fetchone()
    finally:
        db.close()


def wait_for(condition, what: str, limit: float = 600.0) -> None:
    """Wait for a state another process reaches (a generous limit: a stuck process, not a slow one)."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.5)


def erase(env: dict, *args: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "intent_pipeline", "erase", "--email", "wang.fang@example.com",
               "--reason", "PIPL art. 47, ticket 5", "--no-rebuild", *args]  # fmt: skip
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_erase_refuses_or_waits_while_a_writer_holds_the_pool(airflow):
    home, env = airflow
    suppression_list = home / "intent" / "data" / "state" / "privacy" / "suppression_list.txt"
    holder = subprocess.Popen([sys.executable, str(home / "dags" / "pool_holder.py")], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for((home / "started").exists, "the pool's task running")

        refused = erase(env, "--wait", "1")
        out, err = refused.communicate()
        assert refused.returncode == 2, out + err
        assert "a pipeline writer holds the warehouse: pool_holder.dbt_build_stand_in (manual__" in err
        assert pool_row(home) == (1, POOL_DESCRIPTION)  # the pool as it was
        assert not suppression_list.exists()  # nothing erased

        waiting = erase(env, "--wait", "900")
        # it closes the pool (no new writer is queued) and waits for the running one
        wait_for(lambda: pool_row(home)[0] == 0, "the pool closed by erase")
        assert pool_row(home)[1].startswith("held by intent erase pid ")
        assert waiting.poll() is None and not suppression_list.exists()
        (home / "stop").write_text("done")  # the writer finishes
        out, err = waiting.communicate()
        assert waiting.returncode == 0, out + err
    finally:
        (home / "stop").write_text("done")
        holder.wait()
    report = json.loads(out)
    assert report["writer_pool"]["pool"] == "intent_warehouse" and report["writer_pool"]["slots"] == 1
    assert report["writer_pool"]["waited_seconds"] > 0
    assert suppression_list.exists()
    assert pool_row(home) == (1, POOL_DESCRIPTION)  # given back


def test_a_pool_another_erase_holds_is_refused(airflow):
    home, env = airflow
    held = "held by intent erase pid 4242 since 2026-12-05T05:00:00+00:00; was 1 slot(s): " + POOL_DESCRIPTION
    db = sqlite3.connect(home / "airflow.db")
    with db:
        db.execute("update slot_pool set slots = 0, description = ? where pool = 'intent_warehouse'", [held])
    db.close()
    try:
        refused = erase(env, "--wait", "1")
        out, err = refused.communicate()
        assert refused.returncode == 2, out + err
        assert "is closed by another erasure" in err and "airflow pools set intent_warehouse 1" in err
        assert pool_row(home) == (0, held)  # left to its holder
    finally:
        db = sqlite3.connect(home / "airflow.db")
        with db:
            db.execute("update slot_pool set slots = 1, description = ? where pool = 'intent_warehouse'",
                       [POOL_DESCRIPTION])  # fmt: skip
        db.close()
