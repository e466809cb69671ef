"""Identity merges reach the CRM: a HubSpot contact or a Salesforce record pushed under a merged-away
person id is merged into the survivor's (docs/activation.md, "CRM records follow identity merges").

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
does.

Salesforce, by the same rule (:func:`reconcile_salesforce`): its REST API has no merge of Leads or
Contacts, so the records are read by external id (REST) and merged with the SOAP API's ``merge()``,
survivor's record = ``masterRecord`` (``activation/salesforce/merge.py``: the calls and how each answer
is classified). Ledger destination ``salesforce-merge@<org and sObject>``, the same keys and statuses;
a pair Salesforce refuses is tried again next run, and one refused at its
:data:`SALESFORCE_DEAD_LETTER_AFTER`-th attempt or later is a dead letter, not tried again (a converted
Lead refuses every time).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Protocol

from intent_pipeline.activation.ledger import ACKNOWLEDGED, DEAD_LETTER, DEFERRED, REJECTED, row_log_failures

if TYPE_CHECKING:
    import requests

    from intent_pipeline.activation.hubspot import HubSpotConfig
    from intent_pipeline.activation.ledger import Ledger
    from intent_pipeline.activation.salesforce.config import SalesforceConfig

log = logging.getLogger(__name__)

SEARCH_PATH = "/crm/v3/objects/contacts/search"
MERGE_PATH = "/crm/v3/objects/contacts/merge"
PERSON_PROPERTY = "intent_person_id"
DESTINATION = "hubspot-merge"
SALESFORCE_DESTINATION = "salesforce-merge"
SALESFORCE_DEAD_LETTER_AFTER = 3  # a pair refused at this attempt or later is not tried again


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
class MergeAnswer:
    """The outcome of one pair: ``status`` ACKNOWLEDGED, REJECTED or DEFERRED, with why."""

    status: str
    reason: str | None = None
    nothing_to_merge: bool = False


class HubSpotMerger:
    """Finds contacts by ``intent_person_id`` and merges them, over HubSpot's documented API."""

    def __init__(self, config: HubSpotConfig, session: requests.Session | None = None):
        import requests as requests_module

        self.config = config
        self._own_session = session is None
        self.session = session or requests_module.Session()
        self.requests = 0

    def close(self) -> None:
        """Close the session this merger opened (a session passed in is the caller's)."""
        if self._own_session:
            self.session.close()

    def _post(self, path: str, body: dict) -> requests.Response | MergeAnswer:
        import requests as requests_module

        from intent_pipeline.activation.hubspot import HubSpotAuthError

        url = self.config.base_url.rstrip("/") + path
        headers = {"Authorization": f"Bearer {self.config.token}", "Content-Type": "application/json"}
        self.requests += 1
        try:
            response = self.session.post(url, json=body, headers=headers, timeout=self.config.timeout)
        except requests_module.RequestException as error:
            return MergeAnswer(DEFERRED, f"{type(error).__name__} calling {path}")
        if response.status_code in (401, 403):
            raise HubSpotAuthError(
                f"HubSpot answered {response.status_code} to {path}: check the 'hubspot_default' connection "
                "(the private app needs crm.objects.contacts.read and .write)"
            )
        if response.status_code == 429 or response.status_code >= 500:
            return MergeAnswer(DEFERRED, f"HTTP {response.status_code} {_message(response)} calling {path}")
        return response

    def contact_ids(self, person_id: str) -> list[str] | MergeAnswer:
        """The ids of the contacts whose ``intent_person_id`` is ``person_id`` (oldest first)."""
        body = {
            "filterGroups": [{"filters": [{"propertyName": PERSON_PROPERTY, "operator": "EQ", "value": person_id}]}],
            "properties": [PERSON_PROPERTY, "email"],
            "sorts": [{"propertyName": "createdate", "direction": "ASCENDING"}],
            "limit": 10,
        }
        response = self._post(SEARCH_PATH, body)
        if isinstance(response, MergeAnswer):
            return response
        if response.status_code != 200:
            return MergeAnswer(REJECTED, f"search HTTP {response.status_code} {_message(response)}")
        return [str(result["id"]) for result in response.json().get("results") or []]

    def merge(self, primary: str, secondary: str) -> MergeAnswer:
        response = self._post(MERGE_PATH, {"primaryObjectId": primary, "objectIdToMerge": secondary})
        if isinstance(response, MergeAnswer):
            return response
        if response.status_code == 200:
            return MergeAnswer(ACKNOWLEDGED, f"merged contact {secondary} into {primary}")
        return MergeAnswer(REJECTED, f"merge HTTP {response.status_code} {_message(response)}")

    def reconcile(self, retired: str, survivor: str) -> MergeAnswer:
        """Merge the retired id's contacts into the survivor's (see the module docstring)."""
        gone = self.contact_ids(retired)
        if isinstance(gone, MergeAnswer):
            return gone
        if not gone:
            return MergeAnswer(ACKNOWLEDGED, "no contact under the merged-away id: nothing to merge",
                               nothing_to_merge=True)  # fmt: skip
        kept = self.contact_ids(survivor)
        if isinstance(kept, MergeAnswer):
            return kept
        if not kept:
            return MergeAnswer(DEFERRED, "the surviving person has no contact yet (its push is not acknowledged)")
        merged = []
        for secondary in gone:
            if secondary == kept[0]:
                continue
            answer = self.merge(kept[0], secondary)
            if answer.status != ACKNOWLEDGED:
                return answer
            merged.append(secondary)
        return MergeAnswer(ACKNOWLEDGED, f"merged contact(s) {', '.join(merged) or '-'} into {kept[0]}")


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
    merger = HubSpotMerger(config, session)
    return _reconcile(f"{DESTINATION}@{config.ledger_scope}", rows, ledger, run_id, interval_start, merger, "hubspot")


def reconcile_salesforce(
    config: SalesforceConfig,
    rows: list[dict],
    ledger: Ledger,
    run_id: str,
    interval_start: date,
    sleep: Callable[[float], None] = time.sleep,
) -> dict:
    """Merge in Salesforce (SOAP ``merge()``) every record pushed under a merged-away id that is not
    merged yet; record each pair in the ledger. Returns the counts of :func:`reconcile_hubspot` and
    ``dead_lettered`` (pairs earlier runs made dead letters: not tried again).

    Raises ``SalesforceAuthError`` for an answer that says the connection is wrong (pairs answered before
    it stay recorded)."""
    from intent_pipeline.activation.salesforce.merge import MERGEABLE, SalesforceMerger

    destination = f"{SALESFORCE_DESTINATION}@{config.ledger_scope}"
    if config.sobject not in MERGEABLE:
        log.warning("salesforce merges: merge() does not take %s records: not reconciled", config.sobject)
        return {"pairs": 0, "unsupported_sobject": config.sobject}
    merger = SalesforceMerger(config, sleep=sleep)
    return _reconcile(destination, rows, ledger, run_id, interval_start, merger, "salesforce",
                      dead_letter_after=SALESFORCE_DEAD_LETTER_AFTER)  # fmt: skip


class _Merger(Protocol):
    """What :func:`_reconcile` needs of a CRM's merger (``HubSpotMerger``, ``SalesforceMerger``)."""

    requests: int

    def reconcile(self, retired: str, survivor: str) -> MergeAnswer: ...

    def close(self) -> None: ...


def _reconcile(
    destination: str,
    rows: list[dict],
    ledger: Ledger,
    run_id: str,
    interval_start: date,
    merger: _Merger,
    label: str,
    dead_letter_after: int | None = None,
) -> dict:
    """Every pair of the segment not acknowledged yet through ``merger``, its outcome in the ledger
    (each answered pair at once: a failure later in the run keeps it) and, unless acknowledged, in the
    row log; the counts with the merger's ``requests``. The merger is closed, whatever happens."""
    entries = ledger.entries(destination)
    counts = {"pairs": 0, "merged": 0, "nothing_to_merge": 0, "rejected": 0, "deferred": 0, "already": 0,
              "requests": 0}  # fmt: skip
    if dead_letter_after:
        counts["dead_lettered"] = 0
    try:
        for retired, survivor in merge_pairs(rows):
            counts["pairs"] += 1
            key = pair_key(retired, survivor)
            entry = entries.get(key)
            if entry is not None and entry.acknowledged:
                counts["already"] += 1
                continue
            if entry is not None and entry.status == DEAD_LETTER:
                counts["dead_lettered"] = counts.get("dead_lettered", 0) + 1
                continue
            answer = merger.reconcile(retired, survivor)
            digest = hashlib.sha256(key.encode()).hexdigest()[:16]
            outcome = (key, digest, answer.status, None if answer.status == ACKNOWLEDGED else answer.reason)
            dead_now = ledger.record(destination, run_id, [outcome], dead_letter_after=dead_letter_after,
                                     interval_start=interval_start)  # fmt: skip
            if answer.nothing_to_merge:
                counts["nothing_to_merge"] += 1
            else:
                counts[{ACKNOWLEDGED: "merged", REJECTED: "rejected", DEFERRED: "deferred"}[answer.status]] += 1
            # the row log holds what did not go through, as for every destination
            ledger.log_rows(run_id, destination, row_log_failures([(key, answer.status, answer.reason)], dead_now))
            log.info("%s merge %s: %s (%s)", label, key, answer.status, answer.reason)
    finally:
        merger.close()
    counts["requests"] = merger.requests
    return counts


def _message(response: requests.Response) -> str:
    from intent_pipeline.activation.http import body_message

    return body_message(response, ("category", "message"))
