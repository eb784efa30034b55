"""Variants of lab 10 (graph convolutional networks): typical mistakes and correct
alternatives.

The lab fixes the direction convention (``A[i, j] = 1`` for the edge ``j -> i``, degrees are
row sums of ``A + I``), float32 for integer or boolean adjacency, a ``ValueError`` for a
non-square ``A``; ``gcn_layer = A_hat @ H @ W + b`` without activation; a ``GCN`` module with
parameters ``W1, b1, W2, b2`` drawn with ``glorot`` from ``torch.Generator().manual_seed(seed)``
(W1 first); Adam with the masked cross-entropy, losses recorded before each step; accuracy on
the nodes outside ``train_mask``; the unweighted karate club with nodes 0 and 33 labelled.
"""

from __future__ import annotations

from tools.mutants import correct, edit, wrong

__all__ = ["VARIANTS", "CROSS_CHECK"]

#: The wrong variant that is also graded by the real nbgrader.
CROSS_CHECK = "normalized_adjacency: no self-loops"

_A_TILDE = "    A_tilde = A + torch.eye(A.shape[0], dtype=A.dtype)\n"
_DEGREE = "    d = A_tilde.sum(dim=1)  # (n,) in-degree + 1, never 0\n"
_SCALE = "    return d_inv_sqrt[:, None] * A_tilde * d_inv_sqrt[None, :]"
_LOSS = "        loss = F.cross_entropy(logits[train_mask], y[train_mask])  # labelled nodes only"

VARIANTS = [
    # -- normalized_adjacency -------------------------------------------------------------
    wrong("normalized_adjacency: no self-loops", {"normalized_adjacency": edit(
        (_A_TILDE, "    A_tilde = A\n"),
    )}, "test_normalized_adjacency",
        note="isolated nodes then divide by zero: inf/nan rows"),
    wrong("normalized_adjacency: D^-1 (A + I), not D^-1/2 on both sides",
          {"normalized_adjacency": edit((_SCALE, "    return A_tilde / d[:, None]"))},
          "test_normalized_adjacency"),
    wrong("normalized_adjacency: degrees from A instead of A + I", {"normalized_adjacency": edit(
        (_DEGREE, "    d = A.sum(dim=1)\n"),
    )}, "test_normalized_adjacency", note="an isolated node has degree 0: a division by zero"),
    wrong("normalized_adjacency: column sums (out-degrees) for a directed graph",
          {"normalized_adjacency": edit((_DEGREE, "    d = A_tilde.sum(dim=0)\n"))},
          "test_normalized_adjacency"),
    wrong("normalized_adjacency: returns the transpose", {"normalized_adjacency": edit(
        (_SCALE, "    return (d_inv_sqrt[:, None] * A_tilde * d_inv_sqrt[None, :]).T"),
    )}, "test_normalized_adjacency"),
    wrong("normalized_adjacency: adds the self-loops to the caller's A", {
        "normalized_adjacency": edit((_A_TILDE, "    A_tilde = A.add_(torch.eye(A.shape[0]))\n")),
    }, "test_normalized_adjacency"),
    wrong("normalized_adjacency: fill_diagonal_(1) instead of + I", {"normalized_adjacency": edit(
        (_A_TILDE, "    A_tilde = A.clone().fill_diagonal_(1.0)\n"),
    )}, "test_normalized_adjacency", note="differs only where A already has a self-loop"),
    wrong("normalized_adjacency: in-place += of a float eye (fails for integer A)",
          {"normalized_adjacency": edit(
              ("    if not A.is_floating_point():\n        A = A.float()\n", ""),
              (_A_TILDE, "    A_tilde = A.clone()\n    A_tilde += torch.eye(A.shape[0])\n"),
          )}, "test_normalized_adjacency"),
    wrong("normalized_adjacency: binarizes weighted edges", {"normalized_adjacency": edit(
        (_A_TILDE, "    A_tilde = (A > 0).to(A.dtype) + torch.eye(A.shape[0], dtype=A.dtype)\n"),
    )}, "test_normalized_adjacency"),
    wrong("normalized_adjacency: no ValueError for a non-square A", {"normalized_adjacency": edit(
        ("    if A.ndim != 2 or A.shape[0] != A.shape[1]:\n", "    if A.ndim != 2:\n"),
    )}, "test_normalized_adjacency"),
    correct("normalized_adjacency: diagonal matrices D @ A~ @ D", {"normalized_adjacency": """
def normalized_adjacency(A):
    if A.dim() != 2 or A.size(0) != A.size(1):
        raise ValueError("A must be square")
    A = A.to(torch.float32) if not torch.is_floating_point(A) else A
    A_tilde = A + torch.eye(len(A), dtype=A.dtype)
    D_inv_sqrt = torch.diag(1.0 / torch.sqrt(A_tilde.sum(1)))
    return D_inv_sqrt @ A_tilde @ D_inv_sqrt
"""}),
    correct("normalized_adjacency: NumPy inside, outer product of degrees", {
        "normalized_adjacency": """
def normalized_adjacency(A):
    if tuple(A.shape) != (A.shape[0], A.shape[0]):
        raise ValueError(f"A must be (n, n); got {tuple(A.shape)}")
    dtype = A.dtype if A.is_floating_point() else torch.float32
    a = A.numpy().astype(np.float64) + np.eye(A.shape[0])
    d = a.sum(axis=1)
    return torch.from_numpy(a / np.sqrt(np.outer(d, d))).to(dtype)
"""}),
    # -- gcn_layer --------------------------------------------------------------------------
    wrong("gcn_layer: A_hat transposed", {"gcn_layer": edit(
        ("return A_hat @ (H @ W) + b", "return A_hat.T @ (H @ W) + b"),
    )}, "test_gcn_layer"),
    wrong("gcn_layer: features and adjacency in the wrong order (H^T A_hat)", {"gcn_layer": edit(
        ("return A_hat @ (H @ W) + b", "return (H.T @ A_hat).T @ W + b"),
    )}, "test_gcn_layer", note="(H^T A)^T = A^T H: the same as transposing A_hat"),
    wrong("gcn_layer: bias forgotten", {"gcn_layer": edit(
        ("return A_hat @ (H @ W) + b", "return A_hat @ (H @ W)"),
    )}, "test_gcn_layer"),
    wrong("gcn_layer: bias added before the aggregation", {"gcn_layer": edit(
        ("return A_hat @ (H @ W) + b", "return A_hat @ (H @ W + b)"),
    )}, "test_gcn_layer", note="A_hat rows do not sum to 1, so the bias gets scaled"),
    wrong("gcn_layer: ReLU inside the layer", {"gcn_layer": edit(
        ("return A_hat @ (H @ W) + b", "return torch.relu(A_hat @ (H @ W) + b)"),
    )}, "test_gcn_layer"),
    correct("gcn_layer: (A_hat @ H) @ W with addmm", {"gcn_layer": """
def gcn_layer(H, A_hat, W, b):
    return torch.addmm(b, A_hat @ H, W)
"""}),
    correct("gcn_layer: einsum", {"gcn_layer": """
def gcn_layer(H, A_hat, W, b):
    return torch.einsum("ij,jf,fo->io", A_hat, H, W) + b
"""}),
    # -- GCN ----------------------------------------------------------------------------------
    wrong("GCN: seed ignored (generator seeded with 0)", {"GCN": edit(
        ("g = torch.Generator().manual_seed(seed)", "g = torch.Generator().manual_seed(0)"),
    )}, "test_GCN"),
    wrong("GCN: global RNG instead of the generator", {"GCN": edit(
        ("g = torch.Generator().manual_seed(seed)", "g = None"),
    )}, "test_GCN"),
    wrong("GCN: W2 drawn before W1", {"GCN": """
class GCN(nn.Module):
    def __init__(self, in_features, hidden_features, num_classes, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        W2 = glorot(hidden_features, num_classes, g)
        self.W1 = nn.Parameter(glorot(in_features, hidden_features, g))
        self.W2 = nn.Parameter(W2)
        self.b1 = nn.Parameter(torch.zeros(hidden_features))
        self.b2 = nn.Parameter(torch.zeros(num_classes))

    def forward(self, X, A_hat):
        return gcn_layer(torch.relu(gcn_layer(X, A_hat, self.W1, self.b1)), A_hat, self.W2,
                         self.b2)
"""}, "test_GCN"),
    wrong("GCN: no ReLU between the layers", {"GCN": edit(
        ("hidden = torch.relu(gcn_layer(X, A_hat, self.W1, self.b1))",
         "hidden = gcn_layer(X, A_hat, self.W1, self.b1)"),
    )}, "test_GCN"),
    wrong("GCN: softmax on the output", {"GCN": edit(
        ("return gcn_layer(hidden, A_hat, self.W2, self.b2)",
         "return torch.softmax(gcn_layer(hidden, A_hat, self.W2, self.b2), dim=1)"),
    )}, "test_GCN"),
    wrong("GCN: weights as plain tensors, not parameters", {"GCN": edit(
        ("self.W1 = nn.Parameter(glorot(in_features, hidden_features, g))",
         "self.W1 = glorot(in_features, hidden_features, g)"),
    )}, "test_GCN"),
    correct("GCN: forward without gcn_layer, F.relu", {"GCN": """
class GCN(nn.Module):
    def __init__(self, in_features, hidden_features, num_classes, seed=0):
        super().__init__()
        generator = torch.Generator()
        generator.manual_seed(seed)
        self.W1 = nn.Parameter(glorot(in_features, hidden_features, generator))
        self.W2 = nn.Parameter(glorot(hidden_features, num_classes, generator))
        self.b1 = nn.Parameter(torch.zeros(hidden_features))
        self.b2 = nn.Parameter(torch.zeros(num_classes))

    def forward(self, X, A_hat):
        h = F.relu(A_hat @ X @ self.W1 + self.b1)
        return A_hat @ h @ self.W2 + self.b2
"""}),
    # -- train_gcn ---------------------------------------------------------------------------
    wrong("train_gcn: loss over all nodes", {"train_gcn": edit(
        (_LOSS, "        loss = F.cross_entropy(logits, y)"),
    )}, "test_train_gcn"),
    wrong("train_gcn: gradients never zeroed", {"train_gcn": edit(
        ("        optimizer.zero_grad()\n", ""),
    )}, "test_train_gcn"),
    wrong("train_gcn: weight decay ignored", {"train_gcn": edit(
        ("lr=lr, weight_decay=weight_decay)", "lr=lr)"),
    )}, "test_train_gcn"),
    wrong("train_gcn: SGD instead of Adam", {"train_gcn": edit(
        ("torch.optim.Adam(", "torch.optim.SGD("),
    )}, "test_train_gcn"),
    wrong("train_gcn: stops one epoch early", {"train_gcn": edit(
        ("for _ in range(num_epochs):", "for _ in range(num_epochs - 1):"),
    )}, "test_train_gcn"),
    wrong("train_gcn: loss recorded after the step", {"train_gcn": edit(
        ("        losses.append(loss.item())",
         "        with torch.no_grad():\n"
         "            losses.append(F.cross_entropy(model(X, A_hat)[train_mask],"
         " y[train_mask]).item())"),
    )}, "test_train_gcn"),
    correct("train_gcn: nll_loss of log_softmax on the masked indices", {"train_gcn": """
def train_gcn(model, X, A_hat, y, train_mask, num_epochs=200, lr=0.01, weight_decay=5e-4):
    idx = torch.nonzero(train_mask).flatten()
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    history = []
    epoch = 0
    while epoch < num_epochs:
        log_p = F.log_softmax(model(X, A_hat), dim=1)
        loss = F.nll_loss(log_p[idx], y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(float(loss))
        epoch += 1
    return history
"""}),
    # -- unlabelled_accuracy -------------------------------------------------------------------
    wrong("unlabelled_accuracy: accuracy over the training nodes", {"unlabelled_accuracy": edit(
        ("    unlabelled = ~train_mask\n", "    unlabelled = train_mask\n"),
    )}, "test_unlabelled_accuracy"),
    wrong("unlabelled_accuracy: accuracy over all nodes", {"unlabelled_accuracy": edit(
        ("    unlabelled = ~train_mask\n", "    unlabelled = torch.ones_like(train_mask)\n"),
    )}, "test_unlabelled_accuracy"),
    correct("unlabelled_accuracy: counts in a loop, no_grad via detach", {
        "unlabelled_accuracy": """
def unlabelled_accuracy(model, X, A_hat, y, train_mask):
    logits = model(X, A_hat).detach()
    right = total = 0
    for i in range(len(y)):
        if not train_mask[i]:
            total += 1
            right += int(logits[i].argmax() == y[i])
    return right / total
"""}),
    # -- karate_data --------------------------------------------------------------------------
    wrong("karate_data: weighted adjacency", {"karate_data": edit(
        ("nx.to_numpy_array(G, weight=None)", "nx.to_numpy_array(G)"),
    )}, "test_karate_data"),
    wrong("karate_data: labels flipped (Officer = 0)", {"karate_data": edit(
        ('G.nodes[v]["club"] != "Mr. Hi"', 'G.nodes[v]["club"] == "Mr. Hi"'),
    )}, "test_karate_data"),
    wrong("karate_data: labels nodes 0 and 1", {"karate_data": edit(
        ("train_mask[[0, 33]] = True", "train_mask[[0, 1]] = True"),
    )}, "test_karate_data"),
    correct("karate_data: adjacency from the edge list", {"karate_data": """
def karate_data():
    G = nx.karate_club_graph()
    A = torch.zeros(34, 34)
    for u, v in G.edges():
        A[u, v] = A[v, u] = 1.0
    y = torch.tensor([int(G.nodes[v]["club"] == "Officer") for v in range(34)])
    mask = torch.tensor([v in (0, 33) for v in range(34)])
    return torch.eye(34), A, y, mask
"""}),
]
