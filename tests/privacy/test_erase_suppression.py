"""Erasure without a warehouse (fast): the suppression list at extract, the lake rewritten, the
ledger, history, outbox, reports and logs scrubbed, and the deletes sent to the vendors' fakes over
real HTTP (plugins/intent_pipeline/privacy; docs/privacy.md, "Erasure")."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from intent_pipeline import lake
from intent_pipeline.activation import HubSpotConfig, ledger_name
from intent_pipeline.activation.ledger import Ledger
from intent_pipeline.activation.salesforce import SalesforceConfig
from intent_pipeline.activation.webhook import WebhookConfig
from intent_pipeline.privacy import audit, residual, suppression
from intent_pipeline.privacy.erase import ErasureError, ErasureRequest, erase, read_request_file, retry_pending
from intent_pipeline.settings import Settings
from intent_pipeline.sources import extract_source

from tests.fakes.hubspot import FakeHubSpot
from tests.fakes.salesforce import FakeSalesforce
from tests.fakes.webhook import FakeCrmWebhook

DAY = date(2026, 11, 21)
TYPEFORM = ["Submission ID", "Form", "Full Name", "Email Address", "Phone Number", "Company", "Job Title",
            "Industry", "Company Size", "Submitted At", "UTM Source", "client_id"]  # fmt: skip


def _row(key, form, name, email, phone, company, at, client_id=""):
    return [key, form, name, email, phone, company, "CTO", "Retail", "50", at, "", client_id]


ROWS = [
    _row("s1", "Book a Demo", "Li Na", " Li.Na@Example.com ", "", "Acme", "2026-11-21T01:00:00Z", "111.222"),
    _row("s2", "Book a Demo", "Li Na", "", "138-0013-8000", "Acme", "2026-11-21T02:00:00Z"),
    _row("s3", "Book a Demo", "Bo Wang", "bo.wang@example.org", "139 0013 9000", "Beta", "2026-11-21T03:00:00Z", "3.4"),
    _row("s4", "Book a Demo", "Li Na", "li.na@example.com", "", "Acme", "not a time"),
    _row("s5", "Whitepaper", "Lina", "li.na.work+promo@gmail.com", "", "Acme", "2026-11-21T04:00:00Z"),
]


def _event(email, event, key, message=None):
    found = {"email": email, "timestamp": 1795226400, "event": event, "sg_event_id": key}
    return {**found, "sg_message_id": message} if message else found


EMAIL_EVENTS = [
    _event("LI.NA@example.com", "open", "e1", "m1"),
    _event("bo.wang@example.org", "open", "e2", "m2"),
    _event("li.na@example.com", "no-such-event", "e3"),
]
PERSON = "9f1c0ffee0000000000000000000abcd"


@pytest.fixture()
def settings(tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("INTENT_HOME", str(tmp_path))
    monkeypatch.setenv("INTENT_PII_SALT", "test-salt")
    monkeypatch.delenv("INTENT_SUPPRESSION_LIST", raising=False)
    settings = Settings.from_env()
    forms = Path(settings.landing_url) / "forms" / f"dt={DAY}"
    forms.mkdir(parents=True)
    lines = [",".join(TYPEFORM)] + [",".join(f'"{v}"' for v in row) for row in ROWS]
    (forms / "typeform.csv").write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    email = Path(settings.landing_url) / "email" / f"dt={DAY}"
    email.mkdir(parents=True)
    (email / "batch.json").write_text(json.dumps(EMAIL_EVENTS), encoding="utf-8")
    return settings


def extract_all(settings: Settings) -> dict:
    return {source: extract_source(source, settings, DAY, batch_id=f"b/{source}") for source in ("forms", "email")}


def rows(settings: Settings, zone: str, table: str) -> list[dict]:
    return lake.read_partition(settings.lake_dir, zone, table, DAY).to_pylist()


def assert_accounting(manifest: dict) -> None:
    for counts in [*manifest["files"], *manifest["tables"].values()]:
        assert counts["read"] == counts["loaded"] + counts["quarantined"] + counts.get("suppressed", 0), counts


def test_suppressed_rows_are_dropped_at_extract_and_counted(settings):
    hashes = suppression.hashes_of([("email", "li.na@example.com"), ("phone", "+8613800138000"),
                                    ("email", "li.na.work@gmail.com")])  # fmt: skip
    suppression.add(suppression.list_path(settings), hashes)
    manifests = extract_all(settings)
    forms = manifests["forms"]["tables"]["forms_submissions"]
    # s1 (email typed in capitals with spaces), s2 (phone only, typed with dashes), s4 (quarantined:
    # bad time, holds her email) and s5 (Gmail: dots and +tag are one mailbox) are hers
    assert forms == {"read": 5, "loaded": 1, "quarantined": 0, "suppressed": 4}
    assert [r["submission_id"] for r in rows(settings, "raw", "forms_submissions")] == ["s3"]
    email = manifests["email"]["tables"]["email_events"]
    assert email == {"read": 3, "loaded": 1, "quarantined": 0, "suppressed": 2}
    for manifest in manifests.values():
        assert_accounting(manifest)


def test_without_a_list_the_manifest_is_unchanged(settings):
    forms = extract_all(settings)["forms"]["tables"]["forms_submissions"]
    assert forms == {"read": 5, "loaded": 4, "quarantined": 1}


def test_a_list_written_with_another_salt_is_an_error(settings, monkeypatch):
    suppression.add(suppression.list_path(settings), suppression.hashes_of([("email", "a@b.com")]))
    monkeypatch.setenv("INTENT_PII_SALT", "another-salt")
    with pytest.raises(suppression.SuppressionError, match="another INTENT_PII_SALT"):
        extract_all(settings)


def test_the_list_holds_no_identifier(settings):
    suppression.add(suppression.list_path(settings), suppression.hashes_of([("email", "li.na@example.com")]))
    text = suppression.list_path(settings).read_text()
    assert "li.na" not in text and "example" not in text
    assert len(text.splitlines()) == 2  # the header and one hash (the address is its own canonical form)


def seed_activation(settings: Settings, configs: dict) -> None:
    """What activation leaves behind for Li Na (and Bo, who stays): ledger rows at three CRMs and a
    chat outbox, a HubSpot outbox batch, a row log reason, the activation history, a report, a log."""
    with Ledger(settings.ledger_path) as ledger:
        for name, key in (("hubspot", "li.na@example.com"), ("salesforce", PERSON), ("crm_webhook", PERSON)):
            ledger.record(ledger_name(name, configs[name]), "run-1", [(key, "h1", "acknowledged", None)])
            ledger.record(ledger_name(name, configs[name]), "run-1", [("bo-" + key, "h2", "acknowledged", None)])
        ledger.record("dingtalk:outbox", "run-1", [(PERSON, "h3", "acknowledged", None)])
        ledger.start_run("run-1", "hubspot:outbox", DAY)
        ledger.log_rows("run-1", "hubspot:outbox", [("li.na@example.com", "rejected", "li.na@example.com is invalid")])
    from intent_pipeline.activation.history import export_history

    export_history(settings.ledger_path, settings.lake_dir, [DAY])
    outbox = settings.outbox_dir / "hubspot" / f"dt={DAY}"
    outbox.mkdir(parents=True)
    (outbox / "batch-0001.json").write_text(json.dumps({"inputs": [
        {"idProperty": "email", "id": "li.na@example.com", "properties": {"email": "li.na@example.com"}},
        {"idProperty": "email", "id": "bo.wang@example.org", "properties": {"email": "bo.wang@example.org"}},
    ]}))  # fmt: skip
    chat = settings.outbox_dir / "dingtalk" / f"dt={DAY}"
    chat.mkdir(parents=True)
    text = (
        "### 新的高意向线索\n您有一条新的高意向线索【Acme】\n- 联系人：Li Na\n"
        "- 邮箱：li.na@example.com\n- 电话：+8613800138000"
    )
    (chat / "batch-0001.json").write_text(json.dumps({"msgtype": "markdown", "markdown": {"text": text}}))
    report = settings.reports_dir / "activation" / f"dt={DAY}.dry-run.json"
    report.parent.mkdir(parents=True)
    report.write_text(json.dumps({"decisions": [{"key": "li.na@example.com", "action": "create"}]}))
    logs = settings.warehouse.parent / "logs"
    logs.mkdir(parents=True)
    (logs / "airflow-scheduler.log").write_text("sent li.na@example.com to hubspot\nall good\n")


def test_erase_reaches_every_copy_and_every_destination(settings):
    extract_all(settings)
    with FakeHubSpot(token="pat") as hubspot, FakeSalesforce() as salesforce, FakeCrmWebhook(secret="s") as webhook:
        configs = {
            "hubspot": HubSpotConfig(base_url=hubspot.url, token="pat", portal_id="1"),
            "salesforce": SalesforceConfig(instance_url=salesforce.url, access_token=salesforce.token),
            "crm_webhook": WebhookConfig(url=webhook.webhook_url, secret="s"),
        }
        hubspot.contacts["li.na@example.com"] = {"email": "li.na@example.com"}
        salesforce.records[PERSON] = {"LastName": "Li"}
        webhook.records[PERSON] = {"key": PERSON}
        seed_activation(settings, configs)
        requests = [ErasureRequest("email", "Li.Na@Example.com", "GDPR art. 17 request #12"),
                    ErasureRequest("person_id", PERSON, "GDPR art. 17 request #12")]  # fmt: skip
        data = Path(settings.lake_dir).parent
        values = {"li.na@example.com", PERSON}
        assert residual.search([data], values, exclude=("landing",))  # the search finds what is there

        before = {p: p.read_bytes() for p in data.rglob("*") if p.is_file()}
        planned = erase(settings, requests, dry_run=True, destinations=list(configs.values()))
        assert {p: p.read_bytes() for p in data.rglob("*") if p.is_file()} == before  # a dry run changes nothing
        assert sorted((p["zone"], p["table"], p["rows"]) for p in planned["lake_partitions"]) == [
            ("quarantine", "email_events", 1), ("quarantine", "forms_submissions", 1),
            ("raw", "email_events", 1), ("raw", "forms_submissions", 1)]  # fmt: skip
        assert len(planned["destinations_holding"]) == 3 and planned["outbox_files"]
        assert not hubspot.requests and not salesforce.requests and not webhook.requests

        report = erase(settings, requests, destinations=list(configs.values()))

        assert report["destinations_deleted"] == 3 and report["destination_deletes_pending"] == 0
        assert "li.na@example.com" not in hubspot.contacts and "li.na@example.com" in hubspot.gdpr_deleted
        assert salesforce.deleted == [PERSON] and PERSON not in salesforce.records
        assert webhook.forgotten == [PERSON] and PERSON not in webhook.records
    # nothing of hers is left under the data folder
    assert residual.search([data], values, exclude=("landing",)) == {}
    # s2 (her phone only) and s5 (another mailbox) are linked to her by the identity graph only: no
    # warehouse here, so they stay (tests/privacy/test_erase_graph.py follows the graph)
    assert [r["submission_id"] for r in rows(settings, "raw", "forms_submissions")] == ["s2", "s3", "s5"]
    forms = lake.read_manifest(settings.lake_dir, "forms", DAY)
    assert_accounting(forms)
    assert forms["tables"]["forms_submissions"]["suppressed"] == 2
    # Bo is untouched: his ledger rows, his record in the HubSpot outbox batch
    db = sqlite3.connect(settings.ledger_path)
    assert sorted(k for (k,) in db.execute("select record_key from activation_ledger")) == [
        "bo-" + PERSON, "bo-" + PERSON, "bo-li.na@example.com"]  # fmt: skip
    assert db.execute("select record_key, reason from activation_row_log").fetchall()[0][1] == "[erased]"
    db.close()
    batch = json.loads((settings.outbox_dir / "hubspot" / f"dt={DAY}" / "batch-0001.json").read_text())
    assert [i["id"] for i in batch["inputs"]] == ["bo.wang@example.org"]
    chat = json.loads((settings.outbox_dir / "dingtalk" / f"dt={DAY}" / "batch-0001.json").read_text())
    assert "li.na@example.com" not in chat["markdown"]["text"] and "【Acme】" in chat["markdown"]["text"]
    assert "all good" in (settings.warehouse.parent / "logs" / "airflow-scheduler.log").read_text()
    # the request is recorded, without her identifiers
    records = [r for r in audit.read(settings.lake_dir) if r["event"] == "erasure"]
    assert len(records) == 1 and records[0]["record_count"] == 1  # one person id (named by the request)
    assert "li.na" not in json.dumps(records, default=str).lower()
    # the landing drops lost her records too (test_erase_landing.py): a re-extract of the interval (a
    # backfill) reads only the others; a later export that still holds her is suppressed (above)
    again = extract_all(settings)
    assert again["forms"]["tables"]["forms_submissions"] == {"read": 3, "loaded": 3, "quarantined": 0,
                                                             "suppressed": 0}  # fmt: skip
    assert residual.search([data], values) == {}


def test_a_failed_delete_is_kept_and_retried(settings):
    extract_all(settings)
    with FakeHubSpot(token="pat") as hubspot, FakeSalesforce() as salesforce, FakeCrmWebhook(secret="s") as webhook:
        configs = {
            "hubspot": HubSpotConfig(base_url=hubspot.url, token="pat", portal_id="1", max_retries=1),
            "salesforce": SalesforceConfig(instance_url=salesforce.url, access_token=salesforce.token),
            "crm_webhook": WebhookConfig(url=webhook.webhook_url, secret="s"),
        }
        seed_activation(settings, configs)
        hubspot.outage(503)
        report = erase(settings, [ErasureRequest("email", "li.na@example.com", "request"),
                                  ErasureRequest("person_id", PERSON, "request")],
                       destinations=list(configs.values()), sleep=lambda s: None)  # fmt: skip
        assert report["destination_deletes_pending"] == 1 and report["destinations_deleted"] == 2
        assert salesforce.deleted == [] and "404" not in json.dumps(report)  # Salesforce had no record: counted done
        pending = json.loads((settings.state_dir / "privacy" / "pending_deletes.json").read_text())
        assert [p["destination"] for p in pending] == [ledger_name("hubspot", configs["hubspot"])]
        hubspot.outage(None)
        assert retry_pending(settings, list(configs.values())) == {"retried": 1, "deleted": 1, "pending": 0}
        assert "li.na@example.com" in hubspot.gdpr_deleted
    assert not (settings.state_dir / "privacy" / "pending_deletes.json").exists()


def test_a_delete_the_vendor_refuses_is_not_counted(settings):
    with FakeHubSpot(token="right") as hubspot:
        config = HubSpotConfig(base_url=hubspot.url, token="wrong", portal_id="1")
        with Ledger(settings.ledger_path) as ledger:
            ledger.record(ledger_name("hubspot", config), "r", [("li.na@example.com", "h", "acknowledged", None)])
        report = erase(settings, [ErasureRequest("email", "li.na@example.com", "request")], destinations=[config])
    assert report["destinations_deleted"] == 0 and report["destination_deletes_pending"] == 1
    assert "wrong" not in json.dumps(report)  # the token never reaches the report


def test_requests_from_a_file(tmp_path):
    path = tmp_path / "requests.csv"
    path.write_text("email,phone,person_id,reason\na@b.com,,,art. 17\n,+8613800138000,p1,art. 17\n")
    assert read_request_file(path) == [
        ErasureRequest("email", "a@b.com", "art. 17"),
        ErasureRequest("phone", "+8613800138000", "art. 17"),
        ErasureRequest("person_id", "p1", "art. 17"),
    ]
    (tmp_path / "r.jsonl").write_text('{"kind": "email", "value": "a@b.com"}\n')
    assert read_request_file(tmp_path / "r.jsonl", "default reason")[0].reason == "default reason"
    with pytest.raises(ErasureError, match="reason"):
        read_request_file(tmp_path / "r.jsonl")


def test_cli_refuses_a_request_without_reason(settings, capsys):
    from intent_pipeline.__main__ import main

    assert main(["erase", "--email", "li.na@example.com", "--dry-run"]) == 2
    assert "reason" in capsys.readouterr().err
    assert main(["erase", "--email", "li.na@example.com", "--reason", "art. 17", "--dry-run"]) == 0
    assert not suppression.list_path(settings).exists()


def test_parquet_rewrite_keeps_the_schema(settings):
    extract_all(settings)
    erase(settings, [ErasureRequest("email", "li.na@example.com", "r")])
    path = lake.partition_path(settings.lake_dir, "raw", "forms_submissions", DAY)
    assert pq.read_schema(path).equals(lake.schema_for("raw", "forms_submissions"))
