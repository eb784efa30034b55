"""File downloaded notebooks (Colab, an LMS export, e-mail) as nbgrader submissions, repaired.

    python -m tools.collect downloads.zip --course . --students students.csv
    python -m tools.collect downloads/ --course .        # naming rule instead of a roster

Every ``*.ipynb`` in the folder or zip (sub-folders included) becomes
``submitted/<student>/<lab>/<lab>.ipynb`` with a ``timestamp.txt`` (the file's modification
time, or the zip entry's time read as UTC), under the course's ``nbgrader_config.py`` paths.

Which lab: the lab's name or number in the file name, else in a folder name ("Copy of
lab01_linear_regression.ipynb", "lab01_linear_regression (1).ipynb", "jdoe_lab01.ipynb",
"lab 1 - Jane Doe.ipynb", "lab01/jdoe.ipynb"), else the release whose cells it contains.
Which student: what is left of the file name once the lab, "Copy of" and " (1)" are removed,
else the innermost folder name. With ``--students`` (a CSV with a column ``id`` or
``student_id`` and optional ``email``, ``name``, ``first_name``, ``last_name``) that text, or
one or two adjacent words of it, must be a student's id, e-mail, e-mail user name or full name
(either order; case, spaces and punctuation ignored). Without a roster it becomes the id
itself: lower case, other characters replaced by "_" ("Jane Doe" -> ``jane_doe``). If a student
handed in a lab twice, the newer file is filed and the other reported as superseded.

Repairs (:func:`repair`): the released notebook is the skeleton. Each cell of the submission is
matched to a release cell by its nbgrader grade id or cell id, then by content (locked cells
and markdown equal or nearly equal; a solution cell that defines the release cell's
functions), then by position (an unmatched code cell between the neighbours of a solution
cell). Solution cells take the student's source; test, locked and markdown cells are the
release's, so stripped metadata, changed ids, reordered, edited or deleted test cells are all
undone; cells the student added are kept after the cell they followed. Every repair is listed
per file in ``collect_report.json`` and ``collect_report.csv`` (``--report`` sets the stem). A
file that cannot be read or placed is reported there and never stops the batch.
"""

from __future__ import annotations

import argparse
import ast
import copy
import csv
import difflib
import json
import re
import sys
import zipfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import nbformat

__all__ = ["course_directory", "load_release", "repair", "Roster", "identify", "collect", "main"]

COPY_OF = re.compile(r"^(copy of\s+)+", re.I)
DUPLICATE = re.compile(r"(\s*[\(\[]\d+[\)\]])+$|-checkpoint$")
LAB_NUMBER = re.compile(r"lab[\s_\-.]*0*(\d{1,2})(?!\d)", re.I)
MOODLE = re.compile(r"_\d+_assignsubmission_\w*$", re.I)
SEPARATORS = " _-.,()[]"


def course_directory(course: Path):
    """nbgrader's ``CourseDirectory`` configured by ``course/nbgrader_config.py``."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    course = Path(course).resolve()
    if not (course / "nbgrader_config.py").exists():
        raise ValueError(f"--course must be a folder with nbgrader_config.py; got {course}")
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(course)
    return coursedir


def load_release(coursedir, lab: str):
    """The released notebook of ``lab`` (nbformat v4), e.g. ``labs/<lab>/<lab>.ipynb``."""
    path = Path(coursedir.format_path(coursedir.release_directory, ".", lab)) / f"{lab}.ipynb"
    if not path.exists():
        raise ValueError(f"no release of {lab}: expected {path} (run `python -m tools.labs`)")
    return nbformat.read(path, as_version=4)


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _norm(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _defines(source: str) -> frozenset[str]:
    """Top-level functions, classes and assigned names of a code cell."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return frozenset(re.findall(r"^(?:def|class)\s+(\w+)", source, re.M))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return frozenset(names)


def _match(cells: list, release: list) -> tuple[dict[int, int], dict[int, str]]:
    """Student cell index -> release cell index, and how each release cell was found."""
    match, how = {}, {}
    by_id = {}
    for r, cell in enumerate(release):
        by_id.setdefault(_meta(cell).get("grade_id"), r)
        by_id.setdefault(cell.get("id"), r)
    by_id.pop(None, None)

    def take(s: int, r: int, method: str) -> None:
        match[s], how[r] = r, method

    for s, cell in enumerate(cells):  # 1. grade id, then cell id
        for key, method in ((_meta(cell).get("grade_id"), "grade id"), (cell.get("id"), "cell id")):
            r = by_id.get(key)
            if r is not None and r not in how and s not in match:
                take(s, r, method)
    fixed = [r for r, c in enumerate(release) if _meta(c).get("locked") or not _meta(c)]
    for exact in (True, False):  # 2. content of locked and markdown cells: equal, else closest
        for s, cell in enumerate(cells):
            if s in match or not cell.source.strip():
                continue
            a = _norm(cell.source)
            score = {r: 1.0 if a == _norm(release[r].source) else 0.0 if exact else
                     difflib.SequenceMatcher(None, a, _norm(release[r].source)).ratio()
                     for r in fixed if r not in how and release[r].cell_type == cell.cell_type}
            best = max(score, key=score.get, default=None)
            if best is not None and score[best] >= (1.0 if exact else 0.8):
                take(s, best, "content" if exact else "similar content")
    for r, rcell in enumerate(release):  # 2b. solution cells: the functions they define
        names = _defines(rcell.source) if _meta(rcell).get("solution") else frozenset()
        if not names or r in how:
            continue
        for s, cell in enumerate(cells):
            if s not in match and cell.cell_type == "code" and names <= _defines(cell.source):
                take(s, r, "defines " + ", ".join(sorted(names)))
                break
    where = {r: s for s, r in match.items()}
    for r, rcell in enumerate(release):  # 3. position between the matched neighbours
        if r in how or not _meta(rcell).get("solution"):
            continue
        before = [where[q] for q in range(r) if q in where]
        after = [where[q] for q in range(r + 1, len(release)) if q in where]
        low, high = (before[-1] if before else -1), (after[0] if after else len(cells))
        free = [s for s in range(low + 1, high)
                if s not in match and cells[s].cell_type == "code" and cells[s].source.strip()]
        if free:
            take(free[0], r, "position")
            where[r] = free[0]
    return match, how


def repair(submission, release) -> tuple[nbformat.NotebookNode, list[str]]:
    """The release with the student's solution cells filled in, and the repairs made.

    ``submission`` and ``release`` are nbformat v4 notebooks. An intact submission comes
    back unchanged (outputs cleared) with no repairs.
    """
    cells, rcells = submission.cells, release.cells
    match, how = _match(cells, rcells)
    where = {r: s for s, r in match.items()}
    repairs: list[str] = []
    out = copy.deepcopy(release)
    out.cells = []
    added: dict[int, list] = {}
    anchor = -1
    for s, cell in enumerate(cells):  # cells the student added follow the cell they followed
        if s in match:
            anchor = match[s]
            continue
        if not cell.source.strip():
            continue
        if any(_norm(cell.source) == _norm(c.source) for c in rcells if _meta(c).get("locked")):
            repairs.append(f"dropped a copy of a locked cell (cell {s + 1})")
            continue
        extra = nbformat.v4.new_code_cell(cell.source) if cell.cell_type == "code" else (
            nbformat.v4.new_markdown_cell(cell.source))
        extra.id = f"added-{s + 1}"
        added.setdefault(anchor, []).append(extra)
    if added:
        repairs.append(f"kept {sum(map(len, added.values()))} cell(s) the student added")
    stripped, ids, edited, restored, fuzzy = [], [], [], [], []
    for r, rcell in enumerate(rcells):
        new = copy.deepcopy(rcell)
        meta = _meta(rcell)
        if r in where:
            old = cells[where[r]]
            if meta and _meta(old) != meta:
                stripped.append(meta["grade_id"])
            if old.get("id") != rcell.get("id") and (meta or how[r] != "content"):
                ids.append(meta.get("grade_id", rcell.get("id")))
            if meta.get("solution"):
                new.source = old.source
                if how[r] not in ("grade id", "cell id"):
                    fuzzy.append(f"{meta['grade_id']} ({how[r]})")
            elif meta.get("locked") and _norm(old.source) != _norm(rcell.source):
                edited.append(meta["grade_id"])
        elif meta.get("solution"):
            repairs.append(f"solution cell {meta['grade_id']} not found: graded as unanswered")
        elif meta:
            restored.append(meta["grade_id"])
        out.cells.append(new)
        out.cells.extend(added.get(r, []))
    out.cells[:0] = added.get(-1, [])
    order = [where[r] for r in sorted(where)]
    for label, names in (("nbgrader metadata restored", stripped), ("cell ids restored", ids),
                         ("solution cells matched by content or position", fuzzy),
                         ("edited locked cells restored", edited),
                         ("deleted cells restored", restored)):
        if names:
            repairs.append(f"{label}: {', '.join(names)}")
    if order != sorted(order):
        repairs.append("cells reordered: the release order restored")
    for cell in out.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return out, repairs


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


class Roster:
    """Students of a CSV (column ``id`` or ``student_id``; optional ``email``, ``name``,
    ``first_name``, ``last_name``), looked up by any of those, or a naming rule without one.

    >>> roster = Roster([{"id": "s1", "first_name": "Jane", "last_name": "Doe"}])
    >>> roster.find("Doe, Jane"), roster.find("doejane_1234_99"), roster.find("bob")
    ('s1', 's1', None)
    >>> Roster().find("Jane Doe")
    'jane_doe'
    """

    def __init__(self, rows: list[dict] | None = None) -> None:
        self.rows = rows
        self.keys: dict[str, set[str]] = {}
        for row in rows or []:
            row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
            sid = row.get("id") or row.get("student_id")
            if not sid:
                raise ValueError(f"every roster row needs an 'id' or 'student_id'; got {row}")
            email = row.get("email", "")
            first, last = row.get("first_name", ""), row.get("last_name", "")
            for text in (sid, email, email.split("@")[0], row.get("name", ""),
                         first + last, last + first):
                if _key(text):
                    self.keys.setdefault(_key(text), set()).add(sid)

    @classmethod
    def from_csv(cls, path: Path) -> Roster:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return cls(list(csv.DictReader(handle)))

    def find(self, text: str) -> str | None:
        """The student named by ``text``; ``None`` if nobody (or several) match."""
        text = MOODLE.sub("", text).strip(SEPARATORS)
        if self.rows is None:
            text = text.split("@")[0]
            sid = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
            return sid or None
        words = [w for w in re.split(r"[\s_\-.,()\[\]]+", text) if w]
        candidates = [text] + words + [a + b for a, b in zip(words, words[1:], strict=False)]
        found = set().union(*(self.keys.get(_key(c), set()) for c in candidates if _key(c)))
        return found.pop() if len(found) == 1 else None


def _strip_lab(text: str, labs: list[str]) -> tuple[str | None, str]:
    """The lab named in ``text`` and what is left of it."""
    text = DUPLICATE.sub("", COPY_OF.sub("", text.strip())).strip()
    for lab in sorted(labs, key=len, reverse=True):
        at = text.lower().find(lab.lower())
        if at >= 0:
            return lab, DUPLICATE.sub("", (text[:at] + " " + text[at + len(lab):]).strip())
    number = LAB_NUMBER.search(text)
    if number:
        found = [lab for lab in labs if lab.startswith(f"lab{int(number[1]):02d}_")]
        if len(found) == 1:
            rest = text[:number.start()] + " " + text[number.end():]
            return found[0], DUPLICATE.sub("", rest.strip(SEPARATORS))
    return None, text


def _lab_by_content(notebook, releases: dict) -> str | None:
    """The lab whose release shares the most grade ids or locked cells with ``notebook``."""
    def signature(cells) -> set[str]:
        keys = {_meta(c).get("grade_id") for c in cells} | {c.get("id") for c in cells}
        keys |= {_norm(c.source) for c in cells if len(c.source) > 40}
        return keys - {None, ""}
    mine = signature(notebook.cells)
    scores = {lab: len(mine & signature(nb.cells)) for lab, nb in releases.items()}
    best = max(scores.values(), default=0)
    winners = [lab for lab, score in scores.items() if score == best]
    return winners[0] if best > 2 and len(winners) == 1 else None


def identify(relpath: Path, notebook, releases: dict, roster: Roster) -> tuple[str, str]:
    """``(lab, student)`` of a hand-in at ``relpath`` (relative to the batch); ValueError."""
    lab, rest = _strip_lab(relpath.stem, list(releases))
    folders = [p.name for p in relpath.parents if p.name]
    for folder in folders:
        if lab is None:
            lab, folder_rest = _strip_lab(folder, list(releases))
            if lab is not None and not rest.strip(SEPARATORS):
                rest = folder_rest
    named = [m[0] for t in [relpath.stem, *folders] if lab is None
             for m in [LAB_NUMBER.search(COPY_OF.sub("", t))] if m]
    if named:
        raise ValueError(f"unknown lab: {named[0]!r} names no lab of {sorted(releases)}")
    lab = lab or (_lab_by_content(notebook, releases) if notebook is not None else None)
    if lab is None:
        raise ValueError(f"unknown lab: no lab of {sorted(releases)} in the name or content")
    texts = [t.strip(SEPARATORS) for t in [rest] + [_strip_lab(f, list(releases))[1]
                                                    for f in folders]]
    texts = [t for t in texts if t]
    for text in texts:
        student = roster.find(text)
        if student:
            return lab, student
    if texts:
        raise ValueError(f"unknown student: {' or '.join(map(repr, texts))} not in the roster")
    raise ValueError("unknown student: neither the file name nor its folders name one")


@dataclass
class Row:
    """What happened to one file of the batch."""

    source: str
    status: str = "error"  # filed | exists | superseded | error | skipped
    lab: str = ""
    student: str = ""
    destination: str = ""
    timestamp: str = ""
    repairs: list[str] = field(default_factory=list)
    message: str = ""


def _hand_ins(batch: Path):
    """``(relative path, bytes, modification time)`` of every file in a folder or zip."""
    skip = ("__MACOSX", ".ipynb_checkpoints")
    if batch.is_file() and zipfile.is_zipfile(batch):
        with zipfile.ZipFile(batch) as archive:
            for info in archive.infolist():
                path = Path(info.filename)
                if info.is_dir() or any(p in skip or p.startswith(".") for p in path.parts):
                    continue
                when = datetime(*info.date_time, tzinfo=timezone.utc)
                yield path, archive.read(info), when
    elif batch.is_dir():
        for path in sorted(p for p in batch.rglob("*") if p.is_file()):
            relative = path.relative_to(batch)
            if any(p in skip or p.startswith(".") for p in relative.parts):
                continue
            when = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
            yield relative, path.read_bytes(), when
    else:
        raise ValueError(f"expected a folder or a .zip of notebooks; got {batch}")


def _read(data: bytes):
    if not data.strip():
        raise ValueError("empty file")
    try:
        raw = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"not valid JSON ({error})") from None
    if not isinstance(raw, dict) or "cells" not in raw and "worksheets" not in raw:
        raise ValueError("not a notebook (JSON without cells)")
    try:
        return nbformat.reads(json.dumps(raw), as_version=4)
    except Exception as error:  # nbformat raises many kinds on malformed notebooks
        raise ValueError(f"not a readable notebook ({type(error).__name__}: {error})") from None


def collect(batch: Path, course: Path, roster: Roster | None = None,
            overwrite: bool = False) -> list[Row]:
    """File every notebook of ``batch`` (folder or zip) into ``course``; one Row per file."""
    coursedir = course_directory(course)
    roster = roster or Roster()
    release_root = Path(coursedir.format_path(coursedir.release_directory, ".", "."))
    releases = {}
    for folder in sorted(p for p in release_root.iterdir() if p.is_dir()):
        if (folder / f"{folder.name}.ipynb").exists():
            releases[folder.name] = load_release(coursedir, folder.name)
    rows, chosen = [], {}
    for relpath, data, when in _hand_ins(Path(batch)):
        row = Row(str(relpath), timestamp=when.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
        rows.append(row)
        if relpath.suffix.lower() != ".ipynb":
            row.status, row.message = "skipped", "not a .ipynb file"
            continue
        try:
            notebook = _read(data)
            row.lab, row.student = identify(relpath, notebook, releases, roster)
            notebook, row.repairs = repair(notebook, releases[row.lab])
        except ValueError as error:
            row.message = str(error)
            continue
        row.status = "filed"
        key = (row.student, row.lab)
        previous = chosen.get(key)
        if previous is not None:
            older, newer = sorted([previous, (row, notebook)], key=lambda p: p[0].timestamp)
            older[0].status, older[0].message = "superseded", f"newer file: {newer[0].source}"
            chosen[key] = newer
        else:
            chosen[key] = (row, notebook)
    for (student, lab), (row, notebook) in chosen.items():
        folder = Path(coursedir.format_path(coursedir.submitted_directory, student, lab))
        row.destination = str(folder / f"{lab}.ipynb")
        if folder.exists() and not overwrite:
            row.status, row.message = "exists", "a submission is already filed (--overwrite)"
            continue
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, folder / f"{lab}.ipynb")
        (folder / "timestamp.txt").write_text(row.timestamp)
    return rows


def write_report(rows: list[Row], stem: Path) -> tuple[Path, Path]:
    """``stem``.json (every field) and ``stem``.csv (repairs joined by "; ")."""
    stem = Path(stem)
    json_path, csv_path = stem.with_suffix(".json"), stem.with_suffix(".csv")
    json_path.write_text(json.dumps([asdict(r) for r in rows], indent=1))
    with open(csv_path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(asdict(Row("")).keys()))
        writer.writeheader()
        for row in rows:
            writer.writerow({**asdict(row), "repairs": "; ".join(row.repairs)})
    return json_path, csv_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("batch", type=Path, help="folder or .zip of downloaded notebooks")
    parser.add_argument("--course", type=Path, default=Path("."),
                        help="course root (the folder of nbgrader_config.py)")
    parser.add_argument("--students", type=Path, help="roster CSV (id, email, name, ...)")
    parser.add_argument("--overwrite", action="store_true", help="replace filed submissions")
    parser.add_argument("--report", type=Path, help="report path stem "
                        "(default: <course>/collect_report)")
    args = parser.parse_args(argv)
    roster = Roster.from_csv(args.students) if args.students else Roster()
    rows = collect(args.batch, args.course, roster, overwrite=args.overwrite)
    paths = write_report(rows, args.report or args.course / "collect_report")
    for row in rows:
        where = f"{row.student}/{row.lab}" if row.student else ""
        print(f"{row.status:10} {row.source} {where} {row.message}".rstrip())
        for text in row.repairs:
            print(f"{'':10} repaired: {text}")
    counts = {s: sum(r.status == s for r in rows) for s in dict.fromkeys(r.status for r in rows)}
    print(", ".join(f"{n} {s}" for s, n in counts.items()), "- report:", *map(str, paths))
    return 1 if counts.get("error") else 0


if __name__ == "__main__":
    sys.exit(main())
