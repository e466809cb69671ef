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

from urllib.parse import quote_plus

from intent_pipeline.activation.chat import (
    ChatDestination,
    WeComConfig,
    digest_lines,
    fit_lines,
    lead_view,
    post_json,
    rendered,
    truncate_utf8,
    utf8_len,
)
from intent_pipeline.activation.config import DestinationRefused

NAME = "wecom"
MAX_CONTENT_BYTES = 4096
TOO_FAST = 45009  # api freq out of limit
TOO_FAST_WAIT = 60.0  # WeCom counts per minute: wait a whole one before retrying
CONFIG_ERRCODES = {93000}  # invalid webhook url: wrong key, or the robot was removed from the group


class WeComConfigError(DestinationRefused):
    """WeCom refused the robot's key: a configuration problem, not a data problem."""


def webhook_url(config: WeComConfig) -> str:
    return f"{config.webhook_url}?key={quote_plus(config.key)}"


def markdown(content: str) -> dict:
    return {"msgtype": "markdown", "markdown": {"content": truncate_utf8(content, MAX_CONTENT_BYTES)}}


class WeComDestination(ChatDestination):
    """Alerts newly hot leads in a WeCom group; with ``config=None`` it only builds the bodies (outbox)."""

    name = NAME
    config: WeComConfig | None

    def message_body(self, fields: dict, lang: str) -> dict:
        """The robot's markdown for one lead, cut to 4096 bytes if its reasons are very long."""
        return markdown(rendered(self.message_macros(fields, lang).text, lead_view(fields, lang)))

    def digest_body(self, leads: list[dict], lang: str) -> dict:
        """One markdown message naming the count and listing the leads, hottest first, within 4096 bytes."""
        macros = self.digest_macros(leads, lang)
        lines = digest_lines(macros, leads, lang)
        content = fit_lines(
            rendered(macros.header, len(leads)),
            lines,
            lambda n: rendered(macros.more, n),
            lambda text: utf8_len(text) <= MAX_CONTENT_BYTES,
        )
        return markdown(content)

    def _send(self, body: dict) -> tuple[str, str | None]:
        url = webhook_url(self.config)

        def refused(errcode, errmsg):
            return WeComConfigError(
                f"WeCom refused the robot (errcode {errcode}: {errmsg}): check the '{NAME}_default' "
                "connection — password = the robot's key (the key=… part of its webhook URL)."
            )

        def attempt():
            response = post_json(self._http(), url, body, self.config.timeout)
            return self.errcode_outcome(
                response, too_fast=TOO_FAST, too_fast_wait=TOO_FAST_WAIT, config_codes=CONFIG_ERRCODES, refused=refused
            )

        return self._with_retries(attempt)
