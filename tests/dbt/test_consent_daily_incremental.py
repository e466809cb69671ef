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
}
# delivered again with the purge day (inside its window, as GA4 rewrites a day's export): the same number
# of events, one of them on another page, so only reading the window's dates finds the change
REDELIVERED = {DENIED_DAY: [ping("p-3", "2026-11-23 07:00:00", "/pricing/plans"), DAYS[DENIED_DAY][1]]}


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
    refresh of the same lake, and a copy of the incremental warehouse as it was before the day."""
    root = tmp_path_factory.mktemp("consent_daily")
    base, lake = root / "incremental", root / "incremental" / "lake"
    build = Build(base=base, warehouse=base / WAREHOUSE_FILE, lake=lake, build=None)  # type: ignore[arg-type]
    out: dict[date, dict] = {}
    for day, rows in DAYS.items():
        if day == PURGE_DAY:
            shutil.rmtree(lake / "raw" / "web_events" / f"dt={DAY1}")  # retention's purge of day 1
            for again, again_rows in REDELIVERED.items():
                write_partition(lake, "web_events", again, again_rows)
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
        out[day] = {"daily": mart_rows(build), "full": mart_rows(refreshed), "before": before}
    return out


@pytest.mark.parametrize("day", list(DAYS), ids=["first", "normal", "late_event", "only_denied", "purged"])
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
