"""Multi-layer perceptrons for tabular inputs (genes, then covariates).

``build_mlp`` is the one model factory the trainer and ``aprior attribute`` use; the same
arguments (stored in a run's ``config.yaml``/``model.json``) rebuild the same module, so a saved
``state_dict`` loads with ``weights_only=True``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from aprior_cli.errors import UserInputError

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "softplus": nn.Softplus,
    "sigmoid": nn.Sigmoid,
}


class Standardize(nn.Module):
    """Per-feature ``(x - mean) / std`` with statistics stored as buffers.

    Fitted on the training split by the trainer, saved with the weights, so attributions are
    with respect to the user's (raw) input columns.

    Parameters
    ----------
    n_features
        Number of input columns ``p``.
    """

    def __init__(self, n_features: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("std", torch.ones(n_features))

    def fit(self, x: torch.Tensor) -> Standardize:
        """Set the statistics from ``x`` (N, p); constant columns keep std 1."""
        with torch.no_grad():
            self.mean.copy_(x.mean(0))
            std = x.std(0, unbiased=False)
            self.std.copy_(torch.where(std > 1e-12, std, torch.ones_like(std)))
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def output_size(task: str, n_classes: int | None = None) -> int:
    """Number of model outputs: 1 for regression and binary, ``n_classes`` for multiclass."""
    if task in ("regression", "binary"):
        return 1
    if task == "multiclass":
        if n_classes is None or n_classes < 2:
            raise UserInputError(f"multiclass task needs at least 2 classes, got {n_classes}")
        return int(n_classes)
    raise UserInputError(f"unknown task {task!r}; use regression, binary or multiclass")


def build_mlp(n_inputs: int, hidden: Sequence[int] = (512, 256), n_outputs: int = 1,
              activation: str = "relu", dropout: float = 0.0, batch_norm: bool = False,
              standardize: bool = False) -> nn.Sequential:
    """Build ``[Standardize] -> (Linear -> [BatchNorm1d] -> act -> [Dropout]) * len(hidden) -> Linear``.

    Parameters
    ----------
    n_inputs
        Input columns ``p`` (genes then covariates).
    hidden
        Width of each hidden layer; empty for a linear model.
    n_outputs
        1 for regression/binary (one logit), ``C`` for multiclass (logits).
    activation
        One of :data:`ACTIVATIONS`.
    dropout
        Dropout probability after each hidden activation (0 = none).
    batch_norm
        Insert ``BatchNorm1d`` after each hidden linear layer.
    standardize
        Prepend a :class:`Standardize` layer (fitted by the trainer on the training split).

    Returns
    -------
    torch.nn.Sequential
        Maps (B, n_inputs) to (B, n_outputs).
    """
    if n_inputs < 1:
        raise UserInputError(f"model needs at least one input feature, got {n_inputs}")
    if activation not in ACTIVATIONS:
        raise UserInputError(f"unknown activation {activation!r}; use one of {sorted(ACTIVATIONS)}")
    if not 0.0 <= dropout < 1.0:
        raise UserInputError(f"dropout must be in [0, 1), got {dropout}")
    if any(int(h) < 1 for h in hidden):
        raise UserInputError(f"hidden layer sizes must be positive, got {list(hidden)}")
    layers: list[nn.Module] = []
    if standardize:
        layers.append(Standardize(n_inputs))
    width = n_inputs
    for h in hidden:
        layers.append(nn.Linear(width, int(h)))
        if batch_norm:
            layers.append(nn.BatchNorm1d(int(h)))
        layers.append(ACTIVATIONS[activation]())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = int(h)
    layers.append(nn.Linear(width, n_outputs))
    return nn.Sequential(*layers)
