"""Salesforce: upsert the segment's people as Leads with sObject Collections, matched on an external id.

``PATCH {instance_url}/services/data/v{api_version}/composite/sobjects/{sobject}/{external_id_field}``
with ``Authorization: Bearer <access token>`` and
``{"allOrNone": false, "records": [{"attributes": {"type": "Lead"}, "Intent_Person_Id__c": "p00001", ...}]}``,
at most 200 records per call (REST API Developer Guide, "Upsert Records Using sObject Collections",
API version 46.0 and later). ``allOrNone: false`` lets the good records of a batch through when one fails.

Field mapping (segment column → Lead field; empty warehouse values are left out, so an upsert never
erases what a salesperson typed, except for the two required fields below):

=====================  ==========================================================
``person_id``          ``Intent_Person_Id__c`` (the external id: the upsert key)
``full_name``          ``FirstName`` + ``LastName`` (see :func:`hubspot.split_name`);
                       a one-word name is the ``LastName``
``company``            ``Company``
``email``              ``Email`` (lower-cased)
``phone``              ``Phone``
``job_title``          ``Title``
``industry``           ``Industry`` (a picklist: the org must accept the warehouse's values)
``lead_score``         ``Intent_Score__c`` (custom, Number)
``grade``              ``Intent_Grade__c`` (custom, Text)
``score_reasons``      ``Intent_Reasons__c`` (custom, Text Area (Long) recommended)
=====================  ==========================================================

``LastName`` and ``Company`` are required to *create* a Lead, and an upsert cannot know whether it
creates or updates. When the warehouse has no name or no company, the placeholder ``[not provided]``
(:data:`MISSING`) is sent instead — which also overwrites a value typed into Salesforce for a lead
whose warehouse value is empty. Standard text fields are cut to their Salesforce lengths
(:data:`FIELD_LENGTHS`) rather than rejected with ``STRING_TOO_LONG``. The custom fields and
``Intent_Person_Id__c`` (Text, External ID, Unique) must exist on the sObject. ``owner``,
``crm_lead_id`` and ``scored_at`` are not sent (``scored_at`` changes every run).

Responses handled as Salesforce documents them:

* 200 with one ``UpsertResult`` per record, in request order (``id``, ``success``, ``created``,
  ``errors: [{statusCode, message, fields}]``): ``success`` → acknowledged; otherwise rejected with
  ``statusCode: message``, except ``UNABLE_TO_LOCK_ROW`` (row lock contention: deferred to the next run);
* 400 for the whole call: ``INVALID_FIELD``/``INVALID_TYPE``/``NOT_FOUND`` mean the org lacks a mapped
  field or the sObject (fail: configuration); anything else (e.g. ``JSON_PARSER_ERROR``) is bisected
  to isolate the bad record, which is rejected with Salesforce's message;
* 401 ``INVALID_SESSION_ID`` (expired or wrong access token) and other 403s: fail (configuration);
* 403 ``REQUEST_LIMIT_EXCEEDED``: the concurrent-request limit is retried with backoff; the org's
  24-hour ``TotalRequests`` allocation is not: that batch and every later one of the run are deferred
  without another call (each would fail too, and burn time);
* 5xx (503 when Salesforce is busy or in maintenance) and timeouts: exponential backoff with jitter,
  bounded; then the batch is deferred to the next run.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from intent_pipeline.activation.config import (
    ActivationConfigError,
    DestinationRefused,
    _base_url,
    _extra,
    _fingerprint,
)
from intent_pipeline.activation.http import HttpSender
from intent_pipeline.activation.hubspot import split_name
from intent_pipeline.activation.ledger import ACKNOWLEDGED, DEFERRED, REJECTED
from intent_pipeline.activation.retry import backoff_delay, retry_after_seconds
from intent_pipeline.activation.segments import KeptInSync, Planned, person_key, validate_person

log = logging.getLogger(__name__)

NAME = "salesforce"
CONN_ID = "salesforce_default"
MAX_RECORDS = 200  # sObject Collections: at most 200 records per call
MIN_API_VERSION = 46.0  # upsert with sObject Collections exists from API version 46.0
MISSING = "[not provided]"  # sent for LastName / Company, which Salesforce requires to create a Lead

# Standard Lead field lengths (Object Reference): longer values are cut rather than rejected.
FIELD_LENGTHS = {"FirstName": 40, "LastName": 80, "Company": 255, "Title": 128}

# A whole-call 400 with one of these codes is the org's configuration (a mapped field or the sObject
# does not exist), not one bad record: bisecting would only reject every record one by one.
CONFIG_CODES = frozenset({"INVALID_FIELD", "INVALID_TYPE", "NOT_FOUND", "INVALID_FIELD_FOR_INSERT_UPDATE"})
# Per-record codes worth another attempt next run rather than a rejection.
TRANSIENT_RECORD_CODES = frozenset({"UNABLE_TO_LOCK_ROW"})
LIMIT_CODE = "REQUEST_LIMIT_EXCEEDED"
API_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
API_VERSION_RE = re.compile(r"^\d{2,3}\.0$")


class SalesforceAuthError(DestinationRefused):
    """Salesforce refused the access token (401 ``INVALID_SESSION_ID``), the user's rights (403),
    the URL (404) or the org's schema (400 ``INVALID_FIELD``): a configuration problem, not a data problem."""


@dataclass(frozen=True)
class SalesforceConfig:
    """Where and how to upsert Leads in Salesforce (sObject Collections upsert on an external id).

    ``instance_url`` is the org's My Domain URL (``https://acme.my.salesforce.com``); ``access_token``
    an OAuth access token of a user (or a connected app's run-as user) allowed to create and edit the
    sObject. Access tokens expire with the session: a 401 ``INVALID_SESSION_ID`` asks for a fresh one.
    """

    instance_url: str
    access_token: str
    sobject: str = "Lead"
    external_id_field: str = "Intent_Person_Id__c"
    api_version: str = "61.0"
    batch_size: int = MAX_RECORDS
    max_retries: int = 5
    timeout: float = 60

    def __post_init__(self) -> None:
        if not self.instance_url.startswith(("http://", "https://")):
            raise ActivationConfigError(f"Salesforce instance_url must be an http(s) URL, got {self.instance_url!r}")
        if not self.access_token:
            raise ActivationConfigError("Salesforce access token is empty: set the connection's password")
        for option in ("sobject", "external_id_field"):
            if not API_NAME_RE.match(getattr(self, option)):
                raise ActivationConfigError(f"Salesforce {option} must be an API name, got {getattr(self, option)!r}")
        if not API_VERSION_RE.match(self.api_version) or float(self.api_version) < MIN_API_VERSION:
            raise ActivationConfigError(
                f"Salesforce api_version must look like '61.0' and be >= {MIN_API_VERSION}, got {self.api_version!r}"
            )
        if not 1 <= self.batch_size <= MAX_RECORDS:
            raise ActivationConfigError(f"Salesforce batch_size must be 1..{MAX_RECORDS}, got {self.batch_size}")
        if self.max_retries < 0:
            raise ActivationConfigError(f"max_retries must be >= 0, got {self.max_retries}")

    @property
    def ledger_scope(self) -> str:
        """The org and the sObject acknowledgements belong to: a fingerprint of instance URL and
        sObject, never of the token, so refreshing an expired token does not resend the segment."""
        return _fingerprint(self.instance_url.rstrip("/").lower(), self.sobject)

    @property
    def upsert_url(self) -> str:
        return (
            f"{self.instance_url.rstrip('/')}/services/data/v{self.api_version}"
            f"/composite/sobjects/{self.sobject}/{self.external_id_field}"
        )

    @classmethod
    def from_airflow_connection(cls, conn) -> SalesforceConfig:
        """Build from a connection: host = instance URL, password = access token, extra = the rest.

        Extra keys understood: ``sobject``, ``external_id_field``, ``api_version``, ``batch_size``,
        ``max_retries``, ``timeout`` (and ``access_token`` when the password is empty).
        """
        extra = _extra(conn)
        options: dict = {k: int(extra[k]) for k in ("batch_size", "max_retries") if extra.get(k) not in (None, "")}
        if extra.get("timeout") not in (None, ""):
            options["timeout"] = float(extra["timeout"])
        for key in ("sobject", "external_id_field", "api_version"):
            if extra.get(key):
                options[key] = str(extra[key])
        return cls(
            instance_url=_base_url(conn),
            access_token=getattr(conn, "password", None) or extra.get("access_token") or "",
            **options,
        )


def _cut(field: str, value: str) -> str:
    limit = FIELD_LENGTHS.get(field)
    return value[:limit] if limit else value


def lead_fields(row: dict) -> dict:
    """The Lead fields of one segment row (see the module docstring), without the external id."""
    first, last = split_name(row.get("full_name"))
    if last is None:  # one word: Salesforce's required field is LastName
        first, last = None, first
    fields = {
        "FirstName": first,
        "LastName": last,
        "Company": row.get("company"),
        "Email": (row.get("email") or "").strip().lower() or None,
        "Phone": row.get("phone"),
        "Title": row.get("job_title"),
        "Industry": row.get("industry"),
        "Intent_Grade__c": row.get("grade"),
        "Intent_Reasons__c": row.get("score_reasons"),
    }
    out = {k: _cut(k, str(v).strip()) for k, v in fields.items() if v is not None and str(v).strip() != ""}
    out.setdefault("LastName", MISSING)
    out.setdefault("Company", MISSING)
    if row.get("lead_score") is not None:
        out["Intent_Score__c"] = int(row["lead_score"])  # a Number field: sent as a JSON number
    return out


class SalesforceDestination(KeptInSync, HttpSender):
    """Plans, batches and upserts Leads; with ``config=None`` it only builds the bodies (outbox)."""

    name = NAME
    guards_changes = True  # a CRM: a row whose payload the org already acknowledged is not resent

    def __init__(
        self,
        config: SalesforceConfig | None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        sobject: str = "Lead",
        external_id_field: str = "Intent_Person_Id__c",
        batch_size: int = MAX_RECORDS,
        clock: Callable[[], float] = time.monotonic,  # accepted like every destination's; no client-side limit
    ):
        self.config = config
        self.sobject = config.sobject if config else sobject
        self.external_id_field = config.external_id_field if config else external_id_field
        self.batch_size = config.batch_size if config else batch_size
        self._start_http(sleep)
        self.rng = rng or random.Random()
        self.created = 0
        self.updated = 0
        self._quota_exhausted: str | None = None

    # --- planning -------------------------------------------------------------------------------

    def key_of(self, row: dict) -> str | None:
        return person_key(row)

    def validate(self, row: dict) -> str | None:
        # an invalid email would make Salesforce reject the whole record (INVALID_EMAIL_ADDRESS)
        return validate_person(row, f"the upsert key, {self.external_id_field}")

    def map_fields(self, row: dict) -> dict:
        return lead_fields(row)

    def _body(self, items: list[Planned]) -> dict:
        records = [{"attributes": {"type": self.sobject}, self.external_id_field: it.key, **it.fields} for it in items]
        return {"allOrNone": False, "records": records}

    # --- sending --------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.config.access_token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

    def send(self, body: dict, items: list[Planned]) -> list[tuple[str, str, str | None]]:
        """Upsert one batch; ``(person_id, status, reason)`` per row, in the batch's order."""
        if self._quota_exhausted is not None:
            return [(it.key, DEFERRED, self._quota_exhausted) for it in items]
        outcomes = self._upsert(items)
        return [(it.key, *outcomes[it.key]) for it in items]

    def _patch(self, items: list[Planned]):
        """PATCH with retries on 5xx, the concurrent-request limit and timeouts.

        Returns ``(response, "")``, or ``(None, reason)`` when given up.
        """
        import requests

        body = self._body(items)
        attempts = self.config.max_retries + 1
        reason = ""
        for attempt in range(attempts):
            self.requests += 1
            wait = backoff_delay(attempt, self.rng)
            try:
                response = self._http().patch(self.config.upsert_url, json=body, timeout=self.config.timeout)
            except (requests.Timeout, requests.ConnectionError) as error:
                reason = f"{type(error).__name__}: {error}"
            else:
                status = response.status_code
                code, message = _error(response)
                if status == 403 and code == LIMIT_CODE:
                    reason = f"HTTP 403 {code}: {message}"
                    if "TotalRequests" in message:
                        # The org's 24-hour allocation: no retry within this run can succeed.
                        self._quota_exhausted = f"Salesforce API allocation used up, not called: {reason}"
                        return None, reason
                elif status >= 500:
                    reason = f"HTTP {status} {code}: {message}".strip()
                else:
                    return response, ""
                if response.headers.get("Retry-After"):
                    wait = retry_after_seconds(response.headers["Retry-After"])
            if attempt + 1 < attempts:
                log.info("salesforce: %s; retry %d/%d in %.1f s", reason, attempt + 1, attempts - 1, wait)
                self._sleep(wait)
        return None, f"gave up after {attempts} attempts, last: {reason}"

    def _upsert(self, items: list[Planned]) -> dict[str, tuple[str, str | None]]:
        response, reason = self._patch(items)
        if response is None:
            return {it.key: (DEFERRED, reason) for it in items}
        status = response.status_code
        code, message = _error(response)
        if status == 401:
            raise SalesforceAuthError(
                f"Salesforce answered 401 ({code}: {message}): the access token of the '{CONN_ID}' connection "
                "(password) is wrong or its session expired — get a fresh token for the integration user."
            )
        if status == 403:
            raise SalesforceAuthError(
                f"Salesforce answered 403 ({code}: {message}): the integration user of '{CONN_ID}' needs API access "
                f"and create/edit rights on {self.sobject} and its fields."
            )
        if status in (404, 405) or (status == 400 and code in CONFIG_CODES):
            raise SalesforceAuthError(
                f"Salesforce answered {status} ({code}: {message}) for {response.request.url}: check the '{CONN_ID}' "
                f"connection's host (the org's My Domain URL), api_version, and that {self.sobject} has the fields "
                f"{self.external_id_field} (External ID) and Intent_Score__c, Intent_Grade__c, Intent_Reasons__c."
            )
        if status == 200:
            return self._results(response, items)
        if status in (400, 413):
            if len(items) == 1:
                return {items[0].key: (REJECTED, f"HTTP {status} {code}: {message}")}
            # Bisect: one bad record fails the whole call; halves isolate it in log2(n) rounds.
            middle = len(items) // 2
            return {**self._upsert(items[:middle]), **self._upsert(items[middle:])}
        return {it.key: (DEFERRED, f"unexpected HTTP {status} {code}: {message}") for it in items}

    def _results(self, response, items: list[Planned]) -> dict[str, tuple[str, str | None]]:
        """One ``UpsertResult`` per record, in request order (documented), mapped to outcomes."""
        try:
            results = response.json()
        except ValueError:
            results = None
        if not isinstance(results, list) or len(results) != len(items):
            # Results we cannot match to records: resend the batch next run (an upsert is idempotent).
            reason = f"HTTP 200 with {type(results).__name__} results for {len(items)} records: {response.text[:300]}"
            return {it.key: (DEFERRED, reason) for it in items}
        outcomes = {}
        for item, result in zip(items, results, strict=True):
            result = result if isinstance(result, dict) else {}
            if result.get("success") is True:
                outcomes[item.key] = (ACKNOWLEDGED, None)
                if result.get("created"):
                    self.created += 1
                else:
                    self.updated += 1
                continue
            errors = [e for e in result.get("errors") or [] if isinstance(e, dict)]
            text = "; ".join(_describe(e) for e in errors) or f"success is not true: {str(result)[:300]}"
            transient = errors and all(e.get("statusCode") in TRANSIENT_RECORD_CODES for e in errors)
            outcomes[item.key] = (DEFERRED if transient else REJECTED, text)
        return outcomes

    def close(self) -> None:
        if self.created or self.updated:
            log.info("salesforce: %d %s records created, %d updated", self.created, self.sobject, self.updated)
        super().close()


def _describe(error: dict) -> str:
    """``statusCode: message [fields]`` of one per-record error."""
    text = f"{error.get('statusCode', 'ERROR')}: {error.get('message', '')}".strip()
    fields = error.get("fields") or []
    return f"{text} (fields: {', '.join(map(str, fields))})" if fields else text


def _error(response) -> tuple[str, str]:
    """``(errorCode, message)`` of a Salesforce error response (a JSON array of errors), or ``("", body)``."""
    if response.status_code < 300:
        return "", ""
    try:
        data = response.json()
    except ValueError:
        return "", response.text[:300]
    first = data[0] if isinstance(data, list) and data else data
    if isinstance(first, dict) and (first.get("errorCode") or first.get("message")):
        return str(first.get("errorCode") or ""), str(first.get("message") or "")
    return "", str(data)[:300]
