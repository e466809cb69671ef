"""Benchmark: erasure that follows the identity graph, and masked BI (issue 17, items 2 and 3).

    python bench/privacy.py [--people N] [--erase K] [--days D] [--seed S] [--keep DIR]

Builds a sample in a temporary home the way the DAG does, day by day (synth with D daily drops;
per day: every extract, one real ``dbt build``, the run's snapshot, publish to the serving copy,
activation against local HubSpot, Salesforce and CRM-webhook servers speaking their vendors'
contracts over real HTTP, DingTalk to the outbox), then erases K people picked at random among
those the CRMs hold and the rest (seeded) with ``intent_pipeline.privacy.erase`` and measures:

* ``residual_hits``: occurrences of any identifier linked to an erased person (as stored and
  normalised: the email as loaded and canonical, the phone in E.164 and its digits, web and login
  ids, CRM lead ids, graph node keys, person ids) in every file under the data folder
  (``intent_pipeline.privacy.residual``: text files as text; Parquet files and every table of every
  DuckDB file through DuckDB, every column; SQLite files by table and as raw bytes), the landing
  drops included (erasure rewrites them), but the generator's ground truth;
* ``resurrected_after_backfill``: the same search (the landing drops excepted, see below) after the
  sources export the original drops again, the erased people still in them (a vendor's re-export,
  copied back over the rewritten landing) and every interval is re-run, extract included, plus
  erased records found again at the vendors' fakes; ``suppressed_rows_on_backfill`` is what the
  suppression list dropped at that re-extract;
* ``destinations_deleted`` / ``destinations_holding``: (destination, person) deletes that the
  vendors' servers acknowledged, against the pairs the ledger held;
* ``erase_seconds``: the erasure's wall time (the dbt rebuild included);
* ``unmasked_pii_columns_in_bi``: columns tagged ``meta: {pii: true}`` in the dbt manifest whose
  values in the serving copy (DuckDB and Parquet) equal the build's unmasked values;
* ``consent_violations``: records a destination acknowledged for a person who did not consent to its
  purpose (``privacy.consent.sent_without_consent``, before the erasure; ``bench/consent.py`` adds
  cookieless pings and checks them too).

The last line of output is one JSON object with the figures. Defaults (300 people, 10 erased,
2 days) take a few minutes on 2 cores; the issue's size is ``--people 10000 --erase 100``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT)]

LAST_DAY = date(2026, 11, 21)
EXCLUDED_FOLDERS = ("ground_truth",)
# after the re-export the landing holds the vendors' copies again, erased people included, by design
REEXPORT_EXCLUDED = ("landing", "ground_truth")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def configure(home: Path) -> None:
    """Point every INTENT_* path at ``home`` for this process (Settings.from_env reads os.environ)."""
    for key in [k for k in os.environ if k.startswith(("INTENT_", "AIRFLOW_CONN_"))]:
        del os.environ[key]
    os.environ["INTENT_HOME"] = str(home)
    os.environ["INTENT_ON_BAD_FILE"] = "quarantine"
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    os.environ.setdefault("INTENT_PII_SALT", "bench-privacy-salt")


def synth(home: Path, people: int, days: int, seed: int) -> None:
    subprocess.run(
        [sys.executable, "-m", "intent_pipeline.synth", "--people", str(people), "--seed", str(seed),
         "--date", LAST_DAY.isoformat(), "--daily-drops", str(days),
         "--landing", str(home / "data" / "landing"), "--truth", str(home / "data" / "ground_truth")],
        check=True, cwd=ROOT, stdout=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT / "plugins")},
    )  # fmt: skip


def days_of(count: int) -> list[date]:
    return [LAST_DAY - timedelta(days=count - 1 - i) for i in range(count)]


def extract_interval(day: date) -> dict:
    """The interval's extract tasks, every source (as the DAG's): each source's manifest."""
    from intent_pipeline.settings import Settings
    from intent_pipeline.sources import SOURCES, extract_source

    settings = Settings.from_env()
    run_id = f"bench__{day.isoformat()}"
    return {source: extract_source(source, settings, day, batch_id=f"{run_id}/{source}") for source in SOURCES}


def run_interval(day: date, destinations: dict, *, activate: bool = True, extracted: dict | None = None) -> dict:
    """One interval as the DAG runs it: extract every source, dbt build, snapshot, publish, activate.
    ``extracted``: the manifests of an :func:`extract_interval` of this day just made (the landing
    unchanged since), which the run then does not repeat."""
    from intent_pipeline import pipeline
    from intent_pipeline.activation import activate as run_activation
    from intent_pipeline.pipeline import interval_dates
    from intent_pipeline.serving import publish, serving_dir, snapshot_build
    from intent_pipeline.settings import Settings

    settings = Settings.from_env()
    start, end = interval_dates(day)
    run_id = f"bench__{day.isoformat()}"
    manifests = extracted if extracted is not None else extract_interval(day)
    # the DAG's build (pipeline.duckdb_build): the seeds unchanged since the last build are left out
    completed = pipeline.duckdb_build(settings, (start, end))
    if completed.returncode != 0:
        raise SystemExit(f"dbt build failed for {day}:\n{completed.stdout[-4000:]}")
    snapshot = snapshot_build(settings, run_id)
    publish(snapshot, serving_dir(settings), run_id=run_id, interval_start=day.isoformat())
    report = {}
    if activate:
        run_settings = settings.model_copy(update={"warehouse": snapshot})
        more = tuple(destinations.get("more", ()))
        report = run_activation(
            run_settings, day, end.replace(tzinfo=None), run_id, hubspot=destinations.get("hubspot"), dingtalk=None,
            more=more,
        )  # fmt: skip
    return {"manifests": manifests, "activation": report}


def start_fakes(stack) -> dict:
    """HubSpot, Salesforce and the CRM webhook on 127.0.0.1 (tests/fakes), and their configs."""
    from intent_pipeline.activation import HubSpotConfig
    from intent_pipeline.activation.salesforce import SalesforceConfig, SalesforceDestination
    from intent_pipeline.activation.webhook import WebhookConfig, WebhookDestination

    from tests.fakes.hubspot import FakeHubSpot
    from tests.fakes.salesforce import FakeSalesforce
    from tests.fakes.webhook import FakeCrmWebhook

    hubspot = stack.enter_context(FakeHubSpot(token="pat-bench"))
    salesforce = stack.enter_context(FakeSalesforce())
    webhook = stack.enter_context(FakeCrmWebhook(secret="whsec-bench"))
    return {
        "servers": {"hubspot": hubspot, "salesforce": salesforce, "crm_webhook": webhook},
        "hubspot": HubSpotConfig(base_url=hubspot.url, token="pat-bench", portal_id="4711"),
        "more": (
            (SalesforceDestination, SalesforceConfig(instance_url=salesforce.url, access_token=salesforce.token)),
            (WebhookDestination, WebhookConfig(url=webhook.webhook_url, secret="whsec-bench")),
        ),
    }


def pick_people(settings, count: int, seed: int) -> list:
    """``count`` erasure requests: first people the CRMs hold (by email), then others at random, by
    email, phone or person id in turn, so every kind of request is exercised."""
    import duckdb
    from intent_pipeline.privacy.erase import ErasureRequest

    rng = random.Random(seed)
    ledger = sqlite3.connect(settings.ledger_path)
    held = sorted({r[0] for r in ledger.execute(
        "select record_key from activation_ledger where destination like 'hubspot@%'")})  # fmt: skip
    ledger.close()
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    people = con.execute("select person_id, email, phone from marts.people order by person_id").fetchall()
    con.close()
    by_email = {email: (pid, email, phone) for pid, email, phone in people if email}
    crm_held = [by_email[e] for e in rng.sample(held, min(len(held), max(1, count // 2))) if e in by_email]
    rest = [p for p in people if p not in crm_held and p[1]]
    others = rng.sample(rest, min(len(rest), count - len(crm_held)))
    requests = [ErasureRequest("email", email, "bench erasure") for _, email, _ in crm_held]
    for i, (pid, email, phone) in enumerate(others):
        kind = ("email", "phone", "person_id")[i % 3]
        if kind == "phone" and not phone:
            kind = "email"
        requests.append(ErasureRequest(kind, {"email": email, "phone": phone, "person_id": pid}[kind], "bench erasure"))
    return requests


def bi_unmasked_columns(settings) -> tuple[int, int, list[str]]:
    """(tagged columns found in the serving copy, those holding a value equal to the build's unmasked
    value, their names): the serving DuckDB file and the Parquet files both checked."""
    import duckdb
    from intent_pipeline.privacy.serving_mask import pii_columns
    from intent_pipeline.serving import serving_dir

    tagged = pii_columns(settings.state_dir / "dbt" / "target" / "manifest.json")
    target = serving_dir(settings)
    con = duckdb.connect()
    con.execute(f"attach '{settings.warehouse}' as build (read_only)")
    con.execute(f"attach '{target / 'warehouse.duckdb'}' as served (read_only)")
    checked, unmasked = 0, []
    for mart, columns in sorted(tagged.items()):
        for column in sorted(columns):
            exists = con.execute(
                "select count(*) from duckdb_columns() where database_name = 'served' and schema_name = 'marts' "
                "and table_name = ? and column_name = ?", [mart, column]).fetchone()[0]  # fmt: skip
            if not exists:
                continue
            checked += 1
            value = f'cast("{column}" as varchar)'
            build = f'(select distinct {value} as v from build.marts."{mart}" where length({value}) > 3)'
            served = f'select cast("{column}" as varchar) as v from served.marts."{mart}"'
            parquet = target / "parquet" / "current" / f"{mart}.parquet"
            if parquet.exists():
                served += f" union all select cast(\"{column}\" as varchar) from read_parquet('{parquet}')"
            hits = con.execute(f"select count(*) from ({served}) as s inner join {build} as b on s.v = b.v").fetchone()[
                0
            ]
            if hits:
                unmasked.append(f"{mart}.{column}")
    con.close()
    return checked, len(unmasked), unmasked


def untagged_pii_like_columns(settings) -> list[str]:
    """Mart columns named like personal data (email, phone, full_name) without the ``pii`` tag: BI would
    see them unmasked (hashed ``*_key`` columns and the consent flags ``consent_email_marketing`` … are
    not personal data)."""
    import duckdb
    from intent_pipeline.privacy.serving_mask import pii_columns

    tagged = pii_columns(settings.state_dir / "dbt" / "target" / "manifest.json")
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    columns = con.execute(
        "select table_name, column_name from duckdb_columns() where schema_name = 'marts' "
        "and (column_name like '%email%' or column_name like '%phone%' or column_name = 'full_name')"
    ).fetchall()
    con.close()
    return sorted(
        f"{t}.{c}"
        for t, c in columns
        if c not in tagged.get(t, {}) and not c.endswith("_key") and not c.startswith("consent_")
    )


def erase_and_measure(home: Path, args, destinations: dict, started: float) -> dict:
    from intent_pipeline.privacy import erase as erasure
    from intent_pipeline.privacy import residual
    from intent_pipeline.privacy.consent import sent_without_consent
    from intent_pipeline.settings import Settings

    settings = Settings.from_env()
    checked, unmasked, unmasked_names = bi_unmasked_columns(settings)
    # every record a destination acknowledged so far, against the people's consent (the sample has mixed
    # consent); checked before the erasure, which removes the erased people from both sides
    consent = sent_without_consent(settings.warehouse, settings.ledger_path)
    requests = pick_people(settings, args.erase, args.seed)
    # what is linked, computed before the erasure changes anything (the same graph walk the erasure does)
    linked = erasure.resolve(settings.warehouse, requests)
    erasure.scan_lake(settings, linked, erasure._matcher(linked, os.environ["INTENT_PII_SALT"]))
    values = linked.search_values()
    data = home / "data"
    before = residual.search([data], values, exclude=EXCLUDED_FOLDERS)
    ledger = sqlite3.connect(settings.ledger_path)
    keys = linked.ledger_keys()
    holding = [
        (d, k)
        for d, k in ledger.execute("select destination, record_key from activation_ledger")
        if k.lower() in keys and d.split("@")[0] in ("hubspot", "salesforce", "crm_webhook") and "@" in d
    ]
    ledger.close()  # fmt: skip
    configs = [destinations["hubspot"], *(config for _, config in destinations["more"])]
    log(f"erasing {len(requests)} people ({len(linked.person_ids)} person ids, {len(values)} values to search, "
        f"{sum(before.values())} hits in {len(before)} places before, {len(holding)} destination records)")  # fmt: skip
    # the sources' drops as exported, kept outside the data folder: re-exported after the erasure
    reexport = home / "reexport"
    shutil.copytree(data / "landing", reexport)
    erase_started = time.monotonic()
    report = erasure.erase(settings, requests, destinations=configs)
    erase_seconds = time.monotonic() - erase_started
    after = residual.search([data], values, exclude=EXCLUDED_FOLDERS)
    servers = destinations["servers"]
    emails = {v for k, v in linked.identifiers if k == "email"}
    at_vendors = (
        sum(1 for e in servers["hubspot"].contacts if e in emails)
        + sum(1 for k in servers["salesforce"].records if k in linked.person_ids)
        + sum(1 for k in servers["crm_webhook"].records if k in linked.person_ids)
    )
    log(f"erased in {erase_seconds:.1f} s; residual places {after}; re-exporting and backfilling {args.days} days")
    shutil.rmtree(data / "landing")
    shutil.copytree(reexport, data / "landing")
    suppressed = 0
    for day in days_of(args.days):
        result = run_interval(day, destinations)
        for manifest in result["manifests"].values():
            for counts in manifest["tables"].values():
                assert counts["read"] == counts["loaded"] + counts["quarantined"] + counts.get("suppressed", 0)
                suppressed += counts.get("suppressed", 0)
    resurrected = residual.search([data], values, exclude=REEXPORT_EXCLUDED)
    resurrected_at_vendors = (
        sum(1 for e in servers["hubspot"].contacts if e in emails)
        + sum(1 for k in servers["salesforce"].records if k in linked.person_ids)
        + sum(1 for k in servers["crm_webhook"].records if k in linked.person_ids)
    )
    _, unmasked_after, _ = bi_unmasked_columns(settings)
    return {
        "people": args.people,
        "days": args.days,
        "erased_requests": len(requests),
        "erased_person_ids": len(linked.person_ids),
        "linked_values_searched": len(values),
        "hits_before_erasure": sum(before.values()),
        "residual_hits": sum(after.values()),
        "residual_places": sorted(after)[:20],
        "lake_rows_removed": report["lake_rows_removed"],
        "landing_files_rewritten": len(report["landing_files"]),
        "landing_records_removed": report["landing_records_removed"],
        "destinations_holding": len(holding),
        "destinations_deleted": report["destinations_deleted"],
        "destination_deletes_pending": report["destination_deletes_pending"],
        "left_at_vendors_after_erasure": at_vendors,
        "erase_seconds": round(erase_seconds, 1),
        "rebuild_seconds": report.get("rebuild_seconds"),
        "suppressed_rows_on_backfill": suppressed,
        "resurrected_after_backfill": sum(resurrected.values()) + resurrected_at_vendors,
        "resurrected_places": sorted(resurrected)[:20],
        "pii_columns_in_bi": checked,
        "unmasked_pii_columns_in_bi": max(unmasked, unmasked_after),
        "unmasked_pii_column_names": unmasked_names,
        "untagged_pii_like_columns": untagged_pii_like_columns(settings),
        "consent_violations": consent["violations"],
        "consent_records_checked": consent["checked"],
        "consent_unresolved": consent["unresolved"],
        "wall_seconds": round(time.monotonic() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    from contextlib import ExitStack

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--erase", type=int, default=10, help="people to erase (default 10; the issue: 100)")
    parser.add_argument("--days", type=int, default=2, help="daily landing drops (default 2)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it")
    parser.add_argument("--build-only", action="store_true", help="build the sample and stop (for development)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    home = args.keep or Path(tempfile.mkdtemp(prefix="intent-bench-privacy-"))
    home.mkdir(parents=True, exist_ok=True)
    configure(home)
    with ExitStack() as stack:
        destinations = start_fakes(stack)
        log(f"sample: {args.people} people, {args.days} days in {home}")
        synth(home, args.people, args.days, args.seed)
        for day in days_of(args.days):
            run_interval(day, destinations)
            log(f"  {day}: built, published, activated ({time.monotonic() - started:.0f} s)")
        if args.build_only:
            return 0
        result = erase_and_measure(home, args, destinations, started)
    if args.keep is None:
        shutil.rmtree(home, ignore_errors=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
