"""Feishu/Lark custom bot: an interactive card per newly hot lead, or one digest card.

``POST …/open-apis/bot/v2/hook/<token>`` with ``{"msg_type": "interactive", "card": {…}}``.
With signature verification on, the body also carries ``timestamp`` (seconds, as a string)
and ``sign`` = base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b"")) — the reverse of
DingTalk's, which keys the HMAC with the secret and signs the string; Feishu rejects a
timestamp more than an hour from its clock. The body is at most 20 KB.

Feishu answers ``{"code": 0, "msg": "success"}`` (older bots: ``{"StatusCode": 0, …}``).
11232 (frequency limited), HTTP 429 and 9499 "too many request" are waited out and retried
(``x-ogw-ratelimit-reset`` when Feishu gives it, else a minute); 19001 (bad token), 19021
(sign match fail or timestamp not within one hour), 19022 (IP not allowed) and 19024 (key
words not found) fail the task as configuration problems; any other code — 9499 "Bad Request"
included — rejects the message with Feishu's text (retried next run while the lead is hot).
A bot takes 100 requests a minute and 5 a second, enforced here.

Sources: Feishu's custom bot guide (open.feishu.cn/document/client-docs/bot-v3/add-custom-bot:
100/minute and 5/second per bot, 11232 at peak times, request body ≤ 20 KB, the signature),
Feishu's rate-limit guide (HTTP 429 with ``x-ogw-ratelimit-reset``); 19021/19022/19024/9499 and
their messages as the bot returns them. Assumption: 19001 is the code of
"param invalid: incoming webhook access token invalid".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from intent_pipeline.activation.chat import (
    CHAT_EXTRA_KEYS,
    Answer,
    ChatDestination,
    ChatSettings,
    body_size,
    chat_options,
    post_json,
    rendered,
    request_url,
    truncate_utf8,
    utf8_len,
)
from intent_pipeline.activation.checks import check_at_least
from intent_pipeline.activation.config import (
    ActivationConfigError,
    DestinationRefused,
    _base_url,
    _credential,
    _extra,
)
from intent_pipeline.activation.http import Retry
from intent_pipeline.activation.ledger import ACKNOWLEDGED, DEFERRED, REJECTED
from intent_pipeline.activation.retry import SlidingWindow, retry_after_seconds

if TYPE_CHECKING:
    import requests

NAME = "feishu"
DEFAULT_URL = "https://open.feishu.cn/open-apis/bot/v2/hook"
MAX_BODY_BYTES = 20_000  # Feishu: "the request body may not exceed 20 KB"; a little room kept
FREQUENCY_LIMITED = {11232, 99991400}  # custom bot frequency limit; the platform's generic one
BAD_REQUEST = 9499  # "Bad Request" (malformed or too large) — but also seen as "too many request"
FREQUENCY_WAIT = 60.0  # without a reset header: the per-minute quota is spent, wait a minute
CONFIG_CODES = {
    19001: "the bot's token is invalid (the bot was removed, or the URL is wrong)",
    19021: "the signature does not match (wrong secret) or the server clock is off by more than an hour",
    19022: "this host's IP is not in the bot's IP allow-list",
    19024: "the message lacks the bot's custom keyword (security settings)",
}
# Stands in for timestamp and sign when measuring a body before it is signed.
SIGNATURE_PLACEHOLDER = {"timestamp": "0" * 10, "sign": "0" * 44}


class FeishuConfigError(DestinationRefused):
    """Feishu refused the bot's token, signature, IP or keyword: a configuration problem, not a data problem."""


@dataclass(frozen=True)
class FeishuConfig(ChatSettings):
    """A Feishu/Lark custom bot: its hook URL (``…/open-apis/bot/v2/hook/<token>``) and
    optional signing ``secret`` (set when the bot's "signature verification" is on).

    Feishu allows a custom bot 100 requests a minute and 5 a second.
    """

    VENDOR = "Feishu"
    CREDENTIAL = "token"

    webhook_url: str = field(repr=False)  # it holds the bot's token
    secret: str | None = field(default=None, repr=False)
    max_per_minute: int = field(default=100, kw_only=True)
    max_per_second: int = field(default=5, kw_only=True)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_at_least("max_per_second", self.max_per_second, 1)
        if "/hook/" not in self.webhook_url or not self.token:
            raise ActivationConfigError(
                f"Feishu webhook_url must end with /hook/<token>, got {self.webhook_url!r}: "
                "paste the whole URL the bot shows, or put the token in the connection's password"
            )

    @property
    def token(self) -> str:
        """The bot's token: the last segment of the hook URL."""
        return self.webhook_url.rstrip("/").rsplit("/hook/", 1)[-1]

    @property
    def credential(self) -> str:
        return self.token

    @classmethod
    def from_airflow_connection(cls, conn: object) -> FeishuConfig:
        """Build from a connection: host = the bot's hook URL, extra ``{"secret": "…"}``.

        The token may instead be the password, with host = ``…/open-apis/bot/v2/hook`` (the default).
        Extra keys understood: ``secret``, ``token`` (when the password is empty), ``max_per_second``
        and ``chat.CHAT_EXTRA_KEYS``.
        """
        extra = _extra(conn)
        url = _base_url(conn) or DEFAULT_URL
        token = _credential(conn, "token")
        if token and not url.rstrip("/").endswith("/" + token):
            url = f"{url.rstrip('/')}/{token}"
        options = chat_options(cls, extra, (*CHAT_EXTRA_KEYS, "max_per_second"))
        return cls(webhook_url=url, secret=extra.get("secret") or None, **options)


def sign(secret: str, timestamp: int | str) -> str:
    """Feishu's signature: base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b""))."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", digestmod=hashlib.sha256).digest()).decode("ascii")


def signed_body(config: FeishuConfig, body: dict, timestamp: int | None = None) -> dict:
    """``body`` with ``timestamp`` and ``sign`` when the bot has a secret; unchanged otherwise."""
    if not config.secret:
        return body
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    return {"timestamp": str(timestamp), "sign": sign(config.secret, timestamp), **body}


def card(title: str, text: str) -> dict:
    """An interactive card: a header and one rich-text ``markdown`` element (Feishu renders lists
    only there, not in a ``lark_md`` text; it takes the same emphasis, links and ``<at id=…></at>``)."""
    return {
        "msg_type": "interactive",
        "card": {
            "config": {"wide_screen_mode": True},
            "header": {"template": "orange", "title": {"tag": "plain_text", "content": title}},
            "elements": [{"tag": "markdown", "content": text}],
        },
    }


def _json_text_size(text: str) -> int:
    return utf8_len(json.dumps(text, ensure_ascii=False)) - 2


def text_room(title: str) -> int:
    """The bytes a card's text may take (as JSON) so the signed body with ``title`` stays within 20 KB."""
    return MAX_BODY_BYTES - body_size({**card(title, ""), **SIGNATURE_PLACEHOLDER})


def fitted_card(title: str, text: str) -> dict:
    """``card(title, text)`` with ``text`` cut so the signed body stays within 20 KB."""
    room = text_room(title)
    while _json_text_size(text) > room:
        # JSON escapes (\\n, \\") make the sent text longer than the text: cut by the overflow, re-measure.
        text = truncate_utf8(text, utf8_len(text) - (_json_text_size(text) - room) - 1)
    return card(title, text)


class FeishuDestination(ChatDestination[FeishuConfig]):
    """Alerts newly hot leads in a Feishu/Lark group; with ``config=None`` it only builds the
    (unsigned) bodies for the outbox. ``wall_clock`` gives the signature's timestamp."""

    name = NAME

    def __init__(
        self,
        config: FeishuConfig | None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        wall_clock: Callable[[], float] = time.time,
    ):
        self.wall_clock = wall_clock
        super().__init__(config, sleep=sleep, clock=clock, rng=rng)

    def limits(self) -> list[SlidingWindow]:
        per_minute, per_second = (self.config.max_per_minute, self.config.max_per_second) if self.config else (100, 5)
        return [
            SlidingWindow(per_minute, 60.0, self.clock, self._sleep),
            SlidingWindow(per_second, 1.0, self.clock, self._sleep),
        ]

    def message_body(self, fields: dict, lang: str) -> dict:
        title = rendered(self.message_macros(fields, lang).title, self.view(fields, lang))
        room = text_room(title)
        return fitted_card(title, self.message_text(fields, lang, lambda text: _json_text_size(text) <= room))

    def digest_body(self, leads: list[dict], lang: str) -> dict:
        """One card naming the count and listing the leads, hottest first, within 20 KB."""
        macros = self.digest_macros(leads, lang)
        title = rendered(macros.title, len(leads))
        room = text_room(title)
        return fitted_card(title, self.digest_text(leads, lang, lambda text: _json_text_size(text) <= room))

    def post(self, body: dict) -> requests.Response:
        # Signed afresh on each attempt: Feishu rejects timestamps more than an hour old.
        config = self.sending
        payload = signed_body(config, body, int(self.wall_clock()))
        return post_json(self._http(), config.webhook_url, payload, config.timeout)

    def classify(self, response: requests.Response) -> Answer | Retry:
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict) or ("code" not in data and "StatusCode" not in data):
            return self.http_failure(response)
        code = data.get("code", data.get("StatusCode"))
        msg = str(data.get("msg") or data.get("StatusMessage") or "")
        reason = f"code {code}: {msg}"
        if code == 0 and response.status_code == 200:
            return ACKNOWLEDGED, None
        if code in CONFIG_CODES:
            raise FeishuConfigError(
                f"Feishu refused the bot at {request_url(response)} ({reason}): {CONFIG_CODES[code]}. Check the "
                f"'{NAME}_default' connection — host = the bot's webhook URL, extra.secret = its signing secret."
            )
        too_many = code == BAD_REQUEST and "bad request" not in msg.lower()
        if response.status_code == 429 or code in FREQUENCY_LIMITED or too_many:
            reset = response.headers.get("x-ogw-ratelimit-reset")
            return Retry(reason, retry_after_seconds(reset, default=FREQUENCY_WAIT))
        if response.status_code >= 500:
            return Retry(f"HTTP {response.status_code} {reason}")
        if code == 0:  # success code with an unexpected HTTP status: unclear whether it was posted
            return DEFERRED, f"HTTP {response.status_code} {reason}"
        return REJECTED, reason
