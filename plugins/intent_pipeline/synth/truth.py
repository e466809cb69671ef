"""The ground truth: who really is who, what they did, and what the workload holds.

``truth_dir`` gets ``people.csv`` (one row per person: hidden attributes and counted behaviour),
``records.csv`` (the person behind every landed record), ``identifiers.csv`` (every identifier a
person's records show, with hubs and typos marked), ``bad_rows.csv`` (the planted rows) and
``summary.json``. The pipeline never reads these; tests and benchmarks score against them.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from . import vocab as V
from .clock import iso
from .model import TRUTH_COUNTS, CrmOutcome, Device, Hub, Person, Seen, email_key
from .pollution import HUB_KINDS, SHARED_DEVICE_KINDS
from .writers import DropWriter, Planted

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
BAD_ROWS_HEADER = ["source", "table", "file", "row_number", "record_key", "person_key", "reason"]


@dataclass
class Candidates:
    """People the planted bad rows are attributed to (the last ones simulated that fit)."""

    person: Person | None = None  # anybody, a non-bot if there is one
    forms: Person | None = None  # a form filler
    email: tuple[Person, str] | None = None  # someone on the email list, with their list address
    crm: tuple[Person, str] | None = None  # someone with a CRM lead, with its id


class Truth:
    """The truth files being written (use as a context manager) and the counts behind the summary."""

    def __init__(self, truth_dir: Path, hub_kind_of: dict[tuple[str, str], str]):
        self.dir = truth_dir
        self.hub_kind_of = hub_kind_of  # (identifier_type, value) -> hub kind, from the pollution plan
        self.hubs_seen: set[tuple[str, str]] = set()
        self.candidates = Candidates()
        self.counts = {
            "bots": 0,
            "job_seekers": 0,
            "silent": 0,
            "converted": 0,
            "last_day_trials": 0,
            "on_email_list": 0,
            "crm_leads": 0,
            "crm_leads_followed_up": 0,
        }
        self.links = 0
        self.typo_links = 0
        self.hub_links = dict.fromkeys(HUB_KINDS, 0)
        self.hub_people = dict.fromkeys(HUB_KINDS, 0)
        self.hub_records = dict.fromkeys(HUB_KINDS, 0)
        self.typo_new_device_records = 0
        self.typo_new_device_people = 0

    def __enter__(self) -> Truth:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._files = [
            (self.dir / name).open("w", encoding="utf-8", newline="")
            for name in ("people.csv", "records.csv", "identifiers.csv", "lead_events.csv")
        ]
        self.people, self.records, self.identifiers, self.events = (csv.writer(f) for f in self._files)
        self.events.writerow(["lead_id", "event_at", "kind"])
        self.people.writerow(PEOPLE_HEADER)
        self.records.writerow(RECORDS_HEADER)
        self.identifiers.writerow(IDENTIFIERS_HEADER)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        for f in self._files:
            f.close()

    # -- records -----------------------------------------------------------------------------------

    def lead_events(self, lead_id: str, events: list[tuple[int, str]]) -> None:
        """The generator's own event log of a CRM lead's person (``lead_events.csv``: UTC time, kind:
        session, page_view, pricing_view(_60s), form_<form>, email_<delivered|open|click>,
        activity_<type>), before and after the lead was created: a reader counts what it may see."""
        for ts, kind in sorted(events):
            self.events.writerow([lead_id, iso(ts), kind])

    def record(self, source: str, record_key: str, person_key: str, hub_kind: str = "") -> None:
        """The person behind one landed record (forms are recorded by ``DropWriter.close``)."""
        self.records.writerow([source, record_key, person_key, hub_kind, 0])

    def hub_of(self, keys: Iterable[tuple[str, str]]) -> str:
        """The hub kind of a record holding these (identifier_type, value) keys, counted once per record."""
        for key in keys:
            kind = self.hub_kind_of.get(key)
            if kind:
                self.hub_records[kind] += 1
                return kind
        return ""

    def kiosk_records(self, hubs: list[Hub]) -> None:
        """A kiosk's (or a family's shared) GA4 cookie is a record of nobody in particular."""
        for hub in hubs:
            if hub.kind in SHARED_DEVICE_KINDS and ("web", hub.value) in self.hubs_seen:
                self.record("web", hub.value, "", hub.kind)
                self.hub_records[hub.kind] += 1

    # -- people ------------------------------------------------------------------------------------

    def person(
        self,
        p: Person,
        devices: list[Device],
        seen: Seen,
        list_address: str,
        formed: bool,
        crm: CrmOutcome,
        typo_new_device: bool,
    ) -> None:
        """Count the person, keep them as a candidate for the planted rows, write their identifiers and
        their row of people.csv. ``formed``: they submitted a form; ``list_address``: the address they
        are on the email list with, or empty."""
        stats = p.stats
        if list_address:
            self.counts["on_email_list"] += 1
            self.candidates.email = (p, list_address.strip().lower())
        if formed:
            self.candidates.forms = p
        if not p.is_bot or self.candidates.person is None:
            self.candidates.person = p
        if crm.lead_id:
            self.candidates.crm = (p, crm.lead_id)
        tc = self.counts
        tc["bots"] += p.is_bot
        tc["job_seekers"] += p.is_job_seeker
        tc["silent"] += p.is_silent
        tc["converted"] += crm.converted
        tc["last_day_trials"] += stats["last_day_trial"]
        tc["crm_leads"] += bool(crm.lead_id)
        tc["crm_leads_followed_up"] += bool(crm.first_follow_up)
        hub_kinds = self._identifiers(p, seen)
        self.people.writerow(
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
                "|".join(d.pseudo for d in devices if not d.kiosk_number),
                p.user_id,
                f"{p.propensity:.4f}",
                int(p.is_bot),
                int(p.is_job_seeker),
                int(p.is_silent),
                list_address.strip().lower(),
                iso(stats["first_activity_ts"]),
                iso(stats["last_activity_ts"]),
                *(stats[k] for k in TRUTH_COUNTS),
                int(stats["last_day_trial"]),
                crm.lead_id,
                int(crm.has_opportunity),
                int(crm.converted),
                crm.revenue,
                "|".join(hub_kinds),
                int(typo_new_device),
                iso(crm.first_follow_up),
            ]
        )

    def _identifiers(self, p: Person, seen: Seen) -> list[str]:
        """One truth row per identifier the person's records show; returns the hub kinds among them."""
        own = {email_key(e) for e in p.emails}
        kinds = []
        for (kind, value), (lo, hi) in seen.spans.items():
            hub = self.hub_kind_of.get((kind, value), "")
            typo = kind == "email" and not hub and value not in own
            self.identifiers.writerow([kind, value, p.key, hub, iso(lo), iso(hi), int(typo)])
            self.links += 1
            self.typo_links += typo
            if hub:
                self.hub_links[hub] += 1
                if hub not in kinds:
                    kinds.append(hub)
                    self.hub_people[hub] += 1
                self.hubs_seen.add((kind, value))
        return sorted(kinds)

    # -- the run's files ---------------------------------------------------------------------------

    def bad_rows(self, planted: list[Planted]) -> None:
        with (self.dir / "bad_rows.csv").open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(BAD_ROWS_HEADER)
            for x in planted:
                w.writerow([x.source, x.table, x.file, x.row_number, x.record_key, x.person_key, x.reason])

    def summary(
        self,
        head: dict[str, object],
        level: str,
        drops: list[DropWriter],
        planted: list[Planted],
        tail: dict[str, object],
    ) -> dict[str, object]:
        """The run's summary: ``head`` (its arguments), what was written, the truth's counts, the
        pollution of ``level``, then ``tail`` (its folders)."""
        return {
            **head,
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
            "truth": dict(self.counts),
            **self._pollution_summary(level),
            **tail,
        }

    def _pollution_summary(self, level: str) -> dict[str, object]:
        hub_links = sum(self.hub_links.values())
        return {
            "pollution": level,
            "hubs": {
                kind: {
                    "identifiers": sum(1 for t, v in self.hubs_seen if self.hub_kind_of[(t, v)] == kind),
                    "people": self.hub_people[kind],
                    "links": self.hub_links[kind],
                    "records": self.hub_records[kind],
                }
                for kind in HUB_KINDS
            },
            "identifier_links": {
                "total": self.links,
                "hub": hub_links,
                "hub_share": round(hub_links / self.links, 4) if self.links else 0.0,
                "typo": self.typo_links,
            },
            "typo_new_device_records": self.typo_new_device_records,
        }
