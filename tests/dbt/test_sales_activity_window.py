"""The sales_activity rule's window at its edges (the day before the window, on its edge, its first day,
the point, after it): the dbt unit test ``sales_activity_window_edges``
(``models/intermediate/scoring/_sales_activity_window__unit_tests.yml``) runs in conftest's real
``dbt build``; this checks it ran and passed there, as the operations marts' unit tests are checked."""

from __future__ import annotations


def test_the_sales_activity_window_unit_test_ran_and_passed(warehouse):
    results = {r["unique_id"]: r["status"] for r in warehouse.results()}
    ours = {uid: status for uid, status in results.items()
            if uid.startswith("unit_test.") and uid.endswith(".sales_activity_window_edges")}  # fmt: skip
    assert len(ours) == 1, sorted(uid for uid in results if uid.startswith("unit_test."))
    assert set(ours.values()) == {"pass"}, (ours, warehouse.output)
