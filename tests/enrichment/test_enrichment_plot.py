"""Dot plot: one panel per method, top terms, robust to inf odds ratios and zero q-values."""

from __future__ import annotations

import numpy as np
import pandas as pd

from aprior_cli.enrichment.plot import dotplot


def _tables():
    ora = pd.DataFrame({"library": "k", "term": [f"T{i}" for i in range(30)],
                        "overlap": np.arange(30), "odds_ratio": [np.inf] + [2.0] * 29,
                        "fdr_qvalue": np.linspace(1e-20, 1, 30), "significant": [True] + [False] * 29})
    pre = pd.DataFrame({"library": "k", "term": ["A", "B"], "leading_edge_size": [5, 0],
                        "nes": [2.0, -1.0], "fdr_qvalue": [0.0, 0.5],
                        "significant": [True, False]})
    return {"ora": ora, "prerank": pre}


def test_dotplot_panels_and_top_terms():
    fig = dotplot(_tables(), title="run", top_n=10, permutations=100)
    axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    panels = [ax for ax in axes if ax.get_title()]
    assert [ax.get_title().split(":")[0] for ax in panels] == [
        "GSEA prerank", "Over-representation (top genes)"]
    ora_ax = panels[1]
    labels = [t.get_text() for t in ora_ax.get_yticklabels()]
    assert labels == [f"T{i}" for i in range(10)][::-1]  # best term at the top
    x = ora_ax.collections[0].get_offsets()[:, 0]
    assert np.isfinite(x).all() and x.max() > 19  # -log10(1e-20)
    pre_x = panels[0].collections[0].get_offsets()[:, 0]
    assert sorted(pre_x.tolist()) == [-1.0, 2.0]  # prerank x axis = NES
    assert "1 of top 10 significant" in ora_ax.get_title()


def test_dotplot_single_method_and_empty_table():
    fig = dotplot({"ora": _tables()["ora"].iloc[:0]}, title="empty")
    assert any(t.get_text() == "no gene set tested" for ax in fig.axes for t in ax.texts)
