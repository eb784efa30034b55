"""Every notebook in lectures/ and solutions/ is built from its source, carries no outputs,
starts with the standard setup cell, and executes top to bottom with the network cut off."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import nbformat
import pytest

from tools import nbbuild

ROOT = nbbuild.ROOT
NOTEBOOKS = sorted(ROOT.glob("lectures/*.ipynb")) + sorted(ROOT.glob("solutions/*/*.ipynb"))
IDS = [str(p.relative_to(ROOT)) for p in NOTEBOOKS]

# Run before the notebook's own cells: any connection that leaves this machine fails at once,
# so a notebook that silently needs the internet fails here.
NO_NETWORK = """
import socket as _socket
_LOCAL = ("127.0.0.1", "localhost", "::1", "0.0.0.0")
_connect, _getaddrinfo = _socket.socket.connect, _socket.getaddrinfo
def _guarded_connect(self, address, *args):
    if isinstance(address, tuple) and address[0] not in _LOCAL:
        raise OSError(f"network disabled while testing notebooks: {address}")
    return _connect(self, address, *args)
def _guarded_getaddrinfo(host, *args, **kwargs):
    if host not in _LOCAL and host is not None:
        raise OSError(f"network disabled while testing notebooks: {host}")
    return _getaddrinfo(host, *args, **kwargs)
_socket.socket.connect = _guarded_connect
_socket.getaddrinfo = _guarded_getaddrinfo
"""


def test_notebooks_are_built_from_their_sources():
    stale = nbbuild.build_all(check=True)
    assert not stale, f"rebuild with `python -m tools.nbbuild`: {[str(p) for p in stale]}"


def test_every_source_has_a_notebook_and_the_reverse():
    built = {nbbuild.target_path(s) for s in nbbuild.SOURCES.glob("*/*.py")}
    assert set(NOTEBOOKS) == built


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_clean_and_starts_with_setup(path: Path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "commit without outputs"
    first_code = next(c for c in notebook.cells if c.cell_type == "code")
    assert first_code.source == nbbuild.SETUP_CODE
    assert notebook.cells[0].cell_type == "markdown" and notebook.cells[0].source.startswith("# ")


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_executes_offline(path: Path, tmp_path):
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(NO_NETWORK))
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    os.environ.setdefault("MPLBACKEND", "Agg")
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    print(f"{path.relative_to(ROOT)} executed in {seconds:.1f} s")
    (tmp_path / "executed.ipynb").write_text(json.dumps(notebook))
