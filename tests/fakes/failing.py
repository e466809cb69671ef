"""An endpoint that fails every request in one way, and echoes what it received in its answer.

Careless APIs (and proxies in front of good ones) put the request's URL, headers or body in their
error texts; this fake always does, so any secret a client sends (a token in the query or the path,
an ``Authorization`` header, a client secret in a form body) is in every answer it gets. Modes:

* ``"400"``, ``"401"``, ``"403"``, ``"404"``, ``"429"``, ``"500"``, ``"503"``: that status, a JSON body
  ``{"error": …, "message": <the echo>}``;
* ``"malformed"``: HTTP 200 with a body that is not JSON (the echo);
* ``"wrong_json"``: HTTP 200 with a JSON array holding the echo (valid JSON, not the vendor's shape);
* ``"timeout"``: the answer comes ``delay`` seconds late (longer than the client's timeout).

``refused_url()`` is a URL where nothing listens (connection refused).
"""

from __future__ import annotations

import json
import socket
import time

from tests.fakes._server import FakeServer

MODES = ("400", "401", "403", "404", "429", "500", "503", "malformed", "wrong_json", "timeout")


def refused_url() -> str:
    """``http://127.0.0.1:<port>`` of a port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class FailingServer(FakeServer):
    def __init__(self, mode: str, delay: float = 1.0):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}: one of {MODES}")
        super().__init__()
        self.mode = mode
        self.delay = delay
        self.received: list[dict] = []  # every request as it arrives (``requests`` logs it once answered)

    @staticmethod
    def echo(request: dict) -> str:
        query = "&".join(f"{k}={v}" for k, v in request["query"].items())
        body = request["body"] if isinstance(request["body"], str) else json.dumps(request["body"], ensure_ascii=False)
        return (f"{request['method']} {request['path']}{'?' + query if query else ''} "
                f"headers={json.dumps(request['headers'])} body={body[:2000]}")  # fmt: skip

    def __enter__(self):
        super().__enter__()
        handler = self._httpd.RequestHandlerClass  # the base server serves GET/POST/PUT; Salesforce also PATCHes
        handler.do_PATCH = handler._serve
        handler.do_DELETE = handler._serve
        return self

    def handle(self, request: dict) -> tuple[int, dict, object]:
        self.received.append(request)
        echo = self.echo(request)
        if self.mode == "timeout":
            time.sleep(self.delay)
            return 200, {}, {"errcode": 0, "echo": echo}
        if self.mode == "malformed":
            return 200, {}, f"<html>upstream error: {echo}".encode()
        if self.mode == "wrong_json":
            return 200, {}, [echo]
        status = int(self.mode)
        headers = {"Retry-After": "0"} if status in (429, 503) else {}
        return status, headers, {"error": f"HTTP {status}", "message": echo, "errorCode": "ECHO"}
