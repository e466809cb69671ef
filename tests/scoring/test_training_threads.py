"""Training and calibrating run with one BLAS / OpenMP thread (issue 13): on a loaded machine a pool
of one thread per core spins instead of working, so the limit lives in the code path itself, not in
an OMP_NUM_THREADS that the DAG, the bench and every test would each have to remember."""

from __future__ import annotations

import os

import pytest
from intent_pipeline import scoring_calibration as sc
from intent_pipeline import scoring_model as sm
from threadpoolctl import threadpool_info, threadpool_limits

from tests.scoring.test_calibration import world
from tests.scoring.test_model import TRAINED_AT, synthetic

pytestmark = pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: every pool has one thread anyway")


def most_threads() -> int:
    return max(pool["num_threads"] for pool in threadpool_info())


@pytest.fixture
def threads_at_fit(monkeypatch):
    """The largest thread pool in force each time a model is about to be fitted (LogisticRegression
    through scoring_model._logistic, gradient boosting through _hgb_roc_auc)."""
    seen: list[int] = []
    logistic, hgb = sm._logistic, sm._hgb_roc_auc

    def spy_logistic(*args, **kwargs):
        seen.append(most_threads())
        return logistic(*args, **kwargs)

    def spy_hgb(*args, **kwargs):
        seen.append(most_threads())
        return hgb(*args, **kwargs)

    monkeypatch.setattr(sm, "_logistic", spy_logistic)
    monkeypatch.setattr(sm, "_hgb_roc_auc", spy_hgb)
    return seen


def test_train_fits_with_one_thread_and_gives_the_pools_back(threads_at_fit):
    labels, features, _ = synthetic(1500, seed=3)
    with threadpool_limits(limits=2):
        assert most_threads() == 2  # the premise: without the limit a fit would get two threads
        model = sm.train(labels, features, trained_at=TRAINED_AT)
        after = most_threads()
    assert model["status"] == "approved", model["reason"]
    assert any(m["method"] == "logistic" for m in model["attempts"])
    assert "hgb_roc_auc" in model["metrics"]  # the gradient boosting comparison ran, inside the limit
    assert threads_at_fit and set(threads_at_fit) == {1}, threads_at_fit
    assert after == 2  # the caller's pools are restored


def test_the_calibration_command_fits_with_one_thread(threads_at_fit):
    examples, features, table = world(2000)
    with threadpool_limits(limits=2):
        sc.propose(examples, features, table)
        after = most_threads()
    assert threads_at_fit and set(threads_at_fit) == {1}, threads_at_fit
    assert after == 2


def test_without_the_limit_the_spy_sees_the_pools_of_the_caller(threads_at_fit):
    """The check above can fail: the same fit outside train() sees two threads."""
    with threadpool_limits(limits=2):
        sm._logistic(1.0)
    assert threads_at_fit == [2]
