# %% [markdown]
# # Lab 04 — Convolution and pooling from scratch
#
# `torch.nn.Conv2d` and `torch.nn.MaxPool2d` are the building blocks of every CNN in this
# course. In this lab you build them yourself in NumPy — forward *and* backward — and then
# compare them with PyTorch: first a convolution with four nested loops that reads exactly
# like the formula, then a fast one that turns the convolution into a single matrix product
# (**im2col**), then its backward pass, then max and average pooling. At the end you race
# your two convolutions against `torch.nn.functional.conv2d` and run your convolution on a
# photograph with an edge-detecting Sobel filter.
#
# Conventions (the same as PyTorch's):
# - a batch of images is `x: (N, C, H, W)`: $N$ images, $C$ channels, height $H$, width $W$;
# - a bank of filters is `w: (F, C, HH, WW)` with one bias per filter, `b: (F,)`;
# - "convolution" in deep learning is **cross-correlation**: the kernel is *not* flipped;
# - `padding` adds that many zeros on each side of both spatial axes, `stride` is the step
#   between windows, `dilation` the step between the kernel's taps.
#
# Every forward function returns `(out, cache)` and every backward function receives
# `(dout, cache)`, where `dout` is the gradient of the loss with respect to `out`. The caches
# are spelled out in the docstrings, and the tests build them exactly like that. Return new
# arrays: never modify `x`, `w`, `b` or `dout` in place. Write your solutions with NumPy
# only — PyTorch is there to check them, and the tests check that your functions do not call
# torch, scipy or `course.conv` (which holds the explorer's reference code). The tests accept
# float32 or float64 results (within a tolerance that float32 meets). Images and filters may
# be integer arrays (pixel values): results are then still exact fractions, so allocate
# outputs and gradients as floats (`np.zeros(shape)`), not like an input (`np.zeros_like(x)`).
#
# Points: `conv_forward_naive` 20, `im2col` 15, `conv_forward_im2col` 10, `conv_backward` 25,
# `max_pool_forward` 7, `max_pool_backward` 9, `avg_pool_forward` 6, `avg_pool_backward` 8.

# %% setup

# %% nbgrader=locked id=imports
import numpy as np

from course.gradcheck import check_gradient, numerical_gradient_array, rel_error
from course.grading import (
    check_close,
    check_numpy_only,
    check_shape,
    check_type,
    check_unchanged,
)

# %% [markdown]
# ## 1. Convolution with loops
#
# Filter $f$ slides over the zero-padded input $\tilde x$ and, at output position $(i, j)$,
# takes the dot product with the window under it, across all channels:
#
# $$\text{out}[n, f, i, j] = b_f + \sum_{c=0}^{C-1} \sum_{k=0}^{HH-1} \sum_{l=0}^{WW-1}
#   w[f, c, k, l]\; \tilde x[n, c,\; iS + k d,\; jS + l d],$$
#
# with stride $S$ and dilation $d$. A dilated kernel spans $d(HH - 1) + 1$ rows, so the output
# has
#
# $$H_{out} = \left\lfloor \frac{H + 2P - d\,(HH - 1) - 1}{S} \right\rfloor + 1$$
#
# rows (and the same formula with $W$, $WW$ for the columns): the lecture's
# $\lfloor (N - F + 2P)/S \rfloor + 1$ when $d = 1$. In Python the floor of a division of
# integers is `//` (a plain `/` gives a float, which NumPy refuses as an array size). Write
# it with explicit Python loops over the output positions (it will be slow; that is the point
# of section 2). `np.pad` does the zero padding. Return
# `cache = (x, w, b, stride, padding, dilation)`.

# %% nbgrader=solution id=conv_forward_naive
def conv_forward_naive(x, w, b, stride=1, padding=0, dilation=1):
    """Convolution (cross-correlation) of a batch with a filter bank, with loops.

    x: (N, C, H, W); w: (F, C, HH, WW); b: (F,); stride, padding, dilation: ints.
    Returns (out, cache) with out: (N, F, H_out, W_out) and
    cache = (x, w, b, stride, padding, dilation).
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    num_filters, _, HH, WW = w.shape
    span_h, span_w = dilation * (HH - 1) + 1, dilation * (WW - 1) + 1
    H_out = (H + 2 * padding - span_h) // stride + 1
    W_out = (W + 2 * padding - span_w) // stride + 1
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = np.zeros((N, num_filters, H_out, W_out), dtype=np.result_type(x, w, b))
    for n in range(N):
        for f in range(num_filters):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    rows = slice(top, top + span_h, dilation)
                    cols = slice(left, left + span_w, dilation)
                    out[n, f, i, j] = np.sum(x_pad[n, :, rows, cols] * w[f]) + b[f]
    return out, (x, w, b, stride, padding, dilation)
    ### END SOLUTION


# %% nbgrader=tests id=test_conv_forward_naive points=20
# A worked example: out[i, j] = x[i, j] - x[i + 1, j + 1] = -5 everywhere, plus the bias 1.
x_a = np.arange(16.0).reshape(1, 1, 4, 4)
w_a = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])
result = conv_forward_naive(x_a, w_a, np.array([1.0]))
check_type("conv_forward_naive(...)", result, tuple, hint="return the pair (out, cache)")
check_close("conv_forward_naive on arange(16) with [[1, 0], [0, -1]], bias 1", result[0],
            np.full((1, 1, 3, 3), -4.0),
            hint="do not flip the kernel: deep-learning convolution is cross-correlation")
# Padding and channels: 2 channels of ones, filters of ones and of -0.5, zero padding 1.
x_b = np.ones((1, 2, 3, 3))
w_b = np.stack([np.ones((2, 2, 2)), np.full((2, 2, 2), -0.5)])
covered = np.array([[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]])  # pixels per window
out_b, _ = conv_forward_naive(x_b, w_b, np.array([1.0, 0.0]), padding=1)
check_shape("out with padding=1", out_b, (1, 2, 4, 4), hint="H_out = (H + 2P - HH) // S + 1")
check_close("filter 0 with padding=1", out_b[0, 0], 2 * covered + 1.0,
            hint="sum over all channels, then add the bias of the filter")
check_close("filter 1 with padding=1", out_b[0, 1], -0.5 * 2 * covered)
# Dilation 2: a 2x2 kernel of ones reads x[i, j] + x[i, j+2] + x[i+2, j] + x[i+2, j+2].
x_c = np.arange(25.0).reshape(1, 1, 5, 5)
out_c, _ = conv_forward_naive(x_c, np.ones((1, 1, 2, 2)), np.zeros(1), stride=2, dilation=2)
check_close("dilation 2, stride 2 on arange(25)", out_c, [[[[24.0, 32.0], [64.0, 72.0]]]],
            hint="tap (k, l) of the kernel reads row i*stride + k*dilation")
# The output sizes of the lecture: N = 7, F = 3.
x_7 = np.zeros((1, 1, 7, 7))
w_3 = np.zeros((1, 1, 3, 3))
for kwargs, size in [({}, 5), ({"stride": 2}, 3), ({"padding": 1}, 7), ({"dilation": 2}, 3)]:
    check_shape(f"out for a 7x7 input, 3x3 kernel, {kwargs}",
                conv_forward_naive(x_7, w_3, np.zeros(1), **kwargs)[0], (1, 1, size, size))
check_numpy_only("conv_forward_naive", conv_forward_naive)
print("conv_forward_naive: visible tests passed")
### BEGIN HIDDEN TESTS
import torch
import torch.nn.functional as F

hidden_rng = np.random.default_rng(401)
cases = [  # N, C, H, W, filters, HH, WW, stride, padding, dilation
    (1, 1, 5, 5, 1, 3, 3, 1, 0, 1), (2, 3, 7, 9, 4, 3, 3, 2, 1, 1), (1, 2, 8, 6, 3, 2, 3, 1, 2, 1),
    (3, 2, 9, 7, 2, 3, 3, 2, 0, 2), (2, 1, 6, 6, 2, 1, 1, 1, 0, 1),
    (1, 3, 10, 11, 2, 3, 2, 3, 1, 2),
    (2, 2, 8, 8, 3, 3, 3, 2, 0, 1),
]
for N, C, H, W, nf, HH, WW, S, P, D in cases:
    x_h, w_h, b_h = (hidden_rng.normal(size=s) for s in [(N, C, H, W), (nf, C, HH, WW), (nf,)])
    keep = [a.copy() for a in (x_h, w_h, b_h)]
    reference = F.conv2d(torch.from_numpy(x_h), torch.from_numpy(w_h), torch.from_numpy(b_h),
                         stride=S, padding=P, dilation=D).numpy()
    where = f"x {x_h.shape}, w {w_h.shape}, stride {S}, padding {P}, dilation {D}"
    out_h, cache_h = conv_forward_naive(x_h, w_h, b_h, stride=S, padding=P, dilation=D)
    check_close(f"conv_forward_naive for {where}", out_h, reference, rtol=1e-4, atol=1e-4)
    for before, after in zip(keep, (x_h, w_h, b_h)):
        check_unchanged("an input of conv_forward_naive", before, after)
# integer images and filters with a fractional bias: the output is computed in floats
x_i, w_i = np.arange(32).reshape(1, 2, 4, 4) % 5, np.array([[[[1, -1], [0, 2]]] * 2])
b_i = np.array([0.5])
reference = F.conv2d(torch.tensor(x_i, dtype=torch.float64),
                     torch.tensor(w_i, dtype=torch.float64), torch.tensor(b_i), padding=1).numpy()
check_close("conv_forward_naive with integer x and w and a bias of 0.5", conv_forward_naive(x_i, w_i, b_i, padding=1)[0],
            reference, rtol=1e-5, atol=1e-6,
            hint="compute in floats: integer inputs must not truncate")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Convolution as one matrix product: im2col
#
# The loops recompute the same kind of dot product $N \cdot F \cdot H_{out} \cdot W_{out}$
# times. Gather every window once instead: unfold each $C \times HH \times WW$ window of image
# $n$ into a column of length $K = C \cdot HH \cdot WW$, one column per output position
# ($L = H_{out} W_{out}$ of them). Flatten the filters the same way into the rows of
# $W_{mat} \in \mathbb{R}^{F \times K}$; then the whole convolution of image $n$ is one
# matrix product
#
# $$\text{out}_n = W_{mat}\, \text{cols}_n + b \quad\in \mathbb{R}^{F \times L}.$$
#
# **Layout** (the same as `torch.nn.functional.unfold`): `cols[n, :, i * W_out + j]` is the
# window at output position $(i, j)$, flattened in $(C, HH, WW)$ order — exactly the order of
# `w[f].reshape(-1)`. You do not need a loop over output positions: loop over the
# $HH \times WW$ kernel taps instead, and copy, for each tap, a strided slice of the padded
# input that holds that tap for *all* positions, images and channels at once.

# %% nbgrader=solution id=im2col
def im2col(x, HH, WW, stride=1, padding=0, dilation=1):
    """Unfold the HH x WW windows (stride, zero padding, dilation) of x into columns.

    x: (N, C, H, W). Returns cols: (N, C * HH * WW, H_out * W_out), where column
    i * W_out + j holds the window of output position (i, j) in (C, HH, WW) order.
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    H_out = (H + 2 * padding - dilation * (HH - 1) - 1) // stride + 1
    W_out = (W + 2 * padding - dilation * (WW - 1) - 1) // stride + 1
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = np.empty((N, C, HH, WW, H_out, W_out), dtype=x_pad.dtype)
    for k in range(HH):
        top = k * dilation
        for l in range(WW):
            left = l * dilation
            cols[:, :, k, l] = x_pad[
                :, :, top : top + stride * (H_out - 1) + 1 : stride,
                left : left + stride * (W_out - 1) + 1 : stride,
            ]  # (N, C, H_out, W_out)
    return cols.reshape(N, C * HH * WW, H_out * W_out)
    ### END SOLUTION


# %% nbgrader=tests id=test_im2col points=15
x_a = np.arange(16.0).reshape(1, 1, 4, 4)
cols_a = im2col(x_a, 2, 2)
check_shape("im2col(arange(16) as (1, 1, 4, 4), 2, 2)", cols_a, (1, 4, 9),
            hint="(N, C*HH*WW, H_out*W_out) = (1, 1*2*2, 3*3)")
check_close("column 0 (the window at (0, 0))", cols_a[0, :, 0], [0, 1, 4, 5],
            hint="a window is flattened row by row: x[0, 0], x[0, 1], x[1, 0], x[1, 1]")
check_close("column 1 (the window at (0, 1))", cols_a[0, :, 1], [1, 2, 5, 6],
            hint="columns run over output positions row by row: (0, 0), (0, 1), (0, 2), (1, 0)...")
x_two = np.stack([np.arange(9.0).reshape(3, 3), -np.arange(9.0).reshape(3, 3)])[None]
cols_two = im2col(x_two, 2, 2, stride=1, padding=1)
check_shape("im2col of a (1, 2, 3, 3) input, 2x2 windows, padding 1", cols_two, (1, 8, 16))
check_close("column 0 with padding 1 (channel 0 first, then channel 1)", cols_two[0, :, 0],
            [0, 0, 0, 0, 0, 0, 0, -0.0])
check_close("column 5 with padding 1", cols_two[0, :, 5], [0, 1, 3, 4, 0, -1, -3, -4],
            hint="channel 0's window comes first, then channel 1's")
check_numpy_only("im2col", im2col)
print("im2col: visible tests passed")
### BEGIN HIDDEN TESTS
import torch
import torch.nn.functional as F

hidden_rng = np.random.default_rng(402)
cases = [  # N, C, H, W, HH, WW, stride, padding, dilation
    (1, 1, 4, 4, 2, 2, 1, 0, 1), (2, 3, 7, 9, 3, 3, 2, 1, 1), (1, 2, 8, 6, 2, 3, 1, 2, 1),
    (3, 2, 9, 7, 3, 3, 2, 0, 2), (2, 4, 6, 5, 1, 1, 1, 0, 1), (1, 3, 10, 11, 3, 2, 3, 1, 2),
]
for N, C, H, W, HH, WW, S, P, D in cases:
    x_h = hidden_rng.normal(size=(N, C, H, W))
    keep = x_h.copy()
    reference = F.unfold(torch.from_numpy(x_h), (HH, WW), dilation=D, padding=P,
                         stride=S).numpy()
    where = f"x {x_h.shape}, window {HH}x{WW}, stride {S}, padding {P}, dilation {D}"
    check_close(f"im2col for {where}", im2col(x_h, HH, WW, stride=S, padding=P, dilation=D),
                reference, rtol=1e-5, atol=1e-6)
    check_unchanged("x", keep, x_h)
### END HIDDEN TESTS

# %% [markdown]
# Now the fast convolution: `im2col`, one matrix product for the whole batch
# (`np.matmul` broadcasts a $(F, K)$ matrix against a $(N, K, L)$ stack), add the bias, and
# reshape $(N, F, L) \to (N, F, H_{out}, W_{out})$. Same cache as the naive version.

# %% nbgrader=solution id=conv_forward_im2col
def conv_forward_im2col(x, w, b, stride=1, padding=0, dilation=1):
    """Vectorized convolution via im2col: the same result and cache as conv_forward_naive.

    x: (N, C, H, W); w: (F, C, HH, WW); b: (F,). Returns (out, cache) with
    out: (N, F, H_out, W_out) and cache = (x, w, b, stride, padding, dilation).
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    num_filters, _, HH, WW = w.shape
    H_out = (H + 2 * padding - dilation * (HH - 1) - 1) // stride + 1
    W_out = (W + 2 * padding - dilation * (WW - 1) - 1) // stride + 1
    cols = im2col(x, HH, WW, stride, padding, dilation)  # (N, C*HH*WW, H_out*W_out)
    out = np.matmul(w.reshape(num_filters, -1), cols) + b[:, None]  # (N, F, H_out*W_out)
    return out.reshape(N, num_filters, H_out, W_out), (x, w, b, stride, padding, dilation)
    ### END SOLUTION


# %% nbgrader=tests id=test_conv_forward_im2col points=10
x_a = np.arange(16.0).reshape(1, 1, 4, 4)
w_a = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])
result = conv_forward_im2col(x_a, w_a, np.array([1.0]))
check_type("conv_forward_im2col(...)", result, tuple,
           hint="return the pair (out, cache), with the same cache as conv_forward_naive")
out_a, _ = result
check_close("conv_forward_im2col on arange(16) with [[1, 0], [0, -1]], bias 1", out_a,
            np.full((1, 1, 3, 3), -4.0), hint="do not flip the kernel")
x_b = np.ones((1, 2, 3, 3))
w_b = np.stack([np.ones((2, 2, 2)), np.full((2, 2, 2), -0.5)])
covered = np.array([[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]])
out_b, _ = conv_forward_im2col(x_b, w_b, np.array([1.0, 0.0]), padding=1)
check_close("conv_forward_im2col with padding 1", out_b,
            np.stack([2 * covered + 1.0, -covered])[None],
            hint="the bias is added to every position of its filter's output")
check_numpy_only("conv_forward_im2col", conv_forward_im2col)
print("conv_forward_im2col: visible tests passed")
### BEGIN HIDDEN TESTS
import torch
import torch.nn.functional as F

hidden_rng = np.random.default_rng(403)
cases = [  # N, C, H, W, filters, HH, WW, stride, padding, dilation
    (1, 1, 5, 5, 1, 3, 3, 1, 0, 1), (2, 3, 7, 9, 4, 3, 3, 2, 1, 1), (1, 2, 8, 6, 3, 2, 3, 1, 2, 1),
    (3, 2, 9, 7, 2, 3, 3, 2, 0, 2), (8, 3, 16, 16, 6, 5, 5, 1, 2, 1),
    (1, 3, 10, 11, 2, 3, 2, 3, 1, 2),
]
for N, C, H, W, nf, HH, WW, S, P, D in cases:
    x_h, w_h, b_h = (hidden_rng.normal(size=s) for s in [(N, C, H, W), (nf, C, HH, WW), (nf,)])
    keep = [a.copy() for a in (x_h, w_h, b_h)]
    reference = F.conv2d(torch.from_numpy(x_h), torch.from_numpy(w_h), torch.from_numpy(b_h),
                         stride=S, padding=P, dilation=D).numpy()
    where = f"x {x_h.shape}, w {w_h.shape}, stride {S}, padding {P}, dilation {D}"
    out_h, _ = conv_forward_im2col(x_h, w_h, b_h, stride=S, padding=P, dilation=D)
    check_close(f"conv_forward_im2col for {where}", out_h, reference, rtol=1e-4, atol=1e-4)
    for before, after in zip(keep, (x_h, w_h, b_h)):
        check_unchanged("an input of conv_forward_im2col", before, after)
# integer images and filters with a fractional bias: the output is computed in floats
x_i, w_i = np.arange(32).reshape(1, 2, 4, 4) % 5, np.array([[[[1, -1], [0, 2]]] * 2])
b_i = np.array([0.5])
reference = F.conv2d(torch.tensor(x_i, dtype=torch.float64),
                     torch.tensor(w_i, dtype=torch.float64), torch.tensor(b_i), padding=1).numpy()
check_close("conv_forward_im2col with integer x and w and a bias of 0.5", conv_forward_im2col(x_i, w_i, b_i, padding=1)[0],
            reference, rtol=1e-5, atol=1e-6,
            hint="compute in floats: integer inputs must not truncate")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. The backward pass of the convolution
#
# Differentiate the formula of section 1. Every output depends on $b_f$ with coefficient 1,
# and on each weight and input value through one product term, so
#
# $$\frac{\partial L}{\partial b_f} = \sum_{n, i, j} \text{dout}[n, f, i, j], \qquad
#   \frac{\partial L}{\partial w[f, c, k, l]} = \sum_{n, i, j} \text{dout}[n, f, i, j]\;
#   \tilde x[n, c, iS + kd, jS + ld],$$
#
# $$\frac{\partial L}{\partial \tilde x[n, c, iS + kd, jS + ld]} \mathrel{+}=
#   \sum_f \text{dout}[n, f, i, j]\; w[f, c, k, l] \quad \text{for every } (i, j, k, l),$$
#
# and $\partial L / \partial x$ is the gradient of the padded input $\tilde x$ with the padding
# cut off. The bias gradient sums over the batch **and** over all positions. In im2col form:
# $dW_{mat} = \sum_n \text{dout}_n\, \text{cols}_n^\top$, and
# $d\,\text{cols}_n = W_{mat}^\top \text{dout}_n$ is folded back onto the image by *adding*
# each column into the window it came from (windows overlap, so contributions accumulate).
# Loops are fine here too.

# %% nbgrader=solution id=conv_backward
def conv_backward(dout, cache):
    """Backward pass of the convolution.

    dout: (N, F, H_out, W_out); cache = (x, w, b, stride, padding, dilation) as returned by
    conv_forward_naive. Returns (dx, dw, db) with shapes (N, C, H, W), (F, C, HH, WW), (F,).
    """
    ### BEGIN SOLUTION
    x, w, b, stride, padding, dilation = cache
    N, C, H, W = x.shape
    num_filters, _, HH, WW = w.shape
    H_out, W_out = dout.shape[2], dout.shape[3]
    dout_mat = dout.reshape(N, num_filters, H_out * W_out)  # (N, F, L)
    cols = im2col(x, HH, WW, stride, padding, dilation)  # (N, K, L)
    db = dout.sum(axis=(0, 2, 3))
    dw = np.einsum("nfl,nkl->fk", dout_mat, cols).reshape(w.shape)
    dcols = np.matmul(w.reshape(num_filters, -1).T, dout_mat)  # (N, K, L)
    dcols = dcols.reshape(N, C, HH, WW, H_out, W_out)
    dx_pad = np.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=dcols.dtype)
    for k in range(HH):
        top = k * dilation
        for l in range(WW):
            left = l * dilation
            dx_pad[
                :, :, top : top + stride * (H_out - 1) + 1 : stride,
                left : left + stride * (W_out - 1) + 1 : stride,
            ] += dcols[:, :, k, l]
    dx = dx_pad[:, :, padding : padding + H, padding : padding + W]
    return dx, dw, db
    ### END SOLUTION


# %% nbgrader=tests id=test_conv_backward points=25
import torch
import torch.nn.functional as F

test_rng = np.random.default_rng(1)
x_g = test_rng.normal(size=(2, 2, 5, 4))
w_g = test_rng.normal(size=(3, 2, 3, 2))
b_g = test_rng.normal(size=3)
settings = {"stride": 2, "padding": 1, "dilation": 1}
dout_g = test_rng.normal(size=(2, 3, 3, 3))  # H_out = (5+2-3)//2 + 1, W_out = (4+2-2)//2 + 1
dout_copy = dout_g.copy()
dx_g, dw_g, db_g = conv_backward(dout_g, (x_g, w_g, b_g, *settings.values()))
for name, grad, shape in [("dx", dx_g, x_g.shape), ("dw", dw_g, w_g.shape), ("db", db_g, (3,))]:
    check_shape(name, grad, shape, hint="each gradient has the shape of its variable")


def conv_sum(x_, w_, b_):
    """sum(out * dout), with PyTorch's convolution as the reference forward pass."""
    out = F.conv2d(torch.from_numpy(x_), torch.from_numpy(w_), torch.from_numpy(b_), **settings)
    return float((out.numpy() * dout_g).sum())


# float32 gradients pass too: they may differ from finite differences by about 1e-6
for name, loss_of, value, grad, hint in [
    ("b", lambda v: conv_sum(x_g, w_g, v), b_g, db_g,
     "the bias of filter f is added at every position of every image: db[f] adds up "
     "dout[:, f] over the batch and over all positions"),
    ("x", lambda v: conv_sum(v, w_g, b_g), x_g, dx_g,
     "each input pixel collects a contribution from every window that covers it (add them "
     "up, windows overlap here), at rows i * stride + k * dilation of the PADDED input; cut "
     "the padding off at the end"),
    ("w", lambda v: conv_sum(x_g, v, b_g), w_g, dw_g,
     "dw[f, c, k, l] adds up dout[n, f, i, j] times the padded input under tap (k, l) of "
     "window (i, j), over all images and positions (no kernel flip)"),
]:
    try:
        check_gradient(loss_of, value.copy(), grad, name=name, tol=1e-5, atol=1e-5)
    except AssertionError as error:
        raise AssertionError(f"{error}\n  hint: {hint}") from None
check_unchanged("dout", dout_copy, dout_g)
check_numpy_only("conv_backward", conv_backward)
print("conv_backward: visible tests passed")
### BEGIN HIDDEN TESTS
import torch
import torch.nn.functional as F

hidden_rng = np.random.default_rng(404)
cases = [  # N, C, H, W, filters, HH, WW, stride, padding, dilation
    (1, 1, 5, 5, 1, 3, 3, 1, 0, 1), (2, 3, 7, 9, 4, 3, 3, 2, 1, 1), (1, 2, 8, 6, 3, 2, 3, 1, 2, 1),
    (3, 2, 9, 7, 2, 3, 3, 2, 0, 2), (2, 2, 8, 8, 3, 3, 3, 2, 0, 1),
    (1, 3, 10, 11, 2, 3, 2, 3, 1, 2),
    (4, 2, 6, 6, 2, 1, 1, 1, 0, 1),
]
for N, C, H, W, nf, HH, WW, S, P, D in cases:
    x_h, w_h, b_h = (hidden_rng.normal(size=s) for s in [(N, C, H, W), (nf, C, HH, WW), (nf,)])
    tensors = [torch.tensor(a, requires_grad=True) for a in (x_h, w_h, b_h)]
    out_t = F.conv2d(*tensors, stride=S, padding=P, dilation=D)
    dout_h = hidden_rng.normal(size=tuple(out_t.shape))
    out_t.backward(torch.from_numpy(dout_h))
    keep = [a.copy() for a in (x_h, w_h, b_h, dout_h)]
    grads_h = conv_backward(dout_h, (x_h, w_h, b_h, S, P, D))
    where = f"x {x_h.shape}, w {w_h.shape}, stride {S}, padding {P}, dilation {D}"
    for name, got, t in zip(("dx", "dw", "db"), grads_h, tensors):
        check_close(f"{name} of conv_backward for {where}", got, t.grad.numpy(),
                    rtol=1e-4, atol=1e-4)
    for before, after in zip(keep, (x_h, w_h, b_h, dout_h)):
        check_unchanged("an input of conv_backward", before, after)
# integer images and filters: the gradients are computed in floats
x_i, w_i = np.arange(32).reshape(1, 2, 4, 4) % 5, np.array([[[[1, -1], [0, 2]]] * 2])
b_i = np.array([1])
tensors = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (x_i, w_i, b_i)]
out_t = F.conv2d(*tensors, stride=2, padding=1)
dout_h = hidden_rng.normal(size=tuple(out_t.shape))
out_t.backward(torch.from_numpy(dout_h))
for name, got, t_ in zip(("dx", "dw", "db"), conv_backward(dout_h, (x_i, w_i, b_i, 2, 1, 1)),
                         tensors):
    check_close(f"{name} of conv_backward for integer x, w and b", got, t_.grad.numpy(),
                rtol=1e-5, atol=1e-6, hint="allocate the gradients as floats, not like x")
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Max pooling
#
# Pooling summarizes each `window` x `window` region of every channel on its own (no
# padding here), moving by `stride`:
#
# $$\text{out}[n, c, i, j] = \max_{0 \le k, l < \text{window}} x[n, c, iS + k, jS + l],
#   \qquad H_{out} = \left\lfloor \frac{H - \text{window}}{S} \right\rfloor + 1.$$
#
# Backward: the maximum passes its gradient to the input that attained it — the **arg max** of
# the window — and nothing to the other inputs. When windows overlap (stride < window), one
# input can be the maximum of several windows: its gradients *add up*. If a window holds
# several equal maxima — common after a ReLU, where whole windows are 0 — send its gradient to
# **one** of them (the first in row-major order, as PyTorch does), not a copy to each: the
# hidden tests include such windows. Cache: `(x, window, stride)`.

# %% nbgrader=solution id=max_pool_forward
def max_pool_forward(x, window=2, stride=2):
    """Max pooling. x: (N, C, H, W); window, stride: ints.

    Returns (out, cache) with out: (N, C, H_out, W_out) and cache = (x, window, stride).
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    H_out, W_out = (H - window) // stride + 1, (W - window) // stride + 1
    out = np.empty((N, C, H_out, W_out), dtype=x.dtype)
    for i in range(H_out):
        for j in range(W_out):
            top, left = i * stride, j * stride
            out[:, :, i, j] = x[:, :, top : top + window, left : left + window].max(axis=(2, 3))
    return out, (x, window, stride)
    ### END SOLUTION


# %% nbgrader=tests id=test_max_pool_forward points=7
x_5 = np.array([[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3], [2, 0, 0, 2, 2],
                [2, 0, 0, 0, 1]], dtype=float).reshape(1, 1, 5, 5)
try:
    out_5, _ = max_pool_forward(x_5, window=3, stride=1)
except ValueError as error:  # e.g. the max of an empty window
    raise AssertionError(
        f"max_pool_forward(5x5 input, window=3, stride=1) raised ValueError: {error}\n"
        "  hint: the output is 3x3 and the window of output (i, j) starts at row i * stride "
        "and column j * stride; a window that starts past the input is empty") from error
check_close("3x3 max pooling, stride 1, of the 5x5 example of the lecture", out_5[0, 0],
            [[3, 3, 3], [3, 3, 3], [3, 2, 3]],
            hint="the window of output (i, j) covers rows i * stride to i * stride + window - 1")
x_4 = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]],
               dtype=float).reshape(1, 1, 4, 4)
out_4, _ = max_pool_forward(x_4, window=2, stride=2)
check_close("2x2 max pooling, stride 2, of the 4x4 example of the lecture", out_4[0, 0],
            [[6, 8], [3, 4]], hint="windows start at rows and columns 0, stride, 2*stride, ...")
check_shape("max pooling of a (2, 3, 7, 6) batch, window 2, stride 2",
            max_pool_forward(np.zeros((2, 3, 7, 6)), 2, 2)[0], (2, 3, 3, 3),
            hint="H_out = (H - window) // stride + 1: an odd last row is dropped")
check_numpy_only("max_pool_forward", max_pool_forward)
print("max_pool_forward: visible tests passed")
### BEGIN HIDDEN TESTS
import torch
import torch.nn.functional as F

hidden_rng = np.random.default_rng(405)
for N, C, H, W, K, S in [(1, 1, 4, 4, 2, 2), (2, 3, 5, 7, 3, 1), (3, 2, 9, 6, 3, 2),
                         (1, 1, 7, 7, 2, 3), (2, 2, 6, 8, 1, 1), (1, 4, 11, 5, 4, 2)]:
    x_h = hidden_rng.normal(size=(N, C, H, W))
    keep = x_h.copy()
    reference = F.max_pool2d(torch.from_numpy(x_h), K, S).numpy()
    check_close(f"max_pool_forward for x {x_h.shape}, window {K}, stride {S}",
                max_pool_forward(x_h, K, S)[0], reference, rtol=1e-5, atol=1e-6)
    check_unchanged("x", keep, x_h)
### END HIDDEN TESTS

# %% nbgrader=solution id=max_pool_backward
def max_pool_backward(dout, cache):
    """Backward pass of max pooling. dout: (N, C, H_out, W_out); cache = (x, window, stride).

    Returns dx: (N, C, H, W).
    """
    ### BEGIN SOLUTION
    x, window, stride = cache
    N, C, H, W = x.shape
    H_out, W_out = dout.shape[2], dout.shape[3]
    dx = np.zeros(x.shape, dtype=np.result_type(x, dout))
    taps = np.arange(window * window)
    for i in range(H_out):
        for j in range(W_out):
            top, left = i * stride, j * stride
            region = x[:, :, top : top + window, left : left + window].reshape(N, C, -1)
            first_max = region.argmax(axis=2)  # (N, C)
            route = (taps == first_max[..., None]) * dout[:, :, i, j][..., None]  # (N, C, k*k)
            dx[:, :, top : top + window, left : left + window] += route.reshape(
                N, C, window, window
            )
    return dx
    ### END SOLUTION


# %% nbgrader=tests id=test_max_pool_backward points=9
import torch
import torch.nn.functional as F

# Overlapping 2x2 windows (stride 1): the 9 in the centre is the maximum of all four windows.
x_m = np.array([[1.0, 2.0, 3.0], [4.0, 9.0, 5.0], [6.0, 7.0, 8.0]]).reshape(1, 1, 3, 3)
dout_m = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2)
dout_m_copy = dout_m.copy()
dx_m = max_pool_backward(dout_m, (x_m, 2, 1))
check_shape("max_pool_backward(...)", dx_m, (1, 1, 3, 3))
check_close("max_pool_backward with overlapping windows", dx_m[0, 0],
            [[0, 0, 0], [0, 10, 0], [0, 0, 0]],
            hint="the centre is the arg max of all 4 windows: add the 4 gradients (+=, not =)")
check_unchanged("dout", dout_m_copy, dout_m)
test_rng = np.random.default_rng(2)
x_g = test_rng.normal(size=(2, 2, 5, 6))
dout_g = test_rng.normal(size=(2, 2, 2, 2))
numeric = numerical_gradient_array(  # PyTorch's max pooling as the reference forward pass
    lambda v: F.max_pool2d(torch.from_numpy(v), 3, 2).numpy(), x_g, dout_g
)
error = rel_error(max_pool_backward(dout_g, (x_g, 3, 2)), numeric)
print(f"relative error vs finite differences: {error:.1e}")
check_close("max_pool_backward vs finite differences (window 3, stride 2)",
            max_pool_backward(dout_g, (x_g, 3, 2)), numeric, rtol=1e-5, atol=1e-6)
# Ties: a 2x2 window of zeros (as after a ReLU) has four equal maxima.
dx_tie = np.asarray(max_pool_backward(np.array([[[[2.0]]]]), (np.zeros((1, 1, 2, 2)), 2, 2)))
if dx_tie.shape != (1, 1, 2, 2) or dx_tie.sum() != 2.0 or np.count_nonzero(dx_tie) != 1:
    raise AssertionError(
        "max_pool_backward of a window of four equal maxima is wrong.\n"
        "  expected: the whole gradient 2 at ONE input, e.g. [[2, 0], [0, 0]]\n"
        f"  got:      {dx_tie.reshape(-1, 2).tolist() if dx_tie.size == 4 else dx_tie.shape}\n"
        "  hint: route the gradient to the first arg max of the window only, not to every "
        "input equal to the maximum")
check_numpy_only("max_pool_backward", max_pool_backward)
print("max_pool_backward: visible tests passed")
### BEGIN HIDDEN TESTS
import torch
import torch.nn.functional as F

hidden_rng = np.random.default_rng(406)
for N, C, H, W, K, S in [(1, 1, 4, 4, 2, 2), (2, 3, 5, 7, 3, 1), (3, 2, 9, 6, 3, 2),
                         (1, 1, 7, 7, 2, 3), (2, 2, 6, 8, 1, 1), (1, 4, 11, 5, 4, 2)]:
    x_h = hidden_rng.normal(size=(N, C, H, W))  # continuous values: no ties
    x_t = torch.tensor(x_h, requires_grad=True)
    out_t = F.max_pool2d(x_t, K, S)
    dout_h = hidden_rng.normal(size=tuple(out_t.shape))
    out_t.backward(torch.from_numpy(dout_h))
    keep = [x_h.copy(), dout_h.copy()]
    check_close(f"max_pool_backward for x {x_h.shape}, window {K}, stride {S}",
                max_pool_backward(dout_h, (x_h, K, S)), x_t.grad.numpy(), rtol=1e-5, atol=1e-6)
    check_unchanged("x", keep[0], x_h)
    check_unchanged("dout", keep[1], dout_h)
# Ties, as after a ReLU: each 2x2 window (stride 2, so they do not overlap) must pass its whole
# gradient to exactly one of its maxima.
x_h = np.maximum(hidden_rng.normal(size=(2, 3, 6, 6)), 0.0)
x_h[:, :, :2, :2] = 0.0  # windows of zeros: four equal maxima
x_h[:, :, 2:4, 2:4] = 1.5  # four equal positive maxima
dout_h = hidden_rng.uniform(1.0, 2.0, size=(2, 3, 3, 3))
dx_h = max_pool_backward(dout_h, (x_h, 2, 2))
check_shape("max_pool_backward with tied maxima", dx_h, x_h.shape)
dx_windows = np.asarray(dx_h).reshape(2, 3, 3, 2, 3, 2).transpose(0, 1, 2, 4, 3, 5)
x_windows = x_h.reshape(2, 3, 3, 2, 3, 2).transpose(0, 1, 2, 4, 3, 5)
check_close("the gradient each 2x2 window passes back (summed over the window, ties included)",
            dx_windows.sum(axis=(-2, -1)), dout_h, rtol=1e-5, atol=1e-6,
            hint="a window with several equal maxima sends its gradient to ONE of them (the "
                 "first), not a copy to each")
at_max = x_windows == x_windows.max(axis=(-2, -1), keepdims=True)
if np.any(dx_windows[~at_max] != 0) or np.any((dx_windows != 0).sum(axis=(-2, -1)) != 1):
    raise AssertionError("max_pool_backward with tied maxima is wrong.\n  expected: each "
                         "window's gradient at exactly one of its maxima\n  got:      gradient "
                         "spread over several inputs or away from the maximum")
# Ties are routed to the FIRST maximum of the window in row-major order, as the lab says and as
# PyTorch does: compare with PyTorch's gradient on windows full of ties (overlapping too).
for x_tie, K, S in [(np.maximum(hidden_rng.integers(-2, 3, size=(2, 2, 6, 6)), 0), 2, 2),
                    (hidden_rng.integers(0, 2, size=(1, 3, 5, 7)), 3, 1)]:
    x_t = torch.tensor(x_tie, dtype=torch.float64, requires_grad=True)
    out_t = F.max_pool2d(x_t, K, S)
    dout_h = hidden_rng.uniform(1.0, 2.0, size=tuple(out_t.shape))
    out_t.backward(torch.from_numpy(dout_h))
    check_close(f"max_pool_backward with tied maxima (window {K}, stride {S})",
                max_pool_backward(dout_h, (x_tie.astype(float), K, S)), x_t.grad.numpy(),
                rtol=1e-5, atol=1e-6,
                hint="send a tied window's gradient to its first maximum in row-major order "
                     "(what argmax of the flattened window returns)")
# integer images (a float gradient must not be truncated)
x_i = np.array([[[[1, 5, 2, 2], [3, 0, 2, 1], [0, 1, 4, 4], [2, 2, 3, 1]]]])
dout_h = np.array([[[[0.5, 1.25], [-0.75, 2.5]]]])
x_t = torch.tensor(x_i, dtype=torch.float64, requires_grad=True)
F.max_pool2d(x_t, 2, 2).backward(torch.from_numpy(dout_h))
check_close("max_pool_backward for an integer x", max_pool_backward(dout_h, (x_i, 2, 2)),
            x_t.grad.numpy(), rtol=1e-5, atol=1e-6, hint="allocate dx as floats, not like x")
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Average pooling
#
# $$\text{out}[n, c, i, j] = \frac{1}{\text{window}^2} \sum_{0 \le k, l < \text{window}}
#   x[n, c, iS + k, jS + l].$$
#
# Backward: every input of a window receives an equal share $\text{dout}[n, c, i, j] /
# \text{window}^2$ of its gradient (again, shares add up where windows overlap).
# Cache: `(x, window, stride)`.

# %% nbgrader=solution id=avg_pool_forward
def avg_pool_forward(x, window=2, stride=2):
    """Average pooling. x: (N, C, H, W); window, stride: ints.

    Returns (out, cache) with out: (N, C, H_out, W_out) and cache = (x, window, stride).
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    H_out, W_out = (H - window) // stride + 1, (W - window) // stride + 1
    out = np.empty((N, C, H_out, W_out), dtype=np.result_type(x, float))
    for i in range(H_out):
        for j in range(W_out):
            top, left = i * stride, j * stride
            out[:, :, i, j] = x[:, :, top : top + window, left : left + window].mean(axis=(2, 3))
    return out, (x, window, stride)
    ### END SOLUTION


# %% nbgrader=tests id=test_avg_pool_forward points=6
x_5 = np.array([[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3], [2, 0, 0, 2, 2],
                [2, 0, 0, 0, 1]], dtype=float).reshape(1, 1, 5, 5)
out_5, _ = avg_pool_forward(x_5, window=3, stride=1)
check_close("3x3 average pooling, stride 1, of the 5x5 example (2 decimals)", out_5[0, 0],
            [[1.67, 1.67, 1.67], [1.0, 1.22, 1.78], [1.11, 0.78, 1.33]], atol=0.005,
            hint="divide the sum of a window by the number of its cells, window * window")
check_close("2x2 average pooling of [[1, 2], [3, 4]]",
            avg_pool_forward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), 2, 2)[0], [[[[2.5]]]])
check_numpy_only("avg_pool_forward", avg_pool_forward)
print("avg_pool_forward: visible tests passed")
### BEGIN HIDDEN TESTS
import torch
import torch.nn.functional as F

hidden_rng = np.random.default_rng(407)
for N, C, H, W, K, S in [(1, 1, 4, 4, 2, 2), (2, 3, 5, 7, 3, 1), (3, 2, 9, 6, 3, 2),
                         (1, 1, 7, 7, 2, 3), (2, 2, 6, 8, 1, 1), (1, 4, 11, 5, 4, 2)]:
    x_h = hidden_rng.normal(size=(N, C, H, W))
    keep = x_h.copy()
    reference = F.avg_pool2d(torch.from_numpy(x_h), K, S).numpy()
    check_close(f"avg_pool_forward for x {x_h.shape}, window {K}, stride {S}",
                avg_pool_forward(x_h, K, S)[0], reference, rtol=1e-5, atol=1e-6)
    check_unchanged("x", keep, x_h)
# integer images: the averages are fractions
x_i = np.arange(30).reshape(1, 1, 5, 6) % 7
check_close("avg_pool_forward of an integer x", avg_pool_forward(x_i, 2, 2)[0],
            F.avg_pool2d(torch.tensor(x_i, dtype=torch.float64), 2, 2).numpy(), rtol=1e-6,
            hint="compute the means in floats: an output allocated like x truncates them")
### END HIDDEN TESTS

# %% nbgrader=solution id=avg_pool_backward
def avg_pool_backward(dout, cache):
    """Backward pass of average pooling. dout: (N, C, H_out, W_out); cache = (x, window, stride).

    Returns dx: (N, C, H, W).
    """
    ### BEGIN SOLUTION
    x, window, stride = cache
    H_out, W_out = dout.shape[2], dout.shape[3]
    dx = np.zeros(x.shape, dtype=np.result_type(x, dout, float))
    share = dout / (window * window)  # (N, C, H_out, W_out)
    for i in range(H_out):
        for j in range(W_out):
            top, left = i * stride, j * stride
            dx[:, :, top : top + window, left : left + window] += share[:, :, i, j, None, None]
    return dx
    ### END SOLUTION


# %% nbgrader=tests id=test_avg_pool_backward points=8
import torch
import torch.nn.functional as F

x_m = np.zeros((1, 1, 3, 3))
dx_m = avg_pool_backward(np.ones((1, 1, 2, 2)), (x_m, 2, 1))
check_close("avg_pool_backward of ones with overlapping 2x2 windows", dx_m[0, 0],
            np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 4,
            hint="each cell gets 1/4 from every window that covers it (the centre: 4 windows)")
test_rng = np.random.default_rng(3)
x_g = test_rng.normal(size=(2, 3, 6, 5))
dout_g = test_rng.normal(size=(2, 3, 2, 2))
dout_copy = dout_g.copy()
numeric = numerical_gradient_array(  # PyTorch's average pooling as the reference
    lambda v: F.avg_pool2d(torch.from_numpy(v), 3, 2).numpy(), x_g, dout_g
)
check_close("avg_pool_backward vs finite differences (window 3, stride 2)",
            avg_pool_backward(dout_g, (x_g, 3, 2)), numeric, rtol=1e-5, atol=1e-6)
check_unchanged("dout", dout_copy, dout_g)
check_numpy_only("avg_pool_backward", avg_pool_backward)
print("avg_pool_backward: visible tests passed")
### BEGIN HIDDEN TESTS
import torch
import torch.nn.functional as F

hidden_rng = np.random.default_rng(408)
for N, C, H, W, K, S in [(1, 1, 4, 4, 2, 2), (2, 3, 5, 7, 3, 1), (3, 2, 9, 6, 3, 2),
                         (1, 1, 7, 7, 2, 3), (2, 2, 6, 8, 1, 1), (1, 4, 11, 5, 4, 2)]:
    x_h = hidden_rng.normal(size=(N, C, H, W))
    x_t = torch.tensor(x_h, requires_grad=True)
    out_t = F.avg_pool2d(x_t, K, S)
    dout_h = hidden_rng.normal(size=tuple(out_t.shape))
    out_t.backward(torch.from_numpy(dout_h))
    keep = [x_h.copy(), dout_h.copy()]
    check_close(f"avg_pool_backward for x {x_h.shape}, window {K}, stride {S}",
                avg_pool_backward(dout_h, (x_h, K, S)), x_t.grad.numpy(), rtol=1e-5, atol=1e-6)
    check_unchanged("x", keep[0], x_h)
    check_unchanged("dout", keep[1], dout_h)
# an integer x in the cache and an integer dout: the shares are fractions
x_i = np.arange(30).reshape(1, 1, 5, 6) % 7
x_t = torch.tensor(x_i, dtype=torch.float64, requires_grad=True)
out_t = F.avg_pool2d(x_t, 3, 1)
dout_i = np.arange(12).reshape(tuple(out_t.shape)) % 4
out_t.backward(torch.tensor(dout_i, dtype=torch.float64))
check_close("avg_pool_backward for an integer x and dout", avg_pool_backward(dout_i, (x_i, 3, 1)),
            x_t.grad.numpy(), rtol=1e-6, hint="allocate dx as floats, not like x or dout")
### END HIDDEN TESTS

# %% [markdown]
# ## Experiment 1: how fast is your convolution?
#
# The cell below times your two convolutions and PyTorch's on a batch of 32 colour images of
# 32x32 pixels (the size of CIFAR-10) with 16 filters of 3x3 and 'same' padding, and checks
# that all three agree. (When the grader runs the notebook, the batch shrinks to 4 images of
# 16x16 so that grading stays fast; the cell says so.)

# %% nbgrader=locked id=experiment_speed
import os
import time

import torch
import torch.nn.functional as F


def best_time_ms(function, repeats):
    """The fastest of `repeats` runs of function() in milliseconds, and its last result."""
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - tic)
    return 1000 * min(times), result


grading = bool(os.environ.get("NBGRADER_EXECUTION"))
shape = (4, 3, 16, 16) if grading else (32, 3, 32, 32)
if grading:
    print("running under the grader: timing a smaller batch", shape)
speed_rng = np.random.default_rng(0)
x_speed = speed_rng.normal(size=shape)
w_speed = speed_rng.normal(size=(16, 3, 3, 3))
b_speed = speed_rng.normal(size=16)
tensors = [torch.from_numpy(a) for a in (x_speed, w_speed, b_speed)]
reference = F.conv2d(*tensors, padding=1).numpy()
rows = [  # name, function, repeats (the slow loops run once)
    ("naive loops", lambda: conv_forward_naive(x_speed, w_speed, b_speed, padding=1)[0], 1),
    ("im2col", lambda: conv_forward_im2col(x_speed, w_speed, b_speed, padding=1)[0], 10),
    ("torch F.conv2d", lambda: F.conv2d(*tensors, padding=1).numpy(), 10),
]
timings, outputs = {}, {}
for name, run, repeats in rows:
    timings[name], outputs[name] = best_time_ms(run, repeats)
print(f"input {shape}, filters {w_speed.shape}, padding 1, float64")
print(f"{'method':<16}{'time (ms)':>12}{'vs torch':>10}{'max |diff|':>12}")
for name, _, _ in rows:
    difference = np.abs(outputs[name] - reference).max()
    ratio = timings[name] / timings["torch F.conv2d"]
    print(f"{name:<16}{timings[name]:>12.2f}{ratio:>9.1f}x{difference:>12.1e}")

# %% [markdown]
# The loops pay Python's overhead once per output value; im2col pays it once per kernel tap
# and hands the arithmetic to an optimized matrix product, which is why it lands within a
# small factor of PyTorch's dedicated kernels. (GPUs and libraries such as cuDNN also use
# matrix-product formulations, alongside FFT and Winograd algorithms.)
#
# ## Experiment 2: edges in a photograph
#
# The Sobel filters estimate the horizontal and vertical derivatives of the brightness:
#
# $$S_x = \begin{pmatrix} -1 & 0 & 1 \\ -2 & 0 & 2 \\ -1 & 0 & 1 \end{pmatrix}, \qquad
#   S_y = S_x^\top, \qquad \lVert g \rVert = \sqrt{(S_x \star I)^2 + (S_y \star I)^2}.$$
#
# Below, your `conv_forward_im2col` applies both as a bank of $F = 2$ filters to the grey
# photo (one image, one channel, padding 1), and your `max_pool_forward` shrinks the edge map
# 4 times. Flipping a Sobel kernel only flips its sign, so true convolution would give the
# same edge strength with opposite signs in the two derivative images.

# %% nbgrader=locked id=experiment_sobel
import matplotlib.pyplot as plt

from course import data, plot

photo = data.load_photo(gray=True, size=(300, 256))  # (H, W) in [0, 1]
sobel_x = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
bank = np.stack([sobel_x, sobel_x.T])[:, None]  # (2, 1, 3, 3)
edges, _ = conv_forward_im2col(photo[None, None], bank, np.zeros(2), padding=1)
gx, gy = edges[0]
magnitude = np.sqrt(gx**2 + gy**2)
pooled, _ = max_pool_forward(magnitude[None, None], window=4, stride=4)
print(f"photo {photo.shape} -> derivatives {edges.shape} -> pooled edge map {pooled.shape}")
fig, axes = plt.subplots(1, 5, figsize=(16, 3.8))
plot.image(photo, ax=axes[0], title="photo")
limit = np.abs(edges).max()
plot.image(gx, ax=axes[1], title="S_x: vertical edges", cmap="RdBu", vmin=-limit, vmax=limit)
plot.image(gy, ax=axes[2], title="S_y: horizontal edges", cmap="RdBu", vmin=-limit, vmax=limit)
plot.image(magnitude, ax=axes[3], title="edge strength |g|")
plot.image(pooled[0, 0], ax=axes[4], title="4x4 max pooled")
plt.show()

# %% [markdown]
# ### Check yourself
#
# Your Sobel convolution used `padding=1`. What size would the edge map have without
# padding, and what would `dilation=2` do to it?
#
# <details><summary>Answer</summary>
#
# Without padding a 3x3 kernel loses one row and one column on each side: $H - 2$ by $W - 2$.
# With `dilation=2` the taps are two pixels apart, the kernel spans 5x5, so with `padding=1`
# the map shrinks by 2 per axis, and the filter responds to edges at a coarser scale (the
# derivative is taken over 4 pixels instead of 2).
#
# </details>
#
# ### Going further (not graded)
# - Write the backward pass of max pooling with im2col, and time it against your loops.
# - Use `conv_backward` to *learn* a 3x3 filter by gradient descent so that its output on the
#   photo matches the Sobel edges (start from random weights). Does it recover $S_x$?
