"""Activation history in the warehouse (issue 15 item 5): the ledger's runs, row log and dead letters
written as Parquet where dbt reads them, the marts ``activation_runs`` / ``activation_rejects`` built by
the real dbt on a real DuckDB file, and the marts gate failing on a high reject share (real GX)."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest
from intent_pipeline.activation import Safety
from intent_pipeline.activation.history import history_dir
from intent_pipeline.quality import QualityGateError, enforce_gate, validate_marts
from intent_pipeline.settings import Settings

from tests.activation.conftest import activate_day, make_rows, write_segment
from tests.dbt.conftest import run_dbt
from tests.fakes.dingtalk import FakeDingTalk
from tests.fakes.hubspot import FakeHubSpot

TOKEN = "pat-na1-test"
DAY1, DAY2 = date(2026, 11, 20), date(2026, 11, 21)
MODELS = ("--select", "activation_runs activation_rejects")


def run(settings, hubspot, dingtalk, day: date, run_id: str, safety: Safety | None = None) -> dict:
    return activate_day(settings, hubspot, dingtalk, day, run_id, TOKEN, safety or Safety(dead_letter_after=2))


def parquet(path) -> list[tuple]:
    return duckdb.sql(f"select * from read_parquet('{path}')").fetchall()


def build(settings: Settings, base):
    done = run_dbt(base, settings.lake_dir, "build", *MODELS)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    return Settings.from_env({"INTENT_HOME": str(settings.home), "INTENT_WAREHOUSE": str(base / "warehouse.duckdb")})


@pytest.fixture
def two_days(settings):
    """Day 1: 30 leads, the CRM rejects 9 of them (and the segment has one invalid email); day 2 the
    same payloads again: the 9 are rejected a second time and dead-lettered."""
    rows = make_rows(30, hot_every=10)
    rows[29]["email"] = "not an address"
    write_segment(settings.warehouse, rows)
    write_segment(settings.warehouse, [], "segment_crm_updates")
    with FakeHubSpot(token=TOKEN) as hubspot, FakeDingTalk() as dingtalk:
        for row in rows[:9]:
            hubspot.reject(row["email"])  # HubSpot's message names the email
        first = run(settings, hubspot, dingtalk, DAY1, "scheduled__2026-11-20")
        second = run(settings, hubspot, dingtalk, DAY2, "scheduled__2026-11-21")
    return first, second


def test_each_activation_writes_its_intervals_history_as_parquet(settings, two_days):
    first, second = two_days
    assert first["hubspot"]["rejected"] == 9 and second["hubspot"]["rejected"] == 9
    out = history_dir(settings.lake_dir)
    runs = duckdb.sql(
        f"select interval_start, run_id, destination, planned, sent_ok, rejected, invalid, error"
        f" from read_parquet('{out}/activation_runs/*/*.parquet') order by interval_start, destination"
    ).fetchall()
    assert [(str(r[0]), r[1], r[2].split("@")[0]) for r in runs] == [
        ("2026-11-20", "scheduled__2026-11-20", "dingtalk"), ("2026-11-20", "scheduled__2026-11-20", "hubspot"),
        ("2026-11-21", "scheduled__2026-11-21", "dingtalk"), ("2026-11-21", "scheduled__2026-11-21", "hubspot"),
    ]  # fmt: skip
    hubspot_day1 = runs[1]
    assert hubspot_day1[3:] == (30, 20, 9, 1, None)
    log = parquet(out / "activation_row_log" / "dt=2026-11-20" / "part.parquet")
    assert sorted(r[4] for r in log if r[2].startswith("hubspot")) == ["invalid"] + ["rejected"] * 9
    # day 2's second rejection of the nine makes them dead letters: the row log says so, as the report does
    assert second["hubspot"]["dead_lettered_now"] == 9
    log = parquet(out / "activation_row_log" / "dt=2026-11-21" / "part.parquet")
    assert sorted(r[4] for r in log if r[2].startswith("hubspot")) == ["dead_lettered_now"] * 9 + ["invalid"]
    dead = parquet(out / "activation_dead_letter" / "current" / "part.parquet")
    assert len(dead) == 9 and {r[0].split("@")[0] for r in dead} == {"hubspot"}

    # a re-run of day 1 replaces its share of the history: no duplicate, the re-run's own runs
    with FakeHubSpot(token=TOKEN) as hubspot, FakeDingTalk() as dingtalk:
        run(settings, hubspot, dingtalk, DAY1, "manual__2026-11-20")
    again = parquet(out / "activation_runs" / "dt=2026-11-20" / "part.parquet")
    assert sorted(r[1] for r in again) == ["manual__2026-11-20"] * 2 + ["scheduled__2026-11-20"] * 2
    # a dry run writes nothing
    before = (out / "activation_runs" / "dt=2026-11-21" / "part.parquet").stat().st_mtime_ns
    with FakeHubSpot(token=TOKEN) as hubspot, FakeDingTalk() as dingtalk:
        run(settings, hubspot, dingtalk, DAY2, "dry", safety=Safety(dry_run=True))
    assert (out / "activation_runs" / "dt=2026-11-21" / "part.parquet").stat().st_mtime_ns == before


def test_dbt_builds_the_activation_marts_and_a_high_reject_share_fails_the_gate(settings, two_days, tmp_path,
                                                                                monkeypatch):  # fmt: skip
    built = build(settings, tmp_path / "dbt")
    con = duckdb.connect(str(built.warehouse), read_only=True)
    try:
        runs = con.execute(
            "select interval_start, destination_name, rows_due, rows_refused, reject_share, is_latest_run,"
            " destination_dead_letters_now from marts.activation_runs order by interval_start, destination_name"
        ).fetchall()
        rejects = con.execute(
            "select interval_start, destination_name, outcome, reason_kind, rows_refused"
            " from marts.activation_rejects order by interval_start, outcome, reason_kind"
        ).fetchall()
    finally:
        con.close()
    hubspot = [r for r in runs if r[1] == "hubspot"]
    # day 1: 30 due, 9 rejected + 1 invalid; day 2: the 20 acknowledged are unchanged, 10 due again:
    # the 9 rejected a second time are dead-lettered by that answer (dead_letter_after=2), the invalid one again
    assert [(str(r[0]), r[2], r[3], r[5], r[6]) for r in hubspot] == [
        ("2026-11-20", 30, 10, False, 9), ("2026-11-21", 10, 10, True, 9),
    ]  # fmt: skip
    assert hubspot[0][4] == pytest.approx(10 / 30) and hubspot[1][4] == pytest.approx(1.0)
    # rejects by reason: the nine emails are one kind of reason (their quoted values left out)
    day1 = [r for r in rejects if str(r[0]) == "2026-11-20" and r[1] == "hubspot"]
    assert [(r[2], r[4]) for r in day1] == [("invalid", 1), ("rejected", 9)], day1
    day2 = [r for r in rejects if str(r[0]) == "2026-11-21" and r[1] == "hubspot"]
    assert [(r[2], r[4]) for r in day2] == [("dead_lettered_now", 9), ("invalid", 1)], day2

    report = validate_marts(built, DAY2, tables=["activation_runs"])
    failed = [r for r in report["tables"]["activation_runs"]["results"] if not r["success"]]
    assert [(r["expectation"], r["column"]) for r in failed] == [("expect_column_values_to_be_between", "reject_share")]
    with pytest.raises(QualityGateError, match="reject_share"):
        enforce_gate(report)

    # the threshold is configurable: above the latest runs' shares the same marts pass
    monkeypatch.setenv("INTENT_MAX_REJECT_SHARE", "1")
    assert validate_marts(built, DAY2, tables=["activation_runs"])["success"] is True


def test_rejects_count_every_execution_a_retry_of_the_same_run_included(settings, tmp_path):
    # a task retry keeps its run id and adds an execution: the mart's runs counts executions
    rows = make_rows(6, hot_every=10)
    write_segment(settings.warehouse, rows)
    write_segment(settings.warehouse, [], "segment_crm_updates")
    safety = Safety(dead_letter_after=5)
    with FakeHubSpot(token=TOKEN) as hubspot, FakeDingTalk() as dingtalk:
        for row in rows[:2]:
            hubspot.reject(row["email"])
        first = run(settings, hubspot, dingtalk, DAY1, "scheduled__2026-11-20", safety)
        retry = run(settings, hubspot, dingtalk, DAY1, "scheduled__2026-11-20", safety)
        other = run(settings, hubspot, dingtalk, DAY1, "manual__2026-11-20", safety)
    assert [r["hubspot"]["rejected"] for r in (first, retry, other)] == [2, 2, 2]
    built = build(settings, tmp_path / "dbt")
    con = duckdb.connect(str(built.warehouse), read_only=True)
    try:
        executions = con.execute(
            "select run_id, execution from marts.activation_runs where destination_name = 'hubspot'"
            " order by run_id, execution"
        ).fetchall()
        rejects = con.execute(
            "select outcome, rows_refused, runs from marts.activation_rejects"
            " where destination_name = 'hubspot' and interval_start = ?",
            [DAY1],
        ).fetchall()
    finally:
        con.close()
    assert executions == [("manual__2026-11-20", 1), ("scheduled__2026-11-20", 1), ("scheduled__2026-11-20", 2)]
    assert rejects == [("rejected", 6, 3)]


def test_before_any_activation_the_marts_are_empty_and_pass(settings, tmp_path):
    built = build(settings, tmp_path / "dbt")
    con = duckdb.connect(str(built.warehouse), read_only=True)
    try:
        assert con.execute("select count(*) from marts.activation_runs").fetchone() == (0,)
        assert con.execute("select count(*) from marts.activation_rejects").fetchone() == (0,)
    finally:
        con.close()
    assert validate_marts(built, DAY2, tables=["activation_runs"])["success"] is True
