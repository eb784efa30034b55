"""Gradient checking with centred finite differences.

The centred difference ``(f(x + h) - f(x - h)) / 2h`` has error of order ``h²``; in float64
with ``h = 1e-5`` a correct analytic gradient typically agrees to a relative error below
``1e-7``, while a wrong one (a sign, a missing factor) shows errors near ``1``.

>>> x = np.array([1.0, -2.0, 3.0])
>>> g = numerical_gradient(lambda v: (v ** 2).sum(), x)
>>> bool(rel_error(g, 2 * x) < 1e-8)
True
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "GradientCheckError",
    "numerical_gradient",
    "numerical_gradient_array",
    "rel_error",
    "check_gradient",
]


class GradientCheckError(AssertionError):
    """An analytic gradient disagrees with finite differences."""


def _float_array(x, name: str = "x") -> np.ndarray:
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError(
            f"{name} must be a float64 NumPy array (finite differences need double precision); "
            f"got {type(x).__name__} with dtype {getattr(x, 'dtype', None)}"
        )
    return x


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5):
    """Gradient of a scalar function ``f`` at ``x`` (any shape) by centred differences.

    ``x`` is perturbed in place one entry at a time and restored afterwards.
    """
    x = _float_array(x)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + h
        plus = float(f(x))
        x[index] = old - h
        minus = float(f(x))
        x[index] = old
        grad[index] = (plus - minus) / (2 * h)
    return grad


def numerical_gradient_array(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout: np.ndarray, h: float = 1e-5
):
    """Gradient of ``sum(f(x) * dout)`` w.r.t. ``x``: what a backward pass returns for an
    array-valued layer ``f`` given the upstream gradient ``dout`` (same shape as ``f(x)``).

    >>> x = np.array([[1.0, -1.0]]); dout = np.array([[2.0, 3.0]])
    >>> numerical_gradient_array(lambda v: np.maximum(v, 0), x, dout).round(6).tolist()
    [[2.0, 0.0]]
    """
    dout = np.asarray(dout, dtype=np.float64)
    return numerical_gradient(lambda v: float(np.sum(f(v) * dout)), x, h)


def rel_error(a, b, eps: float = 1e-12) -> float:
    """Largest elementwise relative error ``|a - b| / max(|a| + |b|, eps)``.

    >>> rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    0.0
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes must match; got {a.shape} and {b.shape}")
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), eps), initial=0.0))


def check_gradient(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    analytic,
    name: str = "x",
    tol: float = 1e-6,
    h: float = 1e-5,
    atol: float = 0.0,
) -> float:
    """Compare an analytic gradient of scalar ``f`` at ``x`` with finite differences.

    Returns the relative error; raises :class:`GradientCheckError` naming the parameter, the
    worst index, the expected (numerical) and the analytic value when it exceeds ``tol``.

    Entries near zero are the exception to a purely relative comparison: a centred difference
    carries a round-off error of about ``eps * |f(x)| / h`` however small the entry is, so the
    denominator ``|numeric| + |analytic|`` is never taken below ``noise / tol`` with
    ``noise = 10 * eps * max(1, |f(x)|) / h``. An entry therefore passes when it agrees
    relatively to ``tol`` or absolutely to the round-off level ``noise``. Give ``atol`` to
    accept a larger absolute error too: a float32 gradient carries about ``1e-7`` times the
    size of the terms it sums, whatever the size of the entry.

    >>> x = np.array([1.0, 2.0])
    >>> check_gradient(lambda v: (v ** 2).sum(), x, -2 * x, name="w")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    course.gradcheck.GradientCheckError: gradient of w is wrong at index (0,): finite ...
    >>> tiny = np.array([1e-9, 1.0])  # f = 2 + x0 * 1e-6 + x1**2 / 2: a gradient entry of 1e-6
    >>> bool(check_gradient(lambda v: 2 + v[0] * 1e-6 + v[1] ** 2 / 2, tiny, [1e-6, 1.0]) < 1e-6)
    True
    """
    analytic = np.asarray(analytic, dtype=np.float64)
    if analytic.shape != np.shape(x):
        raise ValueError(
            f"the gradient of {name} must have the shape of {name}, {np.shape(x)}; "
            f"got {analytic.shape}"
        )
    noise = 10 * np.finfo(np.float64).eps * max(1.0, abs(float(f(x)))) / h
    numeric = numerical_gradient(f, x, h)
    scale = np.maximum(np.abs(numeric) + np.abs(analytic), max(noise / tol, atol / tol, 1e-12))
    errors = np.abs(numeric - analytic) / scale
    error = float(errors.max(initial=0.0))
    if error > tol:
        worst = np.unravel_index(int(np.argmax(errors)), errors.shape)
        raise GradientCheckError(
            f"gradient of {name} is wrong at index {tuple(int(i) for i in worst)}: "
            f"finite differences give {numeric[worst]:.6g}, your gradient gives "
            f"{analytic[worst]:.6g} (relative error {error:.3g}; tolerance {tol:g})"
        )
    return error
