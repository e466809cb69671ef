"""Salesforce's settings (one ``SalesforceConfig`` from the ``salesforce_default`` connection), its
limits and codes, and its errors. See docs/salesforce.md."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from intent_pipeline.activation.checks import check_at_least, check_between, check_http_url
from intent_pipeline.activation.config import (
    ActivationConfigError,
    DestinationRefused,
    _base_url,
    _fingerprint,
    credential_and_options,
)

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


class TokenUnavailable(RuntimeError):
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
    # the language of Intent_Reasons__c: "en" (score_reasons) or "zh" (score_reasons_zh)
    reasons_language: str = "en"

    # the settings a connection's extra may give
    EXTRA_KEYS = (
        "sobject", "external_id_field", "api_version", "batch_size", "max_retries", "timeout", "client_id",
        "client_secret", "refresh_token", "login_url", "bulk_threshold", "bulk_max_wait", "reasons_language",
    )  # fmt: skip

    def __post_init__(self) -> None:
        check_http_url(
            "Salesforce instance_url", self.instance_url, " (the connection's host: the org's My Domain URL)"
        )
        if not self.access_token and not self.refresh_token:
            raise ActivationConfigError(
                "Salesforce access token is empty: set the connection's password (an access token), or the "
                "extra's client_id, client_secret and refresh_token (OAuth refresh-token flow)"
            )
        if self.refresh_token and not self.client_id:
            raise ActivationConfigError("Salesforce refresh_token needs the connected app's client_id (extra)")
        check_http_url("Salesforce login_url", self.login_url)
        for option in ("sobject", "external_id_field"):
            if not API_NAME_RE.match(getattr(self, option)):
                raise ActivationConfigError(f"Salesforce {option} must be an API name, got {getattr(self, option)!r}")
        if not API_VERSION_RE.match(self.api_version) or float(self.api_version) < MIN_API_VERSION:
            raise ActivationConfigError(
                f"Salesforce api_version must look like '61.0' and be >= {MIN_API_VERSION}, got {self.api_version!r}"
            )
        check_between("Salesforce batch_size", self.batch_size, 1, MAX_RECORDS)
        check_at_least("max_retries", self.max_retries, 0)
        if self.reasons_language not in ("en", "zh"):
            raise ActivationConfigError(f"Salesforce reasons_language must be en or zh, got {self.reasons_language!r}")
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

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.access_token, self.refresh_token, self.client_secret)

    @classmethod
    def from_airflow_connection(cls, conn: object) -> SalesforceConfig:
        """Build from a connection: host = instance URL, password = access token, extra = the
        ``EXTRA_KEYS`` (and ``access_token`` when the password is empty)."""
        return cls(instance_url=_base_url(conn), **credential_and_options(cls, conn, "access_token"))
