"""The incremental CRM staging (issue #20 item 3, docs/incremental.md, "CRM staging"): a daily build of
the CRM versions and current-state models, and of ``int_events_unified``'s CRM events per changed
record, equals a full refresh of every model row for row.

The hand-written lake of conftest.py, day 1 and day 2 built once per test run (conftest's ``day_two``:
Carol's lead re-exported with a newer title, her opportunity won and her order placed on day 2). Then
day 3 (2026-11-26, a window of 2026-11-23 to -26 that leaves days 1 and 2 out) on a copy of day 2's
daily side, built as the daily build runs it, with:

* **a record re-exported with a change**: Carol's order again, with another amount (its event's amount
  changes);
* **the partition of a record's latest version purged**: day 2's opportunity and activity partitions
  removed from the lake (as retention removes a partition): Carol's opportunity is back to its day-1
  version (Proposal, not won: her won event goes), her first call back to its day-1 subject, and her
  meeting, only ever in day 2's export, is gone (a record deleted);
* **a late export of an old day**: a partition of 2026-11-24 (inside the lookback, older than the day)
  with Dave's lead, whose Last Modified Date is later than the one of his day-3 export (the lead's own
  change time wins over the export: macros/versions.sql), and his opportunity at Proposal, won in the
  day-3 export;
* **an erased record**: Alice (her CRM lead of day 1, outside the window) erased from every lake
  partition and every table, as ``intent_pipeline.privacy.erase`` does it;
* Carol's lead, stored from day 2 and in no partition of the window: not computed again.

The from-scratch side is a copy of that warehouse and lake with every model rebuilt by ``dbt run
--full-refresh`` (the one extra build): every table of ``staging``, ``intermediate`` and ``marts`` (the
kept tables among them) must be equal. Then a change of the currency rule (``--vars``) on copies: the
daily run of the CRM staging and ``int_events_unified`` computes every event again and equals a
``--full-refresh`` of the same models with the same vars.
"""

from __future__ import annotations

import re
import shutil
from datetime import date, datetime, timedelta

import pytest
from intent_pipeline.privacy.erase import warehouse_rows

from tests.dbt.conftest import DAYS, GARBAGE_DAY, WITHOUT_UNIT_TESTS, Build, copy_of, run_dbt, ts, write_partition
from tests.dbt.test_incremental_identity import erase_from_lake

pytestmark = pytest.mark.slow

DAY3 = datetime(2026, 11, 26)
LATE_DAY = date(2026, 11, 24)  # inside day 3's lookback, before its own day
INTERVAL = (DAY3, DAY3 + timedelta(days=1))
CURRENT = ("stg_crm__leads", "stg_crm__opportunities", "stg_crm__orders", "stg_crm__activities")
VERSIONS = ("stg_crm__lead_versions", "stg_crm__opportunity_versions", "stg_crm__order_versions",
            "stg_crm__activity_versions")  # fmt: skip
CRM_MODELS = tuple(f"staging.{model}" for model in (*VERSIONS, *CURRENT))
EVENTS = ("intermediate.int_events_unified", "intermediate.int_events_unified__crm",
          "intermediate.int_events_unified__nodes", "intermediate.int_events_unified__fingerprint")  # fmt: skip
TOUCHED = re.compile(r"(stg_crm__\w+): (\d+) records computed again \(.*?\); (\d+) stored")
CRM_EVENTS = re.compile(r"int_events_unified: .*; (\d+) CRM records computed again")
DAVE_LEAD = {"lead_id": "00Qdave", "email": "dave@bank.com", "full_name": "Dave Wu", "company": "Harbor Bank",
             "owner": "Emily Chen", "lead_source": "Web", "created_at": ts("2026-11-06 02:00:00")}  # fmt: skip
# no currency: the account's own (var default_currency), so the currency rule changes its events
DAVE_OPPORTUNITY = {"opportunity_id": "006dave", "lead_id": "00Qdave", "opportunity_name": "Harbor Bank - CDP",
                    "currency": None, "amount": 80000.0, "created_at": ts("2026-11-08 06:00:00")}  # fmt: skip


def day3_lake(lake) -> None:
    """Day 3's CRM partitions, the late one of 2026-11-24, and day 2's purged opportunity and activity exports."""
    for table in ("crm_opportunities", "crm_activities"):
        shutil.rmtree(lake / "raw" / table / f"dt={DAYS[1]}")
    write_partition(lake, "crm_leads", LATE_DAY, [
        {**DAVE_LEAD, "status": "Converted", "updated_at": ts("2026-11-24 09:00:00")}])  # fmt: skip
    write_partition(lake, "crm_opportunities", LATE_DAY, [
        {**DAVE_OPPORTUNITY, "stage": "Proposal", "is_closed": False, "is_won": False}])  # fmt: skip
    day = DAY3.date()
    # the day-3 export of Dave's lead is an older state than the late partition's (by Last Modified Date)
    write_partition(lake, "crm_leads", day, [
        {**DAVE_LEAD, "status": "Working", "updated_at": ts("2026-11-22 01:00:00")}])  # fmt: skip
    write_partition(lake, "crm_opportunities", day, [
        {**DAVE_OPPORTUNITY, "stage": "Closed Won", "is_closed": True, "is_won": True,
         "closed_at": ts("2026-11-22 05:00:00")}])  # fmt: skip
    write_partition(lake, "crm_orders", day, [
        {"order_id": "801carol", "lead_id": "00Qcarol", "email": "carol@shopmart.com", "currency": "CNY",
         "amount": 165000.0, "ordered_at": ts("2026-11-21 02:00:00")}])  # fmt: skip
    write_partition(lake, "crm_activities", day, [])


def alice_values(build: Build) -> set[str]:
    """Alice's person id and every identifier of her person, as erase.resolve finds them."""
    (person_id,) = build.one(
        "select person_id from intermediate.int_people_resolved where node_key = 'crm_lead:00Qalice'"
    )
    nodes = build.query("select node_key from intermediate.int_people_resolved where person_id = ?", person_id)
    return {person_id.lower()} | {key.split(":", 1)[1].lower() for (key,) in nodes}


def snapshot(build: Build) -> dict[str, list[tuple]]:
    return {table: build.rows_of(table) for table in build.tables()}


@pytest.fixture(scope="module")
def worlds(tmp_path_factory, day_two) -> dict:
    root = tmp_path_factory.mktemp("crm_incremental")
    daily = copy_of(day_two.side("incremental"), root / "incremental")
    # test_incremental's garbage partition: the full refresh below reads every partition
    shutil.rmtree(daily.lake / "raw" / "web_events" / f"dt={GARBAGE_DAY}")
    day3_lake(daily.lake)
    erased = alice_values(daily)
    lake_rows = erase_from_lake(daily.lake, erased)
    deleted = warehouse_rows(daily.warehouse, erased, apply=True)
    done = run_dbt(daily.base, daily.lake, "build", *WITHOUT_UNIT_TESTS, interval=INTERVAL)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    scratch = copy_of(daily, root / "from_scratch")
    refreshed = run_dbt(scratch.base, scratch.lake, "run", "--full-refresh", interval=INTERVAL)
    assert refreshed.returncode == 0, refreshed.stdout[-6000:] + refreshed.stderr[-2000:]
    return {"daily": daily, "scratch": scratch, "erased": erased, "lake_rows": lake_rows, "deleted": deleted,
            "log": done.stdout, "refresh_log": refreshed.stdout, "day3": snapshot(daily),
            "full": snapshot(scratch)}  # fmt: skip


def test_day_two_built_daily_equals_its_full_refresh(day_two):
    daily, refreshed = day_two.side("incremental"), day_two.side("from_scratch")
    for table in (*CRM_MODELS, *EVENTS):
        rows = daily.rows_of(table)
        assert rows, f"{table} is empty: nothing was compared"
        assert rows == refreshed.rows_of(table), table
    # day 2's re-export of Carol's lead (a later Last Modified Date) is her current lead
    assert daily.one("select job_title from staging.stg_crm__leads where lead_id = '00Qcarol'") == ("VP Sales",)


def test_day_three_built_daily_equals_a_full_refresh(worlds):
    day3, full = worlds["day3"], worlds["full"]
    assert sorted(day3) == sorted(full)
    assert set(CRM_MODELS + EVENTS) <= set(day3)
    assert all(day3[table] for table in CRM_MODELS + EVENTS), "a compared table is empty"
    assert [table for table in day3 if day3[table] != full[table]] == []


def test_the_daily_run_took_the_incremental_path(worlds):
    log = worlds["log"]
    touched = {model: (int(again), int(stored)) for model, again, stored in TOUCHED.findall(log)}
    # Dave's lead (the window's partitions) only: Carol's lead is stored from day 2, outside the window
    assert touched == {
        "stg_crm__leads": (1, 2),
        "stg_crm__opportunities": (2, 2),  # Carol's (its day-2 version purged) and Dave's
        "stg_crm__orders": (1, 1),  # Carol's, re-exported
        "stg_crm__activities": (2, 1),  # Carol's call (day 2 purged) and meeting (gone)
    }, log[-4000:]
    events = CRM_EVENTS.search(log)
    assert events and int(events[1]) == 3, log[-4000:]  # Carol's opportunity and order, Dave's opportunity
    assert "records computed again" not in worlds["refresh_log"]
    assert "CRM records computed again" not in worlds["refresh_log"]


def test_a_purged_latest_version_gives_the_one_before_it(worlds):
    daily = worlds["daily"]
    stage = daily.one("select stage, is_won from staging.stg_crm__opportunities where opportunity_id = '006carol'")
    assert stage == ("Proposal", False)
    subjects = dict(daily.query("select activity_id, subject from staging.stg_crm__activities"))
    assert subjects == {"00Tcarol1": "Intro call"}, subjects
    events = dict(daily.query("select event_id, amount from intermediate.int_events_unified where source = 'crm'"))
    assert "crm:006carol:won" not in events and "crm:006carol:created" in events, events
    # a record re-exported with a change, and a late export's version that wins by its own change time
    assert events["crm:801carol:order"] == 165000.0
    assert "crm:006dave:won" in events
    assert daily.one("select status from staging.stg_crm__leads where lead_id = '00Qdave'") == ("Converted",)
    assert daily.one("select job_title from staging.stg_crm__leads where lead_id = '00Qcarol'") == ("VP Sales",)


def test_an_erased_record_is_in_no_crm_table(worlds):
    assert worlds["lake_rows"] > 0 and "staging.stg_crm__leads" in worlds["deleted"], worlds["deleted"]
    erased = worlds["erased"]
    for table in (*CRM_MODELS, *EVENTS):
        text = repr(worlds["day3"][table]).lower()
        assert not any(f"'{value}'" in text for value in erased), table


def test_changed_settings_recompute_every_event(worlds, tmp_path):
    # the CRM staging reads no seed or var; int_events_unified's currency rule is in its fingerprint
    settings = ("--vars", "{default_currency: USD}")
    models = ("--select", *CURRENT, "int_events_unified")
    daily, scratch = copy_of(worlds["daily"], tmp_path / "daily"), copy_of(worlds["daily"], tmp_path / "scratch")
    done = run_dbt(daily.base, daily.lake, "run", *models, *settings, interval=INTERVAL)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "int_events_unified: settings or seeds changed since the last run (fingerprint)" in done.stdout
    refreshed = run_dbt(scratch.base, scratch.lake, "run", "--full-refresh", *models, *settings, interval=INTERVAL)
    assert refreshed.returncode == 0, refreshed.stdout[-6000:] + refreshed.stderr[-2000:]
    for table in (*CRM_MODELS, *EVENTS):
        assert daily.rows_of(table) == scratch.rows_of(table), table
    assert daily.rows_of("intermediate.int_events_unified") != worlds["day3"]["intermediate.int_events_unified"]
