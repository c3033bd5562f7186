"""Views of a model's logits: the same numbers seen through another activation.

The Playground lets people look at a model's real logits as softmax scores, sigmoid scores
or raw logits, at any temperature. This module computes the view, the decision rule that
goes with it, and a plain-language sentence saying what changed and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from cls_core.scoring.activations import apply_activation
from cls_core.scoring.decisions import (
    binary_fired,
    multiclass_decide,
    multilabel_decide,
    validate_binary_threshold,
    validate_labels,
)

__all__ = [
    "VIEWS",
    "VIEW_NAMES",
    "Decision",
    "ScoreView",
    "ViewKind",
    "binary_explanation",
    "decide_binary_view",
    "decide_view",
    "result_record",
    "serving_thresholds_table",
    "trace_text",
    "view_scores",
]

ViewKind = Literal["model", "softmax", "sigmoid", "none"]
VIEWS: tuple[ViewKind, ...] = ("model", "softmax", "sigmoid", "none")
VIEW_NAMES: dict[ViewKind, str] = {
    "model": "the model's own activation",
    "softmax": "softmax",
    "sigmoid": "sigmoid",
    "none": "raw logits",
}


@dataclass(frozen=True, kw_only=True)
class ScoreView:
    """Logits seen through one activation.

    Attributes
    ----------
    activation : "softmax", "sigmoid" or "none" (the activation actually applied)
    values : ndarray of shape (n_examples, n_classes)
    rule : "argmax" (softmax: one winner), "thresholds" (sigmoid: each class on its own)
        or "none" (raw logits: no labels are decided)
    explanation : str
        What this view shows, compared with the model's own activation.
    """

    activation: Literal["softmax", "sigmoid", "none"]
    values: npt.NDArray[np.floating[Any]]
    rule: Literal["argmax", "thresholds", "none"]
    explanation: str


def view_scores(
    logits: npt.ArrayLike,
    *,
    model_activation: str,
    view: ViewKind = "model",
    temperature: float = 1.0,
) -> ScoreView:
    """Apply ``view`` to ``logits`` and explain the result.

    Parameters
    ----------
    logits : array-like of shape (n_examples, n_classes) or (n_classes,)
    model_activation : the activation the model was trained with
    view : "model", "softmax", "sigmoid" or "none"
    temperature : float > 0, divides the logits first

    Raises
    ------
    ValueError
        Unknown ``view`` or ``model_activation``, bad temperature, NaN logits.
    """
    if model_activation not in ("softmax", "sigmoid"):
        raise ValueError(
            f"`model_activation` must be 'softmax' or 'sigmoid'; got {model_activation!r}"
        )
    if view not in VIEWS:
        raise ValueError(f"`view` must be one of {', '.join(VIEWS)}; got {view!r}")
    kind: Literal["softmax", "sigmoid", "none"] = (
        model_activation if view == "model" else view  # type: ignore[assignment]
    )
    values = apply_activation(np.atleast_2d(np.asarray(logits)), kind, temperature=temperature)
    rule: Literal["argmax", "thresholds", "none"] = {
        "softmax": "argmax",
        "sigmoid": "thresholds",
        "none": "none",
    }[kind]  # type: ignore[assignment]
    return ScoreView(
        activation=kind,
        values=values,
        rule=rule,
        explanation=_explain(model_activation, kind, temperature),
    )


def _explain(model: str, kind: str, temperature: float) -> str:
    parts: list[str] = []
    if kind == "none" and model == "softmax":
        parts.append(
            "These are the raw logits, before the model's softmax: unbounded numbers where "
            "only differences between classes matter (adding the same amount to every logit "
            "leaves the softmax scores unchanged), and the highest logit is the top class. No "
            "labels are decided on logits here; switch back to scores to apply thresholds."
        )
    elif kind == "none":
        parts.append(
            "These are the raw logits, before the model's sigmoid: unbounded numbers where each "
            "logit's own sign decides (above 0 means a sigmoid score above 0.5; the other "
            "classes do not matter). No labels are decided on logits here; switch back to "
            "scores to apply the per-class thresholds."
        )
    elif kind == model == "softmax":
        parts.append(
            "Softmax, as the model was trained: the classes compete, the scores sum to 1 and "
            "the highest one wins."
        )
    elif kind == model == "sigmoid":
        parts.append(
            "Sigmoid, as the model was trained: each class is judged on its own, so several "
            "can fire at once (or none); the scores need not sum to 1."
        )
    elif kind == "sigmoid":
        parts.append(
            "Sigmoid on a softmax model's logits: each class is now judged on its own, so the "
            "scores no longer sum to 1. The model was trained to make logits compete, not to be "
            "read one by one, so these scores are not calibrated probabilities; only their order "
            "matches the softmax view."
        )
    else:
        parts.append(
            "Softmax on a sigmoid model's logits: the classes are forced to compete and sum to "
            "1, so one strong emotion pushes the others down even though the model treats them "
            "independently. The ranking is the same as the sigmoid view; the values are not."
        )
    if kind != "none" and temperature != 1.0:
        direction = "flattens" if temperature > 1.0 else "sharpens"
        parts.append(
            f"Temperature {temperature:g} divides every logit by {temperature:g} first, which "
            f"{direction} the scores without changing their order."
        )
    return " ".join(parts)


@dataclass(frozen=True, kw_only=True)
class Decision:
    """The labels one example gets under a view.

    Attributes
    ----------
    rule : "argmax", "thresholds", "binary" or "none"
    fired : bool ndarray of shape (n_classes,)
    labels : the fired labels in class-id order (for argmax: the winner, or nothing;
        binary: always one, the positive or the negative label)
    abstained : True when an arg-max decision fell below the reject threshold
    thresholds : per-class thresholds used ("thresholds" rule) or None; binary:
        ``[nan, t]`` (only the positive class has a threshold)
    reject_threshold : the reject threshold used ("argmax" rule) or None
    """

    rule: Literal["argmax", "thresholds", "binary", "none"]
    fired: npt.NDArray[np.bool_]
    labels: tuple[str, ...]
    abstained: bool
    thresholds: npt.NDArray[np.float64] | None
    reject_threshold: float | None
    #: Binary rule only: the positive class's name (the threshold is on its score).
    positive_label: str | None = None

    def sentence(self) -> str:
        """The decision in words, plain text (callers escape it for Markdown)."""
        if self.rule == "none":
            return "Raw logits: no labels are decided on logits."
        if self.rule == "binary":
            assert self.thresholds is not None
            t = float(self.thresholds[1])
            relation = "≥" if self.fired[1] else "<"
            whose = f"{self.positive_label}'s" if self.positive_label else "the positive"
            return f"Predicted class: {self.labels[0]} ({whose} score {relation} {t:.3f})"
        if self.rule == "argmax":
            if self.abstained and self.thresholds is not None:
                return "Abstain: the top score is below its class's threshold."
            if self.abstained:
                return "Abstain: the top score is below the reject threshold."
            return f"Predicted class: {self.labels[0]}"
        if not self.labels:
            return "No label passes its threshold."
        noun = "label" if len(self.labels) == 1 else "labels"
        return f"Predicted {noun}: {', '.join(self.labels)}"


def decide_view(
    view: ScoreView,
    labels: Sequence[str],
    *,
    thresholds: float | npt.ArrayLike | None = None,
    reject_threshold: float | None = None,
) -> Decision:
    """Decide the labels of the first example of ``view`` with the view's own rule.

    ``thresholds`` (one number or one per class) are required for the "thresholds" rule;
    for "argmax" they are optional per-class winner thresholds, and ``reject_threshold``
    (None or 0 means never abstain) applies to every class.
    """
    row = view.values[0]
    n = row.shape[0]
    names = validate_labels(labels, n)
    if view.rule == "none":
        return Decision(
            rule="none",
            fired=np.zeros(n, bool),
            labels=(),
            abstained=False,
            thresholds=None,
            reject_threshold=None,
        )
    if view.rule == "argmax":
        cut = reject_threshold if reject_threshold else None
        per_class = (
            None
            if thresholds is None
            else np.broadcast_to(np.asarray(thresholds, dtype=np.float64), (n,)).copy()
        )
        winner = multiclass_decide(row, names, reject_threshold=cut, thresholds=per_class)[0]
        fired = np.array([label == winner for label in names])
        return Decision(
            rule="argmax",
            fired=fired,
            labels=() if winner is None else (winner,),
            abstained=winner is None,
            thresholds=per_class,
            reject_threshold=cut,
        )
    if thresholds is None:
        raise ValueError("`thresholds` are required to decide a sigmoid view")
    per_class = np.broadcast_to(np.asarray(thresholds, dtype=np.float64), (n,)).copy()
    fired_labels = multilabel_decide(row, names, per_class)[0]
    return Decision(
        rule="thresholds",
        fired=row >= per_class,
        labels=tuple(fired_labels),
        abstained=False,
        thresholds=per_class,
        reject_threshold=None,
    )


def binary_explanation(labels: Sequence[str], temperature: float = 1.0) -> str:
    """What a binary model's scores mean and how one threshold decides (plain text)."""
    negative, positive = validate_labels(labels, 2)
    text = (
        f"A binary model: it outputs one probability p that the text is {positive}, shown "
        f"as two classes: {positive} = p and {negative} = 1 − p (they sum to 1). One "
        f"threshold t decides: {positive} when p ≥ t, otherwise {negative}. The model never "
        "abstains. Raising t makes it say "
        f"{positive} less often (higher precision, lower recall); at t = 0.5 it picks the "
        f"higher score, and a tie at exactly 0.5 goes to {positive}."
    )
    if temperature != 1.0:
        direction = "towards 0.5" if temperature > 1.0 else "away from 0.5"
        text += (
            f" Temperature {temperature:g} divides the model's logit log(p / (1 − p)) by "
            f"{temperature:g} first, which moves p {direction} without changing the order."
        )
    return text


def decide_binary_view(view: ScoreView, labels: Sequence[str], threshold: float) -> Decision:
    """The binary rule on the first example of a two-column view ``[1 - p, p]``.

    Positive (``labels[1]``) when ``p >= threshold``, else negative
    (:func:`cls_core.scoring.decisions.binary_decide`).

    Raises
    ------
    ValueError
        The view is not two probability columns (raw logits), bad labels or threshold.
    """
    if view.rule == "none":
        raise ValueError("the binary rule decides on scores, not on raw logits")
    names = validate_labels(labels, 2)
    t = validate_binary_threshold(threshold)
    row = view.values[0]
    if row.shape[0] != 2:
        raise ValueError(f"a binary view has two scores [1 - p, p]; got {row.shape[0]}")
    positive = bool(binary_fired(row[np.newaxis, :], t)[0])
    return Decision(
        rule="binary",
        fired=np.array([not positive, positive]),
        labels=(names[1] if positive else names[0],),
        abstained=False,
        thresholds=np.array([np.nan, t]),
        reject_threshold=None,
        positive_label=names[1],
    )


def result_record(
    *,
    model: str,
    text: str,
    labels: Sequence[str],
    logits: npt.ArrayLike,
    view: ScoreView,
    decision: Decision,
    temperature: float,
) -> dict[str, Any]:
    """A JSON-ready record of one scored text (what the Playground offers to copy/download).

    Scores are listed best first, like the Hugging Face widget; logits in class-id order.
    """
    values = view.values[0].astype(float)
    order = np.argsort(-values, kind="stable")
    record: dict[str, Any] = {
        "model": model,
        "text": text,
        "activation": view.activation,
        "temperature": temperature,
        "decision_rule": decision.rule,
        "labels": list(decision.labels),
    }
    if decision.rule == "argmax":
        record["abstained"] = decision.abstained
        record["reject_threshold"] = decision.reject_threshold
    if decision.rule == "binary":
        assert decision.thresholds is not None
        record["positive_label"] = labels[1]
        record["threshold"] = float(decision.thresholds[1])  # positive when its score >= it
    elif decision.thresholds is not None:
        record["thresholds"] = {labels[i]: float(t) for i, t in enumerate(decision.thresholds)}
    # "scores" are the values under the view (raw logits when the activation is "none")
    record["scores"] = [{"label": labels[i], "score": float(values[i])} for i in order]
    record["logits"] = {
        labels[i]: float(v) for i, v in enumerate(np.asarray(logits, dtype=float).reshape(-1))
    }
    return record


def serving_thresholds_table(
    labels: Sequence[str],
    thresholds: Sequence[float],
    classes: npt.ArrayLike,
    scores: npt.ArrayLike,
) -> pd.DataFrame:
    """What a TF Serving client of a multi-label model must do with one classify result.

    Parameters
    ----------
    labels : the model's class names, class-id order
    thresholds : one threshold per class (a class fires when ``score >= threshold``)
    classes : array-like of shape (1, n_classes), str or bytes: the returned labels
    scores : array-like of shape (1, n_classes): the returned scores, paired with ``classes``

    Returns
    -------
    DataFrame with one row per class in class-id order: ``label``, ``threshold``, ``score``
    (looked up by label, as a client must) and ``fires``.

    Raises
    ------
    ValueError
        ``thresholds`` not one per label, or the result does not hold each label once.
    """
    names = validate_labels(labels)
    cuts = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    if cuts.shape[0] != len(names):
        raise ValueError(
            f"`thresholds` must have one value per label ({len(names)}); got {cuts.shape[0]}"
        )
    returned = [
        c.decode("utf-8") if isinstance(c, bytes) else str(c)
        for c in np.asarray(classes, dtype=object).reshape(-1)
    ]
    values = np.asarray(scores, dtype=np.float64).reshape(-1)
    by_label = dict(zip(returned, values.tolist(), strict=True))
    if sorted(by_label) != sorted(names) or len(returned) != len(names):
        raise ValueError(
            f"`classes` must hold each of the {len(names)} labels once; got {len(returned)} "
            "classes that do not match them"
        )
    row = np.array([by_label[name] for name in names])
    return pd.DataFrame(
        {"label": list(names), "threshold": cuts, "score": row, "fires": row >= cuts}
    )


def trace_text(trace: pd.DataFrame, *, digits: int = 4) -> str:
    """A decision trace as a fixed-width text table (every row and column, as given).

    The Playground shows the trace as plain text in a code block rather than as a data
    grid: in Chromium the grid added ~300 ms to every threshold move (input to settled
    page), the text ~70 ms; an HTML or Markdown table of 77 rows was slower than the grid.
    Text cannot carry markup either (a label is never HTML or Markdown).

    Parameters
    ----------
    trace : DataFrame
        A table from :func:`cls_core.scoring.decisions.decision_trace` or
        :func:`~cls_core.scoring.decisions.binary_decision_trace` (text, number and
        bool columns), in the row order to show.
    digits : int
        Decimals of every number (the thresholds' precision, so that a score and a
        threshold that differ show different digits).

    Returns
    -------
    str
        The header (a long name over two lines: ``score −`` above ``runner-up``), a rule
        under each column, and one line per row. Columns are separated by two spaces
        (text left-aligned, numbers right-aligned); NaN shows as ``—``, booleans as
        ``yes`` / ``no``; a number too small for ``digits`` decimals but not zero in
        scientific notation (``9.4e-05``), so a tiny score never reads as 0.

    Raises
    ------
    ValueError
        ``digits`` is negative.
    """
    if digits < 0:
        raise ValueError(f"`digits` must be >= 0; got {digits}")
    heads: list[tuple[str, str]] = []
    columns: list[list[str]] = []
    right: list[bool] = []
    for name in trace.columns:
        values = trace[name].tolist()
        if pd.api.types.is_bool_dtype(trace[name]):
            cells, numeric = ["yes" if v else "no" for v in values], False
        elif pd.api.types.is_numeric_dtype(trace[name]):
            cells, numeric = [_number(float(v), digits) for v in values], True
        else:
            cells, numeric = [str(v) for v in values], False
        heads.append(_two_line_head(str(name)))
        columns.append(cells)
        right.append(numeric)
    widths = [
        max(len(top), len(bottom), *(len(cell) for cell in cells))
        for (top, bottom), cells in zip(heads, columns, strict=True)
    ]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(width) if numeric else cell.ljust(width)
            for cell, width, numeric in zip(cells, widths, right, strict=True)
        ).rstrip()

    lines = [line([bottom for _, bottom in heads])]
    if any(top for top, _ in heads):
        lines.insert(0, line([top for top, _ in heads]))
    lines.append("  ".join("─" * width for width in widths))
    lines += [line([cells[i] for cells in columns]) for i in range(len(trace))]
    return "\n".join(lines)


def _two_line_head(name: str) -> tuple[str, str]:
    """A long column name over two lines (``score −`` / ``runner-up``), else ``("", name)``."""
    for cut in (" − ", " ("):
        at = name.find(cut)
        if len(name) > 10 and at > 0:
            split = at + (2 if cut == " − " else 0)
            return name[:split].rstrip(), name[split:].strip()
    return "", name


def _number(value: float, digits: int) -> str:
    if np.isnan(value):
        return "—"
    if value != 0 and abs(value) < 0.5 * 10.0**-digits:
        return f"{value:.1e}"
    return f"{value:.{digits}f}"
