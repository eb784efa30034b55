"""The second verdict: the lab's own tests, run where the submission cannot reach them.

Whatever runs in the student's kernel can rewrite the test cells that run after it (an input
transformer, a patched ``np.allclose``, an "oracle" object that reads the expected value from
the checker's frame), so nbgrader's verdict rests on the word of the process it judges. The
referee computes a second verdict without that trust:

1. a **worker** (:mod:`grader.worker`) runs the submission's code cells in a fresh sandbox
   (:func:`grader.sandbox.bwrap_command`: no course root, no network, an unprivileged user;
   for a NumPy-only lab, ``torch``, ``torchvision``, ``scipy`` and ``course.conv`` are
   replaced by stand-ins whose import fails, so the environment enforces the rule);
2. the referee, a separate process that runs only the instructor's code, executes the lab's
   setup cells and test cells **from the instructor's source notebook** (hidden tests
   included), with every name a solution cell defines bound to a proxy that calls the
   student's function in the worker. Only plain data crosses (:mod:`grader.wire`): arrays,
   numbers, strings, containers, generator states; arguments changed in place by the student's
   function are written back, so the "caller's data unchanged" tests still bite. References
   and checks run on the referee's side;
3. it prints one JSON document: per test cell (``grade_id``) whether it passed and the
   checker's message.

:class:`grader.verdict.SecondVerdict` (in ``nbgrader autograde``) takes the lower of the two
verdicts per test cell and lists every disagreement in the review report.

The worker runs the submission's cells as the referee goes: a test cell is judged once the
submission's cells before it have run and no later ones, so a test sees each function as the
notebook defines it at the test's place, as in the kernel (a broken redefinition in a later
scratch cell costs nothing; without this the referee judged the last definition).

Run as ``python -m grader.referee job.json``; the job names the source notebook, the
submission's code cells, where its test cells stand among them (``stops``), whether the lab
is NumPy-only, the per-call timeout and the folders to hide.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import json
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

from grader import sandbox, wire

__all__ = ["Worker", "WorkerGone", "referee", "solution_names", "main"]

class WorkerGone(RuntimeError):
    """The worker died or did not answer in time."""


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _code_cells(path: str) -> list[dict]:
    """The code cells of a notebook file, sources joined (plain JSON: importing nbformat
    would cost the referee about 2 s per submission)."""
    cells = json.loads(Path(path).read_text())["cells"]
    out = []
    for cell in cells:
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            out.append({**cell, "source": "".join(source) if isinstance(source, list) else source})
    return out


def solution_names(source: str) -> list[str]:
    """Names a solution cell binds at top level (functions, classes, assignments).

    >>> solution_names("import numpy as np\\ndef f(x):\\n    return x\\nK = 3\\nclass A: pass")
    ['f', 'K', 'A']
    """
    names = []
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name)]
    return list(dict.fromkeys(names))


class Worker:
    """The sandboxed process that holds the submission's namespace."""

    max_restarts = 5  # cells that kill or hang the worker before it gives up

    def __init__(self, cells: list[str], numpy_only: bool, hide: list[Path],
                 limits: dict | None = None, sandboxed: bool = True) -> None:
        self.cells, self.numpy_only, self.hide = cells, numpy_only, hide
        self.limits, self.sandboxed = limits or {}, sandboxed
        self.process: subprocess.Popen | None = None
        self.private: Path | None = None
        self.run_errors: list = []
        self.good: list[int] = []  # cells that ran without killing or hanging the worker
        self.ran = 0  # cells tried so far

    def start(self, startup: float, timeout: float, upto: int | None = None) -> None:
        """Start a sandboxed worker and run the submission's first ``upto`` cells in it (all
        by default), one at a time: the first, which imports the course, may take
        ``startup`` seconds, the others ``timeout``. A cell that kills the worker or hangs
        is left out (reported in ``run_errors``) and the worker is started again with the
        cells that ran, as the kernel's grader does."""
        self.run_errors, self.good, self.ran, self.restarts = [], [], 0, 0
        self._spawn()
        self.advance(len(self.cells) if upto is None else upto, startup, timeout)

    def advance(self, upto: int, startup: float, timeout: float) -> None:
        """Run the cells not yet run before position ``upto``: a test cell then sees the
        functions as the notebook defined them at its place, as in the kernel (a later
        redefinition does not change what an earlier test judged)."""
        while self.ran < min(upto, len(self.cells)):
            index, self.ran = self.ran, self.ran + 1
            try:
                errors = self.request({"op": "run", "cells": [self.cells[index]]},
                                      startup if index == 0 else timeout)["errors"]
            except WorkerGone as error:
                self.run_errors.append([index, "WorkerGone", str(error)])
                self.restarts += 1
                if self.restarts > self.max_restarts:
                    raise
                self.restart(startup, timeout)
                continue
            self.run_errors += [[index, *e[1:]] for e in errors]
            self.good.append(index)

    def restart(self, startup: float, timeout: float) -> None:
        """A fresh worker with the cells that ran without killing it."""
        self._spawn()
        if self.good:
            self.request({"op": "run", "cells": [self.cells[i] for i in self.good]},
                         startup + timeout * len(self.good))

    def _spawn(self) -> None:
        self.stop()
        self.private, uid = sandbox.make_private("grader-referee-")
        work = self.private / "work"
        for name in ("work", "home", "ipython", "mpl"):
            (self.private / name).mkdir()
        for module in ("worker.py", "wire.py"):
            shutil.copy(Path(__file__).with_name(module), self.private / module)
        argv = [sys.executable, "-I", str(self.private / "worker.py")]
        if self.sandboxed:
            blocked = sandbox.stand_ins(self.private) if self.numpy_only else {}
            sandbox.own(self.private, uid)
            argv = sandbox.bwrap_command(argv, self.private, self.hide, blocked, self.limits,
                                         env={"MPLBACKEND": "Agg"}, uid=uid)
        # -I (isolated) drops the script's folder from sys.path; worker.py adds it back.
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, cwd=work,
                                        start_new_session=True)

    def request(self, message: dict, timeout: float) -> dict:
        if self.process is None or self.process.poll() is not None:
            raise WorkerGone("the sandboxed worker is not running")
        try:
            wire.send_message(self.process.stdin, message)
        except (BrokenPipeError, OSError) as error:
            self.stop()
            raise WorkerGone(f"the sandboxed worker died ({error})") from None
        timeout = timeout * sandbox.load_factor()  # as the kernel's cells (grader.execute)
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            self.stop()
            raise WorkerGone(f"the student's code did not answer within {timeout:.0f} s")
        try:
            return wire.read_message(self.process.stdout)
        except (EOFError, ValueError) as error:
            self.stop()
            raise WorkerGone(f"the sandboxed worker died or sent garbage ({error})") from None

    def stop(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, 9)
            with contextlib.suppress(Exception):
                self.process.wait(timeout=10)
            self.process = None
        if self.private is not None:
            shutil.rmtree(self.private, ignore_errors=True)
            self.private = None


#: Exceptions with a control-flow meaning: raised into the instructor's test code they could
#: end a ``map``/``for`` early (``all(map(check, cases))`` would then pass on nothing).
_CONTROL_FLOW = (StopIteration, StopAsyncIteration)


def _raise_remote(error: list, iterating: bool = False) -> None:
    """Raise the student's exception on this side as the first builtin exception class in
    its MRO (``LinAlgError`` -> ``ValueError``), with its message."""
    name, mro, message = (list(error) + ["", [], ""])[:3]
    for candidate in mro if type(mro) is list else []:
        kind = getattr(builtins, str(candidate), None)
        if not (isinstance(kind, type) and issubclass(kind, Exception)):
            continue
        if issubclass(kind, _CONTROL_FLOW) and not (iterating and kind is StopIteration):
            break
        raise kind(str(message))
    raise RuntimeError(f"{name}: {message}")


class _Remote:
    """A function or object that lives in the worker."""

    def __init__(self, session: _Session, target, label: str) -> None:
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_target", target)  # a name (str) or a wire.Ref
        object.__setattr__(self, "_label", label)

    def _call(self, attr, args, kwargs, iterating=False):
        return self._session.call(self._target, attr, args, kwargs, iterating)

    def __call__(self, *args, **kwargs):
        return self._call(None, args, kwargs)

    def __getattr__(self, attr):
        if attr.startswith("__") and attr not in ("__name__", "__qualname__", "__doc__"):
            raise AttributeError(attr)
        return self._session.getattr(self._target, attr)

    def __setattr__(self, attr, value):
        self._session.setattr(self._target, attr, value)

    def __len__(self):
        try:
            return self._call("__len__", (), {})
        except AttributeError:
            raise TypeError(f"object of type {self._label!r} has no len()") from None

    def __iter__(self):  # a generator or iterator the student returned: one item per trip
        iterator = self._call("__iter__", (), {})
        if not isinstance(iterator, _Remote):
            yield from iterator
            return
        while True:
            try:
                item = iterator._call("__next__", (), {}, iterating=True)
            except StopIteration:
                return
            yield item

    def __getitem__(self, key):
        return self._call("__getitem__", (key,), {})

    def __repr__(self):
        return f"<{self._label} in the sandboxed worker>"


class _Session:
    def __init__(self, worker: Worker, timeout: float) -> None:
        self.worker, self.timeout = worker, timeout
        self.rngs = wire.RngTable("r")
        self.calls = 0
        self.lazy: dict[str, tuple] = {}  # call id -> the caller's (args, kwargs)

    def request(self, message: dict) -> dict:
        """One round trip; the generators of both sides are in step before and after, and
        arguments still held by a lazy result (grader.worker) are written back."""
        message["rngs"] = self.rngs.states()
        answer = self.worker.request(message, self.timeout)
        self.rngs.sync(answer.get("rngs", {}))
        lazy = answer.get("lazy", {})
        for key, (args, kwargs) in list(self.lazy.items()):
            if key in lazy:
                self._write_back(args, kwargs, *lazy[key])
        return answer

    def _write_back(self, args, kwargs, sent_args, sent_kwargs) -> None:
        """Make the caller's arguments look as the student's code left them."""
        for before, after in zip(args, self._decode(sent_args), strict=False):
            _write_back(before, after)
        for name, after in self._decode(sent_kwargs).items():
            _write_back(kwargs.get(name), after)

    def _target(self, target):
        return target if isinstance(target, str) else wire.encode(target)

    def _encode(self, value):
        return wire.encode(value, self._to_ref, self.rngs)

    def _decode(self, value, label="result"):
        return wire.decode(value, lambda ref: _Remote(self, ref, label), self.rngs)

    @staticmethod
    def _to_ref(value):
        if isinstance(value, _Remote) and isinstance(value._target, wire.Ref):
            return value._target
        raise wire.CannotCross(f"a {type(value).__name__} cannot be passed to the student's code")

    def call(self, target, attr, args, kwargs, iterating=False):
        self.calls += 1
        key = str(self.calls)
        self.lazy[key] = (args, kwargs)
        answer = self.request({"op": "call", "target": self._target(target), "attr": attr,
                               "args": self._encode(list(args)),
                               "kwargs": self._encode(dict(kwargs)), "id": key})
        if key not in answer.get("lazy", {}):
            self.lazy.pop(key, None)
        while len(self.lazy) > 8:
            self.lazy.pop(next(iter(self.lazy)))
        if "error" in answer:
            _raise_remote(answer["error"], iterating)
        self._write_back(args, kwargs, answer["args"], answer["kwargs"])
        return self._decode(answer["value"])

    def getattr(self, target, attr):
        answer = self.request({"op": "getattr", "target": self._target(target), "attr": attr})
        if "error" in answer:
            _raise_remote(answer["error"])
        return self._decode(answer["value"], attr)

    def setattr(self, target, attr, value):
        answer = self.request({"op": "setattr", "target": self._target(target), "attr": attr,
                               "value": self._encode(value)})
        if "error" in answer:
            _raise_remote(answer["error"])

    def get(self, name):
        answer = self.request({"op": "get", "name": name})
        if answer.get("missing"):
            return None, False
        if "error" in answer:
            return None, False
        value = answer["value"]
        if type(value) is dict and "__ref__" in value:  # a function or an object: a proxy
            return _Remote(self, name, name), True
        return self._decode(value, name), True


def _write_back(before, after) -> None:
    """Make the caller's argument look as the student's function left it (in-place changes)."""
    import numpy as np

    if isinstance(before, np.ndarray) and isinstance(after, np.ndarray):
        if before.shape == after.shape and before.flags.writeable:
            with np.errstate(all="ignore"):
                before[...] = after.astype(before.dtype, copy=False)
    elif isinstance(before, np.random.Generator) and isinstance(after, np.random.Generator):
        before.bit_generator.state = after.bit_generator.state
    elif type(before) is dict and type(after) is dict:
        # Entries are replaced, not written into: an array the caller still holds keeps its
        # values unless the student's function wrote into it (then the write-back above
        # already happened for top-level arguments only; nested in-place edits are not
        # mirrored, which can only make this verdict more lenient than the kernel's).
        before.clear()
        before.update(after)
    elif type(before) is list and type(after) is list:
        before[:] = after


def _upto(cells: list[dict], stops: dict | None, count: int) -> list[int]:
    """For each of the instructor's cells: how many of the submission's ``count`` cells the
    worker must have run when the referee reaches it, namely those before the next test cell
    in the submission (``stops``, see :func:`grader.verdict.stops_before_tests`). A test cell
    the submission lacks, or a job without ``stops``, means all of them."""
    if stops is None:
        return [count] * len(cells)
    upto, following = [count] * len(cells), count
    for position in range(len(cells) - 1, -1, -1):
        meta = _meta(cells[position])
        if meta.get("grade"):
            following = min(stops.get(meta.get("grade_id"), count), count)
        upto[position] = following
    return upto


def referee(job: dict) -> dict:
    """Run the job (see the module docstring); the verdict per test cell."""
    started = time.monotonic()
    cells = _code_cells(job["source"])
    timeout = float(job.get("timeout", 60))
    worker = Worker(job["cells"], bool(job.get("numpy_only")), [Path(p) for p in job["hide"]],
                    job.get("limits"), job.get("sandbox", True))
    verdicts: dict[str, dict] = {}
    startup = max(timeout, float(job.get("startup_timeout", 120)))
    upto = _upto(cells, job.get("stops"), len(job["cells"]))
    try:
        try:
            worker.start(startup, timeout, upto[0] if upto else 0)
        except WorkerGone as error:  # every cell killed it: nothing of the submission runs
            return {"verdicts": {}, "worker_errors": worker.run_errors + [[-1, "WorkerGone",
                                                                           str(error)]],
                    "seconds": round(time.monotonic() - started, 2)}
        session = _Session(worker, timeout)
        namespace: dict = {"__name__": "__main__"}
        for position, cell in enumerate(cells):
            meta = _meta(cell)
            try:
                worker.advance(upto[position], startup, timeout)
            except WorkerGone:
                break  # the remaining cells get no verdict: they fail (grader.verdict)
            if meta.get("solution") and not meta.get("grade"):
                for name in solution_names(cell["source"]):
                    value, found = session.get(name)
                    if found:
                        namespace[name] = value
                    else:
                        namespace.pop(name, None)
                continue
            grade_id = meta.get("grade_id") if meta.get("grade") else None
            if grade_id is None and str(meta.get("grade_id", "")).startswith("experiment"):
                continue  # the lab's experiments grade nothing
            if grade_id is not None and grade_id in job.get("skip", ()):
                verdicts[grade_id] = {"passed": False, "message": "not run again: this test "
                                      "crashed or timed out in the notebook"}
                continue
            try:
                with contextlib.redirect_stdout(io.StringIO()), \
                        contextlib.redirect_stderr(io.StringIO()):
                    exec(compile(cell["source"], f"<{meta.get('grade_id', 'cell')}>", "exec"),
                         namespace)
                if grade_id is not None:
                    verdicts[grade_id] = {"passed": True, "message": ""}
            except WorkerGone as error:
                if grade_id is not None:
                    verdicts[grade_id] = {"passed": False, "message": str(error)}
                try:
                    worker.restart(startup, timeout)
                except WorkerGone:
                    break  # the remaining cells get no verdict: they fail (grader.verdict)
            except BaseException as error:  # noqa: BLE001 - a failed test, whatever raised
                if grade_id is not None:
                    verdicts[grade_id] = {"passed": False,
                                          "message": f"{type(error).__name__}: {error}"[:1500]}
            if job.get("numpy_only") and "check_numpy_only" in namespace:
                namespace["check_numpy_only"] = _enforced_by_sandbox
    finally:
        worker.stop()
    return {"verdicts": verdicts, "worker_errors": worker.run_errors,
            "seconds": round(time.monotonic() - started, 2)}


def _enforced_by_sandbox(*args, **kwargs) -> None:
    """The worker of a NumPy-only lab cannot import torch or scipy: nothing to read here."""


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    job = json.loads(Path(args[0]).read_text())
    out = os.fdopen(os.dup(1), "w")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    json.dump(referee(job), out)
    out.close()
    os._exit(0)  # skip interpreter teardown (torch's takes about a second): all is written


if __name__ == "__main__":
    sys.exit(main())
