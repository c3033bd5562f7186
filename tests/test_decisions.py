"""cls_core.scoring.decisions: the one threshold convention (score >= threshold), validation, trace."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from cls_core.scoring.decisions import (
    LEAD,
    TO_THRESHOLD,
    decision_trace,
    multiclass_decide,
    multilabel_decide,
    top_k,
    validate_labels,
)

LABELS = ["joy", "fear", "love"]


def test_multiclass_argmax_ties_and_reject() -> None:
    scores = [[0.2, 0.5, 0.3], [0.4, 0.4, 0.2], [0.34, 0.33, 0.33]]
    assert multiclass_decide(scores, LABELS) == ["fear", "joy", "joy"]
    assert multiclass_decide(scores, LABELS, reject_threshold=0.4) == ["fear", "joy", None]
    # exactly at the threshold fires
    assert multiclass_decide([0.5, 0.25, 0.25], LABELS, reject_threshold=0.5) == ["joy"]


def test_multilabel_thresholds_scalar_and_per_class() -> None:
    scores = np.array([[0.9, 0.1, 0.6], [0.2, 0.2, 0.2]])
    assert multilabel_decide(scores, LABELS, 0.5) == [["joy", "love"], []]
    assert multilabel_decide(scores, LABELS, [0.95, 0.1, 0.6]) == [["fear", "love"], ["fear"]]
    assert multilabel_decide([0.3, 0.3, 0.3], LABELS, 0.3) == [["joy", "fear", "love"]]


def test_top_k_order_and_ties() -> None:
    assert top_k([0.2, 0.5, 0.2], LABELS, 2) == [[("fear", 0.5), ("joy", 0.2)]]
    assert [label for label, _ in top_k([0.1, 0.1, 0.1], LABELS, 5)[0]] == LABELS


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: multiclass_decide([[0.5, 0.5]], LABELS),
            ValueError,
            r"`labels` must have one name per class \(2\); got 3 labels",
        ),
        (
            lambda: multiclass_decide([0.5, 0.5], ["a", "a"]),
            ValueError,
            r"`labels` must be unique; got duplicates \['a'\]",
        ),
        (
            lambda: multiclass_decide(np.zeros((1, 1, 2)), ["a", "b"]),
            ValueError,
            r"`scores` must be 2-D \(n_examples, n_classes\) or one 1-D row; got shape \(1, 1, 2\)",
        ),
        (
            lambda: multiclass_decide([[np.nan, 1.0]], ["a", "b"]),
            ValueError,
            r"`scores` must not contain NaN; got NaN at row 0, class 0",
        ),
        (
            lambda: multiclass_decide([["x", "y"]], ["a", "b"]),
            TypeError,
            r"`scores` must be a numeric array",
        ),
        (
            lambda: multiclass_decide([0.5, 0.5], ["a", "b"], reject_threshold=1.5),
            ValueError,
            r"`reject_threshold` must be in \[0, 1\]; got 1\.5",
        ),
        (
            lambda: multilabel_decide([0.5, 0.5], ["a", "b"], [0.5]),
            ValueError,
            r"`thresholds` must be one number or one per class \(2\); got shape \(1,\)",
        ),
        (
            lambda: multilabel_decide([0.5, 0.5], ["a", "b"], [0.5, -0.1]),
            ValueError,
            r"`thresholds\[1\]` must be in \[0, 1\] \(or \+inf: switched off\); got -0\.1",
        ),
        (
            lambda: multilabel_decide([0.5, 0.5], ["a", "b"], float("nan")),
            ValueError,
            r"`thresholds` must be in \[0, 1\]; got nan",
        ),
        (
            lambda: multilabel_decide([0.5, 0.5], ["a", "b"], "0.5"),
            TypeError,
            r"`thresholds` must be a number in \[0, 1\]; got str '0.5'",
        ),
        (
            lambda: multilabel_decide([0.5, 0.5], "ab", 0.5),
            TypeError,
            r"`labels` must be a sequence of strings, not a single string",
        ),
        (
            lambda: multilabel_decide([0.5, 0.5], ["a", 2], 0.5),
            TypeError,
            r"`labels\[1\]` must be a str; got int 2",
        ),
        (lambda: top_k([0.5, 0.5], ["a", "b"], 0), ValueError, r"`k` must be >= 1; got 0"),
        (
            lambda: top_k([0.5, 0.5], ["a", "b"], 1.5),
            TypeError,
            r"`k` must be an int; got float 1\.5",
        ),
        (
            lambda: multilabel_decide(np.zeros((2, 0)), [], 0.5),
            ValueError,
            r"`scores` must have at least one class column",
        ),
    ],
)
def test_validation_messages(call, error, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=match):
        call()


def test_decision_trace_multilabel() -> None:
    trace = decision_trace(
        [0.9, 0.1, 0.6],
        LABELS,
        task="multi-label",
        thresholds=[0.5, 0.1, 0.7],
        logits=[2.2, -2.2, 0.4],
    )
    assert list(trace.columns) == [
        "label",
        "logit",
        "score",
        "threshold",
        "score − threshold",
        "fired",
    ]
    assert trace["fired"].tolist() == [True, True, False]
    np.testing.assert_allclose(trace[TO_THRESHOLD], [0.4, 0.0, -0.1], atol=1e-12)
    assert LEAD not in trace.columns  # a multi-label class has no runner-up


def test_decision_trace_multiclass() -> None:
    trace = decision_trace([0.2, 0.5, 0.3], LABELS, task="multi-class", reject_threshold=0.6)
    assert "logit" not in trace.columns
    np.testing.assert_allclose(trace[LEAD], [-0.3, 0.2, -0.2], atol=1e-12)
    # with a reject threshold, the distance to it is shown too (and named differently)
    np.testing.assert_allclose(trace[TO_THRESHOLD], [-0.4, -0.1, -0.3], atol=1e-12)
    assert LEAD == "score − runner-up" and TO_THRESHOLD == "score − threshold"
    assert TO_THRESHOLD not in decision_trace([0.2, 0.5, 0.3], LABELS, task="multi-class")
    assert trace["fired"].tolist() == [False, False, False]  # abstains: 0.5 < 0.6
    assert decision_trace([0.2, 0.5, 0.3], LABELS, task="multi-class")["fired"].tolist() == [
        False,
        True,
        False,
    ]
    assert np.isnan(decision_trace([0.2, 0.5, 0.3], LABELS, task="multi-class")["threshold"]).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"task": "multi-label"}, r"`thresholds` are required for a multi-label decision trace"),
        ({"task": "binary"}, r"`task` must be one of multi-class, multi-label; got 'binary'"),
        (
            {"task": "multi-class", "logits": [1.0]},
            r"`logits` must have 3 values \(one per class\); got 1",
        ),
    ],
)
def test_decision_trace_errors(kwargs, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match):
        decision_trace([0.2, 0.5, 0.3], LABELS, **kwargs)


def test_decision_trace_one_example_only() -> None:
    with pytest.raises(
        ValueError, match=r"`scores` must hold one example for a decision trace; got 2"
    ):
        decision_trace([[0.2, 0.8], [0.5, 0.5]], ["a", "b"], task="multi-class")


def test_validate_labels_returns_tuple() -> None:
    assert validate_labels(["a", "b"], 2) == ("a", "b")


score_matrices = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
    elements=st.floats(0, 1),
)


@given(score_matrices, st.floats(0, 1), st.floats(0, 1))
@settings(max_examples=200, deadline=None)
def test_multilabel_labels_shrink_as_thresholds_rise(
    scores: np.ndarray, a: float, b: float
) -> None:
    low, high = sorted((a, b))
    labels = [f"c{i}" for i in range(scores.shape[1])]
    for loose, strict in zip(
        multilabel_decide(scores, labels, low), multilabel_decide(scores, labels, high), strict=True
    ):
        assert set(strict) <= set(loose)


@given(score_matrices, st.integers(1, 8))
@settings(max_examples=200, deadline=None)
def test_top_k_sorted_and_consistent_with_argmax(scores: np.ndarray, k: int) -> None:
    labels = [f"c{i}" for i in range(scores.shape[1])]
    for row, ranked, winner in zip(
        scores, top_k(scores, labels, k), multiclass_decide(scores, labels), strict=True
    ):
        values = [v for _, v in ranked]
        assert values == sorted(values, reverse=True)
        assert len(ranked) == min(k, len(labels))
        assert ranked[0][0] == winner
        assert ranked[0][1] == row.max()


def test_multiclass_per_class_winner_thresholds() -> None:
    scores = [[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]]
    assert multiclass_decide(scores, LABELS, thresholds=[0.6, 0.5, 0.0]) == [None, "fear"]
    # with both, the winner must reach the larger of the two
    assert multiclass_decide(scores, LABELS, thresholds=[0.4, 0.1, 0.0], reject_threshold=0.55) == [
        None,
        "fear",
    ]
    with pytest.raises(
        ValueError,
        match=r"`thresholds\[0\]` must be in \[0, 1\] \(or \+inf: switched off\); got 2.0",
    ):
        multiclass_decide(scores, LABELS, thresholds=[2.0, 0.5, 0.5])
    trace = decision_trace(
        scores[0], LABELS, task="multi-class", thresholds=[0.6, 0.2, 0.2], reject_threshold=0.3
    )
    np.testing.assert_allclose(trace["threshold"], [0.6, 0.3, 0.3])
    assert trace["fired"].tolist() == [False, False, False]


def test_a_switched_off_class_never_fires() -> None:
    inf = float("inf")
    # multi-label: class b is off, even at score 1.0
    got = multilabel_decide([[0.9, 1.0, 0.6]], LABELS, [0.5, inf, 0.5])
    assert LABELS[1] not in got[0] and LABELS[0] in got[0]
    # multi-class: an off winner abstains (the winner rule with per-class thresholds)
    assert multiclass_decide([[0.2, 0.8, 0.0]], LABELS, thresholds=[0.0, inf, 0.0]) == [None]
    with pytest.raises(ValueError, match="switched off"):
        multilabel_decide([[0.5, 0.5, 0.5]], LABELS, [0.5, -inf, 0.5])
