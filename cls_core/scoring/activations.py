"""Activations: how a classifier's raw logits become scores.

- ``softmax``: multi-class. Scores in each row are positive and sum to 1; the classes
  compete, so raising one logit lowers every other score. Adding the same constant to every
  logit of a row changes nothing.
- ``sigmoid``: multi-label. Each class is judged on its own, ``1 / (1 + exp(-logit))``;
  scores need not sum to anything.
- ``none``: the logits themselves.

A ``temperature`` T divides the logits before the activation: T > 1 flattens the scores,
T < 1 sharpens them. All functions are numerically stable for ``|logits|`` up to 1e30 in
float32 and float64 (finite results, no numpy warnings) and keep a floating dtype.
This module must not import TensorFlow.
"""

from __future__ import annotations

import math
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "ACTIVATIONS",
    "ActivationKind",
    "apply_activation",
    "sigmoid",
    "softmax",
    "validate_temperature",
]

ActivationKind = Literal["softmax", "sigmoid", "none"]
ACTIVATIONS: Final[tuple[ActivationKind, ...]] = ("softmax", "sigmoid", "none")


def validate_temperature(temperature: float) -> float:
    """``temperature`` as a float: TypeError for a non-number, ValueError unless finite and > 0."""
    if isinstance(temperature, bool) or not isinstance(temperature, int | float | np.number):
        raise TypeError(
            f"`temperature` must be a real number; got {type(temperature).__name__} {temperature!r}"
        )
    value = float(temperature)
    if not math.isfinite(value) or value <= 0.0:
        raise ValueError(f"`temperature` must be a finite number > 0; got {temperature!r}")
    return value


def _as_float_array(logits: npt.ArrayLike) -> npt.NDArray[np.floating[Any]]:
    """``logits`` as a floating array: float dtypes kept, ints/bools promoted to float64."""
    try:
        array = np.asarray(logits)
    except (TypeError, ValueError) as exc:  # ragged lists and the like
        raise TypeError(f"`logits` must be a numeric array; got {logits!r:.80}") from exc
    if array.dtype.kind in "biu":
        array = array.astype(np.float64)
    elif array.dtype.kind != "f":
        raise TypeError(f"`logits` must be a numeric array; got dtype {array.dtype}")
    if array.ndim == 0:
        raise ValueError(
            "`logits` must have at least one dimension (one logit per class); got a scalar"
        )
    if np.isnan(array).any():
        where = tuple(int(i) for i in np.argwhere(np.isnan(array))[0])
        raise ValueError(f"`logits` must not contain NaN; got NaN at index {where}")
    return array


def softmax(
    logits: npt.ArrayLike, *, temperature: float = 1.0, axis: int = -1
) -> npt.NDArray[np.floating[Any]]:
    """Softmax of ``logits / temperature`` along ``axis``.

    Parameters
    ----------
    logits : array-like of shape (..., n_classes)
        Raw model outputs. NaN is refused; ``-inf`` gives a score of 0; a row holding
        ``+inf`` shares its mass equally among its ``+inf`` entries.
    temperature : float, default 1.0
        Finite and > 0.
    axis : int, default -1
        The class axis.

    Returns
    -------
    ndarray of the same shape and floating dtype as ``logits``; each slice along ``axis``
    is non-negative and sums to 1.

    Raises
    ------
    ValueError
        NaN in ``logits``, a scalar ``logits``, or a temperature that is not finite and > 0.
    TypeError
        Non-numeric ``logits`` or ``temperature``.

    Examples
    --------
    >>> softmax([1.0, 1.0]).tolist()
    [0.5, 0.5]
    """
    t = validate_temperature(temperature)
    x = _as_float_array(logits)
    if x.size == 0:
        return x.copy()
    top = np.max(x, axis=axis, keepdims=True)
    # Rows whose maximum is +inf: the +inf entries share the mass equally.
    inf_rows = np.isposinf(top)
    if inf_rows.any():
        x = np.where(inf_rows, np.where(np.isposinf(x), 0.0, -np.inf), x).astype(x.dtype)
        top = np.where(inf_rows, 0.0, top).astype(x.dtype)
    # Subtract the row maximum *before* dividing by T so nothing exceeds 0: exp never
    # overflows. (x - top) / T may overflow to -inf for tiny T, whose exp is exactly 0.
    with np.errstate(over="ignore", invalid="ignore"):
        shifted = np.where(x == top, 0.0, (x - top) / np.asarray(t, dtype=x.dtype)).astype(x.dtype)
    with np.errstate(under="ignore"):  # exp of a hugely negative number is exactly 0
        e = np.exp(shifted)
    return (e / np.sum(e, axis=axis, keepdims=True)).astype(x.dtype, copy=False)


def sigmoid(logits: npt.ArrayLike, *, temperature: float = 1.0) -> npt.NDArray[np.floating[Any]]:
    """Element-wise logistic sigmoid of ``logits / temperature``.

    Computed as ``1 / (1 + exp(-z))`` for ``z >= 0`` and ``exp(z) / (1 + exp(z))`` for
    ``z < 0`` so ``exp`` only ever sees non-positive numbers: no overflow, and
    ``sigmoid(-x) == 1 - sigmoid(x)`` up to rounding.

    Parameters
    ----------
    logits : array-like of any shape
        NaN is refused; ``±inf`` map to 1 and 0.
    temperature : float, default 1.0
        Finite and > 0.

    Returns
    -------
    ndarray of the same shape and floating dtype as ``logits``, values in [0, 1].

    Raises
    ------
    ValueError, TypeError
        As for :func:`softmax`.

    Examples
    --------
    >>> sigmoid([0.0]).tolist()
    [0.5]
    """
    t = validate_temperature(temperature)
    x = _as_float_array(logits)
    with np.errstate(over="ignore", under="ignore"):
        z = x / np.asarray(t, dtype=x.dtype)
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


def apply_activation(
    logits: npt.ArrayLike, kind: str, *, temperature: float = 1.0
) -> npt.NDArray[np.floating[Any]]:
    """Apply the activation named ``kind`` ("softmax", "sigmoid" or "none") over the last axis.

    ``"none"`` returns a copy of the logits divided by nothing: the raw logits (the
    temperature is still validated so callers get the same errors whatever the kind).

    Raises
    ------
    ValueError
        Unknown ``kind``, NaN logits, or a bad temperature.
    """
    if kind not in ACTIVATIONS:
        raise ValueError(f"`kind` must be one of {', '.join(ACTIVATIONS)}; got {kind!r}")
    if kind == "softmax":
        return softmax(logits, temperature=temperature)
    if kind == "sigmoid":
        return sigmoid(logits, temperature=temperature)
    validate_temperature(temperature)
    return _as_float_array(logits).copy()
