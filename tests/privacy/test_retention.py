"""Retention: raw and quarantine partitions past their limit are purged, with an audit record
(plugins/intent_pipeline/privacy/retention.py; docs/privacy.md, "Retention")."""

from __future__ import annotations

from datetime import date

import pytest
from intent_pipeline import lake
from intent_pipeline.privacy import audit
from intent_pipeline.privacy.retention import RetentionPolicy, purge
from intent_pipeline.settings import Settings

AS_OF = date(2026, 12, 1)
DAYS = (date(2026, 8, 1), date(2026, 10, 1), date(2026, 11, 30))  # 122, 61 and 1 day old


@pytest.fixture()
def settings(tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("INTENT_HOME", str(tmp_path))
    settings = Settings.from_env()
    for day in DAYS:
        lake.write_partition(settings.lake_dir, "raw", "forms_submissions", day, [{"submission_id": f"s-{day}"}] * 2)
        lake.write_partition(settings.lake_dir, "quarantine", "forms_submissions", day, [{"reason": "bad"}])
        lake.write_manifest(settings.lake_dir, "forms", day, {"source": "forms", "tables": {}})
    return settings


def days_left(settings: Settings, zone: str) -> list[str]:
    folder = settings.lake_dir / zone / "forms_submissions"
    return sorted(p.name for p in folder.glob("dt=*"))


def test_partitions_past_the_limit_are_purged_and_audited(settings):
    report = purge(settings, RetentionPolicy(raw_days=90, quarantine_days=30), as_of=AS_OF)
    assert days_left(settings, "raw") == ["dt=2026-10-01", "dt=2026-11-30"]
    assert days_left(settings, "quarantine") == ["dt=2026-11-30"]
    assert report["rows"] == 2 + 1 + 1
    [record] = [r for r in audit.read(settings.lake_dir) if r["event"] == "retention_purge"]
    assert record["record_count"] == 4
    assert "raw/forms_submissions/dt=2026-08-01" in record["details"]
    assert lake.read_manifest(settings.lake_dir, "forms", date(2026, 8, 1))["purged"][0]["zones"] == [
        "quarantine",
        "raw",
    ]


def test_a_dry_run_lists_and_keeps(settings):
    report = purge(settings, RetentionPolicy(raw_days=90, quarantine_days=30), as_of=AS_OF, dry_run=True)
    assert [(p["zone"], p["day"]) for p in report["partitions"]] == [
        ("raw", "2026-08-01"),
        ("quarantine", "2026-08-01"),
        ("quarantine", "2026-10-01"),
    ]
    assert len(days_left(settings, "raw")) == 3 and not audit.read(settings.lake_dir)


def test_zero_keeps_for_ever_and_nothing_due_records_nothing(settings):
    purge(settings, RetentionPolicy(raw_days=0, quarantine_days=0), as_of=AS_OF)
    assert len(days_left(settings, "raw")) == 3 and len(days_left(settings, "quarantine")) == 3
    assert not audit.read(settings.lake_dir)


def test_limits_from_the_environment():
    assert RetentionPolicy.from_env({}) == RetentionPolicy(400, 90)
    assert RetentionPolicy.from_env({"INTENT_RETENTION_RAW_DAYS": "30"}).raw_days == 30
    with pytest.raises(ValueError, match="INTENT_RETENTION_QUARANTINE_DAYS"):
        RetentionPolicy.from_env({"INTENT_RETENTION_QUARANTINE_DAYS": "-1"})


def test_the_command(settings, capsys):
    from intent_pipeline.__main__ import main

    assert main(["retention", "--as-of", "2026-12-01", "--raw-days", "70", "--quarantine-days", "0"]) == 0
    assert days_left(settings, "raw") == ["dt=2026-10-01", "dt=2026-11-30"]
    assert '"rows": 2' in capsys.readouterr().out
