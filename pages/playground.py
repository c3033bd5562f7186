"""Playground: type a text, see scores, labels, thresholds, word importance and JSON."""

from __future__ import annotations

import numpy as np
import streamlit as st

from cls_core.errors import ModelLoadError
from cls_core.modelio.registry import MAX_TEXT_CHARS, ModelCard
from cls_core.views.charts import score_bar_spec
from cls_core.views.formatting import escape_markdown, shorten
from cls_core.views.score_view import (
    VIEW_NAMES,
    VIEWS,
    ScoreView,
    binary_explanation,
    decide_binary_view,
    decide_view,
    view_scores,
)
from pages import _decision_ui as decision_ui
from pages import _own_models_ui as own_models_ui
from pages import _playground_ui as ui
from pages import _shared

_shared.ensure_router()
card = _shared.require_card()

st.title("Playground")
st.caption(
    f"{escape_markdown(card.title)} — "
    + (
        f"binary: one probability for {escape_markdown(card.labels[1])}, shown as two "
        f"classes ({escape_markdown(card.labels[0])} / {escape_markdown(card.labels[1])}) "
        "and decided by one threshold."
        if card.binary
        else f"{card.task}, {card.activation}, {len(card.labels)} labels."
    )
)
own_models_ui.recovered_logits_note(card)

if card.examples:
    ui.forget_stale_preset(card.name)  # an edited text is no longer the chosen example
    st.selectbox(
        "Try an example",
        [None, *card.examples],
        key=f"preset_{card.name}",
        format_func=lambda t: "Choose an example text…" if t is None else shorten(t, 90),
        on_change=ui.apply_preset,
        args=(card.name,),
    )
problems = ui.link_warnings(card, text_limit=ui.TEXT_BOX_LIMIT)
if problems:
    st.warning(
        "Parts of this link were not applied:\n" + "\n".join(f"- {p}" for p in problems),
        icon=":material/link_off:",
    )
st.text_area(
    "Text to classify",
    key="text",
    height=110,
    max_chars=ui.TEXT_BOX_LIMIT,
    bind="query-params",
    placeholder="Type a text, then press Ctrl+Enter or “Score”.",
)
st.button("Score", type="primary", icon=":material/play_arrow:")
text = st.session_state.get("text") or ""
_shared.remember_playground_text(text)  # the Signature inspector starts from it

try:
    logits, _, truncated = _shared.predict_texts(card, [text])
except ModelLoadError as exc:
    st.error(f"This model cannot be used right now: {escape_markdown(str(exc))}")
    st.stop()
if truncated:
    st.warning(
        f"The text has {len(text):,} characters; the model reads only the first "
        f"{MAX_TEXT_CHARS:,}. Everything below is for that part.",
        icon=":material/content_cut:",
    )
if not text.strip():
    st.info(
        "Type a text or pick an example. The empty text still gets scores below: they show "
        "what the model says when it has no evidence (its prior).",
        icon=":material/edit:",
    )

# an export's thresholds come from the model itself (decision_config()), not from its card
card = decision_ui.baked_decision_panel(card, text)


@st.fragment
def analysis(card: ModelCard, text: str, logits: np.ndarray) -> None:
    """Everything that depends on the view and thresholds: reruns alone, never re-infers."""
    # the view picker gets a row of its own: in a third of a 1024 px page its options
    # ("the model's own activation (softmax)") were cut off
    c1 = st.container(width=420)
    c2, c3 = st.columns(2)
    view_kind = c1.selectbox(
        "View scores as",
        # binary: the model's own view (sigmoid p as 1 − p and p) or its logit; a softmax or
        # sigmoid of the two columns' logits [0, z] would show nothing the model computes
        ("model", "none") if card.binary else VIEWS,
        key="view",
        format_func=lambda v: (
            (
                f"{VIEW_NAMES[v]} (sigmoid p, shown as 1 − p and p)"
                if card.binary
                else f"{VIEW_NAMES[v]} ({card.activation})"
            )
            if v == "model"
            else VIEW_NAMES[v]
        ),
    )
    temperature = c2.slider("Temperature", 0.1, 5.0, 1.0, 0.1, key="temperature")
    order = (
        c3.segmented_control("Order", ["score", "class-id"], default="score", key="order")
        or "score"
    )
    view = view_scores(
        logits, model_activation=card.activation, view=view_kind, temperature=temperature
    )
    # Not a fragment of its own. Nesting one here (a threshold move then does not re-send
    # the view picker, temperature and order) was measured on 2026-12-02 (load 3-4): a move
    # 197 vs 212 ms in Chromium, 26 vs 29 ms of server CPU, 16.6 vs 17.8 KiB; but every full
    # rerun cost 3-6 ms more server CPU (39-42 vs 36 ms), which is what 50 sessions lack.
    decision_section(card, text, logits, view, temperature, order)


def decision_section(
    card: ModelCard,
    text: str,
    logits: np.ndarray,
    view: ScoreView,
    temperature: float,
    order: str,
) -> None:
    """Thresholds, the decision, the score chart and the tabs: what a threshold move redraws."""
    binary = card.binary and view.rule == "argmax"  # one threshold on the positive score
    if binary:
        thresholds, reject = None, None
        decision = decide_binary_view(view, card.labels, ui.binary_threshold_control(card))
    else:
        thresholds, reject = ui.threshold_controls(card, view.rule)
        thresholds = decision_ui.model_rule_thresholds(card, view.rule, thresholds)
        decision = decide_view(view, card.labels, thresholds=thresholds, reject_threshold=reject)
    prior = not text.strip()  # no evidence: the scores are the model's prior, not a prediction
    if prior:
        st.markdown("### No text yet: the model's prior")
        st.caption(escape_markdown(ui.prior_sentence(card, view)))
    else:
        st.markdown(f"### {escape_markdown(decision.sentence())}")
    st.caption(
        escape_markdown(
            binary_explanation(card.labels, temperature) if binary else view.explanation
        )
    )

    n = len(card.labels)
    top = None
    if n > 15:
        show_all = st.toggle(f"Show all {n} classes", key="show_all")
        top = None if show_all else 10
    _shared.show_chart(
        score_bar_spec(
            card.labels,
            view.values[0],
            fired=None if prior else decision.fired,
            thresholds=decision.thresholds,
            reject_threshold=decision.reject_threshold,
            sort=order,
            top_k=top,
            logits=logits[0],
            value_title=(
                "logit"
                if view.rule == "none"
                else f"score ({card.labels[1]} = p, {card.labels[0]} = 1 − p)"
                if binary
                else f"{view.activation} score"
            ),
            domain=None if view.rule == "none" else (0.0, 1.0),
            zero_label="0 = sigmoid score 0.5" if card.activation == "sigmoid" else "0",
        ),
        width="stretch",
    )
    # Only the open tab is computed: word importance runs the model once per word.
    tabs = st.tabs(
        ["Why: decision trace", "Word importance", "Compare", "Another model", "JSON"],
        key="tab",
        on_change="rerun",
        bind="query-params",
    )
    renderers = (
        lambda: ui.trace_tab(card, logits, view, decision, temperature),
        lambda: ui.word_importance_section(card, text, view, temperature),
        lambda: ui.compare_tab(card, view, decision, thresholds, reject, temperature),
        lambda: ui.model_comparison_section(card, text),
        lambda: ui.json_tab(card, text, logits, view, decision, temperature),
    )
    for tab, render in zip(tabs, renderers, strict=True):
        if tab.open:
            with tab:
                render()


analysis(card, text, logits)
