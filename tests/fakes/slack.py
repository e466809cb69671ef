"""A local Slack incoming-webhook endpoint that enforces the documented answers.

``POST /services/<T…>/<B…>/<secret>`` with a JSON message:

* another path → HTTP 404 ``no_service`` (a revoked or mistyped webhook);
* ``archived=True`` → 410 ``channel_is_archived``; ``prohibited=True`` → 403 ``action_prohibited``;
* not JSON (or not ``application/json``), or a body with neither ``text`` nor ``blocks`` →
  400 ``invalid_payload``; more than 50 blocks or a section text over 3000 characters →
  400 ``invalid_blocks``;
* otherwise HTTP 200 with the body ``ok``, and the body joins ``messages``.

:meth:`FakeSlack.rate_limit` answers the next requests 429 with ``Retry-After``;
:meth:`FakeSlack.enqueue` serves any scripted status and text first.
"""

from __future__ import annotations

import threading
from collections import deque

from tests.fakes._server import FakeServer

WEBHOOK_PATH = "/services/T0001/B0001/s3cr3t"
MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000


def _blocks_ok(blocks) -> bool:
    if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
        return False
    for block in blocks:
        if not isinstance(block, dict) or "type" not in block:
            return False
        text = (block.get("text") or {}).get("text", "") if block["type"] == "section" else ""
        if len(text) > MAX_SECTION_CHARS:
            return False
    return True


class FakeSlack(FakeServer):
    """Slack incoming webhook on 127.0.0.1; ``webhook_url`` is the webhook's URL."""

    def __init__(self, path: str = WEBHOOK_PATH, archived: bool = False, prohibited: bool = False):
        super().__init__()
        self.path = path
        self.archived = archived
        self.prohibited = prohibited
        self.messages: list[dict] = []
        self._scripted: deque[tuple[int, dict, bytes]] = deque()
        self._state = threading.Lock()

    @property
    def webhook_url(self) -> str:
        return self.url + self.path

    def enqueue(self, status: int, text: str, times: int = 1, headers: dict | None = None) -> None:
        """Answer the next ``times`` requests to the webhook with this status and body."""
        with self._state:
            self._scripted.extend([(status, headers or {}, text.encode())] * times)

    def rate_limit(self, times: int = 1, retry_after: int | str = 1) -> None:
        """Answer the next ``times`` requests 429 ``rate_limited`` with ``Retry-After: retry_after``."""
        self.enqueue(429, "rate_limited", times, {"Retry-After": retry_after})

    def handle(self, request: dict) -> tuple[int, dict, object]:
        if request["method"] != "POST" or request["path"] != self.path:
            return 404, {}, b"no_service"
        if self.archived:
            return 410, {}, b"channel_is_archived"
        if self.prohibited:
            return 403, {}, b"action_prohibited"
        with self._state:
            scripted = self._scripted.popleft() if self._scripted else None
        if scripted is not None:
            return scripted
        body = request["body"]
        json_type = request["headers"].get("content-type", "").startswith("application/json")
        if not json_type or not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
            return 400, {}, b"invalid_payload"
        if "blocks" in body and not _blocks_ok(body["blocks"]):
            return 400, {}, b"invalid_blocks"
        with self._state:
            self.messages.append(body)
        return 200, {}, b"ok"
