"""Speed of lab 04's vectorized (im2col) convolution against ``torch.nn.functional.conv2d``.

Prints one JSON line per data type, e.g.
``{"case": "x (32, 3, 32, 32), w (16, 3, 3, 3), padding 1, float32, 1 thread",
"im2col_ms": 1.9, "torch_ms": 0.6, "ratio": 3.2}``.
Times are the best of ``--repeats`` runs (the least disturbed by other processes); the target
of the issue is ``ratio <= 5``.

The course package does not ship graded implementations, so the functions come from the
solution notebook ``solutions/lab04_convolution/lab04_convolution.ipynb``: the script runs
its imports cell and its solution cells, nothing else.

Run: ``python benchmarks/conv_speed.py [--repeats 30] [--threads 1]``
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "solutions" / "lab04_convolution" / "lab04_convolution.ipynb"
SHAPE_X = (32, 3, 32, 32)
SHAPE_W = (16, 3, 3, 3)


def load_solution(path: Path = NOTEBOOK) -> dict:
    """The namespace left by the notebook's imports cell and solution cells."""
    cells = json.loads(path.read_text())["cells"]
    namespace: dict = {"__name__": "lab04_solution"}
    for cell in cells:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("grade_id") == "imports" or meta.get("solution"):
            code = compile("".join(cell["source"]), f"{path.name}:{meta['grade_id']}", "exec")
            exec(code, namespace)  # the course's own solution cells, nothing else
    return namespace


def best_ms(function, repeats: int) -> float:
    """Fastest of ``repeats`` calls of ``function()``, in milliseconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1000 * min(times)


def measure(conv_forward_im2col, dtype: str, repeats: int, threads: int) -> dict:
    """Time the solution and PyTorch on the same input; fail loudly if they disagree."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(0)
    x, w, b = (rng.normal(size=s).astype(dtype) for s in (SHAPE_X, SHAPE_W, SHAPE_W[:1]))
    xt, wt, bt = (torch.from_numpy(a) for a in (x, w, b))
    ours = conv_forward_im2col(x, w, b, padding=1)[0]
    theirs = F.conv2d(xt, wt, bt, padding=1).numpy()
    tolerance = 1e-3 if dtype == "float32" else 1e-10
    if not np.allclose(ours, theirs, atol=tolerance):
        raise RuntimeError(f"the im2col convolution disagrees with torch ({dtype})")
    im2col_ms = best_ms(lambda: conv_forward_im2col(x, w, b, padding=1), repeats)
    torch_ms = best_ms(lambda: F.conv2d(xt, wt, bt, padding=1), repeats)
    plural = "thread" if threads == 1 else "threads"
    return {
        "case": f"x {SHAPE_X}, w {SHAPE_W}, padding 1, {dtype}, {threads} {plural}",
        "im2col_ms": round(im2col_ms, 2),
        "torch_ms": round(torch_ms, 2),
        "ratio": round(im2col_ms / torch_ms, 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1, help="for NumPy's BLAS and torch")
    args = parser.parse_args(argv)
    os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    os.environ["MKL_NUM_THREADS"] = str(args.threads)
    import torch  # after the thread settings, which BLAS reads when it loads

    torch.set_num_threads(args.threads)
    conv = load_solution()["conv_forward_im2col"]
    for dtype in ("float32", "float64"):
        print(json.dumps(measure(conv, dtype, args.repeats, args.threads)))


if __name__ == "__main__":
    main()
