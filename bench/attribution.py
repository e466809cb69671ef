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
   removal effects 1/3 and 1; markov credits 1/2 and 3/2, markov_path 1/4 and 7/4) within 1e-15.
   markov_vs_reference_max_rel_error: the ``markov`` credits (conversions and value per channel) on
   a public multi-path dataset, ChannelAttribution's example data (10,000 distinct paths over 12
   channels, ``Data.csv`` of its PyPI sdist: ``pip download --no-deps ChannelAttribution==2.2.5``
   into --cache, default ~/.cache/intent-attribution, sha256 checked; GPL-3 data, so it is
   downloaded, never committed), against ``reference_markov``: the published method
   (absorbing chain, removal effects, totals in proportion to them) written again here in exact
   rational arithmetic, independently of intent_pipeline. --no-public skips it (offline):
   the key is then measured on the 10k random paths and ``markov_reference_dataset`` says which.
5. heuristics_match: first/last/last-non-direct/linear/position-based/time-decay credits on 2,000
   random paths equal a plain-Python computation written independently (``reference_credits``,
   exact fractions) within 1e-12.
6. ga4_session_cases / ga4_session_cases_passed: the hand-solved GA4 session attribution cases of
   tests/web/ga4_session_cases.yml (last non-direct click, lookback expiry, campaign in the URL
   only, click ids, the export's session last click, own domains and cross-domain sessions, first
   user) through the web extract and dbt on a scratch warehouse (intent_pipeline.ga4_session_cases).
7. funnel_edge_cases / funnel_edge_cases_passed: the funnel's edge-case table, the dbt unit tests
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
from intent_pipeline.ga4_session_cases import ga4_session_cases  # noqa: E402

GA4_CASES = ROOT / "tests" / "web" / "ga4_session_cases.yml"

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


# --- an independent solution of the Markov chain (the published method, exact fractions) ----------


def reference_markov(rows: list[A.PathRow]) -> tuple[dict[str, Fraction], dict[str, Fraction], dict[str, Fraction]]:
    """Removal effects and the standard allocation of an order-1 chain, in exact rationals.

    States: start, one per channel, conversion, null. P(conversion) from each transient state is
    the solution of (I − Q) x = r by Gauss-Jordan elimination over Fractions; removing channel c
    sends every transition into c to null. Conversions and value go to the channels in proportion
    to their removal effects. Returns (removal effects, credited conversions, credited value)."""
    transitions: dict[str, Counter] = {}
    channels: set[str] = set()
    total_conversions = Fraction(0)
    total_value = Fraction(0)
    for row in rows:
        journeys = Fraction(row.conversions) + Fraction(row.nulls)
        if not row.path or journeys == 0:
            continue
        total_conversions += Fraction(row.conversions)
        total_value += Fraction(row.value)
        steps = ["(start)", *row.path]
        for here, there in zip(steps, steps[1:], strict=False):
            transitions.setdefault(here, Counter())[there] += journeys
            channels.add(there)
        last = transitions.setdefault(steps[-1], Counter())
        last["(conversion)"] += Fraction(row.conversions)
        last["(null)"] += Fraction(row.nulls)

    def p_conversion(removed: str | None) -> Fraction:
        states = ["(start)", *sorted(c for c in channels if c != removed)]
        at = {state: i for i, state in enumerate(states)}
        n = len(states)
        # augmented matrix [I − Q | r]
        matrix = [[Fraction(int(i == j)) for j in range(n)] + [Fraction(0)] for i in range(n)]
        for state in states:
            out = transitions.get(state, Counter())
            total = sum(out.values())
            for target, count in out.items():
                if target == "(conversion)":
                    matrix[at[state]][n] += count / total
                elif target in at:  # the removed channel and null are absorbing at 0
                    matrix[at[state]][at[target]] -= count / total
        for col in range(n):
            pivot = next(r for r in range(col, n) if matrix[r][col] != 0)
            matrix[col], matrix[pivot] = matrix[pivot], matrix[col]
            head = matrix[col][col]
            matrix[col] = [v / head for v in matrix[col]]
            for r in range(n):
                if r != col and matrix[r][col] != 0:
                    factor = matrix[r][col]
                    matrix[r] = [a - factor * b for a, b in zip(matrix[r], matrix[col], strict=True)]
        return matrix[at["(start)"]][n]

    base = p_conversion(None)
    effects = {c: 1 - p_conversion(c) / base for c in sorted(channels)}
    weight = sum(max(e, Fraction(0)) for e in effects.values())
    conversions = {c: total_conversions * max(e, Fraction(0)) / weight for c, e in effects.items()}
    value = {c: total_value * max(e, Fraction(0)) / weight for c, e in effects.items()}
    return effects, conversions, value


def markov_vs_reference(rows: list[A.PathRow]) -> float:
    """The largest relative difference between ``markov`` (conversions and value per channel) and
    :func:`reference_markov` on ``rows``."""
    _, conversions, value = reference_markov(rows)
    ours = A.attribute(rows, models=("markov",))
    worst = 0.0
    for table, reference in ((ours.conversions["markov"], conversions), (ours.value["markov"], value)):
        if set(table) != set(reference):
            return math.inf
        for channel, expected in reference.items():
            if expected:
                worst = max(worst, abs(table[channel] - float(expected)) / float(expected))
            elif table[channel]:
                return math.inf
    return worst


PUBLIC_SDIST = "channelattribution-2.2.5.tar.gz"
PUBLIC_SDIST_SHA256 = "01c597dabdcd436e358a6c05a191151db2eaabf7c12a6875fb3a087dcf609448"
PUBLIC_MEMBER = "channelattribution-2.2.5/src/cypack/data/Data.csv"
DEFAULT_CACHE = Path.home() / ".cache" / "intent-attribution"


def public_paths(cache: Path = DEFAULT_CACHE) -> list[A.PathRow]:
    """ChannelAttribution's example path data (its PyPI sdist, downloaded once into ``cache`` with
    pip, sha256 checked): 10,000 distinct paths with conversions, value and nulls."""
    import hashlib
    import subprocess
    import tarfile

    sdist = cache / PUBLIC_SDIST
    if not sdist.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", "ChannelAttribution",
             "ChannelAttribution==2.2.5", "-d", str(cache)],
            check=True, capture_output=True,
        )  # fmt: skip
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    if digest != PUBLIC_SDIST_SHA256:
        raise RuntimeError(f"{sdist}: sha256 {digest}, expected {PUBLIC_SDIST_SHA256}")
    with tarfile.open(sdist) as archive:
        member = archive.extractfile(PUBLIC_MEMBER)
        if member is None:
            raise RuntimeError(f"{sdist} has no {PUBLIC_MEMBER}")
        return A.read_path_file(member.read().decode("utf-8"))


def hand_solved_chain_exact() -> bool:
    rows = [
        A.PathRow(("a", "b"), 1, 10, 0),
        A.PathRow(("a",), 0, 0, 1),
        A.PathRow(("b",), 1, 10, 1),
    ]
    chain = A.markov(rows)
    result = A.attribute(rows)
    standard, per_path = result.conversions["markov"], result.conversions["markov_path"]
    return (
        abs(chain.conversion_probability - 0.5) <= 1e-15
        and abs(chain.removal_effects["a"] - 1 / 3) <= 1e-15
        and abs(chain.removal_effects["b"] - 1.0) <= 1e-15
        and abs(standard["a"] - 0.5) <= 1e-15
        and abs(standard["b"] - 1.5) <= 1e-15
        and abs(per_path["a"] - 0.25) <= 1e-15
        and abs(per_path["b"] - 1.75) <= 1e-15
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
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where the public path data is kept")
    parser.add_argument("--no-public", action="store_true", help="no download: the reference check on random paths")
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
    if args.no_public:
        reference_rows, result["markov_reference_dataset"] = rows, f"random paths ({args.paths})"
    else:
        progress(f"public paths: ChannelAttribution's Data.csv (cache {args.cache})")
        reference_rows = public_paths(args.cache)
        result["markov_reference_dataset"] = f"ChannelAttribution 2.2.5 Data.csv ({len(reference_rows)} paths)"
        standard = A.attribute(reference_rows, models=("markov", "markov_path"))
        result["public_markov_conversions"] = {c: round(v, 3) for c, v in standard.conversions["markov"].items()}
        result["public_markov_path_conversions"] = {
            c: round(v, 3) for c, v in standard.conversions["markov_path"].items()
        }
    t = time.perf_counter()
    result["markov_vs_reference_max_rel_error"] = markov_vs_reference(reference_rows)
    result["markov_reference_seconds"] = round(time.perf_counter() - t, 1)
    matched, worst = heuristics_match(args.seed)
    result["heuristics_match"] = matched
    result["heuristics_max_abs_difference"] = worst
    progress("GA4 session cases: the web extract and dbt on a scratch warehouse (about 20 s)")
    t = time.perf_counter()
    cases, passed, failures = ga4_session_cases(GA4_CASES)
    result["ga4_session_cases"], result["ga4_session_cases_passed"] = cases, passed
    if failures:
        result["ga4_session_case_failures"] = failures
    result["ga4_session_cases_seconds"] = round(time.perf_counter() - t, 1)
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
