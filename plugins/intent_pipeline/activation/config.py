"""What every destination's settings share: the errors, reading an Airflow connection, and the
one rule for the options of its extra (the checks of their values: ``activation/checks.py``).

Each destination's settings are one frozen dataclass in the destination's own module
(``hubspot.HubSpotConfig``, ``dingtalk.DingTalkConfig``, ``wecom.WeComConfig``,
``feishu.FeishuConfig``, ``slack.SlackConfig``, ``webhook.WebhookConfig``,
``salesforce.config.SalesforceConfig``), built by hand or by its ``from_airflow_connection``, which
reads the URL and the credential from the connection and every other setting from its extra with
:func:`options_from_extra`. Each config names its ``secrets`` (kept out of errors and the ledger).

Cheap to import: the DAG processor loads this module at parse time, so no
HTTP client or Airflow import here. ``from_airflow_connection`` accepts any
object with the attributes of an Airflow ``Connection`` (``host``, ``schema``,
``port``, ``password``, ``extra_dejson``).
"""

from __future__ import annotations

import hashlib
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit


class ActivationConfigError(ValueError):
    """A destination is configured in a way that cannot work (missing token, bad URL, bad option)."""


class DestinationRefused(RuntimeError):
    """A destination refused our credentials or URL: nothing can succeed until the connection is fixed."""


def _fingerprint(*parts: str) -> str:
    """A short, stable name for an account that does not reveal its credentials."""
    return "key-" + hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def _extra(conn: object) -> dict[str, Any]:
    extra = getattr(conn, "extra_dejson", None) or {}
    return extra if isinstance(extra, dict) else {}


def _password(conn: object) -> str:
    return getattr(conn, "password", None) or ""


def _credential(conn: object, key: str) -> str:
    """A destination's credential from a connection: its password, else its extra's ``key``, else ""."""
    return _password(conn) or _extra(conn).get(key) or ""


def credential_and_options(config: type, conn: object, credential: str) -> dict[str, Any]:
    """What a CRM config reads from a connection besides its URL: the field ``credential`` (the
    password, else the extra's key of that name) and the extra's ``config.EXTRA_KEYS``."""
    options = options_from_extra(config, _extra(conn), config.EXTRA_KEYS)  # type: ignore[attr-defined]
    return {credential: _credential(conn, credential), **options}


def options_from_extra(config: type, extra: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """The settings ``keys`` of the dataclass ``config`` that a connection's extra gives, each converted
    to its field's type (``int``, ``float``, ``str``, or one of them or None), strings stripped. A key
    that is absent, null or ``""`` keeps the field's default; a value that does not convert is an
    :class:`ActivationConfigError` naming the key."""
    hints = typing.get_type_hints(config)
    options: dict[str, Any] = {}
    for key in keys:
        value = extra.get(key)
        if value is None or value == "":
            continue
        kind = _scalar(hints[key])
        try:
            options[key] = str(value).strip() if kind is str else kind(value)
        except (TypeError, ValueError):
            raise ActivationConfigError(
                f"{config.__name__}: the connection's extra {key!r} must be {kind.__name__}, got {value!r}"
            ) from None
    return options


def _scalar(hint: Any) -> type:
    """``int`` of ``int`` or ``int | None`` (the same for float and str)."""
    if isinstance(hint, types.UnionType):
        (hint,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    if hint not in (int, float, str):
        raise TypeError(f"options_from_extra reads int, float and str settings, not {hint!r}")
    return typing.cast(type, hint)


def _base_url(conn: object, default_path: str = "") -> str:
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
