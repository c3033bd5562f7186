"""Calibration: reliability curves, ECE/MCE, temperature scaling (softmax) and Platt scaling (sigmoid).

- :func:`reliability_curve` bins confidences and compares each bin's mean confidence with
  the observed frequency of the event. :func:`reliability_for` builds the usual variants:
  multi-class top-label ("confidence of the arg-max vs accuracy"), one class (one-vs-rest),
  or all classes pooled.
- ECE = sum over bins of ``(bin count / n) * |accuracy - confidence|``; MCE = the largest
  ``|accuracy - confidence|`` over non-empty bins.
- :func:`fit_temperature` finds the one temperature T minimising the negative log-likelihood
  of ``softmax(logits / T)``. With ``s = 1/T`` the NLL is convex in ``s`` (its second
  derivative is the mean variance of the logits under the softmax), so a safeguarded
  Newton iteration converges in a handful of steps.
- :func:`fit_platt` fits ``sigmoid(a * logit + b)`` per class (multi-label) by Newton's
  method on the binary log-loss, all classes at once, with Platt's smoothed targets
  ``(n_pos + 1) / (n_pos + 2)`` and ``1 / (n_neg + 2)`` so separable classes stay finite.

This module imports neither TensorFlow nor scikit-learn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from cls_core.evaluation.metrics import as_score_matrix
from cls_core.scoring.activations import sigmoid, softmax

__all__ = [
    "CalibrationComparison",
    "PlattFit",
    "ReliabilityCurve",
    "TemperatureFit",
    "compare_calibration",
    "fit_platt",
    "fit_temperature",
    "logits_from_probabilities",
    "reliability_curve",
    "reliability_for",
]

FloatArray = npt.NDArray[np.float64]
_EPS = 1e-12


@dataclass(frozen=True, kw_only=True)
class ReliabilityCurve:
    """Binned confidence vs observed frequency.

    Attributes
    ----------
    bin_edges : ndarray (n_bins + 1,)
    counts : ndarray of int64 (n_bins,)
    mean_confidence, observed_frequency : ndarray (n_bins,)
        NaN for empty bins.
    ece, mce : float
    n : int
    """

    bin_edges: FloatArray
    counts: npt.NDArray[np.int64]
    mean_confidence: FloatArray
    observed_frequency: FloatArray
    ece: float
    mce: float
    n: int


def reliability_curve(
    confidence: npt.ArrayLike,
    outcome: npt.ArrayLike,
    *,
    n_bins: int = 15,
    strategy: Literal["uniform", "quantile"] = "uniform",
) -> ReliabilityCurve:
    """Reliability of ``confidence`` (probabilities) against binary ``outcome``.

    Parameters
    ----------
    confidence : array-like (n,), values in [0, 1]
    outcome : array-like (n,), bool or 0/1
    n_bins : int >= 1
    strategy : "uniform" (equal-width bins over [0, 1]) or "quantile" (equal-count bins)

    Returns
    -------
    ReliabilityCurve
        Bins are right-closed except the first (a confidence of exactly 0 lands in bin 0).

    Raises
    ------
    ValueError
        Shapes differ, empty input, confidences outside [0, 1], bad ``n_bins``/``strategy``.

    Examples
    --------
    >>> round(reliability_curve([0.8, 0.8, 0.8, 0.8, 0.8], [1, 1, 1, 1, 0], n_bins=5).ece, 6)
    0.0
    """
    p = np.asarray(confidence, dtype=np.float64).reshape(-1)
    y = np.asarray(outcome).reshape(-1)
    if p.shape != y.shape:
        raise ValueError(
            f"`confidence` and `outcome` must have the same length; got {p.shape[0]} and {y.shape[0]}"
        )
    if p.size == 0:
        raise ValueError("`confidence` must not be empty")
    if not np.isfinite(p).all() or p.min() < 0 or p.max() > 1:
        raise ValueError(
            f"`confidence` must be probabilities in [0, 1]; got values in [{p.min()}, {p.max()}]"
        )
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"`n_bins` must be an int >= 1; got {n_bins!r}")
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    elif strategy == "quantile":
        edges = np.quantile(p, np.linspace(0.0, 1.0, n_bins + 1))
        edges[0], edges[-1] = 0.0, 1.0
    else:
        raise ValueError(f"`strategy` must be 'uniform' or 'quantile'; got {strategy!r}")
    bins = np.clip(np.searchsorted(edges, p, side="left") - 1, 0, n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins).astype(np.int64)
    conf_sum = np.bincount(bins, weights=p, minlength=n_bins)
    hit_sum = np.bincount(bins, weights=y.astype(np.float64), minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.where(counts > 0, conf_sum / counts, np.nan)
        freq = np.where(counts > 0, hit_sum / counts, np.nan)
    gaps = np.abs(freq - mean_conf)
    nonempty = counts > 0
    return ReliabilityCurve(
        bin_edges=edges,
        counts=counts,
        mean_confidence=mean_conf,
        observed_frequency=freq,
        ece=float(np.sum(counts[nonempty] / p.size * gaps[nonempty])),
        mce=float(gaps[nonempty].max()),
        n=int(p.size),
    )


def reliability_for(
    scores: npt.ArrayLike,
    truth: npt.ArrayLike,
    *,
    mode: Literal["top-label", "pooled"] | int = "top-label",
    n_bins: int = 15,
    strategy: Literal["uniform", "quantile"] = "uniform",
) -> ReliabilityCurve:
    """The reliability curve of an evaluation set.

    Parameters
    ----------
    scores : array-like (n, n_classes), probabilities
    truth : array-like
        Class ids (n,) or an indicator matrix (n, n_classes).
    mode : "top-label", "pooled" or a class index
        "top-label": the arg-max's score vs whether the arg-max is right (multi-class).
        "pooled": every (example, class) score vs that class's truth.
        An int ``c``: class ``c``'s scores vs its truth.
    """
    s: npt.NDArray[Any] = as_score_matrix(scores)
    t = np.asarray(truth)
    indicator: npt.NDArray[np.bool_] = np.zeros(s.shape, dtype=bool)
    if t.ndim == 1:
        indicator[np.arange(s.shape[0]), t.astype(np.int64)] = True
    else:
        indicator = t.astype(bool)
    if indicator.shape != s.shape:
        raise ValueError(f"`truth` must match `scores` {s.shape}; got {t.shape}")
    if mode == "top-label":
        winner = np.argmax(s, axis=1)
        rows = np.arange(s.shape[0])
        return reliability_curve(
            s[rows, winner], indicator[rows, winner], n_bins=n_bins, strategy=strategy
        )
    if mode == "pooled":
        return reliability_curve(
            s.reshape(-1), indicator.reshape(-1), n_bins=n_bins, strategy=strategy
        )
    if isinstance(mode, int) and not isinstance(mode, bool) and 0 <= mode < s.shape[1]:
        return reliability_curve(s[:, mode], indicator[:, mode], n_bins=n_bins, strategy=strategy)
    raise ValueError(
        f"`mode` must be 'top-label', 'pooled' or a class index in [0, {s.shape[1]}); got {mode!r}"
    )


def logits_from_probabilities(
    probabilities: npt.ArrayLike, kind: Literal["softmax", "sigmoid"]
) -> FloatArray:
    """Logits that reproduce ``probabilities`` under ``kind`` (clipped away from 0 and 1).

    softmax: ``log(p)`` (defined up to a per-row constant, which softmax ignores);
    sigmoid: ``log(p / (1 - p))``.
    """
    p = np.clip(
        as_score_matrix(probabilities, name="probabilities").astype(np.float64), 1e-7, 1 - 1e-7
    )
    if kind == "softmax":
        return np.log(p)
    if kind == "sigmoid":
        return np.log(p) - np.log1p(-p)
    raise ValueError(f"`kind` must be 'softmax' or 'sigmoid'; got {kind!r}")


@dataclass(frozen=True, kw_only=True)
class TemperatureFit:
    """One softmax temperature: calibrated scores are ``softmax(logits / temperature)``."""

    temperature: float
    nll_before: float
    nll_after: float
    n_iterations: int
    converged: bool


def _softmax_nll_derivatives(
    z: FloatArray, y: npt.NDArray[np.int64], s: float
) -> tuple[float, float, float]:
    """NLL of softmax(s * z) and its first two derivatives in s."""
    a = s * z
    a -= a.max(axis=1, keepdims=True)
    e = np.exp(a)
    total = e.sum(axis=1)
    p = e / total[:, None]
    rows = np.arange(z.shape[0])
    nll = float(np.mean(np.log(total) - a[rows, y]))
    mean_z = (p * z).sum(axis=1)
    grad = float(np.mean(mean_z - z[rows, y]))
    hess = float(np.mean((p * z * z).sum(axis=1) - mean_z**2))
    return nll, grad, hess


def fit_temperature(
    logits: npt.ArrayLike,
    truth: npt.ArrayLike,
    *,
    max_iterations: int = 100,
    tolerance: float = 1e-10,
) -> TemperatureFit:
    """Fit the temperature minimising the softmax negative log-likelihood.

    Parameters
    ----------
    logits : array-like (n, n_classes)
        Raw logits (or :func:`logits_from_probabilities` of softmax scores).
    truth : array-like of int (n,)
        Class ids.

    Returns
    -------
    TemperatureFit
        ``temperature`` in [1e-3, 1e3].

    Raises
    ------
    ValueError
        Shapes or ids out of range.

    Examples
    --------
    >>> fit = fit_temperature([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0], [2.0, 0.0]], [0, 1, 1, 0])
    >>> fit.temperature > 1  # overconfident logits get flattened
    True
    """
    z = as_score_matrix(logits, name="logits").astype(np.float64)
    y = np.asarray(truth)
    if y.dtype.kind not in "iu" or y.shape != (z.shape[0],):
        raise ValueError(
            f"`truth` must be integer class ids of shape ({z.shape[0]},); got {y.dtype} {y.shape}"
        )
    if y.min() < 0 or y.max() >= z.shape[1]:
        raise ValueError(
            f"`truth` ids must be in [0, {z.shape[1]}); got range [{y.min()}, {y.max()}]"
        )
    y = y.astype(np.int64)
    s_min, s_max = 1e-3, 1e3
    s = 1.0
    nll0, grad, hess = _softmax_nll_derivatives(z, y, s)
    nll = nll0
    converged = False
    iterations = 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007
        step = -grad / hess if hess > _EPS else -math.copysign(s, grad)
        # backtracking keeps s in range and the (convex) objective decreasing
        t = 1.0
        while True:
            candidate = min(max(s + t * step, s_min), s_max)
            new_nll, new_grad, new_hess = _softmax_nll_derivatives(z, y, candidate)
            if new_nll <= nll + 1e-15 or t < 1e-8:
                break
            t /= 2
        moved = abs(candidate - s)
        s, nll, grad, hess = candidate, new_nll, new_grad, new_hess
        if moved < tolerance * max(1.0, s) or abs(grad) < tolerance:
            converged = True
            break
    return TemperatureFit(
        temperature=1.0 / s,
        nll_before=nll0,
        nll_after=nll,
        n_iterations=iterations,
        converged=converged,
    )


@dataclass(frozen=True, kw_only=True)
class PlattFit:
    """Per-class Platt scaling: calibrated score ``sigmoid(slope[c] * logit + intercept[c])``."""

    slope: FloatArray
    intercept: FloatArray
    log_loss_before: FloatArray
    log_loss_after: FloatArray
    converged: bool

    def apply(self, logits: npt.ArrayLike) -> FloatArray:
        """Calibrated probabilities (n, n_classes) for raw logits."""
        z = as_score_matrix(logits, name="logits").astype(np.float64)
        if z.shape[1] != self.slope.shape[0]:
            raise ValueError(f"`logits` must have {self.slope.shape[0]} columns; got {z.shape[1]}")
        return np.asarray(sigmoid(z * self.slope + self.intercept), dtype=np.float64)


def _log_loss(p: npt.NDArray[Any], target: FloatArray) -> FloatArray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return -np.mean(target * np.log(p) + (1 - target) * np.log1p(-p), axis=0)


def fit_platt(logits: npt.ArrayLike, truth: npt.ArrayLike, *, max_iterations: int = 50) -> PlattFit:
    """Fit ``sigmoid(a_c * logit + b_c)`` for every class (Newton's method, all classes at once).

    Parameters
    ----------
    logits : array-like (n, n_classes)
        Raw sigmoid logits (or :func:`logits_from_probabilities` of sigmoid scores).
    truth : array-like (n, n_classes), bool or 0/1

    Returns
    -------
    PlattFit
        Log-losses are measured against the hard 0/1 truth.
    """
    z = as_score_matrix(logits, name="logits").astype(np.float64)
    y = np.asarray(truth).astype(np.float64)
    if y.shape != z.shape:
        raise ValueError(f"`truth` must have shape {z.shape}; got {y.shape}")
    n_pos = y.sum(axis=0)
    n_neg = z.shape[0] - n_pos
    target = np.where(y > 0, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    a = np.ones(z.shape[1])
    b = np.zeros(z.shape[1])
    before = _log_loss(sigmoid(z), y)

    def loss(a_: FloatArray, b_: FloatArray) -> FloatArray:
        return _log_loss(sigmoid(z * a_ + b_), target)

    current = loss(a, b)
    converged = False
    for _ in range(max_iterations):
        p = sigmoid(z * a + b)
        r = p - target
        w = p * (1 - p)
        g_a, g_b = (r * z).mean(axis=0), r.mean(axis=0)
        h_aa, h_ab, h_bb = (
            (w * z * z).mean(axis=0) + 1e-12,
            (w * z).mean(axis=0),
            w.mean(axis=0) + 1e-12,
        )
        det = h_aa * h_bb - h_ab**2
        det = np.where(np.abs(det) < 1e-18, 1e-18, det)
        step_a = -(h_bb * g_a - h_ab * g_b) / det
        step_b = -(-h_ab * g_a + h_aa * g_b) / det
        t = np.ones_like(a)
        for _ in range(30):  # per-class backtracking
            new = loss(a + t * step_a, b + t * step_b)
            worse = new > current + 1e-15
            if not worse.any():
                break
            t = np.where(worse, t / 2, t)
        a, b = a + t * step_a, b + t * step_b
        current = loss(a, b)
        if np.max(np.abs(t * step_a)) < 1e-9 and np.max(np.abs(t * step_b)) < 1e-9:
            converged = True
            break
    return PlattFit(
        slope=a,
        intercept=b,
        log_loss_before=before,
        log_loss_after=_log_loss(sigmoid(z * a + b), y),
        converged=converged,
    )


@dataclass(frozen=True, kw_only=True)
class CalibrationComparison:
    """Reliability before and after a calibration fit, with the calibrated scores."""

    method: Literal["temperature", "platt"]
    before: ReliabilityCurve
    after: ReliabilityCurve
    calibrated_scores: FloatArray
    fit: TemperatureFit | PlattFit


def compare_calibration(
    scores: npt.ArrayLike,
    truth: npt.ArrayLike,
    *,
    kind: Literal["softmax", "sigmoid"],
    logits: npt.ArrayLike | None = None,
    n_bins: int = 15,
) -> CalibrationComparison:
    """Fit temperature scaling (softmax) or per-class Platt scaling (sigmoid) and compare.

    Parameters
    ----------
    scores : array-like (n, n_classes), probabilities
    truth : class ids (softmax) or an indicator matrix (sigmoid)
    kind : "softmax" or "sigmoid"
    logits : array-like, optional
        The raw logits when known; otherwise derived from ``scores``.

    Returns
    -------
    CalibrationComparison
        Reliability is top-label for softmax and pooled for sigmoid.
    """
    s = as_score_matrix(scores)
    z = (
        logits_from_probabilities(s, kind)
        if logits is None
        else as_score_matrix(logits, name="logits")
    )
    fit: TemperatureFit | PlattFit
    if kind == "softmax":
        fit = fit_temperature(z, truth)
        after_scores: Any = softmax(np.asarray(z, dtype=np.float64), temperature=fit.temperature)
        mode: Literal["top-label", "pooled"] = "top-label"
        method: Literal["temperature", "platt"] = "temperature"
    elif kind == "sigmoid":
        fit = fit_platt(z, truth)
        after_scores = fit.apply(z)
        mode, method = "pooled", "platt"
    else:
        raise ValueError(f"`kind` must be 'softmax' or 'sigmoid'; got {kind!r}")
    return CalibrationComparison(
        method=method,
        before=reliability_for(s, truth, mode=mode, n_bins=n_bins),
        after=reliability_for(after_scores, truth, mode=mode, n_bins=n_bins),
        calibrated_scores=np.asarray(after_scores, dtype=np.float64),
        fit=fit,
    )
