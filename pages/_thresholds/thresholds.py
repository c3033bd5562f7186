"""Section 3 · thresholds: the editor, "Set every class to", the inspected class's slider,
the reject slider (multi-class), Reset, and the headline metric tiles.

Each part is drawn by its own fragment of ``pages/thresholds.py`` (editor, set-all, class
picker, tiles). The callbacks change the session state and rerun only the fragments that
show thresholds (:func:`pages._thresholds.session.rerun_after_move`): a slider move does
not redraw the slider, the class picker or anything that does not depend on thresholds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from cls_core.evaluation import tuning_session as ts
from cls_core.views.formatting import THRESHOLD_FORMAT
from pages._thresholds import session
from pages._thresholds.session import Tuning, mark_changed


def _on_editor(t: Tuning, key: str) -> None:
    state = t.state
    for row, edits in st.session_state[key].get("edited_rows", {}).items():
        i = int(row)
        if edits.get("off") is True:
            state["thr"][i] = np.inf  # switched off: never fires
        elif "threshold" in edits and edits["threshold"] is not None:
            state["thr"][i] = float(edits["threshold"])
        elif edits.get("off") is False and state["thr"][i] == np.inf:
            state["thr"][i] = 1.0  # back on, at the top: move it from there
    mark_changed(state)
    session.rerun_everything_but_calibration(t)  # a new editor and slider (new "ver")


def _on_slider(t: Tuning, key: str, index: int) -> None:
    state = t.state
    previous = state["objective"]
    state["thr"][index] = float(st.session_state[key])
    mark_changed(state)
    state["ver"] -= 1  # keep the slider's and the editor's identity
    session.rerun_after_move(t, previous)  # not the slider itself: it shows its value


def _on_reject(t: Tuning, key: str) -> None:
    state = t.state
    previous = state["objective"]
    state["reject"] = float(st.session_state[key])
    state["objective"], state["boot"] = "manual", None
    session.rerun_after_move(t, previous, reject=True)


def _on_focus(t: Tuning) -> None:
    """Another class inspected: its slider, its curves (and cost curve, open examples)."""
    keys = [session.INSPECT, session.CURVES, session.CURVE_DOWNLOADS]
    if st.session_state.get(f"{t.ns}.kind") == "cost":
        keys.append(session.OPTIMISE)
    if st.session_state.get(f"{t.ns}.exview") is not None:
        keys.append(session.EXAMPLES)
    st.rerun(keys)


def _reset(t: Tuning) -> None:
    card = t.card
    t.state["thr"] = ts.initial_thresholds(
        t.evs, card_labels=card.labels, card_thresholds=card.thresholds
    )
    t.state["reject"] = ts.initial_reject_threshold(
        t.evs, card_labels=card.labels, card_reject=card.reject_threshold
    )
    t.state["reject_widget_reset"] = True
    mark_changed(t.state)
    session.rerun_everything_but_calibration(t)


def _set_all(t: Tuning, key: str) -> None:
    t.state["thr"][:] = float(st.session_state[key])
    mark_changed(t.state)
    session.rerun_everything_but_calibration(t)


def threshold_editor(t: Tuning) -> None:
    """The per-class threshold editor (and the list of switched-off classes)."""
    state, ns, ev, labels = t.state, t.ns, t.ev, t.labels
    # a slider move keeps this key (the editor shows the new data in place; a new key
    # rebuilt the whole grid in the browser, ~300 ms a move); an edit, an optimiser
    # run, Reset or an import change "ver" and so start a fresh editor
    editor_key = f"{ns}.editor.{state['ver']}"
    off = t.thr == np.inf
    st.data_editor(
        pd.DataFrame(
            {
                "label": labels,
                "threshold": np.where(off, np.nan, t.thr),
                "off": off,
                "support": ev.support,
            }
        ),
        key=editor_key,
        on_change=_on_editor,
        args=(t, editor_key),
        disabled=["label", "support"],
        hide_index=True,
        width="stretch",
        height=320,
        column_config={
            "threshold": st.column_config.NumberColumn(
                min_value=0.0, max_value=1.0, format=THRESHOLD_FORMAT
            ),
            "off": st.column_config.CheckboxColumn(
                "off",
                help="Switch the class off: it never fires (thresholds.json writes its "
                "threshold as null and lists it under switched_off).",
            ),
        },
    )
    if off.any():
        st.caption(
            f"Switched off (never fire): {', '.join(labels[i] for i in np.flatnonzero(off)[:10])}"
            + ("…" if off.sum() > 10 else "")
        )


def set_all(t: Tuning) -> None:
    """ "Set every class to" and its button."""
    ns = t.ns
    c1, c2 = st.columns([1, 1], vertical_alignment="bottom")
    value_key = f"{ns}.all"
    c1.number_input(
        "Set every class to", 0.0, 1.0, 0.0 if t.multi_class else 0.5, 0.01, key=value_key
    )
    c2.button("Apply to all", on_click=_set_all, args=(t, value_key), key=f"{ns}.allbtn")


def class_controls(t: Tuning) -> int:
    """The class picker, its threshold slider, the reject slider and Reset.

    Returns the index of the inspected class.
    """
    state, ns, ev, labels = t.state, t.ns, t.ev, t.labels
    focus = int(
        st.selectbox(
            "Inspect class",
            [int(i) for i in np.argsort(-ev.support, kind="stable")],
            format_func=lambda i: f"{labels[i]} ({int(ev.support[i])} positives)",
            key=f"{ns}.focus",
            on_change=_on_focus,
            args=(t,),
        )
    )
    slider_key = f"{ns}.one.{state['ver']}.{focus}"
    st.slider(
        f"Threshold for {labels[focus]}",
        0.0,
        1.0,
        float(np.clip(t.thr[focus], 0.0, 1.0)),
        0.001,
        format=THRESHOLD_FORMAT,
        key=slider_key,
        on_change=_on_slider,
        args=(t, slider_key, focus),
    )
    if t.multi_class:
        reject_key = f"{ns}.reject"
        if state.pop("reject_widget_reset", False) or reject_key not in st.session_state:
            st.session_state[reject_key] = float(np.clip(state["reject"], 0.0, 1.0))
        st.slider(
            "Reject threshold (abstain when the top score is below it; 0 = never)",
            0.0,
            1.0,
            step=0.001,
            format=THRESHOLD_FORMAT,
            key=reject_key,
            on_change=_on_reject,
            args=(t, reject_key),
        )
    start = (
        "the model card's thresholds"
        if not t.multi_class and t.evs.source != "scores" and tuple(labels) == t.card.labels
        else ("0 and the card's reject threshold" if t.multi_class else "0.5")
    )
    st.button(
        "Reset",
        icon=":material/restart_alt:",
        on_click=_reset,
        args=(t,),
        key=f"{ns}.reset",
        help=f"Back to the starting thresholds: {start}.",
    )
    return focus


def headline_metrics(t: Tuning, metrics: Any) -> None:
    """The four metric tiles under the threshold controls.

    Labels and values are short enough for a quarter of the main column at 1024 px
    (about 130 px: some 20 characters of label, 17 beside a help icon, 6 of value); what
    does not fit goes to the tile's help or the caption under the tiles.
    """
    # one row container, not four columns: 4 elements fewer to send on every threshold move
    row = st.container(horizontal=True)
    if t.multi_class:
        row.metric(
            "Accuracy",
            f"{metrics.accuracy:.3f}",
            help="Over every example: abstain = wrong. “Answered accuracy” counts only the "
            "examples the model answered.",
        )
        row.metric(
            "Coverage",
            f"{metrics.coverage:.3f}",
            help="Share of examples answered (not abstained).",
        )
        # no help icon on the longer labels: it takes 20 px of a 130 px tile at 1024 px
        row.metric("Answered accuracy", f"{metrics.selective_accuracy:.3f}")
    else:
        row.metric("Micro F1", f"{metrics.micro.f1:.3f}")
        row.metric("Samples F1", f"{metrics.samples.f1:.3f}")
        row.metric("Labels per example", f"{metrics.mean_predicted_labels:.2f}")
    row.metric("Macro F1", f"{metrics.macro.f1:.3f}")
    if not t.multi_class:
        st.caption(
            f"Labels per example: {metrics.mean_predicted_labels:.2f} predicted, "
            f"{metrics.mean_true_labels:.2f} true; {metrics.no_label_share:.1%} of examples "
            "get no label."
        )
