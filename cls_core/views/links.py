"""Shareable links: checking the query parameters a Playground URL carries.

The Playground binds its widgets to the URL (``model``, ``text``, ``reject.<model>``,
``tg.<model>``, ``t.<model>.<label>``, ``tab``). Streamlit silently drops a bound value it
cannot use; :func:`link_problems` names each one so the page can tell the user which part of
the link was not applied and why.

Streamlit also drops a *whole* query string with more than
:data:`MAX_LINK_PARAMETERS` parameters or :data:`MAX_LINK_CHARS` characters before the
page runs; :func:`dropped_link_message` is what the page says then.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from cls_core.views.formatting import visible

__all__ = [
    "MAX_LINK_CHARS",
    "MAX_LINK_PARAMETERS",
    "dropped_link_message",
    "link_problems",
    "winner_thresholds_from_params",
]

#: Streamlit ignores a query string with more parameters than this (its
#: ``CLIENT_STATE_QUERY_STRING_MAX_FIELDS``; a test checks the two agree).
MAX_LINK_PARAMETERS = 1000
#: ... or with more characters than this (``CLIENT_STATE_QUERY_STRING_MAX_LENGTH``).
MAX_LINK_CHARS = 512 * 1024


def dropped_link_message(n_parameters: int, n_chars: int) -> str:
    """What to tell the user when Streamlit ignored a whole link (nothing of it applied).

    Parameters
    ----------
    n_parameters : int
        Parameters in the link's query string (``&``-separated fields).
    n_chars : int
        Its length in characters.
    """
    if n_chars > MAX_LINK_CHARS:
        size = f"is {n_chars:,} characters long; the app reads links of at most {MAX_LINK_CHARS:,}"
    else:
        size = (
            f"has {n_parameters:,} parameters; the app reads links with at most "
            f"{MAX_LINK_PARAMETERS:,}"
        )
    return (
        f"The link you opened {size}, so none of it was applied (model, text and thresholds "
        "are the defaults). Share a shorter link: fewer per-class thresholds, or a thresholds "
        "file instead."
    )


def _threshold_problem(key: str, raw: str) -> str | None:
    # Python's float() (which Streamlit uses for slider values in a link) reads digits
    # grouped with "_" as one number: "0_5" is 5, not the 0.5 the link's author meant.
    try:
        if "_" in raw:
            raise ValueError(raw)
        value = float(raw)
    except ValueError:
        return f"`{key}={visible(raw)[:40]}` is not a number; thresholds are numbers in [0, 1] such as 0.5."
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
        if key in (f"reject.{model}", f"tg.{model}", f"bt.{model}"):
            problem = _threshold_problem(key, raw)
        elif key.startswith(f"t.{model}."):
            label = key[len(f"t.{model}.") :]
            if label not in known:
                problem = f"`{visible(key)[:60]}` names no class of {model}; it was ignored."
            else:
                problem = _threshold_problem(key, raw)
        elif key.startswith(f"off.{model}."):
            label = key[len(f"off.{model}.") :]
            if label not in known:
                problem = f"`{visible(key)[:60]}` names no class of {model}; it was ignored."
            elif raw != "1":
                problem = (
                    f"`{visible(key)[:60]}` must be 1 (the class is switched off); got "
                    f"“{visible(raw)[:20]}”, so it was ignored."
                )
            else:
                problem = None
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


def switched_off_from_params(
    params: Mapping[str, str], *, model: str, labels: Sequence[str]
) -> list[int]:
    """Class ids a link switches off (``off.<model>.<label>=1``: the class never fires).

    Threshold tuning writes them for classes the analyst switched off; unknown classes and
    other values are skipped (:func:`link_problems` reports them).
    """
    prefix = f"off.{model}."
    index = {label: i for i, label in enumerate(labels)}
    return sorted(
        index[key[len(prefix) :]]
        for key, raw in params.items()
        if key.startswith(prefix) and key[len(prefix) :] in index and raw == "1"
    )
