"""cls_core.views.charts: specs inspected through to_dict(), no browser."""

from __future__ import annotations

import numpy as np
import pytest

from cls_core.views import charts


def _layer_data(spec: dict, index: int = 0) -> list[dict]:
    data = spec["layer"][index].get("data", spec["data"])
    return data["values"] if "values" in data else spec["datasets"][data["name"]]


def test_score_bar_chart_absolute_axis_sorted_and_highlighted() -> None:
    chart = charts.score_bar_chart(["a", "b", "c"], [0.2, 0.5, 0.3], fired=[False, True, False])
    spec = chart.to_dict()
    bars = spec["layer"][0]
    assert bars["mark"]["type"] == "bar"
    assert bars["encoding"]["x"]["scale"]["domain"] == [0.0, 1.0]
    assert bars["encoding"]["y"]["sort"] == ["b", "c", "a"]
    rows = _layer_data(spec)
    assert [r["status"] for r in rows] == ["fires", "does not fire", "does not fire"]


def test_score_bar_chart_thresholds_reject_topk_classid() -> None:
    chart = charts.score_bar_chart(
        ["a", "b", "c", "d"],
        [0.1, 0.4, 0.3, 0.2],
        thresholds=[0.5, 0.3, 0.3, 0.3],
        reject_threshold=0.45,
        top_k=2,
        sort="class-id",
    )
    spec = chart.to_dict()
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["bar", "text", "text", "tick", "rule"]  # value text outside + inside the bar
    assert spec["layer"][0]["encoding"]["y"]["sort"] == ["b", "c"]  # top-2, in class-id order
    assert _layer_data(spec, 4) == [{"reject_threshold": 0.45}]


def test_score_bar_spec_is_the_chart_and_json_safe() -> None:
    spec = charts.score_bar_spec(["a", "b"], [0.2, float("nan")], thresholds=[0.5, 0.5])
    assert spec["data"]["values"][1]["value"] is None  # NaN never reaches the browser as NaN
    chart = charts.score_bar_chart(["a", "b"], [0.2, 0.8], thresholds=[0.5, 0.5])
    assert chart.to_dict()["layer"][0]["mark"]["type"] == "bar"  # schema-validated


def test_score_bar_chart_logits_domain_and_errors() -> None:
    spec = charts.score_bar_chart(
        ["a", "b"], [-3.0, 7.0], domain=None, value_title="logit"
    ).to_dict()
    # fitted to the logits and zero, with room for the value text (explicit: no "Infinite
    # extent" while the browser's dataset is empty)
    assert spec["layer"][0]["encoding"]["x"]["scale"]["domain"] == [-4.5, 8.5]
    with pytest.raises(ValueError, match=r"`labels` must have 2 names \(one per score\); got 3"):
        charts.score_bar_chart(["a", "b", "c"], [0.1, 0.2])
    with pytest.raises(ValueError, match=r"`sort` must be 'score' or 'class-id'; got 'x'"):
        charts.score_bar_chart(["a", "b"], [0.1, 0.2], sort="x")


def test_score_diff_chart() -> None:
    spec = charts.score_diff_chart(
        ["a", "b", "c"], [0.1, 0.5, 0.4], [0.6, 0.1, 0.3], top_k=2
    ).to_dict()
    rows = spec["datasets"][spec["data"]["name"]]
    assert [r["label"] for r in rows] == ["a", "b"]
    assert rows[0]["diff"] == pytest.approx(0.5)
    assert rows[1]["direction"] == "higher for A"
    with pytest.raises(ValueError, match=r"must have the same length; got 3, 2 and 3"):
        charts.score_diff_chart(["a", "b", "c"], [0.1, 0.5, 0.4], [0.6, 0.1])


def test_word_importance_chart_wraps_and_keeps_text_as_data() -> None:
    tokens = ["<img", "src=x", "onerror=alert(1)>", *["word"] * 30]
    deltas = np.linspace(-0.5, 0.5, len(tokens))
    spec = charts.word_importance_chart(tokens, deltas, line_chars=40).to_dict()
    rows = spec["datasets"][spec["data"]["name"]]
    assert rows[0]["token"] == "<img"  # text travels as data, drawn by Vega as text
    assert max(r["line"] for r in rows) >= 3
    assert all(r["x2"] <= 40 for r in rows)
    assert spec["layer"][0]["encoding"]["color"]["scale"]["domain"] == [-0.5, 0.5]
    with pytest.raises(ValueError, match=r"`deltas` must have one value per token \(2\); got 1"):
        charts.word_importance_chart(["a", "b"], [0.1])


def test_lesson_activation_chart_facets() -> None:
    spec = charts.lesson_activation_chart(
        ["x", "y"], [0.3, 0.7], [0.6, 0.4], sigmoid_thresholds=[0.5, 0.5]
    ).to_dict()
    assert spec["facet"]["column"]["field"] == "panel"
    rows = spec["datasets"][spec["data"]["name"]]
    fires = {(r["panel"], r["label"]): r["fires"] for r in rows}
    assert fires[("softmax (multi-class)", "y")] and not fires[("softmax (multi-class)", "x")]
    assert fires[("sigmoid (multi-label)", "x")] and not fires[("sigmoid (multi-label)", "y")]
