"""Incremental days (issue #20, docs/incremental.md) on real dbt builds of one lake.

The hand-written lake of conftest.py is built one day at a time: day 1 (2026-11-20) on an empty
warehouse (conftest's ``day_one``), then day 2 (2026-11-21; conftest's ``day_two``) and day 3
(2026-11-22; conftest's ``day_three``), each built once per test run for this file and the other
incremental files (day 3 holds their rows too, and Erin is erased before it). This file's rows of day
3 (``day3_rows``) are two late GA4 events:

* ``w-carol-laptop-late``: a page view of 2026-11-20 on Carol's laptop, two days late: inside the
  lookback (var lookback_days, 3);
* ``w-bob-old``: a page view of 2026-11-10 on bob's browser, twelve days late: outside it.

Twice: incrementally, as the DAG's daily build runs (``incremental``), and with ``--full-refresh``
(``from_scratch``: every model that can be rebuilt is rebuilt from every partition; the histories
that are never rebuilt, such as stable person ids, have the same days in both). Every table of the
two warehouses must be equal row for row after day 3. The incremental lake also holds a partition
of garbage bytes from before the lookback: a run that read a partition outside its window would
fail on it. The tests that run dbt again do it on copies of day 3 (this file's own).

Day 2 is built once, incrementally, with its data tests. What ``--full-refresh`` changes on day 2 is
only the models it rebuilds (the INCREMENTAL ones: the day-1 build's manifest is checked for
that; tables and views are rebuilt either way, the histories never), so the from-scratch day 2 is
that build's warehouse with those refreshed on the from-scratch lake, and their rows must equal
the incremental day 2's: then every table built from them on day 2, the histories' day-2 rows
included, is what a ``--full-refresh`` build of day 2 would have made (one full build fewer than
building day 2 twice, and a check on day 2 that the day-3 comparison alone did not make).
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta

import pytest

from tests.dbt.conftest import (
    DAY_THREE,
    DAYS,
    GARBAGE_DAY,
    INCREMENTAL_MODELS,
    INCREMENTAL_RELATIONS,
    WAREHOUSE_FILE,
    Build,
    copy_of,
    page_view,
    rebuilt_by_full_refresh,
    run_dbt,
    write_partition,
)

pytestmark = pytest.mark.slow

DAY1, DAY2 = (datetime.combine(day, datetime.min.time()) for day in DAYS)
DAY3 = DAY_THREE[0]  # conftest's shared day 3
NEXT = {DAY1: DAY2, DAY2: DAY3, DAY3: datetime(2026, 11, 23)}


def next_day(day: datetime) -> datetime:
    return day + timedelta(days=1)


# the models this change made incremental: a re-run of an interval must leave them as they were
INCREMENTAL = tuple(INCREMENTAL_MODELS)


def day3_rows() -> dict[str, list[dict]]:
    """This file's rows of conftest's shared day 3 (``day_three``, DAY3), per raw table."""
    return {
        "web_events": [
            page_view("w-carol-laptop-late", "carol.laptop", "2026-11-20 09:00:00", "/pricing", 9, 20_000),
            page_view("w-bob-old", "bob.device", "2026-11-10 09:00:00", "/careers", 2, 30_000),
        ],
    }  # fmt: skip


@pytest.fixture(scope="module")
def days(tmp_path_factory, day_two, day_three) -> dict:
    # days 1, 2 and 3 (conftest's day_one, day_two and day_three, built once per test run): day 2
    # built once, incrementally, with conftest's garbage_partition in the incremental lake, the
    # from-scratch side refreshed what --full-refresh rebuilds; day 3 the daily build against a
    # full-refresh build. Private copies of day 3's sides, which the tests below run dbt on
    root = tmp_path_factory.mktemp("incremental")
    builds = {name: copy_of(day_three.side(name), root / name) for name in ("incremental", "from_scratch")}
    day2 = {name: day_two.side(name).rows(*INCREMENTAL_RELATIONS) for name in builds}
    assert (builds["incremental"].lake / "raw" / "web_events" / f"dt={GARBAGE_DAY}").exists()
    assert not (builds["from_scratch"].lake / "raw" / "web_events" / f"dt={GARBAGE_DAY}").exists()
    return {**builds, "day2": day2, "rebuilt_by_full_refresh": rebuilt_by_full_refresh(day_two.manifest)}


def test_day_two_built_incrementally_equals_its_full_refresh(days):
    # the premise of building day 2 once: --full-refresh rebuilds these models and no other
    assert days["rebuilt_by_full_refresh"] == set(INCREMENTAL)
    incremental, refreshed = days["day2"]["incremental"], days["day2"]["from_scratch"]
    assert incremental["staging.stg_web__events"], "nothing was compared"
    assert {relation for relation in INCREMENTAL_RELATIONS if incremental[relation] != refreshed[relation]} == set()


def test_incremental_days_equal_the_same_days_built_from_scratch(days):
    incremental, scratch = days["incremental"], days["from_scratch"]
    assert incremental.tables() == scratch.tables()
    compared = incremental.tables()
    assert {f"marts.{m}" for m in ("people", "lead_scores", "funnel_stages", "channel_attribution")} <= set(compared)
    assert set(INCREMENTAL_RELATIONS) <= set(compared)
    mine, theirs = incremental.rows(*compared), scratch.rows(*compared)  # one connection each
    differing = [table for table in compared if mine[table] != theirs[table]]
    assert differing == []


def test_a_late_event_within_the_lookback_is_counted(days):
    for build in (days["incremental"], days["from_scratch"]):
        session = build.one(
            "select session_key, page_views from intermediate.int_web_sessions where session_key = 'carol.laptop:9'"
        )
        assert session == ("carol.laptop:9", 1)
    late = days["incremental"].query("select event_id from staging.stg_web__late_events")
    assert ("w-carol-laptop-late",) not in late


def test_a_late_event_outside_the_lookback_is_counted_and_reported(days):
    build = days["incremental"]
    assert build.one("select session_key from intermediate.int_web_sessions where session_key = 'bob.device:2'")
    reported = build.one("select days_late, reason from staging.stg_web__late_events where event_id = 'w-bob-old'")
    assert reported[0] == 12
    assert "more than lookback_days (3)" in reported[1]


def test_incremental_runs_read_only_the_window_partitions(days):
    # the garbage partition of 2026-11-01 is in the incremental lake only: days 2 and 3 were built
    # without opening it, and a full refresh of that lake must fail on it
    build = days["incremental"]
    assert (build.lake / "raw" / "web_events" / f"dt={GARBAGE_DAY}").exists()
    refreshed = run_dbt(build.base, build.lake, "run", "--full-refresh", "--select", "stg_web__events",
                        interval=(DAY3, NEXT[DAY3]))  # fmt: skip
    assert refreshed.returncode != 0
    assert f"dt={GARBAGE_DAY}" in refreshed.stdout


def test_a_rerun_of_the_interval_neither_duplicates_nor_drops(days):
    build = days["from_scratch"]  # its lake has no garbage partition, so the full refresh above is not in the way
    relations = INCREMENTAL_RELATIONS
    before = build.rows(*relations)
    rerun = run_dbt(build.base, build.lake, "run", "--select", *INCREMENTAL, interval=(DAY3, NEXT[DAY3]))
    assert rerun.returncode == 0, rerun.stdout[-4000:]
    assert "incremental model" in rerun.stdout
    after = build.rows(*relations)
    assert after == before
    assert before["staging.stg_web__events"], "nothing was compared"


def test_a_partition_purged_by_retention_leaves_the_incremental_tables(days, tmp_path):
    # retention (INTENT_RETENTION_RAW_DAYS) removes old raw partitions; the next daily run must forget
    # their events as a full build does: copies of the warehouse, one run incrementally, one refreshed
    relations = INCREMENTAL_RELATIONS
    # Carol's ad click (her browser's session 3) is only in day 1's partition: there before the purge
    source = days["from_scratch"]
    assert source.one("select session_key from intermediate.int_web_sessions where landing_event_id = 'w-carol-ad'")
    assert ("carol.device:3",) in source.query("select session_key from intermediate.int_web_session_traffic")
    built = {}
    for name, args in (("daily", ()), ("refreshed", ("--full-refresh",))):
        base = tmp_path / name
        shutil.copytree(source.lake, base / "lake")
        shutil.copyfile(source.warehouse, base / WAREHOUSE_FILE)
        shutil.rmtree(base / "lake" / "raw" / "web_events" / f"dt={DAY1.date()}")
        done = run_dbt(base, base / "lake", "run", *args, "--select", *INCREMENTAL, interval=(DAY3, NEXT[DAY3]))
        assert done.returncode == 0, done.stdout[-4000:]
        built[name] = Build(base=base, warehouse=base / WAREHOUSE_FILE, lake=base / "lake", build=done)
    daily = built["daily"]
    mine, theirs = daily.rows(*relations), built["refreshed"].rows(*relations)
    for relation in relations:
        assert mine[relation] == theirs[relation], relation
    events = dict(daily.query("select event_id, _interval_start from staging.stg_web__events"))
    assert "w-carol-ad" not in events  # only in the purged partition
    assert events["w-bob-1"] == DAY2.date()  # its copy of day 2 is what is left
    sessions = {row[0] for row in daily.query("select session_key from intermediate.int_web_session_traffic")}
    assert "carol.device:3" not in sessions
    assert "carol.laptop:9" in sessions


# the web session models and what they read: a daily run of these against a full refresh of them. Their
# one parent outside the web staging, int_people_resolved, is a table that no run of INCREMENTAL rebuilds
# either: a run of INCREMENTAL gives these models the same rows (and builds 18 models no test here reads)
SESSION_MODELS = ("stg_web__events", "int_web_session_events", "int_web_session_traffic", "int_web_page_views",
                  "int_web_sessions")  # fmt: skip
SESSION_RELATIONS = tuple(f"intermediate.{model}" for model in SESSION_MODELS[1:])


def test_a_session_shortened_by_a_purged_partition_outside_the_window(days, tmp_path):
    # Carol's laptop's session 4 gets one more event in a partition of 2026-11-24, built by its own day;
    # then retention purges day 1 (the session's other event) and a day whose window holds no partition
    # runs: the laptop has no event in that window, so only the stored sessions' event counts say that
    # int_web_sessions must recompute it (as a full refresh of the same lake does)
    later, last = datetime(2026, 11, 24), datetime(2026, 12, 1)
    built = {}
    for name in ("daily", "refreshed"):
        source = days["from_scratch"]
        base = tmp_path / name
        shutil.copytree(source.lake, base / "lake")
        shutil.copyfile(source.warehouse, base / WAREHOUSE_FILE)
        write_partition(base / "lake", "web_events", later.date(), [
            page_view("w-carol-login-2", "carol.laptop", "2026-11-13 02:03:00", "/pricing", 4, 2_000,
                      user_id="acct_carol"),
        ])  # fmt: skip
        if name == "daily":
            done = run_dbt(base, base / "lake", "run", "--select", *SESSION_MODELS, interval=(later, next_day(later)))
            assert done.returncode == 0, done.stdout[-4000:]
        shutil.rmtree(base / "lake" / "raw" / "web_events" / f"dt={DAY1.date()}")
        args = () if name == "daily" else ("--full-refresh",)
        done = run_dbt(base, base / "lake", "run", *args, "--select", *SESSION_MODELS, interval=(last, next_day(last)))
        assert done.returncode == 0, done.stdout[-4000:]
        built[name] = Build(base=base, warehouse=base / WAREHOUSE_FILE, lake=base / "lake", build=done)
    daily = built["daily"]
    assert daily.one("select events from intermediate.int_web_sessions where session_key = 'carol.laptop:4'") == (1,)
    # the laptop's sessions only: every incremental table differs from the refresh in one more row,
    # bob's w-bob-1, a known gap of the web staging (docs/incremental.md, Retention): its first copy was
    # in the purged partition, its second (day 2) is outside this run's window and was never stored
    for relation in ("intermediate.int_web_session_traffic", "intermediate.int_web_sessions"):
        laptop = f"select * from {relation} where user_pseudo_id = 'carol.laptop' order by session_key"
        assert daily.query(laptop) == built["refreshed"].query(laptop), relation


def sessionless(event_id: str, pseudo: str, at: str, path: str = "/pricing") -> dict:
    """A GA4 event exported without ga_session_id: sessionised by the 30-minute timeout."""
    return page_view(event_id, pseudo, at, path, None, 5_000)  # type: ignore[arg-type]


def _daily_and_refreshed(days, tmp_path, day_a: tuple, day_b: tuple, runs_of_b: int = 1) -> tuple[Build, Build]:
    """Copies of day 3's from-scratch side with web partitions of day A and day B (``(day, rows)`` each): the
    daily side runs SESSION_MODELS for A, then ``runs_of_b`` times for B (more than once: re-runs of the
    interval); the refreshed side runs them once for B with ``--full-refresh``."""
    (first, rows_a), (second, rows_b) = day_a, day_b
    built = {}
    for name in ("daily", "refreshed"):
        base = tmp_path / name
        shutil.copytree(days["from_scratch"].lake, base / "lake")
        shutil.copyfile(days["from_scratch"].warehouse, base / WAREHOUSE_FILE)
        write_partition(base / "lake", "web_events", first.date(), rows_a)
        if name == "daily":
            done = run_dbt(base, base / "lake", "run", "--select", *SESSION_MODELS, interval=(first, next_day(first)))
            assert done.returncode == 0, done.stdout[-4000:]
        write_partition(base / "lake", "web_events", second.date(), rows_b)
        args = () if name == "daily" else ("--full-refresh",)
        for _ in range(runs_of_b if name == "daily" else 1):
            done = run_dbt(base, base / "lake", "run", *args, "--select", *SESSION_MODELS,
                           interval=(second, next_day(second)))  # fmt: skip
            assert done.returncode == 0, done.stdout[-4000:]
        built[name] = Build(base=base, warehouse=base / WAREHOUSE_FILE, lake=base / "lake", build=done)
    return built["daily"], built["refreshed"]


def test_sessions_a_late_event_can_reach_are_rebuilt_and_no_other(days, tmp_path):
    # docs/incremental.md, "Web sessions per touched session": a daily run keeps a browser's stored sessions
    # that ended more than the timeout before its earliest changed event and rebuilds the rest. Day A
    # (2026-11-23) is built daily; day B's partition (2026-11-27, window 11-24 to 11-27) then brings events that
    # reach sessions stored from day A's partition, outside that window. The same lake refreshed in full
    # must give the same rows.
    day_a, day_b = datetime(2026, 11, 23), datetime(2026, 11, 27)
    rows_a = [
        # gap.device: three sessions without an id, the last one starting at 23:50
        sessionless("w-gap-1", "gap.device", "2026-11-22 10:00:00", "/?utm_source=bing&utm_medium=cpc"),
        sessionless("w-gap-2", "gap.device", "2026-11-22 10:20:00"),
        sessionless("w-gap-3", "gap.device", "2026-11-22 11:30:00"),
        sessionless("w-gap-4", "gap.device", "2026-11-22 23:50:00"),
        # bridge.device: two sessions an hour apart
        sessionless("w-bridge-1", "bridge.device", "2026-11-22 08:00:00"),
        sessionless("w-bridge-2", "bridge.device", "2026-11-22 09:00:00"),
        # pause.device: a session in August with a click of its own
        sessionless("w-pause-1", "pause.device", "2026-08-01 09:00:00", "/?utm_source=google&utm_medium=cpc"),
        sessionless("w-pause-2", "pause.device", "2026-08-01 09:10:00"),
        # late.device: a click on the 20th, a direct session on the 22nd credited to it
        sessionless("w-late-1", "late.device", "2026-11-20 10:00:00", "/?utm_source=google&utm_medium=cpc"),
        sessionless("w-late-2", "late.device", "2026-11-22 10:00:00"),
        # first.device: its first session is a click of the 20th
        page_view("w-first-1", "first.device", "2026-11-20 12:00:00", "/?utm_source=google&utm_medium=cpc", 501),
        page_view("w-first-2", "first.device", "2026-11-21 12:00:00", "/pricing", 502),
    ]
    rows_b = [
        # 25 minutes after w-gap-4, four days late (its event date is before the window): extends that session
        sessionless("w-gap-5", "gap.device", "2026-11-23 00:15:00"),
        # 30 minutes after w-bridge-1 and before w-bridge-2: the two sessions become one
        sessionless("w-bridge-3", "bridge.device", "2026-11-22 08:30:00"),
        # after a pause of four months: a session of its own, the August one kept
        sessionless("w-pause-3", "pause.device", "2026-11-26 12:00:00"),
        # a newsletter click on the 21st: the direct session of the 22nd is now credited to it
        sessionless("w-late-3", "late.device", "2026-11-21 10:00:00", "/?utm_source=newsletter&utm_medium=email"),
        # a bing click before every session of first.device: its first-user traffic changes on every session
        page_view("w-first-0", "first.device", "2026-11-10 12:00:00", "/?utm_source=bing&utm_medium=cpc", 500),
    ]
    daily, refreshed = _daily_and_refreshed(days, tmp_path, (day_a, rows_a), (day_b, rows_b))

    def session_of(build: Build, event_id: str) -> str:
        return build.one("select session_key from intermediate.int_web_session_events where event_id = ?", event_id)[0]

    # the cases are what they say (on the refreshed side, which nothing incremental touched)
    assert session_of(refreshed, "w-gap-5") == session_of(refreshed, "w-gap-4") != session_of(refreshed, "w-gap-3")
    assert session_of(refreshed, "w-bridge-2") == session_of(refreshed, "w-bridge-1")
    assert session_of(refreshed, "w-pause-3") != session_of(refreshed, "w-pause-1")
    late = refreshed.one("select source, source_origin from intermediate.int_web_session_traffic"
                         " where session_key = ?", session_of(refreshed, "w-late-2"))  # fmt: skip
    assert late == ("newsletter", "previous_session")
    assert refreshed.query("select distinct first_user_source from intermediate.int_web_session_traffic"
                           " where user_pseudo_id = 'first.device'") == [("bing",)]  # fmt: skip
    mine, theirs = daily.rows(*SESSION_RELATIONS), refreshed.rows(*SESSION_RELATIONS)
    for relation in SESSION_RELATIONS:
        assert mine[relation], relation
        assert mine[relation] == theirs[relation], relation


def test_events_without_a_session_id_on_consecutive_days_equal_a_full_refresh(days, tmp_path):
    # GA4 events without ga_session_id on the daily path (not late): day A (2026-11-23) and the next day B
    # (2026-11-24) each built daily, then B built again (a re-run of the interval), against a full refresh
    # of the same lake. A session without an id spans midnight (its second event in B's partition), one
    # browser mixes events with and without an id, two of a browser's events without an id share a moment,
    # and a browser has no event with an id at all. No event may be dropped or counted twice.
    day_a, day_b = datetime(2026, 11, 23), datetime(2026, 11, 24)
    rows_a = [
        sessionless("w-night-1", "night.device", "2026-11-23 23:40:00", "/?utm_source=bing&utm_medium=cpc"),
        sessionless("w-night-2", "night.device", "2026-11-23 23:55:00"),
        page_view("w-mix-1", "mix.device", "2026-11-23 09:00:00", "/?utm_source=google&utm_medium=cpc", 801),
        sessionless("w-mix-2", "mix.device", "2026-11-23 09:05:00"),
        sessionless("w-tie-1", "tie.device", "2026-11-23 15:00:00", "/pricing"),
        sessionless("w-tie-2", "tie.device", "2026-11-23 15:00:00", "/demo"),
    ]
    rows_b = [
        # 20 minutes after w-night-2, on the next day: the same session
        sessionless("w-night-3", "night.device", "2026-11-24 00:15:00"),
        # the mixed browser: an event with its id again, and one without 10 minutes after w-mix-2's session
        page_view("w-mix-3", "mix.device", "2026-11-24 09:00:00", "/pricing", 801),
        sessionless("w-mix-4", "mix.device", "2026-11-23 09:15:00"),
        # a third event at the tied moment, and one 10 minutes later
        sessionless("w-tie-3", "tie.device", "2026-11-23 15:00:00", "/contact"),
        sessionless("w-tie-4", "tie.device", "2026-11-23 15:10:00"),
    ]
    events = {row["event_id"] for row in rows_a + rows_b}
    browsers = "('night.device', 'mix.device', 'tie.device')"
    daily, refreshed = _daily_and_refreshed(days, tmp_path, (day_a, rows_a), (day_b, rows_b), runs_of_b=2)

    def session_of(build: Build, event_id: str) -> str:
        return build.one("select session_key from intermediate.int_web_session_events where event_id = ?", event_id)[0]

    # the cases are what they say (on the refreshed side)
    assert session_of(refreshed, "w-night-3") == session_of(refreshed, "w-night-1")
    assert session_of(refreshed, "w-mix-4") == session_of(refreshed, "w-mix-2") != session_of(refreshed, "w-mix-1")
    assert len({session_of(refreshed, f"w-tie-{n}") for n in (1, 2, 3)}) == 1
    for build in (daily, refreshed):
        stored = build.query(
            f"select event_id from intermediate.int_web_session_events where user_pseudo_id in {browsers}"
        )
        assert sorted(row[0] for row in stored) == sorted(events)  # each event once
        sessions = build.one(
            f"select count(*), sum(events) from intermediate.int_web_session_traffic where user_pseudo_id in {browsers}"
        )
        assert sessions == (4, len(events)), sessions  # night, mix's session 801 and its sessionless one, tie
    mine, theirs = daily.rows(*SESSION_RELATIONS), refreshed.rows(*SESSION_RELATIONS)
    for relation in SESSION_RELATIONS:
        assert mine[relation] == theirs[relation], relation
