"""The DAPr penalty and its gradients against an independent numpy computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from aprior_cli.dapr.penalty import DAPrPrior, build_dapr_prior
from aprior_cli.dapr.prior_net import PriorNet


def _numpy_penalty(phi, idx, meta, w, b, mode):
    g = meta @ w + b
    sel = phi[:, idx]
    a = {"abs": np.abs(sel), "signed": sel, "phibar": np.abs(sel).mean(0, keepdims=True)}[mode]
    return np.abs(a - g[None, :]).mean(), a, g


def _numpy_grads(phi, idx, meta, w, b, mode):
    """Analytic gradients of mean|a - g| (subgradient sign(0) = 0)."""
    _, a, g = _numpy_penalty(phi, idx, meta, w, b, mode)
    s = np.sign(a - g[None, :])
    n = s.size
    dg = -s.sum(0) / n                         # d/d g_j
    dw = meta.T @ dg
    db = dg.sum()
    sel = phi[:, idx]
    dphi = np.zeros_like(phi)
    if mode == "abs":
        dphi[:, idx] = s * np.sign(sel) / n
    elif mode == "signed":
        dphi[:, idx] = s / n
    else:
        dphi[:, idx] = s * np.sign(sel) / (n * phi.shape[0])
    return dphi, dw, db


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), batch=st.integers(2, 6), p=st.integers(2, 7),
       m=st.integers(1, 3), mode=st.sampled_from(["abs", "signed", "phibar"]))
def test_penalty_and_gradients_match_numpy(seed, batch, p, m, mode):
    rng = np.random.default_rng(seed)
    q = int(rng.integers(1, p + 1))
    idx = rng.choice(p, size=q, replace=False)
    meta = rng.standard_normal((q, m))
    phi = rng.standard_normal((batch, p))
    net = PriorNet(m)
    with torch.no_grad():
        net.layers[0].weight.copy_(torch.tensor(rng.standard_normal((1, m))))
        net.layers[0].bias.fill_(float(rng.standard_normal()))
    w = net.layers[0].weight.detach().numpy()[0].astype(np.float64)
    b = float(net.layers[0].bias.detach())
    prior = DAPrPrior(meta, idx, net, attribution=mode)
    phi_t = torch.tensor(phi, dtype=torch.float32, requires_grad=True)
    value = prior(phi_t)
    value.backward()
    expected, *_ = _numpy_penalty(phi, idx, prior.meta.double().numpy(), w, b, mode)
    assert float(value.detach()) == pytest.approx(expected, rel=1e-5, abs=1e-6)
    dphi, dw, db = _numpy_grads(phi, idx, prior.meta.double().numpy(), w, b, mode)
    np.testing.assert_allclose(phi_t.grad.numpy(), dphi, atol=1e-6)
    np.testing.assert_allclose(net.layers[0].weight.grad.numpy()[0], dw, atol=1e-5)
    assert float(net.layers[0].bias.grad) == pytest.approx(db, abs=1e-5)


def test_prior_is_learnable_and_only_penalised_columns_get_gradients():
    table = pd.DataFrame({"m1": [0.0, 1.0, 2.0], "m2": [1.0, 0.0, 1.0]}, index=["a", "b", "c"])
    prior = build_dapr_prior(table, ["b", "x", "a", "c"], hidden=(4, 2), seed=3)
    assert sum(p.numel() for p in prior.parameters() if p.requires_grad) == 2 * 4 + 4 + 4 * 2 + 2 + 2 + 1
    assert {n for n, _ in prior.named_buffers()} == {"meta", "feature_index"}
    phi = torch.randn(5, 4, requires_grad=True)
    prior(phi).backward()
    assert torch.all(phi.grad[:, 1] == 0)
    assert torch.any(phi.grad[:, [0, 2, 3]] != 0)
    assert prior.predicted_importance().shape == (3,)
    again = build_dapr_prior(table, ["b", "x", "a", "c"], hidden=(4, 2), seed=3)
    torch.testing.assert_close(prior.predicted_importance(), again.predicted_importance())


def test_noise_control_keeps_shape_and_changes_values():
    table = pd.DataFrame({"m1": np.arange(10.0), "m2": np.arange(10.0) ** 2},
                         index=[f"g{i}" for i in range(10)])
    real = build_dapr_prior(table, list(table.index))
    noise = build_dapr_prior(table, list(table.index), noise=True, seed=1)
    assert noise.meta.shape == real.meta.shape
    assert not torch.allclose(noise.meta, real.meta)
    assert noise.coverage["noise_control"] is True


def test_bad_phi_shape_and_mode():
    prior = DAPrPrior(np.zeros((2, 1)), np.array([0, 1]), PriorNet(1))
    with pytest.raises(ValueError, match="phi must be"):
        prior(torch.zeros(3))
    with pytest.raises(ValueError, match="attribution must be"):
        DAPrPrior(np.zeros((2, 1)), np.array([0, 1]), PriorNet(1), attribution="squared")
