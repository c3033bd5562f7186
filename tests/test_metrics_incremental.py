"""Incremental threshold moves and threaded sweeps equal from-scratch computations exactly."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import precision_recall_curve

from cls_core.evaluation import metrics as metrics_module
from cls_core.evaluation.metrics import (
    Evaluation,
    MetricsAt,
    MetricsTracker,
    ScoreSweep,
    build_evaluation,
    build_sweep,
    precision_recall_fscore,
)

C = 6
LABELS = [f"c{i}" for i in range(C)]


def _multilabel(seed: int, n: int = 300, decimals: int = 1) -> Evaluation:
    rng = np.random.default_rng(seed)
    scores = np.round(rng.random((n, C)), decimals).astype(np.float32)  # many ties
    truth = rng.random((n, C)) < 0.1 + 0.5 * scores
    return build_evaluation(scores, truth, labels=LABELS, task="multi-label")


def _multiclass(seed: int, n: int = 300) -> Evaluation:
    rng = np.random.default_rng(seed)
    logits = np.round(rng.normal(size=(n, C)), 1)
    probs = (np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)).astype(np.float32)
    truth = rng.integers(0, C, size=n)
    return build_evaluation(probs, truth, labels=LABELS, task="multi-class")


def assert_same_metrics(a: MetricsAt, b: MetricsAt) -> None:
    """Every field equal: arrays element for element, floats to the last bit."""
    for f in dataclasses.fields(MetricsAt):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y, err_msg=f.name)
            assert x.dtype == y.dtype, f.name
        else:
            assert x == y, (f.name, x, y)


def _from_scratch(ev: Evaluation, thresholds: Any, **kw: Any) -> MetricsAt:
    return MetricsTracker(ev).metrics_at(thresholds, **kw)


EVALS = {"ml": _multilabel(0), "ml2": _multilabel(1, decimals=2), "mc": _multiclass(2)}
THRESHOLD = st.one_of(
    st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.7, 1.0, -np.inf, np.inf]),
    st.floats(-0.1, 1.1, allow_nan=False),
)


@settings(max_examples=40, deadline=None)
@given(
    which=st.sampled_from(sorted(EVALS)),
    start=st.lists(THRESHOLD, min_size=C, max_size=C),
    moves=st.lists(
        st.tuples(st.lists(st.integers(0, C - 1), min_size=1, max_size=C), THRESHOLD),
        min_size=1,
        max_size=12,
    ),
    beta=st.sampled_from([0.5, 1.0, 2.0]),
)
def test_incremental_moves_equal_from_scratch(
    which: str, start: list[float], moves: list[tuple[list[int], float]], beta: float
) -> None:
    ev = EVALS[which]
    tracker = MetricsTracker(ev)
    t = np.array(start)
    assert_same_metrics(tracker.metrics_at(t, beta=beta), _from_scratch(ev, t, beta=beta))
    for classes, value in moves:
        t = t.copy()
        t[classes] = value  # one class, or several at once (several = from scratch past C/2)
        moved = tracker.metrics_at(t, beta=beta)
        assert_same_metrics(moved, _from_scratch(ev, t, beta=beta))
        assert_same_metrics(moved, ev.metrics_at(t, beta=beta))  # the pooled path


@settings(max_examples=30, deadline=None)
@given(
    moves=st.lists(
        st.tuples(st.integers(0, C - 1), st.floats(0.0, 1.0), st.floats(0.0, 1.0)), max_size=10
    )
)
def test_multiclass_reject_moves_equal_from_scratch(moves: list[tuple[int, float, float]]) -> None:
    ev = EVALS["mc"]
    tracker = MetricsTracker(ev)
    t = np.zeros(C)
    for c, value, reject in moves:
        t = t.copy()
        t[c] = value
        assert_same_metrics(
            tracker.metrics_at(t, reject_threshold=reject),
            _from_scratch(ev, t, reject_threshold=reject),
        )


def test_incremental_samples_average_matches_the_predicted_matrix() -> None:
    ev = EVALS["ml"]
    tracker = MetricsTracker(ev)
    rng = np.random.default_rng(5)
    t = np.full(C, 0.5)
    for _ in range(40):
        t = t.copy()
        t[rng.integers(C)] = float(rng.choice([0.0, 0.2, 0.5, 0.8, 1.0, rng.random()]))
        m = tracker.metrics_at(t)
        predicted = ev.predicted(t)
        samples = precision_recall_fscore(ev.truth, predicted, average="samples")
        assert m.samples == samples
        assert m.mean_predicted_labels == float(predicted.sum(axis=1).mean())
        assert m.no_label_share == float(np.mean(predicted.sum(axis=1) == 0))


def test_tracker_only_touches_the_moved_class(monkeypatch: pytest.MonkeyPatch) -> None:
    ev = EVALS["ml"]
    tracker = MetricsTracker(ev)
    tracker.metrics_at(np.full(C, 0.5))
    calls: list[int] = []
    original = ScoreSweep._class_counts

    def counting(self: ScoreSweep, c: int, threshold: float) -> tuple[int, int]:
        calls.append(c)
        return original(self, c, threshold)

    def no_full_pass(self: Evaluation, t: Any) -> Any:
        raise AssertionError("a one-class move went from scratch")

    monkeypatch.setattr(ScoreSweep, "_class_counts", counting)
    monkeypatch.setattr(Evaluation, "_per_example_counts", no_full_pass)
    t = np.full(C, 0.5)
    t[3] = 0.2
    tracker.metrics_at(t)
    assert calls == [3]


def test_pooled_metrics_are_right_under_concurrent_callers() -> None:
    ev = _multilabel(7, n=2000)
    rng = np.random.default_rng(0)
    plans = [rng.random((15, C)) for _ in range(8)]
    expected = [[_from_scratch(ev, t) for t in plan] for plan in plans]
    failures: list[str] = []

    def session(i: int) -> None:
        for k, t in enumerate(plans[i]):
            try:
                assert_same_metrics(ev.metrics_at(t), expected[i][k])
            except AssertionError as exc:  # pragma: no cover - reported below
                failures.append(f"session {i} move {k}: {exc}")

    threads = [threading.Thread(target=session, args=(i,)) for i in range(len(plans))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert failures == []


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_threaded_sweep_equals_serial_and_sklearn(
    monkeypatch: pytest.MonkeyPatch, dtype: type
) -> None:
    rng = np.random.default_rng(3)
    scores: np.ndarray = np.round(rng.random((3000, C)), 2).astype(dtype)
    truth = rng.random((3000, C)) < 0.1 + 0.5 * scores
    serial = build_sweep(scores, truth, labels=LABELS)
    serial_curves = serial.curves
    monkeypatch.setattr(metrics_module, "MIN_PARALLEL_CELLS", 0)
    monkeypatch.setattr(metrics_module, "_n_workers", lambda: 2)
    threaded = build_sweep(scores, truth, labels=LABELS)
    np.testing.assert_array_equal(threaded.sorted_scores, serial.sorted_scores)
    np.testing.assert_array_equal(threaded.cum_positives, serial.cum_positives)
    for c, (curve, ref) in enumerate(zip(threaded.curves, serial_curves, strict=True)):
        np.testing.assert_array_equal(curve.thresholds, ref.thresholds)
        np.testing.assert_array_equal(curve.tp, ref.tp)
        np.testing.assert_array_equal(curve.fp, ref.fp)
        precision, recall, thresholds = precision_recall_curve(truth[:, c], scores[:, c])
        np.testing.assert_array_equal(curve.thresholds, thresholds[::-1])
        np.testing.assert_allclose(curve.precision, precision[:-1][::-1], rtol=1e-12)
        np.testing.assert_allclose(curve.recall, recall[:-1][::-1], rtol=1e-12)
    ev = build_evaluation(scores, truth, labels=LABELS, task="multi-label")
    np.testing.assert_array_equal(ev._scores_t, scores.T)
    np.testing.assert_array_equal(ev._truth_t, truth.T)


def test_sorted_scores_keep_the_input_values() -> None:
    tiny, tenth = float(np.float32(1e-30)), float(np.float32(0.1))  # float32-exact: key sort
    values = np.array([0.5, -0.0, tiny, -2.5, 3.0, 0.25, tenth], dtype=np.float64)
    truth = np.array([[1], [0], [1], [0], [1], [0], [1]], dtype=bool)
    sweep = build_sweep(values.reshape(-1, 1), truth, labels=["a"])
    np.testing.assert_array_equal(sweep.sorted_scores, np.sort(values))
    assert sweep.sorted_scores.dtype == np.float64
    assert sweep.cum_positives.tolist() == [0, 0, 0, 1, 2, 2, 3, 4]


def test_evaluation_pickles_and_copies_after_moves() -> None:
    import copy
    import pickle

    ev = _multilabel(9)
    t = np.full(C, 0.4)
    before = ev.metrics_at(t)
    for clone in (pickle.loads(pickle.dumps(ev)), copy.deepcopy(ev)):
        assert_same_metrics(clone.metrics_at(t), before)
        t2 = t.copy()
        t2[1] = 0.9
        assert_same_metrics(clone.metrics_at(t2), _from_scratch(ev, t2))
