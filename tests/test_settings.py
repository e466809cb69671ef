"""Settings: INTENT_* variables, their defaults under INTENT_HOME, and from_env(mapping)."""

from __future__ import annotations

from pathlib import Path

import pytest
from intent_pipeline.settings import PROJECT_ROOT, Settings, env_flag


def test_defaults_live_under_home(tmp_path):
    settings = Settings.from_env({"INTENT_HOME": str(tmp_path)})
    data = tmp_path.resolve() / "data"
    assert settings.home == tmp_path.resolve()
    assert settings.landing_url == str(data / "landing")
    assert (settings.lake_dir, settings.warehouse) == (data / "lake", data / "warehouse.duckdb")
    assert (settings.state_dir, settings.outbox_dir, settings.reports_dir) == (
        data / "state",
        data / "outbox",
        data / "reports",
    )
    assert (settings.source_timezone, settings.on_bad_file) == ("Asia/Shanghai", "fail")
    assert (settings.dbt_unit_tests, settings.model_retrain_days) == (False, 7)
    assert settings.ledger_path == data / "state" / "activation_ledger.sqlite"


def test_no_home_is_the_project_root():
    assert Settings.from_env({}).home == PROJECT_ROOT
    assert Settings.from_env({"INTENT_HOME": ""}).warehouse == PROJECT_ROOT / "data" / "warehouse.duckdb"


def test_each_variable_overrides_its_field(tmp_path):
    settings = Settings.from_env(
        {
            "INTENT_HOME": str(tmp_path),
            "INTENT_LANDING_URL": "s3://bucket/landing",
            "INTENT_LAKE_DIR": "/srv/lake",
            "INTENT_WAREHOUSE": "w.duckdb",
            "INTENT_STATE_DIR": "/srv/state",
            "INTENT_OUTBOX_DIR": "",
            "INTENT_REPORTS_DIR": "/srv/reports",
            "INTENT_SOURCE_TIMEZONE": "UTC",
            "INTENT_ON_BAD_FILE": "quarantine",
            "INTENT_DBT_UNIT_TESTS": " Yes ",
            "INTENT_MODEL_RETRAIN_DAYS": "3",
        }
    )
    assert settings.landing_url == "s3://bucket/landing"
    assert (settings.lake_dir, settings.warehouse, settings.state_dir) == (
        Path("/srv/lake"),
        Path("w.duckdb"),
        Path("/srv/state"),
    )
    assert settings.outbox_dir == tmp_path.resolve() / "data" / "outbox"  # empty = the default
    assert settings.reports_dir == Path("/srv/reports")
    assert (settings.source_timezone, settings.on_bad_file) == ("UTC", "quarantine")
    assert (settings.dbt_unit_tests, settings.model_retrain_days) == (True, 3)
    assert settings.landing_for("web", "2026-11-21") == "s3://bucket/landing/web/dt=2026-11-21"


def test_a_given_mapping_is_read_instead_of_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("INTENT_HOME", str(tmp_path / "from-environ"))
    monkeypatch.setenv("INTENT_LAKE_DIR", "/from/environ")
    settings = Settings.from_env({"INTENT_HOME": str(tmp_path / "given")})
    assert settings.home == (tmp_path / "given").resolve()
    assert settings.lake_dir == (tmp_path / "given").resolve() / "data" / "lake"
    assert Settings.from_env().lake_dir == Path("/from/environ")


def test_only_upper_case_names_count(tmp_path):
    assert Settings.from_env({"intent_home": str(tmp_path)}).home == PROJECT_ROOT


@pytest.mark.parametrize("value", ["", "FAIL", "skip"])
def test_on_bad_file_is_fail_or_quarantine(value):
    with pytest.raises(ValueError, match="INTENT_ON_BAD_FILE must be 'fail' or 'quarantine'"):
        Settings.from_env({"INTENT_ON_BAD_FILE": value})


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("true", True), (" YES ", True), (None, False), ("", False), ("0", False), ("on", False)],
)
def test_env_flag(value, expected):
    assert env_flag(value) is expected
    assert Settings.from_env({} if value is None else {"INTENT_DBT_UNIT_TESTS": value}).dbt_unit_tests is expected


def test_settings_are_frozen():
    with pytest.raises(ValueError):
        Settings.from_env({}).on_bad_file = "quarantine"
