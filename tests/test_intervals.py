"""The shared time rules: an interval's day and naive UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from intent_pipeline.intervals import interval_day, naive_utc


@pytest.mark.parametrize(
    "value",
    [date(2026, 11, 21), datetime(2026, 11, 21, 23, 59), datetime(2026, 11, 21, tzinfo=UTC), "2026-11-21"],
)
def test_interval_day_of_a_date_a_datetime_and_a_string(value):
    assert interval_day(value) == date(2026, 11, 21)


def test_interval_day_rejects_what_is_not_a_date():
    with pytest.raises(ValueError):
        interval_day("21/11/2026")


def test_naive_utc_converts_an_aware_moment_and_keeps_a_naive_one():
    beijing = timezone(timedelta(hours=8))
    assert naive_utc(datetime(2026, 11, 22, 8, 0, tzinfo=beijing)) == datetime(2026, 11, 22, 0, 0)
    assert naive_utc(datetime(2026, 11, 22, 8, 0)) == datetime(2026, 11, 22, 8, 0)
    assert naive_utc(datetime(2026, 11, 22, 8, 0, tzinfo=beijing)).tzinfo is None
