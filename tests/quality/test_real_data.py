"""The raw suites fit what the real extractors write from realistic landing drops (synth)."""

from __future__ import annotations

from datetime import datetime

from intent_pipeline.quality import enforce_gate, validate_raw
from intent_pipeline.sources import SOURCES, extract_source
from intent_pipeline.synth.generator import generate

from tests.quality.helpers import INTERVAL


def test_extracted_full_history_drop_passes_with_no_warnings(settings, tmp_path):
    # A first drop is a full-history export (180 days here), with planted bad rows that the extract quarantines.
    generate(settings.home / "data" / "landing", tmp_path / "truth", people=300, seed=7, interval_start=INTERVAL)
    for source in SOURCES:
        extract_source(source, settings, INTERVAL, batch_id=f"test/{source}", loaded_at=datetime(2026, 11, 22))

    report = validate_raw(settings, INTERVAL)
    failed = [(t, r["expectation"], r["column"], r["examples"]) for t, tr in report["tables"].items()
              for r in tr["results"] if not r["success"]]  # fmt: skip
    assert failed == []
    assert all(table["rows"] > 0 for table in report["tables"].values())
    enforce_gate(report)
