"""Incremental form and email staging (issue #20 item 3, docs/incremental.md): a daily build equals a
full refresh of the same lake, every table of ``staging``, ``intermediate`` and ``marts``, row for row.

The hand-written lake of conftest.py, day 1 and day 2 built once per test run for this file and the
other incremental files (conftest's ``day_one`` and ``day_two``: day 2 built incrementally and
refreshed), copied, then built as the daily build (``incremental``: the models ``--full-refresh``
rebuilds with their parents, ``DAILY``, and their data tests); after each day ``from_scratch`` is
a copy of that warehouse and lake (without test_incremental's garbage partition, which a full refresh
would open) with the models ``--full-refresh`` rebuilds refreshed, as conftest's ``day_two`` and
test_crm_incremental_equal do (every other table or view is rebuilt whole by each daily build from
those models' rows and the lake; the histories, never rebuilt, were equal on day 2; the marts and
histories below them are day 2's on both sides, left out of the daily builds: a copy compares them equal
rebuilt or not):

* ``LATER`` (2026-11-26, whose window of ``lookback_days`` 3 leaves days 1 and 2 out): SendGrid posts
  a copy of an open stored from day 1 (the stored copy stays), an **unsubscribe under the id of an
  open stored from day 1** (numbered after it: ``<id>:unsubscribe``), a new id with two event types
  and a **late** open of October; the form tool re-exports a day-1 submission with another name (the
  day-1 copy stays) and a **late** submission of October;
* a **re-run of the same interval**: nothing changes;
* a **purged partition**: days 2's form and email partitions removed (as retention does), then the
  next day built: their only copies (Alice's form, a delivery) are gone from every table.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from tests.dbt.conftest import (
    DAYS,
    GARBAGE_DAY,
    SITE,
    WITHOUT_TESTS,
    WITHOUT_UNIT_TESTS,
    Build,
    copy_of,
    form,
    kept_state_selection,
    mail,
    rebuilt_by_full_refresh,
    run_dbt,
    unchanged_seeds,
    write_partition,
)

pytestmark = pytest.mark.slow

LATER = datetime(2026, 11, 26)
PURGED_DAY = datetime(2026, 11, 27)
STAGING = ("staging.stg_email__events", "staging.stg_forms__submissions")
# what each day builds (docs/benchmarks.md, "Fewer dbt builds in the incremental-day tests")
DAILY = kept_state_selection()


def build_day(build: Build, day: datetime, *args: str) -> None:
    done = run_dbt(build.base, build.lake, "build", *args, *DAILY, interval=(day, day + timedelta(days=1)))
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]


def later_partitions(lake) -> None:
    day = LATER.date()
    write_partition(lake, "email_events", day, [
        mail("e-erin-3", "2026-11-13 02:00:00", "open", "erin@school.edu"),  # a third copy (day 1 has the first)
        mail("e-erin-1", "2026-11-25 02:00:00", "unsubscribe", "erin@school.edu"),  # the id of a day-1 open
        mail("e-carol-new", "2026-11-25 03:00:00", "open", "carol@shopmart.com"),
        mail("e-carol-new", "2026-11-25 03:01:00", "click", "carol@shopmart.com", url=SITE + "/demo"),
        mail("e-dave-late", "2026-10-01 02:00:00", "open", "dave@bank.com"),  # 55 days late
    ])  # fmt: skip
    write_partition(lake, "forms_submissions", day, [
        # day 1's submission exported again, its name edited since: the first loaded copy stays
        form("f-dave-trial", "2026-11-05 03:00:00", "Free Trial", "dave@bank.com", None, form_tool="hubspot_forms",
             full_name="Dave Wu (edited)"),
        form("f-kim-demo", "2026-10-20 03:00:00", "Request a Demo", "kim@late.example", None, full_name="Kim"),
    ])  # fmt: skip


def purge(lake, day: date) -> None:
    for table in ("email_events", "forms_submissions"):
        shutil.rmtree(lake / "raw" / table / f"dt={day}")


def snapshot(build: Build) -> dict[str, list[tuple]]:
    return build.rows()


def differing(incremental: dict, scratch: dict) -> list[str]:
    assert sorted(incremental) == sorted(scratch)
    assert set(STAGING) <= set(incremental)
    return [table for table in incremental if incremental[table] != scratch[table]]


def refreshed(daily: Build, base: Path, day: datetime, manifest: dict) -> dict:
    """The from-scratch side of ``day`` (the module's doc): a snapshot of a copy of ``daily`` under ``base``
    with the models ``--full-refresh`` rebuilds (conftest's ``rebuilt_by_full_refresh``) refreshed."""
    scratch = copy_of(daily, base)
    shutil.rmtree(scratch.lake / "raw" / "web_events" / f"dt={GARBAGE_DAY}")
    done = run_dbt(scratch.base, scratch.lake, "run", "--full-refresh", "--select",
                   *sorted(rebuilt_by_full_refresh(manifest)), interval=(day, day + timedelta(days=1)))  # fmt: skip
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    return snapshot(scratch)


@pytest.fixture(scope="module")
def worlds(tmp_path_factory, day_two) -> dict[str, dict]:
    root = tmp_path_factory.mktemp("incremental_sources")
    build = copy_of(day_two.side("incremental"), root / "incremental")
    # test_incremental's garbage partition stays in the incremental lake: LATER's window holds no web
    # partition, and a web staging model with an empty window must bind its columns from the newest
    # partition only (macros/incremental.sql, duckdb__lake_window), never open an old file of the lake
    assert (build.lake / "raw" / "web_events" / f"dt={GARBAGE_DAY}").is_dir()
    # the daily build as the DAG's: the unchanged seeds and their tests left out (conftest's unchanged_seeds)
    seeds = unchanged_seeds(day_two.manifest)
    later_partitions(build.lake)
    build_day(build, LATER, *WITHOUT_UNIT_TESTS, *seeds)
    incremental = {"build": build, "later": snapshot(build)}
    scratch = {"later": refreshed(build, root / "from_scratch_later", LATER, day_two.manifest)}
    # the same interval again, without data tests: its tables must equal the first run's, whose build ran
    # them (the same reasoning as conftest's FULL_REFRESH_WITHOUT_TESTS)
    build_day(build, LATER, *WITHOUT_TESTS, *seeds)
    incremental["rerun"] = snapshot(build)
    purge(build.lake, DAYS[1])
    build_day(build, PURGED_DAY, *WITHOUT_UNIT_TESTS, *seeds)
    incremental["purged"] = snapshot(build)
    scratch["purged"] = refreshed(build, root / "from_scratch_purged", PURGED_DAY, day_two.manifest)
    return {"incremental": incremental, "from_scratch": scratch}


def test_a_later_day_equals_a_full_refresh(worlds):
    assert differing(worlds["incremental"]["later"], worlds["from_scratch"]["later"]) == []


def test_a_rerun_of_the_same_interval_changes_nothing(worlds):
    assert differing(worlds["incremental"]["rerun"], worlds["incremental"]["later"]) == []


def test_a_purged_partition_equals_a_full_refresh(worlds):
    assert differing(worlds["incremental"]["purged"], worlds["from_scratch"]["purged"]) == []


def test_copies_and_ids_across_days(worlds):
    build = worlds["incremental"]["build"]
    later = worlds["incremental"]["later"]
    emails = set(build.query("select sg_event_id, sendgrid_event from staging.stg_email__events"))
    assert {("e-erin-1", "open"), ("e-erin-1:unsubscribe", "unsubscribe"), ("e-carol-new", "open"),
            ("e-carol-new:click", "click"), ("e-dave-late", "open"), ("e-erin-3", "open")} <= emails  # fmt: skip
    # the retried open keeps its day-1 copy (the first loaded), not the later one
    assert build.one("select _interval_start from staging.stg_email__events where sg_event_id = 'e-erin-3'") == (
        DAYS[0],
    )
    assert build.one(
        "select full_name, _interval_start from staging.stg_forms__submissions"
        " where submission_key = 'hubspot_forms:f-dave-trial'"
    ) == ("Dave Wu", DAYS[0])
    # the late ones reached the event stream, and the unsubscribe is Erin's event
    late = {row[0] for row in later["intermediate.int_events_unified"]}
    assert {"email:e-dave-late", "email:e-erin-1:unsubscribe", "forms:typeform:f-kim-demo"} <= late


def test_the_purged_partitions_only_copies_are_gone(worlds):
    purged = worlds["incremental"]["purged"]
    assert not [row for row in purged["staging.stg_email__events"] if row[0] == "e-alice-delivered"]
    assert not [row for row in purged["staging.stg_forms__submissions"] if row[4] == "免费试用申请"]
    # before the purge both were there (Alice's form: the jinshuju trial of day 2; the comparison above is not
    # of two empty sets)
    later = worlds["incremental"]["later"]
    assert [row for row in later["staging.stg_email__events"] if row[0] == "e-alice-delivered"]
    assert [row for row in later["staging.stg_forms__submissions"] if row[4] == "免费试用申请"]
