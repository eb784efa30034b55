"""Gradient-descent explorer: race optimizers on a curve or a surface, step by step.

Build it with ``course.widgets.gradient_descent_explorer(function="rosenbrock")``. The
student picks a function from :mod:`course.surfaces`, ticks one or several optimizers from
:mod:`course.optim`, sets the learning rate (log scale), β, β₁, β₂, α, ε, the start point,
the number of steps and the gradient noise (or the mini-batch size on the least-squares
surface), then plays or steps through the run. One PNG shows the paths on the curve (with
the tangent at the current point) or on the contour plot (with the downhill direction), the
step taken at the current point, and the loss against the step; beside and under it a red
badge when a run diverged, the learning-rate regimes of a quadratic computed from its
curvature, and each update rule with the current numbers filled in.

This module is the controls (ipywidgets wiring, enabling and disabling, callbacks); the
numbers come from :mod:`course.widgets.gradient_descent_model` (runs are cached) and the
picture from :mod:`course.widgets.gradient_descent_view` (drawn in layers, so a control
change costs one run per changed optimizer, a few artists and one PNG encoding).

Only ipywidgets API shared by 7.7 (Colab) and 8.x is used.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict

import ipywidgets as W
import numpy as np

from course import optim, surfaces
from course.widgets.gradient_descent_model import (
    COLORS,
    MAX_STEPS,
    MINUS,
    TITLES,
    RunCache,
    Settings,
    badge_html,
    optimizer_labels,
    readout_html,
    regimes_html,
)
from course.widgets.gradient_descent_view import Figure

__all__ = ["GradientDescentExplorer", "COLORS", "MINUS", "TITLES"]

START_RANGE = (-6.0, 6.0)  # of the x₀, y₀ sliders, the same for every function (step 0.01)


def _slider_layout(width="262px"):
    return W.Layout(width=width)


STYLE = {"description_width": "58px"}


class GradientDescentExplorer(W.VBox):
    """Race optimizers on a test function and step through the updates.

    Arguments set the initial controls: ``function`` (a name in
    :data:`course.surfaces.NAMES`), ``optimizers`` (names in :data:`course.optim.OPTIMIZERS`),
    ``lr`` (default: the surface's suggestion), ``steps``, ``momentum``, ``beta1``, ``beta2``,
    ``alpha``, ``eps``, ``start``, ``noise``, ``batch_size`` and ``seed``.

    State for tests and notebooks: ``surface``, ``selected`` (the ticked optimizers; it can be
    set), ``runs`` (optimizer -> :class:`course.optim.Trajectory`), ``trajectories``
    (optimizer -> points ``(k + 1, D)``), ``image`` (PNG), ``readout``, ``badge`` and
    ``regime`` (HTML), and every control as an attribute (``function``, ``lr``,
    ``beta``, ``beta1``, ``beta2``, ``alpha``, ``eps``, ``x0``, ``y0``, ``steps``,
    ``batch_size``, ``noise``, ``step``, ``play``, ``step_button``, ``reset_button``,
    ``optimizer_boxes``).
    """

    def __init__(
        self,
        function: str = "quadratic_1d",
        optimizers=("gd",),
        lr: float | None = None,
        steps: int = 50,
        momentum: float = 0.9,
        beta1: float = 0.9,
        beta2: float = 0.999,
        alpha: float = 0.99,
        eps: float = 1e-8,
        start=None,
        noise: float = 0.0,
        batch_size: int | None = None,
        seed: int = 0,
    ):
        surface = surfaces.get(function)
        unknown = sorted(set(optimizers) - set(optim.OPTIMIZERS))
        if unknown:
            raise ValueError(
                f"unknown optimizer(s) {', '.join(unknown)}; "
                f"choose from {', '.join(optim.OPTIMIZERS)}"
            )
        if not 1 <= steps <= MAX_STEPS:
            raise ValueError(f"steps must be between 1 and {MAX_STEPS}; got {steps}")
        self._hold = 0
        self._cache = RunCache()
        self.seed = seed
        self.runs: dict = {}
        self._build_controls(surface, optimizers, lr, steps, momentum, beta1, beta2, alpha, eps)
        self._figures: OrderedDict = OrderedDict()  # surface name -> Figure, a few kept
        # 900 px wide, or the whole output area when that is narrower (no margin, so that
        # it never pokes out on the right)
        self.image = W.Image(
            format="png", layout=W.Layout(width="900px", max_width="100%", margin="0px")
        )
        self.badge = W.HTML()
        self.regime = W.HTML(layout=W.Layout(max_width="100%"))
        self.readout = W.HTML(layout=W.Layout(max_width="100%"))
        super().__init__(children=self._layout())
        with self._holding():
            self._apply_surface(surface, start, lr)
            self.noise.value = noise
            if batch_size is not None and surface.stochastic:
                self.batch_size.value = batch_size
        self._connect()
        self._update()

    # --- controls ---

    def _build_controls(self, surface, optimizers, lr, steps, momentum, beta1, beta2, alpha, eps):
        self.function = W.Dropdown(
            options=[(TITLES.get(name, name), name) for name in surfaces.NAMES],
            value=surface.name,
            description="function",
            style=STYLE,
            layout=_slider_layout("295px"),
        )
        self.optimizer_boxes = {
            name: W.Checkbox(
                value=name in optimizers,
                description=optim.LABELS[name],
                indent=False,
                layout=W.Layout(width="100px"),
            )
            for name in optim.OPTIMIZERS
        }
        self.lr = W.FloatLogSlider(
            value=lr or surface.lr,
            base=10,
            min=-4,
            max=1,
            step=0.01,
            description="η (lr)",
            readout_format=".3g",
            style=STYLE,
            layout=_slider_layout(),
        )

        def unit(value, description, lo=0.0, hi=0.99, step=0.01, fmt=".2f"):
            return W.FloatSlider(
                value=value,
                min=lo,
                max=hi,
                step=step,
                description=description,
                readout_format=fmt,
                style=STYLE,
                layout=_slider_layout(),
            )

        self.beta = unit(momentum, "β mom.")
        self.beta1 = unit(beta1, "β₁ Adam", hi=0.999, step=0.001, fmt=".3f")
        self.beta2 = unit(beta2, "β₂ Adam", lo=0.9, hi=0.9999, step=0.0001, fmt=".4f")
        self.alpha = unit(alpha, "α RMSp.", lo=0.5, hi=0.999, step=0.001, fmt=".3f")
        self.eps = W.FloatLogSlider(
            value=eps,
            base=10,
            min=-10,
            max=-1,
            step=1,
            description="ε",
            readout_format=".0e",
            style=STYLE,
            layout=_slider_layout(),
        )
        self.x0 = unit(0.0, "x₀", *START_RANGE, step=0.01, fmt=".2f")
        self.y0 = unit(0.0, "y₀", *START_RANGE, step=0.01, fmt=".2f")
        self.steps = W.IntSlider(
            value=steps, min=1, max=MAX_STEPS, description="steps", style=STYLE,
            layout=_slider_layout("295px"),
        )  # fmt: skip
        self.batch_size = W.IntSlider(
            value=200, min=1, max=200, description="batch", style=STYLE, layout=_slider_layout()
        )
        self.noise = unit(0.0, "noise σ", lo=0.0, hi=5.0, step=0.05, fmt=".2f")
        self.step = W.IntSlider(
            value=0, min=0, max=steps, description="step t", style=STYLE,
            layout=W.Layout(width="300px"),
        )  # fmt: skip
        self.play = W.Play(value=0, min=0, max=steps, step=1, interval=250)
        W.jslink((self.play, "value"), (self.step, "value"))
        self.step_button = W.Button(description="Step", icon="step-forward",
                                    layout=W.Layout(width="90px"))  # fmt: skip
        self.reset_button = W.Button(description="Reset", icon="undo",
                                     layout=W.Layout(width="90px"))  # fmt: skip

    def _layout(self):
        boxes = list(self.optimizer_boxes.values())
        race = W.VBox(
            [
                W.HTML("<b>optimizers</b> <span style='color:#666'>(tick several to race)</span>"),
                W.HBox(boxes[:3]),
                W.HBox(boxes[3:]),
            ]
        )
        controls = W.HBox(
            [
                W.VBox([self.function, race, self.steps], layout=W.Layout(width="300px")),
                W.VBox([self.lr, self.beta, self.beta1, self.beta2, self.alpha]),
                W.VBox([self.eps, self.x0, self.y0, self.noise, self.batch_size]),
            ]
        )
        player = W.HBox(
            [self.play, self.step, self.step_button, self.reset_button, self.badge],
            layout=W.Layout(flex_flow="row wrap", align_items="center"),
        )
        return [controls, player, self.image, self.regime, self.readout]

    def _connect(self):
        rerun = [self.lr, self.beta, self.beta1, self.beta2, self.alpha, self.eps]
        rerun += [self.x0, self.y0, self.noise, self.batch_size]
        rerun += list(self.optimizer_boxes.values())
        for control in rerun:
            control.observe(self._on_change, names="value")
        self.function.observe(self._on_function, names="value")
        self.steps.observe(self._on_steps, names="value")
        self.step.observe(self._on_step, names="value")
        self.step_button.on_click(self._on_step_button)
        self.reset_button.on_click(self._on_reset)

    @contextlib.contextmanager
    def _holding(self):
        """Change several controls with one redraw at the end (by the caller)."""
        self._hold += 1
        try:
            yield
        finally:
            self._hold -= 1

    def _apply_surface(self, surface, start=None, lr=None):
        start = surface.start if start is None else tuple(np.atleast_1d(start))
        if len(start) != surface.dim:
            raise ValueError(
                f"start must have {surface.dim} coordinate(s) for {surface.name!r}; got {start}"
            )
        self.surface = surface
        # Only values change here, never the start sliders' range: a browser slider whose
        # range changes under its value writes a clamped value back to the kernel.
        self.x0.value = start[0]
        if surface.dim == 2:
            self.y0.value = start[1]
        if surface.stochastic:
            if self.batch_size.max != surface.n_samples:
                self.batch_size.max = surface.n_samples
            self.batch_size.value = surface.n_samples
        self.lr.value = lr or surface.lr

    # --- what is selected ---

    @property
    def selected(self) -> tuple[str, ...]:
        """The ticked optimizers, in the order of :data:`course.optim.OPTIMIZERS`."""
        return tuple(name for name, box in self.optimizer_boxes.items() if box.value)

    @selected.setter
    def selected(self, names) -> None:
        unknown = sorted(set(names) - set(optim.OPTIMIZERS))
        if unknown:
            raise ValueError(f"unknown optimizer(s) {', '.join(unknown)}")
        with self._holding():
            for name, box in self.optimizer_boxes.items():
                box.value = name in names
        self._update()

    @property
    def trajectories(self) -> dict:
        """Optimizer name -> iterates ``(k + 1, D)`` of the current runs."""
        return {name: run.points for name, run in self.runs.items()}

    def settings(self) -> Settings:
        """The controls' values as the model's :class:`Settings`."""
        return Settings(
            surface=self.surface,
            lr=self.lr.value,
            momentum=self.beta.value,
            beta1=self.beta1.value,
            beta2=self.beta2.value,
            alpha=self.alpha.value,
            eps=self.eps.value,
            start=(self.x0.value, self.y0.value)[: self.surface.dim],
            steps=self.steps.value,
            noise=self.noise.value,
            batch_size=self.batch_size.value,
            seed=self.seed,
        )

    # --- computing and drawing ---

    def _figure(self) -> Figure:
        """The figure of the current surface: its contour is drawn once and kept."""
        name = self.surface.name
        if name not in self._figures:
            self._figures[name] = Figure(self.surface)
            if len(self._figures) > 3:
                self._figures.popitem(last=False)
        self._figures.move_to_end(name)
        return self._figures[name]

    def _sync_enabled(self):
        chosen = set(self.selected)
        self.beta.disabled = not chosen & {"momentum", "nesterov"}
        self.beta1.disabled = self.beta2.disabled = "adam" not in chosen
        self.alpha.disabled = "rmsprop" not in chosen
        self.eps.disabled = not chosen & {"adagrad", "rmsprop", "adam"}
        self.y0.disabled = self.surface.dim == 1
        self.batch_size.disabled = not self.surface.stochastic
        self.noise.disabled = self.surface.stochastic

    def _update(self):
        """Recompute the runs (cached) and redraw."""
        if self._hold:
            return
        self._sync_enabled()
        settings = self.settings()
        self.runs = {name: self._cache.run(name, settings) for name in self.selected}
        self._render()

    def _render(self):
        if self._hold:
            return
        t, settings = self.step.value, self.settings()
        labels = optimizer_labels(settings.stochastic)
        self.image.value = self._figure().frame(self.runs, labels, t, self.steps.value)
        self.badge.value = badge_html(self.runs, labels)
        self.regime.value = regimes_html(
            self.surface, self.selected, settings.lr, settings.momentum
        )
        self.readout.value = readout_html(self.runs, t, labels, settings)

    # --- events ---

    def _on_change(self, change):
        self._update()

    def _on_function(self, change):
        with self._holding():
            self._apply_surface(surfaces.get(change["new"]))
        self._update()

    def _on_steps(self, change):
        with self._holding():
            at_end = self.step.value == self.step.max
            self.play.max = self.step.max = change["new"]
            if at_end:
                self.step.value = change["new"]
        self._update()

    def _on_step(self, change):
        self._render()

    def _on_step_button(self, _button=None):
        if self.step.value < self.step.max:
            self.step.value += 1

    def _on_reset(self, _button=None):
        with self._holding():
            self.play.value = 0
            self.step.value = 0
        self._render()

    # --- benchmark ---

    def benchmark_changes(self) -> list:
        """Control changes as a student makes them: ``[(label, zero-argument callable)]``.

        Each call changes the state, so every call must produce a new image.
        """
        first = self.function.value
        other = "himmelblau" if first != "himmelblau" else "rosenbrock"
        lr0 = self.lr.value

        def lr():
            self.lr.value = lr0 * 1.5 if self.lr.value == lr0 else lr0

        def function():
            self.function.value = other if self.function.value == first else first

        def optimizers():
            now = self.selected
            self.selected = ("gd", "momentum", "adam") if now == ("gd",) else ("gd",)

        def start():
            lo, hi = self.surface.xlim
            self.x0.value = (
                lo + 0.3 * (hi - lo)
                if self.x0.value > lo + 0.5 * (hi - lo)
                else lo + 0.7 * (hi - lo)
            )

        def step():
            if self.step.value < self.step.max:
                self.step.value += 1
            else:
                self.step.value = 0

        return [("lr", lr), ("function", function), ("optimizers", optimizers),
                ("start", start), ("step", step)]  # fmt: skip
