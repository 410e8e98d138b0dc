"""Controls and baselines reported with DAPr (each a documented option).

* **DAPr on noise meta-features** -- ``build_dapr_prior(..., noise=True)``: the joined
  meta-features are replaced by seeded N(0, 1) noise of the same shape (q, m). If DAPr helps
  only through the extra regularisation, not through the meta-features, this control matches it.
* **Meta-features as naive extra inputs** -- :class:`MetaAugmentedModel`. Meta-features describe
  genes, not samples, so appending them to every sample would add constant columns that carry
  no information. The naive use that *does* change the input: append the m meta-feature-weighted
  summaries of each sample's expression, ``s(x) = x[:, genes] @ M / sqrt(q)`` (q genes, M the
  standardised (q, m) meta-features), i.e. for each meta-feature a signature score that weights
  genes by it; the MLP sees ``[x, s(x)]`` and no prior is applied.
* **MERGE-style linear baseline** -- :class:`MergePrior` with a linear model: MERGE (Lee et al.
  2018) puts a Gaussian prior ``w_j ~ N(g(M_j), sigma^2)`` with a *linear* g on the weights of a
  linear model, i.e. the penalty ``mean_j (w_j - g(M_j))^2`` learned jointly; the authors'
  ``train_with_merge_algo`` uses the absolute error, available as ``error="abs"``.
* **MLP with L1 / L2** -- :func:`first_layer_penalty` (L1 = sum |W1|, L2 = sum W1^2 of the first
  layer's weights); the shared ``aprior_cli.priors.parameter_penalty`` covers the trainer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from aprior_cli.dapr.prior_net import PriorNet


class MetaAugmentedModel(nn.Module):
    """``f([x, x[:, genes] @ M / sqrt(q)])``: meta-features given naively as extra inputs.

    Parameters
    ----------
    model
        The MLP; its input width must be ``p + m``.
    meta
        (q, m) standardised meta-features of the genes at ``feature_index``.
    feature_index
        (q,) positions of those genes among the p input columns.
    """

    def __init__(self, model: nn.Module, meta: torch.Tensor | np.ndarray,
                 feature_index: torch.Tensor | np.ndarray) -> None:
        super().__init__()
        meta_t = torch.as_tensor(np.asarray(meta), dtype=torch.float32)
        self.register_buffer("meta", meta_t / math.sqrt(meta_t.shape[0]))
        self.register_buffer("feature_index",
                             torch.as_tensor(np.asarray(feature_index), dtype=torch.long))
        self.model = model

    def augment(self, x: torch.Tensor) -> torch.Tensor:
        """(B, p) -> (B, p + m)."""
        return torch.cat([x, x.index_select(1, self.feature_index) @ self.meta], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(self.augment(x))


class MergePrior(nn.Module):
    """MERGE-style prior on a linear model's weights: ``mean_j err(w_j - g(M_j))``.

    Parameters
    ----------
    meta
        (q, m) standardised meta-features.
    feature_index
        (q,) positions of the genes among the linear model's inputs.
    hidden
        g's hidden sizes; ``()`` (linear g) is MERGE.
    error
        ``"sq"`` (MERGE's Gaussian prior) or ``"abs"`` (the authors' DAPr-repository baseline).

    g's output layer starts at zero (MERGE's prior mean starts at 0, so the penalty begins as
    shrinkage toward 0 rather than toward a random initial g).
    ``forward(model) -> scalar`` penalises the weight of ``model``'s first ``nn.Linear`` (for a
    linear model: its (1, p) weights); g's parameters are learnable (own optimiser).
    """

    def __init__(self, meta: torch.Tensor | np.ndarray, feature_index: torch.Tensor | np.ndarray,
                 hidden: Sequence[int] = (), error: str = "sq") -> None:
        super().__init__()
        if error not in ("sq", "abs"):
            raise ValueError(f"error must be 'sq' or 'abs', got {error!r}")
        meta_t = torch.as_tensor(np.asarray(meta), dtype=torch.float32)
        self.register_buffer("meta", meta_t)
        self.register_buffer("feature_index",
                             torch.as_tensor(np.asarray(feature_index), dtype=torch.long))
        self.net = PriorNet(meta_t.shape[1], hidden)
        with torch.no_grad():  # g starts at 0: the prior starts as plain shrinkage toward 0
            self.net.layers[-1].weight.zero_()
            self.net.layers[-1].bias.zero_()
        self.error = error

    def forward(self, model: nn.Module) -> torch.Tensor:
        weight = linear_weight(model)
        if weight.shape[0] != 1:
            raise ValueError("MergePrior needs a linear model with one output")
        w = weight.reshape(-1).index_select(0, self.feature_index)
        diff = w - self.net(self.meta)
        return (diff ** 2).mean() if self.error == "sq" else diff.abs().mean()


def linear_weight(model: nn.Module) -> torch.Tensor:
    """The weight of the first ``nn.Linear`` in ``model``."""
    for module in model.modules():
        if isinstance(module, nn.Linear):
            return module.weight
    raise ValueError("model has no nn.Linear layer")


def first_layer_penalty(model: nn.Module, kind: str = "l1") -> torch.Tensor:
    """``sum |W1|`` (``"l1"``) or ``sum W1^2`` (``"l2"``) of the first linear layer's weights."""
    w = linear_weight(model)
    if kind == "l1":
        return w.abs().sum()
    if kind == "l2":
        return (w ** 2).sum()
    raise ValueError(f"kind must be 'l1' or 'l2', got {kind!r}")
