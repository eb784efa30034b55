# %% [markdown]
# # Lecture 04 — Convolution
#
# A photograph of 512x512 pixels is a vector of 262,144 numbers. Lectures 01–03 would feed it
# to a fully connected layer; this lecture shows why that is a bad idea and replaces the
# fully connected layer by the layer that made deep learning work on images: the
# **convolution**. A convolutional layer slides a small filter over the image and computes
# the same weighted sum at every position. It has few parameters, it looks at neighbourhoods,
# and it treats every position alike — three assumptions about images that turn out to be
# worth a great deal.
#
# **Learning goals.** After this lecture you can
# 1. count the parameters of a fully connected and of a convolutional layer and explain the
#    difference with the inductive biases of locality, weight sharing (translation
#    equivariance) and a hierarchy of features;
# 2. compute a discrete 1-D and 2-D convolution and a cross-correlation by hand, say how they
#    differ (the flipped kernel), and say which one `torch.nn.functional.conv2d` computes;
# 3. apply classic filters (blur, sharpen, Sobel, Laplacian, Gabor) to a photo, read the
#    feature maps, and say what "a CNN learns its filters" means by recovering one with
#    gradient descent;
# 4. give the shapes of a multi-channel convolution and of its weights, compute output
#    sizes with padding, stride and dilation from $\lfloor (N - F + 2P)/S \rfloor + 1$, and
#    say when to dilate and when to subsample;
# 5. explain a 1x1 convolution as a fully connected layer applied at every pixel and use it
#    as a bottleneck;
# 6. write a convolution as a matrix product (Toeplitz matrix, im2col) and derive from it
#    that the backward pass is again a convolution;
# 7. name the variants depthwise separable, grouped, deformable, sparse and spatially
#    separable convolution and count their parameters.
#
# Goals 6 and 7 are the optional sections 11 and 12. The **convolution explorer** lets you
# slide a kernel over a small grid of numbers or over a photo and change every setting the
# formulas talk about; each one below starts in the state its section discusses. Cells that
# start with `# exercise:` are for you: replace the `None`, run the cell, and it says at once
# whether the answer is right; a solution is folded below each one.

# %% setup

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course import conv, data, grading, plot
from course.widgets import convolution_explorer
from course.widgets.convolution import kernel_preset

# %% [markdown]
# ## 1. Why not fully connected layers for images?
#
# A fully connected layer connects every input to every output. With an $N \times N$
# gray-scale image flattened into $N^2$ inputs and $K$ hidden units it has
#
# $$\underbrace{N^2 \cdot K}_{\text{weights}} + \underbrace{K}_{\text{biases}} = (N^2 + 1)\,K$$
#
# parameters. A convolutional layer with $K$ filters of $F \times F$ pixels on one channel has
# $(F^2 + 1)\,K$ — and $N$ does not appear: the same small filters are used at every position,
# whatever the size of the image. Here is the comparison for a 512x512 image, 64 hidden units
# and 64 filters of 7x7, computed by `course.conv` and checked against PyTorch's layers (built
# on the `meta` device, which records shapes without allocating memory).

# %%
# check: L04 parameters
dense_params = conv.linear_params(512 * 512, 64)
filter_params = conv.conv_params(1, 64, 7)
dense_torch = sum(p.numel() for p in nn.Linear(512 * 512, 64, device="meta").parameters())
filters_torch = sum(p.numel() for p in nn.Conv2d(1, 64, 7, device="meta").parameters())
print(f"fully connected, 512² = {512 * 512:,} inputs -> 64 units: (512² + 1)·64 = "
      f"{dense_params:,} ≈ {dense_params / 1e6:.1f} million (torch: {dense_torch:,})")
print(f"64 filters of 7x7 on one channel: (7² + 1)·64 = {filter_params:,} "
      f"(torch: {filters_torch:,})")
print(f"ratio: {dense_params / filter_params:,.0f} times fewer parameters")
assert dense_params == dense_torch and filter_params == filters_torch

# %% [markdown]
# The convolutional layer accepts images of any size with the same parameters; the fully
# connected one needs a new, larger weight matrix for every image size.

# %%
layer = nn.Conv2d(1, 64, 7)
for side in (64, 512):
    out = layer(torch.zeros(1, 1, side, side))
    print(f"{side}x{side} image -> maps {tuple(out.shape[1:])}, same {filter_params:,} parameters")

# %% [markdown]
# Parameters are not the only cost. Every weight must be learned from data, and with
# millions of weights and thousands of images the fully connected layer overfits; it also
# has to learn the same detector (say, for an eye) separately at every position where an
# eye may appear. And it ignores the layout of the image: shuffle the pixels of every image
# in the same way and a fully connected network learns exactly as well — it has no idea that
# neighbouring pixels belong together.
#
# **Check yourself.** How many parameters does a fully connected layer from a 224x224 RGB
# image to 1,000 hidden units have? And a layer of 1,000 filters of 3x3 on the same image?
#
# <details><summary>Answer</summary>
#
# $(224 \cdot 224 \cdot 3 + 1) \cdot 1000$ — about 150 million — against $(3 \cdot 3 \cdot 3
# + 1) \cdot 1000 = 28{,}000$. The cell below computes both. A filter on an RGB image has a
# depth of 3 (section 6).
# </details>

# %%
print(f"fully connected: {conv.linear_params(224 * 224 * 3, 1000):,}")
print(f"1000 filters of 3x3x3: {conv.conv_params(3, 1000, 3):,}")

# %% [markdown]
# ## 2. Convolution and cross-correlation
#
# **1-D.** For a signal $x$ and a kernel (filter) $w$ of length $F$, the
# **cross-correlation** and the **convolution** are
#
# $$(x \star w)[n] = \sum_{k=0}^{F-1} x[n + k]\, w[k], \qquad
# (x * w)[n] = \sum_{k=0}^{F-1} x[n - k]\, w[k].$$
#
# The cross-correlation is the sliding window: lay $w$ over $x$ starting at position $n$,
# multiply element by element, add up. The convolution does the same with the kernel read
# backwards, $x * w = x \star \overleftarrow{w}$ (up to where the output starts); it is the
# discrete form of $(f * g)(t) = \int f(\tau)\, g(t - \tau)\, d\tau$ from signal processing.
# On a signal that is zero except for two spikes, with the sliding window written out and
# compared with NumPy (only **valid** positions, where the kernel lies inside the signal):

# %%
x1 = np.array([0, 0, 1, 0, 0, 0, 2, 0, 0], dtype=float)  # two spikes ("impulses")
w1 = np.array([1, 2, 3], dtype=float)  # an asymmetric kernel, so that flipping shows
correlation = np.array([x1[n : n + 3] @ w1 for n in range(len(x1) - 2)])  # slide, multiply, add
convolution = np.convolve(x1, w1, "valid")
print("x           =", x1)
print("correlation =", correlation, "  np.correlate:", np.correlate(x1, w1, "valid"))
print("convolution =", convolution, "  = correlation with w reversed:",
      np.correlate(x1, w1[::-1], "valid"))
assert np.array_equal(correlation, np.correlate(x1, w1, "valid"))
assert np.array_equal(convolution, np.correlate(x1, w1[::-1], "valid"))

# %% [markdown]
# Around each spike the convolution writes a copy of the kernel, scaled by the spike, in its
# own order: $1, 2, 3$; the correlation writes it backwards: $3, 2, 1$. What a filter writes
# for a spike (an **impulse**) is its **impulse response**: for a convolution, the kernel.
#
# **2-D.** An image $X$ and an $F \times F$ kernel $W$ give
#
# $$(X \star W)[i, j] = \sum_{m=0}^{F-1} \sum_{n=0}^{F-1} X[i + m,\, j + n]\, W[m, n],
# \qquad (X * W)[i, j] = \sum_{m} \sum_{n} X[i - m,\, j - n]\, W[m, n],$$
#
# and the two differ only by a flip of the kernel in both axes, a rotation by 180°:
# $X * W = X \star \operatorname{rot}_{180}(W)$. The output is a **feature map**: $Z[i, j]$
# is large where the neighbourhood of pixel $(i, j)$ looks like the kernel. The double sum as
# loops, compared with the course's `conv.correlate2d` and with PyTorch on the 7x7 grid and
# the Sobel kernel of the explorer below:


# %%
def correlate2d_loops(x, w):
    """Cross-correlation, valid positions. x: (H, W), w: (F_h, F_w).

    Returns (H - F_h + 1, W - F_w + 1)."""
    fh, fw = w.shape
    out = np.zeros((x.shape[0] - fh + 1, x.shape[1] - fw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(x[i : i + fh, j : j + fw] * w)  # one window, one number
    return out


explorer = convolution_explorer(source="grid", kernel="Sobel x")
grid = explorer.input[0]  # (7, 7) float64, the grid the explorer shows
sobel_x = explorer.kernel  # (3, 3)
Z = correlate2d_loops(grid, sobel_x)
Z_torch = F.conv2d(torch.from_numpy(grid)[None, None], torch.from_numpy(sobel_x)[None, None])
print("input:\n", grid.astype(int), "\nkernel (Sobel x):\n", sobel_x.astype(int))
print("feature map:\n", Z.astype(int))
assert np.array_equal(Z, conv.correlate2d(grid, sobel_x))
assert np.array_equal(Z, Z_torch[0, 0].numpy())
assert np.array_equal(Z, explorer.output)

# %% [markdown]
# Sobel x subtracts the column on the left from the column on the right, so the feature map
# is large where the grid gets brighter from left to right — along the boundary between the
# 0/1 part and the 3s. Press *play* or drag *window position* to watch the window slide; the
# text under the picture lists the nine products of the current window and their sum. Type
# your own grid or kernel; set the operation to *convolution (flip)* and the output changes
# sign (Sobel rotated by 180° is minus Sobel).

# %%
explorer

# %% [markdown]
# The quickest way to see the flip is the 2-D impulse response: a single 1 in an image of
# zeros. The convolution writes the kernel; the correlation writes it rotated.

# %%
impulse = np.zeros((5, 5))
impulse[2, 2] = 1
numbers = np.arange(1.0, 10.0).reshape(3, 3)  # an asymmetric kernel: 1 ... 9
by_convolution = conv.convolve2d(impulse, numbers, padding="same")
by_correlation = conv.correlate2d(impulse, numbers, padding="same")
assert np.array_equal(by_convolution[1:4, 1:4], numbers)
assert np.array_equal(by_correlation[1:4, 1:4], numbers[::-1, ::-1])

fig, axes = plt.subplots(1, 3, figsize=(9, 3))
titles = ("impulse", "convolution: the kernel", "correlation: kernel rotated 180°")
for ax, img, title in zip(axes, (impulse, by_convolution, by_correlation), titles, strict=True):
    ax.imshow(img, cmap="Blues", vmin=0, vmax=12)
    for (r, c), v in np.ndenumerate(img):
        if v:
            ax.text(c, r, f"{v:g}", ha="center", va="center")
    ax.set(xticks=[], yticks=[], title=title)
plt.show()

# %% [markdown]
# **What deep learning calls convolution is cross-correlation.** `torch.nn.functional.conv2d`
# (and `nn.Conv2d`, TensorFlow and JAX) does not flip the kernel. Check it on the grid with
# the asymmetric kernel:

# %%
x_t = torch.from_numpy(grid)[None, None]  # (N=1, C=1, 7, 7), the layout PyTorch expects
w_t = torch.from_numpy(numbers)[None, None]  # (K=1, C=1, 3, 3)
torch_out = F.conv2d(x_t, w_t)[0, 0].numpy()
print("torch conv2d == cross-correlation:", np.allclose(torch_out, conv.correlate2d(grid, numbers)))
print("torch conv2d == convolution:      ", np.allclose(torch_out, conv.convolve2d(grid, numbers)))

# %% [markdown]
# Why does nobody mind? A network *learns* its kernels (section 5 shows how): if the best
# kernel for a true convolution is $W$, the best kernel for a correlation is
# $\operatorname{rot}_{180}(W)$, and gradient descent finds that one just as well.
# Correlation is simpler to write, so libraries use it. The flip matters when you copy a
# kernel from a signal-processing text, or need the algebra of true convolution: it is
# **commutative** ($x * w = w * x$) and associative, the correlation is not.
#
# **Exercise.** Copying a kernel from a signal-processing text: make `F.conv2d` compute the
# true convolution of the grid with `numbers` by changing only the kernel.

# %%
# exercise: the flipped kernel
flipped = None  # your code here: a (1, 1, 3, 3) tensor made from w_t
got = None if flipped is None else F.conv2d(x_t, flipped)[0, 0]
grading.exercise("F.conv2d(x_t, flipped) is the true convolution of the grid with `numbers`",
                 got, conv.convolve2d(grid, numbers),
                 hint="rotate the kernel by 180°: flip both spatial axes")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: the flipped kernel
# flipped = torch.flip(w_t, dims=(-2, -1))  # rotated by 180°: rows and columns reversed
# got = None if flipped is None else F.conv2d(x_t, flipped)[0, 0]
# grading.exercise("F.conv2d(x_t, flipped) is the true convolution of the grid with `numbers`",
#                  got, conv.convolve2d(grid, numbers),
#                  hint="rotate the kernel by 180°: flip both spatial axes")
# ```
# `torch.rot90(w_t, 2, dims=(-2, -1))` is the same kernel. For a symmetric kernel (box blur,
# Gaussian, Laplacian) the flip changes nothing, so convolution and correlation agree; Sobel
# becomes minus Sobel.
# </details>

# %% [markdown]
# ## 3. Inductive biases: what a convolution assumes about images
#
# An **inductive bias** is an assumption built into a model, which lets it learn from fewer
# examples when the assumption holds. A convolutional layer makes three.
#
# **Locality.** An output pixel depends only on an $F \times F$ neighbourhood of the input:
# nearby pixels are related, distant ones hardly. We can *measure* what an output depends on:
# the gradient of one output pixel with respect to the input is non-zero exactly on the
# input pixels that influence it (its **receptive field**). Below, the centre pixel of the
# output of random (linear) layers on a 17x17 input.


# %%
def footprint(model, size=17):
    """|d out[centre] / d x| as (size, size): which input pixels the centre output depends on."""
    x = torch.randn(1, 1, size, size, requires_grad=True)
    out = model(x)
    if out.ndim == 2:  # a fully connected layer: (1, size·size) back to an image
        out = out.reshape(1, 1, size, size)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    return x.grad[0, 0].abs().numpy()


torch.manual_seed(0)
stacks = {
    "one 3x3 conv": ([(3, 1)], nn.Conv2d(1, 1, 3)),
    "two 3x3 convs": ([(3, 1)] * 2, nn.Sequential(nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3))),
    "three 3x3 convs": ([(3, 1)] * 3, nn.Sequential(*[nn.Conv2d(1, 1, 3) for _ in range(3)])),
    "3x3, 3x3 stride 2, 3x3": (
        [(3, 1), (3, 2), (3, 1)],
        nn.Sequential(nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3, stride=2), nn.Conv2d(1, 1, 3)),
    ),
    "fully connected": (None, nn.Sequential(nn.Flatten(), nn.Linear(17 * 17, 17 * 17))),
}
fig, axes = plt.subplots(1, len(stacks), figsize=(14, 3))
for ax, (name, (layers, model)) in zip(axes, stacks.items(), strict=True):
    grad = footprint(model)
    seen = int((grad.sum(axis=0) > 0).sum())  # columns that influence the output
    expected = conv.receptive_field(layers) if layers else 17
    print(f"{name:24s}: depends on {seen}x{seen} input pixels (conv.receptive_field: {expected})")
    assert seen == expected
    ax.imshow(grad > 0, cmap="Greys", vmin=0, vmax=1.5)
    ax.set(title=f"{name}\n{seen}x{seen}", xticks=[], yticks=[])
plt.show()

# %% [markdown]
# **Hierarchy.** The figure also shows the third bias: stacking small convolutions grows
# the receptive field (3, 5, 7 pixels), and a stride of 2 grows it faster. The first layer
# can only see small things — edges, colour blobs; later layers combine those into larger
# patterns — corners, textures, parts of objects — and the last layers see most of the
# image and respond to whole objects. Images are made like that: objects of parts, parts of
# edges. Lecture 10 looks inside trained networks and finds exactly such a hierarchy
# (Zeiler & Fergus, 2014).
#
# **Exercise.** Let the *jump* be the distance, in input pixels, between neighbouring
# outputs of a layer (1 at the input). Each layer adds $(F - 1) \times \text{jump}$ to the
# receptive field, and a stride $S$ multiplies the jump by $S$
# (`conv.receptive_field_table` lists both after every layer). (a) How many input pixels
# (along one side) does one output of the stack conv 3x3, conv 3x3 with stride 2, conv 3x3,
# conv 3x3 see? (b) How many plain 3x3 convolutions (stride 1) must be stacked for one
# output to see 15x15 pixels? The check measures (a) with `footprint` on random layers.

# %%
# exercise: receptive fields
field_of_stack = None  # your answer to (a): a number
layers_for_15 = None  # your answer to (b): a number
probe = nn.Sequential(
    nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3, stride=2), nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3)
)
measured = int((footprint(probe, size=33).sum(axis=0) > 0).sum())
grading.exercise("receptive field of the stack", field_of_stack, measured,
                 hint="1 + 2 + 2 + ...: after the strided layer the jump is 2, so a 3x3 adds 4")
fewest = next(n for n in range(1, 30) if conv.receptive_field([(3, 1)] * n) >= 15)
grading.exercise("3x3 layers for a 15x15 receptive field", layers_for_15, fewest,
                 hint="n plain 3x3 layers see 2n + 1 pixels")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: receptive fields
# field_of_stack = 1 + 2 * 1 + 2 * 1 + 2 * 2 + 2 * 2  # jumps 1, 1, 2, 2 before each layer: 13
# layers_for_15 = (15 - 1) // 2  # 2n + 1 = 15: 7 layers
# probe = nn.Sequential(
#     nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3, stride=2), nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3)
# )
# measured = int((footprint(probe, size=33).sum(axis=0) > 0).sum())
# grading.exercise("receptive field of the stack", field_of_stack, measured,
#                  hint="1 + 2 + 2 + ...: after the strided layer the jump is 2, so a 3x3 adds 4")
# fewest = next(n for n in range(1, 30) if conv.receptive_field([(3, 1)] * n) >= 15)
# grading.exercise("3x3 layers for a 15x15 receptive field", layers_for_15, fewest,
#                  hint="n plain 3x3 layers see 2n + 1 pixels")
# ```
# </details>

# %% [markdown]
# **Weight sharing and translation equivariance.** The same kernel is used at every
# position. (A *locally connected* layer keeps locality but gives every position its own
# weights: for 64 filters of 7x7 on a 512x512 image, $506^2 \cdot 3{,}200 \approx 819$
# million parameters, printed below.) Sharing the weights makes the layer **translation
# equivariant**: shifting the input shifts the feature map by the same amount. With
# $T_{a,b}$ the shift by $a$ rows and $b$ columns, $(T_{a,b} X)[i, j] = X[i - a, j - b]$,
#
# $$(T_{a,b} X) \star W = T_{a,b} (X \star W)
# \qquad \text{(shift, then convolve = convolve, then shift)}.$$
#
# A cat detector that fires at the top left fires at the bottom right too; the network does
# not need to see cats in every position. We check the equation numerically on the photo. To
# make it exact we need an image without a border: with **circular** padding the image
# wraps around like a torus, and a circular shift (`torch.roll`) moves no pixel off the
# image. We compare with a fully connected layer, which has no reason to be equivariant.


# %%
# check: L04 equivariance
def shift(x, dy, dx):
    """x: (..., H, W) moved down by dy and right by dx pixels, wrapping around the border."""
    return torch.roll(x, shifts=(dy, dx), dims=(-2, -1))


def conv_circular(x, w):
    """Cross-correlation of x: (N, C, H, W) with w: (K, C, F, F), F odd, with circular padding.

    Returns (N, K, H, W): the image wraps around, so no pixel lacks a neighbour."""
    p = w.shape[-1] // 2
    return F.conv2d(F.pad(x, (p, p, p, p), mode="circular"), w)


photo = data.load_photo(gray=True, size=(150, 128))  # (150, 128) in [0, 1]
x_photo = torch.from_numpy(photo)[None, None]  # (1, 1, 150, 128)
gen = torch.Generator().manual_seed(0)
w_random = torch.randn(1, 1, 5, 5, generator=gen, dtype=torch.float64)  # like the photo
dy, dx = 20, 35
shift_then_conv = conv_circular(shift(x_photo, dy, dx), w_random)
conv_then_shift = shift(conv_circular(x_photo, w_random), dy, dx)
equivariance_error = (shift_then_conv - conv_then_shift).abs().max().item()
print(f"convolution:     max |conv(shift(x)) - shift(conv(x))| = {equivariance_error:.1e}")

tiny = torch.from_numpy(data.load_photo(gray=True, size=(24, 20)))  # 24·20 = 480 pixels
dense = torch.randn(480, 480, generator=gen, dtype=torch.float64)  # a random dense layer


def dense_layer(img):
    """The dense layer on img: (24, 20), as an image (24, 20)."""
    return (dense @ img.reshape(-1)).reshape(24, 20)


dense_error = (dense_layer(shift(tiny, 3, 4)) - shift(dense_layer(tiny), 3, 4)).abs().max().item()
print(f"fully connected: max |f(shift(x)) - shift(f(x))|       = {dense_error:.1f}")
positions = conv.output_size(512, 7) ** 2
print(f"locally connected, 64 filters of 7x7 on 512x512: {positions:,} positions x "
      f"{filter_params:,} = {positions * filter_params:,} parameters")

# %% [markdown]
# With the usual **zero** padding the equation holds except near the border, where the
# shifted image has zeros (or wrapped pixels) that the original did not have: the last panel
# shows where the two sides differ, along the border and the seams of the rolled image.

# %%
differ = (
    F.conv2d(shift(x_photo, dy, dx), w_random, padding=2)  # zero padding, 'same' size
    - shift(F.conv2d(x_photo, w_random, padding=2), dy, dx)
).abs()[0, 0] > 1e-12
fig, axes = plt.subplots(1, 5, figsize=(15, 3.2))
plot.image(photo, ax=axes[0], title="x")
plot.image(shift(x_photo, dy, dx)[0, 0], ax=axes[1], title=f"shift(x) by ({dy}, {dx})")
plot.image(shift_then_conv[0, 0], ax=axes[2], title="conv(shift(x))")
plot.image(conv_then_shift[0, 0], ax=axes[3], title="shift(conv(x))")
plot.image(differ.numpy().astype(float), ax=axes[4], title="differ (zero padding)", cmap="Reds")
plt.show()

# %% [markdown]
# **Check yourself.** Is a convolution equivariant to rotations of the image? Test it: rotate
# the photo by 90° and filter it with Sobel x.
#
# <details><summary>Answer</summary>
#
# No. The Sobel x kernel finds vertical edges; after a rotation by 90° the vertical edges
# become horizontal ones, which Sobel x does not see. Filtering the rotated photo equals
# rotating the photo filtered with a *rotated* kernel (Sobel y up to sign), not with the
# same one; try it with `torch.rot90` and `conv_circular`. Networks that are equivariant to
# rotations exist: group equivariant CNNs (Cohen & Welling, 2016) share weights over
# rotations as well as shifts. Nor is a convolution equivariant to changes of scale.
# </details>

# %% [markdown]
# ## 4. Filter banks on a real photo
#
# Before networks learned their filters, image processing designed them by hand. A few
# classics (each a small matrix; the blur kernels sum to 1, the edge kernels to 0):
#
# * **blur** — box: the mean of the window; Gaussian: a weighted mean, $W[m, n] \propto
#   e^{-(m^2 + n^2)/(2\sigma^2)}$, here its binomial approximation
#   $\tfrac1{16}[1, 2, 1]^\top[1, 2, 1]$ (and $[1, 4, 6, 4, 1]$ for 5x5);
# * **sharpen** — the identity plus the difference from the neighbours,
#   $\begin{bmatrix}0&-1&0\\-1&5&-1\\0&-1&0\end{bmatrix}$;
# * **Sobel** — a derivative along one axis, smoothed along the other:
#   $G_x = [1, 2, 1]^\top [-1, 0, 1]$, and $G_y = G_x^\top$;
# * **Laplacian** — the sum of the second derivatives,
#   $\begin{bmatrix}0&1&0\\1&-4&1\\0&1&0\end{bmatrix}$: zero on flat regions and linear ramps;
# * **Gabor** — stripes under a Gaussian envelope, tuned to an orientation $\theta$ and a
#   wavelength $\lambda$ (Gabor, 1946; Daugman, 1985). We measure $\theta$ as in a maths
#   plot, counter-clockwise from the $x$ axis with $y$ pointing **up** (image rows grow
#   downwards, so $y = -\text{row}$), and let it be the angle of the stripes you see in the
#   plotted kernel. With $x' = x\cos\theta + y\sin\theta$ along the stripes and
#   $y' = -x\sin\theta + y\cos\theta$ across them,
#
# $$g(x, y) = \exp\!\Big(-\frac{\gamma^2 x'^2 + y'^2}{2\sigma^2}\Big)\,
# \cos\!\Big(2\pi\frac{y'}{\lambda} + \psi\Big),$$
#
# where $\sigma$ is the width of the envelope across the stripes and $\gamma < 1$ stretches
# it along them. Gabor filters model the receptive fields of the simple cells that Hubel &
# Wiesel (1962) found in the visual cortex (Daugman, 1985), and the first layer of a CNN
# trained on natural images learns filters that look much like them (Krizhevsky et al.,
# 2012, figure 3; lecture 10).


# %%
# check: L04 gabor
def gabor_kernel(size, sigma, theta, wavelength, gamma=0.5, psi=0.0):
    """Gabor kernel (size, size), size odd: stripes at angle theta (radians, counter-clockwise
    from the x axis, y pointing up as the kernel is plotted; 0 = horizontal stripes), a cosine
    of the given wavelength (pixels) across them, under a Gaussian envelope of width sigma
    across and sigma / gamma along the stripes."""
    if size % 2 == 0:
        raise ValueError(f"size must be odd so that the kernel has a centre pixel; got {size}")
    half = size // 2
    rows, cols = np.mgrid[-half : half + 1, -half : half + 1]
    x, y = cols, -rows  # x to the right, y up: rows grow downwards
    along = x * np.cos(theta) + y * np.sin(theta)  # x'
    across = -x * np.sin(theta) + y * np.cos(theta)  # y'
    envelope = np.exp(-(gamma**2 * along**2 + across**2) / (2 * sigma**2))
    return envelope * np.cos(2 * np.pi * across / wavelength + psi)


# %% [markdown]
# A **filter bank** is a set of filters applied to the same image; it is exactly one
# convolutional layer with $K$ output channels, and it produces $K$ feature maps. We put the
# ten kernels, each padded with zeros to 11x11, into one weight tensor of shape
# $(K, 1, 11, 11)$ and run them all with a single `F.conv2d` call with 'same' padding. On a
# flat region of brightness $c$ a filter gives $c$ times the sum of its entries: the blurs
# sum to 1 (they keep the brightness), the edge filters to 0 (silent on flat regions), and
# we subtract its mean from each Gabor kernel so that it does the same.

# %%
photo_big = data.load_photo(gray=True, size=(300, 256))  # (300, 256)


def embed(kernel, size=11):
    """Pad kernel: (F, F) with zeros to (size, size), keeping it centred."""
    p = (size - kernel.shape[0]) // 2
    return np.pad(kernel, p)


def preset(name, size=3):
    """The explorer's kernel `name` as floats: (size, size)."""
    numerators, denominator = kernel_preset(name, size)
    return numerators / denominator


bank = {
    "box blur 5x5": preset("box blur", 5),
    "Gaussian 5x5": preset("Gaussian blur", 5),
    "sharpen": preset("sharpen"),
    "Sobel x": preset("Sobel x"),
    "Sobel y": preset("Sobel y"),
    "Laplacian": preset("Laplacian"),
}
for degrees in (0, 45, 90, 135):
    g = gabor_kernel(11, sigma=2.5, theta=np.deg2rad(degrees), wavelength=6)
    bank[f"Gabor {degrees}°"] = g - g.mean()
weights = torch.from_numpy(np.stack([embed(k) for k in bank.values()]))[:, None]  # (K, 1, 11, 11)
maps = F.conv2d(torch.from_numpy(photo_big)[None, None], weights, padding="same")[0]  # (K, H, W)
print("photo", photo_big.shape, "-> bank", tuple(weights.shape), "-> maps", tuple(maps.shape))
assert np.allclose(maps[3].numpy(), conv.correlate2d(photo_big, bank["Sobel x"], padding="same"))
for name, k in bank.items():
    print(f"{name:13s} sum of the entries {round(k.sum(), 12) + 0.0:6.2f}")  # + 0.0: no "-0.00"

# %%
fig = plt.figure(figsize=(15, 8.4))
grid_spec = fig.add_gridspec(4, 5, height_ratios=[1, 2.6, 1, 2.6], hspace=0.35)
for index, (name, k) in enumerate(bank.items()):
    row, col = 2 * (index // 5), index % 5
    top = fig.add_subplot(grid_spec[row, col])
    limit = np.abs(k).max()
    top.imshow(k, cmap="RdBu_r", vmin=-limit, vmax=limit)
    top.set_title(name, fontsize=9)
    top.set(xticks=[], yticks=[])
    bottom = fig.add_subplot(grid_spec[row + 1, col])
    feature = maps[index].numpy()
    if k.sum() > 0.5:  # blur and sharpen give an image: show it as one
        plot.image(np.clip(feature, 0, 1), ax=bottom)
    else:  # edge and Gabor filters give signed responses
        scale = np.percentile(np.abs(feature), 99)
        plot.image(feature, ax=bottom, cmap="RdBu_r", vmin=-scale, vmax=scale)
fig.suptitle("a filter bank (kernels, red > 0 > blue) and its feature maps on the photo")
plt.show()

# %% [markdown]
# Read the maps: the Sobel filters respond to vertical (x) and horizontal (y) edges with a
# sign that says whether the brightness goes up or down; the Laplacian marks thin lines and
# fine texture. Each Gabor map is made of short strokes parallel to its kernel's stripes:
# Gabor 0° lights up horizontal structures (the mouth, the glasses, the ribbons on the
# uniform), Gabor 90° vertical ones (the edge of the flag on the left), and the 45° and 135°
# maps show strokes that rise (/) and fall (\\) to the right. A CNN's first layer is such a
# bank — with learned filters (section 5).
#
# In the explorer, the photo is filtered with the Sobel x kernel. Pick the other presets
# (or type a kernel), change the size of the photo, and move the window.

# %%
explorer = convolution_explorer(source="photo", kernel="Sobel x", photo_size=64)
explorer

# %% [markdown]
# ## 5. Learning a filter by gradient descent
#
# "CNNs learn their filters" means: the kernel is a tensor of parameters, the loss is a
# differentiable function of it, and gradient descent (lecture 02) with gradients from
# backpropagation (lecture 03) moves it. The smallest experiment: hide a kernel — Sobel x —
# make input/output pairs with it, and recover it from a random start by minimizing the
# mean squared error between our layer's output and the targets. The inputs are 16 images of
# random noise; the loop is the whole training procedure.

# %%
# check: L04 learning a kernel
def learn_kernel(X, Y, lr=0.3, num_steps=100, seed=0):
    """Fit a 3x3 kernel w so that conv2d(X, w) ≈ Y by gradient descent on the mean squared
    error. X: (N, 1, H, W), Y: (N, 1, H - 2, W - 2). Returns (w: (1, 1, 3, 3), losses)."""
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(1, 1, 3, 3, generator=gen, dtype=X.dtype).requires_grad_(True)  # random start
    losses = []
    for _ in range(num_steps):
        loss = ((F.conv2d(X, w) - Y) ** 2).mean()  # forward
        loss.backward()  # backward: w.grad = dloss/dw
        with torch.no_grad():
            w -= lr * w.grad  # the gradient step
            w.grad.zero_()
        losses.append(loss.item())
    return w.detach(), losses


# %%
hidden = torch.tensor(kernel_preset("Sobel x")[0], dtype=torch.float32)[None, None]  # (1,1,3,3)
X_noise = torch.randn(16, 1, 32, 32, generator=torch.Generator().manual_seed(0))  # 16 images
Y_noise = F.conv2d(X_noise, hidden)  # (16, 1, 30, 30): what the hidden filter makes of them
start = time.perf_counter()
learned, losses_noise = learn_kernel(X_noise, Y_noise)
print(f"100 steps in {time.perf_counter() - start:.2f} s; loss {losses_noise[0]:.1f} -> "
      f"{losses_noise[-1]:.1e}")
print("hidden kernel:\n", hidden[0, 0].numpy())
print("learned kernel (rounded to 4 decimals):\n", learned[0, 0].numpy().round(4) + 0.0)
print(f"largest error: {(learned - hidden).abs().max().item():.1e}")
assert torch.allclose(learned, hidden, atol=1e-4)

# %% [markdown]
# The same loop on the photo (one 150x128 image and its Sobel x map) is a lesson about data:
# neighbouring pixels of a photo are nearly equal, so the loss hardly changes when the kernel
# changes in a way that only matters for fine, pixel-to-pixel detail. The loss falls, slowly,
# while the kernel stays far from Sobel (an ill-conditioned problem, as in lecture 02):

# %%
X_photo = torch.from_numpy(photo).float()[None, None]  # (1, 1, 150, 128)
learned_photo, losses_photo = learn_kernel(X_photo, F.conv2d(X_photo, hidden))
print("learned from the photo:\n", learned_photo[0, 0].numpy().round(2) + 0.0)
print(f"loss {losses_photo[-1]:.1e}, largest error {(learned_photo - hidden).abs().max():.2f}")

fig, axes = plt.subplots(1, 4, figsize=(14, 3.2), gridspec_kw={"width_ratios": [1.6, 1, 1, 1]})
axes[0].semilogy(losses_noise, label="noise images")
axes[0].semilogy(losses_photo, label="the photo")
axes[0].set(xlabel="step", ylabel="mean squared error", title="loss")
axes[0].legend()
titles = ("hidden: Sobel x", "learned (noise)", "learned (photo)")
for ax, k, title in zip(axes[1:], (hidden, learned, learned_photo), titles, strict=True):
    ax.imshow(k[0, 0], cmap="RdBu_r", vmin=-2.5, vmax=2.5)
    for (r, c), v in np.ndenumerate(k[0, 0].numpy()):
        ax.text(c, r, f"{round(v, 2) + 0.0:.2f}", ha="center", va="center", fontsize=9)
    ax.set(xticks=[], yticks=[], title=title)
plt.show()

# %% [markdown]
# A CNN does the same with many kernels at once and a loss that comes from the task (the
# class of a digit, in lecture 05) instead of a hidden kernel: nobody tells it to learn edge
# detectors, yet its first layer ends up with filters much like the bank above.

# %% [markdown]
# ## 6. Multi-channel convolution
#
# A colour image has $S = 3$ channels, and the feature maps of a layer are the channels of the
# next layer's input (64, 256, ... of them). A filter therefore has a **depth** equal to the
# number of input channels: on an input of size $X \times Y \times S$ each filter is
# $M \times N \times S$, and it sums over all channels,
#
# $$Z[h, i, j] = b_h + \sum_{s=1}^{S} \sum_{m=0}^{M-1} \sum_{n=0}^{N-1}
# W[h, s, m, n]\, X[s, i + m, j + n].$$
#
# One filter gives one feature map; $H$ filters of $M \times N \times S$ give an output of
# $X \times Y \times H$ with 'same' padding. PyTorch stores channels first: the input is
# $(\text{batch}, S, X, Y)$ and the weights $(H, S, M, N)$.

# %%
photo_rgb = data.load_photo(size=(150, 128)).transpose(2, 0, 1)  # (S=3, X=150, Y=128)
layer = nn.Conv2d(in_channels=3, out_channels=8, kernel_size=5, padding="same")  # H=8, M=N=5
x_rgb = torch.from_numpy(photo_rgb).float()[None]  # (1, 3, 150, 128), float32 like the layer
z = layer(x_rgb)
print("input   X×Y×S  :", tuple(x_rgb.shape), " (batch, S, X, Y)")
print("weights H×S×M×N:", tuple(layer.weight.shape), " bias:", tuple(layer.bias.shape))
print("output  X×Y×H  :", tuple(z.shape), " (batch, H, X, Y)")

# %% [markdown]
# In the explorer the input is the RGB photo; the kernel is applied to each of R, G and B
# (the same 3x3 slice on each) and the three results are added. The readout under the
# picture lists the 27 products of the current window.

# %%
convolution_explorer(source="photo", color="rgb", kernel="Sobel y", photo_size=48)

# %% [markdown]
# **Exercise.** Write the formula above as loops, with a bias and a stride, for one image
# without padding: `x: (S, H, W)`, `w: (K, S, F, F)`, `b: (K,)`. The check compares with
# `F.conv2d` on random tensors, with stride 1 and 2.


# %%
# exercise: multi-channel convolution with loops
def conv2d_loops(x, w, b, stride=1):
    """x: (S, H, W), w: (K, S, F, F), b: (K,) -> (K, H', W'), H' = (H - F) // stride + 1."""
    return None  # your code here


gen = torch.Generator().manual_seed(1)
x_ex = torch.randn(3, 9, 8, generator=gen, dtype=torch.float64)  # S=3 channels, 9x8
w_ex = torch.randn(4, 3, 3, 3, generator=gen, dtype=torch.float64)  # K=4 filters of 3x3x3
b_ex = torch.randn(4, generator=gen, dtype=torch.float64)
for step in (1, 2):
    grading.exercise(f"conv2d_loops with stride {step}", conv2d_loops(x_ex, w_ex, b_ex, step),
                     F.conv2d(x_ex[None], w_ex, b_ex, stride=step)[0],
                     hint="out[k, i, j] = b[k] + (window of all S channels * w[k]).sum(), "
                     "the window starting at row i·stride, column j·stride")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: multi-channel convolution with loops
# def conv2d_loops(x, w, b, stride=1):
#     """x: (S, H, W), w: (K, S, F, F), b: (K,) -> (K, H', W'), H' = (H - F) // stride + 1."""
#     K, S, size, _ = w.shape
#     H_out = (x.shape[1] - size) // stride + 1
#     W_out = (x.shape[2] - size) // stride + 1
#     out = torch.zeros(K, H_out, W_out, dtype=x.dtype)
#     for k in range(K):
#         for i in range(H_out):
#             for j in range(W_out):
#                 r, c = i * stride, j * stride
#                 window = x[:, r : r + size, c : c + size]  # (S, F, F): every channel
#                 out[k, i, j] = b[k] + (window * w[k]).sum()
#     return out
#
#
# gen = torch.Generator().manual_seed(1)
# x_ex = torch.randn(3, 9, 8, generator=gen, dtype=torch.float64)  # S=3 channels, 9x8
# w_ex = torch.randn(4, 3, 3, 3, generator=gen, dtype=torch.float64)  # K=4 filters of 3x3x3
# b_ex = torch.randn(4, generator=gen, dtype=torch.float64)
# for step in (1, 2):
#     grading.exercise(f"conv2d_loops with stride {step}", conv2d_loops(x_ex, w_ex, b_ex, step),
#                      F.conv2d(x_ex[None], w_ex, b_ex, stride=step)[0],
#                      hint="out[k, i, j] = b[k] + (window of all S channels * w[k]).sum(), "
#                      "the window starting at row i·stride, column j·stride")
# ```
# The filter `w[k]` has one 3x3 slice per input channel: a filter of any other depth would
# not line up with the window. Four nested loops (k, i, j and the sum) are what `F.conv2d`
# does with far faster code.
# </details>

# %% [markdown]
# ## 7. Padding, stride and the output size
#
# Along one axis, an input of $N$ pixels, a kernel of $F$, zero **padding** of $P$ pixels on
# each side and a **stride** $S$ (the step between windows) give
#
# $$O = \left\lfloor \frac{N - F + 2P}{S} \right\rfloor + 1$$
#
# outputs: the window can start at $N - F + 2P + 1$ positions, of which we take every $S$-th.
# When $(N - F + 2P)/S$ is not an integer the last cells of the input are never read;
# PyTorch rounds down silently, `course.conv.output_size(..., strict=True)` raises an error
# that says so. The checks: $N = 7$, $F = 3$, $P = 0$ with strides 1, 2, 3, and $P = 1$,
# $S = 1$ — each compared with the shape PyTorch produces.

# %%
# check: L04 output size
x7 = torch.zeros(1, 1, 7, 7)
w3 = torch.zeros(1, 1, 3, 3)
for s, p in [(1, 0), (2, 0), (3, 0), (1, 1)]:
    ours = conv.output_size(7, 3, stride=s, padding=p)
    theirs = F.conv2d(x7, w3, stride=s, padding=p).shape[-1]
    exact = (7 - 3 + 2 * p) / s + 1
    print(f"N=7, F=3, P={p}, S={s}: (7 - 3 + {2 * p})/{s} + 1 = {exact:.2f} -> {ours}",
          f"(torch: {theirs})")
    assert ours == theirs
try:
    conv.output_size(7, 3, stride=3, strict=True)
except ValueError as error:
    print("strict=True:", error)

# %% [markdown]
# **Padding.** Without padding (**'valid'**), every layer shrinks the image by $F - 1$
# pixels, and a corner pixel is read by one window where a centre pixel is read by $F^2$.
# Padding with $P = (F - 1)/2$ zeros on each side (**'same'**, for odd $F$ and stride 1)
# keeps the size: $O = N - F + (F - 1) + 1 = N$. (**'full'** padding, $P = F - 1$, keeps
# every window that overlaps the image at all; section 11 meets it again.)

# %%
for mode in ("valid", "same", "full"):
    p = conv.padding_for(mode, 5)
    print(f"{mode:5s}: F=5 on N=32 with P={p} gives O={conv.output_size(32, 5, padding=p)}")
same_torch = F.conv2d(torch.zeros(1, 1, 32, 32), torch.zeros(1, 1, 5, 5), padding="same")
print("torch padding='same', F=5 on 32x32:", tuple(same_torch.shape[-2:]))
shrinking = [32]
for _ in range(8):
    shrinking.append(conv.output_size(shrinking[-1], 3))
print("eight 3x3 layers without padding:", " -> ".join(map(str, shrinking)))

# %% [markdown]
# **Stride.** A stride $S$ computes only every $S$-th window: the output is about $N/S$ on
# each side, and the work drops by $S^2$. A strided convolution is a convolution followed by
# keeping every $S$-th row and column:

# %%
x_rand = torch.randn(1, 1, 9, 9)
w_rand = torch.randn(1, 1, 3, 3)
strided = F.conv2d(x_rand, w_rand, stride=2)
subsampled = F.conv2d(x_rand, w_rand)[..., ::2, ::2]
print("stride 2 == every 2nd output of stride 1:", torch.allclose(strided, subsampled),
      tuple(strided.shape[-2:]))

# %% [markdown]
# The explorer below starts on the 7x7 grid with a box blur and stride 3: the formula under
# the picture shows $(7 - 3 + 0)/3 + 1$, and the row and column that no window reads are
# hatched. Switch padding to 'same', or press 'set P' and pick a number, and change the
# stride. The readout writes the formula with the dilation $d$ of the next section,
# $\lfloor (N - d(F - 1) - 1 + 2P)/S \rfloor + 1$, the same formula at $d = 1$: set the
# dilation to 2 and watch the kernel's taps spread out.

# %%
explorer = convolution_explorer(source="grid", kernel="box blur")
explorer.stride.value = 3
assert explorer.output.shape == (2, 2) and "2.33" in explorer.warning.value
explorer

# %% [markdown]
# ## 8. Dilation
#
# A **dilated** (atrous) convolution spreads the $F$ taps of the kernel $d$ pixels apart:
#
# $$Z[i, j] = \sum_{m=0}^{F-1} \sum_{n=0}^{F-1} X[i + d\,m,\; j + d\,n]\, W[m, n].$$
#
# It covers an **effective** kernel of $d(F - 1) + 1$ pixels with the same $F^2$ weights: a
# wider receptive field at no extra cost. In the output-size formula $F$ becomes
# $d(F - 1) + 1$. A dilated kernel is the same as a larger kernel with $d - 1$ zeros between
# its taps:


# %%
def dilate_kernel(w, d):
    """Insert d - 1 zeros between the taps of w: (F, F); returns (d(F - 1) + 1, d(F - 1) + 1)."""
    size = d * (w.shape[0] - 1) + 1
    out = np.zeros((size, size))
    out[::d, ::d] = w
    return out


w3x3 = np.arange(1.0, 10.0).reshape(3, 3)
x9 = torch.randn(1, 1, 9, 9, dtype=torch.float64)  # like the NumPy kernel
for d in (1, 2, 3):
    effective = d * (3 - 1) + 1
    dilated = F.conv2d(x9, torch.from_numpy(w3x3)[None, None], dilation=d)
    inflated = F.conv2d(x9, torch.from_numpy(dilate_kernel(w3x3, d))[None, None])
    print(f"d={d}: effective size {effective}, 9 weights, output on N=9: "
          f"{conv.output_size(9, 3, dilation=d)} (torch {dilated.shape[-1]}), "
          f"same as {effective}x{effective} with zeros: {torch.allclose(dilated, inflated)}")
print("dilate_kernel(w, 2):\n", dilate_kernel(w3x3, 2).astype(int))

# %% [markdown]
# **Exercise.** Write the output size along one axis for an input of $N$, a kernel of $F$,
# padding $P$, stride $S$ and dilation $d$. The check compares with the shapes `F.conv2d`
# produces, among them the checks of section 7 and a 32x32 input with a 5x5 kernel, $P = 2$,
# $S = 2$.


# %%
# exercise: output size
def out_size(n, f, p=0, s=1, d=1):
    """Outputs along one axis: input n, kernel f, padding p, stride s, dilation d."""
    return None  # your code here


cases = [(7, 3, 0, 2, 1), (7, 3, 0, 3, 1), (32, 5, 2, 2, 1), (64, 3, 2, 1, 2), (10, 3, 4, 3, 2)]
for n, f, p, s, d in cases:  # n, f, p, s, d: N, F, P, S, d
    zeros = F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, f, f), stride=s, padding=p,
                     dilation=d)
    grading.exercise(f"N={n}, F={f}, P={p}, S={s}, d={d}", out_size(n, f, p, s, d),
                     zeros.shape[-1], hint="floor((N + 2P - (d(F - 1) + 1)) / S) + 1")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: output size
# def out_size(n, f, p=0, s=1, d=1):
#     """Outputs along one axis: input n, kernel f, padding p, stride s, dilation d."""
#     effective = d * (f - 1) + 1  # the span of the dilated kernel
#     return (n + 2 * p - effective) // s + 1  # // rounds down: the windows that fit
#
#
# cases = [(7, 3, 0, 2, 1), (7, 3, 0, 3, 1), (32, 5, 2, 2, 1), (64, 3, 2, 1, 2), (10, 3, 4, 3, 2)]
# for n, f, p, s, d in cases:  # n, f, p, s, d: N, F, P, S, d
#     zeros = F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, f, f), stride=s, padding=p,
#                      dilation=d)
#     grading.exercise(f"N={n}, F={f}, P={p}, S={s}, d={d}", out_size(n, f, p, s, d),
#                      zeros.shape[-1], hint="floor((N + 2P - (d(F - 1) + 1)) / S) + 1")
# ```
# With $P = 2$ a 5x5 kernel keeps 32 at stride 1, and stride 2 gives
# $\lfloor 31/2 \rfloor + 1 = 16$: the remainder drops one column. `conv.output_size` is
# the course's version, with `strict=True` to refuse a stride that does not fit.
# </details>

# %% [markdown]
# ### Dilation or subsampling?
#
# Both let a later layer see more of the image without a bigger kernel. **Subsampling** — a
# stride, or a pooling layer (lecture 05) — shrinks the feature map, so a 3x3 window on the
# smaller map covers more of the input. **Dilation** keeps the map at full resolution and
# spreads the taps instead. Four two-layer stacks of 3x3 box blurs, each with 18 weights, on
# the same crop of the photo; the receptive field is measured with `footprint` from section
# 3 and compared with `conv.receptive_field`:


# %%
def box3(stride=1, dilation=1):
    """A 3x3 box blur as a layer; padding = dilation keeps the size when stride = 1."""
    layer = nn.Conv2d(1, 1, 3, stride=stride, dilation=dilation, padding=dilation, bias=False)
    nn.init.constant_(layer.weight, 1 / 9)
    return layer


ways = {  # name: ((kernel, stride, dilation) per layer, the stack)
    "plain": ([(3, 1, 1), (3, 1, 1)], nn.Sequential(box3(), box3())),
    "dilated (d = 2)": ([(3, 1, 1), (3, 1, 2)], nn.Sequential(box3(), box3(dilation=2))),
    "strided (S = 2)": ([(3, 2, 1), (3, 1, 1)], nn.Sequential(box3(stride=2), box3())),
    "avg pool 2x2": (
        [(3, 1, 1), (2, 2, 1), (3, 1, 1)], nn.Sequential(box3(), nn.AvgPool2d(2), box3())
    ),
}
crop = torch.from_numpy(photo[20:84, 32:96]).float()[None, None]  # (1, 1, 64, 64): the face
fig, axes = plt.subplots(1, 5, figsize=(15, 3.4))
plot.image(crop[0, 0], ax=axes[0], title="input\n64x64")
for ax, (name, (layers, stack)) in zip(axes[1:], ways.items(), strict=True):
    with torch.no_grad():
        out = stack(crop)[0, 0]
    seen = int((footprint(stack).sum(axis=0) > 0).sum())  # measured receptive field
    weights = sum(p.numel() for p in stack.parameters())
    print(f"{name:16s}: output {tuple(out.shape)}, receptive field {seen}x{seen} "
          f"(conv.receptive_field: {conv.receptive_field(layers)}), {weights} weights")
    assert seen == conv.receptive_field(layers)
    plot.image(out, ax=ax, title=f"{name}\n{out.shape[0]}x{out.shape[1]}, sees {seen}x{seen}")
plt.show()

holes = footprint(nn.Sequential(box3(dilation=2), box3(dilation=2))) > 0  # d = 2 twice
read = np.flatnonzero(holes.any(axis=0))  # the columns that are read
span = read[-1] - read[0] + 1
print(f"two layers with d = 2: span {span}x{span} = {span**2} pixels, {holes.sum()} of them read")
doubling = conv.receptive_field([(3, 1, d) for d in (1, 2, 4, 8)])
print(f"four 3x3 layers with d = 1, 2, 4, 8 see {doubling}x{doubling}; "
      f"with d = 1: {conv.receptive_field([(3, 1)] * 4)}x{conv.receptive_field([(3, 1)] * 4)}")

# %% [markdown]
# The answer to the question: the dilated stack sees as far as the strided one (7x7; the
# pooled one 8x8) with the same 18 weights, but keeps all 64x64 outputs — in the figure it is
# blurrier than the plain stack, not coarser. The strided and pooled stacks keep a quarter
# of the outputs (32x32, visibly blocky), so every later layer has a quarter of the work, and
# the map no longer says exactly *where* something is. For classifying a whole image that is
# a fair trade, and most CNNs subsample (lectures 05–06); when every pixel needs an answer
# (segmentation, audio), dilation grows the receptive field without losing resolution. Its
# pitfall is the second line printed: stacking the same dilation reads only some of the
# pixels it spans ("gridding"). Doubling the rate from layer to layer avoids it and grows the
# receptive field exponentially with depth (last line), as in dense prediction (Yu & Koltun,
# 2016) and audio generation (WaveNet: van den Oord et al., 2016).

# %% [markdown]
# ## 9. 1x1 convolution
#
# A $1 \times 1$ convolution looks at one pixel at a time — but at all its $S$ channels. With
# weights $W \in \mathbb{R}^{K \times S}$ and biases $b \in \mathbb{R}^K$ it maps the channel
# vector of every pixel to $K$ numbers,
#
# $$Z[:, i, j] = W\, X[:, i, j] + b,$$
#
# which is a **fully connected layer applied at every pixel**, with the same weights
# everywhere. On all pixels at once it is one matrix product: reshape $X$ from
# $S \times H \times W$ to $S \times HW$ and compute $W X + b$.

# %%
# check: L04 1x1 convolution
x64 = torch.randn(1, 64, 16, 16, dtype=torch.float64)  # 64 channels; float64: exact comparisons
one_by_one = nn.Conv2d(64, 16, kernel_size=1, dtype=torch.float64)  # 64 -> 16 channels
W11 = one_by_one.weight[:, :, 0, 0]  # (16, 64)
as_matrix = W11 @ x64[0].reshape(64, -1) + one_by_one.bias[:, None]  # (16, H·W)
as_matrix = as_matrix.reshape(16, 16, 16)  # (K, H, W)
per_pixel_linear = F.linear(x64[0].permute(1, 2, 0), W11, one_by_one.bias)  # (H, W, K)
print("weights", tuple(W11.shape), "x reshaped", (64, 16 * 16), "-> output", tuple(as_matrix.shape))
print("1x1 conv == matrix product over channels:", torch.allclose(one_by_one(x64)[0], as_matrix))
print("1x1 conv == a linear layer at every pixel:",
      torch.allclose(one_by_one(x64)[0], per_pixel_linear.permute(2, 0, 1)))

# %% [markdown]
# **Bottleneck.** With $K < S$ a 1x1 convolution reduces the number of channels cheaply, so
# that an expensive 3x3 convolution runs on fewer channels. Lin et al. (2014) stacked 1x1
# convolutions after ordinary ones ("Network in Network": a small MLP at every pixel);
# GoogLeNet and ResNet use 1x1 layers as bottlenecks. Here is ResNet's bottleneck block on a
# 56x56 map with 256 channels, against a plain 3x3 layer from 256 to 256 channels (the
# multiply-adds are the weights times the number of output pixels):

# %%
pixels = 56 * 56
plain_layer = [(256, 256, 3)]  # (in channels, out channels, F)
bottleneck = [(256, 64, 1), (64, 64, 3), (64, 256, 1)]
totals = {}
for title, block in (("plain", plain_layer), ("bottleneck", bottleneck)):
    params = sum(conv.conv_params(s_in, k_out, f) for s_in, k_out, f in block)
    macs = sum(conv.conv_params(s_in, k_out, f, bias=False) * pixels for s_in, k_out, f in block)
    torch_params = sum(p.numel() for args in block for p in nn.Conv2d(*args).parameters())
    totals[title] = params
    print(f"{title:10s}: {', '.join(f'{f}x{f}, {i} -> {o}' for i, o, f in block)}")
    print(f"{'':12s}{params:,} parameters (torch {torch_params:,}), ", end="")
    print(f"{macs / 1e6:,.0f} million multiply-adds")
print(f"the bottleneck has {totals['plain'] / totals['bottleneck']:.1f} times fewer parameters")

# %% [markdown]
# The explorer's *1x1 mixing* mode applies a 1x1 convolution to the RGB photo. It
# starts with the weights $(0.299, 0.587, 0.114)$: one output channel, the weighted sum of R,
# G and B at every pixel — which is how a colour photo is turned into a gray one. Try the
# other mixing presets (3 output channels) or type your own.

# %%
explorer = convolution_explorer(source="photo", color="rgb", photo_size=48)
explorer.mode.value = "mix"
gray = data.load_photo(gray=True, size=explorer.input.shape[1:])
assert np.allclose(explorer.output[0], gray)
explorer

# %% [markdown]
# ## 10. Parameters of a convolutional layer
#
# A layer with $K$ filters of $F \times F$ on $D_1$ input channels has
#
# $$\underbrace{(F \cdot F \cdot D_1) \cdot K}_{\text{weights}} + \underbrace{K}_{\text{biases}}$$
#
# parameters, whatever the size of the image: LeNet-5's first layer (6 filters of 5x5 on
# one channel) has 156, AlexNet's (96 filters of 11x11x3) 34,944. `course.conv.conv_params`
# computes it; the exercise checks you against `torch.nn.Conv2d`.

# %%
print(f"LeNet-5 C1: {conv.conv_params(1, 6, 5)}, AlexNet conv1: {conv.conv_params(3, 96, 11):,}")

# %% [markdown]
# **Exercise.** (a) The input is $32 \times 32 \times 3$; the layer has 10 filters of
# $5 \times 5$ with stride 1 and padding 2. What is the output shape $(K, H, W)$, and how
# many parameters does the layer have? (b) A layer maps 64 channels to 128 with 3x3 filters:
# what is the shape of its weight tensor? Answer with numbers, worked out by hand.

# %%
# exercise: parameters of a layer
shape_out = None  # (a) a tuple (K, H, W)
num_params = None  # (a) a number
weight_shape = None  # (b) a tuple
layer = nn.Conv2d(3, 10, 5, stride=1, padding=2)
grading.exercise("(a) output shape", shape_out, tuple(layer(torch.zeros(1, 3, 32, 32)).shape[1:]),
                 hint="'same' padding (P = (F - 1)/2) keeps 32; one map per filter")
grading.exercise("(a) parameters", num_params, sum(p.numel() for p in layer.parameters()),
                 hint="(F·F·D1)·K + K: every filter is 5x5x3, plus one bias each")
grading.exercise("(b) weight shape", weight_shape, tuple(nn.Conv2d(64, 128, 3).weight.shape),
                 hint="PyTorch stores (K filters, D1 input channels, F, F)")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: parameters of a layer
# shape_out = (10, 32, 32)  # (32 - 5 + 2·2)/1 + 1 = 32, one map per filter
# num_params = (5 * 5 * 3) * 10 + 10  # 75 weights and a bias per filter: 760
# weight_shape = (128, 64, 3, 3)  # 128 filters, each 3x3 deep through all 64 channels
# layer = nn.Conv2d(3, 10, 5, stride=1, padding=2)
# grading.exercise("(a) output shape", shape_out, tuple(layer(torch.zeros(1, 3, 32, 32)).shape[1:]),
#                  hint="'same' padding (P = (F - 1)/2) keeps 32; one map per filter")
# grading.exercise("(a) parameters", num_params, sum(p.numel() for p in layer.parameters()),
#                  hint="(F·F·D1)·K + K: every filter is 5x5x3, plus one bias each")
# grading.exercise("(b) weight shape", weight_shape, tuple(nn.Conv2d(64, 128, 3).weight.shape),
#                  hint="PyTorch stores (K filters, D1 input channels, F, F)")
# ```
# </details>

# %% [markdown]
# ## 11. Convolution as a matrix product (optional)
#
# A convolution is linear in its input, so it is a matrix: there is a matrix $T$ with
#
# $$\operatorname{vec}(Z) = T \operatorname{vec}(X), \qquad T \in \mathbb{R}^{H'W' \times HW}.$$
#
# Row $(i, j)$ of $T$ holds the kernel's weights in the columns of the pixels that window
# $(i, j)$ reads, and zeros elsewhere. We build $T$ for a 5x5 input and a 3x3 kernel with the
# input positions from `course.conv.window_positions`, show it, and check it against
# `F.conv2d`.


# %%
# check: L04 conv matrix
def conv_matrix(kernel, input_shape, stride=1, padding=0):
    """The matrix T with T @ x.ravel() == correlate2d(x, kernel, stride, padding).ravel().

    kernel: (F_h, F_w), input_shape: (H, W). Returns T: (H' * W', H * W)."""
    kernel = np.asarray(kernel, dtype=float)
    H, W = input_shape
    fh, fw = kernel.shape
    out_h = conv.output_size(H, fh, stride, padding)
    out_w = conv.output_size(W, fw, stride, padding)
    T = np.zeros((out_h * out_w, H * W))
    for i in range(out_h):
        for j in range(out_w):
            rows, cols = conv.window_positions(i, j, (fh, fw), stride, padding)
            for m, r in enumerate(rows):
                for n, c in enumerate(cols):
                    if 0 <= r < H and 0 <= c < W:  # a padding cell holds a zero: no column
                        T[i * out_w + j, r * W + c] = kernel[m, n]
    return T


kernel9 = np.arange(1.0, 10.0).reshape(3, 3)
T = conv_matrix(kernel9, (5, 5))
x5 = np.random.default_rng(0).normal(size=(5, 5))
by_matrix = (T @ x5.ravel()).reshape(3, 3)
x5_t, k9_t = torch.from_numpy(x5)[None, None], torch.from_numpy(kernel9)[None, None]
by_torch = F.conv2d(x5_t, k9_t)[0, 0].numpy()
print("T:", T.shape, " T @ vec(x) == conv2d(x, w):", np.allclose(by_matrix, by_torch))
distinct = np.unique(T[T != 0]).size
print(f"non-zero entries: {np.count_nonzero(T)} of {T.size}; distinct values: {distinct}")

# %%
fig, ax = plt.subplots(figsize=(12, 4))
ax.imshow(np.ma.masked_equal(T, 0), cmap="viridis", vmin=0, vmax=9)
for (r, c), v in np.ndenumerate(T):
    if v:
        ax.text(c, r, f"{v:g}", ha="center", va="center", fontsize=8, color="w" if v < 6 else "k")
ax.set_xticks(np.arange(-0.5, 25), minor=True)
ax.set_yticks(np.arange(-0.5, 9), minor=True)
ax.grid(which="minor", color="0.9")
ax.tick_params(which="minor", length=0)
ax.set(xlabel="input pixel 5r + c (column of T)", ylabel="output pixel 3i + j (row of T)",
       title="T (9 x 25): one row per output pixel, the kernel's 9 weights in each")
plt.show()

# %% [markdown]
# $T$ is **sparse** (9 non-zeros per row: locality) and its non-zero values repeat along
# diagonals (weight sharing): a **doubly block Toeplitz** matrix — Toeplitz blocks, arranged
# in a Toeplitz pattern. A fully connected layer from 25 to 9 units is the same picture with
# every cell free. So a convolutional layer *is* a fully connected layer whose weight matrix
# is constrained to be sparse and shared — the inductive biases of section 3 in one picture.
#
# Nobody computes a convolution with $T$ (it is mostly zeros). Fast libraries use the other
# way of writing the same product, **im2col**: copy each window of the input into a column of
# a matrix (9 x number of windows) and multiply by the kernel as a row. PyTorch's `F.unfold`
# is its im2col; in lab 04 you write your own.

# %%
columns = F.unfold(x5_t, kernel_size=3)  # (1, F·F, H'·W') = (1, 9, 9): one window per column
by_im2col = (k9_t.reshape(1, -1) @ columns[0]).reshape(3, 3)  # (1, 9) @ (9, 9)
print("im2col:", tuple(columns.shape[1:]), " w_row @ columns == conv2d:",
      np.allclose(by_im2col.numpy(), by_torch))

# %% [markdown]
# ### The backward pass is again a convolution
#
# With $\operatorname{vec}(Z) = T \operatorname{vec}(X)$ and $G = \partial L/\partial Z$ the
# gradient arriving from above, the chain rule gives
#
# $$\frac{\partial L}{\partial \operatorname{vec}(X)} = T^\top \operatorname{vec}(G).$$
#
# Multiplying by $T^\top$ spreads each $G[i, j]$ back over the window it came from, weighted
# by the kernel: that is a **full convolution** of $G$ with $W$ (a true convolution, kernel
# flipped, with 'full' padding $F - 1$),
#
# $$\frac{\partial L}{\partial X[p, q]} = \sum_{i, j} G[i, j]\, W[p - i, q - j] = (G * W)[p, q],$$
#
# which PyTorch calls a **transposed convolution** (`F.conv_transpose2d`; the name comes from
# $T^\top$). The gradient with respect to the weights is a correlation of the input with $G$:
#
# $$\frac{\partial L}{\partial W[m, n]} = \sum_{i, j} G[i, j]\, X[i + m, j + n]
# = (X \star G)[m, n].$$
#
# All four expressions against `torch.autograd`, with stride 1 and with stride 2:

# %%
# check: L04 backward
for stride in (1, 2):
    x_leaf = torch.from_numpy(x5)[None, None].clone().requires_grad_(True)  # (1, 1, 5, 5)
    w_leaf = torch.from_numpy(kernel9)[None, None].clone().requires_grad_(True)  # (1, 1, 3, 3)
    out = F.conv2d(x_leaf, w_leaf, stride=stride)
    G = torch.randn(out.shape, generator=torch.Generator().manual_seed(stride), dtype=out.dtype)
    out.backward(G)  # autograd: x_leaf.grad = dL/dX, w_leaf.grad = dL/dW for L = sum(G * out)
    T_s = conv_matrix(kernel9, (5, 5), stride=stride)
    dx_matrix = (T_s.T @ G.numpy().ravel()).reshape(5, 5)
    dx_transposed = F.conv_transpose2d(G, w_leaf.detach(), stride=stride)[0, 0].numpy()
    dx, dw = x_leaf.grad[0, 0].numpy(), w_leaf.grad[0, 0].numpy()
    print(f"stride {stride}: output {tuple(out.shape[-2:])}, T {T_s.shape}")
    print("  Tᵀ vec(G)              == autograd dL/dX:", np.allclose(dx_matrix, dx))
    print("  conv_transpose2d(G, W) == autograd dL/dX:", np.allclose(dx_transposed, dx))
    if stride == 1:
        dx_full = conv.convolve2d(G[0, 0].numpy(), kernel9, padding="full")
        print("  full convolution G * W == autograd dL/dX:", np.allclose(dx_full, dx))
    dw_corr = F.conv2d(x_leaf.detach(), G, dilation=stride)[0, 0].numpy()  # strided G spreads out
    print("  correlation X ⋆ G      == autograd dL/dW:", np.allclose(dw_corr, dw))

# %% [markdown]
# (With stride 2 the weight gradient is a correlation of $X$ with $G$ *dilated* by 2: the
# outputs were 2 pixels apart, so their gradients are too.) This is why a convolutional
# network trains with nothing but convolutions: forward, backward to the input, backward to
# the weights. Transposed convolutions are also used on their own, as learned upsampling
# layers in decoders and generators.

# %% [markdown]
# ## 12. Other convolutions, by name (optional)
#
# **Spatially separable.** A kernel of rank 1 is an outer product of a column and a row,
# $W = u v^\top$, and then one 2-D pass equals two 1-D passes: first with the column $u$
# ($F \times 1$), then with the row $v^\top$ ($1 \times F$). That costs $2F$ instead of $F^2$
# multiplications per pixel. The Sobel kernel is $[1, 2, 1]^\top [-1, 0, 1]$:


# %%
# check: L04 separable
u = np.array([1.0, 2.0, 1.0])  # smoothing, as a column
v = np.array([-1.0, 0.0, 1.0])  # derivative, as a row
sobel_2d = np.outer(u, v)
x_photo_t = torch.from_numpy(photo)[None, None]
column_pass = F.conv2d(x_photo_t, torch.from_numpy(u).reshape(1, 1, 3, 1))  # 3x1
two_passes = F.conv2d(column_pass, torch.from_numpy(v).reshape(1, 1, 1, 3))  # then 1x3
one_pass = F.conv2d(x_photo_t, torch.from_numpy(sobel_2d)[None, None])
print("outer([1, 2, 1], [-1, 0, 1]) == Sobel x:",
      np.array_equal(sobel_2d, kernel_preset("Sobel x")[0]))
print("3x1 pass, then 1x3 pass == 3x3 pass:", torch.allclose(two_passes, one_pass))
for f in (3, 7, 11):
    print(f"F = {f:2d}: {2 * f:3d} instead of {f * f:3d} multiplications per pixel")

# %% [markdown]
# Which kernels are separable? Exactly those of rank 1 (the singular value decomposition
# writes any kernel as a sum of $\operatorname{rank}(W)$ separable ones): the box blur,
# Gaussian and Sobel kernels and the Gabor kernel at 0° are; the Laplacian, sharpen and the
# Gabor kernel at 45° are not.

# %%
kernels = {name: preset(name) for name in ("box blur", "Sobel x", "Laplacian", "sharpen")}
kernels["Gaussian 5x5"] = preset("Gaussian blur", 5)
kernels["Gabor 0°"] = gabor_kernel(11, 2.5, 0.0, 6)
kernels["Gabor 45°"] = gabor_kernel(11, 2.5, np.pi / 4, 6)
for name, k in kernels.items():
    print(f"{name:12s} rank {np.linalg.matrix_rank(k, tol=1e-10 * np.abs(k).max())}")

# %% [markdown]
# **Grouped.** With `groups=g` the $S$ input channels and the $K$ filters are split into $g$
# groups, and each group of filters sees only its own $S/g$ channels: $g$ independent
# convolutions side by side, with $(F \cdot F \cdot S/g) \cdot K + K$ parameters. AlexNet used
# two groups to split the network over two GPUs (Krizhevsky et al., 2012); ResNeXt uses many
# (Xie et al., 2017).
#
# **Depthwise separable.** The extreme case $g = S$ (one filter per channel, a
# **depthwise** convolution) followed by a 1x1 convolution that mixes the channels
# (**pointwise**). It splits "where" (spatial filtering) from "what" (channel mixing) and has
# $F^2 S + S K$ weights instead of $F^2 S K$ (Chollet, 2017: Xception; Howard et al.,
# 2017: MobileNets).


# %%
# check: L04 grouped
def grouped_conv_params(in_channels, out_channels, kernel_size, groups):
    """(F·F·S/g)·K + K: each of the K filters sees S/g channels."""
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"groups={groups} must divide in_channels={in_channels} "
                         f"and out_channels={out_channels}")
    return kernel_size * kernel_size * (in_channels // groups) * out_channels + out_channels


def depthwise_separable_params(in_channels, out_channels, kernel_size):
    """A depthwise F x F convolution (groups = S) and a pointwise 1x1 convolution, with biases."""
    depthwise = grouped_conv_params(in_channels, in_channels, kernel_size, groups=in_channels)
    return depthwise + conv.conv_params(in_channels, out_channels, 1)


S_ch, K_ch = 64, 64
print(f"3x3 convolutions, {S_ch} -> {K_ch} channels")
for g in (1, 2, 4, 16, 64):
    torch_count = sum(p.numel() for p in nn.Conv2d(S_ch, K_ch, 3, groups=g).parameters())
    ours = grouped_conv_params(S_ch, K_ch, 3, g)
    print(f"  groups = {g:2d}: {ours:6,} parameters (torch {torch_count:6,})")
separable = nn.Sequential(nn.Conv2d(S_ch, S_ch, 3, groups=S_ch), nn.Conv2d(S_ch, K_ch, 1))
print(f"  depthwise separable: {depthwise_separable_params(S_ch, K_ch, 3):,} parameters "
      f"(torch {sum(p.numel() for p in separable.parameters()):,})")
x_groups = torch.randn(1, 8, 10, 10, dtype=torch.float64)
w_groups = torch.randn(6, 4, 3, 3, dtype=torch.float64)  # K=6 filters of depth S/g = 8/2 = 4
halves = [F.conv2d(x_groups[:, :4], w_groups[:3]), F.conv2d(x_groups[:, 4:], w_groups[3:])]
print("groups=2 == two convolutions on the two halves of the channels:",
      torch.allclose(F.conv2d(x_groups, w_groups, groups=2), torch.cat(halves, dim=1)))

# %% [markdown]
# **Deformable.** A deformable convolution (Dai et al., 2017) lets every tap of the kernel
# move: a small extra convolution predicts, at every output position, an offset
# $(\Delta y, \Delta x)$ for each of the $F^2$ taps, and the input is read there (with
# bilinear interpolation for fractional offsets). The receptive field can bend to the shape of
# the object; `torchvision.ops.deform_conv2d` implements it.

# %% [markdown]
# **Sparse.** When most of the input is zero — a 3-D point cloud in a voxel grid, a scanned
# handwriting stroke — a sparse convolution computes only at the active (non-zero) sites and
# stores only those (Graham, 2014; Graham et al., 2018). (Goodfellow et al. call the locality
# of an ordinary convolution its *sparse interactions*: the sparse matrix $T$ above.)
#
# | variant | what changes | parameters (S in, K out, F x F) |
# |---|---|---|
# | standard | — | $F^2 S K + K$ |
# | grouped ($g$ groups) | each filter sees $S/g$ channels | $F^2 (S/g) K + K$ |
# | depthwise separable | depthwise $F \times F$, then 1x1 | $F^2 S + S + S K + K$ |
# | spatially separable | $F \times 1$ then $1 \times F$ | $2F$ per rank-1 kernel |
# | dilated | taps $d$ apart | as standard |
# | deformable | taps move by learned offsets | standard + the offset layer |
# | sparse | computes only at active sites | as standard |
#
# **Check yourself.** How many parameters does a depthwise separable 3x3 convolution from 128
# to 256 channels have, against a standard one?
#
# <details><summary>Answer</summary>
#
# Depthwise: $9 \cdot 128 + 128 = 1{,}280$; pointwise: $128 \cdot 256 + 256 = 33{,}024$;
# together $34{,}304$, against $9 \cdot 128 \cdot 256 + 256 = 295{,}168$ — about 8.6 times
# fewer. Computed below.
# </details>

# %%
depthwise = grouped_conv_params(128, 128, 3, groups=128)
pointwise = conv.conv_params(128, 256, 1)
total, standard = depthwise_separable_params(128, 256, 3), conv.conv_params(128, 256, 3)
print(f"depthwise {depthwise:,} + pointwise {pointwise:,} = {total:,}; standard: {standard:,}; "
      f"ratio: {standard / total:.1f}")

# %% [markdown]
# ## Summary
#
# * A fully connected layer on an image has $(N^2 + 1)K$ parameters (16.8 million for
#   512x512 and 64 units); $K$ filters of $F \times F$ have $(F^2 + 1)K$ (3,200 for 64 of
#   7x7), independent of the image size.
# * A convolution assumes **locality** (small windows), **weight sharing** (the same filter
#   everywhere, hence **translation equivariance**: shift then convolve = convolve then
#   shift) and, when stacked, a **hierarchy** of features with growing receptive fields.
# * Convolution flips the kernel, cross-correlation does not; `torch`'s `conv2d` is a
#   cross-correlation, which does not matter for learned kernels.
# * Hand-designed filter banks (blur, sharpen, Sobel, Laplacian, Gabor) are one
#   convolutional layer with fixed weights; CNNs learn theirs by gradient descent, as the
#   100-step loop that recovered Sobel x does (given inputs that show every pattern).
# * Multi-channel: $H$ filters of $M \times N \times S$ map $X \times Y \times S$ to
#   $X \times Y \times H$ ('same' padding); weights have shape $(H, S, M, N)$.
# * Output size $\lfloor (N - F + 2P)/S \rfloor + 1$, with $F \to d(F - 1) + 1$ for dilation;
#   'same' padding is $(F - 1)/2$. Parameters $(F \cdot F \cdot D_1) \cdot K + K$.
# * Dilation and subsampling both grow the receptive field without new weights; dilation
#   keeps the resolution, a stride or pooling divides it (and the work) by $S$ per axis.
# * A 1x1 convolution is a fully connected layer at every pixel: channel mixing and
#   bottlenecks.
# * A convolution is a product with a sparse, doubly block Toeplitz matrix $T$; computed
#   with im2col; its backward pass multiplies by $T^\top$, a transposed (full) convolution.
# * Variants: spatially separable (rank-1 kernels), grouped, depthwise separable,
#   dilated, deformable, sparse.
#
# ## Further reading
#
# * I. Goodfellow, Y. Bengio, A. Courville. *Deep Learning*. MIT Press, 2016. Chapter 9
#   (convolutional networks).
# * V. Dumoulin, F. Visin. *A guide to convolution arithmetic for deep learning.*
#   arXiv:1603.07285, 2016.
# * A. Zhang, Z. C. Lipton, M. Li, A. J. Smola. *Dive into Deep Learning*. Cambridge
#   University Press, 2023. Chapter 7 (convolutional neural networks).
# * Y. LeCun, L. Bottou, Y. Bengio, P. Haffner. *Gradient-based learning applied to document
#   recognition.* Proceedings of the IEEE 86(11):2278–2324, 1998.
# * Y. LeCun, B. Boser, J. S. Denker, D. Henderson, R. E. Howard, W. Hubbard, L. D. Jackel.
#   *Backpropagation applied to handwritten zip code recognition.* Neural Computation
#   1(4):541–551, 1989.
# * K. Fukushima. *Neocognitron: a self-organizing neural network model for a mechanism of
#   pattern recognition unaffected by shift in position.* Biological Cybernetics
#   36(4):193–202, 1980.
# * D. H. Hubel, T. N. Wiesel. *Receptive fields, binocular interaction and functional
#   architecture in the cat's visual cortex.* The Journal of Physiology 160(1):106–154, 1962.
# * D. Gabor. *Theory of communication.* Journal of the Institution of Electrical Engineers
#   93(26):429–457, 1946.
# * J. G. Daugman. *Uncertainty relation for resolution in space, spatial frequency, and
#   orientation optimized by two-dimensional visual cortical filters.* Journal of the Optical
#   Society of America A 2(7):1160–1169, 1985.
# * M. D. Zeiler, R. Fergus. *Visualizing and understanding convolutional networks.* ECCV 2014.
# * T. Cohen, M. Welling. *Group equivariant convolutional networks.* ICML 2016.
# * K. Chellapilla, S. Puri, P. Simard. *High performance convolutional neural networks for
#   document processing.* Tenth International Workshop on Frontiers in Handwriting
#   Recognition, 2006 (convolution as a matrix product).
# * M. Lin, Q. Chen, S. Yan. *Network In Network.* ICLR 2014 (arXiv:1312.4400).
# * C. Szegedy, W. Liu, Y. Jia, P. Sermanet, S. Reed, D. Anguelov, D. Erhan, V. Vanhoucke,
#   A. Rabinovich. *Going deeper with convolutions.* CVPR 2015.
# * K. He, X. Zhang, S. Ren, J. Sun. *Deep residual learning for image recognition.* CVPR 2016.
# * F. Yu, V. Koltun. *Multi-scale context aggregation by dilated convolutions.* ICLR 2016
#   (arXiv:1511.07122).
# * A. van den Oord, S. Dieleman, H. Zen, K. Simonyan, O. Vinyals, A. Graves,
#   N. Kalchbrenner, A. Senior, K. Kavukcuoglu. *WaveNet: a generative model for raw audio.*
#   arXiv:1609.03499, 2016 (dilated causal convolutions).
# * A. Krizhevsky, I. Sutskever, G. E. Hinton. *ImageNet classification with deep
#   convolutional neural networks.* NeurIPS 2012.
# * S. Xie, R. Girshick, P. Dollár, Z. Tu, K. He. *Aggregated residual transformations for
#   deep neural networks.* CVPR 2017 (ResNeXt).
# * F. Chollet. *Xception: deep learning with depthwise separable convolutions.* CVPR 2017.
# * A. G. Howard, M. Zhu, B. Chen, D. Kalenichenko, W. Wang, T. Weyand, M. Andreetto,
#   H. Adam. *MobileNets: efficient convolutional neural networks for mobile vision
#   applications.* arXiv:1704.04861, 2017.
# * J. Dai, H. Qi, Y. Xiong, Y. Li, G. Zhang, H. Hu, Y. Wei. *Deformable convolutional
#   networks.* ICCV 2017.
# * B. Graham. *Spatially-sparse convolutional neural networks.* arXiv:1409.6070, 2014.
# * B. Graham, M. Engelcke, L. van der Maaten. *3D semantic segmentation with submanifold
#   sparse convolutional networks.* CVPR 2018.
