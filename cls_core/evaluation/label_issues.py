"""Suspected label errors: rows whose given label disagrees confidently with the model.

Uses cleanlab's confident learning (:func:`cleanlab.filter.find_label_issues`), the field's
standard, rather than a hand-written rule: it estimates per-class thresholds of "confident"
predictions from the data itself and flags rows whose given label falls off the joint
distribution, ranked by the model's self-confidence in the given label (lowest first).

The scores must be **out-of-sample**: predicted by a model that did not train on these rows
(a held-out split, or cross-validation). On training rows the model has memorised the given
labels and cleanlab finds almost nothing. The bundled models' dev and test splits are
held out from training (dev only chose the early-stopping epoch and, for goemotions, the
card's thresholds).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from cls_core.evaluation.metrics import Evaluation

__all__ = ["MAX_ROWS", "LabelIssues", "find_label_issues"]

#: Largest evaluation cleanlab is run on (its multi-label path is O(n * C) Python work).
MAX_ROWS: Final = 200_000


@dataclass(frozen=True, kw_only=True)
class LabelIssues:
    """Rows suspected of carrying a wrong label, most suspicious first.

    Attributes
    ----------
    rows : ndarray of int64
        Row positions in the evaluation, ranked (most suspicious first).
    reasons : tuple of str
        One per row: ``"given: joy; model: anger 0.93"``.
    quality : ndarray of float64
        cleanlab's label quality score per flagged row (0 = surely wrong, 1 = surely right).
    per_class : dict of str to int
        Flagged rows per given label (a multi-label row counts once for each given label).
    n_examples : int
        Rows examined.
    """

    rows: npt.NDArray[np.int64]
    reasons: tuple[str, ...]
    quality: npt.NDArray[np.float64]
    per_class: dict[str, int]
    n_examples: int

    def to_frame(self, texts: Any = None) -> pd.DataFrame:
        """One line per flagged row: ``rank``, ``row``, (``text``,) ``reason``, ``label_quality``."""
        frame = pd.DataFrame(
            {
                "rank": np.arange(1, len(self.rows) + 1),
                "row": self.rows,
                "reason": list(self.reasons),
                "label_quality": self.quality,
            }
        )
        if texts is not None:
            series = texts if isinstance(texts, pd.Series) else pd.Series(list(texts))
            frame.insert(2, "text", series.iloc[self.rows].astype(str).to_numpy())
        return frame


def _probabilities(evaluation: Evaluation) -> npt.NDArray[np.float64]:
    p = np.clip(evaluation.scores.astype(np.float64), 0.0, 1.0)
    if evaluation.task == "multi-class":
        sums = p.sum(axis=1, keepdims=True)
        p = np.divide(p, sums, out=np.full_like(p, 1.0 / p.shape[1]), where=sums > 0)
    return p


def find_label_issues(evaluation: Evaluation) -> LabelIssues:
    """Rank the rows whose given labels the model disputes confidently (cleanlab).

    Parameters
    ----------
    evaluation : Evaluation
        Out-of-sample scores (probabilities) and the given labels. Multi-class scores are
        renormalised to sum to 1 per row (a scores file rounded to a few decimals).

    Returns
    -------
    LabelIssues

    Raises
    ------
    ValueError
        More than :data:`MAX_ROWS` rows, or fewer than 2 classes with examples (cleanlab
        needs to estimate how classes are confused).
    """
    n = evaluation.n_examples
    if n > MAX_ROWS:
        raise ValueError(
            f"label-issue search runs on at most {MAX_ROWS:,} rows; this evaluation has {n:,}"
        )
    if int((evaluation.support > 0).sum()) < 2:
        raise ValueError("label-issue search needs at least 2 classes that have examples")
    from cleanlab.filter import find_label_issues as _cleanlab_find
    from cleanlab.rank import get_label_quality_scores

    probs = _probabilities(evaluation)
    labels = evaluation.labels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cleanlab warns about classes with few examples
        if evaluation.task == "multi-class":
            assert evaluation.truth_ids is not None
            given_ids = evaluation.truth_ids.astype(np.int64)
            ranked = _cleanlab_find(
                given_ids, probs, return_indices_ranked_by="self_confidence", n_jobs=1
            )
            quality = get_label_quality_scores(given_ids, probs)
        else:
            given = [list(np.flatnonzero(row)) for row in evaluation.truth]
            ranked = _cleanlab_find(
                given,
                probs,
                multi_label=True,
                return_indices_ranked_by="self_confidence",
                n_jobs=1,
            )
            from cleanlab.multilabel_classification.rank import (
                get_label_quality_scores as multilabel_quality,
            )

            quality = multilabel_quality(given, probs)
    rows = np.asarray(ranked, dtype=np.int64)
    reasons = []
    per_class = dict.fromkeys(labels, 0)
    for i in rows:
        if evaluation.task == "multi-class":
            g = int(evaluation.truth_ids[i])  # type: ignore[index]
            top = int(np.argmax(probs[i]))
            reasons.append(
                f"given: {labels[g]} ({probs[i, g]:.2f}); model: {labels[top]} {probs[i, top]:.2f}"
            )
            per_class[labels[g]] += 1
        else:
            given_ids = np.flatnonzero(evaluation.truth[i])
            top = int(np.argmax(probs[i]))
            given_text = ", ".join(f"{labels[j]} ({probs[i, j]:.2f})" for j in given_ids)
            reasons.append(
                f"given: {given_text or 'no label'}; model: {labels[top]} {probs[i, top]:.2f}"
            )
            for j in given_ids:
                per_class[labels[j]] += 1
    return LabelIssues(
        rows=rows,
        reasons=tuple(reasons),
        quality=np.asarray(quality, dtype=np.float64)[rows],
        per_class=per_class,
        n_examples=n,
    )
