"""Own models in the app (issue 10), headless through AppTest: sidebar, Playground, signatures.

The model root is a copy of the session's five own-model fixtures; ``CLS_MODEL_DIRS``
points at it and the cached listing is cleared, so the app sees them next to the bundled
models.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cls_core.paths import PROJECT_ROOT
from tests._own_models import KERAS_LABELS, MODULE_LABELS


@pytest.fixture(scope="module")
def own_root(own_model_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("own_pages") / "root"
    shutil.copytree(own_model_root, root)
    (root / "keras_probs" / "labels.txt").write_text("\n".join(KERAS_LABELS) + "\n")
    return root


@pytest.fixture
def app_env(own_root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from pages import _shared

    monkeypatch.setenv("CLS_MODEL_DIRS", str(own_root))
    _shared.model_listing.clear()
    yield
    _shared.model_listing.clear()


def _app(page: str | None = None, **query: str) -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=180)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    if page is not None:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [w.value for w in at.warning] + [i.value for i in at.info]
    parts += [e.value for e in at.error] + [s.value for s in at.success]
    return "\n".join(str(p) for p in parts).replace("\\", "")  # drop Markdown escapes


@pytest.mark.usefixtures("app_env")
def test_sidebar_groups_own_models_after_bundled_ones() -> None:
    at = _app(model="binary_sigmoid")
    assert at.selectbox(key="model").value == "binary_sigmoid"  # ?model= works for own models
    options = at.selectbox(key="model").options
    own = ["binary_sigmoid", "estimator_classify", "keras_probs", "module_logits"]
    assert options[-len(own) :] == own  # grouped: bundled models first, then own ones
    assert {"banking77", "ekman", "goemotions"} <= set(options[: -len(own)])
    texts = _texts(at)
    assert "Own models (4)" in [e.label for e in at.expander]
    assert "serving_default → probability (sigmoid probabilities) · multi-class · binary" in texts
    assert "No model_card.json" in texts
    # the multi-output model is explained, not hidden, and the app keeps working
    assert "multi_output" in texts and "give --output KEY" in texts


@pytest.mark.usefixtures("app_env")
def test_playground_shows_own_labels_and_the_recovered_logits_note() -> None:
    at = _app(model="keras_probs", text="the match was won")
    texts = _texts(at)
    assert any(label in texts for label in KERAS_LABELS)
    assert "Predicted class:" in texts
    assert "recovered from them as log p" in texts
    at = _app(model="binary_sigmoid", text="win a free prize now")
    texts = _texts(at)
    assert "Predicted class: negative" in texts or "Predicted class: positive" in texts
    assert "log(p / (1 − p))" in texts


@pytest.mark.usefixtures("app_env")
def test_signature_page_lints_own_models() -> None:
    at = _app("pages/signature.py", model="estimator_classify")
    texts = _texts(at)
    assert "Classify signature `serving_default`: all 10 rules pass" in texts
    at = _app("pages/signature.py", model="keras_probs")
    texts = _texts(at)
    assert "Predict-only" in texts
    assert "method name is tensorflow/serving/classify" in texts


@pytest.mark.usefixtures("app_env")
@pytest.mark.parametrize(
    ("model", "labels"),
    [("module_logits", MODULE_LABELS), ("binary_sigmoid", ("negative", "positive"))],
)
def test_threshold_page_tunes_own_models_on_labelled_texts(
    model: str, labels: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLS_CACHE_DIR", str(tmp_path))
    samples = ["my bill is wrong", "where is my parcel", "money back please", "hello", "spam"]
    body = "text,label\n" + "".join(
        f"{samples[i % len(samples)]} {i},{labels[i % len(labels)]}\n" for i in range(24)
    )
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=180)
    at.query_params["model"] = model
    at.session_state[f"tune_source.{model}"] = "texts"
    at.switch_page("pages/thresholds.py").run()
    upload = next(u for u in at.file_uploader if u.label.startswith("Upload labelled texts"))
    upload.set_value(("texts.csv", body.encode(), "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert next(m.value for m in at.metric if m.label == "Rows read") == "24"
    preview = next(e for e in at.expander if e.label == "Preview thresholds.json")
    if preview.proto.id.startswith("$$ID-"):  # sent only while open (the per-class page)
        at.session_state[preview.proto.id.split("-", 2)[2]] = True
        at.run()
    doc = json.loads(next(c.value for c in at.code if c.language == "json"))
    assert doc["labels"] == list(labels) and doc["n_examples"] == 24
    assert doc["model"] == model
