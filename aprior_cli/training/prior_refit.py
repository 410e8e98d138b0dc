"""Refit a learnable prior (DAPr's g) on the kept model's attributions after training.

During training g chases the noisy one-reference attributions of each mini-batch and early
stopping restores it with the model's best epoch, often before it has converged; its
explanation ("which meta-features make a gene important") would then describe neither the
final model nor anything stable. So after the kept weights are restored, g is refitted:

* targets: post-hoc expected gradients of the kept model on (up to ``max_rows``) training
  samples, ``n_references`` training references each (the same engine as ``aprior
  attribute``), fixed;
* objective: the prior's own penalty on those attributions (for DAPr the mean absolute
  difference between ``|phi|`` and ``g(M)``), minimised over g's parameters only (the model is
  not touched);
* optimiser: full-batch Adam from g's trained state, learning rate ``lr`` decayed linearly
  to 0 over ``steps`` steps (so the last iterates settle), stopping earlier when 200
  consecutive steps improve the loss by less than 1e-6 relative.

The report (``steps``, ``loss_before``, ``loss_after``, ``rows``, ``references``) goes to
``metrics.json`` as ``dapr_g_refit_*``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

#: training rows whose attributions g is refitted on (a seeded subset when there are more)
MAX_ROWS = 512
PLATEAU_STEPS = 200
PLATEAU_TOLERANCE = 1e-6


def refit_prior(prior: nn.Module, phi: torch.Tensor, steps: int, lr: float) -> dict[str, Any]:
    """Minimise ``prior(phi)`` over the prior's trainable parameters (``phi`` fixed).

    Parameters
    ----------
    prior
        A learnable prior (``prior(phi) -> scalar``), changed in place.
    phi
        ``(n, p)`` attributions of the kept model (detached).
    steps
        Maximum optimiser steps.
    lr
        Initial Adam learning rate (decays linearly to 0).

    Returns
    -------
    dict with ``steps`` (taken), ``loss_before``, ``loss_after``.
    """
    params = [p for p in prior.parameters() if p.requires_grad]
    phi = phi.detach()
    with torch.no_grad():
        before = float(prior(phi))
    if not params or steps <= 0:
        return {"steps": 0, "loss_before": before, "loss_after": before}
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: max(0.0, 1.0 - i / steps))
    best = before
    since = 0
    taken = 0
    for taken in range(1, steps + 1):  # noqa: B007 - the count is reported
        opt.zero_grad(set_to_none=True)
        loss = prior(phi)
        loss.backward()
        opt.step()
        sched.step()
        value = float(loss.detach())
        if value < best * (1 - PLATEAU_TOLERANCE):
            best, since = value, 0
        else:
            since += 1
            if since >= PLATEAU_STEPS:
                break
    with torch.no_grad():
        after = float(prior(phi))
    return {"steps": taken, "loss_before": before, "loss_after": after}


def refit_on_model(prior: nn.Module, model: nn.Module, x_train: torch.Tensor, target: Any, *,
                   steps: int, lr: float, n_references: int, seed: int) -> dict[str, Any]:
    """Refit ``prior`` on post-hoc EG of ``model`` over (a subset of) the training rows.

    Returns the :func:`refit_prior` report plus ``rows``, ``references`` and
    ``predicted_before`` (the prior's ``predicted_importance()`` before the refit, when it
    has one; not for ``metrics.json``).
    """
    from aprior_cli.attribution import expected_gradients

    n = x_train.shape[0]
    gen = torch.Generator().manual_seed(seed + 3)
    rows = (torch.randperm(n, generator=gen)[:MAX_ROWS].sort().values if n > MAX_ROWS
            else torch.arange(n))
    rows = rows.to(x_train.device)
    tgt = target[rows] if isinstance(target, torch.Tensor) and target.dim() > 0 else target
    phi = expected_gradients(model, x_train[rows], x_train, n_samples=n_references,
                             target=tgt, seed=seed + 3).attributions.detach()
    predicted = getattr(prior, "predicted_importance", None)
    before = predicted().detach().clone() if callable(predicted) else None
    was_training = prior.training
    prior.train()
    try:
        report = refit_prior(prior, phi, steps, lr)
    finally:
        prior.train(was_training)
    return {**report, "rows": int(rows.numel()), "references": int(n_references),
            "predicted_before": before}
