# %% [markdown]
# # Lecture 11 — Adversarial examples and robustness
#
# Lecture 10 used the gradient of a class score with respect to the **input** to look inside
# a network. The same gradient can be turned against the network: a change of each pixel so
# small that a person sees the same digit is enough to make a well-trained CNN answer with
# great confidence something else. Such inputs are **adversarial examples** (Szegedy et al.,
# 2014). This lecture builds them, measures how badly they hurt, checks whether they fool a
# second network that never saw them, and trains a network that resists them.
#
# **Learning goals.** After this lecture you can
# 1. turn an image into a "fooling image" of a chosen class by gradient ascent on the input;
# 2. explain with the linear argument why small $L_\infty$ changes move a score a lot;
# 3. write FGSM and PGD (sign step, projection onto the $\varepsilon$-ball around the original
#    image, clipping to valid pixels, random start, targeted and untargeted) and draw
#    accuracy-vs-$\varepsilon$ curves;
# 4. measure how well attacks **transfer** between two independently trained networks;
# 5. state robust optimization $\min_\theta \max_{\lVert\delta\rVert_\infty \le \varepsilon}
#    J(\theta, x + \delta, y)$, train a network with adversarial training (Madry et al.) and
#    measure its cost (time, clean accuracy) and its gain (robust accuracy); name TRADES.
#
# Everything runs on scikit-learn's handwritten digits at 16x16 pixels with small CNNs trained
# here in a few seconds, so that the whole notebook stays under a minute on a laptop CPU.

# %% setup

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course import adversarial, data, grading, plot

# %% [markdown]
# ## 1. Two small CNNs on digits
#
# Pixels are in $[0, 1]$ (0 is black). Two networks with **different architectures and
# different random initializations** are trained on the same training set; we will need the
# second one to test whether attacks transfer. The training loop is written out: `attack`
# is `None` for ordinary training, and in section 7 it will be an attack.

# %%
split = data.load_digits(image_size=16)
X_train, y_train = torch.from_numpy(split.X_train), torch.from_numpy(split.y_train)
X_test, y_test = torch.from_numpy(split.X_test), torch.from_numpy(split.y_test)
print(f"train {tuple(X_train.shape)}, test {tuple(X_test.shape)}, pixels in "
      f"[{X_train.min():.0f}, {X_train.max():.0f}]")


def cnn_a(seed=0):
    """conv 16 - pool - conv 32 - pool - linear: (N, 1, 16, 16) -> (N, 10)."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 4 * 4, 10),
    )


def cnn_b(seed=1):
    """A different design: one 5x5 conv with 24 maps, pool 4, a hidden layer of 64."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 24, 5, padding=2), nn.ReLU(), nn.MaxPool2d(4),
        nn.Flatten(), nn.Linear(24 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, 10),
    )


def train(model, num_epochs, attack=None, lr=3e-3, batch_size=64, seed=0):
    """Adam on mini-batches; with `attack`, every batch is replaced by attack(model, X, y).
    Returns the seconds per epoch."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    seconds = []
    for _ in range(num_epochs):
        start = time.perf_counter()
        order = torch.randperm(len(X_train), generator=gen)
        for i in range(0, len(X_train), batch_size):
            X, y = X_train[order[i:i + batch_size]], y_train[order[i:i + batch_size]]
            if attack is not None:
                X = attack(model, X, y)  # the inner maximization (section 7)
            model.train()
            optimizer.zero_grad()
            F.cross_entropy(model(X), y).backward()
            optimizer.step()
        seconds.append(time.perf_counter() - start)
    return float(np.mean(seconds))


def accuracy(model, X, y):
    model.eval()
    with torch.no_grad():
        return (model(X).argmax(1) == y).float().mean().item()


num_epochs = 8
net_a, net_b = cnn_a(), cnn_b()
sec_a = train(net_a, num_epochs)
sec_b = train(net_b, num_epochs, seed=1)
for name, net, sec in [("A", net_a, sec_a), ("B", net_b, sec_b)]:
    print(f"network {name}: test accuracy {accuracy(net, X_test, y_test):.3f}, "
          f"{sec:.2f} s per epoch")

# %% [markdown]
# ## 2. Fooling images
#
# Take a test digit the network gets right, pick a **target class** $t$, and change the
# image to raise the target's log-probability, a few small steps at a time, until the network
# predicts $t$. Each step moves every pixel by $\pm 0.005$ (the sign of the gradient, see
# section 4) and keeps the pixels in $[0, 1]$:
#
# $$x \leftarrow \operatorname{clip}_{[0, 1]}\big(x + 0.005 \operatorname{sign}\nabla_x
#   \log p_t(x)\big) \quad\text{until } \arg\max_k p_k(x) = t.$$

# %%
net_a.eval()


def fool(model, x, target, step=0.005, max_steps=500):
    """Ascend log p_target from x: (1, C, H, W) until the model predicts `target`.
    Returns the fooled image and the number of steps."""
    x_fool = x.clone()
    for k in range(max_steps):
        if model(x_fool).argmax(1).item() == target:
            return x_fool, k
        x_fool.requires_grad_(True)
        log_p = F.log_softmax(model(x_fool), dim=1)[0, target]
        (grad,) = torch.autograd.grad(log_p, x_fool)
        x_fool = (x_fool.detach() + step * grad.sign()).clamp(0, 1)
    return x_fool, max_steps


with torch.no_grad():
    right = (net_a(X_test).argmax(1) == y_test).nonzero().flatten()
source, target = int(right[(y_test[right] == 3).nonzero()[0]]), 8
x0 = X_test[source:source + 1]
x_fooled, n_steps = fool(net_a, x0, target)
delta = x_fooled - x0
with torch.no_grad():
    p_before, p_after = (F.softmax(net_a(z), dim=1)[0] for z in (x0, x_fooled))
print(f"a {y_test[source].item()} became a {target} after {n_steps} steps: "
      f"max |change| {delta.abs().max():.3f}, mean |change| {delta.abs().mean():.4f}, "
      f"p({target}) {p_before[target]:.3f} -> {p_after[target]:.3f}")

# %%
fig, axes = plt.subplots(1, 4, figsize=(13, 3.2), gridspec_kw={"width_ratios": [1, 1, 1, 1.6]})
plot.image(x0[0, 0], ax=axes[0], title=f"original: {y_test[source].item()} "
           f"(p = {p_before.max():.2f})", cmap="gray")
plot.image(x_fooled[0, 0], ax=axes[1], title=f"fooled: {target} (p = {p_after[target]:.2f})",
           cmap="gray")
bound = delta.abs().max().item()
im = axes[2].imshow(delta[0, 0], cmap="RdBu_r", vmin=-bound, vmax=bound)
axes[2].set_title(f"perturbation (max {bound:.3f})")
axes[2].axis("off")
fig.colorbar(im, ax=axes[2], fraction=0.046)
width = 0.4
axes[3].bar(np.arange(10) - width / 2, p_before, width, label="original")
axes[3].bar(np.arange(10) + width / 2, p_after, width, label="fooled")
axes[3].set_xticks(range(10))
axes[3].set_xlabel("class")
axes[3].set_ylabel("probability")
axes[3].legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# The two digits look alike (the fooled one has a slightly different grey level in places);
# the perturbation, drawn on its own colour scale, covers most of the digit with blocks of
# $\pm$ the printed maximum, a small fraction of the pixel range. The bar chart shows the
# probability mass moving from the true class to the target, which now wins by a small
# margin: the loop stops as soon as the prediction flips.
#
# ## 3. Why so small a change is enough: the linear argument
#
# Goodfellow et al. (2015) explain this with a linear score $s(x) = w^\top x$. Changing every
# pixel by at most $\varepsilon$ ($\lVert \eta \rVert_\infty \le \varepsilon$) changes the
# score by $w^\top \eta$, which is largest for $\eta = \varepsilon \operatorname{sign}(w)$:
#
# $$\max_{\lVert \eta \rVert_\infty \le \varepsilon} w^\top \eta
#   = \varepsilon \lVert w \rVert_1 = \varepsilon\, n\, \overline{|w_i|}.$$
#
# The change per pixel is fixed, but the effect grows with the number of pixels $n$: many
# tiny changes, each aligned with its weight, add up. A ReLU network is piecewise linear, so
# locally the same holds with $w = \nabla_x s(x)$. Below, the first-order prediction
# $\varepsilon \lVert \nabla_x \log p_t \rVert_1$ is compared with the real change of
# $\log p_t$ after one sign step of size $\varepsilon$ on our digit.

# %%
x_var = x0.clone().requires_grad_(True)
log_p_t = F.log_softmax(net_a(x_var), dim=1)[0, target]
(g,) = torch.autograd.grad(log_p_t, x_var)
for eps in (0.005, 0.02, 0.05):
    with torch.no_grad():
        moved = F.log_softmax(net_a((x0 + eps * g.sign()).clamp(0, 1)), dim=1)[0, target]
    print(f"eps {eps:5.3f}: predicted gain {eps * g.abs().sum():6.2f}, "
          f"real gain {moved - log_p_t.detach():6.2f}")
print(f"n = {x0.numel()} pixels, ||grad||_1 = {g.abs().sum():.1f}, "
      f"mean |grad| = {g.abs().mean():.3f}")

# %% [markdown]
# For small $\varepsilon$ the linear prediction is close; for larger steps it is off (clipping
# at 0 and 1 and the curvature of the network both matter), but the order of magnitude holds.

# %% [markdown]
# **Exercise 1.** A linear two-class classifier predicts class 1 when $w^\top x + b > 0$.
# How large must $\varepsilon$ be for an $L_\infty$ perturbation to flip the prediction of
# the point `x_lin` below (ignore the pixel range)? Give the smallest such $\varepsilon$ as a
# number (the check finds it by bisection with FGSM).

# %%
# exercise: smallest eps that flips a linear classifier
g_lin = torch.Generator().manual_seed(0)
w_lin, b_lin = torch.randn(20, generator=g_lin), torch.tensor(0.3)
x_lin = torch.rand(20, generator=g_lin)
two_class = nn.Linear(20, 2)  # scores (0, w.x + b): class 1 iff w.x + b > 0
with torch.no_grad():
    two_class.weight.copy_(torch.stack([torch.zeros(20), w_lin]))
    two_class.bias.copy_(torch.stack([torch.tensor(0.0), b_lin]))
label = (w_lin @ x_lin + b_lin > 0).long().view(1)

answer = None  # your code here: the smallest eps, from w_lin, b_lin, x_lin

low, high = 0.0, 1.0  # bisection on "does FGSM with this eps flip the prediction?"
for _ in range(40):
    mid = (low + high) / 2
    flipped = adversarial.fgsm(two_class, x_lin[None], label, mid, clip=None)
    low, high = (low, mid) if two_class(flipped).argmax(1).item() != label.item() else (mid, high)
grading.exercise("smallest flipping eps", answer, high, rtol=1e-4,
                 hint="the margin |w.x + b| divided by the largest change eps can make")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: smallest eps that flips a linear classifier
# g_lin = torch.Generator().manual_seed(0)
# w_lin, b_lin = torch.randn(20, generator=g_lin), torch.tensor(0.3)
# x_lin = torch.rand(20, generator=g_lin)
# two_class = nn.Linear(20, 2)  # scores (0, w.x + b): class 1 iff w.x + b > 0
# with torch.no_grad():
#     two_class.weight.copy_(torch.stack([torch.zeros(20), w_lin]))
#     two_class.bias.copy_(torch.stack([torch.tensor(0.0), b_lin]))
# label = (w_lin @ x_lin + b_lin > 0).long().view(1)
#
# answer = ((w_lin @ x_lin + b_lin).abs() / w_lin.abs().sum()).item()
#
# low, high = 0.0, 1.0  # bisection on "does FGSM with this eps flip the prediction?"
# for _ in range(40):
#     mid = (low + high) / 2
#     flipped = adversarial.fgsm(two_class, x_lin[None], label, mid, clip=None)
#     low, high = (low, mid) if two_class(flipped).argmax(1).item() != label.item() else (mid, high)
# grading.exercise("smallest flipping eps", answer, high, rtol=1e-4,
#                  hint="the margin |w.x + b| divided by the largest change eps can make")
# ```
#
# The score moves by at most $\varepsilon \lVert w \rVert_1$, so the prediction flips once
# $\varepsilon \lVert w \rVert_1$ exceeds the margin $|w^\top x + b|$.
# </details>
#
# ## 4. FGSM: one step in the worst direction
#
# The **fast gradient sign method** (Goodfellow et al., 2015) applies the linear argument to
# the loss $J$ (cross-entropy of the true label): one step of size $\varepsilon$ along the
# sign of the gradient, then back into the valid pixel range,
#
# $$x_{\text{adv}} = \operatorname{clip}_{[0,1]}\big(x + \varepsilon\,
#   \operatorname{sign}\nabla_x J(\theta, x, y)\big).$$
#
# A **targeted** attack descends the loss of a chosen target instead:
# $x - \varepsilon \operatorname{sign}\nabla_x J(\theta, x, t)$. Three details matter:
# the model runs in **eval mode** (dropout and batch norm must not change during the
# attack), the gradient is taken with respect to the image only (the weights are not
# touched), and the input is not modified in place.

# %%
def fgsm(model, x, y, eps, targeted=False):
    """x: (N, C, H, W) in [0, 1], y: (N,) labels (targets if targeted) -> x_adv like x."""
    was_training = model.training
    model.eval()
    x_var = x.clone().requires_grad_(True)
    loss = F.cross_entropy(model(x_var), y)
    (grad,) = torch.autograd.grad(loss, x_var)  # d loss / d image; weights untouched
    model.train(was_training)
    step = -eps if targeted else eps
    return (x + step * grad.sign()).clamp(0, 1)


x_fgsm = fgsm(net_a, X_test, y_test, 0.1)
assert torch.allclose(x_fgsm, adversarial.fgsm(net_a, X_test, y_test, 0.1))
print(f"FGSM eps 0.1: accuracy {accuracy(net_a, X_test, y_test):.3f} -> "
      f"{accuracy(net_a, x_fgsm, y_test):.3f}; max |x_adv - x| = "
      f"{(x_fgsm - X_test).abs().max():.3f}  (same result as course.adversarial.fgsm)")

# %%
with torch.no_grad():
    pred_fgsm = net_a(x_fgsm).argmax(1)
show = torch.arange(12)
plot.image_grid(torch.cat([X_test[show], x_fgsm[show]]).numpy()[:, 0],
                labels=torch.cat([y_test[show], y_test[show]]).numpy(),
                predictions=torch.cat([net_a(X_test[show]).argmax(1),
                                       pred_fgsm[show]]).detach().numpy(), ncols=12)
plt.suptitle("top: clean test digits; bottom: FGSM with eps = 0.1 (true -> predicted)")
plt.show()

# %% [markdown]
# At $\varepsilon = 0.1$ the digits are still easy to read (the perturbation shows as a
# light grey speckle on the black background), yet a large share of the predictions change.
#
# ## 5. PGD: many small steps, projected
#
# FGSM trusts the linear approximation for the whole step. **Projected gradient descent**
# (PGD; Kurakin et al., 2017; Madry et al., 2018) takes many steps of size
# $\alpha < \varepsilon$ and after each one **projects** back onto the allowed set
#
# $$S(x) = \{x' : \lVert x' - x \rVert_\infty \le \varepsilon,\ 0 \le x' \le 1\},$$
#
# a box, so the projection is a clip of every pixel to
# $[\max(x_i - \varepsilon, 0), \min(x_i + \varepsilon, 1)]$, always around the **original**
# image $x$ (projecting around the previous iterate would let the attack drift away by
# $\varepsilon$ at every step). Starting from a random point in $S(x)$ (the random start)
# avoids starting where the gradient is flat:
#
# $$x^{(0)} = \Pi_{S(x)}(x + U(-\varepsilon, \varepsilon)), \qquad
#   x^{(k+1)} = \Pi_{S(x)}\big(x^{(k)} + \alpha \operatorname{sign}\nabla_x J(\theta,
#   x^{(k)}, y)\big).$$

# %%
def project(x_adv, x, eps):
    """Nearest point of S(x): the eps-box around the ORIGINAL x, intersected with [0, 1]."""
    return torch.min(torch.max(x_adv, x - eps), x + eps).clamp(0, 1)


def pgd(model, x, y, eps, alpha, steps, generator=None, targeted=False):
    """L-inf PGD with random start drawn from `generator`. x: (N, C, H, W), y: (N,)."""
    was_training = model.training
    model.eval()
    noise = torch.rand(x.shape, generator=generator)
    x_adv = project(x + (2 * noise - 1) * eps, x, eps)  # random start in S(x)
    for _ in range(steps):
        x_var = x_adv.clone().requires_grad_(True)
        loss = F.cross_entropy(model(x_var), y)
        (grad,) = torch.autograd.grad(loss, x_var)  # a fresh gradient at every step
        x_adv = project(x_adv + (-alpha if targeted else alpha) * grad.sign(), x, eps)
    model.train(was_training)
    return x_adv


x_pgd = pgd(net_a, X_test, y_test, 0.1, 0.025, 10, torch.Generator().manual_seed(0))
reference = adversarial.pgd(net_a, X_test, y_test, 0.1, 0.025, 10,
                            generator=torch.Generator().manual_seed(0))
assert torch.allclose(x_pgd, reference, atol=1e-6)
print(f"PGD eps 0.1 (10 steps of 0.025): accuracy {accuracy(net_a, x_pgd, y_test):.3f}; "
      f"max |x_adv - x| = {(x_pgd - X_test).abs().max():.3f} (same as course.adversarial.pgd)")

# %% [markdown]
# **Exercise 2.** Project the three pixel values `x_try` onto $S(x)$ for the original
# pixels `x_orig` and $\varepsilon = 0.1$. Write the result as a tensor (by hand or with
# `torch.clamp`); the check uses `course.adversarial.project_linf`.

# %%
# exercise: projection onto the eps-ball and the pixel range
x_orig = torch.tensor([0.95, 0.50, 0.05])
x_try = torch.tensor([1.20, 0.30, 0.12])

answer = None  # your code here

grading.exercise("projection", answer, adversarial.project_linf(x_try, x_orig, 0.1),
                 hint="first clip to [x_orig - 0.1, x_orig + 0.1], then to [0, 1]")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: projection onto the eps-ball and the pixel range
# x_orig = torch.tensor([0.95, 0.50, 0.05])
# x_try = torch.tensor([1.20, 0.30, 0.12])
#
# answer = torch.clamp(torch.clamp(x_try, x_orig - 0.1, x_orig + 0.1), 0, 1)
#
# grading.exercise("projection", answer, adversarial.project_linf(x_try, x_orig, 0.1),
#                  hint="first clip to [x_orig - 0.1, x_orig + 0.1], then to [0, 1]")
# ```
#
# $1.20 \to 1.05 \to 1.00$ (the pixel range binds), $0.30 \to 0.40$ (the ball binds) and
# $0.12$ stays (inside both).
# </details>
#
# ## 6. Accuracy against $\varepsilon$
#
# One number per attack strength: the test accuracy on attacked images. PGD uses 10 steps of
# $\alpha = 2.5\varepsilon/10$ (so it can cross the ball and back); to keep the notebook fast
# the curves use the first 200 test digits.

# %%
eps_values = [0.0, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2]
X_eval, y_eval = X_test[:200], y_test[:200]


def curve(model, attack):
    accs = []
    for eps in eps_values:
        X_adv = X_eval if eps == 0 else attack(model, X_eval, y_eval, eps)
        accs.append(accuracy(model, X_adv, y_eval))
    return np.array(accs)


def fgsm_at(model, X, y, eps):
    return fgsm(model, X, y, eps)


def pgd_at(model, X, y, eps):
    return pgd(model, X, y, eps, 2.5 * eps / 10, 10, torch.Generator().manual_seed(0))


acc_fgsm_a, acc_pgd_a = curve(net_a, fgsm_at), curve(net_a, pgd_at)
fig, ax = plt.subplots(figsize=(6, 3.8))
ax.plot(eps_values, acc_fgsm_a, "o-", label="FGSM")
ax.plot(eps_values, acc_pgd_a, "s-", label="PGD, 10 steps")
ax.axhline(0.1, color="gray", ls=":", label="chance (10 classes)")
ax.set_xlabel(r"$\varepsilon$ ($L_\infty$, pixels in [0, 1])")
ax.set_ylabel("test accuracy under attack")
ax.set_title("network A, standard training")
ax.set_ylim(0, 1.02)
ax.legend()
plt.show()
for eps, a_f, a_p in zip(eps_values, acc_fgsm_a, acc_pgd_a, strict=True):
    print(f"eps {eps:5.3f}: FGSM {a_f:.3f}  PGD {a_p:.3f}")

# %% [markdown]
# Both curves fall from the clean accuracy to near zero by $\varepsilon = 0.15$ — 15 % of
# the pixel range. PGD is never weaker than FGSM here (its curve is at or below FGSM's):
# it searches the same ball more carefully. Evaluate robustness with the strongest attack
# you can afford; a defence that only beats FGSM proves little.
#
# ## 7. Transfer between networks
#
# An attacker who cannot see the gradients of a deployed network (a **black box**) can
# attack a network of their own and hope the images fool the other one too. We craft PGD
# images on network A and show them to network B (different architecture, initialization
# and training order). For comparison: random sign noise of the same size
# ($x + \varepsilon\, \sigma$ with $\sigma \in \{-1, +1\}$ per pixel).

# %%
transfer_eps = [0.05, 0.1, 0.15, 0.2]
rows = []
for eps in transfer_eps:
    x_adv_a = pgd_at(net_a, X_eval, y_eval, eps)
    signs = torch.randint(0, 2, X_eval.shape, generator=torch.Generator().manual_seed(1)) * 2 - 1
    x_noise = (X_eval + eps * signs).clamp(0, 1)
    rows.append((accuracy(net_a, x_adv_a, y_eval), accuracy(net_b, x_adv_a, y_eval),
                 accuracy(net_b, pgd_at(net_b, X_eval, y_eval, eps), y_eval),
                 accuracy(net_b, x_noise, y_eval)))
rows = np.array(rows)
print(f"clean accuracy: A {accuracy(net_a, X_eval, y_eval):.3f}, "
      f"B {accuracy(net_b, X_eval, y_eval):.3f}")
print("eps    A on A's PGD   B on A's PGD   B on B's PGD   B on sign noise")
for eps, row in zip(transfer_eps, rows, strict=True):
    print(f"{eps:4.2f}   " + "   ".join(f"{v:12.3f}" for v in row))

fig, ax = plt.subplots(figsize=(6, 3.8))
labels = ["A on A's PGD (white box)", "B on A's PGD (transfer)", "B on B's PGD (white box)",
          "B on random sign noise"]
for column, (name, marker) in enumerate(zip(labels, "os^x", strict=True)):
    ax.plot(transfer_eps, rows[:, column], marker + "-", label=name)
ax.set_xlabel(r"$\varepsilon$")
ax.set_ylabel("test accuracy")
ax.set_ylim(0, 1.02)
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# Read the table: network B loses far more accuracy on A's adversarial images than on random
# noise of the same size, although it never saw A's gradients — attacks **transfer**, less
# well than a white-box attack on B itself but far above chance. Papernot et al. (2016) and
# Liu et al. (2017) built black-box attacks on this. It also means that hiding a model's
# weights is no defence.
#
# **Exercise 3.** What fraction of the 200 digits that A's PGD at $\varepsilon = 0.1$ fools
# (A predicts wrong) also fools B? Compute it from `x_adv_01` below.

# %%
# exercise: transfer rate
x_adv_01 = pgd_at(net_a, X_eval, y_eval, 0.1)

answer = None  # your code here: a number in [0, 1]

with torch.no_grad():
    fools_a = net_a(x_adv_01).argmax(1) != y_eval
    fools_b = net_b(x_adv_01).argmax(1) != y_eval
grading.exercise("transfer rate", answer, (fools_a & fools_b).sum() / fools_a.sum(),
                 rtol=1e-5, hint="count images that fool both, divide by those that fool A")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: transfer rate
# x_adv_01 = pgd_at(net_a, X_eval, y_eval, 0.1)
#
# with torch.no_grad():
#     wrong_a = net_a(x_adv_01).argmax(1) != y_eval
#     wrong_b = net_b(x_adv_01).argmax(1) != y_eval
# answer = (wrong_a & wrong_b).float().sum().item() / wrong_a.float().sum().item()
#
# with torch.no_grad():
#     fools_a = net_a(x_adv_01).argmax(1) != y_eval
#     fools_b = net_b(x_adv_01).argmax(1) != y_eval
# grading.exercise("transfer rate", answer, (fools_a & fools_b).sum() / fools_a.sum(),
#                  rtol=1e-5, hint="count images that fool both, divide by those that fool A")
# ```
# </details>
#
# ## 8. Robust optimization
#
# Ordinary training minimizes the expected loss at the data points. Madry et al. (2018)
# write the goal of robustness as a **saddle-point problem**: minimize the expected loss at
# the *worst* point of each point's $\varepsilon$-ball,
#
# $$\min_\theta\ \mathbb{E}_{(x, y)}\Big[\max_{\lVert\delta\rVert_\infty \le \varepsilon}
#   J(\theta, x + \delta, y)\Big].$$
#
# The inner maximization is an attack; the outer minimization is training. Danskin's
# theorem says that the gradient of $\max_\delta J(\theta, x + \delta, y)$ with respect to
# $\theta$ is the gradient of $J$ at a maximizer $\delta^*$ (under conditions a neural
# network only roughly meets). PGD gives an approximate $\delta^*$, so one step of
# **adversarial training** is: attack the batch with PGD, then take an ordinary optimizer
# step on the attacked batch. Its price is plain: PGD with $k$ steps costs $k$ extra forward
# and backward passes per batch.
#
# **TRADES** (Zhang et al., 2019) splits the goal in two, a clean-accuracy term and a
# smoothness term that pulls the prediction on the attacked point towards the prediction on
# the clean one:
# $\min_\theta \mathbb{E}\big[J(\theta, x, y) + \beta \max_{\lVert\delta\rVert \le
# \varepsilon} \mathrm{KL}\big(p_\theta(x)\,\Vert\, p_\theta(x + \delta)\big)\big]$,
# where $\beta$ trades clean accuracy against robustness.
#
# ## 9. Adversarial training and its cost
#
# We train a copy of network A from the same initialization with PGD-3 ($\varepsilon = 0.1$,
# $\alpha = 0.05$, random start) as the inner maximization. The `train` loop of section 1
# already accepts the attack.

# %%
eps_train = 0.1
adv_gen = torch.Generator().manual_seed(2)


def pgd_train_attack(model, X, y):
    return pgd(model, X, y, eps_train, eps_train / 2, 3, adv_gen)


net_robust = cnn_a()
sec_robust = train(net_robust, num_epochs, attack=pgd_train_attack)
clean_std, clean_rob = accuracy(net_a, X_test, y_test), accuracy(net_robust, X_test, y_test)
print(f"standard training:    {sec_a:.2f} s per epoch, clean test accuracy {clean_std:.3f}")
print(f"adversarial training: {sec_robust:.2f} s per epoch "
      f"({sec_robust / sec_a:.1f}x), clean test accuracy {clean_rob:.3f}")

# %%
acc_pgd_r, acc_fgsm_r = curve(net_robust, pgd_at), curve(net_robust, fgsm_at)
fig, ax = plt.subplots(figsize=(6.5, 4))
ax.plot(eps_values, acc_pgd_a, "s-", color="C0", label="standard, PGD")
ax.plot(eps_values, acc_fgsm_a, "o--", color="C0", alpha=0.6, label="standard, FGSM")
ax.plot(eps_values, acc_pgd_r, "s-", color="C3", label="adversarially trained, PGD")
ax.plot(eps_values, acc_fgsm_r, "o--", color="C3", alpha=0.6,
        label="adversarially trained, FGSM")
ax.axvline(eps_train, color="gray", ls=":", label=r"training $\varepsilon$")
ax.set_xlabel(r"$\varepsilon$ ($L_\infty$)")
ax.set_ylabel("test accuracy under attack")
ax.set_ylim(0, 1.02)
ax.legend(fontsize=8)
plt.show()
for eps, a_s, a_r in zip(eps_values, acc_pgd_a, acc_pgd_r, strict=True):
    print(f"eps {eps:5.3f}: PGD accuracy standard {a_s:.3f}, adversarially trained {a_r:.3f}")

# %% [markdown]
# The adversarially trained network (red) keeps much more of its accuracy under attack up
# to around the $\varepsilon$ it was trained for, and loses it beyond: robustness is bought
# for one threat model, not in general. It pays twice, as the printed numbers show: an epoch
# costs several times as long (3 PGD steps add 3 forward and backward passes per batch), and
# clean accuracy is a little lower. Tsipras et al. (2019) argue that some of this trade-off
# between robustness and accuracy is unavoidable.
#
# **Exercise 4.** How many forward passes through the model does one batch of adversarial
# training with PGD-$k$ cost (the attack's passes plus the training pass)? Give the number
# for `k = 3`; the check counts them with a forward hook.

# %%
# exercise: forward passes per batch of PGD-k training
k = 3

answer = None  # your code here

calls = []
counter = cnn_a(5)
handle = counter.register_forward_hook(lambda module, inputs, output: calls.append(1))
adversarial.adversarial_training_step(
    counter, torch.optim.SGD(counter.parameters(), lr=0.01), X_train[:8], y_train[:8],
    lambda m, X, y: adversarial.pgd(m, X, y, 0.1, 0.05, k))
handle.remove()
grading.exercise("forward passes per batch", answer, len(calls),
                 hint="one per PGD step, plus the training step itself")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: forward passes per batch of PGD-k training
# k = 3
#
# answer = k + 1
#
# calls = []
# counter = cnn_a(5)
# handle = counter.register_forward_hook(lambda module, inputs, output: calls.append(1))
# adversarial.adversarial_training_step(
#     counter, torch.optim.SGD(counter.parameters(), lr=0.01), X_train[:8], y_train[:8],
#     lambda m, X, y: adversarial.pgd(m, X, y, 0.1, 0.05, k))
# handle.remove()
# grading.exercise("forward passes per batch", answer, len(calls),
#                  hint="one per PGD step, plus the training step itself")
# ```
#
# Each pass is followed by a backward pass, so PGD-$k$ training costs about $k + 1$ times
# ordinary training; the measured time ratio above is of that order.
# </details>
#
# ## 10. What the robust network looks at (optional)
#
# The input gradient of lecture 10 (the saliency map) looks noisy for a standard network.
# For an adversarially trained network it is known to look more like the object itself
# ("perceptually aligned gradients", Tsipras et al., 2019). The gradient of the true-class
# score with respect to the image, for both networks, on the same digits:

# %%
def score_gradient(model, X, y):
    model.eval()
    X = X.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(X).gather(1, y[:, None]).sum(), X)
    return grad[:, 0]


show = torch.arange(6)
grads = [score_gradient(m, X_test[show], y_test[show]) for m in (net_a, net_robust)]
fig, axes = plt.subplots(3, 6, figsize=(10, 5.2))
for j in range(6):
    plot.image(X_test[j, 0], ax=axes[0, j], title=f"digit {y_test[j].item()}", cmap="gray")
    for row, (grad, name) in enumerate(zip(grads, ["standard", "robust"], strict=True), 1):
        bound = grad[j].abs().max().item()
        axes[row, j].imshow(grad[j], cmap="RdBu_r", vmin=-bound, vmax=bound)
        axes[row, j].set_title(f"{name}", fontsize=9)
        axes[row, j].axis("off")
plt.suptitle("gradient of the true-class score w.r.t. the image (red +, blue -)")
plt.tight_layout()
plt.show()

# %% [markdown]
# Compare the rows yourself. At this small scale (16x16 digits, $\varepsilon = 0.1$, eight
# epochs) the difference is modest: both rows are blotchy, and only for some digits does the
# robust network's gradient follow the strokes more closely. The effect reported by Tsipras
# et al. is clear on larger images with longer adversarial training; try more epochs or a
# larger training $\varepsilon$ and look again.
#
# ## Check yourself
#
# 1. Why is FGSM's step $\varepsilon \operatorname{sign}(g)$ and not $\varepsilon g$?
#    <details><summary>Answer</summary>Under an $L_\infty$ budget every pixel may move by
#    $\varepsilon$; the linear gain $g^\top \eta$ is largest at $\eta = \varepsilon
#    \operatorname{sign}(g)$. $\varepsilon g$ would ignore the budget (too big where $|g| >
#    1$, wasted where $|g|$ is small). Under an $L_2$ budget the best step is
#    $\varepsilon g / \lVert g \rVert_2$ instead.</details>
# 2. PGD projects onto the ball around the original image. What goes wrong if it projects
#    around the previous iterate?
#    <details><summary>Answer</summary>Each step may then move $\varepsilon$ further: after
#    $k$ steps the image can be $k\varepsilon$ away from the original, so the attack no
#    longer respects its budget and its accuracy numbers mean nothing.</details>
# 3. Why must the model be in eval mode during an attack?
#    <details><summary>Answer</summary>In train mode dropout changes the function at every
#    call and batch norm uses (and updates) the statistics of the attacked batch: the
#    attack would target a different network from the one evaluated, and would change the
#    model's running statistics.</details>
# 4. A defence reports 90 % accuracy under FGSM at $\varepsilon = 0.1$. Is it robust?
#    <details><summary>Answer</summary>Not shown: FGSM is a weak, one-step attack. Evaluate
#    with PGD (many steps, random restarts) and ideally attacks designed for the defence;
#    a defence that hides or breaks gradients (gradient masking) beats FGSM but not
#    stronger or transferred attacks (Athalye et al., 2018).</details>
# 5. Why does adversarial training cost about $k + 1$ times as much as ordinary training?
#    <details><summary>Answer</summary>Every batch needs $k$ forward and backward passes
#    for the PGD attack plus one for the weight update.</details>
#
# ## Summary
#
# - Small, structured perturbations (here at most 0.1 of the pixel range) change the
#   predictions of an accurate CNN; in a linear model the effect grows with the number of
#   pixels, $\varepsilon \lVert w \rVert_1$.
# - FGSM takes one $\varepsilon$-sized sign step; PGD takes many small steps with a random
#   start and projects onto the $\varepsilon$-ball around the original image and the pixel
#   range. Evaluate with PGD: accuracy-vs-$\varepsilon$ curves, not one number.
# - Adversarial examples crafted on one network fool an independently trained one far more
#   often than random noise does (transfer), which enables black-box attacks.
# - Robust optimization $\min_\theta \mathbb{E} \max_{\lVert\delta\rVert_\infty \le
#   \varepsilon} J$ leads to adversarial training: robust up to the training $\varepsilon$,
#   at $k + 1$ times the cost and some clean accuracy. TRADES balances the two with a KL
#   term.
#
# ## Further reading
#
# - C. Szegedy, W. Zaremba, I. Sutskever, J. Bruna, D. Erhan, I. Goodfellow, R. Fergus (2014).
#   Intriguing properties of neural networks. ICLR.
# - I. Goodfellow, J. Shlens, C. Szegedy (2015). Explaining and harnessing adversarial
#   examples. ICLR.
# - A. Kurakin, I. Goodfellow, S. Bengio (2017). Adversarial examples in the physical world.
#   ICLR Workshop.
# - A. Madry, A. Makelov, L. Schmidt, D. Tsipras, A. Vladu (2018). Towards deep learning
#   models resistant to adversarial attacks. ICLR.
# - N. Papernot, P. McDaniel, I. Goodfellow (2016). Transferability in machine learning:
#   from phenomena to black-box attacks using adversarial samples. arXiv:1605.07277.
# - Y. Liu, X. Chen, C. Liu, D. Song (2017). Delving into transferable adversarial examples
#   and black-box attacks. ICLR.
# - H. Zhang, Y. Yu, J. Jiao, E. Xing, L. El Ghaoui, M. Jordan (2019). Theoretically
#   principled trade-off between robustness and accuracy (TRADES). ICML.
# - D. Tsipras, S. Santurkar, L. Engstrom, A. Turner, A. Madry (2019). Robustness may be at
#   odds with accuracy. ICLR.
# - A. Athalye, N. Carlini, D. Wagner (2018). Obfuscated gradients give a false sense of
#   security: circumventing defenses to adversarial examples. ICML.
