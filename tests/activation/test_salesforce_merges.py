"""A Salesforce Lead pushed under a merged-away person id is merged into the survivor's Lead with the
SOAP API's ``merge()``, over real HTTP to the fake org (REST read by external id, SOAP merge with its
faults), once per pair, each outcome in the ledger (``salesforce-merge@<org>``), faults classified:
retry later, fail the task, refuse and record."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest
import requests
from intent_pipeline.activation import DestinationRefused, activate
from intent_pipeline.activation.crm_merges import SALESFORCE_DESTINATION
from intent_pipeline.activation.ledger import Ledger
from intent_pipeline.activation.salesforce import SalesforceAuthError, SalesforceConfig, SalesforceDestination
from intent_pipeline.activation.salesforce.merge import (
    PARTNER,
    SOAP_ENV,
    SOBJECT,
    SalesforceMerger,
    merge_envelope,
    merge_results,
    parse_xml,
    soap_fault,
)

from tests.activation.conftest import INTERVAL_END, INTERVAL_START, Segment, make_rows
from tests.activation.test_crm_destinations import SF_TOKEN
from tests.activation.test_hubspot import Sleeps
from tests.activation.test_merges import merge
from tests.fakes.salesforce import FakeSalesforce, endpoint

REFRESH = "5Aep861fake.refresh.token"  # the fake's refresh token
SOAP_PATH = "/services/Soap/u/61.0"


@pytest.fixture
def small(settings) -> Segment:
    return Segment(settings, make_rows(4))


def config_for(server, **options) -> SalesforceConfig:
    return SalesforceConfig(server.url, SF_TOKEN, **options)


def oauth_config(server) -> SalesforceConfig:
    """The fake's connected app and refresh token, and the fake's current access token."""
    return SalesforceConfig(server.url, SF_TOKEN, client_id=server.client_id, client_secret=server.client_secret,
                            refresh_token=REFRESH, login_url=server.url)  # fmt: skip


def run(settings, config: SalesforceConfig, run_id: str, sleep=None) -> dict:
    """One activation run with Salesforce as its CRM (HubSpot and DingTalk write their outboxes)."""
    report = activate(settings, INTERVAL_START, INTERVAL_END, run_id, hubspot=None, dingtalk=None,
                      sleep=sleep or Sleeps(), more=((SalesforceDestination, config),))  # fmt: skip
    return report["salesforce"]


def merge_entries(settings, config: SalesforceConfig) -> dict:
    with Ledger(settings.ledger_path) as ledger:
        return ledger.entries(f"{SALESFORCE_DESTINATION}@{config.ledger_scope}")


def soap_calls(server) -> list[dict]:
    return [r for r in server.requests if endpoint(r) == "soap"]


def merged_p0_into_p1(settings, small, server, config) -> tuple[str, str]:
    """Run 1 pushes p00000 and p00001; the next build merges p00000 into p00001. Their Lead ids."""
    first = run(settings, config, "run-1")
    assert first["sent_ok"] == 4 and "merges" not in first
    merge(small, "p00000", "p00001", newly_hot=False)
    return server.ids["p00000"], server.ids["p00001"]


def test_the_merged_away_lead_is_merged_into_the_survivors_once(settings, small):
    with FakeSalesforce(token=SF_TOKEN) as server:
        config = config_for(server)
        gone, kept = merged_p0_into_p1(settings, small, server, config)
        second = run(settings, config, "run-2")
        assert second["merges"] == {"pairs": 1, "merged": 1, "nothing_to_merge": 0, "rejected": 0, "deferred": 0,
                                    "already": 0, "dead_lettered": 0, "requests": 3}  # fmt: skip
        assert server.merges == [(kept, gone)]
        assert "p00000" not in server.records and server.records["p00001"]["Intent_Person_Id__c"] == "p00001"
        # the request as the partner WSDL has it: the session header, one MergeRequest, master = survivor
        call = soap_calls(server)[0]
        assert call["headers"]["content-type"].startswith("text/xml") and call["headers"]["soapaction"] == '""'
        envelope = ElementTree.fromstring(call["body"])
        session = f"{{{SOAP_ENV}}}Header/{{{PARTNER}}}SessionHeader/{{{PARTNER}}}sessionId"
        assert envelope.findtext(session) == SF_TOKEN
        request = envelope.find(f"{{{SOAP_ENV}}}Body/{{{PARTNER}}}merge/{{{PARTNER}}}request")
        assert request.findtext(f"{{{PARTNER}}}masterRecord/{{{SOBJECT}}}type") == "Lead"
        assert request.findtext(f"{{{PARTNER}}}masterRecord/{{{SOBJECT}}}Id") == kept
        assert [e.text for e in request.findall(f"{{{PARTNER}}}recordToMergeIds")] == [gone]
        # done once: the next run neither reads nor merges again
        before = server.calls()
        third = run(settings, config, "run-3")
        assert third["merges"]["already"] == 1 and third["merges"]["requests"] == 0
        assert server.calls()["read"] == before["read"] and len(server.merges) == 1
    entry = merge_entries(settings, config)["p00000>p00001"]
    assert entry.acknowledged and entry.attempts == 1


def test_nothing_to_merge_when_the_merged_away_id_has_no_lead(settings, small):
    with FakeSalesforce(token=SF_TOKEN) as server:
        config = config_for(server)
        merged_p0_into_p1(settings, small, server, config)
        del server.records["p00000"], server.ids["p00000"]  # as if it had never been pushed
        report = run(settings, config, "run-2")
        assert report["merges"]["nothing_to_merge"] == 1 and report["merges"]["requests"] == 1
        assert soap_calls(server) == [] and server.merges == []
    assert merge_entries(settings, config)["p00000>p00001"].acknowledged


def test_the_merge_waits_for_the_survivors_lead(settings, small):
    with FakeSalesforce(token=SF_TOKEN) as server:
        config = config_for(server)
        server.reject("p00001")  # the survivor's Lead is refused from the start...
        run(settings, config, "run-1")
        merge(small, "p00000", "p00001", newly_hot=False)
        gone = server.ids["p00000"]
        second = run(settings, config, "run-2")  # ...and again in the run after the merge
        assert second["merges"]["deferred"] == 1 and server.merges == [] and "p00001" not in server.ids
        entry = merge_entries(settings, config)["p00000>p00001"]
        assert entry.status == "deferred" and "no Lead yet" in entry.last_error
        server.accept("p00001")
        third = run(settings, config, "run-3")
        assert third["sent_ok"] == 1 and third["merges"]["merged"] == 1
        assert server.merges == [(server.ids["p00001"], gone)]


def test_a_refused_merge_is_recorded_retried_and_dead_lettered(settings, small):
    with FakeSalesforce(token=SF_TOKEN) as server:
        config = config_for(server)
        merged_p0_into_p1(settings, small, server, config)
        server.refuse_merge("p00000")  # a converted Lead
        second = run(settings, config, "run-2")
        assert second["merges"]["rejected"] == 1 and server.merges == []
        entry = merge_entries(settings, config)["p00000>p00001"]
        assert entry.status == "rejected"
        assert entry.last_error == "merge(): CANNOT_UPDATE_CONVERTED_LEAD: cannot reference converted lead"
        with Ledger(settings.ledger_path) as ledger:
            logged = [r for r in ledger.row_log("run-2") if r["destination"].startswith(SALESFORCE_DESTINATION)]
        assert [(r["record_key"], r["outcome"]) for r in logged] == [("p00000>p00001", "rejected")]
        run(settings, config, "run-3")
        fourth = run(settings, config, "run-4")  # the third refusal makes it a dead letter
        assert fourth["merges"]["rejected"] == 1
        assert merge_entries(settings, config)["p00000>p00001"].status == "dead_letter"
        asked = len(soap_calls(server))
        fifth = run(settings, config, "run-5")
        assert fifth["merges"]["dead_lettered"] == 1 and fifth["merges"]["requests"] == 0
        assert len(soap_calls(server)) == asked == 3


def test_an_expired_session_is_refreshed_once_and_the_merge_repeated(settings, small):
    with FakeSalesforce(token=SF_TOKEN) as server:
        config = oauth_config(server)
        gone, kept = merged_p0_into_p1(settings, small, server, config)
        server.enqueue_fault("INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader: Illegal Session")
        second = run(settings, config, "run-2")
        assert second["merges"]["merged"] == 1 and server.merges == [(kept, gone)]
        assert len(server.tokens_issued) == 1
        faulted, repeated = soap_calls(server)
        assert faulted["status"] == 500 and repeated["status"] == 200
        assert server.tokens_issued[0] in repeated["body"] and server.tokens_issued[0] not in faulted["body"]


def test_an_expired_session_without_a_refresh_token_fails_the_task(settings, small):
    with FakeSalesforce(token=SF_TOKEN) as server:
        config = config_for(server)
        merged_p0_into_p1(settings, small, server, config)
        server.enqueue_fault("INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader: Illegal Session")
        with pytest.raises(SalesforceAuthError, match="INVALID_SESSION_ID.*salesforce_default") as raised:
            run(settings, config, "run-2")
        assert SF_TOKEN not in str(raised.value) and server.merges == []
    assert "p00000>p00001" not in merge_entries(settings, config)  # not answered: nothing recorded


@pytest.mark.parametrize("code", ["API_DISABLED_FOR_ORG", "INSUFFICIENT_ACCESS"])
def test_a_fault_about_the_connection_fails_the_task(settings, small, code):
    with FakeSalesforce(token=SF_TOKEN) as server:
        config = config_for(server)
        merged_p0_into_p1(settings, small, server, config)
        server.enqueue_fault(code, "scripted")
        with pytest.raises(DestinationRefused, match=code):
            run(settings, config, "run-2")


def test_the_concurrent_request_limit_is_retried_and_the_daily_allocation_is_not(settings, small):
    with FakeSalesforce(token=SF_TOKEN) as server:
        config = config_for(server)
        gone, kept = merged_p0_into_p1(settings, small, server, config)
        server.enqueue_fault("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        second = run(settings, config, "run-2")
        assert second["merges"]["deferred"] == 1 and len(soap_calls(server)) == 1 and server.merges == []
        assert "TotalRequests" in merge_entries(settings, config)["p00000>p00001"].last_error
        server.enqueue_fault("REQUEST_LIMIT_EXCEEDED", "ConcurrentRequests (Concurrent API Requests) Limit exceeded.")
        sleeps = Sleeps()
        third = run(settings, config, "run-3", sleep=sleeps)
        assert third["merges"]["merged"] == 1 and server.merges == [(kept, gone)]
        assert len(soap_calls(server)) == 3 and len(sleeps.calls) == 1


def test_salesforce_unavailable_defers_the_merge_to_the_next_run(settings, small):
    with FakeSalesforce(token=SF_TOKEN) as server:
        config = config_for(server, max_retries=2)
        merged_p0_into_p1(settings, small, server, config)
        server.enqueue_fault("SERVER_UNAVAILABLE", "Service Unavailable", times=3)
        second = run(settings, config, "run-2")
        assert second["merges"]["deferred"] == 1 and len(soap_calls(server)) == 3 and server.merges == []
        assert "gave up after 3 attempts" in merge_entries(settings, config)["p00000>p00001"].last_error
        third = run(settings, config, "run-3")
        assert third["merges"]["merged"] == 1 and len(server.merges) == 1


def test_a_record_merged_meanwhile_is_read_again_next_run(settings, small):
    with FakeSalesforce(token=SF_TOKEN) as server:
        config = config_for(server)
        gone, kept = merged_p0_into_p1(settings, small, server, config)
        merger = SalesforceMerger(config, sleep=Sleeps())
        assert merger.merge(kept, gone).status == "acknowledged"
        again = merger.merge(kept, gone)  # e.g. a repeated call whose first answer was lost
        assert again.status == "deferred" and "ENTITY_IS_DELETED" in again.reason
        report = run(settings, config, "run-2")  # the next run reads: no Lead under p00000 any more
        assert report["merges"]["nothing_to_merge"] == 1 and len(server.merges) == 1


def test_a_merge_whose_answer_is_lost_is_not_repeated_and_is_found_done_next_run(settings, small):
    with FakeSalesforce(token=SF_TOKEN) as server:
        config = config_for(server, timeout=0.5)
        gone, kept = merged_p0_into_p1(settings, small, server, config)
        merger = SalesforceMerger(config, sleep=Sleeps())
        server.hold(1)  # Salesforce merges, and its answer never arrives within the timeout
        try:
            answer = merger.merge(kept, gone)
        finally:
            server.release.set()
        assert answer.status == "deferred" and "Timeout" in answer.reason
        assert len(soap_calls(server)) == 1 and server.merges == [(kept, gone)]  # carried out, not repeated
        report = run(settings, config, "run-2")
        assert report["merges"]["nothing_to_merge"] == 1 and len(soap_calls(server)) == 1
    assert merge_entries(settings, config)["p00000>p00001"].acknowledged


def test_another_sobject_than_merge_takes_is_not_reconciled(settings, small):
    with FakeSalesforce(token=SF_TOKEN, sobject="Prospect__c") as server:
        config = config_for(server, sobject="Prospect__c")
        run(settings, config, "run-1")
        merge(small, "p00000", "p00001", newly_hot=False)
        report = run(settings, config, "run-2")
        assert report["sent_ok"] == 0 and "merges" not in report  # merge() takes Lead, Contact, Account only
        assert soap_calls(server) == [] and server.calls()["read"] == 0


def test_the_envelope_escapes_and_the_answer_parses():
    text = merge_envelope("00D!a&b<c>", "Lead", "00Q1", ["00Q2"])
    root = ElementTree.fromstring(text)
    assert root.findtext(f".//{{{PARTNER}}}sessionId") == "00D!a&b<c>"
    answer = (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" xmlns="{PARTNER}"><soapenv:Body><mergeResponse><result>'
        "<id>00Q1</id><mergedRecordIds>00Q2</mergedRecordIds><success>true</success>"
        "<updatedRelatedIds>00T1</updatedRelatedIds><updatedRelatedIds>00T2</updatedRelatedIds>"
        "</result></mergeResponse></soapenv:Body></soapenv:Envelope>"
    ).encode()
    [result] = merge_results(parse_xml(answer))
    assert result == {"success": True, "id": "00Q1", "mergedRecordIds": ["00Q2"],
                      "updatedRelatedIds": ["00T1", "00T2"], "errors": []}  # fmt: skip
    assert soap_fault(parse_xml(answer)) is None
    assert parse_xml(b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>') is None
    assert parse_xml(b"<html>Service Unavailable") is None


def test_the_fake_answers_faults_and_results_as_the_partner_api_does():
    with FakeSalesforce(token=SF_TOKEN) as server:

        def post(text: str, content_type: str = "text/xml; charset=UTF-8") -> requests.Response:
            headers = {"Content-Type": content_type, "SOAPAction": '""'}
            return requests.post(server.url + SOAP_PATH, data=text.encode(), headers=headers, timeout=10)

        wrong_session = post(merge_envelope("00Dxx!wrong", "Lead", "00Q1", ["00Q2"]))
        assert wrong_session.status_code == 500 and wrong_session.headers["Content-Type"].startswith("text/xml")
        assert soap_fault(parse_xml(wrong_session.content)) == (
            "INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader: Illegal Session")  # fmt: skip
        contact = soap_fault(parse_xml(post(merge_envelope(SF_TOKEN, "Contact", "00Q1", ["00Q2"])).content))
        assert contact == ("INVALID_TYPE", "sObject type 'Contact' is not supported.")
        unknown = post(merge_envelope(SF_TOKEN, "Lead", "00Q1", ["00Q2"]))
        assert unknown.status_code == 200
        assert merge_results(parse_xml(unknown.content))[0]["errors"] == [
            ("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        ]
        not_xml = soap_fault(parse_xml(post("not xml").content))
        assert not_xml is not None and not_xml[0] == "soapenv:Client"
        as_json = post(merge_envelope(SF_TOKEN, "Lead", "a", ["b"]), "application/json")
        json_type = soap_fault(parse_xml(as_json.content))
        assert json_type is not None and json_type[0] == "soapenv:Client"
