"""Sandboxed, fair autograding for the course's nbgrader labs (see README, "Sandboxed grading").

- :mod:`grader.sandbox`: the bubblewrap command a graded kernel runs in;
- :mod:`grader.kernel`: the jupyter kernel manager that starts kernels in it;
- :mod:`grader.execute`: nbgrader's Execute, sandboxed, restarting dead or hung kernels;
- :mod:`grader.feedback`: feedback that cannot leak hidden tests or solutions;
- :mod:`grader.review`: the review report of suspicious submissions.

``nbgrader_config.py`` wires them in, so ``nbgrader autograde`` (command line, formgrader, the
class grader) always uses them. Importing this package does not import torch.
"""

__all__ = ["sandbox", "kernel", "execute", "feedback", "review"]
