"""The raw gate in bounded memory (quality/batched.py): a partition read in record batches gives the report the
whole partition gives, on real Parquet partitions and real GX, with batches of a few rows."""

from __future__ import annotations

import json
import shutil

import pytest
from intent_pipeline.quality import validate_raw
from intent_pipeline.quality.readers import RawBatches
from intent_pipeline.quality.suites import SuiteError
from intent_pipeline.settings import EXPECTATIONS_DIR, Settings

from tests.quality.helpers import (
    INTERVAL,
    SOURCE_OF,
    clean_raw_rows,
    raw_partition_folder,
    raw_table,
    write_clean_lake,
)


def _write_files(lake_dir, table: str, rows: list[dict], sizes: list[int], **write_options) -> list:
    """``rows`` as the interval's partition of ``table`` in files of ``sizes`` rows (0: an empty file), in order."""
    import pyarrow.parquet as pq

    data, folder, paths, start = raw_table(table, rows), raw_partition_folder(lake_dir, table), [], 0
    for number, size in enumerate(sizes):
        paths.append(folder / f"part-{number:04d}.parquet")
        pq.write_table(data.slice(start, size), paths[-1], **write_options)
        start += size
    assert start == len(rows)
    return paths


def _settings(tmp_path, batch_rows: int) -> Settings:
    return Settings.from_env({"INTENT_HOME": str(tmp_path), "INTENT_RAW_GATE_BATCH_ROWS": str(batch_rows)})


def _batches(settings: Settings, table: str) -> int:
    return sum(1 for _ in RawBatches(settings.lake_dir, table, INTERVAL, settings.raw_gate_batch_rows))


def _result(report: dict, table: str, expectation: str, column: str) -> dict:
    return next(
        r for r in report["tables"][table]["results"] if r["expectation"] == expectation and r["column"] == column
    )


def _whole_and_batched(tmp_path, batch_rows: int, **kwargs) -> tuple[dict, dict]:
    """The report of the lake under tmp_path read whole (one batch) and in batches of ``batch_rows``."""
    whole = validate_raw(_settings(tmp_path, 1_000_000), INTERVAL, **kwargs)
    batched = validate_raw(_settings(tmp_path, batch_rows), INTERVAL, **kwargs)
    return whole, batched


def test_a_violation_only_in_the_last_batch_fails_the_gate(tmp_path):
    rows = clean_raw_rows()
    rows["email_events"][2]["event"] = "link_preview"  # the third row of three
    rows["email_events"][2]["sg_message_id"] = None
    write_clean_lake(_settings(tmp_path, 1).lake_dir, rows)

    whole, batched = _whole_and_batched(tmp_path, 1)
    assert _batches(_settings(tmp_path, 1), "email_events") == 3
    assert batched["success"] is False and batched["tables"]["email_events"]["success"] is False
    unknown = _result(batched, "email_events", "expect_column_values_to_be_in_set", "event")
    assert unknown["success"] is False and unknown["rows_checked"] == 3 and unknown["unexpected_count"] == 1
    assert unknown["examples"] == [
        {"value": "link_preview", "_source_file": SOURCE_OF["email_events"], "_row_number": 3}
    ]
    # the whole report is the one the partition read whole gives, every table and figure
    assert json.dumps(batched, default=str) == json.dumps(whole, default=str)


def test_a_duplicate_id_split_across_two_batches_fails_uniqueness(tmp_path):
    rows = clean_raw_rows()
    rows["forms_submissions"][2]["submission_id"] = rows["forms_submissions"][0]["submission_id"]  # rows 1 and 3
    write_clean_lake(_settings(tmp_path, 2).lake_dir, rows)

    whole, batched = _whole_and_batched(tmp_path, 2)
    assert _batches(_settings(tmp_path, 2), "forms_submissions") == 2  # rows 1-2, then row 3
    unique = _result(batched, "forms_submissions", "expect_column_values_to_be_unique", "submission_id")
    assert unique["success"] is False and unique["severity"] == "warning"  # as the suite says
    assert batched["warning_failures"] == 1
    assert unique["rows_checked"] == 3 and unique["unexpected_count"] == 2
    assert unique["unexpected_percent"] == pytest.approx(66.6667)
    assert [(e["value"], e["_row_number"]) for e in unique["examples"]] == [("1", 1), ("1", 3)]
    assert json.dumps(batched, default=str) == json.dumps(whole, default=str)


@pytest.mark.parametrize(
    ("mostly", "bad_rows", "passes"),
    [
        # batch 1 (rows 1-4) clean, batch 2 (rows 5-6) 1 bad of 2 = 0.5 under 0.7; overall 5 of 6 = 0.83 passes
        (0.7, {6}, True),
        # batch 2 clean (1.0, over 0.85), batch 1 0.75; overall 5 of 6 = 0.83 under 0.85 fails (the batches'
        # mean share, 0.875, would pass)
        (0.85, {2}, False),
    ],
)
def test_mostly_is_judged_on_the_totals_not_per_batch(tmp_path, mostly, bad_rows, passes):
    expectations = tmp_path / "expectations"
    shutil.copytree(EXPECTATIONS_DIR, expectations)
    suite_path = expectations / "raw" / "email_events.json"
    suite = json.loads(suite_path.read_text(encoding="utf-8"))
    suite["expectations"].append({
        "type": "expect_column_values_to_match_regex",
        "kwargs": {"column": "email", "regex": r"@example\.cn$", "mostly": mostly},
        "meta": {"severity": "critical", "why": "test: most mail to the .cn domain"},
    })  # fmt: skip
    suite_path.write_text(json.dumps(suite), encoding="utf-8")
    template = clean_raw_rows()["email_events"][0]
    events = [
        {**template, "sg_event_id": f"event-{n}", "email": "x@other.com" if n in bad_rows else template["email"]}
        for n in range(1, 7)
    ]
    write_clean_lake(_settings(tmp_path, 4).lake_dir, {"email_events": events})

    whole, batched = _whole_and_batched(tmp_path, 4, expectations_dir=expectations)
    assert _batches(_settings(tmp_path, 4), "email_events") == 2
    [domain] = [
        r for r in batched["tables"]["email_events"]["results"] if r["why"] == "test: most mail to the .cn domain"
    ]
    assert domain["success"] is passes and domain["unexpected_count"] == 1 and domain["rows_checked"] == 6
    assert domain["examples"] == ([] if passes else [{"value": "x@other.com", **_key(min(bad_rows))}])
    assert json.dumps(batched, default=str) == json.dumps(whole, default=str)


def _key(row_number: int) -> dict:
    return {"_source_file": SOURCE_OF["email_events"], "_row_number": row_number}


def test_a_suite_with_a_table_level_expectation_without_an_exact_merge_is_refused(tmp_path):
    expectations = tmp_path / "expectations"
    shutil.copytree(EXPECTATIONS_DIR, expectations)
    suite_path = expectations / "raw" / "crm_orders.json"
    suite = json.loads(suite_path.read_text(encoding="utf-8"))
    suite["expectations"].append({
        "type": "expect_column_mean_to_be_between", "kwargs": {"column": "amount", "min_value": 0},
        "meta": {"severity": "warning"},
    })  # fmt: skip
    suite_path.write_text(json.dumps(suite), encoding="utf-8")
    write_clean_lake(_settings(tmp_path, 1).lake_dir)
    with pytest.raises(SuiteError, match="expect_column_mean_to_be_between has no exact merge"):
        validate_raw(_settings(tmp_path, 1), INTERVAL, expectations_dir=expectations)


def test_a_batch_size_below_one_is_a_clear_error(tmp_path):
    write_clean_lake(_settings(tmp_path, 1).lake_dir)
    with pytest.raises(ValueError, match="INTENT_RAW_GATE_BATCH_ROWS must be at least 1"):
        validate_raw(_settings(tmp_path, 0), INTERVAL)


def test_a_partition_of_hundreds_of_small_files_fills_its_batches_across_files(tmp_path):
    # a partition landed as 300 files of one row (an extract that flushed often): 3 batches of 100 rows, not 300
    # batches (one GX run each), with an empty file among them, one file whose columns come in another order
    # and one without the optional column ``extra``; the report is the whole partition's
    import pyarrow.parquet as pq

    template = clean_raw_rows()["email_events"][0]
    events = [{**template, "sg_event_id": f"event-{n}"} for n in range(1, 301)]
    for bad in (150, 299):
        events[bad - 1]["event"] = "link_preview"
    write_clean_lake(_settings(tmp_path, 100).lake_dir)
    folder = raw_partition_folder(_settings(tmp_path, 100).lake_dir, "email_events")
    (folder / "part-0.parquet").unlink()
    paths = _write_files(folder.parents[2], "email_events", events, [1] * 120 + [0] + [1] * 180)
    reordered = pq.read_table(paths[10])
    pq.write_table(reordered.select(list(reversed(reordered.column_names))), paths[10])
    pq.write_table(pq.read_table(paths[200]).drop_columns(["extra"]), paths[200])

    sizes = [len(df) for df in RawBatches(folder.parents[2], "email_events", INTERVAL, 100)]
    assert sizes == [100, 100, 100]
    whole, batched = _whole_and_batched(tmp_path, 100)
    unknown = _result(batched, "email_events", "expect_column_values_to_be_in_set", "event")
    assert unknown["rows_checked"] == 300 and unknown["unexpected_count"] == 2
    assert [e["_row_number"] for e in unknown["examples"]] == [150, 299]
    assert batched["tables"]["email_events"]["rows"] == 300
    assert json.dumps(batched, default=str) == json.dumps(whole, default=str)


def test_files_without_statistics_give_every_batch_the_whole_partitions_dtypes(tmp_path):
    # Parquet written without column statistics (no null counts): a null in the last file only still makes
    # ga_session_id float64 in every batch, as in the whole partition, so the first batch's failing value is
    # reported as the whole partition reports it (-5.0, not -5)
    template = clean_raw_rows()["web_events"][0]
    events = [{**template, "event_id": f"{n:040x}"} for n in range(1, 7)]
    events[0]["ga_session_id"] = -5  # ga_session_id at least 0: a warning
    events[5]["ga_session_id"] = None
    write_clean_lake(_settings(tmp_path, 2).lake_dir)
    lake = _settings(tmp_path, 2).lake_dir
    (raw_partition_folder(lake, "web_events") / "part-0.parquet").unlink()
    _write_files(lake, "web_events", events, [2, 2, 2], write_statistics=False)

    assert [str(df["ga_session_id"].dtype) for df in RawBatches(lake, "web_events", INTERVAL, 2)] == ["float64"] * 3
    whole, batched = _whole_and_batched(tmp_path, 2)
    session = _result(batched, "web_events", "expect_column_values_to_be_between", "ga_session_id")
    assert session["success"] is False and session["unexpected_count"] == 1
    assert json.dumps(session["examples"]) == json.dumps([{"value": -5.0, **_web_key(1)}])
    assert json.dumps(batched, default=str) == json.dumps(whole, default=str)


def _web_key(row_number: int) -> dict:
    return {"_source_file": SOURCE_OF["web_events"], "_row_number": row_number}


def test_the_gate_reads_each_files_footer_once(tmp_path, monkeypatch):
    # validate_raw counts a partition's rows from the footers, then reads a small partition whole: with the
    # footers it already read, not by opening every file again
    import pyarrow.parquet as pq

    opened: list[str] = []

    class CountingParquetFile(pq.ParquetFile):
        def __init__(self, source, *args, metadata=None, **kwargs):
            if metadata is None:
                opened.append(str(source))
            super().__init__(source, *args, metadata=metadata, **kwargs)

    write_clean_lake(_settings(tmp_path, 1_000).lake_dir)
    monkeypatch.setattr(pq, "ParquetFile", CountingParquetFile)
    report = validate_raw(_settings(tmp_path, 1_000), INTERVAL)
    assert report["success"] is True
    assert len(opened) == 7 and len(set(opened)) == 7  # one file per raw table, each footer read once
