"""Convolution arithmetic and small reference NumPy operations for the convolution explorer.

Arithmetic: :func:`output_size`, :func:`dropped`, :func:`padding_for`, :func:`conv_params`,
:func:`linear_params`, :func:`receptive_field` and :func:`receptive_field_table`.

Reference operations on a single image (no batch, no cache, no backward pass; lab 04 asks
students to write the batched versions themselves): :func:`correlate2d`,
:func:`convolve2d`, :func:`pool2d` and :func:`window_positions`. They give the same numbers
as ``torch.nn.functional.conv2d``, ``max_pool2d`` and ``avg_pool2d``.

Names: ``N`` input size, ``F`` kernel size, ``S`` stride, ``P`` zero padding on each side,
``d`` dilation. The effective (dilated) kernel size is ``d(F − 1) + 1`` and the output size
is ``⌊(N − d(F − 1) − 1 + 2P)/S⌋ + 1``, rounded down as in PyTorch.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

import numpy as np

__all__ = [
    "output_size",
    "dropped",
    "padding_for",
    "conv_params",
    "linear_params",
    "receptive_field",
    "receptive_field_table",
    "correlate2d",
    "convolve2d",
    "pool2d",
    "window_positions",
]

PADDING_MODES = ("valid", "same", "full")


def _int(name: str, value, minimum: int) -> int:
    """``value`` as a Python int >= ``minimum``, or a ValueError that names the argument."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer; got {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer; got {value!r}") from None
    if number < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {number}")
    return number


def _pair(name: str, value, minimum: int) -> tuple[int, int]:
    """An int or a (rows, cols) pair as two ints."""
    if isinstance(value, (tuple, list, np.ndarray)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a (rows, cols) pair; got {value!r}")
        return _int(name, value[0], minimum), _int(name, value[1], minimum)
    number = _int(name, value, minimum)
    return number, number


def output_size(
    n: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    strict: bool = False,
) -> int:
    """Output size of a convolution or pooling along one axis: ``⌊(N − d(F−1) − 1 + 2P)/S⌋ + 1``.

    Rounds down, as PyTorch does. With ``strict=True`` it raises a ValueError when the
    windows do not tile the padded input exactly (the stride skips the last cells).

    >>> [output_size(7, 3, stride=s) for s in (1, 2, 3)]
    [5, 3, 2]
    >>> output_size(7, 3, padding=1)
    7
    >>> output_size(7, 3, dilation=2)  # effective kernel 2·(3 − 1) + 1 = 5
    3
    >>> output_size(7, 3, stride=3, strict=True)
    Traceback (most recent call last):
    ...
    ValueError: (7 − 3 + 0)/3 + 1 = 2.33 is not an integer: stride 3 drops 1 column (or row)
    """
    n = _int("input size n", n, 1)
    kernel_size = _int("kernel_size", kernel_size, 1)
    stride = _int("stride", stride, 1)
    padding = _int("padding (zeros added on each side)", padding, 0)
    dilation = _int("dilation", dilation, 1)
    effective = dilation * (kernel_size - 1) + 1
    padded = n + 2 * padding
    if effective > padded:
        what = "kernel size F" if dilation == 1 else "effective kernel size d(F − 1) + 1"
        raise ValueError(
            f"the {what} = {effective} is larger than the padded input N + 2P = {padded}; "
            "use a smaller kernel or dilation, or more padding"
        )
    size = (padded - effective) // stride + 1
    left = (padded - effective) % stride
    if strict and left:
        exact = (padded - effective) / stride + 1
        plural = "s" if left > 1 else ""
        raise ValueError(
            f"({n} − {effective} + {2 * padding})/{stride} + 1 = {exact:.2f} is not an integer: "
            f"stride {stride} drops {left} column{plural} (or row{plural})"
        )
    return size


def dropped(n: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """How many cells at the end of the padded input no window covers (0 when it tiles).

    >>> dropped(7, 3, stride=3), dropped(7, 3, stride=2)
    (1, 0)
    """
    size = output_size(n, kernel_size, stride, padding, dilation)
    effective = dilation * (kernel_size - 1) + 1
    return n + 2 * padding - ((size - 1) * stride + effective)


def padding_for(mode: str, kernel_size: int, dilation: int = 1) -> int:
    """Zero padding on each side for ``'valid'``, ``'same'`` or ``'full'`` convolution.

    ``'valid'``: no padding, windows stay inside the input. ``'same'``: ``d(F − 1)/2``, the
    output has the input's size when the stride is 1. ``'full'``: ``d(F − 1)``, every window
    that overlaps the input at all.

    >>> [padding_for(mode, 3) for mode in ("valid", "same", "full")]
    [0, 1, 2]
    >>> padding_for("same", 3, dilation=2)
    2
    """
    kernel_size = _int("kernel_size", kernel_size, 1)
    dilation = _int("dilation", dilation, 1)
    span = dilation * (kernel_size - 1)
    if mode == "valid":
        return 0
    if mode == "full":
        return span
    if mode == "same":
        if span % 2:
            raise ValueError(
                f"'same' padding needs d(F − 1) = {span} to be even to pad both sides equally "
                f"(kernel_size={kernel_size}, dilation={dilation}); use an odd kernel size"
            )
        return span // 2
    raise ValueError(f"mode must be one of {PADDING_MODES}; got {mode!r}")


def conv_params(in_channels: int, out_channels: int, kernel_size, bias: bool = True) -> int:
    """Learnable parameters of a conv layer: ``(F·F·D₁)·K`` weights plus ``K`` biases.

    ``kernel_size`` is ``F`` or ``(F_h, F_w)``; ``D₁ = in_channels``, ``K = out_channels``.

    >>> conv_params(1, 64, 7)  # 64 filters of 7x7 on one channel
    3200
    >>> conv_params(3, 64, (3, 3), bias=False)
    1728
    """
    in_channels = _int("in_channels", in_channels, 1)
    out_channels = _int("out_channels", out_channels, 1)
    kh, kw = _pair("kernel_size", kernel_size, 1)
    return kh * kw * in_channels * out_channels + (out_channels if bias else 0)


def linear_params(in_features: int, out_features: int, bias: bool = True) -> int:
    """Learnable parameters of a fully connected layer: ``in·out`` weights plus ``out`` biases.

    >>> linear_params(512 * 512, 64)  # a 512x512 image into 64 hidden units
    16777280
    """
    in_features = _int("in_features", in_features, 1)
    out_features = _int("out_features", out_features, 1)
    return in_features * out_features + (out_features if bias else 0)


def receptive_field_table(layers: Sequence[Sequence[int]]) -> list[tuple[int, int]]:
    """Receptive field and jump after each layer of a stack.

    ``layers`` lists ``(kernel, stride)`` or ``(kernel, stride, dilation)`` tuples, first
    layer first (a pooling layer is ``(window, stride)``). Returns one ``(size, jump)`` pair
    per layer: ``size`` is how many input pixels (along one axis) one output cell sees and
    ``jump`` is the distance in input pixels between neighbouring output cells (the product
    of the strides so far). Each layer adds ``d(F − 1)·jump`` to the size.

    >>> receptive_field_table([(3, 1), (2, 2), (3, 1)])
    [(3, 1), (4, 2), (8, 2)]
    """
    size, jump = 1, 1
    table = []
    for index, layer in enumerate(layers):
        if not isinstance(layer, (tuple, list)) or len(layer) not in (2, 3):
            raise ValueError(
                f"layer {index} must be (kernel, stride) or (kernel, stride, dilation); "
                f"got {layer!r}"
            )
        kernel = _int(f"layer {index} kernel", layer[0], 1)
        stride = _int(f"layer {index} stride", layer[1], 1)
        dilation = _int(f"layer {index} dilation", layer[2], 1) if len(layer) == 3 else 1
        size += dilation * (kernel - 1) * jump
        jump *= stride
        table.append((size, jump))
    return table


def receptive_field(layers: Sequence[Sequence[int]]) -> int:
    """Receptive field (in input pixels along one axis) of the last layer of a stack.

    ``layers`` is as in :func:`receptive_field_table`, which also gives the jump (product of
    strides) after each layer.

    >>> receptive_field([(3, 1)] * 3)  # three stacked 3x3 convolutions see 7x7
    7
    >>> receptive_field([(3, 1, 2)])  # one dilated 3x3 sees 5x5
    5
    """
    table = receptive_field_table(layers)
    return table[-1][0] if table else 1


def _as_chw(image, name: str = "image") -> tuple[np.ndarray, bool]:
    """``image: (H, W)`` or ``(C, H, W)`` as a float (C, H, W) array and whether it was 2-D."""
    x = np.asarray(image, dtype=np.float64)
    if x.ndim == 2:
        return x[None], True
    if x.ndim == 3:
        return x, False
    raise ValueError(f"{name} must have shape (H, W) or (C, H, W); got {x.shape}")


def _padding_pair(padding, kernel_hw: tuple[int, int], dilation: tuple[int, int]):
    if isinstance(padding, str):
        return tuple(padding_for(padding, k, d) for k, d in zip(kernel_hw, dilation, strict=True))
    return _pair("padding", padding, 0)


def correlate2d(image, kernel, stride=1, padding=0, dilation=1) -> np.ndarray:
    """Cross-correlation (what deep-learning libraries call convolution) of one image.

    ``image: (H, W)`` with ``kernel: (kh, kw)`` gives ``(H', W')``; ``image: (C, H, W)``
    with ``kernel: (C, kh, kw)`` (one filter as deep as the image) gives ``(H', W')``;
    with ``kernel: (K, C, kh, kw)`` (K filters) it gives ``(K, H', W')``. ``stride``,
    ``padding`` and ``dilation`` are ints or ``(rows, cols)`` pairs; ``padding`` may also be
    ``'valid'``, ``'same'`` or ``'full'``. Zero padding, no bias, float64 output equal to
    ``torch.nn.functional.conv2d``.

    >>> x = np.arange(16).reshape(4, 4)
    >>> correlate2d(x, [[1, 0], [0, -1]])
    array([[-5., -5., -5.],
           [-5., -5., -5.],
           [-5., -5., -5.]])
    >>> correlate2d(x, np.ones((3, 3)), stride=2, padding=1)
    array([[10., 24.],
           [51., 90.]])
    """
    x, was_2d = _as_chw(image)  # (C, H, W)
    w = np.asarray(kernel, dtype=np.float64)
    channels = x.shape[0]
    if w.ndim == 2:
        if not was_2d:
            raise ValueError(
                f"kernel {w.shape} is 2-D but the image has {channels} channels; give a "
                f"kernel of shape (C, kh, kw) = ({channels}, {w.shape[0]}, {w.shape[1]})"
            )
        weights = w[None, None]  # (1, 1, kh, kw)
    elif w.ndim == 3:
        weights = w[None]  # (1, C, kh, kw)
    elif w.ndim == 4:
        weights = w
    else:
        raise ValueError(
            f"kernel must have shape (kh, kw), (C, kh, kw) or (K, C, kh, kw); got {w.shape}"
        )
    if weights.shape[1] != channels:
        raise ValueError(
            f"kernel has depth {weights.shape[1]} but the image has {channels} channels "
            f"(image {x.shape}, kernel {w.shape})"
        )
    kh, kw = weights.shape[2:]
    if kh < 1 or kw < 1:
        raise ValueError(f"kernel must not be empty; got shape {w.shape}")
    sh, sw = _pair("stride", stride, 1)
    dh, dw = _pair("dilation", dilation, 1)
    ph, pw = _padding_pair(padding, (kh, kw), (dh, dw))
    output_size(x.shape[1], kh, sh, ph, dh)  # raises a clear error if the kernel is too big
    output_size(x.shape[2], kw, sw, pw, dw)
    padded = np.pad(x, ((0, 0), (ph, ph), (pw, pw)))  # (C, H + 2P, W + 2P)
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    windows = np.lib.stride_tricks.sliding_window_view(padded, span, axis=(1, 2))
    windows = windows[:, ::sh, ::sw, ::dh, ::dw]  # (C, H', W', kh, kw)
    out = np.einsum("chwij,kcij->khw", windows, weights)  # (K, H', W')
    return out if w.ndim == 4 else out[0]


def convolve2d(image, kernel, stride=1, padding=0, dilation=1) -> np.ndarray:
    """True convolution: :func:`correlate2d` with the kernel flipped in both spatial axes.

    Shapes as in :func:`correlate2d`. Flipping makes convolution commutative and is what
    mathematics and signal processing call convolution; a learned kernel does not care.

    >>> convolve2d([[1, 2, 3]], [[1, 0, -1]])  # correlate2d would give -2
    array([[2.]])
    """
    w = np.asarray(kernel, dtype=np.float64)
    if w.ndim < 2:
        raise ValueError(f"kernel must have at least 2 dimensions (kh, kw); got {w.shape}")
    return correlate2d(image, w[..., ::-1, ::-1], stride, padding, dilation)


def pool2d(x, window, stride=None, mode: str = "max") -> np.ndarray:
    """Max or average pooling of ``x: (H, W)`` or ``(C, H, W)`` (each channel on its own).

    ``window`` and ``stride`` are ints or ``(rows, cols)`` pairs; ``stride`` defaults to the
    window, as in PyTorch. ``mode`` is ``'max'`` or ``'avg'``. No padding.

    >>> pool2d([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], 2)
    array([[6., 8.],
           [3., 4.]])
    >>> pool2d([[1, 2], [3, 4]], 2, mode="avg")
    array([[2.5]])
    """
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg'; got {mode!r}")
    data, was_2d = _as_chw(x, "x")  # (C, H, W)
    kh, kw = _pair("window", window, 1)
    sh, sw = (kh, kw) if stride is None else _pair("stride", stride, 1)
    output_size(data.shape[1], kh, sh)  # clear error when the window is too big
    output_size(data.shape[2], kw, sw)
    windows = np.lib.stride_tricks.sliding_window_view(data, (kh, kw), axis=(1, 2))
    windows = windows[:, ::sh, ::sw]  # (C, H', W', kh, kw)
    out = windows.max(axis=(3, 4)) if mode == "max" else windows.mean(axis=(3, 4))
    return out[0] if was_2d else out


def window_positions(
    i: int,
    j: int,
    kernel_size,
    stride=1,
    padding=0,
    dilation=1,
    input_shape: tuple[int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Input rows and columns that output cell ``(i, j)`` reads (for highlighting).

    Returns ``(rows, cols)``, 1-D int arrays of length ``kh`` and ``kw`` in the coordinates
    of the unpadded input: a negative index, or one ``>= H`` (``>= W``), is a padding cell.
    Add the padding to get coordinates in the padded input. With ``input_shape=(H, W)`` it
    also checks that ``(i, j)`` is a cell of the output.

    >>> window_positions(0, 1, 3, stride=2, padding=1)
    (array([-1,  0,  1]), array([1, 2, 3]))
    >>> window_positions(1, 0, 3, dilation=2)
    (array([1, 3, 5]), array([0, 2, 4]))
    """
    kh, kw = _pair("kernel_size", kernel_size, 1)
    sh, sw = _pair("stride", stride, 1)
    dh, dw = _pair("dilation", dilation, 1)
    ph, pw = _padding_pair(padding, (kh, kw), (dh, dw))
    i = _int("output row i", i, 0)
    j = _int("output column j", j, 0)
    if input_shape is not None:
        rows_out = output_size(input_shape[0], kh, sh, ph, dh)
        cols_out = output_size(input_shape[1], kw, sw, pw, dw)
        if i >= rows_out or j >= cols_out:
            raise ValueError(f"output cell ({i}, {j}) is outside the {rows_out}x{cols_out} output")
    rows = i * sh - ph + dh * np.arange(kh)
    cols = j * sw - pw + dw * np.arange(kw)
    return rows, cols
