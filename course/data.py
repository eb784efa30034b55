"""Offline-first data for the course.

Everything here works with no network: data sets that scikit-learn, networkx and matplotlib
ship, and data the course generates. Larger public sets (MNIST, Fashion-MNIST, CIFAR-10) are
optional upgrades through :func:`download`, which fails fast with a clear message when the
machine is offline. Nothing is downloaded at import time or by default.

>>> split = load_digits()
>>> split.X_train.shape, split.X_test.shape
((1438, 1, 8, 8), (359, 1, 8, 8))
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = [
    "Split",
    "SHAPE_CLASSES",
    "SHAPE_CLASSES_ALL",
    "DIGIT_SIZES",
    "train_test_split",
    "load_digits",
    "load_diabetes",
    "load_karate",
    "load_photo",
    "make_linear",
    "make_height_weight",
    "make_moons",
    "make_spirals",
    "make_shapes",
    "cache_dir",
    "download",
]

SHAPE_CLASSES = ("circle", "square", "triangle", "star", "cross", "ring")
#: All classes :func:`make_shapes` can draw; ``classes=k`` uses the first k.
SHAPE_CLASSES_ALL = SHAPE_CLASSES + (
    "hexagon",
    "crescent",
    "arrow",
    "circle-outline",
    "square-outline",
    "triangle-outline",
    "arc",
    "stripes",
    "checks",
    "dots",
)
DIGIT_SIZES = (8, 16, 28, 32)
DOWNLOADABLE = ("mnist", "fashion-mnist", "cifar10")


class Split(NamedTuple):
    """A train/test split: ``X_train, y_train, X_test, y_test``."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def train_test_split(X, y, test_fraction: float = 0.2, seed: int = 0, stratify: bool = True):
    """Shuffle and split ``X: (n, ...)`` and ``y: (n,)`` into a :class:`Split`.

    The split is deterministic for a given ``seed``; with ``stratify`` every class keeps its
    share in both parts (integer labels only: float targets are split at random).

    >>> X, y = np.arange(10).reshape(10, 1), np.array([0, 1] * 5)
    >>> s = train_test_split(X, y, test_fraction=0.2)
    >>> len(s.X_train), len(s.X_test), sorted(s.y_test.tolist())
    (8, 2, [0, 1])
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same length; got {len(X)} and {len(y)}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1; got {test_fraction}")
    rng = np.random.default_rng(seed)
    # stratify by class only for labels; real-valued targets (regression) are split at random
    by_class = stratify and not np.issubdtype(y.dtype, np.floating)
    groups = [np.flatnonzero(y == c) for c in np.unique(y)] if by_class else [np.arange(len(y))]
    test = []
    for idx in groups:
        idx = rng.permutation(idx)
        test.extend(idx[: int(round(test_fraction * len(idx)))])
    is_test = np.zeros(len(y), dtype=bool)
    is_test[test] = True
    train_idx = rng.permutation(np.flatnonzero(~is_test))
    test_idx = rng.permutation(np.flatnonzero(is_test))
    return Split(X[train_idx], y[train_idx], X[test_idx], y[test_idx])


def _resize(images: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of ``images: (N, C, H, W)`` to ``(N, C, size, size)``."""
    import torch
    import torch.nn.functional as F

    tensor = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    out = F.interpolate(tensor, size=(size, size), mode="bilinear", align_corners=False)
    return out.clamp(0, 1).numpy()


def load_digits(
    image_size: int = 8, flatten: bool = False, test_fraction: float = 0.2, seed: int = 0
) -> Split:
    """scikit-learn's 1,797 handwritten digits (real 8x8 scans), split 80/20 by default.

    Returns a :class:`Split` with ``X: (N, 1, S, S)`` float32 in [0, 1] (``(N, S*S)`` with
    ``flatten=True``) and ``y: (N,)`` int64 labels 0-9. ``image_size`` of 16, 28 or 32 resizes
    the digits bilinearly for CNNs such as LeNet.
    """
    from sklearn.datasets import load_digits as sk_digits

    if image_size not in DIGIT_SIZES:
        raise ValueError(f"image_size must be one of {DIGIT_SIZES}; got {image_size}")
    bunch = sk_digits()
    X = (bunch.images / 16.0).astype(np.float32)[:, None]  # (N, 1, 8, 8)
    if image_size != 8:
        X = _resize(X, image_size)
    if flatten:
        X = X.reshape(len(X), -1)  # (N, S*S)
    return train_test_split(X, bunch.target.astype(np.int64), test_fraction, seed)


def load_diabetes(standardize: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's diabetes regression set: ``X: (442, 10)``, ``y: (442,)`` (float64).

    With ``standardize`` every feature has mean 0 and standard deviation 1 (the target keeps
    its units: a disease-progression score one year after baseline).
    """
    from sklearn.datasets import load_diabetes as sk_diabetes

    bunch = sk_diabetes(scaled=False)
    X = bunch.data.astype(np.float64)
    if standardize:
        X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X, bunch.target.astype(np.float64)


def load_karate():
    """Zachary's karate club: the networkx graph and the faction of each of its 34 members.

    Returns ``(G, labels)`` with ``labels: (34,)`` int64, 0 for "Mr. Hi" and 1 for "Officer".

    >>> G, labels = load_karate()
    >>> G.number_of_nodes(), G.number_of_edges(), int(labels.sum())
    (34, 78, 17)
    """
    import networkx as nx

    G = nx.karate_club_graph()
    labels = np.array([G.nodes[v]["club"] != "Mr. Hi" for v in G.nodes], dtype=np.int64)
    return G, labels


def load_photo(gray: bool = False, size: tuple[int, int] | None = None) -> np.ndarray:
    """matplotlib's bundled sample photo (Grace Hopper) as floats in [0, 1].

    Returns ``(H, W, 3)``, or ``(H, W)`` with ``gray=True`` (luma weights 0.299, 0.587,
    0.114); ``size=(h, w)`` resizes it.
    """
    from matplotlib import cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as handle:
        img = Image.open(handle).convert("RGB")
        if size is not None:
            if len(size) != 2 or min(size) < 1:
                raise ValueError(f"size must be (height, width) with positive ints; got {size}")
            img = img.resize((int(size[1]), int(size[0])), Image.BILINEAR)
        photo = np.asarray(img, dtype=np.float64) / 255.0
    if gray:
        photo = photo @ np.array([0.299, 0.587, 0.114])
    return photo


def make_linear(
    n: int = 100, d: int = 1, w=None, b: float = 0.0, noise: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Noisy linear data ``y = X w + b + noise``: ``X: (n, d)`` standard normal, ``y: (n,)``.

    ``w`` defaults to ``1, 2, ..., d``.

    >>> X, y = make_linear(1000, d=2, w=[3.0, -1.0], b=0.5, noise=0.0)
    >>> bool(np.allclose(y, X @ [3.0, -1.0] + 0.5))
    True
    """
    if n < 1 or d < 1:
        raise ValueError(f"n and d must be positive; got n={n}, d={d}")
    rng = np.random.default_rng(seed)
    w = np.arange(1.0, d + 1) if w is None else np.asarray(w, dtype=np.float64)
    if w.shape != (d,):
        raise ValueError(f"w must have shape ({d},) to match d={d}; got {w.shape}")
    X = rng.standard_normal((n, d))
    y = X @ w + b + noise * rng.standard_normal(n)
    return X, y


def make_height_weight(n: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic heights (cm) and weights (kg) of adults: a linear trend plus noise.

    Heights are normal around 170 cm (sd 10); weight = 0.9 * height - 85 + noise (sd 7 kg).
    """
    rng = np.random.default_rng(seed)
    height = rng.normal(170.0, 10.0, n)
    weight = 0.9 * height - 85.0 + rng.normal(0.0, 7.0, n)
    return height, weight


def make_moons(n: int = 200, noise: float = 0.1, seed: int = 0):
    """Two interleaving half circles: ``X: (n, 2)``, ``y: (n,)`` in {0, 1}."""
    rng = np.random.default_rng(seed)
    n0 = n // 2
    t0 = rng.uniform(0, np.pi, n0)
    t1 = rng.uniform(0, np.pi, n - n0)
    X = np.concatenate(
        [np.stack([np.cos(t0), np.sin(t0)], 1), np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], 1)]
    )
    y = np.concatenate([np.zeros(n0), np.ones(n - n0)]).astype(np.int64)
    X = X + noise * rng.standard_normal(X.shape)
    order = rng.permutation(n)
    return X[order], y[order]


def make_spirals(n: int = 300, classes: int = 3, noise: float = 0.2, seed: int = 0):
    """``classes`` interleaved spiral arms: ``X: (n, 2)``, ``y: (n,)`` in 0..classes-1."""
    if classes < 2:
        raise ValueError(f"classes must be at least 2; got {classes}")
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    r = rng.uniform(0.05, 1.0, n)
    theta = y * 2 * np.pi / classes + 4.0 * r + noise * rng.standard_normal(n)
    X = np.stack([r * np.sin(theta), r * np.cos(theta)], 1)
    order = rng.permutation(n)
    return X[order], y[order].astype(np.int64)


def _shape_sdf(kind: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Signed distance (in shape units, negative inside) of each class's outline.

    ``kind: (n,)`` shape indices into :data:`_OUTLINES`; ``u, v: (n, H, W)`` coordinates in
    the shape's own frame. Each outline is evaluated only on the images of its class.
    """
    sdf = np.empty_like(u)
    for label, outline in enumerate(_OUTLINES):
        mask = kind == label
        if mask.any():
            sdf[mask] = outline(u[mask], v[mask])
    return sdf


def _star(u, v):
    return np.hypot(u, v) - (0.62 + 0.33 * np.cos(5 * np.arctan2(v, u)))


def _cross(u, v):
    au, av = np.abs(u), np.abs(v)
    return np.minimum(np.maximum(au - 0.28, av - 0.9), np.maximum(au - 0.9, av - 0.28))


def _crescent(u, v):
    return np.maximum(np.hypot(u, v) - 0.9, 0.72 - np.hypot(u - 0.45, v))


def _arrow(u, v):
    shaft = np.maximum(np.abs(v) - 0.17, np.abs(u + 0.3) - 0.55)  # u from -0.85 to 0.25
    head = np.maximum(0.1 - u, np.abs(v) - 0.75 * (0.9 - u))  # a triangle pointing to +u
    return np.minimum(shaft, head)


#: Outline of every base shape: (u, v) in the shape's frame -> signed distance in radii.
_OUTLINES = (
    lambda u, v: np.hypot(u, v) - 0.9,  # circle
    lambda u, v: np.maximum(np.abs(u), np.abs(v)) - 0.75,  # square
    lambda u, v: np.maximum(0.866 * np.abs(u) + 0.5 * v, -v) - 0.45,  # triangle
    _star,
    _cross,
    lambda u, v: np.abs(np.hypot(u, v) - 0.7) - 0.2,  # ring
    lambda u, v: np.maximum(np.abs(u), 0.5 * np.abs(u) + 0.866 * np.abs(v)) - 0.8,  # hexagon
    _crescent,
    _arrow,
)


def _pattern(kind: np.ndarray, u: np.ndarray, v: np.ndarray, period: np.ndarray) -> np.ndarray:
    """Coverage in [0, 1] of a texture: 0 stripes, 1 checks, 2 dots; ``period`` in pixels.

    ``kind, period: (n,)``; ``u, v: (n, H, W)`` in pixels in the shape's rotated frame.
    """
    p = period[:, None, None]
    su = np.sin(2 * np.pi * u / p)
    sv = np.sin(2 * np.pi * v / p)
    out = np.empty_like(u)
    stripes, checks, dots = kind == 0, kind == 1, kind == 2
    out[stripes] = np.clip(0.5 + 2.0 * su[stripes], 0, 1)
    out[checks] = np.clip(0.5 + 2.0 * (su * sv)[checks], 0, 1)
    # dots: a disc of radius period/4 around every point of a square lattice
    fu = (u / p + 0.25) % 1.0 - 0.5
    fv = (v / p + 0.25) % 1.0 - 0.5
    dist = np.hypot(fu, fv) * p - p / 4
    out[dots] = np.clip(0.5 - dist[dots], 0, 1)
    return out


def make_shapes(
    n: int, image_size: int = 32, seed: int = 0, classes: int = 6
) -> tuple[np.ndarray, np.ndarray]:
    """A procedurally drawn colour image set of shapes, outlines and textures.

    Each image shows one object at a random position, scale and rotation, in a random colour
    on a random background with a soft gradient, plus pixel noise. The classes are the first
    ``classes`` names of :data:`SHAPE_CLASSES_ALL`: the six filled shapes of
    :data:`SHAPE_CLASSES` (the default, and the course's original set: its images are
    unchanged for a given seed), three more filled shapes (hexagon, crescent, arrow), thin
    outlines (circle, square, triangle, an open arc) and a random base shape filled with a
    texture (stripes, checks, dots). Returns ``X: (n, 3, H, W)`` float32 in [0, 1] and
    ``y: (n,)`` int64 with balanced classes. Deterministic for a seed.

    >>> X, y = make_shapes(12, image_size=16)
    >>> X.shape, X.dtype, sorted(set(y.tolist()))
    ((12, 3, 16, 16), dtype('float32'), [0, 1, 2, 3, 4, 5])
    >>> make_shapes(32, classes=16)[1].max()
    np.int64(15)
    """
    if n < 1:
        raise ValueError(f"n must be positive; got {n}")
    if image_size < 8:
        raise ValueError(f"image_size must be at least 8 pixels; got {image_size}")
    if isinstance(classes, bool) or not isinstance(classes, int | np.integer):
        raise ValueError(f"classes must be an integer from 2 to 16; got {classes!r}")
    if not 2 <= classes <= len(SHAPE_CLASSES_ALL):
        raise ValueError(f"classes must be from 2 to {len(SHAPE_CLASSES_ALL)}; got {classes}")
    rng = np.random.default_rng(seed)
    # the extra classes draw from their own stream, so the original draws stay as they were
    extra = np.random.default_rng([seed, 1]) if classes > len(SHAPE_CLASSES) else None
    S = image_size
    y = rng.permutation(np.arange(n) % classes).astype(np.int64)
    out = np.empty((n, 3, S, S), dtype=np.float32)
    grid = (np.arange(S, dtype=np.float32) + 0.5)[None, :]
    for start in range(0, n, 2048):  # chunks keep the memory small for large n
        k = y[start : start + 2048]
        m = len(k)
        scale = rng.uniform(0.22, 0.4, m).astype(np.float32) * S  # radius in pixels
        cx = rng.uniform(scale, S - scale)
        cy = rng.uniform(scale, S - scale)
        angle = rng.uniform(0, 2 * np.pi, m)
        cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
        dx = (grid - cx[:, None])[:, None, :] / scale[:, None, None]  # (m, 1, W)
        dy = (grid - cy[:, None])[:, :, None] / scale[:, None, None]  # (m, H, 1)
        u = (cos * dx + sin * dy).astype(np.float32)  # (m, H, W)
        v = (-sin * dx + cos * dy).astype(np.float32)
        if extra is None:
            sdf = _shape_sdf(k, u, v) * scale[:, None, None]  # distance in pixels
            alpha = np.clip(0.5 - sdf, 0.0, 1.0)[:, None]  # (m, 1, H, W), antialiased edge
        else:
            alpha = _extra_alpha(extra, k, u, v, scale)
        fg, bg = _contrasting_colours(rng, m)
        ramp = rng.uniform(-0.15, 0.15, (m, 3, 1, 1)) * (grid[None, None] / S - 0.5)
        background = np.clip(bg[:, :, None, None] + ramp, 0, 1)
        img = alpha * fg[:, :, None, None] + (1 - alpha) * background
        img += rng.normal(0, 1, img.shape) * rng.uniform(0.01, 0.06, (m, 1, 1, 1))
        out[start : start + m] = np.clip(img, 0, 1)
    return out, y


def _extra_alpha(rng, k: np.ndarray, u: np.ndarray, v: np.ndarray, scale: np.ndarray):
    """Foreground coverage ``(m, 1, H, W)`` for labels ``k: (m,)`` of the 16-class set."""
    m = len(k)
    px = scale[:, None, None]
    width = rng.uniform(1.2, 2.4, m).astype(np.float32)[:, None, None]  # stroke, pixels
    period = rng.uniform(3.0, 5.5, m).astype(np.float32)  # texture period, pixels
    base = rng.integers(0, 7, m)  # the outline a texture fills (circle .. hexagon, no ring)
    base = np.where(base == 5, 6, base)
    shape = np.where(k < 9, k, 0)
    shape[(k == 10)] = 1  # square outline
    shape[(k == 11)] = 2  # triangle outline
    shape[k >= 13] = base[k >= 13]
    sdf = _shape_sdf(shape, u, v) * px  # signed distance in pixels
    outline = (k >= 9) & (k <= 12)
    sdf[outline] = np.abs(sdf[outline]) - width[outline] / 2
    arc = k == 12
    if arc.any():  # an open circle: a gap of 60-150 degrees cut out of the outline
        gap = rng.uniform(np.pi / 3, 5 * np.pi / 6, int(arc.sum()))[:, None, None] / 2
        into_gap = (gap - np.abs(np.arctan2(v[arc], -u[arc]))) * np.hypot(u[arc], v[arc])
        sdf[arc] = np.maximum(sdf[arc], into_gap * px[arc])
    alpha = np.clip(0.5 - sdf, 0.0, 1.0)
    texture = k >= 13
    if texture.any():
        alpha[texture] *= _pattern(
            k[texture] - 13, u[texture] * px[texture], v[texture] * px[texture], period[texture]
        )
    return alpha[:, None]


def _contrasting_colours(rng, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Foreground and background RGB colours ``(m, 3)`` at least 0.35 apart (Euclidean)."""
    fg = rng.uniform(0, 1, (m, 3))
    bg = rng.uniform(0, 1, (m, 3))
    for _ in range(20):
        close = np.linalg.norm(fg - bg, axis=1) < 0.35
        if not close.any():
            break
        bg[close] = rng.uniform(0, 1, (int(close.sum()), 3))
    close = np.linalg.norm(fg - bg, axis=1) < 0.35
    bg[close] = 1.0 - fg[close].round()  # last resort: the opposite corner of the cube
    return fg, bg


def cache_dir() -> Path:
    """Where optional downloads go: ``$COURSE_DATA`` or ``~/.cache/dl-course``."""
    return Path(os.environ.get("COURSE_DATA", Path.home() / ".cache" / "dl-course"))


def _online(host: str, timeout: float) -> bool:
    import socket

    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def download(name: str, train: bool = True, root=None, timeout: float = 5.0):
    """Optional: a torchvision data set (``mnist``, ``fashion-mnist``, ``cifar10``).

    Uses the copy in :func:`cache_dir` when it is there; otherwise downloads it, but first
    checks within ``timeout`` seconds that the server answers, and raises ``RuntimeError``
    with a clear message when the machine is offline (it never hangs). The course never needs
    these sets: every notebook runs on the bundled data.
    """
    import torchvision

    name = name.lower()
    if name not in DOWNLOADABLE:
        raise ValueError(f"name must be one of {DOWNLOADABLE}; got {name!r}")
    classes = {
        "mnist": (torchvision.datasets.MNIST, "ossci-datasets.s3.amazonaws.com"),
        "fashion-mnist": (
            torchvision.datasets.FashionMNIST,
            "fashion-mnist.s3-website.eu-central-1.amazonaws.com",
        ),
        "cifar10": (torchvision.datasets.CIFAR10, "www.cs.toronto.edu"),
    }
    cls, host = classes[name]
    root = Path(root) if root is not None else cache_dir()
    transform = torchvision.transforms.ToTensor()
    try:
        return cls(str(root), train=train, download=False, transform=transform)
    except RuntimeError:
        pass  # not cached yet
    if not _online(host, timeout):
        raise RuntimeError(
            f"{name} is not in {root} and {host} cannot be reached (offline?). "
            "The course runs on the bundled data (course.data.load_digits, make_shapes); "
            f"to use {name}, run this once on a machine with internet access, or copy the "
            "files into that folder (set COURSE_DATA to choose it)."
        )
    return cls(str(root), train=train, download=True, transform=transform)
