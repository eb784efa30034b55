"""Latency of the interactive explorers: time from a control change to a new PNG image.

Prints one JSON line per explorer case, e.g.
``{"widget": "gradient_descent", "median_ms": 42.0, "p90_ms": 60.0, "cpu_median_ms": 40.1,
"cpu_p90_ms": 55.2, "n": 50}``.
Each explorer lists the control changes a student makes in ``benchmark_changes()``; every
change re-renders synchronously, so the wall time of the call is the latency (without the
browser round trip, which the browser tests cover). The CPU time of the process is printed
too: on a machine shared with other work it is the steadier figure.
The ``*_lr_sweep`` cases repeat what the browser test does: ArrowRight on the learning-rate
slider (η times 10^0.01, a new run every time) 24 times from the default.

Run: ``python benchmarks/widget_latency.py [--n 50]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import time


def lr_sweep(explorer, presses: int = 24) -> list:
    """The browser latency test's changes: ``presses`` steps of 0.01 up the log-scale η slider."""

    def press():
        explorer.lr.value = round(explorer.lr.value * 10**0.01, 12)

    return [("lr +0.01 decade", press)] * presses


def timed(name: str, explorer, changes: list, n: int) -> tuple[list, list]:
    """Wall and CPU milliseconds of ``n`` changes (cycling through ``changes``)."""
    times, cpu = [], []
    for i in range(n):
        label, change = changes[i % len(changes)]
        before = explorer.image.value
        start, start_cpu = time.perf_counter(), time.process_time()
        change()
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        if explorer.image.value == before:
            raise RuntimeError(f"{name}: change {label!r} did not produce a new image")
    return times, cpu


def summary(name: str, times: list, cpu: list) -> dict:
    def p90(values):
        return round(sorted(values)[int(0.9 * (len(values) - 1))], 1)

    return {
        "widget": name,
        "median_ms": round(statistics.median(times), 1),
        "p90_ms": p90(times),
        "cpu_median_ms": round(statistics.median(cpu), 1),
        "cpu_p90_ms": p90(cpu),
        "n": len(times),
    }


def measure(name: str, explorer, n: int) -> dict:
    """The explorer's own ``benchmark_changes()``, ``n`` of them."""
    return summary(name, *timed(name, explorer, explorer.benchmark_changes(), n))


def measure_sweeps(name: str, build, sweeps: int = 3) -> dict:
    """``sweeps`` lr sweeps of 24 presses, each on a new explorer (as in the browser test)."""
    times, cpu = [], []
    for _ in range(sweeps):
        explorer = build()
        changes = lr_sweep(explorer)
        wall, used = timed(name, explorer, changes, len(changes))
        times += wall
        cpu += used
    return summary(name, times, cpu)


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
    sweeps = [
        ("gradient_descent_lr_sweep", lambda: widgets.gradient_descent_explorer()),
        (
            "gradient_descent_2d_lr_sweep",
            lambda: widgets.gradient_descent_explorer(function="rosenbrock"),
        ),
    ]
    for name, build in sweeps:
        print(json.dumps(measure_sweeps(name, build)), flush=True)


if __name__ == "__main__":
    main()
