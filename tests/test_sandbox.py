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
if sandbox.turned_off():
    REASON = f"{sandbox.OPT_OUT}=off (the corpus kills processes: never run it unsandboxed)"
pytestmark = [pytest.mark.sandbox, pytest.mark.slow]
needs_sandbox = pytest.mark.skipif(REASON is not None, reason=f"no sandbox here: {REASON}")
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
    with open(course / "nbgrader_config.py", "a") as config:  # the hang case costs 2 timeouts
        config.write(f"\nc.SandboxedExecute.lab_timeouts = {{{cases.L01!r}: 20}}\n")
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


@pytest.fixture(scope="module", params=[pytest.param(cases.L01, marks=needs_sandbox),
                                        pytest.param(cases.L05, marks=needs_sandbox)])
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
    """No feedback quotes a hidden-test line, nor a solution line the student did not write."""
    import html as html_lib
    import re

    lab, course, chosen, out = graded
    assert out["feedback"].returncode == 0, out["feedback"].stderr[-3000:]
    autograded = json.loads(
        (course / "autograded" / HONEST / lab / f"{lab}.ipynb").read_text())["cells"]
    secrets = secret_lines(autograded, json.loads(out["solution"].read_text())["cells"])
    assert secret_lines(autograded), "no hidden-test lines found: the check would prove nothing"
    for student in [HONEST, *(c.name for c in chosen)]:
        submitted = (course / "submitted" / student / lab / f"{lab}.ipynb").read_text()
        own = "\n".join("".join(cell["source"]) for cell in json.loads(submitted)["cells"])
        html = (course / "feedback" / student / lab / f"{lab}.html").read_text()
        text = html_lib.unescape(re.sub(r"<[^>]+>", "", html))
        leaked = [s for s in secrets if s in text and s not in own]
        assert not leaked, f"feedback of {student} quotes {leaked[:3]}"


def test_numpy_lab_kernel_cannot_import_torch(graded):
    """Lab 01 is NumPy-only and its setup and visible tests need no PyTorch: its kernel runs
    without torch (issue 17: the rule enforced by the environment, not read from the source)."""
    lab, course, chosen, _ = graded
    if lab != cases.L01:
        pytest.skip("the PyTorch lab's kernel has torch")
    notebook = json.loads((course / "autograded" / "torch_import_blocked" / lab
                           / f"{lab}.ipynb").read_text())
    cell = next(c for c in notebook["cells"]
                if c["metadata"].get("nbgrader", {}).get("grade_id") == "predict")
    errors = [o for o in cell["outputs"] if o.get("output_type") == "error"]
    assert errors and "NumPy only" in errors[0]["evalue"], cell["outputs"]


def test_review_report_lists_attacks(graded):
    lab, course, chosen, _ = graded
    flagged = {e["student"]: e["reasons"] for e in report(course) if e["lab"] == lab}
    for case in chosen:
        if case.base == "blank":
            assert case.name in flagged, f"{case.name} is not in the review report"
    if any(case.name == "forged_wire_pickle" for case in chosen):
        reasons = flagged.get("forged_wire_pickle", [])
        assert any("malformed answer" in r for r in reasons), reasons
    assert HONEST not in flagged, f"the honest classmate was flagged: {flagged.get(HONEST)}"


@needs_sandbox
def test_kernel_sees_only_its_sandbox(tmp_path):
    """A sandboxed kernel, started the way nbgrader starts it: runs as nobody in a private
    copy of its folder without the notebook; the course root, the repository's solutions and
    the network are out of reach; the installed packages are read-only."""
    import nbformat
    from jupyter_core.utils import run_sync
    from nbclient import NotebookClient

    from grader.kernel import SandboxKernelManager

    course = tmp_path / "course"
    folder = course / "autograded" / "alice" / "lab"
    folder.mkdir(parents=True)
    (folder / "lab.ipynb").write_text("{}")
    (folder / "data.csv").write_text("1,2\n")
    (course / "gradebook.db").write_text("secret")
    probe = f"""
import os, socket
print(os.getuid(), sorted(os.listdir('.')))
print(os.path.exists({str(course / 'gradebook.db')!r}), os.path.exists({str(ROOT / 'solutions')!r}))
for path in ({str(ROOT / 'course' / 'grading.py')!r}, '/usr/x'):
    try:
        open(path, 'a')
        print('writable')
    except OSError as error:
        print(type(error).__name__)
try:
    socket.create_connection(('1.1.1.1', 80), timeout=2)
except OSError as error:
    print('network', error.errno)
"""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(probe)])
    km = SandboxKernelManager(hide=[str(course)])
    try:
        NotebookClient(nb, km=km, timeout=60).execute(cwd=str(folder))
    finally:
        run_sync(km.shutdown_kernel)(now=True)
    lines = "".join(o.get("text", "") for o in nb.cells[0].outputs).splitlines()
    uid, listing = lines[0].split(" ", 1)
    low, high = sandbox.UID_RANGE if os.geteuid() == 0 else (sandbox.NOBODY, sandbox.NOBODY + 1)
    assert low <= int(uid) < high and listing == "['data.csv']", lines
    assert lines[1] == "False False", lines
    assert set(lines[2:4]) <= {"OSError", "PermissionError"}, lines  # read-only, not nobody's
    assert lines[4].startswith("network"), lines
    assert not Path(km.connection_file).parent.exists(), "private folder left behind"


@needs_sandbox
def test_bwrap_command_hides_course_and_repository(tmp_path):
    private, course = tmp_path / "private", tmp_path / "course"
    course.mkdir()
    argv = sandbox.bwrap_command(["python", "-m", "ipykernel_launcher"], private, [course])
    text = " ".join(argv)
    for flag in ("--unshare-net", "--unshare-pid", "--die-with-parent", "--clearenv"):
        assert flag in argv
    assert f"--tmpfs {course}" in text
    assert f"--tmpfs {ROOT}" in text  # the repository with solutions/ of every lab
    assert f"--ro-bind {ROOT / 'course'} {ROOT / 'course'}" in text
    assert f"--bind {private} {private}" in text
    assert argv[-3:] == ["python", "-m", "ipykernel_launcher"]
    if os.geteuid() == 0:
        assert f"--reuid={sandbox.NOBODY}" in argv


def test_each_sandbox_has_its_own_uid_and_stale_folders_are_swept(tmp_path, monkeypatch):
    """Parallel sandboxes must not share a per-user process limit (as root each gets its own
    uid); a private folder whose grader died (SIGKILL) is removed by the next one."""
    import subprocess

    folders = [sandbox.make_private("grader-test-") for _ in range(2)]
    try:
        if os.geteuid() == 0:
            assert folders[0][1] != folders[1][1]
            assert all(sandbox.UID_RANGE[0] <= uid < sandbox.UID_RANGE[1] for _, uid in folders)
        dead = subprocess.Popen(["true"])
        dead.wait()
        (folders[0][0] / ".grader-pid").write_text(str(dead.pid))  # its grader is gone
        fresh, _ = sandbox.make_private("grader-test-")
        assert not folders[0][0].exists() and folders[1][0].exists() and fresh.exists()
        folders.append((fresh, 0))
    finally:
        for folder, _ in folders:
            shutil.rmtree(folder, ignore_errors=True)


def _notebook(*cells):
    import nbformat

    notebook = nbformat.v4.new_notebook()
    for source, grade in cells:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["nbgrader"] = {"grade": grade, "grade_id": f"c{len(notebook.cells)}",
                                     "locked": grade, "points": 1 if grade else 0}
        notebook.cells.append(cell)
    return notebook


@needs_sandbox
def test_dead_kernel_is_replaced_and_later_cells_graded(tmp_path):
    """A test cell that kills its kernel fails alone: the earlier non-test cells run again in
    a fresh sandbox and the next test still sees the student's definitions."""
    from grader.execute import SandboxedExecute

    notebook = _notebook(("x = 41", False), ("import os; os._exit(3)", True),
                         ("print(x + 1)", True))
    out, resources = SandboxedExecute().preprocess(notebook, {"metadata": {"path": str(tmp_path)}})
    assert out.cells[1].outputs[-1]["ename"] == "KernelDied"
    assert out.cells[2].outputs[0]["text"] == "42\n", out.cells[2].outputs
    assert resources["sandbox"]["crashes"] == [{"cell": "c1", "reason": "KernelDied"}]


def test_grading_refuses_without_sandbox_unless_opted_out(tmp_path, monkeypatch):
    from grader import execute

    monkeypatch.setattr(execute.sandbox, "availability", lambda: "bwrap is missing (test)")
    monkeypatch.delenv(sandbox.OPT_OUT, raising=False)
    notebook = _notebook(("print('ran')", False))
    with pytest.raises(execute.SandboxUnavailable, match="bwrap is missing.*COURSE_SANDBOX=off"):
        execute.SandboxedExecute().preprocess(notebook, {"metadata": {"path": str(tmp_path)}})
    monkeypatch.setenv(sandbox.OPT_OUT, "off")
    out, _ = execute.SandboxedExecute().preprocess(notebook, {"metadata": {"path": str(tmp_path)}})
    assert out.cells[0].outputs[0]["text"] == "ran\n"
