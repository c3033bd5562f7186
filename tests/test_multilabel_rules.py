"""Multi-label rules beyond per-class thresholds: exact micro-F1, PCut, RCut."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cls_core.evaluation.metrics import build_evaluation
from cls_core.evaluation.multilabel_rules import (
    micro_f1_thresholds,
    pcut_thresholds,
    rcut_predictions,
)


def _brute_force_micro_f1(scores: np.ndarray, truth: np.ndarray) -> float:
    """Every combination of per-class thresholds (each distinct score, plus above the top
    when the top is below 1.0)."""
    candidates = []
    for c in range(scores.shape[1]):
        values = sorted(set(scores[:, c].tolist()))
        if values[-1] < 1.0:
            values.append(2.0)  # never fires
        candidates.append(values)
    best = 0.0
    for combo in itertools.product(*candidates):
        fired = scores >= np.array(combo, dtype=np.float32)
        den = fired.sum() + truth.sum()
        best = max(best, 2 * (fired & truth).sum() / den if den else 0.0)
    return float(best)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 100_000), decimals=st.sampled_from([1, 2]))
def test_micro_f1_optimum_equals_brute_force(seed: int, decimals: int) -> None:
    rng = np.random.default_rng(seed)
    scores = np.round(rng.random((10, 3)), decimals).astype(np.float32)  # ties and 1.0s
    truth = rng.random((10, 3)) < scores
    if not truth.any():
        truth[0, 0] = True
    ev = build_evaluation(scores, truth, labels=("a", "b", "c"), task="multi-label")
    optimum = micro_f1_thresholds(ev)
    assert optimum.micro_f1 == pytest.approx(_brute_force_micro_f1(scores, truth), abs=1e-12)
    assert np.all((optimum.thresholds >= 0) & (optimum.thresholds <= 1))
    # the thresholds really give that micro-F1 under the project's own metrics
    assert ev.metrics_at(optimum.thresholds).micro.f1 == pytest.approx(optimum.micro_f1, abs=1e-12)


def test_micro_f1_optimum_beats_per_class_f1_thresholds_on_micro_f1() -> None:
    from cls_core.evaluation.thresholds import tune

    rng = np.random.default_rng(5)
    scores = (rng.random((2000, 12)) ** 3).astype(np.float32)
    truth = rng.random((2000, 12)) < scores * np.linspace(0.3, 1.0, 12)
    ev = build_evaluation(scores, truth, labels=[f"c{i}" for i in range(12)], task="multi-label")
    per_class = tune(ev, "f1").metrics.micro.f1
    assert micro_f1_thresholds(ev).micro_f1 >= per_class - 1e-12


def test_pcut_fires_each_class_on_its_share() -> None:
    rng = np.random.default_rng(1)
    scores = rng.random((1000, 4)).astype(np.float32)  # no ties
    truth = rng.random((1000, 4)) < np.array([0.05, 0.1, 0.2, 0.4])
    ev = build_evaluation(scores, truth, labels=list("abcd"), task="multi-label")
    thresholds = pcut_thresholds(ev)
    fired = (scores >= thresholds.astype(np.float32)).sum(axis=0)
    np.testing.assert_array_equal(fired, truth.sum(axis=0))
    given_rates = pcut_thresholds(ev, rates=[0.5, 0.5, 0.5, 0.5])
    assert ((scores >= given_rates.astype(np.float32)).sum(axis=0) == 500).all()
    with pytest.raises(ValueError, match="`rates` must be 4 values in"):
        pcut_thresholds(ev, rates=[2, 0, 0, 0])


def test_rcut_gives_the_top_k_of_each_row() -> None:
    scores = np.array([[0.1, 0.9, 0.5], [0.3, 0.3, 0.2]], dtype=np.float32)
    ev = build_evaluation(scores, scores > 0.4, labels=list("abc"), task="multi-label")
    assert rcut_predictions(ev, 1).tolist() == [[False, True, False], [True, False, False]]
    assert rcut_predictions(ev, 2).sum(axis=1).tolist() == [2, 2]
    with pytest.raises(ValueError, match=r"`k` must be in \[1, 3\]"):
        rcut_predictions(ev, 0)


def test_multilabel_rules_refuse_multiclass() -> None:
    ev = build_evaluation(np.eye(3), [0, 1, 2], labels=list("abc"), task="multi-class")
    for fn in (micro_f1_thresholds, pcut_thresholds):
        with pytest.raises(ValueError, match="is a multi-label rule"):
            fn(ev)
