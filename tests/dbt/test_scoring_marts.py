"""Scoring marts of issue 13 on the real build of the hand-written lake: what converts follows the
setting (var, else INTENT_CONVERSION_EVENT / INTENT_CONVERSION_WINDOW_DAYS), and the per-CRM-lead
scores."""

from __future__ import annotations

import json

import pytest

from tests.dbt.conftest import copy_of, run_dbt

pytestmark = pytest.mark.slow


def test_what_converts_follows_the_setting_on_a_real_build(warehouse, tmp_path):
    assert warehouse.build.returncode == 0, warehouse.output
    build = copy_of(warehouse, tmp_path)
    events = "select lead_id, converted_at from intermediate.int_lead_conversion_events order by 1, 2"
    # the default: an opportunity created converts its lead, at its creation
    assert build.query(events) == build.query("select lead_id, created_at from staging.stg_crm__opportunities")
    assert build.query("select distinct conversion_definition from marts.lead_conversion_examples") == [
        ("opportunity_created within 30 days",)
    ]
    expected = {
        "order_placed": "select lead_id, ordered_at from staging.stg_crm__orders order by 1, 2",
        "opportunity_won": "select lead_id, closed_at from staging.stg_crm__opportunities where is_won",
    }
    # what converts as a deployment sets it in dbt's environment (macro setting: read when the nodes
    # run, so each run keeps the project's parse, where each new --vars would parse it all again)
    for event, sql in expected.items():
        env = {"INTENT_CONVERSION_EVENT": event, "INTENT_CONVERSION_WINDOW_DAYS": "60"}
        done = run_dbt(build.base, build.lake, "run", "--select", "int_lead_conversion_events",
                       "lead_conversion_examples", extra_env=env)  # fmt: skip
        assert done.returncode == 0, done.stdout[-3000:]
        assert build.query(events) == build.query(sql) != []
        assert build.query("select distinct conversion_definition from marts.lead_conversion_examples") == [
            (f"{event} within 60 days",)
        ]
    for env, error in (
        ({"INTENT_CONVERSION_EVENT": "signed"}, "conversion_event (var or INTENT_CONVERSION_EVENT) must be one of"),
        ({"INTENT_CONVERSION_WINDOW_DAYS": "60d"}, "INTENT_CONVERSION_WINDOW_DAYS must be a whole number"),
    ):
        done = run_dbt(build.base, build.lake, "run", "--select", "int_lead_conversion_events",
                       "lead_conversion_examples", extra_env=env)  # fmt: skip
        assert done.returncode != 0 and error in done.stdout, done.stdout[-3000:]


def test_every_crm_lead_has_its_person_score_and_its_own_facts(warehouse):
    assert warehouse.build.returncode == 0, warehouse.output
    assert warehouse.one("select count(*) from marts.crm_lead_scores") == warehouse.one(
        "select count(*) from staging.stg_crm__leads"
    )
    carol = warehouse.one(
        "select c.has_opportunity, c.sales_activities, c.lead_status, c.lead_score = s.lead_score,"
        " c.crm_leads_of_person"
        " from marts.crm_lead_scores as c inner join marts.lead_scores as s on s.person_id = c.person_id"
        " where c.lead_id = '00Qcarol'"
    )
    assert carol == (True, 2, "Converted", True, 1)
    alice = warehouse.one(
        "select has_opportunity, sales_activities from marts.crm_lead_scores where lead_id = '00Qalice'"
    )
    assert alice == (False, 0)


def test_each_crm_lead_is_scored_on_its_person_behaviour_and_its_own_crm_history(warehouse, tmp_path):
    """crm_lead_scores.conversion_probability applies the model (macro scoring_model(): the var, or
    INTENT_SCORING_MODEL as the DAG passes it) to the person's behaviour now
    (feature_scope person at `current`) and the lead's own CRM history now (point now:<lead_id>),
    exactly as scoring_model.score does on the same values."""
    import pandas as pd
    from intent_pipeline import scoring_model

    assert warehouse.build.returncode == 0, warehouse.output
    build = copy_of(warehouse, tmp_path)
    model = {
        "version": "lcm-test",
        "intercept": -1.5,
        "calibration_a": 1.0,
        "calibration_c": 0.0,
        "features": [
            {"feature": "log_sales_call_all", "weight": 0.9, "mean": 0.1},
            {"feature": "log_lead_age_days", "weight": -0.2, "mean": 1.0},
            {"feature": "rule:trial_request", "weight": 0.7, "mean": 0.2},
        ],
        "learned_points": [],
    }
    # the model as the DAG passes it (pipeline.dbt_env: INTENT_SCORING_MODEL, no full parse)
    done = run_dbt(build.base, build.lake, "run", "--select", "int_crm_lead_conversion_scores", "crm_lead_scores",
                   extra_env={"INTENT_SCORING_MODEL": json.dumps(model)})  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    sql = dict(build.query("select lead_id, conversion_probability from marts.crm_lead_scores"))
    rows = build.query(
        "select l.lead_id, f.feature, f.value from marts.crm_lead_scores as l"
        " inner join intermediate.int_scoring_features as f on f.person_id = l.person_id"
        " and ((f.score_point = 'current' and f.feature_scope = 'person') or f.score_point = 'now:' || l.lead_id)"
    )
    long = pd.DataFrame(rows, columns=["lead_id", "feature", "value"])
    wide = long.pivot_table(index="lead_id", columns="feature", values="value", aggfunc="sum").reindex(list(sql))
    python = dict(zip(wide.index, scoring_model.score(model, wide.fillna(0.0)), strict=True))
    assert set(sql) == set(python) == {"00Qalice", "00Qcarol"}
    assert all(abs(sql[lead] - python[lead]) < 1e-12 for lead in sql), (sql, python)
    # carol's lead brings its own sales history (two activities) into the sum, alice's none
    assert {f for lead, f, _ in rows if lead == "00Qcarol"} >= {"log_sales_activities_90d", "log_lead_age_days"}
    assert build.query("select distinct conversion_model_version from marts.crm_lead_scores") == [("lcm-test",)]
