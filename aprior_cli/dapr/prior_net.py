"""g: the network that maps a gene's meta-features to its predicted global importance."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class PriorNet(nn.Module):
    """A linear model (``hidden=()``) or an MLP with ReLU hidden layers.

    Parameters
    ----------
    n_meta
        Number of meta-features m.
    hidden
        Hidden layer sizes, e.g. ``(5, 3)`` as in the authors' AML experiment; ``()`` = linear.

    ``forward(meta (q, m)) -> (q,)`` predicted importance of each gene.
    """

    def __init__(self, n_meta: int, hidden: Sequence[int] = ()) -> None:
        super().__init__()
        if n_meta < 1:
            raise ValueError(f"n_meta must be >= 1, got {n_meta}")
        sizes = [int(n_meta), *[int(h) for h in hidden]]
        if any(h < 1 for h in sizes[1:]):
            raise ValueError(f"hidden sizes must be >= 1, got {tuple(hidden)}")
        layers: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            layers += [nn.Linear(a, b), nn.ReLU()]
        layers.append(nn.Linear(sizes[-1], 1))
        self.layers = nn.Sequential(*layers)
        self.hidden = tuple(int(h) for h in hidden)

    @property
    def is_linear(self) -> bool:
        return not self.hidden

    def forward(self, meta: torch.Tensor) -> torch.Tensor:
        return self.layers(meta).squeeze(-1)
