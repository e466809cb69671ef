"""The incremental event stream and journeys (issue #20 item 3, docs/incremental.md, "Events and
journeys"): a daily build of ``int_events_unified`` (form and email events per changed record and per
node that changed person) and ``int_attribution_journeys`` (per person whose touches or conversions
changed) equals a full computation of both, and the marts after them, row for row.

The hand-written lake of conftest.py, day 1 and day 2 built once per test run (conftest's ``day_two``:
Carol's opportunity is won on day 2, a conversion whose journey starts with her form of day 1; the
refreshed side recomputed every incremental model, these two among them). Then day 3 (2026-11-26, a
window that leaves days 1 and 2 out) on a copy of day 2's daily side, built as the daily build runs it:

* **a late touch for an old person**: a page view of ``carol.device`` a week late (a new session in
  the lookback of her day-2 conversion) and an email click of Dave's two weeks late;
* **an identity merge**: ``bob.device`` (a person of its own since day 1) submits a form with Carol's
  email, two forms give Henry's and Dave's mailboxes one phone, and a third gives Dave's mailbox Carol's
  phone (both have stored email events): stored page views, forms and email events of day 1 change person;
* **a conversion on day 3 whose journey starts on day 1**: Dave's lead and his opportunity, won on day
  3; his form of day 1 and the late click are in its journey;
* **an erasure** before the build: Erin removed from every lake partition and every table (as
  ``intent_pipeline.privacy.erase`` does it).

The from-scratch side is a copy of that warehouse and lake with ``int_events_unified``,
``int_touchpoints``, ``int_attribution_journeys`` and every model after the journeys (the attribution
marts) rebuilt by ``dbt run --full-refresh``: one extra build of those models only (their inputs,
staging and identity, are compared with their own full refresh by test_incremental_sources and
test_identity_incremental_equal).
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from intent_pipeline.privacy.erase import warehouse_rows

from tests.dbt.conftest import (
    CHANGED_SETTINGS,
    GARBAGE_DAY,
    SITE,
    WITHOUT_UNIT_TESTS,
    Build,
    copy_of,
    form,
    mail,
    page_view,
    run_dbt,
    ts,
    unchanged_seeds,
    write_partition,
)
from tests.dbt.test_incremental_identity import erase_from_lake, erin_values, person_of

pytestmark = pytest.mark.slow

# day 3's window (lookback_days 3: 2026-11-23 to -26) leaves days 1 and 2 out, so that the stored events of
# those days are computed again only for a reason of their own (a node that changed person)
DAY3 = datetime(2026, 11, 26)
EVENTS = ("intermediate.int_events_unified", "intermediate.int_attribution_journeys")
KEPT = ("intermediate.int_events_unified__nodes", "intermediate.int_events_unified__fingerprint",
        "intermediate.int_attribution_journeys__inputs",
        "intermediate.int_attribution_journeys__fingerprint")  # fmt: skip
AFTER = ("intermediate.int_touchpoints", "marts.attribution_touch_credits", "marts.attribution_conversion_credits",
         "marts.channel_attribution", "marts.channel_attribution_monthly")  # fmt: skip
REFRESHED = ("int_events_unified", "int_touchpoints", "int_attribution_journeys+")
# every model that keeps state from run to run under a fingerprint of its settings and seeds, and decides
# once a run whether that state is usable (macro kept_state_decide, docs/incremental.md)
FOLDED = ("int_identity_record_identifiers", "int_identity_record_standardisation", "int_identity_match_evidence",
          "int_events_unified", "int_attribution_journeys")  # fmt: skip


def day3_partitions(lake) -> None:
    day = DAY3.date()
    write_partition(lake, "forms_submissions", day, [
        # bob.device, a person of its own, gives Carol's email: a merge across days (web)
        form("f-carol-demo", "2026-11-22 03:00:00", "Request a Demo", "carol@shopmart.com", None,
             full_name="Carol Lin", company="Shopmart", client_id="bob.device", consent="1"),
        # Henry's and Dave's mailboxes on one phone: a merge of two people with stored forms and email
        form("f-henry-call", "2026-11-22 04:00:00", "Contact Us", "henry@old.cn", "+8613300001111"),
        form("f-dave-call", "2026-11-22 04:30:00", "Contact Us", "dave@bank.com", "+8613300001111"),
        # ... and Dave's mailbox typed with Carol's phone: Dave (e-dave-unsub) and Carol (e-carol-click) both have
        # stored email events of day 1, so whichever id the merge keeps, stored email events change person
        form("f-dave-carol-phone", "2026-11-22 05:00:00", "Contact Us", "dave@bank.com", "+8615011112222"),
    ])  # fmt: skip
    write_partition(lake, "web_events", day, [
        page_view("w-carol-late", "carol.device", "2026-11-15 09:00:00", "/pricing", 11, 45_000),  # a week late
        page_view("w-bob-demo", "bob.device", "2026-11-22 02:55:00", "/demo", 12, 20_000),
    ])  # fmt: skip
    write_partition(lake, "email_events", day, [
        mail("e-dave-click", "2026-11-07 02:00:00", "click", "dave@bank.com", url=SITE + "/pricing"),  # 15 days late
    ])  # fmt: skip
    write_partition(lake, "crm_leads", day, [
        {"lead_id": "00Qdave", "email": "dave@bank.com", "full_name": "Dave Wu", "company": "Harbor Bank",
         "owner": "Emily Chen", "status": "Working", "lead_source": "Web", "created_at": ts("2026-11-06 02:00:00"),
         "updated_at": ts("2026-11-22 01:00:00")},
    ])  # fmt: skip
    write_partition(lake, "crm_opportunities", day, [
        {"opportunity_id": "006dave", "lead_id": "00Qdave", "opportunity_name": "Harbor Bank - CDP",
         "currency": "CNY", "amount": 80000.0, "created_at": ts("2026-11-08 06:00:00"), "stage": "Closed Won",
         "is_closed": True, "is_won": True, "closed_at": ts("2026-11-22 05:00:00")},
    ])  # fmt: skip


def snapshot(build: Build) -> dict[str, list[tuple]]:
    """Every table's rows (``Build.rows``: one connection, not one per table)."""
    return build.rows()


def persons(build: Build, source: str) -> dict[str, str]:
    return dict(build.query("select event_id, person_id from intermediate.int_events_unified where source = ?", source))


@pytest.fixture(scope="module")
def worlds(tmp_path_factory, day_two) -> dict:
    root = tmp_path_factory.mktemp("events_incremental")
    daily = copy_of(day_two.side("incremental"), root / "incremental")
    # test_incremental's garbage partition (before every window here) goes: the erasure rewrites every
    # partition of the lake, as erase.rewrite_partition does
    shutil.rmtree(daily.lake / "raw" / "web_events" / f"dt={GARBAGE_DAY}")
    day2 = snapshot(daily)
    before = {source: persons(daily, source) for source in ("web", "forms", "email")}
    day3_partitions(daily.lake)
    erased = erin_values(daily)
    lake_rows = erase_from_lake(daily.lake, erased)
    deleted = warehouse_rows(daily.warehouse, erased, apply=True)
    # the daily build as the DAG's: the unchanged seeds and their tests left out (conftest's unchanged_seeds)
    done = run_dbt(daily.base, daily.lake, "build", *WITHOUT_UNIT_TESTS, *unchanged_seeds(day_two.manifest),
                   interval=(DAY3, DAY3 + timedelta(days=1)))  # fmt: skip
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    scratch = copy_of(daily, root / "from_scratch")
    refreshed = run_dbt(scratch.base, scratch.lake, "run", "--full-refresh", "--select", *REFRESHED,
                        interval=(DAY3, DAY3 + timedelta(days=1)))  # fmt: skip
    assert refreshed.returncode == 0, refreshed.stdout[-6000:] + refreshed.stderr[-2000:]
    return {"daily": daily, "scratch": scratch, "day2": day2, "before": before, "erased": erased,
            "lake_rows": lake_rows, "deleted": deleted, "log": done.stdout, "refresh_log": refreshed.stdout,
            "day3": snapshot(daily), "full": snapshot(scratch)}  # fmt: skip


def test_day_two_built_daily_equals_its_full_refresh(day_two):
    daily, refreshed = day_two.side("incremental"), day_two.side("from_scratch")
    mine, theirs = daily.rows(*EVENTS, *KEPT), refreshed.rows(*EVENTS, *KEPT)
    for table in (*EVENTS, *KEPT):
        rows = mine[table]
        assert rows, f"{table} is empty: nothing was compared"
        assert rows == theirs[table], table
    # Carol's opportunity, won on day 2, has a journey that starts with her form of day 1
    touches = daily.query("select touch_id from intermediate.int_attribution_journeys"
                          " where journey_id = 'crm:006carol:won' order by touch_number")  # fmt: skip
    assert any("f-carol-trial" in touch for (touch,) in touches), touches


def test_day_three_built_daily_equals_a_full_computation(worlds):
    day3, full = worlds["day3"], worlds["full"]
    assert sorted(day3) == sorted(full)
    assert set(EVENTS + KEPT + AFTER) <= set(day3)
    assert all(day3[table] for table in EVENTS + AFTER), "a compared table is empty"
    assert [table for table in day3 if day3[table] != full[table]] == []


def test_the_daily_run_computed_only_part_of_the_events_and_journeys(worlds):
    log = worlds["log"]
    nodes = re.search(r"int_events_unified: (\d+) identity nodes changed person since the last run; "
                      r"(\d+) form submissions and (\d+) email events computed again", log)  # fmt: skip
    journeys = re.search(r"int_attribution_journeys: (\d+) persons with changed touches or conversions", log)
    assert nodes and journeys, log[-4000:]
    daily = worlds["daily"]
    forms_total = daily.one("select count(*) from staging.stg_forms__submissions")[0]
    email_total = daily.one("select count(*) from staging.stg_email__events")[0]
    people = daily.one("select count(distinct person_id) from intermediate.int_touchpoints")[0]
    assert 0 < int(nodes[1])
    assert 0 < int(nodes[2]) < forms_total and 0 < int(nodes[3]) < email_total
    assert 0 < int(journeys[1]) < people
    # the full computation took the other path
    assert "identity nodes changed person" not in worlds["refresh_log"]


def test_a_merge_moves_stored_events_of_day_one(worlds):
    daily, before = worlds["daily"], worlds["before"]
    after = {source: persons(daily, source) for source in ("web", "forms", "email")}
    carol, henry, dave = (person_of(daily, node) for node in ("email:carol@shopmart.com", "email:henry@old.cn",
                                                              "email:dave@bank.com"))  # fmt: skip
    assert before["web"]["web:w-bob-1"] != carol and after["web"]["web:w-bob-1"] == carol
    assert henry == dave, "the shared phone did not merge Henry and Dave: the case tests nothing"
    assert carol == dave, "Carol's phone on Dave's form did not merge them: the email case tests nothing"
    moved = {source: [event for event, person in before[source].items()
                      if event in after[source] and after[source][event] != person]
             for source in ("forms", "email")}  # fmt: skip
    assert moved["forms"], "no stored form changed person"
    # events_recompute_scope's email clause (a stored email event whose node changed person) is exercised
    assert {"email:e-dave-unsub", "email:e-carol-click"} & set(moved["email"]), moved


def test_a_late_touch_and_a_conversion_of_day_three(worlds):
    daily = worlds["daily"]
    dave = daily.query("select touch_id from intermediate.int_attribution_journeys"
                       " where journey_id = 'crm:006dave:won'")  # fmt: skip
    touches = {touch for (touch,) in dave}
    assert "email:e-dave-click" in touches and any("f-dave-trial" in touch for touch in touches), touches
    carol = daily.query("select touch_id from intermediate.int_attribution_journeys"
                        " where journey_id = 'crm:006carol:won'")  # fmt: skip
    late = daily.one("select session_key from intermediate.int_web_sessions where landing_event_id = 'w-carol-late'")[0]
    assert ("session:" + late,) in carol
    credits = daily.query("select distinct conversion_id from marts.attribution_touch_credits")
    assert ("crm:006dave:won",) in credits


def test_an_erased_person_leaves_no_event_or_journey(worlds):
    assert worlds["lake_rows"] > 0 and worlds["deleted"], "the erasure found nothing to remove"
    erased = worlds["erased"]
    for table in (*EVENTS, *KEPT, *AFTER):
        text = repr(worlds["day3"][table]).lower()
        assert not any(f"'{value}'" in text for value in erased), table


def test_changed_settings_recompute_everything(worlds, tmp_path):
    # a week's lookback leaves Dave's form of day 1 out of his day-3 journey: a daily run that kept the
    # stored journeys of persons whose touches did not change would keep it. The fingerprint (vars and
    # seeds, as int_identity_match_evidence's) makes both models compute every row again.
    settings = CHANGED_SETTINGS  # a week's lookback (and the currency rule)
    interval = (DAY3, DAY3 + timedelta(days=1))
    daily, scratch = copy_of(worlds["daily"], tmp_path / "daily"), copy_of(worlds["daily"], tmp_path / "scratch")
    done = run_dbt(daily.base, daily.lake, "run", "--select", "int_events_unified", "int_attribution_journeys",
                   *settings, interval=interval)  # fmt: skip
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    for model in ("int_events_unified", "int_attribution_journeys"):
        assert f"{model}: settings or seeds changed since the last run (fingerprint)" in done.stdout, model
    refreshed = run_dbt(scratch.base, scratch.lake, "run", "--full-refresh", "--select", "int_events_unified",
                        "int_attribution_journeys", *settings, interval=interval)  # fmt: skip
    assert refreshed.returncode == 0, refreshed.stdout[-6000:] + refreshed.stderr[-2000:]
    mine, theirs = daily.rows(*EVENTS, *KEPT), scratch.rows(*EVENTS, *KEPT)
    for table in (*EVENTS, *KEPT):
        assert mine[table] == theirs[table], table
    touches = {row[0] for row in daily.query("select touch_id from intermediate.int_attribution_journeys"
                                             " where journey_id = 'crm:006dave:won'")}  # fmt: skip
    assert touches and not any("f-dave-trial" in touch for touch in touches), touches


def fingerprint_queries(log: Path) -> Counter[str]:
    """Per model, the queries of a seed's digest (config_fingerprint's ``... as seed_rows``) in a dbt.log:
    each of dbt's debug records starts with its time and names its node in the query's comment."""
    counts: Counter[str] = Counter()
    for record in re.split(r"^(?=\S*\d\d:\d\d:\d\d\.\d+ \[)", log.read_text(), flags=re.M):
        node = re.search(r'"node_id": "model\.\w+\.(\w+)"', record)
        if node and " as seed_rows" in record:
            counts[node[1]] += 1
    return counts


def test_a_changed_seed_recomputes_every_folded_model_deciding_once(worlds, tmp_path):
    # A steward edits two seeds between two daily runs (as `dbt seed` of the edited CSVs loads them): the
    # CNY rate (int_events_unified's fingerprint) and a blocklist rule for Dave's mailbox (the matcher's
    # fingerprint, read by the three identity models); the lookback var changes the journeys' one. Each
    # folded model must decide in its body that its kept state is unusable and compute every row (a daily
    # path would keep Dave's stored identifiers unblocked and the stored CRM events at the old rate), equal
    # to a full refresh; its hooks must read that decision (the fingerprint's seed queries run once, as
    # on the full build) and keep the new fingerprint, so that the next daily run is daily again.
    import duckdb

    interval = (DAY3, DAY3 + timedelta(days=1))
    settings = ("--vars", "{attribution_lookback_days: 7}")
    daily = copy_of(worlds["daily"], tmp_path / "daily")
    con = duckdb.connect(str(daily.warehouse))
    try:
        con.execute("update staging.currency_rates set rate_to_reporting = 1.1 where currency = 'CNY'")
        con.execute("insert into staging.identity_blocklist values ('email', 'dave@%', 'like', 'blocked by a steward')")
    finally:
        con.close()
    scratch = copy_of(daily, tmp_path / "scratch")
    done = run_dbt(daily.base, daily.lake, "run", "--select", *FOLDED, *settings, interval=interval)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    for model in FOLDED:
        assert f"{model}: settings or seeds changed since the last run (fingerprint)" in done.stdout, model
    refreshed = run_dbt(scratch.base, scratch.lake, "run", "--full-refresh", "--select", *FOLDED, *settings,
                        interval=interval)  # fmt: skip
    assert refreshed.returncode == 0, refreshed.stdout[-6000:] + refreshed.stderr[-2000:]
    folded = [f"intermediate.{table}" for model in FOLDED for table in (model, f"{model}__fingerprint")]
    mine, theirs = daily.rows(*folded), scratch.rows(*folded)
    for table in folded:
        assert mine[table] and mine[table] == theirs[table], table
    blocked = daily.query("select node_key from intermediate.int_identity_record_identifiers"
                          " where blocked_reason = 'blocked by a steward'")  # fmt: skip
    assert ("email:dave@bank.com",) in blocked, blocked
    stale = daily.one("select count(*) filter (where abs(amount_reporting - amount * 1.1) > 0.01), count(*)"
                      " from intermediate.int_events_unified where source = 'crm' and amount is not null")  # fmt: skip
    assert stale[0] == 0 < stale[1], stale
    # one fingerprint a run: the seed queries of the daily run are the full build's (one fingerprint,
    # computed in its post_hook), the events' one seed and the matcher's seeds once per model
    queries, full = (fingerprint_queries(side.base / "logs" / "dbt.log") for side in (daily, scratch))
    assert queries == full, (queries, full)
    identity = {queries[model] for model in FOLDED[:3]}
    assert queries["int_events_unified"] == 1 and len(identity) == 1 and identity != {0}, queries
    # the hooks kept the fingerprint the models decided with: the next run takes the daily path
    again = run_dbt(daily.base, daily.lake, "run", "--select", *FOLDED, *settings, interval=interval)
    assert again.returncode == 0, again.stdout[-6000:] + again.stderr[-2000:]
    assert "settings or seeds changed" not in again.stdout, again.stdout[-4000:]
    for line in ("int_identity_record_identifiers: 0 records new or changed",
                 "int_identity_record_standardisation: 0 records new or changed",
                 "int_identity_match_evidence: 0 records new or changed",
                 "int_events_unified: 0 identity nodes changed person",
                 "int_attribution_journeys: 0 persons with changed touches or conversions"):  # fmt: skip
        assert line in again.stdout, (line, again.stdout[-4000:])
