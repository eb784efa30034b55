"""What lecture 01 (linear regression) computes and claims, against independent references.

The cells of ``notebook_sources/lectures/01_linear_regression.py`` whose first line is
``# check: L01 ...`` are executed here (``tests/test_lecture_checks.py`` asserts the syllabus
parabola check) and compared with ``torch.autograd``: the Hessian of the line fit J(w, b) and
the vectorized gradient (1/m) X^T (X w - y). The condition numbers the lecture's text states for
the course's height data (raw, scaled, centred, centred and scaled) are checked on that data.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course import data
from tools import nbbuild

SOURCE = nbbuild.SOURCES / "lectures" / "01_linear_regression.py"


@pytest.fixture(scope="module")
def l01() -> dict:
    """Execute, in order and in one namespace, the lecture's cells marked ``# check: L01``."""
    cells = nbbuild.parse_source(SOURCE.read_text(), SOURCE.name)
    marked = [
        "\n".join(c["lines"])
        for c in cells
        if not c["options"]["markdown"] and c["lines"] and c["lines"][0].startswith("# check: L01")
    ]
    assert len(marked) >= 3, f"{SOURCE.name}: expected three '# check: L01' cells"
    namespace: dict = {"np": np}
    for code in marked:
        exec(compile(code, str(SOURCE), "exec"), namespace)  # our own notebook code
    return namespace


def line_objective_hessian(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Hessian of J(w, b) = 1/(2m) sum (x w + b - y)^2 by autograd (it is constant)."""
    x_t, y_t = torch.from_numpy(x), torch.from_numpy(y)

    def objective(theta):
        return 0.5 * ((x_t * theta[0] + theta[1] - y_t) ** 2).mean()

    return torch.autograd.functional.hessian(objective, torch.zeros(2, dtype=torch.float64)).numpy()


def condition(H: np.ndarray) -> float:
    eigenvalues = np.linalg.eigvalsh(H)
    return eigenvalues[-1] / eigenvalues[0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_l01_hessian_of_the_line_fit_matches_autograd(l01, seed):
    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 50))
    x, y = rng.normal(170, 10, size=m), rng.normal(size=m)
    np.testing.assert_allclose(l01["hessian_line"](x), line_objective_hessian(x, y), rtol=1e-10)


def test_l01_condition_numbers_stated_for_the_height_data(l01):
    height, weight = data.make_height_weight(n=100, seed=0)
    x, y, _, _ = data.train_test_split(height, weight, test_fraction=0.2, seed=0, stratify=False)
    mu, sigma = x.mean(), x.std()
    kappa = {
        name: condition(line_objective_hessian(v, y))
        for name, v in [("raw", x), ("scaled", x / sigma), ("centred", x - mu),
                        ("both", (x - mu) / sigma)]
    }
    # the text: raw ~ 10^7 ("8.8e6"), scaled ~ 8.8e4, centred = sigma^2 ~ 100, both = 1
    assert 5e6 < kappa["raw"] < 2e7
    assert 5e4 < kappa["scaled"] < 2e5
    assert kappa["centred"] == pytest.approx(sigma**2, rel=1e-9)
    assert kappa["both"] == pytest.approx(1.0, abs=1e-9)
    # the coupling, not the diagonal ratio mean(x^2) / 1, is what makes the raw case bad
    assert kappa["raw"] > 100 * np.mean(x**2)
    assert condition(l01["hessian_line"](x)) == pytest.approx(kappa["raw"], rel=1e-6)


@pytest.mark.parametrize("m,n", [(1, 1), (7, 3), (354, 11)])
def test_l01_vectorized_gradient_matches_autograd(l01, m, n):
    rng = np.random.default_rng(m * n)
    X, y, w = rng.normal(size=(m, n)), rng.normal(size=m), rng.normal(size=n)
    w_t = torch.tensor(w, requires_grad=True)
    J = 0.5 * ((torch.from_numpy(X) @ w_t - torch.from_numpy(y)) ** 2).mean()
    J.backward()
    np.testing.assert_allclose(l01["mse"](X, y, w), J.item(), rtol=1e-12)
    np.testing.assert_allclose(l01["gradient"](X, y, w), w_t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_l01_predict_refuses_mismatched_shapes(l01):
    with pytest.raises(ValueError, match=r"X must be \(m, n\) and w \(n,\)"):
        l01["predict"](np.ones((4, 3)), np.ones(2))
    with pytest.raises(ValueError, match="X must be"):
        l01["predict"](np.ones(4), np.ones(4))
