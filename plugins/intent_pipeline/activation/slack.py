"""Slack incoming webhook: a Block Kit message per newly hot lead, or one digest.

``POST {webhook_url}`` with ``{"text": <notification fallback>, "blocks": [mrkdwn sections]}``.
A section's text is at most 3000 characters. Slack answers HTTP 200 with the body ``ok``;
429 is waited out for its ``Retry-After`` and retried; 5xx are retried with backoff; 400
(``invalid_payload``, ``no_text``, ``invalid_blocks``, …) rejects the message with Slack's text
(retried next run while the lead is hot); 403 ``action_prohibited``, 404 ``no_service`` /
``channel_not_found`` and 410 ``channel_is_archived`` fail the task (the webhook cannot work
until someone fixes it). Slack posts about one message a second per webhook, paced here.

Sources: Slack's changelog "Improving error conditions for Incoming Webhooks" (2016-05-17:
400 invalid_payload/user_not_found, 403 action_prohibited, 404 channel_not_found, 410
channel_is_archived, 500 rollup_error); Slack's rate-limits guide (incoming webhooks: 1 message
a second, short bursts allowed; 429 with Retry-After); Block Kit's 3000-character section text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from intent_pipeline.activation.chat import (
    Answer,
    ChatDestination,
    ChatSettings,
    chat_options,
    escaped_view,
    post_json,
    rendered,
    request_url,
    truncate_chars,
)
from intent_pipeline.activation.config import DestinationRefused, _base_url, _credential, _extra
from intent_pipeline.activation.escape import URL_ESCAPES, escaped, slack_text
from intent_pipeline.activation.http import Retry, status_outcome
from intent_pipeline.activation.ledger import ACKNOWLEDGED, DEFERRED, REJECTED
from intent_pipeline.activation.retry import SlidingWindow

if TYPE_CHECKING:
    import requests

NAME = "slack"
DEFAULT_URL = "https://hooks.slack.com/services"
MAX_SECTION_CHARS = 3000  # Block Kit: a section's text
REFUSED_STATUSES = {403, 404, 410}  # action_prohibited, no_service/channel_not_found, channel_is_archived


class SlackConfigError(DestinationRefused):
    """Slack refused the webhook (revoked, prohibited, channel gone or archived): a configuration problem."""


@dataclass(frozen=True)
class SlackConfig(ChatSettings):
    """A Slack incoming webhook (``https://hooks.slack.com/services/T…/B…/…``).

    Slack posts about one message per second per webhook (short bursts tolerated):
    ``max_per_minute=60``, paced one a second.
    """

    VENDOR = "Slack"
    CREDENTIAL = "webhook URL"

    webhook_url: str = field(repr=False)  # the whole URL is the credential
    max_per_minute: int = field(default=60, kw_only=True)

    @property
    def credential(self) -> str:
        """The whole webhook URL (never empty: ``check_chat_config`` wants an http(s) URL)."""
        return self.webhook_url

    @property  # not ChatSettings' (the whole URL): only the path is secret, the host stays readable in errors
    def secrets(self) -> tuple[str, ...]:
        """The webhook's path (``T…/B…/<token>``, after ``/services/`` when it has that): the credential."""
        path = urlsplit(self.webhook_url).path.strip("/")
        return (path.split("services/", 1)[-1],) if path else ()

    @classmethod
    def from_airflow_connection(cls, conn: object) -> SlackConfig:
        """Build from a connection: password = the webhook URL (it is the credential), or host = the URL.

        A password that is only the path (``T…/B…/…``) is appended to the host
        (default ``https://hooks.slack.com/services``).
        Extra keys understood: ``webhook_url`` (when the password is empty) and ``chat.CHAT_EXTRA_KEYS``.
        """
        extra = _extra(conn)
        secret = _credential(conn, "webhook_url")
        if secret.startswith(("http://", "https://")):
            url = secret
        else:
            url = _base_url(conn) or DEFAULT_URL
            if secret:
                url = f"{url.rstrip('/')}/{secret.strip('/')}"
        return cls(webhook_url=url, **chat_options(cls, extra))


def escape(value):
    """A value as text in Slack mrkdwn (``escape.slack_text``: ``&<>`` as Slack's entities, no emphasis,
    mention, URL or line break), in strings, and strings in lists."""
    return escaped(value, slack_text)


def slack_view(fields: dict, lang: str) -> dict:
    """The template's values as text in Slack mrkdwn (a stall's values too; ``chat.escaped_view``)."""
    return escaped_view(fields, lang, slack_text, URL_ESCAPES["slack"])


def section(text: str) -> dict:
    # verbatim: Slack links no URL and parses no mention in the text itself; only our <url|text> links count
    text_object = {"type": "mrkdwn", "text": truncate_chars(text, MAX_SECTION_CHARS), "verbatim": True}
    return {"type": "section", "text": text_object}


class SlackDestination(ChatDestination[SlackConfig]):
    """Alerts newly hot leads in a Slack channel; with ``config=None`` it only builds the bodies (outbox)."""

    name = NAME

    def limits(self) -> list[SlidingWindow]:
        # One message every 60/max_per_minute seconds, no burst: Slack's "about one a second".
        per_minute = self.config.max_per_minute if self.config else 60
        return [SlidingWindow(1, 60.0 / per_minute, self.clock, self._sleep)]

    def message_body(self, fields: dict, lang: str) -> dict:
        macros = self.message_macros(fields, lang)
        fallback = truncate_chars(rendered(macros.fallback, self.view(fields, lang)), MAX_SECTION_CHARS)
        text = self.message_text(fields, lang, lambda candidate: len(candidate) <= MAX_SECTION_CHARS)
        return {"text": fallback, "blocks": [section(text)]}

    def digest_body(self, leads: list[dict], lang: str) -> dict:
        """One message naming the count and listing the leads, hottest first, in one 3000-character section."""
        macros = self.digest_macros(leads, lang)
        text = self.digest_text(leads, lang, lambda t: len(t) <= MAX_SECTION_CHARS)
        return {"text": rendered(macros.fallback, len(leads)), "blocks": [section(text)]}

    def post(self, body: dict) -> requests.Response:
        config = self.sending
        return post_json(self._http(), config.webhook_url, body, config.timeout)

    def classify(self, response: requests.Response) -> Answer | Retry:
        answer = response.text.strip()[:300]
        reason = f"HTTP {response.status_code} {answer}"
        if response.status_code == 200:
            return (ACKNOWLEDGED, None) if answer == "ok" else (DEFERRED, reason)
        if response.status_code in REFUSED_STATUSES:
            raise SlackConfigError(
                f"Slack refused the webhook {request_url(response)} ({reason}): check the '{NAME}_default' "
                "connection — password = the incoming webhook URL; the webhook may have been revoked, or its "
                "channel archived or deleted."
            )
        if response.status_code == 400:
            return REJECTED, reason
        return status_outcome(response, reason) or (DEFERRED, reason)
