"""Simulate people with a hidden intent propensity and write what the vendors would export about them.

``generate`` is the entry point; the simulation is split by concern:

* ``clock``: the time model; ``model``: the simulation's types and the identifiers already given out;
* ``world``: what everybody shares (window, drops, email campaigns, companies, the pollution plan);
* ``population``: companies and people (names, titles, addresses, phones, devices, intent);
* ``timelines``: one person's behaviour, step by step, and the records it leaves; ``crm``: their CRM
  history; ``exports``: one event in a vendor's format (form tools, GA4);
* ``pollution``: shared identifiers (hubs), typos and messy spellings; ``bad_rows``: planted bad rows;
* ``writers``: the landing files of one drop; ``truth``: the ground truth and the summary.

One pass over people: each person gets attributes, a behaviour timeline (web sessions, form
submissions, email engagement, CRM history) driven by their propensity, and every record is
written to the drop of its arrival day plus a line in the ground truth. A single
``random.Random(seed)`` drives everything and no wall-clock time is read, so a seed always
produces the same bytes.

Time model: all events fall in ``[interval_start - history_days, interval_start + 1 day)`` in UTC.
Web and email events carry UTC epochs (GA4 ``event_date`` is the UTC date: the property's
reporting timezone is UTC), forms and CRM write Asia/Shanghai wall-clock time as the contract says.
Drops: with ``daily_drops = 0`` everything lands in ``dt=<interval_start>``; with ``k > 0`` an event
lands in the drop of its UTC day if that day is one of the last ``k`` days, older history lands in
the earliest of those ``k`` drops. A CRM row arrives in the drop of its last change (an activity in
the drop of its day).

Pollution (``clean`` / ``default`` / ``polluted``): identifiers that glue strangers together in an
identity graph are planned before the first person is simulated: shared kiosk devices at trade
shows, team mailboxes and office phones of one company, mobile numbers reassigned from one person
to another; plus forms typed with a mistyped email on a device never seen otherwise. Each person
draws from a random stream of their own (``<seed>/<index>``), so a person the pollution does not
touch behaves the same at every level: the levels differ by the pollution, not by the population.
"""

from __future__ import annotations

import json
import random
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .bad_rows import plant
from .clock import Window
from .model import E164, Taken
from .pollution import POLLUTION_LEVELS, TYPO_CHANCE, TYPO_NEW_DEVICE, plan_pollution
from .population import companies
from .timelines import Timeline
from .truth import Truth
from .world import Drops, SalesforceIds, World, campaigns
from .worlds import WORLDS, world

__all__ = ["POLLUTION_LEVELS", "WORLDS", "generate"]


def generate(
    landing_dir: Path,
    truth_dir: Path,
    people: int = 3000,
    seed: int = 42,
    interval_start: date = date(2026, 11, 21),
    history_days: int = 180,
    daily_drops: int = 0,
    pollution: str = "default",
    world_name: str = "default",
    opportunity_history: bool = False,
) -> dict[str, Any]:
    """Write a seeded sample workload into ``landing_dir`` and its ground truth into ``truth_dir``.

    Landing files follow docs/contracts.md ("Landing layout"): ``<landing>/<source>/dt=YYYY-MM-DD/``.
    Events fall in ``[interval_start - history_days, interval_start + 1 day)`` (UTC). With
    ``daily_drops = 0`` everything is one full-history drop ``dt=<interval_start>``; with ``k > 0``
    the last ``k`` days each get their own drop and older history goes into the earliest of them.
    Planted bad rows (see ``<truth>/bad_rows.csv``) always land in the ``dt=<interval_start>`` drop.
    Existing files in the drop folders written are replaced. The same arguments give the same bytes.

    ``pollution`` sets the identifiers that mislead identity resolution: ``clean`` has no shared
    identifiers and no typos in emails; ``default`` (realistic) has a few hubs (a kiosk device, team
    mailboxes, office phones, reassigned mobile numbers), typos in about 3% of typed emails and 1%
    of people filling a form with a mistyped email on a new device; ``polluted`` has hubs making
    about 1.5% of the (identifier, person) links and 3.5% of people with such a form. The truth
    (``people.csv``, ``records.csv``, ``identifiers.csv``) says who really is who; see docs/contracts.md.

    ``world_name`` picks the signal structure (``worlds.WORLDS``: default, fit_matters,
    content_universal, few_opportunities, sales_led); ``default`` is the sample as it always was.

    Returns a summary: people, files/rows per source, rows per raw table, planted bad rows per
    source, duplicate email deliveries, ground-truth counts and the pollution (hubs per kind,
    identifier links, typo'd new-device records).
    """
    if people < 1:
        raise ValueError(f"people must be at least 1, got {people}")
    if history_days < 0:
        raise ValueError(f"history_days must be >= 0, got {history_days}")
    if daily_drops < 0 or daily_drops > history_days + 1:
        raise ValueError(f"daily_drops must be between 0 and history_days + 1 ({history_days + 1}), got {daily_drops}")
    if pollution not in POLLUTION_LEVELS:
        raise ValueError(f"pollution must be one of {', '.join(POLLUTION_LEVELS)}, got {pollution!r}")
    preset = world(world_name)
    if isinstance(interval_start, datetime):
        interval_start = interval_start.date()
    landing = Path(str(landing_dir).removeprefix("file://"))
    return _run(
        landing, Path(truth_dir), people, seed, interval_start, history_days, daily_drops, pollution, preset.name,
        opportunity_history,
    )  # fmt: skip


def _run(
    landing: Path,
    truth_dir: Path,
    people: int,
    seed: int,
    interval_start: date,
    history_days: int,
    daily_drops: int,
    pollution: str,
    world_name: str = "default",
    opportunity_history: bool = False,
) -> dict[str, Any]:
    # The world (companies, planted rows) draws from the seed; each person from a stream of their own
    # (see timelines.Timeline), the pollution plan from a third one. The order of the draws below is
    # the bytes' order: changing it changes every file.
    world_rng = random.Random(seed)
    window = Window.of(interval_start, history_days)
    drops = Drops(landing, seed, interval_start, daily_drops, opportunity_history)
    all_companies = companies(world_rng, max(5, people // 5))
    taken, e164 = Taken(), E164()
    world = World(
        seed=seed,
        interval_start=interval_start,
        window=window,
        pollution=pollution,
        typo_chance=TYPO_CHANCE[pollution],
        typo_new_device=TYPO_NEW_DEVICE[pollution],
        drops=drops,
        campaigns=campaigns(window),
        companies=all_companies,
        taken=taken,
        e164=e164,
        sf_id=SalesforceIds(),
        plan=plan_pollution(random.Random(f"{seed}/pollution"), people, pollution, window, all_companies, taken, e164),
        preset=WORLDS[world_name],
    )
    with Truth(truth_dir, world.plan.kind_of) as truth:
        for i in range(1, people + 1):
            Timeline(world, truth, i).run()
        truth.kiosk_records(world.plan.hubs)
        plant(world, truth, world_rng)
        counter = [0]
        for drop in drops:
            drop.close(counter, truth.records)
        if drops.history is not None:
            drops.history.close()
    planted = [x for d in drops for x in d.planted]
    truth.bad_rows(planted)
    head: dict[str, object] = {
        "people": people,
        "seed": seed,
        "interval_start": interval_start.isoformat(),
        "history_days": history_days,
        "world": world_name,
        "drops": [d.isoformat() for d in drops.days],
    }
    if drops.history is not None:
        # the older days' opportunity exports, beside the drops' own counts
        head["opportunity_history"] = {
            "days": [d.isoformat() for d in sorted(drops.history.by_day)],
            "rows": drops.history.rows,
        }
    tail: dict[str, object] = {"landing": str(landing), "truth_dir": str(truth_dir)}
    summary = truth.summary(head, pollution, list(drops), planted, tail)
    (truth_dir / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return summary
