"""The DAG's optional ``build_dashboard`` task: where it sits, when it runs, and what it says when not.

The successful rebuild through the same function (the sample's serving copy, the real
``dashboard/build.sh``) is in tests/dashboard/test_operations_page.py, which has the sample.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from intent_pipeline import dashboard

from tests.airflow_home import airflow_metadata, install_metadata

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dag(tmp_path_factory):
    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow_home")))
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}, bag.import_errors
    return bag.dags["customer_intent"]


def test_build_dashboard_runs_after_the_summary_and_blocks_nothing(dag):
    task = dag.get_task("build_dashboard")
    # after publish (through summarize: the overview reads the run's summary too)
    assert task.upstream_task_ids == {"summarize"}
    assert "publish" in {t.task_id for t in task.get_flat_relatives(upstream=True)}
    assert not task.downstream_task_ids
    assert task.retries >= 2 and task.pool != "intent_warehouse"
    assert "INTENT_DASHBOARD_BUILD" in dag.doc_md


@pytest.mark.parametrize("value", ["", "0", "off", "False"])
def test_off_unless_configured(value):
    env = {"INTENT_DASHBOARD_BUILD": value, "PATH": os.environ["PATH"]}
    assert not dashboard.enabled(env)
    with pytest.raises(dashboard.DashboardSkipped, match="INTENT_DASHBOARD_BUILD is not set"):
        dashboard.build(env)


def test_a_value_that_is_no_switch_is_an_error():
    with pytest.raises(ValueError, match="INTENT_DASHBOARD_BUILD must be one of"):
        dashboard.enabled({"INTENT_DASHBOARD_BUILD": "sometimes"})


def test_on_without_npm_is_skipped_saying_so(tmp_path):
    # a PATH with python but no npm
    (tmp_path / "python3").symlink_to(sys.executable)
    env = {"INTENT_DASHBOARD_BUILD": "1", "PATH": str(tmp_path)}
    assert dashboard.enabled(env)
    with pytest.raises(dashboard.DashboardSkipped, match="npm is not on this worker's PATH"):
        dashboard.build(env)


def test_on_without_the_dashboard_folder_is_skipped_saying_so(tmp_path):
    if shutil.which("npm") is None:
        pytest.fail("npm is needed for this test (Debian: apt-get install -y nodejs npm)")
    env = {"INTENT_DASHBOARD_BUILD": "yes", "PATH": os.environ["PATH"]}
    with pytest.raises(dashboard.DashboardSkipped, match="does not exist"):
        dashboard.build(env, script=tmp_path / "dashboard" / "build.sh")


def test_a_failed_build_fails_the_task_with_the_builds_message(tmp_path):
    """The real build.sh on an installation that never published: it refuses, and the task fails
    with build.sh's own message (not a skip: the build was asked for and could not be made)."""
    if not (ROOT / "dashboard" / "node_modules" / ".package-lock.json").exists():
        pytest.fail("dashboard/node_modules is needed (cd dashboard && npm ci; scripts/test.sh does)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTENT_")}
    env.update(INTENT_DASHBOARD_BUILD="1", INTENT_HOME=str(tmp_path), INTENT_DASHBOARD_OUT=str(tmp_path / "site"))
    with pytest.raises(dashboard.DashboardBuildFailed, match="exited with 2(.|\n)*no published serving copy"):
        dashboard.build(env)
    assert not (tmp_path / "site").exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".site.")], "a temporary folder was left"


@pytest.mark.slow
def test_the_task_is_skipped_in_a_real_run_and_its_log_says_why(tmp_path, tmp_path_factory):
    """``airflow dags test`` with every other task marked done: build_dashboard runs, is skipped
    (not failed) and logs why; the run succeeds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTENT_")}
    env.update(
        AIRFLOW_HOME=str(tmp_path / "airflow"), AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"), AIRFLOW__CORE__LOAD_EXAMPLES="False",
        PYTHONPATH=str(ROOT / "plugins"), INTENT_HOME=str(tmp_path / "home"),
        PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
    )  # fmt: skip
    # the test run's migrated metadata DB (tests/airflow_home.py), not a migration of its own
    install_metadata(airflow_metadata(tmp_path_factory), tmp_path / "airflow")
    done = subprocess.run(
        ["airflow", "dags", "test", "customer_intent", "2026-11-21",
         "--mark-success-pattern", "^(?!build_dashboard$).*"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    assert "dashboard build skipped: INTENT_DASHBOARD_BUILD is not set" in output
    skipped = [line for line in output.splitlines() if "new_state=skipped" in line]
    assert skipped, output[-4000:]
    assert "state=success" in output
