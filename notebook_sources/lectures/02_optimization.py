# %% [markdown]
# # Lecture 02 — Optimization: gradient descent and its descendants
#
# Lecture 01 fitted a line by gradient descent. A deep network is fitted the same way, but
# its loss is a function of millions of parameters, it is not a bowl, and it is an average
# over millions of examples. This lecture follows gradient descent from one dimension to
# those networks, and meets on the way the ideas that every modern optimizer is built from:
# mini-batches, learning-rate schedules, momentum and per-coordinate learning rates. Each
# update rule is written here as a short NumPy function that you can read and edit, and is
# checked against `torch.optim`.
#
# **Learning goals.** After this lecture you can
# 1. write training as the minimization of an average loss $L(\theta)$;
# 2. run gradient descent with a stopping rule, and predict from the curvature whether a
#    learning rate converges, bounces or diverges;
# 3. tell local minima, maxima and saddle points apart with the Hessian;
# 4. explain why stochastic gradient descent trades the expensive full gradient for a cheap
#    noisy one (mini-batches, epochs, variance $\propto 1/B$), and why a decaying learning
#    rate gets below its noise floor;
# 5. write momentum, RMSprop and Adam as code, say what each fixes and what it costs, and
#    know Nesterov's accelerated gradient and Adagrad;
# 6. compare the optimizers on a hard function and choose a sensible default.
#
# The **gradient-descent explorer** runs the optimizers of this lecture on test functions
# (with `course.optim`, which takes the same steps as `torch.optim`; section 10 checks it).
# Each explorer starts in the state its section discusses; then change anything. Sections
# marked *(optional)* at the end go deeper; the core path does not need them.

# %% setup

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from course import data, grading, gradcheck, optim, surfaces
from course.widgets import gradient_descent_explorer

COLORS = {"gd": "#0072B2", "momentum": "#D55E00", "rmsprop": "#E69F00", "adam": "#000000"}


def draw_surface(surface, ax, n=200, num_levels=25, delta=0.05):
    """Contours of a 2-D `course.surfaces` surface (log-spaced levels when its minimum is
    known), its minima (stars) and saddle points (crosses); returns ax."""
    X, Y, Z = surface.grid(n)  # (n, n) each
    V = Z if surface.min_value is None else np.log10(Z - surface.min_value + delta)
    ax.contourf(X, Y, V, levels=num_levels, cmap="Blues_r", alpha=0.55)
    ax.contour(X, Y, V, levels=num_levels, colors="0.4", linewidths=0.4, alpha=0.6)
    for m in surface.minima:
        ax.plot(*m, "*", ms=13, color="white", mec="k", zorder=5)
    for s in surface.saddles:
        ax.plot(*s, "X", ms=9, color="#d62728", mec="k", zorder=5)
    ax.set(xlim=surface.xlim, ylim=surface.ylim, aspect="equal", xlabel="x", ylabel="y")
    return ax


# %% [markdown]
# ## 1. Learning is minimizing an average loss
#
# A network $\mathrm{NN}_\theta$ maps an input $x$ to a prediction; $\theta$ collects *all*
# its weights and biases, $P$ numbers. A loss $l(\hat y, y)$ scores one prediction (the
# squared error of lecture 01, the cross-entropy for classification). Training on
# $\{(x^{(i)}, y^{(i)})\}_{i=1}^n$ means finding a $\theta$ that makes the **average loss**
#
# $$L(\theta) = \frac1n \sum_{i=1}^n l\big(\mathrm{NN}_\theta(x^{(i)}), y^{(i)}\big)$$
#
# small. This is the objective $J$ of lecture 01; for a network it has no closed-form
# minimum, and we minimize it with the gradient
#
# $$\nabla L(\theta) = \frac1n \sum_{i=1}^n \nabla_\theta\, l\big(\mathrm{NN}_\theta(x^{(i)}),
# y^{(i)}\big):$$
#
# the gradient of an average is the average of the per-example gradients (section 6 builds
# on this). Our example: a multilayer perceptron (two hidden layers of 16 tanh units) that
# classifies the 200 points of the two-moons data set with the cross-entropy
# $l(z, y) = -\log \operatorname{softmax}(z)_y$. We compute $L$ as an explicit average,
# compare with PyTorch's `cross_entropy`, and check the identity above on 200 per-example
# gradients. **The gradients come from `.backward()`**, PyTorch's automatic
# differentiation; lecture 03 shows how it works (backpropagation).

# %%
X_moons, y_moons = data.make_moons(n=200, noise=0.1, seed=0)
X_m, y_m = torch.tensor(X_moons), torch.tensor(y_moons)  # (200, 2) float64, (200,) int64


def make_mlp(hidden=16, seed=0):
    """2 inputs -> hidden -> hidden -> 2 class scores, tanh activations, float64."""
    torch.manual_seed(seed)
    layers = [nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh()]
    return nn.Sequential(*layers, nn.Linear(hidden, 2)).double()


def average_loss(model, X, y):
    """L = 1/n sum_i -log softmax(NN(x_i))_{y_i}. X: (n, 2), y: (n,). Returns L and (n,)."""
    log_p = torch.log_softmax(model(X), dim=1)  # (n, 2)
    per_example = -log_p[torch.arange(len(y)), y]  # (n,): -log p(true class)
    return per_example.mean(), per_example


def flat_grad(model):
    return torch.cat([p.grad.flatten() for p in model.parameters()])  # (P,)


model = make_mlp()
L = average_loss(model, X_m, y_m)[0]
torch_L = nn.functional.cross_entropy(model(X_m), y_m).item()
print(f"P = {sum(p.numel() for p in model.parameters())} parameters, n = {len(y_m)} examples")
print(f"L(theta_0) = {L.item():.6f}; torch: {torch_L:.6f}")
L.backward()  # autograd fills p.grad with dL/dp for every parameter p (lecture 03)
grad_of_average, average_of_grads = flat_grad(model), 0.0
for i in range(len(y_m)):
    model.zero_grad()
    average_loss(model, X_m[i : i + 1], y_m[i : i + 1])[0].backward()
    average_of_grads = average_of_grads + flat_grad(model) / len(y_m)
difference = (grad_of_average - average_of_grads).abs().max().item()
print(f"max |grad of the average - average of the 200 gradients| = {difference:.1e}")

# %% [markdown]
# ## 2. Gradient descent in one dimension
#
# A climber in thick fog wants to get down to the valley. She can only feel the slope under
# her feet, so she takes a step downhill, feels again, steps again, and stops when the ground
# feels flat. That is gradient descent on a function $f(x)$: the slope is $f'(x)$, the step
# length is set by the **learning rate** $\eta > 0$, and "flat" means a slope smaller than a
# tolerance $\varepsilon$:
#
# $$x_{t+1} = x_t - \eta\, f'(x_t), \qquad \text{stop when } |f'(x_t)| < \varepsilon .$$
#
# Why downhill: for a small step, $f(x_t - \eta f'(x_t)) \approx f(x_t) - \eta f'(x_t)^2$,
# which is smaller than $f(x_t)$ whenever $f'(x_t) \neq 0$. The fog has a price: flat ground
# is not necessarily the lowest valley. We run the rule on the tilted double well
# $f(x) = (x^2 - 1)^2 + 0.3x$ of `course.surfaces`, from both sides, with three tolerances.


# %%
def gradient_descent_1d(df, x0, lr, eps, max_steps=10_000):
    """x <- x - lr * df(x) until |df(x)| < eps (or max_steps); returns the iterates (k+1,)."""
    xs = [x0]
    while abs(df(xs[-1])) >= eps and len(xs) <= max_steps:
        xs.append(xs[-1] - lr * df(xs[-1]))
    return np.array(xs)


well = surfaces.get("double_well_1d")


def well_slope(x):
    return well.df(x)[0]


print(f"minima of {well.title}: {[round(m[0], 4) for m in well.minima]} (the global one first)")
slope_header = "|f'(x_end)|"
print(f"{'start':>6s} {'eps':>7s} {'steps':>6s} {'x_end':>8s} {slope_header:>11s} {'f(x_end)':>9s}")
climbs = {}
for x0 in (-1.8, 1.8):
    for eps in (1e-2, 1e-4, 1e-6):
        xs = gradient_descent_1d(well_slope, x0, lr=well.lr, eps=eps)
        climbs[x0, eps] = xs
        print(
            f"{x0:6.1f} {eps:7.0e} {len(xs) - 1:6d} {xs[-1]:8.4f} "
            f"{abs(well_slope(xs[-1])):11.1e} {well.f(xs[-1]):9.4f}"
        )

fig, ax = plt.subplots(figsize=(6, 3.2))
ax.plot(*well.grid(400), color="0.4")
for x0, colour in ((-1.8, "#0072B2"), (1.8, "#D55E00")):
    ax.plot(climbs[x0, 1e-6], well.f(climbs[x0, 1e-6]), "o-", ms=3, color=colour,
            label=f"start {x0}")  # fmt: skip
ax.set(xlabel="x", ylabel="f(x)", title="the climber ends in the nearest valley")
ax.legend()
plt.show()

# %% [markdown]
# Both climbers stop where the ground is flat, but the one who started on the right stops in
# the higher valley: a **local minimum**. Gradient descent only knows the slope where it
# stands. A smaller $\varepsilon$ buys more digits of $x$ for a few more steps: near a
# minimum the slope shrinks by a constant factor per step (section 3 computes it), so each
# extra digit costs about the same number of steps.
#
# <details><summary><b>Check yourself.</b> How could the climber from $x_0 = 1.8$ find out
# that she is not at the lowest point?</summary>
#
# Not from local information: the rule only says the slope is zero. She can restart from
# other points and keep the best end (from the left, $f$ ends lower), or add noise to the
# steps, which can hop over a low barrier (section 11 shows noise leaving a saddle point).
# </details>

# %% [markdown]
# ## 3. Check: gradient descent on $f(x) = x^2$
#
# From here on, an optimizer is a **step function** `(x, grad, state, **hyper) -> (x, state)`:
# `state` is a dictionary of what it remembers between steps (gradient descent remembers
# nothing). `minimize` is the loop every optimizer of this lecture runs in.


# %%
# check: L02 sgd_step and the loop
def sgd_step(x, grad, state, lr):
    """Gradient descent, as torch.optim.SGD: x <- x - lr grad. x, grad: (D,). No state."""
    return x - lr * grad, state


def minimize(step, grad, x0, num_steps, max_abs=1e6, **hyper):
    """Iterates (k + 1, D) of `step` from x0 with grad: (D,) -> (D,); k < num_steps when an
    iterate leaves |x_i| <= max_abs or is not finite (divergence)."""
    x, state = np.array(x0, dtype=np.float64).reshape(-1), {}
    path = [x]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(num_steps):
            x, state = step(x, grad(x), state, **hyper)
            path.append(x)
            if not np.all(np.abs(x) <= max_abs):  # also catches nan
                break
    return np.array(path)


# %% [markdown]
# The parabola $f(x) = x^2$ has $f'(x) = 2x$, so one step of gradient descent is
#
# $$x_{t+1} = x_t - \eta \cdot 2x_t = (1 - 2\eta)\, x_t
# \qquad\Longrightarrow\qquad x_t = (1 - 2\eta)^t x_0, \quad f(x_t) = (1 - 2\eta)^{2t} x_0^2 .$$
#
# Everything depends on the factor $1 - 2\eta$:
#
# * $0 < \eta < 1$: $|1 - 2\eta| < 1$, and $x_t \to 0$ — gradient descent **converges**
#   (monotonically for $\eta < \frac12$, from side to side for $\frac12 < \eta < 1$);
# * $\eta = 1$: the factor is $-1$, and $x$ **bounces between $x_0$ and $-x_0$ forever**;
# * $\eta > 1$: $|1 - 2\eta| > 1$, $|x_t|$ grows geometrically — gradient descent **diverges**.
#
# We run `sgd_step` with $\eta = 0.01, 0.1, 1, 100, 1000$ from $x_0 = 2$ and compare
# $f(x_t)$ with the closed form.

# %%
# check: L02 gd on x squared
X0 = 2.0
NUM_STEPS = 8
LEARNING_RATES = (0.01, 0.1, 1.0, 100.0, 1000.0)


def gd_on_x_squared(lr, x0=X0, num_steps=NUM_STEPS):
    """sgd_step on f(x) = x^2: iterates x_t and values f(x_t), (T+1,) each; no divergence
    cut-off (max_abs=inf), so that every step of a diverging run is shown."""
    xs = minimize(sgd_step, lambda x: 2 * x, [x0], num_steps, max_abs=np.inf, lr=lr)[:, 0]
    return xs, xs**2  # (T+1,), (T+1,)


# %%
table = {lr: gd_on_x_squared(lr) for lr in LEARNING_RATES}
print(f"f(x_t) on f(x) = x^2 from x_0 = {X0}")
print("   t" + "".join(f"{'η = ' + format(lr, 'g'):>15s}" for lr in LEARNING_RATES))
for t in range(NUM_STEPS + 1):
    print(f"{t:4d}" + "".join(f"{table[lr][1][t]:15.6g}" for lr in LEARNING_RATES))
for lr in LEARNING_RATES:
    factor = 1 - 2 * lr
    verdict = "converges" if abs(factor) < 1 else "bounces" if factor == -1 else "diverges"
    error = np.max(np.abs(table[lr][1] / (factor ** (2 * np.arange(NUM_STEPS + 1)) * X0**2) - 1))
    print(f"η = {lr:<6g}: |1 - 2η| = {abs(factor):<6g} -> {verdict:9s} "
          f"(largest relative difference to the closed form: {error:.0e})")  # fmt: skip
print("η = 1, the iterates x_t:", table[1.0][0])

# %% [markdown]
# **Try it yourself.** The explorer starts at $\eta = 1$: the point bounces between $\pm 2$,
# as the line under the plot (computed from $f'' = 2$) says. Raise $\eta$ past 1 (the red
# badge names the step where $|x|$ passes $10^6$), then try $\eta = 0.5$ and $0.8$.

# %%
explorer = gradient_descent_explorer(function="quadratic_1d", lr=1.0, steps=20)
assert np.array_equal(np.abs(explorer.runs["gd"].points[:, 0]), np.full(21, 2.0))
explorer

# %% [markdown]
# ## 4. Gradient descent in $D$ dimensions
#
# With $D$ parameters $x = (x_1, \dots, x_D)$ the slope becomes the **gradient**, the vector
# of partial derivatives,
#
# $$\nabla f(x) = \Big(\frac{\partial f}{\partial x_1}, \dots, \frac{\partial f}{\partial x_D}
# \Big), \qquad x_{t+1} = x_t - \eta\, \nabla f(x_t), \qquad
# \text{stop when } \lVert \nabla f(x_t) \rVert < \varepsilon .$$
#
# The slope of $f$ in the direction of a unit vector $u$ is $\nabla f(x) \cdot u$, which is
# smallest for $u = -\nabla f / \lVert \nabla f \rVert$: the negative gradient is the
# direction of **steepest descent**, and it is perpendicular to the contour line through
# $x$. Our example is the elongated bowl $f(x, y) = \frac12(x^2 + 20y^2)$
# (`"ill_conditioned"` in `course.surfaces`), whose gradient is $(x, 20y)$; we check the
# hand-written gradient with finite differences below.

# %% [markdown]
# How large may $\eta$ be? Along each axis the bowl is a parabola: $\frac12 x^2$ with
# curvature $\mu = 1$ and $\frac{20}2 y^2$ with curvature $L = 20$ (the eigenvalues of the
# Hessian, the matrix of second derivatives). By section 3 the $y$ coordinate is multiplied
# by $1 - \eta L$ and the $x$ coordinate by $1 - \eta\mu$ at every step. Stability needs
# $\eta < 2/L$, set by the *steepest* direction; progress along the *flattest* direction is
# then at best $1 - 2\mu/L$ per step. The **condition number** $\kappa = L/\mu$ decides how
# slow gradient descent is.

# %%
bowl = surfaces.get("ill_conditioned")
point = np.array([-2.0, 1.0])
error = gradcheck.check_gradient(bowl.value, point.copy(), bowl.grad(point), name="(x, y)")
print(f"f = {bowl.title}; gradient at {point}: {bowl.grad(point)}, check: rel. error {error:.0e}")
mu, L_max = bowl.curvature
print(f"curvatures mu = {mu:g}, L = {L_max:g}, condition number {L_max / mu:g}; "
      f"stable for lr < 2/L = {2 / L_max:g}")  # fmt: skip
bowl_runs = {}
for lr in (0.01, 0.05, bowl.lr, 0.105):
    bowl_runs[lr] = minimize(sgd_step, bowl.grad, bowl.start, 100, lr=lr)
    print(f"lr = {lr:<5g}: factors per step x: {1 - lr * mu:+.3f}, y: {1 - lr * L_max:+.3f}; "
          f"f after 100 steps = {bowl.value(bowl_runs[lr][-1]):.2e}")  # fmt: skip

fig, ax = plt.subplots(figsize=(6, 4))
draw_surface(bowl, ax)
gx, gy = np.meshgrid(np.linspace(-2.7, 2.7, 10), np.linspace(-2.7, 2.7, 10))
field = -bowl.grad(np.stack([gx, gy], axis=-1))  # (10, 10, 2)
field /= np.linalg.norm(field, axis=-1, keepdims=True)
ax.quiver(gx, gy, field[..., 0], field[..., 1], color="0.35", width=0.004)
ax.plot(*bowl_runs[bowl.lr].T, "o-", ms=3, color="#d62728", label=f"GD, lr = {bowl.lr:g}")
ax.set_title("-∇f (arrows, normalized) and a zigzag descent path")
ax.legend(loc="lower right")
plt.show()

# %% [markdown]
# **Exercise.** Cells that start with `# exercise:` are for you: replace the `None`, run the
# cell, and it says at once whether the answer is right; a solution is folded below each.
# $f(x) = \frac12 x^\top A x$ with $A = \begin{pmatrix} 3 & 1 \\ 1 & 3 \end{pmatrix}$ has
# the gradient $Ax$ and the Hessian $A$. What is the largest learning rate for which gradient
# descent converges from every start?

# %%
# exercise: largest stable learning rate
answer = None  # your code here: a number
A_ex = np.array([[3.0, 1.0], [1.0, 3.0]])
grading.exercise("largest stable lr", answer, 2 / np.linalg.eigvalsh(A_ex).max(),
                 hint="eta < 2/L, L the largest eigenvalue of A: try A (1, 1) and A (1, -1)")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: largest stable learning rate
# answer = 2 / 4  # eigenvalues of A: 2 (along (1, -1)) and 4 (along (1, 1))
# A_ex = np.array([[3.0, 1.0], [1.0, 3.0]])
# grading.exercise("largest stable lr", answer, 2 / np.linalg.eigvalsh(A_ex).max(),
#                  hint="eta < 2/L, L the largest eigenvalue of A: try A (1, 1) and A (1, -1)")
# ```
# Along the eigenvector $(1, 1)$ the step multiplies the coordinate by $1 - 4\eta$: inside
# $(-1, 1)$ for $\eta < 1/2$. The direction $(1, -1)$ alone would allow $\eta < 1$.
# </details>

# %% [markdown]
# ## 5. Local minima and saddle points
#
# Gradient descent stops where $\nabla f(x) = 0$, at a **critical point**. Which kind of
# point it is depends on the **Hessian** $H_{jk} = \partial^2 f / \partial x_j \partial x_k$
# there, since near a critical point $x^\star$
# $f(x^\star + d) \approx f(x^\star) + \frac12 d^\top H d$:
#
# * all eigenvalues of $H$ positive: $f$ curves upward in every direction, a **local
#   minimum**;
# * all negative: a **local maximum**;
# * some positive and some negative: a **saddle point** — a minimum along some directions and
#   a maximum along others.
#
# Himmelblau's function $f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2$ has all three kinds.
# We compute the Hessian by central differences of the gradient and classify the critical
# points that `course.surfaces` lists, plus its maximum, found by Newton's method
# $x \leftarrow x - H^{-1}\nabla f$ (which goes to the nearest critical point of any kind).


# %%
# check: L02 hessian
def hessian(grad, x, h=1e-5):
    """Hessian (D, D) at x: (D,) by central differences of the gradient grad: (D,) -> (D,)."""
    x = np.asarray(x, dtype=np.float64)
    H = np.empty((x.size, x.size))
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = h
        H[:, k] = (grad(x + e) - grad(x - e)) / (2 * h)
    return (H + H.T) / 2  # symmetric up to rounding


def classify(H, tol=1e-6):
    """'minimum', 'maximum' or 'saddle point' from the eigenvalues of a Hessian H: (D, D)."""
    eigenvalues = np.linalg.eigvalsh(H)
    if np.all(eigenvalues > tol):
        return "minimum"
    if np.all(eigenvalues < -tol):
        return "maximum"
    if eigenvalues.min() < -tol and eigenvalues.max() > tol:
        return "saddle point"
    return "degenerate (a zero eigenvalue: look at higher derivatives)"


# %%
himmelblau = surfaces.get("himmelblau")
peak = np.array([-0.3, -0.9])
for _ in range(20):  # Newton's method from a point near the top
    peak = peak - np.linalg.solve(hessian(himmelblau.grad, peak), himmelblau.grad(peak))
critical = [*himmelblau.minima, *himmelblau.saddles, tuple(peak)]
print(f"{'point':>20s} {'f':>8s} {'|grad f|':>9s} {'eigenvalues of H':>20s}  kind")
for p in critical:
    H = hessian(himmelblau.grad, p)
    print(
        f"({p[0]:8.4f}, {p[1]:8.4f}) {himmelblau.value(p):8.3f} "
        f"{np.linalg.norm(himmelblau.grad(p)):9.1e} {np.linalg.eigvalsh(H).round(2)!s:>20s}  "
        f"{classify(H)}"
    )

fig, ax = plt.subplots(figsize=(5, 4.5))
draw_surface(himmelblau, ax)
ax.plot(*peak, "^", ms=10, color="#E69F00", mec="k", zorder=5)
ax.set_title("Himmelblau: 4 minima (★), 4 saddles (✖), 1 maximum (▲)")
plt.show()

# %% [markdown]
# Which minimum gradient descent finds depends on where it starts (section 11 draws the
# *basins of attraction*). In a network with millions of parameters a minimum needs *all*
# eigenvalues of the Hessian to be positive, and saddle points are far more common than
# minima (Dauphin et al., 2014); the noise of SGD (section 6) helps to escape them (Jin et
# al., 2019; section 11). The loss of a deep network is also not convex: the straight line
# between two equally good minima can cross a ridge (section 14).

# %% [markdown]
# ## 6. Stochastic gradient descent
#
# Every step of gradient descent needs $\nabla L(\theta)$, an average over *all* $n$ training
# examples: a forward and a backward pass through the network for each of them. Real
# training sets are large — ImageNet has about 1.3 million training images — and training
# takes thousands of steps. On a small scale: $n = 120{,}000$ two-moons points and a network
# with two hidden layers of 32 units. We count the work of one gradient in multiply-adds: a
# linear layer with $a$ inputs and $b$ outputs costs $ab$ of them per example in the forward
# pass, and about twice that in the backward pass (one product for the gradient of its
# weights, one for the gradient of its input; lecture 03 shows why), so a gradient costs
# about three forward passes.

# %%
N_BIG = 120_000
net = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 2))
forward_macs = sum(m.in_features * m.out_features for m in net if isinstance(m, nn.Linear))
print(f"P = {sum(p.numel() for p in net.parameters())} parameters, n = {N_BIG:,} examples")
print(f"multiply-adds per example: forward {forward_macs:,}, gradient about {3 * forward_macs:,}")
for B in (1, 128, N_BIG):
    print(f"one gradient on B = {B:7,d} examples: about {3 * forward_macs * B:13,d} multiply-adds")

# %% [markdown]
# The work is proportional to the number of examples: one full-batch step costs as
# much as 120,000 single-example steps, or about 940 steps on mini-batches of 128
# (wall-clock time is less tidy: caches, threads and per-call overheads bend it).
#
# **Stochastic gradient descent** (SGD) replaces the full gradient by the average over a
# random **mini-batch** $\mathcal B_t$ of $B$ examples:
#
# $$g_t = \frac1B \sum_{i \in \mathcal B_t} \nabla_\theta\, l\big(\mathrm{NN}_\theta(x^{(i)}),
# y^{(i)}\big)\Big|_{\theta_t}, \qquad \theta_{t+1} = \theta_t - \eta\, g_t .$$
#
# If the batch is drawn uniformly at random, $g_t$ is an **unbiased** estimate,
# $\mathbb E[g_t] = \nabla L(\theta_t)$ (section 1), and for $B$ examples drawn independently
#
# $$\mathbb E\,\lVert g_t - \nabla L(\theta_t) \rVert^2 = \frac{\sigma^2}{B}, \qquad
# \sigma^2 = \frac1n \sum_{i=1}^n \lVert \nabla l_i - \nabla L \rVert^2:$$
#
# the variance of one example's gradient divided by $B$ (without replacement it is smaller
# by the factor $\frac{n - B}{n - 1}$, negligible when $B \ll n$).
#
# **Epochs.** In practice the training set is shuffled, cut into $\lceil n/B \rceil$
# batches, and the batches are used in turn; one pass over the data is an **epoch**, and the
# set is reshuffled for the next one. A `DataLoader` with `shuffle=True` does exactly this
# (`course.train.make_loader` builds one), and one epoch of training reads:
#
# ```python
# for X, y in loader:          # a new order every epoch
#     loss = loss_fn(model(X), y)
#     optimizer.zero_grad(); loss.backward(); optimizer.step()
# ```

# %% [markdown]
# **The batch-size trade-off.** A large batch gives an accurate gradient but few, expensive
# steps per epoch ("stable but expensive"); a small batch gives many cheap steps that are
# noisy ("cheap but noisy"). We run SGD — `sgd_step` fed with mini-batch gradients — on the
# least-squares surface of `course.surfaces` (a line $wx + b$ fitted to $n = 200$ points)
# for 20 epochs with batch sizes 1, 10, 50 and 200 (full batch)
# and the same learning rate, and measure the gap $L(\theta_t) - L(\theta^\star)$ per epoch.
# `run_sgd` takes one learning rate per step, which section 7 will need.

# %%
lsq = surfaces.get("least_squares")
n_lsq = lsq.n_samples


def run_sgd(lrs, batch_size, seed=0):
    """SGD on the least-squares surface with learning rate lrs[t] at step t; batches drawn
    with numpy.random.default_rng(seed). Returns the iterates (len(lrs) + 1, 2)."""
    rng = np.random.default_rng(seed)
    x, state = np.array(lsq.start, dtype=np.float64), {}
    path = [x]
    for lr in lrs:
        x, state = sgd_step(x, lsq.grad(x, batch_size=batch_size, rng=rng), state, lr)
        path.append(x)
    return np.array(path)


def gaps(path):
    """L(theta_t) - L(theta*) along a path (k + 1, 2)."""
    return lsq.value(path) - lsq.min_value  # value: (k + 1, 2) -> (k + 1,)


lsq_runs = {B: run_sgd(np.full(20 * n_lsq // B, 0.1), batch_size=B) for B in (1, 10, 50, 200)}

fig, ax = plt.subplots(figsize=(6.5, 3.8))
for B, path in lsq_runs.items():
    ax.semilogy(np.arange(len(path)) * B / n_lsq, gaps(path), lw=1, label=f"B = {B}")
ax.set(xlabel="epochs (examples used / n)", ylabel="L(θ_t) − L(θ*)",
       title="same data, same learning rate η = 0.1")  # fmt: skip
ax.legend()
plt.show()

# %% [markdown]
# Per epoch — that is, for the same number of gradient evaluations — the small batches are
# far ahead at first; but with a fixed learning rate they stall at a **noise floor** that is
# higher the smaller the batch: near the minimum the true gradient is tiny, while the noise
# of $g_t$ is not, so every step kicks the iterate by about $\eta\sigma/\sqrt B$. Two cures:
# grow the batch, or lower the learning rate over time (section 7).
#
# **Try it yourself.** The explorer runs SGD with batches of 10 on the same surface. Slide
# the batch size up to 200 (the label switches back to GD and the path becomes smooth) and
# down to 1; then lower $\eta$ and watch the noise shrink.

# %%
explorer = gradient_descent_explorer(function="least_squares", lr=0.1, batch_size=10, steps=150)
explorer

# %% [markdown]
# <details><summary><b>Check yourself.</b> 50,000 images, $B = 128$, 30 epochs: how many
# steps? How much larger must $B$ be to halve the standard deviation of the noise?</summary>
#
# $\lceil 50{,}000 / 128 \rceil = 391$ steps per epoch, 11,730 in all. The standard deviation
# is $\sigma/\sqrt B$: a $4\times$ larger batch (and $4\times$ the compute per step).
# </details>

# %% [markdown]
# ## 7. Learning-rate schedules
#
# The noise floor of section 6 is proportional to $\eta$: a large rate makes fast progress
# far from the minimum, a small rate settles close to it. A **learning-rate schedule**
# $\eta_t$ gets both, starting large and ending small. SGD converges when
# $\sum_t \eta_t = \infty$ (the steps can travel any distance) and $\sum_t \eta_t^2 < \infty$
# (the noise they add stays bounded; Robbins and Monro, 1951). Four schedules in use, for
# $T$ steps from $\eta_0$ ($t$ counts from 0):
#
# * **step decay**: $\eta_t = \eta_0\, \gamma^{\lfloor t/s \rfloor}$, e.g. divide by 10
#   every $s$ steps (the classic recipe for image classifiers);
# * **cosine** (Loshchilov and Hutter, 2017): $\eta_t = \eta_{\min} + \frac12(\eta_0 -
#   \eta_{\min})(1 + \cos(\pi t/T))$, with a long high phase and a gentle landing;
# * **$1/t$**: $\eta_t = \eta_0/(1 + t/t_0)$, which satisfies both conditions;
# * **linear warmup**: $\eta_t = \eta_0 (t + 1)/W$ for the first $W$ steps, then constant
#   (or another schedule): a few small steps while the gradients are large and Adam's
#   second moments still poor avoid an early blow-up (Goyal et al., 2017).


# %%
# check: L02 schedules
def step_decay(t, lr0, step_size, gamma=0.1):
    """lr0 * gamma ** (t // step_size), as torch.optim.lr_scheduler.StepLR."""
    return lr0 * gamma ** (t // step_size)


def cosine(t, lr0, T, lr_min=0.0):
    """From lr0 at t = 0 to lr_min at t = T along half a cosine, as CosineAnnealingLR."""
    return lr_min + 0.5 * (lr0 - lr_min) * (1 + math.cos(math.pi * t / T))


def inverse_t(t, lr0, t0):
    """lr0 / (1 + t / t0): halves by step t0, a tenth by step 9 t0."""
    return lr0 / (1 + t / t0)


def warmup(t, lr0, W):
    """Linear warmup: lr0 (t + 1) / W for t < W, then lr0, as LinearLR(1/W, 1, W - 1)."""
    return lr0 * min(1.0, (t + 1) / W)


# %% [markdown]
# Each function is checked against its scheduler in `torch.optim.lr_scheduler` ($1/t$ has
# none; `LambdaLR` takes any function). Then we rerun the noisiest case of section 6
# ($B = 1$, $\eta_0 = 0.1$, 2000 steps) with each schedule and three seeds.

# %%
T_S, LR0 = 2000, 0.1
S = torch.optim.lr_scheduler


def torch_lrs(make_scheduler, num_steps=T_S, lr0=LR0):
    """The learning rate torch.optim.SGD uses at each step under a scheduler: (num_steps,)."""
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr0)
    scheduler = make_scheduler(opt)
    opt.step()  # no gradient, nothing moves; the scheduler expects a step before its own
    rates = []
    for _ in range(num_steps):
        rates.append(opt.param_groups[0]["lr"])
        scheduler.step()
    return np.array(rates)


steps_t = range(T_S)
schedules = {
    "constant": np.full(T_S, LR0),
    "step decay": np.array([step_decay(t, LR0, step_size=700) for t in steps_t]),
    "cosine": np.array([cosine(t, LR0, T_S) for t in steps_t]),
    "1/t": np.array([inverse_t(t, LR0, t0=100) for t in steps_t]),
    "warmup": np.array([warmup(t, LR0, W=100) for t in steps_t]),
}
references = {
    "step decay": torch_lrs(lambda opt: S.StepLR(opt, step_size=700, gamma=0.1)),
    "cosine": torch_lrs(lambda opt: S.CosineAnnealingLR(opt, T_max=T_S)),
    "warmup": torch_lrs(lambda opt: S.LinearLR(opt, 1 / 100, 1.0, total_iters=99)),
}
for name, reference in references.items():
    difference = np.abs(schedules[name] - reference).max()
    print(f"{name:10s}: max |ours - torch.optim.lr_scheduler| = {difference:.1e}")
    assert difference < 1e-12

floors = {}
for name in ("constant", "step decay", "cosine", "1/t"):  # warmup ends as the constant rate
    floors[name] = np.array([gaps(run_sgd(schedules[name], 1, seed)) for seed in range(3)])
    last_200 = floors[name][:, -200:].mean()
    print(f"{name:10s}: gap over the last 200 steps {last_200:.1e} (3 seeds), "
          f"{floors['constant'][:, -200:].mean() / last_200:3.0f} times below the constant rate")
assert all(floors[k][:, -200:].mean() < floors["constant"][:, -200:].mean() / 5 for k in floors
           if k != "constant")  # fmt: skip

fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
for name, lrs in schedules.items():
    style = {"color": "k", "ls": "--"} if name == "constant" else {}
    axes[0].plot(lrs, label=name, **style)
    if name in floors:  # running mean over 50 steps, so that the levels show through the noise
        smooth = np.convolve(floors[name].mean(axis=0), np.ones(50) / 50, mode="valid")
        axes[1].semilogy(np.arange(len(smooth)) + 50, smooth, lw=1.2, label=name, **style)
axes[0].set(xlabel="step t", ylabel="learning rate η_t", title=f"η₀ = {LR0}, T = {T_S}")
axes[1].set(xlabel="step t", ylabel="L(θ_t) − L(θ*)",
            title="SGD with B = 1 on least squares (3 seeds, mean over 50 steps)")  # fmt: skip
axes[0].legend()
axes[1].legend(fontsize=8)
plt.show()

# %% [markdown]
# The constant rate stays at its noise floor; every decaying schedule ends far below it.
# Step decay drops the floor at each cut, cosine lowers it smoothly, $1/t$ decays early and
# then keeps a small rate (warmup alone does not decay: after step 100 it is the constant
# rate). In PyTorch a schedule is an object next to the optimizer: call `scheduler.step()`
# once per epoch (or per step, as here) after `optimizer.step()`.
#
# **Exercise.** Linear warmup for $W$ steps, then a cosine from $\eta_0$ to 0 over the
# remaining $T - W$ steps (a common recipe with Adam). The cell compares your $\eta_t$ with
# PyTorch's `SequentialLR` of a `LinearLR` and a `CosineAnnealingLR`.

# %%
# exercise: warmup then cosine
def warmup_cosine(t, lr0, W, T):
    """lr0 (t + 1) / W for t < W, then a cosine from lr0 (at t = W) to 0 (at t = T)."""
    return None  # your code here


mine = [warmup_cosine(t, LR0, 100, T_S) for t in range(T_S)]
theirs = torch_lrs(lambda opt: S.SequentialLR(opt, [S.LinearLR(opt, 1 / 100, 1.0, 99),
                                                    S.CosineAnnealingLR(opt, T_S - 100)], [100]))
grading.exercise("warmup_cosine(t) for t = 0..1999", None if None in mine else mine, theirs,
                 hint="t < W: warmup(t, lr0, W); after: cosine(t - W, lr0, T - W)")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: warmup then cosine
# def warmup_cosine(t, lr0, W, T):
#     """lr0 (t + 1) / W for t < W, then a cosine from lr0 (at t = W) to 0 (at t = T)."""
#     if t < W:
#         return lr0 * (t + 1) / W
#     return 0.5 * lr0 * (1 + math.cos(math.pi * (t - W) / (T - W)))
#
#
# mine = [warmup_cosine(t, LR0, 100, T_S) for t in range(T_S)]
# theirs = torch_lrs(lambda opt: S.SequentialLR(opt, [S.LinearLR(opt, 1 / 100, 1.0, 99),
#                                                     S.CosineAnnealingLR(opt, T_S - 100)], [100]))
# grading.exercise("warmup_cosine(t) for t = 0..1999", None if None in mine else mine, theirs,
#                  hint="t < W: warmup(t, lr0, W); after: cosine(t - W, lr0, T - W)")
# ```
# The two pieces meet at $t = W - 1$ and $t = W$, both with $\eta_0$.
# </details>

# %% [markdown]
# ## 8. Momentum
#
# On the elongated bowl of section 4, gradient descent zigzags across the valley and creeps
# along it. **Momentum** (Polyak, 1964) lets the iterate build up speed: it keeps a running
# sum of past gradients, the **velocity** $v_t$ (some texts write $g_t$), and steps along it,
#
# $$v_t = \beta\, v_{t-1} + \nabla f(x_t), \qquad x_{t+1} = x_t - \eta\, v_t,
# \qquad v_{-1} = 0,$$
#
# with $0 \le \beta < 1$ (typically $0.9$); $\beta = 0$ is gradient descent. Unrolled,
# $v_t = \sum_{k \ge 0} \beta^k \nabla f(x_{t-k})$: gradients that agree from step to step
# (along the valley) add up, to at most $\frac{1}{1 - \beta}$ times one gradient, while
# gradients that flip sign (across the valley) cancel: a heavy ball rolling with friction
# $1 - \beta$. This **velocity** form is the one that `torch.optim.SGD(momentum=β)` and
# `course.optim` implement (PyTorch's `momentum_buffer` $v$ starts as the first gradient).


# %%
# check: L02 momentum_step
def momentum_step(x, grad, state, lr, beta=0.9):
    """Momentum in the velocity form, as torch.optim.SGD(momentum=beta):
    v <- beta v + grad, x <- x - lr v. x, grad: (D,); state {"v": (D,)}, empty at first."""
    v = beta * state.get("v", 0.0) + grad
    return x - lr * v, {"v": v}


# %% [markdown]
# Two relatives (section 12 derives and checks both). Substituting $\eta v_{t-1} = -(x_t -
# x_{t-1})$ gives the **heavy-ball** form $x_{t+1} = x_t - \eta\,\nabla f(x_t) + \beta\,(x_t -
# x_{t-1})$: the same method when $\eta$ is constant, but not under a learning-rate schedule
# (the velocity form multiplies the remembered gradients by the current rate, the heavy-ball
# form remembers steps taken at old rates). **Nesterov's accelerated gradient** (Nesterov,
# 1983) takes the gradient at the look-ahead point $x_t - \eta\beta v_{t-1}$, where the
# velocity is about to carry the ball, so it brakes earlier and oscillates less
# (`torch.optim.SGD(momentum=β, nesterov=True)`).
#
# **How much momentum?** As $\beta$ grows the ball becomes faster, until it overshoots and
# oscillates around the minimum; for $\beta \to 1$ it hardly loses any energy. On a
# quadratic the best $\beta$ for the flattest direction (curvature $\mu$; critical damping)
# is $\beta^\star = (1 - \sqrt{\eta\mu})^2$. **Too much momentum hurts**: at $\eta = 0.02$
# on the bowl, $\beta = 0.99$ is slower than no momentum at all (Goh, 2017, explores this
# with interactive figures).

# %%
lr_m = 0.02
beta_star = (1 - np.sqrt(lr_m * mu)) ** 2
print(f"lr = {lr_m}, curvatures {mu:g} and {L_max:g}; critical damping beta* = {beta_star:.3f}")
for beta in (0.0, 0.5, beta_star, 0.9, 0.99):
    path = minimize(momentum_step, bowl.grad, bowl.start, 300, lr=lr_m, beta=beta)
    print(f"beta = {beta:.3f}: f after 300 steps = {bowl.value(path[-1]):.2e}")

# %% [markdown]
# **Try it yourself.** The explorer races gradient descent and momentum with $\beta = 0.99$
# on the bowl: the ball circles the minimum for a long time. Slide $\beta$ down to 0.9, 0.75
# and 0.5; then raise $\eta$ (the line under the plot gives momentum's stability limit
# $2(1 + \beta)/L$, larger than $2/L$).

# %%
explorer = gradient_descent_explorer(
    function="ill_conditioned", optimizers=("gd", "momentum"), lr=lr_m, momentum=0.99, steps=150
)
explorer

# %% [markdown]
# **Exercises.** The checks compare your numbers with `torch.optim.SGD(momentum=β)`.


# %%
# check: L02 the torch.optim reference
import torch  # noqa: E402, F811 (the check cells run on their own in the tests)


def torch_path(grad_fn, x0, optimizer_class, num_steps, **kwargs):
    """Iterates (num_steps + 1, D) of a torch.optim optimizer from x0 with p.grad = grad_fn(p)."""
    p = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    opt = optimizer_class([p], **kwargs)
    points = [p.detach().clone().numpy()]
    for _ in range(num_steps):
        p.grad = grad_fn(p).detach()
        opt.step()
        points.append(p.detach().clone().numpy())
    return np.array(points)


# %% [markdown]
# *Two momentum steps by hand.* On $f(x) = x^2$ from $x_0 = 1$ with $\eta = 0.1$ and
# $\beta = 0.9$, compute $x_1$ and $x_2$ on paper.

# %%
# exercise: two momentum steps
answer = None  # your code here: [x_1, x_2]
x_torch = torch_path(lambda x: 2 * x, [1.0], torch.optim.SGD, 2, lr=0.1, momentum=0.9)
grading.exercise("[x_1, x_2]", answer, x_torch[1:, 0],
                 hint="v_0 = f'(x_0) = 2; x_1 = x_0 - 0.1 v_0; v_1 = 0.9 v_0 + f'(x_1)")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: two momentum steps
# v0 = 2 * 1.0  # the first velocity is the first gradient
# x1 = 1.0 - 0.1 * v0  # 0.8
# v1 = 0.9 * v0 + 2 * x1  # 1.8 + 1.6 = 3.4
# answer = [x1, x1 - 0.1 * v1]  # [0.8, 0.46]
# x_torch = torch_path(lambda x: 2 * x, [1.0], torch.optim.SGD, 2, lr=0.1, momentum=0.9)
# grading.exercise("[x_1, x_2]", answer, x_torch[1:, 0],
#                  hint="v_0 = f'(x_0) = 2; x_1 = x_0 - 0.1 v_0; v_1 = 0.9 v_0 + f'(x_1)")
# ```
# Gradient descent would be at $x_2 = 0.64$: the remembered gradient carried the ball further.
# </details>
#
# *The effective step of momentum.* On a straight slope, $f(x) = cx$, the gradient is $c$
# at every step. How long is a momentum step after many steps, as a multiple of the
# gradient-descent step $\eta c$, for $\beta = 0.9$? (The check runs 500 steps.)

# %%
# exercise: effective step of momentum
answer = None  # your code here: (x_t - x_{t+1}) / (lr c) for large t
path = torch_path(torch.ones_like, [0.0], torch.optim.SGD, 500, lr=0.01, momentum=0.9)[:, 0]
grading.exercise("step / (lr c)", answer, (path[-2] - path[-1]) / 0.01,
                 hint="v = c (1 + beta + beta^2 + ...), a geometric series")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: effective step of momentum
# answer = 1 / (1 - 0.9)  # v -> c / (1 - beta): 10 times the gradient-descent step
# path = torch_path(torch.ones_like, [0.0], torch.optim.SGD, 500, lr=0.01, momentum=0.9)[:, 0]
# grading.exercise("step / (lr c)", answer, (path[-2] - path[-1]) / 0.01,
#                  hint="v = c (1 + beta + beta^2 + ...), a geometric series")
# ```
# The effective learning rate of momentum is $\eta/(1 - \beta)$ ($100\eta$ for
# $\beta = 0.99$): lower $\eta$ when you raise $\beta$.
# </details>

# %% [markdown]
# ## 9. Adaptive learning rates: Adagrad, RMSprop, Adam
#
# Momentum still uses one learning rate for all parameters, limited by the steepest
# direction. In a network the gradients of different parameters can differ by orders of
# magnitude (rare features, different layers). **Adaptive** methods give each parameter its
# own step size, from the history of its gradients.
#
# **Adagrad** (Duchi, Hazan and Singer, 2011) divides the step by the root of the sum of all
# squared gradients so far:
#
# $$x_{t+1} = x_t - \frac{\eta}{\sqrt{\varepsilon + \sum_{j=0}^{t} \lVert \nabla f(x_j)
# \rVert^2}}\, \nabla f(x_t) .$$
#
# Written with the norm, there is one step size for all coordinates, which shrinks where the
# gradients have been large. The version used in practice (`torch.optim.Adagrad`) applies
# the formula **per coordinate**: $G_t = \sum_{j \le t} \nabla f(x_j)^2$ (element-wise) and
# $x_{t+1} = x_t - \eta\, \nabla f(x_t) / (\sqrt{G_t} + \varepsilon)$. A coordinate with
# large gradients gets small steps, one with small gradients large steps, so the elongated
# bowl looks round to it (section 13 runs both forms on it). Its weakness: $G_t$ only
# grows, so the steps shrink like $1/\sqrt t$ even where progress is still needed.
#
# **RMSprop** (Tieleman and Hinton, 2012) replaces the sum by an exponential moving average
# $s_t$ of the squared gradients, so that old gradients are forgotten:
#
# $$s_t = \alpha\, s_{t-1} + (1 - \alpha)\, \nabla f(x_t)^2, \qquad
# x_{t+1} = x_t - \frac{\eta}{\sqrt{s_t} + \varepsilon}\, \nabla f(x_t)
# \qquad (\alpha = 0.99,\ s_{-1} = 0 \text{ in PyTorch}).$$


# %%
# check: L02 rmsprop_step
def rmsprop_step(x, grad, state, lr, alpha=0.99, eps=1e-8):
    """RMSprop, as torch.optim.RMSprop: s <- alpha s + (1 - alpha) grad^2,
    x <- x - lr grad / (sqrt(s) + eps), per coordinate. x, grad: (D,); state {"s": (D,)}."""
    s = alpha * state.get("s", 0.0) + (1 - alpha) * grad**2
    return x - lr * grad / (np.sqrt(s) + eps), {"s": s}


# %% [markdown]
# **Adam** (Kingma and Ba, 2015) combines momentum with RMSprop's per-coordinate scaling. It
# keeps moving averages of the gradient ($m$) and of its square ($v$), corrects both for
# their start at zero, and steps:
#
# $$m_t = \beta_1 m_{t-1} + (1 - \beta_1)\nabla f(x_t), \qquad
# v_t = \beta_2 v_{t-1} + (1 - \beta_2)\nabla f(x_t)^2, \qquad m_0 = v_0 = 0,$$
#
# $$\hat m_t = \frac{m_t}{1 - \beta_1^t}, \qquad \hat v_t = \frac{v_t}{1 - \beta_2^t}, \qquad
# x_{t+1} = x_t - \eta\,\frac{\hat m_t}{\sqrt{\hat v_t} + \varepsilon},$$
#
# with the defaults $\beta_1 = 0.9$, $\beta_2 = 0.999$, $\varepsilon = 10^{-8}$, $\eta = 10^{-3}$
# (the steps $t$ count from 1 here).


# %%
# check: L02 adam_step
def adam_step(x, grad, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam, as torch.optim.Adam. x, grad: (D,); state {"t": steps so far, "m", "v": (D,)}."""
    t = state.get("t", 0) + 1
    m = beta1 * state.get("m", 0.0) + (1 - beta1) * grad
    v = beta2 * state.get("v", 0.0) + (1 - beta2) * grad**2
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)  # the bias correction
    return x - lr * m_hat / (np.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v}


# %% [markdown]
# **Exercise.** *Adam's first step.* The first gradient is $g = -0.5$ (one coordinate),
# $\eta = 0.01$, default $\beta$s and $\varepsilon$. Give $x_1 - x_0$ with the bias
# correction (as `torch.optim.Adam`) and without it.

# %%
# exercise: Adam's first step
answer = None  # your code here: [step with correction, step without correction]
g_ex = -0.5
x_1 = torch_path(lambda x: torch.full_like(x, g_ex), [0.0], torch.optim.Adam, 1, lr=0.01)[1, 0]
uncorrected = -0.01 * (0.1 * g_ex) / (math.sqrt(0.001 * g_ex**2) + 1e-8)  # m_1 / sqrt(v_1)
grading.exercise("[corrected, uncorrected]", answer, [x_1, uncorrected], rtol=1e-5,
                 hint="m_hat_1 = g, v_hat_1 = g^2; uncorrected: m_1 = 0.1 g, v_1 = 0.001 g^2")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: Adam's first step
# answer = [0.01, 0.01 * 0.1 / math.sqrt(0.001)]  # +eta (against g < 0) and 3.16 eta
# g_ex = -0.5
# x_1 = torch_path(lambda x: torch.full_like(x, g_ex), [0.0], torch.optim.Adam, 1, lr=0.01)[1, 0]
# uncorrected = -0.01 * (0.1 * g_ex) / (math.sqrt(0.001 * g_ex**2) + 1e-8)  # m_1 / sqrt(v_1)
# grading.exercise("[corrected, uncorrected]", answer, [x_1, uncorrected], rtol=1e-5,
#                  hint="m_hat_1 = g, v_hat_1 = g^2; uncorrected: m_1 = 0.1 g, v_1 = 0.001 g^2")
# ```
# With the correction $\hat m_1/\sqrt{\hat v_1} = g/|g|$: the first step is $\eta$ against
# the sign of the gradient, whatever its size.
# </details>

# %% [markdown]
# **Check against PyTorch.** The four step functions must take exactly the steps of
# `torch.optim`: 300 steps of each on the bowl and on Rosenbrock's function (section 10),
# PyTorch's gradients from autograd, float64.

# %%
# check: L02 update rules against torch.optim
from course import surfaces  # noqa: E402, F811 (the check cells run on their own in tests)

RULES = {  # name: (our step, its hyperparameters, the torch.optim class, its arguments)
    "SGD": (sgd_step, {"lr": 1e-3}, torch.optim.SGD, {"lr": 1e-3}),
    "momentum": (momentum_step, {"lr": 1e-3, "beta": 0.9}, torch.optim.SGD,
                 {"lr": 1e-3, "momentum": 0.9}),
    "RMSprop": (rmsprop_step, {"lr": 1e-3}, torch.optim.RMSprop, {"lr": 1e-3}),
    "Adam": (adam_step, {"lr": 1e-2}, torch.optim.Adam, {"lr": 1e-2}),
}  # fmt: skip
for surface_name in ("ill_conditioned", "rosenbrock"):
    surface = surfaces.get(surface_name)
    for rule, (step, hyper, optimizer_class, kwargs) in RULES.items():
        ours = minimize(step, surface.grad, surface.start, 300, **hyper)
        theirs = torch_path(lambda p: torch.autograd.grad(surface.value(p), p)[0],
                            surface.start, optimizer_class, 300, **kwargs)  # fmt: skip
        difference = np.abs(ours - theirs).max()
        print(f"{surface_name:16s} {rule:9s} max |ours - torch.optim| = {difference:.1e}")
        assert difference < 1e-10 and np.abs(ours[-1] - ours[0]).max() > 0.1

# %% [markdown]
# **Why the bias correction.** Starting from $m_0 = v_0 = 0$, the averages are too small at
# first: with a constant gradient $c$, $m_t = (1 - \beta_1^t)\,c$ and
# $v_t = (1 - \beta_2^t)\,c^2$; dividing by $1 - \beta^t$ removes exactly that factor
# (section 13 prints the moments step by step).
#
# **Adam as the practical default.** Adam's step has length about $\eta$ whatever the scale
# of the gradient (section 13 shows it), so $\eta$ need not be found anew when the layers,
# the loss or the data change that scale; its momentum smooths the mini-batch noise. One
# setting, $\eta = 10^{-3}$ with the default $\beta_1, \beta_2$, trains most networks
# reasonably, and only $\eta$ needs tuning. It is not always the best: on several
# image-classification and language benchmarks, Wilson et al. (2017) found that well-tuned
# SGD with momentum reached a better *test* accuracy than the adaptive methods, although
# these fit the training set as fast or faster; many image classifiers are still trained
# with SGD and momentum — but it has to be tuned.

# %% [markdown]
# ## 10. The race: all optimizers on the Rosenbrock function
#
# Rosenbrock's function $f(x, y) = (1 - x)^2 + 100(y - x^2)^2$ (Rosenbrock, 1960) is a classic
# test: its minimum $(1, 1)$ lies at the bottom of a long, curved, narrow valley, steep across
# and almost flat along. The four step functions start at $(-1.2, 1)$ and get $N = 1000$
# steps with their default $\beta$s and $\alpha$. One learning rate for all would be unfair
# (Adam's $\eta$ is a step length, gradient descent's a multiplier of the gradient), so each
# gets the best of 9 rates between $10^{-4}$ and $1$ (by the final loss; diverging runs are out).

# %%
rosenbrock = surfaces.get("rosenbrock")
N_RACE = 1000
race_lrs = np.logspace(-4, 0, 9)
STEPS = {"gd": sgd_step, "momentum": momentum_step, "rmsprop": rmsprop_step, "adam": adam_step}
race = {}
for name, step in STEPS.items():
    for lr in race_lrs:
        path = minimize(step, rosenbrock.grad, rosenbrock.start, N_RACE, lr=lr)
        if len(path) < N_RACE + 1:
            continue  # diverged: out of the race
        losses_lr = rosenbrock.value(path)  # (N_RACE + 1,)
        if name not in race or losses_lr[-1] < race[name][2][-1]:
            race[name] = (lr, path, losses_lr)
print(
    f"{'optimizer':10s} {'best lr':>8s} {'f after 100':>12s} {'f after 1000':>13s} "
    f"{'|x - (1, 1)|':>13s} {'vs course.optim: t <= 300':>26s} {'t <= 1000':>10s}"
)
for name, (lr, path, losses_lr) in sorted(race.items(), key=lambda item: item[1][2][-1]):
    distance = np.linalg.norm(path[-1] - np.array(rosenbrock.minima[0]))
    gap = np.abs(path - optim.run(rosenbrock, optim.Stepper(name, lr), steps=N_RACE).points)
    print(
        f"{optim.LABELS[name]:10s} {lr:8.1e} {losses_lr[100]:12.2e} {losses_lr[-1]:13.2e} "
        f"{distance:13.2e} {gap[:301].max():26.1e} {gap.max():10.1e}"
    )

fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
draw_surface(rosenbrock, axes[0], delta=1e-3)
for z, (name, (lr, path, losses_lr)) in enumerate(race.items()):
    label = optim.LABELS[name]
    axes[0].plot(*path.T, "-", lw=2.5 - 0.4 * z, color=COLORS[name], zorder=4 - z,
                 label=f"{label} (η = {lr:.1e})")  # fmt: skip
    axes[1].semilogy(losses_lr, color=COLORS[name], label=label)
axes[0].plot(*rosenbrock.start, "o", color="k")
axes[0].set_title("paths from (−1.2, 1), each with its best η")
axes[0].legend(loc="lower right", fontsize=7)
axes[1].set(xlabel="step t", ylabel="f(x_t)", title=f"Rosenbrock, {N_RACE} steps")
axes[1].legend(fontsize=8)
plt.show()

# %% [markdown]
# One race on one function shows the character of each rule more than a ranking. Gradient
# descent's $\eta$ must stay below $2/L$ of the steep walls, so it crawls along the flat
# floor; momentum builds up speed there. RMSprop takes steps of nearly fixed length and
# rattles between the walls (its loss zigzags); Adam's momentum averages the rattling out.
# With other functions or $\beta$s the order changes: start from well-tested defaults and
# tune the learning rate first. The last two columns compare with `course.optim`, which the
# explorer runs: the same steps up to rounding for 300 steps; RMSprop's rattling path is
# chaotic, and a difference in the last bit grows until it is visible by step 1000.
#
# **Try it yourself.** All six optimizers (Nesterov and Adagrad too) on Rosenbrock with one
# shared $\eta = 10^{-3}$: compare with the tuned race, then move $\eta$, $\beta$ and the
# start, or pick another function from the menu.

# %%
explorer = gradient_descent_explorer(function="rosenbrock", optimizers=optim.OPTIMIZERS, steps=300)
explorer

# %% [markdown]
# ## 11. Basins, saddle points, and how SGD noise escapes them (optional)
#
# **Basins of attraction.** Gradient descent from a grid of 25 starting points on
# Himmelblau's function (section 5) ends in one of the four minima — which one depends only
# on the start. No path ends at a saddle point or at the maximum: it would have to start
# exactly on the thin set of points that flow into one.

# %%
fig, ax = plt.subplots(figsize=(5.5, 5))
draw_surface(himmelblau, ax)
basin_colours = ["#0072B2", "#D55E00", "#009E73", "#CC79A7"]
end_distances, basin_counts = [], [0, 0, 0, 0]
for sx in np.linspace(-4, 4, 5):
    for sy in np.linspace(-4, 4, 5):
        path = minimize(sgd_step, himmelblau.grad, [sx, sy], 300, lr=himmelblau.lr)
        distances_to_minima = [np.hypot(*(path[-1] - np.array(m))) for m in himmelblau.minima]
        basin = np.argmin(distances_to_minima)
        end_distances.append(min(distances_to_minima))
        basin_counts[basin] += 1
        ax.plot(*path.T, "-", lw=1, color=basin_colours[basin])
        ax.plot(sx, sy, "o", ms=4, color=basin_colours[basin])
ax.set_title("25 runs of gradient descent, coloured by the minimum they reach")
plt.show()
print(f"all 25 runs end within {max(end_distances):.1e} of a minimum; per minimum: {basin_counts}")

# %% [markdown]
# **Noise escapes them.** On the saddle $x^2 - y^2$ ($H = \mathrm{diag}(2, -2)$) gradient
# descent from a start on the $x$ axis, the eigenvector of the positive eigenvalue (the
# *stable manifold*), keeps $y = 0$ and slides into the saddle point; the explorer below
# shows it. Such starts form a set of measure zero, so random initialization avoids them
# almost surely (Lee et al., 2016), but a start *close* to that set spends a long time near
# the saddle: the escaping component grows only by a factor $1 + 2\eta$ per step. Gradient
# descent with a small random perturbation escapes strict saddle points quickly (Jin et
# al., 2017, 2019), and the noise of SGD plays the same role. On $f(x, y) = x^2 + \frac12
# y^4 - y^2$ (a saddle at the origin, minima $(0, \pm1)$ with $f = -\frac12$), gradient
# descent from $(1.8, y_0)$ needs more steps the smaller $y_0$ is (from $y_0 = 0$ it never
# leaves); with Gaussian noise of standard deviation $0.1$ added to each gradient coordinate
# it leaves within a few dozen.

# %%
def exits_grad(p):
    """Gradient of x^2 + y^4 / 2 - y^2 at p: (2,)."""
    return np.array([2 * p[0], 2 * p[1] ** 3 - 2 * p[1]])


def escape_step(path, level=-0.25):
    """First step at which f (path: (k + 1, 2)) drops below `level`, halfway down, or None."""
    f = path[:, 0] ** 2 + 0.5 * path[:, 1] ** 4 - path[:, 1] ** 2
    below = np.flatnonzero(f < level)
    return int(below[0]) if below.size else None


for y0 in (0.0, 1e-2, 1e-4, 1e-8, 1e-12):
    path = minimize(sgd_step, exits_grad, [1.8, y0], 300, lr=0.1)
    print(f"GD from y0 = {y0:<6g}: escapes at step {escape_step(path)}")
print(
    f"each factor 10^4 in y0 costs log(10^4)/log(1 + 2 lr) = {np.log(1e4) / np.log(1.2):.1f} steps"
)
noisy_escapes = []
for seed in range(5):
    noise_rng = np.random.default_rng(seed)
    path = minimize(sgd_step, lambda p: exits_grad(p) + 0.1 * noise_rng.standard_normal(2),
                    [1.8, 0.0], 300, lr=0.1)  # fmt: skip
    noisy_escapes.append(escape_step(path))
print("noisy GD from y0 = 0 (5 seeds): escapes at steps", noisy_escapes)

# %% [markdown]
# **Try it yourself.** The explorer starts gradient descent on the stable manifold of
# $x^2 - y^2$: it slides into $(0, 0)$ and stays. Raise the noise $\sigma$ to $0.1$ (the
# label becomes SGD): the path leaves along $y$, until the red badge reports the divergence
# (this surface has no minimum).

# %%
explorer = gradient_descent_explorer(function="saddle", start=(1.8, 0.0), steps=150)
assert np.abs(explorer.runs["gd"].points[-1]).max() < 1e-8  # stuck at the saddle
explorer

# %% [markdown]
# ## 12. Momentum's other forms: heavy ball and Nesterov (optional)
#
# **Heavy ball.** Write the velocity update of section 8 at step $t - 1$ as
# $\eta v_{t-1} = -(x_t - x_{t-1})$ and substitute it into the update at step $t$:
#
# $$x_{t+1} = x_t - \eta\,\nabla f(x_t) - \eta\beta\, v_{t-1}
# = x_t - \eta\,\nabla f(x_t) + \beta\,(x_t - x_{t-1}) ,$$
#
# the **heavy-ball** form, with $x_{-1} = x_0$. The substitution uses the same $\eta$ at
# steps $t - 1$ and $t$, hence the difference under a schedule. We check it on the bowl.


# %%
# check: L02 heavy ball
def heavy_ball(grad, x0, lr, beta, num_steps):
    """x_{t+1} = x_t - lr grad(x_t) + beta (x_t - x_{t-1}) with x_{-1} = x_0; returns the
    iterates (num_steps + 1, D). grad: (D,) -> (D,)."""
    previous = current = np.asarray(x0, dtype=np.float64)
    path = [current]
    for _ in range(num_steps):
        previous, current = current, current - lr * grad(current) + beta * (current - previous)
        path.append(current)
    return np.array(path)


# %%
by_velocity = minimize(momentum_step, bowl.grad, bowl.start, 200, lr=0.02, beta=0.9)
by_heavy_ball = heavy_ball(bowl.grad, bowl.start, lr=0.02, beta=0.9, num_steps=200)
print(f"max |velocity form - heavy-ball form| = {np.abs(by_velocity - by_heavy_ball).max():.1e}")

# %% [markdown]
# **Nesterov** (1983) computes the gradient where the velocity is about to *take* the ball:
#
# $$v_t = \beta\, v_{t-1} + \nabla f\big(x_t - \eta\beta\, v_{t-1}\big), \qquad
# x_{t+1} = x_t - \eta\, v_t .$$
#
# For smooth convex functions (with a $\beta_t$ that grows towards 1 on Nesterov's schedule)
# its error falls like $1/t^2$ where gradient descent's falls like $1/t$. In deep learning
# $\beta$ is constant, and `torch.optim.SGD(momentum=β, nesterov=True)` needs the gradient
# at the current parameters only:
#
# $$b_t = \beta\, b_{t-1} + \nabla f(y_t), \qquad y_{t+1} = y_t - \eta\,\big(\nabla f(y_t)
# + \beta\, b_t\big),$$
#
# the same method written for the look-ahead points $y_t = x_t - \eta\beta v_{t-1}$
# (substitute and use $b_t = v_t$; Sutskever et al., 2013, popularized it for deep
# learning). We compare the look-ahead points with PyTorch's iterates (from `course.optim`),
# then race three methods on the bowl at $\eta = 0.05$, $\beta = 0.9$ (200 steps).


# %%
# check: L02 nesterov
def nesterov_lookahead(grad, x0, lr, beta, num_steps):
    """Nesterov's method in the look-ahead form g = beta g + grad(x - lr beta g),
    x = x - lr g. Returns the look-ahead points y_t = x_t - lr beta g_{t-1}: (T + 1, D)."""
    x = np.asarray(x0, dtype=np.float64)
    g = np.zeros_like(x)
    lookahead = [x.copy()]
    for _ in range(num_steps):
        g = beta * g + grad(x - lr * beta * g)
        x = x - lr * g
        lookahead.append(x - lr * beta * g)
    return np.array(lookahead)


# %%
torch_form = optim.run(bowl, optim.Stepper("nesterov", 0.02, momentum=0.9), steps=200).points
print(
    "max |PyTorch-form iterates - look-ahead points| = "
    f"{np.abs(torch_form - nesterov_lookahead(bowl.grad, bowl.start, 0.02, 0.9, 200)).max():.1e}"
)
for name in ("gd", "momentum", "nesterov"):
    hyper = {} if name == "gd" else {"momentum": 0.9}
    losses_n = optim.run(bowl, optim.Stepper(name, 0.05, **hyper), steps=200).losses
    reached = np.flatnonzero(losses_n < 1e-10)
    print(f"{optim.LABELS[name]:9s}: stable for lr < {optim.stable_lr(name, L_max, 0.9):.4f}; "
          f"f < 1e-10 from step {reached[0] if reached.size else '> 200'}")  # fmt: skip

# %% [markdown]
# Nesterov's look-ahead damps the oscillation of the steep direction. The price, in
# PyTorch's form, is a smaller stability limit $2(1 + \beta)/((1 + 2\beta)L)$ (printed
# above): at the same $\eta$ and $\beta$ it can diverge where heavy-ball momentum still
# converges.

# %% [markdown]
# ## 13. Adaptive methods up close: Adagrad's two forms, Adam's bias correction (optional)
#
# **Adagrad with the norm or per coordinate.** We run gradient descent, the two forms of
# Adagrad of section 9 (the per-coordinate one from `course.optim`) and RMSprop on the bowl.


# %%
# check: L02 adagrad
def adagrad_norm(grad, x0, lr, num_steps, eps=1e-10):
    """x <- x - lr grad(x) / sqrt(eps + sum of |grad|^2 so far); iterates (num_steps + 1, D)."""
    x = np.asarray(x0, dtype=np.float64)
    total = 0.0
    path = [x]
    for _ in range(num_steps):
        g = grad(x)
        total += g @ g  # the squared norm of this gradient
        x = x - lr * g / np.sqrt(eps + total)
        path.append(x)
    return np.array(path)


# %%
adaptive_paths = {
    "GD": minimize(sgd_step, bowl.grad, bowl.start, 100, lr=bowl.lr),
    "Adagrad (norm)": adagrad_norm(bowl.grad, bowl.start, lr=1.0, num_steps=100),
    "Adagrad": optim.run(bowl, optim.Stepper("adagrad", 1.0), steps=100).points,
    "RMSprop": minimize(rmsprop_step, bowl.grad, bowl.start, 100, lr=0.05),
}
fig, ax = plt.subplots(figsize=(6, 4))
draw_surface(bowl, ax)
for (name, path), colour in zip(adaptive_paths.items(), ["#0072B2", "#56B4E9", "#009E73",
                                                          "#E69F00"], strict=True):  # fmt: skip
    ax.plot(*path[:40].T, "o-", ms=2, lw=1, color=colour, label=name)
    print(f"{name:15s}: f after 10 steps {bowl.value(path[10]):.2e}, after 100 "
          f"{bowl.value(path[100]):.2e}")
ax.set_title("GD, Adagrad, RMSprop: the first 40 steps on the bowl")
ax.legend(loc="lower right", fontsize=8)
plt.show()

# %% [markdown]
# The norm version of Adagrad moves along the gradient, like gradient descent; the
# per-coordinate versions bend the path towards the minimum, because the steep $y$
# coordinate gets a smaller rate than the flat $x$ coordinate.
#
# **Adam's bias correction.** Without it Adam's first step would be $\eta \cdot
# 0.1/\sqrt{0.001} \approx 3.2\eta$, because $v$ starts even further below its target than
# $m$. We feed `adam_step` a constant gradient with two very different coordinates and print
# the moments.


# %%
# check: L02 adam bias correction
def adam_moments(gradients, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """adam_step from x = 0 on gradients (T, D), one per step. Returns m, v, the corrected
    m_hat, v_hat and the steps x_{t+1} - x_t, each (T, D)."""
    x, state = np.zeros(gradients.shape[1]), {}
    m, v, steps = [], [], []
    for g in gradients:
        x_new, state = adam_step(x, g, state, lr, beta1=beta1, beta2=beta2, eps=eps)
        m.append(state["m"])
        v.append(state["v"])
        steps.append(x_new - x)
        x = x_new
    m, v = np.array(m), np.array(v)
    t = np.arange(1, len(gradients) + 1)[:, None]  # (T, 1): the step counter from 1
    return m, v, m / (1 - beta1**t), v / (1 - beta2**t), np.array(steps)


# %%
m, v, m_hat, v_hat, steps = adam_moments(np.tile([1.0, 0.001], (10_000, 1)))
print("gradient c = (1, 0.001) at every step, lr = 1e-3; first coordinate unless marked")
print(f"{'t':>6s} {'m_t':>8s} {'m_hat':>8s} {'v_t':>9s} {'v_hat':>8s} {'step/lr':>8s} "
      f"{'step/lr (c=0.001)':>18s} {'uncorrected m/sqrt(v)':>22s}")  # fmt: skip
for t in (1, 2, 3, 10, 100, 1000, 10_000):
    k = t - 1
    print(
        f"{t:6d} {m[k, 0]:8.4f} {m_hat[k, 0]:8.4f} {v[k, 0]:9.6f} {v_hat[k, 0]:8.4f} "
        f"{-steps[k, 0] / 1e-3:8.4f} {-steps[k, 1] / 1e-3:18.4f} "
        f"{m[k, 0] / np.sqrt(v[k, 0]):22.4f}"
    )

# %% [markdown]
# With the correction every step has length $\eta$ in each coordinate (up to the tiny
# $\varepsilon$), whether the gradient is 1 or 0.001. Without it the early steps would be
# several times too long (last column: 3.2 at $t = 1$, 6.5 at $t = 10$, still 1.26 at
# $t = 1000$), when the parameters are least settled. A loss multiplied by $c$ has
# the same minimum, but gradient descent's good learning rates move by the factor $1/c$,
# while Adam's step does not change. Both run with $\eta = 0.05$ for 200 steps on the bowl
# multiplied by $c = 0.01, 1, 100$:

# %%
for c in (0.01, 1.0, 100.0):
    for name, step in (("GD", sgd_step), ("Adam", adam_step)):
        path = minimize(step, lambda x, c=c: c * bowl.grad(x), bowl.start, 200, lr=0.05)
        status = f"diverged at step {len(path) - 1}" if len(path) < 201 else "ok"
        print(f"{name:4s} on {c:>4g} f: f after 200 steps = {bowl.value(path[-1]):9.2e} ({status})")

# %% [markdown]
# Gradient descent crawls for $c = 0.01$ and diverges for $c = 100$; Adam reaches the same
# point for all three.

# %% [markdown]
# ## 14. The loss of a deep network is not convex (optional)
#
# A function is **convex** if the chord between any two points lies above the graph:
# $f((1 - \lambda) a + \lambda b) \le (1 - \lambda) f(a) + \lambda f(b)$ for $0 \le \lambda
# \le 1$; then every local minimum is a global one. The squared loss of linear regression
# (lecture 01) is convex; the loss of a network with hidden layers is not. Swapping two
# hidden units (their incoming weights and bias, and their outgoing weights) changes
# $\theta$ but not the function the network computes, so every minimum $\theta^\star$ comes
# with many copies $\pi(\theta^\star)$ of the same loss. If $L$ were convex, the points
# between two minima would be at least as good as both; we look at them for the MLP of
# section 1, trained with 100 steps of full-batch Adam (`torch.optim.Adam`).

# %%
mlp = make_mlp()
opt = torch.optim.Adam(mlp.parameters(), lr=0.05)
for _ in range(100):
    opt.zero_grad()
    average_loss(mlp, X_m, y_m)[0].backward()
    opt.step()
W1, b1, W2, b2, W3, b3 = (p.detach().clone() for p in mlp.parameters())
order = torch.randperm(16, generator=torch.Generator().manual_seed(1))  # reorder layer 1
theta_mlp = torch.cat([p.flatten() for p in (W1, b1, W2, b2, W3, b3)])
theta_perm = torch.cat([p.flatten() for p in (W1[order], b1[order], W2[:, order], b2, W3, b3)])
lambdas = np.linspace(0, 1, 21)
on_chord = []
with torch.no_grad():
    for lam in lambdas:
        nn.utils.vector_to_parameters((1 - lam) * theta_mlp + lam * theta_perm, mlp.parameters())
        on_chord.append(average_loss(mlp, X_m, y_m)[0].item())
print(f"L(theta*) = {on_chord[0]:.2e}, L(pi(theta*)) = {on_chord[-1]:.2e}")
print(f"L at the midpoint = {on_chord[10]:.3f}: above both ends, so L is not convex")
print(f"copies by reordering both hidden layers: 16!^2 = {math.factorial(16) ** 2:.2e}")

fig, ax = plt.subplots(figsize=(5.5, 3.5))
ax.plot(lambdas, on_chord, "o-", ms=3, label="L on the segment")
ax.plot([0, 1], [on_chord[0], on_chord[-1]], "k--", label="chord (the bound if L were convex)")
ax.set(xlabel="λ", ylabel="L((1 − λ) θ* + λ π(θ*))", ylim=(-0.1, 1.4 * max(on_chord)),
       title="from θ* to its reordered copy π(θ*)")  # fmt: skip
ax.legend(loc="upper left", fontsize=8)
plt.show()

# %% [markdown]
# The straight road between two equally good minima crosses a ridge. This does not make deep
# learning hopeless: in large networks the minima that gradient methods find tend to have
# similar, low losses (Choromanska et al., 2015), and two of them are often joined by a
# curved path of low loss (Garipov et al., 2018; Draxler et al., 2018) — but there is no
# guarantee, and the start, the learning rate and the optimizer matter.

# %% [markdown]
# ## Summary
#
# * Training minimizes the average loss $L(\theta) = \frac1n \sum_i l(\mathrm{NN}_\theta(x^{(i)}),
#   y^{(i)})$; its gradient is the average of the per-example gradients.
# * Gradient descent $x_{t+1} = x_t - \eta \nabla f(x_t)$ stops when $\lVert\nabla f\rVert
#   < \varepsilon$. On $x^2$ the step is $x \leftarrow (1 - 2\eta)x$: it converges for
#   $0 < \eta < 1$, bounces between $\pm x_0$ at $\eta = 1$, diverges for $\eta > 1$. In
#   general $\eta < 2/L$ (largest curvature), and the condition number $L/\mu$ sets the speed.
# * Critical points are minima, maxima or saddle points (signs of the Hessian's
#   eigenvalues); in high dimensions saddles dominate, and network losses are not convex.
# * A full-batch gradient costs work proportional to $n$. SGD's mini-batches of $B$ examples
#   give an unbiased gradient with variance $\propto 1/B$ and a noise floor $\propto \eta$,
#   which a decaying schedule (step, cosine, $1/t$, after a warmup) gets below.
# * An optimizer is a step function `(x, grad, state, lr, ...) -> (x, state)`. Momentum
#   $v_t = \beta v_{t-1} + \nabla f(x_t)$, $x_{t+1} = x_t - \eta v_t$ (PyTorch's velocity
#   form; the heavy-ball form only for constant $\eta$) speeds up progress along valleys,
#   with an effective rate $\eta/(1 - \beta)$; too much momentum oscillates. Nesterov takes
#   the gradient at the look-ahead point and brakes earlier.
# * Adagrad divides by the root of the accumulated squared gradients, RMSprop by a moving
#   average of them; Adam adds momentum and bias correction, and with $\eta = 10^{-3}$ is
#   the usual first choice; tuned SGD with momentum can generalize better (Wilson et al.,
#   2017).
#
# ## Further reading
#
# * S. Ruder. An overview of gradient descent optimization algorithms. arXiv:1609.04747, 2016.
# * G. Goh. Why momentum really works. *Distill*, 2017. doi:10.23915/distill.00006.
# * I. Goodfellow, Y. Bengio, A. Courville. *Deep Learning*. MIT Press, 2016. Chapter 8
#   (optimization for training deep models).
# * A. Zhang, Z. C. Lipton, M. Li, A. J. Smola. *Dive into Deep Learning*. Cambridge University
#   Press, 2023. Chapter 12 (optimization algorithms).
# * L. Bottou, F. E. Curtis, J. Nocedal. Optimization methods for large-scale machine learning.
#   *SIAM Review* 60(2):223–311, 2018.
# * H. Robbins, S. Monro. A stochastic approximation method. *The Annals of Mathematical Statistics*
#   22(3):400–407, 1951.
# * I. Loshchilov, F. Hutter. SGDR: stochastic gradient descent with warm restarts. *International
#   Conference on Learning Representations (ICLR)*, 2017.
# * P. Goyal, P. Dollár, R. Girshick, P. Noordhuis, L. Wesolowski, A. Kyrola, A. Tulloch, Y. Jia,
#   K. He. Accurate, large minibatch SGD: training ImageNet in 1 hour. arXiv:1706.02677, 2017.
# * B. T. Polyak. Some methods of speeding up the convergence of iteration methods. *USSR
#   Computational Mathematics and Mathematical Physics* 4(5):1–17, 1964.
# * Y. Nesterov. A method of solving a convex programming problem with convergence rate $O(1/k^2)$.
#   *Soviet Mathematics Doklady* 27(2):372–376, 1983.
# * I. Sutskever, J. Martens, G. Dahl, G. Hinton. On the importance of initialization and momentum
#   in deep learning. *Proceedings of ICML*, PMLR 28(3):1139–1147, 2013.
# * J. Duchi, E. Hazan, Y. Singer. Adaptive subgradient methods for online learning and stochastic
#   optimization. *Journal of Machine Learning Research* 12:2121–2159, 2011.
# * T. Tieleman, G. Hinton. Lecture 6.5 — RMSprop: divide the gradient by a running average of its
#   recent magnitude. *COURSERA: Neural Networks for Machine Learning*, 2012.
# * D. P. Kingma, J. Ba. Adam: a method for stochastic optimization. *International Conference on
#   Learning Representations (ICLR)*, 2015. arXiv:1412.6980.
# * A. C. Wilson, R. Roelofs, M. Stern, N. Srebro, B. Recht. The marginal value of adaptive gradient
#   methods in machine learning. *Advances in Neural Information Processing Systems* 30, 2017.
# * C. Jin, R. Ge, P. Netrapalli, S. M. Kakade, M. I. Jordan. How to escape saddle points
#   efficiently. *Proceedings of ICML*, PMLR 70:1724–1732, 2017.
# * C. Jin, P. Netrapalli, R. Ge, S. M. Kakade, M. I. Jordan. On nonconvex optimization for machine
#   learning: gradients, stochasticity, and saddle points. arXiv:1902.04811, 2019; *Journal of the
#   ACM* 68(2):11, 2021.
# * J. D. Lee, M. Simchowitz, M. I. Jordan, B. Recht. Gradient descent only converges to minimizers.
#   *Proceedings of COLT*, PMLR 49:1246–1257, 2016.
# * Y. N. Dauphin, R. Pascanu, C. Gulcehre, K. Cho, S. Ganguli, Y. Bengio. Identifying and attacking
#   the saddle point problem in high-dimensional non-convex optimization. *Advances in Neural
#   Information Processing Systems* 27, 2014.
# * A. Choromanska, M. Henaff, M. Mathieu, G. Ben Arous, Y. LeCun. The loss surfaces of multilayer
#   networks. *Proceedings of AISTATS*, PMLR 38:192–204, 2015.
# * T. Garipov, P. Izmailov, D. Podoprikhin, D. Vetrov, A. G. Wilson. Loss surfaces, mode
#   connectivity, and fast ensembling of DNNs. *Advances in Neural Information Processing Systems*
#   31, 2018.
# * F. Draxler, K. Veschgini, M. Salmhofer, F. Hamprecht. Essentially no barriers in neural network
#   energy landscape. *Proceedings of ICML*, PMLR 80:1309–1318, 2018.
# * H. H. Rosenbrock. An automatic method for finding the greatest or least value of a function.
#   *The Computer Journal* 3(3):175–184, 1960.
# * D. M. Himmelblau. *Applied Nonlinear Programming*. McGraw-Hill, 1972.
