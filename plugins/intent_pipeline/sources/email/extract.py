"""Parse one SendGrid Event Webhook POST body (a JSON array of events) into ``email_events`` rows."""

from __future__ import annotations

import json

from intent_pipeline.sources.base import ExtractContext, FileOutcome, LandingFile, TableBuilder, raw_json
from intent_pipeline.sources.normalize import BadValue, decode_bytes, dumps, email, epoch_seconds_us, text

TABLE = "email_events"
TABLES = (TABLE,)
FILE_TYPES = (".json",)

# https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event (delivery and engagement events)
EVENT_TYPES = frozenset({
    "processed", "deferred", "delivered", "open", "click", "bounce", "dropped",
    "spamreport", "unsubscribe", "group_unsubscribe", "group_resubscribe",
})  # fmt: skip
REQUIRED = ("email", "timestamp", "event", "sg_event_id")
# Keys with a column of their own; every other key (smtp-id, response, tls, custom args, ...) goes to ``extra``.
KNOWN_KEYS = frozenset({
    "email", "timestamp", "event", "sg_event_id", "sg_message_id", "url", "useragent", "ip",
    "reason", "status", "type", "category", "marketing_campaign_id",
})  # fmt: skip


def _categories(value) -> str | None:
    # SendGrid sends one category as a string and several as an array; the column is always an array.
    if value is None:
        return None
    return dumps(value if isinstance(value, list) else [value])


def parse_event(event, ctx: ExtractContext) -> dict:
    """One webhook event as an ``email_events`` row; BadValue says why it goes to quarantine."""
    if not isinstance(event, dict):
        raise BadValue(f"event is not a JSON object: {type(event).__name__}")
    for key in REQUIRED:
        if text(event.get(key)) is None:
            raise BadValue(f"empty required field '{key}'")
    event_type = text(event["event"])
    if event_type not in EVENT_TYPES:
        raise BadValue(f"unknown event type {event_type!r}")
    try:
        event_at = epoch_seconds_us(event["timestamp"])
    except BadValue as exc:
        raise BadValue(f"invalid 'timestamp': {exc}") from None
    try:
        address = email(event["email"])
    except BadValue as exc:
        raise BadValue(f"invalid 'email': {exc}") from None
    extra = {key: value for key, value in event.items() if key not in KNOWN_KEYS}
    return {
        "sg_event_id": text(event["sg_event_id"]),
        "sg_message_id": text(event.get("sg_message_id")),
        "event": event_type,
        "email": address,
        "url": text(event.get("url")),
        "useragent": text(event.get("useragent")),
        "ip": text(event.get("ip")),
        "reason": text(event.get("reason")),
        "status": text(event.get("status")),
        "bounce_type": text(event.get("type")),
        "categories": _categories(event.get("category")),
        "marketing_campaign_id": text(event.get("marketing_campaign_id")),
        "event_at": event_at,
        "extra": dumps(extra) if extra else None,
    }


def parse_file(file: LandingFile, ctx: ExtractContext, builders: dict[str, TableBuilder]) -> FileOutcome:
    """Append the body's events to ``email_events``; ``_row_number`` is the 1-based index in the array."""
    builder = builders[TABLE]
    data = file.read_bytes()
    try:
        body = json.loads(decode_bytes(data))
    except (BadValue, ValueError) as exc:
        # No events can be told apart in a body that is not JSON: the file is one quarantine row (number 0).
        error = f"unreadable webhook body {file.rel}: {exc}"
        builder.reject(file.rel, 0, error, data.decode("utf-8", errors="replace"))
        return FileOutcome(TABLE, 1, error)
    if isinstance(body, dict):
        body = [body]  # a single event posted on its own
    if not isinstance(body, list):
        error = f"webhook body {file.rel} is not a JSON array of events"
        builder.reject(file.rel, 0, error, raw_json(body))
        return FileOutcome(TABLE, 1, error)
    for number, event in enumerate(body, 1):
        try:
            row = parse_event(event, ctx)
        except BadValue as exc:
            builder.reject(file.rel, number, str(exc), raw_json(event))
            continue
        builder.add(file.rel, number, row)
    return FileOutcome(TABLE, len(body))
