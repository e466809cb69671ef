"""Which rules give the conversion model features, on the real build of the hand-written lake:
pipeline.load_training_data reads the rules the build's seed enabled (marts.scoring_rule_suggestions), and with
INTENT_MODEL_RULE_FEATURES=enabled the disabled candidates' features are exactly what is left out."""

from __future__ import annotations

import duckdb
import pytest
from intent_pipeline import pipeline
from intent_pipeline import scoring_model as sm

pytestmark = pytest.mark.slow


def test_the_model_reads_the_rules_the_build_enabled(warehouse):
    labels, features, enabled = pipeline.load_training_data(warehouse.warehouse)
    with duckdb.connect(str(warehouse.warehouse), read_only=True) as con:
        seed = dict(con.execute("select rule_id, is_enabled from staging.scoring_rules").fetchall())
        fired = {r for (r,) in con.execute("select distinct rule_id from intermediate.int_lead_score_rules").fetchall()}
        found = con.execute("select distinct feature from intermediate.int_scoring_features").fetchall()
    columns = sorted(f for (f,) in found)
    disabled = {rule for rule, on in seed.items() if not on}
    assert enabled == {rule for rule, on in seed.items() if on} and enabled & fired
    # the hand-written lake has no labelled lead (labels and features empty): the columns come from the build
    assert set(features["example_id"]) <= set(labels["example_id"])

    candidates = {c for c in columns if sm.rule_of(c) in disabled}
    assert candidates, "the hand-written lake fires no disabled rule: nothing to leave out"
    kept = set(sm.model_signals(columns, "enabled", enabled))
    assert not kept & candidates
    assert set(sm.model_signals(columns, "all", enabled)) - kept == candidates
    assert {c for c in kept if sm.rule_of(c)} == {c for c in columns if sm.rule_of(c) in enabled}
