"""Run the widget tests under Colab's widget stack: ipywidgets 7.7.1, widgetsnbextension 3.6.10.

Colab pins these old versions, while the project venv has ipywidgets 8. This script makes a
second venv on top of the project venv (everything else, torch included, is shared, nothing
is reinstalled), installs the two old packages into it and runs the Python-level widget tests
there::

    .venv/bin/python -m tools.colab_widgets                 # venv in /tmp/colab-venv
    .venv/bin/python -m tools.colab_widgets /tmp/other -x   # another place; extra pytest args

It exits with pytest's exit code. The same module is loaded into that pytest run as a plugin
(``-p tools.colab_widgets``): it stops the run if ipywidgets is not 7.7.1 and prints the
version and the file it was imported from under the test results.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

__all__ = ["main", "IPYWIDGETS", "WIDGETSNBEXTENSION", "TESTS"]

IPYWIDGETS = "7.7.1"
WIDGETSNBEXTENSION = "3.6.10"
TESTS = ["tests/test_widget_gradient_descent.py", "tests/test_widget_gradient_descent_view.py",
         "tests/test_widget_convolution.py"]
REPO = Path(__file__).resolve().parents[1]
DEFAULT_VENV = Path("/tmp/colab-venv")


def _run(command: list, **kwargs) -> subprocess.CompletedProcess:
    print("+", " ".join(str(part) for part in command), flush=True)
    return subprocess.run([str(part) for part in command], check=True, **kwargs)


def make_venv(venv: Path, project_python: str = sys.executable) -> Path:
    """Create ``venv`` (once) so that it sees the project venv's packages, and install the
    Colab widget versions into it; return its python.

    ``--system-site-packages`` alone would expose the base interpreter's packages, not the
    project venv's (a venv made from a venv points at the base Python), so a .pth file adds
    the project's site-packages, with their own .pth files (the editable install of course/),
    after the new venv's own: its ipywidgets 7.7.1 shadows the project's 8.x.
    """
    python = venv / "bin" / "python"
    if not python.exists():
        _run([project_python, "-m", "venv", "--system-site-packages", venv])
    query = (
        "import site, sys; print(sys.version_info[:2]); print(*site.getsitepackages(), sep='\\n')"
    )
    ours, *_ = subprocess.run(
        [python, "-c", query], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    theirs, *project_sites = subprocess.run(
        [project_python, "-c", query], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    if ours != theirs:
        raise SystemExit(f"{venv} was made with Python {ours}, the project uses {theirs}")
    own_site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    lines = [f"import site; site.addsitedir({site!r})" for site in project_sites]
    (own_site / "zz_project_venv.pth").write_text("\n".join(lines) + "\n")
    _run(
        [
            python,
            "-m",
            "pip",
            "install",
            "-q",
            f"ipywidgets=={IPYWIDGETS}",
            f"widgetsnbextension=={WIDGETSNBEXTENSION}",
        ]
    )
    return python


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    venv = Path(argv.pop(0)) if argv and not argv[0].startswith("-") else DEFAULT_VENV
    missing = [test for test in TESTS if not (REPO / test).exists()]
    if missing:
        print(f"missing test files: {', '.join(missing)}", file=sys.stderr)
        return 2
    python = make_venv(venv)
    _run(
        [python, "-c", "import ipywidgets; print('ipywidgets', ipywidgets.__version__)"],
        cwd=REPO,
    )
    command = [python, "-m", "pytest", "-p", "tools.colab_widgets", *TESTS, "-q", *argv]
    print("+", " ".join(str(part) for part in command), flush=True)
    return subprocess.run([str(part) for part in command], cwd=REPO).returncode


# --- pytest plugin (loaded inside the Colab venv with -p tools.colab_widgets) --------------


def pytest_configure(config) -> None:
    import ipywidgets
    import pytest

    # ipywidgets 7 creates comms through ipykernel.comm, which ipykernel 7 deprecates (Colab's
    # older ipykernel does not): one warning per widget, thousands per run, none of them ours.
    config.addinivalue_line(
        "filterwarnings", "ignore:The `ipykernel.comm.Comm` class has been deprecated"
    )
    if ipywidgets.__version__ != IPYWIDGETS:
        raise pytest.UsageError(
            f"this run must use ipywidgets {IPYWIDGETS} (Colab's); it imported "
            f"{ipywidgets.__version__} from {ipywidgets.__file__}"
        )


def pytest_report_header(config) -> str:
    import ipywidgets

    return f"ipywidgets {ipywidgets.__version__} ({ipywidgets.__file__})"


def pytest_terminal_summary(terminalreporter) -> None:
    import ipywidgets

    terminalreporter.write_line(
        f"widget tests ran with ipywidgets {ipywidgets.__version__} from {ipywidgets.__file__}"
    )


if __name__ == "__main__":
    sys.exit(main())
