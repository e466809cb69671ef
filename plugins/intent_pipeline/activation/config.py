"""Destination settings, built from an Airflow connection or by hand.

Cheap to import: the DAG processor loads this module at parse time, so no
HTTP client or Airflow import here. ``from_airflow_connection`` accepts any
object with the attributes of an Airflow ``Connection`` (``host``, ``schema``,
``port``, ``password``, ``extra_dejson``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit, urlunsplit

HUBSPOT_DEFAULT_URL = "https://api.hubapi.com"
HUBSPOT_MAX_BATCH = 100  # HubSpot's limit for batch endpoints
DINGTALK_DEFAULT_PATH = "/robot/send"
DINGTALK_DEFAULT_URL = "https://oapi.dingtalk.com/robot/send"


class ActivationConfigError(ValueError):
    """A destination is configured in a way that cannot work (missing token, bad URL, bad option)."""


class DestinationRefused(RuntimeError):
    """A destination refused our credentials or URL: nothing can succeed until the connection is fixed."""


def _fingerprint(*parts: str) -> str:
    """A short, stable name for an account that does not reveal its credentials."""
    return "key-" + hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def _extra(conn) -> dict:
    extra = getattr(conn, "extra_dejson", None) or {}
    return extra if isinstance(extra, dict) else {}


def _base_url(conn, default_path: str = "") -> str:
    """``scheme://host[:port][/path]`` from a connection.

    The host may be a full URL (``{"host": "https://api.hubapi.com"}`` in JSON
    connections) or a bare host name; for a bare host, ``schema`` is used as
    the scheme when it is ``http``/``https`` (HttpHook's convention), as the
    path otherwise (what URI-style connections put there).
    """
    host = (getattr(conn, "host", None) or "").strip()
    schema = (getattr(conn, "schema", None) or "").strip()
    port = getattr(conn, "port", None)
    if not host:
        return ""
    if "://" not in host:
        scheme = schema if schema in ("http", "https") else "https"
        path = "" if schema in ("", "http", "https") else "/" + schema.strip("/")
        host = f"{scheme}://{host}{path}"
    parts = urlsplit(host)
    netloc = parts.netloc
    if port and ":" not in netloc.rsplit("@", 1)[-1]:
        netloc = f"{netloc}:{port}"
    path = parts.path.rstrip("/") or default_path
    return urlunsplit((parts.scheme, netloc, path, parts.query, ""))


@dataclass(frozen=True)
class HubSpotConfig:
    """Where and how to upsert contacts in HubSpot (CRM v3 batch upsert).

    ``token`` is a private-app access token with ``crm.objects.contacts.write``.
    ``id_property`` is the unique contact property the upsert matches on.
    ``portal_id`` (the HubSpot account id) names the account in the activation ledger; without
    it the account is named by a fingerprint of URL and token.
    """

    base_url: str
    token: str
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

    @property
    def ledger_scope(self) -> str:
        """Which account acknowledgements belong to: a row sent to a sandbox portal is still owed to
        production. Without ``portal_id``, a new token re-sends the segment once (upserts are
        idempotent); with it, rotating the token does not."""
        return f"portal-{self.portal_id}" if self.portal_id else _fingerprint(self.base_url, self.token)

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ActivationConfigError(f"HubSpot base_url must be an http(s) URL, got {self.base_url!r}")
        if not self.token:
            raise ActivationConfigError("HubSpot token is empty: set the connection's password (private-app token)")
        if not 1 <= self.batch_size <= HUBSPOT_MAX_BATCH:
            raise ActivationConfigError(f"HubSpot batch_size must be 1..{HUBSPOT_MAX_BATCH}, got {self.batch_size}")
        if self.max_retries < 0:
            raise ActivationConfigError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.requests_per_10s < 1:
            raise ActivationConfigError(f"requests_per_10s must be >= 1, got {self.requests_per_10s}")
        if not 1 <= self.concurrency <= 8:
            raise ActivationConfigError(f"HubSpot concurrency must be 1..8, got {self.concurrency}")

    @classmethod
    def from_airflow_connection(cls, conn) -> HubSpotConfig:
        """Build from a connection: host = API base URL, password = token, extra = optional overrides.

        Extra keys understood: ``batch_size``, ``id_property``, ``max_retries``, ``timeout``,
        ``portal_id``, ``requests_per_10s``, ``concurrency`` (and ``token`` when the password is empty).
        """
        extra = _extra(conn)
        options = {k: extra[k] for k in ("batch_size", "max_retries", "requests_per_10s", "concurrency") if k in extra}
        options = {k: int(v) for k, v in options.items()}
        if "timeout" in extra:
            options["timeout"] = float(extra["timeout"])
        for key in ("id_property", "portal_id"):
            if extra.get(key):
                options[key] = str(extra[key])
        return cls(
            base_url=_base_url(conn) or HUBSPOT_DEFAULT_URL,
            token=getattr(conn, "password", None) or extra.get("token") or "",
            **options,
        )


@dataclass(frozen=True)
class DingTalkConfig:
    """A DingTalk custom robot: its send URL, access token and optional signing secret (``SEC…``).

    ``max_per_minute`` is DingTalk's documented limit per robot (20 messages a minute).
    ``digest_over`` (default 20, see ``chat.ChatDestination``): more newly hot leads than this in
    one run get one digest message; ``language`` is ``zh`` (default) or ``en``.
    """

    webhook_url: str
    access_token: str
    secret: str | None = None
    max_per_minute: int = 20
    max_retries: int = 3
    timeout: float = 10
    digest_over: int | None = None
    language: str = "zh"

    def __post_init__(self) -> None:
        if not self.webhook_url.startswith(("http://", "https://")):
            raise ActivationConfigError(f"DingTalk webhook_url must be an http(s) URL, got {self.webhook_url!r}")
        if not self.access_token:
            raise ActivationConfigError("DingTalk access token is empty: set the connection's password")
        if self.max_per_minute < 1:
            raise ActivationConfigError(f"max_per_minute must be >= 1, got {self.max_per_minute}")
        if self.digest_over is not None and self.digest_over < 1:
            raise ActivationConfigError(f"digest_over must be >= 1, got {self.digest_over}")
        if self.language not in ("zh", "en"):
            raise ActivationConfigError(f"language must be 'zh' or 'en', got {self.language!r}")

    @property
    def ledger_scope(self) -> str:
        """The robot (one group chat) alerts were delivered to: its access token identifies it."""
        return _fingerprint(self.access_token)

    @classmethod
    def from_airflow_connection(cls, conn) -> DingTalkConfig:
        """Build from a connection: host = robot send URL, password = access token, extra ``{"secret": "SEC…"}``.

        A host pasted with ``?access_token=…`` also works when the password is empty.
        Extra keys understood: ``secret``, ``max_per_minute``, ``max_retries``, ``timeout``,
        ``digest_over``, ``language``.
        """
        extra = _extra(conn)
        url = _base_url(conn, DINGTALK_DEFAULT_PATH) or DINGTALK_DEFAULT_URL
        parts = urlsplit(url)
        token = getattr(conn, "password", None) or extra.get("access_token") or ""
        if parts.query:
            query = parse_qs(parts.query)
            token = token or (query.get("access_token") or [""])[0]
            url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        options: dict = {
            k: int(extra[k]) for k in ("max_per_minute", "max_retries", "digest_over") if extra.get(k) not in (None, "")
        }
        if extra.get("timeout") not in (None, ""):
            options["timeout"] = float(extra["timeout"])
        if extra.get("language"):
            options["language"] = str(extra["language"]).lower()
        return cls(webhook_url=url, access_token=token, secret=extra.get("secret") or None, **options)
