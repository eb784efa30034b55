"""Dense vs sparse GCN propagation: time of ``A_hat @ (X W)`` and memory of ``A_hat`` on random
graphs with an average degree of 10, using :mod:`course.graphs`.

Prints one JSON line per graph size, e.g.
``{"nodes": 4000, "edges": 39956, "dense_ms": 20.1, "sparse_ms": 1.6, "dense_mb": 64.0,
"sparse_mb": 0.53, "build_dense_ms": ..., "build_sparse_ms": ...}``.
Times are the best of ``--repeats`` runs on ``--threads`` threads. Dense matrices above
``--max-dense`` nodes are skipped (their memory grows with n^2).

Run: ``python benchmarks/gcn_sparse.py [--sizes 1000 4000 16000] [--features 16]``
"""

from __future__ import annotations

import argparse
import json
import time

import networkx as nx
import torch

from course import graphs


def best_ms(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return 1000 * best


def measure(nodes: int, features: int, repeats: int, max_dense: int, degree: float = 10.0):
    G = nx.fast_gnp_random_graph(nodes, degree / nodes, seed=0)
    ei = graphs.edge_index(G)
    XW = torch.randn(nodes, features)
    row = {"nodes": nodes, "edges": int(ei.shape[1])}
    row["build_sparse_ms"] = round(
        best_ms(lambda: graphs.normalized_adjacency_sparse(ei, nodes), repeats), 2)
    A_sparse = graphs.normalized_adjacency_sparse(ei, nodes)
    row["sparse_ms"] = round(best_ms(lambda: A_sparse @ XW, repeats), 3)
    row["sparse_mb"] = round(A_sparse._nnz() * (2 * 8 + 4) / 1e6, 2)  # 2 int64 + float32
    if nodes <= max_dense:
        def build_dense():
            return graphs.normalized_adjacency(graphs.edge_index_to_dense(ei, nodes))

        row["build_dense_ms"] = round(best_ms(build_dense, repeats), 2)
        A_dense = build_dense()
        if not torch.allclose(A_dense @ XW, A_sparse @ XW, atol=1e-5):
            raise AssertionError("dense and sparse products differ")
        row["dense_ms"] = round(best_ms(lambda: A_dense @ XW, repeats), 3)
        row["dense_mb"] = round(A_dense.numel() * 4 / 1e6, 1)
        row["ratio"] = round(row["dense_ms"] / row["sparse_ms"], 1)
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000, 4000, 8000])
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-dense", type=int, default=8000)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    for nodes in args.sizes:
        print(json.dumps(measure(nodes, args.features, args.repeats, args.max_dense)))


if __name__ == "__main__":
    main()
