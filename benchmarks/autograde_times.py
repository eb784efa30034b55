"""Autograde time of every lab, as an instructor's grader sees it.

Each lab is released into a temporary course; the solution (filled into the release as a
student would) and the unmodified release are submitted and autograded one at a time. Prints
one JSON line per lab, e.g. ``{"lab": "lab00_warmup", "solution_autograde_s": 9.8,
"blank_autograde_s": 6.1, "solution": 100.0, "blank": 0.0, "max": 100.0}``.

Run: ``python benchmarks/autograde_times.py [lab ...]``
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools.labs import grade_in_temp_course, lab_names  # noqa: E402


def main() -> None:
    for lab in sys.argv[1:] or lab_names():
        with tempfile.TemporaryDirectory() as tmp:
            graded = grade_in_temp_course(lab, Path(tmp))
        scores, seconds = graded["scores"], graded["seconds"]
        row = {
            "lab": lab,
            "solution_autograde_s": round(seconds["solution"], 1),
            "blank_autograde_s": round(seconds["blank"], 1),
            "solution": scores["solution"][0],
            "blank": scores["blank"][0],
            "max": scores["solution"][1],
        }
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
