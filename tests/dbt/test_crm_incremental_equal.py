"""The incremental CRM staging (issue #20 item 3, docs/incremental.md, "CRM staging"): a daily build of
the CRM versions and current-state models, and of ``int_events_unified``'s CRM events per changed
record, equals a full refresh of every model row for row.

The hand-written lake of conftest.py, day 1 and day 2 built once per test run (conftest's ``day_two``:
Carol's lead re-exported with a newer title, her opportunity won and her order placed on day 2). Then
day 3 (2026-11-26, a window of 2026-11-23 to -26 that leaves days 1 and 2 out) on a copy of day 2's
daily side, its models run as the daily build runs them (``dbt run``: the data tests write no table; the
models ``--full-refresh`` rebuilds with their parents, ``DAILY``), with:

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

Then day 4 (2026-11-27) through the real CRM extract (landing CSVs, ``extract_source``), hostile exports
(the review of 6 December, docs/incremental.md "CRM staging"):

* **ids that are the same record**: Carol's lead with its id typed full-width (``００Ｑｃａｒｏｌ``), Dave's
  with a zero-width space before it and again with spaces around it; and ``00QDAVE``, which differs
  by case alone, a lead of its own (Salesforce's ids are case-sensitive);
* **rows without an id**: empty, a zero-width space alone, an ideographic space alone: quarantined at
  extract with ``empty required field 'lead_id'``, ``read = loaded + quarantined``;
* **a BOM and a header row repeated** inside the file (two exports joined, the second with its BOM):
  quarantined as a repeated header;
* **two versions of one record that tie**: Dave's two lead rows share their Last Modified Date, his
  two opportunity rows have no change time; the row's content decides (macro latest_version), not
  its place in the file;
* **day 4 delivered again in another row order** (reversed, the header repeated elsewhere), extracted
  again and its interval run again: no current state changes.

The from-scratch side is a copy of that warehouse and lake with the models ``--full-refresh`` rebuilds
(the incremental ones, conftest's ``rebuilt_by_full_refresh``) rebuilt by ``dbt run --full-refresh``
(the one extra build; the tables and views built from them are rebuilt whole by every daily run, as
``day_two``'s refresh assumes): every table of ``staging``, ``intermediate`` and ``marts`` (the kept
tables among them) must be equal (the marts and histories below those models are day 2's on both
sides: the daily runs leave them out, and a copy would compare them equal rebuilt or not). Then a
change of the currency rule (``--vars``) on copies: the
daily run of the CRM staging and ``int_events_unified`` computes every event again and equals a
``--full-refresh`` of the same models with the same vars.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from intent_pipeline.privacy.erase import warehouse_rows

from tests.dbt.conftest import (
    CHANGED_SETTINGS,
    DAYS,
    GARBAGE_DAY,
    Build,
    copy_of,
    kept_state_selection,
    rebuilt_by_full_refresh,
    run_dbt,
    ts,
    write_partition,
)
from tests.dbt.test_incremental_identity import erase_from_lake

pytestmark = pytest.mark.slow

DAY3 = datetime(2026, 11, 26)
LATE_DAY = date(2026, 11, 24)  # inside day 3's lookback, before its own day
INTERVAL = (DAY3, DAY3 + timedelta(days=1))
DAY4 = datetime(2026, 11, 27)
INTERVAL4 = (DAY4, DAY4 + timedelta(days=1))
CURRENT = ("stg_crm__leads", "stg_crm__opportunities", "stg_crm__orders", "stg_crm__activities")
VERSIONS = ("stg_crm__lead_versions", "stg_crm__opportunity_versions", "stg_crm__order_versions",
            "stg_crm__activity_versions")  # fmt: skip
CRM_MODELS = tuple(f"staging.{model}" for model in (*VERSIONS, *CURRENT))
EVENTS = ("intermediate.int_events_unified", "intermediate.int_events_unified__crm",
          "intermediate.int_events_unified__nodes", "intermediate.int_events_unified__fingerprint")  # fmt: skip
TOUCHED = re.compile(r"(stg_crm__\w+): (\d+) records computed again \(.*?\); (\d+) stored")
CRM_EVENTS = re.compile(r"int_events_unified: .*; (\d+) CRM records computed again")
# the daily runs: the models --full-refresh rebuilds (the CRM staging and int_events_unified among them)
# with their parents, what every test here reads (docs/benchmarks.md, "Fewer dbt builds in the
# incremental-day tests")
DAILY = ("run", *kept_state_selection())
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


# fmt: off
LEADS_HEADER = ["Lead ID", "Email", "Phone", "Name", "Company", "Owner", "Status", "Title", "Created Date",
                "Last Modified Date"]  # fmt: skip
OPPORTUNITIES_HEADER = ["Opportunity ID", "Lead ID", "Opportunity Name", "Stage", "Amount", "Currency",
                        "Created Date", "Close Date"]  # fmt: skip
# day 4's lead export (times in the CRM's zone, Asia/Shanghai): ids that name one record, rows without one
DAY4_LEADS = [
    ["００Ｑｃａｒｏｌ", "carol@shopmart.com", "", "Carol Zhang", "Shopmart", "Emily Chen", "Converted", "CMO",
     "2026-11-01 10:00:00", "2026-11-27 09:00:00"],  # Carol's id typed full-width: her new version
    ["\u200b00Qdave", "dave@bank.com", "", "Dave Wu", "Harbor Bank", "Emily Chen", "Converted", "CTO",
     "2026-11-06 10:00:00", "2026-11-27 10:00:00"],  # a zero-width space before the id (a copy from a page)
    [" 00Qdave ", "dave@bank.com", "", "Dave Wu", "Harbor Bank", "Li Na", "Qualified", "CTO",
     "2026-11-06 10:00:00", "2026-11-27 10:00:00"],  # the same lead, same Last Modified Date: a tie
    ["00QDAVE", "dwu@harbor-bank.cn", "", "Dave Wu", "Harbor Bank", "Li Na", "New", "",
     "2026-11-27 08:00:00", "2026-11-27 08:00:00"],  # differs by case alone: a lead of its own
    ["", "nobody@a.cn", "", "No Id", "Acme", "Li Na", "New", "", "2026-11-27 08:00:00", "2026-11-27 08:00:00"],
    ["\u200b", "zw@a.cn", "", "Zero Width", "Acme", "Li Na", "New", "", "2026-11-27 08:00:00",
     "2026-11-27 08:00:00"],  # fmt: skip
    ["\u3000", "ideo@a.cn", "", "Ideographic Space", "Acme", "Li Na", "New", "", "2026-11-27 08:00:00",
     "2026-11-27 08:00:00"],  # fmt: skip
]
DAY4_OPPORTUNITIES = [  # no change time in this export: Dave's two rows tie
    ["006dave", "00Qdave", "Harbor Bank - CDP", "Closed Won", "80000", "", "2026-11-08 14:00:00",
     "2026-11-22 13:00:00"],  # fmt: skip
    ["００６ｄａｖｅ", "00Qdave", "Harbor Bank - CDP", "Closed Won", "85000", "", "2026-11-08 14:00:00",
     "2026-11-22 13:00:00"],  # fmt: skip
]
# fmt: on
ID_LESS = 3  # the rows of DAY4_LEADS without an id
CURRENT_STATE = {  # the current-state columns, lineage aside: what a re-delivery must not change
    "stg_crm__leads": "select * exclude (_source_file, _row_number, _loaded_at, _batch_id) from staging.stg_crm__leads",
    "stg_crm__opportunities": "select * exclude (_source_file, _row_number, _loaded_at, _batch_id)"
    " from staging.stg_crm__opportunities",
}


def export(header: list[str], rows: list[list[str]], header_at: int) -> bytes:
    """A CSV as Excel's "CSV UTF-8" writes it (BOM, CRLF), joined with a second export after ``header_at``
    rows: its header row again, with its own BOM."""
    out = io.StringIO()
    bom_header = ["\ufeff" + header[0], *header[1:]]
    csv.writer(out, lineterminator="\r\n").writerows([header, *rows[:header_at], bom_header, *rows[header_at:]])
    return out.getvalue().encode("utf-8-sig")


def extract_day4(build: Build, order: int, loaded_at: datetime) -> dict:
    """Day 4's CRM exports dropped into the landing folder of ``build`` (rows in file order when ``order``
    is 1, reversed when -1) and extracted by the real CRM extract; its manifest."""
    from intent_pipeline.settings import Settings
    from intent_pipeline.sources import extract_source

    settings = Settings.from_env({"INTENT_HOME": str(build.base), "INTENT_LAKE_DIR": str(build.lake),
                                  "INTENT_SOURCE_TIMEZONE": "Asia/Shanghai"})  # fmt: skip
    landing = Path(settings.landing_for("crm", DAY4.date().isoformat()))
    shutil.rmtree(landing, ignore_errors=True)  # the first delivery's files are replaced, as a re-export does
    landing.mkdir(parents=True)
    (landing / "leads.csv").write_bytes(export(LEADS_HEADER, DAY4_LEADS[::order], header_at=2 if order == 1 else 5))
    (landing / "opportunities.csv").write_bytes(export(OPPORTUNITIES_HEADER, DAY4_OPPORTUNITIES[::order], 1))
    return extract_source("crm", settings, DAY4.date(), batch_id=f"crm/{DAY4.date()}/{order}", loaded_at=loaded_at)


def current_state(build: Build) -> dict[str, list[tuple]]:
    return {model: sorted(build.query(sql), key=repr) for model, sql in CURRENT_STATE.items()}


def alice_values(build: Build) -> set[str]:
    """Alice's person id and every identifier of her person, as erase.resolve finds them."""
    (person_id,) = build.one(
        "select person_id from intermediate.int_people_resolved where node_key = 'crm_lead:00Qalice'"
    )
    nodes = build.query("select node_key from intermediate.int_people_resolved where person_id = ?", person_id)
    return {person_id.lower()} | {key.split(":", 1)[1].lower() for (key,) in nodes}


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
    # the daily run of the models: the seeds are day 2's, unchanged (the DAG's build leaves them out), and
    # the data tests write no table (day 2's build ran them over the same models: conftest's day_two)
    done = run_dbt(daily.base, daily.lake, *DAILY, interval=INTERVAL)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    day3 = daily.rows()
    day3_state = {  # fmt: skip
        "opportunity": daily.one(
            "select stage, is_won from staging.stg_crm__opportunities where opportunity_id = '006carol'"),
        "subjects": dict(daily.query("select activity_id, subject from staging.stg_crm__activities")),
        "events": dict(daily.query(
            "select event_id, amount from intermediate.int_events_unified where source = 'crm'")),
        "leads": {lead: (status, title) for lead, status, title in daily.query(
            "select lead_id, status, job_title from staging.stg_crm__leads")},  # fmt: skip
    }
    # day 4: hostile exports through the real extract, a daily run; then delivered again in another order
    manifests = [extract_day4(daily, 1, DAY4 + timedelta(days=1, hours=1))]
    day4 = run_dbt(daily.base, daily.lake, *DAILY, interval=INTERVAL4)
    assert day4.returncode == 0, day4.stdout[-6000:] + day4.stderr[-2000:]
    states = [current_state(daily)]
    manifests.append(extract_day4(daily, -1, DAY4 + timedelta(days=1, hours=9)))
    again = run_dbt(daily.base, daily.lake, *DAILY, interval=INTERVAL4)
    assert again.returncode == 0, again.stdout[-6000:] + again.stderr[-2000:]
    states.append(current_state(daily))
    # the from-scratch side refreshes what --full-refresh rebuilds (the incremental models, as day_two's
    # does): every other table or view is rebuilt whole by each daily run from those models' rows and
    # the lake, both compared or the same on the two sides
    scratch = copy_of(daily, root / "from_scratch")
    refreshed = run_dbt(scratch.base, scratch.lake, "run", "--full-refresh", "--select",
                        *sorted(rebuilt_by_full_refresh(day_two.manifest)), interval=INTERVAL4)  # fmt: skip
    assert refreshed.returncode == 0, refreshed.stdout[-6000:] + refreshed.stderr[-2000:]
    return {"daily": daily, "scratch": scratch, "erased": erased, "lake_rows": lake_rows, "deleted": deleted,
            "log": done.stdout, "refresh_log": refreshed.stdout, "day3": day3, "day3_state": day3_state,
            "manifests": manifests,
            "states": states, "day4_log": day4.stdout, "final": daily.rows(), "full": scratch.rows()}  # fmt: skip


def test_day_two_built_daily_equals_its_full_refresh(day_two):
    daily, refreshed = day_two.side("incremental"), day_two.side("from_scratch")
    mine, theirs = daily.rows(*CRM_MODELS, *EVENTS), refreshed.rows(*CRM_MODELS, *EVENTS)
    for table in (*CRM_MODELS, *EVENTS):
        assert mine[table], f"{table} is empty: nothing was compared"
        assert mine[table] == theirs[table], table
    # day 2's re-export of Carol's lead (a later Last Modified Date) is her current lead
    assert daily.one("select job_title from staging.stg_crm__leads where lead_id = '00Qcarol'") == ("VP Sales",)


def test_days_three_and_four_built_daily_equal_a_full_refresh(worlds):
    final, full = worlds["final"], worlds["full"]
    assert sorted(final) == sorted(full)
    assert set(CRM_MODELS + EVENTS) <= set(final)
    assert all(final[table] for table in CRM_MODELS + EVENTS), "a compared table is empty"
    assert [table for table in final if final[table] != full[table]] == []


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
    day3 = worlds["day3_state"]  # as day 3's daily run left them
    assert day3["opportunity"] == ("Proposal", False)
    assert day3["subjects"] == {"00Tcarol1": "Intro call"}, day3["subjects"]
    events = day3["events"]
    assert "crm:006carol:won" not in events and "crm:006carol:created" in events, events
    # a record re-exported with a change, and a late export's version that wins by its own change time
    assert events["crm:801carol:order"] == 165000.0
    assert "crm:006dave:won" in events
    assert day3["leads"]["00Qdave"][0] == "Converted"
    assert day3["leads"]["00Qcarol"][1] == "VP Sales"


def test_an_erased_record_is_in_no_crm_table(worlds):
    assert worlds["lake_rows"] > 0 and "staging.stg_crm__leads" in worlds["deleted"], worlds["deleted"]
    erased = worlds["erased"]
    for table in (*CRM_MODELS, *EVENTS):
        text = repr(worlds["day3"][table]).lower() + repr(worlds["final"][table]).lower()
        assert not any(f"'{value}'" in text for value in erased), table


def test_hostile_crm_rows_are_counted_and_id_less_ones_quarantined(worlds):
    for manifest in worlds["manifests"]:
        tables = manifest["tables"]
        assert tables["crm_leads"] == {"read": len(DAY4_LEADS) + 1, "loaded": len(DAY4_LEADS) - ID_LESS,
                                       "quarantined": ID_LESS + 1}, tables  # fmt: skip
        assert tables["crm_opportunities"] == {"read": 3, "loaded": 2, "quarantined": 1}, tables
    from intent_pipeline import lake

    reasons = sorted(row["reason"] for row in lake.read_partition(
        worlds["daily"].lake, "quarantine", "crm_leads", DAY4.date()).to_pylist())  # fmt: skip
    repeated = "the header row repeated as a data row (two exports joined into one file?)"
    assert reasons == [*["empty required field 'lead_id' (Lead ID)"] * ID_LESS, repeated], reasons


def test_ids_of_one_record_are_one_and_case_keeps_two(worlds):
    daily = worlds["daily"]
    day4 = daily.query(
        "select lead_id, count(*) from staging.stg_crm__lead_versions where _interval_start = ? group by 1 order by 1",
        DAY4.date(),
    )
    assert day4 == [("00QDAVE", 1), ("00Qcarol", 1), ("00Qdave", 1)], day4
    ids = [lead_id for (lead_id,) in daily.query("select lead_id from staging.stg_crm__leads")]
    assert len(ids) == len(set(ids)) and all(re.fullmatch(r"[0-9A-Za-z]+", lead_id) for lead_id in ids), ids
    assert daily.one("select job_title from staging.stg_crm__leads where lead_id = '00Qcarol'") == ("CMO",)
    opportunities = daily.query("select opportunity_id, count(*) from staging.stg_crm__opportunity_versions"
                                " where _interval_start = ? group by 1", DAY4.date())  # fmt: skip
    assert opportunities == [("006dave", 1)], opportunities


def test_a_redelivery_in_another_row_order_keeps_the_current_state(worlds):
    first, again = worlds["states"]
    # the tie was real: Dave's two rows of one Last Modified Date and his two opportunity rows differ
    assert {row[0] for row in first["stg_crm__leads"]} >= {"00Qdave", "00QDAVE", "00Qcarol"}
    assert first == again
    daily = worlds["daily"]
    # the lineage says the re-delivered file was read: the rows moved
    batches = daily.query("select distinct _batch_id from staging.stg_crm__lead_versions where _interval_start = ?",
                          DAY4.date())  # fmt: skip
    assert batches == [(f"crm/{DAY4.date()}/-1",)], batches


def test_changed_settings_recompute_every_event(worlds, tmp_path):
    # the CRM staging reads no seed or var; int_events_unified's currency rule (var default_currency) is
    # in its fingerprint, the journeys' lookback (also in CHANGED_SETTINGS, the events file's) is not
    settings = CHANGED_SETTINGS
    models = ("--select", *CURRENT, "int_events_unified")
    daily, scratch = copy_of(worlds["daily"], tmp_path / "daily"), copy_of(worlds["daily"], tmp_path / "scratch")
    done = run_dbt(daily.base, daily.lake, "run", *models, *settings, interval=INTERVAL4)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "int_events_unified: settings or seeds changed since the last run (fingerprint)" in done.stdout
    refreshed = run_dbt(scratch.base, scratch.lake, "run", "--full-refresh", *models, *settings, interval=INTERVAL4)
    assert refreshed.returncode == 0, refreshed.stdout[-6000:] + refreshed.stderr[-2000:]
    mine, theirs = daily.rows(*CRM_MODELS, *EVENTS), scratch.rows(*CRM_MODELS, *EVENTS)
    for table in (*CRM_MODELS, *EVENTS):
        assert mine[table] == theirs[table], table
    assert mine["intermediate.int_events_unified"] != worlds["final"]["intermediate.int_events_unified"]
