"""The deep attribution prior (DAPr) penalty as a learnable attribution prior.

Formulation (Weinberger, Janizek & Lee, NeurIPS 2020; authors' code
github.com/suinleelab/deep_attribution_priors): with ``phi`` the (B, p) expected-gradients
attributions of the current mini-batch and ``g(M_j)`` the importance g predicts for gene j,

    Omega = mean_{i in batch, j in genes} | a_ij - g(M_j) |

an absolute error on *per-sample* attributions (not on ``phibar``), averaged over samples and
penalised genes. ``a_ij`` depends on ``attribution``:

``"abs"`` (default)
    ``|phi_ij|`` -- the authors' drug-response (AML) script (``eg.abs()``); g predicts a
    magnitude, which is what "importance" means for genes.
``"signed"``
    ``phi_ij`` -- the authors' two-moons script (attributions for the true class).
``"phibar"``
    ``mean_i |phi_ij|`` -- the mean absolute attribution, i.e. ``mean_j |phibar_j - g(M_j)|``
    (not what the authors did; offered because it matches the other priors' ``phibar``).

The module holds the standardised meta-features ``meta`` (q, m) and ``feature_index`` (q,) as
buffers and g as a submodule: it *is* a learnable prior (its parameters are g's), so a trainer
gives ``prior.parameters()`` their own optimiser; joint = one backward, both step.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from aprior_cli.dapr.prior_net import PriorNet

ATTRIBUTION_MODES = ("abs", "signed", "phibar")


class DAPrPrior(nn.Module):
    """``prior(phi (B, p)) -> scalar`` DAPr penalty with a learnable g.

    Parameters
    ----------
    meta
        (q, m) meta-features of the penalised genes (standardised).
    feature_index
        (q,) positions of those genes among the model's p input columns.
    net
        g, mapping (q, m) -> (q,).
    attribution
        ``"abs"``, ``"signed"`` or ``"phibar"`` (see the module docstring).
    genes, meta_columns
        Names for outputs (not used in the computation).
    coverage
        The join report, kept for the run directory's metrics.
    """

    def __init__(self, meta: torch.Tensor | np.ndarray, feature_index: torch.Tensor | np.ndarray,
                 net: PriorNet, *, attribution: str = "abs", genes: Sequence[str] | None = None,
                 meta_columns: Sequence[str] | None = None, coverage: dict | None = None) -> None:
        super().__init__()
        if attribution not in ATTRIBUTION_MODES:
            raise ValueError(f"attribution must be one of {ATTRIBUTION_MODES}, got {attribution!r}")
        meta_t = torch.as_tensor(np.asarray(meta) if not torch.is_tensor(meta) else meta,
                                 dtype=torch.float32)
        index_t = torch.as_tensor(np.asarray(feature_index) if not torch.is_tensor(feature_index)
                                  else feature_index, dtype=torch.long)
        if meta_t.ndim != 2 or index_t.ndim != 1 or meta_t.shape[0] != index_t.shape[0]:
            raise ValueError(f"meta (q, m) and feature_index (q,) disagree: {tuple(meta_t.shape)} "
                             f"vs {tuple(index_t.shape)}")
        self.register_buffer("meta", meta_t)
        self.register_buffer("feature_index", index_t)
        self.net = net
        self.attribution = attribution
        self.genes = list(genes) if genes is not None else [str(i) for i in index_t.tolist()]
        self.meta_columns = (list(meta_columns) if meta_columns is not None
                             else [f"meta_{k}" for k in range(meta_t.shape[1])])
        self.coverage = dict(coverage or {})
        #: standardisation of the meta-features (original = meta * scale + center), for outputs
        self.meta_center = np.zeros(meta_t.shape[1])
        self.meta_scale = np.ones(meta_t.shape[1])

    def predicted(self) -> torch.Tensor:
        """g(M): (q,) predicted importance, differentiable w.r.t. g's parameters."""
        return self.net(self.meta)

    @torch.no_grad()
    def predicted_importance(self) -> torch.Tensor:
        """g(M) as a detached (q,) tensor (for outputs)."""
        return self.net(self.meta).detach()

    def forward(self, phi: torch.Tensor) -> torch.Tensor:
        if phi.ndim != 2:
            raise ValueError(f"phi must be (B, p), got shape {tuple(phi.shape)}")
        selected = phi.index_select(1, self.feature_index)
        if self.attribution == "abs":
            target = selected.abs()
        elif self.attribution == "signed":
            target = selected
        else:
            target = selected.abs().mean(0, keepdim=True)
        return (target - self.predicted().unsqueeze(0)).abs().mean()

    def extra_repr(self) -> str:
        q, m = self.meta.shape
        return f"genes={q}, meta_features={m}, attribution={self.attribution!r}"


def build_dapr_prior(meta_features, feature_names: Sequence[str], *,
                     hidden: Sequence[int] = (), policy: str = "exclude", noise: bool = False,
                     seed: int = 0, attribution: str = "abs",
                     penalizable: Sequence[str] | None = None,
                     source: str = "meta-features") -> DAPrPrior:
    """Join, standardise and wrap a meta-feature table as a :class:`DAPrPrior`.

    Parameters
    ----------
    meta_features
        ``pandas.DataFrame`` genes x meta-features (gene ids in the index, or in the first
        column of a table as read from a file).
    feature_names
        The model's input columns in order (p).
    hidden
        g's hidden layer sizes; ``()`` = linear g.
    policy
        ``"exclude"`` or ``"impute-mean"`` for features without meta-features.
    noise
        The control: replace the joined meta-features by seeded N(0, 1) noise of the same shape.
    seed
        Seeds g's initialisation and the noise.
    attribution
        ``"abs"`` (default), ``"signed"`` or ``"phibar"``.
    penalizable
        Features that may be penalised (default all); exclude covariates here.
    source
        Name for error messages (the file or option the table came from).
    """
    from aprior_cli.dapr.metafeatures import join_meta_features, noise_meta_features

    joined = join_meta_features(meta_features, feature_names, policy=policy,
                                penalizable=penalizable, source=source)
    values = joined.values
    coverage = dict(joined.coverage)
    columns = list(joined.columns)
    if noise:  # the columns are noise now: named so, or g's explanation would read as biology
        values = noise_meta_features(values.shape, seed=seed)
        coverage["noise_control"] = True
        columns = [f"noise_in_place_of_{c}" for c in columns]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = PriorNet(values.shape[1], hidden)
    prior = DAPrPrior(values, joined.feature_index, net, attribution=attribution,
                      genes=joined.genes, meta_columns=columns, coverage=coverage)
    if not noise:
        prior.meta_center = np.asarray(joined.center, dtype=np.float64)
        prior.meta_scale = np.asarray(joined.scale, dtype=np.float64)
    return prior
