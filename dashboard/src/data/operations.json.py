"""Operations: activation per run and destination, identity health, quarantine per source."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _serving import Marts, emit, run_summaries  # noqa: E402,F401

marts = Marts()

quarantine = []
for summary in run_summaries():
    for source, tables in (summary.get("sources") or {}).items():
        for table, counts in tables.items():
            quarantine.append({"interval_start": summary.get("interval_start"), "source": source, "table": table,
                               "read": counts.get("read"), "loaded": counts.get("loaded"),
                               "quarantined": counts.get("quarantined")})  # fmt: skip

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
        "quarantine": {"source": "run summaries (data/reports/runs)", "rows": quarantine},
    }
)
