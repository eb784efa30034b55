"""The repository itself: install metadata agrees, the package is light, code is ruff clean."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
CONDA_NAMES = {"torch": "pytorch"}


def _requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["instructor"]
    pairs = (re.match(r"([A-Za-z0-9_.-]+)(.*)", r).groups() for r in reqs)
    return {CONDA_NAMES.get(name, name): spec for name, spec in pairs}


def _environment() -> dict[str, str]:
    specs = {}
    text = (ROOT / "environment.yml").read_text().split("dependencies:", 1)[1]
    for line in text.splitlines():
        match = re.match(r"\s+- ([A-Za-z0-9_.-]+)([<>=!,.0-9]*)\s*$", line)
        if match and match[1] not in ("python", "pip"):
            specs[match[1]] = match[2]
    return specs


def test_environment_yml_matches_pyproject():
    assert _environment() == _requirements()


def test_no_exact_pins_for_users():
    assert not [spec for spec in _requirements().values() if "==" in spec]


def test_ci_pins_torch_from_this_machine():
    pins = (ROOT / ".ci" / "constraints.txt").read_text()
    assert "torch==2.14.1" in pins and "torchvision==0.29.1" in pins


def test_import_course_does_not_import_torch_or_matplotlib():
    code = "import sys, course; print(sorted({'torch', 'matplotlib'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_setup_prints_one_line_and_returns_the_device(capsys):
    import course

    device = course.setup(seed=1)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and "torch" in lines[0] and str(device) in lines[0]


def test_ruff_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "course", "tests", "tools", "benchmarks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout


def test_gitignore_keeps_student_work_and_gradebook_out():
    ignored = (ROOT / ".gitignore").read_text().split()
    ours = ("submitted/", "autograded/", "feedback/", "gradebook.db", "grades.csv", "artifacts/")
    for entry in ours:
        assert entry in ignored


def test_readme_lists_every_lecture_and_lab_with_a_working_colab_link():
    from tools.nbbuild import COURSE_URL

    readme = (ROOT / "README.md").read_text()
    repo = COURSE_URL.removeprefix("git+https://github.com/")
    notebooks = sorted(ROOT.glob("lectures/*.ipynb")) + sorted(ROOT.glob("labs/*/*.ipynb"))
    assert notebooks
    for path in notebooks:
        rel = path.relative_to(ROOT).as_posix()
        link = f"https://colab.research.google.com/github/{repo}/blob/main/{rel}"
        assert link in readme, f"README.md should list {rel} with its Colab link {link}"
    pattern = r"colab\.research\.google\.com/github/[^/]+/[^/]+/blob/main/([^)\s]+)"
    linked = re.findall(pattern, readme)
    missing = [rel for rel in linked if not (ROOT / rel).exists()]
    assert not missing, f"README.md links to notebooks that do not exist: {missing}"
