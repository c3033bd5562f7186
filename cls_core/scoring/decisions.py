"""Decisions: how scores become labels.

One convention everywhere in this project: **a class fires when ``score >= threshold``**.

- Multi-class (softmax): the arg-max class wins; ties go to the lower class id. With a
  ``reject_threshold`` the model abstains (``None``) when the top score is below it.
- Multi-label (sigmoid): every class whose score reaches its own threshold fires, in
  class-id order; an example may get no label at all.
- A threshold of ``+inf`` switches its class off: it never fires (thresholds.json writes
  it as ``null`` and lists the class under ``switched_off``).
- Binary (one positive class, e.g. a model with one sigmoid output shown as
  ``(negative, positive)``): **positive when ``p >= threshold``, else negative**, with one
  threshold ``t`` (default :data:`BINARY_THRESHOLD`) on the positive class's score ``p``.
  It never abstains; ``t = 0`` always says positive, ``t = 1`` only when ``p == 1``. With
  two softmax columns ``[1 - p, p]`` this differs from the arg-max rule at ``t != 0.5`` and
  at ``p == 0.5`` (arg-max gives ties to the lower class id: negative; ``p >= 0.5`` says
  positive). :func:`binary_decide` is the rule; the exported ``decision`` signature of a
  binary model computes exactly it.

This module must not import TensorFlow.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "BINARY_THRESHOLD",
    "LEAD",
    "TASKS",
    "TO_THRESHOLD",
    "Task",
    "binary_decide",
    "binary_decision_trace",
    "binary_fired",
    "decision_trace",
    "multiclass_decide",
    "multilabel_decide",
    "positive_scores",
    "top_k",
    "validate_binary_threshold",
    "validate_labels",
]

Task = Literal["multi-class", "multi-label"]
TASKS: tuple[Task, ...] = ("multi-class", "multi-label")

# Column names of the decision trace's two distances (different quantities, different names).
TO_THRESHOLD: Final = "score − threshold"
LEAD: Final = "score − runner-up"
#: The binary rule's default threshold: positive when ``p >= 0.5``.
BINARY_THRESHOLD: Final = 0.5


def validate_labels(labels: Sequence[str], n_classes: int | None = None) -> tuple[str, ...]:
    """Check ``labels`` are unique strings (and ``n_classes`` of them when given).

    Raises
    ------
    TypeError
        ``labels`` is a bare string or holds a non-string.
    ValueError
        Wrong length or duplicates.
    """
    if isinstance(labels, str | bytes):
        raise TypeError(
            f"`labels` must be a sequence of strings, not a single string; got {labels!r}"
        )
    out = tuple(labels)
    for i, label in enumerate(out):
        if not isinstance(label, str):
            raise TypeError(f"`labels[{i}]` must be a str; got {type(label).__name__} {label!r}")
    if n_classes is not None and len(out) != n_classes:
        raise ValueError(
            f"`labels` must have one name per class ({n_classes}); got {len(out)} labels"
        )
    duplicates = sorted(label for label, count in Counter(out).items() if count > 1)
    if duplicates:
        raise ValueError(f"`labels` must be unique; got duplicates {duplicates}")
    return out


def _as_scores(scores: npt.ArrayLike) -> npt.NDArray[np.floating[Any]]:
    """``scores`` as a 2-D float array (a 1-D row is one example)."""
    array = np.asarray(scores)
    if array.dtype.kind in "biu":
        array = array.astype(np.float64)
    elif array.dtype.kind != "f":
        raise TypeError(f"`scores` must be a numeric array; got dtype {array.dtype}")
    if array.ndim == 1:
        array = array[np.newaxis, :]
    if array.ndim != 2:
        raise ValueError(
            f"`scores` must be 2-D (n_examples, n_classes) or one 1-D row; got shape {array.shape}"
        )
    if array.shape[1] == 0:
        raise ValueError(f"`scores` must have at least one class column; got shape {array.shape}")
    if np.isnan(array).any():
        row, col = (int(i) for i in np.argwhere(np.isnan(array))[0])
        raise ValueError(f"`scores` must not contain NaN; got NaN at row {row}, class {col}")
    return array


def _check_unit_interval(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise TypeError(
            f"`{name}` must be a number in [0, 1]; got {type(value).__name__} {value!r}"
        )
    v = float(value)
    if not (math.isfinite(v) and 0.0 <= v <= 1.0):
        raise ValueError(f"`{name}` must be in [0, 1]; got {value!r}")
    return v


def _as_thresholds(
    thresholds: float | Sequence[float] | npt.ArrayLike, n_classes: int
) -> npt.NDArray[np.float64]:
    """One threshold per class, each in [0, 1] or +inf (a single number applies to every class).

    A class whose threshold is ``+inf`` is *switched off*: it never fires, whatever its
    score (the optimisers offer it for a class that cannot reach a target).
    """
    if np.ndim(thresholds) == 0:
        value = _check_unit_interval("thresholds", thresholds)  # type: ignore[arg-type]
        return np.full(n_classes, value)
    values = np.asarray(thresholds)
    if values.ndim != 1 or values.shape[0] != n_classes:
        raise ValueError(
            f"`thresholds` must be one number or one per class ({n_classes}); "
            f"got shape {values.shape}"
        )
    if values.dtype.kind not in "biuf" or values.dtype.kind == "b":
        raise TypeError(f"`thresholds` must be numbers; got dtype {values.dtype}")
    values = values.astype(np.float64)
    # +inf switches a class off (it never fires): thresholds.json writes it as null
    bad = ~((np.isfinite(values) & (values >= 0.0) & (values <= 1.0)) | (values == np.inf))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"`thresholds[{i}]` must be in [0, 1] (or +inf: switched off); got {float(values[i])!r}"
        )
    return values


def multiclass_decide(
    scores: npt.ArrayLike,
    labels: Sequence[str],
    *,
    reject_threshold: float | None = None,
    thresholds: float | Sequence[float] | npt.ArrayLike | None = None,
) -> list[str | None]:
    """The winning label per example (arg-max), or ``None`` to abstain.

    Parameters
    ----------
    scores : array-like of shape (n_examples, n_classes) or (n_classes,)
    labels : sequence of str, length n_classes, unique, in class-id order
    reject_threshold : float in [0, 1], optional
        Abstain when the top score is below it (the top class fires when
        ``top_score >= reject_threshold``).
    thresholds : float or sequence of n_classes floats in [0, 1], optional
        Per-class thresholds for the winner: the arg-max class ``w`` is output when
        ``scores[w] >= thresholds[w]`` (and the reject threshold), otherwise the model
        abstains. A single ``reject_threshold`` is the same rule with one value for every
        class; with both, the winner must reach ``max(thresholds[w], reject_threshold)``.

    Returns
    -------
    list of str or None, one per example. Ties go to the lower class id.

    Examples
    --------
    >>> multiclass_decide([[0.2, 0.8], [0.5, 0.5]], ["a", "b"])
    ['b', 'a']
    >>> multiclass_decide([0.4, 0.35, 0.25], ["a", "b", "c"], reject_threshold=0.5)
    [None]
    >>> multiclass_decide([0.4, 0.35, 0.25], ["a", "b", "c"], thresholds=[0.3, 0.9, 0.9])
    ['a']
    """
    s = _as_scores(scores)
    names = validate_labels(labels, s.shape[1])
    winners = np.argmax(s, axis=1)  # first maximum: ties go to the lower class id
    cuts = _winner_cuts(s.shape[1], reject_threshold=reject_threshold, thresholds=thresholds)
    if cuts is None:
        return [names[i] for i in winners]
    top = s[np.arange(s.shape[0]), winners]
    return [names[i] if t >= cuts[i] else None for i, t in zip(winners, top, strict=True)]


def _winner_cuts(
    n_classes: int,
    *,
    reject_threshold: float | None,
    thresholds: float | Sequence[float] | npt.ArrayLike | None,
) -> npt.NDArray[np.float64] | None:
    """The score each class must reach to be output when it wins (None: always answer)."""
    if reject_threshold is None and thresholds is None:
        return None
    cuts = np.zeros(n_classes)
    if thresholds is not None:
        cuts = _as_thresholds(thresholds, n_classes)
    if reject_threshold is not None:
        cuts = np.maximum(cuts, _check_unit_interval("reject_threshold", reject_threshold))
    return cuts


def multilabel_decide(
    scores: npt.ArrayLike,
    labels: Sequence[str],
    thresholds: float | Sequence[float] | npt.ArrayLike,
) -> list[list[str]]:
    """Every label whose score reaches its threshold, per example, in class-id order.

    Parameters
    ----------
    scores : array-like of shape (n_examples, n_classes) or (n_classes,)
    labels : sequence of str, length n_classes, unique, in class-id order
    thresholds : float or sequence of n_classes floats, each in [0, 1]
        Class ``c`` fires when ``scores[:, c] >= thresholds[c]``.

    Returns
    -------
    list of lists of str; an inner list may be empty (no label passes its threshold).

    Examples
    --------
    >>> multilabel_decide([[0.9, 0.1, 0.6]], ["joy", "fear", "love"], 0.5)
    [['joy', 'love']]
    """
    s = _as_scores(scores)
    names = validate_labels(labels, s.shape[1])
    fired = s >= _as_thresholds(thresholds, s.shape[1])
    return [[names[c] for c in np.flatnonzero(row)] for row in fired]


def top_k(scores: npt.ArrayLike, labels: Sequence[str], k: int) -> list[list[tuple[str, float]]]:
    """The ``k`` highest-scoring (label, score) pairs per example, best first.

    Ties are broken by class id (lower first). ``k`` larger than the number of classes
    returns every class.

    Raises
    ------
    ValueError
        ``k`` < 1.
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise TypeError(f"`k` must be an int; got {type(k).__name__} {k!r}")
    if k < 1:
        raise ValueError(f"`k` must be >= 1; got {k}")
    s = _as_scores(scores)
    names = validate_labels(labels, s.shape[1])
    order = np.argsort(-s, axis=1, kind="stable")[:, : int(k)]
    return [[(names[c], float(row[c])) for c in idx] for row, idx in zip(s, order, strict=True)]


def decision_trace(
    scores: npt.ArrayLike,
    labels: Sequence[str],
    *,
    task: Task,
    thresholds: float | Sequence[float] | npt.ArrayLike | None = None,
    reject_threshold: float | None = None,
    logits: npt.ArrayLike | None = None,
) -> pd.DataFrame:
    """Why each label fired or not, for one example: the table the app shows.

    Parameters
    ----------
    scores : array-like of shape (n_classes,) or (1, n_classes)
    labels : sequence of str, class-id order
    task : "multi-class" or "multi-label"
    thresholds : float or one per class; required for multi-label, optional per-class
        winner thresholds for multi-class (see :func:`multiclass_decide`)
    reject_threshold : float, optional, multi-class only
    logits : array-like of shape (n_classes,), optional

    Returns
    -------
    DataFrame with one row per class in class-id order and columns

    - ``label``;
    - ``logit`` (only when ``logits`` is given);
    - ``score``;
    - ``threshold``: the class threshold (multi-label); for multi-class the score the class
      must reach when it wins (``max(thresholds[c], reject_threshold)``), NaN when none is
      set;
    - ``score − threshold`` (:data:`TO_THRESHOLD`): multi-label, >= 0 means fired;
      multi-class only when a threshold applies (a reject or per-class threshold), the
      distance of each class's score to the score it would need to be output;
    - ``score − runner-up`` (:data:`LEAD`, multi-class only): ``score - best other score``,
      how far ahead of the competition the class is (positive only for the winner);
    - ``fired``: bool.

    The two distances have different names on purpose: a multi-label class is judged
    against its own threshold, a multi-class class against the other classes first.

    Raises
    ------
    ValueError
        More than one example, missing thresholds for multi-label, or bad shapes/values.
    """
    if task not in TASKS:
        raise ValueError(f"`task` must be one of {', '.join(TASKS)}; got {task!r}")
    s = _as_scores(scores)
    if s.shape[0] != 1:
        raise ValueError(f"`scores` must hold one example for a decision trace; got {s.shape[0]}")
    row = s[0].astype(np.float64)
    n = row.shape[0]
    names = validate_labels(labels, n)
    columns: dict[str, Any] = {"label": list(names)}
    if logits is not None:
        logit_row = np.asarray(logits, dtype=np.float64).reshape(-1)
        if logit_row.shape[0] != n:
            raise ValueError(
                f"`logits` must have {n} values (one per class); got {logit_row.shape[0]}"
            )
        columns["logit"] = logit_row
    columns["score"] = row
    if task == "multi-label":
        if thresholds is None:
            raise ValueError("`thresholds` are required for a multi-label decision trace")
        cut = _as_thresholds(thresholds, n)
        columns["threshold"] = cut
        columns[TO_THRESHOLD] = row - cut
        columns["fired"] = row >= cut
    else:
        winner = int(np.argmax(row))
        if n > 1:
            # best other score for each class: the top score, except for the winner itself
            others = np.where(np.arange(n) == winner, np.max(np.delete(row, winner)), row[winner])
        else:
            others = np.zeros(1)
        cuts = _winner_cuts(n, reject_threshold=reject_threshold, thresholds=thresholds)
        columns["threshold"] = np.full(n, np.nan) if cuts is None else cuts
        columns[LEAD] = row - others
        if cuts is not None:
            columns[TO_THRESHOLD] = row - cuts
        fired = np.zeros(n, dtype=bool)
        fired[winner] = cuts is None or row[winner] >= cuts[winner]
        columns["fired"] = fired
    return pd.DataFrame(columns)


# --------------------------------------------------------------------------- binary


def validate_binary_threshold(threshold: Any) -> float:
    """``threshold`` as a float in [0, 1] (the binary rule's one threshold).

    Raises
    ------
    TypeError
        Not a real number (a bool, a string, None).
    ValueError
        NaN, infinite, or outside [0, 1].
    """
    return _check_unit_interval("threshold", threshold)


def positive_scores(scores: npt.ArrayLike) -> npt.NDArray[np.floating[Any]]:
    """The positive class's score ``p`` per example, shape ``(n,)``.

    Parameters
    ----------
    scores : array-like of shape (n,), (n, 1) or (n, 2)
        ``p`` itself (one value per example), or the two columns ``[1 - p, p]`` of a
        binary model shown as (negative, positive): then column 1 is ``p``.

    Raises
    ------
    TypeError
        Not numeric.
    ValueError
        Another shape, or a NaN score (its row named).
    """
    array = np.asarray(scores)
    if array.dtype.kind in "biu":
        array = array.astype(np.float64)
    elif array.dtype.kind != "f":
        raise TypeError(f"`scores` must be a numeric array; got dtype {array.dtype}")
    if array.ndim == 2 and array.shape[1] in (1, 2):
        array = array[:, -1]
    if array.ndim != 1:
        raise ValueError(
            "`scores` must be the positive scores p of shape (n,) or (n, 1), or the two "
            f"columns [1 - p, p] of shape (n, 2); got shape {array.shape}"
        )
    nan = np.isnan(array)
    if nan.any():
        raise ValueError(
            f"`scores` must not contain NaN; got NaN at row {int(np.flatnonzero(nan)[0])}"
        )
    return array


def binary_fired(
    scores: npt.ArrayLike, threshold: float = BINARY_THRESHOLD
) -> npt.NDArray[np.bool_]:
    """Whether each example is positive: ``p >= threshold`` (see :func:`positive_scores`).

    Examples
    --------
    >>> binary_fired([0.2, 0.5, 0.9], 0.5).tolist()
    [False, True, True]
    """
    p = positive_scores(scores)
    return np.asarray(p >= validate_binary_threshold(threshold), dtype=bool)


def binary_decide(
    scores: npt.ArrayLike, labels: Sequence[str], threshold: float = BINARY_THRESHOLD
) -> list[str]:
    """The binary rule: ``labels[1]`` (positive) when ``p >= threshold``, else ``labels[0]``.

    Parameters
    ----------
    scores : array-like of shape (n,), (n, 1) or (n, 2)
        The positive scores ``p``, or the columns ``[1 - p, p]`` (:func:`positive_scores`).
    labels : sequence of two str
        ``(negative, positive)``, in class-id order.
    threshold : float in [0, 1], default 0.5
        One threshold on ``p``; never NaN.

    Returns
    -------
    list of str, one per example (the binary rule never abstains).

    Raises
    ------
    ValueError
        Not two unique labels, a NaN score, a threshold outside [0, 1] or NaN.

    Examples
    --------
    >>> binary_decide([[0.7, 0.3], [0.4, 0.6]], ["ham", "spam"], 0.3)
    ['spam', 'spam']
    >>> binary_decide([0.29], ["ham", "spam"], 0.3)
    ['ham']
    """
    names = validate_labels(labels, 2)
    fired = binary_fired(scores, threshold)
    return [names[1] if f else names[0] for f in fired]


def binary_decision_trace(
    scores: npt.ArrayLike,
    labels: Sequence[str],
    threshold: float = BINARY_THRESHOLD,
    *,
    logits: npt.ArrayLike | None = None,
) -> pd.DataFrame:
    """Why one example got its label under the binary rule: the table the app shows.

    Parameters
    ----------
    scores : array-like of shape (2,) or (1, 2): ``[1 - p, p]``
    labels : ``(negative, positive)``
    threshold : float in [0, 1]
    logits : array-like of shape (2,), optional

    Returns
    -------
    DataFrame with one row per class (negative, positive) and columns ``label``, ``logit``
    (when given), ``score``, ``threshold`` (the positive class's ``t``; for the negative
    class, NaN: it is the answer whenever ``p < t``), ``score − threshold``
    (:data:`TO_THRESHOLD`, positive row only: ``p - t``, >= 0 means positive) and ``fired``.

    Raises
    ------
    ValueError
        Not one example of two scores, bad labels or threshold.
    """
    s = _as_scores(scores)
    if s.shape != (1, 2):
        raise ValueError(
            f"`scores` must hold one example's two scores [1 - p, p]; got shape {s.shape}"
        )
    names = validate_labels(labels, 2)
    t = validate_binary_threshold(threshold)
    row = s[0].astype(np.float64)
    positive = bool(row[1] >= t)
    columns: dict[str, Any] = {"label": list(names)}
    if logits is not None:
        logit_row = np.asarray(logits, dtype=np.float64).reshape(-1)
        if logit_row.shape[0] != 2:
            raise ValueError(f"`logits` must have 2 values; got {logit_row.shape[0]}")
        columns["logit"] = logit_row
    columns["score"] = row
    columns["threshold"] = np.array([np.nan, t])
    columns[TO_THRESHOLD] = np.array([np.nan, row[1] - t])
    columns["fired"] = np.array([not positive, positive])
    return pd.DataFrame(columns)
