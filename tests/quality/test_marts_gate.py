"""The marts gate's route (martsgate): the marts read one at a time, the checks against every person id
evaluated beside GX (quality/referential.py). Real DuckDB files, real GX: each table's report must equal GX's
own evaluation of the whole suite on the same mart."""

from __future__ import annotations

import intent_pipeline.quality.validate as validate_module
from intent_pipeline.quality import MART_TABLES, validate_marts
from intent_pipeline.quality.readers import read_marts
from intent_pipeline.quality.validate import _Runner, run_parameters

from tests.quality.helpers import INTERVAL, build_warehouse

# the last row of lead_scores (p_003) and of funnel_stages point at nobody; a null id in the credits (a warning)
ORPHANS = [
    "update marts.lead_scores set person_id = 'p_404' where rowid = (select max(rowid) from marts.lead_scores)",
    "update marts.funnel_stages set person_id = 'p_405' where rowid = (select max(rowid) from marts.funnel_stages)",
    "update marts.attribution_conversion_credits set person_id = null"
    " where rowid = (select min(rowid) from marts.attribution_conversion_credits)",
    "update marts.segment_high_intent set person_id = 'p_999'",
]


def _gx_report(settings, table: str) -> dict:
    """GX's own report of ``table``: the whole suite in GX, every person id as the suite parameter (main's route)."""
    frames = read_marts(settings.warehouse, ("people", table))
    people = frames["people"]
    ids = [] if isinstance(people, Exception) else list(dict.fromkeys(people["person_id"].dropna()))
    return _Runner("marts", INTERVAL, None, (table,)).table_report(table, frames[table], run_parameters(INTERVAL, ids))


def _in_set_row(report: dict, table: str) -> dict:
    (row,) = [
        r for r in report["tables"][table]["results"]
        if r["expectation"] == "expect_column_values_to_be_in_set" and r["column"] == "person_id"
    ]  # fmt: skip
    return row


def test_a_person_id_missing_from_people_in_the_last_row_fails_with_gxs_numbers(settings):
    build_warehouse(settings.warehouse, extra_sql=ORPHANS)
    report = validate_marts(settings, INTERVAL)

    assert report["success"] is False
    lead_scores = _in_set_row(report, "lead_scores")
    assert (lead_scores["success"], lead_scores["unexpected_count"], lead_scores["rows_checked"]) == (False, 1, 3)
    assert lead_scores["examples"] == [{"value": "p_404", "person_id": "p_404"}]
    funnel = _in_set_row(report, "funnel_stages")
    assert (funnel["success"], funnel["unexpected_count"], funnel["examples"][0]["value"]) == (False, 1, "p_405")
    segment = _in_set_row(report, "segment_high_intent")
    assert (segment["success"], segment["severity"], segment["unexpected_count"]) == (False, "critical", 1)
    credits = _in_set_row(report, "attribution_conversion_credits")
    # the null id is the not-null check's; among the others every id is a person's
    assert (credits["success"], credits["unexpected_count"], credits["rows_checked"]) == (True, 0, 4)
    for table in MART_TABLES:  # every row, and the rows' order, as GX gives them
        assert report["tables"][table] == _gx_report(settings, table), table


def test_without_a_people_mart_every_person_id_is_unknown_as_in_gx(settings):
    build_warehouse(settings.warehouse, skip=("people",))
    report = validate_marts(settings, INTERVAL)

    assert report["tables"]["people"]["results"][0]["expectation"] == "table_exists"
    segment = _in_set_row(report, "segment_high_intent")
    assert (segment["success"], segment["unexpected_count"]) == (False, 1)
    for table in ("lead_scores", "segment_high_intent", "funnel_stages", "attribution_conversion_credits"):
        assert report["tables"][table] == _gx_report(settings, table), table


def test_the_marts_are_read_one_at_a_time(settings, monkeypatch):
    build_warehouse(settings.warehouse)
    calls = []

    def recording(warehouse, tables, schema="marts", columns=None):
        calls.append((tables, columns))
        return read_marts(warehouse, tables, schema, columns)

    monkeypatch.setattr(validate_module, "read_marts", recording)
    report = validate_marts(settings, INTERVAL)

    assert report["success"] is True
    assert calls == [(("people",), ("person_id",))] + [((table,), None) for table in MART_TABLES]
