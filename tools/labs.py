"""Release the labs: regenerate ``labs/`` from ``solutions/`` with nbgrader.

    python -m tools.labs                 # every lab in solutions/
    python -m tools.labs lab01_linear_regression

It rebuilds the solution notebooks from ``notebook_sources/`` first, then runs
``nbgrader generate_assignment --force`` for each lab with a throw-away gradebook, so the
release is reproducible and no ``gradebook.db`` is left behind. Instructors who keep a
gradebook run ``nbgrader generate_assignment <lab> --force`` themselves (see the README).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tools import nbbuild

__all__ = ["lab_names", "nbgrader", "release", "student_solution", "grade_in_temp_course", "main"]

ROOT = Path(__file__).resolve().parent.parent


def lab_names(root: Path = ROOT) -> list[str]:
    """Names of the labs that have a source notebook in ``solutions/``."""
    return sorted(
        p.name for p in (root / "solutions").iterdir() if (p / f"{p.name}.ipynb").exists()
    )


def nbgrader(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    """Run the nbgrader command line of this Python environment in ``cwd``."""
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    command = [sys.executable, "-m", "nbgrader", *args]
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def release(lab: str, root: Path = ROOT, db: str | None = None) -> Path:
    """Generate ``labs/<lab>/`` from ``solutions/<lab>/`` under ``root``; return the folder."""
    with tempfile.TemporaryDirectory() as tmp:
        db = db or f"sqlite:///{Path(tmp) / 'gradebook.db'}"
        nbgrader("generate_assignment", lab, "--force", f"--db={db}", cwd=root)
    return root / "labs" / lab


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def student_solution(release_nb: Path, solution_nb: Path) -> dict:
    """The released notebook with every solution cell filled in as a student would."""
    answers = {}
    for cell in _cells(solution_nb):
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("solution"):
            answers[meta["grade_id"]] = "".join(cell["source"])
    notebook = json.loads(release_nb.read_text())
    for cell in notebook["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("solution"):
            text = answers[meta["grade_id"]]
            text = "\n".join(line for line in text.splitlines() if "### " not in line)
            cell["source"] = text.splitlines(keepends=True)
    return notebook


def grade_in_temp_course(lab: str, course: Path, submissions: dict[str, str] | None = None):
    """Release ``lab`` into a fresh course folder, submit notebooks and autograde them.

    ``submissions`` maps a student id to notebook text; by default two students submit: the
    solution filled into the release (``solution``) and the unmodified release (``blank``).
    Feedback is generated for every student. Returns a dict with the paths, the (first
    failed, else first) autograde process result, the feedback process result,
    the seconds each student's autograde took and the scores
    ``{student: (score, max_score)}`` read from the gradebook.
    """
    import time

    from nbgrader.api import Gradebook

    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions" / lab, course / "solutions" / lab)
    db = f"sqlite:///{course / 'gradebook.db'}"
    nbgrader("generate_assignment", lab, "--force", f"--db={db}", cwd=course)
    release_nb = course / "labs" / lab / f"{lab}.ipynb"
    solution_nb = course / "solutions" / lab / f"{lab}.ipynb"
    if submissions is None:
        submissions = {
            "solution": json.dumps(student_solution(release_nb, solution_nb), indent=1),
            "blank": release_nb.read_text(),
        }
    for student, text in submissions.items():
        folder = course / "submitted" / student / lab
        folder.mkdir(parents=True)
        (folder / f"{lab}.ipynb").write_text(text)
    seconds, results = {}, []
    for student in submissions:  # one autograde run per student, timed separately
        start = time.perf_counter()
        results.append(
            nbgrader(
                "autograde",
                lab,
                f"--student={student}",
                f"--db={db}",
                "--Autograde.create_student=True",
                cwd=course,
                check=False,
            )
        )
        seconds[student] = time.perf_counter() - start
    failed = [r for r in results if r.returncode != 0]
    result = failed[0] if failed else results[0]
    feedback = nbgrader("generate_feedback", lab, f"--db={db}", cwd=course, check=False)
    scores = {}
    with Gradebook(db) as gradebook:
        for student in submissions:
            submission = gradebook.find_submission(lab, student)
            scores[student] = (submission.score, submission.max_score)
    return {
        "lab": lab,
        "course": course,
        "release": release_nb,
        "solution": solution_nb,
        "autograde": result,
        "feedback": feedback,
        "seconds": seconds,
        "scores": scores,
    }


def main(argv: list[str] | None = None) -> int:
    labs = (argv if argv is not None else sys.argv[1:]) or None
    nbbuild.build_all()
    for lab in labs or lab_names():
        print(f"released: {release(lab).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
