"""Shared rendering helper: a matplotlib figure drawn off-screen to PNG bytes.

The explorers never call ``plt.show()`` inside a callback (that races when callbacks queue up,
ipywidgets issue 1722); they draw with the Agg canvas into bytes for an ``ipywidgets.Image``.
"""

from __future__ import annotations

import io

__all__ = ["new_figure", "figure_to_png"]


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
