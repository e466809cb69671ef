"""Parse one GA4 BigQuery-export NDJSON file into ``web_events`` rows, streaming line by line."""

from __future__ import annotations

import hashlib
import json
from datetime import date

from intent_pipeline.sources.base import ExtractContext, FileOutcome, LandingFile, TableBuilder, clean_text
from intent_pipeline.sources.normalize import BadValue, canonical_json, dumps, epoch_micros, field_value, integer, text

TABLE = "web_events"
TABLES = (TABLE,)
FILE_TYPES = (".jsonl", ".ndjson")

REQUIRED = ("event_timestamp", "event_name", "user_pseudo_id")
# Top-level keys with columns of their own; the others (items, user_properties, platform, ...) go to ``extra``.
KNOWN_KEYS = frozenset({
    "event_date", "event_timestamp", "event_name", "user_pseudo_id", "user_id", "event_params",
    "traffic_source", "collected_traffic_source", "device", "geo", "privacy_info",
})  # fmt: skip
# GA4 consent mode: with analytics_storage denied the tag sends cookieless pings, exported with
# privacy_info.analytics_storage = 'No' and no user_pseudo_id. They are kept (for counts per day,
# page and channel only; staging keeps them out of every per-person model), never quarantined.
CONSENT_DENIED = "no"
TEXT_PARAMS = ("page_location", "page_title", "page_referrer")
INT_PARAMS = ("ga_session_id", "engagement_time_msec")
_VALUE_KEYS = ("string_value", "int_value", "double_value", "float_value")
# json.loads makes exactly these types (never subclasses): type() is as good as isinstance here
_SCALAR_TYPES = frozenset((str, int, float, bool, type(None)))


def _params(event_params) -> tuple[dict, bool]:
    """``event_params`` (repeated {key, value: {string_value, int_value, ...}}) as key -> first non-null value,
    and whether every object in it has its keys in sorted order (then its compact JSON text is its canonical
    text too, see :func:`_splice`)."""
    if event_params is None:
        return {}, True
    if not isinstance(event_params, list):
        raise BadValue("'event_params' is not an array")
    params = {}
    in_order = True
    for param in event_params:
        if (
            not isinstance(param, dict)
            or not isinstance(param.get("value"), dict)
            or not isinstance(param.get("key"), str | None)
        ):
            raise BadValue(f"malformed event_params entry: {dumps(param)[:200]}")
        value = param["value"]
        for key in _VALUE_KEYS:
            if value.get(key) is not None:
                params[param.get("key")] = value[key]
                break
        if in_order:
            # GA4's shape only, {"key": str or null, "value": {scalars}}: "key" first, the value's keys sorted
            # (a value of one key always is, as the sample writes them; BigQuery's four keys are not). Anything
            # else counts as out of order: a check that is wrong only the safe way.
            in_order = (
                len(param) == 2
                and next(iter(param)) == "key"
                and (len(value) < 2 or list(value) == sorted(value))
                and _SCALAR_TYPES.issuperset(map(type, value.values()))
            )
    return params, in_order


# A value no parsed event holds (NUL characters), put where ``event_params`` was: its canonical text is found
# in the shell's canonical text and replaced by the params' own text (see :func:`_splice`).
_PARAMS_SENTINEL = "\x00webjson\x00"
_SENTINEL_PIECE = '"event_params":' + canonical_json(_PARAMS_SENTINEL)


def _splice(shell_text: str, params_text: str) -> str | None:
    """The event's canonical text from its shell's (``event_params`` = the sentinel), or None when the
    sentinel's piece is not there exactly once (then the caller encodes the event whole).

    The encoders write an object as its pieces ``"key":<value text>`` (sorted, for the canonical one), each
    value's text independent of where it stands; ``params_text`` is the params' compact text, which is their
    canonical text when every object in them has its keys in sorted order (``_params``' second value)."""
    at = shell_text.find(_SENTINEL_PIECE)
    if at < 0 or at != shell_text.rfind(_SENTINEL_PIECE):
        return None
    return shell_text[:at] + '"event_params":' + params_text + shell_text[at + len(_SENTINEL_PIECE) :]


def _record(value) -> dict:
    return value if isinstance(value, dict) else {}


class _EventDates:
    """``event_date`` (YYYYMMDD) to date, cached: a drop has only a few distinct days."""

    def __init__(self) -> None:
        self.cache: dict[str, date] = {}

    def __call__(self, value) -> date | None:
        raw = text(value)
        if raw is None:
            return None
        try:
            return self.cache[raw]
        except KeyError:
            pass
        try:
            if len(raw) != 8 or not raw.isdigit():
                raise ValueError
            parsed = date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
        except ValueError:
            raise BadValue(f"invalid 'event_date': {raw!r} (expected YYYYMMDD)") from None
        self.cache[raw] = parsed
        return parsed


def parse_event(event, event_dates: _EventDates) -> dict:
    """One GA4 event as a ``web_events`` row; BadValue says why it goes to quarantine."""
    if not isinstance(event, dict):
        raise BadValue(f"line is not a JSON object: {type(event).__name__}")
    analytics_storage = text(_record(event.get("privacy_info")).get("analytics_storage"))
    if analytics_storage is not None and analytics_storage.strip().lower() in ("yes", "no"):
        analytics_storage = analytics_storage.strip().capitalize()  # GA4 exports Yes / No
    cookieless = (analytics_storage or "").lower() == CONSENT_DENIED
    for key in REQUIRED:
        if text(event.get(key)) is None and not (key == "user_pseudo_id" and cookieless):
            raise BadValue(f"empty required field '{key}'")
    event_at = field_value("event_timestamp", epoch_micros, event["event_timestamp"])
    params, in_order = _params(event.get("event_params"))
    numbers = {}
    for key in INT_PARAMS:
        try:
            numbers[key] = integer(params.get(key))
        except BadValue as exc:
            raise BadValue(f"invalid event_params '{key}': {exc}") from None
    first_user = _record(event.get("traffic_source"))
    collected = _record(event.get("collected_traffic_source"))
    geo = _record(event.get("geo"))
    extra = {key: value for key, value in event.items() if key not in KNOWN_KEYS}
    # One encoding of event_params where it is provably both its compact and its canonical text (the
    # encoders called from here, as main's code did, so a deep event fails at the same depth).
    event_params = event.get("event_params")
    params_text = canonical = None
    if event_params is not None and in_order:
        params_text = dumps(event_params)
        shell = dict(event)
        shell["event_params"] = _PARAMS_SENTINEL
        canonical = _splice(canonical_json(shell), params_text)
    if canonical is None:
        canonical = canonical_json(event)
        params_text = dumps(event_params) if event_params is not None else None
    return {
        # The same event exported twice (re-sent shard) gets the same id, whatever its key order or spacing.
        # (surrogatepass: a lone surrogate still hashes; the row is then quarantined for it by the builder)
        "event_id": hashlib.sha1(canonical.encode("utf-8", "surrogatepass")).hexdigest(),
        "event_name": text(event["event_name"]),
        "user_pseudo_id": text(event.get("user_pseudo_id")),
        "user_id": text(event.get("user_id")),
        "page_location": text(params.get("page_location")),
        "page_title": text(params.get("page_title")),
        "page_referrer": text(params.get("page_referrer")),
        "first_user_source": text(first_user.get("source")),
        "first_user_medium": text(first_user.get("medium")),
        "first_user_campaign": text(first_user.get("name")),
        "source": text(collected.get("manual_source")),
        "medium": text(collected.get("manual_medium")),
        "campaign": text(collected.get("manual_campaign_name")),
        "gclid": text(collected.get("gclid")),
        "device_category": text(_record(event.get("device")).get("category")),
        "country": text(geo.get("country")),
        "city": text(geo.get("city")),
        "event_params": params_text,
        "ga_session_id": numbers["ga_session_id"],
        "engagement_time_msec": numbers["engagement_time_msec"],
        "event_date": event_dates(event.get("event_date")),
        "event_at": event_at,
        "analytics_storage": analytics_storage,
        "extra": dumps(extra) if extra else None,
    }


def parse_file(file: LandingFile, ctx: ExtractContext, builders: dict[str, TableBuilder]) -> FileOutcome:
    """Append the file's events to ``web_events``; ``_row_number`` is the 1-based line number."""
    builder = builders[TABLE]
    event_dates = _EventDates()
    rel = file.rel
    read = 0
    with file.open() as handle:
        for number, raw in enumerate(handle, 1):
            try:
                # Only the line end goes: raw_content keeps the line exactly as it was written.
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                read += 1
                builder.reject(rel, number, f"undecodable line (not UTF-8): {exc.reason} at byte {exc.start}",
                               raw.decode("utf-8", errors="replace").rstrip("\r\n"))  # fmt: skip
                continue
            if not line.strip():
                continue  # blank lines (a trailing newline) are not events
            read += 1
            try:
                event = json.loads(line)
            except RecursionError:
                builder.reject(rel, number, "malformed JSON line: nested too deeply", line)
                continue
            except ValueError as exc:
                builder.reject(rel, number, f"malformed JSON line: {exc}", line)
                continue
            try:
                row = parse_event(event, event_dates)
            except RecursionError:
                builder.reject(rel, number, "event nested too deeply to store", line)
                continue
            except BadValue as exc:
                builder.reject(rel, number, str(exc), line)
                continue
            # every integer of a row is range-checked by parse_event (epoch_micros, integer)
            builder.add(rel, number, row, text_checked=clean_text(line), ints_checked=True)
    return FileOutcome(TABLE, read)
