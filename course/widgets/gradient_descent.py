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

The drawing is layered (see :class:`_Figure`) and the runs are cached, so a control change
costs one run per changed optimizer, a few artists and one PNG encoding.

Only ipywidgets API shared by 7.7 (Colab) and 8.x is used.
"""

from __future__ import annotations

import contextlib
import html
import struct
import zlib
from collections import OrderedDict

import ipywidgets as W
import numpy as np

from course import optim, surfaces
from course.widgets._render import new_figure

__all__ = ["GradientDescentExplorer", "COLORS"]

# Okabe–Ito colours (readable for colour-blind students), one per optimizer.
COLORS = {
    "gd": "#0072B2",
    "momentum": "#D55E00",
    "nesterov": "#CC79A7",
    "adagrad": "#009E73",
    "rmsprop": "#E69F00",
    "adam": "#000000",
}

TITLES = {
    "quadratic_1d": "x²  (1-D)",
    "quartic_1d": "x⁴  (1-D, flat minimum)",
    "double_well_1d": "double well  (1-D)",
    "abs_1d": "|x|  (1-D, not smooth)",
    "quadratic": "round bowl  (2-D)",
    "ill_conditioned": "ill-conditioned bowl κ = 20",
    "rosenbrock": "Rosenbrock valley",
    "saddle": "saddle x² − y²",
    "himmelblau": "Himmelblau (4 minima)",
    "plateau": "plateau with a basin",
    "several_minima": "several local minima",
    "least_squares": "least squares (mini-batches)",
}

MINUS = "\u2212"
RED = "#d62728"
FIG_SIZE = (9.0, 4.0)  # inches, shown 900 px wide: 100 px per inch
DPI = 100
SCALE = 1.5  # pixels per displayed pixel: sharp when shown at 900 px, still good on 2x screens
MAIN_RECT = (0.06, 0.115, 0.36, 0.80)  # left, bottom, width, height (figure fractions)
LOSS_RECT = (0.525, 0.115, 0.46, 0.76)
REGION_LEFT = 0.43  # figure fraction between the two panels: right of it is the loss panel
MAX_STEPS = 300
START_RANGE = (-6.0, 6.0)  # of the x₀, y₀ sliders, the same for every function (step 0.01)


def _valley_colormap():
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list("valley", ["#fcfcfa", "#dbe7ef", "#9dbdd1"])


def _num(v: float) -> str:
    """A number as the readout shows it: 4 significant digits, a real minus sign."""
    return f"{v:.4g}".replace("-", MINUS)


def _vec(v) -> str:
    """A vector as the readout shows it: ``(a, b)``, or a bare number in 1-D."""
    v = np.atleast_1d(v)
    if v.size == 1:
        return _num(float(v[0]))
    return "(" + ", ".join(_num(float(x)) for x in v) + ")"


def _sub(name: str, t) -> str:
    return f"{name}<sub>{str(t).replace('-', MINUS)}</sub>"


# --- the figure ---------------------------------------------------------------------------


def _png(rgba: np.ndarray) -> bytes:
    """PNG bytes of an ``(H, W, 4)`` uint8 canvas.

    Written out here (signature, header, one zlib block at level 1, no row filters) because
    it is several times faster than a general encoder, which matters at ~1.4 megapixels a
    frame. RGBA is kept: dropping alpha costs a strided copy longer than compressing it.
    """
    h, w, _ = rgba.shape
    rows = np.empty((h, 1 + 4 * w), dtype=np.uint8)  # a filter byte (0: none) per row
    rows[:, 0] = 0
    rows[:, 1:] = rgba.reshape(h, 4 * w)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 1))
        + chunk(b"IEND", b"")
    )


_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _power_of_ten(value, _position=None) -> str:
    """Log-axis tick labels as plain text (10⁻³), cheaper to draw than mathtext."""
    if value <= 0:
        return "0"
    exponent = np.log10(value)
    if abs(exponent - round(exponent)) > 1e-6:
        return ""
    exponent = int(round(exponent))
    if -2 <= exponent <= 2:
        return f"{value:g}"
    return "10" + str(exponent).translate(_SUPERSCRIPTS)


def _contour_values(surface, Z):
    """What the contour plot shows: ``log10(f − min f + δ)`` when the minimum is known, so
    that the levels (evenly spaced) crowd neither the valley nor the walls; else ``f``."""
    if surface.min_value is None:
        return Z
    shifted = Z - surface.min_value
    delta = max(np.percentile(shifted, 2.0), 1e-6 * shifted.max(), 1e-12)
    return np.log10(shifted + delta)


class _Figure:
    """The PNG of one surface, drawn in layers so that a control change redraws little.

    1. static: the curve or contour, axes and minima (once per surface and number of steps);
    2. legend (per selection of optimizers) and the loss panel's y axis (per decade range),
       two pieces of pixels cached separately, since the y ticks follow the data;
    3. runs: whole paths (faint) and loss curves (when a run changes);
    4. step: the path so far, the current point and its arrows (every frame).
    Each layer starts from a saved copy of the pixels below it (Agg's ``copy_from_bbox`` and
    ``restore_region``), and its artists are removed once drawn.
    """

    def __init__(self, surface):
        self.surface = surface
        self.fig = new_figure(*FIG_SIZE, dpi=DPI * SCALE)
        self.canvas = self.fig.canvas
        self.ax = self.fig.add_axes(MAIN_RECT)
        self.ax_loss = self.fig.add_axes(LOSS_RECT)
        self._decorate()
        self.ax_loss.yaxis.set_visible(False)  # its ticks follow the data: drawn with the runs
        self.keys: dict = {}
        self.pieces: dict = {}

    def _decorate(self) -> None:
        from matplotlib.ticker import FuncFormatter, NullFormatter

        surface, ax = self.surface, self.ax
        if surface.dim == 1:
            x, fx = surface.grid(400)
            ax.plot(x, fx, color="0.3", lw=1.6, zorder=1)
            span = fx.max() - fx.min()
            ax.set_xlim(*surface.xlim)
            ax.set_ylim(fx.min() - 0.08 * span, fx.max() + 0.12 * span)
            ax.set_xlabel("x")
            ax.set_ylabel("f(x)", labelpad=2)
            ax.grid(alpha=0.25)
            for (m,) in surface.minima:
                ax.plot([m], [surface.f(m)], "*", ms=13, color="white", mec="0.15", zorder=3)
        else:
            X, Y, Z = surface.grid(160)
            V = _contour_values(surface, Z)
            levels = np.linspace(V.min(), V.max(), 16)
            ax.contourf(X, Y, V, levels=levels, cmap=_valley_colormap())
            ax.contour(X, Y, V, levels=levels, colors="0.35", linewidths=0.5, alpha=0.35)
            ax.set_xlim(*surface.xlim)
            ax.set_ylim(*surface.ylim)
            ax.set_aspect("equal", adjustable="box")
            data = surface.name == "least_squares"
            ax.set_xlabel("w" if data else "x")
            ax.set_ylabel("b" if data else "y", labelpad=2)
            for m in surface.minima:
                ax.plot(*m, "*", ms=14, color="white", mec="0.15", zorder=3)
            for s in surface.saddles:
                ax.plot(*s, "X", ms=8, color="0.35", mec="white", zorder=3)
        ax.set_title(surface.title, fontsize=11)
        ax_loss = self.ax_loss
        if surface.min_value is None:
            ax_loss.set_yscale("symlog", linthresh=1e-2)
            ax_loss.set_ylabel("f(x$_t$)   (symlog scale)")
        else:
            ax_loss.set_yscale("log")
            ax_loss.set_ylabel("f(x$_t$) − min f   (log scale)")
            ax_loss.yaxis.set_major_formatter(FuncFormatter(_power_of_ten))
            ax_loss.yaxis.set_minor_formatter(NullFormatter())
        ax_loss.set_xlabel("step t")
        ax_loss.grid(alpha=0.3)
        for a in (ax, ax_loss):
            a.tick_params(labelsize=9)

    def _loss_values(self, run):
        if self.surface.min_value is None:
            return run.losses
        return np.maximum(run.losses - self.surface.min_value, 1e-16)

    def _draw_static(self, steps: int) -> None:
        """Layer 1: everything that depends on the surface and the number of steps only."""
        self.ax_loss.set_xlim(0, max(steps, 1))
        self.canvas.draw()
        self.static = self.canvas.copy_from_bbox(self.fig.bbox)
        self.keys = {"static": steps}
        self.pieces = {"legend": {}, "axis": {}}

    def _region(self, part: str):
        """Pixels of the legend strip above the loss panel, or of the loss panel with its
        y axis below it: the two never overlap, so they are cached separately."""
        from matplotlib.transforms import Bbox

        w, h = self.fig.bbox.width, self.fig.bbox.height
        split = (LOSS_RECT[1] + LOSS_RECT[3]) * h + 7 * self.fig.dpi / 72
        left = REGION_LEFT * w
        if part == "legend":
            return Bbox.from_extents(left, split, w, h)
        return Bbox.from_extents(left, 0, w, split)

    def _piece(self, part: str, key, draw):
        """The cached pixels of ``part`` for ``key``, drawn on the static layer when new."""
        cache = self.pieces[part]
        if key not in cache:
            self.canvas.restore_region(self.static)
            draw()
            cache[key] = self.canvas.copy_from_bbox(self._region(part))
            if len(cache) > 4:
                del cache[next(iter(cache))]
        return cache[key]

    def _draw_legend(self, entries: tuple) -> None:
        from matplotlib.lines import Line2D

        if not entries:
            return
        handles = [Line2D([], [], color=COLORS[name], lw=2) for name, _ in entries]
        x0, y0, width, height = LOSS_RECT
        legend = self.fig.legend(
            handles,
            [label for _, label in entries],
            loc="lower center",
            bbox_to_anchor=(x0 + width / 2, y0 + height + 0.02),
            ncol=len(entries),
            fontsize=9.5,
            frameon=False,
            handlelength=1.5,
            columnspacing=1.2,
        )
        self.fig.draw_artist(legend)
        legend.remove()

    def _draw_y_axis(self) -> None:
        axis = self.ax_loss.yaxis
        axis.set_visible(True)  # its ticks follow the data, so it is not in the static layer
        self.ax_loss.draw_artist(axis)
        axis.set_visible(False)

    def _loss_limits(self, runs: dict) -> tuple[float, float]:
        """y limits of the loss panel, rounded out to whole decades so that they (and the
        cached y axis) stay the same while a control moves a little."""
        parts = [self._loss_values(run) for run in runs.values()]
        values = np.concatenate(parts) if parts else np.array([1.0])
        values = values[np.isfinite(values)]
        if values.size == 0:
            values = np.array([1.0])

        def decade_above(v):
            return 10.0 ** np.ceil(np.log10(max(abs(v), 1e-2)))

        if self.surface.min_value is None:  # symlog axis: f may be negative
            low = -decade_above(values.min()) if values.min() < 0 else 0.0
            high = decade_above(values.max()) if values.max() > 0 else 1.0
            return low, high
        low = 10.0 ** np.floor(np.log10(values.min()))
        return low, max(10.0 ** np.ceil(np.log10(values.max())), 10 * low)

    def _draw_runs(self, runs: dict, entries: tuple) -> None:
        """Layers 2-4: legend and y axis (cached pieces), then whole paths and loss curves."""
        ax, ax_loss, dim = self.ax, self.ax_loss, self.surface.dim
        legend = self._piece("legend", entries, lambda: self._draw_legend(entries))
        limits = self._loss_limits(runs)
        ax_loss.set_ylim(*limits)
        axis = self._piece("axis", limits, self._draw_y_axis)
        for pixels in (self.static, legend, axis):
            self.canvas.restore_region(pixels)
        artists = []
        for name, run in runs.items():
            ys = run.losses if dim == 1 else run.points[:, 1]
            artists += ax.plot(run.points[:, 0], ys, "-", color=COLORS[name], lw=1.1, alpha=0.35)
            values = self._loss_values(run)
            artists += ax_loss.plot(values, color=COLORS[name], lw=1.6)
            if run.diverged:
                artists += ax_loss.plot([len(run) - 1], [values[-1]], "x", color=RED, ms=10, mew=2)
        for artist in artists:
            artist.axes.draw_artist(artist)
            artist.remove()
        self.with_runs = self.canvas.copy_from_bbox(self.fig.bbox)

    def frame(self, runs: dict, labels: dict, t: int, steps: int) -> bytes:
        """PNG bytes of the runs at step ``t``, redrawing only the layers that changed."""
        entries = tuple((name, labels[name]) for name in runs)
        key = (entries, tuple(id(run) for run in runs.values()))
        if self.keys.get("static") != steps:
            self._draw_static(steps)
        if self.keys.get("runs") != key:
            self._draw_runs(runs, entries)
            self.keys["runs"] = key
        self.canvas.restore_region(self.with_runs)
        ax, ax_loss = self.ax, self.ax_loss
        artists = []
        span = self.surface.xlim[1] - self.surface.xlim[0]
        for name, run in runs.items():
            color, k = COLORS[name], min(t, len(run) - 1)
            xs = run.points[: k + 1, 0]
            ys = run.losses[: k + 1] if self.surface.dim == 1 else run.points[: k + 1, 1]
            artists += ax.plot(xs, ys, "-o", color=color, lw=1.8, ms=3.5, zorder=5)
            artists += ax.plot(xs[-1:], ys[-1:], "o", ms=9, color=color, mec="white", mew=1.5)
            if k < len(run) - 1:  # arrows last, so that the marker does not hide them
                artists += self._arrows(run, k, (xs[-1], ys[-1]), color, 0.12 * span)
            value = self._loss_values(run)[k]
            artists += ax_loss.plot([k], [value], "o", ms=7, color=color, mec="white")
        artists.append(ax_loss.axvline(t, color="0.45", lw=0.9, ls="--"))
        for artist in artists:
            artist.axes.draw_artist(artist)
            artist.remove()
        return _png(np.asarray(self.canvas.buffer_rgba()))

    def _arrows(self, run, k, at, color, length):
        """At the current point: the step taken (an arrow to scale) and the slope it used
        (in 1-D the tangent line, in 2-D the downhill direction −∇f at a fixed length)."""
        record = run.record(k)
        g = record.grad
        common = dict(angles="xy", scale_units="xy", scale=1, color=color, zorder=6)
        if self.surface.dim == 1:
            h = 1.2 * length
            (slope,) = self.ax.plot(
                [at[0] - h, at[0] + h], [at[1] - g[0] * h, at[1] + g[0] * h],
                "--", color=color, lw=1.2, alpha=0.7, zorder=6,
            )  # fmt: skip
            step = (record.update[0], 0.0)
        else:
            norm = float(np.hypot(*g))
            down = tuple(-g / norm * length) if norm > 0 else (0.0, 0.0)
            slope = self.ax.quiver(
                *at, *down, width=0.005, headwidth=4, headlength=5, alpha=0.45, **common
            )
            step = tuple(record.update)
        taken = self.ax.quiver(*at, *step, width=0.008, headwidth=3.5, headlength=4, **common)
        return [slope, taken]


# --- readouts -----------------------------------------------------------------------------


def _rule(name: str, run, k: int, hyper: dict, lr: float, dim: int) -> str:
    """The update rule of step ``k`` with the numbers filled in (HTML)."""
    r = run.record(k)
    x, x_new = run.points[k], run.points[k + 1]
    prev = run.record(k - 1) if k > 0 else None
    g = _vec(r.grad)
    xk, xk1, gk = _sub("x", k), _sub("x", k + 1), _sub("g", k)
    head = f"{gk} = ∇f({xk}) = {g}" if dim > 1 else f"{gk} = f′({xk}) = {g}"
    end = f"= {_vec(x)} − "
    if name == "gd":
        body = f"{xk1} = {xk} − η·{gk} {end}{_num(lr)}·{g} = {_vec(x_new)}"
    elif name in ("momentum", "nesterov"):
        beta = hyper["momentum"]
        v_old = _vec(prev.velocity if prev else np.zeros(dim))
        vk = _sub("v", k)
        body = (
            f"{vk} = β·{_sub('v', k - 1)} + {gk} = {_num(beta)}·{v_old} + {g} = {_vec(r.velocity)}"
        )
        if name == "momentum":
            body += f"; {xk1} = {xk} − η·{vk} {end}{_num(lr)}·{_vec(r.velocity)}"
        else:
            body += f"; {xk1} = {xk} − η·({gk} + β·{vk}) {end}{_num(lr)}·{_vec(r.direction)}"
        body += f" = {_vec(x_new)}"
    else:
        sq = _sub("s", k)
        s_old = _vec(prev.second if prev else np.zeros(dim))
        if name == "adagrad":
            acc = f"{sq} = {_sub('s', k - 1)} + {gk}² = {s_old} + {g}² = {_vec(r.second)}"
            eff = f"η/(√{sq} + ε)"
        elif name == "rmsprop":
            a = _num(hyper["alpha"])
            acc = (
                f"{sq} = α·{_sub('s', k - 1)} + (1 − α)·{gk}² = {a}·{s_old} + "
                f"{_num(1 - hyper['alpha'])}·{g}² = {_vec(r.second)}"
            )
            eff = f"η/(√{sq} + ε)"
        else:  # adam
            b1 = hyper["beta1"]
            m_old = _vec(prev.velocity if prev else np.zeros(dim))
            mk = _sub("m", k)
            acc = (
                f"{mk} = β₁·{_sub('m', k - 1)} + (1 − β₁)·{gk} = {_num(b1)}·{m_old} + "
                f"{_num(1 - b1)}·{g} = {_vec(r.velocity)}; "
                f"{sq} = β₂·{_sub('s', k - 1)} + (1 − β₂)·{gk}² = {_vec(r.second)}"
            )
            eff = f"η/(1 − β₁<sup>{k + 1}</sup>) / (√({sq}/(1 − β₂<sup>{k + 1}</sup>)) + ε)"
        direction = _sub("m", k) if name == "adam" else gk
        body = (
            f"{acc}; {xk1} = {xk} − η<sub>eff</sub> ⊙ {direction}, η<sub>eff</sub> = {eff} = "
            f"<b>{_vec(r.lr_eff)}</b>; {xk1} {end}{_vec(r.lr_eff)} ⊙ {_vec(r.direction)} "
            f"= {_vec(x_new)}"
        )
    return f"{head}<br>{body}"


def _regimes(surface, selected, lr: float, beta: float) -> str:
    """Learning-rate regimes on a quadratic, from its curvature (HTML), else ''."""
    if surface.curvature is None:
        return ""
    mu, L = surface.curvature
    what = "f″" if surface.dim == 1 else "the largest Hessian eigenvalue"
    lines = [f"Curvature L = {_num(L)} ({what})."]
    if "gd" in selected or not selected:
        limit = optim.stable_lr("gd", L)
        h = lr * L
        if abs(h - 2) < 1e-9:
            verdict, colour = "bounces between two points forever", "#b8860b"
        elif h > 2:
            verdict, colour = "diverges", "#d62728"
        elif abs(h - 1) < 1e-9 and surface.dim == 1:
            verdict, colour = "lands on the minimum in one step", "#2ca02c"
        elif h > 1:
            verdict, colour = "converges, oscillating around the minimum", "#2ca02c"
        else:
            verdict, colour = "converges monotonically", "#2ca02c"
        rel = ">" if h > 2 + 1e-9 else ("=" if abs(h - 2) < 1e-9 else "<")
        lines.append(
            f"GD: monotone for η &lt; 1/L = {_num(1 / L)}, oscillating for η &lt; 2/L = "
            f"{_num(limit)}, diverging above. η = {_num(lr)} {html.escape(rel)} 2/L: "
            f"<b style='color:{colour}'>{verdict}</b>."
        )
        if surface.dim == 2 and mu < L:
            lines.append(f"Fastest GD on this bowl: η = 2/(μ + L) = {_num(2 / (mu + L))}.")
    for name in ("momentum", "nesterov"):
        if name in selected:
            limit = optim.stable_lr(name, L, momentum=beta)
            ok = lr < limit
            colour, verdict = ("#2ca02c", "converges") if ok else ("#d62728", "diverges")
            formula = "2(1 + β)/L" if name == "momentum" else "2(1 + β)/((1 + 2β)L)"
            lines.append(
                f"{optim.LABELS[name]} (β = {_num(beta)}): stable for η &lt; {formula} = "
                f"{_num(limit)}: <b style='color:{colour}'>{verdict}</b>."
            )
    if surface.stochastic:
        lines.append("(Thresholds for the full-batch gradient.)")
    return "<br>".join(lines)


def _badge(runs: dict, labels: dict) -> str:
    pills = [
        f"<span style='background:#d62728;color:white;border-radius:10px;padding:2px 10px;"
        f"font-weight:bold;margin-right:6px'>{html.escape(labels[name])} diverged at step "
        f"{run.diverged_at}</span>"
        for name, run in runs.items()
        if run.diverged
    ]
    return "".join(pills)


# --- the widget ---------------------------------------------------------------------------


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
        self._cache: OrderedDict = OrderedDict()
        self.seed = seed
        self.runs: dict = {}
        self._build_controls(surface, optimizers, lr, steps, momentum, beta1, beta2, alpha, eps)
        self._figures: OrderedDict = OrderedDict()  # surface name -> _Figure, a few kept
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

    def _stochastic(self) -> bool:
        if self.surface.stochastic:
            return self.batch_size.value < self.surface.n_samples
        return self.noise.value > 0

    def _labels(self) -> dict:
        labels = dict(optim.LABELS)
        if self._stochastic():
            labels["gd"] = "SGD"
        return labels

    def _hyper(self, name: str) -> dict:
        """The sliders' hyperparameters of one optimizer (the others keep torch's defaults:
        RMSprop without momentum, SGD without dampening)."""
        beta, eps = self.beta.value, self.eps.value
        return {
            "gd": {},
            "momentum": {"momentum": beta},
            "nesterov": {"momentum": beta},
            "adagrad": {"eps": eps},
            "rmsprop": {"alpha": self.alpha.value, "eps": eps},
            "adam": {"beta1": self.beta1.value, "beta2": self.beta2.value, "eps": eps},
        }[name]

    # --- computing and drawing ---

    def _run(self, name: str):
        surface = self.surface
        # the browser's slider may send 2.5999999999999996 for 2.6 (min + k·step in floats)
        start = tuple(round(v, 9) for v in (self.x0.value, self.y0.value)[: surface.dim])
        hyper = self._hyper(name)
        batch = self.batch_size.value if surface.stochastic else None
        noise = 0.0 if surface.stochastic else self.noise.value
        key = (surface.name, name, self.lr.value, tuple(sorted(hyper.items())), start,
               self.steps.value, batch, noise, self.seed)  # fmt: skip
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        run = optim.run(
            surface,
            optim.Stepper(name, self.lr.value, **hyper),
            start=start,
            steps=self.steps.value,
            batch_size=batch,
            noise=noise,
            seed=self.seed,
        )
        self._cache[key] = run
        if len(self._cache) > 64:
            self._cache.popitem(last=False)
        return run

    def _figure(self) -> _Figure:
        """The figure of the current surface: its contour is drawn once and kept."""
        name = self.surface.name
        if name not in self._figures:
            self._figures[name] = _Figure(self.surface)
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
        self.runs = {name: self._run(name) for name in self.selected}
        self._render()

    def _render(self):
        if self._hold:
            return
        t = self.step.value
        labels = self._labels()
        self.image.value = self._figure().frame(self.runs, labels, t, self.steps.value)
        self.badge.value = _badge(self.runs, labels)
        self.regime.value = _regimes(self.surface, self.selected, self.lr.value, self.beta.value)
        self.readout.value = self._readout(t, labels)

    def _readout(self, t: int, labels: dict) -> str:
        if not self.runs:
            return "<i>Tick at least one optimizer.</i>"
        rows = []
        for name, run in self.runs.items():
            k = min(t, len(run) - 1)
            label = f"<b style='color:{COLORS[name]}'>{html.escape(labels[name])}</b>"
            status = f"f({_sub('x', k)}) = {_num(run.losses[k])}"
            if k < len(run) - 1:
                text = _rule(name, run, k, self._hyper(name), self.lr.value, self.surface.dim)
            elif run.diverged:
                text = f"diverged: {_sub('x', k)} = {_vec(run.points[k])}"
            else:
                text = f"finished: {_sub('x', k)} = {_vec(run.points[k])}"
            cell = "<td style='vertical-align:top;padding-right:10px;white-space:nowrap'>"
            rows.append(f"<tr>{cell}{label}</td>{cell}{status}</td><td>{text}</td></tr>")
        return (
            "<table style='font-size:13px;line-height:1.45;border-collapse:collapse'>"
            + "".join(rows)
            + "</table>"
        )

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
