"""bench/attribution.py: its checks at a small size (the figures themselves are the bench's job)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from intent_pipeline import attribution as A

from tests.benches import load_bench

bench = load_bench("attribution")


def test_the_bench_checks_pass_and_can_fail():
    assert bench.hand_solved_chain_exact()
    assert bench.heuristics_match(seed=7, count=200)[0]
    rows = bench.distinct_paths(300, seed=7)
    assert len({r.path for r in rows}) == 300
    assert A.to_csv(A.attribute(rows)) == A.to_csv(A.attribute(list(reversed(rows))))
    # the reference gives the 40/20/40 split itself, and the library agrees with it
    assert bench.reference_credits(["a", "b", "c"], "position_based") == {
        "a": Fraction(2, 5),
        "b": Fraction(1, 5),
        "c": Fraction(2, 5),
    }
    assert A.path_credits(["a", "b", "c"], "position_based") == pytest.approx({"a": 0.4, "b": 0.2, "c": 0.4})


def test_the_simulation_baseline_approximates_the_exact_chain():
    rows = bench.distinct_paths(200, seed=3)
    exact = A.markov(rows).removal_effects
    simulated = bench.simulate(rows, 100_000, seed=1)
    assert set(simulated) == set(exact)
    for channel, effect in exact.items():
        assert abs(simulated[channel] - effect) < 0.05, channel
