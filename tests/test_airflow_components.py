"""What scripts/airflow_run.py gives every Airflow it starts (make run, make airflow-ui, bench/operations.py,
the scheduler test): the scheduler's preload of the tasks' imports and one signing key for all components."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.airflow_home import airflow_env
from tests.benches import load_bench

ROOT = Path(__file__).resolve().parents[1]


# scripts/airflow_run.py as bench/operations.py loads it (the scheduler scenarios start Airflow through it)
airflow_run = load_bench("operations").airflow_run

# Airflow's settings import the home's airflow_local_settings; report what the process then holds
IMPORTED = (
    "import sys; sys.argv = ['airflow', sys.argv[1]]; import airflow.settings; "
    "print('imported:' + ','.join(m for m in ('great_expectations', 'pandas', 'pyarrow', 'duckdb')"
    " if m in sys.modules))"
)


def _imported_by_airflow(home: Path, command: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", IMPORTED, command], env=airflow_env(home), capture_output=True,
                          text=True, cwd=ROOT)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    last = done.stdout.splitlines()[-1]
    assert last.startswith("imported:"), done.stdout[-3000:]
    return set(filter(None, last.removeprefix("imported:").split(",")))


def test_the_scheduler_alone_imports_the_tasks_modules(tmp_path):
    """Airflow itself imports the written file: the scheduler process holds Great Expectations, pandas,
    pyarrow and DuckDB before forking any task; the CLI (and the other components) do not pay for them."""
    assert airflow_run.install_local_settings(tmp_path)
    assert _imported_by_airflow(tmp_path, "scheduler") == {"great_expectations", "pandas", "pyarrow", "duckdb"}
    assert "great_expectations" not in _imported_by_airflow(tmp_path, "dags")


def test_a_local_settings_file_of_ones_own_is_kept(tmp_path, capsys):
    own = tmp_path / "config" / "airflow_local_settings.py"
    own.parent.mkdir()
    own.write_text("def task_policy(task):\n    pass\n")
    assert not airflow_run.install_local_settings(tmp_path)
    assert own.read_text() == "def task_policy(task):\n    pass\n"
    assert "kept" in capsys.readouterr().err
    # ours is rewritten in place (a newer version of the script), not kept as someone else's
    ours = tmp_path / "ours"
    assert airflow_run.install_local_settings(ours)
    written = ours / "config" / "airflow_local_settings.py"
    written.write_text(written.read_text() + "# an older version\n")
    assert airflow_run.install_local_settings(ours)
    assert written.read_text() == airflow_run.LOCAL_SETTINGS


def test_every_component_gets_one_signing_key(tmp_path):
    home = tmp_path / "airflow"
    home.mkdir()
    env = {"AIRFLOW_HOME": str(home)}
    # a new home (no airflow.cfg yet): generated once, so every component started with it agrees
    first = airflow_run.component_env(env)
    assert len(first["AIRFLOW__API_AUTH__JWT_SECRET"]) >= 64 and first["AIRFLOW__API__SECRET_KEY"]
    assert airflow_run.component_env(env)["AIRFLOW__API_AUTH__JWT_SECRET"] != first["AIRFLOW__API_AUTH__JWT_SECRET"]
    services = airflow_run.Services(env, tmp_path / "logs", port=18080, exec_port=18091)
    assert services.env["AIRFLOW__API_AUTH__JWT_SECRET"] and services.env["AIRFLOW__API__SECRET_KEY"]
    # the home's airflow.cfg has keys: those (a login survives a restart of the components)
    (home / "airflow.cfg").write_text("[api_auth]\njwt_secret = cfg-jwt\n\n[api]\nsecret_key = cfg-key%s\n")
    assert {k: v for k, v in airflow_run.component_env(env).items() if k != "AIRFLOW_HOME"} == {
        "AIRFLOW__API_AUTH__JWT_SECRET": "cfg-jwt", "AIRFLOW__API__SECRET_KEY": "cfg-key%s"}  # fmt: skip
    # set in the environment: kept as it is
    given = airflow_run.component_env({**env, "AIRFLOW__API_AUTH__JWT_SECRET": "env-jwt"})
    assert given["AIRFLOW__API_AUTH__JWT_SECRET"] == "env-jwt" and given["AIRFLOW__API__SECRET_KEY"] == "cfg-key%s"


@pytest.mark.parametrize("argv", [["airflow", "dag-processor"], ["airflow", "api-server"], ["airflow"], []])
def test_preload_acts_in_the_scheduler_only(argv):
    from intent_pipeline.airflow_preload import preload

    assert preload(argv) == []
