"""Models and data tests a daily build can leave out: their inputs did not change (docs/incremental.md,
"Nodes whose inputs did not change").

Every incremental model of the project builds, on any day, what a full refresh of the same lake builds
(the equality tests of tests/dbt/test_*incremental*.py). A model that does not read the run's date is
therefore a function of the lake's rows, the seeds and the project alone: when none of those changed
since the warehouse's last successful build, building it again writes what it already holds, and so do
its data tests. The DuckDB build records, in the warehouse, a fingerprint of each input
(:func:`fingerprints`: the project, and each dbt source's lake files) after a successful build
(:func:`record`); the next build leaves out (:func:`skip_args`) every model and data test none of whose
upstream nodes is *rebuilt*, where rebuilt are:

* the nodes that read the run's date (:func:`date_readers`): their SQL, or a project macro they reach,
  names ``interval_bound`` (the one reader of the interval), dbt's ``run_started_at`` or
  ``invocation_id``, or a clock (``current_timestamp``, ``current_date``, ``now()``, ``today``,
  ``datetime``). The search stops at :data:`WINDOW_MACROS`: the lake window a daily build reads,
  which the equality tests prove does not change what a model holds, and a source's own files. A
  model whose date only stamps what changes (on unchanged inputs its build is a fixed point:
  ``int_identity_person_ids``, ``int_identity_id_changes``) says so in its config,
  ``meta={'date_stamps_changes_only': true}`` (:data:`FIXED_POINT_META`);
* the nodes that read the lake other than through their dbt sources (:data:`LAKE_MARKER` reached:
  the operations marts' manifests, the gate results, the activation and audit histories);
* the nodes that read a source whose files changed, or a seed that is built (``seed_state``);
* the models whose relation is not in the warehouse, and the snapshots;
* every node downstream of one of those.

A source's fingerprint lists its files (path, size, modification time), leaving out the files without
a row: an empty partition (an extract's day without data) adds no row to any query over the source;
and the columns (name, type) of every file, rows or not (:func:`_files_fingerprint`).
Nothing is left out on a full refresh, without a record (a new warehouse, one built before this
existed, one whose last build failed: the record is removed before each build and written after a
successful one), when the project, dbt or the project's environment changed, or without a readable
manifest of the last build.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from intent_pipeline import seed_state

log = logging.getLogger(__name__)

STATE_TABLE = f"{seed_state.STATE_SCHEMA}.input_fingerprints"
PROJECT_KEY = "project"
# macros at which the search for the run's date and the lake stops: the daily build's window over a
# source's own partitions (macros/incremental.sql), equal to a full refresh by the equality tests, and
# the project's ``source`` (macros/lake.sql: a declared source's files, which its fingerprint lists)
WINDOW_MACROS = frozenset({"lake_window_dates", "lake_files", "source"})
DATE_MARKERS = re.compile(
    r"\binterval_bound\b|\brun_started_at\b|\binvocation_id\b|current_timestamp|current_date|localtimestamp"
    r"|\bnow\s*\(|\btoday\b|\bdatetime\b|\bgetdate\b|\bsysdate\b"
)
LAKE_MARKER = re.compile(r"\blake_dir\b")
FIXED_POINT_META = "date_stamps_changes_only"
# what is not code: Jinja and SQL comments (prose may say "today")
COMMENTS = re.compile(r"\{#.*?#\}|--[^\n]*", re.DOTALL)
# the environment a dbt node can read that does not change what it builds
RUN_ONLY_ENV = frozenset({"INTENT_INTERVAL_START", "INTENT_INTERVAL_END", "INTENT_WAREHOUSE", "INTENT_DBT_PARSE_CACHE",
                          "INTENT_TESTS_LAKE_WINDOW"})
# the setting (macro setting: env INTENT_TESTS_LAKE_WINDOW) under which the data tests whose `where` is
# WINDOW_WHERE check only the rows of the lake window (macro get_where_subquery, macros/generic_tests.sql)
TESTS_LAKE_WINDOW_ENV = "INTENT_TESTS_LAKE_WINDOW"
WINDOW_WHERE = "__lake_window__:"


def _code(text: str | None) -> str:
    return COMMENTS.sub(" ", text or "")


def _project_macros(manifest: Mapping) -> dict[str, str]:
    """The project's own macros (name -> code without comments)."""
    project = manifest.get("metadata", {}).get("project_name")
    return {macro["name"]: _code(macro.get("macro_sql")) for macro in manifest.get("macros", {}).values()
            if macro.get("package_name") == project}  # fmt: skip


WORDS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _macro_closures(macros: Mapping[str, str]) -> dict[str, set[str]]:
    """For each word that names a project macro (or the ``<name>`` of an ``adapter.dispatch``
    implementation ``<adapter>__<name>``), the macros it reaches, not entering :data:`WINDOW_MACROS`."""
    named: dict[str, set[str]] = {}
    for name in macros:
        if name in WINDOW_MACROS:
            continue
        named.setdefault(name, set()).add(name)
        if "__" in name:
            named.setdefault(name.split("__", 1)[1], set()).add(name)
    calls = {name: {word for word in set(WORDS.findall(code)) if word in named} for name, code in macros.items()}
    closures: dict[str, set[str]] = {}
    for word in named:
        seen: set[str] = set()
        pending = [word]
        while pending:
            for name in named.get(pending.pop(), ()):
                if name not in seen:
                    seen.add(name)
                    pending.extend(calls[name])
        closures[word] = seen
    return closures


def _reached(code: str, closures: Mapping[str, set[str]]) -> set[str]:
    """The project macros ``code`` reaches by name (:func:`_macro_closures`)."""
    reached: set[str] = set()
    for word in set(WORDS.findall(code)):
        reached |= closures.get(word, set())
    return reached


def date_readers(manifest: Mapping) -> tuple[set[str], set[str]]:
    """The models and data tests of ``manifest`` that read the run's date, and those that read the lake
    other than through their sources (unique ids each)."""
    macros = _project_macros(manifest)
    closures = _macro_closures(macros)
    dated_macros = {name for name, code in macros.items() if DATE_MARKERS.search(code)}
    lake_macros = {name for name, code in macros.items() if LAKE_MARKER.search(code)}
    dated, lake = set(), set()
    for uid, node in manifest.get("nodes", {}).items():
        if node.get("resource_type") not in ("model", "test"):
            continue
        code = _code(node.get("raw_code"))
        reached = _reached(code, closures)
        fixed_point = bool((node.get("config", {}).get("meta") or {}).get(FIXED_POINT_META))
        if (DATE_MARKERS.search(code) or reached & dated_macros) and not fixed_point:
            dated.add(uid)
        if LAKE_MARKER.search(code) or reached & lake_macros:
            lake.add(uid)
    return dated, lake


def _source_pattern(source: Mapping, lake_dir: Path) -> str | None:
    meta = {**(source.get("source_meta") or {}), **(source.get("meta") or {})}
    found = re.search(r"read_parquet\('([^']*)'", meta.get("external_location") or "")
    if not found:
        return None
    return found.group(1).replace("{name}", source["name"]).replace("$INTENT_LAKE_DIR", str(lake_dir))


def _files_fingerprint(pattern: str, lake_dir: Path) -> str:
    """The files of the glob ``pattern`` that hold a row: path under the lake, size, modification time;
    and the columns (name, type) of every file, rows or not: the sources read their files with
    ``union_by_name``, so a file without a row that adds a column or another type of one changes the
    source's columns (another empty partition like the others changes nothing). A file that is no
    readable Parquet counts as holding rows (dbt reads it, or fails on it)."""
    import glob

    import pyarrow.parquet as pq

    digest = hashlib.sha256()
    columns: set[tuple[str, str]] = set()
    for path in sorted(glob.glob(pattern)):
        try:
            parquet = pq.ParquetFile(path)
            columns.update((column.name, str(column.type)) for column in parquet.schema_arrow)
            if parquet.metadata.num_rows == 0:
                continue
        except (OSError, ValueError):  # pyarrow's ArrowInvalid is a ValueError
            pass
        stat = os.stat(path)
        digest.update(f"{os.path.relpath(path, lake_dir)}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    digest.update(json.dumps(sorted(columns)).encode())
    return digest.hexdigest()


def fingerprints(project_dir: Path, manifest: Mapping, lake_dir: Path, env: Mapping[str, str]) -> dict[str, str]:
    """Each input's fingerprint: :data:`PROJECT_KEY` (every file of the project, this package's Python,
    which the Python models import, dbt's version and the ``INTENT_*`` / ``DBT_*`` environment but
    :data:`RUN_ONLY_ENV`) and each source of ``manifest`` (its unique id; a source that is no lake glob
    has none and always counts as changed)."""
    from importlib.metadata import version

    project = hashlib.sha256(f"dbt-core {version('dbt-core')} dbt-duckdb {version('dbt-duckdb')}".encode())
    for path in seed_state.project_files(project_dir):
        project.update(str(path).encode() + b"\0" + (project_dir / path).read_bytes() + b"\0")
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        project.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes() + b"\0")
    for name in sorted(env):
        if name.startswith(("INTENT_", "DBT_")) and name not in RUN_ONLY_ENV:
            project.update(f"{name}={env[name]}\0".encode())
    found = {PROJECT_KEY: project.hexdigest()}
    for uid, source in manifest.get("sources", {}).items():
        pattern = _source_pattern(source, lake_dir)
        if pattern is not None:
            found[uid] = _files_fingerprint(pattern, lake_dir)
    return found


def take_record(warehouse: Path) -> dict[str, str]:
    """The fingerprints recorded in ``warehouse`` by its last successful build, removed from it (a build
    that fails leaves none: the next one builds every node). Empty when there is none or the file is held."""
    if not warehouse.exists():
        return {}
    import duckdb

    try:
        con = duckdb.connect(str(warehouse))
    except duckdb.Error as error:  # held by another process: dbt reports that (and the task is retried)
        log.info("cannot read the inputs' record in %s, building every node: %s", warehouse, error)
        return {}
    try:
        schema, table = STATE_TABLE.split(".")
        listed = "select count(*) from information_schema.tables where table_schema = ? and table_name = ?"
        if con.execute(listed, [schema, table]).fetchone() == (0,):
            return {}
        rows = con.execute(f"select input, fingerprint from {STATE_TABLE}").fetchall()
        con.execute(f"drop table {STATE_TABLE}")
    finally:
        con.close()
    return dict(rows)


def _relations(warehouse: Path) -> set[tuple[str, str]]:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {(s.lower(), t.lower()) for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables").fetchall()}  # fmt: skip
    finally:
        con.close()


def _relation(node: Mapping) -> tuple[str, str]:
    return str(node.get("schema", "")).lower(), str(node.get("alias") or node.get("name")).lower()


def tests_lake_window(current: Mapping[str, str], recorded: Mapping[str, str], manifest: Mapping,
                      warehouse: Path) -> bool:  # fmt: skip
    """Whether this build's data tests whose ``where`` is :data:`WINDOW_WHERE` may check only the rows
    of the lake window, the rows their model writes on a daily build. True when the last successful
    build's record (``recorded``: :func:`take_record`) is of this same project (``current``:
    :func:`fingerprints`), so every row outside the window was written by a build of this project whose
    data tests passed over it (every row when it had no such record, its own window's rows otherwise;
    any other dbt run that writes removes the record), and every model those tests read has its relation
    in ``warehouse`` (a missing one is built from every partition). The caller leaves it false on a full
    refresh."""
    if not recorded or recorded.get(PROJECT_KEY) != current.get(PROJECT_KEY) or not manifest.get("nodes"):
        return False
    nodes = manifest["nodes"]
    tested = {parent for node in nodes.values()
              if node.get("resource_type") == "test"
              and str((node.get("config") or {}).get("where") or "").startswith(WINDOW_WHERE)
              for parent in node.get("depends_on", {}).get("nodes", [])}  # fmt: skip
    present = _relations(warehouse)
    return all(uid in nodes and _relation(nodes[uid]) in present for uid in tested)


def rebuilt(manifest: Mapping, changed: Iterable[str], present: set[tuple[str, str]]) -> set[str]:
    """The nodes of ``manifest`` a build must run: the nodes that read the date or the lake outside their
    sources (:func:`date_readers`), the models without a relation in ``present`` (schema, name), the
    snapshots, the nodes that read one of ``changed`` (unique ids of sources and seeds), and every node
    downstream of those."""
    nodes = manifest.get("nodes", {})
    dated, lake = date_readers(manifest)
    roots = set(changed) | dated | lake
    for uid, node in nodes.items():
        kind = node.get("resource_type")
        materialized = node.get("config", {}).get("materialized")
        if kind == "snapshot" or (kind == "model" and materialized != "ephemeral" and _relation(node) not in present):
            roots.add(uid)
    children: dict[str, list[str]] = {}
    for uid, node in nodes.items():
        for parent in node.get("depends_on", {}).get("nodes", []):
            children.setdefault(parent, []).append(uid)
    found, pending = set(), list(roots)
    while pending:
        uid = pending.pop()
        if uid in found:
            continue
        found.add(uid)
        pending.extend(children.get(uid, []))
    return found


def skip_args(
    current: Mapping[str, str],
    recorded: Mapping[str, str],
    unchanged_seeds: Iterable[str],
    manifest: Mapping,
    warehouse: Path,
) -> tuple[str, ...]:
    """The names of the models and data tests a build can leave out (for ``--exclude``), or nothing.
    ``current``: the inputs' fingerprints now (:func:`fingerprints`); ``recorded``: the last successful
    build's (:func:`take_record`); ``unchanged_seeds``: the seeds ``seed_state`` leaves out (the others
    are built, so what reads them is rebuilt); ``manifest``: the last build's."""
    if not recorded or recorded.get(PROJECT_KEY) != current.get(PROJECT_KEY) or not manifest.get("nodes"):
        return ()
    keep = set(unchanged_seeds)
    changed = {uid for uid in manifest.get("sources", {}) if uid not in current or recorded.get(uid) != current[uid]}
    changed |= {uid for uid, node in manifest["nodes"].items()
                if node.get("resource_type") == "seed" and node.get("name") not in keep}  # fmt: skip
    run = rebuilt(manifest, changed, _relations(warehouse))
    return tuple(sorted(node["name"] for uid, node in manifest["nodes"].items()
                        if node.get("resource_type") in ("model", "test") and uid not in run))  # fmt: skip


def record(current: Mapping[str, str], warehouse: Path) -> None:
    """Record ``current``, the fingerprints taken before a build that succeeded."""
    seed_state.write_fingerprints(warehouse, STATE_TABLE, "input", current)


def read_manifest(path: Path) -> dict:
    """The last build's manifest.json, or empty when there is none readable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        log.info("no readable manifest of the last build (%s): every node is built", error)
        return {}
