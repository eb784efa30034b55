"""The scalar autograd engine that lecture 03 writes in its cells, checked against
``torch.autograd`` (SYLLABUS L03: "a tiny scalar autograd engine built in the notebook and
checked against torch.autograd").

The cells of ``notebook_sources/lectures/03_backpropagation.py`` whose first line is
``# check: L03 autograd engine`` or ``# check: L03 engine MLP`` are executed in a namespace
holding the lecture's imports (``math``, ``np``); the tests then build expressions, graphs
with shared nodes and a small MLP with the lecture's ``Value`` and compare every gradient with
PyTorch in float64. The exercise solutions are proven by tests/test_notebooks.py (nbrun).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tools import nbbuild

SOURCE = nbbuild.SOURCES / "lectures" / "03_backpropagation.py"
MARKS = ("# check: L03 autograd engine", "# check: L03 engine MLP")


@pytest.fixture(scope="module")
def l03() -> dict:
    cells = nbbuild.parse_source(SOURCE.read_text(), SOURCE.name)
    namespace: dict = {"math": math, "np": np}
    for mark in MARKS:
        found = [
            "\n".join(c["lines"])
            for c in cells
            if not c["options"]["markdown"] and c["lines"] and c["lines"][0].startswith(mark)
        ]
        assert len(found) == 1, f"{SOURCE.name}: expected one cell starting with {mark!r}"
        exec(compile(found[0], str(SOURCE), "exec"), namespace)  # our own notebook code
    return namespace


def expression(a, b, c, tanh, exp, relu):
    """Every operation of the engine, reflected ones included (typed again, not imported)."""
    u = tanh(a * b + c / (1 + a**2))
    v = exp(-b) / (2 + u) - relu(c - a) * u + 3 - a
    return u * v + (a - c) ** 3 / 7 - 1 / (a + 2) + 2 * b**2 - (b / c) ** -1


@pytest.mark.parametrize("seed", range(5))
def test_engine_gradients_equal_torch_on_an_expression_with_every_operation(l03, seed):
    Value = l03["Value"]
    rng = np.random.default_rng(seed)
    inputs = dict(zip("abc", rng.uniform(0.2, 2.0, 3) * rng.choice([-1, 1], 3), strict=True))
    values = {k: Value(v) for k, v in inputs.items()}
    out = expression(**values, tanh=Value.tanh, exp=Value.exp, relu=Value.relu)
    out.backward()
    tensors = {
        k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in inputs.items()
    }
    out_t = expression(**tensors, tanh=torch.tanh, exp=torch.exp, relu=torch.relu)
    out_t.backward()
    assert out.data == pytest.approx(out_t.item(), rel=1e-12)
    for k in inputs:
        assert values[k].grad == pytest.approx(tensors[k].grad.item(), rel=1e-10, abs=1e-12), k


def test_a_value_used_twice_gets_both_contributions(l03):
    Value = l03["Value"]
    x = Value(3.0)
    (x * x).backward()
    assert x.grad == 6.0  # d(x²)/dx = 2x: both paths add up
    x = Value(0.7)
    a = x.tanh()
    y = a * x + a.exp()  # a diamond: x reaches y through a twice and directly once
    y.backward()
    t = math.tanh(0.7)
    assert x.grad == pytest.approx((1 - t**2) * (0.7 + math.exp(t)) + t, rel=1e-12)


def test_backward_twice_gives_the_same_gradients_and_relu_at_zero_is_zero(l03):
    Value = l03["Value"]
    x = Value(2.0)
    y = (x**3).relu() + Value(-1.0).relu() * x
    y.backward()
    first = x.grad
    y.backward()  # the lecture's engine restarts from zero on every backward pass
    assert x.grad == first == 12.0
    zero = torch.zeros((), dtype=torch.float64, requires_grad=True)
    torch.relu(zero).backward()
    z = Value(0.0)
    z.relu().backward()
    assert z.grad == zero.grad.item() == 0.0  # PyTorch's choice of derivative at the kink


def test_engine_mlp_gradients_equal_torch(l03):
    layers = l03["init_value_mlp"]([4, 5, 3, 2], seed=7)
    x_in, target = [0.3, -1.2, 0.8, 2.0], [0.5, -1.0]
    outputs = l03["mlp_forward"](layers, x_in)
    loss = sum((o - t) ** 2 for o, t in zip(outputs, target, strict=True))
    loss.backward()
    params = l03["mlp_parameters"](layers)
    assert len(params) == (4 + 1) * 5 + (5 + 1) * 3 + (3 + 1) * 2

    h = torch.tensor(x_in, dtype=torch.float64)
    grads = []
    for i, layer in enumerate(layers):
        W = torch.tensor([[w.data for w in ws] for ws, _ in layer], dtype=torch.float64)
        b = torch.tensor([bias.data for _, bias in layer], dtype=torch.float64)
        W.requires_grad_(), b.requires_grad_()
        grads.append((W, b))
        h = W @ h + b
        h = h if i == len(layers) - 1 else torch.tanh(h)
    loss_t = ((h - torch.tensor(target, dtype=torch.float64)) ** 2).sum()
    loss_t.backward()
    theirs = torch.cat([torch.column_stack([W.grad, b.grad]).ravel() for W, b in grads])
    assert loss.data == pytest.approx(loss_t.item(), rel=1e-12)
    np.testing.assert_allclose([p.grad for p in params], theirs.numpy(), rtol=1e-10, atol=1e-12)
