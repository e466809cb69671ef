"""The raw lake: Parquet partitions of raw and quarantined rows, and the extract manifests.

Layout (docs/contracts.md, "Raw lake")::

    <lake>/raw/<table>/dt=YYYY-MM-DD/part-0.parquet
    <lake>/quarantine/<table>/dt=YYYY-MM-DD/part-0.parquet
    <lake>/manifests/<source>/dt=YYYY-MM-DD.json

The column lists below are the one place the raw schemas are defined. They are
plain tuples so that importing this module stays cheap; the pyarrow schemas
(:data:`SCHEMAS`, :data:`QUARANTINE_SCHEMA`) are built on first access.

A partition is written into a hidden temp folder next to it (``.tmp-dt=…``, which
the readers' ``dt=*`` glob never matches) and swapped into place when complete,
so a re-run of an interval replaces it: no duplicates, nothing half written.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from intent_pipeline.intervals import interval_day

ZONES = ("raw", "quarantine")
PART_FILE = "part-0.parquet"

# Columns every raw row and every quarantined row carries.
META_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_source_file", "string"),  # landing path relative to the landing root: <source>/dt=YYYY-MM-DD/<file>
    ("_row_number", "int64"),  # 1-based data row (CSV/XLSX), line (JSONL) or array index (SendGrid)
    ("_loaded_at", "timestamp"),
    ("_batch_id", "string"),
    ("_interval_start", "date"),
)

# Business columns of each raw table, in contract order; every raw table ends with
# ``extra`` (unknown input columns as JSON text) and the META_COLUMNS.
TABLE_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "forms_submissions": (
        ("submission_id", "string"),
        ("form_tool", "string"),
        ("form_name", "string"),
        ("full_name", "string"),
        ("email", "string"),
        ("phone", "string"),
        ("phone_raw", "string"),
        ("company", "string"),
        ("job_title", "string"),
        ("industry", "string"),
        ("company_size", "string"),
        ("lead_source", "string"),
        ("client_id", "string"),
        ("submitted_at", "timestamp"),
        ("consent", "string"),  # the form's consent checkbox as exported (staging reads it as a boolean)
    ),
    "email_events": (
        ("sg_event_id", "string"),
        ("sg_message_id", "string"),
        ("event", "string"),
        ("email", "string"),
        ("url", "string"),
        ("useragent", "string"),
        ("ip", "string"),
        ("reason", "string"),
        ("status", "string"),
        ("bounce_type", "string"),
        ("categories", "string"),
        ("marketing_campaign_id", "string"),
        ("event_at", "timestamp"),
    ),
    "web_events": (
        ("event_id", "string"),
        ("event_name", "string"),
        ("user_pseudo_id", "string"),
        ("user_id", "string"),
        ("page_location", "string"),
        ("page_title", "string"),
        ("page_referrer", "string"),
        ("first_user_source", "string"),
        ("first_user_medium", "string"),
        ("first_user_campaign", "string"),
        ("source", "string"),
        ("medium", "string"),
        ("campaign", "string"),
        ("gclid", "string"),
        ("device_category", "string"),
        ("country", "string"),
        ("city", "string"),
        ("event_params", "string"),
        ("ga_session_id", "int64"),
        ("engagement_time_msec", "int64"),
        ("event_date", "date"),
        ("event_at", "timestamp"),
        ("analytics_storage", "string"),  # GA4 privacy_info.analytics_storage: 'No' = consent denied (cookieless)
    ),
    "crm_leads": (
        ("lead_id", "string"),
        ("email", "string"),
        ("phone", "string"),
        ("phone_raw", "string"),
        ("full_name", "string"),
        ("company", "string"),
        ("job_title", "string"),
        ("industry", "string"),
        ("company_size", "string"),
        ("region", "string"),
        ("owner", "string"),
        ("status", "string"),
        ("lead_source", "string"),
        ("created_at", "timestamp"),
        ("updated_at", "timestamp"),
        ("email_opt_out", "string"),  # Salesforce HasOptedOutOfEmail / HubSpot hs_email_optout, as exported
    ),
    "crm_opportunities": (
        ("opportunity_id", "string"),
        ("lead_id", "string"),
        ("opportunity_name", "string"),
        ("stage", "string"),
        ("currency", "string"),
        ("amount", "double"),
        ("is_closed", "bool"),
        ("is_won", "bool"),
        ("created_at", "timestamp"),
        ("closed_at", "timestamp"),
        ("stage_changed_at", "timestamp"),
    ),
    "crm_orders": (
        ("order_id", "string"),
        ("lead_id", "string"),
        ("email", "string"),
        ("currency", "string"),
        ("amount", "double"),
        ("ordered_at", "timestamp"),
    ),
    "crm_activities": (
        ("activity_id", "string"),
        ("lead_id", "string"),
        ("activity_type", "string"),
        ("subject", "string"),
        ("owner", "string"),
        ("activity_at", "timestamp"),
        ("outcome", "string"),  # optional in the export: a call's disposition, a meeting's outcome, as exported
    ),
}

QUARANTINE_COLUMNS: tuple[tuple[str, str], ...] = (*META_COLUMNS, ("reason", "string"), ("raw_content", "string"))

# Which raw tables each source's extract writes.
SOURCE_TABLES: dict[str, tuple[str, ...]] = {
    "forms": ("forms_submissions",),
    "email": ("email_events",),
    "web": ("web_events",),
    "crm": ("crm_leads", "crm_opportunities", "crm_orders", "crm_activities"),
}


def raw_columns(table: str) -> tuple[tuple[str, str], ...]:
    """All columns of a raw table in file order: business columns, ``extra``, then the metadata."""
    return (*TABLE_COLUMNS[table], ("extra", "string"), *META_COLUMNS)


def _arrow_type(name: str):
    import pyarrow as pa

    return {
        "string": pa.string(),
        "int64": pa.int64(),
        "double": pa.float64(),
        "bool": pa.bool_(),
        "timestamp": pa.timestamp("us"),  # naive UTC, microseconds (contract)
        "date": pa.date32(),
    }[name]


@cache
def _schemas() -> dict:
    import pyarrow as pa

    return {
        table: pa.schema([pa.field(name, _arrow_type(kind)) for name, kind in raw_columns(table)])
        for table in TABLE_COLUMNS
    }


@cache
def _quarantine_schema():
    import pyarrow as pa

    return pa.schema([pa.field(name, _arrow_type(kind)) for name, kind in QUARANTINE_COLUMNS])


def __getattr__(name: str) -> Any:
    # SCHEMAS and QUARANTINE_SCHEMA are built lazily so `import intent_pipeline.lake` never imports pyarrow.
    if name == "SCHEMAS":
        return _schemas()
    if name == "QUARANTINE_SCHEMA":
        return _quarantine_schema()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def schema_for(zone: str, table: str):
    """The pyarrow schema of ``table`` in ``zone`` (``raw`` or ``quarantine``)."""
    _check(zone, table)
    return _schemas()[table] if zone == "raw" else _quarantine_schema()


def _check(zone: str, table: str) -> None:
    if zone not in ZONES:
        raise ValueError(f"zone must be one of {ZONES}, got {zone!r}")
    if table not in TABLE_COLUMNS:
        raise ValueError(f"unknown raw table {table!r}; known: {', '.join(TABLE_COLUMNS)}")


def partition_dir(lake_dir: Path | str, zone: str, table: str, interval_start: date | datetime | str) -> Path:
    """Folder of one interval's partition: ``<lake>/<zone>/<table>/dt=YYYY-MM-DD``."""
    _check(zone, table)
    return Path(lake_dir) / zone / table / f"dt={interval_day(interval_start).isoformat()}"


def partition_path(lake_dir: Path | str, zone: str, table: str, interval_start: date | datetime | str) -> Path:
    """The Parquet file of one interval's partition: ``<lake>/<zone>/<table>/dt=YYYY-MM-DD/part-0.parquet``."""
    return partition_dir(lake_dir, zone, table, interval_start) / PART_FILE


def raw_glob(lake_dir: Path | str, table: str) -> str:
    """The glob dbt (and GX) read for a raw table: every interval's partition."""
    _check("raw", table)
    return str(Path(lake_dir) / "raw" / table / "dt=*" / "*.parquet")


def quarantine_glob(lake_dir: Path | str, table: str) -> str:
    """The glob of a table's quarantined rows over every interval."""
    _check("quarantine", table)
    return str(Path(lake_dir) / "quarantine" / table / "dt=*" / "*.parquet")


def manifest_path(lake_dir: Path | str, source: str, interval_start: date | datetime | str) -> Path:
    """``<lake>/manifests/<source>/dt=YYYY-MM-DD.json``."""
    return Path(lake_dir) / "manifests" / source / f"dt={interval_day(interval_start).isoformat()}.json"


class CorruptPartition(ValueError):
    """A partition file exists but cannot be read (truncated, half-copied, not Parquet)."""


class PartitionWriter:
    """Writes one partition in row groups into a temp folder; :meth:`commit` swaps it into place.

    Use as a context manager: leaving the block with an exception removes the temp
    folder and leaves the previous partition untouched.
    """

    def __init__(self, lake_dir: Path | str, zone: str, table: str, interval_start: date | datetime | str):
        self.final_dir = partition_dir(lake_dir, zone, table, interval_start)
        self.schema = schema_for(zone, table)
        self.tmp_dir = self.final_dir.with_name(f".tmp-{self.final_dir.name}-{uuid.uuid4().hex[:12]}")
        self._writer = None
        self.rows = 0
        self.committed = False
        self._remove_leftovers()

    def _remove_leftovers(self) -> None:
        # A killed writer of this partition (one writer per partition at a time) leaves hidden temp folders.
        parent = self.final_dir.parent
        if parent.exists():
            for prefix in (".tmp-", ".trash-"):
                for leftover in parent.glob(f"{prefix}{self.final_dir.name}-*"):
                    shutil.rmtree(leftover, ignore_errors=True)

    def _open(self):
        import pyarrow.parquet as pq

        if self._writer is None:
            self.tmp_dir.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(str(self.tmp_dir / PART_FILE), self.schema, compression="zstd")
        return self._writer

    def write(self, table) -> None:
        """Append a pyarrow Table (cast to the partition's schema) as one or more row groups."""
        if table.num_rows == 0:
            return
        table = table.select(self.schema.names).cast(self.schema)
        self._open().write_table(table)
        self.rows += table.num_rows

    def commit(self) -> Path:
        """Close the file (an empty one with the full schema if nothing was written) and swap it into place."""
        writer = self._open()
        writer.close()
        self._writer = None
        final = self.final_dir
        trash = final.with_name(f".trash-{final.name}-{uuid.uuid4().hex[:12]}")
        # A directory cannot be replaced by rename() in one step; the old one is moved aside first and
        # removed after, so a reader sees either the old or the new partition except for that instant.
        if final.exists():
            os.rename(final, trash)
        os.rename(self.tmp_dir, final)
        shutil.rmtree(trash, ignore_errors=True)
        self.committed = True
        return final / PART_FILE

    def abort(self) -> None:
        """Drop what was written; the previous partition stays as it was."""
        if self._writer is not None:
            try:
                self._writer.close()
            finally:
                self._writer = None
        shutil.rmtree(self.tmp_dir, ignore_errors=True)

    def __enter__(self) -> PartitionWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None or not self.committed:
            self.abort()


def to_arrow(zone: str, table: str, table_or_rows):
    """A pyarrow Table with exactly the zone/table schema from a Table, a pandas DataFrame or a list of row dicts.

    Missing columns are filled with nulls; unknown columns are an error (they would be lost silently).
    """
    import pyarrow as pa

    schema = schema_for(zone, table)
    if isinstance(table_or_rows, list):
        unknown = {key for row in table_or_rows for key in row} - set(schema.names)
        if unknown:
            raise ValueError(f"{zone}/{table}: unknown columns {sorted(unknown)}")
        columns = {name: [row.get(name) for row in table_or_rows] for name in schema.names}
        return pa.Table.from_pydict(columns, schema=schema)
    if not isinstance(table_or_rows, pa.Table):
        table_or_rows = pa.Table.from_pandas(table_or_rows, preserve_index=False)
    unknown = set(table_or_rows.column_names) - set(schema.names)
    if unknown:
        raise ValueError(f"{zone}/{table}: unknown columns {sorted(unknown)}")
    for name in schema.names:
        if name not in table_or_rows.column_names:
            table_or_rows = table_or_rows.append_column(name, pa.nulls(table_or_rows.num_rows, schema.field(name).type))
    return table_or_rows.select(schema.names).cast(schema)


def write_partition(
    lake_dir: Path | str, zone: str, table: str, interval_start: date | datetime | str, table_or_rows
) -> Path:
    """Replace one interval's partition atomically with ``table_or_rows``; returns the Parquet file's path.

    ``table_or_rows``: a pyarrow Table, a pandas DataFrame or a list of row dicts. An empty input
    still writes a Parquet file with the full schema, so readers' globs always match.
    """
    data = to_arrow(zone, table, table_or_rows)
    with PartitionWriter(lake_dir, zone, table, interval_start) as writer:
        writer.write(data)
        return writer.commit()


def read_partition(lake_dir: Path | str, zone: str, table: str, interval_start: date | datetime | str):
    """One interval's partition as a **pyarrow Table** (``.to_pandas()`` if you need a DataFrame).

    Raises FileNotFoundError when the interval was never extracted, :class:`CorruptPartition` (naming the
    file and the table) when its file cannot be read.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = partition_path(lake_dir, zone, table, interval_start)
    if not path.exists():
        raise FileNotFoundError(f"no {zone} partition for {table} at {path} (interval not extracted?)")
    try:
        return pq.read_table(str(path), schema=schema_for(zone, table))
    except pa.ArrowException as exc:  # a damaged file: say which one, of which table
        raise CorruptPartition(
            f"{zone} partition of {table} at {path} cannot be read: {type(exc).__name__}: {exc} "
            "(re-run the extract of this interval to rewrite it)"
        ) from exc


def write_manifest(lake_dir: Path | str, source: str, interval_start: date | datetime | str, manifest: dict) -> Path:
    """Write a manifest atomically (temp file, then rename)."""
    path = manifest_path(lake_dir, source, interval_start)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_manifest(lake_dir: Path | str, source: str, interval_start: date | datetime | str) -> dict:
    """The manifest of one source's extract of an interval. Raises FileNotFoundError when there is none."""
    path = manifest_path(lake_dir, source, interval_start)
    if not path.exists():
        raise FileNotFoundError(f"no manifest for {source} at {path} (interval not extracted?)")
    return json.loads(path.read_text(encoding="utf-8"))
