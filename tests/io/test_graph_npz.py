"""Graph .npz round trip and rejection of bad files."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from aprior_cli.errors import UserInputError
from aprior_cli.graph import make_graph
from aprior_cli.io.graph_npz import load_graph, save_graph


def test_round_trip(tmp_path):
    w = sp.csr_matrix(np.array([[0, 2.0, 0], [2.0, 0, 0.5], [0, 0.5, 0]]))
    graph = make_graph(["g1", "g2", "g3"], w, normalized=True)
    save_graph(tmp_path / "g.npz", graph)
    back = load_graph(tmp_path / "g.npz")
    assert back.features == ["g1", "g2", "g3"] and back.normalized
    np.testing.assert_array_equal(back.adjacency.toarray(), w.toarray())
    np.testing.assert_allclose(back.laplacian.toarray(), graph.laplacian.toarray())
    assert [p.name for p in tmp_path.iterdir()] == ["g.npz"]


def test_bad_files(tmp_path):
    with pytest.raises(UserInputError, match="file not found"):
        load_graph(tmp_path / "none.npz")
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(UserInputError, match="not a valid gene graph"):
        load_graph(tmp_path / "junk.npz")
    np.savez(tmp_path / "other.npz", x=np.arange(3))
    with pytest.raises(UserInputError, match="not an aprior gene graph"):
        load_graph(tmp_path / "other.npz")
