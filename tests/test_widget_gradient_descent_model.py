"""The gradient-descent explorer's model, without widgets: runs against torch.optim, the loss
scales and the texts against closed forms (no ipywidgets, no drawing)."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest
import torch

from course import surfaces
from course.widgets import gradient_descent_model as model


def torch_path(surface, start, steps, make_optimizer) -> np.ndarray:
    """Iterates ``(steps + 1, D)`` of a torch.optim optimizer on ``surface.value``."""
    x = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = make_optimizer([x])
    points = [x.detach().numpy().copy()]
    for _ in range(steps):
        opt.zero_grad()
        surface.value(x).backward()
        opt.step()
        points.append(x.detach().numpy().copy())
    return np.array(points)


@pytest.mark.parametrize(
    ("name", "lr", "make"),
    [
        ("gd", 1e-3, lambda p: torch.optim.SGD(p, lr=1e-3)),
        ("momentum", 1e-3, lambda p: torch.optim.SGD(p, lr=1e-3, momentum=0.8)),
        ("nesterov", 1e-3, lambda p: torch.optim.SGD(p, lr=1e-3, momentum=0.8, nesterov=True)),
        ("adam", 0.02, lambda p: torch.optim.Adam(p, lr=0.02, betas=(0.85, 0.99), eps=1e-8)),
        ("rmsprop", 0.02, lambda p: torch.optim.RMSprop(p, lr=0.02, alpha=0.9, eps=1e-8)),
    ],
)
def test_runs_follow_torch_optim(name, lr, make):
    surface = surfaces.get("rosenbrock")
    settings = model.Settings(
        surface, lr=lr, momentum=0.8, beta1=0.85, beta2=0.99, alpha=0.9, start=(-1.0, 1.5),
        steps=12,
    )  # fmt: skip
    run = model.RunCache().run(name, settings)
    expected = torch_path(surface, [-1.0, 1.5], 12, make)
    np.testing.assert_allclose(run.points, expected, rtol=1e-9, atol=1e-12)


def test_cache_reuses_runs_and_forgets_the_oldest():
    surface = surfaces.get("quadratic_1d")
    cache = model.RunCache(size=2)
    a = model.Settings(surface, lr=0.1, start=(2.0,), steps=5)
    first = cache.run("gd", a)
    assert cache.run("gd", a) is first
    # the browser may send 2.0000000000000004 for 2: the same run
    assert cache.run("gd", model.Settings(surface, lr=0.1, start=(2.0 + 4e-16,), steps=5)) is first
    other = cache.run("gd", model.Settings(surface, lr=0.2, start=(2.0,), steps=5))
    assert other is not first and other.points[1, 0] == pytest.approx(2.0 - 0.2 * 2 * 2.0)
    cache.run("momentum", a)
    assert len(cache) == 2 and cache.run("gd", a) is not first  # evicted, computed again


def test_settings_stochastic_and_labels():
    bowl, data = surfaces.get("quadratic"), surfaces.get("least_squares")
    assert not model.Settings(bowl, lr=0.1).stochastic
    assert model.Settings(bowl, lr=0.1, noise=0.5).stochastic
    assert not model.Settings(data, lr=0.1, batch_size=data.n_samples).stochastic
    assert model.Settings(data, lr=0.1, batch_size=10).stochastic
    assert model.optimizer_labels(True)["gd"] == "SGD"
    assert model.optimizer_labels(False)["gd"] != "SGD"


def test_hyperparameters_rejects_unknown_optimizer():
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'"):
        model.hyperparameters("lbfgs", model.Settings(surfaces.get("quadratic"), lr=0.1))


def test_gd_update_rule_shows_the_closed_form_step():
    """On f(x) = x²: g₀ = 2x₀ and x₁ = x₀ − η·g₀, written with 4 significant digits."""
    surface = surfaces.get("quadratic_1d")
    settings = model.Settings(surface, lr=0.3, start=(1.5,), steps=3)
    run = model.RunCache().run("gd", settings)
    text = model.update_rule("gd", run, 0, {}, 0.3, 1)
    x0 = 1.5
    g0 = 2 * x0
    assert f"f′(x<sub>0</sub>) = {g0:.4g}" in text
    assert text.endswith(f"= {x0 - 0.3 * g0:.4g}".replace("-", model.MINUS))


def test_readout_rows_and_end_states():
    surface = surfaces.get("quadratic_1d")
    settings = model.Settings(surface, lr=1.2, start=(1.0,), steps=4)
    cache = model.RunCache()
    runs = {"gd": cache.run("gd", settings), "momentum": cache.run("momentum", settings)}
    labels = model.optimizer_labels(False)
    html = model.readout_html(runs, 0, labels, settings)
    assert html.count("<tr>") == 2 and "v<sub>0</sub>" in html  # momentum's velocity
    end = model.readout_html(runs, 4, labels, settings)
    assert "finished" in end or "diverged" in end
    assert model.readout_html({}, 0, labels, settings) == "<i>Tick at least one optimizer.</i>"


@pytest.mark.parametrize(
    ("lr_times_l", "verdict"),
    [
        (0.5, "converges monotonically"),
        (1.0, "lands on the minimum in one step"),
        (1.5, "converges, oscillating"),
        (2.0, "bounces between two points forever"),
        (2.5, "diverges"),
    ],
)
def test_regimes_follow_lr_times_curvature(lr_times_l, verdict):
    """GD on a quadratic with curvature L: x ← (1 − ηL)x, so |1 − ηL| decides."""
    surface = surfaces.get("quadratic_1d")
    _, L = surface.curvature
    text = model.regimes_html(surface, ("gd",), lr_times_l / L, 0.9)
    assert verdict in text
    assert f"2/L = {2 / L:.4g}" in text
    run = model.RunCache().run("gd", model.Settings(surface, lr=lr_times_l / L, start=(1.0,)))
    shrinking = abs(run.points[-1, 0]) < abs(run.points[0, 0])
    assert shrinking == (lr_times_l < 2)


def test_momentum_regime_uses_its_stability_limit():
    """Heavy ball on a quadratic is stable for η < 2(1 + β)/L (closed form)."""
    surface = surfaces.get("quadratic_1d")
    _, L = surface.curvature
    limit = 2 * (1 + 0.5) / L
    assert "converges" in model.regimes_html(surface, ("momentum",), 0.99 * limit, 0.5)
    assert "diverges" in model.regimes_html(surface, ("momentum",), 1.01 * limit, 0.5)
    assert model.regimes_html(surfaces.get("rosenbrock"), ("gd",), 0.1, 0.9) == ""


def test_badge_names_diverged_runs_only():
    surface = surfaces.get("quadratic_1d")
    cache = model.RunCache()
    diverged = cache.run("gd", model.Settings(surface, lr=5.0, start=(1.0,), steps=100))
    fine = cache.run("gd", model.Settings(surface, lr=0.1, start=(1.0,), steps=100))
    labels = model.optimizer_labels(False)
    assert diverged.diverged and not fine.diverged
    badge = model.badge_html({"gd": diverged}, labels)
    assert f"diverged at step {diverged.diverged_at}" in badge
    assert model.badge_html({"gd": fine}, labels) == ""


def test_loss_scale_values_and_limits():
    surface = surfaces.get("rosenbrock")
    run = model.RunCache().run("gd", model.Settings(surface, lr=1e-3, start=(-1.0, 1.5)))
    values = model.loss_values(surface, run)
    np.testing.assert_allclose(values, np.maximum(run.losses - surface.min_value, 1e-16))
    low, high = model.loss_limits(surface, {"gd": run})
    assert low <= values.min() and high >= values.max()
    for bound in (low, high):  # whole decades
        assert np.log10(bound) == pytest.approx(round(np.log10(bound)))
    # a surface without a known minimum: f itself on a symlog axis, from a negative decade
    bumpy = surfaces.get("several_minima")
    if bumpy.min_value is None:
        run = model.RunCache().run("gd", model.Settings(bumpy, lr=0.05, start=bumpy.start))
        low, high = model.loss_limits(bumpy, {"gd": run})
        assert low <= run.losses.min() and high >= run.losses.max()


def test_contour_values_keep_the_order_of_f():
    surface = surfaces.get("rosenbrock")
    _, _, Z = surface.grid(40)
    V = model.contour_values(surface, Z)
    order = np.argsort(Z, axis=None, kind="stable")
    assert np.all(np.diff(V.ravel()[order]) >= 0)


def test_model_imports_no_widgets_or_drawing():
    code = "import sys, course.widgets.gradient_descent_model as m; " + (
        "print(sorted(k for k in sys.modules if k.split('.')[0] in "
        "('ipywidgets', 'matplotlib', 'PIL')))"
    )
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert re.fullmatch(r"\[\]\s*", out.stdout), out.stdout
