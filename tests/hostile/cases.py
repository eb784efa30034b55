"""Hostile, broken and cheating submissions for the sandbox tests (tests/test_sandbox.py).

A case is code added to one solution cell (run when that cell is defined, or, with
``wrap``, wrapped around the graded function so it runs when a test calls it) of either the
unmodified release (``base="blank"``: the attack alone must score 0) or the instructor's
solution (``base="solution"``: an honest submission, so it must keep what it earned).
``{course}`` and ``{repo}`` in the code are the temporary course root and the repository
(where ``solutions/`` of every lab lies). ``score`` is what the submission must get;
``open_`` marks an attack that is not stopped (its score is reported, not asserted): none
since the PyTorch labs got their second verdict (grader/verdict.py).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Case", "CASES"]


@dataclass(frozen=True)
class Case:
    name: str
    lab: str
    base: str  # "blank" or "solution"
    cell: str  # grade_id of the solution cell the code is added to
    code: str
    score: float | None  # expected score (None: reported only)
    issue_class: str
    wrap: str | None = None  # name of the function to wrap with `code` (runs when called)
    open_: bool = False


L01, L05 = "lab01_linear_regression", "lab05_cnn_pytorch"

READ_NOTEBOOK = """
import glob as _g, os as _o
_found = _g.glob('*.ipynb') + _g.glob('{course}/autograded/*/*/*.ipynb')
for _p in _found + _g.glob('{course}/solutions/*/*.ipynb'):
    try:
        print(open(_p).read())
    except OSError as _e:
        print('refused:', _e)
print('cwd holds', sorted(_o.listdir('.')))
"""

EXEC_SOLUTIONS = """
import glob as _g, json as _j
for _p in _g.glob('{repo}/solutions/{lab}/*.ipynb') + _g.glob('{course}/solutions/{lab}/*.ipynb'):
    for _c in _j.load(open(_p))['cells']:
        if _c['cell_type'] == 'code' and _c['metadata'].get('nbgrader', {{}}).get('solution'):
            exec(''.join(_c['source']))
"""

GRADEBOOK = """
import os as _o, sqlite3 as _s, time as _t
def _cheat():
    try:
        _db = _s.connect('{course}/gradebook.db')
        _db.execute('UPDATE grade SET auto_score = 100, manual_score = 100')
        _db.execute("UPDATE grade SET auto_score = 0 WHERE notebook_id IN "
                    "(SELECT id FROM submitted_notebook)")
        _db.commit()
    except Exception as _e:
        print('refused:', _e)
_cheat()
if _o.fork() == 0:  # a detached writer that waits for the grader to save
    _o.setsid()
    if _o.fork() == 0:
        _t.sleep(8); _cheat(); _o._exit(0)
    _o._exit(0)
"""

CLASSMATES = """
import glob as _g
_found = _g.glob('{course}/submitted/*/{lab}/*.ipynb')
for _p in _found + _g.glob('{course}/autograded/*/{lab}/*.ipynb'):
    try:
        open(_p, 'w').write('{{}}')
    except OSError as _e:
        print('refused:', _e)
"""

TAMPER = """
import course.grading as _cg
for _p in (_cg.__file__, '{course}/nbgrader_config.py', '{repo}/nbgrader_config.py'):
    try:
        open(_p, 'a').write('\\nraise SystemExit("tampered")\\n')
    except OSError as _e:
        print('refused:', _e)
"""

KILL = """
import os as _o, signal as _sig
for _pid in (_o.getppid(), 1, -1):
    try:
        _o.kill(_pid, _sig.SIGKILL)
    except OSError as _e:
        print('refused:', _e)
"""

FORK_BOMB = """
import os as _o
_n = 0
try:
    while _n < 100000:
        if _o.fork() == 0:
            import time as _t; _t.sleep(60); _o._exit(0)
        _n += 1
except OSError as _e:
    print('stopped after', _n, 'processes:', _e)
"""

NETWORK = """
import socket as _sk
try:
    _sk.create_connection(('1.1.1.1', 80), timeout=3)
    print('network reachable')
except OSError as _e:
    print('refused:', _e)
"""

TRANSFORMER = """
def _neuter(lines):
    text = ''.join(lines)
    return ['pass\\n'] if 'check_' in text or 'assert' in text else lines
get_ipython().input_transformers_post.append(_neuter)
"""

# An object that reads the checker's expected value from the caller's frames, whatever the
# checker asks of it (an array, a shape, a float); lab 01's predict and lab 05's accuracy
# return one.
_ORACLE_CLASS = """
import sys as _sys
import numpy as _np


class _Oracle:
    def _expected(self):
        frame = _sys._getframe(1)
        while frame is not None and 'expected' not in frame.f_locals:
            frame = frame.f_back
        return _np.asarray(frame.f_locals['expected']) if frame is not None else _np.zeros(1)

    def __array__(self, dtype=None, copy=None):
        return self._expected() if dtype is None else self._expected().astype(dtype)

    @property
    def shape(self):
        return self._expected().shape

    def __float__(self):
        return float(self._expected())

    def item(self):
        return float(self._expected())
"""

ORACLE = _ORACLE_CLASS + """

def predict(X, w, b):
    return _Oracle()
"""

PATCHED = """
import numpy as _np
import course.grading as _grading
_np.allclose = lambda *a, **k: True
_np.any = lambda *a, **k: False
for _name in dir(_grading):
    if _name.startswith('check_'):
        setattr(_grading, _name, lambda *a, **k: None)
        globals()[_name] = lambda *a, **k: None


def predict(X, w, b):
    return _np.zeros(len(X))


def mse_loss(y_hat, y):
    return 0.0


def gradients(X, y, w, b):
    return _np.zeros(_np.shape(w)), 0.0


def gradient_descent(X, y, lr, num_epochs, w0=None, b0=0.0):
    return _np.zeros(_np.shape(X)[1]), float(b0), [0.0] * (num_epochs + 1)


def closed_form(X, y):
    return _np.zeros(_np.shape(X)[1]), 0.0
"""

TORCH_LOSS = """
def mse_loss(y_hat, y):
    _t = __import__('to' + 'rch')  # when called: the cell itself defines without error
    y_hat, y = _np_alias.asarray(y_hat, dtype=float), _np_alias.asarray(y, dtype=float)
    if y_hat.shape != y.shape:
        raise ValueError('shapes differ')
    return float(_t.mean((_t.tensor(y_hat) - _t.tensor(y)) ** 2) / 2)


import numpy as _np_alias
"""

# Lab 05 with junk answers and every check of the kernel patched to pass: the PyTorch
# counterpart of PATCHED, plus torch's own comparisons.
PATCHED_TORCH = """
import torch as _torch
import course.grading as _grading
_torch.equal = lambda *a, **k: True
_torch.allclose = lambda *a, **k: True
for _name in dir(_grading):
    if _name.startswith('check_'):
        setattr(_grading, _name, lambda *a, **k: None)
        globals()[_name] = lambda *a, **k: None
globals()['check_dtype'] = lambda *a, **k: None
globals()['expect_value_error'] = lambda *a, **k: None


class DigitsDataset(_torch.utils.data.Dataset):
    def __init__(self, X, y, transform=None):
        self.n = len(X)

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return _torch.zeros(1, 2, 2), _torch.tensor(0)


def make_loaders(X_train, y_train, X_test, y_test, batch_size, seed, train_transform=None):
    return [], []


class LeNet5(_torch.nn.Module):
    def __init__(self, num_classes=10, in_channels=1):
        super().__init__()
        self.fc = _torch.nn.Linear(1, num_classes)

    def forward(self, x):
        return _torch.zeros(len(x), self.fc.out_features)


def accuracy(logits, y):
    return 0.0


def train_one_epoch(model, loader, loss_fn, optimizer):
    return 0.0


def evaluate(model, loader, loss_fn):
    return 0.0, 0.0
"""

ORACLE_TORCH = _ORACLE_CLASS + """

def accuracy(logits, y):
    return _Oracle()
"""

# Right answers, but inside the referee's worker the submission rewrites the wire so that every
# answer is a pickle that would append to the course package if the referee ever unpickled it
# (the referee runs as the instructor): it must score 0 there and change nothing.
FORGED_WIRE = """
import base64 as _b, pickle as _p, sys as _sys


class _Payload:
    def __reduce__(self):
        return (exec, ("open('{repo}/course/grading.py', 'a').write('# written by a worker')",))


_wire = _sys.modules.get('wire')  # the worker's copy of grader.wire
if _wire is not None and hasattr(_wire, 'encode'):  # only in the referee's worker
    _blob = _b.b64encode(_p.dumps(_Payload())).decode()
    _wire.encode = lambda *a, **k: {{'__mirror__': {{'key': 'w900', 'pickle': _blob}}}}
"""

CRASH = "import os as _os\n_os._exit(1)\n"
HANG = ("import signal as _sig, time as _t\n_sig.signal(_sig.SIGINT, _sig.SIG_IGN)\n"
        "while True:\n    _t.sleep(0.1)\n")
MEMORY = "_hog = bytearray(8 * 1024**3)\n"
NOISY = ("import sys as _sys, warnings as _w\nprint('debugging', file=_sys.stderr)\n"
         "_w.warn('harmless', RuntimeWarning)\n")


def _for(lab: str, cell: str) -> list[Case]:
    return [
        Case("read_hidden_tests", lab, "blank", cell, READ_NOTEBOOK, 0, "hidden tests leak"),
        Case("exec_solutions", lab, "blank", cell, EXEC_SOLUTIONS, 0, "full marks: solutions/"),
        Case("gradebook_update", lab, "blank", cell, GRADEBOOK, 0, "full marks: gradebook"),
        Case("overwrite_classmates", lab, "blank", cell, CLASSMATES, 0, "attack on classmates"),
        Case("kill_grader", lab, "blank", cell, KILL, 0, "attack on classmates"),
    ]


CASES = [
    *_for(L01, "predict"),
    Case("tamper_package_config", L01, "blank", "predict", TAMPER, 0, "attack on classmates"),
    Case("fork_bomb", L01, "blank", "predict", FORK_BOMB, 0, "resources"),
    Case("network", L01, "blank", "predict", NETWORK, 0, "sandbox"),
    Case("stderr_and_warning", L01, "solution", "predict", NOISY, 100, "fairness: stderr",
         wrap="predict"),
    Case("crash_in_closed_form", L01, "solution", "closed_form", CRASH, 80, "fairness: crash",
         wrap="closed_form"),
    # the code runs when the cell is defined: the kernel (and the referee's worker) dies in
    # the closed_form cell, which is left out after the restart; the rest is graded
    Case("crash_defining_closed_form", L01, "solution", "closed_form", CRASH, 80,
         "fairness: crash at definition"),
    Case("hang_ignoring_sigint", L01, "solution", "gradient_descent", HANG, 70,
         "fairness: hang", wrap="gradient_descent"),
    # gradient_descent calls mse_loss (its loss history), so it fails too: 100 - 15 - 30.
    Case("memory_hog_in_mse_loss", L01, "solution", "mse_loss", MEMORY, 55,
         "fairness: memory", wrap="mse_loss"),
    Case("input_transformer", L01, "blank", "predict", TRANSFORMER, 0,
         "forged verdict: input transformer"),
    Case("oracle_reads_expected", L01, "blank", "predict", ORACLE, 0,
         "forged verdict: oracle object"),
    Case("patched_checks", L01, "blank", "predict", PATCHED, 0, "forged verdict: patched checks"),
    # torch smuggled past the source check: mse_loss, and gradient_descent whose loss history
    # calls it, lose their points (100 - 15 - 30); the other functions keep theirs.
    # an honest import at the top of a cell: the kernel of lab 01 has no torch (the error is
    # in the cell's output), the function defined before it keeps its points
    Case("torch_import_blocked", L01, "solution", "predict", "import torch\n", 100,
         "NumPy only: torch"),
    Case("torch_in_numpy_lab", L01, "solution", "mse_loss", TORCH_LOSS, 55,
         "NumPy only: torch"),
    *_for(L05, "DigitsDataset")[:1],
    Case("gradebook_and_kill", L05, "blank", "DigitsDataset", GRADEBOOK + KILL, 0,
         "attack on classmates"),
    Case("input_transformer", L05, "blank", "DigitsDataset", TRANSFORMER, 0,
         "forged verdict: input transformer"),
    Case("patched_checks", L05, "blank", "DigitsDataset", PATCHED_TORCH, 0,
         "forged verdict: patched checks"),
    Case("oracle_reads_expected", L05, "blank", "accuracy", ORACLE_TORCH, 0,
         "forged verdict: oracle object"),
    Case("stderr_and_warning", L05, "solution", "train_one_epoch", NOISY, 100,
         "fairness: stderr", wrap="train_one_epoch"),
    Case("forged_wire_pickle", L05, "solution", "DigitsDataset", FORGED_WIRE, 0,
         "forged verdict: the worker's wire"),
    Case("crash_in_accuracy", L05, "solution", "accuracy", CRASH, 95, "fairness: crash",
         wrap="accuracy"),
]
