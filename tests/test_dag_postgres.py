"""The whole DAG on Postgres (issue #20): ``INTENT_ENGINE=postgres`` through real Airflow 3 (``airflow
dags test``, i.e. ``dag.test()``, in the e2e tests' driver), real dbt on the test run's real PostgreSQL
server (tests/postgres_server.py; this file has its own database there), real GX.

1. The first run loads the interval's lake into Postgres, builds there (two phases around the Python
   attribution model), validates the marts read from Postgres, activates from them and summarizes
   them (from the run's snapshot schemas), and publishes them, masked, to schema serving; no DuckDB
   warehouse file is written. Every loaded lake row is in Postgres once.
2. A re-run of the interval replaces the loaded rows (no duplicate, none dropped), rebuilds the same
   marts and sends nothing again.
3. A violation planted in a Postgres mart stops the run at validate_marts: the gate reads Postgres.

And the same workload run on DuckDB gives the same marts, row for row, and the same gate verdicts.
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.airflow_home import airflow_metadata, install_metadata, seed_dbt_parse
from tests.postgres_server import database_fixture, masked_emails, pg_rows, postgres_server_fixture  # noqa: F401  (fixture server)
from tests.shared import shared_folder
from tests.test_e2e import INTERVAL, Pipeline

pytestmark = pytest.mark.slow

PEOPLE = 150
READER = "t_dag_bi_reader"
RAW_TABLES = ("forms_submissions", "email_events", "web_events", "crm_leads", "crm_opportunities",
              "crm_orders", "crm_activities")  # fmt: skip


@pytest.fixture(scope="module")
def pg_pipeline(server, tmp_path_factory) -> Iterator[Pipeline]:
    from intent_pipeline.postgres_load import profile_env

    p = Pipeline(tmp_path_factory.mktemp("dag-postgres"))
    p.env.update(profile_env(server))
    p.env["INTENT_ENGINE"] = "postgres"
    p.env.pop("DBT_TARGET", None)  # the engine decides the dbt target of the DAG's builds
    # BI's role, granted on each published serving schema (roles are the server's, not the database's)
    import psycopg2

    admin = psycopg2.connect(**server)
    admin.autocommit = True
    try:
        admin.cursor().execute(f"drop role if exists {READER}; create role {READER} login")
    finally:
        admin.close()
    p.env["INTENT_PG_READER_ROLES"] = READER
    p.cli(sys.executable, "-m", "intent_pipeline", "synth", "--people", str(PEOPLE), "--date", INTERVAL,
          "--landing", str(p.data / "landing"), "--truth", str(p.data / "ground_truth"))  # fmt: skip
    # the test run's migrated metadata DB (tests/airflow_home.py), not a migration of its own; dbt's
    # parse is the Postgres profile's own (this file's database): the first build makes it
    install_metadata(airflow_metadata(tmp_path_factory), Path(p.env["AIRFLOW_HOME"]))
    p.server = server  # type: ignore[attr-defined]
    yield p
    p.close()


def loaded_counts(p: Pipeline) -> dict[str, int]:
    """Rows of the interval per raw table in Postgres."""
    return {table: pg_rows(p.server, f"select count(*) from raw.{table} where _interval_start = '{INTERVAL}'")[0][0]
            for table in RAW_TABLES}  # fmt: skip


def manifests_loaded(p: Pipeline) -> dict[str, int]:
    """``loaded`` per table from the extract manifests (read = loaded + quarantined is checked too)."""
    counts = {}
    for source in ("forms", "email", "web", "crm"):
        manifest = json.loads((p.data / "lake" / "manifests" / source / f"dt={INTERVAL}.json").read_text())
        for table, c in manifest["tables"].items():
            assert c["read"] == c["loaded"] + c["quarantined"], (source, table, c)
            counts[table] = c["loaded"]
    return counts


def marts_figures(p: Pipeline) -> dict:
    return {
        "people": pg_rows(p.server, "select count(*) from marts.people")[0][0],
        "segment": sorted(r[0] for r in pg_rows(p.server, "select person_id from marts.segment_high_intent")),
        "grades": dict(pg_rows(p.server, "select grade, count(*) from marts.lead_scores group by grade")),
    }


def published(p: Pipeline) -> dict | None:
    from intent_pipeline.postgres_load import published_postgres

    return published_postgres(p.server)


@pytest.fixture(scope="module")
def first_run(pg_pipeline) -> dict:
    pg_pipeline.run_dag()
    return {"loaded": loaded_counts(pg_pipeline), "marts": marts_figures(pg_pipeline),
            "report": pg_pipeline.activation_report(), "outbox": pg_pipeline.outbox_files(),
            "published": published(pg_pipeline)}  # fmt: skip


def test_the_run_builds_on_postgres_and_writes_no_duckdb_warehouse(pg_pipeline, first_run):
    assert not (pg_pipeline.data / "warehouse.duckdb").exists(), "a DuckDB warehouse was built"
    assert not list((pg_pipeline.data / "state").rglob("*.duckdb")), "a DuckDB snapshot was made"
    marts = first_run["marts"]
    assert marts["people"] > PEOPLE * 0.5 and marts["segment"]
    assert set(marts["grades"]) <= {"high_intent", "potential", "nurture"} and marts["grades"].get("nurture")
    # the Python attribution model ran between the two phases, on Postgres
    assert pg_rows(pg_pipeline.server, "select count(*) from marts.channel_attribution")[0][0] > 0
    results = json.loads((pg_pipeline.data / "state" / "dbt" / "target" / "run_results.json").read_text())
    assert "model.intent_warehouse.attribution_touch_credits" in {r["unique_id"] for r in results["results"]}


def test_publish_swapped_the_validated_marts_into_the_serving_schema(pg_pipeline, first_run):
    """BI reads schema serving: the run's marts, copied after the gate passed (publish_postgres)."""
    serving = first_run["published"]
    assert serving is not None and serving["interval_start"] == INTERVAL and serving["run_id"]
    assert pg_rows(pg_pipeline.server, "select count(*) from serving.people")[0][0] == first_run["marts"]["people"]
    assert sorted(r[0] for r in pg_rows(pg_pipeline.server, "select person_id from serving.segment_high_intent")) \
        == first_run["marts"]["segment"]  # fmt: skip
    tables = pg_rows(pg_pipeline.server, "select count(*) from information_schema.tables where table_schema = 'marts'")
    assert serving["tables"] == tables[0][0] and serving["rows"] > first_run["marts"]["people"]


def test_the_run_took_its_snapshot_and_published_it_masked(pg_pipeline, first_run):
    """dbt_build copied the marts to the run's snapshot schemas (which its later tasks read) and
    publish copied them to serving with the tagged columns masked (tests/test_postgres_serving.py
    checks the masks against the DuckDB copy's)."""
    from intent_pipeline.postgres_load import snapshot_prefix, snapshot_taken

    run_id = first_run["published"]["run_id"]
    assert snapshot_taken(run_id, pg_pipeline.server) == snapshot_prefix(run_id)
    people = pg_rows(pg_pipeline.server, f'select count(*) from "{snapshot_prefix(run_id)}__marts".people')
    assert people[0][0] == first_run["marts"]["people"]
    emails, masked, keys = masked_emails(pg_pipeline.server)
    assert emails > 0 and masked == emails and keys == emails
    clear = pg_rows(pg_pipeline.server, "select count(*) from marts.people where email like '%@%' and email not like"
                                        " '_***@%'")[0][0]  # fmt: skip
    assert clear > 0  # the marts (activation's input) keep the addresses
    listed = pg_rows(pg_pipeline.server, "select column_name from serving.masked_columns where mart = 'people'")
    assert {row[0] for row in listed} >= {"email", "phone", "full_name"}


def test_the_publish_granted_the_reader_role_serving_alone_with_the_runs_gate_verdicts_and_parquet(
    pg_pipeline, first_run
):
    """The DAG's publish on Postgres: INTENT_PG_READER_ROLES' role reads serving (masked) and not marts or
    raw; serving.quality_gate_results has both gates' verdicts of the run (the build knew only the raw
    gate's); the serving folder's Parquet, which the dashboards read, is this run's."""
    import psycopg2
    import pyarrow.parquet as pq

    run_id = first_run["published"]["run_id"]
    verdicts = "select layer, count(*) from {}.quality_gate_results where run_id = '" + run_id + "' group by layer"
    in_marts = dict(pg_rows(pg_pipeline.server, verdicts.format("marts")))
    in_serving = dict(pg_rows(pg_pipeline.server, verdicts.format("serving")))
    report = json.loads((pg_pipeline.data / "reports" / "quality" / f"dt={INTERVAL}" / "marts.json").read_text())
    assert in_serving["marts"] == sum(len(t["results"]) for t in report["tables"].values()) > 0
    assert "marts" not in in_marts and in_serving["raw"] == in_marts["raw"] > 0
    reader = psycopg2.connect(**{**pg_pipeline.server, "user": READER})
    reader.autocommit = True
    try:
        cursor = reader.cursor()
        cursor.execute("select count(*) from serving.people where email like '%@%' and email not like '_***@%'")
        assert cursor.fetchone() == (0,)
        for forbidden in ("marts.people", "raw.forms_submissions"):
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cursor.execute(f"select count(*) from {forbidden}")
    finally:
        reader.close()
    current = pg_pipeline.data / "serving" / "parquet" / "current"
    assert json.loads((pg_pipeline.data / "serving" / "published.json").read_text())["run_id"] == run_id
    assert pq.read_metadata(current / "people.parquet").num_rows == first_run["marts"]["people"]
    assert pq.read_table(current / "quality_gate_results.parquet").num_rows == pg_rows(
        pg_pipeline.server, "select count(*) from serving.quality_gate_results")[0][0]  # fmt: skip


def test_every_extracted_row_is_loaded_into_postgres_once(pg_pipeline, first_run):
    loaded = manifests_loaded(pg_pipeline)
    assert sum(loaded.values()) > 0
    assert first_run["loaded"] == {table: loaded.get(table, 0) for table in RAW_TABLES}


def test_the_marts_gate_read_postgres_and_passed(pg_pipeline, first_run):
    report = json.loads((pg_pipeline.data / "reports" / "quality" / f"dt={INTERVAL}" / "marts.json").read_text())
    assert report["success"] is True and {"people", "segment_high_intent"} <= set(report["tables"])
    summary = json.loads((pg_pipeline.data / "reports" / "runs" / f"dt={INTERVAL}.json").read_text())
    assert summary["quality"] == {"raw": True, "marts": True}
    assert summary["warehouse"]["people"] == first_run["marts"]["people"]
    assert summary["warehouse"]["segment_high_intent"] == len(first_run["marts"]["segment"])


def test_activation_read_the_segment_from_postgres(pg_pipeline, first_run):
    hubspot = first_run["report"]["hubspot"]
    assert hubspot["mode"] == "outbox" and hubspot["planned"] == len(first_run["marts"]["segment"])
    batches = [json.loads((pg_pipeline.data / "outbox" / f).read_text()) for f in first_run["outbox"]
               if f.startswith("hubspot/")]  # fmt: skip
    pushed = {i["properties"]["intent_person_id"] for b in batches for i in b["inputs"]}
    assert len(pushed) == hubspot["sent_ok"] > 0 and pushed <= set(first_run["marts"]["segment"])


@pytest.fixture(scope="module")
def duck_pipeline(tmp_path_factory) -> Iterator[Pipeline]:
    """The same workload run once by the same DAG on DuckDB (the default engine)."""
    p = Pipeline(tmp_path_factory.mktemp("dag-duckdb"))
    p.env.pop("INTENT_ENGINE", None)
    p.cli(sys.executable, "-m", "intent_pipeline", "synth", "--people", str(PEOPLE), "--date", INTERVAL,
          "--landing", str(p.data / "landing"), "--truth", str(p.data / "ground_truth"))  # fmt: skip
    # the test run's migrated metadata DB and dbt's parse of the project, as test_e2e's installation
    install_metadata(airflow_metadata(tmp_path_factory), Path(p.env["AIRFLOW_HOME"]))
    seed_dbt_parse(shared_folder(tmp_path_factory), p.home)
    p.run_dag()
    yield p
    p.close()


def verdicts(p: Pipeline) -> dict:
    """Per mart, what the marts' gate found: each expectation's success, rows checked and unexpected count."""
    report = json.loads((p.data / "reports" / "quality" / f"dt={INTERVAL}" / "marts.json").read_text())
    keys = ("expectation", "column", "condition", "severity", "success", "rows_checked", "unexpected_count")
    return {table: sorted(tuple(str(r.get(k)) for k in keys) for r in t["results"])
            for table, t in report["tables"].items()}  # fmt: skip


def test_the_same_day_on_duckdb_gives_the_same_marts_and_the_same_gate_verdicts(pg_pipeline, first_run,
                                                                                duck_pipeline):  # fmt: skip
    """The marts in Postgres equal the DuckDB run's, row for row, and GX on the DataFrames read
    through psycopg2 judges them exactly as GX on DuckDB's frames does."""
    from intent_pipeline.postgres_load import compare_marts, mart_relations

    duck = duck_pipeline.data
    marts = mart_relations(duck / "state" / "dbt" / "target" / "manifest.json")
    assert "marts.people" in marts and len(marts) > 20
    # the gates' verdicts and the extract accounting are the same but recorded by two DAG runs: their
    # run ids and times differ
    runs = {"marts.quality_gate_results": ("run_id", "validated_at"),
            "marts.quarantine_daily": ("batch_id", "loaded_at")}  # fmt: skip
    assert compare_marts(duck / "warehouse.duckdb", marts, pg_pipeline.server, ignore=runs) == {}
    assert verdicts(pg_pipeline) == verdicts(duck_pipeline)
    assert duck_pipeline.activation_report()["hubspot"]["planned"] == first_run["report"]["hubspot"]["planned"]


RUN_KEYS = {"run_id", "published_at", "validated_at", "version", "loaded_at", "batch_id"}


# Runs each data loader file named on its command line as its own ``__main__`` (as ``python3 loader``
# does), all in one process: the interpreter's start and the loaders' imports paid once, not per page.
# Prints {file name: what that loader wrote on stdout} as one JSON line.
LOADERS = textwrap.dedent(
    """
    import contextlib, io, json, runpy, sys
    from pathlib import Path

    pages = {}
    for path in sys.argv[1:]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            runpy.run_path(path, run_name="__main__")
        pages[Path(path).name] = out.getvalue()
    print(json.dumps(pages))
    """
)


def dashboard_data(p: Pipeline) -> dict:
    """What each page's data loader (dashboard/src/data/*.json.py, each file run as the dashboard's
    build runs it, here all in one process) makes of the run's published Parquet: without the two
    runs' ids and times, lists sorted, floats to 6 places."""
    import subprocess

    from intent_pipeline.settings import PROJECT_ROOT

    def plain(value):
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items() if k not in RUN_KEYS}
        if isinstance(value, list):
            return sorted((plain(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
        return round(value, 6) if isinstance(value, float) else value

    loaders = sorted((PROJECT_ROOT / "dashboard" / "src" / "data").glob("*.json.py"))
    done = subprocess.run([sys.executable, "-c", LOADERS, *map(str, loaders)], capture_output=True, text=True,
                          timeout=300, env={**p.env, "INTENT_DASHBOARD_PARQUET": ""})  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    pages = json.loads(done.stdout.splitlines()[-1])
    assert sorted(pages) == [loader.name for loader in loaders], sorted(pages)  # every page, each once
    return {name: plain(json.loads(text)) for name, text in pages.items()}


def test_the_dashboards_show_the_postgres_run_as_they_show_the_same_run_on_duckdb(pg_pipeline, first_run,
                                                                                  duck_pipeline):  # fmt: skip
    """build_dashboard reads the serving folder's Parquet: on Postgres the publish wrote it from schema
    serving, so every page's data equals the DuckDB run's of the same day (but for run ids and times),
    the marts gate's verdicts of the run included."""
    on_postgres, on_duckdb = dashboard_data(pg_pipeline), dashboard_data(duck_pipeline)
    assert len(on_postgres) == 5 and on_postgres == on_duckdb
    layers = {layer["layer"] for layer in on_postgres["overview.json.py"]["quality"]["layers"]}
    assert layers == {"raw", "marts"}


def test_a_rerun_replaces_the_load_rebuilds_the_same_marts_and_sends_nothing(pg_pipeline, first_run):
    pg_pipeline.run_dag()
    assert loaded_counts(pg_pipeline) == first_run["loaded"]
    assert marts_figures(pg_pipeline) == first_run["marts"]
    assert pg_pipeline.outbox_files() == first_run["outbox"]
    rerun = published(pg_pipeline)  # published again: the same marts (the run's history marts grow)
    assert rerun is not None and rerun["run_id"] != first_run["published"]["run_id"]
    assert rerun["tables"] == first_run["published"]["tables"] and rerun["rows"] >= first_run["published"]["rows"]
    assert pg_rows(pg_pipeline.server, "select count(*) from serving.people")[0][0] == first_run["marts"]["people"]
    for destination, counts in pg_pipeline.activation_report().items():
        assert counts["sent_ok"] == 0, (destination, counts)
        assert counts["unchanged"] + counts["invalid"] == counts["planned"], (destination, counts)


def test_a_violation_in_a_postgres_mart_stops_the_run_before_activation(pg_pipeline, first_run):
    import psycopg2

    con = psycopg2.connect(**pg_pipeline.server)
    con.autocommit = True
    try:
        con.cursor().execute("insert into marts.segment_high_intent select * from marts.segment_high_intent limit 1")
    finally:
        con.close()
    report_file = pg_pipeline.data / "reports" / "activation" / f"dt={INTERVAL}.json"
    before = report_file.stat().st_mtime
    serving_before = published(pg_pipeline)
    # no rebuild (dbt would repair the mart): the gate reads the planted mart in Postgres
    done = pg_pipeline.run_dag("--mark-success-pattern", "^(extract_.*|validate_raw|dbt_build)$", check=False)
    assert done.returncode != 0
    log = done.stdout + done.stderr
    assert "quality gate 'marts' failed" in log and "segment_high_intent" in log
    assert report_file.stat().st_mtime == before, "activation ran despite the failed gate"
    # nor was it published: BI still reads the last validated marts, without the planted duplicate
    assert published(pg_pipeline) == serving_before
    assert pg_rows(pg_pipeline.server, "select count(*) - count(distinct person_id) from serving.segment_high_intent") \
        == [(0,)]  # fmt: skip


def test_the_engine_setting_is_duckdb_or_postgres():
    from intent_pipeline.settings import Settings

    assert Settings.from_env({}).engine == "duckdb"
    assert Settings.from_env({"INTENT_ENGINE": " Postgres "}).engine == "postgres"
    with pytest.raises(ValueError, match="INTENT_ENGINE must be one of duckdb, postgres"):
        Settings.from_env({"INTENT_ENGINE": "spark"})


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([str(Path(__file__)), "-q"]))
