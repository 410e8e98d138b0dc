"""The optimisers of a training run: the model's and a learnable prior's."""

from __future__ import annotations

import torch
from torch import nn

from aprior_cli.errors import UserInputError
from aprior_cli.training.config import TrainConfig


def make_optimizer(params: list[nn.Parameter], cfg: TrainConfig,
                   lr: float | None = None) -> torch.optim.Optimizer:
    """Adam or SGD (with ``momentum``) over ``params`` as the config says."""
    lr = cfg.lr if lr is None else lr
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=cfg.momentum,
                               weight_decay=cfg.weight_decay)
    raise UserInputError(f"--optimizer: unknown optimiser {cfg.optimizer!r}; use adam or sgd")


#: default learning rate of a learnable prior's optimiser (e.g. DAPr's g) = this x ``lr``
LEARNABLE_PRIOR_LR_FACTOR = 10.0


def learnable_prior_lr(cfg: TrainConfig) -> float:
    """``dapr_lr`` when given, else :data:`LEARNABLE_PRIOR_LR_FACTOR` x ``lr``.

    g sees one (q, m) meta-feature matrix and takes one step per mini-batch, while its targets
    (|phi|, typically 1e-3..1e-2 on standardised expression) start far from its random
    initialisation; at ``lr`` it barely moves before early stopping keeps an early epoch.
    """
    return cfg.dapr_lr if cfg.dapr_lr is not None else LEARNABLE_PRIOR_LR_FACTOR * cfg.lr
