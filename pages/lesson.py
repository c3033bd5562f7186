"""Scores → labels: a lesson on softmax, sigmoid, temperature and thresholds (no TensorFlow)."""

from __future__ import annotations

import json

import streamlit as st

from cls_core.modelio.serving import rest_classify_response
from cls_core.scoring.export_output import ClassificationOutput
from cls_core.views.charts import lesson_activation_chart
from cls_core.views.formatting import escape_markdown, join_labels
from cls_core.views.lesson import (
    DEFAULT_LESSON,
    client_reading,
    explain_refusal,
    export_defaults,
    parse_value_list,
    run_lesson,
)
from pages import _shared

_shared.ensure_router()
st.title("From logits to scores to labels")
st.markdown(
    "A classifier's last layer produces one **logit** per class: an unbounded number. "
    "An **activation** turns logits into **scores**, and a **decision rule** turns scores "
    "into **labels**. Edit the logits below and watch both regimes side by side."
)

st.subheader("1 · Logits")
st.caption("Edit names, logits and sigmoid thresholds; add or delete rows (2–30 classes).")
edited = st.data_editor(
    DEFAULT_LESSON,
    key="lesson_rows",
    num_rows="dynamic",
    width="stretch",
    hide_index=True,
    column_config={
        "class": st.column_config.TextColumn("class", required=True, max_chars=40),
        "logit": st.column_config.NumberColumn("logit", required=True, format="%.2f", step=0.1),
        "threshold": st.column_config.NumberColumn(
            "sigmoid threshold", min_value=0.0, max_value=1.0, step=0.05, format="%.2f", default=0.5
        ),
    },
)
left, right = st.columns(2)
temperature = left.slider(
    "Temperature",
    0.1,
    5.0,
    1.0,
    0.1,
    key="lesson_temperature",
    help="Every logit is divided by the temperature before the activation.",
)
shift = right.slider(
    "Add a constant to every logit",
    -5.0,
    5.0,
    0.0,
    0.5,
    key="lesson_shift",
    help="Softmax only sees differences between logits; sigmoid sees each logit itself.",
)

rows = edited.head(30)
try:
    lesson = run_lesson(
        rows["class"].tolist(),
        rows["logit"].tolist(),
        rows["threshold"].fillna(0.5).tolist(),
        temperature=temperature,
        shift=shift,
    )
except ValueError as exc:
    st.error(f"Cannot compute the lesson: {escape_markdown(str(exc))}. Fix the table above.")
    st.stop()

st.subheader("2 · Scores")
m1, m2, m3, m4 = st.columns(4)
m1.metric("softmax: sum", f"{lesson.softmax_sum:.3f}")
m2.metric("softmax: winner (argmax)", lesson.winner)
m3.metric("sigmoid: sum", f"{lesson.sigmoid_sum:.3f}")
m4.metric("sigmoid: labels that fire", str(len(lesson.fired)))
_shared.show_chart(
    lesson_activation_chart(
        lesson.names,
        lesson.softmax_scores,
        lesson.sigmoid_scores,
        sigmoid_thresholds=lesson.thresholds,
    ),
)
if shift != 0.0:
    softmax_moved = (
        "did not change the softmax scores"
        if lesson.softmax_change < 5e-7  # only float rounding: nothing a 6-digit view shows
        else f"changed the softmax scores by at most {lesson.softmax_change:.6f}"
    )
    st.info(
        f"Adding {shift:+g} to every logit {softmax_moved} (softmax is shift-invariant: it "
        f"only sees differences) but changed the sigmoid scores by up to "
        f"{lesson.sigmoid_change:.3f} (each class is judged on its own logit).",
        icon=":material/compare_arrows:",
    )

st.subheader("3 · Labels")
c1, c2 = st.columns(2)
with c1:
    st.markdown(f"**Multi-class (softmax)** → {join_labels([lesson.winner])}")
    st.caption(
        "Softmax makes the classes mutually exclusive: the scores sum to 1, raising one "
        "logit lowers every other score, and the arg-max wins (ties go to the lower class id)."
    )
with c2:
    fired = join_labels(list(lesson.fired)) if lesson.fired else "no label passes its threshold"
    st.markdown(f"**Multi-label (sigmoid)** → {fired}")
    st.caption(
        "Sigmoid judges each class on its own: a class fires when its score ≥ its threshold, "
        "so any number of labels can fire, including none."
    )
st.dataframe(
    lesson.table,
    hide_index=True,
    width="stretch",
    column_config={c: st.column_config.NumberColumn(format="%.4f") for c in ("softmax", "sigmoid")},
)
with st.expander("Where do thresholds come from? Are scores probabilities?"):
    st.markdown(
        "- **Thresholds are chosen on validation data**, per class, for the trade-off you want "
        "(F1, a precision floor, a cost). 0.5 is a convention, not a law.\n"
        '- **Scores are not always calibrated probabilities.** A score of 0.8 means "80 % of such '
        'texts are this class" only if the model is calibrated; check with a reliability '
        "diagram and fix with temperature scaling.\n"
        "- **Temperature** rescales confidence without changing the ranking: argmax never "
        "changes, but which sigmoid classes pass a fixed threshold can."
    )

st.subheader("4 · What a TF Serving client receives: ClassificationOutput")
st.markdown(
    "A SavedModel exports these outputs with TensorFlow's `ClassificationOutput`: **scores**, "
    "**classes** (string labels), or both. The choice changes how a client must read them."
)
# Driven by the table: when the logits, temperature or shift change, the inputs below are
# refilled with the new softmax scores and names; edits made here last until then.
defaults = export_defaults(lesson)
if st.session_state.get("co_defaults") != defaults:
    st.session_state["co_defaults"] = defaults
    st.session_state["co_scores"], st.session_state["co_classes"] = defaults
st.caption(
    "Filled from the table above: the softmax scores at the current logits, temperature and "
    "shift, and the class names. Edit them to try other outputs; they follow the table again "
    "when it changes."
)
mode = st.radio(
    "The signature exports",
    ["scores only", "classes only", "scores and classes"],
    index=2,
    horizontal=True,
    key="co_mode",
)
e1, e2 = st.columns(2)
scores_text = e1.text_input(
    "scores (comma-separated, one example)",
    key="co_scores",
    disabled=mode == "classes only",
    help="Try integers such as 1, 0, 0 to see TensorFlow refuse non-float scores.",
)
classes_text = e2.text_input(
    "classes (comma-separated)",
    key="co_classes",
    disabled=mode == "scores only",
    help="Try class ids such as 0, 1, 2 to see TensorFlow refuse non-string classes.",
)
scores_value = None if mode == "classes only" else [parse_value_list(scores_text)]
classes_value = None if mode == "scores only" else [parse_value_list(classes_text)]
refusal = None
try:
    output = ClassificationOutput.from_values(scores=scores_value, classes=classes_value)
except (ValueError, TypeError) as exc:
    refusal = explain_refusal(exc, serving=False)
else:
    try:
        output.to_rows()  # refuses what TF Serving refuses (rank, float32, widths)
    except (ValueError, TypeError) as exc:
        refusal = explain_refusal(exc, serving=True)
if refusal is not None:
    st.error(f"{refusal.who} refuses these outputs.", icon=":material/block:")
    if refusal.their_text is not None:
        st.markdown("TensorFlow's own message:")
        st.code(refusal.their_text, language=None, wrap_lines=True)
    if refusal.our_text is not None:
        st.markdown(
            "Our addition (the value it saw):"
            if refusal.their_text is not None
            else "The rule, in our words (TF Serving answers a classify request with an error):"
        )
        st.code(refusal.our_text, language=None, wrap_lines=True)
else:
    st.info(output.describe(), icon=":material/menu_book:")
    st.markdown(
        "TF Serving's REST `:classify` response for this example (tensor order, no sorting):"
    )
    response = rest_classify_response(output.classes, output.scores)
    st.code(json.dumps(response), language="json", wrap_lines=True)
    st.markdown("How a client must read it:")
    st.dataframe(client_reading(output, list(lesson.names)), hide_index=True)
