"""aprior_cli.consensus against hand computations and independent re-implementations."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from aprior_cli.consensus import (
    consensus_ranking,
    half_partitions,
    normalise_rows,
    ranks,
    split_half_jaccard,
    top_k_recovery,
)
from aprior_cli.errors import UserInputError


def test_small_case_by_hand():
    # 2 runs x 4 genes; run 2 is run 1 scaled by 10 with genes C and D swapped
    imp = np.array([[4.0, 3.0, 2.0, 1.0], [40.0, 30.0, 10.0, 20.0]])
    res = consensus_ranking(imp, ["A", "B", "C", "D"], ["r1", "r2"], top_k=2)
    g = res.genes.set_index("feature")
    # normalised: r1 = (.4, .3, .2, .1), r2 = (.4, .3, .1, .2) -> consensus (.4, .3, .15, .15)
    assert g["consensus_importance"].to_dict() == pytest.approx(
        {"A": 0.4, "B": 0.3, "C": 0.15, "D": 0.15})
    assert list(res.genes["feature"]) == ["A", "B", "C", "D"]  # C before D: feature order
    assert g.loc["C", "rank_mean"] == 3.5 and g.loc["C", "importance_se"] == pytest.approx(
        np.std([0.2, 0.1], ddof=1) / np.sqrt(2))
    assert g["top_k_frequency"].to_dict() == {"A": 1.0, "B": 1.0, "C": 0.0, "D": 0.0}
    assert res.pairwise["top_k_jaccard"].tolist() == [1.0]
    assert res.pairwise["spearman"].iloc[0] == pytest.approx(0.8)  # one swap of 4: 1-6*2/60
    assert res.summary["split_half_top_k_jaccard"] == 1.0  # halves are the single runs
    assert res.normalised.sum(0).tolist() == pytest.approx([1.0, 1.0])


def test_against_an_independent_computation():
    rng = np.random.default_rng(7)
    n_runs, p, k = 5, 40, 8
    imp = rng.gamma(2.0, size=(n_runs, p)) * rng.uniform(0.5, 3.0, size=(n_runs, 1))
    names = [f"seed_{i}" for i in range(n_runs)]
    feats = [f"G{j}" for j in range(p)]
    res = consensus_ranking(imp, feats, names, top_k=k, interval=0.9)
    norm = imp / imp.sum(1, keepdims=True)
    rank = np.array([stats.rankdata(-row, method="ordinal") for row in norm])
    g = res.genes.set_index("feature").loc[feats]
    np.testing.assert_allclose(g["consensus_importance"], norm.mean(0))
    np.testing.assert_allclose(g["rank_mean"], rank.mean(0))
    np.testing.assert_allclose(g["rank_low"], np.percentile(rank, 5, axis=0))
    np.testing.assert_allclose(g["rank_high"], np.percentile(rank, 95, axis=0))
    np.testing.assert_allclose(g["top_k_frequency"], (rank <= k).mean(0))
    cons_rank = stats.rankdata(-norm.mean(0), method="ordinal")
    np.testing.assert_array_equal(g["consensus_rank"], cons_rank)
    # pairwise figures
    tops = [set(np.argsort(-row)[:k]) for row in norm]
    for row in res.pairwise.itertuples():
        i, j = names.index(row.run_a), names.index(row.run_b)
        assert row.top_k_jaccard == pytest.approx(len(tops[i] & tops[j]) / len(tops[i] | tops[j]))
        assert row.spearman == pytest.approx(stats.spearmanr(imp[i], imp[j])[0])
    assert len(res.pairwise) == 10
    # split-half: every 2-vs-3 partition once
    values = []
    for a in itertools.combinations(range(n_runs), 2):
        b = [i for i in range(n_runs) if i not in a]
        ta = set(np.argsort(-norm[list(a)].mean(0))[:k])
        tb = set(np.argsort(-norm[b].mean(0))[:k])
        values.append(len(ta & tb) / len(ta | tb))
    assert res.summary["split_half_top_k_jaccard"] == pytest.approx(np.mean(values))
    assert res.summary["n_partitions"] == 10


def test_monte_carlo_share():
    rng = np.random.default_rng(1)
    n_runs, p = 4, 30
    model = rng.gamma(3.0, size=p)
    # identical models, only EG noise of known size: the MC share is about 1
    noise_sd = 0.05 * model
    imp = model + rng.normal(size=(n_runs, p)) * noise_sd
    res = consensus_ranking(imp, [f"G{j}" for j in range(p)], list("abcd"), top_k=5,
                            mc_stderr=np.tile(noise_sd, (n_runs, 1)))
    share = res.summary["variance_all"]["mc_share"]
    totals = imp.sum(1, keepdims=True)
    expected = (np.square(noise_sd / totals).mean(0).sum()
                / np.var(imp / totals, axis=0, ddof=1).sum())
    assert share == pytest.approx(expected)
    assert 0.5 < share < 2.0
    # real model differences on top: the share drops
    imp2 = imp * rng.uniform(0.3, 3.0, size=(n_runs, p))
    res2 = consensus_ranking(imp2, [f"G{j}" for j in range(p)], list("abcd"), top_k=5,
                             mc_stderr=np.tile(noise_sd, (n_runs, 1)))
    assert res2.summary["variance_all"]["mc_share"] < 0.1 * share
    assert "mc_se" in res2.genes.columns


def test_helpers():
    np.testing.assert_array_equal(ranks(np.array([[0.1, 0.5, 0.5, 0.2]])), [[4, 1, 2, 3]])
    assert len(half_partitions(4)) == 3 and len(half_partitions(5)) == 10
    assert half_partitions(1) == []
    assert np.isnan(split_half_jaccard(np.ones((1, 3)), 2)[0])
    assert top_k_recovery(["a", "b", "c", "d"], ["b", "d", "x"], 2) == {
        "k": 2, "hits": 1, "precision": 0.5, "recall": pytest.approx(1 / 3)}
    with pytest.raises(UserInputError):
        normalise_rows(np.array([[0.0, 0.0]]))
    with pytest.raises(UserInputError):
        consensus_ranking(np.ones((2, 3)), ["a", "b"], ["x", "y"])
    with pytest.raises(UserInputError):
        consensus_ranking(np.ones((2, 3)), ["a", "b", "c"], ["x", "y"], interval=1.0)
