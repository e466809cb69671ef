"""docker-compose.yml follows the official Airflow 3 structure (no Docker engine here: parsed, not run)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services_of_airflow_3():
    services = _compose()["services"]
    assert {"postgres", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
            "airflow-triggerer", "airflow-init"} <= set(services)  # fmt: skip
    commands = {name: svc.get("command") for name, svc in services.items()}
    assert commands["airflow-apiserver"] == "api-server"
    assert commands["airflow-scheduler"] == "scheduler"
    assert commands["airflow-dag-processor"] == "dag-processor"
    assert commands["airflow-triggerer"] == "triggerer"
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        depends = services[name]["depends_on"]
        assert depends["airflow-init"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"


def test_environment_and_mounts():
    services = _compose()["services"]
    scheduler = services["airflow-scheduler"]
    env = scheduler["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql")
    assert "@postgres/" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith("http://airflow-apiserver:8080")
    mounts = {m.split(":")[0]: m.split(":")[1] for m in scheduler["volumes"]}
    for folder in ("./dags", "./plugins", "./dbt_project", "./expectations", "./data"):
        assert folder in mounts, f"{folder} not mounted"
        assert (ROOT / folder).exists() or folder == "./data"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == mounts["./dags"]
    assert env["AIRFLOW__CORE__PLUGINS_FOLDER"] == mounts["./plugins"]
    assert env["INTENT_HOME"] == str(Path(mounts["./dags"]).parent)


def test_image_installs_project_requirements():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM apache/airflow:3.3.2" in dockerfile
    assert "requirements.txt" in dockerfile
    requirements = (ROOT / "requirements.txt").read_text()
    assert "apache-airflow==3.3.2" in requirements
    assert "dbt-duckdb==" in requirements and "great-expectations==" in requirements


def test_image_has_no_test_or_lint_tools():
    # The image installs the runtime set only; pytest, ruff and mypy are in requirements-dev.txt.
    instructions = [line for line in (ROOT / "Dockerfile").read_text().splitlines() if not line.startswith("#")]
    assert not any("requirements-dev" in line for line in instructions)
    runtime = (ROOT / "requirements.txt").read_text()
    dev = (ROOT / "requirements-dev.txt").read_text()
    for tool in ("pytest==", "ruff==", "mypy=="):
        assert tool not in runtime and tool in dev, tool
    assert dev.startswith("-r requirements.txt")
