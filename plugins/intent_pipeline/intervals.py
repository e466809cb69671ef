"""The two time rules every stage shares: which day an interval is, and naive UTC.

The lake, the extract, the gates and the DAG's tasks all receive an interval's start as a date, a
datetime (Airflow's, time-zone aware) or an ISO string, and store timestamps as naive UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime


def interval_day(value: date | datetime | str) -> date:
    """The day an interval starts on: a datetime's date, a date, or an ISO date string."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def naive_utc(moment: datetime) -> datetime:
    """``moment`` in UTC without a time zone (an aware one is converted, a naive one is taken as UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment
