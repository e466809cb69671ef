"""``rules check``'s effect on a real build of the hand-written lake (tests/dbt/conftest.py): alice
scores 30 (trial) + 20 (marketing director) + 10 (manufacturing) = 60 and is in the segment, so an
edit of the trial rule moves her score by exactly the edit, and below 60 out of the segment."""

from __future__ import annotations

import pytest
from intent_pipeline import rules_check

from tests.dbt.conftest import copy_of, run_dbt
from tests.scoring.test_rules_check import edited

pytestmark = pytest.mark.slow


def test_the_effect_of_an_edit_on_the_warehouse(warehouse, tmp_path, shared_parse):
    assert warehouse.build.returncode == 0, warehouse.output
    build = copy_of(warehouse, tmp_path / "build")
    before = build.query("select person_id, lead_score, grade from marts.lead_scores order by 1")
    segment = build.one("select count(*) from marts.segment_high_intent")[0]
    trial = build.query(
        "select person_id from intermediate.int_lead_score_rules where score_point = 'current'"
        " and rule_id = 'trial_request' and points_awarded = 30"
    )
    assert trial, "the lake has trial requests within the grace period"

    # points alone on a capped rule: reported, and the warehouse shows it changes nothing
    report = rules_check.check(edited(tmp_path, {"trial_request": {"points": "40"}}), build.warehouse)
    kinds = {(f.rule_id, f.kind) for f in report.findings}
    assert ("trial_request", "cap_below_points") in kinds and ("trial_request", "no_effect") in kinds
    effect = report.effect
    assert effect is not None
    assert effect["changed_rules"] == {"trial_request": {"points": {"built": "30", "edited": "40"}}}
    assert effect["scores_changed"] == 0 and effect["grades_changed"] == 0
    assert effect["segment_after"] == effect["segment_before"] == segment

    # points and caps: every fresh trial request earns 10 more
    path = edited(tmp_path, {"trial_request": {"points": "40", "max_points_per_day": "40", "max_points": "40"}})
    report = rules_check.check(path, build.warehouse)
    assert report.errors == 0, rules_check.format_report(report)
    effect = report.effect
    assert effect is not None
    assert effect["rules"]["trial_request"]["people_whose_points_change"] == len(trial)
    assert effect["scores_changed"] >= len(trial)

    # trial 20: alice (60) drops to 50, potential, and leaves the segment
    path = edited(tmp_path, {"trial_request": {"points": "20", "max_points_per_day": "20", "max_points": "20"}})
    report = rules_check.check(path, build.warehouse)
    effect = report.effect
    assert effect is not None
    assert effect["grade_moves"].get("high_intent -> potential", 0) >= 1
    assert effect["segment_after"] < effect["segment_before"]
    text = rules_check.format_report(report)
    assert f"high-intent segment: {segment} -> {effect['segment_after']}" in text

    # the warehouse itself was only read
    assert build.query("select person_id, lead_score, grade from marts.lead_scores order by 1") == before


def test_every_build_warns_of_a_points_only_edit_of_a_capped_rule(warehouse, tmp_path):
    """The singular dbt test scoring_rules_take_effect (severity warn) on the edited seed table."""
    assert warehouse.build.returncode == 0, warehouse.output
    build = copy_of(warehouse, tmp_path / "build")
    done = run_dbt(build.base, build.lake, "test", "--select", "scoring_rules_take_effect")
    # the test passes (besides it only the project's on-run-start hook runs, a no-op on DuckDB)
    assert done.returncode == 0 and "PASS scoring_rules_take_effect" in done.stdout, done.stdout[-3000:]
    assert "WARN=0 ERROR=0" in done.stdout, done.stdout[-3000:]
    rules_check.load_rules(build.warehouse, edited(tmp_path, {"trial_request": {"points": "40"},
                                                              "webinar_registration": {"form_type": "webinar"}}))
    done = run_dbt(build.base, build.lake, "test", "--select", "scoring_rules_take_effect")
    assert done.returncode == 0, done.stdout[-3000:]  # a warning: the build goes on
    assert "WARN=1" in done.stdout and "Got 3 results" in done.stdout, done.stdout[-3000:]
