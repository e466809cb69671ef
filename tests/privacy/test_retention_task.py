"""Retention as the DAG's ``retention`` task (after ``publish``, in the warehouse pool): the
configured days from the environment, as of the interval's end (never the wall clock), an audit
record with the run's id (plugins/intent_pipeline/privacy/retention.py, dags/customer_intent.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from intent_pipeline import lake
from intent_pipeline.privacy import audit
from intent_pipeline.privacy.retention import retention_task
from intent_pipeline.settings import Settings

DAYS = (date(2026, 8, 1), date(2026, 10, 1), date(2026, 11, 30))
START, END = datetime(2026, 11, 30, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture()
def settings(tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("INTENT_HOME", str(tmp_path))
    monkeypatch.setenv("INTENT_RETENTION_RAW_DAYS", "90")
    monkeypatch.setenv("INTENT_RETENTION_QUARANTINE_DAYS", "30")
    settings = Settings.from_env()
    for day in DAYS:
        lake.write_partition(settings.lake_dir, "raw", "web_events", day, [{"event_id": f"w-{day}"}] * 3)
        lake.write_partition(settings.lake_dir, "quarantine", "web_events", day, [{"reason": "bad"}])
    return settings


def left(settings: Settings, zone: str) -> list[str]:
    return sorted(p.name for p in (settings.lake_dir / zone / "web_events").glob("dt=*"))


def test_the_task_purges_with_the_configured_days_as_of_the_interval_end(settings):
    result = retention_task(START, END, "scheduled__2026-12-01T00:00:00+00:00")
    assert result == {"as_of": "2026-12-01", "raw_days": 90, "quarantine_days": 30, "partitions_purged": 3,
                      "rows_purged": 3 + 1 + 1}  # fmt: skip
    assert left(settings, "raw") == ["dt=2026-10-01", "dt=2026-11-30"]
    assert left(settings, "quarantine") == ["dt=2026-11-30"]
    [record] = [r for r in audit.read(settings.lake_dir) if r["event"] == "retention_purge"]
    assert record["run_id"] == "scheduled__2026-12-01T00:00:00+00:00" and record["record_count"] == 5
    # a retry of the same run finds nothing more to purge and records nothing more
    again = retention_task(START, END, "scheduled__2026-12-01T00:00:00+00:00")
    assert again["partitions_purged"] == 0
    assert len([r for r in audit.read(settings.lake_dir) if r["event"] == "retention_purge"]) == 1


def test_a_backfill_of_an_old_day_counts_from_that_day(settings):
    """A backfill of 2026-10-01 purges as of 2026-10-02: the partition of the day it rebuilds stays."""
    retention_task(datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 2, tzinfo=UTC), "backfill__2026-10-02")
    assert left(settings, "raw") == ["dt=2026-08-01", "dt=2026-10-01", "dt=2026-11-30"]  # 62 days < 90
    assert left(settings, "quarantine") == ["dt=2026-10-01", "dt=2026-11-30"]


def test_bad_configured_days_fail_the_task(settings, monkeypatch):
    monkeypatch.setenv("INTENT_RETENTION_RAW_DAYS", "a year")
    with pytest.raises(ValueError, match="INTENT_RETENTION_RAW_DAYS"):
        retention_task(START, END, "r")
    assert len(left(settings, "raw")) == 3
