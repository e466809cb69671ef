"""The calibrated points table's gap to the reference, decomposed (issue 13, twentieth pass).

    python bench/scoring_gap.py --warehouse KEEP/world-NAME-SEED [--warehouse ...] [--count-tiers]

KEEP/world-NAME-SEED is a world kept by ``bench/scoring.py --keep`` (its ``data/warehouse.duckdb`` and
``data/ground_truth``). Read-only. On the calibration command's own split (``scoring_calibration``:
the labelled leads by their point, the oldest 80 % fit, the newest 20 % test; the bench's
``auc_rule_calibrated`` and ``auc_reference`` use the same test leads), the test ROC AUC of:

* ``a`` the reference: ``bench/scoring.py``'s plain logistic regression (standardised, C = 1) on the
  generator's per-lead ln(1 + count) of each event kind before the lead's point;
* ``b`` the same regression on the same kinds of event as the warehouse holds them at the lead's
  point (:data:`KIND_COUNTS_SQL`): the page views, sessions, pricing views up to and over 60 s, forms
  by type, opens and clicks of the example's person (``int_events_unified``), the messages delivered
  to it (``int_scoring_features.log_email_sends_all``), the lead's CRM activities by type and by type
  and outcome (``stg_crm__activities``), each ln(1 + count). ``a - b``: signal the pipeline loses
  before any rule (identity resolution, extraction, the person for the lead);
  ``b_model_inputs``: the regression on every ``int_scoring_features`` feature that is not the rule
  table's (not ``rule:``, ``log_hits:`` nor ``lead_score``): what the model reads besides the rules;
* ``c`` the same regression on the rule table's own values as scored: ``rule:<id>`` of every seed
  rule, enabled and candidate (``int_lead_score_rules``' points before the group cap over the points
  per hit: the hit indicator, capped hits or decayed hits, as each rule's shape makes it).
  ``b - c``: what the rules' shapes (windows, decay, caps, thresholds) lose;
  ``c_ok``: the same on the rules with contrast and support on the fit leads (the ones the command
  may give points), ``c - c_ok``: what the contrast and support gates lose; ``c_uncapped``: the same
  rules' hit counts before caps and decay (``int_lead_score_rules.hits``, ln(1 + hits)): the windows
  and conditions kept, so ``c_uncapped - c`` is what the caps and decay lose, ``b - c_uncapped`` what
  the rules' conditions and windows lose;
* ``d`` the calibrated table (``scoring_calibration.propose``, the bench's ``auc_rule_calibrated``).
  ``c_ok - d``: what fitting the points loses (the penalty, the offset of the current table, whole
  points, the caps walk); ``current``: the seed's own table.

Beside the parts, on the same test leads: ``gap_bootstrap``, the paired bootstrap (``--bootstrap`` draws
of the test leads, default 2000, seeded) of a - d and a - current: their standard error, 95 % interval and
the share of draws where the goal (a - d <= 0.01) holds, so a gap can be told from the test set's noise;
and ``truth``, what the generator's true propensity (``people.csv``) reaches on those leads: its AUC and
its grade ratio under the command's default grades (the shares cut on the fit leads), the ceiling of any
score that reads the leads' behaviour.

Last output line: one JSON object, ``worlds`` keyed by the world folder's name, each with a, b, c,
c_ok, d, current, b_model_inputs and the parts (``pipeline_loss`` a - b, ``shape_loss`` b - c, ``gate_loss`` c - c_ok,
``fitting_loss`` c_ok - d, which add up to a - d), the test leads and conversions.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))
sys.path.insert(0, str(ROOT / "bench"))

# every feature of the labelled examples at their point (scoring_calibration.EXAMPLE_FEATURES' rows)
FEATURES_SELECT = "select features.score_point as example_id, features.feature, features.value"
LEADS_SQL = "select example_id, lead_id, scored_at, converted from marts.lead_conversion_examples where label_complete"
BOOTSTRAP_DRAWS = 2000  # paired bootstrap draws of the test leads (--bootstrap)
GOAL_MARGIN = 0.01  # issue 13: auc_rule_calibrated >= auc_reference - 0.01
RULE_TABLE_FEATURES = ("rule:", "log_hits:", "lead_score")  # the rule table's own, not the pipeline's inputs
# the reference's kinds of event (synth's lead_events.csv) as the warehouse holds them before each labelled
# lead's point: the person's web and email events, the lead's CRM activities; ln(1 + count) per kind
KIND_COUNTS_SQL = """
    with examples as (
        select example_id, person_id, lead_id, scored_at from marts.lead_conversion_examples where label_complete
    ),
    person_events as (
        select examples.example_id,
            case
                when events.event_type = 'page_view' and events.page_path like '/pricing%'
                    then case when events.engagement_seconds > 60 then 'pricing_view_60s' else 'pricing_view' end
                when events.event_type = 'form_submitted' then 'form_' || coalesce(events.form_type, 'other')
                else events.event_type
            end as kind,
            events.session_key
        from examples
        inner join intermediate.int_events_unified as events
            on events.person_id = examples.person_id and events.event_at <= examples.scored_at
        where events.event_type in ('page_view', 'form_submitted', 'email_open', 'email_click')
    ),
    counted as (
        select example_id, kind, count(*) as n from person_events group by 1, 2
        union all
        select example_id, 'page_view', count(*) from person_events where kind like 'pricing_view%' group by 1
        union all
        select example_id, 'session', count(distinct session_key) from person_events
        where session_key is not null group by 1
        union all
        select examples.example_id, 'activity_' || activities.activity_type
            || coalesce('_' || activities.outcome, ''), count(*)
        from examples
        inner join staging.stg_crm__activities as activities
            on activities.lead_id = examples.lead_id and activities.activity_at <= examples.scored_at
        group by 1, 2
        union all
        select examples.example_id, 'activity_' || activities.activity_type, count(*)
        from examples
        inner join staging.stg_crm__activities as activities
            on activities.lead_id = examples.lead_id and activities.activity_at <= examples.scored_at
        where activities.outcome is not null
        group by 1, 2
    )
    select example_id, kind as feature, ln(1 + sum(n)) as value from counted group by 1, 2
    union all
    select features.score_point, 'email_delivered', features.value
    from intermediate.int_scoring_features as features
    inner join examples on examples.example_id = features.score_point and examples.person_id = features.person_id
    where features.feature = 'log_email_sends_all'
"""


def pipeline_inputs(columns) -> list[str]:
    """The features that are the pipeline's per-lead inputs, not the rule table's."""
    return sorted(c for c in columns if not c.startswith(RULE_TABLE_FEATURES))


def parts(figures: dict) -> dict:
    """The gap a - d cut at b, c and c_ok (None where a figure is missing); they add up to a - d."""

    def minus(x: str, y: str) -> float | None:
        return None if figures[x] is None or figures[y] is None else round(figures[x] - figures[y], 4)

    return {
        "gap": minus("a", "d"),
        "pipeline_loss": minus("a", "b"),
        "shape_loss": minus("b", "c"),
        "gate_loss": minus("c", "c_ok"),
        "fitting_loss": minus("c_ok", "d"),
    }


def command_split(examples):
    """The calibration command's split (scoring_calibration.propose): the examples ordered by their point,
    then their id; the newest TEST_SHARE are the test. Returns (ordered, the fit rows' count, labels)."""
    from intent_pipeline import scoring_calibration as sc

    ordered = examples.sort_values(["scored_at", "example_id"], kind="mergesort").reset_index(drop=True)
    return ordered, len(ordered) - round(len(ordered) * sc.TEST_SHARE), ordered["label"].to_numpy(dtype=int)


def by_example(long, ordered):
    """A long (example_id, feature, value) frame as one row per example of ``ordered``, 0 where absent."""
    wide = long.pivot_table(index="example_id", columns="feature", values="value", aggfunc="sum")
    return wide.reindex(index=ordered["example_id"]).fillna(0.0)


def decompose(world: Path, count_tiers: bool = False, rare_rules: bool = True, draws: int = BOOTSTRAP_DRAWS) -> dict:
    """a, b, c, c_ok, d, current and the parts of one kept world (module docstring)."""
    import duckdb
    import numpy as np
    import pandas as pd
    from intent_pipeline import scoring_calibration as sc
    from intent_pipeline import scoring_model as sm
    from intent_pipeline.settings import DBT_PROJECT_DIR
    from scoring import plain_regression_auc, reference_auc, reference_scores

    warehouse = world / "data" / "warehouse.duckdb"
    examples, rule_features = sc.load(warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        everything = con.execute(FEATURES_SELECT + sc.EXAMPLE_FEATURES).df()
        kinds = con.execute(KIND_COUNTS_SQL).df()
        leads = con.execute(LEADS_SQL).df()
    seed = sc.read_seed(DBT_PROJECT_DIR / "seeds" / "scoring_rules.csv")
    proposal = sc.propose(examples, rule_features, seed, count_tiers=count_tiers, rare_rules=rare_rules)
    backtest = proposal["backtest"]

    ordered, n_fit, y = command_split(examples)
    wide = everything.pivot_table(index="example_id", columns="feature", values="value", aggfunc="sum")
    rule_columns = [f"rule:{r}" for r in seed["rule_id"]]
    wide = wide.reindex(index=ordered["example_id"], columns=sorted(set(wide.columns) | set(rule_columns)))
    wide = wide.fillna(0.0)

    wide_rules, kind_wide = by_example(rule_features, ordered), by_example(kinds, ordered)

    def auc(columns: list[str], frame=wide) -> float | None:
        x = frame[columns].to_numpy(dtype=float)
        return plain_regression_auc(x[:n_fit], y[:n_fit], x[n_fit:], y[n_fit:])

    contrast = sm.learn_points(wide[rule_columns].iloc[:n_fit], y[:n_fit], 20)
    ok = [f"rule:{p['rule_id']}" for p in contrast if p["flag"] == "ok"]
    ok = [c for c in ok if c.removeprefix("rule:") not in sc.outcome_rules(examples, seed)]
    leads["scored_at"] = pd.to_datetime(leads["scored_at"])
    test_ids = set(ordered["example_id"].iloc[n_fit:])
    figures = {
        "a": reference_auc(world / "data" / "ground_truth", leads, test_ids),
        "b": auc(sorted(kind_wide.columns), kind_wide),
        "b_model_inputs": auc(pipeline_inputs(wide.columns)),
        "c": auc(rule_columns),
        "c_ok": auc(ok),
        "c_uncapped": auc(list(seed["rule_id"]), np.log1p(sc.hit_counts(wide_rules, list(seed["rule_id"])))),
        "d": backtest["proposed"]["roc_auc"] and round(backtest["proposed"]["roc_auc"], 4),
        "current": backtest["current"]["roc_auc"] and round(backtest["current"]["roc_auc"], 4),
    }
    test_scores = {
        "reference": reference_scores(world / "data" / "ground_truth", leads, test_ids),
        "proposed": proposed_test_scores(ordered, n_fit, rule_features, seed, proposal["seed"]),
        "current": ordered["current_score"].to_numpy(dtype=float)[n_fit:],
    }
    lead_ids = ordered["example_id"].map(leads.set_index("example_id")["lead_id"])
    truth = truth_figures(world, lead_ids, n_fit, y)
    bootstrap = gap_bootstrap(y[n_fit:], ordered["example_id"].iloc[n_fit:], test_scores, draws)
    return (
        figures
        | parts(figures)
        | {"gap_bootstrap": bootstrap, "truth": truth}
        | {
            "test_examples": len(ordered) - n_fit,
            "test_conversions": int(y[n_fit:].sum()),
            "kinds": len(kind_wide.columns),
            "pipeline_inputs": len(pipeline_inputs(wide.columns)),
            "rules": len(rule_columns),
            "rules_ok": len(ok),
            "calibration_method": backtest["method"],
            "penalty": backtest["penalty"],
            "caps_taken": backtest["caps_taken"],
            "rare_rules_taken": backtest["rare_rules_taken"],
        }
    )


def proposed_test_scores(ordered, n_fit: int, rule_features, seed, proposed):
    """The proposed table's score of each test example (the command's backtest: sc.proposed_score)."""
    from intent_pipeline import scoring_calibration as sc

    columns = [f"rule:{r}" for r in seed["rule_id"]] + [f"{sc.HITS_PREFIX}{r}" for r in seed["rule_id"]]
    wide = by_example(rule_features, ordered).reindex(columns=columns, fill_value=0.0).iloc[n_fit:]
    return sc.proposed_score(ordered["current_score"].to_numpy(dtype=float)[n_fit:], wide, seed, proposed)


def gap_bootstrap(y, test_ids, scores: dict, draws: int, seed: int = 13) -> dict | None:
    """Paired bootstrap over the test examples of AUC(reference) - AUC(proposed) and - AUC(current):
    each draw resamples the test examples with replacement and scores all three on the same draw."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    if scores["reference"] is None or draws <= 0:
        return None
    reference = scores["reference"].reindex(list(test_ids)).to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    gaps: dict[str, list[float]] = {"proposed": [], "current": []}
    for _ in range(draws):
        i = rng.integers(0, len(y), len(y))
        if 0 < y[i].sum() < len(i):
            ref = roc_auc_score(y[i], reference[i])
            for name in gaps:
                gaps[name].append(ref - roc_auc_score(y[i], scores[name][i]))
    out: dict = {"draws": len(gaps["proposed"])}
    for name, values in gaps.items():
        v = np.asarray(values)
        point = roc_auc_score(y, reference) - roc_auc_score(y, scores[name])
        out[f"reference_minus_{name}"] = {
            "gap": round(float(point), 4),
            "se": round(float(v.std(ddof=1)), 4),
            "ci95": [round(float(q), 4) for q in np.percentile(v, [2.5, 97.5])],
            "share_goal_met": round(float((v <= GOAL_MARGIN).mean()), 3),
        }
    return out


def truth_figures(world: Path, lead_ids, n_fit: int, y) -> dict:
    """The generator's true propensity of each example's lead (``lead_ids`` in the split's order; truth
    people.csv): its test AUC and its
    grade ratio under the command's default grades (cut on the fit examples, rates on the test)."""
    import pandas as pd
    from intent_pipeline import scoring_calibration as sc

    people = pd.read_csv(world / "data" / "ground_truth" / "people.csv", dtype={"crm_lead_id": str})
    propensity = lead_ids.map(dict(zip(people["crm_lead_id"], people["propensity"], strict=False)))
    p = propensity.fillna(0.0).to_numpy(dtype=float)
    cuts = sc.thresholds(p[:n_fit], y[:n_fit], sc.parse_grades(sc.DEFAULT_GRADES))
    rates = sc.grade_rates(p[n_fit:], y[n_fit:], cuts)
    auc = sc._auc(y[n_fit:], p[n_fit:])
    return {
        "auc_true_propensity": None if auc is None else round(auc, 4),
        "grade_ratio_true_propensity": None if rates["grade_ratio"] is None else round(rates["grade_ratio"], 3),
        "conversion_rate_by_true_grade": {
            g: None if rates[g]["conversion_rate"] is None else round(rates[g]["conversion_rate"], 4)
            for g in ("high_intent", "potential", "nurture")
        },
        "leads_without_truth": int(propensity.isna().sum()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", type=Path, action="append", required=True,
                        help="a world kept by bench/scoring.py --keep (KEEP/world-NAME-SEED); repeatable")  # fmt: skip
    parser.add_argument("--count-tiers", action="store_true", help="the calibration proposes count tiers")
    parser.add_argument("--rare-rules", action=argparse.BooleanOptionalAction, default=True,
                        help="rare rules with a lift clear of 1 may join the calibration fit (default on)")  # fmt: skip
    parser.add_argument("--bootstrap", type=int, default=BOOTSTRAP_DRAWS,
                        help=f"paired bootstrap draws of the test gap ({BOOTSTRAP_DRAWS}; 0: none)")  # fmt: skip
    args = parser.parse_args(argv)
    worlds = {}
    for world in args.warehouse:
        worlds[world.name] = decompose(world, args.count_tiers, args.rare_rules, args.bootstrap)
        print(world.name, json.dumps(worlds[world.name]), file=sys.stderr, flush=True)
    print(json.dumps({"worlds": worlds}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
