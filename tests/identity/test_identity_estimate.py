"""EM re-estimation of the matcher's m/u (intent_pipeline.identity_estimate) on synthetic level tables.

Pairs are drawn from a known two-class Fellegi-Sunter model (a share of matches, m and u per level,
some levels null); the estimate must recover them without the labels, and write them into a copy
of the seeds as a reviewable diff.
"""

from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest
from intent_pipeline import identity_estimate as ie

LEVELS = {"name": [0, 1, 2], "email": [0, 1, 2, 3], "phone": [0, 1, 2]}
TRUE_M = {"name": [0.05, 0.15, 0.8], "email": [0.02, 0.08, 0.2, 0.7], "phone": [0.05, 0.05, 0.9]}
TRUE_U = {"name": [0.85, 0.1, 0.05], "email": [0.9, 0.08, 0.015, 0.005], "phone": [0.97, 0.02, 0.01]}


def draw(rng, matches: int, non_matches: int, null_share: float = 0.2):
    """Level rows of ``matches`` true and ``non_matches`` false pairs; about null_share of values null (-1)."""
    rows = []
    for is_match, count in ((True, matches), (False, non_matches)):
        probabilities = TRUE_M if is_match else TRUE_U
        columns = [rng.choice(LEVELS[c], size=count, p=probabilities[c]) for c in LEVELS]
        block = np.stack(columns, axis=1)
        block[rng.random(block.shape) < null_share] = -1
        rows.append(block)
    return np.concatenate(rows)


def test_em_recovers_known_m_u_and_the_share_of_matches():
    rng = np.random.default_rng(7)
    blocked = draw(rng, matches=6000, non_matches=14000)
    u = ie.level_probabilities(draw(rng, 0, 40000), np.ones(40000), LEVELS, ie.U_FLOOR)
    m, u_blocked, share = ie.expectation_maximisation(blocked, u, LEVELS)
    assert share == pytest.approx(0.3, abs=0.02)
    for comparison in LEVELS:
        assert np.abs(m[comparison] - np.array(TRUE_M[comparison])).max() < 0.03, (comparison, m[comparison])
        assert np.abs(u_blocked[comparison] - np.array(TRUE_U[comparison])).max() < 0.03, comparison


def test_em_from_a_wrong_share_and_uninformative_u_still_finds_the_matches():
    """u from random pairs that hold a few matches too (as random pairs of a real table do)."""
    rng = np.random.default_rng(11)
    blocked = draw(rng, matches=2000, non_matches=8000)
    randoms = draw(rng, matches=20, non_matches=49980)
    result = ie.estimate_parameters(blocked, randoms, LEVELS, records=5000)
    assert result["estimated_matching_pairs"] == pytest.approx(2000, rel=0.08)
    assert result["matches_per_record"] == pytest.approx(2 * 2000 / 5000, rel=0.08)
    for comparison in LEVELS:
        assert sum(result["m"][comparison]) == pytest.approx(1, abs=1e-6)
        assert min(result["m"][comparison]) >= ie.M_FLOOR
        assert np.abs(np.array(result["m"][comparison]) - TRUE_M[comparison]).max() < 0.04, comparison
        assert np.abs(np.array(result["u"][comparison]) - TRUE_U[comparison]).max() < 0.01, comparison


def test_a_comparison_without_data_keeps_its_values(tmp_path):
    rng = np.random.default_rng(3)
    blocked, randoms = draw(rng, 1000, 4000), draw(rng, 5, 20000)
    blocked[:, 2], randoms[:, 2] = -1, -1  # no phone anywhere
    result = ie.estimate_parameters(blocked, randoms, LEVELS, records=2000)
    assert result["m"]["phone"] is None and result["u"]["phone"] is None
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    with (seeds / f"{ie.COMPARISONS_SEED}.csv").open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["comparison", "level", "label", "m_probability", "u_probability"])
        for comparison, levels in LEVELS.items():
            for level in sorted(levels, reverse=True):
                writer.writerow([comparison, level, f"level {level}, hand-written", 0.5, 0.5])
    (seeds / f"{ie.SETTINGS_SEED}.csv").write_text("setting,value,description\nmatches_per_record,9.9,the prior\n")
    before = (seeds / f"{ie.COMPARISONS_SEED}.csv").read_text()
    patch = ie.write_seeds(result, dry_run=True, seeds_dir=seeds)
    assert (seeds / f"{ie.COMPARISONS_SEED}.csv").read_text() == before  # a dry run writes nothing
    assert "-matches_per_record,9.9" in patch and "+phone," not in patch  # no phone data: unchanged
    ie.write_seeds(result, only_u=["email"], seeds_dir=seeds)
    rows = {
        (r["comparison"], int(r["level"])): r for r in csv.DictReader((seeds / f"{ie.COMPARISONS_SEED}.csv").open())
    }
    assert rows[("phone", 2)]["m_probability"] == "0.5"  # no data: left as it was
    assert rows[("name", 2)]["u_probability"] == "0.5"  # u only for email
    assert float(rows[("name", 2)]["m_probability"]) == pytest.approx(0.8, abs=0.05)  # m for every comparison
    assert float(rows[("email", 0)]["u_probability"]) == pytest.approx(0.9, abs=0.02)
    assert rows[("email", 3)]["label"] == "level 3, hand-written"  # labels kept
    assert ie.read_levels(seeds) == LEVELS
    shutil.rmtree(seeds)
