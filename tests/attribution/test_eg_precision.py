"""float32 accuracy of post-hoc EG for inputs far from zero, against a float64 reference.

The reference explains the *same* float32 inputs (cast to float64) with the *same*
(reference, alpha) pairs, so the only difference is the arithmetic precision.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from aprior_cli.attribution.posthoc import attribute_pairs, draw_pairs
from aprior_cli.models import build_mlp

P, N, R, S = 60, 8, 30, 40


def _models(offset: float = 0.0):
    torch.manual_seed(3)
    yield "mlp", build_mlp(P, [32, 16], 1, "relu", 0.0, False, False)
    std = build_mlp(P, [32, 16], 1, "tanh", 0.0, False, True)
    std[0].fit(torch.randn(50, P) * 2.0 + offset)
    yield "standardised", std
    yield "two outputs", nn.Sequential(nn.Linear(P, 24), nn.ELU(), nn.Linear(24, 2))


def _relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b).norm() / b.norm())


@pytest.mark.parametrize("offset", [1e3, 1e4])
@pytest.mark.parametrize("stderr", [False, True])
def test_fast_path_keeps_float32_accuracy_far_from_zero(offset, stderr):
    gen = torch.Generator().manual_seed(0)
    x32 = (torch.randn(N, P, generator=gen, dtype=torch.float64) + offset).float()
    r32 = (torch.randn(R, P, generator=gen, dtype=torch.float64) + offset).float()
    idx, alpha = draw_pairs(N, R, S, torch.Generator().manual_seed(1))
    for name, model in _models(offset):
        target = 1 if name == "two outputs" else None
        m64 = _double_copy(model)
        ref = attribute_pairs(m64, x32.double(), r32.double(), idx, alpha.double(), target,
                              fast_path=False, completeness=True)
        got = attribute_pairs(model, x32, r32, idx, alpha, target, return_stderr=stderr,
                              completeness=True, fast_path=True)
        err = _relative_error(got.attributions, ref.attributions)
        assert err < 1e-5, (name, offset, err)
        # the completeness residual comes from the same centred first layer: its error is
        # float32 rounding of the outputs f(x), f(x') themselves (which are large here)
        with torch.no_grad():
            f_scale = float(m64(x32.double()).abs().max())
        res_err = float((got.completeness_residual.double()
                         - ref.completeness_residual).abs().max())
        assert res_err < 1e-5 * f_scale, (name, offset, res_err, f_scale)


def test_fast_path_still_equals_generic_near_zero():
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(N, P, generator=gen)
    r = torch.randn(R, P, generator=gen)
    idx, alpha = draw_pairs(N, R, S, torch.Generator().manual_seed(2))
    for name, model in _models():
        if name == "standardised":
            continue
        target = 0 if name == "two outputs" else None
        fast = attribute_pairs(model, x, r, idx, alpha, target, fast_path=True)
        generic = attribute_pairs(model, x, r, idx, alpha, target, fast_path=False)
        torch.testing.assert_close(fast.attributions, generic.attributions, rtol=1e-4,
                                   atol=1e-6)


def _double_copy(model: nn.Module) -> nn.Module:
    import copy

    twin = copy.deepcopy(model).double()
    return twin
