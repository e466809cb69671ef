"""The lake staging models' data tests check only the rows a daily build wrote, and every row otherwise
(macros/generic_tests.sql ``get_where_subquery``, ``where: "__lake_window__:_interval_start"`` in their
YAML; ``intent_pipeline.day_skip.tests_lake_window`` decides, docs/incremental.md "Data tests of the rows a
day wrote"). Real dbt builds of ``stg_web__events`` on a copy of day 2's from-scratch side of conftest's
hand-written lake (its lake has no garbage partition, so a full refresh can read every partition).
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import pytest
from intent_pipeline import day_skip

from tests.dbt.conftest import Build, page_view, run_dbt, write_partition

pytestmark = pytest.mark.slow

# a day whose lake window (lookback_days 3: 2026-11-22 to 2026-11-25) holds none of day 1's and 2's partitions
LATER_DAY = (datetime(2026, 11, 25), datetime(2026, 11, 26))
WINDOW_ON = {day_skip.TESTS_LAKE_WINDOW_ENV: "true"}
STAGING_ONLY = ("-s", "stg_web__events", "--indirect-selection", "cautious")  # the model and its own data tests


@pytest.fixture
def side(tmp_path, day_two) -> Build:
    return day_two.copy_to(tmp_path, ("from_scratch",))["from_scratch"]


def fails_column_rules(done) -> bool:
    return done.returncode != 0 and "FAIL" in done.stdout and "column_rules_stg_web__events" in done.stdout


def compiled_test(side: Build) -> str:
    (path,) = (side.base / "target" / "compiled").rglob("column_rules_stg_web__events_*.sql")
    return path.read_text(encoding="utf-8")


def test_a_broken_row_of_the_day_fails_the_daily_build_that_checks_only_the_window(side):
    write_partition(side.lake, "web_events", LATER_DAY[0].date(), [
        page_view("e-late-ok", "ga-late", "2026-11-25 09:00:00", "/pricing", 901),
        page_view("e-late-bad", None, "2026-11-25 09:05:00", "/pricing", 901),  # no browser: not_null broken
    ])  # fmt: skip
    done = run_dbt(side.base, side.lake, "build", *STAGING_ONLY, interval=LATER_DAY, extra_env=WINDOW_ON)
    assert fails_column_rules(done), done.stdout[-4000:]
    # the test read the window's rows only (the model's rows of 2026-11-22 on, or without an interval)
    assert "cast('2026-11-22' as date)" in compiled_test(side)


def test_an_old_broken_row_is_left_to_the_build_that_wrote_it_and_a_full_refresh_checks_every_row(side):
    # a row outside the window that breaks a rule (as if an earlier build had let it through): the daily
    # build checks only what it wrote, a check of every row (a hand `dbt test`) finds it
    con = duckdb.connect(str(side.warehouse))
    try:
        con.execute("insert into staging.stg_web__events by name select * replace "
                    "('e-old-bad' as event_id, null as user_pseudo_id) from staging.stg_web__events "
                    "where _interval_start = '2026-11-20' limit 1")  # fmt: skip
    finally:
        con.close()
    daily = run_dbt(side.base, side.lake, "build", *STAGING_ONLY, interval=LATER_DAY, extra_env=WINDOW_ON)
    assert daily.returncode == 0, daily.stdout[-4000:]
    assert side.query("select count(*) from staging.stg_web__events where event_id = 'e-old-bad'") == [(1,)]
    whole = run_dbt(side.base, side.lake, "test", *STAGING_ONLY, interval=LATER_DAY)
    assert fails_column_rules(whole), whole.stdout[-4000:]
    # a full refresh reads every partition, and its data tests every row, the setting on or not
    write_partition(side.lake, "web_events", date(2026, 11, 15), [
        page_view("e-early-bad", None, "2026-11-15 10:00:00", "/", 902)])  # fmt: skip
    refreshed = run_dbt(side.base, side.lake, "build", "--full-refresh", *STAGING_ONLY, interval=LATER_DAY,
                        extra_env=WINDOW_ON)  # fmt: skip
    assert fails_column_rules(refreshed), refreshed.stdout[-4000:]
    assert "cast('2026-11-22' as date)" not in compiled_test(side)


def test_the_window_is_used_only_after_a_successful_build_of_the_same_project(side, day_two):
    manifest = day_two.manifest
    windowed = [n for n in manifest["nodes"].values()
                if str(n.get("config", {}).get("where") or "").startswith(day_skip.WINDOW_WHERE)]  # fmt: skip
    assert len(windowed) == 8  # the lake staging models' column_rules
    current = {day_skip.PROJECT_KEY: "p"}
    assert day_skip.tests_lake_window(current, current, manifest, side.warehouse)
    assert not day_skip.tests_lake_window(current, {}, manifest, side.warehouse)  # no record: a failed or first build
    assert not day_skip.tests_lake_window(current, {day_skip.PROJECT_KEY: "q"}, manifest, side.warehouse)
    con = duckdb.connect(str(side.warehouse))
    try:
        con.execute("drop table staging.stg_web__events")  # built from every partition on the next day
    finally:
        con.close()
    assert not day_skip.tests_lake_window(current, current, manifest, side.warehouse)
