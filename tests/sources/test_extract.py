"""extract_source as the DAG calls it: row accounting, re-runs, intervals, fsspec URLs, empty drops."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import date, timedelta

import pytest
from intent_pipeline import lake
from intent_pipeline.settings import Settings
from intent_pipeline.sources import extract_source

from tests.sources.helpers import (
    BATCH,
    DAY,
    DS,
    LOADED_AT,
    assert_accounting,
    csv_bytes,
    drop_dir,
    extract,
    quarantine_rows,
    raw_rows,
)
from tests.sources.test_crm import write_crm_drop
from tests.sources.test_forms import JINSHUJU, JINSHUJU_ROWS, TYPEFORM

TYPEFORM_ROWS = [
    ["tf-1", "Book a Demo", "A", "a@example.com", "", "", "", "", "", "2026-11-21T08:00:00Z", "", ""],
    ["tf-2", "Book a Demo", "B", "bad address", "", "", "", "", "", "2026-11-21T08:00:00Z", "", ""],
    ["tf-3", "Book a Demo", "C", "", "", "", "", "", "", "2026-11-21T08:00:00Z", "", ""],
]


def write_forms_drop(settings: Settings, day: date = DAY) -> None:
    folder = drop_dir(settings, "forms", day)
    (folder / "jinshuju.csv").write_bytes(csv_bytes(JINSHUJU, JINSHUJU_ROWS, "gbk"))
    (folder / "typeform.csv").write_bytes(csv_bytes(TYPEFORM, TYPEFORM_ROWS))
    no_email = TYPEFORM[:3] + TYPEFORM[4:]
    (folder / "missing_email.csv").write_bytes(csv_bytes(no_email, [["x", "f", "n"] + [""] * 8]))


def lake_counts(settings: Settings, table: str, day: date = DAY) -> tuple[Counter, Counter]:
    """Rows per landing file actually in the raw and quarantine partitions."""
    raw = Counter(r["_source_file"] for r in raw_rows(settings, table, day))
    quarantined = Counter(r["_source_file"] for r in quarantine_rows(settings, table, day))
    return raw, quarantined


def test_manifest_accounts_for_every_row_and_matches_the_lake(settings):
    write_forms_drop(settings)
    write_crm_drop(settings)

    for source in ("forms", "crm"):
        manifest = extract(source, settings)
        assert manifest == lake.read_manifest(settings.lake_dir, source, DAY)
        assert (manifest["source"], manifest["interval_start"], manifest["batch_id"]) == (source, DS, BATCH)
        assert manifest["loaded_at"] == LOADED_AT.isoformat(sep=" ")
        assert_accounting(manifest)
        for table, counts in manifest["tables"].items():
            raw, quarantined = lake_counts(settings, table)
            assert sum(raw.values()) == counts["loaded"] and sum(quarantined.values()) == counts["quarantined"]
            for entry in (e for e in manifest["files"] if e["table"] == table):
                assert (raw[entry["path"]], quarantined[entry["path"]]) == (entry["loaded"], entry["quarantined"])

    forms = lake.read_manifest(settings.lake_dir, "forms", DAY)
    assert forms["tables"]["forms_submissions"] == {"read": 7, "loaded": 4, "quarantined": 3}
    assert len(forms["file_errors"]) == 1 and "missing_email.csv" in forms["file_errors"][0]


def test_rerun_replaces_the_partition(settings):
    write_forms_drop(settings)
    first = extract("forms", settings)
    raw_before = raw_rows(settings, "forms_submissions")

    second = extract("forms", settings, batch_id="manual__rerun")

    raw_after = raw_rows(settings, "forms_submissions")
    assert second["tables"] == first["tables"]
    assert len(raw_after) == len(raw_before) == first["tables"]["forms_submissions"]["loaded"]
    keys = [(r["_source_file"], r["_row_number"]) for r in raw_after]
    assert len(keys) == len(set(keys))  # no duplicates
    assert {r["_batch_id"] for r in raw_after} == {"manual__rerun"}
    assert len(quarantine_rows(settings, "forms_submissions")) == first["tables"]["forms_submissions"]["quarantined"]
    # Only the partition folder remains: no temp or trash folders left beside it.
    assert [
        p.name for p in lake.partition_dir(settings.lake_dir, "raw", "forms_submissions", DAY).parent.iterdir()
    ] == [f"dt={DS}"]

    # A file removed from the drop disappears from the partition on the next run: replaced, not appended.
    (drop_dir(settings, "forms") / "typeform.csv").unlink()
    third = extract("forms", settings)
    assert third["tables"]["forms_submissions"] == {"read": 4, "loaded": 3, "quarantined": 1}
    assert not any(r["_source_file"].endswith("typeform.csv") for r in raw_rows(settings, "forms_submissions"))


def test_each_interval_is_its_own_partition(settings):
    import duckdb

    next_day = DAY + timedelta(days=1)
    write_forms_drop(settings, DAY)
    (drop_dir(settings, "forms", next_day) / "typeform.csv").write_bytes(csv_bytes(TYPEFORM, TYPEFORM_ROWS[:1]))

    first = extract("forms", settings, DAY)
    second = extract("forms", settings, next_day)

    assert second["tables"]["forms_submissions"] == {"read": 1, "loaded": 1, "quarantined": 0}
    assert [r["_interval_start"] for r in raw_rows(settings, "forms_submissions", next_day)] == [next_day]
    assert raw_rows(settings, "forms_submissions", next_day)[0]["_source_file"] == f"forms/dt={next_day}/typeform.csv"
    # The glob dbt reads sees both intervals, and re-running one leaves the other alone.
    extract("forms", settings, DAY)
    glob = lake.raw_glob(settings.lake_dir, "forms_submissions")
    per_interval = dict(
        duckdb.sql(f"select _interval_start, count(*) from read_parquet('{glob}') group by 1").fetchall()
    )
    assert per_interval == {DAY: first["tables"]["forms_submissions"]["loaded"], next_day: 1}


def test_fsspec_memory_landing(tmp_path):
    import fsspec

    fs = fsspec.filesystem("memory")
    root = f"/landing-{uuid.uuid4().hex}"
    try:
        fs.pipe(f"{root}/forms/dt={DS}/typeform.csv", csv_bytes(TYPEFORM, TYPEFORM_ROWS))
        fs.pipe(f"{root}/web/dt={DS}/ga4.jsonl", b'{"event_name": "page_view"}\n')
        fs.pipe(f"{root}/web/dt={DS}/.partial_upload.jsonl", b"not read\n")
        settings = Settings.from_env({"INTENT_HOME": str(tmp_path), "INTENT_LANDING_URL": f"memory://{root}"})

        forms = extract_source("forms", settings, DAY, batch_id=BATCH, loaded_at=LOADED_AT)
        web = extract_source("web", settings, DAY, batch_id=BATCH, loaded_at=LOADED_AT)
    finally:
        fs.rm(root, recursive=True)

    assert forms["tables"]["forms_submissions"] == {"read": 3, "loaded": 1, "quarantined": 2}
    assert raw_rows(settings, "forms_submissions")[0]["_source_file"] == f"forms/dt={DS}/typeform.csv"
    assert web["tables"]["web_events"] == {"read": 1, "loaded": 0, "quarantined": 1}
    assert [f["path"] for f in web["files"]] == [f"web/dt={DS}/ga4.jsonl"]


@pytest.mark.parametrize("source", ["forms", "email", "web", "crm"])
def test_missing_drop_folder_gives_empty_partitions_with_full_schema(settings, source):
    import pyarrow.parquet as pq

    manifest = extract(source, settings)

    assert manifest["files"] == [] and manifest["file_errors"] == []
    assert set(manifest["tables"]) == set(lake.SOURCE_TABLES[source])
    for table, counts in manifest["tables"].items():
        assert counts == {"read": 0, "loaded": 0, "quarantined": 0}
        raw_file = lake.partition_path(settings.lake_dir, "raw", table, DAY)
        quarantine_file = lake.partition_path(settings.lake_dir, "quarantine", table, DAY)
        assert pq.read_metadata(raw_file).num_rows == 0 and pq.read_schema(raw_file) == lake.SCHEMAS[table]
        assert pq.read_schema(quarantine_file) == lake.QUARANTINE_SCHEMA
    saved = json.loads(lake.manifest_path(settings.lake_dir, source, DAY).read_text(encoding="utf-8"))
    assert saved["tables"] == manifest["tables"]


def test_unsupported_files_are_reported_and_hidden_files_ignored(settings):
    folder = drop_dir(settings, "forms")
    (folder / "typeform.csv").write_bytes(csv_bytes(TYPEFORM, TYPEFORM_ROWS[:1]))
    (folder / "old_export.xls").write_bytes(b"\xd0\xcf\x11\xe0 legacy excel")
    (folder / ".DS_Store").write_bytes(b"\x00\x01")

    manifest = extract("forms", settings)

    assert [f["path"] for f in manifest["files"]] == [f"forms/dt={DS}/old_export.xls", f"forms/dt={DS}/typeform.csv"]
    assert len(manifest["file_errors"]) == 1 and "unsupported file type" in manifest["file_errors"][0]
    assert "old_export.xls" in manifest["file_errors"][0]
    assert manifest["tables"]["forms_submissions"] == {"read": 1, "loaded": 1, "quarantined": 0}


def test_unknown_source_is_an_error(settings):
    with pytest.raises(ValueError, match="unknown source"):
        extract("fax", settings)
