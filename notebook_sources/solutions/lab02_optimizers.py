# %% [markdown]
# # Lab 02 — Optimizers: from SGD to Adam
#
# Every network in this course is trained by the same loop: compute the gradient of the loss,
# then let an **update rule** decide how to move the parameters. In this lab you write the six
# update rules that PyTorch ships in `torch.optim` and that you will use for the rest of the
# course — SGD, momentum, Nesterov momentum, Adagrad, RMSprop and Adam — plus the shuffled
# mini-batch iterator that feeds stochastic gradient descent. Your rules must agree with
# `torch.optim` to many digits: the hidden tests run them side by side for dozens of steps.
# At the end you race all six on two classic test surfaces and watch what the batch size does
# to training.
#
# How a lab works:
# 1. Run the setup cell below.
# 2. In each cell marked `# YOUR CODE HERE`, replace the `raise NotImplementedError(...)` line
#    with your code. Keep the function names and signatures.
# 3. Run the test cell after each function. A failing test tells you what it expected, what
#    your code gave, and a hint. When you submit, hidden tests check more cases.
# 4. Do not change the locked cells.
#
# Points: `sgd_step` 5, `momentum_step` 15, `nesterov_step` 15, `adagrad_step` 15,
# `rmsprop_step` 15, `adam_step` 20, `minibatches` 15.

# %% setup

# %% nbgrader=locked id=imports
import copy

import numpy as np
import torch

from course.grading import check_close, check_numpy_only, check_shape, check_type, check_unchanged

# %% [markdown]
# ## The interface: update rules as pure functions
#
# An update rule takes the parameters `w` (an array of any shape), their gradient `dw` (same
# shape), a dictionary `state` with whatever the rule remembers between steps (a velocity, a
# running average, a step counter), and its hyperparameters. It returns the new parameters and
# the new state:
#
# ```python
# state = {}                      # empty before the first step
# for step in range(num_steps):
#     w, state = adam_step(w, grad(w), state, lr=0.01)
# ```
#
# Three rules of the game:
# - **Nothing is modified in place.** Do not change `w`, `dw`, the `state` dictionary or the
#   arrays inside it: build new arrays (`w - lr * dw`, not `w -= lr * dw`) and return a new
#   dictionary (`{**state, "velocity": b}` or `dict(state, velocity=b)`). Pure functions can
#   be replayed, compared and debugged; this is also how JAX's optimizers work. (PyTorch keeps
#   the same state inside the optimizer object, in `optimizer.state`.)
# - **The first call gets `state = {}`.** Start every stored quantity at zero (of the shape of
#   `w`: `np.zeros(np.shape(w))`) when its key is missing. The key names are yours to choose.
# - **Integers are allowed.** `w` and `dw` may be integer arrays; compute in floating point and
#   return floats (an integer array updated in place would truncate, or raise).
# - **The formulas are PyTorch's**, written out below; where textbooks differ from PyTorch
#   (where the learning rate sits in momentum, where $\varepsilon$ goes), follow these.
#
# All operations are **elementwise**: $g^2$ means `dw * dw`, and $\sqrt{s}$ means `np.sqrt(s)`.
# We write $\eta$ for the learning rate `lr` and $g$ for the gradient `dw`.
#
# The next cell defines two helpers used by the tests. `run_rule` runs your rule for several
# steps from `state = {}` and checks at every step that nothing was modified in place.
# `torch_run` runs the same steps with a `torch.optim` optimizer: use it to debug (compare the
# two paths step by step).

# %% nbgrader=locked id=helpers
def _equal(a, b):
    try:  # a nan stored in the state is still "unchanged" if it is still there
        return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)
    except TypeError:  # values that are not numbers
        return np.array_equal(np.asarray(a), np.asarray(b))


def _same_state(before, after):
    if set(before) != set(after):
        return False
    return all(_equal(before[k], after[k]) for k in before)


def run_rule(step, w0, grads, num_steps=None, lr_schedule=None, **hyper):
    """Run `step` from `w0` with `state = {}`: returns the parameters after each step.

    grads: a list of gradients, one per step, or a function `grad(w)` (then give num_steps).
    lr_schedule: optional list of learning rates, one per step (as a scheduler sets them).
    Returns an array of shape (num_steps, *w0.shape). Fails if an input is modified in place.
    """
    w, state, path = np.array(w0, dtype=np.float64), {}, []
    for k in range(num_steps if callable(grads) else len(grads)):
        dw = np.array(grads(w) if callable(grads) else grads[k], dtype=np.float64)
        w_before, dw_before, state_before = w.copy(), dw.copy(), copy.deepcopy(state)
        if lr_schedule is not None:
            hyper["lr"] = lr_schedule[k]
        result = step(w, dw, state, **hyper)
        check_type(f"what {step.__name__} returns", result, tuple,
                   hint="return a pair: (new_w, new_state)")
        check_unchanged(f"w passed to {step.__name__} at step {k + 1}", w_before, w,
                        hint="build a new array: w - lr * ..., not w -= lr * ...")
        check_unchanged(f"dw passed to {step.__name__} at step {k + 1}", dw_before, dw)
        if not _same_state(state_before, state):
            raise AssertionError(
                f"{step.__name__} modified the state dictionary it was given at step {k + 1}.\n"
                "  hint: return a new dict, e.g. {**state, 'velocity': new_velocity}, and build "
                "new arrays instead of updating the stored ones with *=, += or [...] =")
        if len(result) != 2:
            raise AssertionError(
                f"{step.__name__} returned a tuple of {len(result)} items.\n"
                "  hint: return a pair: (new_w, new_state)")
        w, state = result
        check_shape(f"new w returned by {step.__name__}", w, w_before.shape)
        check_type(f"new state returned by {step.__name__}", state, dict,
                   hint="return (new_w, new_state) in this order")
        if not np.all(np.isfinite(w)):
            raise AssertionError(
                f"{step.__name__} returned nan or inf at step {k + 1}.\n"
                f"  got:      {w}\n"
                "  hint: look for a division by zero (a denominator that is 0 at the first "
                "step?) or the square root of a negative number")
        path.append(np.array(w, dtype=np.float64))
    return np.array(path)


def integer_steps(step, **hyper):
    """Two steps of `step` from the integer w0 = [3, -2, 0]: first with the gradient
    [0.5, 2, -1.5], then with the integer gradient [1, 2, -1]. Returns the parameters after
    each step, shape (2, 3)."""
    w, state, path = np.array([3, -2, 0]), {}, []
    for dw in (np.array([0.5, 2.0, -1.5]), np.array([1, 2, -1])):
        w, state = step(w, dw, state, **hyper)
        path.append(np.array(w, dtype=np.float64))
    return np.array(path)


def torch_run(optimizer_class, w0, grads, num_steps=None, lr_schedule=None, **hyper):
    """The same steps as run_rule, taken by a torch.optim optimizer in float64."""
    p = torch.tensor(np.array(w0, dtype=np.float64), requires_grad=True)
    if lr_schedule is not None:
        hyper["lr"] = lr_schedule[0]
    optimizer = optimizer_class([p], **hyper)
    path = []
    for k in range(num_steps if callable(grads) else len(grads)):
        if lr_schedule is not None:
            optimizer.param_groups[0]["lr"] = lr_schedule[k]
        g = grads(p.detach().numpy().copy()) if callable(grads) else grads[k]
        p.grad = torch.tensor(np.array(g, dtype=np.float64))
        optimizer.step()
        path.append(p.detach().numpy().copy())
    return np.array(path)


# %% [markdown]
# ## 1. Stochastic gradient descent
#
# The plain rule moves against the gradient, and remembers nothing:
#
# $$w \leftarrow w - \eta\, g .$$
#
# It is "stochastic" when $g$ is computed on a random mini-batch (section 7); the rule itself is
# the same. Return the state unchanged (it stays empty).

# %% nbgrader=solution id=sgd_step
def sgd_step(w, dw, state, lr):
    """One SGD step. w, dw: arrays of the same shape; state: dict (unused); lr: float.

    Returns (new_w, new_state).
    """
    ### BEGIN SOLUTION
    return w - lr * dw, state
    ### END SOLUTION


# %% nbgrader=tests id=test_sgd_step points=5
result = sgd_step(np.array([1.0, -2.0]), np.array([0.5, 1.0]), {}, lr=0.1)
check_type("what sgd_step returns", result, tuple, hint="return a pair: (new_w, new_state)")
new_w, new_state = result
check_type("the first item sgd_step returns", new_w, np.ndarray,
           hint="return (new_w, new_state) in this order")
check_close("sgd_step([1, -2], dw=[0.5, 1], lr=0.1)", new_w, [0.95, -2.1],
            hint="w - lr * dw: move against the gradient")
path = run_rule(sgd_step, [1.0, -2.0], [np.array([0.5, 1.0])] * 3, lr=0.1)
check_close("three SGD steps with the same gradient", path[-1], [0.85, -2.3])
check_numpy_only("sgd_step", sgd_step)
print("sgd_step: visible tests passed")
### BEGIN HIDDEN TESTS
rng_h = np.random.default_rng(201)
for shape, lr in [((3, 4), 0.05), ((1,), 0.7), ((6,), 1e-3)]:
    w0_h = rng_h.normal(size=shape)
    grads_h = list(rng_h.normal(size=(25, *shape)))
    check_close(f"25 SGD steps on shape {shape}, lr={lr}", run_rule(sgd_step, w0_h, grads_h, lr=lr),
                torch_run(torch.optim.SGD, w0_h, grads_h, lr=lr), rtol=1e-5, atol=1e-6)
check_close("two sgd_step steps from the integer w0 = [3, -2, 0]",
            integer_steps(sgd_step, lr=0.25),
            torch_run(torch.optim.SGD, [3.0, -2.0, 0.0], [np.array([0.5, 2.0, -1.5]), np.array([1.0, 2.0, -1.0])], lr=0.25), rtol=1e-6, atol=1e-9,
            hint="integer inputs are allowed: compute in floats (no in-place update of an "
                 "integer array)")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Momentum
#
# SGD zig-zags across narrow valleys and crawls along flat ones. Momentum keeps a running sum of
# past gradients, the *velocity* (PyTorch calls it the momentum buffer) $b$, starting at
# $b = 0$:
#
# $$b \leftarrow \mu\, b + g, \qquad w \leftarrow w - \eta\, b .$$
#
# Gradients that keep pointing the same way add up (with constant $g$, $b$ grows towards
# $g / (1 - \mu)$: ten times larger for $\mu = 0.9$); gradients that flip sign cancel. Store $b$
# in the state, or the next step forgets it.
#
# (Many texts write $v \leftarrow \mu v - \eta g,\ w \leftarrow w + v$. With a constant learning
# rate this is the same rule with $v = -\eta b$; PyTorch's form keeps $\eta$ out of the buffer,
# so changing the learning rate mid-training behaves better. The hidden tests change it
# mid-run, as a learning-rate scheduler does: use PyTorch's form, here and in section 3.)

# %% nbgrader=solution id=momentum_step
def momentum_step(w, dw, state, lr, mu=0.9):
    """One step of SGD with momentum (PyTorch's form).

    w, dw: arrays of the same shape; state: dict (empty at the first step); lr: float;
    mu: momentum coefficient. Returns (new_w, new_state).
    """
    ### BEGIN SOLUTION
    velocity = mu * state.get("velocity", np.zeros_like(w)) + dw
    return w - lr * velocity, {**state, "velocity": velocity}
    ### END SOLUTION


# %% nbgrader=tests id=test_momentum_step points=15
# With the constant gradient g = [1, 2], mu = 0.9 and lr = 0.1:
# step 1: b = g = [1, 2],              w = [1, -2] - 0.1 * [1, 2]   = [0.9, -2.2]
# step 2: b = 0.9 * b + g = [1.9, 3.8], w = [0.9, -2.2] - 0.1 * b  = [0.71, -2.58]
path = run_rule(momentum_step, [1.0, -2.0], [np.array([1.0, 2.0])] * 2, lr=0.1, mu=0.9)
check_close("w after 1 momentum step", path[0], [0.9, -2.2],
            hint="at the first step the velocity is 0, so b = g")
check_close("w after 2 momentum steps", path[1], [0.71, -2.58],
            hint="b = mu * b + g, then w - lr * b; keep b in the returned state")
path = run_rule(momentum_step, [0.0], [np.array([1.0])] * 3, lr=1.0, mu=0.5)
check_close("3 steps with mu = 0.5 (b = 1, 1.5, 1.75)", path[:, 0], [-1.0, -2.5, -4.25],
            hint="use the mu argument, not a fixed 0.9")
# A learning rate that drops from 0.1 to 0.01 at step 2, as a scheduler does (g = 1, mu = 0.9):
# step 1: b = 1, w = -0.1;  step 2: b = 1.9, w = -0.1 - 0.01 * 1.9 = -0.119
path = run_rule(momentum_step, [0.0], [np.array([1.0])] * 2, lr_schedule=[0.1, 0.01], mu=0.9)
check_close("2 momentum steps with lr = 0.1, then 0.01", path[:, 0], [-0.1, -0.119],
            hint="keep lr out of the velocity (PyTorch's form): b = mu * b + g, then "
                 "w - lr * b with the current lr")
check_numpy_only("momentum_step", momentum_step)
print("momentum_step: visible tests passed")
### BEGIN HIDDEN TESTS
rng_h = np.random.default_rng(202)
for shape, lr, mu in [((3, 4), 0.05, 0.9), ((1,), 0.3, 0.5), ((7,), 0.01, 0.99)]:
    w0_h = rng_h.normal(size=shape)
    grads_h = list(rng_h.normal(size=(25, *shape)))
    check_close(f"25 momentum steps on shape {shape}, lr={lr}, mu={mu}",
                run_rule(momentum_step, w0_h, grads_h, lr=lr, mu=mu),
                torch_run(torch.optim.SGD, w0_h, grads_h, lr=lr, momentum=mu),
                rtol=1e-5, atol=1e-6)
w0_h = rng_h.normal(size=5)
grads_h = list(rng_h.normal(size=(30, 5)))
check_close("30 momentum steps with the default mu",
            run_rule(momentum_step, w0_h, grads_h, lr=0.02),
            torch_run(torch.optim.SGD, w0_h, grads_h, lr=0.02, momentum=0.9),
            rtol=1e-5, atol=1e-6)
curvature_h = np.array([1.0, 20.0])
check_close("40 momentum steps on a quadratic (gradient depends on w)",
            run_rule(momentum_step, [2.0, 1.0], lambda v: curvature_h * v, 40, lr=0.04, mu=0.8),
            torch_run(torch.optim.SGD, [2.0, 1.0], lambda v: curvature_h * v, 40, lr=0.04,
                      momentum=0.8), rtol=1e-5, atol=1e-6)
# PyTorch keeps lr out of the velocity, so a learning-rate schedule changes the step at once;
# the textbook form v = mu * v - lr * g (lr inside the velocity) agrees only while lr is fixed.
w0_h = rng_h.normal(size=4)
grads_h = list(rng_h.normal(size=(20, 4)))
lrs_h = [0.1] * 10 + [0.01] * 10
check_close("20 momentum steps whose learning rate drops from 0.1 to 0.01 after 10 steps",
            run_rule(momentum_step, w0_h, grads_h, lr_schedule=lrs_h, mu=0.9),
            torch_run(torch.optim.SGD, w0_h, grads_h, lr_schedule=lrs_h, momentum=0.9),
            rtol=1e-5, atol=1e-6,
            hint="keep lr out of the velocity, as PyTorch does: b = mu * b + g, then w - lr * b")
check_close("two momentum_step steps from the integer w0 = [3, -2, 0]",
            integer_steps(momentum_step, lr=0.5, mu=0.9),
            torch_run(torch.optim.SGD, [3.0, -2.0, 0.0], [np.array([0.5, 2.0, -1.5]), np.array([1.0, 2.0, -1.0])], lr=0.5, momentum=0.9), rtol=1e-6, atol=1e-9,
            hint="integer inputs are allowed: compute in floats (no in-place update of an "
                 "integer array)")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Nesterov momentum
#
# Nesterov's accelerated gradient looks ahead: it evaluates the gradient where momentum is
# about to carry the parameters. PyTorch implements an equivalent form that needs only the
# gradient at the current point: update the velocity as before, then step along the gradient
# *plus* the (already updated) velocity scaled by $\mu$:
#
# $$b \leftarrow \mu\, b + g, \qquad w \leftarrow w - \eta\,(g + \mu\, b) .$$
#
# The velocity starts at 0 and is stored in the state, as for momentum.

# %% nbgrader=solution id=nesterov_step
def nesterov_step(w, dw, state, lr, mu=0.9):
    """One step of SGD with Nesterov momentum (PyTorch's form).

    w, dw: arrays of the same shape; state: dict (empty at the first step); lr: float;
    mu: momentum coefficient. Returns (new_w, new_state).
    """
    ### BEGIN SOLUTION
    velocity = mu * state.get("velocity", np.zeros_like(w)) + dw
    return w - lr * (dw + mu * velocity), {**state, "velocity": velocity}
    ### END SOLUTION


# %% nbgrader=tests id=test_nesterov_step points=15
# With the constant gradient g = [1, 2], mu = 0.9 and lr = 0.1:
# step 1: b = [1, 2],     step g + mu * b = [1.9, 3.8],   w = [0.81, -2.38]
# step 2: b = [1.9, 3.8], step g + mu * b = [2.71, 5.42], w = [0.539, -2.922]
path = run_rule(nesterov_step, [1.0, -2.0], [np.array([1.0, 2.0])] * 2, lr=0.1, mu=0.9)
check_close("w after 1 Nesterov step", path[0], [0.81, -2.38],
            hint="the step is g + mu * b with the velocity b already updated (b = g at first)")
check_close("w after 2 Nesterov steps", path[1], [0.539, -2.922],
            hint="b = mu * b + g; w - lr * (g + mu * b); keep b in the returned state")
# A learning rate that drops from 0.1 to 0.01 at step 2 (g = 1, mu = 0.9):
# step 1: b = 1, w = -0.1 * 1.9 = -0.19;  step 2: b = 1.9, w = -0.19 - 0.01 * 2.71 = -0.2171
path = run_rule(nesterov_step, [0.0], [np.array([1.0])] * 2, lr_schedule=[0.1, 0.01], mu=0.9)
check_close("2 Nesterov steps with lr = 0.1, then 0.01", path[:, 0], [-0.19, -0.2171],
            hint="keep lr out of the velocity (PyTorch's form): b = mu * b + g, then "
                 "w - lr * (g + mu * b) with the current lr")
check_numpy_only("nesterov_step", nesterov_step)
print("nesterov_step: visible tests passed")
### BEGIN HIDDEN TESTS
rng_h = np.random.default_rng(203)
for shape, lr, mu in [((3, 4), 0.05, 0.9), ((1,), 0.3, 0.5), ((7,), 0.01, 0.99)]:
    w0_h = rng_h.normal(size=shape)
    grads_h = list(rng_h.normal(size=(25, *shape)))
    check_close(f"25 Nesterov steps on shape {shape}, lr={lr}, mu={mu}",
                run_rule(nesterov_step, w0_h, grads_h, lr=lr, mu=mu),
                torch_run(torch.optim.SGD, w0_h, grads_h, lr=lr, momentum=mu, nesterov=True),
                rtol=1e-5, atol=1e-6)
w0_h = rng_h.normal(size=5)
grads_h = list(rng_h.normal(size=(30, 5)))
check_close("30 Nesterov steps with the default mu",
            run_rule(nesterov_step, w0_h, grads_h, lr=0.02),
            torch_run(torch.optim.SGD, w0_h, grads_h, lr=0.02, momentum=0.9, nesterov=True),
            rtol=1e-5, atol=1e-6)
curvature_h = np.array([1.0, 20.0])
check_close("40 Nesterov steps on a quadratic (gradient depends on w)",
            run_rule(nesterov_step, [2.0, 1.0], lambda v: curvature_h * v, 40, lr=0.04, mu=0.8),
            torch_run(torch.optim.SGD, [2.0, 1.0], lambda v: curvature_h * v, 40, lr=0.04,
                      momentum=0.8, nesterov=True), rtol=1e-5, atol=1e-6)
# PyTorch keeps lr out of the velocity, so a learning-rate schedule changes the step at once;
# the textbook form v = mu * v - lr * g (lr inside the velocity) agrees only while lr is fixed.
w0_h = rng_h.normal(size=4)
grads_h = list(rng_h.normal(size=(20, 4)))
lrs_h = [0.1] * 10 + [0.01] * 10
check_close("20 Nesterov steps whose learning rate drops from 0.1 to 0.01 after 10 steps",
            run_rule(nesterov_step, w0_h, grads_h, lr_schedule=lrs_h, mu=0.9),
            torch_run(torch.optim.SGD, w0_h, grads_h, lr_schedule=lrs_h, momentum=0.9,
                      nesterov=True), rtol=1e-5, atol=1e-6,
            hint="keep lr out of the velocity, as PyTorch does: b = mu * b + g, then w - lr * (g + mu * b)")
check_close("two nesterov_step steps from the integer w0 = [3, -2, 0]",
            integer_steps(nesterov_step, lr=0.5, mu=0.9),
            torch_run(torch.optim.SGD, [3.0, -2.0, 0.0], [np.array([0.5, 2.0, -1.5]), np.array([1.0, 2.0, -1.0])], lr=0.5, momentum=0.9, nesterov=True), rtol=1e-6, atol=1e-9,
            hint="integer inputs are allowed: compute in floats (no in-place update of an "
                 "integer array)")
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Adagrad
#
# Momentum uses one learning rate for every parameter. Adaptive methods give each parameter its
# own: parameters with large past gradients take smaller steps. Adagrad divides by the root of
# the **sum** of all past squared gradients $s$ (starting at $s = 0$):
#
# $$s \leftarrow s + g^2, \qquad w \leftarrow w - \eta\, \frac{g}{\sqrt{s} + \varepsilon} .$$
#
# Note where $\varepsilon$ (default $10^{-10}$) goes: **outside** the square root, as in
# PyTorch. It only matters when gradients are tiny — which is exactly when it matters most.
# Because $s$ only grows, Adagrad's steps shrink forever.

# %% nbgrader=solution id=adagrad_step
def adagrad_step(w, dw, state, lr, eps=1e-10):
    """One Adagrad step (PyTorch's form).

    w, dw: arrays of the same shape; state: dict (empty at the first step); lr: float;
    eps: added to the square root. Returns (new_w, new_state).
    """
    ### BEGIN SOLUTION
    sum_sq = state.get("sum_sq", np.zeros_like(w)) + dw * dw
    return w - lr * dw / (np.sqrt(sum_sq) + eps), {**state, "sum_sq": sum_sq}
    ### END SOLUTION


# %% nbgrader=tests id=test_adagrad_step points=15
# lr = 0.1; step 1: g = [3, 4], s = [9, 16], g / sqrt(s) = [1, 1], w = [0.9, -2.1]
#           step 2: g = [4, 3], s = [25, 25], g / sqrt(s) = [0.8, 0.6], w = [0.82, -2.16]
path = run_rule(adagrad_step, [1.0, -2.0], [np.array([3.0, 4.0]), np.array([4.0, 3.0])],
                lr=0.1)
check_close("w after 1 Adagrad step", path[0], [0.9, -2.1],
            hint="s = g * g at the first step, then w - lr * g / (sqrt(s) + eps)")
check_close("w after 2 Adagrad steps", path[1], [0.82, -2.16],
            hint="s is the SUM of all squared gradients so far; keep it in the returned state")
# A tiny gradient g = 1e-10 shows where eps goes: sqrt(s) = 1e-10, + eps = 2e-10, step = 0.5 lr
path = run_rule(adagrad_step, [1.0], [np.array([1e-10])], lr=0.1)
check_close("Adagrad step with g = 1e-10", path[0], [0.95],
            hint="eps goes outside the square root: g / (sqrt(s) + eps)")
check_numpy_only("adagrad_step", adagrad_step)
print("adagrad_step: visible tests passed")
### BEGIN HIDDEN TESTS
rng_h = np.random.default_rng(204)
for shape, lr, eps, scale in [((3, 4), 0.1, 1e-10, 1.0), ((1,), 0.5, 1e-10, 1e-4),
                              ((6,), 0.05, 0.1, 1.0), ((5,), 0.1, 1e-10, 1e-3)]:
    w0_h = rng_h.normal(size=shape)
    grads_h = list(scale * rng_h.normal(size=(25, *shape)))
    check_close(f"25 Adagrad steps on shape {shape}, lr={lr}, eps={eps}, |g| ~ {scale}",
                run_rule(adagrad_step, w0_h, grads_h, lr=lr, eps=eps),
                torch_run(torch.optim.Adagrad, w0_h, grads_h, lr=lr, eps=eps),
                rtol=1e-5, atol=1e-6)
w0_h = rng_h.normal(size=4)
grads_h = list(1e-5 * rng_h.normal(size=(20, 4)))
check_close("20 Adagrad steps with the default eps and tiny gradients",
            run_rule(adagrad_step, w0_h, grads_h, lr=0.1),
            torch_run(torch.optim.Adagrad, w0_h, grads_h, lr=0.1), rtol=1e-5, atol=1e-6)
curvature_h = np.array([1.0, 20.0])
check_close("40 Adagrad steps on a quadratic (gradient depends on w)",
            run_rule(adagrad_step, [2.0, 1.0], lambda v: curvature_h * v, 40, lr=0.5),
            torch_run(torch.optim.Adagrad, [2.0, 1.0], lambda v: curvature_h * v, 40, lr=0.5),
            rtol=1e-5, atol=1e-6)
check_close("two adagrad_step steps from the integer w0 = [3, -2, 0]",
            integer_steps(adagrad_step, lr=0.5),
            torch_run(torch.optim.Adagrad, [3.0, -2.0, 0.0], [np.array([0.5, 2.0, -1.5]), np.array([1.0, 2.0, -1.0])], lr=0.5, eps=1e-10), rtol=1e-6, atol=1e-9,
            hint="integer inputs are allowed: compute in floats (no in-place update of an "
                 "integer array)")
### END HIDDEN TESTS

# %% [markdown]
# ## 5. RMSprop
#
# RMSprop fixes Adagrad's ever-shrinking steps by replacing the sum with an exponential
# moving average of squared gradients, with smoothing constant $\alpha$ (default 0.99), starting
# at $s = 0$:
#
# $$s \leftarrow \alpha\, s + (1 - \alpha)\, g^2, \qquad
#   w \leftarrow w - \eta\, \frac{g}{\sqrt{s} + \varepsilon} .$$
#
# Again $\varepsilon$ (default $10^{-8}$) goes outside the square root. Note that RMSprop has
# no bias correction: at the first step $s = (1 - \alpha) g^2$ is small, so the first steps
# are large ($1/\sqrt{1 - \alpha} = 10$ times $\eta$ for $\alpha = 0.99$). Adam fixes that.

# %% nbgrader=solution id=rmsprop_step
def rmsprop_step(w, dw, state, lr, alpha=0.99, eps=1e-8):
    """One RMSprop step (PyTorch's form, no momentum, not centred).

    w, dw: arrays of the same shape; state: dict (empty at the first step); lr: float;
    alpha: smoothing constant of the squared-gradient average; eps: added to the square root.
    Returns (new_w, new_state).
    """
    ### BEGIN SOLUTION
    square_avg = alpha * state.get("square_avg", np.zeros_like(w)) + (1 - alpha) * dw * dw
    return w - lr * dw / (np.sqrt(square_avg) + eps), {**state, "square_avg": square_avg}
    ### END SOLUTION


# %% nbgrader=tests id=test_rmsprop_step points=15
# alpha = 0.5, lr = 0.1, constant g = [2, -2]:
# step 1: s = 0.5 * 0 + 0.5 * 4 = 2,  w = [1, -2] - 0.1 * g / sqrt(2)
# step 2: s = 0.5 * 2 + 0.5 * 4 = 3,  w = (step 1) - 0.1 * g / sqrt(3)
g_small = np.array([2.0, -2.0])
path = run_rule(rmsprop_step, [1.0, -2.0], [g_small] * 2, lr=0.1, alpha=0.5)
check_close("w after 1 RMSprop step (alpha = 0.5)", path[0],
            [1.0 - 0.2 / np.sqrt(2), -2.0 + 0.2 / np.sqrt(2)],
            hint="s = alpha * s + (1 - alpha) * g * g, starting from s = 0")
check_close("w after 2 RMSprop steps (alpha = 0.5)", path[1],
            path[0] - 0.1 * g_small / np.sqrt(3), hint="keep s in the returned state")
# With the default alpha = 0.99 the first step is 10 times lr: s = 0.01 g^2, sqrt(s) = 0.1 |g|
path = run_rule(rmsprop_step, [1.0, -2.0], [g_small], lr=0.01)
check_close("w after 1 RMSprop step (default alpha)", path[0], [0.9, -1.9],
            hint="with alpha = 0.99 the first s is 0.01 * g * g: alpha weighs the old s, "
                 "(1 - alpha) the new g * g")
# A tiny gradient g = 1e-7 shows where eps goes: sqrt(s) = 1e-8, + eps = 2e-8, step = 5 lr
path = run_rule(rmsprop_step, [1.0], [np.array([1e-7])], lr=0.01)
check_close("RMSprop step with g = 1e-7", path[0], [0.95],
            hint="eps goes outside the square root: g / (sqrt(s) + eps)")
check_numpy_only("rmsprop_step", rmsprop_step)
print("rmsprop_step: visible tests passed")
### BEGIN HIDDEN TESTS
rng_h = np.random.default_rng(205)
for shape, lr, alpha, eps, scale in [((3, 4), 0.01, 0.99, 1e-8, 1.0), ((1,), 0.05, 0.9, 1e-8, 1e-4),
                                     ((6,), 0.01, 0.5, 0.1, 1.0), ((5,), 0.02, 0.99, 1e-8, 1e-6)]:
    w0_h = rng_h.normal(size=shape)
    grads_h = list(scale * rng_h.normal(size=(25, *shape)))
    check_close(f"25 RMSprop steps on shape {shape}, lr={lr}, alpha={alpha}, eps={eps}, "
                f"|g| ~ {scale}",
                run_rule(rmsprop_step, w0_h, grads_h, lr=lr, alpha=alpha, eps=eps),
                torch_run(torch.optim.RMSprop, w0_h, grads_h, lr=lr, alpha=alpha, eps=eps),
                rtol=1e-5, atol=1e-6)
curvature_h = np.array([1.0, 20.0])
check_close("40 RMSprop steps on a quadratic (gradient depends on w)",
            run_rule(rmsprop_step, [2.0, 1.0], lambda v: curvature_h * v, 40, lr=0.05),
            torch_run(torch.optim.RMSprop, [2.0, 1.0], lambda v: curvature_h * v, 40, lr=0.05),
            rtol=1e-5, atol=1e-6)
check_close("two rmsprop_step steps from the integer w0 = [3, -2, 0]",
            integer_steps(rmsprop_step, lr=0.05),
            torch_run(torch.optim.RMSprop, [3.0, -2.0, 0.0], [np.array([0.5, 2.0, -1.5]), np.array([1.0, 2.0, -1.0])], lr=0.05), rtol=1e-6, atol=1e-9,
            hint="integer inputs are allowed: compute in floats (no in-place update of an "
                 "integer array)")
### END HIDDEN TESTS

# %% [markdown]
# ## 6. Adam
#
# Adam combines momentum (a moving average $m$ of gradients) with RMSprop (a moving average
# $v$ of squared gradients), and corrects both for starting at zero. With a step counter $t$
# that is 0 before the first step, each step does
#
# $$t \leftarrow t + 1, \qquad
#   m \leftarrow \beta_1 m + (1 - \beta_1)\, g, \qquad
#   v \leftarrow \beta_2 v + (1 - \beta_2)\, g^2,$$
#
# $$\hat m = \frac{m}{1 - \beta_1^{\,t}}, \qquad \hat v = \frac{v}{1 - \beta_2^{\,t}}, \qquad
#   w \leftarrow w - \eta\, \frac{\hat m}{\sqrt{\hat v} + \varepsilon} .$$
#
# The bias correction uses the count **after** incrementing: at the first step $t = 1$, so
# $\hat m = g$ and $\hat v = g^2$ exactly and the first step has length $\eta$ in every
# coordinate. Store $m$, $v$ and $t$ (not $\hat m$ and $\hat v$) in the state. Defaults:
# $\beta_1 = 0.9$, $\beta_2 = 0.999$, $\varepsilon = 10^{-8}$, outside the square root.

# %% nbgrader=solution id=adam_step
def adam_step(w, dw, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam step with bias correction (PyTorch's form, no weight decay, no amsgrad).

    w, dw: arrays of the same shape; state: dict (empty at the first step); lr: float;
    beta1, beta2: decay rates of the two averages; eps: added to the square root.
    Returns (new_w, new_state).
    """
    ### BEGIN SOLUTION
    t = state.get("t", 0) + 1
    m = beta1 * state.get("m", np.zeros_like(w)) + (1 - beta1) * dw
    v = beta2 * state.get("v", np.zeros_like(w)) + (1 - beta2) * dw * dw
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), {**state, "m": m, "v": v, "t": t}
    ### END SOLUTION


# %% nbgrader=tests id=test_adam_step points=20
# With a constant gradient, the bias-corrected averages are exactly m_hat = g and v_hat = g^2,
# so every step moves each coordinate by lr against the sign of g (up to eps).
g_small = np.array([0.5, -2.0])
path = run_rule(adam_step, [1.0, -2.0], [g_small] * 3, lr=0.1)
check_close("w after 1 Adam step", path[0], [0.9, -1.9],
            hint="at t = 1, m_hat = g and v_hat = g * g: the step is lr * sign(g). "
                 "Increment t before the bias correction")
check_close("w after 3 Adam steps with a constant gradient", path[2], [0.7, -1.7],
            hint="store m, v and t (not m_hat, v_hat) in the returned state")
# A tiny gradient g = 1e-8 shows where eps goes: sqrt(v_hat) = 1e-8, + eps = 2e-8, step = lr / 2
path = run_rule(adam_step, [1.0], [np.array([1e-8])], lr=0.1)
check_close("Adam step with g = 1e-8", path[0], [0.95],
            hint="eps goes outside the square root: m_hat / (sqrt(v_hat) + eps)")
path = run_rule(adam_step, [0.0], [np.array([1.0])] * 2, lr=0.1, beta1=0.5, beta2=0.5)
check_close("2 Adam steps with beta1 = beta2 = 0.5", path[:, 0], [-0.1, -0.2], rtol=1e-6,
            hint="use the beta1 and beta2 arguments")
check_numpy_only("adam_step", adam_step)
print("adam_step: visible tests passed")
### BEGIN HIDDEN TESTS
rng_h = np.random.default_rng(206)
for shape, lr, betas, eps, scale in [((3, 4), 0.01, (0.9, 0.999), 1e-8, 1.0),
                                     ((1,), 0.1, (0.5, 0.9), 1e-8, 1.0),
                                     ((6,), 0.05, (0.8, 0.99), 0.1, 1.0),
                                     ((5,), 0.01, (0.9, 0.999), 1e-8, 1e-4),
                                     ((2, 3), 0.02, (0.0, 0.9), 1e-8, 1e-7)]:
    w0_h = rng_h.normal(size=shape)
    grads_h = list(scale * rng_h.normal(size=(25, *shape)))
    check_close(f"25 Adam steps on shape {shape}, lr={lr}, betas={betas}, eps={eps}, "
                f"|g| ~ {scale}",
                run_rule(adam_step, w0_h, grads_h, lr=lr, beta1=betas[0], beta2=betas[1],
                         eps=eps),
                torch_run(torch.optim.Adam, w0_h, grads_h, lr=lr, betas=betas, eps=eps),
                rtol=1e-5, atol=1e-6)
curvature_h = np.array([1.0, 20.0])
check_close("60 Adam steps on a quadratic (gradient depends on w)",
            run_rule(adam_step, [2.0, 1.0], lambda v: curvature_h * v, 60, lr=0.1),
            torch_run(torch.optim.Adam, [2.0, 1.0], lambda v: curvature_h * v, 60, lr=0.1),
            rtol=1e-5, atol=1e-6)
check_close("two adam_step steps from the integer w0 = [3, -2, 0]",
            integer_steps(adam_step, lr=0.5),
            torch_run(torch.optim.Adam, [3.0, -2.0, 0.0], [np.array([0.5, 2.0, -1.5]), np.array([1.0, 2.0, -1.0])], lr=0.5), rtol=1e-6, atol=1e-9,
            hint="integer inputs are allowed: compute in floats (no in-place update of an "
                 "integer array)")
### END HIDDEN TESTS

# %% [markdown]
# ## 7. Shuffled mini-batches
#
# Stochastic gradient descent computes each gradient on a small random **mini-batch** instead
# of the whole data set. One pass over the data is an **epoch**. The standard recipe: at the
# start of every epoch draw a fresh random permutation of the $m$ examples, then cut it into
# consecutive batches of `batch_size`. So, in every epoch:
# - every example is used **exactly once** (no repeats, none left out);
# - the last batch is **smaller** when `batch_size` does not divide $m$ (keep it: dropping it
#   would silently ignore some examples every epoch);
# - the order is **different** each epoch (use the `rng` you are given — a
#   `numpy.random.Generator`, e.g. `rng.permutation(m)` — and do not create a new one inside);
# - `X_batch` and `y_batch` stay **aligned**: shuffle both with the same permutation (index
#   both with the same index array). Do not shuffle `X` or `y` in place.
#
# Write it as a generator function (with `yield`), so that `for X_batch, y_batch in
# minibatches(X, y, 32, rng):` runs one epoch.

# %% nbgrader=solution id=minibatches
def minibatches(X, y, batch_size, rng):
    """Yield the shuffled mini-batches (X_batch, y_batch) of one epoch.

    X: (m, ...) examples, y: (m, ...) targets, batch_size: int >= 1,
    rng: numpy.random.Generator. Each X_batch is (B, ...) and y_batch (B, ...) with
    B = batch_size, except the last batch, which is smaller if batch_size does not divide m.
    """
    ### BEGIN SOLUTION
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        rows = order[start:start + batch_size]
        yield X[rows], y[rows]
    ### END SOLUTION


# %% nbgrader=tests id=test_minibatches points=15
X_small = np.arange(20.0).reshape(10, 2)  # row i is [2i, 2i + 1]
y_small = np.arange(10) * 10  # y[i] = 10 i
X_copy, y_copy = X_small.copy(), y_small.copy()
rng_small = np.random.default_rng(0)
batches = list(minibatches(X_small, y_small, 4, rng_small))
for item in batches:
    if not (isinstance(item, (tuple, list)) and len(item) == 2):
        raise AssertionError(
            "minibatches must yield pairs (X_batch, y_batch), one per batch.\n"
            f"  got:      {len(batches)} items, the first of type {type(batches[0]).__name__}\n"
            "  hint: `yield X_batch, y_batch` inside the loop; a `return` inside the loop "
            "ends the function after the first batch")
sizes = [len(yb) for _, yb in batches]
if sizes != [4, 4, 2]:
    raise AssertionError(
        "the batch sizes for m = 10, batch_size = 4 are wrong.\n"
        f"  expected: [4, 4, 2]\n  got:      {sizes}\n"
        "  hint: cut the permutation every batch_size entries up to its end, and keep the "
        "last, smaller batch")
check_shape("the first X_batch", batches[0][0], (4, 2))
seen = np.concatenate([yb for _, yb in batches]) // 10
check_close("the examples of one epoch, sorted", np.sort(seen), np.arange(10),
            hint="every example exactly once per epoch: draw a permutation, do not sample")
for xb, yb in batches:
    check_close("y_batch vs X_batch (must stay aligned)", yb, xb[:, 0] * 5,
                hint="index X and y with the same rows")
second = np.concatenate([yb for _, yb in minibatches(X_small, y_small, 4, rng_small)]) // 10
if np.array_equal(seen, np.arange(10)) or np.array_equal(seen, second):
    raise AssertionError("minibatches must shuffle, with a different order every epoch.\n"
                         "  hint: draw a new permutation from the rng you are given each call")
check_unchanged("X", X_copy, X_small, hint="index with a permutation; do not shuffle X in place")
check_unchanged("y", y_copy, y_small)
check_numpy_only("minibatches", minibatches)
print("minibatches: visible tests passed")
### BEGIN HIDDEN TESTS
rng_h = np.random.default_rng(207)
for m, batch_size, shape in [(50, 8, (50, 3)), (50, 50, (50,)), (7, 64, (7, 2, 3)),
                             (13, 1, (13, 4)), (1, 3, (1, 2)), (100, 33, (100, 1))]:
    X_h = rng_h.normal(size=shape)
    X_h[:, ...] += np.arange(m).reshape((m,) + (1,) * (len(shape) - 1)) * 100.0
    y_h = np.arange(m) * 3 + 1
    X_keep, y_keep = X_h.copy(), y_h.copy()
    rng_run = np.random.default_rng(int(rng_h.integers(1_000_000)))
    orders = []
    for _ in range(3):
        batches = list(minibatches(X_h, y_h, batch_size, rng_run))
        sizes = [len(yb) for _, yb in batches]
        full, rest = divmod(m, batch_size)
        check_close(f"batch sizes for m={m}, batch_size={batch_size}", sizes,
                    [batch_size] * full + ([rest] if rest else []))
        order = np.concatenate([(yb - 1) // 3 for _, yb in batches])
        check_close(f"examples seen in one epoch (m={m})", np.sort(order), np.arange(m))
        for xb, yb in batches:
            check_shape("X_batch", xb, (len(yb),) + shape[1:])
            check_close("X_batch aligned with y_batch", xb, X_keep[(yb - 1) // 3])
        orders.append(order)
    if m >= 7:
        distinct = {tuple(o) for o in orders}
        if len(distinct) < 3 or all(np.array_equal(o, np.arange(m)) for o in orders):
            raise AssertionError(f"minibatches (m={m}) must use a new random order each epoch")
    check_unchanged("X", X_keep, X_h)
    check_unchanged("y", y_keep, y_h)
# one-hot (2-D) targets keep their shape, and all the randomness comes from `rng`: generators
# seeded alike give the same epoch, other seeds another, whatever np.random's global state is
X_h = np.arange(40.0).reshape(20, 2)
y_h = np.eye(4)[np.arange(20) % 4]  # (20, 4) one-hot targets


def epoch_order_h(seed, global_seed):
    np.random.seed(global_seed)
    batches = list(minibatches(X_h, y_h, 6, np.random.default_rng(seed)))
    for xb, yb in batches:
        check_shape("y_batch of one-hot targets y (20, 4)", yb, (len(xb), 4),
                    hint="index y with the same rows as X; do not flatten or reshape it")
        check_close("one-hot y_batch aligned with X_batch", yb,
                    np.eye(4)[(xb[:, 0] // 2).astype(int) % 4])
    return np.concatenate([xb[:, 0] // 2 for xb, _ in batches])


if not np.array_equal(epoch_order_h(5, 0), epoch_order_h(5, 1)):
    raise AssertionError(
        "two generators seeded alike (np.random.default_rng(5)) gave different epochs.\n"
        "  hint: draw the order from the rng you are given (rng.permutation(m)), not from "
        "np.random or from a generator you create")
if np.array_equal(epoch_order_h(5, 0), epoch_order_h(6, 0)):
    raise AssertionError(
        "generators seeded 5 and 6 gave the same epoch.\n"
        "  hint: use the rng you are given; do not create a generator with a fixed seed")
### END HIDDEN TESTS

# %% [markdown]
# ## Experiment 1: the race
#
# Time to race your six rules on two surfaces from `course.surfaces`:
# - `ill_conditioned`, the quadratic bowl $\frac12(x^2 + 20y^2)$: 20 times steeper across than
#   along, the textbook case for momentum;
# - `rosenbrock`, $(1 - x)^2 + 100(y - x^2)^2$: a curved, flat-bottomed banana valley with its
#   minimum at $(1, 1)$, the classic hard test.
#
# Each optimizer gets its own learning rate (picked by hand from a few tries — edit the
# dictionary and re-run) and the same number of steps from the same start. The contour plots
# show the paths; the right-hand plots show the loss per step.

# %% nbgrader=locked id=experiment_race
import matplotlib.pyplot as plt

from course import surfaces

RULES = {"SGD": sgd_step, "momentum": momentum_step, "Nesterov": nesterov_step,
         "Adagrad": adagrad_step, "RMSprop": rmsprop_step, "Adam": adam_step}
RACES = {
    "ill_conditioned": (100, {"SGD": 0.09, "momentum": 0.05, "Nesterov": 0.05, "Adagrad": 0.5,
                              "RMSprop": 0.1, "Adam": 0.3}),
    "rosenbrock": (1000, {"SGD": 0.002, "momentum": 0.001, "Nesterov": 0.001, "Adagrad": 0.5,
                          "RMSprop": 0.01, "Adam": 0.1}),
}


def race(surface, num_steps, learning_rates):
    """Paths (num_steps + 1, 2) of every rule from the surface's start point."""
    paths = {}
    for name, rule in RULES.items():
        w, state = np.array(surface.start, dtype=float), {}
        path = [w]
        for _ in range(num_steps):
            w, state = rule(w, surface.grad(w), state, lr=learning_rates[name])
            path.append(w)
        paths[name] = np.array(path)
    return paths


fig, axes = plt.subplots(2, 2, figsize=(12, 9))
for row, (surface_name, (num_steps, learning_rates)) in zip(axes, RACES.items(), strict=True):
    surface = surfaces.get(surface_name)
    paths = race(surface, num_steps, learning_rates)
    X_grid, Y_grid, Z_grid = surface.grid(200)
    levels = np.logspace(-2, np.log10(Z_grid.max()), 20)
    row[0].contour(X_grid, Y_grid, Z_grid, levels=levels, colors="0.75", linewidths=0.6)
    row[0].plot(*surface.minima[0], "k*", ms=14, label="minimum")
    print(f"{surface.name}, {num_steps} steps from {surface.start}:")
    if surface.curvature is not None:
        L = surface.curvature[1]
        print(f"  (largest curvature {L:g}: plain gradient descent needs lr < 2 / {L:g} = "
              f"{2 / L:g})")
    for name, path in paths.items():
        values = surface.value(path)
        distance = np.linalg.norm(path[-1] - np.array(surface.minima[0]))
        print(f"  {name:<9} lr = {learning_rates[name]:<6g} final f = {values[-1]:9.2e}   "
              f"distance to the minimum = {distance:.2e}")
        row[0].plot(path[:, 0], path[:, 1], ".-", ms=2, lw=1, label=name)
        row[1].semilogy(np.maximum(values, 1e-16), label=name)  # clip exact zeros for the log
    row[0].set_xlim(surface.xlim)
    row[0].set_ylim(surface.ylim)
    row[0].set_title(f"{surface.name}: {surface.title}")
    row[0].legend(fontsize=8)
    row[1].set_xlabel("step")
    row[1].set_ylabel("f (log scale)")
    row[1].set_title(f"{surface.name}: loss per step")
fig.tight_layout()
plt.show()

# %% [markdown]
# Things to look for. On the ill-conditioned bowl, the learning rate of plain SGD is capped by
# the steep direction (the limit is printed above), so it zig-zags across the valley at first
# and then follows it at a rate set by the flat direction. Momentum with the default
# $\mu = 0.9$ swings far past the minimum in both directions — too much momentum hurts on a
# problem this easy; Nesterov's look-ahead damps the swings. Adagrad and RMSprop rescale each
# coordinate by its own gradient size and head almost straight for the minimum. In the
# Rosenbrock valley, compare who reaches the curved valley floor first and who then makes
# progress along it: the methods with momentum (including Adam) keep their speed along the
# floor, while SGD and Adagrad slow down. No optimizer wins everywhere, and every result depends
# on its learning rate: change a few in `RACES` and re-run.

# %% [markdown]
# ## Experiment 2: batch size
#
# Now real stochastic gradient descent. The problem is least squares from lab 01 on 1,000
# generated examples with 5 features, $J(\theta) = \frac{1}{2m}\lVert A\theta - y\rVert^2$ with
# $A = [X\ \mathbf 1]$ (a column of ones for the bias), so $\theta = (w, b)$. On a mini-batch
# $(A_B, y_B)$ of size $B$ the gradient is $\frac1B A_B^\top (A_B \theta - y_B)$. We train with
# your `minibatches` and `sgd_step` at one learning rate for several batch sizes, and record the
# loss on the full data after every epoch.

# %% nbgrader=locked id=experiment_batch_size
import os

from course import data

X_ls, y_ls = data.make_linear(n=1000, d=5, b=3.0, noise=0.5, seed=2)
A_ls = np.column_stack([X_ls, np.ones(len(X_ls))])  # (m, 6)
theta_best = np.linalg.lstsq(A_ls, y_ls, rcond=None)[0]
J_best = np.mean((A_ls @ theta_best - y_ls) ** 2) / 2
num_epochs = 15
if os.environ.get("NBGRADER_EXECUTION"):
    num_epochs = 3
    print("(running under the grader: 3 epochs instead of 15)")

fig, (ax_epoch, ax_step) = plt.subplots(1, 2, figsize=(12, 4))
rng_ls = np.random.default_rng(0)
for batch_size in (1, 10, 100, 1000):
    theta, state = np.zeros(6), {}
    losses = [np.mean((A_ls @ theta - y_ls) ** 2) / 2]
    for _ in range(num_epochs):
        for A_batch, y_batch in minibatches(A_ls, y_ls, batch_size, rng_ls):
            grad = A_batch.T @ (A_batch @ theta - y_batch) / len(y_batch)  # (6,)
            theta, state = sgd_step(theta, grad, state, lr=0.02)
        losses.append(np.mean((A_ls @ theta - y_ls) ** 2) / 2)
    gap = np.array(losses) - J_best
    updates_per_epoch = -(-len(y_ls) // batch_size)  # ceil(m / B)
    print(f"batch size {batch_size:4d}: {updates_per_epoch:4d} updates per epoch, "
          f"J - J_min after {num_epochs} epochs = {gap[-1]:.2e}")
    ax_epoch.semilogy(gap, "o-", ms=3, label=f"B = {batch_size}")
    ax_step.loglog(updates_per_epoch * np.arange(1, num_epochs + 1), gap[1:], "o-", ms=3,
                   label=f"B = {batch_size}")
ax_epoch.set_xlabel("epoch")
ax_step.set_xlabel("number of updates (log scale)")
for ax in (ax_epoch, ax_step):
    ax.set_ylabel("J - J_min (log scale)")
    ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# Per epoch, small batches make many more updates and get much closer to the minimum — but
# they stop improving at a **noise floor**: every step follows the gradient of a few examples,
# not of the whole set, and with a constant learning rate it keeps jittering around the
# minimum. The smaller the batch, the higher the floor. Per update (right), the curves lie on
# top of each other until they reach their floor: a mini-batch gradient is an unbiased
# estimate of the full gradient, so $B = 100$ follows nearly the same path as $B = 1000$ for a
# tenth of the cost per update. In deep learning, batch sizes of 32 to 512 are the usual
# compromise, and the learning rate is lowered during training to get below the noise floor.
