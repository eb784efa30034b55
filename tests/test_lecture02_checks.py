"""The worked examples of lecture 02 (optimization), asserted against the code the notebook
runs: the cells of ``notebook_sources/lectures/02_optimization.py`` whose first line is
``# check: L02 ...`` are executed here and compared with independent references — closed
forms typed from the syllabus, ``torch.optim``, ``torch.optim.lr_scheduler`` and
``torch.autograd``. Among them are the update rules the lecture writes as step functions
(``sgd_step``, ``momentum_step``, ``rmsprop_step``, ``adam_step``), which must take exactly
the steps of ``torch.optim``, and its learning-rate schedules.

(``tests/test_optim.py`` checks ``course.optim`` itself; these tests check what the lecture
prints and claims.)
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course import surfaces
from tools import nbbuild

SOURCE = nbbuild.SOURCES / "lectures" / "02_optimization.py"


@pytest.fixture(scope="module")
def l02() -> dict:
    """Execute, in order and in one namespace, the lecture's cells marked ``# check: L02``."""
    cells = nbbuild.parse_source(SOURCE.read_text(), SOURCE.name)
    marked = [
        "\n".join(c["lines"])
        for c in cells
        if not c["options"]["markdown"] and c["lines"] and c["lines"][0].startswith("# check: L02")
    ]
    assert len(marked) >= 13, f"{SOURCE.name}: expected the thirteen '# check: L02' cells"
    namespace: dict = {"np": np, "math": math}
    for code in marked:
        exec(compile(code, str(SOURCE), "exec"), namespace)  # our own notebook code
    return namespace


def torch_path(surface, optimizer_class, kwargs, start, num_steps):
    """Iterates (T + 1, D) of a torch.optim optimizer on a surface, gradients by autograd."""
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = optimizer_class([p], **kwargs)
    points = [p.detach().clone().numpy()]
    for _ in range(num_steps):
        opt.zero_grad()
        surface.value(p).backward()
        opt.step()
        points.append(p.detach().clone().numpy())
    return np.array(points)


# --- SYLLABUS check: GD on f(x) = x², x ← (1 − 2η) x -----------------------------------


def test_the_table_uses_the_syllabus_learning_rates(l02):
    assert l02["LEARNING_RATES"] == (0.01, 0.1, 1, 100, 1000)
    assert l02["NUM_STEPS"] >= 5


@pytest.mark.parametrize("lr", [0.01, 0.1, 1.0, 100.0, 1000.0])
def test_printed_table_is_the_closed_form(l02, lr):
    x0, num_steps = l02["X0"], l02["NUM_STEPS"]
    xs, fs = l02["gd_on_x_squared"](lr)
    t = np.arange(num_steps + 1)
    assert len(xs) == len(fs) == num_steps + 1  # every step is printed, even when diverging
    np.testing.assert_allclose(xs, (1 - 2 * lr) ** t * x0, rtol=1e-12)
    np.testing.assert_allclose(fs, (1 - 2 * lr) ** (2 * t) * x0**2, rtol=1e-12)


@pytest.mark.parametrize("lr", [0.01, 0.1, 1.0, 100.0, 1000.0])
def test_printed_table_matches_torch_sgd(l02, lr):
    x0, num_steps = l02["X0"], l02["NUM_STEPS"]
    expected = torch_path(
        surfaces.get("quadratic_1d"), torch.optim.SGD, {"lr": lr}, [x0], num_steps
    )[:, 0]
    np.testing.assert_allclose(l02["gd_on_x_squared"](lr)[0], expected, rtol=1e-12)


@pytest.mark.parametrize("lr", [0.01, 0.1])
def test_below_one_it_converges(l02, lr):
    xs, fs = l02["gd_on_x_squared"](lr, num_steps=3000)
    normal = fs[fs > 1e-300]  # for lr = 0.1, f later underflows into subnormals and 0
    assert np.all(np.diff(normal) < 0)  # f decreases at every step
    assert np.all(fs[len(normal) :] <= 1e-300)
    assert fs[-1] < 1e-50


def test_at_one_it_bounces_between_plus_and_minus_x0_forever(l02):
    x0 = l02["X0"]
    xs, fs = l02["gd_on_x_squared"](1.0, num_steps=1000)
    np.testing.assert_array_equal(xs, x0 * (-1.0) ** np.arange(1001))
    np.testing.assert_array_equal(fs, np.full(1001, x0**2))


@pytest.mark.parametrize("lr", [100.0, 1000.0])
def test_above_one_it_diverges_geometrically(l02, lr):
    xs, fs = l02["gd_on_x_squared"](lr)
    np.testing.assert_allclose(fs[1:] / fs[:-1], (1 - 2 * lr) ** 2, rtol=1e-12)
    assert np.all(np.sign(xs[1:]) == -np.sign(xs[:-1]))  # 1 − 2η < 0: it jumps sides
    assert fs[-1] > 1e30


@given(
    lr=st.floats(1e-3, 3.0).filter(lambda v: abs(v - 1) > 1e-6),
    x0=st.floats(-5.0, 5.0).filter(lambda v: abs(v) > 1e-3),
)
@settings(max_examples=60, deadline=None)
def test_regimes_for_any_learning_rate(l02, lr, x0):
    xs, fs = l02["gd_on_x_squared"](lr, x0=x0, num_steps=6)
    np.testing.assert_allclose(xs, (1 - 2 * lr) ** np.arange(7) * x0, rtol=1e-10)
    if lr < 1:
        assert np.all(np.diff(fs) <= 0)
    elif lr > 1:
        assert np.all(np.diff(fs) > 0)


# --- critical points: Hessian and classification -----------------------------------------

HIMMELBLAU_MAX = (-0.270845, -0.923039)  # the local maximum, f ≈ 181.617


def test_hessian_matches_torch_autograd(l02):
    s = surfaces.get("himmelblau")
    for p in [*s.minima, *s.saddles, HIMMELBLAU_MAX, (1.0, -2.5)]:
        expected = torch.autograd.functional.hessian(
            lambda v: s.value(v), torch.tensor(p, dtype=torch.float64)
        ).numpy()
        np.testing.assert_allclose(l02["hessian"](s.grad, p), expected, rtol=1e-6, atol=1e-5)


def test_himmelblau_has_four_minima_four_saddles_one_maximum(l02):
    s = surfaces.get("himmelblau")
    kinds = [l02["classify"](l02["hessian"](s.grad, p)) for p in s.minima]
    kinds += [l02["classify"](l02["hessian"](s.grad, p)) for p in s.saddles]
    assert kinds == ["minimum"] * 4 + ["saddle point"] * 4
    assert l02["classify"](l02["hessian"](s.grad, HIMMELBLAU_MAX)) == "maximum"


def test_classify_on_diagonal_hessians(l02):
    classify = l02["classify"]
    assert classify(np.diag([1.0, 2.0])) == "minimum"
    assert classify(np.diag([-1.0, -2.0])) == "maximum"
    assert classify(np.diag([2.0, -2.0])) == "saddle point"  # x² − y²
    assert classify(np.diag([0.0, 1.0])).startswith("degenerate")


# --- momentum and Nesterov: the lecture's forms are PyTorch's -----------------------------


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.99])
def test_heavy_ball_form_is_torch_sgd_with_momentum(l02, beta):
    s = surfaces.get("ill_conditioned")
    ours = l02["heavy_ball"](s.grad, s.start, lr=0.02, beta=beta, num_steps=100)
    theirs = torch_path(s, torch.optim.SGD, {"lr": 0.02, "momentum": beta}, s.start, 100)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["ill_conditioned", "rosenbrock"])
def test_nesterov_lookahead_points_are_torch_nesterov_iterates(l02, name):
    s = surfaces.get(name)
    lr = 0.02 if name == "ill_conditioned" else 1e-3
    ours = l02["nesterov_lookahead"](s.grad, s.start, lr=lr, beta=0.9, num_steps=100)
    theirs = torch_path(
        s, torch.optim.SGD, {"lr": lr, "momentum": 0.9, "nesterov": True}, s.start, 100
    )
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    assert np.abs(ours[-1] - ours[0]).max() > 0.1  # it moved


# --- Adagrad (the syllabus' norm form) ----------------------------------------------------


def test_adagrad_norm_in_one_dimension_is_torch_adagrad(l02):
    s = surfaces.get("quartic_1d")
    ours = l02["adagrad_norm"](s.grad, s.start, lr=0.5, num_steps=50, eps=0.0)
    theirs = torch_path(s, torch.optim.Adagrad, {"lr": 0.5, "eps": 0.0}, s.start, 50)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_adagrad_norm_steps_along_the_gradient_with_the_syllabus_step_size(l02):
    s = surfaces.get("ill_conditioned")
    path = l02["adagrad_norm"](s.grad, s.start, lr=0.3, num_steps=20, eps=1e-10)
    total = 0.0
    for x, x_new in zip(path[:-1], path[1:], strict=True):
        g = s.grad(x)
        total += g @ g
        np.testing.assert_allclose(x_new, x - 0.3 * g / np.sqrt(1e-10 + total), rtol=1e-12)


# --- Adam's bias correction ---------------------------------------------------------------


def test_adam_bias_correction_with_a_constant_gradient(l02):
    c = np.array([1.0, 0.001, -3.0])
    T, beta1, beta2, lr = 50, 0.9, 0.999, 1e-3
    m, v, m_hat, v_hat, steps = l02["adam_moments"](np.tile(c, (T, 1)), lr=lr)
    t = np.arange(1, T + 1)[:, None]
    np.testing.assert_allclose(m, (1 - beta1**t) * c, rtol=1e-12)
    np.testing.assert_allclose(v, (1 - beta2**t) * c**2, rtol=1e-12)
    np.testing.assert_allclose(m_hat, np.tile(c, (T, 1)), rtol=1e-12)
    np.testing.assert_allclose(v_hat, np.tile(c**2, (T, 1)), rtol=1e-12)
    np.testing.assert_allclose(steps, np.tile(-lr * c / (np.abs(c) + 1e-8), (T, 1)), rtol=1e-9)
    # the lecture's claim: without the correction the first step is 0.1/sqrt(0.001) ≈ 3.16 lr
    assert m[0, 0] / np.sqrt(v[0, 0]) == pytest.approx(0.1 / np.sqrt(0.001), rel=1e-12)
    assert m[0, 0] / np.sqrt(v[0, 0]) == pytest.approx(3.1623, abs=1e-4)


def test_adam_moments_match_torch_adam_on_random_gradients(l02):
    gradients = np.random.default_rng(0).normal(size=(30, 3)) * [1.0, 1e-3, 10.0]
    _, _, _, _, steps = l02["adam_moments"](gradients, lr=0.01, beta1=0.8, beta2=0.99)
    p = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([p], lr=0.01, betas=(0.8, 0.99))
    expected = []
    for g in gradients:
        before = p.detach().clone()
        p.grad = torch.tensor(g)
        opt.step()
        expected.append((p.detach() - before).numpy())
    np.testing.assert_allclose(steps, np.array(expected), rtol=1e-10, atol=1e-15)


# --- the step functions written in the lecture are torch.optim's rules --------------------

RULES = [  # (lecture function, its hyperparameters, torch.optim class, its arguments)
    ("sgd_step", {"lr": 0.01}, torch.optim.SGD, {"lr": 0.01}),
    ("momentum_step", {"lr": 0.01, "beta": 0.9}, torch.optim.SGD, {"lr": 0.01, "momentum": 0.9}),
    ("momentum_step", {"lr": 0.003, "beta": 0.5}, torch.optim.SGD, {"lr": 0.003, "momentum": 0.5}),
    ("rmsprop_step", {"lr": 0.01}, torch.optim.RMSprop, {"lr": 0.01}),
    ("rmsprop_step", {"lr": 0.003, "alpha": 0.9, "eps": 1e-6}, torch.optim.RMSprop,
     {"lr": 0.003, "alpha": 0.9, "eps": 1e-6}),
    ("adam_step", {"lr": 0.01}, torch.optim.Adam, {"lr": 0.01}),
    ("adam_step", {"lr": 0.05, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6}, torch.optim.Adam,
     {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6}),
]  # fmt: skip


@pytest.mark.parametrize("name", ["ill_conditioned", "rosenbrock"])
@pytest.mark.parametrize(("rule", "hyper", "optimizer_class", "kwargs"), RULES)
def test_step_functions_follow_torch_optim_on_a_surface(
    l02, name, rule, hyper, optimizer_class, kwargs
):
    s = surfaces.get(name)
    scale = {"ill_conditioned": 1.0, "rosenbrock": 0.1}[name]  # stable rates
    hyper, kwargs = {**hyper, "lr": scale * hyper["lr"]}, {**kwargs, "lr": scale * kwargs["lr"]}
    ours = l02["minimize"](l02[rule], s.grad, s.start, 100, **hyper)
    theirs = torch_path(s, optimizer_class, kwargs, s.start, 100)
    assert np.all(np.isfinite(theirs)) and len(ours) == 101
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)
    assert np.abs(ours[-1] - ours[0]).max() > 1e-3  # it moved


@pytest.mark.parametrize(("rule", "hyper", "optimizer_class", "kwargs"), RULES)
def test_step_functions_follow_torch_optim_on_given_gradients(
    l02, rule, hyper, optimizer_class, kwargs
):
    """Gradients of very different scales in 5 coordinates, fed to both."""
    rng = np.random.default_rng(1)
    gradients = rng.normal(size=(40, 5)) * [1.0, 1e-3, 10.0, 1e-6, 100.0]
    x0 = rng.normal(size=5)
    p = torch.tensor(x0, requires_grad=True)
    opt = optimizer_class([p], **kwargs)
    x, state = x0.copy(), {}
    for g in gradients:
        x, state = l02[rule](x, g, state, **hyper)
        p.grad = torch.tensor(g)
        opt.step()
        np.testing.assert_allclose(x, p.detach().numpy(), rtol=1e-10, atol=1e-13)


def test_step_functions_leave_their_arguments_alone(l02):
    x, g = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    for rule in ("sgd_step", "momentum_step", "rmsprop_step", "adam_step"):
        state: dict = {}
        for _ in range(3):
            x_copy, g_copy = x.copy(), g.copy()
            snapshot = {k: np.copy(v) for k, v in state.items()}
            new_x, new_state = l02[rule](x, g, state, lr=0.1)
            np.testing.assert_array_equal(x, x_copy)
            np.testing.assert_array_equal(g, g_copy)
            assert state.keys() == snapshot.keys()
            for k in snapshot:
                np.testing.assert_array_equal(state[k], snapshot[k])
            state = new_state
            assert new_x.shape == x.shape


def test_momentum_velocity_and_heavy_ball_forms_differ_under_a_schedule(l02):
    """The lecture says the two forms agree for a constant rate only: a rate that changes
    between steps t - 1 and t breaks the substitution."""
    s = surfaces.get("ill_conditioned")
    x, state, path = np.array(s.start, dtype=float), {}, [np.array(s.start, dtype=float)]
    for lr in (0.02, 0.02, 0.01, 0.01):
        x, state = l02["momentum_step"](x, s.grad(x), state, lr=lr, beta=0.9)
        path.append(x)
    heavy = l02["heavy_ball"](s.grad, s.start, lr=0.02, beta=0.9, num_steps=2)
    np.testing.assert_allclose(path[:3], heavy, rtol=1e-12)  # equal while lr is constant
    previous, current = path[1], path[2]
    third = current - 0.01 * s.grad(current) + 0.9 * (current - previous)
    assert np.abs(third - path[3]).max() > 1e-3


def test_minimize_stops_when_the_iterates_diverge(l02):
    path = l02["minimize"](l02["sgd_step"], lambda x: 2 * x, [2.0], 100, lr=3.0)
    assert len(path) < 101 and np.abs(path[-1]).max() > 1e6
    assert np.all(np.abs(path[:-1]) <= 1e6)


# --- learning-rate schedules ----------------------------------------------------------------


def torch_lrs(make_scheduler, num_steps, lr0):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr0)
    scheduler = make_scheduler(opt)
    opt.step()
    rates = []
    for _ in range(num_steps):
        rates.append(opt.param_groups[0]["lr"])
        scheduler.step()
    return np.array(rates)


@pytest.mark.parametrize(("lr0", "T"), [(0.1, 50), (0.7, 300)])
def test_schedules_are_torch_lr_schedulers(l02, lr0, T):
    S = torch.optim.lr_scheduler
    t = range(T)
    np.testing.assert_allclose(
        [l02["step_decay"](k, lr0, step_size=7, gamma=0.5) for k in t],
        torch_lrs(lambda o: S.StepLR(o, step_size=7, gamma=0.5), T, lr0),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        [l02["cosine"](k, lr0, T, lr_min=0.01) for k in t],
        torch_lrs(lambda o: S.CosineAnnealingLR(o, T_max=T, eta_min=0.01), T, lr0),
        rtol=1e-10,
        atol=1e-14,
    )
    np.testing.assert_allclose(
        [l02["warmup"](k, lr0, W=10) for k in t],
        torch_lrs(lambda o: S.LinearLR(o, 1 / 10, 1.0, total_iters=9), T, lr0),
        rtol=1e-12,
    )


def test_inverse_t_satisfies_robbins_monro(l02):
    rates = np.array([l02["inverse_t"](t, 0.1, t0=100) for t in range(100_000)])
    assert rates[0] == 0.1 and rates[100] == pytest.approx(0.05)
    assert np.all(np.diff(rates) < 0)
    # sum eta_t grows like log t (diverges); sum eta_t^2 converges: 100 t0 more steps add
    # at least 0.1 * t0 * log(...) to the first and almost nothing to the second
    assert rates.sum() > 0.1 * 100 * math.log(1000) * 0.9
    assert (rates**2).sum() < 0.1**2 * 100 * 1.01
