"""Streamlit glue for decision exports: the tuning page's "Export as SavedModel" and the
Playground's "decision baked in" panel.

The page never writes where a user types: the export goes to
``app_export_root() / <validated name>`` (the first ``CLS_MODEL_DIRS`` root, else
``models/_exports``), and an existing model name is refused (nothing is replaced).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from cls_core.errors import ModelLoadError
from cls_core.modelio.registry import ModelCard
from cls_core.views.formatting import code_span, escape_markdown
from pages import _shared

__all__ = [
    "baked_decision_panel",
    "decision_signature_section",
    "model_rule_thresholds",
    "savedmodel_export_section",
]


def _names(labels: list[str]) -> str:
    return ", ".join(f"**{escape_markdown(label)}**" for label in labels)


# --------------------------------------------------------------------------- Playground


def _model_decision(card: ModelCard) -> Any:
    """The decision baked into ``card``'s model (a ``BakedDecision``), or None."""
    from cls_core.modelio.decision_export import baked_decision

    try:
        model = _shared.loaded_model(card)
    except ModelLoadError:
        return None  # the page reports it
    return baked_decision(model)


def _with_model_thresholds(card: ModelCard, baked: Any) -> ModelCard:
    """``card`` whose thresholds are the model's constants (what the sliders start from),
    marked ``_thresholds_from_model`` in its ``raw`` for the sliders' label."""
    raw = {**card.raw, "_thresholds_from_model": True}
    if baked.task == "binary":
        raw["binary"] = {**dict(card.raw.get("binary") or {})}
        raw["binary"].update(positive_label=baked.labels[1], threshold=baked.thresholds[0])
        return dataclasses.replace(card, raw=raw)
    if baked.task == "multi-label":
        # a slider ends at 1.0; a switched-off class (+inf) stays off: model_rule_thresholds
        thresholds = tuple(min(t, 1.0) for t in baked.thresholds)
        return dataclasses.replace(card, thresholds=thresholds, raw=raw)
    return dataclasses.replace(card, reject_threshold=baked.reject_threshold, raw=raw)


def with_model_decision(card: ModelCard) -> ModelCard:
    """``card`` with the thresholds its model holds (an export), else ``card`` itself.

    For places that show a model's decision without the baked-decision panel (the
    Playground's "Another model" tab): an export decides with its constants, never its card.
    """
    baked = _model_decision(card)
    return card if baked is None else _with_model_thresholds(card, baked)


def model_rule_thresholds(
    card: ModelCard, rule: str, thresholds: np.ndarray | float | None
) -> np.ndarray | float | None:
    """The Playground's thresholds with what only the model holds and no slider shows.

    For a model with a baked decision, in the view of its own rule: a multi-class model's
    per-class winner thresholds (when no link sets others) and a multi-label model's
    switched-off classes (+inf, while their slider stays at 1.0). Anything else comes back
    unchanged.
    """
    baked = _model_decision(card) if rule in ("argmax", "thresholds") else None
    if baked is None or baked.task == "binary":
        return thresholds
    model = np.asarray(baked.thresholds, dtype=np.float64)
    if rule == "argmax" and baked.task == "multi-class":
        return model if thresholds is None and bool(np.any(model > 0)) else thresholds
    if rule == "thresholds" and baked.task == "multi-label" and isinstance(thresholds, np.ndarray):
        off = np.isinf(model) & (thresholds >= 1.0)
        return np.where(off, np.inf, thresholds) if off.any() else thresholds
    return thresholds


def baked_decision_panel(card: ModelCard, text: str) -> ModelCard:
    """For a model with a baked decision: its own answer for ``text`` and its constants.

    The thresholds and temperature are read from the loaded model (its saved
    ``decision_config()`` function), not from the card. Models without one show nothing.

    Returns
    -------
    ModelCard
        ``card`` with the model's own thresholds, reject threshold or binary threshold in
        place of the card's (so the Playground's sliders start from the model's
        decision, whatever the card says); ``card`` itself for other models.
    """
    from cls_core.modelio.decision_export import EXPORT_CARD_KEY, baked_labels

    baked = _model_decision(card)
    if baked is None:
        if EXPORT_CARD_KEY in card.raw:
            st.warning(
                "The card says this model was exported with a decision, but the model holds "
                "no `decision_config()`: the scores below are all it provides."
            )
        return card
    model = _shared.loaded_model(card)
    labels = baked_labels(model, [text])[0]
    if labels:
        answer = f"the model itself answers {_names(labels)}"
    elif baked.task == "multi-class":
        answer = "the model itself abstains (no class reaches its threshold)"
    else:
        answer = "the model itself fires no label"
    provenance = card.raw.get(EXPORT_CARD_KEY, {})
    objective = provenance.get("objective") if isinstance(provenance, dict) else None
    with st.container(border=True):
        st.markdown(
            f":material/verified: **Decision baked in** — this SavedModel applies its own "
            f"thresholds in its signatures (`serving_default` → `labels`, `decision`): "
            f"{answer}."
        )
        reject = (
            f", reject threshold {baked.reject_threshold:g}"
            if baked.reject_threshold is not None
            else ""
        )
        st.caption(
            f"Read from the model (`decision_config()`), not from its card: {baked.task}, "
            f"temperature {baked.temperature:g}{reject}"
            + (f", objective {escape_markdown(str(objective))}" if objective else "")
            + ". Its scores below already include the temperature; the decision below "
            "starts from these thresholds (the model's, whatever its card says)."
        )
        with st.expander("Thresholds inside the model"):
            st.dataframe(
                pd.DataFrame(
                    {
                        # binary: one threshold, on the positive class (labels[1])
                        "label": baked.labels[1:] if baked.task == "binary" else baked.labels,
                        "threshold": baked.thresholds,
                        "float32 cutoff (score ≥ it fires)": baked.cutoffs,
                    }
                ),
                hide_index=True,
                width="stretch",
            )
    return _with_model_thresholds(card, baked)


# --------------------------------------------------------------------------- Signature inspector


def decision_signature_section(card: ModelCard, signatures: dict[str, Any], text: str) -> None:
    """For a model with a ``decision`` signature: its lint, and its TF Serving REST round trip."""
    from cls_core.modelio import serving
    from cls_core.modelio.decision_export import DECISION_SIGNATURE, run_classify_signature

    info = signatures.get(DECISION_SIGNATURE)
    if info is None:
        return
    st.subheader("4 · The `decision` signature: the decision itself")
    st.markdown(
        "A classify signature that returns only what fired: `classes` and `scores` hold the "
        'fired labels first (highest score first), then `""` / `0.0` padding — as wide as '
        "the number of labels for a multi-label model, one column for a multi-class model "
        '(`""` = the model abstains; a binary model never abstains: its one column is the '
        "positive label when its score ≥ t, else the negative one). TF Serving turns "
        "**every** column into a "
        "`[label, score]` pair and cannot send ragged rows, so **clients must drop the "
        'entries whose label is `""`**.'
    )
    try:
        model = _shared.loaded_model(card)
        classes, scores = run_classify_signature(
            model, [serving.serialize_text_example(text)], signature=DECISION_SIGNATURE
        )
    except (ModelLoadError, ValueError) as exc:
        st.error(f"Cannot run the decision signature: {escape_markdown(str(exc))}")
        return
    lint = serving.lint_classify_signature(
        info, labels=card.labels, observed_classes=classes, decision=True
    )
    failed = [r for r in lint if r.passed is False]
    if failed:
        st.error(f"Linter: {len(failed)} of {len(lint)} rules fail for `decision`.")
    else:
        st.success(f"Linter: all {len(lint)} rules pass for `decision` (decision mode).")
    request = serving.rest_classify_request(card.name, [text], signature_name=DECISION_SIGNATURE)
    response = serving.rest_classify_response(classes, scores)
    kept = [[pair for pair in row if pair[0]] for row in response["results"]]
    left, right = st.columns(2)
    with left:
        st.markdown(f"{code_span('POST ' + serving.rest_classify_url(card.name))}")
        st.code(json.dumps(request, indent=2, ensure_ascii=False), language="json")
    with right:
        st.markdown("REST response (from running the signature on this text)")
        st.code(json.dumps(response, ensure_ascii=False), language="json", wrap_lines=True)
        st.markdown('After dropping the `""` entries, as a client must:')
        st.code(json.dumps(kept, ensure_ascii=False), language="json", wrap_lines=True)


# --------------------------------------------------------------------------- tuning page


def _export(card: ModelCard, doc_text: str, name: str, temperature: float, source: str) -> Any:
    """Run the export into the app's export root (or a temp dir); return the state record."""
    from cls_core.modelio.decision_export import (
        app_export_root,
        export_decision_model,
        validate_export_name,
        zip_model_dir,
    )

    name = validate_export_name(name.strip())
    root = app_export_root()
    if name in _shared.model_listing().names or (root / name).exists():
        raise ValueError(f"a model named {name!r} already exists; choose another name")
    command = f"Threshold tuning page: model {card.name}, {source}, temperature {temperature:g}"
    root.mkdir(parents=True, exist_ok=True)
    result = export_decision_model(
        card.name,
        doc_text.encode("utf-8"),
        out_dir=root / name,
        temperature=temperature,
        command=command,
    )
    try:
        archive, zip_error = zip_model_dir(result.path), None
    except ValueError as exc:
        archive, zip_error = None, str(exc)
    _shared.model_listing.clear()  # the sidebar lists the new model at once
    return {
        "name": name,
        "root": str(root),
        "zip": archive,
        "zip_error": zip_error,
        "checked": result.checked_texts,
        "seconds": result.seconds,
    }


def savedmodel_export_section(t: Any, doc_text: str) -> None:
    """'Export as SavedModel': the current thresholds (``doc_text``) baked into a new model.

    ``t`` is the page's tuning session (its card, namespace and state); call it only when
    the data's labels and task are the selected model's.
    """
    card, ns, state = t.card, t.ns, t.state
    with st.container(border=True):
        st.markdown(
            "**Export as SavedModel** — this model with the current thresholds (and a "
            "temperature) inside its signatures: `serving_default` returns `fired` and "
            "`labels`, the classify signature `decision` returns only the decision, so "
            "TF Serving clients no longer re-implement thresholds.json."
        )
        c1, c2, c3 = st.columns([3, 2, 2], vertical_alignment="bottom")
        name = c1.text_input(
            "Name of the exported model",
            value=f"{card.name}-decision",
            max_chars=64,
            key=f"{ns}.sm_name",
            help="Letters, digits, '-' and '_': the model's directory name under the model root.",
        )
        temperature = c2.number_input(
            "Temperature",
            min_value=0.05,
            max_value=20.0,
            value=1.0,
            step=0.05,
            key=f"{ns}.sm_temperature",
            help="Logits are divided by it before the activation. The thresholds were chosen "
            "on this page's scores (temperature 1): change it only with thresholds tuned for it.",
        )
        clicked = c3.button(
            "Export as SavedModel", icon=":material/deployed_code:", key=f"{ns}.sm_go"
        )
        if clicked:
            source = f"data {t.evs.name} (sha256 {t.evs.sha256[:12]}…)"
            try:
                with st.spinner("Exporting: wrapping the graph, saving, checking…"):
                    state["savedmodel"] = _export(card, doc_text, name, float(temperature), source)
            except (ValueError, FileExistsError, ModelLoadError, RuntimeError, OSError) as exc:
                state["savedmodel"] = {"error": str(exc)}
        _render_result(state.get("savedmodel"), ns)


def _render_result(record: dict[str, Any] | None, ns: str) -> None:
    if record is None:
        return
    if "error" in record:
        st.error(f"Not exported: {escape_markdown(record['error'])}")
        return
    name = record["name"]
    st.success(
        f"Exported {code_span(name)} into the model root {code_span(record['root'])} and "
        f"checked it on {record['checked']} texts ({record['seconds']:.1f} s): it is in "
        "the model list now."
    )
    st.page_link(
        "pages/playground.py",
        label=f"Open {name} in the Playground",
        icon=":material/arrow_forward:",
        query_params={"model": name},
    )
    if record["zip"] is not None:
        st.download_button(
            f"{name}.zip",
            record["zip"],
            file_name=f"{name}.zip",
            mime="application/zip",
            icon=":material/download:",
            key=f"{ns}.sm_zip",
            on_click="ignore",
        )
    else:
        st.warning(f"No download: {escape_markdown(record['zip_error'] or '')}")
