"""Load the raw lake into PostgreSQL, for ``dbt build`` on the ``postgres`` target (docs/portability.md).

dbt-duckdb reads the Parquet lake in place; dbt-postgres cannot, so the sources of the project
(``schema: raw`` in ``models/staging/*/_*__sources.yml``) are tables of schema ``raw`` on
Postgres with the lake's table names and columns (:func:`intent_pipeline.lake.raw_columns`).

* :func:`load_interval` copies one interval's raw partitions (``raw/<table>/dt=<day>/``) in one
  transaction: it deletes the rows of that interval (``_interval_start``) and copies the partition
  in, so re-loading a day neither duplicates nor drops a row, and a day whose partition is gone
  (erased, or never extracted) has no rows left. The row count of each table is checked against
  the partition's before the commit.
* The activation history and the privacy audit (sources ``activation`` and ``privacy``) are small
  whole tables that other steps rewrite: :func:`load_interval` replaces them whole each time.

Connection settings come from the same environment variables as the dbt profile
(``INTENT_PG_HOST``, ``INTENT_PG_PORT``, ``INTENT_PG_USER``, ``INTENT_PG_PASSWORD``,
``INTENT_PG_DBNAME``), or as a mapping of psycopg2 keyword arguments.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from intent_pipeline import lake
from intent_pipeline.intervals import interval_day
from intent_pipeline.precomputed import (
    ATTRIBUTION_MODEL,
    POSTGRES,
    fingerprint_sql,
    frame_of,
    run_precomputed,
    sql_type,
)

SCHEMA = "raw"
PG_TYPES = {
    "string": "text",
    "int64": "bigint",
    "double": "double precision",
    "bool": "boolean",
    "timestamp": "timestamp",
    "date": "date",
}
# The other lake folders the project reads as sources (activation/history.py, privacy/audit.py):
# table name -> path under the lake whose */*.parquet files are the whole table.
WHOLE_TABLES = {
    "activation_runs": "activation/activation_runs",
    "activation_row_log": "activation/activation_row_log",
    "activation_dead_letter": "activation/activation_dead_letter",
    "activation_told": "activation/activation_told",
    "audit": "audit",
    # the quality gates' verdicts (<lake>/gate_results/<layer>/dt=<day>.parquet, quality/verdicts.py)
    "gate_results": "gate_results",
}
# The extract manifests (<lake>/manifests/<source>/dt=<day>.json), one row per source and interval
# with the document as json, for marts.quarantine_daily (macro postgres__extract_manifests).
MANIFESTS = "extract_manifests"


class LoadError(RuntimeError):
    """A partition could not be loaded as it is (the transaction was rolled back)."""


def connection_params(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """psycopg2 keyword arguments from the dbt profile's environment variables (``Settings.pg_*``)."""
    from intent_pipeline.settings import Settings

    settings = Settings.from_env(env)
    return {
        "host": settings.pg_host,
        "port": settings.pg_port,
        "user": settings.pg_user,
        "password": settings.pg_password,
        "dbname": settings.pg_dbname,
    }


def connect(connection: Mapping[str, Any] | None = None) -> Any:
    """A psycopg2 connection with the keyword arguments ``connection``, else to the server the
    settings name (:func:`connection_params`)."""
    import psycopg2

    return psycopg2.connect(**(dict(connection) if connection is not None else connection_params()))


@contextmanager
def connected(connection: Mapping[str, Any] | None = None) -> Iterator[Any]:
    """A connection (:func:`connect`) closed when the block ends: psycopg2's own ``with con`` ends a
    transaction but leaves the connection open."""
    con = connect(connection)
    try:
        yield con
    finally:
        con.close()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _csv(table) -> io.BytesIO:
    """The Arrow table as CSV for COPY: nulls unquoted and empty, every string quoted (so that an
    empty string stays an empty string, not a null)."""
    import pyarrow.csv as pacsv

    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    buffer.seek(0)
    return buffer


def _copy(cursor, qualified: str, table) -> None:
    columns = ", ".join(_quote(name) for name in table.column_names)
    cursor.copy_expert(f"copy {qualified} ({columns}) from stdin with (format csv, null '')", _csv(table))


def _ensure_raw_table(cursor, table: str) -> None:
    columns = ", ".join(f"{_quote(name)} {PG_TYPES[kind]}" for name, kind in lake.raw_columns(table))
    cursor.execute(f"create table if not exists {SCHEMA}.{_quote(table)} ({columns})")
    # the interval's rows are deleted and re-copied on every load: the index keeps that cheap
    cursor.execute(
        f"create index if not exists {_quote(table + '__interval')} on {SCHEMA}.{_quote(table)} (_interval_start)"
    )


def _read_folder(folder: Path, schema=None):
    """Every Parquet file under ``folder`` (``*.parquet`` directly, or one level down) as one table."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted(folder.glob("*.parquet")) or sorted(folder.glob("*/*.parquet"))
    if not files:
        return None
    tables = [pq.read_table(path) for path in files]
    if schema is not None:
        tables = [t.select([n for n in schema.names if n in t.column_names]) for t in tables]
    return pa.concat_tables(tables, promote_options="default")


def _load_whole_table(cursor, lake_dir: Path, table: str, folder: str) -> int:
    data = _read_folder(lake_dir / folder)
    qualified = f"{SCHEMA}.{_quote(table)}"
    # cascade: the staging view over it (stg_quality__gate_results) goes too; the build that follows
    # every load re-creates it
    cursor.execute(f"drop table if exists {qualified} cascade")
    if data is None:
        return 0  # not written yet: dbt reads an empty table (macros activation_history, privacy_audit_records)
    columns = ", ".join(f"{_quote(f.name)} {sql_type(f.type, POSTGRES)}" for f in data.schema)
    cursor.execute(f"create table {qualified} ({columns})")
    _copy(cursor, qualified, data)
    return data.num_rows


def _load_manifests(cursor, lake_dir: Path, day: date) -> int:
    """Replace the interval's extract manifests (one per source that has one) in ``raw.extract_manifests``."""
    qualified = f"{SCHEMA}.{_quote(MANIFESTS)}"
    cursor.execute(f"create table if not exists {qualified} (source text, interval_start date, json json)")
    cursor.execute(f"delete from {qualified} where interval_start = %s", (day,))
    # every source's, as the DuckDB build reads <lake>/manifests/*/dt=*.json
    paths = sorted((lake_dir / "manifests").glob(f"*/{lake.manifest_path(lake_dir, 'any', day).name}"))
    for path in paths:
        cursor.execute(
            f"insert into {qualified} (source, interval_start, json) values (%s, %s, %s)",
            (path.parent.name, day, path.read_text(encoding="utf-8")),
        )
    return len(paths)


def load_interval(
    lake_dir: Path | str,
    interval_start: date | datetime | str,
    connection: Mapping[str, Any] | None = None,
    tables: Iterable[str] | None = None,
) -> dict[str, int]:
    """Replace one interval's rows of every raw table in Postgres by the lake's partitions.

    Returns the rows loaded per table (raw tables and the whole tables). One transaction: either
    every table of the interval is replaced or none is.
    """
    lake_dir = Path(lake_dir)
    day = interval_day(interval_start)
    counts: dict[str, int] = {}
    with connected(connection) as con:
        with con, con.cursor() as cursor:
            cursor.execute(f"create schema if not exists {SCHEMA}")
            for table in tables or lake.TABLE_COLUMNS:
                _ensure_raw_table(cursor, table)
                qualified = f"{SCHEMA}.{_quote(table)}"
                cursor.execute(f"delete from {qualified} where _interval_start = %s", (day,))
                data = _read_folder(lake.partition_dir(lake_dir, "raw", table, day), lake.schema_for("raw", table))
                rows = 0
                if data is not None and data.num_rows:
                    wrong = set(data.column("_interval_start").to_pylist()) - {day}
                    if wrong:
                        raise LoadError(f"{table} dt={day}: rows of other intervals in the partition: {sorted(wrong)}")
                    _copy(cursor, qualified, data)
                    rows = data.num_rows
                cursor.execute(f"select count(*) from {qualified} where _interval_start = %s", (day,))
                (in_postgres,) = cursor.fetchone()
                if in_postgres != rows:
                    raise LoadError(f"{table} dt={day}: {rows} rows in the lake, {in_postgres} in Postgres")
                counts[table] = rows
            if tables is None:
                for table, folder in WHOLE_TABLES.items():
                    counts[table] = _load_whole_table(cursor, lake_dir, table, folder)
                counts[MANIFESTS] = _load_manifests(cursor, lake_dir, day)
    return counts


def lake_days(lake_dir: Path | str) -> list[date]:
    """Every interval that has a raw partition in the lake, oldest first."""
    days = {
        date.fromisoformat(folder.name.removeprefix("dt="))
        for table in lake.TABLE_COLUMNS
        for folder in (Path(lake_dir) / "raw" / table).glob("dt=*")
        if folder.is_dir()
    }
    return sorted(days)


def load_lake(lake_dir: Path | str, connection: Mapping[str, Any] | None = None) -> dict[str, int]:
    """Load every interval of the lake (a first load, or a backfill): rows per table in total."""
    totals: dict[str, int] = {}
    for day in lake_days(lake_dir):
        for table, rows in load_interval(lake_dir, day, connection).items():
            totals[table] = rows if table in WHOLE_TABLES else totals.get(table, 0) + rows
    return totals


def _frame(cursor):
    """The executed cursor's rows as a DataFrame: numeric as floats, timestamps as pandas times (as a
    DuckDB read gives them)."""
    return frame_of([column.name for column in cursor.description], cursor.fetchall())


class _PostgresEngine:
    """The Postgres side of the precomputed route (intent_pipeline.precomputed), on one cursor."""

    def __init__(self, cursor):
        self.cursor = cursor

    def fingerprint(self, relation: str) -> str:
        self.cursor.execute(fingerprint_sql(relation, POSTGRES))
        return self.cursor.fetchone()[0]

    def read_frame(self, relation: str):
        self.cursor.execute(f"select * from {relation}")
        return _frame(self.cursor)

    def write(self, table, fingerprint: str, settings: str) -> None:
        cursor = self.cursor
        qualified = f"{SCHEMA}.{_quote(ATTRIBUTION_MODEL)}"
        stamp = f"{SCHEMA}.{_quote(ATTRIBUTION_MODEL + '__computed_from')}"
        cursor.execute(f"create schema if not exists {SCHEMA}")
        cursor.execute(f"drop table if exists {qualified}")
        columns = ", ".join(f"{_quote(f.name)} {sql_type(f.type, POSTGRES)}" for f in table.schema)
        cursor.execute(f"create table {qualified} ({columns})")
        if table.num_rows:
            _copy(cursor, qualified, table)
        cursor.execute(f"drop table if exists {stamp}")
        cursor.execute(f"create table {stamp} (fingerprint text, settings text)")
        cursor.execute(f"insert into {stamp} values (%s, %s)", (fingerprint, settings))


def attribute_postgres(manifest_path: Path | str, connection: Mapping[str, Any] | None = None) -> int:
    """Run the Python model ``attribution_touch_credits`` on the ``int_attribution_journeys`` dbt
    built on Postgres, and write ``raw.attribution_touch_credits`` and its fingerprint for the
    ``precomputed`` materialization (``precomputed.run_precomputed``, in one transaction). Returns
    the rows written."""
    with connected(connection) as con:
        with con, con.cursor() as cursor:
            return run_precomputed(manifest_path, _PostgresEngine(cursor))


# PostgreSQL's JIT compiles a query's expressions with LLVM when its estimated cost is above
# jit_above_cost. The planner's estimates for the project's larger models (the matcher's pairs:
# blocking-key joins over CTEs, estimated at 11.6M for 153 records) are far above it, so each
# compiled once per build for 40-230 s (the whole query then ran in 0.6 s): JIT suits a long query
# run many times, not a build's many once-run queries. Sent with every connection of the build's
# dbt processes (libpq reads PGOPTIONS), so it needs no role or database setting on the server.
BUILD_SESSION_OPTIONS = "-c jit=off"


def build_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with :data:`BUILD_SESSION_OPTIONS` added to ``PGOPTIONS`` for dbt's connections (an
    explicit ``jit`` setting in ``PGOPTIONS`` wins: it comes after)."""
    options = env.get("PGOPTIONS", "")
    return {**env, "PGOPTIONS": f"{BUILD_SESSION_OPTIONS} {options}".strip()}


def _node_seconds(run_results: Path) -> dict[str, float]:
    """dbt's node time per kind of node (``seed``, ``model``, ``test``) in a ``run_results.json``."""
    import json

    if not run_results.exists():
        return {}
    seconds: dict[str, float] = {}
    for result in json.loads(run_results.read_text())["results"]:
        kind = result["unique_id"].split(".")[0]
        seconds[kind] = round(seconds.get(kind, 0.0) + result["execution_time"], 2)
    return seconds


def build_postgres(
    dbt_command: list[str],
    env: Mapping[str, str],
    target_path: Path | str,
    *build_args: str,
    connection: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``dbt build`` of the whole project on the postgres target, around the one Python model:
    every node but ``attribution_touch_credits`` and its children, the step
    :func:`attribute_postgres`, then the model and its children (their tests included).

    ``dbt_command`` is the dbt executable with the project options (``--project-dir``,
    ``--profiles-dir``, ``--target-path target_path``); ``env`` has ``DBT_TARGET=postgres`` and
    the profile's variables (dbt runs with :func:`build_env`'s). Returns the seconds of each phase,
    the first phase's node seconds per kind (``phase1_node_seconds``: seeds, models, tests) and the
    two ``CompletedProcess``. Raises :class:`LoadError` when a phase fails. Each phase is a ``dbt``
    process, or a child of the dbt fork server when one is configured (``dbt_fork.run``), in this
    process's folder.
    """
    import time

    from intent_pipeline import dbt_fork

    env = build_env(env)
    timings: dict[str, Any] = {}

    def phase(name: str, *selection: str) -> None:
        started = time.perf_counter()
        done = dbt_fork.run([*dbt_command[:1], "build", *dbt_command[1:], *selection, *build_args], env, Path.cwd())
        timings[f"{name}_seconds"] = time.perf_counter() - started
        timings[name] = done
        if done.returncode != 0:
            raise LoadError(f"dbt build on postgres failed:\n{done.stdout[-6000:]}\n{done.stderr[-2000:]}")

    phase("phase1", "--exclude", f"{ATTRIBUTION_MODEL}+")
    timings["phase1_node_seconds"] = _node_seconds(Path(target_path) / "run_results.json")  # phase 2 replaces it
    started = time.perf_counter()
    timings["attribution_rows"] = attribute_postgres(Path(target_path) / "manifest.json", connection)
    timings["attribution_seconds"] = time.perf_counter() - started
    phase("phase2", "--select", f"{ATTRIBUTION_MODEL}+")
    return timings


SERVING_SCHEMA = "serving"
PUBLISHED_TABLE = "published"
MASKED_TABLE = "masked_columns"


class PublishError(RuntimeError):
    """The marts could not be published to the serving schema (nothing was swapped in)."""


def publish_postgres(
    connection: Mapping[str, Any] | None = None,
    *,
    run_id: str = "",
    interval_start: str = "",
    source_schema: str = "marts",
    schema: str = SERVING_SCHEMA,
    readers: Iterable[str] = (),
    pii: Mapping[str, Mapping[str, str]] | None = None,
    mask: bool | None = None,
    lake_dir: Path | str | None = None,
    parquet_dir: Path | None = None,
) -> dict[str, Any]:
    """Publish the validated marts (every table and view of ``source_schema``: the run's snapshot,
    :func:`snapshot_postgres`) to schema ``schema``, the Postgres counterpart of the DuckDB serving
    copy (docs/portability.md, "The serving schema").

    The copy is made in schema ``<schema>__next`` and committed; then one short transaction swaps
    it in (``<schema>`` renamed to ``<schema>__previous``, ``<schema>__next`` to ``<schema>``).
    Renaming a schema takes no lock on its tables, so the swap never waits for a reader: a query
    sees the old tables or the new ones, never a mix and never a half-copied one, and the build
    that follows (which replaces ``marts``, not ``serving``) never waits for BI. The previous
    copy is dropped at the start of the next publish (which waits for a reader still inside a
    transaction begun before the last swap). ``readers``: roles granted ``usage`` on the new schema
    and ``select`` on its tables before the swap (a schema's grants do not move with its name); a
    role that does not exist fails the publish before anything is copied.

    ``lake_dir`` (the DAG's publish gives it) with ``interval_start``: the interval's quality-gate
    verdicts in the lake replace that interval's rows of ``quality_gate_results`` in the copy
    (``quality.verdicts.overlay``, as the DuckDB publish does: the marts gate ran after the build),
    and the publish is recorded in the audit trail (``serving.record_publish``).
    ``parquet_dir`` (the DAG's: the serving folder, ``serving.serving_dir``): the copy's marts are
    also written there as a new Parquet version (``parquet/<version>/<mart>.parquet``, ``current``
    swapped to it, and ``published.json``), as the DuckDB publish writes them, so the dashboards and
    file-reading BI show the run published on Postgres.

    Columns tagged ``meta: {pii: true}`` (``pii``: ``{mart: {column: rule}}``, default
    ``privacy.serving_mask.pii_columns``) are masked as in the DuckDB serving copy unless ``mask`` is
    False (default ``INTENT_SERVING_MASK``, on): :func:`_masked_copy`; ``<schema>.masked_columns``
    lists them. ``<schema>.published`` holds the run, the interval, the time and the row counts.
    Returns ``{"schema", "run_id", "tables": {mart: rows}, "rows", "masked_columns", "readers",
    "gate_verdicts_added", "parquet", "seconds"}``.
    """
    import shutil
    import time

    from intent_pipeline import serving
    from intent_pipeline.privacy import serving_mask
    from intent_pipeline.quality import verdicts

    readers = tuple(readers)
    mask, tagged_pii = serving_mask.publish_masking(mask, pii)
    started = time.perf_counter()
    next_schema, previous = _quote(schema + "__next"), _quote(schema + "__previous")
    counts: dict[str, int] = {}
    masked_columns: dict[str, dict[str, str]] = {}
    overlaid = 0
    version = serving.new_version()
    tmp_parquet = serving.parquet_tmp(parquet_dir, version) if parquet_dir is not None else None
    con = connect(connection)
    try:
        with con, con.cursor() as cursor:
            if readers:
                cursor.execute("select rolname from pg_roles where rolname = any(%s)", (list(readers),))
                missing = sorted(set(readers) - {row[0] for row in cursor.fetchall()})
                if missing:
                    raise PublishError(f"reader role(s) {', '.join(missing)} do not exist on the server: create "
                                       "them (create role ... nologin) or change INTENT_PG_READER_ROLES")  # fmt: skip
            cursor.execute(f"drop schema if exists {previous} cascade")
            cursor.execute(f"drop schema if exists {next_schema} cascade")
            cursor.execute(f"create schema {next_schema}")
            cursor.execute(
                "select table_name from information_schema.tables where table_schema = %s"
                " and table_type in ('BASE TABLE', 'VIEW') order by table_name",
                (source_schema,),
            )
            marts = [row[0] for row in cursor.fetchall()]
            if not marts:
                raise PublishError(f"schema {source_schema} has no tables on Postgres: nothing to publish")
            masking = _Masking(cursor, serving_mask.maskers()) if mask else None
            for mart in marts:
                copied = f"{next_schema}.{_quote(mart)}"
                source = f"{_quote(source_schema)}.{_quote(mart)}"
                present = _tagged_columns(cursor, source_schema, mart, tagged_pii.get(mart, {})) if mask else {}
                if present and masking is not None:
                    masked_columns[mart] = present
                    counts[mart] = masking.copy(source, copied, source_schema, mart, present)
                else:
                    cursor.execute(f"create table {copied} as table {source}")
                    counts[mart] = cursor.rowcount
                if mart == verdicts.MART and lake_dir is not None and interval_start:
                    # the build knew the raw gate's verdict of its interval, not the marts gate's (run after it)
                    overlaid = verdicts.overlay(cursor, copied, lake_dir, interval_start,
                                                insert=lambda table, rows: _copy(cursor, table, rows))  # fmt: skip
                    cursor.execute(f"select count(*) from {copied}")
                    counts[mart] = cursor.fetchone()[0]
            if tmp_parquet is not None:
                tmp_parquet.mkdir(parents=True)
                for mart in marts:
                    _write_parquet(cursor, schema + "__next", mart, tmp_parquet / f"{mart}.parquet")
            cursor.execute(
                f"create table {next_schema}.{PUBLISHED_TABLE} (run_id text, interval_start text,"
                " published_at timestamptz, tables integer, rows bigint)"
            )
            cursor.execute(
                f"insert into {next_schema}.{PUBLISHED_TABLE} values (%s, %s, now(), %s, %s)",
                (run_id, interval_start, len(counts), sum(counts.values())),
            )
            # which columns BI sees masked, and how (docs/privacy.md, "Masked BI"), as in the DuckDB copy
            cursor.execute(f"create table {next_schema}.{MASKED_TABLE} (mart text, column_name text, rule text)")
            for mart, found in masked_columns.items():
                for column, rule in found.items():
                    cursor.execute(f"insert into {next_schema}.{MASKED_TABLE} values (%s, %s, %s)",
                                   (mart, column, rule))  # fmt: skip
            for role in readers:
                cursor.execute(f"grant usage on schema {next_schema} to {_quote(role)}")
                cursor.execute(f"grant select on all tables in schema {next_schema} to {_quote(role)}")
        with con, con.cursor() as cursor:  # the swap: two renames, one transaction
            cursor.execute("select 1 from pg_namespace where nspname = %s", (schema,))
            if cursor.fetchone():
                cursor.execute(f"alter schema {_quote(schema)} rename to {previous}")
            cursor.execute(f"alter schema {next_schema} rename to {_quote(schema)}")
        parquet = None
        if parquet_dir is not None and tmp_parquet is not None:  # the files BI and the dashboards read
            parquet = serving.swap_in_parquet(parquet_dir, tmp_parquet, version)
            serving.write_manifest(parquet_dir, {
                "run_id": run_id, "interval_start": interval_start, "version": version,
                "published_at": datetime.now(UTC).isoformat(), "engine": "postgres",
                "source": source_schema, "schema": schema, "database": None,
                "parquet": str(parquet_dir / serving.PARQUET_DIR / serving.CURRENT), "marts": counts,
                "masked": bool(mask), "masked_columns": masked_columns, "gate_verdicts_added": overlaid,
                "publish_seconds": round(time.perf_counter() - started, 3),
            })  # fmt: skip
        if lake_dir is not None:
            serving.record_publish(lake_dir, counts, run_id=run_id, interval_start=interval_start, version=version)
    except BaseException:
        if tmp_parquet is not None:
            shutil.rmtree(tmp_parquet, ignore_errors=True)
        raise
    finally:
        con.close()
    return {"schema": schema, "run_id": run_id, "tables": counts, "rows": sum(counts.values()),
            "masked_columns": masked_columns, "readers": list(readers), "gate_verdicts_added": overlaid,
            "parquet": str(parquet) if parquet else None,
            "seconds": round(time.perf_counter() - started, 2)}  # fmt: skip


def _parquet_type(udt: str, precision: int | None, scale: int | None):
    """The Arrow type a Postgres column's values keep in the serving Parquet (None: written as text)."""
    import pyarrow as pa

    if udt == "numeric":
        return pa.decimal128(precision, scale or 0) if precision else pa.float64()
    return {"int2": pa.int16(), "int4": pa.int32(), "int8": pa.int64(), "float4": pa.float32(),
            "float8": pa.float64(), "bool": pa.bool_(), "date": pa.date32(), "text": pa.string(),
            "varchar": pa.string(), "bpchar": pa.string(), "timestamp": pa.timestamp("us"),
            "timestamptz": pa.timestamp("us", tz="UTC")}.get(udt)  # fmt: skip


def _write_parquet(cursor, schema: str, table: str, path: Path) -> int:
    """``schema.table`` as one Parquet file (zstd, as the DuckDB publish writes them), its columns'
    types kept (:func:`_parquet_type`; numeric without a precision as double, any other type as
    its text); returns the rows written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cursor.execute(
        "select column_name, udt_name, numeric_precision, numeric_scale from information_schema.columns"
        " where table_schema = %s and table_name = %s order by ordinal_position",
        (schema, table),
    )
    columns = cursor.fetchall()
    types = [_parquet_type(udt, precision, scale) or pa.string() for _, udt, precision, scale in columns]
    select = ", ".join(
        _quote(name) if _parquet_type(udt, precision, scale) is not None and (udt != "numeric" or precision)
        else f"cast({_quote(name)} as {'double precision' if udt == 'numeric' else 'text'}) as {_quote(name)}"
        for name, udt, precision, scale in columns
    )  # fmt: skip
    cursor.execute(f"select {select} from {_quote(schema)}.{_quote(table)}")
    rows = cursor.fetchall()
    arrays = [pa.array([row[i] for row in rows], type=kind) for i, kind in enumerate(types)]
    pq.write_table(pa.Table.from_arrays(arrays, names=[c[0] for c in columns]), path, compression="zstd")
    return len(rows)


def _columns(cursor, schema: str, table: str) -> list[str]:
    cursor.execute(
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s"
        " order by ordinal_position",
        (schema, table),
    )
    return [row[0] for row in cursor.fetchall()]


def _tagged_columns(cursor, schema: str, table: str, tagged: Mapping[str, str]) -> dict[str, str]:
    """The tagged columns (``{column: rule}``) that ``schema.table`` has."""
    if not tagged:
        return {}
    columns = set(_columns(cursor, schema, table))
    return {column: rule for column, rule in tagged.items() if column in columns}


class _Masking:
    """The serving copy's masking on Postgres, with the same functions as the DuckDB copy
    (``privacy.serving_mask.maskers``, one home: ``privacy/mask.py``): the distinct values of each
    tagged column go through them once, into a temporary table (rule, value, masked, key), and the
    mart is copied joined to it. So a masked column holds what the DuckDB copy shows for the same
    text, ``<column>_key`` (emails, phones) the same salted hash, NULL stays NULL, and no masking
    function is rewritten in SQL. Only the tagged columns' values pass through Python."""

    TABLE = "pg_temp.intent_mask_values"

    def __init__(self, cursor, functions: Mapping[str, Any]):
        self.cursor = cursor
        self.functions = functions
        self.done: dict[str, set[str]] = {}
        cursor.execute(
            f"create temporary table {self.TABLE} (rule text, value text, masked text, key text,"
            " primary key (rule, value)) on commit drop"
        )

    def _add_values(self, source: str, column: str, rule: str) -> None:
        from psycopg2.extras import execute_values

        quoted = _quote(column)
        self.cursor.execute(f"select distinct cast({quoted} as text) from {source} where {quoted} is not null")
        known = self.done.setdefault(rule, set())
        new = [value for (value,) in self.cursor.fetchall() if value not in known]
        known.update(new)
        masked, key = self.functions[rule], self.functions["hash"]
        rows = [(rule, value, masked(value), key(value)) for value in new]
        if rows:
            execute_values(self.cursor, f"insert into {self.TABLE} (rule, value, masked, key) values %s", rows,
                           page_size=5000)  # fmt: skip

    def copy(self, source: str, target: str, source_schema: str, table: str, present: Mapping[str, str]) -> int:
        """Create ``target`` as ``source`` with the ``present`` columns masked (text), and a
        ``<column>_key`` after the columns for each masked email and phone; returns its rows."""
        from intent_pipeline.privacy.serving_mask import KEYED_RULES

        columns = _columns(self.cursor, source_schema, table)
        joins, parts, keys = [], [], []
        for n, column in enumerate(columns):
            rule = present.get(column)
            if rule is None:
                parts.append(f"m.{_quote(column)}")
                continue
            self._add_values(source, column, rule)
            alias = f"k{n}"
            joins.append(f"left join {self.TABLE} as {alias} on {alias}.rule = '{rule}'"
                         f" and {alias}.value = cast(m.{_quote(column)} as text)")  # fmt: skip
            parts.append(f"{alias}.masked as {_quote(column)}")
            if rule in KEYED_RULES and f"{column}_key" not in columns:
                keys.append(f"{alias}.key as {_quote(column + '_key')}")
        select = ", ".join(parts + keys)
        self.cursor.execute(f"create table {target} as select {select} from {source} as m {' '.join(joins)}")
        return self.cursor.rowcount


def published_postgres(connection: Mapping[str, Any] | None = None, schema: str = SERVING_SCHEMA) -> dict | None:
    """What the serving schema holds (``serving.published``: run, interval, time, tables, rows), or None
    before the first publish."""
    with connected(connection) as con:
        with con.cursor() as cursor:
            cursor.execute("select to_regclass(%s)", (f"{_quote(schema)}.{PUBLISHED_TABLE}",))
            if cursor.fetchone()[0] is None:
                return None
            cursor.execute(
                f"select run_id, interval_start, published_at, tables, rows from {_quote(schema)}.{PUBLISHED_TABLE}"
            )
            row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip(("run_id", "interval_start", "published_at", "tables", "rows"), row, strict=True))


# The run's snapshot on Postgres (snapshot_postgres): what the run's later tasks read, as they read
# the DuckDB build file's per-run copy (serving.snapshot_build). Every mart, and the intermediate
# tables that the summary and the model training read.
SNAPSHOT_INTERMEDIATE = ("int_identity_match_standardisation", "int_scoring_features", "int_lead_snapshot_examples")
SNAPSHOT_REGISTRY = "run_snapshots.taken"


def snapshot_prefix(run_id: str) -> str:
    """The schema prefix of a run's snapshot (``run_<16 hex>``: a run id is too long and too free
    for a Postgres name); the schemas are ``<prefix>__marts`` and ``<prefix>__intermediate``."""
    import hashlib

    return "run_" + hashlib.sha256(run_id.encode("utf-8")).hexdigest()[:16]


def snapshot_schemas(prefix: str) -> dict[str, str]:
    """``{"marts": ..., "intermediate": ...}``: where a snapshot's tables are ({} for no snapshot)."""
    return {schema: f"{prefix}__{schema}" for schema in ("marts", "intermediate")} if prefix else {}


def snapshot_postgres(run_id: str, connection: Mapping[str, Any] | None = None, kept: int | None = None) -> dict:
    """Copy the marts (every table and view of ``marts``) and :data:`SNAPSHOT_INTERMEDIATE` into the
    run's snapshot schemas (:func:`snapshot_prefix`), in one transaction, and register it in
    ``run_snapshots.taken``; then drop all but the ``kept`` newest snapshots (default
    ``serving.SNAPSHOTS_KEPT``). Run by ``dbt_build`` right after the build, still in the warehouse
    pool's slot: the run's gate, publish, activation, summary and training read this copy, so a later
    build (another day's backfill) cannot change what they read. Re-running it for the same run
    replaces that run's snapshot. Returns ``{"prefix", "tables": {schema.table: rows}, "seconds"}``."""
    import time

    from intent_pipeline.serving import SNAPSHOTS_KEPT

    started = time.perf_counter()
    prefix = snapshot_prefix(run_id)
    schemas = snapshot_schemas(prefix)
    counts: dict[str, int] = {}
    with connected(connection) as con:
        with con, con.cursor() as cursor:
            cursor.execute("create schema if not exists run_snapshots")
            cursor.execute(f"create table if not exists {SNAPSHOT_REGISTRY} (prefix text primary key, run_id text,"
                           " taken_at timestamptz)")  # fmt: skip
            for schema, copy in schemas.items():
                cursor.execute(f"drop schema if exists {_quote(copy)} cascade")
                cursor.execute(f"create schema {_quote(copy)}")
                cursor.execute(
                    "select table_name from information_schema.tables where table_schema = %s"
                    " and table_type in ('BASE TABLE', 'VIEW') order by table_name",
                    (schema,),
                )
                tables = [row[0] for row in cursor.fetchall()]
                if schema == "intermediate":
                    tables = [table for table in tables if table in SNAPSHOT_INTERMEDIATE]
                elif not tables:
                    raise PublishError("schema marts has no tables on Postgres: nothing to snapshot (run dbt_build)")
                for table in tables:
                    cursor.execute(f"create table {_quote(copy)}.{_quote(table)} as table {schema}.{_quote(table)}")
                    counts[f"{schema}.{table}"] = cursor.rowcount
            cursor.execute(f"delete from {SNAPSHOT_REGISTRY} where prefix = %s", (prefix,))
            cursor.execute(f"insert into {SNAPSHOT_REGISTRY} values (%s, %s, clock_timestamp())", (prefix, run_id))
        with con, con.cursor() as cursor:  # committed first: a reader of an old snapshot delays only this
            cursor.execute(f"select prefix from {SNAPSHOT_REGISTRY} order by taken_at desc offset %s",
                           (SNAPSHOTS_KEPT if kept is None else kept,))  # fmt: skip
            for (old,) in cursor.fetchall():
                if old == prefix:
                    continue
                for copy in snapshot_schemas(old).values():
                    cursor.execute(f"drop schema if exists {_quote(copy)} cascade")
                cursor.execute(f"delete from {SNAPSHOT_REGISTRY} where prefix = %s", (old,))
    return {"prefix": prefix, "tables": counts, "seconds": round(time.perf_counter() - started, 2)}


def snapshot_taken(run_id: str, connection: Mapping[str, Any] | None = None) -> str | None:
    """The prefix of the run's snapshot when :func:`snapshot_postgres` took one (and it was not
    pruned), else None."""
    with connected(connection) as con:
        with con.cursor() as cursor:
            cursor.execute("select to_regclass(%s)", (SNAPSHOT_REGISTRY,))
            if cursor.fetchone()[0] is None:
                return None
            cursor.execute(f"select prefix from {SNAPSHOT_REGISTRY} where prefix = %s", (snapshot_prefix(run_id),))
            row = cursor.fetchone()
    return row[0] if row else None


def load_postgres_task(interval_start: datetime, interval_end: datetime, run_id: str) -> dict:
    """The DAG's load step for the postgres target: the interval's partitions into schema raw (run by
    ``pipeline.dbt_build_task`` before the build when ``INTENT_ENGINE=postgres``)."""
    from intent_pipeline.settings import Settings

    settings = Settings.from_env()
    counts = load_interval(settings.lake_dir, interval_start)
    return {"interval_start": interval_day(interval_start).isoformat(), "run_id": run_id, "rows": counts}


class PgReader:
    """The little of a read-only DuckDB connection that the marts' readers use (``execute(sql,
    params)`` → ``fetchone``/``fetchall``, ``df(sql)``, ``close``), over psycopg2 on the postgres
    target: the DAG's gates, activation, the summary and the model training read the marts through it
    when ``INTENT_ENGINE=postgres``. ``?`` placeholders become ``%s``. Read-only session, autocommit:
    it holds no lock on what the next build replaces.

    ``snapshot``: a run's snapshot prefix (``Settings.pg_snapshot``, :func:`snapshot_postgres`): the
    readers' SQL, written for the DuckDB file, names ``marts.x`` and ``intermediate.x`` (and the
    schemas as ``information_schema`` values); they are read from ``<prefix>__marts`` and
    ``<prefix>__intermediate`` instead (:meth:`in_snapshot`), as a DuckDB reader opens the run's
    snapshot file instead of the build file."""

    def __init__(self, connection: Mapping[str, Any] | None = None, snapshot: str = ""):

        self.schemas = snapshot_schemas(snapshot)
        self._con = connect(connection)
        self._con.set_session(readonly=True, autocommit=True)

    def in_snapshot(self, sql: str, params: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        """``sql`` and ``params`` with the schemas ``marts`` and ``intermediate`` replaced by the
        snapshot's: as qualifiers (``marts.x``, ``"marts"."x"``), as quoted literals (``'marts'``)
        and as parameters equal to the name. Unchanged without a snapshot."""
        import re

        for name, copy in self.schemas.items():
            sql = re.sub(rf'(?<![\w."]){name}\.(?=[\w"])', f"{copy}.", sql)
            sql = sql.replace(f'"{name}".', f"{_quote(copy)}.").replace(f"'{name}'", f"'{copy}'")
        return sql, tuple(self.schemas.get(p, p) if isinstance(p, str) else p for p in params)

    def execute(self, sql: str, params: Iterable[Any] | None = None):
        cursor = self._con.cursor()
        sql, values = self.in_snapshot(sql, tuple(params or ()))
        if params is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql.replace("%", "%%").replace("?", "%s"), values)
        return cursor

    def df(self, sql: str):
        """The query's rows as a DataFrame (see :func:`_frame`)."""
        return _frame(self.execute(sql))

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> PgReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_marts(
    tables: Iterable[str], schema: str = "marts", connection: Mapping[str, Any] | None = None, snapshot: str = ""
) -> dict:
    """``{table: DataFrame or quality.readers.MissingTable}`` for each mart on Postgres, as
    ``quality.readers.read_marts`` reads them from DuckDB (the marts' gate reads them so);
    ``snapshot``: from the run's snapshot (:class:`PgReader`)."""
    from intent_pipeline.quality.readers import read_tables

    with PgReader(connection, snapshot) as con:
        return read_tables(
            con, tables, schema, "on postgres", lambda table: con.df(f"select * from {_quote(schema)}.{_quote(table)}")
        )


def main(argv: list[str] | None = None) -> int:
    """``python -m intent_pipeline load-postgres --date YYYY-MM-DD`` (or ``--all``)."""
    import argparse
    import json

    from intent_pipeline.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m intent_pipeline load-postgres")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--date", type=date.fromisoformat, help="the interval start (YYYY-MM-DD) to (re)load")
    which.add_argument("--all", action="store_true", help="every interval of the lake")
    parser.add_argument("--lake", type=Path, help="the lake folder (default: INTENT_LAKE_DIR)")
    args = parser.parse_args(argv)
    lake_dir = args.lake or Settings.from_env().lake_dir
    counts = load_lake(lake_dir) if args.all else load_interval(lake_dir, args.date)
    print(json.dumps(counts, indent=2))
    return 0


def attribute_main(argv: list[str] | None = None) -> int:
    """``python -m intent_pipeline attribute-postgres [--manifest PATH]``."""
    import argparse

    from intent_pipeline.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m intent_pipeline attribute-postgres")
    parser.add_argument("--manifest", type=Path, help="dbt's manifest.json of the postgres build (default: the DAG's)")
    args = parser.parse_args(argv)
    manifest = args.manifest or Settings.from_env().state_dir / "dbt" / "target" / "manifest.json"
    print(f"{attribute_postgres(manifest)} rows in {SCHEMA}.{ATTRIBUTION_MODEL}")
    return 0


def compare_marts(
    duckdb_path: Path | str,
    marts: Iterable[str],
    connection: Mapping[str, Any] | None = None,
    ignore: Mapping[str, Iterable[str]] | None = None,
) -> dict[str, str]:
    """Every mart (``schema.table``) of the DuckDB warehouse against the same table on Postgres
    (``engine_compare.compare_with_duckdb``: the same columns, the same rows). Returns, per mart that
    differs, what differs (empty: all equal). ``ignore``: columns left out per mart (two separate
    runs: their run ids and times)."""

    from intent_pipeline.engine_compare import compare_with_duckdb

    with connected(connection) as con:
        with con.cursor() as cursor:

            def columns(schema: str, table: str) -> list[str]:
                cursor.execute(
                    "select column_name from information_schema.columns where table_schema = %s and table_name = %s"
                    " order by ordinal_position", (schema, table))  # fmt: skip
                return [row[0] for row in cursor.fetchall()]

            def rows(query: str) -> list[tuple]:
                cursor.execute(query)
                return cursor.fetchall()

            return compare_with_duckdb(duckdb_path, marts, "postgres", columns, rows, ignore)


def mart_relations(manifest_path: Path | str) -> list[str]:
    """``schema.table`` of every model under models/marts in a dbt manifest (enabled ones)."""
    import json

    manifest = json.loads(Path(manifest_path).read_text())
    return sorted(
        f"{node['schema']}.{node['alias']}"
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["fqn"][1] == "marts"
    )


class LocalServer:
    """A throw-away PostgreSQL server from the OS package (``initdb``, ``pg_ctl``) in a new folder
    under the system's temp folder, on a free loopback port, with database ``intent_warehouse``
    (UTF8, C.UTF-8 collation): :meth:`start`, then :meth:`stop` (the server stopped, its folder
    deleted). For benchmarks, tests and trials: a real installation has its own server. As root the
    server runs as the ``postgres`` account (PostgreSQL refuses root). ``settings``: more server
    settings (``name=value``), e.g. the tests' ``fsync=off``."""

    BIN_DIR = Path("/usr/lib/postgresql/15/bin")

    def __init__(self, settings: Iterable[str] = ()):
        import shutil

        self.settings = tuple(settings)
        self.initdb = shutil.which("initdb") or str(self.BIN_DIR / "initdb")
        self.pg_ctl = shutil.which("pg_ctl") or str(self.BIN_DIR / "pg_ctl")
        self.folder: Path | None = None
        self.port = 0

    @classmethod
    def running(cls, folder: Path | str, port: int) -> LocalServer:
        """The server that another process started in ``folder`` (:meth:`start`), to connect to or stop."""
        server = cls()
        server.folder, server.port = Path(folder), port
        return server

    def is_running(self) -> bool:
        """The server answers on its port."""
        import psycopg2

        try:
            psycopg2.connect(**self.params("postgres"), connect_timeout=5).close()
        except psycopg2.OperationalError:
            return False
        return True

    @property
    def data(self) -> Path:
        assert self.folder is not None, "not started"
        return self.folder / "pgdata"

    def _command(self, args: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args

    def _run(self, args: list[str]) -> None:
        import subprocess

        done = subprocess.run(self._command(args), capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:3])} failed: {done.stdout[-1000:]} {done.stderr[-1000:]}")

    def start(self) -> dict[str, Any]:
        """Create, start and return the psycopg2 connection parameters of database ``intent_warehouse``."""
        import shutil
        import socket
        import tempfile

        import psycopg2

        if not Path(self.initdb).exists():
            raise RuntimeError(f"PostgreSQL is not installed ({self.initdb} not found): install the OS package")
        self.folder = Path(tempfile.mkdtemp(prefix="intent-pg-"))  # directly under /tmp: `postgres` can reach it
        self.data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
            shutil.chown(self.data, "postgres")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        options = " ".join([f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1",
                            *(f"-c {setting}" for setting in self.settings)])  # fmt: skip
        try:
            self._run([self.initdb, "-D", str(self.data), "-A", "trust", "-U", "intent", "-E", "UTF8",
                       "--locale=C.UTF-8"])  # fmt: skip
            self._run([self.pg_ctl, "-D", str(self.data), "-l", str(self.data / "server.log"), "-w", "start",
                       "-o", options])  # fmt: skip
            admin = psycopg2.connect(**self.params("postgres"))
            admin.autocommit = True
            admin.cursor().execute("create database intent_warehouse")
            admin.close()
        except BaseException:
            self.stop()
            raise
        return self.params()

    def params(self, dbname: str = "intent_warehouse") -> dict[str, Any]:
        """psycopg2 keyword arguments for ``dbname`` on this server."""
        return {"host": "127.0.0.1", "port": self.port, "user": "intent", "password": "", "dbname": dbname}

    def stop(self) -> None:
        import shutil
        import subprocess

        if self.folder is None:
            return
        if (self.data / "postmaster.pid").exists():
            subprocess.run(self._command([self.pg_ctl, "-D", str(self.data), "-m", "fast", "stop"]),
                           capture_output=True)  # fmt: skip
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None


@contextmanager
def local_server(settings: Iterable[str] = ()) -> Iterator[dict[str, Any]]:
    """A :class:`LocalServer` for the block: yields the psycopg2 connection parameters of its
    database ``intent_warehouse``, then stops the server and deletes its folder."""
    server = LocalServer(settings)
    connection = server.start()
    try:
        yield connection
    finally:
        server.stop()


def profile_env(connection: Mapping[str, Any]) -> dict[str, str]:
    """The dbt profile's variables (target ``postgres``) for these connection parameters."""
    return {
        "DBT_TARGET": "postgres",
        "INTENT_PG_HOST": str(connection["host"]),
        "INTENT_PG_PORT": str(connection["port"]),
        "INTENT_PG_USER": str(connection["user"]),
        "INTENT_PG_PASSWORD": str(connection.get("password") or ""),
        "INTENT_PG_DBNAME": str(connection["dbname"]),
    }
