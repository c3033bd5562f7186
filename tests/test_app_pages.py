"""AppTest: every page driven headlessly through Streamlit's own test harness."""

from __future__ import annotations

import subprocess
import sys

import pytest
from streamlit.testing.v1 import AppTest

from cls_core.modelio.registry import list_models
from cls_core.paths import PROJECT_ROOT


def test_bundled_models_are_listed() -> None:
    assert {"banking77", "goemotions", "ekman"} <= set(list_models().names)


def _app(**query: str) -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def _headline(at: AppTest) -> str:
    heads = [m.value for m in at.markdown if m.value.startswith("### ")]
    assert heads, "no decision headline rendered"
    return heads[0].replace("\\", "")


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_playground_scores_text_from_url() -> None:
    at = _app(model="banking77", text="I lost my card")
    _no_exception(at)
    assert at.text_area(key="text").value == "I lost my card"
    assert _headline(at) == "### Predicted class: lost_or_stolen_card"
    assert at.selectbox(key="model").value == "banking77"


def test_playground_typing_rescoring_and_views() -> None:
    at = _app(model="banking77")
    at.text_area(key="text").set_value("How do I top up with my card?").run()
    _no_exception(at)
    assert "top" in _headline(at) or "card" in _headline(at)
    at.selectbox(key="view").set_value("sigmoid").run()
    _no_exception(at)
    assert any("no longer sum to 1" in c.value for c in at.caption)
    at.selectbox(key="view").set_value("none").run()
    assert _headline(at) == "### Raw logits: no labels are decided on logits."


def test_playground_reject_threshold_abstains() -> None:
    at = _app(model="banking77", text="I lost my card")
    assert _headline(at).startswith("### Predicted class:")
    at.slider(key="reject.banking77").set_value(1.0).run()
    _no_exception(at)
    assert _headline(at) == "### Abstain: the top score is below the reject threshold."


def test_playground_multilabel_thresholds_change_labels() -> None:
    at = _app(model="goemotions", text="Thank you so much, I love it!")
    _no_exception(at)
    before = _headline(at)
    assert before.startswith("### Predicted label")
    at.slider(key="setall.goemotions").set_value(1.0)
    at.button[[b.label for b in at.button].index("Apply to all")].click().run()
    _no_exception(at)
    assert _headline(at) == "### No label passes its threshold."
    at.button[[b.label for b in at.button].index("Reset to card")].click().run()
    assert _headline(at) == before


def test_switching_models_keeps_text() -> None:
    at = _app(model="ekman", text="I can't believe it, what a wonderful surprise!")
    _no_exception(at)
    at.selectbox(key="model").set_value("goemotions").run()
    _no_exception(at)
    assert at.text_area(key="text").value == "I can't believe it, what a wonderful surprise!"
    assert any("Thresholds per class" in e.label for e in at.expander)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "nope", "/etc/passwd", "<script>x</script>"])
def test_hostile_model_parameter_shows_clear_message(bad: str) -> None:
    at = _app(model=bad, text="hello")
    _no_exception(at)
    errors = [e.value for e in at.error]
    assert any("There is no model called" in e and "Available models:" in e for e in errors), errors


def test_word_importance_compare_and_json() -> None:
    at = _app(model="banking77", text="my card payment was declined at the shop")
    at.session_state["tab"] = "Word importance"
    at.run()
    _no_exception(at)
    assert any("is removed (blue: the word supports the class" in c.value for c in at.caption)
    at.session_state["tab"] = "Compare"
    at.run()
    at.text_area(key="compare_banking77").set_value("I want a refund").run()
    _no_exception(at)
    assert any(m.value.startswith("**A:**") for m in at.markdown)
    at.session_state["tab"] = "JSON"
    at.run()
    json_blocks = [c.value for c in at.code if c.language == "json"]
    assert json_blocks
    assert '"model": "banking77"' in json_blocks[0]


def test_lesson_page_never_imports_tensorflow() -> None:
    code = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        "at = AppTest.from_file('pages/lesson.py', default_timeout=60).run()\n"
        "assert not at.exception, at.exception\n"
        "at.slider(key='lesson_shift').set_value(2.0).run()\n"
        "at.text_input(key='co_classes').set_value('0, 1, 2, 3').run()\n"
        "assert any('string Tensor' in c.value for c in at.code), [c.value for c in at.code]\n"
        "assert 'tensorflow' not in sys.modules, 'lesson imported tensorflow'\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")


def test_lesson_shift_and_bad_rows() -> None:
    at = AppTest.from_file(str(PROJECT_ROOT / "pages" / "lesson.py"), default_timeout=60).run()
    _no_exception(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["softmax: sum"] == "1.000"
    assert metrics["softmax: winner (argmax)"] == "sports"
    at.slider(key="lesson_shift").set_value(3.0).run()
    assert any("did not change the softmax scores" in i.value for i in at.info)
    at.radio(key="co_mode").set_value("classes only").run()
    assert any(i.value.startswith("Classes only") for i in at.info)
    at.radio(key="co_mode").set_value("scores only").run()
    at.text_input(key="co_scores").set_value("1, 0, 0, 0").run()
    assert any("Classification scores must be a float32 Tensor" in c.value for c in at.code)


def test_multiclass_per_class_thresholds_from_a_link() -> None:
    """Threshold tuning exports per-class winner thresholds for multi-class models."""
    at = _app(model="banking77", text="I lost my card", **{"t.banking77.lost_or_stolen_card": "1"})
    _no_exception(at)
    assert _headline(at) == "### Abstain: the top score is below its class's threshold."
    assert any("Per-class thresholds from the link apply: 1 of 77" in i.value for i in at.info)
    at.button[[b.label for b in at.button].index("Clear them")].click().run()
    _no_exception(at)
    assert _headline(at) == "### Predicted class: lost_or_stolen_card"


def test_signature_page_round_trip_and_model_switch() -> None:
    at = _app(model="banking77")
    at.switch_page("pages/signature.py").run()
    _no_exception(at)
    assert any("Linter: all 10 rules pass" in s.value for s in at.success)
    codes = [c.value for c in at.code]
    assert any('method_name: "tensorflow/serving/classify"' in c for c in codes)
    assert any("signature_def['classification']" in c for c in codes)  # the CLI text
    at.text_input(key="sig_text.banking77").set_value("my card got stolen <b>now</b>").run()
    _no_exception(at)
    request = next(c for c in at.code if c.language == "json" and '"examples"' in c.value)
    assert "my card got stolen <b>now</b>" in request.value
    response = next(c for c in at.code if c.language == "json" and '"results"' in c.value)
    assert '"lost_or_stolen_card"' in response.value
    assert any(c.language == "bash" and c.value.startswith("curl ") for c in at.code)
    assert any("ClassificationRequest" in m.value for m in at.markdown) or any(
        "model_spec" in c.value for c in at.code
    )
    at.selectbox(key="model").set_value("goemotions").run()
    _no_exception(at)
    assert any("Linter: all 10 rules pass" in s.value for s in at.success)


def test_same_text_with_the_partner_model() -> None:
    at = _app(model="goemotions", text="I can't believe it, what a wonderful surprise!")
    at.session_state["tab"] = "Another model"
    at.run()
    _no_exception(at)
    assert at.selectbox(key="other_model.goemotions").value == "ekman"
    sums = [c.value for c in at.caption if c.value.startswith("sum of the scores = ")]
    assert len(sums) == 2
    assert sums[1] == "sum of the scores = 1.000"  # ekman: softmax
    assert any("shares one unit of probability" in c.value for c in at.caption)


def test_loading_a_model_keeps_tensorflow_warm_between_reruns() -> None:
    """Streamlit calls keras.backend.clear_session() after every rerun; it must not clear
    TensorFlow's kernel cache (~100 ms on the next call) or walk the whole heap."""
    import gc

    import keras

    from pages import _shared

    card = next(c for c in list_models().cards if c.name == "banking77")
    _shared.loaded_model(card)
    assert keras.backend.clear_session() is None
    assert keras.backend.clear_session.__name__ == "<lambda>"  # replaced, not Keras's own
    assert gc.get_freeze_count() > 0
