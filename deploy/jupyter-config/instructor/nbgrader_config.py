"""nbgrader settings of instructors: the course folder and the course's own configuration.

The course folder is ``~/<DL_COURSE_ROOT_NAME>`` (default ``~/dl-course``): a clone of this
repository, with ``solutions/`` (the labs with hidden tests) and the repository's
``nbgrader_config.py`` (timeouts, the grading sandbox, feedback that hides hidden tests, fair
outputs), which is loaded from there; the clone's own packages (``grader``) are importable.
The formgrader needs the course folder inside the server's root (the home).
"""

import os
import sys

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

ROOT = os.path.join(os.path.expanduser("~"), os.environ.get("DL_COURSE_ROOT_NAME", "dl-course"))
c.CourseDirectory.root = ROOT
if os.path.isdir(ROOT) and ROOT not in sys.path:
    sys.path.append(ROOT)  # after the environment's packages: an installed `course` wins
load_subconfig("nbgrader_config.py", path=ROOT)  # noqa: F821 (the course's own configuration)
