"""bench/pipeline.py's incremental day: it times the DAG's own daily build (``pipeline.duckdb_build``),
not a bare ``dbt build``: the unchanged seeds and the data tests that read only them are left out of
the day, dbt keeps the history build's parse in both builds, and the full refresh loads every seed.
The floor (``incremental_empty_day_*``) is the same daily build of the next day, whose extract found
no file: every partition of that day is empty, so it leaves out the models and data tests that read
neither the date nor a changed input (``day_skip``)."""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from unittest import mock

import duckdb
import pytest
from intent_pipeline import dbt_fork

from tests.benches import load_bench

bench = load_bench("pipeline")

pytestmark = pytest.mark.slow


def _kinds(results_file) -> dict[str, set[str]]:
    kinds: dict[str, set[str]] = {}
    for result in json.loads(results_file.read_text())["results"]:
        kind, _, name = result["unique_id"].split(".", 2)
        kinds.setdefault(kind, set()).add(name)
    return kinds


def test_the_day_is_the_dags_daily_build(tmp_path, monkeypatch):
    monkeypatch.setenv("INTENT_DBT_UNIT_TESTS", "1")  # the caller's settings do not reach the builds
    socket = dbt_fork.socket_path()  # the test run's dbt fork server (tests/conftest.py), if any
    calls = dbt_fork.stats(socket)["calls"] if socket else 0
    # the bench clears the process's INTENT_* settings for its builds: the session's come back after it
    with mock.patch.dict(os.environ):
        # the builds fork from the test run's server; the bench's own run never does (main)
        figures = bench.incremental_figures(tmp_path, bench._env(tmp_path), people=40, seed=3, dbt_forked=True)
    assert figures["dbt_forked"] is bool(socket)
    if socket:  # the four builds (the history, the day, the full refresh, the empty day) were forked
        assert dbt_fork.stats(socket)["calls"] - calls >= 4
    day = _kinds(tmp_path / f"dbt-daily-{bench.INTERVAL}" / "target" / "run_results.json")
    full = _kinds(tmp_path / f"dbt-full-{bench.INTERVAL}" / "target" / "run_results.json")
    seeds = {path.stem for path in (bench.ROOT / "dbt_project" / "seeds").glob("*.csv")}
    # the day: no seed (none changed since the history build), models and their data tests
    assert "seed" not in day
    assert full["seed"] == seeds
    # the day leaves out only what reads no source and no changed seed (day_skip; the history build recorded)
    assert day["model"] <= full["model"]
    assert {"stg_web__events", "people", "lead_scores"} <= day["model"]
    assert "unit_test" not in day and "unit_test" not in full
    # the seeds' own data tests run only in the full refresh
    assert day["test"] < full["test"]
    assert figures["incremental_day_nodes"] == sum(map(len, day.values()))
    assert figures["incremental_day_parse_kept"] and figures["full_build_parse_kept"]
    assert figures["incremental_day_cpu_seconds"] > 0 and figures["full_build_cpu_seconds"] > 0
    # the empty day: the day after, nothing landed, built as the DAG's daily build on the day's warehouse
    next_day = (date.fromisoformat(bench.INTERVAL) + timedelta(days=1)).isoformat()
    empty = _kinds(tmp_path / f"dbt-empty-{next_day}" / "target" / "run_results.json")
    # no source got a row: what reads the date is built again, what reads only the lake and seeds is not
    assert "seed" not in empty and empty["model"] < day["model"] and empty["test"] < day["test"]
    assert {"int_score_points", "crm_lead_scores", "lead_scores"} <= empty["model"]
    unchanged = {"stg_web__events", "int_identity_person_ids", "people"}
    assert not unchanged & empty["model"]
    partitions = list((tmp_path / "incremental" / "lake" / "raw").glob(f"*/dt={next_day}/*.parquet"))
    assert partitions
    rows = duckdb.sql(f"select count(*) from read_parquet({[str(p) for p in partitions]}, union_by_name=true)")
    assert rows.fetchall() == [(0,)]
    split = figures["incremental_empty_day_split"]
    assert split["model_count"] == len(empty["model"]) and split["test_count"] == len(empty["test"])
    assert 0 < split["outside_nodes"] < split["wall"] == figures["incremental_empty_day_seconds"]
    assert figures["incremental_empty_day_parse_kept"] and figures["incremental_empty_day_cpu_seconds"] > 0


def test_a_builds_node_seconds_are_split_by_the_kind_of_node():
    # run_results as dbt writes them (the fields the split reads), nodes of every kind interleaved
    results = {
        "elapsed_time": 9.0,
        "cpu_seconds": 7.5,
        "results": [
            {"unique_id": "seed.intent.channel_map", "execution_time": 0.5},
            {"unique_id": "model.intent.stg_web__events", "execution_time": 2.0},
            {"unique_id": "test.intent.not_null_stg_web__events_event_id.1a", "execution_time": 0.25},
            {"unique_id": "model.intent.people", "execution_time": 3.0},
            {"unique_id": "unit_test.intent.people.one_person", "execution_time": 0.75},
            {"unique_id": "model.intent.lead_scores", "execution_time": 1.0},
        ],
    }
    assert bench.node_seconds_by_kind(results) == {
        "seed": [0.5], "model": [2.0, 3.0, 1.0], "test": [0.25], "unit_test": [0.75],
    }  # fmt: skip
    split = bench.floor_split(10.0, results)
    assert split["outside_nodes"] == 1.0 and split["cpu_seconds"] == 7.5
    assert (split["models"], split["model_count"], split["model_median"]) == (6.0, 3, 2.0)
    assert (split["tests"], split["test_count"], split["seeds"], split["seed_count"]) == (0.25, 1, 0.5, 1)
    assert "unit_tests" not in split
