"""Streamlit glue for pages/thresholds.py: cached loaders, session state, section renderers.

The page reads as a list of sections; each section's widgets and drawing live here, the
computations in ``cls_core`` (metrics, thresholds, calibration, tuning_session, charts).
Charts are drawn from plain Vega-Lite dicts (``cls_core.views.charts.*_spec``): building Altair
objects and validating them costs 25–65 ms per chart, too slow for a threshold move.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from cls_core.evaluation import tuning_session as ts
from cls_core.evaluation.calibration import compare_calibration, reliability_for
from cls_core.evaluation.demo_data import DEMO_MODELS
from cls_core.evaluation.thresholds import (
    bootstrap_intervals,
    cost_curve,
    parse_objective,
    read_thresholds_json,
    sha256_of,
    tune,
)
from cls_core.modelio.datasets import bundled_eval_splits
from cls_core.modelio.registry import ModelCard
from cls_core.views import charts
from cls_core.views.formatting import code_span, escape_markdown
from pages._shared import _stamp, loaded_model

# --------------------------------------------------------------------------- loaders


def model_stamp(card: ModelCard) -> float:
    """The model's ``saved_model.pb`` modification time (-1 when absent): part of cache keys."""
    return _stamp(card)


def upload_bytes(uploaded: Any) -> tuple[bytes, str]:
    """The bytes of an ``st.file_uploader`` file and their SHA-256 (hashed once per upload)."""
    from cls_core.evaluation.thresholds import sha256_of

    memo = st.session_state.setdefault("_upload_sha", {})
    data = uploaded.getvalue()
    key = (uploaded.file_id, len(data))
    if key not in memo:
        if len(memo) > 8:
            memo.clear()
        memo[key] = sha256_of(data)
    return data, memo[key]


@st.cache_data(max_entries=8, show_spinner="Reading the bundled split…")
def bundled_split_bytes(model_name: str, split: str) -> bytes:
    """A bundled dev/test split of the model's dataset as CSV bytes (``text``, ``label``)."""
    from cls_core.evaluation.tuning_session import frame_to_csv_bytes
    from cls_core.modelio.datasets import bundled_eval_splits

    return frame_to_csv_bytes(bundled_eval_splits(model_name)[split]())


@st.cache_data(max_entries=8, show_spinner=False)
def demo_set_bytes(model_name: str) -> bytes:
    """The project-written demo evaluation set of a bundled model as CSV bytes."""
    from cls_core.evaluation.demo_data import demo_eval_set
    from cls_core.evaluation.tuning_session import frame_to_csv_bytes

    return frame_to_csv_bytes(demo_eval_set(model_name))


@st.cache_data(max_entries=16, show_spinner=False)
def table_columns(sha256: str, name: str, _data: bytes) -> list[str]:
    """Column names of an uploaded table (raises EvalDataError for unreadable files)."""
    from cls_core.evaluation.evaldata import read_table

    return [str(c) for c in read_table(_data, name=name).columns]


@st.cache_resource(max_entries=8, show_spinner="Reading the scores file…")
def scores_eval_set(
    sha256: str,
    name: str,
    truth_column: str,
    task: str | None,
    score_kind: str,
    drop_unknown: bool,
    drop_invalid: bool,
    _data: bytes,
) -> Any:
    """An EvalSet from a precomputed scores file (built and sorted once per file + options)."""
    from cls_core.evaluation.evaldata import load_scores
    from cls_core.evaluation.tuning_session import eval_set_from_scores

    data = load_scores(
        _data,
        name=name,
        truth_column=truth_column,
        task=task,  # type: ignore[arg-type]
        score_kind=score_kind,  # type: ignore[arg-type]
        on_unknown="drop" if drop_unknown else "error",
        on_invalid="drop" if drop_invalid else "error",
    )
    return eval_set_from_scores(data, name=name)


@st.cache_resource(max_entries=8, show_spinner="Reading the labelled texts…")
def _texts_data(
    sha256: str,
    name: str,
    text_column: str,
    truth_column: str,
    labels: tuple[str, ...],
    task: str,
    drop_unknown: bool,
    _data: bytes,
) -> Any:
    from cls_core.evaluation.evaldata import load_texts

    return load_texts(
        _data,
        name=name,
        text_column=text_column,
        truth_column=truth_column,
        labels=labels,
        task=task,  # type: ignore[arg-type]
        on_unknown="drop" if drop_unknown else "error",
    )


@st.cache_resource(max_entries=8, show_spinner="Sorting scores per class…")
def _texts_eval_set(key: tuple[Any, ...], name: str, source: str, _texts: Any, _scored: Any) -> Any:
    from cls_core.evaluation.tuning_session import eval_set_from_texts

    card_name, labels, activation = key[0], key[2], key[3]
    return eval_set_from_texts(
        _texts,
        _scored.logits,
        _scored.scores,
        labels=labels,
        activation=activation,
        name=name,
        source=source,  # type: ignore[arg-type]
        model=card_name,
    )


def texts_eval_set(
    card: ModelCard,
    data: bytes,
    sha256: str,
    *,
    name: str,
    source: str,
    text_column: str = "text",
    truth_column: str = "label",
    drop_unknown: bool = False,
) -> Any:
    """An EvalSet from labelled texts scored by ``card``'s model.

    Scores come from the disk cache (model + stamp + file hash + text column) or are
    computed in chunks with a progress bar; the Evaluation is built once per data set.
    Raises EvalDataError for bad files and ModelLoadError when the model cannot load.
    """
    from cls_core.evaluation.score_cache import score_texts_cached

    texts = _texts_data(
        sha256, name, text_column, truth_column, card.labels, card.task, drop_unknown, data
    )
    stamp = model_stamp(card)
    key = (
        card.name,
        stamp,
        card.labels,
        card.activation,
        sha256,
        text_column,
        truth_column,
        drop_unknown,
    )
    memo = st.session_state.get("_tune_scored")
    if memo is not None and memo[0] == key:
        scored = memo[1]
    else:
        bar: list[Any] = []

        def progress(done: int, total: int) -> None:
            if not bar:
                bar.append(st.progress(0.0, text=f"Scoring {total:,} texts with {card.name}…"))
            bar[0].progress(done / max(total, 1), text=f"Scored {done:,} of {total:,} texts…")

        model = loaded_model(card)
        scored = score_texts_cached(
            texts.texts,
            model.predict,
            model=card.name,
            stamp=stamp,
            sha256=sha256,
            labels=card.labels,
            variant=f"text_column={text_column}",
            on_progress=progress,
        )
        if bar:
            bar[0].empty()
        st.session_state["_tune_scored"] = (key, scored)
    return _texts_eval_set(key, name, source, texts, scored)


def data_report(report: Any) -> None:
    """Render a DataReport: counts, dropped rows and why, label counts."""
    import pandas as pd

    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Rows read", f"{report.n_rows:,}")
    c2.metric("Rows kept", f"{report.n_kept:,}")
    c3.metric("Rows dropped", f"{report.n_rows - report.n_kept:,}")
    c4.metric("Task", report.task)
    if report.dropped:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "reason": d.reason,
                        "rows": d.count,
                        "first row numbers": ", ".join(str(r) for r in d.rows[:10]),
                        "detail": d.detail,
                    }
                    for d in report.dropped
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    counts = pd.DataFrame(
        {"label": list(report.label_counts), "examples": list(report.label_counts.values())}
    ).sort_values("examples", ascending=False)
    with st.expander(f"Label counts ({len(counts)} classes)"):
        st.dataframe(
            counts,
            hide_index=True,
            width="stretch",
            height=min(400, 36 + 35 * len(counts)),
            column_config={
                "examples": st.column_config.ProgressColumn(
                    "examples",
                    format="%d",
                    min_value=0,
                    max_value=max(1, int(counts["examples"].max() if len(counts) else 1)),
                )
            },
        )


# --------------------------------------------------------------------------- 1 · data source
SOURCE_NAMES = {
    "demo": "Demo set (project-written)",
    "texts": "Upload labelled texts",
    "scores": "Upload a scores file",
}
UPLOAD_TYPES = ["csv", "tsv", "tab", "jsonl", "ndjson", "json", "parquet", "pq"]


def source_choice(card: ModelCard) -> str:
    """The "Data" radio: bundled splits and the demo set (bundled models), then uploads."""
    splits = bundled_eval_splits(card.name) if card.name in DEMO_MODELS else {}
    sources = [f"bundled:{s}" for s in splits] + (["demo"] if card.name in DEMO_MODELS else [])
    return str(
        st.radio(
            "Data",
            [*sources, "texts", "scores"],
            key=f"tune_source.{card.name}",
            horizontal=True,
            format_func=lambda s: SOURCE_NAMES.get(s) or f"Bundled {s.split(':')[1]} split",
        )
    )


def bundled_eval_set(card: ModelCard, source: str, *, drop_unknown: bool) -> Any:
    """The EvalSet of a bundled split or the demo set, scored by ``card``'s model."""
    split = source.split(":")[-1]
    demo = source == "demo"
    data = demo_set_bytes(card.name) if demo else bundled_split_bytes(card.name, split)
    st.caption(
        "Texts scored with the selected model (scores cached on disk by model and data hash)."
    )
    return texts_eval_set(
        card,
        data,
        sha256_of(data),
        name=f"{card.name} demo set" if demo else f"{card.name} {split} split",
        source="demo" if demo else "bundled",
        drop_unknown=drop_unknown,
    )


def uploaded_eval_set(card: ModelCard, source: str, *, drop_unknown: bool) -> Any:
    """The upload widgets of ``source`` ("texts" or "scores") and the EvalSet they give.

    Stops the script (with a hint) while nothing is uploaded.
    """
    kind = "labelled texts" if source == "texts" else "scores"
    upload = st.file_uploader(
        f"Upload {kind} (CSV, TSV, JSONL or Parquet)",
        type=UPLOAD_TYPES,
        key=f"tune_upload.{source}",
    )
    if upload is None:
        st.info(
            "A labelled text file needs a text column and a truth column (label names or "
            "class ids; multi-label: `;`-joined or a list)."
            if source == "texts"
            else "A scores file has one float column per class, named by its label, and a "
            "truth column (default `label`). Any framework's outputs work.",
            icon=":material/upload_file:",
        )
        st.stop()
    data, sha = upload_bytes(upload)
    columns = table_columns(sha, upload.name, data)
    c1, c2, c3 = st.columns(3)
    truth_col = c2.selectbox(
        "Truth column",
        columns,
        index=columns.index("label") if "label" in columns else 0,
        key=f"tune_truth.{source}",
    )
    if source == "texts":
        text_col = c1.selectbox(
            "Text column",
            columns,
            index=columns.index("text") if "text" in columns else 0,
            key="tune_text_col",
        )
        return texts_eval_set(
            card,
            data,
            sha,
            name=upload.name,
            source="texts",
            text_column=text_col,
            truth_column=truth_col,
            drop_unknown=drop_unknown,
        )
    score_kind = c1.selectbox(
        "Scores are",
        ["auto", "probabilities", "logits"],
        key="tune_score_kind",
        help="auto: probabilities when every value is in [0, 1], otherwise logits "
        "(turned into probabilities with softmax for multi-class, sigmoid for multi-label).",
    )
    task = c3.selectbox(
        "Task",
        ["auto", "multi-label", "multi-class"],
        key="tune_task",
        help="auto: multi-label when any truth cell is `;`-joined, a list or empty.",
    )
    drop_invalid = st.toggle(
        "Drop rows with non-numeric, NaN or infinite scores or empty truth "
        "(otherwise: an error naming the first bad cell)",
        key="tune_drop_invalid",
    )
    return scores_eval_set(
        sha,
        upload.name,
        truth_col,
        None if task == "auto" else task,
        score_kind,
        drop_unknown,
        drop_invalid,
        data,
    )


def scores_assumption(evs: Any) -> None:
    """For a scores file: say which kind of scores the page assumed."""
    if evs.source != "scores":
        return
    how = (
        f" (turned into probabilities with {evs.activation})."
        if evs.score_kind == "logits"
        else "."
    )
    st.info(
        f"Assumed: the score columns are **{evs.score_kind}**{how}"
        " Change “Scores are” above if that is wrong.",
        icon=":material/info:",
    )


# --------------------------------------------------------------------------- session state
@dataclass(frozen=True, kw_only=True)
class Tuning:
    """One data set's tuning session: the card, the EvalSet and its mutable state dict.

    ``state`` holds ``thr`` (per-class thresholds), ``reject``, ``objective``, ``boot``
    (bootstrap intervals), ``selection`` (last optimiser result) and widget versions.
    """

    card: ModelCard
    evs: Any
    ns: str
    state: dict[str, Any]

    @property
    def ev(self) -> Any:
        return self.evs.evaluation

    @property
    def labels(self) -> list[str]:
        return list(self.ev.labels)

    @property
    def multi_class(self) -> bool:
        return bool(self.ev.task == "multi-class")

    @property
    def thr(self) -> np.ndarray:
        return self.state["thr"]

    @property
    def reject(self) -> float | None:
        return float(self.state["reject"]) if self.multi_class else None


def tuning_for(card: ModelCard, evs: Any) -> Tuning:
    """The tuning session of ``evs`` (created with the starting thresholds on first use)."""
    ev = evs.evaluation
    ns = f"tune.{card.name}.{evs.sha256[:16]}.{ev.task}.{len(ev.labels)}"
    if ns not in st.session_state:
        st.session_state[ns] = {
            "thr": ts.initial_thresholds(
                evs, card_labels=card.labels, card_thresholds=card.thresholds
            ),
            "reject": ts.initial_reject_threshold(
                evs, card_labels=card.labels, card_reject=card.reject_threshold
            ),
            "ver": 0,
            "objective": "manual",
            "boot": None,
            "selection": None,
            "imported": None,
        }
    return Tuning(card=card, evs=evs, ns=ns, state=st.session_state[ns])


def _changed(state: dict[str, Any], *, objective: str = "manual") -> None:
    state["ver"] += 1
    state["objective"] = objective
    state["boot"] = None


def _on_editor(state: dict[str, Any], key: str) -> None:
    for row, edits in st.session_state[key].get("edited_rows", {}).items():
        if "threshold" in edits and edits["threshold"] is not None:
            state["thr"][int(row)] = float(edits["threshold"])
    _changed(state)


def _on_slider(state: dict[str, Any], key: str, index: int) -> None:
    state["thr"][index] = float(st.session_state[key])
    _changed(state)
    state["ver"] -= 1  # keep the slider's identity; the editor follows via "edver"
    state["edver"] = state.get("edver", 0) + 1


def _on_reject(state: dict[str, Any], key: str) -> None:
    state["reject"] = float(st.session_state[key])
    state["objective"], state["boot"] = "manual", None


def _reset(t: Tuning) -> None:
    card = t.card
    t.state["thr"] = ts.initial_thresholds(
        t.evs, card_labels=card.labels, card_thresholds=card.thresholds
    )
    t.state["reject"] = ts.initial_reject_threshold(
        t.evs, card_labels=card.labels, card_reject=card.reject_threshold
    )
    t.state["reject_widget_reset"] = True
    _changed(t.state)


def _set_all(state: dict[str, Any], value: float) -> None:
    state["thr"][:] = value
    _changed(state)


def _optimise(state: dict[str, Any], evaluation: Any, objective: str) -> None:
    result = tune(evaluation, objective)
    if result.selection is not None:
        state["thr"] = np.asarray(result.selection.thresholds, dtype=np.float64).copy()
    if result.reject is not None:
        state["reject"] = float(result.reject.threshold)
        state["reject_widget_reset"] = True
    _changed(state, objective=objective)
    state["selection"] = result.selection
    state["rerun_all"] = True  # the thresholds changed: every section must redraw


def _parsed(objective: str) -> Any:
    """The Objective for a text, or None ("manual", or an imported file's unknown objective)."""
    try:
        return parse_objective(objective)
    except ValueError:
        return None


def _bootstrap(state: dict[str, Any], evaluation: Any, n_resamples: int, seed: int) -> None:
    objective = _parsed(state["objective"])
    if objective is None:
        return
    with st.spinner(f"Bootstrapping {objective} ({n_resamples} resamples)…"):
        state["boot"] = bootstrap_intervals(
            evaluation,
            objective,
            thresholds=state["thr"] if objective.per_class else None,
            reject_threshold=state["reject"] if evaluation.task == "multi-class" else None,
            n_resamples=n_resamples,
            seed=seed,
        )
    state["rerun_all"] = True


def rerun_all_if_needed(t: Tuning) -> None:
    """After an optimiser/bootstrap click inside a nested fragment, redraw the whole page."""
    if t.state.pop("rerun_all", False):
        st.rerun(scope="app")


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
    _changed(state, objective=doc.objective)
    state["import_message"] = (
        "ok",
        f"Imported {escape_markdown(uploaded.name)} ({escape_markdown(doc.objective)}): "
        "these are now the current thresholds.",
    )


# --------------------------------------------------------------------------- cached results
@st.cache_resource(max_entries=8, show_spinner=False)
def ranking(key: str, _evaluation: Any) -> ts.RankingSummary:
    """AP and ROC-AUC per class and averaged (once per data set)."""
    return ts.ranking_summary(_evaluation)


@st.cache_resource(max_entries=16, show_spinner="Fitting the calibration…")
def _calibration(key: str, n_bins: int, _evs: Any) -> Any:
    ev = _evs.evaluation
    truth = ev.truth_ids if ev.task == "multi-class" else ev.truth
    return compare_calibration(
        ev.scores, truth, kind=_evs.activation, logits=_evs.logits, n_bins=n_bins
    )


@st.cache_resource(max_entries=32, show_spinner=False)
def _reliability(key: str, mode: Any, n_bins: int, _evs: Any) -> tuple[Any, Any, Any]:
    """The calibration fit and the before/after reliability curves for one view."""
    ev = _evs.evaluation
    comp = _calibration(key, n_bins, _evs)
    truth = ev.truth_ids if ev.task == "multi-class" else ev.truth
    before = reliability_for(ev.scores, truth, mode=mode, n_bins=n_bins)
    after = reliability_for(comp.calibrated_scores, truth, mode=mode, n_bins=n_bins)
    return comp, before, after


@st.cache_resource(max_entries=8, show_spinner=False)
def _cardinality(key: str, _evaluation: Any) -> Any:
    return _evaluation.cardinality_curve(np.linspace(0.0, 1.0, 201))


# --------------------------------------------------------------------------- rendering
def chart_block(spec: dict[str, Any], name: str, *, key: str) -> None:
    """Draw a Vega-Lite dict with PNG/SVG download buttons (rendered only when clicked)."""
    st.vega_lite_chart(spec, width="stretch")
    row = st.container(horizontal=True)
    for fmt, mime in (("png", "image/png"), ("svg", "image/svg+xml")):
        row.download_button(
            fmt.upper(),
            lambda fmt=fmt: charts.chart_image(spec, fmt=fmt),
            file_name=f"{name}.{fmt}",
            mime=mime,
            icon=":material/download:",
            key=f"{key}.{fmt}",
            on_click="ignore",
        )


def threshold_controls(t: Tuning) -> int:
    """Section 3's editor, "Set every class to", class picker, sliders and Reset.

    Returns the index of the inspected class.
    """
    state, ns, ev, labels = t.state, t.ns, t.ev, t.labels
    left, right = st.columns([2, 3])
    with left:
        editor_key = f"{ns}.editor.{state['ver']}.{state.get('edver', 0)}"
        st.data_editor(
            pd.DataFrame({"label": labels, "threshold": t.thr, "support": ev.support}),
            key=editor_key,
            on_change=_on_editor,
            args=(state, editor_key),
            disabled=["label", "support"],
            hide_index=True,
            width="stretch",
            height=320,
            column_config={
                "threshold": st.column_config.NumberColumn(
                    min_value=0.0, max_value=1.0, step=0.001, format="%.3f"
                )
            },
        )
        c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
        value = c1.number_input(
            "Set every class to", 0.0, 1.0, 0.0 if t.multi_class else 0.5, 0.01, key=f"{ns}.all"
        )
        c2.button("Apply to all", on_click=_set_all, args=(state, value), key=f"{ns}.allbtn")
    with right:
        focus = int(
            st.selectbox(
                "Inspect class",
                [int(i) for i in np.argsort(-ev.support, kind="stable")],
                format_func=lambda i: f"{labels[i]} ({int(ev.support[i])} positives)",
                key=f"{ns}.focus",
            )
        )
        slider_key = f"{ns}.one.{state['ver']}.{focus}"
        st.slider(
            f"Threshold for {labels[focus]}",
            0.0,
            1.0,
            float(np.clip(t.thr[focus], 0.0, 1.0)),
            0.001,
            format="%.3f",
            key=slider_key,
            on_change=_on_slider,
            args=(state, slider_key, focus),
        )
        if t.multi_class:
            reject_key = f"{ns}.reject"
            if state.pop("reject_widget_reset", False) or reject_key not in st.session_state:
                st.session_state[reject_key] = float(np.clip(state["reject"], 0.0, 1.0))
            st.slider(
                "Reject threshold (abstain when the top score is below it; 0 = never)",
                0.0,
                1.0,
                step=0.001,
                format="%.3f",
                key=reject_key,
                on_change=_on_reject,
                args=(state, reject_key),
            )
        start = (
            "the model card's thresholds"
            if not t.multi_class and t.evs.source != "scores" and tuple(labels) == t.card.labels
            else ("0 and the card's reject threshold" if t.multi_class else "0.5")
        )
        st.button(
            "Reset",
            icon=":material/restart_alt:",
            on_click=_reset,
            args=(t,),
            key=f"{ns}.reset",
            help=f"Back to the starting thresholds: {start}.",
        )
    return focus


def headline_metrics(t: Tuning, metrics: Any) -> None:
    """The four metric tiles under the threshold controls."""
    cols = st.columns(4)
    if t.multi_class:
        cols[0].metric("Accuracy (abstain = wrong)", f"{metrics.accuracy:.3f}")
        cols[1].metric("Coverage", f"{metrics.coverage:.3f}")
        cols[2].metric("Accuracy on answered", f"{metrics.selective_accuracy:.3f}")
    else:
        cols[0].metric("Micro F1", f"{metrics.micro.f1:.3f}")
        cols[1].metric("Samples F1", f"{metrics.samples.f1:.3f}")
        cols[2].metric(
            "Labels per example (true)",
            f"{metrics.mean_predicted_labels:.2f} ({metrics.mean_true_labels:.2f})",
            help=f"{metrics.no_label_share:.1%} of examples get no label.",
        )
    cols[3].metric("Macro F1", f"{metrics.macro.f1:.3f}")


def operating_threshold(t: Tuning, focus: int) -> float:
    """The inspected class's effective threshold (multi-class: at least the reject threshold)."""
    return float(t.ev.effective_thresholds(t.thr, reject_threshold=t.reject)[focus])


def curves_section(t: Tuning, focus: int) -> None:
    """Section 4: PR and ROC curves of the inspected class (and coverage for multi-class)."""
    labels, ns, at = t.labels, t.ns, operating_threshold(t, focus)
    st.subheader(f"4 · Curves: {labels[focus]}")
    rank = ranking(ns, t.ev)
    st.caption(
        f"AP {rank.average_precision[focus]:.3f} · ROC-AUC {rank.roc_auc[focus]:.3f} "
        f"(all classes: AP micro {rank.micro_average_precision:.3f}, macro "
        f"{rank.macro_average_precision:.3f}; ROC-AUC micro {rank.micro_roc_auc:.3f}, "
        f"macro {rank.macro_roc_auc:.3f}). The red diamond is the current threshold "
        f"({at:.3f})."
        + (
            " Multi-class curves follow the decision rule: a class is predicted only where it "
            "is the top class, so its recall can stop short of 1. AP/ROC-AUC rank all examples."
            if t.multi_class
            else ""
        )
    )
    curve = t.ev.sweep.curves[focus]
    c1, c2 = st.columns(2)
    with c1:
        chart_block(
            charts.pr_curve_spec(curve, threshold=at), f"pr-{labels[focus]}", key=f"{ns}.pr"
        )
    with c2:
        chart_block(
            charts.roc_curve_spec(curve, threshold=at), f"roc-{labels[focus]}", key=f"{ns}.roc"
        )
    if t.multi_class:
        chart_block(
            charts.coverage_accuracy_spec(t.ev.coverage_curve, reject_threshold=t.reject or 0.0),
            "coverage-accuracy",
            key=f"{ns}.cov",
        )


def metrics_section(t: Tuning, metrics: Any) -> None:
    """Section 5: per-class table, averages, CSV, and the per-class chart with error bars."""
    ns, boot = t.ns, t.state["boot"]
    table = ts.class_table(metrics, ranking(ns, t.ev), intervals=boot)
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=min(420, 38 + 35 * len(table)),
        column_config={
            **{
                c: st.column_config.NumberColumn(format="%.3f")
                for c in table.columns
                if table[c].dtype.kind == "f"
            },
            "ap": st.column_config.NumberColumn("AP", format="%.3f"),
            "roc_auc": st.column_config.NumberColumn("ROC-AUC", format="%.3f"),
        },
    )
    c1, c2 = st.columns([3, 2])
    c1.dataframe(metrics.averages_frame(), hide_index=True, width="stretch")
    c2.download_button(
        "Metrics CSV",
        table.to_csv(index=False),
        file_name=f"{t.card.name}-metrics.csv",
        mime="text/csv",
        icon=":material/download:",
        key=f"{ns}.csv",
        on_click="ignore",
    )
    values = {"precision": metrics.precision, "recall": metrics.recall, "f1": metrics.f1}
    names = ("threshold", *values)
    chart_block(
        charts.metric_intervals_spec(
            t.labels,
            {"threshold": np.clip(t.thr, 0, 1), **values},
            lows=None if boot is None else {m: getattr(boot, f"{m}_low") for m in names},
            highs=None if boot is None else {m: getattr(boot, f"{m}_high") for m in names},
        ),
        "per-class-metrics",
        key=f"{ns}.pcm",
    )
    st.caption(
        "Per-class threshold, precision, recall and F1"
        + (
            f"; bars: {boot.confidence:.0%} bootstrap intervals ({boot.n_resamples} resamples, "
            f"seed {boot.seed}) for the thresholds chosen by {code_span(t.state['objective'])}."
            if boot is not None
            else ". Run an optimiser, then “Bootstrap intervals” (section 6) for error bars."
        )
    )


def optimise_section(t: Tuning, focus: int) -> None:
    """Section 6 (below its title): objective, Optimise, cost curve, bootstrap."""
    state, ns, ev = t.state, t.ns, t.ev
    kinds = ["F-beta", "precision ≥ p", "recall ≥ r", "cost"]
    kinds += ["coverage ≥ c", "accuracy ≥ a"] if t.multi_class else []
    c1, c2, c3 = st.columns(3)
    kind = c1.selectbox("Objective", kinds, key=f"{ns}.kind")
    params: dict[str, Any] = {"kind": kind}
    if kind == "F-beta":
        params["beta"] = c2.number_input(
            "β (β > 1 favours recall)", 0.1, 10.0, 1.0, 0.1, key=f"{ns}.beta"
        )
    elif kind == "cost":
        params["cost_fp"] = c2.number_input(
            "Cost of a false positive", 0.0, 1e6, 1.0, key=f"{ns}.cfp"
        )
        params["cost_fn"] = c3.number_input(
            "Cost of a false negative", 0.0, 1e6, 5.0, key=f"{ns}.cfn"
        )
    else:
        params["target"] = c2.number_input("Target", 0.0, 1.0, 0.9, 0.01, key=f"{ns}.target")
    try:
        objective = ts.objective_text(params)
        parse_objective(objective)
    except ValueError as exc:
        st.error(escape_markdown(str(exc)))
        return
    st.button(
        f"Optimise: {objective}",
        type="primary",
        icon=":material/tune:",
        on_click=_optimise,
        args=(state, ev, objective),
        key=f"{ns}.run",
    )
    selection = state["selection"]
    if selection is not None and state["objective"] != "manual":
        bad = [c.label for c in selection.choices if not c.feasible]
        if bad:
            st.warning(
                f"{len(bad)} classes cannot reach the target; they got their best reachable "
                f"value: {escape_markdown(', '.join(bad[:15]))}{'…' if len(bad) > 15 else ''}"
            )
    if kind == "cost":
        label = t.labels[focus]
        cc = cost_curve(
            ev.sweep.curves[focus], cost_fp=params["cost_fp"], cost_fn=params["cost_fn"]
        )
        chart_block(
            charts.cost_curve_spec(cc, threshold=operating_threshold(t, focus)),
            f"cost-{label}",
            key=f"{ns}.cost",
        )
        st.caption(
            f"Expected cost per example for {escape_markdown(label)}: minimum "
            f"{cc.best_cost:.4f} at {min(cc.best_threshold, 1.0):.3f}. For calibrated "
            f"probabilities the Bayes-optimal threshold is c_FP/(c_FP+c_FN) = "
            f"{cc.bayes_threshold:.3f} (see section 7 for how calibrated these scores are)."
        )
    c1, c2, c3 = st.columns([1, 1, 2], vertical_alignment="bottom")
    n_boot = c1.number_input("Resamples", 200, 2000, 200, 100, key=f"{ns}.nboot")
    seed = c2.number_input("Seed", 0, 2**31 - 1, 0, key=f"{ns}.seed")
    c3.button(
        "Bootstrap intervals",
        icon=":material/stacked_line_chart:",
        disabled=_parsed(state["objective"]) is None,
        help="Re-runs the last optimiser on resampled rows: intervals for each chosen "
        "threshold and its metrics. Needs an optimiser run first.",
        key=f"{ns}.boot",
        on_click=_bootstrap,
        args=(state, ev, int(n_boot), int(seed)),
    )


def confusion_section(t: Tuning, metrics: Any) -> None:
    """Section 7 (below its title): heatmap (multi-class) or lazy tabs (multi-label)."""
    ns, labels, ev, thr = t.ns, t.labels, t.ev, t.thr
    if t.multi_class:
        cm = ev.confusion_matrix(thr, reject_threshold=t.reject)
        if len(labels) > 25 and not st.toggle(
            f"Show all {len(labels)} classes", key=f"{ns}.all_cm"
        ):
            cm = cm.top(20)
            st.caption("The 20 classes with the most errors (in their row or column).")
        chart_block(charts.confusion_heatmap_spec(cm), "confusion", key=f"{ns}.cm")
        return
    # lazy tabs: only the open one is computed on a threshold move
    tabs = st.tabs(
        ["2×2 per class", "Co-occurrence", "Label cardinality"],
        key=f"{ns}.cmtab",
        on_change="rerun",
    )
    if tabs[0].open:
        with tabs[0]:
            chart_block(
                charts.multilabel_confusion_grid_spec(
                    labels, metrics.tp, metrics.fp, metrics.fn, metrics.tn
                ),
                "confusion-per-class",
                key=f"{ns}.grid",
            )
    if tabs[1].open:
        with tabs[1]:
            chart_block(
                charts.cooccurrence_heatmap_spec(labels, ev.cooccurrence(thr)),
                "cooccurrence",
                key=f"{ns}.co",
            )
            st.caption(
                "Row i, column j: examples whose truth has label i and whose prediction "
                "has j (the diagonal holds the true positives)."
            )
    if tabs[2].open:
        with tabs[2]:
            uniform = float(thr[0]) if np.all(thr == thr[0]) else None
            chart_block(
                charts.cardinality_spec(_cardinality(ns, ev), threshold=uniform),
                "cardinality",
                key=f"{ns}.card",
            )
            st.caption(
                "Blue: mean predicted labels per example if every class used one global "
                "threshold (dashed: mean true labels). Orange: share of examples with no "
                "label. The red rule marks the current threshold when all classes share one."
            )


_MODE_NAMES = {
    "top-label": "the top class (confidence vs accuracy)",
    "pooled": "all classes pooled",
}


def calibration_section(t: Tuning) -> None:
    """Section 8 (below its title): reliability before/after a fit, ECE and MCE."""
    ns, labels = t.ns, t.labels
    c1, c2 = st.columns([3, 1])
    modes = (["top-label"] if t.multi_class else []) + ["pooled", *range(len(labels))]
    mode = c1.selectbox(
        "Reliability of",
        modes,
        key=f"{ns}.calmode",
        format_func=lambda m: _MODE_NAMES[m] if isinstance(m, str) else f"class {labels[m]}",
    )
    n_bins = int(c2.number_input("Bins", 5, 50, 15, key=f"{ns}.bins"))
    comp, before, after = _reliability(ns, mode, n_bins, t.evs)
    method = (
        f"temperature scaling (T = {comp.fit.temperature:.3f})"
        if comp.method == "temperature"
        else "per-class Platt scaling"
    )
    chart_block(
        charts.reliability_spec({"before": before, f"after {comp.method}": after}),
        "reliability",
        key=f"{ns}.rel",
    )
    cols = st.columns(4)
    cols[0].metric("ECE before", f"{before.ece:.4f}")
    cols[1].metric(
        "ECE after", f"{after.ece:.4f}", f"{after.ece - before.ece:+.4f}", delta_color="inverse"
    )
    cols[2].metric("MCE before", f"{before.mce:.4f}")
    cols[3].metric(
        "MCE after", f"{after.mce:.4f}", f"{after.mce - before.mce:+.4f}", delta_color="inverse"
    )
    st.caption(
        f"Fitted on this data with {method}"
        + ("" if t.evs.logits is not None else ", from logits recovered from the probabilities")
        + ". A well-calibrated model follows the dashed diagonal. Fitting and judging on the "
        "same rows flatters the “after” curve: fit on dev, check on test."
    )


def export_section(t: Tuning, metrics: Any) -> None:
    """Section 9 (below its title): thresholds.json, import, and the Playground link."""
    ns, card, labels = t.ns, t.card, t.labels
    doc_text = ts.thresholds_json_text(
        metrics,
        objective=t.state["objective"],
        data_sha256=t.evs.sha256,
        model=t.evs.model,
        bootstrap=t.state["boot"],
    )
    c1, c2 = st.columns(2)
    with c1:
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
        with st.expander("Preview thresholds.json"):
            st.code(doc_text, language="json", height=300)
    with c2:
        import_key = f"{ns}.import"
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
    if tuple(labels) == card.labels and t.ev.task == card.task:
        st.page_link(
            "pages/playground.py",
            label="Use these thresholds in the Playground",
            icon=":material/open_in_new:",
            query_params=ts.playground_query_params(
                card.name, labels, t.thr, task=t.ev.task, reject_threshold=t.reject
            ),
        )
        if t.multi_class:
            st.caption(
                "The link carries the reject threshold and every non-zero per-class "
                "threshold (the Playground applies those without sliders)."
            )
    else:
        st.caption("These labels are not the selected model's, so there is no Playground link.")
