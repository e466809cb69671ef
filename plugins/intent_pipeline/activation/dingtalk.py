"""DingTalk custom robot: one markdown message per newly hot lead, at most once per lead, ever.

``POST {webhook_url}?access_token=…[&timestamp=<ms>&sign=<sign>]`` with
``{"msgtype": "markdown", "markdown": {"title": …, "text": …}}``. The message
comes from the Jinja2 templates in ``templates/``. DingTalk answers HTTP 200
with ``{"errcode": 0, "errmsg": "ok"}`` on success; ``130101`` (sending too fast)
is waited out and retried; signature/token errors fail the task (configuration);
any other errcode rejects the message with DingTalk's text. A robot takes at most
20 messages a minute, enforced here with a sliding 60-second window.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import random
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote_plus

from intent_pipeline.activation.config import DestinationRefused, DingTalkConfig
from intent_pipeline.activation.http import HttpSender
from intent_pipeline.activation.ledger import ACKNOWLEDGED, DEFERRED, REJECTED, LedgerEntry
from intent_pipeline.activation.retry import SlidingWindow, backoff_delay
from intent_pipeline.activation.segments import Planned

log = logging.getLogger(__name__)

NAME = "dingtalk"
TEMPLATES = Path(__file__).with_name("templates")
TITLE_TEMPLATE = "dingtalk_hot_lead_title.j2"
TEXT_TEMPLATE = "dingtalk_hot_lead.md.j2"

TOO_FAST = 130101  # "send too fast, exceed 20 times per minute"
TOO_FAST_WAIT = 60.0  # DingTalk counts per minute: wait a whole one before retrying
# Token missing/invalid, signature or keyword/IP security check failed: every message would fail the same way.
CONFIG_ERRCODES = {300001, 300005, 310000, 400101, 400102}


class DingTalkConfigError(DestinationRefused):
    """DingTalk refused the robot's token or signature: a configuration problem, not a data problem."""


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


def _reasons(value: str | None) -> list[str]:
    """``score_reasons`` as a list: a JSON array, or text separated by ``;``, ``,`` or ``|``."""
    if not value:
        return []
    text = value.strip()
    if text.startswith("["):
        try:
            items = json.loads(text)
            return [str(i).strip() for i in items if str(i).strip()]
        except ValueError:
            pass
    for separator in (";", "|", ","):
        if separator in text:
            return [part.strip() for part in text.split(separator) if part.strip()]
    return [text]


def alert_fields(row: dict) -> dict:
    """The values the alert shows (hashed into the ledger)."""
    return {
        "person_id": row.get("person_id"),
        "full_name": row.get("full_name"),
        "company": row.get("company"),
        "job_title": row.get("job_title"),
        "email": row.get("email"),
        "phone": row.get("phone"),
        "lead_score": None if row.get("lead_score") is None else int(row["lead_score"]),
        "reasons": _reasons(row.get("score_reasons")),
        "owner": row.get("owner"),
    }


_env = None


def _jinja():
    global _env
    if _env is None:
        import jinja2

        # Markdown, not HTML: no autoescape; StrictUndefined so a template typo fails loudly.
        _env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(TEMPLATES)),
            autoescape=False,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=False,
        )
    return _env


def message_body(fields: dict) -> dict:
    """The robot's markdown message for one newly hot lead."""
    env = _jinja()
    title = env.get_template(TITLE_TEMPLATE).render(**fields).strip()
    text = env.get_template(TEXT_TEMPLATE).render(**fields).strip()
    return {"msgtype": "markdown", "markdown": {"title": title, "text": text}, "at": {"isAtAll": False}}


class AlertOnce:
    """The planning rule of every chat destination: alert a lead once, ever, when it becomes hot.

    Candidates are the leads that became hot in the interval plus earlier alerts that failed and
    are still hot; the key is the person; an acknowledged alert is never resent, whatever changed
    since. Subclasses add ``map_fields``, ``bodies`` and the sending.
    """

    def candidates(self, rows: list[dict], entries: dict[str, LedgerEntry]) -> list[dict]:
        """Leads that became hot in the interval, plus earlier alerts that failed and are still hot."""
        return [
            row
            for row in rows
            if row.get("became_hot_in_interval")
            or ((entry := entries.get(row.get("person_id"))) is not None and not entry.acknowledged)
        ]

    def key_of(self, row: dict) -> str | None:
        return row.get("person_id")

    def validate(self, row: dict) -> str | None:
        if not row.get("person_id"):
            return "person_id is empty"
        if row.get("lead_score") is None:
            return "lead_score is empty"
        return None

    def is_unchanged(self, item: Planned, entry: LedgerEntry) -> bool:
        return entry.acknowledged


class DingTalkDestination(AlertOnce, HttpSender):
    """Alerts newly hot leads in a DingTalk group; with ``config=None`` it only builds the bodies (outbox)."""

    name = NAME

    def __init__(
        self,
        config: DingTalkConfig | None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ):
        self.config = config
        self._start_http(sleep)
        self.rng = rng or random.Random()
        # at most 20 in ANY minute: a token bucket would allow its burst plus a minute's refill
        self.bucket = SlidingWindow(config.max_per_minute if config else 20, 60.0, clock=clock, sleep=self._sleep)

    # --- planning (AlertOnce) and bodies -------------------------------------------------------

    def map_fields(self, row: dict) -> dict:
        return alert_fields(row)

    def bodies(self, items: list[Planned]) -> list[tuple[dict, list[Planned]]]:
        """One message per lead."""
        return [(message_body(it.fields), [it]) for it in items]

    # --- sending --------------------------------------------------------------------------------

    def send(self, body: dict, items: list[Planned]) -> list[tuple[str, str, str | None]]:
        """Send one message; ``[(person_id, status, reason)]``."""
        status, reason = self._send(body)
        return [(it.key, status, reason) for it in items]

    def _send(self, body: dict) -> tuple[str, str | None]:
        import requests

        attempts = self.config.max_retries + 1
        reason = ""
        for attempt in range(attempts):
            self.bucket.take()
            self.requests += 1
            wait = backoff_delay(attempt, self.rng)
            try:
                # Signed afresh on each attempt: DingTalk rejects timestamps older than an hour.
                response = self._http().post(signed_url(self.config), json=body, timeout=self.config.timeout)
            except (requests.Timeout, requests.ConnectionError) as error:
                reason = f"{type(error).__name__}: {error}"
            else:
                if response.status_code != 200:
                    reason = f"HTTP {response.status_code} {response.text[:300]}"
                    if response.status_code < 500 and response.status_code != 429:
                        return DEFERRED, reason
                else:
                    try:
                        data = response.json()
                    except ValueError:
                        return DEFERRED, f"not JSON: {response.text[:300]}"
                    errcode = data.get("errcode")
                    errmsg = data.get("errmsg", "")
                    if errcode == 0:
                        return ACKNOWLEDGED, None
                    if errcode in CONFIG_ERRCODES:
                        raise DingTalkConfigError(
                            f"DingTalk refused the robot (errcode {errcode}: {errmsg}): check the 'dingtalk_default' "
                            "connection — password = access token, extra.secret = the robot's SEC… signing secret "
                            "(or the robot's keyword/IP security settings)."
                        )
                    if errcode != TOO_FAST:
                        return REJECTED, f"errcode {errcode}: {errmsg}"
                    reason = f"errcode {errcode}: {errmsg}"
                    wait = TOO_FAST_WAIT
            if attempt + 1 < attempts:
                log.info("dingtalk: %s; retry %d/%d in %.1f s", reason, attempt + 1, attempts - 1, wait)
                self._sleep(wait)
        return DEFERRED, f"gave up after {attempts} attempts, last: {reason}"
