"""Section 4 · curves: PR and ROC of the inspected class (and coverage–accuracy)."""

from __future__ import annotations

import streamlit as st

from cls_core.views import charts
from cls_core.views.formatting import threshold_text
from pages._thresholds.session import Tuning, chart_block, operating_threshold, ranking

#: Points per curve sent to the browser on each threshold move (the operating point is
#: always kept): a half-page-wide chart shows no difference from 1,000, and every move
#: re-sends both curves (issue 14: 145 KB per move at 1,000 points with full floats).
CURVE_POINTS = 400


def curves_section(t: Tuning, focus: int) -> None:
    """Section 4: PR and ROC curves of the inspected class (and coverage for multi-class)."""
    labels, ns, at = t.labels, t.ns, operating_threshold(t, focus)
    st.subheader(f"4 · Curves: {labels[focus]}")
    rank = ranking(ns, t.ev)
    st.caption(
        f"AP {rank.average_precision[focus]:.3f} · ROC-AUC {rank.roc_auc[focus]:.3f} "
        f"(all classes: AP micro {rank.micro_average_precision:.3f}, macro "
        f"{rank.macro_average_precision:.3f}; ROC-AUC micro {rank.micro_roc_auc:.3f}, "
        f"macro {rank.macro_roc_auc:.3f}). The red diamond is the current threshold "
        f"({threshold_text(at)})."
        + (
            " Multi-class curves follow the decision rule: a class is predicted only where it "
            "is the top class, so its recall can stop short of 1. AP/ROC-AUC rank all examples."
            if t.multi_class
            else ""
        )
    )
    curve = t.ev.sweep.curves[focus]
    c1, c2 = st.columns(2)
    with c1:
        chart_block(
            charts.pr_curve_spec(curve, threshold=at, max_points=CURVE_POINTS),
            f"pr-{labels[focus]}",
            key=f"{ns}.pr",
        )
    with c2:
        chart_block(
            charts.roc_curve_spec(curve, threshold=at, max_points=CURVE_POINTS),
            f"roc-{labels[focus]}",
            key=f"{ns}.roc",
        )
    if t.multi_class:
        chart_block(
            charts.coverage_accuracy_spec(t.ev.coverage_curve, reject_threshold=t.reject or 0.0),
            "coverage-accuracy",
            key=f"{ns}.cov",
        )
