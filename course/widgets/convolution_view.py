"""The convolution explorer's picture: one :class:`~course.widgets.convolution_model.Frame`
in, one bitmap out.

:func:`render` lays out the padded input with the current window, the window's values and
the kernel as applied, the output with the current cell and the pooled map, each with
its title, index labels and colour bar. A frame is composed as one float bitmap with the
helpers of :mod:`course.widgets.raster` (text from Pillow's FreeType fonts, blended boxes):
a grid frame writes over a hundred numbers, and cached glyphs keep that to a few
milliseconds, where matplotlib text artists would cost a few milliseconds each.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from course.widgets import raster
from course.widgets.convolution_model import (
    MINUS,
    Frame,
    common_denominator,
    format_sum,
    format_value,
    format_weight,
    over,
    pooled_cells,
)
from course.widgets.raster import DARK_TEXT, WHITE

__all__ = ["render", "SCALE", "MAX_WIDTH"]

GREY_TEXT = np.array([0.45, 0.45, 0.45])
PAD_GRID = (0.90, 0.90, 0.90)  # padded cells of the grid
PAD_PHOTO = (0.98, 0.90, 0.62)  # padded pixels of the photo (pale amber)
ORANGE = np.array([1.0, 0.50, 0.05])
RED = np.array([0.84, 0.15, 0.16])
# Sizes in the drawing code are bitmap pixels, written as displayed pixels × SCALE: the
# bitmap has SCALE² pixels per pixel on the screen, sharp also on high-density screens.
SCALE = 2
PANEL = 260 * SCALE  # the longer side of the input panel
MARGIN = 4 * SCALE  # white space around a panel, room for an outline at its edge
MIDDLE = 130 * SCALE  # the window and kernel panels
MAX_WIDTH = 840 * SCALE  # fits, pixel for pixel, in JupyterLab's output area on a laptop
BORDER = (8 * SCALE, 10 * SCALE)  # white rows above and below, columns left and right


@lru_cache(maxsize=8)
def _cmap(name: str):
    """A matplotlib colour map (the registry hands out a new copy on every lookup)."""
    from matplotlib import colormaps

    return colormaps[name]


_text, _text_width, _fill = raster.text, raster.text_width, raster.fill


def _outline(img, top, left, height, width, colour, thick=3 * SCALE, dashed=False) -> None:
    """A box's border, ``thick`` pixels outward; dashes 5 on, 3 off (displayed pixels)."""
    raster.outline(img, top, left, height, width, colour, thick, dashed, (5 * SCALE, 8 * SCALE))


def _hatch(img, top, left, height, width, colour=RED) -> None:
    """Diagonal hatching plus a light tint over a box (for dropped rows and columns)."""
    raster.hatch(img, top, left, height, width, colour, period=7 * SCALE, line=1.5 * SCALE)


def _ink(rgb: np.ndarray) -> np.ndarray:
    """True where black text reads better than white on each background colour."""
    return rgb[..., :3] @ np.array([0.299, 0.587, 0.114]) > 0.55


def _label_size(px: int) -> int:
    return int(min(14 * SCALE, max(7 * SCALE, px * 0.42)))


def _cells(rgb: np.ndarray, px: int, labels=None, text_colours=None, lines=True) -> np.ndarray:
    """``rgb: (h, w, 3)`` cell colours as an ``(h·px, w·px, 3)`` picture, with a label in
    each cell (shrunk to fit, or left out when even the smallest size does not fit)."""
    h, w = rgb.shape[:2]
    img = np.repeat(np.repeat(rgb[..., :3].astype(np.float32), px, axis=0), px, axis=1)
    if lines and px >= 6 * SCALE:
        for k in range(SCALE):  # white lines SCALE pixels wide between the cells
            img[k::px] = WHITE
            img[:, k::px] = WHITE
    if labels is not None and px >= 14 * SCALE:
        dark = _ink(rgb)
        base = _label_size(px)
        for r in range(h):
            for c in range(w):
                text, size = labels[r][c], base
                while size > 7 * SCALE and _text_width(text, size) > px - 6 * SCALE:
                    size -= 1
                if _text_width(text, size) > px - 2 * SCALE:
                    continue
                colour = text_colours[r][c] if text_colours is not None else None
                if colour is None:
                    colour = DARK_TEXT if dark[r, c] else WHITE
                _text(img, text, (c + 0.5) * px, (r + 0.5) * px + 0.36 * size, size, colour)
    return img


def _margin(img: np.ndarray) -> np.ndarray:
    """White space of :data:`MARGIN` pixels around a panel, room for outlines at its edge."""
    return np.pad(img, ((MARGIN, MARGIN), (MARGIN, MARGIN), (0, 0)), constant_values=1.0)


def _block(
    panel,
    title: str,
    px: int = 0,
    col_labels=None,
    row_labels=None,
    offset: int = 0,
    right=None,
    title_size: int = 13,
    inset: int = 0,
):
    """Put a title above ``panel`` (and index labels on top and left, and an optional
    ``right`` strip such as a colour bar) on a white background; returns the picture.
    ``inset`` is the white margin already around the cells of ``panel``; ``title_size`` is
    in displayed pixels."""
    s, size, small = SCALE, title_size * SCALE, 9 * SCALE
    top = 22 * s + (14 * s - inset if col_labels else 0)
    left = 0
    if row_labels:
        left = max(0, max(_text_width(t, small) for t in row_labels) + 6 * s - inset)
    extra = 0 if right is None else right.shape[1] + 4 * s
    width = max(left + panel.shape[1] + extra, _text_width(title, size) + 4 * s)
    height = top + max(panel.shape[0], 0 if right is None else right.shape[0]) + 4 * s
    img = np.ones((height, width, 3), dtype=np.float32)
    x0 = left + (width - left - extra - panel.shape[1]) // 2
    img[top : top + panel.shape[0], x0 : x0 + panel.shape[1]] = panel
    if right is not None:
        x1 = x0 + panel.shape[1] + 4 * s
        y1 = top + inset - 4 * s  # the bar image has 4·SCALE white rows above the gradient
        img[y1 : y1 + right.shape[0], x1 : x1 + right.shape[1]] = right
    half = _text_width(title, size) / 2  # centred over the panel, kept inside
    centre = min(max(x0 + panel.shape[1] / 2, half + 2 * s), width - half - 2 * s)
    _text(img, title, centre, 16 * s, size, DARK_TEXT)
    for c, label in enumerate(col_labels or []):
        x = x0 + inset + (c + offset + 0.5) * px
        _text(img, label, x, top - 3 * s + inset, small, GREY_TEXT)
    for r, label in enumerate(row_labels or []):
        y = top + inset + (r + offset + 0.5) * px + 3 * s
        _text(img, label, x0 + inset - 4 * s, y, small, GREY_TEXT, "right")
    return img


def _stack(blocks, gap: int = 26 * SCALE, vertical: bool = False):
    """Blocks side by side (or one under another), on white."""
    if vertical:
        width = max(b.shape[1] for b in blocks)
        height = sum(b.shape[0] for b in blocks) + gap * (len(blocks) - 1)
        img, at = np.ones((height, width, 3), dtype=np.float32), 0
        for b in blocks:
            x0 = (width - b.shape[1]) // 2
            img[at : at + b.shape[0], x0 : x0 + b.shape[1]] = b
            at += b.shape[0] + gap
        return img
    height = max(b.shape[0] for b in blocks)
    width = sum(b.shape[1] for b in blocks) + gap * (len(blocks) - 1)
    img, at = np.ones((height, width, 3), dtype=np.float32), 0
    for b in blocks:
        img[: b.shape[0], at : at + b.shape[1]] = b
        at += b.shape[1] + gap
    return img


def _signed_norm(values: np.ndarray, percentile: float = 100.0):
    """A colour scale centred at 0 out to the largest |value| (or a percentile of them)."""
    from matplotlib.colors import Normalize

    size = np.abs(values)
    bound = float(np.percentile(size, percentile) if percentile < 100 else size.max())
    return Normalize(-bound, bound) if bound > 0 else Normalize(-1.0, 1.0)


def _colour_bar(norm, cmap, height: int, clipped: bool = False) -> np.ndarray:
    """A slim vertical colour bar with its ends (and 0 when signed) written beside it;
    ``clipped`` marks the ends "≥" / "≤" when some values lie beyond them."""
    ticks = [norm.vmax, norm.vmin] + ([0.0] if norm.vmin < 0 < norm.vmax else [])
    labels = [format_sum(round(v, 2)) for v in ticks]
    if clipped:
        labels[0], labels[1] = "≥" + labels[0], "≤" + labels[1]
    s, small = SCALE, 9 * SCALE
    width = 14 * s + max(_text_width(t, small) for t in labels) + 2 * s
    img = np.ones((height + 8 * s, width, 3), dtype=np.float32)
    values = np.linspace(norm.vmax, norm.vmin, height)
    img[4 * s : 4 * s + height, : 10 * s] = cmap(norm(values))[:, None, :3]
    for value, label in zip(ticks, labels, strict=True):
        row = 4 * s + (norm.vmax - value) / (norm.vmax - norm.vmin) * (height - 1)
        _text(img, label, 14 * s, row + 4 * s, small, DARK_TEXT, "left")
    return img


def _input_colours(frame: Frame, padded: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """``padded: (C, h, w)`` as ``(h, w, 3)`` colours; padding cells get a pale colour."""
    from matplotlib.colors import Normalize

    if padded.shape[0] == 3:
        rgb = np.clip(padded, 0, 1).transpose(1, 2, 0)
    elif frame.photo:
        rgb = np.repeat(np.clip(padded[0], 0, 1)[..., None], 3, axis=2)
    else:  # light blues, so that black numbers stay readable on most cells
        low, high = min(0.0, float(frame.x.min())), max(1.0, float(frame.x.max()))
        norm = Normalize(low, high + 0.6 * (high - low))
        rgb = _cmap("Blues")(norm(padded[0]))[..., :3]
    rgb = rgb.copy()
    rgb[~inside] = PAD_PHOTO if frame.photo else PAD_GRID
    return rgb


def _thickness(px: int) -> int:
    """Width of the orange outlines around cells ``px`` bitmap pixels wide."""
    return (3 if px >= 8 * SCALE else 2) * SCALE


def _cell_px(frame: Frame) -> int:
    _, h, w = frame.x.shape
    longest = max(h, w) + 2 * frame.padding
    return int(max(1, min(40 * SCALE, PANEL // longest)))


def _input_block(frame: Frame, px: int) -> np.ndarray:
    x, p = frame.x, frame.padding
    channels, h, w = x.shape
    padded = np.pad(x, ((0, 0), (p, p), (p, p)))  # (C, H + 2P, W + 2P)
    inside = np.zeros(padded.shape[1:], dtype=bool)
    inside[p : p + h, p : p + w] = True
    rgb = _input_colours(frame, padded, inside)
    labels = colours = None
    if not frame.photo:
        labels = [[format_value(v) for v in row] for row in padded[0]]
        colours = [[None if ok else GREY_TEXT for ok in row] for row in inside]
    img = _margin(_cells(rgb, px, labels, colours, lines=not frame.photo))
    m = MARGIN  # pixel (y, x) of padded-input cell (r, c) is (m + r·px, m + c·px)
    if p:  # the border of the real input
        _outline(img, m + p * px, m + p * px, h * px, w * px, DARK_TEXT, SCALE, dashed=True)
    drop_rows, drop_cols = frame.drop
    height, width = inside.shape
    if drop_cols:
        _hatch(img, m, m + (width - drop_cols) * px, height * px, drop_cols * px)
    if drop_rows:
        _hatch(img, m + (height - drop_rows) * px, m, drop_rows * px, width * px)
    rows, cols = frame.rows + p, frame.cols + p  # coordinates in the padded input
    if frame.dilation > 1 or frame.photo:  # the cells the kernel actually reads
        for r in rows:
            for c in cols:
                if px >= 12 * SCALE:  # a ring inside the cell keeps its number readable
                    ring, inner = 3 * SCALE, px - 6 * SCALE
                    _outline(img, m + r * px + ring, m + c * px + ring, inner, inner, ORANGE, ring)
                else:
                    _fill(img, m + r * px, m + c * px, px, px, ORANGE, alpha=0.45)
    span_h, span_w = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    thick = _thickness(px)
    _outline(img, m + rows[0] * px, m + cols[0] * px, span_h * px, span_w * px, ORANGE, thick)
    title = f"input {h}×{w}" + (" ×3 (RGB)" if channels == 3 else "")
    title += f", padding {p}" if p else ""
    if frame.photo:
        return _block(img, title)
    labels = [str(c) for c in range(w)], [str(r) for r in range(h)]
    return _block(img, title, px, *labels, offset=p, inset=MARGIN)


def _middle_block(frame: Frame) -> np.ndarray:
    """The input values under the window, the kernel, and the sum of their products."""
    x = frame.x
    channels, h, w = x.shape
    r_in = (frame.rows >= 0) & (frame.rows < h)
    c_in = (frame.cols >= 0) & (frame.cols < w)
    inside = r_in[:, None] & c_in[None, :]  # (kh, kw)
    rows, cols = np.clip(frame.rows, 0, h - 1), np.clip(frame.cols, 0, w - 1)
    values = np.where(inside, x[:, rows][:, :, cols], 0.0)  # (C, kh, kw)
    k = frame.weights if frame.mixing else frame.weights[0]  # (K, 3) or (F, F)
    px = int(min(36 * SCALE, MIDDLE // max(k.shape)))
    if frame.mixing:  # one pixel: its R, G, B values side by side
        values, inside = values[:, 0, 0][None, None], np.ones((1, 3), dtype=bool)
        rgb = np.clip(values[0], 0, 1)[0][:, None] * np.eye(3) * 0.6 + 0.4
        rgb = rgb[None]
    else:
        rgb = _input_colours(frame, values, inside)
    labels = None
    if channels == 1 or frame.mixing:
        digits = frame.photo
        labels = [[f"{v:.2f}" if digits else format_value(v) for v in row] for row in values[0]]
    colours = [[None if ok else GREY_TEXT for ok in row] for row in inside]
    window = _cells(rgb, px, labels, colours)
    where = "pixel" if frame.mixing else "window"
    names = ["R", "G", "B"]
    top = _block(
        window,
        f"{where} at output ({frame.cell[0]}, {frame.cell[1]})",
        px,
        names if frame.mixing else None,
        title_size=12,
    )
    kernel_rgb = _cmap("RdBu_r")(_signed_norm(k)(k))[..., :3]
    kernel_labels, title = _kernel_labels(k, px, frame.kernel_title)
    kernel = _cells(kernel_rgb, px, kernel_labels)
    outputs = (["R", "G", "B"] if k.shape[0] == 3 else ["out"]) if frame.mixing else None
    bottom = _block(kernel, title, px, names if frame.mixing else None, outputs, title_size=12)
    parts = [top, bottom]
    if not frame.mixing:
        i, j = frame.cell
        total = float(frame.output[i, j])
        text = f"sum of products = {format_sum(round(total, 4))}"
        size = 12 * SCALE
        line = np.ones((20 * SCALE, _text_width(text, size) + 8 * SCALE, 3), dtype=np.float32)
        _text(line, text, line.shape[1] / 2, 14 * SCALE, size)
        parts.append(line)
    return _stack(parts, gap=6 * SCALE, vertical=True)


def _kernel_labels(k: np.ndarray, px: int, title: str) -> tuple[list, str]:
    """Labels of the kernel's cells and the panel's title. Weights with a common
    denominator are written as in the text box and the products (2/16); when those do not
    fit in the cells at a readable size, the numerators are shown and the title says
    "× 1/16"."""
    denominator = common_denominator(k)
    numerators = np.rint(k * denominator).astype(int)
    if denominator > 1:
        labels = [[over(n, denominator).replace("-", MINUS) for n in row] for row in numerators]
        room = px - 6 * SCALE  # as in _cells
        if all(_text_width(t, 9 * SCALE) <= room for row in labels for t in row):
            return labels, title
        labels = [[format_value(n) for n in row] for row in numerators]
        return labels, f"{title}  × 1/{denominator}"
    return [[format_weight(float(v)).replace("-", MINUS) for v in row] for row in k], title


def _map_block(values, frame: Frame, title: str, px: int, highlight, scale=None):
    """An output or pooled map with a colour bar; signed values on a diverging map.

    ``values: (H, W)``, ``(1, H, W)`` or ``(3, H, W)`` (drawn as colour); ``highlight``
    lists ``(row, col, dashed)`` cells; ``scale`` is a ``(norm, cmap)`` pair to reuse
    (pooling shares the output's colours). Returns ``(picture, scale)``.
    """
    from matplotlib.colors import Normalize

    bar = None
    if values.ndim == 3 and values.shape[0] == 3:  # three mixed channels: show as colour
        img = _margin(_cells(np.clip(values.transpose(1, 2, 0), 0, 1), px, lines=False))
    else:
        values = values[0] if values.ndim == 3 else values
        if scale is None:
            if values.min() < -1e-12 or not frame.photo:
                # photos: a few strong edges would wash out the rest, so the colours stop at
                # the 99th percentile of |value| (the colour bar then says "≥")
                norm = _signed_norm(values, 99.0 if frame.photo else 100.0)
                scale = (norm, _cmap("RdBu_r"))
            else:
                scale = (Normalize(0, max(float(values.max()), 1e-12)), _cmap("gray"))
        norm, cmap = scale
        labels = None if frame.photo else [[format_value(v) for v in row] for row in values]
        img = _margin(_cells(cmap(norm(values))[..., :3], px, labels, lines=not frame.photo))
        clipped = float(np.abs(values).max()) > max(abs(norm.vmin), abs(norm.vmax)) + 1e-9
        bar = _colour_bar(norm, cmap, img.shape[0] - 2 * MARGIN, clipped)
    thick = _thickness(px)
    for r, c, dashed in highlight:
        _outline(img, MARGIN + r * px, MARGIN + c * px, px, px, ORANGE, thick, dashed)
    h, w = values.shape[-2:]
    if frame.photo:
        return _block(img, title, right=bar), scale
    rows, cols = [str(r) for r in range(h)], [str(c) for c in range(w)]
    return _block(img, title, px, cols, rows, right=bar, inset=MARGIN), scale


def render(frame: Frame) -> np.ndarray:
    """One frame as a bitmap ``(H, W, 3)`` of uint8: input | window and kernel | output |
    pooled output. ``H`` and ``W`` are multiples of :data:`SCALE`; the picture is meant to
    be shown ``W / SCALE`` pixels wide, at most :data:`MAX_WIDTH` / ``SCALE``."""
    px = _cell_px(frame)
    picture = _compose(frame, px)
    _, h, w = frame.x.shape
    columns = w + 2 * frame.padding + frame.output.shape[-1]  # cells across the picture
    columns += 0 if frame.pooled is None else frame.pooled.shape[-1]
    for _ in range(3):  # smaller cells until it fits (the width is about linear in px)
        excess = picture.shape[1] + 2 * BORDER[1] - MAX_WIDTH
        if excess <= 0 or px <= 2 * SCALE:
            break
        px = max(2 * SCALE, px - -(-excess // columns))
        picture = _compose(frame, px)
    h, w = picture.shape[:2]
    top, left = BORDER
    height = -(-(h + 2 * top) // SCALE) * SCALE  # rounded up to a multiple of SCALE
    width = -(-(w + 2 * left) // SCALE) * SCALE
    rgb = np.full((height, width, 3), 255, dtype=np.uint8)
    np.multiply(picture, 255, out=picture)
    picture += 0.5  # colours are blends of values in [0, 1]: no clipping needed
    rgb[top : top + h, left : left + w] = picture
    return rgb


def _compose(frame: Frame, px: int) -> np.ndarray:
    """The panels as floats ``(H, W, 3)`` in [0, 1], cells ``px`` wide: side by side, or
    with the pooled map under the output when four panels in a row would be too wide."""
    i, j = frame.cell
    out_h, out_w = frame.output.shape[-2:]
    output, scale = _map_block(frame.output, frame, f"output {out_h}×{out_w}", px, [(i, j, False)])
    blocks = [_input_block(frame, px), _middle_block(frame), output]
    if frame.pooled is not None:
        mode, window, stride = frame.pool
        held = pooled_cells((i, j), frame.pooled.shape, window, stride)
        cells = [(r, c, True) for r, c in held]  # dashed: pooled cells that hold (i, j)
        name = "max" if mode == "max" else "average"
        title = f"{name} pool {window}×{window}, stride {stride}"
        blocks.append(_map_block(frame.pooled, frame, title, px, cells, scale)[0])
        gap = 26 * SCALE  # as in _stack
        wide = sum(b.shape[1] for b in blocks) + 3 * gap + 2 * BORDER[1]
        if wide > MAX_WIDTH:
            blocks = blocks[:2] + [_stack(blocks[2:], gap=10 * SCALE, vertical=True)]
    return _stack(blocks)
