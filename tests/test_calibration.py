"""Calibration: ECE/MCE by hand, perfectly calibrated scores, temperature and Platt recovery."""

from __future__ import annotations

import numpy as np
import pytest

from cls_core.evaluation.calibration import (
    compare_calibration,
    fit_platt,
    fit_temperature,
    logits_from_probabilities,
    reliability_curve,
    reliability_for,
)
from cls_core.scoring.activations import sigmoid, softmax


def test_reliability_by_hand() -> None:
    curve = reliability_curve([0.1, 0.2, 0.8, 0.9], [0, 1, 1, 1], n_bins=2)
    assert curve.counts.tolist() == [2, 2]
    assert curve.mean_confidence.tolist() == pytest.approx([0.15, 0.85])
    assert curve.observed_frequency.tolist() == pytest.approx([0.5, 1.0])
    assert curve.ece == pytest.approx(0.5 * 0.35 + 0.5 * 0.15)
    assert curve.mce == pytest.approx(0.35)


def test_perfectly_calibrated_scores_have_ece_near_zero() -> None:
    rng = np.random.default_rng(0)
    p = rng.random(200_000)
    outcome = rng.random(200_000) < p
    assert reliability_curve(p, outcome, n_bins=10).ece < 0.01
    assert reliability_curve(p, outcome, n_bins=10, strategy="quantile").ece < 0.01
    assert reliability_curve(np.clip(p * 1.5, 0, 1), outcome, n_bins=10).ece > 0.1


@pytest.mark.parametrize("true_temperature", [0.5, 2.5])
def test_temperature_fit_recovers_a_known_temperature(true_temperature: float) -> None:
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(20_000, 6)) * 3
    p = softmax(logits, temperature=true_temperature)
    truth = (p.cumsum(axis=1) > rng.random((20_000, 1))).argmax(axis=1)
    fit = fit_temperature(logits, truth)
    assert fit.converged
    assert fit.temperature == pytest.approx(true_temperature, rel=0.05)
    assert fit.nll_after <= fit.nll_before


def test_platt_recovers_slope_and_intercept() -> None:
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(40_000, 2)) * 2
    truth = rng.random((40_000, 2)) < sigmoid(logits * np.array([0.5, 2.0]) + np.array([0.3, -1.0]))
    fit = fit_platt(logits, truth)
    assert fit.converged
    assert fit.slope.tolist() == pytest.approx([0.5, 2.0], rel=0.06)
    assert fit.intercept.tolist() == pytest.approx([0.3, -1.0], abs=0.06)
    assert np.all(fit.log_loss_after <= fit.log_loss_before)


def test_compare_calibration_improves_overconfident_softmax() -> None:
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(10_000, 4)) * 3
    truth = (softmax(logits, temperature=2.0).cumsum(axis=1) > rng.random((10_000, 1))).argmax(
        axis=1
    )
    result = compare_calibration(
        softmax(logits), truth, kind="softmax"
    )  # logits derived from scores
    assert result.method == "temperature"
    assert result.after.ece < result.before.ece / 2
    ml = compare_calibration(sigmoid(logits), logits > 1, kind="sigmoid")
    assert ml.method == "platt" and ml.calibrated_scores.shape == logits.shape


def test_logits_from_probabilities_round_trip() -> None:
    p = np.array([[0.2, 0.7, 0.1]])
    np.testing.assert_allclose(softmax(logits_from_probabilities(p, "softmax")), p)
    np.testing.assert_allclose(sigmoid(logits_from_probabilities(p, "sigmoid")), p)


def test_reliability_modes() -> None:
    scores = np.array([[0.9, 0.1], [0.4, 0.6]])
    assert reliability_for(scores, np.array([0, 0]), mode="top-label", n_bins=2).n == 2
    assert reliability_for(scores, np.array([[1, 0], [1, 0]]), mode="pooled").n == 4
    assert reliability_for(scores, np.array([0, 0]), mode=1).n == 2


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: reliability_curve([0.1, 1.2], [0, 1]),
            r"`confidence` must be probabilities in \[0, 1\]",
        ),
        (lambda: reliability_curve([0.1], [0, 1]), r"same length; got 1 and 2"),
        (lambda: reliability_curve([], []), r"must not be empty"),
        (lambda: reliability_curve([0.1], [1], n_bins=0), r"`n_bins` must be an int >= 1"),
        (lambda: reliability_curve([0.1], [1], strategy="log"), r"`strategy` must be"),
        (lambda: reliability_for([[0.5, 0.5]], [0], mode=5), r"`mode` must be"),
        (lambda: fit_temperature([[1.0, 2.0]], [2]), r"`truth` ids must be in \[0, 2\)"),
        (lambda: fit_temperature([[1.0, 2.0]], [0.5]), r"`truth` must be integer class ids"),
        (lambda: fit_platt([[1.0, 2.0]], [[1]]), r"`truth` must have shape \(1, 2\)"),
        (lambda: logits_from_probabilities([[0.5]], "relu"), r"`kind` must be"),
        (lambda: compare_calibration([[0.5, 0.5]], [0], kind="relu"), r"`kind` must be"),
    ],
)
def test_errors(call: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()  # type: ignore[operator]
