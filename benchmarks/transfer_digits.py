"""Transfer the course backbone to digits: scratch vs feature extraction vs fine-tuning.

The experiment of lecture 09, as a script with a configurable step budget. Digits
(scikit-learn's 8x8 scans) are resized to 32x32 and repeated to 3 channels, the input the
backbone was pretrained on (16 classes of generated shapes and textures). For 10, 50 and all
(about 144) labels per class and several seeds, four ways to train a 10-class classifier:

- ``scratch``: the same ResNet, randomly initialized, every layer trained (Adam 3e-3);
- ``feature extraction``: the pretrained backbone frozen (eval mode), a new linear head on its
  pooled features (computed once, standardized with the labelled images' mean and std; 3e-2);
- ``last stage``: stem..layer2 frozen (their outputs computed once), layer3 (1e-3) and a new
  head (1e-2) trained;
- ``fine-tune all``: every layer from the pretrained weights, backbone 1e-3, new head 1e-2.

Every method gets the same number of optimizer steps of the same batch size; batch-norm
layers that trained get their running statistics re-estimated with the final weights on up
to 128 training images. Prints one JSON line per run and a table (mean ± standard deviation
over the seeds) of test accuracy on the 359 held-out digits.

Run: ``python benchmarks/transfer_digits.py [--seeds 3] [--steps 30] [--batch 8]``
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
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from course import data, models  # noqa: E402

METHODS = ("scratch", "feature extraction", "last stage", "fine-tune all")


def digits32():
    """Digits as the backbone's input: ``X: (N, 3, 32, 32)`` in [0, 1], ``y: (N,)``."""
    split = data.load_digits()

    def big(X):  # (N, 1, 8, 8) -> (N, 3, 32, 32)
        X = F.interpolate(torch.from_numpy(X), size=(32, 32), mode="bilinear",
                          align_corners=False)
        return X.clamp(0, 1).repeat(1, 3, 1, 1)

    return (big(split.X_train), torch.from_numpy(split.y_train), big(split.X_test),
            torch.from_numpy(split.y_test))


def per_class_subset(y: torch.Tensor, k: int | None, seed: int) -> torch.Tensor:
    """Indices of ``k`` examples of each class (all with ``k=None``), drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    y = y.numpy()
    return torch.from_numpy(
        np.concatenate([rng.permutation(np.flatnonzero(y == c))[:k] for c in range(10)])
    )


def train(model, groups, X, y, seed: int, steps: int, batch_size: int):
    """Adam over ``groups`` for ``steps`` random minibatches; re-estimate trained BN stats."""
    optimizer = torch.optim.Adam(groups)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(steps):
        batch = torch.randint(len(X), (batch_size,), generator=generator)
        loss = F.cross_entropy(model(X[batch]), y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
    if norms:
        with torch.no_grad():
            model(X[torch.randperm(len(X), generator=generator)[:128]])
    for norm in norms:
        norm.momentum = 0.1
    return model.eval()


def accuracy(model, X, y) -> float:
    model.eval()
    with torch.no_grad():
        return float((model(X).argmax(1) == y).float().mean())


def run(method, backbone, cache, Xtr, ytr, Xte, yte, idx, seed, steps, batch_size):
    """Test accuracy of ``method`` trained on the training images ``idx``."""
    torch.manual_seed(seed)
    fit = dict(seed=seed, steps=steps, batch_size=batch_size)
    if method == "scratch":
        net = models.ResNet(**{**backbone.card["kwargs"], "num_classes": 10})
        train(net, [{"params": net.parameters(), "lr": 3e-3}], Xtr[idx], ytr[idx], **fit)
        return accuracy(net, Xte, yte)
    if method == "feature extraction":
        F_tr, F_te = cache["pooled"]
        mean, std = F_tr[idx].mean(0), F_tr[idx].std(0) + 1e-6
        head = nn.Linear(F_tr.shape[1], 10)
        train(head, [{"params": head.parameters(), "lr": 3e-2}], (F_tr[idx] - mean) / std,
              ytr[idx], **fit)
        return accuracy(head, (F_te - mean) / std, yte)
    if method == "last stage":
        H_tr, H_te = cache["layer2"]
        top = nn.Sequential(copy.deepcopy(backbone.layer3), backbone.pool,
                            nn.Linear(backbone.feature_dim, 10))
        train(top, [{"params": top[0].parameters(), "lr": 1e-3},
                    {"params": top[2].parameters(), "lr": 1e-2}], H_tr[idx], ytr[idx], **fit)
        return accuracy(top, H_te, yte)
    net = copy.deepcopy(backbone)
    net.fc = nn.Linear(net.feature_dim, 10)
    body = [p for name, p in net.named_parameters() if not name.startswith("fc.")]
    train(net, [{"params": body, "lr": 1e-3}, {"params": net.fc.parameters(), "lr": 1e-2}],
          Xtr[idx], ytr[idx], **fit)
    return accuracy(net, Xte, yte)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 0], help="0 = all")
    args = parser.parse_args()
    torch.set_num_threads(1)
    backbone = models.pretrained("course-resnet")
    Xtr, ytr, Xte, yte = digits32()
    start = time.perf_counter()
    with torch.no_grad():
        h = [backbone.layer2(backbone.layer1(backbone.stem(X))) for X in (Xtr, Xte)]
        cache = {"layer2": h, "pooled": [backbone.pool(backbone.layer3(x)) for x in h]}
    print(json.dumps({"cache_seconds": round(time.perf_counter() - start, 1)}))
    results = {}
    for size in args.sizes:
        for method in METHODS:
            for seed in range(args.seeds):
                idx = per_class_subset(ytr, size or None, seed)
                t0 = time.perf_counter()
                acc = run(method, backbone, cache, Xtr, ytr, Xte, yte, idx, seed, args.steps,
                          args.batch)
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
