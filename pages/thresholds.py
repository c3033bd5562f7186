"""Threshold tuning: evaluation data in, per-class curves, optimisers with intervals, calibration, exports.

The page is a list of sections; each section's widgets and drawing live in a module of
``pages/_thresholds/`` named for it, the computations in ``cls_core``. Everything after the
data is drawn by keyed fragments (``session.EDITOR`` …): a widget reruns its own fragment,
and a threshold move reruns only the fragments that show thresholds (editor, tiles,
curves, metrics, confusion, export; the optimiser and examples when they show one), never
the data, the section titles, the class picker or the calibration.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from cls_core.errors import ModelLoadError
from cls_core.evaluation.evaldata import EvalDataError
from cls_core.evaluation.thresholds import few_positive_warnings
from cls_core.views.formatting import code_span, count_noun, escape_markdown
from pages import _shared
from pages._thresholds import (
    binary,
    calibration,
    confusion,
    curves,
    data,
    examples,
    export,
    metrics,
    optimise,
    session,
    thresholds,
)

_shared.ensure_router()
card = _shared.require_card()
session.section_title("Threshold tuning", level="title")
st.caption(
    f"{code_span(card.name)} · binary: one threshold t, "
    f"{escape_markdown(card.labels[1])} when its score ≥ t. Choose it on labelled data, see "
    "what it costs and how sure you can be, and export it."
    if card.binary
    else f"{code_span(card.name)} · {card.task} · {len(card.labels)} labels. Choose per-class "
    "thresholds on labelled data, see what they cost and how sure you can be, and export "
    "them. A class fires when its score ≥ its threshold."
)

# ------------------------------------------------------------------ 1 · evaluation data
session.section_title("1 · Evaluation data")
source = data.source_choice(card)
drop_unknown = st.toggle(
    "Drop rows whose truth labels are unknown (otherwise: an error listing them)",
    key="tune_drop_unknown",
)
try:
    if source.startswith("bundled:") or source == "demo":
        eval_set = data.bundled_eval_set(card, source, drop_unknown=drop_unknown)
    else:
        eval_set = data.uploaded_eval_set(card, source, drop_unknown=drop_unknown)
except EvalDataError as exc:
    hint = "turn on “Drop rows whose truth labels are unknown” above"
    st.error(escape_markdown(str(exc).replace("use --drop-unknown", hint)), icon=":material/error:")
    st.stop()
except ModelLoadError as exc:
    st.error(f"This model cannot be used right now: {escape_markdown(str(exc))}")
    st.stop()

# ------------------------------------------------------------------ 2 · data report
session.section_title("2 · Data report")
st.caption(
    f"{escape_markdown(eval_set.name)} · SHA-256 {code_span(eval_set.sha256[:16])}… · "
    + " · ".join(escape_markdown(n) for n in eval_set.report.notes or ("scored by the model",))
)
data.scores_assumption(eval_set)
data.data_report(eval_set.report)
warnings = few_positive_warnings(eval_set.evaluation.support, eval_set.labels)
if warnings:
    few = count_noun(len(warnings), "class has", "classes have")
    with st.expander(f"⚠ {few} fewer than 10 positives", expanded=False):
        st.markdown("\n".join(f"- {escape_markdown(w)}" for w in warnings))


# ------------------------------------------------------------------ 3+ · analysis (fragments)
# Fragments are called with the arguments of the last full run: each reads the inspected
# class and the thresholds from the session state (``t.state`` is that dict), not from
# arguments, so that a rerun of some of them alone sees the current values.


@st.fragment(key=session.EDITOR)
def editor_fragment(t: session.Tuning) -> None:
    thresholds.threshold_editor(t)


@st.fragment(key=session.SET_ALL)
def set_all_fragment(t: session.Tuning) -> None:
    thresholds.set_all(t)


@st.fragment(key=session.INSPECT)
def inspect_fragment(t: session.Tuning) -> None:
    thresholds.class_controls(t)


@st.fragment(key=session.TILES)
def tiles_fragment(t: session.Tuning) -> None:
    thresholds.headline_metrics(t, session.current_metrics(t))


@st.fragment(key=session.CURVES)
def curves_fragment(t: session.Tuning) -> None:
    curves.curves_section(t, session.focus_of(t))  # 4 · curves (titled by the inspected class)


@st.fragment(key=session.CURVE_DOWNLOADS)
def curve_downloads_fragment(t: session.Tuning) -> None:
    curves.curve_downloads(t, session.focus_of(t))


@st.fragment(key=session.COVERAGE)
def coverage_fragment(t: session.Tuning) -> None:
    curves.coverage_chart(t)


@st.fragment(key=session.COVERAGE_DOWNLOADS)
def coverage_downloads_fragment(t: session.Tuning) -> None:
    curves.coverage_downloads(t)


@st.fragment(key=session.METRICS)
def metrics_fragment(t: session.Tuning) -> None:
    metrics.metrics_section(t, session.current_metrics(t))


@st.fragment(key=session.METRICS_DOWNLOADS)
def metrics_downloads_fragment(t: session.Tuning) -> None:
    metrics.metrics_downloads(t)


@st.fragment(key=session.OPTIMISE)
def optimise_fragment(t: session.Tuning) -> None:
    """Section 6's widgets: an objective change reruns only this."""
    session.rerun_all_if_needed(t)  # an Optimise/Bootstrap click changed what the page shows
    optimise.optimise_section(t, session.focus_of(t))


@st.fragment(key=session.CONFUSION)
def confusion_fragment(t: session.Tuning) -> None:
    confusion.confusion_section(t, session.current_metrics(t))


@st.fragment(key=session.CALIBRATION)
def calibration_fragment(t: session.Tuning) -> None:
    """Section 8: independent of the thresholds; its widgets rerun only this."""
    calibration.calibration_section(t)


@st.fragment(key=session.EXPORT)
def export_fragment(t: session.Tuning) -> None:
    export.json_part(t)


@st.fragment(key=session.IMPORT)
def import_fragment(t: session.Tuning) -> None:
    export.import_part(t)


@st.fragment(key=session.LINK)
def link_fragment(t: session.Tuning) -> None:
    export.link_part(t)


@st.fragment(key=session.SAVEDMODEL)
def savedmodel_fragment(t: session.Tuning) -> None:
    """Section 9's "Export as SavedModel": shows no threshold, so moves leave it alone."""
    export.savedmodel_part(t, session.current_metrics(t))


@st.fragment(key=session.EXAMPLES)
def examples_fragment(t: session.Tuning) -> None:
    examples.examples_section(t, session.focus_of(t))


def analysis(evs: Any) -> None:
    """Everything after the data: titles here, each section's content in its fragment."""
    t = session.tuning_for(card, evs)
    session.section_title("3 · Thresholds")
    st.caption(
        "Edit a threshold in the table, move the slider of the class you inspect, or run an "
        "optimiser (section 6). "
        + (
            "Multi-class rule: the top class is answered when its score ≥ max(its threshold, "
            "the reject threshold); otherwise the model abstains."
            if t.multi_class
            else "Multi-label rule: every class whose score ≥ its threshold fires."
        )
    )
    left, right = st.columns([2, 3])
    with left:
        editor_fragment(t)
        set_all_fragment(t)
    with right:
        inspect_fragment(t)
    tiles_fragment(t)

    curves_fragment(t)  # its title names the inspected class
    curve_downloads_fragment(t)
    if t.multi_class:
        coverage_fragment(t)
        coverage_downloads_fragment(t)

    session.section_title("5 · Metrics at the current thresholds")
    metrics_fragment(t)
    metrics_downloads_fragment(t)

    session.section_title("6 · Optimise")
    optimise_fragment(t)

    session.section_title("7 · Confusion")
    confusion_fragment(t)

    session.section_title("8 · Calibration")
    calibration_fragment(t)

    session.section_title("9 · Export and import")
    c1, c2 = st.columns(2)
    with c1:
        export_fragment(t)
    with c2:
        import_fragment(t)
    link_fragment(t)
    savedmodel_fragment(t)

    session.section_title("10 · Examples, label issues and slices")
    examples_fragment(t)


# A binary model's data: one threshold on the positive class (pages/_thresholds/binary.py).
if binary.offer_binary(card, eval_set):
    binary.binary_analysis(card, eval_set)
else:
    analysis(eval_set)
