"""Where erased identifiers are still found: every file under a data folder, searched as tokens.

Used by ``bench/privacy.py`` and the erasure tests to check an erasure from outside its own code:
each file is cut into tokens (runs of letters, digits and ``_ . + @ -``, lower-cased; a trailing
``.`` dropped) and the tokens are compared with the values searched for. Text files are read as
text; Parquet files and every table of a DuckDB file through DuckDB (every column cast to text);
SQLite files through SQLite (every table and column) **and** as raw bytes (deleted rows stay in
free pages until a VACUUM). A DuckDB file's raw bytes are not searched: its strings are stored
compressed, so a byte search would prove nothing. An XLSX workbook (zipped XML) is searched cell by
cell through openpyxl, for the same reason.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path

TOKEN_RE = re.compile(r"[a-z0-9_.+@\-]+")
SQL_SPLIT = r"[^a-z0-9_.+@\-]+"
DUCKDB_MAGIC = b"DUCK"
SQLITE_MAGIC = b"SQLite format 3\x00"


def tokens(text: str) -> set[str]:
    return {token.rstrip(".") for token in TOKEN_RE.findall(text.lower())}


def _duckdb_hits(con, relation: str, columns: list[str], values_table: str) -> int:
    if not columns:
        return 0
    joined = "concat_ws(' ', " + ", ".join(f'cast("{c}" as varchar)' for c in columns) + ")"
    sql = (
        "select count(*) from (select rtrim(unnest(regexp_split_to_array("
        f"lower({joined}), '{SQL_SPLIT}')), '.') as tok from {relation}) as t "
        f"inner join {values_table} as v on t.tok = v.value"
    )
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def search(folders: Iterable[Path], values: set[str], exclude: Iterable[str] = ()) -> dict[str, int]:
    """``{file (or file::table): hits}`` for every place under ``folders`` holding one of ``values``
    (compared lower-case), skipping paths with a component in ``exclude``."""
    import duckdb

    wanted = {v.strip().lower().rstrip(".") for v in values if v and v.strip()}
    found: dict[str, int] = {}
    if not wanted:
        return found
    skip = set(exclude)
    con = duckdb.connect()
    try:
        con.execute("create temp table wanted as select unnest(?::varchar[]) as value", [sorted(wanted)])
        for folder in folders:
            for path in sorted(Path(folder).rglob("*")) if Path(folder).exists() else []:
                if not path.is_file() or path.is_symlink() or skip & set(path.parts):
                    continue
                for where, hits in _search_file(con, path, wanted):
                    if hits:
                        found[where] = found.get(where, 0) + hits
    finally:
        con.close()
    return found


def _search_file(con, path: Path, wanted: set[str]) -> list[tuple[str, int]]:
    with path.open("rb") as handle:
        head = handle.read(16)
    literal = str(path).replace("'", "''")
    if path.suffix == ".parquet" or head[:4] == b"PAR1":
        columns = [r[0] for r in con.execute(f"describe select * from read_parquet('{literal}')").fetchall()]
        return [(str(path), _duckdb_hits(con, f"read_parquet('{literal}')", columns, "wanted"))]
    if head[8:12] == DUCKDB_MAGIC or path.suffix == ".duckdb":
        return _search_duckdb(con, path)
    if head.startswith(SQLITE_MAGIC):
        return _search_sqlite(path, wanted)
    if path.suffix.lower() == ".xlsx" or head[:2] == b"PK":
        found = _search_xlsx(path, wanted)
        if found is not None:
            return found
    data = path.read_bytes()
    return [(str(path), len(tokens(data.decode("utf-8", errors="replace")) & wanted))]


def _search_xlsx(path: Path, wanted: set[str]) -> list[tuple[str, int]] | None:
    """Every cell of every worksheet (None when the file is no workbook: it is searched as bytes)."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:  # not a workbook (another zip), or a damaged one
        return None
    try:
        seen: set[str] = set()
        for worksheet in workbook.worksheets:
            for row in getattr(worksheet, "iter_rows", lambda **_: [])(values_only=True):
                seen |= tokens(" ".join(str(v) for v in row if v is not None))
    finally:
        workbook.close()
    return [(str(path), len(seen & wanted))]


def _search_duckdb(con, path: Path) -> list[tuple[str, int]]:
    # lists tables and columns itself, like privacy.erase.warehouse_rows: a check of an erasure must
    # not share the erasure's code, and it searches every column of every schema, not only text ones
    literal = str(path).replace("'", "''")
    con.execute(f"attach '{literal}' as searched (read_only)")
    try:
        results = []
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = 'searched'"
        ).fetchall()
        for schema, table in tables:
            columns = [
                r[0]
                for r in con.execute(
                    "select column_name from duckdb_columns() where database_name = 'searched' "
                    "and schema_name = ? and table_name = ?",
                    [schema, table],
                ).fetchall()
            ]
            hits = _duckdb_hits(con, f'searched."{schema}"."{table}"', columns, "wanted")
            results.append((f"{path}::{schema}.{table}", hits))
        return results
    finally:
        con.execute("detach searched")


def _search_sqlite(path: Path, wanted: set[str]) -> list[tuple[str, int]]:
    results = []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type = 'table'")]
        for table in tables:
            seen: set[str] = set()
            for row in db.execute(f'select * from "{table}"'):  # noqa: S608 - names from sqlite_master
                seen |= tokens(" ".join(str(v) for v in row if v is not None))
            results.append((f"{path}::{table}", len(seen & wanted)))
    finally:
        db.close()
    raw = tokens(path.read_bytes().decode("latin-1"))
    results.append((f"{path}::raw-bytes", len(raw & wanted)))
    return results
