"""The serving copy: BI readers in another process never block the build and never see half a snapshot."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from intent_pipeline import serving
from intent_pipeline.settings import Settings

READER = textwrap.dedent(
    """
    import sys, duckdb
    path = sys.argv[1]
    con = duckdb.connect(path, read_only=True)
    print("ready", flush=True)
    for line in sys.stdin:
        command = line.strip()
        try:
            if command == "reopen":
                con.close()
                con = duckdb.connect(path, read_only=True)
                print("reopened", flush=True)
            elif command == "query":
                rows = con.execute("select sum(score), count(*) from marts.lead_scores").fetchone()
                print(f"rows {rows[0]} {rows[1]}", flush=True)
            elif command == "quit":
                break
        except Exception as error:
            print(f"error {type(error).__name__}: {error}".replace(chr(10), " "), flush=True)
    con.close()
    """
)


class Reader:
    """A BI tool: a separate process that holds the serving copy open (read-only) and queries it."""

    def __init__(self, path: Path):
        self.process = subprocess.Popen(
            [sys.executable, "-c", READER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.read() == "ready"

    def read(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def send(self, command: str) -> str:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.read()

    def close(self) -> None:
        if self.process.poll() is None:
            self.send_quit()
        self.process.wait(timeout=60)

    def send_quit(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("quit\n")
        self.process.stdin.close()


def build(path: Path, scores: list[int]) -> None:
    """What dbt does to the build file: rewrite the marts (and a staging table BI must not see)."""
    con = duckdb.connect(str(path))
    con.execute("create schema if not exists marts")
    con.execute("create schema if not exists staging")
    con.execute("create or replace table staging.stg_forms__submissions as select 'raw pii' as email")
    con.execute("create or replace table marts.lead_scores (person_id integer, score integer)")
    con.executemany("insert into marts.lead_scores values (?, ?)", list(enumerate(scores)))
    con.execute("create or replace table marts.people as select range as person_id from range(?)", [len(scores)])
    con.close()


@pytest.fixture()
def reader_factory():
    readers: list[Reader] = []

    def make(path: Path) -> Reader:
        reader = Reader(path)
        readers.append(reader)
        return reader

    yield make
    for reader in readers:
        reader.close()


def test_reader_holds_the_serving_copy_while_the_build_writes_and_publishes(tmp_path, reader_factory):
    build_file, target = tmp_path / "warehouse.duckdb", tmp_path / "serving"
    build(build_file, [10, 20])
    first = serving.publish(build_file, target, run_id="run-1", interval_start="2026-11-19")
    assert first["marts"] == {"lead_scores": 2, "people": 2}

    reader = reader_factory(target / serving.SERVING_DB)
    assert reader.send("query") == "rows 30 2"

    # The next run writes the build file while the reader holds the serving copy: no lock error.
    build(build_file, [1, 2, 3])
    second = serving.publish(build_file, target, run_id="run-2", interval_start="2026-11-20")
    assert second["version"] != first["version"]
    # The open connection still reads the snapshot it opened, complete ...
    assert reader.send("query") == "rows 30 2"
    # ... and the new one after reopening.
    assert reader.send("reopen") == "reopened"
    assert reader.send("query") == "rows 6 3"
    assert serving.published(target)["run_id"] == "run-2"

    # BI sees the marts only, never staging's raw rows.
    with serving.connect(target) as con:
        schemas = {row[0] for row in con.execute("select distinct schema_name from duckdb_tables()").fetchall()}
        assert schemas == {"marts", "serving"}
        assert con.execute("select run_id, interval_start from serving.published").fetchall() == [
            ("run-2", "2026-11-20")
        ]


def test_a_reader_of_the_build_file_would_block_the_build(tmp_path, reader_factory):
    """Why BI must not open the build file: DuckDB's lock is per process, read-only included."""
    build_file = tmp_path / "warehouse.duckdb"
    build(build_file, [1])
    reader_factory(build_file)
    with pytest.raises(duckdb.IOException, match="lock"):
        build(build_file, [2])


def test_parquet_per_mart_swapped_as_a_whole(tmp_path):
    build_file, target = tmp_path / "warehouse.duckdb", tmp_path / "serving"
    versions = []
    for n in (2, 3, 4):
        build(build_file, list(range(n)))
        versions.append(serving.publish(build_file, target, run_id=f"run-{n}")["version"])
    current = target / "parquet" / "current"
    assert current.is_symlink() and current.resolve().name == versions[-1]
    assert {p.name for p in current.iterdir()} == {"lead_scores.parquet", "people.parquet"}
    assert duckdb.sql(f"select count(*) from '{current / 'people.parquet'}'").fetchall() == [(4,)]
    # the previous version stays for readers still in it; older ones are removed, no temporary left
    kept = sorted(p.name for p in (target / "parquet").iterdir() if p.name != "current")
    assert kept == sorted(versions[-2:])
    assert not [p for p in target.rglob("*") if ".tmp" in p.name]


def test_a_failed_publish_keeps_the_previous_copy(tmp_path):
    build_file, target = tmp_path / "warehouse.duckdb", tmp_path / "serving"
    build(build_file, [5, 5])
    before = serving.publish(build_file, target, run_id="good")
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(serving.PublishError, match="no schema marts"):
        serving.publish(empty, target, run_id="bad")
    with pytest.raises(serving.PublishError, match="does not exist"):
        serving.publish(tmp_path / "missing.duckdb", target, run_id="bad")
    assert serving.published(target)["version"] == before["version"]
    with serving.connect(target) as con:
        assert con.execute("select sum(score) from marts.lead_scores").fetchone() == (10,)
    assert not [p for p in target.rglob("*") if ".tmp" in p.name]


def test_run_snapshot_isolates_a_run_from_the_next_build(tmp_path):
    settings = Settings.from_env({"INTENT_HOME": str(tmp_path)})
    settings.warehouse.parent.mkdir(parents=True)
    build(settings.warehouse, [7])
    # without a snapshot (dbt_build marked done) a task reads the build file
    assert serving.run_settings(settings, "manual__a").warehouse == settings.warehouse
    snapshot = serving.snapshot_build(settings, "backfill__2026-11-20T00:00:00+00:00")
    assert snapshot.parent == settings.state_dir / "snapshots" and ":" not in snapshot.name
    build(settings.warehouse, [8, 9])  # the next run's build
    run = serving.run_settings(settings, "backfill__2026-11-20T00:00:00+00:00")
    assert run.warehouse == snapshot
    with duckdb.connect(str(run.warehouse), read_only=True) as con:
        assert con.execute("select sum(score) from marts.lead_scores").fetchone() == (7,)


def test_snapshots_are_pruned(tmp_path):
    settings = Settings.from_env({"INTENT_HOME": str(tmp_path)})
    settings.warehouse.parent.mkdir(parents=True)
    build(settings.warehouse, [1])
    import os

    for n in range(serving.SNAPSHOTS_KEPT + 3):
        path = serving.snapshot_build(settings, f"run-{n}")
        os.utime(path, (1_000_000 + n, 1_000_000 + n))
    left = sorted(p.name for p in (settings.state_dir / "snapshots").iterdir())
    assert len(left) == serving.SNAPSHOTS_KEPT
    assert "run-0.duckdb" not in left and f"run-{serving.SNAPSHOTS_KEPT + 2}.duckdb" in left


def test_serving_dir_setting(tmp_path):
    settings = Settings.from_env({"INTENT_HOME": str(tmp_path)})
    assert serving.serving_dir(settings, {}) == tmp_path / "data" / "serving"
    assert serving.serving_dir(settings, {"INTENT_SERVING_DIR": str(tmp_path / "bi")}) == tmp_path / "bi"


def test_bi_shell_queries_the_serving_copy(tmp_path):
    build_file, target = tmp_path / "warehouse.duckdb", tmp_path / "serving"
    build(build_file, [4, 5])
    serving.publish(build_file, target, run_id="run-1", interval_start="2026-11-21")
    root = Path(__file__).resolve().parents[1]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root / "plugins"), "INTENT_SERVING_DIR": str(target)}
    done = subprocess.run(
        [sys.executable, "-m", "intent_pipeline.serving", "select sum(score) as total from marts.lead_scores"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "total" in done.stdout and "9" in done.stdout
    assert "run-1" in done.stderr and "2026-11-21" in done.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "intent_pipeline.serving", "select * from staging.stg_forms__submissions"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert bad.returncode == 1 and "error" in bad.stderr
    assert json.loads((target / "published.json").read_text())["marts"] == {"lead_scores": 2, "people": 2}
