"""JupyterHub configuration for running this course with nbgrader on one machine.

One hub, one OS user per person, each person's Jupyter server started as that user by the
local process spawner; nbgrader's exchange is a shared folder. Instructors get the formgrader,
students get the Assignments panel only (per-role Jupyter config, see ``jupyter-config/``).
``tests/test_hub.py`` starts a hub with this very file and drives the whole workflow through
it, so what is written here is what is tested.

Start it as root (the spawner switches to each user's uid), from the environment that holds
jupyterhub, jupyterlab, nbgrader and this course (``pip install "dl-course[instructor]"
jupyterhub configurable-http-proxy``)::

    DL_COURSE_INSTRUCTORS=instructor DL_COURSE_STUDENTS=alice,bob \\
    DL_COURSE_HUB_PASSWORD='a long shared password' \\
        jupyterhub -f deploy/jupyterhub_config.py

Settings (environment variables; every one has a default):

==============================  ===========================================================
DL_COURSE_INSTRUCTORS           comma-separated OS user names with the formgrader
                                (default ``instructor``)
DL_COURSE_STUDENTS              comma-separated OS user names of the students, or ``@FILE``
                                with one name per line (default: none; the name is the
                                nbgrader student id, nbgrader takes it from the OS user)
DL_COURSE_HUB_PASSWORD          the shared password of the ``shared-password`` authenticator
                                (at least 8 characters). Good for a lab session on a
                                private network; use PAM or your school's OAuth for a term
DL_COURSE_HUB_URL               where the hub listens (default ``http://:8000``; put TLS or
                                a reverse proxy in front of it on a public address)
DL_COURSE_HUB_STATE             folder for the hub's database, cookie secret and the proxy's
                                pid file (default ``/srv/jupyterhub``, created mode 700)
DL_COURSE_EXCHANGE              nbgrader's exchange (default ``/srv/nbgrader/exchange``,
                                created mode 1777: students can write their submission but
                                cannot list what others handed in)
DL_COURSE_ROOT_NAME             the course folder in each instructor's home (default
                                ``dl-course``: a clone of this repository)
DL_COURSE_HUB_SERVICE_TOKEN     optional: registers a service ``course-admin`` with this
                                token and admin scopes, for scripts that create users'
                                tokens and start servers through the REST API
DL_COURSE_HUB_API_URL           optional: the hub's internal URL (default
                                ``http://127.0.0.1:8081``)
DL_COURSE_PROXY_API_URL         optional: the proxy's API URL (default
                                ``http://127.0.0.1:8001``)
==============================  ===========================================================

On The Littlest JupyterHub, copy the settings read from the environment and the
``pre_spawn_hook`` section into
``/opt/tljh/config/jupyterhub_config.d/dl-course.py`` instead (TLJH sets the authenticator,
spawner and proxy itself). On Zero to JupyterHub the same per-role idea is a
``singleuser.profileList`` or a ``hub.extraConfig`` hook that sets ``JUPYTER_CONFIG_PATH``
(see the README).
"""

import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (provided by JupyterHub when it loads this file)

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "jupyter-config"  # per-role Jupyter config (must be readable by every user)
BIN = Path(sys.prefix) / "bin"  # jupyterhub-singleuser, nbgrader and alembic live here


def _names(value: str) -> set[str]:
    if value.startswith("@"):
        value = Path(value[1:]).read_text().replace("\n", ",")
    return {name.strip() for name in value.split(",") if name.strip()}


INSTRUCTORS = _names(os.environ.get("DL_COURSE_INSTRUCTORS", "instructor"))
STUDENTS = _names(os.environ.get("DL_COURSE_STUDENTS", ""))
if INSTRUCTORS & STUDENTS:
    raise ValueError(f"users cannot be instructor and student at once: {INSTRUCTORS & STUDENTS}")
STATE = Path(os.environ.get("DL_COURSE_HUB_STATE", "/srv/jupyterhub"))
EXCHANGE = Path(os.environ.get("DL_COURSE_EXCHANGE", "/srv/nbgrader/exchange"))
COURSE_FOLDER = os.environ.get("DL_COURSE_ROOT_NAME", "dl-course")

# --- the hub ---------------------------------------------------------------------------------
STATE.mkdir(parents=True, exist_ok=True)
STATE.chmod(0o700)  # the database holds every user's token hashes
c.JupyterHub.bind_url = os.environ.get("DL_COURSE_HUB_URL", "http://:8000")
c.JupyterHub.hub_bind_url = os.environ.get("DL_COURSE_HUB_API_URL", "http://127.0.0.1:8081")
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")
c.ConfigurableHTTPProxy.api_url = os.environ.get("DL_COURSE_PROXY_API_URL", "http://127.0.0.1:8001")
# The npm proxy or its PyPI port (pip install configurable-http-proxy) in this environment,
# else the one on PATH. The PyPI port drops a request after 20 s by default, and the
# formgrader answers only when nbgrader is done (generating or autograding a lab takes longer
# than that on a busy machine): wait up to 10 minutes.
PROXY = BIN / "configurable-http-proxy"
c.ConfigurableHTTPProxy.command = [
    str(PROXY) if PROXY.exists() else "configurable-http-proxy",
    "--timeout=600000",
    "--proxy-timeout=600000",
]
c.JupyterHub.cleanup_servers = True  # stopping the hub stops the users' servers

# --- who may log in ---------------------------------------------------------------------------
# The shared-password authenticator (JupyterHub >= 5.3) lets exactly the listed users in with
# one password; the names must be OS users, because each server runs as its user's uid.
c.JupyterHub.authenticator_class = "shared-password"
PASSWORD = os.environ.get("DL_COURSE_HUB_PASSWORD", "")
if len(PASSWORD) < 8:
    raise ValueError("set DL_COURSE_HUB_PASSWORD to the shared password (at least 8 characters)")
c.SharedPasswordAuthenticator.user_password = PASSWORD
c.Authenticator.allowed_users = INSTRUCTORS | STUDENTS
c.Authenticator.admin_users = set()  # hub admins can open every server: nobody by default

# --- the users' servers -----------------------------------------------------------------------
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
# nbgrader shells out to `alembic` (gradebook migrations) and runs kernels from this venv.
c.Spawner.environment = {"PATH": os.pathsep.join([str(BIN), "/usr/local/bin", "/usr/bin", "/bin"])}
c.Spawner.start_timeout = 120  # a class logging in at once on a small machine
c.Spawner.http_timeout = 90


# --- per-role Jupyter config (copy this section to TLJH's jupyterhub_config.d) ----------------
def _prepare_exchange(exchange: Path) -> None:
    exchange.mkdir(parents=True, exist_ok=True)
    exchange.chmod(0o1777)  # everybody writes, the sticky bit: nobody deletes others' files


def pre_spawn_hook(spawner) -> None:
    """Give the server its role's Jupyter config: formgrader for instructors only.

    ``JUPYTER_CONFIG_PATH`` comes before the environment's own ``etc/jupyter`` (where pip put
    nbgrader's "enable every extension" file), so the role's files win: students lose the
    formgrader and course-list server extensions and JupyterLab plugins; instructors get the
    course folder and a CSP that lets JupyterLab show the formgrader in a panel (JupyterHub
    sends ``frame-ancestors 'none'`` by default, nbgrader #1870). Instructors' course
    folders are made private (mode 700): Debian creates homes with mode 755, which would let
    every student read the gradebook and the hidden tests in ``solutions/``.
    """
    name = spawner.user.name
    role = "instructor" if name in INSTRUCTORS else "student"
    spawner.environment["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
        [str(CONFIG / role), str(CONFIG / "common")]
    )
    spawner.environment["DL_COURSE_EXCHANGE"] = str(EXCHANGE)
    spawner.environment["DL_COURSE_ROOT_NAME"] = COURSE_FOLDER
    _prepare_exchange(EXCHANGE)
    if role == "instructor":
        course = Path(os.path.expanduser(f"~{name}")) / COURSE_FOLDER
        if course.is_dir():
            course.chmod(0o700)


c.Spawner.pre_spawn_hook = pre_spawn_hook

# --- an optional admin service for scripts (and for tests/test_hub.py) ------------------------
SERVICE_TOKEN = os.environ.get("DL_COURSE_HUB_SERVICE_TOKEN")
if SERVICE_TOKEN:
    c.JupyterHub.services = [{"name": "course-admin", "api_token": SERVICE_TOKEN}]
    c.JupyterHub.load_roles = [
        {
            "name": "course-admin",
            "scopes": ["admin:users", "admin:servers", "tokens", "list:users", "read:users"],
            "services": ["course-admin"],
        }
    ]
