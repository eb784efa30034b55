"""Graphs as tensors, and graph convolutional networks (Kipf & Welling, 2017) written out.

Convention (the same as PyTorch Geometric's): ``edge_index: (2, E)`` holds an edge
``source -> target`` in each column, and a dense adjacency has ``A[i, j] = 1`` when there is an
edge ``j -> i``, so that ``A @ X`` sums, for every node ``i``, the features of the nodes whose
messages reach it. An undirected graph lists each edge in both directions and has a symmetric
``A``. Nodes are numbered in the order ``list(G)``.

The GCN propagation matrix is ``A_hat = D~^{-1/2} (A + I) D~^{-1/2}`` with ``D~`` the diagonal
of the row sums of ``A + I`` (in-degree + 1). :func:`normalized_adjacency` builds it dense (for
teaching), :func:`normalized_adjacency_sparse` as a ``torch.sparse`` matrix (for graphs with
thousands of nodes); :class:`GCNLayer` computes ``A_hat X W^T + b`` with either.

>>> import networkx as nx
>>> A = adjacency(nx.path_graph(3))
>>> A.tolist()
[[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
>>> [round(v, 4) for v in normalized_adjacency(A).diagonal().tolist()]  # 1 / (degree + 1)
[0.5, 0.3333, 0.5]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

__all__ = [
    "edge_index",
    "adjacency",
    "edge_index_to_dense",
    "edge_index_to_sparse",
    "normalized_adjacency",
    "normalized_adjacency_sparse",
    "GCNLayer",
    "GCN",
    "MessagePassingLayer",
    "masked_accuracy",
    "train_node_classifier",
]

AGGREGATIONS = ("sum", "mean", "max")


def edge_index(G) -> torch.Tensor:
    """Edges of the networkx graph ``G`` as ``(2, E)`` int64 (row 0 source, row 1 target).

    An undirected edge appears once in each direction; nodes are numbered as ``list(G)``.

    >>> import networkx as nx
    >>> edge_index(nx.path_graph(3)).tolist()
    [[0, 1, 1, 2], [1, 0, 2, 1]]
    """
    index = {node: i for i, node in enumerate(G)}
    pairs = [(index[u], index[v]) for u, v in G.edges()]
    if not G.is_directed():
        pairs += [(v, u) for u, v in pairs if u != v]
    pairs = sorted(set(pairs))
    if not pairs:
        return torch.zeros(2, 0, dtype=torch.int64)
    return torch.tensor(pairs, dtype=torch.int64).T.contiguous()


def adjacency(G, weight: str | None = None, dtype=torch.float32) -> torch.Tensor:
    """Dense adjacency ``A: (n, n)`` of ``G`` with ``A[i, j]`` for the edge ``j -> i``.

    ``weight=None`` (the default) gives 0/1 entries whatever the edges carry; ``weight="weight"``
    uses that edge attribute (networkx's ``to_numpy_array`` default, which for the karate club
    returns interaction counts up to 7, not 0/1).

    >>> import networkx as nx
    >>> adjacency(nx.DiGraph([(0, 1)])).tolist()  # the edge 0 -> 1 is A[1, 0]
    [[0.0, 0.0], [1.0, 0.0]]
    """
    import networkx as nx

    A = nx.to_numpy_array(G, nodelist=list(G), weight=weight)  # A_nx[u, v]: edge u -> v
    return torch.as_tensor(A.T.copy(), dtype=dtype)


def _check_edge_index(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    edge_index = torch.as_tensor(edge_index)
    if edge_index.ndim != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"edge_index must have shape (2, E); got {tuple(edge_index.shape)}")
    if edge_index.is_floating_point():
        raise ValueError(f"edge_index must hold integers; got {edge_index.dtype}")
    if edge_index.numel() and (edge_index.min() < 0 or edge_index.max() >= num_nodes):
        raise ValueError(f"edge_index must hold node numbers in 0..{num_nodes - 1}")
    return edge_index.long()


def edge_index_to_dense(edge_index, num_nodes: int, edge_weight=None, dtype=torch.float32):
    """Dense ``A: (n, n)`` with ``A[target, source] = weight`` (1 by default); repeated edges
    add up.

    >>> edge_index_to_dense(torch.tensor([[0, 0], [1, 2]]), 3).tolist()
    [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    """
    edge_index = _check_edge_index(edge_index, num_nodes)
    values = _weights(edge_index, edge_weight, dtype)
    A = torch.zeros(num_nodes, num_nodes, dtype=dtype)
    return A.index_put_((edge_index[1], edge_index[0]), values, accumulate=True)


def _weights(edge_index, edge_weight, dtype):
    if edge_weight is None:
        return torch.ones(edge_index.shape[1], dtype=dtype)
    edge_weight = torch.as_tensor(edge_weight, dtype=dtype)
    if edge_weight.shape != (edge_index.shape[1],):
        raise ValueError(
            f"edge_weight must have shape ({edge_index.shape[1]},); got {tuple(edge_weight.shape)}"
        )
    return edge_weight


def edge_index_to_sparse(edge_index, num_nodes: int, edge_weight=None, dtype=torch.float32):
    """The same matrix as :func:`edge_index_to_dense`, as a coalesced sparse COO tensor.

    >>> S = edge_index_to_sparse(torch.tensor([[0, 0], [1, 2]]), 3)
    >>> S.is_sparse, S._nnz(), S.to_dense()[1:, 0].tolist()
    (True, 2, [1.0, 1.0])
    """
    edge_index = _check_edge_index(edge_index, num_nodes)
    values = _weights(edge_index, edge_weight, dtype)
    indices = edge_index.flip(0)  # (row, col) = (target, source)
    return torch.sparse_coo_tensor(
        indices, values, (num_nodes, num_nodes), check_invariants=False  # indices checked above
    ).coalesce()


def normalized_adjacency(A, add_self_loops: bool = True) -> torch.Tensor:
    """``A_hat = D~^{-1/2} (A + I) D~^{-1/2}`` with ``D~ = diag(rowsum(A + I))``; dense.

    A: (n, n) tensor or array, 0/1 or non-negative weights, ``A[i, j]`` for the edge j -> i.
    Not modified. A floating ``A`` keeps its dtype; integer or boolean input gives float32.
    Without self-loops, a node with no incoming edge has degree 0 and gets a zero row and
    column (``0^{-1/2}`` is taken as 0, as PyTorch Geometric does).

    >>> normalized_adjacency(torch.zeros(2, 2)).tolist()  # isolated nodes keep themselves
    [[1.0, 0.0], [0.0, 1.0]]
    """
    A = torch.as_tensor(np.asarray(A) if not torch.is_tensor(A) else A)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be a square matrix (n, n); got shape {tuple(A.shape)}")
    if not A.is_floating_point():
        A = A.to(torch.get_default_dtype())
    if (A < 0).any():
        raise ValueError("A must have non-negative entries (edge weights)")
    if add_self_loops:
        A = A + torch.eye(A.shape[0], dtype=A.dtype, device=A.device)
    deg = A.sum(dim=1)  # (n,) in-degree (+ 1)
    inv_sqrt = torch.where(deg > 0, deg.clamp(min=torch.finfo(A.dtype).tiny).rsqrt(), 0.0)
    return inv_sqrt[:, None] * A * inv_sqrt[None, :]


def normalized_adjacency_sparse(
    edge_index, num_nodes: int, edge_weight=None, add_self_loops: bool = True,
    dtype=torch.float32,
) -> torch.Tensor:
    """:func:`normalized_adjacency` as a sparse COO tensor, built from ``edge_index: (2, E)``
    without ever forming the dense ``(n, n)`` matrix (memory O(n + E)).

    >>> ei = edge_index(__import__("networkx").path_graph(3))
    >>> dense = normalized_adjacency(edge_index_to_dense(ei, 3))
    >>> torch.allclose(normalized_adjacency_sparse(ei, 3).to_dense(), dense)
    True
    """
    edge_index = _check_edge_index(edge_index, num_nodes)
    values = _weights(edge_index, edge_weight, dtype)
    if add_self_loops:
        loops = torch.arange(num_nodes).repeat(2, 1)
        edge_index = torch.cat([edge_index, loops], dim=1)
        values = torch.cat([values, torch.ones(num_nodes, dtype=dtype)])
    source, target = edge_index
    deg = torch.zeros(num_nodes, dtype=dtype).index_add_(0, target, values)  # in-degree (+ 1)
    inv_sqrt = torch.where(deg > 0, deg.clamp(min=torch.finfo(dtype).tiny).rsqrt(), 0.0)
    values = inv_sqrt[target] * values * inv_sqrt[source]
    return torch.sparse_coo_tensor(
        torch.stack([target, source]), values, (num_nodes, num_nodes), check_invariants=False
    ).coalesce()


class GCNLayer(nn.Module):
    """One graph convolution: ``H' = A_hat H W^T + b`` (no activation).

    ``forward(H, A_hat)`` with H: (n, in_features) and A_hat: (n, n), dense or sparse. The
    parameters are ``lin.weight: (out, in)`` and a separate ``bias: (out,)``, the layout of
    PyTorch Geometric's ``GCNConv``, so its state can be copied over.

    >>> layer = GCNLayer(4, 2)
    >>> layer(torch.ones(3, 4), torch.eye(3)).shape
    torch.Size([3, 2])
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.lin = nn.Linear(in_features, out_features, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, H: torch.Tensor, A_hat: torch.Tensor) -> torch.Tensor:
        if H.ndim != 2 or A_hat.shape != (H.shape[0], H.shape[0]):
            raise ValueError(
                f"H must be (n, features) and A_hat (n, n); got {tuple(H.shape)} and "
                f"{tuple(A_hat.shape)}"
            )
        out = self.lin(H)  # (n, out): transform first, the cheaper order when out < in
        out = torch.sparse.mm(A_hat, out) if A_hat.is_sparse else A_hat @ out
        return out + self.bias if self.bias is not None else out


class GCN(nn.Module):
    """Two (or more) GCN layers with ReLU and dropout between them: logits ``(n, classes)``.

    ``dims = (in, hidden..., classes)``. ``forward(X, A_hat, return_hidden=False)``; with
    ``return_hidden=True`` it returns ``(logits, hidden)``, the last hidden layer after ReLU.

    >>> GCN((5, 2, 3))(torch.ones(4, 5), torch.eye(4)).shape
    torch.Size([4, 3])
    """

    def __init__(self, dims: tuple[int, ...], dropout: float = 0.0,
                 activation: Callable = torch.relu):
        super().__init__()
        if len(dims) < 2:
            raise ValueError(f"dims must list at least (in, out); got {dims}")
        pairs = zip(dims[:-1], dims[1:], strict=True)
        self.layers = nn.ModuleList(GCNLayer(a, b) for a, b in pairs)
        self.dropout = nn.Dropout(dropout)
        self.activation = activation

    def forward(self, X, A_hat, return_hidden: bool = False):
        H = X
        for layer in self.layers[:-1]:
            H = self.activation(layer(self.dropout(H), A_hat))
        logits = self.layers[-1](self.dropout(H), A_hat)
        return (logits, H) if return_hidden else logits


class MessagePassingLayer(nn.Module):
    """Generic message passing: ``h_i' = act(W_self h_i + W_neigh AGG_{j -> i} h_j + b)``.

    ``aggregate`` is ``"sum"``, ``"mean"`` or ``"max"`` over the incoming edges of ``i``
    (0 for a node without any); this is GraphSAGE's update with a choice of aggregator.
    ``forward(H, edge_index)`` with H: (n, in) and edge_index: (2, E).

    >>> mp = MessagePassingLayer(1, 1, aggregate="max", activation=None)
    >>> with torch.no_grad():
    ...     _ = mp.self_lin.weight.fill_(0), mp.neigh_lin.weight.fill_(1), mp.neigh_lin.bias.zero_()
    >>> mp(torch.tensor([[1.0], [5.0], [3.0]]), torch.tensor([[1, 2], [0, 0]])).flatten().tolist()
    [5.0, 0.0, 0.0]
    """

    def __init__(self, in_features: int, out_features: int, aggregate: str = "mean",
                 activation: Callable | None = torch.relu):
        super().__init__()
        if aggregate not in AGGREGATIONS:
            raise ValueError(f"aggregate must be one of {AGGREGATIONS}; got {aggregate!r}")
        self.aggregate = aggregate
        self.self_lin = nn.Linear(in_features, out_features, bias=False)
        self.neigh_lin = nn.Linear(in_features, out_features)
        self.activation = activation

    @staticmethod
    def aggregate_messages(H, edge_index, how: str) -> torch.Tensor:
        """``AGG_{j -> i} H[j]`` for every node i: (n, features); 0 where nothing arrives."""
        edge_index = _check_edge_index(edge_index, H.shape[0])
        source, target = edge_index
        out = torch.zeros_like(H)
        index = target[:, None].expand(-1, H.shape[1])  # (E, features)
        reduce = {"sum": "sum", "mean": "mean", "max": "amax"}[how]
        return out.scatter_reduce(0, index, H[source], reduce, include_self=False)

    def forward(self, H: torch.Tensor, edge_index) -> torch.Tensor:
        agg = self.aggregate_messages(H, edge_index, self.aggregate)
        out = self.self_lin(H) + self.neigh_lin(agg)
        return self.activation(out) if self.activation is not None else out


def masked_accuracy(logits, y, mask) -> float:
    """Accuracy of ``argmax(logits)`` against ``y`` on the nodes where ``mask`` is True.

    >>> masked_accuracy(torch.tensor([[1., 0], [0, 1], [1, 0]]), torch.tensor([0, 0, 0]),
    ...                 torch.tensor([True, False, True]))
    1.0
    """
    mask = torch.as_tensor(mask, dtype=torch.bool)
    if not mask.any():
        raise ValueError("mask selects no node")
    pred = logits.argmax(dim=1)
    return (pred[mask] == torch.as_tensor(y)[mask]).double().mean().item()


def train_node_classifier(
    model: nn.Module, X, A_hat, y, train_mask, num_epochs: int = 200, lr: float = 0.01,
    weight_decay: float = 5e-4, callback: Callable | None = None,
) -> dict:
    """Semi-supervised node classification: Adam on the cross-entropy of the nodes in
    ``train_mask`` only; every node's features flow through the graph.

    X: (n, features), A_hat: (n, n) dense or sparse, y: (n,) int64 (labels outside the mask
    are used only to report ``test_acc``, the accuracy on the other nodes), train_mask: (n,)
    bool. ``callback(epoch, model)`` runs after every step (e.g. to save snapshots). Returns a
    dict of lists ``loss``, ``train_acc``, ``test_acc`` (one entry per epoch).
    """
    y = torch.as_tensor(y)
    train_mask = torch.as_tensor(train_mask, dtype=torch.bool)
    if train_mask.shape != y.shape or X.shape[0] != y.shape[0]:
        raise ValueError(
            f"X (n, f), y (n,) and train_mask (n,) must agree; got {tuple(X.shape)}, "
            f"{tuple(y.shape)}, {tuple(train_mask.shape)}"
        )
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    history: dict = {"loss": [], "train_acc": [], "test_acc": []}
    for epoch in range(num_epochs):
        model.train()
        optimizer.zero_grad()
        logits = model(X, A_hat)
        loss = nn.functional.cross_entropy(logits[train_mask], y[train_mask])
        loss.backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            logits = model(X, A_hat)
        history["loss"].append(loss.item())
        history["train_acc"].append(masked_accuracy(logits, y, train_mask))
        history["test_acc"].append(
            masked_accuracy(logits, y, ~train_mask) if (~train_mask).any() else float("nan")
        )
        if callback is not None:
            callback(epoch, model)
    return history
