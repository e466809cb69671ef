"""Isotonic calibration and grades on the model's probability, applied in SQL on the real build of
the hand-written lake (issue 13): the SQL probability is scoring_model.score's, and
crm_lead_scores.grade follows the documented rule (grade_basis)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.dbt.conftest import copy_of, run_dbt

pytestmark = pytest.mark.slow

LEAD_FEATURES_SQL = """
    select l.lead_id, f.feature, f.value from marts.crm_lead_scores as l
    inner join intermediate.int_scoring_features as f on f.person_id = l.person_id
        and ((f.score_point = 'current' and f.feature_scope = 'person') or f.score_point = 'now:' || l.lead_id)
"""


def isotonic_model(xs: list[float], ys: list[float], basis: str, high: float, potential: float) -> dict:
    return {
        "version": "lcm-isotonic",
        "intercept": -1.0,
        "calibration_method": "isotonic",
        "calibration_x": xs,
        "calibration_y": ys,
        "features": [
            {"feature": "log_sales_activities_90d", "weight": 0.8, "mean": 0.1},
            {"feature": "log_lead_age_days", "weight": -0.3, "mean": 1.0},
        ],
        "learned_points": [],
        "grades": {"basis": basis, "option": "share:0.2,0.5", "high_intent": high, "potential": potential},
    }


# alice's trial request falls in the interval (hot now, not at interval_start); bob only visits the
# careers page (-10 points): the probability says the opposite of the points
PERSON_GRADES_MODEL = {
    "version": "lcm-person-grades",
    "intercept": -2.0,
    "calibration_a": 1.0,
    "calibration_c": 0.0,
    "features": [
        {"feature": "rule:trial_request", "weight": 2.0, "mean": 0.0},
        {"feature": "rule:careers_page", "weight": 3.0, "mean": 0.0},
    ],
    "learned_points": [],
    "grades": {"basis": "conversion_probability", "option": "share:0.2,0.5", "high_intent": 0.3, "potential": 0.15},
}
# The business keeps the points grade (var grade_basis), with a model given as a var too. A change of
# --vars makes dbt parse the whole project (docs/dbt-parse.md), so both tests run with these same vars
# and share one parse (tests/dbt/conftest.run_dbt keeps it under its vars); the models they apply
# otherwise go in INTENT_SCORING_MODEL, as the DAG passes them.
POINTS_GRADE_VARS = ("--vars", json.dumps({"scoring_model": PERSON_GRADES_MODEL, "grade_basis": "lead_score"}))


def test_isotonic_probabilities_and_probability_grades_in_sql(warehouse, tmp_path):
    from intent_pipeline import scoring_model

    assert warehouse.build.returncode == 0, warehouse.output
    build = copy_of(warehouse, tmp_path)
    long = pd.DataFrame(build.query(LEAD_FEATURES_SQL), columns=["lead_id", "feature", "value"])
    wide = long.pivot_table(index="lead_id", columns="feature", values="value", aggfunc="sum").fillna(0.0)
    model = isotonic_model([-9.0, 0.0, 9.0], [0.01, 0.5, 0.99], "conversion_probability", 0.5, 0.2)
    z = pd.Series(scoring_model.linear_predictor(model, wide), index=wide.index)
    assert z["00Qcarol"] > z["00Qalice"]  # carol's lead has sales activities, alice's none
    # isotonic points that put the two leads strictly inside a segment each, thresholds between them
    middle = float((z["00Qcarol"] + z["00Qalice"]) / 2)
    xs = [float(z.min()) - 1.0, middle, float(z.max()) + 1.0]
    model = isotonic_model(xs, [0.05, 0.3, 0.9], "conversion_probability", 0.3, 0.1)
    python = dict(zip(wide.index, scoring_model.score(model, wide), strict=True))
    assert python["00Qalice"] < 0.3 < python["00Qcarol"]
    assert np.isclose(python["00Qalice"], np.interp(z["00Qalice"], xs, [0.05, 0.3, 0.9]))

    select = ("--select", "int_crm_lead_conversion_scores", "crm_lead_scores")
    # the model as the DAG passes it: INTENT_SCORING_MODEL (pipeline.dbt_env), read by macro scoring_model()
    done = run_dbt(build.base, build.lake, "run", *select, extra_env={"INTENT_SCORING_MODEL": json.dumps(model)})
    assert done.returncode == 0, done.stdout[-3000:]
    rows = build.query(
        "select lead_id, conversion_probability, grade, grade_basis, rule_grade from marts.crm_lead_scores"
    )
    sql = {lead: p for lead, p, *_ in rows}
    assert set(sql) == set(python) == {"00Qalice", "00Qcarol"}
    assert all(abs(sql[lead] - python[lead]) < 1e-12 for lead in sql), (sql, python)
    grades = {lead: (grade, basis) for lead, _, grade, basis, _ in rows}
    expected = "potential" if python["00Qalice"] >= 0.1 else "nurture"
    assert grades == {
        "00Qcarol": ("high_intent", "conversion_probability"),
        "00Qalice": (expected, "conversion_probability"),
    }
    rule_grades = dict(build.query("select lead_id, rule_grade from marts.crm_lead_scores"))
    person_grades = dict(
        build.query(
            "select c.lead_id, s.grade from marts.crm_lead_scores as c"
            " inner join marts.lead_scores as s on s.person_id = c.person_id"
        )
    )
    assert rule_grades == person_grades

    # the business keeps the points grade (var grade_basis; a model as a var, which wins: the
    # environment's is not even read, or its bad JSON would stop the run), or the model says the
    # rule score ranks better (passed as the DAG passes it)
    lead_score_model = model | {"grades": model["grades"] | {"basis": "lead_score"}}
    for arguments, env in (
        (POINTS_GRADE_VARS, {"INTENT_SCORING_MODEL": "{not json"}),
        ((), {"INTENT_SCORING_MODEL": json.dumps(lead_score_model)}),
    ):  # fmt: skip
        done = run_dbt(build.base, build.lake, "run", "--select", "crm_lead_scores", *arguments, extra_env=env)
        assert done.returncode == 0, done.stdout[-3000:]
        assert build.query("select distinct grade_basis from marts.crm_lead_scores") == [("lead_score",)]
        assert dict(build.query("select lead_id, grade from marts.crm_lead_scores")) == person_grades

    # a model that is not the var's JSON stops the run, naming the variable (never a silent rule score)
    done = run_dbt(build.base, build.lake, "run", "--select", "crm_lead_scores",
                   extra_env={"INTENT_SCORING_MODEL": "{not json"})  # fmt: skip
    assert done.returncode != 0
    assert "INTENT_SCORING_MODEL must be the scoring model var as a JSON object" in done.stdout, done.stdout[-3000:]


PERSON_FEATURES_SQL = """
    select person_id, score_point, feature, value from intermediate.int_scoring_features
    where score_point in ('current', 'previous')
"""


def points_grade(score: int) -> str:
    return "high_intent" if score >= 60 else "potential" if score >= 30 else "nurture"


def test_person_grades_follow_the_same_rule_as_the_crm_lead_grades(warehouse, tmp_path):
    """lead_scores.grade (what segments, activation and the history read) is cut on the person's
    probability when the model's basis says so, with grade_basis, rule_grade, previous_grade and
    became_hot_in_interval on the same basis; with var grade_basis lead_score it is the points grade."""
    from intent_pipeline import scoring_model

    assert warehouse.build.returncode == 0, warehouse.output
    # the dbt unit tests of the rule (the marts YAML) ran and passed in that build
    statuses = {r["unique_id"].split(".")[-1]: r["status"] for r in warehouse.results()}
    assert statuses["person_grade_follows_the_model_probability"] == "pass", statuses
    assert statuses["person_grade_stays_on_points_when_the_business_says_so"] == "pass"
    build = copy_of(warehouse, tmp_path)
    points_grades = dict(build.query("select person_id, grade from marts.lead_scores"))
    model = PERSON_GRADES_MODEL
    select = (
        "--select",
        "int_scoring_features",
        "int_lead_conversion_scores",
        "int_crm_lead_conversion_scores",
        "lead_scores",
        "crm_lead_scores",
        "segment_score_changes",
    )
    # the model as the DAG passes it (pipeline.dbt_env): the project's parse, no --vars
    done = run_dbt(build.base, build.lake, "run", *select, extra_env={"INTENT_SCORING_MODEL": json.dumps(model)})
    assert done.returncode == 0, done.stdout[-3000:]

    long = pd.DataFrame(build.query(PERSON_FEATURES_SQL), columns=["person_id", "score_point", "feature", "value"])
    probability = {}
    for point in ("current", "previous"):
        wide = (
            long[long["score_point"] == point]
            .pivot_table(index="person_id", columns="feature", values="value", aggfunc="sum")
            .fillna(0.0)
        )
        probability[point] = dict(zip(wide.index, scoring_model.score(model, wide), strict=True))

    def grade(p: float) -> str:
        return "high_intent" if p >= 0.3 else "potential" if p >= 0.15 else "nurture"

    rows = build.query(
        "select s.person_id, s.grade, s.grade_basis, s.rule_grade, s.previous_grade, s.became_hot_in_interval,"
        " s.lead_score, s.conversion_probability, c.previous_conversion_probability from marts.lead_scores as s"
        " inner join intermediate.int_lead_conversion_scores as c on c.person_id = s.person_id"
    )
    assert len(rows) == len(points_grades) > 0
    for person, grade_, basis, rule_grade, previous_grade, became_hot, score, p_now, p_before in rows:
        assert abs(p_now - probability["current"][person]) < 1e-12, person
        assert abs(p_before - probability["previous"][person]) < 1e-12, person
        assert (grade_, basis) == (grade(p_now), "conversion_probability"), person
        assert rule_grade == points_grade(score) == points_grades[person], person
        assert previous_grade == grade(p_before), person
        assert became_hot == (previous_grade != "high_intent" and grade_ == "high_intent"), person
    by_person = {r[0]: r for r in rows}
    bob = next(p for p, r in by_person.items() if r[6] == -10 and r[1] == "high_intent")  # hot by probability alone
    assert by_person[bob][3] == "nurture"
    assert any(r[5] and r[3] == "high_intent" for r in rows)  # alice: crossed in the interval on both bases

    # what reads the person's grade agrees: the CRM leads' rule_grade is the points grade, the score
    # changes compare grades on one basis (bob's score did not move, his grade is his probability's)
    assert build.query(
        "select count(*) from marts.crm_lead_scores as c inner join marts.lead_scores as s"
        " on s.person_id = c.person_id where c.rule_grade <> s.rule_grade"
    ) == [(0,)]
    changes = build.query(
        "select c.person_id, c.grade, c.previous_grade, s.grade, s.previous_grade from marts.segment_score_changes as c"
        " inner join marts.lead_scores as s on s.person_id = c.person_id"
    )
    assert all(r[1:3] == r[3:5] for r in changes), changes

    # the business keeps the points grade: everything is the points grade again, no previous-point features
    done = run_dbt(build.base, build.lake, "run", *select, *POINTS_GRADE_VARS)
    assert done.returncode == 0, done.stdout[-3000:]
    assert build.query("select distinct grade_basis from marts.lead_scores") == [("lead_score",)]
    assert dict(build.query("select person_id, grade from marts.lead_scores")) == points_grades
    assert build.query("select count(*) from marts.lead_scores where grade <> rule_grade") == [(0,)]
    assert build.query("select count(*) from intermediate.int_scoring_features where score_point = 'previous'") == [
        (0,)
    ]
