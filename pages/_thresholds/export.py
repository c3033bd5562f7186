"""Section 9 · export and import: thresholds.json, importing one, the Playground link."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from cls_core.evaluation import tuning_session as ts
from cls_core.evaluation.thresholds import read_thresholds_json
from cls_core.views.formatting import escape_markdown
from pages._decision_ui import savedmodel_export_section
from pages._thresholds.session import (
    Tuning,
    current_metrics,
    mark_changed,
    rerun_everything_but_calibration,
)


def _on_import(t: Tuning, key: str) -> None:
    uploaded = st.session_state.get(key)
    state = t.state
    if uploaded is None:
        state["import_message"] = None
        return
    try:
        doc = read_thresholds_json(
            uploaded.getvalue(), labels=t.labels, model=t.evs.model, task=t.evs.evaluation.task
        )
        thresholds, reject = ts.imported_thresholds(doc, t.labels)
    except ValueError as exc:
        state["import_message"] = ("error", f"Cannot import this file: {escape_markdown(str(exc))}")
        return
    state["thr"] = thresholds
    if t.multi_class and reject is not None:
        state["reject"], state["reject_widget_reset"] = float(reject), True
    mark_changed(state, objective=doc.objective)
    state["import_message"] = (
        "ok",
        f"Imported {escape_markdown(uploaded.name)} ({escape_markdown(doc.objective)}): "
        "these are now the current thresholds.",
    )
    rerun_everything_but_calibration(t)  # every section that shows thresholds


def _without_model(params: dict[str, str]) -> dict[str, str]:
    """The link's parameters minus ``model``: the sidebar's model picker is bound to the URL
    and adds ``model=`` itself after the page switch (Streamlit appends it; a ``model`` in
    the link too would show twice). The selected model is the one the link is for."""
    return {key: value for key, value in params.items() if key != "model"}


def download_thresholds(
    ns: str, doc_text: str | Callable[[], str], *, lazy_preview: bool = False
) -> None:
    """The thresholds.json download button and its preview (multi-class, multi-label, binary).

    ``doc_text``: the document, or a function that writes it (called when the button is
    clicked and while the preview is open, so a threshold move need not redraw the button).
    ``lazy_preview``: the preview is sent only while its expander is open (its key is
    ``f"{ns}.json_preview"``): on a page that redraws it on every threshold move, a closed
    preview then costs the browser nothing (highlighting the JSON took 40-80 ms a move).
    """
    st.download_button(
        "thresholds.json",
        doc_text,
        file_name="thresholds.json",
        mime="application/json",
        type="primary",
        icon=":material/download:",
        key=f"{ns}.json",
        on_click="ignore",
    )
    text = (lambda: doc_text) if isinstance(doc_text, str) else doc_text
    if not lazy_preview:
        with st.expander("Preview thresholds.json"):
            st.code(text(), language="json", height=300)
        return
    preview = st.expander("Preview thresholds.json", key=f"{ns}.json_preview", on_change="rerun")
    if preview.open:
        with preview:
            st.code(text(), language="json", height=300)


def _doc_text(t: Tuning, metrics: Any) -> str:
    return ts.thresholds_json_text(
        metrics,
        objective=t.state["objective"],
        data_sha256=t.evs.sha256,
        model=t.evs.model,
        bootstrap=t.state["boot"],
    )


def _own_labels(t: Tuning) -> bool:
    """The data's labels and task are the selected model's (Playground link, SavedModel)."""
    return bool(tuple(t.labels) == t.card.labels and t.ev.task == t.card.task)


# Section 9 comes in parts, each drawn by its own fragment of pages/thresholds.py: a
# threshold move redraws the Playground link (and the thresholds.json preview while it is
# open), not the download button, the import box or the SavedModel export (nothing in them
# shows a threshold).


def json_part(t: Tuning) -> None:
    """The thresholds.json download and its preview (sent only while open).

    The document is written when the button is clicked, from the thresholds of that
    moment (``t.state`` is the session's tuning state), so a threshold move redraws this
    part only while the preview is open (:func:`pages._thresholds.session.rerun_after_move`).
    """
    download_thresholds(t.ns, lambda: _doc_text(t, current_metrics(t)), lazy_preview=True)


def import_part(t: Tuning) -> None:
    """The thresholds.json upload and what became of the last one."""
    import_key = f"{t.ns}.import"
    st.file_uploader(
        "Import a thresholds.json",
        type=["json"],
        key=import_key,
        on_change=_on_import,
        args=(t, import_key),
    )
    message = t.state.get("import_message")
    if message is not None:
        (st.success if message[0] == "ok" else st.error)(message[1])


def link_part(t: Tuning) -> None:
    """The Playground link with the current thresholds (or why there is none)."""
    card, labels = t.card, t.labels
    if not _own_labels(t):
        st.caption("These labels are not the selected model's, so there is no Playground link.")
        return
    st.page_link(
        "pages/playground.py",
        label="Use these thresholds in the Playground",
        icon=":material/arrow_forward:",  # opens in this tab
        query_params=_without_model(
            ts.playground_query_params(
                card.name,
                labels,
                t.thr,
                task=t.ev.task,
                reject_threshold=t.reject,
                source=f"Threshold tuning on {t.evs.name}",
            )
        ),
    )
    st.caption(
        "The link carries the thresholds exactly, not rounded, so every decision on this "
        "data stays the same in the Playground."
        + (
            " It holds the reject threshold and every non-zero per-class threshold (the "
            "Playground applies those without sliders)."
            if t.multi_class
            else ""
        )
    )


def savedmodel_part(t: Tuning, metrics: Any) -> None:
    """ "Export as SavedModel" with the page's current thresholds (when the labels are the
    model's); a click builds thresholds.json from the state of that moment."""
    if _own_labels(t):
        savedmodel_export_section(t, _doc_text(t, metrics))
