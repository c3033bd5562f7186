"""AppTest: the threshold-tuning page driven headlessly (uploads, thresholds, optimiser, export/import)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from cls_core.modelio.registry import list_models
from cls_core.paths import PROJECT_ROOT

N_ROWS = 240


def _goemotions_labels() -> list[str]:
    card = list_models().get("goemotions")
    if card is None:
        pytest.skip("the goemotions model is not installed")
    return list(card.labels)


def _scores_csv(labels: list[str], *, bad_cell: bool = False) -> bytes:
    """Synthetic multi-label scores (positives score higher) with a `;`-joined truth column."""
    rng = np.random.default_rng(7)
    truth = rng.random((N_ROWS, len(labels))) < 0.12
    truth[np.arange(N_ROWS), rng.integers(0, len(labels), N_ROWS)] = True
    scores = np.clip(0.45 * truth + 0.55 * rng.random(truth.shape), 0, 1)
    lines = [",".join([*labels, "label"])]
    for i in range(N_ROWS):
        cells = [f"{v:.4f}" for v in scores[i]]
        if bad_cell and i == 2:
            cells[1] = "nan"
        lines.append(",".join([*cells, ";".join(np.array(labels)[truth[i]])]))
    return ("\n".join(lines) + "\n").encode()


def _page(model: str, source: str) -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=120)
    at.query_params["model"] = model
    at.session_state[f"tune_source.{model}"] = source
    at.switch_page("pages/thresholds.py")
    return at.run()


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _redraw(at: AppTest) -> AppTest:
    """A full run after a threshold change. The page's callbacks rerun only the fragments
    that show thresholds (``st.rerun([keys])``); AppTest then holds only those in its tree,
    and cannot resolve a page link in such a run (the real server can: test_threshold_moves
    and the browser tests check that run)."""
    return at.run()


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _uploader(at: AppTest, label: str):  # type: ignore[no-untyped-def]
    return next(u for u in at.file_uploader if u.label.startswith(label))


def _thresholds_json(at: AppTest) -> dict:
    """The previewed thresholds.json (the preview is sent only while open: open it)."""
    if not [c for c in at.code if c.language == "json"]:
        preview = next(e for e in at.expander if e.label == "Preview thresholds.json")
        at.session_state[preview.proto.id.split("-", 2)[2]] = True  # its user key
        at.run()
    blocks = [c.value for c in at.code if c.language == "json"]
    assert blocks, "no thresholds.json preview"
    return json.loads(blocks[0])


def test_scores_upload_threshold_optimiser_export_and_reimport() -> None:
    labels = _goemotions_labels()
    at = _page("goemotions", "scores")
    _ok(at)
    assert any("scores file has one float column per class" in i.value for i in at.info)
    _uploader(at, "Upload scores").set_value(("scores.csv", _scores_csv(labels), "text/csv")).run()
    _ok(at)
    assert _metric(at, "Rows read") == f"{N_ROWS:,}"
    assert any("Assumed: the score columns are **probabilities**" in i.value for i in at.info)
    doc = _thresholds_json(at)
    assert doc["thresholds"] == [0.5] * len(labels)  # scores files start at 0.5
    assert doc["objective"] == "manual" and doc["n_examples"] == N_ROWS
    assert "model" not in doc  # a scores file is model-agnostic

    # move the inspected class's threshold
    before = _metric(at, "Micro F1")
    slider = next(s for s in at.slider if s.label.startswith("Threshold for"))
    focus = slider.label.removeprefix("Threshold for ")
    slider.set_value(0.95).run()
    _redraw(at)
    _ok(at)
    doc = _thresholds_json(at)
    assert doc["thresholds"][labels.index(focus)] == pytest.approx(0.95)
    assert _metric(at, "Micro F1") != before

    # optimise F1 per class
    next(b for b in at.button if b.label.startswith("Optimise: f1")).click().run()
    _ok(at)
    doc = _thresholds_json(at)
    assert doc["objective"] == "f1"
    assert doc["thresholds"] != [0.5] * len(labels)
    assert float(_metric(at, "Macro F1")) > 0.5

    # export → edit → re-import: the page takes the file's thresholds
    doc["thresholds"] = [0.3] * len(labels)
    doc["objective"] = "manual"
    blob = json.dumps(doc).encode()
    _uploader(at, "Import a thresholds.json").set_value(("t.json", blob, "application/json")).run()
    _redraw(at)
    _ok(at)
    assert _thresholds_json(at)["thresholds"] == [0.3] * len(labels)
    assert any("Imported t.json" in s.value.replace("\\", "") for s in at.success)
    links = at.get("page_link")
    assert links, "no Playground link"
    assert "t.goemotions.admiration=0.3" in links[0].proto.query_string

    # a file for other labels is refused with a clear message; thresholds stay
    doc["labels"] = list(reversed(labels))
    bad = json.dumps(doc).encode()
    _uploader(at, "Import a thresholds.json").set_value(("bad.json", bad, "application/json")).run()
    _ok(at)
    assert any("Cannot import this file" in e.value for e in at.error)
    assert _thresholds_json(at)["thresholds"] == [0.3] * len(labels)

    next(b for b in at.button if b.label == "Reset").click().run()
    _redraw(at)
    _ok(at)
    assert _thresholds_json(at)["thresholds"] == [0.5] * len(labels)


def test_bad_scores_file_gives_clear_error_and_drop_option() -> None:
    labels = _goemotions_labels()
    at = _page("goemotions", "scores")
    upload = _uploader(at, "Upload scores")
    upload.set_value(("scores.csv", _scores_csv(labels, bad_cell=True), "text/csv")).run()
    _ok(at)
    errors = [e.value.replace("\\", "") for e in at.error]
    assert any("at row 3, column 'amusement'" in e for e in errors), errors
    assert at.radio(key="tune_source.goemotions").value == "scores"  # the choice is kept
    at.toggle(key="tune_drop_invalid").set_value(True).run()
    _ok(at)
    assert not at.error
    assert _metric(at, "Rows dropped") == "1"

    _uploader(at, "Upload scores").set_value(("x.csv", b"\x00\x01binary", "text/csv")).run()
    _ok(at)
    assert at.error and "file" in at.error[0].value


def test_ekman_demo_set_reject_threshold_and_coverage_optimiser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if list_models().get("ekman") is None:
        pytest.skip("the ekman model is not installed")
    monkeypatch.setenv("CLS_CACHE_DIR", str(tmp_path))
    at = _page("ekman", "demo")
    _ok(at)
    assert _metric(at, "Coverage") == "1.000"
    reject = next(s for s in at.slider if s.label.startswith("Reject threshold"))
    reject.set_value(0.6).run()
    _redraw(at)
    _ok(at)
    assert float(_metric(at, "Coverage")) < 1.0
    assert _thresholds_json(at)["reject_threshold"] == pytest.approx(0.6)
    at.selectbox(key=next(s.key for s in at.selectbox if s.label == "Objective")).set_value(
        "coverage ≥ c"
    ).run()
    next(n for n in at.number_input if n.label == "Target").set_value(0.8).run()
    next(b for b in at.button if b.label.startswith("Optimise: coverage>=0.8")).click().run()
    _ok(at)
    assert float(_metric(at, "Coverage")) >= 0.8
    assert _thresholds_json(at)["objective"] == "coverage>=0.8"
    specs = [c.proto.spec for c in at.get("vega_lite_chart")]
    assert any("Confusion (rows: true class)" in s and "(abstain)" in s for s in specs)


def test_labelled_texts_upload_scored_cached_and_unknown_labels_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if list_models().get("ekman") is None:
        pytest.skip("the ekman model is not installed")
    monkeypatch.setenv("CLS_CACHE_DIR", str(tmp_path))
    rows = [
        ("I am so happy today, this is wonderful", "joy"),
        ("This makes me furious", "anger"),
        ("I am terrified of the dark", "fear"),
        ("What a shock, I did not expect that", "surprise"),
        ("I miss her so much, it hurts", "sadness"),
        ("That is disgusting", "disgust"),
        ("The meeting is at noon", "neutral"),
        ("I am bored", "boredom"),
    ] * 3
    body = "sentence,emotion\n" + "".join(f'"{t}",{lab}\n' for t, lab in rows)
    at = _page("ekman", "texts")
    _uploader(at, "Upload labelled texts").set_value(("texts.csv", body.encode(), "text/csv")).run()
    _ok(at)
    at.selectbox(key="tune_text_col").set_value("sentence").run()
    at.selectbox(key="tune_truth.texts").set_value("emotion").run()
    _ok(at)
    errors = [e.value.replace("\\", "") for e in at.error]
    assert any("3 rows have truth labels the model does not know: 'boredom'" in e for e in errors)
    at.toggle(key="tune_drop_unknown").set_value(True).run()
    _ok(at)
    assert not at.error
    assert _metric(at, "Rows read") == "24" and _metric(at, "Rows dropped") == "3"
    assert any(d.value["reason"].tolist() == ["unknown truth labels"] for d in at.dataframe[:1])
    assert list((tmp_path / "scores").glob("*.npz")), "scores were not cached on disk"
    assert _thresholds_json(at)["n_examples"] == 21
