"""Choosing thresholds: per-class optimisers, reject thresholds, bootstrap intervals, thresholds.json.

A class fires when ``score >= threshold``. Every optimiser searches the class's *distinct
scores* (plus "never fire", just above the highest score, when that is still <= 1), not a
grid, using the precomputed :class:`~cls_core.evaluation.metrics.ScoreSweep`: no re-sorting.

Objectives (text form accepted by :func:`parse_objective` and the ``tune`` command):

- ``f1`` / ``fbeta:B``: maximise F-beta; ties go to the higher threshold.
- ``precision>=P``: the highest recall with precision >= P (ties: higher precision, then
  higher threshold). When no threshold reaches P, the highest precision is taken and the
  choice is marked ``feasible=False``.
- ``recall>=R``: the highest precision with recall >= R (ties: higher recall, then higher
  threshold); infeasible → the highest recall, ``feasible=False``.
- ``cost:fp=A,fn=B``: the minimum expected cost ``(A*FP + B*FN) / n_examples``; ties go to
  the higher threshold. For calibrated probabilities the Bayes-optimal threshold is
  ``A / (A + B)`` (:func:`bayes_threshold`).
- ``coverage>=C`` / ``accuracy>=A`` (multi-class only): one global reject threshold, the
  highest one whose coverage is >= C, or the lowest one whose accuracy on answered
  examples is >= A (infeasible → the most accurate point, ``feasible=False``).

Binary models (one threshold ``t`` on the positive class's score, positive when
``p >= t``) are tuned with the same per-class objectives on the positive column
(:mod:`cls_core.evaluation.binary`) and written with ``task: "binary"`` (see
:class:`ThresholdsFile`).

This module imports neither TensorFlow nor scikit-learn.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from cls_core.evaluation.metrics import (
    ClassCurve,
    CoverageCurve,
    Evaluation,
    MetricsAt,
    ScoreSweep,
    argsort_scores,
    fbeta_from_counts,
)
from cls_core.paths import atomic_output
from cls_core.preview import preview, preview_list
from cls_core.scoring.decisions import TASKS, validate_labels

__all__ = [
    "MAX_BETA",
    "MAX_BOOTSTRAP_RESAMPLES",
    "MAX_COST",
    "OBJECTIVE_SYNTAX",
    "THRESHOLDS_TASKS",
    "BootstrapIntervals",
    "CostCurve",
    "FileTask",
    "Objective",
    "RejectChoice",
    "ThresholdChoice",
    "ThresholdSelection",
    "ThresholdsFile",
    "TuneResult",
    "bayes_threshold",
    "bootstrap_intervals",
    "choose_reject_threshold",
    "choose_thresholds",
    "choose_thresholds_from_curves",
    "cost_curve",
    "few_positive_warnings",
    "parse_objective",
    "read_thresholds_json",
    "sha256_of",
    "thresholds_file",
    "tune",
    "write_thresholds_json",
]

#: The ``task`` of a thresholds.json: the two score tasks, or the binary rule.
FileTask = Literal["multi-class", "multi-label", "binary"]
THRESHOLDS_TASKS: Final[tuple[FileTask, ...]] = ("multi-class", "multi-label", "binary")

ObjectiveKind = Literal[
    "fbeta",
    "precision_at_least",
    "recall_at_least",
    "min_cost",
    "coverage_at_least",
    "accuracy_at_least",
]
OBJECTIVE_SYNTAX: Final = (
    "f1, fbeta:B, precision>=P, recall>=R, cost:fp=A,fn=B, coverage>=C or accuracy>=A"
)
_NUMBER = r"([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
#: ``fbeta:B`` takes beta in [1/MAX_BETA, MAX_BETA]: beta² must stay a finite float (past
#: a few hundred F-beta is recall, below 1/100 it is precision, to four decimals).
MAX_BETA: Final = 1e6
#: ``cost:fp=A,fn=B`` takes costs up to MAX_COST: only their ratio matters, and cost ×
#: count sums must stay finite (1e308 + 1e308 is inf, which made every threshold equal).
MAX_COST: Final = 1e12
#: Most bootstrap resamples: memory is 4 × resamples × classes floats (10,000 × 77 classes
#: is 25 MB), and intervals stop changing long before.
MAX_BOOTSTRAP_RESAMPLES: Final = 10_000


# --------------------------------------------------------------------------- objectives


@dataclass(frozen=True, kw_only=True)
class Objective:
    """What a threshold should optimise; ``str(objective)`` gives its canonical text form.

    Attributes
    ----------
    kind : "fbeta", "precision_at_least", "recall_at_least", "min_cost",
        "coverage_at_least" or "accuracy_at_least"
    beta : float
        For "fbeta" (1.0 is F1), in [1/:data:`MAX_BETA`, :data:`MAX_BETA`].
    target : float or None
        P, R, C or A for the "*_at_least" kinds, in (0, 1].
    cost_fp, cost_fn : float or None
        For "min_cost": costs in [0, :data:`MAX_COST`], not both 0.
    """

    kind: ObjectiveKind
    beta: float = 1.0
    target: float | None = None
    cost_fp: float | None = None
    cost_fn: float | None = None

    def __post_init__(self) -> None:
        if self.kind == "fbeta" and not (math.isfinite(self.beta) and self.beta > 0):
            raise ValueError(f"objective fbeta needs a finite beta > 0; got {self.beta}")
        if self.kind == "fbeta" and not 1 / MAX_BETA <= self.beta <= MAX_BETA:
            raise ValueError(
                f"objective fbeta needs beta between {1 / MAX_BETA:g} and {MAX_BETA:g}; "
                f"got {self.beta:g}"
            )
        if self.kind.endswith("_at_least"):
            t = self.target
            if t is None or not (math.isfinite(t) and 0.0 < t <= 1.0):
                raise ValueError(f"objective {self.kind} needs a target in (0, 1]; got {t}")
        if self.kind == "min_cost":
            a, b = self.cost_fp, self.cost_fn
            if (
                a is None
                or b is None
                or not (math.isfinite(a) and math.isfinite(b))
                or a < 0
                or b < 0
            ):
                raise ValueError(f"objective cost needs finite costs >= 0; got fp={a}, fn={b}")
            if a > MAX_COST or b > MAX_COST:
                raise ValueError(
                    f"objective cost needs costs of at most {MAX_COST:g} (only their ratio "
                    f"matters: scale both down); got fp={a:g}, fn={b:g}"
                )
            if a + b == 0:
                raise ValueError("objective cost needs fp + fn > 0; got fp=0, fn=0")

    @property
    def per_class(self) -> bool:
        """True when each class gets its own threshold (False for coverage/accuracy)."""
        return self.kind not in ("coverage_at_least", "accuracy_at_least")

    def __str__(self) -> str:
        if self.kind == "fbeta":
            return "f1" if self.beta == 1.0 else f"fbeta:{self.beta:g}"
        if self.kind == "min_cost":
            return f"cost:fp={self.cost_fp:g},fn={self.cost_fn:g}"
        name = self.kind.removesuffix("_at_least")
        return f"{name}>={self.target:g}"


def parse_objective(text: str) -> Objective:
    """Parse ``f1``, ``fbeta:B``, ``precision>=P``, ``recall>=R``, ``cost:fp=A,fn=B``,
    ``coverage>=C`` or ``accuracy>=A`` (case and spaces ignored).

    Raises
    ------
    TypeError
        ``text`` is not a str.
    ValueError
        Unknown syntax or out-of-range numbers; the message shows the accepted forms.

    Examples
    --------
    >>> str(parse_objective("Precision >= 0.9"))
    'precision>=0.9'
    >>> parse_objective("cost:fp=1,fn=5").cost_fn
    5.0
    """
    if not isinstance(text, str):
        raise TypeError(f"`objective` must be a str; got {type(text).__name__} {text!r}")
    s = re.sub(r"\s+", "", text.lower())
    try:
        if s == "f1":
            return Objective(kind="fbeta", beta=1.0)
        if m := re.fullmatch(r"f(?:beta)?:" + _NUMBER, s):
            return Objective(kind="fbeta", beta=float(m.group(1)))
        if m := re.fullmatch(r"(precision|recall|coverage|accuracy)>=" + _NUMBER, s):
            kind: ObjectiveKind = f"{m.group(1)}_at_least"  # type: ignore[assignment]
            return Objective(kind=kind, target=float(m.group(2)))
        if m := re.fullmatch(r"cost:fp=" + _NUMBER + r",fn=" + _NUMBER, s):
            return Objective(kind="min_cost", cost_fp=float(m.group(1)), cost_fn=float(m.group(2)))
    except ValueError as exc:
        raise ValueError(f"`objective` {text!r} is out of range: {exc}") from None
    raise ValueError(f"`objective` must be one of {OBJECTIVE_SYNTAX}; got {text!r}")


def bayes_threshold(cost_fp: float, cost_fn: float) -> float:
    """The cost-minimising threshold for calibrated probabilities: ``cost_fp / (cost_fp + cost_fn)``.

    Examples
    --------
    >>> bayes_threshold(1, 3)
    0.25
    """
    Objective(kind="min_cost", cost_fp=float(cost_fp), cost_fn=float(cost_fn))  # validates
    return float(cost_fp) / (float(cost_fp) + float(cost_fn))


# --------------------------------------------------------------------------- per-class choice


@dataclass(frozen=True, kw_only=True)
class ThresholdChoice:
    """The threshold chosen for one class and the metrics there (fires at ``score >= threshold``)."""

    label: str
    threshold: float
    tp: int
    fp: int
    fn: int
    support: int
    precision: float
    recall: float
    f1: float
    objective_value: float
    feasible: bool
    #: False when the class has fewer positives than the minimum support asked for.
    min_tp_met: bool = True


@dataclass(frozen=True, kw_only=True)
class ThresholdSelection:
    """Per-class choices for one objective; ``thresholds`` in class order."""

    objective: Objective
    labels: tuple[str, ...]
    thresholds: npt.NDArray[np.float64]
    choices: tuple[ThresholdChoice, ...]


def _candidates(
    curve: ClassCurve, *, top_score: float | None = None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(thresholds, tp, fp), highest threshold first, with the "never fire" point prepended.

    ``top_score``: the class's highest score when ``curve.thresholds[0]`` is below it (a
    bucketed curve, whose points are bucket edges); default the highest curve point.
    """
    thresholds = curve.thresholds.astype(np.float64)
    if thresholds.size == 0:
        never = 1.0
    else:
        top = float(thresholds[0]) if top_score is None else float(top_score)
        never = float(np.nextafter(top, np.inf))
        if top <= 1.0 < never:  # probabilities topping out at exactly 1: cannot go above
            return thresholds, curve.tp.astype(np.int64), curve.fp.astype(np.int64)
    return (
        np.concatenate([[never], thresholds]),
        np.concatenate([[0], curve.tp]).astype(np.int64),
        np.concatenate([[0], curve.fp]).astype(np.int64),
    )


def _pick(
    tp: npt.NDArray[Any],
    fp: npt.NDArray[Any],
    n_positive: float,
    n_total: float,
    objective: Objective,
    valid: npt.NDArray[np.bool_] | None = None,
) -> tuple[int, bool, float]:
    """Index of the chosen candidate (candidates ordered highest threshold first).

    Returns (index, feasible, objective value). ``valid`` masks candidates out (bootstrap).
    Lexicographic preferences are applied by successive filtering; the first surviving
    index is the highest threshold among the ties.
    """
    tp = np.asarray(tp, dtype=np.float64)
    fp = np.asarray(fp, dtype=np.float64)
    ok = np.ones(tp.shape[0], dtype=bool) if valid is None else valid.copy()
    precision = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=(tp + fp) > 0)
    recall = tp / n_positive if n_positive > 0 else np.zeros_like(tp)

    def best(
        mask: npt.NDArray[np.bool_], values: npt.NDArray[np.float64], *, largest: bool = True
    ) -> npt.NDArray[np.bool_]:
        if not mask.any():
            return mask
        v = values[mask]
        target = v.max() if largest else v.min()
        return mask & (values == target)

    feasible = True
    if objective.kind == "fbeta":
        value = fbeta_from_counts(tp, fp, n_positive - tp, beta=objective.beta)
        chosen = best(ok, value)
    elif objective.kind == "precision_at_least":
        assert objective.target is not None
        meets = ok & (precision >= objective.target) & (tp > 0)
        if meets.any():
            chosen = best(best(meets, recall), precision)
        else:
            feasible = False
            chosen = best(best(ok, precision), recall)
        value = recall
    elif objective.kind == "recall_at_least":
        assert objective.target is not None
        meets = ok & (recall >= objective.target) & (n_positive > 0)
        if meets.any():
            chosen = best(best(meets, precision), recall)
        else:
            feasible = False
            chosen = best(best(ok, recall), precision)
        value = precision
    elif objective.kind == "min_cost":
        assert objective.cost_fp is not None and objective.cost_fn is not None
        value = (objective.cost_fp * fp + objective.cost_fn * (n_positive - tp)) / max(n_total, 1.0)
        chosen = best(ok, value, largest=False)
    else:
        raise ValueError(f"objective {objective} does not choose per-class thresholds")
    index = int(np.flatnonzero(chosen)[0])
    return index, feasible, float(value[index])


def choose_thresholds(
    sweep: ScoreSweep, objective: Objective | str, *, min_tp: int = 0
) -> ThresholdSelection:
    """One threshold per class, searched over every distinct score of the class.

    Parameters
    ----------
    sweep : ScoreSweep
        The decision sweep (``Evaluation.sweep``).
    objective : Objective or str
        A per-class objective (not coverage/accuracy).
    min_tp : int, default 0
        Minimum support: only thresholds with at least this many true positives are
        candidates (plus "never fire"), so a threshold resting on one or two examples is
        not chosen. A class with fewer positives than ``min_tp`` keeps every candidate and
        its choice is marked ``min_tp_met=False``.

    Returns
    -------
    ThresholdSelection

    Raises
    ------
    ValueError
        A coverage/accuracy objective (use :func:`choose_reject_threshold`).
    """
    return choose_thresholds_from_curves(
        sweep.curves, objective, labels=sweep.labels, n_examples=sweep.n_examples, min_tp=min_tp
    )


def choose_thresholds_from_curves(
    curves: Sequence[ClassCurve],
    objective: Objective | str,
    *,
    labels: Sequence[str],
    n_examples: int,
    min_tp: int = 0,
    top_scores: Sequence[float] | None = None,
) -> ThresholdSelection:
    """:func:`choose_thresholds` on per-class curves built elsewhere (e.g. merged counts).

    Parameters
    ----------
    curves : sequence of ClassCurve, class order
    objective, min_tp
        As :func:`choose_thresholds`.
    labels : sequence of str
    n_examples : int
        Examples in the whole set (the cost objective's denominator).
    top_scores : sequence of float, optional
        Each class's highest score, when a curve's first point is below it (bucketed
        curves): the "never fire" candidate goes just above it.

    Returns
    -------
    ThresholdSelection
    """
    obj = parse_objective(objective) if isinstance(objective, str) else objective
    if not obj.per_class:
        raise ValueError(f"objective {obj} sets one reject threshold; use choose_reject_threshold")
    min_tp = _check_int("min_tp", min_tp, 0)
    n = n_examples
    choices = []
    for c, curve in enumerate(curves):
        thresholds, tp, fp = _candidates(
            curve, top_score=None if top_scores is None else top_scores[c]
        )
        valid = None
        met = True
        if min_tp > 0:
            if curve.n_positive >= min_tp:
                valid = (tp >= min_tp) | ((tp == 0) & (fp == 0))  # "never fire" stays
            else:
                met = False
        i, feasible, value = _pick(tp, fp, curve.n_positive, n, obj, valid)
        t_p, f_p = int(tp[i]), int(fp[i])
        f_n = curve.n_positive - t_p
        choices.append(
            ThresholdChoice(
                label=curve.label,
                threshold=float(thresholds[i]),
                tp=t_p,
                fp=f_p,
                fn=f_n,
                support=curve.n_positive,
                precision=t_p / (t_p + f_p) if t_p + f_p else 0.0,
                recall=t_p / curve.n_positive if curve.n_positive else 0.0,
                f1=float(fbeta_from_counts(t_p, f_p, f_n)),
                objective_value=value,
                feasible=feasible,
                min_tp_met=met,
            )
        )
    thresholds_out = np.array([c.threshold for c in choices], dtype=np.float64)
    thresholds_out.setflags(write=False)
    return ThresholdSelection(
        objective=obj, labels=tuple(labels), thresholds=thresholds_out, choices=tuple(choices)
    )


@dataclass(frozen=True, kw_only=True)
class CostCurve:
    """Expected cost per example of one class at each candidate threshold (highest first).

    ``bayes_threshold`` is ``cost_fp / (cost_fp + cost_fn)``: optimal for calibrated probabilities.
    """

    label: str
    thresholds: npt.NDArray[np.float64]
    expected_cost: npt.NDArray[np.float64]
    cost_fp: float
    cost_fn: float
    best_threshold: float
    best_cost: float
    bayes_threshold: float


def cost_curve(curve: ClassCurve, *, cost_fp: float, cost_fn: float) -> CostCurve:
    """Expected cost ``(cost_fp*FP + cost_fn*FN) / n_examples`` at every candidate threshold.

    Raises
    ------
    ValueError
        Negative or non-finite costs, or both zero.
    """
    obj = Objective(kind="min_cost", cost_fp=float(cost_fp), cost_fn=float(cost_fn))
    thresholds, tp, fp = _candidates(curve)
    n = curve.n_positive + curve.n_negative
    cost = (obj.cost_fp * fp + obj.cost_fn * (curve.n_positive - tp)) / max(n, 1)  # type: ignore[operator]
    i, _, value = _pick(tp, fp, curve.n_positive, n, obj)
    return CostCurve(
        label=curve.label,
        thresholds=thresholds,
        expected_cost=cost.astype(np.float64),
        cost_fp=float(cost_fp),
        cost_fn=float(cost_fn),
        best_threshold=float(thresholds[i]),
        best_cost=value,
        bayes_threshold=bayes_threshold(cost_fp, cost_fn),
    )


# --------------------------------------------------------------------------- reject threshold


@dataclass(frozen=True, kw_only=True)
class RejectChoice:
    """A global multi-class reject threshold: answer when the top score >= ``threshold``.

    ``accuracy`` is the accuracy on answered examples.
    """

    threshold: float
    coverage: float
    accuracy: float
    feasible: bool


def _pick_reject(
    coverage: npt.NDArray[np.float64], accuracy: npt.NDArray[np.float64], objective: Objective
) -> tuple[int, bool]:
    """Index on a coverage curve ordered by decreasing threshold (increasing coverage)."""
    assert objective.target is not None
    if objective.kind == "coverage_at_least":
        meets = np.flatnonzero(coverage >= objective.target)
        if meets.size:
            return int(meets[0]), True
        return int(coverage.shape[0] - 1), False
    if objective.kind == "accuracy_at_least":
        meets = np.flatnonzero(accuracy >= objective.target)
        if meets.size:
            return int(meets[-1]), True
        best = np.flatnonzero(accuracy == accuracy.max())
        return int(best[-1]), False
    raise ValueError(
        f"objective {objective} is not a reject objective (coverage>=C or accuracy>=A)"
    )


def choose_reject_threshold(curve: CoverageCurve, objective: Objective | str) -> RejectChoice:
    """The reject threshold for ``coverage>=C`` (highest such threshold) or ``accuracy>=A``
    (lowest such threshold, i.e. the most coverage).

    Raises
    ------
    ValueError
        A per-class objective.
    """
    obj = parse_objective(objective) if isinstance(objective, str) else objective
    i, feasible = _pick_reject(curve.coverage, curve.accuracy, obj)
    return RejectChoice(
        threshold=float(curve.thresholds[i]),
        coverage=float(curve.coverage[i]),
        accuracy=float(curve.accuracy[i]),
        feasible=feasible,
    )


# --------------------------------------------------------------------------- bootstrap


@dataclass(frozen=True, kw_only=True)
class BootstrapIntervals:
    """Percentile bootstrap intervals (rows resampled with replacement, seeded).

    ``threshold_*``: the spread of the threshold the objective picks on each resample.
    ``precision_* / recall_* / f1_*``: the spread of each metric at the *chosen* threshold
    over the resamples. Each interval is widened, if needed, to contain its point estimate
    (percentile intervals can miss it for degenerate classes). Arrays are per class; the
    ``reject_*`` fields are set for coverage/accuracy objectives (multi-class).
    """

    n_resamples: int
    seed: int
    confidence: float
    threshold_low: npt.NDArray[np.float64]
    threshold_high: npt.NDArray[np.float64]
    precision_low: npt.NDArray[np.float64]
    precision_high: npt.NDArray[np.float64]
    recall_low: npt.NDArray[np.float64]
    recall_high: npt.NDArray[np.float64]
    f1_low: npt.NDArray[np.float64]
    f1_high: npt.NDArray[np.float64]
    reject_threshold_low: float | None = None
    reject_threshold_high: float | None = None
    coverage_low: float | None = None
    coverage_high: float | None = None
    accuracy_low: float | None = None
    accuracy_high: float | None = None


def _interval(
    samples: npt.NDArray[np.float64], point: npt.ArrayLike, alpha: float
) -> tuple[Any, Any]:
    lo = np.quantile(samples, alpha / 2, axis=0)
    hi = np.quantile(samples, 1 - alpha / 2, axis=0)
    p = np.asarray(point, dtype=np.float64)
    return np.minimum(lo, p), np.maximum(hi, p)


def _check_int(name: str, value: int, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"`{name}` must be an int; got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}; got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"`{name}` must be <= {maximum:,}; got {value:,}")
    return int(value)


def bootstrap_intervals(
    evaluation: Evaluation,
    objective: Objective | str,
    *,
    thresholds: npt.ArrayLike | None = None,
    reject_threshold: float | None = None,
    n_resamples: int = 200,
    seed: int = 0,
    confidence: float = 0.95,
    max_candidates: int = 2048,
    min_tp: int = 0,
) -> BootstrapIntervals:
    """Bootstrap confidence intervals for the chosen thresholds and their metrics.

    Each resample reweights the examples (multinomial counts) instead of re-sorting: the
    per-class order is computed once, then every resample is a gather, a grouped sum and
    a cumulative sum per class, and the objective is re-optimised on the resample's own
    distinct scores.

    Parameters
    ----------
    evaluation : Evaluation
    objective : Objective or str
    thresholds : array-like (n_classes,), optional
        The point estimates (default: chosen on the full data).
    reject_threshold : float, optional
        The point estimate for coverage/accuracy objectives (default: chosen on the full data).
    n_resamples : int in [200, MAX_BOOTSTRAP_RESAMPLES]
    seed : int >= 0
    confidence : float in (0, 1)
    max_candidates : int, default 2048
        Per class and resample, the threshold search looks at every distinct score when
        there are at most this many, otherwise at this many evenly spaced (by rank) ones
        plus the point estimate's: a resolution of 1/2048 of the class's scores.
    min_tp : int, default 0
        The optimiser's minimum support (see :func:`choose_thresholds`), applied on every
        resample as on the full data.

    Returns
    -------
    BootstrapIntervals

    Raises
    ------
    ValueError
        Fewer than 200 resamples, confidence outside (0, 1), negative seed.
    """
    obj = parse_objective(objective) if isinstance(objective, str) else objective
    b_count = _check_int("n_resamples", n_resamples, 200, MAX_BOOTSTRAP_RESAMPLES)
    seed_ = _check_int("seed", seed, 0)
    max_candidates = _check_int("max_candidates", max_candidates, 2)
    if not (isinstance(confidence, float | int) and 0.0 < float(confidence) < 1.0):
        raise ValueError(f"`confidence` must be in (0, 1); got {confidence!r}")
    alpha = 1.0 - float(confidence)
    rng = np.random.default_rng(seed_)
    n, n_classes = evaluation.n_examples, evaluation.n_classes
    sweep = evaluation.sweep

    reject_fields: dict[str, float] = {}
    if obj.per_class:
        if thresholds is None:
            point_t = choose_thresholds(sweep, obj, min_tp=min_tp).thresholds
        else:
            point_t = np.asarray(thresholds, dtype=np.float64)
        decided = evaluation.predicted(point_t)
    else:
        if evaluation.task != "multi-class":
            raise ValueError(f"objective {obj} needs a multi-class evaluation")
        point_r = (
            choose_reject_threshold(evaluation.coverage_curve, obj).threshold
            if reject_threshold is None
            else float(reject_threshold)
        )
        point_t = np.full(n_classes, point_r)
        decided = evaluation.predicted(reject_threshold=point_r)
    fired = decided if decided.ndim == 2 else (decided[:, None] == np.arange(n_classes)[None, :])
    # Resampled counts are sums of weights over fixed example sets: gather the weights of
    # every set at once (class-major index lists) and reduce per class.
    index_sets = [evaluation.truth, fired & evaluation.truth, fired]
    gathers = []
    for matrix in index_sets:
        cols, rows = np.nonzero(np.ascontiguousarray(matrix.T))
        bounds = np.searchsorted(cols, np.arange(n_classes + 1))
        gathers.append((rows, bounds))

    def weighted_counts(w: npt.NDArray[np.int64], which: int) -> npt.NDArray[np.float64]:
        rows, bounds = gathers[which]
        cumulative = np.concatenate([[0], np.cumsum(w[rows])])
        return (cumulative[bounds[1:]] - cumulative[bounds[:-1]]).astype(np.float64)

    # per-class order and tie groups, computed once
    segments = []
    winner_ids = np.argmax(evaluation.scores, axis=1)
    for c in range(n_classes):
        lo, hi = int(sweep.offsets[c]), int(sweep.offsets[c + 1])
        if sweep.rule == "one-vs-rest":
            order = argsort_scores(np.ascontiguousarray(evaluation.scores[:, c]))
            values = evaluation.scores[order, c]
        else:
            members = np.flatnonzero(winner_ids == c)
            top = evaluation.scores[members, c]
            inner = argsort_scores(top)
            order, values = members[inner], top[inner]
        assert values.shape[0] == hi - lo
        starts = (
            np.flatnonzero(np.concatenate([[True], values[1:] != values[:-1]]))
            if values.size
            else np.zeros(0, np.int64)
        )
        if starts.size > max_candidates:
            # Resolution cap for resamples: evenly spaced tie groups plus the group of the
            # point estimate (the point estimate itself always searches every distinct score).
            keep = np.linspace(0, starts.size - 1, max_candidates).round().astype(np.int64)
            at_point = np.searchsorted(values[starts], point_t[c], side="left").clip(
                0, starts.size - 1
            )
            starts = starts[np.unique(np.concatenate([keep, [at_point]]))]
        flags = evaluation.truth[order, c].astype(np.int64)
        segments.append((order, flags, starts, values[starts][::-1].astype(np.float64)))

    if not obj.per_class:
        winner_all = np.argmax(evaluation.scores, axis=1)
        top_all = evaluation.scores[np.arange(n), winner_all]
        order_top = np.argsort(-top_all.astype(np.float64), kind="stable")
        top_sorted = top_all[order_top]
        correct_sorted = (
            (winner_all == evaluation.truth_ids)[order_top]
            if evaluation.truth_ids is not None
            else None
        )
        ends = np.flatnonzero(np.concatenate([top_sorted[1:] != top_sorted[:-1], [True]]))

    thr_samples = np.empty((b_count, n_classes))
    p_samples = np.empty((b_count, n_classes))
    r_samples = np.empty((b_count, n_classes))
    f_samples = np.empty((b_count, n_classes))
    rej_t, rej_cov, rej_acc = np.empty(b_count), np.empty(b_count), np.empty(b_count)
    for b in range(b_count):
        w = np.bincount(rng.integers(0, n, n), minlength=n)
        support_b = weighted_counts(w, 0)
        tp_b = weighted_counts(w, 1)
        pred_b = weighted_counts(w, 2)
        p_samples[b] = np.divide(tp_b, pred_b, out=np.zeros(n_classes), where=pred_b > 0)
        r_samples[b] = np.divide(tp_b, support_b, out=np.zeros(n_classes), where=support_b > 0)
        f_samples[b] = fbeta_from_counts(tp_b, pred_b - tp_b, support_b - tp_b)
        if obj.per_class:
            for c, (order, flags, starts, group_values) in enumerate(segments):
                if starts.size == 0:
                    thr_samples[b, c] = point_t[c]
                    continue
                ws = w[order]
                group_w = np.add.reduceat(ws, starts)[::-1]
                group_pos = np.add.reduceat(ws * flags, starts)[::-1]
                pred_c = np.cumsum(group_w)
                tp_c = np.cumsum(group_pos)
                top = float(group_values[0])
                never = float(np.nextafter(top, np.inf))
                with_never = not (top <= 1.0 < never)
                cand_t = np.concatenate([[never], group_values]) if with_never else group_values
                cand_tp = np.concatenate([[0], tp_c]) if with_never else tp_c
                cand_fp = np.concatenate([[0], pred_c - tp_c]) if with_never else pred_c - tp_c
                valid = np.concatenate([[True], group_w > 0]) if with_never else group_w > 0
                # (with a capped grid, a block holds several tie groups: weight > 0 is enough)
                if min_tp and support_b[c] >= min_tp:  # the same minimum support as the point
                    valid = valid & ((cand_tp >= min_tp) | ((cand_tp == 0) & (cand_fp == 0)))
                i, _, _ = _pick(cand_tp, cand_fp, float(support_b[c]), float(n), obj, valid)
                thr_samples[b, c] = cand_t[i]
        else:
            assert correct_sorted is not None
            ws = w[order_top].astype(np.float64)
            answered = np.cumsum(ws)[ends]
            correct = np.cumsum(ws * correct_sorted)[ends]
            cov = answered / n
            acc = np.divide(correct, answered, out=np.zeros_like(correct), where=answered > 0)
            i, _ = _pick_reject(cov, acc, obj)
            rej_t[b] = float(top_sorted[ends[i]])
            # coverage/accuracy at the point-estimate threshold on this resample
            k = (
                int(np.searchsorted(-top_sorted[ends].astype(np.float64), -point_r, side="right"))
                - 1
            )
            rej_cov[b] = cov[k] if k >= 0 else 0.0
            rej_acc[b] = acc[k] if k >= 0 else 0.0

    point = evaluation.metrics_at(point_t)
    t_lo, t_hi = _interval(thr_samples, point_t, alpha) if obj.per_class else (point_t, point_t)
    p_lo, p_hi = _interval(p_samples, point.precision, alpha)
    r_lo, r_hi = _interval(r_samples, point.recall, alpha)
    f_lo, f_hi = _interval(f_samples, point.f1, alpha)
    if not obj.per_class:
        rt = _interval(rej_t, point_r, alpha)
        cv = _interval(rej_cov, float(point.coverage or 0.0), alpha)
        ac = _interval(rej_acc, float(point.selective_accuracy or 0.0), alpha)
        reject_fields = {
            "reject_threshold_low": float(rt[0]),
            "reject_threshold_high": float(rt[1]),
            "coverage_low": float(cv[0]),
            "coverage_high": float(cv[1]),
            "accuracy_low": float(ac[0]),
            "accuracy_high": float(ac[1]),
        }
    return BootstrapIntervals(
        n_resamples=b_count,
        seed=seed_,
        confidence=float(confidence),
        threshold_low=np.asarray(t_lo, dtype=np.float64),
        threshold_high=np.asarray(t_hi, dtype=np.float64),
        precision_low=p_lo,
        precision_high=p_hi,
        recall_low=r_lo,
        recall_high=r_hi,
        f1_low=f_lo,
        f1_high=f_hi,
        **reject_fields,
    )


def _labels_text(n: int) -> str:
    return f"{n} label" if n == 1 else f"{n} labels"


def few_positive_warnings(
    support: npt.ArrayLike, labels: Sequence[str], *, min_positives: int = 10
) -> tuple[str, ...]:
    """One message per class with fewer than ``min_positives`` positive examples.

    Examples
    --------
    >>> few_positive_warnings([3, 50], ["grief", "joy"])
    ("class 'grief' has only 3 positive examples (< 10): its threshold and metrics are unreliable",)
    """
    counts = np.asarray(support, dtype=np.int64)
    out = []
    for label, count in zip(labels, counts, strict=True):
        if count == 0:
            out.append(
                f"class {label!r} has no positive examples: recall and F1 are undefined (reported as 0)"
            )
        elif count < min_positives:
            examples = "positive example" if count == 1 else "positive examples"
            out.append(
                f"class {label!r} has only {count} {examples} (< {min_positives}): "
                "its threshold and metrics are unreliable"
            )
    return tuple(out)


# --------------------------------------------------------------------------- tune


@dataclass(frozen=True, kw_only=True)
class TuneResult:
    """Everything ``tune`` decides: thresholds, metrics there, intervals and warnings.

    Attributes
    ----------
    objective : Objective
    thresholds : ndarray (n_classes,)
        Per-class thresholds (for coverage/accuracy objectives: the reject threshold for
        every class).
    reject_threshold : float or None
        Multi-class coverage/accuracy objectives only.
    selection : ThresholdSelection or None
        Per-class objectives.
    reject : RejectChoice or None
    metrics : MetricsAt
        At ``thresholds``.
    bootstrap : BootstrapIntervals or None
    warnings : tuple of str
        Few positives, infeasible targets.
    """

    objective: Objective
    thresholds: npt.NDArray[np.float64]
    reject_threshold: float | None
    selection: ThresholdSelection | None
    reject: RejectChoice | None
    metrics: MetricsAt
    bootstrap: BootstrapIntervals | None
    warnings: tuple[str, ...]


def selection_warnings(
    selection: ThresholdSelection, objective: Objective, *, min_tp: int
) -> list[str]:
    """What ``tune`` warns about per-class choices: minimum support unmet, target unreachable."""
    warnings_: list[str] = []
    for choice in selection.choices:
        if not choice.min_tp_met and choice.support > 0:
            warnings_.append(
                f"class {choice.label!r} has {choice.support} positives, fewer than the "
                f"minimum support of {min_tp} true positives: chosen without it"
            )
        if not choice.feasible and choice.support > 0:
            warnings_.append(
                f"class {choice.label!r}: no threshold reaches {objective}; "
                f"took the closest (precision {choice.precision:.3f}, recall {choice.recall:.3f})"
            )
    return warnings_


def tune(
    evaluation: Evaluation,
    objective: Objective | str = "f1",
    *,
    bootstrap: int = 0,
    seed: int = 0,
    confidence: float = 0.95,
    min_positives: int = 10,
    min_tp: int = 0,
) -> TuneResult:
    """Choose thresholds for ``objective`` and compute the metrics there.

    Parameters
    ----------
    evaluation : Evaluation
    objective : Objective or str, default "f1"
    bootstrap : int, default 0
        0 for none, otherwise the number of resamples (200 to :data:`MAX_BOOTSTRAP_RESAMPLES`).
    seed : int, default 0
    confidence : float, default 0.95
    min_positives : int, default 10
        Classes with fewer positives get a warning.
    min_tp : int, default 0
        Minimum support: per-class objectives only consider thresholds with at least this
        many true positives (see :func:`choose_thresholds`).

    Returns
    -------
    TuneResult

    Raises
    ------
    ValueError
        A coverage/accuracy objective on a multi-label evaluation, or bad bootstrap options.
    """
    obj = parse_objective(objective) if isinstance(objective, str) else objective
    if bootstrap != 0:
        _check_int("bootstrap", bootstrap, 200, MAX_BOOTSTRAP_RESAMPLES)
    warnings_: list[str] = list(
        few_positive_warnings(evaluation.support, evaluation.labels, min_positives=min_positives)
    )
    selection: ThresholdSelection | None = None
    reject: RejectChoice | None = None
    reject_threshold: float | None = None
    if obj.per_class:
        selection = choose_thresholds(evaluation.sweep, obj, min_tp=min_tp)
        thresholds = selection.thresholds
        warnings_.extend(selection_warnings(selection, obj, min_tp=min_tp))
    else:
        if evaluation.task != "multi-class":
            raise ValueError(
                f"objective {obj} needs a multi-class evaluation; this one is {evaluation.task}"
            )
        reject = choose_reject_threshold(evaluation.coverage_curve, obj)
        reject_threshold = reject.threshold
        thresholds = np.full(evaluation.n_classes, reject.threshold)
        if not reject.feasible:
            warnings_.append(
                f"no reject threshold reaches {obj}; took coverage {reject.coverage:.3f}, "
                f"accuracy {reject.accuracy:.3f}"
            )
    beta = obj.beta if obj.kind == "fbeta" else 1.0
    metrics = (
        evaluation.metrics_at(thresholds, beta=beta)
        if reject_threshold is None
        else evaluation.metrics_at(None, reject_threshold=reject_threshold, beta=beta)
    )
    intervals = (
        bootstrap_intervals(
            evaluation,
            obj,
            thresholds=thresholds,
            reject_threshold=reject_threshold,
            n_resamples=bootstrap,
            seed=seed,
            confidence=confidence,
            min_tp=min_tp,
        )
        if bootstrap
        else None
    )
    return TuneResult(
        objective=obj,
        thresholds=thresholds,
        reject_threshold=reject_threshold,
        selection=selection,
        reject=reject,
        metrics=metrics,
        bootstrap=intervals,
        warnings=tuple(warnings_),
    )


# --------------------------------------------------------------------------- thresholds.json


@dataclass(frozen=True, kw_only=True)
class ThresholdsFile:
    """The contents of thresholds.json (same from the CLI and the page).

    Attributes
    ----------
    labels : tuple of str
    thresholds : tuple of float, class order, each in [0, 1], or ``inf`` for a class
        switched off (it never fires). In the JSON file a switched-off class's threshold is
        ``null`` and its label is listed under ``switched_off``; every reader in the
        project (the tuning page, the Playground link, ``cls-explorer export``) treats it
        as never firing.
    objective : str
        Canonical objective text, or "manual" for hand-set thresholds.
    task : "multi-class", "multi-label" or "binary"
        ``"binary"`` (a binary model: two labels ``(negative, positive)``, one threshold):
        ``labels`` holds both names, ``thresholds`` exactly **one** number ``t`` in
        [0, 1], the threshold on the score ``p`` of the positive class ``labels[1]``;
        the rule is positive when ``p >= t``, else negative (never abstains, nothing is
        switched off). The JSON adds ``positive_label`` (``labels[1]``) and ``accuracy``;
        ``per_class`` has a row per class (only the positive row has a ``threshold``);
        ``micro`` and ``macro`` average the two classes. Built by
        :func:`cls_core.evaluation.binary.binary_thresholds_file`.
    n_examples : int
    data_sha256 : str
        SHA-256 of the evaluation file's bytes ("" when unknown).
    per_class : tuple of dict
        {label, threshold, precision, recall, f1, support, tp, fp, fn} plus, when
        bootstrapped, ``*_low`` / ``*_high`` bounds for threshold, precision, recall, f1.
    micro, macro : dict
        {precision, recall, f1}.
    reject_threshold, coverage, accuracy : float or None
        Multi-class only; ``accuracy`` is on answered examples, ``accuracy_overall`` counts
        abstentions as errors.
    accuracy_overall : float or None
    model : str or None
    bootstrap : dict or None
        {n_resamples, seed, confidence} when intervals are included.
    evaluated_on : dict or None
        The same thresholds measured on another data set (``tune --eval-on``):
        {data_sha256, n_examples, micro, macro, per_class: [{label, precision, recall, f1,
        support}]} plus coverage/accuracy for multi-class. See :func:`evaluated_on`.
    """

    labels: tuple[str, ...]
    thresholds: tuple[float, ...]
    objective: str
    task: FileTask
    n_examples: int = 0
    data_sha256: str = ""
    per_class: tuple[Mapping[str, Any], ...] = ()
    micro: Mapping[str, float] | None = None
    macro: Mapping[str, float] | None = None
    reject_threshold: float | None = None
    coverage: float | None = None
    accuracy: float | None = None
    accuracy_overall: float | None = None
    model: str | None = None
    bootstrap: Mapping[str, Any] | None = None
    evaluated_on: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; multi-class keys only for multi-class files, ``model`` only when set."""
        out: dict[str, Any] = {
            "labels": list(self.labels),
            # a switched-off class (+inf: never fires) is written as null
            "thresholds": [None if t == math.inf else t for t in self.thresholds],
            "objective": self.objective,
            "task": self.task,
            "n_examples": self.n_examples,
            "data_sha256": self.data_sha256,
            "per_class": [dict(row) for row in self.per_class],
            "micro": dict(self.micro or {}),
            "macro": dict(self.macro or {}),
        }
        if self.task == "binary":
            out["positive_label"] = self.labels[1]
            out["accuracy"] = self.accuracy
        else:
            off = [
                label
                for label, t in zip(self.labels, self.thresholds, strict=True)
                if t == math.inf
            ]
            if off:
                out["switched_off"] = off
        if self.task == "multi-class":
            out["reject_threshold"] = self.reject_threshold
            out["coverage"] = self.coverage
            out["accuracy"] = self.accuracy
            out["accuracy_overall"] = self.accuracy_overall
        if self.model is not None:
            out["model"] = self.model
        if self.bootstrap is not None:
            out["bootstrap"] = dict(self.bootstrap)
        if self.evaluated_on is not None:
            out["evaluated_on"] = dict(self.evaluated_on)
        return out


def evaluated_on(metrics: MetricsAt, *, data_sha256: str = "") -> dict[str, Any]:
    """The ``evaluated_on`` block of thresholds.json: thresholds measured on other data.

    Parameters
    ----------
    metrics : MetricsAt
        The tuned thresholds applied to the other data set (``metrics_at``).
    data_sha256 : str
        SHA-256 of that data set's file.
    """
    out: dict[str, Any] = {
        "data_sha256": data_sha256,
        "n_examples": int(metrics.n_examples),
        "micro": {
            "precision": metrics.micro.precision,
            "recall": metrics.micro.recall,
            "f1": metrics.micro.f1,
        },
        "macro": {
            "precision": metrics.macro.precision,
            "recall": metrics.macro.recall,
            "f1": metrics.macro.f1,
        },
        "per_class": [
            {
                "label": label,
                "precision": float(metrics.precision[c]),
                "recall": float(metrics.recall[c]),
                "f1": float(metrics.f1[c]),
                "support": int(metrics.support[c]),
            }
            for c, label in enumerate(metrics.labels)
        ],
    }
    if metrics.task == "multi-class":
        out["coverage"] = metrics.coverage
        out["accuracy"] = metrics.selective_accuracy
        out["accuracy_overall"] = metrics.accuracy
    return out


def _clip_unit(values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    return np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0)


def thresholds_file(
    metrics: MetricsAt,
    *,
    objective: Objective | str = "manual",
    data_sha256: str = "",
    model: str | None = None,
    bootstrap: BootstrapIntervals | None = None,
) -> ThresholdsFile:
    """Build the thresholds.json document from the metrics at the thresholds to export.

    Thresholds are clipped to [0, 1] (for probabilities, -inf "always answer" and 0 are
    the same decision).

    Parameters
    ----------
    metrics : MetricsAt
        From :meth:`Evaluation.metrics_at` or :attr:`TuneResult.metrics`.
    objective : Objective or str, default "manual"
    data_sha256 : str
    model : str, optional
    bootstrap : BootstrapIntervals, optional
    """
    off = np.asarray(metrics.thresholds, dtype=np.float64) == np.inf
    thresholds = np.where(off, np.inf, _clip_unit(metrics.thresholds))
    per_class = []
    for c, label in enumerate(metrics.labels):
        row: dict[str, Any] = {
            "label": label,
            "threshold": None if off[c] else float(thresholds[c]),
            "precision": float(metrics.precision[c]),
            "recall": float(metrics.recall[c]),
            "f1": float(metrics.f1[c]),
            "support": int(metrics.support[c]),
            "tp": int(metrics.tp[c]),
            "fp": int(metrics.fp[c]),
            "fn": int(metrics.fn[c]),
        }
        if bootstrap is not None:
            for name in ("threshold", "precision", "recall", "f1"):
                lo = getattr(bootstrap, f"{name}_low")[c]
                hi = getattr(bootstrap, f"{name}_high")[c]
                if name == "threshold":
                    lo, hi = _clip_unit(lo), _clip_unit(hi)
                row[f"{name}_low"] = float(lo)
                row[f"{name}_high"] = float(hi)
        per_class.append(row)

    def avg(a: Any) -> dict[str, float]:
        return {"precision": a.precision, "recall": a.recall, "f1": a.f1}

    multi_class = metrics.task == "multi-class"
    return ThresholdsFile(
        labels=metrics.labels,
        thresholds=tuple(float(t) for t in thresholds),
        objective=str(objective),
        task=metrics.task,
        n_examples=metrics.n_examples,
        data_sha256=data_sha256,
        per_class=tuple(per_class),
        micro=avg(metrics.micro),
        macro=avg(metrics.macro),
        reject_threshold=(
            None
            if metrics.reject_threshold is None
            else float(_clip_unit(metrics.reject_threshold))
        )
        if multi_class
        else None,
        coverage=metrics.coverage if multi_class else None,
        accuracy=metrics.selective_accuracy if multi_class else None,
        accuracy_overall=metrics.accuracy if multi_class else None,
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


def write_thresholds_json(document: ThresholdsFile, path: str | Path) -> None:
    """Write ``document`` as indented JSON (UTF-8, trailing newline), whole or not at all.

    The text goes to a unique temporary file beside ``path``, is synced to disk and then
    renamed over ``path`` (:func:`cls_core.paths.atomic_output`): a failed write (a full
    disk, a file size limit, an interrupt) leaves the previous file intact, and of two
    concurrent writers the last to finish wins whole.

    Raises
    ------
    OSError
        The file cannot be written; ``path`` is unchanged.
    """
    text = json.dumps(document.to_dict(), indent=2, allow_nan=False)
    with atomic_output(path) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")


def sha256_of(source: str | Path | bytes) -> str:
    """SHA-256 hex digest of a file's bytes (streamed) or of ``bytes``."""
    digest = hashlib.sha256()
    if isinstance(source, bytes | bytearray | memoryview):
        digest.update(source)
        return digest.hexdigest()
    with open(source, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _unit_number(doc_name: str, key: str, value: Any, *, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{doc_name}: `{key}` must be a number in [0, 1]; got {preview(value)}")
    # Compare before converting: float(10**400) raises OverflowError.
    if (isinstance(value, float) and not math.isfinite(value)) or not 0 <= value <= 1:
        raise ValueError(f"{doc_name}: `{key}` must be in [0, 1]; got {preview(value)}")
    return float(value)


#: Largest thresholds.json read (bytes); one for 40,000 labels with per-class rows is ~10 MB.
MAX_THRESHOLDS_BYTES: Final = 64 * 1024 * 1024
#: Deepest nesting of arrays/objects accepted in a thresholds.json (the format uses 3).
MAX_THRESHOLDS_DEPTH: Final = 32


def _nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays/objects in ``value`` nest deeper than ``limit`` (iterative walk)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            stack.extend(
                (child, depth + 1) for child in (item.values() if isinstance(item, dict) else item)
            )
    return False


def read_thresholds_json(
    source: str | Path | bytes,
    *,
    labels: Sequence[str] | None = None,
    model: str | None = None,
    task: str | None = None,
) -> ThresholdsFile:
    """Read and validate a thresholds.json (a path, or the bytes of an upload).

    Parameters
    ----------
    source : str, Path or bytes
    labels : sequence of str, optional
        The current model's labels: the file must list exactly these, in this order.
    model : str, optional
        The current model's name: a file that names another model is refused.
    task : "multi-class", "multi-label" or "binary", optional
        The current data's task: a file tuned for another task is refused (per-class
        thresholds mean different rules in the two tasks, and a binary file holds one
        threshold for the positive class).

    Returns
    -------
    ThresholdsFile

    Raises
    ------
    ValueError
        For every bad document, with a message naming what is wrong: unreadable file,
        larger than :data:`MAX_THRESHOLDS_BYTES`, not UTF-8 (a UTF-8 byte-order mark is
        accepted), malformed JSON, numbers Python cannot read, arrays/objects nested deeper
        than :data:`MAX_THRESHOLDS_DEPTH`, missing or ill-typed keys, thresholds or rates
        outside [0, 1], labels that do not match ``labels``, another model's file; a
        ``"binary"`` file without exactly two labels and one threshold in [0, 1], or whose
        ``positive_label`` is not its second label.
    """
    name = "thresholds file" if isinstance(source, bytes) else f"thresholds file {str(source)!r}"
    try:
        if isinstance(source, bytes):
            raw = source
        else:
            with Path(source).open("rb") as handle:
                raw = handle.read(MAX_THRESHOLDS_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"{name}: cannot read it ({exc.strerror or exc})") from None
    if len(raw) > MAX_THRESHOLDS_BYTES:
        raise ValueError(
            f"{name}: larger than {MAX_THRESHOLDS_BYTES:,} bytes; a thresholds file is far smaller"
        )
    if not raw.strip():
        raise ValueError(
            f"{name}: the file is empty; expected a JSON object with labels, thresholds and task"
        )
    try:
        data = json.loads(raw.decode("utf-8-sig"))  # editors on Windows may add a BOM
    except UnicodeDecodeError as exc:
        raise ValueError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{name}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise ValueError(
            f"{name}: arrays/objects nested too deeply to read "
            f"(a thresholds file nests at most {MAX_THRESHOLDS_DEPTH} levels)"
        ) from None
    except ValueError as exc:  # e.g. an integer longer than Python's 4300-digit limit
        raise ValueError(f"{name}: unreadable JSON ({str(exc)[:200]})") from None
    if _nested_deeper_than(data, MAX_THRESHOLDS_DEPTH):
        raise ValueError(
            f"{name}: arrays/objects nested deeper than {MAX_THRESHOLDS_DEPTH} levels; "
            "expected a thresholds.json written by this tool"
        )
    if not isinstance(data, dict):
        raise ValueError(f"{name}: expected a JSON object; got {type(data).__name__}")
    for key in ("labels", "thresholds", "task"):
        if key not in data:
            raise ValueError(f"{name}: missing key `{key}`")
    file_labels = data["labels"]
    if (
        not isinstance(file_labels, list)
        or not file_labels
        or not all(isinstance(x, str) for x in file_labels)
    ):
        raise ValueError(
            f"{name}: `labels` must be a non-empty list of strings; got {preview(file_labels, limit=100)}"
        )
    try:
        names = validate_labels(file_labels)
    except ValueError as exc:
        raise ValueError(f"{name}: {str(exc)[:500]}") from None
    values = data["thresholds"]
    if data["task"] == "binary":
        return _read_binary(name, data, names, labels=labels, model=model, task=task)
    if not isinstance(values, list) or len(values) != len(names):
        raise ValueError(
            f"{name}: `thresholds` must be a list of {len(names)} numbers (one per label); got {preview(values, limit=100)}"
        )
    switched_off = data.get("switched_off", [])
    if not isinstance(switched_off, list) or not all(isinstance(x, str) for x in switched_off):
        raise ValueError(f"{name}: `switched_off` must be a list of label names")
    unknown_off = [x for x in switched_off if x not in names]
    if unknown_off:
        raise ValueError(
            f"{name}: `switched_off` names labels the file does not have: {preview_list(unknown_off)}"
        )
    for i, v in enumerate(values):
        if (v is None) != (names[i] in switched_off):
            raise ValueError(
                f"{name}: `thresholds[{i}]` ({preview(names[i])}) must be null exactly when "
                "the class is listed under `switched_off` (a switched-off class never fires)"
            )
    thresholds = tuple(
        math.inf if v is None else (_unit_number(name, f"thresholds[{i}]", v) or 0.0)
        for i, v in enumerate(values)
    )
    file_task = data["task"]
    if file_task not in TASKS:
        raise ValueError(
            f"{name}: `task` must be one of {', '.join(THRESHOLDS_TASKS)}; got {preview(file_task)}"
        )
    objective = data.get("objective", "manual")
    if not isinstance(objective, str):
        raise ValueError(f"{name}: `objective` must be a string; got {preview(objective)}")
    n_examples = data.get("n_examples", 0)
    if isinstance(n_examples, bool) or not isinstance(n_examples, int) or n_examples < 0:
        raise ValueError(f"{name}: `n_examples` must be an integer >= 0; got {preview(n_examples)}")
    sha = data.get("data_sha256", "")
    if not isinstance(sha, str) or (sha and not re.fullmatch(r"[0-9a-f]{64}", sha)):
        raise ValueError(
            f"{name}: `data_sha256` must be 64 lowercase hex digits; got {preview(sha)}"
        )
    file_model = data.get("model")
    if file_model is not None and not isinstance(file_model, str):
        raise ValueError(f"{name}: `model` must be a string; got {preview(file_model)}")
    per_class = data.get("per_class", [])
    if not isinstance(per_class, list) or not all(isinstance(r, dict) for r in per_class):
        raise ValueError(f"{name}: `per_class` must be a list of objects")
    if per_class and [r.get("label") for r in per_class] != list(names):
        raise ValueError(f"{name}: `per_class` labels must match `labels` in order")
    for row in per_class:
        for key in ("precision", "recall", "f1"):
            if key in row:
                _unit_number(name, f"per_class[{preview(row['label'])}].{key}", row[key])
    averages: dict[str, dict[str, float]] = {}
    for key in ("micro", "macro"):
        block = data.get(key, {})
        if not isinstance(block, dict):
            raise ValueError(f"{name}: `{key}` must be an object with precision, recall, f1")
        averages[key] = {
            k: _unit_number(name, f"{key}.{preview(k, quote=False)}", v) or 0.0
            for k, v in block.items()
        }
    extras = {
        key: _unit_number(name, key, data.get(key), optional=True)
        for key in ("reject_threshold", "coverage", "accuracy", "accuracy_overall")
    }
    if labels is not None:
        expected = validate_labels(labels)
        if expected != names:
            missing = [x for x in expected if x not in names]
            extra = [x for x in names if x not in expected]
            parts = [
                f"{what} {', '.join(repr(x)[:60] for x in names_[:10])}"
                + (f" and {len(names_) - 10} more" if len(names_) > 10 else "")
                for what, names_ in (("missing", missing), ("unexpected", extra))
                if names_
            ]
            detail = "; ".join(parts) or "same labels in a different order"
            raise ValueError(
                f"{name}: its {_labels_text(len(names))} do not match the model's "
                f"{_labels_text(len(expected))} ({detail})"
            )
    if model is not None and file_model is not None and file_model != model:
        raise ValueError(f"{name}: it was made for model {preview(file_model)}, not {model!r}")
    if task is not None and file_task != task:
        raise ValueError(f"{name}: it holds {file_task} thresholds, but this data is {task}")
    bootstrap = data.get("bootstrap")
    return ThresholdsFile(
        labels=names,
        thresholds=thresholds,
        objective=objective,
        task=file_task,
        n_examples=n_examples,
        data_sha256=sha,
        per_class=tuple(per_class),
        micro=averages["micro"],
        macro=averages["macro"],
        reject_threshold=extras["reject_threshold"],
        coverage=extras["coverage"],
        accuracy=extras["accuracy"],
        accuracy_overall=extras["accuracy_overall"],
        model=file_model,
        bootstrap=bootstrap if isinstance(bootstrap, dict) else None,
        evaluated_on=data["evaluated_on"] if isinstance(data.get("evaluated_on"), dict) else None,
    )


def _read_binary(
    name: str,
    data: dict[str, Any],
    names: tuple[str, ...],
    *,
    labels: Sequence[str] | None,
    model: str | None,
    task: str | None,
) -> ThresholdsFile:
    """The rest of :func:`read_thresholds_json` for a ``task: "binary"`` document."""
    if len(names) != 2:
        raise ValueError(
            f"{name}: a binary file must list two labels (negative, positive); got "
            f"{_labels_text(len(names))}"
        )
    values = data["thresholds"]
    if not isinstance(values, list) or len(values) != 1:
        raise ValueError(
            f"{name}: a binary file's `thresholds` must be a list of one number (the "
            f"threshold on {preview(names[1])}'s score); got {preview(values, limit=100)}"
        )
    threshold = _unit_number(name, "thresholds[0]", values[0])
    assert threshold is not None
    if data.get("switched_off"):
        raise ValueError(f"{name}: a binary file switches nothing off; remove `switched_off`")
    positive = data.get("positive_label", names[1])
    if positive != names[1]:
        raise ValueError(
            f"{name}: `positive_label` must be the second label {preview(names[1])}; "
            f"got {preview(positive)}"
        )
    body = dict(data)
    body["task"] = "multi-label"  # same checks for the shared keys, one number per label
    body["thresholds"] = [threshold, threshold]
    for key in ("positive_label", "reject_threshold", "coverage", "accuracy_overall"):
        body.pop(key, None)
    if task is not None and task != "binary":
        raise ValueError(f"{name}: it holds binary thresholds, but this data is {task}")
    try:
        shared = read_thresholds_json(
            json.dumps(body).encode("utf-8"), labels=labels, model=model, task=None
        )
    except ValueError as exc:  # name the file, not the re-encoded bytes
        raise ValueError(str(exc).replace("thresholds file", name, 1)) from None
    accuracy = _unit_number(name, "accuracy", data.get("accuracy"), optional=True)
    return replace(
        shared,
        thresholds=(threshold,),
        task="binary",
        accuracy=accuracy,
        reject_threshold=None,
        coverage=None,
        accuracy_overall=None,
    )
