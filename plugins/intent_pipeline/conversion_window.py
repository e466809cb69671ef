"""Propose the conversion window from the deployment's own history (issue 13, convwin).

    python -m intent_pipeline.scoring_calibration window [--warehouse data/warehouse.duckdb]
        [--share 0.8] [--as-of 2026-11-22] [--min-at-risk 30] [--out data/reports/conversion_window]

The label of the closed loop, the conversion model and the learned points is "converted within
``conversion_window_days`` of the lead's point" (docs/scoring.md, "What converts"; default 30 days).
A business whose sales cycle is longer cuts most of its conversions off with it. This command reads,
read-only, every lead's point (``marts.lead_conversion_examples.scored_at``, the leads that had not
converted before it) and its first conversion at or after it (``intermediate.int_lead_conversion_events``,
whatever ``conversion_event`` says; the window does not change it), and estimates the distribution of
the delay from the point to the conversion with the leads that may still convert **right-censored**
at the end of the history (``--as-of``, default the latest point or conversion in the warehouse):
a Kaplan-Meier estimate of the share converted by each delay. Never the naive share of the observed
conversions: a recent lead has had no time to convert late, so the observed delays are short by
construction.

Eventual conversions are estimated as the Kaplan-Meier share converted at the *horizon*: the longest
delay at which at least ``--min-at-risk`` leads were still followed and had not converted. The
proposal is the smallest whole number of days whose estimated share converted reaches ``--share``
(default 0.8) of that. Support and warnings beside it:

* ``too_short_history``: the estimate still rose by more than ``TAIL_GAIN`` (5 %) of the eventual
  share over the last quarter of the horizon: conversions go on past what the history can follow,
  so the eventual share, and the window, are underestimated;
* ``few_conversions``: fewer than ``MIN_CONVERSIONS`` (30) conversions observed;
* ``window_at_horizon``: the proposal is the horizon itself (the history cannot show a longer one).

It writes into ``--out``: ``window.json`` (the proposal, its support and the warnings; also the last
output line), ``delays.csv`` (the estimate at every delay with a conversion) and ``dbt_project.diff``:
a unified diff of ``dbt_project/dbt_project.yml`` that sets the var ``conversion_window_days`` (empty
when the proposal is the window in use). Nothing is applied: review the diff, then apply it (a var in
``dbt_project.yml`` wins over ``INTENT_CONVERSION_WINDOW_DAYS``), or pass the var with ``--vars`` or
the environment variable.
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

DEFAULT_SHARE = 0.8
MIN_AT_RISK = 30  # the horizon: the longest delay with at least this many leads still followed
MIN_CONVERSIONS = 30
TAIL_GAIN = 0.05  # the estimate's rise over the horizon's last quarter, as a share of the eventual share
TAIL_QUARTER = 0.75
DAY_SECONDS = 86400.0
VAR = "conversion_window_days"

# every lead's point and its first conversion at or after it (the leads that converted before their
# point are no example, as in the label: conversion_labels)
DELAYS_SQL = """
    with points as (
        select example_id, lead_id, scored_at from marts.lead_conversion_examples
        where not converted_before_scoring
    ),
    firsts as (
        select points.example_id, min(events.converted_at) as converted_at
        from points
        inner join intermediate.int_lead_conversion_events as events
            on events.lead_id = points.lead_id and events.converted_at >= points.scored_at
        group by 1
    )
    select points.example_id, points.scored_at, firsts.converted_at
    from points left join firsts using (example_id)
"""
DEFINITION_SQL = "select any_value(conversion_definition) from marts.lead_conversion_examples"


def load(warehouse: Path) -> tuple[pd.DataFrame, str | None]:
    """Every lead's point and first conversion after it; the conversion definition it was labelled with."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        frame = con.execute(DELAYS_SQL).df()
        row = con.execute(DEFINITION_SQL).fetchone()
    return frame, row[0] if row else None


def window_in(definition: str | None) -> int | None:
    """The window of a conversion definition ("opportunity_won within 90 days": 90)."""
    found = re.search(r" within (\d+) days$", (definition or "").strip())
    return int(found[1]) if found else None


def delays(frame: pd.DataFrame, as_of: Any = None) -> tuple[np.ndarray, np.ndarray, pd.Timestamp]:
    """Days from each point to its conversion (``observed`` true) or, for a lead not converted by
    ``as_of``, to ``as_of`` (censored). Only leads whose point is before ``as_of`` count, and a
    conversion after it is unseen (censored), so the estimate uses nothing from later time.
    ``as_of`` None: the latest point or conversion of ``frame``."""
    scored = pd.to_datetime(frame["scored_at"])
    converted = pd.to_datetime(frame["converted_at"])
    if as_of is None:
        as_of = max(scored.max(), converted.max()) if converted.notna().any() else scored.max()
    as_of = pd.Timestamp(as_of)
    keep = scored < as_of
    scored, converted = scored[keep], converted[keep]
    observed = (converted.notna() & (converted <= as_of)).to_numpy()
    end = converted.where(observed, as_of)
    days = ((end - scored).dt.total_seconds() / DAY_SECONDS).to_numpy(dtype=float)
    return days, observed, as_of


def kaplan_meier(days: np.ndarray, observed: np.ndarray) -> pd.DataFrame:
    """The Kaplan-Meier estimate of the share converted by each delay with a conversion: columns
    ``days``, ``at_risk`` (leads followed that long, not converted before), ``conversions``,
    ``converted_share`` (1 - survival). A lead censored at a delay still counts at risk there."""
    days = np.asarray(days, dtype=float)
    observed = np.asarray(observed, dtype=bool)
    times, conversions = np.unique(days[observed], return_counts=True)
    ordered = np.sort(days)
    at_risk = len(ordered) - np.searchsorted(ordered, times, side="left")
    survival = np.cumprod(1.0 - conversions / at_risk)
    return pd.DataFrame(
        {"days": times, "at_risk": at_risk, "conversions": conversions, "converted_share": 1.0 - survival}
    )


def _share_at(curve: pd.DataFrame, day: float) -> float:
    upto = curve[curve["days"] <= day]
    return float(upto["converted_share"].iloc[-1]) if len(upto) else 0.0


def naive_window(days: np.ndarray, observed: np.ndarray, share: float = DEFAULT_SHARE) -> int | None:
    """The smallest window holding ``share`` of the *observed* conversions: what the history shows
    without censoring, biased short (reported beside the proposal, never proposed)."""
    seen = np.sort(np.asarray(days, dtype=float)[np.asarray(observed, dtype=bool)])
    if not len(seen):
        return None
    return max(1, math.ceil(seen[math.ceil(share * len(seen)) - 1]))


def propose_window(
    days: np.ndarray, observed: np.ndarray, share: float = DEFAULT_SHARE, min_at_risk: int = MIN_AT_RISK
) -> dict[str, Any]:
    """The smallest whole number of days whose Kaplan-Meier share converted reaches ``share`` of the
    share converted at the horizon (the longest delay with ``min_at_risk`` leads still at risk), with
    its support and warnings (module doc)."""
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share}")
    days = np.asarray(days, dtype=float)
    observed = np.asarray(observed, dtype=bool)
    if (days < 0).any():
        raise ValueError("a delay is negative: a conversion before its lead's point, or as_of before a point")
    curve = kaplan_meier(days, observed)
    ordered = np.sort(days)
    out: dict[str, Any] = {
        "share": share,
        "leads": int(len(days)),
        "conversions_observed": int(observed.sum()),
        "censored": int((~observed).sum()),
        "min_at_risk": min_at_risk,
        "naive_window_days": naive_window(days, observed, share),
        "warnings": [],
    }
    followed = ordered[len(ordered) - min_at_risk] if len(ordered) >= min_at_risk else None
    if followed is None or not len(curve):
        out.update(window_days=None, horizon_days=None)
        out["warnings"].append("few_conversions" if len(curve) else "no_conversions")
        return out
    horizon = float(followed)  # at least min_at_risk leads were followed this long
    eventual = _share_at(curve, horizon)
    if eventual <= 0:
        out.update(window_days=None, horizon_days=round(horizon, 1))
        out["warnings"].append("no_conversions")
        return out
    within = curve[(curve["days"] <= horizon) & (curve["converted_share"] >= share * eventual - 1e-12)]
    first = within.iloc[0]
    window = max(1, math.ceil(float(first["days"])))
    tail_gain = (eventual - _share_at(curve, TAIL_QUARTER * horizon)) / eventual
    out.update(
        window_days=window,
        horizon_days=round(horizon, 1),
        eventual_share=round(eventual, 4),
        share_within_window=round(_share_at(curve, window), 4),
        captured=round(_share_at(curve, window) / eventual, 4),
        at_risk_at_window=int((days >= window).sum()),
        conversions_within_window=int((observed & (days <= window)).sum()),
        tail_gain=round(tail_gain, 4),
    )
    if tail_gain > TAIL_GAIN:
        out["warnings"].append("too_short_history")
    if out["conversions_observed"] < MIN_CONVERSIONS:
        out["warnings"].append("few_conversions")
    if window >= math.floor(horizon):
        out["warnings"].append("window_at_horizon")
    return out


WARNING_TEXT = {
    "too_short_history": "the estimate still rose by {tail_gain:.0%} of the eventual share over the last quarter of "
    "the {horizon_days} days the history follows {min_at_risk}+ leads: conversions go on past it, so the eventual "
    "share and the window are underestimated; propose again with a longer history",
    "few_conversions": "only {conversions_observed} conversions observed: the estimate has little support",
    "no_conversions": "no conversion the estimate can use (or fewer than {min_at_risk} leads): no window proposed",
    "window_at_horizon": "the proposal is the longest delay the history can follow ({horizon_days} days)",
}


def var_diff(project_yml: Path, days: int, note: str) -> str:
    """A unified diff of ``project_yml`` that sets the var conversion_window_days to ``days``: its line
    replaced where the file has one, else added after ``conversion_stage`` in the vars (empty when the
    file already says ``days``)."""
    text = project_yml.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    existing = [i for i, line in enumerate(lines) if re.match(rf"\s+{VAR}:", line)]
    if existing:
        i = existing[0]
        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        new = lines[:i] + [f"{indent}{VAR}: {days} # {note}\n"] + lines[i + 1 :]
        if re.match(rf"\s+{VAR}:\s*{days}\b", lines[i]):
            return ""
    else:
        anchor = [i for i, line in enumerate(lines) if re.match(r"\s+conversion_stage:", line)]
        if not anchor:
            raise ValueError(f"{project_yml}: no vars line conversion_stage to put {VAR} after")
        i = anchor[0]
        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        new = lines[: i + 1] + [f"{indent}{VAR}: {days} # {note}\n"] + lines[i + 1 :]
    return "".join(difflib.unified_diff(lines, new, fromfile=str(project_yml), tofile=f"{project_yml} (proposed)"))


def main(argv: list[str] | None = None) -> int:
    from intent_pipeline.settings import DBT_PROJECT_DIR, Settings

    parser = argparse.ArgumentParser(prog="python -m intent_pipeline.scoring_calibration window", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--warehouse", type=Path, help="DuckDB file (default: INTENT_WAREHOUSE)")
    parser.add_argument("--share", type=float, default=DEFAULT_SHARE, help="of eventual conversions (0.8)")
    parser.add_argument("--as-of", help="the history's end (default: the latest point or conversion)")
    parser.add_argument("--min-at-risk", type=int, default=MIN_AT_RISK)
    parser.add_argument("--project", type=Path, default=DBT_PROJECT_DIR / "dbt_project.yml")
    parser.add_argument("--out", type=Path, help="output folder (default: <reports>/conversion_window)")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    warehouse = Path(args.warehouse or settings.warehouse)
    try:
        if not warehouse.exists():
            raise ValueError(f"no warehouse at {warehouse}: run the pipeline (dbt build) first")
        frame, definition = load(warehouse)
        days, observed, as_of = delays(frame, args.as_of)
        result = propose_window(days, observed, args.share, args.min_at_risk)
    except ValueError as exc:
        parser.error(str(exc))
    result.update(conversion_definition=definition, current_window_days=window_in(definition), as_of=str(as_of))
    out = args.out or settings.reports_dir / "conversion_window"
    out.mkdir(parents=True, exist_ok=True)
    kaplan_meier(days, observed).to_csv(out / "delays.csv", index=False)
    diff = ""
    if result["window_days"] is not None:
        note = (f"proposed by scoring_calibration window: {result['captured']:.0%} of eventual conversions "
                f"(history to {as_of.date()}, {result['conversions_observed']} conversions)")  # fmt: skip
        diff = var_diff(args.project, result["window_days"], note)
    (out / "dbt_project.diff").write_text(diff, encoding="utf-8")
    (out / "window.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for warning in result["warnings"]:
        print(f"warning: {warning}: {WARNING_TEXT[warning].format(**result)}", file=sys.stderr)
    print(
        f"proposed {VAR}: {result['window_days']} (in use: {result['current_window_days']}; naive share of the "
        f"observed conversions: {result['naive_window_days']})\nreview: {out / 'dbt_project.diff'}"
        + ("" if diff else " (empty: nothing to change)"),
        file=sys.stderr,
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
