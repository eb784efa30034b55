"""The convolution explorer's numbers: kernels, parsing, the layer's output and one frame.

No widgets and no drawing here. The preset kernels are integers over a common denominator
(the Gaussian blur is (1 2 1)ᵀ(1 2 1)/16), and every weight is written over that denominator
(2/16, not 1/8) in the text box, on the picture and in the products. :func:`apply_kernel`
computes the layer (the numbers come from :mod:`course.conv`) and :class:`Frame` holds
everything one picture shows, for :func:`course.widgets.convolution_view.render`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from math import gcd

import numpy as np

from course import conv

__all__ = [
    "KERNEL_PRESETS",
    "MIXING_PRESETS",
    "DEFAULT_GRID",
    "MAX_GRID",
    "MAX_STRIDE",
    "PHOTO_SIZES",
    "MINUS",
    "Frame",
    "kernel_preset",
    "parse_matrix",
    "matrix_text",
    "kernel_text",
    "common_denominator",
    "over",
    "format_value",
    "format_sum",
    "format_weight",
    "apply_kernel",
    "resize_kernel",
    "pooled_cells",
]

KERNEL_PRESETS = (
    "identity",
    "box blur",
    "Gaussian blur",
    "sharpen",
    "Sobel x",
    "Sobel y",
    "Laplacian",
    "emboss",
    "random",
)

MIXING_PRESETS = {
    "RGB → gray (luma)": [[0.299, 0.587, 0.114]],
    "identity": [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
    "swap red and blue": [[0, 0, 1], [0, 1, 0], [1, 0, 0]],
    "sepia": [[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]],
    "red minus green": [[1, -1, 0]],
}

DEFAULT_GRID = """\
0 0 1 3 3 3 2
0 1 0 3 2 3 3
1 0 0 2 3 3 3
0 0 1 3 3 2 3
0 1 0 3 3 3 3
1 0 0 3 2 3 3
0 0 1 3 3 3 2"""

MAX_GRID = 12  # cells per side, so that the numbers stay readable
MAX_STRIDE = 6
PHOTO_SIZES = (32, 48, 64, 96)  # heights offered for the photo
PHOTO_ASPECT = 512 / 600  # width / height of matplotlib's grace_hopper.jpg
MINUS = "\u2212"


# --- kernels and parsing ------------------------------------------------------------------


def kernel_preset(name: str, size: int = 3, rng=None) -> tuple[np.ndarray, int]:
    """A preset kernel as ``(integers (size, size), denominator)``; the kernel is their ratio.

    >>> numerators, denominator = kernel_preset("Gaussian blur", 3)
    >>> numerators.tolist(), denominator
    ([[1, 2, 1], [2, 4, 2], [1, 2, 1]], 16)
    """
    if size not in (3, 5):
        raise ValueError(f"preset kernels are 3x3 or 5x5; got size {size}")
    centre = np.zeros((size, size), dtype=np.int64)
    centre[size // 2, size // 2] = 1
    binomial = np.array([1, 2, 1] if size == 3 else [1, 4, 6, 4, 1])
    if name == "identity":
        return centre, 1
    if name == "box blur":
        return np.ones((size, size), dtype=np.int64), size * size
    if name == "Gaussian blur":
        return np.outer(binomial, binomial), int(binomial.sum()) ** 2
    if name == "sharpen":  # identity minus a Laplacian: boosts what differs from around it
        if size == 3:
            return np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]), 1
        ring = [[0, 0, -1, 0, 0], [0, -1, -2, -1, 0], [-1, -2, 17, -2, -1]]
        return np.array(ring + ring[1::-1]), 1
    if name in ("Sobel x", "Sobel y"):
        slope = np.array([-1, 0, 1] if size == 3 else [-1, -2, 0, 2, 1])
        sobel = np.outer(binomial, slope)  # smooth along one axis, differentiate along the other
        return (sobel if name == "Sobel x" else sobel.T), 1
    if name == "Laplacian":
        if size == 3:
            return np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]]), 1
        return np.array(
            [[0, 0, 1, 0, 0], [0, 1, 2, 1, 0], [1, 2, -16, 2, 1], [0, 1, 2, 1, 0], [0, 0, 1, 0, 0]]
        ), 1
    if name == "emboss":
        i, j = np.indices((size, size))
        ramp = np.clip(i + j - (size - 1), -2, 2)
        ramp[size // 2, size // 2] = 1
        return ramp, 1
    if name == "random":
        rng = np.random.default_rng() if rng is None else rng
        return rng.integers(-2, 3, size=(size, size)), 1
    raise ValueError(f"unknown kernel preset {name!r}; choose one of {KERNEL_PRESETS}")


def over(numerator: int, denominator: int) -> str:
    """``numerator/denominator`` as written everywhere in the explorer: over the kernel's
    common denominator, not reduced (2/16, not 1/8), so that the kernel's entries compare."""
    if denominator == 1 or numerator == 0:
        return str(int(numerator))
    return f"{int(numerator)}/{denominator}"


def kernel_text(numerators: np.ndarray, denominator: int) -> str:
    return _aligned([[over(n, denominator) for n in row] for row in numerators])


def _aligned(rows: list[list[str]]) -> str:
    """Rows of tokens as lines, each column right-aligned to its own widest token (narrow
    enough for a 5x5 kernel in sixteenths or 256ths to fit the text box unwrapped)."""
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    return "\n".join(" ".join(t.rjust(n) for t, n in zip(row, widths, strict=True)) for row in rows)


def parse_matrix(text: str, what: str) -> np.ndarray:
    """Rows of numbers (spaces or commas between them, fractions like 1/16 allowed).

    >>> parse_matrix("1 2\\n3 -1/2", "kernel").tolist()
    [[1.0, 2.0], [3.0, -0.5]]
    """
    cleaned = text.replace(MINUS, "-").replace("],", "\n").replace("[", "").replace("]", "")
    lines = [line for line in re.split(r"[\n;]", cleaned) if line.strip()]
    if not lines:
        raise ValueError(f"the {what} is empty: type rows of numbers, one row per line")
    rows = []
    for r, line in enumerate(lines, start=1):
        row = []
        for token in re.split(r"[,\s]+", line.strip()):
            try:
                row.append(float(Fraction(token)))
            except (ValueError, ZeroDivisionError):
                raise ValueError(f"row {r} of the {what}: {token!r} is not a number") from None
        if rows and len(row) != len(rows[0]):
            raise ValueError(
                f"row {r} of the {what} has {len(row)} number{'s' if len(row) != 1 else ''} "
                f"but row 1 has {len(rows[0])}"
            )
        rows.append(row)
    return np.array(rows)


# --- number formatting for the readouts ---------------------------------------------------


def format_value(value: float, fraction: bool = False) -> str:
    """A number for people: integers plainly, small fractions as a/b, otherwise 2 decimals."""
    if abs(value - round(value)) < 1e-9:
        text = str(int(round(value)))
    else:
        approx = Fraction(value).limit_denominator(256)
        if fraction and abs(float(approx) - value) < 1e-9:
            text = f"{approx.numerator}/{approx.denominator}"
        else:
            text = f"{value:.2f}"
    return text.replace("-", MINUS)


def format_sum(value: float) -> str:
    if abs(value - round(value)) < 1e-9:
        return str(int(round(value))).replace("-", MINUS)
    return f"{value:.4f}".rstrip("0").replace("-", MINUS)


@dataclass
class Frame:
    """Everything one picture of the explorer shows, computed from the controls."""

    x: np.ndarray  # (C, H, W) input
    photo: bool
    mixing: bool
    weights: np.ndarray  # (C, F, F) spatial kernel as applied, or (K, C) mixing matrix
    kernel_title: str
    padding: int
    dilation: int
    output: np.ndarray  # (H', W') or (K, H', W')
    cell: tuple[int, int]
    rows: np.ndarray  # input rows read by the current cell (negative / >= H: padding)
    cols: np.ndarray
    drop: tuple[int, int]  # rows, columns at the end of the padded input no window covers
    pooled: np.ndarray | None = None  # (H'', W'') or (K, H'', W'')
    pool: tuple[str, int, int] = ("none", 2, 2)  # mode, window, stride


def common_denominator(k: np.ndarray, largest: int = 256) -> int:
    """The smallest d <= ``largest`` that makes every weight times d an integer, else 1.

    >>> common_denominator(np.array([[1, 2, 1]]) / 16)
    16
    """
    d = 1
    for value in k.ravel():
        fraction = Fraction(float(value)).limit_denominator(largest)
        if abs(float(fraction) - value) > 1e-9:
            return 1
        d = d * fraction.denominator // gcd(d, fraction.denominator)
        if d > largest:
            return 1
    return d


def format_weight(value: float) -> str:
    """A weight without a common denominator (a mixing matrix): up to 4 significant digits.

    >>> format_weight(0.299), format_weight(-0.5), format_weight(2.0), format_weight(1 / 3)
    ('0.299', '-0.5', '2', '0.3333')
    """
    return f"{value:.4g}"


def matrix_text(matrix) -> str:
    """Rows of numbers for a Textarea: over the common denominator when there is one (as the
    preset kernels are written, 2/16), else integers and up to 4 significant digits."""
    matrix = np.asarray(matrix, dtype=float)
    denominator = common_denominator(matrix)
    if denominator > 1:
        return kernel_text(np.rint(matrix * denominator).astype(int), denominator)
    return _aligned([[format_weight(float(v)) for v in row] for row in matrix])


def apply_kernel(
    x: np.ndarray,
    kernel: np.ndarray,
    mixing_matrix: np.ndarray,
    mixing: bool,
    flip: bool,
    stride: int,
    padding: int,
    dilation: int,
) -> tuple[np.ndarray, np.ndarray, str]:
    """The layer the explorer shows on ``x: (C, H, W)``: the weights as applied, the output
    and the kernel panel's title.

    A spatial ``kernel: (F, F)`` is one filter of depth C (the same kernel on every channel,
    flipped left-right and up-down when ``flip``, i.e. a true convolution): weights
    ``(C, F, F)``, output ``(H', W')``. With ``mixing`` the ``mixing_matrix: (K, C)`` is a
    1x1 convolution with K filters: output ``(K, H', W')``.

    >>> x = np.arange(9.0).reshape(1, 3, 3)
    >>> weights, out, title = apply_kernel(x, np.eye(2), np.eye(1), False, True, 1, 0, 1)
    >>> out.tolist(), title
    ([[4.0, 6.0], [10.0, 12.0]], 'kernel flipped (convolution)')
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 3:
        raise ValueError(f"x must have shape (C, H, W); got {x.shape}")
    if mixing:
        weights = np.asarray(mixing_matrix, dtype=float)  # (K, C)
        if weights.ndim != 2 or weights.shape[1] != x.shape[0]:
            raise ValueError(
                f"mixing_matrix must have shape (K, {x.shape[0]}); got {weights.shape}"
            )
        out = conv.correlate2d(x, weights[:, :, None, None], stride, padding, 1)  # (K, H', W')
        return weights, out, "1x1 mixing matrix"
    kernel = np.asarray(kernel, dtype=float)
    if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1]:
        raise ValueError(f"kernel must have shape (F, F); got {kernel.shape}")
    k = kernel[::-1, ::-1] if flip else kernel
    weights = np.repeat(k[None], x.shape[0], axis=0)  # (C, F, F): one filter, depth C
    title = "kernel flipped (convolution)" if flip else "kernel"
    if x.shape[0] == 3:
        title += ", same on R, G, B"
    return weights, conv.correlate2d(x, weights, stride, padding, dilation), title


def resize_kernel(kernel: np.ndarray, size: int) -> np.ndarray:
    """``kernel: (F, F)`` as ``(size, size)``: zeros around it when larger, its centre when
    smaller (what the 3x3 / 5x5 toggle does to a kernel the student typed).

    >>> float(resize_kernel(np.ones((3, 3)), 5).sum())
    9.0
    >>> float(resize_kernel(np.arange(25.0).reshape(5, 5), 3)[1, 1])
    12.0
    """
    kernel = np.asarray(kernel, dtype=float)
    if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1]:
        raise ValueError(f"kernel must have shape (F, F); got {kernel.shape}")
    f = kernel.shape[0]
    if (size - f) % 2:
        raise ValueError(f"size must differ from {f} by an even number; got {size}")
    if size >= f:
        new, a = np.zeros((size, size)), (size - f) // 2
        new[a : a + f, a : a + f] = kernel
        return new
    b = (f - size) // 2
    return kernel[b : b + size, b : b + size].copy()


def pooled_cells(cell: tuple[int, int], pooled_shape, window: int, stride: int) -> list:
    """The cells ``(r, c)`` of the pooled map whose window holds output ``cell``.

    >>> pooled_cells((2, 1), (3, 3), window=3, stride=1)
    [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]
    """
    i, j = cell
    pooled_h, pooled_w = pooled_shape[-2:]
    return [
        (r, c)
        for r in range(pooled_h)
        for c in range(pooled_w)
        if r * stride <= i < r * stride + window and c * stride <= j < c * stride + window
    ]
