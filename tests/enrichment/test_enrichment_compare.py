"""Comparison of significant terms between rankings."""

from __future__ import annotations

import math

import pandas as pd

from aprior_cli.enrichment.compare import (
    COMPARISON_COLUMNS,
    compare_significant,
    significant_terms_matrix,
)


def _table(library, rows):
    return pd.DataFrame([{"library": library, "term": t, "fdr_qvalue": q, "significant": q < 0.05}
                         for t, q in rows])


def test_pairwise_counts_overlap_and_jaccard():
    results = {
        "graph": {"ora": _table("kegg", [("A", 0.01), ("B", 0.02), ("C", 0.5)])},
        "plain": {"ora": _table("kegg", [("A", 0.03), ("B", 0.2), ("D", 0.001)])},
        "none": {"ora": _table("kegg", [("A", 0.9)])},
    }
    t = compare_significant(results)
    assert list(t.columns) == COMPARISON_COLUMNS
    assert list(zip(t["ranking_a"], t["ranking_b"], strict=True)) == [
        ("graph", "plain"), ("graph", "none"), ("plain", "none")]
    first = t.iloc[0]
    assert (first["n_significant_a"], first["n_significant_b"], first["n_shared"],
            first["n_only_a"], first["n_only_b"]) == (2, 2, 1, 1, 1)
    assert first["jaccard"] == 1 / 3 and first["shared_terms"] == "A"
    assert t.iloc[1]["jaccard"] == 0.0 and t.iloc[1]["n_significant_b"] == 0
    empty = compare_significant({"x": {"ora": _table("k", [("A", 0.9)])},
                                 "y": {"ora": _table("k", [("A", 0.8)])}})
    assert math.isnan(empty.iloc[0]["jaccard"])


def test_terms_matrix_and_library_labels():
    results = {
        "a": {"prerank": pd.concat([_table("h", [("T1", 0.001)]), _table("k", [("T1", 0.5)])])},
        "b": {"prerank": pd.concat([_table("h", [("T1", 0.04)]), _table("k", [("T1", 0.01)])])},
    }
    pair = compare_significant(results)
    assert pair.iloc[0]["shared_terms"] == "h::T1"  # several libraries -> library::term
    m = significant_terms_matrix(results)
    assert list(m.columns) == ["method", "library", "term", "n_rankings_significant",
                               "a.fdr_qvalue", "b.fdr_qvalue"]
    assert m[["library", "term", "n_rankings_significant"]].values.tolist() == [
        ["h", "T1", 2], ["k", "T1", 1]]
    assert m["a.fdr_qvalue"].tolist() == [0.001, 0.5]
