"""Consent and the audit trail in the warehouse: a real dbt build of the hand-written lake of
tests/dbt/conftest.py (its module docstring names the people; consent there: Alice ticked the
jinshuju box, Carol, Dave, Erin and Ivan the Typeform one, Judy did not, Henry's form had none;
Dave unsubscribed, Carol opted out of email in the CRM; two GA4 cookieless pings on /pricing)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from intent_pipeline.privacy import audit

from tests.dbt.conftest import copy_of, dbt_parse_cache, run_dbt, warehouse  # noqa: F401 (fixtures)
from tests.dbt.test_warehouse import person_of

pytestmark = pytest.mark.slow


def consent_of(warehouse, node_key: str) -> dict[str, tuple]:  # noqa: F811
    person = person_of(warehouse, node_key)
    rows = warehouse.query(
        "select purpose, is_granted, basis, evidence_source from marts.person_consent where person_id = ?", person
    )
    return {purpose: (granted, basis, source) for purpose, granted, basis, source in rows}


def test_consent_per_person_and_purpose_from_every_source(warehouse):  # noqa: F811
    alice = consent_of(warehouse, "crm_lead:00Qalice")
    assert alice["crm_sync"] == (True, "consent", "form_consent")
    assert alice["chat_alert"] == (True, "consent", "form_consent")
    dave = consent_of(warehouse, "email:dave@bank.com")
    assert dave["crm_sync"] == (True, "consent", "form_consent")
    assert dave["email_marketing"] == (False, "withdrawn", "email_unsubscribe")  # after his form
    carol = consent_of(warehouse, "crm_lead:00Qcarol")
    assert carol["email_marketing"] == (False, "withdrawn", "crm_email_opt_out")
    assert carol["crm_sync"] == (True, "consent", "form_consent")
    henry = consent_of(warehouse, "email:henry@old.cn")  # a form without a consent box: the defaults
    assert henry == {
        "analytics": (True, "default", None), "scoring": (True, "default", None),
        "crm_sync": (False, "default", None), "chat_alert": (False, "default", None),
        "email_marketing": (False, "default", None),
    }  # fmt: skip
    judy = consent_of(warehouse, "email:judy@two.com")  # unticked: no consent, and no withdrawal either
    assert judy["crm_sync"] == (False, "default", None)
    # marts.people carries the same decision, one column per purpose
    flags = warehouse.query(
        "select consent_crm_sync, consent_chat_alert, consent_email_marketing, consent_scoring from marts.people"
        " where person_id = ?", person_of(warehouse, "email:henry@old.cn"))  # fmt: skip
    assert flags == [(False, False, False, True)]
    rates = dict(warehouse.query("select purpose, people_consented from marts.consent_rates"))
    assert rates["crm_sync"] >= 5 and set(rates) == {"analytics", "scoring", "crm_sync", "chat_alert",
                                                      "email_marketing"}  # fmt: skip


def test_segments_hold_only_people_with_consent_to_their_purpose(warehouse):  # noqa: F811
    bad = warehouse.query(
        "select 'segment_high_intent', person_id from marts.segment_high_intent"
        " where not (consent_crm_sync or consent_chat_alert)"
        " union all select 'segment_crm_updates', person_id from marts.segment_crm_updates where not consent_crm_sync"
        " union all select 'segment_funnel_stalls', person_id from marts.segment_funnel_stalls"
        " where not consent_chat_alert"
        " union all select 'segment_score_changes', s.person_id from marts.segment_score_changes s"
        " join marts.people p using (person_id) where not p.consent_crm_sync"
    )
    assert bad == []
    segment = warehouse.query("select person_id, consent_crm_sync, consent_chat_alert from marts.segment_high_intent")
    assert segment == [(person_of(warehouse, "crm_lead:00Qalice"), True, True)]


def test_cookieless_pings_are_counted_and_never_a_person(warehouse):  # noqa: F811
    rows = warehouse.query(
        "select event_date, page_path, consented_events, denied_events, consent_rate from marts.web_consent_daily"
        " where denied_events > 0"
    )
    assert [(str(d), p, c, n, r) for d, p, c, n, r in rows] == [("2026-11-21", "/pricing", 0, 2, 0.0)]
    ids = ("w-ping-1", "w-ping-2")
    assert warehouse.query("select count(*) from staging.stg_web__events where event_id in (?, ?)", *ids) == [(0,)]
    assert warehouse.query(
        "select count(*) from intermediate.int_events_unified where event_id in (?, ?)", *(f"web:{i}" for i in ids)
    ) == [(0,)]
    # the pseudo id one ping carried is no identifier of anybody
    assert warehouse.query("select count(*) from intermediate.int_people_resolved where node_key = 'web:ping.device'"
                           ) == [(0,)]  # fmt: skip


def test_the_audit_trail_is_a_mart(warehouse, tmp_path):  # noqa: F811
    assert warehouse.query("select count(*) from marts.privacy_audit") == [(0,)]  # no record yet: empty, not failed
    build = copy_of(warehouse, tmp_path / "copy")
    audit.record("push", lake_dir=build.lake, destination="hubspot", purpose="crm_sync", record_count=3,
                 run_id="r1", mode="outbox", at=datetime(2026, 11, 22, 1, tzinfo=UTC))  # fmt: skip
    audit.record("publish", lake_dir=build.lake, destination="serving", purpose="analytics", record_count=40,
                 run_id="r1", at=datetime(2026, 11, 22, 2, tzinfo=UTC))  # fmt: skip
    done = run_dbt(build.base, build.lake, "build", "--select", "privacy_audit")
    assert done.returncode == 0, done.stdout[-3000:]
    rows = build.query("select event, destination, purpose, record_count, run_id from marts.privacy_audit"
                       " order by recorded_at")  # fmt: skip
    assert rows == [("push", "hubspot", "crm_sync", 3, "r1"), ("publish", "serving", "analytics", 40, "r1")]
