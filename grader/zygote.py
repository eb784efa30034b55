"""A warm start for the referee: import PyTorch once per grading run, not once per submission.

The referee (:mod:`grader.referee`) runs the instructor's test cells, and their references
come from PyTorch (``torch.nn.functional.mse_loss``, autograd, ``torch.optim``). Importing
``torch`` costs 2.5–6 CPU seconds on a 2-core machine, more than everything else the referee
does for a lab 01 submission. The zygote is a process that imports the referee's modules
once and then forks one child per submission; a child starts with ``torch`` already loaded
and runs exactly what ``python -m grader.referee job.json`` runs.

Only the instructor's code runs here: the submission's code runs in the referee's sandboxed
worker, a fresh process started by the child. A child is its own session (process group),
so the grader can kill it and everything it started at once.

Protocol on stdin/stdout (one line each): the zygote prints ``ready`` once its imports are
done; for each line ``<path to job.json>`` it replies ``pid <n>`` when the child has started
and ``exit <code>`` when it has ended. The child writes the referee's JSON to ``result.json``
and its stderr to ``stderr.txt`` next to the job. End of input, or ten minutes without a
job, ends the zygote.

:class:`Zygote` is the grader's side (used by :class:`grader.verdict.SecondVerdict`).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

__all__ = ["PRELOAD", "Zygote", "ZygoteGone", "serve"]

# What a referee child would otherwise import itself, heaviest first. torch._dynamo is what
# the first torch.optim optimizer imports (about 3 s: its __init__ is wrapped by
# torch._disable_dynamo).
PRELOAD = ("torch", "torch._dynamo", "torch.optim", "numpy", "grader.referee",
           "course.grading", "course.gradcheck")


# An idle zygote holds about 670 MB (torch): in formgrader it would otherwise live as long as
# the instructor's notebook server.
IDLE = 600.0


class ZygoteGone(RuntimeError):
    """The zygote is not running or stopped answering."""


def _child(job: str) -> None:
    """In the forked child: become the referee for ``job`` (never returns)."""
    try:
        os.setsid()
        folder = Path(job).parent
        os.chdir(folder)
        null = os.open(os.devnull, os.O_RDONLY)
        result = os.open(folder / "result.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        errors = os.open(folder / "stderr.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(null, 0)
        os.dup2(result, 1)
        os.dup2(errors, 2)
        for fd in (null, result, errors):
            os.close(fd)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        from grader import referee

        referee.main([job])  # ends with os._exit(0)
    except BaseException:  # noqa: BLE001 - reported on the job's stderr
        traceback.print_exc()
        sys.stderr.flush()
    os._exit(1)


def serve(lines, out, idle: float = IDLE) -> None:
    """The zygote's loop: fork a referee per job path read from ``lines`` (a text stream
    with a file descriptor); end after ``idle`` seconds without a job."""
    for name in PRELOAD:
        __import__(name)
    out.write("ready\n")
    out.flush()
    while True:
        ready, _, _ = select.select([lines], [], [], idle)
        if not ready:
            return  # the grader starts a new zygote when it needs one
        line = lines.readline()
        if not line:
            return
        job = line.strip()
        if not job:
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(job)
        out.write(f"pid {pid}\n")
        out.flush()
        _, status = os.waitpid(pid, 0)
        out.write(f"exit {os.waitstatus_to_exitcode(status)}\n")
        out.flush()


class Zygote:
    """The grader's handle on one zygote process (started on first use, restarted when it
    died). One job at a time: formgrader may autograde from several threads of the notebook
    server, so :meth:`run` holds a lock."""

    def __init__(self, env: dict, startup_timeout: float = 300.0, idle: float = IDLE):
        self.env = env
        self.startup_timeout = startup_timeout
        self.idle = idle
        self.process: subprocess.Popen | None = None
        self._buffer = b""
        self._lock = threading.Lock()

    def _readline(self, deadline: float) -> str:
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self.process.stdout], [], [], left)
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 4096)
                if not chunk:
                    raise ZygoteGone("the zygote ended")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    def _start(self) -> None:
        self.stop()
        self._buffer = b""
        self.process = subprocess.Popen(
            [sys.executable, "-c", "import sys; from grader.zygote import serve; "
             f"serve(sys.stdin, sys.stdout, {float(self.idle)!r})"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=self.env, cwd="/", start_new_session=True)
        try:
            line = self._readline(time.monotonic() + self.startup_timeout)
        except TimeoutError:
            self.stop()
            raise ZygoteGone(f"the zygote did not start in {self.startup_timeout:g} s") \
                from None
        if line != "ready":
            self.stop()
            raise ZygoteGone(f"the zygote said {line!r} instead of 'ready'")

    def run(self, job: Path, timeout: float) -> tuple[int, str, str]:
        """Run the referee on ``job`` (a job.json in a folder of its own); return its exit
        code, stdout and stderr as ``subprocess.run`` would. Raises ``TimeoutError`` after
        ``timeout`` seconds (the child and its processes are killed)."""
        with self._lock:
            return self._run(job, timeout)

    def _run(self, job: Path, timeout: float) -> tuple[int, str, str]:
        deadline = time.monotonic() + timeout
        for attempt in (1, 2):  # a zygote found dead (or dying) is started again, once
            if self.process is None or self.process.poll() is not None:
                self._start()
            try:
                self.process.stdin.write(f"{job}\n".encode())
                self.process.stdin.flush()
                answer = self._readline(deadline)
                break
            except TimeoutError:
                self.stop()
                raise
            except (ZygoteGone, BrokenPipeError):
                self.stop()
                if attempt == 2:
                    raise ZygoteGone("the zygote ended before starting the job") from None
        if not answer.startswith("pid "):
            self.stop()
            raise ZygoteGone(f"the zygote said {answer!r}")
        pid = int(answer.split()[1])
        try:
            answer = self._readline(deadline)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            try:
                self._readline(time.monotonic() + 30)  # its 'exit' line
            except (TimeoutError, ZygoteGone):
                self.stop()
            raise
        code = int(answer.split()[1])
        folder = job.parent
        result = folder / "result.json"
        errors = folder / "stderr.txt"
        return (code, result.read_text() if result.exists() else "",
                errors.read_text() if errors.exists() else "")

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        if self.process.poll() is None:
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        self.process = None
