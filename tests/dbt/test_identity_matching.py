"""Probabilistic identity matching (the pipeline's matcher, macro configured_match_pairs) measured on outside data.

The evaluation is bench/identity_matching.py's: Splink's labelled splink_fake_1000.csv (1,000 records
of 181 people, read in place from ../shared/testdata/) goes through `dbt run-operation
identity_match_table`, the same SQL int_identity_match_pairs runs, with the committed seeds.
Thresholds below are what was measured minus a little slack (see the bench's docstring).
"""

from __future__ import annotations

import pytest

from tests.benches import load_bench
from tests.dbt.identity_builds import matcher_seeds

pytestmark = pytest.mark.slow


bench = load_bench("identity_matching")


@pytest.fixture(scope="module", autouse=True)
def splink_csv():
    # outside test data (MIT): fail rather than skip, so a missing folder cannot pass silently
    if not bench.SPLINK_CSV.exists():
        pytest.fail(f"outside test data missing: {bench.SPLINK_CSV} (shared/testdata sits beside the project)")
    return bench.SPLINK_CSV


@pytest.fixture(scope="module")
def splink_result(splink_csv, tmp_path_factory) -> dict:
    return bench.evaluate(splink_csv, seeded=matcher_seeds(tmp_path_factory))


def test_clustered_matches_beat_exact_email_by_a_clear_margin(splink_result):
    baseline = splink_result["exact_email_baseline"]["clustered"]
    assert baseline["f1"] == pytest.approx(0.70, abs=0.01)  # exact email: precision 1.0, recall 0.54
    clustered = splink_result["thresholds"][str(bench.DEFAULT_THRESHOLD)]["clustered"]
    # measured: precision 1.0, recall 0.958, F1 0.9785 (0.985 before issue 12's contradiction rules; 0.976
    # before the email levels' m/u were estimated)
    assert clustered["precision"] >= 0.97, clustered
    assert clustered["f1"] >= 0.95, clustered
    assert clustered["f1"] >= baseline["f1"] + 0.2, (clustered, baseline)


def test_pairs_above_the_threshold_are_precise(splink_result):
    pairs = splink_result["thresholds"][str(bench.DEFAULT_THRESHOLD)]["pairs"]
    # measured: precision 1.0, recall 0.848 (before clustering closes the chains). It was 0.882 while a
    # look-alike mailbox at one company domain (Jaro-Winkler >= 0.88) counted as evidence; since issue 12
    # two mailboxes at one company domain more than one typo apart are a contradiction, and this file's
    # mailboxes carry two or three random edits (erin01@york.com, erino@y0rk.com)
    assert pairs["precision"] >= 0.97, pairs
    assert pairs["recall"] >= 0.82, pairs


def test_blocking_stays_near_linear_and_reaches_the_true_pairs(splink_result):
    # measured: 4,237 of the 499,500 possible pairs compared, reaching 94.9 % of the 2,975 true pairs
    assert splink_result["compared_pairs"] <= 5 * splink_result["records"], splink_result["compared_pairs_by_rule"]
    assert splink_result["blocking_recall"] >= 0.93


def test_expectation_maximisation_finds_the_share_of_matches_without_labels(tmp_path_factory):
    estimated = bench.estimate(bench.SPLINK_CSV, seeded=matcher_seeds(tmp_path_factory))
    # truth: 2,975 matching pairs, 5.95 other records per record; measured 5.53
    assert 4.5 <= estimated["matches_per_record"] <= 7.0, estimated["matches_per_record"]
    m, u = estimated["m"], estimated["u"]
    for comparison in ("first_name", "last_name", "dob", "email", "city"):
        top = -1  # the highest level is "equal": far likelier for one person than for two
        assert m[comparison][top] > 0.5 and m[comparison][top] / u[comparison][top] > 2, (comparison, m, u)
    assert m["phone"] is None and m["company"] is None  # not in the data: left to the committed seed


def test_pipeline_pairs_on_the_hand_written_lake(warehouse):
    """The model in the real `dbt build` of conftest's lake: the people who are one person pair up,
    the strangers sharing a role mailbox or a placeholder phone do not."""
    ours = {r["unique_id"]: r["status"] for r in warehouse.results() if "int_identity_match_pairs" in r["unique_id"]}
    assert ours.get("model.intent_warehouse.int_identity_match_pairs") == "success", warehouse.output
    assert sum(uid.startswith("unit_test.") for uid in ours) >= 5, ours  # the yml's unit tests ran ...
    assert set(ours.values()) <= {"success", "pass"}, ours  # ... and passed, with its data tests
    pairs = {
        (left, right): matched_by
        for left, right, matched_by in warehouse.query(
            "select record_id_l, record_id_r, matched_by from intermediate.int_identity_match_pairs"
        )
    }
    assert pairs == {
        ("crm_leads:00Qalice", "forms:jinshuju:forms/dt=2026-11-21/export.csv#1"): "phone_suffix",
        ("crm_leads:00Qcarol", "forms:typeform:f-carol-trial"): "email_local",
        ("forms:typeform:f-erin-paper", "forms:typeform:f-erin-trial"): "email_local",
    }


def test_pipeline_counts_what_the_matcher_cannot_standardise(warehouse):
    """intermediate.int_identity_match_standardisation: one row per comparison of the configuration
    with what was present, failed and blocked (the guards already blanked the lake's placeholder
    phone and role mailbox in int_identity_records: tests/dbt/test_identity_configured.py counts those)."""
    rows = {
        comparison: (present, failed, blocked)
        for comparison, present, failed, blocked in warehouse.query(
            "select comparison, present_values, failed_values, blocked_values"
            " from intermediate.int_identity_match_standardisation"
        )
    }
    assert set(rows) == {"first_name", "last_name", "dob", "email", "phone", "company", "city", "national_id"}
    for comparison in ("phone", "email", "first_name", "company"):
        present, failed, blocked = rows[comparison]
        assert present > 0 and failed + blocked <= present, (comparison, rows[comparison])
    assert rows["dob"] == (0, 0, 0) and rows["national_id"] == (0, 0, 0)  # no source of ours carries them
