"""LeNet-5 on the digits, with the recipe of lecture 05: test accuracy and CPU training time.

Prints one JSON line, e.g.
``{"model": "lenet5", "test_acc": 0.98, "train_seconds": 9.1, "num_epochs": 20, ...}``.
``train_seconds`` is the wall time of ``course.train.fit`` (training plus the validation
pass after each epoch; no data loading, no test evaluation). :data:`RECIPE` is the recipe
of the lecture; tests/test_lenet_training.py checks that the two agree.

Run: ``OMP_NUM_THREADS=2 python benchmarks/lenet_training.py [--seed 0] [--threads 2]``
"""

from __future__ import annotations

import argparse
import json
import time

# The lecture's recipe (notebook_sources/lectures/05_pooling_and_lenet.py).
# The 28x28 digits are padded with 2 zero pixels on each side to LeNet's 32x32 input, as
# LeCun et al. (1998) did with MNIST; 15% of the training split is held out for validation
# (the learning curves); label smoothing softens the one-hot targets; inputs are normalized
# with the training pixels' mean and standard deviation.
RECIPE = {
    "image_size": 28,
    "pad": 2,
    "val_fraction": 0.15,
    "batch_size": 64,
    "lr": 3e-3,
    "num_epochs": 20,
    "label_smoothing": 0.1,
}


def pad_images(X, pad: int):
    """Zero-pad ``X: (N, C, H, W)`` by ``pad`` pixels on each side → ``(N, C, H+2p, W+2p)``."""
    import numpy as np

    return np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad)))


def train_lenet(seed: int = 0, **overrides) -> dict:
    """Train LeNet-5 on the digits with :data:`RECIPE` (``overrides`` replace entries) and
    return the test accuracy, the training seconds and the recipe."""
    import torch

    from course import data, models, train

    recipe = {**RECIPE, **overrides}
    train.set_seed(seed)
    split = data.load_digits(image_size=recipe["image_size"])
    X_train = pad_images(split.X_train, recipe["pad"])  # (N, 1, 32, 32)
    X_test = pad_images(split.X_test, recipe["pad"])
    inner = data.train_test_split(X_train, split.y_train, test_fraction=recipe["val_fraction"])
    # As the lecture: inputs normalized with the mean and standard deviation of the training
    # pixels only (validation and test digits use the same two numbers).
    mean, std = float(inner.X_train.mean()), float(inner.X_train.std())

    def normalize(X):
        return (X - mean) / std

    train_loader = train.make_loader(
        normalize(inner.X_train), inner.y_train, batch_size=recipe["batch_size"], seed=seed
    )
    val_loader = train.make_loader(normalize(inner.X_test), inner.y_test, batch_size=256,
                                   shuffle=False)
    test_loader = train.make_loader(normalize(X_test), split.y_test, batch_size=256,
                                    shuffle=False)
    model = models.LeNet5(image_size=X_train.shape[-1])
    start = time.perf_counter()
    history = train.fit(
        model,
        train_loader,
        num_epochs=recipe["num_epochs"],
        lr=recipe["lr"],
        loss_fn=torch.nn.CrossEntropyLoss(label_smoothing=recipe["label_smoothing"]),
        val_loader=val_loader,
        device=torch.device("cpu"),
        progress=False,
    )
    seconds = time.perf_counter() - start
    _, test_acc = train.evaluate(model, test_loader)
    return {
        "model": "lenet5",
        "seed": seed,
        "test_acc": round(test_acc, 4),
        "train_acc": round(history["train_acc"][-1], 4),
        "val_acc": round(history["val_acc"][-1], 4),
        "train_seconds": round(seconds, 2),
        "threads": torch.get_num_threads(),
        **recipe,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    print(json.dumps(train_lenet(args.seed)))


if __name__ == "__main__":
    main()
