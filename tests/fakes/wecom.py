"""A local WeCom (企业微信) group-robot endpoint that enforces the documented contract.

``POST /cgi-bin/webhook/send?key=<key>`` with a JSON message. Always HTTP 200, like WeCom:

* a missing or wrong ``key`` → ``{"errcode": 93000, "errmsg": "invalid webhook url, …"}``;
* more than ``per_minute`` (20) accepted messages within 60 s of the injectable ``clock`` →
  ``{"errcode": 45009, "errmsg": "api freq out of limit"}`` (counted in ``rate_limited``);
* a ``msgtype`` other than text/markdown → 40008; empty content → 44004;
  ``markdown.content`` over 4096 bytes of UTF-8 → 40058 (text over 2048 bytes → 40058 too);
* otherwise ``{"errcode": 0, "errmsg": "ok"}`` and the body joins ``messages``.

Scripted errcodes are served first (after the key check) with :meth:`FakeWeCom.enqueue`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from tests.fakes._server import FakeServer

SEND_PATH = "/cgi-bin/webhook/send"
MAX_MARKDOWN_BYTES = 4096
MAX_TEXT_BYTES = 2048
ERRMSG = {
    93000: "invalid webhook url, hint: [fake], more info at https://open.work.weixin.qq.com/devtool/query?e=93000",
    45009: "api freq out of limit",
    40008: "invalid message type",
    44004: "empty content",
    40058: "markdown.content exceed max length 4096. invalid Request Parameter",
}


class FakeWeCom(FakeServer):
    """WeCom robot on 127.0.0.1; ``webhook_url`` is the robot's send URL (without ``?key=``)."""

    def __init__(self, key: str = "robot-key", clock: Callable[[], float] = time.monotonic, per_minute: int = 20):
        super().__init__()
        self.key = key
        self.clock = clock
        self.per_minute = per_minute
        self.messages: list[dict] = []
        self.rate_limited = 0
        self._accepted_at: deque[float] = deque()
        self._scripted: deque[tuple[int, str]] = deque()
        self._state = threading.Lock()

    @property
    def webhook_url(self) -> str:
        return self.url + SEND_PATH

    def enqueue(self, errcode: int, errmsg: str | None = None, times: int = 1) -> None:
        """Answer the next ``times`` requests with a good key with this errcode."""
        with self._state:
            self._scripted.extend([(errcode, errmsg or ERRMSG.get(errcode, "scripted error"))] * times)

    @staticmethod
    def _error(errcode: int) -> tuple[int, dict, object]:
        return 200, {}, {"errcode": errcode, "errmsg": ERRMSG[errcode]}

    def handle(self, request: dict) -> tuple[int, dict, object]:
        if request["method"] != "POST" or request["path"] != SEND_PATH:
            return 404, {}, b"Not Found"
        if request["query"].get("key") != self.key:
            return self._error(93000)
        with self._state:
            scripted = self._scripted.popleft() if self._scripted else None
        if scripted is not None:
            return 200, {}, {"errcode": scripted[0], "errmsg": scripted[1]}
        body = request["body"]
        if not isinstance(body, dict) or body.get("msgtype") not in ("text", "markdown"):
            return self._error(40008)
        content = (body.get(body["msgtype"]) or {}).get("content") or ""
        if not content:
            return self._error(44004)
        limit = MAX_MARKDOWN_BYTES if body["msgtype"] == "markdown" else MAX_TEXT_BYTES
        if len(content.encode("utf-8")) > limit:
            return 200, {}, {"errcode": 40058, "errmsg": f"{body['msgtype']}.content exceed max length {limit}"}
        with self._state:
            now = self.clock()
            while self._accepted_at and now - self._accepted_at[0] >= 60.0:
                self._accepted_at.popleft()
            if len(self._accepted_at) >= self.per_minute:
                self.rate_limited += 1
                return self._error(45009)
            self._accepted_at.append(now)
            self.messages.append(body)
        return 200, {}, {"errcode": 0, "errmsg": "ok"}
