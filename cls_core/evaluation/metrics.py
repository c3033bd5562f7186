"""Metrics over a whole evaluation set: curves, per-class counts, averages, confusion.

One convention everywhere: **a class fires when ``score >= threshold``**.

The central object is :class:`ScoreSweep`, built once per evaluation set with one sort per
class. It holds, per class, the scores in ascending order and the running count of positives
among them, so the counts at *any* threshold are one binary search away (``searchsorted``)
and every distinct score of a class is a candidate threshold. Moving a threshold never
re-sorts anything: :meth:`Evaluation.metrics_at` costs a few milliseconds at
200,000 examples x 28 classes.

Two decision rules exist, matching :mod:`cls_core.scoring.decisions`:

- ``"one-vs-rest"`` (multi-label, sigmoid): class ``c`` fires for example ``i`` when
  ``scores[i, c] >= thresholds[c]``; the sweep of class ``c`` holds every example.
- ``"winner"`` (multi-class, softmax): the arg-max class ``w`` of an example (ties to the
  lower id) is output when ``scores[i, w] >= thresholds[w]``; otherwise the model abstains.
  The sweep of class ``c`` holds only the examples whose winner is ``c``; the others can
  never be predicted as ``c`` (positives among them are false negatives at any threshold).
  A single ``reject_threshold`` is the same rule with one threshold for every class.

Precision, recall and F-scores use ``zero_division=0`` (0 when the denominator is 0), as
scikit-learn does with ``zero_division=0``. Curves and scores equal scikit-learn's
``precision_recall_curve``, ``roc_curve(drop_intermediate=False)``,
``average_precision_score``, ``roc_auc_score`` and ``precision_recall_fscore_support``
(checked in the tests). This module imports neither TensorFlow nor scikit-learn.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from cls_core.scoring.decisions import TASKS, Task, validate_labels

__all__ = [
    "AverageScores",
    "CardinalityCurve",
    "ClassCurve",
    "ConfusionMatrix",
    "CoverageCurve",
    "Evaluation",
    "MetricsAt",
    "MetricsTracker",
    "ScoreSweep",
    "SweepRule",
    "argsort_scores",
    "as_score_matrix",
    "as_truth",
    "build_evaluation",
    "build_sweep",
    "downsample_indices",
    "fbeta_from_counts",
    "metrics_from_counts",
    "precision_recall_fscore",
]

SweepRule = Literal["one-vs-rest", "winner"]
FloatArray = npt.NDArray[np.floating[Any]]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


# --------------------------------------------------------------------------- validation


def as_score_matrix(scores: npt.ArrayLike, *, name: str = "scores") -> FloatArray:
    """``scores`` as a read-only 2-D float32/float64 array with finite values.

    Raises
    ------
    TypeError
        Not numeric.
    ValueError
        Not 2-D, no examples or no classes, or a NaN/inf cell (its row and column named).
    """
    array = np.asarray(scores)
    if array.dtype.kind in "biu":
        array = array.astype(np.float64)
    elif array.dtype.kind != "f":
        raise TypeError(f"`{name}` must be a numeric array; got dtype {array.dtype}")
    if array.dtype not in (np.float32, np.float64):
        array = array.astype(np.float64)
    if array.ndim != 2:
        raise ValueError(f"`{name}` must be 2-D (n_examples, n_classes); got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(
            f"`{name}` must hold at least one example and one class; got shape {array.shape}"
        )
    finite = np.isfinite(array)
    if not finite.all():
        row, col = (int(i) for i in np.argwhere(~finite)[0])
        raise ValueError(
            f"`{name}` must be finite; got {array[row, col]} at row {row}, column {col}"
        )
    return array


def as_truth(
    truth: npt.ArrayLike, *, n_examples: int, n_classes: int, task: Task
) -> npt.NDArray[Any]:
    """Validate the ground truth for ``task``.

    Multi-class: class ids of shape (n_examples,), ints in ``[0, n_classes)``; returned as
    int64. Multi-label: an indicator matrix of shape (n_examples, n_classes) of bools or
    0/1; returned as bool.

    Raises
    ------
    TypeError, ValueError
        Wrong kind, shape or values (the first bad position is named).
    """
    if task not in TASKS:
        raise ValueError(f"`task` must be one of {', '.join(TASKS)}; got {task!r}")
    array = np.asarray(truth)
    if task == "multi-class":
        if array.dtype.kind not in "iu":
            raise TypeError(
                f"`truth` must hold integer class ids for multi-class; got dtype {array.dtype}"
            )
        if array.shape != (n_examples,):
            raise ValueError(
                f"`truth` must have shape ({n_examples},) for multi-class; got {array.shape}"
            )
        bad = (array < 0) | (array >= n_classes)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"`truth` class ids must be in [0, {n_classes}); got {array[i]} at row {i}"
            )
        return array.astype(np.int64, copy=False)
    if array.dtype.kind not in "biu":
        raise TypeError(
            f"`truth` must be a 0/1 indicator matrix for multi-label; got dtype {array.dtype}"
        )
    if array.shape != (n_examples, n_classes):
        raise ValueError(
            f"`truth` must have shape ({n_examples}, {n_classes}) for multi-label; got {array.shape}"
        )
    if array.dtype.kind != "b":
        bad = (array != 0) & (array != 1)
        if bad.any():
            row, col = (int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                f"`truth` must hold only 0 and 1; got {array[row, col]} at row {row}, column {col}"
            )
        array = array.astype(bool)
    return array


def _as_thresholds(thresholds: float | npt.ArrayLike, n_classes: int) -> npt.NDArray[np.float64]:
    """One threshold per class (a scalar applies to every class); ±inf allowed, NaN refused."""
    values = np.asarray(thresholds)
    if values.dtype.kind not in "iuf":
        raise TypeError(f"`thresholds` must be numbers; got dtype {values.dtype}")
    values = values.astype(np.float64)
    if values.ndim == 0:
        values = np.full(n_classes, float(values))
    if values.shape != (n_classes,):
        raise ValueError(
            f"`thresholds` must be one number or one per class ({n_classes}); got shape {values.shape}"
        )
    bad = np.isnan(values)  # -inf (always fire) and +inf (never fire) are meaningful
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"`thresholds[{i}]` must be a number, not NaN")
    return values


def _check_beta(beta: float) -> float:
    if isinstance(beta, bool) or not isinstance(beta, int | float | np.number):
        raise TypeError(f"`beta` must be a number; got {type(beta).__name__} {beta!r}")
    b = float(beta)
    if not (math.isfinite(b) and b > 0):
        raise ValueError(f"`beta` must be a finite number > 0; got {beta!r}")
    return b


def _readonly(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    array.setflags(write=False)
    return array


# --------------------------------------------------------------------------- sorting


def _ordered_uint32(values: npt.NDArray[np.float32]) -> npt.NDArray[np.uint32]:
    """Map float32 to uint32 so that unsigned order equals float order."""
    bits = (values + np.float32(0.0)).view(np.uint32)  # -0.0 becomes +0.0
    negative = (bits >> np.uint32(31)).astype(bool)
    return np.where(negative, ~bits, bits | np.uint32(0x80000000)).astype(np.uint32)


def _float32_from_ordered(ordered: npt.NDArray[np.uint64]) -> npt.NDArray[np.float32]:
    bits = ordered.astype(np.uint32)
    positive = (bits >> np.uint32(31)).astype(bool)
    return np.where(positive, bits ^ np.uint32(0x80000000), ~bits).view(np.float32)


def _fits_float32(scores: FloatArray) -> bool:
    if scores.dtype == np.float32:
        return True
    with np.errstate(over="ignore"):
        return bool(np.array_equal(scores.astype(np.float32).astype(np.float64), scores))


def argsort_scores(values: FloatArray, *, exact32: bool | None = None) -> npt.NDArray[np.intp]:
    """An ascending order of a 1-D score array (order inside ties unspecified).

    Float32-representable scores are ordered by sorting one uint64 key per score: an
    order-preserving uint32 image of the float in the high half and the position in the
    low half. numpy sorts 64-bit integers with its vectorised (AVX2/AVX-512) sort, about
    3x faster than ``argsort`` of the floats; the positions come back from the low halves.
    """
    if exact32 is None:
        exact32 = _fits_float32(values)
    n = values.shape[0]
    if not exact32 or n >= 2**32:
        return np.argsort(values)
    key = _ordered_uint32(values.astype(np.float32, copy=False)).astype(np.uint64)
    key <<= np.uint64(32)
    key |= np.arange(n, dtype=np.uint64)
    key.sort()
    return (key & np.uint64(0xFFFFFFFF)).astype(np.intp)


def _sort_with_flags(
    values: FloatArray, flags: BoolArray, *, exact32: bool
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """``values`` ascending and ``flags`` carried along (order inside ties unspecified).

    Float32-representable scores: one sort of an integer key ``ordered(score) << 1 | flag``
    (no permutation to gather through; uint32 for scores in [0, 2), else uint64); the
    scores come back from the key's bits.
    """
    if not exact32:
        order = np.argsort(values)
        return values[order], flags[order]
    v32 = values.astype(np.float32, copy=False)
    if v32.size and v32.min() >= 0 and v32.max() < 2:
        # Probabilities: the bits of a float in [0, 2) are below 2**30 and ordered like the
        # floats, so score and flag fit one uint32 key (half the bytes to sort).
        key32 = (v32 + np.float32(0.0)).view(np.uint32) << np.uint32(1)  # -0.0 becomes +0.0
        key32 |= flags
        key32.sort()
        flags32 = (key32 & np.uint32(1)).astype(bool)
        key32 >>= np.uint32(1)
        return key32.view(np.float32).astype(values.dtype, copy=False), flags32
    key = _ordered_uint32(v32).astype(np.uint64)
    key <<= np.uint64(1)
    key |= flags
    key.sort()
    sorted_flags = (key & np.uint64(1)).astype(bool)
    key >>= np.uint64(1)
    return _float32_from_ordered(key).astype(values.dtype, copy=False), sorted_flags


# --------------------------------------------------------------------------- threads

_T = TypeVar("_T")
#: Below this many scores, per-class work runs on the calling thread (hand-offs would cost more).
MIN_PARALLEL_CELLS = 200_000
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()
_IN_WORKER = threading.local()


def _n_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _mark_worker() -> None:
    _IN_WORKER.active = True


def _map_classes(fn: Callable[[int], _T], n_classes: int, *, cells: int) -> list[_T]:
    """``[fn(c) for c in range(n_classes)]``, on a thread per core when ``cells`` is large.

    numpy's sorts, casts and cumulative sums release the GIL, so per-class work runs on
    both cores of a small server. Calls from inside a worker run serially (no nested waits).
    """
    global _POOL
    workers = _n_workers()
    if (
        workers < 2
        or n_classes < 2
        or cells < MIN_PARALLEL_CELLS
        or getattr(_IN_WORKER, "active", False)
    ):
        return [fn(c) for c in range(n_classes)]
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(
                max_workers=workers, thread_name_prefix="cls-sweep", initializer=_mark_worker
            )
        pool = _POOL
    return list(pool.map(fn, range(n_classes)))


def _transposed(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """``array.T`` as a C-contiguous copy, made in row blocks (on both cores when large).

    numpy's own copy of a tall, narrow matrix's transpose walks memory badly (about 3x
    slower at 200,000 x 28).
    """
    rows, cols = array.shape
    out = np.empty((cols, rows), dtype=array.dtype)
    block = 8192

    def copy(i: int) -> None:
        lo = i * block
        out[:, lo : lo + block] = array[lo : lo + block].T

    _map_classes(copy, -(-rows // block), cells=array.size)
    return out


def _float_at_least(threshold: float, dtype: np.dtype[Any]) -> Any:
    """The smallest value of ``dtype`` >= ``threshold``: ``x >= t`` iff ``x >= that`` for x of dtype."""
    if dtype == np.float64:
        return np.float64(threshold)
    t32 = np.float32(threshold)
    if float(t32) < threshold:
        t32 = np.nextafter(t32, np.float32(np.inf))
    return t32


# --------------------------------------------------------------------------- curves


@dataclass(frozen=True, kw_only=True)
class ClassCurve:
    """Counts of one class at every distinct threshold, highest threshold first.

    Attributes
    ----------
    label : str
    thresholds : ndarray (k,), strictly decreasing
        The distinct scores of the class's sweep; point ``i`` describes firing when
        ``score >= thresholds[i]``.
    tp, fp : ndarray of int64 (k,), non-decreasing
        True and false positives at each threshold.
    n_positive, n_negative : int
        Examples whose truth holds / does not hold the class (over the whole set).
    """

    label: str
    thresholds: FloatArray
    tp: IntArray
    fp: IntArray
    n_positive: int
    n_negative: int

    @property
    def fn(self) -> IntArray:
        return self.n_positive - self.tp

    @property
    def precision(self) -> npt.NDArray[np.float64]:
        """``tp / (tp + fp)`` at each threshold (never 0/0: every point predicts something)."""
        return self.tp / np.maximum(self.tp + self.fp, 1)

    @property
    def recall(self) -> npt.NDArray[np.float64]:
        """``tp / n_positive`` (0 when the class has no positives)."""
        return self.tp / max(self.n_positive, 1)

    @property
    def tpr(self) -> npt.NDArray[np.float64]:
        return self.recall

    @property
    def fpr(self) -> npt.NDArray[np.float64]:
        """``fp / n_negative`` (0 when the class has no negatives)."""
        return self.fp / max(self.n_negative, 1)

    def index_at(self, threshold: float) -> int:
        """The curve point in force at ``threshold``: the last ``i`` with ``thresholds[i] >= threshold``.

        -1 when nothing fires (``threshold`` above every score). O(log k).
        """
        return int(np.searchsorted(-self.thresholds, -float(threshold), side="right")) - 1

    def fbeta(self, beta: float = 1.0) -> npt.NDArray[np.float64]:
        """F-beta at each threshold (``zero_division=0``)."""
        return fbeta_from_counts(self.tp, self.fp, self.fn, beta=beta)

    @property
    def average_precision(self) -> float:
        """Area under the step PR curve, ``sum (R_i - R_{i-1}) P_i``; 0 without positives.

        Equals scikit-learn's ``average_precision_score`` on a one-vs-rest sweep.
        """
        if self.n_positive == 0:
            return 0.0
        recall = self.recall
        return float(np.sum(np.diff(recall, prepend=0.0) * self.precision))

    @property
    def roc_auc(self) -> float:
        """Trapezoidal area under ROC from (0, 0); NaN when a class has no positives or no negatives.

        Equals scikit-learn's ``roc_auc_score`` on a one-vs-rest sweep (whose ROC ends at (1, 1)).
        """
        if self.n_positive == 0 or self.n_negative == 0:
            return math.nan
        fpr = np.concatenate([[0.0], self.fpr])
        tpr = np.concatenate([[0.0], self.tpr])
        return float(np.trapezoid(tpr, fpr))


def downsample_indices(
    x: npt.ArrayLike, y: npt.ArrayLike, *, max_points: int = 1000, keep: Sequence[int] = ()
) -> npt.NDArray[np.int64]:
    """Indices of at most ``max_points`` (+ ``len(keep)``) points that preserve a curve's shape.

    Points are taken evenly along the curve's arc length in the unit box (x and y rescaled
    to [0, 1]), so steep and flat parts both keep detail. The first and last points and
    every index in ``keep`` (e.g. the current operating point) are always included.

    Parameters
    ----------
    x, y : array-like of shape (n,)
    max_points : int >= 2
    keep : sequence of int, indices into the curve

    Returns
    -------
    ndarray of int64, increasing, unique.

    Examples
    --------
    >>> downsample_indices(range(10), range(10), max_points=3).tolist()
    [0, 4, 9]
    """
    if isinstance(max_points, bool) or not isinstance(max_points, int | np.integer):
        raise TypeError(f"`max_points` must be an int; got {type(max_points).__name__}")
    if max_points < 2:
        raise ValueError(f"`max_points` must be >= 2; got {max_points}")
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    if xs.ndim != 1 or xs.shape != ys.shape:
        raise ValueError(
            f"`x` and `y` must be 1-D of the same length; got {xs.shape} and {ys.shape}"
        )
    n = xs.shape[0]
    keep_idx = np.asarray(list(keep), dtype=np.int64)
    if keep_idx.size and ((keep_idx < 0) | (keep_idx >= n)).any():
        raise ValueError(f"`keep` indices must be in [0, {n}); got {keep_idx.tolist()}")
    if n <= max_points:
        return np.arange(n, dtype=np.int64)

    def unit(v: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        span = float(v.max() - v.min())
        return (v - v.min()) / span if span > 0 else np.zeros_like(v)

    steps = np.hypot(np.diff(unit(xs)), np.diff(unit(ys)))
    arc = np.concatenate([[0.0], np.cumsum(steps)])
    if arc[-1] == 0:
        picked = np.linspace(0, n - 1, max_points).round().astype(np.int64)
    else:
        targets = np.linspace(0.0, arc[-1], max_points)
        picked = np.searchsorted(arc, targets, side="left").clip(0, n - 1)
    return np.unique(np.concatenate([picked, [0, n - 1], keep_idx]))


# --------------------------------------------------------------------------- sweep


@dataclass(frozen=True, kw_only=True)
class ScoreSweep:
    """Per-class sorted scores and running positive counts: counts at any threshold in O(log n).

    Built by :func:`build_sweep`; read-only. Class ``c`` owns the segment
    ``sorted_scores[offsets[c]:offsets[c + 1]]`` (ascending) and the running counts
    ``cum_positives[offsets[c] + c : offsets[c + 1] + c + 1]`` (one longer, starting at 0):
    ``cum[k]`` is the number of positives among the ``k`` lowest scores of the segment.

    Attributes
    ----------
    labels : tuple of str
    rule : "one-vs-rest" or "winner"
    n_examples : int
    support : ndarray of int64 (n_classes,)
        Positives of each class over the whole set (for "winner", also those whose winner is
        another class).
    sorted_scores, cum_positives, offsets : ndarray
        The segments described above.
    """

    labels: tuple[str, ...]
    rule: SweepRule
    n_examples: int
    support: IntArray
    sorted_scores: FloatArray
    cum_positives: npt.NDArray[np.integer[Any]]
    offsets: IntArray

    @property
    def n_classes(self) -> int:
        return len(self.labels)

    def _segment(self, c: int) -> tuple[FloatArray, npt.NDArray[np.integer[Any]]]:
        lo, hi = int(self.offsets[c]), int(self.offsets[c + 1])
        return self.sorted_scores[lo:hi], self.cum_positives[lo + c : hi + c + 1]

    def counts_at(self, thresholds: float | npt.ArrayLike) -> tuple[IntArray, IntArray, IntArray]:
        """``(tp, fp, fn)`` per class when class ``c`` fires at ``score >= thresholds[c]``.

        O(n_classes * log n_examples): one binary search per class, no sorting.
        """
        t = _as_thresholds(thresholds, self.n_classes)
        tp = np.empty(self.n_classes, dtype=np.int64)
        predicted = np.empty(self.n_classes, dtype=np.int64)
        for c in range(self.n_classes):
            tp[c], predicted[c] = self._class_counts(c, float(t[c]))
        return tp, predicted - tp, self.support - tp

    def _class_counts(self, c: int, threshold: float) -> tuple[int, int]:
        """``(tp, predicted)`` of class ``c`` firing at ``score >= threshold``: one binary search."""
        scores, cum = self._segment(c)
        k = int(
            np.searchsorted(
                scores, _float_at_least(threshold, self.sorted_scores.dtype), side="left"
            )
        )
        return int(cum[-1]) - int(cum[k]), scores.shape[0] - k

    @cached_property
    def curves(self) -> tuple[ClassCurve, ...]:
        """Every class's :class:`ClassCurve` (computed once, on first access)."""

        def curve(c: int) -> ClassCurve:
            scores, cum = self._segment(c)
            n = scores.shape[0]
            if n == 0:
                starts = np.zeros(0, dtype=np.int64)
            else:
                # first index of each run of equal scores: firing at that score keeps [start, n)
                is_start = np.empty(n, dtype=bool)
                is_start[0] = True
                np.not_equal(scores[1:], scores[:-1], out=is_start[1:])
                starts = np.flatnonzero(is_start)[::-1]
            tp = int(cum[-1]) - cum[starts].astype(np.int64)
            fp = (n - starts) - tp
            return ClassCurve(
                label=self.labels[c],
                thresholds=_readonly(scores[starts]),
                tp=_readonly(tp),
                fp=_readonly(fp.astype(np.int64)),
                n_positive=int(self.support[c]),
                n_negative=self.n_examples - int(self.support[c]),
            )

        out = _map_classes(curve, self.n_classes, cells=int(self.sorted_scores.shape[0]))
        return tuple(out)


def _winner(scores: FloatArray) -> tuple[IntArray, FloatArray]:
    winner = np.argmax(scores, axis=1)  # first maximum: ties to the lower class id
    return winner.astype(np.int64), scores[np.arange(scores.shape[0]), winner]


def build_sweep(
    scores: npt.ArrayLike,
    truth: npt.ArrayLike,
    *,
    labels: Sequence[str],
    rule: SweepRule = "one-vs-rest",
) -> ScoreSweep:
    """Sort each class once and count positives: the precomputation behind every metric.

    Parameters
    ----------
    scores : array-like of shape (n_examples, n_classes)
        Finite scores (probabilities or logits); float32 input is kept as float32.
    truth : array-like
        Indicator matrix (n_examples, n_classes) of 0/1 or bool, or for multi-class class
        ids of shape (n_examples,) (turned into an indicator).
    labels : sequence of str, one per class, unique
    rule : "one-vs-rest" or "winner"
        See the module docstring.

    Returns
    -------
    ScoreSweep

    Raises
    ------
    TypeError, ValueError
        Bad scores, truth, labels or rule.

    Examples
    --------
    >>> sweep = build_sweep([[0.9, 0.1], [0.4, 0.6]], [0, 1], labels=["a", "b"])
    >>> [int(v) for v in sweep.counts_at(0.5)[0]]
    [1, 1]
    """
    if rule not in ("one-vs-rest", "winner"):
        raise ValueError(f"`rule` must be 'one-vs-rest' or 'winner'; got {rule!r}")
    s = as_score_matrix(scores)
    n, n_classes = s.shape
    names = validate_labels(labels, n_classes)
    t = np.asarray(truth)
    indicator = (
        _one_hot(as_truth(t, n_examples=n, n_classes=n_classes, task="multi-class"), n_classes)
        if t.ndim == 1
        else as_truth(t, n_examples=n, n_classes=n_classes, task="multi-label")
    )
    return _build_sweep(s, indicator, names, rule)


def _build_sweep(
    s: FloatArray,
    indicator: BoolArray,
    names: tuple[str, ...],
    rule: SweepRule,
    *,
    scores_t: FloatArray | None = None,
    truth_t: BoolArray | None = None,
) -> ScoreSweep:
    """:func:`build_sweep` on validated inputs (``scores_t``/``truth_t``: their transposes, if made)."""
    n, n_classes = s.shape
    exact32 = _fits_float32(s)
    support = indicator.sum(axis=0).astype(np.int64)
    cum_dtype = np.int32 if n < 2**31 - 1 else np.int64
    if rule == "one-vs-rest":
        sorted_scores = np.empty(n * n_classes, dtype=s.dtype)
        cum = np.zeros(n_classes * (n + 1), dtype=cum_dtype)
        # One transpose up front: strided column reads would cost more than the sorts.
        st = _transposed(s) if scores_t is None else scores_t
        tt = _transposed(indicator) if truth_t is None else truth_t

        def sort_class(c: int) -> None:
            values, flags = _sort_with_flags(st[c], tt[c], exact32=exact32)
            sorted_scores[c * n : (c + 1) * n] = values
            np.cumsum(flags, out=cum[c * (n + 1) + 1 : (c + 1) * (n + 1)])

        _map_classes(sort_class, n_classes, cells=n * n_classes)
        offsets = np.arange(n_classes + 1, dtype=np.int64) * n
    else:
        winner, top = _winner(s)
        correct = indicator[np.arange(n), winner]
        if exact32:
            key = (
                (winner.astype(np.uint64) << np.uint64(33))
                | (_ordered_uint32(top.astype(np.float32)).astype(np.uint64) << np.uint64(1))
                | correct
            )
            key.sort()
            sorted_scores = _float32_from_ordered((key >> np.uint64(1)) & np.uint64(0xFFFFFFFF))
            sorted_scores = sorted_scores.astype(s.dtype, copy=False)
            sorted_flags = (key & np.uint64(1)).astype(bool)
        else:
            order = np.lexsort((top, winner))
            sorted_scores, sorted_flags = top[order], correct[order]
        counts = np.bincount(winner, minlength=n_classes)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        cum = np.zeros(n + n_classes, dtype=cum_dtype)
        for c in range(n_classes):
            lo, hi = int(offsets[c]), int(offsets[c + 1])
            np.cumsum(sorted_flags[lo:hi], out=cum[lo + c + 1 : hi + c + 1])
    return ScoreSweep(
        labels=names,
        rule=rule,
        n_examples=n,
        support=_readonly(support),
        sorted_scores=_readonly(sorted_scores),
        cum_positives=_readonly(cum),
        offsets=_readonly(offsets),
    )


def _one_hot(ids: IntArray, n_classes: int) -> BoolArray:
    out = np.zeros((ids.shape[0], n_classes), dtype=bool)
    out[np.arange(ids.shape[0]), ids] = True
    return out


# --------------------------------------------------------------------------- scores


def fbeta_from_counts(
    tp: npt.ArrayLike, fp: npt.ArrayLike, fn: npt.ArrayLike, *, beta: float = 1.0
) -> npt.NDArray[np.float64]:
    """``(1 + b²) tp / ((1 + b²) tp + b² fn + fp)``, 0 where the denominator is 0.

    Examples
    --------
    >>> fbeta_from_counts([1, 0], [1, 0], [0, 0]).tolist()
    [0.6666666666666666, 0.0]
    """
    return _fbeta(tp, fp, fn, _check_beta(beta) ** 2)


def _fbeta(
    tp: npt.ArrayLike, fp: npt.ArrayLike, fn: npt.ArrayLike, b2: float
) -> npt.NDArray[np.float64]:
    tp_ = np.asarray(tp, dtype=np.float64)
    denom = (
        (1 + b2) * tp_ + b2 * np.asarray(fn, dtype=np.float64) + np.asarray(fp, dtype=np.float64)
    )
    return np.divide((1 + b2) * tp_, denom, out=np.zeros_like(denom), where=denom > 0)


def _fbeta_scalar(tp: int, fp: int, fn: int, b2: float) -> float:
    """:func:`_fbeta` of one class's counts, in Python floats (the same operations, in order)."""
    tp_ = float(tp)
    denom = (1 + b2) * tp_ + b2 * float(fn) + float(fp)
    return (1 + b2) * tp_ / denom if denom > 0 else 0.0


def _safe_ratio(num: npt.ArrayLike, den: npt.ArrayLike) -> npt.NDArray[np.float64]:
    n = np.asarray(num, dtype=np.float64)
    d = np.asarray(den, dtype=np.float64)
    return np.divide(n, d, out=np.zeros(np.broadcast(n, d).shape), where=d > 0)


@dataclass(frozen=True, kw_only=True)
class AverageScores:
    """Averaged precision, recall, F1 and F-beta (``zero_division=0``)."""

    precision: float
    recall: float
    f1: float
    fbeta: float


def _per_class_scores(
    tp: IntArray, fp: IntArray, fn: IntArray, *, beta: float
) -> tuple[
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
]:
    """Per-class precision, recall, F1 and F-beta (``zero_division=0``)."""
    return (
        _safe_ratio(tp, tp + fp),
        _safe_ratio(tp, tp + fn),
        _fbeta(tp, fp, fn, 1.0),
        _fbeta(tp, fp, fn, beta**2),
    )


def _averages(
    tp: IntArray,
    fp: IntArray,
    fn: IntArray,
    *,
    beta: float,
    per_class: tuple[npt.NDArray[np.float64], ...] | None = None,
) -> tuple[AverageScores, AverageScores, AverageScores]:
    """Micro, macro and weighted averages from per-class counts (scikit-learn's definitions).

    ``per_class``: :func:`_per_class_scores` of the same counts, when already computed.
    """
    precision, recall, f1, fb = per_class or _per_class_scores(tp, fp, fn, beta=beta)
    stp, sfp, sfn = int(tp.sum()), int(fp.sum()), int(fn.sum())
    # Python floats: the same IEEE operations as the array helpers, without their overhead
    micro = AverageScores(
        precision=stp / (stp + sfp) if stp + sfp > 0 else 0.0,
        recall=stp / (stp + sfn) if stp + sfn > 0 else 0.0,
        f1=_fbeta_scalar(stp, sfp, sfn, 1.0),
        fbeta=_fbeta_scalar(stp, sfp, sfn, beta**2),
    )
    macro = AverageScores(
        precision=float(precision.mean()),
        recall=float(recall.mean()),
        f1=float(f1.mean()),
        fbeta=float(fb.mean()),
    )
    support = (tp + fn).astype(np.float64)
    total = support.sum()
    if total > 0:
        w = support / total
        weighted = AverageScores(
            precision=float(w @ precision),
            recall=float(w @ recall),
            f1=float(w @ f1),
            fbeta=float(w @ fb),
        )
    else:
        weighted = AverageScores(precision=0.0, recall=0.0, f1=0.0, fbeta=0.0)
    return micro, macro, weighted


def _samples_average(
    tp: npt.ArrayLike, predicted: npt.ArrayLike, actual: npt.ArrayLike, *, beta: float
) -> AverageScores:
    """Per-example scores averaged over examples (multi-label ``average="samples"``).

    Per-example counts are small integers (<= n_classes), so the examples are first
    grouped by their (tp, predicted, actual) triple with one ``bincount``; the scores are
    then computed once per distinct triple and weighted by its count.
    """
    tp_ = np.asarray(tp).astype(np.int64)
    pred = np.asarray(predicted).astype(np.int64)
    act = np.asarray(actual).astype(np.int64)
    n = tp_.shape[0]
    if n == 0:
        return AverageScores(precision=0.0, recall=0.0, f1=0.0, fbeta=0.0)
    base = int(max(pred.max(), act.max())) + 1
    counts = np.bincount((tp_ * base + pred) * base + act)
    present = np.flatnonzero(counts)
    return _samples_from_groups(
        present // (base * base),
        (present // base) % base,
        present % base,
        counts[present],
        n,
        beta=beta,
    )


def _samples_from_groups(
    t: npt.NDArray[np.int64],
    p: npt.NDArray[np.int64],
    a: npt.NDArray[np.int64],
    counts: npt.NDArray[np.int64],
    n: int,
    *,
    beta: float,
) -> AverageScores:
    """Samples averages from the distinct (tp, predicted, actual) triples and their counts.

    The triples must come in increasing (tp, predicted, actual) order: every caller
    (from scratch or incremental) then sums the same terms in the same order, so their
    results are equal to the last bit.
    """
    weights = counts / n
    fp, fn = p - t, a - t
    return AverageScores(
        precision=float(weights @ _safe_ratio(t, p)),
        recall=float(weights @ _safe_ratio(t, a)),
        f1=float(weights @ _fbeta(t, fp, fn, 1.0)),
        fbeta=float(weights @ _fbeta(t, fp, fn, beta**2)),
    )


def precision_recall_fscore(
    truth: npt.ArrayLike,
    predicted: npt.ArrayLike,
    *,
    average: Literal["micro", "macro", "weighted", "samples"] | None,
    beta: float = 1.0,
) -> (
    AverageScores | tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]
):
    """Precision, recall and F-beta from indicator matrices (``zero_division=0``).

    Parameters
    ----------
    truth, predicted : array-like of bool or 0/1, shape (n_examples, n_classes)
    average : "micro", "macro", "weighted", "samples" or None
        None returns per-class arrays ``(precision, recall, fbeta)``.
    beta : float > 0

    Returns
    -------
    AverageScores (its ``fbeta`` uses ``beta``), or a tuple of three per-class arrays.

    Raises
    ------
    ValueError
        Shapes differ or ``average`` is unknown.
    """
    t = np.asarray(truth).astype(bool)
    p = np.asarray(predicted).astype(bool)
    if t.shape != p.shape or t.ndim != 2:
        raise ValueError(
            f"`truth` and `predicted` must be 2-D of the same shape; got {t.shape} and {p.shape}"
        )
    b = _check_beta(beta)
    tp = (t & p).sum(axis=0).astype(np.int64)
    fp = (~t & p).sum(axis=0).astype(np.int64)
    fn = (t & ~p).sum(axis=0).astype(np.int64)
    if average is None:
        return (
            _safe_ratio(tp, tp + fp),
            _safe_ratio(tp, tp + fn),
            fbeta_from_counts(tp, fp, fn, beta=b),
        )
    if average == "samples":
        return _samples_average((t & p).sum(axis=1), p.sum(axis=1), t.sum(axis=1), beta=b)
    micro, macro, weighted = _averages(tp, fp, fn, beta=b)
    table = {"micro": micro, "macro": macro, "weighted": weighted}
    if average not in table:
        raise ValueError(
            f"`average` must be micro, macro, weighted, samples or None; got {average!r}"
        )
    return table[average]


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True, kw_only=True)
class MetricsAt:
    """Every metric at one set of thresholds (what a threshold move recomputes).

    Attributes
    ----------
    task, labels
    thresholds : ndarray (n_classes,)
        The effective per-class thresholds (multi-class: ``max(thresholds, reject_threshold)``).
    reject_threshold : float or None
    beta : float
        The beta of ``fbeta`` and of the averages' ``fbeta``.
    tp, fp, fn, tn, support : ndarray of int64 (n_classes,)
        Per-class counts (multi-label: each class's 2x2 table; multi-class: one-vs-rest
        counts of the decisions, an abstention counting as a false negative).
    precision, recall, f1, fbeta : ndarray of float64 (n_classes,)
    micro, macro, weighted : AverageScores
    samples : AverageScores or None
        Multi-label only.
    n_examples : int
    accuracy, coverage, selective_accuracy : float or None
        Multi-class only: correct / all examples (abstaining counts as wrong); answered /
        all; correct / answered (0 when nothing is answered).
    mean_predicted_labels, no_label_share, mean_true_labels : float or None
        Multi-label only.
    """

    task: Task
    labels: tuple[str, ...]
    thresholds: npt.NDArray[np.float64]
    reject_threshold: float | None
    beta: float
    tp: IntArray
    fp: IntArray
    fn: IntArray
    tn: IntArray
    support: IntArray
    precision: npt.NDArray[np.float64]
    recall: npt.NDArray[np.float64]
    f1: npt.NDArray[np.float64]
    fbeta: npt.NDArray[np.float64]
    micro: AverageScores
    macro: AverageScores
    weighted: AverageScores
    samples: AverageScores | None
    n_examples: int
    accuracy: float | None = None
    coverage: float | None = None
    selective_accuracy: float | None = None
    mean_predicted_labels: float | None = None
    no_label_share: float | None = None
    mean_true_labels: float | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per class (label, threshold, precision, recall, f1, support, tp, fp, fn, tn)."""
        return pd.DataFrame(
            {
                "label": list(self.labels),
                "threshold": self.thresholds,
                "precision": self.precision,
                "recall": self.recall,
                "f1": self.f1,
                "support": self.support,
                "tp": self.tp,
                "fp": self.fp,
                "fn": self.fn,
                "tn": self.tn,
            }
        )

    def averages_frame(self) -> pd.DataFrame:
        """One row per average (micro, macro, weighted, and samples when multi-label)."""
        rows = {"micro": self.micro, "macro": self.macro, "weighted": self.weighted}
        if self.samples is not None:
            rows["samples"] = self.samples
        return pd.DataFrame(
            [
                {
                    "average": k,
                    "precision": v.precision,
                    "recall": v.recall,
                    "f1": v.f1,
                    "fbeta": v.fbeta,
                }
                for k, v in rows.items()
            ]
        )


@dataclass(frozen=True, kw_only=True)
class ConfusionMatrix:
    """Multi-class confusion: ``matrix[i, j]`` examples of true class i decided as j.

    The last column (``"(abstain)"``) counts abstentions; it is all zeros without a
    reject threshold. ``labels`` names the rows; ``columns`` the columns.
    """

    labels: tuple[str, ...]
    columns: tuple[str, ...]
    matrix: IntArray

    def top(self, n: int) -> ConfusionMatrix:
        """The ``n`` classes with the most errors (off-diagonal in their row or column)."""
        c = len(self.labels)
        m = self.matrix[:, :c]
        errors = m.sum(axis=0) + self.matrix.sum(axis=1) - 2 * np.diag(m)
        keep = np.sort(np.argsort(-errors, kind="stable")[: max(1, int(n))])
        cols = np.concatenate([keep, [c]])
        return ConfusionMatrix(
            labels=tuple(self.labels[i] for i in keep),
            columns=tuple(self.columns[i] for i in cols),
            matrix=self.matrix[np.ix_(keep, cols)],
        )


@dataclass(frozen=True, kw_only=True)
class CoverageCurve:
    """Multi-class: coverage and accuracy as one global reject threshold moves.

    Point ``i``: answer when the top score ``>= thresholds[i]`` (decreasing thresholds, so
    coverage increases). ``accuracy`` is the accuracy on answered examples.
    """

    thresholds: FloatArray
    coverage: npt.NDArray[np.float64]
    accuracy: npt.NDArray[np.float64]
    n_answered: IntArray
    n_correct: IntArray


@dataclass(frozen=True, kw_only=True)
class CardinalityCurve:
    """Multi-label: mean predicted labels per example and share with none, per global threshold."""

    thresholds: npt.NDArray[np.float64]
    mean_predicted_labels: npt.NDArray[np.float64]
    no_label_share: npt.NDArray[np.float64]
    mean_true_labels: float


@dataclass(frozen=True, kw_only=True)
class Evaluation:
    """An evaluation set ready for interactive analysis: scores, truth and precomputed sweeps.

    Build with :func:`build_evaluation`. Everything here is read-only; threshold moves go
    through :meth:`metrics_at` (milliseconds), never through a re-sort.

    Attributes
    ----------
    task, labels
    scores : ndarray (n_examples, n_classes)
    truth : ndarray of bool (n_examples, n_classes)
        Indicator matrix for both tasks.
    truth_ids : ndarray of int64 (n_examples,) or None
        Multi-class class ids.
    sweep : ScoreSweep
        The decision sweep: "one-vs-rest" for multi-label, "winner" for multi-class.
    """

    task: Task
    labels: tuple[str, ...]
    scores: FloatArray
    truth: BoolArray
    truth_ids: IntArray | None
    sweep: ScoreSweep
    _scores_t: FloatArray = field(repr=False)
    _truth_t: BoolArray = field(repr=False)

    @property
    def n_examples(self) -> int:
        return int(self.scores.shape[0])

    @property
    def n_classes(self) -> int:
        return len(self.labels)

    @property
    def support(self) -> IntArray:
        return self.sweep.support

    @cached_property
    def ranking_sweep(self) -> ScoreSweep:
        """The one-vs-rest sweep (PR/ROC curves, AP, ROC-AUC); the decision sweep for multi-label."""
        if self.sweep.rule == "one-vs-rest":
            return self.sweep
        return build_sweep(self.scores, self.truth, labels=self.labels, rule="one-vs-rest")

    @cached_property
    def _winner(self) -> tuple[IntArray, FloatArray]:
        return _winner(self.scores)

    @cached_property
    def coverage_curve(self) -> CoverageCurve:
        """Coverage vs accuracy for a global reject threshold (multi-class only)."""
        self._require("multi-class", "coverage_curve")
        winner, top = self._winner
        assert self.truth_ids is not None
        correct = winner == self.truth_ids
        scores, flags = _sort_with_flags(top, correct, exact32=_fits_float32(self.scores))
        scores, flags = scores[::-1], flags[::-1]
        n = scores.shape[0]
        last = np.ones(n, dtype=bool)  # last index of each run of equal (descending) scores
        np.not_equal(scores[1:], scores[:-1], out=last[:-1])
        ends = np.flatnonzero(last)
        n_correct = np.cumsum(flags)[ends].astype(np.int64)
        n_answered = (ends + 1).astype(np.int64)
        return CoverageCurve(
            thresholds=_readonly(scores[ends]),
            coverage=_readonly(n_answered / n),
            accuracy=_readonly(n_correct / n_answered),
            n_answered=_readonly(n_answered),
            n_correct=_readonly(n_correct),
        )

    def _require(self, task: Task, what: str) -> None:
        if self.task != task:
            raise ValueError(
                f"`{what}` is only defined for {task} evaluations; this one is {self.task}"
            )

    def effective_thresholds(
        self,
        thresholds: float | npt.ArrayLike | None = None,
        *,
        reject_threshold: float | None = None,
    ) -> npt.NDArray[np.float64]:
        """Per-class thresholds with the reject threshold folded in (multi-class: the max of both).

        ``thresholds=None`` means 0.5 for multi-label and "always answer" (-inf) for
        multi-class.
        """
        if thresholds is None:
            t = np.full(self.n_classes, 0.5 if self.task == "multi-label" else -np.inf)
        else:
            t = _as_thresholds(thresholds, self.n_classes)
        if reject_threshold is not None:
            self._require("multi-class", "reject_threshold")
            r = float(reject_threshold)
            if not math.isfinite(r):
                raise ValueError(f"`reject_threshold` must be finite; got {reject_threshold!r}")
            t = np.maximum(t, r)
        return t

    def metrics_at(
        self,
        thresholds: float | npt.ArrayLike | None = None,
        *,
        reject_threshold: float | None = None,
        beta: float = 1.0,
    ) -> MetricsAt:
        """Every metric when class ``c`` fires at ``score >= thresholds[c]``.

        Parameters
        ----------
        thresholds : float or array-like (n_classes,), optional
            Multi-label default 0.5; multi-class default: always answer (pure arg-max).
        reject_threshold : float, optional
            Multi-class: abstain when the winner's score is below it.
        beta : float, default 1.0

        Returns
        -------
        MetricsAt

        Raises
        ------
        ValueError
            Wrong number of thresholds, non-finite values, a reject threshold for a
            multi-label evaluation.
        """
        b = _check_beta(beta)
        t = self.effective_thresholds(thresholds, reject_threshold=reject_threshold)
        return self._metrics_from_counts(self._trackers.counts_at(t), reject_threshold, b)

    def _metrics_from_counts(
        self, counts: _Counts, reject_threshold: float | None, b: float
    ) -> MetricsAt:
        return metrics_from_counts(
            task=self.task,
            labels=self.labels,
            thresholds=counts.thresholds,
            tp=counts.tp,
            predicted=counts.predicted,
            support=self.support,
            n_examples=self.n_examples,
            reject_threshold=reject_threshold,
            beta=b,
            groups=counts.groups,
            mean_true_labels=self._mean_true_labels if self.task == "multi-label" else None,
        )

    @cached_property
    def _mean_true_labels(self) -> float:
        return float(self._true_per_example.mean())

    @cached_property
    def _trackers(self) -> _TrackerPool:
        return _TrackerPool(self)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle/deepcopy without the tracker pool (it holds a lock; a copy starts its own)."""
        state = self.__dict__.copy()
        state.pop("_trackers", None)
        return state

    @cached_property
    def _true_per_example(self) -> IntArray:
        return self.truth.sum(axis=1).astype(np.int64)

    def _per_example_counts(
        self, thresholds: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.integer[Any]], npt.NDArray[np.integer[Any]]]:
        # Class-major layout: 28 vector passes over n examples beat a row-wise reduction.
        dtype = np.uint8 if self.n_classes < 255 else np.uint32
        tp: npt.NDArray[Any] = np.zeros(self.n_examples, dtype=dtype)
        predicted: npt.NDArray[Any] = np.zeros(self.n_examples, dtype=dtype)
        for c in range(self.n_classes):
            fired = self._scores_t[c] >= _float_at_least(float(thresholds[c]), self._scores_t.dtype)
            predicted += fired
            fired &= self._truth_t[c]
            tp += fired
        return tp, predicted

    def predicted(
        self,
        thresholds: float | npt.ArrayLike | None = None,
        *,
        reject_threshold: float | None = None,
    ) -> npt.NDArray[Any]:
        """The decisions: multi-label a bool matrix (n, C); multi-class ids with -1 for abstain."""
        t = self.effective_thresholds(thresholds, reject_threshold=reject_threshold)
        if self.task == "multi-label":
            return self.scores >= t.astype(self.scores.dtype)[None, :]
        winner, top = self._winner
        return np.where(top >= t[winner], winner, -1)

    def confusion_matrix(
        self,
        thresholds: float | npt.ArrayLike | None = None,
        *,
        reject_threshold: float | None = None,
    ) -> ConfusionMatrix:
        """Multi-class confusion matrix (n_classes x n_classes + 1 abstain column)."""
        self._require("multi-class", "confusion_matrix")
        assert self.truth_ids is not None
        decided = self.predicted(thresholds, reject_threshold=reject_threshold)
        c = self.n_classes
        cols = np.where(decided < 0, c, decided)
        matrix = np.bincount(self.truth_ids * (c + 1) + cols, minlength=c * (c + 1)).reshape(
            c, c + 1
        )
        return ConfusionMatrix(
            labels=self.labels, columns=(*self.labels, "(abstain)"), matrix=matrix.astype(np.int64)
        )

    def cooccurrence(self, thresholds: float | npt.ArrayLike | None = None) -> IntArray:
        """Multi-label: ``out[i, j]`` = examples whose truth holds label i and whose prediction holds j."""
        self._require("multi-label", "cooccurrence")
        t = self.effective_thresholds(thresholds)
        fired = np.empty(self._scores_t.shape, dtype=np.float32)
        for c in range(self.n_classes):
            np.greater_equal(
                self._scores_t[c], _float_at_least(float(t[c]), self._scores_t.dtype), out=fired[c]
            )
        # 0/1 products summed in float32 are exact below 2**24 examples
        if self.n_examples < 2**24:
            product = self._truth_t_float @ fired.T
        else:
            product = self._truth_t_float.astype(np.float64) @ fired.T.astype(np.float64)
        return np.rint(product).astype(np.int64)

    @cached_property
    def _truth_t_float(self) -> npt.NDArray[np.float32]:
        return np.ascontiguousarray(self._truth_t, dtype=np.float32)

    def cardinality_curve(self, thresholds: npt.ArrayLike | None = None) -> CardinalityCurve:
        """Multi-label: predicted labels per example as one global threshold moves.

        Parameters
        ----------
        thresholds : array-like (k,), optional
            Default: 201 points evenly spaced over [min score, max score].
        """
        self._require("multi-label", "cardinality_curve")
        if thresholds is None:
            grid = np.linspace(float(self.scores.min()), float(self.scores.max()), 201)
        else:
            grid = np.asarray(thresholds, dtype=np.float64).reshape(-1)
        n = self.n_examples
        total = np.zeros(grid.shape[0], dtype=np.int64)
        for c in range(self.n_classes):
            seg, _ = self.sweep._segment(c)
            total += n - np.searchsorted(seg, grid.astype(seg.dtype), side="left")
        row_max = self._sorted_row_max
        none = np.searchsorted(row_max, grid.astype(row_max.dtype), side="left")
        return CardinalityCurve(
            thresholds=grid,
            mean_predicted_labels=total / n,
            no_label_share=none / n,
            mean_true_labels=float(self._true_per_example.mean()),
        )

    @cached_property
    def _sorted_row_max(self) -> FloatArray:
        return np.sort(self.scores.max(axis=1))


def metrics_from_counts(
    *,
    task: Task,
    labels: tuple[str, ...],
    thresholds: npt.NDArray[np.float64],
    tp: IntArray,
    predicted: IntArray,
    support: IntArray,
    n_examples: int,
    reject_threshold: float | None = None,
    beta: float = 1.0,
    groups: tuple[IntArray, IntArray, IntArray, IntArray] | None = None,
    mean_true_labels: float | None = None,
) -> MetricsAt:
    """:class:`MetricsAt` from per-class integer counts (what :meth:`Evaluation.metrics_at` does).

    Parameters
    ----------
    task, labels
    thresholds : ndarray (n_classes,)
        The effective thresholds the counts are at.
    tp, predicted, support : ndarray of int64 (n_classes,)
        True positives, decisions for the class and positives in the truth, per class.
    n_examples : int
    reject_threshold : float, optional
    beta : float
    groups : tuple of four int arrays, optional
        Multi-label: the distinct per-example (tp, predicted, actual) triples in
        increasing order and their counts. Without them (counts merged from a pipeline)
        the samples averages and ``no_label_share`` are None.
    mean_true_labels : float, optional
        Multi-label: mean number of true labels per example.

    Returns
    -------
    MetricsAt
    """
    b = _check_beta(beta)
    tp = np.asarray(tp, dtype=np.int64)
    fp = np.asarray(predicted, dtype=np.int64) - tp
    fn = support - tp
    n = int(n_examples)
    tn = n - tp - fp - fn
    per_class = _per_class_scores(tp, fp, fn, beta=b)
    micro, macro, weighted = _averages(tp, fp, fn, beta=b, per_class=per_class)
    precision, recall, f1, fb = per_class
    common: dict[str, Any] = {
        "task": task,
        "labels": labels,
        "thresholds": _readonly(thresholds),
        "reject_threshold": None if reject_threshold is None else float(reject_threshold),
        "beta": b,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "support": support,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "fbeta": fb,
        "micro": micro,
        "macro": macro,
        "weighted": weighted,
        "n_examples": n,
    }
    if task == "multi-class":
        answered = int((tp + fp).sum())
        correct = int(tp.sum())
        return MetricsAt(
            **common,
            samples=None,
            accuracy=correct / n,
            coverage=answered / n,
            selective_accuracy=correct / answered if answered else 0.0,
        )
    if groups is None:
        return MetricsAt(
            **common,
            samples=None,
            mean_predicted_labels=int(np.asarray(predicted).sum()) / n,
            mean_true_labels=mean_true_labels,
        )
    g_tp, g_pred, g_act, g_count = groups
    return MetricsAt(
        **common,
        samples=_samples_from_groups(g_tp, g_pred, g_act, g_count, n, beta=b),
        mean_predicted_labels=int(np.asarray(predicted).sum()) / n,
        no_label_share=int(g_count[g_pred == 0].sum()) / n,
        mean_true_labels=mean_true_labels,
    )


@dataclass(frozen=True)
class _Counts:
    """What :meth:`MetricsTracker.counts_at` hands out: copies, safe to keep."""

    thresholds: npt.NDArray[np.float64]
    tp: IntArray
    predicted: IntArray
    #: multi-label: distinct (tp, predicted, actual) per-example triples, in increasing
    #: order, and how many examples have each
    groups: tuple[IntArray, IntArray, IntArray, IntArray] | None


class MetricsTracker:
    """The integer counts behind :meth:`Evaluation.metrics_at`, moved with the thresholds.

    A threshold move changes only what the moved class touches: its true and predicted
    counts come from one binary search in the sweep, and, multi-label, only the examples
    whose score lies between the old and the new threshold change their per-example
    counts (true positives and predicted labels, behind the samples averages). Those
    per-example counts are kept as a histogram of (tp, predicted, actual) triples, so the
    samples averages follow the move without a pass over every example; micro, macro and
    weighted averages are then a few operations on ``n_classes`` numbers.

    Everything kept is an integer, so the metrics equal a from-scratch computation
    exactly. Not thread-safe: one tracker per caller (``Evaluation.metrics_at`` keeps a
    small pool of them, one per concurrent caller).

    Parameters
    ----------
    evaluation : Evaluation
    """

    def __init__(self, evaluation: Evaluation) -> None:
        self._ev = evaluation
        c = evaluation.n_classes
        self._t: npt.NDArray[np.float64] | None = None
        self._tp = np.zeros(c, dtype=np.int64)
        self._pred = np.zeros(c, dtype=np.int64)
        self._multi_label = evaluation.task == "multi-label"
        actual = evaluation._true_per_example if self._multi_label else None
        a1 = int(actual.max()) + 1 if actual is not None and actual.size else 1
        # key = (tp * (C + 1) + predicted) * (A + 1) + actual, with tp <= actual <= A
        self._stride_pred = a1
        self._stride_tp = (c + 1) * a1
        self._size = a1 * self._stride_tp
        self._act = actual
        #: per example, its (tp, predicted, actual) key; and how many examples have each key
        self._key_dtype: type[np.signedinteger[Any]] = (
            np.int16 if self._size < 2**15 else np.int32 if self._size < 2**31 else np.int64
        )
        self._key_i: npt.NDArray[np.signedinteger[Any]] | None = None
        self._hist: IntArray | None = None

    @property
    def thresholds(self) -> npt.NDArray[np.float64] | None:
        """The effective thresholds the counts are at (None before the first move)."""
        return None if self._t is None else self._t.copy()

    def distance(self, thresholds: npt.NDArray[np.float64]) -> int:
        """How many classes' thresholds differ from ``thresholds`` (n_classes + 1 when fresh)."""
        if self._t is None:
            return self._ev.n_classes + 1
        return int(np.count_nonzero(self._t != thresholds))

    def metrics_at(
        self,
        thresholds: float | npt.ArrayLike | None = None,
        *,
        reject_threshold: float | None = None,
        beta: float = 1.0,
    ) -> MetricsAt:
        """As :meth:`Evaluation.metrics_at`, moving this tracker's counts to the new thresholds."""
        b = _check_beta(beta)
        t = self._ev.effective_thresholds(thresholds, reject_threshold=reject_threshold)
        return self._ev._metrics_from_counts(self.counts_at(t), reject_threshold, b)

    def counts_at(self, thresholds: npt.NDArray[np.float64]) -> _Counts:
        """Move to the effective ``thresholds`` (one per class) and return the counts."""
        t = np.array(thresholds, dtype=np.float64)
        changed = np.flatnonzero(t != self._t) if self._t is not None else None
        if changed is None or changed.size > self._ev.n_classes // 2:
            self._from_scratch(t)
        else:
            for c in changed.tolist():
                self._move_class(c, float(t[c]))
                self._t[c] = t[c]  # type: ignore[index]
        self._t = t
        groups = None
        if self._hist is not None:
            present = np.flatnonzero(self._hist)
            groups = (
                present // self._stride_tp,
                (present // self._stride_pred) % (self._ev.n_classes + 1),
                present % self._stride_pred,
                self._hist[present],
            )
        return _Counts(
            thresholds=t.copy(), tp=self._tp.copy(), predicted=self._pred.copy(), groups=groups
        )

    def _from_scratch(self, t: npt.NDArray[np.float64]) -> None:
        sweep = self._ev.sweep
        for c in range(self._ev.n_classes):
            self._tp[c], self._pred[c] = sweep._class_counts(c, float(t[c]))
        if self._multi_label:
            assert self._act is not None
            tp_i, pred_i = self._ev._per_example_counts(t)
            keys = tp_i.astype(self._key_dtype) * self._key_dtype(self._stride_tp)
            keys += pred_i.astype(self._key_dtype) * self._key_dtype(self._stride_pred)
            keys += self._act.astype(self._key_dtype)
            self._key_i = keys
            self._hist = np.bincount(keys, minlength=self._size).astype(np.int64)

    def _move_class(self, c: int, threshold: float) -> None:
        assert self._t is not None
        ev = self._ev
        self._tp[c], self._pred[c] = ev.sweep._class_counts(c, threshold)
        if not self._multi_label:
            return
        assert self._key_i is not None and self._hist is not None
        dtype = ev._scores_t.dtype
        old = _float_at_least(float(self._t[c]), dtype)
        new = _float_at_least(threshold, dtype)
        if old == new:
            return
        column = ev._scores_t[c]
        between = column >= min(old, new)
        between &= column < max(old, new)
        rows = np.flatnonzero(between)
        if rows.size == 0:
            return
        # each example in [min, max) gains (lower threshold) or loses one predicted label,
        # and one true positive when the class is in its truth
        step = ev._truth_t[c][rows].astype(self._key_dtype)
        step *= self._key_dtype(self._stride_tp)
        step += self._key_dtype(self._stride_pred)
        keys = self._key_i[rows]
        self._hist -= np.bincount(keys, minlength=self._size)
        if new < old:
            keys += step
        else:
            keys -= step
        self._hist += np.bincount(keys, minlength=self._size)
        self._key_i[rows] = keys


class _TrackerPool:
    """Idle :class:`MetricsTracker` objects of one evaluation; each call borrows the nearest.

    Concurrent callers (page sessions sharing a cached evaluation) each get a tracker of
    their own; a caller moving one threshold finds the tracker it left at the previous
    thresholds. Trackers are small (two bytes per example and a histogram).
    """

    def __init__(self, evaluation: Evaluation, size: int = 8) -> None:
        self._ev = evaluation
        self._size = size
        self._idle: list[MetricsTracker] = []
        self._lock = threading.Lock()

    def counts_at(self, thresholds: npt.NDArray[np.float64]) -> _Counts:
        with self._lock:
            if self._idle:
                best = min(range(len(self._idle)), key=lambda i: self._idle[i].distance(thresholds))
                tracker = self._idle.pop(best)
            else:
                tracker = MetricsTracker(self._ev)
        counts = tracker.counts_at(thresholds)  # an exception drops the tracker
        with self._lock:
            self._idle.append(tracker)  # most recently used last
            if len(self._idle) > self._size:
                self._idle.pop(0)
        return counts


def build_evaluation(
    scores: npt.ArrayLike,
    truth: npt.ArrayLike,
    *,
    labels: Sequence[str],
    task: Task,
) -> Evaluation:
    """Validate an evaluation set and precompute its decision sweep (one sort per class).

    Parameters
    ----------
    scores : array-like (n_examples, n_classes)
        Probabilities (softmax for multi-class, sigmoid for multi-label); finite.
    truth : array-like
        Multi-class: class ids (n_examples,). Multi-label: 0/1 indicator (n_examples, n_classes).
    labels : sequence of str
    task : "multi-class" or "multi-label"

    Returns
    -------
    Evaluation

    Raises
    ------
    TypeError, ValueError
        As :func:`as_score_matrix`, :func:`as_truth` and ``validate_labels``.

    Examples
    --------
    >>> ev = build_evaluation([[0.9, 0.1], [0.3, 0.7]], [0, 0], labels=["a", "b"], task="multi-class")
    >>> ev.metrics_at().accuracy
    0.5
    """
    s = as_score_matrix(scores)
    n, n_classes = s.shape
    names = validate_labels(labels, n_classes)
    t = as_truth(truth, n_examples=n, n_classes=n_classes, task=task)
    if task == "multi-class":
        ids: IntArray | None = t
        indicator = _one_hot(t, n_classes)
        rule: SweepRule = "winner"
    else:
        ids = None
        indicator = t
        rule = "one-vs-rest"
    s = _readonly(s.copy()) if s.flags.writeable else s
    if task == "multi-label":  # one transpose, shared by the sweep and per-example counts
        scores_t, truth_t = _readonly(_transposed(s)), _readonly(_transposed(indicator))
        sweep = _build_sweep(s, indicator, names, rule, scores_t=scores_t, truth_t=truth_t)
    else:
        scores_t, truth_t = s, indicator
        sweep = _build_sweep(s, indicator, names, rule)
    return Evaluation(
        task=task,
        labels=names,
        scores=s,
        truth=_readonly(indicator),
        truth_ids=None if ids is None else _readonly(ids),
        sweep=sweep,
        _scores_t=scores_t,
        _truth_t=truth_t,
    )
