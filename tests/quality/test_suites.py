"""The suite files: reviewable JSON that loads into GX, one per contract table, each expectation with a severity."""

from __future__ import annotations

import json

import pytest
from intent_pipeline.quality import MART_TABLES, RAW_TABLES, SuiteError, load_suite_spec
from intent_pipeline.quality.suites import configure_suite, suite_path
from intent_pipeline.settings import EXPECTATIONS_DIR

from tests.quality.helpers import MARTS_DDL, META, RAW_SCHEMAS

SUITES = [("raw", table) for table in RAW_TABLES] + [("marts", table) for table in MART_TABLES]


def test_one_suite_file_per_contract_table():
    for layer, tables in (("raw", RAW_TABLES), ("marts", MART_TABLES)):
        files = {path.stem for path in (EXPECTATIONS_DIR / layer).glob("*.json")}
        assert files == set(tables), layer


@pytest.mark.parametrize(("layer", "table"), SUITES)
def test_suite_loads_into_gx_with_every_expectation(layer, table):
    spec = load_suite_spec(layer, table)
    assert spec["name"] == table
    suite = configure_suite(spec)
    assert len(suite.expectations) == len(spec["expectations"])
    severities = [e.meta["severity"] for e in suite.expectations]
    assert set(severities) <= {"critical", "warning"}
    assert "critical" in severities
    assert spec["meta"]["key_columns"], "examples in the report need the row's key columns"


def _contract_columns(layer: str, table: str) -> set[str]:
    if layer == "raw":
        return {name for name, _ in RAW_SCHEMAS[table]} | {"extra"} | {name for name, _ in META}
    body = MARTS_DDL[table].split("(", 1)[1]
    return {line.split()[0] for line in body.replace("\n", " ").split(",")}


@pytest.mark.parametrize(("layer", "table"), SUITES)
def test_schema_expectation_is_the_contract_and_checks_only_contract_columns(layer, table):
    spec = load_suite_spec(layer, table)
    schema = [e for e in spec["expectations"] if e["type"] == "expect_table_columns_to_match_set"]
    assert len(schema) == 1 and schema[0]["meta"]["severity"] == "critical"
    contract = _contract_columns(layer, table)
    assert set(schema[0]["kwargs"]["column_set"]) == contract
    for expectation in spec["expectations"]:
        kwargs = expectation["kwargs"]
        named = [kwargs.get("column"), kwargs.get("column_A"), kwargs.get("column_B"), *kwargs.get("column_list", [])]
        assert {c for c in named if c} <= contract, expectation


def test_timestamps_are_never_critical_with_a_window_relative_to_the_interval():
    # A first drop is a full-history export (~6 months): interval-relative windows only warn.
    for layer, table in SUITES:
        for expectation in load_suite_spec(layer, table)["expectations"]:
            bounds = [expectation["kwargs"].get("min_value"), expectation["kwargs"].get("max_value")]
            if any(isinstance(b, dict) and b.get("$PARAMETER", "").startswith("window_start") for b in bounds):
                assert expectation["meta"]["severity"] == "warning", (table, expectation)


def test_missing_severity_is_rejected(tmp_path):
    spec = json.loads(suite_path("raw", "crm_orders").read_text())
    del spec["expectations"][0]["meta"]["severity"]
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "crm_orders.json").write_text(json.dumps(spec))
    with pytest.raises(SuiteError, match="meta.severity"):
        load_suite_spec("raw", "crm_orders", tmp_path)


def test_expectation_gx_does_not_know_fails_loudly(tmp_path):
    # GX itself only logs an invalid expectation and drops it; the gate must not check less than the file says.
    spec = load_suite_spec("raw", "crm_orders")
    spec["expectations"].append({"type": "expect_column_values_to_be_bogus", "kwargs": {"column": "amount"},
                                 "meta": {"severity": "critical"}})  # fmt: skip
    with pytest.raises(SuiteError, match="bogus"):
        configure_suite(spec)


def test_missing_suite_file_is_a_clear_error(tmp_path):
    with pytest.raises(SuiteError, match="no expectation suite for raw table 'crm_orders'"):
        load_suite_spec("raw", "crm_orders", tmp_path)
