"""Retention: raw lake and quarantine partitions older than a configured number of days are purged
(docs/privacy.md, "Retention").

``python -m intent_pipeline retention [--as-of DAY] [--dry-run]`` removes
``<lake>/raw/<table>/dt=D`` when ``D`` is more than ``INTENT_RETENTION_RAW_DAYS`` (default 400)
days before the as-of day, and ``<lake>/quarantine/<table>/dt=D`` past
``INTENT_RETENTION_QUARANTINE_DAYS`` (default 90); each purge is recorded in the audit trail
(tables, days, rows). ``0`` keeps a zone for ever. A partition is moved aside by rename and then
removed, so a reader sees it whole or not at all. The interval's manifest stays (counts only, no
personal data) and says ``purged_at``. The marts are built from what the lake holds: after a purge,
the next build no longer sees those days' events (the incremental tables keep what they derived).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from intent_pipeline.settings import Settings

# the defaults live on Settings (INTENT_RETENTION_RAW_DAYS, INTENT_RETENTION_QUARANTINE_DAYS)
DEFAULT_RAW_DAYS: int = Settings.model_fields["retention_raw_days"].default
DEFAULT_QUARANTINE_DAYS: int = Settings.model_fields["retention_quarantine_days"].default


@dataclass(frozen=True)
class RetentionPolicy:
    raw_days: int = DEFAULT_RAW_DAYS
    quarantine_days: int = DEFAULT_QUARANTINE_DAYS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RetentionPolicy:
        """``INTENT_RETENTION_RAW_DAYS`` and ``INTENT_RETENTION_QUARANTINE_DAYS`` (whole days >= 0)."""
        settings = Settings.from_env(env)
        return cls(raw_days=settings.retention_raw_days, quarantine_days=settings.retention_quarantine_days)

    def days(self, zone: str) -> int:
        return self.raw_days if zone == "raw" else self.quarantine_days


def expired(settings: Settings, policy: RetentionPolicy, as_of: date) -> list[tuple[str, str, date, Path]]:
    """``(zone, table, day, folder)`` of every partition past its zone's limit."""
    from intent_pipeline import lake

    found = []
    for zone in lake.ZONES:
        keep = policy.days(zone)
        if keep == 0:
            continue
        cutoff = as_of - timedelta(days=keep)
        for table in lake.TABLE_COLUMNS:
            for folder in sorted((Path(settings.lake_dir) / zone / table).glob("dt=*")):
                try:
                    day = date.fromisoformat(folder.name.removeprefix("dt="))
                except ValueError:
                    continue
                if day < cutoff:
                    found.append((zone, table, day, folder))
    return found


def _rows(folder: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(part).metadata.num_rows for part in folder.glob("*.parquet"))


def purge(
    settings: Settings,
    policy: RetentionPolicy,
    *,
    as_of: date | None = None,
    dry_run: bool = False,
    run_id: str | None = None,
) -> dict:
    """Purge (or list) the expired partitions; one audit record per purge that removed anything
    (with the DAG run's id when the DAG's ``retention`` task runs it)."""
    from intent_pipeline import lake
    from intent_pipeline.privacy import audit

    as_of = as_of or datetime.now(UTC).date()
    partitions = expired(settings, policy, as_of)
    listed: list[dict[str, Any]] = [
        {"zone": zone, "table": table, "day": day.isoformat(), "rows": _rows(folder)}
        for zone, table, day, folder in partitions
    ]
    rows = sum(int(p["rows"]) for p in listed)
    report: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "raw_days": policy.raw_days,
        "quarantine_days": policy.quarantine_days,
        "dry_run": dry_run,
        "partitions": listed,
        "rows": rows,
    }
    if dry_run or not partitions:
        return report
    purged_days: dict[tuple[str, date], set[str]] = {}
    for zone, table, day, folder in partitions:
        trash = folder.with_name(f".trash-{folder.name}-{uuid.uuid4().hex[:12]}")
        os.rename(folder, trash)
        shutil.rmtree(trash, ignore_errors=True)
        source = next(s for s, tables in lake.SOURCE_TABLES.items() if table in tables)
        purged_days.setdefault((source, day), set()).add(zone)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for (source, day), zones in purged_days.items():
        try:
            manifest = lake.read_manifest(settings.lake_dir, source, day)
        except FileNotFoundError:
            continue
        manifest.setdefault("purged", []).append({"purged_at": now, "zones": sorted(zones)})
        lake.write_manifest(settings.lake_dir, source, day, manifest)
    audit.record(
        "retention_purge",
        lake_dir=settings.lake_dir,
        record_count=rows,
        run_id=run_id,
        as_of=report["as_of"],
        raw_days=policy.raw_days,
        quarantine_days=policy.quarantine_days,
        partitions=[f"{p['zone']}/{p['table']}/dt={p['day']}" for p in listed],
    )
    return report


def retention_task(interval_start: datetime, interval_end: datetime, run_id: str) -> dict:
    """The ``customer_intent`` DAG's ``retention`` task (after ``publish``): purge with the
    configured days (``INTENT_RETENTION_RAW_DAYS``, ``INTENT_RETENTION_QUARANTINE_DAYS``) as of the
    interval's end day, never the wall clock, so a re-run of the same interval purges the same
    partitions. Returns counts only (no personal data in the XCom)."""
    settings = Settings.from_env()
    policy = RetentionPolicy.from_env()
    as_of = interval_end.date()
    report = purge(settings, policy, as_of=as_of, run_id=run_id)
    return {
        "as_of": report["as_of"],
        "raw_days": policy.raw_days,
        "quarantine_days": policy.quarantine_days,
        "partitions_purged": len(report["partitions"]),
        "rows_purged": report["rows"],
    }
