"""Seeds the daily build can leave as they are (docs/dbt-parse.md, "Unchanged seeds").

A seed is a small lookup table edited by hand (scoring rules, channel mapping). ``dbt build``
recreates every seed and re-runs every data test on them each day although they change only when
someone edits the project. The DuckDB build therefore records, in the warehouse itself, a
fingerprint of each seed it built (:func:`record`), and the next build leaves out the seeds whose
fingerprint is the same and whose table is still there, with the data tests that read only those
seeds (:func:`skip_args`). A changed seed, a seed whose table is missing, a warehouse without a
record (a new one, one built before this existed, one built by hand) and a full refresh build them.
The record lives in the warehouse, so a copy of a warehouse carries the record of its own seeds.

A seed's fingerprint hashes its CSV file and everything that can change how it is loaded or tested:
every YAML file of the project (dbt_project.yml's seed configs, the seeds' properties and tests),
the singular tests and dbt's version. Editing any of those rebuilds every seed once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

log = logging.getLogger(__name__)

# the schema of the record: not staging, intermediate or marts, which readers and tests enumerate
STATE_SCHEMA = "build_state"
STATE_TABLE = f"{STATE_SCHEMA}.seed_fingerprints"
SEED_SCHEMA = "staging"  # dbt_project.yml: seeds: +schema: staging


# folders of a dbt project that hold what dbt wrote, not what someone edited
GENERATED = frozenset({"target", "logs", "dbt_packages"})


def project_files(project_dir: Path) -> list[Path]:
    """Every file of the dbt project ``project_dir`` that someone wrote, relative to it, sorted:
    :data:`GENERATED` folders are not entered (a hand run's ``target`` holds thousands of files)."""
    found = []
    for folder, subfolders, files in os.walk(project_dir):
        subfolders[:] = [name for name in subfolders if name not in GENERATED]
        found += [Path(folder).relative_to(project_dir) / name for name in files]
    return sorted(found)


def fingerprints(project_dir: Path) -> dict[str, str]:
    """Each seed's fingerprint (seed name -> hex digest) in the dbt project ``project_dir``."""
    from importlib.metadata import version

    shared = hashlib.sha256(f"dbt-core {version('dbt-core')} dbt-duckdb {version('dbt-duckdb')}".encode())
    # the YAML (configs, properties, tests of every node) and the singular tests
    configs = [p for p in project_files(project_dir) if p.suffix in (".yml", ".yaml") or p.parts[0] == "tests"]
    for path in configs:
        shared.update(str(path).encode() + b"\0" + (project_dir / path).read_bytes() + b"\0")
    common = shared.hexdigest()
    return {
        path.stem: hashlib.sha256(common.encode() + b"\0" + path.read_bytes()).hexdigest()
        for path in sorted((project_dir / "seeds").glob("*.csv"))
    }


def recorded(warehouse: Path) -> dict[str, str]:
    """The fingerprints recorded in ``warehouse`` of the seeds whose table it still holds (empty: no
    warehouse, no record)."""
    if not warehouse.exists():
        return {}
    import duckdb

    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error as error:  # held by another process: dbt reports that (and the task is retried)
        log.info("cannot read the seeds' record in %s, building every seed: %s", warehouse, error)
        return {}
    try:
        listed = "select table_name from information_schema.tables where table_schema = ?"
        tables = {row[0] for row in con.execute(listed, [SEED_SCHEMA]).fetchall()}
        has_record = con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [STATE_SCHEMA, STATE_TABLE.split(".")[1]],
        ).fetchone() != (0,)
        rows = con.execute(f"select seed, fingerprint from {STATE_TABLE}").fetchall() if has_record else []
    finally:
        con.close()
    return {seed: fingerprint for seed, fingerprint in rows if seed in tables}


def unchanged(current: Mapping[str, str], warehouse: Path) -> list[str]:
    """The seeds a build can leave out: their fingerprint in ``current`` (:func:`fingerprints`) the
    one recorded in ``warehouse``, their table still there."""
    stored = recorded(warehouse)
    return sorted(seed for seed, fingerprint in current.items() if stored.get(seed) == fingerprint)


def tests_of_only(manifest: Mapping, seeds: Iterable[str]) -> list[str]:
    """The data tests of ``manifest`` (a dbt manifest.json) that read nothing but these seeds."""
    ids = {uid for uid, node in manifest.get("nodes", {}).items()
           if node.get("resource_type") == "seed" and node.get("name") in set(seeds)}  # fmt: skip
    return sorted(
        node["name"]
        for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") == "test"
        and (parents := node.get("depends_on", {}).get("nodes", []))
        and set(parents) <= ids
    )


def skip_args(
    current: Mapping[str, str], warehouse: Path, manifest_path: Path, *, full_refresh: bool
) -> tuple[str, ...]:
    """``--exclude`` and the unchanged seeds with their tests, or nothing (a full refresh, nothing
    unchanged). ``current``: the project's fingerprints now (:func:`fingerprints`). The tests are found
    in the last build's manifest (``manifest_path``): the project is the same as then, or the
    fingerprints would differ; without a readable one (none yet, or cut short when dbt was killed)
    the seeds' tests run."""
    if full_refresh:
        return ()
    seeds = unchanged(current, warehouse)
    if not seeds:
        return ()
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        log.info("no readable manifest of the last build (%s): the unchanged seeds' tests run", error)
        manifest = {}
    return ("--exclude", *seeds, *tests_of_only(manifest, seeds))


def record(current: Mapping[str, str], warehouse: Path) -> None:
    """Record ``current``, the fingerprints taken before a build that succeeded (every seed is then
    either rebuilt from the files they describe or unchanged since its fingerprint was recorded; a
    seed edited while dbt ran is not what dbt loaded, and its next build sees the difference)."""
    write_fingerprints(warehouse, STATE_TABLE, "seed", current)


def write_fingerprints(warehouse: Path, table: str, key: str, current: Mapping[str, str]) -> None:
    """Replace the table ``table`` (in :data:`STATE_SCHEMA`) of ``warehouse`` with ``current`` (``key`` ->
    fingerprint). A warehouse taken since dbt ended is left as it is (logged): the next build then builds
    what the record would have left out, nothing is lost."""
    import duckdb

    try:
        con = duckdb.connect(str(warehouse))
    except duckdb.Error as error:
        log.warning("cannot record the fingerprints of %s in %s: %s", table, warehouse, error)
        return
    try:
        con.begin()
        con.execute(f"create schema if not exists {STATE_SCHEMA}")
        con.execute(f"create or replace table {table} ({key} varchar primary key, fingerprint varchar not null)")
        con.executemany(f"insert into {table} values (?, ?)", sorted(current.items()))
        con.commit()
    finally:
        con.close()
