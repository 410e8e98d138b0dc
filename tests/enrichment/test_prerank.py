"""GSEA prerank through gseapy: ES against Broad GSEA and fgsea reference outputs, significance,
and the sign convention for non-negative (absolute attribution) scores."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from aprior_cli.enrichment.prerank import PRERANK_COLUMNS, prerank, restrict_gene_sets
from aprior_cli.errors import UserInputError


def _planted_ranking(n: int = 400, seed: int = 0) -> tuple[pd.Series, dict[str, list[str]]]:
    """Non-negative scores (like mean |attribution|); TOP planted high, BOTTOM planted low."""
    rng = np.random.default_rng(seed)
    genes = [f"G{i}" for i in range(n)]
    scores = np.sort(rng.exponential(1.0, n))[::-1]
    ranking = pd.Series(scores, index=genes)
    sets = {"TOP": genes[:40:2], "BOTTOM": genes[-40::2]}
    for j in range(8):
        sets[f"RANDOM_{j}"] = list(rng.choice(genes, 20, replace=False))
    return ranking, sets


def test_planted_top_set_is_significant_and_negative_tail_is_not_counted():
    ranking, sets = _planted_ranking()
    t = prerank(ranking, sets, permutations=200, seed=1, min_size=5, max_size=100)
    assert list(t.columns) == PRERANK_COLUMNS
    t = t.set_index("term")
    assert t.index[0] == "TOP"
    assert t.loc["TOP", "nes"] > 1.5 and t.loc["TOP", "fdr_qvalue"] < 0.05
    assert bool(t.loc["TOP", "significant"])
    # BOTTOM sits among the least important genes: negative NES, small q, NOT significant
    assert t.loc["BOTTOM", "nes"] < 0 and t.loc["BOTTOM", "fdr_qvalue"] < 0.05
    assert not bool(t.loc["BOTTOM", "significant"])
    assert np.isfinite(t[["es", "nes", "pvalue", "fdr_qvalue"]].to_numpy()).all()
    # row order = relevance: every NES > 0 term before BOTTOM despite BOTTOM's small q
    positive_rows = [i for i, v in enumerate(t["nes"]) if v > 0]
    assert max(positive_rows) < list(t.index).index("BOTTOM")
    # leading edge of TOP: its genes up to the ES peak, in ranking order
    lead = t.loc["TOP", "leading_edge"].split(";")
    assert lead == [g for g in ranking.index if g in set(lead)]
    assert t.loc["TOP", "leading_edge_size"] == len(lead) and set(lead) <= set(sets["TOP"])
    # signed scores: both tails count
    signed = prerank(ranking, sets, permutations=200, seed=1, min_size=5, max_size=100,
                     positive_only=False).set_index("term")
    assert bool(signed.loc["BOTTOM", "significant"])
    assert list(signed.index[:2]) == ["TOP", "BOTTOM"] or list(signed.index[:2]) == [
        "BOTTOM", "TOP"]  # signed: ordered by q, then |NES|


def test_same_seed_same_result_and_es_does_not_depend_on_seed():
    ranking, sets = _planted_ranking()
    a = prerank(ranking, sets, permutations=50, seed=3, min_size=5)
    b = prerank(ranking, sets, permutations=50, seed=3, min_size=5)
    pd.testing.assert_frame_equal(a, b)
    c = prerank(ranking, sets, permutations=50, seed=4, min_size=5)
    pd.testing.assert_series_equal(a.set_index("term")["es"], c.set_index("term")["es"]
                                   .loc[a["term"]])  # ES does not depend on the seed


def test_restrict_gene_sets_and_size_errors():
    assert restrict_gene_sets({"A": ["x", "y", "y", "q"], "B": ["x"]}, ["x", "y", "z"], 2, 5) \
        == {"A": ["x", "y"]}
    ranking = pd.Series([3.0, 2.0, 1.0], index=["x", "y", "z"])
    with pytest.raises(UserInputError, match="no gene set has between 15 and 500"):
        prerank(ranking, {"A": ["x", "y"]}, permutations=10)
    with pytest.raises(UserInputError, match="at least two genes"):
        prerank(ranking.iloc[:1], {"A": ["x"]}, permutations=10, min_size=1)
    with pytest.raises(UserInputError, match="--permutations"):
        prerank(ranking, {"A": ["x"]}, permutations=0, min_size=1)


def test_gseapy_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ranking, sets = _planted_ranking()
    prerank(ranking, sets, permutations=20, seed=0, min_size=5)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.realdata
def test_es_and_significance_match_broad_gsea_reference(shared_data):
    """Broad GSEA (Java) results.edb for the stored ranking: ES is deterministic and must agree
    to the 4 decimals it stores; NES within permutation noise; same significant sets."""
    from aprior_cli.io.gmt import read_gmt
    from aprior_cli.io.ranking import read_ranking

    d = shared_data / "gsea" / "edb_reference"
    ranking = read_ranking(d / "gsea_data.gsea_data.rnk")
    library = read_gmt(d / "gene_sets.gmt")
    edb = (d / "results.edb").read_text()
    ref = {m[0].split("#", 1)[1]: (float(m[1]), float(m[2]), float(m[3])) for m in re.findall(
        r'GENESET="([^"]+)" ES="([^"]+)" NES="([^"]+)" NP="[^"]+" FDR="([^"]+)"', edb)}
    assert len(ref) == 7
    t = prerank(ranking, library.gene_sets, permutations=200, seed=0, min_size=15,
                max_size=500).set_index("term")
    assert set(t.index) == set(ref)
    for term, (es, nes, _fdr) in ref.items():
        assert t.loc[term, "es"] == pytest.approx(es, abs=6e-5), term
        assert t.loc[term, "nes"] == pytest.approx(nes, abs=0.2), term
        assert np.sign(t.loc[term, "nes"]) == np.sign(nes)
        assert np.isfinite(t.loc[term, "fdr_qvalue"])
    # signed log-ratio scores: both tails; Broad calls these five significant at FDR 0.05
    expected = {k for k, v in ref.items() if v[2] < 0.05}
    assert expected == {"ES-SPECIFIC", "GATA3 OE-SPECIFIC", "TS-SPECIFIC", "CDX2 OE-SPECIFIC",
                        "OCT4 KD-SPECIFIC"}
    assert set(t.index[t["significant"]]) == expected
    assert t.index[0] in {"OCT4 KD-SPECIFIC", "CDX2 OE-SPECIFIC", "ES-SPECIFIC"}


@pytest.mark.realdata
def test_es_matches_fgsea_cpp_reference(shared_data):
    """fgsea C++ calcGseaStatBatchCpp on 3,000 positive statistics and 20 Reactome sets."""
    d = shared_data / "gsea" / "fgsea_reference"
    stats = pd.read_csv(d / "inputs" / "stats.tsv", sep="\t")["stats"].to_numpy()
    assert (stats > 0).all()  # like absolute attributions
    ref = pd.read_csv(d / "refs" / "ref_calcGseaStatBatchCpp.tsv", sep="\t")
    index_lists = (d / "inputs" / "pathways.tsv").read_text().splitlines()
    genes = [f"g{i}" for i in range(1, len(stats) + 1)]  # 1-based positions as identifiers
    sets = {name: [f"g{j}" for j in line.split("\t")]
            for name, line in zip(ref["pathway_name"], index_lists, strict=True)}
    t = prerank(pd.Series(stats, index=genes), sets, permutations=10, seed=0, min_size=1,
                max_size=1000).set_index("term").loc[ref["pathway_name"]]
    np.testing.assert_allclose(t["es"], ref["ES"], rtol=0, atol=1e-12)
    assert list(t["set_size"]) == list(ref["size"])


@pytest.mark.realdata
def test_multilevel_method_on_broad_reference(shared_data):
    """fgsea-style multilevel p-values: same ES, finite p/q below 1/permutations, no FWER."""
    from aprior_cli.io.gmt import read_gmt
    from aprior_cli.io.ranking import read_ranking

    d = shared_data / "gsea" / "edb_reference"
    ranking = read_ranking(d / "gsea_data.gsea_data.rnk")
    library = read_gmt(d / "gene_sets.gmt")
    t = prerank(ranking, library.gene_sets, permutations=100, seed=0,
                method="multilevel").set_index("term")
    assert t.loc["ES-SPECIFIC", "es"] == pytest.approx(-0.4856, abs=6e-5)
    assert t.loc["OCT4 KD-SPECIFIC", "pvalue"] < 1 / 100  # not floored at 1/permutations
    assert np.isfinite(t[["nes", "pvalue", "fdr_qvalue"]].to_numpy()).all()
    assert t["fwer_pvalue"].isna().all()
    assert {"ES-SPECIFIC", "CDX2 OE-SPECIFIC", "OCT4 KD-SPECIFIC", "TS-SPECIFIC"} <= set(
        t.index[t["significant"]])
    with pytest.raises(UserInputError, match="--prerank-method"):
        prerank(ranking, library.gene_sets, permutations=10, method="fast")
