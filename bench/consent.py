"""Benchmark: consent per person and purpose, end to end, over a sample with mixed consent.

    python bench/consent.py [--people N] [--cookieless-share S] [--keep DIR]

Generates N people (default 400: about a minute and a half of dbt on 2 cores; the sample's form
exports carry a consent checkbox ticked by about 75% of people and the CRM an email opt-out, see
docs/sample.md), adds GA4 consent-mode cookieless pings to the web drop (a copy of a share S of the
page views, default 0.15, without user_pseudo_id and with privacy_info.analytics_storage 'No': the
generator itself writes none), then runs the pipeline's own steps in this process: the four
extracts, one dbt build, publish, and activation (HubSpot and DingTalk to the outbox, the code path
of every destination). Figures (last line, JSON):

- ``consent_violations``: records a destination acknowledged whose person did not consent to the
  destination's purpose (``marts.person_consent``): must be 0;
- ``high_intent_without_consent``: high-intent, contactable people the segment left out for lack
  of consent to any destination's purpose (above 0 when consent is mixed: the filter did something),
  beside ``segment_high_intent``; ``withheld_no_consent``: rows activation itself held back per
  destination (its second line of defence: 0 when the segments already filtered);
- ``cookieless_pings`` kept in ``marts.web_consent_daily``, ``cookieless_in_person_tables`` (those
  pings' event ids found in ``stg_web__events`` or ``int_events_unified``: must be 0), the web
  ``consent_rate``, and the consent rate per purpose;
- ``audit_pushes`` / ``audit_publishes``: audit records written (one per destination run, one per publish).

``consent_violations(warehouse, ledger)`` is importable (bench/privacy.py uses it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

INTERVAL_START = datetime(2026, 11, 21)
INTERVAL_END = INTERVAL_START + timedelta(days=1)


def consent_violations(warehouse: Path | str, ledger: Path | str) -> int:
    """Records any destination acknowledged (the ledger; outbox files included) whose person did not
    consent to the destination's purpose, by ``marts.person_consent`` of ``warehouse``."""
    from intent_pipeline.privacy.consent import sent_without_consent

    return int(sent_without_consent(warehouse, ledger)["violations"])


def add_cookieless_pings(landing: Path, share: float) -> int:
    """Write ``share`` of the drop's page views again as consent-mode cookieless pings (no
    user_pseudo_id, no user_id, analytics_storage 'No'), in a file of their own; returns how many."""
    import random

    rng = random.Random(17)
    files = sorted((landing / "web").glob("dt=*/*.jsonl"))
    if not files:
        raise SystemExit(f"no GA4 export under {landing / 'web'}")
    written = 0
    target = files[0].parent / "ga4_consent_mode_pings.jsonl"
    with target.open("w", encoding="utf-8") as out:
        for path in files:
            with path.open(encoding="utf-8") as lines:
                for line in lines:
                    try:
                        event = json.loads(line)
                    except ValueError:
                        continue  # the sample's planted bad lines
                    if not isinstance(event, dict) or event.get("event_name") != "page_view" or rng.random() >= share:
                        continue
                    event.pop("user_pseudo_id", None)
                    event.pop("user_id", None)
                    event["event_timestamp"] = int(event.get("event_timestamp") or 0) + 1  # a ping of its own
                    event["privacy_info"] = {"analytics_storage": "No", "ads_storage": "No"}
                    out.write(json.dumps(event, ensure_ascii=False) + "\n")
                    written += 1
    return written


def run(people: int, share: float, base: Path) -> dict:
    """The whole measurement in ``base`` (an INTENT_HOME of its own)."""
    started = time.monotonic()
    landing, truth = base / "data" / "landing", base / "truth"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTENT_", "AIRFLOW_CONN_"))}
    env.update(INTENT_HOME=str(base), PYTHONPATH=str(ROOT / "plugins"), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    done = subprocess.run(
        [sys.executable, "-m", "intent_pipeline.synth", "--people", str(people), "--date", "2026-11-21",
         "--landing", str(landing), "--truth", str(truth)],
        env=env, capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"synth failed:\n{done.stderr[-3000:]}")
    pings = add_cookieless_pings(landing, share)
    os.environ.update({k: v for k, v in env.items() if k in ("INTENT_HOME", "DBT_SEND_ANONYMOUS_USAGE_STATS")})
    for key in [k for k in os.environ if k.startswith("AIRFLOW_CONN_")]:
        del os.environ[key]

    from intent_pipeline import pipeline
    from intent_pipeline.activation import activate
    from intent_pipeline.privacy import audit
    from intent_pipeline.settings import Settings

    run_id = "bench-consent"
    for source in ("forms", "email", "web", "crm"):
        pipeline.extract_task(source, INTERVAL_START, INTERVAL_END, run_id)
    dbt_started = time.monotonic()
    pipeline.dbt_build_task(INTERVAL_START, INTERVAL_END, run_id)
    dbt_seconds = time.monotonic() - dbt_started
    pipeline.publish_task(INTERVAL_START, INTERVAL_END, run_id)
    settings = Settings.from_env()
    report = activate(settings, INTERVAL_START.date(), INTERVAL_END, run_id, hubspot=None, dingtalk=None)

    import duckdb
    from intent_pipeline.privacy.consent import sent_without_consent

    checked = sent_without_consent(settings.warehouse, settings.ledger_path)
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        web = con.execute(
            "select sum(consented_events), sum(denied_events) from marts.web_consent_daily"
        ).fetchone() or (0, 0)
        ping_ids = [
            row[0] for row in con.execute("select event_id from staging.stg_web__consent_denied_events").fetchall()
        ]
        in_person_tables = 0
        if ping_ids:
            con.execute("create temp table pings as select unnest(?) as event_id", [ping_ids])
            in_person_tables = con.execute(
                "select (select count(*) from staging.stg_web__events join pings using (event_id))"
                " + (select count(*) from intermediate.int_events_unified e join pings p"
                "    on e.event_id = 'web:' || p.event_id)"
            ).fetchone()[0]
        rate_rows = con.execute("select purpose, consent_rate from marts.consent_rates order by 1").fetchall()
        rates = {purpose: round(rate, 4) for purpose, rate in rate_rows}
        people_count = con.execute("select count(*) from marts.people").fetchone()[0]
        segment = con.execute("select count(*) from marts.segment_high_intent").fetchone()[0]
        # high intent and contactable, but no consent to any destination's purpose: what consent kept out
        held_out = con.execute(
            "select count(*) from marts.lead_scores s join marts.people p using (person_id)"
            " where s.grade = 'high_intent' and p.email is not null and not p.is_customer"
            " and not p.is_unsubscribed and not p.is_bounced and not (p.consent_crm_sync or p.consent_chat_alert)"
        ).fetchone()[0]
    finally:
        con.close()
    records = audit.read(settings.lake_dir)
    consented, denied = int(web[0] or 0), int(web[1] or 0)
    return {
        "people": people,
        "people_resolved": int(people_count),
        "consent_violations": checked["violations"],
        "records_checked": checked["checked"],
        "unresolved_keys": checked["unresolved"],
        "segment_high_intent": int(segment),
        "high_intent_without_consent": int(held_out),
        "sent": {name: c["sent_ok"] for name, c in report.items()},
        "withheld_no_consent": {name: c.get("withheld_no_consent", 0) for name, c in report.items()},
        "consent_rate_by_purpose": rates,
        "cookieless_pings_written": pings,
        "cookieless_pings": denied,
        "cookieless_in_person_tables": int(in_person_tables),
        "web_consent_rate": round(consented / (consented + denied), 4) if consented + denied else None,
        "audit_pushes": sum(1 for r in records if r["event"] == "push"),
        "audit_publishes": sum(1 for r in records if r["event"] == "publish"),
        "dbt_seconds": round(dbt_seconds, 1),
        "seconds": round(time.monotonic() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=400, help="sample size (default 400)")
    parser.add_argument("--cookieless-share", type=float, default=0.15,
                        help="share of page views sent again as cookieless pings (default 0.15)")  # fmt: skip
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    args = parser.parse_args(argv)
    base = args.keep or Path(tempfile.mkdtemp(prefix="bench-consent-"))
    base.mkdir(parents=True, exist_ok=True)
    try:
        figures = run(args.people, args.cookieless_share, base)
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(figures, sort_keys=True))
    return 1 if figures["consent_violations"] or figures["cookieless_in_person_tables"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
