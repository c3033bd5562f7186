"""Streamlit glue shared by the pages: cached model access, the sidebar, small renderers.

Pages call these instead of touching caches or session state themselves. Nothing here
computes anything a test of ``cls_core`` would not cover.
"""

from __future__ import annotations

import gc
from typing import Any

import numpy as np
import streamlit as st

from cls_core.modelio.registry import ModelCard, ModelListing, list_models
from cls_core.views.formatting import code_span, escape_markdown, visible
from pages import _own_models_ui as own_models_ui

MODEL_KEY = "model"

PAGE_BLURBS = {
    "Playground": "Type text and see the model's per-class scores, the labels they become, and why.",
    "Scores → labels": "How logits become scores (softmax vs sigmoid) and scores become labels. No model needed.",
    "Signature inspector": "The exported SavedModel signatures, exactly as TF Serving and its clients read them.",
    "Threshold tuning": "Choose per-class thresholds on labelled data, with uncertainty, and export them.",
}


@st.cache_data(ttl=10, show_spinner=False)
def model_listing() -> ModelListing:
    """Cards of every model under the model roots (re-read at most every 10 s)."""
    return list_models()


@st.cache_resource(show_spinner="Loading the model…", max_entries=8)
def _load_model(name: str, stamp: float) -> Any:
    from cls_core.modelio.registry import load_model  # imports TensorFlow lazily

    model = load_model(name)
    _keep_tensorflow_warm()
    return model


def _keep_tensorflow_warm() -> None:
    """Stop Streamlit's per-rerun Keras reset from undoing TensorFlow's warm state.

    TensorFlow imports Keras, and once Keras is imported Streamlit calls
    ``keras.backend.clear_session()`` after every script run. That call (a) runs a full
    ``gc.collect()`` over TensorFlow's huge heap (~280 ms here) and (b) clears TensorFlow's
    kernel cache, so the next call of a loaded signature rebuilds its kernels (~100 ms).
    This app never builds Keras models (it calls SavedModel signatures), so there is no
    Keras session to clear: make it a no-op, and freeze the long-lived objects so the
    garbage collector's full passes skip them.
    """
    import keras

    keras.backend.clear_session = lambda *args, **kwargs: None
    gc.collect()
    gc.freeze()


def loaded_model(card: ModelCard) -> Any:
    """The cached ``LoadedModel`` for ``card``; reloaded when its files change on disk.

    Raises ``ModelLoadError`` (with the reason) when the model cannot be loaded.
    """
    return _load_model(card.name, _stamp(card))


def predict_texts(
    card: ModelCard, texts: list[str]
) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """Logits and scores for ``texts`` from the cached model (results cached per text)."""
    return _predict_cached(card.name, _stamp(card), tuple(texts))


@st.cache_data(max_entries=2048, show_spinner=False)
def _predict_cached(
    name: str, stamp: float, texts: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    model = _load_model(name, stamp)
    prediction = model.predict(list(texts))
    return prediction.logits, prediction.scores, prediction.truncated


def card_summary(card: ModelCard) -> str:
    return f"{card.name} · {card.task} · {card.activation} · {len(card.labels)} labels"


# Pages that use no model: the sidebar shows no model picker there.
MODEL_FREE_PAGES = frozenset({"Scores → labels"})


def render_sidebar(page_title: str) -> None:
    """The shared sidebar: model picker (bound to ``?model=``) and a one-line orientation.

    Pages in :data:`MODEL_FREE_PAGES` (the lesson) get no picker: it would suggest that the
    page depends on the model. The chosen model is kept for the other pages.
    """
    listing = model_listing()
    names = own_models_ui.ordered_names(listing)  # bundled first, then own models
    with st.sidebar:
        blurb = PAGE_BLURBS.get(page_title)
        if blurb:
            st.caption(blurb)
        if page_title in MODEL_FREE_PAGES:
            st.caption("This page uses no model: every number comes from the table you edit.")
            return
        if not names:
            st.error(
                "No usable model was found under the model roots. "
                "See README → Models to train or add one."
            )
        else:
            requested = st.query_params.get(MODEL_KEY)
            if requested is not None and requested not in names:
                st.session_state["_bad_model_param"] = requested
            by_name = {card.name: card for card in listing.cards}
            st.selectbox(
                "Model",
                names,
                key=MODEL_KEY,
                bind="query-params",
                persist_state="session",
                help="Models found under the project's models/ directory and CLS_MODEL_DIRS.",
            )
            card = by_name[st.session_state[MODEL_KEY]]
            st.markdown(f"**{escape_markdown(card.title)}**")
            if card.adapter is None:
                st.caption(
                    f"{card.task} · {card.activation} · {len(card.labels)} labels · "
                    f"trained on {escape_markdown(str(card.dataset.get('name', '?')))}"
                )
            else:
                st.caption(escape_markdown(card.summary))
            own_models_ui.sidebar_details(listing, card)
        for broken in listing.broken:
            st.warning(
                f"Model {code_span(broken.name)} is unavailable: {escape_markdown(broken.reason)}",
                icon=":material/warning:",
            )
    bad = st.session_state.pop("_bad_model_param", None)
    if bad is not None:
        st.error(
            f"There is no model called “{escape_markdown(visible(str(bad))[:120])}”. "
            f"Available models: {', '.join(escape_markdown(n) for n in names) or 'none'}. "
            "Showing the first available model instead.",
            icon=":material/error:",
        )


PLAYGROUND_TEXT_KEY = "_playground_text"


def remember_playground_text(text: str) -> None:
    """Keep the Playground's current text for other pages (widget state ends with its page)."""
    st.session_state[PLAYGROUND_TEXT_KEY] = text


def playground_text() -> str:
    """The text last scored in the Playground in this session ("" when none)."""
    return str(st.session_state.get(PLAYGROUND_TEXT_KEY) or "")


def require_card() -> ModelCard:
    """The current card, or stop the page (the sidebar already said why there is none)."""
    card = current_card()
    if card is None:
        st.stop()
        raise RuntimeError("unreachable: st.stop() ends the script run")
    return card


def current_card() -> ModelCard | None:
    """The card of the model picked in the sidebar (None when there is no model)."""
    listing = model_listing()
    name = st.session_state.get(MODEL_KEY)
    for card in listing.cards:
        if card.name == name:
            return card
    return None


def _stamp(card: ModelCard) -> float:
    """A value that changes whenever the model's graph or card changes on disk.

    Cached models, predictions and signatures are keyed on it, so a model replaced or
    edited while the app runs is reloaded (and re-validated) on next use.
    """
    total = 0.0
    for name in ("saved_model.pb", "model_card.json"):
        path = card.path / name
        total += path.stat().st_mtime_ns if path.exists() else -1.0
    return total


@st.cache_resource(show_spinner=False, max_entries=16)
def _signature_defs(path: str, stamp: float) -> dict[str, Any]:
    from cls_core.modelio.serving import read_signature_defs

    signatures = read_signature_defs(path)  # imports TensorFlow
    _keep_tensorflow_warm()
    return signatures


def signature_defs(card: ModelCard) -> dict[str, Any]:
    """The model's SignatureDefs (cached until saved_model.pb changes)."""
    return _signature_defs(str(card.path), _stamp(card))


@st.cache_data(show_spinner=False, max_entries=16)
def _cli_text(path: str, stamp: float) -> str:
    from cls_core.modelio.serving import cli_text as render

    return render(path)


def cli_text(card: ModelCard) -> str:
    return _cli_text(str(card.path), _stamp(card))


def signature_table(info: Any) -> Any:
    """Inputs and outputs of a SignatureInfo as one table (dtype and shape as the CLI shows)."""
    import pandas as pd

    rows = [
        {
            "role": role,
            "key": spec.key,
            "dtype": spec.dtype,
            "shape": "unknown rank" if spec.shape is None else str(list(spec.shape)),
            "tensor": spec.name,
        }
        for role, specs in (("input", info.inputs), ("output", info.outputs))
        for spec in specs
    ]
    return pd.DataFrame(rows)


def ensure_router() -> None:
    """Send a page that Streamlit ran directly back through ``app.py``.

    Streamlit 1.67 still treats a ``pages/`` folder as a legacy multipage app until some
    session has called ``st.navigation``: the very first deep link after a server start
    (e.g. ``/signature``) would run the page script alone, without the router and its
    sidebar. Pages call this first; it switches the legacy mode off for the process and
    reruns, which runs ``app.py`` on the page that was asked for.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
