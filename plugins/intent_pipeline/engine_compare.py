"""Tables of another engine's build compared with DuckDB's, row for row (issue #20,
docs/portability.md): the one comparison the Postgres and Spark builds are checked with."""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from intent_pipeline.warehouse_catalog import table_columns


def comparable(value: Any) -> Any:
    """A cell as both engines' drivers can give it: floats and decimals to 12 significant digits
    and 9 decimals (two engines add the same doubles in another order: a sum near 3.9 million
    differs in its 16th digit, one that should be 0 is 1e-17 on one of them), dates and times as ISO
    text, lists (and Spark's rows of a struct) as tuples."""
    if isinstance(value, float | decimal.Decimal):
        return round(float(f"{float(value):.12g}"), 9)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return tuple(comparable(v) for v in value)
    return value


def sorted_rows(rows: Iterable[Iterable[Any]]) -> list[tuple]:
    return sorted((tuple(comparable(v) for v in row) for row in rows), key=repr)


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def compare_with_duckdb(
    duckdb_path: Path | str,
    relations: Iterable[str],
    engine: str,
    columns_of: Callable[[str, str], list[str]],
    rows_of: Callable[[str], Iterable[Iterable[Any]]],
    ignore: Mapping[str, Iterable[str]] | None = None,
    quote_other: Callable[[str], str] = quote,
) -> dict[str, str]:
    """Every relation (``schema.table``) of the DuckDB warehouse against the same one of ``engine``:
    the same columns in the same order (``columns_of(schema, table)`` on the other engine), and the
    same rows as sorted lists (``rows_of(select)`` runs a select there; names quoted by
    ``quote_other``). Returns, per relation that differs, what differs (empty: all equal).
    ``ignore``: columns left out per relation (two separate runs: their run ids and times)."""
    import duckdb

    differences: dict[str, str] = {}
    duck = duckdb.connect(str(duckdb_path), read_only=True)
    try:
        for relation in relations:
            schema, table = relation.split(".")
            columns = table_columns(duck, schema, table)
            other_columns = columns_of(schema, table)
            left_out = set((ignore or {}).get(relation, ()))
            columns = [c for c in columns if c not in left_out]
            other_columns = [c for c in other_columns if c not in left_out]
            if columns != other_columns:
                differences[relation] = f"columns differ: duckdb {columns}, {engine} {other_columns}"
                continue
            duck_rows = sorted_rows(duck.execute(
                f"select {', '.join(quote(c) for c in columns)} from {schema}.{quote(table)}").fetchall())  # fmt: skip
            other_rows = sorted_rows(rows_of(
                f"select {', '.join(quote_other(c) for c in columns)} from {schema}.{quote_other(table)}"))  # fmt: skip
            if duck_rows != other_rows:
                only_duck = [r for r in duck_rows if r not in other_rows][:3]
                only_other = [r for r in other_rows if r not in duck_rows][:3]
                differences[relation] = (f"{len(duck_rows)} rows on duckdb, {len(other_rows)} on {engine}; "
                                         f"only on duckdb: {only_duck}; only on {engine}: {only_other}")  # fmt: skip
    finally:
        duck.close()
    return differences
