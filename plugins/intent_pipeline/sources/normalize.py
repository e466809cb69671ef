"""Value normalisation shared by the extractors: text, emails, phones, timestamps, numbers, JSON.

Every parser here returns a value or raises :class:`BadValue` with a message that
goes into the quarantine ``reason``; none of them touches pandas, so the
extractors stay fast on row-by-row input.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, TypeVar

EPOCH = datetime(1970, 1, 1)
# Plausible event times. Outside this range a number is almost always in the wrong unit
# (ms or ns instead of s or µs), which is a parse failure, not a real time.
MIN_AT = datetime(1990, 1, 1)
MAX_AT = datetime(2100, 1, 1)
_MIN_US = int((MIN_AT - EPOCH).total_seconds()) * 1_000_000
_MAX_US = int((MAX_AT - EPOCH).total_seconds()) * 1_000_000


T = TypeVar("T")


class BadValue(ValueError):
    """A value that cannot be parsed; the message is the quarantine reason."""


def field_value(field: str, parse: Callable[[Any], T], value: Any) -> T:
    """``parse(value)``, its :class:`BadValue` naming the field: ``invalid '<field>': <why>``."""
    try:
        return parse(value)
    except BadValue as exc:
        raise BadValue(f"invalid '{field}': {exc}") from None


def text(value: Any) -> str | None:
    """A cell as trimmed text; empty cells become None. Integral floats lose their ``.0`` (Excel numbers)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value:  # NaN
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dict | list):
        return dumps(value)
    return str(value)


# One encoder each, built once: json.dumps with any option builds a new JSONEncoder on every call.
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)
_CANONICAL = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)


def dumps(value: Any) -> str:
    """Compact JSON text, non-ASCII kept readable (Chinese headers and names)."""
    return _COMPACT.encode(value)


def canonical_json(value: Any) -> str:
    """Canonical JSON (sorted keys, compact) so the same record always hashes to the same id."""
    return _CANONICAL.encode(value)


def decode_bytes(data: bytes) -> str:
    """Decode a landing file: a BOM (UTF-8/16/32), strict UTF-8, else validated GB18030 (what Excel in
    China writes); raises BadValue when the decoding is doubtful (``sources/encoding.py``)."""
    from intent_pipeline.sources.encoding import decode_text

    return decode_text(data).text


# Syntactic check only: one @, something on both sides, no whitespace or separators. Dotless
# domains pass (RFC 5321 allows them and SendGrid reports such recipients, e.g. "invalid@invalid").
_EMAIL = re.compile(r"^[^@\s,;:<>()\[\]\"']+@[^@\s,;:<>()\[\]\"'.][^@\s,;:<>()\[\]\"']*$")


# What a Chinese or Japanese input method types inside an address: full-width letters, digits, ＠ and ．
# (NFKC folds them to ASCII), and the ideographic full stops 。 and ｡, which NFKC keeps but no address
# can hold, typed for the dot of the domain.
_IDEOGRAPHIC_STOPS = str.maketrans({"\u3002": ".", "\uff61": "."})
# A link's scheme, as a cell copied from a web page or an Excel hyperlink carries it: `mailto:li@x.cn`.
_MAILTO = re.compile(r"^mailto:\s*", re.IGNORECASE)


def fold_width(value: str) -> str:
    """``value`` with full-width forms and ideographic full stops folded to ASCII (NFKC), as a Chinese
    input method types an address (``ｗａｎｇ＠ｑｑ。ｃｏｍ`` is ``wang@qq.com``); ASCII text is returned as it is."""
    return value if value.isascii() else unicodedata.normalize("NFKC", value).translate(_IDEOGRAPHIC_STOPS)


def invisible(char: str) -> bool:
    """One home for "invisible": a format character (Unicode category Cf), which shows nothing and can hide
    or reorder text: zero-width spaces and joiners, direction marks, embeddings, overrides and isolates,
    the byte-order mark, the word joiner U+2060, the Mongolian vowel separator U+180E, the Arabic letter
    mark U+061C, tag characters, soft hyphens. Ids drop them all (``identifier``); chat text drops them
    except where an emoji sequence needs one (``activation.escape``)."""
    return unicodedata.category(char) == "Cf"


@functools.cache
def id_text_regex() -> str:
    """A regex that finds a character ``identifier`` keeps as an id's text: neither whitespace nor an
    invisible format character (Unicode category Cf). The raw gate's suites check CRM ids with it (suite
    parameter ``id_text_regex``), so a file another writer put in the lake is held to the extract's rule:
    an id of spaces or invisible characters alone is no id."""
    ranges: list[list[int]] = []
    for code in range(0x110000):
        if invisible(chr(code)):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    spans = "".join(f"\\U{a:08x}" + (f"-\\U{b:08x}" if b > a else "") for a, b in ranges)
    return f"[^\\s{spans}]"


def identifier(value: Any) -> str | None:
    """An id cell (a submission, lead, opportunity, order or activity id, a browser's client id) as trimmed
    text with full-width forms folded to ASCII (``ＳＵＢ－０１２`` is ``SUB-012``, as an input method types it
    in a re-exported sheet), so the same record keeps one key in every export. Case is kept: Salesforce's
    15-character ids differ by case alone (``00Qab1`` and ``00QAB1`` are two leads).

    Invisible format characters (Unicode category Cf: a zero-width space, a byte-order mark inside a
    cell, a left-to-right mark, a soft hyphen), which a copy from a web page or a joined file leaves in
    a cell, are removed: ``\u200b00Qab1`` is ``00Qab1``, and a cell of nothing else is empty (None), so a
    required id is quarantined rather than loaded as an invisible key."""
    raw = text(value)
    if raw is None:
        return None
    raw = fold_width(raw)
    if not raw.isascii():
        raw = "".join(char for char in raw if not invisible(char))
    return raw.strip() or None


def email(value: Any) -> str | None:
    """Lower-cased, trimmed address, otherwise kept as written; None when empty; BadValue when not an address.

    Full-width forms (``ｚｈｏｕ＠ｑｑ．ｃｏｍ``) and ideographic full stops are folded to ASCII first: a form
    filled in with a Chinese input method gives the same address as one typed in ASCII, not a
    quarantined row (an internationalised address stays as typed, in NFKC form). A ``mailto:`` prefix
    (a hyperlink's target pasted into the cell) is dropped: what follows it is the address."""
    raw = text(value)
    if raw is None:
        return None
    raw = _MAILTO.sub("", fold_width(raw).strip())
    address = raw.lower()
    if not _EMAIL.match(address) or address.endswith(".") or ".." in address.split("@", 1)[1]:
        raise BadValue(f"not an email address: {raw!r}")
    return address


class PhoneNormalizer:
    """Phones to E.164 with ``phonenumbers`` (default region CN), cached per distinct raw string.

    A phone that cannot be parsed or has an impossible length for its country gives None; that
    is never a reason to quarantine on its own (contract).
    """

    def __init__(self, region: str = "CN"):
        self.region = region
        self._cache: dict[str, str | None] = {}

    def __call__(self, raw: str | None) -> str | None:
        if raw is None:
            return None
        try:
            return self._cache[raw]
        except KeyError:
            pass
        import phonenumbers

        try:
            number = phonenumbers.parse(raw, self.region)
            # "Possible" (right length for the country), not "valid": the metadata lags behind newly
            # assigned ranges (e.g. CN 19x mobiles), and an identity key must not drop a real number.
            possible = phonenumbers.is_possible_number_with_reason(number) == phonenumbers.ValidationResult.IS_POSSIBLE
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) if possible else None
        except phonenumbers.NumberParseException:
            e164 = None
        self._cache[raw] = e164
        return e164


_LOOSE_DATETIME = re.compile(
    r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"
    r"(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,6}))?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)


# An Excel serial day number as a CSV holds it: five digits (1990-01-01 is 32874, 2099-12-31 73050),
# a fraction for the time of day. Other numbers are no date (8 digits are YYYYMMDD, read as ISO).
_SERIAL_DAY = re.compile(r"^\d{5}(?:\.\d+)?$")


def _check_range(moment: datetime, raw: Any) -> datetime:
    if not MIN_AT <= moment < MAX_AT:
        raise BadValue(f"timestamp out of range: {raw!r}")
    return moment


def _utc_in_range(moment: datetime, source_tz: tzinfo, raw: Any) -> datetime:
    try:
        converted = to_naive_utc(moment, source_tz)
    except (OverflowError, ValueError):  # year 1 or 9999 shifted past the calendar's ends by the offset
        raise BadValue(f"timestamp out of range: {raw!r}") from None
    return _check_range(converted, raw)


def to_naive_utc(moment: datetime, source_tz: tzinfo) -> datetime:
    """Naive UTC from an aware datetime, or from a naive one read as wall-clock time in ``source_tz``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=source_tz)
    return moment.astimezone(UTC).replace(tzinfo=None)


def timestamp(value: Any, source_tz: tzinfo) -> datetime | None:
    """Parse a timestamp cell to naive UTC.

    Accepts datetimes (openpyxl), dates, ISO-8601 with or without offset/``Z``, ``YYYY-MM-DD HH:MM[:SS]``,
    the ``YYYY/M/D H:MM`` Excel writes when it re-saves a CSV, and the serial day number it writes for a
    date column without a date format (``46347.375``: 2026-11-21 09:00, 1900 date system). Naive values
    are in ``source_tz``.
    None when empty; BadValue when unparseable.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return _utc_in_range(value, source_tz, value)
    if isinstance(value, date):
        return _utc_in_range(datetime(value.year, value.month, value.day), source_tz, value)
    raw = text(value)
    if raw is None:
        return None
    if _SERIAL_DAY.match(raw):
        # Excel wrote the cell's number, not a date: the column had no date format when it was saved
        # as CSV. Read as an XLSX number cell is (excel_serial, the 1900 date system)
        serial = excel_serial(float(raw))
        try:
            return _utc_in_range(serial, source_tz, raw)
        except BadValue:
            raise BadValue(f"timestamp out of range: {raw!r} (an Excel serial day number: {serial:%Y-%m-%d})") from None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        match = _LOOSE_DATETIME.match(raw)
        if not match:
            raise BadValue(f"not a timestamp: {raw!r}") from None
        year, month, day, hour, minute, second, fraction, offset = match.groups()
        try:
            moment = datetime(
                int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
                int((fraction or "0").ljust(6, "0")),
            )  # fmt: skip
            if offset and offset != "Z":
                sign = 1 if offset[0] == "+" else -1
                digits = offset[1:].replace(":", "")
                delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
                moment = moment.replace(tzinfo=_fixed(sign * delta))
            elif offset == "Z":
                moment = moment.replace(tzinfo=UTC)
        except ValueError:
            raise BadValue(f"not a timestamp: {raw!r}") from None
    return _utc_in_range(moment, source_tz, raw)


def _fixed(delta: timedelta) -> tzinfo:
    from datetime import timezone

    return timezone(delta)


def excel_serial(value: float) -> datetime:
    """An Excel serial day number (a date cell without a date format) as a naive datetime."""
    from openpyxl.utils.datetime import from_excel

    try:
        return from_excel(value)
    except (OverflowError, ValueError, TypeError):
        raise BadValue(f"not an Excel date: {value!r}") from None


def epoch_seconds_us(value: Any) -> int:
    """Epoch seconds (int, float or numeric string, as SendGrid sends) as µs since the epoch."""
    if isinstance(value, bool) or value is None:
        raise BadValue(f"not an epoch timestamp: {value!r}")
    try:
        micros = round(float(value) * 1_000_000)
    except (TypeError, ValueError, OverflowError):
        raise BadValue(f"not an epoch timestamp: {value!r}") from None
    if not _MIN_US <= micros < _MAX_US:
        raise BadValue(f"timestamp out of range: {value!r}")
    return micros


def epoch_micros(value: Any) -> int:
    """Epoch microseconds (int or digit string, as GA4 exports them), range-checked."""
    if isinstance(value, bool) or value is None:
        raise BadValue(f"not a microsecond timestamp: {value!r}")
    try:
        micros = int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(float("inf"))
        raise BadValue(f"not a microsecond timestamp: {str(value)[:100]!r}") from None
    if not _MIN_US <= micros < _MAX_US:
        raise BadValue(f"timestamp out of range (expected µs since the epoch): {value!r}")
    return micros


def micros_to_datetime(micros: int) -> datetime:
    """Naive UTC datetime from µs since the epoch."""
    return EPOCH + timedelta(microseconds=micros)


def integer(value: Any) -> int | None:
    """An integer from an int, an integral float or a digit string (BigQuery exports INT64 as strings)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadValue(f"not an integer: {value!r}")
    if isinstance(value, int):
        return _int64(value)
    if isinstance(value, float):
        if value.is_integer():
            return _int64(int(value))
        raise BadValue(f"not an integer: {value!r}")
    if not isinstance(value, str):
        raise BadValue(f"not an integer: {type(value).__name__}")
    try:
        return _int64(int(value.strip()))
    except BadValue:
        raise
    except ValueError:
        pass
    try:
        number = float(value.strip())
    except ValueError:
        raise BadValue(f"not an integer: {value[:100]!r}") from None
    if number.is_integer():
        return _int64(int(number))
    raise BadValue(f"not an integer: {value[:100]!r}")


def _int64(number: int) -> int:
    # The lake's integers are int64: 2**70 is an error in the export, not a value to overflow on.
    if not -(2**63) <= number < 2**63:
        raise BadValue(f"integer out of range (64-bit): {number}")
    return number
