"""Feedback that cannot leak hidden tests or solutions.

:class:`RedactFeedback` runs in ``nbgrader generate_feedback`` before the hidden-test regions are
cleared. It collects the lab's secret lines (every line of a ``### BEGIN HIDDEN TESTS`` block in
the autograded notebook and of a ``### BEGIN SOLUTION`` block in the instructor's source
notebook, longer than :data:`MIN_SECRET` characters and not part of the released text), then:

- test cells keep only a verdict: ``passed`` (a stream) or the checker's ``ename: evalue``;
  whatever else a test printed (output of the student's code called by the tests) is dropped;
- every other output has each line holding a secret replaced by :data:`REDACTED`; a rich
  output (HTML, markdown, LaTeX) holding one is replaced whole.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

__all__ = ["MIN_SECRET", "REDACTED", "RedactFeedback", "redact", "secret_lines"]

MIN_SECRET = 12
REDACTED = "[line removed: it quotes the lab's hidden tests or solution]"
_HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)
_SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def secret_lines(cells: list, source_cells: list = ()) -> set[str]:
    """Distinctive lines of the hidden-test blocks of ``cells`` and of the solution blocks of
    ``source_cells`` that occur nowhere in the visible (released) part of either.

    >>> cells = [{"source": "check(f(1))\\n### BEGIN HIDDEN TESTS\\nassert f(12345) == 54321\\n"
    ...           "### END HIDDEN TESTS\\n"}]
    >>> sorted(secret_lines(cells))
    ['assert f(12345) == 54321']
    """
    secrets, visible = set(), []
    for cell in [*cells, *source_cells]:
        text = _source(cell)
        blocks = _HIDDEN.findall(text) + _SOLUTION.findall(text)
        visible.append(_SOLUTION.sub("", _HIDDEN.sub("", text)))
        secrets.update(line.strip() for block in blocks for line in block.splitlines())
    shown = "\n".join(visible)  # a line quoted anywhere in the released text is no secret
    return {s for s in secrets if len(s) > MIN_SECRET and s not in shown}


def redact(text: str, secrets: set[str]) -> tuple[str, bool]:
    """``text`` with every line that contains a secret replaced; and whether any was.

    >>> text, changed = redact("ok\\nx = assert f(1) == 54321\\n", {"assert f(1) == 54321"})
    >>> text.splitlines()[1] == REDACTED, changed
    (True, True)
    """
    if not secrets or not text:
        return text, False
    lines, changed = text.splitlines(keepends=True), False
    for i, line in enumerate(lines):
        plain = html.unescape(re.sub(r"<[^>]+>|\x1b\[[0-9;]*m", "", line))
        if any(secret in plain for secret in secrets):
            lines[i] = REDACTED + ("\n" if line.endswith("\n") else "")
            changed = True
    return "".join(lines), changed


class RedactFeedback(NbGraderPreprocessor):
    """Test cells show pass/fail and the checker's message; no output quotes a secret."""

    def preprocess(self, nb, resources):
        source_cells = []
        path = self._source_notebook(resources)
        if path is not None and path.exists():
            source_cells = json.loads(path.read_text())["cells"]
        self._secrets = secret_lines(nb.cells, source_cells)
        return super().preprocess(nb, resources)

    def _source_notebook(self, resources) -> Path | None:
        node = self
        while node is not None and not hasattr(node, "coursedir"):
            node = getattr(node, "parent", None)
        info = resources.get("nbgrader", {})
        if node is None or "assignment" not in info or "notebook" not in info:
            return None
        folder = node.coursedir.format_path(node.coursedir.source_directory, ".",
                                            info["assignment"])
        return Path(folder) / f"{info['notebook']}.ipynb"

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code":
            return cell, resources
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if errors:
                ename, evalue = errors[-1].get("ename", "Error"), errors[-1].get("evalue", "")
                evalue, _ = redact(str(evalue), self._secrets)
                cell.outputs = [NotebookNode(output_type="error", ename=ename, evalue=evalue,
                                             traceback=[f"{ename}: {evalue}"])]
            else:
                cell.outputs = [NotebookNode(output_type="stream", name="stdout",
                                             text="passed\n")]
            return cell, resources
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"], _ = redact(output["text"], self._secrets)
            if output.get("output_type") == "error":
                output["evalue"], _ = redact(str(output.get("evalue", "")), self._secrets)
                output["traceback"] = [redact(line, self._secrets)[0]
                                       for line in output.get("traceback", [])]
            for key, value in list(output.get("data", {}).items()):
                if isinstance(value, str) and (key.startswith("text/") or "json" in key):
                    new, changed = redact(value, self._secrets)
                    output["data"][key] = REDACTED if changed and key != "text/plain" else new
        return cell, resources
