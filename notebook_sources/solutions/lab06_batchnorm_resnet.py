# %% [markdown]
# # Lab 06 — Batch normalization and residual networks
#
# Lecture 07 showed why very deep networks are hard to train and which two ideas fixed it:
# **batch normalization** keeps the activations of every layer at a sensible scale, and
# **residual connections** give the gradient a short path back to the first layers. In this
# lab you write both yourself in PyTorch: batch norm forward (training and evaluation mode)
# and backward as functions on tensors, checked against `torch.nn.functional.batch_norm` and
# autograd; then a residual block, a small ResNet, and a function that measures the gradient
# of every layer. The last cell uses your code to compare a deep plain network with the same
# network with residual connections.
#
# Rules for every function: work on `torch` tensors, never modify an argument in place
# (tensors, models), and keep the shapes of the docstrings. Floating-point input (float32 or
# float64) gives output of the same dtype; the tests accept either within float32 accuracy.
# Nothing in this lab is random except the initial weights that PyTorch draws for your
# modules (the tests seed `torch.manual_seed` themselves).
#
# Points: `batchnorm_forward` 22 (training mode) + 10 (evaluation mode),
# `batchnorm_backward` 20, `ResidualBlock` 18, `SmallResNet` 12, `gradient_norms` 18.

# %% setup

# %% nbgrader=locked id=imports
import inspect
import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course.grading import check_close, check_shape, check_type, check_unchanged


def check_no_shortcut(what, func, banned):
    """Fail if the source of ``func`` uses one of the ``banned`` names: the lab grades your own
    computation, and PyTorch's batch norm or autograd would do the work for you."""
    source = inspect.getsource(func)
    found = [name for name in banned if name in source]
    if found:
        raise AssertionError(
            f"{what} uses {', '.join(found)}.\n  expected: the computation written with "
            "tensor operations (mean, sum, sqrt, ...)\n  hint: PyTorch's own batch norm and "
            "autograd are only for checking your code")


def raises_value_error(call):
    """True when ``call()`` raises ValueError."""
    try:
        call()
    except ValueError:
        return True
    return False


# %% [markdown]
# ## 1. Batch normalization, forward
#
# A batch-norm layer with $C$ channels normalizes every channel $c$ with statistics of the
# mini-batch and then scales and shifts it with learned $\gamma_c$, $\beta_c$:
#
# $$\mu_c = \frac1m \sum_i x_{ic}, \qquad \sigma^2_c = \frac1m \sum_i (x_{ic} - \mu_c)^2, \qquad
#   \hat x_{ic} = \frac{x_{ic} - \mu_c}{\sqrt{\sigma^2_c + \varepsilon}}, \qquad
#   y_{ic} = \gamma_c \hat x_{ic} + \beta_c .$$
#
# The index $i$ runs over every value of channel $c$ in the batch: for input `(N, D)` (after a
# linear layer; $C = D$) the $m = N$ rows, for input `(N, C, H, W)` (after a convolution) the
# $m = N \cdot H \cdot W$ values of all images and all positions. Note: the **biased**
# variance (divide by $m$) normalizes, and $\varepsilon$ sits **inside** the square root.
#
# At test time a prediction must not depend on the other examples of the batch, so the layer
# keeps **running averages** of the statistics during training, exactly as PyTorch does, with
# `momentum` $= 0.1$ by default:
#
# $$r_\mu \leftarrow (1 - \text{momentum})\, r_\mu + \text{momentum}\cdot\mu_c, \qquad
#   r_{\sigma^2} \leftarrow (1 - \text{momentum})\, r_{\sigma^2} + \text{momentum}\cdot
#   \frac{m}{m - 1}\,\sigma^2_c ,$$
#
# where the running variance takes the **unbiased** estimate (divide by $m - 1$). In
# evaluation mode (`training=False`) the layer normalizes with $r_\mu$ and $r_{\sigma^2}$
# instead of the batch statistics and leaves them unchanged.
#
# **Contract.** `batchnorm_forward(x, gamma, beta, running_mean, running_var, momentum=0.1,
# eps=1e-5, training=True)` returns the triple `(out, new_running_mean, new_running_var)`:
# `out` has the shape and dtype of `x`; the running statistics are **new** tensors of shape
# `(C,)` (in evaluation mode, equal to the old ones). No argument is modified in place. Raise
# `ValueError` when `x` is not 2-D or 4-D, is not a floating-point tensor, when `gamma`,
# `beta`, `running_mean` or `running_var` is not of shape `(C,)`, or when `training=True` and
# there is only one value per channel ($m = 1$: no variance to estimate; PyTorch raises too).
# Do not call PyTorch's batch norm (`F.batch_norm`, `nn.BatchNorm*`).

# %% nbgrader=solution id=batchnorm_forward
def batchnorm_forward(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5,
                      training=True):
    """Batch normalization of x: (N, C) or (N, C, H, W), per channel C.

    gamma, beta, running_mean, running_var: (C,). Returns (out, new_running_mean,
    new_running_var): out like x; the running statistics (C,), updated in training mode.
    """
    ### BEGIN SOLUTION
    if x.dim() not in (2, 4):
        raise ValueError(f"x must have shape (N, C) or (N, C, H, W); got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"x must be a floating-point tensor; got {x.dtype}")
    C = x.shape[1]
    for name, t in (("gamma", gamma), ("beta", beta), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if tuple(t.shape) != (C,):
            raise ValueError(f"{name} must have shape ({C},); got {tuple(t.shape)}")
    axes = (0,) if x.dim() == 2 else (0, 2, 3)
    shape = (1, C) if x.dim() == 2 else (1, C, 1, 1)  # broadcasts a (C,) vector over x
    if training:
        m = x.numel() // C
        if m < 2:
            raise ValueError("training needs more than one value per channel; got "
                             f"x of shape {tuple(x.shape)}")
        mean = x.mean(dim=axes)  # (C,)
        var = ((x - mean.reshape(shape)) ** 2).mean(dim=axes)  # (C,), biased
        new_mean = (1 - momentum) * running_mean + momentum * mean
        new_var = (1 - momentum) * running_var + momentum * var * m / (m - 1)
    else:
        mean, var = running_mean, running_var
        new_mean, new_var = running_mean.clone(), running_var.clone()
    x_hat = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + eps)
    out = gamma.reshape(shape) * x_hat + beta.reshape(shape)
    return out, new_mean, new_var
    ### END SOLUTION


# %% nbgrader=tests id=test_batchnorm_train points=22
x_v = torch.tensor([[1.0, 10.0], [2.0, 20.0], [6.0, 60.0]])  # N = 3 examples, C = 2
gamma_v, beta_v = torch.tensor([1.0, 2.0]), torch.tensor([0.0, -1.0])
rm_v, rv_v = torch.zeros(2), torch.ones(2)
result = batchnorm_forward(x_v, gamma_v, beta_v, rm_v, rv_v, eps=0.0)
check_type("batchnorm_forward(...)", result, tuple,
           hint="return the triple (out, new_running_mean, new_running_var)")
out_v, rm_new, rv_new = result
# channel 0: mean 3, biased variance 14/3; channel 1 is 10 times channel 0
z = torch.from_numpy(np.array([-2.0, -1.0, 3.0]) / np.sqrt(14 / 3)).float()
check_close("out (eps = 0)", out_v, torch.stack([z, 2 * z - 1], dim=1), rtol=1e-5, atol=1e-6,
            hint="normalize each column with its mean and its BIASED variance (divide by m), "
                 "then gamma * x_hat + beta")
check_close("new_running_mean", rm_new, [0.3, 3.0], rtol=1e-5,
            hint="PyTorch's convention: (1 - momentum) * running + momentum * batch mean")
check_close("new_running_var", rv_new, [0.9 + 0.1 * 7.0, 0.9 + 0.1 * 700.0], rtol=1e-5,
            hint="the running variance takes the UNBIASED batch variance (divide by m - 1 = 2)")
check_unchanged("running_mean", torch.zeros(2), rm_v, hint="return new running statistics")
check_unchanged("running_var", torch.ones(2), rv_v, hint="return new running statistics")
x4_v = torch.arange(16.0).reshape(2, 2, 2, 2)  # (N, C, H, W): channel 0 holds 0-3 and 8-11
out4 = batchnorm_forward(x4_v, torch.ones(2), torch.zeros(2), torch.zeros(2), torch.ones(2),
                         eps=0.0)[0]
v0 = torch.tensor([0.0, 1, 2, 3, 8, 9, 10, 11])
check_close("out[:, 0] for a 4-D input", out4[:, 0].flatten(), (v0 - v0.mean()) / v0.std(
            unbiased=False), rtol=1e-5, atol=1e-6,
            hint="for (N, C, H, W) the statistics of channel c run over N, H and W together")
small = torch.full((4, 1), 1e-3) * torch.tensor([[-1.0], [1.0], [-1.0], [1.0]])
check_close("out for tiny values (variance 1e-6, eps 1e-5)",
            batchnorm_forward(small, torch.ones(1), torch.zeros(1), torch.zeros(1),
                              torch.ones(1))[0].flatten(),
            small.flatten() / (1e-6 + 1e-5) ** 0.5, rtol=1e-4,
            hint="eps goes inside the square root: sqrt(var + eps)")
check_no_shortcut("batchnorm_forward", batchnorm_forward, ("batch_norm", "BatchNorm"))
print("batchnorm_forward (training): visible tests passed")
### BEGIN HIDDEN TESTS
torch.manual_seed(601)
for shape in [(2, 1), (5, 3), (64, 7), (2, 1, 3, 3), (1, 3, 2, 2), (4, 5, 3, 2), (3, 2, 1, 4)]:
    for dtype, scale, shift in [(torch.float64, 1.0, 0.0), (torch.float32, 1e3, 5e3),
                                (torch.float64, 1e-3, 0.0)]:
        C = shape[1]
        x_h = (torch.randn(shape, dtype=torch.float64) * scale + shift).to(dtype)
        g_h, b_h = torch.randn(C, dtype=dtype), torch.randn(C, dtype=dtype)
        rm_h, rv_h = torch.randn(C, dtype=dtype), torch.rand(C, dtype=dtype) + 0.5
        keep = [t.clone() for t in (x_h, g_h, b_h, rm_h, rv_h)]
        mom = 0.3
        out_h, rm_n, rv_n = batchnorm_forward(x_h, g_h, b_h, rm_h, rv_h, momentum=mom,
                                              eps=1e-5, training=True)
        rm_ref, rv_ref = rm_h.clone(), rv_h.clone()
        ref = F.batch_norm(x_h, rm_ref, rv_ref, g_h, b_h, training=True, momentum=mom,
                           eps=1e-5)
        tol = dict(rtol=1e-4, atol=1e-4) if dtype == torch.float32 else dict(rtol=1e-6,
                                                                              atol=1e-8)
        what = f"batchnorm_forward (training) on {shape}, {dtype}, scale {scale:g}"
        check_close(f"{what}: out", out_h, ref, **tol)
        check_close(f"{what}: new_running_mean", rm_n, rm_ref,
                    rtol=1e-4, atol=1e-4 * (1 + abs(shift)))
        check_close(f"{what}: new_running_var", rv_n, rv_ref, rtol=1e-4, atol=1e-7)
        for before, after in zip(keep, (x_h, g_h, b_h, rm_h, rv_h)):
            check_unchanged(f"{what}: an argument", before, after)
        if out_h.dtype != dtype:
            raise AssertionError(f"{what}: out has dtype {out_h.dtype}; expected {dtype}")
# bad input: wrong rank, integer x, wrong parameter shape, one value per channel
ones3 = torch.ones(3)
for bad, why in [
    (lambda: batchnorm_forward(torch.randn(4, 3, 5), ones3, ones3, ones3, ones3), "3-D x"),
    (lambda: batchnorm_forward(torch.ones(4, 3, dtype=torch.int64), ones3, ones3, ones3,
                               ones3), "integer x"),
    (lambda: batchnorm_forward(torch.randn(4, 3), torch.ones(4), ones3, ones3, ones3),
     "gamma of the wrong shape"),
    (lambda: batchnorm_forward(torch.randn(4, 3), ones3, ones3, torch.ones(2), ones3),
     "running_mean of the wrong shape"),
    (lambda: batchnorm_forward(torch.randn(1, 3), ones3, ones3, ones3, ones3),
     "training with N = 1 on (N, C) input"),
]:
    if not raises_value_error(bad):
        raise AssertionError(f"batchnorm_forward must raise ValueError for {why}")
### END HIDDEN TESTS

# %% nbgrader=tests id=test_batchnorm_eval points=10
rm_e, rv_e = torch.tensor([1.0, -1.0]), torch.tensor([4.0, 0.25])
x_e = torch.tensor([[3.0, 0.0], [1.0, -1.5]])
out_e, rm_e2, rv_e2 = batchnorm_forward(x_e, torch.tensor([2.0, 1.0]), torch.tensor([0.5, 0.0]),
                                        rm_e, rv_e, eps=0.0, training=False)
check_close("out in evaluation mode", out_e, [[2 * (3 - 1) / 2 + 0.5, (0 + 1) / 0.5],
                                              [2 * (1 - 1) / 2 + 0.5, (-1.5 + 1) / 0.5]],
            hint="in evaluation mode normalize with running_mean and running_var, not with "
                 "the statistics of the batch")
check_close("running_mean after evaluation", rm_e2, [1.0, -1.0],
            hint="evaluation mode leaves the running statistics unchanged")
check_close("running_var after evaluation", rv_e2, [4.0, 0.25])
print("batchnorm_forward (evaluation): visible tests passed")
### BEGIN HIDDEN TESTS
torch.manual_seed(602)
for shape in [(1, 3), (2, 1), (6, 4), (1, 2, 3, 3), (3, 5, 2, 1)]:
    for dtype, scale in [(torch.float64, 1.0), (torch.float32, 1e-3)]:
        C = shape[1]
        x_h = (torch.randn(shape, dtype=torch.float64) * scale).to(dtype)
        g_h, b_h = torch.randn(C, dtype=dtype), torch.randn(C, dtype=dtype)
        rm_h = (torch.randn(C, dtype=torch.float64) * scale).to(dtype)
        rv_h = (torch.rand(C, dtype=torch.float64) * scale**2 + 1e-6).to(dtype)
        keep = [t.clone() for t in (x_h, g_h, b_h, rm_h, rv_h)]
        out_h, rm_n, rv_n = batchnorm_forward(x_h, g_h, b_h, rm_h, rv_h, momentum=0.2,
                                              eps=1e-5, training=False)
        ref = F.batch_norm(x_h, rm_h.clone(), rv_h.clone(), g_h, b_h, training=False,
                           momentum=0.2, eps=1e-5)
        what = f"batchnorm_forward (evaluation) on {shape}, {dtype}, scale {scale:g}"
        check_close(f"{what}: out", out_h, ref, rtol=1e-4, atol=1e-5)
        check_close(f"{what}: running_mean", rm_n, rm_h)
        check_close(f"{what}: running_var", rv_n, rv_h)
        for before, after in zip(keep, (x_h, g_h, b_h, rm_h, rv_h)):
            check_unchanged(f"{what}: an argument", before, after)
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Batch normalization, backward
#
# In training mode $\mu$ and $\sigma^2$ depend on every $x_{ic}$ of the channel, so the
# gradient has three paths: through $\hat x_{ic}$ directly, through $\sigma^2_c$ and through
# $\mu_c$. Working them out (lecture 07) gives, per channel, with $g_{ic} = \partial L /
# \partial y_{ic}$ and the sums over the $m$ values of the channel,
#
# $$\frac{\partial L}{\partial \beta_c} = \sum_i g_{ic}, \qquad
#   \frac{\partial L}{\partial \gamma_c} = \sum_i g_{ic}\, \hat x_{ic}, \qquad
#   \frac{\partial L}{\partial x_{ic}} = \frac{\gamma_c}{\sqrt{\sigma^2_c + \varepsilon}}
#   \Bigl(g_{ic} - \frac1m \sum_j g_{jc} - \hat x_{ic}\,\frac1m \sum_j g_{jc}\,\hat x_{jc}
#   \Bigr).$$
#
# **Contract.** `batchnorm_backward(dout, x, gamma, eps=1e-5)` returns `(dx, dgamma, dbeta)`,
# the gradients of training-mode batch norm (batch statistics), with the shapes of `x`,
# `gamma` and `gamma`. It recomputes what it needs from `x` (no cache), works for `(N, C)` and
# `(N, C, H, W)`, modifies nothing, and does not use autograd (`.backward`,
# `torch.autograd`, `requires_grad`) or PyTorch's batch norm.

# %% nbgrader=solution id=batchnorm_backward
def batchnorm_backward(dout, x, gamma, eps=1e-5):
    """Gradients of training-mode batch norm. dout, x: (N, C) or (N, C, H, W); gamma: (C,).

    Returns (dx, dgamma, dbeta) with the shapes of x, gamma, gamma.
    """
    ### BEGIN SOLUTION
    if x.dim() not in (2, 4):
        raise ValueError(f"x must have shape (N, C) or (N, C, H, W); got {tuple(x.shape)}")
    C = x.shape[1]
    axes = (0,) if x.dim() == 2 else (0, 2, 3)
    shape = (1, C) if x.dim() == 2 else (1, C, 1, 1)
    mean = x.mean(dim=axes, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=axes, keepdim=True)
    inv_std = 1.0 / torch.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    dbeta = dout.sum(dim=axes)
    dgamma = (dout * x_hat).sum(dim=axes)
    dx = gamma.reshape(shape) * inv_std * (
        dout - dout.mean(dim=axes, keepdim=True)
        - x_hat * (dout * x_hat).mean(dim=axes, keepdim=True))
    return dx, dgamma, dbeta
    ### END SOLUTION


# %% nbgrader=tests id=test_batchnorm_backward points=20
def autograd_batchnorm(dout, x, gamma, beta, eps=1e-5):
    """The reference: autograd through torch's training-mode batch norm."""
    xs, gs, bs = (t.detach().clone().requires_grad_(True) for t in (x, gamma, beta))
    C = x.shape[1]
    y = F.batch_norm(xs, torch.zeros(C, dtype=x.dtype), torch.ones(C, dtype=x.dtype), gs, bs,
                     training=True, eps=eps)
    y.backward(dout)
    return xs.grad, gs.grad, bs.grad


torch.manual_seed(6)
x_b = torch.randn(5, 3, dtype=torch.float64)
g_b, dout_b = torch.tensor([1.0, 2.0, -0.5], dtype=torch.float64), torch.randn(5, 3,
                                                                                dtype=torch.float64)
result = batchnorm_backward(dout_b, x_b, g_b)
check_type("batchnorm_backward(...)", result, tuple, hint="return (dx, dgamma, dbeta)")
dx_b, dg_b, db_b = result
ref_b = autograd_batchnorm(dout_b, x_b, g_b, torch.zeros(3, dtype=torch.float64))
check_close("dbeta", db_b, ref_b[2], hint="beta is added to every value: sum dout over them")
check_close("dgamma", dg_b, ref_b[1], hint="dgamma = sum of dout * x_hat over the channel")
check_close("dx", dx_b, ref_b[0], rtol=1e-6, atol=1e-9,
            hint="mean and variance depend on x too: dx has the three terms of the formula")
dx_c = batchnorm_backward(torch.ones(4, 1, dtype=torch.float64),
                          torch.tensor([[1.0], [2.0], [3.0], [5.0]], dtype=torch.float64),
                          torch.ones(1, dtype=torch.float64))[0]
check_close("dx for dout = 1 everywhere", dx_c, torch.zeros(4, 1), atol=1e-9,
            hint="adding a constant to every value of a channel does not change its "
                 "normalized output, so this gradient is 0 (the path through the mean)")
check_no_shortcut("batchnorm_backward", batchnorm_backward,
                  ("batch_norm", "BatchNorm", "autograd", ".backward(", "requires_grad"))
print("batchnorm_backward: visible tests passed")
### BEGIN HIDDEN TESTS
torch.manual_seed(603)
for shape in [(2, 1), (7, 4), (1, 2, 3, 3), (2, 1, 2, 2), (3, 5, 4, 2)]:
    for dtype, scale in [(torch.float64, 1.0), (torch.float64, 1e3), (torch.float32, 1e-2)]:
        C = shape[1]
        x_h = (torch.randn(shape, dtype=torch.float64) * scale + 0.5 * scale).to(dtype)
        g_h, dout_h = torch.randn(C, dtype=dtype), torch.randn(shape, dtype=dtype)
        keep = [t.clone() for t in (dout_h, x_h, g_h)]
        got = batchnorm_backward(dout_h, x_h, g_h, eps=1e-5)
        ref = autograd_batchnorm(dout_h.double(), x_h.double(), g_h.double(),
                                 torch.zeros(C, dtype=torch.float64))
        what = f"batchnorm_backward on {shape}, {dtype}, scale {scale:g}"
        rtol = 1e-6 if dtype == torch.float64 else 2e-3
        for name, a, b in zip(("dx", "dgamma", "dbeta"), got, ref):
            check_close(f"{what}: {name}", a, b, rtol=rtol, atol=rtol * float(b.abs().max()))
        for before, after in zip(keep, (dout_h, x_h, g_h)):
            check_unchanged(f"{what}: an argument", before, after)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. A residual block
#
# A **basic residual block** (He et al., 2016) computes
#
# $$\text{out} = \operatorname{ReLU}\bigl(F(x) + s(x)\bigr), \qquad
#   F(x) = \operatorname{BN}_2\bigl(\operatorname{conv}_2(\operatorname{ReLU}(\operatorname{BN}_1(
#   \operatorname{conv}_1 x)))\bigr),$$
#
# with two 3x3 convolutions (padding 1). The **shortcut** $s$ is the identity when the shape
# does not change. When the block downsamples (`stride` 2) or changes the number of
# channels, $x$ and $F(x)$ no longer have the same shape, and $s$ is a **projection**: a 1x1
# convolution with the same stride followed by batch norm. The final ReLU comes **after** the
# addition.
#
# **Contract.** `ResidualBlock(in_channels, out_channels, stride=1)` is an `nn.Module` with
# attributes `conv1` (3x3, `in_channels` → `out_channels`, stride `stride`, padding 1),
# `bn1`, `conv2` (3x3, `out_channels` → `out_channels`, stride 1, padding 1), `bn2`
# (`nn.BatchNorm2d`), and `shortcut`: `nn.Identity()` when `stride == 1` and
# `in_channels == out_channels`, else a module holding a 1x1 `nn.Conv2d` (stride `stride`)
# and an `nn.BatchNorm2d` (an `nn.Sequential`, say). Convolutions have **no bias**
# (`bias=False`: the β of the batch norm after them does that job). `forward(x)` maps
# `(N, in_channels, H, W)` to `(N, out_channels, ceil(H / stride), ceil(W / stride))`.

# %% nbgrader=solution id=ResidualBlock
class ResidualBlock(nn.Module):
    """Basic residual block: x: (N, C_in, H, W) -> (N, C_out, ceil(H/s), ceil(W/s))."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        ### BEGIN SOLUTION
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1,
                               bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels))
        else:
            self.shortcut = nn.Identity()
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))
        ### END SOLUTION


# %% nbgrader=tests id=test_ResidualBlock points=18
def block_reference(block, x, stride):
    """The block's formula written with torch.nn.functional and the block's own weights."""
    def bn(t, layer):
        return F.batch_norm(t, layer.running_mean.clone(), layer.running_var.clone(),
                            layer.weight, layer.bias, training=block.training,
                            momentum=0.0, eps=layer.eps)

    h = F.relu(bn(F.conv2d(x, block.conv1.weight, stride=stride, padding=1), block.bn1))
    h = bn(F.conv2d(h, block.conv2.weight, padding=1), block.bn2)
    convs = [m for m in block.shortcut.modules() if isinstance(m, nn.Conv2d)]
    norms = [m for m in block.shortcut.modules() if isinstance(m, nn.BatchNorm2d)]
    if convs:
        s = bn(F.conv2d(x, convs[0].weight, stride=stride), norms[0])
    else:
        s = x
    return F.relu(h + s)


def randomize_bn(module):
    """Give every batch norm non-trivial gamma, beta and running statistics."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_()
                m.running_mean.normal_()
                m.running_var.uniform_(0.5, 2.0)


def conv_params(c_in, c_out, k):
    return c_in * c_out * k * k


torch.manual_seed(7)
for c_in, c_out, stride in [(4, 4, 1), (4, 8, 2), (4, 8, 1), (6, 6, 2)]:
    block = ResidualBlock(c_in, c_out, stride=stride)
    projection = stride != 1 or c_in != c_out
    expected = (conv_params(c_in, c_out, 3) + conv_params(c_out, c_out, 3) + 4 * c_out
                + (conv_params(c_in, c_out, 1) + 2 * c_out if projection else 0))
    count = sum(p.numel() for p in block.parameters())
    check_close(f"number of parameters of ResidualBlock({c_in}, {c_out}, stride={stride})",
                count, expected,
                hint="two 3x3 convolutions without bias, two batch norms (gamma and beta), "
                     "and a 1x1 convolution + batch norm in the shortcut only when the stride "
                     "or the number of channels changes")
    x_r = torch.randn(2, c_in, 6, 6)
    try:
        out_r = block(x_r)
    except RuntimeError as error:
        raise AssertionError(
            f"ResidualBlock({c_in}, {c_out}, stride={stride}) failed on x of shape "
            f"{tuple(x_r.shape)}: {error}\n  hint: when the stride or the number of channels "
            "changes, the shortcut must project x (1x1 convolution with that stride + "
            "batch norm)") from None
    check_shape(f"ResidualBlock({c_in}, {c_out}, stride={stride})(x)", out_r,
                (2, c_out, 6 // stride, 6 // stride))
    randomize_bn(block)
    for mode in ("train", "eval"):
        block.train(mode == "train")
        with torch.no_grad():
            check_close(f"ResidualBlock({c_in}, {c_out}, stride={stride}) in {mode} mode",
                        block(x_r), block_reference(block, x_r, stride), rtol=1e-4, atol=1e-5,
                        hint="out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)): the "
                             "last ReLU comes after the addition")
print("ResidualBlock: visible tests passed")
### BEGIN HIDDEN TESTS
torch.manual_seed(604)
for c_in, c_out, stride, size, n in [(1, 1, 1, 5, 2), (3, 5, 2, 7, 1), (2, 2, 2, 4, 3),
                                     (5, 3, 1, 3, 2), (2, 4, 2, 1, 4)]:
    block = ResidualBlock(c_in, c_out, stride=stride)
    randomize_bn(block)
    x_h = torch.randn(n, c_in, size, size, dtype=torch.float64)
    block = block.double()
    keep_x = x_h.clone()
    keep_state = {k: v.clone() for k, v in block.state_dict().items()}
    block.eval()
    with torch.no_grad():
        got = block(x_h)
        check_close(f"ResidualBlock({c_in}, {c_out}, stride={stride}) on {tuple(x_h.shape)}",
                    got, block_reference(block, x_h, stride), rtol=1e-7, atol=1e-9)
    check_unchanged("x", keep_x, x_h)
    for k, v in block.state_dict().items():
        check_unchanged(f"the block's {k} in eval mode", keep_state[k], v)
    if not (stride != 1 or c_in != c_out) and not isinstance(block.shortcut, nn.Identity):
        raise AssertionError("the shortcut must be nn.Identity() when the shape does not change")
    biases = [m.bias for m in block.modules() if isinstance(m, nn.Conv2d)]
    if any(b is not None for b in biases):
        raise AssertionError("the convolutions of the block must have bias=False")
    # training mode: batch statistics, gradients reach the input through both paths
    block.train()
    xg = x_h.clone().requires_grad_(True)
    block(xg).sum().backward()
    xr = x_h.clone().requires_grad_(True)
    block_reference(block, xr, stride).sum().backward()
    check_close("the gradient of the block's output with respect to x", xg.grad, xr.grad,
                rtol=1e-6, atol=1e-9)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. A small ResNet
#
# **Contract.** `SmallResNet(num_classes=10, in_channels=1, widths=(16, 32, 64),
# blocks_per_stage=2)` is an `nn.Module`:
# - a **stem**: 3x3 convolution `in_channels` → `widths[0]` (padding 1, no bias), batch norm,
#   ReLU;
# - one **stage** per entry of `widths`, each `blocks_per_stage` of your `ResidualBlock`s
#   with `widths[k]` output channels; the first block of every stage after the first has
#   stride 2 (it halves the map and changes the width), every other block stride 1;
# - a **head**: global average pooling over the spatial positions and a linear layer
#   `widths[-1]` → `num_classes` (with bias).
#
# `forward(x)` maps `(N, in_channels, H, W)` (any `H, W >= 1`) to logits `(N, num_classes)`.

# %% nbgrader=solution id=SmallResNet
class SmallResNet(nn.Module):
    """A CIFAR-style ResNet: x: (N, in_channels, H, W) -> logits (N, num_classes)."""

    def __init__(self, num_classes=10, in_channels=1, widths=(16, 32, 64), blocks_per_stage=2):
        super().__init__()
        ### BEGIN SOLUTION
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False),
            nn.BatchNorm2d(widths[0]), nn.ReLU())
        blocks, channels = [], widths[0]
        for k, width in enumerate(widths):
            for b in range(blocks_per_stage):
                stride = 2 if (k > 0 and b == 0) else 1
                blocks.append(ResidualBlock(channels, width, stride=stride))
                channels = width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(channels, num_classes)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        out = self.blocks(self.stem(x))  # (N, widths[-1], H', W')
        return self.fc(out.mean(dim=(2, 3)))
        ### END SOLUTION


# %% nbgrader=tests id=test_SmallResNet points=12
def resnet_params(num_classes, in_channels, widths, blocks_per_stage):
    """Parameter count of the contract's network, by the formula."""
    total = conv_params(in_channels, widths[0], 3) + 2 * widths[0]
    c = widths[0]
    for k, w in enumerate(widths):
        for b in range(blocks_per_stage):
            stride = 2 if (k > 0 and b == 0) else 1
            total += conv_params(c, w, 3) + conv_params(w, w, 3) + 4 * w
            if stride != 1 or c != w:
                total += conv_params(c, w, 1) + 2 * w
            c = w
    return total + c * num_classes + num_classes


torch.manual_seed(8)
net = SmallResNet()
check_close("number of parameters of SmallResNet()", sum(p.numel() for p in net.parameters()),
            resnet_params(10, 1, (16, 32, 64), 2),
            hint="stem (conv + BN), 3 stages of 2 blocks (the first block of stages 2 and 3 "
                 "has stride 2 and a projection), global average pooling, a linear layer")
check_shape("SmallResNet()(x) for x (4, 1, 32, 32)", net(torch.randn(4, 1, 32, 32)), (4, 10))
strided = [m.stride for m in net.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)
           and m.stride != (1, 1)]
check_close("number of 3x3 convolutions with stride 2 in SmallResNet()", len(strided), 2,
            hint="only the first block of the second and of the third stage downsamples")
print("SmallResNet: visible tests passed")
### BEGIN HIDDEN TESTS
torch.manual_seed(605)
for kwargs, shape in [(dict(num_classes=3, in_channels=3, widths=(4, 8), blocks_per_stage=1),
                       (2, 3, 9, 9)),
                      (dict(num_classes=6, in_channels=2, widths=(2, 3, 5, 6),
                            blocks_per_stage=3), (1, 2, 16, 12)),
                      (dict(num_classes=1, in_channels=1, widths=(4,), blocks_per_stage=2),
                       (3, 1, 1, 1))]:
    torch.manual_seed(1)
    net_h = SmallResNet(**kwargs)
    check_close(f"number of parameters of SmallResNet({kwargs})",
                sum(p.numel() for p in net_h.parameters()), resnet_params(**kwargs))
    net_h.eval()
    x_h = torch.randn(shape)
    keep = x_h.clone()
    with torch.no_grad():
        out_h = net_h(x_h)
    check_shape(f"SmallResNet({kwargs}) on {shape}", out_h, (shape[0], kwargs["num_classes"]))
    check_unchanged("x", keep, x_h)
    # in eval mode the logits of one image do not depend on the other images of the batch
    with torch.no_grad():
        one = net_h(x_h[:1])
    check_close("logits of the first image alone vs in the batch", one, out_h[:1], rtol=1e-4,
                atol=1e-5)
    # the head averages the last block's maps over the positions (global average pooling)
    seen = {}
    last_block = [m for m in net_h.modules() if isinstance(m, ResidualBlock)][-1]
    last_linear = [m for m in net_h.modules() if isinstance(m, nn.Linear)][-1]
    hooks = [last_block.register_forward_hook(lambda m, i, o: seen.__setitem__("maps", o)),
             last_linear.register_forward_pre_hook(lambda m, i: seen.__setitem__("fc_in", i[0])),
             [m for m in net_h.modules() if isinstance(m, ResidualBlock)][0]
             .register_forward_pre_hook(lambda m, i: seen.__setitem__("stem_out", i[0]))]
    with torch.no_grad():
        net_h(x_h)
    for h in hooks:
        h.remove()
    check_close("the input of the final linear layer", seen["fc_in"],
                seen["maps"].mean(dim=(2, 3)), rtol=1e-5, atol=1e-6,
                hint="global average pooling: the mean of every map over its H x W positions")
    if not (seen["stem_out"] >= 0).all():
        raise AssertionError("the stem must end with a ReLU: the first block got negative input")
    n_blocks = sum(isinstance(m, ResidualBlock) for m in net_h.modules())
    check_close("number of ResidualBlocks", n_blocks,
                len(kwargs["widths"]) * kwargs["blocks_per_stage"])
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Gradient norms per layer
#
# To see whether the gradient reaches the first layers we measure, for one mini-batch, the
# norm $\lVert \partial L / \partial W_\ell \rVert$ of the gradient of the loss with respect
# to the weights of every layer $\ell$.
#
# **Contract.** `gradient_norms(model, X, y)` computes the mean cross-entropy
# `F.cross_entropy(model(X), y)` of the batch `X: (N, ...)`, `y: (N,)` (int64 labels) in
# whatever mode (`train`/`eval`) the model is in, and returns a `dict` that maps the name
# (as in `model.named_parameters()`, in that order) of every weight with **at least two
# dimensions** (convolution and linear weights; not biases, not batch-norm γ and β) to the
# Euclidean norm of its gradient, a Python `float`. Gradients that are already stored in
# `.grad` (from an earlier call, say) must not count. The parameters and `X`, `y` must not
# change (no optimizer step). Nothing is random.

# %% nbgrader=solution id=gradient_norms
def gradient_norms(model, X, y):
    """Norm of dLoss/dW for every weight W (ndim >= 2) of model: {name: float}."""
    ### BEGIN SOLUTION
    model.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(X), y)
    loss.backward()
    return {name: p.grad.norm().item() for name, p in model.named_parameters()
            if p.dim() >= 2}
    ### END SOLUTION


# %% nbgrader=tests id=test_gradient_norms points=18
def reference_norms(model, X, y):
    """Gradient norms from torch.autograd.grad: independent of the .grad fields."""
    named = [(n, p) for n, p in model.named_parameters() if p.dim() >= 2]
    grads = torch.autograd.grad(F.cross_entropy(model(X), y), [p for _, p in named])
    return {n: g.norm().item() for (n, _), g in zip(named, grads)}


torch.manual_seed(9)
mlp = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))
X_g, y_g = torch.randn(6, 5), torch.tensor([0, 1, 2, 0, 1, 2])
got = gradient_norms(mlp, X_g, y_g)
check_type("gradient_norms(mlp, X, y)", got, dict, hint="return a dict {name: norm}")
expected = reference_norms(mlp, X_g, y_g)
if list(got) != list(expected):
    raise AssertionError(f"the keys of gradient_norms are wrong.\n  expected: {list(expected)}"
                         f"\n  got:      {list(got)}\n  hint: one entry per weight with "
                         "p.dim() >= 2, named as in model.named_parameters()")
check_close("the gradient norms", list(got.values()), list(expected.values()), rtol=1e-5,
            hint="the norm of p.grad after one backward pass of the mean cross-entropy")
again = gradient_norms(mlp, X_g, y_g)
check_close("gradient norms of a second call", list(again.values()), list(expected.values()),
            rtol=1e-5, hint="gradients add up in .grad: clear them first (model.zero_grad())")
print("gradient_norms: visible tests passed")
### BEGIN HIDDEN TESTS
torch.manual_seed(606)
net_g = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
                      nn.Conv2d(3, 3, 3), nn.Flatten(), nn.Linear(3 * 4 * 4, 4))
X_h, y_h = torch.randn(5, 2, 6, 6), torch.tensor([0, 3, 1, 2, 3])
for p in net_g.parameters():  # stale gradients from "an earlier step"
    p.grad = torch.randn_like(p) * 100
keep = [X_h.clone(), y_h.clone()] + [p.detach().clone() for p in net_g.parameters()]
for mode in ("train", "eval"):
    net_g.train(mode == "train")
    exp_h = reference_norms(net_g, X_h, y_h)
    got_h = gradient_norms(net_g, X_h, y_h)
    if net_g.training != (mode == "train"):
        raise AssertionError(f"gradient_norms changed the model's mode (it was in {mode} mode)"
                             "\n  hint: use the model in the mode it is in")
    if list(got_h) != list(exp_h):
        raise AssertionError(f"gradient_norms keys {list(got_h)}; expected {list(exp_h)}")
    for k in exp_h:
        check_type(f"gradient_norms(...)[{k!r}]", got_h[k], float)
    check_close(f"gradient norms ({mode} mode, stale .grad)", list(got_h.values()),
                list(exp_h.values()), rtol=1e-5, atol=1e-9)
for before, after in zip(keep, [X_h, y_h] + [p.detach() for p in net_g.parameters()]):
    check_unchanged("an argument of gradient_norms (X, y or a parameter)", before, after)
# batch size 1, and a deep network whose first layers get tiny gradients
deep = nn.Sequential(*[m for _ in range(12) for m in (nn.Linear(6, 6), nn.Sigmoid())],
                     nn.Linear(6, 2))
torch.manual_seed(607)
x1 = torch.randn(1, 6)
got_d = gradient_norms(deep, x1, torch.tensor([1]))
exp_d = reference_norms(deep, x1, torch.tensor([1]))
check_close("gradient norms of a 13-layer sigmoid network, batch size 1",
            list(got_d.values()), list(exp_d.values()), rtol=1e-5, atol=1e-12)
### END HIDDEN TESTS

# %% [markdown]
# ## 6. Experiment: plain versus residual
#
# This cell uses your code only. It builds two deep networks from your `ResidualBlock`: the
# `SmallResNet`, and the **same** network with every identity shortcut replaced by a module
# that returns zeros — a plain network of the same depth and the same weights (projection
# shortcuts stay, so both downsample alike). Your `gradient_norms` measures the gradient of
# every layer at initialization on a batch of digits; then both networks train briefly with
# the same optimizer. Under the grader the training is cut to a few steps.

# %% nbgrader=locked id=experiment
import time

import matplotlib.pyplot as plt

from course import data


class Zero(nn.Module):
    """A shortcut that adds nothing: turns a residual block into a plain one."""

    def forward(self, x):
        return torch.zeros_like(x)


def make_net(residual, seed=0):
    torch.manual_seed(seed)
    net = SmallResNet(num_classes=10, in_channels=1, widths=(8, 16), blocks_per_stage=5)
    if not residual:
        for m in net.modules():
            if isinstance(m, ResidualBlock) and isinstance(m.shortcut, nn.Identity):
                m.shortcut = Zero()
    return net


grading = bool(os.environ.get("NBGRADER_EXECUTION"))
digits = data.load_digits(image_size=8)
X_tr, y_tr = torch.from_numpy(digits.X_train), torch.from_numpy(digits.y_train)
X_te, y_te = torch.from_numpy(digits.X_test), torch.from_numpy(digits.y_test)
if grading:  # a few steps only: the grader checks that the cell runs
    X_tr, y_tr = X_tr[:192], y_tr[:192]
num_epochs = 1 if grading else 3

fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
for residual, colour in ((False, "tab:red"), (True, "tab:blue")):
    label = "residual" if residual else "plain"
    net = make_net(residual)
    norms = gradient_norms(net, X_tr[:128], y_tr[:128])
    convs = [v for k, v in norms.items() if "shortcut" not in k]
    axes[0].semilogy(range(1, len(convs) + 1), convs, "-o", ms=3, color=colour, label=label)
    print(f"{label}: first conv gradient norm {convs[0]:.2e}, last layer {convs[-1]:.2e}")
    net.zero_grad(set_to_none=True)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    generator = torch.Generator().manual_seed(0)
    losses, tic = [], time.perf_counter()
    net.train()
    for epoch in range(num_epochs):
        order = torch.randperm(len(X_tr), generator=generator)
        for i in range(0, len(X_tr), 64):
            idx = order[i:i + 64]
            loss = F.cross_entropy(net(X_tr[idx]), y_tr[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    net.eval()
    with torch.no_grad():
        acc = (net(X_te).argmax(1) == y_te).float().mean().item()
    print(f"{label}: {len(losses)} steps in {time.perf_counter() - tic:.1f} s, last loss "
          f"{losses[-1]:.3f}, test accuracy {acc:.3f}")
    axes[1].plot(losses, color=colour, label=f"{label} (test acc. {acc:.2f})")
axes[0].set_xlabel("layer (input → output)")
axes[0].set_ylabel("gradient norm at initialization")
axes[0].legend()
axes[1].set_xlabel("SGD step")
axes[1].set_ylabel("mini-batch loss")
axes[1].legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# Read the two panels: the left one shows how much gradient reaches each layer of the
# untrained networks (the stem, the 20 convolutions of the blocks and the final linear
# layer; the projection shortcut is left out), the right one how fast
# each network lowers its training loss on the 8x8 digits. Compare with lecture 07, where
# the same comparison runs with and without batch norm. (Under the grader the curves are only
# a few steps long and say nothing.)
#
# ### Going further (not graded)
# - Drop the batch norms (`nn.Identity()` in place of `bn1`, `bn2`) in a copy of your block
#   and run the experiment again: what happens to the plain network?
# - Double `blocks_per_stage`: does the gap between plain and residual grow?
