"""A CSV saved by Excel from a sheet whose date column had no date format (the outside check).

Excel then writes the cell's serial day number (``46347.375`` is 2026-11-21 09:00) instead of a date,
in a "CSV UTF-8" file: a BOM, CRLF line ends, a quoted newline in a field. Until 6 December the
extract quarantined every such row (``not a timestamp: '46347.375'``) although an XLSX export of the
same sheet loaded (its number cells were read as serials). Both now read one rule
(``normalize.excel_serial``, the 1900 date system), through the real extract; a number that is no
plausible serial is quarantined with the date it would be.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

import pytest
from intent_pipeline import lake
from intent_pipeline.settings import Settings
from intent_pipeline.sources import extract_source

DAY = date(2026, 11, 21)
TYPEFORM = ["Submission ID", "Form", "Full Name", "Email Address", "Phone Number", "Company", "Submitted At"]
LEADS = ["Lead ID", "Email", "Phone", "Name", "Company", "Status", "Created Date", "Last Modified Date"]
# (id, company with a line break typed in its cell, the serial Excel wrote, the time it is in Shanghai)
FORMS = [
    ("s1", "Acme\nShanghai office", "46347.375", datetime(2026, 11, 21, 1, 0)),  # 09:00 Shanghai
    ("s2", "Beta", "46347.6041666667", datetime(2026, 11, 21, 6, 30)),  # 14:30, as Excel rounds it
    ("s3", "Gamma", "46347", datetime(2026, 11, 20, 16, 0)),  # a date without a time: midnight
]


def excel_csv(header: list[str], rows: list[list[str]]) -> bytes:
    """What Excel's "CSV UTF-8 (Comma delimited)" writes: a BOM, CRLF, fields with line breaks quoted."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([header, *rows])
    return out.getvalue().encode("utf-8-sig")


@pytest.fixture()
def settings(tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("INTENT_HOME", str(tmp_path))
    monkeypatch.setenv("INTENT_SOURCE_TIMEZONE", "Asia/Shanghai")
    return Settings.from_env()


def drop(settings: Settings, source: str, name: str, data: bytes) -> None:
    folder = Path(settings.landing_url) / source / f"dt={DAY}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def test_serial_dates_in_an_excel_csv_load_as_the_xlsx_would(settings):
    rows = [[key, "Demo", f"Name {key}", f"{key}@example.cn", "", company, serial] for key, company, serial, _ in FORMS]
    rows.append(["s9", "Demo", "Name s9", "s9@example.cn", "", "Delta", "12345"])  # 1933: no date of this export
    drop(settings, "forms", "typeform.csv", excel_csv(TYPEFORM, rows))
    manifest = extract_source("forms", settings, DAY, batch_id="b/forms")
    assert manifest["tables"]["forms_submissions"] == {"read": 4, "loaded": 3, "quarantined": 1}
    loaded = {r["submission_id"]: r for r in lake.read_partition(settings.lake_dir, "raw", "forms_submissions", DAY)
              .to_pylist()}  # fmt: skip
    for key, company, _, at in FORMS:
        assert loaded[key]["submitted_at"] == at, key
        assert loaded[key]["company"] == company  # the quoted line break kept, the CRLF of the file not in it
    (rejected,) = lake.read_partition(settings.lake_dir, "quarantine", "forms_submissions", DAY).to_pylist()
    assert "an Excel serial day number: 1933-10-18" in rejected["reason"], rejected["reason"]


def test_serial_dates_in_a_crm_report(settings):
    rows = [["00Q1", "li@example.cn", "13800001111", "Li Na", "Acme", "New", "46174.5", "46347.375"]]
    drop(settings, "crm", "leads.csv", excel_csv(LEADS, rows))
    manifest = extract_source("crm", settings, DAY, batch_id="b/crm")
    assert manifest["tables"]["crm_leads"] == {"read": 1, "loaded": 1, "quarantined": 0}
    (lead,) = lake.read_partition(settings.lake_dir, "raw", "crm_leads", DAY).to_pylist()
    assert (lead["created_at"], lead["updated_at"]) == (datetime(2026, 6, 1, 4, 0), datetime(2026, 11, 21, 1, 0))
