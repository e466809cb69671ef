"""The raw gate in bounded memory: one table's suite over its partition read in record batches, merged exactly.

A partition larger than ``INTENT_RAW_GATE_BATCH_ROWS`` rows (:class:`~intent_pipeline.quality.readers.RawBatches`)
is validated batch by batch with the same GX suite on pandas DataFrames (GX's SQL datasource over
duckdb-engine returns empty metrics), and the per-batch results are merged into the report row the whole
partition would give:

* row-level (map) expectations (GX's column, column-pair and multicolumn map expectations: not null,
  between, in set, regex, a > b): element, missing and unexpected counts added up; the percent computed
  from the totals; ``mostly`` judged on the totals as GX judges it (unexpected over the rows considered);
  the first :data:`~intent_pipeline.quality.checks.MAX_EXAMPLES` failing values in row order;
* ``expect_column_values_to_be_unique`` (:data:`WHOLE_PARTITION`): a duplicate may sit in two batches, so
  its counts and examples come from one DuckDB query over the partition's Parquet files (spilling to a
  temporary folder past :data:`DUCKDB_MEMORY_LIMIT`);
* expectations on the columns alone (:data:`SAME_IN_EVERY_BATCH`): every batch has the partition's unified
  columns, so the first batch's result is the partition's.

Any other table-level expectation in a raw suite (a row count, a column's min or mean) has no exact merge
here yet: :func:`check_batchable` refuses the suite, naming it.
"""

from __future__ import annotations

import tempfile
from types import SimpleNamespace
from typing import TYPE_CHECKING

from intent_pipeline.quality.checks import MAX_EXAMPLES, error_of, examples_of, json_safe, report_row, run_results
from intent_pipeline.quality.suites import SuiteError

if TYPE_CHECKING:
    from intent_pipeline.quality.readers import RawBatches

SAME_IN_EVERY_BATCH = frozenset(
    {"expect_table_columns_to_match_set", "expect_table_columns_to_match_ordered_list", "expect_column_to_exist"}
)
WHOLE_PARTITION = frozenset({"expect_column_values_to_be_unique"})
# DuckDB's memory for the uniqueness query; past it DuckDB spills to a temporary folder.
DUCKDB_MEMORY_LIMIT = "1GB"
# Map expectations whose verdict on a row depends on other rows.
_UNMERGEABLE = frozenset({"expect_compound_columns_to_be_unique", "expect_multicolumn_sum_to_equal"})


def _is_map(expectation_type: str) -> bool:
    from great_expectations.expectations.expectation import (
        ColumnMapExpectation,
        ColumnPairMapExpectation,
        MulticolumnMapExpectation,
    )
    from great_expectations.expectations.registry import get_expectation_impl

    implementation = get_expectation_impl(expectation_type)
    return issubclass(implementation, ColumnMapExpectation | ColumnPairMapExpectation | MulticolumnMapExpectation)


def check_batchable(spec: dict) -> None:
    """Raise :class:`SuiteError` for an expectation of a raw suite the batched gate cannot merge exactly."""
    for expectation in spec["expectations"]:
        kind = expectation.get("type")
        kwargs = expectation.get("kwargs") or {}
        if kind in WHOLE_PARTITION and kwargs.get("row_condition"):
            raise SuiteError(f"suite {spec['name']!r}: {kind} with a row_condition is not supported by the raw gate")
        if kind in SAME_IN_EVERY_BATCH or kind in WHOLE_PARTITION or (kind not in _UNMERGEABLE and _is_map(kind)):
            continue
        raise SuiteError(
            f"suite {spec['name']!r}: {kind} has no exact merge over record batches (the raw gate merges map "
            f"expectations, {', '.join(sorted(SAME_IN_EVERY_BATCH | WHOLE_PARTITION))}); see quality/batched.py"
        )


class Merge:
    """One expectation's results over the batches."""

    def __init__(self, first) -> None:
        self.first = first
        self.final = None  # a result that stands for the partition (error, same in every batch)
        self.element = 0
        self.missing: int | None = None
        self.unexpected: int | None = 0
        self.examples: list = []

    def add(self, result, df, keys: list[str]) -> None:
        if self.final is not None:
            return
        config = result.expectation_config
        if error_of(result.exception_info) is not None or config.type in SAME_IN_EVERY_BATCH:
            self.final = result
            return
        details = result.result or {}
        self.element += int(details.get("element_count") or 0)
        if "missing_count" in details:
            self.missing = (self.missing or 0) + int(details["missing_count"] or 0)
        count = details.get("unexpected_count")
        if count is None or self.unexpected is None:
            self.unexpected = None
            return
        self.unexpected += int(count)
        if count and len(self.examples) < MAX_EXAMPLES and config.type not in WHOLE_PARTITION:
            self.examples += examples_of(details, df, keys)[: MAX_EXAMPLES - len(self.examples)]

    def row(self, keys: list[str]) -> dict:
        if self.final is not None:
            return report_row(self.final, None, keys, examples_found=[])
        config = self.first.expectation_config
        element, unexpected = self.element, self.unexpected
        considered = element - (self.missing or 0)
        mostly = config.kwargs.get("mostly")
        mostly = 1.0 if mostly is None else float(mostly)
        # GX: vacuously true without rows (or without rows considered); else the share of the considered rows
        # that are not unexpected, against mostly (great_expectations.expectations.expectation._mostly_success).
        success = (
            unexpected is None or element == 0 or considered == 0 or (considered - unexpected) / considered >= mostly
        )
        total = None if unexpected is None or element == 0 else unexpected / element * 100
        details: dict = {"element_count": element, "unexpected_count": unexpected, "unexpected_percent": total}
        if self.missing is not None:
            details["unexpected_percent"] = (
                None if unexpected is None or element == 0 or considered == 0 else unexpected / considered * 100
            )
            details["unexpected_percent_total"] = total
        merged = SimpleNamespace(expectation_config=config, result=details, exception_info=None, success=success)
        return report_row(merged, None, keys, examples_found=self.examples)


def unique_figures(files: list, column: str, keys: list[str]) -> tuple[int, int, int, list[dict]]:
    """Rows, nulls, rows whose value of ``column`` occurs more than once (nulls apart, as GX counts) and the
    first :data:`MAX_EXAMPLES` of those in file and row order (``{"value", *keys}``), over all ``files``."""
    import duckdb

    paths = [str(path) for path in files]
    quoted = "".join(f', "{name}"' for name in keys)
    rows_sql = f"""with partition_rows as (
            select "{column}" as value{quoted},
                   list_position($files, _gate_file) as file_number, file_row_number as row_number
            from read_parquet($files, union_by_name = true, filename = '_gate_file', file_row_number = true)
        ), duplicated as (
            select value from partition_rows where value is not null group by value having count(*) > 1
        )"""
    with tempfile.TemporaryDirectory(prefix="intent-rawgate-") as spill:
        con = duckdb.connect(config={"memory_limit": DUCKDB_MEMORY_LIMIT, "temp_directory": spill})
        try:
            rows, nulls, unexpected = con.execute(
                f"""{rows_sql} select count(*), count(*) - count(value),
                    count(*) filter (where value in (select value from duplicated)) from partition_rows""",
                {"files": paths},
            ).fetchall()[0]
            found = con.execute(
                f"""{rows_sql} select value{quoted} from partition_rows
                where value in (select value from duplicated) order by file_number, row_number limit {MAX_EXAMPLES}""",
                {"files": paths},
            ).fetchall()
        finally:
            con.close()
    examples = [
        {"value": json_safe(row[0]), **{key: json_safe(row[1 + n]) for n, key in enumerate(keys)}} for row in found
    ]
    return int(rows), int(nulls), int(unexpected), examples


def batched_results(validation, batches: RawBatches, parameters: dict, key_columns: list[str]) -> list[dict]:
    """The report rows of ``validation``'s suite over every batch of ``batches``, merged (module docstring)."""
    merges: list[Merge] = []
    keys = [column for column in key_columns if column in batches.schema.names]
    for df in batches:
        results = run_results(validation, df, parameters)
        if not merges:
            merges = [Merge(result) for result in results]
        for merge, result in zip(merges, results, strict=True):
            merge.add(result, df, keys)
        del df
    for merge in merges:
        config = merge.first.expectation_config
        if merge.final is None and config.type in WHOLE_PARTITION:
            merge.element, merge.missing, merge.unexpected, merge.examples = unique_figures(
                batches.files, config.kwargs["column"], keys
            )
    return [merge.row(keys) for merge in merges]
