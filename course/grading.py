"""Checks for the visible tests of the labs: on failure they say what was expected, what
the student's code gave and a hint. They never need nbgrader.

>>> check_close("predict(X, w)", [1.0, 2.0], [1.0, 2.0])
>>> check_close("loss", 2.0, 1.0, hint="did you divide by m?")
Traceback (most recent call last):
...
AssertionError: loss is wrong.
  expected: 1.0
  got:      2.0
  hint: did you divide by m?
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_close", "check_shape", "check_unchanged", "check_type"]


def _fail(what: str, expected, got, hint: str | None, problem: str = "is wrong") -> None:
    message = f"{what} {problem}.\n  expected: {expected}\n  got:      {got}"
    if hint:
        message += f"\n  hint: {hint}"
    raise AssertionError(message)


def _show(value) -> str:
    array = np.asarray(value)
    if array.ndim == 0:
        return repr(array.item())
    return np.array2string(array, precision=4, threshold=20, edgeitems=3).replace("\n", " ")


def check_type(what: str, got, expected_type, hint: str | None = None) -> None:
    """Fail unless ``got`` is an instance of ``expected_type``."""
    if not isinstance(got, expected_type):
        name = getattr(expected_type, "__name__", str(expected_type))
        _fail(what, f"a {name}", f"{type(got).__name__}: {got!r:.80}", hint, "has the wrong type")


def check_shape(what: str, got, shape: tuple, hint: str | None = None) -> None:
    """Fail unless ``got`` is an array of shape ``shape``."""
    if got is None:
        _fail(what, f"an array of shape {shape}", "None", hint or "did you forget `return`?")
    got_shape = np.shape(got)
    if tuple(got_shape) != tuple(shape):
        _fail(
            what, f"shape {tuple(shape)}", f"shape {tuple(got_shape)}", hint, "has the wrong shape"
        )


def check_close(
    what: str, got, expected, rtol: float = 1e-6, atol: float = 1e-8, hint: str | None = None
) -> None:
    """Fail unless ``got`` matches ``expected`` (shape and values within tolerance)."""
    if got is None:
        _fail(what, _show(expected), "None", hint or "did you forget `return`?")
    expected_arr = np.asarray(expected, dtype=np.float64)
    try:
        got_arr = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        _fail(what, _show(expected), repr(got), hint, "is not a number or array")
    if got_arr.shape != expected_arr.shape:
        _fail(
            what,
            f"shape {expected_arr.shape}",
            f"shape {got_arr.shape}",
            hint,
            "has the wrong shape",
        )
    if not np.allclose(got_arr, expected_arr, rtol=rtol, atol=atol, equal_nan=False):
        _fail(what, _show(expected_arr), _show(got_arr), hint)


def check_unchanged(what: str, before, after, hint: str | None = None) -> None:
    """Fail if an input array was modified in place (compare a copy taken before the call)."""
    if not np.array_equal(np.asarray(before), np.asarray(after)):
        _fail(
            what,
            "the input left unchanged",
            "it was modified in place",
            hint or "work on a copy (x.copy()) or build a new array instead",
        )
