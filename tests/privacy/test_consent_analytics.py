"""The funnel and attribution marts hold only people with consent to analytics: a real dbt build of
the hand-written lake of tests/dbt/conftest.py, then a manual record (the seed ``consent_records``,
as the DPO would add it) withdrawing Carol's consent to analytics, and the marts rebuilt.

Carol is the lake's only converting person (a won opportunity): before the withdrawal she is in
``funnel_stages`` and every attribution mart; after it she is in none of them, and nobody else left.
"""

from __future__ import annotations

import duckdb
import pytest

from tests.dbt.conftest import WITHOUT_UNIT_TESTS, copy_of, dbt_parse_cache, run_dbt, warehouse  # noqa: F401
from tests.dbt.test_warehouse import person_of

pytestmark = pytest.mark.slow

PER_PERSON = ("marts.funnel_stages", "marts.attribution_touch_credits", "marts.attribution_conversion_credits")
REBUILT = (
    "int_consent_evidence int_consent_decided people person_consent funnel_stages funnel_conversion"
    " funnel_dropoff attribution_touch_credits attribution_conversion_credits channel_attribution"
)


def _people_in(build, table: str) -> set[str]:
    return {row[0] for row in build.query(f"select distinct person_id from {table} where person_id is not null")}


def _withdraw(build, identifier: str, purpose: str) -> None:
    """Add a manual record to the copy's loaded seed ``consent_records`` (the seed file stays as it is)."""
    con = duckdb.connect(str(build.warehouse))
    try:
        schema = con.execute(
            "select table_schema from information_schema.tables where table_name = 'consent_records'"
        ).fetchone()[0]
        con.execute(
            f"insert into {schema}.consent_records (identifier, purpose, granted, recorded_at, recorded_by, reason)"
            " values (?, ?, 'withdrawn', '2026-11-21 12:00:00', 'dpo@example.com', 'asked to stop analytics')",
            [identifier, purpose],
        )
    finally:
        con.close()


def test_a_person_who_withdrew_analytics_is_in_no_funnel_or_attribution_mart(warehouse, tmp_path):  # noqa: F811
    carol = person_of(warehouse, "crm_lead:00Qcarol")
    # before: Carol is in every per-person mart, and credited in the channel mart
    for table in PER_PERSON:
        assert carol in _people_in(warehouse, table), table
    assert warehouse.one("select sum(conversions) from marts.channel_attribution where attribution_model = 'linear'"
                         )[0] == pytest.approx(1.0)  # fmt: skip
    entered_before = warehouse.one(
        "select entered from marts.funnel_conversion where breakdown = 'overall' and stage_order = 1"
    )[0]

    build = copy_of(warehouse, tmp_path / "copy")
    _withdraw(build, "email:carol@shopmart.com", "analytics")
    done = run_dbt(build.base, build.lake, "build", "--select", *REBUILT.split(), *WITHOUT_UNIT_TESTS)
    assert done.returncode == 0, done.stdout[-4000:]

    consent = build.one(
        "select is_granted, basis, evidence_source from marts.person_consent where person_id = ? and purpose = ?",
        carol, "analytics",
    )  # fmt: skip
    assert consent == (False, "withdrawn", "manual")
    assert build.one("select consent_analytics from marts.people where person_id = ?", carol) == (False,)
    # her other purposes are untouched: a withdrawal of analytics is not one of crm_sync
    assert build.one("select consent_crm_sync from marts.people where person_id = ?", carol) == (True,)

    denied = {row[0] for row in build.query("select person_id from marts.people where not consent_analytics")}
    assert denied == {carol}
    for table in PER_PERSON:
        people = _people_in(build, table)
        assert not people & denied, table
    assert _people_in(build, "marts.funnel_stages") == _people_in(warehouse, "marts.funnel_stages") - {carol}
    # the aggregates built from the journeys leave her out too: the only conversion was hers
    assert build.query("select * from marts.channel_attribution") == []
    entered_after = build.one(
        "select entered from marts.funnel_conversion where breakdown = 'overall' and stage_order = 1"
    )[0]
    assert entered_after == entered_before - 1
