"""The "scores → labels" lesson, computed: editable logits in, every number the page shows out.

Pure numpy (no TensorFlow): the lesson page must open instantly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from cls_core.scoring.activations import sigmoid, softmax
from cls_core.scoring.decisions import multiclass_decide, multilabel_decide, validate_labels
from cls_core.scoring.export_output import ClassificationOutput

__all__ = [
    "DEFAULT_LESSON",
    "LessonResult",
    "Refusal",
    "client_reading",
    "explain_refusal",
    "export_defaults",
    "parse_value_list",
    "run_lesson",
]

DEFAULT_LESSON = pd.DataFrame(
    {
        "class": ["sports", "politics", "science", "weather"],
        "logit": [2.0, 1.2, 0.3, -1.5],
        "threshold": [0.5, 0.5, 0.5, 0.5],
    }
)


@dataclass(frozen=True, kw_only=True)
class LessonResult:
    """Everything the lesson page shows for one set of logits.

    Attributes
    ----------
    names : class names, class-id order
    logits : the logits as entered
    shifted : ``logits + shift`` (before the temperature)
    temperature : the temperature; the activations receive ``shifted / temperature``
    softmax_scores, sigmoid_scores : ndarray of shape (n_classes,)
    softmax_sum, sigmoid_sum : float
    winner : the softmax arg-max class
    fired : the classes whose sigmoid score reaches their threshold
    softmax_change, sigmoid_change : largest absolute score change caused by the shift
        (softmax's is 0 up to rounding: it only sees differences between logits)
    table : one row per class with every number above
    """

    names: tuple[str, ...]
    logits: npt.NDArray[np.float64]
    shifted: npt.NDArray[np.float64]
    temperature: float
    softmax_scores: npt.NDArray[np.floating[Any]]
    sigmoid_scores: npt.NDArray[np.floating[Any]]
    thresholds: npt.NDArray[np.float64]
    softmax_sum: float
    sigmoid_sum: float
    winner: str
    fired: tuple[str, ...]
    softmax_change: float
    sigmoid_change: float
    table: pd.DataFrame


def run_lesson(
    names: Sequence[Any],
    logits: Sequence[Any],
    thresholds: Sequence[Any],
    *,
    temperature: float = 1.0,
    shift: float = 0.0,
) -> LessonResult:
    """Compute the lesson for user-edited rows.

    Parameters
    ----------
    names : class names (non-empty, unique after stripping)
    logits : one finite number per class
    thresholds : one number in [0, 1] per class (sigmoid thresholds)
    temperature : float > 0
    shift : a constant added to every logit

    Raises
    ------
    ValueError
        Fewer than 2 classes, empty or duplicate names, missing or non-finite logits,
        thresholds outside [0, 1] — each message says which row.
    """
    if len(names) < 2:
        raise ValueError(f"the lesson needs at least 2 classes; got {len(names)}")
    if not (len(names) == len(logits) == len(thresholds)):
        raise ValueError("every class needs a name, a logit and a threshold")
    clean_names: list[str] = []
    for i, name in enumerate(names):
        text = (
            ""
            if name is None or (isinstance(name, float) and np.isnan(name))
            else str(name).strip()
        )
        if not text:
            raise ValueError(f"row {i + 1}: the class name is empty")
        clean_names.append(text)
    first_row: dict[str, int] = {}
    for i, text in enumerate(clean_names):
        if text in first_row:
            raise ValueError(
                f"row {i + 1}: the class name “{text}” is already used in row "
                f"{first_row[text] + 1}; every class needs its own name"
            )
        first_row[text] = i
    labels = validate_labels(clean_names)
    values = _numbers("logit", logits)
    cuts = _numbers("threshold", thresholds)
    bad = np.flatnonzero((cuts < 0) | (cuts > 1))
    if bad.size:
        raise ValueError(f"row {bad[0] + 1}: threshold must be in [0, 1]; got {cuts[bad[0]]:g}")
    if not np.isfinite(shift):
        raise ValueError(f"the shift must be a finite number; got {shift!r}")
    shifted = values + shift
    soft = softmax(shifted, temperature=temperature)
    sig = sigmoid(shifted, temperature=temperature)
    soft0 = softmax(values, temperature=temperature)
    sig0 = sigmoid(values, temperature=temperature)
    winner = multiclass_decide(soft, labels)[0]
    fired = tuple(multilabel_decide(sig, labels, cuts)[0])
    columns: dict[str, Any] = {"class": labels, "logit": values, "logit + shift": shifted}
    if temperature != 1.0:
        # what the activations actually receive
        columns[f"(logit + shift) ÷ T (T = {temperature:g})"] = shifted / temperature
    table = pd.DataFrame(
        {
            **columns,
            "softmax": soft,
            "sigmoid": sig,
            "threshold": cuts,
            "argmax (softmax)": [label == winner for label in labels],
            "fires (sigmoid)": [label in fired for label in labels],
        }
    )
    return LessonResult(
        names=labels,
        logits=values,
        shifted=shifted,
        temperature=float(temperature),
        softmax_scores=soft,
        sigmoid_scores=sig,
        thresholds=cuts,
        softmax_sum=float(soft.sum()),
        sigmoid_sum=float(sig.sum()),
        winner=str(winner),
        fired=fired,
        softmax_change=float(np.max(np.abs(soft - soft0))),
        sigmoid_change=float(np.max(np.abs(sig - sig0))),
        table=table,
    )


def _numbers(what: str, values: Sequence[Any]) -> npt.NDArray[np.float64]:
    out = np.empty(len(values), dtype=np.float64)
    for i, value in enumerate(values):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"row {i + 1}: {what} must be a number; got {value!r}") from None
        if not np.isfinite(number):
            raise ValueError(f"row {i + 1}: {what} must be a finite number; got {value!r}")
        out[i] = number
    return out


def parse_value_list(text: str) -> list[int | float | str]:
    """Parse a comma-separated list the way ``tf.constant`` would type its items.

    ``"0.7, 0.2"`` → floats, ``"1, 0"`` → ints, ``"joy, fear"`` → strings (surrounding
    quotes stripped). An empty string gives an empty list. Mixed kinds are returned as they
    are, so ``ClassificationOutput.from_values`` can refuse them with TF's own message.
    """
    items = [item.strip() for item in text.split(",")] if text.strip() else []
    out: list[int | float | str] = []
    for item in items:
        try:
            out.append(int(item))
            continue
        except ValueError:
            pass
        try:
            out.append(float(item))
        except ValueError:
            out.append(item.strip("'\""))
    return out


def client_reading(output: ClassificationOutput, label_vocab: Sequence[str]) -> pd.DataFrame:
    """How a client must read the first example of ``output``, as a table.

    - scores only: one row per class id, named from ``label_vocab`` when it has one name
      per column (the client's own vocabulary; the server sends no labels);
    - classes only: the labels as a top-k list, rank 1 first (no scores are sent);
    - zipped: each (label, score) pair as sent; look classes up by label, not position.
    """
    rows = output.to_rows()[0]
    if output.interpretation == "scores_only":
        names = (
            list(label_vocab)
            if len(label_vocab) == len(rows)
            else [f"class {i}" for i in range(len(rows))]
        )
        return pd.DataFrame(
            {
                "class id": range(len(rows)),
                "label (client's vocabulary)": names,
                "score": [score for _, score in rows],
            }
        )
    if output.interpretation == "classes_only":
        return pd.DataFrame(
            {"rank": range(1, len(rows) + 1), "label": [label for label, _ in rows]}
        )
    return pd.DataFrame(
        {"label": [label for label, _ in rows], "score": [score for _, score in rows]}
    )


def export_defaults(lesson: LessonResult) -> tuple[str, str]:
    """The ClassificationOutput explorer's inputs for the lesson's current logits.

    Returns the softmax scores (3 decimals, class-id order) and the class names, each
    comma-separated: the explorer shows what a SavedModel exporting this softmax would send.
    """
    scores = ", ".join(f"{s:.3f}" for s in lesson.softmax_scores)
    return scores, ", ".join(lesson.names)


@dataclass(frozen=True, kw_only=True)
class Refusal:
    """Who refuses a ClassificationOutput, and in whose words.

    Attributes
    ----------
    who : "TensorFlow's ClassificationOutput" or "TF Serving's classify API"
    their_text : the refusing code's own message (TensorFlow's exact text), or None when
        the rule is TF Serving's and the message is ours
    our_text : what this project adds (the value it saw, the argument's name), or the whole
        message when ``their_text`` is None
    """

    who: str
    their_text: str | None
    our_text: str | None


# TensorFlow's messages that this project's ClassificationOutput reproduces word for word
# (tensorflow/python/saved_model/model_utils/export_output.py and tf.constant's conversion).
_TF_PREFIXES = (
    "Classification scores must be a float32 Tensor",
    "Classification classes must be a string Tensor",
    "Cannot create a ClassificationOutput with empty arguments.",
    "Can't convert non-rectangular Python sequence to Tensor",
    "Can't convert Python sequence with mixed types to Tensor",
    "Attempt to convert a value",
)


def explain_refusal(exc: Exception, *, serving: bool) -> Refusal:
    """Split an error of the lesson's ClassificationOutput explorer by who raised it.

    Parameters
    ----------
    exc : the ``ValueError``/``TypeError`` raised
    serving : True when it came from ``ClassificationOutput.to_rows`` (TF Serving's rules:
        rank 2, float32 scores, equal widths), False when from building the output
        (TensorFlow's own checks)

    Examples
    --------
    >>> r = explain_refusal(ValueError("Classification scores must be a float32 Tensor; "
    ...     "got a numpy array of dtype int32 and shape (1, 2)"), serving=False)
    >>> r.their_text, r.our_text
    ('Classification scores must be a float32 Tensor; got <the tensor>', 'got a numpy array of dtype int32 and shape (1, 2)')
    """
    message = str(exc)
    if serving or not message.startswith(_TF_PREFIXES):
        return Refusal(who="TF Serving's classify API", their_text=None, our_text=message)
    if "; got " in message:
        head, tail = message.split("; got ", 1)
        return Refusal(
            who="TensorFlow's ClassificationOutput",
            their_text=f"{head}; got <the tensor>",
            our_text=f"got {tail}",
        )
    if message.endswith("`).") and " (`" in message:
        head, name = message[: -len("`).")].rsplit(" (`", 1)
        return Refusal(
            who="TensorFlow's ClassificationOutput",
            their_text=f"{head}.",
            our_text=f"in `{name}`",
        )
    return Refusal(who="TensorFlow's ClassificationOutput", their_text=message, our_text=None)
