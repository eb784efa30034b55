"""Interactive explorers for the lectures (the user interface only; the math lives in
:mod:`course.surfaces`, :mod:`course.optim` and :mod:`course.conv`).

Both explorers use only ipywidgets API shared by 7.7 (Colab) and 8.x, and draw each frame
to a PNG shown in an ``ipywidgets.Image``.
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
