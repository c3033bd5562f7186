"""Section 8 · calibration: reliability before/after a fit, ECE and MCE."""

from __future__ import annotations

from typing import Any

import streamlit as st

from cls_core.evaluation.calibration import compare_calibration, reliability_for
from cls_core.views import charts
from pages._thresholds.session import Tuning, chart_block


@st.cache_resource(max_entries=16, show_spinner="Fitting the calibration…")
def _calibration(key: str, n_bins: int, _evs: Any) -> Any:
    ev = _evs.evaluation
    truth = ev.truth_ids if ev.task == "multi-class" else ev.truth
    return compare_calibration(
        ev.scores, truth, kind=_evs.activation, logits=_evs.logits, n_bins=n_bins
    )


@st.cache_resource(max_entries=32, show_spinner=False)
def _reliability(key: str, mode: Any, n_bins: int, _evs: Any) -> tuple[Any, Any, Any]:
    """The calibration fit and the before/after reliability curves for one view."""
    ev = _evs.evaluation
    comp = _calibration(key, n_bins, _evs)
    truth = ev.truth_ids if ev.task == "multi-class" else ev.truth
    before = reliability_for(ev.scores, truth, mode=mode, n_bins=n_bins)
    after = reliability_for(comp.calibrated_scores, truth, mode=mode, n_bins=n_bins)
    return comp, before, after


_MODE_NAMES = {
    "top-label": "the top class (confidence vs accuracy)",
    "pooled": "all classes pooled",
}


def calibration_section(t: Tuning) -> None:
    """Section 8 (below its title): reliability before/after a fit, ECE and MCE."""
    ns, labels = t.ns, t.labels
    c1, c2 = st.columns([3, 1])
    modes = (["top-label"] if t.multi_class else []) + ["pooled", *range(len(labels))]
    mode = c1.selectbox(
        "Reliability of",
        modes,
        key=f"{ns}.calmode",
        format_func=lambda m: _MODE_NAMES[m] if isinstance(m, str) else f"class {labels[m]}",
    )
    n_bins = int(c2.number_input("Bins", 5, 50, 15, key=f"{ns}.bins"))
    comp, before, after = _reliability(ns, mode, n_bins, t.evs)
    method = (
        f"temperature scaling (T = {comp.fit.temperature:.3f})"
        if comp.method == "temperature"
        else "per-class Platt scaling"
    )
    chart_block(
        charts.reliability_spec({"before": before, f"after {comp.method}": after}),
        "reliability",
        key=f"{ns}.rel",
    )
    cols = st.columns(4)
    cols[0].metric("ECE before", f"{before.ece:.4f}")
    cols[1].metric(
        "ECE after", f"{after.ece:.4f}", f"{after.ece - before.ece:+.4f}", delta_color="inverse"
    )
    cols[2].metric("MCE before", f"{before.mce:.4f}")
    cols[3].metric(
        "MCE after", f"{after.mce:.4f}", f"{after.mce - before.mce:+.4f}", delta_color="inverse"
    )
    st.caption(
        f"Fitted on this data with {method}"
        + ("" if t.evs.logits is not None else ", from logits recovered from the probabilities")
        + ". A well-calibrated model follows the dashed diagonal. Fitting and judging on the "
        "same rows flatters the “after” curve: fit on dev, check on test."
    )
