"""Streamlit glue shared by the pages: cached model access, the sidebar, small renderers.

Pages call these instead of touching caches or session state themselves. Nothing here
computes anything a test of ``cls_core`` would not cover.
"""

from __future__ import annotations

import gc
import threading
from collections import OrderedDict
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


#: Most models kept loaded at once (least recently used dropped first); one model is
#: 10-30 MB of TensorFlow state.
MAX_LOADED_MODELS = 8

# Loaded models live in this process-wide cache, not in st.cache_resource: Streamlit's
# "clear cache" message, which any client may send, clears every st.cache_* of every
# session. With the models there, one client could force every model to reload (seconds
# of CPU each) as often as it liked. Here a model is loaded once per (name, stamp) and
# replaced only when its files change on disk (a new stamp) or it is the least recently
# used of more than MAX_LOADED_MODELS.
_MODELS: OrderedDict[str, tuple[float, Any]] = OrderedDict()
_MODELS_LOCK = threading.Lock()
_LOAD_LOCKS: dict[str, threading.Lock] = {}


def _cached_model(name: str, stamp: float) -> Any | None:
    with _MODELS_LOCK:
        hit = _MODELS.get(name)
        if hit is None or hit[0] != stamp:
            return None
        _MODELS.move_to_end(name)
        return hit[1]


def _load_model(name: str, stamp: float) -> Any:
    """The loaded model ``name`` at ``stamp``, loading it once (concurrent callers wait)."""
    model = _cached_model(name, stamp)
    if model is not None:
        return model
    with _MODELS_LOCK:
        lock = _LOAD_LOCKS.setdefault(name, threading.Lock())
    with lock:
        model = _cached_model(name, stamp)
        if model is not None:
            return model
        from cls_core.modelio.registry import load_model  # imports TensorFlow lazily

        model = load_model(name)
        with _MODELS_LOCK:
            _MODELS[name] = (stamp, model)  # drops an older stamp of the same model
            _MODELS.move_to_end(name)
            while len(_MODELS) > MAX_LOADED_MODELS:
                _MODELS.popitem(last=False)
        _keep_tensorflow_warm()
    return model


_KERAS_RESET_DISABLED = False


def _disable_keras_reset() -> None:
    """Make Streamlit's per-rerun ``keras.backend.clear_session()`` a no-op (once)."""
    global _KERAS_RESET_DISABLED
    if _KERAS_RESET_DISABLED:
        return
    import keras

    keras.backend.clear_session = lambda *args, **kwargs: None
    _KERAS_RESET_DISABLED = True


def _keep_tensorflow_warm() -> None:
    """Stop Streamlit's per-rerun Keras reset from undoing TensorFlow's warm state.

    TensorFlow imports Keras, and once Keras is imported Streamlit calls
    ``keras.backend.clear_session()`` after every script run. That call (a) runs a full
    ``gc.collect()`` over TensorFlow's huge heap (~280 ms here) and (b) clears TensorFlow's
    kernel cache, so the next call of a loaded signature rebuilds its kernels (~100 ms).
    This app never builds Keras models (it calls SavedModel signatures), so there is no
    Keras session to clear: make it a no-op, and freeze the long-lived objects so the
    garbage collector's full passes skip them.

    Frozen objects are never collected, so each call first unfreezes and collects: a
    model replaced or evicted since the last freeze (TensorFlow objects hold reference
    cycles) is freed instead of staying in the permanent generation (a freeze after every
    load without this kept every discarded model alive, ~21 MB per reload).
    """
    _disable_keras_reset()
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def loaded_model(card: ModelCard) -> Any:
    """The cached ``LoadedModel`` for ``card``; reloaded when its files change on disk.

    Raises ``ModelLoadError`` (with the reason) when the model cannot be loaded.
    """
    stamp = _stamp(card)
    model = _cached_model(card.name, stamp)
    if model is not None:
        return model
    with st.spinner("Loading the model…"):
        return _load_model(card.name, stamp)


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


#: Query parameter that replaces a link Streamlit ignored (see _note_dropped_links).
DROPPED_LINK_KEY = "_dropped_link"


def _note_dropped_links() -> None:
    """Make Streamlit say when it ignores a whole link, instead of dropping it silently.

    Streamlit discards a query string with more than 1,000 parameters or 512 Ki
    characters (a sound limit on what a client can make the server parse) before any
    script sees it, so a page cannot tell a too-long link from no link. This wraps the
    function that discards it (``streamlit.runtime.app_session.sanitize_query_string``) so
    that such a query string becomes ``_dropped_link=<parameters>:<characters>``, which
    :func:`_dropped_link_warning` turns into a message. Installed once per process, on the
    first script run (a fresh server's very first request is not covered).
    """
    from streamlit.runtime import app_session

    original = app_session.sanitize_query_string
    if getattr(original, "_cls_notes_drops", False):
        return

    def sanitize(query_string: str) -> str:
        kept = original(query_string)
        if query_string and not kept:
            fields = query_string.count("&") + 1
            return f"{DROPPED_LINK_KEY}={fields}:{len(query_string)}"
        return kept

    sanitize._cls_notes_drops = True  # type: ignore[attr-defined]
    app_session.sanitize_query_string = sanitize


_note_dropped_links()


def _dropped_link_warning() -> None:
    """Say that the link was ignored as a whole (see :func:`_note_dropped_links`)."""
    raw = st.query_params.get(DROPPED_LINK_KEY)
    if raw is None:
        return
    from cls_core.views.links import dropped_link_message

    fields, _, chars = raw.partition(":")
    if fields.isdigit() and chars.isdigit():
        st.warning(dropped_link_message(int(fields), int(chars)), icon=":material/link_off:")


def card_summary(card: ModelCard) -> str:
    return f"{card.name} · {card.task} · {card.activation} · {len(card.labels)} labels"


# Pages that use no model: the sidebar shows no model picker there.
MODEL_FREE_PAGES = frozenset({"Scores → labels"})


#: Session-state key of the sidebar's "Presentation mode" toggle.
PRESENTATION_KEY = "presentation"

# Larger page text for a projector (static CSS: no user text goes into it).
_PRESENTATION_CSS = """<style>
[data-testid="stMain"] [data-testid="stMarkdownContainer"] p,
[data-testid="stMain"] [data-testid="stMarkdownContainer"] li,
[data-testid="stMain"] [data-testid="stCaptionContainer"],
[data-testid="stMain"] label p { font-size: 1.3rem !important; }
[data-testid="stMain"] [data-testid="stCaptionContainer"] { color: inherit !important; }
[data-testid="stMain"] [data-testid="stMetricValue"],
[data-testid="stMain"] [data-testid="stMetricValue"] p { font-size: 2.6rem !important; }
</style>"""


def presentation_mode() -> bool:
    """Whether the user turned on presentation mode (large type, high contrast)."""
    return bool(st.session_state.get(PRESENTATION_KEY, False))


def show_chart(chart: Any, **kwargs: Any) -> Any:
    """Draw an Altair chart or Vega-Lite dict styled for this user's screen.

    The spec goes through :func:`cls_core.views.charts.style_spec` with the sidebar's
    presentation mode and the browser's light/dark theme (``st.context.theme``), so chart
    text is readable in both themes and large on a projector. ``kwargs`` go to
    ``st.vega_lite_chart`` (``width`` defaults to ``"stretch"`` for container-wide
    specs, ``"content"`` otherwise).
    """
    from cls_core.views.charts import style_spec

    dark = st.context.theme.type == "dark"
    # the data rows go to Arrow first: styling walks every node of the spec, and the rows
    # (400 per curve) were most of them; no chart keeps a style in its data
    raw = chart.to_dict() if hasattr(chart, "to_dict") else chart
    spec = style_spec(named_datasets(raw), presentation=presentation_mode(), dark=dark)
    kwargs.setdefault("width", "stretch" if spec.get("width") == "container" else "content")
    return st.vega_lite_chart(spec, **kwargs)


def named_datasets(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with every inline ``data.values`` moved to a named Arrow dataset.

    Streamlit's browser side rebuilds a Vega view (compile, parse, lay out: 100-300 ms a
    chart here) whenever the spec *without its named datasets* changes, and otherwise only
    swaps the datasets whose bytes changed. A threshold move changes a chart's data (the
    operating point, the fired bars, the counts), not its marks, so with the data named the
    browser updates the drawn chart in place. Each dataset is named for where it sat in
    the spec (``data_layer2``), so the names stay the same from one rerun to the next.
    Rows that Arrow cannot type (a column mixing text and numbers) and empty lists stay
    inline. Returns a new dict (the layers around the data are copied; the rest is shared).
    """
    import pyarrow as pa

    datasets: dict[str, bytes] = {}

    def to_arrow(rows: list[Any]) -> bytes | None:
        if not rows or not all(isinstance(row, dict) for row in rows):
            return None
        try:
            table = pa.Table.from_pylist(rows)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            return None
        # Arrow's 64-bit integers reach the browser as BigInt, which Vega cannot scale or
        # format: send them as float64 (exact up to 2**53, far beyond any count here).
        fields = [
            pa.field(f.name, pa.float64()) if pa.types.is_integer(f.type) else f
            for f in table.schema
        ]
        table = table.cast(pa.schema(fields))
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return bytes(sink.getvalue().to_pybytes())

    def visit(node: Any, path: str) -> Any:
        if isinstance(node, list):
            return [visit(item, f"{path}{i}_") for i, item in enumerate(node)]
        if not isinstance(node, dict):
            return node
        out = {}
        for key, value in node.items():
            data = value if key == "data" else None
            if isinstance(data, dict) and set(data) == {"values"}:
                blob = to_arrow(data["values"])
                if blob is not None:
                    name = f"data_{path}".rstrip("_") or "data"
                    datasets[name] = blob
                    out[key] = {"name": name}
                    continue
            if key in ("layer", "spec", "hconcat", "vconcat", "concat"):
                out[key] = visit(value, f"{path}{key}")
            else:
                out[key] = value
        return out

    named = visit(spec, "")
    if datasets:
        named["datasets"] = {**named.get("datasets", {}), **datasets}
    return named


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
        st.toggle(
            "Presentation mode",
            key=PRESENTATION_KEY,
            persist_state="session",
            help="Large type and high contrast in charts and text, for a projector.",
        )
        if presentation_mode():
            st.html(_PRESENTATION_CSS)
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
    _dropped_link_warning()
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
    _disable_keras_reset()
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
