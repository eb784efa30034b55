# %% [markdown]
# # Lecture 01 — Introduction and linear regression
#
# Deep learning is a way of building programs from examples. This first lecture puts the
# whole recipe on the table with the simplest model there is, a straight line, so that every
# later lecture only changes one ingredient at a time.
#
# **Learning goals.** After this lecture you can
# 1. place deep learning inside machine learning and artificial intelligence, and name the
#    three components of every learning method: a model $h(x \mid \theta)$, an objective
#    $J(\theta)$ and an optimization algorithm;
# 2. fit a line $\hat y = xw + b$ to data, split the data 80/20 into a training and a test
#    set, and explain why we prefer the squared loss $\tfrac12(\hat y - y)^2$, including its
#    maximum-likelihood reason (Gaussian noise);
# 3. apply the sum, product, quotient and chain rules, check a derivative numerically, and
#    give the subgradients of $|x|$ and $\max(x, 0)$ at 0;
# 4. minimize $J$ in closed form (a parabola) and by gradient descent, and recognise a
#    learning rate that is too large or too small from a plot;
# 5. explain with the condition number why inputs are standardized, and standardize them
#    with statistics of the training set only;
# 6. write multivariate regression with a design matrix, derive and vectorize its gradient and
#    check it numerically, compare gradient descent with the closed-form least-squares
#    solution on a real data set, and write the same fit in PyTorch.
#
# Cells that start with `# exercise:` are for you: replace the `None`, run the cell, and it
# says at once whether the answer is right; a solution is folded below each one.

# %% setup

# %%
import timeit

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Ellipse
from sklearn.datasets import load_diabetes as sk_load_diabetes  # for the feature names
from scipy.stats import norm
from sklearn.preprocessing import StandardScaler
from torch import nn

from course import data, gradcheck, grading

rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. AI, machine learning, deep learning
#
# * **Artificial intelligence (AI)** is the broad goal of making machines do things that we
#   call intelligent when people do them: play chess, plan a route, understand speech. Many
#   AI systems contain no learning at all (a chess engine built from search and hand-written
#   rules, an expert system).
# * **Machine learning (ML)** is the part of AI where the behaviour of the program is not
#   written by hand but *fitted to data*; Samuel (1959), whose checkers program improved by
#   playing against itself, made the term popular. Following Mitchell (1997), a program
#   learns from experience $E$ (the data) on a task $T$ if its performance on $T$,
#   measured by $P$, improves with $E$.
# * **Deep learning (DL)** is the part of ML whose models are deep neural networks: long
#   compositions of simple, differentiable layers whose parameters are all fitted together by
#   gradient descent. The layers learn their own features from raw inputs (pixels, sound,
#   text) instead of using features designed by a person.

# %%
fig, ax = plt.subplots(figsize=(7, 4))
rings = [
    ("artificial intelligence", "search, planning, logic, expert systems", 6.6, 3.8, "#dbe9f6"),
    ("machine learning", "linear models, trees, SVMs, k-means", 4.6, 2.6, "#bcd7ee"),
    ("deep learning", "CNNs, RNNs, transformers, GNNs", 2.6, 1.4, "#8fbde3"),
]
for i, (name, examples, width, height, colour) in enumerate(rings):
    ax.add_patch(Ellipse((0, -0.5 * i), width, height, facecolor=colour, edgecolor="0.3"))
    top = -0.5 * i + height / 2
    ax.text(0, top - 0.3, name, ha="center", fontsize=11, weight="bold")
    ax.text(0, top - 0.55, examples, ha="center", fontsize=8, style="italic")
ax.set_xlim(-3.5, 3.5)
ax.set_ylim(-2.2, 2.1)
ax.set_aspect("equal")
ax.set_axis_off()
ax.set_title("Deep learning ⊂ machine learning ⊂ artificial intelligence")
plt.show()

# %% [markdown]
# ### The three components of a learning method
#
# Every method in this course, from the straight line of today to a 152-layer ResNet, is
# made of the same three parts:
#
# * a **model**: a family of functions $h(x \mid \theta)$, one function per value of the
#   parameters $\theta$;
# * an **objective** $J(\theta)$: one number that says how badly $h(\cdot \mid \theta)$ fits
#   the data;
# * an **optimizer**: an algorithm that changes $\theta$ to make $J(\theta)$ small.
#
# | component | in this lecture | in a deep network |
# |---|---|---|
# | model | $\hat y = xw + b$, $\theta = (w, b)$ | layers of weights and non-linearities |
# | objective | mean squared error | cross-entropy, plus regularizers |
# | optimizer | closed form, gradient descent | stochastic gradient descent, Adam |
#
# Here they are as code; the rest of the lecture fills in why each line is what it is.


# %%
def h(x, theta):
    """The model: a line. x: (m,) inputs, theta = (w, b). Returns y_hat: (m,)."""
    w, b = theta
    return x * w + b


def J(theta, x, y):
    """The objective: mean of the squared loss 1/2 (y_hat - y)^2 over the m examples."""
    return np.mean(0.5 * (h(x, theta) - y) ** 2)


def gd_step(theta, grad, lr):
    """The optimizer, one step of gradient descent: move against the gradient."""
    return theta - lr * grad


# %% [markdown]
# ## 2. Univariate linear regression on heights and weights
#
# Our data: heights (cm) and weights (kg) of 100 adults, generated by the course so that it
# needs no download. We want to predict the weight $y$ from the height $x$ with a line
# $\hat y = xw + b$: $w$ is the slope (kg per cm) and $b$ the intercept.
#
# A model is only useful if it works on people it has *not* seen. So before fitting anything
# we put 20% of the examples aside as a **test set** and fit on the other 80% (the **training
# set**). The test set is looked at once, at the end, to estimate the error on new data.

# %%
height, weight = data.make_height_weight(n=100, seed=0)
# stratify=False: the labels are real numbers, not classes
split = data.train_test_split(height, weight, test_fraction=0.2, seed=0, stratify=False)
x_train_cm, y_train, x_test_cm, y_test = split
print(f"{len(height)} examples -> {len(x_train_cm)} for training, {len(x_test_cm)} for testing")

fig, ax = plt.subplots(figsize=(5, 3.5))
ax.scatter(x_train_cm, y_train, s=15, label="training set")
ax.scatter(x_test_cm, y_test, s=25, marker="s", label="test set")
ax.set_xlabel("height (cm)")
ax.set_ylabel("weight (kg)")
ax.set_title("100 generated adults, split 80/20")
ax.legend()
plt.show()

# %% [markdown]
# Heights are large numbers (around 170) that vary by about 10. Gradient descent works much
# better on inputs with mean 0 and standard deviation 1, so we **standardize** them,
# $x = (\text{height} - \mu)/\sigma$, with the mean and standard deviation of the *training*
# set, for the test set too (section 6 explains why, and why the training set).

# %%
mu, sigma = x_train_cm.mean(), x_train_cm.std()
x_train = (x_train_cm - mu) / sigma
x_test = (x_test_cm - mu) / sigma
print(f"mu = {mu:.2f} cm, sigma = {sigma:.2f} cm")
print(f"standardized training heights: mean {x_train.mean():.1e}, std {x_train.std():.3f}")

# %% [markdown]
# ### Losses: how wrong is one prediction?
#
# A **loss** $L(\hat y, y)$ scores one prediction. Two natural choices, written with the
# residual $r = \hat y - y$:
#
# $$L_1(\hat y, y) = |\hat y - y|, \qquad L_2(\hat y, y) = \tfrac12 (\hat y - y)^2 .$$
#
# **Why the square?** (1) It is differentiable everywhere, with derivative $\hat y - y$,
# while $|r|$ has a kink at $r = 0$ where the derivative jumps from $-1$ to $1$. (2) Its
# derivative is proportional to the error: big mistakes get big corrections, small ones small
# corrections, so gradient descent slows down near the minimum by itself. (3) It leads to a
# closed-form solution (section 8). The factor $\tfrac12$ is cosmetic: it cancels the 2 that
# comes down from the square, $\frac{d}{d\hat y}\tfrac12(\hat y - y)^2 = \hat y - y$. The price
# of the square: one outlier with a large residual can dominate the sum.

# %%
r = np.linspace(-3, 3, 601)
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
axes[0].plot(r, np.abs(r), label=r"$|r|$")
axes[0].plot(r, 0.5 * r**2, label=r"$\frac{1}{2}r^2$")
axes[0].set_title("loss of one prediction")
axes[0].set_ylabel("loss $L$")
axes[1].plot(r, np.sign(r), label=r"$\frac{d}{dr}|r| = \mathrm{sign}(r)$")
axes[1].plot(r, r, label=r"$\frac{d}{dr}\frac{1}{2}r^2 = r$")
axes[1].set_title("its derivative: the size of the correction")
axes[1].set_ylabel(r"$dL/dr$")
for ax in axes:
    ax.set_xlabel(r"residual $r = \hat y - y$")
    ax.axhline(0, color="0.7", lw=0.8)
    ax.axvline(0, color="0.7", lw=0.8)
    ax.legend()
plt.show()

# %% [markdown]
# ### The objective: the average loss
#
# The objective averages the loss over the $m$ training examples:
#
# $$J(w, b) = \frac1m \sum_{i=1}^m L\big(\hat y^{(i)}, y^{(i)}\big)
#           = \frac1{2m} \sum_{i=1}^m \big(x^{(i)} w + b - y^{(i)}\big)^2 .$$
#
# Let us score two guesses: a flat line at the mean weight, and a line with a positive slope.

# %%
for theta in [(0.0, y_train.mean()), (5.0, y_train.mean())]:
    y_hat = h(x_train, theta)
    print(
        f"w = {theta[0]:4.1f}, b = {theta[1]:.2f}:  "
        f"J with 1/2 r^2 = {J(theta, x_train, y_train):7.2f},  "
        f"mean |r| = {np.mean(np.abs(y_hat - y_train)):5.2f}"
    )

# %% [markdown]
# **Exercise.** The line $w = 5$, $b = 70$ predicts the weights of the 20 test adults. Compute
# its objective $J = \frac1m\sum_i \tfrac12(\hat y^{(i)} - y^{(i)})^2$ on the test set with
# NumPy (not with the function `J`).

# %%
# exercise: the objective of a prediction
y_hat_test = 5.0 * x_test + 70.0  # (20,) predictions of the line w = 5, b = 70
answer = None  # your code here: one number
# reference: PyTorch's mean squared error has no 1/2
expected = 0.5 * nn.functional.mse_loss(torch.from_numpy(y_hat_test), torch.from_numpy(y_test))
grading.exercise("J on the test set", answer, expected,
                 hint="the mean over the 20 examples of 0.5 * (y_hat_test - y_test) ** 2")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: the objective of a prediction
# y_hat_test = 5.0 * x_test + 70.0  # (20,) predictions of the line w = 5, b = 70
# answer = np.mean(0.5 * (y_hat_test - y_test) ** 2)
# # reference: PyTorch's mean squared error has no 1/2
# expected = 0.5 * nn.functional.mse_loss(torch.from_numpy(y_hat_test), torch.from_numpy(y_test))
# grading.exercise("J on the test set", answer, expected,
#                  hint="the mean over the 20 examples of 0.5 * (y_hat_test - y_test) ** 2")
# ```
# Forgetting the $\tfrac12$ gives twice the value: that is what `mse_loss` computes.
# </details>

# %% [markdown]
# ### Why the square, again: maximum likelihood
#
# The square also follows from a model of the noise. Suppose each weight is the line plus
# independent Gaussian noise of standard deviation $s$: $y = xw + b + \varepsilon$,
# $\varepsilon \sim \mathcal N(0, s^2)$. The probability density of the observed $y^{(i)}$ is
#
# $$p\big(y^{(i)} \mid x^{(i)}; w, b\big) = \frac{1}{\sqrt{2\pi s^2}}
#   \exp\Big(-\frac{(\hat y^{(i)} - y^{(i)})^2}{2s^2}\Big).$$
#
# **Maximum likelihood** picks the $(w, b)$ under which the data are most probable, i.e. it
# minimizes the negative log-likelihood of the $m$ independent examples,
#
# $$\mathrm{NLL}(w, b) = -\sum_{i=1}^m \log p\big(y^{(i)} \mid x^{(i)}; w, b\big)
#   = \frac m2 \log(2\pi s^2) + \frac{1}{2s^2}\sum_{i=1}^m \big(\hat y^{(i)} - y^{(i)}\big)^2
#   = \frac m2 \log(2\pi s^2) + \frac{m}{s^2}\, J(w, b).$$
#
# For any fixed $s$ that is a constant plus a positive multiple of $J$, so it has the same
# minimizer: least squares *is* maximum likelihood under Gaussian noise. (Laplace noise,
# $p \propto e^{-|r|/s}$, would give the absolute loss in the same way.) Below, the NLL is
# computed with SciPy's Gaussian log-density, not with our formula, on a grid of slopes $w$
# ($b$ fixed at the mean weight), for three noise levels; the middle one is the maximum-likelihood
# estimate of $s$ itself, the root of the mean squared residual at the best line.

# %%
w_grid = np.linspace(0, 20, 2001)
residuals = w_grid[:, None] * x_train + y_train.mean() - y_train  # (2001, 80)
J_grid = np.mean(0.5 * residuals**2, axis=1)
print(f"argmin of J:              w = {w_grid[np.argmin(J_grid)]:.2f}")
s_ml = np.sqrt(2 * J_grid.min())  # sqrt of the mean squared residual, in kg
nll_grid = {}
for s in (2.0, s_ml, 20.0):
    nll_grid[s] = -norm.logpdf(y_train, loc=y_train - residuals, scale=s).sum(axis=1)  # (2001,)
    print(f"argmin of NLL with s = {s:4.1f} kg: w = {w_grid[np.argmin(nll_grid[s])]:.2f}")

fig, ax = plt.subplots(figsize=(5.5, 3.4), layout="constrained")
line_J = ax.plot(w_grid, J_grid, color="C0", label="J (left axis)")
ax.set_xlabel("slope w (b fixed)")
ax.set_ylabel("J(w)", color="C0")
ax_nll = ax.twinx()
line_nll = ax_nll.plot(w_grid, nll_grid[s_ml], color="C1", ls="--", label="NLL (right axis)")
ax_nll.set_ylabel(f"negative log-likelihood, s = {s_ml:.1f}", color="C1")
ax.axvline(w_grid[np.argmin(J_grid)], color="0.5", lw=0.8)
ax.legend(handles=line_J + line_nll, loc="upper center")
ax.set_title("NLL = J stretched and shifted: the same minimizer")
plt.show()

# %% [markdown]
# ## 3. A derivatives refresher
#
# Gradient descent needs derivatives; here are the four rules that build all the others
# (for differentiable $f$, $g$):
#
# | rule | formula |
# |---|---|
# | sum | $(f + g)' = f' + g'$ |
# | product | $(fg)' = f'g + fg'$ |
# | quotient | $\left(\dfrac fg\right)' = \dfrac{f'g - fg'}{g^2}$ where $g \ne 0$ |
# | chain | $\big(f(g(x))\big)' = f'(g(x))\, g'(x)$ |
#
# We do not have to trust our algebra: the **centred difference**
# $\frac{f(x + h) - f(x - h)}{2h}$ approximates $f'(x)$ with an error of order $h^2$.
# Below, each rule is applied by hand to $f = x^2$ and $g = \sin x$ at $x_0 = 1.3$, and the
# result is compared with `course.gradcheck.numerical_gradient` by the relative error
# $\frac{|a - b|}{|a| + |b|}$.

# %%
x0 = 1.3
f, df = (lambda x: x**2), (lambda x: 2 * x)
g, dg = np.sin, np.cos
rules = {
    "sum       f + g": (lambda x: f(x) + g(x), df(x0) + dg(x0)),
    "product   f * g": (lambda x: f(x) * g(x), df(x0) * g(x0) + f(x0) * dg(x0)),
    "quotient  f / g": (lambda x: f(x) / g(x), (df(x0) * g(x0) - f(x0) * dg(x0)) / g(x0) ** 2),
    "chain     f(g(x))": (lambda x: f(g(x)), df(g(x0)) * dg(x0)),
}
print(f"{'rule':20s} {'by the rule':>12s} {'numerical':>12s} {'rel. error':>11s}")
for name, (func, by_rule) in rules.items():
    numeric = gradcheck.numerical_gradient(lambda v, func=func: func(v[0]), np.array([x0]))[0]
    error = gradcheck.rel_error(by_rule, numeric)
    print(f"{name:20s} {by_rule:12.8f} {numeric:12.8f} {error:11.1e}")

# %% [markdown]
# ### Subgradients: derivatives at a kink
#
# $|x|$ and $\max(x, 0)$ (the ReLU, the most used activation of deep networks) have no
# derivative at 0. A **subgradient** of a convex $f$ at $x_0$ is any slope $s$ of a line
# through $(x_0, f(x_0))$ that stays below the graph:
#
# $$f(x) \ge f(x_0) + s\,(x - x_0) \quad \text{for all } x .$$
#
# Where $f$ is differentiable, the only subgradient is $f'(x_0)$. At the kink:
# the subgradients of $|x|$ at 0 are all $s \in [-1, 1]$, those of $\max(x, 0)$ are all
# $s \in [0, 1]$. Software picks one of them; below we test the definition on a grid and ask
# the centred difference and PyTorch which value they use.

# %%
grid = np.linspace(-2, 2, 401)
functions = {"|x|": np.abs, "max(x, 0)": lambda x: np.maximum(x, 0)}
candidates = np.round(np.arange(-1.5, 1.51, 0.25), 2)
for name, func in functions.items():
    ok = [s for s in candidates if np.all(func(grid) >= func(0.0) + s * grid)]
    print(f"subgradients of {name:9s} at 0 among the candidates: {min(ok)} ... {max(ok)}")

for name, op in [("|x|", torch.abs), ("max(x, 0)", torch.relu)]:
    t = torch.zeros((), requires_grad=True)
    op(t).backward()
    numeric = gradcheck.numerical_gradient(
        lambda v, op=op: op(torch.from_numpy(v)).sum().item(), np.zeros(1)
    )[0]
    print(f"{name:9s} at 0: PyTorch uses {t.grad.item():.1f}, centred difference {numeric:.1f}")

fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained")
all_slopes = [(-1, -0.5, 0, 0.5, 1), (0, 0.5, 1)]
for ax, (name, func), slopes in zip(axes, functions.items(), all_slopes, strict=True):
    ax.plot(grid, func(grid), "k", lw=2, label=name)
    for s in slopes:
        ax.plot(grid, s * grid, lw=1, alpha=0.8, label=f"slope {s}")
    ax.set_ylim(-1, 2)
    ax.set_title(f"subgradients of {name} at 0")
    ax.set_xlabel("x")
    ax.set_ylabel("f(x) and lines s·x")
    ax.legend(fontsize=8, loc="upper center")
plt.show()

# %% [markdown]
# <details><summary><b>Check yourself.</b> Why is the centred difference more accurate than
# the forward difference $\frac{f(x+h) - f(x)}{h}$?</summary>
#
# Expand both in a Taylor series: $f(x \pm h) = f(x) \pm h f'(x) + \frac{h^2}2 f''(x) \pm
# \frac{h^3}{6} f'''(x) + \dots$ The forward difference keeps the $\frac h2 f''(x)$ term, an
# error of order $h$; in the centred difference the $h^2$ terms cancel and the error is of
# order $h^2$.
# </details>


# %% [markdown]
# ## 4. The objective is a parabola in $w$
#
# Fix $b$ and look at $J$ as a function of $w$ alone. Expanding the square,
#
# $$J(w) = \frac1{2m} \sum_i \big(x^{(i)} w + b - y^{(i)}\big)^2 = c_1 w^2 + c_2 w + c_3, \qquad
# c_1 = \frac1{2m}\sum_i \big(x^{(i)}\big)^2,\;
# c_2 = \frac1m \sum_i x^{(i)}\big(b - y^{(i)}\big),\;
# c_3 = \frac1{2m}\sum_i \big(b - y^{(i)}\big)^2 .$$
#
# Since $c_1 > 0$ (unless every $x^{(i)} = 0$) this is an upward parabola: its minimum is where
# the derivative $J'(w) = 2c_1 w + c_2$ vanishes,
#
# $$w^\star = -\frac{c_2}{2 c_1}, \qquad J(w^\star) = c_3 - \frac{c_2^2}{4 c_1}.$$
#
# **Worked example.** $c_1 = 1$, $c_2 = -2$, $c_3 = 1$, i.e. $J(w) = w^2 - 2w + 1 = (w - 1)^2$,
# has its minimum at $w = 1$, where $J = 0$.


# %%
# check: L01 parabola minimum
def parabola_coefficients(x, y, b):
    """c1, c2, c3 of J(w) = 1/(2m) sum (x w + b - y)^2 = c1 w^2 + c2 w + c3; x, y: (m,)."""
    m = len(x)
    return np.sum(x**2) / (2 * m), np.sum(x * (b - y)) / m, np.sum((b - y) ** 2) / (2 * m)


def parabola_minimum(c1, c2, c3):
    """The minimizer w* and the minimum J(w*) of c1 w^2 + c2 w + c3 (needs c1 > 0)."""
    if c1 <= 0:
        raise ValueError(f"the parabola has a minimum only if c1 > 0; got c1 = {c1}")
    w_star = -c2 / (2 * c1)
    return w_star, c1 * w_star**2 + c2 * w_star + c3


w_star, J_star = parabola_minimum(1, -2, 1)
print(f"c1=1, c2=-2, c3=1: minimum at w* = {w_star}, J(w*) = {J_star}")

# %% [markdown]
# Two independent confirmations: a fine grid search, and a tiny data set that produces
# exactly these coefficients — one example with $x = y = \sqrt2$ and $b = 0$ gives
# $c_1 = \tfrac12 x^2 = 1$, $c_2 = -xy = -2$, $c_3 = \tfrac12 y^2 = 1$.

# %%
ws = np.linspace(-1, 3, 4001)
print(f"grid search: argmin of w^2 - 2w + 1 is w = {ws[np.argmin(ws**2 - 2 * ws + 1)]:.3f}")
one_example = np.array([np.sqrt(2)])
print("coefficients from x = y = sqrt(2), b = 0:",
      np.round(parabola_coefficients(one_example, one_example, 0.0), 12))

# %% [markdown]
# On the height data, with $b$ fixed at the mean training weight, the same formula gives the
# best slope. Because $x$ is standardized ($\sum_i x^{(i)} = 0$), the best intercept is exactly
# the mean weight, so this $w^\star$ is also the least-squares slope: `np.polyfit` agrees.

# %%
b_fixed = y_train.mean()
c1, c2, c3 = parabola_coefficients(x_train, y_train, b_fixed)
w_best, J_best = parabola_minimum(c1, c2, c3)
slope_polyfit, intercept_polyfit = np.polyfit(x_train, y_train, deg=1)
print(f"c1 = {c1:.3f}, c2 = {c2:.3f}, c3 = {c3:.3f}")
print(f"w* = {w_best:.4f} kg per standard deviation = {w_best / sigma:.4f} kg per cm")
print(f"np.polyfit: slope {slope_polyfit:.4f}, intercept {intercept_polyfit:.4f} "
      f"(b = {b_fixed:.4f})")

fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
axes[0].plot(ws, ws**2 - 2 * ws + 1)
axes[0].plot([w_star], [J_star], "ro")
axes[0].set_title(r"$J(w) = w^2 - 2w + 1$")
wgrid = np.linspace(w_best - 10, w_best + 10, 200)
axes[1].plot(wgrid, c1 * wgrid**2 + c2 * wgrid + c3)
axes[1].plot([w_best], [J_best], "ro")
axes[1].set_title(f"height data, b = {b_fixed:.1f}: minimum at w = {w_best:.2f}")
for ax in axes:
    ax.set_xlabel("w")
    ax.set_ylabel("J(w)")
plt.show()

# %% [markdown]
# ## 5. Gradient descent
#
# A parabola we can minimize by hand; a deep network with millions of parameters we cannot.
# **Gradient descent** only needs the derivative: start somewhere and repeatedly take a small
# step downhill,
#
# $$w \leftarrow w - \alpha \frac{\partial J}{\partial w},$$
#
# where $\alpha > 0$ is the **learning rate** (step size). On $J(w) = (w - 1)^2$,
# $\frac{\partial J}{\partial w} = 2(w - 1)$, so one step maps the distance to the minimum
# $w - 1$ to $(1 - 2\alpha)(w - 1)$: for a small $\alpha$ the distance shrinks a little at each
# step (slow progress); for $0.5 < \alpha < 1$ the factor is negative and $w$ jumps from one
# side of the minimum to the other (oscillation); for $\alpha > 1$ the jumps grow (divergence).


# %%
def gradient_descent_1d(grad, w0, lr, num_steps):
    """Iterates w_0, w_1, ..., w_num_steps of w <- w - lr * grad(w)."""
    path = [w0]
    for _ in range(num_steps):
        path.append(path[-1] - lr * grad(path[-1]))
    return np.array(path)


J_check, grad_check = (lambda w: w**2 - 2 * w + 1), (lambda w: 2 * w - 2)
num_steps = 20
paths = {lr: gradient_descent_1d(grad_check, -1.0, lr, num_steps) for lr in (0.05, 0.3, 0.9, 1.05)}
for lr, path in paths.items():
    print(f"lr = {lr:4}: factor 1 - 2 lr = {1 - 2 * lr:5.2f}, "
          f"w after {num_steps} steps = {path[-1]:9.4f}")

fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), layout="constrained")
for ax, lr, title in [
    (axes[0], 0.05, "small: slow progress"),
    (axes[1], 0.9, "large: oscillation"),
]:
    path = paths[lr]
    ax.plot(ws, J_check(ws), color="0.6")
    ax.plot(path, J_check(path), "o-", ms=4)
    ax.set_title(f"learning rate {lr} ({title})")
    ax.set_xlabel("w")
    ax.set_ylabel("J(w)")
for lr, path in paths.items():
    axes[2].semilogy(np.abs(path - 1), "o-", ms=3, label=f"lr = {lr}")
axes[2].set_xlabel("step")
axes[2].set_ylabel("|w - 1|")
axes[2].set_title("distance to the minimum")
axes[2].legend()
plt.show()

# %% [markdown]
# **Try it yourself.** The gradient-descent explorer runs the same update on $x^2$ (here with
# learning rate 0.9, which oscillates). Move the learning-rate slider (log scale) across 0.5
# and 1 and step through the run; the other functions and optimizers of the menu come back in
# lecture 02.

# %%
from course.widgets import gradient_descent_explorer  # noqa: E402 (an optional interactive cell)

gradient_descent_explorer(function="quadratic_1d", lr=0.9, steps=20)

# %% [markdown]
# ### Gradient descent on the line fit
#
# With both parameters, the partial derivatives of $J(w, b) = \frac1{2m}\sum_i(\hat y^{(i)}
# - y^{(i)})^2$ are (chain rule, the $\tfrac12$ cancels the 2)
#
# $$\frac{\partial J}{\partial w} = \frac1m \sum_i \big(\hat y^{(i)} - y^{(i)}\big)\, x^{(i)},
# \qquad \frac{\partial J}{\partial b} = \frac1m \sum_i \big(\hat y^{(i)} - y^{(i)}\big),$$
#
# and gradient descent updates both at once with the `gd_step` of section 1.


# %%
def grad_J(theta, x, y):
    """(dJ/dw, dJ/db) of the mean squared error for the line; x, y: (m,)."""
    residual = h(x, theta) - y  # (m,)
    return np.array([np.mean(residual * x), np.mean(residual)])


theta = np.array([0.0, 0.0])
path = [theta]
for _ in range(60):
    theta = gd_step(theta, grad_J(theta, x_train, y_train), lr=0.1)
    path.append(theta)
path = np.array(path)
w_gd, b_gd = theta
print(f"after 60 steps: w = {w_gd:.4f}, b = {b_gd:.4f}")
print(f"np.polyfit:     w = {slope_polyfit:.4f}, b = {intercept_polyfit:.4f}")
print(f"training J = {J(theta, x_train, y_train):.3f}, test J = {J(theta, x_test, y_test):.3f}")

# a square window with equal axes: one unit of w is as long as one unit of b on the screen
W, B = np.meshgrid(np.linspace(-40, 60, 121), np.linspace(-10, 90, 121))
Jgrid = np.mean(0.5 * (W[..., None] * x_train + B[..., None] - y_train) ** 2, axis=-1)
fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
axes[0].contour(W, B, Jgrid, levels=np.geomspace(Jgrid.min() + 1, Jgrid.max(), 15), cmap="viridis")
axes[0].plot(path[:, 0], path[:, 1], "r.-", ms=4, label="60 steps from (0, 0)")
axes[0].set_aspect("equal")
axes[0].set_xlabel("w")
axes[0].set_ylabel("b")
axes[0].set_title("contours of J(w, b): circles")
axes[0].legend(loc="lower right")
line = np.linspace(x_train_cm.min(), x_train_cm.max(), 2)
axes[1].scatter(x_train_cm, y_train, s=12, label="train")
axes[1].scatter(x_test_cm, y_test, s=20, marker="s", label="test")
axes[1].plot(line, h((line - mu) / sigma, theta), "k", label="fitted line")
axes[1].set_xlabel("height (cm)")
axes[1].set_ylabel("weight (kg)")
axes[1].set_title("the fitted line on training and test data")
axes[1].legend()
plt.show()

# %% [markdown]
# With standardized $x$ the contours are circles (the axes are drawn to the same scale), so the
# gradient points straight at the minimum and the path is a straight line.
#
# **Exercise.** Setting the two partial derivatives of $J(w, b)$ to zero gives the line in
# closed form: $\partial J/\partial b = 0$ gives $b = \bar y - w\bar x$, and substituting it
# into $\partial J/\partial w = 0$ gives
#
# $$w^\star = \frac{\sum_i (x^{(i)} - \bar x)(y^{(i)} - \bar y)}{\sum_i (x^{(i)} - \bar x)^2}
#          = \frac{\operatorname{cov}(x, y)}{\operatorname{var}(x)} .$$
#
# Compute the slope in **kg per cm** from the raw heights `x_train_cm` and weights `y_train`.

# %%
# exercise: the closed-form slope
answer = None  # your code here: one number, kg per cm
expected = np.polyfit(x_train_cm, y_train, deg=1)[0]  # least squares on [x, 1], another route
grading.exercise("slope in kg per cm", answer, expected,
                 hint="np.mean((x - x.mean()) * (y - y.mean())) / np.var(x) with x = x_train_cm")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: the closed-form slope
# dx, dy = x_train_cm - x_train_cm.mean(), y_train - y_train.mean()
# answer = np.sum(dx * dy) / np.sum(dx**2)
# expected = np.polyfit(x_train_cm, y_train, deg=1)[0]  # least squares on [x, 1], another route
# grading.exercise("slope in kg per cm", answer, expected,
#                  hint="np.mean((x - x.mean()) * (y - y.mean())) / np.var(x) with x = x_train_cm")
# ```
# It is the slope per standard deviation of section 4 divided by $\sigma$, about 0.94 kg per
# cm: standardizing $x$ changes the units of $w$, not the fitted line. A trap: `np.cov` divides
# by $m - 1$ and `np.var` by $m$, so `np.cov(x, y)[0, 1] / np.var(x)` is off by $m/(m-1)$.
# </details>

# %% [markdown]
# ## 6. Input normalization
#
# **Why.** $J(w, b)$ is a quadratic, so its curvature is one constant matrix, the Hessian
#
# $$H = \begin{pmatrix} \partial^2 J/\partial w^2 & \partial^2 J/\partial w\,\partial b \\
#       \partial^2 J/\partial b\,\partial w & \partial^2 J/\partial b^2 \end{pmatrix}
#     = \begin{pmatrix} \overline{x^2} & \bar x \\ \bar x & 1 \end{pmatrix},$$
#
# with bars for means over the training set. Gradient descent uses one learning rate for all
# directions: it must stay below $2/\lambda_{\max}$ (the largest eigenvalue of $H$) or the
# steepest direction diverges, and then the flattest direction, of curvature $\lambda_{\min}$,
# shrinks by only a factor $1 - \alpha\lambda_{\min}$ per step. The number of steps grows with
# the **condition number** $\kappa = \lambda_{\max} / \lambda_{\min}$. Here it is for the raw
# heights in cm, after scaling alone ($x / \sigma$), after centring alone ($x - \mu$) and after
# both. With $\alpha = 1/\lambda_{\max}$ the error along the flattest direction shrinks by the
# factor $1 - 1/\kappa$ per step; the last column counts the steps to shrink it 1000 times.


# %%
# check: L01 Hessian of the line fit
def hessian_line(x):
    """Hessian of J(w, b) = 1/(2m) sum (x w + b - y)^2 for inputs x: (m,). Returns (2, 2)."""
    return np.array([[np.mean(x**2), np.mean(x)], [np.mean(x), 1.0]])


# %%
# check the formula with centred differences of grad_J (linear in theta: a step of 1 is exact)
H_numeric = [(grad_J(e, x_train_cm, y_train) - grad_J(-e, x_train_cm, y_train)) / 2
             for e in np.eye(2)]
print("Hessian formula == centred differences:", np.allclose(hessian_line(x_train_cm), H_numeric))

variants = {
    "raw heights (cm)": x_train_cm,
    "scaled only": x_train_cm / sigma,
    "centred only": x_train_cm - mu,
    "centred and scaled": (x_train_cm - mu) / sigma,
}
print(f"{'input':19s} {'H_ww / H_bb':>11s} {'H_wb':>7s} {'condition':>10s} {'steps, 1000x':>13s}")
for name, x_variant in variants.items():
    H = hessian_line(x_variant)
    eigenvalues_H = np.linalg.eigvalsh(H)  # ascending
    kappa = eigenvalues_H[-1] / eigenvalues_H[0]
    shrink = 1 - 1 / kappa  # per step, along the flattest direction
    steps = 1 if shrink < 1e-9 else int(np.ceil(np.log(1e-3) / np.log(shrink)))
    coupling = np.round(H[0, 1], 2) + 0.0  # + 0.0 prints -0.0 as 0.0
    print(f"{name:19s} {H[0, 0] / H[1, 1]:11.3g} {coupling:7.2f} {kappa:10.2g} {steps:13,d}")

# %% [markdown]
# The ratio of the two diagonal curvatures, $\overline{x^2} \approx 170^2$, is not the whole
# story: the raw condition number is hundreds of times larger. The cause is the **coupling** of
# $w$ and $b$, the off-diagonal $\bar x$: with every height near 170, raising $w$ by 1 and
# lowering $b$ by 170 barely changes any prediction, so $J$ is a long, narrow valley that runs
# diagonally in the $(w, b)$ plane. Its determinant is $\overline{x^2} - \bar x^2 = \sigma^2$,
# the variance, so $\lambda_{\min} \approx \sigma^2 / \overline{x^2}$ is tiny. Scaling alone
# keeps the coupling ($\bar x / \sigma \approx 17$). **Centring** makes $\bar x = 0$ and the
# Hessian diagonal, $\operatorname{diag}(\sigma^2, 1)$, so $\kappa = \sigma^2$; scaling then
# makes it the identity, $\kappa = 1$, and one learning rate suits both directions: one step
# instead of tens of millions.
#
# **How.** Standardize every input feature, $x' = (x - \mu)/\sigma$, with $\mu$ and $\sigma$
# computed on the **training set only**, and apply the same $\mu$, $\sigma$ to the test set and to
# every future input. The test set stands for data we have not seen yet: statistics computed
# on it would let it influence the model (a *leak*), and a single new example at prediction
# time has no mean of its own. So the standardized test heights do not have mean exactly 0 and
# standard deviation exactly 1, and that is correct:

# %%
print(f"training heights: mean {x_train.mean():+.3f}, std {x_train.std():.3f}")
print(f"test heights:     mean {x_test.mean():+.3f}, std {x_test.std():.3f}")

# %% [markdown]
# Deep networks use the same recipe for their inputs: the LeNet of lecture 05 gets digits
# shifted and scaled by the mean and standard deviation of the training pixels. Inside a deep
# network, batch normalization (lecture 07) does the same for the hidden layers.
#
# **Exercise.** A new training split: `x_new_train_cm` and `x_new_test_cm` below. Standardize
# the test heights the right way.

# %%
x_new_train_cm, _, x_new_test_cm, _ = data.train_test_split(
    height, weight, test_fraction=0.2, seed=1, stratify=False
)

# %%
# exercise: standardize with training statistics
answer = None  # your code here: the standardized test heights, shape (20,)
scaler = StandardScaler().fit(x_new_train_cm[:, None])  # scikit-learn's reference
expected = scaler.transform(x_new_test_cm[:, None])[:, 0]
grading.exercise("standardized test heights", answer, expected,
                 hint="use the mean and std of x_new_train_cm, not those of the test set")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: standardize with training statistics
# answer = (x_new_test_cm - x_new_train_cm.mean()) / x_new_train_cm.std()
# scaler = StandardScaler().fit(x_new_train_cm[:, None])  # scikit-learn's reference
# expected = scaler.transform(x_new_test_cm[:, None])[:, 0]
# grading.exercise("standardized test heights", answer, expected,
#                  hint="use the mean and std of x_new_train_cm, not those of the test set")
# ```
# `np.std` divides by $m$, as `StandardScaler` does; `ddof=1` would divide by $m - 1$.
# </details>

# %% [markdown]
# ## 7. Multivariate regression and the design matrix
#
# With $n$ features per example, $\hat y = w_1 x_1 + \dots + w_n x_n + b$. We stack the $m$
# examples as the **rows** of a **design matrix** $X \in \mathbb{R}^{m \times (n+1)}$, with a
# first column of ones so that the bias becomes one more weight, $w_0 = b$. Then all
# predictions are one matrix–vector product,
#
# $$\hat{\mathbf y} = X \mathbf w, \qquad
# J(\mathbf w) = \frac1{2m} \lVert X\mathbf w - \mathbf y\rVert^2, \qquad
# \nabla_{\mathbf w} J = \frac1m X^\top (X\mathbf w - \mathbf y).$$
#
# **Deriving the gradient.** Name the residual vector $\mathbf u = \hat{\mathbf y} - \mathbf y
# = X\mathbf w - \mathbf y$, shape $(m,)$. Then $J$ is a chain of two simple maps,
# $\mathbf w \mapsto \mathbf u \mapsto J = \frac1{2m}\sum_i u_i^2$, with
#
# $$\frac{\partial J}{\partial u_i} = \frac{u_i}{m}, \qquad
# u_i = \sum_j X_{ij} w_j - y_i \;\Rightarrow\; \frac{\partial u_i}{\partial w_j} = X_{ij}.$$
#
# The chain rule sums over every path from $w_j$ to $J$, one through each $u_i$:
#
# $$\frac{\partial J}{\partial w_j} = \sum_{i=1}^m \frac{\partial J}{\partial u_i}
#   \frac{\partial u_i}{\partial w_j} = \frac1m \sum_{i=1}^m X_{ij}\, u_i
#   = \frac1m \big(X^\top \mathbf u\big)_j ,$$
#
# and stacking the $j$'s gives $\nabla_{\mathbf w} J = \frac1m X^\top \mathbf u$. With one
# feature and the column of ones, its two entries are the $\partial J/\partial w$ and
# $\partial J/\partial b$ of section 5.
#
# **Shape check** (denominator layout: the gradient has the shape of $\mathbf w$):
# $X$ is $(m, n{+}1)$, $\mathbf w$ is $(n{+}1,)$, so $\mathbf u = X\mathbf w - \mathbf y$ is
# $(m,)$, and $X^\top$ of shape $(n{+}1, m)$ brings it back to $(n{+}1,)$. The other order,
# $\mathbf u^\top X$, has the same numbers as a row: the shapes tell you where the transpose
# goes.
#
# **One example per row.** NumPy stores arrays row-major ("C order"): the features of one
# example sit next to each other in memory, which is what a data loader reads and what a
# mini-batch slices (`X[i:i+batch_size]`), so batches are contiguous blocks of memory.
#
# The data set: scikit-learn's **diabetes** set (Efron et al., 2004), 442 patients, 10
# features (age, sex, body-mass index, blood pressure, six blood serum measurements) and a
# measure of disease progression one year later. As with the heights, we split 80/20 first
# and then standardize every feature with the mean and standard deviation of the *training*
# patients.

# %%
X_raw, y_all = data.load_diabetes(standardize=False)  # original units
feature_names = ["bias", *sk_load_diabetes().feature_names]
X_all = np.column_stack([np.ones(len(X_raw)), X_raw])  # (442, 11): a column of ones first
diabetes = data.train_test_split(X_all, y_all, test_fraction=0.2, seed=0, stratify=False)
# standardize the 10 features (not the column of ones) with training statistics only
feature_mean = diabetes.X_train[:, 1:].mean(axis=0)  # (10,)
feature_std = diabetes.X_train[:, 1:].std(axis=0)  # (10,)
X, X_test = diabetes.X_train.copy(), diabetes.X_test.copy()
X[:, 1:] = (X[:, 1:] - feature_mean) / feature_std
X_test[:, 1:] = (X_test[:, 1:] - feature_mean) / feature_std
y, y_test_d = diabetes.y_train, diabetes.y_test
print(f"all data: {X_raw.shape} features -> design matrix {X_all.shape}")
print(f"X: {X.shape}, y: {y.shape}; C-contiguous: {X.flags['C_CONTIGUOUS']}")
print(f"strides of X: {X.strides} bytes -> the next feature is {X.strides[1]} bytes away, "
      f"the next example {X.strides[0]} bytes away")

fig, ax = plt.subplots(figsize=(7, 3.6))
im = ax.imshow(X[:15], cmap="coolwarm", vmin=-2.5, vmax=2.5)
ax.set_xticks(range(len(feature_names)), feature_names, rotation=45)
ax.set_ylabel("example (row)")
ax.set_title("the first 15 rows of the design matrix X")
fig.colorbar(im, ax=ax, shrink=0.8, label="standardized value")
plt.show()


# %%
# check: L01 vectorized gradient
def predict(X, w):
    """y_hat = X w. X: (m, n), w: (n,). Returns (m,)."""
    if X.ndim != 2 or w.shape != (X.shape[1],):
        raise ValueError(f"X must be (m, n) and w (n,); got X {X.shape} and w {w.shape}")
    return X @ w


def mse(X, y, w):
    """J(w) = 1/(2m) ||X w - y||^2. X: (m, n), y: (m,), w: (n,)."""
    residual = predict(X, w) - y  # (m,)
    return residual @ residual / (2 * len(y))


def gradient(X, y, w):
    """grad J(w) = 1/m X^T (X w - y). X: (m, n), y: (m,), w: (n,). Returns (n,)."""
    u = predict(X, w) - y  # (m,) the residual y_hat - y
    return X.T @ u / len(y)  # (n, m) @ (m,) -> (n,)


# %%
w0 = rng.normal(size=X.shape[1])
print(f"shapes: X {X.shape}, w {w0.shape}, Xw - y {(predict(X, w0) - y).shape}, "
      f"gradient {gradient(X, y, w0).shape}")
try:
    predict(X, w0[:5])
except ValueError as e:
    print("a wrong shape is caught:", e)

# %% [markdown]
# **A numerical check of the derivation.** Nudge one weight at a time by $\pm\varepsilon$ and
# take the centred difference $\frac{J(\mathbf w + \varepsilon\mathbf e_j) - J(\mathbf w -
# \varepsilon\mathbf e_j)}{2\varepsilon}$ (section 3). $J$ is quadratic, so its third
# derivative is zero and the centred difference is exact up to rounding: the relative error
# should be tiny, about $10^{-8}$ or less. A wrong formula (a missing $\frac1m$, a forgotten
# transpose) would give an error of order 1.

# %%
eps = 1e-5
numeric_grad = np.zeros_like(w0)
for j in range(len(w0)):
    e_j = np.zeros_like(w0)
    e_j[j] = 1.0
    numeric_grad[j] = (mse(X, y, w0 + eps * e_j) - mse(X, y, w0 - eps * e_j)) / (2 * eps)
analytic_grad = gradient(X, y, w0)
rel_error = np.abs(analytic_grad - numeric_grad).max() / np.abs(analytic_grad).max()
print(f"largest |gradient entry| {np.abs(analytic_grad).max():.1f}, relative error {rel_error:.1e}")

# %% [markdown]
# **Exercise.** A tiny data set: four examples, a column of ones and two features. Compute the
# gradient of $J(\mathbf w) = \frac1{2m}\lVert X\mathbf w - \mathbf y\rVert^2$ at `w_ex` with
# one vectorized NumPy expression (not with `gradient`).

# %%
# exercise: the gradient, vectorized
X_ex = np.array([[1.0, 2.0, -1.0], [1.0, 0.0, 3.0], [1.0, -1.0, 1.0], [1.0, 4.0, 0.0]])  # (4, 3)
y_ex = np.array([1.0, 2.0, 0.0, 5.0])  # (4,)
w_ex = np.array([0.5, 1.0, -1.0])  # (3,)
answer = None  # your code here: shape (3,)
w_torch_ex = torch.tensor(w_ex, requires_grad=True)  # the reference: autograd
(0.5 * ((torch.from_numpy(X_ex) @ w_torch_ex - torch.from_numpy(y_ex)) ** 2).mean()).backward()
grading.exercise("gradient of J at w_ex", answer, w_torch_ex.grad,
                 hint="u = X_ex @ w_ex - y_ex has shape (4,); then X_ex.T @ u / 4")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: the gradient, vectorized
# X_ex = np.array([[1.0, 2.0, -1.0], [1.0, 0.0, 3.0], [1.0, -1.0, 1.0], [1.0, 4.0, 0.0]])  # (4, 3)
# y_ex = np.array([1.0, 2.0, 0.0, 5.0])  # (4,)
# w_ex = np.array([0.5, 1.0, -1.0])  # (3,)
# answer = X_ex.T @ (X_ex @ w_ex - y_ex) / len(y_ex)
# w_torch_ex = torch.tensor(w_ex, requires_grad=True)  # the reference: autograd
# (0.5 * ((torch.from_numpy(X_ex) @ w_torch_ex - torch.from_numpy(y_ex)) ** 2).mean()).backward()
# grading.exercise("gradient of J at w_ex", answer, w_torch_ex.grad,
#                  hint="u = X_ex @ w_ex - y_ex has shape (4,); then X_ex.T @ u / 4")
# ```
# `(X_ex @ w_ex - y_ex) @ X_ex / 4` gives the same numbers; `X_ex @ (X_ex @ w_ex - y_ex)` fails
# with a shape error, which is the shape check doing its job.
# </details>

# %% [markdown]
# ### Loops vs vectorized code
#
# The same gradient written with Python loops, one multiplication at a time, gives the same
# numbers and is much slower: each loop iteration runs in the Python interpreter, while
# `X.T @ residual` runs one compiled, cache-friendly routine over whole arrays. We time both
# on data sets of growing size.


# %%
def gradient_loops(X, y, w):
    """The same gradient with explicit Python loops (for comparison only)."""
    m, n = X.shape
    residual = [sum(X[i, j] * w[j] for j in range(n)) - y[i] for i in range(m)]
    return np.array([sum(X[i, j] * residual[i] for i in range(m)) / m for j in range(n)])


def best_time(func, *args, repeats=3):
    """Shortest wall-clock time of `repeats` calls, in seconds."""
    return min(timeit.repeat(lambda: func(*args), number=1, repeat=repeats))


print("same result:", np.allclose(gradient_loops(X, y, w0), gradient(X, y, w0)))
print(f"{'m':>6s} {'loops (ms)':>11s} {'vectorized (ms)':>16s} {'speed-up':>9s}")
for m in [100, 300, 1000, 3000]:
    Xm, ym = data.make_linear(n=m, d=10, seed=1)
    Xm = np.column_stack([np.ones(m), Xm])  # (m, 11)
    t_loop = best_time(gradient_loops, Xm, ym, w0, repeats=1 if m > 1000 else 3)
    t_vec = best_time(gradient, Xm, ym, w0, repeats=20)
    print(f"{m:6d} {1e3 * t_loop:11.2f} {1e3 * t_vec:16.4f} {t_loop / t_vec:8.0f}x")

# %% [markdown]
# ## 8. Closed-form least squares vs gradient descent on diabetes
#
# $J$ is a convex quadratic in $\mathbf w$, so its minimum is where the gradient is zero:
# $X^\top(X\mathbf w - \mathbf y) = 0$, the **normal equations**
#
# $$X^\top X\, \mathbf w^\star = X^\top \mathbf y .$$
#
# We solve them two independent ways. `np.linalg.lstsq` works on $X$ itself: LAPACK's `gelsd`
# takes a singular value decomposition of $X$ and never forms $X^\top X$, which keeps it
# accurate when $X$ is badly conditioned; this is our reference. The second route forms the
# normal equations and solves the $11 \times 11$ system with `np.linalg.solve` (an LU
# factorization, LAPACK's `gesv`). (scikit-learn's `LinearRegression` would be no independent
# check: it calls SciPy's `lstsq`, which runs the same `gelsd`.) Then gradient descent from
# $\mathbf w = 0$ with the learning rate $1/\lambda_{\max}$, where $\lambda_{\max}$ is the
# largest eigenvalue of $\frac1m X^\top X$ (the curvature of $J$ in its steepest direction).

# %%
w_ls = np.linalg.lstsq(X, y, rcond=None)[0]  # SVD of X (gelsd): the reference
w_normal = np.linalg.solve(X.T @ X, X.T @ y)  # the normal equations (LU of X^T X, gesv)
print(f"lstsq vs normal equations: max |difference| = {np.abs(w_ls - w_normal).max():.1e}")

eigenvalues = np.linalg.eigvalsh(X.T @ X / len(y))
lr = 1 / eigenvalues.max()
print(f"curvatures from {eigenvalues.min():.4f} to {eigenvalues.max():.3f} "
      f"(condition number {eigenvalues.max() / eigenvalues.min():.0f}); learning rate {lr:.3f}")

w = np.zeros(X.shape[1])
J_ls = mse(X, y, w_ls)
gaps, distances = [], []
for _ in range(3000):
    w = w - lr * gradient(X, y, w)
    gaps.append(mse(X, y, w) - J_ls)
    distances.append(np.linalg.norm(w - w_ls))
for step in (10, 100, 1000, 3000):
    print(f"step {step:5d}: J - J* = {gaps[step - 1]:9.2e}, "
          f"||w - w*|| = {distances[step - 1]:8.4f}")
for name, weights in [("closed form", w_ls), ("gradient descent", w)]:
    train_mse, test_mse = 2 * mse(X, y, weights), 2 * mse(X_test, y_test_d, weights)
    print(f"{name:17s}: train MSE {train_mse:8.1f}, test MSE {test_mse:8.1f}")

fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
axes[0].semilogy(gaps, label=r"$J(\mathbf{w}_t) - J(\mathbf{w}^\star)$")
axes[0].semilogy(distances, label=r"$\|\mathbf{w}_t - \mathbf{w}^\star\|$")
axes[0].set_xlabel("gradient-descent step")
axes[0].set_ylabel("gap to the closed form (log scale)")
axes[0].legend()
axes[0].set_title("gradient descent approaches the closed form")
position = np.arange(len(w_ls))
axes[1].bar(position - 0.2, w_ls, 0.4, label="closed form")
axes[1].bar(position + 0.2, w, 0.4, label="gradient descent")
axes[1].set_xticks(position, feature_names, rotation=45)
axes[1].set_title("fitted weights")
axes[1].set_ylabel(r"weight $w_j$")
axes[1].legend()
plt.show()

# %% [markdown]
# The fast initial drop and the slow tail have one cause: the ratio of the largest to the
# smallest curvature (the condition number printed above). Two serum features of the diabetes
# set are strongly correlated, which makes one direction of the valley almost flat; gradient
# descent crawls along it. The closed form does not care — but it costs $O(mn^2 + n^3)$ and
# needs all data in memory, which is why deep learning, with millions of parameters and no
# closed form at all, uses gradient descent (lecture 02).

# %%
print(f"correlation of s1 and s2: {np.corrcoef(X_raw[:, 4], X_raw[:, 5])[0, 1]:.3f}")

# %% [markdown]
# ### The same fit in PyTorch
#
# Every later lecture writes models in PyTorch, so here is the same linear regression with its
# building blocks: `nn.Linear(10, 1)` holds the weights and the bias (so we drop our column of
# ones), `nn.MSELoss` is the objective, `loss.backward()` computes its gradient by autograd
# (lecture 03 shows how) and `torch.optim.SGD` takes the step. To make it the same algorithm as
# our NumPy loop we start from zero weights, and we halve the learning rate: `nn.MSELoss` has no
# $\frac12$, so its gradient is twice ours. Every step uses the whole training set; with random
# mini-batches the same loop becomes *stochastic* gradient descent (lecture 02).

# %%
X_torch = torch.from_numpy(X[:, 1:])  # (354, 10) float64, without the column of ones
y_torch = torch.from_numpy(y)[:, None]  # (354, 1), the shape the model outputs
model = nn.Linear(10, 1, dtype=torch.float64)
with torch.no_grad():  # start from w = 0, b = 0 like the NumPy run
    model.weight.zero_()
    model.bias.zero_()
loss_fn = nn.MSELoss()  # mean of (y_hat - y)^2, no 1/2
optimizer = torch.optim.SGD(model.parameters(), lr=lr / 2)
for step in range(3000):
    optimizer.zero_grad()  # .backward() adds to .grad, so clear it first
    loss = loss_fn(model(X_torch), y_torch)  # forward: predictions (354, 1) -> one number
    loss.backward()  # gradients of the loss in model.weight.grad and model.bias.grad
    optimizer.step()  # w <- w - lr * grad for every parameter

w_pytorch = np.concatenate([model.bias.detach().numpy(), model.weight.detach().numpy()[0]])
print(f"max |w_pytorch - w| (our NumPy gradient descent): {np.abs(w_pytorch - w).max():.1e}")
print(f"max |w_pytorch - w*| (the closed form):          {np.abs(w_pytorch - w_ls).max():.3f}")
with torch.no_grad():
    y_hat_pytorch = model(torch.from_numpy(X_test[:, 1:]))  # (88, 1)
    test_mse_pytorch = loss_fn(y_hat_pytorch, torch.from_numpy(y_test_d)[:, None]).item()
print(f"test MSE: PyTorch {test_mse_pytorch:.1f}, "
      f"closed form {2 * mse(X_test, y_test_d, w_ls):.1f}")

# %% [markdown]
# <details><summary><b>Check yourself.</b> Why does the design matrix need a column of ones?
# </summary>
#
# Without it $\hat{\mathbf y} = X\mathbf w$ is a line (plane) through the origin. The column
# of ones multiplies $w_0$, so $w_0$ is added to every prediction: it is the bias $b$, learned
# like any other weight.
# </details>
#
# <details><summary><b>Check yourself.</b> Which of the two errors printed above, training or
# test, is an honest estimate of the error on new patients? Why is the other one usually
# too optimistic?</summary>
#
# The test error: the test patients played no part in choosing $\mathbf w$. The weights were
# chosen to make the *training* error as small as possible, so they fit some of the training
# set's noise as well, which does not carry over to new patients. (With 11 weights and 354
# examples that effect is small, and on a given split the test error can even come out a
# little lower, as it does here by chance; in deep networks with millions of weights the gap
# can be large.)
# </details>

# %% [markdown]
# ## Summary
#
# * Deep learning ⊂ machine learning ⊂ AI. Every learning method = **model** $h(x \mid
#   \theta)$ + **objective** $J(\theta)$ + **optimizer**.
# * Fit on a training set, report on a held-out test set (here 80/20), and transform the test
#   set with statistics of the training set.
# * The squared loss $\tfrac12(\hat y - y)^2$ is smooth, its gradient is the residual, and the
#   $\tfrac12$ cancels the 2; $|\hat y - y|$ is robust to outliers but has a kink. Under
#   Gaussian noise the negative log-likelihood is a constant plus a multiple of the mean squared
#   error: least squares is maximum likelihood.
# * Sum, product, quotient and chain rules; check derivatives with centred differences;
#   at kinks, use a subgradient ($[-1, 1]$ for $|x|$, $[0, 1]$ for $\max(x, 0)$ at 0).
# * For fixed $b$, $J(w) = c_1w^2 + c_2w + c_3$ with minimum at $w^\star = -c_2/(2c_1)$.
# * Gradient descent $w \leftarrow w - \alpha\, \partial J/\partial w$: too small $\alpha$ is
#   slow, too large oscillates or diverges.
# * Its speed depends on the condition number of the Hessian: raw heights give $\kappa \approx
#   10^7$ because $\bar x$ couples $w$ and $b$; centring removes the coupling, scaling equalizes
#   the curvatures. Standardize with the **training** set's $\mu$, $\sigma$, applied to all data.
# * Vectorize: $\hat{\mathbf y} = X\mathbf w$, $\nabla J = \frac1m X^\top \mathbf u$ with
#   $\mathbf u = X\mathbf w - \mathbf y$ (chain rule through $\mathbf u$), with a shape check
#   and a finite-difference check; loops are orders of magnitude slower.
# * Least squares has a closed form (solve it from $X$, e.g. by SVD, rather than from
#   $X^\top X$); gradient descent reaches it, slowly along flat directions. In PyTorch the same
#   fit is `nn.Linear` + `nn.MSELoss` + `optim.SGD` in a four-line loop.
#
# ## Further reading
#
# * I. Goodfellow, Y. Bengio, A. Courville. *Deep Learning*. MIT Press, 2016. Chapters 1
#   (introduction), 4 (numerical computation, gradient descent) and 5.1 (linear regression).
# * A. Zhang, Z. C. Lipton, M. Li, A. J. Smola. *Dive into Deep Learning*. Cambridge
#   University Press, 2023. Chapter 3 (linear neural networks for regression).
# * C. M. Bishop. *Pattern Recognition and Machine Learning*. Springer, 2006. Chapter 3
#   (linear models for regression).
# * T. Hastie, R. Tibshirani, J. Friedman. *The Elements of Statistical Learning*, 2nd ed.
#   Springer, 2009. Chapter 3 (linear methods for regression).
# * T. M. Mitchell. *Machine Learning*. McGraw-Hill, 1997. Chapter 1 (the definition of
#   learning from experience).
# * A. L. Samuel. Some studies in machine learning using the game of checkers. *IBM Journal of
#   Research and Development* 3(3):210–229, 1959.
# * Y. LeCun, Y. Bengio, G. Hinton. Deep learning. *Nature* 521:436–444, 2015.
# * A.-L. Cauchy. Méthode générale pour la résolution des systèmes d'équations simultanées.
#   *Comptes rendus de l'Académie des sciences* 25:536–538, 1847 (gradient descent).
# * S. Boyd, L. Vandenberghe. *Convex Optimization*. Cambridge University Press, 2004.
#   Chapter 9 (gradient descent and its convergence).
# * B. Efron, T. Hastie, I. Johnstone, R. Tibshirani. Least angle regression. *The Annals of
#   Statistics* 32(2):407–499, 2004 (the diabetes data).
