"""A tiny reverse-mode automatic differentiation engine on scalars (lecture 03).

Every arithmetic operation on :class:`Value` objects builds a node of a computational graph
and records two things: the nodes it was computed from (its *parents*) and the *local
derivatives* of its result with respect to each parent. :meth:`Value.backward` then walks the
graph once from the output back to the inputs, applying the chain rule at every node:

    parent.grad += (d node / d parent) * node.grad

This is backpropagation: one backward pass gives the derivative of one scalar output with
respect to every input, at about the cost of the forward pass.

>>> x = Value(2.0, label="x")
>>> y = (3 * x**3 + 2) ** 2          # y = f(g(x)), f(u) = u², g(x) = 3x³ + 2
>>> y.backward()
>>> x.grad, 54 * 2.0**5 + 36 * 2.0**2  # dy/dx = 54x⁵ + 36x²
(1872.0, 1872.0)
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Iterable, Sequence

__all__ = ["Value", "topological_order", "zero_grad", "Neuron", "MLP", "to_networkx", "draw_graph"]


def _as_float(data, what: str = "a Value") -> float:
    """The float inside ``data`` (a real number), or a TypeError that says what went wrong."""
    if isinstance(data, Value):
        return data.data
    if isinstance(data, bool) or not isinstance(data, numbers.Real):
        shape = getattr(data, "shape", None)
        hint = (
            f" with shape {tuple(shape)}: this engine works on scalars, so make one Value per "
            "entry (e.g. [Value(v) for v in array.ravel()])"
            if shape not in (None, ())
            else ""
        )
        raise TypeError(
            f"{what} holds one real number (int or float); got {type(data).__name__}{hint}"
        )
    return float(data)


class Value:
    """One real number that remembers how it was computed, so that it can be differentiated.

    ``data`` is the number, ``grad`` the derivative of the output on which :meth:`backward`
    was last called with respect to this number (0 until then). ``label`` is an optional
    name used when the graph is drawn.

    >>> a, b = Value(3.0, label="a"), Value(-2.0, label="b")
    >>> c = a * b + a          # c = ab + a
    >>> c.backward()
    >>> c.data, a.grad, b.grad  # dc/da = b + 1, dc/db = a
    (-3.0, -1.0, 3.0)
    """

    def __init__(
        self,
        data: float,
        parents: Sequence[Value] = (),
        local_grads: Sequence[float] = (),
        op: str = "",
        label: str = "",
    ):
        self.data = _as_float(data)
        self.grad = 0.0
        if len(parents) != len(local_grads):
            raise ValueError(
                f"need one local derivative per parent; got {len(parents)} parents and "
                f"{len(local_grads)} local derivatives"
            )
        self._parents = tuple(parents)
        self._local_grads = tuple(float(g) for g in local_grads)
        self.op = op
        self.label = label

    def __repr__(self) -> str:
        name = f"{self.label}: " if self.label else ""
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g})"

    # --- building blocks: each returns a new node with its parents and local derivatives ---

    def __add__(self, other) -> Value:
        other = _wrap(other)
        return Value(self.data + other.data, (self, other), (1.0, 1.0), "+")

    def __mul__(self, other) -> Value:
        other = _wrap(other)
        return Value(self.data * other.data, (self, other), (other.data, self.data), "*")

    def __truediv__(self, other) -> Value:
        other = _wrap(other)
        if other.data == 0:
            raise ZeroDivisionError(
                f"cannot divide {self.data:g} by a Value that holds 0 "
                f"(label {other.label!r}, made by {other.op or 'the user'!r})"
            )
        inv = 1.0 / other.data
        return Value(self.data * inv, (self, other), (inv, -self.data * inv * inv), "/")

    def __pow__(self, exponent) -> Value:
        if isinstance(exponent, Value) or not isinstance(exponent, numbers.Real):
            raise TypeError(
                "the exponent must be a plain number such as 2 or 0.5; got "
                f"{type(exponent).__name__} (for a Value exponent write (b * a.log()).exp())"
            )
        k = float(exponent)
        if self.data == 0 and k < 0:
            raise ZeroDivisionError(f"0 cannot be raised to the negative power {k:g}")
        if self.data < 0 and not k.is_integer():
            raise ValueError(
                f"a negative number ({self.data:g}) has no real power {k:g}; "
                "use an integer exponent"
            )
        local = k * self.data ** (k - 1) if k != 0 else 0.0
        return Value(self.data**k, (self,), (local,), f"**{k:g}")

    def exp(self) -> Value:
        try:
            out = math.exp(self.data)
        except OverflowError:
            raise OverflowError(f"exp({self.data:g}) is too large for a float") from None
        return Value(out, (self,), (out,), "exp")

    def log(self) -> Value:
        if self.data <= 0:
            raise ValueError(f"log needs a positive number; got {self.data:g}")
        return Value(math.log(self.data), (self,), (1.0 / self.data,), "log")

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        return Value(t, (self,), (1.0 - t * t,), "tanh")

    def sigmoid(self) -> Value:
        z = self.data
        s = 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
        return Value(s, (self,), (s * (1.0 - s),), "sigmoid")

    def relu(self) -> Value:
        # At 0 we pick the subgradient 0, as PyTorch does.
        return Value(max(self.data, 0.0), (self,), (1.0 if self.data > 0 else 0.0,), "relu")

    # --- the rest is written with the building blocks ---

    def __neg__(self) -> Value:
        return self * -1.0

    def __sub__(self, other) -> Value:
        return self + (-_wrap(other))

    def __radd__(self, other) -> Value:
        return self + other

    def __rmul__(self, other) -> Value:
        return self * other

    def __rsub__(self, other) -> Value:
        return _wrap(other) - self

    def __rtruediv__(self, other) -> Value:
        return _wrap(other) / self

    # --- the backward pass ---

    def backward(self, grad: float = 1.0) -> None:
        """Fill ``.grad`` of every node that this Value depends on: d self / d node.

        Nodes are visited in reverse topological order (a node only after every node that
        uses it), so each node's ``grad`` is complete before it is passed on to its parents.
        Gradients of the *inputs* (nodes with no parents) add up over calls, as in PyTorch:
        call :func:`zero_grad` between two backward passes.
        """
        seed = _as_float(grad, "grad")
        order = topological_order(self)
        for node in order:
            if node._parents:  # intermediate results start from 0 on every pass
                node.grad = 0.0
        self.grad += seed
        for node in reversed(order):
            for parent, local in zip(node._parents, node._local_grads, strict=True):
                parent.grad += local * node.grad


def _wrap(x) -> Value:
    return x if isinstance(x, Value) else Value(_as_float(x, "the other operand"))


def topological_order(root: Value) -> list[Value]:
    """Every node that ``root`` depends on, inputs first and ``root`` last.

    Written with an explicit stack, so that deep graphs (long chains) do not hit Python's
    recursion limit.

    >>> x = Value(1.0, label="x")
    >>> y = x * x + 1
    >>> [n.op or n.label for n in topological_order(y)][-1]
    '+'
    """
    if not isinstance(root, Value):
        raise TypeError(f"root must be a Value; got {type(root).__name__}")
    order: list[Value] = []
    visited: set[int] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        stack.extend((p, False) for p in node._parents if id(p) not in visited)
    return order


def zero_grad(values: Iterable[Value]) -> None:
    """Set ``grad`` to 0 for each Value in ``values`` (e.g. the parameters of a model)."""
    for v in values:
        v.grad = 0.0


class Neuron:
    """``act(w · x + b)`` on a list of Values ``x: (n_in,)``; weights drawn uniformly in
    [-1, 1] from ``random.Random(seed)``. ``act`` is "tanh", "relu", "sigmoid" or "linear".
    """

    _ACTS = ("tanh", "relu", "sigmoid", "linear")

    def __init__(self, n_in: int, act: str = "tanh", seed: int = 0):
        if act not in self._ACTS:
            raise ValueError(f"act must be one of {self._ACTS}; got {act!r}")
        if n_in < 1:
            raise ValueError(f"n_in must be at least 1; got {n_in}")
        rng = random.Random(seed)
        self.w = [Value(rng.uniform(-1, 1), label="w") for _ in range(n_in)]
        self.b = Value(0.0, label="b")
        self.act = act

    def __call__(self, x: Sequence) -> Value:
        if len(x) != len(self.w):
            raise ValueError(f"this neuron takes {len(self.w)} inputs; got {len(x)}")
        z = sum((wi * xi for wi, xi in zip(self.w, x, strict=True)), self.b)
        return z if self.act == "linear" else getattr(z, self.act)()

    def parameters(self) -> list[Value]:
        return [*self.w, self.b]


class MLP:
    """A multilayer perceptron of :class:`Neuron` layers on scalar Values.

    ``sizes`` lists the widths from input to output, e.g. ``[2, 4, 1]``; hidden layers use
    ``act`` and the last layer is linear. Calling it on ``x: (sizes[0],)`` numbers returns a
    list of ``sizes[-1]`` Values.

    >>> net = MLP([2, 3, 1])
    >>> len(net.parameters())  # (2 + 1) * 3 + (3 + 1) * 1
    13
    >>> out = net([1.0, -1.0])[0]
    >>> out.backward()
    >>> all(p.grad != 0 for p in net.layers[-1][0].parameters())
    True
    """

    def __init__(self, sizes: Sequence[int], act: str = "tanh", seed: int = 0):
        if len(sizes) < 2:
            raise ValueError(f"sizes needs an input and an output width, e.g. [2, 1]; got {sizes}")
        self.layers = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=False)):
            layer_act = "linear" if i == len(sizes) - 2 else act
            layer = [
                Neuron(n_in, layer_act, seed=seed * 100_003 + 1009 * i + j) for j in range(n_out)
            ]
            self.layers.append(layer)

    def __call__(self, x: Sequence) -> list[Value]:
        for layer in self.layers:
            x = [neuron(x) for neuron in layer]
        return x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for neuron in layer for p in neuron.parameters()]


def to_networkx(root: Value):
    """The graph behind ``root`` as a ``networkx.DiGraph`` with edges parent → child.

    Node attributes: ``data``, ``grad``, ``op`` ("" for inputs) and ``label``.

    >>> x = Value(3.0, label="x")
    >>> G = to_networkx(x * x)
    >>> G.number_of_nodes(), G.number_of_edges()  # x is used twice: two parallel edges
    (2, 2)
    """
    import networkx as nx

    G = nx.MultiDiGraph()
    for node in topological_order(root):
        G.add_node(id(node), data=node.data, grad=node.grad, op=node.op, label=node.label)
        for parent in node._parents:
            G.add_edge(id(parent), id(node))
    return G


def _rows(G, root_id: int) -> dict:
    """A vertical position per node, so that edges do not run through other nodes: the
    inputs take the rows 0, 1, 2, ... in the order in which a walk from the output back to
    the inputs meets them (operands in order), and each operation sits at the mean row of its
    operands. A tree is then drawn without crossings; a shared value keeps its first row.

    >>> x, w = Value(2.0, label="x"), Value(3.0, label="w")
    >>> out = x * w + x
    >>> rows = _rows(to_networkx(out), id(out))
    >>> rows[id(x)], rows[id(w)], rows[id(out)]  # x is met first; out sits between x and x*w
    (0.0, 1.0, 0.25)
    """
    rows: dict = {}
    next_row = 0.0
    stack = [(root_id, False)]
    while stack:  # an iterative post-order walk: deep graphs do not hit the recursion limit
        node, operands_done = stack.pop()
        if node in rows:
            continue
        operands = list(dict.fromkeys(G.predecessors(node)))
        if not operands:
            rows[node], next_row = next_row, next_row + 1
        elif operands_done:
            rows[node] = sum(rows[o] for o in operands) / len(operands)
        else:
            stack.append((node, True))
            stack.extend((o, False) for o in reversed(operands) if o not in rows)
    return rows


def draw_graph(root: Value, ax=None, show_grad: bool = True):
    """Draw the computational graph of ``root``, inputs on the left, output on the right.

    Each node shows its operation (or its label for an input), its value and, with
    ``show_grad``, its gradient. Returns the matplotlib axes.
    """
    import matplotlib.pyplot as plt
    import networkx as nx

    G = to_networkx(root)
    depth = {}
    for level, generation in enumerate(nx.topological_generations(G)):
        for n in generation:
            depth[n] = level
    for n in G:  # draw each input just left of the first operation that uses it
        if G.in_degree(n) == 0 and G.out_degree(n) > 0:
            depth[n] = min(depth[c] for c in G.successors(n)) - 1
    rows = _rows(G, id(root))
    pos = {n: (float(depth[n]), -row) for n, row in rows.items()}
    if ax is None:
        columns = max(depth.values()) - min(depth.values()) + 1
        height = max(1.2 * (max(rows.values()) + 1), 2.5)  # 1.2 inches per input row
        _, ax = plt.subplots(figsize=(max(1.7 * columns, 4), height))
    labels = {}
    colours = []
    for n, attrs in G.nodes(data=True):
        head = attrs["op"] or "input"
        if attrs["label"]:
            head += f" {attrs['label']}"
        text = f"{head}\n{attrs['data']:.3g}"
        if show_grad:
            text += f"\ngrad {attrs['grad']:.3g}"
        labels[n] = text
        colours.append("#cfe3f7" if not attrs["op"] else "#fde2c4")
    nx.draw_networkx_edges(G, pos, ax=ax, node_size=2600, arrowsize=14, edge_color="0.4")
    nx.draw_networkx_nodes(G, pos, ax=ax, node_size=2600, node_color=colours, edgecolors="0.3")
    nx.draw_networkx_labels(G, pos, labels, ax=ax, font_size=7)
    ax.set_axis_off()
    ax.margins(0.12)
    return ax
