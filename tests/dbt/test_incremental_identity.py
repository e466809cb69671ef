"""Incremental days against identity, erasure and time (issue #20 item 3, docs/incremental.md).

The hand-written lake of conftest.py, day 1 (2026-11-20) built on an empty warehouse, then three more
days, twice: incrementally as the DAG's daily build runs them (``incremental``) and with
``--full-refresh`` (``from_scratch``); after each of the last two, every table of ``staging``,
``intermediate`` and ``marts`` must be equal in the two warehouses, row for row.

* day 2 (2026-11-21): the lake's second day (conftest's ``day_one`` and ``day_two``, built once per
  test run for this file and test_incremental, which starts its own day 3 from the same day 2),
  built once, incrementally: the from-scratch side is that warehouse with the models
  ``--full-refresh`` rebuilds (day 1's manifest says which: the incremental ones; tables and views
  are rebuilt by every build, the histories never) refreshed on its own lake, whose rows must equal
  the incremental ones (one full build fewer than building day 2 twice); the from-scratch builds of
  the next two days run without data tests (conftest's FULL_REFRESH_WITHOUT_TESTS: the incremental
  side runs them on tables that must be equal);
* day 3 (2026-11-22; conftest's ``day_three``, built once per test run for this file,
  test_scoring_incremental_equal and test_identity_incremental_equal, whose rows it holds too): a
  form of Carol's (``carol@shopmart.com``) from ``bob.device``, a browser that was a person of its
  own since day 1 (a **merge of two people across days**); a late page view of ``carol.device``
  (2026-11-19, three days late); and before the build **Erin is erased** as
  ``intent_pipeline.privacy.erase`` does it: her rows removed from every lake partition (those of
  day 1, outside day 3's lookback window, included) and from every warehouse table
  (``erase.warehouse_rows``);
* a day with no data 98 days later (2027-02-28), on copies of day 3: **leads go silent past 90
  days** (the rule ``silent_90_days``) with time alone, no partition in the window.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.dbt.conftest import (
    DAY_THREE,
    FULL_REFRESH_WITHOUT_TESTS,
    INCREMENTAL_RELATIONS,
    WITHOUT_UNIT_TESTS,
    Build,
    DayThree,
    form,
    page_view,
    rebuilt_by_full_refresh,
    run_project,
)

pytestmark = pytest.mark.slow

DAY3 = DAY_THREE[0]  # conftest's shared day 3
SILENT_DAY = datetime(2027, 2, 28)
# the incremental models: a wrong incremental run shows in them first
INCREMENTAL = INCREMENTAL_RELATIONS


def build_day(build: Build, project, day: datetime, *args: str) -> None:
    """``dbt build`` of ``day`` with the project copy ``project`` (day 3's: conftest's
    ``DayThree.project_copy``); ``args``: the options (default: WITHOUT_UNIT_TESTS, the daily build)."""
    done = run_project(project, build.base, build.lake, "build", *(args or WITHOUT_UNIT_TESTS),
                       interval=(day, day + timedelta(days=1)))  # fmt: skip
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]


def day3_rows() -> dict[str, list[dict]]:
    """This file's rows of conftest's shared day 3 (``day_three``, DAY3), per raw table."""
    return {
        "forms_submissions": [
            form("f-carol-demo", "2026-11-22 03:00:00", "Request a Demo", "carol@shopmart.com", None,
                 full_name="Carol Lin", company="Shopmart", client_id="bob.device", consent="1"),
        ],
        "web_events": [
            page_view("w-carol-late", "carol.device", "2026-11-19 09:00:00", "/pricing", 11, 45_000),
            page_view("w-bob-demo", "bob.device", "2026-11-22 02:55:00", "/demo", 12, 20_000),
        ],
    }  # fmt: skip


def erase_from_lake(lake, values: set[str]) -> int:
    """Rewrite every raw partition without the rows that hold one of ``values`` in a text column
    (as erase.rewrite_partition does); returns the rows removed."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    removed = 0
    for path in sorted((lake / "raw").glob("*/dt=*/*.parquet")):
        table = pq.read_table(path)
        keep = None
        for name in table.column_names:
            if str(table.schema.field(name).type) != "string":
                continue
            hit = pc.fill_null(pc.is_in(pc.utf8_lower(table[name]), value_set=pa.array(sorted(values))), False)
            keep = pc.invert(hit) if keep is None else pc.and_(keep, pc.invert(hit))
        if keep is None:
            continue
        kept = table.filter(keep)
        if kept.num_rows != table.num_rows:
            removed += table.num_rows - kept.num_rows
            pq.write_table(kept, path)
    return removed


def person_of(build: Build, node_key: str) -> str:
    return build.one("select person_id from intermediate.int_people_resolved where node_key = ?", node_key)[0]


def person_values(build: Build, node_key: str) -> set[str]:
    """The person id of ``node_key``'s person and every identifier of that person, as erase.resolve finds them."""
    (person_id,) = build.one("select person_id from intermediate.int_people_resolved where node_key = ?", node_key)
    nodes = build.query("select node_key from intermediate.int_people_resolved where person_id = ?", person_id)
    return {person_id.lower()} | {key.split(":", 1)[1].lower() for (key,) in nodes}


def erin_values(build: Build) -> set[str]:
    """Erin's person id and every identifier of her person, as erase.resolve finds them."""
    return person_values(build, "email:erin@school.edu")


def silent_people(build: Build) -> set[str]:
    rows = build.query("select person_id from intermediate.int_lead_score_rules where rule_id = 'silent_90_days'")
    return {person_id for (person_id,) in rows}


@pytest.fixture(scope="module")
def worlds(tmp_path_factory, day_two, day_three) -> dict[str, dict]:
    # day 2: built once per test run, incrementally (conftest's day_two, test_incremental's day 2 too);
    # the from-scratch side refreshed what --full-refresh rebuilds (day 1's manifest says which): their
    # rows must equal the incremental ones, then every table built from them on day 2 (the
    # histories' day-2 rows included) is what a --full-refresh build of day 2 would have made.
    # Day 3: conftest's day_three (built once per test run, read in place); the silent day on copies
    builds = day_three.copy_to(tmp_path_factory.mktemp("incremental_identity"))
    worlds = {}
    for name, args in (("incremental", ()), ("from_scratch", FULL_REFRESH_WITHOUT_TESTS)):
        day2_side, day3_side, build = day_two.side(name), day_three.side(name), builds[name]
        day2 = day2_side.rows(*INCREMENTAL)
        before = {who: person_of(day2_side, node) for who, node in (("bob", "web:bob.device"),
                                                                    ("carol", "email:carol@shopmart.com"))}  # fmt: skip
        facts = day_three.facts[name]
        after_day3, silent_day3 = day3_side.rows(), silent_people(day3_side)
        build_day(build, DayThree.project_copy(build.base), SILENT_DAY, *args)
        worlds[name] = {"build": build, "day2": day2, "before": before, "erased": set(facts["erased"]),
                        "lake_rows": facts["lake_rows"], "deleted": facts["deleted"], "day3": after_day3,
                        "silent": build.rows(), "silent_people": (silent_day3, silent_people(build))}  # fmt: skip
    worlds["rebuilt_by_full_refresh"] = rebuilt_by_full_refresh(day_two.manifest)
    return worlds


def test_day_two_refreshed_equals_day_two_built_incrementally(worlds):
    # the premise of building day 2 once: --full-refresh rebuilds exactly the incremental models
    assert worlds["rebuilt_by_full_refresh"] == {relation.split(".")[1] for relation in INCREMENTAL}
    incremental, refreshed = worlds["incremental"]["day2"], worlds["from_scratch"]["day2"]
    assert all(incremental[relation] for relation in INCREMENTAL), "an incremental table is empty: nothing was compared"
    assert [relation for relation in INCREMENTAL if incremental[relation] != refreshed[relation]] == []


@pytest.mark.parametrize("when", ["day3", "silent"])
def test_every_table_equals_a_full_refresh(worlds, when):
    incremental, scratch = worlds["incremental"][when], worlds["from_scratch"][when]
    assert sorted(incremental) == sorted(scratch)
    assert {"marts.people", "marts.lead_scores", "marts.funnel_stages", "marts.channel_attribution",
            "intermediate.int_events_unified", *INCREMENTAL} <= set(incremental)  # fmt: skip
    assert all(incremental[table] for table in INCREMENTAL), "an incremental table is empty: nothing was compared"
    differing = [table for table in incremental if incremental[table] != scratch[table]]
    assert differing == []


def test_two_people_merged_across_days(worlds):
    world = worlds["incremental"]
    assert world["before"]["bob"] != world["before"]["carol"], "bob.device must start as a person of its own"
    build = world["build"]
    people = dict(build.query("select node_key, person_id from intermediate.int_people_resolved"
                              " where node_key in ('web:bob.device', 'email:carol@shopmart.com')"))  # fmt: skip
    assert people["web:bob.device"] == people["email:carol@shopmart.com"]
    # bob.device's page views of day 1 and day 3 are now Carol's events, in the incremental stream too
    events = build.query("select event_id, person_id from intermediate.int_events_unified"
                         " where event_id in ('web:w-bob-1', 'web:w-bob-demo', 'web:w-carol-late')")  # fmt: skip
    carol = people["web:bob.device"]
    assert sorted(events) == [("web:w-bob-1", carol), ("web:w-bob-demo", carol), ("web:w-carol-late", carol)]


def test_an_erased_person_leaves_no_row(worlds):
    world = worlds["incremental"]
    assert world["lake_rows"] > 0 and world["deleted"], "the erasure found nothing to remove"
    assert "erin.device" in world["erased"] and "erin@school.edu" in world["erased"]
    build = world["build"]
    for table, rows in world["silent"].items():
        text = repr(rows).lower()
        assert not any(f"'{value}'" in text for value in world["erased"]), table
    # her browser's day-1 page views came from a partition outside day 3's window
    assert not build.query("select * from intermediate.int_web_page_views where user_pseudo_id = 'erin.device'")


def test_leads_go_silent_with_time_alone(worlds):
    # day 3: nobody has been silent 90 days (Henry, a form of July, opened a mail late: the
    # scoring file's case); 98 days later, with no new partition in the window, leads cross the
    # line: the incremental build must see them
    on_day3, later = worlds["incremental"]["silent_people"]
    assert on_day3 < later
    assert worlds["from_scratch"]["silent_people"] == (on_day3, later)
