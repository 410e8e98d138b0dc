"""Data-sized guidance: one warning line when a setting does not fit the data.

Checks (each gives at most one line, names the options to change, and is stored in
``metrics.json`` under ``warnings``; none depends on the option defaults):

* **size**: the network has more than :data:`PARAMS_PER_SAMPLE` trainable parameters per
  training row *and* a first hidden layer wider than the training set (the rule of thumb
  measured in docs/training.md);
* **early epoch**: early stopping kept epoch <= :data:`EARLY_EPOCH` -- the model stopped
  improving on validation almost at once (overfitting or a too-large learning rate);
* **mean predictor**: regression whose kept model predicts the validation samples no better
  than the training mean;
* **graph coverage** below 50 % (:func:`aprior_cli.graph_coverage.coverage_warning`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: parameters per training row above which (with a first layer wider than n) we warn
PARAMS_PER_SAMPLE = 100
#: a kept epoch at or below this, with early stopping, is a warning
EARLY_EPOCH = 3


def count_parameters(n_inputs: int, hidden: Sequence[int], n_outputs: int) -> int:
    """Weights and biases of an MLP ``n_inputs -> hidden... -> n_outputs``."""
    sizes = [int(n_inputs), *[int(h) for h in hidden], int(n_outputs)]
    return int(sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True)))


def size_warning(n_params: int, n_train: int, hidden: Sequence[int]) -> str | None:
    """The size check (module docstring)."""
    if n_train <= 0 or not hidden:
        return None
    ratio = n_params / n_train
    if ratio <= PARAMS_PER_SAMPLE or hidden[0] <= n_train:
        return None
    return (f"the network has {n_params:,} parameters for {n_train:,} training rows "
            f"({ratio:,.0f} per row, first hidden layer {hidden[0]} wide): expect it to "
            "overfit within a few epochs; try a smaller --hidden (e.g. "
            f"{suggest_hidden(n_train)}), --weight-decay, --dropout, or a lower --lr")


def suggest_hidden(n_train: int) -> str:
    """A first hidden layer no wider than the training set, in powers of two (>= 8)."""
    width = 8
    while width * 2 <= max(n_train, 8) and width < 512:
        width *= 2
    return str(width)


def early_epoch_warning(best_epoch: int, epochs_trained: int, stopped_early: bool
                        ) -> str | None:
    """The early-epoch check (module docstring)."""
    if not stopped_early or best_epoch > EARLY_EPOCH:
        return None
    return (f"early stopping kept epoch {best_epoch} of {epochs_trained}: validation stopped "
            "improving almost at once; try a lower --lr, a smaller --hidden, more "
            "--weight-decay, or a larger --patience")


def mean_predictor_warning(val_mse: float | None, val_mse_train_mean: float | None
                           ) -> str | None:
    """The mean-predictor check (module docstring)."""
    if val_mse is None or val_mse_train_mean is None:
        return None
    if not (np.isfinite(val_mse) and np.isfinite(val_mse_train_mean)):
        return None
    if val_mse < val_mse_train_mean:
        return None
    return (f"the kept model predicts the validation samples no better than the training "
            f"mean (val MSE {val_mse:.4g} vs {val_mse_train_mean:.4g}); check "
            "--target-scaling, try a lower --lr, a smaller --hidden or more --epochs")


def data_notes(prep: Any) -> dict[str, Any]:
    """Counts and mean-predictor baselines for ``metrics.json`` (original units)."""
    data, split = prep.data, prep.split
    notes: dict[str, Any] = {"n_rows": len(data.samples),
                             "n_samples": len(set(data.samples)),
                             "labels_dropped": int(data.labels_dropped)}
    if prep.cfg.task == "regression":
        train = data.y[split == "train"]
        mean = float(np.mean(train)) if train.size else float("nan")
        for name in ("train", "val", "test"):
            y = data.y[split == name]
            if y.size:
                notes[f"{name}_mse_train_mean"] = float(np.mean((y - mean) ** 2))
    return notes


def pre_fit_warnings(prep: Any) -> list[str]:
    """Warnings known before training: model size, graph coverage."""
    from aprior_cli.graph_coverage import coverage_warning

    out = []
    n_params = count_parameters(len(prep.data.features), prep.cfg.hidden, prep.n_outputs)
    line = size_warning(n_params, int(np.sum(prep.split == "train")), prep.cfg.hidden)
    if line:
        out.append(line)
    if prep.graph_stats:
        line = coverage_warning(prep.graph_stats, "the graph")
        if line:
            out.append(line)
    return out


def post_fit_warnings(metrics: dict[str, Any], fit: Any) -> list[str]:
    """Warnings known after training: early epoch, no better than the training mean."""
    out = []
    if fit is not None:
        line = early_epoch_warning(fit.best_epoch, len(fit.history), fit.stopped_early)
        if line:
            out.append(line)
    line = mean_predictor_warning(metrics.get("val_mse"), metrics.get("val_mse_train_mean"))
    if line:
        out.append(line)
    return out


def fit_warnings(prep: Any, metrics: dict[str, Any], fit: Any) -> list[str]:
    """Every guidance line of a finished run (stored in ``metrics.json``)."""
    return pre_fit_warnings(prep) + post_fit_warnings(metrics, fit)
