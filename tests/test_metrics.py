"""cls_core.evaluation.metrics against scikit-learn (random and tied scores), hand cases, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import (
    average_precision_score,
    confusion_matrix,
    multilabel_confusion_matrix,
    precision_recall_curve,
    precision_recall_fscore_support,
    roc_auc_score,
    roc_curve,
)

from cls_core.evaluation.metrics import (
    argsort_scores,
    as_score_matrix,
    as_truth,
    build_evaluation,
    build_sweep,
    downsample_indices,
    fbeta_from_counts,
    precision_recall_fscore,
)

LABELS5 = ["a", "b", "c", "d", "e"]


def _data(
    seed: int, *, n: int = 400, tied: bool, dtype: type = np.float64
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    scores = rng.random((n, 5))
    if tied:
        scores = np.round(scores, 1)  # many ties
    truth = rng.random((n, 5)) < (0.15 + 0.6 * scores)
    return scores.astype(dtype), truth


@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", [0, 1])
def test_curves_equal_sklearn(seed: int, dtype: type, tied: bool) -> None:
    scores, truth = _data(seed, tied=tied, dtype=dtype)
    sweep = build_sweep(scores, truth, labels=LABELS5)
    for c, curve in enumerate(sweep.curves):
        precision, recall, thresholds = precision_recall_curve(truth[:, c], scores[:, c])
        # sklearn: ascending thresholds + a final (P=1, R=0) point; ours: descending, no extra point
        np.testing.assert_array_equal(curve.thresholds, thresholds[::-1])
        np.testing.assert_allclose(curve.precision, precision[:-1][::-1])
        np.testing.assert_allclose(curve.recall, recall[:-1][::-1])
        fpr, tpr, roc_t = roc_curve(truth[:, c], scores[:, c], drop_intermediate=False)
        np.testing.assert_allclose(curve.fpr, fpr[1:])
        np.testing.assert_allclose(curve.tpr, tpr[1:])
        np.testing.assert_array_equal(curve.thresholds, roc_t[1:])
        assert curve.average_precision == pytest.approx(
            average_precision_score(truth[:, c], scores[:, c])
        )
        assert curve.roc_auc == pytest.approx(roc_auc_score(truth[:, c], scores[:, c]))


@pytest.mark.parametrize("tied", [False, True])
def test_multilabel_metrics_at_equal_sklearn(tied: bool) -> None:
    scores, truth = _data(3, tied=tied)
    ev = build_evaluation(scores, truth, labels=LABELS5, task="multi-label")
    thresholds = np.array([0.2, 0.5, 0.5, 0.7, 0.9])
    m = ev.metrics_at(thresholds, beta=2.0)
    predicted = scores >= thresholds
    p, r, f, s = precision_recall_fscore_support(truth, predicted, average=None, zero_division=0)
    np.testing.assert_allclose(m.precision, p)
    np.testing.assert_allclose(m.recall, r)
    np.testing.assert_allclose(m.f1, f)
    np.testing.assert_array_equal(m.support, s)
    mcm = multilabel_confusion_matrix(truth, predicted)
    np.testing.assert_array_equal(np.stack([m.tn, m.fp, m.fn, m.tp], axis=1), mcm.reshape(5, 4))
    for average in ("micro", "macro", "weighted", "samples"):
        p, r, f, _ = precision_recall_fscore_support(
            truth, predicted, average=average, zero_division=0
        )
        _, _, f2, _ = precision_recall_fscore_support(
            truth, predicted, average=average, beta=2.0, zero_division=0
        )
        got = getattr(m, average)
        assert (got.precision, got.recall, got.f1, got.fbeta) == pytest.approx((p, r, f, f2)), (
            average
        )
        direct = precision_recall_fscore(truth, predicted, average=average, beta=2.0)
        assert direct == got
    assert m.mean_predicted_labels == pytest.approx(predicted.sum(axis=1).mean())
    assert m.no_label_share == pytest.approx((predicted.sum(axis=1) == 0).mean())
    np.testing.assert_array_equal(
        ev.cooccurrence(thresholds), truth.T.astype(int) @ predicted.astype(int)
    )


@pytest.mark.parametrize("reject", [None, 0.4, 0.6])
def test_multiclass_metrics_and_confusion_equal_sklearn(reject: float | None) -> None:
    rng = np.random.default_rng(7)
    logits = rng.normal(size=(600, 5)) * 2
    scores = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    truth = np.where(rng.random(600) < 0.6, scores.argmax(axis=1), rng.integers(0, 5, 600))
    ev = build_evaluation(scores, truth, labels=LABELS5, task="multi-class")
    m = ev.metrics_at(reject_threshold=reject)
    top = scores.max(axis=1)
    predicted = np.where(top >= (reject or 0.0), scores.argmax(axis=1), -1)
    np.testing.assert_array_equal(ev.predicted(reject_threshold=reject), predicted)
    for average in ("micro", "macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(
            truth, predicted, labels=range(5), average=average, zero_division=0
        )
        got = getattr(m, average)
        assert (got.precision, got.recall, got.f1) == pytest.approx((p, r, f)), average
    assert m.accuracy == pytest.approx(np.mean(predicted == truth))
    assert m.coverage == pytest.approx(np.mean(predicted >= 0))
    cm = ev.confusion_matrix(reject_threshold=reject)
    expected = confusion_matrix(truth, np.where(predicted < 0, 5, predicted), labels=range(6))[:5]
    np.testing.assert_array_equal(cm.matrix, expected)
    assert cm.columns[-1] == "(abstain)"


def test_multiclass_per_class_thresholds_follow_the_winner_rule() -> None:
    scores = np.array([[0.7, 0.2, 0.1], [0.5, 0.4, 0.1], [0.1, 0.3, 0.6], [0.2, 0.45, 0.35]])
    truth = np.array([0, 1, 2, 1])
    ev = build_evaluation(scores, truth, labels=["x", "y", "z"], task="multi-class")
    m = ev.metrics_at([0.6, 0.0, 0.7])
    # x fires only on row 0 (0.5 < 0.6 on row 1 → abstain), z never (0.6 < 0.7), y on row 3
    assert m.tp.tolist() == [1, 1, 0]
    assert m.fp.tolist() == [0, 0, 0]
    assert m.fn.tolist() == [0, 1, 1]
    assert m.coverage == pytest.approx(0.5)
    assert ev.predicted([0.6, 0.0, 0.7]).tolist() == [0, -1, -1, 1]


def test_coverage_curve_by_hand() -> None:
    scores = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    ev = build_evaluation(scores, np.array([0, 1, 1, 0]), labels=["a", "b"], task="multi-class")
    curve = ev.coverage_curve
    assert curve.thresholds.tolist() == [0.9, 0.8, 0.7, 0.6]
    assert curve.coverage.tolist() == [0.25, 0.5, 0.75, 1.0]
    assert curve.accuracy.tolist() == pytest.approx([1.0, 0.5, 2 / 3, 0.75])


def test_cardinality_curve_counts_labels() -> None:
    scores = np.array([[0.9, 0.6], [0.2, 0.4], [0.7, 0.1]])
    ev = build_evaluation(
        scores, np.array([[1, 0], [0, 0], [1, 1]]), labels=["a", "b"], task="multi-label"
    )
    curve = ev.cardinality_curve([0.0, 0.5, 0.8, 1.0])
    assert curve.mean_predicted_labels.tolist() == pytest.approx([2.0, 1.0, 1 / 3, 0.0])
    assert curve.no_label_share.tolist() == pytest.approx([0.0, 1 / 3, 2 / 3, 1.0])
    assert curve.mean_true_labels == pytest.approx(1.0)


def test_counts_at_respects_score_equal_threshold_in_float32() -> None:
    scores = np.array([[0.3], [0.30000001], [0.2]], dtype=np.float32)
    sweep = build_sweep(scores, np.array([[1], [1], [0]]), labels=["a"])
    # float32(0.3) is slightly above 0.3 (float64): a 0.3 threshold lets both 0.3-ish rows fire
    assert sweep.counts_at(0.3)[0].tolist() == [2]
    assert sweep.counts_at(float(np.float32(0.3)))[0].tolist() == [2]
    assert sweep.counts_at(np.nextafter(float(np.float32(0.30000001)), 1))[0].tolist() == [0]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 4), st.booleans()), min_size=1, max_size=30),
    st.floats(0, 1),
)
def test_counts_at_equals_brute_force(rows: list[tuple[int, bool]], threshold: float) -> None:
    scores = np.array([[s / 4] for s, _ in rows])
    truth = np.array([[t] for _, t in rows])
    tp, fp, fn = build_sweep(scores, truth, labels=["a"]).counts_at(threshold)
    fired = scores[:, 0] >= threshold
    assert (tp[0], fp[0], fn[0]) == (
        (fired & truth[:, 0]).sum(),
        (fired & ~truth[:, 0]).sum(),
        (~fired & truth[:, 0]).sum(),
    )


def test_class_without_positives_is_zero_not_nan() -> None:
    scores = np.array([[0.2, 0.9], [0.8, 0.1]])
    ev = build_evaluation(scores, np.array([[0, 1], [0, 0]]), labels=["a", "b"], task="multi-label")
    curve = ev.sweep.curves[0]
    assert curve.average_precision == 0.0
    assert np.isnan(curve.roc_auc)
    assert ev.metrics_at(0.5).recall.tolist() == [0.0, 1.0]


def test_metrics_frames() -> None:
    scores, truth = _data(0, tied=False)
    m = build_evaluation(scores, truth, labels=LABELS5, task="multi-label").metrics_at(0.5)
    assert m.to_frame().columns.tolist()[:4] == ["label", "threshold", "precision", "recall"]
    assert m.averages_frame()["average"].tolist() == ["micro", "macro", "weighted", "samples"]


def test_fbeta_from_counts_by_hand() -> None:
    assert fbeta_from_counts([2], [1], [1]).tolist() == pytest.approx([2 / 3])
    assert fbeta_from_counts([0], [0], [0]).tolist() == [0.0]
    assert fbeta_from_counts([1], [0], [1], beta=2.0).tolist() == pytest.approx([5 / 9])


def test_downsample_indices_keeps_ends_and_operating_point() -> None:
    x = np.linspace(0, 1, 50_000)
    idx = downsample_indices(x, x**2, max_points=1000, keep=[12_345])
    assert idx[0] == 0 and idx[-1] == 49_999 and 12_345 in idx
    assert len(idx) <= 1001
    assert np.all(np.diff(idx) > 0)
    assert downsample_indices([0, 1], [0, 1]).tolist() == [0, 1]


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: as_score_matrix([[0.1, np.nan]]),
            ValueError,
            r"`scores` must be finite; got nan at row 0, column 1",
        ),
        (lambda: as_score_matrix([0.1, 0.2]), ValueError, r"must be 2-D"),
        (lambda: as_score_matrix([["a"]]), TypeError, r"must be a numeric array"),
        (lambda: as_score_matrix(np.zeros((0, 3))), ValueError, r"at least one example"),
        (
            lambda: as_truth([0, 3], n_examples=2, n_classes=3, task="multi-class"),
            ValueError,
            r"in \[0, 3\); got 3 at row 1",
        ),
        (
            lambda: as_truth([0.5, 1.0], n_examples=2, n_classes=3, task="multi-class"),
            TypeError,
            r"integer class ids",
        ),
        (
            lambda: as_truth([[0, 2]], n_examples=1, n_classes=2, task="multi-label"),
            ValueError,
            r"only 0 and 1; got 2",
        ),
        (
            lambda: as_truth([[0, 1]], n_examples=1, n_classes=3, task="multi-label"),
            ValueError,
            r"shape \(1, 3\)",
        ),
        (
            lambda: as_truth([0], n_examples=1, n_classes=1, task="binary"),
            ValueError,
            r"`task` must be one of",
        ),
        (
            lambda: build_sweep([[0.1]], [[1]], labels=["a"], rule="best"),
            ValueError,
            r"`rule` must be",
        ),
        (
            lambda: build_sweep([[0.1]], [[1]], labels=["a"]).counts_at([0.1, 0.2]),
            ValueError,
            r"one number or one per class \(1\)",
        ),
        (
            lambda: build_sweep([[0.1]], [[1]], labels=["a"]).counts_at(np.nan),
            ValueError,
            r"`thresholds\[0\]` must be a number, not NaN",
        ),
        (
            lambda: downsample_indices([1], [1], max_points=1),
            ValueError,
            r"`max_points` must be >= 2",
        ),
        (lambda: downsample_indices([1, 2], [1], max_points=5), ValueError, r"same length"),
        (lambda: downsample_indices([1, 2], [1, 2], keep=[5]), ValueError, r"`keep` indices"),
        (
            lambda: fbeta_from_counts([1], [1], [1], beta=0),
            ValueError,
            r"`beta` must be a finite number > 0",
        ),
        (
            lambda: precision_recall_fscore([[1]], [[1, 0]], average="micro"),
            ValueError,
            r"same shape",
        ),
        (
            lambda: precision_recall_fscore([[1]], [[1]], average="mean"),
            ValueError,
            r"`average` must be",
        ),  # type: ignore[arg-type]
    ],
)
def test_errors(call: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()  # type: ignore[operator]


def test_task_specific_methods_refuse_the_other_task() -> None:
    ml = build_evaluation([[0.2, 0.9]], [[0, 1]], labels=["a", "b"], task="multi-label")
    mc = build_evaluation([[0.2, 0.8]], [1], labels=["a", "b"], task="multi-class")
    with pytest.raises(ValueError, match=r"`confusion_matrix` is only defined for multi-class"):
        ml.confusion_matrix()
    with pytest.raises(ValueError, match=r"`reject_threshold` is only defined for multi-class"):
        ml.metrics_at(0.5, reject_threshold=0.5)
    with pytest.raises(ValueError, match=r"`cooccurrence` is only defined for multi-label"):
        mc.cooccurrence()
    with pytest.raises(ValueError, match=r"`reject_threshold` must be finite"):
        mc.metrics_at(reject_threshold=float("nan"))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(width=32, allow_nan=False), min_size=1, max_size=50), st.booleans())
def test_argsort_scores_sorts_any_float32(values: list[float], as64: bool) -> None:
    x = np.array(values, dtype=np.float64 if as64 else np.float32)
    np.testing.assert_array_equal(x[argsort_scores(x)], np.sort(x))


def test_curve_index_at_finds_the_operating_point() -> None:
    curve = build_sweep([[0.9], [0.5], [0.5], [0.1]], [[1], [0], [1], [0]], labels=["a"]).curves[0]
    assert curve.thresholds.tolist() == [0.9, 0.5, 0.1]
    assert [curve.index_at(t) for t in (0.95, 0.9, 0.6, 0.5, 0.3, 0.0)] == [-1, 0, 0, 1, 1, 2]
