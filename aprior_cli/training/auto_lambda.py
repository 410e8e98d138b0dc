"""``lambda: auto`` -- the prior strength at which ``lambda * Omega`` is a fixed fraction
(:data:`AUTO_FRACTION`) of the task loss, measured where the prior starts to act.

Where: in the joint schedule after the plain warm-up (``warmup_epochs``; with no warm-up, on
the initial model -- rarely what is wanted, a random network's attributions say little), in
the fine-tune schedule on the trained model at the start of the fine-tune phase.

How: over the first ``max_batches`` mini-batches of ``batch_size`` training rows (in row
order), with the model in attribution mode (dropout off), the mean task loss and the mean
prior value of the batches' training-time attributions (``k`` in-batch references, a
generator seeded with ``seed + 2``) give
``lambda = AUTO_FRACTION * mean task loss / |mean Omega|``.

Why a fraction: after the warm-up the task loss is still far above what training reaches
(the model fits its training rows within tens of epochs), so ``lambda * Omega = task loss``
gives a prior that dominates the rest of training -- on the simulated study it chose lambda
29-140, 10-50x above the validation-best lambda, and lost most of the accuracy. The fraction
was set by measurement (docs/training.md, "lambda auto"); ``auto`` is a starting point, not a
substitute for choosing lambda on validation.
"""

from __future__ import annotations

import logging
import math

import torch
from torch import nn

from aprior_cli.attribution import attribution_mode, training_attributions
from aprior_cli.training.tasks import Task

log = logging.getLogger("aprior.train")

#: mini-batches the calibration averages over (fewer when the training set is smaller)
MAX_BATCHES = 8
#: lambda * Omega / task loss at the calibration point
AUTO_FRACTION = 0.05


def calibrate_lambda(model: nn.Module, task: Task, prior, x: torch.Tensor, y: torch.Tensor, *,
                     method: str, k: int, batch_size: int, seed: int,
                     batch_norm_mode: str = "eval", max_batches: int = MAX_BATCHES) -> float:
    """``lambda`` with ``lambda * mean Omega = AUTO_FRACTION * mean task loss`` (module docstring).

    Parameters
    ----------
    x, y
        Training inputs ``(n, p)`` and targets.
    method, k
        Attribution method and references per sample, as in training.
    batch_norm_mode
        Batch-norm statistics of the attribution pass (``train`` or ``eval``).

    Returns
    -------
    float
        The calibrated lambda; 1.0 (with a warning) when the prior is ~0 or not finite.
    """
    gen = torch.Generator().manual_seed(seed + 2)
    losses, omegas = [], []
    n = x.shape[0]
    for start in range(0, min(n, batch_size * max_batches), batch_size):
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        if xb.shape[0] < 2:
            break
        with attribution_mode(model):
            losses.append(float(task.loss(model(xb), yb).detach()))
        phi = training_attributions(model, xb, method=method, k=min(k, xb.shape[0] - 1),
                                    target=task.attribution_target(yb), generator=gen,
                                    batch_norm=batch_norm_mode)
        omegas.append(float(prior(phi).detach()))
    task_loss = sum(losses) / len(losses) if losses else float("nan")
    omega = sum(omegas) / len(omegas) if omegas else float("nan")
    if not math.isfinite(omega) or abs(omega) < 1e-12 or not math.isfinite(task_loss):
        log.warning("lambda auto: prior value %.3g; using lambda = 1", omega)
        return 1.0
    value = AUTO_FRACTION * task_loss / abs(omega)
    log.info("lambda auto: %g x task loss %.4g / prior %.4g over %d batch(es) -> lambda = %.4g",
             AUTO_FRACTION, task_loss, omega, len(losses), value)
    return value
