"""A day whose inputs did not change leaves out the models and data tests that do not read the run's date
(intent_pipeline.day_skip, docs/incremental.md "Nodes whose inputs did not change"), and still builds
what a full refresh of the same lake builds.

Day 4 of conftest's hand-written lake comes almost a month after day 3 (``day_three``, both sides
copied): the web and form extracts write empty partitions (a day without data), the email and CRM
extracts none at all, so no source got a row. Scores decay and leads go silent with the date alone, so
the models that read the date must be built again, and everything downstream of them. The incremental
side records its inputs' fingerprints as the DAG's build does after day 3 (its lake is day 3's), then
builds day 4 without the nodes ``day_skip.skip_args`` leaves out (and the unchanged seeds, as
``seed_state`` leaves them out); the other side builds day 4 with ``--full-refresh``. Every table must
be equal row for row. The empty day 4's from-scratch side is built once for the module
(``empty_day_from_scratch``): the day without data and the day after a hand run start from the same
day-3 copy and the same partitions, so their full refreshes are the same build.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from intent_pipeline import day_skip, seed_state

from tests.dbt.conftest import (
    FULL_REFRESH_WITHOUT_TESTS,
    WITHOUT_UNIT_TESTS,
    Build,
    DayThree,
    _dbt_env,
    form,
    run_project,
    write_partition,
)

pytestmark = pytest.mark.slow

DAY4 = (datetime(2026, 12, 20), datetime(2026, 12, 21))


def day_four_partitions(lake, forms: list[dict]) -> None:
    """Day 4's extract: ``forms`` the form extract's rows (none: an empty partition), the web extract an
    empty partition, email and CRM no partition."""
    write_partition(lake, "web_events", DAY4[0].date(), [])
    write_partition(lake, "forms_submissions", DAY4[0].date(), forms)


def from_scratch(root, day_three, forms: list[dict]) -> Build:
    """Day 4 (:func:`day_four_partitions`) built with ``--full-refresh`` on a copy of day 3's from-scratch side."""
    scratch = day_three.copy_to(root, sides=("from_scratch",))["from_scratch"]
    day_four_partitions(scratch.lake, forms)
    done = run_project(DayThree.project_copy(scratch.base), scratch.base, scratch.lake, "build",
                       *FULL_REFRESH_WITHOUT_TESTS, interval=DAY4)  # fmt: skip
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    return scratch


def build_day_four(root, day_two, day_three, forms: list[dict], scratch: Build, hand_run=None) -> dict:
    """Day 4 (:func:`day_four_partitions`) on a copy of day 3's incremental side, built as the DAG's build
    leaves nodes out, against ``scratch``, the same day built with ``--full-refresh`` (:func:`from_scratch`).
    ``hand_run(project, side)``: what an engineer runs on the incremental side between the two daily builds."""
    incremental = day_three.copy_to(root, sides=("incremental",))["incremental"]
    manifest = day_two.manifest
    project = DayThree.project_copy(incremental.base)
    env = _dbt_env(incremental.lake, DAY4)
    # what the DAG's build records after day 3 (the lake is day 3's)
    day_skip.record(day_skip.fingerprints(project, manifest, incremental.lake, env), incremental.warehouse)
    if hand_run is not None:
        hand_run(project, incremental)
    day_four_partitions(incremental.lake, forms)
    current = day_skip.fingerprints(project, manifest, incremental.lake, env)
    seeds = sorted(seed_state.fingerprints(project))  # every seed as day 3 loaded it
    same = day_skip.skip_args(current, day_skip.take_record(incremental.warehouse), seeds, manifest,
                              incremental.warehouse)  # fmt: skip
    excluded = ("--exclude", *seeds, *seed_state.tests_of_only(manifest, seeds), *same)
    done = run_project(project, incremental.base, incremental.lake, "build", *WITHOUT_UNIT_TESTS, *excluded,
                       interval=DAY4)  # fmt: skip
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    return {"incremental": incremental, "from_scratch": scratch, "skipped": set(same), "log": done.stdout}


@pytest.fixture(scope="module")
def empty_day_from_scratch(tmp_path_factory, day_three) -> Build:
    """The day without data built with ``--full-refresh`` once for the module: ``day_four`` and
    ``day_four_after_a_hand_run`` compare their incremental sides with it (read only)."""
    return from_scratch(tmp_path_factory.mktemp("dayskip-scratch"), day_three, [])


@pytest.fixture(scope="module")
def day_four(tmp_path_factory, day_two, day_three, empty_day_from_scratch) -> dict:
    return build_day_four(tmp_path_factory.mktemp("dayskip"), day_two, day_three, [], empty_day_from_scratch)


@pytest.fixture(scope="module")
def day_four_with_a_form(tmp_path_factory, day_two, day_three) -> dict:
    """One source brings rows (a new person's form), the others nothing: the day the skip is for."""
    forms = [form("f-nina-trial", "2026-12-20 03:00:00", "Free Trial", "nina@newco.example", "+8613900001111",
                  full_name="Nina")]  # fmt: skip
    scratch = from_scratch(tmp_path_factory.mktemp("dayskip-form-scratch"), day_three, forms)
    return build_day_four(tmp_path_factory.mktemp("dayskip-form"), day_two, day_three, forms, scratch)


def people_emptied_by_hand(project, side) -> None:
    """An engineer edits the ``people`` mart (keeps no row), runs it by hand, then reverts the edit: the
    project is as the record has it, the table is not. (A table: the next build that does not leave it out
    builds it whole. An incremental table spoilt by hand stays spoilt until a full refresh, hook or not.)"""
    model = project / "models" / "marts" / "people" / "people.sql"
    shipped = model.read_text(encoding="utf-8")
    model.write_text(shipped.replace("select * from final", "select * from final where false"), encoding="utf-8")
    try:
        done = run_project(project, side.base, side.lake, "run", "-s", "people", interval=DAY4)
    finally:
        model.write_text(shipped, encoding="utf-8")
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert side.query("select count(*) from marts.people") == [(0,)]


@pytest.fixture(scope="module")
def day_four_after_a_hand_run(tmp_path_factory, day_two, day_three, empty_day_from_scratch) -> dict:
    return build_day_four(tmp_path_factory.mktemp("dayskip-hand"), day_two, day_three, [], empty_day_from_scratch,
                          hand_run=people_emptied_by_hand)  # fmt: skip


def equal_tables(day: dict) -> list[str]:
    """The tables whose rows differ between the two sides (none may be missing on either)."""
    incremental, scratch = day["incremental"], day["from_scratch"]
    assert incremental.tables() == scratch.tables()
    mine, theirs = incremental.rows(), scratch.rows()
    return [table for table in mine if mine[table] != theirs[table]]


def test_a_day_without_new_rows_leaves_out_what_did_not_change(day_four):
    skipped = day_four["skipped"]
    # the sources' models, identity and the people did not change; scores read the date
    assert {"stg_web__events", "stg_email__events", "stg_crm__leads", "int_identity_person_ids", "people"} <= skipped
    assert not {"int_score_points", "lead_scores", "crm_lead_scores", "identity_health_daily"} & skipped


def test_a_day_that_left_nodes_out_equals_its_full_refresh(day_four):
    compared = day_four["incremental"].tables()
    assert {"marts.people", "marts.lead_scores", "intermediate.int_identity_person_ids"} <= set(compared)
    assert equal_tables(day_four) == []


def test_a_day_where_one_source_brought_rows_rebuilds_what_reads_it_and_equals_its_full_refresh(
    day_four_with_a_form,
):
    """The forms brought a new person, web an empty partition, email and CRM nothing: the form's path
    (staging, identity, people) is built, the other sources' staging is left out, and every table equals
    the full refresh (the new person among the people)."""
    skipped = day_four_with_a_form["skipped"]
    assert {"stg_web__events", "stg_email__events", "stg_crm__leads"} <= skipped
    assert not {"stg_forms__submissions", "int_identity_person_ids", "people", "lead_scores"} & skipped
    assert equal_tables(day_four_with_a_form) == []
    emails = {row for (row,) in day_four_with_a_form["incremental"].query(
        "select lower(email) from marts.people where email is not null")}  # fmt: skip
    assert "nina@newco.example" in emails


def test_the_record_is_taken_before_a_build(tmp_path, day_two):
    # a build that fails leaves no record: the next one builds every node
    warehouse = tmp_path / "warehouse.duckdb"
    day_skip.record({day_skip.PROJECT_KEY: "p", "source.x": "s"}, warehouse)
    assert day_skip.take_record(warehouse) == {day_skip.PROJECT_KEY: "p", "source.x": "s"}
    assert day_skip.take_record(warehouse) == {}
    current = {day_skip.PROJECT_KEY: "p"}
    assert day_skip.skip_args(current, {}, [], day_two.manifest, warehouse) == ()
    assert day_skip.skip_args(current, {day_skip.PROJECT_KEY: "q"}, [], day_two.manifest, warehouse) == ()


def test_a_hand_run_between_daily_builds_removes_the_record(day_four_after_a_hand_run):
    """A hand ``dbt run`` between two daily builds (macros/build_state.sql, on-run-start) removes the
    record: the next daily build leaves nothing out and equals its full refresh, the people the hand run
    emptied built again."""
    assert equal_tables(day_four_after_a_hand_run) == []
    assert day_four_after_a_hand_run["skipped"] == set()
    assert day_four_after_a_hand_run["incremental"].query("select count(*) > 0 from marts.people") == [(True,)]
