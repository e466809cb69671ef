"""The operations marts (identity health, cut links by kind, quarantine counts) in real dbt builds.

Day 1 is the session's build of conftest's lake. Day 2 is conftest's ``merge_day`` (one whole build,
made once per test run for this file and test_identity_stability): a form that links alice's CRM
email with frank's phone (a merge of two known people), two strangers on erin's browser (a kiosk,
cut by the hub limit), and extract manifests written by the lake's own writer (one with a
quarantined row, one with a suppressed row), so ``quarantine_daily`` has something to count. Day 2
is then built again on a copy, the operations marts and their parents: a re-run of the interval
must leave the marts as they were.
"""

from __future__ import annotations

from datetime import date

import pytest

from tests.dbt.conftest import MERGE_DAY, WITHOUT_UNIT_TESTS, copy_of, run_dbt

pytestmark = pytest.mark.slow

DAY1 = date(2026, 11, 21)
DAY2 = MERGE_DAY
# cautious: not the tests of models this selection does not rebuild (lead_scores -> people)
SELECT = ("--select", "+identity_health_daily", "+identity_cut_links", "+quarantine_daily",
          "--indirect-selection", "cautious")  # fmt: skip
HEALTH = "select * from marts.identity_health_daily order by day"
CUTS = "select * from marts.identity_cut_links order by all"
QUARANTINE = "select * exclude (loaded_at) from marts.quarantine_daily order by all"


@pytest.fixture(scope="module")
def day2(tmp_path_factory, warehouse, merge_day):
    assert warehouse.build.returncode == 0, warehouse.output
    day1_health = warehouse.query(HEALTH)
    after = {"health": merge_day.query(HEALTH), "cuts": merge_day.query(CUTS),
             "quarantine": merge_day.query(QUARANTINE)}  # fmt: skip
    build = copy_of(merge_day, tmp_path_factory.mktemp("operations"))
    rerun = run_dbt(build.base, build.lake, *("build", *SELECT, *WITHOUT_UNIT_TESTS), interval=DAY2)
    assert rerun.returncode == 0, rerun.stdout[-4000:]
    again = {"health": build.query(HEALTH), "cuts": build.query(CUTS), "quarantine": build.query(QUARANTINE)}
    return {"build": build, "day1_health": day1_health, "after": after, "again": again}


def test_unit_tests_of_the_operations_marts_ran_and_passed(warehouse):
    results = {r["unique_id"]: r["status"] for r in warehouse.results()}
    ours = {uid: status for uid, status in results.items()
            if uid.startswith("unit_test.intent_warehouse.identity_")
            and ("cut_links" in uid or "health_daily" in uid)}  # fmt: skip
    assert len(ours) == 2, sorted(uid for uid in results if uid.startswith("unit_test."))
    assert set(ours.values()) == {"pass"}, ours


def test_day1_health_is_the_day_of_the_interval_and_agrees_with_people(warehouse):
    rows = warehouse.query("select day, people, merges, splits, links_cut from marts.identity_health_daily")
    people = warehouse.one("select count(*) from marts.people")[0]
    cut = warehouse.one("select count(*) from intermediate.int_identity_links_cut")[0]
    assert cut > 0, "conftest's lake cuts the shared mailbox and the placeholder phone"
    assert rows == [(DAY1, people, 0, 0, cut)]


def test_cut_links_count_every_cut_link_by_kind_without_reasons(warehouse):
    expected = dict(warehouse.query(
        "select cut_rule, count(*) from intermediate.int_identity_links_cut group by 1"))  # fmt: skip
    published = dict(warehouse.query("select cut_rule, sum(links) from marts.identity_cut_links group by 1"))
    assert published == expected
    assert set(expected) >= {"blocklist"}
    kinds = {row[0] for row in warehouse.query("select distinct reason_kind from marts.identity_cut_links")}
    assert kinds <= {"blocklist", "hub_shared", "hub_name_conflict", "steward_detach"}
    # no value of the published mart is a reason (reasons name people and identifiers)
    reasons = {r[0] for r in warehouse.query("select distinct reason from intermediate.int_identity_links_cut")}
    values = {str(v) for row in warehouse.query("select * from marts.identity_cut_links") for v in row}
    assert not values & reasons


def test_a_merge_and_a_hub_on_day2_are_counted_on_day2(day2):
    build = day2["build"]
    health = {row[0]: row for row in day2["after"]["health"]}
    assert set(health) == {DAY1, DAY2[0].date()}
    assert health[DAY1] == day2["day1_health"][0], "day 1's row is history: day 2 leaves it as it was"
    merges = build.one(
        "select count(distinct from_person_id) from intermediate.int_identity_id_changes "
        "where reason = 'merged' and changed_on = ?", DAY2[0].date())[0]  # fmt: skip
    assert merges >= 1, "alice's CRM email and frank's phone on one form merge two people"
    columns = [c[0] for c in build.query(
        "select column_name from duckdb_columns() where table_name = 'identity_health_daily' "
        "order by column_index")]  # fmt: skip
    today = dict(zip(columns, health[DAY2[0].date()], strict=True))
    assert today["merges"] == merges
    assert today["people"] == build.one("select count(*) from marts.people")[0]
    assert today["links_cut"] == build.one("select count(*) from intermediate.int_identity_links_cut")[0]
    assert today["links_cut"] > health[DAY1][columns.index("links_cut")], "the kiosk's links are cut on day 2"
    cuts = [row for row in day2["after"]["cuts"] if row[0] == DAY2[0].date()]
    assert any(row[2] == "hub_shared" and row[4] == "web" for row in cuts), cuts


def test_quarantine_daily_equals_the_manifests(day2):
    rows = day2["after"]["quarantine"]
    assert [row[:9] for row in rows] == [
        # interval_start, source, table_name, files, files_failed, read, loaded, quarantined, suppressed
        (DAY2[0].date(), "crm", "crm_leads", 1, 0, 5, 4, 0, 1),
        (DAY2[0].date(), "crm", "crm_orders", 1, 0, 0, 0, 0, 0),
        (DAY2[0].date(), "forms", "forms_submissions", 1, 0, 4, 3, 1, 0),
    ]
    share = {row[2]: row[9] for row in rows}
    assert share["forms_submissions"] == pytest.approx(0.25) and share["crm_orders"] is None


def test_a_rerun_of_the_interval_changes_nothing(day2):
    assert day2["again"] == day2["after"]


def test_quarantine_daily_is_empty_before_any_extract(warehouse):
    # conftest's lake is written by hand, without manifests: an empty mart, not a failed build
    assert warehouse.query("select count(*) from marts.quarantine_daily") == [(0,)]
