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


def test_the_markov_reference_check_passes_and_can_fail():
    rows = bench.distinct_paths(150, seed=11)
    assert bench.markov_vs_reference(rows) <= 1e-12
    # the per-path split is not the standard allocation: measured against the reference it is far off
    _, reference, _ = bench.reference_markov(rows)
    per_path = A.attribute(rows, models=("markov_path",)).conversions["markov_path"]
    worst = max(abs(per_path[c] - float(v)) / float(v) for c, v in reference.items() if v)
    assert worst > 0.005


def test_public_paths_are_read_from_the_cached_sdist(tmp_path, monkeypatch):
    import hashlib
    import io
    import tarfile

    # a stand-in sdist with the member where ChannelAttribution keeps Data.csv: the reader and the
    # sha256 check, without the network (the real file is checked by the bench)
    data = b"path;total_conversions;total_conversion_value;total_null\nalpha > beta;2;3.5;4\n"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo(bench.PUBLIC_MEMBER)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    (tmp_path / bench.PUBLIC_SDIST).write_bytes(buffer.getvalue())
    with pytest.raises(RuntimeError, match="sha256"):
        bench.public_paths(tmp_path)
    monkeypatch.setattr(bench, "PUBLIC_SDIST_SHA256", hashlib.sha256(buffer.getvalue()).hexdigest())
    assert bench.public_paths(tmp_path) == [A.PathRow(("alpha", "beta"), 2, 3.5, 4)]
