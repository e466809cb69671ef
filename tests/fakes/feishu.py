"""A local Feishu/Lark custom-bot endpoint that verifies the documented body signature.

``POST /open-apis/bot/v2/hook/<token>`` with a JSON body. With a secret, the body's ``sign``
must equal base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b"")) and its ``timestamp``
(seconds) be within one hour of the injectable ``now``, else
``{"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"}``.
Also enforced, each with Feishu's code:

* an unknown token → 19001; a body over 20 KB, not JSON, or without a valid message → 9499 "Bad Request";
* ``keywords`` set and none of them in the message → 19024 "Key Words Not Found";
* more than 5 requests in a second or 100 in a minute of the injectable ``clock`` → 11232
  (counted in ``rate_limited``);
* otherwise ``{"code": 0, "msg": "success", "data": {}}`` (``legacy=True``: the older
  ``{"StatusCode": 0, "StatusMessage": "success"}``) and the body joins ``messages``.

Scripted answers (a code, or an HTTP status with headers) are served first with :meth:`FakeFeishu.enqueue`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from collections.abc import Callable

from tests.fakes._server import FakeServer

HOOK_PATH = "/open-apis/bot/v2/hook/"
MAX_BODY_BYTES = 20 * 1024
MSG = {
    19001: "param invalid: incoming webhook access token invalid",
    19021: "sign match fail or timestamp is not within one hour from current time",
    19024: "Key Words Not Found",
    9499: "Bad Request",
    11232: "frequency limited psm[lark.oapi.app_platform_runtime]appID[-1]",
}
MSG_TYPES = ("text", "post", "image", "share_chat", "interactive")


def expected_sign(secret: str, timestamp: str) -> str:
    """Feishu's signature, computed independently of the code under test: the string is the KEY."""
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _valid_message(body: dict) -> bool:
    kind = body.get("msg_type")
    if kind not in MSG_TYPES:
        return False
    if kind == "interactive":
        card = body.get("card")
        return isinstance(card, dict) and bool(card.get("elements") or card.get("i18n_elements"))
    content = body.get("content")
    return isinstance(content, dict) and bool(content)


class FakeFeishu(FakeServer):
    """Feishu custom bot on 127.0.0.1; ``webhook_url`` is the bot's hook URL (with its token)."""

    def __init__(
        self,
        token: str = "bot-token",
        secret: str | None = "feishu-secret",
        keywords: tuple[str, ...] = (),
        now: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
        legacy: bool = False,
    ):
        super().__init__()
        self.token = token
        self.secret = secret
        self.keywords = keywords
        self.now = now
        self.clock = clock
        self.legacy = legacy
        self.messages: list[dict] = []
        self.rate_limited = 0
        self._seen_at: deque[float] = deque()
        self._scripted: deque[tuple[int, dict, dict]] = deque()
        self._state = threading.Lock()

    @property
    def webhook_url(self) -> str:
        return self.url + HOOK_PATH + self.token

    def enqueue(
        self, code: int, msg: str | None = None, times: int = 1, status: int = 200, headers: dict | None = None
    ) -> None:
        """Answer the next ``times`` well-signed requests with this code (and HTTP status, headers)."""
        answer = (status, headers or {}, {"code": code, "msg": msg or MSG.get(code, "scripted error"), "data": {}})
        with self._state:
            self._scripted.extend([answer] * times)

    @staticmethod
    def _error(code: int) -> tuple[int, dict, object]:
        return 200, {}, {"code": code, "msg": MSG[code], "data": {}}

    def _too_frequent(self) -> bool:
        """5 a second and 100 a minute per bot; every well-signed request counts."""
        now = self.clock()
        while self._seen_at and now - self._seen_at[0] >= 60.0:
            self._seen_at.popleft()
        last_second = sum(1 for t in self._seen_at if now - t < 1.0)
        if last_second >= 5 or len(self._seen_at) >= 100:
            return True
        self._seen_at.append(now)
        return False

    def handle(self, request: dict) -> tuple[int, dict, object]:
        if request["method"] != "POST" or not request["path"].startswith(HOOK_PATH):
            return 404, {}, b"404 page not found"
        if request["path"][len(HOOK_PATH) :] != self.token:
            return self._error(19001)
        if int(request["headers"].get("content-length") or 0) > MAX_BODY_BYTES:
            return self._error(9499)
        body = request["body"]
        if not isinstance(body, dict):
            return self._error(9499)
        if self.secret is not None:
            timestamp, signature = str(body.get("timestamp", "")), str(body.get("sign", ""))
            if not timestamp.isdigit() or abs(self.now() - int(timestamp)) > 3600:
                return self._error(19021)
            if not hmac.compare_digest(signature, expected_sign(self.secret, timestamp)):
                return self._error(19021)
        with self._state:
            scripted = self._scripted.popleft() if self._scripted else None
            if scripted is None and self._too_frequent():
                self.rate_limited += 1
                return self._error(11232)
        if scripted is not None:
            return scripted
        if not _valid_message(body):
            return self._error(9499)
        message = {k: v for k, v in body.items() if k not in ("timestamp", "sign")}
        if self.keywords and not any(k in json.dumps(message, ensure_ascii=False) for k in self.keywords):
            return self._error(19024)
        with self._state:
            self.messages.append(body)
        if self.legacy:
            return 200, {}, {"Extra": None, "StatusCode": 0, "StatusMessage": "success"}
        return 200, {}, {"code": 0, "msg": "success", "data": {}}
