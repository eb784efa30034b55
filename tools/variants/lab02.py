"""Variants of lab 02 (optimizers): typical mistakes and correct alternatives.

The lab specifies PyTorch's formulas (the learning rate outside the momentum buffer, eps
outside the square root, Adam's bias correction with the incremented t, no bias correction
in RMSprop), pure functions (no in-place change of ``w``, ``dw``, ``state`` or its arrays),
and an epoch of ``minibatches`` that uses every example exactly once, keeps the last smaller
batch and draws a new order from the given ``rng``.
"""

from __future__ import annotations

from tools.mutants import correct, edit, wrong

__all__ = ["VARIANTS", "CROSS_CHECK"]

#: The wrong variant that is also graded by the real nbgrader.
CROSS_CHECK = 'momentum: textbook form v = mu v - lr g (lr inside the buffer)'

VARIANTS = [
    # -- sgd_step --------------------------------------------------------------------------
    wrong("sgd: wrong sign (w + lr * dw)", {"sgd_step": """
def sgd_step(w, dw, state, lr):
    return w + lr * dw, state
"""}, "test_sgd_step"),
    wrong("sgd: w -= lr * dw (modifies w in place)", {"sgd_step": """
def sgd_step(w, dw, state, lr):
    w -= lr * dw
    return w, state
"""}, "test_sgd_step"),
    correct("sgd: np.subtract and a copied state", {"sgd_step": """
def sgd_step(w, dw, state, lr):
    return np.subtract(w, np.multiply(lr, dw)), dict(state)
"""}),
    # -- momentum_step ---------------------------------------------------------------------
    wrong("momentum: velocity not stored in the state", {"momentum_step": """
def momentum_step(w, dw, state, lr, mu=0.9):
    velocity = mu * state.get("velocity", np.zeros_like(w)) + dw
    return w - lr * velocity, state
"""}, "test_momentum_step"),
    wrong("momentum: mu fixed at 0.9", {"momentum_step": """
def momentum_step(w, dw, state, lr, mu=0.9):
    velocity = 0.9 * state.get("velocity", np.zeros_like(w)) + dw
    return w - lr * velocity, {**state, "velocity": velocity}
"""}, "test_momentum_step"),
    wrong("momentum: dampened average b = mu b + (1 - mu) g", {"momentum_step": """
def momentum_step(w, dw, state, lr, mu=0.9):
    velocity = mu * state.get("velocity", np.zeros_like(w)) + (1 - mu) * dw
    return w - lr * velocity, {**state, "velocity": velocity}
"""}, "test_momentum_step"),
    wrong("momentum: textbook form v = mu v - lr g (lr inside the buffer)", {"momentum_step": """
def momentum_step(w, dw, state, lr, mu=0.9):
    v = mu * state.get("v", np.zeros_like(w)) - lr * dw
    return w + v, {**state, "v": v}
"""}, "test_momentum_step",
        note="equal to PyTorch's rule only while lr is constant; the lab specifies PyTorch's"),
    wrong("momentum: velocity updated in place (state array modified)", {"momentum_step": """
def momentum_step(w, dw, state, lr, mu=0.9):
    velocity = state.get("velocity")
    if velocity is None:
        velocity = dw.copy()
    else:
        velocity *= mu
        velocity += dw
    return w - lr * velocity, {**state, "velocity": velocity}
"""}, "test_momentum_step"),
    correct("momentum: PyTorch's first step (buffer = copy of g)", {"momentum_step": """
def momentum_step(w, dw, state, lr, mu=0.9):
    if "buf" in state:
        buf = mu * state["buf"] + dw
    else:
        buf = np.array(dw, copy=True)
    new_state = dict(state)
    new_state["buf"] = buf
    return w - lr * buf, new_state
"""}),
    # -- nesterov_step ---------------------------------------------------------------------
    wrong("nesterov: plain momentum step (w - lr * b)", {"nesterov_step": """
def nesterov_step(w, dw, state, lr, mu=0.9):
    velocity = mu * state.get("velocity", np.zeros_like(w)) + dw
    return w - lr * velocity, {**state, "velocity": velocity}
"""}, "test_nesterov_step"),
    wrong("nesterov: uses the old velocity in the step", {"nesterov_step": """
def nesterov_step(w, dw, state, lr, mu=0.9):
    old = state.get("velocity", np.zeros_like(w))
    velocity = mu * old + dw
    return w - lr * (dw + mu * old), {**state, "velocity": velocity}
"""}, "test_nesterov_step"),
    wrong("nesterov: cs231n form with lr inside the velocity", {"nesterov_step": """
def nesterov_step(w, dw, state, lr, mu=0.9):
    v_prev = state.get("v", np.zeros_like(w))
    v = mu * v_prev - lr * dw
    return w - mu * v_prev + (1 + mu) * v, {**state, "v": v}
"""}, "test_nesterov_step",
        note="equal to PyTorch's rule only while lr is constant; the lab specifies PyTorch's"),
    correct("nesterov: expanded (1 + mu) g + mu^2 b_old", {"nesterov_step": """
def nesterov_step(w, dw, state, lr, mu=0.9):
    old = state["b"] if "b" in state else np.zeros(np.shape(w))
    step = (1 + mu) * dw + mu * mu * old
    return w - lr * step, dict(state, b=mu * old + dw)
"""}),
    # -- adagrad_step ----------------------------------------------------------------------
    wrong("adagrad: eps inside the square root", {"adagrad_step": """
def adagrad_step(w, dw, state, lr, eps=1e-10):
    sum_sq = state.get("sum_sq", np.zeros_like(w)) + dw * dw
    return w - lr * dw / np.sqrt(sum_sq + eps), {**state, "sum_sq": sum_sq}
"""}, "test_adagrad_step"),
    wrong("adagrad: moving average instead of the sum", {"adagrad_step": """
def adagrad_step(w, dw, state, lr, eps=1e-10):
    sum_sq = 0.9 * state.get("sum_sq", np.zeros_like(w)) + 0.1 * dw * dw
    return w - lr * dw / (np.sqrt(sum_sq) + eps), {**state, "sum_sq": sum_sq}
"""}, "test_adagrad_step"),
    wrong("adagrad: state filled with setdefault and += (modified in place)", {"adagrad_step": """
def adagrad_step(w, dw, state, lr, eps=1e-10):
    sum_sq = state.setdefault("sum_sq", np.zeros_like(w))
    sum_sq += dw * dw
    return w - lr * dw / (np.sqrt(sum_sq) + eps), state
"""}, "test_adagrad_step"),
    correct("adagrad: stores the root of the sum", {"adagrad_step": """
def adagrad_step(w, dw, state, lr, eps=1e-10):
    root = np.hypot(state.get("root", np.zeros_like(w)), dw)
    return w - lr * dw / (root + eps), {**state, "root": root}
"""}),
    # -- rmsprop_step ----------------------------------------------------------------------
    wrong("rmsprop: eps inside the square root", {"rmsprop_step": """
def rmsprop_step(w, dw, state, lr, alpha=0.99, eps=1e-8):
    s = alpha * state.get("s", np.zeros_like(w)) + (1 - alpha) * dw * dw
    return w - lr * dw / np.sqrt(s + eps), {**state, "s": s}
"""}, "test_rmsprop_step"),
    wrong("rmsprop: alpha and 1 - alpha swapped", {"rmsprop_step": """
def rmsprop_step(w, dw, state, lr, alpha=0.99, eps=1e-8):
    s = (1 - alpha) * state.get("s", np.zeros_like(w)) + alpha * dw * dw
    return w - lr * dw / (np.sqrt(s) + eps), {**state, "s": s}
"""}, "test_rmsprop_step"),
    wrong("rmsprop: with Adam's bias correction", {"rmsprop_step": """
def rmsprop_step(w, dw, state, lr, alpha=0.99, eps=1e-8):
    t = state.get("t", 0) + 1
    s = alpha * state.get("s", np.zeros_like(w)) + (1 - alpha) * dw * dw
    s_hat = s / (1 - alpha**t)
    return w - lr * dw / (np.sqrt(s_hat) + eps), {**state, "s": s, "t": t}
"""}, "test_rmsprop_step"),
    correct("rmsprop: lerp form s += (1 - alpha) (g^2 - s)", {"rmsprop_step": """
def rmsprop_step(w, dw, state, lr, alpha=0.99, eps=1e-8):
    s = state.get("s", np.zeros_like(w))
    s = s + (1 - alpha) * (np.square(dw) - s)
    return w - lr * (dw / (s**0.5 + eps)), {**state, "s": s}
"""}),
    # -- adam_step -------------------------------------------------------------------------
    wrong("adam: no bias correction", {"adam_step": """
def adam_step(w, dw, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * state.get("m", np.zeros_like(w)) + (1 - beta1) * dw
    v = beta2 * state.get("v", np.zeros_like(w)) + (1 - beta2) * dw * dw
    return w - lr * m / (np.sqrt(v) + eps), {**state, "m": m, "v": v}
"""}, "test_adam_step"),
    wrong("adam: bias correction with t + 1 (off by one)", {"adam_step": """
def adam_step(w, dw, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state.get("t", 0) + 1
    m = beta1 * state.get("m", np.zeros_like(w)) + (1 - beta1) * dw
    v = beta2 * state.get("v", np.zeros_like(w)) + (1 - beta2) * dw * dw
    m_hat, v_hat = m / (1 - beta1 ** (t + 1)), v / (1 - beta2 ** (t + 1))
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), {**state, "m": m, "v": v, "t": t}
"""}, "test_adam_step"),
    wrong("adam: eps inside the square root", {"adam_step": """
def adam_step(w, dw, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state.get("t", 0) + 1
    m = beta1 * state.get("m", np.zeros_like(w)) + (1 - beta1) * dw
    v = beta2 * state.get("v", np.zeros_like(w)) + (1 - beta2) * dw * dw
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return w - lr * m_hat / np.sqrt(v_hat + eps), {**state, "m": m, "v": v, "t": t}
"""}, "test_adam_step"),
    wrong("adam: stores m_hat, v_hat instead of m, v", {"adam_step": """
def adam_step(w, dw, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state.get("t", 0) + 1
    m = beta1 * state.get("m", np.zeros_like(w)) + (1 - beta1) * dw
    v = beta2 * state.get("v", np.zeros_like(w)) + (1 - beta2) * dw * dw
    m, v = m / (1 - beta1**t), v / (1 - beta2**t)
    return w - lr * m / (np.sqrt(v) + eps), {**state, "m": m, "v": v, "t": t}
"""}, "test_adam_step"),
    wrong("adam: paper's efficient form with unscaled eps", {"adam_step": """
def adam_step(w, dw, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state.get("t", 0) + 1
    m = beta1 * state.get("m", np.zeros_like(w)) + (1 - beta1) * dw
    v = beta2 * state.get("v", np.zeros_like(w)) + (1 - beta2) * dw * dw
    lr_t = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    return w - lr_t * m / (np.sqrt(v) + eps), {**state, "m": m, "v": v, "t": t}
"""}, "test_adam_step"),
    correct("adam: paper's efficient form with eps scaled by sqrt(1 - beta2^t)", {"adam_step": """
def adam_step(w, dw, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state.get("t", 0) + 1
    m = beta1 * state.get("m", 0.0 * w) + (1 - beta1) * dw
    v = beta2 * state.get("v", 0.0 * w) + (1 - beta2) * dw**2
    root = np.sqrt(1 - beta2**t)
    step = lr * root / (1 - beta1**t) * m / (np.sqrt(v) + eps * root)
    return w - step, {**state, "m": m, "v": v, "t": t}
"""}),
    # -- minibatches -----------------------------------------------------------------------
    wrong("minibatches: drops the last partial batch", {"minibatches": """
def minibatches(X, y, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X) - batch_size + 1, batch_size):
        rows = order[start:start + batch_size]
        yield X[rows], y[rows]
"""}, "test_minibatches"),
    wrong("minibatches: no shuffling", {"minibatches": """
def minibatches(X, y, batch_size, rng):
    for start in range(0, len(X), batch_size):
        yield X[start:start + batch_size], y[start:start + batch_size]
"""}, "test_minibatches"),
    wrong("minibatches: samples with replacement (repeats examples)", {"minibatches": """
def minibatches(X, y, batch_size, rng):
    order = rng.integers(0, len(X), size=len(X))
    for start in range(0, len(X), batch_size):
        rows = order[start:start + batch_size]
        yield X[rows], y[rows]
"""}, "test_minibatches"),
    wrong("minibatches: new rng with a fixed seed (same order every epoch)", {"minibatches": """
def minibatches(X, y, batch_size, rng):
    order = np.random.default_rng(0).permutation(len(X))
    for start in range(0, len(X), batch_size):
        rows = order[start:start + batch_size]
        yield X[rows], y[rows]
"""}, "test_minibatches"),
    wrong("minibatches: X and y shuffled with different permutations", {"minibatches": """
def minibatches(X, y, batch_size, rng):
    rows_X, rows_y = rng.permutation(len(X)), rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        yield X[rows_X[start:start + batch_size]], y[rows_y[start:start + batch_size]]
"""}, "test_minibatches"),
    wrong("minibatches: shuffles X and y in place", {"minibatches": """
def minibatches(X, y, batch_size, rng):
    order = rng.permutation(len(X))
    X[:], y[:] = X[order], y[order]
    for start in range(0, len(X), batch_size):
        yield X[start:start + batch_size], y[start:start + batch_size]
"""}, "test_minibatches"),
    wrong("minibatches: ignores rng, shuffles with the global np.random", {"minibatches": """
def minibatches(X, y, batch_size, rng):
    order = np.random.permutation(len(X))
    for start in range(0, len(X), batch_size):
        rows = order[start:start + batch_size]
        yield X[rows], y[rows]
"""}, "test_minibatches"),
    wrong("minibatches: a fresh unseeded generator each call", {"minibatches": """
def minibatches(X, y, batch_size, rng):
    order = np.random.default_rng().permutation(len(X))
    for start in range(0, len(X), batch_size):
        rows = order[start:start + batch_size]
        yield X[rows], y[rows]
"""}, "test_minibatches"),
    wrong("minibatches: flattens y (breaks one-hot targets)", {"minibatches": """
def minibatches(X, y, batch_size, rng):
    order = rng.permutation(len(X))
    y = np.asarray(y).reshape(len(X), -1)[:, 0]
    for start in range(0, len(X), batch_size):
        rows = order[start:start + batch_size]
        yield X[rows], y[rows]
"""}, "test_minibatches"),
    wrong("momentum: velocity from np.zeros_like(w), filled with [...] = (integers truncate)",
          {"momentum_step": """
def momentum_step(w, dw, state, lr, mu=0.9):
    velocity = np.zeros_like(w)
    velocity[...] = mu * state.get("velocity", np.zeros_like(w)) + dw
    return w - lr * velocity, {**state, "velocity": velocity}
"""}, "test_momentum_step"),
    wrong("adam: new w from w.copy() updated in place (integers raise)", {"adam_step": edit(
        ("    return w - lr * m_hat / (np.sqrt(v_hat) + eps), {",
         "    new_w = w.copy()\n    new_w -= lr * m_hat / (np.sqrt(v_hat) + eps)\n"
         "    return new_w, {"),
    )}, "test_adam_step"),
    correct("minibatches: np.array_split of the permutation", {"minibatches": """
def minibatches(X, y, batch_size, rng):
    order = rng.permutation(X.shape[0])
    for rows in np.array_split(order, np.arange(batch_size, len(order), batch_size)):
        yield X[rows], y[rows]
"""}),
    correct("minibatches: yield from a generator expression, rng.shuffle of indices", {
        "minibatches": """
def minibatches(X, y, batch_size, rng):
    index = np.arange(len(y))
    rng.shuffle(index)
    batches = (index[k:k + batch_size] for k in range(0, len(index), batch_size))
    yield from ((X[rows], y[rows]) for rows in batches)
"""}),
]
