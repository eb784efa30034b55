"""The instructor's workflow on a real JupyterHub, end to end (marker ``hub``, needs root).

A hub is started with ``deploy/jupyterhub_config.py`` on 127.0.0.1, with three OS users created
here (an instructor and two students), each user's Jupyter server running as that user, and
nbgrader's exchange in a shared folder. Everything goes through the servers' HTTP APIs with
each user's own token, as the JupyterLab panels do: the instructor generates, releases,
collects, autogrades lab 01 and returns feedback in the formgrader; the students fetch the lab,
one fills in the solution through the contents API, the other hands in the release unchanged,
both submit and fetch their feedback. The tests then check the grades (100 and 0), the
feedback, and the walls between users (uids, tokens, exchange, gradebook, formgrader).

The hub's environment is a venv made from ``/usr/bin/python3`` in a world-readable place
(``DL_COURSE_HUB_VENV``, default ``/opt/dl-course-hub/venv``): a venv made from a Python under
``/root`` cannot be executed by other users. It is reused while its inputs (pyproject.toml,
.ci/constraints.txt, the pins below) are unchanged; the torch stack (5 GB) is hard-linked from
the environment running the tests when both are on one filesystem, instead of installed again.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tools.labs import ROOT, student_solution

pytestmark = [pytest.mark.hub, pytest.mark.slow]

LAB = "lab01_linear_regression"
COURSE_ID = "dl-course"
HUB_PINS = ["jupyterhub==6.1.1", "configurable-http-proxy==0.4.0"]
EXTRA = ["ipykernel"]  # the kernel nbgrader runs the labs in
VENV = Path(os.environ.get("DL_COURSE_HUB_VENV", "/opt/dl-course-hub/venv"))
SYSTEM_PYTHON = Path("/usr/bin/python3")
# OS users made (and removed) by this test; the marker in their GECOS field says so.
INSTRUCTOR, STUDENTS = "dlhub-instructor", ("dlhub-alice", "dlhub-bob")
SOLVER, BLANK = STUDENTS  # alice hands in the solution, bob the unmodified release
MARKER = "dl-course hub test user"
COURSE_FOLDER = "dl-course"
# Packages too big to install twice: hard-linked from the test environment when possible.
TORCH_STACK = {"torch", "torchgen", "functorch", "torchvision", "triton", "nvidia", "cuda"}
# CI's pins that need a newer Python than Debian 12's /usr/bin/python3 (3.11.2): left to pip.
NEEDS_NEWER_PYTHON = {"soupsieve"}  # 4.1.2 requires Python >= 3.11.5
PIP_TIMEOUT = 900  # a resolver that backtracks fails the test instead of stalling CI
ARTIFACTS = ROOT / "artifacts" / "hub"  # git-ignored: the hub's log of the last run
TIMEOUT = 120  # seconds for one API call (autograde of lab 01 takes a few seconds)


# --- helpers ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(*command: str, timeout: float = PIP_TIMEOUT) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def _inputs_hash() -> str:
    """What the venv is made of: the project's requirements, CI's versions, the pins here."""
    digest = hashlib.sha256()
    for path in (ROOT / "pyproject.toml", ROOT / ".ci" / "constraints.txt"):
        digest.update(path.read_bytes())
    digest.update(" ".join([*HUB_PINS, *EXTRA, *sorted(TORCH_STACK)]).encode())
    digest.update(_run(str(SYSTEM_PYTHON), "--version").stdout.encode())
    return digest.hexdigest()


def _tree_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return digest.hexdigest()


def _link_torch_stack(site: Path) -> bool:
    """Hard-link torch and its CUDA/triton packages from this interpreter's site-packages."""
    source = Path(sysconfig.get_paths()["purelib"])
    same_python = sys.version_info[:2] == tuple(
        int(v) for v in _run(str(SYSTEM_PYTHON), "-c", "import sys; print(*sys.version_info[:2])")
        .stdout.split()
    )
    names = [
        p.name for p in source.iterdir()
        if re.split(r"[-_.]", p.name)[0] in TORCH_STACK and "geometric" not in p.name
    ]
    if not same_python or not any(n.startswith("torch-") for n in names):
        return False
    for name in names:
        if subprocess.run(["cp", "-al", str(source / name), str(site)]).returncode != 0:
            return False  # another filesystem: pip installs torch instead
    return True


def _course_copy(tmp: Path) -> Path:
    """The files pip needs to build this course's package, copied where pip may write."""
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tmp)
    shutil.copytree(ROOT / "course", tmp / "course", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp


def build_venv() -> dict:
    """Create or reuse the hub's venv; return whether it was reused and how long it took."""
    start = time.perf_counter()
    python = VENV / "bin/python"
    stamp, course_stamp = VENV / ".dl-course-inputs", VENV / ".dl-course-package"
    inputs, course_hash = _inputs_hash(), _tree_hash(ROOT / "course")
    reused = stamp.exists() and stamp.read_text() == inputs and (VENV / "bin/jupyterhub").exists()
    pip = [str(python), "-m", "pip", "install", "-q", "--progress-bar", "off"]
    if not reused:
        shutil.rmtree(VENV, ignore_errors=True)
        VENV.parent.mkdir(parents=True, exist_ok=True)
        VENV.parent.chmod(0o755)
        _run(str(SYSTEM_PYTHON), "-m", "venv", str(VENV))
        site = _run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
        _link_torch_stack(Path(site.stdout.strip()))
        with tempfile.TemporaryDirectory() as tmp:
            course = _course_copy(Path(tmp))
            constraints = Path(tmp) / "constraints.txt"
            constraints.write_text("".join(
                line for line in (ROOT / ".ci" / "constraints.txt").open()
                if re.split(r"[=<>~ ]", line.strip().lower())[0] not in NEEDS_NEWER_PYTHON
            ))
            _run(*pip, "-c", str(constraints), *HUB_PINS, *EXTRA, f"{course}[instructor]")
        course_stamp.write_text(course_hash)
        stamp.write_text(inputs)
        _run("chmod", "-R", "a+rX", str(VENV))  # every user's server runs from it
    if not course_stamp.exists() or course_stamp.read_text() != course_hash:
        # the course itself, non-editable, reinstalled whenever course/ changes
        with tempfile.TemporaryDirectory() as tmp:
            _run(*pip, "--no-deps", "--force-reinstall", str(_course_copy(Path(tmp))))
        course_stamp.write_text(course_hash)
    return {"reused": reused, "seconds": round(time.perf_counter() - start, 1)}


def _processes_of(uids: set[int]) -> list[int]:
    pids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            uid_line = next(l for l in status.read_text().splitlines() if l.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        if int(uid_line.split()[1]) in uids:
            pids.append(int(status.parent.name))
    return pids


def _is_server(pid: int) -> bool:
    try:
        return b"jupyterhub-singleuser" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _kill(pids: list[int]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
            time.sleep(0.1)


def _add_user(name: str) -> pwd.struct_passwd:
    try:
        existing = pwd.getpwnam(name)
    except KeyError:
        existing = None
    if existing is not None:
        if existing.pw_gecos != MARKER:
            pytest.skip(f"OS user {name} exists and was not made by this test: not touching it")
        _del_user(name)
    _run("useradd", "--create-home", "--shell", "/bin/bash", "--comment", MARKER, name)
    return pwd.getpwnam(name)


def _del_user(name: str) -> None:
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return
    if entry.pw_gecos == MARKER:
        _kill(_processes_of({entry.pw_uid}))
        subprocess.run(["userdel", "--remove", name], capture_output=True)
        shutil.rmtree(entry.pw_dir, ignore_errors=True)


def as_user(user: pwd.struct_passwd, code: str) -> subprocess.CompletedProcess:
    """Run Python ``code`` with the hub's interpreter as ``user`` (uid, gid, no other groups)."""
    return subprocess.run(
        [str(VENV / "bin/python"), "-c", code],
        user=user.pw_uid, group=user.pw_gid, extra_groups=[], cwd=user.pw_dir,
        env={"HOME": user.pw_dir, "PATH": f"{VENV}/bin:/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60,
    )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect (to the login page) is an answer to check, not to follow


_OPENER = urllib.request.build_opener(_NoRedirect)


class Api:
    """HTTP calls to the hub with one token in the Authorization header (never in the URL:
    the hub refuses tokens there)."""

    def __init__(self, base: str, token: str):
        self.base, self.token = base, token

    def call(self, method: str, path: str, body=None, timeout: float = TIMEOUT):
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"token {self.token}"
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers=headers)
        try:
            with _OPENER.open(request, timeout=timeout) as response:
                status, raw, headers = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, raw, headers = error.code, error.read(), error.headers
        text = raw.decode(errors="replace")
        try:
            payload = json.loads(text) if text else None
        except json.JSONDecodeError:
            payload = text
        return status, payload, headers

    def ok(self, method: str, path: str, body=None):
        status, payload, _ = self.call(method, path, body)
        assert 200 <= status < 300, f"{method} {path}: {status} {str(payload)[:2000]}"
        return payload


class Hub:
    """A running JupyterHub: the process, its log, the URL and the admin service's API."""

    def __init__(self, root: Path, users: dict[str, pwd.struct_passwd]):
        self.root, self.users = root, users
        self.state = root / "state"
        self.exchange = root / "exchange"
        self.log_path = root / "hub.log"
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin = Api(self.url, secrets.token_hex(24))
        self.tokens: dict[str, str] = {}
        self.server_pids: dict[str, list[int]] = {}
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        deploy = self.root / "deploy"  # a copy every user can read (the checkout may not be)
        shutil.copytree(ROOT / "deploy", deploy)
        _run("chmod", "-R", "a+rX", str(deploy))
        env = {
            "PATH": f"{VENV}/bin:/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "DL_COURSE_INSTRUCTORS": INSTRUCTOR,
            "DL_COURSE_STUDENTS": ",".join(STUDENTS),
            "DL_COURSE_HUB_PASSWORD": secrets.token_urlsafe(16),
            "DL_COURSE_HUB_URL": self.url,
            "DL_COURSE_HUB_API_URL": f"http://127.0.0.1:{_free_port()}",
            "DL_COURSE_PROXY_API_URL": f"http://127.0.0.1:{_free_port()}",
            "DL_COURSE_HUB_STATE": str(self.state),
            "DL_COURSE_EXCHANGE": str(self.exchange),
            "DL_COURSE_ROOT_NAME": COURSE_FOLDER,
            "DL_COURSE_HUB_SERVICE_TOKEN": self.admin.token,
            "OMP_NUM_THREADS": "1",
        }
        self.password = env["DL_COURSE_HUB_PASSWORD"]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [str(VENV / "bin/jupyterhub"), "-f", str(deploy / "jupyterhub_config.py")],
                cwd=self.root, env=env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the hub exited with {self.process.returncode}:\n{self.log()}")
            try:
                if self.admin.call("GET", "/hub/api/", timeout=3)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"the hub did not answer within 90 s:\n{self.log()}")

    def log(self, last: int = 6000) -> str:
        return self.log_path.read_text(errors="replace")[-last:] if self.log_path.exists() else ""

    def user_api(self, name: str) -> Api:
        return Api(f"{self.url}/user/{name}", self.tokens[name])

    def start_servers(self) -> None:
        """A token per user (made by the admin service), then every server at once: the
        spawn request blocks for seconds, so one after another would add up."""
        for name in self.users:
            token = self.admin.ok("POST", f"/hub/api/users/{name}/tokens",
                                  {"note": "hub test", "expires_in": 3600})
            self.tokens[name] = token["token"]

        def spawn(name: str) -> None:
            status, payload, _ = self.admin.call("POST", f"/hub/api/users/{name}/server")
            assert status in (201, 202), f"spawn {name}: {status} {payload}\n{self.log()}"
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                model = self.admin.ok("GET", f"/hub/api/users/{name}")
                server = model.get("servers", {}).get("")
                if server and server.get("ready"):
                    return
                time.sleep(0.5)
            raise AssertionError(f"the server of {name} never became ready:\n{self.log()}")

        with concurrent.futures.ThreadPoolExecutor(len(self.users)) as pool:
            list(pool.map(spawn, self.users))
        self.server_pids = {  # recorded now, killed at teardown if still alive
            name: [pid for pid in _processes_of({user.pw_uid}) if _is_server(pid)]
            for name, user in self.users.items()
        }

    def stop(self) -> list[str]:
        """SIGTERM the hub (it stops the servers and the proxy), then kill by PID whatever
        is left: the proxy from its pid file, every process of the test users. Returns what
        had to be killed."""
        leftovers = []
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                leftovers.append(f"hub {self.process.pid}")
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        for name in ("proxy.pid", "jupyterhub.pid"):
            pid_file = self.state / name
            if pid_file.exists():
                pid = int(pid_file.read_text().strip() or 0)
                if pid and Path(f"/proc/{pid}").exists():
                    leftovers.append(f"{name} {pid}")
                    _kill([pid])
                pid_file.unlink()
        servers = [p for pids in self.server_pids.values() for p in pids
                   if Path(f"/proc/{p}").exists()]
        if servers:
            leftovers.append(f"servers {servers}")
            _kill(servers)
        users = _processes_of({u.pw_uid for u in self.users.values()})
        if users:
            leftovers.append(f"user processes {users}")
            _kill(users)
        return leftovers


# --- the fixture: set up, run the workflow, tear down ----------------------------------------


def _secret_lines(solution: Path) -> list[str]:
    from tests.test_labs import _secret_lines as secret_lines

    return secret_lines(solution)


def _course_folder(instructor: pwd.struct_passwd) -> Path:
    """The course in the instructor's home: the repository's nbgrader config and the lab."""
    course = Path(instructor.pw_dir) / COURSE_FOLDER
    course.mkdir(mode=0o755)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions" / LAB, course / "solutions" / LAB)
    if (ROOT / "grader").is_dir():  # the grading sandbox that nbgrader_config.py imports
        shutil.copytree(ROOT / "grader", course / "grader",
                        ignore=shutil.ignore_patterns("__pycache__"))
    _run("chown", "-R", f"{instructor.pw_uid}:{instructor.pw_gid}", str(course))
    return course


@pytest.fixture(scope="module")
def hub():
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("needs root: creates OS users and runs each user's server as that user")
    if not SYSTEM_PYTHON.exists():
        pytest.skip(f"{SYSTEM_PYTHON} is missing (the hub's venv is made from it)")
    timings = {"venv": build_venv()}
    root = Path(tempfile.mkdtemp(prefix="dl-course-hub-"))
    root.chmod(0o755)
    users: dict[str, pwd.struct_passwd] = {}
    hub = None
    try:
        for name in (INSTRUCTOR, *STUDENTS):
            users[name] = _add_user(name)
        course = _course_folder(users[INSTRUCTOR])
        hub = Hub(root, users)
        start = time.perf_counter()
        hub.start()
        hub.start_servers()
        timings["hub and servers"] = time.perf_counter() - start
        hub.course, hub.timings = course, timings
        yield hub
    finally:
        leftovers = hub.stop() if hub is not None else []
        if hub is not None and hub.log_path.exists():  # the hub's and the servers' output
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(hub.log_path, ARTIFACTS / "hub.log")
        for name in users:
            _del_user(name)
        shutil.rmtree(root, ignore_errors=True)
        print(f"hub test timings: {timings}; killed at teardown: {leftovers}")
    remaining = _processes_of({u.pw_uid for u in users.values()})
    assert not remaining, f"processes of the test users survived the teardown: {remaining}"


@pytest.fixture(scope="module")
def workflow(hub):
    """The whole course workflow through the users' own servers; returns what was seen."""
    start = time.perf_counter()
    teacher = hub.user_api(INSTRUCTOR)
    seen: dict = {}
    formgrader = "/formgrader/api"
    for step in ("assign", "release"):
        result = teacher.ok("POST", f"{formgrader}/assignment/{LAB}/{step}")
        assert result["success"], f"{step}: {result}"

    notebook_path = f"{LAB}/{LAB}.ipynb"
    for name in STUDENTS:
        student = hub.user_api(name)
        listed = student.ok("GET", f"/assignments?course_id={COURSE_ID}")
        assert listed["success"], listed
        seen.setdefault("released", {})[name] = [
            (a["assignment_id"], a["status"]) for a in listed["value"]
        ]
        fetched = student.ok("POST", "/assignments/fetch",
                             {"course_id": COURSE_ID, "assignment_id": LAB})
        assert fetched["success"], fetched
        release = student.ok("GET", f"/api/contents/{notebook_path}")["content"]
        if name == SOLVER:
            with tempfile.TemporaryDirectory() as tmp:
                release_file = Path(tmp) / f"{LAB}.ipynb"
                release_file.write_text(json.dumps(release))
                filled = student_solution(release_file, ROOT / "solutions" / LAB / f"{LAB}.ipynb")
            student.ok("PUT", f"/api/contents/{notebook_path}",
                       {"type": "notebook", "format": "json", "content": filled})
        submitted = student.ok("POST", "/assignments/submit",
                               {"course_id": COURSE_ID, "assignment_id": LAB})
        assert submitted["success"], submitted

    result = teacher.ok("POST", f"{formgrader}/assignment/{LAB}/collect")
    assert result["success"], result
    for name in STUDENTS:
        result = teacher.ok("POST", f"{formgrader}/submission/{LAB}/{name}/autograde")
        assert result["success"], result
        submission = teacher.ok("GET", f"{formgrader}/submission/{LAB}/{name}")
        seen.setdefault("scores", {})[name] = (submission["score"], submission["max_score"])
    for step in ("generate_feedback", "release_feedback"):
        result = teacher.ok("POST", f"{formgrader}/assignment/{LAB}/{step}")
        assert result["success"], result

    for name in STUDENTS:
        student = hub.user_api(name)
        result = student.ok("POST", "/assignments/fetch_feedback",
                            {"course_id": COURSE_ID, "assignment_id": LAB})
        assert result["success"], result
        folders = student.ok("GET", f"/api/contents/{LAB}/feedback")["content"]
        assert len(folders) == 1, f"{name}: feedback folders {folders}"
        feedback = urllib.parse.quote(f"{folders[0]['path']}/{LAB}.html")  # a timestamp
        html = student.ok("GET", f"/api/contents/{feedback}?type=file&format=text")
        seen.setdefault("feedback", {})[name] = html["content"]
    hub.timings["workflow"] = time.perf_counter() - start
    return seen


# --- the tests -------------------------------------------------------------------------------


def test_grades_solution_100_and_release_0(hub, workflow):
    assert workflow["released"][SOLVER] == [(LAB, "released")]
    assert workflow["scores"] == {SOLVER: (100.0, 100.0), BLANK: (0.0, 100.0)}, workflow["scores"]


def test_feedback_reached_students_without_hidden_tests(hub, workflow):
    import html as html_lib

    secret = _secret_lines(ROOT / "solutions" / LAB / f"{LAB}.ipynb")
    assert secret, "lab 01 has hidden tests to hide"
    for name in STUDENTS:
        text = html_lib.unescape(re.sub(r"<[^>]+>", "", workflow["feedback"][name]))
        leaked = [line for line in secret if line in text]
        assert not leaked, f"feedback of {name} shows hidden test lines: {leaked[:3]}"
    assert "NotImplementedError" in workflow["feedback"][BLANK]  # what failed, for the student
    assert f"{LAB} (Score: 100.0 / 100.0)" in workflow["feedback"][SOLVER]
    assert f"{LAB} (Score: 0.0 / 100.0)" in workflow["feedback"][BLANK]


def test_each_server_runs_as_its_user(hub, workflow):
    for name, user in hub.users.items():
        api = hub.user_api(name)
        api.ok("PUT", "/api/contents/whoami.txt",
               {"type": "file", "format": "text", "content": name})
        written = Path(user.pw_dir) / "whoami.txt"
        assert written.stat().st_uid == user.pw_uid, f"{name}'s server wrote as another uid"
        assert hub.server_pids[name], f"no jupyterhub-singleuser process runs as {name}"
        for pid in hub.server_pids[name]:
            assert Path(f"/proc/{pid}").stat().st_uid == user.pw_uid
    submitted = hub.course / "submitted" / SOLVER / LAB / f"{LAB}.ipynb"
    assert submitted.stat().st_uid == hub.users[INSTRUCTOR].pw_uid


def test_a_students_token_cannot_open_another_server(hub, workflow):
    alice = hub.tokens[SOLVER]
    for owner in (BLANK, INSTRUCTOR):
        status, _, _ = Api(f"{hub.url}/user/{owner}", alice).call("GET", "/api/contents")
        assert status == 403, f"{SOLVER}'s token on {owner}'s server: {status}"
    status, _, _ = Api(f"{hub.url}/user/{INSTRUCTOR}", alice).call(
        "GET", "/formgrader/api/assignments")
    assert status == 403
    # without a token the server sends the browser to the hub's login page
    status, _, _ = Api(f"{hub.url}/user/{SOLVER}", "").call("GET", "/api/contents")
    assert status in (302, 403), status


def test_students_cannot_read_the_exchange_inbound_or_the_course(hub, workflow):
    inbound = hub.exchange / COURSE_ID / "inbound"
    assert any(inbound.iterdir()), "the submissions went through the exchange"
    gradebook = hub.course / "gradebook.db"
    assert gradebook.exists()
    for name in STUDENTS:
        probe = as_user(hub.users[name], (
            "import os, sys\n"
            f"for path in {[str(inbound), str(gradebook), str(hub.course / 'solutions')]}:\n"
            "    try:\n"
            "        os.listdir(path) if os.path.isdir(path) else open(path, 'rb').read(16)\n"
            "    except PermissionError:\n"
            "        print('denied', path)\n"
            "    else:\n"
            "        print('READ', path)\n"
        ))
        assert probe.returncode == 0, probe.stderr
        assert "READ" not in probe.stdout, f"{name} could read: {probe.stdout}"
        assert probe.stdout.count("denied") == 3


def test_only_the_instructor_has_the_formgrader(hub, workflow):
    teacher = hub.user_api(INSTRUCTOR)
    assert teacher.call("GET", "/formgrader/api/assignments")[0] == 200
    status, _, headers = teacher.call("GET", "/formgrader/manage_assignments")
    assert status == 200
    # the Formgrader panel is an iframe inside JupyterLab: the instructor's CSP allows it
    assert "frame-ancestors 'self'" in headers.get("Content-Security-Policy", "")
    for name in STUDENTS:
        student = hub.user_api(name)
        assert student.call("GET", "/formgrader/api/assignments")[0] == 404, name
        assert student.call("GET", "/formgrader")[0] == 404, name
        assert student.call("GET", f"/assignments?course_id={COURSE_ID}")[0] == 200, name
    disabled = {name: _lab_disabled_extensions(hub, name) for name in hub.users}
    for name in STUDENTS:
        assert "@jupyter/nbgrader:formgrader" in disabled[name], disabled[name]
        assert "@jupyter/nbgrader:create-assignment" in disabled[name], disabled[name]
        assert "@jupyter/nbgrader:assignment-list" not in disabled[name]
    assert not any(e.startswith("@jupyter/nbgrader") for e in disabled[INSTRUCTOR])


def _lab_disabled_extensions(hub: Hub, name: str) -> list[str]:
    """The JupyterLab page config a browser would get: which plugins are switched off."""
    status, page, _ = hub.user_api(name).call("GET", "/lab")
    assert status == 200, f"{name}: /lab {status}"
    match = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                      page, re.S)
    assert match, f"{name}: no page config in /lab"
    return json.loads(match.group(1)).get("disabledExtensions", [])


def test_students_servers_import_the_course(hub, workflow):
    probe = as_user(hub.users[BLANK], "import course, numpy; print(course.__file__)")
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.startswith(str(VENV)), probe.stdout


# --- optional: what a person sees after logging in through the hub's form -------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update"]
VIEWPORT = {"width": 1280, "height": 800}


def _browse(hub: Hub) -> dict:
    """Log every user in through the login form; open the Nbgrader menu (and, for students,
    the Assignment List); return the menu items and panel text seen; take screenshots."""
    from playwright.sync_api import sync_playwright

    seen = {}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            for name in (INSTRUCTOR, SOLVER):
                context = browser.new_context(viewport=VIEWPORT)
                context.set_default_timeout(90_000)
                page = context.new_page()
                page.goto(f"{hub.url}/hub/login")
                page.fill("#username_input", name)
                page.fill("#password_input", hub.password)
                page.click("#login_submit")
                page.wait_for_url(re.compile(rf"/user/{name}/lab"))
                page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
                menu = page.locator("#jp-mainmenu-nbgrader")
                menu.wait_for(state="visible")
                items = menu.locator(".lm-Menu-itemLabel").all_inner_texts()
                page.screenshot(path=str(ARTIFACTS / f"{name}-nbgrader-menu.png"))
                panel = ""
                if name != INSTRUCTOR:
                    menu.locator(".lm-Menu-itemLabel", has_text="Assignment List").click()
                    listed = page.locator("#nbgrader-assignment-list")
                    listed.get_by_text(LAB).first.wait_for(state="visible")
                    panel = listed.inner_text()
                    page.screenshot(path=str(ARTIFACTS / f"{name}-assignments.png"))
                seen[name] = {"menu": [i.strip() for i in items if i.strip()], "panel": panel}
                context.close()
        finally:
            browser.close()
    return seen


@pytest.mark.browser
def test_browser_login_shows_each_role_its_nbgrader_menu(hub, workflow):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium")
    pytest.importorskip("playwright.sync_api")
    # in a thread of its own: a session-wide playwright of the browser tests may be running
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        seen = pool.submit(_browse, hub).result()
    assert "Formgrader" in seen[INSTRUCTOR]["menu"], seen
    assert "Assignment List" in seen[SOLVER]["menu"], seen
    assert not {"Formgrader", "Course List"} & set(seen[SOLVER]["menu"]), seen
    assert LAB in seen[SOLVER]["panel"] and "Submitted" in seen[SOLVER]["panel"], seen
