"""Streamlit glue for own models (SavedModels opened through an adapter): sidebar, notes, lint.

The inference and the lint live in ``cls_core.modelio.inspect``; this module only renders.
Labels, keys and notes come from the user's model, so everything goes through
``escape_markdown``/``code_span`` (never HTML).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pandas as pd
import streamlit as st

from cls_core.modelio.registry import ModelCard, ModelListing
from cls_core.views.formatting import code_span, escape_markdown


def ordered_names(listing: ModelListing) -> list[str]:
    """Bundled models first, then own models (each group in name order)."""
    bundled = [card.name for card in listing.cards if card.adapter is None]
    own = [card.name for card in listing.cards if card.adapter is not None]
    return bundled + own


def option_label(listing: ModelListing, name: str) -> str:
    """The picker's text for a model: own models are marked, inferred ones say so."""
    card = listing.get(name)
    if card is None or card.adapter is None:
        return name
    return f"{name} · own, inferred" if card.inferred else f"{name} · own"


def sidebar_details(listing: ModelListing, card: ModelCard) -> None:
    """Under the picker: the badge and notes of the chosen own model, and the own-model list."""
    if card.adapter is not None:
        if card.inferred:
            st.badge("inferred", icon=":material/auto_awesome:", color="orange")
            st.caption(
                "No model_card.json: what this model is was inferred from its signatures and "
                "outputs. `cls-explorer card` writes a card you can edit."
            )
        for note in card.adapter.notes:
            st.caption(f":material/info: {escape_markdown(note)}")
    own = [c for c in listing.cards if c.adapter is not None]
    if own:
        with st.expander(f"Own models ({len(own)})", expanded=card.adapter is not None):
            for other in own:
                badge = " · *inferred*" if other.inferred else ""
                st.markdown(f"{code_span(other.name)}{badge}  \n{escape_markdown(other.summary)}")


def recovered_logits_note(card: ModelCard) -> None:
    """Say when the logits shown are recovered from the model's probabilities."""
    if card.adapter is None or not card.adapter.recovered_logits:
        return
    formula = "log p" if card.adapter.output_kind == "softmax" else "log(p / (1 − p))"
    st.info(
        f"This model returns {card.adapter.output_kind} probabilities "
        f"({code_span(card.adapter.output)}); the logits used for temperature and "
        f"“view scores as” are recovered from them as {formula}, with p clipped to "
        "[1e-7, 1 − 1e-7].",
        icon=":material/functions:",
    )


_CLASSIFY_RECIPE = (
    "To add one: export an extra endpoint whose argument is named `inputs`, parse the "
    "serialized tf.Examples with `tf.io.parse_example` (a bytes feature holding the text), "
    "return float32 `scores` and string `classes`, both [batch, C], then set its method name "
    "to tensorflow/serving/classify with `MethodNameUpdater` (the bundled models' exporter, "
    "`cls_core.modelio.training.export_saved_model`, does exactly this)."
)


def _plain(text: str) -> str:
    """Lint text for table cells and escaped Markdown: `name` → ‘name’ (no literal backticks)."""
    return re.sub(r"`([^`]*)`", r"‘\1’", text)


def _lint_frame(lint: Any) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "": ["pass" if r.passed else ("FAIL" if r.passed is False else "n/a") for r in lint],
            "rule": [_plain(r.rule) for r in lint],
            "why": [_plain(r.explanation) for r in lint],
        }
    )


def signature_section(card: ModelCard, signatures: dict[str, Any], model: Any) -> None:
    """Section 2 of the signature page for an own model: how it is read, and the lint."""
    from cls_core.modelio.adapters import serialize_examples
    from cls_core.modelio.inspect import classify_readiness
    from cls_core.modelio.serving import rest_classify_response

    spec = card.adapter
    assert spec is not None
    st.subheader("2 · How the explorer reads this model")
    rows = [
        ("signature", spec.signature),
        (
            "text input",
            spec.input + (f" (tf.Example feature {spec.feature!r})" if spec.feature else ""),
        ),
        ("output", f"{spec.output} ({spec.output_kind}{', binary' if spec.binary else ''})"),
        ("task", f"{card.task} ({card.activation})"),
    ]
    st.dataframe(pd.DataFrame(rows, columns=["", "value"]), hide_index=True, width="stretch")
    if spec.evidence:
        with st.expander("Evidence"):
            st.markdown("\n".join(f"- {escape_markdown(line)}" for line in spec.evidence))

    st.subheader("3 · TF Serving's classify API")
    observed = None
    classes = scores = None
    if spec.feature is not None:
        try:
            classes, scores = model.classify_serialized(
                serialize_examples([card.examples[0] if card.examples else "hello"], spec.feature)
            )
            observed = classes
        except (TypeError, ValueError) as exc:
            st.error(f"Cannot run the classify signature: {escape_markdown(str(exc))}")
    readiness = classify_readiness(signatures, spec, labels=card.labels, observed_classes=observed)
    failed = [r for r in readiness.lint if r.passed is False]
    if readiness.predict_only:
        st.warning(
            f"Predict-only: no signature of this model is a classify signature, so TF "
            f"Serving can serve it through `:predict` but not `:classify`. Linting "
            f"{code_span(readiness.signature)} shows what a classify signature would need "
            f"({len(failed)} of {len(readiness.lint)} rules fail):",
            icon=":material/rule:",
        )
        st.markdown("\n".join(f"- {escape_markdown(_plain(r.rule))}" for r in failed))
        st.caption(_CLASSIFY_RECIPE)
        with st.expander(f"All {len(readiness.lint)} rules, and why each fails"):
            st.dataframe(_lint_frame(readiness.lint), hide_index=True, width="stretch")
        return
    if failed:
        st.error(
            f"Classify signature {code_span(readiness.signature)}: {len(failed)} of "
            f"{len(readiness.lint)} rules fail — TF Serving clients will break."
        )
    else:
        st.success(
            f"Classify signature {code_span(readiness.signature)}: all "
            f"{len(readiness.lint)} rules pass — TF Serving's classify API accepts it."
        )
    st.dataframe(_lint_frame(readiness.lint), hide_index=True, width="stretch")
    if classes is not None and scores is not None:
        st.markdown("REST `:classify` response for one example, from running the signature:")
        st.code(
            json.dumps(rest_classify_response(classes, scores), ensure_ascii=False),
            language="json",
            wrap_lines=True,
        )
