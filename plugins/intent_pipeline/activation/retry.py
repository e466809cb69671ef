"""Waiting politely: exponential backoff with jitter, ``Retry-After``, a token bucket and a sliding window.

Clocks and sleeps are injectable so tests can run a minute of rate limiting
in no time, while production uses ``time.monotonic`` and ``time.sleep``.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

Sleep = Callable[[float], None]
Clock = Callable[[], float]

MAX_RETRY_AFTER = 60.0  # never let a server park the task for longer than this per attempt
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0


def backoff_delay(attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based) after a 5xx or a timeout.

    Exponential (0.5 s, 1 s, 2 s, … capped at 30 s) with "equal jitter": half
    the delay is fixed, half random, so parallel clients do not retry in step.
    """
    uniform = rng.uniform if rng is not None else random.uniform
    delay = min(BACKOFF_CAP, BACKOFF_BASE * (2**attempt))
    return delay / 2 + uniform(0, delay / 2)


def retry_after_seconds(value: str | None, default: float = 1.0, cap: float = MAX_RETRY_AFTER) -> float:
    """Parse a ``Retry-After`` header (delta-seconds or an HTTP date) into seconds, capped at ``cap``."""
    if not value:
        return min(default, cap)
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return min(default, cap)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - datetime.now(UTC)).total_seconds()
    return max(0.0, min(seconds, cap))


class TokenBucket:
    """At most ``rate`` tokens per ``per`` seconds, with bursts up to ``capacity`` (default: ``rate``).

    ``take()`` blocks (through the injected ``sleep``) until a token is free.
    """

    def __init__(
        self,
        rate: float,
        per: float = 60.0,
        capacity: float | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ):
        if rate <= 0 or per <= 0:
            raise ValueError("rate and per must be positive")
        self.capacity = float(capacity if capacity is not None else rate)
        self.fill_rate = rate / per  # tokens per second
        self.clock = clock
        self.sleep = sleep
        self.tokens = self.capacity
        self.updated = clock()
        self.waited = 0.0
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.fill_rate)
        self.updated = now

    def take(self) -> float:
        """Take one token, sleeping until one is available; returns the seconds waited."""
        waited = 0.0
        with self._lock:
            while True:
                self._refill()
                # within rounding of a whole token: a clock that only moves when something sleeps
                # could otherwise be asked to wait 1e-14 s forever
                if self.tokens >= 1 - 1e-9:
                    self.tokens -= 1
                    self.waited += waited
                    return waited
                wait = (1 - self.tokens) / self.fill_rate
                self.sleep(wait)
                waited += wait


class SlidingWindow:
    """At most ``limit`` requests in any ``window`` seconds, the way HubSpot counts its burst limit
    (e.g. 190 requests per 10 s): unlike a token bucket, a full burst followed by the refill can
    never put more than ``limit`` requests into one window.

    ``take()`` waits (through the injected ``sleep``) until the oldest of the last ``limit``
    requests is ``window`` seconds old; the wait is booked without reading the clock again, so an
    injected sleep that does not really wait still yields the schedule a real one would.
    """

    def __init__(self, limit: int, window: float, clock: Clock = time.monotonic, sleep: Sleep = time.sleep):
        if limit <= 0 or window <= 0:
            raise ValueError("limit and window must be positive")
        self.limit = limit
        self.window = window
        self.clock = clock
        self.sleep = sleep
        self.sent: deque[float] = deque()
        self.waited = 0.0
        self._lock = threading.Lock()

    def take(self) -> float:
        """Book one request; returns the seconds waited for it."""
        with self._lock:
            now = max(self.clock(), self.sent[-1] if self.sent else 0.0)
            while self.sent and now - self.sent[0] >= self.window:
                self.sent.popleft()
            wait = 0.0
            if len(self.sent) >= self.limit:
                wait = self.sent[0] + self.window - now
                self.sleep(wait)
                self.waited += wait
                now += wait
                while self.sent and now - self.sent[0] >= self.window:
                    self.sent.popleft()
            self.sent.append(now)
            return wait
