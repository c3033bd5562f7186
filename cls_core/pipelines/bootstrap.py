"""Poisson bootstrap confidence intervals as a Beam ``CombineFn`` (as TFMA computes them).

The in-process ``tune --bootstrap N`` resamples the rows with replacement (multinomial
counts that sum to n), which needs every row in one place. At scale each row instead gets
an independent Poisson(1) weight per replicate: the weights of different rows are
independent, so each worker weighs its own rows and the replicates' counts merge by sums.
For large n the two resampling schemes agree (the multinomial counts of one row are
Binomial(n, 1/n), which tends to Poisson(1)); a replicate's total weight is then about n,
not exactly n.

A row's weights do not depend on which worker reads it or how the work was split: they
are a counter-based hash (SplitMix64) of the shard's file name, the row's position in it,
the seed and the replicate index, turned into Poisson(1) counts by the inverse CDF.

Per replicate and class the combiner keeps the weighted positives and rows in each block
of the class's *candidate grid* (the same grid the in-process bootstrap searches: every
distinct score when there are at most ``max_candidates``, else that many evenly spaced by
rank plus the point estimate's), and the weighted counts at the point thresholds. The
driver re-optimises the objective on each replicate with the in-process optimiser and
takes the same percentile intervals.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
import numpy as np
import numpy.typing as npt

from cls_core.evaluation.metrics import MetricsAt, fbeta_from_counts
from cls_core.evaluation.thresholds import (
    BootstrapIntervals,
    Objective,
    _interval,
    _pick,
    _pick_reject,
)
from cls_core.pipelines.histogram import ScoreBatch, ScoreHistogram

__all__ = [
    "BootstrapGrid",
    "PoissonBootstrapCombineFn",
    "bootstrap_grid",
    "intervals_from_replicates",
    "poisson_weights",
]

_MASK = (1 << 64) - 1
#: Poisson(1) CDF at 0..19 (the tail past 19 has probability < 1e-18).
_POISSON_CDF = np.cumsum([math.exp(-1.0) / math.factorial(k) for k in range(20)])


def _splitmix64(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def poisson_weights(
    shard: str, rows: npt.ArrayLike, *, seed: int, n_resamples: int
) -> npt.NDArray[np.int64]:
    """Poisson(1) weights of shape (n_rows, n_resamples), a pure function of (shard, row, seed, b).

    Parameters
    ----------
    shard : str
        The rows' file name (its base name: the same files moved elsewhere give the same
        weights).
    rows : array-like of int (n_rows,)
        The rows' positions in the shard.
    seed : int >= 0
    n_resamples : int >= 1

    Examples
    --------
    >>> w = poisson_weights("a.csv", [1, 2], seed=0, n_resamples=3)
    >>> w.shape
    (2, 3)
    """
    digest = hashlib.sha256(f"{shard}\0{int(seed)}".encode()).digest()
    base = np.uint64(int.from_bytes(digest[:8], "little"))
    r = np.asarray(rows, dtype=np.uint64).reshape(-1, 1)
    b = np.arange(n_resamples, dtype=np.uint64).reshape(1, -1)
    with np.errstate(over="ignore"):
        x = _splitmix64(base ^ _splitmix64(r)) + b * np.uint64(0xD1B54A32D192ED03)
    u = (_splitmix64(x) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))
    return np.searchsorted(_POISSON_CDF, u, side="right").astype(np.int64)


@dataclass(frozen=True, kw_only=True)
class BootstrapGrid:
    """What each worker needs: candidate grids and the point decisions.

    Attributes
    ----------
    rule : "one-vs-rest" or "winner"
    grids : tuple of ndarray
        Per class (and, for "winner", the top-score slot last), the candidate thresholds
        ascending; a row falls in the block of the largest candidate <= its score.
    point_thresholds : ndarray (n_classes,)
        The effective point thresholds (reject threshold folded in).
    n_resamples, seed
    """

    rule: str
    grids: tuple[npt.NDArray[np.float64], ...]
    point_thresholds: npt.NDArray[np.float64]
    n_resamples: int
    seed: int


def _grid(
    values: npt.NDArray[np.float64], point: float, max_candidates: int
) -> npt.NDArray[np.float64]:
    if values.size <= max_candidates:
        return values
    keep = np.linspace(0, values.size - 1, max_candidates).round().astype(np.int64)
    at_point = int(np.clip(np.searchsorted(values, point, side="left"), 0, values.size - 1))
    return values[np.unique(np.concatenate([keep, [at_point]]))]


def bootstrap_grid(
    histogram: ScoreHistogram,
    point_thresholds: npt.ArrayLike,
    *,
    n_resamples: int,
    seed: int,
    max_candidates: int = 2048,
) -> BootstrapGrid:
    """The candidate grids of :class:`PoissonBootstrapCombineFn` from the first pass's histogram."""
    t = np.asarray(point_thresholds, dtype=np.float64)
    n_slots = histogram.n_classes + (histogram.rule == "winner")
    grids = []
    for s in range(n_slots):
        values = histogram.slot(s)[0]
        point = float(t[s]) if s < histogram.n_classes else float(t.min()) if t.size else 0.0
        grids.append(_grid(values, point, max_candidates))
    return BootstrapGrid(
        rule=histogram.rule,
        grids=tuple(grids),
        point_thresholds=t,
        n_resamples=int(n_resamples),
        seed=int(seed),
    )


class _Replicates:
    """Per-replicate weighted counts (the accumulator)."""

    def __init__(self, grid: BootstrapGrid, n_classes: int) -> None:
        b = grid.n_resamples
        self.total = np.zeros(b, dtype=np.int64)
        self.support = np.zeros((b, n_classes), dtype=np.int64)
        self.tp = np.zeros((b, n_classes), dtype=np.int64)
        self.predicted = np.zeros((b, n_classes), dtype=np.int64)
        self.block_rows = [np.zeros((b, g.size), dtype=np.int64) for g in grid.grids]
        self.block_pos = [np.zeros((b, g.size), dtype=np.int64) for g in grid.grids]

    def merge(self, other: _Replicates) -> None:
        self.total += other.total
        self.support += other.support
        self.tp += other.tp
        self.predicted += other.predicted
        for mine, theirs in zip(self.block_rows, other.block_rows, strict=True):
            mine += theirs
        for mine, theirs in zip(self.block_pos, other.block_pos, strict=True):
            mine += theirs


def _add_blocks(
    rows: npt.NDArray[np.int64],
    pos: npt.NDArray[np.int64],
    grid: npt.NDArray[np.float64],
    values: npt.NDArray[np.float64],
    flags: npt.NDArray[np.bool_],
    w: npt.NDArray[np.int64],
) -> None:
    """Add the weights ``w`` (n, B) of rows scoring ``values`` into their grid blocks."""
    if values.size == 0 or grid.size == 0:
        return
    block = np.searchsorted(grid, values, side="right") - 1
    inside = block >= 0
    block, flags, w = block[inside], flags[inside], w[inside]
    order = np.argsort(block, kind="stable")
    block, flags, w = block[order], flags[order], w[order]
    starts = np.flatnonzero(np.concatenate([[True], block[1:] != block[:-1]]))
    ids = block[starts]
    rows[:, ids] += np.add.reduceat(w, starts, axis=0).T
    wp = w * flags[:, None]
    pos[:, ids] += np.add.reduceat(wp, starts, axis=0).T


class PoissonBootstrapCombineFn(beam.CombineFn):
    """``beam.CombineGlobally`` of :class:`ScoreBatch` (with ``shard`` and ``rows``) into replicates."""

    def __init__(self, grid: BootstrapGrid, n_classes: int) -> None:
        self._grid = grid
        self._n_classes = n_classes

    def create_accumulator(self) -> _Replicates:
        return _Replicates(self._grid, self._n_classes)

    def add_input(self, acc: _Replicates, batch: ScoreBatch) -> _Replicates:
        g = self._grid
        if batch.rows is None:
            raise ValueError("the Poisson bootstrap needs each batch's row positions (`rows`)")
        n, c_count = batch.scores.shape
        w = poisson_weights(batch.shard, batch.rows, seed=g.seed, n_resamples=g.n_resamples)
        acc.total += w.sum(axis=0)
        scores = np.asarray(batch.scores, dtype=np.float64)
        t = g.point_thresholds
        if g.rule == "one-vs-rest":
            truth = np.asarray(batch.truth, dtype=bool)
            fired = scores >= t[None, :]
            wf = w.T.astype(np.float64)  # (B, n): integer sums below 2**53 stay exact
            acc.support += np.rint(wf @ truth).astype(np.int64)
            acc.tp += np.rint(wf @ (fired & truth)).astype(np.int64)
            acc.predicted += np.rint(wf @ fired).astype(np.int64)
            for c in range(c_count):
                _add_blocks(
                    acc.block_rows[c], acc.block_pos[c], g.grids[c], scores[:, c], truth[:, c], w
                )
            return acc
        ids = np.asarray(batch.truth, dtype=np.int64)
        winner = np.argmax(scores, axis=1)
        top = scores[np.arange(n), winner]
        correct = winner == ids
        answered = top >= t[winner]
        wf = w.T.astype(np.float64)
        onehot_truth = np.zeros((n, c_count), dtype=np.float64)
        onehot_truth[np.arange(n), ids] = 1.0
        onehot_decided = np.zeros((n, c_count), dtype=np.float64)
        onehot_decided[np.arange(n)[answered], winner[answered]] = 1.0
        acc.support += np.rint(wf @ onehot_truth).astype(np.int64)
        acc.predicted += np.rint(wf @ onehot_decided).astype(np.int64)
        acc.tp += np.rint(wf @ (onehot_decided * onehot_truth)).astype(np.int64)
        for c in range(c_count):
            members = np.flatnonzero(winner == c)
            _add_blocks(
                acc.block_rows[c],
                acc.block_pos[c],
                g.grids[c],
                top[members],
                correct[members],
                w[members],
            )
        _add_blocks(acc.block_rows[-1], acc.block_pos[-1], g.grids[-1], top, correct, w)
        return acc

    def merge_accumulators(self, accumulators: Iterable[_Replicates]) -> _Replicates:
        items = iter(accumulators)
        first = next(items)
        for other in items:
            first.merge(other)
        return first

    def extract_output(self, acc: _Replicates) -> _Replicates:
        return acc


def intervals_from_replicates(
    acc: Any,
    grid: BootstrapGrid,
    objective: Objective,
    point: MetricsAt,
    *,
    reject_threshold: float | None = None,
    confidence: float = 0.95,
    min_tp: int = 0,
) -> BootstrapIntervals:
    """Percentile intervals from the replicates, as :func:`~cls_core.evaluation.thresholds.bootstrap_intervals`.

    Each replicate re-optimises the objective on its own weighted counts over the
    candidate grid (a block with zero weight in a replicate is no candidate), with the
    replicate's total weight as its number of examples.
    """
    alpha = 1.0 - float(confidence)
    b_count, n_classes = acc.support.shape
    support = acc.support.astype(np.float64)
    tp = acc.tp.astype(np.float64)
    pred = acc.predicted.astype(np.float64)
    p_samples = np.divide(tp, pred, out=np.zeros_like(tp), where=pred > 0)
    r_samples = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    f_samples = fbeta_from_counts(tp, pred - tp, support - tp)
    point_t = grid.point_thresholds
    thr = np.empty((b_count, n_classes))
    reject_fields: dict[str, float] = {}
    if objective.per_class:
        for c in range(n_classes):
            values = grid.grids[c][::-1]
            rows = acc.block_rows[c][:, ::-1]
            pos = acc.block_pos[c][:, ::-1]
            for b in range(b_count):
                if values.size == 0:
                    thr[b, c] = point_t[c]
                    continue
                pred_c = np.cumsum(rows[b])
                tp_c = np.cumsum(pos[b])
                top = float(values[0])
                never = float(np.nextafter(top, np.inf))
                with_never = not (top <= 1.0 < never)
                cand_t = np.concatenate([[never], values]) if with_never else values
                cand_tp = np.concatenate([[0], tp_c]) if with_never else tp_c
                cand_fp = np.concatenate([[0], pred_c - tp_c]) if with_never else pred_c - tp_c
                valid = np.concatenate([[True], rows[b] > 0]) if with_never else rows[b] > 0
                if min_tp and support[b, c] >= min_tp:
                    valid = valid & ((cand_tp >= min_tp) | ((cand_tp == 0) & (cand_fp == 0)))
                i, _, _ = _pick(
                    cand_tp, cand_fp, float(support[b, c]), float(acc.total[b]), objective, valid
                )
                thr[b, c] = cand_t[i]
        t_lo, t_hi = _interval(thr, point_t, alpha)
    else:
        assert reject_threshold is not None
        values = grid.grids[-1][::-1]
        rows = acc.block_rows[-1][:, ::-1].astype(np.float64)
        pos = acc.block_pos[-1][:, ::-1].astype(np.float64)
        rej_t = np.empty(b_count)
        rej_cov = np.empty(b_count)
        rej_acc = np.empty(b_count)
        k = int(np.searchsorted(-values, -reject_threshold, side="right")) - 1
        for b in range(b_count):
            answered = np.cumsum(rows[b])
            correct = np.cumsum(pos[b])
            total = max(float(acc.total[b]), 1.0)
            cov = answered / total
            accuracy = np.divide(correct, answered, out=np.zeros_like(correct), where=answered > 0)
            i, _ = _pick_reject(cov, accuracy, objective)
            rej_t[b] = float(values[i])
            rej_cov[b] = cov[k] if k >= 0 else 0.0
            rej_acc[b] = accuracy[k] if k >= 0 else 0.0
        t_lo, t_hi = point_t, point_t
        rt = _interval(rej_t, reject_threshold, alpha)
        cv = _interval(rej_cov, float(point.coverage or 0.0), alpha)
        ac = _interval(rej_acc, float(point.selective_accuracy or 0.0), alpha)
        reject_fields = {
            "reject_threshold_low": float(rt[0]),
            "reject_threshold_high": float(rt[1]),
            "coverage_low": float(cv[0]),
            "coverage_high": float(cv[1]),
            "accuracy_low": float(ac[0]),
            "accuracy_high": float(ac[1]),
        }
    p_lo, p_hi = _interval(p_samples, point.precision, alpha)
    r_lo, r_hi = _interval(r_samples, point.recall, alpha)
    f_lo, f_hi = _interval(f_samples, point.f1, alpha)
    return BootstrapIntervals(
        n_resamples=b_count,
        seed=grid.seed,
        confidence=float(confidence),
        threshold_low=np.asarray(t_lo, dtype=np.float64),
        threshold_high=np.asarray(t_hi, dtype=np.float64),
        precision_low=p_lo,
        precision_high=p_hi,
        recall_low=r_lo,
        recall_high=r_hi,
        f1_low=f_lo,
        f1_high=f_hi,
        **reject_fields,
    )
