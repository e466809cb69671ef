"""The messy cases real data has, planned and written: shared identifiers, typos, spellings.

* Hubs: identifiers that glue strangers together in an identity graph, planned before the first
  person is simulated (``plan_pollution``): shared kiosk devices at trade shows, team mailboxes and
  office phones of one company, mobile numbers reassigned from one person to another.
* Typos: an address typed with a slip of the finger (``written_email``'s typo chance), and forms
  typed with a mistyped email on a device never seen otherwise (``typo_email``).
* Spellings: how people type an address or a phone (case, spaces, Gmail dots and +tags, +86, dashes).

Planted bad rows, the rows quarantine must catch, are in ``bad_rows``; duplicate webhook
deliveries in ``writers.SendGridBatches``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from . import vocab as V
from .clock import DAY, HOUR, Window, time_in
from .model import E164, Company, Geo, Hub, Person, Role, Taken, email_key

POLLUTION_LEVELS = ("clean", "default", "polluted")
HUB_KINDS = ("recycled_phone", "shared_mailbox", "shared_phone", "kiosk_device", "family_device")  # planning order
# Kinds whose identifier is a browser several people use (their sessions are placed on the hub's device).
SHARED_DEVICE_KINDS = ("kiosk_device", "family_device")
# People sharing one hub identifier (a recycled number has exactly two owners, one after the other).
HUB_IDENTIFIER_TYPE = {
    "kiosk_device": "web",
    "shared_mailbox": "email",
    "shared_phone": "phone",
    "recycled_phone": "phone",
    "family_device": "web",
}
HUB_SIZES = {
    "kiosk_device": (5, 40),
    "shared_mailbox": (3, 15),
    "shared_phone": (3, 15),
    "recycled_phone": (2, 2),
    "family_device": (2, 3),
}
# Hub memberships per 1,000 people. "polluted" follows issue 3's measurement at 200k people (hub
# identifiers made 1.7% of the identifier links and wrongly merged 3.9% of all people): about 40
# memberships per 1,000 people make 1.5% of the (identifier, person) links here and touch 4% of people.
HUB_PEOPLE_PER_1000: dict[str, dict[str, float]] = {
    "clean": {},
    "default": {"kiosk_device": 6, "shared_mailbox": 5, "shared_phone": 3, "recycled_phone": 1.4},
    "polluted": {"kiosk_device": 22, "shared_mailbox": 10, "shared_phone": 6, "recycled_phone": 3, "family_device": 12},
}
# Issue 12's pollution kinds, "polluted" only (the default sample stays as it was):
# * same-name colleagues: people per 1,000 who share their full name with a colleague at the same
#   company (groups of 2 or 3), each with a numbered mailbox there (yan.wu1665@, yan.wu2548@) and
#   a phone of their own;
# * a family sharing one home browser (family_device above): 2 or 3 people, one surname, one city;
# * names written in several ways (NAME_VARIANTS): hanzi and pinyin, given name or surname first,
#   an English name (Kevin Wang for 王伟), nicknames (Mike for Michael);
# * typo'd Gmail addresses with dots (TYPO_WITH_DOTS): tao.chen587@gmial.com for taochen587@gmail.com.
NAMESAKE_PEOPLE_PER_1000 = {"clean": 0.0, "default": 0.0, "polluted": 40.0}
NAME_VARIANTS = {"clean": False, "default": False, "polluted": True}
# Chance that a typed email carries a typo (on the person's own devices, next to their phone).
TYPO_CHANCE = {"clean": 0.0, "default": 0.03, "polluted": 0.03}
# Share of people who also fill one form with a mistyped email, no phone, on a device seen nowhere else.
TYPO_NEW_DEVICE = {"clean": 0.0, "default": 0.01, "polluted": 0.035}
MIN_PEOPLE_FOR_HUBS = 100  # below this a kiosk of five would be a large part of the population
# Team mailboxes a blocklist of role addresses (info@, sales@, admin@, hr@, support@, ...) misses.
TEAM_MAILBOXES = ["marketing", "purchasing", "it-team", "bd", "procurement", "caigou", "market", "office", "team"]
AREA_CODES = {
    "Shanghai": "21",
    "Beijing": "10",
    "Tianjin": "22",
    "Chongqing": "23",
    "Guangzhou": "20",
    "Shenzhen": "755",
    "Hangzhou": "571",
    "Suzhou": "512",
    "Nanjing": "25",
    "Chengdu": "28",
    "Wuhan": "27",
    "Xi'an": "29",
}
TRADE_SHOW_CITIES = ["Shanghai", "Beijing", "Shenzhen", "Guangzhou", "Hangzhou"]
KIOSK_FORMS = ["brochure", "brochure", "whitepaper", "webinar", "contact", "demo"]
HUB_FORMS = {
    "shared_mailbox": ["whitepaper", "webinar", "brochure", "contact", "pricing", "demo"],
    "shared_phone": ["contact", "demo", "pricing", "webinar"],
    "recycled_phone": ["contact", "whitepaper", "webinar", "brochure"],
}
TYPO_FORMS = ["whitepaper", "webinar", "brochure", "contact"]
HUB_FORMS["namesake_colleagues"] = ["whitepaper", "webinar", "brochure", "contact", "pricing"]


@dataclass
class PollutionPlan:
    """The hubs of a workload and who uses them (person index -> roles)."""

    hubs: list[Hub] = field(default_factory=list)
    kind_of: dict[tuple[str, str], str] = field(default_factory=dict)  # (identifier_type, value) -> hub kind
    roles: dict[int, list[Role]] = field(default_factory=dict)
    # people write their name in several ways (NAME_VARIANTS): the seed of their aliases' streams, else None
    name_seed: int | None = None


def plan_pollution(
    rng: random.Random,
    n_people: int,
    level: str,
    window: Window,
    companies: list[Company],
    taken: Taken,
    e164: E164,
) -> PollutionPlan:
    """Create the hub identifiers of the pollution level and say which people use them, and when."""
    plan = PollutionPlan()
    if NAME_VARIANTS[level]:
        plan.name_seed = rng.getrandbits(64)
    rates = HUB_PEOPLE_PER_1000[level]
    if n_people < MIN_PEOPLE_FOR_HUBS or not rates:
        return plan
    bound: set[int] = set()  # people of a company hub or a recycled number: one such role each
    recycled: set[int] = set()
    span = window.end - window.t0
    for kind in HUB_KINDS:
        if kind not in rates:
            continue
        if kind in ("kiosk_device", "recycled_phone") and span < 15 * DAY:
            continue  # a trade show or a number changing hands needs some history around it
        lo, hi = HUB_SIZES[kind]
        hi = max(lo, min(hi, n_people // 20))
        slots = max(lo, round(rates[kind] * n_people / 1000))
        while slots >= lo:
            size = min(rng.randint(lo, hi), slots)
            slots -= size
            members = _pick_people(rng, n_people, size, recycled if kind in SHARED_DEVICE_KINDS else bound)
            if len(members) < lo:
                break
            roles: list[Role]
            if kind == "recycled_phone":
                phone = taken.new_mobile(rng)
                hub = Hub(kind, e164(phone), phone)
                hub.lo = window.t0 + int(span * rng.uniform(0.3, 0.7))
                members.sort()  # the first owner is simulated first, so the second can differ from them
                roles = [Role(hub, before=True), Role(hub)]
                recycled.update(members)
            elif kind in SHARED_DEVICE_KINDS:
                hub = _kiosk(rng, window, taken) if kind == "kiosk_device" else _family_device(rng, window, taken)
                visits = sorted(time_in(rng, hub.lo, hub.hi) for _ in members)
                # Session 1 was staff opening the site when the booth was set up.
                roles = [Role(hub, visit=t, number=k + 2) for k, t in enumerate(visits)]
            else:
                hub = _company_hub(rng, kind, companies, taken, e164)
                roles = [Role(hub) for _ in members]
            if kind not in SHARED_DEVICE_KINDS:
                bound.update(members)
            hub.members = members
            plan.hubs.append(hub)
            plan.kind_of[(HUB_IDENTIFIER_TYPE[kind], hub.value)] = kind
            for i, role in zip(members, roles, strict=True):
                plan.roles.setdefault(i, []).append(role)
    _plan_namesakes(rng, plan, n_people, level, companies, bound)
    return plan


def _plan_namesakes(
    rng: random.Random, plan: PollutionPlan, n_people: int, level: str, companies: list[Company], bound: set[int]
) -> None:
    """Groups of 2-3 colleagues with one full name (a hub of kind namesake_colleagues, no shared identifier)."""
    slots = round(NAMESAKE_PEOPLE_PER_1000[level] * n_people / 1000)
    while slots >= 2:
        size = min(rng.randint(2, 3), slots)
        slots -= size
        members = _pick_people(rng, n_people, size, bound)
        if len(members) < 2:
            break
        members.sort()  # the first member is simulated first and names the others
        bound.update(members)
        hub = Hub("namesake_colleagues", "", company=rng.choice(companies))
        hub.members = members
        for i in members:
            plan.roles.setdefault(i, []).append(Role(hub))


def _pick_people(rng: random.Random, n_people: int, size: int, taken: set[int]) -> list[int]:
    chosen: list[int] = []
    for _ in range(size * 20):
        i = rng.randint(1, n_people)
        if i not in taken and i not in chosen:
            chosen.append(i)
            if len(chosen) == size:
                break
    return chosen


def _kiosk(rng: random.Random, window: Window, taken: Taken) -> Hub:
    """A booth iPad: a trade show of a few days or a showroom over weeks, one GA4 cookie for all visitors."""
    span = window.end - window.t0
    days = rng.randint(2, 4) if rng.random() < 0.6 else rng.randint(20, 60)
    length = min(days * DAY, max(DAY, span - 3 * DAY))
    lo = window.t0 + DAY + rng.randrange(max(1, span - length - 2 * DAY))
    hub = Hub("kiosk_device", taken.new_pseudo(rng, lo))
    hub.lo, hub.hi = lo, lo + length
    hub.device = {
        "category": "tablet",
        "operating_system": "iOS",
        "web_info": {"browser": "Safari", "hostname": "www.example-saas.com"},
    }
    city = rng.choice(TRADE_SHOW_CITIES)
    geo: Geo = {"country": "China", "region": city, "city": city}
    hub.geo = geo
    return hub


def _company_hub(rng: random.Random, kind: str, companies: list[Company], taken: Taken, e164: E164) -> Hub:
    """A team mailbox or the switchboard of one company."""
    while True:
        company = rng.choice(companies)
        if kind == "shared_mailbox":
            address = f"{rng.choice(TEAM_MAILBOXES)}@{company['domain']}"
            if taken.claim_email(address):
                return Hub(kind, email_key(address), address, company)
            continue
        area = AREA_CODES.get(company["city"][1])
        if area and rng.random() < 0.75:
            phone = area + str(rng.randint(5, 8)) + f"{rng.randrange(10**7):07d}"  # a landline, e.g. 021-6xxx xxxx
            if not taken.claim_phone(phone):
                continue
        else:
            phone = taken.new_mobile(rng)  # the office's shared mobile
        return Hub(kind, e164(phone), phone, company)


def _family_device(rng: random.Random, window: Window, taken: Taken) -> Hub:
    """A home computer a family shares: one GA4 cookie for two or three people, over the whole history."""
    hub = Hub("family_device", taken.new_pseudo(rng, window.t0))
    hub.lo, hub.hi = window.t0 + DAY, window.end - 2 * DAY
    city = rng.choice(TRADE_SHOW_CITIES)
    hub.device = {
        "category": "desktop",
        "operating_system": rng.choice(["Windows", "Macintosh"]),
        "web_info": {"browser": "Chrome", "hostname": "www.example-saas.com"},
    }
    hub.geo = {"country": "China", "region": city, "city": city}
    return hub


def fit_activity(rng: random.Random, p: Person, role: Role, window: Window) -> None:
    """Stretch or cut a person's active window around their use of a hub."""
    silent_until = window.end - 91 * DAY
    if role.hub.kind in SHARED_DEVICE_KINDS:
        p.active_from = min(p.active_from, role.visit)
        if role.visit >= p.active_until:
            p.is_silent, p.active_until = False, window.end - 3 * HOUR
    elif role.hub.kind == "recycled_phone":
        switch = role.hub.lo
        if role.before:
            # The first owner gave the number up (and went quiet) before it was handed to someone else.
            margin = min(20 * DAY, (switch - window.t0) // 2)
            if p.active_from > switch - margin:
                p.active_from = window.t0 + rng.randrange(max(1, switch - margin - window.t0))
            p.active_until = min(p.active_until, switch - DAY)
            p.is_silent = p.active_until < silent_until
        else:
            p.active_from = max(p.active_from, switch)
            if p.active_until < switch + 2 * DAY:
                p.is_silent, p.active_until = False, window.end - 3 * HOUR


# -- spellings and typos -----------------------------------------------------------------------------


def written_email(rng: random.Random, email: str, taken: Taken, typo_chance: float = 0.0) -> str:
    """The address as a person types it: case, spaces, Gmail dots and +tags, sometimes a typo."""
    local, domain = email.split("@")
    if domain == "gmail.com" and rng.random() < 0.3:
        local = local.replace(".", "") if "." in local else f"{local[:2]}.{local[2:]}"
        if rng.random() < 0.4:
            local += rng.choice(["+news", "+work", "+saas"])
    if rng.random() < typo_chance:
        if domain in V.DOMAIN_TYPOS and rng.random() < 0.6:
            typo = (local, V.DOMAIN_TYPOS[domain])
        elif len(local) > 3:
            k = rng.randrange(len(local) - 1)
            typo = (local[:k] + local[k + 1] + local[k] + local[k + 2 :], domain)
        else:
            typo = (local, domain)
        if taken.claim_email("@".join(typo)):  # never someone else's real address (nor the same one again)
            local, domain = typo
    r = rng.random()
    if r < 0.15:
        local = local.capitalize() if "." not in local else ".".join(s.capitalize() for s in local.split("."))
    elif r < 0.2:
        domain = domain.upper()
    text = f"{local}@{domain}"
    if rng.random() < 0.08:
        text = rng.choice([f" {text}", f"{text} ", f"  {text} "])
    return text


def typo_email(rng: random.Random, p: Person, taken: Taken) -> str:
    """One of the person's addresses with a slip of the finger: a domain typo (qq.com -> qq.con),
    two letters swapped, one dropped or doubled. Empty when every attempt gives a known mailbox."""
    work = [e for e in p.emails if e.endswith("@" + p.company["domain"])]
    local, domain = (work[0] if work and rng.random() < 0.7 else rng.choice(p.emails)).split("@")
    if p.aliases and domain == "gmail.com" and len(local) > 4:
        # Gmail ignores dots, so people add or leave them out: tao.chen587@gmial.com for taochen587@gmail.com
        k = rng.randrange(2, len(local) - 2)
        local = local.replace(".", "") if "." in local else f"{local[:k]}.{local[k:]}"
    for _ in range(8):
        how = rng.random()
        if how < 0.3 and domain in V.DOMAIN_TYPOS:
            typo = f"{local}@{V.DOMAIN_TYPOS[domain]}"
        else:
            k = rng.randrange(len(local) - 1) if len(local) > 1 else 0
            if how < 0.65:
                typo_local = local[:k] + local[k + 1 : k + 2] + local[k] + local[k + 2 :]
            elif how < 0.85 and len(local) > 3:
                typo_local = local[:k] + local[k + 1 :]
            else:
                typo_local = local[: k + 1] + local[k] + local[k + 1 :]
            typo = f"{typo_local.strip('.')}@{domain}"
        if taken.claim_email(typo):
            return typo
    return ""


def written_phone(rng: random.Random, phone: str) -> str:
    """A mobile number as people type it: bare, spaced with +86, dashed."""
    if not phone:
        return ""
    r = rng.random()
    if r < 0.3:
        return f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}"
    if r < 0.75:
        return phone
    if r < 0.95:
        return f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
    return f"+86{phone}"


def written_hub_phone(rng: random.Random, phone: str) -> str:
    """A landline as people type it (area code with its trunk 0, or +86 without it); mobiles as usual."""
    if len(phone) == 11 and phone[0] == "1":
        return written_phone(rng, phone)
    area = phone[:-8]
    local = phone[-8:]
    return rng.choice(
        [
            f"0{area}-{local}",
            f"0{area} {local[:4]} {local[4:]}",
            f"+86 {area} {local[:4]} {local[4:]}",
            f"(0{area}) {local}",
            f"0{area}{local}",
        ]
    )


def written_name(rng: random.Random, p: Person, lang: str) -> tuple[str, str, str]:
    """(full name, first name, last name) as the person writes them on a form in ``lang``: their name,
    or with pollution "polluted" now and then one of their aliases (pinyin in either order, an English
    name, a nickname, surname first). A Chinese form gets a Chinese person's name in characters.
    Draws nothing for a person without aliases, so the other levels' bytes do not change."""
    if not p.aliases or (lang == "zh" and p.lang == "zh") or rng.random() < 0.5:
        return p.full_name, p.first_name, p.last_name
    return rng.choice(p.aliases)


def name_aliases(rng: random.Random, p: Person) -> list[tuple[str, str, str]]:
    """The other ways ``p`` writes their name (see ``written_name``)."""
    if p.lang == "zh":
        surname, given = V.PINYIN_OF.get(p.last_name, ""), V.PINYIN_OF.get(p.first_name, "")
        if not surname or not given:
            return []
        surname, given = surname.capitalize(), given.capitalize()
        aliases = [(f"{given} {surname}", given, surname), (f"{surname} {given}", given, surname)]
        if rng.random() < 0.5:
            aliases.append((f"{surname.upper()} {given}", given, surname))
        if rng.random() < 0.35:
            english = rng.choice(V.EN_NAMES_OF_CHINESE)
            aliases.append((f"{english} {surname}", english, surname))
        return aliases
    aliases = [(f"{p.last_name} {p.first_name}", p.first_name, p.last_name)] if rng.random() < 0.3 else []
    for nickname in V.NICKNAMES.get(p.first_name, [])[:1]:
        aliases.append((f"{nickname} {p.last_name}", nickname, p.last_name))
    return aliases
