"""Building the configured attribution prior from the config and the data (extension point).

A *prior builder* is ``builder(cfg: TrainConfig, ctx: PriorContext) -> prior`` where ``prior``
is a callable ``phi (B, p) -> scalar tensor`` (an ``nn.Module`` with trainable parameters is a
learnable prior and gets its own optimiser). Builders are registered by name::

    from aprior_cli.training.prior_builders import register_prior_builder

    @register_prior_builder("my-prior")
    def build_my_prior(cfg, ctx):
        ...

The ``--prior`` choices are listed in :data:`aprior_cli.training.config.PRIORS`. Graph priors
only see the feature columns that are graph nodes (``GraphPrior(feature_index=...)``); the
sparsity/L1/L2 priors only the gene columns (covariates are never penalised).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from aprior_cli.errors import UserInputError
from aprior_cli.messages import capped
from aprior_cli.training.config import PRIORS, TrainConfig


@dataclass
class PriorContext:
    """What a prior builder may need.

    Attributes
    ----------
    features
        Model input columns (p,): genes then covariates.
    n_genes
        Number of leading gene columns.
    graph
        The loaded :class:`~aprior_cli.graph.GeneGraph` (``--graph``) or None.
    graph_source
        Its file name, for error messages.
    meta_features
        The meta-feature table (``--meta-features``; first column gene id) or None.
    """

    features: list[str]
    n_genes: int
    graph: Any = None
    graph_source: str = "--graph"
    meta_features: pd.DataFrame | None = None


PriorBuilder = Callable[[TrainConfig, PriorContext], Any]
PRIOR_BUILDERS: dict[str, PriorBuilder] = {}


def register_prior_builder(name: str) -> Callable[[PriorBuilder], PriorBuilder]:
    """Decorator registering ``builder`` under ``name`` (replacing an earlier one)."""

    def deco(builder: PriorBuilder) -> PriorBuilder:
        PRIOR_BUILDERS[name] = builder
        return builder

    return deco


def graph_feature_index(graph: Any, features: Sequence[str], n_genes: int,
                        source: str = "--graph") -> np.ndarray:
    """Positions of ``graph.features`` among the gene columns (q,).

    Raises
    ------
    UserInputError
        A graph node that is not a gene column of the data (covariates are never nodes).
    """
    position = {f: i for i, f in enumerate(features[:n_genes])}
    missing = [f for f in graph.features if f not in position]
    if missing:
        raise UserInputError(f"{source}: {len(missing)} graph feature(s) are not in the "
                             f"expression data, e.g. {capped(missing)} (build "
                             "the graph with aprior graph over this expression's features)")
    return np.array([position[f] for f in graph.features], dtype=np.int64)


def build_graph_prior(graph: Any, features: Sequence[str], n_genes: int,
                      source: str = "--graph") -> Any:
    """``GraphPrior`` over the graph's nodes mapped onto the model's input columns."""
    from aprior_cli.priors import GraphPrior

    index = graph_feature_index(graph, features, n_genes, source)
    return GraphPrior(graph.laplacian, feature_index=index)


@register_prior_builder("graph")
def _graph(cfg: TrainConfig, ctx: PriorContext) -> Any:
    if ctx.graph is None:
        raise UserInputError("--prior graph needs --graph")
    return build_graph_prior(ctx.graph, ctx.features, ctx.n_genes, ctx.graph_source)


def _gene_prior(name: str) -> PriorBuilder:
    def builder(cfg: TrainConfig, ctx: PriorContext) -> Any:
        from aprior_cli.priors import make_prior

        index = np.arange(ctx.n_genes) if ctx.n_genes < len(ctx.features) else None
        return make_prior(name, feature_index=index)

    return builder


for _name in ("gini", "sparsity", "l1", "l2"):
    register_prior_builder(_name)(_gene_prior(_name))


@register_prior_builder("dapr")
def _dapr(cfg: TrainConfig, ctx: PriorContext) -> Any:
    if ctx.meta_features is None:
        raise UserInputError("--prior dapr needs --meta-features")
    try:
        from aprior_cli.dapr.penalty import build_dapr_prior
    except ImportError as exc:
        raise UserInputError("--prior dapr is not available in this installation") from exc
    return build_dapr_prior(ctx.meta_features, ctx.features, hidden=tuple(cfg.dapr_hidden),
                            policy=cfg.dapr_missing, noise=cfg.dapr_noise, seed=cfg.seed,
                            attribution=cfg.dapr_attribution,
                            penalizable=ctx.features[: ctx.n_genes],
                            source=cfg.meta_features or "--meta-features")


def build_prior(cfg: TrainConfig, ctx: PriorContext) -> Any | None:
    """The prior ``cfg.prior`` names (None for ``none``)."""
    if cfg.prior == "none":
        return None
    if cfg.prior not in PRIOR_BUILDERS:
        known = sorted(set(PRIORS) | set(PRIOR_BUILDERS))
        raise UserInputError(f"--prior: unknown prior {cfg.prior!r}; use one of "
                             f"{', '.join(known)}")
    return PRIOR_BUILDERS[cfg.prior](cfg, ctx)
