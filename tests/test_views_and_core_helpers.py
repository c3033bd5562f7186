"""cls_core.views.score_view, occlusion, lesson and formatting: the logic behind the Playground and lesson."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cls_core.scoring.activations import sigmoid, softmax
from cls_core.views.formatting import escape_markdown, join_labels, shorten
from cls_core.views.lesson import DEFAULT_LESSON, run_lesson
from cls_core.views.occlusion import occlusion_texts, word_importance
from cls_core.views.score_view import decide_view, result_record, view_scores

LABELS = ("a", "b", "c")
LOGITS = np.array([[2.0, 0.5, -1.0]])


@pytest.mark.parametrize(
    ("model", "view", "activation", "rule", "phrase"),
    [
        ("softmax", "model", "softmax", "argmax", "as the model was trained"),
        ("sigmoid", "model", "sigmoid", "thresholds", "as the model was trained"),
        ("softmax", "sigmoid", "sigmoid", "thresholds", "no longer sum to 1"),
        ("sigmoid", "softmax", "softmax", "argmax", "forced to compete"),
        ("softmax", "none", "none", "none", "raw logits"),
    ],
)
def test_view_scores_kinds(model, view, activation, rule, phrase) -> None:  # type: ignore[no-untyped-def]
    result = view_scores(LOGITS, model_activation=model, view=view)
    assert result.activation == activation
    assert result.rule == rule
    assert phrase in result.explanation
    expected = {"softmax": softmax(LOGITS), "sigmoid": sigmoid(LOGITS), "none": LOGITS}[activation]
    np.testing.assert_allclose(result.values, expected)


def test_view_temperature_explained() -> None:
    result = view_scores(LOGITS, model_activation="softmax", temperature=2.0)
    np.testing.assert_allclose(result.values, softmax(LOGITS / 2.0))
    assert "Temperature 2 divides every logit by 2 first, which flattens" in result.explanation


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"model_activation": "relu"},
            r"`model_activation` must be 'softmax' or 'sigmoid'; got 'relu'",
        ),
        ({"model_activation": "softmax", "view": "tanh"}, r"`view` must be one of model, softmax"),
        (
            {"model_activation": "softmax", "temperature": 0},
            r"`temperature` must be a finite number > 0",
        ),
    ],
)
def test_view_scores_errors(kwargs, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match):
        view_scores(LOGITS, **kwargs)


def test_decide_view_rules() -> None:
    soft = view_scores(LOGITS, model_activation="softmax")
    assert decide_view(soft, LABELS).sentence() == "Predicted class: a"
    abstain = decide_view(soft, LABELS, reject_threshold=0.99)
    assert abstain.abstained and abstain.labels == ()
    assert abstain.sentence() == "Abstain: the top score is below the reject threshold."
    assert decide_view(soft, LABELS, reject_threshold=0.0).reject_threshold is None

    sig = view_scores(LOGITS, model_activation="sigmoid")
    both = decide_view(sig, LABELS, thresholds=0.5)
    assert both.labels == ("a", "b") and both.sentence() == "Predicted labels: a, b"
    assert decide_view(sig, LABELS, thresholds=[0.95, 0.9, 0.0]).labels == ("c",)
    assert decide_view(sig, LABELS, thresholds=0.99).sentence() == "No label passes its threshold."
    with pytest.raises(ValueError, match=r"`thresholds` are required to decide a sigmoid view"):
        decide_view(sig, LABELS)

    raw = decide_view(view_scores(LOGITS, model_activation="softmax", view="none"), LABELS)
    assert raw.rule == "none" and not raw.fired.any()


def test_result_record_is_json_and_sorted() -> None:
    view = view_scores(LOGITS, model_activation="sigmoid")
    decision = decide_view(view, LABELS, thresholds=0.5)
    record = result_record(
        model="m",
        text="<b>hi</b>",
        labels=LABELS,
        logits=LOGITS[0],
        view=view,
        decision=decision,
        temperature=1.0,
    )
    assert json.loads(json.dumps(record)) == record
    assert [row["label"] for row in record["scores"]] == ["a", "b", "c"]
    assert record["labels"] == ["a", "b"]
    assert record["logits"] == {"a": 2.0, "b": 0.5, "c": -1.0}
    assert record["thresholds"] == {"a": 0.5, "b": 0.5, "c": 0.5}


def test_occlusion_texts_and_importance() -> None:
    assert occlusion_texts(["good", "movie", "night"]) == [
        "movie night",
        "good night",
        "good movie",
    ]

    def fake_scores(texts: list[str]) -> np.ndarray:
        # class 0 score: 0.9 if "good" appears, else 0.2; class 1 the complement
        s0 = np.array([0.9 if "good" in t.split() else 0.2 for t in texts])
        return np.stack([s0, 1 - s0], axis=1)

    result = word_importance("a good day", fake_scores, class_index=0)
    assert result.tokens == ("a", "good", "day")
    np.testing.assert_allclose(result.deltas, [0.0, 0.7, 0.0])
    assert result.base_score == pytest.approx(0.9)
    assert not result.truncated
    long = word_importance(" ".join(["good"] * 5), fake_scores, class_index=1, max_words=3)
    assert long.truncated and len(long.tokens) == 3
    with pytest.raises(ValueError, match=r"`class_index` must be in \[0, 1\]; got 5"):
        word_importance("x", fake_scores, class_index=5)
    with pytest.raises(TypeError, match=r"`text` must be a str; got NoneType"):
        word_importance(None, fake_scores, class_index=0)  # type: ignore[arg-type]


def test_lesson_default_and_shift() -> None:
    base = run_lesson(DEFAULT_LESSON["class"], DEFAULT_LESSON["logit"], DEFAULT_LESSON["threshold"])
    assert base.softmax_sum == pytest.approx(1.0)
    assert base.winner == "sports"
    assert base.fired == ("sports", "politics", "science")
    shifted = run_lesson(
        DEFAULT_LESSON["class"], DEFAULT_LESSON["logit"], DEFAULT_LESSON["threshold"], shift=3.0
    )
    np.testing.assert_allclose(shifted.softmax_scores, base.softmax_scores, atol=1e-12)
    assert shifted.softmax_change < 1e-12 < shifted.sigmoid_change
    assert shifted.fired == ("sports", "politics", "science", "weather")


@pytest.mark.parametrize(
    ("names", "logits", "thresholds", "match"),
    [
        (["a"], [1.0], [0.5], r"the lesson needs at least 2 classes; got 1"),
        (["a", " "], [1.0, 2.0], [0.5, 0.5], r"row 2: the class name is empty"),
        (["a", None], [1.0, 2.0], [0.5, 0.5], r"row 2: the class name is empty"),
        (
            ["a", " a"],
            [1.0, 2.0],
            [0.5, 0.5],
            r"^row 2: the class name “a” is already used in row 1; every class needs its own name$",
        ),
        (["a", "b"], [1.0, "x"], [0.5, 0.5], r"row 2: logit must be a number; got 'x'"),
        (["a", "b"], [1.0, float("nan")], [0.5, 0.5], r"row 2: logit must be a finite number"),
        (["a", "b"], [1.0, 2.0], [0.5, 1.5], r"row 2: threshold must be in \[0, 1\]; got 1.5"),
    ],
)
def test_lesson_errors(names, logits, thresholds, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match):
        run_lesson(names, logits, thresholds)


def test_formatting() -> None:
    assert escape_markdown("<script>alert(1)</script>") == r"\<script\>alert\(1\)\</script\>"
    assert escape_markdown("a\x00b\nc") == "ab c"
    assert join_labels(["joy"]) == "**joy**"
    assert join_labels(["a", "b", "c"]) == "**a**, **b** and **c**"
    assert shorten("abcdef", 4) == "abc…"
    assert shorten("abc", 4) == "abc"
