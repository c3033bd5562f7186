"""Chart styling for the page (issue 14): theme-aware colours, presentation mode, no clipping."""

from __future__ import annotations

import numpy as np
import pytest

from cls_core.views import charts


def _walk(node):  # type: ignore[no-untyped-def]
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


@pytest.fixture(scope="module")
def bar_spec() -> dict:
    return charts.score_bar_spec(
        ["a", "wrong_exchange_rate_for_cash_withdrawal", "c"],
        [0.991, 0.2, 0.05],
        fired=[True, False, False],
        thresholds=[0.5, 0.5, 0.5],
    )


def test_presentation_mode_enlarges_type_and_label_room(bar_spec) -> None:  # type: ignore[no-untyped-def]
    normal = charts.style_spec(bar_spec)
    big = charts.style_spec(bar_spec, presentation=True)
    assert normal["config"]["axis"]["labelFontSize"] == 12
    assert big["config"]["axis"]["labelFontSize"] == 18
    assert big["config"]["axis"]["titleFontSize"] == 20
    sizes = [n["fontSize"] for n in _walk(big["layer"]) if "fontSize" in n]
    assert sizes and min(sizes) >= 18
    limits = [n["labelLimit"] for n in _walk(big) if n.get("labelLimit")]  # 0 = no limit
    assert min(limits) >= 300  # "wrong_exchange_rate_for_cash_withdrawal" is not cut
    assert bar_spec.get("config") is None  # the input is not changed


def test_dark_theme_recolours_dark_marks_and_text(bar_spec) -> None:  # type: ignore[no-untyped-def]
    light = charts.style_spec(bar_spec)
    dark = charts.style_spec(bar_spec, dark=True)
    assert light["config"]["text"]["color"] == "#1f2937"
    assert dark["config"]["text"]["color"] == "#e5e7eb"
    assert dark["config"]["axis"]["labelColor"] != light["config"]["axis"]["labelColor"]
    dark_marks = {n.get("color") for n in _walk(dark["layer"]) if "type" in n}
    assert charts.COLORS["threshold"] not in dark_marks  # near-black ticks become light
    bar_range = dark["layer"][0]["encoding"]["color"]["scale"]["range"]
    assert bar_range == [charts.COLORS["fired"], "#64748b"]  # pale bars dimmed on dark
    assert dark["config"]["background"] is None  # the page's own background shows


def test_values_near_one_are_written_inside_the_bar(bar_spec) -> None:  # type: ignore[no-untyped-def]
    texts = [layer for layer in bar_spec["layer"] if layer["mark"]["type"] == "text"]
    inside = [t for t in texts if t["mark"]["align"] == "right"]
    outside = [t for t in texts if t["mark"]["align"] == "left"]
    assert inside and outside
    # both layers keep every row (an empty layer makes Vega warn "Infinite extent")
    assert inside[0]["transform"] == [
        {"calculate": "datum.value >= 0.88 ? format(datum.value, '.3f') : ''", "as": "value_text"}
    ]
    assert outside[0]["transform"] == [
        {"calculate": "datum.value >= 0.88 ? '' : format(datum.value, '.3f')", "as": "value_text"}
    ]
    assert all("color" not in t["mark"] for t in outside)  # the theme's text colour


def test_raw_logits_draw_no_threshold_ticks() -> None:
    spec = charts.score_bar_spec(
        ["a", "b"], [2.0, -1.0], thresholds=[np.inf, np.inf], domain=None, logits=[2.0, -1.0]
    )
    assert "tick" not in [layer["mark"]["type"] for layer in spec["layer"]]
    never = charts.score_bar_spec(["a", "b"], [0.2, 0.1], thresholds=[np.inf, np.inf])
    assert "tick" not in [layer["mark"]["type"] for layer in never["layer"]]


def test_comparison_and_word_importance_show_numbers() -> None:
    diff = charts.score_diff_chart(["a", "b"], [0.2, 0.7], [0.6, 0.1]).to_dict()
    assert sum(layer["mark"]["type"] == "text" for layer in diff["layer"]) == 2
    words = charts.word_importance_chart(["card", "stolen"], [0.4, -0.01]).to_dict()
    fields = {layer["encoding"]["text"]["field"] for layer in words["layer"][1:]}
    assert fields == {"token", "number"}
    ink = words["layer"][1]["encoding"]["color"]["scale"]["range"]
    assert ink == ["#ffffff", "#111111"]  # white on strong shades, near-black on pale ones


def test_style_spec_rejects_non_charts() -> None:
    with pytest.raises(ValueError, match="`chart` must be"):
        charts.style_spec([1, 2])
