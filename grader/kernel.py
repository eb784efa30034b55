"""A jupyter kernel manager whose kernels run in the sandbox of :mod:`grader.sandbox`.

:class:`SandboxKernelManager` is what :class:`grader.execute.SandboxedExecute` (configured in
``nbgrader_config.py``) uses for every graded notebook. Per kernel it creates a private host
folder (``0700``, owned by the sandbox user) holding ``work/`` (a copy of the submission's
folder without its notebooks), the kernel's Unix sockets (``transport = "ipc"``: the kernel has
no network namespace in common with the grader, so TCP on 127.0.0.1 cannot reach it) and a
readable copy of the connection file; it wraps the kernel command in ``bwrap`` and deletes the
folder when the kernel is shut down.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Dict, List, Unicode

from grader import sandbox

__all__ = ["SandboxKernelManager"]


class SandboxKernelManager(AsyncKernelManager):
    """Kernels in bubblewrap: private working copy, hidden course root, no network."""

    hide = List(Unicode(), help="Host folders replaced by an empty tmpfs (the course root).")
    blocked = Dict(help="{package folder: stand-in folder} bound over packages to block.")
    blocked_modules = List(Unicode(), help="Modules whose import fails in the kernel (stand-ins "
                           "made per kernel, see grader.sandbox.stand_ins).")
    limits = Dict(help="prlimit overrides, e.g. {'as': 2 * 1024**3}.")

    _private: Path | None = None
    _source_dir: str | None = None
    _uid: int = sandbox.NOBODY

    async def _async_pre_start_kernel(self, **kw):
        self._source_dir = kw.get("cwd") or os.getcwd()
        self._make_private()
        kw["cwd"] = str(self._private / "work")
        return await super()._async_pre_start_kernel(**kw)

    def _make_private(self) -> None:
        self._remove_private()
        private, self._uid = sandbox.make_private("grader-sandbox-")
        work = private / "work"
        shutil.copytree(self._source_dir, work, ignore=shutil.ignore_patterns("*.ipynb"))
        for name in ("home", "ipython", "mpl"):
            (private / name).mkdir()
        if self.blocked_modules:
            self.blocked = {str(k): str(v) for k, v in
                            sandbox.stand_ins(private, self.blocked_modules).items()}
        sandbox.own(private, self._uid)
        self._private = private
        self.transport = "ipc"
        self.ip = str(private / "kernel")
        self.connection_file = str(private / "kernel.json")

    def write_connection_file(self, **kwargs) -> None:
        super().write_connection_file(**kwargs)
        if os.geteuid() == 0 and self._private is not None:  # the kernel reads it as nobody
            os.chown(self.connection_file, self._uid, self._uid)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        argv = super().format_kernel_cmd(extra_arguments)
        return sandbox.bwrap_command(argv, self._private, [Path(h) for h in self.hide],
                                     {Path(k): Path(v) for k, v in self.blocked.items()},
                                     self.limits, uid=self._uid)

    def _remove_private(self) -> None:
        if self._private is not None:
            shutil.rmtree(self._private, ignore_errors=True)
            self._private = None

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            self._remove_private()

    cleanup_resources = _async_cleanup_resources
