"""The plain step's L2 strength is chosen by cross-validation on the fit slice alone (issue 13):
strong where the features are noise, weak where the signal is strong and the data plentiful, a
person's rows never split across folds, and the choice is recorded by train()."""

from __future__ import annotations

import numpy as np
import pandas as pd
from intent_pipeline import scoring_model


def noise(n: int, k: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.normal(size=(n, k)), columns=[f"f{i}" for i in range(k)])
    return x, (rng.random(n) < 0.3).astype(int)


def test_noise_features_get_a_strong_penalty():
    x, y = noise(300, 40, seed=1)
    choice = scoring_model.choose_c(x, y, np.arange(len(x)))
    assert choice["folds"] == scoring_model.C_FOLDS
    assert choice["c"] <= 0.03, choice
    losses = choice["held_out_log_loss"]
    assert losses[str(choice["lowest_loss_c"])] == min(losses.values()) and choice["c"] <= choice["lowest_loss_c"]
    assert losses["1.0"] > losses[str(choice["c"])]  # the former fixed C=1 overfits the noise


def test_a_strong_signal_on_plenty_of_data_gets_a_weak_penalty():
    rng = np.random.default_rng(2)
    x = pd.DataFrame(rng.normal(size=(4000, 3)), columns=["a", "b", "c"])
    z = -1.0 + 2.0 * x["a"] - 1.5 * x["b"] + 1.0 * x["c"]
    y = (rng.random(len(x)) < 1 / (1 + np.exp(-z))).astype(int)
    choice = scoring_model.choose_c(x, y, np.arange(len(x)))
    assert choice["c"] >= 0.3, choice


def test_a_weaker_penalty_is_taken_only_when_it_beats_the_stronger_by_one_standard_error():
    # a modest signal among noise: C = 0.1 has the lowest pooled held-out loss, but by less than one
    # standard error of its paired per-example difference to C = 0.03, so the stronger penalty stays;
    # C = 0.01 is beaten by more than that and is not taken (issue 13: choose_c's one-standard-error rule)
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(600, 8)), columns=[f"f{i}" for i in range(8)])
    z = -1.0 + 0.6 * x["f0"] + 0.3 * x["f1"]
    y = (rng.random(len(x)) < 1 / (1 + np.exp(-z))).astype(int)
    choice = scoring_model.choose_c(x, y, np.arange(len(x)))
    assert choice["lowest_loss_c"] == 0.1 and choice["c"] == 0.03, choice
    losses = choice["held_out_log_loss"]
    assert losses["0.1"] < losses["0.03"] < losses["0.01"]


def test_a_person_is_never_split_across_folds():
    # each person seen three times (a lead at three snapshot ages): rows of one person identical;
    # grouped folds judge every person only on folds that never saw them, so noise stays noise
    x, y = noise(200, 30, seed=3)
    x3 = pd.concat([x, x, x], ignore_index=True)
    y3 = np.concatenate([y, y, y])
    persons = np.tile(np.arange(len(x)), 3)
    grouped = scoring_model.choose_c(x3, y3, persons)
    assert grouped["c"] <= 0.03, grouped
    # split by row instead, a fold holds copies of its own training rows and the penalty looks needless
    by_row = scoring_model.choose_c(x3, y3, np.arange(len(x3)))
    assert by_row["c"] > grouped["c"], (by_row, grouped)


def test_too_few_outcomes_keep_the_former_default():
    x, _ = noise(50, 3, seed=4)
    y = np.zeros(len(x), dtype=int)
    y[:3] = 1
    assert scoring_model.choose_c(x, y, np.arange(len(x))) == {"c": 1.0, "held_out_log_loss": None, "folds": 0}


def test_train_chooses_c_by_default_and_a_single_value_fixes_it():
    rng = np.random.default_rng(5)
    n = 1500
    x = rng.normal(size=(n, 25))
    z = -1.5 + 1.2 * x[:, 0]  # one signal, 24 noise features
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    labels = pd.DataFrame(
        {
            "example_id": [f"lead:{i}" for i in range(n)],
            "person_id": [f"p{i}" for i in range(n)],
            "as_of_at": pd.date_range("2026-01-01", periods=n, freq="h"),
            "label": y,
        }
    )
    features = pd.DataFrame(
        [(f"lead:{i}", f"f{j}", float(x[i, j])) for i in range(n) for j in range(x.shape[1])],
        columns=["example_id", "feature", "value"],
    )
    fixed = scoring_model.train(labels, features, c_grid=(1.0,))
    assert fixed["c_choice"]["c"] == 1.0 and fixed["attempts"][0]["c"] == 1.0 and fixed["c_choice"]["folds"] == 0
    chosen = scoring_model.train(labels, features)  # the default: chosen from C_GRID
    assert chosen["c_choice"]["folds"] == scoring_model.C_FOLDS
    assert chosen["attempts"][0]["c"] == chosen["c_choice"]["c"] < 1.0
