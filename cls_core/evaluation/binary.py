"""Binary classifiers: one threshold on the positive class's score, its metrics and tuning.

A binary model (one sigmoid output ``p``, shown as two classes ``(negative, positive)``
with scores ``[1 - p, p]``) decides with **one** threshold ``t``: positive when
``p >= t``, else negative (:func:`cls_core.scoring.decisions.binary_decide`; the exported
``decision`` signature computes the same). This module measures that rule on labelled
data and chooses ``t``.

It reuses the per-class machinery unchanged: the positive column is a one-class
``one-vs-rest`` :class:`~cls_core.evaluation.metrics.Evaluation` (class fires when
``p >= t``: exactly the binary rule), so curves, every per-class objective (``f1``,
``fbeta:B``, ``precision>=P``, ``recall>=R``, ``cost:fp=A,fn=B``), minimum support and
bootstrap intervals are the ones :mod:`cls_core.evaluation.thresholds` computes for one
class. What binary adds: the negative class's counts (``tn``), accuracy, and a
thresholds.json with ``task: "binary"`` (:func:`binary_thresholds_file`).

The reject objectives (``coverage>=C``, ``accuracy>=A``) do not apply: the binary rule
never abstains.

This module imports neither TensorFlow nor scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from cls_core.evaluation.metrics import (
    ClassCurve,
    Evaluation,
    build_evaluation,
    downsample_indices,
    fbeta_from_counts,
)
from cls_core.evaluation.thresholds import (
    BootstrapIntervals,
    Objective,
    ThresholdChoice,
    ThresholdsFile,
    few_positive_warnings,
    parse_objective,
    tune,
)
from cls_core.scoring.decisions import (
    BINARY_THRESHOLD,
    positive_scores,
    validate_binary_threshold,
    validate_labels,
)

__all__ = [
    "BinaryEvaluation",
    "BinaryMetrics",
    "BinaryTuneResult",
    "binary_evaluated_on",
    "binary_thresholds_file",
    "build_binary_evaluation",
    "tune_binary",
]


@dataclass(frozen=True, kw_only=True)
class BinaryMetrics:
    """The binary rule's counts and metrics at one threshold (positive when ``p >= t``).

    Attributes
    ----------
    labels : (negative, positive)
    threshold : float
    tp, fp, fn, tn : int
        Counts of the positive class (``tn``: negatives said negative).
    n_examples : int
    precision, recall, f1 : float
        Of the positive class (``zero_division=0``).
    negative_precision, negative_recall, negative_f1 : float
        Of the negative class (predicted when ``p < t``).
    accuracy : float
        ``(tp + tn) / n_examples``.
    macro_f1 : float
        Mean of the two classes' F1.
    positive_share : float
        Share of examples said positive.
    """

    labels: tuple[str, str]
    threshold: float
    tp: int
    fp: int
    fn: int
    tn: int
    n_examples: int
    precision: float
    recall: float
    f1: float
    negative_precision: float
    negative_recall: float
    negative_f1: float
    accuracy: float
    macro_f1: float
    positive_share: float

    def per_class_frame(self) -> pd.DataFrame:
        """One row per class (negative, positive): label, rule, precision, recall, f1, support."""
        return pd.DataFrame(
            {
                "label": list(self.labels),
                "said when": [f"p < {self.threshold:.3f}", f"p ≥ {self.threshold:.3f}"],
                "precision": [self.negative_precision, self.precision],
                "recall": [self.negative_recall, self.recall],
                "f1": [self.negative_f1, self.f1],
                "support": [self.tn + self.fp, self.tp + self.fn],
            }
        )

    def confusion_frame(self) -> pd.DataFrame:
        """The 2x2 table: rows are the truth, columns the decision."""
        neg, pos = self.labels
        return pd.DataFrame(
            {f"said {neg}": [self.tn, self.fn], f"said {pos}": [self.fp, self.tp]},
            index=[f"truly {neg}", f"truly {pos}"],
        )


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else 0.0


@dataclass(frozen=True, kw_only=True)
class BinaryEvaluation:
    """A labelled data set seen through the binary rule (build with :func:`build_binary_evaluation`).

    Attributes
    ----------
    labels : (negative, positive)
    positive : ndarray (n,)
        The positive class's score ``p`` per example.
    truth : bool ndarray (n,)
        True where the example is truly positive.
    evaluation : Evaluation
        The positive column as a one-class one-vs-rest evaluation (label ``labels[1]``):
        its class fires exactly when ``p >= t``. The optimisers, curves and bootstrap of
        :mod:`cls_core.evaluation.thresholds` run on it unchanged.
    """

    labels: tuple[str, str]
    positive: npt.NDArray[np.floating[Any]]
    truth: npt.NDArray[np.bool_]
    evaluation: Evaluation

    @property
    def n_examples(self) -> int:
        return int(self.truth.shape[0])

    @property
    def n_positive(self) -> int:
        return int(self.truth.sum())

    @property
    def n_negative(self) -> int:
        return self.n_examples - self.n_positive

    @property
    def curve(self) -> ClassCurve:
        """The positive class's curve over every distinct ``p`` (highest threshold first)."""
        return self.evaluation.sweep.curves[0]

    def metrics_at(self, threshold: float = BINARY_THRESHOLD) -> BinaryMetrics:
        """Counts and metrics of the binary rule at ``threshold`` (one binary search).

        Raises
        ------
        TypeError, ValueError
            ``threshold`` is not a number in [0, 1] (NaN included).
        """
        t = validate_binary_threshold(threshold)
        tp_a, fp_a, fn_a = self.evaluation.sweep.counts_at(np.array([t]))
        tp, fp, fn = int(tp_a[0]), int(fp_a[0]), int(fn_a[0])
        predicted = tp + fp
        tn = self.n_negative - fp
        f1 = float(fbeta_from_counts(tp, fp, fn))
        neg_f1 = float(fbeta_from_counts(tn, fn, fp))
        return BinaryMetrics(
            labels=self.labels,
            threshold=t,
            tp=tp,
            fp=fp,
            fn=fn,
            tn=tn,
            n_examples=self.n_examples,
            precision=_ratio(tp, tp + fp),
            recall=_ratio(tp, self.n_positive),
            f1=f1,
            negative_precision=_ratio(tn, tn + fn),
            negative_recall=_ratio(tn, self.n_negative),
            negative_f1=neg_f1,
            accuracy=_ratio(tp + tn, self.n_examples),
            macro_f1=(f1 + neg_f1) / 2.0,
            positive_share=_ratio(predicted, self.n_examples),
        )

    @cached_property
    def _sweep_table(self) -> pd.DataFrame:
        c = self.curve
        tn = self.n_negative - c.fp
        return pd.DataFrame(
            {
                "threshold": c.thresholds.astype(np.float64),
                "precision": c.precision,
                "recall": c.recall,
                "f1": c.fbeta(1.0),
                "accuracy": (c.tp + tn) / max(self.n_examples, 1),
            }
        )

    def threshold_sweep(self, *, max_points: int | None = None) -> pd.DataFrame:
        """Metrics of the positive class and accuracy at every distinct ``p``.

        Returns
        -------
        DataFrame with columns ``threshold`` (decreasing: row ``i`` is the rule
        "positive when ``p >= threshold[i]``"), ``precision``, ``recall``, ``f1``,
        ``accuracy``; downsampled to about ``max_points`` rows when given.
        """
        table = self._sweep_table
        if max_points is None or len(table) <= max_points:
            return table.reset_index(drop=True)
        if max_points not in self._downsampled:  # the same rows on every threshold move
            keep = downsample_indices(
                table["recall"].to_numpy(), table["precision"].to_numpy(), max_points=max_points
            )
            self._downsampled[max_points] = table.iloc[keep].reset_index(drop=True)
        return self._downsampled[max_points]

    @cached_property
    def _downsampled(self) -> dict[int, pd.DataFrame]:
        return {}


def build_binary_evaluation(
    scores: npt.ArrayLike, truth: npt.ArrayLike, *, labels: Sequence[str]
) -> BinaryEvaluation:
    """Validate a binary evaluation set and sort it once.

    Parameters
    ----------
    scores : array-like of shape (n,), (n, 1) or (n, 2)
        The positive scores ``p`` (probabilities in [0, 1]), or the two columns
        ``[1 - p, p]``.
    truth : array-like of shape (n,)
        Class ids (0 = negative, 1 = positive) or bools (True = positive).
    labels : (negative, positive)

    Raises
    ------
    TypeError, ValueError
        Not two unique labels; scores of another shape, NaN or outside [0, 1] (the row
        named); truth of another length or with ids other than 0 and 1.

    Examples
    --------
    >>> bev = build_binary_evaluation([0.1, 0.6, 0.8], [0, 0, 1], labels=["ham", "spam"])
    >>> bev.metrics_at(0.5).accuracy, bev.metrics_at(0.7).accuracy
    (0.6666666666666666, 1.0)
    """
    names = validate_labels(labels, 2)
    p = positive_scores(scores)
    if p.shape[0] == 0:
        raise ValueError("`scores` must hold at least one example")
    outside = ~((p >= 0.0) & (p <= 1.0))
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"`scores` must be probabilities in [0, 1]; got {float(p[i])!r} at row {i}"
        )
    t = np.asarray(truth)
    if t.ndim != 1 or t.shape[0] != p.shape[0]:
        raise ValueError(
            f"`truth` must have shape ({p.shape[0]},) (one class id per example); got {t.shape}"
        )
    if t.dtype.kind == "b":
        positive = t.astype(bool)
    elif t.dtype.kind in "iuf":
        bad = ~np.isin(t, (0, 1))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"`truth` must hold class ids 0 ({names[0]}) or 1 ({names[1]}); got {t[i].item()!r} at row {i}"
            )
        positive = t == 1
    else:
        raise TypeError(f"`truth` must be class ids or bools; got dtype {t.dtype}")
    evaluation = build_evaluation(
        p[:, np.newaxis], positive[:, np.newaxis], labels=[names[1]], task="multi-label"
    )
    p_read = np.asarray(evaluation.scores[:, 0])
    truth_read = positive.copy()
    truth_read.setflags(write=False)
    return BinaryEvaluation(
        labels=(names[0], names[1]), positive=p_read, truth=truth_read, evaluation=evaluation
    )


@dataclass(frozen=True, kw_only=True)
class BinaryTuneResult:
    """The threshold ``tune_binary`` chose and everything measured there.

    Attributes
    ----------
    objective : Objective
    threshold : float in [0, 1]
    choice : ThresholdChoice
        The positive class's choice (feasibility, objective value, minimum support).
    metrics : BinaryMetrics
        At ``threshold``.
    bootstrap : BootstrapIntervals or None
        Intervals for the threshold and the positive class's precision/recall/F1.
    warnings : tuple of str
    """

    objective: Objective
    threshold: float
    choice: ThresholdChoice
    metrics: BinaryMetrics
    bootstrap: BootstrapIntervals | None
    warnings: tuple[str, ...]


def tune_binary(
    bev: BinaryEvaluation,
    objective: Objective | str = "f1",
    *,
    min_tp: int = 0,
    bootstrap: int = 0,
    seed: int = 0,
    confidence: float = 0.95,
    min_positives: int = 10,
) -> BinaryTuneResult:
    """Choose the binary rule's one threshold for ``objective`` (the positive class's).

    The search is :func:`cls_core.evaluation.thresholds.tune` on the positive column: every
    distinct ``p`` is a candidate, plus "never positive" just above the top score.

    Parameters
    ----------
    bev : BinaryEvaluation
    objective : Objective or str, default "f1"
        ``f1``, ``fbeta:B``, ``precision>=P``, ``recall>=R`` or ``cost:fp=A,fn=B`` (of the
        positive class).
    min_tp, bootstrap, seed, confidence, min_positives
        As :func:`~cls_core.evaluation.thresholds.tune`.

    Raises
    ------
    ValueError
        A reject objective (``coverage>=C``, ``accuracy>=A``: the binary rule never
        abstains), or bad options.
    """
    obj = parse_objective(objective) if isinstance(objective, str) else objective
    if not obj.per_class:
        raise ValueError(
            f"objective {obj} chooses a reject threshold, but the binary rule never abstains; "
            "use f1, fbeta:B, precision>=P, recall>=R or cost:fp=A,fn=B"
        )
    result = tune(
        bev.evaluation,
        obj,
        bootstrap=bootstrap,
        seed=seed,
        confidence=confidence,
        min_positives=min_positives,
        min_tp=min_tp,
    )
    assert result.selection is not None
    choice = result.selection.choices[0]
    threshold = float(np.clip(result.thresholds[0], 0.0, 1.0))
    warnings_ = list(result.warnings)
    if bev.n_negative < min_positives:
        warnings_.extend(
            few_positive_warnings([bev.n_negative], [bev.labels[0]], min_positives=min_positives)
        )
    return BinaryTuneResult(
        objective=obj,
        threshold=threshold,
        choice=choice,
        metrics=bev.metrics_at(threshold),
        bootstrap=result.bootstrap,
        warnings=tuple(warnings_),
    )


def binary_thresholds_file(
    bev: BinaryEvaluation,
    threshold: float,
    *,
    objective: Objective | str = "manual",
    data_sha256: str = "",
    model: str | None = None,
    bootstrap: BootstrapIntervals | None = None,
) -> ThresholdsFile:
    """The thresholds.json of the binary rule at ``threshold`` (``task: "binary"``).

    The file lists both labels, ``thresholds: [t]`` (one number: the threshold on the
    score of ``positive_label``, which is ``labels[1]``), one ``per_class`` row per class
    (the negative class is said when ``p < t``; only the positive row has a threshold),
    micro and macro averages over the two classes, and ``accuracy``. See
    :class:`~cls_core.evaluation.thresholds.ThresholdsFile`.
    """
    m = bev.metrics_at(threshold)
    neg, pos = bev.labels
    positive_row: dict[str, Any] = {
        "label": pos,
        "threshold": m.threshold,
        "precision": m.precision,
        "recall": m.recall,
        "f1": m.f1,
        "support": m.tp + m.fn,
        "tp": m.tp,
        "fp": m.fp,
        "fn": m.fn,
    }
    if bootstrap is not None:
        for name in ("threshold", "precision", "recall", "f1"):
            lo = float(getattr(bootstrap, f"{name}_low")[0])
            hi = float(getattr(bootstrap, f"{name}_high")[0])
            if name == "threshold":
                lo, hi = min(max(lo, 0.0), 1.0), min(max(hi, 0.0), 1.0)
            positive_row[f"{name}_low"] = lo
            positive_row[f"{name}_high"] = hi
    negative_row = {
        "label": neg,
        "precision": m.negative_precision,
        "recall": m.negative_recall,
        "f1": m.negative_f1,
        "support": m.tn + m.fp,
        "tp": m.tn,
        "fp": m.fn,
        "fn": m.fp,
    }
    # single-label, never abstaining: micro precision = recall = F1 = accuracy
    micro, macro = _averages(m)
    return ThresholdsFile(
        labels=bev.labels,
        thresholds=(m.threshold,),
        objective=str(objective),
        task="binary",
        n_examples=m.n_examples,
        data_sha256=data_sha256,
        per_class=(negative_row, positive_row),
        micro=micro,
        macro=macro,
        accuracy=m.accuracy,
        model=model,
        bootstrap=(
            {
                "n_resamples": bootstrap.n_resamples,
                "seed": bootstrap.seed,
                "confidence": bootstrap.confidence,
            }
            if bootstrap is not None
            else None
        ),
    )


def _averages(m: BinaryMetrics) -> tuple[dict[str, float], dict[str, float]]:
    """(micro, macro) over the two classes: micro precision = recall = F1 = accuracy."""
    micro = {"precision": m.accuracy, "recall": m.accuracy, "f1": m.accuracy}
    macro = {
        "precision": (m.precision + m.negative_precision) / 2.0,
        "recall": (m.recall + m.negative_recall) / 2.0,
        "f1": m.macro_f1,
    }
    return micro, macro


def binary_evaluated_on(
    bev: BinaryEvaluation, threshold: float, *, data_sha256: str = ""
) -> dict[str, Any]:
    """The ``evaluated_on`` block of a binary thresholds.json: ``threshold`` on other data.

    Same keys as :func:`cls_core.evaluation.thresholds.evaluated_on` (``data_sha256``,
    ``n_examples``, ``micro``, ``macro``, ``per_class`` rows with precision, recall, f1,
    support) plus ``accuracy``.
    """
    m = bev.metrics_at(threshold)
    micro, macro = _averages(m)
    neg, pos = bev.labels
    return {
        "data_sha256": data_sha256,
        "n_examples": m.n_examples,
        "micro": micro,
        "macro": macro,
        "per_class": [
            {
                "label": neg,
                "precision": m.negative_precision,
                "recall": m.negative_recall,
                "f1": m.negative_f1,
                "support": m.tn + m.fp,
            },
            {
                "label": pos,
                "precision": m.precision,
                "recall": m.recall,
                "f1": m.f1,
                "support": m.tp + m.fn,
            },
        ],
        "accuracy": m.accuracy,
    }
