"""Section 5 · metrics at the current thresholds: per-class table, averages, CSV, chart."""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from cls_core.evaluation import tuning_session as ts
from cls_core.views import charts
from cls_core.views.formatting import THRESHOLD_FORMAT, code_span
from pages._thresholds.session import (
    Tuning,
    chart_block,
    current_metrics,
    download_row,
    ranking,
)


def metrics_section(t: Tuning, metrics: Any) -> None:
    """Section 5: per-class table, averages and the per-class chart with error bars (its
    caption and downloads: :func:`metrics_downloads`)."""
    ns, boot = t.ns, t.state["boot"]
    table = ts.class_table(metrics, ranking(ns, t.ev), intervals=boot)
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=min(420, 38 + 35 * len(table)),
        column_config={
            **{
                c: st.column_config.NumberColumn(format="%.3f")
                for c in table.columns
                if table[c].dtype.kind == "f"
            },
            "threshold": st.column_config.NumberColumn(format=THRESHOLD_FORMAT),
            "ap": st.column_config.NumberColumn("AP", format="%.3f"),
            "roc_auc": st.column_config.NumberColumn("ROC-AUC", format="%.3f"),
        },
    )
    # a static table, not a data grid: four rows redrawn on every threshold move
    averages = metrics.averages_frame()
    st.table(
        averages.assign(**{c: averages[c].map("{:.3f}".format) for c in averages.columns[1:]}),
        hide_index=True,
        width="content",
    )
    chart_block(_per_class_spec(t, metrics), "per-class-metrics", key=f"{ns}.pcm", downloads=False)


def _per_class_spec(t: Tuning, metrics: Any) -> dict[str, Any]:
    boot = t.state["boot"]
    values = {"precision": metrics.precision, "recall": metrics.recall, "f1": metrics.f1}
    names = ("threshold", *values)
    return charts.metric_intervals_spec(
        t.labels,
        {"threshold": np.clip(t.thr, 0, 1), **values},
        lows=None if boot is None else {m: getattr(boot, f"{m}_low") for m in names},
        highs=None if boot is None else {m: getattr(boot, f"{m}_high") for m in names},
    )


def metrics_downloads(t: Tuning) -> None:
    """The chart's caption, the table's CSV and the chart's PNG/SVG, built from the
    thresholds of the moment of the click (a fragment of its own: a threshold move redraws
    it only when it ended an optimiser's selection, whose intervals the caption names)."""
    boot = t.state["boot"]
    st.caption(
        "Per-class threshold, precision, recall and F1"
        + (
            f"; bars: {boot.confidence:.0%} bootstrap intervals ({boot.n_resamples} resamples, "
            f"seed {boot.seed}) for the thresholds chosen by {code_span(t.state['objective'])}."
            if boot is not None
            else ". Run an optimiser, then “Bootstrap intervals” (section 6) for error bars."
        )
    )
    rank = ranking(t.ns, t.ev)  # once per data set: safe to keep in the buttons

    def csv() -> str:
        table = ts.class_table(current_metrics(t), rank, intervals=t.state["boot"])
        return str(table.to_csv(index=False))

    row = st.container(horizontal=True)
    row.download_button(
        "Metrics CSV",
        csv,
        file_name=f"{t.card.name}-metrics.csv",
        mime="text/csv",
        icon=":material/download:",
        key=f"{t.ns}.csv",
        on_click="ignore",
    )
    with row:
        download_row(
            lambda: _per_class_spec(t, current_metrics(t)), "per-class-metrics", key=f"{t.ns}.pcm"
        )
