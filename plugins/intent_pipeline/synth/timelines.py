"""One person's behaviour over the history, driven by their hidden propensity, and every record it
leaves: web sessions on their devices (GA4), form submissions, email engagement (SendGrid), CRM
history; written to the drop of its arrival day, with a line in the ground truth for each.

``Timeline(world, truth, i).run()`` simulates person ``i`` in named steps (see ``run``). Each person
draws from a random stream of their own (``<seed>/<index>``), so a person the pollution does not
touch behaves the same at every pollution level.
"""

from __future__ import annotations

import random

from . import vocab as V
from .clock import DAY, HOUR, cum, time_in
from .crm import crm_history
from .exports import b64, form_row, ga4_lines
from .model import (
    CrmOutcome,
    Device,
    Page,
    Person,
    PlannedForm,
    Seen,
    Session,
    Traffic,
    TrafficSource,
    email_key,
)
from .pollution import HUB_FORMS, KIOSK_FORMS, SHARED_DEVICE_KINDS, TYPO_FORMS, typo_email
from .population import make_person, new_device
from .truth import Truth
from .world import World
from .worlds import propensities
from .writers import FormRow

TRAFFIC_CUM = cum(t[-1] for t in V.TRAFFIC)
DIRECT: Traffic = ("(direct)", "(none)", None, False, False)
KIOSK_FIRST_TRAFFIC: TrafficSource = {"name": "(direct)", "medium": "(none)", "source": "(direct)"}
FORM_COUNTS = {
    "trial": "trial_requests",
    "demo": "demo_requests",
    "pricing": "pricing_inquiries",
    "whitepaper": "whitepaper_downloads",
    "webinar": "webinar_registrations",
    "brochure": "brochure_downloads",
    "contact": "contact_requests",
}


def is_kiosk(s: Session) -> bool:
    return bool(s.role and s.role.hub.kind in SHARED_DEVICE_KINDS)


class Timeline:
    """The simulation of one person; the steps share what they built so far as attributes."""

    def __init__(self, world: World, truth: Truth, i: int):
        self.world, self.truth = world, truth
        self.window = world.window
        # A stream per person: pollution that touches one person leaves everybody else's draws alone.
        self.rng = rng = random.Random(f"{world.seed}/{i}")
        self.p: Person
        self.devices: list[Device]
        self.p, self.devices = make_person(
            rng, i, world.plan.roles.get(i, []), world.companies, world.taken, self.window, world.plan.name_seed
        )
        self.seen = Seen()
        # The world preset's propensities, from a stream of the person's own that the default world
        # never draws from: behaviour follows `behaviour`, the CRM outcome the true propensity.
        self.true_propensity = self.p.propensity
        preset = world.preset
        if not preset.is_default and not (self.p.is_bot or self.p.is_job_seeker):
            self.true_propensity, self.p.propensity = propensities(
                preset,
                random.Random(f"{world.seed}/{i}/world"),
                self.p.propensity,
                self.p.seniority,
                self.p.company["industry"],
            )
        # the lead's own event log for the truth (lead_events.csv): (epoch second, kind)
        self.events: list[tuple[int, str]] = []
        self.lang = self.p.lang if rng.random() < 0.85 else ("en" if self.p.lang == "zh" else "zh")
        self.wants_typo_form = rng.random() < world.typo_new_device and not self.p.is_bot
        self.sessions: list[Session] = []
        self.plan: list[PlannedForm] = []
        self.form_sessions: list[Session] = []
        self.kiosk_sessions: list[Session] = []
        self.built_rows: list[tuple[Session, FormRow]] = []
        self.stray: tuple[Session, FormRow] | None = None
        self.list_address = ""
        self.email_events: list[tuple[int, dict[str, object]]] = []
        self.activity: list[int] = []

    def run(self) -> None:
        """Behaviour first (sessions, forms, email), then what it leaves (events, rows, truth)."""
        self._browse()
        self._plan_forms()
        self._place_sessions()
        self._fill_in_forms()
        self._fill_in_typo_form()
        self._receive_email()
        self._expand_devices()
        self._write_web_events()
        self._write_form_rows()
        self._write_email_events()
        self.p.propensity = self.true_propensity
        crm = crm_history(
            self.world,
            self.truth,
            self.rng,
            self.p,
            self.plan,
            self.built_rows[0][1] if self.built_rows else None,
            self.seen,
            self.events,
        )
        self._write_truth(crm)

    # -- behaviour ---------------------------------------------------------------------------------

    def _browse(self) -> None:
        """Browsing sessions: a crawler's bursts, or visits by propensity (and a job seeker's careers pages)."""
        rng, p = self.rng, self.p
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
                self.sessions.append(Session(time_in(rng, p.active_from, p.active_until), DIRECT, pages))
            return
        n = 1 + min(29, int(rng.expovariate(1.0) * (0.8 + 5 * p.propensity)))
        for _ in range(n):
            self.sessions.append(Session(time_in(rng, p.active_from, p.active_until), self._traffic(), self._pages()))
        if p.is_job_seeker:
            for _ in range(2):
                pages = [
                    ("/careers", rng.randint(30, 120)),
                    (f"/careers/jobs/{rng.choice(V.CAREER_SLUGS)}", rng.randint(40, 240)),
                ]
                self.sessions.append(Session(time_in(rng, p.active_from, p.active_until), self._traffic(), pages))

    def _plan_forms(self) -> None:
        """The forms the person submits (their intent's, plus each use of a hub), each with its session;
        a trial gives them an account id."""
        rng, p = self.rng, self.p
        plan: list[PlannedForm] = [(t, form, None) for t, form in self._intent_forms()]
        for role in p.roles:  # each person of a hub uses it at least once, on a form
            if role.hub.kind in SHARED_DEVICE_KINDS:
                plan.append((role.visit, rng.choice(KIOSK_FORMS), role))
            else:
                t = time_in(rng, p.active_from + HOUR, p.active_until)
                plan.append((t, rng.choice(HUB_FORMS[role.hub.kind]), role))
        plan.sort(key=lambda x: (x[0], x[1]))
        self.plan = plan
        for t, form, used in plan:
            s = self._form_session(t, form)
            s.role = used
            if used and used.hub.kind in SHARED_DEVICE_KINDS:
                s.traffic = DIRECT
            self.form_sessions.append(s)
        self.sessions.extend(self.form_sessions)
        if any(form == "trial" for _, form, _ in plan):
            p.user_id = f"acct_{rng.getrandbits(40):010x}"  # the trial account's id, sent to GA4 after login

    def _intent_forms(self) -> list[tuple[int, str]]:
        """(time, form) of the forms the person's propensity leads to, in time order."""
        rng, p = self.rng, self.p
        prop = p.propensity
        if p.is_bot:
            return []
        lo, hi = p.active_from + HOUR, p.active_until  # room for the pages read before the form
        plan = []
        warm = prop >= 0.4 and not p.is_silent and not p.is_job_seeker and p.active_until > self.window.last_day
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
        floor = self.world.preset.content_floor
        if floor:  # a world where nearly everybody downloads content
            for form in ("whitepaper", "webinar", "brochure"):
                chances[form] = max(chances[form], floor * {"whitepaper": 1.0, "webinar": 0.8, "brochure": 0.6}[form])
        for form, chance in chances.items():
            if rng.random() < chance:
                t = time_in(rng, lo, hi)
                if form in ("trial", "demo", "pricing"):  # bottom-of-funnel asks come later in a journey
                    t = max(t, time_in(rng, lo, hi))
                plan.append((t, form))
        if last_day_trial:
            # A warm lead asks for a trial on the interval's own day: the "newly hot" case.
            plan.append((time_in(rng, self.window.last_day + HOUR, self.window.end - 3 * HOUR), "trial"))
            p.stats["last_day_trial"] = True
        return sorted(plan)

    def _place_sessions(self) -> None:
        """Put each session on one of the person's devices; a kiosk visit stays on the kiosk."""
        for s in self.sessions:
            if is_kiosk(s):
                self.kiosk_sessions.append(s)
            else:
                self._assign(s)

    def _assign(self, s: Session, prefer: int = 0) -> None:
        devices = self.devices
        s.device = prefer if len(devices) == 1 or self.rng.random() < 0.6 else self.rng.randrange(len(devices))
        devices[s.device].sessions.append(s)

    def _fill_in_forms(self) -> None:
        self.built_rows = [(s, self._form_row(s)) for s in self.form_sessions]

    def _form_row(self, s: Session, typo: str = "") -> FormRow:
        if s.form is None:
            raise ValueError("a form row needs a form session")
        world = self.world
        return form_row(
            self.rng, world.taken, world.typo_chance, self.p, s.form_ts, s.form, self.lang, s.traffic, s.role, typo
        )

    def _fill_in_typo_form(self) -> None:
        """A form typed with a mistyped address and no phone, on a device used for nothing else: only the
        name, the company and the look of the address tie it to the person."""
        rng, p = self.rng, self.p
        if self.wants_typo_form and (typo := typo_email(rng, p, self.world.taken)):
            t = time_in(rng, p.active_from + HOUR, p.active_until)
            s = self._form_session(t, rng.choice(TYPO_FORMS))
            s.typo_new_device = True
            row = self._form_row(s, typo)
            row.typo_new_device = True
            self.stray = (s, row)

    def _receive_email(self) -> None:
        """Email list membership: the first form's address (typos included: they bounce), or an import;
        a team mailbox is subscribed by nobody in particular, so it is left out. Then the campaigns'
        events, and the sessions their clicks open (on the phone if there is one)."""
        rng, p = self.rng, self.p
        subscribed = 0
        if self.built_rows:
            team = {id(s) for s, _ in self.built_rows if s.role and s.role.hub.kind == "shared_mailbox"}
            self.list_address = next((r.email for s, r in self.built_rows if r.email and id(s) not in team), "")
            self.list_address = self.list_address or (p.emails[0] if rng.random() < 0.5 else "")
            subscribed = self.plan[0][0]
        elif not p.is_bot and rng.random() < 0.5:
            self.list_address = rng.choice(p.emails)
            subscribed = self.window.t0 if rng.random() < 0.6 else p.active_from
        if self.list_address:
            mobile = next((k for k, d in enumerate(self.devices) if d.category == "mobile"), 0)
            click_sessions: list[Session] = []
            self.email_events = self._email(self.list_address, subscribed, click_sessions)
            for s in click_sessions:
                self._assign(s, mobile)
            self.sessions.extend(click_sessions)

    def _pages(self, n: int | None = None) -> list[Page]:
        """Pages of one browsing visit with seconds of engagement on each, shaped by propensity."""
        rng, p = self.rng, self.p
        prop = p.propensity
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

    def _traffic(self) -> Traffic:
        source, medium, campaign, tagged, gclid, _ = self.rng.choices(V.TRAFFIC, cum_weights=TRAFFIC_CUM)[0]
        return source, medium, campaign, tagged, gclid

    def _form_session(self, t: int, form: str) -> Session:
        """The visit ending in a form submitted at ``t``: a few pages (the price before a trial or demo), the form."""
        rng, lang = self.rng, self.lang
        traffic = self._traffic()
        path = V.FORMS[form][2]
        if form == "whitepaper":
            path = V.WHITEPAPER_PATHS[lang]
        pages = self._pages(rng.choice([0, 0, 1, 2]))
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

    def _email(self, address: str, subscribed: int, sessions: list[Session]) -> list[tuple[int, dict[str, object]]]:
        """SendGrid events for every campaign this address received, with opens and clicks by propensity."""
        rng, p, end = self.rng, self.p, self.window.end
        prop = p.propensity
        canonical = address.strip().lower()
        # A typo'd address captured on a form bounces; Gmail dot and +tag variants still deliver.
        undeliverable = email_key(canonical) not in {email_key(e) for e in p.emails}
        out: list[tuple[int, dict[str, object]]] = []
        bounced = 0
        written = address.strip() if rng.random() < 0.05 else canonical
        for c in self.world.campaigns:
            if c["ts"] < subscribed:
                continue
            receive = 0.55 if c["kind"] == "newsletter" else (0.2 + 0.6 * prop if c["kind"] == "pricing" else 0.4)
            if rng.random() >= receive:
                continue
            t = c["ts"] + rng.randrange(1800)
            if t >= end:
                break
            msg = f"{b64(rng, 16)}.filterdrecv-{rng.randrange(10**9):09d}.{rng.randrange(100)}"
            base: dict[str, object] = {
                "email": written,
                "smtp-id": f"<{msg[:22]}@ismtpd0012p1hnd1.sendgrid.net>",
                "sg_message_id": msg,
                "category": c["categories"],
                "marketing_campaign_id": c["id"],
                "marketing_campaign_name": c["name"],
                "asm_group_id": c["group"],
            }

            def event(kind: str, ts: int, base: dict[str, object] = base, **extra: object) -> None:
                out.append((ts, {**base, "timestamp": ts, "event": kind, "sg_event_id": b64(rng, 16), **extra}))

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
            if rng.random() < 0.05 + 0.6 * prop and opened_at < min(p.active_until, end):
                for _ in range(1 + (rng.random() < 0.3) + (rng.random() < 0.1)):
                    if opened_at >= min(p.active_until, end):
                        break
                    event("open", opened_at, ip=p.ip, useragent=p.useragent, sg_machine_open=False)
                    p.stats["email_opens"] += 1
                    opened_at += rng.randint(60, 2 * DAY)
                click = delivered + rng.randint(30, 3 * HOUR)
                if rng.random() < 0.1 + 0.5 * prop and click < min(p.active_until, end - 2 * HOUR):
                    event(
                        "click",
                        click,
                        ip=p.ip,
                        useragent=p.useragent,
                        url=c["url"],
                        url_offset={"index": 0, "type": "html"},
                    )
                    p.stats["email_clicks"] += 1
                    pages = [(c["path"], rng.randint(20, 200)), *self._pages(rng.choice([0, 0, 1, 2]))]
                    sessions.append(
                        Session(click + rng.randint(1, 5), ("newsletter", "email", c["slug"], True, False), pages)
                    )
            unsub_at = delivered + rng.randint(HOUR, 3 * DAY)
            if rng.random() < 0.004 + 0.01 * (1 - prop) and unsub_at < end:
                if rng.random() < 0.7:
                    event("unsubscribe", unsub_at)
                else:
                    event("group_unsubscribe", unsub_at, ip=p.ip, useragent=p.useragent)
                break
            if rng.random() < 0.0008 and unsub_at < end:
                event("spamreport", unsub_at)
                break
        return [e for e in out if self.window.t0 <= e[0] < end]

    # -- what it leaves ----------------------------------------------------------------------------

    def _expand_devices(self) -> None:
        """Give each used device its GA4 cookie and first traffic (a truth record each); add the kiosks
        the person visited as devices of one session each."""
        rng, p = self.rng, self.p
        if self.stray:  # the typo'd form's device, seen nowhere else
            device = new_device(rng)
            device.sessions.append(self.stray[0])
            self.devices.append(device)
        for dev in self.devices:
            dev.sessions.sort(key=lambda s: s.ts)
        self.devices = [d for d in self.devices if d.sessions]
        for dev in self.devices:
            first = dev.sessions[0]
            first.first_of_device = True
            dev.first_ts = first.ts
            dev.pseudo = self.world.taken.new_pseudo(rng, first.ts)
            src, med, camp = first.traffic[:3]
            name = camp or {"organic": "(organic)", "(none)": "(direct)", "referral": "(referral)"}.get(med, "(none)")
            dev.first_traffic = {"name": name, "medium": med, "source": src}
            dev.ga4_device = {
                "category": dev.category,
                "operating_system": dev.os,
                "web_info": {"browser": dev.browser, "hostname": "www.example-saas.com"},
            }
            if p.is_bot:
                country, city = rng.choice(V.BOT_GEOS)
            else:
                city = p.city[1]
                country = {"Hong Kong": "Hong Kong", "Singapore": "Singapore"}.get(city, "China")
            dev.geo = {"country": country, "region": city, "city": city}
            self.truth.record("web", dev.pseudo, p.key)
        for s in self.kiosk_sessions:
            hub = s.role.hub if s.role else None
            if not (s.role and hub and hub.device and hub.geo):
                raise ValueError("a kiosk session needs its kiosk's device and place")
            booth = hub.device
            kiosk = Device(
                booth["category"],
                booth["operating_system"],
                booth["web_info"]["browser"],
                [s],
                pseudo=hub.value,
                first_ts=hub.lo,
                first_traffic=KIOSK_FIRST_TRAFFIC,
                ga4_device=booth,
                geo=hub.geo,
                kiosk_number=s.role.number,
            )
            self.devices.append(kiosk)

    def _write_web_events(self) -> None:
        """Every session's GA4 events, logged in after the trial on 85% of the person's own sessions."""
        rng, p, seen = self.rng, self.p, self.seen
        trial_ts = min((t for t, f, _ in self.plan if f == "trial"), default=0)
        logged_in = False
        for dev in self.devices:
            for number, s in enumerate(dev.sessions, 1):
                s.logged_in = (
                    not s.typo_new_device
                    and not dev.kiosk_number
                    and bool(p.user_id)
                    and s.ts > trial_ts
                    and rng.random() < 0.85
                )
                lines = ga4_lines(rng, self.window, p, dev, s, dev.kiosk_number or number)
                for t_us, line in lines:
                    self.world.drops.at(t_us // 1_000_000).web.add(line)
                if lines:
                    lo, hi = min(lines)[0] // 1_000_000, max(lines)[0] // 1_000_000
                    seen.add("web", dev.pseudo, lo, hi)
                    if s.logged_in:
                        seen.add("ga4_user", p.user_id, lo, hi)
                        logged_in = True
                self.activity.append(s.ts)
                p.stats["web_sessions"] += 1
                if not dev.kiosk_number:
                    self.events.append((s.ts, "session"))
                    for path, seconds in s.pages:
                        self.events.append((s.ts, "page_view"))
                        if path.startswith("/pricing"):
                            self.events.append((s.ts, "pricing_view_60s" if seconds > 60 else "pricing_view"))
        if logged_in:
            self.truth.record("web", p.user_id, p.key)

    def _write_form_rows(self) -> None:
        """The form rows, now that the client_id of each form's device is known."""
        rng, p, seen = self.rng, self.p, self.seen
        device_of = {id(s): d.pseudo for d in self.devices for s in d.sessions}
        rows = [*self.built_rows, self.stray] if self.stray else self.built_rows
        for s, row in rows:
            # Consent banners and ad blockers lose the cookie of some submissions (the booth iPad accepted them).
            if is_kiosk(s) or rng.random() < 0.85:
                row.values[-1] = device_of.get(id(s), "")
            keys = []
            if row.email:
                keys.append(seen.add("email", email_key(row.email), s.form_ts, s.form_ts))
            if row.phone:
                keys.append(seen.add("phone", self.world.e164(row.phone), s.form_ts, s.form_ts))
            client_id = row.values[-1]
            if client_id:
                keys.append(seen.add("web", str(client_id), s.form_ts, s.form_ts))
            row.hub_kind = self.truth.hub_of(keys)
            self.world.drops.at(s.form_ts).forms.append(row)
            p.stats["form_submissions"] += 1
            p.stats[FORM_COUNTS[s.form or ""]] += 1
            self.events.append((s.form_ts, f"form_{s.form}"))
        if self.stray:
            self.truth.typo_new_device_records += 1
            self.truth.typo_new_device_people += 1
            self.activity.append(self.stray[0].form_ts)

    def _write_email_events(self) -> None:
        """The SendGrid events (2% delivered twice by the webhook), a truth record per event id."""
        rng, p = self.rng, self.p
        seen_ids = set()
        for ts, ev in sorted(self.email_events, key=lambda e: e[0]):
            self.world.drops.at(ts).email.add(ev, duplicate=rng.random() < 0.02)
            event_id = str(ev["sg_event_id"])
            if event_id not in seen_ids:
                seen_ids.add(event_id)
                self.truth.record("email", event_id, p.key)
            if ev["event"] in ("open", "click"):
                self.activity.append(ts)
            if ev["event"] in ("delivered", "open", "click"):
                self.events.append((ts, f"email_{ev['event']}"))
        if self.email_events:
            times = [e[0] for e in self.email_events]
            self.seen.add("email", email_key(self.list_address), min(times), max(times))

    def _write_truth(self, crm: CrmOutcome) -> None:
        p = self.p
        self.activity.extend(t for t, *_ in self.plan)
        p.stats["first_activity_ts"] = min(self.activity, default=0)
        p.stats["last_activity_ts"] = max(self.activity, default=0)
        self.truth.person(
            p, self.devices, self.seen, self.list_address, bool(self.built_rows), crm, self.stray is not None
        )
        if crm.lead_id:
            self.truth.lead_events(crm.lead_id, self.events)
