"""More multi-label decision rules: the exact micro-F1 optimum, PCut and RCut.

Yang (SIGIR 2001) names three ways to turn multi-label scores into labels: SCut (a
threshold per class, what the rest of this project tunes), PCut (per class, fire on the
share of examples the class has in training) and RCut (the top k classes of every
example). Per-class F1 thresholds maximise macro-F1 class by class; micro-F1 couples the
classes, and its optimum over per-class thresholds is found exactly here.

- :func:`micro_f1_thresholds`: micro-F1 = 2·TP / (predicted + actual positives), a ratio
  of sums over classes. Dinkelbach's method maximises it exactly over every per-class
  threshold combination (each class's distinct scores, plus "never fire"): for a fixed F,
  ``max Σ_c (2·TP_c − F·predicted_c)`` separates into one independent search per class;
  F is then updated to the micro-F1 of that choice, and the iteration stops when F no
  longer increases (it cannot cycle: F increases strictly until the optimum).
- :func:`pcut_thresholds`: class c fires on (at least) ``round(rate_c · n)`` examples,
  ``rate_c`` being the class's frequency in training (or, by default, in this data).
- :func:`rcut_predictions`: the k highest-scoring classes of every example; a top-k rule
  is not a set of per-class thresholds, so it cannot be written to thresholds.json.

All three fire at ``score >= threshold`` like every other rule here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cls_core.evaluation.metrics import Evaluation

__all__ = [
    "MicroF1Optimum",
    "micro_f1_thresholds",
    "pcut_thresholds",
    "rcut_predictions",
]


@dataclass(frozen=True, kw_only=True)
class MicroF1Optimum:
    """The per-class thresholds that maximise micro-F1, and how they were found.

    Attributes
    ----------
    thresholds : ndarray (n_classes,)
        In [0, 1]. A class best left silent gets a threshold just above its highest
        score; when that score is 1.0 nothing is above it, so "never fire" is not a
        candidate for that class.
    micro_f1 : float
        Micro-F1 at ``thresholds`` on this data.
    iterations : int
        Dinkelbach steps taken.
    """

    thresholds: npt.NDArray[np.float64]
    micro_f1: float
    iterations: int


def _require_multilabel(evaluation: Evaluation, what: str) -> None:
    if evaluation.task != "multi-label":
        raise ValueError(f"{what} is a multi-label rule; this evaluation is {evaluation.task}")


def micro_f1_thresholds(evaluation: Evaluation, *, max_iterations: int = 100) -> MicroF1Optimum:
    """The exact micro-F1 optimum over per-class thresholds (Dinkelbach's method).

    Raises
    ------
    ValueError
        A multi-class evaluation.
    """
    _require_multilabel(evaluation, "micro-F1 thresholds")
    curves = evaluation.sweep.curves
    positives = int(sum(c.n_positive for c in curves))
    candidates = []
    never_ok = []  # "never fire" needs a threshold above the top score: not past 1.0
    for curve in curves:
        top = float(curve.thresholds[0]) if curve.thresholds.size else 0.0
        mask = np.ones(curve.tp.shape[0] + 1, dtype=bool)
        mask[0] = top < 1.0
        never_ok.append(mask)
        # "never fire" first, then every distinct score, highest first
        tp = np.concatenate([[0], curve.tp]).astype(np.int64)
        pred = np.concatenate([[0], curve.tp + curve.fp]).astype(np.int64)
        candidates.append((tp, pred))
    f = 0.0
    chosen = [0] * len(curves)
    iterations = 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007
        # for this F, each class independently maximises 2*TP - F*predicted (exact ties:
        # the first, i.e. the highest threshold, is kept: fewer labels for the same value)
        chosen = [
            int(np.argmax(np.where(realizable, 2 * tp - f * pred, -np.inf)))
            for (tp, pred), realizable in zip(candidates, never_ok, strict=True)
        ]
        total_tp = sum(int(tp[i]) for (tp, _), i in zip(candidates, chosen, strict=True))
        total_pred = sum(int(pred[i]) for (_, pred), i in zip(candidates, chosen, strict=True))
        denominator = total_pred + positives
        new_f = 2 * total_tp / denominator if denominator else 0.0
        if new_f <= f + 1e-15:
            break
        f = new_f
    thresholds = np.empty(len(curves), dtype=np.float64)
    for c, (curve, i) in enumerate(zip(curves, chosen, strict=True)):
        if i == 0:  # never fire: just above the top score (realizable: it is below 1.0)
            top = float(curve.thresholds[0]) if curve.thresholds.size else 0.0
            thresholds[c] = min(float(np.nextafter(np.float32(top), np.float32(2))), 1.0)
        else:
            thresholds[c] = float(curve.thresholds[i - 1])
    thresholds.setflags(write=False)
    return MicroF1Optimum(thresholds=thresholds, micro_f1=f, iterations=iterations)


def pcut_thresholds(
    evaluation: Evaluation, *, rates: npt.ArrayLike | None = None
) -> npt.NDArray[np.float64]:
    """PCut: per class, the threshold at which it fires on its share of the examples.

    Parameters
    ----------
    evaluation : Evaluation
    rates : array-like (n_classes,), optional
        Each class's frequency in training, in [0, 1]. Default: its frequency in this
        evaluation's truth.

    Returns
    -------
    ndarray (n_classes,)
        The ``k``-th highest score of class c, ``k = round(rates[c] * n)`` (at least 1);
        ties at that score fire together, so a class may fire slightly more often.

    Raises
    ------
    ValueError
        A multi-class evaluation, or rates of the wrong shape or outside [0, 1].
    """
    _require_multilabel(evaluation, "PCut")
    n, n_classes = evaluation.scores.shape
    if rates is None:
        r = evaluation.truth.mean(axis=0)
    else:
        r = np.asarray(rates, dtype=np.float64).reshape(-1)
        if r.shape[0] != n_classes or not np.all((r >= 0) & (r <= 1)):
            raise ValueError(f"`rates` must be {n_classes} values in [0, 1]; got {r.tolist()[:5]}…")
    k = np.clip(np.rint(r * n).astype(np.int64), 1, n)
    out = np.empty(n_classes, dtype=np.float64)
    for c in range(n_classes):
        column = evaluation.scores[:, c]
        out[c] = float(np.partition(column, n - k[c])[n - k[c]])
    return out


def rcut_predictions(evaluation: Evaluation, k: int) -> npt.NDArray[np.bool_]:
    """RCut: each example gets its ``k`` highest-scoring classes (ties: lower class id first).

    Returns
    -------
    ndarray of bool (n_examples, n_classes)

    Raises
    ------
    ValueError
        ``k`` not in [1, n_classes], or a multi-class evaluation.
    """
    _require_multilabel(evaluation, "RCut")
    n, n_classes = evaluation.scores.shape
    if not 1 <= int(k) <= n_classes:
        raise ValueError(f"`k` must be in [1, {n_classes}]; got {k!r}")
    order = np.argsort(-evaluation.scores, axis=1, kind="stable")[:, : int(k)]
    fired = np.zeros((n, n_classes), dtype=bool)
    np.put_along_axis(fired, order, True, axis=1)
    return fired
