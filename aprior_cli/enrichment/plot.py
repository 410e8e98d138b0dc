"""Dot plot of the top enriched terms (matplotlib, Agg; no pyplot global state).

One panel per method, one row per term, dot size = genes driving the result (ORA overlap or
prerank leading edge):

* ORA: x = -log10(BH q-value) (dashed line at the FDR threshold), colour = log2 odds ratio;
* prerank: x = NES, colour = -log10(q-value), a permutation q of 0 drawn at 1/permutations
  (prerank q-values bunch at that floor, so NES separates terms better).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

_PANEL = {
    "ora": ("overlap", "Over-representation (top genes)"),
    "prerank": ("leading_edge_size", "GSEA prerank"),
}


def _short(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def dotplot(tables: Mapping[str, pd.DataFrame], title: str, fdr: float = 0.05,
            top_n: int = 20, permutations: int | None = None) -> Figure:
    """Build the dot-plot figure for one ranking.

    Parameters
    ----------
    tables
        ``method -> table`` as produced by :func:`aprior_cli.enrichment.analysis.enrich_ranking`
        (rows already sorted best first).
    title
        Figure title (the ranking name).
    fdr
        Threshold drawn as a dashed line.
    top_n
        Terms per panel.
    permutations
        Prerank permutations: a permutation q-value of 0 is drawn at ``1 / permutations``.
    """
    methods = [m for m in ("prerank", "ora") if m in tables]
    heights = [max(1, min(top_n, len(tables[m]))) for m in methods]
    fig = Figure(figsize=(8.5, 1.2 + 0.28 * sum(heights) + 0.8 * len(methods)))
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(methods), 1, squeeze=False,
                        gridspec_kw={"height_ratios": heights})[:, 0]
    for ax, method in zip(axes, methods, strict=True):
        size_col, panel_title = _PANEL[method]
        t = tables[method].head(top_n).iloc[::-1]
        if t.empty:
            ax.text(0.5, 0.5, "no gene set tested", ha="center", va="center",
                    transform=ax.transAxes)
            ax.set_axis_off()
            continue
        floor = 1.0 / permutations if (method == "prerank" and permutations) else 1e-300
        neg_log_q = -np.log10(np.clip(t["fdr_qvalue"].to_numpy(dtype=float), floor, 1.0))
        if method == "ora":
            with np.errstate(divide="ignore"):
                colour = np.log2(t["odds_ratio"].to_numpy(dtype=float))
            finite = colour[np.isfinite(colour)]
            cap = finite.max() if finite.size else 1.0
            colour = np.nan_to_num(colour, nan=0.0, posinf=cap, neginf=-cap)
            x, x_label, colour_label = neg_log_q, "-log10 FDR q-value", "log2 odds ratio"
        else:
            x, x_label, colour_label = t["nes"].to_numpy(dtype=float), "NES", "-log10 q-value"
            colour = neg_log_q
        sizes = t[size_col].to_numpy(dtype=float)
        scale = 250.0 / max(sizes.max(), 1.0)
        labels = [_short(f"{term}" if t["library"].nunique() == 1 else f"{term} [{lib}]")
                  for term, lib in zip(t["term"], t["library"], strict=True)]
        y = np.arange(len(t))
        points = ax.scatter(x, y, s=20 + sizes * scale, c=colour, cmap="viridis",
                            edgecolors="black", linewidths=0.4)
        ax.set_yticks(y, labels, fontsize=7)
        if method == "ora":
            ax.axvline(-np.log10(fdr), color="grey", linestyle="--", linewidth=0.8)
        ax.set_xlabel(x_label)
        ax.set_title(f"{panel_title}: {int(t['significant'].sum())} of top {len(t)} "
                     f"significant (q < {fdr:g})", fontsize=9)
        ax.set_ylim(-0.7, len(t) - 0.3)
        cbar = fig.colorbar(points, ax=ax, fraction=0.04, pad=0.02)
        cbar.set_label(colour_label, fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
