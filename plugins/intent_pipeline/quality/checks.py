"""Run one suite on one DataFrame with Great Expectations and turn GX's results into report rows.

The ``configure_*`` helpers follow the GX Airflow provider's examples: small functions with
lazy imports that build exactly what a validation needs. One ephemeral, in-memory context
is built per gate call (GX's import is the slow part; the context itself is cheap).
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from typing import Any

MAX_EXAMPLES = 5
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": MAX_EXAMPLES}


def configure_context():
    """An ephemeral GX context: in-memory stores, no analytics, no progress bars in task logs."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def configure_data_source(context, layer: str):
    """A pandas data source for one layer; tables arrive as DataFrames at run time."""
    return context.data_sources.add_pandas(name=f"intent_{layer}")


def configure_validation(context, data_source, table: str, suite):
    """Register ``suite`` and a whole-DataFrame batch of ``table``; returns the ValidationDefinition."""
    import great_expectations as gx

    batch_definition = data_source.add_dataframe_asset(name=table).add_batch_definition_whole_dataframe(f"{table}_all")
    suite = context.suites.add(suite)
    return context.validation_definitions.add(gx.ValidationDefinition(name=table, data=batch_definition, suite=suite))


def run_results(validation, df, parameters: dict) -> list:
    """Validate ``df``; GX's result of each expectation, in the suite file's order."""
    result = validation.run(
        batch_parameters={"dataframe": df}, expectation_parameters=parameters, result_format=RESULT_FORMAT
    )
    order = {expectation.id: number for number, expectation in enumerate(validation.suite.expectations)}
    return sorted(result.results, key=lambda r: order.get(r.expectation_config.id, len(order)))


def run_validation(validation, df, parameters: dict, key_columns: list[str]) -> list[dict]:
    """Validate ``df``; one report row per expectation, in the suite file's order."""
    keys = [column for column in key_columns if column in df.columns]
    return [report_row(r, df, keys) for r in run_results(validation, df, parameters)]


def _column_of(kwargs: dict) -> str | None:
    if kwargs.get("column"):
        return kwargs["column"]
    if kwargs.get("column_list"):
        return ", ".join(kwargs["column_list"])
    if kwargs.get("column_A"):
        return f"{kwargs['column_A']}, {kwargs['column_B']}"
    return None


def condition_text(condition: Any) -> str | None:
    """A row condition (GX ``Condition`` object, its JSON dict, or a legacy string) as short text."""
    if condition is None or isinstance(condition, str):
        return condition or None
    if not isinstance(condition, dict) and hasattr(condition, "dict"):  # GX conditions are pydantic v1 models
        condition = condition.dict()
    if not isinstance(condition, dict):
        return str(condition)
    kind = condition.get("type")
    if kind in ("and", "or"):
        return f" {kind} ".join(f"({condition_text(part)})" for part in condition.get("conditions", []))
    column = (condition.get("column") or {}).get("name")
    if kind == "nullity":
        return f"{column} is {'null' if condition.get('is_null') else 'not null'}"
    if kind == "comparison":
        operator = getattr(condition.get("operator"), "value", condition.get("operator"))
        return f"{column} {operator} {json.dumps(condition.get('parameter'), default=str)}"
    return json.dumps(condition, default=str)


def error_of(exception_info: Any) -> str | None:
    # GX nests exception_info per metric when a metric failed, flat otherwise.
    if not exception_info:
        return None
    infos = [exception_info] if "raised_exception" in exception_info else list(exception_info.values())
    for info in infos:
        if isinstance(info, dict) and info.get("raised_exception", True) and info.get("exception_message"):
            return "could not be evaluated: " + str(info["exception_message"]).strip().splitlines()[-1][:500]
    return None


def report_row(result, df, keys: list[str], examples_found: list | None = None) -> dict:
    """One report row of a GX result; ``examples_found``: the failing values already looked up (the batched
    raw gate's, gathered over its batches), else they are looked up in ``df``."""
    config = result.expectation_config
    kwargs = config.kwargs
    details = result.result or {}
    error = error_of(result.exception_info)
    unexpected_count = details.get("unexpected_count")
    # Share of the rows checked, nulls included (GX's unexpected_percent leaves nulls out, which reads oddly
    # next to "n of N rows"); rows checked is the table, or the rows matching the row condition.
    unexpected_percent = details.get("unexpected_percent_total", details.get("unexpected_percent"))
    rows_checked = details.get("element_count")
    examples: list = []
    if not result.success and error is None:
        mismatched = (details.get("details") or {}).get("mismatched") or {}
        if "missing" in mismatched:  # expect_table_columns_to_match_set: the missing columns are the examples
            missing = list(mismatched.get("missing") or [])
            unexpected_count, examples = len(missing), [f"missing column {name}" for name in missing[:MAX_EXAMPLES]]
        elif unexpected_count is None:  # table-level expectations (row count, ...)
            examples = [{"observed_value": json_safe(details.get("observed_value"))}]
        else:
            examples = examples_of(details, df, keys) if examples_found is None else examples_found[:MAX_EXAMPLES]
    return {
        "expectation": config.type,
        "column": _column_of(kwargs),
        "condition": condition_text(kwargs.get("row_condition")),
        "severity": (config.meta or {}).get("severity", "critical"),
        "success": bool(result.success),
        "rows_checked": None if rows_checked is None else int(rows_checked),
        "unexpected_count": None if unexpected_count is None else int(unexpected_count),
        "unexpected_percent": None if unexpected_percent is None else round(float(unexpected_percent), 4),
        "examples": examples,
        "why": (config.meta or {}).get("why"),
        "error": error,
    }


def examples_of(details: dict, df, keys: list[str]) -> list[dict]:
    """Up to five failing values, each with the key columns of its row (source file and row number in raw)."""
    values = list(details.get("partial_unexpected_list") or [])[:MAX_EXAMPLES]
    indexes = list(details.get("partial_unexpected_index_list") or [])[:MAX_EXAMPLES]
    examples = []
    for number, value in enumerate(values):
        example = {"value": json_safe(value)}
        if number < len(indexes) and keys:
            try:
                row = df.loc[indexes[number], keys]
            except KeyError:  # an index GX reports in another shape: keep the value alone
                row = None
            if row is not None:
                example.update({key: json_safe(row[key]) for key in keys})
        examples.append(example)
    return examples


def json_safe(value: Any) -> Any:
    """A value the report's JSON can hold: numpy/pandas scalars unwrapped, NaN/NaT as null, times as ISO text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, datetime | date):
        return None if value != value else value.isoformat()  # NaT is a datetime unequal to itself
    if hasattr(value, "item"):  # numpy scalars
        return json_safe(value.item())
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)
