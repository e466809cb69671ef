"""What a DuckDB warehouse holds: one home for the catalogue queries the readers share."""

from __future__ import annotations

from typing import Any


def table_columns(con: Any, schema: str, table: str) -> list[str]:
    """The columns of ``schema.table`` in their order (``[]`` when the table does not exist), through ``con``,
    a DuckDB connection."""
    return [
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?"
            " order by ordinal_position",
            [schema, table],
        ).fetchall()
    ]
