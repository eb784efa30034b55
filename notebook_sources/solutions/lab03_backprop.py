# %% [markdown]
# # Lab 03 — Backpropagation by hand
#
# PyTorch computes gradients for you, but every deep-learning engineer should once build a
# network whose backward pass they wrote themselves. In this lab you will write the layers of
# a small classifier as **forward/backward pairs** in NumPy, check every gradient against
# finite differences, assemble a two-layer network, and train it with stochastic gradient
# descent on real handwritten digits — to more than 90 % test accuracy, with no autograd.
#
# The pattern is the one of the lecture on backpropagation. A layer has two functions:
# - `out, cache = layer_forward(inputs...)` computes the output and keeps in `cache` what the
#   backward pass will need;
# - `dinputs... = layer_backward(dout, cache)` receives `dout`, the gradient of the loss with
#   respect to the layer's output (same shape as `out`), and returns the gradient of the loss
#   with respect to each input (each the same shape as that input). This is the chain rule,
#   one layer at a time.
#
# Rules for every function: return new arrays (never modify `x`, `w`, `dout`, `scores` or
# `params` in place), and keep the shapes given in the docstrings. The tests build the
# `cache` tuples themselves, exactly as each docstring describes them. Compute in float64
# (NumPy's default): the gradient checks compare with finite differences, which need double
# precision. Inputs may be integer arrays (then compute in floats, as for float input), and
# they may be extreme: your functions must stay finite and exact where the math is (a sigmoid
# at x = ±800, a softmax whose scores are 1500 apart).
#
# Points: `affine_forward` 6, `affine_backward` 12, `relu_forward` 4, `relu_backward` 8,
# `sigmoid_forward` 5, `sigmoid_backward` 7, `softmax_cross_entropy` 16, `two_layer_loss` 22,
# `predict` 5, `train_two_layer` 15.

# %% setup

# %% nbgrader=locked id=imports
import numpy as np

from course.gradcheck import check_gradient, numerical_gradient_array, rel_error
from course.grading import check_close, check_numpy_only, check_shape, check_type, check_unchanged



def small_params(D, H, C, seed):
    """Random parameters of a two-layer network for the tests (nonzero biases)."""
    g = np.random.default_rng(seed)
    return {"W1": g.normal(0, 0.5, (D, H)), "b1": g.normal(0, 0.1, H),
            "W2": g.normal(0, 0.5, (H, C)), "b2": g.normal(0, 0.1, C)}

# %% [markdown]
# ## 1. The affine (fully connected) layer
#
# A mini-batch of $N$ examples with $D$ features each is a matrix $x \in \mathbb{R}^{N \times D}$
# (one example per row). The affine layer maps it to $M$ outputs with a weight matrix
# $w \in \mathbb{R}^{D \times M}$ and a bias $b \in \mathbb{R}^{M}$, added to every row:
#
# $$\text{out} = x\,w + b, \qquad \text{out} \in \mathbb{R}^{N \times M}.$$
#
# Return `cache = (x, w, b)`.

# %% nbgrader=solution id=affine_forward
def affine_forward(x, w, b):
    """Affine layer: out = x @ w + b.

    x: (N, D), w: (D, M), b: (M,). Returns (out, cache) with out: (N, M) and
    cache = (x, w, b).
    """
    ### BEGIN SOLUTION
    out = x @ w + b
    cache = (x, w, b)
    return out, cache
    ### END SOLUTION


# %% nbgrader=tests id=test_affine_forward points=6
x_small = np.array([[1.0, 2.0], [3.0, 4.0]])
w_small = np.array([[1.0, 0.0, -1.0], [0.0, 1.0, 2.0]])
b_small = np.array([0.5, -1.0, 0.0])
try:
    result = affine_forward(x_small, w_small, b_small)
except ValueError as error:  # NumPy refuses a product whose shapes do not match
    raise AssertionError(
        f"affine_forward(x_small, w_small, b_small) raised ValueError: {error}\n"
        "  hint: x is (N, D) = (2, 2), w is (D, M) = (2, 3) and b is (M,) = (3,); the "
        "output must be (N, M) = (2, 3)") from error
check_type("affine_forward(...)", result, tuple, hint="return the pair (out, cache)")
out_small, cache_small = result
check_close("affine_forward(x_small, w_small, b_small)[0]", out_small,
            [[1.5, 1.0, 3.0], [3.5, 3.0, 5.0]],
            hint="out[i, j] = sum_k x[i, k] * w[k, j] + b[j]")
if not (isinstance(cache_small, tuple) and len(cache_small) == 3
        and all(np.array_equal(np.asarray(c), a)
                for c, a in zip(cache_small, (x_small, w_small, b_small)))):
    size = f" of {len(cache_small)} items" if hasattr(cache_small, "__len__") else ""
    raise AssertionError(
        "the cache of affine_forward is wrong.\n  expected: the tuple (x, w, b) of its inputs, "
        f"in this order\n  got:      a {type(cache_small).__name__}{size}\n"
        "  hint: affine_backward receives cache = (x, w, b), exactly as the docstring says")
check_numpy_only("affine_forward", affine_forward)
print("affine_forward: visible tests passed")
### BEGIN HIDDEN TESTS
import torch

hidden_rng = np.random.default_rng(301)
for N, D, M in [(1, 4, 3), (7, 5, 2), (3, 1, 6), (16, 10, 1)]:
    x_h, w_h, b_h = (hidden_rng.normal(size=s) for s in [(N, D), (D, M), (M,)])
    keep = [a.copy() for a in (x_h, w_h, b_h)]
    out_h, cache_h = affine_forward(x_h, w_h, b_h)
    reference = torch.nn.functional.linear(
        torch.from_numpy(x_h), torch.from_numpy(w_h.T), torch.from_numpy(b_h)
    ).numpy()
    check_close(f"affine_forward on x {x_h.shape}, w {w_h.shape}", out_h, reference,
                rtol=1e-5, atol=1e-6)
    check_type("the cache of affine_forward", cache_h, tuple, hint="cache = (x, w, b)")
    if len(cache_h) != 3 or not all(
        np.array_equal(np.asarray(c), a) for c, a in zip(cache_h, (x_h, w_h, b_h))
    ):
        raise AssertionError(
            "the cache of affine_forward is wrong.\n  expected: the tuple (x, w, b) of its inputs"
            f"\n  got:      a tuple of {len(cache_h)} items\n  hint: affine_backward is "
            "graded with cache = (x, w, b), exactly as the docstring says")
    for before, after in zip(keep, (x_h, w_h, b_h)):
        check_unchanged("an input of affine_forward", before, after)
out_h, _ = affine_forward(np.array([[1, 2], [0, -3]]), np.array([[1, 0], [2, 1]]),
                          np.array([0.5, -0.25]))
check_close("affine_forward with integer x and w and a float b", out_h,
            [[5.5, 1.75], [-5.5, -3.25]], hint="compute in floats: integers must not truncate")
### END HIDDEN TESTS

# %% [markdown]
# Backward: with $\text{dout} = \partial L / \partial \text{out} \in \mathbb{R}^{N \times M}$,
# the chain rule gives (check the shapes: each gradient has the shape of its variable)
#
# $$\frac{\partial L}{\partial x} = \text{dout}\, w^\top \in \mathbb{R}^{N \times D}, \qquad
#   \frac{\partial L}{\partial w} = x^\top \text{dout} \in \mathbb{R}^{D \times M}, \qquad
#   \frac{\partial L}{\partial b} = \sum_{i=1}^{N} \text{dout}_{i,:} \in \mathbb{R}^{M}.$$
#
# The bias is added to **every** example, so its gradient collects the contributions of all
# $N$ rows: a sum over the batch axis, not a mean and not only the first row.

# %% nbgrader=solution id=affine_backward
def affine_backward(dout, cache):
    """Backward pass of the affine layer.

    dout: (N, M), the upstream gradient; cache = (x, w, b) with x: (N, D), w: (D, M), b: (M,).
    Returns (dx, dw, db) with shapes (N, D), (D, M), (M,).
    """
    ### BEGIN SOLUTION
    x, w, b = cache
    dx = dout @ w.T
    dw = x.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db
    ### END SOLUTION


# %% nbgrader=tests id=test_affine_backward points=12
test_rng = np.random.default_rng(1)
x_g = test_rng.normal(size=(4, 5))
w_g = test_rng.normal(size=(5, 3))
b_g = test_rng.normal(size=3)
dout_g = test_rng.normal(size=(4, 3))
try:
    dx_g, dw_g, db_g = affine_backward(dout_g, (x_g, w_g, b_g))
except ValueError as error:  # NumPy refuses a product whose shapes do not match
    raise AssertionError(
        f"affine_backward on x (4, 5), w (5, 3), dout (4, 3) raised ValueError: {error}\n"
        "  hint: write down the shapes: dx must be (N, D) = (4, 5) and dw (D, M) = (5, 3); "
        "which of w, w.T, x, x.T and dout multiply to give them?") from error
for name, grad, shape in [("dx", dx_g, (4, 5)), ("dw", dw_g, (5, 3)), ("db", db_g, (3,))]:
    check_shape(name, grad, shape, hint="each gradient has the shape of its variable")
# The gradient of sum(out * dout), checked by centred finite differences:
for name, loss_of, value, grad, hint in [
    ("x", lambda v: np.sum((v @ w_g + b_g) * dout_g), x_g, dx_g, "dx = dout w^T"),
    ("w", lambda v: np.sum((x_g @ v + b_g) * dout_g), w_g, dw_g, "dw = x^T dout"),
    ("b", lambda v: np.sum((x_g @ w_g + v) * dout_g), b_g, db_g,
     "b is added to every row, so db adds up dout over the N rows (a sum, not a mean, and "
     "not only the first row)"),
]:
    try:
        check_gradient(loss_of, value.copy(), grad, name=name)
    except AssertionError as error:
        raise AssertionError(f"{error}\n  hint: {hint}") from None
check_numpy_only("affine_backward", affine_backward)
print("affine_backward: visible tests passed")
### BEGIN HIDDEN TESTS
import torch

hidden_rng = np.random.default_rng(302)
for N, D, M in [(1, 3, 4), (6, 5, 2), (9, 1, 3), (5, 7, 1), (32, 8, 10)]:
    x_h, w_h, b_h, dout_h = (hidden_rng.normal(size=s) for s in [(N, D), (D, M), (M,), (N, M)])
    keep = [a.copy() for a in (x_h, w_h, b_h, dout_h)]
    tensors = [torch.tensor(a, requires_grad=True) for a in (x_h, w_h, b_h)]
    (tensors[0] @ tensors[1] + tensors[2]).backward(torch.from_numpy(dout_h))
    grads_h = affine_backward(dout_h, (x_h, w_h, b_h))
    for name, got, t in zip(("dx", "dw", "db"), grads_h, tensors):
        check_close(f"{name} of affine_backward for N={N}, D={D}, M={M}", got,
                    t.grad.numpy(), rtol=1e-5, atol=1e-6)
    for before, after in zip(keep, (x_h, w_h, b_h, dout_h)):
        check_unchanged("an input of affine_backward", before, after)
### END HIDDEN TESTS

# %% [markdown]
# ## 2. ReLU
#
# The rectified linear unit acts elementwise: $\mathrm{relu}(x) = \max(x, 0)$. Its derivative
# is 1 where $x > 0$ and 0 where $x < 0$; at exactly $x = 0$ it is not differentiable, and we
# use the subgradient **0** there (as PyTorch does). So
#
# $$\frac{\partial L}{\partial x} = \text{dout} \odot \mathbb{1}[x > 0].$$
#
# `relu_forward` returns `cache = x` (the input, any shape).

# %% nbgrader=solution id=relu_forward
def relu_forward(x):
    """ReLU: out = max(x, 0) elementwise. x: any shape. Returns (out, cache) with cache = x."""
    ### BEGIN SOLUTION
    out = np.maximum(x, 0)
    return out, x
    ### END SOLUTION


# %% nbgrader=tests id=test_relu_forward points=4
x_r = np.array([[-2.0, 0.0, 3.0], [1.5, -0.5, 0.0]])
x_r_copy = x_r.copy()
result = relu_forward(x_r)
check_type("relu_forward(x_r)", result, tuple,
           hint="return the pair (out, cache) with cache = x")
out_r, _ = result
check_close("relu_forward(x_r)[0]", out_r, [[0.0, 0.0, 3.0], [1.5, 0.0, 0.0]])
check_unchanged("x_r", x_r_copy, x_r, hint="np.maximum(x, 0) makes a new array")
check_numpy_only("relu_forward", relu_forward)
print("relu_forward: visible tests passed")
### BEGIN HIDDEN TESTS
import torch

hidden_rng = np.random.default_rng(303)
for shape in [(1, 1), (4, 7), (2, 3, 5)]:
    x_h = hidden_rng.normal(size=shape)
    x_h.flat[0] = 0.0
    keep = x_h.copy()
    check_close(f"relu_forward on shape {shape}", relu_forward(x_h)[0],
                torch.relu(torch.from_numpy(x_h)).numpy())
    check_unchanged("x", keep, x_h)
### END HIDDEN TESTS

# %% nbgrader=solution id=relu_backward
def relu_backward(dout, cache):
    """Backward pass of ReLU. dout: any shape; cache = x of the same shape. Returns dx."""
    ### BEGIN SOLUTION
    x = cache
    return dout * (x > 0)
    ### END SOLUTION


# %% nbgrader=tests id=test_relu_backward points=8
test_rng = np.random.default_rng(2)
x_r = np.array([[-2.0, 0.5, 3.0], [1.5, -0.5, -1.0]])
dout_r = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
dout_r_copy = dout_r.copy()
dx_r = relu_backward(dout_r, x_r)
check_close("relu_backward(dout_r, x_r)", dx_r, [[0.0, 2.0, 3.0], [4.0, 0.0, 0.0]],
            hint="pass dout through where x > 0, and 0 elsewhere")
check_unchanged("dout_r", dout_r_copy, dout_r)
check_close("relu_backward(dout = [1, 1, 1], x = [-1, 0, 1])",
            relu_backward(np.ones(3), np.array([-1.0, 0.0, 1.0])), [0.0, 0.0, 1.0],
            hint="at exactly x = 0 the lab uses the subgradient 0, as PyTorch does: pass dout "
                 "only where x > 0")
x_g = test_rng.normal(size=(3, 4))
dout_g = test_rng.normal(size=(3, 4))
numeric = numerical_gradient_array(lambda v: np.maximum(v, 0), x_g, dout_g)
error = rel_error(relu_backward(dout_g, x_g), numeric)
print(f"relative error of dx vs finite differences: {error:.1e}")
check_close("relu_backward vs finite differences", relu_backward(dout_g, x_g), numeric,
            rtol=1e-6, atol=1e-8)
check_numpy_only("relu_backward", relu_backward)
print("relu_backward: visible tests passed")
### BEGIN HIDDEN TESTS
import torch

hidden_rng = np.random.default_rng(304)
for shape in [(1, 1), (5, 8), (2, 3, 4)]:
    x_h = hidden_rng.normal(size=shape)
    x_h.flat[::3] = 0.0  # the subgradient at 0 is 0, as in PyTorch
    dout_h = hidden_rng.normal(size=shape)
    keep = [x_h.copy(), dout_h.copy()]
    x_t = torch.tensor(x_h, requires_grad=True)
    torch.relu(x_t).backward(torch.from_numpy(dout_h))
    check_close(f"relu_backward on shape {shape} (zeros in x)", relu_backward(dout_h, x_h),
                x_t.grad.numpy())
    check_unchanged("x", keep[0], x_h)
    check_unchanged("dout", keep[1], dout_h)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Sigmoid
#
# $$\sigma(x) = \frac{1}{1 + e^{-x}}, \qquad \sigma'(x) = \sigma(x)\,\bigl(1 - \sigma(x)\bigr).$$
#
# The derivative only needs the output $\sigma(x)$, so `sigmoid_forward` returns
# `cache = out`, and the backward pass is $\text{dx} = \text{dout} \odot \sigma (1 - \sigma)$.
# Note that $\sigma' \le 1/4$: a gradient that passes through many sigmoids shrinks at each
# one — the vanishing gradient of the lecture.

# %% nbgrader=solution id=sigmoid_forward
def sigmoid_forward(x):
    """Logistic sigmoid elementwise. x: any shape. Returns (out, cache) with cache = out."""
    ### BEGIN SOLUTION
    out = 1.0 / (1.0 + np.exp(-x))
    return out, out
    ### END SOLUTION


# %% nbgrader=tests id=test_sigmoid_forward points=5
result = sigmoid_forward(np.array([0.0, np.log(3.0), -np.log(3.0)]))
check_type("sigmoid_forward(...)", result, tuple,
           hint="return the pair (out, cache) with cache = out")
out_s, cache_s = result
check_close("sigmoid_forward([0, log 3, -log 3])[0]", out_s, [0.5, 0.75, 0.25],
            hint="sigma(x) = 1 / (1 + exp(-x))")
check_close("the cache of sigmoid_forward", cache_s, [0.5, 0.75, 0.25],
            hint="return the output itself as the cache")
check_numpy_only("sigmoid_forward", sigmoid_forward)
print("sigmoid_forward: visible tests passed")
### BEGIN HIDDEN TESTS
import torch

hidden_rng = np.random.default_rng(305)
for shape in [(1,), (6, 3), (2, 2, 5)]:
    x_h = hidden_rng.normal(0, 4, size=shape)
    keep = x_h.copy()
    out_h, cache_h = sigmoid_forward(x_h)
    reference = torch.sigmoid(torch.from_numpy(x_h)).numpy()
    check_close(f"sigmoid_forward on shape {shape}", out_h, reference, rtol=1e-5, atol=1e-7)
    check_close("the cache of sigmoid_forward", cache_h, reference, rtol=1e-5, atol=1e-7)
    check_unchanged("x", keep, x_h)
# extreme and integer inputs (warnings about overflow are allowed; nan or a wrong value is not)
x_h = np.array([-1000.0, -800.0, -40.0, 0.0, 40.0, 800.0, 1000.0])
with np.errstate(all="ignore"):
    out_h, _ = sigmoid_forward(x_h)
check_close("sigmoid_forward at -1000, -800, -40, 0, 40, 800, 1000", out_h,
            torch.sigmoid(torch.from_numpy(x_h)).numpy(), rtol=1e-12, atol=1e-15,
            hint="exp(800) overflows to inf: exp(x) / (1 + exp(x)) is inf / inf = nan for large "
                 "x; 1 / (1 + exp(-x)) stays right at both ends")
x_h = np.array([[-3, 0, 2]])
check_close("sigmoid_forward of integers", sigmoid_forward(x_h)[0],
            torch.sigmoid(torch.tensor([[-3.0, 0.0, 2.0]], dtype=torch.float64)).numpy(),
            rtol=1e-12, hint="compute in floats: integers must not truncate")
### END HIDDEN TESTS

# %% nbgrader=solution id=sigmoid_backward
def sigmoid_backward(dout, cache):
    """Backward pass of the sigmoid. dout: any shape; cache = out = sigmoid(x), same shape.

    Returns dx.
    """
    ### BEGIN SOLUTION
    out = cache
    return dout * out * (1.0 - out)
    ### END SOLUTION


# %% nbgrader=tests id=test_sigmoid_backward points=7
test_rng = np.random.default_rng(3)
check_close("sigmoid_backward(1, sigma = 0.75)", sigmoid_backward(np.array([1.0]),
            np.array([0.75])), [0.1875], hint="sigma'(x) = sigma (1 - sigma) = 0.75 * 0.25")
x_g = test_rng.normal(size=(3, 4))
dout_g = test_rng.normal(size=(3, 4))
numeric = numerical_gradient_array(lambda v: 1 / (1 + np.exp(-v)), x_g, dout_g)
check_close("sigmoid_backward vs finite differences",
            sigmoid_backward(dout_g, 1 / (1 + np.exp(-x_g))), numeric, rtol=1e-6, atol=1e-8)
check_numpy_only("sigmoid_backward", sigmoid_backward)
print("sigmoid_backward: visible tests passed")
### BEGIN HIDDEN TESTS
import torch

hidden_rng = np.random.default_rng(306)
for shape in [(1,), (7, 2), (3, 2, 4)]:
    x_h = hidden_rng.normal(0, 3, size=shape)
    dout_h = hidden_rng.normal(size=shape)
    out_h = 1.0 / (1.0 + np.exp(-x_h))
    keep = [out_h.copy(), dout_h.copy()]
    x_t = torch.tensor(x_h, requires_grad=True)
    torch.sigmoid(x_t).backward(torch.from_numpy(dout_h))
    check_close(f"sigmoid_backward on shape {shape}", sigmoid_backward(dout_h, out_h),
                x_t.grad.numpy(), rtol=1e-5, atol=1e-7)
    check_unchanged("the cache", keep[0], out_h)
    check_unchanged("dout", keep[1], dout_h)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Softmax and cross-entropy, with a stable gradient
#
# A classifier outputs one score (logit) per class, $s \in \mathbb{R}^{N \times C}$. Softmax
# turns the scores of example $i$ into probabilities, and the cross-entropy loss is the mean
# negative log-probability of the correct classes $y_i \in \{0, \dots, C-1\}$:
#
# $$p_{ij} = \frac{e^{s_{ij}}}{\sum_k e^{s_{ik}}}, \qquad
#   L = \frac1N \sum_{i=1}^{N} -\log p_{i y_i}, \qquad
#   \frac{\partial L}{\partial s_{ij}} = \frac1N \bigl(p_{ij} - \mathbb{1}[j = y_i]\bigr).$$
#
# Two traps. **Overflow**: `np.exp(1000.0)` is `inf`, and `inf / inf` is `nan`. Softmax does not
# change when a constant is subtracted from all scores of a row, so subtract the row maximum
# first: $s_{ij} - \max_k s_{ik} \le 0$. Better still, compute the log-probabilities directly,
# $\log p_{ij} = (s_{ij} - m_i) - \log \sum_k e^{s_{ik} - m_i}$. **The mean**: the loss is an
# average over the batch, so the gradient carries the factor $1/N$ too.

# %% nbgrader=solution id=softmax_cross_entropy
def softmax_cross_entropy(scores, y):
    """Mean softmax cross-entropy loss and its gradient.

    scores: (N, C) float logits; y: (N,) int labels in 0..C-1.
    Returns (loss, dscores): loss a float (the mean over the N examples) and
    dscores: (N, C), the gradient of loss with respect to scores.
    """
    ### BEGIN SOLUTION
    N = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)  # (N, C), every entry <= 0
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(N)
    loss = -log_probs[rows, y].mean()
    dscores = np.exp(log_probs)
    dscores[rows, y] -= 1.0
    dscores /= N
    return float(loss), dscores
    ### END SOLUTION


# %% nbgrader=tests id=test_softmax_cross_entropy points=16
test_rng = np.random.default_rng(4)
scores_small = np.array([[0.0, 0.0, 0.0, 0.0], [1.0, 2.0, 3.0, 4.0]])
y_small = np.array([2, 3])
scores_copy = scores_small.copy()
loss_small, dscores_small = softmax_cross_entropy(scores_small, y_small)
p_row2 = np.exp([1.0, 2.0, 3.0, 4.0]) / np.exp([1.0, 2.0, 3.0, 4.0]).sum()
expected_loss = (np.log(4.0) - np.log(p_row2[3])) / 2
check_close("the loss for scores_small", loss_small, expected_loss,
            hint="row 0 (uniform over 4 classes) costs log 4, row 1 costs -log p[1, 3]: take "
                 "each row's probability of its own label, p[i, y[i]], and average the two "
                 "(divide by N). A shift leaves softmax unchanged only if it is the same for "
                 "all the classes of a row")
check_shape("dscores", dscores_small, (2, 4))
check_close("dscores[0] (uniform scores, label 2)", dscores_small[0],
            np.array([0.25, 0.25, -0.75, 0.25]) / 2, hint="dscores = (p - one_hot(y)) / N")
check_unchanged("scores_small", scores_copy, scores_small,
                hint="`scores - scores.max(...)` makes a new array; `scores -= ...` does not")
big_loss, big_dscores = softmax_cross_entropy(scores_small + 1000.0, y_small)
check_close("the loss for scores_small + 1000", big_loss, expected_loss,
            hint="subtract the maximum of each row before np.exp: exp(1000) overflows")
far_loss, _ = softmax_cross_entropy(scores_small + np.array([[1000.0], [-1000.0]]), y_small)
check_close("the loss for rows shifted by +1000 and -1000", far_loss, expected_loss,
            hint="subtract each row's OWN maximum: one maximum for the whole batch still "
                 "leaves exp(-2000) = 0 in the row that is far below it")
scores_g = test_rng.normal(size=(5, 3))
y_g = test_rng.integers(0, 3, 5)
_, dscores_g = softmax_cross_entropy(scores_g, y_g)
check_gradient(lambda s: softmax_cross_entropy(s, y_g)[0], scores_g, dscores_g, name="scores")
check_numpy_only("softmax_cross_entropy", softmax_cross_entropy)
print("softmax_cross_entropy: visible tests passed")
### BEGIN HIDDEN TESTS
import torch

hidden_rng = np.random.default_rng(307)
cases = [(1, 3, 0.0, 1.0), (8, 10, 0.0, 2.0), (5, 2, 0.0, 1.0), (6, 4, 1000.0, 3.0),
         (3, 5, -1000.0, 3.0), (4, 7, 0.0, 40.0),
         (4, 5, [1000.0, 0.0, -1000.0, 500.0], 1.0)]  # rows far apart: each needs its own max
for N, C, shift, spread in cases:
    s_h = hidden_rng.normal(0, spread, size=(N, C)) + np.reshape(shift, (-1, 1))
    y_h = hidden_rng.integers(0, C, N)
    keep = [s_h.copy(), y_h.copy()]
    s_t = torch.tensor(s_h, requires_grad=True)
    loss_t = torch.nn.functional.cross_entropy(s_t, torch.from_numpy(y_h))
    loss_t.backward()
    loss_h, ds_h = softmax_cross_entropy(s_h, y_h)
    where = f"N={N}, C={C}, scores around {shift} (spread {spread:g})"
    check_close(f"the loss for {where}", loss_h, loss_t.item(), rtol=1e-6, atol=1e-8,
                hint="subtract each row's own maximum, scores.max(axis=1, keepdims=True)")
    check_close(f"dscores for {where}", ds_h, s_t.grad.numpy(), rtol=1e-5, atol=1e-8)
    check_unchanged("scores", keep[0], s_h)
    check_unchanged("y", keep[1], y_h)
# extreme rows: one score far above the others (1500), a label whose probability underflows
# (e^-800 is 0 in floating point, yet the loss is exactly 800), and integer scores
for s_h, y_h in [(np.array([[0.0, 1500.0, 3.0], [1500.0, 0.0, -2.0]]), np.array([1, 0])),
                 (np.array([[0.0, 800.0], [800.0, 0.0]]), np.array([0, 0])),
                 (np.array([[3, 1, -2], [0, 0, 5]]), np.array([2, 1]))]:
    s_t = torch.tensor(s_h, dtype=torch.float64, requires_grad=True)
    loss_t = torch.nn.functional.cross_entropy(s_t, torch.from_numpy(y_h))
    loss_t.backward()
    with np.errstate(all="ignore"):
        loss_h, ds_h = softmax_cross_entropy(s_h, y_h)
    where = f"scores {s_h.tolist()}, labels {y_h.tolist()}"
    check_close(f"the loss for {where}", loss_h, loss_t.item(), rtol=1e-9,
                hint="subtract each row's maximum, and compute log-probabilities as "
                     "shifted - log(sum(exp(shifted))): log(softmax) gives log(0) = -inf when a "
                     "probability underflows")
    check_close(f"dscores for {where}", ds_h, s_t.grad.numpy(), rtol=1e-9, atol=1e-12)
### END HIDDEN TESTS

# %% [markdown]
# ## 5. A two-layer network
#
# Now compose the layers into the network
#
# $$h = x W_1 + b_1, \quad a = \mathrm{relu}(h), \quad s = a W_2 + b_2, \quad
#   L = \underbrace{\frac1N \sum_i -\log \mathrm{softmax}(s_i)_{y_i}}_{\text{data loss}}
#     + \underbrace{\frac{\lambda}{2}\bigl(\lVert W_1 \rVert^2 + \lVert W_2 \rVert^2\bigr)}_{\text{L2}}$$
#
# with $x \in \mathbb{R}^{N \times D}$, $W_1 \in \mathbb{R}^{D \times H}$,
# $W_2 \in \mathbb{R}^{H \times C}$ and $\lVert W \rVert^2 = \sum_{jk} W_{jk}^2$.
#
# **The L2 convention of this lab:** the penalty is $\frac{\lambda}{2}$ times the sum of the
# squares of the *weights* $W_1, W_2$ — the biases are not penalized — so it adds exactly
# $\lambda W_1$ and $\lambda W_2$ to their gradients, and nothing to $b_1, b_2$. Here
# $\lambda$ is the argument `reg`.
#
# `params` is a dict with keys `"W1"`, `"b1"`, `"W2"`, `"b2"`; return the loss and a dict
# `grads` with the same keys and shapes. The backward pass runs the forward pass in reverse:
# softmax-cross-entropy, affine, ReLU, affine.

# %% nbgrader=solution id=two_layer_loss
def two_layer_loss(params, X, y, reg=0.0):
    """Loss and gradients of the network affine - relu - affine - softmax cross-entropy.

    params: dict with W1: (D, H), b1: (H,), W2: (H, C), b2: (C,).
    X: (N, D) inputs; y: (N,) int labels in 0..C-1; reg: the L2 strength lambda.
    Returns (loss, grads): loss a float (data loss + reg / 2 * (sum W1**2 + sum W2**2)),
    grads a dict with the same keys and shapes as params.
    """
    # Forward: affine_forward, relu_forward, affine_forward, softmax_cross_entropy.
    # Backward: affine_backward, relu_backward, affine_backward; then the L2 terms.
    ### BEGIN SOLUTION
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    h, cache1 = affine_forward(X, W1, b1)  # (N, H)
    a, cache_relu = relu_forward(h)
    scores, cache2 = affine_forward(a, W2, b2)  # (N, C)
    data_loss, dscores = softmax_cross_entropy(scores, y)
    loss = data_loss + 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    da, dW2, db2 = affine_backward(dscores, cache2)
    dh = relu_backward(da, cache_relu)
    _, dW1, db1 = affine_backward(dh, cache1)
    grads = {"W1": dW1 + reg * W1, "b1": db1, "W2": dW2 + reg * W2, "b2": db2}
    return float(loss), grads
    ### END SOLUTION


# %% nbgrader=tests id=test_two_layer_loss points=22
test_rng = np.random.default_rng(5)
params_small = small_params(4, 5, 3, seed=1)
X_small = test_rng.normal(size=(6, 4))
y_small = test_rng.integers(0, 3, 6)
result = two_layer_loss(params_small, X_small, y_small, reg=0.0)
check_type("two_layer_loss(...)", result, tuple, hint="return the pair (loss, grads)")
loss_small, grads_small = result
check_type("grads", grads_small, dict)
if set(grads_small) != set(params_small):
    raise AssertionError(
        "the keys of grads are wrong.\n  expected: ['W1', 'W2', 'b1', 'b2'] (the keys of params)"
        f"\n  got:      {sorted(grads_small)}\n  hint: grads[key] is the gradient of "
        "params[key]: use the same names")
for key, value in params_small.items():
    check_shape(f"grads[{key!r}]", grads_small.get(key), value.shape)
check_close("the loss with zero weights and zero biases",
            two_layer_loss({k: np.zeros_like(v) for k, v in params_small.items()},
                           X_small, y_small, reg=1.0)[0], np.log(3.0),
            hint="all scores are 0, so every class has probability 1/3 and the penalty is 0")
for reg_value in (0.0, 0.7):
    _, grads_small = two_layer_loss(params_small, X_small, y_small, reg=reg_value)
    for key in params_small:
        def loss_of(value, key=key, reg_value=reg_value):
            return two_layer_loss({**params_small, key: value}, X_small, y_small, reg_value)[0]

        try:
            error = check_gradient(loss_of, params_small[key].copy(), grads_small[key],
                                   name=f"{key} (reg={reg_value})", tol=1e-6)
        except AssertionError as failure:
            hint = ("the reg=0 checks passed, so look at the L2 term: the loss adds "
                    "reg / 2 * (sum of W1**2 + sum of W2**2), which adds reg * W to the "
                    "gradient of each weight matrix and nothing to the biases"
                    if reg_value else "go through the backward pass layer by layer; the "
                    "tests of each layer above must pass first")
            raise AssertionError(f"{failure}\n  hint: {hint}") from None
        print(f"reg={reg_value}: relative error of d{key} = {error:.1e}")
check_numpy_only("two_layer_loss", two_layer_loss,
                 graded_elsewhere=(affine_forward, affine_backward, relu_forward, relu_backward,
                                   softmax_cross_entropy))
print("two_layer_loss: visible tests passed")
### BEGIN HIDDEN TESTS
import torch

hidden_rng = np.random.default_rng(308)
for N, D, H, C, reg_h in [(1, 3, 4, 2, 0.0), (10, 6, 8, 5, 0.0), (7, 4, 3, 3, 0.3),
                          (1, 5, 6, 4, 1.3), (20, 8, 16, 10, 0.01)]:
    params_h = small_params(D, H, C, seed=int(hidden_rng.integers(1 << 30)))
    X_h = hidden_rng.normal(size=(N, D))
    y_h = hidden_rng.integers(0, C, N)
    keep = {k: v.copy() for k, v in params_h.items()}
    keep_X = X_h.copy()
    t = {k: torch.tensor(v, requires_grad=True) for k, v in params_h.items()}
    scores_t = torch.relu(torch.from_numpy(X_h) @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"]
    loss_t = torch.nn.functional.cross_entropy(scores_t, torch.from_numpy(y_h))
    loss_t = loss_t + 0.5 * reg_h * ((t["W1"] ** 2).sum() + (t["W2"] ** 2).sum())
    loss_t.backward()
    loss_h, grads_h = two_layer_loss(params_h, X_h, y_h, reg=reg_h)
    where = f"N={N}, D={D}, H={H}, C={C}, reg={reg_h}"
    check_close(f"the loss for {where}", loss_h, loss_t.item(), rtol=1e-6, atol=1e-8)
    for key in ("W1", "b1", "W2", "b2"):
        check_close(f"grads[{key!r}] for {where}", grads_h[key], t[key].grad.numpy(),
                    rtol=1e-5, atol=1e-7)
        check_unchanged(f"params[{key!r}]", keep[key], params_h[key])
    check_unchanged("X", keep_X, X_h)
# Integer inputs and weights chosen so that many hidden pre-activations are exactly 0: the
# ReLU's subgradient there is 0 (as in relu_backward and PyTorch), also inside the network.
X_h = np.array([[1, 0, -1], [2, 1, 0], [0, 0, 0], [-1, 2, 1], [1, 1, 1]])
y_h = np.array([0, 2, 1, 1, 0])
params_h = {"W1": np.array([[1.0, -1.0, 0.0, 2.0], [0.0, 1.0, -1.0, 1.0],
                            [1.0, 0.0, 1.0, -2.0]]),
            "b1": np.array([0.0, 1.0, -1.0, 0.0]),
            "W2": np.array([[0.5, -1.0, 0.25], [1.0, 0.5, -0.5], [-0.75, 0.25, 1.0],
                            [0.1, 0.2, -0.3]]),
            "b2": np.array([0.1, -0.2, 0.05])}
h_h = X_h @ params_h["W1"] + params_h["b1"]
assert (h_h == 0).sum() >= 4  # the test is about these points
t = {k: torch.tensor(v, requires_grad=True) for k, v in params_h.items()}
scores_t = torch.relu(torch.from_numpy(X_h).double() @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"]
loss_t = torch.nn.functional.cross_entropy(scores_t, torch.from_numpy(y_h)) + 0.05 * (
    (t["W1"] ** 2).sum() + (t["W2"] ** 2).sum())
loss_t.backward()
loss_h, grads_h = two_layer_loss(params_h, X_h, y_h, reg=0.1)
check_close("the loss with integer X", loss_h, loss_t.item(), rtol=1e-9)
for key in ("W1", "b1", "W2", "b2"):
    check_close(f"grads[{key!r}] where hidden units sit exactly at 0 (ReLU's kink)",
                grads_h[key], t[key].grad.numpy(), rtol=1e-9, atol=1e-12,
                hint="at h = 0 the ReLU passes no gradient (subgradient 0): use h > 0")
### END HIDDEN TESTS

# %% [markdown]
# ### Check yourself
#
# The visible test above compared your gradients with centred finite differences,
# $\frac{\partial L}{\partial \theta_k} \approx \frac{L(\theta + h e_k) - L(\theta - h e_k)}{2h}$,
# one parameter at a time. Why do we still need backpropagation if finite differences give
# the gradient too?
#
# <details><summary>Answer</summary>
#
# Finite differences cost two forward passes *per parameter*: for the digit network of the
# experiment below (it prints the count) that is thousands of forward passes for a single
# gradient, and millions for a real network. Backpropagation gives all of them for the cost
# of about one forward and one backward pass. Finite differences are only a test.
#
# </details>
#
# ## 6. Predictions
#
# The predicted class of an example is the index of its largest score,
# $\hat y_i = \arg\max_j s_{ij}$ (softmax does not change the order of the scores).

# %% nbgrader=solution id=predict
def predict(params, X):
    """Predicted labels of the two-layer network. params as in two_layer_loss; X: (N, D).

    Returns an int array of shape (N,).
    """
    ### BEGIN SOLUTION
    hidden = np.maximum(X @ params["W1"] + params["b1"], 0)  # (N, H)
    scores = hidden @ params["W2"] + params["b2"]  # (N, C)
    return scores.argmax(axis=1)
    ### END SOLUTION


# %% nbgrader=tests id=test_predict points=5
params_p = {"W1": np.eye(2), "b1": np.zeros(2), "W2": np.array([[1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0]]), "b2": np.array([0.0, 0.0, 0.5])}
X_p = np.array([[2.0, 1.0], [0.0, 3.0], [-1.0, -1.0]])
got = predict(params_p, X_p)
check_shape("predict(params_p, X_p)", got, (3,))
check_close("predict(params_p, X_p)", got, [0, 1, 2],
            hint="scores are [[2, 1, 0.5], [0, 3, 0.5], [0, 0, 0.5]]: take the argmax of each row")
params_n = {"W1": np.array([[1.0], [0.0]]), "b1": np.zeros(1), "W2": np.array([[1.0, -1.0]]),
            "b2": np.array([0.1, 0.0])}
check_close("predict(params_n, [[-1, 0]])", predict(params_n, np.array([[-1.0, 0.0]])), [0],
            hint="the hidden value is -1, the ReLU makes it 0, so the scores are b2 = [0.1, 0]; "
                 "without the ReLU they would be [-0.9, 1]")
check_numpy_only("predict", predict, graded_elsewhere=(affine_forward, relu_forward))
print("predict: visible tests passed")
### BEGIN HIDDEN TESTS
hidden_rng = np.random.default_rng(309)
for N, D, H, C in [(1, 3, 4, 5), (12, 5, 7, 3), (30, 4, 6, 10)]:
    params_h = small_params(D, H, C, seed=int(hidden_rng.integers(1 << 30)))
    X_h = hidden_rng.normal(size=(N, D))
    got_h = np.asarray(predict(params_h, X_h))
    scores_h = np.maximum(X_h @ params_h["W1"] + params_h["b1"], 0) @ params_h["W2"]
    scores_h = scores_h + params_h["b2"]
    check_shape(f"predict for N={N}", got_h, (N,))
    if not np.issubdtype(got_h.dtype, np.integer):
        raise AssertionError(f"predict must return integer labels; got dtype {got_h.dtype}")
    check_close(f"predict for N={N}, C={C}", got_h, scores_h.argmax(axis=1))
### END HIDDEN TESTS

# %% [markdown]
# ## 7. Training with stochastic gradient descent
#
# Mini-batch SGD repeats, for `num_epochs` passes over the data: shuffle the $N$ training
# examples, cut them into mini-batches of `batch_size` (the last one may be smaller), and for
# each mini-batch $B$ compute the loss and the gradients with `two_layer_loss` and step
# against the gradient:
#
# $$\theta \leftarrow \theta - \eta\, \nabla_\theta L_B(\theta) \quad
#   \text{for each } \theta \in \{W_1, b_1, W_2, b_2\}.$$
#
# Create the random generator **once**, before the first epoch, with
# `rng = np.random.default_rng(seed)`, and draw a fresh `rng.permutation(N)` at the start of
# every epoch (a generator re-created inside the loop would repeat the same order). Start
# from a copy of `params` (the caller's arrays must not change), and record the loss of every
# mini-batch (the loss `two_layer_loss` returns for it, before its update). The helper
# `init_two_layer` below makes the starting parameters (He initialization for the ReLU layer).

# %% nbgrader=locked id=init_two_layer
def init_two_layer(input_size, hidden_size, num_classes, seed=0):
    """Random starting parameters: W ~ N(0, 2 / fan_in) for W1, N(0, 1 / fan_in) for W2,
    zero biases. Returns a dict with W1: (D, H), b1: (H,), W2: (H, C), b2: (C,)."""
    g = np.random.default_rng(seed)
    return {
        "W1": g.normal(0.0, np.sqrt(2.0 / input_size), (input_size, hidden_size)),
        "b1": np.zeros(hidden_size),
        "W2": g.normal(0.0, np.sqrt(1.0 / hidden_size), (hidden_size, num_classes)),
        "b2": np.zeros(num_classes),
    }


# %% nbgrader=solution id=train_two_layer
def train_two_layer(params, X, y, lr=0.5, reg=1e-4, num_epochs=15, batch_size=32, seed=0):
    """Train the two-layer network with mini-batch SGD.

    params: dict as in two_layer_loss (not modified); X: (N, D); y: (N,) int labels.
    Returns (trained_params, losses): a new dict of arrays, and a list with the loss of
    every mini-batch in the order they were used.
    """
    # Start with: params = {key: value.copy() for key, value in params.items()}
    ### BEGIN SOLUTION
    params = {key: value.copy() for key, value in params.items()}
    rng_sgd = np.random.default_rng(seed)
    N = X.shape[0]
    losses = []
    for _ in range(num_epochs):
        order = rng_sgd.permutation(N)
        for start in range(0, N, batch_size):
            batch = order[start : start + batch_size]
            loss, grads = two_layer_loss(params, X[batch], y[batch], reg)
            losses.append(loss)
            for key in params:
                params[key] = params[key] - lr * grads[key]
    return params, losses
    ### END SOLUTION


# %% nbgrader=tests id=test_train_two_layer points=15
test_rng = np.random.default_rng(6)
params_t = small_params(3, 4, 2, seed=5)
keep_t = {k: v.copy() for k, v in params_t.items()}
X_t = test_rng.normal(size=(8, 3))
y_t = test_rng.integers(0, 2, 8)
result = train_two_layer(params_t, X_t, y_t, lr=0.1, reg=0.0, num_epochs=2, batch_size=4)
check_type("train_two_layer(...)", result, tuple, hint="return (trained_params, losses)")
trained_t, losses_t = result
check_type("the trained parameters", trained_t, dict,
           hint="return (trained_params, losses) in this order")
check_close("the number of recorded losses (8 examples, batches of 4, 2 epochs)",
            len(losses_t), 4, hint="one loss per mini-batch")
for key in params_t:
    check_unchanged(f"params[{key!r}]", keep_t[key], params_t[key],
                    hint="start from a copy: {k: v.copy() for k, v in params.items()}")
# One epoch with a single batch of all the data is one step of full-batch gradient descent:
loss0, grads0 = two_layer_loss(params_t, X_t, y_t, reg=0.0)
one_step, losses_one = train_two_layer(params_t, X_t, y_t, lr=0.1, reg=0.0, num_epochs=1,
                                       batch_size=8)
check_close("the recorded loss of the first (full) batch", losses_one[0], loss0,
            hint="record the loss two_layer_loss returns for the batch, before the update")
check_close("W2 after one full-batch step", one_step["W2"], params_t["W2"] - 0.1 * grads0["W2"],
            hint="step against the gradient: W <- W - lr * dW")
_, losses_10 = train_two_layer(params_t, np.vstack([X_t, X_t[:2]]), np.r_[y_t, y_t[:2]],
                               lr=0.1, reg=0.0, num_epochs=1, batch_size=4)
check_close("the number of recorded losses (10 examples, batches of 4, 1 epoch)",
            len(losses_10), 3, hint="keep the last, smaller batch: batches of 4, 4 and 2")
# With lr = 0 nothing moves, so with batches of one example the losses of an epoch are the
# per-example losses in the order the examples were used.
_, losses_0 = train_two_layer(params_t, X_t, y_t, lr=0.0, reg=0.0, num_epochs=2, batch_size=1)
in_order = [two_layer_loss(params_t, X_t[i : i + 1], y_t[i : i + 1])[0] for i in range(8)]
if np.allclose(losses_0[:8], in_order) or np.allclose(losses_0[:8], losses_0[8:]):
    raise AssertionError(
        "train_two_layer must shuffle the examples, in a new order every epoch.\n"
        "  got:      the examples in their original order, or the same order in both epochs\n"
        "  hint: create rng = np.random.default_rng(seed) once, before the epochs, and draw "
        "rng.permutation(N) at the start of each epoch")
check_numpy_only("train_two_layer", train_two_layer, graded_elsewhere=(two_layer_loss,))
print("train_two_layer: visible tests passed")
### BEGIN HIDDEN TESTS
import torch

from course import data as course_data

hidden_rng = np.random.default_rng(310)
# Full-batch steps compared with gradient descent driven by torch.autograd.
N_h, D_h, H_h, C_h, lr_h, reg_h, steps = 11, 4, 6, 3, 0.3, 0.05, 3
params_h = small_params(D_h, H_h, C_h, seed=17)
keep = {k: v.copy() for k, v in params_h.items()}
X_h = hidden_rng.normal(size=(N_h, D_h))
y_h = hidden_rng.integers(0, C_h, N_h)
t = {k: torch.tensor(v, requires_grad=True) for k, v in params_h.items()}
reference_losses = []
for _ in range(steps):
    scores_t = torch.relu(torch.from_numpy(X_h) @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"]
    loss_t = torch.nn.functional.cross_entropy(scores_t, torch.from_numpy(y_h))
    loss_t = loss_t + 0.5 * reg_h * ((t["W1"] ** 2).sum() + (t["W2"] ** 2).sum())
    reference_losses.append(loss_t.item())
    grads_t = torch.autograd.grad(loss_t, list(t.values()))
    with torch.no_grad():
        t = {k: (v - lr_h * g).requires_grad_() for (k, v), g in zip(t.items(), grads_t)}
trained_h, losses_h = train_two_layer(params_h, X_h, y_h, lr=lr_h, reg=reg_h,
                                      num_epochs=steps, batch_size=N_h, seed=3)
check_close("the losses of 3 full-batch steps", losses_h, reference_losses, rtol=1e-6)
for key in ("W1", "b1", "W2", "b2"):
    check_close(f"{key} after 3 full-batch steps", trained_h[key], t[key].detach().numpy(),
                rtol=1e-5, atol=1e-7)
    check_unchanged(f"params[{key!r}]", keep[key], params_h[key])
_, losses_count = train_two_layer(params_h, X_h[:10], y_h[:10], lr=0.01, reg=0.0,
                                  num_epochs=3, batch_size=5, seed=1)
check_close("the number of losses for 10 examples, batches of 5, 3 epochs", len(losses_count), 6)
_, losses_count = train_two_layer(params_h, X_h, y_h, lr=0.01, reg=0.0, num_epochs=2,
                                  batch_size=4, seed=1)
check_close("the number of losses for 11 examples, batches of 4, 2 epochs", len(losses_count), 6,
            hint="keep the last, smaller batch: batches of 4, 4 and 3 in every epoch")
# Shuffling: with lr = 0 the parameters never move, so with batches of one example the losses
# of an epoch are the per-example losses in the order the examples were used.
X_s, y_s = hidden_rng.normal(size=(12, D_h)), hidden_rng.integers(0, C_h, 12)
scores_s = np.maximum(X_s @ params_h["W1"] + params_h["b1"], 0) @ params_h["W2"] + params_h["b2"]
per_example = torch.nn.functional.cross_entropy(
    torch.from_numpy(scores_s), torch.from_numpy(y_s), reduction="none").numpy()
_, losses_s = train_two_layer(params_h, X_s, y_s, lr=0.0, reg=0.0, num_epochs=3, batch_size=1,
                              seed=4)
check_close("the number of losses for 12 examples, batches of 1, 3 epochs", len(losses_s), 36)
orders_s = []
for epoch in range(3):
    epoch_losses = np.asarray(losses_s[12 * epoch : 12 * epoch + 12], dtype=float)
    check_close(f"the sorted losses of epoch {epoch + 1} with batches of one example",
                np.sort(epoch_losses), np.sort(per_example), rtol=1e-6, atol=1e-9,
                hint="every example exactly once per epoch: index with rng.permutation(N)")
    orders_s.append(tuple(np.abs(epoch_losses[:, None] - per_example).argmin(axis=1)))
if len(set(orders_s)) < 3 or tuple(range(12)) in orders_s:
    raise AssertionError(
        "train_two_layer must shuffle the examples in a new order every epoch.\n"
        f"  got the orders {orders_s[0]}, {orders_s[1]} and {orders_s[2]} in 3 epochs\n"
        "  hint: create rng = np.random.default_rng(seed) once, before the epochs, and draw "
        "rng.permutation(N) at the start of each epoch")
# The randomness comes from `seed` alone: the same seed gives the same run whatever the
# global NumPy generator does, another seed another run. The caller's X and y stay as they were.
X_r, y_r = hidden_rng.normal(size=(14, D_h)), hidden_rng.integers(0, C_h, 14)
keep_r = X_r.copy(), y_r.copy()
runs = {}
for seed_r, global_r in [(7, 0), (7, 1), (8, 0)]:
    np.random.seed(global_r)
    runs[seed_r, global_r] = train_two_layer(params_h, X_r, y_r, lr=0.2, reg=0.0, num_epochs=2,
                                             batch_size=3, seed=seed_r)[1]
    check_unchanged("X (the training data)", keep_r[0], X_r,
                    hint="shuffle an index array, not the data: X[order], not rng.shuffle(X)")
    check_unchanged("y (the training labels)", keep_r[1], y_r)
if not np.allclose(runs[7, 0], runs[7, 1]):
    raise AssertionError(
        "two runs with seed=7 recorded different losses.\n"
        "  hint: draw the permutations from np.random.default_rng(seed), not from np.random")
if np.allclose(runs[7, 0], runs[8, 0]):
    raise AssertionError(
        "runs with seed=7 and seed=8 recorded the same losses.\n"
        "  hint: use the seed argument: rng = np.random.default_rng(seed)")
# every epoch runs, also when the loss rises (a learning rate far too large) or stops changing
with np.errstate(all="ignore"):
    _, losses_big = train_two_layer(params_h, X_r, y_r, lr=50.0, reg=0.0, num_epochs=4,
                                    batch_size=7, seed=2)
check_close("the number of losses of a diverging run (14 examples, batches of 7, 4 epochs)",
            len(losses_big), 8, hint="run every epoch; do not stop when the loss rises")
_, losses_flat = train_two_layer(params_h, X_r, y_r, lr=0.0, reg=0.0, num_epochs=4,
                                 batch_size=14, seed=2)
check_close("the number of losses when the loss never changes (lr = 0, 4 epochs)",
            len(losses_flat), 4, hint="run every epoch; do not stop when the loss stops changing")
# The real thing: digits, with a fixed seed, must reach 90 % test accuracy.
digits_h = course_data.load_digits(flatten=True)
start_h = init_two_layer(64, 64, 10, seed=0)
net_h, losses_digits = train_two_layer(start_h, digits_h.X_train, digits_h.y_train, lr=0.5,
                                       reg=1e-4, num_epochs=15, batch_size=32, seed=0)
hidden_act = np.maximum(digits_h.X_test @ net_h["W1"] + net_h["b1"], 0)
test_acc = ((hidden_act @ net_h["W2"] + net_h["b2"]).argmax(1) == digits_h.y_test).mean()
if not test_acc >= 0.9:
    raise AssertionError(f"test accuracy on digits is {test_acc:.3f}; expected at least 0.9")
### END HIDDEN TESTS

# %% [markdown]
# ## Experiment: train on handwritten digits
#
# Everything below uses only your functions: `init_two_layer` starts the network, your
# `train_two_layer` runs SGD with your `two_layer_loss`, your `predict` labels the held-out
# digits. The 1,797 scans of scikit-learn are 8x8 pixels, flattened to $D = 64$ features in
# $[0, 1]$; the network has $H = 64$ hidden units and $C = 10$ classes. The cell prints how
# long training took: that is the speed of a hand-written backward pass with NumPy.

# %% nbgrader=locked id=experiment
import time

import matplotlib.pyplot as plt

from course import data, plot

digits = data.load_digits(flatten=True)
print(f"train {digits.X_train.shape}, test {digits.X_test.shape}")
start = init_two_layer(64, 64, 10, seed=0)
num_params = sum(value.size for value in start.values())
print(f"{num_params} parameters: finite differences would need {2 * num_params} forward "
      "passes per gradient")
tic = time.perf_counter()
trained, losses = train_two_layer(start, digits.X_train, digits.y_train, lr=0.5, reg=1e-4,
                                  num_epochs=15, batch_size=32, seed=0)
seconds = time.perf_counter() - tic
steps_per_epoch = int(np.ceil(len(digits.y_train) / 32))
train_acc = (predict(trained, digits.X_train) == digits.y_train).mean()
test_acc = (predict(trained, digits.X_test) == digits.y_test).mean()
print(f"{len(losses)} SGD steps in {seconds:.2f} s; mini-batch loss {losses[0]:.3f} at the "
      f"first step, {np.mean(losses[-steps_per_epoch:]):.3f} on average over the last epoch")
print(f"train accuracy {train_acc:.3f}, test accuracy {test_acc:.3f}")

smooth = np.convolve(losses, np.ones(steps_per_epoch) / steps_per_epoch, mode="valid")
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(losses, lw=0.6, alpha=0.5, label="mini-batch loss")
ax.plot(np.arange(steps_per_epoch - 1, len(losses)), smooth, lw=2, label="mean over one epoch")
ax.set_xlabel("SGD step")
ax.set_ylabel("cross-entropy + L2")
ax.set_yscale("log")
ax.legend()
ax.set_title(f"your two-layer network: test accuracy {test_acc:.1%}")
plt.show()

predictions = predict(trained, digits.X_test)
wrong = np.flatnonzero(predictions != digits.y_test)[:16]
if len(wrong):
    plot.image_grid(digits.X_test[wrong].reshape(-1, 8, 8), labels=digits.y_test[wrong],
                    predictions=predictions[wrong], ncols=8)
    plt.show()

# %% [markdown]
# The plot shows the loss of each mini-batch: noisy, because every batch holds different
# digits, with a steady downward trend (the thick line averages one epoch). The grid shows
# test digits your network got wrong (true label → prediction).
#
# ### Going further (not graded)
# - Swap ReLU for your sigmoid layer in a copy of `two_layer_loss`: how does training change
#   with the same learning rate? (Recall $\sigma' \le 1/4$.)
# - Train with `reg=0` and `reg=1e-2`, and compare train and test accuracy.
# - Compare your gradients with `torch.autograd` on the same network in float64: how large
#   is the relative error? (It should be at the level of rounding errors.)
