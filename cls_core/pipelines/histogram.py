"""Per-class score histograms merged across workers: the statistic behind ``tune --runner``.

The in-process ``tune`` sorts every class's scores once (:class:`~cls_core.evaluation.metrics.ScoreSweep`)
and searches each class's *distinct* scores. Everything its optimisers read is, per class,
the number of positives and negatives at each distinct score (the curve's true and false
positives at a threshold are the sums over the scores >= it). This module keeps exactly
that, compactly, so it can be built in pieces on many workers and merged:

- A :class:`ScoreHistogram` holds, per *slot*, the sorted distinct score keys (``uint64``:
  an order-preserving image of the float64 value, so sorting keys sorts scores), and two
  ``int64`` arrays of positives and negatives at each key: 24 bytes per distinct score.
  New scores wait in a pending buffer and are merged by sort when the buffer is as large
  as the histogram (amortised ``O(n log n)``); two histograms merge by a sorted union.
- Slots: multi-label ("one-vs-rest") has one slot per class (every row; positive = the
  truth holds the class). Multi-class ("winner") has one slot per class holding the rows
  whose arg-max is that class (positive = the truth is that class), exactly the in-process
  decision sweep, plus one slot for every row's top score (positive = the arg-max is
  right): the in-process coverage curve of a reject threshold.

Exact by default. Keys are float64 because the in-process reader gives float64 scores for
CSV/TSV/JSON lines (and float32 only for float32 Parquet columns, which float64 holds
exactly). When a slot's distinct keys pass ``max_distinct``, the slot switches to buckets:
the lowest ``level`` bits of its keys are cleared, the smallest ``level`` that brings the
slot back under the cap. For scores >= 0 (probabilities) clearing low bits of the float's
bit pattern rounds it *down* to a grid of ``52 - level`` kept mantissa bits, so:

- every bucket edge is a threshold whose counts are still exact (a bucket holds exactly
  the scores in ``[edge, next edge)``);
- every score ``v`` lies at most ``2**-(52 - level) * v`` above its bucket's edge: that is
  the largest distance between any threshold (the exact optimum included) and the grid
  the bucketed search chooses from (:func:`bucket_relative_error`).

Merging is independent of how rows were split and in which order accumulators merge:
truncating to a level and then to a higher one equals truncating to the higher one, a
subset of rows never needs a higher level than the whole set, so every partial result
sits at or below the whole set's level and the final level is the smallest one that fits
the whole set (the property test checks this).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import apache_beam as beam
import numpy as np
import numpy.typing as npt

from cls_core.evaluation.metrics import ClassCurve, CoverageCurve, SweepRule

__all__ = [
    "BYTES_PER_DISTINCT",
    "DEFAULT_MAX_DISTINCT",
    "MANTISSA_BITS",
    "HistogramCombineFn",
    "ScoreBatch",
    "ScoreHistogram",
    "bucket_relative_error",
    "keys_from_scores",
    "scores_from_keys",
]

#: Mantissa bits of a float64 (the keys' resolution when exact).
MANTISSA_BITS = 52
#: Bytes kept per distinct score of a slot: a uint64 key and two int64 counts.
BYTES_PER_DISTINCT = 24
#: Default cap on a slot's distinct scores before bucketing: 2**20 = 1,048,576 keys, 24 MiB
#: per class and accumulator (28 classes: at most 0.7 GiB while merging). Up to a million
#: distinct scores per class stay exact; past it the grid keeps >= 15 mantissa bits for
#: probabilities spread over [1e-9, 1] (relative threshold error <= 2**-15 = 3.1e-5).
DEFAULT_MAX_DISTINCT = 1 << 20
_SIGN = np.uint64(1 << 63)
_MAX_LEVEL = 62

UInt64Array = npt.NDArray[np.uint64]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def keys_from_scores(scores: npt.ArrayLike) -> UInt64Array:
    """Order-preserving uint64 keys of float scores (``a < b`` iff ``key(a) < key(b)``).

    Scores are taken as float64 (float32 values exactly); ``-0.0`` becomes ``+0.0``.
    """
    bits = (np.asarray(scores, dtype=np.float64) + 0.0).view(np.uint64)
    negative = (bits >> np.uint64(63)).astype(bool)
    return np.where(negative, ~bits, bits | _SIGN).astype(np.uint64)


def scores_from_keys(keys: npt.ArrayLike) -> FloatArray:
    """The float64 scores of :func:`keys_from_scores` keys."""
    k = np.asarray(keys, dtype=np.uint64)
    positive = (k >> np.uint64(63)).astype(bool)
    return np.where(positive, k ^ _SIGN, ~k).view(np.float64)


def _truncate(keys: UInt64Array, level: int) -> UInt64Array:
    if level == 0:
        return keys
    return keys & np.uint64(~((1 << level) - 1) & 0xFFFFFFFFFFFFFFFF)


def bucket_relative_error(level: int) -> float:
    """The largest relative distance of a score (>= 0, normal) above its bucket's edge.

    ``2**-(52 - level)``: with ``level`` low bits of the float64 pattern cleared, a bucket
    spans ``2**level`` units in the last place of its edge ``e >= 2**E``, i.e. less than
    ``2**(E - 52 + level) <= e * 2**-(52 - level)``. 0 when exact (``level == 0``).
    (Subnormal scores below 2.2e-308 are off by less than ``2**(level - 1074)`` absolutely.)
    """
    if not 0 <= level <= _MAX_LEVEL:
        raise ValueError(f"`level` must be in [0, {_MAX_LEVEL}]; got {level}")
    return 0.0 if level == 0 else math.ldexp(1.0, -(MANTISSA_BITS - level))


def _runs(sorted_keys: UInt64Array) -> tuple[UInt64Array, IntArray]:
    """Distinct values of a sorted array and how often each occurs."""
    if sorted_keys.size == 0:
        return sorted_keys, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate([[True], sorted_keys[1:] != sorted_keys[:-1]]))
    counts = np.diff(np.append(starts, sorted_keys.size)).astype(np.int64)
    return sorted_keys[starts], counts


def _reduce_sorted(
    keys: UInt64Array, pos: IntArray, neg: IntArray
) -> tuple[UInt64Array, IntArray, IntArray]:
    """Sum the counts of equal keys in an already sorted key array."""
    if keys.size == 0:
        return keys, pos, neg
    starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    if starts.size == keys.size:
        return keys, pos, neg
    return keys[starts], np.add.reduceat(pos, starts), np.add.reduceat(neg, starts)


def _narrow(counts: IntArray) -> npt.NDArray[np.unsignedinteger[Any]]:
    """Non-negative counts in the smallest unsigned dtype that holds them (for the wire)."""
    top = int(counts.max()) if counts.size else 0
    for dtype in (np.uint8, np.uint16, np.uint32):
        if top <= np.iinfo(dtype).max:
            return counts.astype(dtype)
    return counts.astype(np.uint64)


_Packed = tuple[int, int, npt.NDArray[Any], npt.NDArray[np.int64], npt.NDArray[np.uint64]]


def _pack_keys(keys: UInt64Array) -> _Packed:
    """Sorted distinct keys as ``(first, shift, gaps >> shift, where, wide)`` for the wire.

    Scores read from float32 columns have 29 zero low bits in their float64 pattern, so the
    gaps between neighbouring keys shift right by >= 29 and most fit 32 bits (a gap across
    many binades, e.g. from 0.0 to the first positive score, may not: those few are kept
    at positions ``where`` as ``wide`` uint64): an accumulator crosses a shuffle in about a
    third of its 24 bytes per distinct score. Lossless (:func:`_unpack_keys`).
    """
    none = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
    if keys.size == 0:
        return 0, -1, np.zeros(0, dtype=np.uint8), *none  # shift -1: no keys
    gaps = np.diff(keys)
    bits = int(np.bitwise_or.reduce(gaps)) if gaps.size else 0
    shift = (bits & -bits).bit_length() - 1 if bits else 0
    gaps >>= np.uint64(shift)
    wide = gaps > np.uint64(0xFFFFFFFF)
    if not wide.any():
        return int(keys[0]), shift, _narrow(gaps.view(np.int64)), *none
    if int(wide.sum()) * 8 > gaps.size:  # many wide gaps: plain uint64
        return int(keys[0]), shift, gaps, *none
    where = np.flatnonzero(wide).astype(np.int64)
    values = gaps[where]
    gaps[where] = 0
    return int(keys[0]), shift, _narrow(gaps.view(np.int64)), where, values


def _unpack_keys(packed: _Packed) -> UInt64Array:
    first, shift, gaps, where, wide = packed
    if shift < 0:
        return np.zeros(0, dtype=np.uint64)
    full = gaps.astype(np.uint64)
    full[where] = wide
    keys = np.empty(gaps.size + 1, dtype=np.uint64)
    keys[0] = first
    np.cumsum(full << np.uint64(shift), out=keys[1:])
    keys[1:] += np.uint64(first)
    return keys


@dataclass
class _Slot:
    """One class's (or the top score's) distinct keys and counts; see the module docstring."""

    keys: UInt64Array = field(default_factory=lambda: np.zeros(0, np.uint64))
    pos: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    neg: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    level: int = 0
    #: the exact highest key seen (0 = none: real keys of scores >= -inf are > 0)
    max_key: int = 0
    #: reduced pieces waiting to be merged: sorted unique keys and their counts
    pending_keys: list[UInt64Array] = field(default_factory=list)
    pending_pos: list[IntArray] = field(default_factory=list)
    pending_neg: list[IntArray] = field(default_factory=list)
    #: raw rows waiting: scores (float32 or float64, as read) and positive flags
    raw_scores: list[npt.NDArray[np.floating[Any]]] = field(default_factory=list)
    raw_flags: list[npt.NDArray[np.bool_]] = field(default_factory=list)
    pending_size: int = 0

    def __getstate__(self) -> dict[str, Any]:
        """Compacted, with keys and counts packed (see :func:`_pack_keys`)."""
        state = self.__dict__.copy()
        if self.pending_size or self.pending_keys or self.raw_scores:
            return state  # not compacted (never the case from ScoreHistogram): as is
        state["keys"] = _pack_keys(self.keys)
        state["pos"] = _narrow(self.pos)
        state["neg"] = _narrow(self.neg)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if isinstance(state["keys"], tuple):
            state["keys"] = _unpack_keys(state["keys"])
            state["pos"] = state["pos"].astype(np.int64)
            state["neg"] = state["neg"].astype(np.int64)
        self.__dict__.update(state)

    def add(
        self, scores: npt.NDArray[np.floating[Any]], flags: npt.NDArray[np.bool_], cap: int
    ) -> None:
        if scores.size == 0:
            return
        top = int(keys_from_scores(scores.max(keepdims=True))[0])
        self.max_key = max(self.max_key, top)
        self.raw_scores.append(scores)
        self.raw_flags.append(flags)
        self.pending_size += int(scores.size)
        if self.pending_size >= max(262_144, self.keys.size):
            self.compact(cap)

    def compact(self, cap: int) -> None:
        if self.pending_size:
            pieces_k = [self.keys, *self.pending_keys]
            pieces_p = [self.pos, *self.pending_pos]
            pieces_n = [self.neg, *self.pending_neg]
            if self.raw_scores:
                # positives and negatives sorted apart: two plain sorts (numpy's vectorised
                # sort) instead of one stable argsort carrying the flags. Exact: the scores
                # themselves are sorted (float32 ones as float32: half the bytes) and only
                # the distinct ones become keys (-0.0 and 0.0 form one run, one key);
                # bucketed: the truncated keys are sorted.
                raw = np.concatenate(self.raw_scores)
                flags = np.concatenate(self.raw_flags)
                values = raw if self.level == 0 else _truncate(keys_from_scores(raw), self.level)
                for part, is_pos in ((values[flags], True), (values[~flags], False)):
                    part.sort()
                    uniq, counts = _runs(part)
                    zeros = np.zeros(uniq.size, dtype=np.int64)
                    pieces_k.append(keys_from_scores(uniq) if self.level == 0 else uniq)
                    pieces_p.append(counts if is_pos else zeros)
                    pieces_n.append(zeros if is_pos else counts)
            # every piece is sorted: a stable sort of their concatenation merges runs
            keys = np.concatenate(pieces_k)
            order = np.argsort(keys, kind="stable")
            self.keys, self.pos, self.neg = _reduce_sorted(
                keys[order], np.concatenate(pieces_p)[order], np.concatenate(pieces_n)[order]
            )
            self.pending_keys, self.pending_pos, self.pending_neg = [], [], []
            self.raw_scores, self.raw_flags = [], []
            self.pending_size = 0
        self._fit(cap)

    def _fit(self, cap: int) -> None:
        """Raise the level until at most ``cap`` distinct keys remain (bucketing)."""
        if self.keys.size <= cap:
            return
        level = self.level
        while level < _MAX_LEVEL:
            level += 1
            truncated = _truncate(self.keys, level)
            if 1 + int(np.count_nonzero(truncated[1:] != truncated[:-1])) <= cap:
                break
        self.raise_level(level)

    def raise_level(self, level: int) -> None:
        if level <= self.level:
            return
        self.level = level
        self.keys, self.pos, self.neg = _reduce_sorted(
            _truncate(self.keys, level), self.pos, self.neg
        )
        reduced = [
            _reduce_sorted(_truncate(k, level), p_, n_)
            for k, p_, n_ in zip(self.pending_keys, self.pending_pos, self.pending_neg, strict=True)
        ]
        self.pending_keys = [r[0] for r in reduced]
        self.pending_pos = [r[1] for r in reduced]
        self.pending_neg = [r[2] for r in reduced]  # raw scores are truncated when compacted

    def merge(self, other: _Slot, cap: int) -> None:
        other.compact(cap)
        self.compact(cap)
        level = max(self.level, other.level)
        self.raise_level(level)
        self.max_key = max(self.max_key, other.max_key)
        keys, pos, neg = _reduce_sorted(_truncate(other.keys, level), other.pos, other.neg)
        self.pending_keys.append(keys)
        self.pending_pos.append(pos)
        self.pending_neg.append(neg)
        self.pending_size += int(keys.size)
        self.compact(cap)


@dataclass(frozen=True, kw_only=True)
class ScoreBatch:
    """Rows of probabilities and truth, ready for :class:`ScoreHistogram` (a parsed chunk).

    Attributes
    ----------
    scores : ndarray (n, n_classes)
        Probabilities (float32 or float64), finite.
    truth : ndarray
        Multi-label: bool indicator (n, n_classes). Multi-class: int64 class ids (n,).
    shard : str
        The file (work item) the rows come from ("" when unknown).
    rows : ndarray of int64 (n,), optional
        The rows' 1-based positions in ``shard``: with ``shard``, a row identity that does
        not depend on how a runner splits the work (the Poisson bootstrap's seed).
    """

    scores: npt.NDArray[np.floating[Any]]
    truth: npt.NDArray[Any]
    shard: str = ""
    rows: npt.NDArray[np.int64] | None = None


class ScoreHistogram:
    """Per-class counts of positives and negatives at each distinct score, mergeable.

    Parameters
    ----------
    n_classes : int >= 1
    rule : "one-vs-rest" (multi-label) or "winner" (multi-class)
        See the module docstring for the slots each rule keeps.
    max_distinct : int >= 2
        Distinct scores a slot keeps exactly; past it the slot is bucketed.
    """

    def __init__(
        self, n_classes: int, rule: SweepRule, *, max_distinct: int = DEFAULT_MAX_DISTINCT
    ) -> None:
        if rule not in ("one-vs-rest", "winner"):
            raise ValueError(f"`rule` must be 'one-vs-rest' or 'winner'; got {rule!r}")
        if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 1:
            raise ValueError(f"`n_classes` must be an int >= 1; got {n_classes!r}")
        if isinstance(max_distinct, bool) or not isinstance(max_distinct, int) or max_distinct < 2:
            raise ValueError(f"`max_distinct` must be an int >= 2; got {max_distinct!r}")
        self.n_classes = n_classes
        self.rule: SweepRule = rule
        self.max_distinct = max_distinct
        self.n_examples = 0
        self.support = np.zeros(n_classes, dtype=np.int64)
        self._slots = [_Slot() for _ in range(n_classes + (rule == "winner"))]

    # ------------------------------------------------------------------ building

    def add(self, batch: ScoreBatch) -> None:
        """Count a batch of rows (see :class:`ScoreBatch`)."""
        scores = batch.scores
        n = int(scores.shape[0])
        if scores.ndim != 2 or scores.shape[1] != self.n_classes:
            raise ValueError(
                f"`batch.scores` must have shape (n, {self.n_classes}); got {scores.shape}"
            )
        if n == 0:
            return
        cap = self.max_distinct
        self.n_examples += n
        if self.rule == "one-vs-rest":
            truth = np.asarray(batch.truth, dtype=bool)
            self.support += truth.sum(axis=0).astype(np.int64)
            columns = np.ascontiguousarray(scores.T)
            flags = np.ascontiguousarray(truth.T)
            for c, slot in enumerate(self._slots):
                slot.add(columns[c], flags[c], cap)
            return
        ids = np.asarray(batch.truth, dtype=np.int64)
        self.support += np.bincount(ids, minlength=self.n_classes).astype(np.int64)
        winner = np.argmax(scores, axis=1)  # first maximum: ties to the lower class id
        top = scores[np.arange(n), winner]
        correct = winner == ids
        order = np.argsort(winner, kind="stable")
        bounds = np.searchsorted(winner[order], np.arange(self.n_classes + 1))
        for c in range(self.n_classes):
            members = order[bounds[c] : bounds[c + 1]]
            if members.size:
                self._slots[c].add(top[members], correct[members], cap)
        self._slots[-1].add(top, correct, cap)

    def merge(self, other: ScoreHistogram) -> ScoreHistogram:
        """Add ``other``'s counts into this histogram (``other`` is compacted); returns self."""
        if (other.n_classes, other.rule) != (self.n_classes, self.rule):
            raise ValueError(
                f"cannot merge a {other.rule} histogram of {other.n_classes} classes into a "
                f"{self.rule} histogram of {self.n_classes} classes"
            )
        self.n_examples += other.n_examples
        self.support += other.support
        for mine, theirs in zip(self._slots, other._slots, strict=True):
            mine.merge(theirs, self.max_distinct)
        return self

    def compact(self) -> ScoreHistogram:
        """Merge every pending buffer (before a shuffle or a read); returns self."""
        for slot in self._slots:
            slot.compact(self.max_distinct)
        return self

    # ------------------------------------------------------------------ reading

    def slot(self, index: int) -> tuple[FloatArray, IntArray, IntArray, int]:
        """``(scores ascending, positives, negatives, level)`` of one slot (compacted).

        Slot ``c < n_classes`` is class ``c``; for the "winner" rule slot ``n_classes`` is
        every row's top score (positive: the arg-max is right).
        """
        s = self._slots[index]
        s.compact(self.max_distinct)
        return scores_from_keys(s.keys), s.pos.copy(), s.neg.copy(), s.level

    @property
    def levels(self) -> tuple[int, ...]:
        """Each slot's bucketing level (0: exact)."""
        self.compact()
        return tuple(s.level for s in self._slots)

    @property
    def bucketed(self) -> bool:
        """True when some slot passed ``max_distinct`` and was bucketed."""
        return any(level > 0 for level in self.levels)

    def top_score(self, index: int) -> float:
        """The exact highest score of a slot (``-inf`` when it is empty)."""
        key = self._slots[index].max_key
        return float(scores_from_keys(np.array([key], np.uint64))[0]) if key else -math.inf

    def distinct(self, index: int) -> int:
        """Distinct keys (buckets, when bucketed) in a slot."""
        s = self._slots[index]
        s.compact(self.max_distinct)
        return int(s.keys.size)

    def curves(self, labels: Sequence[str]) -> tuple[ClassCurve, ...]:
        """Every class's :class:`ClassCurve`, equal to the in-process decision sweep's curves.

        Highest threshold first; point ``i`` counts the rows with ``score >= thresholds[i]``
        (bucketed: a bucket edge, whose counts are exact for that edge).
        """
        out = []
        for c, label in enumerate(labels):
            values, pos, neg, _ = self.slot(c)
            n_pos = int(self.support[c])
            out.append(
                ClassCurve(
                    label=label,
                    thresholds=_readonly(values[::-1].copy()),
                    tp=_readonly(np.cumsum(pos[::-1]).astype(np.int64)),
                    fp=_readonly(np.cumsum(neg[::-1]).astype(np.int64)),
                    n_positive=n_pos,
                    n_negative=self.n_examples - n_pos,
                )
            )
        return tuple(out)

    def coverage_curve(self) -> CoverageCurve:
        """Multi-class: coverage and accuracy on answered rows per reject threshold.

        Equal to :attr:`Evaluation.coverage_curve` (exact) or its bucket edges (bucketed).
        """
        if self.rule != "winner":
            raise ValueError("`coverage_curve` needs a multi-class ('winner') histogram")
        values, pos, neg, _ = self.slot(self.n_classes)
        n_correct = np.cumsum(pos[::-1]).astype(np.int64)
        n_answered = np.cumsum((pos + neg)[::-1]).astype(np.int64)
        n = self.n_examples
        return CoverageCurve(
            thresholds=_readonly(values[::-1].copy()),
            coverage=_readonly(n_answered / n),
            accuracy=_readonly(n_correct / n_answered),
            n_answered=_readonly(n_answered),
            n_correct=_readonly(n_correct),
        )

    def counts_at(self, thresholds: npt.ArrayLike) -> tuple[IntArray, IntArray]:
        """``(tp, predicted)`` per class when class ``c`` fires at ``score >= thresholds[c]``.

        Exact when each threshold is a score of the class's slot or a bucket edge.
        """
        t = np.asarray(thresholds, dtype=np.float64).reshape(-1)
        if t.shape != (self.n_classes,):
            raise ValueError(f"`thresholds` must have shape ({self.n_classes},); got {t.shape}")
        tp = np.zeros(self.n_classes, dtype=np.int64)
        predicted = np.zeros(self.n_classes, dtype=np.int64)
        for c in range(self.n_classes):
            values, pos, neg, _ = self.slot(c)
            k = int(np.searchsorted(values, t[c], side="left"))
            tp[c] = int(pos[k:].sum())
            predicted[c] = int(pos[k:].sum() + neg[k:].sum())
        return tp, predicted

    def __getstate__(self) -> dict[str, Any]:
        self.compact()
        return self.__dict__.copy()


def _readonly(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    array.setflags(write=False)
    return array


class HistogramCombineFn(beam.CombineFn):
    """``beam.CombineGlobally`` of :class:`ScoreBatch` elements into one :class:`ScoreHistogram`.

    Accumulators are compacted before Beam encodes them (``compact``), so what crosses a
    shuffle is three flat arrays per slot.
    """

    def __init__(
        self, n_classes: int, rule: SweepRule, *, max_distinct: int = DEFAULT_MAX_DISTINCT
    ) -> None:
        ScoreHistogram(n_classes, rule, max_distinct=max_distinct)  # validates
        self._n_classes = n_classes
        self._rule: SweepRule = rule
        self._max_distinct = max_distinct

    def create_accumulator(self) -> ScoreHistogram:
        return ScoreHistogram(self._n_classes, self._rule, max_distinct=self._max_distinct)

    def add_input(self, accumulator: ScoreHistogram, element: ScoreBatch) -> ScoreHistogram:
        accumulator.add(element)
        return accumulator

    def merge_accumulators(self, accumulators: Iterable[ScoreHistogram]) -> ScoreHistogram:
        items = iter(accumulators)
        first = next(items)
        for other in items:
            first.merge(other)
        return first

    def compact(self, accumulator: ScoreHistogram) -> ScoreHistogram:
        return accumulator.compact()

    def extract_output(self, accumulator: ScoreHistogram) -> ScoreHistogram:
        return accumulator.compact()
