"""The histogram combiner behind ``tune --runner``: exact curves, merge-order independence, bucketing bound.

No pipeline runs here (the combiner's methods are called directly, as a runner would);
``tests/test_beam_tune.py`` runs the pipelines.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cls_core.evaluation.metrics import build_evaluation
from cls_core.evaluation.thresholds import parse_objective, thresholds_file, tune
from cls_core.pipelines.histogram import (
    HistogramCombineFn,
    ScoreBatch,
    ScoreHistogram,
    _narrow,
    _pack_keys,
    _unpack_keys,
    bucket_relative_error,
    keys_from_scores,
    scores_from_keys,
)
from cls_core.pipelines.tune import bucketing_summary, tune_from_histogram

LABELS = ["a", "b", "c", "d"]


def _data(task: str, n: int, seed: int, decimals: int | None = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, len(LABELS))) * 2
    if task == "multi-class":
        scores = np.exp(logits)
        scores /= scores.sum(axis=1, keepdims=True)
        truth = np.where(rng.random(n) < 0.6, scores.argmax(1), rng.integers(0, len(LABELS), n))
    else:
        scores = 1 / (1 + np.exp(-logits))
        truth = rng.random((n, len(LABELS))) < scores
    if decimals is not None:  # ties: many rows share a score
        scores = np.round(scores, decimals)
    return scores, truth


def _histogram(
    scores: np.ndarray, truth: np.ndarray, task: str, *, step: int = 300, cap: int = 1 << 20
) -> ScoreHistogram:
    h = ScoreHistogram(
        len(LABELS), "winner" if task == "multi-class" else "one-vs-rest", max_distinct=cap
    )
    for i in range(0, scores.shape[0], step):
        h.add(ScoreBatch(scores=scores[i : i + step], truth=truth[i : i + step]))
    return h


def test_keys_preserve_order_and_values() -> None:
    values = np.array([-np.inf, -2.5, -0.0, 0.0, 1e-310, 0.25, 1.0, np.inf])
    keys = keys_from_scores(values)
    assert (np.diff(keys.astype(object)) >= 0).all()
    back = scores_from_keys(keys)
    assert np.array_equal(back, values + 0.0)


@pytest.mark.parametrize("task", ["multi-label", "multi-class"])
def test_curves_equal_the_in_process_sweep(task: str) -> None:
    scores, truth = _data(task, 3000, seed=1)
    ev = build_evaluation(scores, truth, labels=LABELS, task=task)
    h = _histogram(scores, truth, task)
    for ours, theirs in zip(h.curves(LABELS), ev.sweep.curves, strict=True):
        assert np.array_equal(ours.thresholds, theirs.thresholds.astype(np.float64))
        assert np.array_equal(ours.tp, theirs.tp)
        assert np.array_equal(ours.fp, theirs.fp)
        assert (ours.n_positive, ours.n_negative) == (theirs.n_positive, theirs.n_negative)
    if task == "multi-class":
        a, b = h.coverage_curve(), ev.coverage_curve
        assert np.array_equal(a.thresholds, b.thresholds.astype(np.float64))
        assert np.array_equal(a.n_answered, b.n_answered)
        assert np.array_equal(a.n_correct, b.n_correct)


@pytest.mark.parametrize(
    ("task", "objective"),
    [
        ("multi-label", "f1"),
        ("multi-label", "precision>=0.8"),
        ("multi-label", "recall>=0.6"),
        ("multi-label", "cost:fp=1,fn=4"),
        ("multi-class", "fbeta:2"),
        ("multi-class", "coverage>=0.7"),
        ("multi-class", "accuracy>=0.8"),
    ],
)
def test_tune_from_histogram_equals_in_process_tune(task: str, objective: str) -> None:
    scores, truth = _data(task, 2500, seed=2)
    obj = parse_objective(objective)
    expected = tune(build_evaluation(scores, truth, labels=LABELS, task=task), obj, min_tp=5)
    got = tune_from_histogram(_histogram(scores, truth, task), LABELS, task, obj, min_tp=5)  # type: ignore[arg-type]
    assert (
        thresholds_file(got.metrics, objective=obj).to_dict()
        == thresholds_file(expected.metrics, objective=obj).to_dict()
    )
    assert got.warnings == expected.warnings


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    cuts=st.lists(st.integers(1, 399), max_size=6),
    order=st.randoms(use_true_random=False),
    task=st.sampled_from(["multi-label", "multi-class"]),
    cap=st.sampled_from([4, 16, 1 << 20]),
)
def test_merge_order_and_split_do_not_matter(
    seed: int, cuts: list[int], order: object, task: str, cap: int
) -> None:
    """Any split of the rows into accumulators, merged in any order, gives one result.

    Each partial accumulator crosses the combiner's coder (packed keys and counts), as
    between a runner's stages; float32 and float64 scores both occur.
    """
    scores, truth = _data(task, 400, seed=seed, decimals=None if seed % 2 else 2)
    if seed % 3 == 0:  # float32 columns (Parquet written by `score`): packed gaps shift by 29
        scores = scores.astype(np.float32)
    fn = HistogramCombineFn(
        len(LABELS), "winner" if task == "multi-class" else "one-vs-rest", max_distinct=cap
    )  # type: ignore[arg-type]
    whole = fn.add_input(fn.create_accumulator(), ScoreBatch(scores=scores, truth=truth))
    coder = fn.get_accumulator_coder()
    bounds = [0, *sorted(set(cuts)), 400]
    parts = []
    for lo, hi in itertools.pairwise(bounds):
        acc = fn.create_accumulator()
        for i in range(lo, hi, 37):  # several add_input calls per accumulator
            j = min(i + 37, hi)
            acc = fn.add_input(acc, ScoreBatch(scores=scores[i:j], truth=truth[i:j]))
        parts.append(coder.decode(coder.encode(fn.compact(acc))))
    order.shuffle(parts)  # type: ignore[attr-defined]
    while len(parts) > 1:  # merge pairwise in a random tree shape
        k = order.randrange(len(parts) - 1)  # type: ignore[attr-defined]
        parts[k : k + 2] = [fn.merge_accumulators([parts[k], parts[k + 1]])]
    merged = fn.extract_output(parts[0])
    whole = fn.extract_output(whole)
    assert merged.n_examples == whole.n_examples
    assert np.array_equal(merged.support, whole.support)
    assert merged.levels == whole.levels
    for s in range(len(LABELS) + (task == "multi-class")):
        for x, y in zip(merged.slot(s), whole.slot(s), strict=True):
            assert np.array_equal(np.asarray(x), np.asarray(y))
        assert merged.top_score(s) == whole.top_score(s)


def test_bucketing_bound_on_adversarial_scores() -> None:
    """Crowded distinct scores (one binade, near 1, tiny): every score is within the stated
    relative error above its bucket edge, the edges' counts are exact, and the bucketed
    optimum is at least as good as the exact optimum rounded down to the grid."""
    rng = np.random.default_rng(5)
    n = 60_000
    crowded = [
        0.5 + rng.random(n // 3) * 0.5,  # one binade, all distinct
        1.0 - rng.random(n // 3) * 1e-6,  # packed just below 1
        rng.random(n - 2 * (n // 3)) * 1e-30,  # tiny values over many binades
    ]
    column = np.concatenate(crowded)
    rng.shuffle(column)
    scores = np.stack([column, rng.random(n)], axis=1)
    truth = rng.random((n, 2)) < np.clip(scores, 0.0, 1.0)
    labels = ["x", "y"]
    cap = 1000
    exact = ScoreHistogram(2, "one-vs-rest")
    bucketed = ScoreHistogram(2, "one-vs-rest", max_distinct=cap)
    for i in range(0, n, 5000):
        batch = ScoreBatch(scores=scores[i : i + 5000], truth=truth[i : i + 5000])
        exact.add(batch)
        bucketed.add(batch)
    assert exact.levels == (0, 0)
    assert bucketed.bucketed and all(level > 0 for level in bucketed.levels)
    for c in range(2):
        edges, pos, _neg, level = bucketed.slot(c)
        assert edges.size <= cap
        bound = bucket_relative_error(level)
        assert bound == math.ldexp(1.0, -(52 - level))
        block = np.searchsorted(edges, scores[:, c], side="right") - 1
        assert (block >= 0).all()
        gap = (scores[:, c] - edges[block]) / scores[:, c]
        assert gap.max() <= bound  # the stated largest threshold error
        # counts at each edge are exact
        tp_exact = np.array([(truth[scores[:, c] >= e, c]).sum() for e in edges[::97]])
        tp_hist = np.array([pos[np.searchsorted(edges, e) :].sum() for e in edges[::97]])
        assert np.array_equal(tp_exact, tp_hist)
    obj = parse_objective("f1")
    ex = tune_from_histogram(exact, labels, "multi-label", obj)
    bu = tune_from_histogram(bucketed, labels, "multi-label", obj)
    assert any("bucketed" in w for w in bu.warnings)
    summary = bucketing_summary(bucketed)  # the thresholds.json block
    assert summary is not None and bucketing_summary(exact) is None
    assert summary["max_distinct"] == cap and summary["classes_bucketed"] == 2
    assert summary["max_relative_threshold_error"] == 2.0 ** -summary["kept_mantissa_bits"]
    ev = build_evaluation(scores, truth, labels=labels, task="multi-label")
    for c in range(2):
        edges, *_ = bucketed.slot(c)
        t_exact = float(ex.thresholds[c])
        rounded = edges[np.searchsorted(edges, t_exact, side="right") - 1]
        assert (t_exact - rounded) <= bucket_relative_error(bucketed.levels[c]) * t_exact
        f1_rounded = ev.metrics_at(np.where(np.arange(2) == c, rounded, ex.thresholds)).f1[c]
        assert bu.metrics.f1[c] >= f1_rounded - 1e-15
        # the bucketed run's reported metrics are exact at its thresholds
        assert np.array_equal(bu.metrics.tp, ev.metrics_at(bu.thresholds).tp)


@pytest.mark.parametrize(
    "values",
    [
        [],
        [0.5],
        [-np.inf, -1e300, -0.0, 5e-324, 1e-30, 0.25, 1.0, np.inf],
        np.linspace(0, 1, 1001).astype(np.float32).tolist(),
        np.random.default_rng(0).random(500).tolist(),
    ],
)
def test_packed_keys_round_trip(values: list[float]) -> None:
    """An accumulator's wire form (keys as shifted gaps, narrow counts) is lossless."""
    keys = np.unique(keys_from_scores(np.asarray(values, dtype=np.float64)))
    packed = _pack_keys(keys)
    assert np.array_equal(_unpack_keys(packed), keys)
    if len(values) == 1001:  # float32 scores: gaps of >= 2**29 shifted into 32 bits or fewer,
        # but the one from 0.0 to 0.001 (kept wide beside them)
        assert packed[1] >= 29 and packed[2].dtype.itemsize <= 4 and packed[3].tolist() == [0]
    counts = np.array([0, 3, 70_000, 2**40], dtype=np.int64)
    assert _narrow(counts).dtype == np.uint64 and _narrow(counts[:3]).dtype == np.uint32
    assert np.array_equal(_narrow(counts[:2]).astype(np.int64), counts[:2])


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="`rule` must be"):
        ScoreHistogram(2, "argmax")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`max_distinct` must be an int >= 2"):
        ScoreHistogram(2, "winner", max_distinct=1)
    with pytest.raises(ValueError, match=r"`batch.scores` must have shape \(n, 2\)"):
        ScoreHistogram(2, "winner").add(ScoreBatch(scores=np.zeros((3, 3)), truth=np.zeros(3, int)))
    with pytest.raises(ValueError, match="cannot merge"):
        ScoreHistogram(2, "winner").merge(ScoreHistogram(2, "one-vs-rest"))
    with pytest.raises(ValueError, match="`level` must be in"):
        bucket_relative_error(63)
