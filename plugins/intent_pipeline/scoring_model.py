"""The predictive lead-conversion model: train, judge, store and reload it.

Pure Python (pandas, numpy, scikit-learn); no Airflow or dbt imports. dbt builds the
training examples and their features; this module only consumes them as DataFrames:

* ``labels``: one row per example: ``example_id``, ``person_id``, ``as_of_at`` (the
  moment the CRM lead is scored; features are as of then) and ``label`` (1 = it converted
  within the window, else 0); optionally ``snapshot`` (true: the same lead at a later age,
  var lead_snapshot_days: such an example only ever joins the train slice, and only when it
  lies before the calibration slice, so neither judging slice sees a lead twice or the future).
* ``features``: long format ``example_id``, ``feature``, ``value``. A feature absent
  for an example has the value 0.

The model is a logistic regression on standardised features whose standardisation is
then folded into weights over the raw values, so that SQL can compute the linear
predictor ``z = intercept + sum(weight * value)`` over the rows that exist, followed by
Platt calibration ``p = 1 / (1 + exp(-(a * z + c)))``. :func:`score` is the Python
reference of that SQL.

Examples are split by time (oldest = train, next = calibration, newest = test), so the
test metrics say how the model does on leads that came after the ones it learned from.
The model does not give up when the data is weak (issue 13): it falls back in steps, and
``method`` names the one used: ``logistic`` (all features, its L2 strength chosen from
:data:`C_GRID` by person-grouped cross-validation on the fit slice: :func:`choose_c`;
``train(c_grid=(1.0,))`` fixes C = 1, the former default), ``regularised`` (a strong L2
penalty), ``fewer_features`` (the eight features that rank best on the train slice, penalised),
then ``rule_score_calibrated`` (the rule score itself, feature ``lead_score``, Platt-calibrated to
probabilities: the ranking of the rule table, on the scale of the outcomes). The first that
reaches ``min_auc`` on the test slice is approved (the learned steps fit on the train slice and the
snapshot examples before the calibration slice, and need ``min_conversions`` among the leads' and
those snapshots' conversions); the last step needs only
``min_calibration_conversions`` outcomes and is approved whatever its AUC, so
``conversion_probability`` is never empty when there is anything to calibrate.
Too little data is not an error: :func:`train` returns a record with status
``refused`` and a reason. Every record, refused and rejected ones included, can be
saved with :func:`save` so that :func:`history` shows why a run did not ship a model.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import numpy as np
import pandas as pd

from intent_pipeline.settings import DEFAULT_MODEL_RULE_FEATURES, MODEL_RULE_FEATURES

LABEL_COLUMNS = ("example_id", "person_id", "as_of_at", "label")
FEATURE_COLUMNS = ("example_id", "feature", "value")
RULE_PREFIX = "rule:"
# the features int_scoring_features derives from one rule: its decayed hits and ln(its hit count)
RULE_FEATURE_PREFIXES = (RULE_PREFIX, "log_hits:")
SLICES = ("train", "calibration", "test")
MODEL_FILE = "model.json"
POINTS_FILE = "learned_points.csv"
POINTS_COLUMNS = (
    "rule_id",
    "coefficient",
    "odds_ratio",
    "suggested_points",
    "examples_with_rule",
    "conversion_rate_with_rule",
    "share_with_rule",
    "lift",
    "lift_ci_low",
    "lift_ci_high",
    "flag",
)
# the rule score of each example (int_scoring_features): the input of the last fallback only
SCORE_FEATURES = ("lead_score",)
METHODS = ("logistic", "regularised", "fewer_features", "rule_score_calibrated")
# a rule that fires for at least this share of the examples, or at most MIN_SHARE, has no contrast:
# flagged, never given points (learn_points and the calibration command)
MAX_SHARE = 0.95
MIN_SHARE = 0.005
MIN_SUPPORT = 30  # examples with the rule, at least
# grades on the model's probability by default: the top 20 % high_intent, the next 30 % potential
DEFAULT_GRADES = "share:0.2,0.5"
SNAPSHOT_COLUMN = "snapshot"
# how probabilities are mapped from the linear predictor, in the order a tie is broken
CALIBRATIONS = ("platt", "isotonic")
CALIBRATION_FOLDS = 5
# how recent leads may outweigh older ones in the Platt map (fit_calibration): half-lives as shares of
# the time span of the leads it is fitted on (a lead that much older than the newest weighs half).
# None of them (the plain map, every lead alike) unless one predicts later leads better by one standard
# error on forward-chaining blocks of those leads (issue 13, nineteenth pass: the base rate can drift
# between the leads the map learns from and the newer leads it is applied to)
RECENCY_HALF_LIVES = (0.5, 0.25)
# where the probability map is learned (train(calibration=...)): "holdout", a calibration slice of
# its own between train and test (the model fits on the oldest 60 %); "cross_fit", the out-of-fold
# predictions of the fit slice (the model fits on the oldest 80 %, as much as anything judged on the
# newest 20 % can)
CALIBRATION_MODES = ("holdout", "cross_fit")
# threads BLAS and OpenMP may use while a model is fitted and applied (single_threaded): the data are
# a few thousand rows by about a hundred features, one thread is enough, and on a shared machine a
# pool of one thread per core spins instead of working (issue 13: one training took 155-260 s in
# pytest under load, 12 s with OMP_NUM_THREADS=1)
TRAINING_THREADS = 1


_P = ParamSpec("_P")
_R = TypeVar("_R")


def single_threaded(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``function`` with the BLAS and OpenMP thread pools (numpy's, scipy's, scikit-learn's)
    limited to :data:`TRAINING_THREADS`, restored after (threadpoolctl, which scikit-learn ships; a
    nested call keeps the outer limit). Every entry point that fits or applies a model here is
    wrapped, so the DAG's task, the CLI, the bench and the tests need no OMP_NUM_THREADS of their own."""

    @functools.wraps(function)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=TRAINING_THREADS):
            return function(*args, **kwargs)

    return wrapper


# --- input -------------------------------------------------------------------------


def rule_of(feature: str) -> str | None:
    """The rule a feature is derived from (``rule:<id>``, ``log_hits:<id>``), else None."""
    return next((feature.removeprefix(p) for p in RULE_FEATURE_PREFIXES if feature.startswith(p)), None)


def model_signals(
    columns: list[str], rule_features: str = DEFAULT_MODEL_RULE_FEATURES, enabled_rules: set[str] | None = None
) -> list[str]:
    """The features the learned steps of :func:`train` may use, of ``columns`` (the lead score excluded:
    the last fallback's input only). ``rule_features`` (settings.MODEL_RULE_FEATURES,
    ``INTENT_MODEL_RULE_FEATURES``): ``all`` keeps every rule's features, the disabled candidates' too;
    ``enabled`` keeps only those of ``enabled_rules`` (the rules awarding points in the seed the warehouse
    was built with); ``checked`` the same, then :func:`train` keeps them only where held-out time
    confirms them (:func:`rule_features_check`). ``enabled_rules`` None: no seed given, no rule is known
    to be disabled."""
    if rule_features not in MODEL_RULE_FEATURES:
        raise ValueError(f"rule_features must be one of {', '.join(MODEL_RULE_FEATURES)}, not {rule_features!r}")
    signals = [f for f in columns if f not in SCORE_FEATURES]
    # checked: the enabled rules' features are the candidate; train() decides (rule_features_check)
    if rule_features == "all" or enabled_rules is None:
        return signals
    return [f for f in signals if rule_of(f) is None or rule_of(f) in enabled_rules]


def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} is missing column(s) {', '.join(missing)}; expected {', '.join(columns)}")


def validate(labels: pd.DataFrame, features: pd.DataFrame) -> None:
    """Raise ``ValueError`` if the inputs are malformed (never for merely too little data)."""
    _require_columns(labels, LABEL_COLUMNS, "labels")
    _require_columns(features, FEATURE_COLUMNS, "features")
    bad_labels = labels.loc[~labels["label"].isin([0, 1]), "label"]
    if len(bad_labels):
        raise ValueError(f"labels must be 0 or 1; found {sorted(map(str, bad_labels.unique()))[:5]}")
    duplicated = labels.loc[labels["example_id"].duplicated(), "example_id"]
    if len(duplicated):
        raise ValueError(f"duplicate example_id in labels: {list(duplicated.unique()[:5])}")
    if labels["example_id"].isna().any():
        raise ValueError("labels has a missing example_id")
    if not pd.api.types.is_datetime64_any_dtype(labels["as_of_at"]) or labels["as_of_at"].isna().any():
        raise ValueError("labels.as_of_at must be a datetime64 column without missing values")
    if SNAPSHOT_COLUMN in labels.columns and not labels[SNAPSHOT_COLUMN].isin([True, False]).all():
        raise ValueError("labels.snapshot must be true or false")
    if features.duplicated(["example_id", "feature"]).any():
        raise ValueError("features has more than one value for the same (example_id, feature)")
    values = pd.to_numeric(features["value"], errors="coerce")
    if not np.isfinite(values.to_numpy(dtype=float)).all():
        raise ValueError("features.value must be finite numbers")


def wide_features(labels: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """One row per example of ``labels`` (same order), one column per feature (sorted), absent = 0.

    Feature rows of examples that are not in ``labels`` are ignored.
    """
    long = features.loc[features["example_id"].isin(labels["example_id"])]
    wide = long.pivot(index="example_id", columns="feature", values="value").astype(float)
    wide = wide.reindex(index=labels["example_id"], columns=sorted(wide.columns)).fillna(0.0)
    wide.columns.name = None
    return wide


def data_fingerprint(labels: pd.DataFrame, features: pd.DataFrame) -> str:
    """SHA-1 of the training data (labels and features sorted), as hex."""
    lab = labels.loc[:, list(LABEL_COLUMNS)].sort_values("example_id").astype({"as_of_at": str, "label": int})
    feat = features.loc[:, list(FEATURE_COLUMNS)].sort_values(["example_id", "feature"]).astype({"value": float})
    digest = hashlib.sha1()
    digest.update(lab.to_csv(index=False).encode())
    digest.update(feat.to_csv(index=False).encode())
    return digest.hexdigest()


# --- time split ----------------------------------------------------------------------


def primary(labels: pd.DataFrame) -> pd.DataFrame:
    """The examples that are no snapshot: one per CRM lead, the ones the slices are cut from."""
    if SNAPSHOT_COLUMN not in labels.columns:
        return labels
    return labels.loc[~labels[SNAPSHOT_COLUMN].astype(bool)]


def snapshots_before(labels: pd.DataFrame, moment: Any) -> pd.DataFrame:
    """The snapshot examples strictly before ``moment`` (the calibration slice's start)."""
    if SNAPSHOT_COLUMN not in labels.columns or moment is None or pd.isna(moment):
        return labels.iloc[0:0]
    extra = labels.loc[labels[SNAPSHOT_COLUMN].astype(bool)]
    return extra.loc[extra["as_of_at"] < moment].sort_values(["as_of_at", "example_id"], kind="mergesort")


def split_by_time(labels: pd.DataFrame, calibration_share: float, test_share: float) -> dict[str, pd.DataFrame]:
    """The labels in three slices by ``as_of_at`` (tie-break ``example_id``): train, calibration, test.
    Snapshot examples (column ``snapshot``) are left out: :func:`train` adds those before the
    calibration slice to the train slice."""
    labels = primary(labels)
    ordered = labels.sort_values(["as_of_at", "example_id"], kind="mergesort")
    n = len(ordered)
    n_test = round(n * test_share)
    n_calibration = round(n * calibration_share)
    n_train = n - n_calibration - n_test
    return {
        "train": ordered.iloc[:n_train],
        "calibration": ordered.iloc[n_train : n_train + n_calibration],
        "test": ordered.iloc[n_train + n_calibration :],
    }


def _iso(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).isoformat()


def _describe_split(slices: dict[str, pd.DataFrame]) -> dict[str, dict]:
    return {
        name: {
            "from": _iso(part["as_of_at"].min()) if len(part) else None,
            "to": _iso(part["as_of_at"].max()) if len(part) else None,
            "n": len(part),
            "conversions": int(part["label"].sum()),
        }
        for name, part in slices.items()
    }


def _refusal_reason(n: int, conversions: int, split: dict[str, dict], min_conversions: int) -> str | None:
    if conversions < min_conversions:
        return f"only {conversions:,} conversions among {n:,} leads; at least {min_conversions:,} are needed to train"
    for name, part in split.items():
        if part["conversions"] == 0:
            return f"the {name} slice has no conversions among its {part['n']:,} leads; more history is needed"
        if part["conversions"] == part["n"]:
            return f"the {name} slice has no non-converted leads among its {part['n']:,} leads; more history is needed"
    return None


# --- fitting -------------------------------------------------------------------------


def _logistic(c: float = 1.0):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, solver="lbfgs", max_iter=1000)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _fit_linear(x_train: pd.DataFrame, y_train: np.ndarray, c: float = 1.0) -> dict:
    """Logistic regression on standardised features, folded into weights over the raw values."""
    mean = x_train.mean().to_numpy()
    std = x_train.std(ddof=0).to_numpy()
    std = np.where(std > 0, std, 1.0)
    fitted = _logistic(c).fit((x_train.to_numpy() - mean) / std, y_train)
    coef = fitted.coef_[0]
    weight = coef / std
    b = float(fitted.intercept_[0])
    return {
        "intercept": b - float(np.sum(weight * mean)),
        "intercept_standardised": b,
        "features": [
            {"feature": f, "weight": float(w), "mean": float(m), "std": float(s), "coef_standardised": float(c)}
            for f, w, m, s, c in zip(x_train.columns, weight, mean, std, coef, strict=True)
        ],
    }


# the L2 strengths the plain step chooses from (sklearn's C: smaller is stronger), and its folds
C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0)
C_FOLDS = 5


def choose_c(x: pd.DataFrame, y: np.ndarray, groups: np.ndarray, grid: tuple = C_GRID, folds: int = C_FOLDS) -> dict:
    """The L2 strength of the plain logistic step, chosen on the fit slice alone (never the
    calibration or test slice): ``folds``-fold cross-validation grouped by person (a person's
    leads and their snapshot ages are in one fold, so no fold is judged on a lead it learned
    from), stratified, fixed seed; each C's held-out log loss per example, pooled over the folds.
    The smallest C (the strongest penalty) that the lowest-loss C does not beat by one standard
    error of their paired per-example difference wins (:func:`simplest_not_beaten`, the rule the
    calibration command's penalty follows): a weaker penalty is taken only when the held-out
    examples say it is better. With fewer persons or outcomes than folds, C = 1 (the former default)."""
    from sklearn.model_selection import StratifiedGroupKFold

    y = np.asarray(y, dtype=int)
    if len(np.unique(groups)) < folds or min(int(y.sum()), int(len(y) - y.sum())) < folds:
        return {"c": 1.0, "held_out_log_loss": None, "folds": 0}
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=0)
    losses: dict[float, list[np.ndarray]] = {c: [] for c in grid}
    for fit_index, held_index in splitter.split(x, y, groups):
        x_fit, y_fit = x.iloc[fit_index], y[fit_index]
        if y_fit.min() == y_fit.max() or y[held_index].min() == y[held_index].max():
            continue  # skipped for every C: the candidates stay judged on the same examples
        for c in grid:
            fitted = _fit_linear(x_fit, y_fit, c)
            losses[c].append(log_losses(_sigmoid(linear_predictor(fitted, x.iloc[held_index])), y[held_index]))
    held_out = {c: np.concatenate(v) for c, v in losses.items() if v}
    if not held_out:
        return {"c": 1.0, "held_out_log_loss": None, "folds": 0}
    # keyed by -C: the larger the key, the stronger the penalty (the simpler model)
    best = -simplest_not_beaten({-c: v for c, v in held_out.items()})
    lowest = min(held_out, key=lambda c: float(np.mean(held_out[c])))
    return {
        "c": best,
        "lowest_loss_c": lowest,
        "held_out_log_loss": {str(c): round(float(np.mean(v)), 6) for c, v in held_out.items()},
        "folds": folds,
    }


def _fit_platt(z: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None) -> dict:
    """Platt scaling: an unpenalised logistic regression of the label on the linear predictor
    (each lead weighted by ``weight``, if given)."""
    fitted = _logistic(c=np.inf).fit(z.reshape(-1, 1), y, sample_weight=weight)
    return {"a": float(fitted.coef_[0, 0]), "c": float(fitted.intercept_[0])}


def recency_weights(moments: np.ndarray, half_life: float) -> np.ndarray:
    """Each lead's weight in a recency-weighted map: 0.5 ** (its age before the newest of ``moments``
    / (``half_life`` x the span of ``moments``)); 1 for the newest. Equal weights when the leads span
    no time."""
    seconds = pd.to_datetime(pd.Series(moments)).astype("int64").to_numpy(dtype=float)
    span = float(seconds.max() - seconds.min())
    if span <= 0:
        return np.ones(len(seconds))
    return np.power(0.5, (seconds.max() - seconds) / (half_life * span))


def forward_block_losses(
    y: np.ndarray, candidates: tuple, losses: Callable[[Any, int, np.ndarray], np.ndarray],
    judged: np.ndarray | None = None,
) -> tuple[dict, int]:
    """The held-out evidence of a choice among ``candidates`` over time-ordered examples (label ``y``):
    forward-chaining blocks over the newest half (scoring_calibration.forward_folds), each judged on its
    rows of ``judged`` (all when None) by ``losses(candidate, a, held)``: the per-example log losses of
    ``held`` (row positions) from a fit on the rows before ``a``. A block whose fit or judged rows lack
    either outcome judges nothing. Returns each candidate's pooled losses and the blocks judged, for
    :func:`simplest_not_beaten` (recency_choice, rule_features_check)."""
    from intent_pipeline.scoring_calibration import forward_folds  # it imports this module

    judged = np.ones(len(y), dtype=bool) if judged is None else judged
    found: dict = {key: [] for key in candidates}
    blocks = 0
    for a, b in forward_folds(len(y)):
        held = np.arange(a, b)[judged[a:b]]
        if not (0 < y[:a].sum() < a and 0 < y[held].sum() < len(held)):
            continue
        blocks += 1
        for key in candidates:
            found[key].append(losses(key, a, held))
    return ({key: np.concatenate(v) for key, v in found.items()} if blocks else {}), blocks


def recency_choice(z: np.ndarray, y: np.ndarray, moments: np.ndarray, half_lives: tuple = RECENCY_HALF_LIVES) -> dict:
    """Which recency weighting of the Platt map later leads confirm: forward-chaining blocks over the
    newest half of the leads in time order (scoring_calibration.forward_folds: each block judged by
    maps fitted on every lead before it, weighted as of the newest of those), each candidate's
    per-lead held-out log losses pooled; the plain map (no weighting, the simplest) stays unless the
    lowest-loss half-life beats it by one standard error of their paired difference
    (:func:`simplest_not_beaten`). Returns ``half_life`` (None: plain), each candidate's pooled
    ``held_out_log_loss`` (key ``none`` for the plain map) and the ``blocks`` judged."""
    order = np.argsort(pd.to_datetime(pd.Series(moments)).to_numpy(), kind="mergesort")
    z, y, moments = z[order], y[order], np.asarray(moments)[order]
    candidates = (math.inf, *half_lives)  # inf: every lead alike, the largest key is the simplest

    def losses(h: float, a: int, held: np.ndarray) -> np.ndarray:
        weight = None if h == math.inf else recency_weights(moments[:a], h)
        return log_losses(calibrate(z[held], {"method": "platt"} | _fit_platt(z[:a], y[:a], weight)), y[held])

    pooled, blocks = forward_block_losses(y, candidates, losses)
    if not blocks:
        return {"half_life": None, "held_out_log_loss": None, "blocks": 0}
    best = simplest_not_beaten(pooled)
    return {
        "half_life": None if best == math.inf else float(best),
        "held_out_log_loss": {
            ("none" if h == math.inf else str(h)): round(float(v.mean()), 6) for h, v in pooled.items()
        },
        "blocks": blocks,
    }


def rule_features_check(
    x: pd.DataFrame, y: np.ndarray, moments: np.ndarray, judged: np.ndarray, signals: list[str], c: float
) -> dict:
    """Whether the rule table's own features (``rule:<id>``, ``log_hits:<id>``) earn their place in the
    learned steps beside the pipeline's inputs (``INTENT_MODEL_RULE_FEATURES=checked``): forward-chaining
    blocks over the newest half of the fit rows in time order (scoring_calibration.forward_folds: each
    block judged by a fit on every row before it, at the step's C), judged on the rows of ``judged``
    (the leads' own points, what the model is judged on: a snapshot example only ever helps fit), each
    candidate's per-lead log loss of its own probability pooled. The pipeline's inputs alone (fewer
    features, the simpler) stay unless the rules' features beat them by one standard error of the paired
    difference (:func:`simplest_not_beaten`). Issue 13's twenty-first pass: in ``few_opportunities`` 7
    the test slice ranks better without them, the fit time's blocks say the opposite. Returns
    ``keep_rule_features``, each candidate's pooled ``held_out_log_loss`` and the ``blocks`` judged."""
    without = [f for f in signals if rule_of(f) is None]
    if len(without) == len(signals) or not without:
        return {"keep_rule_features": bool(signals != without), "held_out_log_loss": None, "blocks": 0}
    order = np.argsort(pd.to_datetime(pd.Series(moments)).to_numpy(), kind="mergesort")
    x, y, judged = x.iloc[order], np.asarray(y, dtype=int)[order], np.asarray(judged, dtype=bool)[order]
    candidates = {1.0: without, 0.0: signals}  # the larger key, the simpler

    def losses(key: float, a: int, held: np.ndarray) -> np.ndarray:
        fitted = _fit_linear(x.iloc[:a][candidates[key]], y[:a], c)
        return log_losses(_sigmoid(linear_predictor(fitted, x.iloc[held][candidates[key]])), y[held])

    pooled, blocks = forward_block_losses(y, tuple(candidates), losses, judged)
    if not blocks:
        return {"keep_rule_features": True, "held_out_log_loss": None, "blocks": 0}
    return {
        "keep_rule_features": simplest_not_beaten(pooled) == 0.0,
        "held_out_log_loss": {
            name: round(float(pooled[k].mean()), 6) for name, k in (("without_rule_features", 1.0), ("with", 0.0))
        },
        "blocks": blocks,
    }


def _fit_isotonic(z: np.ndarray, y: np.ndarray) -> dict:
    """Centred isotonic regression: the pool-adjacent-violators fit of the label on ``z``, each
    pooled block put at its mean ``z`` and the blocks joined by straight lines (clipped flat beyond
    the first and last block). Unlike the step function of plain isotonic regression it is strictly
    increasing between the blocks, so it keeps the ranking of ``z`` there instead of tying whole
    blocks. The probabilities stay within [0.5 / (n + 1), 1 - 0.5 / (n + 1)]: a block without a
    conversion is never certain."""
    from sklearn.isotonic import IsotonicRegression

    floor = 0.5 / (len(y) + 1)
    fitted = IsotonicRegression(y_min=floor, y_max=1 - floor, out_of_bounds="clip").fit(z, y).predict(z)
    blocks = pd.DataFrame({"z": z, "p": fitted}).groupby("p", sort=True)["z"].mean()
    centres = pd.Series(blocks.index.to_numpy(), index=blocks.to_numpy()).sort_index()
    return {"x": [float(v) for v in centres.index], "y": [float(v) for v in centres.to_numpy()]}


def calibrate(z: np.ndarray, calibration: dict) -> np.ndarray:
    """The probability of each linear predictor ``z`` under ``calibration`` (``method`` platt: ``a``
    and ``c``; isotonic: the points ``x``, ``y``, interpolated linearly and clipped at the ends).
    A record without ``method`` is Platt (models saved before isotonic calibration existed)."""
    z = np.asarray(z, dtype=float)
    if calibration.get("method", "platt") == "isotonic":
        return np.interp(z, calibration["x"], calibration["y"])
    return _sigmoid(calibration["a"] * z + calibration["c"])


def fit_calibration(
    z: np.ndarray,
    y: np.ndarray,
    folds: int = CALIBRATION_FOLDS,
    moments: np.ndarray | None = None,
    half_lives: tuple = RECENCY_HALF_LIVES,
) -> dict:
    """Map the linear predictor to probabilities: Platt scaling, or centred isotonic regression
    when it predicts held-out leads of the calibration slice itself better by more than one standard
    error (``folds``-fold stratified cross-validation, fixed seed; the per-lead log losses of the two
    maps paired, :func:`beats_by_one_standard_error`). Isotonic has as many parameters as it has
    blocks; winning by less than the noise of the held-out leads is no evidence for it (issue 13,
    tenth pass: `sales_led` seed 7 chose it by 0.001 of log loss and its test ECE was 0.107, Platt's
    0.076). With fewer than two leads of either outcome there is nothing to hold out and Platt is
    used. The chosen map is then fitted on the whole slice. ``held_out`` records each method's
    cross-validated log loss and ECE, and the standard error of their difference. With ``moments``
    (each lead's as_of_at) a Platt map may weigh recent leads more (``half_lives``,
    :func:`recency_choice`: only when later leads confirm it by one standard error); ``recency``
    records the choice, and a weighted map keeps the plain fit as ``unweighted``."""
    from sklearn.model_selection import StratifiedKFold

    z, y = np.asarray(z, dtype=float), np.asarray(y, dtype=int)
    record: dict[str, Any] = {"method": "platt"} | _fit_platt(z, y)
    n_folds = min(folds, int(y.sum()), int(len(y) - y.sum()))
    if n_folds < 2:
        record["held_out"] = None
        return record
    fitters: dict[str, Callable[[np.ndarray, np.ndarray], dict]] = {"platt": _fit_platt, "isotonic": _fit_isotonic}
    out_of_fold = {method: np.empty(len(y)) for method in CALIBRATIONS}
    for fit_rows, held_rows in StratifiedKFold(n_folds, shuffle=True, random_state=0).split(z.reshape(-1, 1), y):
        for method in CALIBRATIONS:
            fold_map = {"method": method} | fitters[method](z[fit_rows], y[fit_rows])
            out_of_fold[method][held_rows] = calibrate(z[held_rows], fold_map)
    per_lead = {m: log_losses(out_of_fold[m], y) for m in CALIBRATIONS}
    difference = per_lead["platt"] - per_lead["isotonic"]  # > 0: isotonic predicts the held-out leads better
    if beats_by_one_standard_error(difference):
        record = {"method": "isotonic", "platt": {"a": record["a"], "c": record["c"]}} | fitters["isotonic"](z, y)
    elif moments is not None and half_lives:
        record["recency"] = recency_choice(z, y, np.asarray(moments), half_lives)
        if record["recency"]["half_life"] is not None:
            weight = recency_weights(np.asarray(moments), record["recency"]["half_life"])
            record |= {"unweighted": {"a": record["a"], "c": record["c"]}} | _fit_platt(z, y, weight)
    record["held_out"] = {
        "folds": n_folds,
        "log_loss": {m: float(per_lead[m].mean()) for m in CALIBRATIONS},
        "isotonic_gain_standard_error": _standard_error(difference),
        "ece": {m: expected_calibration_error(out_of_fold[m], y) for m in CALIBRATIONS},
    }
    return record


def log_losses(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each example's log loss of the probability ``p`` (clipped to [1e-6, 1 - 1e-6])."""
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return -(y * np.log(p) + (1 - y) * np.log1p(-p))


def _standard_error(values: np.ndarray) -> float:
    return float(np.std(values) / np.sqrt(len(values))) if len(values) else 0.0


def beats_by_one_standard_error(difference: np.ndarray) -> bool:
    """The "one standard error" rule: the challenger is taken only when the paired per-example
    difference of held-out losses (``incumbent - challenger``, > 0: the challenger does better)
    has a mean above its standard error. The simpler incumbent stays when the held-out examples
    cannot tell the two apart (the scoring model's probability map, the calibration command's
    relearned points)."""
    difference = np.asarray(difference, dtype=float)
    return bool(len(difference) and difference.mean() > _standard_error(difference))


def simplest_not_beaten(held_out: dict[float, np.ndarray]) -> float:
    """The one-standard-error rule over a grid: ``held_out`` maps each candidate (a penalty: the
    larger, the simpler) to its per-example held-out losses on the same examples; the largest one
    that the lowest-loss candidate does not beat by one standard error of their paired difference
    (:func:`beats_by_one_standard_error`). Paired, because the candidates are judged on the same
    examples: the spread of the examples' losses around their mean, shared by every candidate, says
    nothing about which candidate is better (issue 13, twelfth pass: judged by that spread, the
    calibration command's largest penalty was within "one standard error" of a clearly better one)."""
    lowest = min(held_out, key=lambda k: float(np.mean(held_out[k])))
    return max(k for k, v in held_out.items() if not beats_by_one_standard_error(v - held_out[lowest]))


def expected_calibration_error(p: np.ndarray, y: np.ndarray, bins: int = 10, equal_mass: bool = False) -> float:
    """Weighted mean |mean predicted - observed rate| over equal-width probability bins, or with
    ``equal_mass`` over bins of equal numbers of leads (sorted by probability): equal-width bins leave
    a few leads alone in the upper bins, whose rates are noisy on a slice of a few hundred."""
    p, y = np.asarray(p, dtype=float), np.asarray(y)
    index = np.minimum((p * bins).astype(int), bins - 1)
    if equal_mass:
        index = np.empty(len(p), dtype=int)
        for b, rows in enumerate(np.array_split(np.argsort(p, kind="mergesort"), bins)):
            index[rows] = b
    error = 0.0
    for b in np.unique(index):
        in_bin = index == b
        error += in_bin.mean() * abs(p[in_bin].mean() - y[in_bin].mean())
    return float(error)


def _metrics(p_test: np.ndarray, y_test: np.ndarray, p_train: np.ndarray, y_train: np.ndarray) -> dict:
    from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

    return {
        "roc_auc": float(roc_auc_score(y_test, p_test)),
        "pr_auc": float(average_precision_score(y_test, p_test)),
        "ece": expected_calibration_error(p_test, y_test),
        "ece_equal_mass": expected_calibration_error(p_test, y_test, equal_mass=True),
        "brier": float(brier_score_loss(y_test, p_test)),
        "log_loss": float(log_loss(y_test, np.clip(p_test, 1e-6, 1 - 1e-6), labels=[0, 1])),
        "base_rate": float(y_test.mean()),
        "train_roc_auc": float(roc_auc_score(y_train, p_train)),
    }


def _hgb_roc_auc(x_train: pd.DataFrame, y_train: np.ndarray, x_test: pd.DataFrame, y_test: np.ndarray) -> float:
    """Test ROC AUC of gradient boosting on the same slices, reported for comparison only."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    fitted = HistGradientBoostingClassifier(random_state=0).fit(x_train.to_numpy(), y_train)
    return float(roc_auc_score(y_test, fitted.predict_proba(x_test.to_numpy())[:, 1]))


def rule_contrast(with_rule: np.ndarray, y: np.ndarray) -> dict:
    """Support, lift and its 95 % confidence interval (Katz log method) of one rule, and its flag:
    ``no_contrast`` (fires for >= 95 % or <= 0.5 % of the examples), ``no_support`` (fewer than 30
    examples with it), else ``ok``. Only an ``ok`` rule may be given points."""
    n, k = len(y), int(with_rule.sum())
    share = k / n if n else 0.0
    converted_with, converted_without = float(y[with_rule].sum()), float(y[~with_rule].sum())
    rate_with = converted_with / k if k else None
    rate_without = converted_without / (n - k) if n - k else None
    base = float(y.mean()) if n else 0.0
    lift = rate_with / base if rate_with is not None and base > 0 else None
    low: float | None = None
    high: float | None = None
    if rate_with is not None and rate_without and converted_with:
        # relative risk with vs without the rule, 95 % interval on the log scale
        rr = rate_with / rate_without
        se = math.sqrt(1 / converted_with - 1 / k + 1 / converted_without - 1 / (n - k))
        low, high = rr * math.exp(-1.96 * se), rr * math.exp(1.96 * se)
    if share >= MAX_SHARE or share <= MIN_SHARE:
        flag = "no_contrast"
    elif k < MIN_SUPPORT:
        flag = "no_support"
    else:
        flag = "ok"
    return {
        "examples_with_rule": k,
        "share_with_rule": share,
        "conversion_rate_with_rule": rate_with,
        "lift": lift,
        "lift_ci_low": low,
        "lift_ci_high": high,
        "flag": flag,
    }


def learn_points(x: pd.DataFrame, y: np.ndarray, points_per_doubling: float) -> list[dict]:
    """Points per rule from a logistic regression on the raw ``rule:*`` features.

    Scorecard convention: ``points_per_doubling`` points double the odds, so
    points = coefficient * points_per_doubling / ln 2. A rule without contrast or support
    (:func:`rule_contrast`) is left out of the regression and gets no points (``None``), with its
    flag. Sorted by points, highest first, flagged rules last.
    """
    rules = [f for f in x.columns if f.startswith(RULE_PREFIX)]
    if not rules:
        return []
    contrast = {rule: rule_contrast(x[rule].to_numpy() > 0, y) for rule in rules}
    fitted = [rule for rule in rules if contrast[rule]["flag"] == "ok"]
    coef = dict(zip(fitted, _logistic().fit(x[fitted].to_numpy(), y).coef_[0], strict=True)) if fitted else {}
    points = []
    for rule in rules:
        c = coef.get(rule)
        points.append(
            {
                "rule_id": rule.removeprefix(RULE_PREFIX),
                "coefficient": None if c is None else float(c),
                "odds_ratio": None if c is None else float(math.exp(c)),
                "suggested_points": None if c is None else int(round(c * points_per_doubling / math.log(2))),
            }
            | contrast[rule]
        )
    return sorted(
        points,
        key=lambda row: (row["suggested_points"] is None, -(row["suggested_points"] or 0), row["rule_id"]),
    )


def _utc_seconds(moment: datetime) -> datetime:
    """``moment`` in UTC to the second; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def _verdict(roc_auc: float, min_auc: float) -> tuple[str, str]:
    if roc_auc >= min_auc:
        return "approved", f"test ROC AUC {roc_auc:.3f} meets the minimum of {min_auc:.2f}"
    return "rejected", f"test ROC AUC {roc_auc:.3f} is below the minimum of {min_auc:.2f}"


# --- public API -----------------------------------------------------------------------


def linear_predictor(model: dict, features_wide: pd.DataFrame) -> np.ndarray:
    """``intercept + sum(weight * value)`` over raw values; missing columns and NaN count as 0."""
    names = [f["feature"] for f in model["features"]]
    weights = np.array([f["weight"] for f in model["features"]], dtype=float)
    x = features_wide.reindex(columns=names).fillna(0.0).to_numpy(dtype=float)
    return model["intercept"] + x @ weights


def score(model: dict, features_wide: pd.DataFrame) -> np.ndarray:
    """Calibrated conversion probability per row: the Python reference of the SQL scoring.

    ``model`` is a record from :func:`train` or its :func:`to_dbt_var` form.
    """
    return calibrate(linear_predictor(model, features_wide), calibration_of(model))


def calibration_of(model: dict) -> dict:
    """The calibration map of a :func:`train` record or of its :func:`to_dbt_var` form."""
    if "calibration" in model:
        return model["calibration"]
    if model.get("calibration_method") == "isotonic":
        return {"method": "isotonic", "x": model["calibration_x"], "y": model["calibration_y"]}
    return {"method": "platt", "a": model["calibration_a"], "c": model["calibration_c"]}


def _top_features(x: pd.DataFrame, y: np.ndarray, k: int) -> list[str]:
    """The ``k`` features whose own ROC AUC on (x, y) is furthest from 0.5, in column order."""
    from sklearn.metrics import roc_auc_score

    strength = {f: abs(roc_auc_score(y, x[f].to_numpy()) - 0.5) for f in x.columns if x[f].nunique() > 1}
    best = set(sorted(strength, key=lambda f: (-strength[f], f))[:k])
    return [f for f in x.columns if f in best]


def _attempt(x: dict, y: dict, when: dict, columns: list[str], c: float, with_hgb: bool) -> dict:
    """Fit, calibrate and measure one step on ``columns``; the record's model fields. ``when``: each
    slice's as_of_at (the probability map's recency choice)."""
    fitted = _fit_linear(x["train"][columns], y["train"], c)
    fitted["calibration"] = fit_calibration(
        linear_predictor(fitted, x["calibration"]), y["calibration"], moments=when["calibration"]
    )
    fitted["metrics"] = _metrics(score(fitted, x["test"]), y["test"], score(fitted, x["train"]), y["train"])
    fitted["metrics"]["calibration_roc_auc"] = _calibration_auc(fitted, x, y)
    if with_hgb:
        fitted["metrics"]["hgb_roc_auc"] = _hgb_roc_auc(x["train"], y["train"], x["test"], y["test"])
    return fitted


def out_of_fold_z(
    x: pd.DataFrame, y: np.ndarray, groups: np.ndarray, c: float, folds: int = C_FOLDS
) -> np.ndarray | None:
    """The linear predictor of every row of ``x`` from a model that never saw it: ``folds``-fold
    cross-validation grouped by person (a person's leads and their snapshot ages are in one fold) and
    stratified, fixed seed, each fold's model fitted on the other folds with the same C. None when
    there are fewer persons or outcomes than folds, or a fold's fit rows lack an outcome."""
    from sklearn.model_selection import StratifiedGroupKFold

    y = np.asarray(y, dtype=int)
    if len(np.unique(groups)) < folds or min(int(y.sum()), int(len(y) - y.sum())) < folds:
        return None
    z = np.empty(len(y))
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=0)
    for fit_index, held_index in splitter.split(x, y, groups):
        if y[fit_index].min() == y[fit_index].max():
            return None
        fitted = _fit_linear(x.iloc[fit_index], y[fit_index], c)
        z[held_index] = linear_predictor(fitted, x.iloc[held_index])
    return z


def _attempt_cross_fit(
    x: dict, y: dict, when: dict, groups: np.ndarray, n_leads: int, columns: list[str], c: float, with_hgb: bool
) -> tuple[dict, np.ndarray]:
    """One step with cross-fitted calibration: the model is fitted on the whole fit slice
    (``x["train"]``: the leads' own points first, ``n_leads`` of them, then the snapshots before the
    test slice); its probability map on the out-of-fold linear predictor of those leads
    (:func:`out_of_fold_z`), so the map is learned from leads the model had not seen, and the model
    itself learns from every lead before the test slice. Returns the record's model fields and the
    leads' out-of-fold linear predictor (what the grades and the choice between steps are judged on:
    ``calibration_roc_auc`` is its ROC AUC). ``when["train"]``: the leads' as_of_at (the map's recency
    choice)."""
    from sklearn.metrics import roc_auc_score

    frame, labels = x["train"][columns], y["train"]
    fitted = _fit_linear(frame, labels, c)
    oof = out_of_fold_z(frame, labels, groups, c)
    held_out = "out_of_fold"
    if oof is None:  # too few persons or outcomes to cross-fit: the in-sample predictor, said so
        oof, held_out = linear_predictor(fitted, frame), "in_sample"
    z_leads, y_leads = oof[:n_leads], labels[:n_leads]
    fitted["calibration"] = fit_calibration(z_leads, y_leads, moments=when["train"]) | {"fitted_on": held_out}
    leads = frame.iloc[:n_leads]
    fitted["metrics"] = _metrics(score(fitted, x["test"]), y["test"], score(fitted, leads), y_leads)
    fitted["metrics"]["calibration_roc_auc"] = float(roc_auc_score(y_leads, z_leads))
    if with_hgb:
        fitted["metrics"]["hgb_roc_auc"] = _hgb_roc_auc(frame, labels, x["test"][columns], y["test"])
    return fitted, z_leads


def _calibration_auc(fitted: dict, x: dict, y: dict) -> float:
    """ROC AUC of the linear predictor on the calibration slice (held-out time; Platt is monotone)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y["calibration"], linear_predictor(fitted, x["calibration"])))


def _best_on_calibration(fits: dict[str, dict]) -> dict:
    """The learned step that ranks the calibration slice best (first in METHODS order on a tie)."""
    return max(fits.values(), key=lambda f: f["metrics"]["calibration_roc_auc"])


def _rule_score_model(x: dict, y: dict, when: dict) -> dict:
    """The last fallback: z = lead_score, calibrated (Platt or isotonic) on the calibration slice, or
    with cross-fitted calibration (no calibration slice in ``x``) on the fit slice's leads: the rule
    score learns nothing from them, so no lead needs holding out."""
    if "calibration" not in x:
        x, y = x | {"calibration": x["train"]}, y | {"calibration": y["train"]}
        when = when | {"calibration": when["train"]}
    column = x["train"][list(SCORE_FEATURES)]
    mean, std = float(column.mean().iloc[0]), float(column.std(ddof=0).iloc[0]) or 1.0
    fitted: dict[str, Any] = {
        "intercept": 0.0,
        "intercept_standardised": mean / std,
        "features": [{"feature": SCORE_FEATURES[0], "weight": 1.0, "mean": mean, "std": std, "coef_standardised": std}],
    }
    fitted["calibration"] = fit_calibration(
        linear_predictor(fitted, x["calibration"]), y["calibration"], moments=when["calibration"]
    )
    fitted["metrics"] = _metrics(score(fitted, x["test"]), y["test"], score(fitted, x["train"]), y["train"])
    fitted["metrics"]["calibration_roc_auc"] = _calibration_auc(fitted, x, y)
    return fitted


@single_threaded
def train(
    labels: pd.DataFrame,
    features: pd.DataFrame,
    *,
    min_conversions: int = 100,
    min_calibration_conversions: int = 20,
    calibration_share: float = 0.2,
    test_share: float = 0.2,
    points_per_doubling: float = 20,
    min_auc: float = 0.6,
    grades: str = DEFAULT_GRADES,
    trained_at: datetime | None = None,
    c_grid: tuple = C_GRID,
    calibration: str = "cross_fit",
    rule_features: str = DEFAULT_MODEL_RULE_FEATURES,
    enabled_rules: set[str] | None = None,
) -> dict:
    """Train, calibrate and judge the model; return its JSON-serialisable record.

    ``status`` is ``approved`` (a step reached ``min_auc``, or the rule-score fallback), ``rejected``
    (every learned step below ``min_auc`` and no rule score to fall back on) or ``refused`` (too few
    conversions, or a slice without both outcomes; no weights then). ``method`` names the step used
    (:data:`METHODS`), ``attempts`` what each step tried measured, ``calibration`` the probability
    map (:func:`fit_calibration`: Platt or isotonic, chosen on held-out leads) and, when approved,
    ``grades`` the probability thresholds cut by ``grades`` and which score the grades should use
    (:func:`probability_grades`). ``c_grid``: the L2 strengths the plain step chooses from by
    cross-validation on the fit slice (:func:`choose_c`; default :data:`C_GRID`); one value fixes it
    (``(1.0,)``: C = 1, the default before issue 13's fifth pass). ``calibration``
    (:data:`CALIBRATION_MODES`): ``holdout`` learns the probability map, the choice between the
    steps and the grades on a calibration slice of ``calibration_share`` between train and test;
    ``cross_fit`` fits on every lead before the test slice and learns them from those leads'
    out-of-fold predictions (:func:`out_of_fold_z`; ``calibration_share`` is then 0). ``rule_features``
    and ``enabled_rules``: which rules' features the learned steps use (:func:`model_signals`; the
    learned points still weigh every rule), recorded as ``rule_features`` with ``rule_features_left_out``.
    """
    validate(labels, features)
    model_signals([], rule_features)  # an unknown choice is an error before anything is fitted
    if calibration not in CALIBRATION_MODES:
        raise ValueError(f"calibration must be one of {', '.join(CALIBRATION_MODES)}, not {calibration!r}")
    cross_fit = calibration == "cross_fit"
    if cross_fit:
        calibration_share = 0.0
    if not (0 < test_share < 1 and (cross_fit or 0 < calibration_share) and calibration_share + test_share < 1):
        raise ValueError("calibration_share and test_share must be positive and sum to less than 1")
    trained_at = _utc_seconds(trained_at or datetime.now(UTC))
    fingerprint = data_fingerprint(labels, features)
    slices = split_by_time(labels, calibration_share, test_share)
    if cross_fit:
        del slices["calibration"]  # empty: the fit slice's out-of-fold predictions calibrate
    extra = snapshots_before(labels, slices["test" if cross_fit else "calibration"]["as_of_at"].min())
    labels = primary(labels)
    record: dict[str, Any] = {
        "version": f"lcm-{trained_at:%Y%m%dT%H%M%S}-{fingerprint[:8]}",
        "status": None,
        "reason": None,
        "method": None,
        "trained_at": trained_at.isoformat(),
        "n_examples": len(labels),
        "n_conversions": int(labels["label"].sum()),
        "snapshot_examples": len(extra),
        "snapshot_conversions": int(extra["label"].sum()),
        "min_conversions": min_conversions,
        "min_calibration_conversions": min_calibration_conversions,
        "min_auc": min_auc,
        "calibration_share": calibration_share,
        "calibration_mode": calibration,
        "test_share": test_share,
        "points_per_doubling": points_per_doubling,
        "split": _describe_split(slices),
    }
    every = pd.concat([labels, extra])
    wide = wide_features(every, features) if len(features) else pd.DataFrame(index=every["example_id"])
    has_score = all(f in wide.columns for f in SCORE_FEATURES)
    floor = min_calibration_conversions if has_score else min_conversions
    refusal = _refusal_reason(record["n_examples"], record["n_conversions"], record["split"], floor)
    if refusal:
        return record | {"status": "refused", "reason": refusal}
    signals = model_signals(list(wide.columns), rule_features, enabled_rules)
    record["rule_features"] = rule_features if enabled_rules is not None or rule_features == "checked" else "all"
    record["rule_features_left_out"] = sorted(f for f in wide.columns if f not in signals and f not in SCORE_FEATURES)
    if not signals and not has_score:
        raise ValueError("features has no rows for the training examples")
    x = {name: wide.loc[part["example_id"]] for name, part in slices.items()}
    y = {name: part["label"].to_numpy(dtype=int) for name, part in slices.items()}
    when = {name: part["as_of_at"].to_numpy() for name, part in slices.items()}
    # the learned steps fit on the train slice and the snapshots before the calibration slice; the
    # rule-score fallback and the learned points use the CRM leads' own points only
    fit_rows = pd.concat([slices["train"], extra])
    x_fit = x | {"train": wide.loc[fit_rows["example_id"]]}
    y_fit = y | {"train": fit_rows["label"].to_numpy(dtype=int)}

    attempts: list[dict] = []
    fits: dict[str, dict] = {}
    held_z: dict[str, np.ndarray] = {}  # cross_fit: each learned step's out-of-fold predictor of the fit leads
    chosen: dict | None = None
    # the learned steps count what they learn from and are judged on: the leads' own conversions and
    # those of the snapshots before the calibration slice (the same lead converting, seen at another age)
    learnable = record["n_conversions"] + record["snapshot_conversions"]
    if learnable >= min_conversions and signals:
        record["c_choice"] = (
            choose_c(x_fit["train"][signals], y_fit["train"], fit_rows["person_id"].to_numpy(), c_grid)
            if len(c_grid) > 1
            else {"c": float(c_grid[0]), "held_out_log_loss": None, "folds": 0}
        )
        if rule_features == "checked":
            record["rule_features_check"] = rule_features_check(
                x_fit["train"][signals], y_fit["train"], fit_rows["as_of_at"].to_numpy(),
                np.arange(len(fit_rows)) < len(slices["train"]), signals, record["c_choice"]["c"],
            )  # fmt: skip
            if not record["rule_features_check"]["keep_rule_features"]:
                left = [f for f in signals if rule_of(f) is not None]
                signals = [f for f in signals if rule_of(f) is None]
                record["rule_features_left_out"] = sorted(record["rule_features_left_out"] + left)
                if len(c_grid) > 1:  # the penalty chosen again for the features the steps now use
                    record["c_choice"] = choose_c(
                        x_fit["train"][signals], y_fit["train"], fit_rows["person_id"].to_numpy(), c_grid
                    )
        steps = [
            ("logistic", signals, record["c_choice"]["c"]),
            ("regularised", signals, 0.02),
            ("fewer_features", _top_features(x_fit["train"][signals], y_fit["train"], 8), 0.1),
        ]
        groups = fit_rows["person_id"].to_numpy()
        for method, columns, c in steps:
            if cross_fit:
                fitted, held_z[method] = _attempt_cross_fit(
                    x_fit, y_fit, when, groups, len(slices["train"]), columns, c, with_hgb=method == "logistic"
                )
            else:
                fitted = _attempt(x_fit, y_fit, when, columns, c, with_hgb=method == "logistic")
            fitted |= {"method": method}
            fits[method] = fitted
            attempts.append(
                {
                    "method": method,
                    "features": len(columns),
                    "c": c,
                    "roc_auc": fitted["metrics"]["roc_auc"],
                    "calibration_roc_auc": fitted["metrics"]["calibration_roc_auc"],
                }
            )
            if fitted["metrics"]["roc_auc"] >= min_auc:
                chosen = fitted
                break
    tried = "; ".join(f"{a['method']} test ROC AUC {a['roc_auc']:.3f}" for a in attempts)
    learned_ranks_better = False
    if chosen is None and has_score and fits:
        best, rule = _best_on_calibration(fits), _rule_score_model(x, y, when)
        learned_ranks_better = best["metrics"]["calibration_roc_auc"] > rule["metrics"]["calibration_roc_auc"]
    if chosen is not None:
        record |= chosen
        record["status"], record["reason"] = _verdict(record["metrics"]["roc_auc"], min_auc)
        if record["method"] != "logistic":
            record["reason"] = f"fallback {record['method']}: {record['reason']} ({tried})"
    elif has_score and fits and learned_ranks_better:
        # no learned step reached the minimum on the test slice, but the best of them (on the held-out
        # calibration slice) ranks those leads better than the rule score would: the rule score is
        # the weaker fallback here, so the learned step is used and the record says why
        record |= best
        record["status"] = "approved"
        record["chosen_over_rule_score"] = True
        record["reason"] = (
            f"fallback {best['method']} over the rule score: calibration-slice ROC AUC "
            f"{best['metrics']['calibration_roc_auc']:.3f} vs {rule['metrics']['calibration_roc_auc']:.3f} "
            f"(test {best['metrics']['roc_auc']:.3f} vs {rule['metrics']['roc_auc']:.3f}); "
            f"no step reached the minimum of {min_auc:.2f} ({tried})"
        )
    elif has_score:
        record |= _rule_score_model(x, y, when) | {"method": "rule_score_calibrated"}
        why = tried or (
            f"only {learnable:,} conversions ({record['snapshot_conversions']:,} of them at snapshot ages), "
            f"fewer than the {min_conversions:,} a learned model needs"
        )
        record["status"] = "approved"
        record["reason"] = (
            f"fallback rule_score_calibrated (test ROC AUC {record['metrics']['roc_auc']:.3f}, "
            f"ECE {record['metrics']['ece']:.3f}): {why}; below the minimum of {min_auc:.2f}"
            if attempts
            else f"fallback rule_score_calibrated (test ROC AUC {record['metrics']['roc_auc']:.3f}): {why}"
        )
    else:
        # no rule score to fall back on: the plain model's record, rejected
        record |= fits["logistic"]
        record["status"], record["reason"] = _verdict(record["metrics"]["roc_auc"], min_auc)
        record["reason"] += f" ({tried}; no rule score to fall back on)"
    record["attempts"] = attempts
    if record["status"] == "approved":
        # cross_fit: the grades are judged on the fit leads' out-of-fold predictor (the rule score's is
        # its own: it learns nothing from them)
        judged_z = None
        if cross_fit:
            judged_z = held_z[record["method"]] if record["method"] in held_z else linear_predictor(record, x["train"])
        record["grades"] = probability_grades(record, x, y, grades, judged_z)
    fit_slices = [name for name in ("train", "calibration") if name in x]
    record["learned_points"] = learn_points(
        pd.concat([x[name] for name in fit_slices]),
        np.concatenate([y[name] for name in fit_slices]),
        points_per_doubling,
    )
    return record


def probability_grades(
    model: dict, x: dict, y: dict, grades: str = DEFAULT_GRADES, held_out_z: np.ndarray | None = None
) -> dict:
    """Grade thresholds on the model's probability and the score grades should use.

    The thresholds are cut by ``grades`` (``share:H,P``: the top H of the train and calibration
    leads high_intent, the next up to P potential; ``rate:H,P``: the lowest probability whose leads
    at or above convert at H / P; ``points:H,P``: fixed probabilities), on those leads' own
    probabilities: the test slice never sets a threshold. ``basis`` is ``conversion_probability``
    when the model is learned (not the calibrated rule score) and ranks the calibration slice better
    than the rule score does (held-out time; the test slice only measures), else ``lead_score``: the
    grades stay on the rule table's points. With ``held_out_z`` (cross-fitted calibration: the
    out-of-fold linear predictor of the train slice's leads, no calibration slice) both the
    thresholds and the comparison with the rule score use those out-of-fold predictions.
    """
    from sklearn.metrics import roc_auc_score

    from intent_pipeline.scoring_calibration import parse_grades, thresholds  # it imports this module

    option = parse_grades(grades)
    if held_out_z is None:
        fit_x = pd.concat([x["train"], x["calibration"]])
        fit_y = np.concatenate([y["train"], y["calibration"]])
        fit_p = score(model, fit_x)
        judge_x, judge_y, judge_z = x["calibration"], y["calibration"], linear_predictor(model, x["calibration"])
    else:
        fit_y, fit_p = y["train"], calibrate(held_out_z, calibration_of(model))
        judge_x, judge_y, judge_z = x["train"], y["train"], np.asarray(held_out_z, dtype=float)
    high, potential = thresholds(fit_p, fit_y, option)
    model_auc = float(roc_auc_score(judge_y, judge_z))
    rule_auc = None
    if all(f in judge_x.columns for f in SCORE_FEATURES):
        rule_auc = float(roc_auc_score(judge_y, judge_x[SCORE_FEATURES[0]]))
    learned = model.get("method") != "rule_score_calibrated"
    basis = "conversion_probability" if learned and (rule_auc is None or model_auc > rule_auc) else "lead_score"
    return {
        "basis": basis,
        "option": grades,
        "high_intent": float(high),
        "potential": float(potential),
        "calibration_roc_auc": model_auc,
        "rule_score_calibration_roc_auc": rule_auc,
    }


def to_dbt_var(model: dict) -> dict:
    """The compact form of an approved model that dbt receives as a var."""
    if model.get("status") != "approved":
        raise ValueError(f"model {model.get('version')} is {model.get('status')}, not approved: {model.get('reason')}")
    return {
        "version": model["version"],
        "intercept": model["intercept"],
        **_calibration_var(model["calibration"]),
        # grade thresholds on the probability, and the score the CRM lead grades use (crm_lead_scores)
        **(
            {"grades": {k: model["grades"][k] for k in ("basis", "option", "high_intent", "potential")}}
            if model.get("grades")
            else {}
        ),
        "features": [{"feature": f["feature"], "weight": f["weight"], "mean": f["mean"]} for f in model["features"]],
        # for marts.scoring_rule_suggestions: the rule table next to what the model suggests
        # only rules with points: a flagged rule (no contrast, no support) is never suggested any
        "learned_points": [
            {k: p[k] for k in ("rule_id", "suggested_points", "odds_ratio", "examples_with_rule")}
            | {"conversion_rate_with_rule": p["conversion_rate_with_rule"] or 0.0}
            for p in model.get("learned_points", [])
            if p.get("suggested_points") is not None
        ],
    }


def _calibration_var(calibration: dict) -> dict:
    """The calibration map as flat dbt vars: Platt's two numbers, or the isotonic points."""
    if calibration.get("method", "platt") == "isotonic":
        return {
            "calibration_method": "isotonic",
            "calibration_x": list(calibration["x"]),
            "calibration_y": list(calibration["y"]),
        }
    return {"calibration_method": "platt", "calibration_a": calibration["a"], "calibration_c": calibration["c"]}


def save(model: dict, models_dir: Path) -> Path:
    """Write ``<models_dir>/<version>/model.json`` and ``learned_points.csv``; return that folder."""
    folder = Path(models_dir) / model["version"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MODEL_FILE).write_text(json.dumps(model, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    points = pd.DataFrame(model.get("learned_points", []), columns=list(POINTS_COLUMNS))
    points.to_csv(folder / POINTS_FILE, index=False)
    return folder


def _load_all(models_dir: Path) -> list[dict]:
    """Every saved record, newest ``trained_at`` first."""
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        return []
    records = [json.loads(p.read_text(encoding="utf-8")) for p in models_dir.glob(f"*/{MODEL_FILE}")]
    return sorted(records, key=lambda r: datetime.fromisoformat(r["trained_at"]), reverse=True)


def latest_approved(models_dir: Path) -> dict | None:
    """The newest approved record in ``models_dir``, or None if there is none."""
    return next((r for r in _load_all(models_dir) if r["status"] == "approved"), None)


def history(models_dir: Path) -> list[dict]:
    """All saved runs, newest first: version, trained_at, status, reason, metrics."""
    return [
        {
            "version": r["version"],
            "trained_at": r["trained_at"],
            "status": r["status"],
            "reason": r["reason"],
            "metrics": r.get("metrics"),
        }
        for r in _load_all(models_dir)
    ]
