"""The column rules a dbt manifest checks, whichever way they are written (issue 20).

Before issue 20, each rule was a data test node of its own (``not_null``, ``unique``,
``accepted_values``, ``within_range`` on a column, ``unique_combination_of_columns`` on a model);
now one ``column_rules`` test per model and severity checks them all in one query
(macros/generic_tests.sql). Both read into the same rows ``(node, column, rule, detail, severity)``,
so that the rules of a manifest before the change can be compared with those of one after it."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

LEGACY = ("not_null", "unique", "accepted_values", "within_range", "unique_combination_of_columns")
Rule = tuple[str, str, str, str, str]


def _detail(rule: str, spec: Any) -> str:
    """The rule's arguments as one comparable string."""
    if rule == "accepted_values":
        values, quote = (spec["values"], spec.get("quote", True)) if isinstance(spec, Mapping) else (spec, True)
        return json.dumps({"values": sorted(str(v) for v in values), "quote": bool(quote)}, sort_keys=True)
    if rule == "within_range":
        return json.dumps({k: str(spec[k]) for k in ("min_value", "max_value") if spec.get(k) is not None},
                          sort_keys=True)  # fmt: skip
    return ""


def _tests(manifest: Mapping) -> Iterator[tuple[str, str, dict, str]]:
    for node in manifest["nodes"].values():
        meta = node.get("test_metadata")
        if node.get("resource_type") == "test" and meta:
            owner = node.get("attached_node") or ""
            severity = str(node["config"].get("severity", "ERROR")).upper()
            yield owner, meta["name"], dict(meta.get("kwargs") or {}), severity


def legacy_rules(manifest: Mapping) -> set[Rule]:
    """The rules of the one-node-per-rule tests in ``manifest``."""
    found = set()
    for owner, name, kwargs, severity in _tests(manifest):
        if name not in LEGACY:
            continue
        if name == "unique_combination_of_columns":
            found.add((owner, ", ".join(kwargs["columns"]), "unique_combination", "", severity))
            continue
        spec = kwargs if name != "accepted_values" else {"values": kwargs["values"], "quote": kwargs.get("quote", True)}
        found.add((owner, kwargs["column_name"], name, _detail(name, spec), severity))
    return found


def folded_rules(manifest: Mapping) -> set[Rule]:
    """The rules of the ``column_rules`` tests in ``manifest``."""
    found = set()
    for owner, name, kwargs, severity in _tests(manifest):
        if name != "column_rules":
            continue
        for column in kwargs.get("not_null", []):
            found.add((owner, column, "not_null", "", severity))
        for column in kwargs.get("unique", []):
            found.add((owner, column, "unique", "", severity))
        for rule in ("accepted_values", "within_range"):
            for column, spec in (kwargs.get(rule) or {}).items():
                found.add((owner, column, rule, _detail(rule, spec), severity))
        for columns in kwargs.get("unique_combinations", []):
            found.add((owner, ", ".join(columns), "unique_combination", "", severity))
    return found
