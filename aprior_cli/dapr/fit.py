"""A minimal, clearly-scoped training loop for the DAPr experiments (two moons, GDSC).

Scope: this loop exists so that :mod:`aprior_cli.dapr.moons` and the drug-response comparison
run without the shared trainer (``aprior_cli.training``), which was not usable when this module
was written. It implements exactly what those experiments need -- mini-batch Adam, a learnable
attribution prior with its own optimiser (schedules ``"joint"``: one backward, both optimisers
step, as in the authors' code; ``"alternating"``: one step of f on task + prior loss, then one
step of g on the prior loss), an optional parameter penalty (L1/L2/MERGE baselines), and early
stopping on the validation metric with the best weights restored. The lead may replace it by the
shared trainer without changing the experiments' numbers' meaning.

Training attributions are expected gradients with k=1 reference per sample taken from the
mini-batch itself (the batch rolled by one) and one uniform interpolation point, differentiable
w.r.t. f's parameters (``create_graph=True``); ``aprior_cli.attribution.training_attributions``
is used when it is available.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

TASKS = ("classification", "regression")
SCHEDULES = ("joint", "alternating")


@dataclass
class FitConfig:
    """Hyper-parameters of :func:`fit` (defaults: the authors' two-moons settings).

    ``lam`` multiplies the attribution prior (the authors use 1); ``penalty_weight`` multiplies
    ``param_penalty``. ``max_epochs`` bounds training; ``patience`` epochs without a better
    validation metric stop it (the best epoch's weights are restored).
    """

    task: str = "classification"
    max_epochs: int = 300
    patience: int = 50
    batch_size: int = 32
    lr: float = 5e-4
    weight_decay: float = 5e-3
    prior_lr: float = 1e-3
    lam: float = 1.0
    penalty_weight: float = 0.0
    schedule: str = "joint"


@dataclass
class FitResult:
    """Outcome of :func:`fit`: best epoch (0-based), its validation metric, per-epoch history."""

    best_epoch: int
    val_metric: float
    history: list[dict] = field(default_factory=list)


def _select(output: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
    if output.ndim == 2 and output.shape[1] > 1:
        return output.gather(1, target.view(-1, 1)).squeeze(1)
    return output.reshape(-1)


def eg_training_attributions(model: nn.Module, x: torch.Tensor, target: torch.Tensor | None,
                             generator: torch.Generator | None = None) -> torch.Tensor:
    """Differentiable expected gradients, k=1: (B, p) attributions for ``target``.

    Reference = the batch rolled by one row; interpolation ``a ~ U(0, 1)`` per sample.
    """
    try:  # the shared EG engine, once it has landed
        from aprior_cli.attribution import training_attributions  # type: ignore[attr-defined]
    except ImportError:
        training_attributions = None
    if training_attributions is not None:
        return training_attributions(model, x, method="eg", k=1, target=target,
                                     generator=generator)
    reference = x.roll(1, dims=0)
    alpha = torch.rand(x.shape[0], 1, generator=generator, dtype=x.dtype, device=x.device)
    point = (reference + alpha * (x - reference)).detach().requires_grad_(True)
    out = _select(model(point), target)
    (grad,) = torch.autograd.grad(out.sum(), point, create_graph=True)
    return (x - reference) * grad


def task_loss(output: torch.Tensor, y: torch.Tensor, task: str) -> torch.Tensor:
    if task == "classification":
        return nn.functional.cross_entropy(output, y)
    return nn.functional.mse_loss(output.reshape(-1), y.reshape(-1))


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, task: str) -> float:
    """Accuracy (classification) or mean squared error (regression) of ``model`` on (x, y)."""
    was_training = model.training
    model.eval()
    out = model(x)
    model.train(was_training)
    if task == "classification":
        return float((out.argmax(1) == y).float().mean())
    return float(((out.reshape(-1) - y.reshape(-1)) ** 2).mean())


def fit(model: nn.Module, x_train: torch.Tensor, y_train: torch.Tensor, x_val: torch.Tensor,
        y_val: torch.Tensor, *, config: FitConfig, prior: nn.Module | None = None,
        param_penalty: Callable[[nn.Module], torch.Tensor] | None = None,
        seed: int = 0) -> FitResult:
    """Train ``model`` (and a learnable ``prior``) in place; restore the best validation epoch.

    Parameters
    ----------
    model
        f: (B, p) -> (B, C) logits (classification, ``y`` LongTensor) or (B,)/(B, 1) (regression).
    x_train, y_train, x_val, y_val
        Tensors; the validation split drives early stopping (accuracy up / MSE down).
    prior
        An attribution prior ``prior(phi (B, p)) -> scalar``; if it has trainable parameters
        (DAPr's g) they get their own Adam optimiser (``config.prior_lr``).
    param_penalty
        ``param_penalty(model) -> scalar`` added with ``config.penalty_weight`` (L1, MERGE ...);
        if it is an ``nn.Module`` with trainable parameters (MERGE's g), they are optimised with
        the prior's optimiser (``config.prior_lr``), jointly.
    seed
        Seeds mini-batch order and the EG interpolation points.
    """
    if config.task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}")
    if config.schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}")
    gen = torch.Generator().manual_seed(seed)
    f_opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    prior_params = [p for p in prior.parameters() if p.requires_grad] if prior is not None else []
    if isinstance(param_penalty, nn.Module):
        prior_params += [p for p in param_penalty.parameters() if p.requires_grad]
    g_opt = torch.optim.Adam(prior_params, lr=config.prior_lr) if prior_params else None
    classification = config.task == "classification"
    better = (lambda a, b: a > b) if classification else (lambda a, b: a < b)
    best = -math.inf if classification else math.inf
    best_state = copy.deepcopy(model.state_dict())
    best_prior = copy.deepcopy(prior.state_dict()) if prior is not None else None
    best_epoch, since = 0, 0
    history: list[dict] = []
    n = x_train.shape[0]
    for epoch in range(config.max_epochs):
        model.train()
        order = torch.randperm(n, generator=gen)
        sums = np.zeros(3)
        for start in range(0, n, config.batch_size):
            idx = order[start:start + config.batch_size]
            if idx.numel() < 2 and prior is not None:
                continue  # a rolled reference needs two rows
            xb, yb = x_train[idx], y_train[idx]
            f_opt.zero_grad()
            if g_opt is not None:
                g_opt.zero_grad()
            loss = task_loss(model(xb), yb, config.task)
            sums[0] += float(loss.detach())
            if param_penalty is not None and config.penalty_weight:
                loss = loss + config.penalty_weight * param_penalty(model)
            if prior is not None and config.lam:
                phi = eg_training_attributions(model, xb, yb if classification else None, gen)
                prior_loss = prior(phi)
                sums[1] += float(prior_loss.detach())
                if config.schedule == "alternating" and prior_params:
                    # f on task + prior with g fixed, then g on the prior with f fixed
                    (loss + config.lam * prior_loss).backward(inputs=list(model.parameters()))
                    f_opt.step()
                    g_opt.zero_grad()
                    prior(phi.detach()).backward(inputs=[p for p in prior.parameters()
                                                         if p.requires_grad])
                    g_opt.step()
                    sums[2] += 1
                    continue
                loss = loss + config.lam * prior_loss
            loss.backward()  # joint: one backward, both optimisers step
            f_opt.step()
            if g_opt is not None:
                g_opt.step()
            sums[2] += 1
        val = evaluate(model, x_val, y_val, config.task)
        history.append({"epoch": epoch, "task_loss": sums[0] / max(sums[2], 1),
                        "prior_loss": sums[1] / max(sums[2], 1), "val_metric": val})
        if not math.isfinite(val):
            break
        if better(val, best):
            best, best_epoch, since = val, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
            if prior is not None:
                best_prior = copy.deepcopy(prior.state_dict())
        else:
            since += 1
            if since >= config.patience:
                break
    model.load_state_dict(best_state)
    if prior is not None and best_prior is not None:
        prior.load_state_dict(best_prior)
    return FitResult(best_epoch=best_epoch, val_metric=float(best), history=history)
