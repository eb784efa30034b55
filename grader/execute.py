"""nbgrader's Execute preprocessor, sandboxed and fair to honest work.

:class:`SandboxedExecute` replaces ``nbgrader.preprocessors.Execute`` in the course's
``nbgrader_config.py``:

- every kernel is a :class:`grader.kernel.SandboxKernelManager` (bubblewrap). Where the sandbox
  cannot run, grading **refuses** with the reason, unless the instructor opts out with
  ``COURSE_SANDBOX=off`` (environment) or ``c.SandboxedExecute.sandbox = "off"``;
- a kernel that dies (``os._exit``, a signal, the memory or CPU limit) or a cell that runs past
  its timeout (a hang that ignores SIGINT included) does not cost the rest of the notebook: the
  cell gets an error output saying what happened, a fresh sandboxed kernel is started, the
  non-test code cells that ran before (setup, imports, the student's other functions) are run
  again silently, and grading goes on with the next cell. At most ``max_restarts`` restarts;
- the locked cells after the last test cell (a lab's experiments, which carry no points) are
  not run unless ``run_after_last_test`` is set: they cost seconds per submission and a class
  of hundreds;
- per-cell timeouts are sized per lab (:meth:`SandboxedExecute.cell_timeout`) on an idle
  machine and stretched by the machine's load when a cell starts (:func:`sandbox.load_factor`,
  at most 8 times), so a busy grading machine does not cost honest work its points; the whole
  notebook has a cap (``notebook_timeout``): cells after it get a "not run" error.
"""

from __future__ import annotations

import contextlib
import copy
import re
import time
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Dict, Integer, List, Unicode

from grader import sandbox
from grader.kernel import SandboxKernelManager
from grader.verdict import active_labs, kernel_only, strip_hidden_tests

__all__ = ["SandboxedExecute", "SandboxUnavailable"]


#: Code that needs a module a NumPy-only lab's kernel would not have.
_NEEDS_BLOCKED = re.compile(r"^\s*(import|from)\s+(torch|torchvision|scipy|course\.conv)\b|"
                            r"\btorch\.|\bscipy\.", re.M)


class SandboxUnavailable(RuntimeError):
    """Raised instead of running student code unsandboxed."""


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"{ename}: {evalue}"])


def _is_test(cell) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("grade", False))


class SandboxedExecute(Execute):
    """Execute each graded notebook in a bubblewrap sandbox; survive dead and hung kernels."""

    sandbox = Unicode("require", help="'require' (refuse without a sandbox) or 'off'.").tag(
        config=True)
    numpy_timeout = Integer(30, help="Seconds per cell for NumPy-only labs.").tag(config=True)
    torch_timeout = Integer(180, help="Seconds per cell for the other labs.").tag(config=True)
    locked_timeout = Integer(240, help="Seconds for the setup/imports cells before the first "
                             "answer: importing torch on a busy machine is slow.").tag(config=True)
    lab_timeouts = Dict(help="{assignment id: seconds per cell}, overrides the two above.").tag(
        config=True)
    notebook_timeout = Integer(900, help="Cap on the seconds one notebook may take.").tag(
        config=True)
    max_restarts = Integer(5, help="Kernel restarts allowed per notebook.").tag(config=True)
    run_after_last_test = Bool(False, help="Also run the locked cells after the last test cell "
                               "(a lab's experiments: they grade nothing and take seconds per "
                               "submission).").tag(config=True)
    hide = List(Unicode(), help="Extra host folders hidden from student code.").tag(config=True)
    limits = Dict(help="prlimit overrides for the kernel, e.g. {'as': 2 * 1024**3}.").tag(
        config=True)

    _visible_only = False  # set per notebook by _plan
    _kernel_only: frozenset = frozenset()
    _blocked_modules: list = []

    def __init__(self, *args, **kwargs):
        kwargs["kernel_manager_class"] = SandboxKernelManager  # preprocess may swap it back
        kwargs.setdefault("startup_timeout", 180)  # a busy machine starts kernels slowly
        super().__init__(*args, **kwargs)

    def _enabled(self) -> bool:
        off = sandbox.turned_off()
        return not off and self.sandbox != "off"

    # -- configuration per notebook ------------------------------------------------------
    def _course_paths(self, resources: dict) -> list[Path]:
        """Folders to hide: the course root, the gradebook's folder, the notebook's folder."""
        paths = [Path.cwd(), *map(Path, self.hide)]
        node = self
        while node is not None and not hasattr(node, "coursedir"):
            node = getattr(node, "parent", None)
        if node is not None:
            coursedir = node.coursedir
            paths.append(Path(coursedir.root))
            if coursedir.db_url.startswith("sqlite:///"):
                paths.append(Path(coursedir.db_url[len("sqlite:///"):]).parent)
        notebook_dir = (resources or {}).get("metadata", {}).get("path")
        if notebook_dir:
            paths.append(Path(notebook_dir))
        unique = []
        for path in (p.resolve() for p in paths):
            if path != Path("/") and path not in unique:
                unique.append(path)
        return unique

    def cell_timeout(self, nb, resources: dict) -> int:
        """Per-cell timeout on an idle machine: the lab's own, else 30 s for NumPy-only labs
        (their solutions run every test cell in under 2 s on 2 idle cores:
        ``tools.grade_class.recommended_timeout`` gives 30), else 180 s (the PyTorch labs'
        graded training cells take up to ~20 s idle). :meth:`_get_timeout` stretches it by
        the machine's load, so a busy grader does not cost honest work its points, while an
        infinite loop costs a class at most 30 s on an idle machine."""
        lab = (resources or {}).get("nbgrader", {}).get("assignment")
        if lab in self.lab_timeouts:
            return int(self.lab_timeouts[lab])
        return self.numpy_timeout if sandbox.numpy_only(nb) else self.torch_timeout

    def _get_timeout(self, cell):
        """The cell's timeout, stretched by the machine's load (:func:`sandbox.load_factor`)."""
        base = super()._get_timeout(cell)
        self._effective_timeout = base if not base else int(base * sandbox.load_factor())
        return self._effective_timeout

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if isinstance(km, SandboxKernelManager):
            km.hide = [str(p) for p in self._hide]
            km.limits = dict(self.limits)
            km.blocked_modules = list(self._blocked_modules)
        return km

    def _plan(self, nb, resources: dict) -> None:
        """For a lab with a second verdict (grader.verdict): test cells run their visible part
        only, and where nothing the kernel runs needs PyTorch or SciPy (a NumPy-only lab whose
        setup and visible tests are NumPy), the kernel cannot import them."""
        lab = (resources or {}).get("nbgrader", {}).get("assignment")
        self._visible_only = lab in active_labs(self.config)
        self._kernel_only = kernel_only(self.config, lab)
        self._blocked_modules = []
        if not (self._visible_only and self._enabled() and sandbox.numpy_only(nb)):
            return
        code = [strip_hidden_tests(c.source) if _is_test(c) else c.source for c in nb.cells
                if c.cell_type == "code" and not c.get("metadata", {}).get("nbgrader", {}).get(
                    "solution")]
        if not any(_NEEDS_BLOCKED.search(source) for source in code):
            self._blocked_modules = list(sandbox.NUMPY_ONLY_BLOCKED)

    @contextlib.contextmanager
    def _visible_part(self, cell):
        """Execute a test cell without its hidden region (labs with a second verdict); the
        notebook keeps the whole source."""
        source = cell.source
        if self._visible_only and _is_test(cell) and cell.get("metadata", {}).get(
                "nbgrader", {}).get("grade_id") not in self._kernel_only:
            cell.source = strip_hidden_tests(source)
        try:
            yield
        finally:
            cell.source = source

    # -- execution -----------------------------------------------------------------------
    def preprocess(self, nb, resources=None, km=None):
        if self._enabled():
            reason = sandbox.availability()
            if reason is not None:
                raise SandboxUnavailable(
                    f"refusing to run student code without the sandbox: {reason}. Install "
                    f"bubblewrap, or grade unsandboxed at your own risk with {sandbox.OPT_OUT}=off "
                    "(see the README, 'Sandboxed grading').")
        self._hide = self._course_paths(resources)
        self._plan(nb, resources)
        lab_timeout = self.timeout = self.cell_timeout(nb, resources)
        self.interrupt_on_timeout = False  # a timeout kills and replaces the kernel
        from nbclient import NotebookClient

        NotebookClient.__init__(self, nb, km)
        self.kernel_manager_class = (SandboxKernelManager if self._enabled()
                                     else AsyncKernelManager)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._start = time.monotonic()
        self._restarts = 0
        self._crashes = []
        with self.setup_kernel():
            self._kernel_info()
            replay, leading = [], True  # leading: the setup/imports cells before any answer
            last_test = max((i for i, c in enumerate(self.nb.cells) if _is_test(c)), default=-1)
            for index, cell in enumerate(self.nb.cells):
                if cell.cell_type != "code":
                    continue
                if index > last_test and not self.run_after_last_test and cell.get(
                        "metadata", {}).get("nbgrader", {}).get("locked"):
                    cell.outputs = [NotebookNode(output_type="stream", name="stdout", text=(
                        "[not run by the grader: this cell comes after the last test and "
                        "carries no points; run it in your own notebook]\n"))]
                    continue
                if time.monotonic() - self._start > self.notebook_timeout:
                    cell.outputs = [_error("NotebookTimeout", (
                        f"not run: the notebook used its {self.notebook_timeout} s")) ]
                    continue
                meta = cell.get("metadata", {}).get("nbgrader", {})
                leading = leading and not meta.get("solution") and not meta.get("grade")
                self.timeout = max(lab_timeout, self.locked_timeout) if leading else lab_timeout
                try:
                    with self._visible_part(cell):  # hidden tests run in the referee only
                        self.preprocess_cell(cell, resources, index)
                except (DeadKernelError, CellTimeoutError) as error:
                    self._record_crash(cell, index, error)
                    self._fresh_kernel(replay, resources)
                    continue
                if self._enabled():
                    self._explain_memory_errors(cell)
                if not _is_test(cell):
                    replay.append(index)
        self.set_widgets_metadata()
        record = resources.setdefault("sandbox", {})
        record["crashes"] = list(self._crashes)
        # the second verdict (grader.verdict) uses the same timeout and hides the same folders
        record["cell_timeout"] = lab_timeout
        record["hide"] = [str(p) for p in self._hide]
        return self.nb, self.resources

    def _explain_memory_errors(self, cell) -> None:
        limit = {**sandbox.LIMITS, **self.limits}["data"] / 1024**3
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and output.get("ename") == "MemoryError":
                output["evalue"] = (f"{output.get('evalue') or ''} (the grader gives a notebook "
                                    f"{limit:g} GiB of memory)").strip()

    def _kernel_info(self) -> None:
        info = self.wait_for_reply(self.kc.kernel_info())
        self.nb.metadata["language_info"] = info["content"]["language_info"]

    def _record_crash(self, cell, index: int, error: Exception) -> None:
        if isinstance(error, CellTimeoutError):
            seconds = getattr(self, "_effective_timeout", None) or self.timeout
            what = ("CellTimeout", f"the cell ran longer than {seconds} s and was stopped; "
                    "the kernel was restarted and the later cells were still graded")
        else:
            what = ("KernelDied", "the kernel died while running this cell (os._exit, a signal, "
                    "or the memory/CPU limit); it was restarted and the later cells were "
                    "still graded")
        cell.outputs = [*cell.get("outputs", [])[:20], _error(*what)]
        self.nb.cells[index] = cell
        self._crashes.append({"cell": cell.get("metadata", {}).get("nbgrader", {}).get(
            "grade_id", index), "reason": what[0]})

    def _fresh_kernel(self, replay: list[int], resources) -> None:
        """Replace the kernel by a new sandbox and re-run the cells in ``replay``."""
        self._cleanup_kernel()
        if self._restarts >= self.max_restarts:
            raise DeadKernelError(f"the kernel died {self._restarts + 1} times")
        self._restarts += 1
        self.km = self.create_kernel_manager()
        self.start_new_kernel()
        self.start_new_kernel_client()
        self._kernel_info()
        self.timeout = max(self.timeout, self.locked_timeout)  # set again for the next cell
        for index in list(replay):
            if time.monotonic() - self._start > self.notebook_timeout:
                break
            original = self.nb.cells[index]
            try:
                self.execute_cell(copy.deepcopy(original), index, store_history=False)
            except (DeadKernelError, CellTimeoutError):
                replay.remove(index)  # it kills the kernel now: leave it out
                self.nb.cells[index] = original
                return self._fresh_kernel(replay, resources)
            self.nb.cells[index] = original
