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
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from intent_pipeline import lake
from intent_pipeline.intervals import interval_day

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
    "audit": "audit",
}


class LoadError(RuntimeError):
    """A partition could not be loaded as it is (the transaction was rolled back)."""


def connection_params(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """psycopg2 keyword arguments from the dbt profile's environment variables."""
    env = os.environ if env is None else env
    return {
        "host": env.get("INTENT_PG_HOST", "localhost"),
        "port": int(env.get("INTENT_PG_PORT", "5432")),
        "user": env.get("INTENT_PG_USER", "intent"),
        "password": env.get("INTENT_PG_PASSWORD", ""),
        "dbname": env.get("INTENT_PG_DBNAME", "intent_warehouse"),
    }


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _arrow_to_pg(arrow_type) -> str:
    import pyarrow as pa

    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_integer(arrow_type):
        return "bigint"
    if pa.types.is_floating(arrow_type):
        return "double precision"
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    if pa.types.is_date(arrow_type):
        return "date"
    return "text"


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
    cursor.execute(f"drop table if exists {qualified}")
    if data is None:
        return 0  # not written yet: dbt reads an empty table (macros activation_history, privacy_audit_records)
    columns = ", ".join(f"{_quote(f.name)} {_arrow_to_pg(f.type)}" for f in data.schema)
    cursor.execute(f"create table {qualified} ({columns})")
    _copy(cursor, qualified, data)
    return data.num_rows


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
    import psycopg2

    lake_dir = Path(lake_dir)
    day = interval_day(interval_start)
    counts: dict[str, int] = {}
    con = psycopg2.connect(**(dict(connection) if connection is not None else connection_params()))
    try:
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
    finally:
        con.close()
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


def load_postgres_task(interval_start: datetime, interval_end: datetime, run_id: str) -> dict:
    """The DAG's load step for the postgres target: the interval's partitions into schema raw."""
    from intent_pipeline.settings import Settings

    settings = Settings.from_env()
    counts = load_interval(settings.lake_dir, interval_start)
    return {"interval_start": interval_day(interval_start).isoformat(), "run_id": run_id, "rows": counts}


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
