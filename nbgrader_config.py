"""nbgrader configuration of the course (read by every `nbgrader` command run here).

Sources of the labs live in solutions/<lab>/<lab>.ipynb; `nbgrader generate_assignment`
writes the student versions to labs/<lab>/<lab>.ipynb. Student submissions, autograded
copies, feedback and the gradebook are created next to this file and are git-ignored.
"""

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "dl-course"
c.CourseDirectory.root = "."
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "labs"
# The labs are plain notebooks: no data folders to copy.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__"]

# The heaviest lab solution runs in about 20 s on 2 CPU cores; leave room for slow machines.
c.Execute.timeout = 300
c.Execute.allow_errors = True
c.Execute.interrupt_on_timeout = True

# Labs that are run by the grader shrink their experiments (see the labs' NBGRADER_EXECUTION
# checks); a student's unfinished function fails its tests instead of crashing the grader.
c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError(\"Write your code here (replace this line), then run the test cell below.\")"
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
