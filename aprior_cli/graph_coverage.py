"""How much of a feature set a gene graph covers (a diagnostic shown beside every finding).

For the features of a model (the expression's genes) and a graph over some of them:

* ``graph_coverage``: fraction (0-1) of the features with at least one edge;
* ``graph_isolated``: number of features without an edge (not graph nodes, or nodes whose
  edges all left the feature set);
* ``graph_components``: number of connected components with at least two features (isolated
  features are not counted as components);
* ``graph_features_with_edge``, ``graph_n_features``: the counts behind the fraction.

A graph prior only acts on covered features, so a low coverage (below
:data:`LOW_COVERAGE`, 50 %) is worth a warning: the prior then shapes the attributions of a
minority of the genes and the rest are free (HumanNet covered 24 of 708 genes in one study).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

LOW_COVERAGE = 0.5


def graph_coverage(adjacency: sp.spmatrix, graph_features: Sequence[str],
                   features: Sequence[str] | None = None) -> dict[str, Any]:
    """Coverage statistics (module docstring) of ``features`` by a graph.

    Parameters
    ----------
    adjacency
        (q, q) symmetric adjacency over ``graph_features``.
    graph_features
        Node names (q,).
    features
        The features to cover (p,) (default: the graph's own nodes). Graph nodes outside
        them are ignored.

    Returns
    -------
    dict
        ``graph_coverage`` (float, NaN when there are no features), ``graph_components``,
        ``graph_isolated``, ``graph_features_with_edge``, ``graph_n_features``.
    """
    adjacency = sp.csr_matrix(adjacency)
    graph_features = [str(f) for f in graph_features]
    features = graph_features if features is None else [str(f) for f in features]
    p = len(features)
    pos = pd.Index(graph_features).get_indexer(features)
    pos = pos[pos >= 0]
    block = sp.csr_matrix(adjacency[pos][:, pos])
    block.setdiag(0)
    block.eliminate_zeros()
    n_covered = int(np.sum(np.diff(block.indptr) > 0))
    n_components = 0
    if block.shape[0]:
        _, labels = connected_components(block, directed=False)
        n_components = int(np.sum(np.bincount(labels) > 1))
    return {"graph_coverage": n_covered / p if p else float("nan"),
            "graph_components": n_components,
            "graph_isolated": int(p - n_covered),
            "graph_features_with_edge": n_covered,
            "graph_n_features": int(p)}


def coverage_warning(stats: dict[str, Any], what: str = "the graph") -> str | None:
    """One warning line when coverage is below :data:`LOW_COVERAGE`, else None."""
    cov = stats.get("graph_coverage")
    if cov is None or not np.isfinite(cov) or cov >= LOW_COVERAGE:
        return None
    return (f"{what} covers only {stats['graph_features_with_edge']:,} of "
            f"{stats['graph_n_features']:,} features ({100 * cov:.1f} % have an edge; "
            f"{stats['graph_isolated']:,} isolated): a graph prior constrains only those; check "
            "the id mapping (--mapping/--map-from/--map-to) or add edge files")


def coverage_line(stats: dict[str, Any]) -> str:
    """``"coverage 67.3 % (954 of 1,417 features with an edge), 12 components, 463 isolated"``."""
    return (f"coverage {100 * stats['graph_coverage']:.1f} % "
            f"({stats['graph_features_with_edge']:,} of {stats['graph_n_features']:,} features "
            f"with an edge), {stats['graph_components']:,} components, "
            f"{stats['graph_isolated']:,} isolated")
