"""Variant tables for :mod:`tools.mutants`: per lab, typical mistakes and correct alternatives.

Each module ``labNN.py`` defines ``VARIANTS``, a list of :class:`tools.mutants.Variant`:
full replacement sources of the lab's solution cells, or, for a mistake that is the solution
with a line or two changed, those changes (:func:`tools.mutants.edit`).
"""

from __future__ import annotations

import importlib

__all__ = ["LABS", "variants_for"]

#: Lab name -> module of its variant table.
LABS = {
    "lab01_linear_regression": "tools.variants.lab01",
    "lab02_optimizers": "tools.variants.lab02",
    "lab03_backprop": "tools.variants.lab03",
    "lab04_convolution": "tools.variants.lab04",
}


def variants_for(lab: str) -> list:
    """The variants of ``lab`` (a list of :class:`tools.mutants.Variant`)."""
    if lab not in LABS:
        raise KeyError(f"no variant table for {lab!r}; known labs: {', '.join(LABS)}")
    return list(importlib.import_module(LABS[lab]).VARIANTS)
