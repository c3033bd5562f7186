"""Sections 3+ for a binary model: ONE threshold on the positive class's score.

A binary model (one sigmoid output shown as ``(negative, positive)``) decides with one
threshold ``t``: positive when ``p >= t``. Its data (two classes, one truth label per row)
is tuned here instead of with the per-class multi-class sections: the slider, the metrics
of the positive class and accuracy, the metrics-vs-threshold chart, PR and ROC curves, the
2x2 table, the optimisers of the positive class (with bootstrap intervals), and the
``task: "binary"`` thresholds.json, its import, the Playground link and the SavedModel
export. The computations are :mod:`cls_core.evaluation.binary`'s.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st

from cls_core.evaluation.binary import (
    BinaryEvaluation,
    binary_thresholds_file,
    build_binary_evaluation,
    tune_binary,
)
from cls_core.evaluation.thresholds import read_thresholds_json
from cls_core.modelio.registry import ModelCard
from cls_core.views import charts
from cls_core.views.formatting import THRESHOLD_FORMAT, escape_markdown
from pages._decision_ui import savedmodel_export_section
from pages._shared import show_chart
from pages._thresholds.export import download_thresholds
from pages._thresholds.session import section_title

#: Objectives offered for the positive class (the binary rule never abstains).
OBJECTIVES = ("f1", "precision>=0.9", "recall>=0.9", "fbeta:0.5", "fbeta:2", "cost:fp=1,fn=5")


@dataclass(frozen=True, kw_only=True)
class BinaryTuning:
    """What the SavedModel export section needs (``card``, ``ns``, ``state``, ``evs``)."""

    card: ModelCard
    evs: Any
    ns: str
    state: dict[str, Any]


def offer_binary(card: ModelCard, evs: Any) -> bool:
    """Whether the data is tuned with the binary rule (a toggle for two-class data).

    On by default for a binary model's own labels; any other two-class multi-class data
    may be tuned the same way (positive = the second label).
    """
    labels = tuple(evs.labels)
    if evs.task != "multi-class" or len(labels) != 2:
        return False
    return bool(
        st.toggle(
            f"Binary: one threshold on {escape_markdown(labels[1])}'s score "
            f"({escape_markdown(labels[1])} when score ≥ t, otherwise "
            f"{escape_markdown(labels[0])})",
            value=card.binary and labels == card.labels,
            key=f"tune_binary.{card.name}.{evs.sha256[:16]}",
            help="A binary model outputs one probability p; thresholds on two softmax-like "
            "classes would be the arg-max rule, which cannot say positive below p = 0.5.",
        )
    )


def _binary_evaluation(ns: str, evs: Any) -> BinaryEvaluation:
    """The binary view of ``evs`` (sorted once per data set: kept beside its evaluation).

    Kept in the session next to the very Evaluation object it was built from, so another
    truth column or score reading of the same file (same SHA-256) builds a new one.
    """
    ev = evs.evaluation
    cached = st.session_state.get(f"{ns}.bev")
    if cached is not None and cached[0] is ev:
        return cached[1]
    bev = build_binary_evaluation(ev.scores, ev.truth_ids, labels=ev.labels)
    st.session_state[f"{ns}.bev"] = (ev, bev)
    return bev


def _session(card: ModelCard, evs: Any) -> BinaryTuning:
    ns = f"tuneb.{card.name}.{evs.sha256[:16]}"
    if ns not in st.session_state:
        start = card.binary_threshold if tuple(evs.labels) == card.labels else 0.5
        st.session_state[ns] = {"t": float(start), "ver": 0, "objective": "manual", "boot": None}
    return BinaryTuning(card=card, evs=evs, ns=ns, state=st.session_state[ns])


def _set(state: dict[str, Any], value: float, objective: str = "manual", boot: Any = None) -> None:
    state["t"] = float(min(max(value, 0.0), 1.0))
    state["objective"] = objective
    state["boot"] = boot
    state["ver"] += 1  # a new slider identity: it starts from the new value


def _on_slider(state: dict[str, Any], key: str) -> None:
    state["t"] = float(st.session_state[key])
    state["objective"], state["boot"] = "manual", None


def _optimise(
    state: dict[str, Any], bev: BinaryEvaluation, objective: str, min_tp: int, boot: bool
) -> None:
    try:
        result = tune_binary(bev, objective, min_tp=min_tp, bootstrap=200 if boot else 0)
    except ValueError as exc:
        state["message"] = ("error", str(exc))
        return
    _set(state, result.threshold, str(result.objective), result.bootstrap)
    state["result"] = result
    state["message"] = None


def _on_import(state: dict[str, Any], key: str, labels: tuple[str, ...], model: Any) -> None:
    uploaded = st.session_state.get(key)
    if uploaded is None:
        return
    try:
        doc = read_thresholds_json(uploaded.getvalue(), labels=labels, model=model, task="binary")
    except ValueError as exc:
        state["message"] = ("error", f"Cannot import this file: {exc}")
        return
    _set(state, doc.thresholds[0], doc.objective)
    state["message"] = ("ok", f"Imported {uploaded.name}: t = {doc.thresholds[0]:.6g}.")


@st.fragment
def binary_analysis(card: ModelCard, evs: Any) -> None:
    """Sections 3–7 for the binary rule; reruns alone when the threshold moves."""
    tuning = _session(card, evs)
    state, ns = tuning.state, tuning.ns
    bev = _binary_evaluation(ns, evs)
    negative, positive = bev.labels

    section_title("3 · Threshold")
    st.caption(
        f"Binary rule: **{escape_markdown(positive)} when its score p ≥ t**, otherwise "
        f"{escape_markdown(negative)}. One threshold, no abstaining; raising t trades recall "
        "of the positive class for precision."
    )
    key = f"{ns}.t.{state['ver']}"
    t = float(
        st.slider(
            f"Threshold t for {positive}",
            0.0,
            1.0,
            float(state["t"]),
            0.001,
            format=THRESHOLD_FORMAT,
            key=key,
            on_change=_on_slider,
            args=(state, key),
        )
    )
    if state["objective"] != "manual":
        st.caption(f"t = {t!r} (chosen by {escape_markdown(state['objective'])}).")
    m = bev.metrics_at(t)
    cols = st.columns(4)
    cols[0].metric(f"Precision ({positive})", f"{m.precision:.3f}")
    cols[1].metric(f"Recall ({positive})", f"{m.recall:.3f}")
    cols[2].metric(f"F1 ({positive})", f"{m.f1:.3f}")
    cols[3].metric("Accuracy", f"{m.accuracy:.3f}", help=f"Macro F1 {m.macro_f1:.3f}")

    section_title("4 · Curves")
    show_chart(
        charts.binary_threshold_spec(
            bev.threshold_sweep(max_points=400), threshold=t, positive=positive
        ),
        width="stretch",
    )
    c1, c2 = st.columns(2)
    with c1:
        show_chart(charts.pr_curve_spec(bev.curve, threshold=t, max_points=400), width="stretch")
    with c2:
        show_chart(charts.roc_curve_spec(bev.curve, threshold=t, max_points=400), width="stretch")

    section_title("5 · Metrics and confusion")
    c1, c2 = st.columns([3, 2])
    c1.dataframe(m.per_class_frame(), hide_index=True, width="stretch")
    c2.dataframe(m.confusion_frame(), width="stretch")
    st.caption(
        f"{m.n_examples:,} examples: {m.tp + m.fn:,} truly {escape_markdown(positive)}, "
        f"{m.tn + m.fp:,} truly {escape_markdown(negative)}; "
        f"{m.positive_share:.1%} said {escape_markdown(positive)} at this threshold."
    )

    section_title("6 · Optimise")
    c1, c2, c3, c4 = st.columns([3, 2, 2, 2], vertical_alignment="bottom")
    objective = c1.selectbox(
        "Objective (of the positive class)",
        OBJECTIVES,
        key=f"{ns}.objective",
        accept_new_options=True,
        help="f1, fbeta:B, precision>=P, recall>=R or cost:fp=A,fn=B — type your own.",
    )
    min_tp = int(c2.number_input("Minimum support (TP)", 0, 1_000_000, 5, key=f"{ns}.min_tp"))
    boot = c3.checkbox("Bootstrap (200)", key=f"{ns}.boot")
    c4.button(
        "Optimise",
        type="primary",
        key=f"{ns}.go",
        on_click=_optimise,
        args=(state, bev, str(objective or "f1"), min_tp, boot),
    )
    result = state.get("result")
    if result is not None and str(result.objective) == state["objective"]:
        verdict = "" if result.choice.feasible else " (target not reached: the closest point)"
        st.markdown(
            f"**{escape_markdown(str(result.objective))}** → t = {result.threshold:.6g}{verdict}"
        )
        for warning in result.warnings:
            st.warning(escape_markdown(warning))
        if state["boot"] is not None:
            b = state["boot"]
            st.caption(
                f"95% bootstrap intervals ({b.n_resamples} resamples): threshold "
                f"[{b.threshold_low[0]:.3f}, {b.threshold_high[0]:.3f}], precision "
                f"[{b.precision_low[0]:.3f}, {b.precision_high[0]:.3f}], recall "
                f"[{b.recall_low[0]:.3f}, {b.recall_high[0]:.3f}], F1 "
                f"[{b.f1_low[0]:.3f}, {b.f1_high[0]:.3f}]."
            )

    section_title("7 · Export and import")
    own = tuple(evs.labels) == card.labels
    doc = binary_thresholds_file(
        bev,
        t,
        objective=state["objective"],
        data_sha256=evs.sha256,
        model=evs.model,
        bootstrap=state["boot"],
    )
    doc_text = json.dumps(doc.to_dict(), indent=2, allow_nan=False) + "\n"
    c1, c2 = st.columns(2)
    with c1:
        download_thresholds(ns, doc_text)
    with c2:
        import_key = f"{ns}.import"
        st.file_uploader(
            "Import a binary thresholds.json",
            type=["json"],
            key=import_key,
            on_change=_on_import,
            args=(state, import_key, bev.labels, evs.model),
        )
    message = state.get("message")
    if message is not None:
        (st.success if message[0] == "ok" else st.error)(escape_markdown(message[1]))
    if own and card.binary:
        st.page_link(
            "pages/playground.py",
            label="Use this threshold in the Playground",
            icon=":material/arrow_forward:",
            query_params={
                f"bt.{card.name}": "0" if t == 0 else repr(float(np.clip(t, 0.0, 1.0))),
                "thresholds_from": f"Threshold tuning on {evs.name}",
            },
        )
    if own:
        savedmodel_export_section(tuning, doc_text)
