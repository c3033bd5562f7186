"""Section 4 · curves: PR and ROC of the inspected class (and coverage–accuracy)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from cls_core.views import charts
from cls_core.views.formatting import threshold_text
from pages._thresholds.session import (
    Tuning,
    chart_block,
    download_row,
    operating_threshold,
    ranking,
    section_title,
)

#: Points per curve sent to the browser on each threshold move (the operating point is
#: always kept): a half-page-wide chart (~500 px of plot) shows no difference from 1,000,
#: and every move re-sends both curves (issue 14: 145 KB per move at 1,000 points with
#: full floats; 24 KB at 400, 15 KB at 250).
CURVE_POINTS = 250


def _pr(t: Tuning, focus: int) -> dict[str, Any]:
    curve = t.ev.sweep.curves[focus]
    return charts.pr_curve_spec(
        curve, threshold=operating_threshold(t, focus), max_points=CURVE_POINTS
    )


def _roc(t: Tuning, focus: int) -> dict[str, Any]:
    curve = t.ev.sweep.curves[focus]
    return charts.roc_curve_spec(
        curve, threshold=operating_threshold(t, focus), max_points=CURVE_POINTS
    )


def _coverage(t: Tuning) -> dict[str, Any]:
    return charts.coverage_accuracy_spec(t.ev.coverage_curve, reject_threshold=t.reject or 0.0)


def curves_section(t: Tuning, focus: int) -> None:
    """Section 4: title, caption, PR and ROC curves of the inspected class.

    Their download buttons are :func:`curve_downloads` and the multi-class coverage chart
    :func:`coverage_chart`, drawn by fragments that a threshold move does not rerun.
    """
    labels, ns, at = t.labels, t.ns, operating_threshold(t, focus)
    section_title(f"4 · Curves: {labels[focus]}")
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
    c1, c2 = st.columns(2)
    with c1:
        chart_block(_pr(t, focus), f"pr-{labels[focus]}", key=f"{ns}.pr", downloads=False)
    with c2:
        chart_block(_roc(t, focus), f"roc-{labels[focus]}", key=f"{ns}.roc", downloads=False)


def curve_downloads(t: Tuning, focus: int) -> None:
    """PNG/SVG of the PR and ROC curves, built from the thresholds of the moment of the click."""
    c1, c2 = st.columns(2)
    label = t.labels[focus]
    with c1:
        download_row(lambda: _pr(t, focus), f"pr-{label}", key=f"{t.ns}.pr")
    with c2:
        download_row(lambda: _roc(t, focus), f"roc-{label}", key=f"{t.ns}.roc")


def coverage_chart(t: Tuning) -> None:
    """Multi-class: coverage and accuracy against the reject threshold (moves with it only)."""
    chart_block(_coverage(t), "coverage-accuracy", key=f"{t.ns}.cov", downloads=False)


def coverage_downloads(t: Tuning) -> None:
    download_row(lambda: _coverage(t), "coverage-accuracy", key=f"{t.ns}.cov")
