"""Parse one SendGrid Event Webhook POST body (a JSON array of events) into ``email_events`` rows."""

from __future__ import annotations

import json

from intent_pipeline.sources.base import ExtractContext, FileOutcome, LandingFile, TableBuilder, raw_json
from intent_pipeline.sources.encoding import decode_json_bytes
from intent_pipeline.sources.normalize import BadValue, dumps, email, epoch_seconds_us, field_value, text

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
    event_at = field_value("timestamp", epoch_seconds_us, event["timestamp"])
    address = field_value("email", email, event["email"])
    extra = {key: value for key, value in event.items() if key not in KNOWN_KEYS}
    # SendGrid's fields to raw.email_events' columns; the forms extract's row is another table's
    # mapping (alike in shape: a column, text() of a field)
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


def _events_of(body) -> tuple[list | None, str | None]:
    """(events, None) from a webhook body, or (None, why the body is not one).

    SendGrid posts a JSON array; a single event object and an ``{"events": [...]}`` wrapper (what
    some relays and queue consumers write) are read as the events they hold.
    """
    if isinstance(body, list):
        return body, None
    if isinstance(body, dict):
        if "events" in body and "event" not in body:
            events = body["events"]
            if isinstance(events, list):
                return events, None
            return None, f"its 'events' is a JSON {_json_type(events)}, not an array of events"
        if "event" in body or "sg_event_id" in body:
            return [body], None  # a single event posted on its own
        keys = ", ".join(list(map(str, body))[:10])
        return None, f"it is a JSON object with neither 'event' nor 'events' (keys: {keys})"
    return None, f"it is a JSON {_json_type(body)}, not an array of events"


def _json_type(value) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def parse_file(file: LandingFile, ctx: ExtractContext, builders: dict[str, TableBuilder]) -> FileOutcome:
    """Append the body's events to ``email_events``; ``_row_number`` is the 1-based index in the array."""
    builder = builders[TABLE]
    data = file.read_bytes()
    try:
        body = json.loads(decode_json_bytes(data))
    except (BadValue, ValueError, RecursionError) as exc:
        # No events can be told apart in a body that is not JSON: the file is one quarantine row (number 0).
        cause = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        error = f"unreadable webhook body {file.rel}: {cause}"
        builder.reject(file.rel, 0, error, data.decode("utf-8", errors="replace"))
        return FileOutcome(TABLE, 1, error)
    events, why = _events_of(body)
    if events is None:
        error = f"webhook body {file.rel} is not a SendGrid event array: {why}"
        builder.reject(file.rel, 0, error, raw_json(body))
        return FileOutcome(TABLE, 1, error)
    for number, event in enumerate(events, 1):
        try:
            row = parse_event(event, ctx)
        except (BadValue, RecursionError) as exc:
            reason = "event nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            builder.reject(file.rel, number, reason, raw_json(event))
            continue
        builder.add(file.rel, number, row)
    return FileOutcome(TABLE, len(events))
