"""An Excel-saved CSV export through the real extract and the real dbt staging (the outside check).

The forms and CRM exports of tests/outside/test_excel_serial_dates.py (a BOM, CRLF, a quoted line
break, serial day numbers where the date column had no date format) extracted into a lake and
built by ``dbt build --select +stg_forms__submissions +stg_crm__leads``: the staged times are the
times Excel showed, in UTC, and nothing is lost between read and staged.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from tests.dbt.conftest import run_dbt
from tests.outside.test_excel_serial_dates import FORMS, LEADS, TYPEFORM, excel_csv

pytestmark = pytest.mark.slow

DAY = date(2026, 11, 21)
INTERVAL = (datetime(2026, 11, 21), datetime(2026, 11, 22))
NO_TESTS = ("--exclude-resource-type", "test", "unit_test")  # the staging models and their seeds only


def test_serial_dates_reach_staging(tmp_path, dbt_parse_cache, monkeypatch):
    import duckdb
    from intent_pipeline.settings import Settings
    from intent_pipeline.sources import extract_source

    monkeypatch.setenv("INTENT_SOURCE_TIMEZONE", "Asia/Shanghai")
    settings = Settings.from_env({"INTENT_HOME": str(tmp_path), "INTENT_SOURCE_TIMEZONE": "Asia/Shanghai"})
    drops = {
        "forms": ("typeform.csv", excel_csv(TYPEFORM, [[k, "Demo", f"Name {k}", f"{k}@example.cn", "", c, s]
                                                        for k, c, s, _ in FORMS])),
        "crm": ("leads.csv", excel_csv(LEADS, [["00Q1", "li@example.cn", "13800001111", "Li Na", "Acme", "New",
                                                "46174.5", "46347.375"]])),
    }  # fmt: skip
    for source, (name, data) in drops.items():
        folder = Path(settings.landing_url) / source / f"dt={DAY}"
        folder.mkdir(parents=True)
        (folder / name).write_bytes(data)
        manifest = extract_source(source, settings, DAY, batch_id=f"excel/{source}", loaded_at=datetime(2026, 11, 22))
        assert not manifest["file_errors"] and all(t["quarantined"] == 0 for t in manifest["tables"].values())
    for source in ("email", "web"):  # empty partitions: every staging source exists
        extract_source(source, settings, DAY, batch_id=f"excel/{source}", loaded_at=datetime(2026, 11, 22))
    selection = ("--select", "+stg_forms__submissions", "+stg_crm__leads")  # with the seeds they read
    done = run_dbt(tmp_path / "dbt", settings.lake_dir, "build", *selection, *NO_TESTS, interval=INTERVAL)
    assert done.returncode == 0, done.stdout[-6000:]
    con = duckdb.connect(str(tmp_path / "dbt" / "warehouse.duckdb"), read_only=True)
    try:
        forms = dict(con.execute("select company, submitted_at from staging.stg_forms__submissions").fetchall())
        leads = con.execute("select created_at, updated_at from staging.stg_crm__leads").fetchall()
    finally:
        con.close()
    assert forms == {company: at for _, company, _, at in FORMS}
    assert leads == [(datetime(2026, 6, 1, 4, 0), datetime(2026, 11, 21, 1, 0))]
