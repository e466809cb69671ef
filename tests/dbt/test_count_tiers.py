"""Count tiers (issue 13, eighteenth pass) from the calibration command to a real build: the command
proposes tiers of a rule where conversion rises with the rule's count (tests/scoring's count world,
its visits counted by the real engine as page views of any page), and the rule engine, given the
proposed seed, fires each tier at exactly the count the calibration meant (min_count = its hits x the
rule's), so that the hand-written lake's people score by how many pages they viewed (two above one
above none)."""

from __future__ import annotations

import pandas as pd
import pytest
from intent_pipeline import rules_check
from intent_pipeline import scoring_calibration as sc
from intent_pipeline.settings import DBT_PROJECT_DIR

from tests.dbt.conftest import copy_of, run_dbt
from tests.scoring.test_calibration import count_world

pytestmark = pytest.mark.slow

SCORES = "select person_id, lead_score from marts.lead_scores order by 1"
VIEWS = (
    "select person_id, count(*) from intermediate.int_events_unified where event_type = 'page_view'"
    " and event_at <= (select max(as_of_at) from intermediate.int_score_points where score_point = 'current')"
    " group by 1"
)


def test_proposed_tiers_score_the_lake_by_the_count(warehouse, tmp_path):
    assert warehouse.build.returncode == 0, warehouse.output
    # tests/scoring's count world, its visits counted by the engine as page views: every view a hit,
    # at most one counted (the current caps); conversion rises with ln(1 + views)
    examples, features, rules, _ = count_world(rises=True)
    rules.loc[rules["rule_id"] == "visits", ["event_type", "rule_group", "description_zh"]] = [
        "page_view",
        "engagement",
        "浏览页面",
    ]
    result = sc.propose(examples, features, rules, count_tiers=True)
    assert result["backtest"]["tiers_taken"]
    proposed = result["seed"].loc[result["seed"]["rule_id"].str.startswith("visits")]
    tiers = proposed.loc[proposed["rule_set"] == sc.TIER_SET].set_index("rule_id")
    assert list(tiers.index) == ["visits_2plus", "visits_3plus", "visits_6plus"]
    assert (tiers["points"] > 0).all() and list(tiers["min_count"]) == [2, 3, 6]
    assert set(tiers["event_type"]) == {"page_view"}

    # the proposed seed on a copy of the lake's warehouse, the scoring rebuilt by dbt (as rules check)
    build = copy_of(warehouse, tmp_path / "build")
    before = dict(build.query(SCORES))
    seed_file = tmp_path / "scoring_rules.proposed.csv"
    # the shipped seed and the proposed rule with its tiers (the count world's other rules have no
    # conditions the engine knows)
    real = sc.read_seed(DBT_PROJECT_DIR / "seeds" / "scoring_rules.csv")
    seed_file.write_text(sc.seed_csv(pd.concat([real, proposed], ignore_index=True)), encoding="utf-8")
    rules_check.load_rules(build.warehouse, seed_file)
    done = run_dbt(build.base, build.lake, "run", "--select", "scoring_rules+,+lead_scores")
    assert done.returncode == 0, done.stdout[-3000:]

    views = dict(build.query(VIEWS))
    assert {1, 2} <= set(views.values()), views  # the lake's people viewed one page or two
    fired = build.query(
        "select rule_id, person_id, points_awarded from intermediate.int_lead_score_rules"
        " where score_point = 'current' and rule_id like 'visits%'"
    )
    points = proposed.set_index("rule_id")["points"]
    # a tier fires once its rule's count reaches its hits: two page views reach 2+, not 3+ or 6+
    counted = {"visits": 1, **{t: int(t.removeprefix("visits_").removesuffix("plus")) for t in tiers.index}}
    expected = {(rule, person): points[rule] for person, n in views.items() for rule, k in counted.items() if n >= k}
    assert {(rule, person): awarded for rule, person, awarded in fired} == expected
    # and the score orders by the count: the change is the rule's points and its tiers', nothing else
    after = dict(build.query(SCORES))
    change = {person: after[person] - before[person] for person in after}
    for person, n in views.items():
        assert change[person] == pytest.approx(sum(points[r] for r, k in counted.items() if n >= k))
    assert all(change[p] == 0 for p in change if p not in views)
    by_count = {n: {change[p] for p, m in views.items() if m == n} for n in set(views.values())}
    assert min(by_count[2]) > max(by_count[1]) > 0, by_count
