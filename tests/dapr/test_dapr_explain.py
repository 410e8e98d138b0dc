"""Second-order EG of g (completeness), partial dependence (direct computation), output tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from aprior_cli.dapr.explain import (
    dapr_output_tables,
    g_weights_table,
    partial_dependence,
    predicted_importance_table,
    second_order_attributions,
    second_order_summary,
)
from aprior_cli.dapr.penalty import build_dapr_prior
from aprior_cli.io.dapr_outputs import dapr_file_names, write_dapr_outputs


def _prior(hidden=(6, 3), q=25, seed=0):
    rng = np.random.default_rng(seed)
    table = pd.DataFrame({"mutation": rng.poisson(1.0, q).astype(float),
                          "cnv": rng.integers(0, 2, q).astype(float),
                          "hub": rng.gamma(2.0, 3.0, q)}, index=[f"G{i}" for i in range(q)])
    prior = build_dapr_prior(table, list(table.index) + ["covariate"], hidden=hidden, seed=seed)
    with torch.no_grad():  # a g that is not near-constant
        for p in prior.net.parameters():
            p.mul_(3.0)
    return prior, table


def test_second_order_eg_completeness_for_mlp_g():
    prior, _ = _prior()
    table = second_order_attributions(prior, n_samples=4000, seed=1)
    g = prior.predicted_importance().numpy()
    spread = g.std()
    assert spread > 0.05
    # completeness: sum_k EG_jk = g(M_j) - mean g, up to Monte-Carlo error
    assert np.abs(table["completeness_residual"]).max() < 0.1 * spread + 0.02
    summed = table[prior.meta_columns].sum(1).to_numpy()
    np.testing.assert_allclose(summed, table["g_M"] - g.mean(), atol=0.1 * spread + 0.02)


def test_second_order_eg_for_linear_g_is_weight_times_centred_meta():
    prior, _ = _prior(hidden=())
    table = second_order_attributions(prior, n_samples=4000, seed=2).set_index("gene")
    w = prior.net.layers[0].weight.detach().numpy()[0]
    meta = prior.meta.numpy()
    expected = w * (meta - meta.mean(0))
    got = table.loc[prior.genes, prior.meta_columns].to_numpy()
    np.testing.assert_allclose(got, expected, atol=0.08 * np.abs(w).max() + 1e-3)


def test_partial_dependence_matches_direct_loop():
    prior, _ = _prior()
    pdp = partial_dependence(prior.net, prior.meta, n_grid=7, columns=prior.meta_columns,
                             center=prior.meta_center, scale=prior.meta_scale)
    meta = prior.meta.numpy().astype(np.float64)
    net = prior.net
    for k, name in enumerate(prior.meta_columns):
        sub = pdp[pdp["meta_feature"] == name]
        for v, value, got in zip(sub["value_standardized"], sub["value"],
                                 sub["partial_dependence"], strict=True):
            outs = []
            for j in range(meta.shape[0]):
                row = meta[j].copy()
                row[k] = v
                with torch.no_grad():
                    outs.append(float(net(torch.tensor(row[None], dtype=torch.float32))[0]))
            assert got == pytest.approx(np.mean(outs), abs=1e-5)
            assert value == pytest.approx(v * prior.meta_scale[k] + prior.meta_center[k])
    # the 0/1 column gets its two values only; the others the full grid over their range
    assert len(pdp[pdp["meta_feature"] == "cnv"]) == 2
    hub = pdp[pdp["meta_feature"] == "hub"]
    assert len(hub) == 7
    assert hub["value_standardized"].min() == pytest.approx(float(prior.meta[:, 2].min()))


def test_importance_and_weight_tables():
    prior, _ = _prior(hidden=())
    imp = predicted_importance_table(prior)
    assert list(imp.columns) == ["gene", "g_M", "rank"]
    assert imp["rank"].tolist() == list(range(1, len(imp) + 1))
    assert imp["g_M"].is_monotonic_decreasing
    weights = g_weights_table(prior)
    w = weights[weights["input"] >= 0].set_index("meta_feature")["value"]
    np.testing.assert_allclose(w[prior.meta_columns].to_numpy(),
                               prior.net.layers[0].weight.detach().numpy()[0])
    assert (weights["input"] == -1).sum() == 1


def test_write_dapr_outputs(tmp_path):
    prior, _ = _prior()
    tables = dapr_output_tables(prior, n_samples=50, n_grid=5)
    written = write_dapr_outputs(tables, tmp_path)
    assert sorted(p.name for p in written) == sorted(dapr_file_names())
    for path in written:
        assert path.stat().st_size > 0
    back = pd.read_csv(tmp_path / "dapr_predicted_importance.tsv", sep="\t")
    assert list(back.columns) == ["gene", "g_M", "rank"] and len(back) == 25
    assert not list(tmp_path.glob(".*tmp*"))


def _planted(q=200, seed=0):
    """Per-sample |phi| that falls with meta-feature ``neg`` (strongly) and rises with ``pos``."""
    rng = np.random.default_rng(seed)
    table = pd.DataFrame({"neg": rng.normal(size=q), "pos": rng.normal(size=q),
                          "noise": rng.normal(size=q)}, index=[f"G{i}" for i in range(q)])
    prior = build_dapr_prior(table, list(table.index), hidden=(), seed=seed)
    meta = prior.meta.numpy()
    level = 1.0 - 0.3 * meta[:, 0] + 0.1 * meta[:, 1]          # standardised columns
    phi = level[None, :] * rng.uniform(0.5, 1.5, size=(64, q))   # |phi| per sample, sign random
    phi *= rng.choice([-1.0, 1.0], size=phi.shape)
    return prior, torch.tensor(phi, dtype=torch.float32)


def test_second_order_summary_is_signed_for_a_planted_negative_relation():
    from aprior_cli.training.prior_refit import refit_prior

    prior, phi = _planted()
    report = refit_prior(prior, phi, steps=3000, lr=0.05)
    assert report["loss_after"] < 0.5 * report["loss_before"]
    summary = second_order_summary(prior, second_order_attributions(prior, n_samples=400))
    row = summary.set_index("meta_feature")
    assert list(summary.columns) == ["meta_feature", "effect", "direction", "spearman_with_g",
                                     "mean_abs_contribution", "share",
                                     "top_genes_mean_contribution"]
    # the meta-feature that drives importance most has the largest share -- and it LOWERS g
    assert summary["meta_feature"].iloc[0] == "neg"
    assert row.loc["neg", "direction"] == "lowers" and row.loc["neg", "effect"] < -0.2
    assert row.loc["neg", "spearman_with_g"] < -0.9
    assert row.loc["neg", "top_genes_mean_contribution"] > 0  # top genes have LOW values
    assert row.loc["pos", "direction"] == "raises" and 0.05 < row.loc["pos", "effect"] < 0.15
    assert abs(row.loc["noise", "effect"]) < 0.05
    assert summary["share"].sum() == pytest.approx(1.0)
    # for a linear g the effect is its weight on the standardised meta-feature
    w = prior.net.layers[0].weight.detach().numpy()[0]
    np.testing.assert_allclose(row.loc[prior.meta_columns, "effect"], w, atol=0.02)


def test_refit_converges_to_the_l1_optimum_of_a_constant_g():
    from aprior_cli.training.prior_refit import refit_prior

    prior, phi = _planted(q=50)
    with torch.no_grad():
        prior.meta.zero_()  # g can only learn its bias: the optimum is the median of |phi|
    refit_prior(prior, phi, steps=4000, lr=0.05)
    g = prior.predicted_importance().numpy()
    median = float(np.median(phi.abs().numpy()))
    np.testing.assert_allclose(g, median, atol=0.01)
