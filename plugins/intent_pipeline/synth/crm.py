"""A person's CRM history: the lead their first form (or a trade show, a referral...) created, an
opportunity and won orders driven by their intent, and the owner's follow-up activities.

CRM rows carry Asia/Shanghai wall-clock time; a row arrives in the drop of its last change.
"""

from __future__ import annotations

import random
from datetime import date

from . import vocab as V
from .clock import DAY, HOUR, cum, time_in, utc_day
from .model import CrmOutcome, Person, PlannedForm, Seen, email_key
from .pollution import written_hub_phone
from .truth import Truth
from .world import World
from .worlds import FAST_OPPORTUNITY_DAYS, opportunity_chance, opportunity_delay
from .writers import FormRow, local_time

STAGES_OPEN = ["Prospecting", "Qualification", "Proposal", "Negotiation"]
DEAL_SIZE_CNY = [30_000, 80_000, 150_000, 300_000, 600_000, 1_200_000]
ACTIVITY_FIRST_CUM = cum(t[1] for t in V.ACTIVITY_TYPES)
ACTIVITY_LATER_CUM = cum(t[2] for t in V.ACTIVITY_TYPES)


def crm_history(
    world: World,
    truth: Truth,
    rng: random.Random,
    p: Person,
    plan: list[PlannedForm],
    first_row: FormRow | None,
    seen: Seen,
    events: list[tuple[int, str]] | None = None,
) -> CrmOutcome:
    """The person's lead (from their first form, ``first_row`` of ``plan``, or 4% of the others from
    offline sources), its opportunity, orders and follow-up; written to the drops and the truth.
    The follow-up activities are appended to ``events`` (epoch second, ``activity_<type>``)."""
    prop, end = p.propensity, world.window.end
    outcome = CrmOutcome()
    if p.is_bot:
        return outcome
    if plan and first_row:
        created = plan[0][0] + rng.randint(300, 2 * DAY)  # the CRM sync picks web leads up within hours
        form = plan[0][1]
        lead_source = {"whitepaper": "Content Download", "brochure": "Content Download", "webinar": "Webinar"}.get(
            form, "Web"
        )
        email = first_row.email.strip()
    elif rng.random() < 0.04:
        created = time_in(rng, p.active_from, p.active_until)
        lead_source = rng.choice(["Trade Show", "Referral", "Partner", "Cold Call"])
        email = rng.choice(p.emails)
    else:
        return outcome
    if created >= end:
        return outcome
    if email and rng.random() < 0.2:
        email = p.emails[0].title() if rng.random() < 0.5 else p.emails[0]
    lead_id = world.sf_id("00Q", "lead")
    outcome.lead_id = lead_id
    outcome.lead_created = created
    company = p.company
    last_change = created + rng.randint(60, 5 * DAY)
    strong = any(f in ("trial", "demo", "pricing") for _, f, _ in plan)
    chance = 0 if p.is_job_seeker else max(0.0, min(0.9, (prop - 0.25) * 1.8)) * (1.0 if strong else 0.5)
    if not p.is_job_seeker:
        chance = opportunity_chance(world.preset, chance)
    status = "Working"
    if rng.random() < chance:
        # when it comes: 2-25 days in the default world, a long tail in the others (worlds.py)
        fast = rng.randint(FAST_OPPORTUNITY_DAYS[0] * DAY, FAST_OPPORTUNITY_DAYS[1] * DAY)
        delay = fast
        if world.preset.slow_opportunity_share:  # the lead's own stream, only in a world with slow opportunities
            delay = opportunity_delay(world.preset, fast, random.Random(f"{world.seed}/delay/{lead_id}"))
        opp_created = created + delay
        if opp_created < end:
            status = "Converted"
            outcome.has_opportunity = True
            close_ts = _opportunity(world, truth, rng, p, seen, lead_id, opp_created, email, outcome)
            last_change = max(last_change, close_ts)
    if status != "Converted":
        if p.is_job_seeker or (prop < 0.1 and rng.random() < 0.5):
            status = "Unqualified"
        elif end - created < 7 * DAY:
            status = "New"
        elif prop > 0.5:
            status = "Qualified"
    last_change = min(last_change, end - 1)
    owner = rng.choice(V.SALES_OWNERS)
    size_bucket, head_count = V.COMPANY_SIZES[company["size"]]
    # The phone on the lead is the one of the form that created it (an office switchboard, say).
    first_role = plan[0][2] if plan else None
    phone_digits = first_role.hub.written if first_role and first_role.hub.kind == "shared_phone" else p.phone
    phone = written_hub_phone(rng, phone_digits) if rng.random() < 0.8 and phone_digits else ""
    if p.phone_until and last_change >= p.phone_until:
        phone = ""  # the number was given up before the lead's last change: sales removed it
    keys = [seen.add("crm_lead", lead_id, created, last_change)]
    if email:
        keys.append(seen.add("email", email_key(email), created, last_change))
    if phone:
        keys.append(seen.add("phone", world.e164(phone_digits), created, last_change))
    truth.record("crm", lead_id, p.key, truth.hub_of(keys))
    row = [
        lead_id,
        email,
        phone,
        p.full_name,
        company["name"],
        p.title,
        company["industry"][0],
        str(head_count),
        p.city[2],
        owner,
        status,
        lead_source,
        local_time(created).strftime("%Y-%m-%d %H:%M:%S"),
        local_time(last_change).strftime("%Y-%m-%d %H:%M:%S"),
    ]
    world.drops.at(last_change).leads.append((last_change, p.key, row, ""))
    # Drawn last, so the lead, its opportunity and orders are the same with or without activities.
    if owner:
        hot = prop >= 0.5 or outcome.has_opportunity
        if world.preset.sales_signal:
            # the sales-led world: the owner works a lead by its intent, whatever the web says
            outcome.first_follow_up = _worked_by_intent(
                world, rng, p.key, lead_id, owner, created, prop, company["chinese"], events
            )
        else:
            outcome.first_follow_up = _follow_up(
                world, rng, p.key, lead_id, owner, created, hot, company["chinese"], events, prop
            )
    return outcome


def _opportunity(
    world: World,
    truth: Truth,
    rng: random.Random,
    p: Person,
    seen: Seen,
    lead_id: str,
    opp_created: int,
    email: str,
    outcome: CrmOutcome,
) -> int:
    """The lead's opportunity: closed won or lost within its sales cycle, or still at an open stage at
    the end of the history; a won one gets its orders. Its stage path (:func:`stage_path`) is
    exported a version a day it changed (:func:`_export_versions`). Returns its close time (its
    creation if open)."""
    end, prop, company = world.window.end, p.propensity, p.company
    cycle = rng.randint(15, 75) * DAY
    amount = round(DEAL_SIZE_CNY[company["size"]] * rng.lognormvariate(0, 0.4), -3)
    currency = "CNY" if company["chinese"] else rng.choice(["CNY", "USD"])
    if currency == "USD":
        amount = round(amount / 7.1, -2)
    close_ts = opp_created + cycle
    opp_id = world.sf_id("006", "opportunity")
    if close_ts < end:
        won = rng.random() < 0.35 + 0.5 * prop
        path = stage_path(opp_id, prop, opp_created, close_ts, won)
    else:
        won = False
        path = [v for v in stage_path(opp_id, prop, opp_created, close_ts, None) if v[0] < end]
        close_ts = opp_created
    truth.record("crm", opp_id, p.key)
    seen.add("crm_lead", lead_id, opp_created, close_ts)
    product = rng.choice(["CDP 年度订阅", "CDP Annual Subscription", "营销自动化套件", "Enterprise Plan"])
    head = [opp_id, lead_id, f"{company['name']} - {product}"]
    tail = [f"{amount:.2f}", currency, local_time(opp_created).strftime("%Y-%m-%d %H:%M:%S")]
    _export_versions(world, p.key, head, tail, path)
    if won:
        outcome.converted = True
        outcome.revenue = amount
        _orders(world, truth, rng, p, seen, lead_id, close_ts, amount, currency, email)
    return close_ts


def stage_path(opp_id: str, prop: float, created: int, close_ts: int, won: bool | None) -> list[tuple[int, str]]:
    """An opportunity's stage changes (epoch second, stage), in time order: Prospecting at its
    creation, then the open stages it reaches, then Closed Won or Closed Lost at ``close_ts``
    (``won`` None: an opportunity still open at the end of the history, whose fate is drawn here).

    Driven by the person's true propensity ``prop``: a won deal passes every open stage, a lost one
    stops after each stage with probability 0.7 - 0.6 x prop (a warmer lead is lost later). The
    changes fall at sorted uniform times of the cycle, so two may come on one day. Messy as real CRMs
    are: a later open stage is skipped in one case of ten, and a deal past Prospecting
    is closed lost and re-opened to its stage before its final close in one case of 25. Drawn from
    the opportunity id's own generator: every other draw of the sample is the same with or without it.
    """
    draw = random.Random(f"stages:{opp_id}")
    if won is None:
        won = draw.random() < 0.35 + 0.5 * prop
    reached = len(STAGES_OPEN) if won else 1
    while not won and reached < len(STAGES_OPEN) and draw.random() < 0.3 + 0.6 * prop:
        reached += 1
    stages = [STAGES_OPEN[0]] + [s for s in STAGES_OPEN[1:reached] if draw.random() >= 0.1]
    times = sorted(draw.randint(created + 1, close_ts - 1) for _ in stages[1:])
    path = [(created, stages[0]), *zip(times, stages[1:], strict=True)]
    if len(path) > 1 and draw.random() < 0.04:
        lost_at = draw.randint(path[-1][0], close_ts - 1)
        path += [(lost_at, "Closed Lost"), (draw.randint(lost_at, close_ts - 1), path[-1][1])]
    return [*path, (close_ts, "Closed Won" if won else "Closed Lost")]


def _export_versions(
    world: World, person_key: str, head: list[str], tail: list[str], path: list[tuple[int, str]]
) -> None:
    """The opportunity's versions in the CRM's exports: a drop (and, with the history, each older day's
    export) holds it as it stood at the end of its day, so two changes on one day show as the later;
    the drop of the last days shows each change on its day, the first drop (the full export) the
    latest state before it. One version in 20 is exported a day late (never past the next change,
    nor past the end of the history)."""
    end, drops = world.window.end, world.drops
    late = random.Random(f"late:{head[0]}")
    latest: dict[tuple[bool, date], tuple[int, list[str]]] = {}  # (an older day's export?, day): version
    for k, (ts, stage) in enumerate(path):
        closed = stage.startswith("Closed")
        row = [*head, stage, *tail, local_time(ts).strftime("%Y-%m-%d") if closed else "",
               local_time(ts).strftime("%Y-%m-%d %H:%M:%S")]  # fmt: skip
        delivered = ts
        next_ts = path[k + 1][0] if k + 1 < len(path) else end
        if late.random() < 0.05 and utc_day(ts + DAY) < utc_day(next_ts) and ts + DAY < end:
            delivered = ts + DAY
        latest[(False, drops.at(delivered).day)] = (ts, row)
        if drops.history is not None and utc_day(delivered) < drops.days[0]:
            latest[(True, utc_day(delivered))] = (ts, row)
    for (older, day), (ts, row) in latest.items():
        if older:
            drops.history.by_day.setdefault(day, []).append((ts, person_key, row, ""))  # type: ignore[union-attr]
        else:
            drops.by_day[day].opportunities.append((ts, person_key, row, ""))


# The lead's context is passed down as to _opportunity (and _follow_up's to _worked_by_intent):
# alike signatures, no shared logic.
def _orders(
    world: World,
    truth: Truth,
    rng: random.Random,
    p: Person,
    seen: Seen,
    lead_id: str,
    close_ts: int,
    amount: float,
    currency: str,
    email: str,
) -> None:
    """The order of a won deal, a few days after the close, and in a quarter of cases an upsell later."""
    order_ts = close_ts + rng.randint(DAY, 10 * DAY)
    orders = [(order_ts, amount)]
    if rng.random() < 0.25:
        orders.append((order_ts + rng.randint(30, 90) * DAY, round(amount * rng.uniform(0.2, 0.5), -2)))
    for ts, value in orders:
        if ts >= world.window.end:
            continue
        order_id = world.sf_id("801", "order")
        order_email = email or p.emails[0]
        keys = [
            seen.add("crm_lead", lead_id, ts, ts),
            seen.add("email", email_key(order_email), ts, ts),
        ]
        truth.record("crm", order_id, p.key, truth.hub_of(keys))
        row = [
            order_id,
            lead_id,
            order_email,
            f"{value:.2f}",
            currency,
            local_time(ts).strftime("%Y-%m-%d %H:%M:%S"),
        ]
        world.drops.at(ts).orders.append((ts, p.key, row, ""))


def _add_activity(
    world: World,
    rng: random.Random,
    kind: tuple,
    t: int,
    person_key: str,
    lead_id: str,
    owner: str,
    chinese: bool,
    events: list[tuple[int, str]] | None,
    prop: float,
) -> None:
    """One CRM activity of ``kind`` (a row of V.ACTIVITY_TYPES) at ``t`` into its day's export, with
    its outcome (:func:`_outcome`) for a lead of propensity ``prop``."""
    name, _, _, zh, en = kind
    activity_id = world.sf_id("00T", "activity")
    outcome = _outcome(activity_id, name, prop)
    row = [
        activity_id,
        lead_id,
        name,
        rng.choice(zh if chinese else en),
        owner,
        local_time(t).strftime("%Y-%m-%d %H:%M:%S"),
        outcome,
    ]
    world.drops.at(t).activities.append((t, person_key, row, ""))
    if events is not None:
        events.append((t, f"activity_{name.lower()}"))
        if outcome:
            events.append((t, f"activity_{name.lower()}_{outcome.lower().replace(' ', '_')}"))


def _outcome(activity_id: str, name: str, prop: float) -> str:
    """What came of a call or a meeting, in HubSpot's words (call disposition, meeting outcome); an
    email or a task has none (empty: unknown). A warmer lead picks up and shows up more often: a call
    connects with probability 0.3 + 0.5 x propensity, a meeting is held with 0.5 + 0.45 x propensity.
    Drawn from the activity id's own generator, so every other draw of the sample is unchanged."""
    if name not in ("Call", "Meeting"):
        return ""
    draw = random.Random(f"outcome:{activity_id}")
    if name == "Call":
        if draw.random() < 0.3 + 0.5 * prop:
            return "Connected"
        return draw.choice(("No answer", "No answer", "Left voicemail", "Busy"))
    if draw.random() < 0.5 + 0.45 * prop:
        return "Completed"
    return draw.choice(("No show", "No show", "Canceled", "Rescheduled"))


def _follow_up(
    world: World,
    rng: random.Random,
    person_key: str,
    lead_id: str,
    owner: str,
    created: int,
    hot: bool,
    chinese: bool,
    events: list[tuple[int, str]] | None = None,
    prop: float = 0.0,
) -> int:
    """The owner's activities on a new lead (before the export's end); returns the first one's time, 0 if none.

    Most leads (75%) are followed up within 1-20 hours, some (15%) after 1-5 days, the rest never;
    a hot lead gets 1-4 more activities, a few days apart, any other lead one more in four cases.
    """
    end = world.window.end
    draw = rng.random()
    if draw < 0.75:
        t = created + rng.randint(HOUR, 20 * HOUR)
    elif draw < 0.9:
        t = created + rng.randint(DAY, 5 * DAY)
    else:
        return 0
    if t >= end:
        return 0
    first = t
    more = rng.randint(1, 4) if hot else int(rng.random() < 0.25)
    weights = ACTIVITY_FIRST_CUM
    for k in range(more + 1):
        if k:
            t += rng.randint(DAY, 10 * DAY)
            if t >= end:
                break
            weights = ACTIVITY_LATER_CUM
        kind = rng.choices(V.ACTIVITY_TYPES, cum_weights=weights)[0]
        _add_activity(world, rng, kind, t, person_key, lead_id, owner, chinese, events, prop)
    return first


def _worked_by_intent(
    world: World,
    rng: random.Random,
    person_key: str,
    lead_id: str,
    owner: str,
    created: int,
    prop: float,
    chinese: bool,
    events: list[tuple[int, str]] | None,
) -> int:
    """The sales-led world's follow-up: every lead is called within two days; then activities every
    1-5 days while the lead engages, as many as its propensity earns (about 1 + 12 * prop), meetings
    more often the warmer it is. Returns the first activity's time, 0 if none."""
    end = world.window.end
    t = created + rng.randint(HOUR, 2 * DAY)
    if t >= end:
        return 0
    first = t
    more = int(rng.expovariate(1.0) * (1 + 12 * prop))
    for k in range(more + 1):
        if k:
            t += rng.randint(DAY, 5 * DAY)
            if t >= end:
                break
        weights = [50 * (1 - prop) + 10, 35, 12, 3 + 80 * prop]  # Call, Email, Task, Meeting
        kind = rng.choices(V.ACTIVITY_TYPES, weights=weights)[0]
        _add_activity(world, rng, kind, t, person_key, lead_id, owner, chinese, events, prop)
    return first
