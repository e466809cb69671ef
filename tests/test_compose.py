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


def test_the_init_creates_and_owns_the_bind_mounted_folders():
    """On a Linux host the bind mounts are written as AIRFLOW_UID: the init (as root) creates every
    mounted folder the containers write and hands it to that uid, as the official quick start does."""
    compose = _compose()
    services = compose["services"]
    init = services["airflow-init"]
    assert init["user"] == "0:0"
    script = init["command"][-1]
    written = {m.split(":")[1] for m in compose["x-airflow-common"]["volumes"]
               if m.split(":")[0] in ("./data", "./logs", "./config")}  # fmt: skip
    assert written == {"/opt/intent/data", "/opt/airflow/logs", "/opt/airflow/config"}
    mkdir = next(line for line in script.splitlines() if line.startswith("mkdir -p"))
    chown = next(line for line in script.splitlines() if line.startswith("chown -R"))
    for folder in written:
        assert folder in mkdir and folder in chown, folder
    assert '"${AIRFLOW_UID:-50000}:0"' in chown
    assert compose["x-airflow-common"]["user"] == "${AIRFLOW_UID:-50000}:0"
    # the warning when .env was not written, and the documented .env step
    assert 'if [[ -z "${AIRFLOW_UID}" ]]' in script
    assert 'echo "AIRFLOW_UID=$(id -u)" > .env' in (ROOT / "docker-compose.yml").read_text()
    assert services["airflow-init"]["environment"]["_AIRFLOW_DB_MIGRATE"] == "true"
    # the warehouse pool every writing task needs exists before the scheduler starts
    assert 'airflow pools set intent_warehouse 1 "' in script


def test_auth_is_not_everyone_admin():
    env = _compose()["services"]["airflow-scheduler"]["environment"]
    assert "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS" not in env
    users = env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"]
    default = users.split(":-", 1)[1].rstrip("}")
    roles = dict(pair.split(":") for pair in default.split(","))
    assert roles["admin"] == "admin" and "viewer" in roles.values() and "op" in roles.values()
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"].startswith("/opt/airflow/config/")


def test_sample_data_service():
    sample = _compose()["services"]["intent-sample"]
    assert sample["profiles"] == ["sample"]
    assert "python -m intent_pipeline synth" in sample["command"][-1]
    assert "--landing /opt/intent/data/landing" in sample["command"][-1]
