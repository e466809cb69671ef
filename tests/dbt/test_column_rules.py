"""Column rules folded into one data test per model and severity (issue 20): the same checks in fewer nodes.

Each not_null, unique, accepted_values, within_range and unique_combination_of_columns test used to be
a dbt node of its own (518 nodes, about 95 % of the project's data tests) and dbt's fixed cost per
node dominated a daily build. ``column_rules`` (macros/generic_tests.sql) checks all of a model's
rules of one severity in one query. ``column_rules_before_fold.jsonl`` lists every rule as the
one-node-per-rule tests declared it just before the fold (read from that commit's manifest with
:func:`tests.dbt.column_rules.legacy_rules`): a rule dropped or changed on purpose
is dropped or changed in that list too.
That a broken rule fails the build and is named: tests/dbt/test_warehouse.py (``broken_build``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.dbt.column_rules import LEGACY, folded_rules, legacy_rules

pytestmark = pytest.mark.slow

BEFORE_FOLD = Path(__file__).with_name("column_rules_before_fold.jsonl")


def _manifest(warehouse) -> dict:
    return json.loads((warehouse.base / "target" / "manifest.json").read_text())


def test_every_rule_before_the_fold_is_still_checked_with_its_severity(warehouse):
    before = {tuple(json.loads(line)) for line in BEFORE_FOLD.read_text().splitlines() if line}
    assert len(before) == 518
    missing = before - folded_rules(_manifest(warehouse))
    assert not missing, sorted(missing)[:20]


def test_no_column_rule_is_a_node_of_its_own_any_more(warehouse):
    manifest = _manifest(warehouse)
    assert legacy_rules(manifest) == set()
    tests = [node for node in manifest["nodes"].values() if node["resource_type"] == "test"]
    names = {(node.get("test_metadata") or {}).get("name") for node in tests}
    assert not names & set(LEGACY), names
    # one column_rules test per model (or seed) and severity, never two of the same severity
    owners = [(node["attached_node"], str(node["config"]["severity"]).upper()) for node in tests
              if (node.get("test_metadata") or {}).get("name") == "column_rules"]  # fmt: skip
    assert len(owners) == len(set(owners)), sorted(owners)
    assert len(owners) < len(folded_rules(manifest)) / 4  # the point of the fold: far fewer nodes than rules
