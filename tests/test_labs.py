"""The nbgrader pipeline, proven for every lab in ``solutions/``.

For each lab, in a temporary copy of the course: the release regenerated from the solution
equals the committed ``labs/`` notebook byte for byte; the solution, submitted as a student,
autogrades to full marks; the unmodified release autogrades to 0 without crashing the grader;
no line of a solution region or hidden-test block appears in the release; ``nbgrader
validate`` passes on the solution and ``validate --invert`` on the release.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import one_thread_per_kernel, start_ahead
from tools.labs import ROOT, grade_in_temp_course, lab_names, nbgrader, student_solution

LABS = lab_names()
SOLUTION_BLOCK = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
HIDDEN_BLOCK = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


def _marks(lab: str):
    return [pytest.mark.slow, getattr(pytest.mark, lab.split("_")[0])]


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _text(cell: dict) -> str:
    return "".join(cell["source"])


_student_solution = student_solution  # older name, kept for scripts that import it


_one_thread_per_kernel = pytest.fixture(scope="module", autouse=True)(one_thread_per_kernel)
_GRADINGS: dict = {}  # lab -> Future of grade_in_temp_course, started ahead of its tests


@pytest.fixture(scope="module", params=[pytest.param(lab, marks=_marks(lab)) for lab in LABS])
def graded(request, tmp_path_factory):
    """Release, submit (solution and blank) and autograde one lab in a temporary course."""
    if not _GRADINGS:  # each lab in its own temporary course and gradebook: nothing shared
        _GRADINGS.update(start_ahead(request, "graded", lambda lab: grade_in_temp_course(
            lab, tmp_path_factory.mktemp(lab))))
    future = _GRADINGS.get(request.param)
    if future is None:  # not foreseen (e.g. a test selected in an unusual way): grade now
        return grade_in_temp_course(request.param, tmp_path_factory.mktemp(request.param))
    return future.result()


def test_release_matches_committed_labs(graded):
    committed = ROOT / "labs" / graded["lab"] / graded["release"].name
    assert committed.exists(), f"{committed} is missing: run `python -m tools.labs`"
    assert graded["release"].read_text() == committed.read_text(), (
        f"labs/{graded['lab']} is out of date: run `python -m tools.labs {graded['lab']}`"
    )


def test_solution_autogrades_to_full_marks(graded):
    assert graded["autograde"].returncode == 0, graded["autograde"].stderr[-3000:]
    score, max_score = graded["scores"]["solution"]
    assert max_score == 100, f"the points of {graded['lab']} must add up to 100; got {max_score}"
    assert score == max_score, f"solution scored {score}/{max_score}"


def test_unmodified_release_autogrades_to_zero(graded):
    assert graded["autograde"].returncode == 0, graded["autograde"].stderr[-3000:]
    autograded = graded["course"] / "autograded" / "blank" / graded["lab"]
    assert (autograded / graded["release"].name).exists(), "the grader did not write its copy"
    score, _ = graded["scores"]["blank"]
    assert score == 0, f"the unmodified release scored {score}"


def test_no_solution_or_hidden_test_in_release(graded):
    source = graded["solution"].read_text()
    visible = json.loads(source)
    visible_text = "\n".join(
        HIDDEN_BLOCK.sub("", SOLUTION_BLOCK.sub("", _text(c))) for c in visible["cells"]
    )
    visible_lines = {line.strip() for line in visible_text.splitlines()}
    released_lines = {
        line.strip() for c in _cells(graded["release"]) for line in _text(c).splitlines()
    }
    secret = [
        line.strip()
        for c in visible["cells"]
        for block in SOLUTION_BLOCK.findall(_text(c)) + HIDDEN_BLOCK.findall(_text(c))
        for line in block.splitlines()
    ]
    leaked = sorted({s for s in secret if len(s) > 8 and s not in visible_lines} & released_lines)
    assert not leaked, f"hidden lines found in labs/{graded['lab']}: {leaked[:5]}"
    assert "BEGIN HIDDEN TESTS" not in graded["release"].read_text()


def test_feedback_hides_hidden_tests(graded):
    assert graded["feedback"].returncode == 0, graded["feedback"].stderr[-3000:]
    secret = _secret_lines(graded["solution"])
    for student in ("solution", "blank"):
        html = graded["course"] / "feedback" / student / graded["lab"] / f"{graded['lab']}.html"
        assert html.exists(), f"no feedback for {student}"
        text = _html_text(html.read_text())
        leaked = [line for line in secret if line in text]
        assert not leaked, f"feedback for {student} shows hidden test lines: {leaked[:3]}"
        if student == "blank":  # the student still learns what failed
            assert "NotImplementedError" in text


def _html_text(html: str) -> str:
    import html as html_lib

    return html_lib.unescape(re.sub(r"<[^>]+>", "", html))


def _secret_lines(solution: Path) -> list[str]:
    """Distinctive lines of the hidden-test blocks: not found anywhere in the visible code."""
    cells = _cells(solution)
    visible = "\n".join(HIDDEN_BLOCK.sub("", SOLUTION_BLOCK.sub("", _text(c))) for c in cells)
    hidden = [
        line.strip()
        for c in cells
        for b in HIDDEN_BLOCK.findall(_text(c))
        for line in b.splitlines()
    ]
    return sorted({s for s in hidden if len(s) > 12 and s not in visible})


# `nbgrader validate` executes the notebook again; the autograde above already proves the same
# (solution 100, release 0) for every lab, so validate runs on the two labs whose commands the
# README shows (lab 00 in the copy-of-the-repository test, lab 01 in the instructors' section).
VALIDATED = ("lab00_warmup", "lab01_linear_regression")


def test_nbgrader_validate(graded):
    if graded["lab"] not in VALIDATED:
        pytest.skip("autograde already executes this lab; validate runs on " + ", ".join(VALIDATED))
    ok = nbgrader("validate", str(graded["solution"]), cwd=graded["course"], check=False)
    assert "Success! Your notebook passes all the tests." in ok.stdout, ok.stdout[-3000:]
    inverted = nbgrader(
        "validate", "--invert", str(graded["release"]), cwd=graded["course"], check=False
    )
    assert "Success! The notebook does not pass any tests." in inverted.stdout, inverted.stdout[
        -3000:
    ]


def _readme_grading_commands() -> list[list[str]]:
    """The nbgrader commands of the README's grading block, as an instructor types them."""
    readme = (ROOT / "README.md").read_text()
    block = next(b for b in re.findall(r"```bash\n(.*?)```", readme, re.S) if "autograde" in b)
    lines = [line.split("#")[0].split() for line in block.splitlines()]
    return [words[1:] for words in lines if words and words[0] == "nbgrader"]


@pytest.mark.slow
@pytest.mark.lab00
def test_readme_grading_commands_work_in_a_copy_of_the_repository(tmp_path):
    """The README's commands, in their order, on lab 00 in a folder laid out like a clone
    (``labs/`` committed): a right and a blank submission get 100 and 0 in grades.csv."""
    import csv

    lab = "lab00_warmup"
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    for folder in ("solutions", "labs"):
        shutil.copytree(ROOT / folder / lab, tmp_path / folder / lab)
    release = tmp_path / "labs" / lab / f"{lab}.ipynb"
    committed = release.read_text()
    solution = tmp_path / "solutions" / lab / f"{lab}.ipynb"
    answers = {"alice": json.dumps(student_solution(release, solution)), "bob": committed}
    for student, text in answers.items():
        (tmp_path / "submitted" / student / lab).mkdir(parents=True)
        (tmp_path / "submitted" / student / lab / f"{lab}.ipynb").write_text(text)
    commands = _readme_grading_commands()
    assert [c[0] for c in commands] == [
        "generate_assignment", "autograde", "generate_feedback", "export"
    ], commands
    for command in commands:
        args = [lab if word == "lab01_linear_regression" else word for word in command]
        result = nbgrader(*args, cwd=tmp_path, check=False)
        assert result.returncode == 0, f"nbgrader {' '.join(args)}:\n{result.stderr[-3000:]}"
        assert "Skipping existing assignment" not in result.stderr, "the lab was not registered"
    assert release.read_text() == committed, "the forced release must leave labs/ unchanged"
    with open(tmp_path / "grades.csv") as handle:
        scores = {row["student_id"]: float(row["score"]) for row in csv.DictReader(handle)}
    assert scores == {"alice": 100.0, "bob": 0.0}
    assert (tmp_path / "feedback" / "bob" / lab / f"{lab}.html").exists()


@pytest.mark.slow
@pytest.mark.lab00
def test_stderr_and_warnings_from_right_code_cost_nothing(tmp_path):
    """A right function that prints to stderr and warns while the tests call it keeps its
    points; a wrong one still loses them (only exceptions fail a test)."""
    lab = "lab00_warmup"
    release = ROOT / "labs" / lab / f"{lab}.ipynb"
    solution = ROOT / "solutions" / lab / f"{lab}.ipynb"
    noisy = (
        "\nimport sys as _sys, warnings as _warnings\n_right = standardize\n\n\n"
        "def standardize(*args, **kwargs):\n"
        "    print('debugging standardize', file=_sys.stderr)\n"
        "    print('x' * 5_000_000)\n"
        "    _warnings.warn('a harmless RuntimeWarning', RuntimeWarning)\n"
        "    return {result}\n"
    )
    submissions = {}
    for student, result in (("noisy", "_right(*args, **kwargs)"), ("noisy_wrong", "None")):
        notebook = student_solution(release, solution)
        for cell in notebook["cells"]:
            if cell["metadata"].get("nbgrader", {}).get("grade_id") == "standardize":
                cell["source"] = "".join(cell["source"]) + noisy.format(result=result)
        submissions[student] = json.dumps(notebook)
    graded = grade_in_temp_course(lab, tmp_path, submissions=submissions)
    full = graded["scores"]["noisy"]
    assert full[0] == full[1], f"right code with stderr output scored {full}"
    wrong = graded["scores"]["noisy_wrong"]
    assert wrong[0] < wrong[1], f"a wrong function that also prints to stderr scored {wrong}"
    autograded = graded["course"] / "autograded" / "noisy" / lab / f"{lab}.ipynb"
    assert autograded.stat().st_size < 2_000_000, "a 5 MB print must be cut in the notebook"
