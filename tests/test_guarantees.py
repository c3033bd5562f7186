"""Thresholds with a finite-sample guarantee (cls_core.evaluation.guarantees).

The promise is checked the only way it can be: by simulation on data from a known
distribution, where each threshold's true precision and recall are computable exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import beta as beta_dist

from cls_core.evaluation.guarantees import GRID, clopper_pearson_lower, guaranteed_thresholds
from cls_core.evaluation.metrics import build_evaluation

# positives' scores ~ Beta(4, 2), negatives' ~ Beta(2, 4), prevalence 0.3
A, B, PREVALENCE = 4.0, 2.0, 0.3


def _true_precision(threshold: float) -> float:
    sp, sn = beta_dist.sf(threshold, A, B), beta_dist.sf(threshold, B, A)
    fired = PREVALENCE * sp + (1 - PREVALENCE) * sn
    return PREVALENCE * sp / fired if fired > 0 else 1.0


def _true_recall(threshold: float) -> float:
    return float(beta_dist.sf(threshold, A, B))


def _sample(rng: np.random.Generator, n: int):  # type: ignore[no-untyped-def]
    y = rng.random(n) < PREVALENCE
    s = np.where(y, rng.beta(A, B, n), rng.beta(B, A, n)).astype(np.float32)
    return build_evaluation(
        np.stack([s, 1 - s], axis=1),
        np.stack([y, ~y], axis=1),
        labels=("pos", "neg"),
        task="multi-label",
    )


@pytest.mark.parametrize(("target", "level"), [("precision", 0.8), ("recall", 0.8)])
def test_the_promise_holds_in_at_least_1_minus_delta_of_repetitions(
    target: str, level: float
) -> None:
    rng = np.random.default_rng(2026)
    delta, repetitions, violations, certified = 0.1, 150, 0, 0
    truth = _true_precision if target == "precision" else _true_recall
    for _ in range(repetitions):
        chosen = guaranteed_thresholds(_sample(rng, 2000), target=target, level=level, delta=delta)[
            0
        ]  # type: ignore[arg-type]
        if chosen.threshold is None:
            continue
        certified += 1
        violations += truth(chosen.threshold) < level
    assert certified >= 0.95 * repetitions  # the data is ample: a threshold is found
    # "holds in at least 1 - delta of repetitions", up to Monte Carlo noise: the count of
    # failures must not be significantly above delta * repetitions (one-sided, 1 %). A
    # method without the guarantee fails about half the time (the next test).
    from scipy.stats import binom

    allowed = int(binom.ppf(0.99, repetitions, delta))
    assert violations <= allowed, (violations, repetitions, allowed)


def test_point_estimate_thresholds_break_the_promise_far_more_often() -> None:
    """Why the guarantee exists: the lowest threshold whose *sample* precision reaches p
    has a true precision below p about half the time."""
    rng = np.random.default_rng(7)
    misses = 0
    for _ in range(60):
        ev = _sample(rng, 2000)
        curve = ev.sweep.curves[0]
        precision = curve.tp / np.maximum(curve.tp + curve.fp, 1)
        ok = np.flatnonzero(precision >= 0.8)
        naive = float(curve.thresholds[ok[-1]])  # lowest threshold meeting p on the sample
        misses += _true_precision(naive) < 0.8
    assert misses / 60 > 0.2


def test_guaranteed_bound_is_below_the_point_estimate_and_meets_the_level() -> None:
    ev = _sample(np.random.default_rng(1), 3000)
    for g in guaranteed_thresholds(ev, target="precision", level=0.75, delta=0.05):
        assert g.threshold is not None and g.threshold in GRID
        assert g.level <= g.bound <= g.point
        fired = ev.scores[:, ev.labels.index(g.label)] >= g.threshold
        assert g.tp + g.fp == int(fired.sum())


def test_unreachable_level_reports_the_best_bound() -> None:
    ev = _sample(np.random.default_rng(2), 500)
    pos = guaranteed_thresholds(ev, target="precision", level=0.999, delta=0.1)[0]
    assert pos.threshold is None and math.isnan(pos.bound)
    assert 0 < pos.best_bound < 0.999


def test_multiclass_uses_the_winner_rule() -> None:
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(3), size=1500)
    y = np.where(rng.random(1500) < 0.8, p.argmax(1), rng.integers(0, 3, 1500))
    ev = build_evaluation(p, y, labels=("a", "b", "c"), task="multi-class")
    for c, g in enumerate(guaranteed_thresholds(ev, target="precision", level=0.7, delta=0.1)):
        if g.threshold is None:
            continue
        answered = (p.argmax(1) == c) & (p[:, c] >= g.threshold)
        assert g.tp + g.fp == int(answered.sum())
        assert g.tp == int((answered & (y == c)).sum())


def test_clopper_pearson_by_hand() -> None:
    # k = n: the lower bound is delta ** (1 / n); k = 0: 0
    assert float(clopper_pearson_lower(10, 10, 0.05)) == pytest.approx(0.05 ** (1 / 10))
    assert float(clopper_pearson_lower(0, 10, 0.05)) == 0.0
    assert float(clopper_pearson_lower(0, 0, 0.05)) == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": "f1", "level": 0.5}, "`target` must be"),
        ({"target": "precision", "level": 1.0}, r"`level` must be in \(0, 1\)"),
        ({"target": "recall", "level": 0.5, "delta": 0.0}, r"`delta` must be in \(0, 0.5\]"),
    ],
)
def test_refusals(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        guaranteed_thresholds(_sample(np.random.default_rng(0), 50), **kwargs)
