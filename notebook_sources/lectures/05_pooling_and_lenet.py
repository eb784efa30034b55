# %% [markdown]
# # Lecture 05 — Pooling and the first CNNs
#
# Lecture 04 built convolutional layers: small filters slid over an image, shared across
# positions, producing feature maps. A convolutional network (CNN) needs two more pieces:
# a way to **compress** feature maps as the network gets deeper, and a **classifier head**
# that turns the last maps into class scores. This lecture adds pooling, takes it apart
# (forward and backward), asks what it assumes, and then builds, trains and inspects the
# network that started it all: **LeNet-5** (LeCun et al., 1998).
#
# **Learning goals.** After this lecture you can
# 1. name the building blocks of a CNN (convolution, non-linearity, pooling, classifier head)
#    and say what each one does;
# 2. compute max and average pooling by hand and in PyTorch, and derive their backward passes
#    (max routes the gradient to the arg max, average shares it equally);
# 3. explain what pooling assumes (approximate translation invariance) and what it buys
#    (fewer parameters in the head, less compute, a non-linearity), name other kinds of
#    pooling, and replace pooling by a strided convolution;
# 4. replace a fully connected head by 1x1 convolutions and global average pooling so that a
#    network accepts inputs of any size;
# 5. write LeNet-5 as an `nn.Module` and train it with a loop you can read line by line,
#    normalize its inputs, and read its learning curves, confusion matrix, mistakes, feature
#    maps and dead units.
#
# Cells that start with `# exercise:` are for you: replace the `None`, run the cell, and it
# says at once whether the answer is right; a solution is folded below each one.

# %% setup

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course import conv, counting, data, grading, models, plot, train

# %% [markdown]
# ## 1. The building blocks of a CNN
#
# A classic CNN repeats one **stage** a few times and ends with a **head**:
#
# | block | what it does | LeNet-5 |
# |---|---|---|
# | convolution | extracts local features with shared filters | 5x5 filters, 6 then 16 maps |
# | non-linearity | makes the stack more than one big linear map | ReLU (tanh in 1998) |
# | pooling | compresses each map and summarizes small regions | 2x2, stride 2 |
# | classifier head | turns the last maps into class scores | fully connected 120-84-10 |
#
# One stage maps an input $X$ with filters $W$ and biases $b$ to
#
# $$Z = \operatorname{pool}\big(\operatorname{ReLU}(W * X + b)\big),$$
#
# where $*$ is the (cross-)correlation of lecture 04. Below, one stage with a single
# hand-made filter (a Sobel filter that responds to vertical edges) runs on a digit.
#
# The digits are scikit-learn's 1,797 scans of handwritten digits, resized to 28x28 and
# padded with a border of zeros to 32x32, LeNet's input size (section 7 says why).

# %%
image_size, pad = 28, 2
split = data.load_digits(image_size=image_size)


def pad_images(X, pad):
    """Zero-pad X: (N, C, H, W) by `pad` pixels on each side -> (N, C, H + 2p, W + 2p)."""
    return np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad)))


X_train_all, y_train_all = pad_images(split.X_train, pad), split.y_train
X_test, y_test = pad_images(split.X_test, pad), split.y_test
print(f"{len(X_train_all) + len(X_test)} digits: train {X_train_all.shape}, test {X_test.shape}")

sobel_x = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
x = torch.from_numpy(X_test[:1])  # (1, 1, 32, 32): one digit
z_conv = F.conv2d(x, sobel_x[None, None])  # (1, 1, 30, 30)
z_relu = F.relu(z_conv)
z_pool = F.max_pool2d(z_relu, kernel_size=2)  # (1, 1, 15, 15)
stage = [("input", x), ("convolution", z_conv), ("ReLU", z_relu), ("2x2 max pooling", z_pool)]
fig, axes = plt.subplots(1, 4, figsize=(11, 3))
for ax, (name, z) in zip(axes, stage, strict=True):
    plot.image(z[0, 0], ax=ax, title=f"{name}\n{tuple(z.shape[2:])}", cmap="viridis")
plt.show()

# %% [markdown]
# The convolution finds vertical edges (positive where the digit gets brighter from left to
# right), ReLU keeps only one sign, and pooling halves each side: the map keeps the rough
# layout of the edges with a quarter of the numbers.
#
# ## 2. Max and average pooling: forward
#
# A pooling layer slides a $k \times k$ window with stride $s$ over every channel on its own
# and replaces each window by one number. Output cell $(i, j)$ reads the window
# $\mathcal{W}_{ij} = \{(si + a,\ sj + b) : 0 \le a, b < k\}$ (the positions $(p, q)$ of its
# $k^2$ cells), and
#
# $$\text{max pooling: } y_{ij} = \max_{(p, q) \in \mathcal{W}_{ij}} x_{pq}, \qquad
# \text{average pooling: } y_{ij} = \frac{1}{k^2} \sum_{(p, q) \in \mathcal{W}_{ij}} x_{pq}.$$
#
# The output size follows the formula of lecture 04, $\lfloor (N - k)/s \rfloor + 1$.
# Pooling has **no parameters**: nothing in it is learned. We compute two worked examples
# two ways: with PyTorch (`torch.nn.functional`) and with the course's NumPy reference
# `course.conv.pool2d` (lecture 04's convolution explorer has the same pooling controls).

# %%
# check: L05 pooling forward
X5 = np.array(
    [[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3], [2, 0, 0, 2, 2], [2, 0, 0, 0, 1]],
    dtype=np.float32,
)
t5 = torch.from_numpy(X5)[None, None]  # (N=1, C=1, 5, 5), the shape PyTorch expects
max3 = F.max_pool2d(t5, kernel_size=3, stride=1)[0, 0].numpy()
avg3 = F.avg_pool2d(t5, kernel_size=3, stride=1)[0, 0].numpy()
print("output size:", conv.output_size(5, 3, stride=1))
print("3x3 max pooling, stride 1:\n", max3)
print("3x3 average pooling, stride 1 (2 decimals):\n", avg3.round(2))
assert np.array_equal(max3, [[3, 3, 3], [3, 3, 3], [3, 2, 3]])
assert np.allclose(avg3.round(2), [[1.67, 1.67, 1.67], [1.0, 1.22, 1.78], [1.11, 0.78, 1.33]])
assert np.allclose(conv.pool2d(X5, 3, stride=1), max3)
assert np.allclose(conv.pool2d(X5, 3, stride=1, mode="avg"), avg3)

X4 = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], dtype=np.float32)
max2 = F.max_pool2d(torch.from_numpy(X4)[None, None], kernel_size=2, stride=2)[0, 0].numpy()
print("2x2 max pooling, stride 2:\n", max2)
assert np.array_equal(max2, [[6, 8], [3, 4]])
assert np.array_equal(conv.pool2d(X4, 2, stride=2), max2)
print("max pooling layer parameters:", models.count_parameters(nn.MaxPool2d(2)))


# %%
def show_matrix(A, ax, title, fmt="{:g}", cmap="Blues"):
    """Draw a small matrix A: (H, W) as a heat map with its numbers written in."""
    A = np.asarray(A, dtype=float)
    ax.imshow(A, cmap=cmap, vmin=min(A.min(), 0), vmax=max(A.max(), 1e-9))
    for (r, c), value in np.ndenumerate(A):
        colour = "white" if value > 0.6 * A.max() else "black"
        ax.text(c, r, fmt.format(value), ha="center", va="center", color=colour)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)
    return ax


fig, axes = plt.subplots(1, 5, figsize=(14, 3))
show_matrix(X5, axes[0], "input 5x5")
show_matrix(max3, axes[1], "max 3x3, stride 1")
show_matrix(avg3, axes[2], "average 3x3, stride 1", fmt="{:.2f}")
show_matrix(X4, axes[3], "input 4x4")
show_matrix(max2, axes[4], "max 2x2, stride 2")
axes[3].axhline(1.5, color="crimson", lw=2)  # the four 2x2 windows of the second example
axes[3].axvline(1.5, color="crimson", lw=2)
plt.show()

# %% [markdown]
# **Check yourself.** A 3x3 max pooling with stride 2 runs on a 7x7 feature map with 16
# channels. What is the output shape, and how many parameters does the layer learn?
#
# <details><summary>Answer</summary>
#
# $\lfloor (7 - 3)/2 \rfloor + 1 = 3$ along each side, and pooling works on every channel on
# its own, so the output is 16 x 3 x 3; the cell below computes it. Pooling learns nothing:
# zero parameters.
# </details>

# %%
print("output shape:", tuple(nn.MaxPool2d(3, stride=2)(torch.zeros(1, 16, 7, 7)).shape[1:]))

# %% [markdown]
# **Exercise.** When the stride equals the window, the windows tile the map and pooling is a
# reshape: split each side of `X4` into (block, position in block) and reduce over the
# positions. Compute the 2x2 average pooling (stride 2) of `X4` with NumPy only.

# %%
# exercise: average pooling by reshape
answer = None  # your code here: a (2, 2) NumPy array
expected = F.avg_pool2d(torch.from_numpy(X4)[None, None], kernel_size=2)[0, 0]
grading.exercise("2x2 average pooling of X4", answer, expected,
                 hint="X4.reshape(2, 2, 2, 2) has axes (block row, row, block column, column)")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: average pooling by reshape
# answer = X4.reshape(2, 2, 2, 2).mean(axis=(1, 3))  # [[3.25, 5.25], [2.0, 2.0]]
# expected = F.avg_pool2d(torch.from_numpy(X4)[None, None], kernel_size=2)[0, 0]
# grading.exercise("2x2 average pooling of X4", answer, expected,
#                  hint="X4.reshape(2, 2, 2, 2) has axes (block row, row, block column, column)")
# ```
# `.max(axis=(1, 3))` gives max pooling the same way.
# </details>

# %% [markdown]
# ## 3. Max and average pooling: backward
#
# Backpropagation needs $\partial L / \partial x$ given the upstream gradient
# $g_{ij} = \partial L / \partial y_{ij}$. Each input cell collects a contribution from every
# window that contains it:
#
# $$\text{max: } \frac{\partial L}{\partial x_{pq}} = \sum_{i, j} g_{ij}\,
# \mathbb{1}\big[(p, q) = \operatorname{arg\,max}_{\mathcal{W}_{ij}} x\big], \qquad
# \text{average: } \frac{\partial L}{\partial x_{pq}} = \sum_{i, j:\ (p, q) \in
# \mathcal{W}_{ij}} \frac{g_{ij}}{k^2}.$$
#
# Max pooling **routes** each upstream gradient to the single input that won its window (the
# others did not influence the output, so their derivative is 0); average pooling **shares**
# it equally among the $k^2$ inputs. When several inputs tie for the maximum, PyTorch picks
# the first one in reading order, as `np.argmax` does. The loops below are the formulas,
# written for one channel and checked against autograd.


# %%
def max_pool_backward(x, g, k, s):
    """Gradient of max pooling. x: (H, W) input, g: (H', W') upstream -> dx: (H, W)."""
    dx = np.zeros_like(x, dtype=np.float64)
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            window = x[s * i : s * i + k, s * j : s * j + k]  # (k, k)
            p, q = np.unravel_index(np.argmax(window), window.shape)  # the first maximum
            dx[s * i + p, s * j + q] += g[i, j]
    return dx


def avg_pool_backward(x, g, k, s):
    """Gradient of average pooling. x: (H, W) input, g: (H', W') upstream -> dx: (H, W)."""
    dx = np.zeros_like(x, dtype=np.float64)
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            dx[s * i : s * i + k, s * j : s * j + k] += g[i, j] / k**2
    return dx


def autograd_pool_backward(x, g, k, s, pool):
    """The same gradient from torch.autograd: backward of sum(pool(x) * g)."""
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = pool(xt[None, None], kernel_size=k, stride=s)[0, 0]  # (H', W')
    y.backward(torch.as_tensor(g, dtype=torch.float64))
    return xt.grad.numpy()


ones = np.ones((3, 3))
dx_max = max_pool_backward(X5, ones, 3, 1)
dx_avg = avg_pool_backward(X5, ones, 3, 1)
print("max pooling, dL/dx with g = 1 everywhere:\n", dx_max)
print("average pooling, dL/dx with g = 1 everywhere (x 9):\n", (dx_avg * 9).round(6))
g_random = np.random.default_rng(0).normal(size=(3, 3))
for name, mine, pool in (
    ("max", max_pool_backward, F.max_pool2d),
    ("avg", avg_pool_backward, F.avg_pool2d),
):
    for g in (ones, g_random):
        assert np.allclose(mine(X5, g, 3, 1), autograd_pool_backward(X5, g, 3, 1, pool))
    print(f"{name} pooling backward matches autograd")
dx_max2 = autograd_pool_backward(X4, np.array([[1.0, 2.0], [3.0, 4.0]]), 2, 2, F.max_pool2d)
print("2x2 max pooling, stride 2, g = [[1, 2], [3, 4]]:\n", dx_max2)
assert np.allclose(dx_max2, max_pool_backward(X4, np.array([[1.0, 2.0], [3.0, 4.0]]), 2, 2))
print(
    "total gradient in = total gradient out:",
    dx_max.sum() == ones.sum(),
    np.isclose(dx_avg.sum(), ones.sum()),
)

# %%
fig, axes = plt.subplots(1, 4, figsize=(12, 3))
show_matrix(X5, axes[0], "input x")
show_matrix(dx_max, axes[1], "max: dL/dx (g = 1)", cmap="Oranges")
show_matrix(dx_avg, axes[2], "average: dL/dx (g = 1)", fmt="{:.2f}", cmap="Oranges")
show_matrix(dx_max2, axes[3], "2x2 max, g = [[1,2],[3,4]]", cmap="Oranges")
plt.show()

# %% [markdown]
# Max pooling sends the whole gradient of a window to one cell: the 3 in row 1, column 3
# (counting from 0) wins three windows and collects their three gradients, while most cells
# get nothing. Average pooling gives every cell a share proportional to how many windows
# cover it: the centre is in all nine windows, a corner in one.
#
# **Check yourself.** In a 2x2 max pooling with stride 2 (no ties), what fraction of the
# input cells receive a zero gradient, whatever the upstream gradient?
#
# <details><summary>Answer</summary>
#
# The windows do not overlap and each routes its gradient to exactly one of its four cells,
# so three quarters of the cells get zero. The cell below checks it on a random 32x32 map.
# </details>

# %%
xr = torch.randn(1, 1, 32, 32, requires_grad=True)
F.max_pool2d(xr, 2).sum().backward()
print("fraction of input cells with zero gradient:", (xr.grad == 0).float().mean().item())

# %% [markdown]
# ## 4. What pooling assumes: approximate translation invariance
#
# Convolution is **equivariant** to translations: shift the input and the feature map shifts
# with it, $f(T_\delta x) = T_\delta f(x)$. Pooling aims for **invariance**, $g(T_\delta x)
# \approx g(x)$: a feature that moves a little inside a pooling window leaves the output
# unchanged, because max pooling only asks *whether* a feature is present in a region, not
# *where*, and average pooling asks *how much* of it there is. That is an assumption about
# the task: for recognizing a digit the exact position of an edge matters less than its
# presence (Boureau et al., 2010, analyse when max or average pooling separates classes
# better).
#
# The invariance is only approximate. Take a single bright pixel and shift it one pixel to
# the right: with a $k \times k$ max pooling of stride $k$ the output stays the same exactly
# when the pixel stays inside its window, which happens for $k - 1$ of the $k$ columns it can
# sit in — a fraction $(k - 1)/k$.


# %%
for k in (1, 2, 4, 8):  # one bright pixel at column c, then at c + 1, for each c in 0..15
    same = 0
    for c in range(16):
        img = torch.zeros(1, 1, 16, 17)  # one spare column for the shifted pixel
        img[0, 0, 8, c] = 1.0
        pooled = [F.max_pool2d(x, k)[..., : 16 // k] for x in (img, img.roll(1, dims=3))]
        same += torch.equal(*pooled)
    print(f"k = {k}: output unchanged for {same / 16:.3f} of the positions", end="; ")
    print(f"(k - 1)/k = {(k - 1) / k:.3f}")
    assert np.isclose(same / 16, (k - 1) / k)

# %% [markdown]
# On real digits we measure the relative change of a feature map when the whole digit moves
# one pixel to the right (the zero border makes the shift exact),
# $\lVert g(x) - g(T_1 x) \rVert / \lVert g(x) \rVert$, averaged over the test digits, for
# the vertical-edge map of section 1 with and without pooling.

# %%
X_t = torch.from_numpy(X_test)  # (359, 1, 32, 32)
edges = F.relu(F.conv2d(X_t, sobel_x[None, None]))
edges_shifted = F.relu(F.conv2d(torch.roll(X_t, shifts=1, dims=3), sobel_x[None, None]))


def relative_change(a, b):
    """Mean over examples of ||a - b|| / ||a||; a, b: (N, C, H, W)."""
    return ((a - b).flatten(1).norm(dim=1) / a.flatten(1).norm(dim=1)).mean().item()


windows = [1, 2, 4, 8]
change = {
    name: [relative_change(pool(edges, k), pool(edges_shifted, k)) for k in windows]
    for name, pool in (("max", F.max_pool2d), ("average", F.avg_pool2d))
}
for name, values in change.items():
    print(f"{name:8s}", "  ".join(f"k={k}: {v:.3f}" for k, v in zip(windows, values, strict=True)))
fig, ax = plt.subplots(figsize=(5, 3))
for name, values in change.items():
    ax.plot(windows, values, "-o", label=f"{name} pooling")
ax.set_xscale("log", base=2)
ax.set_xticks(windows, ["1 (none)", "2", "4", "8"])
ax.set_xlabel("pooling window k (stride k)")
ax.set_ylabel("relative change")
ax.set_title("effect of a one-pixel shift on the edge map", fontsize=10)
ax.legend()
plt.show()

# %% [markdown]
# Bigger windows make the map less sensitive to the shift but never insensitive, and they
# throw away more of *where* things are. Many later networks therefore pool less, or replace
# pooling by strided convolutions (section 5). Zhang (2019) shows that trained CNNs are not
# shift invariant either: subsampling with a stride ignores the sampling theorem (aliasing),
# and blurring before subsampling helps.
#
# ## 5. Other poolings, and strided convolution instead of pooling
#
# **Other poolings by name.** $L_p$ pooling $y_{ij} = \big(\sum_{(u, v) \in \mathcal{W}_{ij}}
# x_{uv}^p\big)^{1/p}$ for non-negative inputs such as ReLU outputs (sum pooling at $p = 1$,
# max pooling as $p \to \infty$); stochastic
# pooling (sample a cell with probability proportional to its activation; Zeiler and
# Fergus, 2013); fractional max pooling (windows at random non-integer strides; Graham,
# 2014); global average or max pooling (one number per channel; section 6); adaptive pooling
# (choose the output size, the window follows); spatial pyramid pooling (pool the same map
# into 1x1, 2x2 and 4x4 grids and concatenate; He et al., 2014); region-of-interest pooling
# in object detectors; blur pooling (Zhang, 2019). The $L_p$ family on the worked example:

# %%
lp = {p: F.lp_pool2d(t5, norm_type=p, kernel_size=3, stride=1)[0, 0].numpy() for p in (1, 2, 8, 64)}
for p, y in lp.items():
    print(f"p = {p:2d}:", y.astype(np.float64).round(2).tolist())
assert np.allclose(lp[1], 9 * avg3)  # p = 1 is the sum: k^2 times the average
print("largest gap to max pooling at p = 64:", np.abs(lp[64] - max3).max().round(3))
adaptive = [tuple(F.adaptive_avg_pool2d(torch.zeros(1, 1, n, n), 2).shape[2:]) for n in (5, 7, 32)]
print("adaptive average pooling to 2x2 from 5x5, 7x7, 32x32:", adaptive)

# %% [markdown]
# **Strided convolution instead of pooling.** A convolution with stride $s$ also shrinks the
# map by a factor $s$, with output size $\lfloor (N + 2P - F)/s \rfloor + 1$. Average
# pooling *is* such a convolution with a fixed kernel: $k \times k$ weights all equal to
# $1/k^2$, one per channel. Let the weights be learned and the network decides how to
# summarize each region; Springenberg et al. (2015) built networks of convolutions only
# ("the all convolutional net") that match networks with max pooling. Max pooling is not a
# convolution: the max is not linear (the next cell shows it).

# %%
maps = torch.randn(4, 6, 28, 28)  # (N, C, H, W), e.g. LeNet's first feature maps
box = torch.full((6, 1, 2, 2), 1 / 4)  # one fixed 2x2 kernel per channel
by_conv = F.conv2d(maps, box, stride=2, groups=6)  # groups=6: every channel on its own
assert torch.allclose(by_conv, F.avg_pool2d(maps, 2), atol=1e-6)
print("average pooling == fixed strided convolution:", tuple(by_conv.shape))
learned = nn.Conv2d(6, 6, kernel_size=2, stride=2)
n_learned = models.count_parameters(learned)
assert n_learned == conv.conv_params(6, 6, 2)  # (2 * 2 * 6 + 1) * 6
print(f"learned 2x2 stride-2 convolution: {tuple(learned(maps).shape)}, {n_learned} parameters")

# %% [markdown]
# **Max pooling adds a non-linearity.** Average pooling is linear:
# $\operatorname{avg}(a + b) = \operatorname{avg}(a) + \operatorname{avg}(b)$ for any two
# maps. Max pooling is not: $\max(a + b) \le \max(a) + \max(b)$, with equality only when
# $a$ and $b$ peak in the same cell. In fact $\max(u, v) = v + \operatorname{ReLU}(u - v)$, so
# a max pooling layer is a small network of ReLUs: a stack of convolutions and max poolings
# with no activation function at all is already non-linear. One 2x2 window:

# %%
a = torch.tensor([[1.0, 3.0], [0.0, 2.0]])[None, None]  # (1, 1, 2, 2): one window
b = torch.tensor([[4.0, 0.0], [1.0, 2.0]])[None, None]
for name, pool in (("max", F.max_pool2d), ("average", F.avg_pool2d)):
    of_sum, sum_of = pool(a + b, 2).item(), pool(a, 2).item() + pool(b, 2).item()
    print(f"{name:7s} pooling: pool(a + b) = {of_sum:g}, pool(a) + pool(b) = {sum_of:g}")
u, v = torch.randn(1000), torch.randn(1000)
assert torch.allclose(torch.maximum(u, v), v + F.relu(u - v), atol=1e-6)
print("max(u, v) == v + ReLU(u - v) on 1,000 random pairs")

# %% [markdown]
# ## 6. From a fully connected head to 1x1 convolutions and global average pooling
#
# LeNet's head flattens its last feature maps, 16 maps of 5x5 for a 32x32 input, into a
# vector of $16 \cdot 5 \cdot 5 = 400$ numbers and applies fully connected layers. The first
# one, with weights $W \in \mathbb{R}^{120 \times 400}$, fixes the input size: a 48x48 image
# gives maps of another size and the product no longer fits. Two observations remove the
# restriction.
#
# 1. A fully connected layer on a $C \times h \times w$ map *is* a convolution with $h
#    \times w$ kernels (LeCun et al. called LeNet's first head layer C5, a convolution), and a
#    fully connected layer applied to each position's channel vector is a **1x1
#    convolution**: $y_{:, u, v} = W x_{:, u, v} + b$.
# 2. **Global average pooling** (GAP) averages each channel over all positions,
#    $z_c = \frac{1}{hw} \sum_{u, v} y_{c, u, v}$, whatever $h$ and $w$ are.
#
# So: make the head 1x1 convolutions ending in one map per class, then GAP (Lin et al., 2014,
# "Network In Network"). Every position votes for a class and the votes are averaged.

# %%
lenet = models.LeNet5()
feats = lenet.features(torch.from_numpy(X_test[:8]))  # (8, 16, 5, 5)
c5 = nn.Conv2d(16, 120, kernel_size=5)
with torch.no_grad():
    c5.weight.copy_(lenet.head.fc1.weight.view(120, 16, 5, 5))  # rows of W as 16x5x5 kernels
    c5.bias.copy_(lenet.head.fc1.bias)
    assert torch.allclose(c5(feats).flatten(1), lenet.head.fc1(feats.flatten(1)), atol=1e-5)
print("fc1 on the flattened maps == a 5x5 convolution with 120 filters:", tuple(c5(feats).shape))

linear = nn.Linear(16, 120)
one_by_one = nn.Conv2d(16, 120, kernel_size=1)
with torch.no_grad():
    one_by_one.weight.copy_(linear.weight[:, :, None, None])  # (120, 16, 1, 1)
    one_by_one.bias.copy_(linear.bias)
    per_pixel = linear(feats.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)  # channels last and back
    assert torch.allclose(one_by_one(feats), per_pixel, atol=1e-5)
print("1x1 convolution == the same linear layer at every position:", tuple(per_pixel.shape))
gap = F.adaptive_avg_pool2d(feats, 1).flatten(1)  # (8, 16)
assert torch.allclose(gap, feats.mean(dim=(2, 3)))
print("global average pooling: (8, 16, 5, 5) ->", tuple(gap.shape))

# %% [markdown]
# `course.models.LeNet5(head="gap")` uses this head: 1x1 convolutions 16 → 120 → 84 → 10 with
# ReLUs, then GAP. It has fewer parameters and takes any input of at least 16x16 pixels
# (16 → 12 → 6 → 2 → 1 through the two conv–pool stages; one pixel less leaves nothing to
# pool); the fully connected version refuses other sizes with a message that names the shape
# it expects.

# %%
lenet_gap = models.LeNet5(head="gap")
n_fc, n_gap = models.count_parameters(lenet), models.count_parameters(lenet_gap)
print(f"parameters: fc head {n_fc:,} | gap head {n_gap:,}")
for size in (16, 32, 48, 64, 100):
    scores = lenet_gap(torch.zeros(2, 1, size, size))
    print(f"gap head, {size}x{size} input ->", tuple(scores.shape))
for network, name, size in ((lenet_gap, "gap", 15), (lenet, "fc", 48)):
    try:
        network(torch.zeros(2, 1, size, size))
    except ValueError as error:
        print(f"{name} head, {size}x{size} input -> ValueError:", error)

# %% [markdown]
# **Exercise.** Write `gap_head(in_channels, num_classes)`: an `nn.Sequential` that maps
# LeNet's feature maps `(N, in_channels, h, w)` to class scores `(N, num_classes)` with 1x1
# convolutions `in_channels → 120 → 84 → num_classes` (ReLU between them) and global average
# pooling. The cell checks your head on three input sizes and counts its parameters.

# %%
# exercise: GAP head
import torch  # this cell imports what it uses, so it also runs on its own
from torch import nn
from course import conv, grading, models


def gap_head(in_channels, num_classes):
    """Your head: (N, in_channels, h, w) -> (N, num_classes)."""
    return None  # your code here


head = gap_head(16, 10)
for size in (32, 48, 64):
    maps = models.LeNet5().features(torch.zeros(3, 1, size, size))  # (3, 16, s, s)
    got = None if head is None else tuple(head(maps).shape)
    grading.exercise(f"scores for {size}x{size} inputs", got, (3, 10),
                     hint="end with nn.AdaptiveAvgPool2d(1) and nn.Flatten()")
expected = sum(conv.conv_params(i, o, 1) for i, o in ((16, 120), (120, 84), (84, 10)))
got = None if head is None else models.count_parameters(head)
grading.exercise("parameters of the head", got, expected,
                 hint="three 1x1 convolutions with biases; pooling has no parameters")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: GAP head
# import torch  # this cell imports what it uses, so it also runs on its own
# from torch import nn
# from course import conv, grading, models
#
#
# def gap_head(in_channels, num_classes):
#     """(N, in_channels, h, w) -> (N, num_classes): 1x1 convolutions, then GAP."""
#     return nn.Sequential(
#         nn.Conv2d(in_channels, 120, kernel_size=1),  # (N, 120, h, w)
#         nn.ReLU(),
#         nn.Conv2d(120, 84, kernel_size=1),  # (N, 84, h, w)
#         nn.ReLU(),
#         nn.Conv2d(84, num_classes, kernel_size=1),  # (N, K, h, w): one map per class
#         nn.AdaptiveAvgPool2d(1),  # (N, K, 1, 1)
#         nn.Flatten(),  # (N, K)
#     )
#
#
# head = gap_head(16, 10)
# for size in (32, 48, 64):
#     maps = models.LeNet5().features(torch.zeros(3, 1, size, size))  # (3, 16, s, s)
#     got = None if head is None else tuple(head(maps).shape)
#     grading.exercise(f"scores for {size}x{size} inputs", got, (3, 10),
#                      hint="end with nn.AdaptiveAvgPool2d(1) and nn.Flatten()")
# expected = sum(conv.conv_params(i, o, 1) for i, o in ((16, 120), (120, 84), (84, 10)))
# got = None if head is None else models.count_parameters(head)
# grading.exercise("parameters of the head", got, expected,
#                  hint="three 1x1 convolutions with biases; pooling has no parameters")
# ```
#
# The head has 13,054 parameters, the same as the head of `models.LeNet5(head="gap")`.
# </details>
#
# ## 7. LeNet-5 in PyTorch
#
# LeNet-5 (LeCun et al., 1998) grew out of the network that read handwritten zip codes
# (LeCun et al., 1989) and was deployed to read bank cheques. Its layers, for
# a 32x32 input (LeCun et al. padded the 28x28 MNIST digits to 32x32 so that strokes near the
# border can reach the centre of the highest-level feature detectors — the reason we pad):
#
# | layer | operation | output |
# |---|---|---|
# | C1 | 6 filters 5x5, ReLU | 6 x 28 x 28 |
# | S2 | 2x2 max pooling, stride 2 | 6 x 14 x 14 |
# | C3 | 16 filters 5x5 (on all 6 maps), ReLU | 16 x 10 x 10 |
# | S4 | 2x2 max pooling, stride 2 | 16 x 5 x 5 |
# | C5 | fully connected 400 → 120 (= 120 filters 5x5), ReLU | 120 |
# | F6 | fully connected 120 → 84, ReLU | 84 |
# | output | fully connected 84 → 10 | 10 scores |
#
# The 1998 network differs in details that later work simplified: scaled tanh instead of
# ReLU, subsampling layers with a learned weight and bias instead of max pooling, C3 wired
# to only some of the S2 maps, and radial-basis-function outputs. Here is today's version as
# an `nn.Module`: `__init__` creates the layers that hold parameters, `forward` says how the
# data flows through them. Read it next to the table, and edit it freely: the rest of the
# lecture trains this class once, then uses `models.LeNet5`, the same network in the course
# package, which later lectures import.


# %%
class LeNet(nn.Module):
    """LeNet-5 with ReLU and max pooling: x: (N, in_channels, 32, 32) -> scores (N, K)."""

    def __init__(self, in_channels=1, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 6, kernel_size=5)  # C1
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)  # C3
        self.pool = nn.MaxPool2d(2)  # S2 and S4: no parameters, so one module serves both
        self.fc1 = nn.Linear(16 * 5 * 5, 120)  # C5
        self.fc2 = nn.Linear(120, 84)  # F6
        self.fc3 = nn.Linear(84, num_classes)  # output

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))  # (N, 6, 28, 28) -> (N, 6, 14, 14)
        x = self.pool(F.relu(self.conv2(x)))  # (N, 16, 10, 10) -> (N, 16, 5, 5)
        x = x.flatten(1)  # (N, 400): the head sees one vector per image
        x = F.relu(self.fc1(x))  # (N, 120)
        x = F.relu(self.fc2(x))  # (N, 84)
        return self.fc3(x)  # (N, K) scores (logits); the loss applies the softmax


# %% [markdown]
# A conv layer has $(F \cdot F \cdot D_1 + 1) \cdot K$ parameters, a fully connected layer
# $(n_\text{in} + 1) \cdot n_\text{out}$. The cell adds them up layer by layer and checks the
# class against `models.LeNet5`: the same number of parameters, the same output shape, and,
# once the course model's parameters are copied into ours, the same scores.

# %%
net, reference = LeNet(), models.LeNet5()
closed_form = {
    "conv1": conv.conv_params(1, 6, 5),
    "conv2": conv.conv_params(6, 16, 5),
    "fc1": conv.linear_params(16 * 5 * 5, 120),
    "fc2": conv.linear_params(120, 84),
    "fc3": conv.linear_params(84, 10),
}
for name, layer in net.named_children():
    n = models.count_parameters(layer)
    assert n == closed_form.get(name, 0)
    print(f"{name:6s}{n:>8,} parameters")
total = models.count_parameters(net)
assert total == sum(closed_form.values()) == models.count_parameters(reference)
print(f"total {total:,} parameters, the same as models.LeNet5")
X8 = torch.from_numpy(X_train_all[:8])  # (8, 1, 32, 32)
with torch.no_grad():
    for mine, theirs in zip(net.parameters(), reference.parameters(), strict=True):
        assert mine.shape == theirs.shape
        mine.copy_(theirs)  # the same numbers in the same layers
    assert net(X8).shape == reference(X8).shape == (8, 10)
    assert torch.allclose(net(X8), reference(X8))
print("same scores (8, 10) as models.LeNet5 with the same parameters")
rf = conv.receptive_field_table([(5, 1), (2, 2), (5, 1), (2, 2)])  # (size, jump) per layer
for name, (size, jump) in zip(["conv1", "pool1", "conv2", "pool2"], rf, strict=True):
    print(f"{name}: one cell sees {size}x{size} input pixels; jump between cells {jump}")

# %% [markdown]
# **What pooling buys.** Pooling has no parameters, so it saves none in the convolutions:
# a 5x5 filter has 25 weights per input channel whatever the size of the map. It saves them
# in the **fully connected head**, whose first layer reads every number of the last maps,
# and it saves **compute** everywhere after it, because every later layer runs on a map a
# quarter the size. Remove both poolings from our class (module attributes can be replaced)
# and compare; `counting.count_macs` counts the multiply-adds of one forward pass with
# PyTorch's `FlopCounterMode` (one multiply-add = two FLOPs; pooling and ReLU are not
# counted).

# %%
no_pool = LeNet()
no_pool.pool = nn.Identity()  # both poolings gone: conv2 now sees 28x28 maps, gives 24x24
no_pool.fc1 = nn.Linear(16 * 24 * 24, 120)  # the head must read 16 x 24 x 24 numbers
print(f"{'':16s}{'conv params':>12s}{'head params':>13s}{'multiply-adds':>15s}")
cost = {}
for name, m in (("with pooling", LeNet()), ("without pooling", no_pool)):
    convs = models.count_parameters(m.conv1) + models.count_parameters(m.conv2)
    cost[name] = (convs, models.count_parameters(m) - convs, counting.count_macs(m, (1, 1, 32, 32)))
    print(f"{name:16s}" + "".join(f"{v:>{w},}" for v, w in zip(cost[name], (12, 13, 15))))
assert cost["without pooling"][1] - cost["with pooling"][1] == (
    conv.linear_params(16 * 24 * 24, 120) - conv.linear_params(16 * 5 * 5, 120)
)
ratio = cost["without pooling"][2] / cost["with pooling"][2]
print(f"pooling cuts the multiply-adds by a factor {ratio:.1f} and the head's parameters by "
      f"{cost['without pooling'][1] / cost['with pooling'][1]:.0f}")
conv2_macs = [counting.count_macs(net.conv2, (1, 6, n, n)) for n in (28, 14)]
print(f"conv2 alone: {conv2_macs[0]:,} multiply-adds on 28x28 maps, {conv2_macs[1]:,} on "
      f"14x14 ({conv2_macs[0] / conv2_macs[1]:.2f} times fewer)")

# %% [markdown]
# **Exercise.** Count the multiply-adds of `conv2` in LeNet with pooling by hand: every
# output number is one dot product of a 6 x 5 x 5 patch with a filter.

# %%
# exercise: multiply-adds of conv2
answer = None  # your code here: output positions x output channels x patch size
expected = counting.count_macs(nn.Conv2d(6, 16, kernel_size=5), (1, 6, 14, 14))
grading.exercise("multiply-adds of conv2", answer, expected,
                 hint="the output is 16 x 10 x 10; each number needs 6 * 5 * 5 multiply-adds")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: multiply-adds of conv2
# answer = (10 * 10) * 16 * (6 * 5 * 5)  # 240,000
# expected = counting.count_macs(nn.Conv2d(6, 16, kernel_size=5), (1, 6, 14, 14))
# grading.exercise("multiply-adds of conv2", answer, expected,
#                  hint="the output is 16 x 10 x 10; each number needs 6 * 5 * 5 multiply-adds")
# ```
# Without pooling the output is 16 x 24 x 24 and the count is $24^2 / 10^2 = 5.76$ times as
# large, as printed above.
# </details>

# %% [markdown]
# ## 8. Training LeNet-5 on the digits
#
# **The data.** We hold out 15% of the training digits for validation (the learning curves)
# and keep the test set for the end. The pixels lie in $[0, 1]$ and most of them are 0 (the
# background). Such inputs are never centred, and that hurts a ReLU network from its first
# step: on a patch of background a `conv1` unit computes just its bias, so a unit with a
# negative bias and mostly negative weights is below zero at every position of every digit
# — a **dead ReLU unit** (lecture 03) that gets no gradient and never learns. The usual cure
# is to **normalize** the inputs, $x \mapsto (x - \mu)/\sigma$ with the mean and standard
# deviation of the training pixels (LeCun et al., *Efficient BackProp*, 1998). The cell
# counts, for the network as it is initialized, the units whose map is zero on every test
# digit.

# %%
val_fraction, batch_size, lr, num_epochs, label_smoothing = 0.15, 64, 3e-3, 20, 0.1
inner = data.train_test_split(X_train_all, y_train_all, test_fraction=val_fraction)
mean, std = float(inner.X_train.mean()), float(inner.X_train.std())  # training pixels only
print(f"train {len(inner.X_train)}, validation {len(inner.X_test)}, test {len(X_test)} digits")
print(f"pixel mean {mean:.3f}, standard deviation {std:.3f}")


def normalize(X):
    """(X - mean) / std for images X: (N, 1, 32, 32) in [0, 1]; the border becomes -mean/std."""
    return (X - mean) / std


def dead_units(net, X):
    """Indices of the conv1 and conv2 units of a models.LeNet5 whose map (after the ReLU) is
    zero at every position of every image in X: (N, 1, 32, 32)."""
    with torch.no_grad():
        maps = (
            net.features[:2](X),  # conv1 + ReLU: (N, 6, 28, 28)
            net.features[:5](X),  # ... + pool1 + conv2 + ReLU: (N, 16, 10, 10)
        )
    return [torch.nonzero(m.amax(dim=(0, 2, 3)) == 0).flatten().tolist() for m in maps]


train.set_seed(0)
start = models.LeNet5()  # the random starting point of the model trained below
for name, X in (("raw pixels", X_test), ("normalized", normalize(X_test))):
    dead1, dead2 = dead_units(start, torch.from_numpy(X))
    print(f"{name:10s}: dead at initialization: conv1 {dead1}, conv2 {dead2}")

# %% [markdown]
# **The loss.** Cross-entropy with light **label smoothing** (Szegedy et al., 2016): with
# $K$ classes and $\varepsilon = 0.1$ the target is not the one-hot vector $e_y$ but
#
# $$t = (1 - \varepsilon)\, e_y + \frac{\varepsilon}{K}\mathbf{1}, \qquad
# L = -\sum_{k=1}^K t_k \log p_k, \quad p = \operatorname{softmax}(z),$$
#
# which discourages over-confident scores on a small training set. It has a price to keep
# in mind when reading the curves: $L = H(t) + \mathrm{KL}(t \,\|\, p) \ge H(t)$, so the
# loss can never fall below the **entropy of the target**, reached when $p = t$. A training
# loss that levels off there is not underfitting. The cell checks the formula against
# PyTorch's `label_smoothing` option and computes the floor.

# %%
z, y = torch.randn(4, 10), torch.tensor([3, 1, 4, 1])
eps, K = label_smoothing, 10
t = (1 - eps) * F.one_hot(y, K) + eps / K  # (4, 10) soft targets
print("target for class 3:", t[0].numpy().round(3))
by_formula = -(t * F.log_softmax(z, dim=1)).sum(dim=1).mean()
assert torch.isclose(by_formula, F.cross_entropy(z, y, label_smoothing=eps))
print(f"loss by the formula {by_formula:.4f} == nn.CrossEntropyLoss(label_smoothing={eps})")
floor = -(t[0] * t[0].log()).sum().item()  # H(t), the same for every class
assert np.isclose(F.cross_entropy(t.log(), y, label_smoothing=eps).item(), floor, atol=1e-6)
print(f"floor of the loss H(t) = {floor:.4f} (reached by scores z = log t)")

# %% [markdown]
# **Exercise.** What is the floor for 100 classes and $\varepsilon = 0.05$? Compute $H(t)$
# in closed form (one entry $1 - \varepsilon + \varepsilon/K$, the others $\varepsilon/K$).

# %%
# exercise: floor of the smoothed loss
answer = None  # your code here: H(t) for K = 100, eps = 0.05
t100 = 0.95 * F.one_hot(torch.tensor([0]), 100) + 0.05 / 100  # (1, 100): the target
expected = F.cross_entropy(t100.log(), torch.tensor([0]), label_smoothing=0.05)
grading.exercise("floor for K = 100, eps = 0.05", answer, expected, rtol=1e-4,
                 hint="-(q log q) for the big entry plus (K - 1) times -(r log r), r = eps / K")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: floor of the smoothed loss
# q, r = 1 - 0.05 + 0.05 / 100, 0.05 / 100
# answer = -(q * np.log(q)) - 99 * r * np.log(r)  # the big entry, then the 99 others
# t100 = 0.95 * F.one_hot(torch.tensor([0]), 100) + 0.05 / 100  # (1, 100): the target
# expected = F.cross_entropy(t100.log(), torch.tensor([0]), label_smoothing=0.05)
# grading.exercise("floor for K = 100, eps = 0.05", answer, expected, rtol=1e-4,
#                  hint="-(q log q) for the big entry plus (K - 1) times -(r log r), r = eps / K")
# ```
# For the same $\varepsilon$ the floor grows with the number of classes: the mass
# $\varepsilon$ is spread over more entries.
# </details>
#
# **The training loop.** Training repeats four steps on mini-batches: clear the gradients
# of the last step, compute the loss (forward), backpropagate (backward), and let the
# optimizer (Adam, lecture 02) update the parameters. After each epoch, one pass over the
# training digits, we measure the accuracy on the validation digits with the network in
# evaluation mode and without recording gradients. Here is that loop, written out for our
# `LeNet` class and run for three epochs.

# %%
train_loader = train.make_loader(normalize(inner.X_train), inner.y_train, batch_size=batch_size)
val_loader = train.make_loader(normalize(inner.X_test), inner.y_test, batch_size=256, shuffle=False)
test_loader = train.make_loader(normalize(X_test), y_test, batch_size=256, shuffle=False)

train.set_seed(0)
net = LeNet().to(device)
loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
optimizer = torch.optim.Adam(net.parameters(), lr=lr)
for epoch in range(1, 4):
    net.train()
    losses = []
    for X, y in train_loader:  # X: (64, 1, 32, 32), y: (64,)
        X, y = X.to(device), y.to(device)
        optimizer.zero_grad()  # 1. forget the gradients of the previous batch
        loss = loss_fn(net(X), y)  # 2. forward: scores and loss of this batch
        loss.backward()  # 3. backward: d loss / d parameter into every .grad
        optimizer.step()  # 4. update the parameters
        losses.append(loss.item())
    net.eval()  # evaluation mode (matters for dropout and batch norm, lecture 07)
    correct = 0
    with torch.no_grad():  # no graph, no gradients: faster and lighter
        for X, y in val_loader:
            correct += (net(X.to(device)).argmax(dim=1) == y.to(device)).sum().item()
    print(f"epoch {epoch}: mean training loss {np.mean(losses):.3f}", end=", ")
    print(f"validation accuracy {correct / len(inner.y_test):.3f}")

# %% [markdown]
# `train.fit` is this loop with a progress bar, the same evaluation after every epoch, and
# learning curves redrawn as it goes. From here on we hand the loop over to it and train
# `models.LeNet5` from the starting point counted above with the full recipe (batch size,
# learning rate, 20 epochs), found with a handful of trial runs on the validation set. In your
# own work, compare such settings on the validation set only: the test set gives the final
# number once.

# %%
train_loader = train.make_loader(  # a fresh loader: the same shuffles as a run from scratch
    normalize(inner.X_train), inner.y_train, batch_size=batch_size, seed=0
)
train.set_seed(0)
model = models.LeNet5()  # the same start as `start` above
begin = time.perf_counter()
history = train.fit(
    model,
    train_loader,
    num_epochs=num_epochs,
    lr=lr,
    loss_fn=nn.CrossEntropyLoss(label_smoothing=label_smoothing),
    val_loader=val_loader,
    device=device,
    live_plot=True,
)
train_seconds = time.perf_counter() - begin
test_loss, test_acc = train.evaluate(model, test_loader)
print(f"{num_epochs} epochs in {train_seconds:.1f} s on {device}", end=" ")
print(f"({sum(history['seconds']):.1f} s of training and validation, the rest drawing)")
print(f"validation accuracy {history['val_acc'][-1]:.4f} | test accuracy {test_acc:.4f}")
gap = history["train_loss"][-1] - floor
print(f"final training loss {history['train_loss'][-1]:.4f}: {gap:.4f} above the floor")

# %%
fig, ax = plt.subplots(figsize=(5.5, 3))
ax.plot(history["epoch"], history["train_loss"], "-o", ms=3, label="train")
ax.plot(history["epoch"], history["val_loss"], "--s", ms=3, label="validation")
ax.axhline(floor, color="black", ls=":", label=f"floor H(t) = {floor:.2f}")
ax.set_xlabel("epoch")
ax.set_ylabel("loss (label smoothing 0.1)")
ax.set_ylim(0, None)
ax.legend()
ax.set_title("the smoothed loss levels off at its floor, not at 0", fontsize=10)
plt.show()

# %% [markdown]
# ## 9. What the network gets wrong
#
# The **confusion matrix** counts test digits of true class $i$ (row) predicted as class $j$
# (column); everything off the diagonal is a mistake.

# %%
y_pred = train.predict(model, normalize(X_test))
cm = train.confusion_matrix(y_test, y_pred, num_classes=10)
ax = plot.confusion_matrix(cm)
ax.set_title(f"LeNet-5 on {len(y_test)} test digits, accuracy {np.trace(cm) / cm.sum():.3f}")
plt.show()
off = cm - np.diag(np.diag(cm))
i, j = np.unravel_index(off.argmax(), off.shape)
print(f"{off.sum()} mistakes; the most frequent: true {i} predicted as {j} ({off[i, j]} times)")

# %%
wrong = np.flatnonzero(y_pred != y_test)
if len(wrong):
    plot.image_grid(X_test[wrong], labels=y_test[wrong], predictions=y_pred[wrong], ncols=8)
    plt.suptitle("misclassified test digits: true → predicted", y=1.02, fontsize=10)
    plt.show()
else:
    print("no mistakes on the test set")

# %% [markdown]
# Several of the mistakes are ambiguous even for a person: these are 8x8 scans blown up to
# 28x28. Section 4 measured how a one-pixel shift changes an edge map; the trained
# network's accuracy on test digits shifted by a few pixels shows the same approximate
# invariance, now of the whole network.


# %%
def shift_right(X, d):
    """Shift X: (N, C, H, W) by d pixels to the right, filling with zeros."""
    out = np.zeros_like(X)
    out[..., d:] = X[..., : X.shape[-1] - d]
    return out


shifts = [0, 1, 2, 3, 4, 6]
shift_acc = [  # shift the raw digits (zeros come in), then normalize as in training
    train.accuracy(train.predict(model, normalize(shift_right(X_test, d))), y_test) for d in shifts
]
print(
    "test accuracy by shift:",
    ", ".join(f"{d} px: {a:.3f}" for d, a in zip(shifts, shift_acc, strict=True)),
)
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(shifts, shift_acc, "-o")
ax.set_xlabel("shift to the right (pixels)")
ax.set_ylabel("test accuracy")
ax.set_title("LeNet-5 tolerates small shifts, not large ones", fontsize=10)
plt.show()

# %% [markdown]
# **Check yourself.** The network never saw a shifted digit during training. Why does it
# keep most of its accuracy for a shift of one or two pixels but not for six?
#
# <details><summary>Answer</summary>
#
# The convolutions are equivariant, so a shifted digit gives shifted feature maps; the two
# 2x2 poolings absorb part of a small shift; and the fully connected head, which is *not*
# shift invariant, sees maps that changed little. A shift of six pixels moves the digit by
# more than a whole cell of the 5x5 grid the head reads (one cell covers 4 input pixels), so
# the head sees a different pattern. Training on shifted copies (data augmentation,
# lecture 08) makes the network tolerate more.
# </details>
#
# ## 10. Feature maps of the trained network
#
# What do the layers compute? Below: the six learned 5x5 filters of `conv1`, and for one
# test digit the six maps after `conv1` + ReLU and the sixteen maps after `conv2` + ReLU.
# `model.features` is an `nn.Sequential`, so slicing it runs the first layers only.

# %%
digit = torch.from_numpy(normalize(X_test[:1])).to(device)  # (1, 1, 32, 32), as in training
with torch.no_grad():
    maps1 = model.features[:2](digit)[0].cpu()  # conv1 + ReLU: (6, 28, 28)
    maps2 = model.features[:5](digit)[0].cpu()  # ... + pool1 + conv2 + ReLU: (16, 10, 10)
filters = model.features.conv1.weight.detach().cpu()[:, 0]  # (6, 5, 5)
ink = torch.from_numpy(X_test[0, 0, 2:30, 2:30] > 0.3)  # (28, 28): pixels under each map cell
on_ink = (maps1 * ink).flatten(1).sum(1) / maps1.flatten(1).sum(1).clamp_min(1e-12)  # (6,)
print("share of each conv1 map's activity on the digit's ink:", on_ink.numpy().round(2))
print("sum of each conv1 filter's weights:", filters.sum(dim=(1, 2)).numpy().round(2))
print("conv2 maps that are zero everywhere on this digit:",
      torch.nonzero(maps2.flatten(1).amax(1) == 0).flatten().tolist())

fig = plt.figure(figsize=(12, 7.5))
grid = fig.add_gridspec(4, 16, hspace=0.45)
plot.image(X_test[0, 0], ax=fig.add_subplot(grid[0:2, 0:4]), title=f"input (label {y_test[0]})")
limit = filters.abs().max().item()  # one symmetric scale: red > 0 > blue in every filter
for c in range(6):
    cols = slice(4 + 2 * c, 6 + 2 * c)
    ax = fig.add_subplot(grid[0, cols])
    plot.image(filters[c], ax=ax, cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_title(f"filter {c}", fontsize=9)
    ax = fig.add_subplot(grid[1, cols])
    plot.image(maps1[c], ax=ax, cmap="viridis")
    ax.set_title(f"conv1 map {c}", fontsize=9)
for c in range(16):
    row, col = divmod(c, 8)
    ax = fig.add_subplot(grid[2 + row, 2 * col : 2 * col + 2])
    plot.image(maps2[c], ax=ax, cmap="viridis")
    ax.set_title(f"conv2 map {c}", fontsize=9)
plt.show()

# %% [markdown]
# (Filters: red is positive, blue negative, on one scale for all six; each map has its own
# colour scale, yellow = largest, so a map that is zero everywhere is drawn uniformly dark.)
# The learned 5x5 filters are hard to read at this size; their maps say more. Some `conv1`
# maps light up on the strokes of the digit; others light up on the background around it
# and leave the digit as a dark cut-out. The printed lines measure this: the share of each
# map's activity that falls on the ink is high for the first kind and near 0 for the
# second, whose filters have weights that sum to a negative number: after normalization
# the background is a negative constant, and such a filter turns it into a positive
# response. The `conv2` maps are coarser: each combines all six `conv1` maps over a 14x14
# patch of the input, and each is active on a few parts of the digit only; the map listed
# in the last printed line is dark everywhere. Lecture 10 visualizes what units respond to.
#
# **Dead units.** Are the dark `conv2` maps dark for every digit? The cell counts the units
# whose map is zero on *every* test digit, in our model and in a model trained with the
# same recipe on the raw pixels (the same start, batches and epochs), and splits them into
# units dead from the start (section 8) and units that died during training, pushed below
# zero for every digit by an update.

# %%
X_t_norm = torch.from_numpy(normalize(X_test)).to(device)  # (359, 1, 32, 32)
raw_loaders = [  # the same digits and recipe, without normalization
    train.make_loader(inner.X_train, inner.y_train, batch_size=batch_size, seed=0),
    train.make_loader(inner.X_test, inner.y_test, batch_size=256, shuffle=False),
]
train.set_seed(0)
model_raw = models.LeNet5()  # the same start as `model`
raw_history = train.fit(
    model_raw,
    raw_loaders[0],
    num_epochs=num_epochs,
    lr=lr,
    loss_fn=nn.CrossEntropyLoss(label_smoothing=label_smoothing),
    val_loader=raw_loaders[1],
    device=device,
    progress=False,
)
X_t_raw = torch.from_numpy(X_test).to(device)
for name, net_, X in (("raw", model_raw, X_t_raw), ("normalized", model, X_t_norm)):
    at_start, trained = dead_units(start.to(device), X), dead_units(net_, X)
    total_dead = len(trained[0]) + len(trained[1])
    print(f"{name:10s} inputs: {total_dead} of 22 units dead after training", end="; ")
    for layer, before, after in zip(("conv1", "conv2"), at_start, trained, strict=True):
        still, died = sorted(set(after) & set(before)), sorted(set(after) - set(before))
        print(f"{layer}: dead from the start {still}, died during training {died}", end="; ")
    print(f"test accuracy {train.evaluate(net_, [(X, torch.from_numpy(y_test))])[1]:.4f}")

# %% [markdown]
# Normalizing the inputs removes the units that are dead from the start: the raw-pixel run
# starts with one dead unit in each layer and ends with five of 22; the normalized run
# starts with none and keeps all of `conv1` alive. Units can still die *during* training,
# when an update pushes a unit below zero for every digit: one `conv2` unit of the
# normalized run did (it died in the raw-pixel run too). A smaller learning rate, a leaky
# ReLU (which keeps a small gradient below zero) or batch normalization (lecture 07) are
# the usual remedies.

# %% [markdown]
# ## Summary
#
# - A CNN stage is convolution → non-linearity → pooling; a head turns the last maps into
#   class scores.
# - Max pooling keeps the largest value of each window and routes the gradient to it;
#   average pooling keeps the mean and shares the gradient equally. Pooling has no
#   parameters.
# - Pooling assumes that *where exactly* a feature is matters less than *whether* it is
#   there: it buys approximate translation invariance at the price of position information.
#   It saves parameters only in the fully connected head (none in the convolutions), cuts
#   the multiply-adds of every later layer, and max pooling is itself a non-linearity.
#   $L_p$, stochastic, fractional, adaptive, spatial pyramid and blur pooling are variants;
#   a learned strided convolution can replace pooling altogether.
# - A fully connected head fixes the input size. 1x1 convolutions plus global average
#   pooling give a head with fewer parameters that takes any input size.
# - LeNet-5 (two 5x5 conv stages, a 120-84-10 head, 61,706 parameters) is a short
#   `nn.Module`; training is the loop zero_grad → forward → loss → backward → step, which
#   `train.fit` wraps. Normalized inputs avoid ReLU units that are dead from the start;
#   with label smoothing the loss levels off at the entropy of the target, not at 0.
#
# ## Further reading
#
# - Y. LeCun, L. Bottou, Y. Bengio, P. Haffner. *Gradient-based learning applied to document
#   recognition.* Proceedings of the IEEE 86(11):2278–2324, 1998.
# - Y. LeCun, B. Boser, J. S. Denker, D. Henderson, R. E. Howard, W. Hubbard, L. D. Jackel.
#   *Backpropagation applied to handwritten zip code recognition.* Neural Computation
#   1(4):541–551, 1989.
# - Y.-L. Boureau, J. Ponce, Y. LeCun. *A theoretical analysis of feature pooling in visual
#   recognition.* ICML 2010.
# - M. Lin, Q. Chen, S. Yan. *Network In Network.* ICLR 2014 (arXiv:1312.4400).
# - J. T. Springenberg, A. Dosovitskiy, T. Brox, M. Riedmiller. *Striving for simplicity:
#   the all convolutional net.* ICLR 2015 workshop track (arXiv:1412.6806).
# - M. D. Zeiler, R. Fergus. *Stochastic pooling for regularization of deep convolutional
#   neural networks.* ICLR 2013 (arXiv:1301.3557).
# - B. Graham. *Fractional max-pooling.* arXiv:1412.6071, 2014.
# - K. He, X. Zhang, S. Ren, J. Sun. *Spatial pyramid pooling in deep convolutional networks
#   for visual recognition.* ECCV 2014.
# - R. Zhang. *Making convolutional networks shift-invariant again.* ICML 2019.
# - Y. LeCun, L. Bottou, G. B. Orr, K.-R. Müller. *Efficient BackProp.* In G. B. Orr,
#   K.-R. Müller (eds.), *Neural Networks: Tricks of the Trade*, LNCS 1524, Springer, 1998
#   (why inputs should be centred and scaled).
# - C. Szegedy, V. Vanhoucke, S. Ioffe, J. Shlens, Z. Wojna. *Rethinking the Inception
#   architecture for computer vision.* CVPR 2016 (label smoothing).
