"""What a re-delivered export does to ids and headers, through the real extract (the outside check).

A form or CRM export handled in a spreadsheet comes back with an id typed in full-width forms by a
Chinese input method (``ｓ－００５``, ``００Ｑａｂ１``) and, when two exports are joined into one file, with
its header row again among the data. Until 6 December the extract loaded ``ｓ－００５`` as written (a
second submission beside ``s-005`` on the incremental days: tests/outside/test_hostile_incremental_input.py)
and quarantined the repeated header as "not a timestamp: 'Submitted At'" or "not an email address:
'Email'". Now every id column folds full-width forms to ASCII (``normalize.identifier``), keeping case
(Salesforce's 15-character ids differ by case alone), and a repeated header row is quarantined saying so.
"""

from __future__ import annotations

from datetime import date

import pytest
from intent_pipeline import lake
from intent_pipeline.settings import Settings
from intent_pipeline.sources import extract_source

from tests.outside.lakehouse import SALESFORCE_LEADS, TYPEFORM, export_csv

DAY = date(2026, 11, 21)


@pytest.fixture()
def settings(tmp_path) -> Settings:
    return Settings.from_env({"INTENT_HOME": str(tmp_path), "INTENT_SOURCE_TIMEZONE": "Asia/Shanghai"})


def deliver(settings: Settings, source: str, name: str, data: bytes) -> None:
    from pathlib import Path

    folder = Path(settings.landing_for(source, DAY.isoformat()))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def test_form_ids_fold_full_width_forms_keep_case_and_a_repeated_header_is_named(settings):
    rows = [
        ["s-005", "Demo", "Eve", "eve@e.cn", "", "", "2026-11-21T01:00:00Z"],
        TYPEFORM,  # a second export pasted under the first
        ["ｓ－００６", "Demo", "Fay", "fay@f.cn", "", "", "2026-11-21T02:00:00Z"],
        ["S-007", "Demo", "Gus", "gus@g.cn", "", "", "2026-11-21T03:00:00Z"],
    ]
    deliver(settings, "forms", "typeform.csv", export_csv(TYPEFORM, rows, bom=True))
    counts = extract_source("forms", settings, DAY, batch_id="b")["tables"]["forms_submissions"]
    assert counts == {"read": 4, "loaded": 3, "quarantined": 1}, counts
    loaded = lake.read_partition(settings.lake_dir, "raw", "forms_submissions", DAY).to_pylist()
    assert [r["submission_id"] for r in loaded] == ["s-005", "s-006", "S-007"]
    (header,) = lake.read_partition(settings.lake_dir, "quarantine", "forms_submissions", DAY).to_pylist()
    assert header["reason"] == "the header row repeated as a data row (two exports joined into one file?)"
    assert header["_row_number"] == 2


def test_lead_ids_fold_full_width_forms_and_keep_case(settings):
    rows = [
        ["00Qab1", "a@x.cn", "", "A", "X", "New", "2026-11-20 10:00:00", "2026-11-20 10:00:00"],
        ["００Ｑａｂ１", "a@x.cn", "", "A", "X", "Working", "2026-11-20 10:00:00", "2026-11-21 10:00:00"],
        ["00QAB1", "z@x.cn", "", "Z", "X", "New", "2026-11-20 10:00:00", "2026-11-20 10:00:00"],
        SALESFORCE_LEADS,
    ]
    deliver(settings, "crm", "leads.csv", export_csv(SALESFORCE_LEADS, rows))
    counts = extract_source("crm", settings, DAY, batch_id="b")["tables"]["crm_leads"]
    assert counts == {"read": 4, "loaded": 3, "quarantined": 1}, counts
    loaded = lake.read_partition(settings.lake_dir, "raw", "crm_leads", DAY).to_pylist()
    assert [r["lead_id"] for r in loaded] == ["00Qab1", "00Qab1", "00QAB1"]  # two versions of one lead, and another
    (header,) = lake.read_partition(settings.lake_dir, "quarantine", "crm_leads", DAY).to_pylist()
    assert header["reason"].startswith("the header row repeated"), header
