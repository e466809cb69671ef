"""The marts gate on a real DuckDB file read through a read-only connection."""

from __future__ import annotations

import json

import duckdb
import pytest
from intent_pipeline.quality import MART_TABLES, QualityGateError, enforce_gate, validate_marts

from tests.quality.helpers import INTERVAL, build_warehouse

SEGMENT = "segment_high_intent"


def _failed(report: dict, table: str) -> list[dict]:
    return [r for r in report["tables"][table]["results"] if not r["success"]]


def test_clean_marts_pass_and_the_read_only_connection_does_not_block_a_writer(settings):
    build_warehouse(settings.warehouse)
    report = validate_marts(settings, INTERVAL)

    assert report["layer"] == "marts" and report["success"] is True
    assert report["warning_failures"] == 0, [r for t in MART_TABLES for r in _failed(report, t)]
    assert {t: report["tables"][t]["rows"] for t in MART_TABLES} == {
        "people": 3, "lead_scores": 3, "segment_high_intent": 1, "segment_crm_updates": 2, "segment_funnel_stalls": 2,
        "funnel_stages": 3, "funnel_conversion": 10, "channel_attribution": 3, "attribution_conversion_credits": 4,
        "activation_runs": 1,
    }  # fmt: skip
    for table in MART_TABLES:
        counted = [r for r in report["tables"][table]["results"] if r["unexpected_count"] is not None]
        assert counted and all(r["unexpected_count"] == 0 for r in counted), table
    enforce_gate(report)

    # dbt's next run must be able to write: in one process DuckDB refuses a second, differently
    # configured connection to a file, so this fails if the gate left its read-only one open.
    writer = duckdb.connect(str(settings.warehouse))
    try:
        writer.execute(
            "insert into marts.funnel_conversion (breakdown, stage, stage_order, people)"
            " values ('overall', 'test', 9, 0)"
        )
        assert writer.execute("select count(*) from marts.funnel_conversion").fetchone()[0] == 11
    finally:
        writer.close()

    folder = settings.reports_dir / "quality" / "dt=2026-11-21"
    assert json.loads((folder / "marts.json").read_text(encoding="utf-8"))["success"] is True
    assert "| segment_high_intent | 1 |" in (folder / "marts.md").read_text(encoding="utf-8")


def test_duplicate_person_and_low_score_in_segment_fail_the_gate(settings):
    build_warehouse(
        settings.warehouse,
        extra_sql=[
            "insert into marts.people select * from marts.people where person_id = 'p_002'",
            """insert into marts.segment_high_intent (person_id, email, grade, score_reasons, lead_score,
               became_hot_in_interval, scored_at)
               values ('p_002', 'li@example.com', 'high_intent', 'whitepaper +10', 10, false,
                       timestamp '2026-11-22 00:00:00')""",
        ],
    )
    report = validate_marts(settings, INTERVAL)
    assert report["success"] is False
    assert report["tables"]["lead_scores"]["success"] is True

    unique = next(r for r in _failed(report, "people") if r["expectation"] == "expect_column_values_to_be_unique")
    assert unique["column"] == "person_id" and unique["unexpected_count"] == 2  # both copies are flagged
    assert unique["examples"][0] == {"value": "p_002", "person_id": "p_002"}
    low = [r for r in _failed(report, "segment_high_intent") if r["column"] == "lead_score"]
    # a warning since the grade may be cut on the model's probability (lead_scores.grade_basis)
    assert [(r["expectation"], r["severity"], r["unexpected_count"]) for r in low] == [
        ("expect_column_values_to_be_between", "warning", 1)
    ]

    with pytest.raises(QualityGateError) as caught:
        enforce_gate(report)
    message = str(caught.value)
    assert "people: expect_column_values_to_be_unique on person_id — 2 of 4 rows unexpected" in message
    assert "segment_high_intent: expect_column_values_to_be_between on lead_score" not in message


def test_grade_inconsistent_with_score_and_orphan_segment_rows_fail(settings):
    build_warehouse(
        settings.warehouse,
        extra_sql=[
            "update marts.lead_scores set lead_score = 20 where person_id = 'p_001'",  # high_intent with 20
            "update marts.segment_high_intent set person_id = 'p_999'",  # not in people
            "update marts.channel_attribution set credit = 1.5 where channel = 'paid_search'",
        ],
    )
    report = validate_marts(settings, INTERVAL)
    critical = {(t, r["expectation"], r["column"], r["condition"]) for t in MART_TABLES for r in _failed(report, t)
                if r["severity"] == "critical"}  # fmt: skip
    assert critical == {
        ("lead_scores", "expect_column_values_to_be_between", "lead_score", 'rule_grade == "high_intent"'),
        ("segment_high_intent", "expect_column_values_to_be_in_set", "person_id", None),
        ("channel_attribution", "expect_column_values_to_be_between", "credit", None),
    }
    with pytest.raises(QualityGateError, match=r'lead_score where rule_grade == "high_intent" — 1 of 1 rows'):
        enforce_gate(report)


def test_grade_checks_follow_the_thresholds_of_dbt_project_yml(settings, tmp_path, monkeypatch):
    import intent_pipeline.settings as settings_module
    from intent_pipeline.quality.validate import grade_thresholds

    assert grade_thresholds() == {"high_intent_threshold": 60, "potential_threshold": 30}  # the shipped vars
    # a score of exactly 60 graded potential breaks the shipped thresholds (potential is below 60)
    build_warehouse(settings.warehouse, extra_sql=[
        "update marts.lead_scores set lead_score = 60 where person_id = 'p_002'"])  # fmt: skip
    failed = {
        (r["column"], r["condition"])
        for r in _failed(validate_marts(settings, INTERVAL, tables=["lead_scores"]), "lead_scores")
    }
    assert failed == {("lead_score", 'rule_grade == "potential"')}

    # a marketing lead raises the thresholds to 70/40: the same clean marts now disagree with them
    project = tmp_path / "dbt_project"
    project.mkdir()
    (project / "dbt_project.yml").write_text(
        "name: x\nvars:\n  high_intent_threshold: 70\n  potential_threshold: 40\n", encoding="utf-8"
    )
    monkeypatch.setattr(settings_module, "DBT_PROJECT_DIR", project)
    settings.warehouse.unlink()
    build_warehouse(settings.warehouse)
    report = validate_marts(settings, INTERVAL)
    failed = {(t, r["column"], r["condition"]) for t in ("lead_scores", "segment_high_intent")
              for r in _failed(report, t)}  # fmt: skip
    assert failed == {
        ("lead_scores", "lead_score", 'rule_grade == "high_intent"'),  # 65 < 70
        ("lead_scores", "lead_score", 'rule_grade == "potential"'),  # 33 < 40
        ("segment_high_intent", "lead_score", None),  # a warning
    }


def test_grades_on_the_model_probability_pass_and_a_points_grade_off_its_score_fails(settings):
    """lead_scores.grade may be cut on the model's probability (grade_basis, issue 13): then it may
    disagree with the points, which rule_grade keeps; on the points basis it must equal rule_grade."""
    build_warehouse(
        settings.warehouse,
        extra_sql=[
            # p_002: 33 points, hot by the model's probability, crossed during the interval
            "update marts.lead_scores set grade = 'high_intent', grade_basis = 'conversion_probability',"
            " became_hot_in_interval = true where person_id = 'p_002'",
            # p_003: on the points basis, graded potential with -10 points
            "update marts.lead_scores set grade = 'potential' where person_id = 'p_003'",
        ],
    )
    report = validate_marts(settings, INTERVAL, tables=["lead_scores"])
    failed = {(r["expectation"], r["column"], r["condition"], r["severity"]) for r in _failed(report, "lead_scores")}
    assert failed == {
        ("expect_column_pair_values_to_be_equal", "grade, rule_grade", 'grade_basis == "lead_score"', "critical")
    }


def test_a_second_recycling_or_a_recycled_lead_in_round_zero_fails(settings):
    build_warehouse(settings.warehouse, extra_sql=[
        "update marts.segment_high_intent set alert_round = 2"])  # fmt: skip
    failed = [
        (r["column"], r["condition"]) for r in _failed(validate_marts(settings, INTERVAL, tables=[SEGMENT]), SEGMENT)
    ]
    assert failed == [("alert_round", None)]

    settings.warehouse.unlink()
    build_warehouse(settings.warehouse, extra_sql=[
        "update marts.segment_high_intent set recycled_in_interval = true, recycled_from_owner = 'Bob'"])  # fmt: skip
    failed = [
        (r["column"], r["condition"]) for r in _failed(validate_marts(settings, INTERVAL, tables=[SEGMENT]), SEGMENT)
    ]
    assert failed == [("alert_round", "recycled_in_interval == true")]


def test_funnel_grouping_twice_or_more_reached_than_entered_fails(settings):
    build_warehouse(
        settings.warehouse,
        extra_sql=[
            # the overall awareness row twice (the null dimensions are part of the key), and a
            # cohort-week row where more attempts reached engaged than entered
            "insert into marts.funnel_conversion select * from marts.funnel_conversion"
            " where breakdown = 'overall' and stage = 'awareness'",
            "update marts.funnel_conversion set people = 4 where breakdown = 'cohort_week' and stage = 'engaged'",
        ],
    )
    report = validate_marts(settings, INTERVAL, tables=["funnel_conversion"])
    failed = {(r["expectation"], r["unexpected_count"]) for r in _failed(report, "funnel_conversion")}
    assert failed == {
        ("expect_compound_columns_to_be_unique", 2),
        ("expect_column_pair_values_a_to_be_greater_than_b", 1),
    }
    with pytest.raises(QualityGateError, match="funnel_conversion"):
        enforce_gate(report)


def test_duplicate_stall_and_a_stall_of_exactly_max_hours_fail(settings):
    build_warehouse(
        settings.warehouse,
        extra_sql=[
            "insert into marts.segment_funnel_stalls select * from marts.segment_funnel_stalls"
            " where stall_id = 'brochures_without_pricing:p_002'",
            # exactly max_hours is not a stall yet; one second more is (72 h + 1 s, next row)
            "update marts.segment_funnel_stalls set hours_in_stage = max_hours"
            " where stall_id = 'opportunity_in_proposal:p_001:0065g0000AAAAAB'",
            "insert into marts.segment_funnel_stalls (stall_id, person_id, rule_id, in_stage_since, stalled_at,"
            " hours_in_stage, max_hours, became_stalled_in_interval, as_of_at)"
            " values ('opportunity_in_proposal:p_003:O3', 'p_003', 'opportunity_in_proposal',"
            " timestamp '2026-11-18 23:59:59', timestamp '2026-11-21 23:59:59', 72.00027777777778, 72.0, true,"
            " timestamp '2026-11-22 00:00:00')",
        ],
    )
    report = validate_marts(settings, INTERVAL)
    failed = {(r["expectation"], r["column"], r["severity"], r["unexpected_count"])
              for r in _failed(report, "segment_funnel_stalls")}  # fmt: skip
    assert failed == {
        ("expect_column_values_to_be_unique", "stall_id", "critical", 2),
        ("expect_column_pair_values_a_to_be_greater_than_b", "hours_in_stage, max_hours", "critical", 1),
    }
    assert report["tables"]["segment_funnel_stalls"]["rows"] == 4
    with pytest.raises(QualityGateError) as caught:
        enforce_gate(report)
    message = str(caught.value)
    assert "segment_funnel_stalls: expect_column_values_to_be_unique on stall_id — 2 of 4 rows unexpected" in message
    assert "stall_id=opportunity_in_proposal:p_001:0065g0000AAAAAB" in message


def test_crm_update_of_an_unknown_person_a_duplicate_and_an_unknown_grade_fail(settings):
    build_warehouse(
        settings.warehouse,
        extra_sql=[
            "insert into marts.segment_crm_updates (person_id, grade, score_reasons, lead_score, scored_at)"
            " values ('p_999', 'nurture', 'careers page -10', 5, timestamp '2026-11-22 00:00:00')",
            "insert into marts.segment_crm_updates select * replace (301 as lead_score)"
            " from marts.segment_crm_updates where person_id = 'p_003'",
            "update marts.segment_crm_updates set grade = 'cold' where person_id = 'p_002'",
        ],
    )
    report = validate_marts(settings, INTERVAL)
    failed = {(r["expectation"], r["column"], r["severity"], r["unexpected_count"])
              for r in _failed(report, "segment_crm_updates")}  # fmt: skip
    assert failed == {
        ("expect_column_values_to_be_in_set", "person_id", "critical", 1),
        ("expect_column_values_to_be_unique", "person_id", "critical", 2),
        ("expect_column_values_to_be_in_set", "grade", "critical", 1),
        ("expect_column_values_to_be_between", "lead_score", "critical", 1),
        # p_999 was never assigned by lead routing
        ("expect_column_values_to_not_be_null", "owner_source", "warning", 1),
        ("expect_column_values_to_not_be_null", "became_hot_in_interval", "warning", 1),
    }
    assert all(report["tables"][t]["success"] for t in MART_TABLES if t != "segment_crm_updates")
    with pytest.raises(QualityGateError, match=r"segment_crm_updates: expect_column_values_to_be_in_set on person_id"):
        enforce_gate(report)


def test_funnel_stages_duplicate_attempt_and_steps_outside_the_window_fail(settings):
    build_warehouse(
        settings.warehouse,
        extra_sql=[
            # p_003 never entered: a second row with attempt_number null duplicates the key
            "insert into marts.funnel_stages select * from marts.funnel_stages where person_id = 'p_003'",
            # won one second after the window closed
            "update marts.funnel_stages set won_at = window_end_at + interval 1 second where person_id = 'p_001'",
            # engaged an hour before the entry
            "update marts.funnel_stages set engaged_at = entered_at - interval 1 hour where person_id = 'p_002'",
            # an attempt without an entry
            "insert into marts.funnel_stages (person_id, attempt_number, is_excluded) values ('p_002', 2, false)",
        ],
    )
    report = validate_marts(settings, INTERVAL)
    failed = {(r["expectation"], r["column"], r["condition"], r["severity"], r["unexpected_count"])
              for r in _failed(report, "funnel_stages")}  # fmt: skip
    assert failed == {
        ("expect_compound_columns_to_be_unique", "person_id, attempt_number", None, "critical", 2),
        ("expect_column_pair_values_a_to_be_greater_than_b", "window_end_at, won_at", None, "critical", 1),
        ("expect_column_pair_values_a_to_be_greater_than_b", "engaged_at, entered_at", None, "critical", 1),
        ("expect_column_values_to_not_be_null", "entered_at", "attempt_number is not null", "critical", 1),
        # out of step order is only a warning: funnel_order any allows it
        ("expect_column_pair_values_a_to_be_greater_than_b", "engaged_at, awareness_at", None, "warning", 1),
    }
    with pytest.raises(QualityGateError, match="funnel_stages: expect_compound_columns_to_be_unique"):
        enforce_gate(report)


def test_attribution_credits_duplicate_key_credit_above_one_and_unknown_model_fail(settings):
    build_warehouse(
        settings.warehouse,
        extra_sql=[
            # the null campaign is part of the key
            "insert into marts.attribution_conversion_credits select * from marts.attribution_conversion_credits"
            " where attribution_model = 'linear' and campaign is null",
            "update marts.attribution_conversion_credits set credit = 1.2 where attribution_model = 'first_touch'",
            "update marts.attribution_conversion_credits set attribution_model = 'u_shaped'"
            " where attribution_model = 'linear' and channel = 'Paid Search'",
        ],
    )
    report = validate_marts(settings, INTERVAL)
    failed = {(r["expectation"], r["column"], r["unexpected_count"])
              for r in _failed(report, "attribution_conversion_credits")}  # fmt: skip
    assert failed == {
        ("expect_compound_columns_to_be_unique", "attribution_model, conversion_id, channel, campaign", 2),
        ("expect_column_values_to_be_between", "credit", 1),
        ("expect_column_values_to_be_in_set", "attribution_model", 1),
    }
    assert report["success"] is False and report["warning_failures"] == 0
    with pytest.raises(QualityGateError, match="attribution_conversion_credits"):
        enforce_gate(report)


def test_missing_mart_fails_clearly(settings):
    build_warehouse(settings.warehouse, skip=("channel_attribution",))
    report = validate_marts(settings, INTERVAL)
    assert report["tables"]["channel_attribution"]["success"] is False
    assert report["tables"]["people"]["success"] is True
    with pytest.raises(QualityGateError) as caught:
        enforce_gate(report)
    assert "channel_attribution: table_exists — table marts.channel_attribution not found in" in str(caught.value)


def test_missing_warehouse_fails_every_mart_and_is_not_created(settings):
    report = validate_marts(settings, INTERVAL)
    assert report["success"] is False
    assert all(report["tables"][t]["error"].startswith(f"warehouse {settings.warehouse} does not exist")
               for t in MART_TABLES)  # fmt: skip
    assert not settings.warehouse.exists()
    with pytest.raises(QualityGateError, match=f"{len(MART_TABLES)} critical expectation"):
        enforce_gate(report)


def test_a_selection_of_marts_validates_those_and_refuses_an_unknown_one(settings):
    build_warehouse(settings.warehouse, extra_sql=["insert into marts.people select * from marts.people"])
    report = validate_marts(settings, INTERVAL, tables=["lead_scores"])
    # people is read for the referential checks, but only the selected mart is validated and reported
    assert list(report["tables"]) == ["lead_scores"] and report["success"] is True
    assert validate_marts(settings, INTERVAL, tables=["people"])["success"] is False
    with pytest.raises(ValueError, match="no suite for mart"):
        validate_marts(settings, INTERVAL, tables=["leads"])
