"""Snapshot examples (issue 13, item 1): the same CRM lead at later ages trains the model, but only
before the calibration slice, so nothing the judging slices hold (or anything after them) leaks in."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
from intent_pipeline import scoring_model as sm

TRAINED_AT = datetime(2026, 1, 15, 3, 0, tzinfo=UTC)


def examples(n: int, seed: int, *, prefix: str, start: str, days: float, leak: bool = False):
    """Labels and long features of ``n`` examples over ``days`` days from ``start``; with ``leak`` a
    feature that is the label itself (what a feature computed after the outcome would look like)."""
    rng = np.random.default_rng(seed)
    signal = rng.poisson(1.0, n).astype(float)
    y = rng.binomial(1, 1 / (1 + np.exp(-(-2.0 + 0.9 * signal))))
    ids = [f"{prefix}{i:05d}" for i in range(n)]
    labels = pd.DataFrame(
        {
            "example_id": ids,
            "person_id": ids,
            "as_of_at": (pd.Timestamp(start) + pd.to_timedelta(rng.uniform(0, days, n), unit="D")).floor("s"),
            "label": y,
            "snapshot": prefix.startswith("snap"),
        }
    )
    columns = {"rule:signal": signal, "lead_score": 10.0 * signal, "log_after_outcome": y * 3.0 if leak else 0.0 * y}
    wide = pd.DataFrame(columns, index=ids)
    long = wide.rename_axis("example_id").reset_index().melt(id_vars="example_id", var_name="feature")
    return labels, long[long["value"] != 0].reset_index(drop=True)


def test_snapshots_join_the_train_slice_only_before_the_calibration_slice():
    leads, lead_features = examples(3000, 1, prefix="lead:", start="2025-01-01", days=365)
    # with a calibration slice of its own (holdout); cross-fitted calibration's cut at the test slice:
    # tests/scoring/test_cross_fitted_calibration.py
    alone = sm.train(leads, lead_features, trained_at=TRAINED_AT, calibration="holdout")
    calibration_from = pd.Timestamp(alone["split"]["calibration"]["from"])

    # early snapshots are honest; late ones (in the judging slices' time) carry the outcome as a feature
    early, early_features = examples(800, 2, prefix="snap7:", start="2025-01-01", days=150)
    late, late_features = examples(
        800,
        3,
        prefix="snap30:",
        start=str((calibration_from + pd.Timedelta(days=1)).date()),
        days=120,
        leak=True,
    )
    assert early["as_of_at"].max() < calibration_from <= late["as_of_at"].min()
    labels = pd.concat([leads, early, late], ignore_index=True)
    features = pd.concat([lead_features, early_features, late_features], ignore_index=True)
    model = sm.train(labels, features, trained_at=TRAINED_AT, calibration="holdout")

    assert model["status"] == "approved" and model["method"] == "logistic", model["reason"]
    assert model["snapshot_examples"] == len(early)
    assert model["snapshot_conversions"] == int(early["label"].sum())
    # the slices are cut from the leads alone: the same as without snapshots
    assert model["split"] == alone["split"]
    assert model["n_examples"] == len(leads)
    # the leaking feature never entered: the late snapshots were never fitted on
    weights = {f["feature"]: f["weight"] for f in model["features"]}
    assert "log_after_outcome" not in weights
    # the early snapshots did: the fit is not the one without them
    assert weights["rule:signal"] != {f["feature"]: f["weight"] for f in alone["features"]}["rule:signal"]


def test_a_leaking_snapshot_inside_the_train_time_would_be_learned():
    # the guard above is the cut at the calibration slice: the same leak before it is fitted on (and
    # dominates), so the test above can fail
    leads, lead_features = examples(3000, 1, prefix="lead:", start="2025-01-01", days=365)
    early, early_features = examples(800, 4, prefix="snap7:", start="2025-01-01", days=150, leak=True)
    model = sm.train(
        pd.concat([leads, early], ignore_index=True),
        pd.concat([lead_features, early_features], ignore_index=True),
        trained_at=TRAINED_AT,
    )
    weights = {f["feature"]: f["weight"] for f in model["features"]}
    assert weights["log_after_outcome"] > 1.0


def test_split_by_time_ignores_snapshots():
    leads, _ = examples(500, 5, prefix="lead:", start="2025-01-01", days=365)
    snaps, _ = examples(500, 6, prefix="snap7:", start="2025-01-01", days=365)
    both = sm.split_by_time(pd.concat([leads, snaps]), 0.2, 0.2)
    alone = sm.split_by_time(leads, 0.2, 0.2)
    for name in sm.SLICES:
        assert list(both[name]["example_id"]) == list(alone[name]["example_id"])
