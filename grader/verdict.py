"""Take the lower of two verdicts per test cell: the kernel's and the referee's.

:class:`SecondVerdict` runs in ``nbgrader autograde`` right after execution (see
``nbgrader_config.py``). For a lab listed in ``labs`` it starts :mod:`grader.referee` on the
submission and, for every test cell:

- passed in the kernel, failed in the referee: the cell gets an error output naming the
  failed check, so nbgrader's ``SaveAutoGrades`` gives it 0 points;
- failed in the kernel, passed in the referee: it stays failed (the lower verdict). A cell
  whose kernel died or timed out is not run again by the referee, and a submission none of
  whose tests passed in the kernel gets no referee at all: the lower verdict is already 0;
- either disagreement is listed in the review report (``resources["sandbox"]["disagreements"]``,
  written by :class:`grader.review.ReviewFlags`) with both reasons.

For these labs the hidden tests run **only** in the referee: :class:`grader.execute.
SandboxedExecute` runs each test cell's visible part in the student's kernel
(:func:`strip_hidden_tests`), so hidden-test code never enters the process the student
controls, and a lab whose setup and visible tests need no PyTorch gets a kernel in which
``torch``, ``torchvision``, ``scipy`` and ``course.conv`` cannot be imported (labs 01 and 03).

Speed: the referees of one grading process are forked from a warm zygote
(:mod:`grader.zygote`) that has imported PyTorch and the referee once, so a lab 01
submission's second verdict costs about 0.7 s instead of 4.5 s (``warm_start``; a zygote
that fails falls back to a fresh ``python -m grader.referee``).

A referee that cannot run at all stops grading with the reason (as a missing sandbox does):
a submission must not fall back to the verdict it could forge.

Which labs: all ten graded labs. In the NumPy labs (01-04) only plain data crosses. In the
PyTorch labs (05-10) tensors cross as data too (with a link back, so ``backward()`` in a test
runs through the student's graph in the worker), the test's own models, optimizers and data
loaders are lent to the student's code as copies kept in step, the test's hooks and transforms
are called back, and the models and optimizers the student's code builds come back as
*shadows*: real ``torch.nn`` layers and ``torch.optim`` optimizers rebuilt from their state,
which a test can walk and inspect, whose calls run in the worker (see :mod:`grader.referee`).
:data:`KERNEL_ONLY` can exempt a test cell that needs more; no lab uses it today.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Dict, Integer, List, Unicode

from grader import sandbox
from grader.zygote import Zygote, ZygoteGone

__all__ = ["KERNEL_ONLY", "OPT_OUT", "SecondVerdict", "RefereeFailed", "RefereeTimedOut",
           "active_labs", "kernel_only", "strip_hidden_tests", "worker_cells"]

#: Environment variable an instructor sets to ``off`` to skip the second verdict.
OPT_OUT = "COURSE_SECOND_VERDICT"


#: Test cells judged by the kernel alone, per lab (none today). A lab whose test needs what
#: cannot cross to the worker -- ``torch.autograd.grad`` through the student's function, whose
#: graph lives in the worker -- either checks it another way (``loss.backward()`` crosses: the
#: referee's tensors get their ``.grad`` from the worker's backward pass, as in lab 09's
#: ``test_style_loss``) or lists the cell here; its hidden tests then run in the kernel and only
#: the kernel's verdict counts for it.
KERNEL_ONLY: dict[str, list[str]] = {}


class RefereeFailed(RuntimeError):
    """The second verdict could not be computed."""


class RefereeTimedOut(RefereeFailed):
    """The second verdict took longer than ``SecondVerdict.total_timeout``: the submission's
    code kept it busy, so its tests get no second verdict and fail (listed for review)."""


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _runs_in_worker(cell) -> bool:
    """Every code cell except test cells and the lab's experiments (locked cells whose id
    starts with ``experiment``)."""
    meta = _meta(cell)
    if cell.cell_type != "code" or meta.get("grade"):
        return False
    return not (meta.get("locked") and str(meta.get("grade_id", "")).startswith("experiment"))


def worker_cells(nb) -> list[str]:
    """The submission's code the worker runs, in notebook order."""
    return [cell.source for cell in nb.cells if _runs_in_worker(cell)]


def stops_before_tests(nb) -> dict[str, int]:
    """Each test cell's grade_id -> how many of :func:`worker_cells` come before it in the
    submission: the referee runs the test once those (and no later ones) have run."""
    stops, count = {}, 0
    for cell in nb.cells:
        if cell.cell_type == "code" and _meta(cell).get("grade"):
            stops[_meta(cell).get("grade_id")] = count
        count += _runs_in_worker(cell)
    return stops


def active_labs(config=None) -> list[str]:
    """The labs that get a second verdict under ``config`` (none when opted out)."""
    if sandbox.turned_off(OPT_OUT):
        return []
    return list(SecondVerdict(config=config).labs) if config is not None else list(
        SecondVerdict().labs)


def kernel_only(config=None, lab: str | None = None) -> set[str]:
    """The test cells of ``lab`` that the referee does not judge (:data:`KERNEL_ONLY`, or
    ``c.SecondVerdict.kernel_only``)."""
    table = SecondVerdict(config=config).kernel_only if config is not None else KERNEL_ONLY
    return set(table.get(lab, ()))


def strip_hidden_tests(source: str) -> str:
    r"""``source`` without its ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` regions.

    >>> strip_hidden_tests("a = 1\n### BEGIN HIDDEN TESTS\nsecret()\n### END HIDDEN TESTS\nb")
    'a = 1\nb'
    """
    kept, hidden = [], False
    for line in source.splitlines():
        if line.strip().startswith("### BEGIN HIDDEN TESTS"):
            hidden = True
        elif line.strip().startswith("### END HIDDEN TESTS"):
            hidden = False
        elif not hidden:
            kept.append(line)
    return "\n".join(kept)


def _failed_in_kernel(cell) -> bool:
    return any(o.get("output_type") == "error" for o in cell.get("outputs", []))


# One warm referee zygote per environment, for the life of the grading process.
_ZYGOTES: dict[tuple, Zygote] = {}


class SecondVerdict(NbGraderPreprocessor):
    """Re-run the lab's tests against the student's functions across a process boundary."""

    labs = List(Unicode(), ["lab01_linear_regression", "lab02_optimizers", "lab03_backprop",
                            "lab04_convolution", "lab05_cnn_pytorch", "lab06_batchnorm_resnet",
                            "lab07_augmentation_regularization", "lab08_transfer_learning",
                            "lab09_visualization_adversarial", "lab10_gnn"],
                help="Labs whose test cells get a second verdict.").tag(config=True)
    kernel_only = Dict(KERNEL_ONLY, help="{lab: [grade_id, ...]}: test cells the referee does "
                       "not judge (the kernel's verdict stands, hidden tests run in the "
                       "kernel).").tag(config=True)
    timeout = Integer(60, help="Seconds one call of a student's function may take, where the "
                      "execute step did not set the lab's per-cell timeout.").tag(config=True)
    warm_start = Bool(True, help="Fork each referee from a process that has imported PyTorch "
                      "once (grader.zygote) instead of starting a fresh Python per "
                      "submission.").tag(config=True)
    total_timeout = Integer(900, help="Seconds the whole second verdict may take.").tag(
        config=True)

    def _coursedir(self):
        node = self
        while node is not None and not hasattr(node, "coursedir"):
            node = getattr(node, "parent", None)
        return None if node is None else node.coursedir

    def _source(self, lab: str, notebook: str) -> Path:
        coursedir = self._coursedir()
        root = Path(coursedir.root) if coursedir is not None else Path.cwd()
        folder = coursedir.source_directory if coursedir is not None else "source"
        return root / folder / lab / f"{notebook}.ipynb"

    def run_referee(self, nb, resources: dict) -> dict:
        info = resources.get("nbgrader", {})
        source = self._source(info["assignment"], info.get("notebook", info["assignment"]))
        if not source.exists():
            raise RefereeFailed(f"the lab's source notebook {source} is missing")
        off = sandbox.turned_off()
        # the per-cell timeout and hidden folders SandboxedExecute chose, else our own
        record = resources.get("sandbox", {})
        timeout = record.get("cell_timeout", self.timeout)
        hide = record.get("hide") or [str(Path.cwd().resolve())]
        # A cell whose kernel died or timed out already scores 0: the referee need not spend a
        # second timeout on it (an infinite loop would otherwise cost the class twice).
        crashed = [c["cell"] for c in record.get("crashes", [])]
        job = {"source": str(source), "cells": worker_cells(nb),
               "stops": stops_before_tests(nb),
               "numpy_only": sandbox.numpy_only(nb), "timeout": timeout, "hide": hide,
               "sandbox": not off,
               "skip": crashed,
               "kernel_only": sorted(self.kernel_only.get(info["assignment"], ()))}
        package_root = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [package_root, *filter(None, [os.environ.get("PYTHONPATH")])]),
               "MPLBACKEND": "Agg"}
        with tempfile.TemporaryDirectory(prefix="grader-job-") as folder:
            path = Path(folder) / "job.json"
            path.write_text(json.dumps(job))
            code, stdout, stderr = self._run(path, env)
        if code != 0:
            raise RefereeFailed(f"the referee failed: {stderr.strip()[-2000:]}")
        return json.loads(stdout)

    def _run(self, path: Path, env: dict) -> tuple[int, str, str]:
        """Run the referee on the job at ``path``: forked from the warm zygote (PyTorch
        imported once per grading run), else as a fresh ``python -m grader.referee``."""
        if self.warm_start:
            key = tuple(sorted(env.items()))
            zygote = _ZYGOTES.setdefault(key, Zygote(env))  # no process until its first job
            try:
                return zygote.run(path, self.total_timeout)
            except TimeoutError:
                raise RefereeTimedOut(f"the second verdict took over {self.total_timeout} s") \
                    from None
            except ZygoteGone as error:
                self.log.warning("the referee's warm start failed (%s): starting it cold", error)
                zygote.stop()
        try:
            result = subprocess.run([sys.executable, "-m", "grader.referee", str(path)],
                                    capture_output=True, text=True, env=env,
                                    timeout=self.total_timeout, cwd=path.parent)
        except subprocess.TimeoutExpired:
            raise RefereeTimedOut(f"the second verdict took over {self.total_timeout} s") \
                from None
        return result.returncode, result.stdout, result.stderr

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader", {})
        if info.get("assignment") not in self.labs or sandbox.turned_off(OPT_OUT):
            return nb, resources
        tests = [c for c in nb.cells if c.cell_type == "code" and _meta(c).get("grade")]
        if not any(not _failed_in_kernel(c) for c in tests):
            # nothing passed in the kernel: the lower verdict is already 0 everywhere
            resources.setdefault("sandbox", {})["disagreements"] = []
            return nb, resources
        try:
            outcome = self.run_referee(nb, resources)
        except RefereeTimedOut as error:
            self.log.warning("%s: its tests fail", error)
            outcome = {"verdicts": {}, "seconds": self.total_timeout}
            timed_out = f"the grader's second run of the tests took over {self.total_timeout} s"
            outcome["verdicts"] = {_meta(c).get("grade_id"): {"passed": False,
                                                              "message": timed_out}
                                   for c in tests}
        verdicts = outcome["verdicts"]
        disagreements = []
        for cell in nb.cells:
            meta = _meta(cell)
            if cell.cell_type != "code" or not meta.get("grade"):
                continue
            grade_id = meta.get("grade_id")
            if grade_id in self.kernel_only.get(info.get("assignment"), ()):
                continue  # the kernel's verdict stands
            verdict = verdicts.get(grade_id, {"passed": False, "message": (
                "the grader could not run this test on your functions (the submission's code "
                "kept killing or hanging its process, or the test is not in the lab)")})
            in_kernel = not _failed_in_kernel(cell)
            if in_kernel and not verdict["passed"]:
                cell.outputs.append(NotebookNode(
                    output_type="error", ename="SecondVerdict",
                    evalue=("this test passed in the notebook but failed when the grader re-ran "
                            f"it on your functions in a separate process: {verdict['message']}"),
                    traceback=[]))
                disagreements.append({"cell": grade_id, "kernel": "passed",
                                      "referee": verdict["message"][:300]})
            elif not in_kernel and verdict["passed"]:
                disagreements.append({"cell": grade_id, "kernel": "failed",
                                      "referee": "passed"})
        record = resources.setdefault("sandbox", {})
        record["disagreements"] = disagreements
        record["second_verdict_seconds"] = outcome.get("seconds")
        # the worker answering junk (a submission rewriting its side of the wire) is for review
        record["referee_worker_errors"] = [e for e in outcome.get("worker_errors", [])
                                           if len(e) > 2 and e[1] == "MalformedAnswer"]
        return nb, resources
