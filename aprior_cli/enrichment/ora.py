"""Over-representation analysis (ORA): is a gene set hit more often than chance by a query list?

For each gene set, with all counts taken inside the universe (background) U:

====================  ===========  ===============  ==========
                      in query     not in query     total
in gene set           x            m - x            m
not in gene set       k - x        M - m - k + x    M - m
total                 k            M - k            M = |U|
====================  ===========  ===============  ==========

p-value = P(X >= x) for X ~ Hypergeometric(M, m, k) = ``scipy.stats.hypergeom.sf(x - 1, M, m, k)``
(equal to the one-sided Fisher exact test, ``alternative="greater"``). The odds ratio is the
sample odds ratio ``x (M - m - k + x) / ((m - x)(k - x))`` (``inf`` when a off-diagonal cell is
zero). q-values are Benjamini–Hochberg over all gene sets tested in one library
(``statsmodels.stats.multitest.multipletests(method="fdr_bh")``), including sets the query does
not hit (p = 1), which keeps the correction honest about how many sets were looked at.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import hypergeom
from statsmodels.stats.multitest import multipletests

from aprior_cli.errors import UserInputError

ORA_COLUMNS = ["term", "set_size", "overlap", "expected", "odds_ratio", "pvalue", "fdr_qvalue",
               "significant", "overlap_genes"]


def hypergeometric_upper_tail(overlap: np.ndarray, universe: int, set_size: np.ndarray,
                              query_size: int) -> np.ndarray:
    """P(X >= overlap) for X ~ Hypergeom(universe, set_size, query_size); arrays broadcast."""
    overlap = np.asarray(overlap)
    return np.clip(hypergeom.sf(overlap - 1, universe, set_size, query_size), 0.0, 1.0)


def sample_odds_ratio(overlap: np.ndarray, universe: int, set_size: np.ndarray,
                      query_size: int) -> np.ndarray:
    """Sample odds ratio ``a d / (b c)`` of the 2x2 table (module docstring); ``inf`` if ``b c = 0``."""
    a = np.asarray(overlap, dtype=float)
    m = np.asarray(set_size, dtype=float)
    b = m - a
    c = query_size - a
    d = universe - m - query_size + a
    num = a * d
    den = b * c
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(den > 0, num / np.where(den > 0, den, 1.0),
                         np.where(num > 0, np.inf, np.nan))
    return ratio


def benjamini_hochberg(pvalues: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg q-values through statsmodels (``method="fdr_bh"`` explicitly)."""
    p = np.asarray(pvalues, dtype=float)
    if p.size == 0:
        return p.copy()
    return multipletests(p, method="fdr_bh")[1]


def over_representation(query: Sequence[str], universe: Sequence[str],
                        gene_sets: Mapping[str, Sequence[str]], min_size: int = 15,
                        max_size: int = 500, fdr: float = 0.05,
                        gene_order: Sequence[str] | None = None) -> pd.DataFrame:
    """Hypergeometric over-representation of ``query`` in each gene set.

    Parameters
    ----------
    query
        Genes of interest (e.g. the top 200 of a ranking). Genes outside ``universe`` are ignored.
    universe
        Background genes (e.g. all ranked genes). Gene sets are restricted to it before the size
        filter.
    gene_sets
        Term -> genes.
    min_size, max_size
        Keep sets whose size inside the universe is in ``[min_size, max_size]``.
    fdr
        Threshold for the ``significant`` column (``fdr_qvalue < fdr``).
    gene_order
        Order in which ``overlap_genes`` are listed (default: query order).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ORA_COLUMNS`, one row per tested set, sorted by p-value then term.
        ``overlap_genes`` is ``;``-separated.
    """
    universe_set = set(universe)
    q = [g for g in dict.fromkeys(query) if g in universe_set]
    q_set = set(q)
    n_universe = len(universe_set)
    order = {g: i for i, g in enumerate(gene_order if gene_order is not None else q)}
    if not q:
        raise UserInputError("ORA: no query gene is in the background")
    rows = []
    for term, genes in gene_sets.items():
        members = {g for g in genes if g in universe_set}
        if not min_size <= len(members) <= max_size:
            continue
        hits = sorted(members & q_set, key=lambda g: (order.get(g, len(order)), g))
        rows.append((term, len(members), len(hits), ";".join(hits)))
    if not rows:
        return pd.DataFrame(columns=ORA_COLUMNS)
    terms, sizes, overlaps, hit_text = zip(*rows, strict=True)
    sizes_a = np.array(sizes, dtype=np.int64)
    overlaps_a = np.array(overlaps, dtype=np.int64)
    k = len(q)
    pvals = hypergeometric_upper_tail(overlaps_a, n_universe, sizes_a, k)
    qvals = benjamini_hochberg(pvals)
    table = pd.DataFrame({
        "term": list(terms),
        "set_size": sizes_a,
        "overlap": overlaps_a,
        "expected": sizes_a * k / n_universe,
        "odds_ratio": sample_odds_ratio(overlaps_a, n_universe, sizes_a, k),
        "pvalue": pvals,
        "fdr_qvalue": qvals,
        "significant": qvals < fdr,
        "overlap_genes": list(hit_text),
    })
    return table.sort_values(["pvalue", "term"], kind="mergesort").reset_index(drop=True)
