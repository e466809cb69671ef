"""Trace: why a labelled lead has page views before its point in the generator's log but none in the
pipeline's features (issue 13, eighth pass).

    python bench/scoring_page_views.py WORLD_DIR

WORLD_DIR is a world kept by ``bench/scoring.py --keep`` (``<keep>/world-<name>-<seed>``: its
``data/warehouse.duckdb`` and ``data/ground_truth``). Read-only. For every labelled lead
(``marts.lead_conversion_examples``) it compares the truth's page views before the lead's point
(``lead_events.csv``) with ``log_page_views_all`` in ``intermediate.int_scoring_features``; for each
lead that loses them, it looks up the truth's own browsers of the lead's person first seen at or before
the lead's point (``identifiers.csv``, no hub) in ``intermediate.int_people_resolved`` and says where
they are. Last line: one JSON object.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ANONYMOUS = "browser anonymous: no form carried its cookie, no login"
ELSEWHERE = "browser on another resolved person (one with an email, phone or login)"
SAME = "browser on the lead's person, yet no page view before the point in the features (not traced)"
MISSING = "browser not in the graph"
HUB = "browser cut as a hub by the identity guards (int_identity_hubs: seen with more emails, phones, ... than allowed)"
NO_BROWSER = "no browser of the person's own first seen at or before the point in the truth"


def trace(world: Path) -> dict:
    import duckdb
    import pandas as pd

    truth = world / "data" / "ground_truth"
    with duckdb.connect(str(world / "data" / "warehouse.duckdb"), read_only=True) as con:
        examples = con.execute(
            "select example_id, lead_id, person_id, scored_at from marts.lead_conversion_examples where label_complete"
        ).df()
        views = con.execute(
            "select score_point as example_id, value from intermediate.int_scoring_features"
            " where feature = 'log_page_views_all'"
        ).df()
        resolved = con.execute(
            "select identifier_type, identifier_value, person_id from intermediate.int_people_resolved"
        ).df()
        hubs = {row[0] for row in con.execute("select node_key from intermediate.int_identity_hubs").fetchall()}
    events = pd.read_csv(truth / "lead_events.csv", dtype={"lead_id": str})
    events["event_at"] = pd.to_datetime(events["event_at"])
    logged = events[events["kind"] == "page_view"].merge(examples, on="lead_id")
    logged = logged[logged["event_at"] <= logged["scored_at"]]
    examples["in_log"] = examples["lead_id"].isin(set(logged["lead_id"]))
    examples = examples.merge(views, on="example_id", how="left")
    examples["in_features"] = examples["value"].fillna(0) > 0

    records = pd.read_csv(truth / "records.csv", dtype=str)
    identifiers = pd.read_csv(truth / "identifiers.csv", dtype=str)
    person_of_lead = records[records["source"] == "crm"].set_index("record_key")["person_key"]
    kinds = resolved.groupby("person_id")["identifier_type"].agg(set)
    browsers = resolved[resolved["identifier_type"] == "web"]
    lost = examples[examples["in_log"] & ~examples["in_features"]]
    why = []
    for _, lead in lost.iterrows():
        # the browsers that can have carried the page views before the point: those first seen at or
        # before it (a person's later browser on the lead's person says nothing about the earlier one)
        own = identifiers[
            (identifiers["person_key"] == person_of_lead.get(lead["lead_id"]))
            & (identifiers["identifier_type"] == "web")
            & identifiers["hub_kind"].isna()
            & (pd.to_datetime(identifiers["first_seen_at"]) <= lead["scored_at"])
        ]
        found = browsers[browsers["identifier_value"].isin(own["identifier_value"])]
        if own.empty:
            why.append(NO_BROWSER)
        elif found.empty:
            why.append(HUB if any(f"web:{b}" in hubs for b in own["identifier_value"]) else MISSING)
        elif (found["person_id"] == lead["person_id"]).any():
            why.append(SAME)
        elif set().union(*(kinds.get(p, set()) for p in found["person_id"])) & {"email", "phone", "ga4_user"}:
            why.append(ELSEWHERE)
        else:
            why.append(ANONYMOUS)
    return {
        "labelled_leads": len(examples),
        "share_with_page_view_in_log": round(float(examples["in_log"].mean()), 4),
        "share_with_page_view_in_features": round(float(examples["in_features"].mean()), 4),
        "leads_lost": len(lost),
        "why": pd.Series(why, dtype=str).value_counts().to_dict(),
    }


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(json.dumps(trace(Path(sys.argv[1])), ensure_ascii=False))
