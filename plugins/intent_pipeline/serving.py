"""The serving copy BI tools read: the validated marts, published away from the build file.

DuckDB locks a database file per process: while any process holds the build file open (even
read-only) ``dbt build`` cannot write it, and while dbt writes nobody else can open it. So BI
never opens the build file (``INTENT_WAREHOUSE``). After ``validate_marts`` passes, the DAG's
``publish`` task copies the marts into a serving folder (``INTENT_SERVING_DIR``, default
``<warehouse folder>/serving``):

* ``warehouse.duckdb``: schema ``marts`` only, written under a temporary name and swapped in by
  ``os.replace`` (a rename: atomic on POSIX). A reader that holds the previous file open keeps
  reading the previous snapshot (its open file is the old inode) and sees the new one when it
  reopens; a reader never sees a half-written file and never blocks the pipeline.
* ``parquet/current/<mart>.parquet``: one Parquet file per mart for tools that read files.
  ``current`` is a symlink swapped by rename to a complete version folder; the previous
  version is kept (a reader in the middle of a file finishes it), older ones are removed.
* ``published.json`` (and the table ``serving.published`` inside the copy): which run and
  interval the serving copy holds, when, and the row counts.

Both show personal data masked: every column tagged ``meta: {pii: true}`` in dbt is masked or
hashed (``privacy/serving_mask.py``; the table ``serving.masked_columns`` lists them). Activation
reads the run's unmasked snapshot, never the serving copy.

Runs are isolated from each other too: right after its build, ``dbt_build`` copies the closed
build file to a per-run snapshot (``<state>/snapshots/<run>.duckdb``), and the run's later tasks
(validate_marts, publish, activate, summarize, training) read that snapshot, so another run's
build (a backfill, a manual run) can neither lock them out nor change the marts under them.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from intent_pipeline.settings import Settings

log = logging.getLogger(__name__)

SERVING_DB = "warehouse.duckdb"
PARQUET_DIR = "parquet"
CURRENT = "current"
MANIFEST = "published.json"
# Per-run snapshots kept besides the newest ones: runs still past their build (activation,
# training) read theirs; with the warehouse pool of size 1 only one run builds at a time.
SNAPSHOTS_KEPT = 6


class PublishError(RuntimeError):
    """The serving copy could not be published (missing snapshot, no marts)."""


def serving_dir(settings: Settings, env: dict[str, str] | None = None) -> Path:
    """``INTENT_SERVING_DIR``, or ``serving/`` beside the build file."""
    from intent_pipeline.settings import Settings

    return Settings.from_env(env).serving_dir or settings.warehouse.parent / "serving"


def serving_database(settings: Settings, env: dict[str, str] | None = None) -> Path:
    """The DuckDB file BI tools open (read-only)."""
    return serving_dir(settings, env) / SERVING_DB


def _safe_name(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id)


def snapshot_path(settings: Settings, run_id: str) -> Path:
    return settings.state_dir / "snapshots" / f"{_safe_name(run_id)}.duckdb"


def snapshot_build(settings: Settings, run_id: str) -> Path:
    """Copy the closed build file to the run's snapshot (called by dbt_build after dbt exited,
    still holding the warehouse pool's slot); prune the oldest snapshots."""
    target = snapshot_path(settings, run_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    wal = settings.warehouse.with_name(settings.warehouse.name + ".wal")
    if wal.exists():
        raise PublishError(f"{wal} exists: the build file was not closed cleanly; re-run dbt_build")
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    shutil.copyfile(settings.warehouse, tmp)
    os.replace(tmp, target)
    _prune(sorted(target.parent.glob("*.duckdb"), key=lambda p: p.stat().st_mtime), SNAPSHOTS_KEPT, keep=target)
    return target


def run_settings(settings: Settings, run_id: str) -> Settings:
    """Settings whose ``warehouse`` is the run's snapshot; the build file when the run has none
    (dbt_build was marked done, or the task runs outside the DAG). On Postgres
    (``INTENT_ENGINE=postgres``) ``pg_snapshot`` names the run's snapshot schemas
    (``postgres_load.snapshot_postgres``), or stays empty (the live marts) when it has none."""
    if settings.engine == "postgres":
        from intent_pipeline.postgres_load import snapshot_taken

        prefix = snapshot_taken(run_id)
        if prefix:
            return settings.model_copy(update={"pg_snapshot": prefix})
        log.warning("no snapshot on Postgres for run %s: reading the live marts", run_id)
        return settings
    snapshot = snapshot_path(settings, run_id)
    if snapshot.exists():
        return settings.model_copy(update={"warehouse": snapshot})
    log.warning("no snapshot for run %s: reading the build file %s", run_id, settings.warehouse)
    return settings


def _prune(paths: list[Path], kept: int, keep: Path | None = None) -> None:
    for path in paths[:-kept] if kept else paths:
        if path == keep:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _sql_string(value: Path | str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def new_version() -> str:
    """A new version name of the serving copy (sortable by time)."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:6]}"


def parquet_tmp(target_dir: Path, version: str) -> Path:
    """Where a publish writes the Parquet files of ``version`` before :func:`swap_in_parquet`."""
    return target_dir / PARQUET_DIR / f".{version}.tmp"


def swap_in_parquet(target_dir: Path, tmp_parquet: Path, version: str) -> Path:
    """Make the complete folder ``tmp_parquet`` the version ``version`` and point ``current`` at it
    (each by one rename); keep the previous version for readers still in it, remove older ones."""
    versions = target_dir / PARQUET_DIR
    final = versions / version
    os.replace(tmp_parquet, final)
    link_tmp = versions / f".{CURRENT}.{version}.tmp"
    link_tmp.symlink_to(version)
    os.replace(link_tmp, versions / CURRENT)
    done = sorted(p for p in versions.iterdir() if not p.name.startswith(".") and p.name != CURRENT)
    _prune(done, 2, keep=final)
    return final


def write_manifest(target_dir: Path, manifest: dict) -> None:
    """``published.json`` (what the serving copy holds), replaced by one rename."""
    manifest_tmp = target_dir / f".{MANIFEST}.{manifest['version']}.tmp"
    manifest_tmp.write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
    os.replace(manifest_tmp, target_dir / MANIFEST)


def record_publish(lake_dir: Path | str, counts: dict[str, int], *, run_id: str, interval_start: str,
                   version: str) -> None:
    """The publish in the audit trail (``privacy.audit``: event ``publish``, the rows published)."""
    from intent_pipeline.privacy import audit

    audit.record("publish", lake_dir=Path(lake_dir), destination="serving", purpose="analytics",
                 record_count=sum(counts.values()), run_id=run_id, interval_start=interval_start, version=version,
                 marts=len(counts))  # fmt: skip


def publish(
    source: Path,
    target_dir: Path,
    *,
    run_id: str = "",
    interval_start: str = "",
    parquet: bool = True,
    pii: dict[str, dict[str, str]] | None = None,
    mask: bool | None = None,
    lake_dir: Path | None = None,
) -> dict:
    """Publish the marts of ``source`` (a closed DuckDB file) to ``target_dir``; return the manifest.

    The new database and the new Parquet version are complete before either is swapped in.
    Columns tagged ``meta: {pii: true}`` in dbt (``pii``: ``{mart: {column: rule}}``, default read by
    ``privacy.serving_mask.pii_columns``) are masked in both unless ``mask`` is False (default:
    ``INTENT_SERVING_MASK``, on); docs/privacy.md, "Masked BI".
    With ``lake_dir`` (the pipeline's publish task always gives it) the publish is recorded in the
    audit trail (``privacy.audit``: event ``publish``, the rows published, the run, the version), and
    the interval's quality-gate verdicts recorded in it replace that interval's rows of
    ``marts.quality_gate_results`` in the copy (``quality.verdicts.overlay``: the marts gate ran after
    the build, so only the copy can show its verdict of this run)."""
    import duckdb

    from intent_pipeline.privacy import serving_mask
    from intent_pipeline.quality import verdicts

    mask, tagged_pii = serving_mask.publish_masking(mask, pii)
    masked_columns: dict[str, dict[str, str]] = {}

    started = time.monotonic()
    if not Path(source).exists():
        raise PublishError(f"nothing to publish: {source} does not exist (dbt_build has not run)")
    target_dir.mkdir(parents=True, exist_ok=True)
    version = new_version()
    tmp_db = target_dir / f".{SERVING_DB}.{version}.tmp"
    versions = target_dir / PARQUET_DIR
    tmp_parquet = parquet_tmp(target_dir, version)
    counts: dict[str, int] = {}
    overlaid = 0
    try:
        con = duckdb.connect(str(tmp_db))
        try:
            con.execute(f"attach {_sql_string(source)} as build (read_only)")
            marts = [
                row[0]
                for row in con.execute(
                    "select table_name from duckdb_tables() where database_name = 'build' and schema_name = 'marts' "
                    "union select view_name from duckdb_views() where database_name = 'build' "
                    "and schema_name = 'marts' order by 1"
                ).fetchall()
            ]
            if not marts:
                raise PublishError(f"{source} has no schema marts with tables: nothing to publish")
            con.execute("create schema marts")
            if mask:
                serving_mask.register(con)
            if parquet:
                tmp_parquet.mkdir(parents=True)
            for mart in marts:
                tagged = tagged_pii.get(mart, {}) if mask else {}
                columns = [
                    row[0]
                    for row in con.execute(
                        "select column_name from duckdb_columns() where database_name = 'build' "
                        "and schema_name = 'marts' and table_name = ? order by column_index",
                        [mart],
                    ).fetchall()
                ]
                present = {column: rule for column, rule in tagged.items() if column in columns}
                if present:
                    masked_columns[mart] = present
                select = serving_mask.select_list(columns, present) if present else "*"
                con.execute(f"create table marts.{_ident(mart)} as select {select} from build.marts.{_ident(mart)}")
                if mart == verdicts.MART and lake_dir is not None and interval_start:
                    # the build knew the raw gate's verdict of its interval, not the marts gate's (run after it)
                    overlaid = verdicts.overlay(con, f"marts.{_ident(mart)}", lake_dir, interval_start)
                row = con.execute(f"select count(*) from marts.{_ident(mart)}").fetchone()
                counts[mart] = int(row[0]) if row else 0
                if parquet:
                    parquet_file = tmp_parquet / f"{mart}.parquet"
                    con.execute(
                        f"copy marts.{_ident(mart)} to {_sql_string(parquet_file)} (format parquet, compression zstd)"
                    )
            # what the copy holds, for BI dashboards ("as of") and readers checking they see the new one
            con.execute("create schema serving")
            con.execute(
                "create table serving.published as select ? as run_id, ? as interval_start, ? as version, "
                "cast(? as timestamptz) as published_at",
                [run_id, interval_start, version, datetime.now(UTC)],
            )
            # which columns BI sees masked, and how (docs/privacy.md, "Masked BI")
            con.execute("create table serving.masked_columns (mart varchar, column_name varchar, rule varchar)")
            masked_rows = [[m, column, rule] for m, found in masked_columns.items() for column, rule in found.items()]
            if masked_rows:
                con.executemany("insert into serving.masked_columns values (?, ?, ?)", masked_rows)
            con.execute("detach build")
        finally:
            con.close()
        # Both are complete: swap them in, each by one rename.
        os.replace(tmp_db, target_dir / SERVING_DB)
        if parquet:
            swap_in_parquet(target_dir, tmp_parquet, version)
    except BaseException:
        tmp_db.unlink(missing_ok=True)
        shutil.rmtree(tmp_parquet, ignore_errors=True)
        raise
    manifest = {
        "run_id": run_id,
        "interval_start": interval_start,
        "version": version,
        "published_at": datetime.now(UTC).isoformat(),
        "source": str(source),
        "database": str(target_dir / SERVING_DB),
        "parquet": str(versions / CURRENT) if parquet else None,
        "marts": counts,
        "masked": bool(mask),
        "masked_columns": masked_columns,
        "gate_verdicts_added": overlaid,
        "publish_seconds": round(time.monotonic() - started, 3),
    }
    write_manifest(target_dir, manifest)
    if lake_dir is not None:
        record_publish(lake_dir, counts, run_id=run_id, interval_start=interval_start, version=version)
    log.info("published %d marts (%s) to %s in %.2f s", len(counts), version, target_dir, manifest["publish_seconds"])
    return manifest


def published(target_dir: Path) -> dict | None:
    """The manifest of what the serving copy holds, or None before the first publish."""
    path = target_dir / MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def connect(target_dir: Path):
    """A read-only connection to the serving copy (what a BI tool does)."""
    import duckdb

    path = target_dir / SERVING_DB
    if not path.exists():
        raise PublishError(f"no serving copy at {path}: run the pipeline (make run) first")
    return duckdb.connect(str(path), read_only=True)


def main(argv: list[str] | None = None) -> int:
    """``python -m intent_pipeline.serving [SQL ...]``: query the serving copy read-only
    (``make bi-shell``); without SQL, read statements from stdin, one per line."""
    import argparse
    import sys

    from intent_pipeline.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m intent_pipeline.serving", description=main.__doc__)
    parser.add_argument("sql", nargs="*", help="statements to run; none: read them from stdin")
    args = parser.parse_args(argv)
    target = serving_dir(Settings.from_env())
    try:
        con = connect(target)
    except PublishError as error:
        print(error, file=sys.stderr)
        return 1
    manifest = published(target) or {}
    print(
        f"serving copy {target / SERVING_DB} (read-only): run {manifest.get('run_id')}, "
        f"interval {manifest.get('interval_start')}, published {manifest.get('published_at')}",
        file=sys.stderr,
    )
    statements = args.sql or None
    interactive = statements is None and sys.stdin.isatty()
    try:
        while True:
            if statements is not None:
                if not statements:
                    return 0
                sql = statements.pop(0)
            else:
                try:
                    sql = input("bi> " if interactive else "")
                except EOFError:
                    return 0
            if not sql.strip():
                continue
            try:
                relation = con.sql(sql)
                if relation is not None:  # a statement (set, attach) returns no relation
                    relation.show(max_width=200)
            except Exception as error:  # a BI shell reports a bad query and goes on
                print(f"error: {error}", file=sys.stderr)
                if statements is not None:
                    return 1
    finally:
        con.close()


if __name__ == "__main__":
    raise SystemExit(main())
