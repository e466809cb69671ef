"""HubSpot CRM v3: upsert the segment's contacts in batches.

``POST {base_url}/crm/v3/objects/contacts/batch/upsert`` with a private-app
token, at most 100 inputs per request.

Property mapping (segment column → HubSpot contact property, all values sent as strings):

=====================  ==========================================================
``email``              ``email`` (also the upsert key: ``idProperty`` = ``email``)
``full_name``          ``firstname`` + ``lastname`` (see :func:`split_name`)
``company``            ``company``
``job_title``          ``jobtitle``
``phone``              ``phone`` (E.164)
``lead_score``         ``intent_score`` (custom, number): the rule score, an open scale (the sum of the
                       rules' points, above 100 when many rules fire: docs/scoring.md); the
                       extra ``max_score`` caps what is sent (e.g. 100 for a 0-100 field)
``grade``              ``intent_grade`` (custom, text)
``score_reasons``      ``intent_reasons`` (custom, text), in the connection's ``reasons_language``:
                       ``en`` (default) or ``zh`` (``score_reasons_zh``, English when a row has none)
``person_id``          ``intent_person_id`` (custom, text)
``crm_owner_id``       ``hubspot_owner_id`` (the owner lead routing chose), with ``owner`` in ``intent_owner``
``owner``              without crm_owner_id: ``hubspot_owner_id`` when it is a HubSpot owner id
                       (digits), else ``intent_owner`` (custom, text); omitted when empty
=====================  ==========================================================

An address whose domain is a known typo (``163.cm``: ``activation/email_typos.py``) is not
pushed: the row is invalid, with the reason in the row log.

Empty warehouse values are left out rather than sent blank, so an upsert never
erases what a salesperson typed into HubSpot. ``scored_at`` is not sent: it
changes every run and would make every row look changed. The custom
``intent_*`` properties must exist in the HubSpot portal (Settings → Properties).

Responses handled as HubSpot documents them: 200 (all upserted), 207 multi-status
(records named in ``errors[].context.ids`` rejected, the others upserted),
429 (wait ``Retry-After`` seconds, capped, and retry; but a 429 with ``policyName: DAILY``, or an
answer with ``X-HubSpot-RateLimit-Daily-Remaining: 0``, means the portal's daily allocation is used
up: that batch and every later one of the run are deferred without another call), 5xx and timeouts
(exponential backoff with jitter, bounded; then the batch is deferred to the
next run), 400 (bisect the batch to isolate the bad records; a bad single
record is rejected with HubSpot's message), 401/403 (fail: configuration).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from intent_pipeline.activation.checks import check_at_least, check_between, check_http_url
from intent_pipeline.activation.config import (
    ActivationConfigError,
    DestinationRefused,
    _base_url,
    _fingerprint,
    credential_and_options,
)
from intent_pipeline.activation.email_typos import typo_reason
from intent_pipeline.activation.escape import csv_safe
from intent_pipeline.activation.http import (
    GaveUp,
    HttpSender,
    Outcome,
    Retry,
    body_message,
    rejected_or_bisected,
    status_outcome,
)
from intent_pipeline.activation.ledger import ACKNOWLEDGED, REJECTED, deferred
from intent_pipeline.activation.retry import SlidingWindow
from intent_pipeline.activation.segments import EMAIL_RE, KeptInSync, Planned

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

NAME = "hubspot"
UPSERT_PATH = "/crm/v3/objects/contacts/batch/upsert"
DAILY_POLICY = "DAILY"  # policyName of the 429 HubSpot answers once the portal's daily allocation is used up
DAILY_REMAINING = "X-HubSpot-RateLimit-Daily-Remaining"
DEFAULT_URL = "https://api.hubapi.com"
MAX_BATCH = 100  # HubSpot's limit for batch endpoints
REASONS_LANGUAGES = ("en", "zh")

# Chinese two-character surnames; every other Chinese name takes its first character as the surname.
COMPOUND_SURNAMES = (
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯",
    "轩辕", "令狐", "端木", "南宫", "西门", "独孤", "百里",
)  # fmt: skip


class HubSpotAuthError(DestinationRefused):
    """HubSpot refused the token (401/403) or the URL (404): a configuration problem, not a data problem."""


@dataclass(frozen=True)
class HubSpotConfig:
    """Where and how to upsert contacts in HubSpot (CRM v3 batch upsert).

    ``token`` is a private-app access token with ``crm.objects.contacts.write``.
    ``id_property`` is the unique contact property the upsert matches on.
    ``portal_id`` (the HubSpot account id) names the account in the activation ledger; without
    it the account is named by a fingerprint of URL and token.
    """

    base_url: str
    token: str = field(repr=False)
    batch_size: int = 100
    id_property: str = "email"
    max_retries: int = 5
    timeout: float = 30
    portal_id: str | None = None
    # the private app's burst limit: 100 requests per 10 s (190 on Professional/Enterprise or
    # with the API limit increase); kept below it with a sliding window of 10 s (+ a margin)
    requests_per_10s: int = 100
    # batches in flight at once: one request at a time cannot use the burst limit when a batch of
    # 100 contacts takes longer than 10 s / requests_per_10s to answer (52 ms at 190)
    concurrency: int = 2

    # the language of intent_reasons: "en" (score_reasons) or "zh" (score_reasons_zh)
    reasons_language: str = "en"
    # cap intent_score at this value (None: the open scale, as scored)
    max_score: int | None = None

    # the settings a connection's extra may give (besides ``token`` when the password is empty)
    EXTRA_KEYS = ("batch_size", "id_property", "max_retries", "timeout", "portal_id", "requests_per_10s", "concurrency",
                  "reasons_language", "max_score")  # fmt: skip

    @property
    def ledger_scope(self) -> str:
        """Which account acknowledgements belong to: a row sent to a sandbox portal is still owed to
        production. Without ``portal_id``, a new token re-sends the segment once (upserts are
        idempotent); with it, rotating the token does not."""
        return f"portal-{self.portal_id}" if self.portal_id else _fingerprint(self.base_url, self.token)

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.token,)

    def __post_init__(self) -> None:
        check_http_url("HubSpot base_url", self.base_url)
        if not self.token:
            raise ActivationConfigError("HubSpot token is empty: set the connection's password (private-app token)")
        check_between("HubSpot batch_size", self.batch_size, 1, MAX_BATCH)
        check_at_least("max_retries", self.max_retries, 0)
        check_at_least("requests_per_10s", self.requests_per_10s, 1)
        check_between("HubSpot concurrency", self.concurrency, 1, 8)
        if self.reasons_language not in REASONS_LANGUAGES:
            raise ActivationConfigError(
                f"HubSpot reasons_language must be one of {REASONS_LANGUAGES}, got {self.reasons_language!r}"
            )
        if self.max_score is not None and int(self.max_score) < 1:
            raise ActivationConfigError(f"HubSpot max_score must be >= 1, got {self.max_score}")

    @classmethod
    def from_airflow_connection(cls, conn: object) -> HubSpotConfig:
        """Build from a connection: host = API base URL, password = token, extra = the
        ``EXTRA_KEYS`` (and ``token`` when the password is empty)."""
        return cls(base_url=_base_url(conn) or DEFAULT_URL, **credential_and_options(cls, conn, "token"))


def _is_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def split_name(full_name: str | None) -> tuple[str | None, str | None]:
    """``(firstname, lastname)`` from a full name.

    Chinese names (no space) are surname first: ``张伟`` → (``伟``, ``张``),
    ``欧阳娜娜`` → (``娜娜``, ``欧阳``). Names with spaces are given name first:
    ``Ada M. Lovelace`` → (``Ada M.``, ``Lovelace``). One word → firstname only.
    """
    name = " ".join((full_name or "").split())
    if not name:
        return None, None
    if " " not in name:
        if _is_cjk(name) and len(name) >= 2:
            surname_len = 2 if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else 1
            return name[surname_len:], name[:surname_len]
        return name, None
    first, _, last = name.rpartition(" ")
    return first, last


# Properties sent as they are: keys and ids (the rest are texts a form filled in: csv_safe).
VERBATIM_PROPERTIES = frozenset({"email", "intent_score", "intent_person_id", "hubspot_owner_id"})


def contact_properties(row: dict, reasons_language: str = "en", max_score: int | None = None) -> dict[str, str]:
    """The HubSpot contact properties of one segment row (see the module docstring for the mapping):
    the reasons in ``reasons_language``, the score capped at ``max_score`` when given."""
    first, last = split_name(row.get("full_name"))
    reasons = row.get("score_reasons_zh") if reasons_language == "zh" else None
    score = None if row.get("lead_score") is None else int(row["lead_score"])
    if score is not None and max_score is not None:
        score = min(score, int(max_score))
    owner = (row.get("owner") or "").strip()
    props = {
        "email": (row.get("email") or "").strip().lower() or None,
        "firstname": first,
        "lastname": last,
        "company": row.get("company"),
        "jobtitle": row.get("job_title"),
        "phone": row.get("phone"),
        "intent_score": None if score is None else str(score),
        "intent_grade": row.get("grade"),
        "intent_reasons": reasons or row.get("score_reasons"),
        "intent_person_id": row.get("person_id"),
    }
    owner_id = (row.get("crm_owner_id") or "").strip()
    if owner_id:  # routed by lead_assignments: the owner's HubSpot id, and the name for people
        props["hubspot_owner_id"] = owner_id
        if owner:
            props["intent_owner"] = owner
    elif owner:
        props["hubspot_owner_id" if owner.isdigit() else "intent_owner"] = owner
    # a form's value never runs as a formula in a spreadsheet export of the CRM (escape.csv_safe)
    return {
        k: str(v).strip() if k in VERBATIM_PROPERTIES else csv_safe(str(v).strip())
        for k, v in props.items()
        if v is not None and str(v).strip() != ""
    }


class HubSpotDestination(KeptInSync, HttpSender[HubSpotConfig]):
    """Plans, batches and sends contacts to HubSpot; with ``config=None`` it only builds the bodies (outbox)."""

    name = NAME
    guards_changes = True  # a CRM: the safety guard refuses runs that would rewrite too much of it at once

    def __init__(
        self,
        config: HubSpotConfig | None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        batch_size: int = 100,
        id_property: str = "email",
        clock: Callable[[], float] = time.monotonic,
    ):
        self.config = config
        # the burst limit, with a 2 % margin for the requests' time on the wire
        self.window = SlidingWindow(config.requests_per_10s if config else 100, 10.2, clock=clock, sleep=self._sleep)
        self.batch_size = config.batch_size if config else batch_size
        self.id_property = config.id_property if config else id_property
        self.concurrency = config.concurrency if config else 1  # batches in flight (run_destination)
        self._start_http(sleep, rng, config.secrets if config else ())

    # --- planning -------------------------------------------------------------------------------

    def key_of(self, row: dict) -> str | None:
        return self.map_fields(row).get(self.id_property)

    def validate(self, row: dict) -> str | None:
        email = (row.get("email") or "").strip()
        if not email:
            return "email is empty"
        if not EMAIL_RE.match(email):
            return f"email {email!r} is not an address"
        typo = typo_reason(email)
        if typo:
            return typo
        if not self.key_of(row):
            return f"{self.id_property} is empty (the upsert key)"
        return None

    def map_fields(self, row: dict) -> dict:
        if self.config is None:
            return contact_properties(row)
        return contact_properties(row, self.config.reasons_language, self.config.max_score)

    def _body(self, items: list[Planned]) -> dict:
        return {"inputs": [{"idProperty": self.id_property, "id": it.key, "properties": it.fields} for it in items]}

    # --- sending --------------------------------------------------------------------------------

    def send(self, body: dict, items: list[Planned]) -> list[Outcome]:
        """Upsert one batch; ``(record_key, status, reason)`` per row, status in acknowledged/rejected/deferred."""
        return self._outcomes(items, self._upsert(items))

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.sending.token}", "Content-Type": "application/json"}

    def _post(self, items: list[Planned]) -> requests.Response | GaveUp:
        """POST with retries on 429, 5xx and timeouts (:meth:`_classify`); the final response, or why not."""
        config = self.sending
        url = config.base_url.rstrip("/") + UPSERT_PATH
        body = self._body(items)

        def attempt() -> requests.Response | Retry | GaveUp:
            return self._classify(self._http().post(url, json=body, timeout=config.timeout))

        return self._with_retries(attempt, attempts=config.max_retries + 1, limits=(self.window,))

    def _classify(self, response: requests.Response) -> requests.Response | Retry | GaveUp:
        """429 waits its Retry-After, 5xx backs off; the daily allocation's 429 stops the run's sending."""
        status = response.status_code
        if status == 429 and _policy(response) == DAILY_POLICY:
            # The portal's daily allocation: nothing succeeds before midnight (the portal's time
            # zone), so this batch and every later one wait for the next run without a call.
            self.exhausted = f"HubSpot daily API limit reached: HTTP 429 {_message(response)}"
            return GaveUp(self.exhausted)
        retry = status_outcome(response, f"HTTP {status} {_message(response)}")
        if retry is not None:
            return retry
        if response.headers.get(DAILY_REMAINING) == "0":
            self.exhausted = f"HubSpot daily API limit reached ({DAILY_REMAINING}: 0)"
        return response

    def _upsert(self, items: list[Planned]) -> dict[str, tuple[str, str | None]]:
        response = self._post(items)
        if isinstance(response, GaveUp):
            return deferred(items, response.reason)
        status = response.status_code
        if status in (401, 403):
            raise HubSpotAuthError(
                self.redact(
                    f"HubSpot answered {status} ({_message(response)}): check the 'hubspot_default' connection — "
                    "password must be a private-app token with the crm.objects.contacts.write scope."
                )
            )
        if status in (404, 405):
            raise HubSpotAuthError(
                self.redact(
                    f"HubSpot answered {status} for {response.request.url}: check the 'hubspot_default' "
                    "connection's host (API base URL, e.g. https://api.hubapi.com)."
                )
            )
        if status in (200, 201):
            return {it.key: (ACKNOWLEDGED, None) for it in items}
        if status == 207:
            return self._multi_status(response, items)
        if status in (400, 409, 413, 422):
            return rejected_or_bisected(items, f"HTTP {status} {_message(response)}", self._upsert)
        return deferred(items, f"unexpected HTTP {status} {_message(response)}")

    def _multi_status(self, response: requests.Response, items: list[Planned]) -> dict[str, tuple[str, str | None]]:
        try:
            data = response.json()
        except ValueError:
            data = {}
        by_lower = {it.key.lower(): it.key for it in items}
        rejected: dict[str, str] = {}
        for error in data.get("errors") or []:
            message = f"{error.get('category', 'ERROR')}: {error.get('message', '')}".strip()
            for values in (error.get("context") or {}).values():
                for value in values if isinstance(values, list) else [values]:
                    key = by_lower.get(str(value).strip().lower())
                    if key is not None:
                        rejected[key] = message
        if not rejected and (data.get("numErrors") or data.get("errors")):
            # Errors we cannot attribute: resend the whole batch next run (an upsert is idempotent).
            reason = f"HTTP 207 with errors naming no record of the batch: {str(data.get('errors'))[:500]}"
            return deferred(items, reason)
        return {it.key: (REJECTED, rejected[it.key]) if it.key in rejected else (ACKNOWLEDGED, None) for it in items}


def _policy(response: requests.Response) -> str | None:
    """``policyName`` of a HubSpot 429 (``TEN_SECONDLY_ROLLING``, ``DAILY``, …), if the body has one."""
    try:
        data = response.json()
    except ValueError:
        return None
    return data.get("policyName") if isinstance(data, dict) else None


def _message(response: requests.Response) -> str:
    """HubSpot's ``category: message`` from a response body, or the start of the body."""
    return body_message(response, ("category", "message"))
