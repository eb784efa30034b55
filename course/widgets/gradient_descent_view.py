"""The gradient-descent explorer's picture: numbers in, one PNG out.

:class:`Figure` draws, for one surface, the curve (1-D) or contour plot (2-D) with the paths
of the runs, the step taken at the current point and the loss against the step, with
matplotlib's Agg canvas, and encodes the canvas with :func:`course.widgets.raster.array_to_png`
(the one PNG encoder of the explorers). The numbers come from
:mod:`course.widgets.gradient_descent_model`.
"""

from __future__ import annotations

import numpy as np

from course.widgets.gradient_descent_model import COLORS, contour_values, loss_limits, loss_values
from course.widgets.raster import array_to_png, new_figure

__all__ = ["Figure", "FIG_SIZE", "DPI", "SCALE"]

RED = "#d62728"
FIG_SIZE = (9.0, 4.0)  # inches, shown 900 px wide: 100 px per inch
DPI = 100
SCALE = 1.5  # pixels per displayed pixel: sharp when shown at 900 px, still good on 2x screens
MAIN_RECT = (0.06, 0.115, 0.36, 0.80)  # left, bottom, width, height (figure fractions)
LOSS_RECT = (0.525, 0.115, 0.46, 0.76)
REGION_LEFT = 0.43  # figure fraction between the two panels: right of it is the loss panel


def _valley_colormap():
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list("valley", ["#fcfcfa", "#dbe7ef", "#9dbdd1"])


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


class Figure:
    """The PNG of one surface, drawn in layers so that a control change redraws little.

    1. static: the curve or contour, axes and minima (once per surface and number of steps);
    2. legend (per selection of optimizers) and the loss panel's y axis (per decade range),
       two pieces of pixels cached separately, since the y ticks follow the data;
    3. runs: whole paths (faint) and loss curves (when a run changes);
    4. step: the path so far, the current point and its arrows (every frame).
    Each layer starts from a saved copy of the pixels below it (Agg's ``copy_from_bbox`` and
    ``restore_region``). The artists of layers 3 and 4 are made once per optimizer, left out
    of the full draw (``animated``), moved with ``set_data`` and drawn with ``draw_artist``.
    The PNG holds RGB only (the figure is opaque): a quarter fewer bytes to compress and send.
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
        self._runs_artists: dict = {}  # optimizer -> artists of layer 3, made once
        self._step_artists: dict = {}  # optimizer -> artists of layer 4, made once
        self._now = self._animated(self.ax_loss.axvline(0, color="0.45", lw=0.9, ls="--"))

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
            V = contour_values(surface, Z)
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

    def _draw_runs(self, runs: dict, entries: tuple) -> None:
        """Layers 2-4: legend and y axis (cached pieces), then whole paths and loss curves."""
        ax, ax_loss, dim = self.ax, self.ax_loss, self.surface.dim
        legend = self._piece("legend", entries, lambda: self._draw_legend(entries))
        limits = loss_limits(self.surface, runs)
        ax_loss.set_ylim(*limits)
        axis = self._piece("axis", limits, self._draw_y_axis)
        for pixels in (self.static, legend, axis):
            self.canvas.restore_region(pixels)
        for name, run in runs.items():
            if name not in self._runs_artists:
                color = COLORS[name]
                self._runs_artists[name] = self._animated(
                    *ax.plot([], [], "-", color=color, lw=1.1, alpha=0.35),
                    *ax_loss.plot([], [], color=color, lw=1.6),
                    *ax_loss.plot([], [], "x", color=RED, ms=10, mew=2),
                )
            path, curve, cross = self._runs_artists[name]
            path.set_data(run.points[:, 0], run.losses if dim == 1 else run.points[:, 1])
            values = loss_values(self.surface, run)
            curve.set_data(np.arange(len(values)), values)
            ax.draw_artist(path)
            ax_loss.draw_artist(curve)
            if run.diverged:
                cross.set_data([len(run) - 1], [values[-1]])
                ax_loss.draw_artist(cross)
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
        ax, ax_loss, dim = self.ax, self.ax_loss, self.surface.dim
        span = self.surface.xlim[1] - self.surface.xlim[0]
        for name, run in runs.items():
            path, here, slope, taken, marker = self._step_artists_of(name)
            k = min(t, len(run) - 1)
            xs = run.points[: k + 1, 0]
            ys = run.losses[: k + 1] if dim == 1 else run.points[: k + 1, 1]
            path.set_data(xs, ys)
            here.set_data(xs[-1:], ys[-1:])
            ax.draw_artist(path)
            ax.draw_artist(here)
            if k < len(run) - 1:  # arrows last, so that the marker does not hide them
                self._aim_arrows(run, k, (xs[-1], ys[-1]), slope, taken, 0.12 * span)
                ax.draw_artist(slope)
                ax.draw_artist(taken)
            marker.set_data([k], [loss_values(self.surface, run)[k]])
            ax_loss.draw_artist(marker)
        self._now.set_xdata([t, t])
        ax_loss.draw_artist(self._now)
        # the figure is opaque: its alpha channel (all 255) is left out of the PNG
        return array_to_png(np.asarray(self.canvas.buffer_rgba()))

    @staticmethod
    def _animated(*artists):
        """Mark ``artists`` as drawn by hand (``draw_artist``): the full draw of the static
        layer leaves them out. They stay on their axes and are moved with ``set_data``,
        which costs far less than making new ones every frame."""
        for artist in artists:
            artist.set_animated(True)
        return artists[0] if len(artists) == 1 else artists

    def _step_artists_of(self, name: str) -> tuple:
        """Layer 4's artists of optimizer ``name``: the path so far, the current point, the
        slope it used (in 1-D the tangent line, in 2-D the downhill direction −∇f), the step
        taken (an arrow to scale) and the current point on the loss curve."""
        if name not in self._step_artists:
            ax, color = self.ax, COLORS[name]
            common = dict(angles="xy", scale_units="xy", scale=1, color=color, zorder=6)
            (path,) = ax.plot([], [], "-o", color=color, lw=1.8, ms=3.5, zorder=5)
            (here,) = ax.plot([], [], "o", ms=9, color=color, mec="white", mew=1.5)
            if self.surface.dim == 1:
                (slope,) = ax.plot([], [], "--", color=color, lw=1.2, alpha=0.7, zorder=6)
            else:
                slope = ax.quiver(
                    0, 0, 0, 0, width=0.005, headwidth=4, headlength=5, alpha=0.45, **common
                )
            taken = ax.quiver(0, 0, 0, 0, width=0.008, headwidth=3.5, headlength=4, **common)
            (marker,) = self.ax_loss.plot([], [], "o", ms=7, color=color, mec="white")
            self._step_artists[name] = self._animated(path, here, slope, taken, marker)
        return self._step_artists[name]

    def _aim_arrows(self, run, k, at, slope, taken, length) -> None:
        """Put the slope and the step taken of step ``k`` at the current point ``at``
        (the downhill arrow at a fixed ``length``)."""
        record = run.record(k)
        g = record.grad
        if self.surface.dim == 1:
            h = 1.2 * length
            slope.set_data([at[0] - h, at[0] + h], [at[1] - g[0] * h, at[1] + g[0] * h])
            step = (record.update[0], 0.0)
        else:
            norm = float(np.hypot(*g))
            down = tuple(-g / norm * length) if norm > 0 else (0.0, 0.0)
            _move_arrow(slope, at, down)
            step = tuple(record.update)
        _move_arrow(taken, at, step)


def _move_arrow(quiver, at, uv) -> None:
    """Move the one arrow of ``quiver`` to start at ``at`` with components ``uv`` (what a new
    ``ax.quiver(*at, *uv)`` with the same style would draw)."""
    quiver.X, quiver.Y = np.array([at[0]], float), np.array([at[1]], float)
    quiver.XY = np.column_stack((quiver.X, quiver.Y))
    quiver.set_offsets(quiver.XY)
    quiver.set_UVC(uv[0], uv[1])
