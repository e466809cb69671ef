"""Salesforce: upsert the segment's people as Leads, matched on an external id — with sObject Collections,
or with a Bulk API 2.0 ingest job when a run has many rows to send.

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

Access tokens (OAuth 2.0 refresh-token flow). The connection gives an access token (password), or a
connected app's ``client_id``, ``client_secret`` (optional for some apps) and a ``refresh_token``, or
both. With a refresh token, ``POST {login_url}/services/oauth2/token`` with the form fields
``grant_type=refresh_token, client_id, client_secret, refresh_token`` answers
``{"access_token", "instance_url", "id", "issued_at", "signature", "token_type": "Bearer"}``: a token
is fetched before the first call when none is configured, and a 401 ``INVALID_SESSION_ID`` (the
session expired) gets one refresh and the call is repeated once. The API is called at the returned
``instance_url``, which must be the configured org (the connection's host: the ledger's acknowledgements
belong to it, not to any token, so a refresh never resends the segment). A second 401, or the token
endpoint refusing (400 ``{"error": "invalid_grant", "error_description": "expired access/refresh
token"}``, ``invalid_client``, …) fails the run (configuration); 5xx and timeouts of the token endpoint
are retried, then the batch is deferred. A new ``refresh_token`` in the answer (refresh-token rotation)
is used for the rest of the run and logged: the connection's one is then stale. Secrets (client
secret, refresh and access tokens) are never logged, raised or written to the ledger.

Bulk API 2.0 (when the run has more than ``bulk_threshold`` rows to send; 0 turns it off). Instead of
calls of 200, the rows go in CSV ingest jobs of at most :data:`MAX_JOB_BYTES` (the documented 100 MB
of raw CSV per upload; more rows, more jobs), one ledger batch per job:

* ``POST /services/data/vXX.X/jobs/ingest`` ``{"object", "externalIdFieldName", "contentType": "CSV",
  "operation": "upsert", "lineEnding": "LF"}`` → the job (``id``, ``state: Open``);
* ``PUT /jobs/ingest/{id}/batches`` (``Content-Type: text/csv``, UTF-8): a header row of field API names
  (the external id first), one row per Lead; values with a comma, a quote or a line break are quoted,
  quotes doubled. An empty cell leaves the field as it is (``#N/A`` would null it: never sent, so a
  warehouse value that is literally ``#N/A`` would null the field in Bulk mode); the required fields
  still get :data:`MISSING`. Uploaded once, never retried after a timeout (a job takes one upload);
* ``PATCH /jobs/ingest/{id}`` ``{"state": "UploadComplete"}``, then ``GET /jobs/ingest/{id}`` every
  2 s, growing to 30 s, until ``JobComplete``, ``Failed`` or ``Aborted``; still ``InProgress`` after
  ``bulk_max_wait`` seconds of waiting, the rows are deferred (upserts are idempotent: the next run
  sends them again);
* ``JobComplete``: ``GET …/successfulResults/`` (``sf__Id, sf__Created`` + the fields: acknowledged),
  ``…/failedResults/`` (``sf__Id, sf__Error`` + the fields: rejected with ``sf__Error``, except
  ``UNABLE_TO_LOCK_ROW``: deferred) and ``…/unprocessedrecords/`` (deferred), matched on the external
  id column (results come in no particular order); a row in no result is deferred;
* ``Failed`` with ``errorMessage``: every row of the job is deferred with it, unless the message says
  the job itself is wrong (``InvalidBatch``/``InvalidJob``/``ClientInputError``, e.g. ``Field name not
  found``): configuration; ``Aborted``: deferred. A 4xx creating, filling or closing a job is
  configuration too (the job is aborted first when it exists).

Responses handled as Salesforce documents them (both paths share the retries and the token handling):

* 200 with one ``UpsertResult`` per record, in request order (``id``, ``success``, ``created``,
  ``errors: [{statusCode, message, fields}]``): ``success`` → acknowledged; otherwise rejected with
  ``statusCode: message``, except ``UNABLE_TO_LOCK_ROW`` (row lock contention: deferred to the next run);
* 400 for the whole call: ``INVALID_FIELD``/``INVALID_TYPE``/``NOT_FOUND`` mean the org lacks a mapped
  field or the sObject (fail: configuration); anything else (e.g. ``JSON_PARSER_ERROR``) is bisected
  to isolate the bad record, which is rejected with Salesforce's message;
* 401 ``INVALID_SESSION_ID`` (expired or wrong access token): refreshed once with a refresh token,
  otherwise (or again) fail (configuration); other 403s: fail (configuration);
* 403 ``REQUEST_LIMIT_EXCEEDED``: the concurrent-request limit is retried with backoff; the org's
  24-hour ``TotalRequests`` allocation is not: that batch and every later one of the run are deferred
  without another call (each would fail too, and burn time);
* 5xx (503 when Salesforce is busy or in maintenance) and timeouts: exponential backoff with jitter,
  bounded; then the batch is deferred to the next run.
"""

from __future__ import annotations

import csv
import io
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

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
LOGIN_URL = "https://login.salesforce.com"  # test.salesforce.com for sandboxes, or the org's My Domain
TOKEN_PATH = "/services/oauth2/token"
BULK_THRESHOLD = 10_000  # more rows to send than this in one run: Bulk API 2.0 instead of sObject Collections
MAX_JOB_BYTES = 100_000_000  # Bulk API 2.0: 150 MB base64 per upload, i.e. 100 MB of raw CSV (documented)
BULK_MAX_WAIT = 600.0  # seconds of polling a job before its rows are deferred to the next run
POLL_FIRST, POLL_FACTOR, POLL_CAP = 2.0, 1.5, 30.0  # job polling: 2 s, 3 s, 4.5 s, … at most 30 s apart
REDACTED = "[redacted]"

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
# A Failed bulk job whose errorMessage says the job itself is wrong (e.g. "InvalidBatch : Field name not
# found : Foo__c"): every job would fail the same way, so the run fails instead of deferring forever.
JOB_CONFIG_ERROR_RE = re.compile(r"InvalidBatch|InvalidJob|ClientInputError|Field name not found", re.I)
TERMINAL_STATES = ("JobComplete", "Failed", "Aborted")


class SalesforceAuthError(DestinationRefused):
    """Salesforce refused the access token (401 ``INVALID_SESSION_ID``) or the refresh token
    (``invalid_grant``), the user's rights (403), the URL (404) or the org's schema (400
    ``INVALID_FIELD``, a bulk job's ``Field name not found``): a configuration problem, not a data problem."""


class _TokenUnavailable(RuntimeError):
    """The token endpoint did not answer (5xx, timeouts): the batch waits for the next run."""


@dataclass(frozen=True)
class SalesforceConfig:
    """Where and how to upsert Leads in Salesforce (sObject Collections or Bulk API 2.0 upsert on an external id).

    ``instance_url`` is the org's My Domain URL (``https://acme.my.salesforce.com``); ``access_token``
    an OAuth access token of a user (or a connected app's run-as user) allowed to create and edit the
    sObject. Access tokens expire with the session: with ``client_id`` (+ ``client_secret``) and a
    ``refresh_token`` of a connected app, the destination gets a fresh one from ``login_url`` (and needs
    no ``access_token`` at all). Secrets are left out of ``repr``.
    """

    instance_url: str
    access_token: str = field(default="", repr=False)
    sobject: str = "Lead"
    external_id_field: str = "Intent_Person_Id__c"
    api_version: str = "61.0"
    batch_size: int = MAX_RECORDS
    max_retries: int = 5
    timeout: float = 60
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    refresh_token: str = field(default="", repr=False)
    login_url: str = LOGIN_URL
    bulk_threshold: int = BULK_THRESHOLD
    bulk_max_wait: float = BULK_MAX_WAIT

    def __post_init__(self) -> None:
        if not self.instance_url.startswith(("http://", "https://")):
            raise ActivationConfigError(
                f"Salesforce instance_url must be an http(s) URL (the connection's host: the org's My Domain "
                f"URL), got {self.instance_url!r}"
            )
        if not self.access_token and not self.refresh_token:
            raise ActivationConfigError(
                "Salesforce access token is empty: set the connection's password (an access token), or the "
                "extra's client_id, client_secret and refresh_token (OAuth refresh-token flow)"
            )
        if self.refresh_token and not self.client_id:
            raise ActivationConfigError("Salesforce refresh_token needs the connected app's client_id (extra)")
        if not self.login_url.startswith(("http://", "https://")):
            raise ActivationConfigError(f"Salesforce login_url must be an http(s) URL, got {self.login_url!r}")
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
        if self.bulk_threshold < 0 or self.bulk_max_wait < 0:
            raise ActivationConfigError("Salesforce bulk_threshold and bulk_max_wait must be >= 0 (0: no Bulk API)")

    @property
    def ledger_scope(self) -> str:
        """The org and the sObject acknowledgements belong to: a fingerprint of the configured instance
        URL and sObject, never of a token, so refreshing an expired token does not resend the segment."""
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
        ``max_retries``, ``timeout``, ``access_token`` (when the password is empty), ``client_id``,
        ``client_secret``, ``refresh_token``, ``login_url``, ``bulk_threshold``, ``bulk_max_wait``.
        """
        extra = _extra(conn)
        ints = ("batch_size", "max_retries", "bulk_threshold")
        options: dict = {k: int(extra[k]) for k in ints if extra.get(k) not in (None, "")}
        for key in ("timeout", "bulk_max_wait"):
            if extra.get(key) not in (None, ""):
                options[key] = float(extra[key])
        for key in (
            "sobject",
            "external_id_field",
            "api_version",
            "client_id",
            "client_secret",
            "refresh_token",
            "login_url",
        ):
            if extra.get(key):
                options[key] = str(extra[key]).strip()
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


def csv_cell(value) -> str:
    """One CSV value as Bulk API 2.0 reads it: quoted when it holds a comma, a quote or a line break
    (quotes doubled); None is the empty cell (the field is left as it is)."""
    text = "" if value is None else str(value)
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_line(values) -> str:
    return ",".join(csv_cell(v) for v in values) + "\n"


def read_csv(text: str) -> list[dict[str, str]]:
    """Rows of a Bulk API 2.0 result CSV as dicts by header."""
    return list(csv.DictReader(io.StringIO(text, newline="")))


class SalesforceDestination(KeptInSync, HttpSender):
    """Plans, batches and upserts Leads; with ``config=None`` it only builds the bodies (outbox).

    ``max_job_bytes`` is the largest CSV of one Bulk API 2.0 job (:data:`MAX_JOB_BYTES`).
    """

    name = NAME
    guards_changes = True  # a CRM: a row whose payload the org already acknowledged is not resent
    max_job_bytes = MAX_JOB_BYTES

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
        self.bulk_jobs = 0  # Bulk API 2.0 jobs created
        self.token_refreshes = 0  # access tokens obtained with the refresh token
        self._access_token = config.access_token if config else ""
        self._refresh_token = config.refresh_token if config else ""
        self._instance_url = config.instance_url.rstrip("/") if config else ""
        self._secrets = {s for s in (self._access_token, self._refresh_token, config and config.client_secret) if s}

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

    def bodies(self, items: list[Planned]) -> list[tuple[dict, list[Planned]]]:
        """sObject Collections calls of at most ``batch_size`` records; above ``bulk_threshold`` rows,
        Bulk API 2.0 jobs of at most ``max_job_bytes`` of CSV instead (one body per job)."""
        threshold = self.config.bulk_threshold if self.config is not None else 0
        if threshold and len(items) > threshold:
            return self._job_bodies(items)
        return super().bodies(items)

    def _job_bodies(self, items: list[Planned]) -> list[tuple[dict, list[Planned]]]:
        """``({"job": <create-job request>, "csv": <the upload>}, rows)`` per job, split by CSV size."""
        columns = [self.external_id_field, *dict.fromkeys(name for it in items for name in it.fields)]
        header = csv_line(columns)
        spec = {
            "object": self.sobject,
            "externalIdFieldName": self.external_id_field,
            "contentType": "CSV",
            "operation": "upsert",
            "lineEnding": "LF",
        }
        jobs: list[tuple[dict, list[Planned]]] = []
        rows: list[Planned] = []
        lines: list[str] = []
        size = len(header.encode("utf-8"))
        for item in items:
            line = csv_line([item.key, *(item.fields.get(name) for name in columns[1:])])
            length = len(line.encode("utf-8"))
            if rows and size + length > self.max_job_bytes:
                jobs.append(({"job": spec, "csv": header + "".join(lines)}, rows))
                rows, lines, size = [], [], len(header.encode("utf-8"))
            rows.append(item)
            lines.append(line)
            size += length
        if rows:
            jobs.append(({"job": spec, "csv": header + "".join(lines)}, rows))
        return jobs

    # --- sending --------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"Accept": "application/json"}  # the bearer token goes with each request: it can be refreshed

    def send(self, body: dict, items: list[Planned]) -> list[tuple[str, str, str | None]]:
        """Upsert one batch (or run one bulk job); ``(person_id, status, reason)`` per row, in the batch's order."""
        try:
            outcomes = self._run_job(body, items) if "job" in body else self._upsert(items)
        except _TokenUnavailable as error:
            outcomes = {it.key: (DEFERRED, str(error)) for it in items}
        return [(it.key, outcomes[it.key][0], self._redact(outcomes[it.key][1])) for it in items]

    def _redact(self, text: str | None) -> str | None:
        """``text`` without any secret this run knows (client secret, refresh and access tokens)."""
        if text:
            for secret in self._secrets:
                text = text.replace(secret, REDACTED)
        return text

    def _url(self, path: str) -> str:
        return f"{self._instance_url}/services/data/v{self.config.api_version}/{path}"

    def _request(self, method: str, path: str, *, attempts: int | None = None, retry_timeouts: bool = True, **kwargs):
        """One API call with the bearer token, retried on 5xx, the concurrent-request limit and timeouts;
        a 401 gets one token refresh (with a refresh token) and the call is repeated.

        Returns ``(response, "")`` — the second 401 included — or ``(None, reason)`` when given up.
        """
        import requests

        if not self._access_token:
            self._refresh("no access token configured")
        headers = kwargs.pop("headers", {})
        attempts = attempts or self.config.max_retries + 1
        refreshed = False
        reason = ""
        attempt = 0
        while attempt < attempts:
            self.requests += 1
            wait = backoff_delay(attempt, self.rng)
            try:
                response = self._http().request(
                    method,
                    self._url(path),
                    headers={**headers, "Authorization": f"Bearer {self._access_token}"},
                    timeout=self.config.timeout,
                    **kwargs,
                )
            except (requests.Timeout, requests.ConnectionError) as error:
                reason = f"{type(error).__name__}: {error}"
                if not retry_timeouts:
                    return None, reason
            else:
                status = response.status_code
                code, message = _error(response)
                if status == 401 and self._refresh_token and not refreshed:
                    self._refresh(f"HTTP 401 {code}".strip())
                    refreshed = True
                    continue  # the same call again with the new token: not a retry
                if status == 403 and code == LIMIT_CODE:
                    reason = f"HTTP 403 {code}: {message}"
                    if "TotalRequests" in message:
                        # The org's 24-hour allocation: no retry within this run can succeed.
                        self.exhausted = f"Salesforce API allocation used up, not called: {reason}"
                        return None, reason
                elif status >= 500:
                    reason = f"HTTP {status} {code}: {message}".strip()
                else:
                    return response, ""
                if response.headers.get("Retry-After"):
                    wait = retry_after_seconds(response.headers["Retry-After"])
            attempt += 1
            if attempt < attempts:
                log.info("salesforce: %s; retry %d/%d in %.1f s", self._redact(reason), attempt, attempts - 1, wait)
                self._sleep(wait)
        return None, f"gave up after {attempts} attempts, last: {reason}"

    def _refresh(self, why: str) -> None:
        """A new access token from the refresh token (OAuth 2.0 refresh-token flow); see the module docstring."""
        import requests

        config = self.config
        if not self._refresh_token:  # only an access token was configured and it was refused
            raise SalesforceAuthError(f"Salesforce: no refresh token in the '{CONN_ID}' connection ({why})")
        form = {"grant_type": "refresh_token", "client_id": config.client_id, "refresh_token": self._refresh_token}
        if config.client_secret:
            form["client_secret"] = config.client_secret
        url = config.login_url.rstrip("/") + TOKEN_PATH
        attempts = config.max_retries + 1
        reason = ""
        for attempt in range(attempts):
            self.requests += 1
            try:
                # form-encoded, and without the (expired) bearer token
                response = self._http().post(url, data=form, timeout=config.timeout)
            except (requests.Timeout, requests.ConnectionError) as error:
                reason = f"{type(error).__name__}: {error}"
            else:
                status = response.status_code
                if status == 200:
                    break
                try:
                    answer = response.json()
                except ValueError:
                    answer = {}
                answer = answer if isinstance(answer, dict) else {}
                error = f"{answer.get('error', '')}: {answer.get('error_description', '')}".strip(": ")
                reason = f"HTTP {status} {error or response.text[:200]}"
                if status < 500 and status != 429:
                    raise SalesforceAuthError(
                        self._redact(
                            f"Salesforce refused to refresh the access token of the '{CONN_ID}' connection "
                            f"({reason}) at {url}: authorize the connected app again and put the new refresh "
                            "token (and its client_id / client_secret) in the connection's extra."
                        )
                    )
            if attempt + 1 < attempts:
                wait = backoff_delay(attempt, self.rng)
                log.info(
                    "salesforce: token endpoint %s; retry %d/%d in %.1f s",
                    self._redact(reason),
                    attempt + 1,
                    attempts - 1,
                    wait,
                )
                self._sleep(wait)
        else:
            raise _TokenUnavailable(
                self._redact(f"Salesforce token endpoint {url}: gave up after {attempts} attempts, last: {reason}")
            )
        try:
            answer = response.json()
        except ValueError:
            answer = None
        token = answer.get("access_token") if isinstance(answer, dict) else None
        instance = answer.get("instance_url") if isinstance(answer, dict) else None
        if not token or not isinstance(instance, str) or not instance.startswith(("http://", "https://")):
            raise SalesforceAuthError(
                f"Salesforce token endpoint {url} answered 200 without an access_token and instance_url "
                f"for the '{CONN_ID}' connection"
            )
        self._secrets.add(token)
        if urlsplit(instance).netloc.lower() != urlsplit(config.instance_url).netloc.lower():
            # The token belongs to another org (a sandbox?): sending there would record the configured
            # org's acknowledgements for rows it never received.
            raise SalesforceAuthError(
                f"Salesforce: the refresh token of the '{CONN_ID}' connection is for {instance}, but the "
                f"connection's host is {config.instance_url}: set the host to the org the token belongs to "
                "(or use that org's refresh token)."
            )
        self._access_token = token
        self._instance_url = instance.rstrip("/")
        rotated = answer.get("refresh_token")
        if isinstance(rotated, str) and rotated and rotated != self._refresh_token:
            self._secrets.add(rotated)
            self._refresh_token = rotated
            log.warning(
                "salesforce: the connected app rotates refresh tokens: the refresh token in the '%s' connection "
                "is no longer valid after this run; turn rotation off for this app or store the new token",
                CONN_ID,
            )
        self.token_refreshes += 1
        log.info("salesforce: new access token for %s (%s)", self._instance_url, why)

    def _refuse(self, response, what: str = "") -> None:
        """Raise :class:`SalesforceAuthError` for an answer that no retry can change (401, 403, 404, 405,
        a 400 naming the org's schema); return otherwise."""
        status = response.status_code
        code, message = _error(response)
        if status == 401:
            if self._refresh_token:
                raise SalesforceAuthError(
                    self._redact(
                        f"Salesforce answered 401 ({code}: {message}) again after refreshing the access token of the "
                        f"'{CONN_ID}' connection: the integration user may have lost API access or its sessions were "
                        "revoked — check the user and the connected app's OAuth policies."
                    )
                )
            raise SalesforceAuthError(
                self._redact(
                    f"Salesforce answered 401 ({code}: {message}): the access token of the '{CONN_ID}' connection "
                    "(password) is wrong or its session expired — get a fresh token for the integration user, or "
                    "configure client_id, client_secret and refresh_token in the extra to refresh it."
                )
            )
        if status == 403:
            raise SalesforceAuthError(
                self._redact(
                    f"Salesforce answered 403 ({code}: {message}): the integration user of '{CONN_ID}' needs API "
                    f"access and create/edit rights on {self.sobject} and its fields."
                )
            )
        if status in (404, 405) or (status == 400 and code in CONFIG_CODES):
            raise SalesforceAuthError(
                self._redact(
                    f"Salesforce answered {status} ({code}: {message}) for {what or response.request.url}: check the "
                    f"'{CONN_ID}' connection's host (the org's My Domain URL), api_version, and that {self.sobject} "
                    f"has the fields {self.external_id_field} (External ID) and Intent_Score__c, Intent_Grade__c, "
                    "Intent_Reasons__c."
                )
            )

    # --- sObject Collections ---------------------------------------------------------------------

    def _upsert(self, items: list[Planned]) -> dict[str, tuple[str, str | None]]:
        path = f"composite/sobjects/{self.sobject}/{self.external_id_field}"
        response, reason = self._request("PATCH", path, json=self._body(items))
        if response is None:
            return {it.key: (DEFERRED, reason) for it in items}
        self._refuse(response)
        status = response.status_code
        code, message = _error(response)
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

    # --- Bulk API 2.0 ----------------------------------------------------------------------------

    def _run_job(self, body: dict, items: list[Planned]) -> dict[str, tuple[str, str | None]]:
        """Create, fill, close and wait for one ingest job; its results mapped back to the rows."""

        def every(status: str, reason: str) -> dict[str, tuple[str, str | None]]:
            return {it.key: (status, reason) for it in items}

        response, reason = self._request("POST", "jobs/ingest", json=body["job"])
        if response is None:
            return every(DEFERRED, f"bulk: creating the job: {reason}")
        self._bulk_refuse(response, "creating an ingest job")
        job_id = _json(response).get("id")
        if response.status_code not in (200, 201) or not isinstance(job_id, str) or not job_id:
            return every(DEFERRED, f"bulk: creating the job: unexpected {_status(response)}")
        self.bulk_jobs += 1
        job = f"jobs/ingest/{job_id}"
        data = body["csv"].encode("utf-8")
        log.info("salesforce: bulk job %s: %d %s records, %d bytes of CSV", job_id, len(items), self.sobject, len(data))
        # One upload per job: a timed-out PUT may have arrived, and a second one would be refused.
        response, reason = self._request(
            "PUT", f"{job}/batches", data=data, headers={"Content-Type": "text/csv"}, retry_timeouts=False
        )
        if response is None or response.status_code != 201:
            self._abort(job)
            if response is not None:
                self._bulk_refuse(response, f"uploading the CSV of job {job_id}")
            return every(DEFERRED, f"bulk job {job_id}: upload: {reason or _status(response)}")
        response, reason = self._request("PATCH", job, json={"state": "UploadComplete"})
        if response is None or response.status_code != 200:
            # A retried PATCH whose first attempt arrived is refused: the job state says whether it closed.
            info = self._job_info(job)
            if info is None or info.get("state") in (None, "Open"):
                self._abort(job)
                if response is not None:
                    self._bulk_refuse(response, f"closing job {job_id}")
                return every(DEFERRED, f"bulk job {job_id}: closing: {reason or _status(response)}")
        info, reason = self._wait(job, job_id)
        if info is None:
            return every(DEFERRED, reason)
        state = info.get("state")
        if state == "Failed":
            message = str(info.get("errorMessage") or "no errorMessage")
            if JOB_CONFIG_ERROR_RE.search(message):
                raise SalesforceAuthError(
                    self._redact(
                        f"Salesforce Bulk API 2.0 job {job_id} failed: {message} — check the '{CONN_ID}' connection's "
                        f"sobject and external_id_field, and that {self.sobject} has every mapped field."
                    )
                )
            return every(DEFERRED, f"bulk job {job_id} Failed: {message}")
        if state == "Aborted":
            return every(DEFERRED, f"bulk job {job_id} was aborted in Salesforce")
        return self._job_results(job, job_id, items)

    def _bulk_refuse(self, response, what: str) -> None:
        """Like :meth:`_refuse`, and any other 4xx of a bulk request (the request depends on the
        configuration only) is configuration too."""
        self._refuse(response, what)
        if 400 <= response.status_code < 500:
            code, message = _error(response)
            raise SalesforceAuthError(
                self._redact(
                    f"Salesforce answered {response.status_code} ({code}: {message}) {what}: check the '{CONN_ID}' "
                    f"connection's sobject ({self.sobject}) and external_id_field ({self.external_id_field}, an "
                    "External ID field), and the user's Bulk API rights."
                )
            )

    def _abort(self, job: str) -> None:
        """Best effort: an open job that will never be used is aborted (one attempt, outcome ignored)."""
        self._request("PATCH", job, json={"state": "Aborted"}, attempts=1)

    def _job_info(self, job: str) -> dict | None:
        response, _ = self._request("GET", job)
        if response is None or response.status_code != 200:
            return None
        return _json(response)

    def _wait(self, job: str, job_id: str) -> tuple[dict | None, str]:
        """Poll the job until a final state, at growing intervals, waiting ``bulk_max_wait`` s at most.

        Returns ``(job info, "")``, or ``(None, why the rows are deferred)``."""
        waited, interval = 0.0, POLL_FIRST
        while True:
            response, reason = self._request("GET", job)
            if response is None:
                return None, f"bulk job {job_id}: polling: {reason}"
            self._refuse(response)
            if response.status_code != 200:
                return None, f"bulk job {job_id}: polling: unexpected {_status(response)}"
            info = _json(response)
            state = info.get("state")
            if state in TERMINAL_STATES:
                return info, ""
            if waited >= self.config.bulk_max_wait - 1e-6:  # (float sums of the waits may fall a hair short)
                return None, (
                    f"bulk job {job_id} still {state} after {waited:.0f} s (bulk_max_wait): sent again next run "
                    "(upserts are idempotent)"
                )
            wait = min(interval, self.config.bulk_max_wait - waited)
            self._sleep(wait)
            waited += wait
            interval = min(interval * POLL_FACTOR, POLL_CAP)

    def _job_results(self, job: str, job_id: str, items: list[Planned]) -> dict[str, tuple[str, str | None]]:
        """Successful → acknowledged, failed → rejected (row lock: deferred), unprocessed or in no
        result → deferred; matched on the external id column."""
        keys = {it.key for it in items}
        outcomes: dict[str, tuple[str, str | None]] = {}
        missing = f"bulk job {job_id}: in no result (successful, failed or unprocessed): sent again next run"
        for kind in ("successfulResults/", "failedResults/", "unprocessedrecords/"):
            response, reason = self._request("GET", f"{job}/{kind}", headers={"Accept": "text/csv"})
            if response is not None:
                self._refuse(response)
            if response is None or response.status_code != 200:
                missing = f"bulk job {job_id}: {kind} unavailable ({reason or _status(response)}): sent again next run"
                continue
            rows = read_csv(response.content.decode("utf-8-sig"))
            for row in rows:
                key = row.get(self.external_id_field)
                if key not in keys or key in outcomes:
                    continue
                if kind == "successfulResults/":
                    outcomes[key] = (ACKNOWLEDGED, None)
                    if (row.get("sf__Created") or "").strip().lower() == "true":
                        self.created += 1
                    else:
                        self.updated += 1
                elif kind == "failedResults/":
                    error = (row.get("sf__Error") or "").strip() or "failed without sf__Error"
                    transient = error.split(":", 1)[0].strip() in TRANSIENT_RECORD_CODES
                    outcomes[key] = (DEFERRED if transient else REJECTED, error)
                else:
                    outcomes[key] = (DEFERRED, f"bulk job {job_id}: unprocessed: sent again next run")
        return {it.key: outcomes.get(it.key) or (DEFERRED, missing) for it in items}

    def close(self) -> None:
        if self.created or self.updated:
            log.info(
                "salesforce: %d %s records created, %d updated%s",
                self.created,
                self.sobject,
                self.updated,
                f" ({self.bulk_jobs} Bulk API 2.0 jobs)" if self.bulk_jobs else "",
            )
        super().close()


def _describe(error: dict) -> str:
    """``statusCode: message [fields]`` of one per-record error."""
    text = f"{error.get('statusCode', 'ERROR')}: {error.get('message', '')}".strip()
    fields = error.get("fields") or []
    return f"{text} (fields: {', '.join(map(str, fields))})" if fields else text


def _json(response) -> dict:
    """The JSON object of a response, or ``{}``."""
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _status(response) -> str:
    """``HTTP <status> <errorCode>: <message>`` of a response, for a reason."""
    if response is None:
        return "no answer"
    code, message = _error(response)
    return f"HTTP {response.status_code} {code}: {message}".strip().rstrip(":")


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
