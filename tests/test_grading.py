"""course.grading: the visible-test checks fail loudly with expected, got and a hint."""

from __future__ import annotations

import numpy as np
import pytest

from course import grading


def test_close_passes_within_tolerance_and_float32():
    grading.check_close("x", np.float32([1, 2]), [1.0, 2.0 + 1e-8])


@pytest.mark.parametrize(
    "got, message",
    [
        (None, "did you forget `return`"),
        ([1.0, 2.0, 3.0], "wrong shape"),
        ([1.0, -2.0], "expected: \\[1. 2.\\]"),
        ("abc", "not a number"),
    ],
)
def test_close_failures(got, message):
    with pytest.raises(AssertionError, match=message):
        grading.check_close("f(x)", got, [1.0, 2.0])


def test_shape_type_unchanged():
    grading.check_shape("a", np.zeros((2, 3)), (2, 3))
    with pytest.raises(AssertionError, match=r"expected: shape \(3, 2\)"):
        grading.check_shape("a", np.zeros((2, 3)), (3, 2), hint="transpose?")
    with pytest.raises(AssertionError, match="wrong type"):
        grading.check_type("n", 1.5, int)
    before = np.arange(3)
    after = before.copy()
    after[0] = 9
    with pytest.raises(AssertionError, match="modified in place"):
        grading.check_unchanged("X", before, after)


def _uses_torch(x):
    import torch

    return torch.as_tensor(x).sum()


def _helper(x):
    return _uses_torch(x)


def _pure(x):
    return np.asarray(x).sum()


def test_numpy_only_catches_torch_and_helpers_but_not_numpy():
    grading.check_numpy_only("pure", _pure)
    with pytest.raises(AssertionError, match="it uses torch"):
        grading.check_numpy_only("uses_torch", _uses_torch)
    with pytest.raises(AssertionError, match="it uses torch"):
        grading.check_numpy_only("helper", _helper)
    from course.conv import correlate2d

    def sneaky(x, k):
        return correlate2d(x, k)

    with pytest.raises(AssertionError, match="course.conv"):
        grading.check_numpy_only("sneaky", sneaky)


def test_numpy_only_ignores_local_names_that_shadow_a_global_torch_alias():
    import torch.nn.functional as F  # what a lab's test cell imports next to student code

    def conv_shapes(w):  # F is the number of filters here, as in the lab's docstrings
        F, C, HH, WW = w.shape
        return np.zeros((F, C * HH * WW))

    def conv_torch(x, w):
        return F.conv2d(x, w)

    grading.check_numpy_only("conv_shapes", conv_shapes)
    with pytest.raises(AssertionError, match="torch"):
        grading.check_numpy_only("conv_torch", conv_torch)


def test_none_says_return_even_when_the_cell_gives_its_own_hint():
    # The cell's hint is about values ("use X @ w + b"); a None result needs the return hint.
    for check, args in [(grading.check_close, ([1.0],)), (grading.check_shape, ((1,),))]:
        with pytest.raises(AssertionError, match="returned None: did you forget `return`"):
            check("predict(X, w, b)", None, *args, hint="use X @ w + b")


def test_check_numpy_only_charges_a_rule_once_where_it_is_broken():
    import scipy.special

    from course.grading import check_numpy_only

    def log_softmax(s):  # breaks the rule (scipy does the work)
        return s - scipy.special.logsumexp(s, axis=1, keepdims=True)

    def network_loss(s):  # its own code is NumPy; it calls a separately graded function
        return -np.mean(log_softmax(s)[:, 0])

    with pytest.raises(AssertionError, match="scipy"):
        check_numpy_only("log_softmax", log_softmax)
    with pytest.raises(AssertionError, match="scipy"):  # followed by default
        check_numpy_only("network_loss", network_loss)
    check_numpy_only("network_loss", network_loss, graded_elsewhere=(log_softmax,))
    with pytest.raises(AssertionError, match="scipy"):  # a function cannot excuse itself
        check_numpy_only("log_softmax", log_softmax, graded_elsewhere=(log_softmax,))
