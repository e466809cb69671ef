"""A delivery at exactly a score point's instant counts for that point's person, and only theirs, in
both readers of macro person_delivery_events: the dbt unit tests of
``models/intermediate/scoring/_delivery_instant__unit_tests.yml`` (int_scoring_features' running
count of sends, int_lead_score_rules' email_delivery hits) run in conftest's real ``dbt build``; this
checks that both ran there and passed."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow  # the session's dbt build

NAMES = ("delivery_at_the_point_instant_counts_for_the_features", "delivery_at_the_point_instant_counts_for_the_rules")


def test_the_delivery_instant_unit_tests_ran_and_passed(warehouse):
    results = {r["unique_id"]: r["status"] for r in warehouse.results()}
    ours = {uid.rsplit(".", 1)[-1]: status for uid, status in results.items()
            if uid.startswith("unit_test.") and uid.rsplit(".", 1)[-1] in NAMES}  # fmt: skip
    assert sorted(ours) == sorted(NAMES), sorted(uid for uid in results if uid.startswith("unit_test."))
    assert set(ours.values()) == {"pass"}, (ours, warehouse.output)
