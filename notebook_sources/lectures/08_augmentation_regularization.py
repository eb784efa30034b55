# %% [markdown]
# # Lecture 08 — Data augmentation and regularization
#
# A network with more than 100,000 parameters and 100 labelled examples can learn the
# training set by heart: its training accuracy reaches 100 % while its test accuracy stays
# well below. This lecture is about the tools that push the two closer together. Some change
# the **objective** (a penalty on large weights), some change the **network** (dropout, from
# lecture 07), and some change the **data**: augmentation shows the network transformed
# copies of its images, and so teaches it which changes do not matter.
#
# **Learning goals.** After this lecture you can
# 1. state what regularization is, and write the general form loss + λ R(f);
# 2. solve L2-regularized least squares in closed form and by gradient descent, and explain
#    why an L2 penalty and weight decay are the same for SGD but not for Adam (hence AdamW);
# 3. build invariances with `torchvision.transforms.v2` (crop and zoom, flips, colour,
#    rotation, translation, shear), and recognise a transform that changes the label or
#    destroys the example;
# 4. say what augmentation costs (stored copies vs on the fly), and measure test-time
#    augmentation;
# 5. run a controlled experiment — nothing, weight decay, dropout, augmentation, all
#    together — and read its learning curves honestly, with several seeds.

# %% setup

# %%
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import Ridge
from torch import nn
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from course import data, grading

torch.set_num_threads(1)  # tiny networks: one thread is faster than two competing ones
lecture_start = time.perf_counter()

# %% [markdown]
# ## 1. Overfitting with little data
#
# We take scikit-learn's 1,797 handwritten digits at 16x16 pixels and keep the labels of
# only **10 digits per class**: 100 training images. All the other digits are the test set.
# The network is a small multilayer perceptron (256 → 256 → 256 → 10) with optional dropout
# after each hidden layer.

# %%
split = data.load_digits(image_size=16)
X_all = torch.from_numpy(np.concatenate([split.X_train, split.X_test]))
y_all = torch.from_numpy(np.concatenate([split.y_train, split.y_test]))
per_class = 10
pick = np.random.default_rng(0)
train_idx = np.concatenate([pick.choice(np.flatnonzero(y_all.numpy() == k), per_class,
                                        replace=False) for k in range(10)])
test_mask = np.ones(len(y_all), dtype=bool)
test_mask[train_idx] = False
X_train, y_train = X_all[train_idx], y_all[train_idx]
X_test, y_test = X_all[test_mask], y_all[test_mask]
print(f"train {tuple(X_train.shape)}, test {tuple(X_test.shape)}")


def make_mlp(p_drop=0.0):
    """A 256-256-256-10 perceptron for 16x16 images, dropout p_drop after each hidden layer."""
    return nn.Sequential(nn.Flatten(), nn.Linear(256, 256), nn.ReLU(), nn.Dropout(p_drop),
                         nn.Linear(256, 256), nn.ReLU(), nn.Dropout(p_drop),
                         nn.Linear(256, 10))


print(f"{sum(p.numel() for p in make_mlp().parameters()):,} parameters for "
      f"{len(X_train)} labelled images")

# %% [markdown]
# The training loop is written out: it is the object of this lecture. Each regularizer is
# one switch. `weight_decay` goes to the optimizer for the weight matrices only (section 3
# says why and how), `p_drop` to the network, and `augment` is a function applied to every
# mini-batch before the forward pass (section 6 writes it). Every `eval_every` epochs the
# loop measures accuracy on the whole training set and on the test set, in evaluation mode
# (no dropout, no augmentation).

# %%
def accuracy(model, X, y):
    model.eval()
    with torch.no_grad():
        return (model(X).argmax(1) == y).double().mean().item()


def train_model(weight_decay=0.0, p_drop=0.0, augment=None, seed=0, num_epochs=120,
                batch_size=50, lr=0.05, eval_every=10):
    """Train make_mlp(p_drop) on (X_train, y_train) with SGD + momentum; return the model
    and its curves {"epoch", "train", "test"} (accuracies)."""
    torch.manual_seed(seed)
    model = make_mlp(p_drop)
    decay = [p for p in model.parameters() if p.ndim >= 2]  # weight matrices
    no_decay = [p for p in model.parameters() if p.ndim < 2]  # biases
    optimizer = torch.optim.SGD([{"params": decay, "weight_decay": weight_decay},
                                 {"params": no_decay, "weight_decay": 0.0}],
                                lr=lr, momentum=0.9)
    generator = torch.Generator().manual_seed(seed)  # shuffling and augmentation
    curves = {"epoch": [], "train": [], "test": []}
    for epoch in range(1, num_epochs + 1):
        model.train()
        order = torch.randperm(len(X_train), generator=generator)
        for start in range(0, len(X_train), batch_size):
            batch = order[start:start + batch_size]
            X, y = X_train[batch], y_train[batch]
            if augment is not None:
                X = augment(X, generator)  # fresh random copies, every step
            loss = F.cross_entropy(model(X), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if epoch % eval_every == 0:
            curves["epoch"].append(epoch)
            curves["train"].append(accuracy(model, X_train, y_train))
            curves["test"].append(accuracy(model, X_test, y_test))
    return model, curves


tic = time.perf_counter()
plain_model, plain = train_model()
print(f"no regularization ({time.perf_counter() - tic:.1f} s): train accuracy "
      f"{plain['train'][-1]:.3f}, test accuracy {plain['test'][-1]:.3f}")
first_perfect = next(e for e, a in zip(plain["epoch"], plain["train"], strict=True) if a == 1.0)
print(f"train accuracy 1.0 from epoch {first_perfect} on: "
      f"{all(a == 1.0 for e, a in zip(plain['epoch'], plain['train'], strict=True) if e >= first_perfect)}")
fig, ax = plt.subplots(figsize=(6, 3.2))
ax.plot(plain["epoch"], plain["train"], "-o", ms=3, label="train")
ax.plot(plain["epoch"], plain["test"], "--s", ms=3, label="test")
ax.set_xlabel("epoch")
ax.set_ylabel("accuracy")
ax.set_title(f"{per_class} labelled digits per class, no regularization")
ax.grid(alpha=0.3)
ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# The training accuracy reaches 1.0 early (the epoch is printed) and stays there, while the
# test accuracy levels off well below: from then on the training set has nothing left to
# teach, as far as accuracy goes: the gap between the two curves is the
# **generalization gap**. More labels are the best cure (section 5 trains the same network on
# all 1,438 training digits of the standard split and prints its held-out accuracy);
# regularization is what we do when we cannot get more labels.
#
# ## 2. What regularization is
#
# Goodfellow, Bengio and Courville (2016, section 5.2.2) define regularization broadly: any
# change to a learning algorithm that aims to lower its **generalization** (test) error, not
# its training error. A penalty on the weights, dropout, augmentation, early stopping and
# parameter sharing in convolutions all qualify. Many of them take the general form
#
# $$\min_f \; \frac{1}{n}\sum_{i=1}^{n} \ell\big(f(x_i), y_i\big) + \lambda\, R(f),$$
#
# a data term plus $\lambda \ge 0$ times a **regularizer** $R$ that prefers "simple"
# functions: $R(f) = \tfrac12\lVert w \rVert^2$ (L2, weight decay), $\lVert w \rVert_1$ (L1,
# sparse weights), or a smoothness penalty. $\lambda$ trades fit for simplicity and is chosen
# on validation data. Dropout and augmentation are not written as a penalty, but act like
# one: they make the training task harder in a way we believe the test data will not mind.
#
# ## 3. L2 regularization and weight decay
#
# ### Ridge regression: a closed form
#
# For least squares with the convention
# $L(w) = \frac{1}{2n}\lVert Xw - y \rVert^2 + \frac{\lambda}{2}\lVert w \rVert^2$, the
# gradient is $\nabla L = \frac1n X^\top (Xw - y) + \lambda w$, and setting it to zero gives
#
# $$w^\star = \big(X^\top X + n\lambda I\big)^{-1} X^\top y.$$
#
# The $n\lambda I$ makes the matrix invertible even when $X^\top X$ is not (more features
# than examples). scikit-learn's `Ridge(alpha=...)` minimises
# $\lVert Xw - y \rVert^2 + \alpha\lVert w \rVert^2$, the same problem with $\alpha = n\lambda$: an
# independent check of our formula.

# %%
X_lin, y_lin = data.make_linear(n=30, d=8, noise=0.5, seed=1)
n, d = X_lin.shape
lam = 0.5
w_closed = np.linalg.solve(X_lin.T @ X_lin + n * lam * np.eye(d), X_lin.T @ y_lin)
w_sklearn = Ridge(alpha=n * lam, fit_intercept=False).fit(X_lin, y_lin).coef_
w_plain = np.linalg.lstsq(X_lin, y_lin, rcond=None)[0]
print(f"closed form vs scikit-learn: max difference {np.abs(w_closed - w_sklearn).max():.1e}")
print(f"||w|| without penalty {np.linalg.norm(w_plain):.3f}, with lambda = {lam}: "
      f"{np.linalg.norm(w_closed):.3f}")

# %% [markdown]
# ### Gradient descent: the penalty *is* a decay
#
# One gradient step on the penalised loss, with learning rate $\eta$, is
#
# $$w \leftarrow w - \eta\Big(\tfrac1n X^\top(Xw - y) + \lambda w\Big)
#   = \underbrace{(1 - \eta\lambda)\, w}_{\text{decay}} - \eta\,\tfrac1n X^\top (Xw - y):$$
#
# every step first shrinks the weights by the factor $1 - \eta\lambda$, then follows the
# gradient of the data term. Hence the name **weight decay**. Run long enough, it converges
# to the closed form:

# %%
w = np.zeros(d)
eta = 0.1
distance = []
for _ in range(300):
    grad_data = X_lin.T @ (X_lin @ w - y_lin) / n
    w = (1 - eta * lam) * w - eta * grad_data  # decay, then the data gradient
    distance.append(np.linalg.norm(w - w_closed))
print(f"after 300 steps: ||w - w_closed|| = {distance[-1]:.1e}")
fig, ax = plt.subplots(figsize=(5, 3))
ax.semilogy(distance)
ax.set_xlabel("gradient step")
ax.set_ylabel(r"$\|w - w^\star\|$")
ax.set_title("gradient descent with weight decay → ridge solution")
ax.grid(alpha=0.3)
plt.show()

# %% [markdown]
# ### In PyTorch: SGD yes, Adam no, hence AdamW
#
# `torch.optim.SGD(..., weight_decay=λ)` adds $\lambda w$ to the gradient: for SGD that is
# exactly the gradient of $\frac{\lambda}{2}\lVert w\rVert^2$, so "L2 penalty in the loss"
# and "weight decay in the optimizer" are one and the same. For **Adam** they differ:
# `Adam(weight_decay=λ)` also adds $\lambda w$ to the gradient, and then divides it by
# $\sqrt{\hat v} + \epsilon$ like the rest of the gradient — weights with large gradients are
# barely decayed. Loshchilov and Hutter (2019) proposed to **decouple** the decay from the
# adaptive step (AdamW):
#
# $$w \leftarrow w - \eta\Big(\frac{\hat m}{\sqrt{\hat v} + \epsilon} + \lambda w\Big),$$
#
# where $\hat m, \hat v$ come from the gradient of the data loss alone. The cell takes the
# same steps four ways and compares.

# %%
def run_optimizer(make_optimizer, penalty=0.0, steps=5):
    """A few steps on a fixed least-squares problem; returns the final weights."""
    torch.manual_seed(0)
    X = torch.randn(20, 4, dtype=torch.float64)
    y = X @ torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=torch.float64)
    w = torch.randn(4, dtype=torch.float64, requires_grad=True)
    optimizer = make_optimizer([w])
    for _ in range(steps):
        loss = 0.5 * ((X @ w - y) ** 2).mean() + penalty / 2 * (w ** 2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return w.detach()


lam, lr = 0.1, 0.05
sgd_penalty = run_optimizer(lambda p: torch.optim.SGD(p, lr=lr), penalty=lam)
sgd_decay = run_optimizer(lambda p: torch.optim.SGD(p, lr=lr, weight_decay=lam))
adam_penalty = run_optimizer(lambda p: torch.optim.Adam(p, lr=lr), penalty=lam)
adam_decay = run_optimizer(lambda p: torch.optim.Adam(p, lr=lr, weight_decay=lam))
adamw = run_optimizer(lambda p: torch.optim.AdamW(p, lr=lr, weight_decay=lam))
print(f"SGD: penalty vs weight_decay, max difference {(sgd_penalty - sgd_decay).abs().max():.1e}")
print(f"Adam: penalty vs weight_decay, max difference {(adam_penalty - adam_decay).abs().max():.1e}")
print(f"Adam with L2 vs AdamW (decoupled): max difference {(adam_decay - adamw).abs().max():.1e}")

# %% [markdown]
# For SGD the two are equal to rounding; `Adam(weight_decay=λ)` is just an L2 penalty in
# disguise; AdamW is a different algorithm. The decoupled update is short enough to write by
# hand, and one exercise below asks you to.
#
# **Which parameters to decay.** The loop of section 1 decays only the weight matrices
# (parameters with 2 or more dimensions). A bias shifts a unit's threshold and does not make
# the function more wiggly, and the scale and shift of a batch-norm layer (lecture 07)
# interact with the normalisation; decaying them brings little and can hurt, so common
# practice (and lab 07) leaves them alone, with two parameter groups as above.
#
# ### Exercise
#
# **Exercise 1.** Compute the ridge solution for `X_ex, y_ex` with $\lambda = 2$ in the
# convention of this section ($\frac{1}{2n}\lVert Xw - y\rVert^2 + \frac{\lambda}{2}\lVert
# w\rVert^2$). The check compares with scikit-learn.

# %%
# exercise: ridge closed form
X_ex, y_ex = data.make_linear(n=12, d=5, noise=1.0, seed=3)
lam_ex = 2.0
w_ridge = None  # your code here: a NumPy array of shape (5,)
grading.exercise("the ridge solution", w_ridge,
                 Ridge(alpha=len(X_ex) * lam_ex, fit_intercept=False).fit(X_ex, y_ex).coef_,
                 rtol=1e-6, hint="solve (X^T X + n lam I) w = X^T y; n is the number of rows")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: ridge closed form
# X_ex, y_ex = data.make_linear(n=12, d=5, noise=1.0, seed=3)
# lam_ex = 2.0
# n_ex, d_ex = X_ex.shape
# w_ridge = np.linalg.solve(X_ex.T @ X_ex + n_ex * lam_ex * np.eye(d_ex), X_ex.T @ y_ex)
# grading.exercise("the ridge solution", w_ridge,
#                  Ridge(alpha=len(X_ex) * lam_ex, fit_intercept=False).fit(X_ex, y_ex).coef_,
#                  rtol=1e-6, hint="solve (X^T X + n lam I) w = X^T y; n is the number of rows")
# ```
# </details>
#
# **Exercise 2.** Write one AdamW step by hand for a weight `w_a` with gradient `g_a`, at
# step $t = 1$ (so $m = (1-\beta_1) g$, $v = (1-\beta_2) g^2$, $\hat m = m / (1 - \beta_1)$,
# $\hat v = v / (1 - \beta_2)$). PyTorch's AdamW applies the decay as
# $w \leftarrow w (1 - \eta\lambda)$ before the Adam step. The check runs `torch.optim.AdamW`.

# %%
# exercise: one AdamW step
w_a = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
g_a = torch.tensor([0.3, 0.1, -4.0], dtype=torch.float64)
lr_a, lam_a, beta1, beta2, eps = 0.1, 0.5, 0.9, 0.999, 1e-8
w_after = None  # your code here: w_a after one AdamW step
reference = w_a.clone().requires_grad_(True)
reference.grad = g_a.clone()
torch.optim.AdamW([reference], lr=lr_a, betas=(beta1, beta2), eps=eps,
                  weight_decay=lam_a).step()
grading.exercise("one AdamW step", w_after, reference.detach(), rtol=1e-9,
                 hint="w * (1 - lr * lam) - lr * m_hat / (sqrt(v_hat) + eps)")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: one AdamW step
# w_a = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
# g_a = torch.tensor([0.3, 0.1, -4.0], dtype=torch.float64)
# lr_a, lam_a, beta1, beta2, eps = 0.1, 0.5, 0.9, 0.999, 1e-8
# m_hat = (1 - beta1) * g_a / (1 - beta1)
# v_hat = (1 - beta2) * g_a ** 2 / (1 - beta2)
# w_after = w_a * (1 - lr_a * lam_a) - lr_a * m_hat / (v_hat.sqrt() + eps)
# reference = w_a.clone().requires_grad_(True)
# reference.grad = g_a.clone()
# torch.optim.AdamW([reference], lr=lr_a, betas=(beta1, beta2), eps=eps,
#                   weight_decay=lam_a).step()
# grading.exercise("one AdamW step", w_after, reference.detach(), rtol=1e-9,
#                  hint="w * (1 - lr * lam) - lr * m_hat / (sqrt(v_hat) + eps)")
# ```
# At $t = 1$, $\hat m / \sqrt{\hat v} = g / |g| = \pm 1$: the first Adam step moves every
# weight by about $\eta$, whatever the size of its gradient.
# </details>
#
# ## 4. Augmentation builds invariances
#
# A classifier of photos should give the same answer for a photo and the same photo a bit
# shifted, zoomed, mirrored or darker. We can hope that the network learns this from data,
# or we can **show** it: train on randomly transformed copies, each with the original label.
# The label is kept, so we are telling the network "these changes do not matter" — an
# invariance built from data rather than from architecture (convolution and pooling build
# translation in by design, lecture 05).
#
# `torchvision.transforms.v2` works directly on tensors `(C, H, W)` or batches
# `(N, C, H, W)` with values in $[0, 1]$. Below, each transform runs on the course photo
# (matplotlib's sample image) and on a digit.

# %%
photo = torch.from_numpy(data.load_photo(size=(96, 96))).permute(2, 0, 1).float()  # (3, 96, 96)
digit = X_test[(y_test == 4).nonzero()[0, 0]]  # (1, 16, 16)
transforms = {
    "original": v2.Identity(),
    "crop and zoom": v2.RandomResizedCrop(size=(96, 96), scale=(0.4, 0.7), antialias=True),
    "horizontal flip": v2.RandomHorizontalFlip(p=1.0),
    "brightness/contrast": v2.ColorJitter(brightness=0.6, contrast=0.6),
    "rotation ±30°": v2.RandomRotation(degrees=30),
    "translation": v2.RandomAffine(degrees=0, translate=(0.2, 0.2)),
    "shear": v2.RandomAffine(degrees=0, shear=(-25, 25)),
}
torch.manual_seed(3)  # the v2 transforms draw from torch's global generator
fig, axes = plt.subplots(2, len(transforms), figsize=(2 * len(transforms), 4.4))
for j, (name, transform) in enumerate(transforms.items()):
    axes[0, j].imshow(transform(photo).permute(1, 2, 0).clamp(0, 1).numpy())
    axes[0, j].set_title(name, fontsize=9)
    small = transform if "crop" not in name else v2.RandomResizedCrop((16, 16), scale=(0.5, 0.8),
                                                                     antialias=True)
    axes[1, j].imshow(small(digit)[0].numpy(), cmap="gray", vmin=0, vmax=1)
    for ax in axes[:, j]:
        ax.set_xticks([])
        ax.set_yticks([])
plt.tight_layout()
plt.show()

# %% [markdown]
# Every column keeps what a person would call "the same picture": Grace Hopper shifted,
# zoomed, mirrored or darker is still Grace Hopper. The digit row already warns us: a
# mirrored 4 is not a 4 anyone writes.
#
# ## 5. When a transform changes the label or destroys the example
#
# Augmentation is only right if the label survives. Rotate a 6 by 180 degrees and it becomes
# a 9. We train the same perceptron on **all** 1,438 training digits of scikit-learn's split
# (15 epochs of Adam, a few seconds), then show it the held-out 6s upside down.

# %%
tic = time.perf_counter()
torch.manual_seed(0)
full_model = make_mlp()
X_full, y_full = torch.from_numpy(split.X_train), torch.from_numpy(split.y_train)
X_held, y_held = torch.from_numpy(split.X_test), torch.from_numpy(split.y_test)
full_optimizer = torch.optim.Adam(full_model.parameters(), lr=1e-3)
for _ in range(15):
    full_model.train()
    for batch in torch.randperm(len(X_full)).split(64):
        loss = F.cross_entropy(full_model(X_full[batch]), y_full[batch])
        full_optimizer.zero_grad()
        loss.backward()
        full_optimizer.step()
print(f"classifier trained on {len(X_full)} digits ({time.perf_counter() - tic:.1f} s): "
      f"accuracy on the {len(X_held)} held-out digits {accuracy(full_model, X_held, y_held):.3f}")

sixes = X_held[y_held == 6]
upside_down = TF.rotate(sixes, 180.0)  # one angle for the whole batch
with torch.no_grad():
    before = full_model(sixes).argmax(1)
    after = full_model(upside_down).argmax(1)
print(f"{len(sixes)} held-out 6s: predicted 6 for {(before == 6).float().mean():.0%}; "
      f"rotated by 180°, predicted 9 for {(after == 9).float().mean():.0%} and 6 for "
      f"{(after == 6).float().mean():.0%}")
fig, axes = plt.subplots(2, 6, figsize=(8, 3.2))
for j in range(6):
    for row, (img, pred) in enumerate(((sixes[j], before[j]), (upside_down[j], after[j]))):
        axes[row, j].imshow(img[0].numpy(), cmap="gray", vmin=0, vmax=1)
        axes[row, j].set_title(f"predicted {int(pred)}", fontsize=9)
        axes[row, j].axis("off")
axes[0, 0].text(-12, 8, "6", fontsize=12, va="center")
axes[1, 0].text(-12, 8, "6 turned\n180°", fontsize=9, va="center")
plt.tight_layout()
plt.show()

# %% [markdown]
# The classifier is right about the 6s, and the same images turned upside down are read
# mostly as 9s: for digits, "rotation by 180°" is not an invariance, it is a different
# label. Training with random rotations of ±180° would teach the network that 6 and 9 are
# the same — so for digits we rotate by a few degrees only, and never flip.
#
# A transform can also **destroy** the example: a brightness factor of 0 makes every image
# black, a contrast factor of 0 replaces it by its mean grey. Nothing of the digit is left,
# and whatever label we attach is noise. The classifier still answers with a digit for the
# black and the grey images (the titles below): a classifier has no "nothing here" class.
# Colour jitter ranges like $[0.6, 1.4]$ stay far from these ends.

# %%
destroyed = {"original": sixes[:1],
             "brightness 0.3": TF.adjust_brightness(sixes[:1], 0.3),
             "brightness 0": TF.adjust_brightness(sixes[:1], 0.0),
             "contrast 0.3": TF.adjust_contrast(sixes[:1], 0.3),
             "contrast 0": TF.adjust_contrast(sixes[:1], 0.0)}
fig, axes = plt.subplots(1, len(destroyed), figsize=(9, 2.3))
for ax, (name, img) in zip(axes, destroyed.items(), strict=True):
    with torch.no_grad():
        pred = int(full_model(img).argmax(1))
    ax.imshow(img[0, 0].numpy(), cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"{name}\npredicted {pred}", fontsize=9)
    ax.axis("off")
plt.show()
flat = TF.adjust_contrast(sixes[:1], 0.0)
print(f"contrast 0: every pixel equals the mean {sixes[:1].mean():.3f}; "
      f"min {flat.min():.3f}, max {flat.max():.3f}")

# %% [markdown]
# ## 6. Stored copies or on the fly
#
# There are two ways to use augmentation.
# - **Store** $K$ augmented copies of each image: the training set is $K$ times larger, an
#   epoch has $K$ times more mini-batches (and takes $K$ times longer), and the network sees
#   the same $K$ copies again every epoch.
# - **On the fly**: transform each mini-batch as it is drawn. An epoch has as many batches as
#   without augmentation, nothing is stored, and every epoch sees new copies — over many
#   epochs far more variety than any stored set. This is what data loaders do.
#
# With 100 images, batches of 50 and $K = 10$ stored copies:

# %%
batch_size, K = 50, 10
print(f"on the fly: {math.ceil(len(X_train) / batch_size)} batches per epoch; "
      f"{K} stored copies: {math.ceil(K * len(X_train) / batch_size)} batches per epoch")

# %% [markdown]
# **One draw per image.** A `v2` transform called on a batch tensor draws its random
# parameters **once** and applies them to every image of the batch (check it below): fine in
# a data loader that transforms one image at a time, wrong for a whole mini-batch. On the
# fly on batches, we draw per image. The function below builds one random affine map per
# image — rotation, scaling, translation — and applies them all at once with
# `F.affine_grid` and `F.grid_sample`, the mechanism lab 07 asks you to write for rotation.

# %%
def random_affine(X, generator, degrees=10.0, translate=0.1, scale=(0.9, 1.1)):
    """Per-image random rotation (±degrees), translation (± translate of the size) and
    scaling of X: (N, C, H, W), square images; returns a new tensor."""
    N = len(X)

    def uniform(low, high):
        return low + (high - low) * torch.rand(N, generator=generator)

    angle = torch.deg2rad(uniform(-degrees, degrees))
    zoom = uniform(*scale)
    shift_x, shift_y = 2 * uniform(-translate, translate), 2 * uniform(-translate, translate)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, shift_x], 1),
                         torch.stack([sin, cos, shift_y], 1)], 1)  # (N, 2, 3): output -> input
    grid = F.affine_grid(theta, list(X.shape), align_corners=False)  # (N, H, W, 2)
    return F.grid_sample(X, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


copies = X_train[:1].expand(6, 1, 16, 16)
fig, axes = plt.subplots(2, 6, figsize=(8, 3))
batch_transform = v2.RandomAffine(degrees=20, translate=(0.15, 0.15))
rows = [("v2.RandomAffine on the batch", batch_transform(copies)),
        ("random_affine, per image", random_affine(copies, torch.Generator().manual_seed(1),
                                                   degrees=20, translate=0.15))]
for r, (name, imgs) in enumerate(rows):
    for j in range(6):
        axes[r, j].imshow(imgs[j, 0].numpy(), cmap="gray", vmin=0, vmax=1)
        axes[r, j].axis("off")
    axes[r, 0].set_title(name, fontsize=9, loc="left")
plt.tight_layout()
plt.show()
n_distinct = len({tuple(img.flatten().tolist()) for img in rows[0][1]})
print(f"v2.RandomAffine on a batch of 6 copies: {n_distinct} distinct output(s); "
      f"random_affine: {len({tuple(img.flatten().tolist()) for img in rows[1][1]})}")

# %% [markdown]
# The first row is one random draw repeated six times; the second, six draws.
#
# **Exercise 3.** A training set of 1,000 images is stored with 5 augmented copies of each
# (the originals are not kept), and trained with batches of 64, keeping the last smaller
# batch. How many optimizer steps are 3 epochs? The check builds the `DataLoader`.

# %%
# exercise: steps with stored copies
steps = None  # your code here: an int
stored = torch.utils.data.TensorDataset(torch.zeros(5 * 1000, 1))
grading.exercise("steps in 3 epochs", steps,
                 3 * len(torch.utils.data.DataLoader(stored, batch_size=64)),
                 hint="ceil(copies * images / batch_size) batches per epoch")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: steps with stored copies
# steps = 3 * math.ceil(5 * 1000 / 64)
# stored = torch.utils.data.TensorDataset(torch.zeros(5 * 1000, 1))
# grading.exercise("steps in 3 epochs", steps,
#                  3 * len(torch.utils.data.DataLoader(stored, batch_size=64)),
#                  hint="ceil(copies * images / batch_size) batches per epoch")
# ```
# 79 batches per epoch, 237 steps; on the fly it would be 16 per epoch.
# </details>
#
# ## 7. The experiment: five ways to train on 100 digits
#
# Same network, same data, same 120 epochs of SGD with momentum, five settings:
#
# | setting | what changes |
# |---|---|
# | nothing | — |
# | weight decay | λ = 5e-3 on the weight matrices |
# | dropout | p = 0.5 after each hidden layer |
# | augmentation | `random_affine`: ±10°, ±10 % shift, zoom 0.9–1.1, per image, on the fly |
# | all together | the three at once |
#
# Each setting runs with 3 seeds (initialisation, batch order and augmentation draws);
# the table reports the mean and the spread (standard deviation) of the final accuracies.

# %%
settings = {
    "nothing": {},
    "weight decay": {"weight_decay": 5e-3},
    "dropout": {"p_drop": 0.5},
    "augmentation": {"augment": random_affine},
    "all together": {"weight_decay": 5e-3, "p_drop": 0.5, "augment": random_affine},
}
seeds = (0, 1, 2)
results, models = {}, {}
tic = time.perf_counter()
for name, options in settings.items():
    for seed in seeds:
        if name == "nothing" and seed == 0:
            models[name, seed], results[name, seed] = plain_model, plain  # trained in section 1
            continue
        models[name, seed], results[name, seed] = train_model(seed=seed, **options)
print(f"{len(settings) * len(seeds)} runs in {time.perf_counter() - tic:.1f} s")

fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
colours = plt.get_cmap("tab10").colors
for colour, name in zip(colours, settings):
    epochs = results[name, 0]["epoch"]
    for ax, part in zip(axes, ("train", "test"), strict=True):
        curves = np.array([results[name, s][part] for s in seeds])
        ax.plot(epochs, curves.mean(0), "-o", ms=3, color=colour, label=name)
        ax.fill_between(epochs, curves.min(0), curves.max(0), color=colour, alpha=0.15)
for ax, part in zip(axes, ("train", "test"), strict=True):
    ax.set_title(f"{part} accuracy (mean of {len(seeds)} seeds, band: min to max)")
    ax.set_xlabel("epoch")
    ax.grid(alpha=0.3)
axes[0].set_ylabel("accuracy")
axes[1].legend(loc="lower right", fontsize=8)
plt.tight_layout()
plt.show()

print(f"{'setting':>14} | {'train':>13} | {'test':>13} | gap")
final = {}
for name in settings:
    tr = np.array([results[name, s]["train"][-1] for s in seeds])
    te = np.array([results[name, s]["test"][-1] for s in seeds])
    final[name] = te.mean()
    print(f"{name:>14} | {tr.mean():.3f} ± {tr.std():.3f} | {te.mean():.3f} ± {te.std():.3f} | "
          f"{tr.mean() - te.mean():.3f}")
best = max(final, key=final.get)
print(f"best mean test accuracy: {best} ({final[best]:.3f}); nothing: {final['nothing']:.3f}")

# %% [markdown]
# How to read this (the numbers are those printed above; the runs are deterministic on a
# CPU, other seeds move them by about the printed spread):
# - **Train accuracy.** Without augmentation every setting fits the 100 training digits
#   perfectly (1.000); augmentation makes the task harder, its training curves rise more
#   slowly, and "all together" ends below 1.
# - **Test accuracy.** Dropout, augmentation and all together end about 2 points above
#   "nothing" (0.880), with seed-to-seed spreads of about 1 point; weight decay at this
#   strength moves the test accuracy by less than a point. With three seeds only a difference
#   several spreads wide is worth believing: 2 points over a spread of 1 is suggestive, not
#   proof, and the differences among the three best settings are within the noise.
# - **The gap** (train minus test) is the quantity regularization targets. Every regularizer
#   shrinks it, and all three together shrink it most — partly by lowering training accuracy.
#
# This is honest small-data practice: regularizers are not free accuracy, they are knobs
# whose strength ($\lambda$, $p$, the augmentation ranges) must be tuned on validation data.
# Here we fixed them once and did not tune; with 100 digits the gains are a couple of points,
# far less than more labels give. Exercise 4 asks you to try a stronger augmentation.
#
# **Check yourself.** Why does dropout not lower the *training* accuracy in the table, even
# though it drops half of the hidden units during training?
#
# <details><summary>Answer</summary>
#
# The table measures training accuracy in evaluation mode, with all units on (and inverted
# dropout's rescaling makes the two modes agree on average). The network trained with dropout
# still fits the 100 images; what dropout changes is how it fits them — with redundant
# units that do not rely on each other.
# </details>
#
# ## 8. Test-time augmentation, measured
#
# At test time we can also augment: transform each test image $K$ times, predict each copy,
# and **average the predicted probabilities**. If the network was trained to be invariant to
# the transforms, the copies give it several views of the same digit and the average is less
# noisy. It costs $K$ forward passes per image. We measure it on the networks trained with
# augmentation, with the same (mild) `random_affine`, $K = 8$ copies plus the original.

# %%
def predict_tta(model, X, K=8, seed=0):
    """Average of softmax over X and K random_affine copies of it; returns (N,) classes."""
    generator = torch.Generator().manual_seed(seed)
    model.eval()
    with torch.no_grad():
        probs = F.softmax(model(X), dim=1)
        for _ in range(K):
            probs += F.softmax(model(random_affine(X, generator)), dim=1)
    return (probs / (K + 1)).argmax(1)


tic = time.perf_counter()
for name in ("augmentation", "nothing"):
    plain_acc = np.array([accuracy(models[name, s], X_test, y_test) for s in seeds])
    tta_acc = np.array([(predict_tta(models[name, s], X_test) == y_test).double().mean().item()
                        for s in seeds])
    print(f"trained with {name:>12}: test accuracy {plain_acc.mean():.3f} ± {plain_acc.std():.3f}"
          f" without TTA, {tta_acc.mean():.3f} ± {tta_acc.std():.3f} with TTA "
          f"(per seed: {np.round(tta_acc - plain_acc, 3).tolist()})")
print(f"({time.perf_counter() - tic:.1f} s)")

# %% [markdown]
# The printed per-seed differences are the effect of TTA for each trained network. Compare
# the two lines: for the network **trained with** the transforms, the copies are views it has
# learned to handle; for the network trained without them, they are inputs it has never seen,
# and averaging over them can just as well hurt. TTA is cheap to try and is often reported
# in competition results; in production its $K$-fold cost usually decides against it.
#
# **Exercise 4.** Train the augmentation setting with a stronger transform (rotation ±25°,
# shift ±20 %) for seed 0, and report its final test accuracy as `strong_test`. The check
# repeats your run with the same seed — so it only checks that you used the stated settings;
# compare the number with the table yourself.

# %%
# exercise: stronger augmentation
strong_test = None  # your code here: train_model(...)'s final test accuracy
_, check_curves = train_model(augment=lambda X, g: random_affine(X, g, degrees=25, translate=0.2),
                              seed=0, num_epochs=60)
grading.exercise("test accuracy with strong augmentation", strong_test, check_curves["test"][-1],
                 hint="train_model(augment=lambda X, g: random_affine(X, g, degrees=25, "
                 "translate=0.2), seed=0, num_epochs=60)")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: stronger augmentation
# def strong(X, g):
#     return random_affine(X, g, degrees=25, translate=0.2)
#
#
# _, strong_curves = train_model(augment=strong, seed=0, num_epochs=60)
# strong_test = strong_curves["test"][-1]
# _, check_curves = train_model(augment=lambda X, g: random_affine(X, g, degrees=25, translate=0.2),
#                               seed=0, num_epochs=60)
# grading.exercise("test accuracy with strong augmentation", strong_test, check_curves["test"][-1],
#                  hint="train_model(augment=lambda X, g: random_affine(X, g, degrees=25, "
#                  "translate=0.2), seed=0, num_epochs=60)")
# ```
# (60 epochs to keep the notebook fast; compare with the curves above at epoch 60.)
# </details>
#
# ## 9. Learned policies, and augmentation beyond images
#
# Choosing transforms and their strengths is a search problem. **AutoAugment** (Cubuk et al.,
# 2019) searched, with reinforcement learning, for a policy of (transform, probability,
# magnitude) pairs per data set; **RandAugment** (Cubuk et al., 2020) replaced the search by
# two numbers (how many random transforms, how strong); **TrivialAugment** (Müller and Hutter,
# 2021) applies one random transform of random strength. All three are in
# `torchvision.transforms.v2` (`AutoAugment`, `RandAugment`, `TrivialAugmentWide`), with
# the policies found on ImageNet, CIFAR-10 and SVHN built in — no download needed:

# %%
torch.manual_seed(1)
policy = v2.AutoAugment(v2.AutoAugmentPolicy.IMAGENET)
photo_uint8 = (photo * 255).to(torch.uint8)  # the policies are defined on 0-255 images
fig, axes = plt.subplots(1, 6, figsize=(11, 2.2))
for ax in axes:
    ax.imshow(policy(photo_uint8).permute(1, 2, 0).numpy())
    ax.axis("off")
fig.suptitle("six draws of torchvision's AutoAugment ImageNet policy", fontsize=10)
plt.show()

# %% [markdown]
# Other related ideas: **mixup** (Zhang et al., 2018) trains on convex combinations of two
# images and of their labels, **cutout**/**CutMix** paste rectangles. Augmentation is not
# only for images:
# - **text**: synonym substitution, random insertion/deletion/swap of words (Wei and Zou,
#   2019), **back-translation** — translate a sentence into another language and back
#   (Sennrich et al., 2016);
# - **audio**: time shifts, speed and pitch changes, added noise, and **SpecAugment** (Park
#   et al., 2019), which masks bands of time and frequency in the spectrogram;
# - **graphs**: dropping edges or nodes (lecture 12's networks can be trained this way).
#
# The rule is always the one of section 5: a transform is allowed if it keeps the label.
#
# **Exercise 5.** Inverted dropout with $p = 0.2$ multiplies the units it keeps by a factor.
# Measure it with `F.dropout` on a tensor of ones and store it as `kept_scale` (a float).

# %%
# exercise: dropout scale
kept_scale = None  # your code here
grading.exercise("the factor of kept units for p = 0.2", kept_scale, 1 / (1 - 0.2),
                 hint="F.dropout(torch.ones(1000), p=0.2, training=True).max().item()")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: dropout scale
# kept_scale = F.dropout(torch.ones(1000), p=0.2, training=True).max().item()
# grading.exercise("the factor of kept units for p = 0.2", kept_scale, 1 / (1 - 0.2),
#                  hint="F.dropout(torch.ones(1000), p=0.2, training=True).max().item()")
# ```
# Kept units are multiplied by $1/(1 - p) = 1.25$, so that the expected activation is the
# same in training and in evaluation mode.
# </details>

# %%
print(f"lecture ran in {time.perf_counter() - lecture_start:.0f} s")

# %% [markdown]
# ## Summary
#
# - Regularization is any change to learning meant to lower the test error rather than the
#   training error; many regularizers take the form loss + λ R(f).
# - L2 regularization has a closed form for least squares (ridge) and is a multiplicative
#   weight decay in gradient descent. For SGD an L2 penalty and weight decay coincide; for
#   Adam they do not, and AdamW decouples the decay. Decay weight matrices, not biases or
#   normalization parameters.
# - Augmentation trains on transformed copies with the same label and so builds invariances:
#   crops and zooms, flips, colour, rotation, translation, shear. A transform is only valid
#   if it keeps the label (a 6 rotated by 180° is a 9) and keeps the example (contrast 0
#   leaves nothing).
# - On the fly augmentation gives new copies every epoch at no storage cost; draw one set of
#   random parameters per image. Test-time augmentation averages predictions over copies.
# - With 100 labelled digits, all regularizers shrink the train/test gap; whether they raise
#   the test accuracy depends on their strength, and differences must be compared with the
#   spread over seeds.
#
# ## Further reading
#
# - I. Goodfellow, Y. Bengio, A. Courville (2016). *Deep Learning*, MIT Press, chapters 5.2
#   and 7 (regularization, dataset augmentation, dropout).
# - A. E. Hoerl, R. W. Kennard (1970). Ridge regression: biased estimation for nonorthogonal
#   problems. *Technometrics* 12(1).
# - A. Krogh, J. A. Hertz (1992). A simple weight decay can improve generalization. *NeurIPS*.
# - I. Loshchilov, F. Hutter (2019). Decoupled weight decay regularization. *ICLR*.
# - N. Srivastava, G. Hinton, A. Krizhevsky, I. Sutskever, R. Salakhutdinov (2014). Dropout:
#   a simple way to prevent neural networks from overfitting. *JMLR* 15.
# - E. D. Cubuk, B. Zoph, D. Mané, V. Vasudevan, Q. V. Le (2019). AutoAugment: learning
#   augmentation strategies from data. *CVPR*.
# - E. D. Cubuk, B. Zoph, J. Shlens, Q. V. Le (2020). RandAugment: practical automated data
#   augmentation with a reduced search space. *CVPR Workshops*.
# - S. G. Müller, F. Hutter (2021). TrivialAugment: tuning-free yet state-of-the-art data
#   augmentation. *ICCV*.
# - H. Zhang, M. Cisse, Y. N. Dauphin, D. Lopez-Paz (2018). mixup: beyond empirical risk
#   minimization. *ICLR*.
# - R. Sennrich, B. Haddow, A. Birch (2016). Improving neural machine translation models with
#   monolingual data. *ACL*.
# - J. Wei, K. Zou (2019). EDA: easy data augmentation techniques for boosting performance on
#   text classification tasks. *EMNLP-IJCNLP*.
# - D. S. Park, W. Chan, Y. Zhang, C.-C. Chiu, B. Zoph, E. D. Cubuk, Q. V. Le (2019).
#   SpecAugment: a simple data augmentation method for automatic speech recognition.
#   *Interspeech*.
# - A. Shorten, T. M. Khoshgoftaar (2019). A survey on image data augmentation for deep
#   learning. *Journal of Big Data* 6.
