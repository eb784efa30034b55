"""The second verdict on the mutation tables: does the referee agree with the lab's tests?

``python -m grader.variants lab01 [...]`` builds, for every variant of ``tools/variants``, the
submission the variant describes (the solution notebook with the variant's solution cells),
runs :func:`grader.referee.referee` on it in the sandbox and prints, per variant, the test
cells that failed. A correct variant must pass every cell (the second verdict must never cost
an honest solution written differently its points); a wrong variant should fail at least the
cells its table names (where it does not, the kernel's verdict still catches it).
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

import nbformat

from grader.referee import referee
from grader.verdict import KERNEL_ONLY, worker_cells

__all__ = ["LABS", "submission_cells", "judge", "main"]

ROOT = Path(__file__).resolve().parent.parent
LABS = {"lab01": "lab01_linear_regression", "lab02": "lab02_optimizers",
        "lab03": "lab03_backprop", "lab04": "lab04_convolution", "lab05": "lab05_cnn_pytorch",
        "lab06": "lab06_batchnorm_resnet", "lab07": "lab07_augmentation_regularization",
        "lab08": "lab08_transfer_learning", "lab09": "lab09_visualization_adversarial",
        "lab10": "lab10_gnn"}
#: The NumPy labs: their worker cannot import torch, torchvision or scipy.
NUMPY_LABS = {"lab01_linear_regression", "lab02_optimizers", "lab03_backprop",
              "lab04_convolution"}


def _source(lab: str) -> Path:
    return ROOT / "solutions" / lab / f"{lab}.ipynb"


def submission_cells(lab: str, replace: dict | None = None) -> list[str]:
    """The worker's cells of the solution notebook with ``replace`` (a variant) applied."""
    from tools.mutants import resolve

    nb = nbformat.read(_source(lab), as_version=4)
    solutions = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
                 if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    sources = resolve(replace or {}, solutions)
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in sources:
            cell.source = sources[grade_id]
    return worker_cells(nb)


def judge(lab: str, cells: list[str]) -> dict:
    """The referee's verdicts on ``cells`` for ``lab`` (sandboxed)."""
    return referee({"source": str(_source(lab)), "cells": cells,
                    "numpy_only": lab in NUMPY_LABS, "kernel_only": KERNEL_ONLY.get(lab, []),
                    "timeout": 60, "hide": [str(ROOT)], "sandbox": True})


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    bad = 0
    for short in args or list(LABS):
        lab = LABS[short]
        table = importlib.import_module(f"tools.variants.{short}")
        caught = kept = 0
        started = time.monotonic()
        for variant in table.VARIANTS:
            outcome = judge(lab, submission_cells(lab, variant.replace))
            failed = sorted(k for k, v in outcome["verdicts"].items() if not v["passed"])
            if variant.kind == "correct":
                ok = not failed
                kept += ok
            else:
                ok = bool(set(failed) & set(variant.fails))
                caught += ok
            bad += variant.kind == "correct" and not ok
            print(f"{'ok ' if ok else 'NO '} {variant.kind:7s} {variant.name}: "
                  f"failed {failed or 'nothing'}")
        wrong = sum(v.kind == "wrong" for v in table.VARIANTS)
        print(f"{short}: wrong caught by the second verdict {caught}/{wrong}, correct kept "
              f"{kept}/{len(table.VARIANTS) - wrong}, {time.monotonic() - started:.0f} s\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
