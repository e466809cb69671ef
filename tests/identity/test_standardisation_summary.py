"""The identity matcher's standardisation counts reach the run summary (issue 12, item 2).

Records in the matcher's record columns are written as `intermediate.int_identity_records` of a
DuckDB file, with a few planted bad values; the real model int_identity_match_standardisation is
built from them by `dbt run --select` (seeds loaded by `dbt seed` once per test run:
tests/dbt/identity_builds.py), and the run summary's reader (intent_pipeline.report) must count
each planted value under its comparison, with its reason.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from intent_pipeline.report import format_identity_standardisation, format_summary, identity_standardisation

from tests.benches import load_bench
from tests.dbt.conftest import shares_the_parse
from tests.dbt.identity_builds import seeded_warehouse

pytestmark = pytest.mark.slow

im = load_bench("identity_matching")

COLUMNS = ["record_id", "full_name", "email", "phone", "company", "dob"]
RECORDS = [
    ("forms:1", "王伟", "wang.wei@huatech.com", "+86 139 1234 5678", "华泰科技", "1990-05-01"),
    ("forms:2", "Li Na", "li.na@shopmart.com", "021-6543-2109", "Shopmart", None),
    # planted: a phone too short to compare, an address without @, a date that is no date
    ("forms:3", "Zhang Min", "zhang.min#shopmart.com", "12345", "Shopmart", "1988-02-31"),
    # planted: the placeholder phone of Chinese manuals and a team mailbox (blocked, not failed)
    ("crm_leads:4", "Liu Yang", "procurement@zhongkeankj.cn", "+8613800138000", "中科安", None),
]


@pytest.fixture(scope="module", autouse=True)
def shared_parse(tmp_path_factory):
    """The module's dbt runs start from the test run's parse (and its empty scratch lake), never from
    a developer's data/state: tests/dbt's session fixture does not reach this folder."""
    with pytest.MonkeyPatch.context() as patch:
        yield shares_the_parse(tmp_path_factory, patch)


@pytest.fixture(scope="module")
def counted(shared_parse, tmp_path_factory):
    import duckdb

    base = Path(tempfile.mkdtemp(prefix="intent-identity-standardisation-"))
    try:
        warehouse = seeded_warehouse(tmp_path_factory, base)  # the matcher's seeds, loaded once per test run
        con = duckdb.connect(str(warehouse))
        try:
            con.execute("create schema intermediate")
            columns = ", ".join(f"{c} varchar" for c in im.INTERFACE)
            con.execute(f"create table intermediate.int_identity_records ({columns})")
            con.executemany(
                f"insert into intermediate.int_identity_records ({', '.join(COLUMNS)}) values (?, ?, ?, ?, ?, ?)",
                RECORDS,
            )
        finally:
            con.close()
        im.run_dbt(base, "run", "--select", "int_identity_record_standardisation", "int_identity_match_standardisation")
        yield identity_standardisation(warehouse)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_planted_bad_values_are_counted_per_column_with_their_reason(counted):
    rows = {row["comparison"]: row for row in counted}
    assert (rows["phone"]["failed_values"], rows["phone"]["blocked_values"]) == (1, 1)
    assert rows["phone"]["failure_reason"] == "fewer than 8 digits"
    assert rows["phone"]["present_values"] == 4
    assert (rows["email"]["failed_values"], rows["email"]["blocked_values"]) == (1, 1)
    assert rows["email"]["failure_reason"] == "no @"
    assert rows["dob"]["failed_values"] == 1 and rows["dob"]["present_values"] == 2
    assert rows["dob"]["source_column"] == "dob"
    # a comparison where every value standardised is not listed
    assert "company" not in rows and "first_name" not in rows


def test_the_summary_line_names_each_count(counted):
    line = format_identity_standardisation(counted)
    assert "phone (phone): 1 of 4 failed (fewer than 8 digits), 1 blocked" in line
    assert "email (email): 1 of 4 failed (no @), 1 blocked" in line
    assert "dob (dob): 1 of 2 failed (no date" in line
    summary = {
        "interval_start": "2026-11-21",
        "sources": {},
        "quality": {"raw": True, "marts": True},
        "warehouse": {"people": 4, "leads_by_grade": {}, "segment_high_intent": 0, "newly_hot": 0,
                      "funnel_stalls": 0, "newly_stalled": 0},
        "identity_standardisation": counted,
        "activation": None,
        "paths": {},
    }  # fmt: skip
    assert line in format_summary(summary).splitlines()


def test_nothing_to_report_and_no_model(tmp_path):
    assert format_identity_standardisation([]) == "identity values not standardised: none"
    assert identity_standardisation(tmp_path / "missing.duckdb") is None
