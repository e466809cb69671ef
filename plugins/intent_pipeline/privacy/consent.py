"""Consent per person and purpose, as activation applies it (docs/privacy.md, "Consent").

The warehouse decides consent (``marts.person_consent``: one row per person and purpose, from form
consent fields, email unsubscribes and spam reports, CRM opt-outs, the manual records of the seed
``consent_records`` and, without any of them, the purpose's default, dbt var ``consent_defaults``).
The activation segments carry the decision as one boolean column per purpose a destination serves
(``consent_crm_sync``, ``consent_chat_alert``); this module is the one place that turns it into
"send or not": a row is sent only when its purpose's column is true. A missing column or value
is no consent (fail closed): a row of a segment built before consent existed is never sent.
"""

from __future__ import annotations

from collections.abc import Iterable

# The purposes the warehouse records consent for (dbt var consent_defaults has one entry per purpose).
PURPOSES = ("analytics", "scoring", "crm_sync", "chat_alert", "email_marketing")
# What each kind of destination does with a person's data: the purpose it needs consent for.
CRM_SYNC = "crm_sync"  # HubSpot, Salesforce, the CRM webhook: the record is shared with a CRM
CHAT_ALERT = "chat_alert"  # DingTalk, WeCom, Feishu, Slack: the person is named in a group chat


class ConsentError(ValueError):
    """A destination without a known purpose: it cannot be told whom it may receive."""


def consent_column(purpose: str) -> str:
    """The segment column holding a person's consent to ``purpose``: ``consent_<purpose>``."""
    if purpose not in PURPOSES:
        raise ConsentError(f"unknown purpose {purpose!r}; the purposes are {', '.join(PURPOSES)}")
    return f"consent_{purpose}"


def purpose_of(destination) -> str:
    """The purpose a destination declares (its ``purpose`` attribute); refuses a destination without one."""
    purpose = getattr(destination, "purpose", None)
    if purpose not in PURPOSES:
        raise ConsentError(
            f"destination {getattr(destination, 'name', destination)!r} declares no purpose (got {purpose!r}): "
            f"every destination must name one of {', '.join(PURPOSES)} so that only consenting people reach it"
        )
    return purpose


def has_consent(row: dict, purpose: str) -> bool:
    """Whether the segment row's person consented to ``purpose`` (missing or null: no)."""
    return row.get(consent_column(purpose)) is True


def consented(rows: Iterable[dict], purpose: str) -> tuple[list[dict], int]:
    """The rows whose person consented to ``purpose``, and how many were withheld for lack of it."""
    kept: list[dict] = []
    withheld = 0
    for row in rows:
        if has_consent(row, purpose):
            kept.append(row)
        else:
            withheld += 1
    return kept, withheld


def destination_purposes() -> dict[str, str]:
    """Every destination's name and the purpose it declares (the classes activation runs)."""
    from intent_pipeline.activation.dingtalk import DingTalkDestination
    from intent_pipeline.activation.feishu import FeishuDestination
    from intent_pipeline.activation.hubspot import HubSpotDestination
    from intent_pipeline.activation.salesforce import SalesforceDestination
    from intent_pipeline.activation.slack import SlackDestination
    from intent_pipeline.activation.webhook import WebhookDestination
    from intent_pipeline.activation.wecom import WeComDestination

    classes = (HubSpotDestination, DingTalkDestination, WeComDestination, FeishuDestination, SlackDestination,
               SalesforceDestination, WebhookDestination)  # fmt: skip
    return {cls.name: purpose_of(cls) for cls in classes}


def _person_of_key(record_key: str, by_email: dict[str, str]) -> str | None:
    """The person a ledger record key stands for: an email (HubSpot's key), ``stall:<rule>:<person>…@…``
    (a stall alert), ``<person_id>#<round>`` or a person id (the other destinations)."""
    if record_key.startswith("stall:"):
        parts = record_key.removeprefix("stall:").rsplit("@", 1)[0].split(":")
        return parts[1] if len(parts) > 1 else None
    if "@" in record_key:
        return by_email.get(record_key.strip().lower())
    return record_key.split("#", 1)[0] or None


def sent_without_consent(warehouse, ledger_path) -> dict:
    """Every record a destination acknowledged (the ledger, outbox files included) checked against
    ``marts.person_consent`` for the destination's purpose.

    Returns ``{"checked": n, "violations": n, "unresolved": n, "by_destination": {...},
    "examples": [...]}``: a violation is a record sent to a destination whose person did not consent to
    its purpose; unresolved, a key no person of the warehouse holds (a merged-away id, a changed
    email), counted apart, never as consent.
    """
    import sqlite3

    import duckdb

    purposes = destination_purposes()
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        by_email = {
            email.strip().lower(): person
            for person, email in con.execute("select person_id, email from marts.people where email is not null")
            .fetchall()
        }
        granted = {
            (person, purpose)
            for person, purpose in con.execute(
                "select person_id, purpose from marts.person_consent where is_granted"
            ).fetchall()
        }
        known = {person for (person,) in con.execute("select person_id from marts.people").fetchall()}
    finally:
        con.close()
    ledger = sqlite3.connect(str(ledger_path))
    try:
        sent = ledger.execute(
            # acknowledged once (an outbox file written included), or possibly posted (a chat alert in doubt)
            "select destination, record_key from activation_ledger"
            " where acknowledged_at is not null or status = 'in_doubt'"
        ).fetchall()
    finally:
        ledger.close()
    result: dict = {"checked": 0, "violations": 0, "unresolved": 0, "by_destination": {}, "examples": []}
    for destination, record_key in sent:
        name = destination.split("@", 1)[0].split(":", 1)[0]
        purpose = purposes.get(name)
        if purpose is None:
            raise ConsentError(f"the ledger holds destination {destination!r}, which declares no purpose")
        person = _person_of_key(record_key, by_email)
        counts = result["by_destination"].setdefault(name, {"purpose": purpose, "checked": 0, "violations": 0})
        result["checked"] += 1
        counts["checked"] += 1
        if person is None or person not in known:
            result["unresolved"] += 1
            continue
        if (person, purpose) not in granted:
            result["violations"] += 1
            counts["violations"] += 1
            if len(result["examples"]) < 5:
                result["examples"].append({"destination": name, "person_id": person, "purpose": purpose})
    return result
