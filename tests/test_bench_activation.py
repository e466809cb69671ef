"""bench/activation.py: its crash and chat parts at a small size (the rate part needs real minutes)."""

from __future__ import annotations

from tests.benches import load_bench

bench = load_bench("activation")


def test_a_killed_run_rerun_creates_every_contact_once_and_loses_none(tmp_path):
    figures = bench.crash(tmp_path, 450)
    # killed recording the third answer: two batches were recorded; the third reached the CRM
    # unrecorded, and the fourth did too when its request (HubSpot sends two batches at once) left
    # before the process died: the threads decide, so both are right; the fifth never left
    assert figures["contacts_before_rerun"] in (300, 400)
    assert figures["rerun_sent_ok"] == 250
    assert (figures["duplicates_after_crash"], figures["lost_after_crash"]) == (0, 0)


def test_newly_hot_leads_reach_dingtalk_without_a_throttle_error(tmp_path):
    figures = bench.chat(tmp_path, 45)
    assert figures["chat_acknowledged"] == 45 and figures["chat_requests"] == 1  # one digest
    assert figures["chat_throttle_errors"] == 0
    per_lead = figures["chat_per_lead"]
    assert per_lead["acknowledged"] == per_lead["requests"] == 45
    assert per_lead["virtual_minutes"] >= 2.0  # 45 messages at 20 a minute
