"""Planted bad rows: a few rows per source that the pipeline must quarantine, each listed in the
truth's ``bad_rows.csv`` with where it landed and why it is bad.

They land in the last drop (``dt=<interval_start>``) and belong to real people, so the truth
covers their keys.
"""

from __future__ import annotations

import json
import random

from . import vocab as V
from .clock import HOUR
from .exports import b64, uuid4
from .pollution import written_phone
from .truth import Truth
from .world import World
from .writers import FormRow, Planted, local_time


def plant(world: World, truth: Truth, rng: random.Random) -> None:
    """Add the known bad rows to the last drop; each one must end up in quarantine."""
    drop = world.drops.last
    t = world.window.last_day + 5 * HOUR
    when = local_time(t)
    # Bad rows belong to real people (a form filler if there is one) so the truth covers their keys.
    candidates = truth.candidates
    pf = candidates.forms or candidates.person
    if pf is None:
        raise ValueError("no person to attribute the planted rows to")
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
                written_phone(rng, pf.phone),
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
            uuid4(rng),
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
    stamp = world.interval_start.strftime("%Y%m%d")
    line = f'{{"event_date":"{stamp}","event_timestamp":"{t * 1_000_000}","event_name":"page_view","user_pseudo_id":'
    where = drop.web.add(line)
    drop.planted.append(Planted("web", "web_events", drop.rel("web", where[0]), where[1], "", "", "not valid JSON"))
    event = {
        "event_date": world.interval_start.strftime("%Y%m%d"),
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
    pe, address = candidates.email or (pf, pf.emails[0])
    event_id = b64(rng, 16)
    ev = {
        "email": address,
        "timestamp": t,
        "event": "link_preview",
        "sg_event_id": event_id,
        "sg_message_id": f"{b64(rng, 16)}.filterdrecv-000000001.0",
        "category": ["newsletter"],
    }
    where = drop.email.add(ev)
    truth.record("email", event_id, pe.key)
    drop.planted.append(
        Planted("email", "email_events", drop.rel("email", where[0]), where[1], event_id, pe.key, "unknown event type")
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
    pc, lead_id = candidates.crm or (pf, "")
    if not lead_id:
        lead_id = world.sf_id("00Q", "lead")
    opp_id = world.sf_id("006", "opportunity")
    truth.record("crm", opp_id, pc.key)
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
