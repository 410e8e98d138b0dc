"""ORA: hypergeometric p-values, odds ratios and BH q-values against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import contingency, fisher_exact, hypergeom

from aprior_cli.enrichment.ora import (
    ORA_COLUMNS,
    benjamini_hochberg,
    hypergeometric_upper_tail,
    over_representation,
    sample_odds_ratio,
)
from aprior_cli.errors import UserInputError


def _upper_tail_by_counting(x: int, universe: int, m: int, k: int) -> float:
    """P(X >= x) by summing hypergeometric probabilities with exact integers."""
    total = math.comb(universe, k)
    hits = sum(math.comb(m, i) * math.comb(universe - m, k - i) for i in range(x, min(m, k) + 1))
    return hits / total


@st.composite
def _tables(draw):
    universe = draw(st.integers(2, 60))
    m = draw(st.integers(1, universe - 1))
    k = draw(st.integers(1, universe - 1))
    lo, hi = max(0, m + k - universe), min(m, k)
    x = draw(st.integers(lo, hi))
    return x, universe, m, k


@settings(max_examples=150, deadline=None)
@given(_tables())
def test_upper_tail_matches_exact_counting_and_fisher(table):
    x, universe, m, k = table
    p = float(hypergeometric_upper_tail(np.array([x]), universe, np.array([m]), k)[0])
    assert p == pytest.approx(_upper_tail_by_counting(x, universe, m, k), rel=1e-9, abs=1e-300)
    fisher = fisher_exact([[x, m - x], [k - x, universe - m - k + x]], alternative="greater")
    assert p == pytest.approx(fisher.pvalue, rel=1e-7, abs=1e-12)


def test_upper_tail_known_value():
    # 3 of a 10-gene set among 20 query genes out of 1000: sum_{i>=3} P(X=i)
    p = hypergeometric_upper_tail(np.array([3, 0]), 1000, np.array([10, 10]), 20)
    assert p[0] == pytest.approx(1 - hypergeom.cdf(2, 1000, 10, 20), rel=1e-12)
    assert p[0] == pytest.approx(0.00075235, rel=1e-4)  # exact-integer sum: 7.5235e-4
    assert p[1] == 1.0


@settings(max_examples=100, deadline=None)
@given(_tables())
def test_odds_ratio_matches_scipy_sample_odds_ratio(table):
    x, universe, m, k = table
    ours = float(sample_odds_ratio(np.array([x]), universe, np.array([m]), k)[0])
    cells = np.array([[x, m - x], [k - x, universe - m - k + x]])
    if (cells[0, 1] * cells[1, 0]) == 0:
        assert np.isinf(ours) or np.isnan(ours)
    else:
        expected = contingency.odds_ratio(cells, kind="sample").statistic
        assert ours == pytest.approx(expected, rel=1e-12)


def test_benjamini_hochberg_by_hand():
    # sorted: 0.005 0.01 0.03 0.04 0.5 -> p*m/i = 0.025 0.025 0.05 0.05 0.5 (already monotone)
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.5])
    assert benjamini_hochberg(p) == pytest.approx([0.025, 0.05, 0.05, 0.025, 0.5])
    # monotonicity step: 0.04*2/1 = 0.08 is lowered to min(0.08, 0.041*2/2) = 0.041
    assert benjamini_hochberg(np.array([0.04, 0.041])) == pytest.approx([0.041, 0.041])
    # capped at 1
    assert benjamini_hochberg(np.array([0.9, 0.95, 0.99])) == pytest.approx([0.99, 0.99, 0.99])
    assert benjamini_hochberg(np.array([])).size == 0


def _bh_by_hand(p: np.ndarray) -> np.ndarray:
    n = len(p)
    q = np.empty(n)
    for i in range(n):
        # q_i = min over j with p_j >= p_i of p_j * n / rank_j
        ranks = np.array([np.sum(p <= pj) for pj in p])
        q[i] = min(min(p[j] * n / ranks[j] for j in range(n) if p[j] >= p[i]), 1.0)
    return q


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=25))
def test_benjamini_hochberg_matches_definition(pvalues):
    p = np.array(pvalues)
    assert benjamini_hochberg(p) == pytest.approx(_bh_by_hand(p), rel=1e-9, abs=1e-15)


def test_over_representation_toy_example():
    universe = [f"g{i}" for i in range(20)]
    query = ["g3", "g1", "g2", "g0", "OUTSIDE"]  # OUTSIDE is not in the universe -> ignored
    sets = {
        "HIT": ["g0", "g1", "g2", "g10", "g11", "NOT_IN_UNIVERSE"],
        "MISS": ["g12", "g13", "g14"],
        "TOO_SMALL": ["g0", "g19"],
        "TOO_BIG": universe,
    }
    t = over_representation(query, universe, sets, min_size=3, max_size=10,
                            gene_order=["g3", "g2", "g1", "g0"])
    assert list(t.columns) == ORA_COLUMNS
    assert list(t["term"]) == ["HIT", "MISS"]
    hit = t.iloc[0]
    assert hit["set_size"] == 5 and hit["overlap"] == 3  # restricted to the universe
    assert hit["overlap_genes"] == "g2;g1;g0"  # ranking order
    assert hit["expected"] == pytest.approx(5 * 4 / 20)
    assert hit["pvalue"] == pytest.approx(_upper_tail_by_counting(3, 20, 5, 4))
    assert hit["odds_ratio"] == pytest.approx((3 * 14) / (2 * 1))
    miss = t.iloc[1]
    assert miss["overlap"] == 0 and miss["pvalue"] == 1.0 and miss["overlap_genes"] == ""
    # BH over both tested sets (the zero-overlap set counts)
    assert list(t["fdr_qvalue"]) == pytest.approx(list(benjamini_hochberg(t["pvalue"])))
    assert t["fdr_qvalue"].iloc[0] == pytest.approx(min(1.0, hit["pvalue"] * 2))
    assert list(t["significant"]) == list(t["fdr_qvalue"] < 0.05)


def test_over_representation_errors_and_empty():
    with pytest.raises(UserInputError, match="no query gene is in the background"):
        over_representation(["x"], ["a", "b"], {"S": ["a"]}, min_size=1)
    empty = over_representation(["a"], ["a", "b"], {"S": ["a"]}, min_size=5)
    assert empty.empty and list(empty.columns) == ORA_COLUMNS


@pytest.mark.realdata
def test_ora_matches_gseapy_offline_enrichr(shared_data):
    """Shared ORA inputs (800-gene list, 22,922-gene background, Enrichr KEGG 2016) against
    gseapy's own offline hypergeometric implementation."""
    import gseapy

    from aprior_cli.io.gmt import read_gmt
    from aprior_cli.io.ranking import read_gene_list

    d = shared_data / "gsea"
    query = read_gene_list(d / "ora" / "gene_list.txt")
    background = read_gene_list(d / "ora" / "background.txt")
    library = read_gmt(d / "gmt" / "enrichr.KEGG_2016.gmt")
    ours = over_representation(query, background, library.gene_sets, min_size=1,
                               max_size=100_000).set_index("term")
    ref = gseapy.enrich(gene_list=query, gene_sets=library.gene_sets, background=background,
                        outdir=None, no_plot=True).results.set_index("Term")
    assert len(ours) == 293 and len(ref) == 254  # gseapy reports only sets with >= 1 hit
    hit = ours[ours["overlap"] > 0]
    assert set(hit.index) == set(ref.index)
    ref = ref.loc[hit.index]
    assert list(hit["overlap"]) == [int(o.split("/")[0]) for o in ref["Overlap"]]
    assert list(hit["set_size"]) == [int(o.split("/")[1]) for o in ref["Overlap"]]
    np.testing.assert_allclose(hit["pvalue"], ref["P-value"], rtol=1e-10)
    # BH over the same 254 p-values reproduces gseapy's adjusted p-values
    np.testing.assert_allclose(benjamini_hochberg(hit["pvalue"].to_numpy()),
                               ref["Adjusted P-value"], rtol=1e-10)
    assert {set(g.split(";")) == set(r.split(";"))
            for g, r in zip(hit["overlap_genes"], ref["Genes"], strict=True)} == {True}
