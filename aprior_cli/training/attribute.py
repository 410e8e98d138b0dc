"""Post-hoc attributions of a trained model and the global feature ranking.

The global importance of feature ``i`` is the mean over samples of ``|phi_i(x)|`` (expected
gradients); rank 1 is the most important feature (ties keep the input column order).

Monte-Carlo error: with the per-attribution standard errors ``sigma_ni`` of the EG estimate,
the standard error of the mean over ``N`` samples of ``|phi_ni|`` is at most
``sqrt(sum_n sigma_ni^2) / N`` (``Var |X| <= Var X``; the samples' estimates use independent
draws). :func:`global_ranking` adds it as ``mc_stderr`` when given the standard errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn


def global_ranking(attributions: np.ndarray, features: Sequence[str],
                   stderr: np.ndarray | None = None) -> pd.DataFrame:
    """Ranking table ``feature, mean_abs_attribution, rank`` sorted by rank.

    Parameters
    ----------
    attributions
        Per-sample attributions (N, p).
    features
        Column names (p,).
    stderr
        Per-attribution Monte-Carlo standard errors (N, p); adds the column ``mc_stderr``
        (upper bound of the s.e. of ``mean_abs_attribution``, see the module docstring).
    """
    attributions = np.asarray(attributions, dtype=float)
    if attributions.ndim != 2 or attributions.shape[1] != len(features):
        raise ValueError(f"attributions of shape {attributions.shape} do not match "
                         f"{len(features)} features")
    importance = np.abs(attributions).mean(0)
    order = np.argsort(-importance, kind="stable")
    table = pd.DataFrame({"feature": [features[i] for i in order],
                          "mean_abs_attribution": importance[order],
                          "rank": np.arange(1, len(features) + 1)})
    if stderr is not None:
        stderr = np.asarray(stderr, dtype=float)
        if stderr.shape != attributions.shape:
            raise ValueError(f"stderr of shape {stderr.shape} does not match the attributions "
                             f"{attributions.shape}")
        mc = np.sqrt(np.square(stderr).sum(0)) / max(1, attributions.shape[0])
        table["mc_stderr"] = mc[order]
    return table


def attribution_unit(model_spec: dict[str, Any], target_column: str = "target") -> str:
    """What one unit of attribution means for a run (``model.json`` spec).

    Attributions add up to ``f(x) - E f(x')``, so their unit is that of the explained output:
    regression -- the target's own units (the run's model predicts in them, whatever the
    ``--target-scaling``); binary -- the logit of the positive class; multiclass -- the logit
    of the explained class.
    """
    task = model_spec.get("task")
    if task == "regression":
        return f"target units ({target_column}; original scale)"
    classes = model_spec.get("classes") or []
    if task == "binary" and len(classes) == 2:
        return f"logit of P({classes[1]}) (positive class {classes[1]!r})"
    return "logit of the explained class"


def completeness_summary(residual: np.ndarray, attributions: np.ndarray) -> dict[str, Any]:
    """Summary of the EG completeness residual ``sum_i phi_i - (f(x) - mean f(x'))``.

    Returns
    -------
    dict
        ``n_samples``, ``mean_abs_residual``, ``max_abs_residual``, ``mean_abs_sum_attribution``
        and ``relative_residual`` (mean |residual| / mean |sum_i phi_i|; it shrinks as
        ``--n-samples`` grows).
    """
    residual = np.asarray(residual, dtype=float)
    total = np.abs(np.asarray(attributions, dtype=float).sum(1))
    mean_total = float(total.mean()) if total.size else float("nan")
    mean_abs = float(np.abs(residual).mean()) if residual.size else float("nan")
    return {"n_samples": int(residual.size), "mean_abs_residual": mean_abs,
            "max_abs_residual": float(np.abs(residual).max()) if residual.size else float("nan"),
            "mean_abs_sum_attribution": mean_total,
            "relative_residual": mean_abs / mean_total if mean_total > 0 else float("nan")}


def attribute(model: nn.Module, x: np.ndarray, references: np.ndarray, n_samples: int = 200,
              target: int | np.ndarray | None = None, chunk_size: int | None = None,
              seed: int = 0, device: torch.device | str = "cpu", return_stderr: bool = False
              ) -> tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected gradients of ``x`` (N, p) against ``references`` (R, p).

    Returns
    -------
    attributions, residual[, stderr]
        (N, p) attributions, the (N,) completeness residuals and, with ``return_stderr``,
        the (N, p) Monte-Carlo standard errors of the attributions.
    """
    from aprior_cli.attribution import expected_gradients

    xt = torch.as_tensor(x, dtype=torch.float32, device=device)
    rt = torch.as_tensor(references, dtype=torch.float32, device=device)
    tgt: Any = target
    if isinstance(target, np.ndarray):
        tgt = torch.as_tensor(target, dtype=torch.long, device=device)
    result = expected_gradients(model, xt, rt, n_samples=n_samples, target=tgt,
                                chunk_size=chunk_size, seed=seed, completeness=True,
                                device=device, return_stderr=return_stderr)
    phi = result.attributions.detach().cpu().numpy()
    res = (result.completeness_residual.detach().cpu().numpy()
           if result.completeness_residual is not None else np.full(len(phi), np.nan))
    if return_stderr:
        return phi, res, result.stderr.detach().cpu().numpy()
    return phi, res
