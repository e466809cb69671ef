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
