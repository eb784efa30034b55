"""Helper package of the deep-learning course: data, plots, training, checks, widgets.

Import what a notebook needs explicitly, e.g. ``from course import data, plot, train``.
Importing :mod:`course` itself is cheap: it does not import torch, touch the network or
change any global state.
"""

from __future__ import annotations

__all__ = ["__version__", "setup"]

__version__ = "0.1.0"


def setup(seed: int = 0, quiet: bool = False):
    """Prepare a notebook: seed every random generator, pick the device, say where we run.

    This is what the first cell of every notebook calls. It returns the ``torch.device``
    to use (cuda, then mps, then cpu) and prints one line such as
    ``course 0.1.0 | Python 3.11.7 | torch 2.14.1 | cpu | seed 0``.
    """
    import platform

    from course import train

    train.set_seed(seed)
    try:
        device = train.get_device()
    except ImportError:  # a NumPy-only lab graded where torch cannot be imported
        device = None
    if not quiet:
        try:
            from torch import __version__ as torch_version
        except ImportError:
            torch_version = "not available"
        where = " | Colab" if _in_colab() else ""
        print(
            f"course {__version__} | Python {platform.python_version()} | "
            f"torch {torch_version} | {device or 'cpu'}{where} | seed {seed}"
        )
    return device


def _in_colab() -> bool:
    import sys

    return "google.colab" in sys.modules
