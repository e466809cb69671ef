"""A local in-house CRM that receives the intent webhook and enforces its documented contract.

Checks, in order, every ``POST /hooks/intent``:

* ``X-Intent-Timestamp`` within ± 5 minutes of the server's clock and ``X-Intent-Signature`` equal to
  ``sha256=`` + hex HMAC-SHA256(secret, ``<timestamp>.<raw body>``), computed here independently of the
  client and compared in constant time — else 401 ``{"error": "..."}``;
* an ``Idempotency-Key`` header equal to the body's ``batch_id``; a key already answered with a 2xx is
  answered again with the stored answer (header ``Idempotent-Replayed: true``) and not applied twice;
* a body ``{"batch_id", "sent_at", "records": [{"key", ...}]}`` with at most ``max_records`` records,
  unique keys, ``lead_score`` a number — else 400 / 413 / 422;
* a body with ``"event": "forget"`` (an erasure: ``{"event": "forget", "batch_id", "sent_at", "records":
  [{"key"}]}``) removes those records (``forgotten`` lists the keys) and answers 200 ``{"results": []}``;
* records told to :meth:`reject` fail per record (207 with ``results``) or (``mode="422"``) fail the
  whole request; everything else is upserted into ``records`` by key.

:meth:`enqueue` scripts answers (429 with ``Retry-After``, 503…) for the next requests after the
signature check; :meth:`lose_answers` applies a batch but answers 503, like a response lost on the way.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import deque

from tests.fakes._server import FakeServer

PATH = "/hooks/intent"
TOLERANCE = 300


def expected_signature(secret: str, timestamp: str, raw_body: bytes) -> str:
    """What a receiver computes, written from the contract (not imported from the client)."""
    message = timestamp.encode() + b"." + raw_body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class FakeCrmWebhook(FakeServer):
    """The receiving end of the CRM webhook on 127.0.0.1, with scripted faults."""

    def __init__(self, secret: str = "whsec-test", max_records: int = 100):
        super().__init__()
        self.secret = secret
        self.max_records = max_records
        self.records: dict[str, dict] = {}
        self.applied: list[str] = []  # batch ids applied, in order
        self.raw_bodies: list[bytes] = []
        self._answers: dict[str, tuple[int, dict]] = {}  # Idempotency-Key -> first 2xx answer
        self._scripted: deque[tuple[int, dict, object]] = deque()
        self._rejections: dict[str, tuple[str, str]] = {}  # key -> (error, mode)
        self._lost = 0
        self._local = threading.local()
        self._state = threading.Lock()
        self.forgotten: list[str] = []  # keys of forget events, in order

    @property
    def webhook_url(self) -> str:
        return self.url + PATH

    def __enter__(self):
        super().__enter__()
        # The base server parses the body before handing it over; the signature is over the raw bytes.
        handler = self._httpd.RequestHandlerClass
        fake = self

        def do_POST(request_handler):  # noqa: N802 - http.server's naming
            length = int(request_handler.headers.get("Content-Length") or 0)
            raw = request_handler.rfile.read(length) if length else b""
            with fake._state:
                fake.raw_bodies.append(raw)
            fake._local.raw = raw  # handle() runs in this thread
            connection, request_handler.rfile = request_handler.rfile, _Replay(raw)
            try:
                handler._serve(request_handler)
            finally:
                request_handler.rfile = connection  # keep-alive: the next request comes from the socket

        handler.do_POST = do_POST
        return self

    # --- scripting ------------------------------------------------------------------------------

    def enqueue(self, status: int, body: object = None, headers: dict | None = None, times: int = 1) -> None:
        """Answer the next ``times`` correctly signed requests with ``status``, without applying them."""
        with self._state:
            self._scripted.extend([(status, headers or {}, body or {"error": f"scripted {status}"})] * times)

    def reject(self, key: str, error: str | None = None, mode: str = "record") -> None:
        """Refuse this record: in the per-record results (207), or (``mode="422"``) the whole request."""
        assert mode in ("record", "422")
        with self._state:
            self._rejections[key] = (error or f"record {key} refused", mode)

    def accept(self, key: str) -> None:
        with self._state:
            self._rejections.pop(key, None)

    def lose_answers(self, times: int = 1) -> None:
        """Apply the next ``times`` batches but answer 503, as if the answer was lost."""
        with self._state:
            self._lost += times

    # --- contract -------------------------------------------------------------------------------

    def handle(self, request: dict) -> tuple[int, dict, object]:
        raw = getattr(self._local, "raw", b"")
        headers = request["headers"]
        if request["method"] != "POST" or request["path"] != PATH:
            return 404, {}, {"error": f"no route for {request['method']} {request['path']}"}
        timestamp = headers.get("x-intent-timestamp") or ""
        try:
            skew = abs(time.time() - int(timestamp))
        except ValueError:
            return 401, {}, {"error": "missing or malformed X-Intent-Timestamp"}
        if skew > TOLERANCE:
            return 401, {}, {"error": f"timestamp {timestamp} is {skew:.0f} s from now (tolerance {TOLERANCE} s)"}
        signature = headers.get("x-intent-signature") or ""
        if not hmac.compare_digest(expected_signature(self.secret, timestamp, raw), signature):
            return 401, {}, {"error": "signature mismatch"}
        body = request["body"]
        key = headers.get("idempotency-key")
        if not isinstance(body, dict) or not key or key != body.get("batch_id"):
            return 400, {}, {"error": "Idempotency-Key must be the body's batch_id"}
        with self._state:
            stored = self._answers.get(key)
            scripted = self._scripted.popleft() if self._scripted and stored is None else None
        if stored is not None:
            return stored[0], {"Idempotent-Replayed": "true"}, stored[1]
        if scripted is not None:
            return scripted
        records = body.get("records")
        if not isinstance(records, list) or not records or not body.get("sent_at"):
            return 400, {}, {"error": "body must be {batch_id, sent_at, records: [...]}"}
        if len(records) > self.max_records:
            return 413, {}, {"error": f"at most {self.max_records} records per request, got {len(records)}"}
        keys = [r.get("key") if isinstance(r, dict) else None for r in records]
        if not all(isinstance(k, str) and k for k in keys) or len(set(keys)) != len(keys):
            return 400, {}, {"error": "every record needs a unique, non-empty key"}
        if body.get("event") == "forget":
            with self._state:
                for record_key in keys:
                    self.records.pop(record_key, None)
                    self.forgotten.append(record_key)
                self.applied.append(key)
                self._answers[key] = (200, {"results": []})
            return 200, {}, {"results": []}
        for record in records:
            if "lead_score" in record and not isinstance(record["lead_score"], int | float):
                return 422, {}, {"error": f"record {record['key']}: lead_score must be a number"}
        with self._state:
            rejections = {k: self._rejections[k] for k in keys if k in self._rejections}
        for k, (error, mode) in rejections.items():
            if mode == "422":
                return 422, {}, {"error": f"record {k}: {error}"}
        with self._state:
            for record in records:
                if record["key"] not in rejections:
                    self.records[record["key"]] = {**self.records.get(record["key"], {}), **record}
            self.applied.append(key)
            status = 207 if rejections else 200
            answer = {"results": [{"key": k, "ok": False, "error": e} for k, (e, _) in rejections.items()]}
            self._answers[key] = (status, answer)
            if self._lost:
                self._lost -= 1
                return 503, {}, {"error": "upstream timeout (the batch was applied)"}
        return status, {}, answer

    @property
    def keys_received(self) -> list[str]:
        """Keys of every record of every request that passed the signature check, in order, with repeats."""
        signed = [req["body"] for req in self.requests if req["status"] != 401 and isinstance(req["body"], dict)]
        return [record["key"] for body in signed for record in body.get("records", [])]


class _Replay:
    """A read-once file over bytes already read, for the base handler."""

    def __init__(self, data: bytes):
        self.data = data

    def read(self, n: int = -1) -> bytes:
        data, self.data = (self.data, b"") if n < 0 else (self.data[:n], self.data[n:])
        return data
