"""How fast a whole class is graded, and how long each lab's cells run under the grader.

    python benchmarks/grade_class.py                 # 200 synthetic submissions of lab 01
    python benchmarks/grade_class.py --n 20          # a smaller class
    python benchmarks/grade_class.py --cell-times    # slowest cells of every lab's solution

The class: lab 01 released into a temporary course (with the course's nbgrader_config.py:
sandbox and per-lab timeouts included) and ``--n`` submissions made from the solution and the
release, per 40 students: 22 full marks, 8 partial (mse_loss without the 1/2, which also fails
the gradient-descent test), 8 stubs (the unmodified release), 1 crash (closed_form kills its
kernel) and 1 infinite loop (gradient descent's while loop never counts its epochs); the
first 20 hold every kind. The class is graded by ``tools.grade_class`` with 1 and 2 workers;
the script prints submissions per minute for each, the CPU seconds of nbgrader itself per
submission, the marks by kind (on a loaded machine, correct work that runs into the per-cell
timeout shows up here as "full=70"), and the per-submission floor (kernel start + imports:
unmodified releases, whose cells fail at once).

``--cell-times`` executes every lab's solution notebook the way the grader does
(``NBGRADER_EXECUTION=autograde``, the lab's folder as working directory) and prints the
slowest test cell and the slowest cell of any kind (kernel CPU seconds, which hardly depend on
the machine's load, and wall seconds), with the per-cell timeout recommended for the lab
(:func:`tools.grade_class.recommended_timeout`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools.labs import ROOT, lab_names  # noqa: E402

_CPU = ("import resource as _r; _u = _r.getrusage(_r.RUSAGE_SELF); "
        "print(_u.ru_utime + _u.ru_stime)")


def cell_times(lab: str) -> dict[str, tuple[float, float, bool]]:
    """``{cell: (wall s, kernel CPU s, graded)}`` for every code cell of the lab's solution,
    run as the grader runs it. CPU time hardly depends on the machine's load; wall time does."""
    import nbformat
    from nbclient import NotebookClient

    path = ROOT / "solutions" / lab / f"{lab}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    os.environ["NBGRADER_EXECUTION"] = "autograde"
    os.environ.setdefault("MPLBACKEND", "Agg")
    client = NotebookClient(notebook, timeout=900, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    times, before = {}, 0.0
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            start = time.perf_counter()
            client.execute_cell(cell, index)
            wall = time.perf_counter() - start
            probe = nbformat.v4.new_code_cell(_CPU)
            client.execute_cell(probe, index)
            cpu = float(probe.outputs[0]["text"])
            meta = cell.metadata.get("nbgrader", {})
            times[meta.get("grade_id", f"cell{index}")] = (wall, cpu - before,
                                                            bool(meta.get("grade")))
            before = cpu
    return times


def print_cell_times(labs: list[str]) -> None:
    """A markdown table: the setup cell (imports: no student code), the slowest test cell and
    the slowest other cell, in kernel CPU s (wall s), and the recommended per-cell timeout:
    ten times the slowest cell that runs student code, at least 30 s (which also covers the
    setup cell)."""
    from tools.grade_class import recommended_timeout

    print("| lab | setup | slowest test cell | slowest other cell | solution CPU s "
          "| timeout s |")
    print("|---|---|---|---|---|---|")
    for lab in labs:
        try:
            times = cell_times(lab)
        except Exception as error:  # a cell over 900 s on an overloaded machine, a dead kernel
            print(f"| {lab} | not measured: {type(error).__name__} | | | | |", flush=True)
            continue
        student = {k: v for k, v in times.items() if k not in ("setup", "imports")}
        test = max((k for k, v in student.items() if v[2]), key=lambda k: times[k][1])
        other = max((k for k, v in student.items() if not v[2]), key=lambda k: times[k][1])
        total = sum(cpu for _, cpu, _ in times.values())
        slowest = max(cpu for _, cpu, _ in student.values())

        shown = [f"{times[k][1]:.2f} ({times[k][0]:.2f}) {k}" for k in ("setup", test, other)]
        print(f"| {lab} | {' | '.join(shown)} | {total:.1f} | {recommended_timeout(slowest)} |",
              flush=True)


LAB = "lab01_linear_regression"
#: One of every 40 submissions, in an order that puts every kind among the first 20.
PATTERN = ("full partial stub full crash full partial full loop full stub full partial full "
           "full stub full partial full full full stub full partial full full stub full partial "
           "full full stub full partial full stub full full partial stub").split()
EDITS = {
    "partial": [("mse_loss", "np.mean((y_hat - y) ** 2) / 2", "np.mean((y_hat - y) ** 2)")],
    "crash": [("closed_form", "def closed_form(X, y):\n",
               "def closed_form(X, y):\n    import ctypes\n    ctypes.string_at(0)\n")],
    "loop": [("gradient_descent", "for _ in range(num_epochs):",
              "epoch = 0\n    while epoch < num_epochs:  # the increment is missing")],
}


def make_class(course: Path, n: int) -> dict[str, str]:
    """Release lab 01 into ``course`` and file ``n`` submissions; return student -> kind."""
    import shutil

    from tools.labs import nbgrader, student_solution

    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions" / LAB, course / "solutions" / LAB)
    nbgrader("generate_assignment", LAB, "--force", cwd=course)
    release = course / "labs" / LAB / f"{LAB}.ipynb"
    solved = student_solution(release, course / "solutions" / LAB / f"{LAB}.ipynb")
    kinds = {}
    for index in range(n):
        kind = PATTERN[index % len(PATTERN)]
        notebook = json.loads(json.dumps(solved))
        for cell in notebook["cells"]:
            for grade_id, old, new in EDITS.get(kind, []):
                if cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id:
                    source = "".join(cell["source"])
                    if old not in source:
                        raise ValueError(f"{old!r} is not in the solution cell {grade_id}")
                    cell["source"] = source.replace(old, new)
        student = f"s{index:03d}_{kind}"
        folder = course / "submitted" / student / LAB
        folder.mkdir(parents=True)
        text = release.read_text() if kind == "stub" else json.dumps(notebook)
        (folder / f"{LAB}.ipynb").write_text(text)
        (folder / "timestamp.txt").write_text("2026-12-01 10:00:00.000000 UTC")
        kinds[student] = kind
    return kinds


def grade(course: Path, workers: int) -> dict:
    """grade_class's result, with ``cpu``: CPU seconds of the processes reaped into this one:
    nbgrader's own work; the sandboxed kernels' CPU does not arrive here (measured: ~2 s per
    submission, less than the setup cell alone), their share is what ``--cell-times``
    measures."""
    import resource

    from tools.grade_class import grade_class

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = grade_class(LAB, course, workers=workers, log=lambda *a: None)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


def run_class(n: int, workers: list[int]) -> None:
    import shutil
    import tempfile
    from collections import Counter

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        kinds = make_class(base, n)
        print(f"class of {n} (lab 01): {dict(Counter(kinds.values()))}", flush=True)
        for count in workers:
            course = Path(tmp) / f"workers{count}"
            shutil.copytree(base, course)
            result = grade(course, count)
            scores = Counter()
            for student, kind in kinds.items():
                score = result["scores"].get(student, (None,))[0]
                scores[f"{kind}={score:g}" if score is not None else f"{kind}=none"] += 1
            rate = 60 * n / result["seconds"]
            print(f"{count} worker(s): {n} in {result['seconds']:.0f} s = {rate:.1f} "
                  f"submissions/minute (200 would take {200 / rate:.1f} min); nbgrader's own "
                  f"CPU {result['cpu'] / n:.1f} s per submission; failed "
                  f"{len(result['failed'])}; marks {dict(sorted(scores.items()))}; load "
                  f"{os.getloadavg()[0]:.1f}", flush=True)
        floor = Path(tmp) / "floor"
        floor.mkdir()
        make_class(floor, 0)
        stub = (floor / "labs" / LAB / f"{LAB}.ipynb").read_text()
        for index in range(4):
            folder = floor / "submitted" / f"stub{index}" / LAB
            folder.mkdir(parents=True)
            (folder / f"{LAB}.ipynb").write_text(stub)
        result = grade(floor, 1)
        print(f"per-submission floor (kernel start + imports, 4 unmodified releases graded by "
              f"one nbgrader run): {result['seconds'] / 4:.1f} s wall, "
              f"{result['cpu'] / 4:.1f} CPU s", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200, help="submissions in the class")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--cell-times", action="store_true")
    parser.add_argument("labs", nargs="*")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"{os.cpu_count()} cores")
    if args.cell_times:
        print_cell_times(args.labs or lab_names())
    else:
        run_class(args.n, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
