"""The SYLLABUS **check** items of lectures 01 and 03, asserted against the code that the
lecture notebooks run and against the course package.

Cells of a notebook source whose first line is ``# check: LNN ...`` hold self-contained code
(NumPy only) that the lecture uses to compute a worked example; these tests execute exactly
that code and compare it with an independent reference (a closed form typed from the
syllabus, torch.autograd, finite differences).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course import autodiff, gradcheck
from tools import nbbuild

LECTURES = nbbuild.SOURCES / "lectures"


def check_cells(source_name: str, lecture: str) -> dict:
    """Execute, in order, the cells of a lecture source marked ``# check: <lecture>``."""
    path = LECTURES / source_name
    cells = nbbuild.parse_source(path.read_text(), path.name)
    marked = [
        "\n".join(c["lines"])
        for c in cells
        if not c["options"]["markdown"]
        and c["lines"]
        and c["lines"][0].startswith(f"# check: {lecture}")
    ]
    assert marked, f"{path.name} has no cell starting with '# check: {lecture}'"
    namespace: dict = {"np": np}
    for code in marked:
        exec(compile(code, str(path), "exec"), namespace)  # our own notebook code
    return namespace


@pytest.fixture(scope="module")
def l01():
    return check_cells("01_linear_regression.py", "L01")


@pytest.fixture(scope="module")
def l03():
    return check_cells("03_backpropagation.py", "L03")


# --- L01: J(w) = c1 w² + c2 w + c3 with c1=1, c2=-2, c3=1 has its minimum at w=1 ---


def test_l01_parabola_check_has_its_minimum_at_w_equal_1(l01):
    w_star, J_star = l01["parabola_minimum"](1, -2, 1)
    assert w_star == 1.0
    assert J_star == 0.0
    # independent: (w - 1)² on a fine grid
    ws = np.linspace(-3, 5, 80001)
    assert ws[np.argmin(ws**2 - 2 * ws + 1)] == pytest.approx(1.0, abs=1e-4)


def test_l01_one_example_with_x_equal_y_equal_sqrt2_gives_the_check_coefficients(l01):
    x = y = np.array([math.sqrt(2)])
    np.testing.assert_allclose(l01["parabola_coefficients"](x, y, 0.0), (1.0, -2.0, 1.0))


def test_l01_parabola_minimum_is_the_least_squares_slope(l01):
    rng = np.random.default_rng(3)
    x = rng.normal(size=50)
    x -= x.mean()  # centred, so the best intercept is the mean of y
    y = 2.5 * x + 4 + rng.normal(size=50)
    b = y.mean()
    w_star, J_star = l01["parabola_minimum"](*l01["parabola_coefficients"](x, y, b))
    slope, intercept = np.polyfit(x, y, 1)
    assert w_star == pytest.approx(slope, rel=1e-10)
    assert J_star == pytest.approx(np.mean(0.5 * (slope * x + intercept - y) ** 2), rel=1e-10)


def test_l01_parabola_without_minimum_is_refused(l01):
    with pytest.raises(ValueError, match="c1 > 0"):
        l01["parabola_minimum"](-1, 0, 0)


# --- L03: y = f(g(x)), f(u) = u², g(x) = 3x³ + 2 gives dy/dx = 54x⁵ + 36x² ---

X_POINTS = [-1.5, -0.5, 0.0, 0.3, 1.0, 2.0]


def test_l03_chain_rule_formula_matches_the_syllabus(l03):
    for x in X_POINTS:
        assert l03["dy_dx"](x) == pytest.approx(54 * x**5 + 36 * x**2, rel=1e-12, abs=1e-12)
    assert l03["dy_dx"](2.0) == 1872.0  # 54·32 + 36·4


def test_l03_chain_rule_matches_torch_autograd(l03):
    x = torch.tensor(X_POINTS, dtype=torch.float64, requires_grad=True)
    l03["f"](l03["g"](x)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), l03["dy_dx"](np.array(X_POINTS)), rtol=1e-12)


def test_l03_chain_rule_matches_finite_differences(l03):
    x = np.array(X_POINTS)
    numeric = gradcheck.numerical_gradient(lambda v: l03["f"](l03["g"](v)).sum(), x.copy())
    np.testing.assert_allclose(numeric, l03["dy_dx"](x), rtol=1e-6, atol=1e-6)


def test_l03_chain_rule_with_the_course_engine():
    for x_val in X_POINTS:
        x = autodiff.Value(x_val)
        ((3 * x**3 + 2) ** 2).backward()
        assert x.grad == pytest.approx(54 * x_val**5 + 36 * x_val**2, rel=1e-12, abs=1e-12)


# --- L03: softmax cross-entropy and its gradient p - y ---


def test_l03_softmax_and_cross_entropy_match_torch(l03):
    rng = np.random.default_rng(0)
    z = rng.normal(scale=3.0, size=(6, 4))
    y = np.array([0, 3, 1, 2, 3, 0])
    np.testing.assert_allclose(l03["softmax"](z), torch.softmax(torch.tensor(z), 1).numpy())
    z_t = torch.tensor(z, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(z_t, torch.tensor(y))
    loss.backward()
    assert l03["cross_entropy"](z, y) == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(l03["cross_entropy_grad"](z, y), z_t.grad.numpy(), atol=1e-15)


def test_l03_cross_entropy_gradient_is_p_minus_y_by_finite_differences(l03):
    z = np.array([[2.0, -1.0, 0.5]])
    y = np.array([2])
    p = np.exp(z) / np.exp(z).sum()
    expected = p - np.array([[0.0, 0.0, 1.0]])
    np.testing.assert_allclose(l03["cross_entropy_grad"](z, y), expected, rtol=1e-12)
    gradcheck.check_gradient(lambda v: l03["cross_entropy"](v, y), z.copy(), expected, tol=1e-8)


def test_l03_cross_entropy_is_stable_for_large_logits(l03):
    loss = l03["cross_entropy"](np.array([[1000.0, 0.0, -1000.0]]), np.array([1]))
    assert loss == pytest.approx(1000.0)
