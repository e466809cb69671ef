"""SendGrid Event Webhook bodies into email_events, checked against django-anymail's real-shaped payloads."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.sources.helpers import DS, assert_accounting, by_row, drop_dir, extract, quarantine_rows, raw_rows

CASES_FILE = Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "sendgrid_events_anymail_cases.json"

# anymail's normalised event type -> the SendGrid event it comes from.
ANYMAIL_TO_SENDGRID = {
    "queued": "processed",
    "delivered": "delivered",
    "rejected": "dropped",
    "bounced": "bounce",
    "deferred": "deferred",
    "opened": "open",
    "clicked": "click",
    "complained": "spamreport",
    "unsubscribed": "unsubscribe",
}


def _expected_time(text: str) -> datetime:
    """anymail writes expected times as "datetime(2016, 4, 19, 19, 47, 26, tzinfo=timezone.utc)"."""
    parts = [int(n) for n in re.findall(r"\d+", text.split("tzinfo")[0])]
    return datetime(*parts, tzinfo=UTC).replace(tzinfo=None)


@pytest.fixture
def cases() -> list[dict]:
    if not CASES_FILE.exists():
        pytest.fail(f"outside test data missing: {CASES_FILE} (the shared/testdata folder sits beside the project)")
    return json.loads(CASES_FILE.read_text(encoding="utf-8"))


def test_every_anymail_payload_is_parsed(settings, cases):
    folder = drop_dir(settings, "email")
    for i, case in enumerate(cases):
        (folder / f"sendgrid_{i:02d}.json").write_text(json.dumps(case["raw_events"]), encoding="utf-8")

    manifest = extract("email", settings)

    assert_accounting(manifest)
    n_events = sum(len(case["raw_events"]) for case in cases)
    assert manifest["tables"]["email_events"] == {"read": n_events, "loaded": n_events, "quarantined": 0}
    rows = raw_rows(settings, "email_events")
    for i, case in enumerate(cases):
        loaded = by_row(rows, f"sendgrid_{i:02d}.json")
        assert sorted(loaded) == list(range(1, len(case["raw_events"]) + 1)), case["test"]
        raw, row = case["raw_events"][0], loaded[1]
        expected = case["expected_normalized"]
        assert row["event"] == raw["event"], case["test"]
        if "event_type" in expected:
            assert ANYMAIL_TO_SENDGRID[expected["event_type"]] == row["event"], case["test"]
        assert row["sg_event_id"] == raw["sg_event_id"]
        assert row["sg_message_id"] == raw.get("sg_message_id")
        assert row["email"] == raw["email"].strip().lower()
        if "recipient" in expected:
            assert row["email"] == expected["recipient"]
        assert row["event_at"] == datetime.fromtimestamp(raw["timestamp"], UTC).replace(tzinfo=None)
        if "timestamp" in expected:
            assert row["event_at"] == _expected_time(expected["timestamp"]), case["test"]
        assert row["reason"] == raw.get("reason") and row["status"] == raw.get("status")
        assert row["bounce_type"] == raw.get("type")
        assert row["url"] == raw.get("url") and row["useragent"] == raw.get("useragent") and row["ip"] == raw.get("ip")
        if "tags" in expected:
            assert json.loads(row["categories"] or "[]") == expected["tags"], case["test"]
        # Everything without a column of its own is kept in extra (custom args, smtp-id, response, ...).
        extra = json.loads(row["extra"]) if row["extra"] else {}
        for key in ("smtp-id", "anymail_id", "response", "tls", "attempt", "url_offset", "custom1", "custom2"):
            assert extra.get(key) == raw.get(key), (case["test"], key)
        if expected.get("metadata"):
            assert {k: extra[k] for k in expected["metadata"]} == expected["metadata"]
        if "mta_response" in expected and expected["mta_response"] is not None:
            assert expected["mta_response"] in (row["reason"], extra.get("response")), case["test"]


def test_bounces_categories_and_duplicates(settings, cases):
    events = [e for case in cases for e in case["raw_events"]]
    body = events + [dict(events[0])]  # the webhook re-sends an event it thinks was lost
    (drop_dir(settings, "email") / "batch.json").write_text(json.dumps(body), encoding="utf-8")

    extract("email", settings)

    rows = raw_rows(settings, "email_events")
    assert len(rows) == len(body)
    duplicated = {k for k, n in Counter(r["sg_event_id"] for r in rows).items() if n > 1}
    # The re-sent event and the two anymail cases that share an sg_event_id: raw keeps them all.
    assert events[0]["sg_event_id"] in duplicated and "nOSv8m0eTQ-vxvwNwt3fZQ" in duplicated
    bounce = next(r for r in rows if r["event"] == "bounce")
    assert bounce["reason"] == "550 5.1.1 The email account that you tried to reach does not exist."
    assert bounce["bounce_type"] == "bounce" and bounce["status"] == "5.1.1"
    dropped = [r for r in rows if r["event"] == "dropped"]
    assert {r["reason"] for r in dropped} >= {"Bounced Address", "Unsubscribed Address", "Invalid"}
    single_category = next(r for r in rows if r["sg_event_id"] == "zmzJhfJgAfUSOW80yEbPyw==")
    assert json.loads(single_category["categories"]) == ["cat facts"]
    assert [r["_row_number"] for r in rows] == list(range(1, len(body) + 1))


def test_bad_events_are_quarantined(settings):
    good = {"email": " Someone@Example.com", "timestamp": "1763683200", "event": "open", "sg_event_id": "e1",
            "sg_message_id": "m1", "marketing_campaign_id": 42, "asm_group_id": 7}  # fmt: skip
    body = [
        good,
        {**good, "sg_event_id": "e2", "event": "mystery_event"},
        {**good, "sg_event_id": ""},
        {**good, "sg_event_id": "e4", "timestamp": "soon"},
        {**good, "sg_event_id": "e5", "email": "not an address"},
        "not an object",
    ]
    folder = drop_dir(settings, "email")
    (folder / "body.json").write_text(json.dumps(body), encoding="utf-8")
    (folder / "truncated.json").write_text('[{"email": "a@example.com", "event": "open"', encoding="utf-8")

    manifest = extract("email", settings)

    assert_accounting(manifest)
    loaded = by_row(raw_rows(settings, "email_events"), "body.json")
    assert sorted(loaded) == [1]
    assert loaded[1]["email"] == "someone@example.com"
    assert loaded[1]["event_at"] == datetime(2025, 11, 21, 0, 0, 0)
    assert loaded[1]["marketing_campaign_id"] == "42"
    assert json.loads(loaded[1]["extra"]) == {"asm_group_id": 7}
    quarantined = by_row(quarantine_rows(settings, "email_events"), "body.json")
    assert sorted(quarantined) == [2, 3, 4, 5, 6]
    assert quarantined[2]["reason"] == "unknown event type 'mystery_event'"
    assert json.loads(quarantined[2]["raw_content"])["sg_event_id"] == "e2"
    assert "sg_event_id" in quarantined[3]["reason"]
    assert quarantined[4]["reason"].startswith("invalid 'timestamp': "), quarantined[4]["reason"]
    assert quarantined[5]["reason"].startswith("invalid 'email': ") and "not an address" in quarantined[5]["reason"]
    assert "not a JSON object" in quarantined[6]["reason"]
    # A body that is not JSON cannot be split into events: the file is one quarantine row, numbered 0.
    whole = by_row(quarantine_rows(settings, "email_events"), "truncated.json")
    assert list(whole) == [0] and whole[0]["raw_content"].startswith('[{"email"')
    assert manifest["file_errors"] == [whole[0]["reason"]] and f"email/dt={DS}/truncated.json" in whole[0]["reason"]
