"""The convolution explorer's controls: the widgets, their layout, and keeping them valid.

:class:`ConvolutionControls` builds every control of the explorer and lays them out
(picture first, the window position under it, then three columns of controls, then the
readouts), and keeps the sliders' ranges valid for the current input and kernel (a kernel
that fits, a stride the window can take, the window where the student left it), showing
only the controls that apply. :class:`course.widgets.convolution.ConvolutionExplorer` adds
the callbacks. The grid, kernel and mixing matrix are read from their text boxes here (an
invalid one keeps the last valid value and shows why). Only ipywidgets API shared by 7.7
(Colab) and 8.x is used.
"""

from __future__ import annotations

import ipywidgets as W
import numpy as np

from course import conv
from course.widgets.convolution_model import (
    DEFAULT_GRID,
    KERNEL_PRESETS,
    MAX_GRID,
    MAX_STRIDE,
    MIXING_PRESETS,
    PHOTO_ASPECT,
    PHOTO_SIZES,
    parse_matrix,
)
from course.widgets.convolution_readouts import error_html

__all__ = ["ConvolutionControls", "STYLE"]

STYLE = {"description_width": "initial"}


def _hbox(*children, **layout) -> W.HBox:
    return W.HBox(list(children), layout=W.Layout(**layout))


class ConvolutionControls:
    """The explorer's widgets as attributes (a mix-in of the explorer, which is a VBox)."""

    def _make_input_controls(self, source, grid, color, photo_size) -> None:
        self.source = W.ToggleButtons(
            options=[("integer grid", "grid"), ("photo", "photo")], value=source
        )
        self.source.style.button_width = "100px"
        self.grid_text = W.Textarea(
            value=grid if grid is not None else DEFAULT_GRID,
            continuous_update=False,
            rows=7,
            layout=W.Layout(width="204px"),
        )
        self.random_grid = W.Button(description="random grid", layout=W.Layout(width="110px"))
        self.grid_error = W.HTML("")
        self.color = W.ToggleButtons(options=[("gray", "gray"), ("RGB", "rgb")], value=color)
        self.color.style.button_width = "60px"
        self.photo_size = W.Dropdown(
            options=list(PHOTO_SIZES),
            value=photo_size,
            description="height (pixels)",
            style=STYLE,
            layout=W.Layout(width="180px"),
        )

    def _make_kernel_controls(self, kernel: str) -> None:
        wide = W.Layout(width="282px")
        self.mode = W.ToggleButtons(
            options=[("spatial kernel", "kernel"), ("1x1 mixing", "mix")],
            value="kernel",
            tooltips=[
                "slide a 3x3 or 5x5 kernel over the input",
                "1x1 channel mixing: weigh the R, G, B values of each pixel (RGB photo)",
            ],
        )
        self.mode.style.button_width = "137px"
        self.kernel_preset = W.Dropdown(
            options=list(KERNEL_PRESETS) + ["custom"], value=kernel, layout=W.Layout(width="166px")
        )
        self.random_kernel = W.Button(
            description="new random",
            tooltip="draw a new random kernel of integers from −2 to 2",
            layout=W.Layout(width="108px"),
        )
        self.kernel_size = W.ToggleButtons(options=[("3x3", 3), ("5x5", 5)], value=3)
        self.kernel_size.style.button_width = "50px"
        self.kernel_text = W.Textarea(continuous_update=False, rows=5, layout=wide)
        self.kernel_error = W.HTML("")
        self.mixing_preset = W.Dropdown(
            options=list(MIXING_PRESETS) + ["custom"], value="RGB → gray (luma)", layout=wide
        )
        self.mixing_text = W.Textarea(continuous_update=False, rows=3, layout=wide)
        self.mixing_error = W.HTML("")
        self.operation = W.ToggleButtons(
            options=[("cross-correlation", "correlation"), ("convolution", "convolution")],
            value="correlation",
            tooltips=[
                "the kernel as it is (what deep learning calls convolution)",
                "the kernel flipped left-right and up-down",
            ],  # fmt: skip
        )
        self.operation.style.button_width = "137px"

    def _make_geometry_controls(self) -> None:
        def slider(description, value, low, high, **extra):
            return W.IntSlider(
                value=value,
                min=low,
                max=high,
                description=description,
                style={"description_width": "70px"},  # the same for all: the tracks line up
                continuous_update=False,
                layout=W.Layout(width="296px"),
                **extra,
            )

        self.stride = slider("stride S", 1, 1, MAX_STRIDE)
        self.padding_mode = W.ToggleButtons(
            options=[("valid", "valid"), ("same", "same"), ("full", "full"), ("set P", "number")],
            value="valid",
            tooltips=[
                "no padding: P = 0",
                "output as large as the input (at stride 1)",
                "every window that overlaps the input: P = d(F − 1)",
                "P from the slider below",
            ],
        )
        self.padding_mode.style.button_width = "70px"
        self.padding = slider("padding P", 0, 0, 2, disabled=True)
        self.dilation = slider("dilation d", 1, 1, 3)
        self.pool_mode = W.ToggleButtons(
            options=[("no pooling", "none"), ("max", "max"), ("average", "avg")], value="none"
        )
        self.pool_mode.style.button_width = "94px"
        self.pool_window = slider("window", 2, 1, 5)
        self.pool_stride = slider("stride", 2, 1, 5)

    def _layout(self) -> list:
        """Picture first, with the window position under it; then the controls in three
        columns (narrow enough for three in an 850-pixel output area: JupyterLab on a laptop
        with the file browser open); then the readouts."""

        def heading(text):
            return W.HTML(f"<b>{text}</b>")

        def hint(text):
            return W.HTML(f"<div style='color:#666;font-size:11px;line-height:1.35'>{text}</div>")

        def column(width, *children):
            return W.VBox(list(children), layout=W.Layout(width=width, margin="0 10px 0 0"))

        self._grid_box = W.VBox(
            [
                self.grid_text,
                hint("one row per line; click outside the box to apply"),
                self.random_grid,
                self.grid_error,
            ]
        )
        self._photo_box = W.VBox([self.color, self.photo_size])
        self._kernel_box = W.VBox(
            [
                _hbox(self.kernel_preset, self.random_kernel),
                self.kernel_size,
                self.kernel_text,
                hint("3x3 or 5x5; fractions such as 1/16 are fine"),
                self.kernel_error,
            ]
        )
        self._mixing_box = W.VBox(
            [
                self.mixing_preset,
                self.mixing_text,
                hint("rows: output channels (1 or 3); columns: weights of R, G, B"),
                self.mixing_error,
            ]
        )
        inputs = column("214px", heading("Input"), self.source, self._grid_box, self._photo_box)
        kernels = column(
            "290px",
            heading("Kernel"),
            self.mode,
            self._kernel_box,
            self._mixing_box,
            self.operation,
        )
        geometry = column(
            "300px",
            heading("Stride and dilation"),
            self.stride,
            self.dilation,
            heading("Padding"),
            self.padding_mode,
            self.padding,
            heading("Pooling (on the output)"),
            self.pool_mode,
            self.pool_window,
            self.pool_stride,
        )
        controls = _hbox(inputs, kernels, geometry, flex_flow="row wrap", margin="10px 0 0 0")
        player = _hbox(self.play, self.position, align_items="center")
        return [self.image, player, controls, self.warning, self.formula, self.products]

    # --- event handlers ---------------------------------------------------------------

    def _quietly(self, control, **values) -> None:
        """Set traits of a control without triggering a refresh for each one."""
        busy, self._busy = self._busy, True
        try:
            for name, value in values.items():
                setattr(control, name, value)
        finally:
            self._busy = busy

    # --- keeping every slider valid ----------------------------------------------------

    def _set_range(self, slider, low: int, high: int) -> None:
        """Set a slider's bounds (in an order ipywidgets accepts); the value is clamped."""
        high = max(low, high)
        if low > slider.max:
            self._quietly(slider, max=high, min=low)
        else:
            self._quietly(slider, min=low, max=high)

    def _fit_ranges(self, f: int, h: int, w: int) -> tuple[int, int, int]:
        """Clamp dilation, padding and stride so that the kernel fits; return (d, P, S).

        The (dilated) kernel must fit in the padded input: d(F − 1) + 1 <= N + 2P.
        """
        n = min(h, w)
        mode = self.padding_mode.value
        most = 8 if self.source.value == "photo" else 3
        if mode == "number":  # at least enough padding for the undilated kernel
            self._set_range(self.padding, max(0, -(-(f - n) // 2)), max(self.padding.max, 2))
        if f == 1:
            most = 1
        elif mode == "valid":
            most = min(most, (n - 1) // (f - 1))
        elif mode == "number":
            most = min(most, (n + 2 * self.padding.value - 1) // (f - 1))
        self._set_range(self.dilation, 1, max(1, most))
        self._quietly(self.dilation, disabled=f == 1)
        d = self.dilation.value
        span = d * (f - 1)
        if mode == "number":
            self._set_range(self.padding, self.padding.min, max(span, 2))
            self._quietly(self.padding, disabled=False)
        else:
            p = conv.padding_for(mode, f, d)
            self._set_range(self.padding, 0, max(span, 2, p))
            self._quietly(self.padding, value=p, disabled=True)
        p = self.padding.value
        room = n + 2 * p - (span + 1)  # how far the window can move
        self._set_range(self.stride, 1, min(MAX_STRIDE, room + 1))
        return d, p, self.stride.value

    # --- computing and drawing --------------------------------------------------------

    def _keep_place(self, requested: int, out_h: int, out_w: int) -> None:
        """Where the window goes: where the student put it; after a change of output size,
        the same cell (grid) or the same place in the picture (photo); on a new input, a
        telling place."""
        photo = self.source.value == "photo"
        moved = requested != self._shown_position
        if self.source.value != self._shown_source:
            self._shown_source = self.source.value
            start = (out_h // 3) * out_w + out_w // 2 if photo else 0
            self._quietly(self.position, value=start)
        elif moved:
            self._quietly(self.position, value=min(requested, out_h * out_w - 1))
        elif self._shown_shape not in (None, (out_h, out_w)):
            (i, j), (old_h, old_w) = self.cell, self._shown_shape
            if photo:
                i = round(i * (out_h - 1) / max(old_h - 1, 1))
                j = round(j * (out_w - 1) / max(old_w - 1, 1))
            i, j = min(i, out_h - 1), min(j, out_w - 1)
            self._quietly(self.position, value=i * out_w + j)
        self._shown_shape = (out_h, out_w)
        self._shown_position = self.position.value

    def _show_boxes(self, mixing: bool) -> None:
        photo = self.source.value == "photo"
        self._grid_box.layout.display = "none" if photo else ""
        self._photo_box.layout.display = "" if photo else "none"
        self._kernel_box.layout.display = "none" if mixing else ""
        self._mixing_box.layout.display = "" if mixing else "none"
        self.operation.layout.display = "none" if mixing else ""
        pooling = self.pool_mode.value != "none"
        self.pool_window.layout.display = "" if pooling else "none"
        self.pool_stride.layout.display = "" if pooling else "none"

    def _pool(self, out: np.ndarray):
        out_h, out_w = out.shape[-2:]
        largest = max(1, min(out_h, out_w))
        self._quietly(self.pool_window, max=largest)
        self._quietly(self.pool_stride, max=max(largest, 2))
        if self.pool_mode.value == "none":
            return None
        window, stride = self.pool_window.value, self.pool_stride.value
        return conv.pool2d(out, window, stride, self.pool_mode.value)

    # --- text readouts -------------------------------------------------------------------

    # --- reading the controls ---------------------------------------------------------

    def _photo(self) -> np.ndarray:
        from course import data

        gray = self.color.value == "gray"
        height = self.photo_size.value
        key = (gray, height)
        if key not in self._photos:
            size = (height, max(1, round(height * PHOTO_ASPECT)))
            photo = data.load_photo(gray=gray, size=size)
            self._photos[key] = photo[None] if gray else photo.transpose(2, 0, 1)
        return self._photos[key]  # (C, H, W)

    def _read_input(self) -> None:
        if self.source.value == "photo":
            self.input = self._photo()
            return
        try:
            grid = parse_matrix(self.grid_text.value, "grid")
            if grid.shape[0] > MAX_GRID or grid.shape[1] > MAX_GRID:
                raise ValueError(
                    f"the grid can have at most {MAX_GRID} rows and {MAX_GRID} columns, so "
                    f"that the numbers stay readable; got {grid.shape[0]}×{grid.shape[1]}"
                )
        except ValueError as error:
            self.grid_error.value = error_html(error) + " (showing the last valid grid)"
            self.input = self._grid[None]
            return
        self.grid_error.value = ""
        self._grid = grid
        self.input = grid[None]  # (1, H, W)

    def _read_kernel(self) -> None:
        try:
            k = parse_matrix(self.kernel_text.value, "kernel")
            if k.shape not in ((3, 3), (5, 5)):
                raise ValueError(
                    f"the kernel must be 3x3 or 5x5 (3 or 5 rows of as many numbers); got "
                    f"{k.shape[0]} row{'s' if k.shape[0] > 1 else ''} of {k.shape[1]}"
                )
        except ValueError as error:
            self.kernel_error.value = error_html(error) + " (showing the last valid kernel)"
            return
        self.kernel_error.value = ""
        self.kernel = k
        if k.shape[0] != self.kernel_size.value:
            self._quietly(self.kernel_size, value=k.shape[0])

    def _read_mixing(self) -> None:
        try:
            m = parse_matrix(self.mixing_text.value, "mixing matrix")
            if m.shape[1] != 3 or m.shape[0] not in (1, 3):
                raise ValueError(
                    "the mixing matrix needs 3 columns (weights of R, G, B) and 1 or 3 rows "
                    f"(output channels); got {m.shape[0]}×{m.shape[1]}"
                )
        except ValueError as error:
            self.mixing_error.value = error_html(error) + " (showing the last valid matrix)"
            return
        self.mixing_error.value = ""
        self.mixing = m
        known = [
            name
            for name, preset in MIXING_PRESETS.items()
            if np.shape(preset) == m.shape and np.allclose(preset, m)
        ]
        self._quietly(self.mixing_preset, value=known[0] if known else "custom")
