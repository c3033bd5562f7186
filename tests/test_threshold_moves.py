"""Threshold moves redraw charts in place: rows go as named Arrow datasets, specs stay put.

Streamlit's browser side rebuilds a Vega view only when a chart's spec (without its named
datasets) changes; otherwise it swaps the changed datasets in the drawn view. These tests
check the page glue that makes a threshold move a data-only change.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pyarrow as pa
import pytest

from benchmarks._st_client import StreamlitSession
from cls_core.modelio.registry import list_models
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


class _PageRecorder(StreamlitSession):
    """A protocol session on the tuning page that keeps every message the server sends."""

    def __init__(self, ws_url: str) -> None:
        super().__init__(ws_url, timeout=600)
        self.received: list[Any] = []

    def _send(self, msg: Any) -> None:
        if msg.HasField("rerun_script") and not msg.rerun_script.fragment_id:
            msg.rerun_script.page_name = "thresholds"
        super()._send(msg)

    def _receive(self) -> Any:
        fwd = super()._receive()
        self.received.append(fwd)
        return fwd

    def elements(self) -> list[tuple[str, Any]]:
        """(kind, body) of every element sent since the last call."""
        out = []
        for fwd in self.received:
            if fwd.WhichOneof("type") == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                kind = fwd.delta.new_element.WhichOneof("type")
                out.append((kind, getattr(fwd.delta.new_element, kind)))
        self.received = []
        return out


def _charts(elements: list[tuple[str, Any]]) -> dict[str, dict[str, bytes]]:
    """Spec → named datasets of every chart sent."""
    return {
        body.spec: {d.name: d.data.data for d in body.datasets}
        for kind, body in elements
        if kind == "vega_lite_chart"
    }


def test_tuning_page_threshold_move_resends_only_what_shows_thresholds(app_url: str) -> None:
    """On the real server (AppTest cannot run a keyed fragment rerun as the browser does):
    a slider move resends the charts that show the thresholds, with new data under the same
    specs, and nothing that does not depend on them (calibration, titles, the class picker,
    the optimiser's widgets, download buttons of charts)."""
    if list_models().get("goemotions") is None:
        pytest.skip("the goemotions model is not installed")
    ws_url = app_url.replace("http://", "ws://") + "/_stcore/stream"
    s = _PageRecorder(ws_url)
    with s:
        first = s.run("model=goemotions")
        assert not first.errors(), first.errors()
        slider = next(k for k in first.widgets if k.startswith("tune.") and ".one." in k)
        page = _charts(s.elements())
        assert any("Reliability" in spec for spec in page)  # calibration is on the page
        s.set_slider(slider, 0.9 if first.widgets[slider].proto.default[0] < 0.9 else 0.1)
        moved = s.run(fragment_id=first.fragment_ids[slider])
        assert not moved.errors(), moved.errors()
        sent = s.elements()
    kinds = [kind for kind, _ in sent]
    charts_sent = _charts(sent)
    # PR and ROC (operating point), per-class metrics and the 2x2 grid, under the specs the
    # browser already drew; not the calibration
    assert len(charts_sent) == 4, list(charts_sent)
    assert set(charts_sent) <= set(page)
    assert all(charts_sent[spec] != page[spec] for spec in charts_sent)
    assert not any("Reliability" in spec for spec in charts_sent)
    # the numbers that follow the thresholds came; the rest stayed in the browser
    assert kinds.count("metric") == 4  # the tiles; not the calibration's ECE/MCE
    assert "slider" not in kinds and "selectbox" not in kinds and "number_input" not in kinds
    assert "heading" in kinds  # the curves' title (it names the inspected class)
    headings = [body.body for kind, body in sent if kind == "heading"]
    assert headings == [h for h in headings if h.startswith("4 · Curves")], headings
    # the thresholds.json button writes its file when clicked: not re-sent (its preview is
    # closed); the 2x2 grid's PNG/SVG buttons sit in its tab, which the move redraws
    assert {body.label for kind, body in sent if kind == "download_button"} <= {"PNG", "SVG"}
    # drawn on a canvas: a move repaints a bitmap instead of rewriting thousands of SVG nodes
    assert all(
        json.loads(spec)["usermeta"]["embedOptions"]["renderer"] == "canvas" for spec in charts_sent
    )
    assert len(sent) < 40, kinds


def test_tuning_page_class_picker_redraws_the_inspected_class_only(app_url: str) -> None:
    """Inspecting another class reruns its slider and curves (titled by it), not the tiles,
    the tables or the calibration (nothing there depends on the inspected class)."""
    if list_models().get("goemotions") is None:
        pytest.skip("the goemotions model is not installed")
    ws_url = app_url.replace("http://", "ws://") + "/_stcore/stream"
    s = _PageRecorder(ws_url)
    with s:
        first = s.run("model=goemotions")
        s.elements()
        picker = next(k for k in first.widgets if k.startswith("tune.") and k.endswith(".focus"))
        option = str(first.widgets[picker].proto.options[1])  # "label (n positives)"
        label = option.split(" (")[0]
        s.set_option(picker, option)
        changed = s.run(fragment_id=first.fragment_ids[picker])
        assert not changed.errors(), changed.errors()
        sent = s.elements()
    headings = [body.body for kind, body in sent if kind == "heading"]
    assert headings == [f"4 · Curves: {label}"], headings
    sliders = [body.label for kind, body in sent if kind == "slider"]
    assert sliders == [f"Threshold for {label}"], sliders
    charts_sent = _charts(sent)
    assert len(charts_sent) == 2 and all(label in spec for spec in charts_sent)
    kinds = {kind for kind, _ in sent}
    assert not kinds & {"metric", "dataframe", "arrow_data_frame", "table"}, kinds


def test_thresholds_json_written_on_click_has_the_moved_threshold(app_url: str) -> None:
    """The thresholds.json button is not redrawn by a threshold move (its preview is
    closed): the file it gives, written when clicked, still has the moved threshold."""
    if list_models().get("goemotions") is None:
        pytest.skip("the goemotions model is not installed")
    from streamlit.proto.BackMsg_pb2 import BackMsg

    ws_url = app_url.replace("http://", "ws://") + "/_stcore/stream"
    s = _PageRecorder(ws_url)
    with s:
        first = s.run("model=goemotions")
        session_id = next(
            fwd.new_session.initialize.session_id
            for fwd in s.received
            if fwd.WhichOneof("type") == "new_session"
        )
        button = next(
            body
            for kind, body in s.elements()
            if kind == "download_button" and body.label == "thresholds.json"
        )
        assert button.deferred_file_id, "the thresholds.json button has its file written on click"
        slider = next(k for k in first.widgets if k.startswith("tune.") and ".one." in k)
        start = first.widgets[slider].proto.default[0]
        for value in (0.9, 0.85) if start < 0.85 else (0.1, 0.15):  # two moves, then a click
            s.set_slider(slider, value)
            moved = s.run(fragment_id=first.fragment_ids[slider])
            assert not moved.errors(), moved.errors()
            resent = {body.label for kind, body in s.elements() if kind == "download_button"}
            assert "thresholds.json" not in resent, resent
        click = BackMsg()
        click.backend_operation_request.request_id = "thresholds-json"
        click.backend_operation_request.session_id = session_id
        click.backend_operation_request.deferred_file.file_id = button.deferred_file_id
        s._send(click)
        while True:
            fwd = s._receive()
            if fwd.WhichOneof("type") == "backend_operation_response":
                break
        response = fwd.backend_operation_response
        assert not response.error_msg, response.error_msg
    with urllib.request.urlopen(app_url + response.deferred_file.url) as r:
        doc = json.loads(r.read())
    focus = int(slider.rsplit(".", 1)[1])
    assert doc["thresholds"][focus] == pytest.approx(value)
    assert doc["objective"] == "manual"
