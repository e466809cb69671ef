"""The expectation suites: JSON files under ``expectations/<layer>/<table>.json``, loaded into GX.

A suite file is GX 1.x's own serialisation (``name``, ``meta``, ``expectations`` of
``{"type", "kwargs", "meta"}``) with two conventions of ours:

* every expectation has ``meta.severity``: ``critical`` blocks the next stage, ``warning`` is reported;
* ``meta.key_columns`` of the suite names the columns that identify a row, quoted next to
  failing values in the report (``_source_file``/``_row_number`` in raw, ``person_id`` in marts).

Values that depend on the run are GX suite parameters (``{"$PARAMETER": name}``), filled in by
:func:`intent_pipeline.quality.validate.run_parameters`: ``interval_start``, ``interval_start_at``,
``window_start``, ``window_end``, ``future_end``, ``people_person_ids`` and the grade thresholds
``high_intent_threshold`` and ``potential_threshold`` (the vars of ``dbt_project.yml``), and
``max_reject_share`` (``INTENT_MAX_REJECT_SHARE``, the activation_runs gate).
"""

from __future__ import annotations

import json
from pathlib import Path

from intent_pipeline.settings import EXPECTATIONS_DIR

# The raw lake's tables (docs/contracts.md, "Raw lake") and the marts the gate checks ("Warehouse").
RAW_TABLES = (
    "forms_submissions",
    "email_events",
    "web_events",
    "crm_leads",
    "crm_opportunities",
    "crm_orders",
    "crm_activities",
)
MART_TABLES = (
    "people",
    "lead_scores",
    "segment_high_intent",
    "segment_crm_updates",
    "segment_funnel_stalls",
    "funnel_stages",
    "funnel_conversion",
    "channel_attribution",
    "attribution_conversion_credits",
    "activation_runs",
)
LAYERS = {"raw": RAW_TABLES, "marts": MART_TABLES}
SEVERITIES = ("critical", "warning")


class SuiteError(ValueError):
    """A suite file is missing or malformed: a deployment bug, not bad data."""


def tables_of(layer: str) -> tuple[str, ...]:
    """The tables a layer's gate validates."""
    try:
        return LAYERS[layer]
    except KeyError:
        raise ValueError(f"unknown layer {layer!r}; known: {', '.join(LAYERS)}") from None


def suite_path(layer: str, table: str, expectations_dir: Path | str | None = None) -> Path:
    """``<expectations>/<layer>/<table>.json``."""
    tables_of(layer)
    return Path(expectations_dir or EXPECTATIONS_DIR) / layer / f"{table}.json"


def load_suite_spec(layer: str, table: str, expectations_dir: Path | str | None = None) -> dict:
    """The suite of one table as a plain dict, checked for our conventions (raises :class:`SuiteError`)."""
    path = suite_path(layer, table, expectations_dir)
    if not path.exists():
        raise SuiteError(f"no expectation suite for {layer} table {table!r} at {path}")
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SuiteError(f"{path}: not valid JSON ({exc})") from None
    expectations = spec.get("expectations")
    if not isinstance(expectations, list) or not expectations:
        raise SuiteError(f"{path}: 'expectations' must be a non-empty list")
    for number, expectation in enumerate(expectations, 1):
        severity = (expectation.get("meta") or {}).get("severity")
        if severity not in SEVERITIES:
            raise SuiteError(
                f"{path}: expectation #{number} ({expectation.get('type')}) has meta.severity {severity!r}; "
                f"expected one of {SEVERITIES}"
            )
    spec.setdefault("meta", {}).setdefault("key_columns", [])
    return spec


def configure_suite(spec: dict):
    """A ``gx.ExpectationSuite`` from a suite dict; raises :class:`SuiteError` if GX rejects an expectation.

    GX only logs an invalid expectation and leaves it out of the suite; a gate that silently
    checks less than its file says is worse than a failed task, hence the count check.
    """
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=spec["name"], expectations=spec["expectations"], meta=dict(spec.get("meta", {})))
    if len(suite.expectations) != len(spec["expectations"]):
        loaded = {(e.expectation_type, str(getattr(e, "column", None))) for e in suite.expectations}
        rejected = [
            f"{e.get('type')}({e.get('kwargs', {}).get('column', '')})"
            for e in spec["expectations"]
            if (e.get("type"), str(e.get("kwargs", {}).get("column"))) not in loaded
        ]
        raise SuiteError(f"suite {spec['name']!r}: GX rejected expectation(s) {rejected or '(see the GX log)'}")
    return suite
