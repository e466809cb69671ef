"""The raw gate on real Parquet partitions read as DataFrames: clean data passes, planted violations fail."""

from __future__ import annotations

import json
import logging
from datetime import datetime

import pytest
from intent_pipeline.quality import QualityGateError, enforce_gate, validate_raw

from tests.quality.helpers import INTERVAL, SOURCE_OF, clean_raw_rows, write_clean_lake, write_raw_partition


def _failed(report: dict, table: str) -> list[dict]:
    return [r for r in report["tables"][table]["results"] if not r["success"]]


def test_clean_partition_passes_and_report_is_written_where_documented(settings):
    rows = write_clean_lake(settings.lake_dir)
    report = validate_raw(settings, INTERVAL)

    assert report["layer"] == "raw" and report["interval_start"] == "2026-11-21"
    assert report["success"] is True
    assert report["critical_failures"] == 0 and report["warning_failures"] == 0
    for table, table_rows in rows.items():
        table_report = report["tables"][table]
        assert table_report["rows"] == len(table_rows)
        assert table_report["success"] is True
        # Real evaluation, not an empty pass: column checks saw the rows (the duckdb-engine trap gives no metrics).
        counted = [r for r in table_report["results"] if r["unexpected_count"] is not None]
        assert counted and all(r["unexpected_count"] == 0 and r["error"] is None for r in counted)
    enforce_gate(report)  # does not raise

    folder = settings.reports_dir / "quality" / "dt=2026-11-21"
    assert json.loads((folder / "raw.json").read_text(encoding="utf-8")) == json.loads(json.dumps(report))
    summary = (folder / "raw.md").read_text(encoding="utf-8")
    assert "passed" in summary and "| email_events | 3 |" in summary


def test_planted_violations_fail_the_critical_gate_with_table_expectation_and_count(settings):
    rows = clean_raw_rows()
    rows["email_events"][1]["sg_event_id"] = None
    rows["email_events"][2]["event"] = "link_preview"
    rows["forms_submissions"][2]["email"] = "not an email"
    write_clean_lake(settings.lake_dir, rows)

    report = validate_raw(settings, INTERVAL)
    assert report["success"] is False
    assert report["tables"]["email_events"]["success"] is False
    assert report["tables"]["forms_submissions"]["success"] is False
    assert report["tables"]["web_events"]["success"] is True  # failures stay with their table

    null_id = next(r for r in _failed(report, "email_events") if r["column"] == "sg_event_id")
    assert null_id["expectation"] == "expect_column_values_to_not_be_null"
    assert null_id["severity"] == "critical" and null_id["unexpected_count"] == 1
    # Examples point at the landing row: source file and row number.
    assert null_id["examples"] == [{"value": None, "_source_file": SOURCE_OF["email_events"], "_row_number": 2}]
    unknown = next(
        r for r in _failed(report, "email_events") if r["expectation"] == "expect_column_values_to_be_in_set"
    )
    assert unknown["column"] == "event" and unknown["examples"][0]["value"] == "link_preview"

    with pytest.raises(QualityGateError) as caught:
        enforce_gate(report)
    message = str(caught.value)
    assert "critical expectation(s) failed in layer raw for interval 2026-11-21" in message
    assert "email_events: expect_column_values_to_not_be_null on sg_event_id — 1 of 3 rows unexpected" in message
    assert "email_events: expect_column_values_to_be_in_set on event — 1 of 3 rows unexpected" in message
    assert '"link_preview"' in message
    assert "forms_submissions: expect_column_values_to_match_regex on email — 1 of 3 rows unexpected" in message
    assert '"not an email"' in message and "_row_number=3" in message


def test_warning_only_violation_is_reported_and_logged_but_does_not_raise(settings, caplog):
    rows = clean_raw_rows()
    rows["web_events"][0]["device_category"] = "fridge"  # unknown GA4 device category: a warning
    rows["crm_orders"][0]["ordered_at"] = datetime(2022, 1, 1)  # very old, but a plausible time: a warning
    rows["crm_activities"][1]["activity_type"] = "Visit"  # not a contract type: loads, staging warns too
    write_clean_lake(settings.lake_dir, rows)

    report = validate_raw(settings, INTERVAL)
    assert report["success"] is True
    assert report["warning_failures"] == 3
    failed = _failed(report, "web_events") + _failed(report, "crm_orders") + _failed(report, "crm_activities")
    assert {(r["column"], r["severity"]) for r in failed} == {
        ("device_category", "warning"),
        ("ordered_at", "warning"),
        ("activity_type", "warning"),
    }
    with caplog.at_level(logging.WARNING, logger="intent_pipeline.quality"):
        enforce_gate(report)
    assert "web_events: expect_column_values_to_be_in_set on device_category — 1 of 2 rows" in caplog.text
    assert "crm_orders: expect_column_values_to_be_between on ordered_at" in caplog.text
    assert "crm_activities: expect_column_values_to_be_in_set on activity_type — 1 of 2 rows" in caplog.text


def test_impossible_times_and_broken_invariants_are_critical(settings):
    rows = clean_raw_rows()
    rows["web_events"][0]["event_at"] = datetime(1970, 1, 1, 0, 29)  # a µs timestamp read as ms
    rows["web_events"][1]["engagement_time_msec"] = -5
    rows["crm_opportunities"][1]["is_won"] = True  # won but not closed
    rows["crm_orders"][0]["amount"] = -1.0  # a refund: flagged as a warning, not run-stopping (issue 14)
    rows["crm_activities"][0]["activity_at"] = datetime(1970, 1, 1, 0, 28)  # an epoch-zero default
    write_clean_lake(settings.lake_dir, rows)

    report = validate_raw(settings, INTERVAL)
    critical = {(t, r["column"], r["condition"]) for t in report["tables"] for r in _failed(report, t)
                if r["severity"] == "critical"}  # fmt: skip
    assert critical == {
        ("web_events", "event_at", None),
        ("web_events", "engagement_time_msec", None),
        ("crm_opportunities", "is_closed", "is_won == true"),
        ("crm_activities", "activity_at", None),
    }
    refund = next(r for r in _failed(report, "crm_orders") if r["column"] == "amount")
    assert refund["severity"] == "warning" and refund["examples"][0]["value"] == -1.0
    with pytest.raises(QualityGateError, match=r"is_closed where is_won == true — 1 of 2 rows"):
        enforce_gate(report)


def test_form_without_email_and_phone_fails_but_phone_only_passes(settings):
    rows = clean_raw_rows()
    rows["forms_submissions"][1]["phone_raw"] = None  # row 2 has no email either
    write_clean_lake(settings.lake_dir, rows)
    report = validate_raw(settings, INTERVAL)
    failed = _failed(report, "forms_submissions")
    assert [(r["column"], r["condition"], r["unexpected_count"]) for r in failed] == [("email", "phone_raw is null", 1)]


def test_missing_partition_and_missing_column_are_clear_critical_failures(settings):
    write_clean_lake(settings.lake_dir)
    (settings.lake_dir / "raw" / "crm_orders" / "dt=2026-11-21" / "part-0.parquet").unlink()
    write_raw_partition(
        settings.lake_dir, "email_events", clean_raw_rows()["email_events"], drop_columns=("sg_event_id",)
    )

    report = validate_raw(settings, INTERVAL)  # no crash
    assert report["success"] is False
    orders = report["tables"]["crm_orders"]
    assert orders["rows"] is None and orders["success"] is False
    assert [r["expectation"] for r in orders["results"]] == ["table_exists"]
    assert report["tables"]["crm_leads"]["success"] is True  # the other tables were still validated

    with pytest.raises(QualityGateError) as caught:
        enforce_gate(report)
    message = str(caught.value)
    assert "crm_orders: table_exists — raw partition of crm_orders for 2026-11-21 not found" in message
    assert "email_events: expect_table_columns_to_match_set; e.g. missing column sg_event_id" in message
    assert "email_events: expect_column_values_to_not_be_null on sg_event_id — could not be evaluated" in message


def test_empty_partition_passes(settings):
    # An interval without rows still has a Parquet file with the full schema (contract); that is not a failure.
    # crm_activities: a CRM export without the activity report.
    write_clean_lake(settings.lake_dir, {"crm_orders": [], "crm_opportunities": [], "crm_activities": []})
    report = validate_raw(settings, INTERVAL)
    assert report["success"] is True
    assert report["tables"]["crm_orders"]["rows"] == 0
    assert report["tables"]["crm_activities"]["rows"] == 0 and report["tables"]["crm_activities"]["success"] is True


def test_activity_without_id_is_critical_and_duplicate_or_leadless_activities_warn(settings):
    rows = clean_raw_rows()
    activities = rows["crm_activities"]
    activities.append({**activities[0], "lead_id": None})  # the same activity id twice, and no lead
    activities.append({**activities[1], "activity_id": None})
    write_clean_lake(settings.lake_dir, rows)

    report = validate_raw(settings, INTERVAL)
    failed = {(r["expectation"], r["column"], r["severity"], r["unexpected_count"])
              for r in _failed(report, "crm_activities")}  # fmt: skip
    assert failed == {
        ("expect_column_values_to_not_be_null", "activity_id", "critical", 1),
        ("expect_column_values_to_not_be_null", "lead_id", "warning", 1),
        ("expect_column_values_to_be_unique", "activity_id", "warning", 2),
    }
    assert report["tables"]["crm_leads"]["success"] is True
    with pytest.raises(QualityGateError) as caught:
        enforce_gate(report)
    message = str(caught.value)
    assert "crm_activities: expect_column_values_to_not_be_null on activity_id — 1 of 4 rows unexpected" in message
    assert f"(_source_file={SOURCE_OF['crm_activities']}, _row_number=4)" in message


BLANK_IDS = ["", "   ", "\u3000", "\u200b", "\ufeff\u200d "]  # empty once read as an id (normalize.identifier)
CRM_IDS = {"crm_leads": ["lead_id"], "crm_opportunities": ["opportunity_id", "lead_id"],
           "crm_orders": ["order_id", "lead_id"], "crm_activities": ["activity_id", "lead_id"]}  # fmt: skip


def test_a_crm_id_empty_once_read_is_critical_even_when_another_writer_put_it_in_the_lake(settings):
    """The extract quarantines a CRM row whose id is empty (spaces or invisible characters alone, docs/sources.md);
    a Parquet file another writer dropped in the lake (an export already there) must not load one either:
    staging would key every such row on the same invisible id. An id with text around such characters passes."""
    rows = clean_raw_rows()
    for table, columns in CRM_IDS.items():
        base = rows[table][0]
        for column in columns:
            rows[table] += [{**base, column: blank} for blank in BLANK_IDS]
        rows[table].append({**base, columns[0]: "\u200b00Q5g0000AAAAAZ"})
    rows["crm_leads"][0]["lead_id"] = " 00Q5g0000AAAAAA"  # a space around an id is no empty id
    write_clean_lake(settings.lake_dir, rows)

    report = validate_raw(settings, INTERVAL)
    for table, columns in CRM_IDS.items():
        regex = "expect_column_values_to_match_regex"
        blank = {r["column"]: r for r in _failed(report, table) if r["expectation"] == regex}
        assert set(blank) == set(columns), (table, blank)
        for result in blank.values():
            assert result["severity"] == "critical" and result["unexpected_count"] == len(BLANK_IDS), result
            assert {example["value"] for example in result["examples"]} == set(BLANK_IDS)
            assert "empty required field" in result["why"]  # the extract's reason for the same row
    with pytest.raises(QualityGateError) as caught:
        enforce_gate(report)
    assert "crm_leads: expect_column_values_to_match_regex on lead_id — 5 of 8 rows unexpected" in str(caught.value)


def _crm_drop(settings, leads_rows: list[list], leads_header: list[str] | None = None) -> None:
    from tests.sources.helpers import csv_bytes, drop_dir
    from tests.sources.hostile import LEADS

    (drop_dir(settings, "crm") / "leads_export.csv").write_bytes(csv_bytes(leads_header or LEADS, leads_rows))


def _leads(n: int, created: str) -> list[list]:
    from tests.sources.hostile import leads_rows

    return [row[:12] + [created, ""] for row in (leads_rows(n))]


def test_a_table_mostly_in_quarantine_fails_the_gate_and_renamed_columns_are_named(settings):
    # An export whose dates no rule reads: every row quarantined used to pass the gate with 0 warnings.
    from tests.sources.helpers import extract
    from tests.sources.hostile import LEADS

    header = [("Job Title" if h == "Title" else h) for h in LEADS]  # an unknown column name, kept in extra
    _crm_drop(settings, _leads(25, "last Friday"), header)  # a date format no rule reads
    extract("crm", settings)

    report = validate_raw(settings, INTERVAL)

    share = next(r for r in report["tables"]["crm_leads"]["results"] if r["expectation"] == "quarantine_share_at_most")
    assert (share["success"], share["severity"], share["unexpected_count"], share["rows_checked"]) == (
        False, "critical", 25, 25)  # fmt: skip
    assert "crm/dt=2026-11-21/leads_export.csv: 25 of 25 rows quarantined" in share["examples"][0]
    columns = next(
        r for r in report["tables"]["crm_leads"]["results"] if r["expectation"] == "extract_columns_as_expected"
    )
    assert columns["success"] is False and columns["severity"] == "warning"
    assert any("'Job Title'" in example for example in columns["examples"]), columns["examples"]
    with pytest.raises(QualityGateError, match="crm_leads: quarantine_share_at_most — 25 of 25 rows unexpected"):
        enforce_gate(report)
    assert "Job Title" in (settings.reports_dir / "quality" / "dt=2026-11-21" / "raw.md").read_text(encoding="utf-8")
    # and in the run summary (`python -m intent_pipeline summary`, the summarize task's log)
    from intent_pipeline.report import build_summary, format_summary

    summary = build_summary(settings, INTERVAL)
    assert any("'Job Title'" in warning for warning in summary["extract_warnings"]["crm"])
    assert "  crm: " in format_summary(summary) and "'Job Title'" in format_summary(summary)


def test_quarantine_share_within_the_limit_passes_and_the_limit_is_configurable(settings):
    from tests.sources.helpers import extract

    rows = _leads(25, "2026-11-21 08:00:00")
    rows[0][12] = "not a date"  # 1 of 25 = 4 %
    _crm_drop(settings, rows)
    extract("crm", settings)

    def share_check(report: dict) -> dict:
        results = report["tables"]["crm_leads"]["results"]
        return next(r for r in results if r["expectation"] == "quarantine_share_at_most")

    assert share_check(validate_raw(settings, INTERVAL))["success"] is True
    assert share_check(validate_raw(settings, INTERVAL, max_share=0.01))["success"] is False


def test_a_corrupted_partition_names_the_file_and_the_table(settings):
    write_clean_lake(settings.lake_dir)
    part = settings.lake_dir / "raw" / "crm_orders" / "dt=2026-11-21" / "part-0.parquet"
    part.write_bytes(part.read_bytes()[:40])  # a half-copied file

    report = validate_raw(settings, INTERVAL)

    table = report["tables"]["crm_orders"]
    assert table["success"] is False
    assert str(part) in table["error"] and "crm_orders" in table["error"]
    assert report["tables"]["crm_leads"]["success"] is True


def test_a_failed_gate_says_which_check_failed_on_what_and_why_it_matters(settings):
    """The Airflow log shows the gate's exception: each failed critical check carries its suite's ``meta.why``."""
    from intent_pipeline.quality.suites import suite_path

    suite = json.loads(suite_path("raw", "crm_leads").read_text(encoding="utf-8"))
    (lowercase,) = [
        e for e in suite["expectations"] if e["kwargs"].get("column") == "email" and e["kwargs"]["regex"] == "^[^A-Z]*$"
    ]
    rows = clean_raw_rows()
    rows["crm_leads"][0]["email"] = "Ann@Example.com"  # another writer's file: the extract lower-cases emails
    write_clean_lake(settings.lake_dir, rows)

    with pytest.raises(QualityGateError) as caught:
        enforce_gate(validate_raw(settings, INTERVAL))

    (line,) = [line for line in str(caught.value).splitlines() if "crm_leads" in line and "on email" in line]
    assert "expect_column_values_to_match_regex on email" in line and "Ann@Example.com" in line, line
    assert line.endswith(f"— why: {lowercase['meta']['why']}"), line
