"""Read the data the gates validate into pandas DataFrames.

GX's SQL datasource over duckdb-engine returns empty metrics (every expectation fails), so
both layers are handed to GX as DataFrames: raw partitions straight from Parquet, marts
through a read-only DuckDB connection that is closed before returning, so dbt (the
warehouse's only writer) is never blocked by a gate that finished.

This module deliberately does not import ``intent_pipeline.lake``: the path layout is the
contract's (``<lake>/raw/<table>/dt=YYYY-MM-DD/*.parquet``), read with pyarrow directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any


class MissingTable(LookupError):
    """A table the gate expects is not there; its message is what the report says."""


def raw_partition_dir(lake_dir: Path | str, table: str, interval_start: date) -> Path:
    """``<lake>/raw/<table>/dt=YYYY-MM-DD``."""
    return Path(lake_dir) / "raw" / table / f"dt={interval_start.isoformat()}"


def raw_partition_files(lake_dir: Path | str, table: str, interval_start: date) -> list[Path]:
    """The Parquet files of one interval's raw partition of ``table``, sorted.

    Raises :class:`MissingTable` when the partition has no Parquet file: the extract writes an
    empty file with the full schema even for an empty interval, so none at all means the
    interval was not extracted (or the lake is elsewhere).
    """
    folder = raw_partition_dir(lake_dir, table, interval_start)
    files = sorted(folder.glob("*.parquet"))
    if not files:
        raise MissingTable(
            f"raw partition of {table} for {interval_start.isoformat()} not found: no {folder}/*.parquet "
            "(was the interval extracted? is INTENT_LAKE_DIR right?)"
        )
    return files


def _unreadable(table: str, interval_start: date, path: Path, exc: Exception) -> MissingTable:
    # a damaged or half-copied file: name it, and the table
    return MissingTable(
        f"raw partition of {table} for {interval_start.isoformat()} cannot be read: {path}: "
        f"{type(exc).__name__}: {exc} (re-run the extract of this interval to rewrite it)"
    )


def read_raw_partition(lake_dir: Path | str, table: str, interval_start: date):
    """One interval's raw partition of ``table`` as a pandas DataFrame (all its Parquet files, whole:
    :class:`RawBatches` reads it in bounded memory). Raises :class:`MissingTable` (see
    :func:`raw_partition_files`)."""
    return RawBatches(lake_dir, table, interval_start, 1).whole()


class RawBatches:
    """One interval's raw partition of ``table`` as pandas DataFrames of at most ``batch_rows`` rows each, in
    file and row order; a batch fills across file boundaries, so a partition landed as many small files is as
    many batches as one file of the same rows (each batch costs one GX run).

    Every batch has the partition's columns (the files' schemas unified as :func:`read_raw_partition`'s
    concatenation does, a column a file lacks as nulls) and the pandas dtype the whole partition would
    give: an integer or boolean column with a null anywhere in the partition is float64 or object in every
    batch, as it is in the whole DataFrame (from the row groups' null counts; a column chunk written without
    statistics has its nulls counted by reading that column). Each file's footer is read once, here:
    :meth:`whole` and the iteration reuse it.
    """

    def __init__(self, lake_dir: Path | str, table: str, interval_start: date, batch_rows: int):
        import pyarrow as pa
        import pyarrow.parquet as pq

        if batch_rows < 1:
            raise ValueError(f"INTENT_RAW_GATE_BATCH_ROWS must be at least 1, got {batch_rows}")
        self.table, self.interval_start, self.batch_rows = table, interval_start, batch_rows
        self.files = raw_partition_files(lake_dir, table, interval_start)
        self.metadata = []
        for path in self.files:
            try:
                self.metadata.append(pq.ParquetFile(str(path)).metadata)
            except (pa.ArrowException, OSError) as exc:
                raise _unreadable(table, interval_start, path, exc) from None
        schemas = [meta.schema.to_arrow_schema() for meta in self.metadata]
        self.schema = schemas[0] if len(schemas) == 1 else pa.unify_schemas(schemas, promote_options="default")
        self.rows = sum(meta.num_rows for meta in self.metadata)

    def _parquet_files(self):
        """``(path, ParquetFile)`` of each file, opened on the footer read in ``__init__``."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        for path, meta in zip(self.files, self.metadata, strict=True):
            try:
                yield path, pq.ParquetFile(str(path), metadata=meta)
            except (pa.ArrowException, OSError) as exc:
                raise _unreadable(self.table, self.interval_start, path, exc) from None

    def _null_dtypes(self) -> dict:
        """``{column: pandas dtype}`` for the integer and boolean columns that hold a null in the partition."""
        import pyarrow as pa

        candidates = {
            field.name for field in self.schema if pa.types.is_integer(field.type) or pa.types.is_boolean(field.type)
        }
        nullable = set()
        for (path, parquet), meta in zip(self._parquet_files(), self.metadata, strict=True):
            names = meta.schema.to_arrow_schema().names
            nullable |= (candidates - set(names)) if meta.num_rows else set()
            unknown = set()  # columns of this file with a chunk written without a null count
            for group in range(meta.num_row_groups):
                row_group = meta.row_group(group)
                for number in range(row_group.num_columns):
                    column = row_group.column(number)
                    name = column.path_in_schema
                    if name not in candidates or name in nullable:
                        continue
                    stats = column.statistics
                    if stats is None or not stats.has_null_count:
                        unknown.add(name)
                    elif stats.null_count:
                        nullable.add(name)
            unknown -= nullable
            if unknown:
                try:
                    counted = parquet.read(columns=sorted(unknown))
                except (pa.ArrowException, OSError) as exc:
                    raise _unreadable(self.table, self.interval_start, path, exc) from None
                nullable |= {name for name in unknown if counted.column(name).null_count}
        return {name: pa.array([None], type=self.schema.field(name).type).to_pandas().dtype for name in nullable}

    def whole(self):
        """The partition as one DataFrame, as :func:`read_raw_partition` gives it (from the footers read once)."""
        import pyarrow as pa

        # ParquetFile, not pq.read_table: the latter would treat the dt= folder as a hive partition key.
        tables = []
        for path, parquet in self._parquet_files():
            try:
                tables.append(parquet.read())
            except (pa.ArrowException, OSError) as exc:
                raise _unreadable(self.table, self.interval_start, path, exc) from None
        data = tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="default")
        return data.to_pandas()

    def __iter__(self) -> Iterator[Any]:
        import pyarrow as pa

        dtypes = self._null_dtypes()
        pending: list = []  # Arrow tables in the partition's schema, fewer than batch_rows rows in all
        held = 0
        for path, parquet in self._parquet_files():
            try:
                for batch in parquet.iter_batches(batch_size=self.batch_rows):
                    data = self._conform(pa.Table.from_batches([batch]))
                    while held + data.num_rows >= self.batch_rows:
                        take = self.batch_rows - held
                        yield self._frame(pa.concat_tables([*pending, data.slice(0, take)]), dtypes)
                        pending, held, data = [], 0, data.slice(take)
                    if data.num_rows:
                        pending.append(data)
                        held += data.num_rows
            except (pa.ArrowException, OSError) as exc:
                raise _unreadable(self.table, self.interval_start, path, exc) from None
        if held:
            yield self._frame(pa.concat_tables(pending), dtypes)

    def _conform(self, data):
        """``data`` with the partition's columns, in its order and types (a column the file lacks as nulls)."""
        import pyarrow as pa

        if data.schema == self.schema:
            return data
        columns = [
            data.column(field.name).cast(field.type)
            if field.name in data.schema.names
            else pa.nulls(data.num_rows, type=field.type)
            for field in self.schema
        ]
        return pa.Table.from_arrays(columns, schema=self.schema)

    @staticmethod
    def _frame(data, dtypes: dict):
        frame = data.to_pandas()
        for name, dtype in dtypes.items():
            if frame[name].dtype != dtype:
                frame[name] = frame[name].astype(dtype)
        return frame


def read_manifest(lake_dir: Path | str, source: str, interval_start: date) -> dict | None:
    """The extract manifest of one source and interval (``<lake>/manifests/<source>/dt=….json``), or None."""
    import json

    path = Path(lake_dir) / "manifests" / source / f"dt={interval_start.isoformat()}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise MissingTable(f"extract manifest {path} is not valid JSON: {exc}") from None


def read_marts(
    warehouse: Path | str, tables: tuple[str, ...], schema: str = "marts", columns: tuple[str, ...] | None = None
) -> dict:
    """``{table: DataFrame or MissingTable}`` for each mart, read through one read-only connection.

    The connection is closed before returning. A warehouse file that does not exist is not
    created: every table is then reported missing. A warehouse locked by a writer raises
    (a retry of the task can fix that, unlike bad data). ``columns``: only those of them the table has.
    """
    import duckdb

    path = Path(warehouse)
    if not path.exists():
        error = MissingTable(f"warehouse {path} does not exist (has dbt built it? is INTENT_WAREHOUSE right?)")
        return dict.fromkeys(tables, error)
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise RuntimeError(f"cannot open the warehouse {path} read-only: {exc}") from exc
    try:
        return read_tables(
            con, tables, schema, f"in {path}",
            lambda table: con.sql(f'select {_select_list(con, schema, table, columns)} from "{schema}"."{table}"')
            .to_arrow_table().to_pandas(),
        )  # fmt: skip
    finally:
        con.close()


def _select_list(con: Any, schema: str, table: str, columns: tuple[str, ...] | None) -> str:
    if columns is None:
        return "*"
    from intent_pipeline.warehouse_catalog import table_columns

    present = set(table_columns(con, schema, table))
    # a table without any of them: its row count alone (a frame without the columns, as a whole read would lack them)
    return ", ".join(f'"{name}"' for name in columns if name in present) or "1 as _no_column"


def read_tables(con: Any, tables: Iterable[str], schema: str, where: str, read: Callable[[str], Any]) -> dict:
    """``{table: read(table) or MissingTable}`` for each table of ``schema``; ``con`` answers
    ``execute(sql, [params]).fetchall()`` with ``?`` placeholders (DuckDB, ``postgres_load.PgReader``);
    ``where`` names the warehouse in a missing table's message."""
    present = {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [schema]
        ).fetchall()
    }
    return {
        table: read(table)
        if table in present
        else MissingTable(
            f"table {schema}.{table} not found {where} (present in {schema}: {', '.join(sorted(present)) or 'none'})"
        )
        for table in tables
    }
