"""One day, one run: which runs the tasks refuse (pipeline.convention_error), without Airflow.

The same refusal through the real api-server and scheduler: tests/test_scheduler.py
(test_the_uis_plain_trigger_is_refused_before_any_work)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from intent_pipeline.pipeline import convention_error


def day(d: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 12, d, hour, minute, tzinfo=UTC)


def test_logical_date_equal_to_the_interval_start_runs():
    assert convention_error(day(4), day(4), day(5)) is None


def test_the_uis_plain_trigger_is_refused_with_the_day_it_would_have_run():
    """The form's default: logical date now, the interval Airflow infers (the last complete day)."""
    error = convention_error(day(5, 2, 41), day(4), day(5))
    assert error is not None
    assert "2026-12-05 02:41:00 UTC is not the start of its data interval" in error
    assert "start 2026-12-04 00:00, end 2026-12-05 00:00 and logical date 2026-12-04 00:00" in error
    assert "make run DATE=2026-12-04" in error


def test_a_logical_date_in_another_time_zone_is_compared_in_utc():
    shanghai = timezone(timedelta(hours=8))
    assert convention_error(datetime(2026, 12, 4, 8, tzinfo=shanghai), day(4), day(5)) is None
    assert convention_error(datetime(2026, 12, 4, 9, tzinfo=shanghai), day(4), day(5)) is not None


def test_a_run_without_a_logical_date_is_refused():
    error = convention_error(None, None, None)
    assert error is not None and "no logical date" in error


def test_the_cli_dags_test_date_keeps_its_interval_before_it():
    """``airflow dags test customer_intent D`` (the end-to-end tests' runner): logical date D at
    00:00, interval [D - 1, D). Not refused; docs/operations.md says not to use it for a past day."""
    assert convention_error(day(5), day(4), day(5)) is None
