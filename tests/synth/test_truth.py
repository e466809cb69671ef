"""Planted bad rows, ground-truth coverage and the behaviour the scoring depends on."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta

from tests.synth import helpers as h
from tests.synth.conftest import INTERVAL, PEOPLE


def _find_bad_rows(landing) -> set[tuple[str, str, int]]:
    """Every row an extractor following the contract must quarantine, found without the truth files."""
    bad = set()
    for r in h.form_rows(landing):
        email = r["email"].strip()
        if r["submitted"] is None or not (email or r["phone"]) or (email and not h.EMAIL_RE.match(email)):
            bad.add(("forms", r["file"], r["row"]))
    for f, i, e in h.email_events(landing):
        if e.get("event") not in h.SENDGRID_EVENTS or not e.get("sg_event_id") or not e.get("email"):
            bad.add(("email", f, i))
    for f, i, e, _ in h.web_lines(landing):
        if e is None or not e.get("user_pseudo_id") or not e.get("event_name") or not e.get("event_timestamp"):
            bad.add(("web", f, i))
    for stem in ("leads", "opportunities", "orders", "activities"):
        for f, i, r in h.crm_rows(landing, stem):
            email = r.get("Email", "").strip()
            if "Activity Date" in r and (not r["Activity ID"] or h.crm_time(r["Activity Date"]) is None):
                bad.add(("crm", f, i))
            try:
                float(r.get("Amount", "0"))
            except ValueError:
                bad.add(("crm", f, i))
            if email and not h.EMAIL_RE.match(email):
                bad.add(("crm", f, i))
    return bad


def test_planted_bad_rows_are_exactly_the_reported_ones(workload):
    planted = h.read_truth(workload.truth, "bad_rows.csv")
    assert workload.summary["bad_rows"] == {"forms": 3, "email": 2, "web": 2, "crm": 1}
    assert Counter(r["source"] for r in planted) == workload.summary["bad_rows"]
    assert {(r["source"], r["file"], int(r["row_number"])) for r in planted} == _find_bad_rows(workload.landing)
    reasons = {r["reason"] for r in planted}
    assert {
        "unparseable submitted time",
        "neither email nor phone",
        "malformed email",
        "not valid JSON",
        "missing user_pseudo_id",
        "unknown event type",
        "missing sg_event_id",
        "non-numeric amount",
    } == reasons
    assert all(f"dt={INTERVAL.isoformat()}" in r["file"] for r in planted)


def test_summary_counts_match_the_files(workload):
    s = workload.summary
    assert s["people"] == PEOPLE
    assert s["rows"]["forms"] == len(h.form_rows(workload.landing))
    assert s["rows"]["email"] == len(h.email_events(workload.landing))
    assert s["rows"]["web"] == len(h.web_lines(workload.landing))
    crm = {stem: len(h.crm_rows(workload.landing, stem)) for stem in ("leads", "opportunities", "orders", "activities")}
    assert s["tables"]["crm_leads"] == crm["leads"] and s["rows"]["crm"] == sum(crm.values())
    assert s["tables"]["crm_activities"] == crm["activities"] > 0
    duplicates = Counter(e["sg_event_id"] for _, _, e in h.email_events(workload.landing) if "sg_event_id" in e)
    assert s["email_duplicates"] == sum(n - 1 for n in duplicates.values())


def test_ground_truth_maps_every_record_key_to_a_person(workload):
    people = {r["person_key"]: r for r in h.read_truth(workload.truth, "people.csv")}
    assert len(people) == PEOPLE
    records = h.read_truth(workload.truth, "records.csv")
    owner = {(r["source"], r["record_key"]): r["person_key"] for r in records}
    assert len(owner) == len(records), "a record key appears once"
    # Only a shared kiosk device belongs to nobody in particular.
    assert all(r["hub_kind"] == "kiosk_device" for r in records if not r["person_key"])
    assert set(owner.values()) - {""} <= set(people)
    forms = h.form_rows(workload.landing)
    keys = {("forms", r["key"]) for r in forms}
    keys |= {("email", e["sg_event_id"]) for _, _, e in h.email_events(workload.landing) if "sg_event_id" in e}
    keys |= {
        ("web", e["user_pseudo_id"]) for _, _, e, _ in h.web_lines(workload.landing) if e and "user_pseudo_id" in e
    }
    keys |= {("web", e["user_id"]) for _, _, e, _ in h.web_lines(workload.landing) if e and e.get("user_id")}
    for stem, column in (("leads", "Lead ID"), ("opportunities", "Opportunity ID"), ("orders", "Order ID")):
        keys |= {("crm", r[column]) for _, _, r in h.crm_rows(workload.landing, stem)}
    assert keys == set(owner)
    # A form's hidden client_id is the GA4 cookie of the same person (a kiosk's is everybody's).
    linked = [r for r in forms if r["client_id"] and owner[("web", r["client_id"])]]
    assert linked and all(owner[("web", r["client_id"])] == owner[("forms", r["key"])] for r in linked)
    # CRM opportunities point at leads of the same person.
    leads = {r["Lead ID"] for _, _, r in h.crm_rows(workload.landing, "leads")}
    opportunities = h.crm_rows(workload.landing, "opportunities")
    assert all(r["Lead ID"] in leads for _, _, r in opportunities)
    assert all(r["Stage"] in h.STAGES for _, _, r in opportunities)
    # Last Stage Change Date: a closed deal changed stage when it closed, an open one on or after its
    # creation, later in a later stage
    changed = [(r, r["Last Stage Change Date"]) for _, _, r in opportunities if r["Amount"] != "TBD"]
    closed = [(r, c) for r, c in changed if r["Stage"].startswith("Closed")]
    assert closed and all(c[:10] == r["Close Date"] for r, c in closed)
    assert all(r["Created Date"] <= c for r, c in changed)
    prospecting = [(r, c) for r, c in changed if r["Stage"] == "Prospecting"]
    assert prospecting and all(c == r["Created Date"] for r, c in prospecting)
    assert any(c > r["Created Date"] for r, c in changed if r["Stage"] in ("Proposal", "Negotiation"))


def test_behaviour_follows_propensity(workload):
    people = h.read_truth(workload.truth, "people.csv")
    humans = [p for p in people if p["is_bot"] == "0"]
    hot = [p for p in humans if float(p["propensity"]) >= 0.5]
    cold = [p for p in humans if float(p["propensity"]) < 0.15]
    assert hot and cold

    def mean(rows, column):
        return sum(float(r[column]) for r in rows) / len(rows)

    for column in ("trial_requests", "pricing_views_over_60s", "email_opens", "whitepaper_downloads"):
        assert mean(hot, column) > 2 * mean(cold, column), column
    assert sum(float(p["propensity"]) < 0.3 for p in humans) > len(humans) / 2, "propensity is skewed low"
    converted = [p for p in people if p["converted"] == "1"]
    assert converted and all(p["has_opportunity"] == "1" and p["crm_lead_id"] for p in converted)
    assert mean(converted, "propensity") > mean(humans, "propensity")


def test_bots_job_seekers_and_silent_people_are_present(workload):
    people = {p["person_key"]: p for p in h.read_truth(workload.truth, "people.csv")}
    owner = {r["record_key"]: r["person_key"] for r in h.read_truth(workload.truth, "records.csv")}
    engagement = defaultdict(int)
    views = Counter()
    for _, _, e, _ in h.web_lines(workload.landing):
        if e and "user_pseudo_id" in e:
            person = owner[e["user_pseudo_id"]]
            views[person] += e["event_name"] == "page_view"
            if e["event_name"] == "user_engagement":
                engagement[person] += h.params(e)["engagement_time_msec"]
    bots = [k for k, p in people.items() if p["is_bot"] == "1"]
    assert bots and all(engagement[k] == 0 and views[k] >= 20 for k in bots)
    seekers = [p for p in people.values() if p["is_job_seeker"] == "1"]
    assert seekers and all(int(p["careers_views"]) > 0 for p in seekers)
    silent = [p for p in people.values() if p["is_silent"] == "1"]
    cutoff = datetime(2026, 11, 22) - timedelta(days=90)
    assert silent and all(
        datetime.fromisoformat(p["last_activity_at"]) < cutoff for p in silent if p["last_activity_at"]
    )


def test_warm_people_request_a_trial_on_the_last_day(workload):
    people = {p["person_key"]: p for p in h.read_truth(workload.truth, "people.csv")}
    owner = {r["record_key"]: r["person_key"] for r in h.read_truth(workload.truth, "records.csv")}
    day_start = datetime(INTERVAL.year, INTERVAL.month, INTERVAL.day)
    last_day_trials = {
        owner[r["key"]]
        for r in h.form_rows(workload.landing)
        if r["form"] in ("免费试用申请", "Free Trial") and r["submitted"] and r["submitted"] >= day_start
    }
    flagged = {k for k, p in people.items() if p["last_day_trial"] == "1"}
    assert flagged and flagged <= last_day_trials
    assert all(float(people[k]["propensity"]) >= 0.4 for k in flagged)


def test_owners_follow_up_their_leads_mostly_within_hours(workload):
    leads = {r["Lead ID"]: r for _, _, r in h.crm_rows(workload.landing, "leads")}
    activities = [r for _, _, r in h.crm_rows(workload.landing, "activities")]
    end = datetime(INTERVAL.year, INTERVAL.month, INTERVAL.day) + timedelta(days=1)
    assert len({r["Activity ID"] for r in activities}) == len(activities)
    by_lead: dict[str, list[datetime]] = defaultdict(list)
    for r in activities:
        lead = leads[r["Lead ID"]]  # an activity is on a lead of the export, by the lead's owner
        assert r["Owner"] == lead["Owner"] and r["Type"] in h.ACTIVITY_TYPES and r["Subject"]
        at = h.crm_time(r["Activity Date"])
        assert h.crm_time(lead["Created Date"]) < at < end
        by_lead[r["Lead ID"]].append(at)
    # the first follow-up: ~75% of leads within 1-20 hours, ~15% after 1-5 days, ~10% never (or not yet)
    delays = {
        lead: (min(times) - h.crm_time(leads[lead]["Created Date"])) / timedelta(hours=1)
        for lead, times in by_lead.items()
    }
    assert all(1 <= d <= 5 * 24 for d in delays.values())
    within_20h = sum(d <= 20 for d in delays.values()) / len(leads)
    never = 1 - len(delays) / len(leads)
    assert 0.65 < within_20h < 0.85 and 0.05 < never < 0.2, (within_20h, never)
    # hot people's leads get more activities than the others'
    people = h.read_truth(workload.truth, "people.csv")
    hot = [len(by_lead.get(p["crm_lead_id"], [])) for p in people if p["crm_lead_id"] and float(p["propensity"]) >= 0.5]
    cold = [len(by_lead.get(p["crm_lead_id"], [])) for p in people if p["crm_lead_id"] and float(p["propensity"]) < 0.3]
    assert hot and cold and sum(hot) / len(hot) > 1.5 * sum(cold) / len(cold)
    # the truth's first follow-up time is the first activity of the person's lead (naive UTC)
    truth = {p["crm_lead_id"]: p["crm_first_follow_up_at"] for p in people if p["crm_lead_id"]}
    assert {lead: at for lead, at in truth.items() if at} == {lead: min(t).isoformat() for lead, t in by_lead.items()}
    assert all(p["crm_first_follow_up_at"] == "" for p in people if not p["crm_lead_id"])
    assert workload.summary["truth"]["crm_leads_followed_up"] == len(by_lead)
