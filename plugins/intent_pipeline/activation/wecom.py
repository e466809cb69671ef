"""WeCom (企业微信) group robot: a markdown message per newly hot lead, or one digest.

``POST {webhook_url}?key=<key>`` with ``{"msgtype": "markdown", "markdown": {"content": …}}``.
``content`` is at most 4096 bytes of UTF-8 (WeCom answers errcode 40058 above that), so it is
cut on a character boundary to fit. WeCom answers HTTP 200 with ``{"errcode": 0, "errmsg": "ok"}``;
45009 (api freq out of limit) is waited out for a minute and retried; 93000 (invalid webhook
url: the key is wrong or the robot was removed) fails the task as a configuration problem;
any other errcode rejects the message with WeCom's text (retried next run while the lead is hot).
A robot takes at most 20 messages a minute, enforced here for any 60 s.

Sources: WeCom's robot guide (developer.work.weixin.qq.com/document/path/91770: markdown
content ≤ 4096 bytes, 20 messages/minute); errcode 40058 "markdown.content exceed max length
4096" and 93000 "invalid webhook url" as WeCom returns them (reported verbatim in public issues).
Assumption: the robot reports its rate limit with the global errcode 45009 "api freq out of limit".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote_plus

from intent_pipeline.activation.chat import (
    Answer,
    ChatDestination,
    ChatSettings,
    chat_options,
    post_json,
    request_url,
    send_url_and_key,
    truncate_utf8,
    utf8_len,
)
from intent_pipeline.activation.config import DestinationRefused, _extra
from intent_pipeline.activation.http import Retry

if TYPE_CHECKING:
    import requests

NAME = "wecom"
DEFAULT_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
MAX_CONTENT_BYTES = 4096
TOO_FAST = 45009  # api freq out of limit
TOO_FAST_WAIT = 60.0  # WeCom counts per minute: wait a whole one before retrying
CONFIG_ERRCODES = {93000}  # invalid webhook url: wrong key, or the robot was removed from the group


class WeComConfigError(DestinationRefused):
    """WeCom refused the robot's key: a configuration problem, not a data problem."""


@dataclass(frozen=True)
class WeComConfig(ChatSettings):
    """A WeCom (企业微信) group robot: its send URL and ``key``.

    ``max_per_minute`` is WeCom's documented limit per robot (20 messages a minute).
    ``digest_over`` defaults to 20 (see ``ChatDestination``); ``language`` is ``zh`` or ``en``.
    """

    VENDOR = "WeCom"
    CREDENTIAL = "robot key"

    key: str = field(repr=False)

    @property
    def credential(self) -> str:
        return self.key

    @classmethod
    def from_airflow_connection(cls, conn: object) -> WeComConfig:
        """Build from a connection: host = robot send URL, password = the robot's key.

        A host pasted with ``?key=…`` (the URL WeCom shows) also works when the password is empty.
        Extra keys understood: ``key`` (when the password is empty) and ``chat.CHAT_EXTRA_KEYS``.
        """
        url, key = send_url_and_key(conn, "key", DEFAULT_URL)
        return cls(webhook_url=url, key=key, **chat_options(cls, _extra(conn)))


def webhook_url(config: WeComConfig) -> str:
    return f"{config.webhook_url}?key={quote_plus(config.key)}"


def markdown(content: str) -> dict:
    return {"msgtype": "markdown", "markdown": {"content": truncate_utf8(content, MAX_CONTENT_BYTES)}}


class WeComDestination(ChatDestination[WeComConfig]):
    """Alerts newly hot leads in a WeCom group; with ``config=None`` it only builds the bodies (outbox)."""

    name = NAME

    def message_body(self, fields: dict, lang: str) -> dict:
        """The robot's markdown for one lead within 4096 bytes (``ChatDestination.message_text``)."""
        return markdown(self.message_text(fields, lang, lambda text: utf8_len(text) <= MAX_CONTENT_BYTES))

    def digest_body(self, leads: list[dict], lang: str) -> dict:
        """One markdown message naming the count and listing the leads, hottest first, within 4096 bytes."""
        return markdown(self.digest_text(leads, lang, lambda text: utf8_len(text) <= MAX_CONTENT_BYTES))

    def post(self, body: dict) -> requests.Response:
        config = self.sending
        return post_json(self._http(), webhook_url(config), body, config.timeout)

    def classify(self, response: requests.Response) -> Answer | Retry:
        def refused(errcode: object, errmsg: str) -> WeComConfigError:
            return WeComConfigError(
                f"WeCom refused the robot at {request_url(response)} (errcode {errcode}: {errmsg}): check the "
                f"'{NAME}_default' connection — password = the robot's key (the key=… part of its webhook URL)."
            )

        return self.errcode_outcome(
            response, too_fast=TOO_FAST, too_fast_wait=TOO_FAST_WAIT, config_codes=CONFIG_ERRCODES, refused=refused
        )
