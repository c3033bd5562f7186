"""Shareable links: checking the query parameters a Playground URL carries.

The Playground binds its widgets to the URL (``model``, ``text``, ``reject.<model>``,
``tg.<model>``, ``t.<model>.<label>``, ``tab``). Streamlit silently drops a bound value it
cannot use; :func:`link_problems` names each one so the page can tell the user which part of
the link was not applied and why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from cls_core.views.formatting import visible

__all__ = ["link_problems", "winner_thresholds_from_params"]


def _threshold_problem(key: str, raw: str) -> str | None:
    try:
        value = float(raw)
    except ValueError:
        return f"`{key}={visible(raw)[:40]}` is not a number; thresholds are numbers in [0, 1]."
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        return f"`{key}={visible(raw)[:40]}` is outside [0, 1], where thresholds live."
    return None


def link_problems(
    params: Mapping[str, str],
    *,
    model: str,
    labels: Sequence[str],
    text_limit: int,
) -> list[str]:
    """One sentence per query parameter of ``params`` that the Playground cannot apply.

    Parameters
    ----------
    params : mapping of query parameter name to (last) value
    model : the selected model's name
    labels : its class names
    text_limit : the text box's character limit

    Returns
    -------
    list of str, Markdown-safe apart from the backticked parameter names; empty when the
    link is fine. Parameters for other models are ignored (they belong to those models).
    """
    problems: list[str] = []
    known = set(labels)
    text = params.get("text")
    if text is not None and len(text) > text_limit:
        problems.append(
            f"The text in the link has {len(text):,} characters; the text box keeps the first "
            f"{text_limit:,}."
        )
    for key, raw in params.items():
        if key in (f"reject.{model}", f"tg.{model}"):
            problem = _threshold_problem(key, raw)
        elif key.startswith(f"t.{model}."):
            label = key[len(f"t.{model}.") :]
            if label not in known:
                problem = f"`{visible(key)[:60]}` names no class of {model}; it was ignored."
            else:
                problem = _threshold_problem(key, raw)
        else:
            continue
        if problem:
            problems.append(problem)
    return problems


def winner_thresholds_from_params(
    params: Mapping[str, str], *, model: str, labels: Sequence[str]
) -> npt.NDArray[np.float64] | None:
    """Per-class thresholds ``t.<model>.<label>`` from a link, 0 for classes it omits.

    Returns None when the link carries no usable one. Values that are not numbers in
    [0, 1] and unknown classes are skipped (:func:`link_problems` reports them).
    """
    index = {label: i for i, label in enumerate(labels)}
    prefix = f"t.{model}."
    values = np.zeros(len(labels))
    found = False
    for key, raw in params.items():
        if not key.startswith(prefix) or key[len(prefix) :] not in index:
            continue
        if _threshold_problem(key, raw) is None:
            values[index[key[len(prefix) :]]] = float(raw)
            found = True
    return values if found else None
