"""HubSpot batch upsert over real HTTP to a local server speaking HubSpot's contract."""

from __future__ import annotations

import math
import time
from collections import Counter

import duckdb
import pytest
from intent_pipeline.activation import HubSpotConfig, activate, ledger_name
from intent_pipeline.activation.hubspot import HubSpotAuthError
from intent_pipeline.activation.ledger import Ledger

from tests.activation.conftest import INTERVAL_END, INTERVAL_START, assert_accounting
from tests.fakes.hubspot import FakeHubSpot

TOKEN = "pat-na1-test"


class Sleeps:
    """Records requested waits without waiting (``real=True`` also waits)."""

    def __init__(self, real: bool = False):
        self.calls: list[float] = []
        self.real = real

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.real:
            time.sleep(seconds)


def portal(server) -> str:
    """The ledger's name for the fake portal, as activation records it."""
    return ledger_name("hubspot", HubSpotConfig(base_url=server.url, token=TOKEN))


def run(settings, server, run_id, sleep=None, **config):
    config = HubSpotConfig(base_url=server.url, token=TOKEN, **config)
    report = activate(settings, INTERVAL_START, INTERVAL_END, run_id, hubspot=config, dingtalk=None,
                      sleep=sleep or Sleeps())  # fmt: skip
    assert_accounting(report)
    return report["hubspot"]


def in_batch_order(requests: list[dict]) -> list[dict]:
    """The batch requests in the order the batches were cut (by their first record: the segment's
    emails sort in its order). Two batches are in flight at once by default, so the second and the
    third may reach the server in either order."""
    return sorted(requests, key=lambda r: r["body"]["inputs"][0]["id"])


def test_first_run_upserts_every_row_in_batches_of_100(settings, segment):
    with FakeHubSpot(token=TOKEN) as server:
        report = run(settings, server, "run-1")
        requests = server.requests
    assert report["mode"] == "http"
    assert report["planned"] == report["sent_ok"] == 250
    assert report["requests"] == len(requests) == math.ceil(250 / 100) == 3
    assert [len(r["body"]["inputs"]) for r in in_batch_order(requests)] == [100, 100, 50]
    assert all(r["path"] == "/crm/v3/objects/contacts/batch/upsert" for r in requests)
    assert all(r["headers"]["authorization"] == f"Bearer {TOKEN}" for r in requests)
    inputs = {i["id"]: i for r in requests for i in r["body"]["inputs"]}
    assert sorted(inputs) == sorted(row["email"] for row in segment.rows)
    assert all(i["idProperty"] == "email" for i in inputs.values())
    for row in segment.rows:
        props = inputs[row["email"]]["properties"]
        assert props["intent_score"] == str(row["lead_score"])
        assert props["intent_person_id"] == row["person_id"]
    # The mapping, row by row, as HubSpot receives it.
    assert inputs["lead00000@example.com"]["properties"] == {
        "email": "lead00000@example.com", "firstname": "伟", "lastname": "张", "company": "上海云智科技有限公司",
        "jobtitle": "销售总监", "intent_score": "60", "intent_grade": "high_intent",
        "intent_reasons": "trial_request +30; pricing_page +15; director_or_above +20",
        "intent_person_id": "p00000", "intent_owner": "王经理",
    }  # fmt: skip
    assert inputs["lead00001@example.com"]["properties"] == {
        "email": "lead00001@example.com", "firstname": "Alex", "lastname": "Morgan1", "company": "Acme Retail",
        "jobtitle": "Director of IT", "phone": "+8613800000001", "intent_score": "61", "intent_grade": "high_intent",
        "intent_reasons": "trial_request +30; pricing_page +15; director_or_above +20",
        "intent_person_id": "p00001", "hubspot_owner_id": "70001",
    }  # fmt: skip
    assert "company" not in inputs["lead00003@example.com"]["properties"]  # empty values are not sent
    # The warehouse was opened read-only and closed: a writer (dbt) can open it right away.
    duckdb.connect(str(settings.warehouse)).close()


def test_second_run_with_unchanged_data_sends_nothing(settings, segment):
    with FakeHubSpot(token=TOKEN) as server:
        first = run(settings, server, "run-1")
        sent = len(server.requests)
        second = run(settings, server, "run-2")
        assert len(server.requests) == sent
    assert first["sent_ok"] == 250
    assert second["requests"] == 0 and second["sent_ok"] == 0
    assert second["unchanged"] == 250


def test_changed_score_sends_exactly_that_row(settings, segment):
    with FakeHubSpot(token=TOKEN) as server:
        run(settings, server, "run-1")
        segment.rows[17]["lead_score"] = 99
        segment.rows[17]["scored_at"] = INTERVAL_END.replace(day=23)  # not a mapped field: no resend on its own
        segment.rows[42]["scored_at"] = INTERVAL_END.replace(day=23)
        segment.save()
        server.clear_requests()
        report = run(settings, server, "run-2")
        requests = server.requests
    assert report["sent_ok"] == 1 and report["unchanged"] == 249
    assert len(requests) == 1
    assert requests[0]["body"]["inputs"] == [
        {"idProperty": "email", "id": "lead00017@example.com", "properties": server.contacts["lead00017@example.com"]}
    ]
    assert server.contacts["lead00017@example.com"]["intent_score"] == "99"


def test_429_retry_after_is_honoured(settings, segment):
    sleep = Sleeps(real=True)  # really waits the second HubSpot asked for
    with FakeHubSpot(token=TOKEN) as server:
        server.enqueue(429, headers={"Retry-After": "1"})
        report = run(settings, server, "run-1", sleep=sleep)
        statuses = [r["status"] for r in server.requests]
    assert statuses == [429, 200, 200, 200]
    assert sleep.calls == [1.0]
    assert report["sent_ok"] == 250 and report["requests"] == 4


def test_retry_after_is_capped(settings, segment):
    sleep = Sleeps()
    with FakeHubSpot(token=TOKEN) as server:
        server.enqueue(429, headers={"Retry-After": "3600"})
        report = run(settings, server, "run-1", sleep=sleep)
    assert sleep.calls == [60.0]
    assert report["sent_ok"] == 250


def test_207_rejects_exactly_the_named_records_and_retries_them_next_run(settings, segment):
    bad = ["lead00005@example.com", "lead00150@example.com"]
    with FakeHubSpot(token=TOKEN) as server:
        for email in bad:
            server.reject(email, "Property values were not valid: phone is invalid", mode="207")
        report = run(settings, server, "run-1")
        assert [r["status"] for r in in_batch_order(server.requests)] == [207, 207, 200]
        assert report["rejected"] == 2 and report["sent_ok"] == 248
        assert set(server.contacts) == {row["email"] for row in segment.rows} - set(bad)
        with Ledger(settings.ledger_path) as ledger:
            log = ledger.row_log("run-1", portal(server))
        assert sorted((e["record_key"], e["outcome"]) for e in log) == [(b, "rejected") for b in bad]
        assert all("phone is invalid" in e["reason"] for e in log)

        for email in bad:
            server.accept(email)
        server.clear_requests()
        retry = run(settings, server, "run-2")
        assert sorted(server.upserted_ids) == bad
    assert retry["sent_ok"] == 2 and retry["unchanged"] == 248 and retry["rejected"] == 0


def test_a_429_and_a_207_in_the_middle_of_the_batches_deliver_everyone_exactly_once(settings, segment):
    """The segment spans three batches of HubSpot's documented 100; the second request received is
    throttled (429, Retry-After) and a record of the middle batch is refused per record (207): every
    other person arrives exactly once (the throttled batch is sent again whole, nothing twice), and
    the ledger says the same as the portal, record by record. The next run sends the refused one only."""
    bad = "lead00150@example.com"  # the middle batch: lead00100..lead00199
    sleep = Sleeps()
    with FakeHubSpot(token=TOKEN) as server:
        server.answer_request(2, 429, headers={"Retry-After": "7"})
        server.reject(bad, "Property values were not valid: phone is invalid", mode="207")
        report = run(settings, server, "run-1", sleep=sleep)
        requests = server.requests
        assert sorted(r["status"] for r in requests) == [200, 200, 207, 429]
        throttled = next(r for r in requests if r["status"] == 429)
        assert len(throttled["body"]["inputs"]) == 100
        assert sleep.calls == [7.0]  # HubSpot's Retry-After, honoured
        everyone = [row["email"] for row in segment.rows]
        answered = Counter(server.upserted_ids)  # every input of every request answered 200 or 207
        assert sorted(answered) == sorted(everyone) and set(answered.values()) == {1}
        assert set(server.contacts) == set(everyone) - {bad}
        assert report["sent_ok"] == 249 and report["rejected"] == 1 and report["requests"] == 4
        with Ledger(settings.ledger_path) as ledger:
            entries = ledger.entries(portal(server))
            log = ledger.row_log("run-1", portal(server))
        assert set(entries) == set(everyone)
        assert {key for key, entry in entries.items() if entry.acknowledged} == set(server.contacts)
        assert entries[bad].status == "rejected" and "phone is invalid" in (entries[bad].last_error or "")
        assert [(e["record_key"], e["outcome"]) for e in log] == [(bad, "rejected")]

        server.accept(bad)
        server.clear_requests()
        retry = run(settings, server, "run-2")
        assert server.upserted_ids == [bad]
    assert retry["sent_ok"] == 1 and retry["unchanged"] == 249


def test_400_bisects_to_the_bad_record(settings, segment):
    with FakeHubSpot(token=TOKEN) as server:
        server.reject("lead00042@example.com", "Property values were not valid: email domain blocked", mode="400")
        report = run(settings, server, "run-1")
        assert "lead00042@example.com" not in server.contacts
        assert len(server.contacts) == 249
    assert report["rejected"] == 1 and report["sent_ok"] == 249
    # 1 failed batch of 100, bisected: one 400 per level down to the singleton (7 levels), halves that pass.
    assert 3 < report["requests"] <= 3 + 2 * 7
    with Ledger(settings.ledger_path) as ledger:
        (entry,) = ledger.row_log("run-1", portal(server))
    assert entry["record_key"] == "lead00042@example.com"
    assert "email domain blocked" in entry["reason"]


def test_persistent_503_defers_the_batch_and_next_run_sends_it(settings, segment):
    sleep = Sleeps()
    with FakeHubSpot(token=TOKEN) as server:
        server.outage(503)
        # one batch in flight, so that the waits are one batch's sequence
        report = run(settings, server, "run-1", sleep=sleep, max_retries=3, concurrency=1)
        assert report["deferred"] == 250 and report["sent_ok"] == 0
        assert report["requests"] == 3 * 4  # every batch tried 1 + max_retries times
        # Exponential backoff with jitter: each wait within [d/2, d] of 0.5, 1, 2 s.
        for i, wait in enumerate(sleep.calls[:3]):
            assert 0.25 * 2**i <= wait <= 0.5 * 2**i
        with Ledger(settings.ledger_path) as ledger:
            log = ledger.row_log("run-1", portal(server))
        assert len(log) == 250 and {e["outcome"] for e in log} == {"deferred"}
        assert "503" in log[0]["reason"]

        server.outage(None)
        server.clear_requests()
        retry = run(settings, server, "run-2")
        assert retry["sent_ok"] == 250 and len(server.requests) == 3


def test_timeouts_are_retried_then_deferred(settings, segment):
    segment.rows = segment.rows[:5]
    segment.save()
    with FakeHubSpot(token=TOKEN) as server:
        server.enqueue(200, body={"status": "COMPLETE", "results": []}, times=2, delay=0.6)
        report = run(settings, server, "run-1", max_retries=1, timeout=0.2)
    assert report["deferred"] == 5 and report["requests"] == 2


def test_null_and_duplicate_emails_are_invalid_and_not_sent(settings, segment):
    segment.rows[3]["email"] = None
    segment.rows[4]["email"] = "not-an-email"
    segment.rows[8]["email"] = segment.rows[9]["email"]
    segment.save()
    with FakeHubSpot(token=TOKEN) as server:
        report = run(settings, server, "run-1")
        sent = set(server.upserted_ids)
    assert report["invalid"] == 4 and report["sent_ok"] == 246
    assert segment.rows[9]["email"] not in sent and "not-an-email" not in sent
    with Ledger(settings.ledger_path) as ledger:
        reasons = {e["record_key"]: e["reason"] for e in ledger.row_log("run-1", portal(server))}
    assert reasons["person_id:p00003"] == "email is empty"
    assert "not an address" in reasons["not-an-email"]
    assert "duplicate key" in reasons["lead00009@example.com"]


def test_401_fails_with_a_clear_error(settings, segment):
    with FakeHubSpot(token="the-right-token") as server:
        with pytest.raises(HubSpotAuthError, match="401.*hubspot_default.*private-app token"):
            run(settings, server, "run-1")
        # the batches in flight when the first 401 came back (concurrency 2: the second one unless
        # it had not started yet), and nothing after
        assert len(server.requests) in (1, 2)
    with Ledger(settings.ledger_path) as ledger:
        assert ledger.entries(portal(server)) == {}
        query = "select counts from activation_runs where destination = ?"
        counts = ledger.db.execute(query, (portal(server),)).fetchone()[0]
    assert "HubSpotAuthError" in counts
    # The other destination still ran: one broken connection does not hold back the other.
    assert len(list((settings.outbox_dir / "dingtalk").rglob("batch-*.json"))) == 5


def test_the_daily_limit_defers_the_rest_of_the_run_without_hammering(settings, segment):
    with FakeHubSpot(token=TOKEN, daily_limit=1, daily_headers=False) as server:
        report = run(settings, server, "run-1", concurrency=1)
        # the allocation's last request, then the one DAILY 429: no retry, no further batch
        assert len(server.requests) == 2 and server.throttled == 1
        assert report["sent_ok"] == 100 and report["deferred"] == 150 and report["requests"] == 2
        with Ledger(settings.ledger_path) as ledger:
            reasons = {e["reason"] for e in ledger.row_log("run-1", portal(server))}
        assert len(reasons) == 1 and "daily" in reasons.pop().lower()
        server.daily_limit = 10  # the next day
        server.daily_used = 0
        server.clear_requests()
        again = run(settings, server, "run-2")
        assert again["sent_ok"] == 150 and again["unchanged"] == 100 and len(server.requests) == 2
    assert len(server.contacts) == 250


def test_remaining_zero_stops_before_the_429(settings, segment):
    with FakeHubSpot(token=TOKEN, daily_limit=2) as server:
        report = run(settings, server, "run-1", concurrency=1)
        # the second answer says 0 remaining: the third batch is not even tried
        assert len(server.requests) == 2 and server.throttled == 0
        assert report["sent_ok"] == 200 and report["deferred"] == 50
