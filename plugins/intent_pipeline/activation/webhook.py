"""A generic CRM webhook: POST the segment in signed JSON batches to an in-house CRM.

The contract, for the team that builds the receiving end
=========================================================

**Request.** ``POST <url>`` with ``Content-Type: application/json; charset=utf-8`` and the body::

    {"batch_id": "3f1c…", "sent_at": "2026-11-22T01:00:00+00:00",
     "records": [{"key": "p00001", "person_id": "p00001", "email": "lead@example.com",
                  "full_name": "张伟", "company": "…", "job_title": "…", "phone": "+86…",
                  "industry": "…", "owner": "…", "crm_lead_id": "…", "grade": "high_intent",
                  "score_reasons": "trial_request +30; …", "lead_score": 87}, …]}

at most ``batch_size`` (default 100) records. ``key`` is the record's identity (the warehouse's
``person_id``): upsert on it. Columns without a value are left out (never sent as null), so an
upsert must not erase what is absent. ``lead_score`` is a JSON number, the rest strings.

**Headers.**

* ``X-Intent-Timestamp``: the time of sending, in Unix seconds;
* ``X-Intent-Signature``: ``sha256=`` + the hex HMAC-SHA256, keyed with the shared secret, of
  ``<timestamp> + "." + <raw request body>`` (the scheme Stripe uses for its webhooks);
* ``Idempotency-Key``: the ``batch_id``, a hash of the batch's records and ``sent_at``. A retry of the
  same request (after a timeout or a 5xx) carries the same key and the same body; answer it with the
  first answer instead of applying the batch twice. A later run builds new batches with new keys.

To verify, read the **raw** body before parsing it, and reject (401) when the timestamp is more than
5 minutes from your clock (replays) or the signature differs (compare in constant time)::

    expected = "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + raw_body,
                                    hashlib.sha256).hexdigest()
    ok = abs(time.time() - int(timestamp)) <= 300 and hmac.compare_digest(expected, signature)

(:func:`verify_signature` is that check.)

**Responses.**

* ``200``/``201``/``202``: the batch is accepted. An optional ``{"results": [{"key": "p00001", "ok":
  false, "error": "…"}]}`` reports per-record outcomes; a record it does not list is accepted.
  ``"retry": true`` next to ``"ok": false`` means "try this record again later" (deferred, not rejected);
* ``207``: the same with partial failures; a 207 without ``results`` cannot say which records failed,
  so the whole batch is sent again next run;
* ``429``: too fast — wait ``Retry-After`` seconds (capped at 60) and retry;
* ``408``/``409`` (the same ``Idempotency-Key`` still in progress)/``5xx``/timeouts: retried with
  exponential backoff, bounded; then the batch is deferred to the next run;
* ``401``/``403``: bad signature or stale timestamp, ``404``/``405``/``410``: wrong URL — the run fails
  (configuration: secret, clock or URL);
* any other ``4xx`` (``400``, ``413``, ``422``…): the batch is split in halves until the bad record
  is isolated, which is rejected with the body's ``error`` (or ``message``, or text).

Besides, at most ``max_per_second`` requests a second (default 5).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from intent_pipeline.activation.checks import check_at_least, check_between, check_http_url
from intent_pipeline.activation.config import (
    ActivationConfigError,
    DestinationRefused,
    _base_url,
    _fingerprint,
    credential_and_options,
)
from intent_pipeline.activation.http import GaveUp, HttpSender, Outcome, Retry, body_message, rejected_or_bisected
from intent_pipeline.activation.ledger import ACKNOWLEDGED, DEFERRED, REJECTED, deferred
from intent_pipeline.activation.retry import TokenBucket, retry_after_seconds
from intent_pipeline.activation.segments import KeptInSync, Planned, person_key, validate_person

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

NAME = "crm_webhook"
CONN_ID = "crm_webhook_default"
SIGNATURE_HEADER = "X-Intent-Signature"
TIMESTAMP_HEADER = "X-Intent-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
TOLERANCE_SECONDS = 300
MAX_BATCH = 1000
RETRY_STATUSES = frozenset({408, 409, 429})
REFUSED_STATUSES = frozenset({401, 403, 404, 405, 410})
ACCEPTED_STATUSES = frozenset({200, 201, 202, 207})

# Segment columns sent, under their warehouse names (scored_at changes every run: not sent).
RECORD_COLUMNS = ("person_id", "email", "full_name", "company", "job_title", "phone", "industry", "owner",
                  "crm_lead_id", "grade", "score_reasons")  # fmt: skip


class WebhookAuthError(DestinationRefused):
    """The receiver refused the signature (401/403) or the URL (404/405/410): a configuration problem."""


@dataclass(frozen=True)
class WebhookConfig:
    """An in-house CRM's webhook: its URL and the shared signing secret.

    ``max_per_second`` spaces the requests; ``batch_size`` is the number of records per request.
    """

    url: str
    secret: str = field(repr=False)
    batch_size: int = 100
    max_per_second: float = 5.0
    max_retries: int = 5
    timeout: float = 30

    # the settings a connection's extra may give (besides ``secret`` when the password is empty)
    EXTRA_KEYS = ("batch_size", "max_per_second", "max_retries", "timeout")

    def __post_init__(self) -> None:
        check_http_url("webhook url", self.url)
        if not self.secret:
            raise ActivationConfigError("webhook secret is empty: set the connection's password")
        check_between("webhook batch_size", self.batch_size, 1, MAX_BATCH)
        if self.max_per_second <= 0:
            raise ActivationConfigError(f"max_per_second must be > 0, got {self.max_per_second}")
        check_at_least("max_retries", self.max_retries, 0)

    @property
    def ledger_scope(self) -> str:
        """The receiving CRM: a fingerprint of its URL (not of the secret, so rotating it resends nothing)."""
        return _fingerprint(self.url)

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.secret,)

    @classmethod
    def from_airflow_connection(cls, conn: object) -> WebhookConfig:
        """Build from a connection: host = the full webhook URL, password = the signing secret, extra =
        the ``EXTRA_KEYS`` (and ``secret`` when the password is empty)."""
        return cls(url=_base_url(conn), **credential_and_options(cls, conn, "secret"))


def sign(secret: str, timestamp: int, raw_body: bytes) -> str:
    """The ``X-Intent-Signature`` value: ``sha256=`` + hex HMAC-SHA256(secret, ``<timestamp>.<raw body>``)."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + raw_body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(
    secret: str,
    raw_body: bytes,
    signature: str | None,
    timestamp: str | None,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """The receiver's check: a fresh timestamp (± ``tolerance`` s) and a matching signature."""
    try:
        sent = int(timestamp or "")
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, sent, raw_body), signature or "")


def raw_json(body: dict) -> bytes:
    """The exact bytes sent (and signed): compact UTF-8 JSON."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


def webhook_record(row: dict) -> dict:
    """The record of one segment row, without ``key`` (see the module docstring)."""
    texts = {c: str(row[c]).strip() for c in RECORD_COLUMNS if row.get(c) is not None and str(row[c]).strip()}
    if "email" in texts:
        texts["email"] = texts["email"].lower()
    record: dict[str, str | int] = dict(texts)
    if row.get("lead_score") is not None:
        record["lead_score"] = int(row["lead_score"])
    return record


class WebhookDestination(KeptInSync, HttpSender[WebhookConfig]):
    """Plans, batches, signs and posts records; with ``config=None`` it only builds the bodies (outbox)."""

    name = NAME
    guards_changes = True  # a CRM: a row whose payload the receiver already acknowledged is not resent

    def __init__(
        self,
        config: WebhookConfig | None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        batch_size: int = 100,
    ):
        self.config = config
        self.batch_size = config.batch_size if config else batch_size
        self._start_http(sleep, rng, config.secrets if config else ())
        self.now = now  # wall clock: signature timestamps and sent_at, never the plan
        rate = config.max_per_second if config else 5.0
        self.bucket = TokenBucket(rate, 1.0, capacity=max(1.0, rate), clock=clock, sleep=self._sleep)

    # --- planning -------------------------------------------------------------------------------

    def key_of(self, row: dict) -> str | None:
        return person_key(row)

    def validate(self, row: dict) -> str | None:
        return validate_person(row, "the record key")

    def map_fields(self, row: dict) -> dict:
        return webhook_record(row)

    def _body(self, items: list[Planned]) -> dict:
        records = [{"key": it.key, **it.fields} for it in items]
        sent_at = datetime.fromtimestamp(self.now(), UTC).isoformat(timespec="seconds")
        batch_id = hashlib.sha256(raw_json({"sent_at": sent_at, "records": records})).hexdigest()[:32]
        return {"batch_id": batch_id, "sent_at": sent_at, "records": records}

    # --- sending --------------------------------------------------------------------------------

    def send(self, body: dict, items: list[Planned]) -> list[Outcome]:
        """Post one batch; ``(person_id, status, reason)`` per row, in the batch's order."""
        return self._outcomes(items, self._deliver(body, items))

    def _post(self, body: dict) -> requests.Response | GaveUp:
        """POST with retries on 408/409/429, 5xx and timeouts (:meth:`_classify`), signed afresh on each
        attempt; the final response, or why not."""
        config = self.sending
        raw = raw_json(body)

        def attempt() -> requests.Response | Retry:
            timestamp = int(self.now())
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                TIMESTAMP_HEADER: str(timestamp),
                SIGNATURE_HEADER: sign(config.secret, timestamp, raw),
                IDEMPOTENCY_HEADER: body["batch_id"],
            }
            response = self._http().post(config.url, data=raw, headers=headers, timeout=config.timeout)
            return _classify(response)

        return self._with_retries(attempt, attempts=config.max_retries + 1, limits=(self.bucket,))

    def _deliver(self, body: dict, items: list[Planned]) -> dict[str, tuple[str, str | None]]:
        response = self._post(body)
        if isinstance(response, GaveUp):
            return deferred(items, response.reason)
        status = response.status_code
        if status in REFUSED_STATUSES:
            what = (
                "the signature or its timestamp — check the connection's password (the shared secret) and this "
                "machine's clock (±5 min)"
                if status in (401, 403)
                else "the URL — check the connection's host (the full webhook URL)"
            )
            raise WebhookAuthError(f"CRM webhook answered {status} ({_message(response)}): it refused {what} "
                                   f"of the '{CONN_ID}' connection.")  # fmt: skip
        if status in ACCEPTED_STATUSES:
            return self._results(response, items)
        if 400 <= status < 500:
            return rejected_or_bisected(
                items, f"HTTP {status} {_message(response)}", lambda half: self._deliver(self._body(half), half)
            )
        return deferred(items, f"unexpected HTTP {status} {_message(response)}")

    def _results(self, response: requests.Response, items: list[Planned]) -> dict[str, tuple[str, str | None]]:
        status = response.status_code
        try:
            data = response.json() if response.content else {}
        except ValueError:
            data = {}
        results = data.get("results") if isinstance(data, dict) else None
        if results is None and status != 207:
            return {it.key: (ACKNOWLEDGED, None) for it in items}
        if not isinstance(results, list):
            # Failures we cannot attribute: resend the whole batch next run (the receiver upserts on key).
            reason = f"HTTP {status} without a results list: {response.text[:300]}"
            return deferred(items, reason)
        outcomes: dict[str, tuple[str, str | None]] = {it.key: (ACKNOWLEDGED, None) for it in items}
        for result in results:
            key = result.get("key") if isinstance(result, dict) else None
            if key not in outcomes:
                log.warning("crm_webhook: a result names no record of the batch: %.200s", result)
                continue
            ok = result.get("ok")
            error = str(result.get("error") or "no error given")
            if ok is True:
                continue
            if ok is False:
                outcomes[key] = (DEFERRED if result.get("retry") is True else REJECTED, error)
            else:
                outcomes[key] = (DEFERRED, f"result without a boolean 'ok': {str(result)[:300]}")
        return outcomes


def _classify(response: requests.Response) -> requests.Response | Retry:
    """The contract's retries: 408, 409 (the same Idempotency-Key in progress), 429 and 5xx, after the
    answer's ``Retry-After`` when it has one (429 without one: 1 s), else with backoff. The 408 and 409
    are the only 4xx besides 429 retried: the receiver's contract (module docstring) says so."""
    status = response.status_code
    if status not in RETRY_STATUSES and status < 500:
        return response
    reason = f"HTTP {status} {_message(response)}"
    if status == 429 or response.headers.get("Retry-After"):
        return Retry(reason, retry_after_seconds(response.headers.get("Retry-After")))
    return Retry(reason)


def _message(response: requests.Response) -> str:
    """The receiver's ``error``/``message`` from a response body, or the start of the body."""
    return body_message(response, ("error", "message"), first=True)
