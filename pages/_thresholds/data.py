"""Sections 1–2 · evaluation data: the source radio, upload widgets and the data report."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from cls_core.evaluation.demo_data import DEMO_MODELS
from cls_core.evaluation.thresholds import sha256_of
from cls_core.modelio.datasets import bundled_eval_splits
from cls_core.modelio.registry import ModelCard
from cls_core.views.formatting import count_noun
from pages._thresholds.loaders import (
    bundled_split_bytes,
    demo_set_bytes,
    scores_eval_set,
    table_columns,
    texts_eval_set,
    upload_bytes,
)

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


def data_report(report: Any) -> None:
    """Render a DataReport: counts, dropped rows and why, label counts."""

    # three tiles, and the task as text: "multi-class" in a metric tile's large type was
    # cut off in a quarter of the main column at 1024 px
    c1, c2, c3 = st.columns(3)
    c1.metric("Rows read", f"{report.n_rows:,}")
    c2.metric("Rows kept", f"{report.n_kept:,}")
    c3.metric("Rows dropped", f"{report.n_rows - report.n_kept:,}")
    st.caption(f"Task: {report.task}.")
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
    with st.expander(f"Label counts ({count_noun(len(counts), 'class', 'classes')})"):
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
