"""The funnel's edge-case table (dbt unit tests tagged funnel_edge_case) and its counter for the bench.

The cases themselves run in dbt, once per test run on a scratch warehouse as the bench runs them
(tests/dbt/test_funnel_marts.py checks that they pass);
here: that the table is what it claims (at least 30 cases, one person each, the fixture copies of
the seeds unchanged) and that intent_pipeline.funnel_cases counts them right.
"""

from __future__ import annotations

import json

import pytest
import yaml
from intent_pipeline.funnel_cases import MODEL, TAG, edge_case_names, funnel_edge_cases, passed_cases

from tests.dbt.conftest import DBT_PROJECT

CASES_YML = DBT_PROJECT / "models" / "intermediate" / "funnel" / "_funnel__edge_cases.yml"


def _cases() -> list[dict]:
    document = yaml.safe_load(CASES_YML.read_text(encoding="utf-8"))
    return [t for t in document["unit_tests"] if TAG in (t.get("config") or {}).get("tags", [])]


def test_at_least_30_cases_one_person_each():
    cases = _cases()
    assert len(cases) >= 30
    assert edge_case_names() == sorted(case["name"] for case in cases)
    for case in cases:
        assert case["model"] == MODEL, case["name"]
        assert case["name"].startswith("funnel_case_")
        person = case["name"].removeprefix("funnel_case_")  # the person_id says which case a row belongs to
        people = {row["person_id"] for given in case["given"] for row in given.get("rows") or [] if "person_id" in row}
        people |= {row["person_id"] for row in case["expect"]["rows"]}
        assert people <= {person}, (case["name"], people)
        assert len(case["description"]) > 40, case["name"]


def test_the_cases_cover_the_semantics():
    """The brief's list: equal timestamps, order modes, window boundaries, attempts, exclusions, nulls, ..."""
    names = " ".join(edge_case_names())
    for topic in ("same_second", "won_before_engaged_ordered", "won_before_engaged_any", "strict_interrupted",
                  "step_at_window_end", "step_after_window_end", "step_reached_twice", "reentry_first_only",
                  "reentry_each", "careers_between_steps", "careers_before_from_step", "careers_after_to_step",
                  "only_later_steps", "no_funnel_events", "null_timestamps", "utc_window", "grade_dropped_and_rose",
                  "created_and_won_same_second", "merged_person"):  # fmt: skip
        assert topic in names, topic
    orders = {(case.get("overrides") or {}).get("vars", {}).get("funnel_order", "ordered") for case in _cases()}
    assert orders == {"ordered", "strict", "any"}


@pytest.mark.parametrize("seed", ["funnel_steps", "funnel_stall_rules"])
def test_unit_test_fixtures_are_the_seeds(seed):
    # dbt reads a seed given without rows with '' for empty cells (an integer column fails), so the
    # unit tests read a csv fixture copy of the seed: it must stay the seed
    fixture = DBT_PROJECT / "tests" / "fixtures" / f"{seed}_seed.csv"
    assert fixture.read_text(encoding="utf-8") == (DBT_PROJECT / "seeds" / f"{seed}.csv").read_text(encoding="utf-8")


def test_counting_from_run_results(tmp_path):
    names = edge_case_names()
    results = (
        [
            {"unique_id": f"unit_test.intent_warehouse.{MODEL}.{names[0]}", "status": "pass"},
            {"unique_id": f"unit_test.intent_warehouse.{MODEL}.{names[1]}", "status": "fail"},
            {"unique_id": f"unit_test.intent_warehouse.{MODEL}.{names[2]}", "status": "error"},
            {"unique_id": f"model.intent_warehouse.{names[3]}", "status": "pass"},  # not a unit test
        ]
        + [{"unique_id": f"unit_test.intent_warehouse.{MODEL}.{name}", "status": "pass"} for name in names[4:]]
    )
    path = tmp_path / "run_results.json"
    path.write_text(json.dumps({"results": results}))
    assert passed_cases(path, names) == [names[0], *names[4:]]
    assert funnel_edge_cases(path) == (len(names), len(names) - 3)
