"""Tuning chart builders (cls_core.views.charts, end of module) and cls_core.evaluation.tuning_session."""

from __future__ import annotations

import json

import altair as alt
import numpy as np
import pytest

from cls_core.evaluation import tuning_session as ts
from cls_core.evaluation.calibration import reliability_for
from cls_core.evaluation.metrics import build_evaluation
from cls_core.evaluation.thresholds import cost_curve, read_thresholds_json
from cls_core.views import charts

LABELS = ["a", "b", "c"]


@pytest.fixture(scope="module")
def multilabel() -> object:
    rng = np.random.default_rng(0)
    truth = rng.random((400, 3)) < 0.3
    scores = np.clip(truth * 0.35 + rng.random((400, 3)) * 0.65, 0, 1)
    return build_evaluation(scores, truth, labels=LABELS, task="multi-label")


@pytest.fixture(scope="module")
def multiclass() -> object:
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 3, 300)
    logits = rng.normal(size=(300, 3)) + 2.0 * np.eye(3)[ids]
    scores = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return build_evaluation(scores, ids, labels=LABELS, task="multi-class")


def _spec(chart: object) -> dict:
    with alt.data_transformers.disable_max_rows():
        spec: dict = chart.to_dict()  # type: ignore[attr-defined]
    return spec


def _data(spec: dict, layer: dict) -> list[dict]:
    """A layer's rows: inline (``values``) or consolidated into ``datasets`` by Altair."""
    source = layer.get("data") or spec["data"]
    rows: list[dict] = source["values"] if "values" in source else spec["datasets"][source["name"]]
    return rows


def test_pr_curve_marks_the_operating_point_and_downsamples() -> None:
    rng = np.random.default_rng(2)
    truth = rng.random((5000, 1)) < 0.4
    ev = build_evaluation(rng.random((5000, 1)), truth, labels=["x"], task="multi-label")
    curve = ev.sweep.curves[0]
    spec = _spec(charts.pr_curve_chart(curve, threshold=0.5, max_points=300))
    line, point = spec["layer"]
    assert line["encoding"]["x"]["title"] == "recall"
    assert len(_data(spec, line)) <= 301 < len(curve.thresholds)
    (op,) = _data(spec, point)
    i = curve.index_at(0.5)
    assert op["x"] == pytest.approx(curve.recall[i]) and op["y"] == pytest.approx(
        curve.precision[i]
    )
    assert op["threshold"] >= 0.5
    # above every score nothing fires: no operating point
    spec = _spec(charts.pr_curve_chart(curve, threshold=2.0))
    assert _data(spec, spec["layer"][1]) == []


def test_roc_curve_starts_at_origin_with_diagonal(multilabel) -> None:  # type: ignore[no-untyped-def]
    curve = multilabel.sweep.curves[1]
    spec = _spec(charts.roc_curve_chart(curve, threshold=0.4))
    _diagonal, line, point = spec["layer"]
    rows = _data(spec, line)
    assert (rows[0]["x"], rows[0]["y"]) == (0.0, 0.0)
    (op,) = _data(spec, point)
    i = curve.index_at(0.4)
    assert op["x"] == pytest.approx(curve.fpr[i]) and op["y"] == pytest.approx(curve.tpr[i])


def test_coverage_chart_point_follows_reject_threshold(multiclass) -> None:  # type: ignore[no-untyped-def]
    cc = multiclass.coverage_curve
    for reject, coverage in (
        (0.0, 1.0),
        (0.6, multiclass.metrics_at(reject_threshold=0.6).coverage),
    ):
        spec = _spec(charts.coverage_accuracy_chart(cc, reject_threshold=reject))
        (op,) = _data(spec, spec["layer"][1])
        assert op["x"] == pytest.approx(coverage)


def test_confusion_heatmap_abstain_column_only_when_used(multiclass) -> None:  # type: ignore[no-untyped-def]
    spec = _spec(charts.confusion_heatmap(multiclass.confusion_matrix()))
    assert spec["layer"][0]["encoding"]["x"]["scale"]["domain"] == LABELS
    rows = _data(spec, spec["layer"][0])
    assert sum(r["count"] for r in rows) == 300
    spec = _spec(charts.confusion_heatmap(multiclass.confusion_matrix(reject_threshold=0.7)))
    assert spec["layer"][0]["encoding"]["x"]["scale"]["domain"] == [*LABELS, "(abstain)"]
    assert len(spec["layer"]) == 2  # counts written for few classes
    by_row: dict[str, float] = {}
    for r in _data(spec, spec["layer"][0]):
        by_row[r["true"]] = by_row.get(r["true"], 0.0) + r["row_share"]
    assert all(v == pytest.approx(1.0) for v in by_row.values())


def test_multilabel_grid_has_four_cells_per_class(multilabel) -> None:  # type: ignore[no-untyped-def]
    m = multilabel.metrics_at(0.5)
    spec = _spec(charts.multilabel_confusion_grid(LABELS, m.tp, m.fp, m.fn, m.tn))
    rows = _data(spec, spec)
    assert len(rows) == 12
    a = {r["cell"]: r["count"] for r in rows if r["label"] == "a"}
    assert a == {"TP": m.tp[0], "FP": m.fp[0], "FN": m.fn[0], "TN": m.tn[0]}
    with pytest.raises(ValueError, match="must each have 3 values"):
        charts.multilabel_confusion_grid(LABELS, [1], m.fp, m.fn, m.tn)


def test_cooccurrence_heatmap(multilabel) -> None:  # type: ignore[no-untyped-def]
    co = multilabel.cooccurrence(0.5)
    spec = _spec(charts.cooccurrence_heatmap(LABELS, co))
    rows = _data(spec, spec)
    assert len(rows) == 9 and rows[0]["count"] == co[0, 0]
    with pytest.raises(ValueError, match=r"`matrix` must have shape \(3, 3\); got \(2, 2\)"):
        charts.cooccurrence_heatmap(LABELS, np.zeros((2, 2)))


def test_cardinality_and_cost_charts(multilabel) -> None:  # type: ignore[no-untyped-def]
    curve = multilabel.cardinality_curve(np.linspace(0, 1, 11))
    spec = _spec(charts.cardinality_chart(curve, threshold=0.3))
    assert spec["resolve"]["scale"]["y"] == "independent"
    assert len(spec["layer"]) == 3
    cc = cost_curve(multilabel.sweep.curves[0], cost_fp=1.0, cost_fn=4.0)
    spec = _spec(charts.cost_curve_chart(cc, threshold=0.5))
    markers = {r["marker"]: r["threshold"] for r in _data(spec, spec["layer"][1])}
    assert markers["Bayes c_FP/(c_FP+c_FN)"] == pytest.approx(0.2)
    assert markers["current"] == 0.5
    assert markers["minimum"] == pytest.approx(min(1.0, cc.best_threshold))


def test_metric_intervals_chart_with_and_without_bars() -> None:
    values = {"f1": [0.5, 0.6, 0.7]}
    spec = _spec(charts.metric_intervals_chart(LABELS, values))
    assert [layer["mark"]["type"] for layer in spec["spec"]["layer"]] == ["point"]
    spec = _spec(
        charts.metric_intervals_chart(
            LABELS, values, lows={"f1": [0.4, 0.5, 0.6]}, highs={"f1": [0.6, 0.7, 1.2]}
        )
    )
    assert [layer["mark"]["type"] for layer in spec["spec"]["layer"]] == ["rule", "point"]
    rows = _data(spec, spec)
    assert rows[2]["high"] == 1.0  # clipped to the unit axis
    with pytest.raises(ValueError, match=r"`values\['f1'\]` must have 3 values; got 2"):
        charts.metric_intervals_chart(LABELS, {"f1": [0.1, 0.2]})


def test_reliability_chart_skips_empty_bins(multiclass) -> None:  # type: ignore[no-untyped-def]
    curve = reliability_for(multiclass.scores, multiclass.truth_ids, n_bins=20)
    spec = _spec(charts.reliability_chart({"before": curve}))
    rows = _data(spec, spec["layer"][1])
    assert len(rows) == int((curve.counts > 0).sum()) < 20
    assert sum(r["count"] for r in rows) == 300


def test_chart_image_png_and_svg(multilabel) -> None:  # type: ignore[no-untyped-def]
    chart = charts.pr_curve_chart(multilabel.sweep.curves[0], threshold=0.5)
    assert charts.chart_image(chart, fmt="png").startswith(b"\x89PNG")
    assert b"<svg" in charts.chart_image(chart, fmt="svg")[:200]
    with pytest.raises(ValueError, match="`fmt` must be 'png' or 'svg'; got 'gif'"):
        charts.chart_image(chart, fmt="gif")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- tuning_session


def test_playground_query_params() -> None:
    params = ts.playground_query_params(
        "goemotions", LABELS, [0.1234, 1.7, -np.inf], task="multi-label"
    )
    assert params == {
        "model": "goemotions",
        "t.goemotions.a": "0.1234",  # exact, not rounded to the sliders' step
        "t.goemotions.b": "1",
        "t.goemotions.c": "0",
    }
    params = ts.playground_query_params(
        "banking77", LABELS, [0, 0, 0], task="multi-class", reject_threshold=0.45
    )
    assert params == {"model": "banking77", "reject.banking77": "0.45"}
    params = ts.playground_query_params(
        "banking77", LABELS, [0, 0.3, 0], task="multi-class", reject_threshold=None
    )
    assert params == {"model": "banking77", "t.banking77.b": "0.3"}
    with pytest.raises(ValueError, match=r"one value per label \(3\); got 2"):
        ts.playground_query_params("m", LABELS, [0.1, 0.2], task="multi-label")


def test_thresholds_json_round_trip_and_import(multiclass) -> None:  # type: ignore[no-untyped-def]
    metrics = multiclass.metrics_at([0.2, 0.3, 0.4], reject_threshold=0.5)
    text = ts.thresholds_json_text(metrics, objective="manual", data_sha256="f" * 64, model="m")
    assert text.endswith("}\n")
    doc = read_thresholds_json(text.encode(), labels=LABELS, model="m")
    thr, reject = ts.imported_thresholds(doc, LABELS)
    np.testing.assert_allclose(thr, [0.5, 0.5, 0.5])  # effective: max(threshold, reject)
    assert reject == 0.5
    assert json.loads(text)["task"] == "multi-class"
    with pytest.raises(ValueError, match="the thresholds file lists labels"):
        ts.imported_thresholds(doc, ["a", "c", "b"])


def test_ranking_summary_matches_sklearn(multilabel) -> None:  # type: ignore[no-untyped-def]
    from sklearn.metrics import average_precision_score, roc_auc_score

    r = ts.ranking_summary(multilabel)
    y, s = multilabel.truth, multilabel.scores
    assert r.micro_average_precision == pytest.approx(
        average_precision_score(y, s, average="micro")
    )
    assert r.macro_average_precision == pytest.approx(
        average_precision_score(y, s, average="macro")
    )
    assert r.micro_roc_auc == pytest.approx(roc_auc_score(y, s, average="micro"))
    assert r.macro_roc_auc == pytest.approx(roc_auc_score(y, s, average="macro"))
    table = ts.class_table(multilabel.metrics_at(0.5), r)
    assert list(table.columns[-2:]) == ["ap", "roc_auc"] and len(table) == 3


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"kind": "F-beta", "beta": 1.0}, "f1"),
        ({"kind": "F-beta", "beta": 2.0}, "fbeta:2"),
        ({"kind": "precision ≥ p", "target": 0.9}, "precision>=0.9"),
        ({"kind": "recall ≥ r", "target": 0.8}, "recall>=0.8"),
        ({"kind": "cost", "cost_fp": 1.0, "cost_fn": 5.0}, "cost:fp=1,fn=5"),
        ({"kind": "coverage ≥ c", "target": 0.95}, "coverage>=0.95"),
        ({"kind": "accuracy ≥ a", "target": 0.99}, "accuracy>=0.99"),
    ],
)
def test_objective_text(params: dict, text: str) -> None:
    assert ts.objective_text(params) == text


def test_objective_text_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown optimiser kind 'x'"):
        ts.objective_text({"kind": "x"})


def test_specs_are_plain_json_and_valid_vega_lite(multilabel, multiclass) -> None:  # type: ignore[no-untyped-def]
    """What the page draws: dicts that survive strict JSON (no NaN) and the schema."""
    m = multilabel.metrics_at(0.5)
    nan_bounds = {"f1": [np.nan, 0.2, 0.3]}
    cases = [
        (charts.pr_curve_spec(multilabel.sweep.curves[0], threshold=0.5), alt.LayerChart),
        (charts.roc_curve_spec(multilabel.sweep.curves[0], threshold=0.5), alt.LayerChart),
        (
            charts.coverage_accuracy_spec(multiclass.coverage_curve, reject_threshold=0.5),
            alt.LayerChart,
        ),
        (charts.confusion_heatmap_spec(multiclass.confusion_matrix()), alt.LayerChart),
        (charts.multilabel_confusion_grid_spec(LABELS, m.tp, m.fp, m.fn, m.tn), alt.FacetChart),
        (charts.cooccurrence_heatmap_spec(LABELS, multilabel.cooccurrence(0.5)), alt.Chart),
        (
            charts.metric_intervals_spec(
                LABELS, {"f1": [0.1, np.nan, 0.3]}, lows=nan_bounds, highs=nan_bounds
            ),
            alt.FacetChart,
        ),
    ]
    for spec, kind in cases:
        text = json.dumps(spec, allow_nan=False)
        kind.from_dict(json.loads(text))  # raises on a schema violation
    rows = cases[-1][0]["data"]["values"]
    assert rows[1]["value"] is None and rows[0]["low"] is None
