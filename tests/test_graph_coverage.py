"""Graph coverage of a feature set (aprior_cli.graph_coverage)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from aprior_cli.graph_coverage import coverage_line, coverage_warning, graph_coverage


def adjacency(edges, nodes):
    idx = {n: i for i, n in enumerate(nodes)}
    w = np.zeros((len(nodes), len(nodes)))
    for a, b in edges:
        w[idx[a], idx[b]] = w[idx[b], idx[a]] = 1.0
    return sp.csr_matrix(w)


def test_counts_by_hand():
    nodes = ["a", "b", "c", "d", "e", "f"]
    w = adjacency([("a", "b"), ("b", "c"), ("d", "e")], nodes)  # f is a node without edges
    features = ["a", "b", "c", "d", "e", "f", "x", "y"]          # x, y: not graph nodes
    stats = graph_coverage(w, nodes, features)
    assert stats == {"graph_coverage": 5 / 8, "graph_components": 2, "graph_isolated": 3,
                     "graph_features_with_edge": 5, "graph_n_features": 8}
    # edges that leave the feature set do not count
    sub = graph_coverage(w, nodes, ["a", "d", "f"])
    assert sub["graph_coverage"] == 0 and sub["graph_components"] == 0
    assert graph_coverage(w, nodes)["graph_n_features"] == 6  # default: the graph's nodes
    assert coverage_warning(stats) is None
    assert "5 of 8 features with an edge), 2 components, 3 isolated" in coverage_line(stats)


def test_low_coverage_warns():
    nodes = [f"g{i}" for i in range(708)]
    w = adjacency([(f"g{i}", f"g{i + 1}") for i in range(0, 24, 2)], nodes)
    stats = graph_coverage(w, nodes)
    assert stats["graph_features_with_edge"] == 24 and stats["graph_components"] == 12
    line = coverage_warning(stats, "graph.npz")
    assert line.startswith("graph.npz covers only 24 of 708 features (3.4 % have an edge; "
                           "684 isolated)")
    assert "--mapping" in line
