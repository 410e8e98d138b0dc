"""Data-sized guidance lines (aprior_cli.training.guidance)."""

from __future__ import annotations

import numpy as np

from aprior_cli.models import build_mlp
from aprior_cli.training.guidance import (
    PARAMS_PER_ROW,
    capacity_warning,
    count_parameters,
    mean_predictor_warning,
)


def test_parameter_count_matches_torch():
    for hidden in ([512, 256], [32], []):
        model = build_mlp(708, hidden, 1)
        torch_count = sum(p.numel() for p in model.parameters() if p.requires_grad)
        assert count_parameters(708, hidden, 1) == torch_count


def test_capacity_line_names_what_happened_and_what_to_try():
    line = capacity_warning(494_593, 54, best_epoch=2, epochs_trained=12, stopped_early=True)
    assert line.startswith("the network has 494,593 parameters for 54 training rows (9,159 per "
                           "row) and early stopping kept epoch 2 of 12")
    for option in ("--lr", "--hidden", "--weight-decay", "--patience"):
        assert option in line
    only_early = capacity_warning(100, 50, best_epoch=1, epochs_trained=11, stopped_early=True)
    assert only_early.startswith("early stopping kept epoch 1 of 11")
    assert capacity_warning(PARAMS_PER_ROW * 50, 50) is None  # at the threshold: quiet
    assert capacity_warning(PARAMS_PER_ROW * 50 + 1, 50).startswith("the network has")
    # a late kept epoch, or no early stopping (no validation set), is fine
    assert capacity_warning(100, 50, best_epoch=4, epochs_trained=14, stopped_early=True) is None
    assert capacity_warning(100, 50, best_epoch=2, epochs_trained=2, stopped_early=False) is None


def test_mean_predictor_line():
    assert mean_predictor_warning(1.2, 1.0).startswith("the kept model predicts the validation "
                                                      "samples no better than the training mean")
    assert mean_predictor_warning(0.8, 1.0) is None
    assert mean_predictor_warning(None, 1.0) is None
    assert mean_predictor_warning(np.nan, 1.0) is None
