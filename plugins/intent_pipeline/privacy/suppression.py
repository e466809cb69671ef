"""The suppression list: salted hashes of every identifier of an erased person, applied at extract.

An erasure (:mod:`intent_pipeline.privacy.erase`) adds the hashes of the person's identifiers to
``<state>/privacy/suppression_list.txt`` (``INTENT_SUPPRESSION_LIST`` moves it). Every extract reads
it (``sources.extract_source``) and drops a row that holds any of them, raw or rejected, before it
reaches the lake; the manifest counts such rows as ``suppressed``, so
``read = loaded + quarantined + suppressed``. Re-extracts, backfills and later exports of the
same sources therefore never bring an erased person back.

The list holds no identifier: only :func:`mask.hashed_key` of each one, normalised first (an
email lower-cased and also in its canonical mailbox form, a phone in E.164). The hashes are keyed
with ``INTENT_PII_SALT``; the file's first line records a fingerprint of the salt, and a list
read with another salt is an error (it would suppress nobody), never silently ignored.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from intent_pipeline.privacy import mask
from intent_pipeline.sources.normalize import BadValue, fold_width

if TYPE_CHECKING:
    from intent_pipeline.settings import Settings

HEADER = "# intent suppression list v1; salt fingerprint: "

# identifier columns of each raw table and the kind of identifier they hold (docs/contracts.md)
IDENTIFIER_COLUMNS: dict[str, dict[str, str]] = {
    "forms_submissions": {"email": "email", "phone": "phone", "phone_raw": "phone", "client_id": "web"},
    "email_events": {"email": "email"},
    "web_events": {"user_pseudo_id": "web", "user_id": "ga4_user"},
    "crm_leads": {"lead_id": "crm_lead", "email": "email", "phone": "phone", "phone_raw": "phone"},
    "crm_opportunities": {"lead_id": "crm_lead"},
    "crm_orders": {"lead_id": "crm_lead", "email": "email"},
    "crm_activities": {"lead_id": "crm_lead"},
}
_EMAIL_RE = re.compile(r"[^\s\"'<>(),;:]+@[^\s\"'<>(),;:]+\.[A-Za-z]{2,}")
# an identity-graph node key as the seeds and the warehouse write it (`crm_lead:00Q5g…`, `web:123.456`)
_NODE_KEY_RE = re.compile(r"^\s*(email|phone|web|ga4_user|crm_lead|form|person_id)\s*:\s*(\S.*?)\s*$", re.IGNORECASE)
_PHONE_RE = re.compile(r"\+?\d[\d\s().-]{5,}\d")


class SuppressionError(RuntimeError):
    """The suppression list cannot be used as it is (another salt, an unreadable file)."""


def list_path(settings: Settings, env: dict[str, str] | None = None) -> Path:
    from intent_pipeline.settings import Settings

    return Settings.from_env(env).suppression_list or settings.state_dir / "privacy" / "suppression_list.txt"


def salt_fingerprint(key_salt: str) -> str:
    return mask.hashed_key("intent-suppression-salt-check", key_salt=key_salt) or ""


_phones: Any = None


def normalised_phone(value: str) -> str | None:
    """A phone in E.164 (default region CN, as the extractors normalise it), or None."""
    global _phones
    if _phones is None:
        from intent_pipeline.sources.normalize import PhoneNormalizer

        _phones = PhoneNormalizer()
    try:
        result = _phones(value)
    except Exception:  # a value that is no phone at all
        return None
    return result if isinstance(result, str) else None


def forms_of(kind: str | None, value: str | None) -> set[str]:
    """The normalised forms of one identifier that are hashed (and compared): an email as given
    (trimmed, lower-case), as the extract normalises it and as the identity graph's mailbox
    (:func:`intent_pipeline.identity.mailbox`, the one rule: ``ｗａｎｇ．ｗｅｉ＠ｇｍａｉｌ．ｃｏｍ``,
    ``mailto:Wang.Wei+x@googlemail.com`` and ``wangwei@gmail.com`` are one mailbox); a phone as given
    and in E.164 and as its digits; anything else trimmed and lower-case."""
    if value is None:
        return set()
    text = str(value).strip()
    if not text:
        return set()
    found = {text.lower()}
    if kind == "email" or (kind is None and "@" in fold_width(text)):
        from intent_pipeline.identity import canonical_email, mailbox

        try:
            key = mailbox(text)
        except BadValue:  # no address the extract would load: its lower-case text and that as a mailbox
            key = canonical_email(text.lower())
        if key:
            found.add(key.lower())
    if kind == "phone" or (kind is None and sum(c.isdigit() for c in text) >= 7):
        phone = normalised_phone(text)
        if phone:
            found.add(phone.lower())
            found.add(phone.lstrip("+"))
    return found


@dataclass
class Suppression:
    """The hashes in force, and the checks the extractors make with them."""

    hashes: frozenset[str] = frozenset()
    key_salt: str = ""
    _cache: dict[str, bool] = field(default_factory=dict, repr=False)

    def __bool__(self) -> bool:
        return bool(self.hashes)

    def _hit(self, kind: str | None, value: Any) -> bool:
        if value is None or not isinstance(value, str) or not value.strip():
            return False
        cache_key = f"{kind}\x00{value}"
        hit = self._cache.get(cache_key)
        if hit is None:
            hit = any(mask.hashed_key(form, key_salt=self.key_salt) in self.hashes for form in forms_of(kind, value))
            if len(self._cache) < 1_000_000:
                self._cache[cache_key] = hit
        return hit

    def matches_row(self, table: str, row: dict) -> bool:
        """Whether a row about to be loaded holds a suppressed identifier."""
        if not self.hashes:
            return False
        return any(self._hit(kind, row.get(column)) for column, kind in IDENTIFIER_COLUMNS.get(table, {}).items())

    def matches_text(self, text: str | None) -> bool:
        """Whether a rejected row's original content (JSON text, or any text) holds a suppressed
        identifier: every string in it, every email or phone-like run of characters, and a graph
        node key (``crm_lead:…``, as a seed names an identifier) by its kind and value."""
        if not self.hashes or not text:
            return False
        try:
            document = json.loads(text)
        except ValueError:
            document = text
        for value in _strings(document):
            if self._hit(None, value):
                return True
            node = _NODE_KEY_RE.match(value)
            if node and self._hit(node.group(1).lower(), node.group(2)):
                return True
            # an address inside other text (`Wang Wei <ｗａｎｇ＠ｑｑ．ｃｏｍ>`, `mailto:…`), full-width folded first
            folded = fold_width(value)
            for found in _EMAIL_RE.findall(folded) + _PHONE_RE.findall(folded):
                if found != value and self._hit(None, found):
                    return True
        return False


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item)
            if isinstance(key, str):
                yield key
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif value is not None and not isinstance(value, bool):
        yield str(value)


def read_hashes(path: Path, key_salt: str) -> frozenset[str]:
    """The hashes in ``path`` (none when it does not exist); an error when it was written with another salt."""
    if not path.exists():
        return frozenset()
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or not lines[0].startswith(HEADER):
        raise SuppressionError(f"{path} is not a suppression list (its first line must start with {HEADER!r})")
    if lines[0][len(HEADER) :].strip() != salt_fingerprint(key_salt):
        raise SuppressionError(
            f"{path} was written with another INTENT_PII_SALT: its hashes match nobody under this salt. "
            "Set the salt the list was written with (the salt must never change once people were erased)."
        )
    return frozenset(line.strip() for line in lines[1:] if line.strip() and not line.startswith("#"))


def load(settings: Settings, env: dict[str, str] | None = None) -> Suppression:
    """The installation's suppression list (empty when nobody was ever erased)."""
    key_salt = mask.salt(env)
    return Suppression(read_hashes(list_path(settings, env), key_salt), key_salt)


def hashes_of(identifiers: Iterable[tuple[str | None, str]], key_salt: str | None = None) -> set[str]:
    """The hashes of every normalised form of ``(kind, value)`` identifiers."""
    key_salt = key_salt or mask.salt()
    return {
        hashed
        for kind, value in identifiers
        for form in forms_of(kind, value)
        if (hashed := mask.hashed_key(form, key_salt=key_salt))
    }


def add(path: Path, new_hashes: Iterable[str], key_salt: str | None = None) -> int:
    """Add hashes to the list at ``path`` (written whole beside it, then renamed); returns how many were new."""
    key_salt = key_salt or mask.salt()
    current = read_hashes(path, key_salt)
    merged = current | set(new_hashes)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(HEADER + salt_fingerprint(key_salt) + "\n" + "".join(f"{h}\n" for h in sorted(merged)), "utf-8")
    os.replace(tmp, path)
    return len(merged) - len(current)
