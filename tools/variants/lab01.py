"""Variants of lab 01 (linear regression): typical mistakes and correct alternatives.

The lab fixes the conventions: ``y_hat`` and ``y`` are 1-D ``(m,)``, ``J = ||r||^2 / (2m)``,
``history[k]`` is the loss after ``k`` updates (``num_epochs + 1`` entries), inputs are never
modified in place, and the bias is a separate scalar.
"""

from __future__ import annotations

from tools.mutants import correct, edit, wrong

__all__ = ["VARIANTS", "CROSS_CHECK"]

PREDICT = "predict"
LOSS = "mse_loss"
GRAD = "gradients"
GD = "gradient_descent"
CLOSED = "closed_form"

#: The wrong variant that is also graded by the real nbgrader.
CROSS_CHECK = 'predict: bias forgotten'

VARIANTS = [
    # -- predict ---------------------------------------------------------------------------
    wrong("predict: bias forgotten", {PREDICT: """
def predict(X, w, b):
    return X @ w
"""}, "test_predict"),
    wrong("predict: returns shape (m, 1)", {PREDICT: """
def predict(X, w, b):
    return (X @ w + b).reshape(-1, 1)
"""}, "test_predict"),
    wrong("predict: syntax error (raises at definition)", {PREDICT: """
def predict(X, w, b)
    return X @ w + b
"""}, "test_predict"),
    correct("predict: explicit loops", {PREDICT: """
def predict(X, w, b):
    m, n = X.shape
    y_hat = np.empty(m)
    for i in range(m):
        total = b
        for j in range(n):
            total += X[i, j] * w[j]
        y_hat[i] = total
    return y_hat
"""}),
    wrong("predict: output allocated with X's dtype (integers truncate)", {PREDICT: """
def predict(X, w, b):
    y_hat = np.zeros_like(X[:, 0])
    for i in range(X.shape[0]):
        y_hat[i] = X[i] @ w + b
    return y_hat
"""}, "test_predict"),
    correct("predict: returns a Python list (values right; the tests grade values)", {PREDICT: """
def predict(X, w, b):
    return [float(row @ w + b) for row in np.asarray(X, dtype=float)]
"""}),
    correct("predict: einsum", {PREDICT: """
def predict(X, w, b):
    return np.einsum("ij,j->i", X, w) + b
"""}),
    # -- mse_loss --------------------------------------------------------------------------
    wrong("mse_loss: no factor 1/2", {LOSS: """
def mse_loss(y_hat, y):
    if np.shape(y_hat) != np.shape(y):
        raise ValueError("shapes differ")
    return float(np.mean((y_hat - y) ** 2))
"""}, "test_mse_loss"),
    wrong("mse_loss: sum instead of mean (no 1/m)", {LOSS: """
def mse_loss(y_hat, y):
    if np.shape(y_hat) != np.shape(y):
        raise ValueError("shapes differ")
    return float(np.sum((y_hat - y) ** 2) / 2)
"""}, "test_mse_loss"),
    wrong("mse_loss: no shape check (broadcasts (m,1) - (m,))", {LOSS: """
def mse_loss(y_hat, y):
    return float(np.mean((y_hat - y) ** 2) / 2)
"""}, "test_mse_loss"),
    wrong("mse_loss: returns a (1,) array", {LOSS: """
def mse_loss(y_hat, y):
    if np.shape(y_hat) != np.shape(y):
        raise ValueError("shapes differ")
    return np.mean((y_hat - y) ** 2, keepdims=True) / 2
"""}, "test_mse_loss"),
    wrong("mse_loss: compares only ndim, so (1,) and (4,) broadcast", {LOSS: """
def mse_loss(y_hat, y):
    y_hat, y = np.asarray(y_hat), np.asarray(y)
    if y_hat.ndim != y.ndim:
        raise ValueError("y_hat and y must have the same number of dimensions")
    return float(np.mean((y_hat - y) ** 2) / 2)
"""}, "test_mse_loss"),
    correct("mse_loss: dot product of the residuals", {LOSS: """
def mse_loss(y_hat, y):
    y_hat, y = np.asarray(y_hat), np.asarray(y)
    if y_hat.shape != y.shape:
        raise ValueError(f"shapes differ: {y_hat.shape} vs {y.shape}")
    r = y_hat - y
    return np.dot(r, r) / (2 * r.size)
"""}),
    # -- gradients -------------------------------------------------------------------------
    wrong("gradients: wrong sign (y - y_hat)", {GRAD: """
def gradients(X, y, w, b):
    r = y - (X @ w + b)
    return X.T @ r / len(y), float(r.sum() / len(y))
"""}, "test_gradients"),
    wrong("gradients: missing 1/m", {GRAD: """
def gradients(X, y, w, b):
    r = X @ w + b - y
    return X.T @ r, float(r.sum())
"""}, "test_gradients"),
    wrong("gradients: factor 2 (derivative of J without the 1/2)", {GRAD: """
def gradients(X, y, w, b):
    r = X @ w + b - y
    return 2 * X.T @ r / len(y), float(2 * r.sum() / len(y))
"""}, "test_gradients"),
    wrong("gradients: db not summed over the batch (vector)", {GRAD: """
def gradients(X, y, w, b):
    r = X @ w + b - y
    return X.T @ r / len(y), r / len(y)
"""}, "test_gradients"),
    wrong("gradients: mean over the wrong axis", {GRAD: """
def gradients(X, y, w, b):
    r = X @ w + b - y
    return (X * r[:, None]).mean(axis=1), float(r.mean())
"""}, "test_gradients"),
    wrong("gradients: dw allocated with w's dtype (integers truncate)", {GRAD: """
def gradients(X, y, w, b):
    m = X.shape[0]
    residual = X @ w + b - y
    dw = np.zeros_like(w)
    for j in range(X.shape[1]):
        dw[j] = X[:, j] @ residual / m
    return dw, float(residual.sum() / m)
"""}, "test_gradients"),
    correct("gradients: r @ X and r.mean()", {GRAD: """
def gradients(X, y, w, b):
    r = np.dot(X, w) + b - y
    return r @ X / X.shape[0], r.mean()
"""}),
    correct("gradients: explicit loops, features outer", {GRAD: """
def gradients(X, y, w, b):
    m, n = X.shape
    r = [sum(X[i, j] * w[j] for j in range(n)) + b - y[i] for i in range(m)]
    dw = np.array([sum(X[i, j] * r[i] for i in range(m)) / m for j in range(n)])
    return dw, sum(r) / m
"""}),
    # -- gradient_descent ------------------------------------------------------------------
    wrong("gradient_descent: update with + (ascent)", {GD: edit(
        ("w = w - lr * dw", "w = w + lr * dw"), ("b = b - lr * db", "b = b + lr * db"),
    )}, "test_gradient_descent"),
    wrong("gradient_descent: history misses the initial loss", {GD: edit(
        ("history = [mse_loss(predict(X, w, b), y)]", "history = []"),
    )}, "test_gradient_descent"),
    wrong("gradient_descent: history misses the final loss", {GD: edit(
        ("history = [mse_loss(predict(X, w, b), y)]", "history = []"),
        ("        dw, db = gradients(X, y, w, b)",
         "        history.append(mse_loss(predict(X, w, b), y))\n"
         "        dw, db = gradients(X, y, w, b)"),
        ("        b = b - lr * db\n        history.append(mse_loss(predict(X, w, b), y))",
         "        b = b - lr * db"),
    )}, "test_gradient_descent"),
    wrong("gradient_descent: w -= lr * dw on the caller's w0", {GD: edit(
        ("else np.array(w0, dtype=float)", "else w0"),
        ("w = w - lr * dw", "w -= lr * dw"), ("b = b - lr * db", "b -= lr * db"),
    )}, "test_gradient_descent"),
    wrong("gradient_descent: np.copy(w0), then in-place float updates", {GD: edit(
        ("else np.array(w0, dtype=float)", "else np.copy(w0)"),
        ("w = w - lr * dw", "w -= lr * dw"),
    )}, "test_gradient_descent"),
    wrong("gradient_descent: stops early when the loss rises", {GD: edit(
        ("        history.append(mse_loss(predict(X, w, b), y))",
         "        history.append(mse_loss(predict(X, w, b), y))\n"
         "        if history[-1] > history[-2]:\n            break"),
    )}, "test_gradient_descent"),
    wrong("gradient_descent: stops early when the loss stops changing", {GD: edit(
        ("        history.append(mse_loss(predict(X, w, b), y))",
         "        history.append(mse_loss(predict(X, w, b), y))\n"
         "        if abs(history[-1] - history[-2]) < 1e-12:\n            break"),
    )}, "test_gradient_descent"),
    wrong("gradient_descent: gradient computed once, before the loop", {GD: edit(
        ("    for _ in range(num_epochs):\n        dw, db = gradients(X, y, w, b)",
         "    dw, db = gradients(X, y, w, b)\n    for _ in range(num_epochs):"),
    )}, "test_gradient_descent"),
    wrong("gradient_descent: bias never updated", {GD: edit(
        ("        b = b - lr * db\n", ""),
    )}, "test_gradient_descent"),
    wrong("gradient_descent: while loop never ends (counter not incremented)", {GD: """
def gradient_descent(X, y, lr, num_epochs, w0=None, b0=0.0):
    w = np.zeros(X.shape[1]) if w0 is None else np.array(w0, dtype=float)
    b = float(b0)
    history = [mse_loss(predict(X, w, b), y)]
    epoch = 0
    while epoch < num_epochs:
        dw, db = gradients(X, y, w, b)
        w, b = w - lr * dw, b - lr * db
        history.append(mse_loss(predict(X, w, b), y))
    return w, b, np.array(history)
"""}, "test_gradient_descent", note="must time out", timeout=3),
    correct("gradient_descent: copy, then in-place updates, preallocated history", {GD: """
def gradient_descent(X, y, lr, num_epochs, w0=None, b0=0.0):
    w = np.zeros(X.shape[1]) if w0 is None else np.asarray(w0, dtype=float).copy()
    b = float(b0)
    history = np.empty(num_epochs + 1)
    for k in range(num_epochs + 1):
        history[k] = mse_loss(predict(X, w, b), y)
        if k == num_epochs:
            break
        dw, db = gradients(X, y, w, b)
        w -= lr * dw
        b -= lr * db
    return w, b, history
"""}),
    # -- closed_form -----------------------------------------------------------------------
    wrong("closed_form: bias ignored (lstsq on X, b = 0)", {CLOSED: """
def closed_form(X, y):
    w, *_ = np.linalg.lstsq(X, y, rcond=None)
    return w, 0.0
"""}, "test_closed_form"),
    wrong("closed_form: inv(X^T X) X^T y, then b = mean residual", {CLOSED: """
def closed_form(X, y):
    w = np.linalg.inv(X.T @ X) @ X.T @ y
    return w, float(np.mean(y - X @ w))
"""}, "test_closed_form"),
    wrong("closed_form: ones column first, read as last", {CLOSED: """
def closed_form(X, y):
    A = np.column_stack([np.ones(len(X)), X])
    theta = np.linalg.lstsq(A, y, rcond=None)[0]
    return theta[:-1], float(theta[-1])
"""}, "test_closed_form"),
    wrong("closed_form: theta allocated with X's dtype (integers truncate)", {CLOSED: """
def closed_form(X, y):
    A = np.column_stack([X, np.ones(X.shape[0], dtype=X.dtype)])
    theta = np.zeros(A.shape[1], dtype=X.dtype)
    theta[:] = np.linalg.lstsq(A, y, rcond=None)[0]
    return theta[:-1], float(theta[-1])
"""}, "test_closed_form"),
    correct("closed_form: normal equations with np.linalg.solve", {CLOSED: """
def closed_form(X, y):
    A = np.hstack([X, np.ones((X.shape[0], 1))])
    theta = np.linalg.solve(A.T @ A, A.T @ y)
    return theta[:-1], theta[-1]
"""}),
    correct("closed_form: centre the data, bias from the means", {CLOSED: """
def closed_form(X, y):
    x_mean, y_mean = X.mean(axis=0), y.mean()
    w = np.linalg.lstsq(X - x_mean, y - y_mean, rcond=None)[0]
    return w, float(y_mean - x_mean @ w)
"""}),
]
