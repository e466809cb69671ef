"""Command line: ``python -m intent_pipeline <command>``.

* ``synth ...``: generate a sample landing workload (see ``python -m intent_pipeline.synth --help``).
* ``summary --date YYYY-MM-DD``: print the summary the run of that interval start saved
  (``--live``: that day's manifests and reports with the warehouse's current figures).
* ``train-model``: train a conversion model version on the warehouse now (``--list``: the versions).
* ``attribute PATH_FILE``: every attribution model's credit per channel for a path file, as CSV.
* ``explain-identity A B``: why two identifiers are (not) one person (docs/identity-decisions.md).
* ``rules check``: what an edit of ``seeds/scoring_rules.csv`` does before it is applied (caps below
  points, rules that never fire, overlaps, and the scores, grades and segment it changes:
  ``intent_pipeline.rules_check``, docs/scoring.md).
* ``erase --email … | --phone … | --person-id … --reason …`` (or ``--file``): erase people
  (docs/privacy.md, "Erasure"); ``retention``: purge old lake partitions (docs/privacy.md, "Retention").
* ``identity-estimate``: re-estimate the matcher's m/u and prior (EM) into the seeds (docs/identity.md).
* ``load-postgres --date YYYY-MM-DD`` (or ``--all``): copy the interval's raw partitions into
  PostgreSQL for the ``postgres`` dbt target (``intent_pipeline.postgres_load``, docs/portability.md);
  ``attribute-postgres``: the Python attribution model there, between the two phases of that build.
"""

from __future__ import annotations

import argparse
import json
import runpy
import sys
from datetime import date
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "synth":
        sys.argv = ["intent_pipeline.synth", *argv[1:]]
        runpy.run_module("intent_pipeline.synth", run_name="__main__")
        return 0
    if argv[:2] == ["rules", "check"]:
        from intent_pipeline import rules_check

        return rules_check.main(argv[2:])
    if argv and argv[0] == "identity-estimate":
        from intent_pipeline.identity_estimate import main as identity_estimate

        return identity_estimate(argv[1:])
    if argv and argv[0] == "load-postgres":
        from intent_pipeline.postgres_load import main as load_postgres

        return load_postgres(argv[1:])
    if argv and argv[0] == "attribute-postgres":
        from intent_pipeline.postgres_load import attribute_main

        return attribute_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m intent_pipeline")
    commands = parser.add_subparsers(dest="command", required=True)
    summary = commands.add_parser("summary", help="print the summary of one run")
    summary.add_argument("--date", required=True, type=date.fromisoformat, help="interval start, YYYY-MM-DD")
    summary.add_argument("--json", action="store_true", help="print JSON instead of a table")
    summary.add_argument(
        "--live", action="store_true", help="no saved summary: read the day's reports and today's warehouse"
    )
    commands.add_parser("synth", help="generate a sample workload (options: see intent_pipeline.synth --help)")
    train = commands.add_parser("train-model", help="train, save and approve a conversion model version")
    train.add_argument("--list", action="store_true", help="list the saved versions instead, newest first")
    attribute = commands.add_parser(
        "attribute",
        help="attribute a path file (path,total_conversions,total_conversion_value,total_null) with every model",
    )
    attribute.add_argument("path_file", help="CSV file, or - for stdin; paths look like 'alpha > beta > gamma'")
    attribute.add_argument("--transform", default="unique", help="unique (default), exposure, first or frequency")
    attribute.add_argument("--markov-order", type=int, default=1, help="order of the Markov chain (default 1)")
    attribute.add_argument(
        "--half-life", type=float, default=1.0, help="time decay half-life in touches (a path file has no times)"
    )
    attribute.add_argument("--value", action="store_true", help="credit conversion value instead of conversions")
    explain = commands.add_parser(
        "explain-identity", help="why two identifiers are one person (the chain of links) or not (the cut or decision)"
    )
    explain.add_argument("identifier_a", help="e.g. email:li.na@huarui.cn, li.na@huarui.cn, phone:+8613912345678")
    explain.add_argument("identifier_b", help="the other identifier, in the same forms")
    explain.add_argument("--warehouse", type=Path, help="the DuckDB warehouse (default: INTENT_WAREHOUSE)")
    rules = commands.add_parser("rules", help="rules check: what an edit of the scoring rules will do")
    rules.add_argument("action", choices=["check"], help="check (options: rules check --help)")
    from intent_pipeline.privacy import cli as privacy_cli

    privacy_cli.add_commands(commands)
    args = parser.parse_args(argv)

    if args.command in privacy_cli.COMMANDS:
        return privacy_cli.run(args)
    if args.command == "explain-identity":
        return _explain_identity(args)
    if args.command == "train-model":
        return _train_model(args.list)
    if args.command == "attribute":
        return _attribute(args)

    from intent_pipeline.report import build_summary, format_summary, saved_days, saved_summary, skipped_without_data
    from intent_pipeline.settings import Settings

    settings = Settings.from_env()
    result = build_summary(settings, args.date) if args.live else saved_summary(settings, args.date)
    skipped = skipped_without_data(settings, args.date) if result is None else None
    if skipped is not None:  # a day without any landing drop: skipped on purpose, not a failure
        print(
            json.dumps({"interval_start": args.date.isoformat(), "skipped": "no landing data"})
            if args.json
            else skipped
        )
        return 0
    if result is None:
        days = saved_days(settings)
        print(
            f"no saved summary for the interval starting {args.date} under {settings.reports_dir / 'runs'} "
            f"(saved: {', '.join(days) if days else 'none'}); --live reads the warehouse as it is now",
            file=sys.stderr,
        )
        return 1
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


def _attribute(args) -> int:
    from pathlib import Path

    from intent_pipeline import attribution

    text = sys.stdin.read() if args.path_file == "-" else Path(args.path_file).read_text(encoding="utf-8-sig")
    try:
        rows = attribution.read_path_file(text)
        result = attribution.attribute(rows, args.transform, half_life=args.half_life, markov_order=args.markov_order)
    except attribution.AttributionError as error:
        print(f"attribute: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(attribution.to_csv(result, "value" if args.value else "conversions"))
    return 0


def _explain_identity(args) -> int:
    from intent_pipeline.identity_explain import ExplainError, explain
    from intent_pipeline.settings import Settings

    warehouse = args.warehouse or Settings.from_env().warehouse
    try:
        result = explain(warehouse, args.identifier_a, args.identifier_b)
    except ExplainError as error:
        print(f"explain-identity: {error}", file=sys.stderr)
        return 2
    print(result.text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
