"""The first-linear-layer fast path equals the generic path (post-hoc and training-time)."""

import pytest
import torch
from torch import nn

from aprior_cli.attribution import (
    expected_gradients,
    integrated_gradients,
    split_first_linear,
    training_attributions,
)


def _mlp(p=7, classes=1, dtype=torch.float64):
    torch.manual_seed(3)
    return nn.Sequential(nn.Linear(p, 6), nn.Tanh(), nn.Linear(6, 5), nn.ReLU(),
                         nn.Linear(5, classes)).to(dtype)


class Wrapped(nn.Module):
    """A non-Sequential model that opts into the fast path with the hook."""

    def __init__(self):
        super().__init__()
        self.first = nn.Linear(7, 4)
        self.head = nn.Sequential(nn.Softplus(), nn.Linear(4, 1))

    def forward(self, z):
        return self.head(self.first(z))

    def split_first_linear(self):
        return self.first, self.head


def test_split_detection():
    model = _mlp()
    linear, rest = split_first_linear(model)
    assert linear is model[0]
    z = torch.randn(3, 7, dtype=torch.float64)
    torch.testing.assert_close(rest(linear(z)), model(z))
    assert split_first_linear(nn.Sequential(nn.ReLU(), nn.Linear(3, 1))) is None
    assert split_first_linear(Wrapped())[0].in_features == 7


@pytest.mark.parametrize("method", ["eg", "ig", "grad"])
@pytest.mark.parametrize("classes", [1, 3])
def test_training_fast_equals_generic(method, classes):
    model = _mlp(classes=classes)
    x = torch.randn(9, 7, dtype=torch.float64)
    target = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2]) if classes == 3 else None
    baseline = torch.randn(7, dtype=torch.float64) if method == "ig" else None
    out = {}
    for fast in (True, False):
        phi = training_attributions(model, x, method, k=3, target=target, baseline=baseline,
                                    generator=torch.Generator().manual_seed(5), fast_path=fast)
        loss = phi.abs().mean(0).square().sum()
        grads = torch.autograd.grad(loss, list(model.parameters()), allow_unused=True)
        out[fast] = (phi, grads)
    torch.testing.assert_close(out[True][0], out[False][0])
    # the last bias has no effect on attributions: None on both paths
    assert out[True][1][-1] is None and out[False][1][-1] is None
    for g_fast, g_generic in zip(out[True][1][:-1], out[False][1][:-1], strict=True):
        torch.testing.assert_close(g_fast, g_generic)
        assert g_fast.dim() == 1 or g_fast.abs().sum() > 0  # weights get a real gradient


def test_return_output_shares_first_layer():
    model = _mlp()
    x = torch.randn(6, 7, dtype=torch.float64)
    phi, output = training_attributions(model, x, k=2, return_output=True,
                                        generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(output, model(x))
    phi_alone = training_attributions(model, x, k=2, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(phi, phi_alone)


@pytest.mark.parametrize("chunk", [None, 7, 50])
def test_posthoc_fast_equals_generic(chunk):
    model = Wrapped().double()
    x = torch.randn(5, 7, dtype=torch.float64)
    refs = torch.randn(11, 7, dtype=torch.float64)
    res = {fast: expected_gradients(model, x, refs, n_samples=20, seed=2, chunk_size=chunk,
                                    return_stderr=True, completeness=True, fast_path=fast)
           for fast in (True, False)}
    torch.testing.assert_close(res[True].attributions, res[False].attributions)
    torch.testing.assert_close(res[True].stderr, res[False].stderr)
    torch.testing.assert_close(res[True].completeness_residual,
                               res[False].completeness_residual)
    # the no-stderr fast path takes a different (delta-free) route
    plain = expected_gradients(model, x, refs, n_samples=20, seed=2, chunk_size=chunk)
    torch.testing.assert_close(plain.attributions, res[False].attributions)
    ig = {fast: integrated_gradients(model, x, n_steps=8, fast_path=fast).attributions
          for fast in (True, False)}
    torch.testing.assert_close(ig[True], ig[False])


class Affine(nn.Module):
    """A per-feature affine input layer declaring its coefficients."""

    def __init__(self, p):
        super().__init__()
        self.register_buffer("scale", torch.linspace(0.5, 2.0, p, dtype=torch.float64))
        self.register_buffer("shift", torch.linspace(-1.0, 1.0, p, dtype=torch.float64))

    def forward(self, x):
        return x * self.scale + self.shift

    def affine_coefficients(self):
        return self.scale, self.shift


def _prefixed_models():
    torch.manual_seed(4)
    yield nn.Sequential(Affine(7), nn.Linear(7, 5), nn.Tanh(), nn.Linear(5, 1)).double()
    models = pytest.importorskip("aprior_cli.models")
    mlp = models.build_mlp(7, hidden=(5,), standardize=True).double()
    mlp[0].fit(torch.randn(20, 7, dtype=torch.float64) * 3 + 1)
    yield mlp


def test_affine_prefix_takes_the_fast_path_and_matches():
    x = torch.randn(6, 7, dtype=torch.float64)
    refs = torch.randn(9, 7, dtype=torch.float64)
    for model in _prefixed_models():
        first, rest = split_first_linear(model)
        torch.testing.assert_close(rest(first(x)), model(x))
        phis = [training_attributions(model, x, k=2, generator=torch.Generator().manual_seed(0),
                                      fast_path=fast) for fast in (True, False)]
        torch.testing.assert_close(phis[0], phis[1])
        post = [expected_gradients(model, x, refs, n_samples=6, seed=1, fast_path=fast)
                for fast in (True, False)]
        torch.testing.assert_close(post[0].attributions, post[1].attributions)
