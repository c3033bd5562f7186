"""Cached loaders: bundled splits, the demo set, uploads, and texts scored by the model.

Scores come from the disk score cache or are computed in chunks with a progress bar; every
EvalSet is built (and sorted per class) once per data set and options.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from cls_core.evaluation.demo_data import demo_eval_set
from cls_core.evaluation.evaldata import load_scores, load_texts, read_table
from cls_core.evaluation.score_cache import score_texts_cached
from cls_core.evaluation.thresholds import sha256_of
from cls_core.evaluation.tuning_session import (
    eval_set_from_scores,
    eval_set_from_texts,
    frame_to_csv_bytes,
)
from cls_core.modelio.datasets import bundled_eval_splits
from cls_core.modelio.registry import ModelCard
from pages._shared import _stamp, loaded_model


def model_stamp(card: ModelCard) -> float:
    """The model's ``saved_model.pb`` modification time (-1 when absent): part of cache keys."""
    return _stamp(card)


def upload_bytes(uploaded: Any) -> tuple[bytes, str]:
    """The bytes of an ``st.file_uploader`` file and their SHA-256 (hashed once per upload)."""
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
    return frame_to_csv_bytes(bundled_eval_splits(model_name)[split]())


@st.cache_data(max_entries=8, show_spinner=False)
def demo_set_bytes(model_name: str) -> bytes:
    """The project-written demo evaluation set of a bundled model as CSV bytes."""
    return frame_to_csv_bytes(demo_eval_set(model_name))


@st.cache_data(max_entries=16, show_spinner=False)
def table_columns(sha256: str, name: str, _data: bytes) -> list[str]:
    """Column names of an uploaded table (raises EvalDataError for unreadable files)."""
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

    Scores come from the disk cache (model + stamp + hash of the texts + text column) or are
    computed in chunks with a progress bar; the Evaluation is built once per data set.
    Raises EvalDataError for bad files and ModelLoadError when the model cannot load.
    """

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

        def predict(batch: list[str]) -> Any:
            # the model (and TensorFlow, seconds on a fresh server) is loaded only when the
            # disk cache misses; loaded_model shows "Loading the model…" while it loads
            return loaded_model(card).predict(batch)

        scored = score_texts_cached(
            texts.texts,
            predict,
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
