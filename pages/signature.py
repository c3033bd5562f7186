"""Signature inspector: the SavedModel's SignatureDefs, a classify linter, a TF Serving round trip."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from cls_core.errors import ModelLoadError
from cls_core.modelio import serving
from cls_core.modelio.registry import MAX_TEXT_CHARS
from cls_core.views.formatting import code_span, escape_markdown, plain_code
from cls_core.views.score_view import serving_thresholds_table
from pages import _decision_ui as decision_ui
from pages import _own_models_ui as own_models_ui
from pages import _shared

_shared.ensure_router()
card = _shared.require_card()
st.title("Signature inspector")
st.caption(
    f"{code_span(card.name)}: what TF Serving and its clients see when this SavedModel "
    "is served. Method names, input keys, dtypes and shapes are read from saved_model.pb."
)

try:
    signatures = _shared.signature_defs(card)
except (OSError, ValueError) as exc:
    st.error(f"Cannot read this model's SignatureDefs: {escape_markdown(str(exc))}")
    st.stop()

st.subheader("1 · SignatureDefs in the SavedModel")
for key, info in signatures.items():
    if key.startswith("__"):
        continue  # TF2's internal init-op signature
    with st.container(border=True):
        st.markdown(f"**{code_span(key)}** · method {code_span(info.method_name)}")
        st.dataframe(_shared.signature_table(info), hide_index=True, width="stretch")
with st.expander("As `saved_model_cli show --dir … --all` prints it"):
    st.code(_shared.cli_text(card).strip(), language=None)

if card.adapter is not None:  # an own model: how it is read, and its classify lint
    try:
        own_models_ui.signature_section(card, signatures, _shared.loaded_model(card))
    except ModelLoadError as exc:
        st.error(f"This model cannot be used right now: {escape_markdown(str(exc))}")
    st.stop()

st.subheader("2 · The classify signature: built vs stored")
expected = serving.expected_classify_signature(card.labels)
stored = signatures.get(serving.DEFAULT_CLASSIFY_SIGNATURE)
left, right = st.columns(2)
with left:
    st.markdown("**Built by `ClassificationOutput.as_signature_def`**")
    st.code(serving.proto_text(expected.signature_def), language=None, height=320)
with right:
    st.markdown(f"**Stored as `{serving.DEFAULT_CLASSIFY_SIGNATURE}`**")
    if stored is None:
        st.error("This SavedModel has no `classification` signature.")
    else:
        st.code(serving.proto_text(stored.signature_def), language=None, height=320)

# The round trip starts from the link's text or the Playground's current text (an example
# when both are empty);
# when the Playground's text changes, the box follows it; edits here last until then.
text_key, seed_key = f"sig_text.{card.name}", f"sig_seed.{card.name}"
# a link (e.g. from Threshold tuning's examples) may carry its own text: ?text=...
seed = (st.query_params.get("text") or _shared.playground_text())[:MAX_TEXT_CHARS] or (
    card.examples[0] if card.examples else "hello"
)
if st.session_state.get(seed_key) != seed:
    st.session_state[seed_key] = st.session_state[text_key] = seed
text = st.text_input(
    "Text for the round trip",
    key=text_key,
    max_chars=MAX_TEXT_CHARS,
    help="Starts as the Playground's current text (an example when that is empty).",
)
try:
    example = serving.serialize_text_example(text)
    classes, scores = _shared.loaded_model(card).classify_serialized([example])
except (ModelLoadError, ValueError) as exc:
    st.error(f"Cannot run the classification signature: {escape_markdown(str(exc))}")
    st.stop()

if stored is not None:
    lint = serving.lint_classify_signature(stored, labels=card.labels, observed_classes=classes)
    failed = [r for r in lint if r.passed is False]
    if failed:
        st.error(
            f"Linter: {len(failed)} of {len(lint)} rules fail — TF Serving clients will break."
        )
    else:
        st.success(f"Linter: all {len(lint)} rules pass — TF Serving's classify API accepts it.")
    st.dataframe(
        pd.DataFrame(
            {
                "": [
                    "pass" if r.passed else ("FAIL" if r.passed is False else "n/a") for r in lint
                ],
                # table cells are plain text: names in quotes, not literal backticks
                "rule": [plain_code(r.rule) for r in lint],
                "why": [plain_code(r.explanation) for r in lint],
            }
        ),
        hide_index=True,
        width="stretch",
    )

st.subheader("3 · TF Serving round trip")
request = serving.rest_classify_request(card.name, [text])
response = serving.rest_classify_response(classes, scores)
st.markdown(
    f"{code_span('POST ' + serving.rest_classify_url(card.name))} — the response below comes "
    "from actually running this model's `classification` signature on the serialized example."
)
rest_request, rest_response, example_tab, grpc_tab, curl_tab = st.tabs(
    ["REST request", "REST response", "tf.Example", "gRPC protos", "curl"]
)
with rest_request:
    body = json.dumps(request, indent=2, ensure_ascii=False)
    st.code(body, language="json")
    st.download_button("Download request.json", body, "request.json", "application/json")
with rest_response:
    out = json.dumps(response, ensure_ascii=False)
    st.code(out, language="json", wrap_lines=True)
    st.download_button("Download response.json", out, "response.json", "application/json")
    st.caption(
        "Pairs come in tensor order (class-id order here), not sorted. TF Serving's REST "
        "server keys classify results under `results`."
    )
with example_tab:
    st.markdown(
        f"Serialized `tf.train.Example` with a bytes feature `text`: **{len(example)} bytes**"
    )
    st.code(example.hex(" "), language=None, wrap_lines=True)
with grpc_tab:
    st.markdown("`tensorflow.serving.ClassificationRequest`")
    st.code(serving.grpc_request_text(card.name, [text]), language=None)
    st.markdown("`tensorflow.serving.ClassificationResponse`")
    st.code(serving.grpc_response_text(classes, scores, model_name=card.name), language=None)
with curl_tab:
    st.code(serving.curl_command(card.name, request), language="bash", wrap_lines=True)

if card.task == "multi-label" and card.thresholds:
    st.subheader("4 · Per-class thresholds: the client applies them")
    st.warning(
        "This model is multi-label (sigmoid): TF Serving's classify API returns a score for "
        "every class and decides nothing. A TF Serving client has to apply the per-class "
        "thresholds itself: class c fires when its score ≥ its threshold. These are the "
        "model card's thresholds (tuned on the dev split); a thresholds.json from Threshold "
        "tuning is applied the same way.",
        icon=":material/rule:",
    )
    st.dataframe(
        serving_thresholds_table(card.labels, card.thresholds, classes, scores),
        hide_index=True,
        width="stretch",
        height=min(400, 38 + 35 * len(card.labels)),
        column_config={
            "threshold": st.column_config.NumberColumn(format="%.4f"),
            "score": st.column_config.NumberColumn(format="%.4f"),
        },
    )
elif card.reject_threshold:
    st.subheader("4 · The reject threshold: the client applies it")
    st.warning(
        "TF Serving returns every class's score and decides nothing: a client that wants this "
        f"model's reject rule must apply it itself (answer the top class only when its score "
        f"≥ {card.reject_threshold:.4f}, otherwise abstain).",
        icon=":material/rule:",
    )

decision_ui.decision_signature_section(card, signatures, text)
