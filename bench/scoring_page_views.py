"""Trace: the page views a labelled lead has before its point in the generator's log but not in the
pipeline's features, counted by cause, per lead and per page view (issue 13, eighth, ninth and
twenty-first passes).

    python bench/scoring_page_views.py WORLD_DIR [WORLD_DIR ...]

WORLD_DIR is a world kept by ``bench/scoring.py --keep`` (``<keep>/world-<name>-<seed>``: its
``data/warehouse.duckdb`` and ``data/ground_truth``). Read-only.

For every labelled lead (``marts.lead_conversion_examples``) the truth's page views before the
lead's point (``lead_events.csv``, stamped with their session's start) are set against the
warehouse's page views (``int_web_page_views``) of the browsers the truth gives the lead's human
(``records.csv``, kiosks left out as the truth's log leaves them out) whose session began at or
before the point (GA4's ``ga_session_id`` is the session's start). Each such page view gets one
cause (:data:`CAUSES`): counted at the point on the lead's person, or why not. A lead that the
features show no page view before its point (``log_page_views_all``) while the truth has one is
*lost*; its cause is the cause of most of its page views (ties in the order of :data:`CAUSES`).

Also counted: the page views counted at a point whose browser's first link to anything but
itself (``int_identifiers_linked``: a form carrying its cookie, a login) came **after** the point:
the warehouse attaches a browser's whole history once it is identified (backstitching), so a
training example's features read identity learned later.

What the lost page views are worth (``worth``): on ``bench/scoring_gap.py``'s split, its ``a`` (the
reference on the log's kinds of event) and ``b`` (the same regression on the warehouse's kinds), and
each with the web kinds (:data:`WEB_KINDS`: page views, sessions, pricing views) taken from the other
side: ``b_with_log_web`` is what the warehouse's inputs would rank with every page view of the log,
``a_with_warehouse_web`` the reference with only the page views the warehouse holds.

Last line: one JSON object, ``worlds`` keyed by the world folder's name.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# the causes of a page view in the truth before the point, in the order that breaks a lead's ties
CAUSES = {
    "counted": "counted at the point on the lead's person",
    "time_boundary": "on the lead's person, but viewed after the point: its session began before it (the log"
    " stamps every page view of a session with the session's start)",
    "not_interaction": "on the lead's person before the point, yet not an interaction of the features",
    "never_identified": "browser anonymous: no form was submitted from it and no login",
    "cookie_lost": "browser anonymous: a form was submitted from it (GA4 form_submit) but no form row carries"
    " its cookie (consent banner, ad blocker)",
    "form_quarantined": "browser anonymous: a form of the lead's human was quarantined",
    "under_merge_bare_lead": "browser on another person id of the lead's human (identity under-merge), and"
    " the lead's person holds no email and no phone: a CRM lead exported without either",
    "under_merge_login": "browser on another person id of the lead's human that holds only logins (GA4"
    " user_id: a trial account id no other source carries)",
    "under_merge": "browser on another person id whose identifiers are all the lead's human's (identity"
    " under-merge: another mailbox or phone than the lead's, nothing agreeing)",
    "other_human": "browser on a person id holding another human's identifiers (a shared device glued)",
    "elsewhere_unknown": "browser on another person id whose identifiers the truth does not know",
    "hub": "browser cut as a hub by the identity guards (int_identity_hubs)",
    "not_in_graph": "browser not in the identity graph",
    "not_landed": "in the generator's log, not among the warehouse's page views",
}


WEB_KINDS = ("page_view", "session", "pricing_view", "pricing_view_60s")  # the log's kinds a browser carries


def swap_kinds(into, source, kinds=WEB_KINDS):
    """``into`` (examples × kinds, ln(1 + count)) with the columns ``kinds`` taken from ``source`` on the
    same examples (0 where ``source`` has no such column or no such example)."""
    swapped = into.copy()
    for kind in kinds:
        swapped[kind] = source[kind].reindex(into.index).fillna(0.0) if kind in source else 0.0
    return swapped


def page_view_causes(
    views,
    hubs: set[str],
    anonymous_kind: dict[str, str],
    humans_of: dict[str, set[str | None]],
    kinds_of: dict[str, set[str]],
) -> list[str]:
    """One cause per page view (a key of :data:`CAUSES` but ``not_landed``).

    ``views``: one row per page view with ``browser``, ``event_at``, ``scored_at``, ``lead_person``
    (the example's person id), ``attached`` (the person id int_events_unified gives the page view, or
    null), ``is_interaction`` and ``human`` (the lead's human in the truth). ``hubs``: the web node
    keys the guards cut; ``anonymous_kind``: per browser on a person with no identifier but browsers,
    ``never_identified``, ``cookie_lost`` or ``form_quarantined``; ``humans_of``: per person id the
    truth's humans of its identifiers other than browsers and form records (None: one the truth does
    not know; absent: a person of browsers only); ``kinds_of``: per person id the types of those
    identifiers (email, phone, ga4_user, crm_lead).
    """
    import pandas as pd

    causes = []
    for row in views.itertuples(index=False):
        attached = None if pd.isna(row.attached) else row.attached
        if attached is not None and attached == row.lead_person:
            if row.event_at > row.scored_at:
                causes.append("time_boundary")
            elif not row.is_interaction:
                causes.append("not_interaction")
            else:
                causes.append("counted")
        elif f"web:{row.browser}" in hubs:
            causes.append("hub")
        elif attached is None:
            causes.append("not_in_graph")
        elif attached not in humans_of:
            causes.append(anonymous_kind.get(row.browser, "never_identified"))
        elif not humans_of[attached] - {None}:
            causes.append("elsewhere_unknown")
        elif humans_of[attached] - {None} == {row.human}:
            if not kinds_of.get(row.lead_person, set()) & {"email", "phone"}:
                causes.append("under_merge_bare_lead")
            elif kinds_of.get(attached, set()) <= {"ga4_user"}:
                causes.append("under_merge_login")
            else:
                causes.append("under_merge")
        else:
            causes.append("other_human")
    return causes


def lead_cause(counts: dict[str, int]) -> str:
    """A lost lead's cause: the cause of most of its page views, ties in the order of :data:`CAUSES`."""
    order = list(CAUSES)
    lost = {c: n for c, n in counts.items() if c != "counted" and n > 0}
    if not lost:
        return "not_landed"
    return max(lost, key=lambda c: (lost[c], -order.index(c)))


def tally(per_lead, lost_leads: set[str]) -> dict:
    """Leads and page views by cause. ``per_lead``: lead_id → {cause: page views before the point}
    (``not_landed`` included); ``lost_leads``: the leads with no page view in the features."""
    leads: dict[str, int] = {}
    lost_views: dict[str, int] = {}
    all_views: dict[str, int] = {}
    for lead_id, counts in per_lead.items():
        for cause, n in counts.items():
            if n:
                all_views[cause] = all_views.get(cause, 0) + n
                if lead_id in lost_leads:
                    lost_views[cause] = lost_views.get(cause, 0) + n
        if lead_id in lost_leads:
            cause = lead_cause(counts)
            leads[cause] = leads.get(cause, 0) + 1
    order = list(CAUSES)

    def ordered(d: dict[str, int]) -> dict[str, int]:
        return {c: d[c] for c in sorted(d, key=order.index)}

    return {
        "lost_leads_by_cause": ordered(leads),
        "lost_leads_page_views_by_cause": ordered(lost_views),
        "page_views_by_cause": ordered(all_views),
    }


WAREHOUSE_SQL = {
    "examples": "select example_id, lead_id, person_id, scored_at from marts.lead_conversion_examples"
    " where label_complete",
    "features": "select score_point as example_id, value from intermediate.int_scoring_features"
    " where feature = 'log_page_views_all'",
    # every page view with its session's start and the person the event stream attached it to
    "views": """
        select pv.user_pseudo_id as browser, pv.event_id, pv.event_at,
            cast(regexp_extract(pv.session_key, ':([0-9]+)$', 1) as bigint) as session_start,
            ue.person_id as attached, coalesce(ue.is_interaction, false) as is_interaction
        from intermediate.int_web_page_views as pv
        left join intermediate.int_events_unified as ue on ue.event_id = 'web:' || pv.event_id""",
    "nodes": "select node_key, identifier_type, identifier_value, person_id from intermediate.int_people_resolved",
    "hubs": "select node_key from intermediate.int_identity_hubs",
    # when each browser was first linked to another node (a form with its cookie, a login)
    "identified": """
        select substring(web from 5) as browser, min(first_seen_at) as identified_at from (
            select node_a as web, first_seen_at from intermediate.int_identifiers_linked where node_a like 'web:%'
            union all
            select node_b, first_seen_at from intermediate.int_identifiers_linked where node_b like 'web:%'
        ) group by 1""",
    "form_submits": "select distinct user_pseudo_id as browser from staging.stg_web__events"
    " where event_name = 'form_submit'",
    "form_cookies": "select distinct client_id as browser from staging.stg_forms__submissions"
    " where client_id is not null",
}


def trace(world: Path) -> dict:
    """The causes of one kept world (module docstring)."""
    import duckdb
    import pandas as pd

    truth = world / "data" / "ground_truth"
    with duckdb.connect(str(world / "data" / "warehouse.duckdb"), read_only=True) as con:
        got = {name: con.execute(sql).df() for name, sql in WAREHOUSE_SQL.items()}
    examples, views, nodes = got["examples"], got["views"], got["nodes"]
    examples["scored_at"] = pd.to_datetime(examples["scored_at"])

    events = pd.read_csv(truth / "lead_events.csv", dtype={"lead_id": str})
    events = events[events["kind"] == "page_view"]
    events = events.assign(event_at=pd.to_datetime(events["event_at"])).merge(examples, on="lead_id")
    in_log = events[events["event_at"] <= events["scored_at"]].groupby("lead_id").size()
    examples["in_log"] = examples["lead_id"].map(in_log).fillna(0).astype(int)
    examples = examples.merge(got["features"], on="example_id", how="left")
    examples["in_features"] = examples["value"].fillna(0) > 0

    records = pd.read_csv(truth / "records.csv", dtype=str)
    identifiers = pd.read_csv(truth / "identifiers.csv", dtype=str)
    bad = pd.read_csv(truth / "bad_rows.csv", dtype=str)
    human_of_lead = records[records["source"] == "crm"].set_index("record_key")["person_key"]
    kiosks = set(identifiers.loc[identifiers["hub_kind"] == "kiosk_device", "identifier_value"])
    browser_human = records[(records["source"] == "web") & ~records["record_key"].isin(kiosks)]
    browser_human = browser_human.set_index("record_key")["person_key"]

    # the truth's humans of each person id's identifiers other than browsers (and forms: no truth key)
    known = identifiers[identifiers["hub_kind"].isna()]
    truth_key = known["identifier_type"] + ":" + known["identifier_value"]
    human_of_node = dict(zip(truth_key, known["person_key"], strict=True))
    named = nodes[~nodes["identifier_type"].isin(["web", "form"])]
    humans_of = {
        person: {human_of_node.get(key) for key in keys}
        for person, keys in named.groupby("person_id")["node_key"].agg(list).items()
    }
    kinds_of = named.groupby("person_id")["identifier_type"].agg(set).to_dict()
    submitted = set(got["form_submits"]["browser"]) - set(got["form_cookies"]["browser"])
    quarantined_humans = set(bad.loc[bad["source"] == "forms", "person_key"])
    anonymous_kind = {b: "cookie_lost" for b in submitted}
    for browser, human in browser_human.items():
        if human in quarantined_humans and browser not in anonymous_kind:
            anonymous_kind[browser] = "form_quarantined"

    # the warehouse's page views of the lead's human's browsers, in sessions begun at or before the point
    examples["human"] = examples["lead_id"].map(human_of_lead)
    views["human"] = views["browser"].map(browser_human)
    views = views.dropna(subset=["human"]).merge(examples[["lead_id", "person_id", "scored_at", "human"]], on="human")
    # the point in UTC epoch seconds, as ga_session_id counts (the warehouse's timestamps are UTC)
    point_epoch = (views["scored_at"] - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1)
    views = views[views["session_start"] <= point_epoch].rename(columns={"person_id": "lead_person"})
    views["cause"] = page_view_causes(views, set(got["hubs"]["node_key"]), anonymous_kind, humans_of, kinds_of)

    per_lead: dict[str, dict[str, int]] = {}
    for lead_id, causes in views.groupby("lead_id")["cause"]:
        per_lead[lead_id] = causes.value_counts().to_dict()
    for lead in examples[examples["in_log"] > 0].itertuples(index=False):
        counts = per_lead.setdefault(lead.lead_id, {})
        counts["not_landed"] = max(0, lead.in_log - sum(counts.values()))
    lost = examples[(examples["in_log"] > 0) & ~examples["in_features"]]

    # page views counted at a point although their browser was first linked only after it
    identified = got["identified"].set_index("browser")["identified_at"]
    counted = views[views["cause"] == "counted"].copy()
    counted["identified_at"] = counted["browser"].map(identified)
    later = counted[counted["identified_at"] > counted["scored_at"]]
    only_later = set(later["lead_id"]) - set(counted.loc[counted["identified_at"] <= counted["scored_at"], "lead_id"])
    return {
        "labelled_leads": len(examples),
        "leads_with_page_view_in_log": int((examples["in_log"] > 0).sum()),
        "leads_with_page_view_in_features": int(examples["in_features"].sum()),
        "leads_lost": len(lost),
        "page_views_in_log": int(examples["in_log"].sum()),
        **tally(per_lead, set(lost["lead_id"])),
        "counted_page_views_identified_after_point": len(later),
        "leads_counted_only_through_identification_after_point": len(only_later),
        "causes": CAUSES,
    }


def worth(world: Path) -> dict:
    """a, b and each with the other side's web kinds, on bench/scoring_gap.py's split (module docstring)."""
    import duckdb
    import pandas as pd

    sys.path[:0] = [str(Path(__file__).parent.parent / "plugins"), str(Path(__file__).parent)]
    from intent_pipeline import scoring_calibration as sc
    from scoring import logged_kinds, plain_regression_auc
    from scoring_gap import KIND_COUNTS_SQL, LEADS_SQL, by_example, command_split

    warehouse = world / "data" / "warehouse.duckdb"
    examples, _ = sc.load(warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        kinds = con.execute(KIND_COUNTS_SQL).df()
        leads = con.execute(LEADS_SQL).df()
    ordered, n_fit, y = command_split(examples)
    held = by_example(kinds, ordered)
    # the log's kinds before each point, as bench/scoring.py's reference_auc counts them
    leads["scored_at"] = pd.to_datetime(leads["scored_at"])
    logged = logged_kinds(world / "data" / "ground_truth", leads).reindex(index=ordered["example_id"]).fillna(0.0)

    def auc(frame) -> float | None:
        x = frame.to_numpy(dtype=float)
        return plain_regression_auc(x[:n_fit], y[:n_fit], x[n_fit:], y[n_fit:])

    return {
        "a": auc(logged),
        "b": auc(held),
        "b_with_log_web": auc(swap_kinds(held, logged)),
        "a_with_warehouse_web": auc(swap_kinds(logged, held)),
    }


def main(argv: list[str]) -> int:
    if not argv:
        sys.exit(__doc__)
    worlds = {}
    for world in map(Path, argv):
        worlds[world.name] = trace(world) | {"worth": worth(world)}
        print(world.name, json.dumps({k: v for k, v in worlds[world.name].items() if k != "causes"}), file=sys.stderr)
    print(json.dumps({"worlds": worlds}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
