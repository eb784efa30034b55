"""Execute a notebook top to bottom the way the tests do: a fresh kernel, the notebook's own
folder as working directory, and the network cut off (only loopback connections work), so a
notebook that silently needs the internet fails.

Lecture exercises are proven in the same run. An exercise is a code cell whose first line is
``# exercise: <name>``: the student edits it and its :func:`course.grading.exercise` calls say
at once whether the answer is right. Its solution is the ```` ```python ```` block of the
``<details>`` in the next markdown cell. :func:`execute` runs each exercise cell as committed
(every check must report "not answered yet" or "wrong", without an exception) and then its
solution (every check must report "correct").
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

__all__ = ["NO_NETWORK", "execute", "exercises"]

# Runs before the notebook's own cells.
NO_NETWORK = """\
import socket as _socket
_LOCAL = ("127.0.0.1", "localhost", "::1", "0.0.0.0")
_connect, _getaddrinfo = _socket.socket.connect, _socket.getaddrinfo
def _guarded_connect(self, address, *args):
    if isinstance(address, tuple) and address[0] not in _LOCAL:
        raise OSError(f"network disabled while testing notebooks: {address}")
    return _connect(self, address, *args)
def _guarded_getaddrinfo(host, *args, **kwargs):
    if host not in _LOCAL and host is not None:
        raise OSError(f"network disabled while testing notebooks: {host}")
    return _getaddrinfo(host, *args, **kwargs)
_socket.socket.connect = _guarded_connect
_socket.getaddrinfo = _guarded_getaddrinfo
"""


EXERCISE = re.compile(r"^# exercise: *(\S.*)$")
SOLUTION = re.compile(r"<details>.*?```python\n(.*?)```", re.S)


def exercises(cells: list) -> list[tuple[int, str, str]]:
    """``(index, name, solution source)`` of every exercise cell among nbformat ``cells``."""
    found = []
    for index, cell in enumerate(cells):
        match = EXERCISE.match(cell.source.split("\n", 1)[0]) if cell.cell_type == "code" else None
        if not match:
            continue
        following = next((c for c in cells[index + 1 :] if c.cell_type == "markdown"), None)
        solution = SOLUTION.search(following.source) if following is not None else None
        if solution is None:
            raise ValueError(
                f"exercise {match[1]!r} has no <details> block with a ```python solution in "
                "the markdown cell after it"
            )
        found.append((index, match[1], solution[1]))
    return found


def _printed(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")


def _judge_exercises(pairs: list) -> None:
    from course.grading import EXERCISE_BLANK, EXERCISE_RIGHT, EXERCISE_WRONG

    problems = []
    for name, blank, solved in pairs:
        before, after = _printed(blank), _printed(solved)
        if EXERCISE_RIGHT in before or not (EXERCISE_BLANK in before or EXERCISE_WRONG in before):
            problems.append(f"{name}: as committed it must report 'not answered' or 'wrong'")
        if EXERCISE_RIGHT not in after or EXERCISE_BLANK in after or EXERCISE_WRONG in after:
            problems.append(f"{name}: its solution does not pass its checks:\n{after[-600:]}")
    if problems:
        raise AssertionError("exercises:\n" + "\n".join(problems))


def execute(path: Path, offline: bool = True, timeout: int = 600):
    """Execute the notebook at ``path`` (outputs are discarded); return the seconds it took.

    Each exercise cell runs as committed and then as solved (see the module docstring).
    Raises ``nbclient.exceptions.CellExecutionError`` naming the failing cell, or an
    ``AssertionError`` naming an exercise whose checks do not behave.
    """
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    pairs = []
    for index, name, solution in reversed(exercises(notebook.cells)):
        solved = nbformat.v4.new_code_cell(solution)
        notebook.cells.insert(index + 1, solved)
        pairs.append((name, notebook.cells[index], solved))
    if offline:
        notebook.cells.insert(0, nbformat.v4.new_code_cell(NO_NETWORK))
    os.environ.setdefault("MPLBACKEND", "Agg")
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(Path(path).parent)}},
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    _judge_exercises(pairs[::-1])
    return seconds
