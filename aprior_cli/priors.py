"""Attribution priors: differentiable penalties on an attribution matrix, and parameter baselines.

Every attribution prior is a callable ``prior(phi) -> scalar tensor`` on attributions ``phi``
``(B, p)`` (expected gradients, integrated gradients or plain gradients -- the prior does not
care which). Most act on the global attribution ``phibar = mean_b |phi_b|`` ``(p,)``:

* :class:`GraphPrior`   ``phibar[idx]^T L phibar[idx]`` with ``L`` a sparse graph Laplacian over
  the features that are graph nodes (``idx``; covariates are simply left out); its scale-free
  :meth:`~GraphPrior.roughness` (``/ phibar^T phibar``, :func:`graph_roughness`) is what to
  compare between models, since the raw value also falls when a model just shrinks;
* :class:`GiniPrior`    ``-Gini(phibar[idx])`` (sparsity), by sorting -- O(p log p);
* :class:`L1Prior`, :class:`L2Prior`  ``sum phibar`` and ``sum phibar**2``;
* :class:`TotalVariationPrior`  anisotropic total variation of each sample's attribution map on a
  ``height x width`` grid (images), each map first divided by its total ``|phi|``.

Any user function of ``phi`` works as a prior too. :func:`make_prior` builds the built-ins by
name; :func:`register_prior` adds user-defined ones. :func:`parameter_penalty` gives the
papers' parameter baselines (L1/L2 on the first or all layers, sparse group lasso); dropout,
the other baseline, is a model option.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse
import torch
from torch import Tensor, nn

from aprior_cli.errors import UserInputError

Prior = Callable[[Tensor], Tensor]


def global_attribution(phi: Tensor) -> Tensor:
    """``phibar = mean over the batch of |phi|``: ``(B, p) -> (p,)``."""
    if not isinstance(phi, Tensor) or phi.dim() != 2 or phi.shape[0] == 0:
        shape = tuple(phi.shape) if isinstance(phi, Tensor) else type(phi).__name__
        raise UserInputError(f"attributions: expected a (batch, features) tensor, got {shape}")
    return phi.abs().mean(0)


def _feature_index(feature_index: Any) -> Tensor | None:
    if feature_index is None:
        return None
    index = torch.as_tensor(np.asarray(feature_index))
    if index.dim() != 1 or index.dtype.is_floating_point or index.dtype == torch.bool:
        raise UserInputError("feature_index: expected a 1-D array of integer column indices")
    index = index.long()
    if index.numel() and int(index.min()) < 0:
        raise UserInputError("feature_index: negative column index")
    return index


class _IndexedPrior(nn.Module):
    """Base: ``phibar`` restricted to ``feature_index`` (all features when ``None``)."""

    def __init__(self, feature_index: Any = None) -> None:
        super().__init__()
        self.register_buffer("feature_index", _feature_index(feature_index))

    def selected(self, phi: Tensor) -> Tensor:
        phibar = global_attribution(phi)
        if self.feature_index is None:
            return phibar
        if self.feature_index.numel() and int(self.feature_index.max()) >= phibar.shape[0]:
            raise UserInputError(
                f"feature_index: refers to column {int(self.feature_index.max())} but the "
                f"attributions have {phibar.shape[0]} features"
            )
        return phibar[self.feature_index.to(phibar.device)]


class GraphPrior(_IndexedPrior):
    """``phibar[idx]^T L phibar[idx]`` with a sparse Laplacian ``L`` ``(q, q)``.

    Parameters
    ----------
    laplacian
        scipy.sparse (or dense array) ``(q, q)``, e.g. ``D - W``; stored as a torch sparse buffer.
    feature_index
        ``(q,)`` input columns of the graph nodes, in the Laplacian's order; ``None`` means the
        graph covers all ``p = q`` features in order.
    """

    def __init__(self, laplacian: Any, feature_index: Any = None) -> None:
        super().__init__(feature_index)
        lap = scipy.sparse.coo_matrix(laplacian)
        if lap.shape[0] != lap.shape[1]:
            raise UserInputError(f"laplacian: expected a square matrix, got shape {lap.shape}")
        if self.feature_index is not None and self.feature_index.numel() != lap.shape[0]:
            raise UserInputError(
                f"feature_index: has {self.feature_index.numel()} entries but the Laplacian "
                f"has {lap.shape[0]} nodes"
            )
        if not np.all(np.isfinite(lap.data)):
            raise UserInputError("laplacian: contains NaN or Inf")
        indices = torch.from_numpy(np.vstack([lap.row, lap.col]).astype(np.int64))
        # float64 master copy: rounding L to float32 here would break L @ 1 = 0 for a
        # float64 caller; each (dtype, device) the attributions come in is converted once
        values = torch.from_numpy(lap.data.astype(np.float64))
        sparse = torch.sparse_coo_tensor(indices, values, lap.shape, check_invariants=True).coalesce()
        self.register_buffer("laplacian", sparse)
        self._converted: dict[tuple[torch.dtype, torch.device], tuple[Tensor, Tensor]] = {}

    def _laplacian_like(self, v: Tensor) -> Tensor:
        """The Laplacian in ``v``'s dtype and device (converted once, then cached)."""
        lap = self.laplacian
        if lap.dtype == v.dtype and lap.device == v.device:
            return lap
        source, converted = self._converted.get((v.dtype, v.device), (None, None))
        if source is not lap:  # first use, or the buffer was replaced (.to(), load_state_dict)
            converted = lap.to(device=v.device, dtype=v.dtype)
            self._converted[(v.dtype, v.device)] = (lap, converted)
        return converted

    def _node_attribution(self, phi: Tensor) -> Tensor:
        v = self.selected(phi)
        n_nodes = self.laplacian.shape[0]
        if v.shape[0] != n_nodes:
            raise UserInputError(
                f"attributions: have {v.shape[0]} features but the graph has {n_nodes} nodes; "
                "give feature_index"
            )
        return v

    def _quadratic_form(self, v: Tensor) -> Tensor:
        return v @ torch.sparse.mm(self._laplacian_like(v), v.unsqueeze(1)).squeeze(1)

    def forward(self, phi: Tensor) -> Tensor:
        return self._quadratic_form(self._node_attribution(phi))

    def roughness(self, phi: Tensor) -> Tensor:
        """Scale-free roughness ``phibar^T L phibar / phibar^T phibar`` (see :func:`graph_roughness`)."""
        v = self._node_attribution(phi)
        return graph_roughness_from(self._quadratic_form(v), v)


def graph_roughness_from(quadratic_form: Tensor, v: Tensor) -> Tensor:
    """``quadratic_form / (v^T v)``; NaN when ``v`` is zero (no attribution to be rough)."""
    norm = v.square().sum()
    safe = torch.where(norm > 0, norm, torch.ones_like(norm))
    return torch.where(norm > 0, quadratic_form / safe, torch.full_like(norm, float("nan")))


def graph_roughness(phibar: Tensor, laplacian: Any) -> Tensor:
    """Scale-free graph roughness of a global attribution: ``v^T L v / v^T v``.

    The raw penalty ``v^T L v`` falls when the whole attribution vector shrinks (a collapsed
    or heavily shrunk model scores well on any graph); dividing by ``v^T v`` leaves only the
    shape: the Rayleigh quotient, between 0 (``v`` constant on every connected component) and
    the largest eigenvalue of ``L`` (for ``D - W``: at most twice the largest weighted degree).
    Lower = smoother on the graph.

    Parameters
    ----------
    phibar
        ``(q,)`` non-negative global attribution of the graph's nodes, in the Laplacian's order.
    laplacian
        ``(q, q)`` scipy.sparse or dense Laplacian.
    """
    prior = GraphPrior(laplacian)
    return prior.roughness(phibar.reshape(1, -1))


def gini(v: Tensor) -> Tensor:
    """Gini coefficient of a non-negative vector ``(p,)`` in O(p log p).

    Equals the pairwise definition ``sum_ij |v_i - v_j| / (2 p sum_i v_i)``: with ``v`` sorted
    ascending, ``sum_ij |v_i - v_j| = 2 sum_i (2 i - p - 1) v_(i)`` (1-based ``i``). Zero for a
    zero vector; differentiable (through the sort).
    """
    if v.dim() != 1 or v.numel() == 0:
        raise UserInputError(f"gini: expected a non-empty 1-D tensor, got shape {tuple(v.shape)}")
    p = v.shape[0]
    ordered = torch.sort(v).values
    ranks = torch.arange(1, p + 1, device=v.device, dtype=v.dtype)
    numerator = ((2 * ranks - p - 1) * ordered).sum()
    denominator = p * v.sum()
    positive = denominator > 0
    # the safe denominator keeps the gradient finite for an all-zero vector
    safe = torch.where(positive, denominator, torch.ones_like(denominator))
    return torch.where(positive, numerator / safe, torch.zeros_like(numerator))


class GiniPrior(_IndexedPrior):
    """Sparsity prior ``-Gini(phibar[idx])`` (minimising it concentrates attribution)."""

    def forward(self, phi: Tensor) -> Tensor:
        return -gini(self.selected(phi))


class L1Prior(_IndexedPrior):
    """``sum_i phibar_i`` over the selected features."""

    def forward(self, phi: Tensor) -> Tensor:
        return self.selected(phi).sum()


class L2Prior(_IndexedPrior):
    """``sum_i phibar_i**2`` over the selected features."""

    def forward(self, phi: Tensor) -> Tensor:
        return self.selected(phi).square().sum()


class TotalVariationPrior(nn.Module):
    """Mean over samples of the anisotropic total variation of normalised attribution maps.

    ``phi`` ``(B, C * height * width)`` (row-major ``C, height, width``) or ``(B, [C,] height,
    width)``. Each sample's map is divided by its total ``|phi|`` (so shrinking all attributions
    does not lower the penalty), then ``sum |vertical differences| + sum |horizontal differences|``.
    """

    def __init__(self, height: int, width: int, eps: float = 1e-12) -> None:
        super().__init__()
        if height < 1 or width < 1:
            raise UserInputError(f"tv prior: height and width must be >= 1, got {height}x{width}")
        self.height, self.width, self.eps = int(height), int(width), eps

    def forward(self, phi: Tensor) -> Tensor:
        pixels = self.height * self.width
        if phi.dim() < 2 or phi.shape[0] == 0 or phi[0].numel() % pixels:
            raise UserInputError(
                f"attributions: shape {tuple(phi.shape)} is not a batch of "
                f"{self.height}x{self.width} maps"
            )
        maps = phi.reshape(phi.shape[0], -1, self.height, self.width)
        maps = maps / maps.abs().sum((1, 2, 3), keepdim=True).clamp_min(self.eps)
        vertical = (maps[:, :, 1:, :] - maps[:, :, :-1, :]).abs().sum((1, 2, 3))
        horizontal = (maps[:, :, :, 1:] - maps[:, :, :, :-1]).abs().sum((1, 2, 3))
        return (vertical + horizontal).mean()


class NoPrior(nn.Module):
    """The zero penalty (keeps the graph connected so ``backward`` works)."""

    def forward(self, phi: Tensor) -> Tensor:
        return phi.sum() * 0.0


_REGISTRY: dict[str, Callable[..., Prior]] = {
    "graph": GraphPrior,
    "gini": GiniPrior,
    "sparsity": GiniPrior,
    "l1": L1Prior,
    "l2": L2Prior,
    "tv": TotalVariationPrior,
    "none": NoPrior,
}


def prior_names() -> list[str]:
    """Names accepted by :func:`make_prior`."""
    return sorted(_REGISTRY)


def register_prior(name: str, factory: Callable[..., Prior]) -> None:
    """Make ``make_prior(name, **kwargs)`` return ``factory(**kwargs)`` (user-defined priors)."""
    _REGISTRY[name] = factory


def make_prior(name: str, **kwargs: Any) -> Prior:
    """Build a prior by name: ``graph`` (laplacian, feature_index), ``gini``/``sparsity``,
    ``l1``, ``l2`` (feature_index), ``tv`` (height, width), ``none``, or a registered one."""
    factory = _REGISTRY.get(name)
    if factory is None:
        raise UserInputError(f"prior: unknown prior {name!r}; choose one of {', '.join(prior_names())}")
    try:
        return factory(**kwargs)
    except TypeError as exc:
        raise UserInputError(f"prior {name!r}: {exc}") from exc


def _linear_weights(model: nn.Module, layers: str) -> list[Tensor]:
    weights = [m.weight for m in model.modules() if isinstance(m, nn.Linear)]
    if not weights:
        raise UserInputError("parameter penalty: the model has no nn.Linear layer")
    if layers == "first":
        return weights[:1]
    if layers == "all":
        return weights
    raise UserInputError(f"parameter penalty: layers must be 'first' or 'all', got {layers!r}")


def parameter_penalty(model: nn.Module, kind: str = "l1", layers: str = "first",
                      alpha: float = 0.5) -> Tensor:
    """Baseline penalties on the weights of the ``nn.Linear`` layers (biases excluded).

    ``kind``: ``"l1"`` (sum |W|), ``"l2"`` (sum W**2) or ``"sgl"`` (sparse group lasso,
    ``(1 - alpha) sum_j sqrt(n_out) ||W[:, j]||_2 + alpha sum |W|`` with one group per input
    unit ``j`` of each layer). ``layers``: ``"first"`` or ``"all"``.
    """
    weights = _linear_weights(model, layers)
    if kind == "l1":
        return sum(w.abs().sum() for w in weights)
    if kind == "l2":
        return sum(w.square().sum() for w in weights)
    if kind == "sgl":
        if not 0.0 <= alpha <= 1.0:
            raise UserInputError(f"parameter penalty: alpha must be in [0, 1], got {alpha}")
        total = 0.0
        for w in weights:
            group_norms = torch.linalg.vector_norm(w, dim=0)
            total = total + (1 - alpha) * (w.shape[0] ** 0.5) * group_norms.sum() \
                + alpha * w.abs().sum()
        return total
    raise UserInputError(f"parameter penalty: kind must be 'l1', 'l2' or 'sgl', got {kind!r}")
