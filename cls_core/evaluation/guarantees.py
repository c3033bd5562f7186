"""Thresholds with a finite-sample guarantee: "precision ≥ p with confidence 1 − δ".

A point estimate says "precision 0.81 at this threshold on this data". What a team can
promise is weaker and more useful: with probability at least 1 − δ over the draw of the
calibration data, the chosen threshold's precision *on the population* is at least p.

Method: Learn-then-Test (Angelopoulos, Bates, Candès, Jordan & Lei, 2021) with fixed-
sequence testing and exact (Clopper–Pearson) binomial bounds.

- Candidates are a grid fixed before looking at the data (:data:`GRID`: 0, 0.001, …, 1),
  not the data's own scores, so the test sequence does not depend on the sample.
- Precision ≥ p: precision is not monotone in the threshold, and at the highest
  thresholds almost nothing fires, so a test that starts there has no power. Each grid
  threshold's H0 "precision(λ) < p" is tested with the one-sided Clopper–Pearson lower
  bound of TP / (TP + FP) at level δ / |grid| (Bonferroni): every certified threshold is
  then valid simultaneously with probability ≥ 1 − δ, and the lowest one (it fires most
  often) is chosen.
- Recall ≥ r: recall only falls as the threshold rises, so fixed-sequence testing needs no
  correction: from the lowest threshold up, test H0 "recall(λ) < r" with the bound of
  TP / positives at level δ, keep going while it is rejected and stop at the first
  failure; the highest certified threshold is chosen (the best precision among them).

Precision here is the precision of the deployed decision: for multi-label a class fires at
``score >= λ``; for multi-class, at the winner rule (the class is the arg-max and its score
reaches λ). The guarantee assumes the calibration rows are an i.i.d. sample of the traffic
the thresholds will serve (exchangeable with it) and holds per class.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from cls_core.evaluation.metrics import ClassCurve, Evaluation

__all__ = [
    "GRID",
    "GuaranteedThreshold",
    "clopper_pearson_lower",
    "guaranteed_thresholds",
]

Target = Literal["precision", "recall"]
#: The fixed candidate thresholds (chosen before the data is seen): 0, 0.001, …, 1.
GRID: Final = np.round(np.linspace(0.0, 1.0, 1001), 3)


def clopper_pearson_lower(
    successes: npt.ArrayLike, trials: npt.ArrayLike, delta: float
) -> npt.NDArray[np.float64]:
    """One-sided exact lower confidence bound of a binomial proportion (level 1 − δ).

    ``Beta(δ; k, n − k + 1)``; 0 when ``k = 0`` (or ``n = 0``).

    Examples
    --------
    >>> round(float(clopper_pearson_lower(8, 10, 0.05)), 4)
    0.4931
    """
    from scipy.stats import beta

    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bound = beta.ppf(delta, np.maximum(k, 1), np.maximum(n - k + 1, 1))
    return np.where((k > 0) & (n > 0), bound, 0.0).astype(np.float64)


@dataclass(frozen=True, kw_only=True)
class GuaranteedThreshold:
    """The certified threshold of one class.

    Attributes
    ----------
    label : str
    target : "precision" or "recall"
    level : float
        The promised value p (or r).
    delta : float
        The guarantee holds with probability at least ``1 - delta``.
    threshold : float or None
        The chosen threshold, or None when no grid threshold could be certified.
    point : float
        The target metric at ``threshold`` on this data (NaN when None).
    bound : float
        Its Clopper–Pearson lower bound: what is promised (NaN when None).
    recall, precision : float
        Both metrics at ``threshold`` on this data (NaN when None).
    tp, fp, support : int
        Counts at ``threshold`` (0 when None) and the class's positives.
    best_bound : float
        When nothing is certified: the best lower bound any grid threshold reached, so
        the page can say what can be promised instead.
    """

    label: str
    target: Target
    level: float
    delta: float
    threshold: float | None
    point: float
    bound: float
    recall: float
    precision: float
    tp: int
    fp: int
    support: int
    best_bound: float


def _counts_on_grid(curve: ClassCurve) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """TP and FP when the class fires at ``score >= GRID[i]``, for every grid point."""
    descending = curve.thresholds.astype(np.float64)
    ascending = descending[::-1]
    firing = descending.shape[0] - np.searchsorted(ascending, GRID, side="left")
    tp = np.where(firing > 0, curve.tp[np.maximum(firing - 1, 0)], 0).astype(np.int64)
    fp = np.where(firing > 0, curve.fp[np.maximum(firing - 1, 0)], 0).astype(np.int64)
    return tp, fp


def guaranteed_thresholds(
    evaluation: Evaluation,
    *,
    target: Target,
    level: float,
    delta: float = 0.1,
) -> tuple[GuaranteedThreshold, ...]:
    """Per class, the threshold that meets ``target ≥ level`` with confidence ``1 − delta``.

    Parameters
    ----------
    evaluation : Evaluation
        Calibration data: rows that played no part in training or in choosing anything else.
    target : "precision" or "recall"
    level : float
        In (0, 1).
    delta : float, default 0.1
        In (0, 0.5].

    Returns
    -------
    tuple of GuaranteedThreshold, in class order.

    Raises
    ------
    ValueError
        ``target``, ``level`` or ``delta`` out of range.
    """
    if target not in ("precision", "recall"):
        raise ValueError(f"`target` must be 'precision' or 'recall'; got {target!r}")
    if not (math.isfinite(level) and 0 < level < 1):
        raise ValueError(f"`level` must be in (0, 1); got {level!r}")
    if not (math.isfinite(delta) and 0 < delta <= 0.5):
        raise ValueError(f"`delta` must be in (0, 0.5]; got {delta!r}")
    out = []
    for curve in evaluation.sweep.curves:
        tp, fp = _counts_on_grid(curve)
        positives = int(curve.n_positive)
        if target == "precision":
            bound = clopper_pearson_lower(tp, tp + fp, delta / GRID.shape[0])  # Bonferroni
            certified = np.flatnonzero(bound >= level)
            chosen = int(certified[0]) if certified.size else -1  # the lowest: most recall
        else:
            bound = clopper_pearson_lower(tp, np.full_like(tp, positives), delta)
            passed = bound >= level  # lowest threshold first: a fixed sequence
            n_certified = int(np.argmin(passed)) if not passed.all() else passed.shape[0]
            chosen = n_certified - 1  # the highest certified: most precision
        best = float(bound.max()) if bound.size else 0.0
        if chosen < 0:
            out.append(
                GuaranteedThreshold(
                    label=curve.label,
                    target=target,
                    level=level,
                    delta=delta,
                    threshold=None,
                    point=math.nan,
                    bound=math.nan,
                    recall=math.nan,
                    precision=math.nan,
                    tp=0,
                    fp=0,
                    support=positives,
                    best_bound=best,
                )
            )
            continue
        i = chosen
        t_p, f_p = int(tp[i]), int(fp[i])
        precision = t_p / (t_p + f_p) if t_p + f_p else 0.0
        recall = t_p / positives if positives else 0.0
        out.append(
            GuaranteedThreshold(
                label=curve.label,
                target=target,
                level=level,
                delta=delta,
                threshold=float(GRID[i]),
                point=precision if target == "precision" else recall,
                bound=float(bound[i]),
                recall=recall,
                precision=precision,
                tp=t_p,
                fp=f_p,
                support=positives,
                best_bound=best,
            )
        )
    return tuple(out)
