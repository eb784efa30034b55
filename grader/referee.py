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
3. in the PyTorch labs, tensors cross as data too (a tensor from the worker that records
   gradients keeps a link back, so ``backward()`` in a test runs the worker's backward pass
   and fills the ``.grad`` of the test's tensors); the test's own models, optimizers and
   loaders go to the worker as pickled copies -- from this trusted side to the untrusted one
   only, never back -- whose state (parameters, buffers, flags, optimizer state) comes back
   as data with every message; the test's functions (hooks, transforms) are called back
   here; and a model or optimizer the student's code builds comes back as a *shadow*: real
   ``torch.nn`` layers and ``torch.optim`` optimizers rebuilt from its state (a student's own
   module class by a stand-in whose calls run in the worker), so a test can walk, count and
   hook it while every computation of the student's code stays in the worker;
4. it prints one JSON document: per test cell (``grade_id``) whether it passed and the
   checker's message (and the seconds each cell took).

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
import functools
import inspect
import io
import json
import os
import select
import shutil
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np

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


def _source_of(cells: list[str], name: str) -> str | None:
    """The source of the last top-level ``def``/``class`` named ``name`` in ``cells`` (the
    submission's cells the worker has run), read by the referee itself: a source check in a
    test (``inspect.getsource``) reads what the student wrote, not what the worker says."""
    for source in reversed(cells):
        text = "\n".join("pass" if line.lstrip().startswith(("%", "!")) else line
                         for line in source.splitlines())
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in reversed(tree.body):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and \
                    node.name == name:
                return ast.get_source_segment(text, node, padded=True)
    return None


_ORIGINAL_GETSOURCE = inspect.getsource


def _getsource(obj):
    """``inspect.getsource`` that also answers for a student's function (see _source_of)."""
    if type(obj) is _Remote and isinstance(obj._target, str):
        source = _source_of(obj._session.worker.cells[:obj._session.worker.ran], obj._target)
        if source is None:
            raise OSError(f"could not find the source of {obj._target}")
        return source
    return _ORIGINAL_GETSOURCE(obj)


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
    def __init__(self, worker: Worker, timeout: float, mirroring: bool = False) -> None:
        self.worker, self.timeout, self.mirroring = worker, timeout, mirroring
        self.rngs = wire.RngTable("r")
        self.calls = 0
        self.lazy: dict[str, tuple] = {}  # call id -> the caller's (args, kwargs)
        # PyTorch labs: the referee's own objects the worker holds copies of, the referee's
        # functions it may call back, and the tensors that came from the worker (by id)
        self.mirrors = wire.MirrorTable(weak=True)
        self.mirrors.hook_keys = self._callback_key
        self.callbacks: dict[str, object] = {}  # key -> the test's function (held)
        self.callback_ids: dict[int, str] = {}
        self.from_worker: dict[int, tuple] = {}
        self.made = 0
        self.stand_ins: dict[tuple, type] = {}
        if mirroring:
            wire.make_module = self._make_module

    # -- one round trip --------------------------------------------------------------------
    def request(self, message: dict) -> dict:
        """One round trip; the generators of both sides are in step before and after, and
        arguments still held by a lazy result (grader.worker) are written back. In the
        PyTorch labs the torch random state, the grad mode and the states of the mirrored
        objects travel too, and the worker may call back the referee's functions (a hook,
        a transform) before it answers."""
        while True:
            message["rngs"] = self.rngs.states()
            if self.mirroring:
                message["torch"] = wire.torch_globals()
                message["mirrors"] = self.mirrors.states()
                message["dropped"], self.mirrors.dropped = self.mirrors.dropped, []
            answer = self.worker.request(message, self.timeout)
            self.rngs.sync(answer.get("rngs", {}))
            if self.mirroring:
                wire.set_torch_globals(answer.get("torch"))
                self.mirrors.sync(answer.get("mirrors", {}), self._decode)
            if "callback" not in answer:
                break
            message = self._run_callback(answer)
        lazy = answer.get("lazy", {})
        for key, (args, kwargs) in list(self.lazy.items()):
            if key in lazy:
                self._write_back(args, kwargs, *lazy[key])
        return answer

    def _run_callback(self, answer: dict) -> dict:
        """Run one of the referee's functions that the student's code called (a forward
        hook, a transform) and the reply that carries its result to the worker."""
        key = answer.get("callback")
        if key not in self.callbacks:
            raise WorkerGone(f"the worker called back an unknown function {key!r}")
        function = self.callbacks[key]
        args, kwargs = self._decode(answer.get("args")), self._decode(answer.get("kwargs"))
        if type(args) is not list or type(kwargs) is not dict:
            raise WorkerGone("malformed call back from the worker")
        try:
            result = function(*args, **kwargs)
            return {"op": "return", "value": self._encode(result), "args": self._encode(args)}
        except WorkerGone:
            raise
        except Exception as error:  # noqa: BLE001 - the test's function failed: raised there
            name = type(error).__name__ if getattr(builtins, type(error).__name__, None) is \
                type(error) else "RuntimeError"
            return {"op": "return", "error": [name, str(error)[:2000]]}

    def forget(self) -> None:
        """A new test cell: tensors of earlier cells that came from the worker cross as plain
        data from now on (the shared objects are dropped when the tests let them go)."""
        self.from_worker.clear()

    def reset(self) -> None:
        """Forget the objects shared with the worker (it was restarted)."""
        self.mirrors.clear()
        self.callbacks.clear()
        self.callback_ids.clear()
        self.from_worker.clear()

    def _callback_key(self, function) -> str:
        """The key under which the worker calls ``function`` (one of the test's) back."""
        key = self.callback_ids.get(id(function))
        if key is None or self.callbacks.get(key) is not function:
            key = f"m{self.made}"
            self.made += 1
            self.callbacks[key] = function
            self.callback_ids[id(function)] = key
        return key

    def _write_back(self, args, kwargs, sent_args, sent_kwargs) -> None:
        """Make the caller's arguments look as the student's code left them."""
        for before, after in zip(args, self._decode(sent_args), strict=False):
            _write_back(before, after)
        for name, after in self._decode(sent_kwargs).items():
            _write_back(kwargs.get(name), after)

    def _target(self, target):
        if isinstance(target, dict):  # a model of the student's, by key (a ShadowModule)
            return {"__mirror__": target}
        return target if isinstance(target, str) else wire.encode(target)

    # -- what crosses ----------------------------------------------------------------------
    def _encode(self, value):
        return wire.encode(value, self._to_ref, self.rngs,
                           self._hook if self.mirroring else None)

    def _decode(self, value, label="result"):
        if not self.mirroring:
            return wire.decode(value, lambda ref: _Remote(self, ref, label), self.rngs)
        return wire.decode(value, lambda ref: _Remote(self, ref, label), self.rngs,
                           self._find_mirror, self._tensor_hook)

    def _find_mirror(self, body):
        """One of the referee's objects, named by the worker (never one it sends), or a new
        model or optimizer the student's code made, rebuilt here from its state."""
        if type(body) is not dict or set(body) - {"key", "path", "shadow"}:
            raise ValueError("malformed mirror reference from the worker")
        if "shadow" not in body:
            return self.mirrors.find(body)
        key = body["key"]
        if type(key) is not str or not key.startswith("w") or self.mirrors.get(key) is not None:
            raise ValueError("malformed new object from the worker")
        obj = wire.build(body["shadow"], self._decode, key)
        self.mirrors.add(key, obj)
        return obj

    def stand_in(self, module_name: str, qualname: str, name: str | None = None):
        """The referee's class for a student's module class: instances are rebuilt copies
        of the worker's (their layers of torch.nn real, so a test can walk and inspect
        them) whose calls run in the worker; calling the class builds one there."""
        found = self.stand_ins.get((module_name, qualname))
        if found is None:
            found = type(qualname.rpartition(".")[2], (_shadow_base(),), {
                "_session": self, "_constructor": name, "__module__": module_name,
                "__qualname__": qualname})
            self.stand_ins[(module_name, qualname)] = found
        elif name is not None and found._constructor is None:
            found._constructor = name
        return found

    def _make_module(self, module_name, qualname, key, path):
        import torch

        module = object.__new__(self.stand_in(str(module_name), str(qualname)))
        torch.nn.Module.__init__(module)
        object.__setattr__(module, "_shadow", {"key": key, "path": [
            "modules", path] if path else None})
        return module

    def _tensor_hook(self, tensor, ref) -> None:
        """A tensor from the worker that records gradients: ``backward()`` on the referee's
        side (``out.sum().backward()`` in a test) is carried into the worker's graph."""
        if ref is None:
            return
        self.from_worker[id(tensor)] = (tensor, ref)
        if tensor.requires_grad and tensor.is_leaf:
            tensor.register_hook(lambda grad, ref=ref: self._backward(ref, grad))

    def _backward(self, ref, grad) -> None:
        answer = self.request({"op": "backward", "target": wire.encode(ref),
                               "grad": self._encode(grad)})
        if "error" in answer:
            _raise_remote(answer["error"])

    def _hook(self, value):
        """How one of the referee's objects crosses: by key if the worker holds it (or it
        came from the worker), else as a new copy (a pickle, from the trusted side to the
        untrusted one only) or, for a function, as a call back."""
        found = self.mirrors.hook()(value)
        if found is not None:
            return found
        known = self.from_worker.get(id(value))
        if known is not None and known[0] is value:
            return {"__ref__": known[1].id}
        if type(value) is _Remote or _is_data(value):
            return None
        if _is_callback(value):
            return {"__mirror__": {"key": self._callback_key(value), "callback": True}}
        key = f"m{self.made}"
        self.made += 1
        data = self._pickle(value)
        self.mirrors.add(key, value, synced=False)
        return {"__mirror__": {"key": key, "pickle": data}}

    def _pickle(self, value) -> str:
        import base64

        import cloudpickle

        session = self
        by_value: set[int] = set()  # the methods of a class of the test's, sent with it

        class Pickler(cloudpickle.Pickler):
            def persistent_id(self, obj):
                if obj is value or id(obj) in by_value:
                    return None
                if isinstance(obj, type) and obj.__module__ == "__main__":
                    for v in vars(obj).values():
                        by_value.add(id(v))
                        for part in ("__func__", "fget", "fset", "fdel"):
                            by_value.add(id(getattr(v, part, None)))
                    return None
                return session._persistent_id(obj)

        buffer = io.BytesIO()
        try:
            Pickler(buffer).dump(value)
        except Exception as error:  # noqa: BLE001
            raise wire.CannotCross(f"a {type(value).__name__} cannot be passed to the student's "
                                   f"code ({error})") from None
        return base64.b64encode(buffer.getvalue()).decode("ascii")

    def _persistent_id(self, obj):
        if type(obj) is _Remote:
            target = obj._target
            return ("ref", target.id) if isinstance(target, wire.Ref) else ("name", target)
        found = self.mirrors.index().get(id(obj))
        if found is not None and found[0] is obj:
            return ("mirror", found[1]["key"], found[1]["path"])
        known = self.from_worker.get(id(obj))
        if known is not None and known[0] is obj:
            return ("ref", known[1].id)
        torch = sys.modules.get("torch")
        if isinstance(obj, np.random.Generator) or (torch is not None and type(
                obj) is torch.Generator):
            return ("rng", self.rngs.key(obj))
        if _is_callback(obj):
            return ("callback", self._callback_key(obj))
        return None

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
        module_class = answer.get("module_class")
        if self.mirroring and type(module_class) is list and len(module_class) == 2:
            return self.stand_in(str(module_class[0]), str(module_class[1]), name), True
        if type(value) is dict and "__ref__" in value:  # a function or an object: a proxy
            return _Remote(self, name, name), True
        return self._decode(value, name), True


_SHADOW_BASE: list = []


def _shadow_base():
    """nn.Module subclass of the stand-ins (made once torch is imported)."""
    if _SHADOW_BASE:
        return _SHADOW_BASE[0]
    import torch

    class ShadowModule(torch.nn.Module):
        """A student's model as the referee sees it: the layers, parameters, buffers and
        modes of the worker's model (kept in step), whose calls run in the worker, where
        its code is. Hooks the test registers on it are not run here (the worker runs the
        model): those on models the test builds itself are."""

        _session = None
        _constructor = None  # the name of the student's class in the worker

        def __new__(cls, *args, **kwargs):
            if cls._constructor is None:
                raise TypeError(f"{cls.__qualname__} cannot be built by the grader")
            return cls._session.call(cls._constructor, None, args, kwargs)

        def __init__(self, *args, **kwargs):  # built in the worker (__new__)
            pass

        def __call__(self, *args, **kwargs):
            return self._session.call(self._shadow, None, args, kwargs)

        def forward(self, *args, **kwargs):
            return self._session.call(self._shadow, "forward", args, kwargs)

        def __getattr__(self, name):
            try:
                return torch.nn.Module.__getattr__(self, name)
            except AttributeError:
                if name.startswith("_"):
                    raise
                return self._session.getattr(self._shadow, name)

    _SHADOW_BASE.append(ShadowModule)
    return ShadowModule


def _is_data(value) -> bool:
    """Values :func:`grader.wire.encode` sends as data (a leaf tensor that records gradients
    is sent as a mirrored object instead, so that its ``.grad`` comes back)."""
    if isinstance(value, (np.ndarray, np.generic, np.random.Generator, list, tuple, dict,
                          wire.Ref)):
        return True
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return not (value.is_leaf and value.requires_grad)
    return torch is not None and type(value) is torch.Generator


def _is_callback(value) -> bool:
    """A function of the test's (a lambda, a helper, a bound method): the worker calls it
    back instead of getting a copy."""
    if isinstance(value, (types.MethodType, functools.partial)):
        return True
    if isinstance(value, types.FunctionType):
        return value.__module__ in (None, "__main__") or "<" in value.__qualname__
    if isinstance(value, types.BuiltinMethodType):
        owner = getattr(value, "__self__", None)
        return owner is not None and not isinstance(owner, types.ModuleType)
    return False


_write_back = wire.write_back


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
    seconds: dict[str, float] = {}  # per cell run here, for benchmarks/autograde_times.py
    startup = max(timeout, float(job.get("startup_timeout", 120)))
    upto = _upto(cells, job.get("stops"), len(job["cells"]))
    try:
        try:
            worker.start(startup, timeout, upto[0] if upto else 0)
        except Exception as error:  # noqa: BLE001 - every cell killed it (WorkerGone), or
            # it answered junk: nothing of the submission runs, every test fails
            return {"verdicts": {}, "worker_errors": worker.run_errors + [[
                -1, type(error).__name__, str(error)[:500]]],
                    "seconds": round(time.monotonic() - started, 2)}
        session = _Session(worker, timeout, mirroring=not job.get("numpy_only"))
        namespace: dict = {"__name__": "__main__"}
        # an experiment followed by a test (lab 05's accuracy goal) runs here, with the
        # student's functions called in the worker, as the test needs what it computed
        tested_later = [any(_meta(c).get("grade") for c in cells[i + 1:])
                        for i in range(len(cells))]
        os.environ.setdefault("NBGRADER_EXECUTION", "autograde")
        inspect.getsource = _getsource  # this process runs only the referee
        kernel_only = set(job.get("kernel_only", ()))
        for position, cell in enumerate(cells):
            meta = _meta(cell)
            try:
                worker.advance(upto[position], startup, timeout)
            except WorkerGone:
                break  # the remaining cells get no verdict: they fail (grader.verdict)
            except Exception as error:  # noqa: BLE001 - a malformed answer from the worker
                worker.run_errors.append([position, "MalformedAnswer", str(error)[:500]])
                break
            if meta.get("solution") and not meta.get("grade"):
                for name in solution_names(cell["source"]):
                    try:
                        value, found = session.get(name)
                    except WorkerGone:
                        found = False
                    except Exception as error:  # noqa: BLE001 - the worker's answer is junk
                        # (its wire rewritten by the submission): the name is not bound and
                        # the tests that use it fail; grading goes on
                        worker.run_errors.append([position, "MalformedAnswer",
                                                  f"{name}: {str(error)[:500]}"])
                        found = False
                    if found:
                        namespace[name] = value
                    else:
                        namespace.pop(name, None)
                continue
            grade_id = meta.get("grade_id") if meta.get("grade") else None
            if grade_id is None and str(meta.get("grade_id", "")).startswith(
                    "experiment") and not tested_later[position]:
                continue  # the lab's experiments grade nothing
            if grade_id is not None:
                try:
                    session.forget()
                except Exception:  # noqa: BLE001 - the worker is gone or answered junk
                    session.reset()
            if grade_id is not None and grade_id in kernel_only:
                continue  # judged by the kernel alone (grader.verdict.KERNEL_ONLY)
            if grade_id is not None and grade_id in job.get("skip", ()):
                verdicts[grade_id] = {"passed": False, "message": "not run again: this test "
                                      "crashed or timed out in the notebook"}
                continue
            tic = time.monotonic()
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
                session.reset()
                try:
                    worker.restart(startup, timeout)
                except WorkerGone:
                    break  # the remaining cells get no verdict: they fail (grader.verdict)
            except BaseException as error:  # noqa: BLE001 - a failed test, whatever raised
                if grade_id is not None:
                    verdicts[grade_id] = {"passed": False,
                                          "message": f"{type(error).__name__}: {error}"[:1500]}
            seconds[str(meta.get("grade_id", position))] = round(time.monotonic() - tic, 2)
            if job.get("numpy_only") and "check_numpy_only" in namespace:
                namespace["check_numpy_only"] = _enforced_by_sandbox
    finally:
        worker.stop()
    return {"verdicts": verdicts, "worker_errors": worker.run_errors,
            "seconds": round(time.monotonic() - started, 2), "cell_seconds": seconds}


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
