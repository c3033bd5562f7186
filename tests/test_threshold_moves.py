"""Threshold moves redraw charts in place: rows go as named Arrow datasets, specs stay put.

Streamlit's browser side rebuilds a Vega view only when a chart's spec (without its named
datasets) changes; otherwise it swaps the changed datasets in the drawn view. These tests
check the page glue that makes a threshold move a data-only change.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from cls_core.modelio.registry import list_models
from cls_core.paths import PROJECT_ROOT
from cls_core.views import charts
from pages._shared import named_datasets


def _rows(blob: bytes) -> list[dict[str, Any]]:
    return list(pa.ipc.open_stream(blob).read_all().to_pylist())


def _bars(reject: float) -> dict[str, Any]:
    return charts.score_bar_spec(
        ["refund", "card_lost", "top_up"],
        [0.7, 0.2, 0.1],
        fired=[True, False, False],
        reject_threshold=reject,
        logits=[2.0, 0.7, 0.0],
    )


def test_rows_leave_the_spec_under_stable_names_and_come_back_equal() -> None:
    spec = _bars(0.3)
    named = named_datasets(spec)
    body = {k: v for k, v in named.items() if k != "datasets"}
    assert '"values"' not in json.dumps(body)  # every row left the spec
    assert named["data"] == {"name": "data"}
    rule = next(layer for layer in named["layer"] if layer["mark"]["type"] == "rule")
    assert rule["data"]["name"] in named["datasets"]
    # ints travel as float64 (Arrow's int64 reaches the browser as BigInt, which Vega
    # cannot scale); every value is otherwise the same
    assert _rows(named["datasets"]["data"]) == [
        {k: float(v) if isinstance(v, int) else v for k, v in row.items()}
        for row in spec["data"]["values"]
    ]
    assert spec["data"]["values"], "the input spec was changed"


def test_a_threshold_move_changes_only_the_moved_dataset() -> None:
    a, b = named_datasets(_bars(0.3)), named_datasets(_bars(0.35))
    da, db = a.pop("datasets"), b.pop("datasets")
    assert json.dumps(a) == json.dumps(b)  # same spec: the browser keeps its view
    changed = {name for name in da if da[name] != db[name]}
    rule = next(layer for layer in a["layer"] if layer["mark"]["type"] == "rule")
    assert changed == {rule["data"]["name"]}


def test_rows_arrow_cannot_type_and_empty_rows_stay_inline() -> None:
    mixed = {"data": {"values": [{"a": 1}, {"a": "x"}]}, "mark": "point"}
    assert named_datasets(mixed) == mixed
    empty = {"layer": [{"data": {"values": []}, "mark": "point"}]}
    assert named_datasets(empty) == empty


def test_tuning_page_threshold_move_sends_new_data_under_the_same_specs() -> None:
    if list_models().get("goemotions") is None:
        pytest.skip("the goemotions model is not installed")
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=180)
    at.query_params["model"] = "goemotions"
    at.session_state["tune_source.goemotions"] = "demo"
    at.switch_page("pages/thresholds.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]

    def drawn() -> list[tuple[str, dict[str, bytes]]]:
        return [
            (c.proto.spec, {d.name: d.data.data for d in c.proto.datasets})
            for c in at.get("vega_lite_chart")
        ]

    before = drawn()
    slider = next(s for s in at.slider if s.label.startswith("Threshold for"))
    slider.set_value(0.9 if slider.value < 0.9 else 0.1).run()
    assert not at.exception, [e.value for e in at.exception]
    after = drawn()
    assert len(after) == len(before) >= 5
    assert [spec for spec, _ in after] == [spec for spec, _ in before]
    assert all(datasets for _, datasets in after), "a chart kept its rows in the spec"
    moved = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a[1] != b[1]]
    # PR and ROC (operating point), per-class metrics and the 2x2 grid; not calibration
    assert len(moved) == 4, moved
    assert "Reliability" in after[-1][0] and before[-1] == after[-1]
