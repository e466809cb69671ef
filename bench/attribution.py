"""Benchmark: exact multi-touch attribution — speed, determinism, exactness — and funnel edge cases.

    python bench/attribution.py [--paths N] [--people N] [--seed S] [--simulations N]

1. markov_seconds_10k_paths: every model (Markov solved exactly, Shapley exactly, the heuristics) on
   --paths (default 10,000) distinct random paths over the GA4 default channel groups; next to it
   the baseline ChannelAttribution uses, a Monte Carlo simulation of the same chain (--simulations
   walks per chain, default 200,000, for P(conversion) and each removal), timed in the same run:
   markov_exact_vs_simulation_speed = simulation seconds ÷ exact seconds, and
   simulation_credit_spread_pct = the largest spread (max − min, % of the mean) of a channel's
   simulated credit over 5 seeds, where the exact credits never move.
2. markov_seconds_1m_people: --people (default 1,000,000) random journeys aggregated to distinct
   paths and attributed; the seconds of both steps. dbt_model_seconds_1m_people: the same number
   of journeys as a table of one row per touch, through attribute_journey_table, the code of the
   dbt model attribution_touch_credits (grouping, fitting the chain and Shapley, every model's
   credit per touch of every converting journey).
3. bit_identical_runs: three runs on the 10k paths (the third on the rows in reverse order) give the
   same CSV, byte for byte.
4. hand_solved_chain_exact: the chain of tests/attribution solved by hand (P(conversion) 1/2,
   removal effects 1/3 and 1, credits 1/4 and 7/4) within 1e-15.
5. heuristics_match: first/last/last-non-direct/linear/position-based/time-decay credits on 2,000
   random paths equal a plain-Python computation written independently (``reference_credits``,
   exact fractions) within 1e-12.
6. funnel_edge_cases / funnel_edge_cases_passed: the funnel's edge-case table, the dbt unit tests
   tagged funnel_edge_case on int_funnel_steps_reached (intent_pipeline.funnel_cases: run on a
   scratch warehouse, or counted in a run_results.json with --funnel-results).

Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections import Counter
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

from intent_pipeline import attribution as A  # noqa: E402
from intent_pipeline.funnel_cases import funnel_edge_cases  # noqa: E402

CHANNELS = [
    "Direct", "Organic Search", "Paid Search", "Organic Social", "Paid Social", "Email", "Referral",
    "Display", "Organic Video", "Affiliates", "SMS", "Cross-network",
]  # fmt: skip
HEURISTICS = ("first_touch", "last_touch", "last_non_direct", "linear", "position_based", "time_decay")


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def random_path(rng: random.Random) -> tuple[str, ...]:
    length = min(12, 1 + int(rng.expovariate(0.45)))
    weights = [6, 5, 4, 3, 3, 4, 2, 1, 1, 1, 0.5, 0.5]
    return tuple(rng.choices(CHANNELS, weights=weights, k=length))


def distinct_paths(count: int, seed: int) -> list[A.PathRow]:
    """``count`` distinct paths with conversions, value and nulls; converting more with Email and Paid Search."""
    rng = random.Random(seed)
    seen: dict[tuple[str, ...], None] = {}
    while len(seen) < count:
        seen.setdefault(random_path(rng), None)
    rows = []
    for path in seen:
        lift = 0.05 + 0.1 * ("Email" in path) + 0.08 * ("Paid Search" in path) + 0.02 * len(set(path))
        journeys = 1 + int(rng.expovariate(0.05))
        conversions = sum(rng.random() < lift for _ in range(journeys))
        rows.append(
            A.PathRow(path, conversions, round(conversions * rng.uniform(500, 5000), 2), journeys - conversions)
        )
    return rows


# --- the baseline: ChannelAttribution's way, simulating the chain --------------------------------


def simulate(rows: list[A.PathRow], walks: int, seed: int) -> dict[str, float]:
    """Removal effects estimated by Monte Carlo walks on the order-1 chain (the simulation baseline)."""
    import numpy as np

    channels = sorted({c for r in rows for c in r.path})
    states = [A.START, *channels, A.CONVERSION, A.NULL]
    index = {s: i for i, s in enumerate(states)}
    counts = np.zeros((len(states), len(states)))
    for row in rows:
        weight = row.conversions + row.nulls
        previous = index[A.START]
        for channel in row.path:
            counts[previous, index[channel]] += weight
            previous = index[channel]
        counts[previous, index[A.CONVERSION]] += row.conversions
        counts[previous, index[A.NULL]] += row.nulls
    counts[index[A.CONVERSION], index[A.CONVERSION]] = 1
    counts[index[A.NULL], index[A.NULL]] = 1
    totals = counts.sum(axis=1, keepdims=True)
    cumulative = np.cumsum(counts / np.where(totals == 0, 1, totals), axis=1)
    rng = np.random.default_rng(seed)
    absorbing = {index[A.CONVERSION], index[A.NULL]}

    def conversion_rate(removed: int | None) -> float:
        position = np.full(walks, index[A.START])
        for _ in range(200):
            moving = ~np.isin(position, list(absorbing))
            if not moving.any():
                break
            draws = rng.random(moving.sum())
            nxt = (cumulative[position[moving]] < draws[:, None]).sum(axis=1)
            nxt = np.minimum(nxt, len(states) - 1)
            if removed is not None:
                nxt = np.where(nxt == removed, index[A.NULL], nxt)
            position[moving] = nxt
        return float((position == index[A.CONVERSION]).mean())

    base = conversion_rate(None)
    return {c: 1 - conversion_rate(index[c]) / base for c in channels}


# --- an independent computation of the heuristics ------------------------------------------------


def reference_credits(path: list[str], model: str, half_life: float = 7.0) -> dict[str, Fraction | float]:
    """The heuristic models written out plainly (exact fractions), independently of intent_pipeline."""
    n = len(path)
    out: dict[str, Fraction | float] = {}

    def add(channel, amount):
        out[channel] = out.get(channel, 0) + amount

    if model == "first_touch":
        add(path[0], Fraction(1))
    elif model == "last_touch":
        add(path[-1], Fraction(1))
    elif model == "last_non_direct":
        candidates = [c for c in path if c != "Direct"]
        add(candidates[-1] if candidates else path[-1], Fraction(1))
    elif model == "linear":
        for c in path:
            add(c, Fraction(1, n))
    elif model == "position_based":
        if n == 1:
            add(path[0], Fraction(1))
        elif n == 2:
            add(path[0], Fraction(1, 2))
            add(path[1], Fraction(1, 2))
        else:
            add(path[0], Fraction(2, 5))
            add(path[-1], Fraction(2, 5))
            for c in path[1:-1]:
                add(c, Fraction(1, 5) / (n - 2))
    elif model == "time_decay":
        raw = [0.5 ** ((n - 1 - i) / half_life) for i in range(n)]
        for c, w in zip(path, raw, strict=True):
            add(c, w / sum(raw))
    else:
        raise ValueError(model)
    return out


def heuristics_match(seed: int, count: int = 2_000) -> tuple[bool, float]:
    rng = random.Random(seed + 1)
    worst = 0.0
    for _ in range(count):
        path = list(random_path(rng))
        for model in HEURISTICS:
            ours = A.path_credits(path, model, half_life=3.0)
            theirs = reference_credits(path, model, half_life=3.0)
            if set(ours) != set(theirs):
                return False, math.inf
            worst = max(worst, *(abs(ours[c] - float(v)) for c, v in theirs.items()))
    return worst <= 1e-12, worst


def hand_solved_chain_exact() -> bool:
    rows = [
        A.PathRow(("a", "b"), 1, 10, 0),
        A.PathRow(("a",), 0, 0, 1),
        A.PathRow(("b",), 1, 10, 1),
    ]
    chain = A.markov(rows)
    credits = A.attribute(rows).conversions["markov"]
    return (
        abs(chain.conversion_probability - 0.5) <= 1e-15
        and abs(chain.removal_effects["a"] - 1 / 3) <= 1e-15
        and abs(chain.removal_effects["b"] - 1.0) <= 1e-15
        and abs(credits["a"] - 0.25) <= 1e-15
        and abs(credits["b"] - 1.75) <= 1e-15
    )


def people_journeys(people: int, seed: int) -> tuple[list[A.PathRow], float]:
    """``people`` random journeys aggregated to distinct paths; returns the rows and the seconds taken."""
    rng = random.Random(seed + 2)
    started = time.perf_counter()
    conversions: Counter = Counter()
    nulls: Counter = Counter()
    values: Counter = Counter()
    for _ in range(people):
        path = random_path(rng)
        if rng.random() < 0.04 + 0.05 * ("Email" in path):
            conversions[path] += 1
            values[path] += 1000
        else:
            nulls[path] += 1
    rows = [A.PathRow(p, conversions[p], values[p], nulls[p]) for p in sorted(set(conversions) | set(nulls))]
    return rows, time.perf_counter() - started


def journey_table(people: int, seed: int):
    """``people`` random journeys as the dbt model reads them: one row per touch (int_attribution_journeys)."""
    import pandas as pd

    rng = random.Random(seed + 3)
    columns: dict[str, list] = {c: [] for c in A.JOURNEY_COLUMNS}
    for person in range(people):
        path = random_path(rng)
        converted = rng.random() < 0.04 + 0.05 * ("Email" in path)
        journey = f"conv:{person}" if converted else f"null:{person}"
        for number, channel in enumerate(path, start=1):
            columns["journey_id"].append(journey)
            columns["is_conversion"].append(converted)
            columns["conversion_value"].append(1000.0 if converted else None)
            columns["touch_number"].append(number)
            columns["touch_id"].append(f"{journey}:{number}")
            columns["channel"].append(channel)
            columns["age_days"].append(float(len(path) - number))
    return pd.DataFrame(columns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--simulations", type=int, default=200_000)
    parser.add_argument(
        "--funnel-results", help="count the funnel cases in this dbt run_results.json instead of running them"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    result: dict = {"benchmark": "attribution", "paths": args.paths, "people": args.people, "seed": args.seed}

    progress(f"{args.paths} distinct paths")
    rows = distinct_paths(args.paths, args.seed)
    t = time.perf_counter()
    first = A.attribute(rows)
    result["markov_seconds_10k_paths"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    chain_only = A.markov(rows)
    result["markov_chain_only_seconds_10k_paths"] = round(time.perf_counter() - t, 3)
    result["channels"] = len(first.channels)
    csv_first = A.to_csv(first)
    runs = [csv_first, A.to_csv(A.attribute(rows)), A.to_csv(A.attribute(list(reversed(rows))))]
    result["bit_identical_runs"] = len(set(runs)) == 1

    progress(f"simulation baseline: {args.simulations} walks per chain, 5 seeds")
    t = time.perf_counter()
    simulated = [simulate(rows, args.simulations, seed) for seed in range(5)]
    simulation_seconds = (time.perf_counter() - t) / 5
    result["simulation_seconds_10k_paths"] = round(simulation_seconds, 3)
    result["markov_exact_vs_simulation_speed"] = round(
        simulation_seconds / result["markov_chain_only_seconds_10k_paths"], 1
    )
    spreads = {}
    for channel in first.channels:
        shares = []
        for effects in simulated:
            total = sum(max(v, 0) for v in effects.values())
            shares.append(max(effects[channel], 0) / total)
        mean = sum(shares) / len(shares)
        spreads[channel] = 100 * (max(shares) - min(shares)) / mean if mean else 0.0
    result["simulation_credit_spread_pct"] = round(max(spreads.values()), 2)
    exact_total = sum(max(v, 0) for v in chain_only.removal_effects.values())
    result["exact_vs_simulated_share_max_abs_diff"] = round(
        max(
            abs(
                chain_only.removal_effects[c] / exact_total
                - sum(s[c] for s in simulated) / sum(sum(max(v, 0) for v in s.values()) for s in simulated)
            )
            for c in first.channels
        ),
        4,
    )

    progress(f"{args.people} journeys")
    people_rows, aggregate_seconds = people_journeys(args.people, args.seed)
    t = time.perf_counter()
    A.attribute(people_rows)
    result["journey_distinct_paths_1m_people"] = len(people_rows)
    result["aggregate_seconds_1m_people"] = round(aggregate_seconds, 3)
    result["markov_seconds_1m_people"] = round(time.perf_counter() - t, 3)

    progress(f"{args.people} journeys as the dbt model reads them (one row per touch)")
    table = journey_table(args.people, args.seed)
    t = time.perf_counter()
    credits = A.attribute_journey_table(table)
    result["journey_table_rows_1m_people"] = len(table)
    result["dbt_model_seconds_1m_people"] = round(time.perf_counter() - t, 3)
    result["dbt_model_credit_rows_1m_people"] = len(credits)
    del table, credits

    result["hand_solved_chain_exact"] = hand_solved_chain_exact()
    matched, worst = heuristics_match(args.seed)
    result["heuristics_match"] = matched
    result["heuristics_max_abs_difference"] = worst
    if args.funnel_results:
        progress(f"funnel edge cases: counting {args.funnel_results}")
    else:
        progress("funnel edge cases: dbt on a scratch warehouse (about 25 s)")
    t = time.perf_counter()
    result["funnel_edge_cases"], result["funnel_edge_cases_passed"] = funnel_edge_cases(args.funnel_results)
    result["funnel_edge_cases_seconds"] = round(time.perf_counter() - t, 1)
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
