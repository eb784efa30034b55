"""The bubblewrap command that a graded kernel runs in.

A kernel started for ``nbgrader autograde`` runs as::

    bwrap <namespaces> <mounts> -- [setpriv <drop to nobody>] -- prlimit <limits> -- <kernel argv>

What the student's code sees (built by :func:`bwrap_command`):

- ``/`` read-only, with ``/tmp``, ``/var/tmp``, ``/root``, ``/home``, ``/run`` and the **course
  root** (``solutions/``, ``gradebook.db``, ``submitted/``, ``autograded/``,
  ``nbgrader_config.py``, ``.git``) replaced by empty private tmpfs. Only what the kernel needs
  is bound back, read-only: the Python installation (``sys.prefix``, ``sys.base_prefix``, the
  ``sys.path`` folders), the ``course`` package and the data caches;
- one writable private folder (``work/``, its working directory): a copy of the submission's
  folder **without notebooks** (the autograded notebook on disk holds the hidden tests);
- no network (``--unshare-net``; the kernel talks to the grader over Unix sockets in the
  private folder), its own PID, IPC and UTS namespaces, a new session, killed with its whole
  process tree when the grader lets go of it (``--die-with-parent``; PID 1 of the namespace);
- an unprivileged user: as root, ``setpriv`` drops to a uid/gid of its own per sandbox (from
  :data:`UID_RANGE`, no capabilities, ``no_new_privs``), so that the per-user process limit
  of one sandbox (a fork bomb) never counts another's processes when submissions are graded
  in parallel; as an ordinary user (a hub's instructor), a user namespace maps the caller to
  uid 65534 inside;
- rlimits (:data:`LIMITS`): address space, processes, file size, CPU seconds, open files.

Where bubblewrap or user namespaces are missing, :func:`availability` says why and the grader
refuses to run student code unless the instructor opts out (``COURSE_SANDBOX=off``).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["LIMITS", "NOBODY", "OPT_OUT", "UID_RANGE", "availability", "bwrap_command",
           "load_factor", "make_private", "own", "readonly_paths", "repository_root",
           "stand_ins", "NUMPY_ONLY_BLOCKED", "numpy_only", "turned_off"]

#: uid/gid the student's code runs as without root (a user namespace maps the caller to it).
NOBODY = 65534
#: As root, each sandbox runs as its own uid/gid drawn from this range (no account needed).
UID_RANGE = (600_000, 700_000)
#: Environment variable an instructor sets to ``off`` to grade without the sandbox.
OPT_OUT = "COURSE_SANDBOX"

#: prlimit options of the kernel. Memory is limited by ``data`` (heap and private mappings:
#: what arrays and tensors take), 3 GiB: the imports of a PyTorch lab (torch, torchvision,
#: scipy, scikit-learn, matplotlib) take 1.0 GiB of it (measured), so a runaway allocation gets
#: a MemoryError long before the machine swaps. The address space (``as``) cannot be the limit:
#: torch's CUDA build alone maps 3.8 GiB of libraries; it is only capped at 16 GiB.
LIMITS = {
    "data": 3 * 1024**3,
    "as": 16 * 1024**3,
    "nproc": 256,
    "fsize": 64 * 1024**2,
    "cpu": 900,
    "nofile": 1024,
}

#: Environment variables passed to the kernel (everything else, tokens included, is dropped).
PASSED_ENV = ("NBGRADER_EXECUTION", "NBGRADER_VALIDATING", "MPLBACKEND", "LANG", "LC_ALL", "TZ",
              "OMP_NUM_THREADS", "MKL_NUM_THREADS", "PYTHONHASHSEED")
HIDDEN_DIRS = ("/tmp", "/var/tmp", "/root", "/home", "/run", "/dev/shm")


def _bwrap() -> str | None:
    return shutil.which("bwrap") or ("/usr/bin/bwrap" if os.path.exists("/usr/bin/bwrap") else None)


def _cache_dirs() -> list[Path]:
    home = Path.home()
    xdg = Path(os.environ.get("XDG_CACHE_HOME", home / ".cache"))
    return [Path(os.environ.get("COURSE_DATA", xdg / "dl-course")),
            Path(os.environ.get("TORCH_HOME", xdg / "torch"))]


def repository_root() -> Path | None:
    """The checkout the ``course`` package is installed from (editable install), else None:
    it holds ``solutions/`` and is hidden even when grading happens in another folder."""
    import importlib.util

    spec = importlib.util.find_spec("course")
    if spec is None or not spec.submodule_search_locations:
        return None
    repo = Path(list(spec.submodule_search_locations)[0]).resolve().parent
    return repo if (repo / "pyproject.toml").exists() else None


def readonly_paths() -> list[Path]:
    """Folders bound back read-only: the Python installation (``sys.prefix``,
    ``sys.base_prefix``, site-packages), the ``course`` package and the data caches."""
    import importlib.util
    import site

    paths = {Path(sys.prefix), Path(sys.base_prefix), Path(os.path.realpath(sys.executable)).parent}
    paths.update(Path(p) for p in site.getsitepackages() if os.path.isdir(p))
    spec = importlib.util.find_spec("course")
    if spec is not None and spec.submodule_search_locations:
        paths.update(Path(p) for p in spec.submodule_search_locations)
    paths.update(p for p in _cache_dirs() if p.is_dir())
    resolved = {p.resolve() for p in paths}
    # Drop folders inside other listed folders (one bind covers them), keep a stable order.
    return sorted(p for p in resolved if not any(q != p and q in p.parents for q in resolved))


def make_private(prefix: str) -> tuple[Path, int]:
    """A new private host folder for one sandbox and the uid its code runs as.

    The folder (in the temporary directory, mode ``0700``, owned by that uid when run as root)
    holds a file with the grader's pid; folders left behind by a grader that was killed
    (``SIGKILL`` skips every cleanup) are removed here, when their grader is gone.
    """
    import secrets
    import tempfile

    _sweep(prefix)
    private = Path(tempfile.mkdtemp(prefix=prefix))
    (private / ".grader-pid").write_text(str(os.getpid()))
    uid = UID_RANGE[0] + secrets.randbelow(UID_RANGE[1] - UID_RANGE[0]) if os.geteuid() == 0 \
        else NOBODY
    return private, uid


def own(private: Path, uid: int) -> None:
    """Give ``private`` and everything in it to ``uid`` (as root), then close it (``0700``)."""
    if os.geteuid() == 0:
        for folder, _, files in os.walk(private):
            os.chown(folder, uid, uid)
            for name in files:
                os.chown(os.path.join(folder, name), uid, uid)
    private.chmod(0o700)


#: Modules a NumPy-only lab's code cannot import where it is graded.
NUMPY_ONLY_BLOCKED = ("torch", "torchvision", "scipy", "course.conv")
_STAND_IN = ('raise ImportError("{name} is not available in this lab: the grader runs it with '
             'NumPy only")\n')


def turned_off(variable: str = OPT_OUT) -> bool:
    """Whether the instructor set ``variable`` (an opt-out) to off/0/no/false."""
    return os.environ.get(variable, "").lower() in ("off", "0", "no", "false")


def numpy_only(nb) -> bool:
    """Whether a lab notebook is NumPy-only: its tests call ``check_numpy_only``."""
    return any("check_numpy_only(" in cell.source for cell in nb.cells
               if cell.cell_type == "code")


def stand_ins(private: Path, names=NUMPY_ONLY_BLOCKED) -> dict[Path, Path]:
    """``{module path: stand-in}`` for :func:`bwrap_command`'s ``blocked``: a package is
    covered by a folder whose ``__init__`` raises ``ImportError`` with a clear message, a
    module file by such a file (created under ``private/blocked``)."""
    import importlib.util

    out = {}
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None or spec.origin is None:
            continue
        stand_in = private / "blocked" / name
        if spec.submodule_search_locations:
            stand_in.mkdir(parents=True)
            (stand_in / "__init__.py").write_text(_STAND_IN.format(name=name))
            out[Path(spec.submodule_search_locations[0])] = stand_in
        else:
            stand_in.parent.mkdir(parents=True, exist_ok=True)
            stand_in.write_text(_STAND_IN.format(name=name))
            out[Path(spec.origin)] = stand_in
    return out


def _sweep(prefix: str) -> None:
    import tempfile

    for folder in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        try:
            pid = int((folder / ".grader-pid").read_text())
        except (OSError, ValueError):
            continue  # not ours, or being created right now
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            pass


def bwrap_command(
    kernel_argv: list[str],
    private: Path,
    hide: list[Path],
    blocked: dict[Path, Path] | None = None,
    limits: dict[str, int] | None = None,
    env: dict[str, str] | None = None,
    uid: int = NOBODY,
) -> list[str]:
    """The argv that runs ``kernel_argv`` sandboxed.

    ``private``: the host folder bound read-write at the same path (it holds ``work/``, the
    kernel's working directory, and the kernel's sockets); ``hide``: folders replaced by an
    empty tmpfs (the course root); ``blocked``: ``{package folder: stand-in folder}`` bound
    read-only over the package so that importing it fails; ``env``: the kernel's environment;
    ``uid``: who the code runs as when the grader is root (:func:`make_private` picks one).
    """
    bwrap = _bwrap()
    if bwrap is None:
        raise RuntimeError("bubblewrap (bwrap) is not installed")
    root = os.geteuid() == 0
    args = [bwrap, "--die-with-parent", "--new-session", "--unshare-net", "--unshare-pid",
            "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox"]
    if not root:
        args += ["--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY)]
    args += ["--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev"]
    repo = repository_root()
    hidden = [Path(h) for h in HIDDEN_DIRS] + [Path(h).resolve() for h in hide]
    hidden += [repo] if repo is not None else []
    for folder in hidden:
        if folder.is_dir():
            args += ["--perms", "1777" if folder in (Path("/tmp"), Path("/var/tmp"), Path(
                "/dev/shm")) else "0755", "--tmpfs", str(folder)]
    made: set[Path] = set(hidden)
    for path in [*readonly_paths(), private]:
        # Mount points inside a hidden folder: create their parents traversable (bwrap would
        # make them 0700, and nobody could not reach the Python installation under /root).
        for parent in reversed(path.parents):
            if parent not in made and any(h in parent.parents for h in hidden):
                args += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        if path != private:
            args += ["--ro-bind", str(path), str(path)]
    for package, stand_in in (blocked or {}).items():
        args += ["--ro-bind", str(stand_in), str(package)]
    work = private / "work"
    args += ["--bind", str(private), str(private), "--chdir", str(work), "--clearenv"]
    base = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(private / "home"),
            "IPYTHONDIR": str(private / "ipython"), "MPLCONFIGDIR": str(private / "mpl"),
            "TMPDIR": "/tmp", "USER": "nobody", "PYTHONNOUSERSITE": "1"}
    base.update({k: os.environ[k] for k in PASSED_ENV if k in os.environ})
    course_data, torch_home = _cache_dirs()
    base.update({"COURSE_DATA": str(course_data), "TORCH_HOME": str(torch_home)})
    base.update(env or {})
    for key, value in base.items():
        args += ["--setenv", key, value]
    args.append("--")
    if root:
        args += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                 "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
    lim = {**LIMITS, **(limits or {})}
    args += ["prlimit", *(f"--{k}={v}" for k, v in lim.items()), "--"]
    return args + list(kernel_argv)


def load_factor(cap: float = 8.0) -> float:
    """How much longer than on an idle machine a cell may take now: the run queue per core
    (1-minute load average / CPUs), at least 1, at most ``cap``.

    Per-cell timeouts are sized on an idle machine; on a machine loaded ten times over, honest
    code runs several times slower, and a wall-clock limit would cost it its points (measured:
    3 of 11 correct submissions lost 30 points at load 11-20). Stretching the timeout by the
    load keeps it a budget of CPU time; an infinite loop costs more only when the machine is
    busy anyway.

    >>> 1.0 <= load_factor() <= 8.0
    True
    """
    try:
        per_core = os.getloadavg()[0] / (os.cpu_count() or 1)
    except OSError:
        return 1.0
    return max(1.0, min(cap, per_core))


@functools.lru_cache(maxsize=1)
def availability() -> str | None:
    """``None`` when sandboxed kernels can run here, else the reason they cannot."""
    bwrap = _bwrap()
    if bwrap is None:
        return "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    for tool in ("prlimit", "setpriv") if os.geteuid() == 0 else ("prlimit",):
        if shutil.which(tool) is None:
            return f"{tool} (util-linux) is not installed"
    probe = [bwrap, "--die-with-parent", "--unshare-net", "--unshare-pid", "--ro-bind", "/", "/"]
    if os.geteuid() != 0:
        probe += ["--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY)]
    try:
        result = subprocess.run([*probe, "true"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap could not run: {error}"
    if result.returncode != 0:
        return (f"bubblewrap cannot create namespaces here ({result.stderr.strip()}); unprivileged "
                "user namespaces may be disabled (sysctl kernel.unprivileged_userns_clone=1)")
    return None
