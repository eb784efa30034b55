"""The gradient-descent explorer without a browser: set controls as a student would and
check the runs against closed forms, the readouts against the runs, and that the image
changes when it should."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image

from course import surfaces
from course.widgets import gradient_descent_explorer
from course.widgets.gradient_descent import MINUS


def num(v: float) -> str:
    """How the readout prints a number (4 significant digits, a real minus sign)."""
    return f"{v:.4g}".replace("-", MINUS)


@pytest.fixture
def explorer():
    return gradient_descent_explorer()  # x², plain GD, lr 0.1, 50 steps


def test_default_is_gd_on_x_squared_and_draws_a_png(explorer):
    assert explorer.function.value == "quadratic_1d"
    assert explorer.selected == ("gd",)
    assert explorer.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(explorer.image.value))
    assert image.size == (1350, 600)  # shown 900 px wide at 1.5 times the pixel density
    pixels = np.asarray(image.convert("RGB"))
    assert pixels.std() > 10  # not a blank canvas


@pytest.mark.parametrize("lr", [0.01, 0.1, 0.3, 0.5, 1.0, 1.2])
def test_gd_trajectory_is_the_closed_form(explorer, lr):
    explorer.lr.value = lr
    x0 = explorer.x0.value
    points = explorer.trajectories["gd"][:, 0]
    t = np.arange(len(points))
    np.testing.assert_allclose(points, (1 - 2 * lr) ** t * x0, rtol=1e-12)


def test_lr_above_one_on_x_squared_diverges(explorer):
    explorer.lr.value = 1.2
    assert "diverged at step" in explorer.badge.value and "GD" in explorer.badge.value
    growth = 1.4  # |1 − 2η|
    expected = int(np.ceil(np.log(1e6 / explorer.x0.value) / np.log(growth)))
    assert explorer.runs["gd"].diverged_at == expected
    assert f"diverged at step {expected}" in explorer.badge.value
    assert "diverges" in explorer.regime.value
    explorer.lr.value = 0.1
    assert explorer.badge.value == ""
    assert "converges monotonically" in explorer.regime.value


def test_regimes_follow_the_curvature(explorer):
    regimes = {0.3: "converges monotonically", 0.5: "one step", 0.8: "oscillating", 1.0: "bounces"}
    for lr, words in regimes.items():
        explorer.lr.value = lr
        assert words in explorer.regime.value, (lr, explorer.regime.value)
    assert "1/L = 0.5" in explorer.regime.value and "2/L = 1" in explorer.regime.value
    explorer.selected = ("gd", "momentum")
    explorer.beta.value = 0.5
    assert "2(1 + β)/L = 1.5" in explorer.regime.value  # heavy ball: 2(1 + 0.5)/2
    explorer.function.value = "rosenbrock"  # not a quadratic: no regimes
    assert explorer.regime.value == ""


def test_controls_that_do_not_apply_are_disabled(explorer):
    assert explorer.beta.disabled and explorer.beta1.disabled and explorer.beta2.disabled
    assert explorer.alpha.disabled and explorer.eps.disabled
    explorer.selected = ("momentum",)
    assert not explorer.beta.disabled and explorer.beta1.disabled
    explorer.selected = ("adam",)
    assert explorer.beta.disabled and not explorer.beta1.disabled and not explorer.beta2.disabled
    assert not explorer.eps.disabled and explorer.alpha.disabled
    explorer.selected = ("rmsprop",)
    assert not explorer.alpha.disabled and explorer.beta2.disabled


def test_switching_function_updates_start_lr_and_y0(explorer):
    assert explorer.y0.disabled
    explorer.function.value = "himmelblau"
    s = surfaces.get("himmelblau")
    assert not explorer.y0.disabled
    assert (explorer.x0.min, explorer.x0.max) == (explorer.y0.min, explorer.y0.max) == (-6, 6)
    assert (explorer.x0.value, explorer.y0.value) == s.start
    assert explorer.lr.value == pytest.approx(s.lr)
    assert explorer.trajectories["gd"].shape == (explorer.steps.value + 1, 2)
    explorer.function.value = "double_well_1d"
    assert explorer.y0.disabled and explorer.trajectories["gd"].shape[1] == 1


def test_racing_two_optimizers_draws_two_paths(explorer):
    one = explorer.image.value
    explorer.selected = ("gd", "momentum")
    assert set(explorer.trajectories) == {"gd", "momentum"}
    assert explorer.image.value != one
    assert "Momentum" in explorer.readout.value and "GD" in explorer.readout.value
    # the momentum path is the heavy-ball recurrence with torch's buffer, computed here
    lr, beta, x = explorer.lr.value, explorer.beta.value, explorer.x0.value
    v, expected, velocities = 0.0, [x], []
    for _ in range(explorer.steps.value):
        v = beta * v + 2 * x
        x = x - lr * v
        expected.append(x)
        velocities.append(v)
    np.testing.assert_allclose(explorer.trajectories["momentum"][:, 0], expected, rtol=1e-12)
    explorer.step.value = 2  # the readout fills in v₂ = β·v₁ + g₂ and x₃ = x₂ − η·v₂
    v1, v2, x2, x3 = velocities[1], velocities[2], expected[2], expected[3]
    text = explorer.readout.value
    assert f"= {num(beta)}·{num(v1)} + {num(2 * x2)} = {num(v2)}" in text, text
    assert f"= {num(x2)} − {num(lr)}·{num(v2)} = {num(x3)}" in text, text
    # the pixels: the second path adds orange (Momentum's colour) to the picture
    pixels = np.asarray(Image.open(io.BytesIO(explorer.image.value)).convert("RGB")).astype(int)
    orange = (abs(pixels[..., 0] - 0xD5) < 20) & (abs(pixels[..., 1] - 0x5E) < 20)
    before = np.asarray(Image.open(io.BytesIO(one)).convert("RGB")).astype(int)
    orange_before = (abs(before[..., 0] - 0xD5) < 20) & (abs(before[..., 1] - 0x5E) < 20)
    assert orange.sum() > orange_before.sum() + 500


def test_update_readout_shows_the_trajectory_numbers(explorer):
    explorer.step.value = 4
    lr, x0 = explorer.lr.value, explorer.x0.value
    x4, x5 = x0 * (1 - 2 * lr) ** 4, x0 * (1 - 2 * lr) ** 5  # 0.8192, 0.65536
    text = explorer.readout.value
    rule = f"= {num(x4)} − {num(lr)}·{num(2 * x4)} = {num(x5)}"
    assert rule in text, text
    assert "x<sub>5</sub> = x<sub>4</sub> − η·g<sub>4</sub>" in text
    assert f"f(x<sub>4</sub>) = {num(x4**2)}" in text


def test_adaptive_readout_shows_the_effective_step():
    explorer = gradient_descent_explorer(function="ill_conditioned", optimizers=("adam",), lr=0.1)
    explorer.step.value = 0
    run = explorer.runs["adam"]
    record = run.record(0)
    # Adam's first step: m = (1 − β₁) g and lr_eff = lr / ((1 − β₁)|g|) (up to ε), so every
    # coordinate moves by lr against the sign of its gradient
    g = surfaces.get("ill_conditioned").grad(run.points[0])
    np.testing.assert_allclose(record.lr_eff, 0.1 / (0.1 * np.abs(g)), rtol=1e-6)
    np.testing.assert_allclose(run.points[1] - run.points[0], -0.1 * np.sign(g), rtol=1e-6)
    effective = "(" + ", ".join(num(v) for v in record.lr_eff) + ")"
    assert f"<b>{effective}</b>" in explorer.readout.value
    after = "(" + ", ".join(num(v) for v in run.points[1]) + ")"
    assert explorer.readout.value.endswith(f"= {after}</td></tr></table>")


def test_each_optimizer_uses_exactly_its_sliders():
    explorer = gradient_descent_explorer(function="ill_conditioned", lr=0.05)
    explorer.selected = tuple(explorer.optimizer_boxes)
    explorer.beta.value, explorer.alpha.value, explorer.eps.value = 0.8, 0.9, 1e-6
    explorer.beta1.value, explorer.beta2.value = 0.5, 0.99
    s, x0 = surfaces.get("ill_conditioned"), np.array(surfaces.get("ill_conditioned").start)
    g, lr = s.grad(x0), 0.05
    first = {  # the first step of each rule, written out from its definition
        "gd": x0 - lr * g,
        "momentum": x0 - lr * g,  # v₀ = g₀
        "nesterov": x0 - lr * (1 + 0.8) * g,  # g₀ + β v₀
        "adagrad": x0 - lr * g / (np.abs(g) + 1e-6),
        "rmsprop": x0 - lr * g / (np.sqrt(0.1) * np.abs(g) + 1e-6),  # no momentum
        "adam": x0 - lr * g / (np.abs(g) + 1e-6),
    }
    for name, expected in first.items():
        np.testing.assert_allclose(explorer.trajectories[name][1], expected, rtol=1e-12)
    # the second step tells β apart: v₁ = β v₀ + g₁
    g1 = s.grad(first["momentum"])
    second = first["momentum"] - lr * (0.8 * g + g1)
    np.testing.assert_allclose(explorer.trajectories["momentum"][2], second, rtol=1e-12)
    # and RMSprop's second step shows that β does not leak into it (no momentum buffer)
    x1 = first["rmsprop"]
    g1 = s.grad(x1)
    v1 = 0.9 * (0.1 * g**2) + 0.1 * g1**2
    second = x1 - lr * g1 / (np.sqrt(v1) + 1e-6)
    np.testing.assert_allclose(explorer.trajectories["rmsprop"][2], second, rtol=1e-12)


def test_step_reset_and_steps(explorer):
    first = explorer.image.value
    explorer.step_button.click()
    assert explorer.step.value == 1 and explorer.image.value != first
    explorer.step_button.click()
    assert explorer.step.value == 2
    assert "x<sub>3</sub> = x<sub>2</sub>" in explorer.readout.value
    explorer.reset_button.click()
    assert explorer.step.value == 0 and explorer.play.value == 0
    assert explorer.image.value == first
    explorer.steps.value = 20
    assert explorer.step.max == explorer.play.max == 20
    assert explorer.trajectories["gd"].shape == (21, 1)
    explorer.step.value = 20
    assert "finished" in explorer.readout.value
    for _ in range(3):
        explorer.step_button.click()  # stays at the last step
    assert explorer.step.value == 20


def test_start_point_moves_the_start(explorer):
    explorer.x0.value = -1.5
    assert explorer.trajectories["gd"][0, 0] == -1.5
    explorer.function.value = "rosenbrock"
    explorer.y0.value = 2.0
    np.testing.assert_array_equal(explorer.trajectories["gd"][0], [explorer.x0.value, 2.0])


def test_minibatch_size_sets_the_noise():
    explorer = gradient_descent_explorer(function="least_squares")
    s = surfaces.get("least_squares")
    assert not explorer.batch_size.disabled and explorer.noise.disabled
    assert explorer.batch_size.value == s.n_samples
    full = explorer.trajectories["gd"].copy()
    assert "SGD" not in explorer.readout.value
    explorer.batch_size.value = 5
    assert "SGD" in explorer.readout.value  # a stochastic gradient: GD becomes SGD
    assert np.abs(explorer.trajectories["gd"] - full).max() > 1e-2
    explorer.batch_size.value = s.n_samples
    np.testing.assert_array_equal(explorer.trajectories["gd"], full)


def test_gradient_noise_on_deterministic_surfaces(explorer):
    explorer.function.value = "saddle"
    assert explorer.batch_size.disabled and not explorer.noise.disabled
    quiet = explorer.trajectories["gd"].copy()
    explorer.noise.value = 0.5
    assert np.abs(explorer.trajectories["gd"] - quiet).max() > 1e-2


@pytest.mark.parametrize("name", surfaces.NAMES)
def test_every_surface_renders_with_every_optimizer(name):
    explorer = gradient_descent_explorer(function=name, optimizers=("gd", "momentum", "adam"))
    explorer.selected = tuple(explorer.optimizer_boxes)
    explorer.step.value = 7
    assert len(explorer.trajectories) == 6
    assert explorer.image.value[:4] == b"\x89PNG"
    assert re.search(r"x<sub>8</sub>|diverged|finished", explorer.readout.value)


def test_benchmark_changes_each_make_a_new_image():
    explorer = gradient_descent_explorer(function="rosenbrock")
    changes = explorer.benchmark_changes()
    assert {"lr", "function", "optimizers", "start", "step"} <= {label for label, _ in changes}
    for _ in range(2):
        for label, change in changes:
            before = explorer.image.value
            change()
            assert explorer.image.value != before, label


def test_bad_arguments_speak_to_the_student():
    with pytest.raises(ValueError, match="unknown optimizer.*adamw"):
        gradient_descent_explorer(optimizers=("adamw",))
    with pytest.raises(ValueError, match="unknown surface"):
        gradient_descent_explorer(function="banana")
    with pytest.raises(ValueError, match="start must have 2 coordinate"):
        gradient_descent_explorer(function="rosenbrock", start=(1.0,))


@pytest.mark.parametrize("name", surfaces.NAMES)
def test_start_points_lie_on_the_slider_grid(name):
    # A browser slider snaps its value to min + k·step and writes the snapped value back, and
    # it writes back a clamped value if its range changes under it: so the start sliders keep
    # one range for every function, and every start lies inside it, on its grid.
    explorer_range, step = (-6.0, 6.0), 0.01
    s = surfaces.get(name)
    bounds = [s.xlim] + ([s.ylim] if s.dim == 2 else [])
    for (lo, hi), start in zip(bounds, s.start, strict=True):
        assert explorer_range[0] <= lo < start < hi <= explorer_range[1]
        k = (start - explorer_range[0]) / step
        assert abs(k - round(k)) < 1e-6, f"{name}: {start} is off the sliders' grid"


def test_start_sent_back_by_the_browser_rounds_to_the_same_run(explorer):
    # the browser's slider computes min + k·step in floats: 2.6 comes back as 2.5999999999999996
    explorer.function.value = "several_minima"
    before = explorer.trajectories["gd"]
    explorer.x0.value = 2.5999999999999996
    assert explorer.trajectories["gd"] is before  # the same cached run
