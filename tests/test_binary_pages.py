"""A binary model in the app (issue 10, item 4), headless through AppTest.

The Playground shows both classes' scores and ONE threshold slider ("positive when score ≥
t"); the label follows the slider, including a threshold exactly equal to the score. The
tuning page tunes that one threshold on the positive class and exports a ``task:
"binary"`` thresholds.json.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from cls_core.paths import PROJECT_ROOT
from tests._trace_text import trace_of

TEXT = "win a free prize now"


@pytest.fixture(scope="module")
def binary_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("tensorflow")
    from tests._own_models import build_all

    return build_all(tmp_path_factory.mktemp("binary_pages") / "root", kinds=("binary_sigmoid",))


@pytest.fixture
def app_env(binary_root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from pages import _shared

    monkeypatch.setenv("CLS_MODEL_DIRS", str(binary_root))
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
    return "\n".join(str(p) for p in parts).replace("\\", "")


def _bar_rows(at: AppTest) -> Any:
    """The Playground score chart's rows (its one named Arrow dataset)."""
    import pyarrow as pa

    chart = at.get("vega_lite_chart")[0]
    (dataset,) = chart.proto.datasets
    return pa.ipc.open_stream(dataset.data.data).read_all().to_pandas()


def _p(binary_root: Path, text: str) -> float:
    from cls_core.modelio.registry import load_model

    return float(load_model("binary_sigmoid", roots=[binary_root]).predict([text]).scores[0, 1])


@pytest.mark.usefixtures("app_env")
def test_playground_binary_has_one_threshold_and_the_label_follows_it(binary_root: Path) -> None:
    p = _p(binary_root, TEXT)
    at = _app(model="binary_sigmoid", text=TEXT)
    texts = _texts(at)
    assert "binary: one probability for positive" in texts
    assert "positive when p ≥ t, otherwise negative" in texts  # the teaching text
    slider = at.slider(key="bt.binary_sigmoid")
    assert slider.value == 0.5 and slider.label.startswith("Threshold: positive when its score ≥ t")
    keys = [s.key for s in at.slider]
    assert not any(k and k.startswith(("reject.", "t.", "tg.")) for k in keys)  # no other rule
    want = "positive" if p >= 0.5 else "negative"
    assert f"Predicted class: {want}" in texts
    # both classes' scores in the bar chart, a threshold tick only on the positive one
    bars = _bar_rows(at)
    assert set(bars["label"]) == {"negative", "positive"}
    assert float(bars.set_index("label").loc["positive", "value"]) == pytest.approx(p, abs=1e-6)
    thresholds = bars.set_index("label")["threshold"]
    assert np.isnan(thresholds["negative"]) and thresholds["positive"] == 0.5
    # t exactly equal to the score: positive; one step above: negative
    at.slider(key="bt.binary_sigmoid").set_value(p).run()
    assert "Predicted class: positive (positive's score ≥" in _texts(at)
    above = p + 1e-4
    at.slider(key="bt.binary_sigmoid").set_value(above).run()
    assert "Predicted class: negative (positive's score <" in _texts(at)
    # the decision trace names the one threshold
    trace = trace_of(at)
    assert "score − threshold" in trace.columns
    assert trace["label"].tolist() == ["negative", "positive"]
    assert trace["fired"].tolist() == [True, False]


@pytest.mark.usefixtures("app_env")
def test_playground_binary_link_threshold_and_json(binary_root: Path) -> None:
    p = _p(binary_root, TEXT)
    t = round(min(max(p - 0.05, 0.0), 1.0), 3)
    at = _app(model="binary_sigmoid", text=TEXT, **{"bt.binary_sigmoid": str(t)})
    assert at.slider(key="bt.binary_sigmoid").value == pytest.approx(t)
    assert "Predicted class: positive" in _texts(at)
    bad = _app(model="binary_sigmoid", text=TEXT, **{"bt.binary_sigmoid": "7"})
    assert "outside [0, 1]" in _texts(bad)


def _tuning_page(source: str) -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=180)
    at.query_params["model"] = "binary_sigmoid"
    at.session_state["tune_source.binary_sigmoid"] = source
    at.switch_page("pages/thresholds.py")
    return at.run()


def _uploader(at: AppTest, label: str) -> Any:
    return next(u for u in at.file_uploader if u.label.startswith(label))


def _doc(at: AppTest) -> dict[str, Any]:
    blocks = [c.value for c in at.code if c.language == "json"]
    assert blocks, "no thresholds.json preview"
    return dict(json.loads(blocks[0]))


def _metric(at: AppTest, label: str) -> str:
    return str(next(m.value for m in at.metric if m.label == label))


@pytest.mark.usefixtures("app_env")
def test_tuning_page_tunes_one_threshold_for_a_binary_scores_file() -> None:
    from cls_core.evaluation.binary import build_binary_evaluation, tune_binary

    rng = np.random.default_rng(1)
    p = np.round(rng.random(300), 3)
    y = (rng.random(300) < p).astype(int)
    names = np.array(["negative", "positive"])[y]
    csv = "negative,positive,label\n" + "\n".join(
        f"{1 - a!r},{a!r},{b}" for a, b in zip(p.tolist(), names.tolist(), strict=True)
    )
    bev = build_binary_evaluation(np.stack([1 - p, p], axis=1), y, labels=["negative", "positive"])
    at = _tuning_page("scores")
    _uploader(at, "Upload scores").set_value(("s.csv", csv.encode(), "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    toggle = next(t for t in at.toggle if t.label.startswith("Binary: one threshold"))
    assert toggle.value is True  # on by default for a binary model's labels
    assert not [s for s in at.selectbox if s.label == "Inspect class"]  # no per-class UI
    assert _metric(at, "Accuracy") == f"{bev.metrics_at(0.5).accuracy:.3f}"
    doc = _doc(at)
    assert doc["task"] == "binary" and doc["thresholds"] == [0.5]
    assert doc["positive_label"] == "positive"

    next(s for s in at.slider if s.label == "Threshold t for positive").set_value(0.3).run()
    assert _metric(at, "Accuracy") == f"{bev.metrics_at(0.3).accuracy:.3f}"
    assert _metric(at, "Recall (positive)") == f"{bev.metrics_at(0.3).recall:.3f}"
    assert _doc(at)["thresholds"] == [0.3]

    at.selectbox(
        key=next(s.key for s in at.selectbox if s.label.startswith("Objective"))
    ).set_value("precision>=0.9").run()
    next(b for b in at.button if b.label == "Optimise").click().run()
    assert not at.exception, [e.value for e in at.exception]
    want = tune_binary(bev, "precision>=0.9", min_tp=5)
    doc = _doc(at)
    assert doc["objective"] == "precision>=0.9"
    assert doc["thresholds"] == [want.threshold]
    assert doc["per_class"][1]["precision"] >= 0.9

    blob = json.dumps(
        {"labels": ["negative", "positive"], "thresholds": [0.42], "task": "binary"}
    ).encode()
    _uploader(at, "Import a binary thresholds.json").set_value(
        ("t.json", blob, "application/json")
    ).run()
    assert _doc(at)["thresholds"] == [0.42]
    links = [link.proto for link in at.get("page_link")]
    assert any("bt.binary_sigmoid=0.42" in link.query_string for link in links)
    wrong = json.dumps(
        {"labels": ["a", "b", "c"], "thresholds": [0.1, 0.2, 0.3], "task": "multi-class"}
    )
    _uploader(at, "Import a binary thresholds.json").set_value(
        ("w.json", wrong.encode(), "application/json")
    ).run()
    assert any("Cannot import this file" in e.value for e in at.error)
    assert _doc(at)["thresholds"] == [0.42]  # kept

    toggle = next(t for t in at.toggle if t.label.startswith("Binary: one threshold"))
    toggle.set_value(False).run()
    assert not at.exception
    assert [s for s in at.selectbox if s.label == "Inspect class"]  # the arg-max sections


@pytest.mark.usefixtures("app_env")
def test_tuning_page_binary_model_scores_labelled_texts(binary_root: Path) -> None:
    from cls_core.modelio.registry import load_model

    texts = [
        f"{a} {b}"
        for a in ("win", "free", "hello", "meeting", "prize")
        for b in ("now", "today", "team", "cash")
    ] * 3
    truth = [
        "positive" if any(w in t for w in ("win", "free", "prize", "cash")) else "negative"
        for t in texts
    ]
    csv = "text,label\n" + "\n".join(f"{a},{b}" for a, b in zip(texts, truth, strict=True))
    at = _tuning_page("texts")
    _uploader(at, "Upload labelled texts").set_value(("t.csv", csv.encode(), "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    model = load_model("binary_sigmoid", roots=[binary_root])
    p = model.predict(texts).scores[:, 1].astype(np.float64)
    y = np.array([t == "positive" for t in truth])
    accuracy = float(np.mean((p >= 0.5) == y))
    assert _metric(at, "Accuracy") == f"{accuracy:.3f}"
    assert any("Export as SavedModel" in b.label for b in at.button)


@pytest.mark.usefixtures("app_env")
def test_playground_binary_offers_its_own_view_and_logits_only() -> None:
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=180)
    at.query_params["model"] = "binary_sigmoid"
    at.query_params["text"] = TEXT
    at.session_state["view"] = "sigmoid"  # left over from another model
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    view = at.selectbox(key="view")
    assert view.options == [
        "the model's own activation (sigmoid p, shown as 1 − p and p)",
        "raw logits",
    ]
    view.set_value("none").run()
    assert not at.exception
    assert not [s for s in at.slider if s.key == "bt.binary_sigmoid"]  # nothing decided


def test_exported_binary_model_in_the_playground_and_signature_page(
    binary_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from cls_core.modelio.decision_export import export_decision_model
    from pages import _shared

    root = tmp_path / "root"
    shutil.copytree(binary_root, root)
    p = _p(binary_root, TEXT)
    t = float(np.float32(p))  # exactly the text's score: the baked rule says positive
    doc = {"labels": ["negative", "positive"], "thresholds": [t], "task": "binary"}
    (tmp_path / "t.json").write_text(json.dumps(doc))
    export_decision_model(
        "binary_sigmoid", tmp_path / "t.json", out_dir=root / "spam-exp", roots=[root]
    )
    monkeypatch.setenv("CLS_MODEL_DIRS", str(root))
    _shared.model_listing.clear()
    try:
        at = _app(model="spam-exp", text=TEXT)
        texts = _texts(at)
        assert "Decision baked in" in texts and "the model itself answers **positive**" in texts
        assert at.slider(key="bt.spam-exp").value == pytest.approx(t)  # starts at the baked t
        assert "Predicted class: positive (positive's score ≥" in texts
        baked = next(
            d.value for d in at.dataframe if "float32 cutoff (score ≥ it fires)" in d.value.columns
        )
        assert baked["label"].tolist() == ["positive"]
        sig = _app("pages/signature.py", model="spam-exp", text=TEXT)
        assert "a binary model never abstains" in _texts(sig)
    finally:
        _shared.model_listing.clear()
