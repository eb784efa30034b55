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

Only ipywidgets API shared by 7.7 (Colab) and 8.x is used.
"""

from __future__ import annotations

import html
import re
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from math import gcd

import ipywidgets as W
import numpy as np

from course import conv
from course.widgets._render import array_to_png

__all__ = ["ConvolutionExplorer", "kernel_preset", "KERNEL_PRESETS", "MIXING_PRESETS"]

KERNEL_PRESETS = (
    "identity",
    "box blur",
    "Gaussian blur",
    "sharpen",
    "Sobel x",
    "Sobel y",
    "Laplacian",
    "emboss",
    "random",
)

MIXING_PRESETS = {
    "RGB → gray (luma)": [[0.299, 0.587, 0.114]],
    "identity": [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
    "swap red and blue": [[0, 0, 1], [0, 1, 0], [1, 0, 0]],
    "sepia": [[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]],
    "red minus green": [[1, -1, 0]],
}

DEFAULT_GRID = """\
0 0 1 3 3 3 2
0 1 0 3 2 3 3
1 0 0 2 3 3 3
0 0 1 3 3 2 3
0 1 0 3 3 3 3
1 0 0 3 2 3 3
0 0 1 3 3 3 2"""

MAX_GRID = 12  # cells per side, so that the numbers stay readable
MAX_STRIDE = 6
PHOTO_SIZES = (32, 48, 64, 96)  # heights offered for the photo
STYLE = {"description_width": "initial"}
PHOTO_ASPECT = 512 / 600  # width / height of matplotlib's grace_hopper.jpg
MINUS = "\u2212"
EQUALS = "&nbsp;=&nbsp;"  # a long sum wraps before its last term, never before "= total"
PAD_GRID = (0.90, 0.90, 0.90)  # padded cells of the grid
PAD_PHOTO = (0.98, 0.90, 0.62)  # padded pixels of the photo (pale amber)


# --- kernels and parsing ------------------------------------------------------------------


def kernel_preset(name: str, size: int = 3, rng=None) -> tuple[np.ndarray, int]:
    """A preset kernel as ``(integers (size, size), denominator)``; the kernel is their ratio.

    >>> numerators, denominator = kernel_preset("Gaussian blur", 3)
    >>> numerators.tolist(), denominator
    ([[1, 2, 1], [2, 4, 2], [1, 2, 1]], 16)
    """
    if size not in (3, 5):
        raise ValueError(f"preset kernels are 3x3 or 5x5; got size {size}")
    centre = np.zeros((size, size), dtype=np.int64)
    centre[size // 2, size // 2] = 1
    binomial = np.array([1, 2, 1] if size == 3 else [1, 4, 6, 4, 1])
    if name == "identity":
        return centre, 1
    if name == "box blur":
        return np.ones((size, size), dtype=np.int64), size * size
    if name == "Gaussian blur":
        return np.outer(binomial, binomial), int(binomial.sum()) ** 2
    if name == "sharpen":  # identity minus a Laplacian: boosts what differs from around it
        if size == 3:
            return np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]), 1
        ring = [[0, 0, -1, 0, 0], [0, -1, -2, -1, 0], [-1, -2, 17, -2, -1]]
        return np.array(ring + ring[1::-1]), 1
    if name in ("Sobel x", "Sobel y"):
        slope = np.array([-1, 0, 1] if size == 3 else [-1, -2, 0, 2, 1])
        sobel = np.outer(binomial, slope)  # smooth along one axis, differentiate along the other
        return (sobel if name == "Sobel x" else sobel.T), 1
    if name == "Laplacian":
        if size == 3:
            return np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]]), 1
        return np.array(
            [[0, 0, 1, 0, 0], [0, 1, 2, 1, 0], [1, 2, -16, 2, 1], [0, 1, 2, 1, 0], [0, 0, 1, 0, 0]]
        ), 1
    if name == "emboss":
        i, j = np.indices((size, size))
        ramp = np.clip(i + j - (size - 1), -2, 2)
        ramp[size // 2, size // 2] = 1
        return ramp, 1
    if name == "random":
        rng = np.random.default_rng() if rng is None else rng
        return rng.integers(-2, 3, size=(size, size)), 1
    raise ValueError(f"unknown kernel preset {name!r}; choose one of {KERNEL_PRESETS}")


def _over(numerator: int, denominator: int) -> str:
    """``numerator/denominator`` as written everywhere in the explorer: over the kernel's
    common denominator, not reduced (2/16, not 1/8), so that the kernel's entries compare."""
    if denominator == 1 or numerator == 0:
        return str(int(numerator))
    return f"{int(numerator)}/{denominator}"


def _kernel_text(numerators: np.ndarray, denominator: int) -> str:
    return _aligned([[_over(n, denominator) for n in row] for row in numerators])


def _aligned(rows: list[list[str]]) -> str:
    """Rows of tokens as lines, each column right-aligned to its own widest token (narrow
    enough for a 5x5 kernel in sixteenths or 256ths to fit the text box unwrapped)."""
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    return "\n".join(" ".join(t.rjust(n) for t, n in zip(row, widths, strict=True)) for row in rows)


def parse_matrix(text: str, what: str) -> np.ndarray:
    """Rows of numbers (spaces or commas between them, fractions like 1/16 allowed).

    >>> parse_matrix("1 2\\n3 -1/2", "kernel").tolist()
    [[1.0, 2.0], [3.0, -0.5]]
    """
    cleaned = text.replace(MINUS, "-").replace("],", "\n").replace("[", "").replace("]", "")
    lines = [line for line in re.split(r"[\n;]", cleaned) if line.strip()]
    if not lines:
        raise ValueError(f"the {what} is empty: type rows of numbers, one row per line")
    rows = []
    for r, line in enumerate(lines, start=1):
        row = []
        for token in re.split(r"[,\s]+", line.strip()):
            try:
                row.append(float(Fraction(token)))
            except (ValueError, ZeroDivisionError):
                raise ValueError(f"row {r} of the {what}: {token!r} is not a number") from None
        if rows and len(row) != len(rows[0]):
            raise ValueError(
                f"row {r} of the {what} has {len(row)} number{'s' if len(row) != 1 else ''} "
                f"but row 1 has {len(rows[0])}"
            )
        rows.append(row)
    return np.array(rows)


# --- number formatting for the readouts ---------------------------------------------------


def _fmt(value: float, fraction: bool = False) -> str:
    """A number for people: integers plainly, small fractions as a/b, otherwise 2 decimals."""
    if abs(value - round(value)) < 1e-9:
        text = str(int(round(value)))
    else:
        approx = Fraction(value).limit_denominator(256)
        if fraction and abs(float(approx) - value) < 1e-9:
            text = f"{approx.numerator}/{approx.denominator}"
        else:
            text = f"{value:.2f}"
    return text.replace("-", MINUS)


def _fmt_sum(value: float) -> str:
    if abs(value - round(value)) < 1e-9:
        return str(int(round(value))).replace("-", MINUS)
    return f"{value:.4f}".rstrip("0").replace("-", MINUS)


def _factor(value: float, fraction: bool, grey: bool = False, denominator: int = 1) -> str:
    """A factor of a product; kernel weights over their common ``denominator`` when > 1."""
    if denominator > 1:
        text = _over(round(value * denominator), denominator)
    else:
        text = _fmt(value, fraction)
    text = _factor_text(text)
    return f'<span style="color:#999">{text}</span>' if grey else text


def _factor_text(text: str) -> str:
    """A number as a factor: in brackets when negative or a fraction, with a real minus."""
    text = text.replace("-", MINUS)
    return f"({text})" if text.startswith(MINUS) or "/" in text else text


# --- drawing: one frame as one bitmap -----------------------------------------------------
#
# A frame is composed in NumPy (cells, numbers, highlights, hatching) and handed to
# matplotlib as one figure image. Matplotlib text artists and axes cost a few milliseconds
# each and a grid frame needs over a hundred numbers; glyph bitmaps from FreeType are cached
# instead, which keeps a frame well under the 100 ms a slider change may take.


@dataclass
class _Frame:
    """Everything the figure shows, computed from the controls."""

    x: np.ndarray  # (C, H, W) input
    photo: bool
    mixing: bool
    weights: np.ndarray  # (C, F, F) spatial kernel as applied, or (K, C) mixing matrix
    kernel_title: str
    padding: int
    dilation: int
    output: np.ndarray  # (H', W') or (K, H', W')
    cell: tuple[int, int]
    rows: np.ndarray  # input rows read by the current cell (negative / >= H: padding)
    cols: np.ndarray
    drop: tuple[int, int]  # rows, columns at the end of the padded input no window covers
    pooled: np.ndarray | None = None  # (H'', W'') or (K, H'', W'')
    pool: tuple[str, int, int] = ("none", 2, 2)  # mode, window, stride


WHITE = np.ones(3)
GREY_TEXT = np.array([0.45, 0.45, 0.45])
DARK_TEXT = np.array([0.15, 0.15, 0.15])
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


@lru_cache(maxsize=2)
def _font(bold: bool = False):
    from matplotlib import font_manager, ft2font

    weight = "bold" if bold else "normal"
    props = font_manager.FontProperties(family="DejaVu Sans", weight=weight)
    return ft2font.FT2Font(font_manager.findfont(props))


@lru_cache(maxsize=4096)
def _glyphs(text: str, size: int, bold: bool = False) -> tuple[np.ndarray, int]:
    """Anti-aliased coverage ``(h, w)`` in [0, 1] of ``text`` at ``size`` pixels, and the
    number of its rows below the baseline."""
    font = _font(bold)
    font.set_size(size, 72)
    font.set_text(text, 0.0)
    font.draw_glyphs_to_bitmap(antialiased=True)
    coverage = np.asarray(font.get_image(), dtype=np.float32) / np.float32(255.0)
    coverage.flags.writeable = False  # shared by every caller through the cache
    return coverage, int(round(font.get_descent() / 64))


def _text(
    img, text: str, x: float, y: float, size: int, colour=DARK_TEXT, align="center", bold=False
) -> int:
    """Write ``text`` with its baseline at row ``y``; ``x`` is its centre, left or right end.
    Returns the width in pixels. Parts outside ``img`` are cut off."""
    coverage, descent = _glyphs(text, size, bold)
    h, w = coverage.shape
    left = int(round(x - w / 2 if align == "center" else x if align == "left" else x - w))
    top = int(round(y)) - (h - descent)
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(top + h, img.shape[0]), min(left + w, img.shape[1])
    if r1 > r0 and c1 > c0:
        alpha = coverage[r0 - top : r1 - top, c0 - left : c1 - left, None]
        img[r0:r1, c0:c1] = img[r0:r1, c0:c1] * (1 - alpha) + np.asarray(colour) * alpha
    return w


def _text_width(text: str, size: int, bold: bool = False) -> int:
    return _glyphs(text, size, bold)[0].shape[1]


def _fill(img, top, left, height, width, colour, alpha=1.0) -> None:
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(top + height, img.shape[0]), min(left + width, img.shape[1])
    if r1 > r0 and c1 > c0:
        img[r0:r1, c0:c1] = img[r0:r1, c0:c1] * (1 - alpha) + np.asarray(colour) * alpha


def _outline(img, top, left, height, width, colour, thick=3 * SCALE, dashed=False) -> None:
    """A rectangle's border drawn ``thick`` pixels outward from the given box."""
    top, left = top - thick, left - thick
    height, width = height + 2 * thick, width + 2 * thick
    sides = [
        (top, left, thick, width),
        (top + height - thick, left, thick, width),
        (top, left, height, thick),
        (top, left + width - thick, height, thick),
    ]
    for r, c, h, w in sides:
        if not dashed:
            _fill(img, r, c, h, w, colour)
            continue
        horizontal = w > h
        length = w if horizontal else h
        for start in range(0, length, 8 * SCALE):  # 5 on, 3 off
            step = min(5 * SCALE, length - start)
            if horizontal:
                _fill(img, r, c + start, h, step, colour)
            else:
                _fill(img, r + start, c, step, w, colour)


def _hatch(img, top, left, height, width, colour=RED) -> None:
    """Diagonal hatching plus a light tint over a box (for dropped rows and columns)."""
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(top + height, img.shape[0]), min(left + width, img.shape[1])
    if r1 <= r0 or c1 <= c0:
        return
    r, c = np.ogrid[r0:r1, c0:c1]
    period, width = 7 * SCALE, 1.5 * SCALE
    lines = (((r + c) % period) < width) | (((r - c) % period) < width)
    alpha = np.where(lines, 0.75, 0.15)[..., None]
    img[r0:r1, c0:c1] = img[r0:r1, c0:c1] * (1 - alpha) + colour * alpha


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
    labels = [_fmt_sum(round(v, 2)) for v in ticks]
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


def _input_colours(frame: _Frame, padded: np.ndarray, inside: np.ndarray) -> np.ndarray:
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


def _cell_px(frame: _Frame) -> int:
    _, h, w = frame.x.shape
    longest = max(h, w) + 2 * frame.padding
    return int(max(1, min(40 * SCALE, PANEL // longest)))


def _input_block(frame: _Frame, px: int) -> np.ndarray:
    x, p = frame.x, frame.padding
    channels, h, w = x.shape
    padded = np.pad(x, ((0, 0), (p, p), (p, p)))  # (C, H + 2P, W + 2P)
    inside = np.zeros(padded.shape[1:], dtype=bool)
    inside[p : p + h, p : p + w] = True
    rgb = _input_colours(frame, padded, inside)
    labels = colours = None
    if not frame.photo:
        labels = [[_fmt(v) for v in row] for row in padded[0]]
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


def _common_denominator(k: np.ndarray, largest: int = 256) -> int:
    """The smallest d <= ``largest`` that makes every weight times d an integer, else 1.

    >>> _common_denominator(np.array([[1, 2, 1]]) / 16)
    16
    """
    d = 1
    for value in k.ravel():
        fraction = Fraction(float(value)).limit_denominator(largest)
        if abs(float(fraction) - value) > 1e-9:
            return 1
        d = d * fraction.denominator // gcd(d, fraction.denominator)
        if d > largest:
            return 1
    return d


def _middle_block(frame: _Frame) -> np.ndarray:
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
        labels = [[f"{v:.2f}" if digits else _fmt(v) for v in row] for row in values[0]]
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
        text = f"sum of products = {_fmt_sum(round(total, 4))}"
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
    denominator = _common_denominator(k)
    numerators = np.rint(k * denominator).astype(int)
    if denominator > 1:
        labels = [[_over(n, denominator).replace("-", MINUS) for n in row] for row in numerators]
        room = px - 6 * SCALE  # as in _cells
        if all(_text_width(t, 9 * SCALE) <= room for row in labels for t in row):
            return labels, title
        labels = [[_fmt(n) for n in row] for row in numerators]
        return labels, f"{title}  × 1/{denominator}"
    return [[_weight(float(v)).replace("-", MINUS) for v in row] for row in k], title


def _map_block(values, frame: _Frame, title: str, px: int, highlight, scale=None):
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
        labels = None if frame.photo else [[_fmt(v) for v in row] for row in values]
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


def render(frame: _Frame) -> np.ndarray:
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


def _compose(frame: _Frame, px: int) -> np.ndarray:
    """The panels as floats ``(H, W, 3)`` in [0, 1], cells ``px`` wide: side by side, or
    with the pooled map under the output when four panels in a row would be too wide."""
    i, j = frame.cell
    out_h, out_w = frame.output.shape[-2:]
    output, scale = _map_block(frame.output, frame, f"output {out_h}×{out_w}", px, [(i, j, False)])
    blocks = [_input_block(frame, px), _middle_block(frame), output]
    if frame.pooled is not None:
        mode, window, stride = frame.pool
        pooled_h, pooled_w = frame.pooled.shape[-2:]
        cells = [  # pooled cells whose window holds the current output cell
            (r, c, True)
            for r in range(pooled_h)
            for c in range(pooled_w)
            if r * stride <= i < r * stride + window and c * stride <= j < c * stride + window
        ]
        name = "max" if mode == "max" else "average"
        title = f"{name} pool {window}×{window}, stride {stride}"
        blocks.append(_map_block(frame.pooled, frame, title, px, cells, scale)[0])
        gap = 26 * SCALE  # as in _stack
        wide = sum(b.shape[1] for b in blocks) + 3 * gap + 2 * BORDER[1]
        if wide > MAX_WIDTH:
            blocks = blocks[:2] + [_stack(blocks[2:], gap=10 * SCALE, vertical=True)]
    return _stack(blocks)


# --- the widget ---------------------------------------------------------------------------


def _hbox(*children, **layout) -> W.HBox:
    return W.HBox(list(children), layout=W.Layout(**layout))


class ConvolutionExplorer(W.VBox):
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

    # --- controls and layout ------------------------------------------------------------

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
        self._quietly(self.kernel_text, value=_kernel_text(numerators, denominator))

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
                new = np.zeros((change["new"],) * 2)
                a, b = (np.array(new.shape) - k.shape[0]) // 2, 0
                if a[0] >= 0:
                    new[a[0] : a[0] + k.shape[0], a[0] : a[0] + k.shape[0]] = k
                else:
                    b = -a[0]
                    new = k[b : b + change["new"], b : b + change["new"]]
                self._quietly(self.kernel_text, value=_matrix_text(new))
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
            self._quietly(self.mixing_text, value=_matrix_text(MIXING_PRESETS[name]))

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
        self._quietly(self.grid_text, value=_matrix_text(grid))
        self.refresh()

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
            self.grid_error.value = _error_html(error) + " (showing the last valid grid)"
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
            self.kernel_error.value = _error_html(error) + " (showing the last valid kernel)"
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
            self.mixing_error.value = _error_html(error) + " (showing the last valid matrix)"
            return
        self.mixing_error.value = ""
        self.mixing = m
        known = [
            name
            for name, preset in MIXING_PRESETS.items()
            if np.shape(preset) == m.shape and np.allclose(preset, m)
        ]
        self._quietly(self.mixing_preset, value=known[0] if known else "custom")

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
        self.weights, self.output, title = self._convolve(mixing, s, p, d)
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
        self.formula.value = self._formula_html(f, h, w, s, p, d, channels, out_h, out_w)
        self.warning.value = self._warning_html(notes, f, h, w, s, p, d, drop)
        self.products.value = self._products_html()
        frame = _Frame(
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

    def _convolve(self, mixing: bool, s: int, p: int, d: int):
        """The weights as applied, the output and the kernel panel's title."""
        x = self.input  # (C, H, W)
        if mixing:
            weights = self.mixing  # (K, C): a 1x1 convolution with K filters
            out = conv.correlate2d(x, weights[:, :, None, None], s, p, 1)  # (K, H', W')
            return weights, out, "1x1 mixing matrix"
        flip = self.operation.value == "convolution"
        k = self.kernel[::-1, ::-1] if flip else self.kernel
        weights = np.repeat(k[None], x.shape[0], axis=0)  # (C, F, F): one filter, depth C
        title = "kernel flipped (convolution)" if flip else "kernel"
        if x.shape[0] == 3:
            title += ", same on R, G, B"
        return weights, conv.correlate2d(x, weights, s, p, d), title  # (H', W')

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

    def _formula_html(self, f, h, w, s, p, d, channels, out_h, out_w) -> str:
        def one(n, size):
            inner = n - d * (f - 1) - 1 + 2 * p
            return (
                f"⌊({n} − {d}·({f} − 1) − 1 + 2·{p})/{s}⌋ + 1 = ⌊{inner}/{s}⌋ + 1 = <b>{size}</b>"
            )

        lines = ["<b>Output size</b> ⌊(N − d(F − 1) − 1 + 2P)/S⌋ + 1:"]
        if h == w:
            lines.append(f"rows and columns: {one(h, out_h)}")
        else:
            lines.append(f"rows: {one(h, out_h)}; columns: {one(w, out_w)}")
        lines.append(f"→ output {out_h}×{out_w}.")
        body = " ".join(lines)
        extra = []
        if d > 1:
            extra.append(
                f"effective kernel size d(F − 1) + 1 = {d}·({f} − 1) + 1 = {d * (f - 1) + 1}"
            )
        k_out = self.output.shape[0] if self.output.ndim == 3 else 1
        params = conv.conv_params(channels, k_out, f)
        extra.append(
            f"parameters of this layer ({k_out} filter{'s' if k_out > 1 else ''} of depth "
            f"D₁ = {channels}, with biases): (F·F·D₁)·K + K = ({f}·{f}·{channels})·{k_out} + "
            f"{k_out} = {params}"
        )
        if self.pooled is not None:
            window, stride = self.pool_window.value, self.pool_stride.value
            ph, pw = self.pooled.shape[-2:]
            sizes = f"⌊({out_h} − {window})/{stride}⌋ + 1 = <b>{ph}</b>"
            if out_h != out_w:
                sizes += f"; columns ⌊({out_w} − {window})/{stride}⌋ + 1 = <b>{pw}</b>"
            extra.append(f"pooling ⌊(N − F)/S⌋ + 1: {sizes}")
        return f"<div style='line-height:1.6'>{body}<br>" + "<br>".join(extra) + "</div>"

    def _warning_html(self, notes, f, h, w, s, p, d, drop) -> str:
        messages = list(notes)
        for axis, n, count in (("row", h, drop[0]), ("column", w, drop[1])):
            if not count:
                continue
            effective = d * (f - 1) + 1
            exact = (n - effective + 2 * p) / s + 1
            formula = f"({n} − {effective} + {2 * p})/{s} + 1 = {exact:.2f}"
            first = n + p - count  # first dropped index in input coordinates
            names = [str(k) if k < n else f"{k} (padding)" for k in range(first, n + p)]
            plural = "s" if count > 1 else ""
            messages.append(
                f"stride {s} does not tile the {n} {axis}s: {formula} is not an integer, so "
                f"{axis}{plural} {', '.join(names)} of the input {'are' if count > 1 else 'is'} "
                f"never read (hatched in red)."
            )
        if self.pooled is not None:
            out_h, out_w = self.output.shape[-2:]
            window, stride = self.pool_window.value, self.pool_stride.value
            for axis, n in (("row", out_h), ("column", out_w)):
                left = conv.dropped(n, window, stride)
                if left:
                    messages.append(
                        f"pooling window {window}, stride {stride} skips the last {left} "
                        f"output {axis}{'s' if left > 1 else ''}."
                    )
        if not messages:
            return ""
        items = "<br>".join(f"⚠ {html.escape(m)}" for m in messages)
        return (
            "<div style='background:#fff4e5;border-left:4px solid #ff7f0e;padding:4px 8px;"
            f"line-height:1.45'>{items}</div>"
        )

    def _products_html(self) -> str:
        x, (i, j) = self.input, self.cell
        rows, cols = self.window
        _, h, w = x.shape
        photo = self.source.value == "photo"

        def value_at(c, r, q):
            inside = 0 <= r < h and 0 <= q < w
            return (x[c, r, q] if inside else 0.0), not inside

        lines = []
        if self.mode.value == "mix":
            pixel = [value_at(c, rows[0], cols[0]) for c in range(x.shape[0])]
            for k, weights in enumerate(self.weights):
                terms = [
                    f"{_factor_text(_weight(float(wk)))}·{_factor(value, False, grey=padded)}"
                    for wk, (value, padded) in zip(weights, pixel, strict=True)
                ]
                total = sum(wk * value for wk, (value, _) in zip(weights, pixel, strict=True))
                name = "RGB"[k] if len(self.weights) == 3 else "out"
                lines.append(
                    f"{name}[{i}, {j}] = " + " + ".join(terms) + f"{EQUALS}<b>{_fmt_sum(total)}</b>"
                )
            return (
                "<div style='font-family:monospace;font-size:12px'>"
                + "<br>".join(lines)
                + (
                    "<br><small>one pixel, all channels: pixel values in [0, 1], 2 decimals</small>"
                    "</div>"
                )
            )
        total = 0.0
        channels = []
        denominator = _common_denominator(self.weights[0])  # 2/16 as in the kernel box
        for c, kernel in enumerate(self.weights):
            terms, subtotal = [], 0.0
            for a, r in enumerate(rows):
                for b, q in enumerate(cols):
                    value, padded = value_at(c, r, q)
                    subtotal += kernel[a, b] * value
                    weight = _factor(kernel[a, b], True, denominator=denominator)
                    terms.append(f"{weight}·{_factor(value, False, grey=padded)}")
            total += subtotal
            channels.append((terms, subtotal))
        head = f"output[{i}, {j}] = "
        if len(channels) == 1:
            lines.append(head + " + ".join(channels[0][0]) + f"{EQUALS}<b>{_fmt_sum(total)}</b>")
        else:
            for name, (terms, subtotal) in zip("RGB", channels, strict=True):
                lines.append(f"{name}: " + " + ".join(terms) + f"{EQUALS}{_fmt_sum(subtotal)}")
            sums = " + ".join(_fmt_sum(subtotal) for _, subtotal in channels)
            lines.append(head + f"{sums} = <b>{_fmt_sum(total)}</b>")
        in_padding = np.any((rows < 0) | (rows >= h)) or np.any((cols < 0) | (cols >= w))
        note = "input values in grey are padding zeros" if in_padding else ""
        if photo:
            note = (note + "; " if note else "") + "pixel values in [0, 1], shown to 2 decimals"
        text = "<br>".join(lines)
        if note:
            text += f"<br><small>{note}</small>"
        return f"<div style='font-family:monospace;font-size:12px'>{text}</div>"

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


def _weight(value: float) -> str:
    """A weight without a common denominator (a mixing matrix): up to 4 significant digits.

    >>> _weight(0.299), _weight(-0.5), _weight(2.0), _weight(1 / 3)
    ('0.299', '-0.5', '2', '0.3333')
    """
    return f"{value:.4g}"


def _matrix_text(matrix) -> str:
    """Rows of numbers for a Textarea: over the common denominator when there is one (as the
    preset kernels are written, 2/16), else integers and up to 4 significant digits."""
    matrix = np.asarray(matrix, dtype=float)
    denominator = _common_denominator(matrix)
    if denominator > 1:
        return _kernel_text(np.rint(matrix * denominator).astype(int), denominator)
    return _aligned([[_weight(float(v)) for v in row] for row in matrix])


def _error_html(error: Exception) -> str:
    return f"<span style='color:#c62828'>⚠ {html.escape(str(error))}</span>"
