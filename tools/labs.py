"""Release the labs: regenerate ``labs/`` from ``solutions/`` with nbgrader.

    python -m tools.labs                 # every lab in solutions/
    python -m tools.labs lab01_linear_regression

It rebuilds the solution notebooks from ``notebook_sources/`` first, then runs
``nbgrader generate_assignment --force`` for each lab with a throw-away gradebook, so the
release is reproducible and no ``gradebook.db`` is left behind. Instructors who keep a
gradebook run ``nbgrader generate_assignment <lab>`` themselves (see the README).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tools import nbbuild

__all__ = ["lab_names", "nbgrader", "release", "main"]

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


def main(argv: list[str] | None = None) -> int:
    labs = (argv if argv is not None else sys.argv[1:]) or None
    nbbuild.build_all()
    for lab in labs or lab_names():
        print(f"released: {release(lab).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
