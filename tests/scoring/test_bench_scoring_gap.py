"""bench/scoring_gap.py (issue 13, twentieth pass): the calibrated table's gap to the reference, cut into
what the pipeline loses (a - b), the rules' shapes (b - c), the contrast and support gates (c - c_ok) and
the points' fitting (c_ok - d), on a tiny world generated and built by the bench's own code (real
extract, real dbt on a DuckDB file). Each figure is re-derived here by another path: the reference on
the bench's own test slice (scoring_model.split_by_time), the rule values straight from
int_lead_score_rules, the pipeline's inputs by a query of their own."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from intent_pipeline import scoring_calibration as sc
from intent_pipeline import scoring_model as sm
from intent_pipeline.settings import DBT_PROJECT_DIR

from tests.benches import load_bench

pytestmark = pytest.mark.slow

LABELLED = """
    select example_id, person_id, lead_id, scored_at, converted from marts.lead_conversion_examples
    where label_complete
"""
# the pipeline's inputs, by a query of their own: every feature but the rule table's
INPUTS = """
    select f.score_point as example_id, f.feature, f.value
    from intermediate.int_scoring_features as f
    inner join marts.lead_conversion_examples as e on e.example_id = f.score_point and e.person_id = f.person_id
    where e.label_complete and f.feature not like 'rule:%' and f.feature not like 'log_hits:%'
        and f.feature <> 'lead_score'
"""
# each rule's value as scored, from the rule engine's own table: its points before the group cap per point
RULE_POINTS = """
    select r.score_point as example_id, r.rule_id, r.rule_points, r.hits
    from intermediate.int_lead_score_rules as r
    inner join marts.lead_conversion_examples as e on e.example_id = r.score_point and e.person_id = r.person_id
    where e.label_complete
"""

EVENTS = """
    select person_id, event_at, event_type, form_type, page_path, engagement_seconds, session_key
    from intermediate.int_events_unified
    where event_type in ('page_view', 'form_submitted', 'email_open', 'email_click')
"""
ACTIVITIES = """
    select lead_id, activity_at, activity_type, activity_type || '_' || outcome as activity_type_outcome
    from staging.stg_crm__activities
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    scoring = load_bench("scoring")
    home = tmp_path_factory.mktemp("gap") / "world-default-5"
    scoring.build_world(home, "default", people=900, seed=5, history_days=240, reuse=False)
    return home


def test_the_gap_is_cut_into_parts_each_measured_on_the_bench_split(world):
    gap = load_bench("scoring_gap")
    scoring = load_bench("scoring")
    warehouse = world / "data" / "warehouse.duckdb"

    figures = gap.decompose(world, draws=200)

    with duckdb.connect(str(warehouse), read_only=True) as con:
        labelled = con.execute(LABELLED).df()
        inputs = con.execute(INPUTS).df()
        rule_points = con.execute(RULE_POINTS).df()
        events = con.execute(EVENTS).df()
        activities = con.execute(ACTIVITIES).df()
    labelled["scored_at"] = pd.to_datetime(labelled["scored_at"])
    assert figures["test_conversions"] >= 3 and figures["test_examples"] == round(len(labelled) * sc.TEST_SHARE)
    # a: the bench's reference on the bench's own test slice (the model's split: the newest 20 %)
    test = sm.split_by_time(labelled.rename(columns={"scored_at": "as_of_at"}), 0.2, 0.2)["test"]
    assert figures["a"] == scoring.reference_auc(world / "data" / "ground_truth", labelled, set(test["example_id"]))

    order = labelled.sort_values(["scored_at", "example_id"], kind="mergesort")["example_id"]
    is_test = order.isin(set(test["example_id"])).to_numpy()
    assert is_test[-len(test) :].all() and not is_test[: -len(test)].any()  # the split is by time
    y = labelled.set_index("example_id").loc[order, "converted"].to_numpy(dtype=int)

    def regression(wide: pd.DataFrame) -> float | None:
        x = wide.reindex(order).fillna(0.0).to_numpy(dtype=float)
        return scoring.plain_regression_auc(x[~is_test], y[~is_test], x[is_test], y[is_test])

    # b: the reference's kinds of event as the warehouse holds them before the point, counted here in pandas
    kinds = events.merge(labelled[["example_id", "person_id", "scored_at"]], on="person_id")
    kinds = kinds[kinds["event_at"] <= kinds["scored_at"]]
    pricing = (kinds["event_type"] == "page_view") & kinds["page_path"].fillna("").str.startswith("/pricing")
    kinds["kind"] = np.where(
        kinds["event_type"] == "form_submitted",
        "form_" + kinds["form_type"].fillna("other"),
        np.where(pricing, np.where(kinds["engagement_seconds"] > 60, "pricing_view_60s", "pricing_view"),
                 kinds["event_type"]),
    )  # fmt: skip
    counts = kinds.groupby(["example_id", "kind"]).size().unstack(fill_value=0)
    counts["page_view"] = counts["page_view"].add(kinds[pricing].groupby("example_id").size(), fill_value=0)
    counts["session"] = kinds.groupby("example_id")["session_key"].nunique()
    activities = activities.merge(labelled[["example_id", "lead_id", "scored_at"]], on="lead_id")
    activities = activities[activities["activity_at"] <= activities["scored_at"]]
    for name, group in [*activities.groupby(activities["activity_type"]),
                        *activities.groupby("activity_type_outcome")]:  # fmt: skip
        counts[f"activity_{name}"] = group.groupby("example_id").size()
    counts = np.log1p(counts.fillna(0.0))
    sends = inputs[inputs["feature"] == "log_email_sends_all"].set_index("example_id")["value"]
    counts["email_delivered"] = sends
    counts = counts.reindex(columns=sorted(counts.columns)).dropna(axis=1, how="all")
    assert figures["kinds"] == counts.shape[1] >= 10
    assert figures["b"] == regression(counts)
    # b_model_inputs: the same regression on the model's inputs, none of the rule table's
    b_wide = inputs.pivot_table(index="example_id", columns="feature", values="value", aggfunc="sum")
    assert figures["pipeline_inputs"] == b_wide.shape[1] > 10
    assert figures["b_model_inputs"] == regression(b_wide)
    # c: on every seed rule's value as int_lead_score_rules scored it (points before the group cap / points)
    seed = sc.read_seed(DBT_PROJECT_DIR / "seeds" / "scoring_rules.csv")
    per_point = rule_points.merge(seed[["rule_id", "points"]], on="rule_id")
    per_point["value"] = per_point["rule_points"] / per_point["points"]
    c_wide = per_point.pivot_table(index="example_id", columns="rule_id", values="value", aggfunc="sum")
    c_wide = c_wide.reindex(columns=list(seed["rule_id"]))
    assert figures["rules"] == len(seed) and 0 < figures["rules_ok"] < len(seed)
    assert figures["c"] == regression(c_wide)
    # c_uncapped: the same rules' hit counts before caps and decay, ln(1 + hits)
    hits = per_point.pivot_table(index="example_id", columns="rule_id", values="hits", aggfunc="sum")
    assert figures["c_uncapped"] == regression(np.log1p(hits.reindex(columns=list(seed["rule_id"]))))
    # d: the calibration command's proposal, as the bench reports it
    proposed = sc.propose(*sc.load(warehouse), seed)["backtest"]
    assert figures["d"] == round(proposed["proposed"]["roc_auc"], 4)
    assert figures["current"] == round(proposed["current"]["roc_auc"], 4)
    # the parts add up to the gap
    parts = [figures[k] for k in ("pipeline_loss", "shape_loss", "gate_loss", "fitting_loss")]
    assert figures["gap"] == pytest.approx(figures["a"] - figures["d"], abs=1e-4)
    assert np.sum(parts) == pytest.approx(figures["gap"], abs=5e-4)
    assert len({figures["a"], figures["b"], figures["c"], figures["d"]}) > 1
    # the paired bootstrap: its points are a - d and a - current on the same test leads, inside their intervals
    boot = figures["gap_bootstrap"]
    assert 150 < boot["draws"] <= 200
    for name, other in (("proposed", "d"), ("current", "current")):
        part = boot[f"reference_minus_{name}"]
        assert part["gap"] == pytest.approx(figures["a"] - figures[other], abs=2e-4)
        assert part["ci95"][0] <= part["gap"] <= part["ci95"][1] and part["se"] > 0
        assert 0 <= part["share_goal_met"] <= 1
    # truth: each test lead's true propensity, read here from people.csv, ranks the test leads so
    from sklearn.metrics import roc_auc_score

    people = pd.read_csv(world / "data" / "ground_truth" / "people.csv", dtype={"crm_lead_id": str})
    propensity = (
        labelled.set_index("example_id")
        .loc[order, "lead_id"]
        .map(people.dropna(subset=["crm_lead_id"]).set_index("crm_lead_id")["propensity"])
    )
    truth = figures["truth"]
    assert truth["leads_without_truth"] == int(propensity.isna().sum())
    assert truth["auc_true_propensity"] == round(roc_auc_score(y[is_test], propensity.fillna(0.0)[is_test]), 4)
    rates = truth["conversion_rate_by_true_grade"]
    assert rates["high_intent"] > rates["nurture"]
    if rates["nurture"]:
        assert truth["grade_ratio_true_propensity"] == pytest.approx(rates["high_intent"] / rates["nurture"], abs=2e-3)


def test_the_command_prints_one_json_line_per_world_set(world, capsys):
    gap = load_bench("scoring_gap")
    assert gap.main(["--warehouse", str(world), "--bootstrap", "20"]) == 0
    import json

    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert set(json.loads(last)["worlds"]) == {world.name}
