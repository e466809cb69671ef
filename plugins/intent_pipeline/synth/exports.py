"""One event as a vendor exports it: a form submission in the format of the tool serving the form
(jinshuju, Typeform, HubSpot), a web visit as GA4 BigQuery-export lines, and the vendors' ids.

The files these go into are written by ``writers``.
"""

from __future__ import annotations

import base64
import json
import random
from datetime import datetime, timedelta

from . import vocab as V
from .clock import Window
from .model import Device, Person, Role, Session, Taken, Traffic
from .pollution import written_email, written_hub_phone, written_name
from .writers import EPOCH, FormRow, local_time


def b64(rng: random.Random, nbytes: int) -> str:
    """``nbytes`` random bytes in URL-safe base64 without padding (SendGrid ids, gclids)."""
    raw = rng.getrandbits(nbytes * 8).to_bytes(nbytes, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def uuid4(rng: random.Random) -> str:
    a, b, c, d, e = (rng.getrandbits(n) for n in (32, 16, 12, 14, 48))
    return f"{a:08x}-{b:04x}-4{c:03x}-{0x8000 | d:04x}-{e:012x}"


def form_row(
    rng: random.Random,
    taken: Taken,
    typo_chance: float,
    p: Person,
    t: int,
    form: str,
    lang: str,
    traffic: Traffic,
    role: Role | None = None,
    typo_email: str = "",
) -> FormRow:
    """One submission in the format of the tool serving that form; ``client_id`` is filled in later.

    ``role``: the form is the person's use of a hub (the team mailbox or office phone is typed in,
    a recycled number is given). ``typo_email``: typed instead of the person's address, without a phone.
    """
    work = [e for e in p.emails if e.endswith("@" + p.company["domain"])]
    pick = work[0] if work and rng.random() < 0.65 else rng.choice(p.emails)
    email = written_email(rng, pick, taken, typo_chance)
    hub = role.hub if role else None
    kind = hub.kind if hub else ""
    phone_digits = p.phone
    if hub and kind == "shared_mailbox":
        email = written_email(rng, hub.written, taken)
    elif hub and kind == "shared_phone":
        phone_digits = hub.written
    elif typo_email:
        email, phone_digits = typo_email, ""
    keep_email = kind == "shared_mailbox" or bool(typo_email)
    keep_phone = kind in ("shared_phone", "recycled_phone")
    phone = written_hub_phone(rng, phone_digits) if phone_digits else ""
    company, industry = p.company, p.company["industry"]
    size_bucket, head_count = V.COMPANY_SIZES[company["size"]]
    source, medium = traffic[0], traffic[1]
    full_name, first_name, last_name = written_name(rng, p, lang)
    values: list[str | int | datetime]
    if lang == "zh":
        if phone and rng.random() < 0.15 and not keep_email:
            email = ""  # Chinese forms often make only the phone mandatory
        values = [
            V.FORMS[form][0],
            full_name,
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
            full_name,
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
    key = uuid4(rng)
    employees = head_count if rng.random() < 0.5 else size_bucket
    values = [
        name,
        first_name,
        last_name,
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


EventParams = list[dict[str, object]]


def ga4_lines(
    rng: random.Random, window: Window, p: Person, dev: Device, s: Session, number: int
) -> list[tuple[int, str]]:
    """The GA4 events of one session as (microsecond timestamp, NDJSON line), inside the window.

    Counts the person's long pricing reads and careers page views in ``p.stats``."""
    source, medium, campaign, tagged, has_gclid = s.traffic
    pseudo = dev.pseudo
    collected = None
    query = ""
    if tagged:
        gclid = f"Cj0KCQiA{b64(rng, 30)}" if has_gclid else None
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
        "user_first_touch_timestamp": str(dev.first_ts * 1_000_000),
        "device": dev.ga4_device,
        "geo": dev.geo,
        "traffic_source": dev.first_traffic,
        "collected_traffic_source": collected,
        "platform": "WEB",
        "stream_id": "4178295130",
    }
    lines = []
    session_id = s.ts

    def emit(name: str, t_us: int, params: EventParams) -> None:
        params = [
            *params,
            {"key": "ga_session_id", "value": {"int_value": session_id}},
            {"key": "ga_session_number", "value": {"int_value": number}},
        ]
        d = (EPOCH + timedelta(microseconds=t_us)).strftime("%Y%m%d")
        row = {"event_date": d, "event_timestamp": str(t_us), "event_name": name, "event_params": params, **common}
        lines.append((t_us, json.dumps(row, ensure_ascii=False, separators=(",", ":"))))

    def page_params(path: str, referrer: str, with_query: bool) -> EventParams:
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
    return [line for line in lines if window.t0 * 1_000_000 <= line[0] < window.end * 1_000_000]
