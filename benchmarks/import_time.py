"""How long `import course` takes in a fresh interpreter (target: <= 0.3 s), and whether it
pulled in torch. Prints one JSON line, e.g. ``{"import_course_s": 0.05, "torch_imported": false}``.

Run: ``python benchmarks/import_time.py [--repeat 5]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

CODE = (
    "import time, sys; t = time.perf_counter(); import course; "
    "print(time.perf_counter() - t, 'torch' in sys.modules)"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    times, torch_seen = [], False
    for _ in range(args.repeat):
        out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True)
        seconds, torch_flag = out.stdout.split()
        times.append(float(seconds))
        torch_seen |= torch_flag == "True"
    result = {"import_course_s": round(statistics.median(times), 4), "torch_imported": torch_seen}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
