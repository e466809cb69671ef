"""The lead-conversion model on synthetic leads whose true conversion logit is known."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from intent_pipeline import scoring_model as sm
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

TRUE_INTERCEPT = -2.85
TRUE_COEF = {
    "rule:trial_request": 1.3,
    "rule:pricing_page": 0.7,
    "rule:webinar": 0.35,
    "count:page_view_90d": 0.3,
    "days:since_last_interaction": -0.25,
}
TRAINED_AT = datetime(2026, 1, 15, 3, 0, tzinfo=UTC)


def true_points(feature: str) -> float:
    return TRUE_COEF[feature] * 20 / math.log(2)


def synthetic(n: int = 6000, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Labels, long features (zeros left out, as dbt emits them) and the true probability per example_id."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(
        {
            "rule:trial_request": rng.binomial(1, 0.25, n),
            "rule:pricing_page": rng.poisson(0.5, n),
            "rule:webinar": rng.binomial(1, 0.3, n),
            "count:page_view_90d": np.log1p(rng.poisson(4, n)),
            "days:since_last_interaction": np.log1p(rng.exponential(20, n)),
        }
    ).astype(float)
    p = 1 / (1 + np.exp(-(TRUE_INTERCEPT + x.to_numpy() @ np.array(list(TRUE_COEF.values())))))
    ids = [f"e{i:05d}" for i in range(n)]
    as_of = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.uniform(0, 365, n), unit="D")
    labels = pd.DataFrame(
        {
            "example_id": ids,
            "person_id": [f"p{i:05d}" for i in range(n)],
            "as_of_at": as_of.floor("s"),
            "label": rng.binomial(1, p),
        }
    )
    long = x.assign(example_id=ids).melt(id_vars="example_id", var_name="feature", value_name="value")
    return labels, long[long["value"] != 0].reset_index(drop=True), pd.Series(p, index=ids)


def with_conversions(n: int, conversions: int, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Synthetic leads relabelled so that exactly ``conversions`` of them converted, spread over time."""
    labels, features, _ = synthetic(n, seed)
    order = labels["as_of_at"].argsort().to_numpy()
    labels["label"] = 0
    labels.loc[order[np.linspace(0, n - 1, conversions).astype(int)], "label"] = 1
    return labels, features


@pytest.fixture(scope="module")
def data():
    return synthetic()


@pytest.fixture(scope="module")
def model(data):
    labels, features, _ = data
    return sm.train(labels, features, trained_at=TRAINED_AT)


def test_synthetic_model_is_approved_calibrated_and_close_to_the_truth(data, model):
    labels, features, true_p = data
    assert model["status"] == "approved", model["reason"]
    assert model["n_examples"] == 6000 and 0.10 < model["n_conversions"] / 6000 < 0.15
    prefix, digest = model["version"][:20], model["version"][20:]
    assert prefix == "lcm-20260115T030000-" and len(digest) == 8 and int(digest, 16) >= 0
    json.dumps(model)  # the record is JSON-serialisable as it is

    test = sm.split_by_time(labels, 0.2, 0.2)["test"]
    true_auc = roc_auc_score(test["label"], true_p[test["example_id"]])
    metrics = model["metrics"]
    assert abs(metrics["roc_auc"] - true_auc) <= 0.03
    assert metrics["ece"] <= 0.05
    assert metrics["base_rate"] == pytest.approx(test["label"].mean())
    assert 0 < metrics["brier"] < metrics["base_rate"] * (1 - metrics["base_rate"])  # beats always saying the base rate
    assert 0.5 < metrics["hgb_roc_auc"] < 1 and 0.5 < metrics["train_roc_auc"] < 1

    points = model["learned_points"]
    assert points[0]["rule_id"] == "trial_request"  # the largest true coefficient gets the most points
    assert [p["suggested_points"] for p in points] == sorted((p["suggested_points"] for p in points), reverse=True)
    for p in points:
        assert p["suggested_points"] == round(p["coefficient"] * 20 / math.log(2))
        assert p["odds_ratio"] == pytest.approx(math.exp(p["coefficient"]))
        # ~2.7 sampling standard deviations at 4,800 examples (sd ≈ 2.9 points over 150 seeds)
        assert abs(p["suggested_points"] - true_points(f"rule:{p['rule_id']}")) <= 8


def test_learned_points_recover_the_true_points_within_3():
    """With enough leads (40,000; sd ≈ 0.9 points) the points match coefficient * 20 / ln 2 of the truth."""
    labels, features, _ = synthetic(40_000, seed=7)
    x = sm.wide_features(labels, features)
    points = sm.learn_points(x, labels["label"].to_numpy(), points_per_doubling=20)
    assert [p["rule_id"] for p in points] == ["trial_request", "pricing_page", "webinar"]
    for p in points:
        assert abs(p["suggested_points"] - true_points(f"rule:{p['rule_id']}")) <= 3, p
        with_rule = x[f"rule:{p['rule_id']}"] > 0
        assert p["examples_with_rule"] == with_rule.sum()
        assert p["conversion_rate_with_rule"] == pytest.approx(labels["label"][with_rule.to_numpy()].mean())


def test_too_few_conversions_is_refused_saved_and_never_served(tmp_path):
    labels, features = with_conversions(1000, 50)
    model = sm.train(labels, features, trained_at=TRAINED_AT)
    assert model["status"] == "refused"
    assert "only 50 conversions" in model["reason"] and "at least 100" in model["reason"]
    assert "features" not in model and "intercept" not in model
    assert model["n_conversions"] == 50 and model["n_examples"] == 1000
    with pytest.raises(ValueError, match="refused"):
        sm.to_dbt_var(model)

    folder = sm.save(model, tmp_path)
    assert json.loads((folder / "model.json").read_text(encoding="utf-8"))["status"] == "refused"
    assert pd.read_csv(folder / "learned_points.csv").empty
    assert sm.latest_approved(tmp_path) is None
    assert [h["status"] for h in sm.history(tmp_path)] == ["refused"]


def test_a_slice_without_conversions_is_refused():
    labels, features = with_conversions(2000, 150)
    newest = labels["as_of_at"] >= labels["as_of_at"].quantile(0.75)
    labels.loc[newest, "label"] = 0
    model = sm.train(labels, features, min_conversions=50, trained_at=TRAINED_AT)
    assert model["status"] == "refused"
    assert model["reason"].startswith("the test slice has no conversions"), model["reason"]


def test_split_is_by_time_oldest_train_newest_test(data):
    labels, features, _ = data
    shuffled = labels.sample(frac=1, random_state=3)
    slices = sm.split_by_time(shuffled, 0.2, 0.2)
    assert [len(s) for s in slices.values()] == [3600, 1200, 1200]
    assert slices["test"]["as_of_at"].min() >= slices["calibration"]["as_of_at"].max()
    assert slices["calibration"]["as_of_at"].min() >= slices["train"]["as_of_at"].max()

    # by default the model fits on everything before the test slice (cross-fitted calibration)
    split = sm.train(shuffled, features, trained_at=TRAINED_AT)["split"]
    assert list(split) == ["train", "test"] and [s["n"] for s in split.values()] == [4800, 1200]
    assert split["train"]["to"] <= split["test"]["from"]
    # with a calibration slice of its own, that slice lies between the two
    held = sm.train(shuffled, features, trained_at=TRAINED_AT, calibration="holdout")["split"]
    assert held["train"]["to"] <= held["calibration"]["from"] <= held["calibration"]["to"] <= held["test"]["from"]
    assert held["test"] == split["test"]
    for every in (split, held):
        assert every["train"]["from"] == labels["as_of_at"].min().isoformat()
        assert every["test"]["to"] == labels["as_of_at"].max().isoformat()
        assert sum(s["conversions"] for s in every.values()) == labels["label"].sum()


def test_folded_weights_reproduce_sklearn_on_standardised_features(data, model):
    labels, features, _ = data
    wide = sm.wide_features(labels, features)
    names = [f["feature"] for f in model["features"]]
    mean = np.array([f["mean"] for f in model["features"]])
    std = np.array([f["std"] for f in model["features"]])
    train_ids = sm.split_by_time(labels, model["calibration_share"], model["test_share"])["train"]["example_id"]
    assert len(train_ids) == model["split"]["train"]["n"]
    assert np.allclose(mean, wide.loc[train_ids, names].mean())

    # the same regression, fitted here independently on the standardised train slice, with the L2
    # strength the model chose by cross-validation on that slice (scoring_model.choose_c)
    chosen_c = model["c_choice"]["c"]
    assert chosen_c in sm.C_GRID and model["c_choice"]["folds"] == sm.C_FOLDS and model["attempts"][0]["c"] == chosen_c
    y_train = labels.set_index("example_id").loc[train_ids, "label"]
    reference = LogisticRegression(C=chosen_c, solver="lbfgs", max_iter=1000)
    reference.fit((wide.loc[train_ids, names].to_numpy() - mean) / std, y_train)
    assert np.allclose(reference.coef_[0], [f["coef_standardised"] for f in model["features"]])
    expected_z = reference.decision_function((wide[names].to_numpy() - mean) / std)

    dbt_var = sm.to_dbt_var(model)
    calibration_keys = (
        {"calibration_a", "calibration_c"}
        if model["calibration"]["method"] == "platt"
        else {"calibration_x", "calibration_y"}
    )
    assert set(dbt_var) == {
        "version", "intercept", "calibration_method", "features", "learned_points", "grades"
    } | calibration_keys  # fmt: skip
    assert [p["rule_id"] for p in dbt_var["learned_points"]] == [p["rule_id"] for p in model["learned_points"]]
    assert np.allclose(sm.linear_predictor(dbt_var, wide), expected_z)
    # as SQL does it: a sum over the feature rows that exist, absent features contribute nothing
    weights = {f["feature"]: f["weight"] for f in dbt_var["features"]}
    terms = features["value"] * features["feature"].map(weights)
    sums = terms.groupby(features["example_id"]).sum().reindex(labels["example_id"], fill_value=0.0)
    assert np.allclose(dbt_var["intercept"] + sums.to_numpy(), expected_z)
    if dbt_var["calibration_method"] == "platt":
        calibrated = 1 / (1 + np.exp(-(dbt_var["calibration_a"] * expected_z + dbt_var["calibration_c"])))
    else:
        calibrated = np.interp(expected_z, dbt_var["calibration_x"], dbt_var["calibration_y"])
    assert np.allclose(sm.score(model, wide), calibrated)
    assert np.allclose(sm.score(dbt_var, wide.iloc[:, ::-1]), calibrated)  # columns matched by name


def test_latest_approved_is_the_newest_approved(tmp_path, data):
    labels, features, _ = data
    older = sm.train(labels, features, trained_at=datetime(2026, 1, 1, tzinfo=UTC))
    newer = sm.train(labels, features, trained_at=datetime(2026, 2, 1, tzinfo=UTC))
    refused = sm.train(*with_conversions(1000, 50), trained_at=datetime(2026, 3, 1, tzinfo=UTC))
    for record in (newer, refused, older):
        sm.save(record, tmp_path)
    assert sm.latest_approved(tmp_path)["version"] == newer["version"]
    runs = sm.history(tmp_path)
    assert [r["version"] for r in runs] == [refused["version"], newer["version"], older["version"]]
    assert [r["status"] for r in runs] == ["refused", "approved", "approved"]
    assert runs[1]["metrics"]["roc_auc"] == pytest.approx(newer["metrics"]["roc_auc"])
    assert sm.latest_approved(tmp_path / "missing") is None
    assert sm.history(tmp_path / "missing") == []


def test_weak_model_is_rejected_and_not_exported(data):
    labels, features, _ = data
    model = sm.train(labels, features, min_auc=0.99, trained_at=TRAINED_AT)
    assert model["status"] == "rejected"
    assert "below the minimum of 0.99" in model["reason"]
    with pytest.raises(ValueError, match="rejected"):
        sm.to_dbt_var(model)


@pytest.mark.parametrize(
    "breakage, message",
    [
        (lambda labels, features: labels.assign(label=labels["label"].where(labels.index != 5, 2)), "0 or 1"),
        (lambda labels, features: pd.concat([labels, labels.iloc[[10]]]), "duplicate example_id"),
        (lambda labels, features: labels.drop(columns="as_of_at"), "missing column"),
    ],
    ids=["label-2", "duplicate-example", "missing-column"],
)
def test_malformed_input_raises(data, breakage, message):
    labels, features, _ = data
    with pytest.raises(ValueError, match=message):
        sm.train(breakage(labels.copy(), features), features, trained_at=TRAINED_AT)
