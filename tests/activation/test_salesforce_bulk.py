"""Salesforce: OAuth refresh-token flow and Bulk API 2.0 ingest jobs, over real HTTP to the local fake org.

Each run goes through ``run_destination`` with a real ledger, as ``activate`` runs it; waits go to an
injected sleep, so polling a job for minutes takes no time.
"""

from __future__ import annotations

import csv
import io
import logging
from urllib.parse import parse_qs

import pytest
from intent_pipeline.activation import ActivationConfigError, Safety, ledger_name, run_destination
from intent_pipeline.activation.ledger import Ledger
from intent_pipeline.activation.salesforce import (
    MAX_JOB_BYTES,
    MISSING,
    SalesforceAuthError,
    SalesforceConfig,
    SalesforceDestination,
)
from intent_pipeline.activation.segments import read_segment

from tests.activation.conftest import INTERVAL_START
from tests.activation.test_crm_destinations import SF_TOKEN, conn, row_log, run
from tests.activation.test_hubspot import Sleeps
from tests.fakes.salesforce import LEAD_FIELDS, FakeSalesforce, endpoint, errors, parse_csv

REFRESH = "5Aep861fake.refresh.token"  # the fake's refresh token
BULK_CALLS = {"create_job": 1, "upload": 1, "close": 1, "poll": 1, "successfulResults": 1, "failedResults": 1,
              "unprocessedrecords": 1}  # fmt: skip


def oauth(server, sleep=None, access_token: str = "", refresh_token=REFRESH, **config) -> SalesforceDestination:
    """A destination with the fake's connected app and refresh token (and no access token unless given)."""
    config = SalesforceConfig(
        server.url,
        access_token,
        client_id=server.client_id,
        client_secret=server.client_secret,
        refresh_token=refresh_token,
        login_url=server.url,
        **config,
    )
    return SalesforceDestination(config, sleep=sleep or Sleeps())


def bulk(server, sleep=None, token=SF_TOKEN, bulk_threshold=100, **config) -> SalesforceDestination:
    """A destination with an access token whose runs of more than ``bulk_threshold`` rows use Bulk API 2.0."""
    config = SalesforceConfig(server.url, token, bulk_threshold=bulk_threshold, **config)
    return SalesforceDestination(config, sleep=sleep or Sleeps())


def ledger_text(settings) -> str:
    """Everything the ledger holds (entries, row log, run records), as text."""
    with Ledger(settings.ledger_path) as ledger:
        return "\n".join(
            repr(row)
            for table in ("activation_ledger", "activation_row_log", "activation_runs")
            for row in ledger.db.execute(f"select * from {table}")
        )


# --- OAuth 2.0 refresh-token flow ---------------------------------------------------------------


def test_without_an_access_token_one_is_fetched_with_the_refresh_token_first(settings, segment):
    with FakeSalesforce(token="00Dxx!issued-by-someone-else") as server:
        destination = oauth(server)
        report = run(settings, destination, "run-1")
        requests = server.requests
        issued = server.tokens_issued
    assert [endpoint(r) for r in requests] == ["token", "collections", "collections"]
    assert report["sent_ok"] == 250 and report["requests"] == 3 and destination.token_refreshes == 1
    token_request = requests[0]
    assert token_request["method"] == "POST" and "authorization" not in token_request["headers"]
    assert token_request["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert {k: v[0] for k, v in parse_qs(token_request["body"]).items()} == {
        "grant_type": "refresh_token",
        "client_id": server.client_id,
        "client_secret": server.client_secret,
        "refresh_token": REFRESH,
    }
    assert issued == ["00Dxx0000001gPL!AR8AQ.refreshed-1"]
    assert all(r["headers"]["authorization"] == f"Bearer {issued[0]}" for r in requests[1:])
    # Acknowledged for the configured org: the same ledger as with a pasted access token.
    with Ledger(settings.ledger_path) as ledger:
        entries = ledger.entries(ledger_name("salesforce", SalesforceConfig(server.url, "any-token")))
    assert len(entries) == 250 and all(e.acknowledged for e in entries.values())


def test_a_session_expiring_mid_run_is_refreshed_once_and_no_lead_is_lost_or_duplicated(settings, segment):
    with FakeSalesforce(token=SF_TOKEN) as server:
        server.expire_session(after=1)  # the first call goes through, the second finds the session expired
        destination = oauth(server, access_token=SF_TOKEN)
        report = run(settings, destination, "run-1")
        trace = [(endpoint(r), r["status"]) for r in server.requests]
        assert server.creations == len(server.records) == 250
        assert sorted(server.keys_sent) == sorted(row["person_id"] for row in segment.rows)  # each one once
        # The refresh did not move the ledger: the next run resends nothing.
        server.clear_requests()
        again = run(settings, oauth(server, access_token=SF_TOKEN), "run-2")
        assert server.requests == []
    assert trace == [("collections", 200), ("collections", 401), ("token", 200), ("collections", 200)]
    assert report["sent_ok"] == 250 and report["deferred"] == 0 and report["requests"] == 4
    assert destination.token_refreshes == 1
    assert again["unchanged"] == 250 and again["requests"] == 0


def test_a_session_expiring_during_a_bulk_job_is_refreshed_and_the_job_completes(settings, segment):
    with FakeSalesforce(token=SF_TOKEN, in_progress_polls=2) as server:
        server.expire_session(after=3)  # create, upload, close; the first poll finds the session expired
        report = run(settings, oauth(server, access_token=SF_TOKEN, bulk_threshold=100), "run-1")
        calls = server.calls()
        trace = [(endpoint(r), r["status"]) for r in server.requests][:6]
        assert server.creations == len(server.records) == 250 and len(server.jobs) == 1
    assert trace[3:] == [("poll", 401), ("token", 200), ("poll", 200)]
    assert calls == {**BULK_CALLS, "poll": 4, "token": 1}
    assert report["sent_ok"] == 250


def test_a_second_401_after_the_refresh_fails_the_run(settings, segment):
    with FakeSalesforce(token=SF_TOKEN) as server:
        server.enqueue(401, errors("INVALID_SESSION_ID", "Session expired or invalid"), times=2)
        with pytest.raises(SalesforceAuthError, match="401 \\(INVALID_SESSION_ID.*again after refreshing"):
            run(settings, oauth(server, access_token=SF_TOKEN), "run-1")
        assert [endpoint(r) for r in server.requests] == ["collections", "token", "collections"]
        assert server.records == {}


def test_a_refused_refresh_token_fails_clearly_and_no_secret_is_logged_raised_or_recorded(settings, segment, caplog):
    caplog.set_level(logging.DEBUG)
    with FakeSalesforce(token=SF_TOKEN) as server:
        server.revoke_refresh_token()
        secrets = [server.client_secret, REFRESH, "00Dxx!expired-token-value"]
        destination = oauth(server, access_token="00Dxx!expired-token-value")
        with pytest.raises(SalesforceAuthError) as raised:
            run(settings, destination, "run-1")
        assert [(endpoint(r), r["status"]) for r in server.requests] == [("collections", 401), ("token", 400)]
    message = str(raised.value)
    assert "invalid_grant: expired access/refresh token" in message and "'salesforce_default'" in message
    assert "refresh token" in message
    scope = ledger_name("salesforce", destination.config)
    for secret in secrets:
        assert secret not in message
        assert secret not in caplog.text
        assert secret not in repr(destination.config)
        assert secret not in scope
        assert secret not in ledger_text(settings)
    assert "SalesforceAuthError" in ledger_text(settings)  # the run's record names the failure, without secrets


def test_secrets_echoed_by_the_token_endpoint_are_redacted(settings, segment, caplog):
    # A proxy's error page that echoes the form it received must not carry the secrets into logs or errors.
    caplog.set_level(logging.DEBUG)
    with FakeSalesforce(token=SF_TOKEN) as server:
        echo = f"403 Forbidden by proxy: client_secret={server.client_secret}&refresh_token=5Aep861fake.refresh.token"
        server.enqueue_token(403, echo.encode())
        with pytest.raises(SalesforceAuthError, match="HTTP 403 403 Forbidden by proxy") as raised:
            run(settings, oauth(server), "run-1")
    assert "client_secret=[redacted]&refresh_token=[redacted]" in str(raised.value)
    for secret in (server.client_secret, REFRESH):
        assert secret not in str(raised.value) and secret not in caplog.text and secret not in ledger_text(settings)


def test_the_token_endpoint_unavailable_is_retried_then_the_rows_wait_for_the_next_run(settings, segment):
    sleep = Sleeps()
    with FakeSalesforce(token=SF_TOKEN) as server:
        server.enqueue_token(503, times=2)
        report = run(settings, oauth(server, sleep=sleep), "run-1")
        assert [(endpoint(r), r["status"]) for r in server.requests][:3] == [("token", 503)] * 2 + [("token", 200)]
        assert report["sent_ok"] == 250 and len(sleep.calls) == 2
        server.enqueue_token(503, times=4)
        segment.rows[3]["lead_score"] = 1
        segment.save()
        destination = oauth(server, max_retries=1)
        deferred = run(settings, destination, "run-2")
        log = row_log(settings, destination, "run-2")
    assert deferred["deferred"] == 1 and deferred["requests"] == 2
    assert "token endpoint" in log["p00003"][1] and "gave up after 2 attempts" in log["p00003"][1]


def test_a_rotated_refresh_token_is_used_for_the_next_refresh_and_logged(settings, segment, caplog):
    caplog.set_level(logging.INFO)
    with FakeSalesforce(token=SF_TOKEN, rotate_refresh_tokens=True) as server:
        server.session_length = 1  # every session expires after one call: each call needs a refresh
        destination = oauth(server, batch_size=100)
        report = run(settings, destination, "run-1")
        trace = [(endpoint(r), r["status"]) for r in server.requests]
        tokens = [parse_qs(r["body"])["refresh_token"][0] for r in server.requests if endpoint(r) == "token"]
    assert report["sent_ok"] == 250 and destination.token_refreshes == 3
    assert trace == [("token", 200), ("collections", 200)] + [("collections", 401), ("token", 200),
                                                              ("collections", 200)] * 2  # fmt: skip
    # each refresh with the refresh token the previous one returned (the earlier ones are invalid)
    assert tokens == [REFRESH, "5Aep861fake.rotated-1", "5Aep861fake.rotated-2"]
    assert "rotates refresh tokens" in caplog.text and "5Aep861fake.rotated" not in caplog.text


def test_a_token_for_another_org_is_refused(settings, segment):
    with FakeSalesforce(token=SF_TOKEN) as server:
        server.instance_url = "https://acme--uat.sandbox.my.salesforce.com"
        with pytest.raises(SalesforceAuthError, match="is for https://acme--uat.sandbox.my.salesforce.com, but"):
            run(settings, oauth(server), "run-1")
        assert [endpoint(r) for r in server.requests] == ["token"]


def test_oauth_config_from_the_connection():
    extra = {"client_id": "3MVG9abc", "client_secret": "s3cr3t-consumer", "refresh_token": "5Aep-refresh",
             "login_url": "https://test.salesforce.com", "bulk_threshold": "5000", "bulk_max_wait": "120"}  # fmt: skip
    config = SalesforceConfig.from_airflow_connection(conn("https://acme.my.salesforce.com", None, extra))
    assert config == SalesforceConfig(
        "https://acme.my.salesforce.com",
        "",
        client_id="3MVG9abc",
        client_secret="s3cr3t-consumer",
        refresh_token="5Aep-refresh",
        login_url="https://test.salesforce.com",
        bulk_threshold=5000,
        bulk_max_wait=120.0,
    )
    assert "s3cr3t" not in repr(config) and "5Aep" not in repr(config)
    # The org, not the credentials: moving from a pasted token to the refresh flow keeps the acknowledgements.
    assert config.ledger_scope == SalesforceConfig("https://acme.my.salesforce.com", "00Dtoken").ledger_scope
    defaults = SalesforceConfig.from_airflow_connection(conn("https://acme.my.salesforce.com", "00Dtoken"))
    assert (defaults.login_url, defaults.bulk_threshold) == ("https://login.salesforce.com", 10000)
    assert "00Dtoken" not in repr(defaults)
    with pytest.raises(ActivationConfigError, match="access token is empty.*refresh_token"):
        SalesforceConfig.from_airflow_connection(conn("https://acme.my.salesforce.com", None, {"client_id": "x"}))
    with pytest.raises(ActivationConfigError, match="client_id"):
        SalesforceConfig("https://acme.my.salesforce.com", refresh_token="5Aep")
    with pytest.raises(ActivationConfigError, match="bulk_threshold"):
        SalesforceConfig("https://acme.my.salesforce.com", "t", bulk_threshold=-1)


# --- Bulk API 2.0 -------------------------------------------------------------------------------


def test_bulk_is_used_above_the_threshold_and_collections_otherwise(settings, segment):
    with FakeSalesforce(token=SF_TOKEN) as at, FakeSalesforce(token=SF_TOKEN) as off:
        run(settings, bulk(at, bulk_threshold=250), "run-1")  # 250 rows: not more than the threshold
        run(settings, bulk(off, bulk_threshold=0), "run-1")  # 0: never
        assert at.calls() == off.calls() == {"collections": 2}
    settings.ledger_path.unlink()
    with FakeSalesforce(token=SF_TOKEN) as server:
        destination = bulk(server, bulk_threshold=249)
        report = run(settings, destination, "run-1")
        calls, requests = server.calls(), server.requests
        bulk_records = server.records
    assert calls == BULK_CALLS and report["requests"] == 7
    assert report["sent_ok"] == 250 and destination.created == 250 and destination.bulk_jobs == 1
    create, upload = requests[0], requests[1]
    assert create["body"] == {"object": "Lead", "externalIdFieldName": "Intent_Person_Id__c", "contentType": "CSV",
                              "operation": "upsert", "lineEnding": "LF"}  # fmt: skip
    assert upload["headers"]["content-type"] == "text/csv"
    assert {r["headers"]["accept"] for r in requests if endpoint(r).endswith(("Results", "records"))} == {"text/csv"}
    assert upload["path"].endswith(f"/jobs/ingest/{create['response']['id']}/batches")
    assert parse_csv(upload["body"])[0][0] == "Intent_Person_Id__c" and len(parse_csv(upload["body"])) == 251
    # The Leads in the org are the same as the collections path makes them.
    assert bulk_records == at.records and len(bulk_records) == 250
    assert bulk_records["p00003"]["Company"] == MISSING and "Phone" not in bulk_records["p00003"]
    assert bulk_records["p00000"]["Intent_Score__c"] == 60


def test_bulk_per_record_failures_are_rejected_or_deferred_and_the_next_run_completes_them(settings, segment):
    with FakeSalesforce(token=SF_TOKEN) as server:
        server.reject("p00005", "REQUIRED_FIELD_MISSING", "Required fields are missing: [Status]")
        server.reject("p00007", "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")
        server.leave_unprocessed("p00010")
        server.drop_results("p00011")  # applied, but in no result: not known to be acknowledged
        destination = bulk(server, bulk_threshold=1)
        report = run(settings, destination, "run-1")
        log = row_log(settings, destination, "run-1")
        assert set(server.records) == {row["person_id"] for row in segment.rows} - {"p00005", "p00007", "p00010"}
        assert report["sent_ok"] == 246 and report["rejected"] == 1 and report["deferred"] == 3
        assert log["p00005"] == ("rejected", "REQUIRED_FIELD_MISSING:Required fields are missing: [Status]: --")
        assert log["p00007"][0] == "deferred" and log["p00007"][1].startswith("UNABLE_TO_LOCK_ROW:")
        assert log["p00010"][0] == "deferred" and "unprocessed" in log["p00010"][1]
        assert log["p00011"][0] == "deferred" and "in no result" in log["p00011"][1]
        assert set(log) == {"p00005", "p00007", "p00010", "p00011"}

        server.accept("p00005")
        server.accept("p00007")
        server.process_all()
        server.clear_requests()
        retry = run(settings, bulk(server, bulk_threshold=1), "run-2")
        assert sorted(server.keys_uploaded) == ["p00005", "p00007", "p00010", "p00011"]
        assert server.creations == len(server.records) == 250  # p00011 updated, not created twice
    assert retry["sent_ok"] == 4 and retry["unchanged"] == 246 and retry["rejected"] == retry["deferred"] == 0


def test_a_bulk_job_stuck_in_progress_is_deferred_after_the_bound_and_the_next_run_sends_it(settings, segment):
    sleep = Sleeps()
    with FakeSalesforce(token=SF_TOKEN, in_progress_polls=10**6) as server:
        destination = bulk(server, sleep=sleep, bulk_max_wait=120)
        report = run(settings, destination, "run-1")
        log = row_log(settings, destination, "run-1")
        assert report["deferred"] == 250 and server.records == {}
        assert "still InProgress after 120 s" in log["p00000"][1]
        # Polling backs off (2 s, 3 s, 4.5 s, … at most 30 s) and waits 120 s in all, on the injected sleep.
        assert sleep.calls[:3] == [2.0, 3.0, 4.5] and max(sleep.calls) == 30.0 and sum(sleep.calls) == 120
        assert server.calls()["poll"] == len(sleep.calls) + 1

        server.in_progress_polls = 1  # Salesforce is quick again
        retry = run(settings, bulk(server), "run-2")
        assert retry["sent_ok"] == 250 and len(server.jobs) == 2
        server.process_all()  # the stuck job finishes after all: it upserts the same Leads again
        assert server.creations == len(server.records) == 250


def test_bulk_csv_round_trips_commas_quotes_line_breaks_and_chinese(settings, segment):
    tricky = {
        0: {"company": 'Acme, "Big" Co.\n上海分公司', "full_name": "欧阳娜娜", "job_title": "销售总监, 华东区"},
        1: {"score_reasons": 'trial_request +30;\r\npricing, "enterprise" +15', "full_name": 'Li "Leo" Wang'},
        2: {"company": '"', "job_title": ",", "phone": None, "industry": "零售\r批发"},
    }
    for index, values in tricky.items():
        segment.rows[index].update(values)
    segment.save()
    with FakeSalesforce(token=SF_TOKEN) as via_bulk, FakeSalesforce(token=SF_TOKEN) as via_collections:
        report = run(settings, bulk(via_bulk), "run-1")
        settings.ledger_path.unlink()
        run(settings, bulk(via_collections, bulk_threshold=0), "run-1")
        upload = next(r for r in via_bulk.requests if endpoint(r) == "upload")["body"]
    assert report["sent_ok"] == 250 and via_bulk.calls()["create_job"] == 1
    uploaded = {row["Intent_Person_Id__c"]: row for row in csv.DictReader(io.StringIO(upload, newline=""))}
    assert uploaded["p00000"]["Company"] == 'Acme, "Big" Co.\n上海分公司'
    assert uploaded["p00001"]["Intent_Reasons__c"] == 'trial_request +30;\r\npricing, "enterprise" +15'
    assert uploaded["p00002"]["Phone"] == ""  # empty: left as it is
    assert uploaded["p00002"]["Industry"] == "零售\r批发"  # a lone carriage return is quoted too
    assert via_bulk.records == via_collections.records
    assert via_bulk.records["p00000"]["Title"] == "销售总监, 华东区"
    assert via_bulk.records["p00000"]["LastName"] == "欧阳" and via_bulk.records["p00002"]["Company"] == '"'


def test_bulk_splits_the_rows_into_jobs_under_the_upload_limit(settings, segment):
    limit = 20_000
    assert MAX_JOB_BYTES == 100_000_000  # the documented 100 MB of raw CSV (150 MB once base64-encoded)
    with FakeSalesforce(token=SF_TOKEN, max_upload_bytes=limit) as server:
        destination = bulk(server)
        destination.max_job_bytes = limit
        report = run(settings, destination, "run-1")
        uploads = [r["body"] for r in server.requests if endpoint(r) == "upload"]
        calls = server.calls()
        keys = server.keys_uploaded
    assert report["sent_ok"] == 250 and len(server.records) == 250
    assert len(uploads) >= 3 and calls["create_job"] == calls["close"] == calls["successfulResults"] == len(uploads)
    assert all(len(body.encode("utf-8")) <= limit for body in uploads)
    assert all(body.startswith("Intent_Person_Id__c,") for body in uploads)
    assert keys == [row["person_id"] for row in segment.rows]  # every row once, in order
    settings.ledger_path.unlink()
    with FakeSalesforce(token=SF_TOKEN, max_upload_bytes=limit) as server:
        whole = bulk(server)  # the real limit: one job, which this org refuses as too large
        with pytest.raises(SalesforceAuthError, match="400 \\(BULK_API_ERROR: Job data exceeds"):
            run(settings, whole, "run-1")
        assert server.calls() == {"create_job": 1, "upload": 1, "abort": 1} and server.records == {}


def test_a_failed_bulk_job_defers_its_rows_and_the_next_run_sends_them(settings, segment):
    with FakeSalesforce(token=SF_TOKEN) as server:
        server.fail_jobs("UNKNOWN_EXCEPTION: An unexpected error occurred. Please include this ErrorId: 1-2")
        destination = bulk(server)
        report = run(settings, destination, "run-1")
        log = row_log(settings, destination, "run-1")
        assert report["deferred"] == 250 and server.records == {}
        assert "Failed: UNKNOWN_EXCEPTION: An unexpected error occurred" in log["p00042"][1]
        assert server.calls()["successfulResults"] == 0
        retry = run(settings, bulk(server), "run-2")
    assert retry["sent_ok"] == 250 and len(server.records) == 250


def test_a_bulk_job_failing_on_the_orgs_schema_fails_the_run(settings, segment):
    with FakeSalesforce(token=SF_TOKEN, fields=LEAD_FIELDS - {"Intent_Reasons__c"}) as server:
        with pytest.raises(SalesforceAuthError, match="InvalidBatch : Field name not found : Intent_Reasons__c"):
            run(settings, bulk(server), "run-1")
        assert server.records == {}
    with FakeSalesforce(token=SF_TOKEN, external_id_field="Other_Id__c") as server:
        with pytest.raises(SalesforceAuthError, match="400 \\(INVALIDJOB: InvalidJob : Field name provided"):
            run(settings, bulk(server), "run-1")
        assert server.calls() == {"create_job": 1}


def test_dry_run_and_outbox_do_not_depend_on_bulk(settings, segment):
    with FakeSalesforce(token=SF_TOKEN) as server:
        rows = read_segment(settings.warehouse)
        with Ledger(settings.ledger_path) as ledger:
            dry = run_destination(bulk(server), rows, ledger, "dry", INTERVAL_START, settings.outbox_dir,
                                  Safety(dry_run=True))  # fmt: skip
        assert server.requests == []
        real = run(settings, bulk(server), "run-1")
    assert dry["would_send"] == dry["would_create"] == real["sent_ok"] == 250 and dry["requests"] == 0
    # Without a connection there is no Bulk API: the outbox holds the collections bodies.
    outbox = SalesforceDestination(None)
    assert all("records" in body for body, _ in outbox.bodies(outbox_items(outbox, rows)))


def outbox_items(destination, rows):
    from intent_pipeline.activation.segments import plan_rows

    plan = plan_rows(rows, destination.key_of, destination.validate, destination.map_fields, {},
                     destination.is_unchanged)  # fmt: skip
    return plan.to_send * 60  # 15,000 rows: above the default threshold


def test_fake_salesforce_bulk_and_token_contract():
    import requests

    with FakeSalesforce(token=SF_TOKEN, in_progress_polls=2) as server:
        base = f"{server.url}/services/data/v61.0/jobs/ingest"
        auth = {"Authorization": f"Bearer {SF_TOKEN}"}
        spec = {"object": "Lead", "externalIdFieldName": "Intent_Person_Id__c", "contentType": "CSV",
                "operation": "upsert", "lineEnding": "LF"}  # fmt: skip
        job = requests.post(base, json=spec, headers=auth).json()
        assert job["state"] == "Open" and job["contentUrl"].endswith(f"/jobs/ingest/{job['id']}/batches")
        data = 'Intent_Person_Id__c,LastName,Company,Intent_Score__c\na,Li,"X, Inc.",70\nb,,Y,\nc,Wu,Z,n/a\n'
        put = requests.put(
            f"{base}/{job['id']}/batches", data=data.encode(), headers={**auth, "Content-Type": "text/csv"}
        )
        assert put.status_code == 201
        again = requests.put(f"{base}/{job['id']}/batches", data=b"x", headers={**auth, "Content-Type": "text/csv"})
        assert again.status_code == 400 and "Found multiple contents" in again.json()[0]["message"]
        early = requests.get(f"{base}/{job['id']}/successfulResults/", headers=auth)
        assert early.status_code == 400
        closed = requests.patch(f"{base}/{job['id']}", json={"state": "UploadComplete"}, headers=auth).json()
        states = [requests.get(f"{base}/{job['id']}", headers=auth).json()["state"] for _ in range(3)]
        assert [closed["state"], *states] == ["UploadComplete", "InProgress", "InProgress", "JobComplete"]
        ok = parse_csv(requests.get(f"{base}/{job['id']}/successfulResults/", headers=auth).content.decode())
        failed = parse_csv(requests.get(f"{base}/{job['id']}/failedResults/", headers=auth).content.decode())
        assert ok == [["sf__Id", "sf__Created", "Intent_Person_Id__c", "LastName", "Company", "Intent_Score__c"],
                      [server.ids["a"], "true", "a", "Li", "X, Inc.", "70"]]  # fmt: skip
        assert [row[2] for row in failed[1:]] == ["b", "c"]
        assert failed[1][1].startswith("REQUIRED_FIELD_MISSING:") and failed[2][1].startswith("INVALID_TYPE_ON_FIELD")
        assert server.records == {"a": {"Intent_Person_Id__c": "a", "LastName": "Li", "Company": "X, Inc.",
                                        "Intent_Score__c": 70}}  # fmt: skip

        token_url = server.url + "/services/oauth2/token"
        form = {"grant_type": "refresh_token", "client_id": server.client_id, "client_secret": server.client_secret,
                "refresh_token": REFRESH}  # fmt: skip
        granted = requests.post(token_url, data=form).json()
        assert granted["token_type"] == "Bearer" and granted["instance_url"] == server.url
        assert set(granted) == {"access_token", "signature", "scope", "instance_url", "id", "token_type", "issued_at"}
        assert requests.get(f"{base}/{job['id']}", headers=auth).status_code == 401  # the old token is replaced
        bad = requests.post(token_url, data={**form, "refresh_token": "guess"})
        assert (bad.status_code, bad.json()) == (
            400, {"error": "invalid_grant", "error_description": "expired access/refresh token"}
        )  # fmt: skip
        assert requests.post(token_url, data={**form, "client_secret": "x"}).json()["error"] == "invalid_client"
