"""bench/scoring_page_views.py (issue 13, twenty-first pass): the arithmetic that gives each page view of the
generator's log one cause and each lost lead the cause of most of its page views. Hand-made rows, one per
branch; the counts are worked out by hand below each case."""

from __future__ import annotations

import pandas as pd

from tests.benches import load_bench

POINT = pd.Timestamp("2026-05-01 12:00:00")


def view(browser: str, attached: str | None, *, at: str = "2026-05-01 11:00:00", interaction: bool = True) -> dict:
    return {
        "browser": browser,
        "event_at": pd.Timestamp(at),
        "scored_at": POINT,
        "lead_person": "p_lead",
        "attached": attached,
        "is_interaction": interaction,
        "human": "H1",
    }


def test_every_branch_gives_its_cause():
    pv = load_bench("scoring_page_views")
    views = pd.DataFrame(
        [
            view("b_counted", "p_lead"),
            view("b_counted", "p_lead", at="2026-05-01 12:00:01"),  # a second after the point
            view("b_counted", "p_lead", interaction=False),
            view("b_hub", None),
            view("b_gone", None),
            view("b_anon", "p_anon"),
            view("b_cookie", "p_cookie"),
            view("b_mine", "p_personal_mail"),
            view("b_login", "p_login"),
            view("b_theirs", "p_other"),
            view("b_mixed", "p_mixed"),
            view("b_unknown", "p_unknown"),
        ]
    )
    humans_of = {
        "p_lead": {"H1"},
        "p_personal_mail": {"H1"},
        "p_login": {"H1"},
        "p_other": {"H2"},
        "p_mixed": {"H1", "H2"},  # one of the lead's human's identifiers glued to another's
        "p_unknown": {None},
    }
    kinds_of = {
        "p_lead": {"crm_lead", "email"},
        "p_personal_mail": {"email"},
        "p_login": {"ga4_user"},
        "p_other": {"phone"},
        "p_mixed": {"email", "phone"},
        "p_unknown": {"email"},
    }
    causes = pv.page_view_causes(views, {"web:b_hub"}, {"b_cookie": "cookie_lost"}, humans_of, kinds_of)
    assert causes == [
        "counted",
        "time_boundary",
        "not_interaction",
        "hub",
        "not_in_graph",
        "never_identified",
        "cookie_lost",
        "under_merge",
        "under_merge_login",
        "other_human",
        "other_human",
        "elsewhere_unknown",
    ]
    # the same browser on another person id, but the lead's person holds no email and no phone
    bare = pv.page_view_causes(views.iloc[[7]], set(), {}, humans_of, kinds_of | {"p_lead": {"crm_lead"}})
    assert bare == ["under_merge_bare_lead"]
    assert set(causes) | set(bare) <= set(pv.CAUSES)


def test_a_lost_lead_takes_the_cause_of_most_of_its_page_views_ties_in_the_order_of_causes():
    pv = load_bench("scoring_page_views")
    assert pv.lead_cause({"cookie_lost": 2, "never_identified": 3}) == "never_identified"
    # 2 and 2: never_identified comes first in CAUSES
    assert pv.lead_cause({"cookie_lost": 2, "never_identified": 2}) == "never_identified"
    assert pv.lead_cause({"under_merge": 2, "hub": 2}) == "under_merge"
    # counted page views never decide a lost lead's cause; none left: the log's page views never landed
    assert pv.lead_cause({"counted": 5, "hub": 1}) == "hub"
    assert pv.lead_cause({"counted": 0, "not_landed": 0}) == "not_landed"


def test_the_tally_counts_leads_once_and_page_views_by_cause():
    pv = load_bench("scoring_page_views")
    per_lead = {
        "L1": {"cookie_lost": 4, "never_identified": 1, "not_landed": 0},  # lost: cookie_lost
        "L2": {"under_merge": 2, "not_landed": 1},  # lost: under_merge
        "L3": {"counted": 5, "cookie_lost": 2, "not_landed": 0},  # kept, two of its page views lost
        "L4": {"never_identified": 1, "cookie_lost": 1, "not_landed": 0},  # lost: the tie's first
    }
    got = pv.tally(per_lead, {"L1", "L2", "L4"})
    assert got["lost_leads_by_cause"] == {"never_identified": 1, "cookie_lost": 1, "under_merge": 1}
    assert got["lost_leads_page_views_by_cause"] == {
        "never_identified": 2,
        "cookie_lost": 5,
        "under_merge": 2,
        "not_landed": 1,
    }
    assert got["page_views_by_cause"] == {
        "counted": 5,
        "never_identified": 2,
        "cookie_lost": 7,
        "under_merge": 2,
        "not_landed": 1,
    }
    # every page view of the log once: the lost leads' and the kept lead's add up to the whole
    assert sum(got["page_views_by_cause"].values()) == sum(sum(c.values()) for c in per_lead.values())
    assert sum(got["lost_leads_by_cause"].values()) == 3


def test_the_web_kinds_are_swapped_example_by_example_and_nothing_else():
    pv = load_bench("scoring_page_views")
    held = pd.DataFrame(
        {"page_view": [0.0, 1.0, 2.0], "form_demo": [1.0, 0.0, 0.0]}, index=pd.Index(["e1", "e2", "e3"])
    )
    logged = pd.DataFrame(
        {"page_view": [3.0, 5.0], "session": [1.0, 2.0], "form_demo": [9.0, 9.0]}, index=pd.Index(["e3", "e1"])
    )
    swapped = pv.swap_kinds(held, logged)
    # the log's page views and sessions by example (e2 has none in the log: 0); the forms stay the warehouse's
    assert swapped["page_view"].tolist() == [5.0, 0.0, 3.0]
    assert swapped["session"].tolist() == [2.0, 0.0, 1.0]
    assert swapped["pricing_view"].tolist() == [0.0, 0.0, 0.0]  # a kind neither side has
    assert swapped["form_demo"].tolist() == [1.0, 0.0, 0.0]
    assert held["page_view"].tolist() == [0.0, 1.0, 2.0]  # the input is left as it was
