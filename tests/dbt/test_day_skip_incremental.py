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
be equal row for row.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from intent_pipeline import day_skip, seed_state

from tests.dbt.conftest import (
    FULL_REFRESH_WITHOUT_TESTS,
    WITHOUT_UNIT_TESTS,
    DayThree,
    _dbt_env,
    write_partition,
)
from tests.dbt.test_identity_decisions import run_project

pytestmark = pytest.mark.slow

DAY4 = (datetime(2026, 12, 20), datetime(2026, 12, 21))
EMPTY_SOURCES = ("web_events", "forms_submissions")  # an empty partition each; email and CRM: none


@pytest.fixture(scope="module")
def day_four(tmp_path_factory, day_two, day_three) -> dict:
    root = tmp_path_factory.mktemp("dayskip")
    sides = day_three.copy_to(root)
    manifest = day_two.manifest
    incremental, scratch = sides["incremental"], sides["from_scratch"]
    project = DayThree.project_copy(incremental.base)
    env = _dbt_env(incremental.lake, DAY4)
    # what the DAG's build records after day 3 (the lake is day 3's)
    day_skip.record(day_skip.fingerprints(project, manifest, incremental.lake, env), incremental.warehouse)
    for side in sides.values():
        for table in EMPTY_SOURCES:
            write_partition(side.lake, table, DAY4[0].date(), [])
    current = day_skip.fingerprints(project, manifest, incremental.lake, env)
    seeds = sorted(seed_state.fingerprints(project))  # every seed as day 3 loaded it
    same = day_skip.skip_args(current, day_skip.take_record(incremental.warehouse), seeds, manifest,
                              incremental.warehouse)  # fmt: skip
    excluded = ("--exclude", *seeds, *seed_state.tests_of_only(manifest, seeds), *same)
    done = run_project(project, incremental.base, incremental.lake, "build", *WITHOUT_UNIT_TESTS, *excluded,
                       interval=DAY4)  # fmt: skip
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    scratch_project = DayThree.project_copy(scratch.base)
    done = run_project(scratch_project, scratch.base, scratch.lake, "build", *FULL_REFRESH_WITHOUT_TESTS,
                       interval=DAY4)  # fmt: skip
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    return {"incremental": incremental, "from_scratch": scratch, "skipped": set(same), "log": done.stdout}


def test_a_day_without_new_rows_leaves_out_what_did_not_change(day_four):
    skipped = day_four["skipped"]
    # the sources' models, identity and the people did not change; scores read the date
    assert {"stg_web__events", "stg_email__events", "stg_crm__leads", "int_identity_person_ids", "people"} <= skipped
    assert not {"int_score_points", "lead_scores", "crm_lead_scores", "identity_health_daily"} & skipped


def test_a_day_that_left_nodes_out_equals_its_full_refresh(day_four):
    incremental, scratch = day_four["incremental"], day_four["from_scratch"]
    assert incremental.tables() == scratch.tables()
    compared = incremental.tables()
    assert {"marts.people", "marts.lead_scores", "intermediate.int_identity_person_ids"} <= set(compared)
    differing = [table for table in compared if incremental.rows_of(table) != scratch.rows_of(table)]
    assert differing == []


def test_the_record_is_taken_before_a_build(tmp_path, day_two):
    # a build that fails leaves no record: the next one builds every node
    warehouse = tmp_path / "warehouse.duckdb"
    day_skip.record({day_skip.PROJECT_KEY: "p", "source.x": "s"}, warehouse)
    assert day_skip.take_record(warehouse) == {day_skip.PROJECT_KEY: "p", "source.x": "s"}
    assert day_skip.take_record(warehouse) == {}
    current = {day_skip.PROJECT_KEY: "p"}
    assert day_skip.skip_args(current, {}, [], day_two.manifest, warehouse) == ()
    assert day_skip.skip_args(current, {day_skip.PROJECT_KEY: "q"}, [], day_two.manifest, warehouse) == ()
