"""Channels: credited conversions per channel for every attribution model, monthly trend, spend and ROAS."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _serving import Marts, emit, run_summaries  # noqa: E402,F401

marts = Marts()

emit(
    {
        "models": marts.dataset(
            "marts.channel_attribution",
            "select attribution_model, channel, conversions, credit, revenue from marts.channel_attribution "
            "order by attribution_model, channel",
        ),
        "monthly": marts.dataset(
            "marts.channel_attribution_monthly",
            "select attribution_model, channel, month, conversions, credited_value, spend, cost_per_conversion, roas "
            "from marts.channel_attribution_monthly order by month, channel",
        ),
    }
)
