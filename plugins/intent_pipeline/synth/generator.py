"""Simulate people with a hidden intent propensity and write what the vendors would export about them.

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

import base64
import csv
import itertools
import json
import random
from datetime import date, datetime, timedelta
from pathlib import Path

from intent_pipeline.identity import canonical_email
from intent_pipeline.sources.normalize import PhoneNormalizer
from intent_pipeline.sources.normalize import email as normalized_email

from . import vocab as V
from .writers import EPOCH, DropWriter, FormRow, Planted, local_time

DAY = 86400
HOUR = 3600
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
STAGES_OPEN = ["Prospecting", "Qualification", "Proposal", "Negotiation"]
DEAL_SIZE_CNY = [30_000, 80_000, 150_000, 300_000, 600_000, 1_200_000]


def _epoch(d: date) -> int:
    return (d - EPOCH.date()).days * DAY


def _base62(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 62)
        out.append(BASE62[r])
    return "".join(reversed(out))


def email_key(email: str) -> str:
    """The mailbox an address delivers to, as the identity graph keys it: the extract's normalisation
    (trimmed, lower-cased), then ``intent_pipeline.identity.canonical_email`` (the SQL macro's rules)."""
    normal = normalized_email(email)
    if normal is None:
        raise ValueError(f"not an email address: {email!r}")
    return canonical_email(normal)


# -- pollution ---------------------------------------------------------------------------------------

POLLUTION_LEVELS = ("clean", "default", "polluted")
HUB_KINDS = ("recycled_phone", "shared_mailbox", "shared_phone", "kiosk_device")  # planning order
# People sharing one hub identifier (a recycled number has exactly two owners, one after the other).
HUB_IDENTIFIER_TYPE = {
    "kiosk_device": "web",
    "shared_mailbox": "email",
    "shared_phone": "phone",
    "recycled_phone": "phone",
}
HUB_SIZES = {"kiosk_device": (5, 40), "shared_mailbox": (3, 15), "shared_phone": (3, 15), "recycled_phone": (2, 2)}
# Hub memberships per 1,000 people. "polluted" follows issue 3's measurement at 200k people (hub
# identifiers made 1.7% of the identifier links and wrongly merged 3.9% of all people): about 40
# memberships per 1,000 people make 1.5% of the (identifier, person) links here and touch 4% of people.
HUB_PEOPLE_PER_1000 = {
    "clean": {},
    "default": {"kiosk_device": 6, "shared_mailbox": 5, "shared_phone": 3, "recycled_phone": 1.4},
    "polluted": {"kiosk_device": 22, "shared_mailbox": 10, "shared_phone": 6, "recycled_phone": 3},
}
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
DIRECT = ("(direct)", "(none)", None, False, False)
KIOSK_FIRST_TRAFFIC = {"name": "(direct)", "medium": "(none)", "source": "(direct)"}


class Hub:
    """One identifier used by several people: its canonical value and how it is written."""

    __slots__ = ("kind", "value", "written", "company", "lo", "hi", "device", "geo", "members", "first_owner")

    def __init__(self, kind: str, value: str, written: str = "", company: dict | None = None):
        self.kind, self.value, self.written, self.company = kind, value, written, company
        self.lo = self.hi = 0  # kiosk: the trade show; recycled phone: lo is when the number changed hands
        self.device: dict = {}
        self.geo: dict = {}
        self.members: list[int] = []
        self.first_owner: tuple = ()  # recycled phone: (full name, company name) of the first owner


class Role:
    """A person's part in a hub: a kiosk visit (time, GA4 session number) or before/after a number change."""

    __slots__ = ("hub", "visit", "number", "before")

    def __init__(self, hub: Hub, visit: int = 0, number: int = 0, before: bool = False):
        self.hub, self.visit, self.number, self.before = hub, visit, number, before


def _cum(weights) -> list[float]:
    return list(itertools.accumulate(weights))


def _iso(ts: int) -> str:
    return (EPOCH + timedelta(seconds=ts)).isoformat() if ts else ""


class Seen:
    """The identifiers one person's records show, each with its first and last time (epoch seconds)."""

    __slots__ = ("spans",)

    def __init__(self):
        self.spans: dict[tuple[str, str], list[int]] = {}

    def add(self, kind: str, value: str, lo: int, hi: int) -> tuple[str, str]:
        key = (kind, value)
        span = self.spans.get(key)
        if span is None:
            self.spans[key] = [lo, hi]
        else:
            span[0], span[1] = min(span[0], lo), max(span[1], hi)
        return key


class Person:
    """Hidden attributes of one simulated person (the ground truth)."""

    __slots__ = (
        "key",
        "lang",
        "full_name",
        "first_name",
        "last_name",
        "company",
        "title",
        "seniority",
        "emails",
        "phone",
        "propensity",
        "is_bot",
        "is_job_seeker",
        "is_silent",
        "active_from",
        "active_until",
        "city",
        "ip",
        "useragent",
        "user_id",
        "stats",
        "roles",
        "phone_until",
    )

    def __init__(self, key: str):
        self.key = key
        self.user_id = ""
        self.roles: list[Role] = []
        self.phone_until = 0  # first owner of a recycled number: no record shows it from then on
        self.stats = dict.fromkeys(TRUTH_COUNTS, 0)
        self.stats.update(last_day_trial=False, last_activity_ts=0, first_activity_ts=0)


class Session:
    """One web visit; events are expanded when the device's user_pseudo_id is known."""

    __slots__ = (
        "ts",
        "device",
        "traffic",
        "pages",
        "form",
        "form_ts",
        "download",
        "logged_in",
        "first_of_device",
        "role",
        "typo_new_device",
    )

    def __init__(
        self,
        ts: int,
        traffic: tuple,
        pages: list,
        form: str | None = None,
        form_ts: int = 0,
        download: str | None = None,
    ):
        self.ts, self.traffic, self.pages = ts, traffic, pages
        self.form, self.form_ts, self.download = form, form_ts, download
        self.device = 0
        self.logged_in = False
        self.first_of_device = False
        self.role: Role | None = None  # the form of a hub's use
        self.typo_new_device = False


class _Generator:
    def __init__(
        self,
        landing: Path,
        truth: Path,
        people: int,
        seed: int,
        interval_start: date,
        history_days: int,
        daily_drops: int,
        pollution: str = "default",
    ):
        self.landing, self.truth, self.n_people, self.seed = landing, truth, people, seed
        self.interval_start, self.history_days = interval_start, history_days
        self.pollution = pollution
        self.typo_chance = TYPO_CHANCE[pollution]
        self.typo_new_device = TYPO_NEW_DEVICE[pollution]
        # The world (campaigns, companies, planted rows) draws from the seed; each person from a stream
        # of their own (see _simulate), the pollution plan from a third one.
        self.world_rng = random.Random(seed)
        self.rng = self.world_rng
        self.t0 = _epoch(interval_start - timedelta(days=history_days))
        self.last_day = _epoch(interval_start)
        self.end = self.last_day + DAY
        days = [interval_start - timedelta(days=i) for i in range(max(daily_drops, 1) - 1, -1, -1)]
        self.drop_days = days
        self.drops = {d: DropWriter(landing, d, random.Random(f"{seed}/{d}")) for d in days}
        self.first_drop = self.drops[days[0]]
        self.used_emails: set[str] = set()  # canonical mailboxes of every address and typo written so far
        self.used_phones: set[str] = set()
        self.used_pseudo: set[str] = set()
        self.counters = {"lead": 0, "opportunity": 0, "order": 0, "activity": 0}
        self.activity_first_cum = _cum(t[1] for t in V.ACTIVITY_TYPES)
        self.activity_later_cum = _cum(t[2] for t in V.ACTIVITY_TYPES)
        self.hour_cum = _cum(V.HOUR_WEIGHTS)
        self.traffic_cum = _cum(t[-1] for t in V.TRAFFIC)
        self.device_cum = _cum(d[-1] for d in V.DEVICES)
        self.title_cum = _cum(t[-1] for t in V.JOB_TITLES)
        self.campaigns = self._campaigns()
        self.companies = self._companies(max(5, people // 5))
        self.candidates: dict[str, tuple] = {}
        self.e164 = PhoneNormalizer()
        self.hubs: list[Hub] = []
        self.hub_kind_of: dict[tuple[str, str], str] = {}  # (identifier_type, value) -> hub kind
        self.roles: dict[int, list[Role]] = {}
        self.hubs_seen: set[tuple[str, str]] = set()
        self.pollution_counts = {
            "links": 0,
            "hub_links": dict.fromkeys(HUB_KINDS, 0),
            "hub_people": dict.fromkeys(HUB_KINDS, 0),
            "hub_records": dict.fromkeys(HUB_KINDS, 0),
            "hub_identifiers": dict.fromkeys(HUB_KINDS, 0),
            "typo_links": 0,
            "typo_new_device_records": 0,
            "typo_new_device_people": 0,
        }
        self._plan_pollution(random.Random(f"{seed}/pollution"))
        self.truth_counts = {
            "bots": 0,
            "job_seekers": 0,
            "silent": 0,
            "converted": 0,
            "last_day_trials": 0,
            "on_email_list": 0,
            "crm_leads": 0,
            "crm_leads_followed_up": 0,
        }

    # -- helpers -----------------------------------------------------------------------------------

    def drop(self, ts: int) -> DropWriter:
        day = (EPOCH + timedelta(seconds=ts)).date()
        return self.drops.get(day, self.first_drop) if day >= self.drop_days[0] else self.first_drop

    def b64(self, nbytes: int) -> str:
        raw = self.rng.getrandbits(nbytes * 8).to_bytes(nbytes, "big")
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def time_in(self, lo: int, hi: int, rng: random.Random | None = None) -> int:
        """A time in [lo, hi) at an hour people in China are awake."""
        rng = rng or self.rng
        if hi - lo < 2 * DAY:
            return rng.randrange(lo, hi) if hi > lo else lo
        day = rng.randrange(lo // DAY, (hi - 1) // DAY + 1)
        hour = rng.choices(range(24), cum_weights=self.hour_cum)[0]
        t = day * DAY + hour * HOUR + rng.randrange(HOUR)
        return t if lo <= t < hi else rng.randrange(lo, hi)

    def sf_id(self, prefix: str, kind: str) -> str:
        # Salesforce-style 15-character ids (00Q lead, 006 opportunity, 801 order); a counter keeps them unique.
        self.counters[kind] += 1
        return f"{prefix}5g0000{_base62(self.counters[kind] * 7919 + 100_000, 6)}"

    # -- world -------------------------------------------------------------------------------------

    def _campaigns(self) -> list[dict]:
        """Weekly newsletters on Tuesdays plus a targeted campaign every third Thursday, 10:00 Beijing time."""
        out = []
        kinds = ["webinar", "whitepaper", "product", "pricing"]
        day = self.t0
        n = 0
        while day < self.end:
            d = (EPOCH + timedelta(seconds=day)).date()
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

    def _companies(self, n: int) -> list[dict]:
        rng = self.rng
        names: set[str] = set()
        domains: set[str] = set()
        out = []
        industry_cum = _cum(V.INDUSTRY_WEIGHTS)
        city_cum = _cum(V.CITY_WEIGHTS)
        size_cum = _cum(V.COMPANY_SIZE_WEIGHTS)
        for i in range(n):
            industry = rng.choices(V.INDUSTRIES, cum_weights=industry_cum)[0]
            city = rng.choices(V.CITIES, cum_weights=city_cum)[0]
            chinese = rng.random() < 0.6
            for attempt in range(20):
                word_cn, word_slug, word_en = rng.choice(V.INDUSTRY_WORDS[industry[0]])
                if chinese:
                    (h_cn, h_py), (t_cn, t_py) = rng.choice(V.CN_COMPANY_HEADS), rng.choice(V.CN_COMPANY_TAILS)
                    name = f"{city[0]}{h_cn}{t_cn}{word_cn}有限公司"
                    slug = f"{h_py}{t_py}{word_slug}"
                    tld = rng.choice([".com", ".com.cn", ".cn"])
                else:
                    head = rng.choice(V.EN_COMPANY_HEADS)
                    name = f"{head} {word_en} {rng.choice(V.EN_COMPANY_SUFFIXES)}"
                    slug = (head + word_en).lower().replace(" ", "")
                    tld = ".com"
                if attempt == 19:  # rare: every combination drawn was taken
                    name, slug = f"{name[:-4]}{i}{name[-4:]}" if chinese else f"{name} {i}", f"{slug}{i}"
                if name not in names:
                    break
            domain = slug + tld
            k = 2
            while domain in domains:
                domain, k = f"{slug}{k}{tld}", k + 1
            names.add(name)
            domains.add(domain)
            size = rng.choices(range(len(V.COMPANY_SIZES)), cum_weights=size_cum)[0]
            out.append(
                {"name": name, "domain": domain, "chinese": chinese, "industry": industry, "city": city, "size": size}
            )
        return out

    def _unique_email(self, local: str, domain: str) -> str:
        # Unique as a mailbox: john.smith12@gmail.com and johnsmith12@gmail.com are one inbox.
        email, k = f"{local}@{domain}", 1
        while (mailbox := email_key(email)) in self.used_emails:
            k += 1
            email = f"{local}{k}@{domain}"
        self.used_emails.add(mailbox)
        return email

    def _person(self, i: int) -> tuple[Person, dict]:
        rng = self.rng
        p = Person(f"P{i:07d}")
        p.roles = roles = self.roles.get(i, [])
        company = rng.choice(self.companies)
        for role in roles:
            company = role.hub.company or company  # a colleague of the team sharing the mailbox or phone
        # The second owner of a recycled number is a stranger to the first: another company, another name.
        first_owner = next((r.hub.first_owner for r in roles if r.hub.kind == "recycled_phone" and not r.before), ())
        if first_owner and company["name"] == first_owner[1]:
            company = self.companies[(self.companies.index(company) + 1) % len(self.companies)]
        p.company = company
        p.city = company["city"]
        p.lang = "zh" if rng.random() < (0.85 if company["chinese"] else 0.35) else "en"
        while True:
            if p.lang == "zh":
                (s_cn, s_py), (g_cn, g_py) = rng.choice(V.CN_SURNAMES), rng.choice(V.CN_GIVEN)
                p.full_name, p.first_name, p.last_name = s_cn + g_cn, g_cn, s_cn
                locals_work = [f"{g_py}.{s_py}", f"{s_py}{g_py}", f"{g_py[0]}{s_py}", f"{s_py}.{g_py}"]
                locals_personal = [
                    f"{s_py}{g_py}{rng.randint(1, 999)}",
                    f"{g_py}.{s_py}{rng.randint(80, 99)}",
                    str(rng.randint(10**6, 10**10)),
                ]
                personal_domains = V.PERSONAL_DOMAINS_CN
            else:
                first, last = rng.choice(V.EN_FIRST), rng.choice(V.EN_LAST)
                p.full_name, p.first_name, p.last_name = f"{first} {last}", first, last
                f_, l_ = first.lower(), last.lower()
                locals_work = [f"{f_}.{l_}", f"{f_[0]}{l_}", f_]
                locals_personal = [f"{f_}.{l_}{rng.randint(1, 99)}", f"{f_}{l_}{rng.randint(1, 999)}"]
                personal_domains = V.PERSONAL_DOMAINS_EN
            if not first_owner or p.full_name != first_owner[0]:
                break
        p.title, p.seniority, _ = rng.choices(V.JOB_TITLES, cum_weights=self.title_cum)[0]
        emails = []
        if rng.random() < 0.9:
            emails.append(self._unique_email(rng.choice(locals_work), company["domain"]))
        for chance in (0.6, 0.15):
            if rng.random() < chance or not emails:
                local = rng.choice(locals_personal)
                domain = "qq.com" if local.isdigit() else rng.choice([d for d in personal_domains if d != "qq.com"])
                emails.append(self._unique_email(local, domain))
        p.emails = emails
        p.phone = ""
        if rng.random() < 0.85:
            while True:
                phone = (
                    rng.choice(["13", "15", "18", "17", "19"]) + str(rng.randint(0, 9)) + f"{rng.randrange(10**8):08d}"
                )
                if phone not in self.used_phones:
                    break
            self.used_phones.add(phone)
            p.phone = phone
        for role in roles:
            if role.hub.kind == "recycled_phone":
                p.phone = role.hub.written
                if role.before:
                    p.phone_until = role.hub.lo
                    role.hub.first_owner = (p.full_name, company["name"])
        roll = rng.random()
        p.is_bot = roll < 0.02 and not roles  # the people of a hub fill in forms
        p.is_job_seeker = 0.02 <= roll < 0.06
        prop = rng.betavariate(0.7, 2.6)
        p.propensity = 0.0 if p.is_bot else round(prop * (0.25 if p.is_job_seeker else 1.0), 4)
        first_octet = rng.choice([114, 117, 120, 183, 223, 36, 58])  # Chinese ISP ranges
        p.ip = f"{first_octet}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        p.useragent = rng.choice(V.USER_AGENTS)
        # Activity window: 40% were around before the history starts, the rest arrive over time.
        span = self.end - self.t0
        p.active_from = self.t0 if rng.random() < 0.4 else self.t0 + int(rng.random() * 0.85 * span)
        p.active_until = self.end - 3 * HOUR
        p.is_silent = False
        silent_until = self.end - 91 * DAY
        if not p.is_bot and rng.random() < 0.12 and p.active_from + 2 * DAY < silent_until:
            p.is_silent = True
            p.active_until = rng.randrange(p.active_from + DAY, silent_until)
        for role in roles:
            self._fit_activity(p, role)
        devices = []
        for chance in (1.0, 0.35, 0.1):
            if rng.random() < chance:
                cat, os_, browser, _ = rng.choices(V.DEVICES, cum_weights=self.device_cum)[0]
                if p.is_bot:
                    cat, os_, browser = "desktop", "Linux", rng.choice(V.BOT_BROWSERS)
                devices.append({"category": cat, "os": os_, "browser": browser, "sessions": []})
        return p, {"devices": devices}

    # -- pollution plan ----------------------------------------------------------------------------

    def _plan_pollution(self, rng: random.Random) -> None:
        """Create the hub identifiers of the pollution level and say which people use them, and when."""
        n = self.n_people
        rates = HUB_PEOPLE_PER_1000[self.pollution]
        if n < MIN_PEOPLE_FOR_HUBS or not rates:
            return
        bound: set[int] = set()  # people of a company hub or a recycled number: one such role each
        recycled: set[int] = set()
        span = self.end - self.t0
        for kind in HUB_KINDS:
            if kind in ("kiosk_device", "recycled_phone") and span < 15 * DAY:
                continue  # a trade show or a number changing hands needs some history around it
            lo, hi = HUB_SIZES[kind]
            hi = max(lo, min(hi, n // 20))
            slots = max(lo, round(rates[kind] * n / 1000))
            while slots >= lo:
                size = min(rng.randint(lo, hi), slots)
                slots -= size
                members = self._pick_people(rng, size, recycled if kind == "kiosk_device" else bound)
                if len(members) < lo:
                    break
                if kind == "recycled_phone":
                    phone = self._new_mobile(rng)
                    hub = Hub(kind, self.e164(f"+86{phone}"), phone)
                    hub.lo = self.t0 + int(span * rng.uniform(0.3, 0.7))
                    members.sort()  # the first owner is simulated first, so the second can differ from them
                    roles = [Role(hub, before=True), Role(hub)]
                    recycled.update(members)
                elif kind == "kiosk_device":
                    hub = self._kiosk(rng, span)
                    visits = sorted(self.time_in(hub.lo, hub.hi, rng) for _ in members)
                    # Session 1 was staff opening the site when the booth was set up.
                    roles = [Role(hub, visit=t, number=k + 2) for k, t in enumerate(visits)]
                else:
                    hub = self._company_hub(rng, kind)
                    roles = [Role(hub) for _ in members]
                if kind != "kiosk_device":
                    bound.update(members)
                hub.members = members
                self.hubs.append(hub)
                self.hub_kind_of[(HUB_IDENTIFIER_TYPE[kind], hub.value)] = kind
                for i, role in zip(members, roles, strict=True):
                    self.roles.setdefault(i, []).append(role)

    def _pick_people(self, rng: random.Random, size: int, taken: set[int]) -> list[int]:
        chosen: list[int] = []
        for _ in range(size * 20):
            i = rng.randint(1, self.n_people)
            if i not in taken and i not in chosen:
                chosen.append(i)
                if len(chosen) == size:
                    break
        return chosen

    def _new_mobile(self, rng: random.Random) -> str:
        while True:
            phone = rng.choice(["13", "15", "18", "17", "19"]) + str(rng.randint(0, 9)) + f"{rng.randrange(10**8):08d}"
            if phone not in self.used_phones:
                self.used_phones.add(phone)
                return phone

    def _kiosk(self, rng: random.Random, span: int) -> Hub:
        """A booth iPad: a trade show of a few days or a showroom over weeks, one GA4 cookie for all visitors."""
        days = rng.randint(2, 4) if rng.random() < 0.6 else rng.randint(20, 60)
        length = min(days * DAY, max(DAY, span - 3 * DAY))
        lo = self.t0 + DAY + rng.randrange(max(1, span - length - 2 * DAY))
        while True:
            pseudo = f"{rng.randint(100_000_000, 2_147_483_647)}.{lo}"
            if pseudo not in self.used_pseudo:
                break
        self.used_pseudo.add(pseudo)
        hub = Hub("kiosk_device", pseudo)
        hub.lo, hub.hi = lo, lo + length
        hub.device = {
            "category": "tablet",
            "operating_system": "iOS",
            "web_info": {"browser": "Safari", "hostname": "www.example-saas.com"},
        }
        city = rng.choice(TRADE_SHOW_CITIES)
        hub.geo = {"country": "China", "region": city, "city": city}
        return hub

    def _company_hub(self, rng: random.Random, kind: str) -> Hub:
        """A team mailbox or the switchboard of one company."""
        while True:
            company = rng.choice(self.companies)
            if kind == "shared_mailbox":
                address = f"{rng.choice(TEAM_MAILBOXES)}@{company['domain']}"
                if email_key(address) not in self.used_emails:
                    self.used_emails.add(email_key(address))
                    return Hub(kind, email_key(address), address, company)
                continue
            area = AREA_CODES.get(company["city"][1])
            if area and rng.random() < 0.75:
                phone = area + str(rng.randint(5, 8)) + f"{rng.randrange(10**7):07d}"  # a landline, e.g. 021-6xxx xxxx
                if phone in self.used_phones:
                    continue
                self.used_phones.add(phone)
            else:
                phone = self._new_mobile(rng)  # the office's shared mobile
            return Hub(kind, self.e164(f"+86{phone}"), phone, company)

    def _written_hub_phone(self, phone: str) -> str:
        """A landline as people type it (area code with its trunk 0, or +86 without it); mobiles as usual."""
        if len(phone) == 11 and phone[0] == "1":
            return self._written_phone(phone)
        area = phone[:-8]
        local = phone[-8:]
        return self.rng.choice(
            [
                f"0{area}-{local}",
                f"0{area} {local[:4]} {local[4:]}",
                f"+86 {area} {local[:4]} {local[4:]}",
                f"(0{area}) {local}",
                f"0{area}{local}",
            ]
        )

    def _fit_activity(self, p: Person, role: Role) -> None:
        """Stretch or cut a person's active window around their use of a hub."""
        silent_until = self.end - 91 * DAY
        if role.hub.kind == "kiosk_device":
            p.active_from = min(p.active_from, role.visit)
            if role.visit >= p.active_until:
                p.is_silent, p.active_until = False, self.end - 3 * HOUR
        elif role.hub.kind == "recycled_phone":
            switch = role.hub.lo
            if role.before:
                # The first owner gave the number up (and went quiet) before it was handed to someone else.
                margin = min(20 * DAY, (switch - self.t0) // 2)
                if p.active_from > switch - margin:
                    p.active_from = self.t0 + self.rng.randrange(max(1, switch - margin - self.t0))
                p.active_until = min(p.active_until, switch - DAY)
                p.is_silent = p.active_until < silent_until
            else:
                p.active_from = max(p.active_from, switch)
                if p.active_until < switch + 2 * DAY:
                    p.is_silent, p.active_until = False, self.end - 3 * HOUR

    # -- behaviour ---------------------------------------------------------------------------------

    def _pages(self, p: Person, n: int | None = None) -> list[tuple[str, int]]:
        """Pages of one browsing visit with seconds of engagement on each, shaped by propensity."""
        rng, prop = self.rng, p.propensity
        if n is None:
            n = 1 if rng.random() < 0.6 - 0.4 * prop else min(12, 2 + int(rng.expovariate(1 / (1 + 3 * prop))))
        kinds = ["blog", "home", "product", "features", "integrations", "pricing", "case", "careers"]
        weights = [
            6 * (1 - prop) + 1,
            2,
            1 + 3 * prop,
            0.5 + 2 * prop,
            0.3 + 1.5 * prop,
            0.2 + 4 * prop,
            0.3 + 2 * prop,
            8 if p.is_job_seeker else 0.1,
        ]
        pages = []
        for kind in rng.choices(kinds, weights=weights, k=n):
            if kind == "pricing":
                long_read = rng.random() < max(0.0, prop - 0.3) * 1.6
                pages.append(("/pricing", rng.randint(61, 300) if long_read else rng.randint(3, 50)))
            elif kind == "blog":
                pages.append((f"/blog/{rng.choice(V.BLOG_SLUGS)}", rng.randint(15, 240)))
            elif kind == "case":
                pages.append((f"/case-studies/{rng.choice(V.CASE_STUDY_SLUGS)}", rng.randint(20, 200)))
            elif kind == "careers":
                path = "/careers" if rng.random() < 0.5 else f"/careers/jobs/{rng.choice(V.CAREER_SLUGS)}"
                pages.append((path, rng.randint(20, 180)))
            else:
                path = {
                    "home": "/",
                    "product": "/product",
                    "features": "/product/features",
                    "integrations": "/product/integrations",
                }[kind]
                pages.append((path, rng.randint(5, 120)))
        return pages

    def _traffic(self) -> tuple:
        return self.rng.choices(V.TRAFFIC, cum_weights=self.traffic_cum)[0][:5]

    def _form_plan(self, p: Person) -> list[tuple[int, str]]:
        rng, prop = self.rng, p.propensity
        if p.is_bot:
            return []
        lo, hi = p.active_from + HOUR, p.active_until  # room for the pages read before the form
        plan = []
        warm = prop >= 0.4 and not p.is_silent and not p.is_job_seeker and p.active_until > self.last_day
        last_day_trial = warm and rng.random() < 0.12
        chances = {
            "whitepaper": 0.04 + 0.45 * prop,
            "webinar": 0.03 + 0.35 * prop,
            "brochure": 0.03 + 0.3 * prop,
            "contact": 0.02 + 0.08 * prop + (0.25 if p.is_job_seeker else 0),
            "pricing": 0.35 * prop**2,
            "demo": 0.45 * prop**2,
            "trial": 0.0 if last_day_trial else 0.55 * prop**2.5,
        }
        for form, chance in chances.items():
            if rng.random() < chance:
                t = self.time_in(lo, hi)
                if form in ("trial", "demo", "pricing"):  # bottom-of-funnel asks come later in a journey
                    t = max(t, self.time_in(lo, hi))
                plan.append((t, form))
        if last_day_trial:
            # A warm lead asks for a trial on the interval's own day: the "newly hot" case.
            plan.append((self.time_in(self.last_day + HOUR, self.end - 3 * HOUR), "trial"))
            p.stats["last_day_trial"] = True
        return sorted(plan)

    def _form_session(self, p: Person, t: int, form: str, lang: str) -> Session:
        rng = self.rng
        traffic = self._traffic()
        path = V.FORMS[form][2]
        if form == "whitepaper":
            path = V.WHITEPAPER_PATHS[lang]
        pages = self._pages(p, rng.choice([0, 0, 1, 2]))
        if form in ("trial", "demo") and rng.random() < 0.6:
            pages.append(("/pricing", rng.randint(61, 240)))  # people read the price before asking
        dwell = rng.randint(40, 180) if form != "pricing" else rng.randint(70, 240)
        pages.append((path, dwell))
        before = sum(d + 2 for _, d in pages[:-1])
        start = t - before - int(dwell * 0.7)
        download = None
        if form == "whitepaper":
            download = V.FILES[f"whitepaper_{lang}"]
        elif form == "brochure":
            download = V.FILES["brochure"]
        return Session(start, traffic, pages, form, t, download)

    def _email(self, p: Person, address: str, subscribed: int, sessions: list[Session]) -> list[tuple[int, dict]]:
        """SendGrid events for every campaign this address received, with opens and clicks by propensity."""
        rng, prop = self.rng, p.propensity
        canonical = address.strip().lower()
        # A typo'd address captured on a form bounces; Gmail dot and +tag variants still deliver.
        undeliverable = email_key(canonical) not in {email_key(e) for e in p.emails}
        out: list[tuple[int, dict]] = []
        bounced = 0
        written = address.strip() if rng.random() < 0.05 else canonical
        for c in self.campaigns:
            if c["ts"] < subscribed:
                continue
            receive = 0.55 if c["kind"] == "newsletter" else (0.2 + 0.6 * prop if c["kind"] == "pricing" else 0.4)
            if rng.random() >= receive:
                continue
            t = c["ts"] + rng.randrange(1800)
            if t >= self.end:
                break
            msg = f"{self.b64(16)}.filterdrecv-{rng.randrange(10**9):09d}.{rng.randrange(100)}"
            base = {
                "email": written,
                "smtp-id": f"<{msg[:22]}@ismtpd0012p1hnd1.sendgrid.net>",
                "sg_message_id": msg,
                "category": c["categories"],
                "marketing_campaign_id": c["id"],
                "marketing_campaign_name": c["name"],
                "asm_group_id": c["group"],
            }

            def event(kind: str, ts: int, base: dict = base, **extra) -> None:
                out.append((ts, {**base, "timestamp": ts, "event": kind, "sg_event_id": self.b64(16), **extra}))

            event("processed", t)
            if bounced:
                event("dropped", t + 1, reason="Bounced Address", status="5.1.1")
                bounced += 1
                if bounced >= 3:
                    break
                continue
            if undeliverable or rng.random() < 0.004:
                reason, status, kind = V.BOUNCE_REASONS[0 if undeliverable else rng.randrange(len(V.BOUNCE_REASONS))]
                event(
                    "bounce",
                    t + rng.randint(5, 90),
                    reason=reason,
                    status=status,
                    type=kind,
                    bounce_classification="Invalid Address" if status == "5.1.1" else "Technical",
                )
                bounced = 1
                continue
            delivered = t + rng.randint(2, 40)
            if rng.random() < 0.03:
                event("deferred", t + 5, response="421 4.7.0 Try again later, closing connection.", attempt="1")
                delivered = t + rng.randint(600, 3600)
            event(
                "delivered",
                delivered,
                ip=f"167.89.{rng.randrange(256)}.{rng.randrange(256)}",
                response="250 2.0.0 OK",
                tls=1,
            )
            opened_at = delivered + int(rng.expovariate(1 / (5 * HOUR)))
            if rng.random() < 0.05 + 0.6 * prop and opened_at < min(p.active_until, self.end):
                for _ in range(1 + (rng.random() < 0.3) + (rng.random() < 0.1)):
                    if opened_at >= min(p.active_until, self.end):
                        break
                    event("open", opened_at, ip=p.ip, useragent=p.useragent, sg_machine_open=False)
                    p.stats["email_opens"] += 1
                    opened_at += rng.randint(60, 2 * DAY)
                click = delivered + rng.randint(30, 3 * HOUR)
                if rng.random() < 0.1 + 0.5 * prop and click < min(p.active_until, self.end - 2 * HOUR):
                    event(
                        "click",
                        click,
                        ip=p.ip,
                        useragent=p.useragent,
                        url=c["url"],
                        url_offset={"index": 0, "type": "html"},
                    )
                    p.stats["email_clicks"] += 1
                    pages = [(c["path"], rng.randint(20, 200)), *self._pages(p, rng.choice([0, 0, 1, 2]))]
                    sessions.append(
                        Session(click + rng.randint(1, 5), ("newsletter", "email", c["slug"], True, False), pages)
                    )
            unsub_at = delivered + rng.randint(HOUR, 3 * DAY)
            if rng.random() < 0.004 + 0.01 * (1 - prop) and unsub_at < self.end:
                if rng.random() < 0.7:
                    event("unsubscribe", unsub_at)
                else:
                    event("group_unsubscribe", unsub_at, ip=p.ip, useragent=p.useragent)
                break
            if rng.random() < 0.0008 and unsub_at < self.end:
                event("spamreport", unsub_at)
                break
        return [e for e in out if self.t0 <= e[0] < self.end]

    # -- writing one person ------------------------------------------------------------------------

    def _written_email(self, email: str, typo_chance: float = 0.0) -> str:
        """The address as a person types it: case, spaces, Gmail dots and +tags, sometimes a typo."""
        rng = self.rng
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
            mailbox = email_key("@".join(typo))
            if mailbox not in self.used_emails:  # never someone else's real address (nor the same one again)
                self.used_emails.add(mailbox)
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

    def _typo_email(self, p: Person) -> str:
        """One of the person's addresses with a slip of the finger: a domain typo (qq.com -> qq.con),
        two letters swapped, one dropped or doubled. Empty when every attempt gives a known mailbox."""
        rng = self.rng
        work = [e for e in p.emails if e.endswith("@" + p.company["domain"])]
        local, domain = (work[0] if work and rng.random() < 0.7 else rng.choice(p.emails)).split("@")
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
            mailbox = email_key(typo)
            if mailbox not in self.used_emails:
                self.used_emails.add(mailbox)
                return typo
        return ""

    def _written_phone(self, phone: str) -> str:
        if not phone:
            return ""
        r = self.rng.random()
        if r < 0.3:
            return f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}"
        if r < 0.75:
            return phone
        if r < 0.95:
            return f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
        return f"+86{phone}"

    def _form_row(
        self,
        p: Person,
        t: int,
        form: str,
        lang: str,
        traffic: tuple,
        role: Role | None = None,
        typo_email: str = "",
    ) -> FormRow:
        """One submission in the format of the tool serving that form; ``client_id`` is filled in later.

        ``role``: the form is the person's use of a hub (the team mailbox or office phone is typed in,
        a recycled number is given). ``typo_email``: typed instead of the person's address, without a phone.
        """
        rng = self.rng
        work = [e for e in p.emails if e.endswith("@" + p.company["domain"])]
        pick = work[0] if work and rng.random() < 0.65 else rng.choice(p.emails)
        email = self._written_email(pick, self.typo_chance)
        kind = role.hub.kind if role else ""
        phone_digits = p.phone
        if kind == "shared_mailbox":
            email = self._written_email(role.hub.written)
        elif kind == "shared_phone":
            phone_digits = role.hub.written
        elif typo_email:
            email, phone_digits = typo_email, ""
        keep_email = kind == "shared_mailbox" or bool(typo_email)
        keep_phone = kind in ("shared_phone", "recycled_phone")
        phone = self._written_hub_phone(phone_digits) if phone_digits else ""
        company, industry = p.company, p.company["industry"]
        size_bucket, head_count = V.COMPANY_SIZES[company["size"]]
        source, medium = traffic[0], traffic[1]
        if lang == "zh":
            if phone and rng.random() < 0.15 and not keep_email:
                email = ""  # Chinese forms often make only the phone mandatory
            values = [
                V.FORMS[form][0],
                p.full_name,
                phone,
                email,
                company["name"],
                p.title,
                industry[1],
                f"{size_bucket}人",
                local_time(t).strftime("%Y-%m-%d %H:%M:%S"),
                V.JINSHUJU_SOURCE.get(source, "官网"),
                "",
            ]
            # Sales forms export with a BOM; content forms were re-saved from Excel, hence GBK.
            tool = "jinshuju" if form in V.SALES_FORMS else "jinshuju_gbk"
            return FormRow(t, tool, "", p.key, values, email=email, phone=phone and phone_digits)
        if rng.random() < 0.4 and not keep_phone:
            phone = ""
        elif phone and rng.random() < 0.05 and not keep_email:
            email = ""
        name = V.FORMS[form][1]
        if rng.random() < 0.5:
            if rng.random() < 0.5:
                submitted = (EPOCH + timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%SZ")
            else:
                submitted = local_time(t).strftime("%Y-%m-%dT%H:%M:%S+08:00")
            utm = source if traffic[3] or source == "newsletter" else ""
            values = [
                name,
                p.full_name,
                email,
                phone,
                company["name"],
                p.title,
                industry[0],
                size_bucket,
                submitted,
                utm,
                "",
            ]
            return FormRow(
                t, "typeform", f"{rng.getrandbits(128):032x}", p.key, values, email=email, phone=phone and phone_digits
            )
        when = local_time(t)
        # HubSpot exports an Excel datetime, except when someone re-typed the sheet as text.
        conversion = when.replace(second=0) if rng.random() < 0.75 else when.strftime("%Y-%m-%d %H:%M")
        key = self._uuid()
        employees = head_count if rng.random() < 0.5 else size_bucket
        values = [
            name,
            p.first_name,
            p.last_name,
            email,
            phone,
            company["name"],
            p.title,
            industry[0],
            employees,
            conversion,
            V.HUBSPOT_SOURCE.get(medium, "Offline Sources"),
            "",
        ]
        return FormRow(t, "hubspot_forms", key, p.key, values, email=email, phone=phone and phone_digits)

    def _uuid(self) -> str:
        rng = self.rng
        a, b, c, d, e = (rng.getrandbits(n) for n in (32, 16, 12, 14, 48))
        return f"{a:08x}-{b:04x}-4{c:03x}-{0x8000 | d:04x}-{e:012x}"

    def _ga4_lines(self, p: Person, dev: dict, s: Session, number: int) -> list[tuple[int, str]]:
        rng = self.rng
        source, medium, campaign, tagged, has_gclid = s.traffic
        pseudo = dev["pseudo"]
        collected = None
        query = ""
        if tagged:
            gclid = f"Cj0KCQiA{self.b64(30)}" if has_gclid else None
            collected = {
                "manual_source": source,
                "manual_medium": medium,
                "manual_campaign_name": campaign,
                "gclid": gclid,
            }
            query = f"?utm_source={source}&utm_medium={medium}&utm_campaign={campaign}"
            if gclid:
                query += f"&gclid={gclid}"
        common = {
            "user_pseudo_id": pseudo,
            "user_id": p.user_id if s.logged_in else None,
            "user_first_touch_timestamp": str(dev["first_ts"] * 1_000_000),
            "device": dev["device"],
            "geo": dev["geo"],
            "traffic_source": dev["first_traffic"],
            "collected_traffic_source": collected,
            "platform": "WEB",
            "stream_id": "4178295130",
        }
        lines = []
        session_id = s.ts

        def emit(name: str, t_us: int, params: list) -> None:
            params = [
                *params,
                {"key": "ga_session_id", "value": {"int_value": session_id}},
                {"key": "ga_session_number", "value": {"int_value": number}},
            ]
            d = (EPOCH + timedelta(microseconds=t_us)).strftime("%Y%m%d")
            row = {"event_date": d, "event_timestamp": str(t_us), "event_name": name, "event_params": params, **common}
            lines.append((t_us, json.dumps(row, ensure_ascii=False, separators=(",", ":"))))

        def page_params(path: str, referrer: str, with_query: bool) -> list:
            location = V.SITE + path + (query if with_query else "")
            title = V.PAGES.get(path) or f"{path.rsplit('/', 1)[-1].replace('-', ' ').title()} | Example SaaS"
            return [
                {"key": "page_location", "value": {"string_value": location}},
                {"key": "page_title", "value": {"string_value": title}},
                {"key": "page_referrer", "value": {"string_value": referrer}},
            ]

        t = s.ts * 1_000_000 + rng.randrange(1_000_000)
        referrer = "" if source == "newsletter" else V.REFERRERS.get(source, "")
        first = page_params(s.pages[0][0], referrer, True)
        if s.first_of_device:
            emit("first_visit", t, first)
        emit("session_start", t, first)
        last = len(s.pages) - 1
        for i, (path, dwell) in enumerate(s.pages):
            params = page_params(path, referrer, i == 0)
            engaged = 0 if p.is_bot else rng.randint(1, 900)
            emit("page_view", t, [*params, {"key": "engagement_time_msec", "value": {"int_value": engaged}}])
            if path == "/pricing" and dwell > 60 and not p.is_bot:
                p.stats["pricing_views_over_60s"] += 1
            if path.startswith("/careers"):
                p.stats["careers_views"] += 1
            if not p.is_bot:
                if dwell > 30 and rng.random() < 0.5:
                    emit(
                        "scroll",
                        t + dwell * 500_000,
                        [*params, {"key": "percent_scrolled", "value": {"int_value": 90}}],
                    )
                if i == last and s.form:
                    submit = s.form_ts * 1_000_000 + rng.randrange(1_000_000)
                    form_id = f"form_{s.form}"
                    emit(
                        "form_submit",
                        submit,
                        [
                            *params,
                            {"key": "form_id", "value": {"string_value": form_id}},
                            {"key": "form_destination", "value": {"string_value": V.SITE + path}},
                            {"key": "client_id", "value": {"string_value": pseudo}},
                        ],
                    )
                    if s.download:
                        emit(
                            "file_download",
                            submit + 3_000_000,
                            [
                                *params,
                                {"key": "file_name", "value": {"string_value": s.download}},
                                {"key": "file_extension", "value": {"string_value": "pdf"}},
                                {"key": "link_url", "value": {"string_value": V.SITE + s.download}},
                            ],
                        )
                emit(
                    "user_engagement",
                    t + dwell * 1_000_000,
                    [
                        *params,
                        {"key": "engagement_time_msec", "value": {"int_value": dwell * 1000}},
                        {"key": "session_engaged", "value": {"string_value": "1"}},
                    ],
                )
            referrer = V.SITE + path
            t += (dwell + rng.randint(1, 4)) * 1_000_000
        return [line for line in lines if self.t0 * 1_000_000 <= line[0] < self.end * 1_000_000]

    def _simulate(self, i: int, people_w, records_w, identifiers_w) -> None:
        # A stream per person: pollution that touches one person leaves everybody else's draws alone.
        rng = self.rng = random.Random(f"{self.seed}/{i}")
        p, extra = self._person(i)
        devices = extra["devices"]
        stats = p.stats
        seen = Seen()
        lang = p.lang if rng.random() < 0.85 else ("en" if p.lang == "zh" else "zh")
        typo_new_device = rng.random() < self.typo_new_device and not p.is_bot
        # ---- web sessions and forms
        sessions: list[Session] = []
        if p.is_bot:
            # Crawlers: bursts of page views seconds apart, no engagement, headless user agents.
            for _ in range(rng.randint(2, 4)):
                pages = [
                    (
                        rng.choice(["/", "/pricing", "/product", f"/blog/{rng.choice(V.BLOG_SLUGS)}", "/careers"]),
                        rng.randint(1, 3),
                    )
                    for _ in range(rng.randint(10, 60))
                ]
                sessions.append(
                    Session(
                        self.time_in(p.active_from, p.active_until), ("(direct)", "(none)", None, False, False), pages
                    )
                )
        else:
            n = 1 + min(29, int(rng.expovariate(1.0) * (0.8 + 5 * p.propensity)))
            for _ in range(n):
                sessions.append(Session(self.time_in(p.active_from, p.active_until), self._traffic(), self._pages(p)))
            if p.is_job_seeker:
                for _ in range(2):
                    pages = [
                        ("/careers", rng.randint(30, 120)),
                        (f"/careers/jobs/{rng.choice(V.CAREER_SLUGS)}", rng.randint(40, 240)),
                    ]
                    sessions.append(Session(self.time_in(p.active_from, p.active_until), self._traffic(), pages))
        plan: list[tuple[int, str, Role | None]] = [(t, form, None) for t, form in self._form_plan(p)]
        for role in p.roles:  # each person of a hub uses it at least once, on a form
            if role.hub.kind == "kiosk_device":
                plan.append((role.visit, rng.choice(KIOSK_FORMS), role))
            else:
                t = self.time_in(p.active_from + HOUR, p.active_until)
                plan.append((t, rng.choice(HUB_FORMS[role.hub.kind]), role))
        plan.sort(key=lambda x: (x[0], x[1]))
        form_sessions = []
        for t, form, role in plan:
            s = self._form_session(p, t, form, lang)
            s.role = role
            if role and role.hub.kind == "kiosk_device":
                s.traffic = DIRECT
            form_sessions.append(s)
        sessions.extend(form_sessions)
        trial_ts = min((t for t, f, _ in plan if f == "trial"), default=None)
        if trial_ts is not None:
            p.user_id = f"acct_{rng.getrandbits(40):010x}"  # the trial account's id, sent to GA4 after login
        mobile = next((k for k, d in enumerate(devices) if d["category"] == "mobile"), 0)

        def assign(s: Session, prefer: int = 0) -> None:
            s.device = prefer if len(devices) == 1 or rng.random() < 0.6 else rng.randrange(len(devices))
            devices[s.device]["sessions"].append(s)

        kiosk_sessions = []
        for s in sessions:
            if s.role and s.role.hub.kind == "kiosk_device":
                kiosk_sessions.append(s)
            else:
                assign(s)
        built_rows = [(s, self._form_row(p, s.form_ts, s.form, lang, s.traffic, s.role)) for s in form_sessions]
        # A form typed with a mistyped address and no phone, on a device used for nothing else: only the
        # name, the company and the look of the address tie it to the person.
        stray: tuple[Session, FormRow] | None = None
        if typo_new_device and (typo := self._typo_email(p)):
            s = self._form_session(p, self.time_in(p.active_from + HOUR, p.active_until), rng.choice(TYPO_FORMS), lang)
            s.typo_new_device = True
            row = self._form_row(p, s.form_ts, s.form, lang, s.traffic, typo_email=typo)
            row.typo_new_device = True
            stray = (s, row)
        # ---- email list membership: the first form's address (typos included: they bounce), or an import;
        # a team mailbox is subscribed by nobody in particular, so it is left out
        list_address, subscribed = "", 0
        if built_rows:
            list_address = next(
                (r.email for s, r in built_rows if r.email and not (s.role and s.role.hub.kind == "shared_mailbox")),
                "",
            )
            list_address = list_address or (p.emails[0] if rng.random() < 0.5 else "")
            subscribed = plan[0][0]
        elif not p.is_bot and rng.random() < 0.5:
            list_address = rng.choice(p.emails)
            subscribed = self.t0 if rng.random() < 0.6 else p.active_from
        email_events: list[tuple[int, dict]] = []
        if list_address:
            click_sessions: list[Session] = []
            email_events = self._email(p, list_address, subscribed, click_sessions)
            for s in click_sessions:
                assign(s, mobile)
            sessions.extend(click_sessions)
        if stray:
            cat, os_, browser, _ = rng.choices(V.DEVICES, cum_weights=self.device_cum)[0]
            devices.append({"category": cat, "os": os_, "browser": browser, "sessions": [stray[0]]})
        # ---- expand devices
        for dev in devices:
            dev["sessions"].sort(key=lambda s: s.ts)
        devices = [d for d in devices if d["sessions"]]
        for dev in devices:
            first = dev["sessions"][0]
            first.first_of_device = True
            dev["first_ts"] = first.ts
            while True:
                pseudo = f"{rng.randint(100_000_000, 2_147_483_647)}.{first.ts}"
                if pseudo not in self.used_pseudo:
                    break
            self.used_pseudo.add(pseudo)
            dev["pseudo"] = pseudo
            src, med, camp = first.traffic[:3]
            name = camp or {"organic": "(organic)", "(none)": "(direct)", "referral": "(referral)"}.get(med, "(none)")
            dev["first_traffic"] = {"name": name, "medium": med, "source": src}
            dev["device"] = {
                "category": dev["category"],
                "operating_system": dev["os"],
                "web_info": {"browser": dev["browser"], "hostname": "www.example-saas.com"},
            }
            if p.is_bot:
                country, city = rng.choice(V.BOT_GEOS)
            else:
                city = p.city[1]
                country = {"Hong Kong": "Hong Kong", "Singapore": "Singapore"}.get(city, "China")
            dev["geo"] = {"country": country, "region": city, "city": city}
            records_w.writerow(["web", pseudo, p.key, "", 0])
        for s in kiosk_sessions:
            hub = s.role.hub
            devices.append(
                {
                    "pseudo": hub.value,
                    "first_ts": hub.lo,
                    "first_traffic": KIOSK_FIRST_TRAFFIC,
                    "device": hub.device,
                    "geo": hub.geo,
                    "sessions": [s],
                    "kiosk": s.role.number,
                }
            )
        activity = []
        logged_in = False
        for dev in devices:
            for number, s in enumerate(dev["sessions"], 1):
                s.logged_in = (
                    not s.typo_new_device
                    and "kiosk" not in dev
                    and bool(p.user_id)
                    and s.ts > trial_ts
                    and rng.random() < 0.85
                )
                lines = self._ga4_lines(p, dev, s, dev.get("kiosk", number))
                for t_us, line in lines:
                    self.drop(t_us // 1_000_000).web.add(line)
                if lines:
                    lo, hi = min(lines)[0] // 1_000_000, max(lines)[0] // 1_000_000
                    seen.add("web", dev["pseudo"], lo, hi)
                    if s.logged_in:
                        seen.add("ga4_user", p.user_id, lo, hi)
                        logged_in = True
                activity.append(s.ts)
                stats["web_sessions"] += 1
        if logged_in:
            records_w.writerow(["web", p.user_id, p.key, "", 0])
        # ---- form rows (now the client_id of each form's device is known)
        device_of = {id(s): d["pseudo"] for d in devices for s in d["sessions"]}
        rows = [*built_rows, stray] if stray else built_rows
        for s, row in rows:
            # Consent banners and ad blockers lose the cookie of some submissions (the booth iPad accepted them).
            if (s.role and s.role.hub.kind == "kiosk_device") or rng.random() < 0.85:
                row.values[-1] = device_of.get(id(s), "")
            keys = []
            if row.email:
                keys.append(seen.add("email", email_key(row.email), s.form_ts, s.form_ts))
            if row.phone:
                keys.append(seen.add("phone", self.e164(f"+86{row.phone}"), s.form_ts, s.form_ts))
            if row.values[-1]:
                keys.append(seen.add("web", row.values[-1], s.form_ts, s.form_ts))
            row.hub_kind = self._hub_of(keys)
            self.drop(s.form_ts).forms.append(row)
            stats["form_submissions"] += 1
            key = {
                "trial": "trial_requests",
                "demo": "demo_requests",
                "pricing": "pricing_inquiries",
                "whitepaper": "whitepaper_downloads",
                "webinar": "webinar_registrations",
                "brochure": "brochure_downloads",
                "contact": "contact_requests",
            }[s.form]
            stats[key] += 1
        if stray:
            self.pollution_counts["typo_new_device_records"] += 1
            self.pollution_counts["typo_new_device_people"] += 1
            activity.append(stray[0].form_ts)
        # ---- email events
        seen_ids = set()
        for ts, ev in sorted(email_events, key=lambda e: e[0]):
            self.drop(ts).email.add(ev, duplicate=rng.random() < 0.02)
            if ev["sg_event_id"] not in seen_ids:
                seen_ids.add(ev["sg_event_id"])
                records_w.writerow(["email", ev["sg_event_id"], p.key, "", 0])
            if ev["event"] in ("open", "click"):
                activity.append(ts)
        if email_events:
            times = [e[0] for e in email_events]
            seen.add("email", email_key(list_address), min(times), max(times))
        # ---- CRM
        crm = self._crm(p, built_rows, plan, records_w, seen)
        # ---- truth
        activity.extend(t for t, *_ in plan)
        stats["first_activity_ts"] = min(activity, default=0)
        stats["last_activity_ts"] = max(activity, default=0)
        if list_address:
            self.truth_counts["on_email_list"] += 1
            self.candidates["email"] = (p, list_address.strip().lower())
        if built_rows:
            self.candidates["forms"] = p
        if not p.is_bot or "person" not in self.candidates:
            self.candidates["person"] = p
        if crm["lead_id"]:
            self.candidates["crm"] = (p, crm["lead_id"])
        tc = self.truth_counts
        tc["bots"] += p.is_bot
        tc["job_seekers"] += p.is_job_seeker
        tc["silent"] += p.is_silent
        tc["converted"] += crm["converted"]
        tc["last_day_trials"] += stats["last_day_trial"]
        tc["crm_leads"] += bool(crm["lead_id"])
        tc["crm_leads_followed_up"] += bool(crm["first_follow_up"])
        hub_kinds = self._write_identifiers(p, seen, identifiers_w)
        people_w.writerow(
            [
                p.key,
                p.full_name,
                p.lang,
                p.company["name"],
                p.company["domain"],
                p.title,
                p.seniority,
                int(p.seniority in V.DIRECTOR_PLUS),
                p.company["industry"][0],
                int(p.company["industry"][2]),
                V.COMPANY_SIZES[p.company["size"]][0],
                p.city[2],
                p.city[1],
                "|".join(p.emails),
                f"+86{p.phone}" if p.phone else "",
                "|".join(d["pseudo"] for d in devices if "kiosk" not in d),
                p.user_id,
                f"{p.propensity:.4f}",
                int(p.is_bot),
                int(p.is_job_seeker),
                int(p.is_silent),
                list_address.strip().lower(),
                _iso(stats["first_activity_ts"]),
                _iso(stats["last_activity_ts"]),
                *(stats[k] for k in TRUTH_COUNTS),
                int(stats["last_day_trial"]),
                crm["lead_id"],
                int(crm["has_opportunity"]),
                int(crm["converted"]),
                crm["revenue"],
                "|".join(hub_kinds),
                int(stray is not None),
                _iso(crm["first_follow_up"]),
            ]
        )

    def _hub_of(self, keys) -> str:
        """The hub kind of a record holding these (identifier_type, value) keys, counted once per record."""
        for key in keys:
            kind = self.hub_kind_of.get(key)
            if kind:
                self.pollution_counts["hub_records"][kind] += 1
                return kind
        return ""

    def _write_identifiers(self, p: Person, seen: Seen, identifiers_w) -> list[str]:
        """One truth row per identifier the person's records show; returns the hub kinds among them."""
        counts = self.pollution_counts
        own = {email_key(e) for e in p.emails}
        kinds = []
        for (kind, value), (lo, hi) in seen.spans.items():
            hub = self.hub_kind_of.get((kind, value), "")
            typo = kind == "email" and not hub and value not in own
            identifiers_w.writerow([kind, value, p.key, hub, _iso(lo), _iso(hi), int(typo)])
            counts["links"] += 1
            counts["typo_links"] += typo
            if hub:
                counts["hub_links"][hub] += 1
                if hub not in kinds:
                    kinds.append(hub)
                    counts["hub_people"][hub] += 1
                self.hubs_seen.add((kind, value))
        return sorted(kinds)

    def _crm(self, p: Person, built_rows: list, plan: list, records_w, seen: Seen) -> dict:
        rng, prop = self.rng, p.propensity
        result = {"lead_id": "", "has_opportunity": False, "converted": False, "revenue": 0, "first_follow_up": 0}
        if p.is_bot:
            return result
        if plan:
            first_row = built_rows[0][1]
            created = plan[0][0] + rng.randint(300, 2 * DAY)  # the CRM sync picks web leads up within hours
            form = plan[0][1]
            lead_source = {"whitepaper": "Content Download", "brochure": "Content Download", "webinar": "Webinar"}.get(
                form, "Web"
            )
            email = first_row.email.strip()
        elif rng.random() < 0.04:
            created = self.time_in(p.active_from, p.active_until)
            lead_source = rng.choice(["Trade Show", "Referral", "Partner", "Cold Call"])
            email = rng.choice(p.emails)
        else:
            return result
        if created >= self.end:
            return result
        if email and rng.random() < 0.2:
            email = p.emails[0].title() if rng.random() < 0.5 else p.emails[0]
        lead_id = self.sf_id("00Q", "lead")
        result["lead_id"] = lead_id
        company = p.company
        last_change = created + rng.randint(60, 5 * DAY)
        # ---- opportunity
        strong = any(f in ("trial", "demo", "pricing") for _, f, _ in plan)
        chance = 0 if p.is_job_seeker else max(0.0, min(0.9, (prop - 0.25) * 1.8)) * (1.0 if strong else 0.5)
        status = "Working"
        if rng.random() < chance:
            opp_created = created + rng.randint(2 * DAY, 25 * DAY)
            if opp_created < self.end:
                status = "Converted"
                result["has_opportunity"] = True
                cycle = rng.randint(15, 75) * DAY
                amount = round(DEAL_SIZE_CNY[company["size"]] * rng.lognormvariate(0, 0.4), -3)
                currency = "CNY" if company["chinese"] else rng.choice(["CNY", "USD"])
                if currency == "USD":
                    amount = round(amount / 7.1, -2)
                close_ts = opp_created + cycle
                if close_ts < self.end:
                    won = rng.random() < 0.35 + 0.5 * prop
                    stage = "Closed Won" if won else "Closed Lost"
                    close = local_time(close_ts).strftime("%Y-%m-%d")
                    stage_changed = close_ts
                else:
                    won = False
                    elapsed = (self.end - opp_created) / cycle
                    step = min(3, int(elapsed * 4))
                    stage = STAGES_OPEN[step]
                    close = ""
                    close_ts = opp_created
                    # the open stages split the cycle in quarters (no draw: the sample stays the same)
                    stage_changed = opp_created + cycle * step // 4
                opp_id = self.sf_id("006", "opportunity")
                records_w.writerow(["crm", opp_id, p.key, "", 0])
                seen.add("crm_lead", lead_id, opp_created, close_ts)
                product = rng.choice(["CDP 年度订阅", "CDP Annual Subscription", "营销自动化套件", "Enterprise Plan"])
                row = [
                    opp_id,
                    lead_id,
                    f"{company['name']} - {product}",
                    stage,
                    f"{amount:.2f}",
                    currency,
                    local_time(opp_created).strftime("%Y-%m-%d %H:%M:%S"),
                    close,
                    local_time(stage_changed).strftime("%Y-%m-%d %H:%M:%S"),
                ]
                self.drop(close_ts).opportunities.append((close_ts, p.key, row, ""))
                last_change = max(last_change, close_ts)
                if won:
                    result["converted"] = True
                    result["revenue"] = amount
                    order_ts = close_ts + rng.randint(DAY, 10 * DAY)
                    orders = [(order_ts, amount)]
                    if rng.random() < 0.25:
                        orders.append((order_ts + rng.randint(30, 90) * DAY, round(amount * rng.uniform(0.2, 0.5), -2)))
                    for ts, value in orders:
                        if ts >= self.end:
                            continue
                        order_id = self.sf_id("801", "order")
                        order_email = email or p.emails[0]
                        keys = [
                            seen.add("crm_lead", lead_id, ts, ts),
                            seen.add("email", email_key(order_email), ts, ts),
                        ]
                        records_w.writerow(["crm", order_id, p.key, self._hub_of(keys), 0])
                        row = [
                            order_id,
                            lead_id,
                            order_email,
                            f"{value:.2f}",
                            currency,
                            local_time(ts).strftime("%Y-%m-%d %H:%M:%S"),
                        ]
                        self.drop(ts).orders.append((ts, p.key, row, ""))
        if status != "Converted":
            if p.is_job_seeker or (prop < 0.1 and rng.random() < 0.5):
                status = "Unqualified"
            elif self.end - created < 7 * DAY:
                status = "New"
            elif prop > 0.5:
                status = "Qualified"
        last_change = min(last_change, self.end - 1)
        owner = rng.choice(V.SALES_OWNERS)
        size_bucket, head_count = V.COMPANY_SIZES[company["size"]]
        # The phone on the lead is the one of the form that created it (an office switchboard, say).
        first_role = plan[0][2] if plan else None
        phone_digits = first_role.hub.written if first_role and first_role.hub.kind == "shared_phone" else p.phone
        phone = self._written_hub_phone(phone_digits) if rng.random() < 0.8 and phone_digits else ""
        if p.phone_until and last_change >= p.phone_until:
            phone = ""  # the number was given up before the lead's last change: sales removed it
        keys = [seen.add("crm_lead", lead_id, created, last_change)]
        if email:
            keys.append(seen.add("email", email_key(email), created, last_change))
        if phone:
            keys.append(seen.add("phone", self.e164(f"+86{phone_digits}"), created, last_change))
        records_w.writerow(["crm", lead_id, p.key, self._hub_of(keys), 0])
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
        self.drop(last_change).leads.append((last_change, p.key, row, ""))
        # Drawn last, so the lead, its opportunity and orders are the same with or without activities.
        if owner:
            hot = prop >= 0.5 or result["has_opportunity"]
            result["first_follow_up"] = self._follow_up(p.key, lead_id, owner, created, hot, company["chinese"])
        return result

    def _follow_up(self, person_key: str, lead_id: str, owner: str, created: int, hot: bool, chinese: bool) -> int:
        """The owner's activities on a new lead (before the export's end); returns the first one's time, 0 if none.

        Most leads (75%) are followed up within 1-20 hours, some (15%) after 1-5 days, the rest never;
        a hot lead gets 1-4 more activities, a few days apart, any other lead one more in four cases.
        """
        rng = self.rng
        draw = rng.random()
        if draw < 0.75:
            t = created + rng.randint(HOUR, 20 * HOUR)
        elif draw < 0.9:
            t = created + rng.randint(DAY, 5 * DAY)
        else:
            return 0
        if t >= self.end:
            return 0
        first = t
        more = rng.randint(1, 4) if hot else int(rng.random() < 0.25)
        cum = self.activity_first_cum
        for k in range(more + 1):
            if k:
                t += rng.randint(DAY, 10 * DAY)
                if t >= self.end:
                    break
                cum = self.activity_later_cum
            kind, _, _, zh, en = rng.choices(V.ACTIVITY_TYPES, cum_weights=cum)[0]
            row = [
                self.sf_id("00T", "activity"),
                lead_id,
                kind,
                rng.choice(zh if chinese else en),
                owner,
                local_time(t).strftime("%Y-%m-%d %H:%M:%S"),
            ]
            self.drop(t).activities.append((t, person_key, row, ""))
        return first

    # -- planted bad rows --------------------------------------------------------------------------

    def _plant(self, records_w) -> None:
        """Add the known bad rows to the last drop; each one must end up in quarantine."""
        rng = self.rng
        drop = self.drops[self.drop_days[-1]]
        t = self.last_day + 5 * HOUR
        when = local_time(t)
        # Bad rows belong to real people (a form filler if there is one) so the truth covers their keys.
        pf = self.candidates.get("forms", self.candidates["person"])
        company = pf.company
        size = V.COMPANY_SIZES[company["size"]][0]
        email = pf.emails[0]
        drop.forms.append(
            FormRow(
                t,
                "jinshuju",
                "",
                pf.key,
                [
                    "联系我们",
                    pf.full_name,
                    self._written_phone(pf.phone),
                    email,
                    company["name"],
                    pf.title,
                    company["industry"][1],
                    f"{size}人",
                    "2026-13-45 25:61:00",
                    "官网",
                    "",
                ],
                "unparseable submitted time",
            )
        )
        drop.forms.append(
            FormRow(
                t,
                "typeform",
                f"{rng.getrandbits(128):032x}",
                pf.key,
                [
                    "Contact Us",
                    pf.full_name,
                    "",
                    "",
                    company["name"],
                    pf.title,
                    company["industry"][0],
                    size,
                    when.strftime("%Y-%m-%dT%H:%M:%S+08:00"),
                    "",
                    "",
                ],
                "neither email nor phone",
            )
        )
        drop.forms.append(
            FormRow(
                t,
                "hubspot_forms",
                self._uuid(),
                pf.key,
                [
                    "Contact Us",
                    pf.first_name,
                    pf.last_name,
                    "not-an-email",
                    "",
                    company["name"],
                    pf.title,
                    company["industry"][0],
                    size,
                    when.strftime("%Y-%m-%d %H:%M"),
                    "Direct Traffic",
                    "",
                ],
                "malformed email",
            )
        )
        # web
        stamp = self.interval_start.strftime("%Y%m%d")
        line = (
            f'{{"event_date":"{stamp}","event_timestamp":"{t * 1_000_000}","event_name":"page_view","user_pseudo_id":'
        )
        where = drop.web.add(line)
        drop.planted.append(Planted("web", "web_events", drop.rel("web", where[0]), where[1], "", "", "not valid JSON"))
        event = {
            "event_date": self.interval_start.strftime("%Y%m%d"),
            "event_timestamp": str(t * 1_000_000 + 1),
            "event_name": "page_view",
            "event_params": [
                {"key": "page_location", "value": {"string_value": V.SITE + "/pricing"}},
                {"key": "ga_session_id", "value": {"int_value": t}},
            ],
            "user_id": None,
            "device": {"category": "desktop"},
            "geo": {"country": "China", "city": "Shanghai"},
            "traffic_source": {"name": "(direct)", "medium": "(none)", "source": "(direct)"},
            "collected_traffic_source": None,
            "platform": "WEB",
        }
        where = drop.web.add(json.dumps(event, separators=(",", ":")))
        drop.planted.append(
            Planted("web", "web_events", drop.rel("web", where[0]), where[1], "", "", "missing user_pseudo_id")
        )
        # email
        pe, address = self.candidates.get("email", (pf, pf.emails[0]))
        event_id = self.b64(16)
        ev = {
            "email": address,
            "timestamp": t,
            "event": "link_preview",
            "sg_event_id": event_id,
            "sg_message_id": f"{self.b64(16)}.filterdrecv-000000001.0",
            "category": ["newsletter"],
        }
        where = drop.email.add(ev)
        records_w.writerow(["email", event_id, pe.key, "", 0])
        drop.planted.append(
            Planted(
                "email", "email_events", drop.rel("email", where[0]), where[1], event_id, pe.key, "unknown event type"
            )
        )
        ev = {
            "email": address,
            "timestamp": t + 7,
            "event": "open",
            "sg_message_id": ev["sg_message_id"],
            "ip": pe.ip,
            "useragent": pe.useragent,
        }
        where = drop.email.add(ev)
        drop.planted.append(
            Planted("email", "email_events", drop.rel("email", where[0]), where[1], "", pe.key, "missing sg_event_id")
        )
        # crm
        pc, lead_id = self.candidates.get("crm", (pf, ""))
        if not lead_id:
            lead_id = self.sf_id("00Q", "lead")
        opp_id = self.sf_id("006", "opportunity")
        records_w.writerow(["crm", opp_id, pc.key, "", 0])
        drop.opportunities.append(
            (
                t,
                pc.key,
                [
                    opp_id,
                    lead_id,
                    f"{pc.company['name']} - Renewal",
                    "Prospecting",
                    "TBD",
                    "CNY",
                    when.strftime("%Y-%m-%d %H:%M:%S"),
                    "",
                    when.strftime("%Y-%m-%d %H:%M:%S"),
                ],
                "non-numeric amount",
            )
        )

    # -- run ---------------------------------------------------------------------------------------

    def run(self) -> dict:
        self.truth.mkdir(parents=True, exist_ok=True)
        with (
            (self.truth / "people.csv").open("w", encoding="utf-8", newline="") as pf,
            (self.truth / "records.csv").open("w", encoding="utf-8", newline="") as rf,
            (self.truth / "identifiers.csv").open("w", encoding="utf-8", newline="") as idf,
        ):
            people_w, records_w, identifiers_w = csv.writer(pf), csv.writer(rf), csv.writer(idf)
            people_w.writerow(PEOPLE_HEADER)
            records_w.writerow(RECORDS_HEADER)
            identifiers_w.writerow(IDENTIFIERS_HEADER)
            for i in range(1, self.n_people + 1):
                self._simulate(i, people_w, records_w, identifiers_w)
            # A kiosk's GA4 cookie is a record of nobody in particular.
            for hub in self.hubs:
                if hub.kind == "kiosk_device" and ("web", hub.value) in self.hubs_seen:
                    records_w.writerow(["web", hub.value, "", hub.kind, 0])
                    self.pollution_counts["hub_records"][hub.kind] += 1
            self.rng = self.world_rng
            self._plant(records_w)
            counter = [0]
            for day in self.drop_days:
                self.drops[day].close(counter, records_w)
        planted = [x for d in self.drop_days for x in self.drops[d].planted]
        with (self.truth / "bad_rows.csv").open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["source", "table", "file", "row_number", "record_key", "person_key", "reason"])
            for x in planted:
                w.writerow([x.source, x.table, x.file, x.row_number, x.record_key, x.person_key, x.reason])
        drops = [self.drops[d] for d in self.drop_days]
        summary = {
            "people": self.n_people,
            "seed": self.seed,
            "interval_start": self.interval_start.isoformat(),
            "history_days": self.history_days,
            "drops": [d.isoformat() for d in self.drop_days],
            "files": {
                "forms": sum(d.files["forms"] for d in drops),
                "email": sum(d.email.files for d in drops),
                "web": sum(d.web.files for d in drops),
                "crm": sum(d.files["crm"] for d in drops),
            },
            "rows": {
                "forms": sum(d.rows["forms"] for d in drops),
                "email": sum(d.email.events for d in drops),
                "web": sum(d.web.lines for d in drops),
                "crm": sum(d.rows["crm"] for d in drops),
            },
            "tables": {
                "forms_submissions": sum(d.rows["forms"] for d in drops),
                "email_events": sum(d.email.events for d in drops),
                "web_events": sum(d.web.lines for d in drops),
                **{t: sum(d.table_rows[t] for d in drops) for t in CRM_TABLES},
            },
            "bad_rows": {s: sum(1 for x in planted if x.source == s) for s in ("forms", "email", "web", "crm")},
            "email_duplicates": sum(d.email.duplicates for d in drops),
            "truth": dict(self.truth_counts),
            **self._pollution_summary(),
            "landing": str(self.landing),
            "truth_dir": str(self.truth),
        }
        (self.truth / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
        return summary

    def _pollution_summary(self) -> dict:
        c = self.pollution_counts
        hub_links = sum(c["hub_links"].values())
        return {
            "pollution": self.pollution,
            "hubs": {
                kind: {
                    "identifiers": sum(1 for t, v in self.hubs_seen if self.hub_kind_of[(t, v)] == kind),
                    "people": c["hub_people"][kind],
                    "links": c["hub_links"][kind],
                    "records": c["hub_records"][kind],
                }
                for kind in HUB_KINDS
            },
            "identifier_links": {
                "total": c["links"],
                "hub": hub_links,
                "hub_share": round(hub_links / c["links"], 4) if c["links"] else 0.0,
                "typo": c["typo_links"],
            },
            "typo_new_device_records": c["typo_new_device_records"],
        }


TRUTH_COUNTS = (
    "form_submissions",
    "trial_requests",
    "demo_requests",
    "pricing_inquiries",
    "pricing_views_over_60s",
    "whitepaper_downloads",
    "webinar_registrations",
    "brochure_downloads",
    "contact_requests",
    "email_opens",
    "email_clicks",
    "careers_views",
    "web_sessions",
)
CRM_TABLES = ("crm_leads", "crm_opportunities", "crm_orders", "crm_activities")
RECORDS_HEADER = ["source", "record_key", "person_key", "hub_kind", "typo_new_device"]
IDENTIFIERS_HEADER = [
    "identifier_type",
    "identifier_value",
    "person_key",
    "hub_kind",
    "first_seen_at",
    "last_seen_at",
    "is_typo",
]
PEOPLE_HEADER = [
    "person_key",
    "full_name",
    "name_language",
    "company",
    "company_domain",
    "job_title",
    "seniority",
    "is_director_plus",
    "industry",
    "is_target_industry",
    "company_size",
    "region",
    "city",
    "emails",
    "phones",
    "user_pseudo_ids",
    "user_id",
    "propensity",
    "is_bot",
    "is_job_seeker",
    "is_silent",
    "list_email",
    "first_activity_at",
    "last_activity_at",
    *TRUTH_COUNTS,
    "last_day_trial",
    "crm_lead_id",
    "has_opportunity",
    "converted",
    "revenue",
    "hub_kinds",
    "typo_new_device_forms",
    "crm_first_follow_up_at",
]


def generate(
    landing_dir: Path,
    truth_dir: Path,
    people: int = 3000,
    seed: int = 42,
    interval_start: date = date(2026, 11, 21),
    history_days: int = 180,
    daily_drops: int = 0,
    pollution: str = "default",
) -> dict:
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
    if isinstance(interval_start, datetime):
        interval_start = interval_start.date()
    landing = Path(str(landing_dir).removeprefix("file://"))
    return _Generator(
        landing, Path(truth_dir), people, seed, interval_start, history_days, daily_drops, pollution
    ).run()
