"""The run's snapshot and the masked serving schema on a real PostgreSQL server (postgres_load.py).

The server is the OS package's, the test run's (tests/postgres_server.py; this file has its own
database there). No dbt here: the marts are small tables written by the test, so what is checked is
the step itself.

1. ``publish_postgres`` masks every tagged column as the DuckDB serving copy does: the same marts
   published by ``serving.publish`` into a DuckDB file and by ``publish_postgres`` into schema
   ``serving`` give the same rows, value for value (masks, ``<column>_key`` hashes, NULL and empty
   text kept), and no published cell holds a tagged value in the clear.
2. ``snapshot_postgres`` freezes the run's marts: after the next "build" replaces ``marts``, the
   readers of the run's later tasks (``PgReader`` with the run's snapshot, the gate's ``read_marts``,
   activation's ``read_segment``, ``serving.run_settings``) still read the run's rows, and the
   publish of the run copies those, not the new build's.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.postgres_server import database_fixture, pg_rows, postgres_server_fixture  # noqa: F401  (fixture server)

PII = {
    "people": {"email": "email", "phone": "phone", "full_name": "name", "identifiers": "hash"},
    "segment_high_intent": {"email": "email", "full_name": "name"},
}
PEOPLE = [
    # person_id, email, phone, full_name, identifiers, lead_score
    ("p1", "wang.wei@example.com", "+86 138 0013 8000", "王伟", "email:wang.wei@example.com|phone:8613800138000", 81.5),
    ("p2", " Anna.Lee@Example.COM ", "0171 555 1234", "Anna Lee", "email:anna.lee@example.com", 40.0),
    ("p3", None, "", "欧阳娜娜", None, 12.25),
    ("p4", "no-at-sign", "12345", "", "crm:42", 0.0),
    ("p5", "wang.wei@example.com", None, None, "", 55.0),  # the same address as p1: the same key
]
SEGMENT = [("p1", "wang.wei@example.com", "王伟", 81.5), ("p2", " Anna.Lee@Example.COM ", "Anna Lee", 40.0)]
# the rest of the segment's contract (activation.segments.SEGMENT_COLUMNS), left NULL here
SEGMENT_REST = ("phone text, company text, job_title text, industry text, owner text, crm_lead_id text, grade text,"
                " score_reasons text, became_hot_in_interval boolean, consent_crm_sync boolean,"
                " consent_chat_alert boolean")  # fmt: skip


def execute(connection: dict, *statements: tuple[str, Any] | str) -> None:
    import psycopg2

    con = psycopg2.connect(**connection)
    try:
        with con, con.cursor() as cursor:
            for statement in statements:
                sql, params = (statement, None) if isinstance(statement, str) else statement
                cursor.execute(sql, params)
    finally:
        con.close()


def write_marts(connection: dict, people: list[tuple], segment: list[tuple], scored_at: datetime) -> None:
    """Schema ``marts`` (and the intermediate table the summary reads) as a build leaves them."""
    import psycopg2
    from psycopg2.extras import execute_values

    con = psycopg2.connect(**connection)
    try:
        with con, con.cursor() as cursor:
            cursor.execute("drop schema if exists marts cascade; create schema marts")
            cursor.execute("create schema if not exists intermediate")
            cursor.execute("create table marts.people (person_id text, email text, phone text, full_name text,"
                           " identifiers text, lead_score double precision)")  # fmt: skip
            execute_values(cursor, "insert into marts.people values %s", people)
            cursor.execute("create table marts.segment_high_intent (person_id text, email text, full_name text,"
                           f" lead_score double precision, scored_at timestamp, {SEGMENT_REST})")  # fmt: skip
            execute_values(cursor, "insert into marts.segment_high_intent (person_id, email, full_name, lead_score,"
                           " scored_at) values %s", [(*row, scored_at) for row in segment])  # fmt: skip
            cursor.execute("create table marts.lead_scores as select person_id, lead_score from marts.people")
            cursor.execute("drop table if exists intermediate.int_scoring_features")
            cursor.execute("create table intermediate.int_scoring_features as"
                           " select person_id as score_point, 'score' as feature, lead_score as value"
                           " from marts.people")  # fmt: skip
    finally:
        con.close()


def duckdb_marts(path, people: list[tuple], segment: list[tuple], scored_at: datetime) -> None:
    """The same marts in a DuckDB build file, for ``serving.publish``."""
    import duckdb

    con = duckdb.connect(str(path))
    try:
        con.execute("create schema marts")
        con.execute("create table marts.people (person_id varchar, email varchar, phone varchar, full_name varchar,"
                    " identifiers varchar, lead_score double)")  # fmt: skip
        con.executemany("insert into marts.people values (?, ?, ?, ?, ?, ?)", people)
        con.execute("create table marts.segment_high_intent (person_id varchar, email varchar, full_name varchar,"
                    f" lead_score double, scored_at timestamp, {SEGMENT_REST})")  # fmt: skip
        con.executemany("insert into marts.segment_high_intent (person_id, email, full_name, lead_score, scored_at)"
                        " values (?, ?, ?, ?, ?)", [(*row, scored_at) for row in segment])  # fmt: skip
        con.execute("create table marts.lead_scores as select person_id, lead_score from marts.people")
    finally:
        con.close()


@pytest.fixture
def fresh(server) -> Iterator[dict]:
    """The file's database with nothing published and no snapshot."""
    execute(server, "drop schema if exists serving cascade", "drop schema if exists serving__previous cascade",
            "drop schema if exists run_snapshots cascade")  # fmt: skip
    for (schema,) in pg_rows(server, "select nspname from pg_namespace where nspname like 'run\\_%'"):
        execute(server, f'drop schema "{schema}" cascade')
    yield server


def test_the_serving_schema_is_masked_exactly_as_the_duckdb_serving_copy(fresh, tmp_path):
    from intent_pipeline import serving
    from intent_pipeline.engine_compare import sorted_rows
    from intent_pipeline.postgres_load import publish_postgres

    scored_at = datetime(2026, 11, 22)
    write_marts(fresh, PEOPLE, SEGMENT, scored_at)
    duckdb_marts(tmp_path / "build.duckdb", PEOPLE, SEGMENT, scored_at)
    duck = serving.publish(tmp_path / "build.duckdb", tmp_path / "serving", run_id="r", pii=PII, mask=True)
    done = publish_postgres(fresh, run_id="r", interval_start="2026-11-21", pii=PII, mask=True,
                            parquet_dir=tmp_path / "pg-serving")  # fmt: skip
    assert done["masked_columns"] == duck["masked_columns"] == PII
    assert done["tables"] == duck["marts"] == {"lead_scores": 5, "people": 5, "segment_high_intent": 2}

    import duckdb

    con = duckdb.connect(str(tmp_path / "serving" / serving.SERVING_DB), read_only=True)
    try:
        for mart in ("people", "segment_high_intent", "lead_scores"):
            duck_columns = [r[0] for r in con.execute(
                "select column_name from duckdb_columns() where schema_name = 'marts' and table_name = ?"
                " order by column_index", [mart]).fetchall()]  # fmt: skip
            pg_columns = [r[0] for r in pg_rows(fresh, "select column_name from information_schema.columns where"
                                             f" table_schema = 'serving' and table_name = '{mart}'"
                                             " order by ordinal_position")]  # fmt: skip
            assert pg_columns == duck_columns, mart
            listed = ", ".join(f'"{c}"' for c in pg_columns)
            assert sorted_rows(pg_rows(fresh, f"select {listed} from serving.{mart}")) == sorted_rows(
                con.execute(f"select {listed} from marts.{mart}").fetchall()), mart  # fmt: skip
        # the Parquet files BI and the dashboards read: the same columns, types and rows from either engine
        assert done["parquet"] and Path(done["parquet"]).parent == tmp_path / "pg-serving" / serving.PARQUET_DIR
        for mart in ("people", "segment_high_intent", "lead_scores"):
            files = [Path(duck["parquet"]) / f"{mart}.parquet", Path(done["parquet"]) / f"{mart}.parquet"]
            described = [con.execute(f"describe select * from read_parquet('{f}')").fetchall() for f in files]
            assert [(c[0], c[1]) for c in described[0]] == [(c[0], c[1]) for c in described[1]], mart
            read = [sorted_rows(con.execute(f"select * from read_parquet('{f}')").fetchall()) for f in files]
            assert read[0] == read[1] and len(read[1]) == done["tables"][mart], mart
    finally:
        con.close()

    people = {r[0]: r[1:] for r in pg_rows(fresh, "select person_id, email, phone, full_name, identifiers, email_key,"
                                              " phone_key from serving.people")}  # fmt: skip
    assert people["p1"][:3] == ("w***@example.com", "***8000", "王*")
    assert people["p2"][:3] == ("A***@Example.COM", "***1234", "A***")
    assert people["p3"][0] is None and people["p3"][1] == "" and people["p3"][2] == "欧***"
    assert people["p3"][3] is None and people["p3"][4] is None  # NULL stays NULL, no key invented
    assert people["p4"][:3] == ("***", "***", "") and people["p5"][3] == ""
    assert people["p1"][4] == people["p5"][4] and len(people["p1"][4]) == 32  # same address, same key
    assert people["p1"][3] != PEOPLE[0][4] and len(people["p1"][3]) == 32  # identifiers hashed
    # keys join across masked marts without showing the address
    joined = pg_rows(fresh, "select count(*) from serving.people p join serving.segment_high_intent s"
                         " on s.email_key = p.email_key")  # fmt: skip
    assert joined == [(3,)]  # p1 and p5 share p1's address, p2 its own
    # no published cell holds a tagged value in the clear
    clear = {v.strip() for row in PEOPLE for v in row[1:5] if v and len(v.strip()) > 3}
    for mart in ("people", "segment_high_intent"):
        for row in pg_rows(fresh, f"select * from serving.{mart}"):
            assert not clear & {str(v).strip() for v in row}, (mart, row)
    assert sorted(pg_rows(fresh, "select mart, column_name, rule from serving.masked_columns")) == sorted(
        (m, c, r) for m, found in PII.items() for c, r in found.items())  # fmt: skip
    # marts as built
    assert pg_rows(fresh, "select email from marts.people where person_id = 'p1'") == [(PEOPLE[0][1],)]


def test_unmasked_when_masking_is_off(fresh):
    from intent_pipeline.postgres_load import publish_postgres

    write_marts(fresh, PEOPLE, SEGMENT, datetime(2026, 11, 22))
    done = publish_postgres(fresh, run_id="r", pii=PII, mask=False)
    assert done["masked_columns"] == {}
    assert pg_rows(fresh, "select email from serving.people where person_id = 'p1'") == [(PEOPLE[0][1],)]
    assert pg_rows(fresh, "select count(*) from serving.masked_columns") == [(0,)]


def test_the_run_snapshot_keeps_what_the_runs_later_tasks_read_while_the_next_build_replaces_the_marts(
    fresh, monkeypatch
):
    from intent_pipeline import serving
    from intent_pipeline.activation.segments import read_segment
    from intent_pipeline.postgres_load import (
        PgReader,
        profile_env,
        publish_postgres,
        read_marts,
        snapshot_postgres,
        snapshot_schemas,
        snapshot_taken,
    )
    from intent_pipeline.settings import Settings

    for name, value in profile_env(fresh).items():  # the readers connect as the DAG's tasks do
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("INTENT_ENGINE", "postgres")
    first_scored, next_scored = datetime(2026, 11, 22), datetime(2026, 11, 23)
    write_marts(fresh, PEOPLE, SEGMENT, first_scored)
    taken = snapshot_postgres("manual__run-1", fresh)
    assert taken["tables"]["marts.people"] == 5 and taken["tables"]["intermediate.int_scoring_features"] == 5
    assert snapshot_taken("manual__run-1", fresh) == taken["prefix"] and snapshot_taken("other", fresh) is None

    # the next run's build replaces the marts (another day: other people, another segment)
    later_people = [("p9", "new@example.com", None, "New", None, 99.0)]
    write_marts(fresh, later_people, [("p9", "new@example.com", "New", 99.0)], next_scored)

    settings = serving.run_settings(Settings.from_env(), "manual__run-1")
    assert settings.pg_snapshot == taken["prefix"]
    assert serving.run_settings(Settings.from_env(), "manual__never-built").pg_snapshot == ""  # live marts
    with PgReader(snapshot=settings.pg_snapshot) as con:
        assert con.execute("select count(*) from marts.people").fetchone() == (5,)
        assert con.execute('select count(*) from "marts"."lead_scores"').fetchone() == (5,)
        assert con.execute("select count(*) from intermediate.int_scoring_features").fetchone() == (5,)
        assert con.execute("select count(*) from information_schema.tables where table_schema = ?",
                           ["marts"]).fetchone() == (3,)  # fmt: skip
        assert con.df("select max(scored_at) as s from marts.segment_high_intent")["s"][0] == first_scored
    with PgReader() as con:  # without the snapshot: the live marts of the next build
        assert con.execute("select count(*) from marts.people").fetchone() == (1,)

    frames = read_marts(("people", "segment_high_intent", "funnel_stages"), snapshot=settings.pg_snapshot)
    assert sorted(frames["people"]["person_id"]) == ["p1", "p2", "p3", "p4", "p5"]
    assert "marts.funnel_stages not found" in str(frames["funnel_stages"])
    segment = read_segment("unused", engine="postgres", pg_snapshot=settings.pg_snapshot)
    assert [(r["person_id"], r["scored_at"]) for r in segment] == [("p1", first_scored), ("p2", first_scored)]
    assert [r["person_id"] for r in read_segment("unused", engine="postgres")] == ["p9"]

    # publish copies the run's validated snapshot, not the build that came after it
    source = snapshot_schemas(settings.pg_snapshot)["marts"]
    publish_postgres(fresh, run_id="manual__run-1", source_schema=source, pii=PII, mask=True)
    published = sorted(r[0] for r in pg_rows(fresh, "select person_id from serving.people"))
    assert published == ["p1", "p2", "p3", "p4", "p5"]


def test_snapshots_are_pruned_to_the_newest_and_a_retake_replaces_the_runs(fresh):
    from intent_pipeline.postgres_load import snapshot_postgres, snapshot_schemas, snapshot_taken

    write_marts(fresh, PEOPLE, SEGMENT, datetime(2026, 11, 22))
    prefixes = [snapshot_postgres(f"run-{n}", fresh, kept=2)["prefix"] for n in range(4)]
    assert [snapshot_taken(f"run-{n}", fresh) for n in range(4)] == [None, None, prefixes[2], prefixes[3]]
    schemas = {r[0] for r in pg_rows(fresh, "select nspname from pg_namespace where nspname like 'run\\_%\\_\\_%'")}
    assert schemas == {s for p in prefixes[2:] for s in snapshot_schemas(p).values()}

    write_marts(fresh, PEOPLE[:2], SEGMENT, datetime(2026, 11, 22))
    again = snapshot_postgres("run-3", fresh, kept=2)  # dbt_build retried: the run's snapshot replaced
    assert again["prefix"] == prefixes[3] and again["tables"]["marts.people"] == 2
    assert pg_rows(fresh, f"select count(*) from {snapshot_schemas(prefixes[3])['marts']}.people") == [(2,)]
    assert snapshot_taken("run-2", fresh) == prefixes[2]


GATE_TYPES = {"varchar": "text", "date": "date", "integer": "integer", "bigint": "bigint", "boolean": "boolean",
              "double": "double precision", "timestamp": "timestamp"}  # fmt: skip


def gate_report(layer: str, day: str, outcomes: list[bool]) -> dict:
    """A gate's report (quality/gate.py's shape) with one expectation per outcome."""
    results = [{"expectation": "expect_column_values_to_not_be_null", "column": f"c{n}", "severity": "critical",
                "success": ok, "rows_checked": 10, "unexpected_count": 0 if ok else 2,
                "unexpected_percent": 0.0 if ok else 20.0} for n, ok in enumerate(outcomes)]  # fmt: skip
    return {"layer": layer, "interval_start": day, "tables": {f"{layer}_suite": {"results": results}}}


def test_the_dags_publish_grants_the_reader_role_serving_only_overlays_the_runs_verdicts_and_writes_the_parquet(
    fresh, tmp_path, monkeypatch
):
    """pipeline.publish_task on Postgres (INTENT_ENGINE=postgres), as the DAG's publish runs it:
    INTENT_PG_READER_ROLES' role (a real login role) reads every table of the new serving schema and
    nothing of marts, raw or the run's snapshot; the run's gate verdicts in the lake (raw and marts
    layers) replace that interval's rows of serving.quality_gate_results (marts keeps what the build
    read); the marts go to the serving folder's Parquet, which the dashboards' loader reads."""
    import psycopg2
    from intent_pipeline import pipeline
    from intent_pipeline.postgres_load import PublishError, profile_env, snapshot_postgres
    from intent_pipeline.quality.verdicts import COLUMNS, MART, write_verdicts
    from intent_pipeline.settings import PROJECT_ROOT

    day, run_id = "2026-11-21", "scheduled__2026-11-21T00:00:00+00:00"
    lake, serving_dir = tmp_path / "lake", tmp_path / "serving"
    for name, value in {**profile_env(fresh), "INTENT_ENGINE": "postgres", "INTENT_LAKE_DIR": str(lake),
                        "INTENT_SERVING_DIR": str(serving_dir), "INTENT_HOME": str(tmp_path),
                        "INTENT_PG_READER_ROLES": "t_serving_reader", "INTENT_SERVING_MASK": "1"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("intent_pipeline.privacy.serving_mask.pii_columns", lambda *a, **k: PII)
    write_marts(fresh, PEOPLE, SEGMENT, datetime(2026, 11, 22))
    columns = ", ".join(f"{name} {GATE_TYPES[kind]}" for name, _, kind in COLUMNS)
    # the build read the raw gate's first verdict of the day (1 row) and an older day's (1 row)
    build_rows = [("run-0", "2026-11-20", "raw", "s", 1), (run_id, day, "raw", "s", 1)]
    execute(fresh, f"create table marts.{MART} ({columns})",
            *((f"insert into marts.{MART} (run_id, interval_start, layer, suite, expectation_number, success)"
               " values (%s, %s, %s, %s, %s, true)", row) for row in build_rows),
            "create schema if not exists raw", "drop table if exists raw.forms_submissions",
            "create table raw.forms_submissions as select 'wang.wei@example.com' as email")  # fmt: skip
    snapshot = snapshot_postgres(run_id, fresh)["prefix"]
    # the gates of the run: the raw gate re-ran (3 expectations), the marts gate after the build (2)
    write_verdicts(lake, gate_report("raw", day, [True, True, False]), run_id)
    write_verdicts(lake, gate_report("marts", day, [True, False]), run_id)
    interval = datetime(2026, 11, 21)

    execute(fresh, "drop role if exists t_serving_reader")
    with pytest.raises(PublishError, match="t_serving_reader do not exist"):
        pipeline.publish_task(interval, datetime(2026, 11, 22), run_id)
    assert pg_rows(fresh, "select count(*) from pg_namespace where nspname like 'serving%'") == [(0,)]
    execute(fresh, "create role t_serving_reader login")
    done = pipeline.publish_task(interval, datetime(2026, 11, 22), run_id)
    assert done["readers"] == ["t_serving_reader"] and done["gate_verdicts_added"] == 5

    served = pg_rows(fresh, f"select interval_start::text, layer, success, run_id from serving.{MART}")
    assert sorted(served) == sorted([("2026-11-20", "raw", True, "run-0"), *[(day, "raw", ok, run_id) for ok in
                                    (True, True, False)], *[(day, "marts", ok, run_id) for ok in (True, False)]])
    assert done["tables"][MART] == 6
    assert pg_rows(fresh, f"select count(*) from marts.{MART}") == [(2,)]  # the build's mart as it was
    from intent_pipeline.privacy import audit

    published = [r for r in audit.read(lake) if r["event"] == "publish"]
    assert [(r["run_id"], r["record_count"]) for r in published] == [(run_id, sum(done["tables"].values()))]

    reader = psycopg2.connect(**{**fresh, "user": "t_serving_reader"})
    reader.autocommit = True
    try:
        cursor = reader.cursor()
        for table, rows in done["tables"].items():  # every published mart
            cursor.execute(f"select count(*) from serving.{table}")
            assert cursor.fetchone() == (rows,), table
        cursor.execute("select run_id from serving.published")
        assert cursor.fetchone() == (run_id,)
        cursor.execute("select count(*) from serving.masked_columns")
        assert cursor.fetchone()[0] > 0
        cursor.execute("select email from serving.people where person_id = 'p1'")
        assert cursor.fetchone() == ("w***@example.com",)
        for forbidden in ("marts.people", f"marts.{MART}", "raw.forms_submissions", f"{snapshot}__marts.people",
                          f"{snapshot}__intermediate.int_scoring_features", "run_snapshots.taken"):  # fmt: skip
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cursor.execute(f"select count(*) from {forbidden}")
    finally:
        reader.close()

    # the dashboards' loader (dashboard/src/data/_serving.py) reads the Parquet of this publish
    import sys

    monkeypatch.delenv("INTENT_DASHBOARD_PARQUET", raising=False)
    monkeypatch.syspath_prepend(str(PROJECT_ROOT / "dashboard" / "src" / "data"))
    sys.modules.pop("_serving", None)
    import _serving  # type: ignore[import-not-found]

    assert _serving.published()["run_id"] == run_id and _serving.published()["engine"] == "postgres"
    marts = _serving.Marts()
    assert marts.one("select count(*) from marts.people") == 5
    assert marts.one("select email from marts.people where person_id = 'p1'") == "w***@example.com"
    assert marts.one(f"select count(*) from marts.{MART} where layer = 'marts'") == 2
    assert sorted(p.stem for p in marts.folder.glob("*.parquet")) == sorted(done["tables"])


def test_this_files_database_is_this_processes_own(server):
    """Two xdist workers running tests of one file (``--dist load``) must not share, and so drop, one
    database (tests/postgres_server.py): the name holds the process id."""
    import os

    assert server["dbname"] == f"t_test_postgres_serving_{os.getpid()}"
    assert pg_rows(server, "select current_database()") == [(server["dbname"],)]
