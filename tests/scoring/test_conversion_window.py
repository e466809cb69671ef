"""The conversion window from the history (issue 13, convwin): a Kaplan-Meier estimate of the delay
from a lead's point to its conversion with the leads that may still convert right-censored, the
smallest window holding a share of the eventual conversions, a warning when the history is too short
to see the tail, and a reviewable diff of the dbt var."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
from intent_pipeline import conversion_window as cw
from intent_pipeline import scoring_calibration as sc
from intent_pipeline.settings import DBT_PROJECT_DIR

START = pd.Timestamp("2026-01-01")


def two_cohorts() -> tuple[np.ndarray, np.ndarray]:
    """100 old leads followed 200 days: 20 convert on day 10, 20 on day 60. 400 recent leads followed
    30 days: 80 convert on day 10, the rest are still open. Both cohorts convert alike (20 % by day 10,
    40 % in all), but the recent ones had no time to convert late."""
    days = np.r_[np.full(20, 10.0), np.full(20, 60.0), np.full(60, 200.0), np.full(80, 10.0), np.full(320, 30.0)]
    observed = np.r_[np.ones(40, bool), np.zeros(60, bool), np.ones(80, bool), np.zeros(320, bool)]
    return days, observed


def test_censored_leads_move_the_window_where_the_naive_share_is_wrong():
    days, observed = two_cohorts()
    proposal = cw.propose_window(days, observed, share=0.8)
    # naive: 100 of the 120 observed conversions came by day 10 (83 %), so 10 days "hold 80 %"
    assert proposal["naive_window_days"] == 10
    # Kaplan-Meier: 20 % by day 10, 40 % eventually (day 60: 20 of the 80 still at risk): day 10 holds half
    assert proposal["eventual_share"] == 0.4 and proposal["share_within_window"] == 0.4
    assert proposal["window_days"] == 60 and proposal["captured"] == 1.0
    assert proposal["horizon_days"] == 200 and proposal["warnings"] == []
    assert (proposal["leads"], proposal["conversions_observed"], proposal["censored"]) == (500, 120, 380)
    curve = cw.kaplan_meier(days, observed)
    assert curve["at_risk"].tolist() == [500, 80] and curve["conversions"].tolist() == [100, 20]
    # half the eventual conversions: day 10 is enough
    assert cw.propose_window(days, observed, share=0.5)["window_days"] == 10


def test_a_history_too_short_to_see_the_tail_warns():
    rng = np.random.default_rng(3)
    # 300 leads followed 40 days each, conversions still arriving evenly up to the end
    converted = rng.uniform(0.5, 40, 90)
    days = np.r_[converted, np.full(210, 40.0)]
    observed = np.r_[np.ones(90, bool), np.zeros(210, bool)]
    proposal = cw.propose_window(days, observed)
    assert "too_short_history" in proposal["warnings"] and proposal["tail_gain"] > cw.TAIL_GAIN
    assert proposal["horizon_days"] == 40
    # the same leads followed long enough for the conversions to stop: no warning
    longer = np.r_[converted, np.full(210, 200.0)]
    assert "too_short_history" not in cw.propose_window(longer, observed)["warnings"]


def test_the_history_after_as_of_is_not_seen():
    frame = pd.DataFrame(
        {
            "example_id": ["lead:a", "lead:b", "lead:c"],
            "scored_at": [START, START + pd.Timedelta(days=50), START + pd.Timedelta(days=120)],
            "converted_at": [START + pd.Timedelta(days=90), START + pd.Timedelta(days=60), pd.NaT],
        }
    )
    days, observed, as_of = cw.delays(frame, START + pd.Timedelta(days=80))
    # a converts after as_of: censored at 80 days; b converted 10 days after its point; c is after as_of
    assert days.tolist() == [80.0, 10.0] and observed.tolist() == [False, True]
    assert as_of == START + pd.Timedelta(days=80)


def cohort_tables(warehouse, definition: str = "opportunity_created within 30 days") -> pd.Timestamp:
    """two_cohorts as the warehouse holds them, plus one lead that converted before its point."""
    rows, events = [], []
    as_of = START + pd.Timedelta(days=200)
    days, observed = two_cohorts()
    for i, (d, seen) in enumerate(zip(days, observed, strict=True)):
        scored = START if i < 100 else as_of - pd.Timedelta(days=30)
        rows.append((f"lead:{i}", str(i), scored, False, definition))
        if seen:
            events.append((str(i), scored + pd.Timedelta(days=float(d))))
    rows.append(("lead:early", "early", START, True, definition))
    events.append(("early", START - pd.Timedelta(days=1)))
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts; create schema intermediate")
        columns = ["example_id", "lead_id", "scored_at", "converted_before_scoring", "conversion_definition"]
        con.register("examples", pd.DataFrame(rows, columns=columns))
        con.execute("create table marts.lead_conversion_examples as select * from examples")
        con.register("events", pd.DataFrame(events, columns=["lead_id", "converted_at"]))
        con.execute("create table intermediate.int_lead_conversion_events as select * from events")
    return as_of


def test_the_command_writes_a_diff_of_the_var_and_changes_nothing(tmp_path, capsys, monkeypatch):
    warehouse = tmp_path / "warehouse.duckdb"
    as_of = cohort_tables(warehouse)
    project = tmp_path / "dbt_project.yml"
    project.write_text((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"), encoding="utf-8")
    before = project.read_text(encoding="utf-8")
    monkeypatch.setenv("INTENT_HOME", str(tmp_path))
    out = tmp_path / "out"
    argv = ["window", "--warehouse", str(warehouse), "--as-of", as_of.isoformat(), "--project", str(project)]
    assert sc.main([*argv, "--out", str(out)]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (report["window_days"], report["current_window_days"], report["leads"]) == (60, 30, 500)
    diff = (out / "dbt_project.diff").read_text(encoding="utf-8")
    added = [line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    removed = [line for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    assert len(added) == 1 and added[0].lstrip("+").strip().startswith("conversion_window_days: 60 #")
    assert removed == []
    assert project.read_text(encoding="utf-8") == before  # never applied
    assert json.loads((out / "window.json").read_text())["window_days"] == 60
    assert pd.read_csv(out / "delays.csv")["days"].tolist() == [10.0, 60.0]
    # the diff applied, the command finds the var already set: an empty diff
    project.write_text(_applied(before, added[0][1:]), encoding="utf-8")
    assert sc.main([*argv, "--out", str(tmp_path / "again")]) == 0
    assert (tmp_path / "again" / "dbt_project.diff").read_text(encoding="utf-8") == ""
    # a var already in the file is replaced, not added twice
    applied = _applied(before, added[0][1:])
    project.write_text(applied.replace("conversion_window_days: 60", "conversion_window_days: 30"), encoding="utf-8")
    replaced = cw.var_diff(project, 60, "note")
    assert "-  conversion_window_days: 30" in replaced and "+  conversion_window_days: 60 # note" in replaced


def _applied(text: str, line: str) -> str:
    """``text`` with ``line`` after its conversion_stage line (the diff applied by hand)."""
    out = []
    for row in text.splitlines(keepends=True):
        out.append(row)
        if row.lstrip().startswith("conversion_stage:"):
            out.append(line + "\n")
    return "".join(out)


def test_the_bench_proposes_from_the_training_period_only(tmp_path):
    """bench/scoring.py's training_window: the leads before the first test lead (the newest 20 % of the
    labelled leads), a conversion after that moment unseen; nothing of the test period is read."""
    from tests.benches import load_bench

    bench = load_bench("scoring")
    home = tmp_path / "home"
    warehouse = bench.settings_for(home).warehouse
    warehouse.parent.mkdir(parents=True)
    points = [START + pd.Timedelta(days=d) for d in range(100)]  # one lead a day, every label complete
    examples = pd.DataFrame(
        {
            "example_id": [f"lead:{d}" for d in range(100)],
            "lead_id": [str(d) for d in range(100)],
            "scored_at": points,
            "converted_before_scoring": False,
            "label_complete": True,
            "conversion_definition": "opportunity_created within 30 days",
        }
    )
    # lead 10 converts on day 15 (seen), lead 50 on day 120 (after the test's start: censored), lead 90
    # (a test lead) on day 92 (not read)
    late = START + pd.Timedelta(days=120)
    events = pd.DataFrame({"lead_id": ["10", "50", "90"], "converted_at": [points[15], late, points[92]]})
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts; create schema intermediate")
        con.register("examples", examples)
        con.execute("create table marts.lead_conversion_examples as select * from examples")
        con.register("events", events)
        con.execute("create table intermediate.int_lead_conversion_events as select * from events")
    proposal = bench.training_window(home)
    assert pd.Timestamp(proposal["as_of"]) == points[80]  # the first of the newest 20 leads
    assert (proposal["leads"], proposal["conversions_observed"], proposal["current_window_days"]) == (80, 1, 30)
    assert proposal["window_days"] == 5 and "few_conversions" in proposal["warnings"]
