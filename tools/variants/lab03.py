"""Variants of lab 03 (backpropagation): typical mistakes and correct alternatives.

The lab fixes the caches (``(x, w, b)``, ``x``, ``out``), the ReLU subgradient 0 at x = 0
(as PyTorch), the mean cross-entropy with the row maximum subtracted, L2 on the weights only
with a factor lambda / 2, integer predictions, and SGD that shuffles with
``np.random.default_rng(seed)`` once per epoch, keeps the last smaller batch, records each
mini-batch loss before its update and never changes the caller's ``params``.
"""

from __future__ import annotations

from tools.mutants import correct, edit, wrong

__all__ = ["VARIANTS", "CROSS_CHECK"]

def _train(*changes: tuple[str, str]) -> dict[str, tuple]:
    """The solution's train_two_layer with some lines changed: (old, new) pairs."""
    return {"train_two_layer": edit(*changes)}


#: The wrong variant that is also graded by the real nbgrader.
CROSS_CHECK = 'affine_forward: cache without b'

VARIANTS = [
    # -- affine layer ----------------------------------------------------------------------
    wrong("affine_forward: bias forgotten", {"affine_forward": """
def affine_forward(x, w, b):
    return x @ w, (x, w, b)
"""}, "test_affine_forward"),
    wrong("affine_forward: cache without b", {"affine_forward": """
def affine_forward(x, w, b):
    return x @ w + b, (x, w)
"""}, "test_affine_forward"),
    wrong("affine_forward: output allocated like x (integers truncate)", {"affine_forward": """
def affine_forward(x, w, b):
    out = np.zeros((x.shape[0], w.shape[1]), dtype=x.dtype)
    out[...] = x @ w + b
    return out, (x, w, b)
"""}, "test_affine_forward"),
    correct("affine_forward: np.dot", {"affine_forward": """
def affine_forward(x, w, b):
    return np.dot(x, w) + b[None, :], (x, w, b)
"""}),
    wrong("affine_backward: db = dout[0] (not summed over the batch)", {"affine_backward": """
def affine_backward(dout, cache):
    x, w, b = cache
    return dout @ w.T, x.T @ dout, dout[0]
"""}, "test_affine_backward"),
    wrong("affine_backward: db is a mean over the batch", {"affine_backward": """
def affine_backward(dout, cache):
    x, w, b = cache
    return dout @ w.T, x.T @ dout, dout.mean(axis=0)
"""}, "test_affine_backward"),
    wrong("affine_backward: db summed over the wrong axis", {"affine_backward": """
def affine_backward(dout, cache):
    x, w, b = cache
    return dout @ w.T, x.T @ dout, dout.sum(axis=1)
"""}, "test_affine_backward"),
    wrong("affine_backward: dw transposed (dout.T @ x)", {"affine_backward": """
def affine_backward(dout, cache):
    x, w, b = cache
    return dout @ w.T, dout.T @ x, dout.sum(axis=0)
"""}, "test_affine_backward"),
    correct("affine_backward: einsum, db = ones @ dout", {"affine_backward": """
def affine_backward(dout, cache):
    x, w, _ = cache
    dx = np.einsum("nm,dm->nd", dout, w)
    dw = np.einsum("nd,nm->dm", x, dout)
    return dx, dw, np.ones(dout.shape[0]) @ dout
"""}),
    # -- ReLU ------------------------------------------------------------------------------
    wrong("relu_forward: zeroes x in place", {"relu_forward": """
def relu_forward(x):
    x[x < 0] = 0
    return x, x
"""}, "test_relu_forward"),
    wrong("relu_backward: subgradient 1 at x = 0 (>= instead of >)", {"relu_backward": """
def relu_backward(dout, cache):
    return dout * (cache >= 0)
"""}, "test_relu_backward",
        note="the lab specifies the subgradient 0 at x = 0, as PyTorch; its hidden test pins it"),
    wrong("relu_backward: zeroes dout in place", {"relu_backward": """
def relu_backward(dout, cache):
    dout[cache <= 0] = 0
    return dout
"""}, "test_relu_backward"),
    correct("relu_backward: np.where", {"relu_backward": """
def relu_backward(dout, cache):
    return np.where(cache > 0, dout, 0.0)
"""}),
    # -- sigmoid ---------------------------------------------------------------------------
    wrong("sigmoid_forward: exp(x) instead of exp(-x)", {"sigmoid_forward": """
def sigmoid_forward(x):
    out = 1.0 / (1.0 + np.exp(x))
    return out, out
"""}, "test_sigmoid_forward"),
    wrong("sigmoid_forward: caches x instead of out", {"sigmoid_forward": """
def sigmoid_forward(x):
    return 1.0 / (1.0 + np.exp(-x)), x
"""}, "test_sigmoid_forward"),
    wrong("sigmoid_forward: exp(x) / (1 + exp(x)) (nan for large x)", {"sigmoid_forward": """
def sigmoid_forward(x):
    out = np.exp(x) / (1.0 + np.exp(x))
    return out, out
"""}, "test_sigmoid_forward"),
    wrong("sigmoid_forward: output allocated like x (integers truncate)", {"sigmoid_forward": """
def sigmoid_forward(x):
    out = np.empty_like(x)
    out[...] = 1.0 / (1.0 + np.exp(-x))
    return out, out
"""}, "test_sigmoid_forward"),
    correct("sigmoid_forward: tanh identity", {"sigmoid_forward": """
def sigmoid_forward(x):
    out = 0.5 * (1.0 + np.tanh(0.5 * x))
    return out, out
"""}),
    wrong("sigmoid_backward: treats the cache as x", {"sigmoid_backward": """
def sigmoid_backward(dout, cache):
    s = 1.0 / (1.0 + np.exp(-cache))
    return dout * s * (1 - s)
"""}, "test_sigmoid_backward"),
    wrong("sigmoid_backward: forgets dout", {"sigmoid_backward": """
def sigmoid_backward(dout, cache):
    return cache * (1.0 - cache)
"""}, "test_sigmoid_backward"),
    # -- softmax cross-entropy -------------------------------------------------------------
    wrong("softmax: max not subtracted (overflows)", {"softmax_cross_entropy": """
def softmax_cross_entropy(scores, y):
    N = scores.shape[0]
    probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(N), y]).mean()
    dscores = probs.copy()
    dscores[np.arange(N), y] -= 1
    return float(loss), dscores / N
"""}, "test_softmax_cross_entropy"),
    wrong("softmax: subtracts the maximum of the whole batch", {"softmax_cross_entropy": """
def softmax_cross_entropy(scores, y):
    N = scores.shape[0]
    shifted = scores - scores.max()
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    dscores = np.exp(log_probs)
    dscores[np.arange(N), y] -= 1
    return float(-log_probs[np.arange(N), y].mean()), dscores / N
"""}, "test_softmax_cross_entropy",
        note="the lab says to subtract the row maximum; rows far apart underflow to log(0)"),
    wrong("softmax: normalizes over the batch axis", {"softmax_cross_entropy": """
def softmax_cross_entropy(scores, y):
    N = scores.shape[0]
    shifted = scores - scores.max(axis=0, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))
    dscores = np.exp(log_probs)
    dscores[np.arange(N), y] -= 1
    return float(-log_probs[np.arange(N), y].mean()), dscores / N
"""}, "test_softmax_cross_entropy"),
    wrong("softmax: gradient without 1/N", {"softmax_cross_entropy": """
def softmax_cross_entropy(scores, y):
    N = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    dscores = np.exp(log_probs)
    dscores[np.arange(N), y] -= 1
    return float(-log_probs[np.arange(N), y].mean()), dscores
"""}, "test_softmax_cross_entropy"),
    wrong("softmax: scores -= max (modifies the caller's scores)", {"softmax_cross_entropy": """
def softmax_cross_entropy(scores, y):
    N = scores.shape[0]
    scores -= scores.max(axis=1, keepdims=True)
    log_probs = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    dscores = np.exp(log_probs)
    dscores[np.arange(N), y] -= 1
    return float(-log_probs[np.arange(N), y].mean()), dscores / N
"""}, "test_softmax_cross_entropy"),
    wrong("softmax: log(softmax) (inf when a probability underflows, [[0, 800]])",
          {"softmax_cross_entropy": """
def softmax_cross_entropy(scores, y):
    N, C = scores.shape
    one_hot = np.eye(C)[y]  # (N, C)
    e = np.exp(scores - np.max(scores, axis=1, keepdims=True))
    probs = e / e.sum(axis=1, keepdims=True)
    loss = -np.sum(one_hot * np.log(probs)) / N
    return loss, (probs - one_hot) / N
"""}, "test_softmax_cross_entropy",
          note="decided: the lab asks for log-probabilities that stay exact when p underflows"),
    wrong("softmax: shifted by the row mean (overflows when one score is 1500)",
          {"softmax_cross_entropy": edit(
              ("scores - scores.max(axis=1, keepdims=True)",
               "scores - scores.mean(axis=1, keepdims=True)"),
          )}, "test_softmax_cross_entropy"),
    wrong("softmax: dscores allocated like scores (integers truncate)",
          {"softmax_cross_entropy": edit(
              ("    dscores = np.exp(log_probs)\n",
               "    dscores = np.zeros_like(scores)\n    dscores[...] = np.exp(log_probs)\n"),
          )}, "test_softmax_cross_entropy"),
    wrong("softmax: scipy's logsumexp (NumPy only: loses this function's points only)",
          {"softmax_cross_entropy": edit(
              ("    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))",
               "    from scipy.special import logsumexp\n"
               "    log_probs = shifted - logsumexp(shifted, axis=1, keepdims=True)"),
          )}, "test_softmax_cross_entropy"),
    correct("softmax: one-hot matrix and log-sum-exp", {"softmax_cross_entropy": """
def softmax_cross_entropy(scores, y):
    N, C = scores.shape
    one_hot = np.eye(C)[y]  # (N, C)
    m = np.max(scores, axis=1, keepdims=True)
    log_probs = scores - m - np.log(np.exp(scores - m).sum(axis=1, keepdims=True))
    loss = -np.sum(one_hot * log_probs) / N
    return loss, (np.exp(log_probs) - one_hot) / N
"""}),
    # -- two_layer_loss --------------------------------------------------------------------
    wrong("two_layer_loss: L2 penalty on the biases too", {"two_layer_loss": """
def two_layer_loss(params, X, y, reg=0.0):
    h, cache1 = affine_forward(X, params["W1"], params["b1"])
    a, cache_relu = relu_forward(h)
    scores, cache2 = affine_forward(a, params["W2"], params["b2"])
    loss, dscores = softmax_cross_entropy(scores, y)
    loss += 0.5 * reg * sum(np.sum(v * v) for v in params.values())
    da, dW2, db2 = affine_backward(dscores, cache2)
    _, dW1, db1 = affine_backward(relu_backward(da, cache_relu), cache1)
    grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    return float(loss), {k: g + reg * params[k] for k, g in grads.items()}
"""}, "test_two_layer_loss"),
    wrong("two_layer_loss: penalty reg * ||W||^2 (no 1/2)", {"two_layer_loss": """
def two_layer_loss(params, X, y, reg=0.0):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    h, cache1 = affine_forward(X, W1, b1)
    a, cache_relu = relu_forward(h)
    scores, cache2 = affine_forward(a, W2, b2)
    loss, dscores = softmax_cross_entropy(scores, y)
    loss += reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    da, dW2, db2 = affine_backward(dscores, cache2)
    _, dW1, db1 = affine_backward(relu_backward(da, cache_relu), cache1)
    return float(loss), {"W1": dW1 + 2 * reg * W1, "b1": db1, "W2": dW2 + 2 * reg * W2,
                         "b2": db2}
"""}, "test_two_layer_loss"),
    wrong("two_layer_loss: L2 term missing from the gradients", {"two_layer_loss": """
def two_layer_loss(params, X, y, reg=0.0):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    h, cache1 = affine_forward(X, W1, b1)
    a, cache_relu = relu_forward(h)
    scores, cache2 = affine_forward(a, W2, b2)
    loss, dscores = softmax_cross_entropy(scores, y)
    loss += 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    da, dW2, db2 = affine_backward(dscores, cache2)
    _, dW1, db1 = affine_backward(relu_backward(da, cache_relu), cache1)
    return float(loss), {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
"""}, "test_two_layer_loss"),
    wrong("two_layer_loss: ReLU skipped in the backward pass", {"two_layer_loss": """
def two_layer_loss(params, X, y, reg=0.0):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    h, cache1 = affine_forward(X, W1, b1)
    a, _ = relu_forward(h)
    scores, cache2 = affine_forward(a, W2, b2)
    loss, dscores = softmax_cross_entropy(scores, y)
    loss += 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    da, dW2, db2 = affine_backward(dscores, cache2)
    _, dW1, db1 = affine_backward(da, cache1)
    return float(loss), {"W1": dW1 + reg * W1, "b1": db1, "W2": dW2 + reg * W2, "b2": db2}
"""}, "test_two_layer_loss"),
    wrong("two_layer_loss: inline ReLU mask h >= 0 (subgradient 1 at the kink)",
          {"two_layer_loss": """
def two_layer_loss(params, X, y, reg=0.0):
    W1, b1, W2, b2 = (params[k] for k in ("W1", "b1", "W2", "b2"))
    h, cache1 = affine_forward(X, W1, b1)
    a = np.maximum(h, 0)
    scores, cache2 = affine_forward(a, W2, b2)
    loss, dscores = softmax_cross_entropy(scores, y)
    loss += 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    da, dW2, db2 = affine_backward(dscores, cache2)
    _, dW1, db1 = affine_backward(da * (h >= 0), cache1)
    return float(loss), {"W1": dW1 + reg * W1, "b1": db1, "W2": dW2 + reg * W2, "b2": db2}
"""}, "test_two_layer_loss"),
    correct("two_layer_loss: inline NumPy, ReLU mask from the activation", {"two_layer_loss": """
def two_layer_loss(params, X, y, reg=0.0):
    W1, b1, W2, b2 = (params[k] for k in ("W1", "b1", "W2", "b2"))
    N = X.shape[0]
    a = np.maximum(X @ W1 + b1, 0.0)  # (N, H)
    s = a @ W2 + b2  # (N, C)
    s = s - s.max(axis=1, keepdims=True)
    log_p = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    loss = -log_p[np.arange(N), y].sum() / N + reg / 2 * ((W1**2).sum() + (W2**2).sum())
    ds = np.exp(log_p)
    ds[np.arange(N), y] -= 1
    ds /= N
    da = (ds @ W2.T) * (a > 0)
    return loss, {"W1": X.T @ da + reg * W1, "b1": da.sum(0), "W2": a.T @ ds + reg * W2,
                  "b2": ds.sum(0)}
"""}),
    # -- predict ---------------------------------------------------------------------------
    wrong("predict: argmax over the batch axis", {"predict": """
def predict(params, X):
    hidden = np.maximum(X @ params["W1"] + params["b1"], 0)
    return (hidden @ params["W2"] + params["b2"]).argmax(axis=0)
"""}, "test_predict"),
    wrong("predict: float labels", {"predict": """
def predict(params, X):
    hidden = np.maximum(X @ params["W1"] + params["b1"], 0)
    return (hidden @ params["W2"] + params["b2"]).argmax(axis=1).astype(float)
"""}, "test_predict"),
    wrong("predict: ReLU forgotten", {"predict": """
def predict(params, X):
    return ((X @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]).argmax(axis=1)
"""}, "test_predict"),
    correct("predict: through the layer functions", {"predict": """
def predict(params, X):
    h, _ = affine_forward(X, params["W1"], params["b1"])
    a, _ = relu_forward(h)
    scores, _ = affine_forward(a, params["W2"], params["b2"])
    return np.argmax(scores, axis=-1)
"""}),
    # -- train_two_layer -------------------------------------------------------------------
    wrong("train: shallow copy, then -= (changes the caller's params)", _train(
        ("    params = {key: value.copy() for key, value in params.items()}",  # the code line,
         "    params = dict(params)"),  # not the stub comment that quotes it
        ("params[key] = params[key] - lr * grads[key]", "params[key] -= lr * grads[key]"),
    ), "test_train_two_layer"),
    wrong("train: step with + (ascent)", _train(("params[key] - lr", "params[key] + lr")),
          "test_train_two_layer"),
    wrong("train: loss recorded after the update", _train(
        ("            losses.append(loss)\n", ""),
        ("    return params, losses",
         "            losses.append(two_layer_loss(params, X[batch], y[batch], reg)[0])\n"
         "    return params, losses"),
    ), "test_train_two_layer"),
    wrong("train: no shuffling", _train(("order = rng_sgd.permutation(N)", "order = np.arange(N)")),
          "test_train_two_layer"),
    wrong("train: new rng every epoch (same order each epoch)",
          _train(("order = rng_sgd.permutation(N)",
                  "order = np.random.default_rng(seed).permutation(N)")),
          "test_train_two_layer"),
    wrong("train: drops the last partial batch",
          _train(("range(0, N, batch_size)", "range(0, N - batch_size + 1, batch_size)")),
          "test_train_two_layer"),
    wrong("train: samples batches with replacement",
          _train(("order = rng_sgd.permutation(N)", "order = rng_sgd.integers(0, N, N)")),
          "test_train_two_layer"),
    wrong("train: shuffles the caller's X and y in place (training still right)", _train(
        ("        order = rng_sgd.permutation(N)\n",
         "        order = rng_sgd.permutation(N)\n        X[:], y[:] = X[order], y[order]\n"
         "        order = np.arange(N)\n"),
    ), "test_train_two_layer"),
    wrong("train: permutations from the global np.random (seed ignored)", _train(
        ("order = rng_sgd.permutation(N)", "order = np.random.permutation(N)"),
    ), "test_train_two_layer"),
    wrong("train: stops when a batch loss explodes", _train(
        ("            losses.append(loss)\n",
         "            if losses and loss > 10 * losses[0]:\n                return params, losses\n"
         "            losses.append(loss)\n"),
    ), "test_train_two_layer"),
    wrong("train: stops recording when the loss stops changing", _train(
        ("            losses.append(loss)\n",
         "            if losses and loss == losses[-1]:\n                break\n"
         "            losses.append(loss)\n"),
    ), "test_train_two_layer"),
    correct("train: rng.choice without replacement",
            _train(("order = rng_sgd.permutation(N)",
                    "order = rng_sgd.choice(N, size=N, replace=False)"))),
    correct("train: np.array_split, rng.shuffle of an index array, dict comprehension", {
        "train_two_layer": """
def train_two_layer(params, X, y, lr=0.5, reg=1e-4, num_epochs=15, batch_size=32, seed=0):
    rng = np.random.default_rng(seed)
    current = {k: np.array(v, copy=True) for k, v in params.items()}
    losses = []
    for epoch in range(num_epochs):
        index = np.arange(len(X))
        rng.shuffle(index)
        for batch in np.array_split(index, range(batch_size, len(index), batch_size)):
            loss, grads = two_layer_loss(current, X[batch], y[batch], reg=reg)
            losses.append(loss)
            current = {k: v - lr * grads[k] for k, v in current.items()}
    return current, losses
"""}),
]
