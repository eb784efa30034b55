"""course.surfaces: hand-written gradients against centred finite differences and
torch.autograd, known minima and saddles against the Hessian, the mini-batch gradient of the
least-squares surface against its full-batch gradient."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course import surfaces
from course.gradcheck import numerical_gradient, rel_error

ALL = surfaces.NAMES
SMOOTH = tuple(name for name in ALL if name != "abs_1d")


def random_points(surface, n, seed=0):
    """``(n, dim)`` points spread over the plot range."""
    rng = np.random.default_rng(seed)
    lo = [surface.xlim[0]] + ([surface.ylim[0]] if surface.dim == 2 else [])
    hi = [surface.xlim[1]] + ([surface.ylim[1]] if surface.dim == 2 else [])
    return rng.uniform(lo, hi, size=(n, surface.dim))


def hessian(surface, point, h=1e-5):
    """Hessian by centred differences of the analytic gradient."""
    point = np.asarray(point, dtype=np.float64)
    H = np.empty((surface.dim, surface.dim))
    for i in range(surface.dim):
        e = np.zeros(surface.dim)
        e[i] = h
        H[:, i] = (surface.grad(point + e) - surface.grad(point - e)) / (2 * h)
    return (H + H.T) / 2


# --- the registry ---------------------------------------------------------------------------


def test_registry_names_and_errors():
    assert {"quadratic_1d", "rosenbrock", "saddle", "himmelblau", "least_squares"} <= set(ALL)
    assert len({surfaces.get(name).dim for name in ALL}) == 2  # 1-D and 2-D
    assert surfaces.get("rosenbrock") is surfaces.get("rosenbrock")  # built once
    with pytest.raises(ValueError, match="unknown surface 'rosenbrok'.*rosenbrock"):
        surfaces.get("rosenbrok")


@pytest.mark.parametrize("name", ALL)
def test_metadata_is_consistent(name):
    s = surfaces.get(name)
    assert s.name == name
    assert len(s.start) == s.dim and s.xlim[0] < s.xlim[1]
    assert (s.ylim is None) == (s.dim == 1)
    for p in s.minima + s.saddles:
        assert len(p) == s.dim
        assert s.xlim[0] < p[0] < s.xlim[1]
    if s.min_value is not None:  # the first minimum is a global one
        assert float(s.value(np.array(s.minima[0]))) == pytest.approx(s.min_value, abs=1e-12)
        values = s.value(random_points(s, 500))
        assert values.min() >= s.min_value - 1e-12
    assert np.isfinite(s.value(np.array(s.start)))


def test_point_shape_error_speaks_to_the_student():
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 2\); got shape \(3,\)"):
        surfaces.get("rosenbrock").grad(np.zeros(3))


# --- values -------------------------------------------------------------------------------


def test_known_values():
    assert surfaces.get("quadratic_1d").f(3.0) == 9.0
    assert surfaces.get("quartic_1d").f(2.0) == 16.0
    assert surfaces.get("rosenbrock").f(0.0, 0.0) == 1.0
    assert surfaces.get("himmelblau").f(0.0, 0.0) == 170.0
    assert surfaces.get("saddle").f(1.0, 2.0) == -3.0
    assert surfaces.get("ill_conditioned").f(1.0, 1.0) == 10.5  # ½(1 + 20)


@pytest.mark.parametrize("name", ALL)
def test_f_is_elementwise_on_a_grid(name):
    s = surfaces.get(name)
    points = random_points(s, 12).reshape(3, 4, s.dim)
    on_grid = s.f(*(points[..., i] for i in range(s.dim)))
    one_by_one = [[float(s.value(points[i, j])) for j in range(4)] for i in range(3)]
    np.testing.assert_allclose(on_grid, one_by_one, rtol=1e-14)
    assert s.grad(points).shape == (3, 4, s.dim)
    grid = s.grid(20)
    assert grid[-1].shape == ((20,) if s.dim == 1 else (20, 20))


# --- gradients ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", SMOOTH)
def test_gradient_matches_finite_differences(name):
    s = surfaces.get(name)
    for point in random_points(s, 20, seed=1):
        numeric = numerical_gradient(lambda p: float(s.value(p)), point.copy())
        analytic = s.grad(point)
        assert rel_error(analytic, numeric) < 1e-6 or np.abs(analytic - numeric).max() < 1e-8


@pytest.mark.parametrize("name", ALL)
def test_gradient_matches_torch_autograd(name):
    s = surfaces.get(name)
    points = random_points(s, 50, seed=2)
    if name == "abs_1d":
        points = points[np.abs(points[:, 0]) > 1e-3]
    tensor = torch.tensor(points, dtype=torch.float64, requires_grad=True)
    s.value(tensor).sum().backward()  # the value function runs on torch tensors as well
    np.testing.assert_allclose(s.grad(points), tensor.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_abs_subgradient_is_zero_at_zero():
    s = surfaces.get("abs_1d")
    np.testing.assert_array_equal(s.grad(np.array([[-0.5], [0.0], [2.0]])), [[-1.0], [0.0], [1.0]])


@given(
    x=st.floats(-50, 50, allow_nan=False),
    y=st.floats(-50, 50, allow_nan=False),
    h=st.floats(1e-3, 1.0),
)
@settings(max_examples=50, deadline=None)
def test_rosenbrock_gradient_property(x, y, h):
    # Along a line, t -> f(p + t e) is a quartic F(t), so its centred difference is exactly
    # F'(0) + h² F'''(0) / 6. With u(t) = y − x² + t(b − 2ax) − t²a², F''' = 1200 (b − 2ax)(−a²).
    s = surfaces.get("rosenbrock")
    p, e = np.array([x, y]), np.array([0.6, 0.8])
    a, b = e
    centred = (s.value(p + h * e) - s.value(p - h * e)) / (2 * h)
    third = 1200 * (b - 2 * a * x) * (-(a**2))
    np.testing.assert_allclose(
        centred, s.grad(p) @ e + h**2 * third / 6, rtol=1e-9, atol=1e-6 * (1 + abs(centred))
    )


@given(
    kappa=st.floats(1.0, 1e3),
    p=st.tuples(st.floats(-10, 10), st.floats(-10, 10)),
    q=st.tuples(st.floats(-10, 10), st.floats(-10, 10)),
    a=st.floats(-3, 3),
)
@settings(max_examples=50, deadline=None)
def test_quadratic_gradient_is_the_hessian_times_the_point(kappa, p, q, a):
    s = surfaces.quadratic(kappa)
    p, q = np.array(p), np.array(q)
    np.testing.assert_allclose(s.grad(p), [p[0], kappa * p[1]], rtol=1e-15)
    np.testing.assert_allclose(s.grad(a * p + q), a * s.grad(p) + s.grad(q), atol=1e-9 * kappa)
    assert s.curvature == (1.0, kappa)
    assert s.value(p) >= 0


def test_quadratic_rejects_kappa_below_one():
    with pytest.raises(ValueError, match="at least 1; got 0.5"):
        surfaces.quadratic(0.5)


# --- minima and saddles -------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_minima_have_zero_gradient_and_positive_curvature(name):
    s = surfaces.get(name)
    for p in s.minima:
        np.testing.assert_allclose(s.grad(np.array(p)), 0.0, atol=1e-10)
        eigenvalues = np.linalg.eigvalsh(hessian(s, p))
        if name != "quartic_1d":  # x⁴ has a flat minimum (f'' = 0)
            assert eigenvalues.min() > 1e-3
        # a minimum: no nearby point is lower
        nearby = np.array(p) + 1e-3 * np.random.default_rng(0).standard_normal((20, s.dim))
        assert (s.value(nearby) >= s.value(np.array(p)) - 1e-15).all()
    for p in s.saddles:
        np.testing.assert_allclose(s.grad(np.array(p)), 0.0, atol=1e-10)
        eigenvalues = np.linalg.eigvalsh(hessian(s, p))
        assert eigenvalues.min() < 0 < eigenvalues.max()


def test_himmelblau_has_its_four_textbook_minima():
    found = sorted(np.round(surfaces.get("himmelblau").minima, 6).tolist())
    expected = [[-3.77931, -3.283186], [-2.805118, 3.131313], [3.0, 2.0], [3.584428, -1.848126]]
    np.testing.assert_allclose(found, expected, atol=1e-6)


def test_double_well_minima_are_the_roots_of_the_cubic():
    s = surfaces.get("double_well_1d")
    roots = np.sort(np.roots([4, 0, -4, 0.3]).real)  # f'(x) = 4x³ − 4x + 0.3
    np.testing.assert_allclose([m[0] for m in s.minima], roots[[0, 2]], atol=1e-12)
    assert s.f(roots[0]) < s.f(roots[2])  # the global minimum is listed first


@pytest.mark.parametrize("name", [n for n in ALL if surfaces.get(n).curvature is not None])
def test_curvature_is_the_hessian_spectrum(name):
    s = surfaces.get(name)
    eigenvalues = np.linalg.eigvalsh(hessian(s, random_points(s, 1)[0]))
    np.testing.assert_allclose(
        [eigenvalues.min(), eigenvalues.max()], s.curvature, rtol=1e-6, atol=1e-8
    )


# --- least squares and mini-batches -------------------------------------------------------


def test_least_squares_matches_numpy_lstsq():
    s = surfaces.get("least_squares")
    x, y = s.data
    A = np.stack([x, np.ones_like(x)], axis=1)
    solution, *_ = np.linalg.lstsq(A, y, rcond=None)
    np.testing.assert_allclose(s.minima[0], solution, rtol=1e-12)
    theta = np.array([0.3, -0.7])
    residual = A @ theta - y
    assert float(s.value(theta)) == pytest.approx(0.5 * np.mean(residual**2), rel=1e-12)
    np.testing.assert_allclose(s.grad(theta), A.T @ residual / len(y), rtol=1e-12)


def test_full_batch_is_the_full_gradient_and_small_batches_are_noisy():
    s = surfaces.get("least_squares")
    theta = np.array(s.start)
    rng = np.random.default_rng(0)
    full = s.grad(theta)
    np.testing.assert_allclose(s.grad(theta, batch_size=s.n_samples, rng=rng), full)
    np.testing.assert_allclose(s.grad(theta, batch_size=10**6, rng=rng), full)

    def sample(batch_size, k=4000):
        return np.array([s.grad(theta, batch_size=batch_size, rng=rng) for _ in range(k)])

    small, large = sample(5), sample(100)
    # unbiased: the mean of many mini-batch gradients approaches the full gradient
    np.testing.assert_allclose(small.mean(axis=0), full, atol=5 * small.std(axis=0).max() / 60)
    # sampling without replacement: variance ∝ (n − B) / (B (n − 1)), so 5 vs 100 gives ≈ 37x
    ratio = small.var(axis=0) / large.var(axis=0)
    expected = (195 / (5 * 199)) / (100 / (100 * 199))
    np.testing.assert_allclose(ratio, expected, rtol=0.15)


def test_minibatch_needs_a_single_point_and_a_positive_batch():
    s = surfaces.get("least_squares")
    with pytest.raises(ValueError, match="at least 1; got 0"):
        s.grad(np.zeros(2), batch_size=0)
    with pytest.raises(ValueError, match=r"one point of shape \(2,\)"):
        s.grad(np.zeros((3, 2)), batch_size=4)
