"""Compare two decision systems on the same rows: two threshold sets, or two models.

A *system* is scores + thresholds (+ a reject threshold for multi-class) on one set of
rows with one truth: the card's thresholds against the tuned ones, or goemotions against
a retrained goemotions, on the same labelled file. :func:`compare_systems` reports per
class the precision, recall and F1 of both, their difference (B − A) with a **paired**
bootstrap interval (each replicate resamples the rows once and measures both systems on
the same resample, so the interval reflects the difference, not two independent
uncertainties), and the rows whose decision changed.

The decision rules are the metrics' own (a class fires when ``score >= threshold``;
multi-class answers the arg-max when it reaches ``max(threshold, reject)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from cls_core.evaluation.examples import _answers
from cls_core.evaluation.metrics import Evaluation, _float_at_least

__all__ = ["Comparison", "System", "compare_systems"]


@dataclass(frozen=True, kw_only=True)
class System:
    """One side of a comparison.

    Attributes
    ----------
    name : str
        What the page calls it ("card thresholds", "tuned", "goemotions-v2").
    evaluation : Evaluation
    thresholds : array-like (n_classes,) or None
        As :meth:`Evaluation.metrics_at` (None: 0.5 / pure arg-max).
    reject_threshold : float or None
    """

    name: str
    evaluation: Evaluation
    thresholds: Any = None
    reject_threshold: float | None = None


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """The result of :func:`compare_systems`.

    Attributes
    ----------
    table : DataFrame
        One line per class, then ``micro``: ``class``, ``support``, for each metric
        ``<metric> A``, ``<metric> B``, ``Δ <metric>`` and its ``low``/``high`` bounds.
    changed_rows : ndarray of int64
        Rows whose decision differs between A and B.
    improved, worsened : int
        Changed rows where B's decision is right (wrong) and A's is wrong (right); for
        multi-label "right" means the row's fired set equals its truth set.
    names : (str, str)
    """

    table: pd.DataFrame
    changed_rows: npt.NDArray[np.int64]
    improved: int
    worsened: int
    names: tuple[str, str]


def _fired(system: System) -> npt.NDArray[np.bool_]:
    """Bool (n, C): which classes each row is given by the system."""
    ev = system.evaluation
    t = ev.effective_thresholds(system.thresholds, reject_threshold=system.reject_threshold)
    if ev.task == "multi-label":
        cut = np.array(
            [_float_at_least(float(v), ev.scores.dtype) for v in t], dtype=ev.scores.dtype
        )
        return ev.scores >= cut[None, :]
    answers = _answers(ev, t)
    fired = np.zeros(ev.scores.shape, dtype=bool)
    rows = np.flatnonzero(answers >= 0)
    fired[rows, answers[rows]] = True
    return fired


def _prf(tp: Any, fp: Any, fn: Any) -> tuple[Any, Any, Any]:
    tp, fp, fn = (np.asarray(x, dtype=np.float64) for x in (tp, fp, fn))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        r = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
    return p, r, f


def compare_systems(
    a: System,
    b: System,
    *,
    bootstrap: int = 500,
    confidence: float = 0.95,
    seed: int = 0,
) -> Comparison:
    """Per-class precision/recall/F1 of two systems on the same rows, with paired intervals.

    Parameters
    ----------
    a, b : System
        Same task, labels, rows and truth.
    bootstrap : int, default 500
        Paired resamples (0 for none, else 100..10000).
    confidence : float, default 0.95
    seed : int, default 0

    Returns
    -------
    Comparison

    Raises
    ------
    ValueError
        The systems disagree on task, labels, number of rows or truth; bad bootstrap
        options.
    """
    ea, eb = a.evaluation, b.evaluation
    if ea.task != eb.task or ea.labels != eb.labels:
        raise ValueError(
            f"the systems must share task and labels; got {ea.task}/{len(ea.labels)} labels "
            f"and {eb.task}/{len(eb.labels)} labels"
        )
    if ea.n_examples != eb.n_examples or not np.array_equal(ea.truth, eb.truth):
        raise ValueError(
            "the systems must be evaluated on the same rows with the same truth; got "
            f"{ea.n_examples} and {eb.n_examples} rows"
            + ("" if ea.n_examples != eb.n_examples else " with different truth")
        )
    if bootstrap != 0 and not 100 <= int(bootstrap) <= 10_000:
        raise ValueError(f"`bootstrap` must be 0 or in [100, 10000]; got {bootstrap!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"`confidence` must be in (0, 1); got {confidence!r}")
    truth = ea.truth
    fa, fb = _fired(a), _fired(b)
    # per-row, per-class outcome counts of each system: tp, fp, fn as int8 (n, C)
    counts = [
        ((f & truth).astype(np.int8), (f & ~truth).astype(np.int8), (~f & truth).astype(np.int8))
        for f in (fa, fb)
    ]
    sums = [tuple(m.sum(axis=0, dtype=np.int64) for m in c) for c in counts]
    metrics = [_prf(*s) for s in sums]
    micro = [_prf(*(x.sum() for x in s)) for s in sums]
    n, n_classes = truth.shape
    names = ("precision", "recall", "f1")
    lows: dict[str, Any] = {}
    highs: dict[str, Any] = {}
    if bootstrap:
        rng = np.random.default_rng(seed)
        # all six (n, C) count matrices side by side: one matrix product per batch of
        # replicates gives every weighted column sum (exact: counts stay below 2**24)
        dtype: Any = np.float32 if n < 2**24 else np.float64
        stacked: npt.NDArray[Any] = np.concatenate([m for c in counts for m in c], axis=1).astype(
            dtype
        )
        deltas = np.empty((int(bootstrap), 3, n_classes + 1), dtype=np.float64)
        batch = max(1, min(int(bootstrap), 2**22 // max(n, 1)))
        for start in range(0, int(bootstrap), batch):
            size = min(batch, int(bootstrap) - start)
            weights: npt.NDArray[Any] = np.stack(
                [np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(size)]
            ).astype(dtype)
            sums_b = (weights @ stacked).astype(np.float64).reshape(size, 2, 3, n_classes)
            for system in range(2):
                tp, fp, fn = (sums_b[:, system, k] for k in range(3))
                pc = _prf(tp, fp, fn)
                pm = _prf(tp.sum(axis=1), fp.sum(axis=1), fn.sum(axis=1))
                for k in range(3):
                    block = np.concatenate([pc[k], pm[k][:, None]], axis=1)
                    if system == 0:
                        deltas[start : start + size, k] = -block  # B - A: A first
                    else:
                        deltas[start : start + size, k] += block
        alpha = (1 - confidence) / 2
        q = np.quantile(deltas, [alpha, 1 - alpha], axis=0)
        for k, name in enumerate(names):
            lows[name], highs[name] = q[0, k], q[1, k]
    table: dict[str, Any] = {
        "class": [*ea.labels, "micro"],
        "support": [*truth.sum(axis=0).astype(int).tolist(), int(truth.sum())],
    }
    for k, name in enumerate(names):
        va = np.append(metrics[0][k], micro[0][k])
        vb = np.append(metrics[1][k], micro[1][k])
        table[f"{name} {a.name}"] = va
        table[f"{name} {b.name}"] = vb
        table[f"Δ {name}"] = vb - va
        table[f"Δ {name} low"] = lows.get(name, np.full(n_classes + 1, np.nan))
        table[f"Δ {name} high"] = highs.get(name, np.full(n_classes + 1, np.nan))
    changed = np.flatnonzero((fa != fb).any(axis=1)).astype(np.int64)
    right_a = (fa == truth).all(axis=1)[changed]
    right_b = (fb == truth).all(axis=1)[changed]
    return Comparison(
        table=pd.DataFrame(table),
        changed_rows=changed,
        improved=int((right_b & ~right_a).sum()),
        worsened=int((right_a & ~right_b).sum()),
        names=(a.name, b.name),
    )
