"""Priors and their gradients against independent numpy computations."""

import numpy as np
import pytest
import scipy.sparse
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from torch import nn

from aprior_cli.errors import UserInputError
from aprior_cli.priors import (
    GiniPrior,
    GraphPrior,
    L1Prior,
    L2Prior,
    TotalVariationPrior,
    gini,
    make_prior,
    parameter_penalty,
    prior_names,
    register_prior,
)

RNG = np.random.default_rng(0)


def _phi(b=5, p=8, seed=0):
    return np.random.default_rng(seed).normal(size=(b, p))


def _autograd(prior, phi_np):
    phi = torch.tensor(phi_np, requires_grad=True)
    value = prior(phi)
    (grad,) = torch.autograd.grad(value, phi)
    return float(value.detach()), grad.numpy()


def _random_graph(q, seed=1):
    rng = np.random.default_rng(seed)
    w = np.triu(rng.uniform(size=(q, q)) * (rng.uniform(size=(q, q)) < 0.4), 1)
    w = w + w.T
    return w, np.diag(w.sum(1)) - w


def test_graph_prior_value_and_gradient():
    phi = _phi(p=8)
    idx = np.array([6, 0, 3, 5, 1])
    w, lap = _random_graph(5)
    prior = GraphPrior(scipy.sparse.csr_matrix(lap), feature_index=idx)
    value, grad = _autograd(prior, phi)
    v = np.abs(phi).mean(0)[idx]
    assert value == pytest.approx(v @ lap @ v, rel=1e-6)
    expected = np.zeros_like(phi)
    expected[:, idx] = np.sign(phi[:, idx]) * (2 * lap @ v) / phi.shape[0]
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-9)
    # covariates (columns 2, 4, 7) are not graph nodes: they get no gradient
    assert np.all(grad[:, [2, 4, 7]] == 0)


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, 6, elements=st.floats(-5, 5)))
def test_laplacian_quadratic_form_is_half_sum_of_weighted_squared_differences(a):
    w, lap = _random_graph(6, seed=int(abs(a).sum() * 10) % 1000)
    prior = GraphPrior(scipy.sparse.coo_matrix(lap))
    value = float(prior(torch.tensor(a).unsqueeze(0)))  # one sample: phibar = |a|
    b = np.abs(a)
    expected = (w * (b[:, None] - b[None, :]) ** 2).sum() / 2
    assert value == pytest.approx(expected, rel=1e-5, abs=1e-6)


def _gini_pairwise(v):
    return np.abs(v[:, None] - v[None, :]).sum() / (2 * len(v) * v.sum())


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(1, 40), elements=st.floats(0, 100)))
def test_gini_by_sort_equals_pairwise(v):
    value = float(gini(torch.tensor(v)))
    expected = _gini_pairwise(v) if v.sum() > 0 else 0.0
    assert value == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_gini_prior_gradient():
    phi = _phi(p=7, seed=3)
    value, grad = _autograd(GiniPrior(), phi)
    v = np.abs(phi).mean(0)
    p, total = len(v), v.sum()
    g = _gini_pairwise(v)
    ranks = np.empty(p)
    ranks[np.argsort(v)] = np.arange(1, p + 1)
    dg_dv = (2 * ranks - p - 1) / (p * total) - g / total
    assert value == pytest.approx(-g)
    np.testing.assert_allclose(grad, -dg_dv * np.sign(phi) / phi.shape[0], rtol=1e-6)
    # extremes: one feature carries everything -> (p-1)/p; all equal -> 0
    assert float(gini(torch.tensor([0.0, 0, 0, 5]))) == pytest.approx(3 / 4)
    assert float(gini(torch.ones(9))) == pytest.approx(0.0)
    assert float(gini(torch.zeros(3))) == 0.0


def test_l1_l2_values_and_gradients():
    phi = _phi(seed=4)
    v = np.abs(phi).mean(0)
    value, grad = _autograd(L1Prior(), phi)
    assert value == pytest.approx(v.sum())
    np.testing.assert_allclose(grad, np.sign(phi) / phi.shape[0])
    value, grad = _autograd(L2Prior(feature_index=[1, 2]), phi)
    assert value == pytest.approx((v[[1, 2]] ** 2).sum())
    expected = np.zeros_like(phi)
    expected[:, [1, 2]] = 2 * v[[1, 2]] * np.sign(phi[:, [1, 2]]) / phi.shape[0]
    np.testing.assert_allclose(grad, expected)


def _tv_numpy(phi, h, w):
    maps = phi.reshape(phi.shape[0], -1, h, w)
    maps = maps / np.abs(maps).sum((1, 2, 3), keepdims=True)
    tv = np.abs(np.diff(maps, axis=2)).sum((1, 2, 3)) + np.abs(np.diff(maps, axis=3)).sum((1, 2, 3))
    return tv.mean()


def test_total_variation_value_gradient_and_scale_invariance():
    phi = _phi(b=3, p=2 * 3 * 4, seed=5)  # 2 channels of 3x4
    prior = TotalVariationPrior(3, 4)
    value, grad = _autograd(prior, phi)
    assert value == pytest.approx(_tv_numpy(phi, 3, 4))
    numeric = np.zeros_like(phi)
    eps = 1e-6
    for idx in np.ndindex(phi.shape):
        up, down = phi.copy(), phi.copy()
        up[idx] += eps
        down[idx] -= eps
        numeric[idx] = (_tv_numpy(up, 3, 4) - _tv_numpy(down, 3, 4)) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-7)
    assert float(prior(torch.tensor(10 * phi))) == pytest.approx(value)
    smooth = np.ones((1, 12))
    assert float(prior(torch.tensor(smooth))) == pytest.approx(0.0)


def test_parameter_penalties():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).double()
    ws = [m.weight.detach().numpy() for m in (model[0], model[2])]
    assert parameter_penalty(model, "l1", "first").item() == pytest.approx(np.abs(ws[0]).sum())
    assert parameter_penalty(model, "l2", "all").item() == pytest.approx(
        sum((w ** 2).sum() for w in ws))

    def sgl(w, a):
        return (1 - a) * np.sqrt(w.shape[0]) * np.linalg.norm(w, axis=0).sum() + a * np.abs(w).sum()

    assert parameter_penalty(model, "sgl", "all", alpha=0.3).item() == pytest.approx(
        sgl(ws[0], 0.3) + sgl(ws[1], 0.3))
    penalty = parameter_penalty(model, "sgl", "first", alpha=0.3)
    (grad,) = torch.autograd.grad(penalty, model[0].weight)
    w = ws[0]
    expected = 0.7 * np.sqrt(3) * w / np.linalg.norm(w, axis=0) + 0.3 * np.sign(w)
    np.testing.assert_allclose(grad.numpy(), expected, rtol=1e-6)
    for kind, layers, message in [("l3", "first", "kind"), ("l1", "last", "layers")]:
        with pytest.raises(UserInputError, match=message):
            parameter_penalty(model, kind, layers)
    with pytest.raises(UserInputError, match="no nn.Linear"):
        parameter_penalty(nn.ReLU())


def test_p20000_without_a_dense_matrix():
    """Gini and the graph penalty at p = 20,000: no op allocates anything near p x p."""
    p = 20_000
    rows = np.arange(p)
    adj = scipy.sparse.coo_matrix((np.ones(p), (rows, (rows + 1) % p)), shape=(p, p))
    adj = adj + adj.T
    lap = scipy.sparse.diags(np.asarray(adj.sum(1)).ravel()) - adj
    phi = torch.randn(4, p, requires_grad=True)
    priors = [GiniPrior(), GraphPrior(lap)]
    with torch.profiler.profile(profile_memory=True) as prof:
        loss = sum(prior(phi) for prior in priors)
        loss.backward()
    largest = max(abs(e.cpu_memory_usage) for e in prof.key_averages())
    assert largest < 50 * p * 8  # a p x p float32 matrix would be 1.6 GB
    v = phi.detach().abs().mean(0).numpy().astype(np.float64)
    expected_graph = float(((v - np.roll(v, -1)) ** 2).sum())
    assert float(priors[1](phi.detach())) == pytest.approx(expected_graph, rel=1e-4)


def test_make_prior_registry_and_errors():
    phi = torch.tensor(_phi())
    assert set(prior_names()) >= {"graph", "gini", "sparsity", "l1", "l2", "tv", "none"}
    assert float(make_prior("sparsity")(phi)) == float(make_prior("gini")(phi))
    assert float(make_prior("none")(phi)) == 0.0
    lap = scipy.sparse.identity(8)
    assert float(make_prior("graph", laplacian=lap)(phi)) == pytest.approx(
        (np.abs(_phi()).mean(0) ** 2).sum())
    register_prior("first_feature", lambda: (lambda a: a[:, 0].abs().mean()))
    assert float(make_prior("first_feature")(phi)) == pytest.approx(np.abs(_phi()[:, 0]).mean())
    with pytest.raises(UserInputError, match="unknown prior 'smooth'"):
        make_prior("smooth")
    with pytest.raises(UserInputError, match="prior 'graph'"):
        make_prior("graph")
    with pytest.raises(UserInputError, match="prior 'tv'"):
        make_prior("tv", height=3)


@pytest.mark.parametrize(
    ("build", "phi", "message"),
    [
        (lambda: GraphPrior(np.eye(3)), torch.zeros(2, 4), "4 features but the graph has 3"),
        (lambda: GraphPrior(np.eye(3), feature_index=[0, 9, 1]), torch.zeros(2, 4), "column 9"),
        (lambda: GraphPrior(np.eye(3), feature_index=[0, 1]), None, "2 entries"),
        (lambda: GraphPrior(np.ones((2, 3))), None, "square"),
        (lambda: GraphPrior(np.eye(2) * np.nan), None, "NaN"),
        (lambda: L1Prior(feature_index=[0.5]), None, "integer"),
        (lambda: L1Prior(feature_index=[-1]), None, "negative"),
        (lambda: L1Prior(), torch.zeros(3), "batch, features"),
        (lambda: TotalVariationPrior(3, 3), torch.zeros(2, 10), "3x3 maps"),
        (lambda: TotalVariationPrior(0, 3), None, ">= 1"),
    ],
)
def test_misuse(build, phi, message):
    with pytest.raises(UserInputError, match=message):
        prior = build()
        prior(phi)


def test_gini_gradient_is_finite_at_zero_and_tiny_values():
    v = torch.zeros(4, requires_grad=True)
    gini(v).backward()
    assert torch.all(torch.isfinite(v.grad))
    assert float(gini(torch.tensor([1e-200, 0.0], dtype=torch.float64))) == pytest.approx(0.5)


def test_graph_roughness_is_scale_free_and_between_0_and_the_largest_eigenvalue():
    import math

    from aprior_cli.priors import GraphPrior, graph_roughness

    rng = np.random.default_rng(3)
    w = np.triu(rng.random((7, 7)) < 0.5, 1) * rng.random((7, 7))
    w = w + w.T
    lap = np.diag(w.sum(1)) - w
    phi = torch.tensor(rng.normal(size=(5, 7)))
    v = phi.abs().mean(0).numpy()
    edges = sum(w[i, j] * (v[i] - v[j]) ** 2 for i in range(7) for j in range(i + 1, 7))
    prior = GraphPrior(scipy.sparse.csr_matrix(lap))
    assert float(prior.roughness(phi)) == pytest.approx(edges / (v @ v))
    assert float(prior(phi)) == pytest.approx(edges)  # the raw penalty, for contrast
    assert float(prior.roughness(0.01 * phi)) == pytest.approx(edges / (v @ v))  # shrinkage
    assert float(prior(0.01 * phi)) == pytest.approx(1e-4 * edges)  # ... fools the raw one
    top = np.linalg.eigvalsh(lap).max()
    assert 0 <= float(graph_roughness(torch.tensor(v), lap)) <= top + 1e-9
    assert float(graph_roughness(torch.ones(7, dtype=torch.float64), lap)) == pytest.approx(
        0.0, abs=1e-12)  # constant on the graph
    assert math.isnan(float(graph_roughness(torch.zeros(7, dtype=torch.float64), lap)))
