"""Clean CRM payloads (issue 21, item 4): reasons in the CRM's language, the score's scale capped
by configuration, an address with a known-typo domain flagged and not pushed as it is. Against the
HubSpot fake over real HTTP (tests/fakes/hubspot.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from intent_pipeline.activation import HubSpotConfig, activate
from intent_pipeline.activation.config import ActivationConfigError
from intent_pipeline.activation.email_typos import known_typos, typo_reason
from intent_pipeline.activation.hubspot import contact_properties
from intent_pipeline.activation.ledger import Ledger

from tests.activation.conftest import INTERVAL_END, INTERVAL_START, assert_accounting
from tests.fakes.hubspot import FakeHubSpot

TOKEN = "pat-test-token"


def run(settings, server, run_id, **config):
    hubspot = HubSpotConfig(base_url=server.url, token=TOKEN, **config)
    report = activate(settings, INTERVAL_START, INTERVAL_END, run_id, hubspot=hubspot, dingtalk=None,
                      sleep=lambda s: None)  # fmt: skip
    assert_accounting(report)
    return report["hubspot"]


def test_reasons_in_the_crm_s_language_and_the_score_capped(settings, segment):
    segment.rows[0].update(lead_score=121, score_reasons="trial request +30, demo request +30")
    segment.save()
    with_chinese_reasons(settings.warehouse, {segment.rows[0]["person_id"]: "申请试用 +30，预约演示 +30"})
    # segment.rows[1] has no Chinese reasons: the English ones, never nothing
    with FakeHubSpot(token=TOKEN) as server:
        run(settings, server, "run-1", reasons_language="zh", max_score=100)
        sent = {i["id"]: i["properties"] for r in server.requests for i in r["body"]["inputs"]}
    first, second = sent[segment.rows[0]["email"]], sent[segment.rows[1]["email"]]
    assert first["intent_reasons"] == "申请试用 +30，预约演示 +30"
    assert first["intent_score"] == "100"  # 121 on the open scale, capped for a 0-100 field
    assert second["intent_reasons"] == segment.rows[1]["score_reasons"]
    # the defaults: English reasons, the open scale as scored
    props = contact_properties({**segment.rows[0], "score_reasons_zh": "申请试用 +30，预约演示 +30"})
    assert props["intent_reasons"] == "trial request +30, demo request +30" and props["intent_score"] == "121"


def with_chinese_reasons(warehouse, reasons: dict[str, str]) -> None:
    """The segment's optional column score_reasons_zh, as dbt builds it, for some people."""
    import duckdb

    con = duckdb.connect(str(warehouse))
    try:
        con.execute("alter table marts.segment_high_intent add column score_reasons_zh varchar")
        for person_id, text in reasons.items():
            update = "update marts.segment_high_intent set score_reasons_zh = ? where person_id = ?"
            con.execute(update, [text, person_id])
    finally:
        con.close()


def test_the_options_come_from_the_connection_extra():
    conn = SimpleNamespace(host="https://api.hubapi.com", schema=None, port=None, password="pat",
                           extra_dejson={"reasons_language": "zh", "max_score": "100"})  # fmt: skip
    config = HubSpotConfig.from_airflow_connection(conn)
    assert (config.reasons_language, config.max_score) == ("zh", 100)
    with pytest.raises(ActivationConfigError, match="reasons_language"):
        HubSpotConfig(base_url="https://api.hubapi.com", token="pat", reasons_language="fr")
    with pytest.raises(ActivationConfigError, match="max_score"):
        HubSpotConfig(base_url="https://api.hubapi.com", token="pat", max_score=0)


def test_an_address_with_a_known_typo_domain_is_flagged_and_not_pushed(settings, segment):
    typo = "xuyu515@163.cm"
    segment.rows[3]["email"] = typo
    segment.save()
    with FakeHubSpot(token=TOKEN) as server:
        report = run(settings, server, "run-1")
        sent = {i["id"] for r in server.requests for i in r["body"]["inputs"]}
    assert typo not in sent and "xuyu515@163.com" not in sent  # neither as typed nor guessed
    assert report["invalid"] == 1 and report["sent_ok"] == len(segment.rows) - 1
    with Ledger(settings.ledger_path) as ledger:
        reasons = [reason for _key, outcome, reason in _row_log(ledger) if outcome == "invalid"]
    assert reasons == ["email domain '163.cm' looks like a typo of '163.com' (seeds/email_domain_typos.csv): "
                       "not pushed as it is; correct the address in the source"]  # fmt: skip


def _row_log(ledger) -> list[tuple[str, str, str]]:
    return ledger.db.execute("select record_key, outcome, reason from activation_row_log").fetchall()


@pytest.mark.parametrize(("email", "flagged"), [
    ("xuyu515@163.cm", True), ("a@QQ.CON", True), ("b@gmial.com", True), ("c@163.com", False),
    ("d@example.cm", False), ("", False), (None, False),
])  # fmt: skip
def test_typo_domains_from_the_seed(email, flagged):
    assert (typo_reason(email) is not None) is flagged
    assert known_typos()["gmial.com"] == "gmail.com" and len(known_typos()) >= 20


def test_salesforce_reasons_in_the_crm_s_language():
    from intent_pipeline.activation.salesforce import SalesforceConfig, SalesforceDestination

    row = {"person_id": "p1", "email": "a@example.com", "full_name": "张伟", "company": "客户A", "lead_score": 70,
           "grade": "high_intent", "score_reasons": "trial request +30",
           "score_reasons_zh": "申请试用 +30"}  # fmt: skip
    config = SalesforceConfig("https://acme.my.salesforce.com", access_token="t", reasons_language="zh")
    assert SalesforceDestination(config).map_fields(row)["Intent_Reasons__c"] == "申请试用 +30"
    english = SalesforceConfig("https://acme.my.salesforce.com", access_token="t")
    assert SalesforceDestination(english).map_fields(row)["Intent_Reasons__c"] == "trial request +30"
    assert SalesforceDestination(config).validate({**row, "email": "x@qq.con"}).startswith("email domain 'qq.con'")
    with pytest.raises(ActivationConfigError, match="reasons_language"):
        SalesforceConfig("https://acme.my.salesforce.com", access_token="t", reasons_language="de")
