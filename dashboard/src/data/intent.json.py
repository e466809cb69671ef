"""Intent: score distribution, grades, the A/B/C x 1/2/3 matrix, grade trend, hot leads, conversion per grade."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _serving import Marts, emit, run_summaries  # noqa: E402,F401

marts = Marts()

emit(
    {
        "distribution": marts.dataset(
            "marts.lead_scores",
            "select cast(floor(lead_score / 10.0) * 10 as integer) as score_from, grade, count(*) as leads "
            "from marts.lead_scores group by all order by score_from, grade",
        ),
        "grades": marts.dataset(
            "marts.lead_scores", "select grade, count(*) as leads from marts.lead_scores group by grade order by grade"
        ),
        "matrix": marts.dataset(
            "marts.lead_scores",
            "select fit_grade, engagement_level, intent_matrix_cell, count(*) as leads from marts.lead_scores "
            "where intent_matrix_cell is not null group by all order by intent_matrix_cell",
        ),
        "trend": marts.dataset(
            "marts.lead_score_history",
            "select snapshot_date, grade, count(*) as leads from marts.lead_score_history group by all order by 1, 2",
        ),
        "hot_leads": marts.dataset(
            "marts.segment_high_intent",
            "select full_name, company, job_title, lead_score, score_reasons_zh, score_reasons, "
            "coalesce(owner, 'unassigned') as owner, owner_team, became_hot_in_interval "
            "from marts.segment_high_intent order by lead_score desc, full_name",
        ),
        "conversion": marts.dataset(
            "marts.lead_conversion_report",
            "select bucket as grade, leads, conversions, conversion_rate from marts.lead_conversion_report "
            "where dimension = 'grade' and period = 'all' order by bucket",
        ),
    }
)
