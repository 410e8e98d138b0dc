"""Post-hoc EG / IG / gradients against independent computations."""

import numpy as np
import pytest
import torch
from torch import nn

from aprior_cli.attribution import (
    draw_pairs,
    expected_gradients,
    input_gradients,
    integrated_gradients,
)
from aprior_cli.errors import UserInputError


def _mlp(p=6, out=1, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(p, 8), nn.Tanh(), nn.Linear(8, 4), nn.Softplus(),
                         nn.Linear(4, out)).double()


def _data(n, p, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, p, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("fast_path", [True, False])
def test_linear_model_is_exact(fast_path):
    p = 5
    model = nn.Linear(p, 1).double()
    x, refs = _data(4, p, 1), _data(9, p, 2)
    res = expected_gradients(model, x, refs, n_samples=30, seed=0, fast_path=fast_path,
                             completeness=True)
    ref_idx, _ = draw_pairs(4, 9, 30, torch.Generator().manual_seed(0), dtype=torch.float64)
    w = model.weight.detach()[0]
    expected = w * (x - refs[ref_idx].mean(1))  # phi = w * (x - mean of the drawn x')
    torch.testing.assert_close(res.attributions, expected)
    torch.testing.assert_close(res.completeness_residual, torch.zeros(4, dtype=torch.float64))
    # with many samples the drawn mean converges to the reference mean
    res_many = expected_gradients(model, x, refs, n_samples=20000, seed=1)
    np.testing.assert_allclose(res_many.attributions, w * (x - refs.mean(0)), atol=0.03)


def _per_pair_reference(model, x, refs, ref_idx, alpha, target=None):
    """Independent estimator: one autograd call per (input, pair); returns contributions."""
    n, s = ref_idx.shape
    contrib = torch.zeros(n, s, x.shape[1], dtype=x.dtype)
    gaps = torch.zeros(n, s, dtype=x.dtype)
    for i in range(n):
        for j in range(s):
            r = refs[ref_idx[i, j]]
            z = (r + alpha[i, j] * (x[i] - r)).clone().requires_grad_(True)
            out = model(z.unsqueeze(0))[0]
            value = out[0] if target is None else out[target[i]]
            (g,) = torch.autograd.grad(value, z)
            contrib[i, j] = g * (x[i] - r)
            with torch.no_grad():
                fx, fr = model(x[i:i + 1])[0], model(r.unsqueeze(0))[0]
            t = 0 if target is None else int(target[i])
            gaps[i, j] = fx[t] - fr[t]
    return contrib, gaps


def test_mlp_matches_per_pair_loop_with_stderr_and_completeness():
    model = _mlp()
    x, refs = _data(3, 6, 3), _data(7, 6, 4)
    res = expected_gradients(model, x, refs, n_samples=40, seed=5, chunk_size=25,
                             return_stderr=True, completeness=True)
    ref_idx, alpha = draw_pairs(3, 7, 40, torch.Generator().manual_seed(5), dtype=torch.float64)
    contrib, gaps = _per_pair_reference(model, x, refs, ref_idx, alpha)
    torch.testing.assert_close(res.attributions, contrib.mean(1))
    torch.testing.assert_close(res.stderr, contrib.std(1, unbiased=True) / np.sqrt(40))
    torch.testing.assert_close(res.completeness_residual, contrib.sum(2).mean(1) - gaps.mean(1))
    # completeness holds within Monte-Carlo error (the only error left is over alpha)
    per_pair = contrib.sum(2) - gaps
    mc_error = per_pair.std(1) / np.sqrt(40)
    assert torch.all(res.completeness_residual.abs() <= 4 * mc_error + 1e-9)


def test_completeness_shrinks_with_more_samples():
    model = _mlp(seed=1)
    x, refs = _data(4, 6, 5), _data(50, 6, 6)
    few = expected_gradients(model, x, refs, n_samples=20, seed=0, completeness=True,
                             return_stderr=True)
    many = expected_gradients(model, x, refs, n_samples=4000, seed=0, completeness=True)
    assert many.completeness_residual.abs().mean() < few.completeness_residual.abs().mean()
    assert many.completeness_residual.abs().max() < 0.02


def test_dummy_feature_gets_zero():
    torch.manual_seed(0)
    model = _mlp(p=4)
    with torch.no_grad():
        model[0].weight[:, 2] = 0.0  # the model ignores feature 2
    x, refs = _data(5, 4, 7), _data(6, 4, 8)
    for fast in (True, False):
        phi = expected_gradients(model, x, refs, n_samples=15, seed=0, fast_path=fast).attributions
        assert torch.all(phi[:, 2] == 0)
        assert torch.all(phi[:, [0, 1, 3]].abs().sum(0) > 0)


def test_multi_output_targets():
    model = _mlp(out=3)
    x, refs = _data(4, 6, 9), _data(8, 6, 10)
    target = torch.tensor([2, 0, 1, 2])
    res = expected_gradients(model, x, refs, n_samples=10, seed=3, target=target,
                             completeness=True)
    ref_idx, alpha = draw_pairs(4, 8, 10, torch.Generator().manual_seed(3), dtype=torch.float64)
    contrib, gaps = _per_pair_reference(model, x, refs, ref_idx, alpha, target)
    torch.testing.assert_close(res.attributions, contrib.mean(1))
    torch.testing.assert_close(res.completeness_residual, contrib.sum(2).mean(1) - gaps.mean(1))
    # an int target equals the per-sample target that repeats it
    a = expected_gradients(model, x, refs, n_samples=10, seed=3, target=1).attributions
    b = expected_gradients(model, x, refs, n_samples=10, seed=3,
                           target=torch.ones(4, dtype=torch.long)).attributions
    torch.testing.assert_close(a, b)


def test_seed_determinism_and_chunk_invariance():
    model = _mlp()
    x, refs = _data(6, 6, 11), _data(9, 6, 12)
    a = expected_gradients(model, x, refs, n_samples=12, seed=4).attributions
    b = expected_gradients(model, x, refs, n_samples=12, seed=4, chunk_size=5).attributions
    c = expected_gradients(model, x, refs, n_samples=12, seed=5).attributions
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)


def test_agrees_with_captum_gradient_shap_on_the_same_pairs(monkeypatch):
    captum_attr = pytest.importorskip("captum.attr")
    model = _mlp(out=2)
    x, refs = _data(3, 6, 13), _data(5, 6, 14)
    n, s = 3, 16
    ref_idx, alpha = draw_pairs(n, 5, s, torch.Generator().manual_seed(8), dtype=torch.float64)
    ours = expected_gradients(model, x, refs, n_samples=s, seed=8, target=1).attributions

    # Captum draws the baseline rows with np.random.choice (row n*S + s) and the alphas with
    # np.random.uniform; hand it our pairs instead.
    monkeypatch.setattr(np.random, "choice", lambda *a, **k: ref_idx.reshape(-1).numpy())
    monkeypatch.setattr(np.random, "uniform", lambda *a, **k: alpha.reshape(-1).numpy())
    theirs = captum_attr.GradientShap(model).attribute(x, refs, n_samples=s, stdevs=0.0, target=1)
    torch.testing.assert_close(ours, theirs)


def test_integrated_gradients_and_input_gradients():
    model = nn.Linear(4, 1).double()
    w = model.weight.detach()[0]
    x = _data(3, 4, 15)
    baseline = _data(1, 4, 16)[0]
    ig = integrated_gradients(model, x, baseline=baseline, n_steps=5, completeness=True)
    torch.testing.assert_close(ig.attributions, w * (x - baseline))
    torch.testing.assert_close(ig.completeness_residual, torch.zeros(3, dtype=torch.float64))
    torch.testing.assert_close(integrated_gradients(model, x).attributions, w * x)
    grads = input_gradients(model, x).attributions
    torch.testing.assert_close(grads, w.expand(3, 4))
    # nonlinear model: IG completeness residual is the quadrature error, small with many steps
    mlp = _mlp(p=4)
    res = integrated_gradients(mlp, x, baseline=torch.zeros(3, 4, dtype=torch.float64),
                               n_steps=200, completeness=True)
    assert res.completeness_residual.abs().max() < 1e-4


def test_works_under_no_grad_and_leaves_no_parameter_grads():
    model = _mlp()
    x, refs = _data(2, 6, 17), _data(3, 6, 18)
    with torch.no_grad():
        phi = expected_gradients(model, x, refs, n_samples=5, seed=0).attributions
    assert phi.abs().sum() > 0
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"inputs": torch.zeros(4)}, "inputs: expected shape"),
        ({"inputs": torch.zeros(0, 6)}, "inputs: is empty"),
        ({"references": torch.zeros(0, 6)}, "references: is empty"),
        ({"references": torch.zeros(3, 5)}, "references: has 5 features"),
        ({"n_samples": 0}, "n_samples"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"target": 3}, "out of range"),
        ({"target": torch.tensor([0, 1])}, "shape"),
    ],
)
def test_misuse(kwargs, message):
    model = _mlp(out=2)
    args = {"inputs": _data(3, 6, 0), "references": _data(4, 6, 1), "n_samples": 3,
            "target": 0}
    args.update(kwargs)
    with pytest.raises(UserInputError, match=message):
        expected_gradients(model, **args)


def test_multi_output_without_target_is_an_error():
    with pytest.raises(UserInputError, match="2 outputs"):
        expected_gradients(_mlp(out=2), _data(3, 6, 0), _data(4, 6, 1), n_samples=3)
    with pytest.raises(UserInputError, match="baseline"):
        integrated_gradients(_mlp(), _data(3, 6, 0), baseline=torch.zeros(5))


@pytest.mark.gpu
def test_cpu_cuda_parity():
    model = _mlp().float()
    x, refs = _data(4, 6, 0).float(), _data(5, 6, 1).float()
    cpu = expected_gradients(model, x, refs, n_samples=10, seed=0, generator=None)
    gpu_model = model.cuda()
    ref_idx, alpha = draw_pairs(4, 5, 10, torch.Generator("cuda").manual_seed(0), "cuda")
    from aprior_cli.attribution import attribute_pairs

    on_gpu = attribute_pairs(gpu_model, x.cuda(), refs.cuda(), ref_idx, alpha)
    on_cpu = attribute_pairs(model.cpu(), x, refs, ref_idx.cpu(), alpha.cpu())
    torch.testing.assert_close(on_gpu.attributions.cpu(), on_cpu.attributions, rtol=1e-4,
                               atol=1e-5)
    assert cpu.attributions.shape == (4, 6)
