# %% [markdown]
# # Lecture 12 — Graph neural networks
#
# Every network of this course so far took inputs with a fixed layout: a vector of
# features, or an image on a regular grid of pixels. Much data is not like that. A social
# network, a molecule, a road map or a set of papers citing each other is a **graph**: a set
# of nodes and the links between them, and the links carry the information. This lecture
# turns the convolution of lecture 04 into a layer that works on any graph, builds a graph
# convolutional network (GCN) from scratch, and trains it to guess which side each member
# of a karate club took in a split, given the side of only two members.
#
# **Learning goals.** After this lecture you can
# 1. store a graph as an adjacency matrix or an edge list, and read degrees and
#    neighbourhoods from either (networkx and PyTorch);
# 2. derive the GCN layer $H' = \sigma(\hat A H W)$ with
#    $\hat A = \tilde D^{-1/2}(A + I)\tilde D^{-1/2}$ from "aggregate the neighbours, then
#    update", and write it as an `nn.Module`;
# 3. show numerically that a 3x3 averaging convolution is message passing on the grid graph
#    of an image, and say what a graph layer gives up compared with a CNN;
# 4. train a GCN for semi-supervised node classification with a mask, and watch its
#    embeddings while it learns;
# 5. name the aggregators of message passing (sum, mean, max) and the GraphSAGE and GAT
#    layers, measure over-smoothing, and choose dense or sparse adjacency by size.

# %% setup

# %%
import importlib.util
import time
import warnings

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course import data, grading, graphs, plot

# The graphs here are small: one thread avoids hand-offs between threads that cost more
# than the arithmetic (and makes the timings of section 9 comparable).
torch.set_num_threads(1)

# %% [markdown]
# ## 1. Relational data
#
# In a table every row stands alone: the price of one house does not depend on the next
# row. In **relational data** the links between items are part of the data:
#
# | graph | nodes | edges | a typical question |
# |---|---|---|---|
# | social network | people | friendships | which community does a person belong to? |
# | molecule | atoms | chemical bonds | is the molecule toxic? (a label per graph) |
# | citation network | papers | citations | what is a paper's topic? (a label per node) |
# | road map | crossings | roads | how long will this trip take? |
#
# The links are **not features** of a node: a person has any number of friends, in no
# particular order, so they do not fit into a fixed-length vector, and renumbering the
# people must not change the answer. A graph layer has to handle both.
#
# Our running example is **Zachary's karate club** (Zachary, 1977): 34 members of a
# university club, and an edge wherever two members met outside the club. The club split
# after a conflict between its instructor, "Mr. Hi" (node 0), and its officer (node 33);
# `data.load_karate` returns the graph and the side each member took.

# %%
G, labels = data.load_karate()
n = G.number_of_nodes()
print(f"{n} members, {G.number_of_edges()} friendships; "
      f"{(labels == 0).sum()} followed Mr. Hi (0), {(labels == 1).sum()} the officer (1)")
pos = nx.spring_layout(G, seed=1)
fig, ax = plt.subplots(figsize=(6, 5))
plot.graph(G, node_color=labels, pos=pos, ax=ax)
ax.set_title("Zachary's karate club: blue = Mr. Hi's side, red = the officer's", fontsize=10)
plt.show()

# %% [markdown]
# The two factions are visible in the drawing: each leader sits at the centre of a dense
# group, and few edges cross between the groups. The question of this lecture: told only
# the sides of nodes 0 and 33, can a network infer the others from the edges alone?
#
# ## 2. Graphs in networkx and as matrices
#
# A graph $G = (V, E)$ with $n$ nodes is stored in one of two ways:
# - an **adjacency matrix** $A \in \{0, 1\}^{n \times n}$, $A_{ij} = 1$ when $i$ and $j$
#   are linked (symmetric for an undirected graph): simple, but $n^2$ numbers;
# - an **edge list**, here a `(2, E)` tensor `edge_index` with one column per directed edge
#   (source, target); an undirected edge appears in both directions. Memory grows with $E$.
#
# For directed graphs this course uses one convention: $A_{ij} = 1$ means an edge
# $j \to i$, so row $i$ lists the nodes that send to $i$ (the convention of PyTorch
# Geometric). The **degree** of node $i$ is $d_i = \sum_j A_{ij}$, and its
# **neighbourhood** $\mathcal N(i) = \{j : A_{ij} = 1\}$.
#
# **A trap.** networkx's karate club stores on every edge a `weight` (in how many contexts
# the two met), and `nx.to_numpy_array(G)` uses it by default: the matrix holds counts up to
# 7, not 0/1. The GCN of this lecture uses the plain graph, `weight=None`.

# %%
A_weighted = nx.to_numpy_array(G)
A_np = nx.to_numpy_array(G, weight=None)
print(f"to_numpy_array(G): values {np.unique(A_weighted).astype(int).tolist()}")
print(f"to_numpy_array(G, weight=None): values {np.unique(A_np).astype(int).tolist()}, "
      f"symmetric: {np.array_equal(A_np, A_np.T)}, sum = {A_np.sum():.0f} = 2 x 78 edges")
A = torch.tensor(A_np, dtype=torch.float32)
assert torch.equal(A, graphs.adjacency(G))  # the course's helper: the same matrix
print(f"{int(A.sum())} of the {A.numel()} entries of A are 1")

degree = A.sum(dim=1)
print("degrees from A:", degree[:8].int().tolist(), "...")
print("degrees from networkx:", [G.degree(v) for v in range(8)], "...")
print("neighbours of node 0:", sorted(G[0]), "=", torch.nonzero(A[0]).flatten().tolist())
ei = graphs.edge_index(G)
print(f"edge_index: shape {tuple(ei.shape)} (78 edges, both directions); first columns "
      f"{ei[:, :4].tolist()}")

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
axes[0].imshow(A, cmap="Greys")
axes[0].set_title("adjacency matrix A (black = edge)", fontsize=10)
axes[0].set_xlabel("node j")
axes[0].set_ylabel("node i")
order = np.argsort(-degree.numpy())
axes[1].bar(range(n), degree.numpy()[order], color=plt.cm.coolwarm(labels[order] * 1.0))
axes[1].set_xticks(range(n), order, fontsize=7, rotation=90)
axes[1].set_xlabel("node (sorted by degree; colour = faction)")
axes[1].set_ylabel("degree")
axes[1].set_title("the two leaders have the most friends", fontsize=10)
plt.show()

# %% [markdown]
# The matrix is mostly white (156 of 1,156 entries are 1) and the bar chart puts nodes 33
# and 0 first: hubs of their factions.
#
# **Exercise.** How many members are **exactly two steps** from node 0 (a friend of a
# friend, but neither node 0 nor a friend of it)? Compute it from `A` (hint: $(A^2)_{ij}$
# counts the walks of length 2 from $j$ to $i$).

# %%
# exercise: two-hop neighbours
answer = None  # your code here: the number of nodes at distance exactly 2 from node 0
expected = sum(1 for d in nx.single_source_shortest_path_length(G, 0).values() if d == 2)
grading.exercise("nodes at distance 2 from node 0", answer, expected,
                 hint="reach = (A @ A)[0] > 0; remove node 0 and its neighbours A[0] > 0")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: two-hop neighbours
# two_steps = (A @ A)[0] > 0
# one_step = A[0] > 0
# two_steps[0] = False
# answer = int((two_steps & ~one_step).sum())
# expected = sum(1 for d in nx.single_source_shortest_path_length(G, 0).values() if d == 2)
# grading.exercise("nodes at distance 2 from node 0", answer, expected,
#                  hint="reach = (A @ A)[0] > 0; remove node 0 and its neighbours A[0] > 0")
# ```
# </details>
#
# ## 3. From "aggregate the neighbours, update" to the GCN layer
#
# A layer of a graph network gives every node a new feature vector computed from its own
# and its neighbours'. Stack the features as rows of $H \in \mathbb{R}^{n \times f}$. The
# simplest recipe has two steps:
#
# 1. **aggregate**: average the features of the neighbours, $m_i = \frac{1}{d_i}
#    \sum_{j \in \mathcal N(i)} h_j$, in matrix form $M = D^{-1} A H$ with
#    $D = \operatorname{diag}(d_1, \dots, d_n)$;
# 2. **update**: transform with a learned matrix and a non-linearity,
#    $h'_i = \sigma(W^\top m_i)$, i.e. $H' = \sigma(M W)$.
#
# Three refinements give the GCN of Kipf & Welling (2017):
# - the node should keep its own features: add **self-loops**, $\tilde A = A + I$,
#   $\tilde d_i = d_i + 1$ (this also rescues a node with no edges, whose $d_i = 0$);
# - one $W$ is shared by all nodes, like a convolution kernel is shared by all positions,
#   so the layer works for any number of nodes and any numbering;
# - instead of the row average $\tilde D^{-1}\tilde A$ use the **symmetric**
#   normalization $\hat A = \tilde D^{-1/2} \tilde A \tilde D^{-1/2}$,
#   $\hat A_{ij} = \tilde A_{ij} / \sqrt{\tilde d_i \tilde d_j}$: a message from a hub is
#   damped by the hub's degree as well as the receiver's. $\hat A$ is symmetric, and its
#   eigenvalues lie in $(-1, 1]$, so applying it again and again does not blow up.
#
# $$\boxed{H' = \sigma\big(\hat A\, H\, W + b\big), \qquad
#   \hat A = \tilde D^{-1/2}(A + I)\tilde D^{-1/2}}$$
#
# Both pieces, written out:


# %%
def normalized_adjacency(A):
    """A_hat = D~^{-1/2} (A + I) D~^{-1/2}. A: (n, n), A[i, j] for the edge j -> i."""
    A_tilde = A + torch.eye(A.shape[0], dtype=A.dtype)
    d = A_tilde.sum(dim=1)  # (n,) degree + 1
    d_inv_sqrt = d**-0.5
    return d_inv_sqrt[:, None] * A_tilde * d_inv_sqrt[None, :]


class GCNLayer(nn.Module):
    """H' = A_hat H W + b, with W stored as lin.weight: (out, in) as in nn.Linear."""

    def __init__(self, in_features, out_features):
        super().__init__()
        self.lin = nn.Linear(in_features, out_features, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_features))

    def forward(self, H, A_hat):
        return A_hat @ self.lin(H) + self.bias  # transform each node, then aggregate


A_hat = normalized_adjacency(A)
assert torch.allclose(A_hat, graphs.normalized_adjacency(A))
path = normalized_adjacency(graphs.adjacency(nx.path_graph(3), dtype=torch.float64))
print("A_hat of the path 0 - 1 - 2 (degrees + 1 = 2, 3, 2):\n", path.numpy().round(4))
print("1/sqrt(2*3) =", round(1 / np.sqrt(6), 4), "| eigenvalues of the karate A_hat in",
      f"[{torch.linalg.eigvalsh(A_hat.double()).min():.3f}, "
      f"{torch.linalg.eigvalsh(A_hat.double()).max():.3f}]")

# %% [markdown]
# The diagonal of the path's $\hat A$ is $1/\tilde d_i$ and the off-diagonal entries are
# $1/\sqrt{2 \cdot 3}$; the karate club's $\hat A$ has its largest eigenvalue at exactly 1
# (its eigenvector is $\tilde D^{1/2}\mathbf 1$).
#
# **Exercise.** In a **star** with a centre and $k = 5$ leaves, what is $\hat A$ between
# the centre and a leaf? Compute it from the formula (degrees with self-loops), not with
# `normalized_adjacency`.

# %%
# exercise: star entry
k = 5
answer = None  # your code here: A_hat[centre, leaf] for a star with 5 leaves
expected = graphs.normalized_adjacency(graphs.adjacency(nx.star_graph(k), dtype=torch.float64))
grading.exercise("A_hat[centre, leaf] of a 5-leaf star", answer, expected[0, 1].item(),
                 hint="the centre has degree k + 1 with its self-loop, a leaf 2")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: star entry
# k = 5
# answer = 1 / np.sqrt((k + 1) * 2)
# expected = graphs.normalized_adjacency(graphs.adjacency(nx.star_graph(k), dtype=torch.float64))
# grading.exercise("A_hat[centre, leaf] of a 5-leaf star", answer, expected[0, 1].item(),
#                  hint="the centre has degree k + 1 with its self-loop, a leaf 2")
# ```
# </details>
#
# ## 4. An image is a grid graph
#
# A convolution is a graph layer on a very regular graph. Make every pixel a node and link
# it to its 8 neighbours (and to itself). **Mean** message passing, "replace each node by the
# mean of its neighbourhood", is then the 3x3 convolution whose nine weights are all $1/9$,
# wherever the full neighbourhood exists. At the border a pixel has fewer neighbours and the
# mean divides by their number, which is average pooling that ignores the padding
# (`count_include_pad=False`). The cell checks both on the sample photo.

# %%
photo = torch.tensor(data.load_photo(gray=True, size=(40, 32)))  # (40, 32), float64
h, w = photo.shape
grid = nx.grid_2d_graph(h, w)  # 4-neighbour grid; nodes (row, col), listed row by row
grid.add_edges_from(((r, c), (r + 1, c + dc)) for r, c in list(grid) for dc in (-1, 1)
                    if (r + 1, c + dc) in grid)  # diagonals: now 8 neighbours
grid.add_edges_from((v, v) for v in list(grid))  # self-loops: a pixel keeps itself
print(f"grid graph: {grid.number_of_nodes()} nodes, degrees (with the self-loop) "
      f"{sorted(set(dict(grid.degree()).values()))}")  # a self-loop counts 2 in networkx
X_pixels = photo.reshape(-1, 1)  # (h*w, 1): one feature per node, in the order list(grid)
mean_mp = graphs.MessagePassingLayer.aggregate_messages(X_pixels, graphs.edge_index(grid), "mean")
mean_mp = mean_mp.reshape(h, w)
box = torch.full((1, 1, 3, 3), 1 / 9, dtype=torch.float64)
conv = F.conv2d(photo[None, None], box)[0, 0]  # (h-2, w-2): no padding
pooled = F.avg_pool2d(photo[None, None], 3, stride=1, padding=1, count_include_pad=False)[0, 0]
print(f"interior: max |mean message passing - 3x3 conv of 1/9| = "
      f"{(mean_mp[1:-1, 1:-1] - conv).abs().max():.1e}")
print(f"everywhere: max |mean message passing - avg_pool(count_include_pad=False)| = "
      f"{(mean_mp - pooled).abs().max():.1e}")

fig, axes = plt.subplots(1, 4, figsize=(14, 4.2))
plot.image(photo, ax=axes[0], title="photo (40 x 32)")
plot.image(conv, ax=axes[1], title="3x3 convolution\nall weights 1/9")
plot.image(mean_mp, ax=axes[2], title="mean message passing\n8-neighbour grid graph")
diff = axes[3].imshow(1e15 * (mean_mp[1:-1, 1:-1] - conv).abs(), cmap="magma", vmin=0, vmax=1)
axes[3].set_title("|difference| x 10^15\n(interior pixels)")
axes[3].set_xticks([])
axes[3].set_yticks([])
fig.colorbar(diff, ax=axes[3], fraction=0.046)
for ax in axes:
    ax.title.set_fontsize(10)
plt.show()

# %% [markdown]
# The two blurred photos are the same picture (the convolution without padding is two
# pixels smaller), and the difference is below $10^{-15}$: rounding. What the graph layer **cannot** do is what makes a CNN a CNN: a 3x3 kernel has a
# different weight for "upper left" and "right", because pixels have an order. Nodes of a
# general graph have no such order, so a graph layer must treat all neighbours alike (one
# shared $W$, and an aggregation that does not care about order: sum, mean or max). A GCN is
# a convolution whose kernel is forced to be the same in every direction; it gains in
# return that it runs on any graph.
#
# **Check yourself.** On the grid graph without diagonals and without self-loops, which
# 3x3 kernel does mean message passing reproduce in the interior?
#
# <details><summary>Answer</summary>
#
# Each interior pixel has 4 neighbours (up, down, left, right) and does not count itself, so
# the kernel is $\frac14\begin{pmatrix}0&1&0\\1&0&1\\0&1&0\end{pmatrix}$.
# </details>
#
# ## 5. Node classification on the karate club
#
# Now the task: one labelled member per faction (nodes 0 and 33), 32 unlabelled. The
# members have no features, so each gets a one-hot vector, $X = I_{34}$: the first layer's
# $W_1$ then holds one learned row per member. A two-layer GCN gives logits
#
# $$Z = \hat A\,\operatorname{ReLU}(\hat A X W_1 + b_1)\,W_2 + b_2 .$$
#
# The whole graph goes through the network at every step (that is how information spreads),
# but the **loss sees only the labelled nodes**: with a boolean `train_mask`,
# `cross_entropy(Z[train_mask], y[train_mask])`. This is **semi-supervised** learning. We
# use a hidden layer of size 2 so that its features can be drawn as points in the plane, and
# save them at a few epochs. With only two hidden units a ReLU often switches a unit off for
# half of the nodes, which squeezes the picture onto a line; for this picture the hidden
# layer uses $\tanh$, which keeps both signs (the 16-unit networks below use ReLU).


# %%
class GCN(nn.Module):
    """Two GCN layers: in -> hidden (activation, ReLU by default) -> classes.
    forward returns (logits, hidden)."""

    def __init__(self, in_features, hidden_features, num_classes, activation=torch.relu):
        super().__init__()
        self.conv1 = GCNLayer(in_features, hidden_features)
        self.conv2 = GCNLayer(hidden_features, num_classes)
        self.activation = activation

    def forward(self, X, A_hat):
        hidden = self.activation(self.conv1(X, A_hat))  # (n, hidden)
        return self.conv2(hidden, A_hat), hidden


X = torch.eye(n)
y = torch.as_tensor(labels)
train_mask = torch.zeros(n, dtype=torch.bool)
train_mask[[0, 33]] = True
snapshot_epochs = [0, 5, 15, 50, 200]

torch.manual_seed(0)
model = GCN(n, 2, 2, activation=torch.tanh)
optimizer = torch.optim.Adam(model.parameters(), lr=0.02, weight_decay=5e-4)
snapshots, losses, accs = {}, [], []
for epoch in range(max(snapshot_epochs) + 1):
    logits, hidden = model(X, A_hat)
    if epoch in snapshot_epochs:
        snapshots[epoch] = hidden.detach().clone()
    accs.append((logits.argmax(1) == y)[~train_mask].float().mean().item())
    if epoch == max(snapshot_epochs):
        break
    loss = F.cross_entropy(logits[train_mask], y[train_mask])  # the two labelled nodes only
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
print(f"loss {losses[0]:.3f} -> {losses[-1]:.4f}; accuracy on the 32 unlabelled members: "
      f"{accs[0]:.3f} at the start, {accs[-1]:.3f} after {max(snapshot_epochs)} epochs")

fig, axes = plt.subplots(1, len(snapshot_epochs), figsize=(15, 3.3))
for ax, epoch in zip(axes, snapshot_epochs, strict=True):
    plot.embedding(snapshots[epoch], G, node_color=labels, marked=[0, 33], ax=ax,
                   title=f"epoch {epoch}\naccuracy {accs[epoch]:.2f}")
    ax.set_xlabel("hidden unit 1", fontsize=8)
    ax.tick_params(labelsize=7)
axes[0].set_ylabel("hidden unit 2", fontsize=8)
fig.suptitle("hidden features of the 2-unit GCN while it trains (colour = true faction, "
             "stars = the two labelled leaders)", y=1.08)
plt.show()

# %% [markdown]
# Before training (epoch 0) the hidden features are random and the factions overlap. As the
# two labelled leaders are pulled to opposite sides, their friends follow, because every
# node's features are averages over its neighbourhood: the nodes spread along the line
# between the two leaders, each faction gathers at its leader's end, and the few members
# with friends on both sides stay in the middle. (Each panel has its own scale: the features
# grow as training sharpens them.) The next cell trains wider networks (16 ReLU units)
# from several seeds:

# %%
def train_gcn(model, X, A_hat, y, train_mask, num_epochs=200, lr=0.01):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=5e-4)
    for _ in range(num_epochs):
        loss = F.cross_entropy(model(X, A_hat)[0][train_mask], y[train_mask])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model


seed_accs = []
for seed in range(5):
    torch.manual_seed(seed)
    trained = train_gcn(GCN(n, 16, 2), X, A_hat, y, train_mask)
    with torch.no_grad():
        seed_accs.append(graphs.masked_accuracy(trained(X, A_hat)[0], y, ~train_mask))
print(f"{sum(p.numel() for p in trained.parameters())} parameters (34·16 + 16 + 16·2 + 2)")
print(f"16 hidden units, 5 seeds: accuracy on the unlabelled members min "
      f"{min(seed_accs):.3f}, mean {np.mean(seed_accs):.3f}, max {max(seed_accs):.3f}")

# %% [markdown]
# **Exercise.** The accuracy that matters is on the nodes the network was **not** told.
# Compute it for `trained` (the last model above) with a mask, without
# `graphs.masked_accuracy`.

# %%
# exercise: accuracy on unlabelled nodes
with torch.no_grad():
    predicted = trained(X, A_hat)[0].argmax(dim=1)
answer = None  # your code here: accuracy of `predicted` on the nodes outside train_mask
expected = graphs.masked_accuracy(trained(X, A_hat)[0], y, ~train_mask)
grading.exercise("accuracy on the unlabelled nodes", answer, expected,
                 hint="(predicted == y)[~train_mask] as floats, then the mean")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: accuracy on unlabelled nodes
# with torch.no_grad():
#     predicted = trained(X, A_hat)[0].argmax(dim=1)
# answer = (predicted == y)[~train_mask].float().mean().item()
# expected = graphs.masked_accuracy(trained(X, A_hat)[0], y, ~train_mask)
# grading.exercise("accuracy on the unlabelled nodes", answer, expected,
#                  hint="(predicted == y)[~train_mask] as floats, then the mean")
# ```
# </details>
#
# **Check yourself.** Why is the accuracy on the training nodes a useless number here?
#
# <details><summary>Answer</summary>
#
# There are two training nodes, and the network has hundreds of parameters (the cell above
# prints how many): it fits two labels after a few steps whatever it does elsewhere. Accuracy on them is 1 for almost any
# run; only the other 32 nodes tell whether the graph helped.
# </details>
#
# ## 6. Message passing in general
#
# The GCN layer is one instance of **message passing** (Gilmer et al., 2017): every node
# $i$ collects messages from the nodes $j \to i$, aggregates them with an operation that does
# not depend on their order, and updates its state:
#
# $$h_i' = \phi\Big(h_i,\ \operatorname*{AGG}_{j \in \mathcal N(i)} \psi(h_j)\Big),
#   \qquad \operatorname{AGG} \in \{\text{sum}, \text{mean}, \text{max}, \dots\}.$$
#
# - **GCN**: $\psi(h_j) = W^\top h_j$ scaled by $1/\sqrt{\tilde d_i \tilde d_j}$, AGG = sum
#   over $\mathcal N(i) \cup \{i\}$, $\phi$ = the non-linearity.
# - **GraphSAGE** (Hamilton et al., 2017): $h_i' = \sigma(W_{self}^\top h_i +
#   W_{neigh}^\top \operatorname{AGG}_j h_j)$ with a mean, max or LSTM aggregator; the node
#   and its neighbours get separate weights. `graphs.MessagePassingLayer` is this layer.
# - **GAT**, graph attention (Veličković et al., 2018): a weighted sum whose weights
#   $\alpha_{ij} = \operatorname{softmax}_j(\text{score}(h_i, h_j))$ are learned from the
#   two endpoints, so a node can listen more to some neighbours than to others.
#
# The aggregator decides what a node can tell apart. In the graph below, node 0 hears from
# three nodes with feature 1, node 4 from a single node with feature 1: **mean** and **max**
# give both the same value, **sum** counts the neighbours (Xu et al., 2019, make this
# precise).

# %%
H_toy = torch.tensor([[0.0], [1.0], [1.0], [1.0], [0.0], [1.0]])  # (6 nodes, 1 feature)
ei_toy = torch.tensor([[1, 2, 3, 5], [0, 0, 0, 4]])  # edges 1, 2, 3 -> 0 and 5 -> 4
for how in graphs.AGGREGATIONS:
    agg = graphs.MessagePassingLayer.aggregate_messages(H_toy, ei_toy, how)
    print(f"{how:>4}: node 0 receives {agg[0].item():.0f}, node 4 receives {agg[4].item():.0f}")

# %% [markdown]
# **Exercise.** On the karate club with feature $h_j = $ degree of $j$, what does node 0
# receive with the **max** aggregator (no self-loop)? Compute it from `A` and `degree`.

# %%
# exercise: max aggregation
answer = None  # your code here: the largest degree among the neighbours of node 0
agg_max = graphs.MessagePassingLayer.aggregate_messages(degree[:, None], ei, "max")
grading.exercise("max over the neighbours of node 0 of their degree", answer, agg_max[0, 0],
                 hint="degree[A[0] > 0].max()")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: max aggregation
# answer = degree[A[0] > 0].max().item()
# agg_max = graphs.MessagePassingLayer.aggregate_messages(degree[:, None], ei, "max")
# grading.exercise("max over the neighbours of node 0 of their degree", answer, agg_max[0, 0],
#                  hint="degree[A[0] > 0].max()")
# ```
# </details>
#
# ## 7. Over-smoothing: why GCNs stay shallow
#
# Every GCN layer averages over a neighbourhood. Apply $\hat A$ $k$ times and node $i$ mixes
# everything within $k$ steps. On a connected graph $\hat A^k X$ converges, as $k$ grows, to
# a matrix whose rows all point the same way (the top eigenvector $\tilde D^{1/2}\mathbf 1$
# dominates), so the nodes become indistinguishable: **over-smoothing** (Li et al., 2018).
# We measure it on the karate club with random features: the mean cosine similarity between
# the rows of $\hat A^k X$, and the accuracy of trained GCNs with more and more layers.

# %%
def mean_cosine(H):
    """Mean cosine similarity over all pairs of distinct rows of H: (n, f)."""
    U = F.normalize(H, dim=1)
    S = U @ U.T
    return ((S.sum() - S.diagonal().sum()) / (len(H) * (len(H) - 1))).item()


torch.manual_seed(0)
H = torch.randn(n, 16, dtype=torch.float64)
A_hat64 = A_hat.double()
powers = [0, 1, 2, 4, 8, 16, 32, 64]
similarity = []
for k in range(max(powers) + 1):
    if k in powers:
        similarity.append(mean_cosine(H))
    H = A_hat64 @ H
print("mean cosine similarity of the rows of A_hat^k X:",
      ", ".join(f"k={k}: {s:.3f}" for k, s in zip(powers, similarity, strict=True)))


class DeepGCN(nn.Module):
    """`depth` GCN layers of width 16 with ReLU between them, for the over-smoothing test."""

    def __init__(self, depth, in_features, num_classes, width=16):
        super().__init__()
        dims = [in_features] + [width] * (depth - 1) + [num_classes]
        self.layers = nn.ModuleList(GCNLayer(a, b) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, X, A_hat):
        H = X
        for layer in self.layers[:-1]:
            H = torch.relu(layer(H, A_hat))
        return self.layers[-1](H, A_hat), H


depths = [1, 2, 4, 8, 16]
depth_acc = []
for depth in depths:
    runs = []
    for seed in range(2):
        torch.manual_seed(seed)
        deep = train_gcn(DeepGCN(depth, n, 2), X, A_hat, y, train_mask, num_epochs=100,
                         lr=0.02)
        with torch.no_grad():
            runs.append(graphs.masked_accuracy(deep(X, A_hat)[0], y, ~train_mask))
    depth_acc.append(np.mean(runs))
print("accuracy on the unlabelled members by depth (mean of 2 seeds):",
      ", ".join(f"{d} layers: {a:.3f}" for d, a in zip(depths, depth_acc, strict=True)))

fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
axes[0].plot([max(k, 0.5) for k in powers], similarity, "-o")
axes[0].set_xscale("log", base=2)
axes[0].set_xticks([0.5, 1, 2, 4, 8, 16, 32, 64], ["0", "1", "2", "4", "8", "16", "32", "64"])
axes[0].set_xlabel("k (applications of A_hat)")
axes[0].set_ylabel("mean cosine similarity of nodes")
axes[0].set_title("node features become alike", fontsize=10)
axes[0].grid(alpha=0.3)
axes[1].plot(depths, depth_acc, "-s", color="tab:red")
axes[1].set_xscale("log", base=2)
axes[1].set_xticks(depths, [str(d) for d in depths])
axes[1].set_ylim(0, 1.05)
axes[1].set_xlabel("number of GCN layers")
axes[1].set_ylabel("accuracy on unlabelled nodes")
axes[1].set_title("deep GCNs on the karate club (mean of 2 seeds)", fontsize=10)
axes[1].grid(alpha=0.3)
plt.show()

# %% [markdown]
# The left panel: random features start nearly orthogonal (similarity near 0) and after a
# few dozen averaging steps all nodes point almost the same way. The right panel shows the
# price in a trained network (the numbers are printed above): a single layer only sees the
# direct friends, two layers reach most of the club, and the deepest networks lose accuracy
# as their features blur and their training gets harder. Remedies include residual
# connections, normalization between layers and shallow-but-wide designs.
#
# ## 8. The same model in PyTorch Geometric
#
# PyTorch Geometric (PyG) is the standard library for graph networks. Its `GCNConv` takes an
# `edge_index` (both directions for an undirected graph), adds the self-loops and normalizes
# itself; it stores $W$ as `lin.weight: (out, in)` and a separate `bias`, like our
# `GCNLayer`. Copy our trained weights into two `GCNConv` layers and compare outputs. (PyG is
# a development dependency of this course; where it is missing the cell says so.)

# %%
if importlib.util.find_spec("torch_geometric") is None:
    print("PyTorch Geometric is not installed (pip install torch-geometric): cell skipped")
else:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a FutureWarning about torch.jit under torch 2.14
        from torch_geometric.nn import GCNConv

    class PyGGCN(nn.Module):
        def __init__(self, in_features, hidden_features, num_classes):
            super().__init__()
            self.conv1 = GCNConv(in_features, hidden_features)
            self.conv2 = GCNConv(hidden_features, num_classes)

        def forward(self, X, edge_index):
            return self.conv2(torch.relu(self.conv1(X, edge_index)), edge_index)

    pyg_model = PyGGCN(n, 16, 2)
    pyg_model.load_state_dict(trained.state_dict())  # same names: conv1.lin.weight, ...
    with torch.no_grad():
        ours, pyg_out = trained(X, A_hat)[0], pyg_model(X, ei)
    print(f"max |ours - PyG| = {(ours - pyg_out).abs().max():.1e} (float32)")
    print("same predictions:", torch.equal(ours.argmax(1), pyg_out.argmax(1)))

# %% [markdown]
# ## 9. Dense or sparse?
#
# A dense $\hat A$ has $n^2$ entries: fine for 34 nodes, 64 MB of float32 for 4,000 nodes,
# 40 GB for 100,000. Real graphs are sparse (a node has a handful of neighbours), so a
# **sparse** matrix that stores only the $E + n$ non-zero entries scales with the edges.
# `graphs.normalized_adjacency_sparse` builds $\hat A$ from `edge_index` as a `torch.sparse`
# COO tensor without ever forming the dense matrix, and `GCNLayer` works with either
# (`A_hat @ H` is a sparse-dense product). Below, one GCN layer's product
# $\hat A (X W)$ with 16 features, timed on random graphs with an average degree of about 10
# (best of several runs, one thread); `benchmarks/gcn_sparse.py` runs the same measurement
# on larger graphs.

# %%
def best_time(fn, repeats=5):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


print(f"a dense float32 A_hat takes {4000**2 * 4 / 1e6:.0f} MB for 4,000 nodes and "
      f"{100_000**2 * 4 / 1e9:.0f} GB for 100,000")
sizes = [500, 1000, 2000, 4000]
dense_ms, sparse_ms = [], []
for size in sizes:
    big = nx.fast_gnp_random_graph(size, 10 / size, seed=0)
    ei_big = graphs.edge_index(big)
    A_sparse = graphs.normalized_adjacency_sparse(ei_big, size)
    A_dense = graphs.normalized_adjacency(graphs.edge_index_to_dense(ei_big, size))
    XW = torch.randn(size, 16)
    assert torch.allclose(A_sparse @ XW, A_dense @ XW, atol=1e-5)
    dense_ms.append(1000 * best_time(lambda A_dense=A_dense, XW=XW: A_dense @ XW))
    sparse_ms.append(1000 * best_time(lambda A_sparse=A_sparse, XW=XW: A_sparse @ XW))
    print(f"n = {size:5d}, {ei_big.shape[1]:6d} directed edges: dense {dense_ms[-1]:7.2f} ms "
          f"({A_dense.numel() * 4 / 1e6:5.1f} MB), sparse {sparse_ms[-1]:6.2f} ms "
          f"({A_sparse._nnz() * 20 / 1e6:.2f} MB: two int64 indices + a float32 per entry)")

fig, ax = plt.subplots(figsize=(5.5, 3.6))
ax.loglog(sizes, dense_ms, "-o", label="dense A_hat")
ax.loglog(sizes, sparse_ms, "-s", label="sparse A_hat (torch.sparse)")
ax.set_xticks(sizes, [str(s) for s in sizes])
ax.minorticks_off()
ax.set_xlabel("number of nodes n (average degree 10)")
ax.set_ylabel("time of A_hat @ (XW), ms")
ax.set_title("one GCN propagation, 16 features", fontsize=10)
ax.legend()
ax.grid(alpha=0.3, which="both")
plt.show()

# %% [markdown]
# The dense product does $n^2 \cdot 16$ multiplications whether the entries are zero or not;
# the sparse one does $(E + n) \cdot 16$. In the printed times the dense cost grows at least
# as fast as $n^2$ (faster once the matrix no longer fits in the processor's cache) and the
# sparse one roughly with the number of edges; from a few thousand nodes on the sparse
# product is many times faster. For a few hundred nodes the dense one can win: its inner
# loop is simpler. Dense matrices stay the right choice for teaching and for small graphs,
# where they are simpler and the difference does not matter.
#
# ## 10. Cora: the same code on a citation network (optional, needs the internet)
#
# Cora (Sen et al., 2008) is the classic benchmark of Kipf & Welling: 2,708 papers with
# 1,433 binary word features, 10,556 directed citation edges and 7 topics, with 140 labelled
# papers for training. When PyG is installed and the machine is online, the cell downloads
# it (to the course's cache folder, a few MB) and trains the same `GCN` with the sparse
# $\hat A$; offline it stops at once with a message.

# %%
def online(host="github.com", timeout=3.0):
    import socket

    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


if importlib.util.find_spec("torch_geometric") is None:
    print("Cora skipped: PyTorch Geometric is not installed")
elif not online():
    print("Cora skipped: no internet connection (the rest of the lecture runs offline)")
else:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch_geometric.datasets import Planetoid
    cora = Planetoid(str(data.cache_dir() / "planetoid"), "Cora")[0]
    A_cora = graphs.normalized_adjacency_sparse(cora.edge_index, cora.num_nodes)
    torch.manual_seed(0)
    cora_model = train_gcn(GCN(cora.num_features, 16, 7), cora.x, A_cora, cora.y,
                           cora.train_mask)
    with torch.no_grad():
        test_acc = graphs.masked_accuracy(cora_model(cora.x, A_cora)[0], cora.y,
                                          cora.test_mask)
    print(f"Cora: {cora.num_nodes} nodes, {int(cora.train_mask.sum())} labelled; "
          f"test accuracy {test_acc:.3f} (Kipf & Welling report 0.815 with dropout)")

# %% [markdown]
# ## Summary
#
# - Graphs store relational data: an adjacency matrix ($A_{ij} = 1$ for the edge
#   $j \to i$ here) or an edge list. Beware of weighted edges you did not ask for:
#   networkx's karate club needs `weight=None`.
# - A GCN layer aggregates the neighbours and updates: $H' = \sigma(\hat A H W + b)$ with
#   $\hat A = \tilde D^{-1/2}(A + I)\tilde D^{-1/2}$. Self-loops keep a node's own features;
#   the symmetric normalization keeps the scale.
# - On the 8-neighbour grid graph of an image, mean message passing **is** the 3x3
#   convolution with equal weights; a graph layer gives up direction-specific weights to
#   work on any graph.
# - Semi-supervised node classification trains on the whole graph with the loss restricted
#   to the labelled nodes by a mask and is judged on the others: on the karate club two
#   labels let the GCN place most of the 32 other members (accuracies printed in section 5).
# - Message passing generalizes the GCN: sum, mean and max aggregators (sum counts, mean and
#   max do not), GraphSAGE, GAT. Deep stacks over-smooth (section 7).
# - Dense $\hat A$ is for teaching and small graphs; `torch.sparse` scales with the edges.
#   PyG's `GCNConv` computes the same layer.
#
# ## Further reading
#
# - T. N. Kipf, M. Welling. *Semi-supervised classification with graph convolutional
#   networks.* ICLR 2017 (arXiv:1609.02907).
# - W. W. Zachary. *An information flow model for conflict and fission in small groups.*
#   Journal of Anthropological Research 33(4):452–473, 1977.
# - J. Gilmer, S. S. Schoenholz, P. F. Riley, O. Vinyals, G. E. Dahl. *Neural message passing
#   for quantum chemistry.* ICML 2017.
# - W. L. Hamilton, R. Ying, J. Leskovec. *Inductive representation learning on large
#   graphs.* NeurIPS 2017 (GraphSAGE).
# - P. Veličković, G. Cucurull, A. Casanova, A. Romero, P. Liò, Y. Bengio. *Graph attention
#   networks.* ICLR 2018.
# - K. Xu, W. Hu, J. Leskovec, S. Jegelka. *How powerful are graph neural networks?*
#   ICLR 2019.
# - Q. Li, Z. Han, X.-M. Wu. *Deeper insights into graph convolutional networks for
#   semi-supervised learning.* AAAI 2018 (over-smoothing).
# - P. Sen, G. Namata, M. Bilgic, L. Getoor, B. Gallagher, T. Eliassi-Rad. *Collective
#   classification in network data.* AI Magazine 29(3):93–106, 2008 (Cora).
# - M. Fey, J. E. Lenssen. *Fast graph representation learning with PyTorch Geometric.*
#   ICLR 2019 workshop on representation learning on graphs and manifolds.
# - W. L. Hamilton. *Graph Representation Learning.* Morgan & Claypool, 2020.
