"""The model that does not give up (issue 13): fallbacks in steps, named; rules without contrast
never get points."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from intent_pipeline import scoring_model as sm

TRAINED_AT = datetime(2026, 1, 15, 3, 0, tzinfo=UTC)


def leads(n: int, seed: int, *, signal: float, score_signal: float, base: float = -2.5, noise_features: int = 3):
    """Labels and long features: ``signal`` is the weight of one real feature, ``score_signal`` that
    of the rule score (feature lead_score, points 0..90); the rest is noise."""
    rng = np.random.default_rng(seed)
    real = rng.poisson(1.0, n).astype(float)
    points = rng.choice([0, 10, 20, 30, 45, 60, 90], n).astype(float)
    logit = base + signal * real + score_signal * points / 30
    y = rng.binomial(1, 1 / (1 + np.exp(-logit)))
    ids = [f"e{i:05d}" for i in range(n)]
    columns = {"rule:real": real, "lead_score": points}
    for k in range(noise_features):
        columns[f"log_noise_{k}"] = np.log1p(rng.poisson(2.0, n)).astype(float)
    wide = pd.DataFrame(columns, index=ids)
    labels = pd.DataFrame(
        {
            "example_id": ids,
            "person_id": ids,
            "as_of_at": (pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.uniform(0, 365, n), unit="D")).floor("s"),
            "label": y,
        }
    )
    long = wide.rename_axis("example_id").reset_index().melt(id_vars="example_id", var_name="feature")
    return labels, long[long["value"] != 0].reset_index(drop=True), wide


def test_a_strong_signal_is_the_plain_model():
    labels, features, _ = leads(4000, 1, signal=1.0, score_signal=0.0)
    model = sm.train(labels, features, trained_at=TRAINED_AT)
    assert model["status"] == "approved" and model["method"] == "logistic", model["reason"]
    assert [a["method"] for a in model["attempts"]] == ["logistic"]
    assert "lead_score" not in {f["feature"] for f in model["features"]}  # the rule score is no signal feature


def test_weak_signals_fall_back_to_the_rule_score_calibrated_and_say_so():
    # the web features carry nothing; the rule score carries the intent
    labels, features, wide = leads(4000, 2, signal=0.0, score_signal=1.2)
    model = sm.train(labels, features, min_auc=0.9, trained_at=TRAINED_AT)
    assert model["status"] == "approved"
    assert model["method"] == "rule_score_calibrated"
    assert [a["method"] for a in model["attempts"]] == ["logistic", "regularised", "fewer_features"]
    assert all(a["roc_auc"] < 0.9 for a in model["attempts"])
    assert model["reason"].startswith("fallback rule_score_calibrated"), model["reason"]
    assert [f["feature"] for f in model["features"]] == ["lead_score"]
    # probabilities for everybody, increasing with the score, and calibrated on held-out time
    p = sm.score(sm.to_dbt_var(model), wide)
    assert np.isfinite(p).all() and ((0 < p) & (p < 1)).all()
    by_points = pd.Series(p, index=wide.index).groupby(wide["lead_score"]).mean()
    assert by_points.is_monotonic_increasing and by_points.iloc[-1] > by_points.iloc[0] + 0.2
    assert model["metrics"]["ece"] <= 0.05
    assert model["metrics"]["roc_auc"] > 0.7


def test_too_few_conversions_for_a_learned_model_still_calibrate_the_rule_score():
    labels, features, _ = leads(1500, 3, signal=0.5, score_signal=1.0, base=-5.5)
    conversions = int(labels["label"].sum())
    assert 20 <= conversions < 100, conversions
    model = sm.train(labels, features, trained_at=TRAINED_AT)
    assert model["status"] == "approved" and model["method"] == "rule_score_calibrated"
    assert model["attempts"] == []
    assert f"only {conversions} conversions" in model["reason"]


def test_without_a_rule_score_weak_data_is_rejected_or_refused_as_before():
    labels, features, _ = leads(4000, 4, signal=0.0, score_signal=1.2)
    without = features[features["feature"] != "lead_score"]
    model = sm.train(labels, without, min_auc=0.9, trained_at=TRAINED_AT)
    assert model["status"] == "rejected" and model["method"] == "logistic"
    assert "no rule score to fall back on" in model["reason"]
    with pytest.raises(ValueError, match="rejected"):
        sm.to_dbt_var(model)
    few = labels.copy()
    few["label"] = 0
    few.loc[few.index[:: len(few) // 40], "label"] = 1
    assert sm.train(few, without, trained_at=TRAINED_AT)["status"] == "refused"


def test_a_middle_step_that_reaches_the_minimum_is_used():
    # many noise features and few examples: the plain model overfits, a penalised one does better
    labels, features, _ = leads(900, 5, signal=0.6, score_signal=0.0, noise_features=120)
    model = sm.train(labels, features, min_auc=0.0, trained_at=TRAINED_AT)
    assert model["method"] == "logistic"  # the first step that passes is taken
    aucs = {}
    for min_auc in (0.0, 1.01):
        record = sm.train(labels, features, min_auc=min_auc, trained_at=TRAINED_AT)
        aucs[min_auc] = {a["method"]: a["roc_auc"] for a in record["attempts"]}
    between = (aucs[1.01]["logistic"] + max(aucs[1.01]["regularised"], aucs[1.01]["fewer_features"])) / 2
    if max(aucs[1.01]["regularised"], aucs[1.01]["fewer_features"]) <= aucs[1.01]["logistic"]:
        pytest.fail(f"the penalised steps did not beat the overfitted one: {aucs[1.01]}")
    chosen = sm.train(labels, features, min_auc=between, trained_at=TRAINED_AT)
    assert chosen["method"] in ("regularised", "fewer_features")
    assert chosen["metrics"]["roc_auc"] >= between
    assert chosen["reason"].startswith(f"fallback {chosen['method']}")


def test_rules_without_contrast_or_support_get_no_points():
    rng = np.random.default_rng(6)
    n = 4000
    x = pd.DataFrame(
        {
            "rule:everybody": (rng.random(n) < 0.97).astype(float),  # fires for 97 %
            "rule:nobody": (rng.random(n) < 0.003).astype(float),  # 0.3 %
            "rule:rare": np.r_[np.ones(25), np.zeros(n - 25)],  # 0.6 %, 25 examples: no support
            "rule:signal": rng.binomial(1, 0.3, n).astype(float),
        }
    )
    y = rng.binomial(1, np.where(x["rule:signal"] > 0, 0.3, 0.08))
    points = {p["rule_id"]: p for p in sm.learn_points(x, y, points_per_doubling=20)}
    assert points["everybody"]["flag"] == "no_contrast" and points["everybody"]["suggested_points"] is None
    assert points["nobody"]["flag"] == "no_contrast" and points["nobody"]["suggested_points"] is None
    assert points["rare"]["flag"] == "no_support" and points["rare"]["suggested_points"] is None
    signal = points["signal"]
    assert signal["flag"] == "ok" and signal["suggested_points"] > 20
    assert signal["lift_ci_low"] > 1 and signal["lift"] == pytest.approx(y[x["rule:signal"] > 0].mean() / y.mean())
    assert list(points)[0] == "signal"  # flagged rules last


def test_a_learned_step_below_the_minimum_is_used_when_it_ranks_better_than_the_rule_score():
    # the rule score is noise, a real feature carries a modest signal: no step reaches 0.99, but the
    # best learned step ranks the held-out calibration slice better than the rule score would
    labels, features, _ = leads(4000, 7, signal=0.5, score_signal=0.0)
    model = sm.train(labels, features, min_auc=0.99, trained_at=TRAINED_AT)
    assert model["status"] == "approved" and model["chosen_over_rule_score"] is True
    assert model["method"] in ("logistic", "regularised", "fewer_features")
    assert model["reason"].startswith(f"fallback {model['method']} over the rule score"), model["reason"]
    assert "lead_score" not in {f["feature"] for f in model["features"]}
    assert model["metrics"]["roc_auc"] > 0.6
    # the other way round (test_weak_signals_...): the rule score carries the intent and is kept
