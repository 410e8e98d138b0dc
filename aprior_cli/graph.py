"""Gene-gene graphs as sparse matrices: edges -> id mapping -> threshold -> adjacency ->
Laplacian, statistics and random controls. Pure computation (numpy/scipy/pandas; no IO).

Conventions
-----------
* Edges are undirected. Both directions and duplicates (several files, or several source ids
  mapped onto one target id) are combined by the **maximum** weight. Self-loops are dropped.
* ``W`` is the symmetric (q, q) weighted adjacency with zero diagonal over the feature list
  (features without an edge are isolated nodes: zero rows).
* Laplacian ``L = D - W`` with ``D = diag(sum_j W_ij)``, so for any vector ``a``
  ``a^T L a = sum_{i,j} W_ij (a_i - a_j)^2 / 2`` (sum over ordered pairs; i.e. each
  undirected edge counted once). The symmetric-normalised option is
  ``I' - D^-1/2 W D^-1/2`` where ``I'`` has ones only for nodes with degree > 0 (isolated
  nodes get a zero row, so they never contribute to the penalty).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from aprior_cli.errors import UserInputError


@dataclass
class EdgeList:
    """Directed edge list over an id vocabulary: ``ids[src[k]] -- ids[dst[k]]`` with ``weight[k]``."""

    ids: pd.Index
    src: np.ndarray      # (m,) int64 codes into ids
    dst: np.ndarray      # (m,) int64
    weight: np.ndarray   # (m,) float64
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.src.shape[0])

    def subset(self, keep: np.ndarray) -> EdgeList:
        """Edges where the boolean mask ``keep`` (m,) is True (same vocabulary)."""
        return EdgeList(self.ids, self.src[keep], self.dst[keep], self.weight[keep], self.meta)


@dataclass
class GeneGraph:
    """A gene graph over ``features`` (interfaces.md section C)."""

    features: list[str]
    adjacency: sp.csr_matrix   # (q, q) symmetric, zero diagonal, float64
    laplacian: sp.csr_matrix   # (q, q)
    normalized: bool


def concat_edges(parts: list[EdgeList]) -> EdgeList:
    """One edge list from several (vocabularies unified by id text; edges kept in order)."""
    ids = pd.Index(pd.unique(np.concatenate([p.ids.astype(str).to_numpy() for p in parts])))
    src, dst = [], []
    for p in parts:
        recode = ids.get_indexer(p.ids.astype(str))
        src.append(recode[p.src])
        dst.append(recode[p.dst])
    return EdgeList(ids, np.concatenate(src).astype(np.int64),
                    np.concatenate(dst).astype(np.int64),
                    np.concatenate([p.weight for p in parts]))


def threshold_edges(edges: EdgeList, threshold: float) -> EdgeList:
    """Keep edges with ``weight >= threshold``."""
    return edges.subset(edges.weight >= threshold)


def _expand(codes: np.ndarray, offsets: np.ndarray, counts: np.ndarray, targets: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """For each element c of ``codes`` emit its ``counts[c]`` targets; return (new codes, which
    input element each came from)."""
    k = counts[codes]
    which = np.repeat(np.arange(codes.shape[0]), k)
    starts = np.repeat(np.cumsum(k) - k, k)
    within = np.arange(which.shape[0]) - starts
    return targets[offsets[codes[which]] + within], which


def map_edges(edges: EdgeList, source_ids: np.ndarray | pd.Index,
              target_ids: np.ndarray | pd.Index) -> tuple[EdgeList, dict[str, int]]:
    """Translate edge ids through a mapping given as pairs ``source_ids[k] -> target_ids[k]``.

    One-to-many ids (one source, several targets) turn an edge into one edge per combination
    of targets; many-to-one targets (several sources, one target) merge edges (combined by max
    later, in :func:`build_adjacency`). Edges with an unmapped end are dropped. All counted.

    Returns
    -------
    (EdgeList over the target vocabulary, statistics)
    """
    pairs = pd.DataFrame({"source": pd.Index(source_ids).astype(str),
                          "target": pd.Index(target_ids).astype(str)})
    pairs = pairs[(pairs["source"] != "") & (pairs["target"] != "")
                  & (pairs["source"] != "nan") & (pairs["target"] != "nan")
                  & (pairs["source"] != "<NA>") & (pairs["target"] != "<NA>")].drop_duplicates()
    used = np.zeros(len(edges.ids), dtype=bool)
    used[edges.src] = True
    used[edges.dst] = True
    node = edges.ids.astype(str).get_indexer(pairs["source"])
    pairs = pairs[node >= 0].assign(node=node[node >= 0])
    pairs = pairs[used[pairs["node"].to_numpy()]]
    target_codes, target_vocab = pd.factorize(pairs["target"])
    node_codes = pairs["node"].to_numpy()
    order = np.argsort(node_codes, kind="stable")
    node_codes, target_codes = node_codes[order], target_codes[order]
    counts = np.bincount(node_codes, minlength=len(edges.ids))
    offsets = np.cumsum(counts) - counts
    mapped = counts > 0
    keep = mapped[edges.src] & mapped[edges.dst]
    kept = edges.subset(keep)
    new_src, which = _expand(kept.src, offsets, counts, target_codes)
    dst1, w1 = kept.dst[which], kept.weight[which]
    new_dst, which2 = _expand(dst1, offsets, counts, target_codes)
    new_src, weight = new_src[which2], w1[which2]
    sources_per_target = np.bincount(target_codes, minlength=len(target_vocab))
    stats = {
        "ids_in_edges": int(used.sum()),
        "ids_mapped": int((mapped & used).sum()),
        "ids_unmapped": int((~mapped & used).sum()),
        "one_to_many_ids": int((counts > 1).sum()),
        "many_to_one_targets": int((sources_per_target > 1).sum()),
        "edges_in": len(edges),
        "edges_dropped_unmapped": int((~keep).sum()),
        "edges_out": int(new_src.shape[0]),
    }
    return EdgeList(pd.Index(target_vocab), new_src, new_dst, weight), stats


def build_adjacency(edges: EdgeList, features: list[str]) -> tuple[sp.csr_matrix, dict[str, int]]:
    """Symmetric adjacency over ``features`` from an edge list.

    Drops self-loops and edges with an end outside ``features``; combines both directions and
    duplicates by max.

    Returns
    -------
    (csr_matrix (q, q) float64, statistics)
    """
    q = len(features)
    feature_index = pd.Index(features)
    if feature_index.has_duplicates:
        raise UserInputError(f"features: duplicate id {feature_index[feature_index.duplicated()][0]!r}")
    position = feature_index.get_indexer(edges.ids.astype(str))
    i = position[edges.src]
    j = position[edges.dst]
    inside = (i >= 0) & (j >= 0)
    i, j, w = i[inside], j[inside], edges.weight[inside]
    loops = i == j
    i, j, w = i[~loops], j[~loops], w[~loops]
    a = np.minimum(i, j).astype(np.int64)
    b = np.maximum(i, j).astype(np.int64)
    key = a * q + b
    order = np.argsort(key, kind="stable")
    key, w = key[order], w[order]
    if key.shape[0]:
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        w_max = np.maximum.reduceat(w, starts)
        key = key[starts]
    else:
        w_max = w
    a, b = key // q, key % q
    adjacency = symmetric_from_pairs(a, b, w_max, q)
    stats = {"edges_in": len(edges), "edges_outside_features": int((~inside).sum()),
             "self_loops": int(loops.sum()),
             "duplicates_combined": int(loops.shape[0] - loops.sum() - key.shape[0]),
             "edges": int(key.shape[0])}
    return adjacency, stats


def symmetric_from_pairs(a: np.ndarray, b: np.ndarray, weight: np.ndarray, q: int) -> sp.csr_matrix:
    """CSR (q, q) with ``W[a,b] = W[b,a] = weight`` for distinct unordered pairs a != b."""
    rows = np.concatenate([a, b])
    cols = np.concatenate([b, a])
    data = np.concatenate([weight, weight]).astype(np.float64)
    m = sp.csr_matrix((data, (rows, cols)), shape=(q, q))
    m.sort_indices()
    return m


def laplacian(adjacency: sp.spmatrix, normalized: bool = False) -> sp.csr_matrix:
    """``D - W`` or the symmetric-normalised ``I' - D^-1/2 W D^-1/2`` (see module docstring).

    ``W`` must be finite and non-negative (otherwise ``L`` is indefinite and the graph penalty
    can be negative); a ``ValueError`` says so.
    """
    w = sp.csr_matrix(adjacency, dtype=np.float64)
    if w.nnz and not (np.all(np.isfinite(w.data)) and w.data.min() >= 0):
        raise ValueError("adjacency weights must be finite and >= 0 for a graph Laplacian")
    degree = np.asarray(w.sum(axis=1)).ravel()
    if not normalized:
        out = sp.diags(degree) - w
    else:
        inv_sqrt = np.zeros_like(degree)
        nz = degree > 0
        inv_sqrt[nz] = 1.0 / np.sqrt(degree[nz])
        d = sp.diags(inv_sqrt)
        out = sp.diags(nz.astype(np.float64)) - d @ w @ d
    out = sp.csr_matrix(out)
    out.eliminate_zeros()
    out.sort_indices()
    return out


def make_graph(features: list[str], adjacency: sp.csr_matrix, normalized: bool = False) -> GeneGraph:
    """Bundle features, adjacency and its Laplacian."""
    return GeneGraph(features=list(features), adjacency=adjacency,
                     laplacian=laplacian(adjacency, normalized), normalized=normalized)


def _summary(values: np.ndarray) -> dict[str, float]:
    if values.size == 0:
        return {"min": None, "median": None, "mean": None, "max": None}
    return {"min": float(values.min()), "median": float(np.median(values)),
            "mean": float(values.mean()), "max": float(values.max())}


def graph_statistics(adjacency: sp.csr_matrix) -> dict[str, Any]:
    """Nodes, edges, coverage, connected components, degree and weight summaries."""
    q = adjacency.shape[0]
    degree = np.diff(adjacency.indptr)
    covered = degree > 0
    n_comp, labels = connected_components(adjacency, directed=False)
    sizes = np.bincount(labels, minlength=n_comp)
    non_trivial = sizes[sizes > 1]
    upper = sp.triu(adjacency, k=1)
    return {
        "features": int(q),
        "features_with_edge": int(covered.sum()),
        "fraction_without_edge": float(1.0 - covered.mean()) if q else None,
        "edges": int(upper.nnz),
        "connected_components": int(non_trivial.size),
        "connected_components_incl_isolated": int(n_comp),
        "largest_component": int(sizes.max()) if q else 0,
        "degree": _summary(degree[covered].astype(np.float64)),
        "weighted_degree": _summary(np.asarray(adjacency.sum(axis=1)).ravel()[covered]),
        "weight": _summary(upper.data),
    }


def _upper_pairs(adjacency: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    upper = sp.triu(adjacency, k=1).tocoo()
    return upper.row.astype(np.int64), upper.col.astype(np.int64), upper.data


def random_same_edges(adjacency: sp.csr_matrix, rng: np.random.Generator) -> sp.csr_matrix:
    """Same number of edges placed uniformly at random among all unordered pairs of the q
    nodes (isolated features included); the real weights are shuffled onto them."""
    q = adjacency.shape[0]
    a, b, w = _upper_pairs(adjacency)
    m = a.shape[0]
    if m > q * (q - 1) // 2:
        raise UserInputError("--random same-edges: more edges than node pairs")
    keys = np.empty(0, dtype=np.int64)
    while keys.shape[0] < m:
        need = int((m - keys.shape[0]) * 1.1) + 16
        i = rng.integers(0, q, size=need)
        j = rng.integers(0, q, size=need)
        ok = i != j
        new = np.minimum(i, j)[ok] * q + np.maximum(i, j)[ok]
        merged = np.concatenate([keys, new])
        _, first = np.unique(merged, return_index=True)
        keys = merged[np.sort(first)]
    keys = keys[:m]
    return symmetric_from_pairs(keys // q, keys % q, rng.permutation(w), q)


def _in_sorted(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Membership of ``keys`` in the sorted array ``sorted_keys`` (queries are sorted first:
    searchsorted with sorted queries is an order of magnitude faster on millions of keys)."""
    order = np.argsort(keys, kind="stable")
    pos = np.searchsorted(sorted_keys, keys[order])
    hit = np.zeros(keys.shape[0], dtype=bool)
    inside = pos < sorted_keys.shape[0]
    hit_sorted = np.zeros(keys.shape[0], dtype=bool)
    hit_sorted[inside] = sorted_keys[pos[inside]] == keys[order][inside]
    hit[order] = hit_sorted
    return hit


def random_degree_preserving(adjacency: sp.csr_matrix, rng: np.random.Generator,
                             swaps_per_edge: float = 10.0) -> tuple[sp.csr_matrix, int]:
    """Double-edge swaps: ``(u,v),(x,y) -> (u,x),(v,y)`` (orientation of the second edge random),
    rejected when they would create a self-loop or an edge already present. Every node keeps its
    degree; each edge slot keeps its weight. ``swaps_per_edge * m`` attempts in total.

    Vectorised: attempts are made in rounds of up to ``m / 4`` proposals; within a round, only
    proposals whose two edges are used by no other proposal and whose new edges are distinct
    are applied (together), so each applied swap is a valid swap of the current graph.

    Returns
    -------
    (randomised adjacency, number of successful swaps)
    """
    q = adjacency.shape[0]
    u, v, w = _upper_pairs(adjacency)
    u, v = u.copy(), v.copy()
    m = u.shape[0]
    if m < 2:
        return adjacency.copy(), 0
    remaining = int(swaps_per_edge * m)
    batch = max(1, m // 4)
    done = 0
    present = np.sort(np.minimum(u, v) * q + np.maximum(u, v))  # kept sorted, updated by merge
    while remaining > 0:
        k = min(batch, remaining)
        remaining -= k
        e1 = rng.integers(0, m, size=k)
        e2 = rng.integers(0, m, size=k)
        flip = rng.integers(0, 2, size=k).astype(bool)
        used = np.bincount(np.concatenate([e1, e2]), minlength=m)
        ok = (e1 != e2) & (used[e1] == 1) & (used[e2] == 1)
        p, r = u[e1], v[e1]
        x = np.where(flip, v[e2], u[e2])
        y = np.where(flip, u[e2], v[e2])
        ok &= (p != x) & (r != y) & (p != y) & (r != x)
        k1 = np.minimum(p, x) * q + np.maximum(p, x)
        k2 = np.minimum(r, y) * q + np.maximum(r, y)
        ok &= ~_in_sorted(present, k1) & ~_in_sorted(present, k2)
        new_keys = np.concatenate([k1[ok], k2[ok]])
        uniq, counts = np.unique(new_keys, return_counts=True)
        clash = uniq[counts > 1]
        if clash.size:
            ok &= ~(np.isin(k1, clash) | np.isin(k2, clash))
        idx1, idx2 = e1[ok], e2[ok]
        removed = np.concatenate([np.minimum(u[idx1], v[idx1]) * q + np.maximum(u[idx1], v[idx1]),
                                  np.minimum(u[idx2], v[idx2]) * q + np.maximum(u[idx2], v[idx2])])
        keep = np.ones(present.shape[0], dtype=bool)
        keep[np.searchsorted(present, np.sort(removed))] = False
        present = present[keep]
        added = np.sort(np.concatenate([k1[ok], k2[ok]]))
        present = np.insert(present, np.searchsorted(present, added), added)
        u[idx1], v[idx1] = p[ok], x[ok]
        u[idx2], v[idx2] = r[ok], y[ok]
        done += int(ok.sum())
    return symmetric_from_pairs(np.minimum(u, v), np.maximum(u, v), w, q), done
