"""A local Salesforce org that speaks the sObject Collections upsert contract.

``PATCH /services/data/vXX.X/composite/sobjects/{sObject}/{externalIdField}`` with
``Authorization: Bearer <token>`` and ``{"allOrNone": false, "records": [{"attributes": {"type": ...},
"<externalIdField>": "...", ...}]}``. Enforced as Salesforce documents it:

* 401 ``[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]`` without the
  right bearer token;
* 404 ``NOT_FOUND`` for another path, sObject or external id field, 405 for another method;
* 400 ``JSON_PARSER_ERROR`` for a body that is not ``{"allOrNone", "records": [...]}``, 400
  ``EXCEEDED_ID_LIMIT`` for more than 200 records, 400 ``INVALID_FIELD`` for a field the sObject does
  not have (see ``fields``), 400 ``INVALID_TYPE`` for a record whose ``attributes.type`` differs;
* 200 with one ``UpsertResult`` per record in request order: ``{"id", "success": true, "errors": [],
  "created"}`` (``created`` only the first time an external id is seen), or ``{"id": null, "success":
  false, "errors": [{"statusCode", "message", "fields"}]}`` for a record without its external id, a
  duplicate external id in the call, a missing ``LastName``/``Company``, or a key told to :meth:`reject`;
* anything queued with :meth:`enqueue` (503, 403 ``REQUEST_LIMIT_EXCEEDED``, …) first, and
  :meth:`outage` for every request.

``records`` holds the org's state by external id; ``requests`` everything received.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections import deque

from tests.fakes._server import FakeServer

MAX_RECORDS = 200
PATH_RE = re.compile(r"^/services/data/v(?P<version>\d+\.\d)/composite/sobjects/(?P<sobject>\w+)/(?P<field>\w+)$")
LEAD_FIELDS = frozenset(
    {"FirstName", "LastName", "Company", "Email", "Phone", "Title", "Industry", "LeadSource", "Status",
     "Intent_Person_Id__c", "Intent_Score__c", "Intent_Grade__c", "Intent_Reasons__c"}
)  # fmt: skip
REQUIRED = ("LastName", "Company")


def errors(code: str, message: str) -> list[dict]:
    """Salesforce's error body: a JSON array of ``{"message", "errorCode"}``."""
    return [{"message": message, "errorCode": code}]


def bad_request(code: str, message: str) -> tuple[int, dict, list[dict]]:
    """A whole-call 400."""
    return 400, {}, errors(code, message)


def record_error(code: str, message: str, fields: list[str] | None = None) -> dict:
    return {"id": None, "success": False, "errors": [{"statusCode": code, "message": message, "fields": fields or []}]}


class FakeSalesforce(FakeServer):
    """sObject Collections upsert on 127.0.0.1 with scripted faults."""

    def __init__(
        self,
        token: str = "00Dxx0000001gPL!AR8AQ.test",
        sobject: str = "Lead",
        external_id_field: str = "Intent_Person_Id__c",
        fields: frozenset[str] = LEAD_FIELDS,
    ):
        super().__init__()
        self.token = token
        self.sobject = sobject
        self.external_id_field = external_id_field
        self.fields = fields
        self.records: dict[str, dict] = {}  # external id -> fields
        self.ids: dict[str, str] = {}  # external id -> record id
        self.creations = 0
        self._next_id = itertools.count(1)
        self._scripted: deque[tuple[int, dict, object, float]] = deque()
        self._rejections: dict[str, tuple[str, str, str]] = {}  # key -> (statusCode, message, mode)
        self._outage: tuple[int, object] | None = None
        self._state = threading.Lock()

    def __enter__(self):
        super().__enter__()
        handler = self._httpd.RequestHandlerClass  # the base server serves GET/POST/PUT; Salesforce upserts with PATCH
        handler.do_PATCH = handler._serve
        return self

    # --- scripting ------------------------------------------------------------------------------

    def enqueue(self, status: int, body: object = None, headers: dict | None = None, times: int = 1,
                delay: float = 0.0) -> None:  # fmt: skip
        """Answer the next ``times`` requests with ``status`` (after ``delay`` seconds), whatever they hold."""
        if body is None:
            body = errors("SERVER_UNAVAILABLE", f"scripted {status}")
        with self._state:
            self._scripted.extend([(status, headers or {}, body, delay)] * times)

    def limit_exceeded(self, which: str = "ConcurrentRequests (Concurrent API Requests)", times: int = 1) -> None:
        """Answer 403 ``REQUEST_LIMIT_EXCEEDED`` (``which="TotalRequests"``: the 24-hour allocation)."""
        self.enqueue(403, errors("REQUEST_LIMIT_EXCEEDED", f"{which} Limit exceeded."), times=times)

    def outage(self, status: int | None = 503) -> None:
        """Answer every request with ``status`` until called with None."""
        with self._state:
            self._outage = None if status is None else (status, errors("SERVER_UNAVAILABLE", "Service Unavailable"))

    def reject(self, key: str, code: str = "REQUIRED_FIELD_MISSING", message: str | None = None,
               mode: str = "record") -> None:  # fmt: skip
        """Refuse this external id: per record in the 200 results, or (``mode="400"``) the whole call."""
        assert mode in ("record", "400")
        message = message or f"{code}: scripted for {key}"
        with self._state:
            self._rejections[key] = (code, message, mode)

    def accept(self, key: str) -> None:
        with self._state:
            self._rejections.pop(key, None)

    # --- contract -------------------------------------------------------------------------------

    def handle(self, request: dict) -> tuple[int, dict, object]:
        with self._state:
            scripted = self._scripted.popleft() if self._scripted else None
            outage = self._outage
        if request["headers"].get("authorization") != f"Bearer {self.token}":
            return 401, {}, errors("INVALID_SESSION_ID", "Session expired or invalid")
        if scripted is not None:
            status, headers, body, delay = scripted
            time.sleep(delay)
            return status, headers, body
        if outage is not None:
            return outage[0], {}, outage[1]
        match = PATH_RE.match(request["path"])
        if not match or match["sobject"] != self.sobject or match["field"] != self.external_id_field:
            return 404, {}, errors("NOT_FOUND", "The requested resource does not exist")
        if request["method"] != "PATCH":
            return 405, {}, errors("METHOD_NOT_ALLOWED", f"HTTP Method '{request['method']}' not allowed.")
        body = request["body"]
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not records or not isinstance(body.get("allOrNone", False), bool):
            return bad_request("JSON_PARSER_ERROR", "Unexpected parameter encountered during deserialization")
        if len(records) > MAX_RECORDS:
            limit = f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call"
            return bad_request("EXCEEDED_ID_LIMIT", limit)
        for record in records:
            if not isinstance(record, dict) or not isinstance(record.get("attributes"), dict):
                return bad_request("JSON_PARSER_ERROR", "Each record needs an attributes map with a type")
            if record["attributes"].get("type") != self.sobject:
                return bad_request("INVALID_TYPE", f"Record type {record['attributes'].get('type')} is not valid")
            for name in record:
                if name != "attributes" and name not in self.fields:
                    return bad_request("INVALID_FIELD", f"No such column '{name}' on sobject of type {self.sobject}")
            score = record.get("Intent_Score__c")
            if score is not None and not isinstance(score, int | float):
                message = f"Cannot deserialize instance of double from VALUE_STRING value {score}"
                return bad_request("JSON_PARSER_ERROR", message)
        keys = [r.get(self.external_id_field) for r in records]
        with self._state:
            rejections = {k: self._rejections[k] for k in keys if k in self._rejections}
        for code, message, mode in rejections.values():
            if mode == "400":
                return bad_request(code, message)
        return 200, {}, self._upsert(records, keys, rejections)

    def _upsert(self, records: list[dict], keys: list, rejections: dict) -> list[dict]:
        """Results in request order; ``allOrNone`` is false: each record succeeds or fails alone."""
        seen: dict = {}
        for key in keys:
            seen[key] = seen.get(key, 0) + 1
        results = []
        with self._state:
            for record, key in zip(records, keys, strict=True):
                fields = {k: v for k, v in record.items() if k != "attributes"}
                if not key:
                    results.append(record_error("MISSING_ARGUMENT", f"{self.external_id_field} not specified"))
                elif seen[key] > 1:
                    results.append(record_error("DUPLICATE_EXTERNAL_ID", f"Duplicate external id: {key}"))
                elif key in rejections:
                    code, message, _ = rejections[key]
                    results.append(record_error(code, message))
                elif key not in self.records and (missing := [f for f in REQUIRED if not fields.get(f)]):
                    results.append(
                        record_error("REQUIRED_FIELD_MISSING", f"Required fields are missing: {missing}", missing)
                    )
                else:
                    created = key not in self.records
                    self.records[key] = {**self.records.get(key, {}), **fields}
                    record_id = self.ids.setdefault(key, f"00Q{next(self._next_id):015d}")
                    self.creations += created
                    results.append({"id": record_id, "success": True, "errors": [], "created": created})
        return results

    @property
    def keys_sent(self) -> list[str]:
        """External ids of every record of every call answered 200 (upserted or not), in order, with repeats."""
        return [
            r["body"]["records"][i][self.external_id_field]
            for r in self.requests
            if r["status"] == 200
            for i in range(len(r["body"]["records"]))
        ]
