"""Figures for the course. Every function takes ``ax=None`` (or ``axes=None``), draws on it
(or on a new figure) and returns the axes, so figures compose in notebooks."""

from __future__ import annotations

import numpy as np

__all__ = [
    "learning_curves",
    "image",
    "image_grid",
    "confusion_matrix",
    "decision_boundary",
    "graph",
    "embedding",
]


def _axes(ax, figsize=(5, 4)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def learning_curves(history, axes=None):
    """Loss (left) and accuracy (right) per epoch, train and validation, from a history.

    ``history`` is a :class:`course.train.History` or any dict with ``train_loss`` (and
    optionally ``val_loss``, ``train_acc``, ``val_acc``, ``epoch``). Returns the two axes.
    """
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9, 3))
    epochs = history.get("epoch") or list(range(1, len(history["train_loss"]) + 1))
    for ax, metric, label in zip(axes, ("loss", "acc"), ("loss", "accuracy"), strict=False):
        for split, style in (("train", "-o"), ("val", "--s")):
            values = np.asarray(history.get(f"{split}_{metric}", []), dtype=float)
            if len(values) and np.isfinite(values).any():
                ax.plot(epochs[: len(values)], values, style, ms=3, label=split)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend()
    return axes


def image(img, ax=None, title: str | None = None, cmap: str | None = None, **kwargs):
    """Show one image: ``(H, W)``, ``(H, W, 3)`` or channels-first ``(C, H, W)``."""
    ax = _axes(ax, figsize=(4, 4))
    img = _to_hwc(np.asarray(img))
    if img.ndim == 2:
        cmap = cmap or "gray"
    ax.imshow(img, cmap=cmap, **kwargs)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return ax


def _to_hwc(img: np.ndarray) -> np.ndarray:
    if img.ndim == 3 and img.shape[0] in (1, 3) and img.shape[-1] not in (1, 3):
        img = np.moveaxis(img, 0, -1)  # (C, H, W) -> (H, W, C)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.ndim not in (2, 3):
        raise ValueError(f"an image must be (H, W), (H, W, C) or (C, H, W); got {img.shape}")
    return img


def image_grid(images, labels=None, predictions=None, class_names=None, ncols: int = 8, ax=None):
    """A grid of images ``(N, C, H, W)`` or ``(N, H, W)`` with their labels as titles.

    With ``predictions`` each title reads ``label → prediction``, red where they differ.
    Returns the axes of the grid (one figure-level axes holding the tiles).
    """
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    n = len(images)
    if n == 0:
        raise ValueError("image_grid needs at least one image")
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    if ax is None:
        fig = plt.figure(figsize=(1.3 * ncols, 1.45 * nrows))
        ax = fig.add_subplot(111)
    ax.set_axis_off()
    fig = ax.figure
    box = ax.get_position()
    names = class_names

    def name(k):
        return str(names[int(k)]) if names is not None else str(int(k))

    for i in range(n):
        r, c = divmod(i, ncols)
        w, h = box.width / ncols, box.height / nrows
        tile = fig.add_axes([box.x0 + c * w, box.y0 + (nrows - 1 - r) * h, w * 0.92, h * 0.8])
        image(images[i], ax=tile)
        if labels is not None:
            title, colour = name(labels[i]), "black"
            if predictions is not None:
                title += f" → {name(predictions[i])}"
                colour = "black" if predictions[i] == labels[i] else "crimson"
            tile.set_title(title, fontsize=8, color=colour, pad=2)
    return ax


def confusion_matrix(cm, class_names=None, ax=None, normalize: bool = False):
    """Draw a confusion matrix ``cm: (K, K)`` (rows: true class, columns: predicted)."""
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"cm must be a square (K, K) matrix; got shape {cm.shape}")
    ax = _axes(ax, figsize=(5, 4.5))
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    im = ax.imshow(shown, cmap="Blues")
    ax.figure.colorbar(im, ax=ax, fraction=0.046)
    k = len(cm)
    names = class_names if class_names is not None else [str(i) for i in range(k)]
    ax.set_xticks(range(k), names, rotation=45 if k > 10 else 0)
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = shown.max() / 2
    for i in range(k):
        for j in range(k):
            text = f"{shown[i, j]:.2f}" if normalize else str(cm[i, j])
            colour = "white" if shown[i, j] > threshold else "black"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color=colour)
    return ax


def decision_boundary(predict_fn, X, y, ax=None, resolution: int = 200):
    """Regions of a 2-D classifier with the data on top.

    ``predict_fn`` maps points ``(M, 2)`` to labels ``(M,)``; ``X: (N, 2)``, ``y: (N,)``.
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (N, 2) for a 2-D decision boundary; got {X.shape}")
    ax = _axes(ax)
    span = X.max(0) - X.min(0)
    pad = 0.1 * np.where(span > 0, span, 10.0)  # a single point still gets a window
    lo, hi = X.min(0) - pad, X.max(0) + pad
    xx, yy = np.meshgrid(
        np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    )
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    zz = np.asarray(predict_fn(grid)).reshape(xx.shape)
    ax.contourf(xx, yy, zz, alpha=0.25, cmap="tab10", vmin=0, vmax=9, levels=np.arange(11) - 0.5)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="tab10", vmin=0, vmax=9, s=14, edgecolors="k", lw=0.3)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    return ax


def graph(G, node_color=None, pos=None, ax=None, labels: bool = True, cmap: str = "coolwarm"):
    """Draw a networkx graph; ``node_color`` is one value per node (e.g. class labels)."""
    import networkx as nx

    ax = _axes(ax, figsize=(5, 5))
    pos = pos if pos is not None else nx.spring_layout(G, seed=0)
    nx.draw_networkx_edges(G, pos, ax=ax, alpha=0.3)
    nx.draw_networkx_nodes(
        G,
        pos,
        ax=ax,
        node_color=node_color if node_color is not None else "tab:blue",
        cmap=cmap,
        node_size=220,
        edgecolors="k",
        linewidths=0.5,
    )
    if labels:
        nx.draw_networkx_labels(G, pos, ax=ax, font_size=7)
    ax.set_axis_off()
    return ax


def embedding(Z, G=None, node_color=None, marked=None, ax=None, cmap: str = "coolwarm",
              title: str | None = None):
    """Nodes at 2-D positions ``Z: (n, 2)`` (e.g. a GCN's hidden features) with the edges of
    ``G`` (nodes in the order ``list(G)``) drawn between them; ``marked`` nodes get a star.

    >>> import networkx as nx
    >>> ax = embedding(np.random.rand(4, 2), nx.path_graph(4), node_color=[0, 0, 1, 1])
    >>> len(ax.lines), len(ax.collections)
    (3, 1)
    """
    ax = _axes(ax, figsize=(4, 4))
    Z = np.asarray(Z, dtype=float)
    if Z.ndim != 2 or Z.shape[1] != 2:
        raise ValueError(f"Z must have shape (n, 2); got {Z.shape}")
    if G is not None:
        index = {v: i for i, v in enumerate(G)}
        for u, v in G.edges():
            ax.plot(*Z[[index[u], index[v]]].T, color="0.75", lw=0.5, zorder=0)
    colors = node_color if node_color is not None else "tab:blue"
    ax.scatter(Z[:, 0], Z[:, 1], c=colors, cmap=cmap, s=36, edgecolors="k", linewidths=0.5,
               zorder=2)
    if marked is not None and len(marked):
        marked = list(marked)
        ax.plot(Z[marked, 0], Z[marked, 1], "*", ms=16, mfc="gold", mec="k", zorder=3,
                label="labelled")
    if title:
        ax.set_title(title)
    return ax
