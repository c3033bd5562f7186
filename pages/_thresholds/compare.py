"""Section 10 · Compare and Another split.

Compare: the current thresholds against the starting ones, an imported thresholds.json, or
another model with the same labels, on the same rows (per-class deltas with paired
bootstrap intervals, and the rows whose decision changed). Another split: the thresholds
tuned here measured on other data, side by side with the data they were tuned on.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd
import streamlit as st

from cls_core.errors import ModelLoadError
from cls_core.evaluation import tuning_session as ts
from cls_core.evaluation.compare import System, compare_systems
from cls_core.evaluation.demo_data import DEMO_MODELS
from cls_core.evaluation.examples import examples_frame, fired_labels
from cls_core.evaluation.metrics import build_evaluation
from cls_core.evaluation.score_cache import score_texts_cached
from cls_core.evaluation.thresholds import read_thresholds_json
from cls_core.modelio.datasets import bundled_eval_splits
from cls_core.views.formatting import code_span, escape_markdown
from pages._thresholds.session import Tuning


def _same_label_models(t: Tuning) -> list[Any]:
    from cls_core.modelio.registry import list_models

    return [
        c
        for c in list_models().cards
        if c.name != t.card.name and tuple(c.labels) == tuple(t.labels) and c.task == t.ev.task
    ]


def compare_view(t: Tuning, texts: Any) -> None:
    ns, card = t.ns, t.card
    options = ["The thresholds this page started with", "An imported thresholds.json"]
    others = _same_label_models(t) if t.evs.texts and t.evs.source != "scores" else []
    if others:
        options.append("Another model with the same labels")
    choice = st.radio("Compare the current thresholds (B) with (A)", options, key=f"{ns}.cmp.kind")
    a: System | None = None
    if choice == options[0]:
        start = ts.initial_thresholds(
            t.evs, card_labels=card.labels, card_thresholds=card.thresholds
        )
        start_reject = (
            ts.initial_reject_threshold(
                t.evs, card_labels=card.labels, card_reject=card.reject_threshold
            )
            if t.multi_class
            else None
        )
        a = System(name="start", evaluation=t.ev, thresholds=start, reject_threshold=start_reject)
    elif choice == options[1]:
        upload = st.file_uploader("thresholds.json for A", type=["json"], key=f"{ns}.cmp.file")
        if upload is None:
            st.caption("Upload a thresholds.json with this data set's labels.")
            return
        try:
            document = read_thresholds_json(upload.getvalue(), labels=t.labels, task=t.ev.task)
            thr, file_reject = ts.imported_thresholds(document, t.labels)
        except ValueError as exc:
            st.error(escape_markdown(str(exc)), icon=":material/error:")
            return
        a = System(name="file", evaluation=t.ev, thresholds=thr, reject_threshold=file_reject)
    else:
        other = st.selectbox("Model A", others, format_func=lambda c: c.name, key=f"{ns}.cmp.model")
        other_set = _rescored(t, other)
        if other_set is None:
            return
        a = System(
            name=other.name,
            evaluation=other_set.evaluation,
            thresholds=ts.initial_thresholds(
                other_set, card_labels=other.labels, card_thresholds=other.thresholds
            ),
            reject_threshold=ts.initial_reject_threshold(
                other_set, card_labels=other.labels, card_reject=other.reject_threshold
            )
            if t.multi_class
            else None,
        )
        st.caption(
            f"A: {code_span(other.name)} at its card's thresholds; B: {code_span(card.name)} "
            "at the current thresholds; the same texts and truth."
        )
    b = System(name="current", evaluation=t.ev, thresholds=t.thr, reject_threshold=t.reject)
    try:
        result = compare_systems(a, b, bootstrap=500)
    except ValueError as exc:
        st.error(escape_markdown(str(exc)), icon=":material/error:")
        return
    micro = result.table.iloc[-1]
    st.markdown(
        f"**{len(result.changed_rows):,} rows change decision**: {result.improved:,} become "
        f"right, {result.worsened:,} become wrong. Micro F1 {micro[f'f1 {a.name}']:.3f} → "
        f"{micro['f1 current']:.3f} (Δ {micro['Δ f1']:+.3f}, 95 % paired bootstrap "
        f"[{micro['Δ f1 low']:+.3f}, {micro['Δ f1 high']:+.3f}])."
    )
    st.dataframe(
        result.table,
        hide_index=True,
        width="stretch",
        height=360,
        column_config={
            c: st.column_config.NumberColumn(format="%+.3f" if c.startswith("Δ") else "%.3f")
            for c in result.table.columns
            if c not in ("class", "support")
        },
        key=f"{ns}.cmp.table",
    )
    st.caption(
        "Δ = B − A. Intervals: 500 paired bootstrap resamples (both systems measured on the "
        "same resampled rows), so an interval that excludes 0 is a difference the data "
        "supports."
    )
    if len(result.changed_rows):
        shown = result.changed_rows[:200]
        fired_a = fired_labels(
            a.evaluation, shown, thresholds=a.thresholds, reject_threshold=a.reject_threshold
        )
        fired_b = fired_labels(t.ev, shown, thresholds=t.thr, reject_threshold=t.reject)
        frame = pd.DataFrame(
            {
                "row": shown,
                "text": [texts[int(i)] for i in shown] if texts is not None else "",
                "true": examples_frame(t.ev, shown, 0, thresholds=t.thr, reject_threshold=t.reject)[
                    "true"
                ],
                f"{a.name}": ["; ".join(x) for x in fired_a],
                "current": ["; ".join(x) for x in fired_b],
            }
        )
        st.caption(f"The rows that changed decision (first {len(shown):,}):")
        st.dataframe(frame, hide_index=True, width="stretch", height=300, key=f"{ns}.cmp.rows")


def _rescored(t: Tuning, other: Any) -> Any:
    """The same texts and truth, scored by another model (cached on disk like any scoring)."""
    from pages._shared import loaded_model
    from pages._thresholds.loaders import model_stamp

    try:
        model = loaded_model(other)
    except ModelLoadError as exc:
        st.error(f"Model {code_span(other.name)} cannot be used: {escape_markdown(str(exc))}")
        return None
    with st.spinner(f"Scoring {t.ev.n_examples:,} texts with {other.name}…"):
        scored = score_texts_cached(
            list(t.evs.texts),
            model.predict,
            model=other.name,
            stamp=model_stamp(other),
            labels=other.labels,
            variant="compare",
        )
    truth: Any = t.ev.truth_ids if t.multi_class else t.ev.truth
    evaluation = build_evaluation(scored.scores, truth, labels=t.labels, task=t.ev.task)
    return replace(t.evs, evaluation=evaluation, model=other.name, logits=scored.logits)


# --------------------------------------------------------------------------- another split


def another_split_view(t: Tuning) -> None:
    from pages._thresholds import data as data_section

    card = t.card
    sources = []
    if card.name in DEMO_MODELS:
        sources = [f"bundled:{s}" for s in bundled_eval_splits(card.name)] + ["demo"]
    sources = [s for s in sources if not _is_current(t, s)]
    if not sources:
        st.info(
            "Measuring on another split needs a second data set of this model: the bundled "
            "dev/test splits and the demo set exist for the bundled models."
        )
        return
    source = st.radio(
        "Measure the current thresholds on",
        sources,
        format_func=lambda s: (
            data_section.SOURCE_NAMES.get(s) or f"Bundled {s.split(':')[1]} split"
        ),
        horizontal=True,
        key=f"{t.ns}.other.source",
    )
    memo = st.session_state.get("_tune_scored")
    try:
        other = data_section.bundled_eval_set(card, source, drop_unknown=True)
    finally:  # keep the main data set's scoring memo: threshold moves must stay cheap
        if memo is not None:
            st.session_state["_tune_scored"] = memo
    if tuple(other.labels) != tuple(t.labels) or other.task != t.ev.task:
        st.error("That data set has other labels or another task.")
        return
    here = t.ev.metrics_at(t.thr, reject_threshold=t.reject)
    there = other.evaluation.metrics_at(t.thr, reject_threshold=t.reject)
    rows = [("micro", here.micro, there.micro), ("macro", here.macro, there.macro)]
    table = pd.DataFrame(
        {
            "class": [*t.labels, *(r[0] for r in rows)],
            "support here": [
                *here.support.tolist(),
                int(here.support.sum()),
                int(here.support.sum()),
            ],
            "support there": [
                *there.support.tolist(),
                int(there.support.sum()),
                int(there.support.sum()),
            ],
            "precision here": [*here.precision, *(r[1].precision for r in rows)],
            "precision there": [*there.precision, *(r[2].precision for r in rows)],
            "recall here": [*here.recall, *(r[1].recall for r in rows)],
            "recall there": [*there.recall, *(r[2].recall for r in rows)],
            "f1 here": [*here.f1, *(r[1].f1 for r in rows)],
            "f1 there": [*there.f1, *(r[2].f1 for r in rows)],
        }
    )
    table["Δ f1 (there − here)"] = table["f1 there"] - table["f1 here"]
    st.markdown(
        f"Tuned on **{escape_markdown(t.evs.name)}**, measured on **{escape_markdown(other.name)}**: "
        f"micro F1 {here.micro.f1:.3f} here, {there.micro.f1:.3f} there; macro F1 "
        f"{here.macro.f1:.3f} here, {there.macro.f1:.3f} there."
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=360,
        column_config={
            c: st.column_config.NumberColumn(format="%.3f")
            for c in table.columns
            if c != "class" and not c.startswith("support")
        },
        key=f"{t.ns}.other.table",
    )
    st.caption(
        "The thresholds chosen on this page's data, applied unchanged to the other set: "
        "the honest estimate of what they will do on data they were not tuned on. "
        "Same as `cls-explorer tune … --eval-on OTHER`."
    )


def _is_current(t: Tuning, source: str) -> bool:
    if source == "demo":
        return bool(t.evs.source == "demo")
    split = source.split(":")[-1]
    return bool(t.evs.source == "bundled" and t.evs.name.endswith(f" {split} split"))
