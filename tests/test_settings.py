"""Settings: INTENT_* variables, their defaults under INTENT_HOME, and from_env(mapping)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from intent_pipeline.settings import PROJECT_ROOT, Settings, switch


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


SWITCHES = ("INTENT_DBT_UNIT_TESTS", "INTENT_ACTIVATION_DRY_RUN", "INTENT_DASHBOARD_BUILD", "INTENT_SERVING_MASK")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("true", True), (" YES ", True), ("on", True), ("T", True),
     ("0", False), ("false", False), (" No", False), ("OFF", False), ("f", False)],
)  # fmt: skip
def test_one_switch_parser_for_every_on_off_variable(value, expected):
    assert switch(value, "X") is expected
    for name in SWITCHES:
        field = name.removeprefix("INTENT_").lower()
        assert getattr(Settings.from_env({name: value}), field) is expected, name


@pytest.mark.parametrize("name", SWITCHES)
def test_an_unset_or_empty_switch_is_its_default_and_a_typo_is_an_error(name):
    field = name.removeprefix("INTENT_").lower()
    default = Settings.model_fields[field].default
    assert getattr(Settings.from_env({}), field) is default
    assert getattr(Settings.from_env({name: " "}), field) is default
    with pytest.raises(ValueError, match=f"{name} must be one of 1/true/yes/on or 0/false/no/off, got 'ture'"):
        Settings.from_env({name: "ture"})


def test_the_seed_flag_of_rules_check_uses_the_same_parser():
    from intent_pipeline.rules_check import _enabled

    assert [_enabled({"is_enabled": v}) for v in ("true", "t", "1", "false", "f", "")] == [True] * 3 + [False] * 3
    with pytest.raises(ValueError, match="rule 'x': is_enabled must be one of"):
        _enabled({"rule_id": "x", "is_enabled": "maybe"})


def test_every_intent_variable_of_the_code_is_a_typed_field(tmp_path):
    settings = Settings.from_env(
        {
            "INTENT_FORMS_DECIMAL": ",",
            "INTENT_CRM_DATE_ORDER": "dmy",
            "INTENT_MAX_QUARANTINE_SHARE": "0.3",
            "INTENT_MAX_REJECT_SHARE": "0",
            "INTENT_ACTIVATION_DEAD_LETTER_AFTER": "2",
            "INTENT_ACTIVATION_MAX_CHANGE_SHARE": "none",
            "INTENT_ACTIVATION_GUARD_MIN_ROWS": "10",
            "INTENT_SERVING_DIR": str(tmp_path / "bi"),
            "INTENT_PII_SALT": "pepper",
            "INTENT_SUPPRESSION_LIST": str(tmp_path / "list.txt"),
            "INTENT_RETENTION_RAW_DAYS": "0",
            "INTENT_RETENTION_QUARANTINE_DAYS": "30",
            "INTENT_DASHBOARD_OUT": "site",
            "INTENT_DASHBOARD_TIMEOUT": "60",
            "INTENT_PG_HOST": "db",
            "INTENT_PG_PORT": "6543",
            "INTENT_PG_USER": "u",
            "INTENT_PG_PASSWORD": "secret",
            "INTENT_PG_DBNAME": "w",
            "INTENT_PG_READER_ROLES": " bi_reader, metabase ,,",
            "INTENT_CONVERSION_EVENT": "stage_reached",
        }
    )
    assert (settings.forms_decimal, settings.forms_date_order, settings.crm_decimal, settings.crm_date_order) == (
        ",", None, None, "DMY",
    )  # fmt: skip
    assert (settings.max_quarantine_share, settings.max_reject_share) == (0.3, 0.0)
    assert (settings.activation_dead_letter_after, settings.activation_max_change_share) == (2, None)
    assert settings.activation_guard_min_rows == 10
    assert (settings.serving_dir, settings.suppression_list) == (tmp_path / "bi", tmp_path / "list.txt")
    assert settings.pii_salt == "pepper" and "pepper" not in repr(settings)
    assert (settings.retention_raw_days, settings.retention_quarantine_days) == (0, 30)
    assert (settings.dashboard_out, settings.dashboard_timeout) == (Path("site"), 60.0)
    assert (settings.pg_host, settings.pg_port, settings.pg_user, settings.pg_dbname) == ("db", 6543, "u", "w")
    assert settings.pg_password == "secret" and "secret" not in repr(settings)
    assert settings.pg_readers == ("bi_reader", "metabase") and Settings.from_env({}).pg_readers == ()
    assert settings.conversion_event == "stage_reached"
    assert Settings.from_env({}).conversion_event == "opportunity_created"


def test_an_empty_variable_is_its_default():
    names = ("INTENT_MAX_QUARANTINE_SHARE", "INTENT_ACTIVATION_MAX_CHANGE_SHARE", "INTENT_PII_SALT",
             "INTENT_RETENTION_RAW_DAYS", "INTENT_PG_PORT", "INTENT_CRM_DECIMAL",
             "INTENT_CONVERSION_EVENT")  # fmt: skip
    assert Settings.from_env(dict.fromkeys(names, "")) == Settings.from_env({})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("INTENT_MAX_REJECT_SHARE", "1.5", "INTENT_MAX_REJECT_SHARE must be a share between 0 and 1, got '1.5'"),
        ("INTENT_ACTIVATION_MAX_CHANGE_SHARE", "half", "INTENT_ACTIVATION_MAX_CHANGE_SHARE must be a share"),
        ("INTENT_RETENTION_RAW_DAYS", "-1", "INTENT_RETENTION_RAW_DAYS must be >= 0"),
        ("INTENT_RETENTION_QUARANTINE_DAYS", "ninety", "QUARANTINE_DAYS must be a whole number of days"),
        ("INTENT_ACTIVATION_GUARD_MIN_ROWS", "1e3", "INTENT_ACTIVATION_GUARD_MIN_ROWS must be a whole number"),
        ("INTENT_CRM_DECIMAL", ";", "INTENT_CRM_DECIMAL must be '.' or ','"),
        ("INTENT_FORMS_DATE_ORDER", "ymd", "INTENT_FORMS_DATE_ORDER must be MDY or DMY, got 'YMD'"),
    ],
)
def test_a_bad_value_is_an_error_naming_its_variable(name, value, message):
    with pytest.raises(ValueError, match=message):
        Settings.from_env({name: value})


def _intent_key(node: ast.expr, names: set[str]) -> bool:
    """An expression naming an INTENT_* variable: "INTENT_X", f"INTENT_{...}", prefix + "X" with such a
    prefix, or a name bound to one of these."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.startswith("INTENT_")
    if isinstance(node, ast.JoinedStr) and node.values:
        return _intent_key(node.values[0], names)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _intent_key(node.left, names)
    return isinstance(node, ast.Name) and node.id in names


def intent_reads(source: str) -> list[int]:
    """Lines that look an INTENT_* name up (``env.get(...)``, ``getenv(...)``, ``environ[...]``)."""
    tree = ast.parse(source)
    names = {
        node.targets[0].id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and _intent_key(node.value, set())
    }
    lines = []
    for node in ast.walk(tree):
        key = None
        if isinstance(node, ast.Call) and node.args and isinstance(node.func, ast.Attribute | ast.Name):
            if (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id) in ("get", "getenv", "pop"):
                key = node.args[0]
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            key = node.slice
        if key is not None and _intent_key(key, names):
            lines.append(node.lineno)
    return sorted(lines)


def test_the_lookup_finder_finds_the_ways_variables_were_read():
    source = """
NAME = "INTENT_X"
a = os.environ.get("INTENT_A", "5")
b = (os.environ if env is None else env).get(NAME, "")
prefix = f"INTENT_{source.upper()}_"
c = env.get(prefix + "DECIMAL")
d = os.environ["INTENT_D"]
e = os.getenv("INTENT_E")
env["INTENT_F"] = "set, not read"
g = env.get("PATH")
"""
    assert intent_reads(source) == [3, 4, 6, 7, 8]


def test_no_intent_variable_is_read_outside_settings():
    # every INTENT_* read of plugins/ and dags/ goes through Settings (settings.py reads them all)
    found = [
        f"{path.relative_to(PROJECT_ROOT)}:{line}"
        for folder in ("plugins", "dags")
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py"))
        if path.name != "settings.py"
        for line in intent_reads(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_settings_are_frozen():
    with pytest.raises(ValueError):
        Settings.from_env({}).on_bad_file = "quarantine"
