"""``python -m intent_pipeline.synth``: generate a sample workload and print its summary as JSON (last line)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from intent_pipeline.synth.generator import POLLUTION_LEVELS, WORLDS, generate


def main(argv: list[str] | None = None) -> int:
    """Parse the options, generate, print the summary as one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m intent_pipeline.synth", description=__doc__)
    parser.add_argument("--people", type=int, default=3000, help="number of simulated people (default 3000)")
    parser.add_argument("--seed", type=int, default=42, help="random seed; same seed, same bytes (default 42)")
    parser.add_argument(
        "--date",
        type=date.fromisoformat,
        default=date(2026, 11, 21),
        help="interval start YYYY-MM-DD: the last day of history (default 2026-11-21)",
    )
    parser.add_argument("--history-days", type=int, default=180, help="days of history before --date (default 180)")
    parser.add_argument(
        "--daily-drops",
        type=int,
        default=0,
        help="0: one full-history drop dt=<date>; k: one drop per each of the last k days, "
        "older history in the earliest of them (default 0)",
    )
    parser.add_argument(
        "--pollution",
        choices=POLLUTION_LEVELS,
        default="default",
        help="identifiers that mislead identity resolution: clean (none, no email typos), default (a few "
        "shared devices, mailboxes and phones, as in real data) or polluted (about 1.5%% of identifier links "
        "shared by several people) (default: default)",
    )
    parser.add_argument(
        "--world",
        choices=list(WORLDS),
        default="default",
        help="signal structure: "
        + "; ".join(f"{name}: {preset.description}" for name, preset in WORLDS.items())
        + " (default: default)",
    )
    parser.add_argument(
        "--opportunity-history",
        action="store_true",
        help="also write the CRM's daily opportunity exports of the days before the first drop "
        "(crm/dt=<day>/opportunities_*.csv: the stage changes of that day) for a backfill to extract",
    )
    parser.add_argument("--landing", type=Path, required=True, help="landing directory to write into")
    parser.add_argument("--truth", type=Path, required=True, help="ground-truth directory (never read by the pipeline)")
    args = parser.parse_args(argv)
    try:
        summary = generate(
            args.landing,
            args.truth,
            people=args.people,
            seed=args.seed,
            interval_start=args.date,
            history_days=args.history_days,
            daily_drops=args.daily_drops,
            opportunity_history=args.opportunity_history,
            pollution=args.pollution,
            world_name=args.world,
        )
    except ValueError as exc:
        parser.error(str(exc))
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
