"""Graph prior on expression: helpers against hand computations; real-data run."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from aprior_cli.reproduce import expression_graph as eg


def test_read_cls(tmp_path) -> None:
    path = tmp_path / "x.cls"
    path.write_text("4 2 1\n# A B\nA A B B\n")
    assert eg.read_cls(path) == ["A", "A", "B", "B"]
    path.write_text("4 2 1\n")
    with pytest.raises(ValueError, match="3 lines"):
        eg.read_cls(path)


def test_stratified_split_is_disjoint_and_balanced() -> None:
    y = np.array([1.0] * 12 + [0.0] * 8)
    tr, va, te = eg.stratified_split(y, np.random.default_rng(0))
    assert len(set(tr) | set(va) | set(te)) == 20
    assert not (set(tr) & set(va)) and not (set(tr) & set(te)) and not (set(va) & set(te))
    assert y[tr].sum() == 6 and (y[tr] == 0).sum() == 4
    assert y[va].sum() == 3 and (y[va] == 0).sum() == 2


def test_graph_roughness_is_the_scale_free_edge_sum() -> None:
    rng = np.random.default_rng(1)
    w = np.triu(rng.random((6, 6)) > 0.5, 1).astype(float)
    w = w + w.T
    lap = np.diag(w.sum(1)) - w
    phi = rng.standard_normal((4, 6))
    v = np.abs(phi).mean(0)
    edges = sum(w[i, j] * (v[i] - v[j]) ** 2 for i in range(6) for j in range(i + 1, 6))
    expected = edges / (v @ v)
    assert eg.graph_roughness(phi, sp.csr_matrix(lap)) == pytest.approx(expected)
    # scale-free: a model whose attributions are all 10x smaller is exactly as rough
    assert eg.graph_roughness(0.1 * phi, sp.csr_matrix(lap)) == pytest.approx(expected)


@pytest.mark.realdata
def test_prepare_p53_restricts_to_graph_genes(shared_data) -> None:
    x, y, genes, adjacency = eg.prepare_dataset(shared_data, "P53", 200)
    assert x.shape == (50, 200) and len(genes) == 200
    assert int(y.sum()) == 33  # TP53 MUT lines
    assert (adjacency != adjacency.T).nnz == 0 and adjacency.diagonal().sum() == 0
    assert adjacency.nnz > 0
    values, _ = eg.load_expression(shared_data, "Leukemia")
    assert values.shape[0] == 48 and "MAPK3" in values.columns


@pytest.mark.realdata
def test_run_quick_on_real_data(shared_data) -> None:
    result = eg.run(eg.QUICK, seed=0, data_dir=shared_data)
    table = result.table
    assert len(table) == 8 and set(table["method"]) == set(eg.METHODS)
    assert table["test_auc"].between(0.0, 1.0).all()
    assert (table["test_graph_roughness"] >= 0).all()
    assert (table.loc[table["method"] == "baseline", "lambda"] == 0).all()
    assert (table.loc[table["method"] != "baseline", "lambda"] > 0).all()
    enrichment = result.extra_tables["enrichment"]
    assert set(enrichment["library"]) == {"hallmark", "kegg"} and len(enrichment) == 16
    assert len(result.extra_tables["paired_tests"]) == 3 * 4
