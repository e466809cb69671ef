"""Dead letters, dry runs, the change guard and a crash between sending and recording, over real HTTP."""

from __future__ import annotations

import pytest
from intent_pipeline.activation import ActivationGuardError, HubSpotConfig, Safety, activate
from intent_pipeline.activation.ledger import DEAD_LETTER, Ledger

from tests.activation.conftest import INTERVAL_END, INTERVAL_START, assert_accounting
from tests.activation.test_hubspot import TOKEN, Sleeps, portal
from tests.fakes.hubspot import FakeHubSpot

BAD = "lead00007@example.com"


def run(settings, server, run_id, concurrency=2, **safety):
    config = HubSpotConfig(base_url=server.url, token=TOKEN, concurrency=concurrency)
    report = activate(settings, INTERVAL_START, INTERVAL_END, run_id, hubspot=config, dingtalk=None,
                      sleep=Sleeps(), safety=Safety(**safety))  # fmt: skip
    if not safety.get("dry_run"):
        assert_accounting(report)
    return report["hubspot"]


def sent_ids(server) -> list[str]:
    return [i["id"] for r in server.requests for i in r["body"]["inputs"]]


def test_a_record_rejected_three_times_is_dead_lettered_until_its_payload_changes(settings, segment):
    with FakeHubSpot(token=TOKEN) as server:
        server.reject(BAD, "Property values were not valid: phone is invalid", mode="207")
        for n in (1, 2, 3):
            report = run(settings, server, f"run-{n}", dead_letter_after=3)
            assert report["rejected"] == 1 and report["dead_lettered"] == 0
        assert sent_ids(server).count(BAD) == 3
        with Ledger(settings.ledger_path) as ledger:
            entry = ledger.entries(portal(server))[BAD]
            letters = ledger.db.execute("select record_key, attempts, last_error from activation_dead_letter")
            letters = letters.fetchall()
        assert (entry.status, entry.attempts) == (DEAD_LETTER, 3)
        assert letters == [(BAD, 3, entry.last_error)] and "phone is invalid" in entry.last_error

        server.clear_requests()
        fourth = run(settings, server, "run-4", dead_letter_after=3)
        assert fourth["dead_lettered"] == 1 and fourth["unchanged"] == 249 and fourth["requests"] == 0
        assert BAD not in sent_ids(server)  # not hammered
        with Ledger(settings.ledger_path) as ledger:
            log = ledger.row_log("run-4", portal(server))
        assert [(e["record_key"], e["outcome"]) for e in log] == [(BAD, "dead_letter")]
        assert "phone is invalid" in log[0]["reason"]

        # someone fixes the lead upstream: a new payload gets a fresh chance (and is accepted)
        server.accept(BAD)
        row = next(r for r in segment.rows if r["email"] == BAD)
        row["lead_score"] += 1
        segment.save()
        fifth = run(settings, server, "run-5", dead_letter_after=3)
        assert fifth["sent_ok"] == 1 and fifth["dead_lettered"] == 0 and sent_ids(server) == [BAD]


def test_deferred_rows_are_never_dead_lettered(settings, segment):
    with FakeHubSpot(token=TOKEN) as server:
        server.outage(503)
        for n in (1, 2, 3):
            report = run(settings, server, f"run-{n}", dead_letter_after=2)
            assert report["deferred"] == 250 and report["dead_lettered"] == 0
        server.outage(None)
        report = run(settings, server, "run-4", dead_letter_after=2)
    assert report["sent_ok"] == 250


def test_dry_run_predicts_the_real_run_and_changes_nothing(settings, segment):
    segment.rows[3]["email"] = None  # invalid: no key
    segment.rows[9]["email"] = segment.rows[10]["email"]  # invalid: duplicate key, both rows
    segment.save()
    with FakeHubSpot(token=TOKEN) as server:
        server.reject(BAD, "phone is invalid", mode="207")
        dry = run(settings, server, "dry-1", dry_run=True)
        assert server.requests == []
        with Ledger(settings.ledger_path) as ledger:
            assert ledger.entries(portal(server)) == {}
            assert ledger.db.execute("select count(*) from activation_runs").fetchone()[0] == 0
        real = run(settings, server, "run-1")
        assert dry["mode"] == "dry_run"
        for key in ("planned", "unchanged", "invalid", "dead_lettered"):
            assert dry[key] == real[key], key
        assert dry["would_send"] == real["sent_ok"] + real["rejected"] + real["deferred"] == 247
        assert (dry["would_create"], dry["would_update"], dry["invalid"]) == (247, 0, 3)
        actions = {d["key"]: d["action"] for d in dry["decisions"]}
        assert actions[BAD] == "create" and actions[segment.rows[10]["email"]] == "invalid"

        for row in segment.rows[20:25]:
            row["lead_score"] += 1
        segment.save()
        server.accept(BAD)
        dry2 = run(settings, server, "dry-2", dry_run=True)
        server.clear_requests()
        real2 = run(settings, server, "run-2")
    assert dry2["would_send"] == real2["sent_ok"] == 6  # 5 changed + the rejected one retried
    assert (dry2["would_update"], dry2["would_create"]) == (5, 1)
    assert dry2["unchanged"] == real2["unchanged"] == 241


def test_guard_stops_a_run_that_would_rewrite_most_of_the_crm(settings, segment):
    with FakeHubSpot(token=TOKEN) as server:
        run(settings, server, "run-1")
        for row in segment.rows:  # a broken upstream: every score moves
            row["lead_score"] += 7
        segment.save()
        server.clear_requests()
        dry = run(settings, server, "dry", dry_run=True, max_change_share=0.5, guard_min_rows=100)
        assert "would update 250 of the 250" in dry["guard"]
        with pytest.raises(ActivationGuardError, match="250 of the 250"):
            run(settings, server, "run-2", max_change_share=0.5, guard_min_rows=100)
        assert server.requests == []
        # switched off (an intended mass change), the same run goes through
        report = run(settings, server, "run-3", max_change_share=None)
    assert report["sent_ok"] == 250


@pytest.mark.parametrize("concurrency", [1, 2])
def test_killed_between_sending_and_recording_rerun_neither_duplicates_nor_loses(
    settings, segment, monkeypatch, concurrency
):
    """The process dies after HubSpot answered the second batch but before the ledger recorded it.

    With one batch in flight the third batch is never sent; with two, the third may already be on
    its way when the process dies (it is then answered but not recorded either). Either way the
    re-run sends every unrecorded row again and the CRM ends with each contact created once."""
    calls = {"n": 0}
    original = Ledger.record

    def dying_record(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("killed")
        return original(self, *args, **kwargs)

    with FakeHubSpot(token=TOKEN) as server:
        monkeypatch.setattr(Ledger, "record", dying_record)
        with pytest.raises(KeyboardInterrupt):
            run(settings, server, "run-1", concurrency=concurrency)
        monkeypatch.setattr(Ledger, "record", original)
        reached = len(server.contacts)  # batches that reached the CRM; only the first was recorded
        assert reached == 200 if concurrency == 1 else reached in (200, 250)
        rerun = run(settings, server, "run-1", concurrency=concurrency)
        created = [r for req in server.requests if req["status"] in (200, 207) for r in req["response"]["results"]
                   if r["new"]]  # fmt: skip
    assert rerun["sent_ok"] == 150 and rerun["unchanged"] == 100  # the unrecorded batches are resent: upserts
    assert len(server.contacts) == 250
    assert len(created) == 250 == len({r["id"] for r in created})  # every contact created exactly once
    with Ledger(settings.ledger_path) as ledger:
        entries = ledger.entries(portal(server))
    assert len(entries) == 250 and all(e.acknowledged for e in entries.values())


def test_a_rejection_that_makes_a_dead_letter_is_reported_as_one(settings, segment):
    """dead_letter_after=1: the first rejection makes the dead letter. The run's report counts the row as
    rejected (it was sent and refused: planned = sent_ok + rejected + ...) and says it is a dead letter now;
    the next run counts it dead_lettered (not sent), and the summary line says both."""
    from intent_pipeline.report import format_summary

    with FakeHubSpot(token=TOKEN) as server:
        server.reject(BAD, "Property values were not valid: phone is invalid", mode="207")
        first = run(settings, server, "run-1", dead_letter_after=1)
        assert (first["rejected"], first["dead_lettered_now"], first["dead_lettered"]) == (1, 1, 0), first
        with Ledger(settings.ledger_path) as ledger:
            assert ledger.entries(portal(server))[BAD].status == DEAD_LETTER
            # the row log makes the report's distinction: rejected now and a dead letter by that rejection
            logged = [(r["record_key"], r["outcome"]) for r in ledger.row_log("run-1", portal(server))]
            assert logged == [(BAD, "dead_lettered_now")], logged
        second = run(settings, server, "run-2", dead_letter_after=1)
        with Ledger(settings.ledger_path) as ledger:
            logged = [(r["record_key"], r["outcome"]) for r in ledger.row_log("run-2", portal(server))]
            assert logged == [(BAD, "dead_letter")], logged  # not sent: a dead letter already
        assert (second["rejected"], second["dead_lettered_now"], second["dead_lettered"]) == (0, 0, 1), second
        assert sent_ids(server).count(BAD) == 1
    summary = {"interval_start": "2026-11-21", "sources": {}, "quality": {"raw": True, "marts": True},
               "warehouse": {"error": "-"}, "activation": {"hubspot": first}, "paths": {}}  # fmt: skip
    lines = [line for line in format_summary(summary).splitlines() if line.startswith("activation hubspot")]
    assert lines and "rejected 1 (dead-lettered now: 1)" in lines[0], lines
    summary["activation"]["hubspot"] = second
    lines = [line for line in format_summary(summary).splitlines() if line.startswith("activation hubspot")]
    assert lines and "rejected 0," in lines[0] and "dead_lettered 1" in lines[0], lines


def test_a_rejection_below_the_limit_is_no_dead_letter_now(settings, segment):
    with FakeHubSpot(token=TOKEN) as server:
        server.reject(BAD, "Property values were not valid: phone is invalid", mode="207")
        first = run(settings, server, "run-1", dead_letter_after=2)
        with Ledger(settings.ledger_path) as ledger:
            logged = [(r["record_key"], r["outcome"]) for r in ledger.row_log("run-1", portal(server))]
    assert (first["rejected"], first["dead_lettered_now"]) == (1, 0), first
    assert logged == [(BAD, "rejected")], logged
