"""Shared rendering helpers: PNG bytes for an ``ipywidgets.Image``.

The explorers never call ``plt.show()`` inside a callback (that races when callbacks queue up,
ipywidgets issue 1722); they draw with the Agg canvas into bytes (:func:`figure_to_png`), or
compose a frame as a NumPy bitmap and encode it directly (:func:`array_to_png`).
"""

from __future__ import annotations

import io

import numpy as np

__all__ = ["new_figure", "figure_to_png", "array_to_png"]


def new_figure(width: float, height: float, dpi: int = 100):
    """A figure that belongs to no pyplot window (so it is never shown twice)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def figure_to_png(fig, dpi: int | None = None) -> bytes:
    """Draw ``fig`` and return PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def array_to_png(rgb: np.ndarray) -> bytes:
    """PNG bytes of a bitmap ``rgb: (H, W, 3)`` of uint8, pixel for pixel.

    Compression level 1: a frame of an explorer is mostly flat colour, so the file is barely
    larger than at the default level and the encoding several times faster.

    >>> png = array_to_png(np.zeros((2, 3, 3), dtype=np.uint8))
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    """
    from PIL import Image

    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be an (H, W, 3) bitmap; got shape {rgb.shape}")
    if rgb.dtype != np.uint8:
        raise ValueError(f"rgb must hold uint8 values 0-255; got dtype {rgb.dtype}")
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buffer, format="png", compress_level=1)
    return buffer.getvalue()
