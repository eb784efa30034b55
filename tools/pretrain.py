"""Pretrain the course backbone: a small ResNet on 16 classes of generated shapes and textures.

The course ships the result (``course/checkpoints/course_resnet.pt``) and a JSON card beside it
(``course_resnet.json``: architecture, source data and seeds, optimizer, epochs, source test
accuracy on a held-out draw, sha256 of the file, torch version, training seconds), so that
lecture L09 and lab 08 transfer a network that nobody had to download. The run is
deterministic on the CPU: fixed seeds, a fixed thread count, deterministic algorithms.

    python -m tools.pretrain            # the shipped checkpoint (about 6 min on 2 idle cores)
    python -m tools.pretrain --quick --out /tmp/ckpt   # a tiny run for CI (seconds)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from course import data  # noqa: E402

__all__ = ["CONFIG", "QUICK", "pretrain", "sha256", "main"]

NAME = "course_resnet"
ARCH = {"block": "basic", "layers": [1, 1, 1], "widths": [16, 32, 64], "in_channels": 3}
#: The shipped run: 50,000 training images drawn in chunks, seen 4 times.
CONFIG = {
    "classes": 16,
    "image_size": 32,
    "chunks": 10,
    "chunk_size": 5000,
    "train_seed": 1000,  # chunk i is make_shapes(chunk_size, seed=train_seed + i, classes=16)
    "test_size": 4000,
    "test_seed": 999,
    "epochs": 4,
    "batch_size": 64,
    "lr": 3e-3,
    "weight_decay": 1e-4,
    "torch_seed": 0,
    "threads": 2,
}
#: The CI run: the same code on 2,000 images.
QUICK = {**CONFIG, "chunks": 1, "chunk_size": 2000, "test_size": 500, "epochs": 1}


def sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _evaluate(model, X: np.ndarray, y: np.ndarray, batch_size: int = 500) -> float:
    import torch

    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(X), batch_size):
            logits = model(torch.from_numpy(X[i : i + batch_size]))
            correct += int((logits.argmax(1).numpy() == y[i : i + batch_size]).sum())
    return correct / len(X)


def pretrain(out_dir: Path, config: dict, log=print) -> dict:
    """Train the backbone with ``config``; write ``<out_dir>/course_resnet.{pt,json}``.

    Returns the card (the JSON content) as a dict.
    """
    import torch

    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(config["threads"])
    torch.use_deterministic_algorithms(True)
    # Once the loss is small, backward can produce subnormal floats, which many CPUs process
    # far more slowly than normal ones; flushing them to zero keeps late epochs as fast.
    torch.set_flush_denormal(True)
    try:
        return _pretrain(Path(out_dir), config, log)
    finally:  # the caller's settings come back (tests run in one process)
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)
        torch.set_flush_denormal(False)


def _pretrain(out_dir: Path, config: dict, log) -> dict:
    import torch
    from torch import nn

    from course.models import ResNet

    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config["torch_seed"])
    model = ResNet(num_classes=config["classes"], **ARCH)
    steps_per_chunk = -(-config["chunk_size"] // config["batch_size"])
    total_steps = config["epochs"] * config["chunks"] * steps_per_chunk
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config["lr"], weight_decay=config["weight_decay"]
    )
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config["lr"], total_steps=total_steps, pct_start=0.1
    )
    loss_fn = nn.CrossEntropyLoss()
    order = torch.Generator().manual_seed(config["torch_seed"])
    start = time.perf_counter()
    step = 0
    chunks: dict[int, tuple] = {}  # drawn once, kept for the later epochs (~12 MB per 1,000)
    for epoch in range(config["epochs"]):
        for chunk in range(config["chunks"]):
            if chunk not in chunks:
                X, y = data.make_shapes(
                    config["chunk_size"],
                    image_size=config["image_size"],
                    seed=config["train_seed"] + chunk,
                    classes=config["classes"],
                )
                chunks[chunk] = torch.from_numpy(X), torch.from_numpy(y)
            X_t, y_t = chunks[chunk]
            model.train()
            perm = torch.randperm(len(X_t), generator=order)
            running = 0.0
            for i in range(0, len(perm), config["batch_size"]):
                idx = perm[i : i + config["batch_size"]]
                optimizer.zero_grad()
                loss = loss_fn(model(X_t[idx]), y_t[idx])
                loss.backward()
                optimizer.step()
                schedule.step()
                running += loss.item()
                step += 1
            log(
                f"epoch {epoch + 1} chunk {chunk + 1}/{config['chunks']} step {step}/{total_steps}"
                f" loss {running / steps_per_chunk:.3f} {time.perf_counter() - start:.0f} s"
            )
    seconds = time.perf_counter() - start
    X_test, y_test = data.make_shapes(
        config["test_size"],
        image_size=config["image_size"],
        seed=config["test_seed"],
        classes=config["classes"],
    )
    accuracy = _evaluate(model, X_test, y_test)
    log(f"source test accuracy {accuracy:.4f} on {config['test_size']} held-out images")
    path = out_dir / f"{NAME}.pt"
    state = {key: value.detach().clone().contiguous() for key, value in model.state_dict().items()}
    torch.save(state, path)
    card = {
        "name": "course-resnet",
        "file": path.name,
        "sha256": sha256(path),
        "bytes": path.stat().st_size,
        "architecture": "course.models.ResNet",
        "kwargs": {**ARCH, "num_classes": config["classes"]},
        "classes": list(data.SHAPE_CLASSES_ALL[: config["classes"]]),
        "source_data": (
            f"[course.data.make_shapes({config['chunk_size']}, image_size={config['image_size']},"
            f" seed={config['train_seed']} + i, classes={config['classes']})"
            f" for i in range({config['chunks']})]"
        ),
        "train_images": config["chunks"] * config["chunk_size"],
        "test_data": (
            f"course.data.make_shapes({config['test_size']}, image_size={config['image_size']},"
            f" seed={config['test_seed']}, classes={config['classes']})"
        ),
        "source_test_accuracy": round(accuracy, 4),
        "epochs": config["epochs"],
        "optimizer": (
            f"AdamW(lr={config['lr']}, weight_decay={config['weight_decay']}), "
            "OneCycleLR(pct_start=0.1), "
            f"batch_size={config['batch_size']}"
        ),
        "config": config,
        "torch_version": torch.__version__,
        "threads": config["threads"],
        "training_seconds": round(seconds, 1),
        "script": "python -m tools.pretrain",
    }
    (out_dir / f"{NAME}.json").write_text(json.dumps(card, indent=2) + "\n")
    return card


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny run for CI (needs --out)")
    parser.add_argument("--out", type=Path, default=None, help="output folder")
    parser.add_argument(
        "--chunks", type=int, default=None, help="override the number of training chunks"
    )
    parser.add_argument("--chunk-size", type=int, default=None, help="images per chunk")
    args = parser.parse_args(argv)
    if args.quick and args.out is None:
        parser.error("--quick writes a throwaway checkpoint: give --out (not the package)")
    out = args.out or ROOT / "course" / "checkpoints"
    config = dict(QUICK if args.quick else CONFIG)
    if args.chunks is not None:
        config["chunks"] = args.chunks
    if args.chunk_size is not None:
        config["chunk_size"] = args.chunk_size
    card = pretrain(out, config)
    print(
        json.dumps(
            {k: card[k] for k in ("sha256", "bytes", "source_test_accuracy", "training_seconds")}
        )
    )


if __name__ == "__main__":
    main()
