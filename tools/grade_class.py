"""Autograde a whole class in parallel, into the course's own nbgrader gradebook.

    python -m tools.grade_class lab01_linear_regression --workers 2 [--course .] [--force]

``nbgrader autograde`` grades one submission after another (jupyter/nbgrader#174). Here the
students who handed in the lab are dealt round-robin into chunks (two per worker by default,
so that a chunk with a slow or hanging submission does not leave a core idle at the end), and
up to ``--workers`` chunks are graded at once. Each chunk is graded by an ordinary
``nbgrader autograde <lab>`` started in the course root, so the course's ``nbgrader_config.py``
(its preprocessors, timeout and kernel settings, e.g. a sandboxed kernel) applies unchanged;
only ``--CourseDirectory.root`` points it at a scratch course that holds that chunk's
submissions, a link to the lab's source folder and a copy of the gradebook.

When a chunk is done, the main process merges it into the course gradebook with
:class:`nbgrader.api.Gradebook`: exactly what autograde writes (the submission and its
timestamp, each grade's ``auto_score`` and ``needs_manual_grade``, each comment's
``auto_comment``, each notebook's late penalty; manual scores are never touched), and moves
its autograded notebooks into the course's ``autograded/`` folder. Only the main process
writes the course gradebook, so SQLite never sees two writers, and the result is the
gradebook a sequential ``nbgrader autograde <lab>`` would have written (tested). As with
nbgrader, students already autograded are skipped unless ``--force``; a submission whose
grading fails (e.g. its kernel dies) is reported, its cells left ungraded.

Timeouts and kernels are the config's business (the course's ``SandboxedExecute`` sizes the
per-cell timeout per lab); ``--nbgrader-arg=--Class.trait=value`` (repeatable) passes any other
option to every nbgrader run. :func:`recommended_timeout` derives a per-cell timeout from a
lab's slowest cell (``python benchmarks/grade_class.py --cell-times``). ``--log FILE`` keeps
nbgrader's output of every chunk.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from tools.collect import course_directory

__all__ = ["recommended_timeout", "chunks", "merge", "grade_class", "main"]

FAILED = re.compile(r"error processing assignment '[^']*' for student '([^']*)'")


def recommended_timeout(slowest_cell: float, factor: float = 10.0, floor: int = 30) -> int:
    """Per-cell timeout (s) for a lab whose slowest cell that runs student code needs
    ``slowest_cell`` CPU seconds in the solution: ``factor`` times that (a correct but slower
    solution, a loaded grader), rounded up to 10 s, at least ``floor`` (which also covers the
    setup cell's imports, ~4 CPU s).

    >>> recommended_timeout(0.2), recommended_timeout(3.15), recommended_timeout(8.0)
    (30, 40, 80)
    """
    if slowest_cell < 0:
        raise ValueError(f"slowest_cell must be >= 0 seconds; got {slowest_cell}")
    return max(floor, int(math.ceil(factor * slowest_cell / 10.0 - 1e-9)) * 10)


def chunks(students: list[str], count: int) -> list[list[str]]:
    """``students`` dealt round-robin into at most ``count`` non-empty chunks.

    >>> chunks(["a", "b", "c", "d", "e"], 2)
    [['a', 'c', 'e'], ['b', 'd']]
    """
    if count < 1:
        raise ValueError(f"count must be >= 1; got {count}")
    return [students[i::count] for i in range(min(count, len(students)))]


def _sqlite_path(db_url: str) -> Path:
    if not db_url.startswith("sqlite:///"):
        raise ValueError(f"grade_class needs a SQLite gradebook (sqlite:///...); got {db_url}")
    return Path(db_url[len("sqlite:///"):])


def merge(source_db: str, target_db: str, lab: str, students: list[str]) -> list[str]:
    """Copy what autograde wrote for ``students`` in ``source_db`` into ``target_db``;
    return the students that have no submission in ``source_db``."""
    from nbgrader.api import Gradebook, MissingEntry

    missing = []
    with Gradebook(source_db) as source, Gradebook(target_db) as target:
        for student in students:
            try:
                submission = source.find_submission(lab, student)
            except MissingEntry:
                missing.append(student)
                continue
            target.update_or_create_student(student)
            target.update_or_create_submission(lab, student, timestamp=submission.timestamp)
            for notebook in submission.notebooks:
                merged = target.find_submission_notebook(notebook.name, lab, student)
                merged.late_submission_penalty = notebook.late_submission_penalty
                for grade in notebook.grades:
                    into = target.find_grade(grade.name, notebook.name, lab, student)
                    into.auto_score = grade.auto_score
                    into.needs_manual_grade = grade.needs_manual_grade
                for comment in notebook.comments:
                    into = target.find_comment(comment.name, notebook.name, lab, student)
                    into.auto_comment = comment.auto_comment
            target.db.commit()
    return missing


def _grade_chunk(course: Path, coursedir, lab: str, students: list[str], scratch: Path,
                 db: Path, extra: list[str], threads: int | None) -> tuple[int, str]:
    """Autograde ``students`` in the scratch course ``scratch``; (return code, log)."""
    root = Path(coursedir.root)
    for student in students:
        submitted = Path(coursedir.format_path(coursedir.submitted_directory, student, lab))
        shutil.copytree(submitted, scratch / submitted.relative_to(root))
    source = Path(coursedir.format_path(coursedir.source_directory, ".", lab))
    if source.exists():
        link = scratch / source.relative_to(root)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(source, target_is_directory=True)
    with sqlite3.connect(db) as main_db, sqlite3.connect(scratch / "gradebook.db") as copy:
        main_db.backup(copy)
    command = [sys.executable, "-m", "nbgrader", "autograde", lab,
               f"--CourseDirectory.root={scratch}",
               f"--CourseDirectory.db_url=sqlite:///{scratch / 'gradebook.db'}"]
    command += extra
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep
           + os.environ.get("PATH", "")}
    if threads is not None:
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env.setdefault(name, str(threads))
    done = subprocess.run(command, cwd=course, env=env, capture_output=True, text=True)
    return done.returncode, done.stdout + done.stderr


def grade_class(lab: str, course: Path = Path("."), workers: int = 2, force: bool = False,
                chunk_count: int | None = None, nbgrader_args: list[str] | None = None,
                log=print) -> dict:
    """Autograde every submission of ``lab`` in ``course`` with ``workers`` parallel nbgrader
    runs; return ``{"graded", "skipped", "failed", "scores", "seconds", "logs"}``: ``scores``
    maps each graded student to ``(score, max_score)`` read from the course gradebook,
    ``failed`` lists the submissions nbgrader could not grade, ``logs`` nbgrader's output."""
    from nbgrader.api import Gradebook, MissingEntry

    if workers < 1:
        raise ValueError(f"workers must be >= 1; got {workers}")
    course = Path(course).resolve()
    coursedir = course_directory(course)
    db = _sqlite_path(coursedir.db_url)
    with Gradebook(coursedir.db_url) as gradebook:
        try:
            gradebook.find_assignment(lab)
        except MissingEntry:
            raise ValueError(f"{lab} is not in the gradebook {db}: run `nbgrader "
                             f"generate_assignment {lab} --force` first") from None
    submitted = Path(coursedir.format_path(coursedir.submitted_directory, "*", lab))
    students = sorted(p.parent.name for p in submitted.parent.parent.glob(f"*/{lab}")
                      if p.is_dir())
    done = [s for s in students
            if Path(coursedir.format_path(coursedir.autograded_directory, s, lab)).exists()]
    skipped = [] if force else done
    todo = [s for s in students if s not in skipped]
    if not todo:
        log(f"nothing to grade for {lab} ({len(skipped)} already autograded; --force)")
        return {"graded": [], "skipped": skipped, "failed": [], "scores": {}, "seconds": 0.0,
                "logs": []}
    parts = chunks(todo, chunk_count or 2 * workers)
    threads = max(1, (os.cpu_count() or 1) // workers) if workers > 1 else None
    start, failed, logs = time.perf_counter(), [], []
    with tempfile.TemporaryDirectory(prefix="grade_class-") as tmp, \
            ThreadPoolExecutor(max_workers=workers) as pool:
        jobs = {}
        for index, part in enumerate(parts):
            scratch = Path(tmp) / f"chunk{index}"
            jobs[pool.submit(_grade_chunk, course, coursedir, lab, part, scratch, db,
                             list(nbgrader_args or []), threads)] = (part, scratch)
        for job in as_completed(jobs):
            part, scratch = jobs[job]
            code, text = job.result()
            logs.append(f"### nbgrader autograde {lab}: {', '.join(part)} (exit {code})\n{text}")
            errors = set(FAILED.findall(text))
            missing = merge(f"sqlite:///{scratch / 'gradebook.db'}", coursedir.db_url, lab, part)
            for student in part:
                target = Path(coursedir.format_path(coursedir.autograded_directory, student, lab))
                graded = scratch / target.relative_to(course)
                if target.exists():
                    shutil.rmtree(target)
                if graded.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.move(str(graded), str(target))
                if student in errors or student in missing or not target.exists():
                    failed.append(student)
            if code != 0 and not errors:
                log(f"nbgrader exited with {code} for {', '.join(part)}:\n{text[-2000:]}")
            log(f"graded {len(part)} ({', '.join(part)}) in "
                f"{time.perf_counter() - start:.0f} s")
    seconds = time.perf_counter() - start
    scores = {}
    with Gradebook(coursedir.db_url) as gradebook:
        for student in todo:
            try:
                submission = gradebook.find_submission(lab, student)
            except MissingEntry:
                continue
            scores[student] = (submission.score, submission.max_score)
    return {"graded": todo, "skipped": skipped, "failed": sorted(failed), "scores": scores,
            "seconds": seconds, "logs": logs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("lab", help="assignment name, e.g. lab01_linear_regression")
    parser.add_argument("--course", type=Path, default=Path("."),
                        help="course root (the folder of nbgrader_config.py)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--nbgrader-arg", action="append", default=[], metavar="--C.t=V",
                        help="an option for every nbgrader run (repeatable)")
    parser.add_argument("--log", type=Path, help="write nbgrader's output to this file")
    parser.add_argument("--force", action="store_true", help="regrade autograded students")
    parser.add_argument("--chunks", type=int, help="scratch courses (default 2 per worker)")
    args = parser.parse_args(argv)
    result = grade_class(args.lab, args.course, args.workers, args.force, args.chunks,
                         args.nbgrader_arg)
    if args.log:
        args.log.write_text("\n".join(result["logs"]))
    for student, (score, max_score) in sorted(result["scores"].items()):
        mark = "  (grading failed: see nbgrader's log)" if student in result["failed"] else ""
        print(f"{student:24} {score:6.1f} / {max_score:g}{mark}")
    count = len(result["graded"])
    if count:
        rate = 60 * count / result["seconds"]
        print(f"{count} submissions in {result['seconds']:.0f} s with {args.workers} "
              f"worker(s): {rate:.1f} per minute; skipped {len(result['skipped'])} already "
              f"autograded; failed {len(result['failed'])}")
    return 1 if result["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
