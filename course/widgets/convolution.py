"""Convolution explorer: slide a kernel over a small integer grid or the sample photo.

Build it with ``course.widgets.convolution_explorer(source="grid" | "photo")``. The student
picks an input, a kernel (presets or typed in), stride, padding, dilation, a correlation /
convolution toggle, a 1x1 channel-mixing mode on the RGB photo and max or average pooling.
One PNG, drawn at twice its shown size, shows the padded input with the current window, the
kernel as applied, the output (with the current cell) and the pooled map. The window
position slider sits right under it and the controls under that, so that the picture stays
in view while the student works them; then warnings (a stride that drops rows or columns),
the output-size formula with the numbers filled in and the element-wise products of the
current window. Kernel weights are written over their common denominator everywhere (2/16,
not 1/8). The numbers come from :mod:`course.conv`.

The explorer is split along the way data flows: :mod:`course.widgets.convolution_model`
(kernels, parsing, the layer's numbers), :mod:`course.widgets.convolution_readouts` (the HTML
texts), :mod:`course.widgets.convolution_view` (one frame as a bitmap),
:mod:`course.widgets.convolution_controls` (the widgets and their ranges) and this module
(the callbacks: read the controls, compute, redraw). Only ipywidgets API shared by 7.7
(Colab) and 8.x is used.
"""

from __future__ import annotations

from contextlib import contextmanager

import ipywidgets as W
import numpy as np

from course import conv
from course.widgets.convolution_controls import STYLE, ConvolutionControls
from course.widgets.convolution_model import (
    DEFAULT_GRID,
    KERNEL_PRESETS,
    MAX_GRID,
    MIXING_PRESETS,
    PHOTO_SIZES,
    Frame,
    apply_kernel,
    kernel_preset,
    kernel_text,
    matrix_text,
    parse_matrix,
    resize_kernel,
)
from course.widgets.convolution_readouts import (
    formula_html,
    products_html,
    warning_html,
)
from course.widgets.convolution_view import SCALE, render
from course.widgets.raster import array_to_png

# the explorer, and (re-exported) what lectures and tests import from this module
__all__ = [
    "ConvolutionExplorer",
    "kernel_preset",
    "parse_matrix",
    "KERNEL_PRESETS",
    "MIXING_PRESETS",
    "DEFAULT_GRID",
    "SCALE",
    "W",
]


class ConvolutionExplorer(ConvolutionControls, W.VBox):
    """Interactive convolution: input, kernel, stride, padding, dilation, pooling, a window.

    Arguments: ``source`` ``"grid"`` (a small integer matrix the student edits) or
    ``"photo"``; ``kernel``, one of :data:`KERNEL_PRESETS`; ``grid``, rows of numbers for
    the grid; ``color`` ``"gray"`` or ``"rgb"`` and ``photo_size`` (height in pixels) for the
    photo; ``seed`` for the random grid and kernel.

    State for tests and notebooks: ``input: (C, H, W)``, ``kernel: (F, F)`` as typed,
    ``mixing: (K, 3)``, ``weights`` as applied (``(C, F, F)``, flipped for convolution, or
    the mixing matrix), ``output: (H', W')`` (``(K, H', W')`` when mixing), ``pooled``,
    ``cell`` (the output cell at the window position) and ``window`` (input rows and columns
    it reads; negative or too large means padding). The HTML widgets ``formula``,
    ``warning``, ``products``, ``kernel_error``, ``mixing_error`` and ``grid_error`` and
    every control are attributes; :meth:`batch` changes several controls with one redraw.
    """

    def __init__(
        self,
        source: str = "grid",
        kernel: str = "Sobel x",
        grid: str | None = None,
        color: str = "gray",
        photo_size: int = 64,
        seed: int = 0,
    ):
        if source not in ("grid", "photo"):
            raise ValueError(f"source must be 'grid' or 'photo'; got {source!r}")
        if kernel not in KERNEL_PRESETS:
            raise ValueError(f"kernel must be one of {KERNEL_PRESETS}; got {kernel!r}")
        if color not in ("gray", "rgb"):
            raise ValueError(f"color must be 'gray' or 'rgb'; got {color!r}")
        if photo_size not in PHOTO_SIZES:
            raise ValueError(f"photo_size must be one of {PHOTO_SIZES}; got {photo_size!r}")
        self._rng = np.random.default_rng(seed)
        self._photos: dict = {}
        self._busy = False
        self._random_kernel = kernel_preset("random", 3, self._rng)
        self._grid = parse_matrix(DEFAULT_GRID, "grid")  # the last valid grid
        self._make_input_controls(source, grid, color, photo_size)
        self._make_kernel_controls(kernel)
        self._make_geometry_controls()
        self.position = W.IntSlider(
            value=0,
            min=0,
            max=1,
            description="window position",
            style=STYLE,
            layout=W.Layout(width="500px"),
        )
        self.play = W.Play(value=0, min=0, max=1, interval=500, description="play")
        W.jslink((self.play, "value"), (self.position, "value"))
        # shown pixel for pixel: its width is set to the bitmap's width / SCALE on each frame
        # (an Image in a VBox would otherwise stretch to the box and blur); narrower screens
        # shrink it, keeping its proportions
        self.image = W.Image(
            format="png",
            layout=W.Layout(width="600px", max_width="100%", height="auto", margin="0px"),
        )
        self.formula = W.HTML("")
        self.warning = W.HTML("")
        self.products = W.HTML("")

        self.input = np.zeros((1, 1, 1))
        self.kernel = np.zeros((3, 3))
        self.mixing = np.eye(3)
        self.weights = np.zeros((1, 3, 3))
        self.output = np.zeros((1, 1))
        self.pooled = None
        self.cell = (0, 0)
        self.window = (np.zeros(3, int), np.zeros(3, int))

        super().__init__(self._layout())
        for control in (
            self.source,
            self.color,
            self.photo_size,
            self.mode,
            self.operation,
            self.stride,
            self.padding,
            self.dilation,
            self.pool_mode,
            self.pool_window,
            self.pool_stride,
            self.position,
            self.grid_text,
            self.padding_mode,
            self.kernel_preset,
            self.mixing_preset,
        ):
            control.observe(self._on_change, names="value")
        self.kernel_size.observe(self._on_kernel_size, names="value")
        self.kernel_text.observe(self._on_kernel_text, names="value")
        self.mixing_text.observe(self._on_mixing_text, names="value")
        self.random_grid.on_click(self._on_random_grid)
        self.random_kernel.on_click(self._on_random_kernel)
        self._shown_source = None
        self._shown_shape = None
        self._shown_position = None
        self.refresh()

    # --- event handlers ---------------------------------------------------------------

    def _on_change(self, change=None) -> None:
        if not self._busy:
            self.refresh()

    def _write_preset(self) -> None:
        name, size = self.kernel_preset.value, self.kernel_size.value
        if name == "custom":
            return
        if name == "random":
            numerators, denominator = self._random_kernel
            if numerators.shape[0] != size:
                self._random_kernel = kernel_preset("random", size, self._rng)
                numerators, denominator = self._random_kernel
        else:
            numerators, denominator = kernel_preset(name, size)
        self._quietly(self.kernel_text, value=kernel_text(numerators, denominator))

    def _on_random_kernel(self, _button=None) -> None:
        self._random_kernel = kernel_preset("random", self.kernel_size.value, self._rng)
        self._quietly(self.kernel_preset, value="random")
        self._quietly(self.mode, value="kernel")
        self.refresh()

    def _on_kernel_size(self, change) -> None:
        if self._busy:
            return
        if self.kernel_preset.value == "custom":  # pad with zeros or keep the centre
            try:
                k = parse_matrix(self.kernel_text.value, "kernel")
            except ValueError:
                k = None
            if k is not None and k.shape[0] == k.shape[1] and k.shape[0] in (3, 5):
                new = resize_kernel(k, change["new"])
                self._quietly(self.kernel_text, value=matrix_text(new))
        self.refresh()

    def _on_kernel_text(self, change) -> None:
        if self._busy:
            return
        self._quietly(self.kernel_preset, value="custom")
        self.refresh()

    def _on_mixing_text(self, change) -> None:
        if self._busy:
            return
        self._quietly(self.mixing_preset, value="custom")  # a known matrix gets its name back
        self.refresh()

    def _apply_presets(self) -> None:
        """Write the chosen presets into the text boxes (the text boxes are what is used)."""
        self._write_preset()
        name = self.mixing_preset.value
        if name != "custom":
            self._quietly(self.mixing_text, value=matrix_text(MIXING_PRESETS[name]))

    @contextmanager
    def batch(self):
        """Change several controls and redraw once::

        with explorer.batch():
            explorer.stride.value = 2
            explorer.padding_mode.value = "same"
        """
        busy, self._busy = self._busy, True
        try:
            yield self
        finally:
            self._busy = busy
            if not busy:
                self.refresh()

    def _on_random_grid(self, _button=None) -> None:
        try:
            h, w = parse_matrix(self.grid_text.value, "grid").shape
        except ValueError:
            h, w = 7, 7
        h, w = min(h, MAX_GRID), min(w, MAX_GRID)
        grid = self._rng.integers(0, 4, size=(h, w))
        self._quietly(self.source, value="grid")
        self._quietly(self.grid_text, value=matrix_text(grid))
        self.refresh()

    # --- computing and drawing --------------------------------------------------------

    def refresh(self) -> None:
        """Read every control, recompute, redraw (each control change calls this)."""
        if self._busy:
            return
        self._busy = True
        try:
            self._refresh()
        finally:
            self._busy = False

    def _refresh(self) -> None:
        mixing = self.mode.value == "mix"
        notes = []
        if mixing and (self.source.value != "photo" or self.color.value != "rgb"):
            self.source.value, self.color.value = "photo", "rgb"
            notes.append("1x1 channel mixing needs three channels: switched to the RGB photo.")
        self._apply_presets()
        self._read_input()
        if mixing:
            self._read_mixing()
        else:
            self._read_kernel()
        self._show_boxes(mixing)
        x = self.input
        channels, h, w = x.shape
        f = 1 if mixing else self.kernel.shape[0]
        if f > min(h, w) and self.padding_mode.value == "valid":
            self._quietly(self.padding_mode, value="same")
            notes.append(
                f"the {f}×{f} kernel does not fit in the {h}×{w} input without padding: "
                "switched to 'same' padding."
            )
        d, p, s = self._fit_ranges(f, h, w)
        flip = self.operation.value == "convolution"
        self.weights, self.output, title = apply_kernel(
            x, self.kernel, self.mixing, mixing, flip, s, p, d
        )
        applied, out = self.weights, self.output
        out_h, out_w = out.shape[-2:]
        requested = self.position.value
        self._quietly(self.position, max=out_h * out_w - 1)
        self._quietly(self.play, max=out_h * out_w - 1)
        self._keep_place(requested, out_h, out_w)
        i, j = divmod(self.position.value, out_w)
        self.cell = (i, j)
        self.window = conv.window_positions(i, j, f, s, p, d)
        drop = (conv.dropped(h, f, s, p, d), conv.dropped(w, f, s, p, d))
        self.pooled = self._pool(out)
        pool = (self.pool_window.value, self.pool_stride.value)
        self.formula.value = formula_html(
            f, h, w, s, p, d, channels, self.output, self.pooled, pool
        )
        self.warning.value = warning_html(
            notes, f, h, w, s, p, d, drop, self.output, self.pooled, pool
        )
        self.products.value = products_html(
            x, self.cell, self.window, self.weights, mixing, self.source.value == "photo"
        )
        frame = Frame(
            x=x,
            photo=self.source.value == "photo",
            mixing=mixing,
            weights=applied,
            kernel_title=title,
            padding=p,
            dilation=d,
            output=out,
            cell=self.cell,
            rows=self.window[0],
            cols=self.window[1],
            drop=drop,
            pooled=self.pooled,
            pool=(self.pool_mode.value, self.pool_window.value, self.pool_stride.value),
        )
        picture = render(frame)
        self.image.value = array_to_png(picture)
        self.image.layout.width = f"{picture.shape[1] // SCALE}px"  # pixel for pixel

    # --- benchmark hooks -----------------------------------------------------------------

    def benchmark_changes(self) -> list:
        """``(label, change)`` pairs that change one control as a student would."""
        presets = [p for p in KERNEL_PRESETS if p != "random"]

        def next_position():
            self.position.value = (self.position.value + 1) % (self.position.max + 1)

        def next_kernel():
            current = self.kernel_preset.value
            index = presets.index(current) if current in presets else -1
            self.kernel_preset.value = presets[(index + 1) % len(presets)]

        def toggle_stride():
            self.stride.value = 2 if self.stride.value == 1 else 1

        def next_padding():
            modes = ["valid", "same", "full"]
            current = self.padding_mode.value
            index = modes.index(current) if current in modes else -1
            self.padding_mode.value = modes[(index + 1) % 3]

        def toggle_operation():
            flip = self.operation.value == "correlation"
            self.operation.value = "convolution" if flip else "correlation"

        def next_pooling():
            modes = ["none", "max", "avg"]
            self.pool_mode.value = modes[(modes.index(self.pool_mode.value) + 1) % 3]

        return [
            ("position", next_position),
            ("kernel preset", next_kernel),
            ("stride", toggle_stride),
            ("padding", next_padding),
            ("correlation/convolution", toggle_operation),
            ("pooling", next_pooling),
        ]
