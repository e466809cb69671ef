"""Consent per purpose at every destination, and the audit trail of pushes and publishes.

Real activation (outbox mode and the HubSpot fake over HTTP), a real ledger, a real DuckDB
warehouse holding the segment and the consent marts, real Parquet audit files.
"""

from __future__ import annotations

import json

import duckdb
import pytest
from intent_pipeline import serving
from intent_pipeline.activation import HubSpotConfig, activate, run_destination
from intent_pipeline.activation.dingtalk import DingTalkDestination
from intent_pipeline.activation.hubspot import HubSpotAuthError, HubSpotDestination
from intent_pipeline.activation.ledger import Ledger
from intent_pipeline.activation.segments import SegmentError, read_segment
from intent_pipeline.privacy import audit
from intent_pipeline.privacy.consent import (
    ConsentError,
    consented,
    destination_purposes,
    purpose_of,
    sent_without_consent,
)
from intent_pipeline.settings import Settings

from tests.activation.conftest import INTERVAL_END, INTERVAL_START, assert_accounting, make_rows, write_segment
from tests.fakes.hubspot import FakeHubSpot


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.from_env({"INTENT_HOME": str(tmp_path)})


PURPOSES = ("analytics", "scoring", "crm_sync", "chat_alert", "email_marketing")


def mixed_rows(n: int = 40) -> list[dict]:
    """Every lead became hot; consent cycles: both purposes, CRM only, chat only, neither (null)."""
    rows = make_rows(n, hot_every=1)
    for i, row in enumerate(rows):
        row["consent_crm_sync"] = {0: True, 1: True, 2: False, 3: None}[i % 4]
        row["consent_chat_alert"] = {0: True, 1: False, 2: True, 3: None}[i % 4]
    return rows


def write_consent_marts(warehouse, rows: list[dict], lie_about: set[str] = frozenset()) -> None:
    """marts.people and marts.person_consent as dbt builds them, for the rows' people; the people of
    ``lie_about`` are recorded as not consenting to anything (the segment says otherwise)."""
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("create or replace table marts.people (person_id varchar, email varchar)")
        con.execute(
            "create or replace table marts.person_consent (person_id varchar, purpose varchar, is_granted boolean)"
        )
        for row in rows:
            con.execute("insert into marts.people values (?, ?)", [row["person_id"], row["email"]])
            for purpose in PURPOSES:
                granted = row.get(f"consent_{purpose}") is True and row["person_id"] not in lie_about
                con.execute("insert into marts.person_consent values (?, ?, ?)", [row["person_id"], purpose, granted])
    finally:
        con.close()


def outbox_people(settings, destination: str) -> set[str]:
    folder = settings.outbox_dir / destination / "dt=2026-11-21"
    found = set()
    for path in folder.glob("batch-*.json"):
        body = json.loads(path.read_text(encoding="utf-8"))
        if destination == "hubspot":
            found |= {item["properties"]["intent_person_id"] for item in body["inputs"]}
        else:
            found.add(path.read_text(encoding="utf-8"))
    return found


def test_each_destination_receives_only_the_people_who_consented_to_its_purpose(settings):
    rows = mixed_rows()
    write_segment(settings.warehouse, rows)
    write_consent_marts(settings.warehouse, rows)
    report = activate(settings, INTERVAL_START, INTERVAL_END, "run-1", hubspot=None, dingtalk=None)
    assert_accounting(report)

    crm = {r["person_id"] for r in rows if r["consent_crm_sync"] is True}
    chat = {r["person_id"] for r in rows if r["consent_chat_alert"] is True}
    assert outbox_people(settings, "hubspot") == crm
    assert report["hubspot"]["sent_ok"] == len(crm) == 20
    assert report["hubspot"]["withheld_no_consent"] == 20  # chat-only and unknown (null: fail closed)
    assert report["dingtalk"]["withheld_no_consent"] == 20
    # DingTalk posts a digest above 20 hot leads: count the leads in the ledger instead
    with Ledger(settings.ledger_path) as ledger:
        alerted = {key for key, entry in ledger.entries("dingtalk:outbox").items() if entry.acknowledged}
    assert alerted == chat
    # nobody reached a destination without consent, by the warehouse's own consent mart
    checked = sent_without_consent(settings.warehouse, settings.ledger_path)
    assert checked["violations"] == 0 and checked["unresolved"] == 0
    assert checked["checked"] == len(crm) + len(chat)


def test_the_check_finds_a_person_sent_without_consent(settings):
    rows = mixed_rows(8)
    write_segment(settings.warehouse, rows)
    # the segment says p00000 consented to both; the consent mart says to nothing
    write_consent_marts(settings.warehouse, rows, lie_about={"p00000"})
    activate(settings, INTERVAL_START, INTERVAL_END, "run-1", hubspot=None, dingtalk=None)
    checked = sent_without_consent(settings.warehouse, settings.ledger_path)
    assert checked["violations"] == 2  # HubSpot (key: the email) and DingTalk (key: the person)
    assert {e["destination"] for e in checked["examples"]} == {"hubspot", "dingtalk"}
    assert checked["by_destination"]["hubspot"] == {"purpose": "crm_sync", "checked": 4, "violations": 1}


def test_consent_to_one_purpose_does_not_open_another(settings):
    rows = make_rows(6, hot_every=1)
    for row in rows:
        row.update(consent_crm_sync=False, consent_chat_alert=True)
    with Ledger(settings.ledger_path) as ledger:
        report = run_destination(HubSpotDestination(None), rows, ledger, "r1", INTERVAL_START, settings.outbox_dir)
    assert report["planned"] == report["sent_ok"] == 0 and report["withheld_no_consent"] == 6
    assert not (settings.outbox_dir / "hubspot").exists()


def test_a_row_without_a_consent_value_is_never_sent(settings):
    rows = make_rows(3, hot_every=1)
    for row in rows:
        del row["consent_crm_sync"], row["consent_chat_alert"]
    kept, withheld = consented(rows, "crm_sync")
    assert kept == [] and withheld == 3


def test_every_destination_declares_a_purpose_and_one_without_is_refused(settings):
    purposes = destination_purposes()
    assert purposes == {"hubspot": "crm_sync", "salesforce": "crm_sync", "crm_webhook": "crm_sync",
                        "dingtalk": "chat_alert", "wecom": "chat_alert", "feishu": "chat_alert",
                        "slack": "chat_alert"}  # fmt: skip

    class Careless(HubSpotDestination):
        purpose = None

    with pytest.raises(ConsentError, match="declares no purpose"):
        purpose_of(Careless(None))
    with Ledger(settings.ledger_path) as ledger, pytest.raises(ConsentError):
        run_destination(Careless(None), make_rows(1), ledger, "r1", INTERVAL_START, settings.outbox_dir)


def test_a_segment_built_without_consent_columns_is_refused(settings):
    settings.warehouse.parent.mkdir(parents=True)
    con = duckdb.connect(str(settings.warehouse))
    try:
        con.execute("create schema marts")
        con.execute("create table marts.segment_high_intent as select 'p1' as person_id, 'a@x.cn' as email")
    finally:
        con.close()
    with pytest.raises(SegmentError, match="consent_crm_sync"):
        read_segment(settings.warehouse)


def test_every_push_is_audited_with_destination_purpose_count_and_run(settings):
    rows = mixed_rows(12)
    write_segment(settings.warehouse, rows)
    activate(settings, INTERVAL_START, INTERVAL_END, "run-7", hubspot=None, dingtalk=None)
    records = {r["destination"]: r for r in audit.read(settings.lake_dir)}
    assert set(records) == {"hubspot", "dingtalk"}
    hubspot, dingtalk = records["hubspot"], records["dingtalk"]
    assert (hubspot["event"], hubspot["purpose"], hubspot["record_count"], hubspot["run_id"]) == (
        "push", "crm_sync", 6, "run-7")  # fmt: skip
    assert (dingtalk["purpose"], dingtalk["record_count"]) == ("chat_alert", 6)
    details = json.loads(hubspot["details"])
    assert details["mode"] == "outbox" and details["withheld_no_consent"] == 6 and details["failed"] is None
    # counts and ids only: no email of the segment is in the trail
    text = json.dumps([{k: str(v) for k, v in r.items()} for r in records.values()])
    assert not any(row["email"] in text for row in rows)
    # a re-run pushes nothing new and is audited again (append-only)
    activate(settings, INTERVAL_START, INTERVAL_END, "run-8", hubspot=None, dingtalk=None)
    again = [r for r in audit.read(settings.lake_dir) if r["run_id"] == "run-8"]
    assert sorted((r["destination"], r["record_count"]) for r in again) == [("dingtalk", 0), ("hubspot", 0)]


def test_a_failed_push_is_audited_too(settings):
    rows = mixed_rows(4)
    write_segment(settings.warehouse, rows)
    with FakeHubSpot(token="right") as hubspot, pytest.raises(HubSpotAuthError):
        activate(settings, INTERVAL_START, INTERVAL_END, "run-bad", hubspot=HubSpotConfig(base_url=hubspot.url,
                 token="wrong"), dingtalk=None, sleep=lambda s: None)  # fmt: skip
    records = {r["destination"]: r for r in audit.read(settings.lake_dir)}
    assert json.loads(records["hubspot"]["details"])["failed"] == "HubSpotAuthError"
    assert records["hubspot"]["record_count"] == 0 and records["dingtalk"]["record_count"] == 2


def test_a_dry_run_is_not_audited(settings):
    from intent_pipeline.activation import Safety

    rows = mixed_rows(4)
    write_segment(settings.warehouse, rows)
    report = activate(settings, INTERVAL_START, INTERVAL_END, "dry", hubspot=None, dingtalk=None,
                      safety=Safety(dry_run=True))  # fmt: skip
    assert report["hubspot"]["withheld_no_consent"] == 2
    assert audit.read(settings.lake_dir) == []


def test_every_publish_of_the_serving_copy_is_audited(tmp_path):
    build = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(build))
    try:
        con.execute("create schema marts")
        con.execute("create table marts.people as select range as person_id from range(5)")
        con.execute("create table marts.lead_scores as select range as person_id from range(3)")
    finally:
        con.close()
    lake = tmp_path / "lake"
    manifest = serving.publish(build, tmp_path / "serving", run_id="run-1", interval_start="2026-11-21",
                               lake_dir=lake)  # fmt: skip
    serving.publish(build, tmp_path / "serving", run_id="run-2", interval_start="2026-11-22", lake_dir=lake)
    records = audit.read(lake)
    assert [(r["event"], r["destination"], r["record_count"], r["run_id"]) for r in records] == [
        ("publish", "serving", 8, "run-1"), ("publish", "serving", 8, "run-2")]  # fmt: skip
    assert json.loads(records[0]["details"])["version"] == manifest["version"]


def test_chat_destinations_need_chat_alert():
    assert purpose_of(DingTalkDestination(None)) == "chat_alert"


def test_stall_alerts_need_chat_consent_and_crms_never_count_stalls(settings):
    from tests.activation.conftest import make_stall, write_stalls

    write_segment(settings.warehouse, [])
    stalls = [make_stall("s1", consent_chat_alert=True), make_stall("s2", consent_chat_alert=False)]
    write_stalls(settings.warehouse, stalls)
    report = activate(settings, INTERVAL_START, INTERVAL_END, "run-1", hubspot=None, dingtalk=None)
    assert (report["dingtalk"]["sent_ok"], report["dingtalk"]["withheld_no_consent"]) == (1, 1)
    assert (report["hubspot"]["planned"], report["hubspot"]["withheld_no_consent"]) == (0, 0)  # stalls are no CRM rows
    with Ledger(settings.ledger_path) as ledger:
        keys = set(ledger.entries("dingtalk:outbox"))
    assert [k for k in keys if ":s1" in k] and not [k for k in keys if ":s2" in k]
