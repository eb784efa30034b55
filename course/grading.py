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

import ast
import inspect
import textwrap
import types

import numpy as np

__all__ = [
    "check_close",
    "check_shape",
    "check_unchanged",
    "check_type",
    "check_numpy_only",
    "exercise",
]


#: The hint for a function that gave None: the cell's own hint is about values, not this.
_NO_RETURN = "the function returned None: did you forget `return`?"


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
        _fail(what, f"an array of shape {shape}", "None", _NO_RETURN, "is missing")
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
        _fail(what, _show(expected), "None", _NO_RETURN, "is missing")
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


#: Libraries a "NumPy only" function may not use: they would do the graded work for it.
FORBIDDEN = ("torch", "scipy", "course.conv", "course.optim", "sklearn")


def _local_names(code: types.CodeType) -> set[str]:
    """Names bound inside a function (arguments, assignments, loop variables), including
    those of the lambdas and comprehensions nested in it."""
    local = set(code.co_varnames) | set(code.co_cellvars)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            local |= _local_names(const)
    return local


def _forbidden_use(func, forbidden: tuple[str, ...], seen: set) -> str | None:
    """Name of the first forbidden library ``func`` (or a helper it calls) refers to; helpers
    already in ``seen`` (or put there by the caller, to skip them) are not looked at again."""
    if func in seen or not isinstance(func, types.FunctionType):
        return None
    seen.add(func)
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return None  # source unavailable: nothing to check

    def banned(module_name: str) -> bool:
        return any(module_name == f or module_name.startswith(f + ".") for f in forbidden)

    names = dict(func.__globals__)
    for name, cell in zip(func.__code__.co_freevars, func.__closure__ or (), strict=False):
        try:
            names[name] = cell.cell_contents
        except ValueError:  # a closure variable not bound yet
            pass
    for name in _local_names(func.__code__):  # `F, C, HH, WW = w.shape` is not torch's F
        names.pop(name, None)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if banned(alias.name):
                    return alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and banned(node.module):
            return node.module
        elif isinstance(node, ast.Name) and node.id in names:
            value = names[node.id]
            module = value.__name__ if isinstance(value, types.ModuleType) else None
            module = module or getattr(value, "__module__", None) or ""
            if banned(module):
                return f"{node.id} (from {module})"
            if isinstance(value, types.FunctionType) and value.__module__ == func.__module__:
                found = _forbidden_use(value, forbidden, seen)  # a helper of the student's
                if found:
                    return found
    return None


def check_numpy_only(
    what: str, func, forbidden: tuple[str, ...] = FORBIDDEN, graded_elsewhere: tuple = ()
) -> None:
    """Fail if ``func`` (or a helper function it calls) uses torch, scipy or a course module
    that would do the work: labs that say "NumPy only" grade your own implementation.

    ``graded_elsewhere`` names functions that ``func`` may call and that have a check of their
    own: they are not followed, so a rule broken in one of them costs points once, there.

    >>> import numpy as np
    >>> def double(x):
    ...     return 2 * np.asarray(x)
    >>> check_numpy_only("double", double)
    >>> import torch.nn.functional as F
    >>> def filters(w):  # a local F (number of filters) is not torch's F
    ...     F, C = w.shape[:2]
    ...     return F * C
    >>> check_numpy_only("filters", filters)
    """
    skipped = {f for f in graded_elsewhere if f is not func}
    found = _forbidden_use(func, tuple(forbidden), skipped)
    if found:
        _fail(
            what,
            "an implementation with NumPy only",
            f"it uses {found}",
            "write the computation yourself with NumPy; torch is only for checking",
            "uses a library that does the work",
        )


#: First characters of the lines :func:`exercise` prints (the notebook tests look for them).
EXERCISE_RIGHT, EXERCISE_WRONG, EXERCISE_BLANK = "✔ exercise", "✘ exercise", "… exercise"


def _plain(value):
    """A torch tensor (detached, on the CPU) or anything else as it is."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        return value.detach().cpu().numpy()
    return value


def exercise(
    what: str, got, expected, rtol: float = 1e-6, atol: float = 1e-8, hint: str | None = None
) -> bool:
    """Instant feedback for a lecture exercise: print whether ``got`` matches ``expected``.

    It never raises, so a notebook with unanswered exercises still runs top to bottom. An
    answer left as ``None`` is reported as not answered yet; a wrong one prints what was
    expected, what the answer gave and the hint. Returns True when the answer is right.
    Numbers, arrays, tensors and nested lists compare within ``rtol``/``atol``; strings,
    booleans and tuples of them compare exactly.

    >>> exercise("2 + 2", 4, 4)
    ✔ exercise "2 + 2": correct
    True
    >>> exercise("2 + 2", None, 4, hint="add them")
    … exercise "2 + 2": not answered yet (replace the None). hint: add them
    False
    >>> exercise("the sign", "minus", "plus")
    ✘ exercise "the sign" is wrong.
      expected: 'plus'
      got:      'minus'
    False
    """
    if got is None:
        print(f'{EXERCISE_BLANK} "{what}": not answered yet (replace the None).'
              + (f" hint: {hint}" if hint else ""))
        return False
    got, expected = _plain(got), _plain(expected)
    try:
        if isinstance(expected, (str, bool)) or isinstance(got, (str, bool)):
            if not (type(got) is type(expected) and got == expected):
                _fail(what, repr(expected), repr(got), hint)
        else:
            check_close(what, got, expected, rtol=rtol, atol=atol, hint=hint)
    except AssertionError as error:
        print(f'{EXERCISE_WRONG} "{what}"' + str(error)[len(what):])
        return False
    print(f'{EXERCISE_RIGHT} "{what}": correct')
    return True
