"""Graph building: mapping counts, max-symmetrisation, Laplacians, statistics, random controls."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import laplacian as csgraph_laplacian

from aprior_cli import graph as g
from aprior_cli.errors import UserInputError


def edge_list(triples):
    ids, codes = np.unique([t[0] for t in triples] + [t[1] for t in triples], return_inverse=True)
    m = len(triples)
    return g.EdgeList(pd.Index(ids), codes[:m].astype(np.int64), codes[m:].astype(np.int64),
                      np.array([t[2] for t in triples], dtype=float))


def dense(adjacency, features, order):
    idx = [features.index(f) for f in order]
    return adjacency.toarray()[np.ix_(idx, idx)]


def test_threshold_symmetrise_by_max_and_restrict():
    edges = edge_list([("A", "B", 0.3), ("B", "A", 0.8), ("A", "B", 0.5), ("A", "A", 0.9),
                       ("B", "C", 0.05), ("C", "X", 0.9), ("C", "A", 0.2)])
    kept = g.threshold_edges(edges, 0.1)
    assert len(kept) == 6
    features = ["C", "B", "A", "D"]
    w, stats = g.build_adjacency(kept, features)
    assert stats == {"edges_in": 6, "edges_outside_features": 1, "self_loops": 1,
                     "duplicates_combined": 2, "edges": 2}
    expected = np.array([[0, 0, 0.2, 0], [0, 0, 0.8, 0], [0.2, 0.8, 0, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(w.toarray(), expected)


def test_mapping_one_to_many_and_many_to_one_counted():
    # entrez 1 -> {A, A2} (one-to-many), entrez 2 and 3 -> B (many-to-one), 9 unmapped
    edges = edge_list([("1", "2", 0.5), ("3", "1", 0.7), ("2", "9", 0.9), ("2", "3", 0.4)])
    mapped, stats = g.map_edges(edges, ["1", "1", "2", "3", "7"], ["A", "A2", "B", "B", "Z"])
    assert stats == {"ids_in_edges": 4, "ids_mapped": 3, "ids_unmapped": 1, "one_to_many_ids": 1,
                     "many_to_one_targets": 1, "edges_in": 4, "edges_dropped_unmapped": 1,
                     "edges_out": 5}
    names = np.asarray(mapped.ids)
    got = sorted(zip(names[mapped.src], names[mapped.dst], mapped.weight, strict=True))
    assert got == [("A", "B", 0.5), ("A2", "B", 0.5), ("B", "A", 0.7), ("B", "A2", 0.7),
                   ("B", "B", 0.4)]
    w, build = g.build_adjacency(mapped, ["A", "A2", "B"])
    # B-B is a self-loop after mapping; A-B seen twice -> max 0.7
    assert build["self_loops"] == 1
    np.testing.assert_array_equal(w.toarray(), [[0, 0, 0.7], [0, 0, 0.7], [0.7, 0.7, 0]])


def test_duplicate_features_rejected():
    with pytest.raises(UserInputError, match="duplicate"):
        g.build_adjacency(edge_list([("A", "B", 1.0)]), ["A", "A"])


@st.composite
def weighted_graphs(draw):
    q = draw(st.integers(2, 8))
    w = np.zeros((q, q))
    for i in range(q):
        for j in range(i + 1, q):
            if draw(st.booleans()):
                w[i, j] = w[j, i] = draw(st.floats(0.01, 5.0))
    a = np.array(draw(st.lists(st.floats(-3, 3), min_size=q, max_size=q)))
    return w, a


@settings(max_examples=50, deadline=None)
@given(weighted_graphs())
def test_laplacian_properties(case):
    w, a = case
    lap = g.laplacian(sp.csr_matrix(w)).toarray()
    np.testing.assert_allclose(lap, lap.T)
    np.testing.assert_allclose(lap.sum(axis=1), 0, atol=1e-12)
    assert np.linalg.eigvalsh(lap).min() > -1e-9
    # convention: a^T L a = sum over ordered pairs i,j of W_ij (a_i - a_j)^2 / 2
    pairwise = sum(w[i, j] * (a[i] - a[j]) ** 2 for i in range(len(a)) for j in range(len(a))) / 2
    np.testing.assert_allclose(a @ lap @ a, pairwise, atol=1e-9)
    np.testing.assert_allclose(lap, csgraph_laplacian(w))


@settings(max_examples=30, deadline=None)
@given(weighted_graphs())
def test_normalized_laplacian(case):
    w, _ = case
    lap = g.laplacian(sp.csr_matrix(w), normalized=True).toarray()
    d = w.sum(axis=1)
    expected = np.zeros_like(w)
    for i in range(len(d)):
        for j in range(len(d)):
            if d[i] > 0 and d[j] > 0:
                expected[i, j] = (i == j) - w[i, j] / np.sqrt(d[i] * d[j])
    np.testing.assert_allclose(lap, expected, atol=1e-12)
    eig = np.linalg.eigvalsh(lap)
    assert eig.min() > -1e-9 and eig.max() < 2 + 1e-9


def test_statistics_on_known_graph():
    # two components (0-1-2 path, 3-4 edge) plus isolated node 5
    w = g.symmetric_from_pairs(np.array([0, 1, 3]), np.array([1, 2, 4]),
                               np.array([1.0, 2.0, 0.5]), 6)
    s = g.graph_statistics(w)
    assert s["features"] == 6 and s["features_with_edge"] == 5 and s["edges"] == 3
    assert s["fraction_without_edge"] == pytest.approx(1 / 6)
    assert s["connected_components"] == 2 and s["connected_components_incl_isolated"] == 3
    assert s["largest_component"] == 3
    assert s["degree"] == {"min": 1.0, "median": 1.0, "mean": 1.2, "max": 2.0}
    assert s["weight"]["max"] == 2.0


def ring_with_chords(q=40, seed=0):
    rng = np.random.default_rng(seed)
    a = np.arange(q)
    b = (a + 1) % q
    extra = rng.choice(q, size=(30, 2))
    extra = extra[extra[:, 0] != extra[:, 1]]
    a, b = np.concatenate([a, extra[:, 0]]), np.concatenate([b, extra[:, 1]])
    w, _ = g.build_adjacency(g.EdgeList(pd.Index([str(i) for i in range(q)]), a, b,
                                        rng.random(a.size) + 0.1), [str(i) for i in range(q)])
    return w


def test_random_same_edges_keeps_count_and_weights():
    w = ring_with_chords()
    r1 = g.random_same_edges(w, np.random.default_rng(1))
    r2 = g.random_same_edges(w, np.random.default_rng(1))
    assert sp.triu(r1, 1).nnz == sp.triu(w, 1).nnz
    assert r1.diagonal().sum() == 0 and abs(r1 - r1.T).max() == 0
    np.testing.assert_allclose(np.sort(sp.triu(r1, 1).data), np.sort(sp.triu(w, 1).data))
    assert (r1 != r2).nnz == 0  # seeded
    assert (r1.astype(bool) != w.astype(bool)).nnz > 0


def test_random_degree_preserving_keeps_degrees():
    w = ring_with_chords()
    r, swaps = g.random_degree_preserving(w, np.random.default_rng(3), swaps_per_edge=5)
    assert swaps > 0
    np.testing.assert_array_equal(np.diff(r.indptr), np.diff(w.indptr))
    assert sp.triu(r, 1).nnz == sp.triu(w, 1).nnz
    assert r.diagonal().sum() == 0 and abs(r - r.T).max() == 0
    np.testing.assert_allclose(np.sort(sp.triu(r, 1).data), np.sort(sp.triu(w, 1).data))
    overlap = (r.astype(bool).multiply(w.astype(bool))).nnz / w.nnz
    assert overlap < 0.6
    r2, _ = g.random_degree_preserving(w, np.random.default_rng(3), swaps_per_edge=5)
    assert (r != r2).nnz == 0
