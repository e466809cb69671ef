"""bench/consent.py's own parts: the cookieless pings it plants are what the extractor keeps as pings."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from intent_pipeline.sources.web.extract import _EventDates, parse_event

ROOT = Path(__file__).resolve().parents[2]


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_consent", ROOT / "bench" / "consent.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_planted_pings_are_cookieless_copies_of_page_views(tmp_path):
    bench = load_bench()
    drop = tmp_path / "web" / "dt=2026-11-21"
    drop.mkdir(parents=True)
    events = [
        {"event_timestamp": str(1795222800000000 + i), "event_name": "page_view" if i % 2 else "scroll",
         "user_pseudo_id": f"u{i}", "user_id": f"acct{i}", "event_date": "20261121"}
        for i in range(200)
    ]  # fmt: skip
    (drop / "ga4.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events) + "{broken\n", encoding="utf-8")
    written = bench.add_cookieless_pings(tmp_path, 0.5)
    pings = [json.loads(line) for line in (drop / "ga4_consent_mode_pings.jsonl").read_text().splitlines()]
    assert len(pings) == written and 30 < written < 70  # about half of the 100 page views
    for ping in pings:
        assert "user_pseudo_id" not in ping and "user_id" not in ping and ping["event_name"] == "page_view"
        row = parse_event(ping, _EventDates())  # kept by the extractor, not quarantined
        assert row["analytics_storage"] == "No" and row["user_pseudo_id"] is None
    assert callable(bench.consent_violations)
