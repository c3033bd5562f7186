"""Chart builders: numpy/pandas in, ``alt.Chart`` out. No Streamlit, no TensorFlow.

Every builder returns a chart whose ``to_dict()`` is the Vega-Lite spec the browser draws,
so tests inspect charts without a browser. Score axes are absolute (0 to 1), never scaled
to the top score, so a 0.3 looks like 0.3 whatever the other classes do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import altair as alt
import numpy as np
import numpy.typing as npt
import pandas as pd

from cls_core.views.formatting import THRESHOLD_D3_FORMAT

__all__ = [
    "COLORS",
    "binary_threshold_spec",
    "cardinality_chart",
    "cardinality_spec",
    "chart_image",
    "confusion_heatmap",
    "confusion_heatmap_spec",
    "cooccurrence_heatmap",
    "cooccurrence_heatmap_spec",
    "cost_curve_chart",
    "cost_curve_spec",
    "coverage_accuracy_chart",
    "coverage_accuracy_spec",
    "lesson_activation_chart",
    "metric_intervals_chart",
    "metric_intervals_spec",
    "multilabel_confusion_grid",
    "multilabel_confusion_grid_spec",
    "pr_curve_chart",
    "pr_curve_spec",
    "reliability_chart",
    "reliability_spec",
    "roc_curve_chart",
    "roc_curve_spec",
    "score_bar_chart",
    "score_diff_chart",
    "style_spec",
    "word_importance_chart",
]

COLORS = {
    "fired": "#2563eb",  # blue: the class fires / wins
    "other": "#cbd5e1",  # slate: does not fire
    "threshold": "#111827",
    "reject": "#dc2626",
    "up": "#2563eb",
    "down": "#dc2626",
}

SortOrder = Literal["score", "class-id"]

# Colours that are dark text/rules on a light page, and what they become on a dark one.
_DARK_REMAP = {
    COLORS["threshold"]: "#e5e7eb",
    "#374151": "#d1d5db",
    COLORS["other"]: "#64748b",
    "#64748b": "#94a3b8",
}
_TEXT = {"light": "#1f2937", "dark": "#e5e7eb"}
_MUTED = {"light": "#4b5563", "dark": "#9ca3af"}
_GRID = {"light": "#e5e7eb", "dark": "#374151"}
#: Font sizes (px) of axis labels, axis/legend titles and text marks: normal, presentation.
_FONT = {False: (12, 13, 12), True: (18, 20, 18)}


def style_spec(chart: Any, *, presentation: bool = False, dark: bool = False) -> dict[str, Any]:
    """A chart (Altair object or Vega-Lite dict) made readable on the page it is drawn on.

    - ``dark``: text, grid lines and dark rules/ticks get light colours (Vega's defaults
      are black text, unreadable on Streamlit's dark background); the background stays
      transparent so the page's own colour shows.
    - ``presentation``: large type for a projector (axis labels 18 px, titles 20 px, value
      labels 18 px instead of 12-13 px), longer axis labels before "…" and bolder strokes.

    Every chart builder here leaves these to this function, so pages pass the user's
    settings once. Returns a new dict; the input is not changed.

    Parameters
    ----------
    chart : alt.Chart-like or dict
        Anything with ``to_dict()`` or a Vega-Lite dict.
    presentation : bool
        Large type and high contrast.
    dark : bool
        The page uses a dark theme.
    """
    import copy

    spec = chart.to_dict() if hasattr(chart, "to_dict") else copy.deepcopy(chart)
    if not isinstance(spec, dict):
        raise ValueError(f"`chart` must be a Vega-Lite dict or a chart; got {type(chart).__name__}")
    mode = "dark" if dark else "light"
    label_px, title_px, text_px = _FONT[presentation]
    scale = text_px / 12.0

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            for key, value in node.items():
                # monospace text is laid out in character cells (word importance): its
                # size is part of the layout and stays
                if (
                    key == "fontSize"
                    and isinstance(value, int | float)
                    and node.get("font") != "monospace"
                ):
                    out[key] = round(max(float(value), 11.0) * scale, 1)
                elif key == "labelLimit" and isinstance(value, int | float) and value > 0:
                    out[key] = int(value * (1.6 if presentation else 1.25))
                elif dark and isinstance(value, str) and value in _DARK_REMAP:
                    out[key] = _DARK_REMAP[value]
                else:
                    out[key] = walk(value)
            return out
        if isinstance(node, list):  # e.g. a colour scale's range
            return [
                _DARK_REMAP[v] if dark and isinstance(v, str) and v in _DARK_REMAP else walk(v)
                for v in node
            ]
        return node

    spec = walk(spec)
    text, muted = _TEXT[mode], _MUTED[mode]
    axis: dict[str, Any] = {
        "labelFontSize": label_px,
        "titleFontSize": title_px,
        "labelColor": text if presentation else muted,
        "titleColor": text,
        "gridColor": _GRID[mode],
        "domainColor": muted,
        "tickColor": muted,
        "labelLimit": 360 if presentation else 260,
    }
    config: dict[str, Any] = {
        "background": None,
        "font": "sans-serif",
        "axis": axis,
        "legend": {
            "labelFontSize": label_px,
            "titleFontSize": title_px,
            "labelColor": text,
            "titleColor": text,
            "labelLimit": 0,
        },
        "header": {
            "labelFontSize": title_px,
            "titleFontSize": title_px,
            "labelColor": text,
            "titleColor": text,
        },
        "title": {"fontSize": title_px + 2, "color": text},
        "text": {"color": text, "fontSize": text_px},
        "view": {"stroke": None},
    }
    if presentation:
        config["bar"] = {"stroke": text, "strokeWidth": 0.5}
        config["point"] = {"size": 90}
        config["line"] = {"strokeWidth": 3}
    merged = dict(spec.get("config") or {})
    for key, value in config.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**value, **merged[key]}
        else:
            merged.setdefault(key, value)
    spec["config"] = merged
    return spec


def _order(scores: npt.NDArray[np.float64], sort: str) -> npt.NDArray[np.intp]:
    if sort == "score":
        return np.argsort(-scores, kind="stable")
    if sort == "class-id":
        return np.arange(scores.shape[0])
    raise ValueError(f"`sort` must be 'score' or 'class-id'; got {sort!r}")


def score_bar_chart(labels: Sequence[str], scores: npt.ArrayLike, **options: Any) -> alt.LayerChart:
    """One horizontal bar per class, on an absolute axis, as a schema-validated Altair chart.

    The chart of :func:`score_bar_spec` (same parameters); the app draws the dict itself.
    """
    return alt.LayerChart.from_dict(score_bar_spec(labels, scores, **options))


def score_bar_spec(
    labels: Sequence[str],
    scores: npt.ArrayLike,
    *,
    fired: npt.ArrayLike | None = None,
    thresholds: npt.ArrayLike | None = None,
    reject_threshold: float | None = None,
    sort: SortOrder | str = "score",
    top_k: int | None = None,
    value_title: str = "score",
    domain: tuple[float, float] | None = (0.0, 1.0),
    logits: npt.ArrayLike | None = None,
    zero_label: str = "0",
) -> dict[str, Any]:
    """The score bar chart as a plain Vega-Lite dict (what the Playground draws).

    Building the dict directly takes well under a millisecond; building and validating the
    same chart through Altair objects takes ~50 ms, too slow for a threshold slider. Tests
    validate it through :func:`score_bar_chart`.

    Parameters
    ----------
    labels : sequence of str, class-id order
    scores : array-like of shape (n_classes,)
        The values drawn (scores, or logits when ``domain`` is None).
    fired : bool array-like of shape (n_classes,), optional
        Highlighted bars (the fired classes / the winner).
    thresholds : array-like of shape (n_classes,), optional
        A tick per class at its threshold (multi-label).
    reject_threshold : float, optional
        A dashed vertical rule at the reject threshold (multi-class).
    sort : "score" (descending, ties by class id) or "class-id"
    top_k : int, optional
        Keep only the ``top_k`` highest-scoring classes (still in ``sort`` order).
    value_title : str
        Axis title for the values.
    domain : (low, high) or None
        The x-axis domain; (0, 1) for scores, None to fit raw logits. Raw logits are drawn
        from a labelled zero rule, the highest one in the "fired" colour (status
        ``"highest logit"``, the others ``"other"``) and without a fires/does-not-fire
        legend: no label is decided on logits, so nothing can fire.
    logits : array-like of shape (n_classes,), optional
        Shown in the tooltip.
    zero_label : str
        The text at the zero rule of a raw-logits chart (e.g. ``"0 = sigmoid 0.5"``).

    Returns
    -------
    dict: a layered Vega-Lite spec whose bar layer's data rows have ``label``,
    ``class_id``, ``value``, ``rank``, ``status`` (and ``threshold``, ``logit``).
    """
    values = np.asarray(scores, dtype=np.float64).reshape(-1)
    n = values.shape[0]
    if len(labels) != n:
        raise ValueError(f"`labels` must have {n} names (one per score); got {len(labels)}")
    flags = np.zeros(n, bool) if fired is None else np.asarray(fired, dtype=bool).reshape(-1)
    cuts = None if thresholds is None else np.asarray(thresholds, dtype=np.float64).reshape(-1)
    raw = None if logits is None else np.asarray(logits, dtype=np.float64).reshape(-1)
    ranking = np.argsort(-values, kind="stable")
    raw_logits = domain is None
    if raw_logits:  # nothing fires on logits: mark the highest one instead
        flags = np.zeros(n, bool)
        if n and np.isfinite(values[ranking[0]]):
            flags[ranking[0]] = True
    statuses = ("highest logit", "other") if raw_logits else ("fires", "does not fire")
    rank = np.empty(n, dtype=int)
    rank[ranking] = np.arange(1, n + 1)
    order = _order(values, sort)
    if top_k is not None and top_k < n:
        keep = set(ranking[:top_k].tolist())
        order = np.array([i for i in order if i in keep])
    rows: list[dict[str, Any]] = []
    for i in order.tolist():
        row: dict[str, Any] = {
            "label": labels[i],
            "class_id": i,
            "value": _finite(values[i]),
            "rank": int(rank[i]),
            "status": statuses[0] if flags[i] else statuses[1],
        }
        if cuts is not None:
            row["threshold"] = _finite(cuts[i])
        if raw is not None:
            row["logit"] = _finite(raw[i])
        rows.append(row)
    sort_labels = [row["label"] for row in rows]
    y = {
        "field": "label",
        "type": "nominal",
        "sort": sort_labels,
        "title": None,
        "axis": {"labelLimit": 220},
    }
    if domain is not None:
        x_scale: dict[str, Any] = {"domain": list(domain)}
    else:
        # Raw logits: an explicit domain from the drawn values and zero, with room for the
        # value text. A data-driven domain makes Vega warn "Infinite extent" while
        # Streamlit's dataset is still empty, and puts the last value past the edge.
        shown = values[np.isfinite(values)]
        lo = min(0.0, float(shown.min())) if shown.size else 0.0
        hi = max(0.0, float(shown.max())) if shown.size else 1.0
        pad = 0.15 * max(hi - lo, 1e-9)
        x_scale = {"domain": [lo - (pad if lo < 0 else 0.0), hi + pad]}
    span = 0.0 if domain is None else float(domain[1] - domain[0])
    tooltip: list[dict[str, Any]] = [
        {"field": "label", "type": "nominal", "title": "class"},
        {"field": "class_id", "type": "quantitative", "title": "class id"},
        {"field": "value", "type": "quantitative", "title": value_title, "format": ".4f"},
        {"field": "rank", "type": "quantitative"},
    ]
    if raw is not None:
        tooltip.append({"field": "logit", "type": "quantitative", "format": ".3f"})
    if cuts is not None:
        tooltip.append(
            {"field": "threshold", "type": "quantitative", "format": THRESHOLD_D3_FORMAT}
        )
    layers: list[dict[str, Any]] = [
        {
            "mark": {"type": "bar", "cornerRadiusEnd": 2},
            "encoding": {
                "x": {
                    "field": "value",
                    "type": "quantitative",
                    "scale": x_scale,
                    "title": value_title,
                },
                "y": y,
                "color": {
                    "field": "status",
                    "type": "nominal",
                    "scale": {
                        "domain": list(statuses),
                        "range": [COLORS["fired"], COLORS["other"]],
                    },
                    "legend": None if raw_logits else {"title": None, "orient": "bottom"},
                },
                "tooltip": tooltip,
            },
        },
        *_value_labels(y, inside_above=None if domain is None else domain[1] - 0.12 * span),
    ]
    # Thresholds are on the score scale, so none on a raw-logits axis; and a tick layer
    # whose values are all null (never-fire thresholds) makes Vega warn "Infinite extent".
    if cuts is not None and not raw_logits and bool(np.isfinite(cuts).any()):
        layers.append(
            {
                "mark": {"type": "tick", "color": COLORS["threshold"], "thickness": 2, "size": 18},
                "encoding": {
                    "x": {"field": "threshold", "type": "quantitative"},
                    "y": y,
                    "tooltip": [
                        {
                            "field": "threshold",
                            "type": "quantitative",
                            "format": THRESHOLD_D3_FORMAT,
                        }
                    ],
                },
            }
        )
    if raw_logits:
        zero = {"data": {"values": [{"zero": 0.0, "text": zero_label}]}}
        layers.append(
            {
                **zero,
                "mark": {"type": "rule", "color": COLORS["threshold"], "strokeWidth": 1.5},
                "encoding": {"x": {"field": "zero", "type": "quantitative"}},
            }
        )
        layers.append(
            {
                **zero,
                "mark": {
                    "type": "text",
                    "align": "left",
                    "baseline": "bottom",
                    "dx": 3,
                    "y": 0,
                    "dy": -2,
                    "fontSize": 11,
                    "color": COLORS["threshold"],
                },
                "encoding": {
                    "x": {"field": "zero", "type": "quantitative"},
                    "text": {"field": "text", "type": "nominal"},
                },
            }
        )
    if reject_threshold is not None:
        layers.append(
            {
                "data": {"values": [{"reject_threshold": float(reject_threshold)}]},
                "mark": {
                    "type": "rule",
                    "color": COLORS["reject"],
                    "strokeDash": [6, 3],
                    "strokeWidth": 2,
                },
                "encoding": {
                    "x": {"field": "reject_threshold", "type": "quantitative"},
                    "tooltip": [
                        {
                            "field": "reject_threshold",
                            "type": "quantitative",
                            "format": THRESHOLD_D3_FORMAT,
                        }
                    ],
                },
            }
        )
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "data": {"values": rows},
        "layer": layers,
        # a fixed step per bar: the chart grows with the number of classes shown
        "height": {"step": 24},
        "width": "container",
    }


def _value_labels(y: dict[str, Any], *, inside_above: float | None) -> list[dict[str, Any]]:
    """Text layers writing each bar's value (3 decimals) at its end.

    On a fixed axis (``inside_above`` given) values at or above ``inside_above`` are
    written inside the bar's end, so a 0.991 is never clipped at the chart's right edge.
    No colour is set: the text takes the theme's text colour (see :func:`style_spec`).
    """
    x = {"field": "value", "type": "quantitative"}
    if inside_above is None:
        text = {"field": "value", "type": "quantitative", "format": ".3f"}
        return [
            {
                "mark": {"type": "text", "align": "left", "dx": 3, "fontSize": 12},
                "encoding": {"x": x, "y": y, "text": text},
            }
        ]
    # Each layer keeps every row and blanks the others' text (a filtered-out, empty layer
    # would make Vega warn "Infinite extent").
    cut = f"datum.value >= {inside_above!r}"
    label = "format(datum.value, '.3f')"
    outside = {
        "transform": [{"calculate": f"{cut} ? '' : {label}", "as": "value_text"}],
        "mark": {"type": "text", "align": "left", "dx": 3, "fontSize": 12},
        "encoding": {"x": x, "y": y, "text": {"field": "value_text", "type": "nominal"}},
    }
    inside = {
        "transform": [{"calculate": f"{cut} ? {label} : ''", "as": "value_text"}],
        "mark": {"type": "text", "align": "right", "dx": -3, "fontSize": 12, "color": "white"},
        "encoding": {"x": x, "y": y, "text": {"field": "value_text", "type": "nominal"}},
    }
    return [outside, inside]


def _finite(value: float) -> float | None:
    """JSON-safe number: NaN/inf become null (Vega-Lite then skips the mark)."""
    return float(value) if np.isfinite(value) else None


def score_diff_chart(
    labels: Sequence[str],
    scores_a: npt.ArrayLike,
    scores_b: npt.ArrayLike,
    *,
    top_k: int | None = 10,
    value_title: str = "score B − score A",
) -> alt.LayerChart:
    """Per-class score difference B − A, largest absolute changes first.

    Returns a bar chart whose data has ``label``, ``a``, ``b``, ``diff`` columns.
    """
    a = np.asarray(scores_a, dtype=np.float64).reshape(-1)
    b = np.asarray(scores_b, dtype=np.float64).reshape(-1)
    if a.shape != b.shape or a.shape[0] != len(labels):
        raise ValueError(
            f"`scores_a`, `scores_b` and `labels` must have the same length; "
            f"got {a.shape[0]}, {b.shape[0]} and {len(labels)}"
        )
    diff = b - a
    order = np.argsort(-np.abs(diff), kind="stable")
    if top_k is not None:
        order = order[:top_k]
    frame = pd.DataFrame(
        {"label": [labels[i] for i in order], "a": a[order], "b": b[order], "diff": diff[order]}
    )
    frame["direction"] = np.where(frame["diff"] >= 0, "higher for B", "higher for A")
    limit = max(0.05, float(np.abs(diff).max()) if diff.size else 0.05)
    frame["anchor"] = np.where(frame["diff"] >= 0, "left", "right")
    base = alt.Chart(frame)
    y_enc = alt.Y("label:N", sort=frame["label"].tolist(), title=None)
    # the signed value at each bar's end; the axis leaves 35% headroom on both sides for it
    values = [  # each layer keeps every row (no empty layer) and writes only its side
        base.transform_calculate(text=f"datum.anchor == '{side}' ? format(datum.diff, '+.3f') : ''")
        .mark_text(align=side, dx=3 if side == "left" else -3, fontSize=12)
        .encode(x="diff:Q", y=y_enc, text="text:N")
        for side in ("left", "right")
    ]
    limit *= 1.35
    bars = base.mark_bar().encode(
        x=alt.X("diff:Q", title=value_title, scale=alt.Scale(domain=[-limit, limit])),
        y=y_enc,
        color=alt.Color(
            "direction:N",
            scale=alt.Scale(
                domain=["higher for B", "higher for A"], range=[COLORS["up"], COLORS["down"]]
            ),
            legend=alt.Legend(title=None, orient="bottom"),
        ),
        tooltip=[
            alt.Tooltip("label:N", title="class"),
            alt.Tooltip("a:Q", title="A", format=".4f"),
            alt.Tooltip("b:Q", title="B", format=".4f"),
            alt.Tooltip("diff:Q", title="B − A", format="+.4f"),
        ],
    )
    return alt.layer(bars, *values).properties(height=alt.Step(24), width="container")


#: Narrowest word cell (characters at 14 px): its number ("+0.353" at 9 px) fits under it.
_MIN_CELL_CHARS = 5


def word_importance_chart(
    tokens: Sequence[str],
    deltas: npt.ArrayLike,
    *,
    line_chars: int = 72,
    class_name: str = "",
) -> alt.LayerChart:
    """Text with each word shaded by how much removing it changes the class score.

    Drawn as a chart (monospace text over coloured cells), never as HTML: user text cannot
    inject markup. Blue = the word supports the class (removing it lowers the score), red =
    the word works against it.

    Parameters
    ----------
    tokens : sequence of str, the words in order
    deltas : array-like of shape (n_tokens,)
        ``score(full text) - score(text without the word)``.
    line_chars : int
        Wrap lines at about this many characters.
    """
    d = np.asarray(deltas, dtype=np.float64).reshape(-1)
    if d.shape[0] != len(tokens):
        raise ValueError(
            f"`deltas` must have one value per token ({len(tokens)}); got {d.shape[0]}"
        )
    xs, lines = [], []
    x, line = 0, 0
    for token in tokens:
        width = max(len(token), _MIN_CELL_CHARS) + 1  # room for the number under it
        if x > 0 and x + width > line_chars:
            x, line = 0, line + 1
        xs.append(x)
        lines.append(line)
        x += width
    frame = pd.DataFrame(
        {
            "token": list(tokens),
            "x": xs,
            "x2": [x0 + max(len(t), _MIN_CELL_CHARS) for x0, t in zip(xs, tokens, strict=True)],
            "line": lines,
            "delta": d,
        }
    )
    limit = max(1e-6, float(np.abs(d).max()) if d.size else 1e-6)
    char_px = 8.4  # monospace at 14 px
    n_lines = (max(lines) + 1) if lines else 1
    width = int(char_px * max(line_chars, 10))
    x_scale = alt.Scale(domain=[0, line_chars], range=[0, width])
    y_scale = alt.Scale(domain=[-0.5, n_lines - 0.5], range=[0, 40 * n_lines])
    tooltip = [
        alt.Tooltip("token:N", title="word"),
        alt.Tooltip("delta:Q", title=f"score drop without it ({class_name})", format="+.4f"),
    ]
    frame["y0"] = frame["line"] - 0.45
    frame["y1"] = frame["line"] + 0.45
    cells = (
        alt.Chart(frame)
        .mark_rect(cornerRadius=3, opacity=1.0)
        .encode(
            x=alt.X("x:Q", scale=x_scale, axis=None),
            x2="x2:Q",
            y=alt.Y("y0:Q", scale=y_scale, axis=None),
            y2="y1:Q",
            color=alt.Color(
                "delta:Q",
                scale=alt.Scale(scheme="redblue", domain=[-limit, limit]),
                legend=None,  # each word carries its number; the caption explains the colours
            ),
            tooltip=tooltip,
        )
    )
    # strong shades get white text, pale ones near-black (readable in both themes: the
    # cells are opaque enough to be the text's background)
    frame["ink"] = np.where(np.abs(d) > 0.45 * limit, "strong", "pale")
    frame["number"] = [f"{v:+.3f}" for v in d]
    ink = alt.Color(
        "ink:N",
        scale=alt.Scale(domain=["strong", "pale"], range=["#ffffff", "#111111"]),
        legend=None,
    )
    words = (
        alt.Chart(frame)
        .mark_text(align="left", baseline="middle", font="monospace", fontSize=14, dy=-7)
        .encode(
            x=alt.X("x:Q", scale=x_scale, axis=None),
            y=alt.Y("line:Q", scale=y_scale, axis=None),
            text="token:N",
            color=ink,
            tooltip=tooltip,
        )
    )
    numbers = (
        alt.Chart(frame)
        .mark_text(align="left", baseline="middle", font="monospace", fontSize=10, dy=10)
        .encode(
            x=alt.X("x:Q", scale=x_scale, axis=None),
            y=alt.Y("line:Q", scale=y_scale, axis=None),
            text="number:N",
            color=ink,
            tooltip=tooltip,
        )
    )
    return alt.layer(cells, words, numbers).properties(width=width, height=40 * n_lines)


def lesson_activation_chart(
    names: Sequence[str],
    softmax_scores: npt.ArrayLike,
    sigmoid_scores: npt.ArrayLike,
    *,
    sigmoid_thresholds: npt.ArrayLike,
) -> alt.FacetChart | alt.LayerChart:
    """Softmax and sigmoid of the same logits, side by side, class-id order, 0–1 axes.

    The softmax panel highlights the arg-max; the sigmoid panel highlights every class at or
    above its threshold and draws each threshold as a tick.
    """
    soft = np.asarray(softmax_scores, dtype=np.float64).reshape(-1)
    sig = np.asarray(sigmoid_scores, dtype=np.float64).reshape(-1)
    cut = np.broadcast_to(np.asarray(sigmoid_thresholds, dtype=np.float64), sig.shape)
    winner = int(np.argmax(soft)) if soft.size else -1
    rows = []
    for i, name in enumerate(names):
        rows.append(
            {
                "panel": "softmax (multi-class)",
                "label": name,
                "class_id": i,
                "score": soft[i],
                "fires": i == winner,
                "threshold": None,
            }
        )
        rows.append(
            {
                "panel": "sigmoid (multi-label)",
                "label": name,
                "class_id": i,
                "score": sig[i],
                "fires": bool(sig[i] >= cut[i]),
                "threshold": float(cut[i]),
            }
        )
    frame = pd.DataFrame(rows)
    frame["status"] = np.where(frame["fires"], "fires", "does not fire")
    y = alt.Y("label:N", sort=list(names), title=None)
    base = alt.Chart()
    bars = base.mark_bar().encode(
        x=alt.X("score:Q", scale=alt.Scale(domain=[0, 1]), title="score"),
        y=y,
        color=alt.Color(
            "status:N",
            scale=alt.Scale(
                domain=["fires", "does not fire"], range=[COLORS["fired"], COLORS["other"]]
            ),
            legend=alt.Legend(title=None, orient="bottom"),
        ),
        tooltip=[
            alt.Tooltip("label:N"),
            alt.Tooltip("score:Q", format=".4f"),
            alt.Tooltip("threshold:Q", format=".2f"),
        ],
    )
    # values near 1 are written inside the bar's end, never past the panel's edge
    # (each layer keeps every row and blanks the other's text: no empty layer)
    labels = (
        base.transform_calculate(text="datum.score >= 0.8 ? '' : format(datum.score, '.3f')")
        .mark_text(align="left", dx=3, fontSize=12)
        .encode(x="score:Q", y=y, text="text:N")
    )
    labels_inside = (
        base.transform_calculate(text="datum.score >= 0.8 ? format(datum.score, '.3f') : ''")
        .mark_text(align="right", dx=-3, fontSize=12, color="white")
        .encode(x="score:Q", y=y, text="text:N")
    )
    ticks = (
        base.transform_filter("datum.threshold != null")
        .mark_tick(color=COLORS["threshold"], thickness=2, size=18)
        .encode(x="threshold:Q", y=y)
    )
    return (
        alt.layer(bars, labels, labels_inside, ticks, data=frame)
        .properties(width=190, height=alt.Step(26))
        .facet(
            column=alt.Column(
                "panel:N", title=None, sort=["softmax (multi-class)", "sigmoid (multi-label)"]
            )
        )
    )


# --------------------------------------------------------------------------- threshold tuning
# Builders for the threshold-tuning page. Each ``*_spec`` returns a plain Vega-Lite dict
# (built in a millisecond or two: what the page draws on every threshold move); each
# ``*_chart`` wraps the same dict in an Altair object, validated against the schema, for
# tests and exports. Curves are downsampled to ~1,000 points for the browser (the operating
# point is always kept); heatmaps and grids are small by design.

_OPERATING = "#dc2626"  # red: the current operating point
_TUNING_WIDTH = 360
_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
_UNIT = {"domain": [0, 1]}


def _column(values: npt.ArrayLike) -> list[Any]:
    """A numpy column as JSON-safe Python values (non-finite floats become null)."""
    a = np.asarray(values)
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        out = a.astype(object)
        out[~np.isfinite(a)] = None
        return list(out.tolist())
    return list(a.tolist())


def _records(columns: Mapping[str, npt.ArrayLike]) -> list[dict[str, Any]]:
    """Row dicts from equal-length columns (the inline ``data.values`` of a spec)."""
    names = list(columns)
    cols = [_column(v) for v in columns.values()]
    return [dict(zip(names, row, strict=True)) for row in zip(*cols, strict=True)]


def _tip(field: str, kind: str = "quantitative", **extra: Any) -> dict[str, Any]:
    return {"field": field, "type": kind, **extra}


def _curve_rows(
    thresholds: npt.ArrayLike,
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    index: int,
    max_points: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from cls_core.evaluation.metrics import downsample_indices

    t = np.asarray(thresholds, dtype=np.float64)
    keep = [index] if index >= 0 else []
    picked = downsample_indices(x, y, max_points=max_points, keep=keep)
    # The line is drawn a few hundred pixels wide: 4 decimals of x/y (0.1 px) and 6 of the
    # tooltip's threshold send a third of the bytes of full float reprs on every move.
    rows = _records(
        {
            "x": np.round(x[picked], 4),
            "y": np.round(y[picked], 4),
            "threshold": np.round(t[picked], 6),
        }
    )
    point = (
        _records({"x": x[[index]], "y": y[[index]], "threshold": t[[index]]}) if index >= 0 else []
    )
    return rows, point


def _line_with_point_spec(
    rows: list[dict[str, Any]],
    point: list[dict[str, Any]],
    *,
    x_title: str,
    y_title: str,
    title: str,
    interpolate: str = "step-after",
    extra: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    tooltip = [
        _tip("threshold", format=".4f"),
        _tip("x", title=x_title, format=".3f"),
        _tip("y", title=y_title, format=".3f"),
    ]
    line = {
        "data": {"values": rows},
        "mark": {
            "type": "line",
            "color": COLORS["fired"],
            "interpolate": interpolate,
            "strokeWidth": 2,
        },
        "encoding": {
            "x": _tip("x", title=x_title, scale=_UNIT),
            "y": _tip("y", title=y_title, scale=_UNIT),
            "tooltip": tooltip,
        },
    }
    dot = {
        "data": {"values": point},
        "mark": {
            "type": "point",
            "color": _OPERATING,
            "filled": True,
            "size": 140,
            "shape": "diamond",
        },
        "encoding": {"x": _tip("x"), "y": _tip("y"), "tooltip": tooltip},
    }
    return {
        "$schema": _SCHEMA,
        "layer": [*extra, line, dot],
        "title": title,
        "width": "container",
        "height": _TUNING_WIDTH - 60,
    }


def pr_curve_spec(curve: Any, *, threshold: float, max_points: int = 1000) -> dict[str, Any]:
    """Precision vs recall of one class, with the operating point at ``threshold``.

    Parameters
    ----------
    curve : cls_core.evaluation.metrics.ClassCurve
    threshold : float
        The class fires when ``score >= threshold``; the diamond marks that point (absent
        when nothing fires).
    max_points : int
        The line is downsampled to about this many points.

    Returns
    -------
    dict: a layered Vega-Lite spec; layer 0 is the line (fields ``x`` = recall,
    ``y`` = precision, ``threshold``), layer 1 the operating point.
    """
    index = curve.index_at(threshold)
    rows, point = _curve_rows(curve.thresholds, curve.recall, curve.precision, index, max_points)
    return _line_with_point_spec(
        rows, point, x_title="recall", y_title="precision", title=f"Precision–recall: {curve.label}"
    )


def pr_curve_chart(curve: Any, *, threshold: float, max_points: int = 1000) -> alt.LayerChart:
    """:func:`pr_curve_spec` as a validated Altair chart."""
    return alt.LayerChart.from_dict(
        pr_curve_spec(curve, threshold=threshold, max_points=max_points)
    )


def roc_curve_spec(curve: Any, *, threshold: float, max_points: int = 1000) -> dict[str, Any]:
    """ROC (true-positive rate vs false-positive rate) of one class, with the operating point.

    Returns
    -------
    dict: a layered Vega-Lite spec; layer 0 is the chance diagonal, layer 1 the curve
    (``x`` = FPR, ``y`` = TPR, ``threshold``), layer 2 the operating point.
    """
    index = curve.index_at(threshold)
    # a leading (0, 0) point at "above every score"; indices shift by one
    x = np.concatenate([[0.0], curve.fpr])
    y = np.concatenate([[0.0], curve.tpr])
    top = float(curve.thresholds[0]) if len(curve.thresholds) else 1.0
    thresholds = np.concatenate([[max(top, 1.0)], np.asarray(curve.thresholds)])
    rows, point = _curve_rows(thresholds, x, y, index + 1, max_points)
    diagonal = {
        "data": {"values": [{"x": 0.0, "y": 0.0}, {"x": 1.0, "y": 1.0}]},
        "mark": {"type": "line", "color": "#9ca3af", "strokeDash": [4, 4]},
        "encoding": {"x": _tip("x"), "y": _tip("y")},
    }
    return _line_with_point_spec(
        rows,
        point,
        x_title="false-positive rate",
        y_title="true-positive rate",
        title=f"ROC: {curve.label}",
        interpolate="linear",
        extra=[diagonal],
    )


def roc_curve_chart(curve: Any, *, threshold: float, max_points: int = 1000) -> alt.LayerChart:
    """:func:`roc_curve_spec` as a validated Altair chart."""
    return alt.LayerChart.from_dict(
        roc_curve_spec(curve, threshold=threshold, max_points=max_points)
    )


def coverage_accuracy_spec(curve: Any, *, reject_threshold: float) -> dict[str, Any]:
    """Multi-class: accuracy on answered examples vs coverage as the reject threshold moves.

    Parameters
    ----------
    curve : cls_core.evaluation.metrics.CoverageCurve
    reject_threshold : float
        The current reject threshold (answer when the top score ``>= reject_threshold``).

    Returns
    -------
    dict: layer 0 the curve (``x`` = coverage, ``y`` = accuracy), layer 1 the operating point.
    """
    thresholds = np.asarray(curve.thresholds)
    index = int(np.searchsorted(-thresholds, -float(reject_threshold), side="right")) - 1
    rows, point = _curve_rows(
        thresholds, np.asarray(curve.coverage), np.asarray(curve.accuracy), index, 1000
    )
    return _line_with_point_spec(
        rows,
        point,
        x_title="coverage (share answered)",
        y_title="accuracy on answered",
        title="Coverage vs accuracy (reject threshold)",
        interpolate="linear",
    )


def coverage_accuracy_chart(curve: Any, *, reject_threshold: float) -> alt.LayerChart:
    """:func:`coverage_accuracy_spec` as a validated Altair chart."""
    return alt.LayerChart.from_dict(
        coverage_accuracy_spec(curve, reject_threshold=reject_threshold)
    )


def _count_text_layer() -> dict[str, Any]:
    return {
        "mark": {"type": "text", "fontSize": 10},
        "encoding": {
            "text": _tip("count"),
            "color": {
                "condition": {"test": "datum.row_share > 0.5", "value": "white"},
                "value": "#111827",
            },
        },
    }


def _share_color(scheme: str, title: str, *, domain: bool = True) -> dict[str, Any]:
    scale: dict[str, Any] = {"scheme": scheme, **({"domain": [0, 1]} if domain else {})}
    return {**_tip("row_share"), "scale": scale, "legend": {"title": title, "format": ".0%"}}


def confusion_heatmap_spec(matrix: Any, *, show_counts: bool | None = None) -> dict[str, Any]:
    """Multi-class confusion heatmap, coloured by the share of each true class (row).

    Parameters
    ----------
    matrix : cls_core.evaluation.metrics.ConfusionMatrix
        Its last column, ``(abstain)``, is drawn only when it has any count.
    show_counts : bool, optional
        Write the count in each non-empty cell (default: when at most 25 classes).

    Returns
    -------
    dict: a layered spec whose data has ``true``, ``predicted``, ``count``, ``row_share``;
    layer 0 the cells, layer 1 (when counts are shown) the numbers.
    """
    m = np.asarray(matrix.matrix)
    columns = list(matrix.columns)
    if m.shape[1] and m[:, -1].sum() == 0:
        m, columns = m[:, :-1], columns[:-1]
    rows = m.sum(axis=1, keepdims=True)
    share = np.divide(m, rows, out=np.zeros(m.shape, dtype=np.float64), where=rows > 0)
    labels = list(matrix.labels)
    nonzero = m.reshape(-1) > 0  # empty cells stay blank, so the errors stand out
    data = _records(
        {
            "true": np.repeat(labels, len(columns))[nonzero],
            "predicted": np.tile(columns, len(labels))[nonzero],
            "count": m.reshape(-1)[nonzero],
            "row_share": share.reshape(-1)[nonzero],
        }
    )
    if show_counts is None:
        show_counts = len(labels) <= 25
    step = 26 if len(labels) <= 25 else 14
    position = {
        "x": _tip(
            "predicted",
            "nominal",
            scale={"domain": columns},
            title="predicted",
            axis={"labelLimit": 160},
        ),
        "y": _tip(
            "true", "nominal", scale={"domain": labels}, title="true", axis={"labelLimit": 200}
        ),
    }
    cells = {
        "mark": {"type": "rect"},
        "encoding": {
            **position,
            "color": _share_color("blues", "share of true class"),
            "tooltip": [
                _tip("true", "nominal"),
                _tip("predicted", "nominal"),
                _tip("count"),
                _tip("row_share", title="share of row", format=".1%"),
            ],
        },
    }
    layers = [cells]
    if show_counts:
        text = _count_text_layer()
        text["encoding"] = {**position, **text["encoding"]}
        layers.append(text)
    return {
        "$schema": _SCHEMA,
        "data": {"values": data},
        "layer": layers,
        "width": {"step": step},
        "height": {"step": step},
        "title": "Confusion (rows: true class)",
    }


def confusion_heatmap(matrix: Any, *, show_counts: bool | None = None) -> alt.LayerChart:
    """:func:`confusion_heatmap_spec` as a validated Altair chart."""
    return alt.LayerChart.from_dict(confusion_heatmap_spec(matrix, show_counts=show_counts))


def multilabel_confusion_grid_spec(
    labels: Sequence[str],
    tp: npt.ArrayLike,
    fp: npt.ArrayLike,
    fn: npt.ArrayLike,
    tn: npt.ArrayLike,
    *,
    columns: int = 3,
) -> dict[str, Any]:
    """Multi-label: one 2×2 confusion matrix per class (true yes/no × predicted yes/no).

    Returns
    -------
    dict: a facet spec with data fields ``label``, ``true``, ``predicted``, ``cell``,
    ``count``, ``row_share``; faceted by ``label`` in class order.

    Raises
    ------
    ValueError
        ``tp``, ``fp``, ``fn`` or ``tn`` does not have one value per label.
    """
    counts = {
        k: np.asarray(v, dtype=np.int64).reshape(-1)
        for k, v in {"tp": tp, "fp": fp, "fn": fn, "tn": tn}.items()
    }
    n = len(labels)
    if any(v.shape[0] != n for v in counts.values()):
        raise ValueError(f"`tp`, `fp`, `fn` and `tn` must each have {n} values (one per label)")
    pos = counts["tp"] + counts["fn"]
    neg = counts["fp"] + counts["tn"]
    cells = [
        ("yes", "yes", "tp", pos),
        ("yes", "no", "fn", pos),
        ("no", "yes", "fp", neg),
        ("no", "no", "tn", neg),
    ]
    shares = {
        key: np.divide(counts[key], total, out=np.zeros(n), where=total > 0)
        for _, _, key, total in cells
    }
    rows = [
        {
            "label": label,
            "true": true,
            "predicted": pred,
            "cell": key.upper(),
            "count": int(counts[key][i]),
            "row_share": float(shares[key][i]),
        }
        for i, label in enumerate(labels)
        for true, pred, key, _ in cells
    ]
    position = {
        "x": _tip("predicted", "nominal", sort=["yes", "no"], title="predicted"),
        "y": _tip("true", "nominal", sort=["yes", "no"], title="true"),
    }
    rect = {
        "mark": {"type": "rect"},
        "encoding": {
            **position,
            "color": _share_color("blues", "share of row"),
            "tooltip": [
                _tip("label", "nominal", title="class"),
                _tip("cell", "nominal"),
                _tip("count"),
                _tip("row_share", title="share of row", format=".1%"),
            ],
        },
    }
    text = _count_text_layer()
    text["encoding"] = {**position, **text["encoding"]}
    return {
        "$schema": _SCHEMA,
        "data": {"values": rows},
        "facet": _tip("label", "nominal", sort=list(labels), title=None),
        "columns": columns,
        "spec": {"layer": [rect, text], "width": 70, "height": 70},
    }


def multilabel_confusion_grid(
    labels: Sequence[str],
    tp: npt.ArrayLike,
    fp: npt.ArrayLike,
    fn: npt.ArrayLike,
    tn: npt.ArrayLike,
    *,
    columns: int = 3,
) -> alt.FacetChart:
    """:func:`multilabel_confusion_grid_spec` as a validated Altair chart."""
    return alt.FacetChart.from_dict(
        multilabel_confusion_grid_spec(labels, tp, fp, fn, tn, columns=columns)
    )


def cooccurrence_heatmap_spec(labels: Sequence[str], matrix: npt.ArrayLike) -> dict[str, Any]:
    """Multi-label: how often true label i comes with predicted label j.

    Parameters
    ----------
    labels : sequence of str
    matrix : int array-like of shape (n_classes, n_classes)
        ``matrix[i, j]`` = examples with true label i and predicted label j (the diagonal
        is the true positives).

    Returns
    -------
    dict: a rect spec coloured by the share of true-i examples (``row_share``).

    Raises
    ------
    ValueError
        ``matrix`` is not (n_classes, n_classes).
    """
    m = np.asarray(matrix, dtype=np.int64)
    n = len(labels)
    if m.shape != (n, n):
        raise ValueError(f"`matrix` must have shape ({n}, {n}); got {m.shape}")
    rows = m.sum(axis=1).astype(np.float64)
    share = np.divide(m, rows[:, None], out=np.zeros(m.shape), where=rows[:, None] > 0)
    data = _records(
        {
            "true": np.repeat(list(labels), n),
            "predicted": np.tile(list(labels), n),
            "count": m.reshape(-1),
            "row_share": share.reshape(-1),
        }
    )
    return {
        "$schema": _SCHEMA,
        "data": {"values": data},
        "mark": {"type": "rect"},
        "encoding": {
            "x": _tip("predicted", "nominal", sort=list(labels), title="predicted label"),
            "y": _tip("true", "nominal", sort=list(labels), title="true label"),
            "color": _share_color("purples", "share of row", domain=False),
            "tooltip": [
                _tip("true", "nominal", title="true"),
                _tip("predicted", "nominal", title="predicted"),
                _tip("count"),
                _tip("row_share", title="share of row", format=".1%"),
            ],
        },
        "width": {"step": 16},
        "height": {"step": 16},
        "title": "True vs predicted label co-occurrence",
    }


def cooccurrence_heatmap(labels: Sequence[str], matrix: npt.ArrayLike) -> alt.Chart:
    """:func:`cooccurrence_heatmap_spec` as a validated Altair chart."""
    return alt.Chart.from_dict(cooccurrence_heatmap_spec(labels, matrix))


def cardinality_spec(curve: Any, *, threshold: float | None = None) -> dict[str, Any]:
    """Multi-label: mean predicted labels per example and share with none vs a global threshold.

    Parameters
    ----------
    curve : cls_core.evaluation.metrics.CardinalityCurve
    threshold : float, optional
        A vertical rule at the current global threshold.

    Returns
    -------
    dict: a layered spec with independent y scales: layer 0 the mean (with the dashed mean
    of true labels), layer 1 the share with no label, layer 2 (optional) the rule.
    """
    data = {
        "values": _records(
            {
                "threshold": np.asarray(curve.thresholds),
                "mean predicted labels": np.asarray(curve.mean_predicted_labels),
                "share with no label": np.asarray(curve.no_label_share),
            }
        )
    }
    x = _tip("threshold", title="global threshold", scale=_UNIT)
    blue, amber = COLORS["fired"], "#f59e0b"
    mean = {
        "data": data,
        "mark": {"type": "line", "color": blue, "strokeWidth": 2},
        "encoding": {
            "x": x,
            "y": _tip(
                "mean predicted labels",
                axis={"titleColor": blue, "title": "mean predicted labels"},
            ),
            "tooltip": [
                _tip("threshold", format=THRESHOLD_D3_FORMAT),
                _tip("mean predicted labels", format=".3f"),
                _tip("share with no label", format=".1%"),
            ],
        },
    }
    truth = {
        "data": {"values": [{"mean true labels": float(curve.mean_true_labels)}]},
        "mark": {"type": "rule", "color": blue, "strokeDash": [4, 4]},
        "encoding": {
            "y": _tip("mean true labels"),
            "tooltip": [_tip("mean true labels", format=".3f")],
        },
    }
    none = {
        "data": data,
        "mark": {"type": "line", "color": amber, "strokeWidth": 2},
        "encoding": {
            "x": x,
            "y": _tip(
                "share with no label",
                scale=_UNIT,
                axis={"titleColor": amber, "format": ".0%", "title": "share with no label"},
            ),
        },
    }
    layers: list[dict[str, Any]] = [{"layer": [mean, truth]}, none]
    if threshold is not None:
        layers.append(
            {
                "data": {"values": [{"threshold": float(threshold)}]},
                "mark": {"type": "rule", "color": _OPERATING, "strokeWidth": 2},
                "encoding": {"x": _tip("threshold")},
            }
        )
    return {
        "$schema": _SCHEMA,
        "layer": layers,
        "resolve": {"scale": {"y": "independent"}},
        "width": "container",
        "height": 280,
        "title": "Label cardinality vs a global threshold",
    }


def cardinality_chart(curve: Any, *, threshold: float | None = None) -> alt.LayerChart:
    """:func:`cardinality_spec` as a validated Altair chart."""
    return alt.LayerChart.from_dict(cardinality_spec(curve, threshold=threshold))


def cost_curve_spec(curve: Any, *, threshold: float | None = None) -> dict[str, Any]:
    """Expected cost per example vs threshold for one class, with the minimum and Bayes point.

    Parameters
    ----------
    curve : cls_core.evaluation.thresholds.CostCurve
    threshold : float, optional
        The current threshold (a red rule).

    Returns
    -------
    dict: layer 0's data has ``threshold`` and ``expected_cost``; layer 1's (the rules)
    has ``marker`` ("minimum", "Bayes c_FP/(c_FP+c_FN)", "current") and ``threshold``.
    """
    from cls_core.evaluation.metrics import downsample_indices

    t = np.asarray(curve.thresholds, dtype=np.float64)
    cost = np.asarray(curve.expected_cost, dtype=np.float64)
    finite = np.isfinite(t)
    t, cost = np.clip(t[finite], 0.0, 1.0), cost[finite]
    picked = downsample_indices(t, cost, max_points=1000) if t.size else np.array([], int)
    line = {
        "data": {"values": _records({"threshold": t[picked], "expected_cost": cost[picked]})},
        "mark": {
            "type": "line",
            "color": COLORS["fired"],
            "interpolate": "step-after",
            "strokeWidth": 2,
        },
        "encoding": {
            "x": _tip("threshold", scale=_UNIT, title="threshold"),
            "y": _tip("expected_cost", title="expected cost per example"),
            "tooltip": [_tip("threshold", format=".4f"), _tip("expected_cost", format=".4f")],
        },
    }
    markers = [
        {"marker": "minimum", "threshold": min(1.0, float(curve.best_threshold))},
        {"marker": "Bayes c_FP/(c_FP+c_FN)", "threshold": float(curve.bayes_threshold)},
    ]
    if threshold is not None:
        markers.append({"marker": "current", "threshold": min(1.0, max(0.0, float(threshold)))})
    rules = {
        "data": {"values": markers},
        "mark": {"type": "rule", "strokeWidth": 2, "strokeDash": [5, 3]},
        "encoding": {
            "x": _tip("threshold"),
            "color": _tip(
                "marker",
                "nominal",
                scale={
                    "domain": ["minimum", "Bayes c_FP/(c_FP+c_FN)", "current"],
                    "range": ["#16a34a", "#7c3aed", _OPERATING],
                },
                legend={"title": None, "orient": "bottom"},
            ),
            "tooltip": [_tip("marker", "nominal"), _tip("threshold", format=".4f")],
        },
    }
    return {
        "$schema": _SCHEMA,
        "layer": [line, rules],
        "width": "container",
        "height": 260,
        "title": f"Expected cost: {curve.label} (FP costs {curve.cost_fp:g}, FN costs {curve.cost_fn:g})",
    }


def cost_curve_chart(curve: Any, *, threshold: float | None = None) -> alt.LayerChart:
    """:func:`cost_curve_spec` as a validated Altair chart."""
    return alt.LayerChart.from_dict(cost_curve_spec(curve, threshold=threshold))


def metric_intervals_spec(
    labels: Sequence[str],
    values: Mapping[str, npt.ArrayLike],
    *,
    lows: Mapping[str, npt.ArrayLike] | None = None,
    highs: Mapping[str, npt.ArrayLike] | None = None,
) -> dict[str, Any]:
    """Per-class metrics as points, with error bars when interval bounds are given.

    Parameters
    ----------
    labels : sequence of str, class order (the y axis)
    values : mapping metric name → array (n_classes,)
        Point estimates, e.g. ``{"threshold": ..., "precision": ..., "f1": ...}``.
    lows, highs : mappings with the same keys, optional
        Interval bounds (bootstrap); drawn as horizontal error bars.

    Returns
    -------
    dict: a facet spec, one column per metric, with data fields ``label``, ``metric``,
    ``value`` and (when given) ``low``, ``high``, all clipped to [0, 1].

    Raises
    ------
    ValueError
        A metric does not have one value per label.
    """
    n = len(labels)
    columns: dict[str, list[Any]] = {"label": [], "metric": [], "value": []}
    bars = lows is not None and highs is not None
    if bars:
        columns |= {"low": [], "high": []}
    for metric, vals in values.items():
        v = np.asarray(vals, dtype=np.float64).reshape(-1)
        if v.shape[0] != n:
            raise ValueError(f"`values[{metric!r}]` must have {n} values; got {v.shape[0]}")
        columns["label"] += list(labels)
        columns["metric"] += [metric] * n
        columns["value"] += _column(np.clip(v, 0, 1))
        if lows is not None and highs is not None:
            for bound, source in (("low", lows), ("high", highs)):
                b = np.asarray(source[metric], dtype=np.float64).reshape(-1)
                columns[bound] += _column(np.clip(b, 0, 1))
    rows = _records(columns)
    y = _tip("label", "nominal", sort=list(labels), title=None, axis={"labelLimit": 170})
    x = _tip("value", scale=_UNIT, title=None)
    tooltip = [_tip("label", "nominal", title="class"), _tip("value", format=".3f")]
    layers: list[dict[str, Any]] = []
    if bars:
        tooltip += [_tip("low", format=".3f"), _tip("high", format=".3f")]
        layers.append(
            {
                "mark": {"type": "rule", "color": "#64748b", "strokeWidth": 2},
                "encoding": {
                    "x": _tip("low", scale=_UNIT, title=None),
                    "x2": {"field": "high"},
                    "y": y,
                },
            }
        )
    layers.append(
        {
            "mark": {"type": "point", "filled": True, "color": COLORS["fired"], "size": 40},
            "encoding": {"x": x, "y": y, "tooltip": tooltip},
        }
    )
    return {
        "$schema": _SCHEMA,
        "data": {"values": rows},
        "facet": {"column": _tip("metric", "nominal", sort=list(values), title=None)},
        "spec": {"layer": layers, "width": 90, "height": {"step": 16 if n > 30 else 20}},
        "spacing": 12,
    }


def metric_intervals_chart(
    labels: Sequence[str],
    values: Mapping[str, npt.ArrayLike],
    *,
    lows: Mapping[str, npt.ArrayLike] | None = None,
    highs: Mapping[str, npt.ArrayLike] | None = None,
) -> alt.FacetChart:
    """:func:`metric_intervals_spec` as a validated Altair chart."""
    return alt.FacetChart.from_dict(metric_intervals_spec(labels, values, lows=lows, highs=highs))


def reliability_spec(curves: Mapping[str, Any], *, title: str = "Reliability") -> dict[str, Any]:
    """Reliability diagram: observed frequency vs mean confidence per bin, one line per curve.

    Parameters
    ----------
    curves : mapping name → cls_core.evaluation.calibration.ReliabilityCurve
        E.g. ``{"before": ..., "after (temperature)": ...}``; empty bins are skipped.

    Returns
    -------
    dict: layer 0 is the diagonal (perfect calibration), layer 1 the lines with data fields
    ``curve``, ``confidence``, ``frequency``, ``count``.
    """
    rows: list[dict[str, Any]] = []
    for name, curve in curves.items():
        counts = np.asarray(curve.counts)
        used = counts > 0
        rows += _records(
            {
                "curve": np.full(int(used.sum()), name, dtype=object),
                "confidence": np.asarray(curve.mean_confidence, dtype=np.float64)[used],
                "frequency": np.asarray(curve.observed_frequency, dtype=np.float64)[used],
                "count": counts[used].astype(np.int64),
            }
        )
    diagonal = {
        "data": {
            "values": [{"confidence": 0.0, "frequency": 0.0}, {"confidence": 1.0, "frequency": 1.0}]
        },
        "mark": {"type": "line", "color": "#9ca3af", "strokeDash": [4, 4]},
        "encoding": {"x": _tip("confidence"), "y": _tip("frequency")},
    }
    lines = {
        "data": {"values": rows},
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": _tip("confidence", scale=_UNIT, title="mean confidence in bin"),
            "y": _tip("frequency", scale=_UNIT, title="observed frequency"),
            "color": _tip(
                "curve",
                "nominal",
                sort=list(curves),
                scale={"range": [COLORS["fired"], "#16a34a", "#f59e0b"]},
                legend={"title": None, "orient": "bottom"},
            ),
            "tooltip": [
                _tip("curve", "nominal"),
                _tip("confidence", format=".3f"),
                _tip("frequency", format=".3f"),
                _tip("count"),
            ],
        },
    }
    return {
        "$schema": _SCHEMA,
        "layer": [diagonal, lines],
        "width": "container",
        "height": 320,
        "title": title,
    }


def reliability_chart(curves: Mapping[str, Any], *, title: str = "Reliability") -> alt.LayerChart:
    """:func:`reliability_spec` as a validated Altair chart."""
    return alt.LayerChart.from_dict(reliability_spec(curves, title=title))


def chart_image(chart: Any, *, fmt: Literal["png", "svg"] = "png", scale: float = 2.0) -> bytes:
    """Render a chart (Altair object or Vega-Lite dict) to PNG or SVG bytes offline.

    Uses vl-convert (no browser). ``width="container"`` has no container outside a page,
    so such charts are drawn 600 px wide. Row limits do not apply (the data is already
    small by construction).

    Raises
    ------
    ValueError
        ``fmt`` is neither "png" nor "svg".
    """
    import copy
    import json

    import vl_convert as vlc

    if fmt not in ("png", "svg"):
        raise ValueError(f"`fmt` must be 'png' or 'svg'; got {fmt!r}")
    if isinstance(chart, dict):
        spec = copy.deepcopy(chart)
    else:
        with alt.data_transformers.disable_max_rows():
            spec = chart.to_dict()
    _fix_container_width(spec)
    text = json.dumps(spec)
    if fmt == "svg":
        return vlc.vegalite_to_svg(text).encode("utf-8")
    return bytes(vlc.vegalite_to_png(text, scale=scale))


def _fix_container_width(spec: Any) -> None:
    if isinstance(spec, dict):
        if spec.get("width") == "container":
            spec["width"] = 600
        for value in spec.values():
            _fix_container_width(value)
    elif isinstance(spec, list):
        for value in spec:
            _fix_container_width(value)


def slice_metrics_spec(table: Any) -> dict[str, Any]:
    """Per-slice precision, recall and F1 with intervals, against the overall value.

    Parameters
    ----------
    table : DataFrame
        :func:`cls_core.evaluation.slices.slice_metrics`'s result: a first line
        ``overall``, then one per slice, with ``support`` and for each metric the value and
        its ``_low``/``_high`` bounds (NaN bounds draw no bar).

    Returns
    -------
    dict: a facet spec, one column per metric; each slice is a point with its interval,
    the overall value a dashed rule. Data fields ``slice``, ``support``, ``metric``,
    ``value``, ``low``, ``high``, ``overall``.
    """
    metrics = ("precision", "recall", "f1")
    overall = table.iloc[0]
    rest = table.iloc[1:]
    columns: dict[str, list[Any]] = {k: [] for k in ("slice", "support", "metric", "value", "low", "high", "overall")}  # fmt: skip
    for metric in metrics:
        n = len(rest)
        columns["slice"] += [str(s) for s in rest["slice"]]
        columns["support"] += [int(s) for s in rest["support"]]
        columns["metric"] += [metric] * n
        for key, field in (("value", metric), ("low", f"{metric}_low"), ("high", f"{metric}_high")):
            columns[key] += _column(np.asarray(rest[field], dtype=np.float64))
        columns["overall"] += [float(overall[metric])] * n
    rows = _records(columns)
    order = [str(s) for s in rest["slice"]]
    y = _tip("slice", "nominal", sort=order, title=None, axis={"labelLimit": 220})
    tooltip = [
        _tip("slice", "nominal"),
        _tip("support", "quantitative", format=","),
        _tip("value", format=".3f"),
        _tip("low", format=".3f"),
        _tip("high", format=".3f"),
        _tip("overall", format=".3f"),
    ]
    layers = [
        {
            "mark": {"type": "rule", "color": "#64748b", "strokeWidth": 2},
            "encoding": {
                "x": _tip("low", scale=_UNIT, title=None),
                "x2": {"field": "high"},
                "y": y,
            },
        },
        {
            "mark": {"type": "point", "filled": True, "color": COLORS["fired"], "size": 60},
            "encoding": {"x": _tip("value", scale=_UNIT, title=None), "y": y, "tooltip": tooltip},
        },
        {
            "mark": {"type": "rule", "color": "#dc2626", "strokeDash": [4, 3]},
            "encoding": {"x": {"aggregate": "mean", "field": "overall", "type": "quantitative"}},
        },
    ]
    return {
        "$schema": _SCHEMA,
        "data": {"values": rows},
        "facet": {"column": _tip("metric", "nominal", sort=list(metrics), title=None)},
        "spec": {"layer": layers, "width": 180, "height": {"step": 24}},
        "spacing": 24,
    }


def slice_metrics_chart(table: Any) -> alt.FacetChart:
    """:func:`slice_metrics_spec` as a validated Altair chart."""
    return alt.FacetChart.from_dict(slice_metrics_spec(table))


_BINARY_METRIC_COLORS = ("#2563eb", "#60a5fa", "#16a34a", "#9333ea")


def binary_threshold_spec(
    table: Any, *, threshold: float, positive: str = "positive"
) -> dict[str, Any]:
    """A binary model's metrics against its one threshold, with a rule at ``threshold``.

    Parameters
    ----------
    table : DataFrame
        :meth:`cls_core.evaluation.binary.BinaryEvaluation.threshold_sweep`: columns
        ``threshold`` (row ``i``: positive when ``p >= threshold[i]``), ``precision``,
        ``recall``, ``f1`` (of the positive class) and ``accuracy``.
    threshold : float
        The current threshold (a dashed vertical rule).
    positive : str
        The positive class's name (in the title).

    Returns
    -------
    dict: a layered Vega-Lite spec; layer 0 the four step lines (long format: fields
    ``threshold``, ``metric``, ``value``), layer 1 the rule.
    """
    metrics = ("precision", "recall", "f1", "accuracy")
    t = np.round(np.asarray(table["threshold"], dtype=np.float64), 6)
    rows: list[dict[str, Any]] = []
    for name in metrics:
        values = np.round(np.asarray(table[name], dtype=np.float64), 4)
        rows.extend(
            {"threshold": float(a), "metric": name, "value": float(b)}
            for a, b in zip(t.tolist(), values.tolist(), strict=True)
        )
    lines = {
        "data": {"values": rows},
        "mark": {"type": "line", "interpolate": "step-before", "strokeWidth": 2},
        "encoding": {
            "x": _tip("threshold", title=f"threshold t ({positive} when score ≥ t)", scale=_UNIT),
            "y": _tip("value", title="metric", scale=_UNIT),
            "color": {
                "field": "metric",
                "type": "nominal",
                "sort": list(metrics),
                # not red: the dashed red rule is the current threshold
                "scale": {"domain": list(metrics), "range": list(_BINARY_METRIC_COLORS)},
                "legend": {"orient": "bottom", "title": None},
            },
            "tooltip": [
                _tip("threshold", format=".4f"),
                _tip("metric", "nominal"),
                _tip("value", format=".3f"),
            ],
        },
    }
    rule = {
        "data": {"values": [{"threshold": float(threshold)}]},
        "mark": {"type": "rule", "color": _OPERATING, "strokeDash": [5, 3], "strokeWidth": 2},
        "encoding": {"x": _tip("threshold"), "tooltip": [_tip("threshold", format=".4f")]},
    }
    return {
        "$schema": _SCHEMA,
        "layer": [lines, rule],
        "title": f"Metrics against the threshold: {positive}",
        "width": "container",
        "height": _TUNING_WIDTH - 60,
    }
