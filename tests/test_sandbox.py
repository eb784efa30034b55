"""Hostile submissions graded by the course's nbgrader configuration in the sandbox.

Per lab, every case of ``tests/hostile/cases.py`` plus an honest classmate (the solution,
graded last) is submitted to a temporary course and graded in ONE ``nbgrader autograde`` run;
then feedback is generated. Asserted: each case's score; the classmate keeps 100 and its
submission, the gradebook rows of others, ``course/grading.py`` and both ``nbgrader_config.py``
are unchanged; no feedback quotes a hidden-test line; the review report lists the attacks.
Needs bubblewrap and namespaces (skipped with the reason elsewhere).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from grader import sandbox
from grader.feedback import secret_lines
from grader.review import report
from tools.labs import ROOT, nbgrader, student_solution

_spec = importlib.util.spec_from_file_location("hostile_cases", ROOT / "tests/hostile/cases.py")
cases = sys.modules.setdefault("hostile_cases", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(cases)

REASON = sandbox.availability()
if os.environ.get(sandbox.OPT_OUT, "").lower() in ("off", "0", "no", "false"):
    REASON = f"{sandbox.OPT_OUT}=off (the corpus kills processes: never run it unsandboxed)"
pytestmark = [pytest.mark.sandbox, pytest.mark.slow,
              pytest.mark.skipif(REASON is not None, reason=f"no sandbox here: {REASON}")]
HONEST = "zz_honest"  # graded after every attacker


def _hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def submission(case, release: Path, solution: Path, course: Path) -> dict:
    """The notebook of ``case``: its code added to (or wrapped around) one solution cell."""
    notebook = (student_solution(release, solution) if case.base == "solution"
                else json.loads(release.read_text()))
    code = case.code.format(course=course, repo=ROOT, lab=case.lab)
    if case.wrap:
        body = "\n".join("    " + line for line in code.splitlines())
        code = (f"\n_inner_{case.wrap} = {case.wrap}\n\n\ndef {case.wrap}(*args, **kwargs):\n"
                f"{body}\n    return _inner_{case.wrap}(*args, **kwargs)\n")
    for cell in notebook["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == case.cell:
            cell["source"] = "".join(cell["source"]) + "\n" + code
            break
    else:
        raise ValueError(f"{case.lab} has no cell {case.cell!r}")
    return notebook


def grade_corpus(lab: str, course: Path, chosen: list) -> dict:
    """Release ``lab`` in ``course``, submit ``chosen`` cases and the honest classmate, grade
    them in one autograde run, generate feedback; return scores, seconds and file hashes."""
    from nbgrader.api import Gradebook

    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions" / lab, course / "solutions" / lab)
    db = f"sqlite:///{course / 'gradebook.db'}"
    nbgrader("generate_assignment", lab, "--force", f"--db={db}", cwd=course)
    release = course / "labs" / lab / f"{lab}.ipynb"
    solution = course / "solutions" / lab / f"{lab}.ipynb"
    notebooks = {HONEST: student_solution(release, solution)}
    notebooks.update({c.name: submission(c, release, solution, course) for c in chosen})
    for student, notebook in notebooks.items():
        folder = course / "submitted" / student / lab
        folder.mkdir(parents=True)
        (folder / f"{lab}.ipynb").write_text(json.dumps(notebook))
    protected = [ROOT / "course" / "grading.py", ROOT / "nbgrader_config.py",
                 course / "nbgrader_config.py",
                 course / "submitted" / HONEST / lab / f"{lab}.ipynb"]
    before = {p: _hash(p) for p in protected}
    start = time.perf_counter()
    result = nbgrader("autograde", lab, f"--db={db}", "--Autograde.create_student=True",
                      cwd=course, check=False)
    seconds = time.perf_counter() - start
    time.sleep(10)  # let any detached writer that escaped try its late UPDATE
    feedback = nbgrader("generate_feedback", lab, f"--db={db}", cwd=course, check=False)
    with Gradebook(db) as gradebook:
        scores = {s: gradebook.find_submission(lab, s).score for s in notebooks}
    return {"result": result, "feedback": feedback, "scores": scores, "seconds": seconds,
            "changed": [str(p) for p in protected if _hash(p) != before[p]],
            "solution": solution}


@pytest.fixture(scope="module", params=[cases.L01, cases.L05])
def graded(request, tmp_path_factory):
    lab = request.param
    chosen = [c for c in cases.CASES if c.lab == lab]
    course = tmp_path_factory.mktemp(lab)
    return lab, course, chosen, grade_corpus(lab, course, chosen)


def test_hostile_scores(graded):
    lab, _, chosen, out = graded
    assert out["result"].returncode == 0, out["result"].stderr[-3000:]
    wrong = {c.name: (out["scores"][c.name], c.score) for c in chosen
             if not c.open_ and out["scores"][c.name] != c.score}
    assert not wrong, f"{lab}: (got, expected) {wrong}"
    assert out["scores"][HONEST] == 100, f"the honest classmate scored {out['scores'][HONEST]}"


def test_others_intact(graded):
    _, _, _, out = graded
    assert out["changed"] == [], f"files changed by submissions: {out['changed']}"


def test_no_hidden_test_in_feedback(graded):
    lab, course, chosen, out = graded
    assert out["feedback"].returncode == 0, out["feedback"].stderr[-3000:]
    autograded = json.loads(
        (course / "autograded" / HONEST / lab / f"{lab}.ipynb").read_text())["cells"]
    secrets = secret_lines(autograded, json.loads(out["solution"].read_text())["cells"])
    hidden = secret_lines(autograded)
    assert hidden, "no hidden-test lines found: the check would prove nothing"
    for student in [HONEST, *(c.name for c in chosen)]:
        html = (course / "feedback" / student / lab / f"{lab}.html").read_text()
        import html as html_lib
        import re

        text = html_lib.unescape(re.sub(r"<[^>]+>", "", html))
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"feedback of {student} quotes {leaked[:3]}"


def test_review_report_lists_attacks(graded):
    lab, course, chosen, _ = graded
    flagged = {e["student"]: e["reasons"] for e in report(course) if e["lab"] == lab}
    for case in chosen:
        if case.base == "blank":
            assert case.name in flagged, f"{case.name} is not in the review report"
    assert HONEST not in flagged, f"the honest classmate was flagged: {flagged.get(HONEST)}"
