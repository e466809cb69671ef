"""A BI reader on the serving copy while the real scheduler runs incremental days (the outside check).

The incremental day keeps dbt's models across runs in the warehouse file (docs/incremental.md); BI
reads only the serving copy, a separate DuckDB file swapped in by rename (docs/operations.md, "BI: the
serving copy"). Here, on the real Airflow 3 components (api-server, scheduler, dag-processor, SQLite
metadata, LocalExecutor; bench/operations.py's ``start``) and a small generated sample with one
landing drop a day for three days: day 1 is run by a backfill, then day 2 by a backfill while a
separate Python process holds read-only connections to the serving copy and queries it in a loop
(bench/operations.py's ``READER``), then day 3 the same way. Asserted:

* every day ran once and succeeded, none skipped; no DuckDB lock error in any task log or in the
  reader, which never failed a query and saw the snapshot each run published;
* day 2's and day 3's ``dbt_build`` took the incremental path (their task logs carry the incremental
  identity models' lines, fewer nodes clustered again than the graph holds);
* the kept state is not corrupted: after day 2, every incremental model and every kept table of the
  scheduler's warehouse equals a ``dbt run --full-refresh`` of a copy of it on the same lake (of those
  models and every model upstream of them, which is all a compared table depends on).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tests.airflow_home import airflow_metadata, seed_dbt_parse
from tests.benches import load_bench
from tests.dbt.conftest import INCREMENTAL_RELATIONS, WAREHOUSE_FILE, Build, run_dbt
from tests.outside.lakehouse import interval
from tests.shared import shared_folder

pytestmark = pytest.mark.slow

# every day of the generated sample has landing rows at this size (at 40 people day 2's exports were
# headers only, and the DAG rightly skipped its build: no incremental day to check)
PEOPLE = 150
DAYS = 3


def dbt_log_size(home: Path) -> int:
    log = home / "data" / "state" / "dbt" / "logs" / "dbt.log"
    return log.stat().st_size if log.exists() else 0


def dbt_log_since(home: Path, size: int) -> str:
    """What the installation's dbt runs wrote to their log (``<state>/dbt/logs/dbt.log``) after ``size``:
    the task log keeps only the end of dbt's output."""
    with (home / "data" / "state" / "dbt" / "logs" / "dbt.log").open("rb") as log:
        log.seek(size)
        return log.read().decode("utf-8", errors="replace")


def compared_tables(build: Build) -> list[str]:
    """The incremental models and their kept tables (``<model>__<state>``) of ``intermediate``."""
    kept = [t for t in build.tables() if t.startswith("intermediate.") and "__" in t]
    return sorted({*INCREMENTAL_RELATIONS, *kept, "intermediate.int_people_resolved"})


def refreshed_models(tables: list[str]) -> list[str]:
    """dbt's selection of the models ``tables`` come from and every model upstream of them (``+model``):
    what a full refresh must rebuild for those tables to be its own. A kept table ``<model>__<state>``
    comes from ``<model>`` (intermediate models have no ``__`` in their names)."""
    models = {name if schema == "staging" else name.split("__")[0]
              for schema, name in (table.split(".", 1) for table in tables)}  # fmt: skip
    return sorted(f"+{model}" for model in models)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    bench = load_bench("operations")
    runner = bench.airflow_run
    base = tmp_path_factory.mktemp("reader-airflow")
    metadata = airflow_metadata(tmp_path_factory)
    retry = {"AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "5"}
    figures: dict = {"states": {}, "readers": {}, "logs": {}, "lock_errors": []}
    with bench.start(base, metadata=metadata, extra_env=retry) as deployment:
        seed_dbt_parse(shared_folder(tmp_path_factory), deployment.home)
        bench.generate_sample(deployment.home, PEOPLE, DAYS)
        data = deployment.home / "data"
        days = [bench.LAST_DAY - timedelta(days=n) for n in reversed(range(DAYS))]
        serving = data / "serving" / "warehouse.duckdb"
        for number, day in enumerate(days):
            reader, size = None, dbt_log_size(deployment.home)
            if number:  # a BI process on the serving copy for the whole of the day's run
                stop, out = base / f"reader-{day}.stop", base / f"reader-{day}.json"
                reader = subprocess.Popen(
                    [sys.executable, "-c", bench.READER, str(serving), str(stop), str(out), "1.0"]
                )
            try:
                runner.backfill(deployment.env, day, day, 1800)
                figures["states"].update(runner.wait_for(deployment.env, [day], 1800))
                runner.wait_idle(deployment.env, 600)
            finally:
                if reader is not None:
                    stop.touch()
                    reader.wait(timeout=120)
            if reader is not None:
                figures["readers"][day] = json.loads(out.read_text())
            figures["logs"][day] = dbt_log_since(deployment.home, size)
            figures.setdefault("published", {})[day] = json.loads((data / "serving" / "published.json").read_text())
            if number == 1:  # the kept state after day 2, and a full refresh of a copy of it on the same lake
                kept = base / "after-day-2"
                kept.mkdir()
                shutil.copyfile(data / WAREHOUSE_FILE, kept / WAREHOUSE_FILE)
                refreshed = base / "refreshed"
                refreshed.mkdir()
                shutil.copyfile(data / WAREHOUSE_FILE, refreshed / WAREHOUSE_FILE)
                # the compared tables' models and every model upstream of them (refreshed_models): the
                # rest (the marts, scoring) cannot change a compared table
                compared = compared_tables(Build(base=kept, warehouse=kept / WAREHOUSE_FILE, lake=data / "lake",
                                                 build=None))  # type: ignore[arg-type]  # fmt: skip
                done = run_dbt(refreshed, data / "lake", "run", "--full-refresh", "--select",
                               *refreshed_models(compared), interval=interval(day))  # fmt: skip
                assert done.returncode == 0, done.stdout[-6000:]
                figures["builds"] = {name: Build(base=b, warehouse=b / WAREHOUSE_FILE, lake=data / "lake", build=None)
                                     for name, b in (("kept", kept), ("refreshed", refreshed))}  # type: ignore[arg-type]  # fmt: skip
        figures["lock_errors"] = bench.lock_errors_in_logs(deployment.airflow_home / "logs")
        runs = bench.interval_runs(deployment.db)
        figures["dbt_build"] = {
            day.isoformat(): [
                bench.task_states(deployment.db, run_id).get("dbt_build")
                for run_id, _, _ in runs.get(day.isoformat(), [])
            ]
            for day in days
        }
        figures["days"] = [day.isoformat() for day in days]
    return figures


def test_every_day_ran_once_and_built(scenario):
    assert scenario["states"] == {day: "success" for day in scenario["days"]}
    assert scenario["dbt_build"] == {day: ["success"] for day in scenario["days"]}  # none skipped


def test_the_reader_never_failed_and_nothing_hit_a_lock(scenario):
    assert scenario["lock_errors"] == []
    for day, reader in scenario["readers"].items():
        assert reader["errors"] == [] and reader["queries"] > 0, (day, reader)
        # it saw the snapshot the day's run published
        assert scenario["published"][day]["version"] in reader["versions"], (day, reader["versions"])


def test_the_days_after_the_first_were_incremental(scenario):
    for day in scenario["days"][1:]:
        log = next(log for d, log in scenario["logs"].items() if d.isoformat() == day)
        assert re.search(r"int_identity_match_evidence: \d+ records new or changed", log), log[-3000:]
        clustered = re.search(
            r"int_identity_components: \d+ nodes touched by changed edges, (\d+) nodes clustered", log
        )
        assert clustered, log[-3000:]


def test_the_kept_state_equals_a_full_refresh(scenario):
    kept, refreshed = scenario["builds"]["kept"], scenario["builds"]["refreshed"]
    tables = compared_tables(kept)
    assert len(tables) > len(INCREMENTAL_RELATIONS)
    differ = [table for table in tables if kept.rows_of(table) != refreshed.rows_of(table)]
    assert differ == []
