"""The whole dbt project on PostgreSQL, its marts equal to DuckDB's (issue #20, docs/portability.md).

A real PostgreSQL server (the OS package; the test run's, tests/postgres_server.py: this file has its
own database on it, UTF8 in the C.UTF-8 collation, so text sorts by code point as DuckDB's does and
the smallest identifier names a component on both), the
small hand-written lake of conftest.py loaded by the pipeline's own load step
(intent_pipeline.postgres_load), ``dbt build`` on the postgres target in its two phases around
the Python attribution model, and every mart compared row for row with a DuckDB build of the
same lake.
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

import pytest
from intent_pipeline import dbt_fork

from tests.dbt.conftest import (
    DBT,
    DBT_PROJECT,
    INTERVAL_END,
    INTERVAL_START,
    WITHOUT_UNIT_TESTS,
    build_lake,
    copy_of,
    run_dbt,
    write_manifests,
)
from tests.postgres_server import database_fixture, postgres_server_fixture  # noqa: F401  (fixture server)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def builds(server, warehouse, tmp_path_factory):
    """The lake, loaded into Postgres and built there; the same lake built on DuckDB: a copy of the
    test run's session warehouse (conftest.warehouse, built from the same hand-written lake), whose
    quarantine_daily is rebuilt from this lake's extract manifests (the session lake has none)."""
    from intent_pipeline.pipeline import with_plugins_on_path
    from intent_pipeline.postgres_load import build_postgres, load_lake

    base = tmp_path_factory.mktemp("pgbuild")
    lake = base / "lake"
    build_lake(lake)
    manifests = write_manifests(lake)
    loaded = load_lake(lake, server)
    reloaded = load_lake(lake, server)  # a second load of every day: replaces, never adds
    env = {
        **os.environ,
        "DBT_TARGET": "postgres",
        "INTENT_PG_HOST": server["host"],
        "INTENT_PG_PORT": str(server["port"]),
        "INTENT_PG_USER": server["user"],
        "INTENT_PG_PASSWORD": server["password"],
        "INTENT_PG_DBNAME": server["dbname"],
        "INTENT_LAKE_DIR": str(lake),
        "INTENT_WAREHOUSE": str(base / "unused.duckdb"),
        "INTENT_INTERVAL_START": INTERVAL_START.isoformat(sep=" "),
        "INTENT_INTERVAL_END": INTERVAL_END.isoformat(sep=" "),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
        "PYTHONPATH": with_plugins_on_path(os.environ.get("PYTHONPATH")),
    }
    target = base / "pg-target"
    command = [str(DBT) if DBT.exists() else "dbt", "--project-dir", str(DBT_PROJECT), "--profiles-dir",
               str(DBT_PROJECT), "--target-path", str(target), "--log-path", str(base / "pg-logs")]  # fmt: skip
    postgres = build_postgres(command, env, target, *WITHOUT_UNIT_TESTS, connection=server)
    duck = copy_of(warehouse, base / "duck")
    rebuilt = run_dbt(duck.base, lake, "build", "--select", "quarantine_daily+", *WITHOUT_UNIT_TESTS)
    assert warehouse.build.returncode == 0 and rebuilt.returncode == 0, rebuilt.stdout[-4000:]
    return {"lake": lake, "loaded": loaded, "reloaded": reloaded, "postgres": postgres, "duck": duck,
            "target": target, "server": server, "command": command, "env": env,
            "manifests": manifests}  # fmt: skip


def test_the_builds_connections_run_without_jit(server, monkeypatch):
    """build_postgres runs dbt with PGOPTIONS ``-c jit=off`` (postgres_load.BUILD_SESSION_OPTIONS): a
    libpq connection with that environment, as dbt's are, has JIT off on a server where it is on;
    a PGOPTIONS of the operator's that sets jit keeps its say."""
    import psycopg2
    from intent_pipeline.postgres_load import build_env

    def jit(environment: dict) -> str:
        monkeypatch.setenv("PGOPTIONS", environment.get("PGOPTIONS", ""))
        con = psycopg2.connect(**server)
        try:
            with con.cursor() as cursor:
                cursor.execute("show jit")
                return cursor.fetchone()[0]
        finally:
            con.close()

    assert jit({}) == "on"  # the server's default
    assert jit(build_env({})) == "off"
    assert jit(build_env({"PGOPTIONS": "-c jit=on -c work_mem=64MB"})) == "on"


def test_the_load_copies_every_lake_row_once_and_a_reload_replaces(builds):
    import psycopg2
    import pyarrow.parquet as pq
    from intent_pipeline.lake import TABLE_COLUMNS

    lake_rows = {table: sum(pq.read_metadata(path).num_rows for path in (builds["lake"] / "raw" / table).glob(
        "dt=*/*.parquet")) for table in TABLE_COLUMNS}  # fmt: skip
    assert sum(lake_rows.values()) > 30
    assert {t: builds["loaded"][t] for t in TABLE_COLUMNS} == lake_rows
    assert {t: builds["reloaded"][t] for t in TABLE_COLUMNS} == lake_rows
    con = psycopg2.connect(**builds["server"])
    try:
        with con.cursor() as cursor:
            in_postgres = {}
            for table in TABLE_COLUMNS:
                cursor.execute(f"select count(*) from raw.{table}")
                in_postgres[table] = cursor.fetchone()[0]
            # a null stays a null through COPY (Alice's form has no submission_id)
            cursor.execute("select count(*) from raw.forms_submissions where submission_id is null")
            assert cursor.fetchone()[0] == 1
    finally:
        con.close()
    assert in_postgres == lake_rows


def test_every_model_builds_on_postgres_with_its_tests(builds):
    postgres = builds["postgres"]
    first, second = postgres["phase1"].stdout, postgres["phase2"].stdout
    assert "ERROR=0" in first and "ERROR=0" in second, first[-3000:] + second[-3000:]
    assert postgres["attribution_rows"] > 0
    assert {"seed", "model", "test"} <= set(postgres["phase1_node_seconds"]), postgres["phase1_node_seconds"]
    import json

    manifest = json.loads((builds["target"] / "manifest.json").read_text())
    models = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    results = json.loads((builds["target"] / "run_results.json").read_text())["results"]
    assert "model.intent_warehouse.attribution_touch_credits" in {r["unique_id"] for r in results}
    assert len(models) > 70


def test_the_extract_manifests_are_loaded_and_quarantine_daily_builds_on_postgres(builds):
    import psycopg2

    # two days of four sources; the reload replaced them
    assert builds["manifests"] == builds["loaded"]["extract_manifests"] == builds["reloaded"]["extract_manifests"] == 8
    con = psycopg2.connect(**builds["server"])
    try:
        with con.cursor() as cursor:
            cursor.execute("select count(*), count(distinct source) from raw.extract_manifests")
            assert cursor.fetchone() == (8, 4)  # a reload replaced the day's manifests, never added
            cursor.execute(
                "select table_name, sum(files), sum(files_failed), sum(rows_read), sum(rows_quarantined)"
                " from marts.quarantine_daily where source = 'forms' group by table_name"
            )
            assert cursor.fetchall() == [("forms_submissions", 2, 0, lake_rows(builds, "forms_submissions") + 2, 2)]
    finally:
        con.close()


def lake_rows(builds, table: str) -> int:
    import pyarrow.parquet as pq

    return sum(pq.read_metadata(f).num_rows for f in (builds["lake"] / "raw" / table).glob("dt=*/*.parquet"))


def test_postgres_marts_equal_duckdbs(builds):
    from intent_pipeline.postgres_load import compare_marts, mart_relations

    marts = mart_relations(builds["target"] / "manifest.json")
    assert "marts.people" in marts and "marts.channel_attribution" in marts and len(marts) > 25
    assert "marts.quarantine_daily" in marts, marts
    differences = compare_marts(builds["duck"].warehouse, marts, builds["server"])
    assert differences == {}, differences


def test_the_seeds_load_as_on_duckdb_with_their_configured_types(builds):
    """dbt seed on Postgres goes through the project's postgres__load_csv_rows (one INSERT of one
    array per column, macros/postgres_seeds.sql): every seed table holds DuckDB's rows, and each
    column named in a seed's column_types has that type."""
    import json

    import psycopg2
    from intent_pipeline.postgres_load import compare_marts

    manifest = json.loads((builds["target"] / "manifest.json").read_text())
    seeds = [n for n in manifest["nodes"].values() if n["resource_type"] == "seed"]
    assert len(seeds) > 20
    relations = sorted(f"{n['schema']}.{n['alias']}" for n in seeds)
    assert compare_marts(builds["duck"].warehouse, relations, builds["server"]) == {}
    con = psycopg2.connect(**builds["server"])
    typed = 0
    try:
        with con.cursor() as cursor:
            cursor.execute("select count(*) from staging.identity_match_pinyin")
            assert cursor.fetchone()[0] > 5000  # the seed that was slow row by row
            for node in seeds:
                for column, configured in node["config"].get("column_types", {}).items():
                    cursor.execute(f"select pg_typeof(cast(null as {configured}))::text")
                    expected = cursor.fetchone()[0]
                    cursor.execute(
                        "select data_type from information_schema.columns"
                        " where table_schema = %s and table_name = %s and column_name = %s",
                        (node["schema"], node["alias"], column),
                    )
                    assert cursor.fetchone() == (expected,), (node["alias"], column, configured)
                    typed += 1
    finally:
        con.close()
    assert typed > 50


def test_the_similarity_functions_give_duckdbs_numbers(builds):
    """intent_jaro_winkler / intent_levenshtein / intent_damerau_levenshtein (created by the build's
    on-run-start hook) against DuckDB's own, exactly, on random strings with Chinese characters."""
    import duckdb
    import psycopg2

    rng = random.Random(20)
    alphabet = "abcdeimnoxyz王伟维李娜 -"
    pairs = [("".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 10))),
              "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 10)))) for _ in range(1500)]  # fmt: skip
    for word in ("zhangwei", "martha", "dixon", "jonathan", "shopmart"):
        for _ in range(60):
            letters = list(word)
            i = rng.randrange(len(letters) - 1)
            letters[i], letters[i + 1] = letters[i + 1], letters[i]
            letters.insert(rng.randrange(len(letters)), rng.choice("abc"))
            pairs.append((word, "".join(letters)))
    # every pair in one query on each side (pair n on row n), instead of two round trips per pair
    lefts, rights = [a for a, _ in pairs], [b for _, b in pairs]
    duck = duckdb.connect()
    expected = duck.execute(
        "select n, jaro_winkler_similarity(a, b), levenshtein(a, b), damerau_levenshtein(a, b)"
        " from (select unnest(?) as a, unnest(?) as b, unnest(range(?)) as n) order by n",
        [lefts, rights, len(pairs)],
    ).fetchall()
    con = psycopg2.connect(**builds["server"])
    try:
        with con.cursor() as cursor:
            cursor.execute(
                "select n - 1, public.intent_jaro_winkler(a, b), public.intent_levenshtein(a, b),"
                " public.intent_damerau_levenshtein(a, b)"
                " from unnest(%s::text[], %s::text[]) with ordinality as p(a, b, n) order by n",
                (lefts, rights),
            )
            got = cursor.fetchall()
    finally:
        con.close()
    assert len(expected) == len(got) == len(pairs)
    mismatches = [(*pairs[e[0]], e[1:], g[1:]) for e, g in zip(expected, got, strict=True) if tuple(e) != tuple(g)]
    assert mismatches == [], mismatches[:10]


def test_a_stale_attribution_table_fails_the_model_instead_of_being_copied(builds):
    """The journeys changed since attribute-postgres ran (here: its fingerprint no longer matches):
    the precomputed model refuses to copy the old credits."""
    import psycopg2

    con = psycopg2.connect(**builds["server"])
    con.autocommit = True
    try:
        con.cursor().execute("update raw.attribution_touch_credits__computed_from set fingerprint = 'stale'")
        command = builds["command"]
        done = dbt_fork.run([command[0], "run", *command[1:], "--select", "attribution_touch_credits"],
                            builds["env"], Path.cwd())  # fmt: skip
    finally:
        con.close()
    assert done.returncode != 0
    assert "run `python -m intent_pipeline attribute-postgres` again" in done.stdout, done.stdout[-3000:]


def grades(cursor, schema: str) -> dict:
    cursor.execute(f"select fit_grade, count(*) from {schema}.lead_scores group by fit_grade order by fit_grade")
    return dict(cursor.fetchall())


def test_a_bi_reader_sees_the_last_published_marts_while_the_next_build_runs(builds):
    """publish_postgres copies the marts to schema serving and swaps the copy in. A BI role that may
    read only serving holds a connection, inside a transaction that has read serving.lead_scores,
    while dbt rebuilds marts.lead_scores from changed fit scores: the build does not wait for
    the reader, the reader still sees the published grades, and after the next publish (whose swap
    does not wait for the reader either) it sees the new ones and the new run in serving.published.
    A lock the swap or the build waited for would fail them (lock_timeout) rather than hang.
    Last in this file: it leaves the fit scores changed."""
    import psycopg2
    from intent_pipeline.postgres_load import publish_postgres, published_postgres

    server = builds["server"]
    waits_fail = {**server, "options": "-c lock_timeout=30s"}
    admin = psycopg2.connect(**server)
    admin.autocommit = True
    try:
        admin.cursor().execute("drop role if exists bi_reader; create role bi_reader login")
    finally:
        admin.close()
    assert published_postgres(server) is None
    first = publish_postgres(waits_fail, run_id="run-1", interval_start="2026-11-21", readers=["bi_reader"])
    assert first["tables"]["lead_scores"] > 0 and "people" in first["tables"]
    reader = psycopg2.connect(**{**server, "user": "bi_reader"})
    try:
        cursor = reader.cursor()  # psycopg2 opens a transaction: it stays open through the build
        published_grades = grades(cursor, "serving")
        assert sum(published_grades.values()) == first["tables"]["lead_scores"]
        cursor.execute("select run_id, rows from serving.published")
        assert cursor.fetchone() == ("run-1", first["rows"])
        # the next day's input: every fit score far above grade A's threshold (a --vars change would
        # cost dbt a full parse), then dbt rebuilds marts.lead_scores while the reader holds its lock
        check = psycopg2.connect(**server)
        check.autocommit = True
        try:
            check.cursor().execute(
                "update intermediate.int_lead_scores_computed set fit_score = coalesce(fit_score, 0) + 1000"
            )
            command = builds["command"]
            rebuilt = dbt_fork.run([command[0], "run", *command[1:], "--select", "lead_scores"],
                                   {**builds["env"], "PGOPTIONS": "-c jit=off -c lock_timeout=30s"},
                                   Path.cwd())  # fmt: skip
            assert rebuilt.returncode == 0, rebuilt.stdout[-3000:]
            built_grades = grades(check.cursor(), "marts")
        finally:
            check.close()
        assert set(built_grades) == {"A"} and built_grades != published_grades
        assert sum(built_grades.values()) == sum(published_grades.values())
        assert grades(cursor, "serving") == published_grades  # the build changed marts, not serving
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cursor.execute("select count(*) from marts.lead_scores")  # BI reads only the published copy
        reader.rollback()
        assert grades(cursor, "serving") == published_grades
        second = publish_postgres(waits_fail, run_id="run-2", interval_start="2026-11-21", readers=["bi_reader"])
        assert second["tables"]["lead_scores"] == first["tables"]["lead_scores"]
        assert grades(cursor, "serving") == built_grades  # the next statement sees the new copy
        cursor.execute("select run_id from serving.published")
        assert cursor.fetchone() == ("run-2",)
    finally:
        reader.close()
    assert published_postgres(server)["run_id"] == "run-2"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
