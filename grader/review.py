"""The review report: submissions an instructor should look at, and why.

:class:`ReviewFlags` runs in ``nbgrader autograde`` right after execution. For each submission
it writes ``review/<lab>/<student>.json`` next to the gradebook (one file per submission, so
parallel graders never write the same file) when it found any of:

- **grader introspection** in the student's code: ``get_ipython``, input/AST transformers,
  ``sys._getframe``/``inspect`` frames, ``__code__``, ``__builtins__``/``__import__`` hooks,
  ``sys.meta_path``/``sys.modules`` edits, ``gc`` walks, ``exec``/``eval`` of file contents,
  ``ctypes``, signals to other processes, subprocesses, sockets;
- **sandbox violations**: an output saying a write, a path or the network was refused
  (read-only file system, permission denied, a course path that does not exist in the sandbox,
  network unreachable);
- **crashes**: a cell whose kernel died or timed out (restarted by the grader);
- **disagreeing verdicts**: a test cell that passed in the student's kernel and failed in the
  referee's second verdict, or the other way round (:mod:`grader.verdict`);
- **a tampered worker**: the referee's worker answered with something that is not data (the
  submission rewrote its side of the wire).

``python -m grader.review [course_root]`` prints every flagged submission with its reasons.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor

__all__ = ["INTROSPECTION", "VIOLATIONS", "ReviewFlags", "scan_source", "scan_outputs", "report",
           "main"]

INTROSPECTION = {
    "get_ipython": r"\bget_ipython\b",
    "input/AST transformers": r"input_transformers|ast_transformers|register_magic"
                              r"|events\.register",
    "stack frames": r"_getframe|currentframe|\.f_back|f_globals|f_locals|inspect\.stack",
    "__code__ rewrite": r"__code__|__globals__|types\.CodeType|types\.FunctionType\(",
    "import hooks": r"__builtins__|builtins\.__import__|__import__\s*=|meta_path|path_hooks"
                    r"|sys\.modules\s*\[[^\]]*\]\s*=",
    "exec of file contents": r"\b(exec|eval|compile)\s*\(\s*(open|Path|pathlib|f\.read|[^)]*read)",
    "gc walk": r"\bgc\.get_(objects|referrers|referents)",
    "ctypes": r"\bctypes\b",
    "signals/processes": r"\.(kill|killpg|_exit|system|fork|forkpty|spawn\w*|exec[lv]\w*)\s*\("
                         r"|subprocess|Popen",
    "network": r"\bsocket\b|urllib|requests\.|http\.client",
    "grader files": r"gradebook|solutions/|submitted/|autograded/|nbgrader_config",
}
VIOLATIONS = {
    "write refused": r"Read-only file system",
    "access refused": r"Permission denied|Operation not permitted",
    "course path absent": r"No such file or directory: '[^']*(gradebook|solutions|submitted|"
                          r"autograded|nbgrader_config)",
    "network refused": r"Network is unreachable|Temporary failure in name resolution",
    "process limit": r"Resource temporarily unavailable|BlockingIOError",
}


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def scan_source(source: str) -> list[str]:
    """Introspection patterns found in ``source``.

    >>> scan_source("import sys\\nf = sys._getframe(1)")
    ['stack frames']
    """
    return [name for name, pattern in INTROSPECTION.items() if re.search(pattern, source)]


def scan_outputs(cells: list) -> list[str]:
    """Sandbox violations visible in the outputs of ``cells``."""
    text = "\n".join(str(o.get(key, "")) for c in cells for o in c.get("outputs", [])
                     for key in ("text", "evalue"))
    return [name for name, pattern in VIOLATIONS.items() if re.search(pattern, text)]


class ReviewFlags(NbGraderPreprocessor):
    """Write ``review/<lab>/<student>.json`` for a submission that needs a human look."""

    def preprocess(self, nb, resources):
        student_cells = [c for c in nb.cells if c.cell_type == "code" and not c.get(
            "metadata", {}).get("nbgrader", {}).get("locked", False)]
        reasons = [f"introspection: {name}" for name in
                   scan_source("\n".join(_source(c) for c in student_cells))]
        reasons += [f"sandbox violation: {name}" for name in scan_outputs(nb.cells)]
        crashes = resources.get("sandbox", {}).get("crashes", [])
        reasons += [f"crash: {c['reason']} in {c['cell']}" for c in crashes]
        reasons += [f"verdicts disagree in {d['cell']}: kernel {d['kernel']}, referee "
                    f"{d['referee']}" for d in resources.get("sandbox", {}).get(
                        "disagreements", [])]
        reasons += [f"malformed answer from the referee's worker: {e[2][:200]}" for e in
                    resources.get("sandbox", {}).get("referee_worker_errors", [])]
        info = resources.get("nbgrader", {})
        path = self._path(info)
        if path is not None:
            if reasons:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps({"student": info.get("student"),
                                            "lab": info.get("assignment"),
                                            "notebook": info.get("notebook"),
                                            "reasons": reasons}, indent=1))
            elif path.exists():
                path.unlink()  # graded again, clean now
        return nb, resources

    def _path(self, info: dict) -> Path | None:
        node = self
        while node is not None and not hasattr(node, "coursedir"):
            node = getattr(node, "parent", None)
        if node is None or not info.get("student") or not info.get("assignment"):
            return None
        return (Path(node.coursedir.root) / "review" / info["assignment"]
                / f"{info['student']}-{info.get('notebook', 'notebook')}.json")


def report(root: Path) -> list[dict]:
    """Every flagged submission under ``root/review``."""
    return [json.loads(p.read_text()) for p in sorted((Path(root) / "review").glob("*/*.json"))]


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    entries = report(Path(args[0]) if args else Path.cwd())
    for entry in entries:
        print(f"{entry['lab']}  {entry['student']}: " + "; ".join(entry["reasons"]))
    if not entries:
        print("no submission flagged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
