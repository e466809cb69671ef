"""The time model: epoch seconds in UTC, the simulated window, and times at hours people are awake.

All events fall in ``[t0, end)`` with ``t0 = interval_start - history_days`` and ``end`` the day
after ``interval_start`` (``last_day``). Web and email events carry UTC epochs, forms and the CRM
write Asia/Shanghai wall-clock time (``writers.local_time``).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from . import vocab as V
from .writers import EPOCH

DAY = 86400
HOUR = 3600


def cum(weights: Iterable[float]) -> list[float]:
    """Cumulative weights for ``random.choices(..., cum_weights=...)``."""
    return list(itertools.accumulate(weights))


HOUR_CUM = cum(V.HOUR_WEIGHTS)  # when people in China are online, hour by hour


def epoch(d: date) -> int:
    """Epoch second of a day's UTC midnight."""
    return (d - EPOCH.date()).days * DAY


def iso(ts: int) -> str:
    """ISO UTC time of an epoch second, empty for 0 (no time) as the truth writes it."""
    return (EPOCH + timedelta(seconds=ts)).isoformat() if ts else ""


def utc_day(ts: int) -> date:
    return (EPOCH + timedelta(seconds=ts)).date()


@dataclass(frozen=True)
class Window:
    """The simulated history in epoch seconds: ``[t0, end)``; ``last_day`` is interval_start's midnight."""

    t0: int
    last_day: int
    end: int

    @classmethod
    def of(cls, interval_start: date, history_days: int) -> Window:
        last_day = epoch(interval_start)
        return cls(epoch(interval_start - timedelta(days=history_days)), last_day, last_day + DAY)


def time_in(rng: random.Random, lo: int, hi: int) -> int:
    """A time in [lo, hi) at an hour people in China are awake."""
    if hi - lo < 2 * DAY:
        return rng.randrange(lo, hi) if hi > lo else lo
    day = rng.randrange(lo // DAY, (hi - 1) // DAY + 1)
    hour = rng.choices(range(24), cum_weights=HOUR_CUM)[0]
    t = day * DAY + hour * HOUR + rng.randrange(HOUR)
    return t if lo <= t < hi else rng.randrange(lo, hi)
