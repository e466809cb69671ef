"""Numbers and dates as each source writes them (docs/sources.md, "Numbers and dates").

An export from a German or French Excel writes ``1.234,50`` and ``12 345,67``; a Chinese one ``12.5万``;
a US CRM ``11/21/2026 8:00 AM``. Reading them with one fixed convention turns 1.234,50 into 1.2345
and quarantines every US date. So conventions are decided per file, from its own values, unless
configured per source:

* ``INTENT_<SOURCE>_DECIMAL``: ``.`` or ``,`` (default: decided per file; ``.`` when nothing tells);
* ``INTENT_<SOURCE>_DATE_ORDER``: ``MDY`` or ``DMY`` for dates with a 4-digit year last (default:
  decided per file from a day above 12; a file where nothing tells quarantines those rows, saying so).

A value the rules cannot read unambiguously raises BadValue: it goes to quarantine with the reason,
never in as a wrong number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from intent_pipeline.sources.normalize import BadValue, text, timestamp

# Characters that only group digits: spaces (plain, no-break, thin, narrow no-break) and the Swiss apostrophe.
_GROUPING = str.maketrans("", "", " \u00a0\u2009\u202f'\u2019")
_CURRENCY = re.compile(r"^(?:[¥￥$€£]|RMB|CNY|USD|EUR)\s*|\s*(?:元|[¥￥$€£]|RMB|CNY|USD|EUR)$", re.IGNORECASE)
_MULTIPLIERS = {"万": 10_000, "亿": 100_000_000}
_NUMBER = re.compile(r"^\d[\d.,]*$|^[.,]\d+$")
_SCIENTIFIC = re.compile(r"^\d+(?:\.\d+)?[eE][+-]?\d{1,3}$")  # Excel writes 1.2E+05 for long numbers
_DAY_FIRST = re.compile(
    r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{4})"
    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?$"
)


@dataclass(frozen=True)
class SourceLocale:
    """A source's configured conventions; None means "decide per file"."""

    decimal: str | None = None
    date_order: str | None = None

    @classmethod
    def from_env(cls, source: str, env: Mapping[str, str] | None = None) -> SourceLocale:
        """``INTENT_<SOURCE>_DECIMAL`` and ``INTENT_<SOURCE>_DATE_ORDER`` (empty or unset: decided per file)."""
        from intent_pipeline.settings import Settings

        settings = Settings.from_env(env)  # checks the values: "." or ",", MDY or DMY
        return cls(getattr(settings, f"{source}_decimal"), getattr(settings, f"{source}_date_order"))

    def for_file(self, amounts: Iterable[Any], dates: Iterable[Any]) -> FileLocale:
        """The conventions of one file: the configured ones, else what its own values show."""
        return FileLocale(
            decimal=self.decimal or _decimal_shown(amounts),
            date_order=self.date_order or _order_shown(dates),
            configured_order=self.date_order is not None,
        )


@dataclass(frozen=True)
class FileLocale:
    """The conventions one file is read with."""

    decimal: str | None = None  # None: the file shows no decimal comma; "." is used for ambiguous values
    date_order: str | None = None  # None: no value in the file tells MDY from DMY
    configured_order: bool = False


def _split_sign(raw: str) -> tuple[int, str]:
    raw = raw.replace("\u2212", "-")  # the Unicode minus of some exports
    if raw.startswith("(") and raw.endswith(")"):  # accounting negative: (250.00)
        return -1, raw[1:-1].strip()
    if raw.startswith("-"):
        return -1, raw[1:].strip()
    if raw.endswith("-"):  # SAP-style trailing minus
        return -1, raw[:-1].strip()
    if raw.startswith("+"):
        return 1, raw[1:].strip()
    return 1, raw


def _unambiguous_decimal(digits: str) -> str | None:
    """The decimal separator ``digits`` (no sign, no grouping spaces) shows by itself, or None."""
    dots, commas = digits.count("."), digits.count(",")
    if dots and commas:
        return "," if digits.rfind(",") > digits.rfind(".") else "."
    for mark, count in ((",", commas), (".", dots)):
        if count == 1 and len(digits) - digits.index(mark) - 1 != 3:
            return mark  # 1,5 or 12,50 or 0.25: not a thousands group
    return None


def _decimal_shown(amounts: Iterable[Any]) -> str | None:
    shown = set()
    for value in amounts:
        raw = text(value) if not isinstance(value, int | float) else None
        if raw:
            _, digits = _split_sign(_CURRENCY.sub("", raw).translate(_GROUPING))
            mark = _unambiguous_decimal(digits.rstrip("万亿"))
            if mark:
                shown.add(mark)
    return "," if shown == {","} else None  # both shown: each value by its own rule, "." for the rest


def amount(value: Any, locale: FileLocale | None = None) -> float | None:
    """A money amount: decimal point or comma, grouping by spaces, dots, commas or apostrophes, 万/亿,
    currency signs, negative as ``-``, ``−``, ``(…)`` or a trailing ``-``. None when empty.

    ``1,234`` alone is ambiguous: a thousands group unless the file's decimal is a comma.
    """
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    else:
        raw = text(value)
        if raw is None:
            return None
        sign, rest = _split_sign(_CURRENCY.sub("", raw).strip())
        rest = _CURRENCY.sub("", rest).translate(_GROUPING)
        multiplier = 1
        if rest and rest[-1] in _MULTIPLIERS:
            multiplier, rest = _MULTIPLIERS[rest[-1]], rest[:-1]
        if _SCIENTIFIC.match(rest):
            return _finite(sign * float(rest) * multiplier, value)
        if not _NUMBER.match(rest):
            raise BadValue(f"not a number: {raw[:100]!r}")
        decimal = _unambiguous_decimal(rest) or (locale.decimal if locale else None) or "."
        grouping = "," if decimal == "." else "."
        groups = rest.replace(grouping, "|").split("|")
        if len(groups) > 1 and (any(len(g) != 3 for g in groups[1:-1]) or len(groups[-1].split(decimal)[0]) != 3):
            raise BadValue(f"not a number: {raw[:100]!r} (digit groups of 3 expected around {grouping!r})")
        plain = rest.replace(grouping, "").replace(decimal, ".")
        try:
            number = sign * float(plain) * multiplier
        except ValueError:
            raise BadValue(f"not a number: {raw[:100]!r}") from None
    return _finite(number, value)


def _finite(number: float, value: Any) -> float:
    if number != number or number in (float("inf"), float("-inf")):
        raise BadValue(f"not a number: {str(value)[:100]!r}")
    return number


def _order_shown(dates: Iterable[Any]) -> str | None:
    shown = set()
    for value in dates:
        raw = text(value) if isinstance(value, str) else None
        match = _DAY_FIRST.match(raw) if raw else None
        if match:
            first, separator, second = int(match.group(1)), match.group(2), int(match.group(3))
            if separator == "." or first > 12:
                shown.add("DMY")  # 21.11.2026 (dots are day first wherever they are used), 21/11/2026
            elif second > 12:
                shown.add("MDY")  # 11/21/2026
    return shown.pop() if len(shown) == 1 else None


def moment(value: Any, source_tz: tzinfo, locale: FileLocale | None = None) -> datetime | None:
    """A timestamp as :func:`intent_pipeline.sources.normalize.timestamp` reads it, plus dates with the
    year last (``11/21/2026 8:00 AM``, ``21.11.2026 08:00``) in the file's day/month order."""
    raw = text(value) if isinstance(value, str) else None
    match = _DAY_FIRST.match(raw) if raw else None
    if match is None:
        return timestamp(value, source_tz)
    first, separator, second, year, hour, minute, second_of_minute, meridiem = match.groups()
    order = "DMY" if separator == "." else (locale.date_order if locale else None)
    a, b = int(first), int(second)
    if order is None:
        if a > 12 or b > 12:
            order = "DMY" if a > 12 else "MDY"
        else:
            raise BadValue(
                f"ambiguous date {raw!r}: month/day or day/month? nothing in the file tells; set "
                "INTENT_<SOURCE>_DATE_ORDER=MDY or DMY"
            )
    month, day = (a, b) if order == "MDY" else (b, a)
    hours = int(hour or 0)
    if meridiem:
        if not 1 <= hours <= 12:
            raise BadValue(f"not a timestamp: {raw!r} (hour {hours} with {meridiem})")
        hours = hours % 12 + (12 if meridiem.lower() == "pm" else 0)
    try:
        parsed = datetime(int(year), month, day, hours, int(minute or 0), int(second_of_minute or 0))
    except ValueError:
        raise BadValue(f"not a timestamp: {raw!r} (read as {order})") from None
    return timestamp(parsed, source_tz)
