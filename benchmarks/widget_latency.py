"""Latency of the interactive explorers: time from a control change to a new PNG image.

Prints one JSON line per explorer case, e.g.
``{"widget": "gradient_descent", "median_ms": 42.0, "p90_ms": 60.0, "n": 50}``.
Each explorer lists the control changes a student makes in ``benchmark_changes()``; every
change re-renders synchronously, so the wall time of the call is the latency (without the
browser round trip, which the browser tests cover).

Run: ``python benchmarks/widget_latency.py [--n 50]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import time


def measure(name: str, explorer, n: int) -> dict:
    changes = explorer.benchmark_changes()
    times = []
    for i in range(n):
        label, change = changes[i % len(changes)]
        before = explorer.image.value
        start = time.perf_counter()
        change()
        times.append((time.perf_counter() - start) * 1000)
        if explorer.image.value == before:
            raise RuntimeError(f"{name}: change {label!r} did not produce a new image")
    times.sort()
    return {
        "widget": name,
        "median_ms": round(statistics.median(times), 1),
        "p90_ms": round(times[int(0.9 * (len(times) - 1))], 1),
        "n": n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50, help="control changes per explorer")
    args = parser.parse_args()
    from course import widgets

    cases = [
        ("gradient_descent", lambda: widgets.gradient_descent_explorer()),
        ("gradient_descent_2d", lambda: widgets.gradient_descent_explorer(function="rosenbrock")),
        ("convolution", lambda: widgets.convolution_explorer()),
        ("convolution_photo", lambda: widgets.convolution_explorer(source="photo")),
    ]
    for name, build in cases:
        print(json.dumps(measure(name, build(), args.n)), flush=True)


if __name__ == "__main__":
    main()
