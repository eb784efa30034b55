"""How fast the offline data sets are made (target: 10,000 shapes images in <= 5 s).

Prints one JSON line per data set, e.g.
``{"data": "make_shapes", "n": 10000, "image_size": 32, "seconds": 1.7}``.

Run: ``python benchmarks/data_speed.py [--n 10000]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from course import data  # noqa: E402


def _timed(make):
    start = time.perf_counter()
    result = make()
    return result, round(time.perf_counter() - start, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()
    for size in (32,):
        (X, _), seconds = _timed(lambda s=size: data.make_shapes(args.n, image_size=s, seed=0))
        row = {"data": "make_shapes", "n": args.n, "image_size": size, "seconds": seconds}
        print(json.dumps({**row, "shape": list(X.shape), "dtype": str(X.dtype)}))
    _, seconds = _timed(lambda: data.load_digits(image_size=28))
    print(json.dumps({"data": "load_digits(image_size=28)", "seconds": seconds}))


if __name__ == "__main__":
    main()
