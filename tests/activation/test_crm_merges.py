"""A HubSpot contact pushed under a merged-away person id is merged into the survivor's contact, over
real HTTP to the fake HubSpot (its search and merge endpoints follow HubSpot's CRM v3 contract), and
each pair's outcome is in the activation ledger (``hubspot-merge@<account>``)."""

from __future__ import annotations

import pytest
from intent_pipeline.activation import HubSpotConfig, activate
from intent_pipeline.activation.crm_merges import DESTINATION, MERGE_PATH, SEARCH_PATH, merge_pairs
from intent_pipeline.activation.hubspot import HubSpotAuthError
from intent_pipeline.activation.ledger import Ledger

from tests.activation.conftest import INTERVAL_END, INTERVAL_START, Segment, make_rows
from tests.activation.test_merges import merge
from tests.fakes.hubspot import FakeHubSpot

TOKEN = "pat-na1-test"


@pytest.fixture
def small(settings) -> Segment:
    return Segment(settings, make_rows(4))


def run(settings, server, run_id: str) -> dict:
    config = HubSpotConfig(base_url=server.url, token=TOKEN)
    return activate(settings, INTERVAL_START, INTERVAL_END, run_id, hubspot=config, dingtalk=None,
                    sleep=lambda _: None)["hubspot"]  # fmt: skip


def merge_entries(settings, server) -> dict:
    scope = HubSpotConfig(base_url=server.url, token=TOKEN).ledger_scope
    with Ledger(settings.ledger_path) as ledger:
        return ledger.entries(f"{DESTINATION}@{scope}")


def calls(server, path: str) -> list[dict]:
    return [r for r in server.requests if r["path"] == path]


def test_merge_pairs_come_from_the_segment():
    rows = [{"person_id": "p2", "merged_person_ids": "p0,p1"}, {"person_id": "p3", "merged_person_ids": None}]
    assert merge_pairs(rows) == [("p0", "p2"), ("p1", "p2")]


def test_the_merged_away_contact_is_merged_into_the_survivors_once(settings, small):
    with FakeHubSpot(token=TOKEN) as server:
        first = run(settings, server, "run-1")
        assert first["sent_ok"] == 4 and "merges" not in first
        gone_id = server._ids["lead00000@example.com"]
        kept_id = server._ids["lead00001@example.com"]
        # the next build merged p00000 into p00001 (the oldest id survives)
        merge(small, "p00000", "p00001", newly_hot=False)
        second = run(settings, server, "run-2")
        assert second["merges"] == {"pairs": 1, "merged": 1, "nothing_to_merge": 0, "rejected": 0, "deferred": 0,
                                    "already": 0, "requests": 3}  # fmt: skip
        assert server.merges == [(kept_id, gone_id)]
        merge_body = calls(server, MERGE_PATH)[0]["body"]
        assert merge_body == {"primaryObjectId": kept_id, "objectIdToMerge": gone_id}
        assert "lead00000@example.com" not in server.contacts
        assert server.contacts["lead00001@example.com"]["intent_person_id"] == "p00001"
        # done once: the next run neither searches nor merges again
        searched = len(calls(server, SEARCH_PATH))
        third = run(settings, server, "run-3")
        assert third["merges"]["already"] == 1 and third["merges"]["requests"] == 0
        assert len(calls(server, SEARCH_PATH)) == searched and len(server.merges) == 1
    entry = merge_entries(settings, server)["p00000>p00001"]
    assert entry.acknowledged and entry.attempts == 1


def test_nothing_to_merge_when_the_merged_away_id_was_never_pushed(settings, small):
    with FakeHubSpot(token=TOKEN) as server:
        run(settings, server, "run-1")
        merge(small, "p00000", "p00001", newly_hot=False)
        # p00000 had no contact: as if it had never been pushed
        server.contacts.pop("lead00000@example.com")
        server._ids.pop("lead00000@example.com")
        report = run(settings, server, "run-2")
        assert report["merges"]["nothing_to_merge"] == 1 and report["merges"]["merged"] == 0
        assert server.merges == [] and calls(server, MERGE_PATH) == []
    assert merge_entries(settings, server)["p00000>p00001"].acknowledged


def test_a_refused_merge_is_rejected_with_hubspots_message_and_tried_again(settings, small):
    with FakeHubSpot(token=TOKEN) as server:
        run(settings, server, "run-1")
        merge(small, "p00000", "p00001", newly_hot=False)
        server.refuse_merges("Contacts 1001 and 1002 cannot be merged: merge limit reached")
        second = run(settings, server, "run-2")
        assert second["merges"]["rejected"] == 1 and server.merges == []
        entry = merge_entries(settings, server)["p00000>p00001"]
        assert entry.status == "rejected" and "merge limit reached" in entry.last_error
        server.refuse_merges(None)
        third = run(settings, server, "run-3")
        assert third["merges"]["merged"] == 1 and len(server.merges) == 1
    with Ledger(settings.ledger_path) as ledger:
        logged = [r for r in ledger.row_log("run-2") if r["destination"].startswith(DESTINATION)]
    assert [(r["record_key"], r["outcome"]) for r in logged] == [("p00000>p00001", "rejected")]


def test_a_throttled_search_defers_the_merge_to_the_next_run(settings, small):
    with FakeHubSpot(token=TOKEN) as server:
        run(settings, server, "run-1")
        merge(small, "p00000", "p00001", newly_hot=False)
        server.enqueue(429, headers={"Retry-After": "1"})  # the first request of run-2 is the search
        second = run(settings, server, "run-2")
        assert second["merges"]["deferred"] == 1 and server.merges == []
        assert merge_entries(settings, server)["p00000>p00001"].status == "deferred"
        third = run(settings, server, "run-3")
        assert third["merges"]["merged"] == 1 and len(server.merges) == 1


def test_a_refused_token_stops_with_the_configuration_error(settings, small):
    with FakeHubSpot(token=TOKEN) as server:
        run(settings, server, "run-1")
        merge(small, "p00000", "p00001", newly_hot=False)
        server.enqueue(401, body={"status": "error", "category": "INVALID_AUTHENTICATION", "message": "expired"})
        with pytest.raises(HubSpotAuthError, match="hubspot_default"):
            run(settings, server, "run-2")
        assert server.merges == []


def test_the_fake_refuses_merging_a_contact_into_itself_and_unknown_ids(settings, small):
    import requests

    with FakeHubSpot(token=TOKEN) as server:
        run(settings, server, "run-1")
        headers = {"Authorization": f"Bearer {TOKEN}"}
        kept = server._ids["lead00001@example.com"]
        same = requests.post(server.url + MERGE_PATH, json={"primaryObjectId": kept, "objectIdToMerge": kept},
                             headers=headers, timeout=10)  # fmt: skip
        unknown = requests.post(server.url + MERGE_PATH, json={"primaryObjectId": kept, "objectIdToMerge": "9"},
                                headers=headers, timeout=10)  # fmt: skip
    assert same.status_code == 400 and same.json()["category"] == "VALIDATION_ERROR"
    assert unknown.status_code == 404 and unknown.json()["category"] == "OBJECT_NOT_FOUND"
