"""Task bodies of the DAG that need no warehouse: the dbt build's arguments, the no-data skip,
and `summary --date` reading the day's saved summary."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowSkipException
from intent_pipeline.pipeline import (
    dbt_build_args,
    full_refresh_from_context,
    no_landing_data,
    skip_without_landing_data,
)

ROOT = Path(__file__).resolve().parents[1]


def test_the_scheduled_build_leaves_unit_tests_to_ci():
    assert dbt_build_args({}) == ("build", "--exclude-resource-type", "unit_test")


@pytest.mark.parametrize("value", ["1", "true", " YES "])
def test_unit_tests_in_the_dag_on_request(value):
    assert dbt_build_args({"INTENT_DBT_UNIT_TESTS": value}) == ("build",)


def test_a_full_refresh_adds_the_flag_and_nothing_else():
    assert dbt_build_args({}, full_refresh=True) == ("build", "--exclude-resource-type", "unit_test", "--full-refresh")
    assert dbt_build_args({"INTENT_DBT_UNIT_TESTS": "1"}, full_refresh=True) == ("build", "--full-refresh")
    assert "--full-refresh" not in dbt_build_args({})


@pytest.mark.parametrize(
    ("params", "expected"),
    [({"full_refresh": True}, True), ({"full_refresh": False}, False), ({}, False), (None, False)],
)
def test_the_full_refresh_param_of_a_run(params, expected):
    assert full_refresh_from_context({"params": params}) is expected


@pytest.mark.parametrize("value", ["false", "true", 1, None])
def test_a_full_refresh_param_that_is_not_a_boolean_fails_the_task(value):
    from airflow.sdk.exceptions import AirflowFailException

    with pytest.raises(AirflowFailException, match="full_refresh must be true or false"):
        full_refresh_from_context({"params": {"full_refresh": value}})


def _manifest(source: str, read: int, file_errors: list | None = None) -> dict:
    return {"source": source, "tables": {f"{source}_rows": {"read": read, "loaded": read, "quarantined": 0}},
            "file_errors": file_errors or []}  # fmt: skip


def test_a_day_without_any_landing_data_is_skipped():
    empty = [_manifest(s, 0) for s in ("forms", "email", "web", "crm")]
    assert no_landing_data(empty)
    with pytest.raises(AirflowSkipException, match="no landing data for the interval starting 2026-12-03"):
        skip_without_landing_data(empty, datetime(2026, 12, 3, tzinfo=UTC))


@pytest.mark.parametrize(
    "manifests",
    [
        # one source with one row is a day with data
        [_manifest("forms", 0), _manifest("email", 0), _manifest("web", 1), _manifest("crm", 0)],
        # a rejected file is not "no data": the run goes on and the extract's rule decides
        [_manifest("forms", 0, ["forms/x.csv: missing column"]), _manifest("email", 0)],
        # extracts marked done without running (dags test --mark-success-pattern) left no manifest
        [None, None, None, None],
        [],
    ],
)
def test_a_day_with_data_or_a_rejected_file_runs(manifests):
    assert not no_landing_data(manifests)
    skip_without_landing_data(manifests, datetime(2026, 11, 21, tzinfo=UTC))  # does not raise


def _summary_cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "plugins"), "INTENT_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "intent_pipeline", "summary", *args], env=env,
                          capture_output=True, text=True)  # fmt: skip


def test_summary_date_prints_that_days_saved_summary(tmp_path):
    runs = tmp_path / "data" / "reports" / "runs"
    runs.mkdir(parents=True)
    for day, people in (("2026-11-20", 111), ("2026-11-21", 222)):
        saved = {
            "interval_start": day, "sources": {"forms": None}, "quality": {"raw": True, "marts": True},
            "warehouse": {"people": people, "leads_by_grade": {"nurture": people}, "segment_high_intent": 0,
                          "newly_hot": 0, "funnel_stalls": 0, "newly_stalled": 0},
            "activation": None, "conversion_model": {}, "paths": {"warehouse": "/w"},
        }  # fmt: skip
        (runs / f"dt={day}.json").write_text(json.dumps(saved))
    done = _summary_cli(tmp_path, "--date", "2026-11-20")
    assert done.returncode == 0, done.stderr
    assert "interval starting 2026-11-20" in done.stdout and "people resolved: 111" in done.stdout
    as_json = _summary_cli(tmp_path, "--date", "2026-11-21", "--json")
    assert json.loads(as_json.stdout)["warehouse"]["people"] == 222

    missing = _summary_cli(tmp_path, "--date", "2026-11-23")
    assert missing.returncode == 1
    assert "no saved summary for the interval starting 2026-11-23" in missing.stderr
    assert "2026-11-20, 2026-11-21" in missing.stderr
    # --live reads today's warehouse (there is none here) with the day's reports
    live = _summary_cli(tmp_path, "--date", "2026-11-23", "--live")
    assert live.returncode == 0 and "no warehouse at" in live.stdout
