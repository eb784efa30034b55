"""nbgrader settings every user of the hub shares (instructors and students).

The exchange is the shared folder through which labs are released and handed in; the hub's
``pre_spawn_hook`` passes its path in ``DL_COURSE_EXCHANGE`` (see ../../jupyterhub_config.py).
"""

import os

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.Exchange.root = os.environ.get("DL_COURSE_EXCHANGE", "/srv/nbgrader/exchange")
c.CourseDirectory.course_id = "dl-course"
