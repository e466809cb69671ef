"""Who is simulated: companies, and people with names, titles, addresses, phones, devices and intent.

Every person's hidden attributes (``model.Person``) are drawn here from their own random stream;
their behaviour is in ``timelines``.
"""

from __future__ import annotations

import random

from . import vocab as V
from .clock import DAY, HOUR, Window, cum
from .model import Company, Device, Hub, Person, Role, Taken
from .pollution import fit_activity, name_aliases

TITLE_CUM = cum(t[-1] for t in V.JOB_TITLES)
DEVICE_CUM = cum(d[-1] for d in V.DEVICES)


def companies(rng: random.Random, n: int) -> list[Company]:
    """``n`` companies with unique names and domains; 60% Chinese."""
    names: set[str] = set()
    domains: set[str] = set()
    out: list[Company] = []
    industry_cum = cum(V.INDUSTRY_WEIGHTS)
    city_cum = cum(V.CITY_WEIGHTS)
    size_cum = cum(V.COMPANY_SIZE_WEIGHTS)
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


def make_person(
    rng: random.Random,
    i: int,
    roles: list[Role],
    all_companies: list[Company],
    taken: Taken,
    window: Window,
    name_seed: int | None = None,
) -> tuple[Person, list[Device]]:
    """Person number ``i`` (their part in hubs given by ``roles``) and their devices, sessions still empty.

    ``name_seed`` (pollution "polluted"): the person also writes their name in other ways
    (``pollution.name_aliases``), drawn from a stream of their own so that nothing else changes.
    A namesake colleague takes the first member's name and a numbered mailbox at the company; a
    family member the family's surname."""
    p = Person(f"P{i:07d}")
    p.roles = roles
    company = rng.choice(all_companies)
    for role in roles:
        company = role.hub.company or company  # a colleague of the team sharing the mailbox or phone
    # The second owner of a recycled number is a stranger to the first: another company, another name.
    first_owner = next((r.hub.first_owner for r in roles if r.hub.kind == "recycled_phone" and not r.before), None)
    if first_owner and company["name"] == first_owner[1]:
        company = all_companies[(all_companies.index(company) + 1) % len(all_companies)]
    p.company = company
    p.city = company["city"]
    p.lang = "zh" if rng.random() < (0.85 if company["chinese"] else 0.35) else "en"
    shared_name = next((r.hub for r in roles if r.hub.kind in ("namesake_colleagues", "family_device")), None)
    if shared_name and shared_name.names:
        p.lang = shared_name.names[0]
    locals_work, locals_personal, personal_domains = _name(rng, p, first_owner)
    if shared_name:
        locals_work, locals_personal = _shared_name(rng, p, shared_name, locals_work, locals_personal)
    p.title, p.seniority, _ = rng.choices(V.JOB_TITLES, cum_weights=TITLE_CUM)[0]
    emails = []
    if rng.random() < 0.9:
        emails.append(taken.unique_email(rng.choice(locals_work), company["domain"]))
    for chance in (0.6, 0.15):
        if rng.random() < chance or not emails:
            local = rng.choice(locals_personal)
            domain = "qq.com" if local.isdigit() else rng.choice([d for d in personal_domains if d != "qq.com"])
            emails.append(taken.unique_email(local, domain))
    p.emails = emails
    p.phone = taken.new_mobile(rng) if rng.random() < 0.85 else ""
    for role in roles:
        if role.hub.kind == "recycled_phone":
            p.phone = role.hub.written
            if role.before:
                p.phone_until = role.hub.lo
                role.hub.first_owner = (p.full_name, company["name"])
    if name_seed is not None:
        p.aliases = name_aliases(random.Random(f"{name_seed}/{i}"), p)
    _intent(rng, p)
    _activity_window(rng, p, window)
    for role in roles:
        fit_activity(rng, p, role, window)
    return p, _devices(rng, p)


def _name(rng: random.Random, p: Person, first_owner: tuple[str, str] | None) -> tuple[list[str], list[str], list[str]]:
    """Name the person (not the first owner's name again); returns the local parts they would pick
    for a work and for a personal address, and the personal mail providers of their language."""
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
            return locals_work, locals_personal, personal_domains


def _shared_name(
    rng: random.Random, p: Person, hub: Hub, locals_work: list[str], locals_personal: list[str]
) -> tuple[list[str], list[str]]:
    """Namesake colleagues: the first member's full name for all, each with a numbered mailbox at the
    company (yan.wu1665@); a family: the first member's surname. The first member sets the name."""
    if hub.names is None:
        hub.names = (p.lang, p.first_name, p.last_name)
    lang, first, last = hub.names
    if hub.kind == "family_device":
        if p.last_name != last:
            p.last_name = last
            p.full_name = last + p.first_name if lang == "zh" else f"{p.first_name} {last}"
        return locals_work, locals_personal
    p.first_name, p.last_name = first, last
    p.full_name = last + first if lang == "zh" else f"{first} {last}"
    if lang == "zh":
        f_, l_ = V.PINYIN_OF.get(first, "x"), V.PINYIN_OF.get(last, "x")
    else:
        f_, l_ = first.lower(), last.lower()
    work = f"{f_}.{l_}" if rng.random() < 0.6 else f"{l_}{f_}"
    return [f"{work}{rng.randint(100, 9999)}"], [f"{l_}{f_}{rng.randint(1, 999)}", f"{f_}.{l_}{rng.randint(80, 99)}"]


def _intent(rng: random.Random, p: Person) -> None:
    """Bot, job seeker, the hidden propensity, and the network the person browses from."""
    roll = rng.random()
    p.is_bot = roll < 0.02 and not p.roles  # the people of a hub fill in forms
    p.is_job_seeker = 0.02 <= roll < 0.06
    prop = rng.betavariate(0.7, 2.6)
    p.propensity = 0.0 if p.is_bot else round(prop * (0.25 if p.is_job_seeker else 1.0), 4)
    first_octet = rng.choice([114, 117, 120, 183, 223, 36, 58])  # Chinese ISP ranges
    p.ip = f"{first_octet}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    p.useragent = rng.choice(V.USER_AGENTS)


def _activity_window(rng: random.Random, p: Person, window: Window) -> None:
    """40% were around before the history starts, the rest arrive over time; 12% go silent 3+ months before the end."""
    span = window.end - window.t0
    p.active_from = window.t0 if rng.random() < 0.4 else window.t0 + int(rng.random() * 0.85 * span)
    p.active_until = window.end - 3 * HOUR
    p.is_silent = False
    silent_until = window.end - 91 * DAY
    if not p.is_bot and rng.random() < 0.12 and p.active_from + 2 * DAY < silent_until:
        p.is_silent = True
        p.active_until = rng.randrange(p.active_from + DAY, silent_until)


def _devices(rng: random.Random, p: Person) -> list[Device]:
    """One to three browsers (a bot's are headless desktops)."""
    devices = []
    for chance in (1.0, 0.35, 0.1):
        if rng.random() < chance:
            device = new_device(rng)
            if p.is_bot:
                device.category, device.os, device.browser = "desktop", "Linux", rng.choice(V.BOT_BROWSERS)
            devices.append(device)
    return devices


def new_device(rng: random.Random) -> Device:
    cat, os_, browser, _ = rng.choices(V.DEVICES, cum_weights=DEVICE_CUM)[0]
    return Device(cat, os_, browser)
