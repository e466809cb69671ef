"""Command line: ``python -m intent_pipeline <command>``.

* ``synth ...``: generate a sample landing workload (see ``python -m intent_pipeline.synth --help``).
* ``summary --date YYYY-MM-DD``: print the summary of the run for that interval start.
* ``train-model``: train a conversion model version on the warehouse now (``--list``: the versions).
"""

from __future__ import annotations

import argparse
import json
import runpy
import sys
from datetime import date


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "synth":
        sys.argv = ["intent_pipeline.synth", *argv[1:]]
        runpy.run_module("intent_pipeline.synth", run_name="__main__")
        return 0
    parser = argparse.ArgumentParser(prog="python -m intent_pipeline")
    commands = parser.add_subparsers(dest="command", required=True)
    summary = commands.add_parser("summary", help="print the summary of one run")
    summary.add_argument("--date", required=True, type=date.fromisoformat, help="interval start, YYYY-MM-DD")
    summary.add_argument("--json", action="store_true", help="print JSON instead of a table")
    commands.add_parser("synth", help="generate a sample workload (options: see intent_pipeline.synth --help)")
    train = commands.add_parser("train-model", help="train, save and approve a conversion model version")
    train.add_argument("--list", action="store_true", help="list the saved versions instead, newest first")
    args = parser.parse_args(argv)

    if args.command == "train-model":
        return _train_model(args.list)

    from intent_pipeline.report import build_summary, format_summary
    from intent_pipeline.settings import Settings

    result = build_summary(Settings.from_env(), args.date)
    print(json.dumps(result, indent=2, ensure_ascii=False) if args.json else format_summary(result))
    return 0


def _train_model(list_only: bool) -> int:
    from datetime import UTC, datetime

    from intent_pipeline import scoring_model
    from intent_pipeline.pipeline import train_model
    from intent_pipeline.settings import Settings

    settings = Settings.from_env()
    if list_only:
        for record in scoring_model.history(settings.models_dir):
            metrics = record.get("metrics") or {}
            print(
                f"{record['version']}  {record['status']:<9} auc={metrics.get('roc_auc')} "
                f"ece={metrics.get('ece')}  {record.get('reason') or ''}"
            )
        return 0
    result = train_model(settings, datetime.now(UTC))
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0 if result["status"] == "approved" else 1


if __name__ == "__main__":
    raise SystemExit(main())
