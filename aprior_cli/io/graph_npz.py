"""The gene graph file (``.npz``) written by ``aprior graph`` (interfaces.md section C).

Arrays: ``format`` ("aprior-gene-graph"), ``version`` (1), ``features`` (unicode, (q,)),
``normalized`` (bool), and for ``adjacency`` and ``laplacian`` the CSR parts
``<name>_data`` (float64), ``<name>_indices`` and ``<name>_indptr`` (int32/int64) and
``<name>_shape``. Stored uncompressed (speed; no pickles: loaded with ``allow_pickle=False``).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from aprior_cli.errors import UserInputError
from aprior_cli.graph import GeneGraph
from aprior_cli.io.atomic import atomic_path
from aprior_cli.io.read_errors import describe

FORMAT = "aprior-gene-graph"

__all__ = ["GeneGraph", "load_graph", "save_graph"]


def save_graph(path: str | os.PathLike, graph: GeneGraph) -> None:
    """Write ``graph`` atomically to ``path`` (``.npz``)."""
    arrays: dict[str, np.ndarray] = {
        "format": np.array(FORMAT), "version": np.array(1),
        "features": np.array([str(f) for f in graph.features], dtype=np.str_),
        "normalized": np.array(bool(graph.normalized)),
    }
    for name in ("adjacency", "laplacian"):
        m = sp.csr_matrix(getattr(graph, name))
        arrays[f"{name}_data"] = m.data.astype(np.float64, copy=False)
        arrays[f"{name}_indices"] = m.indices
        arrays[f"{name}_indptr"] = m.indptr
        arrays[f"{name}_shape"] = np.array(m.shape, dtype=np.int64)
    with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


def load_graph(path: str | os.PathLike) -> GeneGraph:
    """Read a graph file; :class:`UserInputError` when missing or not a valid graph file."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"{path}: file not found")
    try:
        with np.load(path, allow_pickle=False) as z:
            if "format" not in z.files or str(z["format"]) != FORMAT:
                raise UserInputError(f"{path}: not an aprior gene graph (.npz from aprior graph)")
            features = [str(f) for f in z["features"]]
            normalized = bool(z["normalized"])
            mats = {}
            for name in ("adjacency", "laplacian"):
                shape = tuple(int(s) for s in z[f"{name}_shape"])
                mats[name] = sp.csr_matrix((z[f"{name}_data"], z[f"{name}_indices"],
                                            z[f"{name}_indptr"]), shape=shape)
    except UserInputError:
        raise
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise UserInputError(f"{path}: not a valid gene graph file ({describe(exc)})") from exc
    q = len(features)
    for name, m in mats.items():
        if m.shape != (q, q):
            raise UserInputError(f"{path}: {name} is {m.shape}, expected ({q}, {q})")
    if len(set(features)) != q:
        raise UserInputError(f"{path}: duplicate feature names")
    w = mats["adjacency"].data
    if w.size and not (np.all(np.isfinite(w)) and w.min() >= 0):
        raise UserInputError(f"{path}: adjacency has negative or non-finite weights (min "
                             f"{np.nanmin(w):g}); a graph Laplacian needs finite weights >= 0")
    return GeneGraph(features=features, adjacency=mats["adjacency"],
                     laplacian=mats["laplacian"], normalized=normalized)
