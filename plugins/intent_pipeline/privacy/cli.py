"""``python -m intent_pipeline erase …`` and ``python -m intent_pipeline retention …`` (docs/privacy.md)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

COMMANDS = ("erase", "retention")
# the CRM connections a delete goes through (the same ids activation uses)
DELETE_CONNECTIONS = {
    "hubspot_default": ("intent_pipeline.activation.hubspot", "HubSpotConfig"),
    "salesforce_default": ("intent_pipeline.activation.salesforce", "SalesforceConfig"),
    "crm_webhook_default": ("intent_pipeline.activation.webhook", "WebhookConfig"),
}


def add_commands(commands) -> None:
    erase = commands.add_parser(
        "erase", help="erase people: every identifier linked to them, everywhere (docs/privacy.md)"
    )
    who = erase.add_argument_group("who (one or more; or --file)")
    who.add_argument("--email", action="append", default=[], help="an email address of the person")
    who.add_argument("--phone", action="append", default=[], help="a phone number of the person")
    who.add_argument("--person-id", action="append", default=[], help="the warehouse's person_id")
    who.add_argument("--file", type=Path, help="a request file: CSV kind,value,reason (or email,phone,person_id,"
                                               "reason columns) or JSON Lines")  # fmt: skip
    erase.add_argument("--reason", help="why (recorded in the audit trail); required unless every file row has one")
    erase.add_argument("--dry-run", action="store_true", help="list everything it would touch, change nothing")
    erase.add_argument(
        "--no-rebuild", action="store_true", help="do not rebuild the marts now: the next run's dbt build does"
    )
    erase.add_argument(
        "--retry-pending", action="store_true", help="only send again the destination deletes that failed before"
    )
    erase.add_argument(
        "--wait", type=float, default=None, metavar="SECONDS",
        help="how long to wait for a running dbt_build / publish / retention to release the DAG's writer pool "
             "before refusing (default 1800)",
    )  # fmt: skip
    erase.add_argument(
        "--no-pool", action="store_true",
        help="do not take the Airflow pool intent_warehouse (only where no Airflow runs this warehouse)",
    )  # fmt: skip
    retention = commands.add_parser("retention", help="purge raw and quarantine partitions older than the limits")
    retention.add_argument("--as-of", type=date.fromisoformat, help="the day to count from (default: today, UTC)")
    retention.add_argument(
        "--raw-days", type=int, help="keep raw partitions this many days (INTENT_RETENTION_RAW_DAYS)"
    )
    retention.add_argument(
        "--quarantine-days",
        type=int,
        help="keep quarantine partitions this many days (INTENT_RETENTION_QUARANTINE_DAYS)",
    )
    retention.add_argument("--dry-run", action="store_true", help="list the partitions it would purge")


def connection_configs() -> list[Any]:
    """The CRM configs of the Airflow connections that exist (environment, secrets backend, metadata DB)."""
    import importlib

    from intent_pipeline.pipeline import _connection

    configs = []
    for conn_id, (module, config_class) in DELETE_CONNECTIONS.items():
        conn = _connection(conn_id)
        if conn is not None:
            configs.append(getattr(importlib.import_module(module), config_class).from_airflow_connection(conn))
    return configs


def run(args: argparse.Namespace) -> int:
    from intent_pipeline.settings import Settings

    settings = Settings.from_env()
    if args.command == "retention":
        from intent_pipeline.privacy.retention import RetentionPolicy, purge

        policy = RetentionPolicy.from_env()
        if args.raw_days is not None or args.quarantine_days is not None:
            policy = RetentionPolicy(
                raw_days=args.raw_days if args.raw_days is not None else policy.raw_days,
                quarantine_days=args.quarantine_days if args.quarantine_days is not None else policy.quarantine_days,
            )
        print(json.dumps(purge(settings, policy, as_of=args.as_of, dry_run=args.dry_run), indent=2))
        return 0

    from intent_pipeline.privacy import writer_pool
    from intent_pipeline.privacy.erase import ErasureError, ErasureRequest, erase, read_request_file, retry_pending
    from intent_pipeline.privacy.suppression import SuppressionError

    try:
        if args.retry_pending:
            print(json.dumps(retry_pending(settings, connection_configs()), indent=2))
            return 0
        requests = read_request_file(args.file, args.reason) if args.file else []
        for kind, values in (("email", args.email), ("phone", args.phone), ("person_id", args.person_id)):
            requests += [ErasureRequest(kind, value, args.reason or "") for value in values]
        if not requests:
            print("erase: name the person (--email, --phone, --person-id) or give --file", file=sys.stderr)
            return 2
        configs = [] if args.dry_run else connection_configs()
        if args.dry_run or args.no_pool:
            report = erase(settings, requests, dry_run=args.dry_run, rebuild_marts=not args.no_rebuild,
                           destinations=configs)  # fmt: skip
        else:
            # never beside the DAG's writers: take their pool first (privacy/writer_pool.py)
            with writer_pool.holding_pool(
                wait_seconds=writer_pool.DEFAULT_WAIT_SECONDS if args.wait is None else args.wait,
                holder=f"pid {os.getpid()}",
                log=lambda message: print(message, file=sys.stderr, flush=True),
            ) as pool:
                report = erase(settings, requests, rebuild_marts=not args.no_rebuild, destinations=configs)
            report["writer_pool"] = pool
    except (ErasureError, SuppressionError, writer_pool.PoolBusy) as error:
        print(f"erase: {error}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    if report.get("rebuild_error"):
        print("erase: the rebuild failed; the next run's dbt build rebuilds the marts", file=sys.stderr)
    if report.get("landing_errors"):
        print("erase: landing files could not be rewritten (landing_errors); the suppression list keeps them out "
              "of the lake: fix the drop's permissions and erase again", file=sys.stderr)  # fmt: skip
    if report.get("seed_errors"):
        print("erase: seed files that name them could not be rewritten (seed_errors); no build loads them until "
              "those rows are removed", file=sys.stderr)  # fmt: skip
    failed = (report.get("destination_deletes_pending") or report.get("rebuild_error") or report.get("landing_errors")
              or report.get("seed_errors"))  # fmt: skip
    return 1 if failed else 0
