"""Transfer the course backbone to digits: scratch vs feature extraction vs fine-tuning.

Digits (scikit-learn's 8x8 scans) are resized to 32x32 and repeated to 3 channels, the input
the backbone was pretrained on (16 classes of generated shapes and textures). For 10, 50 and
all (about 140) labels per class and several seeds, four ways to train a 10-class classifier:

- ``scratch``: the same ResNet, randomly initialized, every layer trained;
- ``features``: the pretrained backbone frozen (eval mode), a new linear head on its pooled
  features (computed once and cached in memory);
- ``last stage``: stem..layer2 frozen (their outputs cached), layer3 and a new head trained;
- ``all``: every layer trained from the pretrained weights, the backbone at a 10x smaller lr.

Every method gets the same number of optimizer steps. Prints one JSON line per run and a table
(mean ± standard deviation over the seeds) of test accuracy on the 359 held-out digits.

Run: ``python benchmarks/transfer_digits.py [--seeds 3] [--steps 60]``
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from course import data, models  # noqa: E402

METHODS = ("scratch", "features", "last stage", "all")


def digits32():
    """Digits as the backbone's input: ``X: (N, 3, 32, 32)`` in [0, 1], ``y: (N,)``."""
    split = data.load_digits(image_size=32)
    to3 = lambda X: torch.from_numpy(np.repeat(X, 3, axis=1))  # noqa: E731
    return (
        to3(split.X_train),
        torch.from_numpy(split.y_train),
        to3(split.X_test),
        torch.from_numpy(split.y_test),
    )


def per_class_subset(y: torch.Tensor, k: int | None, seed: int) -> torch.Tensor:
    """Indices of ``k`` examples of each class (all with ``k=None``), drawn with ``seed``."""
    g = torch.Generator().manual_seed(seed)
    picks = []
    for c in range(10):
        idx = torch.nonzero(y == c).flatten()
        picks.append(idx[torch.randperm(len(idx), generator=g)][:k])
    return torch.cat(picks)


def train(params, forward, X, y, steps: int, seed: int, batch_size: int = 64):
    """Adam over ``params`` (a list of param groups) for ``steps`` minibatch steps."""
    opt = torch.optim.Adam(params)
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(len(X), (min(batch_size, len(X)),), generator=g)
        opt.zero_grad()
        nn.functional.cross_entropy(forward(X[idx]), y[idx]).backward()
        opt.step()


def accuracy(forward, X, y) -> float:
    with torch.no_grad():
        return float((forward(X).argmax(1) == y).float().mean())


def run(method, backbone, cache, X, y, Xte, yte, steps, seed):
    torch.manual_seed(seed)
    if method == "features":
        F, Fte = cache["pooled"]
        head = nn.Linear(F.shape[1], 10)
        train([{"params": head.parameters(), "lr": 1e-2}], head, F, y, steps, seed)
        return accuracy(head, Fte, yte)
    if method == "last stage":
        H, Hte = cache["layer2"]
        stage = copy.deepcopy(backbone.layer3)
        head = nn.Linear(backbone.feature_dim, 10)
        net = nn.Sequential(stage, backbone.pool, head)
        net.train()
        params = [{"params": stage.parameters(), "lr": 1e-3}, {"params": head.parameters()}]
        for group in params[1:]:
            group["lr"] = 1e-2
        train(params, net, H, y, steps, seed)
        net.eval()
        return accuracy(net, Hte, yte)
    if method == "scratch":
        model = models.ResNet(**{**backbone.card["kwargs"], "num_classes": 10})
        params = [{"params": model.parameters(), "lr": 3e-3}]
    else:  # "all": pretrained weights, a new head, a smaller lr for the backbone
        model = copy.deepcopy(backbone)
        model.fc = nn.Linear(model.feature_dim, 10)
        head = list(model.fc.parameters())
        body = [p for n, p in model.named_parameters() if not n.startswith("fc.")]
        params = [{"params": body, "lr": 3e-4}, {"params": head, "lr": 3e-3}]
    model.train()
    train(params, model, X, y, steps, seed)
    model.eval()
    return accuracy(model, Xte, yte)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 0], help="0 = all")
    args = parser.parse_args()
    torch.set_num_threads(2)
    backbone = models.pretrained("course-resnet")
    Xtr, ytr, Xte, yte = digits32()
    start = time.perf_counter()
    with torch.no_grad():
        h_tr = backbone.layer2(backbone.layer1(backbone.stem(Xtr)))
        h_te = backbone.layer2(backbone.layer1(backbone.stem(Xte)))
        cache = {
            "layer2": (h_tr, h_te),
            "pooled": (backbone.pool(backbone.layer3(h_tr)), backbone.pool(backbone.layer3(h_te))),
        }
    print(json.dumps({"cache_seconds": round(time.perf_counter() - start, 1)}))
    results = {}
    for size in args.sizes:
        for method in METHODS:
            for seed in range(args.seeds):
                idx = per_class_subset(ytr, size or None, seed)
                source = {"scratch": Xtr, "all": Xtr, "features": cache["pooled"][0]}.get(
                    method, cache["layer2"][0]
                )
                t0 = time.perf_counter()
                acc = run(
                    method,
                    backbone,
                    {k: (v[0][idx], v[1]) for k, v in cache.items()},
                    source[idx],
                    ytr[idx],
                    Xte,
                    yte,
                    args.steps,
                    seed,
                )
                row = {"labels_per_class": size or "all", "method": method, "seed": seed}
                row.update(acc=round(acc, 4), seconds=round(time.perf_counter() - t0, 1))
                print(json.dumps(row), flush=True)
                results.setdefault((size, method), []).append(acc)
    print("labels/class | " + " | ".join(METHODS))
    for size in args.sizes:
        cells = [
            f"{100 * np.mean(results[size, m]):.1f} ± {100 * np.std(results[size, m]):.1f}"
            for m in METHODS
        ]
        print(f"{size or 'all'} | " + " | ".join(cells))


if __name__ == "__main__":
    main()
