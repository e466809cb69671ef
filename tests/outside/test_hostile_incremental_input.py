"""Hostile form and CRM exports on the incremental days (the outside check of the incremental days).

One warehouse, built day after day as the DAG builds it (the real extract of every source, then dbt
for the day's interval: the models the tests compare or read and their parents (``BUILD``), with
every seed and without tests the first day (``dbt build``), ``dbt run`` after it, every model on day 5;
the DAG's ``dbt build`` also runs the data tests, which write no table; ``lookback_days`` 3), fed what
real exports do to a pipeline:

* **day 2 delivered again** in another row order, with a BOM, with its header row repeated in the
  middle (two exports joined) and one submission id typed in full-width characters (``ｓ－００５``),
  extracted again and its interval built again: the repeated header is quarantined with a reason
  that says so, and no submission, person or mart changes (before: the header row was quarantined as
  "not a timestamp: 'Submitted At'", and ``ｓ－００５`` was a new submission beside the one it replaced);
* **ids that differ by case or width** on day 3: a CRM lead exported with its id in full-width forms
  (``００ＱｘＹ１``) is a new version of ``00QxY1``; one that differs by case alone (``00QXY1``) is a lead
  of its own (Salesforce's 15-character ids are case-sensitive); a day-1 submission exported again as
  ``ｓ－００１`` (its first copy outside day 3's window) keeps its first copy (before: a second submission);
* **a late partition**: forms of a day older than the newest built day, delivered after it, its
  interval run (as a backfill of that day runs it) and then the next day; its copy of a day-3
  submission is the one kept (the earliest partition day: macro first_copy);
* **a truncated export**: day 4's form file cut inside a quoted field: its complete row loads, the cut
  line is quarantined with the reason, ``read = loaded + quarantined``; day 5 built after it.

After day 5 every table of ``staging``, ``intermediate`` and ``marts`` equals a ``--full-refresh`` of
the same warehouse and lake, row for row (on a copy, the models ``--full-refresh`` rebuilds refreshed:
``Lakehouse.refreshed_copy``). Then, on a copy, **an old day delivered again**: day 1's
export with a name corrected, extracted again and its interval run; its s-001 also has a copy in day
3's partition. The form staging run daily equals its full refresh (before 6 December it did not: the
first copy was the first *loaded*, and the re-extract made day 3's copy the first in a full build,
while the daily run of day 1 kept day 1's).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from tests.dbt.conftest import kept_state_selection
from tests.outside.lakehouse import (
    SALESFORCE_LEADS,
    SEEDS_AND_MODELS,
    TYPEFORM,
    Lakehouse,
    differing,
    export_csv,
)

pytestmark = pytest.mark.slow

D1, D2, D3, LATE, D4, D5 = (date(2026, 11, 10), date(2026, 11, 14), date(2026, 11, 16), date(2026, 11, 12),
                            date(2026, 11, 18), date(2026, 11, 19))  # fmt: skip
# each day after the first is a `dbt run` (the DAG's `dbt build` also runs the data tests, which write
# no table; the first day loads the seeds too: FIRST_DAY) of what the tests compare or read,
# with their parents: the models --full-refresh rebuilds (conftest's INCREMENTAL_MODELS) and
# int_people_resolved. The marts below them are left out until day 5 (35 models a day instead of 90): the
# refreshed copy is this warehouse with those models refreshed, so a table below them is the same
# copy on both sides whether the days rebuilt it or not
BUILD = ("run", *kept_state_selection("+int_people_resolved"))
# the first day: every seed (day 5's `dbt run` of every model reads them) and BUILD's models, no more;
# the marts wait for day 5, which builds every table and view whole over all the days' rows
FIRST_DAY = (*SEEDS_AND_MODELS, *BUILD[1:], "resource_type:seed")


def form(key: str, name: str, email: str, day: date, hour: int, phone: str = "") -> list[str]:
    return [key, "Contact Us", name, email, phone, "", f"{day}T{hour:02d}:00:00Z"]


def lead(lead_id: str, name: str, email: str, status: str, created: str, updated: str) -> list[str]:
    return [lead_id, email, "", name, "Acme", status, created, updated]


DAY2_FORMS = [
    form("s-004", "Dan Li", "dan@d.cn", D2, 1, "+86 139 1111 2222"),
    form("s-005", "Eve Wu", "eve@e.cn", D2, 2),
    form("s-006", "Ann Ma", "ann@a.cn", D2, 3),
]


def deliveries(house: Lakehouse, day: date) -> None:
    """The landing drops of each day's first delivery."""
    if day == D1:
        house.deliver("forms", D1, "typeform.csv", export_csv(TYPEFORM, [
            form("s-001", "Ann Ma", "ann@a.cn", D1, 1), form("s-002", "Ben Xu", "ben@b.cn", D1, 2, "+86 139 3333 4444"),
            form("s-003", "Cat Yu", "cat@c.cn", D1, 3)]))  # fmt: skip
        house.deliver("crm", D1, "leads.csv", export_csv(SALESFORCE_LEADS, [
            lead("00Qann1", "Ann Ma", "ann@a.cn", "New", "2026-11-09 10:00:00", "2026-11-09 10:00:00"),
            lead("00QxY1", "Ben Xu", "ben@b.cn", "New", "2026-11-09 11:00:00", "2026-11-09 11:00:00")]))  # fmt: skip
    elif day == D2:
        house.deliver("forms", D2, "typeform.csv", export_csv(TYPEFORM, DAY2_FORMS))
        house.deliver("crm", D2, "leads.csv", export_csv(SALESFORCE_LEADS, [
            lead("00QxY1", "Ben Xu", "ben@b.cn", "Working", "2026-11-09 11:00:00", "2026-11-13 09:00:00"),
            lead("00Qeve1", "Eve Wu", "eve@e.cn", "New", "2026-11-13 10:00:00", "2026-11-13 10:00:00")]))  # fmt: skip
    elif day == D3:
        house.deliver(
            "forms",
            D3,
            "typeform.csv",
            export_csv(
                TYPEFORM, [form("s-007", "Fay He", "fay@f.cn", D3, 1), form("ｓ－００１", "Ann Ma", "ann@a.cn", D1, 1)]
            ),
        )  # day 1's submission again, its id typed full-width
        house.deliver("crm", D3, "leads.csv", export_csv(SALESFORCE_LEADS, [
            lead("００ＱｘＹ１", "Ben Xu", "ben@b.cn", "Converted", "2026-11-09 11:00:00", "2026-11-15 09:00:00"),
            lead("00QXY1", "Bo Xu", "bo@x.cn", "New", "2026-11-15 10:00:00", "2026-11-15 10:00:00")]))  # fmt: skip
    elif day == LATE:
        house.deliver("forms", LATE, "typeform.csv", export_csv(TYPEFORM, [
            form("s-008", "Gus Qi", "gus@g.cn", LATE, 1), form("s-007", "Fay He", "fay@f.cn", D3, 1)]))  # fmt: skip
    elif day == D4:
        whole = export_csv(TYPEFORM, [form("s-009", "Hal Bo", "hal@h.cn", D4, 1)])
        cut = whole + b'"s-010","Contact Us","Ivy Ko","ivy@i.cn","","","2026-11-1'  # the transfer stopped here
        house.deliver("forms", D4, "typeform.csv", cut)
    elif day == D5:
        house.deliver("forms", D5, "typeform.csv", export_csv(TYPEFORM, [form("s-011", "Jo Lu", "jo@j.cn", D5, 1)]))


def redelivered_day_two() -> bytes:
    """Day 2's export again: rows reversed, a BOM, the header repeated between them, s-005 full-width."""
    rows = [list(row) for row in reversed(DAY2_FORMS)]
    rows[1][0] = "ｓ－００５"
    return export_csv(TYPEFORM, [rows[0], TYPEFORM, *rows[1:]], bom=True)


SUBMISSIONS = ("select submission_key, submission_id, full_name, email, phone, submitted_at, _interval_start"
               " from staging.stg_forms__submissions order by 1")  # fmt: skip
PEOPLE = "select node_key, person_id from intermediate.int_people_resolved order by 1, 2"


@pytest.fixture(scope="module")
def days(tmp_path_factory):
    house = Lakehouse(tmp_path_factory.mktemp("hostile-days"))
    manifests, seen = {}, {}
    for day in (D1, D2):
        deliveries(house, day)
        manifests[day] = house.extract(day)
        house.dbt(day, *(FIRST_DAY if day == D1 else BUILD))
    seen["day 2"] = {"submissions": house.build.query(SUBMISSIONS), "people": house.build.query(PEOPLE)}
    house.deliver("forms", D2, "typeform.csv", redelivered_day_two())
    later = datetime.combine(D2, time(20)) + timedelta(days=1)
    manifests["day 2 again"] = house.extract(D2, later, sources=("forms",))
    house.dbt(D2, *BUILD)
    seen["day 2 again"] = {"submissions": house.build.query(SUBMISSIONS), "people": house.build.query(PEOPLE)}
    for day in (D3, LATE, D4, D5):
        deliveries(house, day)
        # loaded when the DAG's run of the day extracts it: the late partition after day 3's
        at = datetime.combine(D3, time(6)) + timedelta(days=1) if day == LATE else None
        manifests[day] = house.extract(day, at)
        # the last day runs every model, so the marts are built once over every hostile day's rows
        house.dbt(day, *(("run",) if day == D5 else BUILD))
        if day == D3:
            seen["day 3"] = {"submissions": house.build.query(SUBMISSIONS), "leads": house.build.query(
                "select lead_id, status from staging.stg_crm__leads order by 1")}  # fmt: skip
    refreshed = house.refreshed_copy(tmp_path_factory.mktemp("hostile-refresh"), D5)
    return {"house": house, "refreshed": refreshed, "manifests": manifests, "seen": seen}


def quarantined(house: Lakehouse, day: date) -> list[dict]:
    from intent_pipeline import lake

    return lake.read_partition(house.settings.lake_dir, "quarantine", "forms_submissions", day).to_pylist()


def test_every_delivery_counts_its_rows(days):
    for key, manifest in days["manifests"].items():
        for source, counts in manifest.items():
            for table, c in counts["tables"].items():
                assert c["read"] == c["loaded"] + c["quarantined"] + c.get("suppressed", 0), (key, source, table, c)
    again = days["manifests"]["day 2 again"]["forms"]["tables"]["forms_submissions"]
    assert again == {"read": 4, "loaded": 3, "quarantined": 1}, again


def test_a_repeated_header_row_is_quarantined_as_one(days):
    (row,) = quarantined(days["house"], D2)
    assert row["reason"].startswith("the header row repeated"), row


def test_a_redelivery_in_another_order_changes_no_submission_or_person(days):
    seen = days["seen"]
    assert seen["day 2 again"]["submissions"] == seen["day 2"]["submissions"]
    assert seen["day 2 again"]["people"] == seen["day 2"]["people"]


def test_an_id_in_full_width_forms_is_the_same_record_and_case_is_not(days):
    day3 = days["seen"]["day 3"]
    ids = [row[1] for row in day3["submissions"]]
    assert sorted(ids) == ["s-001", "s-002", "s-003", "s-004", "s-005", "s-006", "s-007"], ids
    (first,) = [row for row in day3["submissions"] if row[1] == "s-001"]
    assert first[6] == D1  # the first copy, from a partition outside day 3's window, stays
    assert dict(day3["leads"]) == {"00Qann1": "New", "00QxY1": "Converted", "00QXY1": "New", "00Qeve1": "New"}


def test_a_truncated_export_loads_its_complete_row_and_quarantines_the_cut_one(days):
    (row,) = quarantined(days["house"], D4)
    assert "ends inside a quoted field" in row["reason"] and "s-010" in row["raw_content"], row
    counts = days["manifests"][D4]["forms"]["tables"]["forms_submissions"]
    assert counts == {"read": 2, "loaded": 1, "quarantined": 1}, counts
    rows = days["house"].build.query(
        "select submission_id from staging.stg_forms__submissions where submission_id in ('s-009', 's-010')"
    )
    assert rows == [("s-009",)], rows


def test_the_late_partition_is_loaded_once(days):
    rows = days["house"].build.query(
        "select submission_id, _interval_start from staging.stg_forms__submissions"
        " where submission_id in ('s-007', 's-008') order by 1"
    )
    # s-007's first copy is the late partition's: the earliest export interval (macro first_copy)
    assert rows == [("s-007", LATE), ("s-008", LATE)], rows


def test_after_all_of_it_the_next_day_equals_a_full_refresh(days):
    incremental, refreshed = days["house"].snapshot(), days["refreshed"].snapshot()
    assert "staging.stg_forms__submissions" in incremental
    assert differing(incremental, refreshed) == []


@pytest.fixture(scope="module")
def old_day_again(days, tmp_path_factory):
    """Day 1's export delivered again after day 5 (Ben's name corrected), extracted again and its interval
    run (as a backfill of day 1 runs it), on a copy of the warehouse: the form staging alone, daily, and
    with ``--full-refresh`` on another copy. Day 1's s-001 has a copy in day 3's partition, outside day
    1's window."""
    house = days["house"].copy_to(tmp_path_factory.mktemp("old-day-again"))
    house.deliver("forms", D1, "typeform.csv", export_csv(TYPEFORM, [
        form("s-001", "Ann Ma", "ann@a.cn", D1, 1), form("s-002", "Ben Xu Jr", "ben@b.cn", D1, 2, "+86 139 3333 4444"),
        form("s-003", "Cat Yu", "cat@c.cn", D1, 3)]))  # fmt: skip
    house.extract(D1, datetime(2026, 11, 20, 9), sources=("forms",))
    refreshed = house.copy_to(tmp_path_factory.mktemp("old-day-again-refreshed"))
    house.dbt(D1, "run", "--select", "stg_forms__submissions")
    refreshed.dbt(D1, "run", "--full-refresh", "--select", "stg_forms__submissions")
    return house.build.query(SUBMISSIONS), refreshed.build.query(SUBMISSIONS)


def test_an_old_day_delivered_again_equals_a_full_refresh(old_day_again):
    daily, refreshed = old_day_again
    assert ("typeform:s-002", "s-002", "Ben Xu Jr") in [row[:3] for row in daily]
    assert daily == refreshed
