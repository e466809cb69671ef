"""``marts.web_consent_daily`` incremental by event date (issue #20, docs/incremental.md,
"web_consent_daily"): each daily build equals a full refresh of the same lake row for row, and a
daily build recomputes only the dates it must.

A small lake of its own (conftest's ``write_partition`` and ``page_view``), GA4 events with and without
analytics consent, built day after day with ``dbt run`` of the two web staging models and the mart
(``--select``: the rest of the project does not read or write them); after each day a copy of the
warehouse and lake gets ``dbt run --full-refresh`` of the same three, and the mart must be equal:

1. **day 1** (2026-11-10, the first build: a full one), events dated 2026-11-09 and 2026-11-10;
2. **a normal day** (2026-11-11);
3. **a late event for an old date** (2026-11-20, whose window 11-17..11-20 leaves every older partition
   out): an event dated 2026-11-10 in its partition, beside the day's own;
4. **a day with only consent-denied events** (2026-11-23): cookieless pings, one on a page and date
   that had consented events only (its consent rate falls);
5. **a purged partition** (2026-11-25, whose window 11-22..11-25 leaves the late event's partition out):
   day 1's partition removed as retention removes it: the date 2026-11-09 (only in that partition) must
   go, 2026-11-10 keep only the late event of day 3 (found by its stored count, no longer staging's); and
   11-23's partition delivered again with one ping on another page (the same count of events: found
   because its partition is in the window).
6. **a change outside the window with the same counts** (2026-11-26, window 11-23..11-26): the late day's
   partition 11-20 delivered again, one event moved from 11-20 to 11-10 and another from 11-10 to 11-20,
   the latter now without consent (each date keeps its number of events; channels and consent change),
   and staged by a hand run of the two staging models for 11-20 (a run the mart did not follow: a hand
   run, or a build that stopped after staging); the day's own run must find the two dates;
7. **events without an event_date** (2026-11-27): a consented event and a ping with a null event_date
   (the extract keeps them, the raw gate only warns): a full refresh counts them in a row of their own;
8. **a changed seed** (2026-11-28): a steward's override makes bing a shopping site (as ``dbt seed`` of
   the edited CSV loads it): every stored bing row, whatever its date, changes channel;
9. **a day after** (2026-11-29, whose window still holds 11-27's partition): another undated ping, so the
   null-dated rows are computed again (their stored row deleted by the pre-hook, which delete+insert's own
   delete never matches: not duplicated), and the daily path taken again after the seed change.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from tests.dbt.conftest import WAREHOUSE_FILE, Build, page_view, run_dbt, write_partition

pytestmark = pytest.mark.slow

MODELS = ("--select", "stg_web__events", "stg_web__consent_denied_events", "web_consent_daily")
MART = "marts.web_consent_daily"
DAY1, DAY2, LATE_DAY, DENIED_DAY, PURGE_DAY = (date(2026, 11, d) for d in (10, 11, 20, 23, 25))
CHANGED_DAY, UNDATED_DAY, SEED_DAY, AFTER_DAY = (date(2026, 11, d) for d in (26, 27, 28, 29))
STAGING = ("--select", "stg_web__events", "stg_web__consent_denied_events")


def web(event_id: str, at: str, path: str, **extra) -> dict:
    """A consented GA4 event (a page view unless ``name``), traffic from ``source``/``medium`` if given."""
    return page_view(event_id, f"{event_id}.device", at, path, 1, **extra)


def ping(event_id: str, at: str, path: str, **extra) -> dict:
    """A cookieless ping: analytics_storage denied, no user_pseudo_id."""
    return {**page_view(event_id, None, at, path, None, **extra), "analytics_storage": "No"}


DAYS: dict[date, list[dict]] = {
    DAY1: [
        web("c-1", "2026-11-09 23:50:00", "/blog/old"),  # dated the day before: only in this partition
        web("c-2", "2026-11-10 09:00:00", "/pricing", source="google", medium="cpc", gclid="g-1"),
        web("c-3", "2026-11-10 09:30:00", "/pricing", name="scroll"),
        ping("p-1", "2026-11-10 10:00:00", "/pricing"),
    ],
    DAY2: [
        web("c-4", "2026-11-11 08:00:00", "/", source="newsletter", medium="email"),
        web("c-5", "2026-11-11 08:05:00", "/docs"),
        ping("p-2", "2026-11-11 08:10:00", "/"),
    ],
    LATE_DAY: [
        web("c-6", "2026-11-20 12:00:00", "/pricing", source="bing", medium="organic"),
        web("c-late", "2026-11-10 18:00:00", "/pricing", source="google", medium="cpc", gclid="g-2"),  # 10 days late
    ],
    DENIED_DAY: [
        ping("p-3", "2026-11-23 07:00:00", "/pricing"),
        ping("p-4", "2026-11-20 23:00:00", "/pricing", source="bing", medium="organic"),  # 11-20 was all consented
    ],
    PURGE_DAY: [web("c-7", "2026-11-25 10:00:00", "/careers")],
    CHANGED_DAY: [web("c-8", "2026-11-26 10:00:00", "/careers")],
    UNDATED_DAY: [
        web("c-9", "2026-11-27 09:00:00", "/"),
        web("c-undated", "2026-11-27 09:10:00", "/pricing", event_date=None),
        ping("p-undated", "2026-11-27 09:20:00", "/pricing", event_date=None),
    ],
    SEED_DAY: [web("c-10", "2026-11-28 10:00:00", "/docs")],
    AFTER_DAY: [
        web("c-11", "2026-11-29 10:00:00", "/docs"),
        ping("p-undated-2", "2026-11-29 10:10:00", "/docs", event_date=None),  # the null date's digest changes
    ],
}
# delivered again with the purge day (inside its window, as GA4 rewrites a day's export): the same number
# of events, one of them on another page, so only reading the window's dates finds the change
REDELIVERED = {DENIED_DAY: [ping("p-3", "2026-11-23 07:00:00", "/pricing/plans"), DAYS[DENIED_DAY][1]]}
# the late day's partition delivered again before the changed day and staged by a hand run for 11-20 alone
# (its window 11-17..11-20): c-6 moved to 11-10, c-late to 11-20 and sent without consent (new event ids:
# the extract's id is the event's hash); 11-10 keeps one event and 11-20 two (p-4 of 11-23's partition)
LATE_AGAIN = [
    web("c-6b", "2026-11-10 12:00:00", "/pricing", source="bing", medium="organic"),
    ping("p-late", "2026-11-20 18:00:00", "/pricing", source="google", medium="cpc", gclid="g-2"),
]
# a steward's override (as `dbt seed` of the edited channel_source_overrides.csv loads it)
BING_AS_SHOP = (
    "insert into staging.channel_source_overrides values ('bing', 'exact', 'SOURCE_CATEGORY_SHOPPING', 'test')"
)


def interval(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, datetime.min.time())
    return start, start + timedelta(days=1)


def mart_rows(build: Build) -> list[tuple]:
    return build.rows_of(MART)


def full_refresh_of(build: Build, day: date, base: Path) -> Build:
    """A copy of ``build``'s warehouse and lake with the three models rebuilt by ``--full-refresh``."""
    shutil.copytree(build.lake, base / "lake")
    shutil.copyfile(build.warehouse, base / WAREHOUSE_FILE)
    done = run_dbt(base, base / "lake", "run", "--full-refresh", *MODELS, interval=interval(day))
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    return Build(base=base, warehouse=base / WAREHOUSE_FILE, lake=base / "lake", build=done)


@pytest.fixture(scope="module")
def days(tmp_path_factory, dbt_parse_cache) -> dict[date, dict]:
    """Each day built incrementally on one warehouse, with the mart's rows after it, those of a full
    refresh of the same lake, a copy of the incremental warehouse as it was before the day and the
    day's dbt output."""
    import duckdb

    root = tmp_path_factory.mktemp("consent_daily")
    base, lake = root / "incremental", root / "incremental" / "lake"
    build = Build(base=base, warehouse=base / WAREHOUSE_FILE, lake=lake, build=None)  # type: ignore[arg-type]
    out: dict[date, dict] = {}
    for day, rows in DAYS.items():
        if day == PURGE_DAY:
            shutil.rmtree(lake / "raw" / "web_events" / f"dt={DAY1}")  # retention's purge of day 1
            for again, again_rows in REDELIVERED.items():
                write_partition(lake, "web_events", again, again_rows)
        if day == CHANGED_DAY:
            write_partition(lake, "web_events", LATE_DAY, LATE_AGAIN)
            staged = run_dbt(base, lake, "run", *STAGING, interval=interval(LATE_DAY))
            assert staged.returncode == 0, staged.stdout[-6000:] + staged.stderr[-2000:]
        if day == SEED_DAY:
            con = duckdb.connect(str(build.warehouse))
            try:
                con.execute(BING_AS_SHOP)
            finally:
                con.close()
        write_partition(lake, "web_events", day, rows)
        before = root / f"before-{day}"
        if build.warehouse.exists():
            shutil.copytree(lake, before / "lake")  # the day's partitions already written
            shutil.copyfile(build.warehouse, before / WAREHOUSE_FILE)
        # the first build loads the seeds the mart reads (GA4 source categories), data tests aside
        args = ("build", "--select", "+web_consent_daily", "--exclude-resource-type", "unit_test", "test") \
            if day == DAY1 else ("run", *MODELS)  # fmt: skip
        done = run_dbt(base, lake, *args, interval=interval(day))
        assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
        refreshed = full_refresh_of(build, day, root / f"refresh-{day}")
        out[day] = {"daily": mart_rows(build), "full": mart_rows(refreshed), "before": before, "log": done.stdout}
    return out


@pytest.mark.parametrize(
    "day",
    list(DAYS),
    ids=[
        "first",
        "normal",
        "late_event",
        "only_denied",
        "purged",
        "changed_outside_the_window",
        "undated",
        "seed",
        "after",
    ],
)
def test_each_day_equals_a_full_refresh(days, day):
    assert days[day]["daily"] == days[day]["full"]
    assert days[day]["daily"], "the mart is empty: nothing compared"


def test_the_days_hold_what_the_lake_says(days):
    """The cases above really happened: the late event counted on its own date, the pings alone
    lowered 11-20's consent rate, the purge removed 11-09 and shrank 11-10 to the late event."""
    late = days[LATE_DAY]["daily"]
    assert sum(row[3] for row in late if str(row[0]) == "2026-11-10") == 3  # c-2, c-3 and c-late
    denied = days[DENIED_DAY]["daily"]
    assert [row[3:] for row in denied if (str(row[0]), row[1]) == ("2026-11-20", "/pricing")] == [(1, 1, 1, 1, 0.5)]
    purged = days[PURGE_DAY]["daily"]
    assert "2026-11-09" not in {str(row[0]) for row in purged}
    assert [(row[1], row[3], row[4]) for row in purged if str(row[0]) == "2026-11-10"] == [("/pricing", 1, 0)]
    assert [row[1] for row in purged if str(row[0]) == "2026-11-23"] == ["/pricing/plans"]


def per_date(rows: list[tuple], *dates: str) -> dict[str, list[tuple]]:
    """Page, channel, consented and denied events of each of ``dates``' rows."""
    return {d: [(row[1], row[2], row[3], row[4]) for row in rows if str(row[0]) == d] for d in dates}


def test_the_later_days_hold_what_the_lake_says(days):
    """The later cases really happened (in the full refresh, which the daily build must equal): the
    redelivered partition kept each date's number of events (so no count finds them) but changed their
    channels and consent; the undated events are one row of their own, once, also after the next day
    computed it again; the seed made the old bing rows shopping; the seed change was found by the
    fingerprint and the next day took the daily path again."""
    before = per_date(days[PURGE_DAY]["full"], "2026-11-10", "2026-11-20")
    after = per_date(days[CHANGED_DAY]["full"], "2026-11-10", "2026-11-20")
    assert after == {
        "2026-11-10": [("/pricing", "Organic Search", 1, 0)],
        "2026-11-20": [("/pricing", "Organic Search", 0, 1), ("/pricing", "Paid Search", 0, 1)],
    }, after
    assert after != before
    assert {d: sum(c + n for _, _, c, n in rows) for d, rows in after.items()} == \
        {d: sum(c + n for _, _, c, n in rows) for d, rows in before.items()}  # fmt: skip
    for day in (UNDATED_DAY, SEED_DAY, AFTER_DAY):
        undated = [row[1:] for row in days[day]["full"] if row[0] is None]
        pricing = [row for row in undated if row[0] == "/pricing"]
        assert pricing == [("/pricing", "Direct", 1, 1, 1, 1, 0.5)], (day, undated)
        assert sorted(row[0] for row in undated) == (["/docs", "/pricing"] if day == AFTER_DAY else ["/pricing"])
    assert per_date(days[SEED_DAY]["full"], "2026-11-10")["2026-11-10"] == [("/pricing", "Organic Shopping", 1, 0)]
    fingerprint = "web_consent_daily: settings or seeds changed since the last run (fingerprint)"
    assert fingerprint in days[SEED_DAY]["log"], days[SEED_DAY]["log"][-3000:]
    assert fingerprint not in days[AFTER_DAY]["log"], days[AFTER_DAY]["log"][-3000:]


def test_a_daily_build_recomputes_only_the_dates_it_must(days, tmp_path):
    """A stored row of a date no partition of the window holds, changed by hand (its counts kept, so
    nothing says it differs), is left as it is by the next day's build: the day does not read every date.
    The window's dates are recomputed (the same hand change there is undone)."""
    import duckdb

    before = days[LATE_DAY]["before"]  # the warehouse after the normal day, the lake with the late day's partition
    base = tmp_path / "tampered"
    shutil.copytree(before / "lake", base / "lake")
    shutil.copyfile(before / WAREHOUSE_FILE, base / WAREHOUSE_FILE)
    con = duckdb.connect(str(base / WAREHOUSE_FILE))
    try:
        con.execute(f"update {MART} set consent_rate = 0.123 where event_date between '2026-11-09' and '2026-11-11'")
    finally:
        con.close()
    done = run_dbt(base, base / "lake", "run", *MODELS, interval=interval(LATE_DAY))
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    build = Build(base=base, warehouse=base / WAREHOUSE_FILE, lake=base / "lake", build=done)
    rates = {str(d): r for d, r in build.query(f"select event_date, consent_rate from {MART}")}
    assert rates["2026-11-09"] == 0.123 and rates["2026-11-11"] == 0.123  # outside the window: not read
    # the late event's date is recomputed: the hand change there is gone
    assert build.one(f"select count(*) from {MART} where event_date = '2026-11-10' and consent_rate = 0.123") == (0,)
    assert sorted(days[LATE_DAY]["daily"]) != sorted(build.rows_of(MART))  # the hand change is really kept
