"""attribution_mode: dropout off and batch-norm on running statistics, flags restored."""

import pytest
import torch
from torch import nn

from aprior_cli.attribution import attribution_mode, expected_gradients, training_attributions


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(8, 1))


def test_flags_set_and_restored_also_on_error():
    model = _model()
    model.train()
    model[3].eval()  # a mixed state must come back exactly
    before = [m.training for m in model.modules()]
    with attribution_mode(model):
        assert not any(m.training for m in model.modules())
    assert [m.training for m in model.modules()] == before
    with pytest.raises(RuntimeError), attribution_mode(model):
        raise RuntimeError("boom")
    assert [m.training for m in model.modules()] == before


def test_training_attributions_ignore_dropout_and_keep_running_stats():
    model = _model().train()
    x = torch.randn(16, 5)
    stats = model[1].running_mean.clone()
    phi1 = training_attributions(model, x, "eg", k=2, generator=torch.Generator().manual_seed(1))
    phi2 = training_attributions(model, x, "eg", k=2, generator=torch.Generator().manual_seed(1))
    # with dropout active the two passes would differ (different masks)
    torch.testing.assert_close(phi1, phi2)
    assert torch.equal(model[1].running_mean, stats)
    assert model.training and model[3].training
    # equals the same computation on an eval-mode model
    phi_eval = training_attributions(model.eval(), x, "eg", k=2,
                                     generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(phi1, phi_eval)


def test_posthoc_restores_mode_and_requires_grad():
    model = _model().train()
    model[0].bias.requires_grad_(False)
    expected_gradients(model, torch.randn(3, 5), torch.randn(4, 5), n_samples=4, seed=0)
    assert model.training
    assert [p.requires_grad for p in model.parameters()] == [True, False] + [True] * 4


def test_batch_norm_train_mode_uses_the_batch_statistics_without_updating_running_ones():
    """``batch_norm="train"``: the prior sees the batch-statistics function the task trains."""
    model = _model().train()
    with torch.no_grad():  # running statistics far from the batch's
        model[1].running_mean.fill_(3.0)
        model[1].running_var.fill_(9.0)
    x = torch.randn(16, 5)
    state = {k: v.clone() for k, v in model[1].state_dict().items()}
    gen = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    phi_train = training_attributions(model, x, "grad", batch_norm="train", generator=gen())
    phi_eval = training_attributions(model, x, "grad", batch_norm="eval", generator=gen())
    assert not torch.allclose(phi_train, phi_eval)  # the two functions differ
    for k, v in model[1].state_dict().items():  # running stats and counter untouched
        assert torch.equal(v, state[k]), k
    assert model[1].momentum == 0.1 and model.training and model[3].training
    # independent computation: input gradient of the batch-statistics function, dropout off
    z = x.clone().requires_grad_(True)
    h = model[0](z)
    h = (h - h.mean(0)) / torch.sqrt(h.var(0, unbiased=False) + model[1].eps)
    out = model[4](torch.relu(h * model[1].weight + model[1].bias)).sum()
    (expected,) = torch.autograd.grad(out, z)
    torch.testing.assert_close(phi_train, expected)
    # an eval-mode model stays on running statistics whatever is asked
    model.eval()
    torch.testing.assert_close(training_attributions(model, x, "grad", batch_norm="train"),
                               phi_eval)
