"""Training-time attributions: exact values, double back-propagation (gradcheck), misuse."""

import pytest
import torch
from torch import nn
from torch.func import functional_call

from aprior_cli.attribution import training_attributions
from aprior_cli.errors import UserInputError


def _mlp(p=4, out=1):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(p, 3), nn.Tanh(), nn.Linear(3, out)).double()


def test_linear_model_eg_uses_k_distinct_in_batch_shifts():
    model = nn.Linear(5, 1).double()
    w = model.weight.detach()[0]
    x = torch.randn(6, 5, dtype=torch.float64)
    k = 5
    phi = training_attributions(model, x, "eg", k=k, generator=torch.Generator().manual_seed(0))
    # with k = B - 1 distinct shifts every other sample is a reference exactly once
    mean_others = (x.sum(0, keepdim=True) - x) / (6 - 1)
    torch.testing.assert_close(phi, w * (x - mean_others))


def test_linear_model_single_shift_is_a_roll():
    model = nn.Linear(3, 1).double()
    w = model.weight.detach()[0]
    x = torch.randn(5, 3, dtype=torch.float64)
    phi = training_attributions(model, x, "eg", k=1, generator=torch.Generator().manual_seed(2))
    candidates = [w * (x - x.roll(s, 0)) for s in range(1, 5)]
    assert sum(torch.allclose(phi, c) for c in candidates) == 1


def test_ig_and_grad_methods():
    model = nn.Linear(3, 1).double()
    w = model.weight.detach()[0]
    x = torch.randn(4, 3, dtype=torch.float64)
    base = torch.randn(3, dtype=torch.float64)
    torch.testing.assert_close(training_attributions(model, x, "ig", k=4, baseline=base),
                               w * (x - base))
    torch.testing.assert_close(training_attributions(model, x, "grad"), w.expand(4, 3))


def test_matches_loop_over_references_for_an_mlp():
    model = _mlp(out=3)
    x = torch.randn(7, 4, dtype=torch.float64)
    target = torch.tensor([0, 1, 2, 2, 1, 0, 1])
    gen = torch.Generator().manual_seed(4)
    phi = training_attributions(model, x, "eg", k=3, target=target, generator=gen,
                                fast_path=False)
    # redo the same draw and evaluate every (sample, shift) on its own
    gen = torch.Generator().manual_seed(4)
    shifts = torch.randperm(6, generator=gen)[:3] + 1
    alpha = torch.rand((3, 7, 1), generator=gen, dtype=torch.float64)
    expected = torch.zeros_like(x)
    for j, s in enumerate(shifts.tolist()):
        ref = x.roll(s, 0)
        for b in range(7):
            z = (ref[b] + alpha[j, b, 0] * (x[b] - ref[b])).requires_grad_(True)
            (g,) = torch.autograd.grad(model(z)[target[b]], z)
            expected[b] += g * (x[b] - ref[b]) / 3
    torch.testing.assert_close(phi, expected)


@pytest.mark.parametrize("fast_path", [True, False])
@pytest.mark.parametrize("method", ["eg", "ig", "grad"])
def test_gradcheck_through_training_attributions(method, fast_path):
    model = _mlp()
    names = [n for n, _ in model.named_parameters()]
    x = torch.randn(5, 4, dtype=torch.float64)

    class Phi(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = model

        def forward(self, inputs):
            gen = torch.Generator().manual_seed(3)  # same shifts and alphas every call
            return training_attributions(self.net, inputs, method, k=2, generator=gen,
                                         fast_path=fast_path)

    wrapper = Phi()

    def f(*params):
        return functional_call(wrapper, {f"net.{n}": p for n, p in zip(names, params, strict=True)},
                               (x,))

    params = tuple(p.detach().clone().requires_grad_(True) for p in model.parameters())
    # the parameters really flow through functional_call (else gradcheck would be vacuous)
    with torch.no_grad():
        assert not torch.allclose(f(*params), f(*(1.1 * p for p in params)))
    # the last bias does not change any attribution
    assert torch.autograd.gradcheck(lambda *p: f(*p, params[-1]), params[:-1])


def test_prior_gradient_reaches_parameters():
    model = _mlp()
    x = torch.randn(8, 4, dtype=torch.float64)
    phi = training_attributions(model, x, "eg", k=2, generator=torch.Generator().manual_seed(0))
    phi.abs().mean(0).square().sum().backward()
    assert model[0].weight.grad.abs().sum() > 0
    assert model[2].weight.grad.abs().sum() > 0


def test_generator_makes_it_deterministic():
    model = _mlp()
    x = torch.randn(8, 4, dtype=torch.float64)
    a = training_attributions(model, x, k=2, generator=torch.Generator().manual_seed(1))
    b = training_attributions(model, x, k=2, generator=torch.Generator().manual_seed(1))
    c = training_attributions(model, x, k=2, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)


@pytest.mark.parametrize(
    ("x", "kwargs", "message"),
    [
        (torch.zeros(4), {}, "shape"),
        (torch.zeros(0, 4), {}, "empty"),
        (torch.zeros(4, 4, dtype=torch.long), {}, "floating"),
        (torch.zeros(1, 4), {}, "batch of >= 2"),
        (torch.zeros(3, 4), {"k": 3}, "more than 3 samples"),
        (torch.zeros(3, 4), {"k": 0}, "positive integer"),
        (torch.zeros(3, 4), {"method": "shap"}, "unknown attribution method"),
        (torch.zeros(3, 4), {"target": 1}, "out of range"),
        (torch.zeros(3, 4), {"target": torch.tensor([0, 0])}, "shape"),
        (torch.zeros(3, 4), {"method": "ig", "baseline": torch.zeros(5)}, "baseline"),
        (torch.zeros(3, 4), {"baseline": torch.zeros(4)}, "only used by method 'ig'"),
    ],
)
def test_misuse(x, kwargs, message):
    with pytest.raises(UserInputError, match=message):
        training_attributions(_mlp().float(), x, **kwargs)


def test_multi_output_needs_a_target():
    with pytest.raises(UserInputError, match="3 outputs"):
        training_attributions(_mlp(out=3), torch.zeros(4, 4, dtype=torch.float64))
    with pytest.raises(UserInputError, match="out of range"):
        training_attributions(_mlp(out=3), torch.zeros(4, 4, dtype=torch.float64),
                              target=torch.tensor([0, 1, 3, 0]))


@pytest.mark.gpu
def test_training_cpu_cuda_parity():
    model = _mlp().float()
    x = torch.randn(8, 4)
    cpu = training_attributions(model, x, k=2, generator=torch.Generator().manual_seed(0))
    gpu = training_attributions(model.cuda(), x.cuda(), k=2,
                                generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-4, atol=1e-5)
