"""Trace: why the calibrated points table ranks below the reference in a world (issue 13, ninth pass).

    python bench/scoring_rule_gap.py WORLD_DIR [WORLD_DIR ...]

WORLD_DIR is a world kept by ``bench/scoring.py --keep`` (``<keep>/world-<name>-<seed>``). Read-only.
On the calibration command's own split (the newest 20 % of the labelled leads by their point), one
line per world with the test ROC AUC of:

* ``current`` / ``calibrated``: the seed's table and the table ``scoring_calibration.propose``
  proposes (what ``bench/scoring.py`` reports as ``auc_rule``, ``auc_rule_calibrated``);
* ``free_rules``: a plain logistic regression on the same ``rule:*`` hits, no table, no caps: what
  any points table on these rules can approach; below the reference, the rules miss a signal;
* ``all_features``: the same regression on every feature the pipeline computes (``int_scoring_features``);
* ``with_sales_rules``: the calibration again, with the lead's CRM activities before the point
  (by type, and by outcome: the ``log_sales_*_all`` counts) offered as more disabled candidate
  rules (``whatif_*``): what the command proposes when every activity type and outcome is a rule
  (the seed's ``sales_activity`` rules are some of them, with decay). Counts, not decayed hits;
* ``reference``: ``bench/scoring.py``'s plain regression on the generator's per-lead event counts,
  on the same test leads.

Last line per world: one JSON object.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))
sys.path.insert(0, str(ROOT / "bench"))

# the rows of scoring_calibration.EXAMPLE_FEATURES (the labelled examples' features): the CRM
# activity counts as what-if rules, and every feature
SALES_SELECT = """
    select features.score_point as example_id,
        'rule:whatif_' || replace(replace(features.feature, 'log_', ''), '_all', '') as feature,
        exp(features.value) - 1 as value"""
SALES_WHERE = " and features.feature like 'log_sales_%_all'"
ALL_SELECT = "select features.score_point as example_id, features.feature, features.value"


def trace(world: Path) -> dict:
    import duckdb
    import numpy as np
    import pandas as pd
    from intent_pipeline import scoring_calibration as sc
    from intent_pipeline.settings import DBT_PROJECT_DIR
    from scoring import plain_regression_auc, reference_auc

    warehouse = world / "data" / "warehouse.duckdb"
    examples, rule_features = sc.load(warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        sales = con.execute(SALES_SELECT + sc.EXAMPLE_FEATURES + SALES_WHERE).df()
        everything = con.execute(ALL_SELECT + sc.EXAMPLE_FEATURES).df()
        leads = con.execute(
            "select example_id, lead_id, scored_at, converted from marts.lead_conversion_examples where label_complete"
        ).df()
    seed = sc.read_seed(DBT_PROJECT_DIR / "seeds" / "scoring_rules.csv")
    proposed = sc.propose(examples, rule_features, seed)["backtest"]

    candidates = []
    for rule_id in sorted(sales["feature"].str.removeprefix("rule:").unique()):
        row = {c: None for c in seed.columns} | {"rule_id": rule_id, "rule_set": "candidate", "is_enabled": False,
               "rule_group": "engagement", "signal": "event", "points": 10, "max_points_per_day": 10,
               "max_points": 30, "min_count": 1, "decay": "none"}  # fmt: skip
        candidates.append(row)
    with_sales = sc.propose(
        examples, pd.concat([rule_features, sales]), pd.concat([seed, pd.DataFrame(candidates)], ignore_index=True)
    )["backtest"]

    ordered = examples.sort_values(["scored_at", "example_id"], kind="mergesort").reset_index(drop=True)
    n_fit = len(ordered) - round(len(ordered) * sc.TEST_SHARE)
    y = ordered["label"].to_numpy(dtype=int)
    wide = everything.pivot_table(index="example_id", columns="feature", values="value", aggfunc="sum")
    wide = wide.reindex(ordered["example_id"]).fillna(0.0)

    def free(columns: list[str]) -> float | None:
        x = wide[columns].to_numpy()
        return plain_regression_auc(x[:n_fit], y[:n_fit], x[n_fit:], y[n_fit:])

    rules = [c for c in wide.columns if c.startswith("rule:")]
    test_ids = set(ordered["example_id"].iloc[n_fit:])
    leads["scored_at"] = pd.to_datetime(leads["scored_at"])
    return {
        "world": world.name,
        "test_examples": len(ordered) - n_fit,
        "test_conversions": int(y[n_fit:].sum()),
        "current": round(proposed["current"]["roc_auc"], 4),
        "calibrated": round(proposed["proposed"]["roc_auc"], 4),
        "calibration_method": proposed["method"],
        "free_rules": free(rules),
        "all_features": free([c for c in wide.columns if not np.all(wide[c] == 0)]),
        "with_sales_rules": round(with_sales["proposed"]["roc_auc"], 4),
        "reference": reference_auc(world / "data" / "ground_truth", leads, test_ids),
    }


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for world in sys.argv[1:]:
        print(json.dumps(trace(Path(world)), ensure_ascii=False), flush=True)
