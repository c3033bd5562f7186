"""Issue 14: teaching correctness, threshold consistency, the first screen, the signature page.

Unit tests for the pure parts (``cls_core``) and AppTest for what the pages say. The visual
parts (raw-logits bars, the Playground link's URL) are checked in a real browser in
``tests/browser/test_teaching_browser.py``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from cls_core.evaluation.metrics import build_evaluation
from cls_core.evaluation.thresholds import tune
from cls_core.evaluation.tuning_session import playground_query_params
from cls_core.paths import PROJECT_ROOT
from cls_core.scoring.export_output import ClassificationOutput
from cls_core.views import charts
from cls_core.views.formatting import count_noun, plain_code, threshold_text
from cls_core.views.lesson import explain_refusal, export_defaults, run_lesson
from cls_core.views.score_view import serving_thresholds_table, view_scores
from tests._trace_text import trace_of

# --------------------------------------------------------------------------- unit


def test_raw_logits_caption_depends_on_the_activation() -> None:
    softmax = view_scores([[1.0, -2.0]], model_activation="softmax", view="none").explanation
    sigmoid = view_scores([[1.0, -2.0]], model_activation="sigmoid", view="none").explanation
    assert "only differences between classes matter" in softmax
    assert "own sign decides" in sigmoid and "differences" not in sigmoid


def test_raw_logits_bars_mark_the_top_from_a_labelled_zero_without_fires_legend() -> None:
    spec = charts.score_bar_spec(
        ["a", "b", "c"],
        [-3.0, -0.5, -2.0],
        domain=None,
        value_title="logit",
        zero_label="0 = sigmoid score 0.5",
        sort="class-id",
    )
    rows = spec["data"]["values"]
    assert [r["status"] for r in rows] == ["other", "highest logit", "other"]
    bar = spec["layer"][0]["encoding"]
    assert bar["color"]["legend"] is None  # nothing can fire on logits
    low, high = bar["x"]["scale"]["domain"]  # explicit, always including zero
    assert low < 0 < high
    zero_layers = [layer for layer in spec["layer"] if "data" in layer]
    assert {layer["mark"]["type"] for layer in zero_layers} == {"rule", "text"}
    assert zero_layers[0]["data"]["values"] == [{"zero": 0.0, "text": "0 = sigmoid score 0.5"}]
    charts.score_bar_chart(["a", "b"], [-1.0, 2.0], domain=None)  # schema-valid
    scores = charts.score_bar_spec(["a", "b"], [0.2, 0.8], fired=[False, True])
    assert scores["layer"][0]["encoding"]["color"]["legend"] is not None
    assert [r["status"] for r in scores["data"]["values"]] == ["fires", "does not fire"]


def test_lesson_shows_what_the_activation_receives() -> None:
    plain = run_lesson(["a", "b"], [2.0, 1.0], [0.5, 0.5])
    assert not any("÷ T" in c for c in plain.table.columns)
    hot = run_lesson(["a", "b"], [2.0, 1.0], [0.5, 0.5], temperature=2.0, shift=1.0)
    column = "(logit + shift) ÷ T (T = 2)"
    np.testing.assert_allclose(hot.table[column], [1.5, 1.0])
    np.testing.assert_allclose(hot.sigmoid_scores, 1 / (1 + np.exp(-np.array([1.5, 1.0]))))


def test_export_defaults_follow_the_lesson() -> None:
    lesson = run_lesson(["a", "b"], [0.0, 0.0], [0.5, 0.5])
    assert export_defaults(lesson) == ("0.500, 0.500", "a, b")
    other = run_lesson(["a", "b"], [0.0, 3.0], [0.5, 0.5], temperature=0.5)
    assert export_defaults(other)[0] == "0.002, 0.998"


@pytest.mark.parametrize(
    ("scores", "classes", "who", "theirs", "ours"),
    [
        (
            [[1, 0]],
            None,
            "TensorFlow's ClassificationOutput",
            "Classification scores must be a float32 Tensor; got <the tensor>",
            "got a numpy array of dtype int32 and shape (1, 2)",
        ),
        (
            [[0.5, "a"]],
            None,
            "TensorFlow's ClassificationOutput",
            "Can't convert Python sequence with mixed types to Tensor.",
            "in `scores`",
        ),
        (
            None,
            None,
            "TensorFlow's ClassificationOutput",
            "Cannot create a ClassificationOutput with empty arguments. "
            "At least one of `scores` and `classes` must be defined.",
            None,
        ),
    ],
)
def test_refusals_say_who_refuses_and_in_whose_words(
    scores: object, classes: object, who: str, theirs: str, ours: str | None
) -> None:
    with pytest.raises((ValueError, TypeError)) as info:
        ClassificationOutput.from_values(scores=scores, classes=classes)
    refusal = explain_refusal(info.value, serving=False)
    assert (refusal.who, refusal.their_text, refusal.our_text) == (who, theirs, ours)


def test_width_mismatch_is_tf_servings_rule_not_classification_outputs() -> None:
    output = ClassificationOutput.from_values(scores=[[0.5, 0.5]], classes=[["a", "b", "c"]])
    with pytest.raises(ValueError, match="dim_size") as info:
        output.to_rows()
    refusal = explain_refusal(info.value, serving=True)
    assert refusal.who == "TF Serving's classify API" and refusal.their_text is None
    assert refusal.our_text is not None and "as TF Serving requires" in refusal.our_text


def test_small_wording_helpers() -> None:
    assert [count_noun(n, "class", "classes") for n in (0, 1, 2, 1000)] == [
        "0 classes",
        "1 class",
        "2 classes",
        "1,000 classes",
    ]
    assert plain_code("one input, keyed `inputs`; `x`") == "one input, keyed “inputs”; “x”"
    # rounded, never truncated: 0.51395 is 0.5140 (a step-truncating editor said 0.513)
    assert [threshold_text(v) for v in (0.51395, 0.99996, 0.5)] == ["0.5140", "1.0000", "0.5000"]


def test_playground_link_carries_exact_thresholds_and_keeps_every_decision() -> None:
    rng = np.random.default_rng(7)
    n, k = 2000, 6
    truth = rng.random((n, k)) < 0.25
    # float32 scores on a fine grid: many examples score within 0.001 of a tuned threshold
    scores = np.clip(truth * 0.3 + rng.random((n, k)) * 0.7, 0, 1).astype(np.float32)
    labels = [f"c{i}" for i in range(k)]
    ev = build_evaluation(scores, truth, labels=labels, task="multi-label")
    thresholds = np.asarray(tune(ev, "f1").selection.thresholds, dtype=np.float64)  # type: ignore[union-attr]
    params = playground_query_params(
        "m", labels, thresholds, task="multi-label", source="Threshold tuning on demo"
    )
    assert list(params).count("model") == 1 and params["thresholds_from"].endswith("demo")
    back = np.array([float(params[f"t.m.{label}"]) for label in labels])
    np.testing.assert_array_equal(back, np.clip(thresholds, 0, 1))  # exact, not rounded
    np.testing.assert_array_equal(scores >= back, scores >= thresholds)  # same decisions
    rounded = np.round(thresholds, 3)  # what the old 3-decimal link carried
    assert not np.array_equal(scores >= rounded, scores >= thresholds)  # it changed some


def test_serving_thresholds_table_reads_scores_by_label() -> None:
    table = serving_thresholds_table(
        ["joy", "fear"], [0.4, 0.6], [[b"fear", b"joy"]], np.array([[0.7, 0.4]])
    )
    assert table.to_dict("list") == {
        "label": ["joy", "fear"],
        "threshold": [0.4, 0.6],
        "score": [0.4, 0.7],
        "fires": [True, True],
    }
    with pytest.raises(ValueError, match="must hold each of the 2 labels once"):
        serving_thresholds_table(["joy", "fear"], [0.4, 0.6], [["joy", "joy"]], [[0.1, 0.2]])


# --------------------------------------------------------------------------- AppTest


def _app(**query: str) -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=180)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _headline(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("### ")).replace("\\", "")


NAMES, LOGITS = ["sports", "politics", "science", "weather"], [2.0, 1.2, 0.3, -1.5]


def _lesson() -> AppTest:
    at = _app()
    at.switch_page("pages/lesson.py").run()
    _ok(at)
    return at


def test_lesson_has_no_model_picker() -> None:
    at = _lesson()
    assert "model" not in [s.key for s in at.sidebar.selectbox]
    assert any("uses no model" in c.value for c in at.sidebar.caption)


def test_lesson_explorer_follows_the_logits_table() -> None:
    at = _lesson()
    default = export_defaults(run_lesson(NAMES, LOGITS, [0.5] * 4))[0]
    assert at.text_input(key="co_scores").value == default
    # a temperature change refills the scores box
    at.slider(key="lesson_temperature").set_value(2.0).run()
    _ok(at)
    hot = run_lesson(NAMES, LOGITS, [0.5] * 4, temperature=2.0)
    assert at.text_input(key="co_scores").value == export_defaults(hot)[0]
    response = json.loads(next(c.value for c in at.code if c.value.startswith('{"results"')))
    assert response["results"][0][0] == ["sports", pytest.approx(hot.softmax_scores[0], abs=5e-4)]
    # an edit here lasts until the table changes again
    at.text_input(key="co_scores").set_value("0.1, 0.2, 0.3, 0.4").run()
    assert at.text_input(key="co_scores").value == "0.1, 0.2, 0.3, 0.4"
    at.slider(key="lesson_shift").set_value(1.0).run()  # softmax unchanged: box unchanged
    assert at.text_input(key="co_scores").value == "0.1, 0.2, 0.3, 0.4"
    assert any("did not change the softmax scores" in i.value for i in at.info)
    assert not any("0.000000" in i.value for i in at.info)
    at.slider(key="lesson_temperature").set_value(1.0).run()
    assert at.text_input(key="co_scores").value == default
    # the table's temperature column shows what the activation receives
    at.slider(key="lesson_temperature").set_value(0.5).run()
    table = next(d.value for d in at.dataframe if "softmax" in d.value.columns)
    assert "(logit + shift) ÷ T (T = 0.5)" in table.columns


def test_lesson_error_box_says_who_refuses() -> None:
    at = _lesson()
    at.text_input(key="co_scores").set_value("1, 0, 0, 0").run()
    _ok(at)
    assert at.error[0].value == "TensorFlow's ClassificationOutput refuses these outputs."
    codes = [c.value for c in at.code]
    assert "Classification scores must be a float32 Tensor; got <the tensor>" in codes
    assert "got a numpy array of dtype int32 and shape (1, 4)" in codes
    at.text_input(key="co_scores").set_value("0.5, 0.5").run()
    assert at.error[0].value == "TF Serving's classify API refuses these outputs."
    assert not any("TensorFlow's own message" in m.value for m in at.markdown)


def test_playground_first_screen_shows_a_prior_not_a_prediction() -> None:
    at = _app(model="banking77")
    _ok(at)
    assert _headline(at) == "### No text yet: the model's prior"
    assert not any(m.value.startswith("### Predicted") for m in at.markdown)
    assert any("not a prediction" in c.value for c in at.caption)
    at.text_area(key="text").set_value("I lost my card").run()
    assert _headline(at).startswith("### Predicted class:")


def test_try_an_example_forgets_an_edited_example() -> None:
    at = _app(model="banking77")
    example = at.selectbox(key="preset_banking77").options[1]
    at.selectbox(key="preset_banking77").select_index(1).run()
    assert at.text_area(key="text").value == at.selectbox(key="preset_banking77").value
    at.text_area(key="text").set_value("my own words about a card").run()
    _ok(at)
    assert at.selectbox(key="preset_banking77").value is None
    assert example != "my own words about a card"


def test_trace_names_the_two_distances_and_shows_logit_over_t() -> None:
    at = _app(model="banking77", text="I lost my card")
    at.slider(key="reject.banking77").set_value(0.3).run()
    at.slider(key="temperature").set_value(2.0).run()
    _ok(at)
    trace = trace_of(at)
    assert {"score − runner-up", "score − threshold", "logit ÷ T (T = 2)"} <= set(trace.columns)
    assert "margin" not in trace.columns
    assert len(trace) == 77  # every class, as the grid had
    np.testing.assert_allclose(trace["logit ÷ T (T = 2)"], trace["logit"] / 2, atol=1e-4)
    np.testing.assert_allclose(trace["threshold"], 0.3)
    assert trace["fired"].sum() <= 1


def test_playground_says_where_linked_thresholds_came_from() -> None:
    at = _app(model="goemotions", text="thanks a lot")
    assert any("the model card's, tuned on the dev split" in e.label for e in at.expander)
    at = _app(
        model="goemotions",
        text="thanks a lot",
        **{"t.goemotions.gratitude": "0.51349999", "thresholds_from": "Threshold tuning on x"},
    )
    _ok(at)
    labels = [e.label for e in at.expander]
    assert any("from Threshold tuning on x, via the link" in label for label in labels), labels
    assert at.slider(key="t.goemotions.gratitude").value == pytest.approx(0.51349999, abs=0)


def test_signature_page_starts_from_the_playground_text_and_shows_thresholds() -> None:
    at = _app(model="goemotions", text="I am so scared of tomorrow")
    _ok(at)
    at.switch_page("pages/signature.py").run()
    _ok(at)
    assert at.text_input(key="sig_text.goemotions").value == "I am so scared of tomorrow"
    assert "4 · Per-class thresholds: the client applies them" in [s.value for s in at.subheader]
    assert any("has to apply the per-class thresholds itself" in w.value for w in at.warning)
    table = at.dataframe[-1].value
    assert list(table.columns) == ["label", "threshold", "score", "fires"] and len(table) == 28
    lint = next(d.value for d in at.dataframe if "rule" in d.value.columns)
    assert not any("`" in cell for cell in [*lint["rule"], *lint["why"]])
