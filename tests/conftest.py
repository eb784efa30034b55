"""Shared fixtures and helpers for the test suite."""

from __future__ import annotations

import os

# Tests run on 2 cores: keep numeric libraries from oversubscribing them.
os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("MPLBACKEND", "Agg")


def one_thread_per_kernel():
    """Generator for a module-scoped fixture: OMP_NUM_THREADS=1 while the module runs two labs
    at once (the variable reaches the kernels, sandboxed ones too), so the 2 cores are not
    oversubscribed, which makes spinning thread pools many times slower."""
    saved = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"
    yield
    if saved is None:
        os.environ.pop("OMP_NUM_THREADS", None)
    else:
        os.environ["OMP_NUM_THREADS"] = saved


def start_ahead(request, fixture: str, work) -> dict:
    """Start ``work(param)`` for every param of ``fixture`` the session selected, two at a
    time in the background, in test order; returns {param: Future}. Work that mostly waits
    for subprocesses (nbgrader, kernels) runs two at once in little more than the time of one
    on 2 cores; each test waits only for its own param."""
    from concurrent.futures import ThreadPoolExecutor

    selected = []
    for item in request.session.items:
        param = getattr(item, "callspec", None) and item.callspec.params.get(fixture)
        if param and param not in selected:
            selected.append(param)
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix=fixture)
    futures = {param: pool.submit(work, param) for param in selected}
    pool.shutdown(wait=False)
    return futures
