"""The parallel class grader (tools.grade_class) writes the gradebook that sequential
``nbgrader autograde`` writes.

One small class of lab 00 (full marks, a partial, the unmodified release, a kernel that dies,
a cell that never ends) is graded twice from the same start
with the course's own nbgrader_config.py (sandbox and per-lab timeouts included):
by one ``nbgrader autograde`` run over the whole class and by ``grade_class`` with 2 workers.
Every grade of every cell, every comment, timestamp and late penalty must agree, and the
autograded notebooks must be where nbgrader puts them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tools.grade_class import FAILED, _sqlite_path, chunks, grade_class, recommended_timeout
from tools.labs import ROOT, nbgrader, student_solution

LAB = "lab00_warmup"


def _solution_with(release: Path, solution: Path, **cells: str) -> str:
    """The solution filled into the release, with code appended to some solution cells."""
    notebook = student_solution(release, solution)
    for cell in notebook["cells"]:
        extra = cells.get(cell["metadata"].get("nbgrader", {}).get("grade_id"))
        if extra is not None:
            cell["source"] = "".join(cell["source"]) + "\n" + extra
    return json.dumps(notebook)


def _class(release: Path, solution: Path) -> dict[str, str]:
    wrong = "\ndef standardize(X):\n    return np.asarray(X, dtype=float)\n"
    return {
        "ada": _solution_with(release, solution),
        "bob": _solution_with(release, solution, standardize=wrong),
        "cy": release.read_text(),
        "dee": _solution_with(release, solution, one_hot="import os\nos._exit(1)"),
        "eve": _solution_with(release, solution, pairwise_distances="while True:\n    pass"),
    }


def _gradebook(db: str) -> dict:
    """Every field autograde writes, per student, from an nbgrader gradebook."""
    from nbgrader.api import Gradebook

    dump = {}
    with Gradebook(db) as gradebook:
        for submission in gradebook.find_assignment(LAB).submissions:
            notebooks = {}
            for notebook in submission.notebooks:
                notebooks[notebook.name] = {
                    "penalty": notebook.late_submission_penalty,
                    "grades": {g.name: (g.auto_score, g.manual_score, g.needs_manual_grade,
                                        g.max_score) for g in notebook.grades},
                    "comments": {c.name: c.auto_comment for c in notebook.comments},
                }
            dump[submission.student.id] = {"timestamp": submission.timestamp,
                                           "score": submission.score, "notebooks": notebooks}
    return dump


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The same class graded sequentially (``seq``) and by grade_class (``par``)."""
    base = tmp_path_factory.mktemp("class") / "base"
    base.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", base)
    # eve's infinite loop waits out one cell timeout in each of the two runs: 15 s instead of
    # the NumPy labs' 60 s keeps this test short (lab 00's test cells take milliseconds)
    with open(base / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.SandboxedExecute.lab_timeouts = {{{LAB!r}: 15}}\n")
    shutil.copytree(ROOT / "solutions" / LAB, base / "solutions" / LAB)
    nbgrader("generate_assignment", LAB, "--force", cwd=base)
    release = base / "labs" / LAB / f"{LAB}.ipynb"
    for student, text in _class(release, base / "solutions" / LAB / f"{LAB}.ipynb").items():
        folder = base / "submitted" / student / LAB
        folder.mkdir(parents=True)
        (folder / f"{LAB}.ipynb").write_text(text)
        (folder / "timestamp.txt").write_text("2026-12-01 10:00:00.000000 UTC")
    seq, par = base.parent / "seq", base.parent / "par"
    shutil.copytree(base, seq)
    shutil.copytree(base, par)
    sequential = nbgrader("autograde", LAB, cwd=seq, check=False)
    result = grade_class(LAB, par, workers=2, log=lambda *a: None)
    return {"seq": seq, "par": par, "sequential": sequential, "result": result}


@pytest.mark.slow
@pytest.mark.lab00
def test_parallel_gradebook_equals_sequential(graded):
    seq = _gradebook(f"sqlite:///{graded['seq'] / 'gradebook.db'}")
    par = _gradebook(f"sqlite:///{graded['par'] / 'gradebook.db'}")
    assert sorted(par) == ["ada", "bob", "cy", "dee", "eve"]
    assert par == seq
    # the class is what it was made to be (a dead kernel or a hang is config business: the
    # course's sandbox replaces the kernel and grades the rest, plain nbgrader gives up)
    assert par["ada"]["score"] == 100 and par["cy"]["score"] == 0
    assert par["bob"]["score"] == 70  # standardize (30 points) wrong
    assert par["eve"]["score"] < 100


@pytest.mark.slow
@pytest.mark.lab00
def test_parallel_grader_files_and_failures(graded):
    result = graded["result"]
    log = graded["sequential"].stdout + graded["sequential"].stderr
    assert result["failed"] == sorted(set(FAILED.findall(log))), result["failed"]
    folders = {name: sorted(p.parent.name for p in (graded[name] / "autograded").glob(f"*/{LAB}"))
               for name in ("seq", "par")}
    assert folders["par"] == folders["seq"]
    assert {"ada", "bob", "cy", "eve"} <= set(folders["par"])
    hung = json.loads((graded["par"] / "autograded" / "eve" / LAB / f"{LAB}.ipynb").read_text())
    errors = [o.get("ename", "") for c in hung["cells"] for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert any("Timeout" in e for e in errors), errors
    again = grade_class(LAB, graded["par"], workers=2, log=lambda *a: None)
    assert again["graded"] == [] and again["skipped"] == folders["par"]  # as nbgrader: no --force


def test_chunks_deal_every_student_once():
    students = [f"s{i}" for i in range(11)]
    parts = chunks(students, 4)
    assert sorted(sum(parts, [])) == sorted(students)
    assert [len(p) for p in parts] == [3, 3, 3, 2]
    assert chunks(["a"], 4) == [["a"]]
    with pytest.raises(ValueError, match="count must be >= 1"):
        chunks(students, 0)


def test_recommended_timeout():
    assert recommended_timeout(0.0) == 30  # the floor
    assert recommended_timeout(3.15) == 40  # ten times the slowest cell, rounded up to 10 s
    assert recommended_timeout(12.0) == 120
    with pytest.raises(ValueError, match="slowest_cell must be >= 0"):
        recommended_timeout(-1.0)


def test_bad_arguments_are_explained(tmp_path):
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    with pytest.raises(ValueError, match="workers must be >= 1"):
        grade_class(LAB, tmp_path, workers=0)
    with pytest.raises(ValueError, match="is not in the gradebook"):
        grade_class(LAB, tmp_path, workers=1)
    with pytest.raises(ValueError, match="nbgrader_config.py"):
        grade_class(LAB, tmp_path / "nowhere", workers=1)
    with pytest.raises(ValueError, match="SQLite"):
        _sqlite_path("postgresql://localhost/gradebook")
