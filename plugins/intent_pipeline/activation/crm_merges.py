"""Identity merges reach the CRM: a HubSpot contact pushed under a merged-away person id is merged
into the survivor's contact (docs/activation.md, "CRM records follow identity merges").

When identity resolution merges two people who each had a CRM record, the warehouse keeps the
oldest person id (``int_identity_id_changes``) and the segment row of the survivor lists the
retired ids in ``merged_person_ids``. Activation then pushes the survivor (under its email), and
the contact the retired id was pushed under would stay a second record of the same human. The rule:

* **primary = the survivor's contact, merged-away = the retired id's contact.** The contacts are
  found by the ``intent_person_id`` property every upsert writes (``POST
  /crm/v3/objects/contacts/search``, filter ``intent_person_id EQ <id>``), after this run's
  upsert, so the survivor's contact exists when its push was acknowledged.
* ``POST /crm/v3/objects/contacts/merge`` with ``{"primaryObjectId": <survivor's contact id>,
  "objectIdToMerge": <retired id's contact id>}`` (HubSpot CRM v3, "Merge two contacts"): HubSpot
  keeps the primary's values where it has them and the merged contact's history. A merge cannot be
  undone; it is made once per (retired id, survivor) pair.
* No contact under the retired id (it was never pushed, or its email was the survivor's and the
  upsert already updated that contact): nothing to merge, recorded as done. No contact for the
  survivor yet (its push failed this run): deferred, tried again next run.

Every pair's outcome is in the activation ledger, destination ``hubspot-merge@<account>``, record
key ``<retired id>><survivor id>``: ``acknowledged`` (merged, or nothing to merge), ``rejected``
(HubSpot refused: a 4xx with its message, in the row log; tried again next run), ``deferred`` (429,
5xx, a timeout, or no survivor contact yet). 401/403 stop with ``HubSpotAuthError``, as the upsert
does. Salesforce is not reconciled (its REST API has no Lead merge; the SOAP API's ``merge()``
takes Salesforce record ids, not external ids): see the docs.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from intent_pipeline.activation.ledger import ACKNOWLEDGED, DEFERRED, REJECTED

if TYPE_CHECKING:
    import requests

    from intent_pipeline.activation.hubspot import HubSpotConfig
    from intent_pipeline.activation.ledger import Ledger

log = logging.getLogger(__name__)

SEARCH_PATH = "/crm/v3/objects/contacts/search"
MERGE_PATH = "/crm/v3/objects/contacts/merge"
PERSON_PROPERTY = "intent_person_id"
DESTINATION = "hubspot-merge"


def merge_pairs(rows: list[dict]) -> list[tuple[str, str]]:
    """``(retired id, survivor id)`` for every retired id a segment row lists in ``merged_person_ids``."""
    pairs = set()
    for row in rows:
        survivor = (row.get("person_id") or "").strip()
        for retired in (row.get("merged_person_ids") or "").split(","):
            if retired.strip() and survivor and retired.strip() != survivor:
                pairs.add((retired.strip(), survivor))
    return sorted(pairs)


def pair_key(retired: str, survivor: str) -> str:
    return f"{retired}>{survivor}"


@dataclass
class _Answer:
    status: str  # ACKNOWLEDGED, REJECTED or DEFERRED
    reason: str | None = None
    nothing_to_merge: bool = False


class HubSpotMerger:
    """Finds contacts by ``intent_person_id`` and merges them, over HubSpot's documented API."""

    def __init__(self, config: HubSpotConfig, session: requests.Session | None = None):
        import requests as requests_module

        self.config = config
        self.session = session or requests_module.Session()
        self.requests = 0

    def _post(self, path: str, body: dict) -> requests.Response | _Answer:
        import requests as requests_module

        from intent_pipeline.activation.hubspot import HubSpotAuthError

        url = self.config.base_url.rstrip("/") + path
        headers = {"Authorization": f"Bearer {self.config.token}", "Content-Type": "application/json"}
        self.requests += 1
        try:
            response = self.session.post(url, json=body, headers=headers, timeout=self.config.timeout)
        except requests_module.RequestException as error:
            return _Answer(DEFERRED, f"{type(error).__name__} calling {path}")
        if response.status_code in (401, 403):
            raise HubSpotAuthError(
                f"HubSpot answered {response.status_code} to {path}: check the 'hubspot_default' connection "
                "(the private app needs crm.objects.contacts.read and .write)"
            )
        if response.status_code == 429 or response.status_code >= 500:
            return _Answer(DEFERRED, f"HTTP {response.status_code} {_message(response)} calling {path}")
        return response

    def contact_ids(self, person_id: str) -> list[str] | _Answer:
        """The ids of the contacts whose ``intent_person_id`` is ``person_id`` (oldest first)."""
        body = {
            "filterGroups": [{"filters": [{"propertyName": PERSON_PROPERTY, "operator": "EQ", "value": person_id}]}],
            "properties": [PERSON_PROPERTY, "email"],
            "sorts": [{"propertyName": "createdate", "direction": "ASCENDING"}],
            "limit": 10,
        }
        response = self._post(SEARCH_PATH, body)
        if isinstance(response, _Answer):
            return response
        if response.status_code != 200:
            return _Answer(REJECTED, f"search HTTP {response.status_code} {_message(response)}")
        return [str(result["id"]) for result in response.json().get("results") or []]

    def merge(self, primary: str, secondary: str) -> _Answer:
        response = self._post(MERGE_PATH, {"primaryObjectId": primary, "objectIdToMerge": secondary})
        if isinstance(response, _Answer):
            return response
        if response.status_code == 200:
            return _Answer(ACKNOWLEDGED, f"merged contact {secondary} into {primary}")
        return _Answer(REJECTED, f"merge HTTP {response.status_code} {_message(response)}")

    def reconcile(self, retired: str, survivor: str) -> _Answer:
        """Merge the retired id's contacts into the survivor's (see the module docstring)."""
        gone = self.contact_ids(retired)
        if isinstance(gone, _Answer):
            return gone
        if not gone:
            return _Answer(ACKNOWLEDGED, "no contact under the merged-away id: nothing to merge", nothing_to_merge=True)
        kept = self.contact_ids(survivor)
        if isinstance(kept, _Answer):
            return kept
        if not kept:
            return _Answer(DEFERRED, "the surviving person has no contact yet (its push is not acknowledged)")
        merged = []
        for secondary in gone:
            if secondary == kept[0]:
                continue
            answer = self.merge(kept[0], secondary)
            if answer.status != ACKNOWLEDGED:
                return answer
            merged.append(secondary)
        return _Answer(ACKNOWLEDGED, f"merged contact(s) {', '.join(merged) or '-'} into {kept[0]}")


def reconcile_hubspot(
    config: HubSpotConfig,
    rows: list[dict],
    ledger: Ledger,
    run_id: str,
    interval_start: date,
    session: requests.Session | None = None,
) -> dict:
    """Merge in HubSpot every contact pushed under a merged-away id that is not merged yet; record
    each pair in the ledger. Returns the counts (``pairs``, ``merged``, ``nothing_to_merge``,
    ``rejected``, ``deferred``, ``already`` (acknowledged by an earlier run), ``requests``)."""
    destination = f"{DESTINATION}@{config.ledger_scope}"
    entries = ledger.entries(destination)
    counts = {"pairs": 0, "merged": 0, "nothing_to_merge": 0, "rejected": 0, "deferred": 0, "already": 0,
              "requests": 0}  # fmt: skip
    merger = HubSpotMerger(config, session)
    outcomes, logged = [], []
    for retired, survivor in merge_pairs(rows):
        counts["pairs"] += 1
        key = pair_key(retired, survivor)
        entry = entries.get(key)
        if entry is not None and entry.acknowledged:
            counts["already"] += 1
            continue
        answer = merger.reconcile(retired, survivor)
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        outcomes.append((key, digest, answer.status, None if answer.status == ACKNOWLEDGED else answer.reason))
        if answer.nothing_to_merge:
            counts["nothing_to_merge"] += 1
        else:
            counts[{ACKNOWLEDGED: "merged", REJECTED: "rejected", DEFERRED: "deferred"}[answer.status]] += 1
        if answer.status != ACKNOWLEDGED:  # the row log holds what did not go through, as for every destination
            logged.append((key, answer.status, answer.reason))
        log.info("hubspot merge %s: %s (%s)", key, answer.status, answer.reason)
    if outcomes:
        ledger.record(destination, run_id, outcomes, interval_start=interval_start)
    if logged:
        ledger.log_rows(run_id, destination, logged)
    counts["requests"] = merger.requests
    return counts


def _message(response: requests.Response) -> str:
    from intent_pipeline.activation.http import body_message

    return body_message(response, ("category", "message"))
