"""Masking of personal data for people and tools that must not see it in full (BI, chat).

One home for the rule: a masked value keeps just enough to recognise a record one already
knows (the first character of a mailbox and its domain, a phone's last four digits, a name's
first character) and nothing that reaches the person. ``hashed_key`` gives a stable, salted,
non-reversible key for joins across masked tables.

Every function takes ``None`` or empty text and returns it unchanged, so masking a column
never invents a value.
"""

from __future__ import annotations

import hashlib
import hmac

MASK = "***"


def mask_email(value: str | None) -> str | None:
    """``wang.wei@example.com`` -> ``w***@example.com``; text without ``@`` -> ``***``."""
    if not value:
        return value
    local, at, domain = value.strip().rpartition("@")
    if not at or not local:
        return MASK
    return f"{local[0]}{MASK}@{domain}"


def mask_phone(value: str | None) -> str | None:
    """Keep the last four digits: ``+86 138 0013 8000`` -> ``***8000``; fewer than 7 digits -> ``***``."""
    if not value:
        return value
    digits = [c for c in value if c.isdigit()]
    if len(digits) < 7:
        return MASK
    return MASK + "".join(digits[-4:])


def mask_name(value: str | None) -> str | None:
    """Keep the first character: ``王伟`` -> ``王*``, ``Wang Wei`` -> ``W***``."""
    if not value:
        return value
    text = value.strip()
    if not text:
        return value
    first = text[0]
    # A CJK name is short: one star per hidden character says no more than its length.
    if "\u4e00" <= first <= "\u9fff":
        return first + "*" * max(1, len(text) - 1)
    return first + MASK


def salt(env: dict[str, str] | None = None) -> str:
    """The installation's salt for hashed keys (``INTENT_PII_SALT``; a fixed default, documented as unsafe)."""
    from intent_pipeline.settings import Settings

    return Settings.from_env(env).pii_salt


def hashed_key(value: str | None, *, key_salt: str | None = None) -> str | None:
    """A stable salted hash (HMAC-SHA256, hex, 32 chars) of ``value``, for joins without the value."""
    if value is None or value == "":
        return value
    digest = hmac.new((key_salt or salt()).encode(), value.strip().lower().encode(), hashlib.sha256)
    return digest.hexdigest()[:32]
