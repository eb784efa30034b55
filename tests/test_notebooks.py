"""Every notebook in lectures/ and solutions/ is built from its source, carries no outputs and
starts with the standard setup cell; every lecture executes top to bottom with the network cut
off (lab solutions execute, offline and sandboxed, in tests/test_labs.py)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tools import nbbuild, nbrun

ROOT = nbbuild.ROOT
NOTEBOOKS = sorted(ROOT.glob("lectures/*.ipynb")) + sorted(ROOT.glob("solutions/*/*.ipynb"))
IDS = [str(p.relative_to(ROOT)) for p in NOTEBOOKS]


def test_notebooks_are_built_from_their_sources():
    stale = nbbuild.build_all(check=True)
    assert not stale, f"rebuild with `python -m tools.nbbuild`: {[str(p) for p in stale]}"


def test_every_source_has_a_notebook_and_the_reverse():
    built = {nbbuild.target_path(s) for s in nbbuild.SOURCES.glob("*/*.py")}
    assert set(NOTEBOOKS) == built


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_clean_and_starts_with_setup(path: Path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "commit without outputs"
    first_code = next(c for c in notebook.cells if c.cell_type == "code")
    assert first_code.source == nbbuild.SETUP_CODE
    assert notebook.cells[0].cell_type == "markdown" and notebook.cells[0].source.startswith("# ")


LECTURES = [p for p in NOTEBOOKS if p.parent.name == "lectures"]


@pytest.mark.slow
@pytest.mark.parametrize("path", LECTURES, ids=[str(p.relative_to(ROOT)) for p in LECTURES])
def test_notebook_executes_offline(path: Path):
    # Lab solutions are not executed here: tests/test_labs.py autogrades each one, which runs
    # the same code top to bottom as the grader does (NBGRADER_EXECUTION set), in the sandbox
    # without network. Running them here again added about 2.5 minutes to CI.
    seconds = nbrun.execute(path)
    print(f"{path.relative_to(ROOT)} executed in {seconds:.1f} s")
