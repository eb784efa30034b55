"""course.optim: every update rule against torch.optim step by step, the L02 check on
f(x) = x², stability thresholds on quadratics, and divergence handling in run()."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course import optim, surfaces

# (our name and hyperparameters, the torch.optim class and its keyword arguments)
CONFIGS = [
    (("gd", {}), (torch.optim.SGD, {})),
    (("momentum", {"momentum": 0.9}), (torch.optim.SGD, {"momentum": 0.9})),
    (("momentum", {"momentum": 0.5}), (torch.optim.SGD, {"momentum": 0.5, "dampening": 0.0})),
    (
        ("momentum", {"momentum": 0.8, "dampening": 0.3}),
        (torch.optim.SGD, {"momentum": 0.8, "dampening": 0.3}),
    ),
    (("nesterov", {"momentum": 0.9}), (torch.optim.SGD, {"momentum": 0.9, "nesterov": True})),
    (("adagrad", {}), (torch.optim.Adagrad, {})),
    (
        ("adagrad", {"eps": 1e-3, "lr_decay": 0.01, "initial_accumulator_value": 0.1}),
        (torch.optim.Adagrad, {"eps": 1e-3, "lr_decay": 0.01, "initial_accumulator_value": 0.1}),
    ),
    (("rmsprop", {}), (torch.optim.RMSprop, {})),
    (("rmsprop", {"alpha": 0.9, "eps": 1e-4}), (torch.optim.RMSprop, {"alpha": 0.9, "eps": 1e-4})),
    (("rmsprop", {"momentum": 0.5}), (torch.optim.RMSprop, {"momentum": 0.5})),
    (("adam", {}), (torch.optim.Adam, {})),
    (
        ("adam", {"beta1": 0.5, "beta2": 0.9, "eps": 1e-3}),
        (torch.optim.Adam, {"betas": (0.5, 0.9), "eps": 1e-3}),
    ),
]

LRS = {"rosenbrock": 1e-3, "ill_conditioned": 0.05}


def torch_trajectory(surface, opt_class, kwargs, lr, start, steps):
    """Iterates of torch.optim on the surface; torch computes the gradient by autograd."""
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = opt_class([p], lr=lr, **kwargs)
    points = [p.detach().clone().numpy()]
    for _ in range(steps):
        opt.zero_grad()
        surface.value(p).backward()
        opt.step()
        points.append(p.detach().clone().numpy())
    return np.array(points)


@pytest.mark.parametrize("surface_name", ["rosenbrock", "ill_conditioned"])
@pytest.mark.parametrize(("ours", "theirs"), CONFIGS, ids=lambda c: str(c))
def test_matches_torch_optim(surface_name, ours, theirs):
    surface = surfaces.get(surface_name)
    lr, steps = LRS[surface_name], 30
    if ours[0] in ("adagrad", "rmsprop", "adam"):
        lr = 0.02  # adaptive rules: lr is a step length
    path = optim.run(surface, optim.Stepper(ours[0], lr, **ours[1]), steps=steps)
    expected = torch_trajectory(surface, *theirs, lr, list(surface.start), steps)
    assert not path.diverged
    np.testing.assert_allclose(path.points, expected, rtol=1e-10, atol=1e-12)
    assert np.abs(path.points[-1] - path.points[0]).max() > 1e-2  # it did move


# --- SYLLABUS L02 check: f(x) = x², x ← (1 − 2η) x ---------------------------------------


@pytest.mark.parametrize("lr", [0.01, 0.1, 1.0, 100.0, 1000.0])
def test_l02_check_gd_on_x_squared(lr):
    surface = surfaces.get("quadratic_1d")
    x0, steps = 2.0, 50
    path = optim.run(surface, optim.Stepper("gd", lr), start=[x0], steps=steps)
    t = np.arange(len(path.points))
    closed_form = (1 - 2 * lr) ** t * x0
    np.testing.assert_allclose(path.points[:, 0], closed_form, rtol=1e-12)
    np.testing.assert_allclose(path.losses, closed_form**2, rtol=1e-12)
    if lr < 1:  # 0 < η < 1: converges
        assert not path.diverged and len(path.points) == steps + 1
        assert np.all(np.diff(np.abs(path.points[:, 0])) < 0)
        assert abs(path.points[-1, 0]) < x0 * 0.99**steps
    elif lr == 1:  # η = 1: bounces between ±x₀ forever
        assert not path.diverged
        np.testing.assert_array_equal(path.points[:, 0], x0 * (-1.0) ** t)
        np.testing.assert_array_equal(path.losses, x0**2)
    else:  # η > 1: diverges, |x| grows by |1 − 2η| every step until |x| > 10⁶
        assert path.diverged
        growth = abs(1 - 2 * lr)
        expected_step = int(np.ceil(np.log(1e6 / x0) / np.log(growth)))
        assert path.diverged_at == expected_step == len(path.points) - 1
        assert abs(path.points[-1, 0]) > 1e6


def test_gd_on_x_squared_long_run_converges_to_zero():
    for lr in (0.01, 0.1):
        path = optim.run(surfaces.get("quadratic_1d"), optim.Stepper("gd", lr), steps=2000)
        assert abs(path.points[-1, 0]) < 1e-12


# --- stability thresholds ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["gd", "momentum", "nesterov"])
@pytest.mark.parametrize("mu", [0.0, 0.5, 0.9])
def test_stable_lr_separates_convergence_from_divergence(name, mu):
    surface = surfaces.get("quadratic_1d")  # L = f'' = 2
    hyper = {} if name == "gd" else {"momentum": mu}
    threshold = optim.stable_lr(name, L=2.0, momentum=mu)
    below = optim.run(surface, optim.Stepper(name, 0.95 * threshold, **hyper), steps=3000)
    above = optim.run(surface, optim.Stepper(name, 1.05 * threshold, **hyper), steps=3000)
    assert not below.diverged and abs(below.points[-1, 0]) < 1e-6
    assert above.diverged


def test_stable_lr_for_adaptive_rules_is_none_and_errors():
    assert optim.stable_lr("adam", L=2.0) is None
    with pytest.raises(ValueError, match="unknown optimizer 'sdg'"):
        optim.stable_lr("sdg", L=1.0)
    with pytest.raises(ValueError, match="must be positive"):
        optim.stable_lr("gd", L=0.0)


# --- closed forms of single steps ----------------------------------------------------------

gradients = st.lists(st.floats(-1e3, 1e3).filter(lambda v: abs(v) > 1e-3), min_size=1, max_size=5)


@given(g=gradients, lr=st.floats(1e-4, 1.0))
@settings(max_examples=60, deadline=None)
def test_first_adaptive_steps_have_known_lengths(g, lr):
    g = np.array(g)
    x = np.zeros_like(g)
    # Adam and Adagrad: the first step moves every coordinate by lr against the gradient's
    # sign, up to ε: x = −lr·g / (|g| + ε)
    for name, eps in (("adam", 1e-8), ("adagrad", 1e-10)):
        new, record = optim.Stepper(name, lr).step(x, g)
        np.testing.assert_allclose(new, -lr * g / (np.abs(g) + eps), rtol=1e-12)
        np.testing.assert_allclose(record.lr_eff * record.direction, -record.update, rtol=1e-12)
    # RMSprop: v = (1 − α) g², so the step is lr·g / (√(1 − α)|g| + ε), ≈ 10 lr for α = 0.99
    new, _ = optim.Stepper("rmsprop", lr).step(x, g)
    np.testing.assert_allclose(new, -lr * g / (np.sqrt(0.01) * np.abs(g) + 1e-8), rtol=1e-12)


@given(g=st.lists(gradients, min_size=3, max_size=3), mu=st.floats(0.0, 0.99))
@settings(max_examples=40, deadline=None)
def test_momentum_buffer_is_a_geometric_sum(g, mu):
    d = min(len(v) for v in g)
    g1, g2, g3 = (np.array(v[:d]) for v in g)
    opt, x = optim.Stepper("momentum", 0.1, momentum=mu), np.zeros(d)
    for grad in (g1, g2, g3):
        x, record = opt.step(x, grad)
    np.testing.assert_allclose(record.velocity, mu**2 * g1 + mu * g2 + g3, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(x, -0.1 * ((1 + mu + mu**2) * g1 + (1 + mu) * g2 + g3), atol=1e-9)


def test_gd_ignores_state_and_reset_clears_it():
    opt = optim.Stepper("adam", 0.1)
    first, _ = opt.step(np.array([1.0]), np.array([3.0]))
    opt.step(first, np.array([-1.0]))
    opt.reset()
    again, _ = opt.step(np.array([1.0]), np.array([3.0]))
    np.testing.assert_array_equal(first, again)
    assert "adam" in repr(opt) and "beta1=0.9" in repr(opt)


# --- run() ---------------------------------------------------------------------------------


def test_run_records_are_consistent_with_the_points():
    surface = surfaces.get("himmelblau")
    path = optim.run(surface, optim.Stepper("nesterov", 0.01, momentum=0.8), steps=40)
    assert path.points.shape == (41, 2) and path.losses.shape == (41,) and len(path.records) == 40
    np.testing.assert_allclose(path.losses, surface.value(path.points))
    for t, record in enumerate(path.records):
        np.testing.assert_allclose(record.grad, surface.grad(path.points[t]))
        np.testing.assert_allclose(record.update, path.points[t + 1] - path.points[t])
        np.testing.assert_allclose(-record.lr_eff * record.direction, record.update, atol=1e-15)


def test_run_with_noise_and_minibatches_is_reproducible():
    ls = surfaces.get("least_squares")
    a = optim.run(ls, optim.Stepper("gd", 0.3), steps=20, batch_size=5, seed=3)
    b = optim.run(ls, optim.Stepper("gd", 0.3), steps=20, batch_size=5, seed=3)
    full = optim.run(ls, optim.Stepper("gd", 0.3), steps=20)
    np.testing.assert_array_equal(a.points, b.points)
    assert np.abs(a.points - full.points).max() > 1e-3  # mini-batches make it noisy
    noisy = optim.run(surfaces.get("saddle"), optim.Stepper("gd", 0.1), steps=5, noise=0.5)
    quiet = optim.run(surfaces.get("saddle"), optim.Stepper("gd", 0.1), steps=5)
    assert np.abs(noisy.points - quiet.points).max() > 1e-2


def test_run_stops_when_the_loss_is_not_finite():
    # GD on x⁴ with a large step overflows float64 within a few steps
    path = optim.run(surfaces.get("quartic_1d"), optim.Stepper("gd", 10.0), steps=100)
    assert path.diverged and path.diverged_at == len(path.points) - 1 < 10


def test_errors_speak_to_the_student():
    with pytest.raises(ValueError, match="unknown optimizer 'adamw'; choose one of gd, momentum"):
        optim.Stepper("adamw", 0.1)
    with pytest.raises(ValueError, match="gd has no hyperparameter momentum"):
        optim.Stepper("gd", 0.1, momentum=0.9)
    with pytest.raises(ValueError, match="beta2 must be in"):
        optim.Stepper("adam", 0.1, beta2=1.0)
    with pytest.raises(ValueError, match="lr must be a number"):
        optim.Stepper("gd", -1.0)
    with pytest.raises(ValueError, match="start must have 2 coordinate"):
        optim.run(surfaces.get("rosenbrock"), optim.Stepper("gd", 0.1), start=[1.0])
    with pytest.raises(ValueError, match="same shape"):
        optim.Stepper("gd", 0.1).step(np.zeros(2), np.zeros(3))
