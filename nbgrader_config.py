"""nbgrader configuration of the course (read by every `nbgrader` command run here).

Sources of the labs live in solutions/<lab>/<lab>.ipynb; `nbgrader generate_assignment`
writes the student versions to labs/<lab>/<lab>.ipynb. Student submissions, autograded
copies, feedback and the gradebook are created next to this file and are git-ignored.
"""

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "dl-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "labs"
# The labs are plain notebooks: no data folders to copy.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__"]

# `nbgrader validate` (unsandboxed: students and instructors run it on their own notebooks)
# keeps the generous timeout; autograde sets its own per lab below.
c.Execute.timeout = 300
c.Execute.interrupt_on_timeout = True

# Student code runs in a bubblewrap sandbox (package `grader`, README "Sandboxed grading"):
# private copy of its folder without the notebook, course root hidden, no network, nobody's
# uid, rlimits. Without bubblewrap grading refuses; COURSE_SANDBOX=off grades unsandboxed.
# Per-cell timeouts: 60 s in NumPy-only labs, 180 s in the others (the heaviest graded cell,
# a short training run, takes ~20 s on 2 idle cores), 240 s for the setup/imports cells;
# 900 s per notebook. A dead or hung kernel is replaced and the remaining cells still graded.
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

try:
    import grader  # noqa: F401
except ImportError:  # `grader` sits next to the editable `course` package in the repository
    import course

    sys.path.insert(0, str(Path(course.__file__).resolve().parent.parent))
from grader.execute import SandboxedExecute  # noqa: E402
from grader.feedback import RedactFeedback  # noqa: E402
from grader.review import ReviewFlags  # noqa: E402
from grader.verdict import SecondVerdict  # noqa: E402

# Labs that are run by the grader shrink their experiments (see the labs' NBGRADER_EXECUTION
# checks); a student's unfinished function fails its tests instead of crashing the grader.
STUB = "Write your code here (replace this line), then run the test cell below."
c.ClearSolutions.code_stub = {"python": f'# YOUR CODE HERE\nraise NotImplementedError("{STUB}")'}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"


# Feedback is the autograded notebook rendered to HTML, and the autograded notebook holds the
# hidden tests (they were put back to grade it). This preprocessor removes the hidden-test
# regions from every test cell and shortens a failing test's error output to the exception's
# type and message (expected, got and a hint), dropping the traceback that quotes hidden code.
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import ClearHiddenTests, GetGrades  # noqa: E402


class HideHiddenTests(ClearHiddenTests):
    """Clear hidden-test regions and tracebacks from test cells (feedback only)."""

    def preprocess_cell(self, cell, resources, cell_index):
        grade = cell.get("metadata", {}).get("nbgrader", {}).get("grade", False)
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if grade and cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename')}: {output.get('evalue')}"]
        return cell, resources


# RedactFeedback (grader/feedback.py) runs first, while the hidden tests are still in the
# notebook: test cells keep only "passed" or the checker's message, and any output line that
# quotes a hidden-test or solution line is replaced.
c.GenerateFeedback.preprocessors = [
    GetGrades, RedactFeedback, HideHiddenTests, CSSHTMLHeaderPreprocessor]


# Two things nbgrader does that are unfair to honest work, undone after execution and before
# the grades are read:
# - it gives a test cell 0 points as soon as it wrote anything to stderr, so a student's
#   debugging print(..., file=sys.stderr) or a NumPy/PyTorch RuntimeWarning raised inside an
#   otherwise right function would cost the points of every test that calls it. Here only an
#   exception fails a test: stderr text of test cells is kept as ordinary output marked
#   "[stderr]" (an exception still produces an "error" output, which scores 0);
# - LimitOutput caps the number of lines, not their length, so one 20 MB line printed by a
#   submission would be kept whole in the autograded notebook and in the feedback. Every text
#   output is cut to MAX_OUTPUT_CHARS characters here.
MAX_OUTPUT_CHARS = 20_000

from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    CheckCellMetadata,
    IgnorePattern,
    LimitOutput,
    NbGraderPreprocessor,
    SaveAutoGrades,
)


class FairOutputs(NbGraderPreprocessor):
    """Re-label stderr output of graded test cells as stdout ("[stderr] ..."), so that only
    exceptions fail a test, and cut every text output to MAX_OUTPUT_CHARS characters."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code":
            return cell, resources
        graded = cell.get("metadata", {}).get("nbgrader", {}).get("grade", False)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                if graded and output.get("name") == "stderr":
                    output["name"] = "stdout"
                    output["text"] = "[stderr] " + output.get("text", "")
                text = output.get("text", "")
                if len(text) > MAX_OUTPUT_CHARS:
                    output["text"] = text[:MAX_OUTPUT_CHARS] + (
                        f"\n[... {len(text) - MAX_OUTPUT_CHARS:,} more characters cut]\n")
            for key, value in list(output.get("data", {}).items()):
                if key.startswith("text/") and len(value) > MAX_OUTPUT_CHARS:
                    output["data"][key] = value[:MAX_OUTPUT_CHARS] + "\n[... cut]"
        return cell, resources


# SecondVerdict: for every lab, the lab's tests (hidden ones included) are run again by a
# referee process against the student's functions in a fresh sandbox (only data crosses:
# arrays, tensors, numbers, and the state of models and optimizers); a test
# that passed in the student's kernel but fails there scores 0, and the disagreement goes to
# the review report. Whatever the student's code did inside its own kernel (input
# transformers, patched checks, objects that read the expected value) cannot reach it.
c.Autograde.autograde_preprocessors = [
    SandboxedExecute,
    FairOutputs,
    SecondVerdict,
    ReviewFlags,  # review/<lab>/<student>.json: introspection, sandbox violations, crashes
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
