"""The gradient-descent explorer's picture: the frame drawn in cached layers (static pixels,
legend and y-axis pieces, artists made once and moved) must be the frame a figure that has
never drawn anything makes of the same runs, after any sequence of control changes."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from course.widgets import gradient_descent_explorer
from course.widgets.gradient_descent_model import optimizer_labels
from course.widgets.gradient_descent_view import Figure
from course.widgets.raster import array_to_png


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def fresh_frame(explorer) -> np.ndarray:
    """The current state drawn by a new Figure: every layer drawn from scratch."""
    labels = optimizer_labels(explorer.settings().stochastic)
    figure = Figure(explorer.surface)
    return pixels(figure.frame(explorer.runs, labels, explorer.step.value, explorer.steps.value))


def assert_same_as_fresh(explorer, what: str) -> None:
    shown = pixels(explorer.image.value)
    fresh = fresh_frame(explorer)
    assert shown.shape == fresh.shape == (600, 1350, 3)
    differ = int((shown != fresh).any(axis=-1).sum())
    assert differ == 0, f"after {what}: {differ} pixels differ from a fresh drawing"


CHECK = ("check", None)  # compare with a fresh drawing here (each costs ~0.3 s)


@pytest.mark.parametrize(
    ("function", "changes"),
    [
        (
            "quadratic_1d",
            # a run that diverges (its red cross), then one that does not: no cross left over
            [("lr", 1.5), ("step", 30), ("lr", 0.3), CHECK, ("selected", ("gd", "momentum")),
             ("step", 2), ("steps", 20), ("selected", ("momentum",)), CHECK],
        ),
        (
            "rosenbrock",
            [("selected", ("gd", "momentum", "adam")), ("step", 7), ("lr", 0.003),
             ("selected", ("adam",)), ("x0", -1.0), ("step", 0), ("steps", 80),
             ("step", 80), CHECK],
        ),
    ],
)  # fmt: skip
def test_cached_layers_draw_what_a_fresh_figure_draws(function, changes):
    explorer = gradient_descent_explorer(function=function)
    done = []
    for control, value in changes:
        if control == "check":
            assert_same_as_fresh(explorer, ", ".join(done))
        elif control == "selected":
            explorer.selected = value
        else:
            getattr(explorer, control).value = value
        done.append(f"{control} = {value}")


def test_frame_is_opaque_rgba_of_the_canvas():
    explorer = gradient_descent_explorer(function="himmelblau", optimizers=("gd", "rmsprop"))
    figure = explorer._figure()
    canvas = np.asarray(figure.canvas.buffer_rgba())
    image = Image.open(io.BytesIO(explorer.image.value))
    assert image.mode == "RGBA" and image.size == (canvas.shape[1], canvas.shape[0])
    np.testing.assert_array_equal(np.asarray(image), canvas)
    assert (canvas[..., 3] == 255).all()


def test_array_to_png_takes_a_strided_bitmap():
    rgba = np.random.default_rng(1).integers(0, 256, size=(6, 9, 4), dtype=np.uint8)
    rgb_view = rgba[:, ::2, :3]  # neither rows nor pixels contiguous
    decoded = Image.open(io.BytesIO(array_to_png(rgb_view)))
    assert decoded.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(decoded), rgb_view)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(array_to_png(rgba)))), rgba)
