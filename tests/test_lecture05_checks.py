"""Lecture 05's worked examples and its LeNet class, executed from the notebook source and
compared with independent references: the SYLLABUS **check** values and a NumPy loop over
the pooling windows, closed-form parameter and multiply-add counts, and course.models.LeNet5.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course import counting, models
from tools import nbbuild

LECTURE = nbbuild.SOURCES / "lectures" / "05_pooling_and_lenet.py"


def code_cells(starting_with: str) -> list[str]:
    """Code of the lecture's code cells whose first line starts with ``starting_with``."""
    cells = nbbuild.parse_source(LECTURE.read_text(), LECTURE.name)
    found = [
        "\n".join(c["lines"])
        for c in cells
        if not c["options"]["markdown"] and c["lines"] and c["lines"][0].startswith(starting_with)
    ]
    assert found, f"{LECTURE.name} has no code cell starting with {starting_with!r}"
    return found


def run(code: str) -> dict:
    namespace = {"np": np, "torch": torch, "F": F, "nn": nn}
    exec(compile(code, str(LECTURE), "exec"), namespace)  # our own notebook code
    return namespace


def pool_loop(x: np.ndarray, k: int, s: int, reduce) -> np.ndarray:
    """Reference pooling of x: (H, W) written as two loops over the windows."""
    rows, cols = (x.shape[0] - k) // s + 1, (x.shape[1] - k) // s + 1
    out = np.empty((rows, cols))
    for i in range(rows):
        for j in range(cols):
            out[i, j] = reduce(x[s * i : s * i + k, s * j : s * j + k])
    return out


@pytest.fixture(scope="module")
def pooling():
    from course import conv

    code = code_cells("# check: L05 pooling forward")[0]
    return run("from course import conv, models\n" + code) | {"conv": conv}


def test_l05_pooling_check_matches_the_syllabus(pooling):
    np.testing.assert_array_equal(pooling["max3"], [[3, 3, 3], [3, 3, 3], [3, 2, 3]])
    np.testing.assert_allclose(
        pooling["avg3"].round(2), [[1.67, 1.67, 1.67], [1.0, 1.22, 1.78], [1.11, 0.78, 1.33]]
    )
    np.testing.assert_array_equal(pooling["max2"], [[6, 8], [3, 4]])


def test_l05_pooling_check_matches_a_loop_over_the_windows(pooling):
    X5, X4 = pooling["X5"], pooling["X4"]
    np.testing.assert_array_equal(pooling["max3"], pool_loop(X5, 3, 1, np.max))
    np.testing.assert_allclose(pooling["avg3"], pool_loop(X5, 3, 1, np.mean), rtol=1e-6)
    np.testing.assert_array_equal(pooling["max2"], pool_loop(X4, 2, 2, np.max))


@pytest.fixture(scope="module")
def lenet_class():
    return run(code_cells("class LeNet(nn.Module):")[0])["LeNet"]


def lenet_closed_form_parameters(in_channels: int = 1, num_classes: int = 10) -> int:
    return (
        (5 * 5 * in_channels + 1) * 6
        + (5 * 5 * 6 + 1) * 16
        + (16 * 5 * 5 + 1) * 120
        + (120 + 1) * 84
        + (84 + 1) * num_classes
    )


@pytest.mark.parametrize("in_channels, num_classes", [(1, 10), (3, 100)])
def test_l05_lenet_class_is_the_course_lenet(lenet_class, in_channels, num_classes):
    torch.manual_seed(0)
    mine = lenet_class(in_channels=in_channels, num_classes=num_classes)
    course = models.LeNet5(num_classes=num_classes, in_channels=in_channels)
    n = lenet_closed_form_parameters(in_channels, num_classes)
    assert counting.count_parameters(mine) == counting.count_parameters(course) == n
    x = torch.randn(3, in_channels, 32, 32)
    with torch.no_grad():
        for a, b in zip(mine.parameters(), course.parameters(), strict=True):
            assert a.shape == b.shape
            a.copy_(b)
        torch.testing.assert_close(mine(x), course(x))
    assert mine(x).shape == (3, num_classes)


def test_l05_pooling_savings_match_closed_forms(lenet_class):
    """What the lecture prints about pooling: the same conv parameters, a head that grows
    from 16·5·5 to 16·24·24 inputs, and the multiply-adds of every layer counted by hand."""
    with_pool = lenet_class()
    no_pool = lenet_class()
    no_pool.pool = nn.Identity()
    no_pool.fc1 = nn.Linear(16 * 24 * 24, 120)
    head = (120 + 1) * 84 + (84 + 1) * 10
    assert counting.count_parameters(no_pool) - counting.count_parameters(with_pool) == (
        (16 * 24 * 24 - 16 * 5 * 5) * 120
    )
    assert counting.count_parameters(with_pool) == 156 + 2416 + 48120 + head
    fc = 120 * 84 + 84 * 10
    macs_pool = 28 * 28 * 6 * 25 + 10 * 10 * 16 * 150 + 400 * 120 + fc
    macs_no_pool = 28 * 28 * 6 * 25 + 24 * 24 * 16 * 150 + 16 * 24 * 24 * 120 + fc
    assert counting.count_macs(with_pool, (1, 1, 32, 32)) == macs_pool
    assert counting.count_macs(no_pool, (1, 1, 32, 32)) == macs_no_pool


def test_l05_label_smoothing_floor_is_the_entropy_of_the_target():
    """The floor the lecture states: min over scores of the smoothed loss = H(t) ≈ 0.50."""
    eps, K = 0.1, 10
    q, r = 1 - eps + eps / K, eps / K
    floor = -(q * np.log(q)) - (K - 1) * r * np.log(r)
    assert floor == pytest.approx(0.50, abs=1e-3)
    y = torch.arange(K)  # one example of every class
    t = (1 - eps) * F.one_hot(y, K) + eps / K  # (K, K) smoothed targets
    z = t.log().requires_grad_()  # the scores whose softmax is the target
    loss = F.cross_entropy(z, y, label_smoothing=eps)
    loss.backward()
    assert loss.item() == pytest.approx(floor, abs=1e-6)
    assert z.grad.abs().max() < 1e-6  # a stationary point of a convex loss: the minimum
    torch.manual_seed(0)
    others = F.cross_entropy(
        torch.randn(1000, K) * 3,
        torch.randint(0, K, (1000,)),
        label_smoothing=eps,
        reduction="none",
    )
    assert others.min().item() > floor
