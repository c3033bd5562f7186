"""cls_core.scoring.activations: values, stability, validation, invariants."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from cls_core.paths import PROJECT_ROOT
from cls_core.scoring.activations import ACTIVATIONS, apply_activation, sigmoid, softmax


def test_softmax_hand_computed() -> None:
    scores = softmax([[0.0, np.log(3.0)]])
    np.testing.assert_allclose(scores, [[0.25, 0.75]])


def test_sigmoid_hand_computed() -> None:
    np.testing.assert_allclose(sigmoid([0.0, np.log(3.0)]), [0.5, 0.75])


def test_temperature_flattens_and_sharpens() -> None:
    logits = np.array([2.0, 0.0])
    hot, cold = softmax(logits, temperature=4.0), softmax(logits, temperature=0.25)
    assert hot[0] < softmax(logits)[0] < cold[0]
    np.testing.assert_allclose(softmax(logits, temperature=2.0), softmax(logits / 2.0))
    np.testing.assert_allclose(sigmoid(logits, temperature=2.0), sigmoid(logits / 2.0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("magnitude", [1e3, 1e10, 1e30])
@pytest.mark.parametrize("temperature", [1e-3, 1.0, 1e3])
def test_stable_for_huge_logits(dtype: type, magnitude: float, temperature: float) -> None:
    logits = np.array(
        [[magnitude, -magnitude, 0.0], [-magnitude, -magnitude, magnitude]], dtype=dtype
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            for fn in (softmax, sigmoid):
                out = fn(logits, temperature=temperature)
                assert out.dtype == dtype
                assert np.isfinite(out).all()
                assert ((out >= 0) & (out <= 1)).all()
    np.testing.assert_allclose(softmax(logits, temperature=temperature).sum(axis=1), 1.0, rtol=1e-6)


def test_infinite_logits() -> None:
    np.testing.assert_allclose(softmax([-np.inf, 0.0, 0.0]), [0.0, 0.5, 0.5])
    np.testing.assert_allclose(softmax([np.inf, 1.0, np.inf]), [0.5, 0.0, 0.5])
    np.testing.assert_allclose(sigmoid([-np.inf, np.inf]), [0.0, 1.0])


def test_integer_logits_promoted_and_axis() -> None:
    out = softmax(np.array([[1, 3], [1, 3]]), axis=0)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, 0.5)
    np.testing.assert_allclose(
        softmax(np.array([[1, 1], [2, 2]]), axis=0)[:, 0], softmax([1.0, 2.0])
    )


def test_empty_rows_are_fine() -> None:
    assert softmax(np.zeros((0, 3))).shape == (0, 3)


@pytest.mark.parametrize("fn", [softmax, sigmoid])
@pytest.mark.parametrize(
    ("temperature", "error", "match"),
    [
        (0.0, ValueError, r"`temperature` must be a finite number > 0; got 0\.0"),
        (-1.0, ValueError, r"`temperature` must be a finite number > 0; got -1\.0"),
        (float("inf"), ValueError, r"`temperature` must be a finite number > 0; got inf"),
        (float("nan"), ValueError, r"`temperature` must be a finite number > 0; got nan"),
        ("2", TypeError, r"`temperature` must be a real number; got str '2'"),
        (True, TypeError, r"`temperature` must be a real number; got bool True"),
    ],
)
def test_bad_temperature(fn, temperature, error, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=match):
        fn([1.0, 2.0], temperature=temperature)


@pytest.mark.parametrize("fn", [softmax, sigmoid])
def test_nan_logits_refused(fn) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(
        ValueError, match=r"`logits` must not contain NaN; got NaN at index \(1, 0\)"
    ):
        fn([[1.0, 2.0], [np.nan, 0.0]])


def test_non_numeric_and_scalar_logits_refused() -> None:
    with pytest.raises(TypeError, match=r"`logits` must be a numeric array; got dtype <U1"):
        softmax(["a", "b"])
    with pytest.raises(ValueError, match=r"`logits` must have at least one dimension"):
        softmax(3.0)


def test_apply_activation_kinds() -> None:
    logits = np.array([[1.0, -1.0]])
    np.testing.assert_array_equal(apply_activation(logits, "none"), logits)
    assert apply_activation(logits, "none") is not logits
    np.testing.assert_allclose(
        apply_activation(logits, "softmax", temperature=2.0), softmax(logits / 2)
    )
    np.testing.assert_allclose(apply_activation(logits, "sigmoid"), sigmoid(logits))
    assert ACTIVATIONS == ("softmax", "sigmoid", "none")


def test_apply_activation_unknown_kind() -> None:
    with pytest.raises(
        ValueError, match=r"`kind` must be one of softmax, sigmoid, none; got 'relu'"
    ):
        apply_activation([1.0], "relu")
    with pytest.raises(ValueError, match=r"`temperature` must be a finite number > 0; got 0"):
        apply_activation([1.0], "none", temperature=0)


finite_rows = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=8),
    elements=st.floats(-1e30, 1e30, allow_nan=False, allow_infinity=False),
)


@given(finite_rows, st.floats(-1e6, 1e6))
@settings(max_examples=200, deadline=None)
def test_softmax_sums_to_one_and_is_shift_invariant(logits: np.ndarray, shift: float) -> None:
    scores = softmax(logits)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=1e-9)
    small = np.clip(logits, -1e6, 1e6)  # shift invariance only holds where x + c is exact enough
    np.testing.assert_allclose(softmax(small + shift), softmax(small), atol=1e-6)


@given(hnp.arrays(np.float64, st.integers(1, 16), elements=st.floats(-1e30, 1e30)))
@settings(max_examples=200, deadline=None)
def test_sigmoid_symmetry_and_monotone(logits: np.ndarray) -> None:
    np.testing.assert_allclose(sigmoid(-logits), 1.0 - sigmoid(logits), atol=1e-12)
    order = np.argsort(logits, kind="stable")
    assert np.all(np.diff(sigmoid(logits)[order]) >= 0)


@given(finite_rows)
@settings(max_examples=100, deadline=None)
def test_softmax_monotone_in_logits(logits: np.ndarray) -> None:
    row = np.clip(logits[0], -50, 50)
    order = np.argsort(row, kind="stable")
    assert np.all(np.diff(softmax(row)[order]) >= -1e-15)


def test_importing_pure_modules_leaves_tensorflow_out() -> None:
    code = (
        "import sys, cls_core, cls_core.scoring.activations, cls_core.scoring.decisions;"
        "assert 'tensorflow' not in sys.modules, 'tensorflow was imported';"
        "assert 'streamlit' not in sys.modules, 'streamlit was imported';"
        "print('clean')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "clean"
