"""Quality gates: run the Great Expectations suites of a layer, write a report, decide the gate.

Usage (what the DAG's validate tasks do)::

    from intent_pipeline.quality import enforce_gate, validate_marts, validate_raw

    report = validate_raw(settings, date(2026, 11, 21))  # or validate_marts(...)
    enforce_gate(report)  # raises QualityGateError when a critical expectation failed

Suites are reviewable JSON files, one per table, under ``expectations/raw/`` and
``expectations/marts/``; every expectation has ``meta.severity`` ``critical`` (blocks
the next stage) or ``warning`` (reported and logged). Data is validated as pandas
DataFrames: raw partitions read from Parquet, marts read through a read-only DuckDB
connection (GX's SQL datasource over duckdb-engine returns empty metrics).

Importing this package is cheap: great_expectations, pandas, pyarrow and duckdb are
imported inside the functions that use them.
"""

from intent_pipeline.quality.gate import QualityGateError, enforce_gate, format_markdown
from intent_pipeline.quality.suites import MART_TABLES, RAW_TABLES, SuiteError, load_suite_spec
from intent_pipeline.quality.validate import validate_marts, validate_raw

__all__ = [
    "MART_TABLES",
    "RAW_TABLES",
    "QualityGateError",
    "SuiteError",
    "enforce_gate",
    "format_markdown",
    "load_suite_spec",
    "validate_marts",
    "validate_raw",
]
