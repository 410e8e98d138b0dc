"""Explaining g itself: why does DAPr think a gene matters?

* :func:`predicted_importance_table` -- ``gene, g_M, rank`` (rank 1 = highest predicted).
* :func:`second_order_attributions` -- expected gradients of g over the meta-features, one row
  per gene, with the (q, m) meta-feature matrix as both the explained inputs and the reference
  distribution: ``sum_k EG_jk ~= g(M_j) - mean_l g(M_l)`` (completeness).
* :func:`partial_dependence` -- for each meta-feature k and grid value v,
  ``PD_k(v) = mean_j g(M_j with column k set to v)`` (Friedman's partial dependence; the other
  meta-features stay at each gene's observed values).
* :func:`second_order_summary` -- one signed row per meta-feature: does it raise or lower
  predicted importance (the slope of its EG contribution on its value), how large its share
  of g's variation is, and its Spearman correlation with g(M).
* :func:`g_weights_table` -- g's parameters in long form.
* :func:`dapr_output_tables` -- all of the above for a run directory.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import torch
from torch import nn

from aprior_cli.dapr.penalty import DAPrPrior


def _cpu_copy(net: nn.Module) -> nn.Module:
    """An evaluation-mode CPU copy of ``net`` (the original is left untouched)."""
    return copy.deepcopy(net).cpu().eval()


def predicted_importance_table(prior: DAPrPrior) -> pd.DataFrame:
    """``gene, g_M, rank`` sorted by rank (1 = largest predicted importance)."""
    g = prior.predicted_importance().cpu().numpy().astype(np.float64)
    table = pd.DataFrame({"gene": prior.genes, "g_M": g})
    table["rank"] = table["g_M"].rank(ascending=False, method="first").astype(int)
    return table.sort_values("rank").reset_index(drop=True)


def _eg_fallback(net: nn.Module, inputs: torch.Tensor, references: torch.Tensor,
                 n_samples: int, seed: int) -> torch.Tensor:
    """Expected gradients of a single-output net: (N, m) (used only without the shared engine)."""
    gen = torch.Generator().manual_seed(seed)
    n = inputs.shape[0]
    ref_idx = torch.randint(0, references.shape[0], (n, n_samples), generator=gen)
    alpha = torch.rand(n, n_samples, 1, generator=gen)
    ref = references[ref_idx]                                 # (N, S, m)
    delta = inputs.unsqueeze(1) - ref
    point = (ref + alpha * delta).reshape(-1, inputs.shape[1]).requires_grad_(True)
    (grad,) = torch.autograd.grad(net(point).sum(), point)
    return (delta * grad.reshape(n, n_samples, -1)).mean(1)


def second_order_attributions(prior: DAPrPrior, *, n_samples: int = 200,
                              seed: int = 0) -> pd.DataFrame:
    """EG of g over meta-features for every penalised gene.

    Returns
    -------
    DataFrame
        ``gene, g_M, rank, <one column per meta-feature>, completeness_residual`` where the
        meta-feature columns hold the attributions (units of g) and the residual is
        ``sum_k EG_jk - (g(M_j) - mean_l g(M_l))`` (Monte-Carlo error; exactly 0 in
        expectation, and 0 for a linear g up to reference sampling).
    """
    net_cpu = _cpu_copy(prior.net)  # the prior itself stays where it is (e.g. on CUDA)
    meta = prior.meta.detach().float().cpu()
    try:
        from aprior_cli.attribution import expected_gradients
    except ImportError:
        expected_gradients = None
    if expected_gradients is not None:
        result = expected_gradients(net_cpu, meta, meta, n_samples=n_samples, target=None,
                                    seed=seed)
        phi = result.attributions.detach().cpu()
    else:
        phi = _eg_fallback(net_cpu, meta, meta, n_samples, seed).detach()
    with torch.no_grad():
        g = net_cpu(meta).reshape(-1)
        residual = phi.sum(1) - (g - g.mean())
    table = pd.DataFrame(phi.numpy().astype(np.float64), columns=prior.meta_columns)
    table.insert(0, "gene", prior.genes)
    table.insert(1, "g_M", g.numpy().astype(np.float64))
    table.insert(2, "rank", table["g_M"].rank(ascending=False, method="first").astype(int))
    table["completeness_residual"] = residual.numpy().astype(np.float64)
    return table.sort_values("rank").reset_index(drop=True)


#: genes (by g(M)) whose mean signed contributions the summary reports
SUMMARY_TOP = 20


def second_order_summary(prior: DAPrPrior, second_order: pd.DataFrame,
                         top: int = SUMMARY_TOP) -> pd.DataFrame:
    """Signed summary of the second-order EG: per meta-feature, which way it moves g.

    An unsigned share (mean |EG|) alone would give the meta-feature that drives importance
    the largest share even when g's relation to it is inverted; so every row carries the
    direction.

    Parameters
    ----------
    prior
        The DAPr prior (its standardised meta-features ``meta`` (q, m)).
    second_order
        :func:`second_order_attributions` of the same prior.
    top
        The top genes by g(M) for ``top_genes_mean_contribution``.

    Returns
    -------
    DataFrame
        ``meta_feature, effect`` (least-squares slope of the meta-feature's EG contribution
        on its standardised value, units of g per standard deviation; equals the weight of a
        linear g), ``direction`` (``raises`` / ``lowers`` predicted importance, ``none`` when
        the effect is below 1e-9 of g's spread), ``spearman_with_g`` (rank correlation of
        the meta-feature with g(M) over genes), ``mean_abs_contribution``, ``share`` (of the
        summed mean |contribution|), ``top_genes_mean_contribution`` (mean signed
        contribution over the ``top`` genes by g(M): > 0 = it pushes them up); sorted by
        ``share``.
    """
    from scipy.stats import spearmanr

    meta = pd.DataFrame(prior.meta.detach().cpu().double().numpy(), columns=prior.meta_columns)
    meta.insert(0, "gene", prior.genes)
    joined = second_order.merge(meta, on="gene", suffixes=("", "__value"))
    g = joined["g_M"].to_numpy(dtype=float)
    spread = float(np.std(g)) or 1.0
    top_rows = joined.nsmallest(min(top, len(joined)), "rank")
    rows = []
    for name in prior.meta_columns:
        contribution = joined[name].to_numpy(dtype=float)
        value = joined[f"{name}__value"].to_numpy(dtype=float)
        centred = value - value.mean()
        denom = float(centred @ centred)
        effect = float(centred @ contribution / denom) if denom > 0 else 0.0
        rho = spearmanr(value, g).statistic if denom > 0 and np.ptp(g) > 0 else np.nan
        direction = ("none" if abs(effect) < 1e-9 * spread
                     else "raises" if effect > 0 else "lowers")
        rows.append({"meta_feature": name, "effect": effect, "direction": direction,
                     "spearman_with_g": float(rho),
                     "mean_abs_contribution": float(np.abs(contribution).mean()),
                     "top_genes_mean_contribution": float(top_rows[name].mean())})
    table = pd.DataFrame(rows)
    total = table["mean_abs_contribution"].sum()
    table.insert(5, "share", table["mean_abs_contribution"] / total if total > 0 else np.nan)
    return table.sort_values("share", ascending=False).reset_index(drop=True)


def partial_dependence(net: nn.Module, meta: torch.Tensor | np.ndarray, *, n_grid: int = 25,
                       columns: list[str] | None = None, center: np.ndarray | None = None,
                       scale: np.ndarray | None = None) -> pd.DataFrame:
    """Partial dependence of g on each meta-feature over its observed range.

    Parameters
    ----------
    net
        g, (n, m) -> (n,).
    meta
        (q, m) meta-features as g sees them (standardised).
    n_grid
        Grid points per meta-feature, evenly spaced from its minimum to maximum (the distinct
        values when a column has fewer than ``n_grid`` of them, e.g. a 0/1 indicator).
    columns, center, scale
        Names and the standardisation (``original = value * scale + center``) for the output.

    Returns
    -------
    DataFrame
        ``meta_feature, value (original units), value_standardized, partial_dependence``.
    """
    m_t = torch.as_tensor(np.asarray(meta) if not torch.is_tensor(meta) else meta,
                          dtype=torch.float32).cpu()
    q, m = m_t.shape
    columns = columns or [f"meta_{k}" for k in range(m)]
    center = np.zeros(m) if center is None else np.asarray(center, dtype=np.float64)
    scale = np.ones(m) if scale is None else np.asarray(scale, dtype=np.float64)
    rows = []
    net = _cpu_copy(net)
    with torch.no_grad():
        for k in range(m):
            col = m_t[:, k]
            distinct = torch.unique(col)
            if distinct.numel() <= n_grid:
                grid = distinct
            else:
                grid = torch.linspace(float(col.min()), float(col.max()), n_grid)
            block = m_t.repeat(grid.numel(), 1)               # (G*q, m)
            block[:, k] = grid.repeat_interleave(q)
            pd_values = net(block).reshape(grid.numel(), q).mean(1)
            for v, pdv in zip(grid.tolist(), pd_values.tolist(), strict=True):
                rows.append({"meta_feature": columns[k], "value": v * scale[k] + center[k],
                             "value_standardized": v, "partial_dependence": pdv})
    return pd.DataFrame(rows)


def g_weights_table(prior: DAPrPrior) -> pd.DataFrame:
    """g's parameters: ``parameter, output, input, meta_feature, value``.

    ``meta_feature`` names the input of the first layer (empty elsewhere); a bias has
    ``input = -1``. For a linear g the rows are the weight of each standardised meta-feature
    and the bias.
    """
    rows = []
    first = True
    for name, param in prior.net.named_parameters():
        values = param.detach().cpu().numpy()
        if values.ndim == 2:
            for o in range(values.shape[0]):
                for i in range(values.shape[1]):
                    rows.append({"parameter": name, "output": o, "input": i,
                                 "meta_feature": prior.meta_columns[i] if first else "",
                                 "value": float(values[o, i])})
            first = False
        else:
            for o in range(values.shape[0]):
                rows.append({"parameter": name, "output": o, "input": -1, "meta_feature": "",
                             "value": float(values[o])})
    return pd.DataFrame(rows)


def dapr_output_tables(prior: DAPrPrior, *, n_samples: int = 200, n_grid: int = 25,
                       seed: int = 0) -> dict[str, pd.DataFrame]:
    """All DAPr run-directory tables: ``g_weights``, ``importance``, ``second_order``,
    ``second_order_summary``, ``partial_dependence`` (see
    :func:`aprior_cli.io.dapr_outputs.write_dapr_outputs`)."""
    center = getattr(prior, "meta_center", None)
    scale = getattr(prior, "meta_scale", None)
    second_order = second_order_attributions(prior, n_samples=n_samples, seed=seed)
    return {
        "g_weights": g_weights_table(prior),
        "importance": predicted_importance_table(prior),
        "second_order": second_order,
        "second_order_summary": second_order_summary(prior, second_order),
        "partial_dependence": partial_dependence(prior.net, prior.meta, n_grid=n_grid,
                                                 columns=prior.meta_columns, center=center,
                                                 scale=scale),
    }
