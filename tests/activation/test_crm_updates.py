"""People who leave the high-intent segment: a CRM that holds them learns their new grade; chat stays quiet."""

from __future__ import annotations

from intent_pipeline.activation import DingTalkConfig, HubSpotConfig, activate

from tests.activation.conftest import INTERVAL_END, INTERVAL_START, assert_accounting, make_rows, write_segment
from tests.fakes.dingtalk import FakeDingTalk
from tests.fakes.hubspot import FakeHubSpot

TOKEN = "pat-na1-test"


def run(settings, hubspot, dingtalk, run_id):
    report = activate(
        settings,
        INTERVAL_START,
        INTERVAL_END,
        run_id,
        hubspot=HubSpotConfig(base_url=hubspot.url, token=TOKEN),
        dingtalk=DingTalkConfig(webhook_url=dingtalk.webhook_url, access_token=dingtalk.access_token,
                                secret=dingtalk.secret),
        sleep=lambda seconds: None,
    )  # fmt: skip
    assert_accounting(report)
    return report


def test_a_lead_that_cools_down_is_updated_in_the_crm_once_and_never_alerted(settings):
    rows = make_rows(30, hot_every=1)
    write_segment(settings.warehouse, rows)
    write_segment(settings.warehouse, [], "segment_crm_updates")
    with FakeHubSpot(token=TOKEN) as hubspot, FakeDingTalk() as dingtalk:
        first = run(settings, hubspot, dingtalk, "run-1")
        assert first["hubspot"]["sent_ok"] == 30 and first["dingtalk"]["sent_ok"] == 30
        # Next day: two leads fell to "potential" and left the segment; a third person who was never
        # pushed (lead routing assigned them, another CRM holds them) left it too.
        cooled, stranger = rows[:2], make_rows(31)[30]
        for row in cooled:
            row.update(grade="potential", lead_score=45, became_hot_in_interval=False)
        # newly hot, but a customer now: it left the segment, so no chat alert whatever the flag says
        stranger.update(person_id="p99999", email="stranger@example.com", became_hot_in_interval=True)
        for row in rows[2:]:
            row["became_hot_in_interval"] = False
        write_segment(settings.warehouse, rows[2:])
        write_segment(settings.warehouse, [*cooled, stranger], "segment_crm_updates")
        hubspot.clear_requests()
        second = run(settings, hubspot, dingtalk, "run-2")
        sent = [i for r in hubspot.requests for i in r["body"]["inputs"]]
        assert sorted(i["id"] for i in sent) == sorted(row["email"] for row in cooled)
        assert all(i["properties"]["intent_grade"] == "potential" for i in sent)
        assert hubspot.contacts[cooled[0]["email"]]["intent_score"] in ("45", 45)
        assert "stranger@example.com" not in hubspot.contacts, "a person the CRM never received is not created"
        assert second["hubspot"]["sent_ok"] == 2 and second["hubspot"]["unchanged"] == 28
        assert second["dingtalk"]["requests"] == 0 and len(dingtalk.messages) == 1  # the first run's digest
        # unchanged the day after: nothing is sent
        third = run(settings, hubspot, dingtalk, "run-3")
        assert third["hubspot"]["requests"] == 0 and third["hubspot"]["unchanged"] == 30
