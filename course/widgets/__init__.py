"""Interactive explorers for the lectures (the user interface only; the math lives in
:mod:`course.surfaces`, :mod:`course.optim` and :mod:`course.conv`).

Both explorers use only ipywidgets API shared by 7.7 (Colab) and 8.x, and draw each frame
to a PNG shown in an ``ipywidgets.Image``. Each is split along the way data flows: a model
(``*_model``: the configuration -> the numbers and texts shown; no widgets, no drawing), a
view (``*_view``: numbers -> one frame) and the controls (ipywidgets wiring and callbacks:
``gradient_descent``; ``convolution_controls`` and ``convolution``). Both draw and encode
through :mod:`course.widgets.raster`.
"""

from __future__ import annotations

__all__ = ["gradient_descent_explorer", "convolution_explorer"]


def gradient_descent_explorer(**kwargs):
    """Build the gradient-descent explorer; see :mod:`course.widgets.gradient_descent`."""
    from course.widgets.gradient_descent import GradientDescentExplorer

    return GradientDescentExplorer(**kwargs)


def convolution_explorer(**kwargs):
    """Build the convolution explorer; see :mod:`course.widgets.convolution`."""
    from course.widgets.convolution import ConvolutionExplorer

    return ConvolutionExplorer(**kwargs)
