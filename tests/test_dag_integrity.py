"""The DAG folder imports cleanly, cheaply, and the DAG is shaped as documented."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DAGS = ROOT / "dags"


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory):
    import os

    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow_home")))
    from airflow.dag_processing.dagbag import DagBag

    started = time.perf_counter()
    bag = DagBag(dag_folder=str(DAGS))
    bag.parse_seconds = time.perf_counter() - started
    return bag


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}, dagbag.import_errors
    assert "customer_intent" in dagbag.dags


def test_dag_shape(dagbag, record_property):
    dag = dagbag.dags["customer_intent"]
    record_property("dagbag_parse_seconds", round(dagbag.parse_seconds, 3))
    assert set(dag.tags) >= {"intent", "warehouse", "reverse-etl"}
    assert dag.doc_md and "customer_intent" in dag.doc_md
    assert dag.max_active_runs == 1, "DuckDB has one writer: runs must not overlap"
    assert dag.catchup is False
    for t in dag.tasks:
        assert t.retries >= 2, f"{t.task_id} has no retries"
    ids = {t.task_id for t in dag.tasks}
    assert ids == {
        "extract_forms", "extract_email", "extract_web", "extract_crm", "validate_raw", "dbt_build",
        "validate_marts", "publish", "activate", "summarize", "train_conversion_model", "retention",
        "build_dashboard",
    }  # fmt: skip
    extracts = {"extract_forms", "extract_email", "extract_web", "extract_crm"}
    assert dag.get_task("validate_raw").upstream_task_ids == extracts
    assert dag.get_task("activate").upstream_task_ids == {"validate_marts"}
    assert dag.get_task("validate_marts").upstream_task_ids == {"dbt_build"}
    # BI gets only validated marts
    assert dag.get_task("publish").upstream_task_ids == {"validate_marts"}
    # the summary names the model this run trained: it must not race the training
    assert dag.get_task("summarize").upstream_task_ids == {"activate", "publish", "train_conversion_model"}
    # retention purges old lake partitions only after the day's marts are published
    assert dag.get_task("retention").upstream_task_ids == {"publish"}
    # the model reads the warehouse after dbt finished, and a failed training never blocks activation
    assert dag.get_task("train_conversion_model").upstream_task_ids == {"dbt_build"}
    assert dag.get_task("train_conversion_model").downstream_task_ids == {"summarize"}


def test_warehouse_writers_share_a_pool_of_one_slot(dagbag):
    """Every task that writes the warehouse or its serving copy holds the pool the setup creates
    with one slot; the others never wait for it."""
    dag = dagbag.dags["customer_intent"]
    writers = {t.task_id for t in dag.tasks if t.pool == "intent_warehouse"}
    assert writers == {"dbt_build", "publish", "retention"}
    assert all(t.pool_slots == 1 for t in dag.tasks)
    init = (ROOT / "scripts" / "airflow-init.sh").read_text()
    assert 'airflow pools set intent_warehouse 1 "' in init
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "airflow pools set intent_warehouse 1" in compose
    assert "`intent_warehouse`" in dag.doc_md


def test_doc_names_every_task(dagbag):
    dag = dagbag.dags["customer_intent"]
    for task_id in dag.task_ids:
        name = task_id.removeprefix("extract_")
        assert name in dag.doc_md, f"{task_id} is not in the DAG's doc"


def test_one_logical_date_convention(dagbag):
    """Scheduled and backfill runs of interval [D, D+1) both have logical date D, and make run
    runs its day as a one-day backfill: one day, one run, whichever way it was started."""
    from datetime import UTC, datetime

    from airflow.timetables.base import DataInterval, TimeRestriction

    dag = dagbag.dags["customer_intent"]
    start = datetime(2026, 11, 21, tzinfo=UTC)
    info = dag.timetable.next_dagrun_info(
        last_automated_data_interval=DataInterval(datetime(2026, 11, 20, tzinfo=UTC), start),
        restriction=TimeRestriction(earliest=None, latest=None, catchup=True),
    )
    assert info.logical_date == start == info.data_interval.start
    assert (info.data_interval.end - start).days == 1
    run_sh = (ROOT / "scripts" / "run.sh").read_text()
    assert 'airflow_run.py --from "$DATE"' in run_sh and "dags test" not in run_sh
    runner = (ROOT / "scripts" / "airflow_run.py").read_text()
    assert '"backfill", "create"' in runner and '"--reprocess-behavior", "completed"' in runner


def test_full_refresh_is_a_boolean_param_off_by_default(dagbag):
    """docs/incremental.md: a manual run with conf {"full_refresh": true} rebuilds every incremental
    model; scheduled and backfill runs take the default, the daily incremental build."""
    from airflow.sdk.definitions.param import ParamValidationError

    params = dagbag.dags["customer_intent"].params
    assert params["full_refresh"] is False
    param = params.get_param("full_refresh")
    assert param.resolve(True) is True
    with pytest.raises(ParamValidationError):
        param.resolve("yes")


def test_data_interval_is_a_real_day(dagbag):
    """Each run owns the partition of one whole day: start < end, one day apart."""
    from datetime import UTC, datetime

    dag = dagbag.dags["customer_intent"]
    interval = dag.timetable.infer_manual_data_interval(run_after=datetime(2026, 11, 22, tzinfo=UTC))
    assert (interval.end - interval.start).total_seconds() == 86400
    assert interval.start.date().isoformat() == "2026-11-21"


# The DAG file parsed in a process of its own, as the dag-processor does, with an operator's
# `[core] default_task_retry_delay`: which heavy modules the parse imported, and each task's retry delay.
PARSE = """
import json, os, sys, runpy
dag = runpy.run_path(sys.argv[1])["customer_intent"]()  # the file's DAG function, called once more
heavy = [m for m in ('pandas', 'duckdb', 'pyarrow', 'great_expectations', 'dbt') if m in sys.modules]
print(json.dumps({"heavy": heavy, "retry_delays": {t.task_id: t.retry_delay.total_seconds() for t in dag.tasks}}))
"""
OPERATOR_RETRY_DELAY = 7


@pytest.fixture(scope="module")
def parsed_alone():
    import json
    import os

    env = {**os.environ, "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": str(OPERATOR_RETRY_DELAY)}
    out = subprocess.run(
        [sys.executable, "-c", PARSE, str(DAGS / "customer_intent.py")],
        capture_output=True, text=True, check=True, cwd=ROOT, env=env,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_dag_file_imports_no_heavy_modules(parsed_alone):
    """Parsing the DAG must not import pandas, duckdb, pyarrow, dbt or great_expectations."""
    assert parsed_alone["heavy"] == [], f"heavy imports at parse time: {parsed_alone['heavy']}"


def test_the_wait_between_tries_is_airflows_setting(parsed_alone):
    """Every task waits `[core] default_task_retry_delay` between its tries, as an operator of Airflow
    sets it (here the environment's AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY): the DAG does not fix
    it. The project's setups keep the 120 s it had: scripts/env.sh and docker-compose.yml."""
    delays = parsed_alone["retry_delays"]
    assert len(delays) == 13 and set(delays.values()) == {OPERATOR_RETRY_DELAY}, delays
    import os

    shell = "source scripts/env.sh && echo $AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY"
    unset = {k: v for k, v in os.environ.items() if k != "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY"}
    for env, expected in ((unset, "120"), ({**unset, "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "30"}, "30")):
        done = subprocess.run(["bash", "-c", shell], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
        assert done.stdout.strip() == expected, (expected, done.stdout, done.stderr)
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY: ${AIRFLOW_RETRY_DELAY:-120}" in compose


def test_plugin_loader_does_not_execute_the_package():
    """Airflow imports every .py under plugins/ as a module named after the file, so without
    plugins/.airflowignore it would run intent_pipeline/__main__.py as ``__main__`` (and import
    pandas and GX into every Airflow process). The package must be reachable only by import."""
    from airflow._shared.plugins_manager.plugins_manager import _load_plugins_from_plugin_directory

    before = set(sys.modules)
    plugins, errors = _load_plugins_from_plugin_directory(str(ROOT / "plugins"))
    loaded = set(sys.modules) - before
    assert errors == {}
    assert not {m for m in loaded if m in {"__main__", "pipeline", "settings", "generator", "lake"}}, loaded
    assert plugins == []
