"""``python -m intent_pipeline rules check`` on the rules table alone (issue 21, item 1): caps lower
than points, rules that can never fire, overlaps. Its effect on a built warehouse is tested in
tests/dbt/test_rules_check.py."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from intent_pipeline import rules_check
from intent_pipeline.__main__ import main

SEED = rules_check.RULES_CSV


def edited(tmp_path: Path, changes: dict[str, dict[str, str]], extra_rows: list[dict] | None = None) -> Path:
    """The project's rules table with ``changes`` (rule id -> column -> value), written to tmp_path."""
    with SEED.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, list(reader)
    assert fields
    for row in rows:
        row.update(changes.get(row["rule_id"], {}))
    for extra in extra_rows or []:
        rows.append({name: "" for name in fields} | extra)
    path = tmp_path / "scoring_rules.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return path


def findings(path: Path) -> list[rules_check.Finding]:
    return rules_check.check(path).findings


def test_the_shipped_table_has_no_error():
    report = rules_check.check(SEED)
    assert report.rules == 37 and report.errors == 0, rules_check.format_report(report)
    # the one warning: the online meeting rule (disabled) waits for a source that emits meetings
    assert [(f.rule_id, f.kind) for f in report.findings] == [("online_meeting_attended", "never_fires")]


def test_an_edit_of_points_alone_on_a_capped_rule_is_reported(tmp_path, capsys):
    path = edited(tmp_path, {"trial_request": {"points": "40"}})
    found = [f for f in findings(path) if f.rule_id == "trial_request"]
    assert [(f.kind, f.severity) for f in found] == [("cap_below_points", "error")]
    assert "max_points_per_day 30 and max_points 30" in found[0].message
    assert "a hit earns at most 30" in found[0].message
    # the command says so and fails
    assert main(["rules", "check", "--rules", str(path), "--no-effect"]) == 1
    out = capsys.readouterr().out
    assert "error   trial_request: cap_below_points: points 40 but max_points_per_day 30" in out
    # points and caps edited together: nothing to say
    path = edited(tmp_path, {"trial_request": {"points": "40", "max_points_per_day": "40", "max_points": "40"}})
    assert [f for f in findings(path) if f.rule_id == "trial_request"] == []
    assert main(["rules", "check", "--rules", str(path), "--no-effect"]) == 0


def test_a_negative_rule_s_floor_above_its_points_is_reported(tmp_path):
    path = edited(tmp_path, {"careers_page": {"points": "-15"}})
    found = [f for f in findings(path) if f.rule_id == "careers_page"]
    assert [f.kind for f in found] == ["cap_below_points"]
    assert "a hit earns at most -10" in found[0].message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"form_type": "free_trial"}, "form_type 'free_trial': no form is classified as that"),
        ({"event_type": "form_submit"}, "event_type 'form_submit' is not an event the warehouse has"),
        ({"signal": "events"}, "signal 'events' is not one of"),
        ({"event_type": "page_view"}, "only form_submitted events have a form type"),
        ({"min_count": "0"}, "min_count 0: must be at least 1"),
        ({"decay": "exponential"}, "decay 'exponential' is not one of"),
    ],
)
def test_a_rule_that_can_never_fire_is_an_error(tmp_path, change, expected):
    path = edited(tmp_path, {"trial_request": change})
    found = [f for f in findings(path) if f.rule_id == "trial_request" and f.kind == "never_fires"]
    assert any(expected in f.message for f in found), found
    assert all(f.severity == "error" for f in found)


def test_impossible_page_patterns_and_conditions(tmp_path):
    path = edited(tmp_path, {
        "pricing_page_60s": {"page_pattern": "pricing%"},  # no path starts without a slash
        "careers_page": {"event_type": "email_open"},  # an email has no page
        "title_director_plus": {"keyword_group": "c_suite"},
        "silent_90_days": {"window_days": ""},
    })  # fmt: skip
    messages = {(f.rule_id, f.message) for f in findings(path) if f.kind == "never_fires"}
    assert ("pricing_page_60s", "page_pattern 'pricing%': a page path starts with '/' (e.g. /pricing%)") in messages
    assert any(r == "careers_page" and "only page views have a page path" in m for r, m in messages)
    assert any(r == "title_director_plus" and "keyword_group 'c_suite'" in m for r, m in messages)
    assert ("silent_90_days", "a silence rule needs window_days (the days without interaction)") in messages


def test_overlapping_enabled_rules_are_reported(tmp_path):
    # enabling the candidate "pricing page visit" next to "pricing page 60 s": one visit counts for both
    path = edited(tmp_path, {"pricing_page_visit": {"is_enabled": "true"},
                             "decision_maker_role": {"is_enabled": "true"}})  # fmt: skip
    overlaps = {(f.rule_id, f.other_rule_id): f.message for f in findings(path) if f.kind == "overlap"}
    assert ("pricing_page_60s", "pricing_page_visit") in overlaps
    assert "one page_view event /pricing% counts for both" in overlaps[("pricing_page_60s", "pricing_page_visit")]
    # director_plus and decision_maker share keywords (director, vp, …)
    assert ("title_director_plus", "decision_maker_role") in overlaps
    # a page pattern that cannot meet the other's is no overlap
    assert not any({"careers_page", "product_page_view"} == {a, b} for a, b in overlaps)


def test_a_duplicate_rule_id_is_an_error(tmp_path):
    path = edited(tmp_path, {}, [{"rule_id": "trial_request", "signal": "event", "event_type": "form_submitted",
                                  "is_enabled": "true", "points": "5", "min_count": "1"}])  # fmt: skip
    assert any(f.kind == "duplicate_rule_id" and f.severity == "error" for f in findings(path))


def test_like_patterns_overlap_as_sql_would_match():
    assert rules_check._like_overlap("/pricing%", "/pricing/enterprise%")
    assert rules_check._like_overlap(None, "/careers%")
    assert not rules_check._like_overlap("/careers%", "/product%")
    assert rules_check.like_regex("/case-studies/%").match("/case-studies/acme")
    assert not rules_check.like_regex("/a_c").match("/abbc")


def test_json_output(tmp_path, capsys):
    path = edited(tmp_path, {"trial_request": {"points": "40"}})
    assert main(["rules", "check", "--rules", str(path), "--no-effect", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["errors"] == 1 and report["effect"] is None
    assert report["findings"][0]["rule_id"] == "trial_request"


def test_a_sales_activity_rule_names_an_activity_type(tmp_path):
    """signal sales_activity: event_type is a CRM activity type, optionally with its outcome."""
    rows = SEED.read_text(encoding="utf-8").splitlines()
    header, meeting = rows[0], next(r for r in rows if r.startswith("sales_meeting_held,"))
    path = tmp_path / "scoring_rules.csv"
    path.write_text("\n".join([header, meeting.replace("meeting_succeeded", "meeting_won")]) + "\n", encoding="utf-8")
    [found] = findings(path)
    assert (found.kind, found.severity) == ("never_fires", "error") and "meeting_won" in found.message
    path.write_text("\n".join([header, meeting]) + "\n", encoding="utf-8")
    assert findings(path) == []


def test_a_session_rule_reads_depth_and_recency_only(tmp_path):
    """signal session: min_count page views in one session, window_days; an event's conditions never fire."""
    path = edited(tmp_path, {"deep_visit_5_pages": {"page_pattern": "/pricing%"},
                             "web_visit": {"event_type": "page_view"}})  # fmt: skip
    found = {(f.rule_id, f.severity) for f in findings(path) if f.kind == "never_fires"}
    assert ("deep_visit_5_pages", "error") in found and ("web_visit", "error") in found
    # as shipped they are valid (the shipped table has no error: test_the_shipped_table_has_no_error), and
    # two enabled session rules overlap: one recent deep session counts for both
    path = edited(tmp_path, {"deep_visit_5_pages": {"is_enabled": "true"},
                             "visit_last_14_days": {"is_enabled": "true"}})  # fmt: skip
    overlaps = {(f.rule_id, f.other_rule_id) for f in findings(path) if f.kind == "overlap"}
    assert ("deep_visit_5_pages", "visit_last_14_days") in overlaps
    assert not [f for f in findings(path) if f.rule_id.endswith(("visit", "pages", "days")) and f.severity == "error"]


STAGE_REACHED = rules_check.Conversion("stage_reached", "Proposal")


def test_an_opportunity_rule_whose_stage_is_the_conversion_is_refused(tmp_path, capsys, monkeypatch):
    """An opportunity_stage rule on the conversion's own stage (or a later one) fires exactly when the
    label says converted: an error when enabled, a warning when disabled (the calibration refuses it
    points), nothing for an earlier stage or a conversion that is no stage."""
    monkeypatch.delenv("INTENT_CONVERSION_EVENT", raising=False)
    enabled = edited(tmp_path, {"opportunity_proposal": {"is_enabled": "true"}})
    found = {(f.rule_id, f.kind, f.severity) for f in rules_check.check(enabled, conversion=STAGE_REACHED).findings}
    assert ("opportunity_proposal", "leaks_outcome", "error") in found
    assert not any(r == "opportunity_qualified" for r, _, _ in found)  # Qualification comes before Proposal
    disabled = [f for f in rules_check.check(SEED, conversion=STAGE_REACHED).findings if f.kind == "leaks_outcome"]
    assert [(f.rule_id, f.severity) for f in disabled] == [("opportunity_proposal", "warning")]
    assert "the conversion is stage_reached Proposal" in disabled[0].message
    # a later stage is reached too; the won stage is the outcome of opportunity_won only
    later = edited(tmp_path, {"opportunity_qualified": {"is_enabled": "true", "event_type": "Negotiation"}})
    assert ("opportunity_qualified", "leaks_outcome") in {
        (f.rule_id, f.kind) for f in rules_check.check(later, conversion=STAGE_REACHED).findings
    }
    won = edited(tmp_path, {"opportunity_qualified": {"is_enabled": "true", "event_type": "Closed Won"}})
    for conversion, leaks in ((rules_check.Conversion("opportunity_won"), True), (STAGE_REACHED, True),
                              (rules_check.Conversion("opportunity_created"), False)):  # fmt: skip
        kinds = {(f.rule_id, f.kind) for f in rules_check.check(won, conversion=conversion).findings}
        assert (("opportunity_qualified", "leaks_outcome") in kinds) is leaks, conversion
    # the command: the conversion from its options or INTENT_CONVERSION_EVENT, exit status 1
    enabled = edited(tmp_path, {"opportunity_proposal": {"is_enabled": "true"}})  # edited() rewrites one file
    assert main(["rules", "check", "--rules", str(enabled), "--no-effect"]) == 0
    assert main(["rules", "check", "--rules", str(enabled), "--no-effect", "--conversion-event", "stage_reached"]) == 1
    assert "error   opportunity_proposal: leaks_outcome: stage 'Proposal' is the outcome" in capsys.readouterr().out
    monkeypatch.setenv("INTENT_CONVERSION_EVENT", "stage_reached")
    assert main(["rules", "check", "--rules", str(enabled), "--no-effect", "--conversion-stage", "Negotiation"]) == 0


def test_an_opportunity_rule_names_a_stage_and_a_stalled_one_a_window(tmp_path):
    path = edited(tmp_path, {
        "opportunity_qualified": {"event_type": "Signed"},
        "opportunity_stalled_30d": {"window_days": "", "page_pattern": "/pricing%"},
    })  # fmt: skip
    found = [(f.rule_id, f.message) for f in findings(path) if f.kind == "never_fires"]
    assert ("opportunity_qualified", "event_type 'Signed': an opportunity_stage rule names a stage of var "
            "opportunity_stages (prospecting, qualification, proposal, negotiation, closed won)") in found  # fmt: skip
    stalled = [m for r, m in found if r == "opportunity_stalled_30d"]
    assert any("needs window_days" in m for m in stalled) and any("page_pattern" in m for m in stalled)


def test_an_email_delivery_rule_names_a_delivery_event(tmp_path):
    """signal email_delivery: event_type is an ESP delivery event (processed, delivered, deferred,
    dropped); an open is an event rule's, and a page or form condition never fires."""
    path = edited(tmp_path, {"emails_delivered": {"event_type": "email_open"},
                             "emails_delivered_10plus": {"page_pattern": "/pricing%"}})  # fmt: skip
    found = {(f.rule_id, f.severity): f.message for f in findings(path) if f.kind == "never_fires"}
    assert "email_open" in found[("emails_delivered", "error")]
    assert "page_pattern" in found[("emails_delivered_10plus", "error")]
    # a tier without a window counts deliveries of all time (a warning, as for an event rule)
    path = edited(tmp_path, {"emails_delivered_10plus": {"window_days": ""}})
    assert [(f.rule_id, f.kind, f.severity) for f in findings(path) if f.rule_id.startswith("emails_")] == [
        ("emails_delivered_10plus", "no_window", "warning")
    ]
    # enabled together, one delivered message counts for both; a sent (processed) rule is another event
    path = edited(tmp_path, {"emails_delivered": {"is_enabled": "true"},
                             "emails_delivered_10plus": {"is_enabled": "true"}},
                  [{"rule_id": "emails_sent", "rule_set": "candidate", "is_enabled": "true", "rule_group": "engagement",
                    "description": "sent", "description_zh": "已发送", "signal": "email_delivery",
                    "event_type": "processed", "min_count": "1", "points": "1", "max_points_per_day": "1",
                    "max_points": "5", "decay": "none"}])  # fmt: skip
    overlaps = {(f.rule_id, f.other_rule_id) for f in findings(path) if f.kind == "overlap"}
    assert overlaps == {("emails_delivered", "emails_delivered_10plus")}
    assert not [f for f in findings(path) if f.rule_id.startswith("emails_") and f.severity == "error"]


def test_a_conversion_definition_is_read_back_whatever_its_stage_says():
    """lead_conversion_examples.conversion_definition (macro conversion_definition) read back: the window
    is the last " within <n> days", so a stage that says "within" is kept whole; anything else is refused
    with the form it must have."""
    read = rules_check.Conversion.from_definition
    assert read("opportunity_created within 30 days") == rules_check.Conversion("opportunity_created")
    assert read("stage_reached Proposal within 60 days") == STAGE_REACHED
    assert read("stage_reached Closed Won within 90 days") == rules_check.Conversion("stage_reached", "Closed Won")
    assert read("stage_reached Signed within SLA within 30 days") == rules_check.Conversion(
        "stage_reached", "Signed within SLA")  # fmt: skip
    assert read("stage_reached Demo within 7 days within 45 days") == rules_check.Conversion(
        "stage_reached", "Demo within 7 days")  # fmt: skip
    for bad in ("opportunity_created", "opportunity_created within days", "stage_reached within 30 days",
                "opportunity_won Proposal within 90 days", "within 30 days", ""):  # fmt: skip
        with pytest.raises(ValueError, match="is not '<event> within <n> days'"):
            read(bad)


def test_a_count_tier_overlaps_its_own_rule_without_a_warning(tmp_path):
    """A tier ``<rule>_<k>plus`` (rule_set count_tier) fires with its rule on purpose (docs/scoring.md
    "Count tiers"): no overlap for a tier and its rule, nor for two tiers of one rule; a tier and another
    rule that one event fires together still overlap."""
    with SEED.open(encoding="utf-8", newline="") as handle:
        pricing = next(row for row in csv.DictReader(handle) if row["rule_id"] == "pricing_page_60s")
    tiers = [pricing | {"rule_id": f"pricing_page_60s_{k}plus", "rule_set": "count_tier", "cap_group": "",
                        "min_count": str(k), "points": "5", "max_points_per_day": "5", "max_points": "5"}
             for k in (2, 3)]  # fmt: skip
    path = edited(tmp_path, {"pricing_page_visit": {"is_enabled": "true"}}, tiers)
    overlaps = {frozenset((f.rule_id, f.other_rule_id)) for f in findings(path) if f.kind == "overlap"}
    own = {"pricing_page_60s", "pricing_page_60s_2plus", "pricing_page_60s_3plus"}
    assert not [pair for pair in overlaps if pair <= own], overlaps
    assert {frozenset(("pricing_page_visit", rule)) for rule in own} <= overlaps, overlaps
