"""The run summary's warehouse figures, on a small hand-made warehouse."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
from intent_pipeline.lake import write_manifest
from intent_pipeline.report import _warehouse_figures, format_summary
from intent_pipeline.settings import SOURCES, Settings


def test_warehouse_figures(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute("create table marts.people as select * from range(5) t(person_id)")
    con.execute("create table marts.lead_scores (grade varchar)")
    con.execute("insert into marts.lead_scores values ('high_intent'), ('nurture'), ('nurture')")
    con.execute("create table marts.segment_high_intent (became_hot_in_interval boolean)")
    con.execute("insert into marts.segment_high_intent values (true), (false), (true)")
    con.execute("create table marts.segment_funnel_stalls (became_stalled_in_interval boolean)")
    con.execute("insert into marts.segment_funnel_stalls values (false)")
    con.close()

    assert _warehouse_figures(path) == {
        "people": 5,
        "leads_by_grade": {"high_intent": 1, "nurture": 2},
        "segment_high_intent": 3,
        "newly_hot": 2,
        "funnel_stalls": 1,
        "newly_stalled": 0,
    }
    assert _warehouse_figures(tmp_path / "missing.duckdb") == {
        "error": f"no warehouse at {tmp_path / 'missing.duckdb'}"
    }


def test_a_refused_conversion_model_is_not_shown_with_empty_metrics():
    """make run at 500 people: the model is refused (too few conversions); the summary says it was
    not trained and why, instead of "auc None, ece None"."""
    summary = {
        "interval_start": "2026-10-05",
        "sources": {},
        "quality": {"raw": True, "marts": True},
        "warehouse": {"error": "no warehouse"},
        "activation": {},
        "paths": {},
        "conversion_model": {
            "latest": {"version": "lcm-1", "status": "refused", "metrics": None,
                       "reason": "only 16 conversions among 139 leads; at least 20 are needed to train"},
            "scoring_with": None,
        },
    }  # fmt: skip
    lines = format_summary(summary).splitlines()
    assert "conversion model: latest lcm-1 refused (not trained); the next dbt build scores with none " \
           "(rule score only)" in lines  # fmt: skip
    assert "  only 16 conversions among 139 leads; at least 20 are needed to train" in lines
    approved = summary["conversion_model"] | {"latest": {"version": "lcm-2", "status": "approved",
                                                          "metrics": {"roc_auc": 0.7, "ece": 0.02}}}  # fmt: skip
    assert "(auc 0.7, ece 0.02)" in format_summary(summary | {"conversion_model": approved})


def test_a_day_without_any_landing_drop_is_reported_as_skipped_not_missing(tmp_path):
    """The manifests the extract tasks write for a day without files (0 rows read in every source):
    the summary command says the day was skipped and exits 0; a day with rows in one source and no
    saved summary is still an error."""
    plugins = str(Path(__file__).resolve().parents[1] / "plugins")
    env = {**os.environ, "INTENT_HOME": str(tmp_path), "PYTHONPATH": plugins}
    settings = Settings.from_env({"INTENT_HOME": str(tmp_path)})
    for day, rows in (("2026-10-06", 0), ("2026-10-07", 3)):
        for source in SOURCES:
            read = rows if source == "web" else 0
            manifest = {"source": source, "interval_start": day, "files": [], "file_errors": [],
                        "tables": {f"{source}_rows": {"read": read, "loaded": read, "quarantined": 0}}}  # fmt: skip
            write_manifest(settings.lake_dir, source, day, manifest)

    def summary(day: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "intent_pipeline", "summary", "--date", day], env=env,
                              capture_output=True, text=True)  # fmt: skip

    skipped = summary("2026-10-06")
    assert skipped.returncode == 0, skipped.stderr
    assert "interval starting 2026-10-06: SKIPPED, no landing data" in skipped.stdout
    assert "serving: nothing published yet" in skipped.stdout
    missing = summary("2026-10-07")
    assert missing.returncode == 1 and "no saved summary" in missing.stderr
