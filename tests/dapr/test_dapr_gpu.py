"""DAPr on CUDA: the prior moves with .to(), trains jointly, and its outputs come back to CPU."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from aprior_cli.dapr.explain import dapr_output_tables
from aprior_cli.dapr.fit import FitConfig, fit
from aprior_cli.dapr.penalty import build_dapr_prior
from aprior_cli.models import build_mlp

pytestmark = pytest.mark.gpu


def test_dapr_prior_trains_on_cuda_and_matches_cpu_penalty():
    rng = np.random.default_rng(0)
    meta = pd.DataFrame(rng.standard_normal((12, 2)), index=[f"g{i}" for i in range(12)],
                        columns=["a", "b"])
    prior = build_dapr_prior(meta, list(meta.index), hidden=(4,), seed=0)
    phi = torch.randn(8, 12)
    cpu_value = float(prior(phi).detach())
    prior = prior.to("cuda")
    assert prior.meta.is_cuda and prior.feature_index.is_cuda
    assert float(prior(phi.cuda()).detach()) == pytest.approx(cpu_value, rel=1e-5)
    x = torch.randn(64, 12, device="cuda")
    y = x[:, :3].sum(1)
    model = build_mlp(12, (8,), 1).cuda()
    before = [p.detach().clone() for p in prior.parameters()]
    fit(model, x[:48], y[:48], x[48:], y[48:], prior=prior, seed=0,
        config=FitConfig(task="regression", max_epochs=3, patience=5, lr=1e-2, weight_decay=0.0))
    assert any(not torch.equal(b, a.detach()) for b, a in zip(before, prior.parameters(),
                                                              strict=True))
    tables = dapr_output_tables(prior, n_samples=20, n_grid=4)
    assert len(tables["importance"]) == 12 and prior.meta.is_cuda
