"""Streamlit glue for the Playground: thresholds, tabs and side panels.

Everything here renders widgets or reads session state / the URL; the numbers come from
``cls_core`` (views, decisions, occlusion, links, charts).
"""

from __future__ import annotations

import json
from typing import Any, Literal

import numpy as np
import pandas as pd
import streamlit as st

from cls_core.errors import ModelLoadError
from cls_core.modelio.registry import MAX_TEXT_CHARS, ModelCard
from cls_core.scoring.decisions import binary_decision_trace, decision_trace
from cls_core.views.charts import score_bar_spec, score_diff_chart
from cls_core.views.formatting import THRESHOLD_FORMAT, code_span, escape_markdown, shorten
from cls_core.views.score_view import (
    Decision,
    ScoreView,
    decide_binary_view,
    decide_view,
    result_record,
    trace_text,
    view_scores,
)
from pages._decision_ui import model_rule_thresholds, with_model_decision
from pages._shared import model_listing, predict_texts, show_chart

TEXT_BOX_LIMIT = 4 * MAX_TEXT_CHARS


def apply_preset(model_name: str) -> None:
    """Callback: copy the chosen example into the text box."""
    choice = st.session_state.get(f"preset_{model_name}")
    if choice:
        st.session_state["text"] = choice


def forget_stale_preset(model_name: str) -> None:
    """Clear "Try an example" when the text box no longer holds the chosen example.

    Runs before the selectbox is drawn, so after an edit (or a link with another text) the
    picker says "Choose an example text…" instead of naming an example that is not there.
    """
    key = f"preset_{model_name}"
    choice = st.session_state.get(key)
    if choice is not None and choice != st.session_state.get("text"):
        st.session_state[key] = None


def prior_sentence(card: ModelCard, view: ScoreView) -> str:
    """What the scores of the empty text mean: a prior, named as such (plain text)."""
    if view.rule == "none":
        return (
            "The bars show the logits the model gives an empty text: its starting point "
            "before any evidence, not a prediction."
        )
    values = view.values[0]
    top = int(np.argmax(values))
    return (
        f"With no words to go on, {card.name} leans towards {card.labels[top]} "
        f"({values[top]:.3f}): this is its starting point before any evidence, not a "
        "prediction. Type a text or pick an example to get one."
    )


def _threshold_key(card: ModelCard, label: str) -> str:
    return f"t.{card.name}.{label}"


def _set_all_thresholds(card: ModelCard, value_key: str) -> None:
    value = float(st.session_state[value_key])
    for label in card.labels:
        st.session_state[_threshold_key(card, label)] = value


def _reset_thresholds(card: ModelCard) -> None:
    for label, value in zip(card.labels, card.thresholds or (), strict=False):
        st.session_state[_threshold_key(card, label)] = float(value)
    st.query_params.pop(SOURCE_PARAM, None)


SOURCE_PARAM = "thresholds_from"  # set by Threshold tuning's link: where the thresholds came from


def thresholds_origin(card: ModelCard) -> str:
    """Where the Playground's per-class thresholds come from, for their label (Markdown-safe).

    The sliders write every value that differs from the card into the URL; a link from
    Threshold tuning also says where it came from (``thresholds_from``).
    """
    linked = any(key.startswith(f"t.{card.name}.") for key in st.query_params)
    source = st.query_params.get(SOURCE_PARAM)
    if linked and source:
        return f"from {escape_markdown(shorten(source, 80))}, via the link"
    if linked:
        return "changed from the model card's (the changed ones are in the URL)"
    if card.raw.get("_thresholds_from_model"):  # an export: pages/_decision_ui.py
        return "the model's own, baked into it"
    return "the model card's, tuned on the dev split"


def binary_threshold_key(card: ModelCard) -> str:
    """The session/URL key of a binary model's one threshold (``bt.<model>``)."""
    return f"bt.{card.name}"


def binary_threshold_control(card: ModelCard) -> float:
    """A binary model's one slider: positive when the positive class's score ≥ it.

    Starts at the card's threshold (0.5 unless the card's ``binary`` object says
    otherwise); a changed value is in the URL (``bt.<model>``), so a link from Threshold
    tuning opens on the tuned threshold.
    """
    negative, positive = card.labels
    value = st.slider(
        f"Threshold: {positive} when its score ≥ t, otherwise {negative}",
        0.0,
        1.0,
        float(card.binary_threshold),
        0.001,
        format=THRESHOLD_FORMAT,
        key=binary_threshold_key(card),
        bind="query-params",
        help="One threshold for a binary model. Raise it to say "
        f"{positive} less often (fewer false alarms, more misses); lower it for the opposite.",
    )
    source = st.query_params.get(SOURCE_PARAM)
    if source and binary_threshold_key(card) in st.query_params:
        st.caption(f"Threshold from {escape_markdown(shorten(source, 80))}, via the link.")
    return float(value)


def threshold_controls(
    card: ModelCard, rule: str
) -> tuple[np.ndarray | float | None, float | None]:
    """Render the threshold widgets for the decision rule; return (thresholds, reject).

    Multi-label models get one slider per class (initialised from the card, in the URL when
    changed), "set all" and "reset". A softmax view gets the reject-threshold slider; a
    sigmoid view of a multi-class model gets one threshold for every class.
    """
    if rule == "none":
        return None, None
    if rule == "argmax":
        default = float(card.reject_threshold or 0.0)
        reject = st.slider(
            "Reject threshold (abstain when the top score is below it; 0 = never abstain)",
            0.0,
            1.0,
            default,
            0.001,
            format=THRESHOLD_FORMAT,
            key=f"reject.{card.name}",
            bind="query-params",
        )
        winner = _linked_winner_thresholds(card)
        off = _switched_off(card)
        if off:
            winner = np.zeros(len(card.labels)) if winner is None else winner
            winner[off] = np.inf
        return winner, float(reject)
    if card.task != "multi-label" or not card.thresholds:
        value = st.slider(
            "Threshold for every class (a class fires when its score ≥ the threshold)",
            0.0,
            1.0,
            0.5,
            0.001,
            format=THRESHOLD_FORMAT,
            key=f"tg.{card.name}",
            bind="query-params",
        )
        return float(value), None
    with st.expander(
        f"Thresholds per class ({thresholds_origin(card)}; a class fires when score ≥ threshold)"
    ):
        c1, c2, c3 = st.columns([3, 1, 1], vertical_alignment="bottom")
        c1.slider(
            "Set all to", 0.0, 1.0, 0.5, 0.001, format=THRESHOLD_FORMAT, key=f"setall.{card.name}"
        )
        c2.button("Apply to all", on_click=_set_all_thresholds, args=(card, f"setall.{card.name}"))
        c3.button("Reset to card", on_click=_reset_thresholds, args=(card,))
        columns = st.columns(4)
        values = []
        for i, (label, default) in enumerate(zip(card.labels, card.thresholds, strict=True)):
            values.append(
                columns[i % 4].slider(
                    label,
                    0.0,
                    1.0,
                    float(default),
                    0.001,
                    format=THRESHOLD_FORMAT,
                    key=_threshold_key(card, label),
                    bind="query-params",
                )
            )
    thresholds = np.asarray(values, dtype=np.float64)
    off = _switched_off(card)
    thresholds[off] = np.inf
    return thresholds, None


def word_importance_section(card: ModelCard, text: str, view: Any, temperature: float) -> None:
    """Occlusion word importance for a chosen class, drawn as a chart (never as HTML)."""
    from cls_core.views.charts import word_importance_chart
    from cls_core.views.occlusion import word_importance
    from cls_core.views.score_view import view_scores

    if not text.strip():
        st.caption("Type a text to see which words push each class up or down.")
        return
    order = [int(i) for i in np.argsort(-view.values[0], kind="stable")]
    class_index = st.selectbox(
        "Explain class",
        order,
        key=f"explain.{card.name}",
        format_func=lambda i: f"{card.labels[i]} ({view.values[0][i]:.3f})",
    )

    def score_texts(texts: list[str]) -> np.ndarray:
        logits, _, _ = predict_texts(card, texts)
        return view_scores(
            logits, model_activation=card.activation, view=view.activation, temperature=temperature
        ).values

    result = word_importance(text, score_texts, class_index=int(class_index))
    label = card.labels[int(class_index)]
    show_chart(word_importance_chart(result.tokens, result.deltas, class_name=label))
    st.caption(
        f"Each word is shaded by how much the {escape_markdown(label)} score drops when that word "
        "is removed (blue: the word supports the class; red: it works against it). "
        "The number under each word is that drop."
        + (" Only the first 200 words are explained." if result.truncated else "")
    )


def link_warnings(card: ModelCard, *, text_limit: int) -> list[str]:
    """Problems with values a shared link carried that Streamlit would drop silently.

    Bound widgets ignore URL values they cannot take (a threshold of 5, ``nan``, an unknown
    class, a text longer than the box allows); the user deserves to know which part of the
    link was not applied.
    """
    from cls_core.views.links import link_problems

    return link_problems(
        st.query_params.to_dict(),  # one read: each .get() takes the session lock
        model=card.name,
        labels=card.labels,
        text_limit=text_limit,
    )


def _linked_winner_thresholds(card: ModelCard) -> np.ndarray | None:
    """Per-class winner thresholds a link carries for a multi-class model (``t.<model>.<label>``).

    Threshold tuning exports them (the arg-max class is output only when its score reaches
    its own threshold); there is no slider per class for 77 intents, so they live in the
    URL and a button clears them. Unusable values are reported by :func:`link_warnings`.
    """
    from cls_core.views.links import winner_thresholds_from_params

    values = winner_thresholds_from_params(
        st.query_params.to_dict(),  # one read: each .get() takes the session lock
        model=card.name,
        labels=card.labels,
    )
    if values is None:
        return None
    n_set = int(np.count_nonzero(values))
    c1, c2 = st.columns([4, 1], vertical_alignment="center")
    source = st.query_params.get(SOURCE_PARAM)
    origin = f" ({escape_markdown(shorten(source, 80))})" if source else ""
    c1.info(
        f"Per-class thresholds from the link{origin} apply: {n_set} of {len(card.labels)} "
        "classes must reach their own threshold to be output when they win.",
        icon=":material/tune:",
    )
    c2.button("Clear them", on_click=_clear_linked_thresholds, args=(card,))
    return values


def _switched_off(card: ModelCard) -> list[int]:
    """Classes the link switches off (``off.<model>.<label>=1``), said on the page, with a
    button that turns them back on."""
    from cls_core.views.links import switched_off_from_params

    off = switched_off_from_params(
        st.query_params.to_dict(),  # one read: each .get() takes the session lock
        model=card.name,
        labels=card.labels,
    )
    if off:
        names = ", ".join(card.labels[i] for i in off[:12]) + ("…" if len(off) > 12 else "")
        c1, c2 = st.columns([4, 1], vertical_alignment="center")
        c1.info(
            f"Switched off by the link (they never fire): {escape_markdown(names)}",
            icon=":material/block:",
        )
        c2.button("Turn them on", on_click=_clear_switched_off, args=(card,))
    return off


def _clear_switched_off(card: ModelCard) -> None:
    for key in [k for k in st.query_params if k.startswith(f"off.{card.name}.")]:
        del st.query_params[key]


def _clear_linked_thresholds(card: ModelCard) -> None:
    prefix = f"t.{card.name}."
    for key in [k for k in st.query_params if k.startswith(prefix)]:
        del st.query_params[key]
    st.query_params.pop(SOURCE_PARAM, None)


# the pairs that make the softmax-vs-sigmoid lesson on real text
PARTNER_MODELS = {"goemotions": "ekman", "ekman": "goemotions"}


def model_comparison_section(card: ModelCard, text: str) -> None:
    """The same text scored by another model, side by side (each with its own rule)."""
    from cls_core.views.score_view import decide_view, view_scores

    others = [c for c in model_listing().cards if c.name != card.name]
    if not others:
        st.caption("Only one model is available.")
        return
    names = [c.name for c in others]
    partner = PARTNER_MODELS.get(card.name)
    other_name = st.selectbox(
        "Score the same text with",
        names,
        key=f"other_model.{card.name}",
        index=names.index(partner) if partner in names else 0,
    )
    other = others[names.index(other_name)]
    if card.name in PARTNER_MODELS and other.name == PARTNER_MODELS[card.name]:
        st.caption(
            "ekman (softmax, 7 emotions) and goemotions (sigmoid, 28 emotions) were trained on "
            "the same comments. Softmax shares one unit of probability among competing "
            "classes; sigmoid scores every emotion on its own, so several can be high at once."
        )
    columns = st.columns(2)
    for column, model_card in zip(columns, (card, other), strict=True):
        try:
            logits, _, _ = predict_texts(model_card, [text])
        except ModelLoadError as exc:
            column.error(
                f"{code_span(model_card.name)} cannot be used: {escape_markdown(str(exc))}"
            )
            continue
        model_card = with_model_decision(model_card)  # an export decides with its constants
        view = view_scores(logits, model_activation=model_card.activation)
        decision = (
            decide_binary_view(view, model_card.labels, model_card.binary_threshold)
            if model_card.binary
            else decide_view(
                view,
                model_card.labels,
                thresholds=model_rule_thresholds(
                    model_card,
                    view.rule,
                    np.asarray(model_card.thresholds, dtype=np.float64)
                    if model_card.task == "multi-label" and model_card.thresholds
                    else None,
                ),
                reject_threshold=model_card.reject_threshold,
            )
        )
        with column:
            st.markdown(f"**{escape_markdown(model_card.name)}** · {model_card.activation}")
            st.markdown(escape_markdown(decision.sentence()))
            st.caption(f"sum of the scores = {float(view.values[0].sum()):.3f}")
            show_chart(
                score_bar_spec(
                    model_card.labels,
                    view.values[0],
                    fired=decision.fired,
                    thresholds=decision.thresholds,
                    top_k=8,
                    value_title=f"{model_card.activation} score",
                ),
                width="stretch",
            )


def trace_tab(
    card: ModelCard, logits: np.ndarray, view: ScoreView, decision: Decision, temperature: float
) -> None:
    """The decision trace; with T ≠ 1, a column shows what the activation receives."""
    if view.rule == "none":
        st.info("Pick a score view to see thresholds and margins.")
        return
    if decision.rule == "binary":
        assert decision.thresholds is not None
        trace = binary_decision_trace(
            view.values[0], card.labels, float(decision.thresholds[1]), logits=logits[0]
        )
        if temperature != 1.0:
            trace.insert(2, f"logit ÷ T (T = {temperature:g})", logits[0] / temperature)
        show_trace(trace)
        st.caption(
            f"One threshold, on {escape_markdown(card.labels[1])}'s score: it is the answer "
            f"when score − threshold ≥ 0, otherwise {escape_markdown(card.labels[0])} is."
        )
        return
    trace = decision_trace(
        view.values[0],
        card.labels,
        logits=logits[0],
        task="multi-label" if view.rule == "thresholds" else "multi-class",
        thresholds=decision.thresholds,
        reject_threshold=decision.reject_threshold,
    )
    if temperature != 1.0:
        # the activation sees logit ÷ T, not the logit: show that number next to it
        trace.insert(2, f"logit ÷ T (T = {temperature:g})", logits[0] / temperature)
    show_trace(trace.sort_values("score", ascending=False))


TRACE_ROWS_IN_VIEW = 14  # a longer trace scrolls inside its box, as the grid did


def show_trace(trace: pd.DataFrame) -> None:
    """Draw a decision trace as a fixed-width text table (every row and column).

    Text in a code block instead of a data grid: the grid added ~300 ms to every threshold
    move in Chromium, the text ~70 ms (st.table or a Markdown table of 77 rows cost more
    than the grid); it is copyable, and labels stay text (never HTML or Markdown).
    """
    # ~22 px a line plus the box's padding
    height: int | Literal["content"] = (
        24 + 22 * (TRACE_ROWS_IN_VIEW + 2) if len(trace) > TRACE_ROWS_IN_VIEW else "content"
    )
    st.code(trace_text(trace), language=None, height=height, wrap_lines=False)


def compare_tab(
    card: ModelCard,
    view: ScoreView,
    decision: Decision,
    thresholds: Any,
    reject: float | None,
    temperature: float,
) -> None:
    text_b = st.text_area(
        "Second text (B)",
        key=f"compare_{card.name}",
        height=80,
        max_chars=TEXT_BOX_LIMIT,
        persist_state="session",
    )
    if not text_b:
        st.caption("Type a second text to see which classes move, and by how much.")
        return
    logits_b, _, _ = predict_texts(card, [text_b])
    view_b = view_scores(
        logits_b, model_activation=card.activation, view=view.activation, temperature=temperature
    )
    if decision.rule == "binary":
        assert decision.thresholds is not None
        decision_b = decide_binary_view(view_b, card.labels, float(decision.thresholds[1]))
    else:
        decision_b = decide_view(
            view_b, card.labels, thresholds=thresholds, reject_threshold=reject
        )
    st.markdown(
        f"**A:** {escape_markdown(decision.sentence())}  \n"
        f"**B:** {escape_markdown(decision_b.sentence())}"
    )
    show_chart(score_diff_chart(card.labels, view.values[0], view_b.values[0]))


def json_tab(
    card: ModelCard,
    text: str,
    logits: np.ndarray,
    view: ScoreView,
    decision: Decision,
    temperature: float,
) -> None:
    record = result_record(
        model=card.name,
        text=text,
        labels=card.labels,
        logits=logits[0],
        view=view,
        decision=decision,
        temperature=temperature,
    )
    body = json.dumps(record, indent=2, ensure_ascii=False)
    st.code(body, language="json")
    st.download_button(
        "Download JSON",
        body,
        file_name=f"{card.name}-result.json",
        mime="application/json",
        icon=":material/download:",
    )
