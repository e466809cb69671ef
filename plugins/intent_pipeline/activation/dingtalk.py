"""DingTalk custom robot: a markdown message per newly hot lead, or one digest, at most once per lead.

``POST {webhook_url}?access_token=…[&timestamp=<ms>&sign=<sign>]`` with
``{"msgtype": "markdown", "markdown": {"title": …, "text": …}, "at": {"atMobiles": […], "isAtAll": false}}``
(the lead's owner mentioned by the mobile in ``seeds/sales_teams.csv``, ``@<mobile>`` in the text).
Texts come from the Jinja2 templates ``templates/<kind>.j2`` in DingTalk's markup
``templates/markup/dingtalk.j2``, in the connection's language (``chat.messages``). DingTalk answers HTTP 200 with
``{"errcode": 0, "errmsg": "ok"}`` on success; ``130101`` (sending too fast) is waited out and
retried; signature/token errors fail the task (configuration); any other errcode rejects the
message with DingTalk's text (retried next run while the lead is hot).

A robot takes at most 20 messages a minute (enforced here for any 60 s: DingTalk throttles a
robot for 10 minutes past that), and DingTalk's own guidance for many alerts is to merge them
into one markdown summary: more than ``digest_over`` (default 20) newly hot leads in a run get
one digest message (``chat.ChatDestination``). DingTalk documents no size limit for a robot's
markdown; the digest is cut at :data:`MAX_TEXT_BYTES` with "… and N more", which keeps it
readable on a phone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote_plus

from intent_pipeline.activation.chat import (
    Answer,
    ChatDestination,
    ChatSettings,
    chat_options,
    rendered,
    request_url,
    send_url_and_key,
    truncate_utf8,
    utf8_len,
)
from intent_pipeline.activation.config import DestinationRefused, _extra
from intent_pipeline.activation.http import Retry

if TYPE_CHECKING:
    import requests

NAME = "dingtalk"
DEFAULT_PATH = "/robot/send"
DEFAULT_URL = "https://oapi.dingtalk.com/robot/send"
MAX_TEXT_BYTES = 4096  # a message's and the digest's cut (an assumption: DingTalk documents none for markdown)
TOO_FAST = 130101  # "send too fast, exceed 20 times per minute"
TOO_FAST_WAIT = 60.0  # DingTalk counts per minute: wait a whole one before retrying
# Token missing/invalid, signature or keyword/IP security check failed: every message would fail the same way.
CONFIG_ERRCODES = {300001, 300005, 310000, 400101, 400102}


class DingTalkConfigError(DestinationRefused):
    """DingTalk refused the robot's token or signature: a configuration problem, not a data problem."""


@dataclass(frozen=True)
class DingTalkConfig(ChatSettings):
    """A DingTalk custom robot: its send URL, access token and optional signing secret (``SEC…``).

    ``max_per_minute`` is DingTalk's documented limit per robot (20 messages a minute).
    ``digest_over`` (default 20, see ``chat.ChatDestination``): more newly hot leads than this in
    one run get one digest message; ``language`` is ``zh`` (default) or ``en``.
    """

    VENDOR = "DingTalk"
    CREDENTIAL = "access token"

    access_token: str = field(repr=False)
    secret: str | None = field(default=None, repr=False)

    @property
    def credential(self) -> str:
        return self.access_token

    @classmethod
    def from_airflow_connection(cls, conn: object) -> DingTalkConfig:
        """Build from a connection: host = robot send URL, password = access token, extra ``{"secret": "SEC…"}``.

        A host pasted with ``?access_token=…`` also works when the password is empty.
        Extra keys understood: ``secret``, ``access_token`` (when the password is empty), and
        ``chat.CHAT_EXTRA_KEYS``.
        """
        extra = _extra(conn)
        url, token = send_url_and_key(conn, "access_token", DEFAULT_URL, DEFAULT_PATH)
        return cls(webhook_url=url, access_token=token, secret=extra.get("secret") or None, **chat_options(cls, extra))


def sign(secret: str, timestamp_ms: int | str) -> str:
    """DingTalk's signature: base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}")), not yet URL-encoded."""
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), string_to_sign, digestmod=hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_url(config: DingTalkConfig, timestamp_ms: int | None = None) -> str:
    """The robot URL with ``access_token`` and, when a secret is set, ``timestamp`` and the URL-encoded ``sign``."""
    url = f"{config.webhook_url}?access_token={quote_plus(config.access_token)}"
    if config.secret:
        timestamp_ms = int(round(time.time() * 1000)) if timestamp_ms is None else timestamp_ms
        url += f"&timestamp={timestamp_ms}&sign={quote_plus(sign(config.secret, timestamp_ms))}"
    return url


def markdown(title: str, text: str, mobiles: list[str] | None = None) -> dict:
    """A markdown message; ``mobiles``: the people it mentions (each also ``@<mobile>`` in the text,
    DingTalk's rule for a mention to show; never everyone)."""
    at: dict = {"isAtAll": False}
    if mobiles:
        at["atMobiles"] = list(mobiles)
    return {"msgtype": "markdown", "markdown": {"title": title, "text": text}, "at": at}


class DingTalkDestination(ChatDestination[DingTalkConfig]):
    """Alerts newly hot leads in a DingTalk group; with ``config=None`` it only builds the bodies (outbox)."""

    name = NAME

    def message_body(self, fields: dict, lang: str) -> dict:
        """One lead's markdown within ``MAX_TEXT_BYTES`` (``ChatDestination.message_text``)."""
        title = rendered(self.message_macros(fields, lang).title, self.view(fields, lang))
        text = self.message_text(fields, lang, lambda candidate: utf8_len(candidate) <= MAX_TEXT_BYTES)
        return markdown(title, truncate_utf8(text, MAX_TEXT_BYTES), self.mentioned([fields]))

    def digest_body(self, leads: list[dict], lang: str) -> dict:
        """One markdown message naming the count and listing the leads, hottest first, within the cut."""
        macros = self.digest_macros(leads, lang)
        text = self.digest_text(leads, lang, lambda candidate: utf8_len(candidate) <= MAX_TEXT_BYTES)
        shown = [fields for fields in leads if self.view(fields, lang).get("owner_mention")]
        mobiles = [mobile for mobile in self.mentioned(shown) if f"@{mobile}" in text]
        return markdown(rendered(macros.title, len(leads)), text, mobiles)

    def post(self, body: dict) -> requests.Response:
        # Signed afresh on each attempt: DingTalk rejects timestamps older than an hour.
        config = self.sending
        return self._http().post(signed_url(config), json=body, timeout=config.timeout)

    def classify(self, response: requests.Response) -> Answer | Retry:
        def refused(errcode: object, errmsg: str) -> DingTalkConfigError:
            return DingTalkConfigError(
                f"DingTalk refused the robot at {request_url(response)} (errcode {errcode}: {errmsg}): check the "
                f"'{NAME}_default' connection — password = access token, extra.secret = the robot's SEC… signing "
                "secret (or the robot's keyword/IP security settings)."
            )

        return self.errcode_outcome(
            response, too_fast=TOO_FAST, too_fast_wait=TOO_FAST_WAIT, config_codes=CONFIG_ERRCODES, refused=refused
        )
