"""DAPr on a drug-response regression: MLP vs MLP+L1 vs DAPr vs DAPr(noise) (+ baselines).

Protocol (pure; the caller reads the files, e.g. with :mod:`aprior_cli.io.gdsc`):

* samples = cell lines with both expression and a response; features = the genes that have
  meta-features (as the authors' AML script: the gene set is reduced to the overlap, so that
  every input gene is covered by the prior and no gene escapes it);
* ``n_splits`` random 60/20/20 train/validation/test splits; genes z-scored and the response
  standardised with training statistics; MSE reported on the test split in the response's
  original units (LN_IC50^2);
* every method: the same MLP architecture and initialisation per split, Adam, early stopping on
  validation MSE; the penalty weight of MLP+L1 and of DAPr / DAPr(noise) is chosen per split
  from a small grid by validation MSE (same grid size for each, so no method gets more tuning).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
import torch

from aprior_cli.dapr.baselines import MergePrior, MetaAugmentedModel, first_layer_penalty
from aprior_cli.dapr.fit import FitConfig, evaluate, fit
from aprior_cli.dapr.metafeatures import join_meta_features
from aprior_cli.dapr.penalty import build_dapr_prior
from aprior_cli.errors import UserInputError
from aprior_cli.models import build_mlp

METHODS = ("MLP", "MLP+L1", "DAPr", "DAPr(noise)", "MLP+meta-inputs", "MERGE-linear")
DEFAULT_GRIDS = {"MLP+L1": (1e-4, 1e-3, 1e-2), "DAPr": (0.1, 1.0, 10.0),
                 "DAPr(noise)": (0.1, 1.0, 10.0), "MERGE-linear": (1e2, 1e3, 1e4)}


def align_samples(expression: pd.DataFrame, response: pd.Series,
                  meta: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series, list[str]]:
    """Keep samples with a response and genes with meta-features; return (X, y, genes)."""
    samples = [s for s in expression.index if s in response.index]
    if len(samples) < 10:
        raise UserInputError(f"only {len(samples)} samples have both expression and response")
    joined = join_meta_features(meta, list(expression.columns), policy="exclude")
    genes = joined.genes
    x = expression.loc[samples, genes].astype(np.float64)
    y = response.loc[samples].astype(np.float64)
    return x, y, genes


def random_split(n: int, seed: int, fractions: tuple[float, float] = (0.6, 0.2)) -> np.ndarray:
    """0 (train) / 1 (validation) / 2 (test) per row, in the given train/validation fractions."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    n_tr, n_va = int(round(fractions[0] * n)), int(round(fractions[1] * n))
    split = np.full(n, 2, dtype=np.int64)
    split[perm[:n_tr]] = 0
    split[perm[n_tr:n_tr + n_va]] = 1
    return split


def _standardise(x: np.ndarray, train: np.ndarray) -> np.ndarray:
    mu = x[train].mean(0)
    sd = x[train].std(0)
    return (x - mu) / np.where(sd > 1e-12, sd, 1.0)


def run_split(x: pd.DataFrame, y: pd.Series, meta: pd.DataFrame, split: np.ndarray, *,
              seed: int, methods: Sequence[str] = METHODS, hidden: Sequence[int] = (128, 64),
              g_hidden: Sequence[int] = (), config: FitConfig | None = None,
              grids: dict[str, Sequence[float]] | None = None) -> list[dict]:
    """Train every method on one split; rows ``method, weight, val_mse, test_mse``.

    A ``predict-mean`` row (the training mean as the prediction) is added as the floor any
    model must beat.
    """
    config = config or FitConfig(task="regression", lr=1e-3, weight_decay=0.0, prior_lr=1e-3,
                                 max_epochs=300, patience=30)
    grids = {**DEFAULT_GRIDS, **(grids or {})}
    tr, va, te = (split == k for k in range(3))
    xs = torch.tensor(_standardise(x.to_numpy(), tr), dtype=torch.float32)
    y_np = y.to_numpy()
    y_mu, y_sd = y_np[tr].mean(), y_np[tr].std()
    ys = torch.tensor((y_np - y_mu) / y_sd, dtype=torch.float32)
    genes = list(x.columns)
    p = len(genes)
    rows = []

    def train_eval(method: str, weight: float) -> dict:
        torch.manual_seed(seed)
        prior = None
        penalty: Callable | torch.nn.Module | None = None
        cfg = replace(config, lam=0.0, penalty_weight=0.0)
        if method == "MERGE-linear":
            model: torch.nn.Module = build_mlp(p, (), n_outputs=1)
            joined = join_meta_features(meta, genes)
            penalty = MergePrior(joined.values, joined.feature_index)
            cfg = replace(cfg, penalty_weight=weight)
        elif method == "MLP+meta-inputs":
            joined = join_meta_features(meta, genes)
            model = MetaAugmentedModel(build_mlp(p + joined.values.shape[1], hidden, 1),
                                       joined.values, joined.feature_index)
        else:
            model = build_mlp(p, hidden, n_outputs=1)
            if method == "MLP+L1":
                penalty = first_layer_penalty
                cfg = replace(cfg, penalty_weight=weight)
            elif method in ("DAPr", "DAPr(noise)"):
                prior = build_dapr_prior(meta, genes, hidden=g_hidden, seed=seed,
                                         noise=method == "DAPr(noise)", attribution="abs")
                cfg = replace(cfg, lam=weight)
        fit(model, xs[tr], ys[tr], xs[va], ys[va], config=cfg, prior=prior,
            param_penalty=penalty, seed=seed)
        return {"method": method, "weight": weight,
                "val_mse": evaluate(model, xs[va], ys[va], "regression") * y_sd ** 2,
                "test_mse": evaluate(model, xs[te], ys[te], "regression") * y_sd ** 2}

    rows.append({"method": "predict-mean", "weight": 0.0,
                 "val_mse": float(((y_np[va] - y_mu) ** 2).mean()),
                 "test_mse": float(((y_np[te] - y_mu) ** 2).mean())})
    for method in methods:
        if method not in METHODS:
            raise UserInputError(f"unknown method {method!r}; use {', '.join(METHODS)}")
        candidates = [train_eval(method, w) for w in grids.get(method, (0.0,))]
        best = min(candidates, key=lambda r: r["val_mse"])
        rows.append(best)
    return rows


def drug_response_comparison(expression: pd.DataFrame, response: pd.Series, meta: pd.DataFrame,
                             *, n_splits: int = 5, seed: int = 0,
                             methods: Sequence[str] = METHODS, **kwargs) -> pd.DataFrame:
    """Run :func:`run_split` on ``n_splits`` random splits; one row per (split, method)."""
    x, y, _ = align_samples(expression, response, meta)
    rows = []
    for s in range(n_splits):
        split = random_split(len(y), seed * 1000 + s)
        for row in run_split(x, y, meta, split, seed=seed * 1000 + s, methods=methods, **kwargs):
            rows.append({"split": s, **row, "n_train": int((split == 0).sum()),
                         "n_test": int((split == 2).sum()), "n_genes": x.shape[1]})
    return pd.DataFrame(rows)


def summarize_comparison(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean test MSE, its standard error over splits, and wins vs the plain MLP per method."""
    mlp = runs[runs["method"] == "MLP"].set_index("split")["test_mse"]
    out = []
    for method, sub in runs.groupby("method", sort=False):
        mse = sub["test_mse"].to_numpy()
        paired = sub.set_index("split")["test_mse"].reindex(mlp.index)
        out.append({"method": method, "mean_test_mse": mse.mean(),
                    "sem": mse.std(ddof=1) / np.sqrt(len(mse)) if len(mse) > 1 else 0.0,
                    "splits_better_than_MLP": int((paired < mlp).sum()),
                    "n_splits": len(mse)})
    return pd.DataFrame(out)
