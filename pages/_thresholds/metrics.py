"""Section 5 · metrics at the current thresholds: per-class table, averages, CSV, chart."""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from cls_core.evaluation import tuning_session as ts
from cls_core.views import charts
from cls_core.views.formatting import THRESHOLD_FORMAT, code_span
from pages._thresholds.session import Tuning, chart_block, ranking


def metrics_section(t: Tuning, metrics: Any) -> None:
    """Section 5: per-class table, averages, CSV, and the per-class chart with error bars."""
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
    c1, c2 = st.columns([3, 2])
    c1.dataframe(metrics.averages_frame(), hide_index=True, width="stretch")
    c2.download_button(
        "Metrics CSV",
        table.to_csv(index=False),
        file_name=f"{t.card.name}-metrics.csv",
        mime="text/csv",
        icon=":material/download:",
        key=f"{ns}.csv",
        on_click="ignore",
    )
    values = {"precision": metrics.precision, "recall": metrics.recall, "f1": metrics.f1}
    names = ("threshold", *values)
    chart_block(
        charts.metric_intervals_spec(
            t.labels,
            {"threshold": np.clip(t.thr, 0, 1), **values},
            lows=None if boot is None else {m: getattr(boot, f"{m}_low") for m in names},
            highs=None if boot is None else {m: getattr(boot, f"{m}_high") for m in names},
        ),
        "per-class-metrics",
        key=f"{ns}.pcm",
    )
    st.caption(
        "Per-class threshold, precision, recall and F1"
        + (
            f"; bars: {boot.confidence:.0%} bootstrap intervals ({boot.n_resamples} resamples, "
            f"seed {boot.seed}) for the thresholds chosen by {code_span(t.state['objective'])}."
            if boot is not None
            else ". Run an optimiser, then “Bootstrap intervals” (section 6) for error bars."
        )
    )
