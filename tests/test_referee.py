"""The second verdict: plain data on the wire, the sandboxed worker, the referee on real labs.

The wire tests are fast unit tests. The referee tests run real lab notebooks through
``grader.referee`` in the sandbox (skipped with the reason where bubblewrap cannot run): the
instructor's solution and correct alternatives from ``tools/variants`` must pass every test
cell (the second verdict must never cost honest work its points), the unmodified release must
fail every one, and a NumPy-only lab's worker cannot import torch or scipy.
"""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest

from grader import sandbox, wire
from grader.referee import Worker, referee, solution_names
from grader.variants import LABS, NUMPY_LABS, ROOT, judge, submission_cells
from grader.verdict import KERNEL_ONLY

REASON = sandbox.availability()
needs_sandbox = pytest.mark.skipif(REASON is not None, reason=f"no sandbox here: {REASON}")


# -- the wire ---------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [
    np.arange(6, dtype=np.int8).reshape(2, 3), np.array([True, False]), np.zeros((0, 3)),
    np.array(2.5, dtype=np.float32), np.array([1 + 2j]), np.float32(1.5), np.int64(-3),
    np.arange(5.0)[::2],  # not contiguous
])
def test_arrays_cross_with_dtype_and_shape(value):
    back = wire.decode(json.loads(json.dumps(wire.encode(value))))
    assert type(back) is type(value)
    assert np.asarray(back).dtype == np.asarray(value).dtype
    assert np.array_equal(back, value)


def test_containers_and_special_floats_cross():
    value = {"a": [1, (2.0, None), "x"], 3: {"n": float("nan"), "i": float("-inf")}}
    back = wire.decode(json.loads(json.dumps(wire.encode(value))))
    assert back["a"] == [1, (2.0, None), "x"] and isinstance(back["a"][1], tuple)
    assert np.isnan(back[3]["n"]) and back[3]["i"] == float("-inf")


def test_objects_do_not_cross_without_a_reference():
    class Oracle:
        def __array__(self, dtype=None, copy=None):
            return np.ones(3)

    for value in (Oracle(), np.array([Oracle()], dtype=object), lambda x: x, {1.5: 2}):
        with pytest.raises(wire.CannotCross):
            wire.encode(value)
    refs = []
    encoded = wire.encode([Oracle()], to_ref=lambda v: refs.append(v) or wire.Ref(7))
    assert encoded == [{"__ref__": 7}] and len(refs) == 1


@pytest.mark.parametrize("message", [
    {"__nd__": ["|O", [1], "AAAAAAAAAAA="]},  # object dtype
    {"__nd__": ["<f8", [2], "AAAAAAAAAAA="]},  # 8 bytes for 2 float64
    {"__nd__": ["<f8", [-1], ""]},
    {"__rng__": ["r0", json.dumps({"bit_generator": "MT19937", "state": {}})]},
    {"__pickle__": "gASV"},
    {"__tuple__": [1], "__dict__": []},
    {"__dict__": [[1.5, 2]]},
])
def test_malformed_values_are_refused(message):
    with pytest.raises(ValueError):
        wire.decode(message)


def test_generators_stay_in_step_across_the_wire():
    caller = np.random.default_rng(5)
    mine, theirs = wire.RngTable("r"), wire.RngTable("w")
    remote = wire.decode(json.loads(json.dumps(wire.encode(caller, rngs=mine))), rngs=theirs)
    expected = np.random.default_rng(5)
    assert remote.integers(1000) == expected.integers(1000)  # the worker draws once
    mine.sync(json.loads(json.dumps(theirs.states())))  # the answer carries its state back
    assert caller.integers(1000) == expected.integers(1000)  # the caller goes on from there


def test_remote_exceptions_keep_their_builtin_class_but_cannot_end_a_loop():
    from grader.referee import _raise_remote

    with pytest.raises(ValueError, match="singular"):  # numpy's LinAlgError is a ValueError
        _raise_remote(["LinAlgError", ["LinAlgError", "ValueError", "Exception"], "singular"])
    for forged in (["StopIteration", ["StopIteration", "Exception"], ""],
                   ["X", ["KeyboardInterrupt", "SystemExit", "StopAsyncIteration"], ""],
                   ["X", "not a list", ""], ["X"]):
        with pytest.raises(RuntimeError):
            _raise_remote(forged)
    with pytest.raises(StopIteration):  # only while the referee iterates a remote iterator
        _raise_remote(["StopIteration", ["StopIteration", "Exception"], ""], iterating=True)


def test_solution_names():
    assert solution_names("import numpy as np\nx: int = 3\ndef f():\n    pass\nA = B = 1") == [
        "x", "f", "A", "B"]


# -- the worker and the referee -------------------------------------------------------------
@needs_sandbox
def test_numpy_only_worker_cannot_import_torch_or_scipy():
    cells = ["import numpy as np\nok = np.ones(2).sum()", "import torch", "import scipy",
             "from course import conv", "import course.grading"]
    worker = Worker(cells, numpy_only=True, hide=[ROOT])
    try:
        worker.start(120, 60)
        failed = {index: name for index, name, *_ in worker.run_errors}
        assert failed == {1: "ImportError", 2: "ImportError", 3: "ImportError"}, worker.run_errors
        answer = worker.request({"op": "get", "name": "ok"}, 30)
        assert wire.decode(answer["value"]) == 2.0
    finally:
        worker.stop()


@needs_sandbox
def test_a_cell_that_kills_the_worker_is_left_out():
    cells = ["def f(x):\n    return 2 * x", "import os\nos._exit(3)", "def g(x):\n    return x + 1"]
    worker = Worker(cells, numpy_only=True, hide=[ROOT])
    try:
        worker.start(120, 20)
        assert [e[:2] for e in worker.run_errors] == [[1, "WorkerGone"]]
        for name, expected in (("f", 6), ("g", 4)):
            answer = worker.request({"op": "call", "target": name, "args": wire.encode([3]),
                                     "kwargs": wire.encode({})}, 20)
            assert wire.decode(answer["value"]) == expected
    finally:
        worker.stop()


def _correct_variants(short: str, count: int = 2):
    table = importlib.import_module(f"tools.variants.{short}")
    return [v for v in table.VARIANTS if v.kind == "correct"][:count]


@needs_sandbox
@pytest.mark.slow
@pytest.mark.parametrize("short", sorted(LABS))
def test_referee_keeps_correct_work_and_fails_the_release(short, monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    lab = LABS[short]
    for name, replace in [("solution", {}), *((v.name, v.replace)
                                              for v in _correct_variants(short))]:
        outcome = judge(lab, submission_cells(lab, replace))
        failed = {k: v["message"] for k, v in outcome["verdicts"].items() if not v["passed"]}
        assert outcome["verdicts"] and not failed, f"{lab} / {name}: {failed}"
    import nbformat

    from grader.verdict import worker_cells

    release = nbformat.read(ROOT / "labs" / lab / f"{lab}.ipynb", as_version=4)
    outcome = referee({"source": str(ROOT / "solutions" / lab / f"{lab}.ipynb"),
                       "cells": worker_cells(release), "numpy_only": lab in NUMPY_LABS,
                       "kernel_only": KERNEL_ONLY.get(lab, []), "timeout": 60,
                       "hide": [str(ROOT)]})
    passed = [k for k, v in outcome["verdicts"].items() if v["passed"]]
    assert outcome["verdicts"] and not passed, f"{lab}: the release passed {passed}"


# -- the warm start ---------------------------------------------------------------------------
def _job(folder, cells, lab="lab01_linear_regression", timeout=60):
    folder.mkdir()
    path = folder / "job.json"
    path.write_text(json.dumps({"source": str(ROOT / "solutions" / lab / f"{lab}.ipynb"),
                                "cells": cells, "numpy_only": True, "timeout": timeout,
                                "hide": [str(ROOT)]}))
    return path


def _env():
    import os

    return {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}


@needs_sandbox
def test_zygote_children_give_the_cold_referees_verdicts(tmp_path, monkeypatch):
    """Forked from a process that imported torch, a referee judges as a fresh one does: the
    solution passes every test before and after a wrong submission, and the wrong one gets
    the fresh referee's verdicts (which fail what the mutation table says must fail)."""
    import subprocess
    import sys

    from grader.zygote import Zygote

    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    lab = "lab01_linear_regression"
    table = importlib.import_module("tools.variants.lab01")
    variant = next(v for v in table.VARIANTS if v.name == "mse_loss: no factor 1/2")
    wrong = submission_cells(lab, variant.replace)
    zygote = Zygote(_env())
    try:
        warm = {}
        for name, cells in [("right", submission_cells(lab)), ("wrong", wrong),
                            ("right-again", submission_cells(lab))]:
            code, out, err = zygote.run(_job(tmp_path / name, cells), 300)
            assert code == 0, err
            warm[name] = {k: v["passed"] for k, v in json.loads(out)["verdicts"].items()}
        cold = subprocess.run([sys.executable, "-m", "grader.referee",
                               str(_job(tmp_path / "cold", wrong))],
                              capture_output=True, text=True, env=_env(), check=True)
        cold = {k: v["passed"] for k, v in json.loads(cold.stdout)["verdicts"].items()}
    finally:
        zygote.stop()
    assert all(warm["right"].values()) and warm["right"] == warm["right-again"]
    assert warm["wrong"] == cold
    assert {k for k, passed in cold.items() if not passed} >= set(variant.fails)
    assert cold["test_predict"]


@needs_sandbox
def test_zygote_kills_a_referee_over_time_and_keeps_serving(tmp_path):
    """A referee child that outlives its time is killed with its process group (the worker
    too); a zygote that died, or ended itself after its idle time, is started again for the
    next job."""
    import os
    import time

    from grader.zygote import Zygote

    zygote = Zygote(_env(), idle=3)
    zygote._start()
    first = zygote.process
    time.sleep(6)
    assert first.poll() is not None, "an idle zygote should have ended itself"
    try:
        hang = ["import time\ndef predict(X, w, b):\n    time.sleep(600)"]
        with pytest.raises(TimeoutError):
            zygote.run(_job(tmp_path / "hang", hang, timeout=600), 8)
        os.kill(zygote.process.pid, 9) if zygote.process else None
        code, out, err = zygote.run(_job(tmp_path / "next", submission_cells(
            "lab01_linear_regression")), 300)
        assert code == 0, err
        assert json.loads(out)["verdicts"]["test_predict"]["passed"]
    finally:
        zygote.stop()


@needs_sandbox
def test_each_test_sees_the_functions_defined_before_it(monkeypatch):
    """As in the kernel, a test judges the function as the notebook defines it at the test's
    place: a broken redefinition after the last test (a student trying something out) costs
    nothing, the same redefinition just before test_predict fails it."""
    import nbformat

    from grader.verdict import stops_before_tests

    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    lab = "lab01_linear_regression"
    broken = nbformat.v4.new_code_cell("def predict(X, w, b):\n    return 0.0")

    def verdicts(where: str) -> dict:
        nb = nbformat.read(ROOT / "solutions" / lab / f"{lab}.ipynb", as_version=4)
        at = next(i for i, c in enumerate(nb.cells)
                  if c.metadata.get("nbgrader", {}).get("grade_id") == where) \
            if where != "end" else len(nb.cells)
        nb.cells.insert(at, broken)
        outcome = referee({"source": str(ROOT / "solutions" / lab / f"{lab}.ipynb"),
                           "cells": worker_cells(nb), "stops": stops_before_tests(nb),
                           "numpy_only": True, "timeout": 60, "hide": [str(ROOT)]})
        return {k: v["passed"] for k, v in outcome["verdicts"].items()}

    from grader.verdict import worker_cells

    at_end = verdicts("end")
    assert at_end and all(at_end.values()), at_end
    before = verdicts("test_predict")
    assert not before["test_predict"], before


# -- PyTorch objects across the boundary ------------------------------------------------------
def test_shared_layers_and_tied_weights_stay_shared_when_rebuilt():
    """A layer kept both as an attribute and inside an nn.Sequential, and two layers with one
    weight, are one object each in the rebuilt copy: its parameter count is the original's."""
    import torch
    from torch import nn

    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 3)
            self.seq = nn.Sequential(self.a, nn.ReLU())
            self.b, self.c = nn.Linear(3, 2), nn.Linear(3, 2)
            self.c.weight = self.b.weight

    model = Tied()
    state = json.loads(json.dumps(wire.state_of(model)))
    saved, wire.make_module = wire.make_module, lambda *args: nn.Module()
    try:
        copy = wire.build(state, wire.decode, "w0")
        assert copy.seq[0] is copy.a and copy.c.weight is copy.b.weight
        assert sum(p.numel() for p in copy.parameters()) == 6 + 3 + 6 + 2 + 2
        with torch.no_grad():
            model.a.weight.add_(1.0)
        wire.apply_state(copy, json.loads(json.dumps(wire.state_of(model))))
        assert copy.seq[0] is copy.a and torch.equal(copy.seq[0].weight, model.a.weight)
    finally:
        wire.make_module = saved


_TORCH_ANSWERS = '''
def double(x):
    return 2 * x


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
        self.head = nn.Linear(3, 1)

    def forward(self, x):
        return self.head(self.body(x))


def zero_(model):
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    return model


def plus_one(fn, x):
    return fn(x) + 1
'''

_TORCH_TESTS = {
    "test_backward": """
x = torch.arange(3.0, requires_grad=True)
double(x).pow(2).sum().backward()
assert torch.equal(x.grad, 8 * torch.arange(3.0)), x.grad
""",
    "test_shadow": """
net = Net()
kinds = [type(m).__name__ for m in net.modules()]
assert kinds.count("Linear") == 2 and kinds.count("ReLU") == 1, kinds
seen = []
net.body[0].register_forward_hook(lambda m, i, o: seen.append(tuple(o.shape)))
out = net(torch.ones(4, 2))
assert tuple(out.shape) == (4, 1) and seen == [(4, 3)], (out.shape, seen)
with torch.no_grad():
    local = net.head(net.body(torch.ones(4, 2)))  # the rebuilt layers, in this process
assert torch.allclose(out, local)
""",
    "test_lent_model": """
lin = nn.Linear(2, 2)
back = zero_(lin)
assert back is lin and int(torch.count_nonzero(lin.weight)) == 0, lin.weight
""",
    "test_callback": """
assert plus_one(lambda t: t * 10, torch.ones(2)).tolist() == [11.0, 11.0]
""",
}


def _torch_job(tmp_path, answers: str) -> dict:
    import nbformat

    def cell(source, **meta):
        return nbformat.v4.new_code_cell(source, metadata={"nbgrader": meta} if meta else {})

    setup = "import torch\nfrom torch import nn"
    nb = nbformat.v4.new_notebook(cells=[
        cell(setup, grade=False, solution=False, locked=True, grade_id="setup"),
        cell(_TORCH_ANSWERS, grade=False, solution=True, locked=False, grade_id="answers"),
        *(cell(source, grade=True, solution=False, locked=True, points=1, grade_id=name)
          for name, source in _TORCH_TESTS.items())])
    path = tmp_path / "lab.ipynb"
    nbformat.write(nb, path)
    return {"source": str(path), "cells": [setup, answers], "numpy_only": False,
            "timeout": 60, "hide": [str(ROOT)]}


@needs_sandbox
def test_torch_objects_cross_and_wrong_work_fails(tmp_path, monkeypatch):
    """Tensors from the worker carry backward() back into the student's graph; a model the
    student's class builds is rebuilt here with real layers (walked, hooked, called in the
    worker); a model the test lends comes back with what the student's code did to it; a test's
    function is called back. The same tests fail answers that are wrong in those ways."""
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    right = referee(_torch_job(tmp_path, _TORCH_ANSWERS))["verdicts"]
    assert {k: v["passed"] for k, v in right.items()} == dict.fromkeys(_TORCH_TESTS, True), right
    wrong = (_TORCH_ANSWERS
             .replace("return 2 * x", "return 2 * x.detach()")  # no gradient
             .replace("nn.ReLU()", "nn.Tanh()")
             .replace("for p in model.parameters():", "for p in copy.deepcopy(model).parameters():")
             .replace("return fn(x) + 1", "return fn(x + 1)"))
    failed = referee(_torch_job(tmp_path, "import copy\n" + wrong))["verdicts"]
    assert {k: v["passed"] for k, v in failed.items()} == dict.fromkeys(_TORCH_TESTS, False), \
        failed


def test_a_referee_kept_busy_past_its_time_fails_the_tests_and_grading_goes_on(monkeypatch):
    """A submission that keeps the second verdict busy past ``total_timeout`` loses the tests
    it passed in the kernel, with the reason in the notebook and the review record; the
    grading run does not stop on it."""
    import nbformat

    from grader import verdict

    monkeypatch.delenv(verdict.OPT_OUT, raising=False)

    def busy(self, nb, resources):
        raise verdict.RefereeTimedOut("the second verdict took over 900 s")

    monkeypatch.setattr(verdict.SecondVerdict, "run_referee", busy)
    passed = nbformat.v4.new_code_cell("pass", metadata={"nbgrader": {
        "grade": True, "grade_id": "test_a", "points": 1, "solution": False}})
    failed = nbformat.v4.new_code_cell("pass", metadata={"nbgrader": {
        "grade": True, "grade_id": "test_b", "points": 1, "solution": False}})
    failed.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="no",
                                             traceback=[])]
    nb = nbformat.v4.new_notebook(cells=[passed, failed])
    resources = {"nbgrader": {"assignment": "lab01_linear_regression"}}
    nb, resources = verdict.SecondVerdict().preprocess(nb, resources)
    assert [o.get("ename") for o in nb.cells[0].outputs] == ["SecondVerdict"]
    assert "took over 900 s" in nb.cells[0].outputs[0]["evalue"]
    assert len(nb.cells[1].outputs) == 1  # already failed: left as it was
    assert [d["cell"] for d in resources["sandbox"]["disagreements"]] == ["test_a"]
