"""Rare rules with evidence (issue 13, twentieth pass) from the calibration command to a real build: on
tests/scoring's rare world, the disabled candidate `contact_request` fires for too few leads for the
support gate but with a lift clear of 1, the forward blocks take it, and the proposed seed, built by dbt
on the hand-written lake (`rules check`'s way: the seed loaded into a copy, `dbt run --select
scoring_rules+,+lead_scores`), makes the engine award it to exactly the people who sent a Contact Us
form, and their lead_score rise by what it awards; nobody else's score moves."""

from __future__ import annotations

import pandas as pd
import pytest
from intent_pipeline import rules_check
from intent_pipeline import scoring_calibration as sc
from intent_pipeline.settings import DBT_PROJECT_DIR

from tests.dbt.conftest import copy_of, run_dbt
from tests.scoring.test_calibration import rare_world

pytestmark = pytest.mark.slow

SCORES = "select person_id, lead_score from marts.lead_scores order by 1"
AWARDED = (
    "select person_id, points_awarded from intermediate.int_lead_score_rules"
    " where score_point = 'current' and rule_id = 'contact_request'"
)
COMPUTED = AWARDED.replace("points_awarded", "rule_points")  # before the group cap, enabled or not
CONTACTS = (
    "select distinct person_id from intermediate.int_events_unified where form_type = 'contact_us'"
    " and event_at <= (select max(as_of_at) from intermediate.int_score_points where score_point = 'current')"
)


def test_a_rare_rule_taken_by_the_calibration_scores_the_lake(warehouse, tmp_path):
    assert warehouse.build.returncode == 0, warehouse.output
    examples, features, rules = rare_world(lift=True)
    result = sc.propose(examples, features, rules)
    assert result["backtest"]["rare_rules_taken"]
    row = result["seed"].loc[result["seed"]["rule_id"] == "contact_request"]
    points = int(row["points"].iloc[0])
    assert bool(row["is_enabled"].iloc[0]) and points > 20

    build = copy_of(warehouse, tmp_path / "build")
    before = dict(build.query(SCORES))
    contacts = {p for (p,) in build.query(CONTACTS)}
    assert contacts, "the hand-written lake has Contact Us forms"
    # computed while disabled (the calibration sees it), awarding nothing
    assert {p: a for p, a in build.query(AWARDED)} == dict.fromkeys(contacts, 0.0)
    computed = dict(build.query(COMPUTED))  # at the seed's 10 points a hit
    assert set(computed) == contacts and all(v > 0 for v in computed.values())

    real = sc.read_seed(DBT_PROJECT_DIR / "seeds" / "scoring_rules.csv")
    proposed = pd.concat([real.loc[real["rule_id"] != "contact_request"], row], ignore_index=True)
    seed_file = tmp_path / "scoring_rules.proposed.csv"
    seed_file.write_text(sc.seed_csv(proposed), encoding="utf-8")
    rules_check.load_rules(build.warehouse, seed_file)
    done = run_dbt(build.base, build.lake, "run", "--select", "scoring_rules+,+lead_scores")
    assert done.returncode == 0, done.stdout[-3000:]

    awarded = dict(build.query(AWARDED))
    assert set(awarded) == contacts, awarded
    # the proposed points, decayed and capped as the rule was: its caps scale with its points
    current = int(real.set_index("rule_id").at["contact_request", "points"])
    assert awarded == pytest.approx({p: v * points / current for p, v in computed.items()}), (awarded, computed)
    after = dict(build.query(SCORES))
    for person, score in after.items():
        change = score - before[person]
        if person in awarded:
            assert change > 0 and abs(change - awarded[person]) <= 1, (person, change, awarded[person])
        else:
            assert change == 0, (person, change)
