"""A small threaded HTTP server on 127.0.0.1 for fake vendor APIs, with a log of what it received."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class RequestLog:
    """Thread-safe list of received requests (dicts: method, path, query, headers, body, status, response)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._items: list[dict] = []

    def append(self, item: dict) -> None:
        with self._lock:
            self._items.append(item)

    def snapshot(self) -> list[dict]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class FakeServer:
    """Base class: subclasses implement ``handle(request) -> (status, headers, body)``.

    Use as a context manager: the server listens on an ephemeral port in a
    background thread; ``url`` is ``http://127.0.0.1:<port>``; ``requests`` is a
    snapshot of everything received, in order, with the status it was answered.
    """

    def __init__(self):
        self._log = RequestLog()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""
        # hold(n): the n-th request is handled (a robot posts the message) but not answered until
        # ``release`` is set; ``holding`` is set meanwhile (a test kills its client then)
        self._hold_at: int | None = None
        self._served = 0
        self.holding = threading.Event()
        self.release = threading.Event()

    def hold(self, n: int) -> None:
        """Handle the ``n``-th request from now as usual, then keep its answer until ``release`` is set."""
        with self._lock:
            self._hold_at, self._served = n, 0
        self.holding.clear()
        self.release.clear()

    @property
    def requests(self) -> list[dict]:
        return self._log.snapshot()

    def clear_requests(self) -> None:
        self._log.clear()

    def handle(self, request: dict) -> tuple[int, dict, object]:  # pragma: no cover - abstract
        raise NotImplementedError

    def __enter__(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                parts = urlsplit(self.path)
                request = {
                    "method": self.command,
                    "path": parts.path,
                    "query": {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body,
                }
                status, headers, payload = server.handle(request)
                request["status"] = status
                request["response"] = payload
                request["received_at"] = time.monotonic()
                server._log.append(request)
                with server._lock:
                    server._served += 1
                    hold = server._hold_at is not None and server._served == server._hold_at
                if hold:  # handled (the robot posted it), the answer withheld: the client waits
                    server.holding.set()
                    server.release.wait()
                data = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
                try:
                    self.send_response(status)
                    headers = dict(headers or {})
                    # JSON unless the fake names its own type (SOAP answers in text/xml)
                    self.send_header("Content-Type", headers.pop("Content-Type", "application/json;charset=utf-8"))
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in headers.items():
                        self.send_header(name, str(value))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test): nothing to answer

            do_POST = _serve
            do_GET = _serve
            do_PUT = _serve
            do_DELETE = _serve  # Salesforce's delete by external id

            def log_message(self, format, *args):  # keep pytest output clean
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        # serve_forever polls for shutdown every 0.5 s by default: every server a test starts would
        # cost half a second at its exit (178 servers: about 75 s of the suite doing nothing).
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()  # a held answer never keeps the server from closing
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)
