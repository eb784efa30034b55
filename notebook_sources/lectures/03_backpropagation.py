# %% [markdown]
# # Lecture 03 — Backpropagation and automatic differentiation
#
# Gradient descent (lectures 01 and 02) needs the gradient of the loss with respect to every
# parameter. A deep network has millions of them. **Backpropagation** computes all of them
# in one backward sweep through the network, at a small constant multiple (about two) of the
# cost of one forward pass, however many parameters there are. This lecture derives it,
# builds it from scratch twice — once for a multilayer perceptron in NumPy, once as a general
# automatic-differentiation engine — and checks both against PyTorch.
#
# **Learning goals.** After this lecture you can
# 1. write a multilayer perceptron (MLP) as a composition of functions and apply the chain
#    rule to such compositions;
# 2. derive and implement the forward pass and the backward (adjoint) pass of an MLP, and
#    explain the Lagrange-multiplier view of backpropagation;
# 3. draw a computational graph and explain why reverse-mode automatic differentiation is
#    backpropagation and why it is the right mode for one scalar loss;
# 4. write a tiny scalar autograd engine, extend it with a new operation, and check it
#    against `torch.autograd`;
# 5. check any gradient with centred finite differences and the relative error;
# 6. derive the gradient $p - y$ of softmax cross-entropy, explain vanishing gradients with
#    sigmoids and dying ReLU units, and place backpropagation in the history of neural nets.

# %% setup

# %%
import math
import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.autograd.forward_ad as fwAD
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from course import autodiff, data, gradcheck, grading, train

rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. The multilayer perceptron is a composition of functions
#
# An MLP with $L$ layers alternates affine maps (a weight matrix $W_\ell$ and a bias
# $b_\ell$) with an element-wise non-linearity $a$ (sigmoid, tanh, ReLU) and ends, for
# classification into $K$ classes, with a softmax that turns $K$ scores into probabilities:
#
# $$\hat y = \operatorname{softmax}\Big(W_L\, a\big(W_{L-1} \cdots a(W_1 x + b_1) \cdots +
# b_{L-1}\big) + b_L\Big), \qquad
# \operatorname{softmax}(z)_k = \frac{e^{z_k}}{\sum_{j=1}^K e^{z_j}} .$$
#
# Without the non-linearities the whole composition would collapse into a single affine map
# $Wx + b$, no more expressive than linear regression. In code, a mini-batch stores one
# example per row, so $W_\ell x$ for every example at once is `X @ W.T` (shapes in comments).


# %%
# check: L03 softmax
def softmax(z):
    """Softmax over the last axis. z: (..., K) scores. Returns probabilities (..., K)."""
    z = z - z.max(axis=-1, keepdims=True)  # the same result, and no overflow in exp
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


# %%
def init_mlp(sizes, seed=0):
    """Weights W: (n_out, n_in) ~ N(0, 1/n_in) and zero biases b: (n_out,) for each layer."""
    gen = np.random.default_rng(seed)
    return [
        (gen.normal(0, 1 / np.sqrt(n_in), (n_out, n_in)), np.zeros(n_out))
        for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)
    ]


def mlp_probabilities(X, params, act=np.tanh):
    """The composition above. X: (N, n_0). Returns softmax probabilities (N, K)."""
    x = X
    for W, b in params[:-1]:
        x = act(x @ W.T + b)  # (N, n_in) @ (n_in, n_out) -> (N, n_out)
    W, b = params[-1]
    return softmax(x @ W.T + b)


digits = data.load_digits(flatten=True)
X_train, y_train = digits.X_train.astype(np.float64), digits.y_train
X_test, y_test = digits.X_test.astype(np.float64), digits.y_test
sizes = [64, 32, 16, 10]
params = init_mlp(sizes)
P = mlp_probabilities(X_train[:5], params)
print("layer sizes:", sizes, "| weight shapes:", [W.shape for W, _ in params])
print("probabilities of 5 digits:", P.shape, "rows sum to", P.sum(axis=1).round(12))


# %%
def draw_mlp(widths, ax=None, names=None):
    """A layered picture of a fully connected network with the given layer widths."""
    ax = ax or plt.subplots(figsize=(6, 3))[1]
    coords = [[(i, j - (n - 1) / 2) for j in range(n)] for i, n in enumerate(widths)]
    for left, right in zip(coords[:-1], coords[1:], strict=True):
        for x0, y0 in left:
            for x1, y1 in right:
                ax.plot([x0, x1], [y0, y1], color="0.75", lw=0.6, zorder=1)
    for i, layer in enumerate(coords):
        xs, ys = zip(*layer, strict=True)
        colour = "C0" if i == 0 else ("C2" if i == len(widths) - 1 else "C1")
        ax.scatter(xs, ys, s=220, color=colour, edgecolors="k", zorder=2)
        if names:
            ax.text(i, min(ys) - 0.6, names[i], ha="center", va="top")
    ax.set_axis_off()
    return ax


draw_mlp(
    [5, 6, 4, 3],
    names=["input x", r"$a(W_1x+b_1)$", r"$a(W_2\cdot+b_2)$", r"softmax$(W_3\cdot+b_3)$"],
)
plt.title("an MLP: every line is one weight (drawn with fewer units than the real one)", fontsize=9)
plt.show()

# %% [markdown]
# ## 2. The chain rule for compositions
#
# For $y = f(g(x))$ the chain rule says $\frac{dy}{dx} = f'(g(x))\, g'(x)$: the derivative of
# a composition is the product of the derivatives of its pieces, each evaluated at the point
# the forward computation passed through.
#
# **Worked example.** $f(u) = u^2$ and $g(x) = 3x^3 + 2$. Then $f'(u) = 2u$, $g'(x) = 9x^2$,
# and
#
# $$\frac{dy}{dx} = 2(3x^3 + 2)\cdot 9x^2 = 54x^5 + 36x^2 .$$
#
# We verify the formula three ways: centred finite differences, `torch.autograd`, and (in
# section 6) our own engine.


# %%
# check: L03 chain rule
def g(x):
    return 3 * x**3 + 2


def f(u):
    return u**2


def dy_dx(x):
    """The chain rule: f'(g(x)) g'(x) = 2 (3x^3 + 2) * 9x^2 = 54 x^5 + 36 x^2."""
    return 54 * x**5 + 36 * x**2


# %%
x_points = np.array([-1.5, -0.5, 0.0, 0.3, 1.0, 2.0])
numeric = gradcheck.numerical_gradient(lambda x: f(g(x)).sum(), x_points.copy())
x_t = torch.tensor(x_points, requires_grad=True)  # float64, like the NumPy array
f(g(x_t)).sum().backward()  # the sum's gradient holds each dy/dx at its own x
print(f"{'x':>5s} {'54x^5 + 36x^2':>14s} {'finite diff.':>13s} {'torch.autograd':>15s}")
for x, exact, num, auto in zip(x_points, dy_dx(x_points), numeric, x_t.grad.numpy(), strict=True):
    print(f"{x:5.1f} {exact:14.6f} {num:13.6f} {auto:15.6f}")
print(
    f"relative errors: finite differences {gradcheck.rel_error(numeric, dy_dx(x_points)):.1e},"
    f" autograd {gradcheck.rel_error(x_t.grad.numpy(), dy_dx(x_points)):.1e}"
)

xs = np.linspace(-1.6, 1.6, 300)
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), layout="constrained")
axes[0].plot(xs, f(g(xs)))
axes[0].set_title(r"$y = (3x^3 + 2)^2$")
axes[1].plot(xs, dy_dx(xs), label=r"$54x^5 + 36x^2$")
mask = np.abs(x_points) <= 1.6
axes[1].plot(x_points[mask], numeric[mask], "o", ms=8, mfc="none", label="finite differences")
axes[1].plot(x_points[mask], x_t.grad.numpy()[mask], "x", ms=8, label="torch.autograd")
axes[1].set_title(r"$dy/dx$")
axes[0].set_ylabel("y")
axes[1].set_ylabel("dy/dx")
axes[1].legend()
for ax in axes:
    ax.set_xlabel("x")
plt.show()

# %% [markdown]
# **Several paths.** When $x$ influences $y$ through several intermediate variables
# $u_1, \dots, u_k$, the contributions of the paths add up:
# $\frac{\partial y}{\partial x} = \sum_k \frac{\partial y}{\partial u_k}
# \frac{\partial u_k}{\partial x}$. In matrix form the Jacobian of a composition is the
# product of the Jacobians, $J_{f \circ g}(x) = J_f(g(x))\, J_g(x)$. For example
# $y = u_1 u_2$ with $u_1 = \sin x$, $u_2 = x^2$ gives
# $\frac{dy}{dx} = u_2 \cos x + u_1 \cdot 2x$ (the product rule is the chain rule with two
# paths):

# %%
x0 = 0.7
two_paths = x0**2 * np.cos(x0) + np.sin(x0) * 2 * x0
num = gradcheck.numerical_gradient(lambda v: (np.sin(v) * v**2).sum(), np.array([x0]))[0]
print(f"sum over two paths: {two_paths:.10f}, finite differences: {num:.10f}")

# %% [markdown]
# ## 3. Softmax cross-entropy and its gradient $p - y$
#
# The loss for classification compares the predicted probabilities $p = \operatorname{softmax}(z)$
# of the scores (*logits*) $z \in \mathbb{R}^K$ with the one-hot label $y$ (a 1 at the true
# class $c$):
#
# $$L(z, y) = -\sum_k y_k \log p_k = -z_c + \log \sum_j e^{z_j}.$$
#
# Its gradient is remarkably simple. Since $\frac{\partial}{\partial z_k}\log\sum_j e^{z_j} =
# \frac{e^{z_k}}{\sum_j e^{z_j}} = p_k$ and $\frac{\partial z_c}{\partial z_k} = y_k$,
#
# $$\frac{\partial L}{\partial z} = p - y .$$
#
# The gradient pushes the score of the true class up by $1 - p_c$ and every other score down
# by its probability: a confident correct prediction gets almost no push.
# The code computes $\log\sum_j e^{z_j}$ after subtracting $\max_j z_j$ ("log-sum-exp"), so
# scores such as 1000 do not overflow.


# %%
# check: L03 softmax cross-entropy
def cross_entropy(z, y):
    """Mean softmax cross-entropy. z: (N, K) logits, y: (N,) integer labels."""
    z_shift = z - z.max(axis=1, keepdims=True)  # (N, K)
    log_p = z_shift - np.log(np.exp(z_shift).sum(axis=1, keepdims=True))  # log softmax
    return -log_p[np.arange(len(y)), y].mean()


def cross_entropy_grad(z, y):
    """dL/dz = (p - y_onehot) / N for the mean over N examples. Returns (N, K)."""
    y_onehot = np.eye(z.shape[1])[y]  # (N, K)
    return (softmax(z) - y_onehot) / len(y)


# %%
z = rng.normal(size=(4, 5))
labels = np.array([0, 3, 1, 3])
error = gradcheck.check_gradient(
    lambda v: cross_entropy(v, labels), z.copy(), cross_entropy_grad(z, labels), name="z"
)
z_t = torch.tensor(z, requires_grad=True)
loss_t = F.cross_entropy(z_t, torch.tensor(labels))
loss_t.backward()
print(f"p - y vs finite differences: relative error {error:.1e}")
print(
    f"loss: ours {cross_entropy(z, labels):.10f}, torch {loss_t.item():.10f}; gradient vs "
    f"torch: relative error {gradcheck.rel_error(cross_entropy_grad(z, labels), z_t.grad):.1e}"
)
big = np.array([[1000.0, 0.0, -1000.0]])
with np.errstate(over="ignore", invalid="ignore"):
    naive = -np.log(np.exp(big[0, 0]) / np.exp(big).sum())  # inf / inf = nan
print(
    f"logits [1000, 0, -1000], label 0: naive formula {naive}, "
    f"log-sum-exp {cross_entropy(big, np.array([0])) + 0.0:.4f}"
)

fig, axes = plt.subplots(1, 4, figsize=(12, 2.8), sharex=True, layout="constrained")
one = np.eye(5)[labels[1]]
for ax, values, title in zip(
    axes,
    [z[1], softmax(z[1]), one, softmax(z[1]) - one],
    ["logits z", "p = softmax(z)", "one-hot y", "gradient p - y"],
    strict=True,
):
    ax.bar(range(5), values, color=["C3" if k == labels[1] else "C0" for k in range(5)])
    ax.axhline(0, color="k", lw=0.6)
    ax.set_title(title)
    ax.set_xlabel("class")
plt.show()

# %% [markdown]
# **Exercise.** Cells that start with `# exercise:` are for you: replace the `None`, run the
# cell, and it says at once whether the answer is right; a solution is folded below each.
# A network outputs $p = (0.7, 0.2, 0.1)$ and the true class is the *third*. What is
# $\partial L/\partial z$ for this one example?

# %%
# exercise: gradient of softmax cross-entropy
answer = None  # your code here: three numbers
p_given = torch.tensor([[0.7, 0.2, 0.1]], dtype=torch.float64)
z_given = p_given.log().requires_grad_()  # logits whose softmax is p
F.cross_entropy(z_given, torch.tensor([2])).backward()
grading.exercise("dL/dz", answer, z_given.grad[0], hint="p - y, with y the one-hot label")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: gradient of softmax cross-entropy
# answer = [0.7, 0.2, 0.1 - 1]  # p - y = (0.7, 0.2, -0.9)
# p_given = torch.tensor([[0.7, 0.2, 0.1]], dtype=torch.float64)
# z_given = p_given.log().requires_grad_()  # logits whose softmax is p
# F.cross_entropy(z_given, torch.tensor([2])).backward()
# grading.exercise("dL/dz", answer, z_given.grad[0], hint="p - y, with y the one-hot label")
# ```
# A large correction, since the network was confidently wrong; had the first class been
# right, the gradient would be $(-0.3, 0.2, 0.1)$.
# </details>

# %% [markdown]
# ## 4. The forward pass and the backward (adjoint) pass
#
# Name the intermediate results. With $x_0 = x$, for $\ell = 1, \dots, L$:
#
# $$z_\ell = W_\ell x_{\ell-1} + b_\ell, \qquad x_\ell = f_\ell(z_\ell),$$
#
# with $f_\ell = a$ for the hidden layers and $f_L$ the identity (the softmax is part of the
# loss $J = L(z_L, y)$). The **forward pass** computes and stores every $x_\ell$ and $z_\ell$.
#
# The **backward pass** computes the *adjoints* $\delta_\ell = \partial J / \partial z_\ell$
# from the top down, using the chain rule once per layer:
#
# $$\delta_L = p - y, \qquad
# \delta_{\ell} = a'(z_{\ell}) \odot \big(W_{\ell+1}^\top \delta_{\ell+1}\big), \qquad
# \frac{\partial J}{\partial W_\ell} = \delta_\ell\, x_{\ell-1}^\top, \qquad
# \frac{\partial J}{\partial b_\ell} = \delta_\ell .$$
#
# Every quantity it needs was stored by the forward pass. Each layer costs two products of
# the size of the forward one ($W_{\ell+1}^\top \delta_{\ell+1}$ and the outer product
# $\delta_\ell x_{\ell-1}^\top$), so the whole backward pass costs about twice the forward
# pass. Then the **weight update** of gradient
# descent is $W_\ell \leftarrow W_\ell - \eta\, \partial J/\partial W_\ell$ (same for
# $b_\ell$). With a mini-batch, rows are examples: $\delta_\ell$ is $(N, n_\ell)$, and
# $\delta_\ell^\top X_{\ell-1}$ sums the outer products over the examples.


# %%
def forward(X, params, act=np.tanh):
    """Forward pass. X: (N, n_0). Returns the logits z_L (N, K) and the cache (xs, zs)."""
    xs, zs = [X], []
    for ell, (W, b) in enumerate(params):
        z = xs[-1] @ W.T + b  # (N, n_ell)
        zs.append(z)
        xs.append(act(z) if ell < len(params) - 1 else z)
    return zs[-1], (xs, zs)


def tanh_grad(z):
    return 1 - np.tanh(z) ** 2


def backward(logits, y, cache, params, act_grad=tanh_grad):
    """Backward pass for the mean cross-entropy. Returns [(dJ/dW, dJ/db) per layer]."""
    xs, zs = cache
    delta = cross_entropy_grad(logits, y)  # delta_L = (p - y) / N: (N, K)
    grads = [None] * len(params)
    for ell in reversed(range(len(params))):
        W, _ = params[ell]
        grads[ell] = (delta.T @ xs[ell], delta.sum(axis=0))  # (n_ell, n_ell-1), (n_ell,)
        if ell > 0:
            delta = (delta @ W) * act_grad(zs[ell - 1])  # a'(z) * (W^T delta), row-wise
    return grads


logits, cache = forward(X_train[:50], params)
grads = backward(logits, y_train[:50], cache, params)

# the same gradients from torch.autograd
tensors = [
    (torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)) for W, b in params
]
h = torch.from_numpy(X_train[:50])
for ell, (W, b) in enumerate(tensors):
    h = h @ W.T + b
    h = torch.tanh(h) if ell < len(tensors) - 1 else h
F.cross_entropy(h, torch.from_numpy(y_train[:50])).backward()
for ell, ((dW, db), (W, b)) in enumerate(zip(grads, tensors, strict=True), start=1):
    print(
        f"layer {ell}: dJ/dW {dW.shape} rel. error {gradcheck.rel_error(dW, W.grad):.1e}, "
        f"dJ/db rel. error {gradcheck.rel_error(db, b.grad):.1e}"
    )

# %% [markdown]
# With forward, backward and the update we can train the MLP on the 8x8 digits — no
# PyTorch involved. Every epoch shuffles the training set and cuts it into
# `len(X_train) // 128` mini-batches of about 128 examples (mini-batch gradient descent,
# lecture 02); one step per mini-batch, 30 epochs.


# %%
def accuracy(params, X, y):
    return np.mean(forward(X, params)[0].argmax(axis=1) == y)


params_trained = init_mlp(sizes, seed=1)
losses, lr, batch_size, num_epochs = [], 0.5, 128, 30
shuffle = np.random.default_rng(0)
for _ in range(num_epochs):
    for batch in np.array_split(shuffle.permutation(len(X_train)), len(X_train) // batch_size):
        logits, cache = forward(X_train[batch], params_trained)  # forward pass
        losses.append(cross_entropy(logits, y_train[batch]))
        grads = backward(logits, y_train[batch], cache, params_trained)  # backward pass
        params_trained = [  # weight update
            (W - lr * dW, b - lr * db)
            for (W, b), (dW, db) in zip(params_trained, grads, strict=True)
        ]
print(
    f"{len(losses)} steps; "
    f"mini-batch loss {losses[0]:.3f} -> {losses[-1]:.3f}"
)
print(
    f"accuracy: training {accuracy(params_trained, X_train, y_train):.3f}, "
    f"test {accuracy(params_trained, X_test, y_test):.3f}"
)

plt.figure(figsize=(5, 3))
plt.plot(losses)
plt.xlabel("gradient-descent step")
plt.ylabel("mini-batch cross-entropy")
plt.title("an MLP trained with our own backpropagation")
plt.show()

# %% [markdown]
# ### Backpropagation from Lagrange multipliers, LeCun 1988 (optional)
#
# LeCun derived backpropagation as an optimization problem with constraints: minimize the
# loss $J(x_L)$ *subject to* the forward equations $x_\ell = F_\ell(x_{\ell-1}, W_\ell)$,
# $\ell = 1, \dots, L$. Introduce one vector of Lagrange multipliers $\lambda_\ell$ per
# constraint:
#
# $$\mathcal{L} = J(x_L) - \sum_{\ell=1}^{L} \lambda_\ell^\top \big(x_\ell - F_\ell(x_{\ell-1},
# W_\ell)\big).$$
#
# Setting the derivatives of $\mathcal{L}$ to zero gives the whole algorithm:
# * $\partial\mathcal{L}/\partial\lambda_\ell = 0$: the forward pass, $x_\ell =
#   F_\ell(x_{\ell-1}, W_\ell)$;
# * $\partial\mathcal{L}/\partial x_L = 0$: $\lambda_L = \nabla J(x_L)$;
# * $\partial\mathcal{L}/\partial x_\ell = 0$ for $\ell < L$: the backward pass
#   $\lambda_\ell = \big(\partial F_{\ell+1}/\partial x_\ell\big)^\top \lambda_{\ell+1}
#   = W_{\ell+1}^\top\big(a'(z_{\ell+1}) \odot \lambda_{\ell+1}\big)$;
# * $\partial\mathcal{L}/\partial W_\ell$: the gradient, $\big(a'(z_\ell) \odot
#   \lambda_\ell\big)\, x_{\ell-1}^\top$.
#
# So the multipliers are the adjoints: $\lambda_\ell = \partial J/\partial x_\ell$. The same
# idea is the "adjoint method" of optimal control, where it predates neural networks. We
# compute the multipliers with this recursion and compare them with the gradients PyTorch
# stores for the intermediate activations:

# %%
X_small, y_small = X_train[:20], y_train[:20]
logits, (xs, zs) = forward(X_small, params)
lam = cross_entropy_grad(logits, y_small)  # lambda_L = dJ/dx_L, here x_L = z_L
lambdas = {len(params): lam}
for ell in range(len(params) - 1, 0, -1):
    W_next = params[ell][0]  # W_{ell+1}
    a_prime = 1.0 if ell + 1 == len(params) else tanh_grad(zs[ell])  # a'(z_{ell+1})
    lam = (a_prime * lam) @ W_next  # W_{ell+1}^T (a' * lambda_{ell+1}), row-wise
    lambdas[ell] = lam

h = torch.from_numpy(X_small).requires_grad_()
activations = {}
for ell, (W, b) in enumerate(params, start=1):
    h = h @ torch.from_numpy(W).T + torch.from_numpy(b)
    h = torch.tanh(h) if ell < len(params) else h
    h.retain_grad()  # keep dJ/dx_ell of this intermediate result
    activations[ell] = h
F.cross_entropy(h, torch.from_numpy(y_small)).backward()
for ell in sorted(lambdas):
    err = gradcheck.rel_error(lambdas[ell], activations[ell].grad)
    print(f"lambda_{ell} {lambdas[ell].shape} vs dJ/dx_{ell} from torch: rel. error {err:.1e}")

# %% [markdown]
# ## 5. Computational graphs and reverse-mode automatic differentiation
#
# Any computation made of elementary operations is a **computational graph**: a node per
# intermediate value, an edge from each input of an operation to its output. Here is the
# graph of one tanh neuron with a squared error, $J = (\tanh(wx + b) - y)^2$, drawn by
# `course.autodiff.draw_graph` after a backward pass (`course.autodiff` is a packaged twin of
# the engine we write in section 6, with a graph drawer): inputs are blue, operations orange, and
# every node shows its value and its gradient $\partial J/\partial(\text{node})$.
# (Subtraction is built as "add the negative", hence the multiplication by $-1$.)

# %%
x, w, b, y = (autodiff.Value(v, label=name) for v, name in zip([2.0, -0.5, 0.3, 1.0], "xwby"))
J_neuron = ((w * x + b).tanh() - y) ** 2
J_neuron.backward()
autodiff.draw_graph(J_neuron)
plt.title("J = (tanh(w x + b) - y)²: values and gradients")
plt.show()
t = np.tanh(-0.5 * 2.0 + 0.3)
print(
    f"dJ/dw by hand: 2 (tanh(wx+b) - y) (1 - tanh²) x = {2 * (t - 1) * (1 - t**2) * 2.0:.6f};"
    f" engine: {w.grad:.6f}"
)

# %% [markdown]
# A derivative can be pushed through such a graph in two directions.
# * **Forward mode** carries $\partial(\text{node})/\partial x_i$ from the inputs to the output
#   along with the values: one pass, a *Jacobian-vector product* (JVP) $J e$, gives the
#   derivatives with respect to *one* input direction $e$.
# * **Reverse mode** first runs the graph forward, then carries $\partial J/\partial
#   (\text{node})$ from the output back to the inputs: one pass, a *vector-Jacobian product*
#   (VJP) $u^\top J$, gives the derivatives of *one* output with respect to *all* inputs.
#
# For a gradient of $f: \mathbb{R}^n \to \mathbb{R}$, forward mode needs $n$ JVPs (one per
# input direction $e_1, \dots, e_n$), reverse mode one VJP. Wall-clock times on a small
# shared machine are noisy, so we *count*: PyTorch's `FlopCounterMode` counts the
# floating-point operations of the matrix products (2 per multiply-add) of
# $f(v) = \sum \tanh(A \tanh(A v))$, computed with forward mode (`torch.autograd.forward_ad`,
# dual numbers) and with reverse mode (`.backward()`).


# %%
def forward_mode_gradient(func, v):
    """The gradient of func: R^n -> R at v: (n, 1), one JVP per coordinate e_i."""
    columns = []
    for e in torch.eye(len(v), dtype=v.dtype):
        with fwAD.dual_level():
            out = func(fwAD.make_dual(v, e[:, None]))  # carries (value, J e)
            columns.append(fwAD.unpack_dual(out).tangent)
    return torch.stack(columns)[:, None]


def reverse_mode_gradient(func, v):
    """The same gradient with one backward pass (one VJP)."""
    v = v.clone().requires_grad_()
    func(v).backward()
    return v.grad


def flops(thunk):
    """Floating-point operations of the matrix products that thunk() runs."""
    with FlopCounterMode(display=False) as counter:
        thunk()
    return counter.get_total_flops()


dims, counts = [8, 32, 128], []
with warnings.catch_warnings():  # PyTorch warns about one of its internals on first use
    warnings.simplefilter("ignore", FutureWarning)
    for n in dims:
        A = torch.randn(n, n, dtype=torch.float64) / n**0.5
        v = torch.randn(n, 1, dtype=torch.float64)  # a column, so that A @ v is a matrix product

        def func(v, A=A):
            return torch.tanh(A @ torch.tanh(A @ v)).sum()

        assert torch.allclose(forward_mode_gradient(func, v), reverse_mode_gradient(func, v))
        counts.append(
            [flops(lambda: func(v)),
             flops(lambda: forward_mode_gradient(func, v)),
             flops(lambda: reverse_mode_gradient(func, v))]
        )
        f_cost, fwd, rev = counts[-1]
        print(
            f"n = {n:3d}: f {f_cost:>6,} flops | forward mode, {n} JVPs: {fwd:>10,} = "
            f"{fwd / f_cost:3.0f} x f ({fwd / n / f_cost:.0f} x f per JVP) | "
            f"reverse mode, 1 VJP: {rev:>7,} = {rev / f_cost:.0f} x f"
        )

counts = np.array(counts)
plt.figure(figsize=(5, 3.2))
plt.loglog(dims, counts[:, 1] / counts[:, 0], "o-", label="forward mode (n JVPs)")
plt.loglog(dims, counts[:, 2] / counts[:, 0], "s-", label="reverse mode (1 VJP)")
plt.xlabel("number of inputs n")
plt.ylabel("cost of the gradient / cost of f")
plt.xticks(dims, [str(n) for n in dims])
plt.minorticks_off()
plt.title(r"the gradient of $f: \mathbb{R}^n \to \mathbb{R}$, counted in flops")
plt.legend()
plt.show()

# %% [markdown]
# The counts say it exactly. Reverse mode costs a fixed multiple of $f$ whatever $n$: the
# forward pass plus one backward product per matrix product. Forward mode costs a fixed
# multiple of $f$ *per input* (each JVP here recomputes the values and pushes a tangent
# through every product: 3 times $f$), so its cost over $f$ grows in proportion to $n$: 4
# times more inputs, 4 times the ratio. A loss is one number that depends on millions of
# parameters, so reverse mode wins by a factor of the order of the number of parameters.
# **Backpropagation is reverse-mode automatic differentiation** applied to a network with a
# scalar loss. (For a function with one input and many outputs the roles swap, and forward
# mode wins.)

# %% [markdown]
# ## 6. A tiny autograd engine, written here
#
# Now we build reverse-mode autodiff ourselves, on scalars: about fifty lines, in the next
# cell, which you can edit and re-run. Three ideas are all it takes.
#
# 1. **A node.** A `Value` holds a number `data`, a gradient `grad`, the nodes it was computed
#    from (`_parents`) and the local derivative of its result with respect to each parent
#    (`_local_grads`).
# 2. **Operations.** Each operation computes its result *and* its local derivatives, and
#    returns a new node that remembers both. For $c = ab$: $\partial c/\partial a = b$,
#    $\partial c/\partial b = a$; for $t = \tanh a$: $\partial t/\partial a = 1 - t^2$.
#    Subtraction, division and the reflected operators (`2 * a`) are written with these
#    building blocks, so they need no derivative of their own.
# 3. **The backward pass.** A node may pass its gradient to its parents only once that
#    gradient is complete, i.e. after every node that *uses* it. A **topological order**
#    (every node after its parents), read backwards, guarantees this. Then the chain rule is
#    one line: `parent.grad += local * node.grad`. The `+=` is the "sum over paths" of
#    section 2: a value used twice receives two contributions.


# %%
# check: L03 autograd engine
class Value:
    """A scalar that remembers how it was computed, so that it can be differentiated."""

    def __init__(self, data, parents=(), local_grads=(), op=""):
        self.data = float(data)
        self.grad = 0.0  # d(output of the last backward) / d(this value)
        self._parents = parents  # the Values this one was computed from
        self._local_grads = local_grads  # d(this) / d(parent), one number per parent
        self.op = op  # for printing: "+", "*", "tanh", ...

    def __repr__(self):
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g}, op={self.op!r})"

    # --- operations with their own local derivatives ---
    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data + other.data, (self, other), (1.0, 1.0), "+")

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data * other.data, (self, other), (other.data, self.data), "*")

    def __pow__(self, k):  # k is a plain number, not a Value
        return Value(self.data**k, (self,), (k * self.data ** (k - 1),), f"**{k}")

    def exp(self):
        e = math.exp(self.data)
        return Value(e, (self,), (e,), "exp")

    def tanh(self):
        t = math.tanh(self.data)
        return Value(t, (self,), (1 - t**2,), "tanh")

    def relu(self):  # at 0 we take the derivative 0, as PyTorch does
        return Value(max(self.data, 0.0), (self,), (float(self.data > 0),), "relu")

    # --- operations written with the ones above: no derivative of their own ---
    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __truediv__(self, other):
        return self * other**-1

    def __radd__(self, other):  # number + Value
        return self + other

    def __rmul__(self, other):  # number * Value
        return self * other

    def __rsub__(self, other):  # number - Value
        return (-self) + other

    def __rtruediv__(self, other):  # number / Value
        return self**-1 * other

    # --- the backward pass ---
    def backward(self):
        """Fill .grad of every node this Value depends on with d(self)/d(node)."""
        order, visited = [], set()

        def visit(node):  # depth first: a node goes into `order` after all its parents
            if node not in visited:
                visited.add(node)
                for parent in node._parents:
                    visit(parent)
                order.append(node)

        visit(self)
        for node in order:  # unlike PyTorch, we start every backward pass from zero
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):  # every user of a node comes before the node
            for parent, local in zip(node._parents, node._local_grads, strict=True):
                parent.grad += local * node.grad  # the chain rule


# %% [markdown]
# **Checking it against `torch.autograd`.** First the worked example of section 2, then one
# expression that uses every operation, written once for both engines. In float64 the two
# must agree to rounding error, so we demand $10^{-10}$.

# %%
for x_val in [-1.5, 0.3, 2.0]:
    x = Value(x_val)
    y = (3 * x**3 + 2) ** 2
    y.backward()
    print(f"x = {x_val:4.1f}: engine dy/dx = {x.grad:12.6f}, 54x^5 + 36x^2 = {dy_dx(x_val):12.6f}")


def expression(a, b, c, tanh, exp, relu):
    """One expression for both engines, using +, -, *, /, **, tanh, exp and relu."""
    u = tanh(a * b + c / (1 + a**2))
    v = exp(-b) / (2 + u) - relu(c - a) * u
    return u * v + (a - c) ** 3 / 7 - 1 / (a + 2)


inputs = {"a": 0.8, "b": -1.3, "c": 2.1}
values = {k: Value(v) for k, v in inputs.items()}
out = expression(**values, tanh=Value.tanh, exp=Value.exp, relu=Value.relu)
out.backward()
tensors = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in inputs.items()}
out_t = expression(**tensors, tanh=torch.tanh, exp=torch.exp, relu=torch.relu)
out_t.backward()
print(f"value: engine {out.data:.12f}, torch {out_t.item():.12f}")
for k in inputs:
    print(f"d out / d {k}: engine {values[k].grad:+.12f}, torch {tensors[k].grad.item():+.12f}")
engine_grads = [values[k].grad for k in inputs]
torch_grads = [tensors[k].grad.item() for k in inputs]
assert np.allclose(engine_grads, torch_grads, rtol=1e-10, atol=1e-12), "engine != torch"

# %% [markdown]
# **A tiny MLP.** A layer is a list of neurons, a neuron a list of weights and a bias, all
# `Value`s; `mlp_forward` is the composition of section 1 written with them. We copy the
# weights of a 3-4-4-2 tanh MLP into `torch.nn.Linear` layers and compare the gradients of a
# squared error with respect to all 46 parameters.


# %%
# check: L03 engine MLP
def init_value_mlp(sizes, seed=0):
    """Layers of neurons [(weights, bias), ...] holding Values; weights ~ U(-1, 1)."""
    gen = np.random.default_rng(seed)
    return [
        [([Value(w) for w in gen.uniform(-1, 1, n_in)], Value(0.0)) for _ in range(n_out)]
        for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)
    ]


def mlp_forward(layers, x):
    """x: a list of n_0 numbers or Values. Returns the n_L outputs (tanh hidden, linear last)."""
    for i, layer in enumerate(layers):
        z = [sum((w * xi for w, xi in zip(ws, x, strict=True)), b) for ws, b in layer]
        x = z if i == len(layers) - 1 else [zj.tanh() for zj in z]
    return x


def mlp_parameters(layers):
    return [p for layer in layers for ws, b in layer for p in (*ws, b)]


# %%
mlp = init_value_mlp([3, 4, 4, 2])
x_in, target = [0.5, -1.0, 2.0], [1.0, -1.0]
loss = sum((o - t) ** 2 for o, t in zip(mlp_forward(mlp, x_in), target, strict=True))
loss.backward()

torch_layers = []
for layer in mlp:
    lin = torch.nn.Linear(len(layer[0][0]), len(layer)).double()
    with torch.no_grad():
        weights = [[w.data for w in ws] for ws, _ in layer]  # (n_out, n_in)
        lin.weight.copy_(torch.tensor(weights, dtype=torch.float64))
        lin.bias.copy_(torch.tensor([b.data for _, b in layer], dtype=torch.float64))
    torch_layers.append(lin)
h = torch.tensor(x_in, dtype=torch.float64)
for i, lin in enumerate(torch_layers):
    h = lin(h) if i == len(torch_layers) - 1 else torch.tanh(lin(h))
loss_t = ((h - torch.tensor(target, dtype=torch.float64)) ** 2).sum()
loss_t.backward()

ours = np.array([p.grad for p in mlp_parameters(mlp)])
theirs = np.concatenate(  # the order of mlp_parameters: each neuron's weights, then its bias
    [torch.column_stack([lin.weight.grad, lin.bias.grad]).ravel().numpy() for lin in torch_layers]
)
print(f"{len(ours)} parameters; loss engine {loss.data:.12f}, torch {loss_t.item():.12f}")
print(f"largest gradient difference: {np.abs(ours - theirs).max():.1e}")
assert np.allclose(ours, theirs, rtol=1e-10, atol=1e-12), "engine != torch on the MLP"

# %% [markdown]
# <details><summary><b>Check yourself.</b> Why does `backward` visit the nodes in reverse
# topological order instead of, say, breadth-first from the output?</summary>
#
# A node may be reached by several paths of different lengths. Breadth-first could pass a
# node's gradient on to its parents before the contribution of a longer path has arrived.
# In reverse topological order every consumer of a node is processed before the node itself.
# </details>

# %% [markdown]
# **Exercises.** *The local derivatives of a node.* For $t = \tanh(ab)$ with $a = 0.5$,
# $b = -1.2$, give the local derivative that the `tanh` node stores for its parent $u = ab$,
# and the one the `*` node stores for its parent $a$ (two numbers, by hand or with
# `math.tanh`).

# %%
# exercise: local derivatives
answer = None  # your code here: [dt/du, du/da]
a_t, b_t = torch.tensor(0.5, dtype=torch.float64), torch.tensor(-1.2, dtype=torch.float64)
u_t = (a_t.requires_grad_() * b_t).detach().requires_grad_()
expected = [torch.autograd.grad(torch.tanh(u_t), u_t)[0], torch.autograd.grad(a_t * b_t, a_t)[0]]
grading.exercise("[dt/du, du/da]", answer, expected,
                 hint="tanh'(u) = 1 - tanh(u)^2 at u = ab; d(ab)/da = b")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: local derivatives
# answer = [1 - math.tanh(0.5 * -1.2) ** 2, -1.2]  # [0.7147..., -1.2]
# a_t, b_t = torch.tensor(0.5, dtype=torch.float64), torch.tensor(-1.2, dtype=torch.float64)
# u_t = (a_t.requires_grad_() * b_t).detach().requires_grad_()
# expected = [torch.autograd.grad(torch.tanh(u_t), u_t)[0], torch.autograd.grad(a_t * b_t, a_t)[0]]
# grading.exercise("[dt/du, du/da]", answer, expected,
#                  hint="tanh'(u) = 1 - tanh(u)^2 at u = ab; d(ab)/da = b")
# ```
# The engine stores exactly these: `Value(0.5) * Value(-1.2)` keeps `_local_grads = (-1.2, 0.5)`.
# </details>

# %% [markdown]
# *Backpropagation by hand.* For $f = (xy + z)\,x$ at $x = 2$, $y = -3$, $z = 4$, run the
# backward pass on paper: name $u = xy$, $s = u + z$, $f = s x$, and go from $\partial f/\partial
# f = 1$ down to the inputs. Careful: $x$ is used twice.

# %%
# exercise: backprop by hand
answer = None  # your code here: [df/dx, df/dy, df/dz]
xyz = torch.tensor([2.0, -3.0, 4.0], dtype=torch.float64, requires_grad=True)
((xyz[0] * xyz[1] + xyz[2]) * xyz[0]).backward()
grading.exercise("[df/dx, df/dy, df/dz]", answer, xyz.grad,
                 hint="df/dx adds two paths: s (through f = s x) and x * y (through u = x y)")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: backprop by hand
# x, y, z = 2.0, -3.0, 4.0
# u = x * y  # -6
# s = u + z  # -2
# df_ds, df_dx_direct = x, s  # f = s x
# df_du = df_ds * 1.0  # s = u + z
# df_dz = df_ds * 1.0
# df_dy = df_du * x  # u = x y
# df_dx = df_dx_direct + df_du * y  # two paths: -2 + 2 * (-3) = -8
# answer = [df_dx, df_dy, df_dz]  # [-8, 4, 2]
# xyz = torch.tensor([2.0, -3.0, 4.0], dtype=torch.float64, requires_grad=True)
# ((xyz[0] * xyz[1] + xyz[2]) * xyz[0]).backward()
# grading.exercise("[df/dx, df/dy, df/dz]", answer, xyz.grad,
#                  hint="df/dx adds two paths: s (through f = s x) and x * y (through u = x y)")
# ```
# Check: $f = x^2 y + xz$, so $\partial f/\partial x = 2xy + z = -8$.
# </details>

# %% [markdown]
# *A new operation.* Write `sigmoid(v)` for the engine: it returns a new `Value` holding
# $\sigma(v) = 1/(1 + e^{-v})$ whose only parent is `v`, with the local derivative
# $\sigma'(v)$ written with $\sigma$ itself. The cell checks values and gradients against
# `torch.sigmoid`, alone and inside an expression.

# %%
# exercise: sigmoid for the engine
def sigmoid(v):
    """sigma(v) as a new Value whose only parent is v (a Value)."""
    return None  # your code here


v_t = torch.tensor([-3.0, -0.5, 0.0, 2.0], dtype=torch.float64, requires_grad=True)
(torch.sigmoid(v_t) * v_t).sum().backward()  # d(sigma(v) v)/dv = sigma'(v) v + sigma(v)
got = []
for v in map(Value, v_t.tolist()):
    s = sigmoid(v)
    if s is not None:
        (s * v).backward()
        got.append([s.data, v.grad])
grading.exercise("[sigma(v), d(sigma(v) v)/dv]", got or None,
                 torch.column_stack([torch.sigmoid(v_t), v_t.grad]).detach(),
                 hint="s = 1 / (1 + math.exp(-v.data)); parents (v,); local derivative s (1 - s)")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: sigmoid for the engine
# def sigmoid(v):
#     """sigma(v) as a new Value whose only parent is v (a Value)."""
#     s = 1 / (1 + math.exp(-v.data))
#     return Value(s, (v,), (s * (1 - s),), "sigmoid")
#
#
# v_t = torch.tensor([-3.0, -0.5, 0.0, 2.0], dtype=torch.float64, requires_grad=True)
# (torch.sigmoid(v_t) * v_t).sum().backward()  # d(sigma(v) v)/dv = sigma'(v) v + sigma(v)
# got = []
# for v in map(Value, v_t.tolist()):
#     s = sigmoid(v)
#     if s is not None:
#         (s * v).backward()
#         got.append([s.data, v.grad])
# grading.exercise("[sigma(v), d(sigma(v) v)/dv]", got or None,
#                  torch.column_stack([torch.sigmoid(v_t), v_t.grad]).detach(),
#                  hint="s = 1 / (1 + math.exp(-v.data)); parents (v,); local derivative s (1 - s)")
# ```
# Written with the engine's own operations, `1 / (1 + (-v).exp())` also works: slower (five
# operation nodes instead of one) but with no derivative to derive. `math.exp(-v.data)`
# overflows for $v < -709$; a careful version uses $e^{v}/(1 + e^{v})$ for negative $v$.
# </details>

# %% [markdown]
# ## 7. Gradient checking
#
# Every hand-written backward pass must be checked. Compare it with the centred difference
#
# $$\frac{\partial J}{\partial \theta_i} \approx
# \frac{J(\theta + h e_i) - J(\theta - h e_i)}{2h}$$
#
# using the **relative error** $\frac{|a - n|}{|a| + |n|}$, which does not depend on the
# scale of the gradient. Its truncation error is of order $h^2$ (against $h$ for the
# one-sided difference), but $h$ cannot be tiny: the subtraction of two nearly equal
# numbers loses digits to round-off, an error of order $\varepsilon_{\text{mach}}/h$. The
# figure shows both effects for $\tanh$ at $x = 0.5$ in float64.

# %%
hs = np.geomspace(1e-13, 1e-1, 49)
x0, exact = 0.5, 1 - np.tanh(0.5) ** 2
forward_err = np.abs((np.tanh(x0 + hs) - np.tanh(x0)) / hs - exact) / exact
centred_err = np.abs((np.tanh(x0 + hs) - np.tanh(x0 - hs)) / (2 * hs) - exact) / exact
best = hs[np.argmin(centred_err)]
print(f"best h for the centred difference: {best:.0e} (relative error {centred_err.min():.1e})")
plt.figure(figsize=(5, 3.2))
plt.loglog(hs, forward_err, label="forward (f(x+h) - f(x)) / h")
plt.loglog(hs, centred_err, label="centred (f(x+h) - f(x-h)) / 2h")
plt.xlabel("step h")
plt.ylabel("relative error")
plt.title(r"finite differences of $\tanh$ at $x = 0.5$")
plt.legend(fontsize=8)
plt.show()

# %% [markdown]
# `course.gradcheck.check_gradient` does the comparison for a whole parameter array and
# raises an error that names the parameter, the worst entry, both values and the relative
# error. In float64 a correct gradient typically gives $10^{-7}$ or less; a wrong one gives
# errors near 1. Entries that are almost 0 need care: the round-off of the difference,
# about $\varepsilon_{\text{mach}} |J| / h$ (printed below for $h = 10^{-5}$), does not shrink
# with the entry, so `check_gradient` also accepts an entry that agrees absolutely to
# $10\,\varepsilon_{\text{mach}} \max(1, |J|)/h$.
#
# We check our MLP backward pass, then a buggy version that forgets the derivative of the
# activation ($\delta_{\ell} = W_{\ell+1}^\top\delta_{\ell+1}$ without $a'(z_\ell)$).

# %%
X_check, y_check = X_train[:10], y_train[:10]


def loss_with(ell, which, value):
    """The loss with parameter `which` (0 = W, 1 = b) of layer `ell` replaced by `value`."""
    changed = [list(p) for p in params]
    changed[ell][which] = value
    return cross_entropy(forward(X_check, changed)[0], y_check)


def check_backward(backward_fn):
    logits, cache = forward(X_check, params)
    grads = backward_fn(logits, y_check, cache, params)
    for ell in reversed(range(len(params))):  # from the output layer down
        for which, name in [(0, "W"), (1, "b")]:
            err = gradcheck.check_gradient(
                lambda v, ell=ell, which=which: loss_with(ell, which, v),
                params[ell][which].copy(),
                grads[ell][which],
                name=f"{name}{ell + 1}",
            )
            print(f"{name}{ell + 1} {params[ell][which].shape}: relative error {err:.1e}")


J_check = cross_entropy(forward(X_check, params)[0], y_check)
print(
    f"J = {J_check:.3f}: round-off of a centred difference with h = 1e-5 is about "
    f"eps |J| / h = {np.finfo(np.float64).eps * J_check / 1e-5:.0e}"
)
check_backward(backward)
try:
    check_backward(lambda *args: backward(*args, act_grad=lambda z: np.ones_like(z)))
except gradcheck.GradientCheckError as err:
    print("buggy backward pass ->", type(err).__name__ + ":", err)

# %% [markdown]
# Notice which parameters passed in the buggy version: the last layer's gradient does not
# involve any $a'$, so it is still right. A gradient check reports *where* the error starts.

# %% [markdown]
# ## 8. Vanishing gradients and the ReLU
#
# The backward pass multiplies the adjoint by $a'(z_\ell)$ and by $W_\ell^\top$ at every
# layer. The sigmoid $\sigma(z) = 1/(1 + e^{-z})$ has $\sigma'(z) = \sigma(z)(1 - \sigma(z))
# \le \tfrac14$, and $\sigma'(z) \approx 0$ once $|z|$ is large (the unit *saturates*). Through
# $L$ sigmoid layers the gradient can shrink like $(1/4)^L$: the first layers of a deep sigmoid
# network barely learn. The **ReLU** $\max(z, 0)$ has derivative exactly 1 for every active
# unit: it does not saturate for $z > 0$.

# %%
zs_plot = np.linspace(-6, 6, 601)
sig = 1 / (1 + np.exp(-zs_plot))
derivatives = {
    "sigmoid'": sig * (1 - sig),
    "tanh'": 1 - np.tanh(zs_plot) ** 2,
    "ReLU'": (zs_plot > 0).astype(float),
    "leaky ReLU' (0.1)": np.where(zs_plot > 0, 1.0, 0.1),
}
max_sigmoid, max_tanh = derivatives["sigmoid'"].max(), derivatives["tanh'"].max()
print(f"largest slope: sigmoid' {max_sigmoid:.4f} (at z = 0), tanh' {max_tanh:.4f}")
fig, axes = plt.subplots(1, 2, figsize=(10, 3))
axes[0].plot(zs_plot, sig, label="sigmoid")
axes[0].plot(zs_plot, np.tanh(zs_plot), label="tanh")
axes[0].plot(zs_plot, np.maximum(zs_plot, 0), label="ReLU")
axes[0].set_ylim(-1.2, 3)
axes[0].set_title("activations")
for name, d in derivatives.items():
    axes[1].plot(zs_plot, d, label=name)
axes[1].set_title("their derivatives")
axes[0].set_ylabel("a(z)")
axes[1].set_ylabel("a'(z)")
for ax in axes:
    ax.set_xlabel("z")
    ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# An experiment in PyTorch: a 20-layer network of width 64 on a batch of 256 digits, once
# with sigmoids and once with ReLUs (each with its usual initialization: Glorot for sigmoid,
# He for ReLU; lecture 07 explains them). We compute the loss, backpropagate once, and plot
# the norm of the gradient of each layer's weight matrix.


# %%
def deep_net(act, depth=20, width=64, seed=0):
    train.set_seed(seed)
    layers, n_in = [], 64
    for _ in range(depth):
        lin = torch.nn.Linear(n_in, width)
        if act == "relu":
            torch.nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
        else:
            torch.nn.init.xavier_normal_(lin.weight)
        torch.nn.init.zeros_(lin.bias)
        layers += [lin, torch.nn.ReLU() if act == "relu" else torch.nn.Sigmoid()]
        n_in = width
    return torch.nn.Sequential(*layers, torch.nn.Linear(width, 10))


X_batch = torch.tensor(digits.X_train[:256])
y_batch = torch.tensor(digits.y_train[:256])
plt.figure(figsize=(6, 3.4))
for act in ["sigmoid", "relu"]:
    model = deep_net(act)
    F.cross_entropy(model(X_batch), y_batch).backward()
    norms = [m.weight.grad.norm().item() for m in model if isinstance(m, torch.nn.Linear)]
    print(
        f"{act:7s}: gradient norm of layer 1 = {norms[0]:.1e}, of layer {len(norms)} = "
        f"{norms[-1]:.1e} (ratio {norms[0] / norms[-1]:.1e})"
    )
    plt.semilogy(range(1, len(norms) + 1), np.maximum(norms, 1e-30), "o-", ms=4, label=act)
plt.xlabel("layer (1 = next to the input)")
plt.xticks(range(1, 22, 2))
plt.ylabel("||dJ/dW|| (log scale)")
plt.title("gradient magnitude per layer, 20 hidden layers")
plt.legend()
plt.show()

# %% [markdown]
# ### Dying ReLU units (optional)
#
# The ReLU has its own failure: a unit whose pre-activation $z$ is negative for *every*
# training example outputs 0 everywhere and has derivative 0 everywhere, so no gradient ever
# reaches its weights and it never recovers. A too-large learning step can push many units
# into that state. We train a 64-128-128-10 ReLU network on the digits for three epochs of
# mini-batch SGD with a moderate and with a large learning rate, then count the units that
# are never active on the training set. Remedies: smaller learning rates, careful
# initialization, or a **leaky ReLU** $\max(z, \alpha z)$ with a small slope such as
# $\alpha = 0.01$ (0.1 in the plot above), whose derivative never vanishes.


# %%
def train_relu_net(lr, num_epochs=3, seed=0):
    train.set_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(64, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 10),
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loader = train.make_loader(digits.X_train, digits.y_train, batch_size=64, seed=seed)
    for _ in range(num_epochs):
        for X, y in loader:
            optimizer.zero_grad()
            F.cross_entropy(model(X), y).backward()
            optimizer.step()
    return model


X_all = torch.tensor(digits.X_train)
for lr in [0.1, 1.0]:
    model = train_relu_net(lr)
    with torch.no_grad():
        h1 = torch.relu(model[0](X_all))
        h2 = torch.relu(model[2](h1))
    model.zero_grad()
    F.cross_entropy(model(X_all), torch.tensor(digits.y_train)).backward()
    dead1 = (h1 > 0).sum(0) == 0  # never active on any training example
    dead2 = (h2 > 0).sum(0) == 0
    zero_grad_rows = (model[0].weight.grad[dead1].abs().sum(1) == 0).sum().item()
    acc = train.accuracy(model(X_all), digits.y_train)
    print(
        f"lr = {lr}: dead units {dead1.sum().item()}/128 in layer 1, "
        f"{dead2.sum().item()}/128 in layer 2; training accuracy {acc:.3f}; "
        f"{zero_grad_rows} of the dead layer-1 units have an all-zero weight gradient"
    )

# %% [markdown]
# <details><summary><b>Check yourself.</b> A sigmoid network has 10 layers and every unit
# happens to sit at $z = 0$, where $\sigma'$ is largest. By what factor at least does the
# $a'$ part of the backward pass shrink the gradient from the top to the bottom?</summary>
#
# Each layer multiplies by $\sigma'(0) = 1/4$, so the factor is $(1/4)^{10} \approx 10^{-6}$
# (the weights can make it larger or smaller; this is only the activation's share). With
# ReLU the factor is 1 for the active units.
# </details>

# %% [markdown]
# ## 9. A short history
#
# * **1957–1960, the perceptron.** Rosenblatt described the perceptron in a 1957 Cornell
#   Aeronautical Laboratory report and a 1958 paper: one layer of adjustable weights trained
#   by a simple error-correction rule. The **Mark I Perceptron**, the machine built from that
#   design, was demonstrated in 1960: it classified images seen by a 20x20 grid of
#   photocells, its adjustable weights motor-driven potentiometers.
# * **1969, XOR and the "Perceptrons" book.** Minsky and Papert proved that a single-layer
#   perceptron cannot compute functions such as XOR (it only draws one line), and gave no way
#   to train several layers. Funding and interest in neural networks dropped for years.
# * **1980, the Neocognitron.** Fukushima's layered network of local feature detectors with
#   shared weights and pooling-like stages, robust to shifts of the input, is the ancestor of
#   the convolutional network (lectures 04 and 05); it learned by unsupervised
#   self-organization, layer by layer, not by backpropagation.
# * **1986, backpropagation.** Rumelhart, Hinton and Williams showed that backpropagation
#   (with earlier roots: Linnainmaa's reverse mode in 1970, Werbos in 1974) trains hidden
#   layers that learn useful internal representations, XOR among many problems.
# * **1989 and 1998, LeNet.** LeCun and colleagues trained convolutional networks with
#   backpropagation to read handwritten ZIP codes (1989) and cheques (LeNet-5, 1998).
# * **1992–2011, the kernel era.** Support-vector machines (Boser, Guyon and Vapnik 1992;
#   Cortes and Vapnik 1995) train by solving a convex problem with a unique optimum, and the
#   kernel trick makes them non-linear. On hand-engineered features (SIFT, HOG) they led most
#   vision benchmarks for a decade: the 2010 and 2011 ImageNet challenges were won by linear
#   SVMs on such features. Neural networks were a niche.
# * **1997, LSTM.** Hochreiter and Schmidhuber's long short-term memory answered the
#   vanishing-gradient problem of recurrent networks with gated memory cells.
# * **2012, AlexNet.** Krizhevsky, Sutskever and Hinton's deep CNN, trained on GPUs with ReLUs
#   and dropout, won the ImageNet challenge by a wide margin and ended the kernel era in
#   vision (lecture 06).

# %%
events = [  # (year, text, height: + above the axis, - below)
    (1957, "perceptron report\n(Rosenblatt)", 1.0),
    (1960, "Mark I Perceptron:\n20x20 photocells", -1.0),
    (1969, "XOR: Perceptrons\n(Minsky & Papert)", 1.0),
    (1980, "Neocognitron\n(Fukushima)", -1.0),
    (1986, "backpropagation\n(Rumelhart, Hinton,\nWilliams)", 1.0),
    (1989, "LeNet\n(LeCun et al.)", -1.0),
    (1995, "support-vector\nnetworks (Cortes\n& Vapnik)", 2.6),
    (1997, "LSTM\n(Hochreiter &\nSchmidhuber)", -2.6),
    (1998, "LeNet-5\n(LeCun et al.)", 1.0),
    (2012, "AlexNet\n(Krizhevsky et al.)", 1.0),
]
fig, ax = plt.subplots(figsize=(12, 4.6))
ax.axhline(0, color="k", lw=1.5)
ax.axvspan(1992, 2012, ymin=0.44, ymax=0.56, color="C1", alpha=0.3, lw=0)
ax.text(2005, -0.7, "kernel methods (SVMs) lead", ha="center", va="top", fontsize=9)
for year, text, height in events:
    up = height > 0
    ax.plot([year, year], [0, 0.9 * height], color="0.5", lw=1)
    ax.plot(year, 0, "o", color="C0", ms=8)
    ax.text(year, height, f"{year}\n{text}" if up else f"{text}\n{year}", ha="center",
            va="bottom" if up else "top", fontsize=9)
ax.set_xlim(1950, 2018)
ax.set_ylim(-4.2, 4.2)
ax.set_yticks([])
ax.set_title("neural networks: from the perceptron to AlexNet")
for side in ["left", "right", "top"]:
    ax.spines[side].set_visible(False)
plt.show()
print(f"the Mark I retina: 20 x 20 = {20 * 20} photocells, one input each")

# %% [markdown]
# **XOR, then and now.** The perceptron learning rule on the four XOR points never
# classifies all four correctly (no line separates them). A 2-4-1 MLP trained with the
# engine of section 6 gets all four right.

# %%
X_xor = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
y_xor = np.array([0, 1, 1, 0])

# Rosenblatt's rule: w <- w + (y - y_hat) x, on +-1 inputs with a bias
w_p = np.zeros(3)
X_pm = np.column_stack([2 * X_xor - 1, np.ones(4)])
best_perceptron = 0.0
for _ in range(100):
    for xi, yi in zip(X_pm, y_xor, strict=True):
        w_p += (yi - float(xi @ w_p > 0)) * xi
    best_perceptron = max(best_perceptron, np.mean((X_pm @ w_p > 0) == y_xor))
print(f"perceptron: best accuracy over 100 epochs = {best_perceptron:.2f}")

xor_net = init_value_mlp([2, 4, 1], seed=0)  # the engine and the MLP of section 6
xor_losses = []
for _ in range(300):
    outputs = [mlp_forward(xor_net, list(xi))[0] for xi in X_xor]
    # squared error to the targets -1 (class 0) and +1 (class 1)
    loss = sum((o - (2 * yi - 1)) ** 2 for o, yi in zip(outputs, y_xor, strict=True)) / 4
    loss.backward()  # our backward starts from zero: no zero_grad needed
    for p in mlp_parameters(xor_net):
        p.data -= 0.1 * p.grad
    xor_losses.append(loss.data)
predicted = [int(mlp_forward(xor_net, list(xi))[0].data > 0) for xi in X_xor]
print(
    f"MLP trained by our engine: loss {xor_losses[0]:.3f} -> {xor_losses[-1]:.1e}, "
    f"predictions {predicted}, targets {y_xor.tolist()}"
)

fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained")
axes[0].plot(xor_losses)
axes[0].set_xlabel("step")
axes[0].set_ylabel("squared error")
axes[0].set_yscale("log")
axes[0].set_title("training a 2-4-1 MLP with our engine")
grid = np.linspace(-0.5, 1.5, 41)
GX, GY = np.meshgrid(grid, grid)
score = np.array([[mlp_forward(xor_net, [gx, gy])[0].data for gx in grid] for gy in grid])
axes[1].contourf(GX, GY, score > 0, levels=[-0.5, 0.5, 1.5], colors=["#a9cce3", "#f4c7a1"])
axes[1].scatter(X_xor[:, 0], X_xor[:, 1], c=y_xor, cmap="coolwarm", s=120, edgecolors="k")
axes[1].set_title("its decision regions on XOR")
axes[1].set_xlabel("$x_1$")
axes[1].set_ylabel("$x_2$")
plt.show()

# %% [markdown]
# ## Summary
#
# * An MLP is a composition $\operatorname{softmax}(W_L a(\cdots a(W_1x + b_1)\cdots))$; the
#   chain rule multiplies the derivatives of the pieces and sums over paths
#   ($y = (3x^3 + 2)^2 \Rightarrow dy/dx = 54x^5 + 36x^2$).
# * Forward pass: compute and store $z_\ell$, $x_\ell$. Backward pass: $\delta_L = p - y$,
#   $\delta_\ell = a'(z_\ell) \odot W_{\ell+1}^\top\delta_{\ell+1}$,
#   $\partial J/\partial W_\ell = \delta_\ell x_{\ell-1}^\top$. The Lagrange multipliers of the
#   forward constraints are exactly these adjoints.
# * Backpropagation is reverse-mode automatic differentiation on a computational graph: one
#   backward pass (one VJP) gives the gradient of one scalar with respect to all $n$ inputs at
#   a fixed multiple of the cost of $f$; forward mode needs $n$ passes (JVPs).
# * A scalar autograd engine needs only: nodes that record parents and local derivatives, a
#   topological order, and `parent.grad += local * node.grad`.
# * Check every gradient with centred differences and the relative error (about $10^{-7}$ or
#   less when correct in float64).
# * Softmax cross-entropy has the gradient $p - y$. Sigmoids saturate ($\sigma' \le 1/4$) and
#   make gradients vanish in deep networks; ReLUs do not saturate but can die.
#
# ## Further reading
#
# * D. E. Rumelhart, G. E. Hinton, R. J. Williams. Learning representations by
#   back-propagating errors. *Nature* 323:533–536, 1986.
# * Y. LeCun. A theoretical framework for back-propagation. In D. Touretzky, G. Hinton,
#   T. Sejnowski (eds.), *Proceedings of the 1988 Connectionist Models Summer School*,
#   pp. 21–28. Morgan Kaufmann, 1988.
# * A. G. Baydin, B. A. Pearlmutter, A. A. Radul, J. M. Siskind. Automatic differentiation in
#   machine learning: a survey. *Journal of Machine Learning Research* 18(153):1–43, 2018.
# * A. Griewank, A. Walther. *Evaluating Derivatives: Principles and Techniques of
#   Algorithmic Differentiation*, 2nd ed. SIAM, 2008.
# * S. Linnainmaa. *The representation of the cumulative rounding error of an algorithm as a
#   Taylor expansion of the local rounding errors*. Master's thesis, University of Helsinki,
#   1970.
# * P. J. Werbos. *Beyond Regression: New Tools for Prediction and Analysis in the Behavioral
#   Sciences*. PhD thesis, Harvard University, 1974.
# * A. Paszke et al. Automatic differentiation in PyTorch. *NIPS Autodiff Workshop*, 2017.
# * A. Karpathy. micrograd: a tiny scalar-valued autograd engine (software), 2020,
#   https://github.com/karpathy/micrograd — the inspiration for the engine of section 6.
# * F. Rosenblatt. *The Perceptron — a Perceiving and Recognizing Automaton*. Report
#   85-460-1, Cornell Aeronautical Laboratory, 1957.
# * F. Rosenblatt. The perceptron: a probabilistic model for information storage and
#   organization in the brain. *Psychological Review* 65(6):386–408, 1958.
# * M. Minsky, S. Papert. *Perceptrons: An Introduction to Computational Geometry*. MIT Press,
#   1969.
# * K. Fukushima. Neocognitron: a self-organizing neural network model for a mechanism of
#   pattern recognition unaffected by shift in position. *Biological Cybernetics*
#   36(4):193–202, 1980.
# * B. E. Boser, I. M. Guyon, V. N. Vapnik. A training algorithm for optimal margin
#   classifiers. *Proceedings of the 5th Annual Workshop on Computational Learning Theory
#   (COLT)*, pp. 144–152, 1992.
# * C. Cortes, V. Vapnik. Support-vector networks. *Machine Learning* 20(3):273–297, 1995.
# * Y. LeCun, B. Boser, J. S. Denker, D. Henderson, R. E. Howard, W. Hubbard, L. D. Jackel.
#   Backpropagation applied to handwritten zip code recognition. *Neural Computation*
#   1(4):541–551, 1989.
# * Y. LeCun, L. Bottou, Y. Bengio, P. Haffner. Gradient-based learning applied to document
#   recognition. *Proceedings of the IEEE* 86(11):2278–2324, 1998.
# * S. Hochreiter, J. Schmidhuber. Long short-term memory. *Neural Computation*
#   9(8):1735–1780, 1997.
# * A. Krizhevsky, I. Sutskever, G. E. Hinton. ImageNet classification with deep
#   convolutional neural networks. *Advances in Neural Information Processing Systems* 25,
#   pp. 1097–1105, 2012.
# * Y. Bengio, P. Simard, P. Frasconi. Learning long-term dependencies with gradient descent
#   is difficult. *IEEE Transactions on Neural Networks* 5(2):157–166, 1994.
# * X. Glorot, Y. Bengio. Understanding the difficulty of training deep feedforward neural
#   networks. *Proceedings of AISTATS*, PMLR 9:249–256, 2010.
# * V. Nair, G. E. Hinton. Rectified linear units improve restricted Boltzmann machines.
#   *Proceedings of ICML*, pp. 807–814, 2010.
# * K. He, X. Zhang, S. Ren, J. Sun. Delving deep into rectifiers: surpassing human-level
#   performance on ImageNet classification. *Proceedings of ICCV*, pp. 1026–1034, 2015
#   (He initialization).
# * L. Lu, Y. Shin, Y. Su, G. E. Karniadakis. Dying ReLU and initialization: theory and
#   numerical examples. *Communications in Computational Physics* 28(5):1671–1706, 2020.
# * A. L. Maas, A. Y. Hannun, A. Y. Ng. Rectifier nonlinearities improve neural network
#   acoustic models. *ICML Workshop on Deep Learning for Audio, Speech and Language
#   Processing*, 2013.
