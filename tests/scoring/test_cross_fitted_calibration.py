"""Cross-fitted calibration (issue 13, sixth pass): the model fits on every lead before the test slice
and learns its probability map, the choice between its steps and the grades from those leads'
out-of-fold predictions, instead of holding a calibration slice out of the fit."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from intent_pipeline import scoring_model as sm
from sklearn.metrics import roc_auc_score

TRAINED_AT = datetime(2026, 1, 15, 3, 0, tzinfo=UTC)


def leads(n: int, seed: int, *, signal: float = 0.8, noise_features: int = 3, copies: int = 1, prefix: str = "e"):
    """Labels and long features of ``n`` persons over a year: one real feature of weight ``signal``,
    a rule score, ``noise_features`` noise features; each person has ``copies`` leads with the same
    features and outcome (a person's leads look alike)."""
    rng = np.random.default_rng(seed)
    real = rng.poisson(1.0, n).astype(float)
    y = rng.binomial(1, 1 / (1 + np.exp(-(-2.0 + signal * real))))
    columns = {"rule:real": real, "lead_score": 10.0 * real}
    for k in range(noise_features):
        columns[f"log_noise_{k}"] = rng.normal(0, 1, n)
    when = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.uniform(0, 365, n), unit="D")
    rows, wides = [], []
    for c in range(copies):
        ids = [f"{prefix}{i:05d}-{c}" for i in range(n)]
        rows.append(
            pd.DataFrame(
                {
                    "example_id": ids,
                    "person_id": [f"p{i:05d}" for i in range(n)],
                    "as_of_at": (when + pd.Timedelta(minutes=c)).floor("s"),
                    "label": y,
                }
            )
        )
        wides.append(pd.DataFrame(columns, index=ids))
    labels, wide = pd.concat(rows, ignore_index=True), pd.concat(wides)
    long = wide.rename_axis("example_id").reset_index().melt(id_vars="example_id", var_name="feature")
    return labels, long[long["value"] != 0].reset_index(drop=True)


def test_the_model_fits_on_every_lead_before_the_test_slice():
    labels, features = leads(1500, 1)
    crossed = sm.train(labels, features, trained_at=TRAINED_AT, calibration="cross_fit", c_grid=(1.0,))
    holdout = sm.train(labels, features, trained_at=TRAINED_AT, calibration="holdout", c_grid=(1.0,))

    assert crossed["status"] == "approved" and crossed["method"] == "logistic", crossed["reason"]
    assert crossed["calibration_mode"] == "cross_fit" and crossed["calibration_share"] == 0.0
    assert set(crossed["split"]) == {"train", "test"}
    # the same test slice (the newest 20 %), and the fit takes everything before it: 80 % against 60 %
    assert crossed["split"]["test"] == holdout["split"]["test"]
    assert crossed["split"]["train"]["n"] == 1200 and holdout["split"]["train"]["n"] == 900
    assert crossed["split"]["train"]["to"] <= crossed["split"]["test"]["from"]
    assert crossed["calibration"]["fitted_on"] == "out_of_fold"
    # the bench and the warehouse find the test slice again from the record
    again = sm.split_by_time(labels, crossed["calibration_share"], crossed["test_share"])["test"]
    assert len(again) == crossed["split"]["test"]["n"] == 300


def test_the_probability_map_learns_from_out_of_fold_predictions_not_in_sample_ones():
    # many noise features on few leads: the in-sample predictor is overconfident (too spread), the
    # out-of-fold one is what new leads look like, so a map fitted on it is flatter
    labels, features = leads(700, 2, signal=0.6, noise_features=60)
    model = sm.train(labels, features, trained_at=TRAINED_AT, calibration="cross_fit", c_grid=(1.0,), min_auc=0.5)
    assert model["method"] == "logistic" and model["calibration"]["method"] == "platt", model["reason"]
    fit = sm.split_by_time(labels, 0.0, 0.2)["train"]
    x_fit = sm.wide_features(fit, features)[[f["feature"] for f in model["features"]]]
    y_fit = fit["label"].to_numpy()
    expected = sm.fit_calibration(sm.out_of_fold_z(x_fit, y_fit, fit["person_id"].to_numpy(), 1.0), y_fit)
    assert model["calibration"]["a"] == pytest.approx(expected["a"]) and model["calibration"]["c"] == pytest.approx(
        expected["c"]
    )
    in_sample = sm.fit_calibration(sm.linear_predictor(model, x_fit), y_fit)
    in_sample_a = in_sample["platt"]["a"] if in_sample["method"] == "isotonic" else in_sample["a"]
    assert model["calibration"]["a"] < 0.8 * in_sample_a


def test_out_of_fold_predictions_never_see_the_persons_other_leads():
    # pure noise, each person's outcome and features repeated on five leads: folds by row would put a
    # person's copies on both sides and "predict" the held-out copy from its twin
    labels, features = leads(600, 3, signal=0.0, noise_features=20, copies=5)
    wide = sm.wide_features(labels, features)
    x = wide[[c for c in wide.columns if c != "lead_score"]]
    y = labels["label"].to_numpy()
    by_person = sm.out_of_fold_z(x, y, labels["person_id"].to_numpy(), c=10.0)
    by_row = sm.out_of_fold_z(x, y, labels["example_id"].to_numpy(), c=10.0)
    assert by_person is not None and by_row is not None
    assert roc_auc_score(y, by_person) < 0.6
    assert roc_auc_score(y, by_row) > 0.62  # what the grouping prevents


def test_snapshots_join_the_fit_only_before_the_test_slice():
    labels, features = leads(3000, 4)
    test_from = pd.Timestamp(
        sm.train(labels, features, trained_at=TRAINED_AT, calibration="cross_fit", c_grid=(1.0,))["split"]["test"][
            "from"
        ]
    )
    early, early_features = leads(400, 5, prefix="snap7:")
    early = early.assign(snapshot=True, as_of_at=early["as_of_at"].clip(upper=test_from - pd.Timedelta(days=1)))
    late, late_features = leads(400, 6, prefix="snap30:")
    late = late.assign(snapshot=True, as_of_at=test_from + pd.Timedelta(days=1))
    all_labels = pd.concat([labels.assign(snapshot=False), early, late], ignore_index=True)
    all_features = pd.concat([features, early_features, late_features], ignore_index=True)
    model = sm.train(all_labels, all_features, trained_at=TRAINED_AT, calibration="cross_fit", c_grid=(1.0,))
    assert model["snapshot_examples"] == len(early)
    assert model["split"]["train"]["n"] == 2400 and model["split"]["test"]["n"] == 600


def test_the_rule_score_fallback_is_calibrated_on_the_fit_leads():
    labels, features = leads(1500, 7, signal=0.0)
    rng = np.random.default_rng(8)
    score = pd.DataFrame(
        {
            "example_id": labels["example_id"],
            "feature": "lead_score",
            "value": rng.choice([0.0, 30.0, 60.0], len(labels)),
        }
    )
    features = pd.concat([features[features["feature"] != "lead_score"], score], ignore_index=True)
    model = sm.train(labels, features, trained_at=TRAINED_AT, calibration="cross_fit", min_conversions=10**6)
    assert model["method"] == "rule_score_calibrated" and model["status"] == "approved", model["reason"]
    assert model["grades"]["basis"] == "lead_score"
    assert 0 < sm.score(model, sm.wide_features(labels, features)).min()


def test_an_unknown_calibration_mode_is_an_error():
    labels, features = leads(300, 9)
    with pytest.raises(ValueError, match="calibration must be one of holdout, cross_fit"):
        sm.train(labels, features, trained_at=TRAINED_AT, calibration="slice")
