"""Execution time of every lecture and lab solution, run as the tests run them (fresh kernel,
network cut off). Prints one JSON line per notebook, e.g.
``{"notebook": "lectures/01_linear_regression.ipynb", "seconds": 41.2}``.

Run: ``python benchmarks/notebook_times.py [pattern ...]`` (glob patterns relative to the root)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools import nbrun  # noqa: E402
from tools.nbbuild import ROOT  # noqa: E402


def main() -> None:
    patterns = sys.argv[1:] or ["lectures/*.ipynb", "solutions/*/*.ipynb"]
    for pattern in patterns:
        for path in sorted(ROOT.glob(pattern)):
            seconds = nbrun.execute(path)
            print(
                json.dumps({"notebook": str(path.relative_to(ROOT)), "seconds": round(seconds, 1)})
            )


if __name__ == "__main__":
    main()
