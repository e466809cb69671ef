"""A local DingTalk custom-robot endpoint that checks the documented signature.

``POST /robot/send?access_token=<token>[&timestamp=<ms>&sign=<sign>]`` with a JSON message.
With a secret, ``sign`` must equal base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}"))
and ``timestamp`` be within one hour of now, else ``{"errcode": 310000, ...}``. Always HTTP 200
with ``{"errcode": 0, "errmsg": "ok"}`` on success, like DingTalk. Scripted errcodes (e.g. 130101,
"send too fast") are served first with :meth:`FakeDingTalk.enqueue`.

``messages`` holds the accepted message bodies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections import deque

from tests.fakes._server import FakeServer

SEND_PATH = "/robot/send"
ERRMSG = {
    130101: "send too fast, exceed 20 times per minute",
    300001: "token is not exist",
}


def expected_sign(secret: str, timestamp: str) -> str:
    """DingTalk's signature, computed independently of the code under test."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class FakeDingTalk(FakeServer):
    """DingTalk robot on 127.0.0.1; ``webhook_url`` is the robot's send URL."""

    def __init__(
        self,
        access_token: str = "robot-token",
        secret: str | None = "SECtest-secret",
        max_per_minute: int | None = None,
        clock=time.monotonic,
    ):
        """``max_per_minute``: answer errcode 130101 to a message that finds that many accepted in
        the last 60 s of ``clock`` (DingTalk's 20 a minute; inject the client's clock in tests)."""
        super().__init__()
        self.access_token = access_token
        self.secret = secret
        self.max_per_minute = max_per_minute
        self.clock = clock
        self.throttled = 0
        self._accepted: deque[float] = deque()
        self.messages: list[dict] = []
        self._scripted: deque[tuple[int, str]] = deque()
        self._state = threading.Lock()

    @property
    def webhook_url(self) -> str:
        return self.url + SEND_PATH

    def enqueue(self, errcode: int, errmsg: str | None = None, times: int = 1) -> None:
        """Answer the next ``times`` well-signed requests with this errcode."""
        with self._state:
            self._scripted.extend([(errcode, errmsg or ERRMSG.get(errcode, "scripted error"))] * times)

    def handle(self, request: dict) -> tuple[int, dict, object]:
        if request["method"] != "POST" or request["path"] != SEND_PATH:
            return 404, {}, b"Not Found"
        query = request["query"]
        if query.get("access_token") != self.access_token:
            return 200, {}, {"errcode": 300001, "errmsg": ERRMSG[300001]}
        if self.secret is not None:
            timestamp, signature = query.get("timestamp", ""), query.get("sign", "")
            if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > 3600 * 1000:
                return 200, {}, {"errcode": 310000, "errmsg": "invalid timestamp"}
            # parse_qs already URL-decoded ``sign``; compare the base64 text.
            if not hmac.compare_digest(signature, expected_sign(self.secret, timestamp)):
                return 200, {}, {"errcode": 310000, "errmsg": "sign not match"}
        with self._state:
            scripted = self._scripted.popleft() if self._scripted else None
        if scripted is not None:
            return 200, {}, {"errcode": scripted[0], "errmsg": scripted[1]}
        body = request["body"]
        if not isinstance(body, dict) or body.get("msgtype") not in ("text", "markdown", "link", "actionCard"):
            return 200, {}, {"errcode": 40035, "errmsg": "缺少参数 msgtype"}
        if body["msgtype"] == "markdown":
            markdown = body.get("markdown") or {}
            if not markdown.get("title") or not markdown.get("text"):
                return 200, {}, {"errcode": 40035, "errmsg": "缺少参数 markdown.title/markdown.text"}
        with self._state:
            if self.max_per_minute is not None:
                now = self.clock()
                while self._accepted and now - self._accepted[0] >= 60.0:
                    self._accepted.popleft()
                if len(self._accepted) >= self.max_per_minute:
                    self.throttled += 1
                    return 200, {}, {"errcode": 130101, "errmsg": ERRMSG[130101]}
                self._accepted.append(now)
            self.messages.append(body)
        return 200, {}, {"errcode": 0, "errmsg": "ok"}
