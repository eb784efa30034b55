"""Parameters, multiply-adds and CPU inference time of the full-size torchvision models
(224x224) and of the compact models of ``course.models`` (32x32), as in lecture 06.

Counts use ``course.counting`` on the ``meta`` device (nothing allocated); the time of each
count is printed too (ResNet-152 should take about a second on an idle machine). Inference
time is the best of ``--repeats`` forward passes with random weights under ``torch.no_grad``,
in milliseconds per image: batch 1 at 224x224 for the full-size models, batch 64 at 32x32 for
the compact ones. Prints a table and, with ``--json``, one JSON line per model.

Run: ``OMP_NUM_THREADS=2 python benchmarks/model_speed.py [--repeats 3] [--skip-full-timing]``
(timing VGG-16 and ResNet-152 at 224x224 on a CPU takes a few seconds each).
"""

from __future__ import annotations

import argparse
import json
import time

FULL = ["alexnet", "vgg16", "googlenet", "resnet18", "resnet34", "resnet50", "resnet101",
        "resnet152"]  # fmt: skip
COMPACT = {
    "lenet5": {"in_channels": 3, "head": "gap"},
    "alexnet": {},
    "vgg": {},
    "inception": {},
    "resnet": {},
    "resnet_bottleneck": {},
}


def ms_per_image(model, input_size: tuple[int, ...], repeats: int) -> float:
    """Best-of-``repeats`` forward time in milliseconds per image (after one warm-up)."""
    import torch

    model.eval()
    x = torch.randn(input_size)
    best = float("inf")
    with torch.no_grad():
        model(x)
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            best = min(best, time.perf_counter() - start)
    return 1000 * best / input_size[0]


def full_size(name: str, repeats: int, timed: bool) -> dict:
    import torch
    import torchvision

    from course import counting

    builder = getattr(torchvision.models, name)
    kwargs = {"aux_logits": False, "init_weights": False} if name == "googlenet" else {}
    start = time.perf_counter()
    with torch.device("meta"):
        model = builder(weights=None, **kwargs)
    macs = counting.count_macs(model, (1, 3, 224, 224))
    count_seconds = time.perf_counter() - start
    ms = ms_per_image(builder(weights=None, **kwargs), (1, 3, 224, 224), repeats) if timed else None
    return {"model": name, "input": 224, "params": counting.count_parameters(model),
            "macs": macs, "count_seconds": round(count_seconds, 2), "ms_per_image": ms}


def compact(name: str, repeats: int) -> dict:
    from course import counting, models

    model = models.build(name, num_classes=6, **COMPACT[name])
    return {"model": f"course.{name}", "input": 32, "params": counting.count_parameters(model),
            "macs": counting.count_macs(model, (1, 3, 32, 32)),
            "ms_per_image": ms_per_image(model, (64, 3, 32, 32), repeats)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-full-timing", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    rows = [full_size(n, args.repeats, not args.skip_full_timing) for n in FULL]
    rows += [compact(n, args.repeats) for n in COMPACT]
    print(f"{'model':26s} {'input':>5s} {'params':>10s} {'MACs':>10s} {'ms/image':>9s}")
    for r in rows:
        ms = f"{r['ms_per_image']:9.2f}" if r["ms_per_image"] is not None else "        -"
        macs = f"{r['macs'] / 1e9:8.2f} G" if r["macs"] > 1e9 else f"{r['macs'] / 1e6:8.1f} M"
        print(f"{r['model']:26s} {r['input']:5d} {r['params'] / 1e6:9.2f}M {macs} {ms}")
    for r in rows:
        if "count_seconds" in r:
            print(f"counting {r['model']} on the meta device: {r['count_seconds']} s")
    if args.json:
        for r in rows:
            print(json.dumps(r))


if __name__ == "__main__":
    main()
