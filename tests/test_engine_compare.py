"""The cell comparison the Postgres and Spark builds are checked with (plugins/intent_pipeline/engine_compare.py)."""

from __future__ import annotations

import decimal

from intent_pipeline.engine_compare import comparable


def test_the_same_doubles_added_in_another_order_compare_equal():
    credits = [0.1 * k + 1 / 7 for k in range(1, 400)] + [3_800_000 + 2 / 7]
    forward = sum(credits)
    backward = sum(reversed(credits))
    assert forward != backward  # the sums really differ in their last digits
    assert comparable(forward) == comparable(backward)
    # Spark's and DuckDB's channel_attribution sums of the 3,000-people bench (docs/portability.md)
    assert comparable(3865807.285714286) == comparable(3865807.285714285)
    # a sum that should be 0, as one engine leaves it
    assert comparable(2.7e-17) == comparable(0.0) == comparable(decimal.Decimal("0"))


def test_a_real_difference_still_shows():
    assert comparable(3865807.28) != comparable(3865807.29)
    assert comparable(0.123456) != comparable(0.123457)
    assert comparable(1e-6) != comparable(0.0)
    assert comparable(decimal.Decimal("12.5")) == comparable(12.5) != comparable(12.25)
