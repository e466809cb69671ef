"""Calibrate the points of the rule table to the business's own outcomes (issue 13, item 4).

    python -m intent_pipeline.scoring_calibration [--warehouse data/warehouse.duckdb]
        [--seed dbt_project/seeds/scoring_rules.csv] [--out data/reports/scoring_calibration]
        [--grades share:0.2,0.5 | rate:0.3,0.1 | points:60,30] [--points-per-doubling 20] [--count-tiers]
        [--no-rare-rules]
    python -m intent_pipeline.scoring_calibration window [--share 0.8]   (intent_pipeline.conversion_window)

Reads the closed loop the last ``dbt build`` wrote (``marts.lead_conversion_examples`` with a
closed window, labelled by the vars conversion_event / conversion_window_days, and each rule's
decayed hits at the lead's point, ``intermediate.int_scoring_features``), read-only, and writes
into ``--out``:

* ``rules.csv``: per rule its support (examples with it, share), conversion rate, lift and its 95 %
  interval, the flag (``no_contrast``: fires for >= 95 % or <= 0.5 % of the examples;
  ``no_support``: fewer than 30 examples; ``leaks_outcome``: an opportunity_stage rule whose stage is
  the conversion the examples were labelled with, disabled whatever its lift; ``ok``), the current and
  the proposed points. A flagged
  rule is never given learned points: one that fires for >= 95 % is disabled (``is_enabled``
  false: points for nothing; it is still computed, so the next calibration sees it again), a rare
  one (no support, <= 0.5 %) keeps its current points and state until the data says more. The cap
  columns: the current and proposed cap in hits, where the walk stopped and why, the examples and
  conversion rates at and beyond that count, their ratio and its 95 % interval.
* ``scoring_rules.proposed.csv``: the seed with the proposed points: the current table adjusted by
  a logistic regression with the current score as offset and penalised per-rule changes
  (:func:`adjust_points`), or, when clearly better on held-out data, points relearned from scratch
  (+``points_per_doubling`` points doubling the odds); a rule's caps scale with its points, or
  follow the caps proposed from its hit counts (:func:`propose_cap`: the hit count where the
  conversion rate stops growing), taken only when they beat the current caps on the held-out forward
  blocks by one standard error; and ``scoring_rules.diff``: the unified diff against the current
  seed, to review.
  Nothing is applied: copy the proposed file over the seed after review.
* ``backtest.json``: the current table against the proposed one on held-out time (the examples
  are split by ``scored_at``: the oldest 80 % fit the points and the grade thresholds, the newest
  20 % are the test): ROC AUC, the conversion rate per grade and high_intent / nurture, and the
  calibration (ECE) of each score mapped to probabilities on the fit part (Platt scaling or
  isotonic regression as held-out fit examples chose (scoring_model.fit_calibration): ``calibration_method``).

Grades: ``share:H,P`` puts the top H of the fit examples in high_intent and the next up to P in
potential; ``rate:H,P`` takes the lowest threshold whose leads at or above it convert at H (P for
potential) or more; ``points:H,P`` keeps fixed thresholds (the vars high_intent_threshold and
potential_threshold). The proposed thresholds are printed as those vars.

The backtest's proposed score is the current score plus each changed rule's change x its decayed
hits under the proposed caps (:func:`proposed_score`; the cap groups are not re-applied), an
approximation of what the next build computes. Last line of the command: one JSON object (the
backtest, with ``caps_from_data`` and ``caps_taken``).
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from intent_pipeline import scoring_model as sm

EXAMPLES_SQL = """
    select example_id, person_id, scored_at, cast(converted as integer) as label,
        lead_score_at_creation as current_score
    from marts.lead_conversion_examples
    where label_complete
"""
# the feature rows of the labelled examples (a feature at the example's own point, of its person);
# bench/scoring_rule_gap.py reads other features of the same rows
EXAMPLE_FEATURES = """
    from intermediate.int_scoring_features as features
    inner join marts.lead_conversion_examples as examples
        on examples.example_id = features.score_point and examples.person_id = features.person_id
    where examples.label_complete"""
RULE_FEATURES_SQL = f"""
    select features.score_point as example_id, features.feature, features.value{EXAMPLE_FEATURES}
        and features.feature like 'rule:%'
"""
# how often each rule fired before the point, from two hits on (the rule engine's own count: every
# qualifying event, or floor(count / min_count) for a rule that needs several): its caps hide it from
# rule:<rule_id>, and the cap proposal measures it (propose_cap)
HITS_PREFIX = "hits:"
HITS_SQL = f"""
    select rules.score_point as example_id, '{HITS_PREFIX}' || rules.rule_id as feature,
        cast(rules.hits as double) as value
    from intermediate.int_lead_score_rules as rules
    inner join marts.lead_conversion_examples as examples
        on examples.example_id = rules.score_point and examples.person_id = rules.person_id
    where examples.label_complete and rules.hits > 1
"""
TEST_SHARE = 0.2
DEFAULT_GRADES = "share:0.2,0.5"


OUTCOME_FLAG = "leaks_outcome"


def outcome_rules(examples: pd.DataFrame, seed: pd.DataFrame) -> dict[str, str]:
    """The rules of ``seed`` whose stage is the conversion the examples were labelled with (their
    ``conversion_definition``; rules_check.leaks_outcome): rule id -> the reason. Such a rule fires
    exactly when the label says converted, so it is flagged ``leaks_outcome``, disabled and never
    given points, whatever its lift. Examples without the column (a hand-made table): none."""
    from intent_pipeline import rules_check

    if "conversion_definition" not in examples or examples["conversion_definition"].dropna().empty:
        return {}
    conversion = rules_check.Conversion.from_definition(str(examples["conversion_definition"].dropna().iloc[0]))
    stages = rules_check.opportunity_stages()
    found = {
        str(rule["rule_id"]): rules_check.leaks_outcome(
            {"signal": rule.get("signal"), "event_type": rule.get("event_type")}, stages, conversion
        )
        for _, rule in seed.iterrows()
    }
    return {r: why for r, why in found.items() if why}


def load(warehouse: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(examples, long rule features: ``rule:<id>`` decayed hits after the rule's caps, ``hits:<id>``
    the hit count from two hits on) from the warehouse, read-only."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        examples, features = con.execute(EXAMPLES_SQL).df(), con.execute(RULE_FEATURES_SQL).df()
        labelled_with = con.execute(
            "select count(*) from information_schema.columns where table_schema = 'marts'"
            " and table_name = 'lead_conversion_examples' and column_name = 'conversion_definition'"
        ).fetchall()[0][0]
        if labelled_with:  # what converts, for outcome_rules (a hand-made table may not say)
            examples["conversion_definition"] = con.execute(
                "select max(conversion_definition) from marts.lead_conversion_examples"
            ).fetchall()[0][0]
        has_hits = con.execute(
            "select count(*) from information_schema.tables"
            " where table_schema = 'intermediate' and table_name = 'int_lead_score_rules'"
        ).fetchall()[0][0]
        if has_hits:  # a warehouse without the rule engine's table: no hit counts, no cap proposals
            features = pd.concat([features, con.execute(HITS_SQL).df()], ignore_index=True)
        return examples, features


def parse_grades(text: str) -> tuple[str, float, float]:
    """``share:0.2,0.5`` -> ("share", 0.2, 0.5); a clear ValueError otherwise."""
    kind, _, values = text.partition(":")
    parts = values.split(",")
    if kind not in ("share", "rate", "points") or len(parts) != 2:
        raise ValueError(f"--grades must be share:H,P, rate:H,P or points:H,P, got {text!r}")
    high, potential = (float(p) for p in parts)
    if kind == "share" and not 0 < high < potential <= 1:
        raise ValueError(f"share grades need 0 < high < potential <= 1, got {text!r}")
    if kind == "rate" and not 0 < potential < high <= 1:
        raise ValueError(f"rate grades need 0 < potential < high <= 1, got {text!r}")
    if kind == "points" and not potential < high:
        raise ValueError(f"points grades need potential < high, got {text!r}")
    return kind, high, potential


def thresholds(score: np.ndarray, y: np.ndarray, grades: tuple[str, float, float]) -> tuple[float, float]:
    """(high_intent, potential) thresholds on ``score`` by the grades option, from the fit examples."""
    kind, high, potential = grades
    if kind == "points":
        return high, potential
    if kind == "share":
        # scores tie (many leads have 0): the cut whose share at or above is nearest the target
        cuts = np.unique(score)
        at_or_above = np.array([(score >= c).mean() for c in cuts])

        def nearest(share: float) -> float:
            distance = np.abs(at_or_above - share)
            return float(cuts[np.flatnonzero(distance == distance.min())[-1]])

        return nearest(high), nearest(potential)
    cuts = np.unique(score)[::-1]  # highest first: the rate of leads at or above each cut

    def lowest(rate: float) -> float:
        found = float(cuts[0])
        for cut in cuts:
            above = score >= cut
            if y[above].mean() >= rate:
                found = float(cut)
        return found

    return lowest(high), lowest(potential)


def grade_rates(score: np.ndarray, y: np.ndarray, cuts: tuple[float, float]) -> dict[str, Any]:
    """Leads and conversion rate per grade, and high_intent / nurture."""
    grade = np.where(score >= cuts[0], "high_intent", np.where(score >= cuts[1], "potential", "nurture"))
    out: dict[str, Any] = {}
    for name in ("high_intent", "potential", "nurture"):
        members = grade == name
        out[name] = {
            "leads": int(members.sum()),
            "conversion_rate": float(y[members].mean()) if members.any() else None,
        }
    high, low = out["high_intent"]["conversion_rate"], out["nurture"]["conversion_rate"]
    out["grade_ratio"] = high / low if high is not None and low else None
    return out


def _calibrated_ece(
    score_fit: np.ndarray, y_fit: np.ndarray, score_test: np.ndarray, y_test: np.ndarray
) -> tuple[float, str]:
    """ECE on the test part of the score mapped to probabilities on the fit part, by Platt scaling or
    isotonic regression as held-out fit examples chose (scoring_model.fit_calibration); and
    that method's name."""
    calibration = sm.fit_calibration(score_fit.astype(float), y_fit)
    return sm.expected_calibration_error(sm.calibrate(score_test, calibration), y_test), calibration["method"]


def _auc(y: np.ndarray, score: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score)) if 0 < y.sum() < len(y) else None


PENALTIES = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)


def _fit_offset(offset: np.ndarray, x: np.ndarray, y: np.ndarray, penalty: float) -> np.ndarray:
    """Logistic regression z = a + s * offset + x @ d, with an L2 penalty on d only: (a, s, d...)."""
    from scipy.optimize import minimize

    design = np.column_stack([np.ones(len(y)), offset, x])
    weights = np.r_[0.0, 0.0, np.full(x.shape[1], penalty)]

    def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
        z = design @ beta
        p = 1.0 / (1.0 + np.exp(-z))
        value = float(np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * np.sum(weights * beta**2))
        return value, design.T @ (p - y) + weights * beta

    return minimize(loss, np.zeros(design.shape[1]), jac=True, method="L-BFGS-B").x


FORWARD_FOLDS = 4  # held-out blocks of the fit examples' newest half, each fitted on everything older
FORWARD_START = 0.5


def forward_folds(n: int, folds: int = FORWARD_FOLDS, start: float = FORWARD_START) -> list[tuple[int, int]]:
    """Forward-chaining splits of ``n`` time-ordered examples: (a, b) fits on [0, a) and is judged on
    [a, b); the blocks tile the newest ``1 - start`` of the examples, none sees a later example."""
    edges = [int(n * (start + (1 - start) * i / folds)) for i in range(folds + 1)]
    return [(a, b) for a, b in zip(edges, edges[1:], strict=False) if b > a]


def adjust_points(
    current: np.ndarray, x: np.ndarray, y: np.ndarray
) -> tuple[float, np.ndarray, float, bool, np.ndarray]:
    """How the current score should change, learned from outcomes: the current score is the offset
    (its scale s learned), each rule's adjustment d is penalised toward 0, with the penalty chosen on
    held-out time: forward-chaining blocks over the newest half of the fit examples (each block
    judged by a fit on everything before it, :func:`forward_folds`), the largest penalty that the
    penalty with the best pooled held-out log loss does not beat by one standard error of their paired
    per-example difference (the "one standard error" rule, :func:`scoring_model.simplest_not_beaten`).
    With few outcomes d stays near 0 and the table keeps its points; with many it moves where the
    data says. The points relearned from scratch (no offset) replace the table only when their
    pooled held-out log loss beats the adjusted table's by more than one standard error.
    (Issue 13, ninth pass: judged on the newest quarter alone, the standard error was so wide that
    the largest penalty won almost always and a table that ranked badly was kept.)
    Returns (s, d / s in score points, penalty, relearn, the chosen points' held-out log loss per
    example of the forward blocks: what the cap proposal is judged by)."""
    from sklearn.linear_model import LogisticRegression

    scale = max(float(np.std(current)), 1.0)
    losses: dict[float, list[np.ndarray]] = {penalty: [] for penalty in PENALTIES}
    relearned: list[np.ndarray] = []
    for a, b in forward_folds(len(y)):
        if not (0 < y[:a].sum() < a and 0 < y[a:b].sum() < b - a):
            continue  # a block with one class judges nothing
        for penalty in PENALTIES:
            beta = _fit_offset(current[:a] / scale, x[:a], y[:a], penalty)
            z = beta[0] + beta[1] * current[a:b] / scale + x[a:b] @ beta[2:]
            losses[penalty].append(np.logaddexp(0.0, z) - y[a:b] * z)
        z = LogisticRegression(max_iter=1000).fit(x[:a], y[:a]).decision_function(x[a:b])
        relearned.append(np.logaddexp(0.0, z) - y[a:b] * z)
    best, relearn, held_out = PENALTIES[-1], False, np.zeros(0)
    if relearned:
        pooled = {penalty: np.concatenate(v) for penalty, v in losses.items()}
        best = sm.simplest_not_beaten(pooled)
        difference = pooled[best] - np.concatenate(relearned)  # > 0: the relearned points do better
        relearn = sm.beats_by_one_standard_error(difference)
        held_out = np.concatenate(relearned) if relearn else pooled[best]
    beta = _fit_offset(current / scale, x, y, best)
    s = beta[1] / scale
    return float(s), (beta[2:] / s if s > 0 else beta[2:] * 0), best, relearn or s <= 0, held_out


CAP_SIGNALS = ("event", "sales_activity", "session", "email_delivery")  # the signals whose hits can exceed one
MAX_CAP_HITS = 50  # the walk of propose_cap stops here whatever the data says
CAP_COLUMNS = (  # rules.csv: the cap proposal (propose_cap)
    "proposed_cap_hits",
    "data_cap_hits",
    "cap_reason",
    "examples_at_cap",
    "examples_beyond_cap",
    "conversion_rate_at_cap",
    "conversion_rate_beyond_cap",
    "beyond_cap_ratio",
    "beyond_cap_ratio_ci_low",
    "beyond_cap_ratio_ci_high",
)


def cap_in_hits(points: Any, max_points: Any) -> float | None:
    """How many hits a rule's total cap lets count (``max_points / points``); None: no cap."""
    if max_points is None or pd.isna(max_points) or not points or pd.isna(points):
        return None
    return abs(float(max_points) / float(points))


def hit_counts(wide: pd.DataFrame, rule_ids: list[str]) -> pd.DataFrame:
    """Each rule's hit count per example: ``hits:<id>`` (two hits on), 1 where ``rule:<id>`` is not 0
    without it, else 0 (a warehouse without hit counts: every rule that fired counts once)."""
    counts = {}
    for rule in rule_ids:
        fired = (wide[f"rule:{rule}"].to_numpy() != 0) if f"rule:{rule}" in wide else np.zeros(len(wide), dtype=bool)
        column = f"{HITS_PREFIX}{rule}"
        many = wide[column].to_numpy(dtype=float) if column in wide else np.zeros(len(wide))
        counts[rule] = np.where(many > 1, many, fired.astype(float))
    return pd.DataFrame(counts, index=wide.index)


def _rate_ratio(y_a: np.ndarray, y_b: np.ndarray) -> tuple[float | None, float | None, float | None]:
    """Conversion rate of ``a`` over ``b`` with its 95 % interval (Katz log method, 0.5 added to each
    count when one has no conversion)."""
    n_a, n_b, c_a, c_b = float(len(y_a)), float(len(y_b)), float(y_a.sum()), float(y_b.sum())
    if not n_a or not n_b:
        return None, None, None
    if not c_a or not c_b:
        c_a, c_b, n_a, n_b = c_a + 0.5, c_b + 0.5, n_a + 0.5, n_b + 0.5
    ratio = (c_a / n_a) / (c_b / n_b)
    se = math.sqrt(max(1 / c_a - 1 / n_a + 1 / c_b - 1 / n_b, 0.0))
    return ratio, ratio * math.exp(-1.96 * se), ratio * math.exp(1.96 * se)


def propose_cap(hits: np.ndarray, y: np.ndarray, current_cap: float | None, direction: int) -> dict[str, Any]:
    """The hit count at which a rule's effect stops growing, from outcomes. From k = 1 on, the examples
    with exactly k hits are compared with those with more than k: the effect grows at k when the
    conversion rate of "more" over "exactly k" has its 95 % interval above 1 (below 1 for a rule that
    lowers conversion, ``direction`` -1), with ``MIN_SUPPORT`` examples on each side. The first k where
    it does not grow is where more hits stop adding: ``data_cap``. The proposed cap (in hits):

    * above the current one when the effect grew through it (more hits earn more);
    * below it only when the hits beyond ``data_cap`` convert no better (no worse, for ``direction``
      -1) than exactly ``data_cap``, with support on both sides: points for nothing;
    * else the current cap (too few examples with many hits say nothing either way); a rule without
      a total cap keeps none.

    Returns the proposal with the comparison where the walk stopped: examples with exactly ``data_cap``
    hits and with more, their rates, the ratio and its interval, and the reason (``no_growth``,
    ``no_support``, ``limit``)."""
    k, reason = 1, "limit"
    while True:
        at, beyond = hits == k, hits > k
        ratio, low, high = _rate_ratio(y[beyond], y[at])
        if at.sum() < sm.MIN_SUPPORT or beyond.sum() < sm.MIN_SUPPORT:
            reason = "no_support"
            break
        grows = (low is not None and low > 1) if direction > 0 else (high is not None and high < 1)
        if not grows:
            reason = "no_growth"
            break
        if k + 1 >= MAX_CAP_HITS:
            break
        k += 1
    proposed = current_cap
    if current_cap is not None and k > current_cap:
        proposed = float(k)
    elif (
        current_cap is not None
        and k < current_cap
        and reason == "no_growth"
        and ratio is not None
        and (ratio <= 1 if direction > 0 else ratio >= 1)
    ):
        proposed = float(k)
    return {
        "current_cap_hits": current_cap,
        "proposed_cap_hits": proposed,
        "data_cap_hits": k,
        "cap_reason": reason,
        "examples_at_cap": int(at.sum()),
        "examples_beyond_cap": int(beyond.sum()),
        "conversion_rate_at_cap": float(y[at].mean()) if at.any() else None,
        "conversion_rate_beyond_cap": float(y[beyond].mean()) if beyond.any() else None,
        "beyond_cap_ratio": ratio,
        "beyond_cap_ratio_ci_low": low,
        "beyond_cap_ratio_ci_high": high,
    }


def _set_caps(table: pd.DataFrame, i: Any, rule: pd.Series, points: int, cap_hits: float | None) -> None:
    """Row ``i`` of ``table`` at ``points`` per hit: with a new total cap (``cap_hits`` differs from the
    current one) ``max_points`` = points x cap_hits, and the day's cap lets as many hits count when the
    cap rises (the hit count the cap was measured on counts hits on any day), at most that many when it
    falls; otherwise both caps scale with the points as they were."""
    current = cap_in_hits(rule["points"], rule["max_points"])
    if cap_hits is None or current is None or cap_hits == current:
        scale = points / rule["points"] if rule["points"] else 1.0
        for cap in ("max_points_per_day", "max_points"):
            if pd.notna(rule[cap]):
                table.at[i, cap] = int(round(rule[cap] * scale))
        return
    table.at[i, "max_points"] = int(round(points * cap_hits))
    if pd.notna(rule["max_points_per_day"]):
        per_day = abs(float(rule["max_points_per_day"]) / float(rule["points"]))
        day_hits = cap_hits if cap_hits > current else min(per_day, cap_hits)
        table.at[i, "max_points_per_day"] = int(round(points * day_hits))


def _cap_factor(hits: np.ndarray, old: float | None, new: float | None) -> np.ndarray:
    """min(hits, new cap) / min(hits, old cap): how a rule's capped hits change with its cap."""
    if old == new:
        return np.ones(len(hits))
    capped_old = np.minimum(hits, old if old is not None else np.inf)
    capped_new = np.minimum(hits, new if new is not None else np.inf)
    return np.divide(capped_new, capped_old, out=np.ones(len(hits)), where=capped_old > 0)


# Count tiers (issue 13, eighteenth pass): a rule gives points per hit up to its caps, so it says
# whether more than how much; a tier is a rule of the same conditions that fires once the rule's hit
# count reaches k (min_count = k x the rule's min_count: one hit, its points at most once), with
# points of its own. Only for the signals whose min_count counts the rule's qualifying events (a
# session rule's min_count is one session's depth).
TIER_SIGNALS = ("event", "sales_activity", "email_delivery")
TIER_SET = "count_tier"  # rule_set of a tier the command proposes; a tier is never tiered again
TIER_QUANTILES = (0.5, 0.8)  # of the hit counts above one: where the tiers after the second hit start
TIER_COLUMNS = ("tier_of", "tier_hits")  # rules.csv: the rule a tier counts, and from how many hits


def tier_id(rule_id: str, hits: int) -> str:
    """The id of ``rule_id``'s tier from ``hits`` hits on."""
    return f"{rule_id}_{hits}plus"


def tier_base(rule_id: str) -> tuple[str, int] | None:
    """:func:`tier_id` read back: (the rule a tier id counts, from how many hits), None for an id of
    another shape (whether the row is a tier at all is its rule_set's, TIER_SET)."""
    base, _, count = rule_id.removesuffix("plus").rpartition("_")
    return (base, int(count)) if rule_id.endswith("plus") and base and count.isdigit() else None


def tier_thresholds(hits: np.ndarray) -> list[int]:
    """Where a rule's count tiers start, from its hit counts on the fit examples: two hits, and the
    median and 80th percentile of the counts above one (distinct). Whether a tier has the support
    and contrast to earn points is judged afterwards, as for any rule."""
    many = np.asarray(hits, dtype=float)
    many = many[many > 1]
    if not len(many):
        return []
    return sorted({2, *(int(np.floor(np.quantile(many, q))) for q in TIER_QUANTILES)})


def tiers_in(current: pd.DataFrame, table: pd.DataFrame) -> dict[str, tuple[str, int]]:
    """The count tiers of ``table`` that ``current`` does not have: tier id -> (the current rule it
    counts, from how many hits), read from the tier's rule_set and id (:func:`tier_id`)."""
    known = set(current["rule_id"])
    found: dict[str, tuple[str, int]] = {}
    if "rule_set" not in table:  # a points table without rule sets (the bench's, a test's) holds no tier
        return found
    for _, rule in table.loc[table["rule_set"] == TIER_SET].iterrows():
        tier = tier_base(str(rule["rule_id"]))
        if rule["rule_id"] not in known and tier is not None and tier[0] in known:
            found[str(rule["rule_id"])] = tier
    return found


def tier_values(wide: pd.DataFrame, base: str, hits: int) -> np.ndarray:
    """A tier's decayed hit per example: 1 where ``base`` fired ``hits`` times or more (its hit count,
    :func:`hit_counts`), decayed as the rule's hits were (``rule:<base>``, at most one hit's worth).
    The build decays a tier from the last qualifying event, no more than this: an approximation."""
    column = f"rule:{base}"
    decayed = wide[column].to_numpy(dtype=float) if column in wide else np.zeros(len(wide))
    counts = hit_counts(wide, [base])[base].to_numpy()
    return np.where(counts >= hits, np.minimum(np.abs(decayed), 1.0), 0.0)


def tier_row(rule: pd.Series, hits: int, points: int) -> dict[str, Any]:
    """The seed row of ``rule``'s tier from ``hits`` hits: the rule's conditions, min_count ``hits``
    times the rule's (one hit per that many qualifying events in its window), ``points`` once (both
    caps), no cap group, enabled."""
    count = int(rule["min_count"]) if pd.notna(rule["min_count"]) else 1
    return rule.to_dict() | {
        "rule_id": tier_id(str(rule["rule_id"]), hits),
        "rule_set": TIER_SET,
        "is_enabled": True,
        "cap_group": None,
        "description": f"{rule['description']} {hits}+ times",
        "description_zh": f"{rule['description_zh']} {hits}次以上",
        "min_count": count * hits,
        "points": points,
        "max_points_per_day": points,
        "max_points": points,
    }


def _cap_of(table: pd.DataFrame, rule: str) -> float | None:
    """A rule's total cap in hits in ``table`` (indexed by rule_id); a table without caps: none."""
    return cap_in_hits(table.at[rule, "points"], table.at[rule, "max_points"]) if "max_points" in table else None


def rule_values(wide: pd.DataFrame, current: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Each rule's decayed hits (``rule:<id>`` columns of ``wide``, under the ``current`` table's caps)
    as they would be under ``table``'s caps: rule:<id> x min(hits, new cap) / min(hits, current cap),
    caps in hits (:func:`cap_in_hits`, hit counts :func:`hit_counts`). Decay is kept as it was."""
    old, new = current.set_index("rule_id"), table.set_index("rule_id")
    hits = hit_counts(wide, list(old.index))
    values = {}
    for rule in old.index:
        x = wide[f"rule:{rule}"].to_numpy(dtype=float) if f"rule:{rule}" in wide else np.zeros(len(wide))
        factor = _cap_factor(hits[rule].to_numpy(), _cap_of(old, rule), _cap_of(new, rule))
        values[f"rule:{rule}"] = x * factor
    return pd.DataFrame(values, index=wide.index)


def proposed_score(
    current_score: np.ndarray, wide: pd.DataFrame, current: pd.DataFrame, table: pd.DataFrame
) -> np.ndarray:
    """The score ``table`` gives, from the score the ``current`` table gave: plus each rule's points x
    its decayed hits under ``table``'s caps (:func:`rule_values`), minus the same under the current
    table (a disabled rule: 0 points). The cap groups are not re-applied: an approximation of what the
    next build computes."""

    def effective(t: pd.DataFrame) -> pd.Series:
        t = t.set_index("rule_id")
        return t["points"].astype(float).where(t["is_enabled"].astype(bool), 0.0)

    before = wide.reindex(columns=[f"rule:{r}" for r in current["rule_id"]], fill_value=0.0).to_numpy(dtype=float)
    after = rule_values(wide, current, table).to_numpy()
    old_points = effective(current).reindex(current["rule_id"]).to_numpy()
    new_points = effective(table).reindex(current["rule_id"]).to_numpy()
    # the points' change on the current hits, then the caps' change (exactly 0 where no cap changed, so
    # tied scores stay tied), then the new count tiers' points (tiers_in)
    score = np.asarray(current_score, dtype=float) + before @ (new_points - old_points) + (after - before) @ new_points
    tier_points = effective(table)
    for tier, (base, hits) in tiers_in(current, table).items():
        score = score + tier_points[tier] * tier_values(wide, base, hits)
    return score


def rare_with_evidence(contrast: dict[str, dict[str, Any]], seed: pd.DataFrame) -> list[str]:
    """The rules too rare for the support gate (``no_support``: fewer than ``scoring_model.MIN_SUPPORT``
    examples, yet above the contrast floor) whose lift's 95 % interval lies wholly above or below 1 on
    the fit examples: evidence of an effect that the count of examples alone does not show. Never a
    rule without contrast, one that leaks the outcome, nor a count tier. (Issue 13, twentieth pass: in
    ``sales_led`` 2026 the opportunity stage rule fired for 27 fit leads with a lift of 5.3 and the
    gate alone cost the table 0.045 of test AUC.)"""
    tiers = set(seed.loc[seed["rule_set"] == TIER_SET, "rule_id"]) if "rule_set" in seed else set()
    return [
        rule
        for rule, p in contrast.items()
        if p["flag"] == "no_support"
        and rule not in tiers
        and (
            (p["lift_ci_low"] is not None and p["lift_ci_low"] > 1)
            or (p["lift_ci_high"] is not None and p["lift_ci_high"] < 1)
        )
    ]


Fitted = tuple[float, np.ndarray, float, bool, np.ndarray]  # adjust_points' result


def beats(fitted: Fitted, challenger: Fitted) -> bool:
    """``challenger``'s fit beats ``fitted`` on the same forward blocks by one standard error of the
    paired per-example difference of their held-out losses (``sm.beats_by_one_standard_error``)."""
    return len(fitted[4]) == len(challenger[4]) and sm.beats_by_one_standard_error(fitted[4] - challenger[4])


def admit_rare_rules(
    fitted: Fitted, offset: np.ndarray, x: pd.DataFrame, y: np.ndarray, ok: list[str], rare: list[str]
) -> tuple[Fitted, list[str]]:
    """The rare rules with evidence (``rare``, columns of ``x``) that join the points' fit ``fitted``
    (on the columns ``ok``), one at a time: each round every rule left is tried on top of the fit so
    far; of those whose fit adjusts the table (not relearned: a relearned table has no place for them)
    and beats it on the forward blocks by one standard error of the paired difference, the one with
    the largest mean gain joins, until none does. Returns the fit and the rules taken, in order.
    (Issue 13, salesled: judged all together, one rule without held-out lift (``trial_request`` in
    ``sales_led`` 2026 at 98 days, negative in the oldest blocks) kept out one with it
    (``opportunity_qualified``: 10 of 10 held-out hits converted), the calibrated table 0.586 against
    0.673.)"""
    taken: list[str] = []
    left = list(rare)
    while left and ok and not fitted[3]:
        gains = {}
        for rule in left:
            challenger = adjust_points(offset, x[ok + taken + [rule]].to_numpy(), y)
            if not challenger[3] and beats(fitted, challenger):
                gains[rule] = (float((fitted[4] - challenger[4]).mean()), challenger)
        if not gains:
            break
        best = max(gains, key=lambda rule: gains[rule][0])
        fitted = gains[best][1]
        taken.append(best)
        left.remove(best)
    return fitted, taken


@sm.single_threaded
def propose(
    examples: pd.DataFrame,
    features: pd.DataFrame,
    seed: pd.DataFrame,
    *,
    grades: str = DEFAULT_GRADES,
    points_per_doubling: float = 20,
    count_tiers: bool = False,
    rare_rules: bool = True,
) -> dict[str, Any]:
    """The proposal: ``rules`` (DataFrame), ``seed`` (the proposed seed), ``backtest`` (dict),
    ``thresholds`` (vars). With ``count_tiers``, count tiers of the rules are proposed too (taken
    only when they beat the table without them on held-out time; off by default: issue 13's
    eighteenth pass measured them taken in no world-seed). With ``rare_rules``, the rules with
    too few examples whose lift is clear of 1 may join the points' fit (:func:`rare_with_evidence`).
    Pure: no files."""
    grade_option = parse_grades(grades)
    if examples.empty:
        raise ValueError("no labelled examples (lead_conversion_examples with a closed window): nothing to calibrate")
    labels = examples.rename(columns={"scored_at": "as_of_at"})
    ordered = labels.sort_values(["as_of_at", "example_id"], kind="mergesort").reset_index(drop=True)
    n_test = round(len(ordered) * TEST_SHARE)
    fit, test = ordered.iloc[: len(ordered) - n_test], ordered.iloc[len(ordered) - n_test :]
    rule_columns = [f"rule:{r}" for r in seed["rule_id"]]
    hit_columns = [f"{HITS_PREFIX}{r}" for r in seed["rule_id"]]
    wide = features.pivot_table(index="example_id", columns="feature", values="value", aggfunc="sum")
    wide = wide.reindex(index=ordered["example_id"], columns=rule_columns + hit_columns).fillna(0.0)
    wide_fit, wide_test = wide.iloc[: len(fit)], wide.iloc[len(fit) :]
    y_fit, y_test = fit["label"].to_numpy(dtype=int), test["label"].to_numpy(dtype=int)

    # contrast and support per rule (the flags), then the caps the fit examples' hit counts support
    contrast = {p["rule_id"]: p for p in sm.learn_points(wide_fit[rule_columns], y_fit, points_per_doubling)}
    outcome = outcome_rules(examples, seed)
    contrast = {r: p | {"flag": OUTCOME_FLAG} if r in outcome else p for r, p in contrast.items()}
    hits_fit = hit_counts(wide_fit, list(seed["rule_id"]))
    caps: dict[str, dict[str, Any]] = {}
    recapped = seed.copy()
    for i, rule in seed.iterrows():
        p = contrast[rule["rule_id"]]
        if p["flag"] != "ok" or rule["signal"] not in CAP_SIGNALS or p["lift"] is None or rule["rule_set"] == TIER_SET:
            continue  # never more (or fewer) hits for a rule without contrast or support, nor for a tier
        caps[rule["rule_id"]] = propose_cap(
            hits_fit[rule["rule_id"]].to_numpy(),
            y_fit,
            cap_in_hits(rule["points"], rule["max_points"]),
            1 if p["lift"] >= 1 else -1,
        )
        _set_caps(recapped, i, rule, int(rule["points"]), caps[rule["rule_id"]]["proposed_cap_hits"])
    current_fit = fit["current_score"].to_numpy(dtype=float)
    ok = [c for c in rule_columns if contrast[c.removeprefix("rule:")]["flag"] == "ok"]
    no_fit = (1.0, np.zeros(len(ok)), 0.0, False, np.zeros(0))
    # the points learned with the current caps and with the proposed ones (the current score recapped,
    # the rules' hits under the new caps); the new caps are taken only when their points beat the
    # others on the forward blocks' held-out examples by more than one standard error
    x_fit = wide_fit[rule_columns]
    fitted = adjust_points(current_fit, x_fit[ok].to_numpy(), y_fit) if ok else no_fit
    offset_fit = current_fit  # the score the chosen points adjust (the current one, or recapped)
    caps_taken = False
    if any(c["proposed_cap_hits"] != c["current_cap_hits"] for c in caps.values()):
        x_recapped = rule_values(wide_fit, seed, recapped)
        recapped_fit = proposed_score(current_fit, wide_fit, seed, recapped)
        challenger = adjust_points(recapped_fit, x_recapped[ok].to_numpy(), y_fit)
        if beats(fitted, challenger):
            fitted, x_fit, caps_taken, offset_fit = challenger, x_recapped, True, recapped_fit
    # count tiers of the rules with contrast and support (tier_thresholds), each judged for support and
    # contrast like a rule; the ones that pass join the points' fit on the current caps (a tier is a
    # step of its own: with a rule capped at one hit, its tiers make a step function of the count), an
    # alternative to the new caps: taken only when that fit beats the points chosen so far (with the
    # current caps or the new ones) on the forward blocks by one standard error; then the caps stay
    tiers: dict[str, tuple[str, int]] = {}
    for _, rule in seed.iterrows():
        if (
            count_tiers
            and contrast[rule["rule_id"]]["flag"] == "ok"
            and rule["signal"] in TIER_SIGNALS
            and rule["rule_set"] != TIER_SET
        ):
            for count in tier_thresholds(hits_fit[rule["rule_id"]].to_numpy()):
                if tier_id(rule["rule_id"], count) not in set(seed["rule_id"]):
                    tiers[tier_id(rule["rule_id"], count)] = (rule["rule_id"], count)
    tier_wide = pd.DataFrame(
        {f"rule:{t}": tier_values(wide, base, count) for t, (base, count) in tiers.items()}, index=wide.index
    )
    tier_contrast = {p["rule_id"]: p for p in sm.learn_points(tier_wide.iloc[: len(fit)], y_fit, points_per_doubling)}
    ok_tiers = [f"rule:{t}" for t in tiers if tier_contrast[t]["flag"] == "ok"]
    tiers_taken = False
    if ok_tiers and ok:
        x_tiered = pd.concat([wide_fit[rule_columns], tier_wide.iloc[: len(fit)]], axis=1)
        challenger = adjust_points(current_fit, x_tiered[ok + ok_tiers].to_numpy(), y_fit)
        if beats(fitted, challenger):
            fitted, x_fit, ok, tiers_taken, caps_taken = challenger, x_tiered, ok + ok_tiers, True, False
            offset_fit = current_fit
    # rare rules with evidence join the fit of the points chosen so far one at a time, each only when
    # it beats that fit on the forward blocks by one standard error (admit_rare_rules)
    rare = [f"rule:{r}" for r in rare_with_evidence(contrast, seed)] if rare_rules else []
    fitted, taken = admit_rare_rules(fitted, offset_fit, x_fit, y_fit, ok, rare)
    ok, rare_taken = ok + taken, bool(taken)
    admitted = {c.removeprefix("rule:") for c in taken}
    candidate_caps = caps
    if not caps_taken:
        caps = {r: c | {"proposed_cap_hits": c["current_cap_hits"]} for r, c in caps.items()}
    learned = {p["rule_id"]: p for p in sm.learn_points(x_fit, y_fit, points_per_doubling)}
    refused = {"flag": OUTCOME_FLAG, "suggested_points": None}
    learned = {r: p | refused if r in outcome else p for r, p in learned.items()}
    s, change, penalty, relearn, _ = fitted
    # adjust the current table, or (it does not rank, or fresh points are clearly better) relearn them
    method = "relearned" if relearn else "adjusted"
    adjustment = dict(zip(ok, change, strict=True))
    rows, proposed = [], seed.copy()
    for i, rule in seed.iterrows():
        p = learned[rule["rule_id"]]
        new_points = p["suggested_points"]
        fits = p["flag"] == "ok" or rule["rule_id"] in admitted  # a rare rule with evidence, taken
        if fits and method == "adjusted":
            awarded = rule["points"] if rule["is_enabled"] else 0
            new_points = int(round(awarded + adjustment[f"rule:{rule['rule_id']}"]))
        if fits:
            enabled = new_points not in (None, 0)
        elif p["flag"] == "no_contrast" and p["share_with_rule"] >= sm.MAX_SHARE:
            enabled = False  # fires for (nearly) everybody: points for nothing
        elif p["flag"] == OUTCOME_FLAG:
            enabled, new_points = False, None  # its stage is the conversion itself: never scores
        else:
            # too rare to learn from (no support, or <= 0.5 %): never given learned points, the current
            # points stand until the data says more
            enabled, new_points = bool(rule["is_enabled"]), None
        points = int(new_points) if new_points not in (None, 0) and enabled else int(rule["points"])
        cap = caps.get(rule["rule_id"], {})
        proposed.at[i, "points"] = points
        proposed.at[i, "is_enabled"] = bool(enabled)
        _set_caps(proposed, i, rule, points, cap.get("proposed_cap_hits"))
        rows.append(
            {
                "rule_id": rule["rule_id"],
                "current_points": int(rule["points"]),
                "current_enabled": bool(rule["is_enabled"]),
                "proposed_points": points if enabled else None,
                "learned": new_points is not None and enabled,
                "proposed_enabled": bool(enabled),
            }
            | {k: p[k] for k in ("flag", "examples_with_rule", "share_with_rule", "conversion_rate_with_rule")}
            | {k: p[k] for k in ("lift", "lift_ci_low", "lift_ci_high", "coefficient")}
            | {"current_cap_hits": cap_in_hits(rule["points"], rule["max_points"])}
            | {k: cap.get(k) for k in CAP_COLUMNS}
        )
    tier_rows = []
    for tier, (base, count) in tiers.items():
        p = learned.get(tier, tier_contrast[tier] | {"suggested_points": None, "coefficient": None})
        new_points = None
        if tiers_taken and p["flag"] == "ok":
            new_points = int(round(adjustment[f"rule:{tier}"])) if method == "adjusted" else p["suggested_points"]
        enabled = new_points not in (None, 0)
        if enabled:
            tier_rows.append(tier_row(seed.loc[seed["rule_id"] == base].iloc[0], count, int(new_points)))
        rows.append(
            {"rule_id": tier, "current_points": 0, "current_enabled": False,
             "proposed_points": new_points if enabled else None, "learned": enabled, "proposed_enabled": enabled}
            | {k: p[k] for k in ("flag", "examples_with_rule", "share_with_rule", "conversion_rate_with_rule")}
            | {k: p[k] for k in ("lift", "lift_ci_low", "lift_ci_high", "coefficient")}
            | {"current_cap_hits": None, "tier_of": base, "tier_hits": count}
        )  # fmt: skip
    if tier_rows:
        proposed = pd.concat([proposed, pd.DataFrame(tier_rows, columns=proposed.columns)], ignore_index=True)
    rules = pd.DataFrame(rows)

    current_test = test["current_score"].to_numpy(dtype=float)
    scores = {
        "current": (current_fit, current_test),
        "proposed": (
            proposed_score(current_fit, wide_fit, seed, proposed),
            proposed_score(current_test, wide_test, seed, proposed),
        ),
    }
    backtest: dict[str, Any] = {
        "examples": len(ordered),
        "fit_examples": len(fit),
        "test_examples": len(test),
        "test_from": str(test["as_of_at"].min()) if len(test) else None,
        "test_conversions": int(y_test.sum()),
        "grades": grades,
        "method": method,
        # the caps the fit examples' hit counts support (rule: [current, proposed] hits), and whether
        # their points beat the current caps' on the forward blocks by one standard error (taken)
        "caps_from_data": {
            r: [c["current_cap_hits"], c["proposed_cap_hits"]]
            for r, c in candidate_caps.items()
            if c["proposed_cap_hits"] != c["current_cap_hits"]
        },
        "caps_taken": caps_taken,
        # the count tiers with support and contrast (tier: [rule, from hits]), and whether their points
        # beat the table without them on the forward blocks by one standard error (taken)
        "tiers_from_data": {t.removeprefix("rule:"): list(tiers[t.removeprefix("rule:")]) for t in ok_tiers},
        "tiers_taken": tiers_taken,
        # the rare rules whose lift is clear of 1 (rare_with_evidence; with rare_rules), and whether
        # their points beat the table without them on the forward blocks by one standard error (taken)
        "rare_rules_from_data": [c.removeprefix("rule:") for c in rare],
        "rare_rules_taken": rare_taken,
        "rare_rules_admitted": [c.removeprefix("rule:") for c in taken],  # in the order they joined
        "current_score_scale": s,
        "penalty": penalty,
    }
    cuts = {}
    for name, (s_fit, s_test) in scores.items():
        option = (
            ("points", *_current_thresholds()) if name == "current" and grade_option[0] == "points" else grade_option
        )
        cuts[name] = thresholds(s_fit, y_fit, option)
        rates = grade_rates(s_test, y_test, cuts[name])
        ece, calibration_method = (
            _calibrated_ece(s_fit, y_fit, s_test, y_test)
            if 0 < y_fit.sum() < len(y_fit) and len(y_test)
            else (None, None)
        )
        backtest[name] = {
            "roc_auc": _auc(y_test, s_test),
            "grade_ratio": rates.pop("grade_ratio"),
            "grades": rates,
            "high_intent_threshold": cuts[name][0],
            "potential_threshold": cuts[name][1],
            "ece": ece,
            "calibration_method": calibration_method,
        }
    backtest["zero_contrast_points"] = int(
        ((rules["flag"] == "no_contrast") & rules["learned"]).sum()
        + sum(1 for p in learned.values() if p["flag"] == "no_contrast" and p["suggested_points"] is not None)
    )
    proposed_cuts = {
        "high_intent_threshold": math.ceil(cuts["proposed"][0]),
        "potential_threshold": math.ceil(cuts["proposed"][1]),
    }
    return {"rules": rules, "seed": proposed, "backtest": backtest, "thresholds": proposed_cuts}


def _current_thresholds() -> tuple[float, float]:
    """The vars high_intent_threshold and potential_threshold of dbt_project.yml."""
    from intent_pipeline.rules_check import project_vars

    found = project_vars()
    return float(found["high_intent_threshold"]), float(found["potential_threshold"])


def _seed_cell(value: Any) -> Any:
    """A number of the seed as the repository writes it (no .0 on an integer, empty for none)."""
    if not isinstance(value, float):
        return value
    return "" if pd.isna(value) else str(int(value)) if value.is_integer() else str(value)


def seed_csv(seed: pd.DataFrame) -> str:
    """The seed as the repository writes it (booleans lower-case, integers without .0)."""
    out = seed.copy()
    for column in out.columns:
        if out[column].dtype == bool or column == "is_enabled":
            out[column] = out[column].map(lambda v: "true" if bool(v) else "false")
        elif pd.api.types.is_float_dtype(out[column]) or out[column].dtype == object:
            # an object column: a count tier's row (tier_row) beside the seed's floats
            out[column] = out[column].map(_seed_cell)
    return out.to_csv(index=False, lineterminator="\n")


def read_seed(path: Path) -> pd.DataFrame:
    seed = pd.read_csv(path, dtype={"rule_id": str}, keep_default_na=False, na_values=[""])
    seed["is_enabled"] = seed["is_enabled"].astype(str).str.lower().eq("true")
    return seed


def write(result: dict[str, Any], seed_path: Path, out: Path) -> dict[str, Path]:
    """Write rules.csv, scoring_rules.proposed.csv, scoring_rules.diff and backtest.json into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    current = seed_path.read_text(encoding="utf-8")
    proposed = seed_csv(result["seed"])
    files = {
        "rules": out / "rules.csv",
        "seed": out / "scoring_rules.proposed.csv",
        "diff": out / "scoring_rules.diff",
        "backtest": out / "backtest.json",
    }
    result["rules"].to_csv(files["rules"], index=False)
    files["seed"].write_text(proposed, encoding="utf-8")
    diff = difflib.unified_diff(
        current.splitlines(keepends=True),
        proposed.splitlines(keepends=True),
        fromfile=str(seed_path),
        tofile=str(files["seed"]),
    )
    files["diff"].write_text("".join(diff), encoding="utf-8")
    report = result["backtest"] | {"proposed_vars": result["thresholds"]}
    files["backtest"].write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return files


def main(argv: list[str] | None = None) -> int:
    from intent_pipeline.settings import DBT_PROJECT_DIR, Settings

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["window"]:  # the conversion window from the history (intent_pipeline.conversion_window)
        from intent_pipeline import conversion_window

        return conversion_window.main(argv[1:])

    parser = argparse.ArgumentParser(prog="python -m intent_pipeline.scoring_calibration", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--warehouse", type=Path, help="DuckDB file (default: INTENT_WAREHOUSE)")
    parser.add_argument("--seed", type=Path, default=DBT_PROJECT_DIR / "seeds" / "scoring_rules.csv")
    parser.add_argument("--out", type=Path, help="output folder (default: <reports>/scoring_calibration)")
    parser.add_argument(
        "--grades", default=DEFAULT_GRADES, help=f"share:H,P, rate:H,P or points:H,P ({DEFAULT_GRADES})"
    )
    parser.add_argument("--points-per-doubling", type=float, default=20)
    parser.add_argument(
        "--count-tiers",
        action="store_true",
        help="also propose count tiers of the rules (<rule_id>_<k>plus), taken when held-out time says so",
    )
    parser.add_argument(
        "--rare-rules",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="rules with too few examples but a lift clear of 1 may join the points' fit, taken when held-out "
        "time says so (on by default; --no-rare-rules: the support gate alone)",
    )
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    warehouse = args.warehouse or settings.warehouse
    try:
        parse_grades(args.grades)
        if not Path(warehouse).exists():
            raise ValueError(f"no warehouse at {warehouse}: run the pipeline (dbt build) first")
        examples, features = load(Path(warehouse))
        result = propose(
            examples,
            features,
            read_seed(args.seed),
            grades=args.grades,
            points_per_doubling=args.points_per_doubling,
            count_tiers=args.count_tiers,
            rare_rules=args.rare_rules,
        )
    except ValueError as exc:
        parser.error(str(exc))
    files = write(result, args.seed, args.out or settings.reports_dir / "scoring_calibration")
    print(result["rules"].to_string(index=False), file=sys.stderr)
    print(f"proposed seed: {files['seed']}\nreview: {files['diff']}", file=sys.stderr)
    print(json.dumps(result["backtest"] | {"proposed_vars": result["thresholds"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
