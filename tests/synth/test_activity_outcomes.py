"""The generator's CRM activity outcomes (issue 13): calls and meetings carry HubSpot's outcome, warmer
leads pick up and show up more often, emails and tasks carry none, and the truth logs each outcome."""

from __future__ import annotations

from collections import Counter

from tests.synth import helpers as h

CALL = {"Connected", "No answer", "Left voicemail", "Busy"}
MEETING = {"Completed", "No show", "Canceled", "Rescheduled"}


def test_calls_and_meetings_have_outcomes_that_follow_the_propensity(workload):
    activities = [r for _, _, r in h.crm_rows(workload.landing, "activities")]
    by_type: dict[str, Counter] = {}
    for r in activities:
        by_type.setdefault(r["Type"], Counter())[r["Outcome"]] += 1
    assert set(by_type["Call"]) <= CALL and set(by_type["Meeting"]) <= MEETING
    assert set(by_type["Email"]) == {""} and set(by_type["Task"]) == {""}
    assert by_type["Call"]["Connected"] and by_type["Call"]["No answer"]

    people = h.read_truth(workload.truth, "people.csv")
    propensity = {p["crm_lead_id"]: float(p["propensity"]) for p in people if p["crm_lead_id"]}
    calls = [(propensity[r["Lead ID"]], r["Outcome"] == "Connected") for r in activities if r["Type"] == "Call"]
    warm = [connected for prop, connected in calls if prop >= 0.5]
    cold = [connected for prop, connected in calls if prop < 0.2]
    assert warm and cold and sum(warm) / len(warm) > sum(cold) / len(cold) + 0.15


def test_the_truth_logs_each_outcome_as_its_own_kind(workload):
    activities = [r for _, _, r in h.crm_rows(workload.landing, "activities")]
    events = Counter(e["kind"] for e in h.read_truth(workload.truth, "lead_events.csv"))
    exported = Counter(f"activity_{r['Type'].lower()}_{r['Outcome'].lower().replace(' ', '_')}" for r in activities)
    for kind in ("activity_call_connected", "activity_call_no_answer", "activity_meeting_completed"):
        assert events[kind] == exported[kind] > 0
