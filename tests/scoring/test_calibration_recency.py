"""The probability map over time (issue 13, nineteenth pass): a Platt map may weigh recent leads more
when the base rate drifts, and only when later leads confirm it (forward-chaining blocks, one standard
error); where nothing drifts the map is the plain one. Through the real training (scoring_model.train)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from intent_pipeline import scoring_model as sm

TRAINED_AT = datetime(2026, 1, 15, 3, 0, tzinfo=UTC)


def leads(n: int, seed: int, *, drift: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` persons with one lead each over a year: one real feature, a rule score, three noise
    features; the log-odds of converting fall by ``drift`` from the first day to the last (0: a
    steady base rate), the real feature's weight stays."""
    rng = np.random.default_rng(seed)
    days = np.sort(rng.uniform(0, 365, n))
    real = rng.poisson(1.0, n).astype(float)
    y = rng.binomial(1, 1 / (1 + np.exp(-(-1.0 - drift * days / 365 + 0.8 * real))))
    ids = [f"e{i:05d}" for i in range(n)]
    columns = {"rule:real": real, "lead_score": 10.0 * real} | {f"noise_{k}": rng.normal(0, 1, n) for k in range(3)}
    labels = pd.DataFrame(
        {
            "example_id": ids,
            "person_id": [f"p{i:05d}" for i in range(n)],
            "as_of_at": (pd.Timestamp("2025-01-01") + pd.to_timedelta(days, unit="D")).floor("s"),
            "label": y,
        }
    )
    wide = pd.DataFrame(columns, index=pd.Index(ids, name="example_id"))
    long = wide.reset_index().melt(id_vars="example_id", var_name="feature")
    return labels, long[long["value"] != 0].reset_index(drop=True)


def test_test_slice(model: dict, labels: pd.DataFrame, features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    test = sm.split_by_time(labels, model["calibration_share"], model["test_share"])["test"]
    return sm.linear_predictor(model, sm.wide_features(test, features)), test["label"].to_numpy()


test_test_slice.__test__ = False  # a helper, not a test


@pytest.mark.parametrize("calibration", ["cross_fit", "holdout"])
def test_where_the_base_rate_drifts_the_map_weighs_recent_leads_and_beats_the_plain_one_later(calibration):
    labels, features = leads(3000, 5, drift=2.0)
    model = sm.train(labels, features, trained_at=TRAINED_AT, calibration=calibration, c_grid=(1.0,), min_auc=0.5)
    assert model["status"] == "approved" and model["method"] == "logistic", model["reason"]
    mapped = model["calibration"]
    assert mapped["method"] == "platt" and mapped["recency"]["half_life"] in sm.RECENCY_HALF_LIVES, mapped
    held = mapped["recency"]["held_out_log_loss"]
    assert held[str(mapped["recency"]["half_life"])] < held["none"]
    # on the newest leads, which neither the model nor its map saw: the weighted map is closer to their
    # rate and to each lead than the plain map fitted on the same leads
    z, y = test_test_slice(model, labels, features)
    weighted, plain = sm.calibrate(z, mapped), sm.calibrate(z, {"method": "platt"} | mapped["unweighted"])
    assert abs(weighted.mean() - y.mean()) < abs(plain.mean() - y.mean())
    assert sm.expected_calibration_error(weighted, y) < sm.expected_calibration_error(plain, y)
    assert sm.log_losses(weighted, y).mean() < sm.log_losses(plain, y).mean()
    # the record's test metrics are the weighted map's
    assert model["metrics"]["ece"] == pytest.approx(sm.expected_calibration_error(weighted, y))


def test_where_nothing_drifts_the_map_is_the_plain_one():
    labels, features = leads(3000, 5, drift=0.0)
    model = sm.train(labels, features, trained_at=TRAINED_AT, c_grid=(1.0,), min_auc=0.5)
    mapped = model["calibration"]
    assert mapped["method"] == "platt" and mapped["recency"]["half_life"] is None, mapped
    assert "unweighted" not in mapped and mapped["recency"]["blocks"] > 0
    # the same map as without the times: every lead alike
    fit = sm.split_by_time(labels, 0.0, 0.2)["train"]
    x_fit = sm.wide_features(fit, features)[[f["feature"] for f in model["features"]]]
    y_fit = fit["label"].to_numpy()
    plain = sm.fit_calibration(sm.out_of_fold_z(x_fit, y_fit, fit["person_id"].to_numpy(), 1.0), y_fit)
    assert (mapped["a"], mapped["c"]) == pytest.approx((plain["a"], plain["c"]))


def test_recency_weights_halve_per_half_life_of_the_span():
    moments = pd.to_datetime(["2025-01-01 00:00:00", "2025-07-02 12:00:00", "2026-01-01 00:00:00"]).to_numpy()
    assert sm.recency_weights(moments, 0.5) == pytest.approx([0.25, 0.5, 1.0])
    assert sm.recency_weights(moments[:1], 0.25) == pytest.approx([1.0])


def test_equal_mass_ece_bins_by_count():
    p = np.array([0.1, 0.1, 0.9, 0.9])
    y = np.array([0, 1, 1, 1])
    # equal width: bins 0.1 (rate 0.5) and 0.9 (rate 1): 0.5 * 0.4 + 0.5 * 0.1
    assert sm.expected_calibration_error(p, y) == pytest.approx(0.25)
    # two bins of two leads each: the same here; one bin of all four: |0.5 - 0.75|
    assert sm.expected_calibration_error(p, y, bins=2, equal_mass=True) == pytest.approx(0.25)
    assert sm.expected_calibration_error(p, y, bins=1, equal_mass=True) == pytest.approx(0.25)
    q = np.array([0.1, 0.2, 0.3, 0.4])
    # equal width puts all four in separate bins; equal mass (2 bins) pools {0.1, 0.2} and {0.3, 0.4}
    assert sm.expected_calibration_error(q, np.array([0, 1, 0, 1]), bins=2, equal_mass=True) == pytest.approx(
        0.5 * abs(0.15 - 0.5) + 0.5 * abs(0.35 - 0.5)
    )


def test_a_half_life_with_a_lower_loss_by_less_than_a_standard_error_leaves_the_plain_map():
    """The one-standard-error rule, not the lowest loss: in a world whose base rate drifts a little, the
    half-life 0.5 predicts the forward blocks a little better than the plain map, within the noise of
    their paired difference, and the plain map stays."""
    rng = np.random.default_rng(2)
    days = np.sort(rng.uniform(0, 365, 1500))
    z = rng.normal(0, 1, 1500)
    y = rng.binomial(1, 1 / (1 + np.exp(-(-1.5 + z - 0.3 * days / 365))))
    moments = (pd.Timestamp("2025-01-01") + pd.to_timedelta(days, unit="D")).to_numpy()
    choice = sm.recency_choice(z, y, moments)
    held = choice["held_out_log_loss"]
    assert min(held, key=held.get) != "none", held  # the case this test is about: a half-life is lowest
    assert choice["half_life"] is None, choice
