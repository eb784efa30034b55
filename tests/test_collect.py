"""Intake of hand-ins (tools.collect): naming, filing, repair, and a real autograde.

The notebooks are the real lab 01: its release (``labs/``) and the solution filled into it as
a student would (``tools.labs.student_solution``). They are broken the ways editors break
them — Colab's download (nbformat 4.0, no cell ids, its own ``metadata.id``, the nbgrader
metadata dropped or kept), cells reordered, test cells deleted or edited, cells added — and
the repair must give back the intact submission, cell for cell.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest

from tools.collect import Roster, collect, identify, main, repair
from tools.labs import ROOT, grade_in_temp_course, student_solution

LAB = "lab01_linear_regression"
RELEASE = ROOT / "labs" / LAB / f"{LAB}.ipynb"
SOLUTION = ROOT / "solutions" / LAB / f"{LAB}.ipynb"
WRONG_MSE = "def mse_loss(y_hat, y):\n    return ((y_hat - y) ** 2).mean()\n"


def _release():
    return nbformat.read(RELEASE, as_version=4)


def _intact(mse: str | None = None):
    """The solution filled into the release; ``mse`` replaces the mse_loss cell."""
    notebook = nbformat.reads(json.dumps(student_solution(RELEASE, SOLUTION)), as_version=4)
    for cell in notebook.cells:
        if mse is not None and cell.metadata.get("nbgrader", {}).get("grade_id") == "mse_loss":
            cell.source = mse
    return notebook


def _colab(notebook, strip: bool = True):
    """What a Colab download looks like: no cell ids, Colab's own ids in the metadata, and
    (``strip``) no nbgrader metadata."""
    raw = json.loads(nbformat.writes(notebook))
    raw["nbformat_minor"] = 0
    raw["metadata"] = {"colab": {"provenance": []}, "kernelspec": {"name": "python3",
                                                                   "display_name": "Python 3"}}
    for index, cell in enumerate(raw["cells"]):
        cell.pop("id", None)
        kept = {} if strip else {"nbgrader": cell["metadata"].get("nbgrader")}
        cell["metadata"] = {"id": f"Xk{index:03d}ab", **{k: v for k, v in kept.items() if v}}
    return nbformat.reads(json.dumps(raw), as_version=4)


def _grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def test_intact_submission_is_left_alone():
    intact = _intact()
    repaired, repairs = repair(copy.deepcopy(intact), _release())
    assert repairs == []
    assert repaired == intact


@pytest.mark.parametrize("strip", [True, False], ids=["metadata-stripped", "metadata-kept"])
def test_colab_download_is_restored_cell_for_cell(strip):
    repaired, repairs = repair(_colab(_intact(WRONG_MSE), strip=strip), _release())
    assert repaired == _intact(WRONG_MSE)  # the student's (wrong) answer kept, all else restored
    text = " | ".join(repairs)
    assert "cell ids restored" in text
    assert ("nbgrader metadata restored" in text) == strip


def test_reordered_deleted_edited_and_added_cells():
    intact = _intact()
    broken = _colab(intact)
    tests = [i for i, c in enumerate(intact.cells) if _grade_id(c) in ("test_predict",
                                                                       "test_closed_form")]
    edited = next(i for i, c in enumerate(intact.cells) if _grade_id(c) == "test_gradients")
    broken.cells[edited].source = "# I commented the test out\n# " + broken.cells[edited].source
    helper = nbformat.v4.new_code_cell("def my_helper(x):\n    return 2 * x\n")
    cells = [c for i, c in enumerate(broken.cells) if i not in tests]
    at = next(i for i, c in enumerate(cells) if c.source.startswith("def gradients"))
    cells.insert(at + 1, helper)  # after the gradients cell
    moved = next(c for c in cells if c.source.startswith("got = mse_loss"))  # test_mse_loss
    cells.remove(moved)
    broken.cells = [moved, *cells]  # now first
    repaired, repairs = repair(broken, _release())
    ids = [c.get("id") for c in repaired.cells]
    expected = [c.get("id") for c in intact.cells]
    expected.insert(expected.index("gradients") + 1, ids[expected.index("gradients") + 1])
    assert ids == expected
    assert repaired.cells[ids.index("gradients") + 1].source == helper.source
    without = [c for c in repaired.cells if not c.id.startswith("added")]
    assert without == intact.cells
    text = " | ".join(repairs)
    assert "deleted cells restored: test_predict, test_closed_form" in text
    assert "edited locked cells restored: test_gradients" in text
    assert "cells reordered" in text and "kept 1 cell(s) the student added" in text


def test_missing_solution_cell_is_reported_and_graded_as_unanswered():
    broken = _colab(_intact())
    broken.cells = [c for c in broken.cells if "def closed_form" not in c.source]
    repaired, repairs = repair(broken, _release())
    release = {_grade_id(c): c.source for c in _release().cells}
    assert [c.source for c in repaired.cells if _grade_id(c) == "closed_form"] == [
        release["closed_form"]]
    assert "solution cell closed_form not found: graded as unanswered" in repairs


@pytest.mark.parametrize(
    ("path", "roster", "expected"),
    [
        ("jdoe/Copy of lab01_linear_regression.ipynb", None, (LAB, "jdoe")),
        ("lab01_linear_regression (1).ipynb", None, "unknown student"),
        ("jdoe_lab01.ipynb", None, (LAB, "jdoe")),
        ("lab01 - Jane Doe.ipynb", None, (LAB, "jane_doe")),
        ("lab01 - Jane Doe.ipynb", "roster", (LAB, "s1")),
        ("Doe Jane_4711_assignsubmission_file_/lab01_linear_regression (2).ipynb", "roster",
         (LAB, "s1")),
        ("doejane_12345_67890_lab_1.ipynb", "roster", (LAB, "s1")),
        ("bob.smith@uni.example/Copy of Copy of lab01_linear_regression.ipynb", "roster",
         (LAB, "s2")),
        ("lab01 - Jane Roe.ipynb", "roster", "unknown student"),
        ("jdoe_lab07.ipynb", None, "unknown lab"),
    ],
)
def test_identify_lab_and_student(path, roster, expected):
    releases = {LAB: _release(), "lab00_warmup": None}
    rows = [{"id": "s1", "first_name": "Jane", "last_name": "Doe", "email": "jd@uni.example"},
            {"student_id": "s2", "name": "Bob Smith", "email": "bob.smith@uni.example"}]
    people = Roster(rows) if roster else Roster()
    if isinstance(expected, str):
        with pytest.raises(ValueError, match=expected):
            identify(Path(path), None, releases, people)
    else:
        assert identify(Path(path), None, releases, people) == expected


def test_lab_is_recognised_by_content():
    releases = {LAB: _release(), "lab00_warmup": nbformat.read(
        ROOT / "labs" / "lab00_warmup" / "lab00_warmup.ipynb", as_version=4)}
    assert identify(Path("work/jdoe.ipynb"), _colab(_intact()), releases, Roster()) == (
        LAB, "jdoe")


def _course(tmp_path: Path) -> Path:
    course = tmp_path / "course"
    (course / "labs" / LAB).mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copy(RELEASE, course / "labs" / LAB)
    return course


def test_collect_a_zip_files_good_hand_ins_and_reports_bad_ones(tmp_path, capsys):
    course = _course(tmp_path)
    good = nbformat.writes(_colab(_intact()))
    batch = tmp_path / "export.zip"
    with zipfile.ZipFile(batch, "w") as archive:
        def add(name, text, when=(2026, 12, 1, 9, 0, 0)):
            archive.writestr(zipfile.ZipInfo(name, date_time=when), text)
        add("jdoe/Copy of lab01_linear_regression.ipynb", good)
        add("jdoe/lab01_linear_regression (1).ipynb", good, (2026, 12, 2, 9, 0, 0))
        add("lab01 - Jane Doe.ipynb", nbformat.writes(_intact(WRONG_MSE)))
        add("asmith_lab01.ipynb", "")
        add("bjones_lab01.ipynb", "{not json")
        add("cwu_lab01.ipynb", json.dumps({"hello": "world"}))
        add("dlee_lab07.ipynb", good)
        add("notes.pdf", "%PDF-1.4")
        add("__MACOSX/jdoe/._lab01.ipynb", "junk")
    assert main([str(batch), "--course", str(course), "--report",
                 str(tmp_path / "report")]) == 1  # errors were reported
    rows = json.loads((tmp_path / "report.json").read_text())
    status = {r["source"]: (r["status"], r["message"]) for r in rows}
    assert status["jdoe/lab01_linear_regression (1).ipynb"][0] == "filed"
    assert status["jdoe/Copy of lab01_linear_regression.ipynb"][0] == "superseded"
    assert status["lab01 - Jane Doe.ipynb"] == ("filed", "")
    assert status["asmith_lab01.ipynb"] == ("error", "empty file")
    assert status["bjones_lab01.ipynb"][1].startswith("not valid JSON")
    assert status["cwu_lab01.ipynb"][1] == "not a notebook (JSON without cells)"
    assert status["dlee_lab07.ipynb"][1].startswith("unknown lab")
    assert status["notes.pdf"][0] == "skipped" and len(rows) == 8
    filed = course / "submitted" / "jdoe" / LAB
    assert nbformat.read(filed / f"{LAB}.ipynb", as_version=4) == _intact()
    assert (filed / "timestamp.txt").read_text() == "2026-12-02 09:00:00.000000 UTC"
    jane = course / "submitted" / "jane_doe" / LAB / f"{LAB}.ipynb"
    assert nbformat.read(jane, as_version=4) == _intact(WRONG_MSE)
    assert "nbgrader metadata restored" in (tmp_path / "report.csv").read_text()
    assert "superseded" in capsys.readouterr().out
    again = collect(batch, course)  # filed submissions are not overwritten by default
    assert {r.status for r in again if r.student == "jdoe"} == {"exists", "superseded"}


def test_bad_batch_and_course_are_explained(tmp_path):
    with pytest.raises(ValueError, match="nbgrader_config.py"):
        collect(tmp_path, tmp_path / "nowhere")
    with pytest.raises(ValueError, match="a folder or a .zip"):
        collect(tmp_path / "missing.zip", _course(tmp_path))
    with pytest.raises(ValueError, match="'id' or 'student_id'"):
        Roster([{"name": "Jane Doe"}])


@pytest.mark.slow
@pytest.mark.lab01
def test_repaired_colab_download_scores_what_the_intact_one_scores(tmp_path):
    """A real nbgrader autograde: a partial submission (mse_loss wrong), intact, and the same
    answers downloaded from Colab with the metadata stripped, cells reordered and two test
    cells deleted, then repaired: the same points in every test cell."""
    from nbgrader.api import Gradebook

    broken = _colab(_intact(WRONG_MSE))
    broken.cells = [c for c in broken.cells[::-1] if not c.source.startswith("X_small = np")]
    repaired, repairs = repair(broken, _release())
    assert any("deleted cells restored" in r for r in repairs)
    submissions = {"intact": nbformat.writes(_intact(WRONG_MSE)),
                   "repaired": nbformat.writes(repaired)}
    graded = grade_in_temp_course(LAB, tmp_path, submissions=submissions)
    assert graded["autograde"].returncode == 0, graded["autograde"].stderr[-2000:]
    cells = {}
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gradebook:
        for student in submissions:
            notebook = gradebook.find_submission_notebook(LAB, LAB, student)
            cells[student] = {g.name: g.auto_score for g in notebook.grades}
    assert cells["repaired"] == cells["intact"]
    # the wrong mse_loss fails its test and gradient descent's (its history uses mse_loss)
    assert cells["intact"] == {"test_predict": 10, "test_mse_loss": 0, "test_gradients": 25,
                               "test_gradient_descent": 0, "test_closed_form": 20}
    assert os.path.exists(tmp_path / "autograded" / "repaired" / LAB / f"{LAB}.ipynb")
