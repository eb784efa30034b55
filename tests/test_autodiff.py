"""The scalar engine of lecture 03 against torch.autograd, and its messages for bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from course.autodiff import (
    MLP,
    Neuron,
    Value,
    draw_graph,
    to_networkx,
    topological_order,
    zero_grad,
)

NUM_VARS = 3

# --- random expressions: trees of operations over three variables and constants ---

_leaves = st.one_of(
    st.tuples(st.just("var"), st.integers(0, NUM_VARS - 1)),
    st.tuples(st.just("const"), st.floats(-3, 3, allow_nan=False)),
)


def _extend(children):
    binary = st.tuples(st.sampled_from(["add", "sub", "mul", "div"]), children, children)
    unary = st.tuples(
        st.sampled_from(["neg", "tanh", "exp", "relu", "sigmoid", "log", "sq", "cube", "sqrt"]),
        children,
    )
    return st.one_of(binary, unary)


expressions = st.recursive(_leaves, _extend, max_leaves=12)


def _guard(op: str, a: Value, b: Value | None = None) -> None:
    """Keep the random expression inside the domain where both engines are well defined."""
    if op == "div":
        assume(abs(b.data) > 1e-2)
    elif op in ("log", "sqrt"):
        assume(a.data > 1e-2)
    elif op == "exp":
        assume(a.data < 20)
    elif op == "relu":
        assume(abs(a.data) > 1e-9)  # away from the kink (tested on its own below)


VALUE_OPS = {
    "const": Value,
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "neg": lambda a: -a,
    "tanh": lambda a: a.tanh(),
    "exp": lambda a: a.exp(),
    "relu": lambda a: a.relu(),
    "sigmoid": lambda a: a.sigmoid(),
    "log": lambda a: a.log(),
    "sq": lambda a: a**2,
    "cube": lambda a: a**3,
    "sqrt": lambda a: a**0.5,
}
TORCH_OPS = {
    **{k: VALUE_OPS[k] for k in ("add", "sub", "mul", "div", "neg", "sq", "cube", "sqrt")},
    "const": lambda c: torch.tensor(c, dtype=torch.float64),
    "tanh": torch.tanh,
    "exp": torch.exp,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "log": torch.log,
}


def _evaluate(tree, variables, ops, guard=False):
    kind = tree[0]
    if kind == "var":
        return variables[tree[1]]
    if kind == "const":
        return ops["const"](tree[1])
    args = [_evaluate(child, variables, ops, guard) for child in tree[1:]]
    if guard:
        _guard(kind, *args)
    return ops[kind](*args)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(
    tree=expressions,
    inputs=st.lists(st.floats(-3, 3, allow_nan=False), min_size=NUM_VARS, max_size=NUM_VARS),
)
def test_random_expressions_match_torch_autograd(tree, inputs):
    xs = [Value(v, label=f"x{i}") for i, v in enumerate(inputs)]
    out = _evaluate(tree, xs, VALUE_OPS, guard=True)
    assume(math.isfinite(out.data) and abs(out.data) < 1e8)
    out.backward()

    ts = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in inputs]
    t_out = _evaluate(tree, ts, TORCH_OPS)
    if t_out.requires_grad:  # False for an expression of constants only
        t_out.backward()
    expected = [0.0 if t.grad is None else t.grad.item() for t in ts]
    t_value = t_out.item()

    got = [x.grad for x in xs]
    assert math.isclose(out.data, t_value, rel_tol=1e-9, abs_tol=1e-9)
    scale = 1.0 + max(abs(g) for g in expected)
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-9 * scale)


def test_relu_at_zero_uses_the_same_subgradient_as_torch():
    x = Value(0.0)
    x.relu().backward()
    t = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    torch.relu(t).backward()
    assert x.grad == t.grad.item() == 0.0


@pytest.mark.parametrize("act", ["tanh", "relu", "sigmoid"])
def test_small_mlp_matches_torch(act):
    sizes = [3, 5, 4, 2]
    net = MLP(sizes, act=act, seed=1)
    x_in = [0.5, -1.2, 2.0]
    target = [1.0, -1.0]
    out = net(x_in)
    loss = sum((o - t) ** 2 for o, t in zip(out, target, strict=True))
    loss.backward()

    layers = []
    for i, layer in enumerate(net.layers):
        lin = torch.nn.Linear(sizes[i], sizes[i + 1]).double()
        with torch.no_grad():
            lin.weight.copy_(
                torch.tensor([[w.data for w in n.w] for n in layer], dtype=torch.float64)
            )
            lin.bias.copy_(torch.tensor([n.b.data for n in layer], dtype=torch.float64))
        layers.append(lin)
    activation = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}[act]
    h = torch.tensor(x_in, dtype=torch.float64)
    for i, lin in enumerate(layers):
        h = lin(h)
        if i < len(layers) - 1:
            h = activation(h)
    t_loss = ((h - torch.tensor(target, dtype=torch.float64)) ** 2).sum()
    t_loss.backward()

    assert math.isclose(loss.data, t_loss.item(), rel_tol=1e-12)
    for layer, lin in zip(net.layers, layers, strict=True):
        got_w = np.array([[w.grad for w in n.w] for n in layer])
        got_b = np.array([n.b.grad for n in layer])
        np.testing.assert_allclose(got_w, lin.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(got_b, lin.bias.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_input_gradients_accumulate_like_torch_and_zero_grad_resets_them():
    a, b = Value(2.0), Value(-3.0)
    c = a * b + a.tanh()
    c.backward()
    c.backward()  # a second pass adds to the inputs, and only to the inputs

    ta = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(-3.0, dtype=torch.float64, requires_grad=True)
    tc = ta * tb + torch.tanh(ta)
    tc.backward(retain_graph=True)
    tc.backward()
    assert math.isclose(a.grad, ta.grad.item()) and math.isclose(b.grad, tb.grad.item())

    zero_grad([a, b])
    assert a.grad == b.grad == 0.0


def test_backward_seed_scales_the_gradient():
    x = Value(1.5)
    (x**3).backward(grad=2.0)
    assert math.isclose(x.grad, 2.0 * 3 * 1.5**2)


def test_a_long_chain_does_not_hit_the_recursion_limit():
    x = Value(1.0)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.backward()
    assert math.isclose(x.grad, 1.0001**5000, rel_tol=1e-9)
    assert len(topological_order(y)) == 1 + 2 * 5000  # x, then one constant and one product


def test_graph_export_and_drawing():
    import matplotlib

    matplotlib.use("Agg")
    x, w = Value(2.0, label="x"), Value(-1.0, label="w")
    y = (x * w).tanh()
    y.backward()
    G = to_networkx(y)
    assert G.number_of_nodes() == 4 and G.number_of_edges() == 3
    ops = sorted(op for _, op in G.nodes(data="op"))
    assert ops == ["", "", "*", "tanh"]
    ax = draw_graph(y)
    assert len(ax.texts) == 4



def test_drawn_edges_do_not_run_through_other_nodes():
    import matplotlib

    matplotlib.use("Agg")
    x, w, b, y = (Value(v, label=n) for v, n in [(2.0, "x"), (-0.5, "w"), (0.3, "b"), (1.0, "y")])
    J = ((w * x + b).tanh() - y) ** 2  # the lecture's neuron: one input joins late
    J.backward()
    ax = draw_graph(J)
    G = to_networkx(J)
    assert len(ax.texts) == G.number_of_nodes()
    ax.figure.canvas.draw()
    to_points = ax.transData + ax.figure.dpi_scale_trans.inverted()  # data -> inches
    drawn = list(zip(G, ax.texts, strict=True))  # draw_graph labels the nodes in G's order
    centres = {n: 72 * to_points.transform(t.get_position()) for n, t in drawn}
    names = {n: t.get_text().split("\n")[0] for n, t in drawn}
    radius = np.sqrt(2600 / np.pi)  # draw_graph's node_size is an area in points^2
    for a in G:
        for b in G:
            if a != b:
                gap = np.linalg.norm(centres[a] - centres[b])
                assert gap > 2 * radius, f"nodes {names[a]} and {names[b]} overlap"
    for u, v in G.edges():
        p, q = centres[u], centres[v]
        for n in G:
            if n in (u, v):
                continue
            c = centres[n]
            t = np.clip(np.dot(c - p, q - p) / np.dot(q - p, q - p), 0, 1)
            gap = np.linalg.norm(p + t * (q - p) - c)
            assert gap > radius, f"edge {names[u]} -> {names[v]} crosses {names[n]}"


# --- messages for bad input ---


@pytest.mark.parametrize(
    "bad, words",
    [
        ("3", "real number"),
        (True, "real number"),
        (None, "real number"),
        (np.ones(3), "one Value per entry"),
        ([1.0, 2.0], "real number"),
    ],
)
def test_value_rejects_what_is_not_one_real_number(bad, words):
    with pytest.raises(TypeError, match=words):
        Value(bad)


def test_operand_that_is_not_a_number_is_named():
    with pytest.raises(TypeError, match="other operand"):
        Value(1.0) + "2"


def test_domain_errors_say_what_went_wrong():
    with pytest.raises(ZeroDivisionError, match="holds 0"):
        Value(1.0) / Value(0.0)
    with pytest.raises(ZeroDivisionError, match="negative power"):
        Value(0.0) ** -1
    with pytest.raises(ValueError, match="positive"):
        Value(-1.0).log()
    with pytest.raises(ValueError, match="integer exponent"):
        Value(-2.0) ** 0.5
    with pytest.raises(TypeError, match="plain number"):
        Value(2.0) ** Value(2.0)
    with pytest.raises(OverflowError, match="too large"):
        Value(1000.0).exp()
    with pytest.raises(TypeError, match="grad"):
        Value(1.0).backward(grad="one")
    with pytest.raises(TypeError, match="root must be a Value"):
        topological_order(3.0)


def test_model_constructors_check_their_arguments():
    with pytest.raises(ValueError, match="act must be one of"):
        Neuron(2, act="softplus")
    with pytest.raises(ValueError, match="n_in"):
        Neuron(0)
    with pytest.raises(ValueError, match="takes 2 inputs; got 3"):
        Neuron(2)([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="input and an output width"):
        MLP([3])
    with pytest.raises(ValueError, match="one local derivative per parent"):
        Value(1.0, parents=(Value(2.0),), local_grads=())
