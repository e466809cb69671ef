"""Helpers for the extract tests: write drops, run the extract, read the lake."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

from intent_pipeline.settings import Settings

DAY = date(2026, 11, 21)
DS = DAY.isoformat()
LOADED_AT = datetime(2026, 11, 22, 0, 5, 0)
BATCH = "scheduled__2026-11-21T00:00:00+00:00"


def drop_dir(settings: Settings, source: str, day: date = DAY) -> Path:
    """The landing folder of one source and day (created)."""
    folder = Path(settings.landing_url) / source / f"dt={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def csv_bytes(header: list[str], rows: list[list], encoding: str = "utf-8") -> bytes:
    """A CSV export the way Excel and the vendors write it (\\r\\n line ends, quoted when needed)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def extract(source: str, settings: Settings, day: date = DAY, batch_id: str = BATCH) -> dict:
    from intent_pipeline.sources import extract_source

    return extract_source(source, settings, day, batch_id=batch_id, loaded_at=LOADED_AT)


def raw_rows(settings: Settings, table: str, day: date = DAY) -> list[dict]:
    from intent_pipeline import lake

    return lake.read_partition(settings.lake_dir, "raw", table, day).to_pylist()


def quarantine_rows(settings: Settings, table: str, day: date = DAY) -> list[dict]:
    from intent_pipeline import lake

    return lake.read_partition(settings.lake_dir, "quarantine", table, day).to_pylist()


def by_row(rows: list[dict], file_name: str) -> dict[int, dict]:
    """Rows of one landing file keyed by _row_number."""
    return {r["_row_number"]: r for r in rows if r["_source_file"].endswith("/" + file_name)}


def assert_accounting(manifest: dict) -> None:
    """read == loaded + quarantined for every file and table, and the tables sum their files."""
    for entry in manifest["files"]:
        assert entry["read"] == entry["loaded"] + entry["quarantined"], entry
    for table, counts in manifest["tables"].items():
        assert counts["read"] == counts["loaded"] + counts["quarantined"], (table, counts)
        files = [e for e in manifest["files"] if e["table"] == table]
        assert counts["read"] == sum(e["read"] for e in files), (table, counts, files)
