"""Autograde time of every lab, as an instructor's grader sees it, with and without the sandbox.

Each lab is released into a temporary course; the solution (filled into the release as a
student would) and the unmodified release are submitted and autograded one at a time, once in
the bubblewrap sandbox (the course configuration) and once with ``COURSE_SANDBOX=off``. Prints
one JSON line per lab, e.g. ``{"lab": "lab00_warmup", "solution_s": 9.8, "blank_s": 6.1,
"solution_unsandboxed_s": 9.3, "blank_unsandboxed_s": 5.8, "sandbox_cost_s": 0.4,
"solution": 100.0, "blank": 0.0, "max": 100.0}`` (``sandbox_cost_s``: the mean extra seconds
per submission; the budget is about 1 s). Both runs exclude the referee's second verdict
(``COURSE_SECOND_VERDICT=off``); for the labs that have one, a third run with it prints
``second_verdict_s``, its mean extra seconds per submission (the release's is near 0: a
submission that passed nothing in the kernel gets no referee), and
``solution_with_second_verdict_s``, the solution's whole autograde time with it.

Run: ``python benchmarks/autograde_times.py [lab ...]``
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from grader.sandbox import OPT_OUT  # noqa: E402
from grader.verdict import OPT_OUT as VERDICT_OPT_OUT  # noqa: E402
from grader.verdict import SecondVerdict  # noqa: E402
from tools.labs import grade_in_temp_course, lab_names  # noqa: E402


def _grade(lab: str, sandboxed: bool, second_verdict: bool = False) -> dict:
    saved = {k: os.environ.pop(k, None) for k in (OPT_OUT, VERDICT_OPT_OUT)}
    if not sandboxed:
        os.environ[OPT_OUT] = "off"
    if not second_verdict:
        os.environ[VERDICT_OPT_OUT] = "off"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            return grade_in_temp_course(lab, Path(tmp))
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None)
            if value is not None:
                os.environ[key] = value


def main() -> None:
    for lab in sys.argv[1:] or lab_names():
        plain = _grade(lab, sandboxed=False)
        boxed = _grade(lab, sandboxed=True)
        seconds, scores = boxed["seconds"], boxed["scores"]
        extra = [seconds[s] - plain["seconds"][s] for s in ("solution", "blank")]
        row = {
            "lab": lab,
            "solution_s": round(seconds["solution"], 1),
            "blank_s": round(seconds["blank"], 1),
            "solution_unsandboxed_s": round(plain["seconds"]["solution"], 1),
            "blank_unsandboxed_s": round(plain["seconds"]["blank"], 1),
            "sandbox_cost_s": round(sum(extra) / len(extra), 2),
            "solution": scores["solution"][0],
            "blank": scores["blank"][0],
            "max": scores["solution"][1],
        }
        if lab in SecondVerdict().labs:
            both = _grade(lab, sandboxed=True, second_verdict=True)
            extra = [both["seconds"][s] - seconds[s] for s in ("solution", "blank")]
            row["second_verdict_s"] = round(sum(extra) / len(extra), 2)
            row["solution_with_second_verdict_s"] = round(both["seconds"]["solution"], 1)
            row["solution_with_second_verdict"] = both["scores"]["solution"][0]
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
