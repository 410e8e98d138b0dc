"""Regression target scaling: fitted on training rows, reported in original units."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from aprior_cli.attribution import expected_gradients
from aprior_cli.training.target_scaling import OriginalUnits, TargetScaling, metrics_note


def test_fit_uses_the_given_rows_only_and_round_trips():
    rng = np.random.default_rng(0)
    y = 4.0 + 1.3 * rng.normal(size=90)
    train = y[:54]
    s = TargetScaling.fit(train, "standard")
    assert s.mean == pytest.approx(train.mean()) and s.sd == pytest.approx(train.std(ddof=0))
    assert s.n_fitted == 54
    z = s.transform(y)
    assert z[:54].mean() == pytest.approx(0, abs=1e-12) and z[:54].std() == pytest.approx(1)
    np.testing.assert_allclose(s.inverse(z), y)
    assert TargetScaling.from_dict(s.to_dict()) == s
    assert not TargetScaling.fit(train, "none").active
    assert TargetScaling.fit(np.full(5, 2.0), "standard").sd == 1.0  # constant: centred only
    assert TargetScaling.from_dict(None) == TargetScaling()
    assert metrics_note(s, "binary")["method"] == "none"
    assert "original target units" in metrics_note(s, "regression")["metrics_units"]


def _net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 1))


def test_wrapped_model_predicts_and_attributes_in_original_units():
    net = _net()
    s = TargetScaling("standard", mean=4.2, sd=1.7, n_fitted=10)
    wrapped = s.wrap(net)
    assert isinstance(wrapped, OriginalUnits)
    x = torch.randn(8, 6)
    refs = torch.randn(20, 6)
    torch.testing.assert_close(wrapped(x), 4.2 + 1.7 * net(x))
    eg_net = expected_gradients(net, x, refs, n_samples=50, seed=3).attributions
    eg_wrapped = expected_gradients(wrapped, x, refs, n_samples=50, seed=3,
                                    completeness=True)
    # EG is linear in the output and blind to the constant: sd x the network's attributions
    torch.testing.assert_close(eg_wrapped.attributions, 1.7 * eg_net, rtol=1e-5, atol=1e-6)
    # the fast path (first linear layer split off) stays available and agrees
    assert wrapped.split_first_linear() is not None
    generic = expected_gradients(wrapped, x, refs, n_samples=50, seed=3, fast_path=False)
    torch.testing.assert_close(generic.attributions, eg_wrapped.attributions, rtol=1e-4,
                               atol=1e-5)
    assert TargetScaling().wrap(net) is net
