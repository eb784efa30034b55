"""Execute a notebook top to bottom the way the tests do: a fresh kernel, the notebook's own
folder as working directory, and the network cut off (only loopback connections work), so a
notebook that silently needs the internet fails."""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["NO_NETWORK", "execute"]

# Runs before the notebook's own cells.
NO_NETWORK = """\
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


def execute(path: Path, offline: bool = True, timeout: int = 600):
    """Execute the notebook at ``path`` (outputs are discarded); return the seconds it took.

    Raises ``nbclient.exceptions.CellExecutionError`` naming the failing cell.
    """
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    if offline:
        notebook.cells.insert(0, nbformat.v4.new_code_cell(NO_NETWORK))
    os.environ.setdefault("MPLBACKEND", "Agg")
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(Path(path).parent)}},
    )
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start
