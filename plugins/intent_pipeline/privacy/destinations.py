"""Deletes at the destinations that hold an erased person (docs/privacy.md, "Erasure").

Over the destinations' own HTTP clients (their retries, rate limits, token refresh and redaction):

* HubSpot: ``POST /crm/v3/objects/contacts/gdpr-delete`` ``{"objectId": <email>, "idProperty": "email"}``
  (the ledger's key is the email): 204. HubSpot deletes the contact permanently and blocklists the
  address (also when no contact has it), so a later form or import does not recreate it;
* Salesforce: ``DELETE /services/data/vXX.X/sobjects/<sObject>/<external id field>/<person_id>``
  (delete by external id): 204; 404 ``NOT_FOUND`` is "already gone", counted as deleted;
* the CRM webhook: a signed ``{"event": "forget", "batch_id", "sent_at", "records": [{"key": …}]}``
  (the webhook's contract, ``activation/webhook.py``): any 2xx;
* chat robots: nothing (a posted message cannot be recalled through a robot webhook).

Each returns ``(ok, reason)``: ``ok`` when the vendor acknowledged the delete.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Container
from datetime import UTC, datetime
from urllib.parse import quote

HUBSPOT_GDPR_DELETE_PATH = "/crm/v3/objects/contacts/gdpr-delete"
CHAT = ("dingtalk", "wecom", "feishu", "slack")


def _reason(response) -> str:
    text = (getattr(response, "text", "") or "")[:300]
    return f"HTTP {response.status_code} {text}".strip()


def _deleted(destination, response, accepted: Container[int]) -> tuple[bool, str | None]:
    """A deletion's outcome: done when the destination answered one of ``accepted``; not done, with
    the reason (secrets redacted), when the retries gave up or it answered anything else."""
    from intent_pipeline.activation.http import GaveUp

    if isinstance(response, GaveUp):
        return False, destination.redact(response.reason)
    if response.status_code in accepted:
        return True, None
    return False, destination.redact(_reason(response))


def hubspot_delete(config, email: str, *, sleep=time.sleep) -> tuple[bool, str | None]:
    """HubSpot's GDPR delete of the contact with this email."""
    from intent_pipeline.activation.hubspot import HubSpotDestination

    destination = HubSpotDestination(config, sleep=sleep)
    url = config.base_url.rstrip("/") + HUBSPOT_GDPR_DELETE_PATH
    body = {"objectId": email, "idProperty": "email"}

    def attempt():
        return destination._classify(destination._http().post(url, json=body, timeout=config.timeout))

    response = destination._with_retries(attempt, attempts=config.max_retries + 1, limits=(destination.window,))
    return _deleted(destination, response, (200, 204))


def salesforce_delete(config, key: str, *, sleep=time.sleep) -> tuple[bool, str | None]:
    """Salesforce's delete by external id; a record the org does not have counts as deleted."""
    from intent_pipeline.activation.http import GaveUp
    from intent_pipeline.activation.salesforce import SalesforceDestination

    destination = SalesforceDestination(config, sleep=sleep)
    path = f"sobjects/{destination.sobject}/{destination.external_id_field}/{quote(key, safe='')}"
    response = destination._request("DELETE", path)
    if not isinstance(response, GaveUp) and response.status_code == 404 and "NOT_FOUND" in (response.text or ""):
        return True, "not found at Salesforce (already deleted)"
    return _deleted(destination, response, (200, 204))


def webhook_forget(config, keys: list[str], *, sleep=time.sleep) -> tuple[bool, str | None]:
    """The webhook's ``forget`` event for these record keys, signed like every batch."""
    from intent_pipeline.activation.webhook import WebhookDestination, raw_json

    destination = WebhookDestination(config, sleep=sleep)
    sent_at = datetime.now(UTC).isoformat(timespec="seconds")
    records = [{"key": key} for key in keys]
    batch_id = hashlib.sha256(raw_json({"event": "forget", "sent_at": sent_at, "records": records})).hexdigest()[:32]
    response = destination._post({"event": "forget", "batch_id": batch_id, "sent_at": sent_at, "records": records})
    return _deleted(destination, response, range(200, 300))


def kind_of(ledger_destination: str) -> str:
    """``hubspot``, ``salesforce``, ``crm_webhook``, a chat robot's name, or ``outbox`` (nothing was sent)."""
    if ledger_destination.endswith(":outbox"):
        return "outbox"
    return ledger_destination.split("@", 1)[0]
