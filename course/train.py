"""Training utilities: seeds, device, a fit loop with a progress bar, evaluation.

``fit`` works on the CPU here and on a GPU (CUDA or Apple MPS) when one is present; it returns
a :class:`History` of per-epoch figures that :func:`course.plot.learning_curves` draws.
"""

from __future__ import annotations

import random
import time

import numpy as np

__all__ = [
    "History",
    "set_seed",
    "get_device",
    "make_loader",
    "fit",
    "evaluate",
    "predict",
    "accuracy",
    "confusion_matrix",
]


class History(dict):
    """Per-epoch figures of a training run: lists under ``epoch``, ``train_loss``,
    ``train_acc``, ``val_loss``, ``val_acc`` and ``seconds`` (wall time of each epoch)."""

    KEYS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds")

    def __init__(self):
        super().__init__({key: [] for key in self.KEYS})

    def last(self) -> dict:
        """The figures of the latest epoch."""
        return {key: values[-1] for key, values in self.items() if values}


def set_seed(seed: int = 0) -> None:
    """Seed Python's, NumPy's and (when installed) torch's random generators."""
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch
    except ImportError:  # the course needs torch, but seeding should not fail without it
        return
    torch.manual_seed(seed)


def get_device():
    """The best available ``torch.device``: cuda, then mps (Apple), then cpu."""
    import torch

    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def make_loader(X, y, batch_size: int = 64, shuffle: bool = True, seed: int = 0):
    """A ``DataLoader`` over arrays or tensors ``X: (N, ...)`` and ``y: (N,)``.

    Float arrays become float32 tensors and integer labels int64; with ``shuffle`` the order
    is reproducible for a given ``seed``.
    """
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    X_t = torch.as_tensor(np.asarray(X) if not torch.is_tensor(X) else X)
    y_t = torch.as_tensor(np.asarray(y) if not torch.is_tensor(y) else y)
    if len(X_t) != len(y_t):
        raise ValueError(f"X and y must have the same length; got {len(X_t)} and {len(y_t)}")
    if X_t.is_floating_point():
        X_t = X_t.float()
    if not y_t.is_floating_point():
        y_t = y_t.long()
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        TensorDataset(X_t, y_t), batch_size=batch_size, shuffle=shuffle, generator=generator
    )


def accuracy(outputs, y) -> float:
    """Fraction of correct predictions; ``outputs`` are logits ``(N, K)`` or labels ``(N,)``.

    >>> accuracy(np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]]), np.array([0, 1, 1]))
    0.6666666666666666
    """
    outputs = _numpy(outputs)
    y = _numpy(y)
    pred = outputs.argmax(axis=1) if outputs.ndim == 2 else outputs
    if pred.shape != y.shape:
        raise ValueError(f"predictions {pred.shape} and labels {y.shape} must match")
    return float((pred == y).mean())


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """Counts ``C[i, j]`` of examples of true class ``i`` predicted as ``j``.

    >>> confusion_matrix([0, 1, 1, 2], [0, 2, 1, 2]).tolist()
    [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    """
    y_true = _numpy(y_true).astype(np.int64)
    y_pred = _numpy(y_pred).astype(np.int64)
    k = num_classes or int(max(y_true.max(), y_pred.max()) + 1)
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def _numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _default_loss():
    import torch

    return torch.nn.CrossEntropyLoss()


def _is_classification(outputs, y) -> bool:
    return outputs.ndim == 2 and not y.is_floating_point()


def evaluate(model, loader, loss_fn=None, device=None) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` over ``loader`` in eval mode (no gradients).

    The model's train/eval mode is restored afterwards. Accuracy is ``nan`` for regression.
    """
    import torch

    loss_fn = loss_fn or _default_loss()
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    classification = True
    with torch.no_grad():
        for X, y in loader:
            X, y = X.to(device), y.to(device)
            outputs = model(X)
            total_loss += loss_fn(outputs, y).item() * len(y)
            classification = _is_classification(outputs, y)
            if classification:
                correct += (outputs.argmax(1) == y).sum().item()
            count += len(y)
    model.train(was_training)
    return total_loss / count, (correct / count if classification else float("nan"))


def predict(model, data, device=None, batch_size: int = 256) -> np.ndarray:
    """Predicted labels (argmax of the outputs) for a loader or an array ``X: (N, ...)``."""
    import torch

    device = device or next(model.parameters()).device
    if not hasattr(data, "__iter__") or isinstance(data, np.ndarray) or torch.is_tensor(data):
        X = torch.as_tensor(np.asarray(data) if not torch.is_tensor(data) else data).float()
        data = [(X[i : i + batch_size], None) for i in range(0, len(X), batch_size)]
    was_training = model.training
    model.eval()
    preds = []
    with torch.no_grad():
        for X, _ in data:
            preds.append(model(X.to(device)).argmax(1).cpu().numpy())
    model.train(was_training)
    return np.concatenate(preds)


def fit(
    model,
    train_loader,
    num_epochs: int = 5,
    optimizer=None,
    lr: float = 1e-3,
    loss_fn=None,
    val_loader=None,
    device=None,
    progress: bool = True,
    live_plot: bool = False,
) -> History:
    """Train ``model`` for ``num_epochs`` and return its :class:`History`.

    ``optimizer`` defaults to Adam with learning rate ``lr``; ``loss_fn`` to cross-entropy.
    ``progress`` shows a ``tqdm`` bar per run (epochs) with the latest figures; ``live_plot``
    redraws the learning curves in a notebook as training goes (about ten times per run).
    """
    import torch
    from tqdm.auto import tqdm

    device = device or get_device()
    model.to(device)
    loss_fn = loss_fn or _default_loss()
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    history = History()
    handle = None  # the display handle of the live learning curves
    bar = tqdm(range(1, num_epochs + 1), desc="epochs", disable=not progress, leave=True)
    for epoch in bar:
        start = time.perf_counter()
        model.train()
        total_loss, correct, count = 0.0, 0, 0
        classification = True
        for X, y in train_loader:
            X, y = X.to(device), y.to(device)
            optimizer.zero_grad()
            outputs = model(X)
            loss = loss_fn(outputs, y)
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(y)
            classification = _is_classification(outputs, y)
            if classification:
                correct += (outputs.argmax(1) == y).sum().item()
            count += len(y)
        history["epoch"].append(epoch)
        history["train_loss"].append(total_loss / count)
        history["train_acc"].append(correct / count if classification else float("nan"))
        if val_loader is not None:
            val_loss, val_acc = evaluate(model, val_loader, loss_fn, device)
        else:
            val_loss, val_acc = float("nan"), float("nan")
        history["val_loss"].append(val_loss)
        history["val_acc"].append(val_acc)
        history["seconds"].append(time.perf_counter() - start)
        bar.set_postfix({k: round(v, 4) for k, v in history.last().items() if k != "epoch"})
        # redraw about ten times per run (a redraw costs a few tenths of a second)
        if live_plot and (epoch % max(1, num_epochs // 10) == 0 or epoch == num_epochs):
            handle = _redraw(history, handle)
    return history


def _redraw(history: History, handle):
    """Draw the learning curves, updating the figure shown earlier (notebooks only)."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    from course import plot

    fig, axes = plt.subplots(1, 2, figsize=(9, 3))
    plot.learning_curves(history, axes=axes)
    fig.tight_layout()
    if handle is None:
        handle = display(fig, display_id=True)
    else:
        handle.update(fig)
    plt.close(fig)
    return handle
