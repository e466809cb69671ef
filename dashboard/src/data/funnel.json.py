"""Funnel: steps with conversion and median hours, breakdowns, drop-off, the current stalls."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _serving import Marts, emit, run_summaries  # noqa: E402,F401

marts = Marts()

BREAKDOWN_VALUE = {"cohort_week": "cast(cohort_week as varchar)", "channel": "channel", "industry": "industry",
                   "grade": "grade"}  # fmt: skip

emit(
    {
        "steps": marts.dataset(
            "marts.funnel_conversion",
            "select stage, stage_order, entered, people, conversion_from_previous, conversion_from_first, "
            "median_hours_from_previous, median_hours_from_first from marts.funnel_conversion "
            "where breakdown = 'overall' order by stage_order",
        ),
        "breakdowns": {
            name: marts.dataset(
                "marts.funnel_conversion",
                f"select coalesce({expression}, '(not set)') as value, stage, stage_order, entered, people, "
                "conversion_from_first from marts.funnel_conversion where breakdown = ? order by value, stage_order",
                name,
            )
            for name, expression in BREAKDOWN_VALUE.items()
        },
        "dropoff": marts.dataset(
            "marts.funnel_dropoff",
            "select stage, stage_order, previous_reached, reached, dropped, dropoff_rate from marts.funnel_dropoff "
            "where breakdown = 'overall' order by stage_order",
        ),
        "stalls": marts.dataset(
            "marts.segment_funnel_stalls",
            "select full_name, company, stage, opportunity_stage, stall_reason_zh, stall_reason, "
            "round(hours_in_stage, 1) as hours_in_stage, coalesce(owner, 'unassigned') as owner, lead_score, "
            "became_stalled_in_interval from marts.segment_funnel_stalls order by hours_in_stage desc",
        ),
    }
)
