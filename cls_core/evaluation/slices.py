"""Slices: does it hold for short texts, for texts that mention a word, for one market?

A *slicing* assigns every evaluation row to one named group (or to none):

- :func:`length_slices`: word-count bins (preset 1–5, 6–10, 11–20, 21+ words);
- :func:`pattern_slices`: rows whose text contains a keyword, or matches a regular
  expression, against the rest. Patterns come from users, so they run under RE2
  (``google-re2``): matching time is linear in the text for every pattern, so a
  catastrophic pattern for a backtracking engine (``(a+)+$`` on ``"aaaa…b"``) cannot hang
  the server; the compiled program is capped at :data:`PATTERN_MEMORY` bytes and the
  matching of all texts at :data:`PATTERN_SECONDS` seconds;
- :func:`column_slices`: any extra column of an uploaded file, categorical (most frequent
  values, the rest as "other") or numeric (quantile bins).

:func:`slice_metrics` then reports, per group and overall, the support and micro-averaged
precision, recall and F1 at the current thresholds (or one class's), with percentile
bootstrap intervals (rows resampled within the group), and :func:`slice_thresholds` each
group's own F1-optimal thresholds next to the global ones.

Decision rules are the metrics' own (a class fires when ``score >= threshold``;
multi-class answers the winner when it reaches ``max(thresholds[winner], reject)``).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from cls_core.evaluation.examples import _answers, outcomes
from cls_core.evaluation.metrics import Evaluation, build_evaluation
from cls_core.evaluation.thresholds import choose_thresholds, parse_objective

__all__ = [
    "LENGTH_EDGES",
    "MAX_PATTERN_CHARS",
    "PATTERN_MEMORY",
    "PATTERN_SECONDS",
    "Slicing",
    "column_slices",
    "length_slices",
    "pattern_slices",
    "slice_metrics",
    "slice_thresholds",
]

#: Word-count bin edges of the preset length slicing: 1–5, 6–10, 11–20, 21+ words.
LENGTH_EDGES: Final = (5, 10, 20)
#: Longest pattern accepted.
MAX_PATTERN_CHARS: Final = 200
#: Time budget for matching one pattern against every text.
PATTERN_SECONDS: Final = 2.0
#: Memory budget of one compiled pattern (RE2's ``max_mem``): a bigger one is refused.
PATTERN_MEMORY: Final = 8 << 20


@dataclass(frozen=True, kw_only=True)
class Slicing:
    """Every row's group.

    Attributes
    ----------
    name : str
        What the slicing is ("text length (words)", "matches 'refund'", "column market").
    groups : tuple of str
        Group names, in display order.
    assignment : ndarray of int64, shape (n_examples,)
        Index into ``groups`` per row; -1 for rows in no group (e.g. a missing value).
    """

    name: str
    groups: tuple[str, ...]
    assignment: npt.NDArray[np.int64]

    def __post_init__(self) -> None:
        a = self.assignment
        if a.ndim != 1 or (a.size and (a.min() < -1 or a.max() >= len(self.groups))):
            raise ValueError(
                f"`assignment` must be a 1-D array of group indices in [-1, {len(self.groups) - 1}]"
            )


def length_slices(
    texts: Sequence[str] | pd.Series, *, edges: Sequence[int] = LENGTH_EDGES
) -> Slicing:
    """Bins of words per text: ``1–5``, ``6–10``, ``11–20``, ``21+`` by default.

    Raises
    ------
    ValueError
        ``edges`` not strictly increasing positive integers.
    """
    e = [int(x) for x in edges]
    if not e or e[0] < 1 or any(b <= a for a, b in itertools.pairwise(e)):
        raise ValueError(f"`edges` must be increasing positive word counts; got {list(edges)}")
    series = texts if isinstance(texts, pd.Series) else pd.Series(list(texts), dtype=object)
    words = np.fromiter(
        (len(str(t).split()) for t in series.tolist()), dtype=np.int64, count=len(series)
    )
    lows = [1, *(x + 1 for x in e)]
    names = [f"{lo}–{hi} words" for lo, hi in zip(lows, e, strict=False)] + [f"{lows[-1]}+ words"]
    assignment = np.searchsorted(np.asarray(e), words, side="left").astype(np.int64)
    assignment[words == 0] = 0
    return Slicing(name="text length (words)", groups=tuple(names), assignment=assignment)


def pattern_slices(
    texts: Sequence[str] | pd.Series,
    pattern: str,
    *,
    kind: Literal["keyword", "regex"] = "keyword",
    seconds: float = PATTERN_SECONDS,
) -> Slicing:
    """Rows whose text contains ``pattern`` (case-insensitive) against the rest.

    Parameters
    ----------
    texts : sequence of str
    pattern : str
        A keyword (plain substring) or a regular expression in RE2 syntax (Python's ``re``
        without backreferences and lookaround; ``\\b`` and ``\\w`` are ASCII).
    kind : "keyword" or "regex"
    seconds : float
        Total time budget for matching every text (RE2 is linear in each text's length,
        so only a very large data set can reach it).

    Raises
    ------
    ValueError
        Empty or too long pattern, a pattern that does not compile (with RE2's reason),
        a compiled pattern over :data:`PATTERN_MEMORY`, or matching that took longer
        than ``seconds``.
    """
    if not pattern:
        raise ValueError("the pattern is empty: type a keyword or a regular expression")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ValueError(
            f"the pattern is {len(pattern)} characters long; at most {MAX_PATTERN_CHARS} are accepted"
        )
    values = texts.astype(str).tolist() if isinstance(texts, pd.Series) else [str(t) for t in texts]
    if kind == "keyword":
        needle = pattern.casefold()
        hits = np.fromiter((needle in t.casefold() for t in values), dtype=bool, count=len(values))
        name = f"contains “{pattern}”"
    elif kind == "regex":
        compiled = _compile_re2(pattern)
        deadline = time.monotonic() + seconds
        hits = np.zeros(len(values), dtype=bool)
        for i, text in enumerate(values):
            if i % 256 == 0 and time.monotonic() > deadline:
                raise ValueError(
                    f"matching the regular expression took more than {seconds:g} s "
                    f"({i:,} of {len(values):,} texts) and was stopped: use a simpler "
                    "pattern or a keyword"
                )
            hits[i] = compiled.search(text) is not None
        name = f"matches /{pattern}/"
    else:
        raise ValueError(f"`kind` must be 'keyword' or 'regex'; got {kind!r}")
    return Slicing(
        name=name,
        groups=("matches", "does not match"),
        assignment=np.where(hits, 0, 1).astype(np.int64),
    )


def _compile_re2(pattern: str) -> Any:
    """``pattern`` compiled by RE2 (case-insensitive), or a ValueError saying why not."""
    import re2

    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # the reason goes into the ValueError, not to stderr
    options.max_mem = PATTERN_MEMORY
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "does not compile"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        if "pattern too large" in reason:
            raise ValueError(
                "the regular expression is too large: compiled, it needs more than "
                f"{PATTERN_MEMORY >> 20} MiB (large counted repetitions such as "
                "“\\w{1000}” multiply its size): make it smaller"
            ) from None
        hint = ""
        if "perl operator" in reason or "escape sequence: \\" in reason:
            hint = " (lookaround and backreferences are not supported: RE2 syntax)"
        raise ValueError(f"bad regular expression: {reason}{hint}") from None


def column_slices(
    values: pd.Series | Sequence[Any], *, name: str = "column", max_groups: int = 12, bins: int = 4
) -> Slicing:
    """Groups from an extra column: categorical values, or quantile bins of numbers.

    A column whose non-missing cells are all numbers with more than ``max_groups``
    distinct values is cut into ``bins`` quantile bins; otherwise each value is a group
    (the ``max_groups - 1`` most frequent, the rest as "other"). Missing cells are in no
    group.

    Raises
    ------
    ValueError
        The column has no non-missing value.
    """
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    missing = series.isna().to_numpy()
    if missing.all():
        raise ValueError(f"column {name!r} has no values to slice by")
    numeric = pd.to_numeric(series, errors="coerce")
    is_number = bool((numeric.notna() | series.isna()).all())
    assignment = np.full(len(series), -1, dtype=np.int64)
    if is_number and numeric.nunique() > max_groups:
        edges = np.unique(
            np.nanquantile(numeric.to_numpy(dtype=np.float64), np.linspace(0, 1, bins + 1))
        )
        inner = edges[1:-1]
        ids = np.searchsorted(inner, numeric.to_numpy(dtype=np.float64), side="right")
        groups = []
        bounds = [edges[0], *inner, edges[-1]]
        for lo, hi in itertools.pairwise(bounds):
            groups.append(f"{lo:.4g} – {hi:.4g}")
        assignment[~missing] = ids[~missing]
        return Slicing(
            name=f"column {name} (quantile bins)", groups=tuple(groups), assignment=assignment
        )
    text = series.astype(str)
    counts = text[~missing].value_counts(sort=True)
    keep = list(counts.index[: max_groups - 1]) if len(counts) > max_groups else list(counts.index)
    groups = [str(v) for v in keep]
    index = {v: i for i, v in enumerate(keep)}
    mapped = text.map(index)
    has = mapped.notna().to_numpy() & ~missing
    assignment[has] = mapped[has].to_numpy(dtype=np.int64)
    if len(counts) > len(keep):
        groups.append("other")
        assignment[~has & ~missing] = len(groups) - 1
    return Slicing(name=f"column {name}", groups=tuple(groups), assignment=assignment)


def _row_counts(
    evaluation: Evaluation,
    thresholds: npt.NDArray[np.float64],
    class_index: int | None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per-row (tp, predicted, actual) counts whose sums give micro (or one class's) metrics."""
    if class_index is not None:
        code = outcomes(evaluation, int(class_index), thresholds=thresholds)  # 0 TP 1 FP 2 FN
        return (
            (code == 0).astype(np.int64),
            (code <= 1).astype(np.int64),
            ((code == 0) | (code == 2)).astype(np.int64),
        )
    if evaluation.task == "multi-label":
        tp, pred = evaluation._per_example_counts(thresholds)
        return tp.astype(np.int64), pred.astype(np.int64), evaluation._true_per_example
    assert evaluation.truth_ids is not None
    answers = _answers(evaluation, thresholds)
    answered = answers >= 0
    return (
        (answered & (answers == evaluation.truth_ids)).astype(np.int64),
        answered.astype(np.int64),
        np.ones(evaluation.n_examples, dtype=np.int64),
    )


def _prf(tp: Any, pred: Any, act: Any) -> tuple[Any, Any, Any]:
    tp, pred, act = (np.asarray(x, dtype=np.float64) for x in (tp, pred, act))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(pred > 0, tp / pred, 0.0)
        r = np.where(act > 0, tp / act, 0.0)
        f = np.where(pred + act > 0, 2 * tp / (pred + act), 0.0)
    return p, r, f


def slice_metrics(
    evaluation: Evaluation,
    slicing: Slicing,
    *,
    thresholds: npt.ArrayLike | None = None,
    reject_threshold: float | None = None,
    class_index: int | None = None,
    bootstrap: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Support, precision, recall and F1 per group and overall, with bootstrap intervals.

    Micro-averaged over classes (``class_index=None``; multi-class: precision = correct /
    answered, recall = correct / rows), or for one class. Intervals are percentile
    bootstrap intervals: rows are resampled with replacement within each group,
    ``bootstrap`` times, with a fixed ``seed``.

    Returns
    -------
    DataFrame
        Columns ``slice``, ``support``, and for each of ``precision``, ``recall``, ``f1``
        the value and its ``_low``/``_high`` bounds (NaN when the group has < 2 rows or
        ``bootstrap`` is 0; every metric NaN for an empty group). The first line is
        ``overall``.

    Raises
    ------
    ValueError
        A slicing of another length, ``bootstrap`` not 0 or in [50, 10000], confidence not
        in (0, 1).
    """
    n = evaluation.n_examples
    if slicing.assignment.shape[0] != n:
        raise ValueError(
            f"the slicing has {slicing.assignment.shape[0]} rows; the evaluation has {n}"
        )
    if bootstrap != 0 and not 50 <= int(bootstrap) <= 10_000:
        raise ValueError(f"`bootstrap` must be 0 or in [50, 10000]; got {bootstrap!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"`confidence` must be in (0, 1); got {confidence!r}")
    t = evaluation.effective_thresholds(thresholds, reject_threshold=reject_threshold)
    tp, pred, act = _row_counts(evaluation, t, class_index)
    rng = np.random.default_rng(seed)
    alpha = (1 - confidence) / 2
    records = []
    members = [("overall", np.arange(n))] + [
        (g, np.flatnonzero(slicing.assignment == i)) for i, g in enumerate(slicing.groups)
    ]
    for group, rows in members:
        m = rows.shape[0]
        if m:
            p, r, f = (float(v) for v in _prf(tp[rows].sum(), pred[rows].sum(), act[rows].sum()))
        else:  # an empty slice has no metrics (not zeros)
            p = r = f = math.nan
        record: dict[str, Any] = {"slice": group, "support": int(m), "precision": p,
                                  "recall": r, "f1": f}  # fmt: skip
        if bootstrap and m >= 2:
            sums = np.empty((int(bootstrap), 3), dtype=np.float64)
            g_tp, g_pred, g_act = tp[rows], pred[rows], act[rows]
            for b in range(int(bootstrap)):
                pick = rng.integers(0, m, m)
                sums[b] = (g_tp[pick].sum(), g_pred[pick].sum(), g_act[pick].sum())
            bp, br, bf = _prf(sums[:, 0], sums[:, 1], sums[:, 2])
            for key, values in (("precision", bp), ("recall", br), ("f1", bf)):
                lo, hi = np.quantile(values, [alpha, 1 - alpha])
                record[f"{key}_low"], record[f"{key}_high"] = float(lo), float(hi)
        else:
            for key in ("precision", "recall", "f1"):
                record[f"{key}_low"] = record[f"{key}_high"] = math.nan
        records.append(record)
    columns = ["slice", "support"]
    for key in ("precision", "recall", "f1"):
        columns += [key, f"{key}_low", f"{key}_high"]
    return pd.DataFrame.from_records(records, columns=columns)


def slice_thresholds(
    evaluation: Evaluation, slicing: Slicing, *, objective: str = "f1", min_rows: int = 20
) -> pd.DataFrame:
    """Each group's own optimal per-class thresholds next to the global ones.

    Returns
    -------
    DataFrame
        One line per class: ``class``, ``global``, then one column per group with at
        least ``min_rows`` rows (NaN where the group has no positive of the class).

    Raises
    ------
    ValueError
        A bad objective, or one that is not per-class (coverage/accuracy).
    """
    obj = parse_objective(objective)
    if not obj.per_class:
        raise ValueError(f"slice thresholds need a per-class objective; got {obj}")
    frame = pd.DataFrame({"class": list(evaluation.labels)})
    frame["global"] = choose_thresholds(evaluation.sweep, obj).thresholds
    truth: Any = evaluation.truth_ids if evaluation.task == "multi-class" else evaluation.truth
    for i, group in enumerate(slicing.groups):
        rows = np.flatnonzero(slicing.assignment == i)
        if rows.shape[0] < min_rows:
            continue
        sub = build_evaluation(
            evaluation.scores[rows], truth[rows], labels=evaluation.labels, task=evaluation.task
        )
        chosen = choose_thresholds(sub.sweep, obj).thresholds.astype(np.float64)
        chosen[sub.support == 0] = np.nan
        frame[group] = chosen
    return frame
