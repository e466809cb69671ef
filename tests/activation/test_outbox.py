"""Without a connection, activation writes exactly what it would send and records it under `<name>:outbox`."""

from __future__ import annotations

import json
import sqlite3

from intent_pipeline.activation import HubSpotConfig, activate
from intent_pipeline.activation.ledger import Ledger

from tests.activation.conftest import INTERVAL_END, INTERVAL_START, assert_accounting
from tests.fakes.hubspot import FakeHubSpot


def outbox_files(settings) -> dict[str, float]:
    return {str(p.relative_to(settings.outbox_dir)): p.stat().st_mtime_ns for p in settings.outbox_dir.rglob("*.json")}


def run(settings, run_id, hubspot=None):
    report = activate(settings, INTERVAL_START, INTERVAL_END, run_id, hubspot=hubspot, dingtalk=None)
    assert_accounting(report)
    return report


def test_outbox_is_written_once_and_a_rerun_writes_nothing(settings, segment):
    report = run(settings, "run-1")
    hubspot, dingtalk = report["hubspot"], report["dingtalk"]
    assert hubspot["mode"] == dingtalk["mode"] == "outbox"
    assert hubspot["sent_ok"] == 250 and hubspot["requests"] == 0
    folder = settings.outbox_dir / "hubspot" / "dt=2026-11-21"
    assert hubspot["outbox_files"] == [str(folder / f"batch-000{i}.json") for i in (1, 2, 3)]
    bodies = [json.loads((folder / f"batch-000{i}.json").read_text(encoding="utf-8")) for i in (1, 2, 3)]
    assert [len(b["inputs"]) for b in bodies] == [100, 100, 50]
    assert sorted(i["id"] for b in bodies for i in b["inputs"]) == sorted(r["email"] for r in segment.rows)
    assert bodies[0]["inputs"][0]["properties"]["intent_person_id"] == "p00000"

    chat = sorted((settings.outbox_dir / "dingtalk" / "dt=2026-11-21").glob("batch-*.json"))
    assert len(chat) == dingtalk["sent_ok"] == 5
    message = json.loads(chat[0].read_text(encoding="utf-8"))
    assert message["msgtype"] == "markdown" and "意向分60" in message["markdown"]["text"]

    before = outbox_files(settings)
    again = run(settings, "run-2")
    assert outbox_files(settings) == before
    for counts in again.values():
        assert counts["sent_ok"] == 0 and counts["outbox_files"] == []
        assert counts["unchanged"] + counts["invalid"] == counts["planned"]

    # A changed row goes to a new file; earlier files are never overwritten.
    segment.rows[7]["lead_score"] = 88
    segment.save()
    third = run(settings, "run-3")
    assert third["hubspot"]["outbox_files"] == [str(folder / "batch-0004.json")]
    assert json.loads((folder / "batch-0004.json").read_text())["inputs"][0]["id"] == "lead00007@example.com"
    assert {k: v for k, v in outbox_files(settings).items() if k in before} == before

    with Ledger(settings.ledger_path) as ledger:
        assert len(ledger.entries("hubspot:outbox")) == 250
    with sqlite3.connect(settings.ledger_path) as db:
        names = {name for (name,) in db.execute("select distinct destination from activation_ledger")}
    assert names == {"hubspot:outbox", "dingtalk:outbox"}


def test_connection_configured_later_still_sends_everything(settings, segment):
    run(settings, "run-1")
    with FakeHubSpot(token="pat") as server:
        report = run(settings, "run-2", hubspot=HubSpotConfig(base_url=server.url, token="pat"))
        assert len(server.contacts) == 250
    assert report["hubspot"]["mode"] == "http" and report["hubspot"]["sent_ok"] == 250
    assert report["dingtalk"]["mode"] == "outbox" and report["dingtalk"]["unchanged"] == 5


def test_another_portal_gets_everything_and_portal_id_survives_a_new_token(settings, segment):
    with FakeHubSpot(token="pat-sandbox") as sandbox:
        first = run(settings, "run-1", hubspot=HubSpotConfig(base_url=sandbox.url, token="pat-sandbox"))
        again = run(settings, "run-2", hubspot=HubSpotConfig(base_url=sandbox.url, token="pat-sandbox"))
        assert len(sandbox.contacts) == 250 and len(sandbox.requests) == 3
    assert first["hubspot"]["sent_ok"] == 250 and again["hubspot"]["unchanged"] == 250
    # Production is another account: what the sandbox acknowledged is still owed to it.
    with FakeHubSpot(token="pat-prod") as prod:
        config = HubSpotConfig(base_url=prod.url, token="pat-prod", portal_id="4711")
        assert run(settings, "run-3", hubspot=config)["hubspot"]["sent_ok"] == 250
        prod.token = "pat-rotated"
        rotated = HubSpotConfig(base_url=prod.url, token="pat-rotated", portal_id="4711")
        assert run(settings, "run-4", hubspot=rotated)["hubspot"]["unchanged"] == 250
        assert len(prod.contacts) == 250 and len(prod.requests) == 3
