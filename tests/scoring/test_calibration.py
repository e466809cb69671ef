"""The calibration command (issue 13, item 4): points proposed from outcomes, flagged rules never
given learned points, a reviewable seed diff and a backtest on held-out time."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest
from intent_pipeline import scoring_calibration as sc
from intent_pipeline import scoring_model as sm
from intent_pipeline.settings import DBT_PROJECT_DIR

SEED_COLUMNS = sc.read_seed(DBT_PROJECT_DIR / "seeds" / "scoring_rules.csv").columns


def seed(points: dict[str, int]) -> pd.DataFrame:
    rows = [
        {c: None for c in SEED_COLUMNS}
        | {
            "rule_id": r,
            "rule_set": "method",
            "is_enabled": True,
            "description": r,
            "signal": "event",
            "points": p,
            "max_points_per_day": p,
            "max_points": 2 * p,
            "min_count": 1,
            "decay": "none",
        }  # fmt: skip
        for r, p in points.items()
    ]
    return pd.DataFrame(rows, columns=SEED_COLUMNS)


def leads_over_time(rng: np.random.Generator, y: np.ndarray, current: np.ndarray) -> tuple[list[str], pd.DataFrame]:
    """One lead (its own person) per label, created over 300 days in id order, with its current score."""
    ids = [f"lead:{i:05d}" for i in range(len(y))]
    scored_at = pd.Timestamp("2026-01-01") + pd.to_timedelta(np.sort(rng.uniform(0, 300, len(y))), unit="D")
    frame = {"example_id": ids, "person_id": ids, "scored_at": scored_at, "label": y, "current_score": current}
    return ids, pd.DataFrame(frame)


def world(n: int = 5000, seed_: int = 0):
    """Examples where `signal` drives conversion, `noise` does not, `everybody` fires for 97 %,
    `rare` for 25 leads (the oldest); the current table gives points to noise and few to signal."""
    rng = np.random.default_rng(seed_)
    hits = {
        "signal": rng.binomial(1, 0.25, n),
        "noise": rng.binomial(1, 0.4, n),
        "everybody": (rng.random(n) < 0.97).astype(int),
        "rare": np.r_[np.ones(25, dtype=int), np.zeros(n - 25, dtype=int)],
    }
    y = rng.binomial(1, np.where(hits["signal"] > 0, 0.35, 0.06))
    current = 30 * hits["noise"] + 5 * hits["signal"] + 10 * hits["everybody"]
    ids, examples = leads_over_time(rng, y, current)
    features = pd.DataFrame(
        [(i, f"rule:{r}", 1.0) for r, h in hits.items() for i, hit in zip(ids, h, strict=True) if hit],
        columns=["example_id", "feature", "value"],
    )
    return examples, features, seed({"signal": 5, "noise": 30, "everybody": 10, "rare": 25})


def test_points_follow_the_outcomes_and_flagged_rules_get_none():
    examples, features, rules = world()
    result = sc.propose(examples, features, rules)
    table = result["rules"].set_index("rule_id")
    assert table.loc["everybody", "flag"] == "no_contrast" and not table.loc["everybody", "proposed_enabled"]
    assert table.loc["rare", "flag"] == "no_support" and not table.loc["rare", "learned"]
    assert table.loc["rare", "proposed_points"] == 25  # the current points stand, never learned ones
    assert table.loc["signal", "proposed_points"] > 30 and table.loc["signal", "lift_ci_low"] > 1
    # the adjusted table keeps the current score's scale, which here barely ranks: what counts is noise's
    # points against signal's
    assert abs(table.loc["noise", "proposed_points"] or 0) <= 0.1 * table.loc["signal", "proposed_points"]
    assert result["backtest"]["zero_contrast_points"] == 0
    proposed = result["seed"].set_index("rule_id")
    assert proposed.loc["signal", "max_points"] == 2 * proposed.loc["signal", "points"]  # caps scale
    back = result["backtest"]
    assert back["test_examples"] == 1000 and back["fit_examples"] == 4000
    assert back["proposed"]["roc_auc"] > back["current"]["roc_auc"] + 0.1
    assert back["proposed"]["grade_ratio"] > 3
    assert back["proposed"]["ece"] < 0.05


def test_grades_by_share_and_by_target_rate():
    rng = np.random.default_rng(1)
    score = rng.integers(0, 100, 10_000).astype(float)
    y = rng.binomial(1, score / 150)
    high, potential = sc.thresholds(score, y, ("share", 0.2, 0.5))
    assert (score >= high).mean() == pytest.approx(0.2, abs=0.02)
    assert (score >= potential).mean() == pytest.approx(0.5, abs=0.02)
    high, potential = sc.thresholds(score, y, ("rate", 0.5, 0.3))
    assert y[score >= high].mean() >= 0.5 and y[score >= potential].mean() >= 0.3
    assert y[score >= high - 5].mean() < 0.5  # the lowest such threshold, not any
    # many ties at 0: the cut nearest the share, not "everybody at 0 is potential"
    tied = np.r_[np.zeros(900), np.full(100, 50.0)]
    assert sc.thresholds(tied, np.zeros(1000), ("share", 0.1, 0.5)) == (50.0, 50.0)


@pytest.mark.parametrize("text", ["share:0.5,0.2", "rate:0.1,0.3", "top:1,2", "share:0.2"])
def test_bad_grade_options_are_refused(text):
    with pytest.raises(ValueError, match="grades"):
        sc.parse_grades(text)


def test_the_command_writes_a_reviewable_diff_and_the_backtest(tmp_path, capsys, monkeypatch):
    examples, features, _ = world(3000, 2)
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts; create schema intermediate")
        frame = examples.assign(
            converted=examples["label"].astype(bool),
            label_complete=True,
            lead_score_at_creation=examples["current_score"],
        )
        con.register("frame", frame)
        con.execute("create table marts.lead_conversion_examples as select * from frame")
        con.register("feats", features.rename(columns={"example_id": "score_point"}).assign(
            person_id=features["example_id"]))  # fmt: skip
        con.execute("create table intermediate.int_scoring_features as select * from feats")
    seed_file = tmp_path / "scoring_rules.csv"
    seed_file.write_text(sc.seed_csv(seed({"signal": 5, "noise": 30, "everybody": 10, "rare": 25})), encoding="utf-8")
    monkeypatch.setenv("INTENT_HOME", str(tmp_path))
    out = tmp_path / "out"
    assert (
        sc.main(
            ["--warehouse", str(warehouse), "--seed", str(seed_file), "--out", str(out), "--grades", "rate:0.3,0.1"]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["grades"] == "rate:0.3,0.1" and report["zero_contrast_points"] == 0
    assert report["proposed"]["roc_auc"] > report["current"]["roc_auc"]
    diff = (out / "scoring_rules.diff").read_text(encoding="utf-8")
    assert "-everybody,method,true," in diff and "+everybody,method,false," in diff
    assert not any(line.startswith(("-rare", "+rare")) for line in diff.splitlines())
    assert seed_file.read_text(encoding="utf-8").count("\n") == 5  # the seed itself is never changed
    assert set(pd.read_csv(out / "rules.csv")["rule_id"]) == {"signal", "noise", "everybody", "rare"}
    assert json.loads((out / "backtest.json").read_text())["proposed_vars"]["high_intent_threshold"] > 0


def test_a_table_that_already_ranks_well_is_kept_when_outcomes_are_few():
    examples, features, _ = world(1200, 3)
    hits = features.pivot_table(index="example_id", columns="feature", values="value").reindex(examples["example_id"])
    examples["current_score"] = 30 * hits["rule:signal"].fillna(0).to_numpy()  # the right rule, the right sign
    rules = seed({"signal": 30, "noise": 10, "everybody": 10, "rare": 25})
    rules.loc[rules["rule_id"] == "noise", "is_enabled"] = False  # computed, awards nothing
    result = sc.propose(examples, features, rules)
    back, table = result["backtest"], result["rules"].set_index("rule_id")
    assert back["method"] == "adjusted" and back["current_score_scale"] > 0
    assert abs(table.loc["signal", "proposed_points"] - 30) <= 5
    assert not table.loc["noise", "proposed_enabled"] or abs(table.loc["noise", "proposed_points"]) <= 3
    assert back["proposed"]["roc_auc"] == pytest.approx(back["current"]["roc_auc"], abs=0.02)


def test_the_penalty_is_judged_on_forward_blocks_of_the_fit_time():
    # the newest half of the fit examples in blocks, each judged by a fit on everything older only
    assert sc.forward_folds(100) == [(50, 62), (62, 75), (75, 87), (87, 100)]
    assert all(a < b for a, b in sc.forward_folds(7))


@pytest.mark.parametrize("world_seed", [2, 3, 4])
def test_a_table_that_ranks_badly_is_not_kept_for_want_of_held_out_evidence(world_seed):
    """1,500 leads at about 10 %: the current table gives 20 points to a rule without lift and 5 to the
    one that doubles the odds. Judged on the newest quarter alone (before issue 13's ninth pass) the
    standard error kept this table; pooled over forward blocks it is not kept: the penalty toward it is
    not the largest (judged by the paired difference of the held-out losses, twelfth pass) and the
    proposed points rank the rule with lift above the one without (adjusted or relearned)."""
    rng = np.random.default_rng(world_seed)
    signal, noise = rng.binomial(1, 0.25, 1500), rng.binomial(1, 0.4, 1500)
    y = rng.binomial(1, np.where(signal > 0, 0.15, 0.08))
    current = (20 * noise + 5 * signal).astype(float)
    _, change, penalty, relearn, _ = sc.adjust_points(current, np.column_stack([signal, noise]).astype(float), y)
    assert penalty < max(sc.PENALTIES)
    assert relearn or 5 + change[0] > 20 + change[1]


def test_the_simplest_candidate_is_judged_by_the_paired_difference():
    """The one-standard-error rule over a grid: a candidate better on every one of the same held-out
    examples wins however widely the examples' own losses spread (before the twelfth pass the spread of
    the losses, shared by all candidates, let the simplest one stand); a difference that is noise
    keeps the simplest."""
    rng = np.random.default_rng(0)
    shared = rng.exponential(0.4, 800)  # each example's loss, common to every candidate: a wide spread
    better = {0.3: shared, 1000.0: shared + 0.01 + rng.normal(0, 0.02, 800)}
    assert sm.simplest_not_beaten(better) == 0.3
    noise = {0.3: shared, 30.0: shared + rng.normal(0, 0.02, 800), 1000.0: shared + rng.normal(0, 0.02, 800)}
    assert sm.simplest_not_beaten(noise) == 1000.0


def exact(groups: list[tuple[int, int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """(hits, labels) from (hit count, examples, conversions) groups: rates exactly as given."""
    hits = np.concatenate([np.full(n, h) for h, n, _ in groups]).astype(float)
    y = np.concatenate([np.r_[np.ones(c, dtype=int), np.zeros(n - c, dtype=int)] for _, n, c in groups])
    return hits, y


def test_the_cap_is_the_hit_count_where_the_lift_stops_growing():
    # the second hit doubles the conversion rate, the third to fifth add nothing: the right cap is 2
    hits, y = exact([(0, 3000, 150), (1, 1000, 100), (2, 500, 100), (3, 300, 60), (5, 200, 40)])
    cap = sc.propose_cap(hits, y, current_cap=1.0, direction=1)
    assert cap["proposed_cap_hits"] == 2 and cap["data_cap_hits"] == 2 and cap["cap_reason"] == "no_growth"
    assert (cap["examples_at_cap"], cap["examples_beyond_cap"]) == (500, 500)
    assert cap["beyond_cap_ratio"] == pytest.approx(1.0)
    assert cap["beyond_cap_ratio_ci_low"] < 1 < cap["beyond_cap_ratio_ci_high"]
    # hits beyond the first add nothing: a cap of one hit stays, a cap of three comes down to one
    hits, y = exact([(0, 3000, 150), (1, 1000, 100), (2, 600, 60), (4, 400, 40)])
    assert sc.propose_cap(hits, y, current_cap=1.0, direction=1)["proposed_cap_hits"] == 1
    assert sc.propose_cap(hits, y, current_cap=3.0, direction=1)["proposed_cap_hits"] == 1
    # a rule that lowers conversion: each further hit lowers it again up to the third
    hits, y = exact([(0, 3000, 300), (1, 1000, 80), (2, 2000, 80), (3, 1000, 20), (4, 1000, 20)])
    assert sc.propose_cap(hits, y, current_cap=1.0, direction=-1)["proposed_cap_hits"] == 3


def test_too_few_examples_with_many_hits_keep_the_current_cap():
    # the second hit doubles conversion, but only 20 examples have it: nothing is known either way
    hits, y = exact([(0, 3000, 150), (1, 1000, 100), (2, 20, 4)])
    cap = sc.propose_cap(hits, y, current_cap=3.0, direction=1)
    assert cap["cap_reason"] == "no_support" and cap["proposed_cap_hits"] == 3.0
    assert sc.propose_cap(hits, y, current_cap=None, direction=1)["proposed_cap_hits"] is None  # no cap stays none


def capped_world(n: int = 8000, seed_: int = 6):
    """Leads whose long pricing visits (`visits`, capped at one hit) double the conversion rate at the
    second visit and add nothing after; `downloads` (capped at one) lift it at the first download only;
    `everybody` fires for 97 % of the leads and its third hit lifts conversion too (no contrast).
    (The walk's test is a 95 % interval: about one world in 20 shows a step that is not there, as
    seed 5 does at the third visit; its held-out check then keeps the current caps.)"""
    rng = np.random.default_rng(seed_)
    visits = rng.choice([0, 1, 2, 3, 5], n, p=[0.55, 0.2, 0.12, 0.08, 0.05])
    downloads = rng.choice([0, 1, 2, 4], n, p=[0.5, 0.25, 0.15, 0.1])
    everybody = np.where(rng.random(n) < 0.97, rng.choice([1, 3], n), 0)
    rate = 0.04 * np.where(visits >= 2, 4, np.where(visits == 1, 2, 1)) * np.where(downloads > 0, 1.5, 1)
    y = rng.binomial(1, np.minimum(rate * np.where(everybody >= 3, 1.3, 1), 1))
    ids = [f"lead:{i:05d}" for i in range(n)]
    hits = {"visits": visits, "downloads": downloads, "everybody": everybody}
    current = 10 * np.minimum(visits, 1) + 10 * np.minimum(downloads, 1) + 10 * np.minimum(everybody, 1)
    examples = pd.DataFrame(
        {
            "example_id": ids,
            "person_id": ids,
            "scored_at": pd.Timestamp("2026-01-01") + pd.to_timedelta(np.sort(rng.uniform(0, 300, n)), unit="D"),
            "label": y,
            "current_score": current,
        }
    )
    # the rule engine's rows: its hit count, and the decayed hits under the caps (no decay: min(hits, 1))
    engine = pd.DataFrame(
        [(i, r, int(k)) for r, h in hits.items() for i, k in zip(ids, h, strict=True) if k],
        columns=["score_point", "rule_id", "hits"],
    )
    return examples, engine, seed({"visits": 10, "downloads": 10, "everybody": 10})


@pytest.mark.parametrize("visits_signal", ["event", "session", "email_delivery"])
def test_the_command_proposes_caps_from_the_hit_counts_in_the_seed_diff(tmp_path, capsys, monkeypatch, visits_signal):
    # the visits as page views of an event rule, web sessions of a session rule or messages of an
    # email_delivery rule: all count hits
    examples, engine, rules = capped_world()
    rules["max_points"] = rules["points"]  # each capped at one hit: the fifth visit counts like the first
    rules.loc[rules["rule_id"] == "visits", "signal"] = visits_signal
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts; create schema intermediate")
        frame = examples.assign(
            converted=examples["label"].astype(bool),
            label_complete=True,
            lead_score_at_creation=examples["current_score"],
        )
        con.register("frame", frame)
        con.execute("create table marts.lead_conversion_examples as select * from frame")
        con.register("engine", engine.assign(person_id=engine["score_point"]))
        con.execute("create table intermediate.int_lead_score_rules as select * from engine")
        con.execute(
            "create table intermediate.int_scoring_features as select score_point, person_id,"
            " 'rule:' || rule_id as feature, cast(least(hits, 1) as double) as value from engine"
        )
    seed_file = tmp_path / "scoring_rules.csv"
    seed_file.write_text(sc.seed_csv(rules), encoding="utf-8")
    monkeypatch.setenv("INTENT_HOME", str(tmp_path))
    out = tmp_path / "out"
    assert sc.main(["--warehouse", str(warehouse), "--seed", str(seed_file), "--out", str(out)]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["caps_taken"] and report["caps_from_data"] == {"visits": [1.0, 2.0]}
    assert report["proposed"]["roc_auc"] > report["current"]["roc_auc"] + 0.02

    table = pd.read_csv(out / "rules.csv").set_index("rule_id")
    assert table.loc["visits", "proposed_cap_hits"] == 2 and table.loc["visits", "beyond_cap_ratio_ci_low"] < 1
    assert table.loc["downloads", "proposed_cap_hits"] == 1 and table.loc["downloads", "cap_reason"] == "no_growth"
    # a rule firing for >= 95 %: no points, and its hit counts are never read for a cap
    assert table.loc["everybody", "flag"] == "no_contrast" and not table.loc["everybody", "proposed_enabled"]
    assert pd.isna(table.loc["everybody", "proposed_cap_hits"]) and report["zero_contrast_points"] == 0

    proposed = sc.read_seed(out / "scoring_rules.proposed.csv").set_index("rule_id")
    visits = proposed.loc["visits"]
    assert visits["max_points"] == 2 * visits["points"] == visits["max_points_per_day"]  # two visits count
    assert proposed.loc["downloads", "max_points"] == proposed.loc["downloads", "points"]
    assert proposed.loc["everybody", "max_points"] == 10  # unchanged, and disabled
    diff = (out / "scoring_rules.diff").read_text(encoding="utf-8")
    visits_line = next(line for line in diff.splitlines() if line.startswith("+visits,"))
    assert visits_line.split(",")[16:19] == [str(int(visits["points"])), *(2 * [str(int(2 * visits["points"]))])]


def test_the_backtest_score_moves_only_with_the_points_and_the_caps_that_changed():
    rng = np.random.default_rng(7)
    hits = rng.choice([0, 1, 2, 4], (500, 2))
    wide = pd.DataFrame(
        {
            "rule:visits": np.minimum(hits[:, 0], 1) * rng.uniform(0.3, 1, 500),  # decayed, capped at one
            "rule:downloads": np.minimum(hits[:, 1], 2) * 1.0,
            "hits:visits": np.where(hits[:, 0] > 1, hits[:, 0], 0),
            "hits:downloads": np.where(hits[:, 1] > 1, hits[:, 1], 0),
        }
    )
    current = seed({"visits": 10, "downloads": 5})
    current["max_points"] = [10, 10]
    score = 10 * wide["rule:visits"].to_numpy() + 5 * wide["rule:downloads"].to_numpy()
    # points only: exactly the change x the decayed hits (tied scores stay tied)
    points_only = current.assign(points=[13, 5], max_points=[13, 10])
    expected = score + 3 * wide["rule:visits"].to_numpy()
    assert np.array_equal(sc.proposed_score(score, wide, current, points_only), expected)
    # visits capped at two hits: a lead with four long visits counts two, decayed as before
    two_visits = current.assign(max_points=[20, 10])
    moved = sc.proposed_score(score, wide, current, two_visits) - score
    assert np.allclose(moved, np.where(hits[:, 0] >= 2, 10 * wide["rule:visits"].to_numpy(), 0.0))


def test_an_opportunity_rule_on_the_conversion_stage_is_never_given_points():
    """A stage rule whose stage is what the examples were labelled with (their conversion_definition)
    is flagged leaks_outcome and disabled, however strong its lift; under another conversion the same
    rule is judged like any other."""
    examples, features, rules = world()
    staged = rules.copy()
    staged.loc[staged["rule_id"] == "signal", ["signal", "event_type", "is_enabled"]] = [
        "opportunity_stage", "Proposal", False,
    ]  # fmt: skip
    definition = "stage_reached Proposal within 30 days"
    refused = sc.propose(examples.assign(conversion_definition=definition), features, staged)
    row = refused["rules"].set_index("rule_id").loc["signal"]
    assert row["flag"] == "leaks_outcome" and not row["proposed_enabled"] and not row["learned"]
    assert not refused["seed"].set_index("rule_id").loc["signal", "is_enabled"]
    judged = sc.propose(examples.assign(conversion_definition="opportunity_created within 30 days"), features, staged)
    row = judged["rules"].set_index("rule_id").loc["signal"]
    assert row["flag"] == "ok" and row["proposed_enabled"] and row["proposed_points"] > 0


def count_world(rises: bool, n: int = 8000, seed_: int = 3):
    """Leads whose long pricing visits (`visits`, capped at one hit: the table says whether, not how
    many) raise conversion with ln(1 + count) when ``rises`` (the reference regression's shape), or
    only by whether they visited at all; `downloads` lifts it once; `everybody` fires for 97 % of the
    leads with one or four hits. The engine's rows as the warehouse has them: ``rule:<id>`` the hits
    under the caps, ``hits:<id>`` the count from two hits on."""
    rng = np.random.default_rng(seed_)
    visits = rng.choice([0, 1, 2, 3, 4, 6, 9], n, p=[0.45, 0.2, 0.12, 0.09, 0.06, 0.05, 0.03])
    downloads = rng.binomial(1, 0.3, n)
    everybody = np.where(rng.random(n) < 0.97, rng.choice([1, 4], n), 0)
    logit = -3 + (np.log1p(visits) if rises else 0.8 * (visits > 0)) + 0.5 * downloads + 0.4 * (everybody >= 4)
    y = rng.binomial(1, 1 / (1 + np.exp(-logit)))
    ids = [f"lead:{i:05d}" for i in range(n)]
    hits = {"visits": visits, "downloads": downloads, "everybody": everybody}
    rules = seed({"visits": 10, "downloads": 10, "everybody": 10})
    rules["max_points"] = rules["points"]
    examples = pd.DataFrame(
        {
            "example_id": ids,
            "person_id": ids,
            "scored_at": pd.Timestamp("2026-01-01") + pd.to_timedelta(np.sort(rng.uniform(0, 300, n)), unit="D"),
            "label": y,
            "current_score": 10 * np.minimum(visits, 1) + 10 * downloads + 10 * np.minimum(everybody, 1),
        }
    )
    rows = [(i, f"rule:{r}", float(min(k, 1))) for r, h in hits.items() for i, k in zip(ids, h, strict=True) if k]
    rows += [(i, f"hits:{r}", float(k)) for r, h in hits.items() for i, k in zip(ids, h, strict=True) if k > 1]
    return examples, pd.DataFrame(rows, columns=["example_id", "feature", "value"]), rules, visits


def test_count_tiers_are_proposed_where_conversion_rises_with_the_count():
    examples, features, rules, visits = count_world(rises=True)
    result = sc.propose(examples, features, rules, count_tiers=True)
    backtest = result["backtest"]
    assert backtest["tiers_taken"] and not backtest["caps_taken"]
    tiers = result["seed"].loc[result["seed"]["rule_set"] == sc.TIER_SET].set_index("rule_id")
    # the thresholds come from the visits' hit counts: two, the median and the 80th percentile above one
    assert list(tiers.index) == ["visits_2plus", "visits_3plus", "visits_6plus"]
    assert list(tiers["min_count"]) == [2, 3, 6] and tiers["is_enabled"].all()
    assert (tiers["points"] > 0).all()
    assert (tiers["max_points"] == tiers["points"]).all() and (tiers["max_points_per_day"] == tiers["points"]).all()
    # each tier reported like a rule: its support, lift and interval; none of a rule without contrast
    table = result["rules"].set_index("rule_id")
    assert table.loc["visits_6plus", "tier_of"] == "visits" and table.loc["visits_6plus", "lift_ci_low"] > 1
    assert "everybody" not in set(table["tier_of"].dropna()) and backtest["zero_contrast_points"] == 0
    # the score the proposed table gives orders the leads by their count of visits
    wide = features.pivot_table(index="example_id", columns="feature", values="value", aggfunc="sum")
    wide = wide.reindex(index=examples["example_id"]).fillna(0.0)
    score = sc.proposed_score(examples["current_score"].to_numpy(dtype=float), wide, rules, result["seed"])
    by_count = pd.Series(score).groupby(visits).mean()
    assert by_count.is_monotonic_increasing and by_count[9] > by_count[1] + 20, by_count
    assert backtest["proposed"]["roc_auc"] > backtest["current"]["roc_auc"] + 0.03
    # off by default: without count_tiers the command considers none
    default = sc.propose(examples, features, rules)
    assert default["backtest"]["tiers_from_data"] == {} and not (default["seed"]["rule_set"] == sc.TIER_SET).any()
    assert "tier_of" not in default["rules"] or default["rules"]["tier_of"].isna().all()


def test_no_count_tier_gets_points_where_the_count_adds_nothing():
    examples, features, rules, _ = count_world(rises=False)
    result = sc.propose(examples, features, rules, count_tiers=True)
    assert not result["backtest"]["tiers_taken"]
    assert not (result["seed"]["rule_set"] == sc.TIER_SET).any()
    tiers = result["rules"].loc[result["rules"]["tier_of"].notna()]
    assert len(tiers) and tiers["proposed_points"].isna().all() and not tiers["proposed_enabled"].any()
    assert result["backtest"]["zero_contrast_points"] == 0


def test_a_count_tier_moves_the_backtest_score_by_its_points_from_its_count_on():
    rng = np.random.default_rng(11)
    hits = rng.choice([0, 1, 2, 3, 5], 400)
    wide = pd.DataFrame({"rule:visits": np.minimum(hits, 1) * 1.0, "hits:visits": np.where(hits > 1, hits, 0)})
    current = seed({"visits": 10})
    score = 10 * wide["rule:visits"].to_numpy()
    tiered = pd.concat(
        [current, pd.DataFrame([sc.tier_row(current.iloc[0], 3, 7)], columns=current.columns)], ignore_index=True
    )
    assert sc.tiers_in(current, tiered) == {"visits_3plus": ("visits", 3)}
    assert np.array_equal(sc.proposed_score(score, wide, current, tiered), score + 7.0 * (hits >= 3))
    assert sc.tiers_in(tiered, tiered) == {}  # once in the seed, a tier is a rule like any other


def rare_world(lift: bool, n: int = 1600, seed_: int = 11):
    """Leads of the shipped seed's rows: `whitepaper_download` (enabled) fires for 30 % and lifts
    conversion a little; `contact_request` (a disabled candidate) fires for 30 leads (22 in the fit
    slice of this seed: too few for the support gate, above the contrast floor), most of whom convert
    where ``lift`` (else at the base rate). The engine's rows as the warehouse has them (``rule:<id>``)."""
    rng = np.random.default_rng(seed_)
    real = sc.read_seed(DBT_PROJECT_DIR / "seeds" / "scoring_rules.csv")
    rules = real.loc[real["rule_id"].isin(["whitepaper_download", "contact_request"])].reset_index(drop=True)
    white = rng.binomial(1, 0.3, n)
    contact = np.zeros(n, dtype=int)
    contact[rng.choice(n, 30, replace=False)] = 1
    logit = -2.4 + 0.5 * white + (3.5 * contact if lift else 0)
    y = rng.binomial(1, 1 / (1 + np.exp(-logit)))
    ids, examples = leads_over_time(rng, y, 10 * white)
    hits = {"whitepaper_download": white, "contact_request": contact}
    rows = [(i, f"rule:{r}", 1.0) for r, h in hits.items() for i, k in zip(ids, h, strict=True) if k]
    return examples, pd.DataFrame(rows, columns=["example_id", "feature", "value"]), rules


def test_a_rare_rule_with_a_lift_clear_of_1_gets_points_when_held_out_time_says_so():
    examples, features, rules = rare_world(lift=True)
    result = sc.propose(examples, features, rules)
    by_rule = result["rules"].set_index("rule_id")
    contact = by_rule.loc["contact_request"]
    assert contact["flag"] == "no_support" and contact["examples_with_rule"] < sm.MIN_SUPPORT
    assert contact["lift_ci_low"] > 1
    assert result["backtest"]["rare_rules_from_data"] == ["contact_request"]
    assert result["backtest"]["rare_rules_taken"]
    assert contact["learned"] and contact["proposed_enabled"] and contact["proposed_points"] > 20
    proposed = result["seed"].set_index("rule_id")
    assert proposed.at["contact_request", "is_enabled"] and proposed.at["contact_request", "points"] > 20
    assert result["backtest"]["zero_contrast_points"] == 0
    # the support gate alone keeps the candidate as it was
    gated = sc.propose(examples, features, rules, rare_rules=False)
    assert not gated["backtest"]["rare_rules_from_data"] and not gated["backtest"]["rare_rules_taken"]
    kept = gated["seed"].set_index("rule_id")
    assert not kept.at["contact_request", "is_enabled"] and kept.at["contact_request", "points"] == 10
    assert result["backtest"]["proposed"]["roc_auc"] > gated["backtest"]["proposed"]["roc_auc"]


def test_a_rare_rule_without_evidence_stays_out():
    examples, features, rules = rare_world(lift=False)
    result = sc.propose(examples, features, rules)
    contact = result["rules"].set_index("rule_id").loc["contact_request"]
    assert contact["flag"] == "no_support" and not contact["learned"]
    assert contact["lift_ci_low"] <= 1 <= contact["lift_ci_high"]
    assert result["backtest"]["rare_rules_from_data"] == [] and not result["backtest"]["rare_rules_taken"]
    assert not result["seed"].set_index("rule_id").at["contact_request", "is_enabled"]


def drifting_rare_world(seed_: int, n: int = 1600):
    """`rare_world`'s leads with two rare candidates: `contact_request` lifts conversion at every time
    (30 leads, logit + 3.5), `pricing_inquiry` fires for 30 leads whose outcome drifts: the 14 in the
    older half of the fit slice all convert, the 16 after none does. Each has a lift whose 95 % interval
    lies above 1 on the fit slice; only the first has lift on held-out time. `email_click` fires for
    about 97 % of the leads (no contrast). The answer is known: the first rule earns points, the second
    and the third none."""
    rng = np.random.default_rng(seed_)
    real = sc.read_seed(DBT_PROJECT_DIR / "seeds" / "scoring_rules.csv")
    names = ["whitepaper_download", "contact_request", "pricing_inquiry", "email_click"]
    rules = real.loc[real["rule_id"].isin(names)].reset_index(drop=True)
    white = rng.binomial(1, 0.3, n)
    contact = np.zeros(n, dtype=int)
    contact[rng.choice(n, 30, replace=False)] = 1
    n_fit = n - round(sc.TEST_SHARE * n)
    older = rng.choice(n_fit // 2, 14, replace=False)
    newer = rng.choice(np.arange(n_fit // 2, n), 16, replace=False)
    inquiry = np.zeros(n, dtype=int)
    inquiry[np.r_[older, newer]] = 1
    y = rng.binomial(1, 1 / (1 + np.exp(-(-2.4 + 0.5 * white + 3.5 * contact))))
    y[older], y[newer] = 1, 0
    ids, examples = leads_over_time(rng, y, 10 * white)
    click = np.random.default_rng(seed_ + 1000).binomial(1, 0.97, n)
    hits = {"whitepaper_download": white, "contact_request": contact, "pricing_inquiry": inquiry, "email_click": click}
    rows = [(i, f"rule:{r}", 1.0) for r, h in hits.items() for i, k in zip(ids, h, strict=True) if k]
    return examples, pd.DataFrame(rows, columns=["example_id", "feature", "value"]), rules


@pytest.mark.parametrize("seed_", [0, 4])
def test_rare_rules_join_one_at_a_time_so_one_without_held_out_lift_keeps_none_out(seed_):
    """Judged together (main before salesled), the drifting rule either rode in with points (seed 0)
    or took the rule with real lift out with it (seed 4: the sales_led 2026 miss at 98 days)."""
    examples, features, rules = drifting_rare_world(seed_)
    result = sc.propose(examples, features, rules)
    by_rule = result["rules"].set_index("rule_id")
    assert result["backtest"]["rare_rules_from_data"] == ["contact_request", "pricing_inquiry"]
    for rule in ("contact_request", "pricing_inquiry"):
        assert by_rule.at[rule, "flag"] == "no_support" and by_rule.at[rule, "lift_ci_low"] > 1
    assert by_rule.at["contact_request", "learned"] and by_rule.at["contact_request", "proposed_points"] > 20
    assert not by_rule.at["pricing_inquiry", "learned"] and not by_rule.at["pricing_inquiry", "proposed_enabled"]
    proposed = result["seed"].set_index("rule_id")
    assert proposed.at["contact_request", "is_enabled"] and not proposed.at["pricing_inquiry", "is_enabled"]
    assert by_rule.at["email_click", "flag"] == "no_contrast" and not by_rule.at["email_click", "learned"]
    assert result["backtest"]["zero_contrast_points"] == 0
    assert result["backtest"]["rare_rules_admitted"] == ["contact_request"]
