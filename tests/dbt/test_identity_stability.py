"""Stable person ids across two real dbt builds on one warehouse.

Day 1 is the hand-written lake of conftest.py (the session's build). Day 2 (conftest's ``merge_day``,
built once per test run for this file and test_operations_marts) adds: a form that links alice's CRM
email with frank's phone (a merge of two known people), and two strangers who fill forms on erin's
browser (erin.device then holds three addresses: a kiosk, cut by the hub limit). Everyone else is
untouched and must keep their id; re-running day 2 (on a copy of it) must change nothing.
"""

from __future__ import annotations

from datetime import date

import pytest

from tests.dbt.conftest import MERGE_DAY, WITHOUT_UNIT_TESTS, copy_of, run_dbt

pytestmark = pytest.mark.slow

RERUN = ("--select", "+int_people_resolved", "+lead_score_history")
# the tests read the warehouse, not dbt's JSON artifacts: dbt writes none (about a CPU-second a run for
# the manifest; its saved parse is written all the same)
NO_JSON = ("--no-write-json",)
HISTORY = "select snapshot_date, person_id, lead_score, grade from marts.lead_score_history order by 1, 2"


def ids(build) -> dict[str, str]:
    return dict(build.query("select node_key, person_id from intermediate.int_people_resolved"))


@pytest.fixture(scope="module")
def two_days(tmp_path_factory, warehouse, merge_day):
    # Day 1 is the session's build of the same lake, day 2 the whole build of it that conftest's
    # merge_day makes once (test_operations_marts reads it too): the re-runs run on a copy of it.
    assert warehouse.build.returncode == 0, warehouse.output
    day1 = ids(warehouse)
    changes_before = warehouse.query("select count(*) from intermediate.int_identity_id_changes")[0][0]
    day2, history = ids(merge_day), merge_day.query(HISTORY)
    first = copy_of(merge_day, tmp_path_factory.mktemp("stable"))
    base, lake = first.base, first.lake
    # The re-runs rebuild what they are checked on (ids, score history) and everything upstream.
    rerun = run_dbt(base, lake, "build", *RERUN, *WITHOUT_UNIT_TESTS, *NO_JSON, interval=MERGE_DAY)
    assert rerun.returncode == 0, rerun.stdout[-4000:]
    history_rerun = first.query(HISTORY)
    refreshed = run_dbt(base, lake, "build", "--full-refresh", *RERUN, *WITHOUT_UNIT_TESTS, *NO_JSON,
                        interval=MERGE_DAY)  # fmt: skip
    assert refreshed.returncode == 0, refreshed.stdout[-4000:]
    return {
        "build": first, "day1": day1, "day2": day2, "day2_again": ids(first), "changes_before": changes_before,
        "history": history, "history_rerun": history_rerun, "history_full_refresh": first.query(HISTORY),
    }  # fmt: skip


def test_first_build_records_no_changes(two_days):
    assert two_days["changes_before"] == 0


def test_merge_keeps_one_of_the_old_ids_and_logs_the_retired_one(two_days):
    day1, day2, build = two_days["day1"], two_days["day2"], two_days["build"]
    alice, frank = day1["email:alice@gmail.com"], day1["phone:+8613755512345"]
    assert alice != frank
    merged = day2["email:alice@gmail.com"]
    assert merged == day2["phone:+8613755512345"]
    assert merged in (alice, frank)  # an existing id survives, no new one is minted
    retired = ({alice, frank} - {merged}).pop()
    assert retired not in set(day2.values())
    log = build.query("select from_person_id, to_person_id, reason from intermediate.int_identity_id_changes")
    assert (retired, merged, "merged") in log
    # activation follows the merge: the survivor carries the retired id
    merged_ids = build.query("select person_id, merged_person_id from intermediate.int_identity_merged_ids")
    assert (merged, retired) in merged_ids
    assert build.query("select merged_person_ids from marts.segment_high_intent where person_id = ?", merged) == [
        (retired,)
    ]


def test_kiosk_is_cut_and_does_not_glue_the_strangers_to_erin(two_days):
    day1, day2, build = two_days["day1"], two_days["day2"], two_days["build"]
    assert "web:erin.device" in day1 and "web:erin.device" not in day2
    erin = day1["email:erin@school.edu"]
    assert day2["email:erin@school.edu"] == erin  # the larger part keeps the id
    assert len({erin, day2["email:xia@visitor.cn"], day2["email:yang@visitor.cn"]}) == 3
    cut = build.query(
        "select distinct cut_rule, reason from intermediate.int_identity_links_cut where node_key = 'web:erin.device'"
    )
    assert cut == [("hub_limit", "hub: seen with 3 distinct email identifiers (limit 2)")]


def test_everyone_else_keeps_their_id(two_days):
    day1, day2 = two_days["day1"], two_days["day2"]
    touched = {day1["email:alice@gmail.com"], day1["phone:+8613755512345"], day1["email:erin@school.edu"]}
    unchanged = {node: person for node, person in day1.items() if person not in touched}
    assert unchanged, "the fixture should hold untouched people"
    churned = {node for node, person in unchanged.items() if day2.get(node) != person}
    assert churned == set()


def test_rerunning_the_interval_changes_nothing(two_days):
    assert two_days["day2_again"] == two_days["day2"]
    log = two_days["build"].query("select count(*) from intermediate.int_identity_id_changes")[0][0]
    assert log >= 1


def test_score_history_keeps_one_snapshot_per_day_and_person(two_days):
    history = two_days["history"]
    assert sorted({row[0] for row in history}) == [date(2026, 11, 21), date(2026, 11, 22)]
    assert len({(row[0], row[1]) for row in history}) == len(history)
    # a re-run of day 2 replaces its rows, a --full-refresh build does not wipe day 1 (full_refresh: false)
    assert two_days["history_rerun"] == history
    assert two_days["history_full_refresh"] == history


def test_first_crossed_the_threshold_is_a_query_that_follows_merges(two_days):
    """alice crossed 60 on day 1; on day 2 she merged with frank and her id may have changed:
    lead_score_trends maps her day-1 snapshot to today's id."""
    build = two_days["build"]
    alice = build.query(
        "select person_id from intermediate.int_people_resolved where node_key = ?", "crm_lead:00Qalice"
    )
    first_hot = build.query(
        "select min(snapshot_date) from marts.lead_score_trends where grade = 'high_intent' and person_id = ?",
        alice[0][0],
    )
    assert first_hot[0][0] == date(2026, 11, 21)
