"""Mutation testing of the labs: do the hidden tests catch typical student mistakes, and do
they accept correct code written differently?

    python -m tools.mutants                          # every lab with a variant table
    python -m tools.mutants lab02_optimizers lab04   # some labs (a prefix is enough)

For one lab the harness loads ``solutions/<lab>/<lab>.ipynb`` and starts ONE kernel with
nbclient, the way the grader would: the lab's folder as working directory, the network cut
off (:data:`tools.nbrun.NO_NETWORK` runs first), ``NBGRADER_EXECUTION=autograde`` so the heavy
experiment cells shrink, ``MPLBACKEND=Agg``. It executes every cell once and remembers the
source of each solution cell and each test cell (with its points) by nbgrader ``grade_id``.

A :class:`Variant` replaces one or more solution cells with other code: a *wrong* variant
is a typical mistake and names the test cell(s) that must fail; a *correct* variant is a
right answer written differently and must score full marks. For each variant the harness
executes the replacement source(s), re-runs every test cell in notebook order, records which
raised, computes the score nbgrader would give (the points of the test cells that passed),
and restores the solution: the kernel's globals are put back as they were after the first
run and the original solution cells are executed again. A variant that raises while being
defined, loops forever (each cell has a timeout; the kernel is restarted when it expires),
kills the kernel or rebinds globals the tests use does not affect the next variant.

The variant tables live in :mod:`tools.variants`, one module per lab.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tools.nbrun import NO_NETWORK

__all__ = [
    "Variant",
    "VariantResult",
    "edit",
    "resolve",
    "LabKernel",
    "wrong",
    "correct",
    "run_lab",
    "format_table",
    "main",
]

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("wrong", "correct")

#: Executed in the kernel after the first full run: a shallow copy of the globals to restore.
_SNAPSHOT = "_mutants_saved = dict(globals())"
_RESTORE = """\
for _mutants_name in [k for k in globals() if k not in _mutants_saved and not k.startswith("_")]:
    del globals()[_mutants_name]
globals().update(_mutants_saved)
"""


#: What replaces a solution cell: its full new source, or edits of the solution's own source.
Change = str | tuple[tuple[str, str], ...]


def edit(*changes: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    """Edits of a solution cell, ``(old, new)`` pairs: a mistake that differs from the
    solution in a line or two is written as that difference, not as a copy of the solution."""
    return tuple(changes)


def resolve(replace: dict[str, Change], solutions: dict[str, str]) -> dict[str, str]:
    """The full sources of ``replace``: edits are applied to the solution cells' sources."""
    sources = {}
    for grade_id, change in replace.items():
        if isinstance(change, str):
            sources[grade_id] = change
            continue
        source = solutions[grade_id]
        for old, new in change:
            if source.count(old) != 1:
                raise ValueError(f"{old!r} must occur once in the solution cell {grade_id!r}")
            source = source.replace(old, new)
        sources[grade_id] = source
    return sources


@dataclass(frozen=True)
class Variant:
    """Replacement code for solution cells, and what the tests must make of it.

    ``replace`` maps a solution cell's grade_id to the full source that replaces it, or to
    :func:`edit` pairs applied to the solution's source. A
    ``"wrong"`` variant lists in ``fails`` the test cells that must fail; a ``"correct"``
    variant must pass every test cell. ``timeout`` overrides the harness's per-cell timeout.
    """

    name: str
    kind: str
    replace: dict[str, Change]
    fails: tuple[str, ...] = ()
    note: str = ""
    timeout: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name!r}: kind must be one of {KINDS}; got {self.kind!r}")
        if self.kind == "wrong" and not self.fails:
            raise ValueError(f"wrong variant {self.name!r} must name the test cells that fail")
        if self.kind == "correct" and self.fails:
            raise ValueError(f"correct variant {self.name!r} cannot expect failing tests")


def wrong(name: str, replace: dict[str, Change], fails: str | tuple[str, ...], note: str = "",
          timeout: float | None = None) -> Variant:
    """A typical mistake; ``fails`` is the test cell (or cells) that must catch it."""
    fails = (fails,) if isinstance(fails, str) else tuple(fails)
    return Variant(name, "wrong", dict(replace), fails, note, timeout)


def correct(name: str, replace: dict[str, Change], note: str = "") -> Variant:
    """A correct alternative that must score full marks."""
    return Variant(name, "correct", dict(replace), (), note)


@dataclass
class VariantResult:
    """What the tests made of one variant."""

    lab: str
    name: str
    kind: str
    score: float
    max_score: float
    failed: tuple[str, ...]
    expected: tuple[str, ...] = ()
    errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """A wrong variant fails its named cells; a correct one fails nothing."""
        if self.kind == "wrong":
            return set(self.expected) <= set(self.failed) and self.score < self.max_score
        return not self.failed and not self.errors and self.score == self.max_score


class LabKernel:
    """One kernel running one lab's solution notebook, ready to try variants."""

    def __init__(self, lab: str, root: Path = ROOT, timeout: float = 60.0) -> None:
        self.lab = lab
        self.folder = root / "solutions" / lab
        self.timeout = timeout
        cells = json.loads((self.folder / f"{lab}.ipynb").read_text())["cells"]
        self.code_cells: list[str] = []
        self.solutions: dict[str, str] = {}
        self.tests: list[tuple[str, float, str]] = []  # (grade_id, points, source)
        for cell in cells:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            self.code_cells.append(source)
            meta = cell["metadata"].get("nbgrader", {})
            if meta.get("solution"):
                self.solutions[meta["grade_id"]] = source
            elif meta.get("grade"):
                self.tests.append((meta["grade_id"], float(meta.get("points", 0)), source))
        self.max_score = sum(points for _, points, _ in self.tests)
        self.client = None
        self.restarts = 0

    # -- the kernel -------------------------------------------------------------------------

    def start(self) -> None:
        """Start a fresh kernel and execute the whole notebook once."""
        import nbformat
        from nbclient import NotebookClient

        scratch = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("")])
        self.client = NotebookClient(
            scratch,
            timeout=None,
            kernel_name="python3",
            interrupt_on_timeout=False,
            shutdown_kernel="immediate",
            resources={"metadata": {"path": str(self.folder)}},
        )
        env = {**os.environ, "NBGRADER_EXECUTION": "autograde", "MPLBACKEND": "Agg"}
        env.setdefault("OMP_NUM_THREADS", "2")
        self.client.km = self.client.create_kernel_manager()
        self.client.start_new_kernel(env=env, stderr=subprocess.DEVNULL)  # no kernel banners
        self.client.start_new_kernel_client()
        for source in [NO_NETWORK, *self.code_cells, _SNAPSHOT]:
            error = self.run(source, timeout=max(self.timeout, 600))
            if error is not None:
                self.stop()
                raise RuntimeError(f"{self.lab}: the solution notebook fails to run:\n{error}")

    def stop(self) -> None:
        """Shut the kernel down (safe to call twice)."""
        if self.client is not None and self.client.km is not None:
            self.client._cleanup_kernel()
        self.client = None

    def restart(self) -> None:
        """A new kernel with the solution state, after a timeout or a dead kernel."""
        self.stop()
        self.restarts += 1
        self.start()

    def __enter__(self) -> LabKernel:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def run(self, source: str, timeout: float | None = None) -> str | None:
        """Execute ``source`` in the kernel: None if it ran, else a one-line error.

        A timeout or a dead kernel returns ``"timeout ..."`` / ``"kernel died"`` and leaves
        the kernel unusable: the caller restarts it.
        """
        import nbformat
        from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

        self.client.timeout = int(timeout or self.timeout)
        cell = nbformat.v4.new_code_cell(source)
        try:
            self.client.execute_cell(cell, 0, store_history=False)
        except CellExecutionError as error:
            message = str(error.evalue).strip().splitlines()
            return f"{error.ename}: {message[0] if message else ''}"
        except CellTimeoutError:
            return f"timeout after {self.client.timeout} s"
        except DeadKernelError:
            return "kernel died"
        return None

    # -- variants ---------------------------------------------------------------------------

    def try_variant(self, variant: Variant) -> VariantResult:
        """Apply ``variant``, run every test cell, restore the solution; return the result."""
        unknown = sorted(set(variant.replace) - set(self.solutions))
        if unknown:
            raise ValueError(f"{variant.name}: no solution cell {unknown} in {self.lab}")
        missing = sorted(set(variant.fails) - {grade_id for grade_id, _, _ in self.tests})
        if missing:
            raise ValueError(f"{variant.name}: no test cell {missing} in {self.lab}")
        start = time.perf_counter()
        timeout = variant.timeout or self.timeout
        errors: dict[str, str] = {}
        usable = self._apply(resolve(variant.replace, self.solutions), errors, timeout)
        failed, score = [], 0.0
        for grade_id, points, source in self.tests:
            error = self.run(source, timeout)
            if error is None:
                score += points
                continue
            failed.append(grade_id)
            errors[grade_id] = error
            if _kernel_lost(error):
                self.restart()
                self._apply(usable, {}, timeout)
        self._restore()
        return VariantResult(
            self.lab,
            variant.name,
            variant.kind,
            score,
            self.max_score,
            tuple(failed),
            variant.fails,
            errors,
            time.perf_counter() - start,
        )

    def baseline(self) -> VariantResult:
        """The unmodified solution, graded by the harness (must be full marks)."""
        return self.try_variant(Variant("solution (unmodified)", "correct", {}))

    def _apply(self, replace: dict[str, str], errors: dict[str, str], timeout: float) -> dict:
        """Execute the replacement sources; return those that did not hang the kernel."""
        usable = {}
        for grade_id, source in replace.items():
            names = _defined_names(self.solutions[grade_id])
            self.run(f"for _n in {names!r}:\n    globals().pop(_n, None)")  # as if never defined
            error = self.run(source, timeout)
            if error is not None:
                errors[f"{grade_id} (definition)"] = error
            if error is not None and _kernel_lost(error):
                self.restart()
                for stale in usable:  # the restart brought the solution back: re-apply
                    self.run(usable[stale], timeout)
                self.run(f"for _n in {names!r}:\n    globals().pop(_n, None)")
            else:
                usable[grade_id] = source
        return usable

    def _restore(self) -> None:
        error = self.run(_RESTORE)
        for source in self.solutions.values():
            error = error or self.run(source)
        if error is not None:
            self.restart()


def _kernel_lost(error: str) -> bool:
    return error.startswith("timeout") or error == "kernel died"


def _defined_names(source: str) -> list[str]:
    """Top-level names a solution cell defines (functions, classes, assignments)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return names


def run_lab(lab: str, variants: list[Variant] | None = None, root: Path = ROOT,
            timeout: float = 60.0) -> list[VariantResult]:
    """Grade the unmodified solution and then every variant of ``lab`` in one kernel.

    ``variants`` defaults to the lab's table in :mod:`tools.variants`. The first result is
    the unmodified solution.
    """
    if variants is None:
        from tools.variants import variants_for

        variants = variants_for(lab)
    with LabKernel(lab, root, timeout) as kernel:
        return [kernel.baseline(), *(kernel.try_variant(v) for v in variants)]


def format_table(results: list[VariantResult]) -> str:
    """A readable table: lab, variant, kind, score, failing test cells, seconds, verdict."""
    rows = [("lab", "variant", "kind", "score", "failing test cells", "s", "verdict")]
    for r in results:
        verdict = "ok" if r.ok else ("NOT CAUGHT" if r.kind == "wrong" else "PUNISHED")
        failing = ", ".join(r.failed) or "-"
        score = f"{r.score:g}/{r.max_score:g}"
        rows.append((r.lab.split("_")[0], r.name, r.kind, score, failing, f"{r.seconds:.1f}",
                     verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    for r in results:  # why a variant was misjudged: the first line of each error
        if not r.ok:
            lines.append(f"  {r.name}:")
            lines += [f"    {where}: {error}" for where, error in r.errors.items()]
    return "\n".join(line.rstrip() for line in lines)


def main(argv: list[str] | None = None) -> int:
    """Print the table of every requested lab; exit 1 if a variant is misjudged."""
    from tools.variants import LABS

    wanted = (argv if argv is not None else sys.argv[1:]) or list(LABS)
    labs = [lab for lab in LABS if any(lab.startswith(w) for w in wanted)]
    if not labs:
        print(f"no variant table for {wanted}; known labs: {', '.join(LABS)}", file=sys.stderr)
        return 2
    all_ok = True
    for lab in labs:
        start = time.perf_counter()
        results = run_lab(lab)
        print(format_table(results))
        print(f"{lab}: {len(results) - 1} variants in {time.perf_counter() - start:.0f} s\n")
        all_ok = all_ok and all(r.ok for r in results)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
