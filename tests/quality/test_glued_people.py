"""The marts gate stops a run whose people mart holds strangers glued together (issue 12): a person
with several valid phones or several mailboxes at one company domain (marts.people's
contradicting_identifiers, see dbt_project/models/marts/people/people.sql)."""

from __future__ import annotations

import pytest
from intent_pipeline.quality import QualityGateError, enforce_gate, validate_marts

from tests.quality.helpers import INTERVAL, build_warehouse


def _glued_results(report: dict) -> list[dict]:
    return [
        r
        for r in report["tables"]["people"]["results"]
        if r["column"] == "contradicting_identifiers" and r["expectation"] == "expect_column_values_to_be_between"
    ]


def test_a_glued_person_fails_the_marts_gate_before_activation(settings):
    build_warehouse(
        settings.warehouse,
        extra_sql=["update marts.people set contradicting_identifiers = 2 where person_id = 'p_001'"],
    )
    report = validate_marts(settings, INTERVAL, tables=["people"])

    (glued,) = _glued_results(report)
    assert glued["success"] is False and glued["severity"] == "critical", glued
    assert glued["unexpected_count"] == 1, glued
    assert any(example.get("person_id") == "p_001" for example in glued["examples"]), glued["examples"]
    with pytest.raises(QualityGateError, match="contradicting_identifiers"):
        enforce_gate(report)


def test_people_without_contradictions_pass_and_the_share_is_configured_in_the_suite(settings):
    build_warehouse(settings.warehouse)
    report = validate_marts(settings, INTERVAL, tables=["people"])

    (glued,) = _glued_results(report)
    assert glued["success"] is True and glued["unexpected_count"] == 0, glued
    enforce_gate(report)


def test_a_people_mart_without_the_column_fails(settings):
    build_warehouse(settings.warehouse, extra_sql=["alter table marts.people drop column contradicting_identifiers"])
    report = validate_marts(settings, INTERVAL, tables=["people"])
    assert report["success"] is False
    assert not _glued_results(report)[0]["success"]
