"""A local Salesforce org that speaks the sObject Collections upsert, Bulk API 2.0 ingest and OAuth 2.0
refresh-token contracts.

sObject Collections: ``PATCH /services/data/vXX.X/composite/sobjects/{sObject}/{externalIdField}`` with
``Authorization: Bearer <token>`` and ``{"allOrNone": false, "records": [{"attributes": {"type": ...},
"<externalIdField>": "...", ...}]}``. Enforced as Salesforce documents it:

* 401 ``[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]`` without the
  right bearer token (on every ``/services/data`` path; see :meth:`expire_session`);
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

OAuth: ``POST /services/oauth2/token`` (form-encoded ``grant_type=refresh_token, client_id,
client_secret, refresh_token``; no bearer token needed) → 200 ``{"access_token", "signature",
"scope", "instance_url", "id", "token_type": "Bearer", "issued_at"}`` (plus a new ``refresh_token``
with ``rotate_refresh_tokens``); the new access token replaces the old one. 400
``{"error": "invalid_grant", "error_description": "expired access/refresh token"}`` for an unknown
or revoked refresh token (:meth:`revoke_refresh_token`), ``invalid_client_id`` / ``invalid_client`` for
a wrong client id / secret, ``unsupported_grant_type``; :meth:`enqueue_token` scripts answers, and
``session_length`` makes every issued token expire after that many API calls.

Bulk API 2.0 ingest (upsert, CSV), with the job states Open → UploadComplete → InProgress →
JobComplete (or Failed / Aborted):

* ``POST …/jobs/ingest`` ``{"object", "externalIdFieldName", "contentType": "CSV", "operation":
  "upsert", "lineEnding"}`` → 200 job info (``state: Open``); 400 ``INVALIDJOB`` for another
  object, operation or external id field;
* ``PUT …/jobs/ingest/{id}/batches`` (``text/csv``) → 201, once per job while Open (a second upload:
  400 "Found multiple contents"); more than ``max_upload_bytes``: 400;
* ``PATCH …/jobs/ingest/{id}`` ``{"state": "UploadComplete" | "Aborted"}`` → 200 job info;
* ``GET …/jobs/ingest/{id}``: ``InProgress`` for ``in_progress_polls`` polls, then the job is
  processed into the same ``records`` as the collections path: ``JobComplete``, or ``Failed`` with an
  ``errorMessage`` (a header field the sObject lacks: ``InvalidBatch : Field name not found : X``; a
  line ending other than the job's; :meth:`fail_jobs`);
* ``GET …/successfulResults/`` (``sf__Id, sf__Created`` + the uploaded fields), ``…/failedResults/``
  (``sf__Id, sf__Error`` + the fields: keys told to :meth:`reject`, missing required fields, bad
  numbers) and ``…/unprocessedrecords/`` (the fields: :meth:`leave_unprocessed`, or every row of a
  ``Failed`` job), in CSV with every value quoted, once the job is final; :meth:`drop_results` leaves
  keys out of every result (as for batches over the daily allocation). An empty cell leaves a field
  unchanged, ``#N/A`` nulls it.

Delete by external id: ``DELETE /services/data/vXX.X/sobjects/{sObject}/{externalIdField}/{value}`` →
204 without a body; 404 ``[{"errorCode": "NOT_FOUND", "message": "The requested resource does not
exist"}]`` when no record has that value (or for another sObject or field). ``deleted`` lists the
external ids deleted.

Read by external id: ``GET /services/data/vXX.X/sobjects/{sObject}/{externalIdField}/{value}`` → 200
the record's fields with ``attributes`` and ``Id``; 404 ``NOT_FOUND`` when no record has that value.

SOAP ``merge()`` (partner API): ``POST /services/Soap/u/XX.X`` with ``Content-Type: text/xml`` and a
SOAP 1.1 envelope whose header's ``SessionHeader/sessionId`` is the OAuth access token, and whose body
is ``<merge>`` with one ``<request>`` (``MergeRequest``) per merge, at most 200: ``masterRecord`` (an
sObject: ``type`` and ``Id`` in ``urn:sobject.partner.soap.sforce.com``) and one or two
``recordToMergeIds``. The answer is HTTP 200 ``<mergeResponse>`` with one ``<result>`` (``MergeResult``:
``id``, ``mergedRecordIds``, ``success``, ``updatedRelatedIds``, ``errors`` of ``statusCode``, ``message``,
``fields``) per request, in order. A merged record is gone (deleted, not readable by external id);
merging it, or into it, again: ``ENTITY_IS_DELETED``; an id the org never had:
``INVALID_CROSS_REFERENCE_KEY``; a key told to :meth:`refuse_merge`: its code. Whole-call faults are HTTP
500 ``<soapenv:Fault>`` (``faultcode sf:<ExceptionCode>``, ``faultstring "<code>: <message>"``, the
``detail`` fault with ``exceptionCode``/``exceptionMessage``): ``INVALID_SESSION_ID`` for a missing,
wrong or expired session (the same token and expiry as the REST API), ``INVALID_TYPE`` for an sObject
merge() does not support (only Lead, Contact, Account here) or not this org's, ``LIMIT_EXCEEDED`` for more
than 200 requests, ``soapenv:Client`` for a body that is not such an envelope; :meth:`enqueue_fault`
scripts any fault (``REQUEST_LIMIT_EXCEEDED``, ``SERVER_UNAVAILABLE``, ``API_DISABLED_FOR_ORG``, …).

``records`` holds the org's state by external id; ``requests`` everything received; :meth:`calls`
counts them per endpoint; ``merges`` lists ``(master id, merged id)`` per record merged.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import itertools
import re
import threading
import time
from collections import Counter, deque
from urllib.parse import parse_qs
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from tests.fakes._server import FakeServer

MAX_RECORDS = 200
PATH_RE = re.compile(r"^/services/data/v(?P<version>\d+\.\d)/composite/sobjects/(?P<sobject>\w+)/(?P<field>\w+)$")
JOBS_RE = re.compile(
    r"^/services/data/v(?P<version>\d+\.\d)/jobs/ingest/?"
    r"(?:(?P<id>[A-Za-z0-9]+)(?:/(?P<part>batches|successfulResults|failedResults|unprocessedrecords))?/?)?$"
)
DELETE_RE = re.compile(
    r"^/services/data/v(?P<version>\d+\.\d)/sobjects/(?P<sobject>\w+)/(?P<field>\w+)/(?P<value>[^/]+)$"
)
TOKEN_PATH = "/services/oauth2/token"
SOAP_RE = re.compile(r"^/services/Soap/u/(?P<version>\d+\.\d)/?$")
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER = "urn:partner.soap.sforce.com"
SOBJECT = "urn:sobject.partner.soap.sforce.com"
FAULT = "urn:fault.partner.soap.sforce.com"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
MERGEABLE = frozenset({"Lead", "Contact", "Account"})  # this fake's merge() (Salesforce's: also Case, Individual)
MAX_MERGE_REQUESTS = 200
XML = {"Content-Type": "text/xml;charset=UTF-8"}
LEAD_FIELDS = frozenset(
    {"FirstName", "LastName", "Company", "Email", "Phone", "Title", "Industry", "LeadSource", "Status",
     "Intent_Person_Id__c", "Intent_Score__c", "Intent_Grade__c", "Intent_Reasons__c"}
)  # fmt: skip
NUMBER_FIELDS = frozenset({"Intent_Score__c"})
REQUIRED = ("LastName", "Company")
MAX_UPLOAD_BYTES = 100_000_000  # 150 MB once base64-encoded
NULL = "#N/A"  # Bulk API 2.0: the value that nulls a field (an empty cell leaves it unchanged)


def errors(code: str, message: str) -> list[dict]:
    """Salesforce's error body: a JSON array of ``{"message", "errorCode"}``."""
    return [{"message": message, "errorCode": code}]


def bad_request(code: str, message: str) -> tuple[int, dict, list[dict]]:
    """A whole-call 400."""
    return 400, {}, errors(code, message)


def record_error(code: str, message: str, fields: list[str] | None = None) -> dict:
    return {"id": None, "success": False, "errors": [{"statusCode": code, "message": message, "fields": fields or []}]}


def soap_fault(code: str, message: str, fault: str = "UnexpectedErrorFault") -> tuple[int, dict, bytes]:
    """A SOAP API fault as Salesforce answers it: HTTP 500, ``faultcode sf:<code>``, ``faultstring
    "<code>: <message>"`` and the fault element (``UnexpectedErrorFault``, ``InvalidSObjectFault``, …)
    in ``detail`` with ``exceptionCode`` and ``exceptionMessage``. ``code`` ``soapenv:Client``: a fault
    without an exception code (a request that is no SOAP message this API knows)."""
    if code.startswith("soapenv:"):
        inner = f"<faultcode>{code}</faultcode><faultstring>{escape(message)}</faultstring>"
    else:
        inner = (
            f"<faultcode>sf:{code}</faultcode><faultstring>{code}: {escape(message)}</faultstring><detail>"
            f'<sf:{fault} xsi:type="sf:{fault}"><sf:exceptionCode>{code}</sf:exceptionCode>'
            f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage></sf:{fault}></detail>"
        )
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" xmlns:sf="{FAULT}" '
        f'xmlns:xsi="{XSI}"><soapenv:Body><soapenv:Fault>{inner}</soapenv:Fault></soapenv:Body></soapenv:Envelope>'
    )
    return 500, dict(XML), xml.encode("utf-8")


def merge_result(master: str | None, merged: list[str], error: tuple[str, str] | None = None) -> str:
    """One ``MergeResult`` element (partner WSDL order: errors, id, mergedRecordIds, success, updatedRelatedIds)."""
    if error is not None:
        code, message = error
        return (
            f"<result><errors><message>{escape(message)}</message><statusCode>{code}</statusCode></errors>"
            f'<id xsi:nil="true"/><success>false</success></result>'
        )
    ids = "".join(f"<mergedRecordIds>{escape(i)}</mergedRecordIds>" for i in merged)
    return f"<result><id>{escape(master or '')}</id>{ids}<success>true</success></result>"


def oauth_error(error: str, description: str) -> tuple[int, dict, dict]:
    return 400, {}, {"error": error, "error_description": description}


def to_csv(header: list[str], rows: list[list[str]]) -> bytes:
    """A result CSV as Salesforce writes it: every value quoted, LF line endings, UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def parse_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


class FakeSalesforce(FakeServer):
    """sObject Collections and Bulk API 2.0 upserts and the OAuth token endpoint on 127.0.0.1, with scripted faults."""

    def __init__(
        self,
        token: str = "00Dxx0000001gPL!AR8AQ.test",
        sobject: str = "Lead",
        external_id_field: str = "Intent_Person_Id__c",
        fields: frozenset[str] = LEAD_FIELDS,
        client_id: str = "3MVG9fake.consumer.key",
        client_secret: str = "fake-consumer-secret-1955279925675241571",
        refresh_token: str = "5Aep861fake.refresh.token",
        rotate_refresh_tokens: bool = False,
        in_progress_polls: int = 0,
        max_upload_bytes: int = MAX_UPLOAD_BYTES,
    ):
        super().__init__()
        self.token: str | None = token
        self.sobject = sobject
        self.external_id_field = external_id_field
        self.fields = fields
        self.client_id = client_id
        self.client_secret = client_secret
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.in_progress_polls = in_progress_polls  # polls a new job answers InProgress before it completes
        self.max_upload_bytes = max_upload_bytes
        self.instance_url: str | None = None  # the token endpoint's instance_url; None: this server
        self.session_length: int | None = None  # API calls each issued access token is good for; None: no limit
        self.records: dict[str, dict] = {}  # external id -> fields
        self.ids: dict[str, str] = {}  # external id -> record id
        self.creations = 0
        self.tokens_issued: list[str] = []
        self.jobs: dict[str, dict] = {}  # job id -> job (info + csv + results)
        self._refresh_tokens = {refresh_token}
        self._expire_after: int | None = None
        self._next_id = itertools.count(1)
        self._next_job = itertools.count(1)
        self._scripted: deque[tuple[int, dict, object, float]] = deque()
        self._token_scripted: deque[tuple[int, dict, object]] = deque()
        self._rejections: dict[str, tuple[str, str, str]] = {}  # key -> (statusCode, message, mode)
        self._job_failures: deque[str] = deque()
        self._unprocessed: set[str] = set()
        self._dropped: set[str] = set()
        self._outage: tuple[int, object] | None = None
        self._state = threading.Lock()
        self.deleted: list[str] = []  # external ids deleted, in order
        self.merges: list[tuple[str, str]] = []  # (master id, merged id), in order
        self.merged_away: set[str] = set()  # ids of records deleted by a merge
        self._merge_refusals: dict[str, tuple[str, str]] = {}  # external id -> (statusCode, message)
        self._faults: deque[tuple[int, dict, bytes]] = deque()

    def __enter__(self):
        super().__enter__()
        handler = self._httpd.RequestHandlerClass  # the base server serves GET/POST/PUT; Salesforce upserts with PATCH
        handler.do_PATCH = handler._serve
        return self

    # --- scripting ------------------------------------------------------------------------------

    def enqueue(self, status: int, body: object = None, headers: dict | None = None, times: int = 1,
                delay: float = 0.0) -> None:  # fmt: skip
        """Answer the next ``times`` API requests with ``status`` (after ``delay`` seconds), whatever they hold."""
        if body is None:
            body = errors("SERVER_UNAVAILABLE", f"scripted {status}")
        with self._state:
            self._scripted.extend([(status, headers or {}, body, delay)] * times)

    def enqueue_token(self, status: int, body: object = None, times: int = 1) -> None:
        """Answer the next ``times`` token requests with ``status``."""
        with self._state:
            self._token_scripted.extend([(status, {}, body if body is not None else {"error": "unavailable"})] * times)

    def limit_exceeded(self, which: str = "ConcurrentRequests (Concurrent API Requests)", times: int = 1) -> None:
        """Answer 403 ``REQUEST_LIMIT_EXCEEDED`` (``which="TotalRequests"``: the 24-hour allocation)."""
        self.enqueue(403, errors("REQUEST_LIMIT_EXCEEDED", f"{which} Limit exceeded."), times=times)

    def outage(self, status: int | None = 503) -> None:
        """Answer every request with ``status`` until called with None."""
        with self._state:
            self._outage = None if status is None else (status, errors("SERVER_UNAVAILABLE", "Service Unavailable"))

    def reject(self, key: str, code: str = "REQUIRED_FIELD_MISSING", message: str | None = None,
               mode: str = "record") -> None:  # fmt: skip
        """Refuse this external id: per record in the 200 results (and a bulk job's failed results),
        or (``mode="400"``) the whole collections call."""
        assert mode in ("record", "400")
        message = message or f"{code}: scripted for {key}"
        with self._state:
            self._rejections[key] = (code, message, mode)

    def accept(self, key: str) -> None:
        with self._state:
            self._rejections.pop(key, None)

    def enqueue_fault(self, code: str, message: str, times: int = 1, fault: str = "UnexpectedErrorFault") -> None:
        """Answer the next ``times`` SOAP calls with this fault (after their session was accepted)."""
        with self._state:
            self._faults.extend([soap_fault(code, message, fault)] * times)

    def refuse_merge(self, key: str, code: str = "CANNOT_UPDATE_CONVERTED_LEAD",
                     message: str = "cannot reference converted lead") -> None:  # fmt: skip
        """A merge whose master or merged record has this external id fails with ``code`` in its
        ``MergeResult`` (as a converted Lead does), until :meth:`allow_merge`."""
        with self._state:
            self._merge_refusals[key] = (code, message)

    def allow_merge(self, key: str) -> None:
        with self._state:
            self._merge_refusals.pop(key, None)

    def expire_session(self, after: int = 0) -> None:
        """The current access token expires after ``after`` more API calls (401 ``INVALID_SESSION_ID``
        until a refresh)."""
        with self._state:
            self._expire_after = after

    def revoke_refresh_token(self) -> None:
        """Every refresh token issued so far is invalid (``invalid_grant``)."""
        with self._state:
            self._refresh_tokens.clear()

    def fail_jobs(self, message: str = "UNKNOWN_EXCEPTION: An unexpected error occurred", times: int = 1) -> None:
        """The next ``times`` jobs processed end ``Failed`` with this ``errorMessage`` (nothing applied)."""
        with self._state:
            self._job_failures.extend([message] * times)

    def leave_unprocessed(self, *keys: str) -> None:
        """Rows with these keys stay unprocessed (in ``unprocessedrecords``) in every job, until :meth:`process_all`."""
        with self._state:
            self._unprocessed.update(keys)

    def drop_results(self, *keys: str) -> None:
        """Rows with these keys are applied but appear in no result of their job."""
        with self._state:
            self._dropped.update(keys)

    def process_all(self) -> None:
        """Stop leaving rows unprocessed or out of the results; finish every job still in progress (as
        Salesforce eventually does)."""
        with self._state:
            self._unprocessed.clear()
            self._dropped.clear()
            for job in self.jobs.values():
                if job["state"] in ("UploadComplete", "InProgress"):
                    self._process(job)

    # --- contract -------------------------------------------------------------------------------

    def handle(self, request: dict) -> tuple[int, dict, object]:
        if request["path"] == TOKEN_PATH:
            return self._token(request)
        if SOAP_RE.match(request["path"]):
            return self._soap(request)
        with self._state:
            scripted = self._scripted.popleft() if self._scripted else None
            outage = self._outage
            authorized = self._authorize(request["headers"].get("authorization"))
        if not authorized:
            return 401, {}, errors("INVALID_SESSION_ID", "Session expired or invalid")
        if scripted is not None:
            status, headers, body, delay = scripted
            time.sleep(delay)
            return status, headers, body
        if outage is not None:
            return outage[0], {}, outage[1]
        if match := JOBS_RE.match(request["path"]):
            with self._state:
                return self._bulk(request, match["id"], match["part"], match["version"])
        if request["method"] == "DELETE" and (match := DELETE_RE.match(request["path"])):
            return self._delete(match)
        if request["method"] == "GET" and (match := DELETE_RE.match(request["path"])):
            return self._read(match)
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

    def _delete(self, match: re.Match) -> tuple[int, dict, object]:
        """Delete by external id: 204, or 404 NOT_FOUND."""
        from urllib.parse import unquote

        key = unquote(match["value"])
        with self._state:
            if match["sobject"] != self.sobject or match["field"] != self.external_id_field or key not in self.records:
                return 404, {}, errors("NOT_FOUND", "The requested resource does not exist")
            del self.records[key]
            self.ids.pop(key, None)
            self.deleted.append(key)
        return 204, {}, b""

    def _read(self, match: re.Match) -> tuple[int, dict, object]:
        """Read by external id: the record with ``attributes`` and ``Id``, or 404 NOT_FOUND."""
        from urllib.parse import unquote

        key = unquote(match["value"])
        with self._state:
            if match["sobject"] != self.sobject or match["field"] != self.external_id_field or key not in self.records:
                return 404, {}, errors("NOT_FOUND", "The requested resource does not exist")
            record_id = self.ids[key]
            url = f"/services/data/v{match['version']}/sobjects/{self.sobject}/{record_id}"
            return 200, {}, {"attributes": {"type": self.sobject, "url": url}, "Id": record_id, **self.records[key]}

    # --- SOAP merge() ---------------------------------------------------------------------------

    def _soap(self, request: dict) -> tuple[int, dict, object]:
        if request["method"] != "POST":
            return 405, dict(XML), b""
        if not request["headers"].get("content-type", "").startswith("text/xml"):
            return soap_fault("soapenv:Client", "Content-Type of a SOAP 1.1 request must be text/xml")
        text = request["body"] if isinstance(request["body"], str) else ""
        try:
            envelope = ElementTree.fromstring(text)
        except ElementTree.ParseError as error:
            return soap_fault("soapenv:Client", f"Unable to parse the request: {error}")
        session = envelope.findtext(f"{{{SOAP_ENV}}}Header/{{{PARTNER}}}SessionHeader/{{{PARTNER}}}sessionId")
        body = envelope.find(f"{{{SOAP_ENV}}}Body")
        with self._state:
            authorized = session is not None and self._authorize(f"Bearer {session.strip()}")
            fault = self._faults.popleft() if authorized and self._faults else None
            outage = self._outage
        if not authorized:
            return soap_fault("INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader: Illegal Session")
        if fault is not None:
            return fault
        if outage is not None:
            return soap_fault("SERVER_UNAVAILABLE", "Service Unavailable")
        call = body[0] if body is not None and len(body) else None
        if call is None or call.tag != f"{{{PARTNER}}}merge":
            name = call.tag if call is not None else "an empty Body"
            return soap_fault("soapenv:Client", f"No operation available for request {name}")
        asked = call.findall(f"{{{PARTNER}}}request")
        if len(asked) > MAX_MERGE_REQUESTS:
            return soap_fault("LIMIT_EXCEEDED", f"Cannot merge more than {MAX_MERGE_REQUESTS} requests in one call")
        results = []
        for merge in asked:
            master = merge.find(f"{{{PARTNER}}}masterRecord")
            kind = master.findtext(f"{{{SOBJECT}}}type") if master is not None else None
            if kind not in MERGEABLE or kind != self.sobject:
                return soap_fault("INVALID_TYPE", f"sObject type '{kind}' is not supported.", "InvalidSObjectFault")
            master_id = (master.findtext(f"{{{SOBJECT}}}Id") or "").strip() if master is not None else ""
            merged = [(e.text or "").strip() for e in merge.findall(f"{{{PARTNER}}}recordToMergeIds")]
            with self._state:
                results.append(self._merge(master_id, merged))
        xml = (
            f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" xmlns="{PARTNER}" '
            f'xmlns:xsi="{XSI}"><soapenv:Header><LimitInfoHeader><limitInfo><current>{len(self.requests) + 1}'
            "</current><limit>15000</limit><type>API REQUESTS</type></limitInfo></LimitInfoHeader></soapenv:Header>"
            f"<soapenv:Body><mergeResponse>{''.join(results)}</mergeResponse></soapenv:Body></soapenv:Envelope>"
        )
        return 200, dict(XML), xml.encode("utf-8")

    def _merge(self, master: str, merged: list[str]) -> str:
        """One MergeRequest (the caller holds the lock): its MergeResult element."""
        keys = {record_id: key for key, record_id in self.ids.items()}
        if not merged or len(merged) > 2:
            return merge_result(None, [], ("INVALID_ARGUMENT", "a merge request takes one or two recordToMergeIds"))
        for record_id in (master, *merged):
            if record_id in self.merged_away:
                return merge_result(None, [], ("ENTITY_IS_DELETED", "entity is deleted"))
            if record_id not in keys:
                return merge_result(None, [], ("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"))
            if keys[record_id] in self._merge_refusals:
                return merge_result(None, [], self._merge_refusals[keys[record_id]])
        if master in merged:
            return merge_result(None, [], ("INVALID_ID_FIELD", "the master record cannot be merged into itself"))
        for record_id in merged:
            key = keys[record_id]
            del self.records[key]
            del self.ids[key]
            self.merged_away.add(record_id)
            self.merges.append((master, record_id))
        return merge_result(master, merged)

    def _authorize(self, header: str | None) -> bool:
        """The bearer token is the current one, and has not expired (see :meth:`expire_session`)."""
        if self.token is None or header != f"Bearer {self.token}":
            return False
        if self._expire_after is not None:
            if self._expire_after <= 0:
                self.token, self._expire_after = None, None
                return False
            self._expire_after -= 1
        return True

    def _upsert(self, records: list[dict], keys: list, rejections: dict) -> list[dict]:
        """Results in request order; ``allOrNone`` is false: each record succeeds or fails alone."""
        seen = Counter(keys)
        results = []
        with self._state:
            for record, key in zip(records, keys, strict=True):
                if key and seen[key] > 1:
                    results.append(record_error("DUPLICATE_EXTERNAL_ID", f"Duplicate external id: {key}"))
                else:
                    fields = {k: v for k, v in record.items() if k != "attributes"}
                    results.append(self._apply(key, fields, rejections.get(key)))
        return results

    def _apply(self, key, fields: dict, rejection: tuple | None) -> dict:
        """Upsert one record into ``records`` (the caller holds the lock); its ``UpsertResult``."""
        if not key:
            return record_error("MISSING_ARGUMENT", f"{self.external_id_field} not specified")
        if rejection is not None:
            return record_error(rejection[0], rejection[1])
        if key not in self.records and (missing := [f for f in REQUIRED if not fields.get(f)]):
            return record_error("REQUIRED_FIELD_MISSING", f"Required fields are missing: {missing}", missing)
        created = key not in self.records
        merged = {**self.records.get(key, {}), **fields}
        self.records[key] = {k: v for k, v in merged.items() if v is not None}  # None: nulled
        record_id = self.ids.setdefault(key, f"00Q{next(self._next_id):015d}")
        self.creations += created
        return {"id": record_id, "success": True, "errors": [], "created": created}

    # --- OAuth ----------------------------------------------------------------------------------

    def _token(self, request: dict) -> tuple[int, dict, object]:
        with self._state:
            scripted = self._token_scripted.popleft() if self._token_scripted else None
        if scripted is not None:
            return scripted
        if request["method"] != "POST":
            return 405, {}, {"error": "invalid_request", "error_description": "must use HTTP POST"}
        if not request["headers"].get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return oauth_error("invalid_request", "Content-Type must be application/x-www-form-urlencoded")
        body = request["body"] if isinstance(request["body"], str) else ""
        form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
        if form.get("grant_type") != "refresh_token":
            return oauth_error("unsupported_grant_type", "grant type not supported")
        if form.get("client_id") != self.client_id:
            return oauth_error("invalid_client_id", "client identifier invalid")
        if self.client_secret and form.get("client_secret") != self.client_secret:
            return oauth_error("invalid_client", "invalid client credentials")
        with self._state:
            if form.get("refresh_token") not in self._refresh_tokens:
                return oauth_error("invalid_grant", "expired access/refresh token")
            number = len(self.tokens_issued) + 1
            self.token = f"00Dxx0000001gPL!AR8AQ.refreshed-{number}"
            self._expire_after = self.session_length
            self.tokens_issued.append(self.token)
            identity = f"{self.url}/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS"
            issued_at = str(int(time.time() * 1000))
            digest = hmac.new(self.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256).digest()
            answer = {
                "access_token": self.token,
                "signature": base64.b64encode(digest).decode(),
                "scope": "api refresh_token",
                "instance_url": self.instance_url or self.url,
                "id": identity,
                "token_type": "Bearer",
                "issued_at": issued_at,
            }
            if self.rotate_refresh_tokens:
                rotated = f"5Aep861fake.rotated-{number}"
                self._refresh_tokens = {rotated}
                answer["refresh_token"] = rotated
        return 200, {}, answer

    # --- Bulk API 2.0 ---------------------------------------------------------------------------

    def _info(self, job: dict) -> dict:
        """The job info Salesforce answers (without the fake's bookkeeping)."""
        return {k: v for k, v in job.items() if not k.startswith("_")}

    def _bulk(self, request: dict, job_id: str | None, part: str | None, version: str) -> tuple[int, dict, object]:
        method, body = request["method"], request["body"]
        if job_id is None:
            if method != "POST":
                return 405, {}, errors("METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed.")
            return self._create(body if isinstance(body, dict) else {}, version)
        job = self.jobs.get(job_id)
        if job is None:
            return 404, {}, errors("NOT_FOUND", "The requested resource does not exist")
        if part == "batches":
            if method != "PUT":
                return 405, {}, errors("METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed.")
            return self._upload(job, request)
        if part is not None:
            if method != "GET":
                return 405, {}, errors("METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed.")
            if job["state"] not in ("JobComplete", "Failed", "Aborted"):
                return bad_request("INVALIDJOBSTATE", f"Job {job_id} is not complete: {job['state']}")
            return 200, {}, self._results(job, part)
        if method == "GET":
            if job["state"] in ("UploadComplete", "InProgress"):
                if job["_polls_left"] > 0:
                    job["_polls_left"] -= 1
                    job["state"] = "InProgress"
                else:
                    self._process(job)
            return 200, {}, self._info(job)
        if method == "PATCH":
            state = body.get("state") if isinstance(body, dict) else None
            if state == "UploadComplete" and job["state"] == "Open":
                if job["_csv"] is None:
                    return bad_request("BULK_API_ERROR", f"No data was uploaded for job {job_id}")
                job["state"] = "UploadComplete"
                return 200, {}, self._info(job)
            if state == "Aborted" and job["state"] in ("Open", "UploadComplete", "InProgress"):
                job["state"] = "Aborted"
                job["_unprocessed"] = parse_csv(job["_csv"] or "")[1:]
                return 200, {}, self._info(job)
            message = f"Cannot change the state of job {job_id} from {job['state']} to {state}"
            return bad_request("INVALIDJOBSTATE", message)
        return 405, {}, errors("METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed.")

    def _create(self, spec: dict, version: str) -> tuple[int, dict, object]:
        if spec.get("object") != self.sobject:
            return bad_request("INVALIDJOB", f"InvalidJob : Unable to find object: {spec.get('object')}")
        if spec.get("operation") != "upsert":
            return bad_request("INVALIDJOB", f"InvalidJob : this org fakes upsert only, not {spec.get('operation')}")
        if spec.get("externalIdFieldName") != self.external_id_field:
            return bad_request(
                "INVALIDJOB",
                f"InvalidJob : Field name provided, {spec.get('externalIdFieldName')} does not match an External ID, "
                f"Salesforce Id, or indexed field for {self.sobject}",
            )
        if spec.get("contentType", "CSV") != "CSV" or spec.get("lineEnding", "LF") not in ("LF", "CRLF"):
            return bad_request("INVALIDJOB", "InvalidJob : contentType must be CSV, lineEnding LF or CRLF")
        job_id = f"7505f{next(self._next_job):013d}"
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime())
        self.jobs[job_id] = {
            "id": job_id, "operation": "upsert", "object": self.sobject, "createdById": "005xx000001SwiUAAS",
            "createdDate": now, "systemModstamp": now, "state": "Open",
            "externalIdFieldName": self.external_id_field, "concurrencyMode": "Parallel", "contentType": "CSV",
            "apiVersion": float(version), "contentUrl": f"services/data/v{version}/jobs/ingest/{job_id}/batches",
            "lineEnding": spec.get("lineEnding", "LF"), "columnDelimiter": "COMMA",
            "numberRecordsProcessed": 0, "numberRecordsFailed": 0,
            "_csv": None, "_polls_left": self.in_progress_polls,
            "_successful": [], "_failed": [], "_unprocessed": [], "_header": [],
        }  # fmt: skip
        return 200, {}, self._info(self.jobs[job_id])

    def _upload(self, job: dict, request: dict) -> tuple[int, dict, object]:
        if not request["headers"].get("content-type", "").startswith("text/csv"):
            return bad_request("INVALIDCONTENTTYPE", "Content-Type of the job data must be text/csv")
        if job["state"] != "Open":
            return bad_request("INVALIDJOBSTATE", f"Job {job['id']} is not Open: {job['state']}")
        if job["_csv"] is not None:
            return bad_request(
                "BULK_API_ERROR",
                f"Found multiple contents for job: <{job['id']}>, please 'Close' / 'Abort' / 'Delete' the current "
                "Job then create a new Job and make sure you only do 'PUT' once on a given Job.",
            )
        text = request["body"] if isinstance(request["body"], str) else ""
        if len(text.encode("utf-8")) > self.max_upload_bytes:
            return bad_request("BULK_API_ERROR", f"Job data exceeds the upload limit of {self.max_upload_bytes} bytes")
        job["_csv"] = text
        return 201, {}, b""

    def _process(self, job: dict) -> None:
        """Run the job (the caller holds the lock): apply its rows to ``records`` and file the results."""
        text = job["_csv"] or ""
        rows = parse_csv(text)
        header = rows[0] if rows else []
        job["_header"] = header
        failure = self._job_failures.popleft() if self._job_failures else None
        unknown = [name for name in header if name not in self.fields]
        if job["lineEnding"] == "LF" and text.split("\n", 1)[0].endswith("\r"):
            failure = "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF"
        elif unknown:
            failure = f"InvalidBatch : Field name not found : {unknown[0]}"
        elif self.external_id_field not in header:
            failure = f"InvalidBatch : The External ID field {self.external_id_field} is missing"
        if failure is not None:
            job.update(state="Failed", errorMessage=failure, _unprocessed=rows[1:])
            return
        seen: Counter = Counter()
        for row in rows[1:]:
            values = dict(zip(header, row, strict=False))
            key = values.get(self.external_id_field, "")
            seen[key] += 1
            if key in self._unprocessed:
                job["_unprocessed"].append(row)
                continue
            fields, error = {}, None
            for name, value in values.items():
                if value == "":
                    continue  # an empty cell leaves the field as it is
                if value == NULL:
                    fields[name] = None
                elif name in NUMBER_FIELDS:
                    try:
                        number = float(value)
                    except ValueError:
                        error = f"INVALID_TYPE_ON_FIELD_IN_RECORD:{name}: value not of required type: {value}:{name} --"
                        continue
                    fields[name] = int(number) if number.is_integer() else number
                else:
                    fields[name] = value
            if error is None and seen[key] > 1:
                error = f"DUPLICATE_VALUE:Duplicate external id specified: {key}:{self.external_id_field} --"
            if error is None:
                result = self._apply(key, fields, self._rejections.get(key))
                if not result["success"]:
                    first = result["errors"][0]
                    error = f"{first['statusCode']}:{first['message']}:{','.join(first['fields'])} --"
            if key in self._dropped:
                continue
            if error is None:
                job["_successful"].append([result["id"], "true" if result["created"] else "false", *row])
            else:
                job["_failed"].append(["", error, *row])
        processed = len(job["_successful"]) + len(job["_failed"])
        job.update(state="JobComplete", numberRecordsProcessed=processed, numberRecordsFailed=len(job["_failed"]))

    def _results(self, job: dict, part: str) -> bytes:
        header = job["_header"] or (parse_csv(job["_csv"] or "") or [[]])[0]
        if part == "successfulResults":
            return to_csv(["sf__Id", "sf__Created", *header], job["_successful"])
        if part == "failedResults":
            return to_csv(["sf__Id", "sf__Error", *header], job["_failed"])
        return to_csv(header, job["_unprocessed"])

    # --- inspection -----------------------------------------------------------------------------

    @property
    def keys_sent(self) -> list[str]:
        """External ids of every record of every collections call answered 200 (upserted or not), in
        order, with repeats."""
        return [
            record[self.external_id_field]
            for r in self.requests
            if r["status"] == 200 and r["method"] == "PATCH" and PATH_RE.match(r["path"])
            for record in r["body"]["records"]
        ]

    @property
    def keys_uploaded(self) -> list[str]:
        """External ids of every row of every bulk upload accepted (201), in order, with repeats."""
        keys = []
        for r in self.requests:
            if r["method"] == "PUT" and r["status"] == 201:
                rows = parse_csv(r["body"])
                column = rows[0].index(self.external_id_field)
                keys += [row[column] for row in rows[1:]]
        return keys

    def calls(self) -> Counter:
        """Requests received per endpoint: ``token``, ``collections``, ``create_job``, ``upload``,
        ``close``, ``abort``, ``poll``, ``successfulResults``, ``failedResults``, ``unprocessedrecords``,
        ``read`` and ``delete`` (by external id), ``soap``."""
        return Counter(endpoint(r) for r in self.requests)


def endpoint(request: dict) -> str:
    """Which endpoint a logged request went to (see :meth:`FakeSalesforce.calls`)."""
    if request["path"] == TOKEN_PATH:
        return "token"
    if PATH_RE.match(request["path"]):
        return "collections"
    if SOAP_RE.match(request["path"]):
        return "soap"
    if DELETE_RE.match(request["path"]):
        return {"GET": "read", "DELETE": "delete"}.get(request["method"], "other")
    match = JOBS_RE.match(request["path"])
    if not match:
        return "other"
    if match["id"] is None:
        return "create_job"
    if match["part"] == "batches":
        return "upload"
    if match["part"]:
        return match["part"]
    if request["method"] == "PATCH":
        state = request["body"].get("state") if isinstance(request["body"], dict) else None
        return {"UploadComplete": "close", "Aborted": "abort"}.get(state, "patch_job")
    return "poll"
