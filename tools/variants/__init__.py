"""Variant tables for :mod:`tools.mutants`: per lab, typical mistakes and correct alternatives.

Each module ``labNN.py`` defines ``VARIANTS``, a list of :class:`tools.mutants.Variant`:
full replacement sources of the lab's solution cells, or, for a mistake that is the solution
with a line or two changed, those changes (:func:`tools.mutants.edit`). It also names, in
``CROSS_CHECK``, the one wrong variant that the test suite submits to the real nbgrader to
prove that the harness's score is nbgrader's.

A table belongs to the lab of ``solutions/`` whose name starts with the module's name, so
adding ``labNN.py`` here is all it takes to put a new lab under the mutation test.
"""

from __future__ import annotations

import importlib
from pathlib import Path

__all__ = ["LABS", "variants_for", "cross_check"]

_HERE = Path(__file__).resolve().parent


def _tables() -> dict[str, str]:
    from tools.labs import lab_names

    modules = {p.stem for p in _HERE.glob("lab[0-9][0-9].py")}
    return {
        lab: f"tools.variants.{lab.split('_')[0]}"
        for lab in lab_names()
        if lab.split("_")[0] in modules
    }


#: Lab name -> module of its variant table.
LABS = _tables()


def _module(lab: str):
    if lab not in LABS:
        raise KeyError(f"no variant table for {lab!r}; known labs: {', '.join(LABS)}")
    return importlib.import_module(LABS[lab])


def variants_for(lab: str) -> list:
    """The variants of ``lab`` (a list of :class:`tools.mutants.Variant`)."""
    return list(_module(lab).VARIANTS)


def cross_check(lab: str) -> str:
    """Name of the wrong variant of ``lab`` that is also graded by the real nbgrader."""
    return _module(lab).CROSS_CHECK
