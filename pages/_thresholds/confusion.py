"""Section 7 · confusion: a heatmap (multi-class) or lazy tabs (multi-label)."""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from cls_core.views import charts
from pages._thresholds.session import Tuning, chart_block


@st.cache_resource(max_entries=8, show_spinner="Counting labels per text at 201 thresholds…")
def _cardinality(key: str, _evaluation: Any) -> Any:
    return _evaluation.cardinality_curve(np.linspace(0.0, 1.0, 201))


def confusion_section(t: Tuning, metrics: Any) -> None:
    """Section 7 (below its title): heatmap (multi-class) or lazy tabs (multi-label)."""
    ns, labels, ev, thr = t.ns, t.labels, t.ev, t.thr
    if t.multi_class:
        cm = ev.confusion_matrix(thr, reject_threshold=t.reject)
        if len(labels) > 25 and not st.toggle(
            f"Show all {len(labels)} classes", key=f"{ns}.all_cm"
        ):
            cm = cm.top(20)
            st.caption("The 20 classes with the most errors (in their row or column).")
        chart_block(charts.confusion_heatmap_spec(cm), "confusion", key=f"{ns}.cm")
        return
    # lazy tabs: only the open one is computed on a threshold move
    tabs = st.tabs(
        ["2×2 per class", "Co-occurrence", "Label cardinality"],
        key=f"{ns}.cmtab",
        on_change="rerun",
    )
    if tabs[0].open:
        with tabs[0]:
            chart_block(
                charts.multilabel_confusion_grid_spec(
                    labels, metrics.tp, metrics.fp, metrics.fn, metrics.tn
                ),
                "confusion-per-class",
                key=f"{ns}.grid",
            )
    if tabs[1].open:
        with tabs[1]:
            chart_block(
                charts.cooccurrence_heatmap_spec(labels, ev.cooccurrence(thr)),
                "cooccurrence",
                key=f"{ns}.co",
            )
            st.caption(
                "Row i, column j: examples whose truth has label i and whose prediction "
                "has j (the diagonal holds the true positives)."
            )
    if tabs[2].open:
        with tabs[2]:
            uniform = float(thr[0]) if np.all(thr == thr[0]) else None
            chart_block(
                charts.cardinality_spec(_cardinality(ns, ev), threshold=uniform),
                "cardinality",
                key=f"{ns}.card",
            )
            st.caption(
                "Blue: mean predicted labels per example if every class used one global "
                "threshold (dashed: mean true labels). Orange: share of examples with no "
                "label. The red rule marks the current threshold when all classes share one."
            )
