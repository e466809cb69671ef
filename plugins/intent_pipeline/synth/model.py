"""What the simulation is made of: companies, people, their sessions and devices, shared identifiers.

Also the registry of identifiers already given out (``Taken``): no two people get the same
mailbox, phone or GA4 cookie by accident; shared ones are planned (``pollution``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TypedDict

from intent_pipeline.identity import mailbox
from intent_pipeline.sources.normalize import PhoneNormalizer

Industry = tuple[str, str, bool]  # (English name, Chinese name, a target industry)
City = tuple[str, str, str]  # (Chinese name, English name, region)
# GA4 traffic of a session: (source, medium, campaign, tagged with utm_*, has a gclid)
Traffic = tuple[str, str, str | None, bool, bool]
Page = tuple[str, int]  # (path, seconds of engagement)

# Behaviours counted per person in the truth (people.csv), in its column order.
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


class Company(TypedDict):
    name: str
    domain: str
    chinese: bool
    industry: Industry
    city: City
    size: int  # index into vocab.COMPANY_SIZES


class Campaign(TypedDict):
    """One email send (SendGrid marketing campaign) and the page its link leads to."""

    ts: int
    kind: str
    id: int
    name: str
    categories: list[str]
    group: int
    slug: str
    path: str
    url: str


class WebInfo(TypedDict):
    browser: str
    hostname: str


class Ga4Device(TypedDict):
    """GA4's ``device`` record."""

    category: str
    operating_system: str
    web_info: WebInfo


class Geo(TypedDict):
    country: str
    region: str
    city: str


class TrafficSource(TypedDict):
    """GA4's ``traffic_source``: the first traffic of a device."""

    name: str
    medium: str
    source: str


class Hub:
    """One identifier used by several people: its canonical value and how it is written."""

    __slots__ = ("kind", "value", "written", "company", "lo", "hi", "device", "geo", "members", "first_owner", "names")

    def __init__(self, kind: str, value: str, written: str = "", company: Company | None = None):
        self.kind, self.value, self.written, self.company = kind, value, written, company
        self.lo = self.hi = 0  # kiosk: the trade show; recycled phone: lo is when the number changed hands
        self.device: Ga4Device | None = None  # kiosk only
        self.geo: Geo | None = None  # kiosk only
        self.members: list[int] = []
        self.first_owner: tuple[str, str] | None = None  # recycled phone: (full name, company name)
        # namesake colleagues: the first member's (language, first name, last name); a family: the surname's
        self.names: tuple[str, str, str] | None = None


class Role:
    """A person's part in a hub: a kiosk visit (time, GA4 session number) or before/after a number change."""

    __slots__ = ("hub", "visit", "number", "before")

    def __init__(self, hub: Hub, visit: int = 0, number: int = 0, before: bool = False):
        self.hub, self.visit, self.number, self.before = hub, visit, number, before


class Seen:
    """The identifiers one person's records show, each with its first and last time (epoch seconds)."""

    __slots__ = ("spans",)

    def __init__(self) -> None:
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
    """Hidden attributes of one simulated person (the ground truth); filled in by ``population``."""

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
        "aliases",
    )
    key: str
    lang: str  # "zh" or "en": the language of the name (and mostly of the forms)
    full_name: str
    first_name: str
    last_name: str
    company: Company
    title: str
    seniority: str
    emails: list[str]  # the person's own addresses, work first
    phone: str  # national mobile number, or empty
    propensity: float  # the hidden intent, 0..1
    is_bot: bool
    is_job_seeker: bool
    is_silent: bool
    active_from: int
    active_until: int
    city: City
    ip: str
    useragent: str
    user_id: str  # the trial account's id sent to GA4 after login, or empty
    stats: dict[str, int]  # TRUTH_COUNTS plus last_day_trial (0/1 as bool) and first/last activity times
    roles: list[Role]
    phone_until: int
    aliases: list[tuple[str, str, str]]  # other ways the person writes their name: (full, first, last)

    def __init__(self, key: str):
        self.key = key
        self.user_id = ""
        self.roles = []
        self.phone_until = 0  # first owner of a recycled number: no record shows it from then on
        self.aliases = []  # pollution "polluted" only: pinyin, English names, nicknames, surname first
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
        traffic: Traffic,
        pages: list[Page],
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


@dataclass(eq=False)
class Device:
    """A browser of the person's (or a kiosk's, then ``kiosk_number`` is its GA4 session number)."""

    category: str
    os: str
    browser: str
    sessions: list[Session] = field(default_factory=list)
    # Known once the sessions are placed (``Timeline._expand_devices``):
    pseudo: str = ""  # GA4 user_pseudo_id
    first_ts: int = 0
    first_traffic: TrafficSource | None = None
    ga4_device: Ga4Device | None = None
    geo: Geo | None = None
    kiosk_number: int = 0


def email_key(email: str) -> str:
    """The mailbox an address delivers to, as the identity graph keys it (``intent_pipeline.identity.mailbox``)."""
    key = mailbox(email)
    if key is None:
        raise ValueError(f"not an email address: {email!r}")
    return key


class E164:
    """The E.164 form of a Chinese national number (mobile or landline), as the extract computes it."""

    def __init__(self) -> None:
        self._normalize = PhoneNormalizer()

    def __call__(self, national: str) -> str:
        value = self._normalize(f"+86{national}")
        if value is None:
            raise ValueError(f"not a possible Chinese phone number: {national!r}")
        return value


class Taken:
    """Identifiers already given to someone (or to a typo): mailboxes, phones, GA4 cookies."""

    def __init__(self) -> None:
        self.emails: set[str] = set()  # canonical mailboxes of every address and typo written so far
        self.phones: set[str] = set()
        self.pseudo: set[str] = set()

    def claim_email(self, address: str) -> bool:
        """Take the address's mailbox; False when it was taken already."""
        key = email_key(address)
        if key in self.emails:
            return False
        self.emails.add(key)
        return True

    def claim_phone(self, phone: str) -> bool:
        if phone in self.phones:
            return False
        self.phones.add(phone)
        return True

    def unique_email(self, local: str, domain: str) -> str:
        """``local@domain``, or ``local2@domain``, ``local3@...``: the first free mailbox.

        Unique as a mailbox: john.smith12@gmail.com and johnsmith12@gmail.com are one inbox."""
        email, k = f"{local}@{domain}", 1
        while not self.claim_email(email):
            k += 1
            email = f"{local}{k}@{domain}"
        return email

    def new_mobile(self, rng: random.Random) -> str:
        """A Chinese mobile number nobody has."""
        while True:
            phone = rng.choice(["13", "15", "18", "17", "19"]) + str(rng.randint(0, 9)) + f"{rng.randrange(10**8):08d}"
            if self.claim_phone(phone):
                return phone

    def new_pseudo(self, rng: random.Random, first_ts: int) -> str:
        """A GA4 user_pseudo_id (random number, first visit's epoch) no other device has."""
        while True:
            pseudo = f"{rng.randint(100_000_000, 2_147_483_647)}.{first_ts}"
            if pseudo not in self.pseudo:
                self.pseudo.add(pseudo)
                return pseudo


# A form a person will submit: (time, form, the hub role it uses or None).
PlannedForm = tuple[int, str, Role | None]


@dataclass
class CrmOutcome:
    """What the CRM made of a person: their lead, an opportunity, a won deal, the first follow-up."""

    lead_id: str = ""
    lead_created: int = 0  # epoch second the lead was created
    has_opportunity: bool = False
    converted: bool = False
    revenue: float = 0  # the int 0 when nothing was won: the truth writes "0", not "0.0"
    first_follow_up: int = 0
