"""Operations: activation per run and destination, identity health, quarantine per source (all from marts)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _serving import Marts, emit  # noqa: E402

marts = Marts()


def optional(mart: str, sql: str) -> dict:
    """A mart a serving copy published before it existed lacks: no rows, and the page says so."""
    name = mart.removeprefix("marts.")
    if not (marts.folder / f"{name}.parquet").exists():
        return {"mart": mart, "rows": [], "missing": True}
    return marts.dataset(mart, sql)


emit(
    {
        "activation": marts.dataset(
            "marts.activation_runs",
            "select cast(interval_start as date) as interval_start, run_id, destination_name, mode, planned, sent_ok, "
            "unchanged, rejected, invalid, dead_lettered, stale, deferred, reject_share, is_latest_run "
            "from marts.activation_runs order by interval_start, destination_name",
        ),
        "rejects": marts.dataset(
            "marts.activation_rejects",
            "select cast(interval_start as date) as interval_start, destination_name, outcome, reason_kind, "
            "rows_refused, example_reason from marts.activation_rejects order by interval_start, destination_name",
        ),
        "people_per_day": marts.dataset(
            "marts.lead_score_history",
            "select snapshot_date, count(distinct person_id) as people from marts.lead_score_history "
            "group by 1 order by 1",
        ),
        "identity": marts.dataset(
            "marts.people",
            "select count(*) as people, count(*) filter (where has_probabilistic_link) as probabilistic_links, "
            "count(*) filter (where contradicting_identifiers > 0) as contradicting, "
            "round(avg(identity_confidence), 4) as avg_confidence, round(avg(identifier_count), 2) as avg_identifiers "
            "from marts.people",
        ),
        "identity_daily": optional(
            "marts.identity_health_daily",
            "select day, people, new_person_ids, merges, splits, steward_changes, people_with_probabilistic_link, "
            "links_cut from marts.identity_health_daily order by day",
        ),
        # the cut links at the latest day the mart holds (a count of what is cut now, by kind)
        "cut_links": optional(
            "marts.identity_cut_links",
            "select day, cut_rule, reason_kind, counted_type, identifier_type, links from marts.identity_cut_links "
            "where day = (select max(day) from marts.identity_cut_links) "
            "order by links desc, reason_kind, identifier_type, counted_type",
        ),
        "quarantine": optional(
            "marts.quarantine_daily",
            "select interval_start, source, table_name, files, files_failed, rows_read, rows_loaded, rows_quarantined, "
            "rows_suppressed from marts.quarantine_daily order by interval_start, source, table_name",
        ),
    }
)
