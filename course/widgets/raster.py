"""The one rendering path of the explorers: bitmaps, text on them, and PNG bytes.

Both explorers end in :func:`array_to_png` (a PNG without row filters, zlib level 1: see
there why not Pillow's encoder).
The gradient-descent explorer draws its curves and contours with matplotlib's Agg canvas
(:func:`new_figure`) and hands the canvas pixels to it; the convolution explorer composes a
frame as a float bitmap ``(H, W, 3)`` in [0, 1] with the helpers below: anti-aliased text
from Pillow's ``ImageFont`` (FreeType; DejaVu Sans, the font matplotlib ships), and filled,
outlined and hatched boxes blended into the array (slices of a NumPy array, with an alpha,
which Pillow's ``ImageDraw`` cannot blend onto a float canvas).

Callbacks never call ``plt.show()`` (that races when callbacks queue up, ipywidgets issue
1722): frames are bytes put into an ``ipywidgets.Image``.
"""

from __future__ import annotations

import io
import struct
import zlib
from functools import lru_cache

import numpy as np

__all__ = [
    "new_figure",
    "array_to_png",
    "text",
    "text_width",
    "fill",
    "outline",
    "hatch",
    "WHITE",
    "DARK_TEXT",
]

WHITE = np.ones(3)
DARK_TEXT = np.array([0.15, 0.15, 0.15])


def new_figure(width: float, height: float, dpi: int = 100):
    """A matplotlib figure on an Agg canvas that belongs to no pyplot window (so it is never
    shown twice); ``width`` and ``height`` in inches."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def array_to_png(pixels: np.ndarray) -> bytes:
    """PNG bytes of a bitmap ``pixels: (H, W, 3)`` or ``(H, W, 4)`` (RGBA) of uint8.

    Written out here (signature, header, the rows with filter byte 0 compressed by zlib at
    level 1, end) instead of Pillow's encoder, which always tries four row filters per row
    before compressing (its ``ZipEncode.c``; no option turns that off): on the explorers'
    frames (0.8-1 megapixels, mostly flat colour) that is ~3 times slower, and it cost a
    convolution frame more than its drawing. ``python benchmarks/png_encoding.py`` measures
    both; the tests decode these files with Pillow.

    >>> png = array_to_png(np.zeros((2, 3, 3), dtype=np.uint8))
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    """
    pixels = np.asarray(pixels)
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise ValueError(
            f"pixels must be an RGBA (H, W, 4) or RGB (H, W, 3) bitmap; got shape {pixels.shape}"
        )
    if pixels.dtype != np.uint8:
        raise ValueError(f"pixels must hold uint8 values 0-255; got dtype {pixels.dtype}")
    h, w, channels = pixels.shape
    rows = np.empty((h, 1 + channels * w), dtype=np.uint8)
    rows[:, 0] = 0  # filter type 0 (none) on every row
    rows[:, 1:].reshape(h, w, channels)[...] = pixels  # a view: no copy of a strided bitmap
    colour_type = 2 if channels == 3 else 6  # truecolour, truecolour with alpha
    header = struct.pack(">IIBBBBB", w, h, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 1))
        + _chunk(b"IEND", b"")
    )


def _chunk(tag: bytes, data: bytes) -> bytes:
    """A PNG chunk: length, tag, data, CRC-32 of tag and data."""
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def pillow_png(pixels: np.ndarray) -> bytes:
    """The same bitmap through Pillow's PNG encoder at level 1 (for the benchmark)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


# --- text ---------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _font(size: int, bold: bool):
    from matplotlib import font_manager
    from PIL import ImageFont

    weight = "bold" if bold else "normal"
    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans", weight=weight))
    return ImageFont.truetype(path, size)


@lru_cache(maxsize=4096)
def _glyphs(label: str, size: int, bold: bool = False) -> tuple[np.ndarray, int]:
    """Anti-aliased coverage ``(h, w)`` in [0, 1] of ``label`` at ``size`` pixels, and the
    number of its rows below the baseline."""
    from PIL import Image, ImageDraw

    font = _font(size, bold)
    left, top, right, bottom = font.getbbox(label, anchor="ls") if label else (0, 0, 0, 0)
    canvas = Image.new("L", (max(right - left, 0), max(bottom - top, 0)))
    if right > left and bottom > top:
        ImageDraw.Draw(canvas).text((-left, -top), label, fill=255, font=font, anchor="ls")
    coverage = np.asarray(canvas, dtype=np.float32) / np.float32(255.0)
    coverage.flags.writeable = False  # shared by every caller through the cache
    return coverage, max(bottom, 0)


def text_width(label: str, size: int, bold: bool = False) -> int:
    """Width in pixels of ``label`` drawn at ``size`` pixels.

    >>> text_width("", 20), text_width("10", 20) > text_width("1", 20) > 0
    (0, True)
    """
    return _glyphs(label, size, bold)[0].shape[1]


def text(
    img: np.ndarray,
    label: str,
    x: float,
    y: float,
    size: int,
    colour=DARK_TEXT,
    align: str = "center",
    bold: bool = False,
) -> int:
    """Write ``label`` on ``img: (H, W, 3)`` (floats in [0, 1]) with its baseline at row
    ``y``; ``x`` is its centre, left or right end (``align``). Returns the width in pixels.
    Parts outside ``img`` are cut off."""
    if align not in ("center", "left", "right"):
        raise ValueError(f"align must be 'center', 'left' or 'right'; got {align!r}")
    coverage, descent = _glyphs(label, size, bold)
    h, w = coverage.shape
    left = int(round(x - w / 2 if align == "center" else x if align == "left" else x - w))
    top = int(round(y)) - (h - descent)
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(top + h, img.shape[0]), min(left + w, img.shape[1])
    if r1 > r0 and c1 > c0:
        alpha = coverage[r0 - top : r1 - top, c0 - left : c1 - left, None]
        img[r0:r1, c0:c1] = img[r0:r1, c0:c1] * (1 - alpha) + np.asarray(colour) * alpha
    return w


# --- boxes --------------------------------------------------------------------------------


def fill(img: np.ndarray, top: int, left: int, height: int, width: int, colour, alpha=1.0):
    """Blend ``colour`` over a box of ``img: (H, W, 3)``; parts outside are cut off.

    >>> img = np.zeros((4, 4, 3)); fill(img, 1, 1, 2, 9, (1.0, 0.5, 0.0), alpha=0.5)
    >>> img[1, 3].tolist(), img[0, 1].tolist()
    ([0.5, 0.25, 0.0], [0.0, 0.0, 0.0])
    """
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(top + height, img.shape[0]), min(left + width, img.shape[1])
    if r1 > r0 and c1 > c0:
        img[r0:r1, c0:c1] = img[r0:r1, c0:c1] * (1 - alpha) + np.asarray(colour) * alpha


def outline(img, top, left, height, width, colour, thick: int, dashed=False, dash=(5, 8)):
    """A box's border drawn ``thick`` pixels outward from the given box; ``dashed``: runs of
    ``dash[0]`` pixels every ``dash[1]``."""
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
            fill(img, r, c, h, w, colour)
            continue
        horizontal = w > h
        length = w if horizontal else h
        for start in range(0, length, dash[1]):
            step = min(dash[0], length - start)
            if horizontal:
                fill(img, r, c + start, h, step, colour)
            else:
                fill(img, r + start, c, step, w, colour)


def hatch(img, top, left, height, width, colour, period: float, line: float) -> None:
    """Diagonal hatching (lines ``line`` pixels wide every ``period``) plus a light tint of
    ``colour`` over a box of ``img``."""
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(top + height, img.shape[0]), min(left + width, img.shape[1])
    if r1 <= r0 or c1 <= c0:
        return
    r, c = np.ogrid[r0:r1, c0:c1]
    lines = (((r + c) % period) < line) | (((r - c) % period) < line)
    alpha = np.where(lines, 0.75, 0.15)[..., None]
    img[r0:r1, c0:c1] = img[r0:r1, c0:c1] * (1 - alpha) + np.asarray(colour) * alpha
