"""A local HubSpot CRM v3 contacts batch-upsert endpoint that speaks HubSpot's documented contract.

``POST /crm/v3/objects/contacts/batch/upsert`` with ``Authorization: Bearer <token>`` and
``{"inputs": [{"idProperty": "email", "id": "<email>", "properties": {...}}]}`` (≤ 100 inputs).

Answers:

* 200 ``{"status": "COMPLETE", "results": [...], "startedAt", "completedAt"}`` — all upserted;
* 207 multi-status ``{"status": "COMPLETE", "results": [...], "numErrors": n, "errors": [{"status": "error",
  "category": "VALIDATION_ERROR", "message": ..., "context": {"ids": [...]}}]}`` when some inputs are
  rejected (see :meth:`FakeHubSpot.reject`);
* 400 for a malformed request, or for a batch holding an email rejected with ``mode="400"``;
* 401 without the right bearer token;
* anything queued with :meth:`FakeHubSpot.enqueue` (429 with ``Retry-After``, 503, …), first; or
  scripted for the n-th request from now with :meth:`FakeHubSpot.answer_request` (a 429 in the middle of a run);
* with ``rate_limit=(n, seconds)``: 429 ``{"errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING"}``
  with ``Retry-After`` for a request that finds ``n`` requests already answered in the last
  ``seconds`` (HubSpot's private-app burst limit, e.g. 190 per 10 s);
* with ``daily_limit=n``: every answer carries ``X-HubSpot-RateLimit-Daily`` and
  ``X-HubSpot-RateLimit-Daily-Remaining`` (unless ``daily_headers=False``); once ``n`` requests were answered, 429
  ``{"errorType": "RATE_LIMIT", "policyName": "DAILY"}`` (no ``Retry-After``: the day resets at midnight).

GDPR delete (``POST /crm/v3/objects/contacts/gdpr-delete``, body ``{"objectId": "<id or email>",
"idProperty": "email"}``, ``idProperty`` optional): 204 without a body; the contact is removed and, by
email, the address is blocklisted (``gdpr_deleted``) also when no contact has it, as HubSpot documents;
a later upsert of a blocklisted address is refused per record (207). 400 without ``objectId``, 404
``OBJECT_NOT_FOUND`` for an unknown contact id.

Search (``POST /crm/v3/objects/contacts/search``, body ``{"filterGroups": [{"filters": [{"propertyName",
"operator": "EQ", "value"}]}], "properties", "sorts", "limit"}``): 200 ``{"total": n, "results": [{"id",
"properties", "createdAt", "updatedAt", "archived"}]}``, the contacts matching every filter of any group
(only ``EQ`` is implemented; another operator is a 400 here), oldest first; 400 for a malformed body.

Merge (``POST /crm/v3/objects/contacts/merge``, body ``{"primaryObjectId", "objectIdToMerge"}``, HubSpot
CRM v3 "Merge two contacts"): 200 with the primary contact (``{"id", "properties", ...}``); the primary
keeps its values, takes the merged contact's where it has none, and the merged contact is gone (its id
now leads to the primary, as HubSpot keeps a merged id as an alias; its email is not an alias here).
400 ``VALIDATION_ERROR`` without both ids or when they are the same contact; 404 ``OBJECT_NOT_FOUND``
for an unknown id. Every merge made is in ``merges``.

``contacts`` holds the upserted state by email; ``requests`` everything received.

    with FakeHubSpot(token="pat-test") as hubspot:
        hubspot.enqueue(429, headers={"Retry-After": "1"})
        ... HubSpotConfig(base_url=hubspot.url, token="pat-test") ...
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections import deque
from datetime import UTC, datetime

from tests.fakes._server import FakeServer

UPSERT_PATH = "/crm/v3/objects/contacts/batch/upsert"
GDPR_DELETE_PATH = "/crm/v3/objects/contacts/gdpr-delete"
SEARCH_PATH = "/crm/v3/objects/contacts/search"
MERGE_PATH = "/crm/v3/objects/contacts/merge"
MAX_INPUTS = 100


def _error(message: str, category: str = "VALIDATION_ERROR", **extra) -> dict:
    return {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category, **extra}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FakeHubSpot(FakeServer):
    """HubSpot batch upsert on 127.0.0.1 with scripted faults."""

    def __init__(
        self,
        token: str = "pat-test",
        id_property: str = "email",
        max_inputs: int = MAX_INPUTS,
        rate_limit: tuple[int, float] | None = None,
        daily_limit: int | None = None,
        daily_headers: bool = True,
    ):
        super().__init__()
        self.rate_limit = rate_limit
        self.daily_limit = daily_limit
        self.daily_used = 0
        self.daily_headers = daily_headers  # HubSpot does not send them to every kind of app
        self._recent: deque[float] = deque()  # monotonic times of requests counted against the limit
        self.throttled = 0
        self.token = token
        self.id_property = id_property
        self.max_inputs = max_inputs
        self.contacts: dict[str, dict] = {}
        self._ids: dict[str, str] = {}
        self._next_id = itertools.count(1001)
        self._scripted: deque[tuple[int, dict, object, float]] = deque()
        self._scripted_at: dict[int, tuple[int, dict, object]] = {}  # n-th request from now -> its answer
        self._received = 0
        self._rejections: dict[str, tuple[str, str]] = {}  # email -> (message, mode)
        self._outage: int | None = None
        self._state = threading.Lock()
        self.gdpr_deleted: set[str] = set()  # emails blocklisted by a GDPR delete
        self.merges: list[tuple[str, str]] = []  # (primaryObjectId, objectIdToMerge) of every merge made
        self._aliases: dict[str, str] = {}  # a merged-away contact id -> the id it was merged into
        self._merge_refusal: tuple[int, str] | None = None

    # --- scripting ------------------------------------------------------------------------------

    def enqueue(self, status: int, body: object = None, headers: dict | None = None, times: int = 1,
                delay: float = 0.0) -> None:  # fmt: skip
        """Answer the next ``times`` requests with ``status`` (after ``delay`` seconds), whatever they hold."""
        if body is None:
            body = _error(f"scripted {status}", "RATE_LIMITS" if status == 429 else "INTERNAL_ERROR")
        with self._state:
            self._scripted.extend([(status, headers or {}, body, delay)] * times)

    def answer_request(self, n: int, status: int, body: object = None, headers: dict | None = None) -> None:
        """Answer the ``n``-th request received from now (1 = the next) with ``status``, whatever it holds."""
        if body is None:
            body = _error(f"scripted {status}", "RATE_LIMITS" if status == 429 else "INTERNAL_ERROR")
        with self._state:
            self._scripted_at[self._received + n] = (status, headers or {}, body)

    def outage(self, status: int | None = 503) -> None:
        """Answer every request with ``status`` until called with None."""
        with self._state:
            self._outage = status

    def reject(self, email: str, message: str | None = None, mode: str = "207") -> None:
        """Make HubSpot refuse this email: per record in a 207 multi-status, or the whole batch with a 400."""
        assert mode in ("207", "400")
        message = message or f'Property values were not valid: [{{"isValid":false,"message":"{email} is invalid"}}]'
        with self._state:
            self._rejections[email.lower()] = (message, mode)

    def refuse_merges(self, message: str | None, status: int = 400) -> None:
        """Refuse every merge (``status``, category ``VALIDATION_ERROR``) until called with None, as HubSpot
        does for contacts it will not merge (e.g. one of them is already the result of too many merges)."""
        with self._state:
            self._merge_refusal = None if message is None else (status, message)

    def accept(self, email: str) -> None:
        """Stop rejecting this email."""
        with self._state:
            self._rejections.pop(email.lower(), None)

    # --- contract -------------------------------------------------------------------------------

    def handle(self, request: dict) -> tuple[int, dict, object]:
        with self._state:
            self._received += 1
            at = self._scripted_at.pop(self._received, None)
            scripted = self._scripted.popleft() if self._scripted and at is None else None
            outage = self._outage
        if at is not None:
            return at
        if scripted is not None:
            status, headers, body, delay = scripted
            if delay:
                time.sleep(delay)
            return status, headers, body
        if request["headers"].get("authorization") != f"Bearer {self.token}":
            return (
                401,
                {},
                _error(
                    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find "
                    "more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                    "INVALID_AUTHENTICATION",
                ),
            )
        if outage is not None:
            return outage, {}, _error("Service unavailable", "INTERNAL_ERROR")
        daily: dict = {}
        if self.daily_limit is not None:
            with self._state:
                if self.daily_used >= self.daily_limit:
                    self.throttled += 1
                    headers = {"X-HubSpot-RateLimit-Daily": str(self.daily_limit),
                               "X-HubSpot-RateLimit-Daily-Remaining": "0"}  # fmt: skip
                    return 429, headers, {
                        "status": "error", "message": "You have reached your daily limit.",
                        "errorType": "RATE_LIMIT", "policyName": "DAILY",
                        "correlationId": str(uuid.uuid4())}  # fmt: skip
                self.daily_used += 1
                if self.daily_headers:
                    remaining = self.daily_limit - self.daily_used
                    daily = {"X-HubSpot-RateLimit-Daily": str(self.daily_limit),
                             "X-HubSpot-RateLimit-Daily-Remaining": str(remaining)}  # fmt: skip
        if self.rate_limit is not None:
            limit, window = self.rate_limit
            now = time.monotonic()
            with self._state:
                while self._recent and now - self._recent[0] >= window:
                    self._recent.popleft()
                if len(self._recent) >= limit:
                    self.throttled += 1
                    retry_after = max(1, int(self._recent[0] + window - now + 0.999))
                    return 429, {"Retry-After": str(retry_after)}, {
                        "status": "error", "message": "You have reached your ten_secondly_rolling limit.",
                        "errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING",
                        "correlationId": str(uuid.uuid4())}  # fmt: skip
                self._recent.append(now)
        if request["method"] == "POST" and request["path"] == GDPR_DELETE_PATH:
            return self._gdpr_delete(request["body"])
        if request["method"] == "POST" and request["path"] == SEARCH_PATH:
            return self._search(request["body"])
        if request["method"] == "POST" and request["path"] == MERGE_PATH:
            return self._merge(request["body"])
        if request["method"] != "POST" or request["path"] != UPSERT_PATH:
            return 404, {}, _error(f"No route for {request['method']} {request['path']}", "OBJECT_NOT_FOUND")
        body = request["body"]
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list) or not inputs:
            return 400, {}, _error("Invalid input JSON: 'inputs' must be a non-empty array")
        if len(inputs) > self.max_inputs:
            return 400, {}, _error(f"Batch size must be at most {self.max_inputs}, got {len(inputs)}")
        for i, item in enumerate(inputs):
            if not isinstance(item, dict) or item.get("idProperty") != self.id_property or not item.get("id"):
                return 400, {}, _error(f"inputs[{i}]: idProperty must be '{self.id_property}' and id set")
            props = item.get("properties")
            if not isinstance(props, dict) or not all(isinstance(v, str) for v in props.values()):
                return 400, {}, _error(f"inputs[{i}]: properties must be an object of strings")
        ids = [str(item["id"]).lower() for item in inputs]
        if len(set(ids)) != len(ids):
            return 400, {}, _error("Duplicate IDs found in batch input", "VALIDATION_ERROR")
        with self._state:
            rejections = {i: self._rejections[i] for i in ids if i in self._rejections}
            for i in ids:
                if i in self.gdpr_deleted and i not in rejections:
                    rejections[i] = (f"{i} was permanently deleted (GDPR) and cannot be used again", "207")
        whole_batch = [(i, msg) for i, (msg, mode) in rejections.items() if mode == "400"]
        if whole_batch:
            return 400, {}, _error(whole_batch[0][1], context={"ids": [i for i, _ in whole_batch]})
        results = []
        started = _now()
        with self._state:
            for item, key in zip(inputs, ids, strict=True):
                if key in rejections:
                    continue
                new = key not in self.contacts
                self.contacts[key] = {**self.contacts.get(key, {}), **item["properties"]}
                object_id = self._ids.setdefault(key, str(next(self._next_id)))
                results.append({"id": object_id, "properties": self.contacts[key], "new": new,
                                "createdAt": started, "updatedAt": started, "archived": False})  # fmt: skip
        if rejections:
            errors = [{"status": "error", "category": "VALIDATION_ERROR", "message": msg, "context": {"ids": [i]}}
                      for i, (msg, _) in rejections.items()]  # fmt: skip
            return 207, daily, {"status": "COMPLETE", "results": results, "numErrors": len(errors), "errors": errors,
                                "startedAt": started, "completedAt": _now()}  # fmt: skip
        return 200, daily, {"status": "COMPLETE", "results": results, "startedAt": started, "completedAt": _now()}

    def _gdpr_delete(self, body: object) -> tuple[int, dict, object]:
        if not isinstance(body, dict) or not str(body.get("objectId") or "").strip():
            return 400, {}, _error("Invalid input JSON: 'objectId' is required")
        object_id = str(body["objectId"]).strip()
        with self._state:
            if body.get("idProperty") == "email":
                email = object_id.lower()
                self.contacts.pop(email, None)
                self._ids.pop(email, None)
                self.gdpr_deleted.add(email)  # blocklisted, contact or not
                return 204, {}, b""
            if body.get("idProperty") not in (None, ""):
                return 400, {}, _error(f"Property {body.get('idProperty')} is not a unique property for contacts")
            email = next((e for e, i in self._ids.items() if i == object_id), None)
            if email is None:
                return 404, {}, _error(f"Object {object_id} not found", "OBJECT_NOT_FOUND")
            self.contacts.pop(email, None)
            self._ids.pop(email, None)
            self.gdpr_deleted.add(email)
        return 204, {}, b""

    def _resolve(self, object_id: str) -> str:
        while object_id in self._aliases:
            object_id = self._aliases[object_id]
        return object_id

    def _public(self, email: str) -> dict:
        now = _now()
        return {"id": self._ids[email], "properties": {**self.contacts[email], "hs_object_id": self._ids[email]},
                "createdAt": now, "updatedAt": now, "archived": False}  # fmt: skip

    def _search(self, body: object) -> tuple[int, dict, object]:
        groups = body.get("filterGroups") if isinstance(body, dict) else None
        if not isinstance(groups, list):
            return 400, {}, _error("Invalid input JSON: 'filterGroups' must be an array")
        for group in groups:
            for item in (group or {}).get("filters") or []:
                if item.get("operator") != "EQ" or not item.get("propertyName"):
                    return 400, {}, _error(f"filter {item} is not supported by this fake (EQ only)")
        with self._state:
            found = [
                email for email, props in self.contacts.items()
                if not groups or any(all(str(props.get(f["propertyName"], "")) == str(f.get("value"))
                                         for f in (g or {}).get("filters") or []) for g in groups)
            ]  # fmt: skip
            found.sort(key=lambda email: int(self._ids[email]))  # creation order
            limit = int(body.get("limit") or 10)
            results = [self._public(email) for email in found[:limit]]
        return 200, {}, {"total": len(found), "results": results}

    def _merge(self, body: object) -> tuple[int, dict, object]:
        if not isinstance(body, dict) or not body.get("primaryObjectId") or not body.get("objectIdToMerge"):
            return 400, {}, _error("Invalid input JSON: 'primaryObjectId' and 'objectIdToMerge' are required")
        with self._state:
            primary = self._resolve(str(body["primaryObjectId"]))
            secondary = self._resolve(str(body["objectIdToMerge"]))
            by_id = {object_id: email for email, object_id in self._ids.items()}
            for object_id in (primary, secondary):
                if object_id not in by_id:
                    return 404, {}, _error(f"Object {object_id} not found", "OBJECT_NOT_FOUND")
            if primary == secondary:
                return 400, {}, _error(f"Cannot merge object {primary} into itself", "VALIDATION_ERROR")
            if self._merge_refusal is not None:
                return self._merge_refusal[0], {}, _error(self._merge_refusal[1], "VALIDATION_ERROR")
            kept, gone = by_id[primary], by_id[secondary]
            self.contacts[kept] = {**self.contacts.pop(gone), **self.contacts[kept]}
            del self._ids[gone]
            self._aliases[secondary] = primary
            self.merges.append((primary, secondary))
            return 200, {}, self._public(kept)

    @property
    def upserted_ids(self) -> list[str]:
        """Ids of every input in every request answered 200/207, in order (with repeats)."""
        return [i["id"] for r in self.requests if r["status"] in (200, 207) for i in r["body"]["inputs"]]
