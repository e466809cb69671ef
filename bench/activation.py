"""Benchmark: reverse ETL against local servers that follow HubSpot's and DingTalk's contracts.

    python bench/activation.py [--leads N] [--limit-per-10s N] [--hot N] [--keep DIR]

Real activation code (intent_pipeline.activation.activate) over real HTTP, on a segment of --leads
rows (default 40,000: 400 batch requests, at best 20 s at 190 per 10 s) in a DuckDB warehouse:

1. rate: every lead is new, sent to a HubSpot fake that answers 429 (Retry-After) past
   --limit-per-10s requests (default 190) in any rolling 10 s. rate_limit_use = the fastest time
   the limit allows for the answered requests (limit at once, then limit every 10 s) ÷ the time
   they took; share_429 = 429 answers ÷ requests.
2. rerun_requests: the same segment again, unchanged: requests made (goal 0).
3. dry_run_matches: 10 % of the scores change; a dry run, then the real run: planned, unchanged,
   invalid and dead_lettered equal, and would_send = sent_ok + rejected + deferred.
4. crash: a fresh portal; the process is killed (an exception inside the ledger write) after the
   third batch was answered but before it was recorded; the re-run completes. duplicates_after_crash
   = contacts the CRM created more than once; lost_after_crash = segment rows not acknowledged in
   the ledger or missing from the CRM afterwards.
5. chat: --hot newly hot leads (default 1,000) to a DingTalk fake that answers errcode 130101 past
   20 messages in any minute, twice: by default (more than 20 leads: one digest message;
   chat_requests, chat_acknowledged) and with one message per lead (chat_per_lead: paced at 20 a
   minute; the fake's clock is the run's injected clock, so 50 minutes of sending take seconds).
   chat_throttle_errors = the 130101 answers of both.

Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))
sys.path.insert(0, str(ROOT))

from intent_pipeline.activation import DingTalkConfig, HubSpotConfig, Safety, activate  # noqa: E402
from intent_pipeline.activation.ledger import Ledger  # noqa: E402
from intent_pipeline.settings import Settings  # noqa: E402

from tests.activation.conftest import make_rows, write_segment  # noqa: E402
from tests.fakes.dingtalk import FakeDingTalk  # noqa: E402
from tests.fakes.hubspot import FakeHubSpot  # noqa: E402

INTERVAL_START = date(2026, 11, 21)
INTERVAL_END = datetime(2026, 11, 22)
TOKEN = "pat-bench"


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run_hubspot(settings, server, run_id, limit, **safety):
    config = HubSpotConfig(base_url=server.url, token=TOKEN, requests_per_10s=limit)
    return activate(settings, INTERVAL_START, INTERVAL_END, run_id, hubspot=config, dingtalk=None,
                    safety=Safety(**safety))["hubspot"]  # fmt: skip


def rate_and_rerun(base: Path, leads: int, limit: int) -> dict:
    settings = Settings.from_env({"INTENT_HOME": str(base / "rate")})
    rows = make_rows(leads)
    write_segment(settings.warehouse, rows)
    with FakeHubSpot(token=TOKEN, rate_limit=(limit, 10.0)) as server:
        progress(f"rate: {leads} new leads, limit {limit} requests / 10 s")
        started = time.monotonic()
        first = run_hubspot(settings, server, "run-1", limit)
        seconds = time.monotonic() - started
        answered = [r for r in server.requests if r["status"] != 429]
        throttled = server.throttled
        server.clear_requests()
        progress("rerun on the unchanged segment")
        second = run_hubspot(settings, server, "run-2", limit)
        rerun_requests = len(server.requests)
        for row in rows[::10]:
            row["lead_score"] += 1
        write_segment(settings.warehouse, rows)
        progress("dry run, then the real run, after 10 % of the scores changed")
        dry = run_hubspot(settings, server, "dry-3", limit, dry_run=True)
        real = run_hubspot(settings, server, "run-3", limit)
    # Under a rolling window the fastest schedule sends `limit` at once, then `limit` every 10 s:
    # R requests need 10 * floor((R - 1) / limit) s at best. Below `limit` requests the limit
    # does not bind and there is nothing to measure.
    span = answered[-1]["received_at"] - answered[0]["received_at"] if len(answered) > 1 else 0.0
    best = 10.0 * ((len(answered) - 1) // limit)
    use = round(best / span, 3) if best and span else None
    same = all(dry[k] == real[k] for k in ("planned", "unchanged", "invalid", "dead_lettered"))
    matches = same and dry["would_send"] == real["sent_ok"] + real["rejected"] + real["deferred"]
    return {
        "first_run": {k: first[k] for k in ("planned", "sent_ok", "requests")},
        "send_seconds": round(seconds, 1),
        "requests_answered": len(answered),
        "rate_limit_use": use,
        "rate_limited_span_seconds": round(span, 1),
        "share_429": round(throttled / max(first["requests"], 1), 4),
        "rerun_requests": rerun_requests,
        "rerun_unchanged": second["unchanged"],
        "dry_run": {
            k: dry[k] for k in ("planned", "unchanged", "invalid", "would_send", "would_create", "would_update")
        },
        "real_run": {k: real[k] for k in ("planned", "unchanged", "invalid", "sent_ok", "rejected", "deferred")},
        "dry_run_matches": bool(matches),
    }


def crash(base: Path, leads: int) -> dict:
    settings = Settings.from_env({"INTENT_HOME": str(base / "crash")})
    rows = make_rows(leads)
    write_segment(settings.warehouse, rows)
    original = Ledger.record
    calls = {"n": 0}

    def dying(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise SystemExit("killed between sending and recording")
        return original(self, *args, **kwargs)

    with FakeHubSpot(token=TOKEN) as server:
        Ledger.record = dying
        try:
            run_hubspot(settings, server, "run-1", 10_000)
        except SystemExit:
            pass
        finally:
            Ledger.record = original
        in_crm_before = len(server.contacts)
        progress(f"crash: killed with {in_crm_before} contacts in the CRM, re-running")
        rerun = run_hubspot(settings, server, "run-1", 10_000)
        created = [
            r["id"]
            for req in server.requests
            if req["status"] in (200, 207)
            for r in req["response"]["results"]
            if r["new"]
        ]
        contacts = set(server.contacts)
    with Ledger(settings.ledger_path) as ledger:
        (destination,) = ledger.db.execute(
            "select distinct destination from activation_ledger where destination like 'hubspot@%'"
        ).fetchone()
        acknowledged = {key for key, entry in ledger.entries(destination).items() if entry.acknowledged}
    emails = {row["email"] for row in rows}
    return {
        "contacts_before_rerun": in_crm_before,
        "rerun_sent_ok": rerun["sent_ok"],
        "duplicates_after_crash": len(created) - len(set(created)),
        "lost_after_crash": len(emails - (acknowledged & contacts)),
    }


def chat(base: Path, hot: int) -> dict:
    """--hot newly hot leads to DingTalk twice: as configured by default (more than 20: one digest)
    and with one message per lead (digest_over above --hot), paced by the robot's 20 a minute."""
    figures = {}
    for mode, digest_over in (("digest", None), ("per_lead", hot + 1)):
        settings = Settings.from_env({"INTENT_HOME": str(base / f"chat-{mode}")})
        write_segment(settings.warehouse, make_rows(hot, hot_every=1))
        now = [0.0]

        def sleep(seconds: float, now: list[float] = now) -> None:
            now[0] += seconds

        with FakeDingTalk(max_per_minute=20, clock=lambda now=now: now[0]) as server:
            config = DingTalkConfig(webhook_url=server.webhook_url, access_token=server.access_token,
                                    secret=server.secret, digest_over=digest_over)  # fmt: skip
            progress(f"chat: {hot} newly hot leads to DingTalk ({mode})")
            report = activate(settings, INTERVAL_START, INTERVAL_END, f"chat-{mode}", hubspot=None, dingtalk=config,
                              sleep=sleep, clock=lambda now=now: now[0])["dingtalk"]  # fmt: skip
            figures[mode] = {
                "requests": report["requests"],
                "acknowledged": report["sent_ok"],
                "throttle_errors": server.throttled,
                "virtual_minutes": round(now[0] / 60, 1),
            }
    return {
        "chat_requests": figures["digest"]["requests"],
        "chat_acknowledged": figures["digest"]["acknowledged"],
        "chat_throttle_errors": figures["digest"]["throttle_errors"] + figures["per_lead"]["throttle_errors"],
        "chat_per_lead": figures["per_lead"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=40_000)
    parser.add_argument("--limit-per-10s", type=int, default=190)
    parser.add_argument("--hot", type=int, default=1_000)
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    started = time.perf_counter()
    base = args.keep or Path(tempfile.mkdtemp(prefix="bench-activation-"))
    try:
        result = {"benchmark": "activation", "leads": args.leads, "limit_per_10s": args.limit_per_10s}
        result.update(rate_and_rerun(base, args.leads, args.limit_per_10s))
        result.update(crash(base, min(args.leads, 1_000)))
        result.update(chat(base, args.hot))
        result["goals"] = {
            "rerun_requests_0": result["rerun_requests"] == 0,
            "rate_limit_use_ge_0.9": result["rate_limit_use"] is not None and result["rate_limit_use"] >= 0.9,
            "share_429_le_0.01": result["share_429"] <= 0.01,
            "chat_throttle_errors_0": result["chat_throttle_errors"] == 0,
            "no_duplicates_no_loss_after_crash": result["duplicates_after_crash"] == 0
            and result["lost_after_crash"] == 0,
            "dry_run_matches": result["dry_run_matches"],
        }
        result["total_seconds"] = round(time.perf_counter() - started, 1)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
