"""AppTest: the threshold-tuning page's section 10 (examples, suspected label errors, slices)."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cls_core.modelio.registry import list_models
from cls_core.paths import PROJECT_ROOT


def _tuning_page_on_demo_set(model: str) -> AppTest:
    """The threshold-tuning page of ``model`` on its project-written demo set."""
    if list_models().get(model) is None:
        pytest.skip(f"the {model} model is not installed")
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=180)
    at.query_params["model"] = model
    at.session_state[f"tune_source.{model}"] = "demo"
    at.switch_page("pages/thresholds.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture(scope="module")
def ekman_page() -> AppTest:
    return _tuning_page_on_demo_set("ekman")


def _view(at: AppTest, name: str) -> AppTest:
    group = next(b for b in at.button_group if b.key and b.key.endswith(".exview"))
    group.set_value(name).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _widget(widgets, suffix: str):  # type: ignore[no-untyped-def]
    return next(w for w in widgets if w.key and w.key.endswith(suffix))


def test_nothing_is_computed_until_a_view_is_open(ekman_page: AppTest) -> None:
    captions = [c.value for c in ekman_page.caption]
    assert any("Nothing is computed until a view is open" in c for c in captions)
    assert not any("matching rows" in c for c in captions)


def test_examples_view_lists_the_false_positives_with_links(ekman_page: AppTest) -> None:
    at = _view(ekman_page, "Examples")
    caption = next(c.value for c in at.caption if "matching rows" in c.value)
    table = at.dataframe[-1].value
    assert set(table["outcome"]) == {"FP"}
    assert f"**{len(table)} matching rows**" in caption or "page 1 of" in caption
    assert (table["true"] != table["fired"]).all()
    link = urllib.parse.urlparse(table["Playground"].iloc[0])
    query = urllib.parse.parse_qs(link.query)
    assert query["model"] == ["ekman"] and query["text"] == [table["text"].iloc[0]]
    assert table["Signature"].iloc[0].startswith("./signature?model=ekman&text=")

    # TN for the same class, then a text search that matches nothing
    _widget(at.multiselect, ".ex.outcomes").set_value(["tn"]).run()
    assert set(at.dataframe[-1].value["outcome"]) == {"TN"}
    _widget(at.text_input, ".ex.search").set_value("zzz-no-such-text").run()
    assert any("No row matches" in i.value for i in at.info)
    _widget(at.text_input, ".ex.search").set_value("").run()


def test_examples_view_confusion_cell(ekman_page: AppTest) -> None:
    at = _view(ekman_page, "Examples")
    _widget(at.toggle, ".ex.usecell").set_value(True).run()
    _widget(at.selectbox, ".ex.celltrue").set_value(1).run()  # disgust
    _widget(at.selectbox, ".ex.cellans").set_value(0).run()  # answered anger
    table = at.dataframe[-1].value
    if len(table):
        assert set(table["true"]) == {"disgust"} and set(table["fired"]) == {"anger"}
    _widget(at.toggle, ".ex.usecell").set_value(False).run()


def test_label_issues_view(ekman_page: AppTest) -> None:
    at = _view(ekman_page, "Suspected label errors")
    assert any("out-of-sample" in c.value for c in at.caption)
    summary = next(m.value for m in at.markdown if "suspected label errors" in m.value)
    assert "rows" in summary
    assert any(d.label.startswith("Download the suspected") for d in at.get("download_button"))


def test_slices_view_and_a_bad_regular_expression(ekman_page: AppTest) -> None:
    at = _view(ekman_page, "Slices")
    table = at.dataframe[-1].value
    assert table["slice"].iloc[0] == "overall"
    assert table["support"].iloc[1:].sum() == table["support"].iloc[0]
    _widget(at.radio, ".sl.kind").set_value("Regular expression").run()
    _widget(at.text_input, ".sl.pattern.Regular expression").set_value("(unclosed").run()
    assert any("bad regular expression" in e.value for e in at.error)
    assert not at.exception
    _widget(at.text_input, ".sl.pattern.Regular expression").set_value(r"\bthe\b").run()
    table = at.dataframe[-1].value
    assert list(table["slice"]) == ["overall", "matches", "does not match"]
    _widget(at.toggle, ".sl.own").set_value(True).run()
    own = at.dataframe[-1].value
    assert {"class", "global"} <= set(own.columns)


def test_guaranteed_precision_in_the_optimiser(ekman_page: AppTest) -> None:
    at = ekman_page
    _widget(at.selectbox, ".kind").set_value("precision ≥ p").run()
    _widget(at.number_input, ".target").set_value(0.6).run()
    _widget(at.toggle, ".guar").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    table = next(d.value for d in at.dataframe if "guaranteed precision ≥" in d.value.columns)
    certified = table.dropna(subset=["threshold"])
    assert (certified["guaranteed precision ≥"] >= 0.6).all()
    assert (certified["precision (this data)"] >= certified["guaranteed precision ≥"]).all()
    assert any("With probability at least 0.90" in c.value for c in at.caption)
    next(b for b in at.button if b.key and b.key.endswith(".guar.use")).click().run()
    assert not at.exception, [e.value for e in at.exception]
    _widget(at.toggle, ".guar").set_value(False).run()


def test_compare_view_after_a_threshold_move(ekman_page: AppTest) -> None:
    at = ekman_page
    editor_all = _widget(at.number_input, ".all")
    editor_all.set_value(0.4).run()
    next(b for b in at.button if b.key and b.key.endswith(".allbtn")).click().run()
    at = _view(at, "Compare")
    summary = next(m.value for m in at.markdown if "change decision" in m.value)
    assert not summary.startswith("**0 rows")
    table = next(d.value for d in at.dataframe if "Δ f1" in d.value.columns)
    assert table["class"].iloc[-1] == "micro"
    changed = next(d.value for d in at.dataframe if {"start", "current"} <= set(d.value.columns))
    assert (changed["start"] != changed["current"]).all()


def test_another_split_view(ekman_page: AppTest) -> None:
    from cls_core.modelio.datasets import bundled_eval_splits

    if not bundled_eval_splits("ekman"):
        pytest.skip("the GoEmotions data is not under the data directory (../shared/data)")
    at = _view(ekman_page, "Another split")
    summary = next(m.value for m in at.markdown if "measured on" in m.value)
    assert "Tuned on **ekman demo set**" in summary
    table = at.dataframe[-1].value
    assert list(table["class"].iloc[-2:]) == ["micro", "macro"]
    assert {"f1 here", "f1 there"} <= set(table.columns)


@pytest.fixture(scope="module")
def goemotions_demo() -> AppTest:
    return _tuning_page_on_demo_set("goemotions")


def test_multilabel_rules_in_the_optimiser(goemotions_demo: AppTest) -> None:
    at = goemotions_demo
    kind = _widget(at.selectbox, ".kind")
    kind.set_value("micro-F1 (exact, classes coupled)").run()
    button = next(b for b in at.button if b.key and b.key.endswith(".run.microf1"))
    promised = float(button.label.rsplit("→", 1)[1])
    button.click().run()
    assert not at.exception, [e.value for e in at.exception]
    micro = float(next(m.value for m in at.metric if m.label == "Micro F1"))
    assert micro == pytest.approx(promised, abs=1e-3)
    _widget(at.selectbox, ".kind").set_value("RCut (top k labels per text)").run()
    assert any("RCut with k =" in m.value for m in at.markdown)
    assert any("cannot be written to thresholds.json" in c.value for c in at.caption)
    _widget(at.selectbox, ".kind").set_value("PCut (each class at its frequency)").run()
    next(b for b in at.button if b.key and b.key.endswith(".run.pcut")).click().run()
    assert not at.exception, [e.value for e in at.exception]
    _widget(at.selectbox, ".kind").set_value("F-beta").run()


def test_examples_filtered_to_suspected_label_errors(ekman_page: AppTest) -> None:
    at = _view(ekman_page, "Examples")
    _widget(at.multiselect, ".ex.outcomes").set_value([]).run()  # every outcome
    _widget(at.toggle, ".ex.issues").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[-1].value
    assert "label issue" in table.columns and len(table) > 0
    assert table["label issue"].str.startswith("given: ").all()
    _widget(at.toggle, ".ex.issues").set_value(False).run()


def test_signature_page_takes_the_text_of_a_link() -> None:
    if list_models().get("ekman") is None:
        pytest.skip("the ekman model is not installed")
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=180)
    at.query_params["model"] = "ekman"
    at.query_params["text"] = "The train was late again, I am furious."
    at.switch_page("pages/signature.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    box = next(t for t in at.text_input if t.label == "Text for the round trip")
    assert box.value == "The train was late again, I am furious."


def test_the_examples_list_follows_a_threshold_move_and_pages_on_the_server() -> None:
    """Examples of one class: a slider move changes the list (and only it is computed);
    page 2 continues page 1's order; 'distance to the threshold' sorts by |margin|."""
    at = _tuning_page_on_demo_set("ekman")
    at = _view(at, "Examples")
    assert not any("change decision" in m.value for m in at.markdown)  # Compare not run
    slider = next(s for s in at.slider if s.label.startswith("Threshold for"))
    focus = slider.label.removeprefix("Threshold for ")
    labels = list_models().get("ekman").labels  # type: ignore[union-attr]
    assert labels[_widget(at.selectbox, ".ex.class").value] == focus  # the inspected class
    _widget(at.multiselect, ".ex.outcomes").set_value(["tp", "fp"]).run()

    def caption() -> str:
        return next(c.value for c in at.caption if "matching rows" in c.value)

    before = caption()
    low = at.dataframe[-1].value
    slider.set_value(0.05).run()
    at.run()  # the move reran only the fragments that show thresholds: AppTest redraws all
    assert not at.exception, [e.value for e in at.exception]
    after = caption()
    assert "at threshold 0.0500" in after and after != before
    slider = next(s for s in at.slider if s.label.startswith("Threshold for"))
    slider.set_value(0.9).run()
    at.run()
    high = at.dataframe[-1].value
    assert "at threshold 0.9000" in caption()
    assert (high["score"] >= 0.9).all() and set(high["fired"]) == {focus}
    # each row opens in the Playground with the same model and thresholds (the moved one too)
    link = urllib.parse.parse_qs(urllib.parse.urlparse(high["Playground"].iloc[0]).query)
    doc = _thresholds_doc(at)
    assert link["model"] == ["ekman"] and link["text"] == [high["text"].iloc[0]]
    assert float(link[f"t.ekman.{focus}"][0]) == 0.9
    for label, value in zip(doc["labels"], doc["thresholds"], strict=True):
        if value:  # zeros are left out of the link
            assert float(link[f"t.ekman.{label}"][0]) == pytest.approx(value, abs=0)
    assert len(high) <= len(low) or not low["score"].ge(0.9).all()

    _widget(at.multiselect, ".ex.outcomes").set_value([]).run()  # every row: several pages
    first = at.dataframe[-1].value
    assert "page 1 of" in caption() and len(first) == 25
    _widget(at.number_input, ".ex.page").set_value(2).run()
    second = at.dataframe[-1].value
    assert "page 2 of" in caption()
    assert not set(first["row"]) & set(second["row"])
    assert first["score"].min() >= second["score"].max()  # one order across pages

    _widget(at.selectbox, ".ex.sort").set_value("near_threshold").run()
    near = at.dataframe[-1].value
    assert "page 1 of" in caption()  # a new order starts at page 1
    assert near["score - threshold"].abs().is_monotonic_increasing


def _scores_with_columns(labels: tuple[str, ...], n: int = 300) -> bytes:
    """A multi-class scores file with two extra columns: a market and a length in words."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(5)
    truth = rng.integers(0, len(labels), n)
    scores = rng.dirichlet(np.ones(len(labels)), n)
    scores[np.arange(n), truth] += rng.random(n)
    scores /= scores.sum(axis=1, keepdims=True)
    frame = pd.DataFrame(scores.round(5), columns=list(labels))
    frame["label"] = np.array(labels)[truth]
    frame["text"] = [f"text number {i}" for i in range(n)]
    frame["market"] = np.array(["fr", "de", "it"])[np.arange(n) % 3]
    frame["words"] = np.arange(n) % 50 + 1
    return frame.to_csv(index=False).encode()


def test_slices_by_a_column_of_an_uploaded_file() -> None:
    card = list_models().get("ekman")
    if card is None:
        pytest.skip("the ekman model is not installed")
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=180)
    at.query_params["model"] = "ekman"
    at.session_state["tune_source.ekman"] = "scores"
    at.switch_page("pages/thresholds.py")
    at.run()
    upload = next(u for u in at.file_uploader if u.label.startswith("Upload scores"))
    upload.set_value(("s.csv", _scores_with_columns(card.labels), "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    at = _view(at, "Slices")
    _widget(at.radio, ".sl.kind").set_value("A column of the file").run()
    _widget(at.selectbox, ".sl.column").set_value("market").run()
    table = at.dataframe[-1].value
    assert table["slice"].iloc[0] == "overall" and set(table["slice"]) == {
        "overall",
        "de",
        "fr",
        "it",
    }
    assert table.set_index("slice").loc[["de", "fr", "it"], "support"].tolist() == [100] * 3
    assert {"precision_low", "precision_high", "f1_low", "f1_high"} <= set(table.columns)
    assert any("market" in c.value and "bootstrap" in c.value for c in at.caption)
    _widget(at.selectbox, ".sl.column").set_value("words").run()
    table = at.dataframe[-1].value
    assert len(table) == 5 and table["support"].iloc[1:].sum() == 300  # 4 quantile bins
    _widget(at.toggle, ".sl.own").set_value(True).run()
    own = at.dataframe[-1].value
    assert list(own.columns[:2]) == ["class", "global"] and len(own.columns) == 6


def _thresholds_doc(at: AppTest) -> dict:  # type: ignore[type-arg]
    import json

    if not any(c.language == "json" for c in at.code):  # the preview is sent only while open
        preview = next(e for e in at.expander if e.label == "Preview thresholds.json")
        at.session_state[preview.proto.id.split("-", 2)[2]] = True
        at.run()
    return dict(json.loads(next(c.value for c in at.code if c.language == "json")))


def test_an_unreachable_target_is_said_and_chosen_per_class() -> None:
    """precision ≥ 0.95 on the ekman demo set: 'neutral' cannot reach it. It is listed with
    its best-effort precision and recall; 'keep previous' restores its threshold, 'switch
    off' writes null under switched_off in thresholds.json."""
    at = _tuning_page_on_demo_set("ekman")
    before = _thresholds_doc(at)
    _widget(at.selectbox, ".kind").set_value("precision ≥ p").run()
    _widget(at.number_input, ".target").set_value(0.95).run()
    for choice in ("keep previous", "switch off"):
        next(b for b in at.button if b.label.startswith("Optimise: precision")).click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert any("cannot reach precision>=0.95" in w.value for w in at.warning)
        editor = next(e for e in at.main if getattr(e, "key", None) and ".unreach." in e.key)
        listed = editor.value
        assert "neutral" in set(listed["class"])
        assert (listed["precision (best effort)"] < 0.95).all()
        row = list(listed["class"]).index("neutral")
        at.session_state[editor.key] = {
            "edited_rows": {row: {"what to do": choice}},
            "added_rows": [],
            "deleted_rows": [],
        }
        _widget(at.button, ".unreach.apply").click().run()
        assert not at.exception, [e.value for e in at.exception]
        doc = _thresholds_doc(at)
        i = doc["labels"].index("neutral")
        if choice == "keep previous":
            assert doc["thresholds"][i] == before["thresholds"][i]
            assert "switched_off" not in doc
        else:
            assert doc["thresholds"][i] is None and doc["switched_off"] == ["neutral"]
        assert not any("cannot reach" in w.value for w in at.warning)  # answered


def test_compare_with_another_model_with_the_same_labels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second model with ekman's labels (a copy whose card rejects below 0.6) under an
    extra model root: Compare scores the same texts with it and sets it (A) against the
    page's model at the current thresholds (B)."""
    import json
    import shutil

    source = PROJECT_ROOT / "models" / "ekman"
    if list_models().get("ekman") is None:
        pytest.skip("the ekman model is not installed")
    root = tmp_path / "root"
    shutil.copytree(source, root / "ekman_b")
    card = json.loads((root / "ekman_b" / "model_card.json").read_text())
    card["name"] = "ekman_b"
    card["reject_threshold"] = 0.6  # answers only when the winner scores >= 0.6
    (root / "ekman_b" / "model_card.json").write_text(json.dumps(card))
    monkeypatch.setenv("CLS_MODEL_DIRS", str(root))
    at = _tuning_page_on_demo_set("ekman")
    at = _view(at, "Compare")
    _widget(at.radio, ".cmp.kind").set_value("Another model with the same labels").run()
    assert not at.exception, [e.value for e in at.exception]
    assert _widget(at.selectbox, ".cmp.model").value.name == "ekman_b"
    assert any("A: `ekman_b` at its card's thresholds" in c.value for c in at.caption)
    summary = next(m.value for m in at.markdown if "change decision" in m.value)
    assert not summary.startswith("**0 rows")  # A answers only above 0.6
    table = next(d.value for d in at.dataframe if "Δ f1" in d.value.columns)
    assert {"f1 ekman_b", "f1 current", "Δ f1 low", "Δ f1 high"} <= set(table.columns)
    assert (table["Δ f1 low"] <= table["Δ f1"] + 1e-9).all()
    changed = next(d.value for d in at.dataframe if {"ekman_b", "current"} <= set(d.value.columns))
    assert (changed["ekman_b"] != changed["current"]).all()
