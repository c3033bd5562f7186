"""What the threshold-tuning page computes, without Streamlit: data sets, tables, links, exports.

The page (``pages/thresholds.py``) reads widgets and renders; everything it shows is built
here from the core modules (:mod:`cls_core.evaluation.metrics`, :mod:`cls_core.evaluation.thresholds`,
:mod:`cls_core.evaluation.evaldata`), so it is testable without a browser.

- :class:`EvalSet`: one evaluation data set ready for analysis (its
  :class:`~cls_core.evaluation.metrics.Evaluation` is built once, i.e. sorted once).
- :func:`eval_set_from_texts` / :func:`eval_set_from_scores`: from a scored labelled text
  file or a precomputed scores file.
- :func:`initial_thresholds`, :func:`ranking_summary`, :func:`class_table`: starting
  thresholds, AP / ROC-AUC per class and averaged, the per-class metrics table.
- :func:`playground_query_params`: the Playground URL parameters for a set of thresholds.
- :func:`thresholds_json_text`: the same thresholds.json text as ``python -m cls_core tune``.

A class fires when ``score >= threshold``, as everywhere else.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from cls_core.evaluation.evaldata import DataReport, ScoresData, TextsData
from cls_core.evaluation.metrics import Evaluation, MetricsAt, build_evaluation, build_sweep
from cls_core.evaluation.thresholds import (
    BootstrapIntervals,
    Objective,
    ThresholdsFile,
    thresholds_file,
)
from cls_core.scoring.decisions import Task

__all__ = [
    "PLAYGROUND_STEP",
    "EvalSet",
    "RankingSummary",
    "SourceKind",
    "class_table",
    "eval_set_from_scores",
    "eval_set_from_texts",
    "frame_to_csv_bytes",
    "imported_thresholds",
    "initial_reject_threshold",
    "initial_thresholds",
    "objective_text",
    "playground_query_params",
    "ranking_summary",
    "thresholds_json_text",
]

SourceKind = Literal["bundled", "demo", "texts", "scores"]
#: The Playground's threshold sliders move in steps of 0.001.
PLAYGROUND_STEP = 0.001


@dataclass(frozen=True, kw_only=True)
class EvalSet:
    """An evaluation data set ready for analysis.

    Attributes
    ----------
    name : str
        What the page calls it ("goemotions dev split", "scores.csv").
    source : "bundled", "demo", "texts" or "scores"
    evaluation : Evaluation
        Scores are probabilities; built (sorted) once.
    logits : ndarray of shape (n_examples, n_classes) or None
        Raw logits when known (model-scored texts, or a scores file read as logits):
        calibration fits use them.
    activation : "softmax" or "sigmoid"
        How ``logits`` became ``evaluation.scores`` (softmax for multi-class).
    score_kind : "probabilities" or "logits"
        How the input's score columns were read (model-scored sets: "logits").
    report : DataReport
    sha256 : str
        SHA-256 of the input file's bytes (``data_sha256`` in thresholds.json).
    model : str or None
        The model that produced the scores; None for a model-agnostic scores file.
    texts : tuple of str or None
        One text per row when known (labelled texts; a scores file with a ``text`` column),
        for the examples list, label issues and slices.
    columns : DataFrame or None
        The input's other columns for the kept rows (slicing by an extra column).
    """

    name: str
    source: SourceKind
    evaluation: Evaluation
    logits: npt.NDArray[np.floating[Any]] | None
    activation: Literal["softmax", "sigmoid"]
    score_kind: Literal["probabilities", "logits"]
    report: DataReport
    sha256: str
    model: str | None = None
    texts: tuple[str, ...] | None = None
    columns: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def task(self) -> Task:
        """The evaluation's task."""
        return self.evaluation.task

    @property
    def labels(self) -> tuple[str, ...]:
        """Class names in class-id order."""
        return self.evaluation.labels


def frame_to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """A DataFrame as UTF-8 CSV bytes (deterministic, so its SHA-256 identifies the data)."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def eval_set_from_texts(
    texts: TextsData,
    logits: npt.ArrayLike,
    scores: npt.ArrayLike,
    *,
    labels: Sequence[str],
    activation: Literal["softmax", "sigmoid"],
    name: str,
    source: SourceKind,
    model: str,
) -> EvalSet:
    """An :class:`EvalSet` from a labelled text file and the model's outputs for its texts.

    Parameters
    ----------
    texts : TextsData
        From :func:`cls_core.evaluation.evaldata.load_texts` with a truth column.
    logits, scores : array-like of shape (len(texts.texts), n_classes)
    labels : the model's labels (class-id order)
    activation : the model's activation

    Raises
    ------
    ValueError
        ``texts`` has no truth, or the shapes disagree.
    """
    if texts.truth is None:
        raise ValueError("`texts` must have a truth column to be evaluated")
    score_matrix = np.asarray(scores)
    logit_matrix = np.asarray(logits)
    expected = (len(texts.texts), len(labels))
    if score_matrix.shape != expected or logit_matrix.shape != expected:
        raise ValueError(
            f"`logits` and `scores` must have shape {expected}; "
            f"got {logit_matrix.shape} and {score_matrix.shape}"
        )
    truth: Any = texts.truth.ids if texts.truth.task == "multi-class" else texts.truth.indicator
    evaluation = build_evaluation(score_matrix, truth, labels=labels, task=texts.truth.task)
    return EvalSet(
        name=name,
        source=source,
        evaluation=evaluation,
        logits=logit_matrix,
        activation=activation,
        score_kind="logits",
        report=texts.report,
        sha256=texts.sha256,
        model=model,
        texts=tuple(texts.texts),
        columns=texts.other,
    )


def eval_set_from_scores(data: ScoresData, *, name: str) -> EvalSet:
    """An :class:`EvalSet` from a checked precomputed scores file (model-agnostic)."""
    return EvalSet(
        name=name,
        source="scores",
        evaluation=data.evaluation(),
        logits=data.raw_scores if data.score_kind == "logits" else None,
        activation="softmax" if data.task == "multi-class" else "sigmoid",
        score_kind=data.score_kind,
        report=data.report,
        sha256=data.sha256,
        model=None,
        texts=_text_column(data.other),
        columns=data.other.reset_index(drop=True),
    )


#: Column names a scores file's texts are looked for under, in order.
TEXT_COLUMNS = ("text", "texts", "sentence", "comment", "query", "utterance")


def _text_column(other: pd.DataFrame) -> tuple[str, ...] | None:
    """The texts of a scores file: its first column named like :data:`TEXT_COLUMNS`."""
    for name in TEXT_COLUMNS:
        if name in other.columns:
            return tuple("" if pd.isna(v) else str(v) for v in other[name].tolist())
    return None


def initial_thresholds(
    eval_set: EvalSet,
    *,
    card_labels: Sequence[str] = (),
    card_thresholds: Sequence[float] | None = None,
) -> npt.NDArray[np.float64]:
    """Where the per-class thresholds start.

    Multi-label: the model card's thresholds when the model scored the data and it has the
    card's labels (in order); 0.5 for every class otherwise, and always for a
    model-agnostic scores file. Multi-class: 0 for every class (the arg-max is always
    answered; the reject threshold decides abstentions).
    """
    n = len(eval_set.labels)
    if eval_set.task == "multi-class":
        return np.zeros(n)
    if (
        eval_set.source != "scores"
        and card_thresholds is not None
        and tuple(card_labels) == eval_set.labels
    ):
        return np.asarray(card_thresholds, dtype=np.float64).copy()
    return np.full(n, 0.5)


def initial_reject_threshold(
    eval_set: EvalSet, *, card_labels: Sequence[str] = (), card_reject: float | None = None
) -> float:
    """The starting reject threshold (multi-class): the card's when the labels match, else 0."""
    if (
        eval_set.task == "multi-class"
        and card_reject is not None
        and tuple(card_labels) == eval_set.labels
    ):
        return float(card_reject)
    return 0.0


@dataclass(frozen=True, kw_only=True)
class RankingSummary:
    """Threshold-free ranking quality: AP and ROC-AUC per class (one-vs-rest) and averaged.

    ``macro_*`` average over the classes where the score is defined (AP: classes with
    positives; ROC-AUC: classes with positives and negatives). ``micro_*`` pool every
    (example, class) pair into one ranking, as scikit-learn's ``average="micro"``.
    """

    labels: tuple[str, ...]
    average_precision: npt.NDArray[np.float64]
    roc_auc: npt.NDArray[np.float64]
    micro_average_precision: float
    macro_average_precision: float
    micro_roc_auc: float
    macro_roc_auc: float


def _nanmean(values: npt.NDArray[np.float64]) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else math.nan


def ranking_summary(evaluation: Evaluation) -> RankingSummary:
    """AP and ROC-AUC of every class and their micro/macro averages (one extra sort, pooled)."""
    curves = evaluation.ranking_sweep.curves
    ap = np.array([c.average_precision if c.n_positive else math.nan for c in curves])
    auc = np.array([c.roc_auc for c in curves])
    pooled = build_sweep(
        evaluation.scores.reshape(-1, 1),
        evaluation.truth.reshape(-1, 1),
        labels=["all"],
        rule="one-vs-rest",
    ).curves[0]
    return RankingSummary(
        labels=evaluation.labels,
        average_precision=ap,
        roc_auc=auc,
        micro_average_precision=pooled.average_precision,
        macro_average_precision=_nanmean(ap),
        micro_roc_auc=pooled.roc_auc,
        macro_roc_auc=_nanmean(auc),
    )


def class_table(
    metrics: MetricsAt,
    ranking: RankingSummary,
    *,
    intervals: BootstrapIntervals | None = None,
) -> pd.DataFrame:
    """The per-class metrics table: threshold, P/R/F1, support, TP/FP/FN, AP, ROC-AUC.

    With ``intervals`` (bootstrap), the F1/precision/recall interval bounds are added as
    ``f1_low``/``f1_high`` etc.
    """
    frame = metrics.to_frame().drop(columns=["tn"])
    frame["ap"] = ranking.average_precision
    frame["roc_auc"] = ranking.roc_auc
    if intervals is not None:
        for name in ("precision", "recall", "f1"):
            frame[f"{name}_low"] = getattr(intervals, f"{name}_low")
            frame[f"{name}_high"] = getattr(intervals, f"{name}_high")
    return frame


def playground_query_params(
    model: str,
    labels: Sequence[str],
    thresholds: npt.ArrayLike,
    *,
    task: Task,
    reject_threshold: float | None = None,
    source: str | None = None,
) -> dict[str, str]:
    """URL query parameters that open the Playground with these thresholds.

    The Playground binds its sliders to the URL: multi-label thresholds to
    ``t.<model>.<label>``, the multi-class reject threshold to ``reject.<model>``. Values
    are carried exactly (the shortest text that reads back as the same float), only
    clipped to the sliders' [0, 1]: rounding to the sliders' step would move a threshold
    below an example scoring exactly at it, and its decision would change. Multi-class
    per-class (winner) thresholds go to ``t.<model>.<label>`` too, where the Playground
    applies them without sliders; zeros are left out. ``source`` (e.g. "Threshold tuning
    on goemotions dev split") goes to ``thresholds_from``, so the Playground can say where
    its thresholds came from. A switched-off class (threshold ``inf``) goes to
    ``off.<model>.<label>=1`` instead, and the Playground never fires it.

    Raises
    ------
    ValueError
        ``thresholds`` does not have one value per label.
    """
    values = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    if values.shape[0] != len(labels):
        raise ValueError(
            f"`thresholds` must have one value per label ({len(labels)}); got {values.shape[0]}"
        )
    params = {"model": model}
    if source:
        params["thresholds_from"] = source
    for label, value in zip(labels, values, strict=True):
        if value == np.inf:  # switched off: never fires
            params[f"off.{model}.{label}"] = "1"
    if task == "multi-label":
        for label, value in zip(labels, values, strict=True):
            if value != np.inf:
                params[f"t.{model}.{label}"] = _slider_value(value)
        return params
    # multi-class: per-class winner thresholds (0 = no constraint, left out of the URL)
    for label, value in zip(labels, values, strict=True):
        text = _slider_value(value)
        if text != "0" and value != np.inf:
            params[f"t.{model}.{label}"] = text
    if reject_threshold is not None:
        params[f"reject.{model}"] = _slider_value(reject_threshold)
    return params


def _slider_value(value: float) -> str:
    """``value`` clipped to [0, 1], as the shortest text that reads back exactly (repr)."""
    clipped = min(1.0, max(0.0, float(value))) if math.isfinite(value) else float(value > 0)
    return "0" if clipped == 0.0 else "1" if clipped == 1.0 else repr(clipped)


def thresholds_json_text(
    metrics: MetricsAt,
    *,
    objective: Objective | str = "manual",
    data_sha256: str = "",
    model: str | None = None,
    bootstrap: BootstrapIntervals | None = None,
) -> str:
    """thresholds.json as text, byte for byte what ``python -m cls_core tune`` writes."""
    document = thresholds_file(
        metrics, objective=objective, data_sha256=data_sha256, model=model, bootstrap=bootstrap
    )
    return json.dumps(document.to_dict(), indent=2, allow_nan=False) + "\n"


def imported_thresholds(
    document: ThresholdsFile, labels: Sequence[str]
) -> tuple[npt.NDArray[np.float64], float | None]:
    """Per-class thresholds (class order of ``labels``) and reject threshold from a file.

    Raises
    ------
    ValueError
        The file's labels are not exactly ``labels`` (same names, same order).
    """
    if tuple(document.labels) != tuple(labels):
        raise ValueError(
            f"the thresholds file lists labels {list(document.labels)[:5]}…; "
            f"this data set has {list(labels)[:5]}…"
        )
    reject = document.reject_threshold if document.task == "multi-class" else None
    return np.asarray(document.thresholds, dtype=np.float64), reject


def objective_text(values: Mapping[str, Any]) -> str:
    """Canonical objective text from the page's optimiser widgets (see :func:`parse_objective`).

    ``values`` holds ``kind`` ("F-beta", "precision ≥ p", "recall ≥ r", "cost",
    "coverage ≥ c", "accuracy ≥ a") and the matching number(s).
    """
    kind = values["kind"]
    if kind == "F-beta":
        beta = float(values["beta"])
        return "f1" if beta == 1.0 else f"fbeta:{beta:g}"
    if kind == "precision ≥ p":
        return f"precision>={float(values['target']):g}"
    if kind == "recall ≥ r":
        return f"recall>={float(values['target']):g}"
    if kind == "cost":
        return f"cost:fp={float(values['cost_fp']):g},fn={float(values['cost_fn']):g}"
    if kind == "coverage ≥ c":
        return f"coverage>={float(values['target']):g}"
    if kind == "accuracy ≥ a":
        return f"accuracy>={float(values['target']):g}"
    raise ValueError(f"unknown optimiser kind {kind!r}")


#: What the tuning page offers for a class whose optimiser target cannot be met.
UNREACHABLE_CHOICES: Final = ("best effort", "keep previous", "switch off")


def apply_unreachable_choices(
    thresholds: npt.ArrayLike,
    previous: npt.ArrayLike | None,
    choices: Mapping[int, str],
) -> npt.NDArray[np.float64]:
    """Thresholds after the analyst's choice for each class that missed its target.

    Parameters
    ----------
    thresholds : array-like (n_classes,)
        The optimiser's result (best effort for the classes that missed the target).
    previous : array-like (n_classes,) or None
        The thresholds before the optimiser ran ("keep previous").
    choices : mapping class index → one of :data:`UNREACHABLE_CHOICES`
        "switch off" sets the threshold to ``inf`` (the class never fires).

    Raises
    ------
    ValueError
        An unknown choice, a class index out of range, or "keep previous" without
        ``previous``.
    """
    out = np.asarray(thresholds, dtype=np.float64).copy()
    for i, choice in choices.items():
        if not 0 <= int(i) < out.shape[0]:
            raise ValueError(f"class index {i} is out of range for {out.shape[0]} classes")
        if choice == "switch off":
            out[int(i)] = np.inf
        elif choice == "keep previous":
            if previous is None:
                raise ValueError("'keep previous' needs the thresholds from before the optimiser")
            out[int(i)] = float(np.asarray(previous, dtype=np.float64)[int(i)])
        elif choice != "best effort":
            raise ValueError(f"choice must be one of {list(UNREACHABLE_CHOICES)}; got {choice!r}")
    return out
