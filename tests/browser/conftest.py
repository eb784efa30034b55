"""Fixtures for the browser tests: a throw-away JupyterLab server and headless Chromium.

The server runs on 127.0.0.1 with a random free port and a random token, in a temporary root
directory that holds the demo notebooks (generated here, so that no notebook JSON is committed),
the user settings and the workspaces. It is stopped by its process id at teardown, also when a
test fails. Chromium is Debian's (``/usr/bin/chromium``): playwright cannot download browsers
here, so ``playwright install`` is never run.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts" / "browser"
VIEWPORT = {"width": 1280, "height": 800}  # a student's laptop screen
SERVER_TIMEOUT = 60  # seconds for JupyterLab to answer /api/status
KERNEL_TIMEOUT = 90_000  # milliseconds for a kernel to start and to run all cells
IMAGE_TIMEOUT = 30_000  # milliseconds for a widget image to be redrawn after a change

# Each demo notebook is one code cell, as a lecture would show it, plus CSS classes on the
# controls the test drives, so that it can find them without depending on label text.
SMOKE_CELL = '''\
import io

import ipywidgets as W
import numpy as np
from matplotlib.image import imsave


def stripes(n):
    """A PNG 8·n pixels wide: its width tells the test which value the kernel received."""
    buffer = io.BytesIO()
    imsave(buffer, np.tile(np.arange(8 * n) // 4 % 2, (16, 1)), cmap="gray", format="png")
    return buffer.getvalue()


slider = W.IntSlider(value=3, min=1, max=10, description="n")
image = W.Image(value=stripes(3), format="png", layout=W.Layout(align_self="flex-start"))
readout = W.HTML("n = 3")


def redraw(change):
    image.value = stripes(change["new"])
    readout.value = f"n = {change['new']}"


slider.observe(redraw, names="value")
for name, control in {"slider": slider, "image": image, "readout": readout}.items():
    control.add_class(f"test-{name}")
W.VBox([slider, image, readout])
'''

EXPLORER_CELL = """\
from course.widgets import {factory}

explorer = {factory}()
explorer.add_class("test-explorer")
for name in {controls!r}:
    getattr(explorer, name).add_class("test-" + name)
explorer
"""
# demo notebook name -> (factory, the attributes the test drives or reads)
EXPLORERS = {
    "gradient_descent": (
        "gradient_descent_explorer",
        ("image", "lr", "function", "step", "step_button", "x0", "y0", "readout", "regime"),
    ),
    "convolution": (
        "convolution_explorer",
        (
            "image",
            "position",
            "stride",
            "padding_mode",
            "padding",
            "kernel_preset",
            "random_kernel",
            "formula",
            "products",
        ),
    ),
}

# JavaScript run in the page. `jupyterapp` exists because the server runs with
# --expose-app-in-browser.
JS_NOTEBOOK_READY = """(path) => {
    const app = window.jupyterapp;
    const panel = app && app.shell.currentWidget;
    if (!panel || !panel.context || panel.context.path !== path || !panel.sessionContext) {
        return false;
    }
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle'
        && panel.content.widgets.length > 0;
}"""
JS_ALL_CELLS_RUN = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const kernel = panel.sessionContext.session.kernel;
    const code = panel.content.widgets.filter((cell) => cell.model.type === 'code');
    return kernel.status === 'idle' && code.every((cell) => cell.model.executionCount !== null);
}"""
JS_CELL_ERRORS = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    return panel.content.widgets
        .filter((cell) => cell.model.type === 'code')
        .flatMap((cell) => cell.model.outputs.toJSON())
        .filter((output) => output.output_type === 'error')
        .map((output) => output.ename + ': ' + output.evalue);
}"""
JS_KERNEL_IDLE = """() => {
    const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    return kernel.status === 'idle';
}"""
JS_IMAGE_LOADED = """([selector, oldSrc]) => {
    const img = document.querySelector(selector);
    return !!img && /^(blob|data):/.test(img.src) && img.src !== oldSrc
        && img.complete && img.naturalWidth > 0;
}"""
JS_IMAGE_STATE = """async (img) => {
    const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
    let binary = '';
    for (let i = 0; i < bytes.length; i += 8192) {
        binary += String.fromCharCode(...bytes.subarray(i, i + 8192));
    }
    const box = img.getBoundingClientRect();
    return {src: img.src, png: btoa(binary), naturalWidth: img.naturalWidth,
            naturalHeight: img.naturalHeight, width: box.width, height: box.height};
}"""


JS_RUN_IN_KERNEL = """async (code) => {
    const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    const future = kernel.requestExecute({code, store_history: false});
    let out = '';
    future.onIOPub = (msg) => {
        if (msg.header.msg_type === 'stream') out += msg.content.text;
        if (msg.header.msg_type === 'error') out += msg.content.ename + ': ' + msg.content.evalue;
    };
    await future.done;
    return out;
}"""
JS_LAYOUT = """([widget, image]) => {
    const el = document.querySelector(widget);
    const img = document.querySelector(image);
    const area = el.closest('.jp-OutputArea-output') || el.parentElement;
    const overflowing = [...el.querySelectorAll('.jupyter-widgets')].filter((child) => {
        const box = child.getBoundingClientRect();
        return box.width > 0 && box.right > area.getBoundingClientRect().right + 1;
    }).map((child) => child.className.split(' ').filter((c) => c.startsWith('widget-'))[0]);
    return {
        outputAreaWidth: area.clientWidth,
        widgetScrollWidth: el.scrollWidth,
        widgetClientWidth: el.clientWidth,
        widgetsPastRightEdge: overflowing.length,
        kindsPastRightEdge: [...new Set(overflowing)],
        imageNatural: [img.naturalWidth, img.naturalHeight],
        imageShown: [img.clientWidth, img.clientHeight],
        imageScale: img.clientWidth / img.naturalWidth,
    };
}"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_notebook(path: Path, source: str) -> None:
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    notebook.cells = [nbformat.v4.new_code_cell(source)]
    nbformat.write(notebook, path)


def _write_settings(root: Path) -> None:
    """Settings that keep pop-ups out of the screenshots (and the lab off the network), and
    switch off nbgrader, which a student's lab does not need (its import alone takes 2 s)."""
    notification = root / "settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True, exist_ok=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    off = [
        "nbgrader.server_extensions.formgrader",
        "nbgrader.server_extensions.validate_assignment",
        "nbgrader.server_extensions.assignment_list",
        "nbgrader.server_extensions.course_list",
    ]
    server_config = {"ServerApp": {"jpserver_extensions": dict.fromkeys(off, False)}}
    (root / "config/jupyter_server_config.json").write_text(json.dumps(server_config))
    page_config = root / "config/labconfig/page_config.json"
    page_config.parent.mkdir(parents=True, exist_ok=True)
    page_config.write_text(json.dumps({"disabledExtensions": {"@jupyter/nbgrader": True}}))


class LabServer:
    """A running JupyterLab: ``url``, ``token``, ``root`` and the server log."""

    def __init__(self, root: Path):
        self.root = root
        self.notebooks = root / "notebooks"
        self.log_path = root / "server.log"
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        for name in ("notebooks", "settings", "workspaces", "config", "data", "runtime"):
            (self.root / name).mkdir(exist_ok=True)
        _write_settings(self.root)
        env = dict(os.environ)
        env.pop("MPLBACKEND", None)  # the kernel picks the inline backend, as for a student
        env.update(
            OMP_NUM_THREADS="1",
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
            JUPYTER_CONFIG_DIR=str(self.root / "config"),  # ignore the user's configuration
            JUPYTER_DATA_DIR=str(self.root / "data"),
            JUPYTER_RUNTIME_DIR=str(self.root / "runtime"),
            IPYTHONDIR=str(self.root / "ipython"),
        )
        command = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.notebooks}",
            "--ServerApp.terminals_enabled=False",
            "--expose-app-in-browser",
            f"--LabApp.user_settings_dir={self.root / 'settings'}",
            f"--LabApp.workspaces_dir={self.root / 'workspaces'}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=self.root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed as a whole
            )
        self._wait()

    def _request(self, path: str, method: str = "GET", timeout: float = 5):
        request = urllib.request.Request(
            self.url + path, method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def _wait(self) -> None:
        deadline = time.monotonic() + SERVER_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"JupyterLab exited with {self.process.returncode}:\n{self.log()}"
                )
            try:
                self._request("/api/status", timeout=2)
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"JupyterLab did not answer within {SERVER_TIMEOUT} s:\n{self.log()}")

    def log(self, last: int = 4000) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text[-last:]

    def stop(self) -> None:
        """Shut the kernels down (they run in their own sessions), then the server's group."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            for kernel in self._request("/api/kernels") or []:
                self._request(f"/api/kernels/{kernel['id']}", method="DELETE", timeout=10)
        except OSError:
            pass  # the server is going anyway; SIGTERM makes it clean up its kernels too
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def notebook_url(self, name: str) -> str:
        """A fresh workspace (``?reset``) that opens ``name``, so no state leaks between tests."""
        workspace = f"test-{uuid.uuid4().hex[:12]}"
        return f"{self.url}/lab/workspaces/{workspace}/tree/{name}?reset&token={self.token}"


def _require_browser_stack() -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    for module in ("playwright.sync_api", "jupyterlab", "nbformat"):
        try:
            __import__(module)
        except ImportError:
            pytest.skip(f"{module} is not installed: pip install -e '.[instructor,dev]'")


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory):
    """A JupyterLab server with the demo notebooks in its root directory."""
    _require_browser_stack()
    server = LabServer(tmp_path_factory.mktemp("jupyterlab"))
    server.notebooks.mkdir(parents=True, exist_ok=True)
    _write_notebook(server.notebooks / "demo_smoke.ipynb", SMOKE_CELL)
    for name, (factory, controls) in EXPLORERS.items():
        cell = EXPLORER_CELL.format(factory=factory, controls=controls)
        _write_notebook(server.notebooks / f"demo_{name}.ipynb", cell)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def chromium():
    """Headless Debian Chromium driven by playwright."""
    _require_browser_stack()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


class LabPage:
    """One browser tab on the lab, with helpers that act like a student."""

    def __init__(self, page, server: LabServer, name: str):
        self.page = page
        self.server = server
        self.name = name  # prefix of the screenshot files
        self.errors: list[str] = []
        # the last kernel websocket frames received: (time, bytes) - to tell a message the
        # kernel never sent from one the page did not apply (see choose_function)
        self.frames: collections.deque = collections.deque(maxlen=400)
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on("websocket", self._on_websocket)

    def _on_websocket(self, socket) -> None:
        def received(payload) -> None:
            data = payload.encode() if isinstance(payload, str) else bytes(payload)
            self.frames.append((time.monotonic(), data))

        socket.on("framereceived", received)

    def frames_mentioning(self, text: str, since: float) -> list[int]:
        """Sizes of the websocket frames received since ``since`` that contain ``text``."""
        needle = text.encode()
        return [len(data) for at, data in list(self.frames) if at >= since and needle in data]

    def _on_console(self, message) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            self.errors.append(f"console.error: {message.text} ({where})")

    def open_notebook(self, notebook: str) -> None:
        self.page.goto(self.server.notebook_url(notebook))
        self.page.wait_for_function(JS_NOTEBOOK_READY, arg=notebook, timeout=KERNEL_TIMEOUT)

    def run_all(self) -> None:
        """Run all cells (as Run > Run All Cells does) and wait until the kernel is idle."""
        self.page.evaluate(
            "() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }"
        )
        self.page.wait_for_timeout(200)  # let the kernel report busy first
        self.page.wait_for_function(JS_ALL_CELLS_RUN, timeout=KERNEL_TIMEOUT, polling=200)
        errors = self.page.evaluate(JS_CELL_ERRORS)
        assert not errors, "the notebook raised: " + "; ".join(errors)

    def wait_for_image(self, selector: str, old_src: str | None = None) -> dict:
        """Wait until the <img> shows a new, decoded PNG; return its state and PNG hash."""
        self.page.wait_for_function(
            JS_IMAGE_LOADED, arg=[selector, old_src or ""], timeout=IMAGE_TIMEOUT, polling=100
        )
        state = self.page.locator(selector).evaluate(JS_IMAGE_STATE)
        state["sha1"] = hashlib.sha1(base64.b64decode(state.pop("png"))).hexdigest()
        return state

    def settle(self, quiet_ms: int = 300) -> None:
        """Wait until the kernel has been idle for ``quiet_ms`` (all comm messages handled)."""
        for _ in range(50):
            self.page.wait_for_function(JS_KERNEL_IDLE, timeout=IMAGE_TIMEOUT, polling=50)
            self.page.wait_for_timeout(quiet_ms)
            if self.page.evaluate(JS_KERNEL_IDLE):
                return
        raise TimeoutError("the kernel never stayed idle")

    def change(self, action, image: str, readouts: list[str]) -> tuple[dict, dict]:
        """Do ``action`` (a zero-argument callable) as the student would; return the image
        state and the readout texts before and after, once the new image is shown and the
        kernel is idle again."""
        self.settle()
        before = {"image": self.wait_for_image(image), "text": self.texts(readouts)}
        action()
        self.wait_for_image(image, before["image"]["src"])
        self.settle()
        after = {"image": self.wait_for_image(image), "text": self.texts(readouts)}
        return before, after

    def texts(self, selectors: list[str]) -> dict:
        return {s: self.page.locator(s).inner_text() for s in selectors}

    def kernel_json(self, expression: str):
        """Evaluate ``expression`` in the notebook's kernel (not shown in the notebook) and
        return it through JSON: what the Python side holds, to compare with what is shown."""
        code = f"import json as _json\nprint(_json.dumps({expression}))"
        out = self.page.evaluate(JS_RUN_IN_KERNEL, code)
        try:
            return json.loads(out)
        except json.JSONDecodeError:
            raise AssertionError(f"the kernel could not evaluate {expression!r}: {out}") from None

    def layout(self, widget: str, image: str) -> dict:
        """Sizes a student would notice: controls wider than the output area (clipped or a
        scroll bar) and a PNG shown larger than it was drawn (blurry) or squeezed."""
        return self.page.evaluate(JS_LAYOUT, [widget, image])

    def artifact(self, suffix: str) -> Path:
        """A path in artifacts/browser/ (git-ignored) named after the test."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        return ARTIFACTS / f"{self.name}-{suffix}"

    def screenshot(self, step: str, locator=None) -> Path:
        """The page as the student sees it, or the whole of one element: the notebook scrolls
        inside the lab, so the window is made taller (not wider: the layout stays the same)
        for as long as the element needs."""
        path = self.artifact(f"{step}.png")
        if locator is None:
            self.page.screenshot(path=str(path))
            return path
        height = locator.evaluate("(el) => el.getBoundingClientRect().height")
        self.page.set_viewport_size(
            {**VIEWPORT, "height": max(VIEWPORT["height"], int(height) + 300)}
        )
        try:
            self.page.wait_for_timeout(300)  # the lab lays itself out again
            locator.scroll_into_view_if_needed()
            locator.screenshot(path=str(path))
        finally:
            self.page.set_viewport_size(VIEWPORT)
            self.page.wait_for_timeout(300)
        return path


@pytest.fixture
def lab_page(chromium, lab_server, request):
    """A fresh browser context (cookies, storage) per test; a screenshot if the test fails."""
    context = chromium.new_context(viewport=VIEWPORT)
    context.set_default_timeout(30_000)
    page = context.new_page()
    lab = LabPage(page, lab_server, request.node.name.removeprefix("test_"))
    for old in ARTIFACTS.glob(f"{lab.name}-*"):  # no screenshots left from an earlier run
        old.unlink()
    try:
        yield lab
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            try:
                lab.screenshot("FAILED")
            except Exception as error:  # the page may be gone; the test failure says more
                print(f"no failure screenshot: {error}")
        context.close()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item so that fixtures can see a failure."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
