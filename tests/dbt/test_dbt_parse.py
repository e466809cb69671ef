"""dbt keeps its parse (docs/dbt-parse.md): the project reads the lake's path, the interval and the
scoring model only when a node runs, so a warehouse in another folder with another lake, another day
and another approved model re-parse nothing, and the rows built follow the run's own lake and day.
``pipeline.run_dbt``'s scratch runs leave their parse for the next run of the same kind."""

from __future__ import annotations

import json
import os
import re
import shutil
from datetime import date, datetime
from pathlib import Path

import pytest
from intent_pipeline import pipeline
from intent_pipeline.settings import Settings

from tests.dbt.conftest import WITHOUT_UNIT_TESTS, build_lake, form, page_view, run_dbt, write_partition

pytestmark = pytest.mark.slow

MODEL = {"version": "lcm-parse", "intercept": -1.0, "calibration_a": 1.0, "calibration_c": 0.0,
         "features": [{"feature": "log_lead_age_days", "weight": -0.2, "mean": 1.0}], "learned_points": []}  # fmt: skip
NOTHING_CHANGED = "Partial parsing enabled, no changes found, skipping parsing"


def scratch(base: Path, lake: Path) -> Settings:
    return Settings.from_env({"INTENT_HOME": str(base), "INTENT_WAREHOUSE": str(base / "warehouse.duckdb"),
                              "INTENT_LAKE_DIR": str(lake), "INTENT_STATE_DIR": str(base / "state")})  # fmt: skip


def parse_log(target: Path) -> tuple[str, set[str]]:
    """What dbt said about its parse in the run's log: full (and why) or partial, the files re-parsed."""
    text = (target.parent / "logs" / "dbt.log").read_text()
    full = re.findall(r"Unable to do partial parsing because ([^\n]*)", text)
    updated = set(re.findall(r"Partial parsing: updated file: intent_warehouse://(\S+)", text))
    return ("full: " + full[-1]) if full else "partial", updated


def test_another_lake_and_day_build_on_the_same_parse(tmp_path):
    """Two builds of the lake's staging, each with its own lake path and interval: the second starts
    from the first one's saved parse and re-parses nothing (dbt says so, and leaves the saved parse
    untouched), and what it builds comes from its own lake and its own day (the first lake is gone)."""
    first, second = tmp_path / "first", tmp_path / "second"
    build_lake(first / "lake")
    # four incremental staging models and the seed one of them reads; their unit tests run in the
    # session build
    models = ("--select", "form_types", "stg_forms__submissions", "stg_web__events", "stg_crm__lead_versions",
              "stg_crm__leads",
              "--indirect-selection", "cautious", *WITHOUT_UNIT_TESTS)  # fmt: skip
    done = run_dbt(first, first / "lake", "build", *models, interval=(datetime(2026, 11, 21), datetime(2026, 11, 22)))
    assert done.returncode == 0, done.stdout[-4000:]
    assert NOTHING_CHANGED in (first / "logs" / "dbt.log").read_text()  # the test run's parse, another lake

    # the second warehouse: a copy of the first, its lake moved elsewhere with a later day added
    second.mkdir()
    shutil.copyfile(first / "warehouse.duckdb", second / "warehouse.duckdb")
    shutil.copytree(first / "lake", second / "lake")
    shutil.rmtree(first / "lake")  # a build that still read the first lake fails
    day = date(2026, 11, 27)
    write_partition(second / "lake", "web_events", day, [page_view("w-late-visit", "zoe.device", "2026-11-27 09:00:00",
                                                                   "/pricing", 9, 20_000)])  # fmt: skip
    write_partition(second / "lake", "forms_submissions", day, [
        form("f-zoe", "2026-11-27 09:05:00", "Contact Us", "zoe@later.cn", None)])  # fmt: skip
    saved = second / "target" / pipeline.PARTIAL_PARSE_FILE
    saved.parent.mkdir(parents=True)
    shutil.copyfile(first / "target" / pipeline.PARTIAL_PARSE_FILE, saved)
    before = saved.stat().st_mtime_ns, saved.read_bytes()

    done = run_dbt(second, second / "lake", "build", *models, interval=(datetime(2026, 11, 27), datetime(2026, 11, 28)),
                   extra_env={"INTENT_SCORING_MODEL": json.dumps(MODEL)})  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:]
    log = (second / "logs" / "dbt.log").read_text()
    assert NOTHING_CHANGED in log, log[-4000:]
    assert parse_log(second / "target") == ("partial", set())
    assert (saved.stat().st_mtime_ns, saved.read_bytes()) == before  # not re-parsed, not rewritten

    # the rows: the incremental models merged the second day's window
    import duckdb

    con = duckdb.connect(str(second / "warehouse.duckdb"), read_only=True)
    try:
        zoe = con.execute("select count(*) from staging.stg_forms__submissions where submission_id = ?", ["f-zoe"])
        zoe_rows = zoe.fetchall()
        late = con.execute("select _interval_start from staging.stg_web__events where event_id = ?", ["w-late-visit"])
        late_rows = late.fetchall()
    finally:
        con.close()
    assert zoe_rows == [(1,)]
    assert late_rows == [(day,)]
    # the incremental run read the window of its own interval (2026-11-27 and lookback_days before it) only
    compiled = next((second / "target" / "compiled").rglob("stg_web__events.sql")).read_text()
    assert f"{second / 'lake'}/raw/web_events/dt=2026-11-27/" in compiled, compiled[:3000]
    assert "dt=2026-11-21" not in compiled and str(first / "lake") not in compiled, compiled[:3000]
    # a window without a CRM partition binds the columns from the second lake's newest export alone
    compiled = next((second / "target" / "compiled").rglob("stg_crm__lead_versions.sql")).read_text()
    assert f"{second / 'lake'}/raw/crm_leads/dt=2026-11-21/" in compiled, compiled[:3000]
    assert str(first / "lake") not in compiled, compiled[:3000]


def test_scratch_folders_start_from_the_cached_parse(warehouse, tmp_path, monkeypatch):
    assert warehouse.build.returncode == 0, warehouse.output
    # a private copy of the test run's parse (dbt-parse/target, made before the session build),
    # where run_dbt looks for the parse of a run without --vars on this profile
    cache = tmp_path / "cache"
    kept = pipeline.parse_cache_file(cache, (), {**os.environ, "INTENT_WAREHOUSE": "warehouse.duckdb"})
    cache.mkdir()
    shutil.copyfile(warehouse.base.parent / "dbt-parse" / "target" / pipeline.PARTIAL_PARSE_FILE, kept)
    monkeypatch.delenv("INTENT_DBT_PARSE_CACHE", raising=False)

    # a new folder: the warehouse elsewhere under the same name, nothing re-parsed
    first = tmp_path / "a" / "target"
    day = (datetime(2026, 11, 21), datetime(2026, 11, 22))
    done = pipeline.run_dbt(scratch(tmp_path / "a", warehouse.lake), "parse", interval=day, target=first,
                            parse_cache=cache, extra_env={"INTENT_SCORING_MODEL": ""})  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    assert parse_log(first) == ("partial", set())
    assert kept.read_bytes() == (first / pipeline.PARTIAL_PARSE_FILE).read_bytes()

    # another folder, another lake, another day and an approved model: still nothing re-parsed
    second = tmp_path / "b" / "target"
    later = (datetime(2026, 11, 27), datetime(2026, 11, 28))
    done = pipeline.run_dbt(scratch(tmp_path / "b", tmp_path / "b" / "lake"), "parse", interval=later, target=second,
                            parse_cache=cache, extra_env={"INTENT_SCORING_MODEL": json.dumps(MODEL)})  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    assert parse_log(second) == ("partial", set())
    assert kept.read_bytes() == (second / pipeline.PARTIAL_PARSE_FILE).read_bytes()
    assert [p.name for p in cache.iterdir()] == [kept.name]  # one kind of run, one saved parse


def test_each_kind_of_run_keeps_its_own_parse():
    """run_dbt's parse cache is keyed by what makes dbt discard a parse (--vars, --target, --profile,
    the profile's variables), never by the lake, the interval or the scoring model."""
    env = {"INTENT_WAREHOUSE": "warehouse.duckdb", "INTENT_LAKE_DIR": "/a/lake", "INTENT_INTERVAL_START": "2026-11-21"}
    key = pipeline.parse_key(("build", "--select", "x"), env)
    same = {**env, "INTENT_LAKE_DIR": "/b/lake", "INTENT_INTERVAL_START": "2026-11-27", "INTENT_SCORING_MODEL": "{}"}
    assert pipeline.parse_key(("run", "--no-write-json"), same) == key
    assert pipeline.parse_key(("run", "--vars", '{"lookback_days": 2}'), env) != key
    assert pipeline.parse_key(("run", "--vars", '{"lookback_days": 2}'), env) != pipeline.parse_key(
        ("run", "--vars", '{"lookback_days": 1}'), env)  # fmt: skip
    assert pipeline.parse_key(("run",), {**env, "DBT_TARGET": "postgres"}) != key
    assert pipeline.parse_key(("run", "--target", "postgres"), env) != key
    assert pipeline.parse_key(("run",), {**env, "INTENT_WAREHOUSE": "other.duckdb"}) != key
    assert pipeline.parse_key(("run",), {**env, "INTENT_PG_DBNAME": "other"}) != key
    cache = Path("/cache")
    assert pipeline.parse_cache_file(cache, ("run",), env).parent == cache
    with_vars = pipeline.parse_cache_file(cache, ("run", "--vars", "{}"), env)
    assert pipeline.parse_cache_file(cache, ("run",), env) != with_vars


def test_the_scoring_model_goes_in_the_environment_not_on_the_command_line(tmp_path):
    settings = scratch(tmp_path, tmp_path / "lake")
    command = pipeline.dbt_command(settings, "build")
    assert "--vars" not in command
    assert command[command.index("--target-path") + 1] == str(tmp_path / "state" / "dbt" / "target")
    assert pipeline.dbt_env(settings, datetime(2026, 11, 21), datetime(2026, 11, 22))["INTENT_SCORING_MODEL"] == ""
    # without an interval (a hand run, the matcher's seeds): empty, as macro interval_bound reads none
    assert pipeline.dbt_env(settings, None, None)["INTENT_INTERVAL_START"] == ""
    assert pipeline.scoring_model_env({}) == ""
    assert json.loads(pipeline.scoring_model_env({"scoring_model": MODEL})) == MODEL
