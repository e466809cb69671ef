"""What every simulated person shares: the time window, the drops, the email campaigns, the
companies, the identifiers already given out and the pollution plan."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from . import vocab as V
from .clock import DAY, HOUR, Window, utc_day
from .model import E164, Campaign, Company, Taken
from .pollution import PollutionPlan
from .worlds import WORLDS, WorldPreset
from .writers import DropWriter, OpportunityHistory


class Drops:
    """The landing drops of a run, one per arrival day, in chronological order."""

    def __init__(
        self, landing: Path, seed: int, interval_start: date, daily_drops: int, opportunity_history: bool = False
    ):
        self.days = [interval_start - timedelta(days=i) for i in range(max(daily_drops, 1) - 1, -1, -1)]
        self.by_day = {d: DropWriter(landing, d, random.Random(f"{seed}/{d}")) for d in self.days}
        self.first = self.by_day[self.days[0]]
        self.last = self.by_day[self.days[-1]]
        # With opportunity_history, the CRM's daily opportunity exports of the days before the first
        # drop as well (one opportunities file a day: the changes of that day), else none.
        self.history = OpportunityHistory(landing) if opportunity_history else None

    def at(self, ts: int) -> DropWriter:
        """The drop an event of epoch second ``ts`` arrives in: its UTC day's, older history in the first."""
        day = utc_day(ts)
        return self.by_day.get(day, self.first) if day >= self.days[0] else self.first

    def __iter__(self) -> Iterator[DropWriter]:
        return iter(self.by_day[d] for d in self.days)


class SalesforceIds:
    """Salesforce-style 15-character ids (00Q lead, 006 opportunity, 801 order, 00T activity)."""

    def __init__(self) -> None:
        self.counters = {"lead": 0, "opportunity": 0, "order": 0, "activity": 0}

    def __call__(self, prefix: str, kind: str) -> str:
        # A counter keeps them unique.
        self.counters[kind] += 1
        return f"{prefix}5g0000{_base62(self.counters[kind] * 7919 + 100_000, 6)}"


BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _base62(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 62)
        out.append(BASE62[r])
    return "".join(reversed(out))


@dataclass
class World:
    seed: int
    interval_start: date
    window: Window
    pollution: str
    typo_chance: float  # chance that a typed email carries a typo
    typo_new_device: float  # share of people with a form typed with a mistyped email on a new device
    drops: Drops
    campaigns: list[Campaign]
    companies: list[Company]
    taken: Taken
    e164: E164
    sf_id: SalesforceIds
    plan: PollutionPlan
    preset: WorldPreset = WORLDS["default"]  # the world's signal structure (worlds.py)


def campaigns(window: Window) -> list[Campaign]:
    """Weekly newsletters on Tuesdays plus a targeted campaign every third Thursday, 10:00 Beijing time."""
    out: list[Campaign] = []
    kinds = ["webinar", "whitepaper", "product", "pricing"]
    day = window.t0
    n = 0
    while day < window.end:
        d = utc_day(day)
        kind = None
        if d.weekday() == 1:
            kind = "newsletter"
        elif d.weekday() == 3 and (d.toordinal() // 7) % 3 == 0:
            kind = kinds[(d.toordinal() // 21) % len(kinds)]
        if kind:
            n += 1
            name, categories, path = V.CAMPAIGN_KINDS[kind]
            if kind == "newsletter":
                path = path + V.BLOG_SLUGS[d.toordinal() % len(V.BLOG_SLUGS)]
            slug = f"{kind}_{d:%Y%m%d}"
            out.append(
                {
                    "ts": day + 2 * HOUR,
                    "kind": kind,
                    "id": 24_000 + n * 17,
                    "name": f"{name} {d.isoformat()}",
                    "categories": categories,
                    "group": 10_101 if kind == "newsletter" else 10_102,
                    "slug": slug,
                    "path": path,
                    "url": f"{V.SITE}{path}?utm_source=newsletter&utm_medium=email&utm_campaign={slug}",
                }
            )
        day += DAY
    return out
