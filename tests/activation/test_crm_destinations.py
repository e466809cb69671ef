"""Salesforce (sObject Collections upsert) and the generic CRM webhook, over real HTTP to local fakes.

Each destination goes through ``run_destination`` with a real ledger, as ``activate`` runs it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from intent_pipeline.activation import (
    ActivationConfigError,
    ActivationGuardError,
    DestinationRefused,
    ledger_name,
    run_destination,
)
from intent_pipeline.activation.ledger import Ledger
from intent_pipeline.activation.salesforce import (
    MISSING,
    SalesforceAuthError,
    SalesforceConfig,
    SalesforceDestination,
)
from intent_pipeline.activation.segments import read_segment
from intent_pipeline.activation.webhook import (
    WebhookAuthError,
    WebhookConfig,
    WebhookDestination,
    sign,
    verify_signature,
)

from tests.activation.conftest import INTERVAL_START
from tests.activation.test_dingtalk import FakeTime
from tests.activation.test_hubspot import Sleeps
from tests.fakes.salesforce import LEAD_FIELDS, FakeSalesforce
from tests.fakes.webhook import FakeCrmWebhook, expected_signature

SF_TOKEN = "00Dxx0000001gPL!AR8AQ.test"
SF_PATH = "/services/data/v61.0/composite/sobjects/Lead/Intent_Person_Id__c"
SECRET = "whsec-3b1f0c"


def run(settings, destination, run_id: str) -> dict:
    """One activation run of ``destination`` over the warehouse's segment; checks the accounting."""
    rows = read_segment(settings.warehouse)
    with Ledger(settings.ledger_path) as ledger:
        report = run_destination(destination, rows, ledger, run_id, INTERVAL_START, settings.outbox_dir)
    parts = ("sent_ok", "rejected", "deferred", "unchanged", "invalid", "dead_lettered")
    assert report["planned"] == sum(report.get(k, 0) for k in parts), report
    return report


def row_log(settings, destination, run_id: str) -> dict[str, tuple[str, str]]:
    """``{record_key: (outcome, reason)}`` of one run."""
    with Ledger(settings.ledger_path) as ledger:
        log = ledger.row_log(run_id, ledger_name(destination.name, destination.config))
    return {e["record_key"]: (e["outcome"], e["reason"]) for e in log}


def conn(host=None, password=None, extra=None, schema=None, port=None):
    return SimpleNamespace(host=host, schema=schema, port=port, password=password, extra_dejson=extra or {})


# --- Salesforce ---------------------------------------------------------------------------------


def salesforce(server, sleep=None, token=SF_TOKEN, **config) -> SalesforceDestination:
    return SalesforceDestination(SalesforceConfig(server.url, token, **config), sleep=sleep or Sleeps())


def test_salesforce_first_run_upserts_every_lead_in_calls_of_200(settings, segment):
    with FakeSalesforce(token=SF_TOKEN) as server:
        report = run(settings, salesforce(server), "run-1")
        requests = server.requests
    assert report["mode"] == "http" and report["planned"] == report["sent_ok"] == 250
    assert report["requests"] == len(requests) == 2
    assert [len(r["body"]["records"]) for r in requests] == [200, 50]
    assert {(r["method"], r["path"], r["status"]) for r in requests} == {("PATCH", SF_PATH, 200)}
    assert all(r["headers"]["authorization"] == f"Bearer {SF_TOKEN}" for r in requests)
    assert all(r["body"]["allOrNone"] is False for r in requests)
    records = {rec["Intent_Person_Id__c"]: rec for r in requests for rec in r["body"]["records"]}
    assert sorted(records) == sorted(row["person_id"] for row in segment.rows)
    assert records["p00000"] == {
        "attributes": {"type": "Lead"}, "Intent_Person_Id__c": "p00000", "FirstName": "伟", "LastName": "张",
        "Company": "上海云智科技有限公司", "Email": "lead00000@example.com", "Title": "销售总监", "Industry": "零售",
        "Intent_Score__c": 60, "Intent_Grade__c": "high_intent",
        "Intent_Reasons__c": "trial_request +30; pricing_page +15; director_or_above +20",
    }  # fmt: skip
    assert (records["p00001"]["FirstName"], records["p00001"]["LastName"]) == ("Alex", "Morgan1")
    assert records["p00001"]["Phone"] == "+8613800000001"
    assert records["p00003"]["Company"] == MISSING  # required to create a Lead: a placeholder, documented
    # Every lead was created once, in the org and in the ledger.
    assert server.creations == len(server.records) == 250
    with Ledger(settings.ledger_path) as ledger:
        entries = ledger.entries(ledger_name("salesforce", SalesforceConfig(server.url, SF_TOKEN)))
    assert len(entries) == 250 and all(e.acknowledged for e in entries.values())


def test_salesforce_rerun_sends_nothing_and_a_changed_lead_is_updated_not_created(settings, segment):
    with FakeSalesforce(token=SF_TOKEN) as server:
        run(settings, salesforce(server), "run-1")
        second = run(settings, salesforce(server), "run-2")
        assert second["requests"] == 0 and second["unchanged"] == 250 and second["sent_ok"] == 0
        segment.rows[17]["lead_score"] = 99
        segment.save()
        server.clear_requests()
        third = run(settings, salesforce(server), "run-3")
        assert server.keys_sent == ["p00017"]
        assert server.records["p00017"]["Intent_Score__c"] == 99
        assert server.creations == 250  # the upsert matched the external id: updated, not duplicated
    assert third["sent_ok"] == 1 and third["unchanged"] == 249


def test_crm_destinations_are_guarded_against_mass_changes(settings, segment):
    # Both are CRMs: a run that would rewrite most acknowledged records stops before sending.
    with FakeSalesforce(token=SF_TOKEN) as sf, FakeCrmWebhook(secret=SECRET) as hook:
        run(settings, salesforce(sf), "run-1")
        run(settings, webhook(hook), "run-1")
        for row in segment.rows:
            row["grade"] = "cold"
        segment.save()
        sf.clear_requests()
        hook.clear_requests()
        for destination in (salesforce(sf), webhook(hook)):
            with pytest.raises(ActivationGuardError, match="would update 250 of the 250 records"):
                run(settings, destination, "run-2")
        assert sf.requests == [] and hook.requests == []


def test_salesforce_per_record_errors_reject_exactly_those_leads_and_the_next_run_retries_them(settings, segment):
    with FakeSalesforce(token=SF_TOKEN) as server:
        server.reject("p00005", "REQUIRED_FIELD_MISSING", "Required fields are missing: [Status]")
        server.reject("p00150", "INVALID_EMAIL_ADDRESS", "Email: invalid email address: lead00150@example.com")
        destination = salesforce(server)
        report = run(settings, destination, "run-1")
        assert [r["status"] for r in server.requests] == [200, 200]  # allOrNone=false: no retry, no split
        assert report["rejected"] == 2 and report["sent_ok"] == 248
        assert set(server.records) == {row["person_id"] for row in segment.rows} - {"p00005", "p00150"}
        assert row_log(settings, destination, "run-1") == {
            "p00005": ("rejected", "REQUIRED_FIELD_MISSING: Required fields are missing: [Status]"),
            "p00150": ("rejected", "INVALID_EMAIL_ADDRESS: Email: invalid email address: lead00150@example.com"),
        }

        server.accept("p00005")
        server.accept("p00150")
        server.clear_requests()
        retry = run(settings, salesforce(server), "run-2")
        assert sorted(server.keys_sent) == ["p00005", "p00150"]
    assert retry["sent_ok"] == 2 and retry["unchanged"] == 248 and retry["rejected"] == 0


def test_salesforce_row_lock_is_deferred_not_rejected(settings, segment):
    with FakeSalesforce(token=SF_TOKEN) as server:
        server.reject("p00007", "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")
        destination = salesforce(server)
        report = run(settings, destination, "run-1")
        assert report["deferred"] == 1 and report["rejected"] == 0 and report["sent_ok"] == 249
        assert row_log(settings, destination, "run-1")["p00007"][0] == "deferred"
        server.accept("p00007")
        retry = run(settings, salesforce(server), "run-2")
    assert retry["sent_ok"] == 1 and "p00007" in server.records


def test_salesforce_invalid_session_fails_the_run(settings, segment):
    with FakeSalesforce(token="00Dxx!the-right-one") as server:
        with pytest.raises(SalesforceAuthError, match="401 \\(INVALID_SESSION_ID: Session expired or invalid\\)"):
            run(settings, salesforce(server, token="00Dxx!expired"), "run-1")
        assert len(server.requests) == 1
    assert issubclass(SalesforceAuthError, DestinationRefused)
    with Ledger(settings.ledger_path) as ledger:
        assert ledger.entries(ledger_name("salesforce", SalesforceConfig(server.url, "any-token"))) == {}


def test_salesforce_missing_custom_field_fails_once_instead_of_bisecting(settings, segment):
    with FakeSalesforce(token=SF_TOKEN, fields=LEAD_FIELDS - {"Intent_Reasons__c"}) as server:
        with pytest.raises(SalesforceAuthError, match="INVALID_FIELD: No such column 'Intent_Reasons__c'"):
            run(settings, salesforce(server), "run-1")
        assert len(server.requests) == 1


def test_salesforce_503_and_concurrent_limit_are_retried_without_real_sleeping(settings, segment):
    sleep = Sleeps()
    started = time.monotonic()
    with FakeSalesforce(token=SF_TOKEN) as server:
        server.enqueue(503, times=2)
        server.limit_exceeded("ConcurrentRequests (Concurrent API Requests)")
        report = run(settings, salesforce(server, sleep=sleep), "run-1")
        statuses = [r["status"] for r in server.requests]
    elapsed = time.monotonic() - started
    assert statuses == [503, 503, 403, 200, 200]
    assert report["sent_ok"] == 250 and report["requests"] == 5
    # Exponential backoff with jitter (0.5, 1, 2 s nominal), asked of the injected sleep only.
    assert len(sleep.calls) == 3 and all(0.25 * 2**i <= w <= 0.5 * 2**i for i, w in enumerate(sleep.calls))
    assert elapsed < sum(sleep.calls)


def test_salesforce_persistent_outage_defers_and_the_next_run_sends(settings, segment):
    with FakeSalesforce(token=SF_TOKEN) as server:
        server.outage(503)
        destination = salesforce(server, max_retries=2)
        report = run(settings, destination, "run-1")
        assert report["deferred"] == 250 and report["sent_ok"] == 0 and report["requests"] == 2 * 3
        log = row_log(settings, destination, "run-1")
        assert len(log) == 250 and {outcome for outcome, _ in log.values()} == {"deferred"}
        assert "gave up after 3 attempts" in log["p00000"][1] and "503" in log["p00000"][1]
        server.outage(None)
        retry = run(settings, salesforce(server), "run-2")
    assert retry["sent_ok"] == 250 and retry["requests"] == 2


def test_salesforce_timeouts_are_retried_then_deferred(settings, segment):
    segment.rows = segment.rows[:5]
    segment.save()
    with FakeSalesforce(token=SF_TOKEN) as server:
        server.enqueue(200, body=[], times=2, delay=0.6)
        report = run(settings, salesforce(server, max_retries=1, timeout=0.2), "run-1")
    assert report["deferred"] == 5 and report["requests"] == 2


def test_salesforce_daily_allocation_used_up_defers_the_run_without_more_calls(settings, segment):
    with FakeSalesforce(token=SF_TOKEN) as server:
        server.limit_exceeded("TotalRequests")
        sleep = Sleeps()
        report = run(settings, salesforce(server, sleep=sleep), "run-1")
        assert report["requests"] == len(server.requests) == 1 and sleep.calls == []
        assert report["deferred"] == 250
        retry = run(settings, salesforce(server), "run-2")
    assert retry["sent_ok"] == 250


def test_salesforce_whole_call_400_is_bisected_to_the_bad_lead(settings, segment):
    with FakeSalesforce(token=SF_TOKEN) as server:
        message = "Cannot deserialize instance of double from VALUE_STRING value n/a"
        server.reject("p00042", "JSON_PARSER_ERROR", message, mode="400")
        destination = salesforce(server)
        report = run(settings, destination, "run-1")
        assert "p00042" not in server.records and len(server.records) == 249
    assert report["rejected"] == 1 and report["sent_ok"] == 249
    # The call of 200 fails, then one 400 per halving down to the single record (8 levels).
    assert 2 < report["requests"] <= 2 + 2 * 8
    assert row_log(settings, destination, "run-1") == {"p00042": ("rejected", f"HTTP 400 JSON_PARSER_ERROR: {message}")}


def test_salesforce_invalid_rows_are_not_sent(settings, segment):
    segment.rows[3]["person_id"] = None
    segment.rows[4]["email"] = "not-an-email"
    segment.rows[5]["email"] = None  # a Lead needs no email
    segment.rows[6]["full_name"] = None
    segment.save()
    with FakeSalesforce(token=SF_TOKEN) as server:
        destination = salesforce(server)
        report = run(settings, destination, "run-1")
        sent = set(server.keys_sent)
    assert report["invalid"] == 2 and report["sent_ok"] == 248
    assert "p00004" not in sent and "p00005" in sent and "Email" not in server.records["p00005"]
    assert server.records["p00006"]["LastName"] == MISSING
    reasons = row_log(settings, destination, "run-1")
    assert reasons["person_id:None"] == ("invalid", "person_id is empty (the upsert key, Intent_Person_Id__c)")
    assert "not an address" in reasons["p00004"][1]


def test_salesforce_outbox_builds_the_bodies_without_http(settings, segment):
    destination = SalesforceDestination(None)
    report = run(settings, destination, "run-1")
    assert report["mode"] == "outbox" and report["requests"] == 0 and report["sent_ok"] == 250
    bodies = [json.loads(Path(p).read_text(encoding="utf-8")) for p in report["outbox_files"]]
    assert [len(b["records"]) for b in bodies] == [200, 50]
    assert bodies[0]["allOrNone"] is False
    assert bodies[0]["records"][0]["attributes"] == {"type": "Lead"}
    assert bodies[0]["records"][0]["Intent_Person_Id__c"] == "p00000"


def test_fake_salesforce_enforces_the_contract():
    import requests

    with FakeSalesforce(token=SF_TOKEN) as server:
        url, auth = server.url + SF_PATH, {"Authorization": f"Bearer {SF_TOKEN}"}

        def lead(key, **fields):
            return {"attributes": {"type": "Lead"}, "Intent_Person_Id__c": key, "LastName": "Li", "Company": "X",
                    **fields}  # fmt: skip

        expired = requests.patch(url, json={"records": [lead("a")]}, headers={"Authorization": "Bearer old"})
        assert (expired.status_code, expired.json()) == (
            401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
        )  # fmt: skip
        too_many = requests.patch(url, json={"records": [lead(f"k{i}") for i in range(201)]}, headers=auth)
        assert too_many.status_code == 400 and too_many.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
        assert requests.post(url, json={"records": [lead("a")]}, headers=auth).status_code == 405
        body = {
            "allOrNone": False,
            "records": [lead("a"), lead("b", LastName=None), {**lead("c"), "Intent_Person_Id__c": None}],
        }
        first = requests.patch(url, json=body, headers=auth).json()
        assert [(r["success"], r.get("created")) for r in first] == [(True, True), (False, None), (False, None)]
        assert first[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
        assert first[2]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
        again = requests.patch(url, json={"allOrNone": False, "records": [lead("a", Title="CTO")]}, headers=auth)
        assert again.json() == [{"id": first[0]["id"], "success": True, "errors": [], "created": False}]
        assert server.creations == 1 and server.records["a"]["Title"] == "CTO"


def test_salesforce_config():
    config = SalesforceConfig.from_airflow_connection(
        conn("https://acme.my.salesforce.com", "tok-1", {"api_version": "62.0", "batch_size": "150", "timeout": 20})
    )
    assert config == SalesforceConfig("https://acme.my.salesforce.com", "tok-1", api_version="62.0", batch_size=150,
                                      timeout=20.0)  # fmt: skip
    assert config.upsert_url == (
        "https://acme.my.salesforce.com/services/data/v62.0/composite/sobjects/Lead/Intent_Person_Id__c"
    )
    # The org, not the token: a refreshed token keeps the acknowledgements; another org or sObject does not.
    assert config.ledger_scope == SalesforceConfig("https://acme.my.salesforce.com/", "tok-2").ledger_scope
    assert config.ledger_scope != SalesforceConfig("https://acme--uat.sandbox.my.salesforce.com", "t").ledger_scope
    contacts = SalesforceConfig("https://acme.my.salesforce.com", "t", sobject="Contact")
    assert config.ledger_scope != contacts.ledger_scope
    assert "tok-1" not in repr(config.ledger_scope)
    for bad, match in (({"batch_size": 201}, "batch_size"), ({"api_version": "45.0"}, "api_version"),
                       ({"external_id_field": "Bad Field"}, "external_id_field")):  # fmt: skip
        with pytest.raises(ActivationConfigError, match=match):
            SalesforceConfig("https://acme.my.salesforce.com", "t", **bad)
    with pytest.raises(ActivationConfigError, match="access token is empty"):
        SalesforceConfig.from_airflow_connection(conn("https://acme.my.salesforce.com"))


# --- CRM webhook --------------------------------------------------------------------------------


class SteppedTime(FakeTime):
    """``FakeTime`` whose clock moves at least a microsecond per sleep.

    ``TokenBucket``'s float arithmetic can leave 0.99999… tokens and ask for a wait (~2e-14 s) below
    the resolution of a float clock at 1000 s; a purely additive fake clock then never moves and the
    bucket spins. A real clock always moves, so only the fake needs this.
    """

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 1e-6)


def webhook(server, fake_time=None, secret=SECRET, now=time.time, **config) -> WebhookDestination:
    fake_time = fake_time or SteppedTime()
    return WebhookDestination(WebhookConfig(server.webhook_url, secret, **config), sleep=fake_time.sleep,
                              clock=fake_time.clock, now=now)  # fmt: skip


def test_webhook_first_run_posts_signed_batches_of_100(settings, segment):
    with FakeCrmWebhook(secret=SECRET) as server:
        report = run(settings, webhook(server), "run-1")
        requests, raw_bodies = server.requests, server.raw_bodies
    assert report["mode"] == "http" and report["sent_ok"] == 250 and report["requests"] == 3
    assert [(r["status"], len(r["body"]["records"])) for r in requests] == [(200, 100), (200, 100), (200, 50)]
    for request, raw in zip(requests, raw_bodies, strict=True):
        headers = request["headers"]
        # Verified here too, independently of the client and of the fake.
        message = headers["x-intent-timestamp"].encode() + b"." + raw
        digest = hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()
        assert headers["x-intent-signature"] == f"sha256={digest}"
        assert abs(int(headers["x-intent-timestamp"]) - time.time()) < 60
        assert headers["idempotency-key"] == request["body"]["batch_id"]
        assert headers["content-type"] == "application/json; charset=utf-8"
    assert len({r["body"]["batch_id"] for r in requests}) == 3
    assert server.records["p00000"] == {
        "key": "p00000", "person_id": "p00000", "email": "lead00000@example.com", "full_name": "张伟",
        "company": "上海云智科技有限公司", "job_title": "销售总监", "industry": "零售", "owner": "王经理",
        "crm_lead_id": "L0", "grade": "high_intent", "lead_score": 60,
        "score_reasons": "trial_request +30; pricing_page +15; director_or_above +20",
    }  # fmt: skip
    assert "company" not in server.records["p00003"] and len(server.records) == 250


def test_webhook_signature_helpers_follow_the_documented_scheme():
    raw = '{"batch_id":"b1","records":[{"key":"p1","full_name":"张伟"}]}'.encode()
    assert sign("s3cret", 1700000000, raw) == expected_signature("s3cret", "1700000000", raw)
    assert verify_signature("s3cret", raw, sign("s3cret", 1700000000, raw), "1700000000", now=1700000299)
    assert not verify_signature("s3cret", raw, sign("s3cret", 1700000000, raw), "1700000000", now=1700000301)
    assert not verify_signature("other", raw, sign("s3cret", 1700000000, raw), "1700000000", now=1700000000)
    assert not verify_signature("s3cret", raw + b" ", sign("s3cret", 1700000000, raw), "1700000000", now=1700000000)


def test_webhook_rerun_sends_nothing(settings, segment):
    with FakeCrmWebhook(secret=SECRET) as server:
        run(settings, webhook(server), "run-1")
        server.clear_requests()
        second = run(settings, webhook(server), "run-2")
        assert server.requests == []
    assert second["requests"] == 0 and second["unchanged"] == 250


def test_webhook_207_rejects_exactly_the_named_records_and_the_next_run_retries_them(settings, segment):
    with FakeCrmWebhook(secret=SECRET) as server:
        server.reject("p00005", "owner 王经理 is not a CRM user")
        server.reject("p00230", "company is blocked")
        destination = webhook(server)
        report = run(settings, destination, "run-1")
        assert [r["status"] for r in server.requests] == [207, 200, 207]
        assert report["rejected"] == 2 and report["sent_ok"] == 248
        assert row_log(settings, destination, "run-1") == {
            "p00005": ("rejected", "owner 王经理 is not a CRM user"),
            "p00230": ("rejected", "company is blocked"),
        }
        server.accept("p00005")
        server.accept("p00230")
        server.clear_requests()
        retry = run(settings, webhook(server), "run-2")
        assert sorted(server.keys_received) == ["p00005", "p00230"]
    assert retry["sent_ok"] == 2 and retry["unchanged"] == 248 and "p00230" in server.records


def test_webhook_wrong_secret_is_refused(settings, segment):
    with FakeCrmWebhook(secret=SECRET) as server:
        with pytest.raises(WebhookAuthError, match="401 \\(signature mismatch\\).*shared secret"):
            run(settings, webhook(server, secret="whsec-old"), "run-1")
        assert [r["status"] for r in server.requests] == [401] and server.records == {}
    assert issubclass(WebhookAuthError, DestinationRefused)


def test_webhook_stale_timestamp_is_refused(settings, segment):
    with FakeCrmWebhook(secret=SECRET) as server:
        with pytest.raises(DestinationRefused, match="401 \\(timestamp .* from now"):
            run(settings, webhook(server, now=lambda: time.time() - 600), "run-1")
        assert server.records == {}


def test_webhook_429_and_503_are_retried_without_real_sleeping(settings, segment):
    fake_time = SteppedTime()
    with FakeCrmWebhook(secret=SECRET) as server:
        server.enqueue(429, headers={"Retry-After": "7"})
        server.enqueue(503)
        report = run(settings, webhook(server, fake_time), "run-1")
        statuses = [r["status"] for r in server.requests]
    assert statuses == [429, 503, 200, 200, 200]
    assert report["sent_ok"] == 250 and report["requests"] == 5
    assert fake_time.sleeps[0] == 7.0  # Retry-After, on the fake clock
    assert 0.5 <= fake_time.sleeps[1] <= 1.0  # then backoff for the 503 (second attempt)
    assert len(fake_time.sleeps) == 2


def test_webhook_persistent_5xx_defers_and_the_next_run_sends(settings, segment):
    with FakeCrmWebhook(secret=SECRET) as server:
        server.enqueue(502, times=3 * 2)
        report = run(settings, webhook(server, max_retries=1), "run-1")
        assert report["deferred"] == 250 and report["requests"] == 6 and server.records == {}
        retry = run(settings, webhook(server), "run-2")
    assert retry["sent_ok"] == 250 and retry["requests"] == 3


def test_webhook_lost_answer_is_retried_with_the_same_idempotency_key_and_applied_once(settings, segment):
    with FakeCrmWebhook(secret=SECRET) as server:
        server.lose_answers(1)
        report = run(settings, webhook(server), "run-1")
        requests, raw_bodies = server.requests, server.raw_bodies
        applied = server.applied
    assert [r["status"] for r in requests] == [503, 200, 200, 200]
    assert requests[0]["headers"]["idempotency-key"] == requests[1]["headers"]["idempotency-key"]
    assert raw_bodies[0] == raw_bodies[1]  # the same body, signed afresh
    assert len(applied) == len(set(applied)) == 3
    assert report["sent_ok"] == 250


def test_webhook_4xx_is_bisected_to_the_bad_record(settings, segment):
    with FakeCrmWebhook(secret=SECRET) as server:
        server.reject("p00042", "crm_lead_id L42 belongs to another tenant", mode="422")
        destination = webhook(server)
        report = run(settings, destination, "run-1")
        assert "p00042" not in server.records and len(server.records) == 249
    assert report["rejected"] == 1 and report["sent_ok"] == 249
    assert 3 < report["requests"] <= 3 + 2 * 7
    assert row_log(settings, destination, "run-1") == {
        "p00042": ("rejected", "HTTP 422 record p00042: crm_lead_id L42 belongs to another tenant")
    }


def test_webhook_rate_limit_spaces_requests_on_the_clock(settings, segment):
    fake_time = SteppedTime()
    with FakeCrmWebhook(secret=SECRET) as server:
        report = run(settings, webhook(server, fake_time, max_per_second=2), "run-1")
    assert report["sent_ok"] == 250
    assert fake_time.sleeps == [0.5]  # a burst of 2, then one request every half second


def test_webhook_outbox_builds_the_bodies_without_http(settings, segment):
    destination = WebhookDestination(None)
    report = run(settings, destination, "run-1")
    assert report["mode"] == "outbox" and report["requests"] == 0 and report["sent_ok"] == 250
    bodies = [json.loads(Path(p).read_text(encoding="utf-8")) for p in report["outbox_files"]]
    assert [len(b["records"]) for b in bodies] == [100, 100, 50]
    assert all(set(b) == {"batch_id", "sent_at", "records"} for b in bodies)
    assert bodies[0]["records"][0]["key"] == "p00000"


def test_fake_webhook_enforces_the_contract():
    import requests

    with FakeCrmWebhook(secret=SECRET) as server:
        raw = b'{"batch_id":"b1","sent_at":"2026-11-22T01:00:00+00:00","records":[{"key":"p1","lead_score":70}]}'

        def post(timestamp, secret=SECRET, key="b1", body=raw):
            headers = {"X-Intent-Timestamp": str(timestamp), "Idempotency-Key": key,
                       "X-Intent-Signature": expected_signature(secret, str(timestamp), body)}  # fmt: skip
            return requests.post(server.webhook_url, data=body, headers=headers)

        now = int(time.time())
        assert post(now, secret="guess").status_code == 401
        assert post(now - 301).status_code == 401
        assert post(now, key="other").status_code == 400
        assert post(now).status_code == 200 and server.applied == ["b1"]
        replay = post(now + 1)  # the same batch again: answered, not applied twice
        assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
        assert server.applied == ["b1"] and server.records == {"p1": {"key": "p1", "lead_score": 70}}


def test_webhook_config():
    config = WebhookConfig.from_airflow_connection(
        conn("https://crm.internal.example.com/hooks/intent", "whsec-1", {"batch_size": "50", "max_per_second": 2})
    )
    assert config == WebhookConfig("https://crm.internal.example.com/hooks/intent", "whsec-1", batch_size=50,
                                   max_per_second=2.0)  # fmt: skip
    # The receiver, not the secret: rotating the secret resends nothing.
    assert config.ledger_scope == WebhookConfig(config.url, "whsec-2").ledger_scope
    assert config.ledger_scope != WebhookConfig("https://crm.internal.example.com/hooks/other", "whsec-1").ledger_scope
    uri_style = WebhookConfig.from_airflow_connection(conn("crm.internal", "s", schema="hooks/intent", port=8443))
    assert uri_style.url == "https://crm.internal:8443/hooks/intent"
    with pytest.raises(ActivationConfigError, match="secret is empty"):
        WebhookConfig.from_airflow_connection(conn("https://crm.internal/hooks/intent"))
    with pytest.raises(ActivationConfigError, match="batch_size"):
        WebhookConfig("https://crm.internal/hooks/intent", "s", batch_size=0)
