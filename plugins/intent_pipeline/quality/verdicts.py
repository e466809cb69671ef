"""The gates' verdicts as a record in the lake, for the warehouse to read (``marts.quality_gate_results``).

Each gate the DAG runs (``validate_raw`` before ``dbt_build``, ``validate_marts`` after it) writes,
besides its report, one Parquet file per interval and layer::

    <lake>/gate_results/<layer>/dt=YYYY-MM-DD.parquet

one row per expectation of every suite it ran (:data:`COLUMNS`). A re-run of the interval's gate
replaces its file (written under a temporary name and renamed), so the record holds one verdict
per interval and layer, the last one, and nothing is counted twice; files of other intervals are
never touched (the record is append-only across intervals, and retention does not purge it).
No failing values: a report's ``examples`` can quote personal data (a rejected phone), so only
counts reach the lake.

Order, and what a build can know: the raw gate runs before ``dbt_build``, so the build of the same
run reads the raw verdict of its interval; the marts gate checks the build's own marts, so its
verdict can only reach the mart at the next build. ``publish`` closes that gap for readers:
:func:`overlay` puts the interval's verdict files (both gates of the run) into the serving copy's
``marts.quality_gate_results``, replacing that interval's rows, so BI and the dashboard show the
run they read. docs/dashboards.md, "Quality gates".
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

FOLDER = "gate_results"
MART = "quality_gate_results"
# the record's columns (and the mart's, in this order): name, Arrow type name, DuckDB type
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("run_id", "string", "varchar"),
    ("interval_start", "date32", "date"),
    ("layer", "string", "varchar"),
    ("suite", "string", "varchar"),
    ("expectation_number", "int32", "integer"),
    ("expectation", "string", "varchar"),
    ("column_name", "string", "varchar"),
    ("row_condition", "string", "varchar"),
    ("severity", "string", "varchar"),
    ("is_critical", "bool_", "boolean"),
    ("success", "bool_", "boolean"),
    ("rows_checked", "int64", "bigint"),
    ("unexpected_count", "int64", "bigint"),
    ("unexpected_percent", "float64", "double"),
    ("error", "string", "varchar"),
    ("validated_at", "timestamp_us", "timestamp"),
)


def verdict_path(lake_dir: Path | str, layer: str, interval_start: date | str) -> Path:
    """``<lake>/gate_results/<layer>/dt=YYYY-MM-DD.parquet``."""
    day = interval_start if isinstance(interval_start, str) else interval_start.isoformat()
    return Path(lake_dir) / FOLDER / layer / f"dt={day}.parquet"


def verdict_rows(report: dict, run_id: str, validated_at: datetime) -> list[dict[str, Any]]:
    """One row per expectation of the report (see ``gate.py`` for its shape), in suite order."""
    day = date.fromisoformat(report["interval_start"])
    rows = []
    for suite, table_report in report["tables"].items():
        for number, result in enumerate(table_report["results"], 1):
            count, percent = result.get("unexpected_count"), result.get("unexpected_percent")
            checked = result.get("rows_checked")
            rows.append({
                "run_id": run_id,
                "interval_start": day,
                "layer": report["layer"],
                "suite": suite,
                "expectation_number": number,
                "expectation": result["expectation"],
                "column_name": result.get("column"),
                "row_condition": result.get("condition"),
                "severity": result["severity"],
                "is_critical": result["severity"] == "critical",
                "success": bool(result["success"]),
                "rows_checked": None if checked is None else int(checked),
                "unexpected_count": None if count is None else int(count),
                "unexpected_percent": None if percent is None else float(percent),
                "error": result.get("error") or table_report.get("error"),
                "validated_at": validated_at,
            })  # fmt: skip
    return rows


def arrow_schema():
    """The record's Arrow schema (:data:`COLUMNS`)."""
    import pyarrow as pa

    types = {"string": pa.string(), "date32": pa.date32(), "int32": pa.int32(), "int64": pa.int64(),
             "bool_": pa.bool_(), "float64": pa.float64(), "timestamp_us": pa.timestamp("us")}  # fmt: skip
    return pa.schema([(name, types[arrow]) for name, arrow, _ in COLUMNS])


def write_verdicts(lake_dir: Path | str, report: dict, run_id: str, validated_at: datetime | None = None) -> Path:
    """Write (or replace) the interval's verdict file of the report's layer; returns its path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    when = (validated_at or datetime.now(UTC)).replace(tzinfo=None)
    table = pa.Table.from_pylist(verdict_rows(report, run_id, when), schema=arrow_schema())
    path = verdict_path(lake_dir, report["layer"], report["interval_start"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def interval_files(lake_dir: Path | str, interval_start: date | str) -> list[Path]:
    """The verdict files of one interval, every layer's."""
    day = interval_start if isinstance(interval_start, str) else interval_start.isoformat()
    return sorted((Path(lake_dir) / FOLDER).glob(f"*/dt={day}.parquet"))


def interval_verdicts(lake_dir: Path | str, interval_start: date | str):
    """The interval's verdict files, every layer's, as one Arrow table with :data:`COLUMNS` (a column
    missing from an older file is null), or None when the interval has none."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = interval_files(lake_dir, interval_start)
    if not files:
        return None
    table = pa.concat_tables([pq.read_table(path) for path in files], promote_options="default")
    schema = arrow_schema()
    columns = [table.column(field.name).cast(field.type) if field.name in table.column_names
               else pa.nulls(table.num_rows, field.type) for field in schema]  # fmt: skip
    return pa.Table.from_arrays(columns, schema=schema)


def overlay(con, table: str, lake_dir: Path | str, interval_start: date | str, *, insert=None) -> int:
    """Replace the rows of ``interval_start`` in ``table`` (a copy of the mart) by the interval's
    verdict files (:func:`interval_verdicts`), layer by layer; returns the rows put in.

    Used by ``publish``: the build read the raw gate's verdict, not the marts gate's, which ran after
    it; the served mart shows both verdicts of the run it publishes. ``con`` is a DuckDB connection
    (the serving copy being written), or, with ``insert`` (``insert(table, arrow_rows)``), a DB-API
    cursor with ``%s`` parameters (the Postgres serving schema being written,
    ``postgres_load.publish_postgres``)."""
    rows = interval_verdicts(lake_dir, interval_start)
    if rows is None:
        return 0
    day = interval_start if isinstance(interval_start, str) else interval_start.isoformat()
    layers = sorted(set(rows.column("layer").to_pylist()))
    marks = ", ".join(["?" if insert is None else "%s"] * len(layers))
    mark = "?" if insert is None else "%s"
    con.execute(
        f"delete from {table} where interval_start = cast({mark} as date) and layer in ({marks})", [day, *layers]
    )
    if insert is None:
        columns = ", ".join(f'"{name}"' for name, _, _ in COLUMNS)
        con.register("intent_interval_verdicts", rows)
        try:
            con.execute(f"insert into {table} ({columns}) select {columns} from intent_interval_verdicts")
        finally:
            con.unregister("intent_interval_verdicts")
    else:
        insert(table, rows)
    return rows.num_rows
