# %% [markdown]
# # Lecture 07 — Training deep networks: normalization, dropout, residual connections
#
# Lecture 06 stacked convolutions into ever deeper architectures: VGG has 19 weighted layers,
# ResNet-152 has 152. Depth alone does not make a network trainable. This lecture measures
# what goes wrong in a deep stack — gradients that vanish or explode from layer to layer — and
# builds the four tools that fixed it: a careful **initialization** (Xavier, He), **batch
# normalization**, **dropout** (a regularizer that has to know whether it is training), and
# **residual connections**. Everything is written out in cells you can edit and compared with
# PyTorch's own layers; the last experiment trains a plain and a residual network of the same
# depth, with and without batch norm, and shows the *degradation problem*.
#
# **Learning goals.** After this lecture you can
# 1. measure the gradient norm of every layer and explain why it shrinks or grows with depth;
# 2. derive Xavier and He initialization from the variance of a layer's output, and check
#    them numerically;
# 3. write batch normalization in training and evaluation mode exactly as `nn.BatchNorm2d`
#    computes it (running averages, momentum, biased vs unbiased variance);
# 4. write inverted dropout and say why `model.eval()` matters;
# 5. explain what a residual connection changes for the gradient, and read an experiment that
#    compares plain and residual networks.

# %% setup

# %%
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course import data, grading

# The networks of this lecture are tiny: on a CPU one thread runs them faster than two
# (less synchronisation). Remove this line for bigger models or on a GPU.
torch.set_num_threads(1)

# %% [markdown]
# ## 1. Vanishing and exploding gradients, layer by layer
#
# A deep network is a composition $h_\ell = \phi(W_\ell h_{\ell-1})$, $\ell = 1, \dots, L$.
# Backpropagation (lecture 03) multiplies the upstream gradient by one Jacobian per layer:
#
# $$\frac{\partial L}{\partial h_{\ell}} = \frac{\partial L}{\partial h_L}\,
#   \prod_{k=L}^{\ell+1} \operatorname{diag}\bigl(\phi'(W_k h_{k-1})\bigr)\, W_k .$$
#
# A product of $L - \ell$ factors behaves like a power: if each factor shrinks a vector by a
# typical factor $a < 1$ the gradient of the first layers is $a^{L}$ times smaller than that of
# the last (it **vanishes**), if $a > 1$ it **explodes**. The sigmoid's slope is at most
# $1/4$, so a sigmoid network with weights of moderate size vanishes fast.
#
# We measure it on scikit-learn's 8x8 digits (64 pixels, 10 classes): a stack of 20 fully
# connected layers of width 64, one batch of 256 digits, and the norm
# $\lVert \partial L / \partial z_\ell \rVert$ of the gradient with respect to each layer's
# output $z_\ell = W_\ell h_{\ell-1}$ (before the activation): the vector that backpropagation
# passes from layer to layer.

# %%
digits = data.load_digits(flatten=True)  # X: (N, 64) in [0, 1], y: (N,) labels 0-9
X_train, y_train = torch.from_numpy(digits.X_train), torch.from_numpy(digits.y_train)
X_test, y_test = torch.from_numpy(digits.X_test), torch.from_numpy(digits.y_test)
X_batch, y_batch = X_train[:256], y_train[:256]
print(f"train {tuple(X_train.shape)}, test {tuple(X_test.shape)}")


def make_mlp(depth, width, activation, init_std=None):
    """depth Linear layers of size width (64 inputs, 10 outputs) with `activation` between.
    init_std: draw weights from N(0, init_std^2) and set biases to 0; None keeps PyTorch's."""
    sizes = [64] + [width] * (depth - 1) + [10]
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        linear = nn.Linear(n_in, n_out)
        if init_std is not None:
            nn.init.normal_(linear.weight, std=init_std)
            nn.init.zeros_(linear.bias)
        layers += [linear, activation()]
    return nn.Sequential(*layers[:-1])  # no activation after the last layer


def output_gradient_norms(model, X, y):
    """Norm of dLoss/dz for the output z of every Linear layer of the nn.Sequential model,
    input side first."""
    outputs, h = [], X
    for layer in model:
        h = layer(h)
        if isinstance(layer, nn.Linear):
            h.retain_grad()  # keep the gradient of this intermediate tensor
            outputs.append(h)
    F.cross_entropy(h, y).backward()
    return [z.grad.norm().item() for z in outputs]


torch.manual_seed(0)
runs = {
    "sigmoid, PyTorch's default init": make_mlp(20, 64, nn.Sigmoid),
    "ReLU, weights N(0, 0.05²)": make_mlp(20, 64, nn.ReLU, init_std=0.05),
    "ReLU, weights N(0, 0.25²)": make_mlp(20, 64, nn.ReLU, init_std=0.25),
}
grad_norms = {name: output_gradient_norms(m, X_batch, y_batch) for name, m in runs.items()}
for name, norms in grad_norms.items():
    print(f"{name:34s} layer 1: {norms[0]:.1e}   layer 20: {norms[-1]:.1e}"
          f"   ratio {norms[0] / norms[-1]:.1e}")

fig, ax = plt.subplots(figsize=(7, 3.5))
for name, norms in grad_norms.items():
    ax.semilogy(range(1, 21), norms, "-o", ms=3, label=name)
ax.set_xlabel("layer (1 = next to the input)")
ax.set_ylabel("‖dL/dz‖ (log scale)")
ax.set_title("gradient norm per layer at initialization, 20-layer network")
ax.legend(fontsize=8)
ax.grid(alpha=0.3)
plt.show()

# %% [markdown]
# The three networks differ only in the activation and in the scale of the random weights,
# and the printed ratios between the first and the last layer span many orders of magnitude:
# with sigmoids and with small ReLU weights the gradient shrinks at every layer on its way
# back, so the first layers receive almost none (they would barely move in training); with
# weights five times larger it **grows** toward the input. The slope of each curve is the
# typical per-layer factor $a$ of the product above. The next section chooses the weight
# scale so that $a \approx 1$.
#
# **Exercise.** The sigmoid's slope is $\sigma'(z) = \sigma(z)(1 - \sigma(z))$. Through how
# many sigmoid layers can a gradient pass, at the very best (every unit at $z = 0$, weights
# that do not shrink it), before it is $10^{-6}$ times smaller? Compute $\sigma'(0)$ with
# autograd and the number of layers.

# %%
# exercise: sigmoid layers until 1e-6
slope_at_0 = None  # your code here: sigma'(0) from torch.autograd
layers_until_1e6 = None  # your code here: smallest n with slope_at_0 ** n <= 1e-6
z0 = torch.zeros(1, requires_grad=True)
torch.sigmoid(z0).backward()
grading.exercise("sigma'(0)", slope_at_0, z0.grad.item(), hint="sigma(0) = 1/2")
grading.exercise("number of layers", layers_until_1e6,
                 math.ceil(math.log(1e-6) / math.log(z0.grad.item())),
                 hint="solve (1/4)^n <= 1e-6 for the smallest integer n")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: sigmoid layers until 1e-6
# z = torch.zeros(1, requires_grad=True)
# torch.sigmoid(z).backward()
# slope_at_0 = z.grad.item()  # 0.25
# layers_until_1e6 = math.ceil(math.log(1e-6) / math.log(slope_at_0))  # 10
# z0 = torch.zeros(1, requires_grad=True)
# torch.sigmoid(z0).backward()
# grading.exercise("sigma'(0)", slope_at_0, z0.grad.item(), hint="sigma(0) = 1/2")
# grading.exercise("number of layers", layers_until_1e6,
#                  math.ceil(math.log(1e-6) / math.log(z0.grad.item())),
#                  hint="solve (1/4)^n <= 1e-6 for the smallest integer n")
# ```
# Ten layers: $0.25^{10} \approx 9.5 \cdot 10^{-7}$.
# </details>
#
# ## 2. Initialization from the variance argument: Xavier and He
#
# Take one unit of a layer, $z = \sum_{j=1}^{n_{in}} w_j x_j$, with weights drawn
# independently with mean 0 and variance $\operatorname{Var}[w]$, independent of the inputs.
# Then
#
# $$\operatorname{Var}[z] = n_{in}\, \operatorname{Var}[w]\; \mathbb{E}[x^2].$$
#
# - **Xavier / Glorot** (2010), for activations that are roughly linear around 0 (tanh):
#   $x$ has mean 0, so $\mathbb{E}[x^2] = \operatorname{Var}[x]$, and the variance is kept when
#   $n_{in} \operatorname{Var}[w] = 1$. The same argument for the backward pass asks for
#   $n_{out} \operatorname{Var}[w] = 1$; the compromise is
#   $\operatorname{Var}[w] = 2 / (n_{in} + n_{out})$.
# - **He / Kaiming** (2015), for ReLU: if $z$ is symmetric around 0, ReLU keeps half of its
#   second moment, $\mathbb{E}[\operatorname{relu}(z)^2] = \tfrac12 \operatorname{Var}[z]$.
#   The next layer's $\operatorname{Var}[z']$ equals $\operatorname{Var}[z]$ when
#   $\operatorname{Var}[w] = 2 / n_{in}$ — twice Xavier's, to make up for the half that ReLU
#   sets to zero.
#
# PyTorch's `nn.Linear` and `nn.Conv2d` draw, by default, from
# $U(-1/\sqrt{n_{in}}, 1/\sqrt{n_{in}})$, a variance of $1 / (3 n_{in})$: six times smaller
# than He's. For a convolution $n_{in}$ = in-channels × kernel height × kernel width.
#
# The check: push 1,000 standard-normal inputs through 50 layers of width 256 and print the
# variance of the pre-activations $z_\ell$ at every layer, for each initialization.

# %%
# check: L07 activation variance through a deep stack
def preactivation_variances(init, activation, depth=50, width=256, n=1000, seed=0):
    """Variance of z_l = W_l h_{l-1} at every layer l of a stack of `depth` square layers.
    init(n_in, n_out) returns the standard deviation of the weights."""
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(n, width, generator=g)
    variances = []
    for _ in range(depth):
        W = torch.randn(width, width, generator=g) * init(width, width)
        z = h @ W.T
        variances.append(z.var().item())
        h = activation(z)
    return np.array(variances)


inits = {
    "N(0, 0.01²)": lambda n_in, n_out: 0.01,
    "PyTorch default U(±1/√n)": lambda n_in, n_out: 1 / math.sqrt(3 * n_in),
    "Xavier": lambda n_in, n_out: math.sqrt(2 / (n_in + n_out)),
    "He": lambda n_in, n_out: math.sqrt(2 / n_in),
}

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
for ax, (act_name, act) in zip(axes, [("tanh", torch.tanh), ("ReLU", torch.relu)], strict=True):
    for name, init in inits.items():
        v = preactivation_variances(init, act)
        ax.semilogy(range(1, 51), v, label=name)
        print(f"{act_name:5s} {name:26s} Var[z] at layer 1: {v[0]:.2e}, at layer 50: {v[-1]:.2e}")
    ax.set_title(f"{act_name} network, width 256")
    ax.set_xlabel("layer")
    ax.grid(alpha=0.3)
axes[0].set_ylabel("variance of the pre-activations")
axes[1].legend(fontsize=8)
plt.show()

# %%
# PyTorch's initializers implement the same formulas:
w_he = nn.init.kaiming_normal_(torch.empty(256, 256), nonlinearity="relu")
w_xavier = nn.init.xavier_normal_(torch.empty(256, 256))
print(f"std of nn.init.kaiming_normal_: {w_he.std():.4f} (formula √(2/256) = "
      f"{math.sqrt(2 / 256):.4f}); xavier_normal_: {w_xavier.std():.4f} (√(2/512) = "
      f"{math.sqrt(2 / 512):.4f})")
print(f"gain for tanh: {nn.init.calculate_gain('tanh'):.4f}, for ReLU: "
      f"{nn.init.calculate_gain('relu'):.4f} (= √2)")
print(f"nn.Linear(256, 256) default: std {nn.Linear(256, 256).weight.std():.4f} "
      f"(1/√(3·256) = {1 / math.sqrt(3 * 256):.4f})")

# %% [markdown]
# Each curve is the variance argument played out: with He initialization the ReLU stack keeps
# its variance for 50 layers, while Xavier halves it at every ReLU layer and PyTorch's default
# divides it by six (a straight line on the log scale); $N(0, 0.01^2)$ kills the signal at
# once (its curve ends where the variance underflows to exactly 0 in float32). With tanh the picture is subtler: tanh's slope is 1 only at 0 and smaller elsewhere,
# so with Xavier each layer loses a little and the variance decays slowly (the printed value
# at layer 50), while He's larger weights keep it at a steady level. For tanh a gain a bit
# above 1 is right; PyTorch recommends $5/3$ (`nn.init.calculate_gain("tanh")`, printed
# below). Initialization fixes the *start*; training changes the weights, and nothing keeps
# the statistics in place afterwards. That is what batch normalization does.
#
# **Exercise.** A convolution `nn.Conv2d(64, 128, kernel_size=3)` is followed by a ReLU. What
# standard deviation does He initialization give its weights? (Hint: what is $n_{in}$ for a
# convolution?)

# %%
# exercise: He std of a convolution
he_std = None  # your code here
conv_weight = nn.init.kaiming_normal_(torch.empty(128, 64, 3, 3), nonlinearity="relu")
grading.exercise("He standard deviation", he_std, conv_weight.std().item(), rtol=0.02,
                 hint="n_in = in_channels x kernel height x kernel width")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: He std of a convolution
# he_std = math.sqrt(2 / (64 * 3 * 3))  # ≈ 0.0589
# conv_weight = nn.init.kaiming_normal_(torch.empty(128, 64, 3, 3), nonlinearity="relu")
# grading.exercise("He standard deviation", he_std, conv_weight.std().item(), rtol=0.02,
#                  hint="n_in = in_channels x kernel height x kernel width")
# ```
# Each output value sums over 64 channels × 9 positions: $n_{in} = 576$.
# </details>
#
# ## 3. Batch normalization
#
# Ioffe and Szegedy (2015) normalize the pre-activations of every channel with the statistics
# of the current mini-batch, then let the network rescale them. For a channel with the $m$
# values $x_1, \dots, x_m$ of a batch (for a convolution: all images *and* all positions,
# $m = N \cdot H \cdot W$):
#
# $$\mu = \frac1m \sum_i x_i, \qquad \sigma^2 = \frac1m \sum_i (x_i - \mu)^2, \qquad
#   \hat x_i = \frac{x_i - \mu}{\sqrt{\sigma^2 + \varepsilon}}, \qquad
#   y_i = \gamma\, \hat x_i + \beta .$$
#
# $\gamma$ and $\beta$ are learned per channel (they can undo the normalization if that is
# best); $\varepsilon = 10^{-5}$ protects against a zero variance. At test time the output for
# one image must not depend on the rest of the batch, so during training the layer keeps
# running averages, which PyTorch updates with `momentum` $m = 0.1$ as
#
# $$r_\mu \leftarrow (1 - m)\, r_\mu + m\, \mu, \qquad
#   r_{\sigma^2} \leftarrow (1 - m)\, r_{\sigma^2} + m\, \tfrac{n}{n - 1}\, \sigma^2 ,$$
#
# ($n$ values per channel): the **running** variance is the unbiased estimate, while the
# normalization itself uses the biased one. (PyTorch's momentum is the weight of the *new*
# statistic — the opposite of the momentum of lecture 02's optimizers.) In evaluation mode
# (`model.eval()`) the layer uses $r_\mu$, $r_{\sigma^2}$ and changes nothing. Here it is for
# `(N, C, H, W)` input, next to `nn.BatchNorm2d`.

# %%
# check: L07 batch norm as nn.BatchNorm2d
def batchnorm2d(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    """Batch norm of x: (N, C, H, W); gamma, beta, running_*: (C,).
    Returns (y, new_running_mean, new_running_var)."""
    if training:
        mean = x.mean(dim=(0, 2, 3))  # (C,): over images and positions
        var = x.var(dim=(0, 2, 3), unbiased=False)  # (C,): biased, for normalizing
        n = x.numel() // x.shape[1]  # values per channel
        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var = (1 - momentum) * running_var + momentum * var * n / (n - 1)
    else:
        mean, var = running_mean, running_var
    x_hat = (x - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + eps)
    return gamma[None, :, None, None] * x_hat + beta[None, :, None, None], running_mean, running_var


torch.manual_seed(0)
bn = nn.BatchNorm2d(3)
with torch.no_grad():  # non-trivial gamma and beta, as after some training
    bn.weight.copy_(torch.tensor([1.0, 2.0, 0.5]))
    bn.bias.copy_(torch.tensor([0.0, -1.0, 3.0]))
gamma, beta = bn.weight.detach(), bn.bias.detach()
r_mean, r_var = torch.zeros(3), torch.ones(3)
for step in range(3):  # three training batches of 4 images 5x5, mean 2 and std 3
    x = 2 + 3 * torch.randn(4, 3, 5, 5)
    ours, r_mean, r_var = batchnorm2d(x, gamma, beta, r_mean, r_var, training=True)
    theirs = bn(x)  # a module in training mode (the default) updates its buffers
    print(f"train step {step}: max |ours - nn.BatchNorm2d| = {(ours - theirs).abs().max():.1e}")
    assert torch.allclose(ours, theirs, atol=1e-5)
assert torch.allclose(r_mean, bn.running_mean) and torch.allclose(r_var, bn.running_var)
print("running mean", r_mean.numpy().round(3), "| running var", r_var.numpy().round(3))
bn.eval()
x_test = 2 + 3 * torch.randn(2, 3, 5, 5)
ours_eval = batchnorm2d(x_test, gamma, beta, r_mean, r_var, training=False)[0]
print(f"eval mode: max |ours - nn.BatchNorm2d| = {(ours_eval - bn(x_test)).abs().max():.1e}")
assert torch.allclose(ours_eval, bn(x_test), atol=1e-5)
biased = x.var(dim=(0, 2, 3), unbiased=False)
print(f"last batch, channel 0: biased variance {biased[0]:.4f}, unbiased "
      f"{x.var(dim=(0, 2, 3))[0]:.4f} (factor n/(n-1) = 100/99)")

# %% [markdown]
# Our function and `nn.BatchNorm2d` agree to rounding in both modes, and so do the running
# statistics after three steps. After only three updates with $m = 0.1$ the running mean is
# still far from the true mean 2 ($1 - 0.9^3 = 27\%$ of the way): a network must train for a
# while before its evaluation mode is trustworthy.
#
# Backward. In training mode $\mu$ and $\sigma^2$ depend on every $x_i$, so the gradient has
# three paths; collecting them gives (per channel, $g_i = \partial L / \partial y_i$)
#
# $$\frac{\partial L}{\partial x_i} = \frac{\gamma}{\sqrt{\sigma^2 + \varepsilon}}
#   \Bigl(g_i - \frac1m \sum_j g_j - \hat x_i\, \frac1m \sum_j g_j \hat x_j\Bigr),$$
#
# which lab 06 asks you to implement and check against autograd. The two subtracted terms make
# the gradient orthogonal to shifting and scaling the channel: the layer's output does not
# change when all its inputs move together.
#
# **Exercise.** A `nn.BatchNorm1d(1)` (running mean 0, running variance 1, momentum 0.1) sees
# one training batch `[1., 2., 3., 6.]`. What are its running mean and running variance
# afterwards? Work it out by hand, then let the module check you.

# %%
# exercise: running statistics after one batch
new_running_mean = None  # your code here
new_running_var = None  # your code here
bn1 = nn.BatchNorm1d(1)
bn1(torch.tensor([[1.0], [2.0], [3.0], [6.0]]))
grading.exercise("running mean", new_running_mean, bn1.running_mean.item(),
                 hint="(1 - 0.1) * 0 + 0.1 * batch mean")
grading.exercise("running variance", new_running_var, bn1.running_var.item(),
                 hint="(1 - 0.1) * 1 + 0.1 * the UNBIASED variance (divide by n - 1 = 3)")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: running statistics after one batch
# batch = torch.tensor([1.0, 2.0, 3.0, 6.0])  # mean 3, squared deviations 4 + 1 + 0 + 9 = 14
# new_running_mean = 0.9 * 0.0 + 0.1 * batch.mean().item()  # 0.3
# new_running_var = 0.9 * 1.0 + 0.1 * (14 / 3)  # 1.3667
# bn1 = nn.BatchNorm1d(1)
# bn1(torch.tensor([[1.0], [2.0], [3.0], [6.0]]))
# grading.exercise("running mean", new_running_mean, bn1.running_mean.item(),
#                  hint="(1 - 0.1) * 0 + 0.1 * batch mean")
# grading.exercise("running variance", new_running_var, bn1.running_var.item(),
#                  hint="(1 - 0.1) * 1 + 0.1 * the UNBIASED variance (divide by n - 1 = 3)")
# ```
# </details>
#
# ## 4. Why batch norm helps
#
# Ioffe and Szegedy argued that normalization reduces the *internal covariate shift* (each
# layer's input distribution changing as the layers before it learn); Santurkar et al. (2018)
# showed that the shift is not the point — batch norm makes the loss smoother, so larger
# steps are safe. What is easy to see is the practical effect: the output of a BN layer does
# not depend on the scale of the weights before it ($\mathrm{BN}(a W x) = \mathrm{BN}(W x)$
# for $a > 0$, up to $\varepsilon$), so a badly scaled initialization or a large learning rate
# does much less harm. A quick test: a 10-layer ReLU network trained for two epochs with SGD
# at three learning rates and three initial weight scales ($\times$ He's standard deviation),
# without and with batch norm after every hidden layer.

# %%
def make_bn_mlp(depth, width, batch_norm, init_scale):
    """A ReLU MLP with He-initialized weights times init_scale, optional BatchNorm1d."""
    sizes = [64] + [width] * (depth - 1) + [10]
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        linear = nn.Linear(n_in, n_out)
        nn.init.normal_(linear.weight, std=init_scale * math.sqrt(2 / n_in))
        nn.init.zeros_(linear.bias)
        layers.append(linear)
        if i < depth - 1:
            layers += [nn.BatchNorm1d(n_out)] if batch_norm else []
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def train_sgd(model, num_epochs, lr, batch_size=64, seed=0):
    """Plain mini-batch SGD with momentum 0.9 on the digits; the training loss per epoch
    (mean over the epoch's mini-batches; nan once the loss is not finite)."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    generator = torch.Generator().manual_seed(seed)
    epoch_losses = []
    model.train()
    for _ in range(num_epochs):
        order = torch.randperm(len(X_train), generator=generator)
        total = 0.0
        for start in range(0, len(X_train), batch_size):
            idx = order[start : start + batch_size]
            loss = F.cross_entropy(model(X_train[idx]), y_train[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        epoch_losses.append(total / len(X_train))
        if not math.isfinite(epoch_losses[-1]):
            epoch_losses[-1] = float("nan")
            break
    return epoch_losses


lrs, scales = [0.003, 0.03, 0.3], [0.3, 1.0, 3.0]
sensitivity = {}
for batch_norm in (False, True):
    grid = np.zeros((len(scales), len(lrs)))
    for i, scale in enumerate(scales):
        for j, lr in enumerate(lrs):
            torch.manual_seed(0)
            grid[i, j] = train_sgd(make_bn_mlp(10, 64, batch_norm, scale), 2, lr)[-1]
    sensitivity[batch_norm] = grid

fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
for ax, batch_norm in zip(axes, (False, True), strict=True):
    grid = np.nan_to_num(sensitivity[batch_norm], nan=99.0)  # diverged runs: 99
    ax.imshow(np.minimum(grid, 2.5), cmap="viridis_r", vmin=0, vmax=2.5)
    for (i, j), value in np.ndenumerate(grid):
        text = "diverged" if value >= 99 else f"{value:.2f}"
        ax.text(j, i, text, ha="center", va="center", color="w" if value > 1.2 else "k")
    ax.set_xticks(range(len(lrs)), [str(lr) for lr in lrs])
    ax.set_yticks(range(len(scales)), [f"{s} × He" for s in scales])
    ax.set_xlabel("learning rate")
    ax.set_title(("with" if batch_norm else "without") + " batch norm", fontsize=10)
axes[0].set_ylabel("initial weight scale")
fig.suptitle("training loss after 2 epochs, 10-layer ReLU network (chance level: ln 10 = 2.30)",
             fontsize=10)
plt.tight_layout()
plt.show()
for batch_norm in (False, True):
    grid = sensitivity[batch_norm]
    ok = np.nan_to_num(grid, nan=99.0) < 0.5
    print(f"{'with' if batch_norm else 'without'} batch norm: {ok.sum()} of {ok.size} "
          f"settings reach a training loss below 0.5; worst {np.nanmax(grid):.2f}, "
          f"diverged {int(np.isnan(grid).sum())}")

# %% [markdown]
# Without batch norm, one setting of the nine gets anywhere in two epochs: with small weights
# the loss stays at chance level, with three times He's scale training diverges at every
# learning rate. With batch norm every setting learns and none diverges; at the two larger
# learning rates the initial scale matters little, and only the smallest learning rate is
# slow. Two epochs are a short test; the point is the *range* of settings that work.
#
# **Check yourself.** Why may the linear or convolution layer in front of a batch norm drop
# its bias (`bias=False`)?
#
# <details><summary>Answer</summary>
#
# Batch norm subtracts the channel mean, so a constant added before it cancels exactly; its
# own $\beta$ plays the role of the bias.
# </details>
#
# ## 5. Dropout
#
# Dropout (Srivastava et al., 2014) sets each unit to zero with probability $p$ during
# training, independently for every example and every step, so no unit can rely on a
# particular other unit being there. At test time all units are kept. To keep the expected
# input of the next layer the same in both modes, **inverted dropout** scales the kept units
# by $1/(1-p)$ during training (the original paper instead multiplied the weights by the keep
# probability $1-p$ at test time):
#
# $$\text{train: } y = \frac{m \odot x}{1 - p},\ \ m_i \sim \text{Bernoulli}(1 - p);
# \qquad \text{test: } y = x, \qquad \mathbb{E}[y] = x \text{ in both}.$$

# %%
# check: L07 inverted dropout
def dropout(x, p, training, generator=None):
    """Inverted dropout of x (any shape) with drop probability p."""
    if not training or p == 0:
        return x
    keep = torch.rand(x.shape, generator=generator) >= p  # True with probability 1 - p
    return x * keep / (1 - p)


x = torch.ones(100_000)
g = torch.Generator().manual_seed(0)
ours = dropout(x, 0.3, training=True, generator=g)
theirs = F.dropout(x, p=0.3, training=True)
for name, y in (("ours", ours), ("F.dropout", theirs)):
    print(f"{name:9s}: values {sorted(set(y.unique().tolist()))}, "
          f"dropped {(y == 0).float().mean():.4f}, mean {y.mean():.4f}")
layer = nn.Dropout(p=0.3)
layer.eval()
print("nn.Dropout in eval mode returns its input unchanged:", torch.equal(layer(x), x),
      "| ours:", torch.equal(dropout(x, 0.3, training=False), x))

# %% [markdown]
# Both keep about 70% of the units, scale them to $1/0.7 \approx 1.4286$, and keep the mean at
# 1; in evaluation mode both are the identity. Forgetting `model.eval()` before testing
# therefore makes predictions random (and, with batch norm, dependent on the test batch);
# forgetting `model.train()` afterwards silently switches dropout off in training.
#
# **Exercise.** Apply `F.dropout` with $p = 0.2$ to a tensor of ones in training mode. What is
# the largest value of the output?

# %%
# exercise: scale of inverted dropout
kept_value = None  # your code here (a number)
grading.exercise("value of a kept unit", kept_value,
                 F.dropout(torch.ones(1000), p=0.2, training=True).max().item(),
                 hint="kept units are divided by the keep probability 1 - p")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: scale of inverted dropout
# kept_value = 1 / (1 - 0.2)  # 1.25
# grading.exercise("value of a kept unit", kept_value,
#                  F.dropout(torch.ones(1000), p=0.2, training=True).max().item(),
#                  hint="kept units are divided by the keep probability 1 - p")
# ```
# </details>
#
# ## 6. Residual connections
#
# He et al. (2016) noticed something stranger than vanishing gradients: with batch norm and
# He initialization, very deep *plain* networks do train, yet a 56-layer network reached a
# **higher training error** than a 20-layer one. Overfitting cannot explain a higher *training*
# error, and the deeper network could in principle copy the shallow one and set its extra
# layers to the identity. They called it the **degradation problem**: the optimizer does not
# find such solutions. Their fix makes the identity the default. A block learns a *residual*
# $F(x)$ and adds its input back:
#
# $$h_{\ell+1} = \operatorname{ReLU}\bigl(h_\ell + F(h_\ell)\bigr), \qquad
#   F(h) = \operatorname{BN}(W_2\, \operatorname{ReLU}(\operatorname{BN}(W_1 h))).$$
#
# For the gradient, the sum gives a second path: $\partial (h + F(h)) / \partial h = I +
# \partial F / \partial h$, so the product of section 1 becomes a product of $(I + \dots)$
# factors, and the gradient of the last layer reaches the first without passing through every
# weight matrix. When the shape of $h$ changes (more channels, stride 2) the shortcut becomes a
# projection, a 1x1 convolution with batch norm (lab 06 builds that block for images).
#
# **The experiment.** To run in seconds we use fully connected blocks on the 8x8 digits:
# a stem layer (64 → 64), $B = 12$ blocks of two layers each, and a linear head: 26 weighted
# layers. Four configurations — plain or residual, without or with batch norm — have the same
# layers and the same initial weights (PyTorch's default initialization, seed 0); the only
# difference is the `+ x` and the BN layers. A fifth network, plain with batch norm and only 2
# blocks (6 layers), is the shallow reference. All train for 6 epochs with SGD, learning rate
# 0.05, momentum 0.9, batch 64.

# %%
class Block(nn.Module):
    """Two linear layers of size `width`, optional batch norm, optional identity shortcut:
    x: (N, width) -> (N, width)."""

    def __init__(self, width, residual, batch_norm):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(width, width), nn.Linear(width, width)
        self.bn1 = nn.BatchNorm1d(width) if batch_norm else nn.Identity()
        self.bn2 = nn.BatchNorm1d(width) if batch_norm else nn.Identity()
        self.residual = residual

    def forward(self, x):
        h = F.relu(self.bn1(self.fc1(x)))
        h = self.bn2(self.fc2(h))
        return F.relu(h + x) if self.residual else F.relu(h)  # the residual connection


class DeepNet(nn.Module):
    """stem (64 -> width), num_blocks Blocks, head (width -> 10): x: (N, 64) -> (N, 10)."""

    def __init__(self, num_blocks, residual, batch_norm, width=64):
        super().__init__()
        self.stem = nn.Linear(64, width)
        self.blocks = nn.Sequential(
            *[Block(width, residual, batch_norm) for _ in range(num_blocks)]
        )
        self.head = nn.Linear(width, 10)

    def forward(self, x):
        return self.head(self.blocks(F.relu(self.stem(x))))


def layer_gradient_norms(model, X, y):
    """Norm of dLoss/dW for every weight matrix of model (stem first, head last)."""
    model.zero_grad()
    F.cross_entropy(model(X), y).backward()
    return [p.grad.norm().item() for p in model.parameters() if p.dim() >= 2]


num_blocks, num_epochs, lr = 12, 6, 0.05
configs = {  # name: (blocks, residual, batch norm)
    "plain": (num_blocks, False, False),
    "residual": (num_blocks, True, False),
    "plain + BN": (num_blocks, False, True),
    "residual + BN": (num_blocks, True, True),
    "plain + BN, 2 blocks": (2, False, True),
}
init_norms, curves, test_acc = {}, {}, {}
start = time.perf_counter()
for name, (blocks, residual, batch_norm) in configs.items():
    torch.manual_seed(0)
    model = DeepNet(blocks, residual, batch_norm)
    print(f"{name}: {sum(p.dim() >= 2 for p in model.parameters())} weighted layers", end="")
    init_norms[name] = layer_gradient_norms(model, X_batch, y_batch)
    curves[name] = train_sgd(model, num_epochs, lr)
    model.eval()
    with torch.no_grad():
        test_acc[name] = (model(X_test).argmax(1) == y_test).float().mean().item()
    print(f", final training loss {curves[name][-1]:.3f}, test accuracy {test_acc[name]:.3f}")
print(f"five networks trained in {time.perf_counter() - start:.1f} s")

# %%
styles = {"plain": ("tab:red", "-"), "residual": ("tab:blue", "-"),
          "plain + BN": ("tab:orange", "-"), "residual + BN": ("tab:green", "-"),
          "plain + BN, 2 blocks": ("gray", "--")}
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
for name, norms in init_norms.items():
    colour, line = styles[name]
    axes[0].semilogy(range(1, len(norms) + 1), norms, line, marker="o", ms=2.5, color=colour,
                     label=name)
    axes[1].plot(range(1, num_epochs + 1), curves[name], line, marker="o", ms=3, color=colour,
                 label=f"{name} (test acc. {test_acc[name]:.2f})")
axes[0].set_xlabel("layer (1 = stem, last = head)")
axes[0].set_ylabel("‖dL/dW‖ at initialization")
axes[0].set_title("gradient norm per layer before training", fontsize=10)
axes[1].axhline(math.log(10), color="k", lw=0.8, ls=":")
axes[1].text(num_epochs, math.log(10), "chance", va="bottom", ha="right", fontsize=8)
axes[1].set_xlabel("epoch")
axes[1].set_ylabel("training loss (mean over the epoch)")
axes[1].set_title(f"training curves, {2 * num_blocks + 2} layers (dashed: 6 layers)",
                  fontsize=10)
for ax in axes:
    ax.grid(alpha=0.3)
axes[1].legend(fontsize=8, loc="upper right", bbox_to_anchor=(1, 0.95))
plt.tight_layout()
plt.show()
ratio = {name: norms[0] / norms[-1] for name, norms in init_norms.items()}
print("gradient norm of the stem / of the head at initialization:",
      ", ".join(f"{name} {r:.1e}" for name, r in ratio.items()))

# %% [markdown]
# What the figure shows (the printed numbers above are the ones to quote):
#
# - **Left.** In the plain network without batch norm the gradient shrinks by a roughly
#   constant factor per layer (PyTorch's default initialization divides the variance by six
#   per ReLU layer, section 2), so the stem gets many orders of magnitude less than the head.
#   The residual network keeps the gradient at a similar size in every layer: the identity path
#   carries it past every block. With batch norm the plain network's gradients do not vanish —
#   they *grow* toward the input, and the stem gets about a hundred times the head's gradient
#   (a known effect of batch norm in deep plain networks, analysed by Yang et al., 2019); with
#   residual connections and batch norm the profile is flat again.
# - **Right.** The plain network without batch norm does not learn at all: its loss stays at
#   chance level, $\ln 10$. Adding batch norm makes it train, but slowly. The residual networks
#   train fastest, with or without batch norm. And the **degradation problem** is there in
#   plain sight: the 26-layer plain network with batch norm ends with a *higher training loss*
#   than the 6-layer plain network with batch norm (dashed), although it is a superset of it —
#   its gradients do not vanish, it is simply harder to optimize. With residual connections
#   the 26-layer networks come close to the shallow one after six epochs and are far ahead of
#   their plain twins, in training loss and in test accuracy.
#
# Caveats: one seed, six epochs, fully connected blocks on a small data set — the same pattern
# as in the ResNet paper's convolutional experiments on CIFAR-10 and ImageNet, but not a proof;
# rerun with another seed or more epochs to see how stable it is.
#
# **Exercise.** For a single residual unit without the final ReLU, $y = x + w\,x$ (a scalar
# $w$), the derivative $dy/dx = 1 + w$. Stack 20 such units with $w = -0.1$ each, and 20 plain
# units $y = w\,x$ with $w = 0.5$: what is $dy/dx$ of each stack? Compute both with autograd.

# %%
# exercise: gradient through 20 residual and 20 plain units
residual_grad = None  # your code here: autograd through x -> x + (-0.1) x, 20 times
plain_grad = None  # your code here: autograd through x -> 0.5 x, 20 times
grading.exercise("residual stack dy/dx", residual_grad, (1 - 0.1) ** 20,
                 hint="each unit multiplies the gradient by 1 + w")
grading.exercise("plain stack dy/dx", plain_grad, 0.5**20,
                 hint="each unit multiplies the gradient by w")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: gradient through 20 residual and 20 plain units
# x = torch.tensor(1.0, requires_grad=True)
# y = x
# for _ in range(20):
#     y = y + (-0.1) * y
# y.backward()
# residual_grad = x.grad.item()  # 0.9^20 ≈ 0.12
# x = torch.tensor(1.0, requires_grad=True)
# y = x
# for _ in range(20):
#     y = 0.5 * y
# y.backward()
# plain_grad = x.grad.item()  # 0.5^20 ≈ 9.5e-7
# grading.exercise("residual stack dy/dx", residual_grad, (1 - 0.1) ** 20,
#                  hint="each unit multiplies the gradient by 1 + w")
# grading.exercise("plain stack dy/dx", plain_grad, 0.5**20,
#                  hint="each unit multiplies the gradient by w")
# ```
# A residual unit only has to learn a small correction, and small corrections keep the
# gradient close to 1 per unit; a plain unit has to carry the whole signal.
# </details>
#
# ## 7. Highway networks
#
# A few months before ResNet, Srivastava, Greff and Schmidhuber (2015) trained networks of a
# hundred layers with **highway** layers, $y = T(x) \odot H(x) + (1 - T(x)) \odot x$, where
# $H$ is an ordinary layer and the *transform gate* $T(x) = \sigma(W_T x + b_T)$ is learned
# per unit: with $T \approx 0$ the layer passes its input through unchanged (a negative gate
# bias at initialization makes that the default), with $T \approx 1$ it is a plain layer. A
# residual block is the special case with both gates open, $y = x + F(x)$, without the gate's
# extra parameters; the ResNet paper argued that an always-open shortcut, which can never
# close, is what lets depth keep helping.
#
# ## Summary
#
# - Gradients are products of one Jacobian per layer; they vanish or explode with depth unless
#   each factor is close to 1. Measuring $\lVert \partial L / \partial W_\ell \rVert$ per layer
#   shows which it is.
# - Keep the variance constant from layer to layer: $\operatorname{Var}[w] = 2/(n_{in} +
#   n_{out})$ (Xavier, tanh) or $2/n_{in}$ (He, ReLU), with $n_{in}$ = in-channels × kernel
#   area for convolutions.
# - Batch norm normalizes every channel with the batch mean and biased variance
#   ($\varepsilon$ inside the square root), then scales by $\gamma$ and shifts by $\beta$; it
#   keeps running averages ($r \leftarrow (1 - m) r + m \cdot \text{stat}$, $m = 0.1$,
#   unbiased variance) for evaluation mode. It makes training far less sensitive to the
#   learning rate and the initial scale.
# - Inverted dropout zeroes units with probability $p$ and divides the rest by $1 - p$ in
#   training, and is the identity in evaluation mode: call `model.eval()` and `model.train()`.
# - Residual connections give the gradient an identity path; deep plain networks suffer from
#   degradation (higher *training* loss than shallower ones), residual networks do not.
#
# ## Further reading
#
# - X. Glorot, Y. Bengio. *Understanding the difficulty of training deep feedforward neural
#   networks.* AISTATS 2010.
# - K. He, X. Zhang, S. Ren, J. Sun. *Delving deep into rectifiers: surpassing human-level
#   performance on ImageNet classification.* ICCV 2015 (He initialization).
# - S. Ioffe, C. Szegedy. *Batch normalization: accelerating deep network training by reducing
#   internal covariate shift.* ICML 2015.
# - S. Santurkar, D. Tsipras, A. Ilyas, A. Mądry. *How does batch normalization help
#   optimization?* NeurIPS 2018.
# - N. Srivastava, G. Hinton, A. Krizhevsky, I. Sutskever, R. Salakhutdinov. *Dropout: a simple
#   way to prevent neural networks from overfitting.* Journal of Machine Learning Research
#   15:1929–1958, 2014.
# - G. Yang, J. Pennington, V. Rao, J. Sohl-Dickstein, S. S. Schoenholz. *A mean field theory
#   of batch normalization.* ICLR 2019.
# - K. He, X. Zhang, S. Ren, J. Sun. *Deep residual learning for image recognition.* CVPR 2016.
# - K. He, X. Zhang, S. Ren, J. Sun. *Identity mappings in deep residual networks.* ECCV 2016.
# - R. K. Srivastava, K. Greff, J. Schmidhuber. *Training very deep networks.* NeurIPS 2015
#   (highway networks; also arXiv:1505.00387, *Highway networks*).
# - A. Zhang, Z. C. Lipton, M. Li, A. J. Smola. *Dive into Deep Learning*, chapters on batch
#   normalization and ResNet. Cambridge University Press, 2023.
