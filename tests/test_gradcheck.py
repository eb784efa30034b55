"""course.gradcheck against closed-form derivatives."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from course import gradcheck


@settings(max_examples=25, deadline=None)
@given(arrays(np.float64, st.integers(1, 6), elements=st.floats(-3, 3)))
def test_numerical_gradient_of_known_functions(x):
    g = gradcheck.numerical_gradient(lambda v: np.sum(np.sin(v) * v**2), x.copy())
    assert np.allclose(g, np.cos(x) * x**2 + 2 * x * np.sin(x), atol=1e-6)


def test_input_is_restored():
    x = np.array([1.0, 2.0])
    gradcheck.numerical_gradient(lambda v: v.sum(), x)
    assert x.tolist() == [1.0, 2.0]


def test_array_gradient_of_a_matrix_product():
    rng = np.random.default_rng(0)
    W, x, dout = rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=(3, 2))
    g = gradcheck.numerical_gradient_array(lambda v: W @ v, x, dout)
    assert gradcheck.rel_error(g, W.T @ dout) < 1e-8


def test_check_gradient_accepts_right_and_names_wrong():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    assert gradcheck.check_gradient(lambda v: (v**3).sum(), x, 3 * x**2) < 1e-7
    wrong = 3 * x**2
    wrong[1, 0] *= 2
    with pytest.raises(gradcheck.GradientCheckError, match=r"of W is wrong at index \(1, 0\)"):
        gradcheck.check_gradient(lambda v: (v**3).sum(), x, wrong, name="W")


def test_bad_inputs_get_clear_errors():
    with pytest.raises(TypeError, match="float64"):
        gradcheck.numerical_gradient(lambda v: v.sum(), np.array([1, 2]))
    with pytest.raises(ValueError, match="must have the shape"):
        gradcheck.check_gradient(lambda v: v.sum(), np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="shapes must match"):
        gradcheck.rel_error(np.ones(2), np.ones(3))


def test_tiny_entries_are_judged_against_round_off_not_relative_noise():
    # The loss of an MLP is near 2 while some weight gradients are near 1e-6: the centred
    # difference then carries ~1e-11 of round-off, a relative error of ~1e-5 on such an entry.
    # A correct gradient must pass; one that is wrong on a tiny entry by 10 % must not.
    rng = np.random.default_rng(3)
    scales = np.where(np.arange(40) % 2 == 0, 1e-6, 1.0)  # every other column tiny
    B = rng.normal(size=(30, 40)) * scales

    def f(v):
        return 2.0 + np.sum(np.tanh(B @ v))

    x = rng.normal(size=40)
    exact = B.T @ (1 - np.tanh(B @ x) ** 2)
    assert 1e-8 < np.abs(exact[::2]).max() < 1e-5  # the tiny entries are there
    assert gradcheck.check_gradient(f, x.copy(), exact) < 1e-6
    wrong = exact.copy()
    wrong[0] *= 1.1
    with pytest.raises(gradcheck.GradientCheckError, match=r"index \(0,\)"):
        gradcheck.check_gradient(f, x.copy(), wrong)


def test_check_gradient_atol_accepts_float32_but_not_a_wrong_gradient():
    rng = np.random.default_rng(3)
    A, x = rng.normal(size=(6, 6)), rng.normal(size=6)
    exact = A.T @ (A @ x)  # gradient of |A x|^2 / 2, with entries of very different sizes

    def f(v):
        return 0.5 * float(np.sum((A @ v) ** 2))

    float32 = A.astype(np.float32).T @ (A.astype(np.float32) @ x.astype(np.float32))
    assert gradcheck.check_gradient(f, x.copy(), float32, tol=1e-5, atol=1e-5) <= 1e-5
    with pytest.raises(gradcheck.GradientCheckError):
        gradcheck.check_gradient(f, x.copy(), exact * 1.001, tol=1e-5, atol=1e-5)
