"""Per-sample losses (predictions.tsv) and the Monte-Carlo error of a ranking (mc_stderr)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aprior_cli.attribution import expected_gradients
from aprior_cli.training.attribute import global_ranking
from aprior_cli.training.predictions import per_sample_losses
from aprior_cli.training.tasks import get_task


@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
def test_per_sample_losses_average_to_the_task_loss(task):
    gen = torch.Generator().manual_seed(0)
    if task == "multiclass":
        out = torch.randn(9, 3, generator=gen)
        y = torch.tensor([0, 1, 2, 2, 1, 0, 0, 1, 2])
        by_hand = [-torch.log_softmax(out[i], 0)[y[i]].item() for i in range(9)]
    elif task == "binary":
        out = torch.randn(9, 1, generator=gen)
        y = (torch.rand(9, generator=gen) > 0.5).float()
        p = torch.sigmoid(out.reshape(-1))
        by_hand = (-(y * torch.log(p) + (1 - y) * torch.log(1 - p))).tolist()
    else:
        out = torch.randn(9, 1, generator=gen)
        y = torch.randn(9, generator=gen)
        by_hand = ((out.reshape(-1) - y) ** 2).tolist()
    losses = per_sample_losses(task, out, y)
    assert losses.shape == (9,)
    np.testing.assert_allclose(losses, by_hand, rtol=1e-5)
    assert losses.mean() == pytest.approx(float(get_task(task).loss(out, y)), rel=1e-5)


def test_mc_stderr_column_is_the_error_of_the_mean_abs_attribution():
    rng = np.random.default_rng(0)
    phi = rng.normal(size=(6, 4))
    se = rng.uniform(0.1, 0.3, size=(6, 4))
    table = global_ranking(phi, ["a", "b", "c", "d"], stderr=se).set_index("feature")
    expected = np.sqrt((se ** 2).sum(0)) / 6
    np.testing.assert_allclose(table.loc[["a", "b", "c", "d"], "mc_stderr"], expected)
    assert "mc_stderr" not in global_ranking(phi, list("abcd")).columns
    with pytest.raises(ValueError):
        global_ranking(phi, list("abcd"), stderr=se[:, :2])


def test_mc_stderr_bounds_the_spread_over_reseeded_eg():
    """Over 40 independent EG draws, mean |EG| per feature spreads about as the s.e. says."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    x = torch.randn(12, 5)
    refs = torch.randn(40, 5)
    means, predicted = [], []
    for seed in range(40):
        res = expected_gradients(model, x, refs, n_samples=20, seed=seed, return_stderr=True)
        table = global_ranking(res.attributions.detach().numpy(), list("abcde"),
                               stderr=res.stderr.detach().numpy()).set_index("feature")
        means.append(table.loc[list("abcde"), "mean_abs_attribution"].to_numpy())
        predicted.append(table.loc[list("abcde"), "mc_stderr"].to_numpy())
    observed = np.std(means, axis=0, ddof=1)
    bound = np.mean(predicted, axis=0)
    ratio = observed / bound
    # an upper bound up to the noise of a 40-draw sd (about +-25 %), and not a loose one
    assert np.all(ratio < 1.3), ratio
    assert np.all(ratio > 0.5), ratio
