"""tools.nbrun proves lecture exercises: each runs blank (it must say "not answered" or
"wrong", without an exception) and then solved (every check must say "correct")."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import nbbuild, nbrun

BLANK = """\
# %% [markdown]
# # An exercise
# %% setup
# %%
# exercise: double
from course import grading
answer = None  # your code here: 2 * 21
grading.exercise("2 * 21", answer, 2 * 21, hint="multiply")
# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# from course import grading
# answer = {solution}
# grading.exercise("2 * 21", answer, 2 * 21, hint="multiply")
# ```
# </details>
"""


def _notebook(tmp_path: Path, solution: str) -> Path:
    source = tmp_path / "ex.py"
    source.write_text(BLANK.replace("{solution}", solution))
    target = tmp_path / "ex.ipynb"
    target.write_text(nbbuild.render(nbbuild.build_notebook(source)))
    return target


def test_exercises_are_found_with_their_solutions(tmp_path):
    import nbformat

    notebook = nbformat.read(_notebook(tmp_path, "2 * 21"), as_version=4)
    [(index, name, solution)] = nbrun.exercises(notebook.cells)
    assert name == "double" and "answer = 2 * 21" in solution
    assert notebook.cells[index].source.startswith("# exercise: double")


def test_an_exercise_without_a_solution_block_is_refused():
    import nbformat

    cells = [nbformat.v4.new_code_cell("# exercise: lonely\nx = None"),
             nbformat.v4.new_markdown_cell("no details here")]
    with pytest.raises(ValueError, match="lonely"):
        nbrun.exercises(cells)


@pytest.mark.slow
def test_blank_then_solved_exercise_passes(tmp_path):
    assert nbrun.execute(_notebook(tmp_path, "2 * 21")) > 0


@pytest.mark.slow
def test_a_wrong_solution_fails_the_notebook_test(tmp_path):
    with pytest.raises(AssertionError, match="double: its solution does not pass"):
        nbrun.execute(_notebook(tmp_path, "2 + 21"))
