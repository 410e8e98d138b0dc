"""Data-sized guidance: one warning line when a setting does not fit the data.

Checks (each gives at most one line, names the options to change, and is stored in
``metrics.json`` under ``warnings``; none depends on the option defaults):

* **capacity**: the network has more than :data:`PARAMS_PER_ROW` trainable parameters per
  training row, or early stopping kept epoch <= :data:`EARLY_EPOCH` (validation stopped
  improving almost at once) -- one line saying which, with the options to try. Measured
  (docs/training.md, "How big a network"): such runs are not necessarily worse (on GDSC
  Olaparib, 54 training lines, hidden 512,256 and 8 gave the same test R²), but their result
  rests on a few early epochs; a lower ``--lr`` gives early stopping room at equal accuracy;
* **mean predictor**: regression whose kept model predicts the validation samples no better
  than the training mean;
* **graph coverage** below 50 % (:func:`aprior_cli.graph_coverage.coverage_warning`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: trainable parameters per training row above which the capacity line is written
PARAMS_PER_ROW = 1000
#: a kept epoch at or below this, with early stopping, is a warning
EARLY_EPOCH = 3


def count_parameters(n_inputs: int, hidden: Sequence[int], n_outputs: int) -> int:
    """Weights and biases of an MLP ``n_inputs -> hidden... -> n_outputs``."""
    sizes = [int(n_inputs), *[int(h) for h in hidden], int(n_outputs)]
    return int(sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True)))


def capacity_warning(n_params: int, n_train: int, best_epoch: int | None = None,
                     epochs_trained: int | None = None, stopped_early: bool = False
                     ) -> str | None:
    """The capacity check (module docstring): one line, or None."""
    ratio = n_params / n_train if n_train > 0 else float("inf")
    big = ratio > PARAMS_PER_ROW
    early = bool(stopped_early) and best_epoch is not None and best_epoch <= EARLY_EPOCH
    if not (big or early):
        return None
    facts = []
    if big:
        facts.append(f"the network has {n_params:,} parameters for {n_train:,} training rows "
                     f"({ratio:,.0f} per row)")
    if early:
        facts.append(f"early stopping kept epoch {best_epoch} of {epochs_trained}")
    consequence = ("the result rests on a few early epochs" if early
                   else "it can fit the training rows exactly, so the result rests on early "
                        "stopping and varies between seeds")
    return (" and ".join(facts) + f": {consequence}; try a lower --lr (e.g. 1e-4), a smaller "
            "--hidden (e.g. 32), --weight-decay or a larger --patience and compare on "
            "validation (an ensemble over seeds: aprior consensus)")


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
            "--target-scaling, try a lower --lr, another --hidden or more --epochs")


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
    """Warnings known before training: graph coverage."""
    from aprior_cli.graph_coverage import coverage_warning

    line = coverage_warning(prep.graph_stats, "the graph") if prep.graph_stats else None
    return [line] if line else []


def post_fit_warnings(prep: Any, metrics: dict[str, Any], fit: Any) -> list[str]:
    """Warnings known after training: capacity / early epoch, no better than the mean."""
    n_params = count_parameters(len(prep.data.features), prep.cfg.hidden, prep.n_outputs)
    n_train = int(np.sum(prep.split == "train"))
    out = [capacity_warning(n_params, n_train,
                            fit.best_epoch if fit is not None else None,
                            len(fit.history) if fit is not None else None,
                            bool(fit is not None and fit.stopped_early)),
           mean_predictor_warning(metrics.get("val_mse"), metrics.get("val_mse_train_mean"))]
    return [line for line in out if line]


def fit_warnings(prep: Any, metrics: dict[str, Any], fit: Any) -> list[str]:
    """Every guidance line of a finished run (stored in ``metrics.json``)."""
    return pre_fit_warnings(prep) + post_fit_warnings(prep, metrics, fit)
