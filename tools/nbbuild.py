"""Build the course notebooks from their plain-text sources.

Every notebook in ``lectures/`` and ``solutions/`` is written as a percent-format Python
script in ``notebook_sources/`` and built from it, so that notebooks are reviewed as text
and nbgrader metadata is written by code, never by hand.

Source format
-------------
A cell starts at a line ``# %%``, optionally followed by ``[markdown]`` and ``key=value``
options; markdown lines drop their leading ``# ``::

    # %% [markdown]
    # # Lab 01: linear regression
    # %% setup
    # %% nbgrader=solution id=predict
    def predict(X, w): ...
    # %% nbgrader=tests id=test_predict points=10
    assert ...
    # %% nbgrader=locked id=data

``setup`` inserts the standard first code cell (:data:`SETUP_CODE`). The nbgrader kinds are
``solution`` (a cell the student fills in), ``tests`` (an autograded test cell, locked,
with ``points``) and ``locked`` (read-only for the student).

Usage::

    python -m tools.nbbuild            # rebuild every notebook
    python -m tools.nbbuild --check    # exit 1 if a committed notebook is out of date
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

__all__ = ["SETUP_CODE", "COURSE_URL", "parse_source", "build_notebook", "build_all", "main"]

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "notebook_sources"

#: Where Colab (or a hub without the package) installs the course package from.
COURSE_URL = "git+https://github.com/dl-course/dl-course"

SETUP_CODE = f"""\
# Setup, the same in every notebook: find the course package (a clone of the repository,
# or an installed copy); where it is missing (Colab), install it without touching torch/numpy.
import importlib.util, pathlib, sys
if importlib.util.find_spec("course") is None:
    here = pathlib.Path.cwd()
    roots = [here, *here.parents]
    clone = next((p for p in roots if (p / "course" / "__init__.py").exists()), None)
    if clone is not None:
        sys.path.insert(0, str(clone))
    else:
        %pip install -q "dl-course @ {COURSE_URL}"
import course
device = course.setup(seed=0)"""

_HEADER = re.compile(r"^# %%(?P<rest>.*)$")
_KINDS = {"solution", "tests", "locked"}


def _parse_header(rest: str, where: str) -> dict:
    opts: dict = {"markdown": False}
    for token in rest.split():
        if token == "[markdown]":
            opts["markdown"] = True
        elif token == "setup":
            opts["setup"] = True
        elif "=" in token:
            key, value = token.split("=", 1)
            opts[key] = value
        else:
            raise ValueError(f"{where}: unknown cell option {token!r}")
    kind = opts.get("nbgrader")
    if kind is not None:
        if kind not in _KINDS:
            raise ValueError(f"{where}: nbgrader must be one of {sorted(_KINDS)}; got {kind!r}")
        if "id" not in opts:
            raise ValueError(f"{where}: an nbgrader cell needs id=...")
        if kind == "tests" and "points" not in opts:
            raise ValueError(f"{where}: a tests cell needs points=N")
    return opts


def parse_source(text: str, name: str = "<source>") -> list[dict]:
    """Split a percent-format source into cells: dicts with ``options`` and ``lines``.

    >>> cells = parse_source("# %% [markdown]\\n# # Hi\\n# %%\\nx = 1\\n")
    >>> [(c["options"]["markdown"], c["lines"]) for c in cells]
    [(True, ['# Hi']), (False, ['x = 1'])]
    """
    cells: list[dict] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _HEADER.match(line)
        if match:
            options = _parse_header(match["rest"], f"{name}:{number}")
            cells.append({"options": options, "lines": []})
        elif cells:
            cells[-1]["lines"].append(line)
        elif line.strip():
            raise ValueError(f"{name}:{number}: text before the first '# %%' line")
    for cell in cells:
        lines = cell["lines"]
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        if cell["options"]["markdown"]:
            cell["lines"] = [_unmark(line, name) for line in lines]
    return cells


def _unmark(line: str, name: str) -> str:
    if line == "#":
        return ""
    if line.startswith("# "):
        return line[2:]
    raise ValueError(f"{name}: markdown line must start with '# ': {line!r}")


def _nbgrader_metadata(options: dict) -> dict | None:
    kind = options.get("nbgrader")
    if kind is None and options.get("setup") and options.get("lab"):
        kind, options = "locked", {**options, "id": "setup"}
    if kind is None:
        return None
    meta = {
        "grade": kind == "tests",
        "grade_id": options["id"],
        "locked": kind != "solution",
        "schema_version": 3,
        "solution": kind == "solution",
    }
    if kind == "tests":
        meta["points"] = int(options["points"])
    return meta


def build_notebook(source: Path) -> dict:
    """Return the nbformat-4 notebook (a plain dict) built from one source file."""
    is_lab = source.parent.name == "solutions"
    cells = []
    for index, cell in enumerate(parse_source(source.read_text(), source.name)):
        options = {**cell["options"], "lab": is_lab}
        text = SETUP_CODE if options.get("setup") else "\n".join(cell["lines"])
        metadata: dict = {}
        nbgrader = _nbgrader_metadata(options)
        if nbgrader is not None:
            metadata["nbgrader"] = nbgrader
        base = {
            "id": nbgrader["grade_id"] if nbgrader else f"cell-{index:03d}",
            "metadata": metadata,
            "source": text.splitlines(keepends=True),
        }
        if options["markdown"]:
            cells.append({"cell_type": "markdown", **base})
        else:
            cells.append({"cell_type": "code", "execution_count": None, **base, "outputs": []})
    ids = [c["id"] for c in cells]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise ValueError(f"{source.name}: cell ids must be unique; repeated: {duplicated}")
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def target_path(source: Path) -> Path:
    """``notebook_sources/lectures/x.py`` → ``lectures/x.ipynb``;
    ``notebook_sources/solutions/labNN.py`` → ``solutions/labNN/labNN.ipynb``."""
    if source.parent.name == "solutions":
        return ROOT / "solutions" / source.stem / f"{source.stem}.ipynb"
    return ROOT / source.parent.name / f"{source.stem}.ipynb"


def render(notebook: dict) -> str:
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def build_all(check: bool = False) -> list[Path]:
    """Build every notebook; with ``check``, return the out-of-date ones without writing."""
    stale = []
    for source in sorted(SOURCES.glob("*/*.py")):
        target = target_path(source)
        text = render(build_notebook(source))
        if not target.exists() or target.read_text() != text:
            stale.append(target)
            if not check:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale notebooks")
    args = parser.parse_args(argv)
    stale = build_all(check=args.check)
    for path in stale:
        verb = "out of date" if args.check else "built"
        print(f"{verb}: {path.relative_to(ROOT)}")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
