"""Which rules give the conversion model features (INTENT_MODEL_RULE_FEATURES, issue 13's seventeenth
pass): ``enabled`` leaves the disabled candidates' ``rule:<id>`` and ``log_hits:<id>`` out of the learned
steps, ``all`` keeps them; the learned points weigh every rule either way. ``checked`` (twenty-first pass)
keeps the enabled rules' features only where forward blocks of the fit time confirm them."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from intent_pipeline import scoring_model as sm
from intent_pipeline.settings import DEFAULT_MODEL_RULE_FEATURES, Settings

TRAINED_AT = datetime(2026, 1, 15, 3, 0, tzinfo=UTC)
CANDIDATE = ("rule:candidate", "log_hits:candidate")


@pytest.fixture(scope="module")
def examples():
    """3,000 leads over a year: an enabled rule and a page-view count carry the signal; a disabled
    candidate rule fires for a third of them (its hit count from two hits on) and carries a little."""
    rng = np.random.default_rng(13)
    n = 3000
    signal = rng.poisson(1.0, n).astype(float)
    pages = rng.poisson(2.0, n).astype(float)
    hits = rng.binomial(1, 0.33, n) * rng.integers(1, 5, n)
    y = rng.binomial(1, 1 / (1 + np.exp(-(-2.2 + 0.9 * signal + 0.2 * pages + 0.3 * (hits > 0)))))
    ids = [f"lead:{i:05d}" for i in range(n)]
    labels = pd.DataFrame(
        {
            "example_id": ids,
            "person_id": ids,
            "as_of_at": (pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.uniform(0, 365, n), unit="D")).floor("s"),
            "label": y,
        }
    )
    wide = pd.DataFrame(
        {
            "rule:enabled_rule": signal,
            "log_hits:enabled_rule": np.log(np.maximum(signal, 1)),
            "log_page_views_all": np.log1p(pages),
            "rule:candidate": (hits > 0).astype(float),
            "log_hits:candidate": np.log(np.maximum(hits, 1)),
            "lead_score": 10.0 * signal,
        },
        index=ids,
    )
    long = wide.rename_axis("example_id").reset_index().melt(id_vars="example_id", var_name="feature")
    return labels, long[long["value"] != 0].reset_index(drop=True)


def weighted(model: dict) -> set[str]:
    return {f["feature"] for f in model["features"]}


def test_only_enabled_rules_give_the_model_features(examples):
    labels, features = examples
    only = sm.train(labels, features, trained_at=TRAINED_AT, rule_features="enabled", enabled_rules={"enabled_rule"})
    every = sm.train(labels, features, trained_at=TRAINED_AT, rule_features="all", enabled_rules={"enabled_rule"})
    for model in (only, every):
        assert model["status"] == "approved" and model["method"] == "logistic", model["reason"]

    assert weighted(only) == {"rule:enabled_rule", "log_hits:enabled_rule", "log_page_views_all"}
    assert (only["rule_features"], only["rule_features_left_out"]) == ("enabled", sorted(CANDIDATE))
    assert weighted(every) == weighted(only) | set(CANDIDATE)
    assert (every["rule_features"], every["rule_features_left_out"]) == ("all", [])
    # the choice is the model's features only: the learned points weigh the candidate in both
    for model in (only, every):
        assert {p["rule_id"] for p in model["learned_points"]} == {"enabled_rule", "candidate"}


def test_without_a_seed_no_rule_is_known_to_be_disabled(examples):
    labels, features = examples
    model = sm.train(labels, features, trained_at=TRAINED_AT, rule_features="enabled")
    assert set(CANDIDATE) <= weighted(model) and model["rule_features"] == "all"


def test_the_choice_is_named_and_a_typo_is_an_error(examples):
    labels, features = examples
    columns = sorted(features["feature"].unique())
    assert sm.model_signals(columns, "enabled", set()) == ["log_page_views_all"]  # neither rule enabled
    assert sm.model_signals(columns, "all", set()) == [c for c in columns if c != "lead_score"]
    with pytest.raises(ValueError, match="rule_features must be one of enabled, all, checked, not 'candidates'"):
        sm.train(labels, features, trained_at=TRAINED_AT, rule_features="candidates")

    assert Settings.from_env({}).model_rule_features == DEFAULT_MODEL_RULE_FEATURES
    assert Settings.from_env({"INTENT_MODEL_RULE_FEATURES": ""}).model_rule_features == DEFAULT_MODEL_RULE_FEATURES
    assert Settings.from_env({"INTENT_MODEL_RULE_FEATURES": " All "}).model_rule_features == "all"
    assert Settings.from_env({"INTENT_MODEL_RULE_FEATURES": "enabled"}).model_rule_features == "enabled"
    with pytest.raises(ValueError, match="INTENT_MODEL_RULE_FEATURES must be one of enabled, all, checked, got 'some'"):
        Settings.from_env({"INTENT_MODEL_RULE_FEATURES": "some"})


@pytest.fixture(scope="module")
def noise_rules():
    """3,000 leads over a year with snapshot copies: a page-view count carries the signal; twelve enabled
    rules fire at random and carry none (what the rule table's features add to the pipeline's inputs
    where the rules read nothing the inputs lack)."""
    rng = np.random.default_rng(21)
    n = 3000
    pages = rng.poisson(2.0, n).astype(float)
    y = rng.binomial(1, 1 / (1 + np.exp(-(-2.5 + 0.6 * pages))))
    ids = [f"lead:{i:05d}" for i in range(n)]
    at = (pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.uniform(0, 365, n), unit="D")).floor("s")
    labels = pd.DataFrame({"example_id": ids, "person_id": ids, "as_of_at": at, "label": y, "snapshot": False})
    columns = {"log_page_views_all": np.log1p(pages), "lead_score": 5.0 * pages}
    for r in range(12):
        columns[f"rule:noise_{r}"] = rng.binomial(1, 0.3, n).astype(float)
    wide = pd.DataFrame(columns, index=ids)
    long = wide.rename_axis("example_id").reset_index().melt(id_vars="example_id", var_name="feature")
    return labels, long[long["value"] != 0].reset_index(drop=True), {f"noise_{r}" for r in range(12)}


def test_checked_keeps_rule_features_that_held_out_time_confirms(examples):
    labels, features = examples
    model = sm.train(labels, features, trained_at=TRAINED_AT, rule_features="checked", enabled_rules={"enabled_rule"})
    check = model["rule_features_check"]
    assert check["keep_rule_features"] and check["blocks"] == 4, check
    losses = check["held_out_log_loss"]
    assert losses["with"] < losses["without_rule_features"]
    assert weighted(model) == {"rule:enabled_rule", "log_hits:enabled_rule", "log_page_views_all"}
    assert (model["rule_features"], model["rule_features_left_out"]) == ("checked", sorted(CANDIDATE))


def test_checked_leaves_out_rule_features_held_out_time_does_not_confirm(noise_rules):
    labels, features, enabled = noise_rules
    checked = sm.train(labels, features, trained_at=TRAINED_AT, rule_features="checked", enabled_rules=enabled)
    plain = sm.train(labels, features, trained_at=TRAINED_AT, rule_features="enabled", enabled_rules=enabled)
    assert not checked["rule_features_check"]["keep_rule_features"], checked["rule_features_check"]
    assert weighted(checked) == {"log_page_views_all"}
    assert checked["rule_features_left_out"] == sorted(f"rule:{r}" for r in enabled)
    assert len(weighted(plain)) == 13 and "rule_features_check" not in plain  # enabled: no check
    # the check is judged on the fit time alone: the test slice is the same in both
    assert checked["split"] == plain["split"]


def test_checked_judges_the_leads_own_points_only():
    """The check fits on every row (the leads' own points and the snapshot examples) but judges only the
    leads' own points (``judged``), what the model is judged on: here a rule's features carry the signal
    at the snapshot ages and none at the leads' own points, so judged on the leads' points they are left
    out, while judged on every point (the snapshots' gain) they would be kept."""
    rng = np.random.default_rng(20)
    n = 4000
    pages = rng.poisson(2.0, n).astype(float)
    rule = rng.binomial(1, 0.4, n).astype(float)
    snapshot = np.arange(n) % 2 == 1  # leads' points and snapshots interleaved in time
    logit = -2.0 + 0.5 * pages + np.where(snapshot, 2.5 * rule, 0.0)
    y = rng.binomial(1, 1 / (1 + np.exp(-logit)))
    moments = (pd.Timestamp("2025-01-01") + pd.to_timedelta(np.sort(rng.uniform(0, 365, n)), unit="D")).to_numpy()
    x = pd.DataFrame({"log_page_views_all": np.log1p(pages), "rule:shown": rule, "log_hits:shown": 0.5 * rule})
    signals = list(x.columns)

    leads = sm.rule_features_check(x, y, moments, ~snapshot, signals, 1.0)
    every = sm.rule_features_check(x, y, moments, np.ones(n, dtype=bool), signals, 1.0)
    assert leads["blocks"] > 0 and every["blocks"] > 0, (leads, every)
    assert not leads["keep_rule_features"], leads
    assert leads["held_out_log_loss"]["with"] > leads["held_out_log_loss"]["without_rule_features"], leads
    assert every["keep_rule_features"], every  # the same rows judged on every point: the snapshots' gain


def test_train_judges_the_check_on_the_leads_own_points():
    """train() passes the check its fit rows, the leads' own points first and the snapshot examples after
    them, and judges the leads' own points only: with a rule that carries the signal at the snapshot ages
    alone, ``checked`` leaves its features out."""
    rng = np.random.default_rng(20)
    n = 2500
    ids = [f"lead:{i:05d}" for i in range(n)]
    at = (pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.uniform(0, 365, n), unit="D")).floor("s")
    pages = rng.poisson(2.0, (2, n)).astype(float)
    rule = rng.binomial(1, 0.4, (2, n)).astype(float)
    logit = -2.0 + 0.5 * pages + np.array([[0.0], [2.5]]) * rule  # row 0: the leads' points, 1: snapshots
    y = rng.binomial(1, 1 / (1 + np.exp(-logit)))
    snap_ids = [f"{i}:snap7" for i in ids]
    labels = pd.DataFrame({
        "example_id": ids + snap_ids, "person_id": ids + ids, "as_of_at": list(at) + list(at + pd.Timedelta(days=7)),
        "label": np.concatenate(y), "snapshot": [False] * n + [True] * n,
    })  # fmt: skip
    wide = pd.DataFrame(
        {"log_page_views_all": np.log1p(pages.ravel()), "rule:shown": rule.ravel(),
         "log_hits:shown": 0.5 * rule.ravel(), "lead_score": 5.0 * pages.ravel()},
        index=ids + snap_ids,
    )  # fmt: skip
    long = wide.rename_axis("example_id").reset_index().melt(id_vars="example_id", var_name="feature")
    model = sm.train(labels, long[long["value"] != 0].reset_index(drop=True), trained_at=TRAINED_AT,
                     rule_features="checked", enabled_rules={"shown"})  # fmt: skip
    check = model["rule_features_check"]
    assert check["blocks"] > 0 and model["snapshot_examples"] > 0, (check, model["snapshot_examples"])
    assert not check["keep_rule_features"], check
    assert weighted(model) == {"log_page_views_all"}
