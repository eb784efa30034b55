"""course.graphs against closed forms on tiny graphs, dense against sparse, and PyTorch
Geometric's GCNConv (skipped with a reason where it is not installed)."""

from __future__ import annotations

import math
import warnings

import networkx as nx
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course import data, graphs


def _closed_form(A: np.ndarray) -> np.ndarray:
    """D~^{-1/2}(A + I)D~^{-1/2} entry by entry, with loops (the independent reference)."""
    n = len(A)
    At = A + np.eye(n)
    d = At.sum(axis=1)
    return np.array([[At[i, j] / math.sqrt(d[i] * d[j]) for j in range(n)] for i in range(n)])


def _random_graph(n: int, p: float, seed: int, directed: bool = False, isolated: int = 0):
    G = nx.gnp_random_graph(n, p, seed=seed, directed=directed)
    G.add_nodes_from(range(n, n + isolated))  # nodes with no edge at all
    return G


def test_edge_index_lists_both_directions_of_an_undirected_edge():
    assert graphs.edge_index(nx.path_graph(3)).tolist() == [[0, 1, 1, 2], [1, 0, 2, 1]]
    assert graphs.edge_index(nx.DiGraph([(0, 1), (2, 1)])).tolist() == [[0, 2], [1, 1]]
    assert graphs.edge_index(nx.empty_graph(3)).shape == (2, 0)


def test_adjacency_direction_convention():
    """A[i, j] = 1 for the edge j -> i: A @ x sums what arrives at i."""
    G = nx.DiGraph([(0, 1), (0, 2)])
    A = graphs.adjacency(G)
    assert A.tolist() == [[0, 0, 0], [1, 0, 0], [1, 0, 0]]
    x = torch.tensor([[5.0], [0.0], [0.0]])
    assert (A @ x).flatten().tolist() == [0.0, 5.0, 5.0]  # 0 sent its 5 to nodes 1 and 2
    dense = graphs.edge_index_to_dense(graphs.edge_index(G), 3)
    assert torch.equal(dense, A)


def test_karate_edges_are_weighted_so_the_gcn_uses_weight_none():
    G, labels = data.load_karate()
    weighted = nx.to_numpy_array(G)
    unweighted = nx.to_numpy_array(G, weight=None)
    assert weighted.max() == 7.0 and weighted.sum() > 2 * G.number_of_edges()
    assert set(np.unique(unweighted)) == {0.0, 1.0}
    assert unweighted.sum() == 2 * 78 and np.array_equal(unweighted, unweighted.T)
    A = graphs.adjacency(G).numpy()
    assert np.array_equal(A, unweighted)
    assert np.array_equal(graphs.adjacency(G, weight="weight").numpy(), weighted)


@pytest.mark.parametrize(
    "G, degrees",
    [
        (nx.path_graph(4), [1, 2, 2, 1]),
        (nx.star_graph(5), [5, 1, 1, 1, 1, 1]),
        (nx.empty_graph(3), [0, 0, 0]),
    ],
    ids=["path", "star", "isolated"],
)
def test_normalized_adjacency_closed_forms(G, degrees):
    A_hat = graphs.normalized_adjacency(graphs.adjacency(G, dtype=torch.float64)).numpy()
    d = np.array(degrees) + 1.0
    for i in range(len(d)):
        assert A_hat[i, i] == pytest.approx(1 / d[i])  # the self-loop
        for j in G.neighbors(i):
            assert A_hat[i, j] == pytest.approx(1 / math.sqrt(d[i] * d[j]))
    assert np.count_nonzero(A_hat) == len(d) + 2 * G.number_of_edges()
    # sqrt(d~) is an eigenvector with eigenvalue 1, and no eigenvalue exceeds 1 in size
    np.testing.assert_allclose(A_hat @ np.sqrt(d), np.sqrt(d), atol=1e-12)
    assert np.abs(np.linalg.eigvalsh(A_hat)).max() <= 1 + 1e-12


def test_star_centre_and_leaf_entries():
    k = 4
    A_hat = graphs.normalized_adjacency(graphs.adjacency(nx.star_graph(k), dtype=torch.float64))
    assert A_hat[0, 0].item() == pytest.approx(1 / (k + 1))
    assert A_hat[0, 1].item() == pytest.approx(1 / math.sqrt(2 * (k + 1)))
    assert A_hat[1, 1].item() == pytest.approx(1 / 2)
    assert A_hat[1, 2].item() == 0


def test_disconnected_graph_is_block_diagonal():
    G = nx.disjoint_union(nx.path_graph(3), nx.complete_graph(3))
    A = graphs.adjacency(G, dtype=torch.float64)
    A_hat = graphs.normalized_adjacency(A).numpy()
    assert np.all(A_hat[:3, 3:] == 0) and np.all(A_hat[3:, :3] == 0)
    np.testing.assert_allclose(A_hat[3:, 3:], np.full((3, 3), 1 / 3))  # K3: all degrees 3
    np.testing.assert_allclose(A_hat, _closed_form(A.numpy()), atol=1e-15)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_normalized_adjacency_on_random_graphs(seed):
    G = _random_graph(12, 0.2, seed, isolated=2)
    A = graphs.adjacency(G, dtype=torch.float64)
    before = A.clone()
    np.testing.assert_allclose(graphs.normalized_adjacency(A).numpy(), _closed_form(A.numpy()),
                               atol=1e-14)
    assert torch.equal(A, before), "the caller's adjacency must not change"


def test_normalized_adjacency_directed_uses_in_degrees():
    G = nx.DiGraph([(0, 1), (0, 2), (2, 1)])
    A = graphs.adjacency(G, dtype=torch.float64).numpy()
    A_hat = graphs.normalized_adjacency(A).numpy()  # a NumPy array is accepted too
    d = np.array([1, 3, 2])  # in-degree + 1
    assert A_hat[1, 0] == pytest.approx(1 / math.sqrt(d[1] * d[0]))
    assert A_hat[0, 1] == 0  # no edge 1 -> 0
    np.testing.assert_allclose(A_hat, _closed_form(A), atol=1e-15)


def test_normalized_adjacency_inputs():
    A_int = torch.tensor([[0, 1], [1, 0]])
    out = graphs.normalized_adjacency(A_int)
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), np.full((2, 2), 0.5), atol=1e-7)
    without = graphs.normalized_adjacency(torch.zeros(3, 3), add_self_loops=False)
    assert torch.equal(without, torch.zeros(3, 3)), "isolated nodes: 0, not nan"
    with pytest.raises(ValueError, match=r"square matrix \(n, n\); got shape \(2, 3\)"):
        graphs.normalized_adjacency(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="non-negative"):
        graphs.normalized_adjacency(-torch.eye(2))
    with pytest.raises(ValueError, match=r"edge_index must have shape \(2, E\)"):
        graphs.edge_index_to_dense(torch.zeros(3, 4, dtype=torch.long), 4)
    with pytest.raises(ValueError, match="node numbers in 0..2"):
        graphs.edge_index_to_sparse(torch.tensor([[0], [3]]), 3)


@pytest.mark.parametrize("directed", [False, True])
def test_dense_equals_sparse(directed):
    G = _random_graph(60, 0.05, seed=3, directed=directed, isolated=3)
    ei, n = graphs.edge_index(G), G.number_of_nodes()
    dense = graphs.normalized_adjacency(graphs.edge_index_to_dense(ei, n, dtype=torch.float64))
    sparse = graphs.normalized_adjacency_sparse(ei, n, dtype=torch.float64)
    assert sparse.is_sparse and sparse._nnz() == ei.shape[1] + n
    torch.testing.assert_close(sparse.to_dense(), dense, rtol=0, atol=1e-15)
    weights = torch.rand(ei.shape[1], dtype=torch.float64)
    torch.testing.assert_close(graphs.edge_index_to_sparse(ei, n, weights).to_dense(),
                               graphs.edge_index_to_dense(ei, n, weights))
    layer = graphs.GCNLayer(5, 3).double()
    X = torch.randn(n, 5, dtype=torch.float64)
    torch.testing.assert_close(layer(X, sparse), layer(X, dense))


def test_gcn_layer_is_the_formula():
    torch.manual_seed(0)
    layer = graphs.GCNLayer(4, 3)
    with torch.no_grad():
        layer.bias.normal_()
    A_hat = graphs.normalized_adjacency(graphs.adjacency(nx.cycle_graph(5)))
    X = torch.randn(5, 4)
    expected = A_hat @ X @ layer.lin.weight.T + layer.bias
    torch.testing.assert_close(layer(X, A_hat), expected)
    with pytest.raises(ValueError, match="A_hat"):
        layer(X, torch.eye(4))


def _mp_reference(H, edges, how):
    n = H.shape[0]
    out = torch.zeros_like(H)
    for i in range(n):
        incoming = [H[s] for s, t in edges if t == i]
        if incoming:
            stack = torch.stack(incoming)
            out[i] = {"sum": stack.sum(0), "mean": stack.mean(0), "max": stack.amax(0)}[how]
    return out


@pytest.mark.parametrize("how", graphs.AGGREGATIONS)
def test_message_passing_aggregators(how):
    G = _random_graph(9, 0.3, seed=5, directed=True, isolated=1)
    ei = graphs.edge_index(G)
    H = torch.randn(G.number_of_nodes(), 3, dtype=torch.float64)
    got = graphs.MessagePassingLayer.aggregate_messages(H, ei, how)
    torch.testing.assert_close(got, _mp_reference(H, ei.T.tolist(), how))
    assert torch.all(got[-1] == 0), "a node nothing reaches aggregates to 0"
    if how == "sum":
        torch.testing.assert_close(got, graphs.adjacency(G, dtype=torch.float64) @ H)


def test_message_passing_layer_update():
    torch.manual_seed(1)
    layer = graphs.MessagePassingLayer(3, 2, aggregate="mean", activation=None).double()
    G = nx.path_graph(4)
    ei, H = graphs.edge_index(G), torch.randn(4, 3, dtype=torch.float64)
    A = graphs.adjacency(G, dtype=torch.float64)
    mean = A @ H / A.sum(1, keepdim=True)
    expected = H @ layer.self_lin.weight.T + mean @ layer.neigh_lin.weight.T + layer.neigh_lin.bias
    torch.testing.assert_close(layer(H, ei), expected)
    with pytest.raises(ValueError, match="aggregate must be one of"):
        graphs.MessagePassingLayer(3, 2, aggregate="median")


def test_mean_message_passing_on_a_grid_is_a_box_filter():
    """An image as an 8-neighbour grid graph with self-loops: mean aggregation equals 3x3
    average pooling with stride 1 that ignores the padding, and in the interior equals the
    convolution with the kernel of nine 1/9."""
    h, w = 6, 7
    G = nx.grid_2d_graph(h, w)
    G.add_edges_from(((r, c), (r + 1, c + dc)) for r, c in list(G) for dc in (-1, 1)
                     if (r + 1, c + dc) in G)
    G.add_edges_from((v, v) for v in list(G))  # self-loops: a pixel keeps itself
    image = torch.randn(h, w, dtype=torch.float64)
    H = torch.stack([image[r, c] for r, c in G])[:, None]  # (h*w, 1) in the order list(G)
    out = graphs.MessagePassingLayer.aggregate_messages(H, graphs.edge_index(G), "mean")
    out = out.reshape(h, w)  # grid_2d_graph lists nodes row by row
    pooled = F.avg_pool2d(image[None, None], 3, stride=1, padding=1, count_include_pad=False)
    torch.testing.assert_close(out, pooled[0, 0])
    conv = F.conv2d(image[None, None], torch.full((1, 1, 3, 3), 1 / 9, dtype=torch.float64))
    torch.testing.assert_close(out[1:-1, 1:-1], conv[0, 0])


def test_masked_accuracy():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0], [0.0, 2.0]])
    y = torch.tensor([0, 0, 1, 1])
    assert graphs.masked_accuracy(logits, y, torch.tensor([1, 1, 0, 0])) == 0.5
    assert graphs.masked_accuracy(logits, y, torch.tensor([0, 0, 1, 1])) == 0.5
    assert graphs.masked_accuracy(logits, y, torch.tensor([1, 0, 0, 1])) == 1.0
    with pytest.raises(ValueError, match="no node"):
        graphs.masked_accuracy(logits, y, torch.zeros(4, dtype=torch.bool))


@pytest.fixture
def one_thread():
    """Tiny graphs train faster on one thread (and far faster on a busy machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _karate_setup():
    G, labels = data.load_karate()
    y = torch.as_tensor(labels)
    A_hat = graphs.normalized_adjacency(graphs.adjacency(G))
    X = torch.eye(34)
    mask = torch.zeros(34, dtype=torch.bool)
    mask[[0, 33]] = True  # Mr. Hi and the officer, one per faction
    return X, A_hat, y, mask


def test_training_uses_only_the_masked_labels(one_thread):
    X, A_hat, y, mask = _karate_setup()
    runs = []
    for labels in (y, torch.where(mask, y, 1 - y)):  # flip every label outside the mask
        torch.manual_seed(0)
        model = graphs.GCN((34, 4, 2))
        runs.append(graphs.train_node_classifier(model, X, A_hat, labels, mask, num_epochs=20))
    assert runs[0]["loss"] == runs[1]["loss"]
    assert all(a + b == pytest.approx(1) for a, b in zip(runs[0]["test_acc"], runs[1]["test_acc"],
                                                        strict=True))


def test_karate_gcn_separates_the_factions(one_thread):
    X, A_hat, y, mask = _karate_setup()
    accs = []
    for seed in range(3):
        torch.manual_seed(seed)
        model = graphs.GCN((34, 16, 2))
        history = graphs.train_node_classifier(model, X, A_hat, y, mask, num_epochs=100)
        assert history["train_acc"][-1] == 1.0
        accs.append(history["test_acc"][-1])
    assert min(accs) >= 0.8, accs


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-12), (torch.float32, 1e-6)])
@pytest.mark.parametrize("directed", [False, True])
def test_gcn_layer_agrees_with_pyg_gcnconv(dtype, tol, directed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.script notice under torch 2.14
        pyg = pytest.importorskip("torch_geometric.nn", reason="torch-geometric is not installed")
    torch.manual_seed(4)
    G = _random_graph(30, 0.1, seed=4, directed=directed, isolated=2)
    ei, n = graphs.edge_index(G), G.number_of_nodes()
    conv = pyg.GCNConv(6, 4).to(dtype)
    with torch.no_grad():
        conv.bias.normal_()  # PyG starts the bias at 0: make it count
    ours = graphs.GCNLayer(6, 4).to(dtype)
    ours.load_state_dict({"lin.weight": conv.lin.weight, "bias": conv.bias})
    X = torch.randn(n, 6, dtype=dtype)
    expected = conv(X, ei)
    dense = graphs.normalized_adjacency(graphs.edge_index_to_dense(ei, n, dtype=dtype))
    sparse = graphs.normalized_adjacency_sparse(ei, n, dtype=dtype)
    for A_hat in (dense, sparse):
        torch.testing.assert_close(ours(X, A_hat), expected, rtol=tol, atol=tol)


def test_plot_embedding_draws_nodes_edges_and_marks():
    import matplotlib

    matplotlib.use("Agg")
    from course import plot

    G = nx.path_graph(4)
    Z = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    ax = plot.embedding(Z, G, node_color=[0, 0, 1, 1], marked=[0, 3])
    edges = [line for line in ax.lines if line.get_marker() in ("None", "")]
    assert len(edges) == 3
    np.testing.assert_array_equal(edges[1].get_xydata(), Z[[1, 2]])  # edge 1 - 2
    stars = [line for line in ax.lines if line.get_marker() == "*"]
    np.testing.assert_array_equal(stars[0].get_xydata(), Z[[0, 3]])
    np.testing.assert_array_equal(ax.collections[0].get_offsets(), Z)
    with pytest.raises(ValueError, match=r"Z must have shape \(n, 2\)"):
        plot.embedding(np.zeros((4, 3)))
