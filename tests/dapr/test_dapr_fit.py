"""g learns a planted meta-feature -> importance relation; schedules; baselines."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import spearmanr

from aprior_cli.dapr.baselines import (
    MergePrior,
    MetaAugmentedModel,
    first_layer_penalty,
    linear_weight,
)
from aprior_cli.dapr.fit import FitConfig, eg_training_attributions, evaluate, fit
from aprior_cli.dapr.penalty import build_dapr_prior
from aprior_cli.models import build_mlp


def _planted(seed: int, p: int = 40, n: int = 300):
    """y = x @ beta; beta_j > 0 only for genes whose meta-feature m1 > 0.5 (m2 is irrelevant)."""
    rng = np.random.default_rng(seed)
    m1, m2 = rng.uniform(0, 1, p), rng.standard_normal(p)
    beta = np.where(m1 > 0.5, 6 * (m1 - 0.5), 0.0)
    x = rng.standard_normal((n, p)).astype(np.float32)
    y = (x @ beta + 0.3 * rng.standard_normal(n)).astype(np.float32)
    meta = pd.DataFrame({"m1": m1, "m2": m2}, index=[f"g{i}" for i in range(p)])
    y_t = torch.tensor(y)
    return meta, torch.tensor(x), (y_t - y_t.mean()) / y_t.std(), beta


def _learned_rank_correlation(seed: int, noise: bool, schedule: str = "joint") -> float:
    meta, x, y, beta = _planted(seed)
    prior = build_dapr_prior(meta, list(meta.index), seed=seed, noise=noise)
    torch.manual_seed(seed)
    model = build_mlp(x.shape[1], (32,), 1)
    config = FitConfig(task="regression", max_epochs=25, patience=100, lr=3e-3,
                       weight_decay=0.0, prior_lr=1e-2, schedule=schedule)
    fit(model, x[:200], y[:200], x[200:], y[200:], config=config, prior=prior, seed=seed)
    return float(spearmanr(prior.predicted_importance().numpy(), np.abs(beta)).statistic)


def test_g_learns_planted_relation_but_not_from_noise():
    real = [_learned_rank_correlation(s, noise=False) for s in (0, 1)]
    noise = [_learned_rank_correlation(s, noise=True) for s in (0, 1)]
    assert min(real) > 0.8, real
    assert max(abs(r) for r in noise) < 0.35, noise


def test_alternating_schedule_also_learns():
    assert _learned_rank_correlation(2, noise=False, schedule="alternating") > 0.8


def test_eg_training_attributions_complete_for_linear_model():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    x = torch.randn(6, 4)
    phi = eg_training_attributions(model, x, None, torch.Generator().manual_seed(0))
    assert phi.shape == (6, 4) and phi.requires_grad
    # k=1 EG with an in-batch reference (the batch shifted by some s in 1..B-1): for a linear
    # model phi = w * (x - x_ref) exactly, so completeness holds exactly for that shift
    w = model.weight.detach()[0]
    matches = [s for s in range(1, 6)
               if torch.allclose(phi.detach(), w * (x - x.roll(s, 0)), atol=1e-5)]
    assert len(matches) == 1


def test_fit_restores_best_validation_epoch_and_reports_metric():
    meta, x, y, _ = _planted(5)
    torch.manual_seed(0)
    model = build_mlp(x.shape[1], (16,), 1)
    result = fit(model, x[:200], y[:200], x[200:], y[200:],
                 config=FitConfig(task="regression", max_epochs=15, patience=3, lr=1e-2,
                                  weight_decay=0.0), seed=0)
    best = min(h["val_metric"] for h in result.history)
    assert result.val_metric == pytest.approx(best)
    assert evaluate(model, x[200:], y[200:], "regression") == pytest.approx(best, rel=1e-5)
    assert len(result.history) <= 15


def test_meta_augmented_model_appends_meta_weighted_summaries():
    meta = np.array([[1.0, 0.0], [2.0, -1.0], [0.5, 3.0]])
    idx = np.array([2, 0, 3])
    inner = build_mlp(4 + 2, (3,), 1)
    model = MetaAugmentedModel(inner, meta, idx)
    x = torch.randn(5, 4)
    aug = model.augment(x).numpy()
    expected = np.hstack([x.numpy(), x.numpy()[:, idx] @ meta / math.sqrt(3)])
    np.testing.assert_allclose(aug, expected, rtol=1e-5, atol=1e-6)
    assert model(x).shape == (5, 1)


def test_merge_prior_and_first_layer_penalties_match_numpy():
    torch.manual_seed(0)
    linear = build_mlp(4, (), 1)
    meta = np.array([[1.0], [-1.0], [0.0]])
    idx = np.array([0, 1, 3])
    merge = MergePrior(meta, idx, error="sq")
    w = linear_weight(linear).detach().numpy()[0]
    a = float(merge.net.layers[0].weight.detach()[0, 0])
    b = float(merge.net.layers[0].bias.detach()[0])
    g = meta[:, 0] * a + b
    assert float(merge(linear).detach()) == pytest.approx(np.mean((w[idx] - g) ** 2), rel=1e-5)
    merge_abs = MergePrior(meta, idx, error="abs")
    g2 = meta[:, 0] * float(merge_abs.net.layers[0].weight.detach()[0, 0]) + float(
        merge_abs.net.layers[0].bias.detach()[0])
    assert float(merge_abs(linear).detach()) == pytest.approx(np.mean(np.abs(w[idx] - g2)), rel=1e-5)
    mlp = build_mlp(4, (3,), 1)
    w1 = mlp[0].weight.detach().numpy()
    assert float(first_layer_penalty(mlp, "l1").detach()) == pytest.approx(np.abs(w1).sum(), rel=1e-5)
    assert float(first_layer_penalty(mlp, "l2").detach()) == pytest.approx((w1 ** 2).sum(), rel=1e-5)


def test_merge_linear_learns_g_toward_weights():
    meta, x, y, beta = _planted(3)
    from aprior_cli.dapr.metafeatures import join_meta_features

    joined = join_meta_features(meta, list(meta.index))
    merge = MergePrior(joined.values, joined.feature_index)
    before = merge.net.layers[0].weight.detach().clone()
    torch.manual_seed(0)
    linear = build_mlp(x.shape[1], (), 1)
    fit(linear, x[:200], y[:200], x[200:], y[200:], param_penalty=merge,
        config=FitConfig(task="regression", max_epochs=30, patience=100, lr=1e-2,
                         weight_decay=0.0, prior_lr=1e-2, penalty_weight=1.0), seed=0)
    assert not torch.equal(before, merge.net.layers[0].weight.detach())
    # g(M) of the linear MERGE prior tracks the true weights through m1
    rho = spearmanr(merge.net(merge.meta).detach().numpy(), beta).statistic
    assert rho > 0.6
