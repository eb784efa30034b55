# %% [markdown]
# # Lab 01 — Linear regression from scratch
#
# In this lab you build linear regression with nothing but NumPy: the model, its loss, the
# gradient of the loss, a gradient-descent loop and the closed-form least-squares solution.
# At the end you race gradient descent against the closed form on synthetic data and on a
# real medical data set (diabetes), and you watch what the learning rate does to training —
# including a learning rate that makes it blow up.
#
# Everything later in the course (optimizers, backpropagation, convolutional networks) is
# this lab again with a bigger model: a prediction, a loss, a gradient, an update.
#
# How a lab works:
# 1. Run the setup cell below.
# 2. In each cell marked `# YOUR CODE HERE`, replace the `raise NotImplementedError(...)` line
#    with your code. Keep the function names and signatures.
# 3. Run the test cell after each function. A failing test tells you what it expected, what
#    your code gave, and a hint. When you submit, hidden tests check more cases.
# 4. Do not change the locked cells.
#
# Points: `predict` 10, `mse_loss` 15, `gradients` 25, `gradient_descent` 30,
# `closed_form` 20.
#
# **Conventions used throughout.** A data set is a design matrix $X \in \mathbb{R}^{m \times n}$
# (one example per row, one feature per column) and targets $y \in \mathbb{R}^m$. The parameters
# are a weight vector $w \in \mathbb{R}^n$ and a separate scalar bias $b$ (we do **not** add a
# column of ones to $X$). In code, `X` has shape `(m, n)`, `y` and predictions have shape `(m,)`
# (1-D, not `(m, 1)`), `w` has shape `(n,)` and `b` is a Python or NumPy float. No function may
# modify its input arrays in place. Inputs may be integer arrays (counts, pixel values): every
# function must then compute in floating point and return floats, as it does for float input.

# %% setup

# %% nbgrader=locked id=imports
import numpy as np

from course.gradcheck import check_gradient
from course.grading import check_close, check_numpy_only, check_shape, check_unchanged

# %% [markdown]
# ## 1. The model
#
# A linear model predicts every example with one matrix–vector product:
#
# $$\hat y = X w + b, \qquad \hat y_i = \sum_{j=1}^{n} X_{ij} w_j + b .$$
#
# The scalar $b$ is added to every entry (NumPy broadcasting does that for you).

# %% nbgrader=solution id=predict
def predict(X, w, b):
    """Predictions of the linear model for every row of X.

    X: (m, n) data matrix, w: (n,) weights, b: float bias.
    Returns y_hat: (m,) with y_hat[i] = X[i] @ w + b.
    """
    ### BEGIN SOLUTION
    return X @ w + b
    ### END SOLUTION


# %% nbgrader=tests id=test_predict points=10
X_small = np.array([[1.0, 2.0], [3.0, 4.0], [0.0, -1.0]])
w_small = np.array([0.5, -1.0])
try:
    got = predict(X_small, w_small, 2.0)
except ValueError as error:  # NumPy refuses a product whose shapes do not match
    raise AssertionError(
        f"predict(X_small, w_small, 2.0) raised ValueError: {error}\n"
        "  hint: X_small has shape (3, 2) and w_small shape (2,); pair every row of X with w "
        "so that the result has one number per row, shape (3,)") from error
check_shape("predict(X_small, w_small, 2.0)", got, (3,),
            hint="one prediction per row of X, as a 1-D array")
check_close("predict(X_small, w_small, 2.0)", got, [0.5, -0.5, 3.0],
            hint="row 0: 1*0.5 + 2*(-1) + 2 = 0.5; use X @ w + b")
check_numpy_only("predict", predict)
print("predict: visible tests passed")
### BEGIN HIDDEN TESTS
rng_h = np.random.default_rng(101)
for m, n in [(1, 1), (1, 4), (7, 1), (5, 3), (3, 8), (40, 6)]:
    X_h = rng_h.normal(size=(m, n))
    w_h = rng_h.normal(size=n)
    b_h = float(rng_h.normal())
    X_keep, w_keep = X_h.copy(), w_h.copy()
    reference = np.array([sum(X_h[i, j] * w_h[j] for j in range(n)) + b_h for i in range(m)])
    check_close(f"predict on a ({m}, {n}) matrix", predict(X_h, w_h, b_h), reference,
                atol=1e-10)
    check_unchanged("X", X_keep, X_h)
    check_unchanged("w", w_keep, w_h)
# integer inputs: the predictions are still floats (b is not rounded away)
X_int_h, w_int_h = np.array([[1, 2], [3, 4], [0, -1]]), np.array([1, -2])
check_close("predict with integer X and w and b = 0.5", predict(X_int_h, w_int_h, 0.5),
            [-2.5, -4.5, 2.5], hint="compute in floats: integer arrays must not truncate b")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. The loss
#
# We measure the error of the predictions with the **mean squared error with a factor ½**:
#
# $$J = \frac{1}{2m} \sum_{i=1}^{m} (\hat y_i - y_i)^2 = \frac{1}{2m} \lVert \hat y - y \rVert^2 .$$
#
# The ½ is a convention: it cancels the 2 that comes down when we differentiate the square, so
# the gradient in the next section has no stray factor. (PyTorch's `mse_loss` has no ½: our
# $J$ is half of it.) Dividing by $m$ makes $J$ an *average*, so its size does not grow with
# the number of examples.
#
# A classic bug: if `y_hat` has shape `(m, 1)` and `y` has shape `(m,)`, NumPy broadcasts
# `y_hat - y` to an `(m, m)` matrix and the loss is silently wrong. Protect yourself: raise a
# `ValueError` when the two shapes differ.

# %% nbgrader=solution id=mse_loss
def mse_loss(y_hat, y):
    """Half mean squared error J = sum((y_hat - y)**2) / (2m).

    y_hat: (m,) predictions, y: (m,) targets. Returns J as a float.
    Raises ValueError if y_hat and y do not have the same shape.
    """
    ### BEGIN SOLUTION
    y_hat, y = np.asarray(y_hat), np.asarray(y)
    if y_hat.shape != y.shape:
        raise ValueError(f"y_hat and y must have the same shape; got {y_hat.shape} and {y.shape}")
    return float(np.mean((y_hat - y) ** 2) / 2)
    ### END SOLUTION


# %% nbgrader=tests id=test_mse_loss points=15
got = mse_loss(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 0.0, 3.0, 6.0]))
check_close("mse_loss([1, 2, 3, 4], [1, 0, 3, 6])", got, 1.0,
            hint="errors 0, 2, 0, -2; squares sum to 8; divide by 2m = 8")
check_close("mse_loss of perfect predictions", mse_loss(np.ones(5), np.ones(5)), 0.0)
try:
    mse_loss(np.zeros((3, 1)), np.zeros(3))
except ValueError:
    pass
except Exception as error:
    raise AssertionError(
        "mse_loss(y_hat of shape (3, 1), y of shape (3,)) raised "
        f"{type(error).__name__}({error}) instead of ValueError.\n"
        "  hint: raise the ValueError yourself when the shapes differ (an `assert` raises "
        "AssertionError, not ValueError)") from error
else:
    raise AssertionError("mse_loss(y_hat of shape (3, 1), y of shape (3,)) should raise "
                         "ValueError instead of broadcasting to a (3, 3) matrix")
check_numpy_only("mse_loss", mse_loss)
print("mse_loss: visible tests passed")
### BEGIN HIDDEN TESTS
import torch

rng_h = np.random.default_rng(102)
for m in [1, 2, 9, 100]:
    y_hat_h, y_h = rng_h.normal(size=m) * 3, rng_h.normal(size=m)
    keep = y_hat_h.copy(), y_h.copy()
    reference = torch.nn.functional.mse_loss(torch.tensor(y_hat_h), torch.tensor(y_h)).item() / 2
    got_h = mse_loss(y_hat_h, y_h)
    check_shape(f"mse_loss with m={m}", got_h, (), hint="return a single number")
    check_close(f"mse_loss with m={m}", got_h, reference, rtol=1e-6)
    check_unchanged("y_hat", keep[0], y_hat_h)
    check_unchanged("y", keep[1], y_h)
check_close("mse_loss of integer arrays", mse_loss(np.array([1, 2, 3]), np.array([0, 2, 5])),
            5 / 6)
check_close("mse_loss of large values", mse_loss(np.array([1e150]), np.array([-1e150])), 2e300,
            rtol=1e-6)
for shapes in [((4, 1), (4,)), ((4,), (1, 4)), ((3,), (4,)), ((1,), (4,)), ((4,), (1,))]:
    try:
        mse_loss(np.zeros(shapes[0]), np.zeros(shapes[1]))
    except ValueError:
        pass
    else:
        raise AssertionError(f"mse_loss with shapes {shapes} should raise ValueError")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. The gradient, vectorized
#
# Write $r = \hat y - y = Xw + b - y$ for the residuals. Differentiating
# $J = \frac{1}{2m}\sum_i r_i^2$ with the chain rule, $\partial r_i / \partial w_j = X_{ij}$ and
# $\partial r_i / \partial b = 1$, so
#
# $$\frac{\partial J}{\partial w_j} = \frac{1}{m} \sum_{i=1}^{m} X_{ij}\, r_i
#   \quad\Longrightarrow\quad \nabla_w J = \frac{1}{m} X^\top (\hat y - y),
#   \qquad \frac{\partial J}{\partial b} = \frac{1}{m} \sum_{i=1}^{m} r_i .$$
#
# Check the shapes: $X^\top$ is $(n, m)$ and $r$ is $(m,)$, so $X^\top r$ is $(n,)$ — the
# shape of $w$, as a gradient must be. `db` is a single number: the residuals summed over all
# examples (the batch), not a vector.
#
# The visible test compares your gradient with finite differences from `course.gradcheck`:
# it nudges each parameter by $\pm h$ and measures the change of the loss.

# %% nbgrader=solution id=gradients
def gradients(X, y, w, b):
    """Gradient of J(w, b) = ||X w + b - y||^2 / (2m) with respect to w and b.

    X: (m, n) data, y: (m,) targets, w: (n,) weights, b: float bias.
    Returns (dw, db): dw of shape (n,) and db a float.
    """
    # Step 1: residuals r = y_hat - y, shape (m,).
    # Step 2: dw = X^T r / m, db = sum(r) / m.
    ### BEGIN SOLUTION
    m = X.shape[0]
    residual = predict(X, w, b) - y  # (m,)
    dw = X.T @ residual / m  # (n,)
    db = float(residual.sum() / m)
    return dw, db
    ### END SOLUTION


# %% nbgrader=tests id=test_gradients points=25
X_small = np.array([[1.0, 2.0], [3.0, 4.0], [0.0, -1.0]])
y_small = np.array([1.0, 0.0, 2.0])
w_small = np.array([0.5, -1.0])
try:
    dw, db = gradients(X_small, y_small, w_small, 2.0)
except ValueError as error:  # NumPy refuses a product whose shapes do not match
    raise AssertionError(
        f"gradients(X_small, y_small, w_small, 2.0) raised ValueError: {error}\n"
        "  hint: X_small is (m, n) = (3, 2) and the residuals are (m,) = (3,); dw must have "
        "shape (n,) = (2,): which of X and X transposed pairs with a vector of length m?"
    ) from error
check_shape("dw", dw, (2,), hint="dw has the shape of w: use X.T @ residuals")
check_shape("db", db, (), hint="db is one number: sum the residuals over the examples")
# residuals: [0.5 - 1, -0.5 - 0, 3 - 2] = [-0.5, -0.5, 1]
check_close("dw", dw, [-2.0 / 3.0, -4.0 / 3.0],
            hint="dw = X.T @ (y_hat - y) / m; check the sign and the 1/m")
check_close("db", db, 0.0, hint="db = sum(y_hat - y) / m")


def J_small(w_, b_):  # the loss of section 2 on the small example, written out
    return np.mean((X_small @ w_ + b_ - y_small) ** 2) / 2


check_gradient(lambda v: J_small(v, 2.0), w_small.copy(), dw, "w")
check_gradient(lambda v: J_small(w_small, v[0]), np.array([-1.0]),
               [gradients(X_small, y_small, w_small, -1.0)[1]], "b")
check_numpy_only("gradients", gradients)
print("gradients: visible tests passed")
### BEGIN HIDDEN TESTS
import torch

rng_h = np.random.default_rng(103)
for m, n in [(1, 1), (1, 3), (6, 1), (4, 4), (3, 7), (50, 5)]:
    X_h, y_h = rng_h.normal(size=(m, n)), rng_h.normal(size=m) * 2
    w_h, b_h = rng_h.normal(size=n), float(rng_h.normal())
    keep = X_h.copy(), y_h.copy(), w_h.copy()
    w_t = torch.tensor(w_h, requires_grad=True)
    b_t = torch.tensor(b_h, dtype=torch.float64, requires_grad=True)
    J_t = ((torch.tensor(X_h) @ w_t + b_t - torch.tensor(y_h)) ** 2).mean() / 2
    J_t.backward()
    dw_h, db_h = gradients(X_h, y_h, w_h, b_h)
    check_close(f"dw for a ({m}, {n}) problem", dw_h, w_t.grad.numpy(), rtol=1e-7, atol=1e-10)
    check_close(f"db for a ({m}, {n}) problem", db_h, b_t.grad.item(), rtol=1e-7, atol=1e-10)
    for name, before, after in zip(("X", "y", "w"), keep, (X_h, y_h, w_h), strict=True):
        check_unchanged(name, before, after)
# at the least-squares solution the gradient vanishes
X_h = rng_h.normal(size=(30, 4))
y_h = rng_h.normal(size=30)
solution_h = np.linalg.lstsq(np.c_[X_h, np.ones(30)], y_h, rcond=None)[0]
dw_h, db_h = gradients(X_h, y_h, solution_h[:4], solution_h[4])
check_close("dw at the least-squares solution", dw_h, np.zeros(4), atol=1e-10)
check_close("db at the least-squares solution", db_h, 0.0, atol=1e-10)
# integer inputs: X, y, w and b all integers; the gradient is still exact in floats
X_int_h, y_int_h = np.array([[1, 2], [3, 4], [0, -1]]), np.array([1, 0, 3])
w_int_h = np.array([1, 1])
X_f, y_f = X_int_h.astype(float), y_int_h.astype(float)
residual_f = X_f @ np.array([1.0, 1.0]) + 1.0 - y_f
dw_h, db_h = gradients(X_int_h, y_int_h, w_int_h, 1)
check_close("dw for integer inputs", dw_h, X_f.T @ residual_f / 3, rtol=1e-12,
            hint="compute in floats (e.g. np.zeros(n) rather than np.zeros_like(w))")
check_close("db for integer inputs", db_h, residual_f.mean(), rtol=1e-12)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Gradient descent
#
# Gradient descent starts from initial parameters $(w_0, b_0)$ and repeats the update
#
# $$w_{k+1} = w_k - \alpha \nabla_w J(w_k, b_k), \qquad
#   b_{k+1} = b_k - \alpha \frac{\partial J}{\partial b}(w_k, b_k)$$
#
# with learning rate $\alpha$ (`lr`). We use the whole data set for every update, so one
# update is one *epoch*.
#
# Your function also records the **loss history** so that we can plot training. Define it
# precisely: `history[k]` is the loss $J(w_k, b_k)$ after $k$ updates. So `history[0]` is the
# loss at the initial parameters (before any update), `history[-1]` is the loss at the returned
# parameters, and `len(history) == num_epochs + 1`.
#
# The initial parameters default to $w_0 = 0$ and $b_0 = 0$. If the caller passes `w0`, do not
# modify it: `w = w - lr * dw` builds a new array, whereas `w -= lr * dw` would overwrite the
# caller's `w0` when `w` *is* `w0`.

# %% nbgrader=solution id=gradient_descent
def gradient_descent(X, y, lr, num_epochs, w0=None, b0=0.0):
    """Full-batch gradient descent on J(w, b) = ||X w + b - y||^2 / (2m).

    X: (m, n) data, y: (m,) targets, lr: learning rate, num_epochs: number of updates,
    w0: (n,) initial weights (zeros if None), b0: initial bias.
    Returns (w, b, history): w of shape (n,), b a float, and history a NumPy array of shape
    (num_epochs + 1,) with history[k] = J after k updates (history[0] = initial loss).
    """
    # Use your predict, mse_loss and gradients.
    ### BEGIN SOLUTION
    w = np.zeros(X.shape[1]) if w0 is None else np.array(w0, dtype=float)
    b = float(b0)
    history = [mse_loss(predict(X, w, b), y)]
    for _ in range(num_epochs):
        dw, db = gradients(X, y, w, b)
        w = w - lr * dw
        b = b - lr * db
        history.append(mse_loss(predict(X, w, b), y))
    return w, b, np.array(history)
    ### END SOLUTION


# %% nbgrader=tests id=test_gradient_descent points=30
X_small = np.array([[1.0], [2.0], [3.0]])
y_small = np.array([2.0, 4.0, 6.0])
w, b, history = gradient_descent(X_small, y_small, lr=0.1, num_epochs=2)
check_shape("history", history, (3,),
            hint="history[0] is the loss before any update, then one entry per update")
# By hand: J(0, 0) = (4 + 16 + 36) / 6 = 28/3; dw = -28/3, db = -4, so after one update
# w = 14/15 and b = 0.4, where J = 254/135.
check_close("history[0] (the initial loss)", history[0], 28 / 3,
            hint="record the loss at w0 = 0, b0 = 0 before the first update")
check_close("history[1]", history[1], 254 / 135,
            hint="after one update w = 0 - 0.1 * dw; check the sign of the update")
# The second update (same rule, gradient at the new w, b) gives w = 304/225, b = 43/75.
check_close("w after 2 updates", w, [304 / 225],
            hint="w <- w - lr * dw, b <- b - lr * db, using the gradient at the current w, b")
check_close("b after 2 updates", b, 43 / 75)
w_start = np.array([3.0])
w_start_copy = w_start.copy()
w, b, history = gradient_descent(X_small, y_small, lr=0.3, num_epochs=500, w0=w_start, b0=1.0)
check_unchanged("w0", w_start_copy, w_start, hint="use w = w - lr * dw, not w -= lr * dw")
check_close("history[0] with w0 = [3], b0 = 1", history[0], 29 / 6,
            hint="history[0] is the loss at w0, b0")
check_close("w after 500 epochs", w, [2.0], atol=1e-4, hint="the data follow y = 2x exactly")
check_close("b after 500 epochs", b, 0.0, atol=1e-4)
check_numpy_only("gradient_descent", gradient_descent)
print("gradient_descent: visible tests passed")
### BEGIN HIDDEN TESTS
import torch


def torch_descent_h(X_h, y_h, lr, num_epochs, w0_h, b0_h):
    w_t = torch.tensor(w0_h, dtype=torch.float64, requires_grad=True)
    b_t = torch.tensor(b0_h, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([w_t, b_t], lr=lr)
    losses = []
    for epoch in range(num_epochs + 1):
        optimizer.zero_grad()
        J_t = ((torch.tensor(X_h) @ w_t + b_t - torch.tensor(y_h)) ** 2).mean() / 2
        losses.append(J_t.item())
        if epoch < num_epochs:
            J_t.backward()
            optimizer.step()
    return w_t.detach().numpy(), b_t.item(), np.array(losses)


rng_h = np.random.default_rng(104)
for m, n, lr, num_epochs in [(1, 1, 0.3, 5), (20, 3, 0.1, 25), (7, 9, 0.05, 12),
                             (60, 4, 0.5, 30)]:
    X_h, y_h = rng_h.normal(size=(m, n)), rng_h.normal(size=m) + 1.5
    w0_h, b0_h = rng_h.normal(size=n), float(rng_h.normal())
    keep = X_h.copy(), y_h.copy(), w0_h.copy()
    w_ref, b_ref, losses_ref = torch_descent_h(X_h, y_h, lr, num_epochs, w0_h, b0_h)
    w_h, b_h, history_h = gradient_descent(X_h, y_h, lr, num_epochs, w0=w0_h, b0=b0_h)
    what = f"gradient_descent on a ({m}, {n}) problem, lr={lr}, {num_epochs} epochs"
    check_close(f"history of {what}", history_h, losses_ref, rtol=1e-6)
    check_close(f"w of {what}", w_h, w_ref, rtol=1e-7, atol=1e-10)
    check_close(f"b of {what}", b_h, b_ref, rtol=1e-7, atol=1e-10)
    for name, before, after in zip(("X", "y", "w0"), keep, (X_h, y_h, w0_h), strict=True):
        check_unchanged(name, before, after)
# default start (zeros) and zero epochs
X_h, y_h = rng_h.normal(size=(10, 2)), rng_h.normal(size=10)
w_ref, b_ref, losses_ref = torch_descent_h(X_h, y_h, 0.2, 6, np.zeros(2), 0.0)
w_h, b_h, history_h = gradient_descent(X_h, y_h, 0.2, 6)
check_close("history from the default start w0 = 0, b0 = 0", history_h, losses_ref, rtol=1e-6)
w_h, b_h, history_h = gradient_descent(X_h, y_h, 0.2, 0, w0=np.array([1.0, -1.0]), b0=0.5)
check_close("w after 0 epochs", w_h, [1.0, -1.0])
losses_ref = torch_descent_h(X_h, y_h, 0.2, 0, np.array([1.0, -1.0]), 0.5)[2]
check_close("history after 0 epochs", history_h, losses_ref, rtol=1e-6)
# converges to the least-squares solution
X_h, y_h = rng_h.normal(size=(80, 3)), rng_h.normal(size=80)
solution_h = np.linalg.lstsq(np.c_[X_h, np.ones(80)], y_h, rcond=None)[0]
w_h, b_h, history_h = gradient_descent(X_h, y_h, 0.3, 500)
check_close("w after 500 epochs (should reach least squares)", w_h, solution_h[:3], atol=1e-6)
check_close("b after 500 epochs (should reach least squares)", b_h, solution_h[3], atol=1e-6)
# integer data and an integer start: the updates are fractions, nothing may be truncated
X_int_h, y_int_h = np.array([[1, 0], [0, 2], [1, 1], [2, 1]]), np.array([3, 1, 2, 5])
w_ref, b_ref, losses_ref = torch_descent_h(X_int_h.astype(float), y_int_h.astype(float), 0.1, 7,
                                           np.array([1.0, -1.0]), 2.0)
w_int0_h = np.array([1, -1])
w_h, b_h, history_h = gradient_descent(X_int_h, y_int_h, 0.1, 7, w0=w_int0_h, b0=2)
check_close("w for integer data and w0 = [1, -1]", w_h, w_ref, rtol=1e-7,
            hint="start from a float copy of w0 (np.array(w0, dtype=float))")
check_close("history for integer data", history_h, losses_ref, rtol=1e-6)
check_unchanged("w0 (integers)", np.array([1, -1]), w_int0_h)
# a diverging learning rate runs every epoch (no early exit) and records every loss
X_h, y_h = rng_h.normal(size=(12, 2)), rng_h.normal(size=12)
lr_big = 2.5 / np.linalg.eigvalsh(np.c_[X_h, np.ones(12)].T @ np.c_[X_h, np.ones(12)] / 12).max()
losses_ref = torch_descent_h(X_h, y_h, lr_big, 25, np.zeros(2), 0.0)[2]
history_h = gradient_descent(X_h, y_h, lr_big, 25)[2]
check_shape("history of a diverging run (25 epochs)", history_h, (26,),
            hint="run all num_epochs updates even when the loss grows; do not stop early")
check_close("history of a diverging run", history_h, losses_ref, rtol=1e-6)
# a run that starts at the exact minimum: the loss never changes, still num_epochs + 1 entries
X_h = np.array([[1.0], [2.0], [3.0]])
w_h, b_h, history_h = gradient_descent(X_h, 2 * X_h[:, 0] + 1, 0.1, 9, w0=np.array([2.0]), b0=1.0)
check_shape("history when the start is already optimal (9 epochs)", history_h, (10,),
            hint="run all num_epochs updates even when the loss stops changing")
check_close("history when the start is already optimal", history_h, np.zeros(10), atol=1e-20)
### END HIDDEN TESTS

# %% [markdown]
# ## 5. The closed form: least squares in one step
#
# For a linear model we do not need to iterate: the minimizer of $J$ solves the **normal
# equations**. Append a column of ones to $X$ so the bias becomes one more weight,
# $A = [X \; \mathbf{1}] \in \mathbb{R}^{m \times (n+1)}$ and $\theta = (w, b)$. Setting the
# gradient $\frac1m A^\top(A\theta - y)$ to zero gives
#
# $$A^\top A\, \theta = A^\top y .$$
#
# Solve it with `np.linalg.lstsq(A, y, rcond=None)` (stable, also works when $A^\top A$ is
# singular) or `np.linalg.solve(A.T @ A, A.T @ y)`. Never form the inverse $(A^\top A)^{-1}$
# explicitly: it is slower and less accurate. Return `w` and `b` separately, like the rest of
# the lab.

# %% nbgrader=solution id=closed_form
def closed_form(X, y):
    """Least-squares parameters of the linear model y ~ X w + b.

    X: (m, n) data with m >= n + 1, y: (m,) targets.
    Returns (w, b): w of shape (n,) and b a float minimizing ||X w + b - y||^2.
    """
    ### BEGIN SOLUTION
    A = np.column_stack([X, np.ones(X.shape[0])])  # (m, n + 1)
    theta, *_ = np.linalg.lstsq(A, y, rcond=None)
    return theta[:-1], float(theta[-1])
    ### END SOLUTION


# %% nbgrader=tests id=test_closed_form points=20
X_small = np.array([[0.0], [1.0], [2.0], [3.0]])
y_small = np.array([1.0, 3.0, 5.0, 7.0])
w, b = closed_form(X_small, y_small)
try:
    np.asarray(w, dtype=float)
except (TypeError, ValueError):
    raise AssertionError(
        f"w from closed_form is not an array of numbers.\n  expected: an array of shape (1,)\n"
        f"  got:      {w!r:.120}\n  hint: np.linalg.lstsq returns a tuple (solution, residuals, "
        "rank, singular values); the solution is its first item") from None
check_shape("w from closed_form", w, (1,), hint="return w of shape (n,) and b separately")
check_close("w from closed_form", w, [2.0],
            hint="the points lie on y = 2x + 1, so w = [2] and b = 1. Got [1]? That is the "
                 "bias: b is the entry of theta that multiplies the column of ones (the last "
                 "one when you append it). Got about [2.43]? The column of ones is missing, "
                 "which forces the line through the origin")
check_close("b from closed_form", b, 1.0, hint="append a column of ones to X for the bias")
check_numpy_only("closed_form", closed_form)
print("closed_form: visible tests passed")
### BEGIN HIDDEN TESTS
rng_h = np.random.default_rng(105)
for m, n in [(2, 1), (4, 3), (30, 1), (50, 6), (200, 10)]:
    X_h = rng_h.normal(size=(m, n)) + rng_h.normal(size=n)
    y_h = rng_h.normal(size=m) * 3 + 2
    keep = X_h.copy(), y_h.copy()
    reference = np.linalg.lstsq(np.hstack([X_h, np.ones((m, 1))]), y_h, rcond=None)[0]
    w_h, b_h = closed_form(X_h, y_h)
    check_close(f"w from closed_form on a ({m}, {n}) problem", w_h, reference[:n], rtol=1e-6,
                atol=1e-8)
    check_close(f"b from closed_form on a ({m}, {n}) problem", b_h, reference[n], rtol=1e-6,
                atol=1e-8)
    check_unchanged("X", keep[0], X_h)
    check_unchanged("y", keep[1], y_h)
# noiseless data: recover the generating parameters exactly
w_true_h = np.array([1.5, -2.0, 0.25, 4.0])
X_h = rng_h.normal(size=(25, 4))
w_h, b_h = closed_form(X_h, X_h @ w_true_h - 3.0)
check_close("w recovered from noiseless data", w_h, w_true_h, atol=1e-8)
check_close("b recovered from noiseless data", b_h, -3.0, atol=1e-8)
# integer data whose least-squares line has fractional coefficients (w = 1.2, b = -0.4)
w_h, b_h = closed_form(np.array([[0], [1], [2], [3], [4]]), np.array([0, 1, 1, 3, 5]))
check_close("w from integer data", w_h, [1.2], atol=1e-10,
            hint="compute in floats: integer arrays must not truncate the solution")
check_close("b from integer data", b_h, -0.4, atol=1e-10)
### END HIDDEN TESTS

# %% [markdown]
# ## Experiment 1: gradient descent vs the closed form
#
# Both methods minimize the same $J$, so on a well-behaved problem they must agree. First on
# synthetic data $y = Xw + b + \text{noise}$ with known $w = (2, -1, 0.5)$ and $b = 1$
# (`course.data.make_linear`), then on the diabetes data set (442 patients, 10 standardized
# features such as age, BMI and blood pressure; the target is a disease-progression score).

# %% nbgrader=locked id=experiment_compare
from course import data


def comparison_row(name, w, b, X, y):
    loss = mse_loss(predict(X, w, b), y)
    weights = " ".join(f"{v:8.3f}" for v in w[:4]) + (" ..." if len(w) > 4 else "")
    print(f"{name:<24} J = {loss:12.4f}   b = {b:8.3f}   w = {weights}")


X_lin, y_lin = data.make_linear(n=200, d=3, w=[2.0, -1.0, 0.5], b=1.0, noise=0.5, seed=1)
w_gd, b_gd, history_lin = gradient_descent(X_lin, y_lin, lr=0.1, num_epochs=300)
w_cf, b_cf = closed_form(X_lin, y_lin)
print("Synthetic data, 200 examples, 3 features")
comparison_row("generating parameters", np.array([2.0, -1.0, 0.5]), 1.0, X_lin, y_lin)
comparison_row("closed form", w_cf, b_cf, X_lin, y_lin)
comparison_row("gradient descent (300)", w_gd, b_gd, X_lin, y_lin)

X_dia, y_dia = data.load_diabetes(standardize=True)
w_cf, b_cf = closed_form(X_dia, y_dia)
print("\nDiabetes, 442 patients, 10 standardized features")
comparison_row("closed form", w_cf, b_cf, X_dia, y_dia)
for num_epochs in (10, 100, 1000, 3000):
    w_gd, b_gd, _ = gradient_descent(X_dia, y_dia, lr=0.4, num_epochs=num_epochs)
    comparison_row(f"gradient descent ({num_epochs})", w_gd, b_gd, X_dia, y_dia)
    print(f"{'':<24} largest |w_gd - w_cf| = {np.abs(w_gd - w_cf).max():.4f}")

# %% [markdown]
# On the synthetic data both methods land close to the generating parameters (the noise keeps
# them from being exact) and agree with each other to the printed digits. On diabetes, look at
# the two columns separately: the loss of gradient descent gets close to the minimum within
# about a hundred epochs, but the weights keep moving for much longer. The reason is the shape
# of $J$: several diabetes features (the blood-serum measurements) are strongly correlated, so
# $J$ is a long, nearly flat valley in some directions. The curvatures of $J$ in $w$ are the
# eigenvalues $\lambda$ of $\frac1m X^\top X$. Along the direction of curvature $\lambda$, one
# step multiplies the distance to the minimum by $1 - \alpha\lambda$: the flattest direction
# sets the pace.

# %% nbgrader=locked id=experiment_curvature
curvatures = np.linalg.eigvalsh(X_dia.T @ X_dia / len(y_dia))
print(f"curvatures of J on diabetes: largest {curvatures.max():.3f}, "
      f"smallest {curvatures.min():.4f}, ratio {curvatures.max() / curvatures.min():.0f}")
print(f"gradient descent is stable for lr < 2 / largest curvature = {2 / curvatures.max():.3f}")
factor = 1 - 0.4 * curvatures.min()
print(f"with lr = 0.4, each epoch multiplies the error along the flattest direction by "
      f"{factor:.4f}: {np.log(1e-3) / np.log(factor):.0f} epochs to shrink it 1000 times")

# %% [markdown]
# ## Experiment 2: the learning rate
#
# Gradient descent on a quadratic converges when the learning rate is below
# $2/\lambda_{\max}$, where $\lambda_{\max}$ is the largest curvature printed above; past that
# threshold every step overshoots the valley by more than it corrects, and the loss grows
# geometrically. Below it, a larger learning rate is faster — until it is close to the edge.
# The sweep includes one learning rate 5% above the threshold.

# %% nbgrader=locked id=experiment_lr_sweep
import matplotlib.pyplot as plt

threshold = 2 / curvatures.max()
fig, ax = plt.subplots(figsize=(7, 4))
for lr in (0.01, 0.05, 0.2, 0.45, 1.05 * threshold):
    _, _, history = gradient_descent(X_dia, y_dia, lr=lr, num_epochs=100)
    ax.semilogy(history, label=f"lr = {lr:.3g}" + (" (diverges)" if lr > threshold else ""))
    print(f"lr = {lr:6.3f}: J after 100 epochs = {history[-1]:.4g}")
ax.axhline(mse_loss(predict(X_dia, w_cf, b_cf), y_dia), color="k", ls=":",
           label="closed-form minimum")
ax.set_xlabel("epoch")
ax.set_ylabel("J (log scale)")
ax.set_title("Gradient descent on diabetes: learning-rate sweep")
ax.legend()
plt.show()

# %% [markdown]
# Questions to think about (not graded):
# - Why does the bias converge in a few epochs while some weights take thousands? (Hint: the
#   features are standardized, so they have mean 0.)
# - What happens to the diverging curve if you run it for 1000 epochs? Why is a NaN a sign of
#   a learning rate that is too large rather than a bug in the gradient?
# - The closed form costs about $m n^2 + n^3$ operations. For which sizes would you still prefer
#   gradient descent?
