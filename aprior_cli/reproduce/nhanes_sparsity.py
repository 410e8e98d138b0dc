"""Sparsity prior on NHANES I (Erion et al. 2021, Figure 3).

Task: 10-year mortality from NHANES I survival times (``shared/data/nhanes1``;
``NHANESI_subset_y.csv``: ``y > 0`` died at ``y`` years, ``y < 0`` censored at ``|y|``): label 1
when ``0 < y <= 10``, 0 when ``|y| > 10`` (alive at 10 years), rows censored before 10 years
dropped. Features: the 18 columns of ``NHANESI_subset_X.csv`` (poverty index 999 = missing);
mean imputation and standardisation fitted on each replicate's training rows.

Each replicate draws 100 training and 100 validation patients (the rest is the test set) and
trains an MLP 18-512-128-32-1 (binary cross-entropy) per method:

* ``unregularized``;
* ``l1_all_layers`` -- L1 on the weights of every layer;
* ``sparse_group_lasso`` -- SGL (one group per input unit of each layer, alpha 0.5);
* ``l1_gradients`` -- L1 of the mean |input gradient| (Ross et al.);
* ``gini_gradients`` -- -Gini of the mean |input gradient|;
* ``gini_eg`` -- -Gini of the mean |expected gradients| (the sparse attribution prior).

Training follows ``aprior train``'s protocol (Adam lr 1e-4, a 5-epoch plain warm-up, early
stopping on validation loss with patience 30 after it, at most 500 epochs) except weight
decay, which is left out here because the methods compare regularisers. Lambda is chosen per
replicate on the validation ROC AUC over a log grid. Reported per replicate and method: test
ROC AUC, the Gini coefficient of the global attribution ``mean_test |EG|`` (training rows as
references), the kept epoch and the number of prior steps; paired Wilcoxon tests against
``gini_eg``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from aprior_cli.errors import UserInputError
from aprior_cli.reproduce.common import (
    ExperimentResult,
    MLPSpec,
    ReplicateStore,
    map_replicates,
    paired_wilcoxon,
    predict,
    train_mlp,
)

log = logging.getLogger("aprior.reproduce")

X_FILE = "nhanes1/NHANESI_subset_X.csv"
Y_FILE = "nhanes1/NHANESI_subset_y.csv"
REQUIRED = (X_FILE, Y_FILE)
METHODS = ("unregularized", "l1_all_layers", "sparse_group_lasso", "l1_gradients",
           "gini_gradients", "gini_eg")
REFERENCE = "gini_eg"
#: log10 lambda grid ends per method (parameter penalties sum over ~7e4 weights)
GRID_LOG10 = {"l1_all_layers": (-5.0, -1.0), "sparse_group_lasso": (-5.0, -1.0),
              "l1_gradients": (-3.0, 1.0), "gini_gradients": (-3.0, 1.0), "gini_eg": (-3.0, 1.0)}


@dataclass(frozen=True)
class Settings:
    """Size of the experiment (paper: 100 train + 100 validation, MLP 512-128-32)."""

    replicates: int = 20
    n_train: int = 100
    n_val: int = 100
    hidden: tuple[int, ...] = (512, 128, 32)
    grid_points: int = 5
    epochs: int = 500
    patience: int = 30
    batch_size: int = 50
    lr: float = 1e-4
    warmup_epochs: int = 5
    eval_rows: int = 500
    eg_samples: int = 100
    methods: tuple[str, ...] = field(default=METHODS)


FULL = Settings()
QUICK = Settings(replicates=3, hidden=(32, 16), grid_points=2, epochs=15, patience=5, lr=1e-2,
                 warmup_epochs=2, eval_rows=200, eg_samples=20)


def load_nhanes(data_dir: str | Path) -> tuple[pd.DataFrame, np.ndarray]:
    """Features (with NaN for missing; poverty index 999 -> NaN) and 10-year mortality 0/1,
    censored-before-10-years rows removed."""
    root = Path(data_dir)
    x = pd.read_csv(root / X_FILE, index_col=0)
    y = pd.read_csv(root / Y_FILE, index_col=0)["y"]
    if len(x) != len(y):
        raise UserInputError(f"{root / Y_FILE}: {len(y)} rows but {X_FILE} has {len(x)}")
    if "Poverty index" in x.columns:
        x.loc[x["Poverty index"] == 999, "Poverty index"] = np.nan
    label, keep = ten_year_mortality(y.to_numpy(dtype=float))
    return x.loc[keep].reset_index(drop=True), label[keep]


def ten_year_mortality(survival: np.ndarray, horizon: float = 10.0
                       ) -> tuple[np.ndarray, np.ndarray]:
    """``(label (n,), known (n,) bool)``: 1 died within ``horizon`` years, 0 alive at it;
    ``known`` False for rows censored before ``horizon`` (sign convention: ``y > 0`` death
    time, ``y < 0`` censoring time)."""
    died = (survival > 0) & (survival <= horizon)
    alive = np.abs(survival) > horizon
    return died.astype(np.float64), died | alive


def prepare(x: pd.DataFrame, train: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Mean-impute and standardise ``x[rows]`` with statistics of ``x[train]``."""
    values = x.to_numpy(dtype=float)
    mean = np.nanmean(values[train], axis=0)
    filled = np.where(np.isnan(values), mean[None, :], values)
    sd = filled[train].std(0)
    sd = np.where(sd > 1e-12, sd, 1.0)
    return (filled[rows] - mean) / sd


def method_spec(method: str, settings: Settings, lam: float) -> tuple[MLPSpec, object | None]:
    """Training settings and prior of one method at strength ``lam``."""
    from aprior_cli.priors import GiniPrior, L1Prior

    base = MLPSpec(hidden=settings.hidden, task="binary", epochs=settings.epochs,
                   batch_size=settings.batch_size, lr=settings.lr, patience=settings.patience,
                   warmup_epochs=settings.warmup_epochs)  # no weight decay: it is a regulariser
    if method == "unregularized":
        return base, None
    if method in ("l1_all_layers", "sparse_group_lasso"):
        kind = "l1" if method == "l1_all_layers" else "sgl"
        return MLPSpec(**{**base.__dict__, "param_penalty": kind, "param_penalty_layers": "all",
                          "param_penalty_lambda": lam}), None
    prior_name, attribution = {"l1_gradients": ("l1", "grad"), "gini_gradients": ("gini", "grad"),
                               "gini_eg": ("gini", "eg")}[method]
    prior = L1Prior() if prior_name == "l1" else GiniPrior()
    return MLPSpec(**{**base.__dict__, "prior": prior_name, "attribution": attribution,
                      "lambda_": lam}), prior


def lambda_grid(method: str, points: int) -> list[float]:
    """Log grid of strengths (``[0.0]`` for the unregularised model)."""
    if method == "unregularized":
        return [0.0]
    lo, hi = GRID_LOG10[method]
    return [float(v) for v in np.logspace(lo, hi, points)]


def global_gini(model: torch.nn.Module, x_eval: np.ndarray, x_ref: np.ndarray, n_samples: int,
                seed: int) -> float:
    """Gini coefficient of ``mean |EG|`` over ``x_eval`` (references ``x_ref``)."""
    from aprior_cli.attribution import expected_gradients
    from aprior_cli.priors import gini

    phi = expected_gradients(model, torch.as_tensor(x_eval, dtype=torch.float32),
                             torch.as_tensor(x_ref, dtype=torch.float32), n_samples=n_samples,
                             seed=seed).attributions
    return float(gini(phi.abs().mean(0).double()))


def run_replicate(settings: Settings, seed: int, data_dir: str | Path, rep: int
                  ) -> list[dict[str, object]]:
    """One replicate: every method, lambda tuned on validation AUC; one row per method."""
    from aprior_cli.training.tasks import roc_auc

    x, y = load_nhanes(data_dir)
    rng = np.random.default_rng(seed * 10007 + rep)
    perm = rng.permutation(len(y))
    tr = perm[:settings.n_train]
    va = perm[settings.n_train:settings.n_train + settings.n_val]
    te = perm[settings.n_train + settings.n_val:]
    x_tr, x_va, x_te = prepare(x, tr, tr), prepare(x, tr, va), prepare(x, tr, te)
    eval_rows = rng.choice(len(te), min(settings.eval_rows, len(te)), replace=False)
    rows = []
    for method in settings.methods:
        best = None
        for lam in lambda_grid(method, settings.grid_points):
            spec, prior = method_spec(method, settings, lam)
            model, fit = train_mlp(spec, x_tr, y[tr], x_va, y[va], seed=seed + rep, prior=prior)
            val_auc = roc_auc(y[va], predict(model, x_va))
            if best is None or (np.isfinite(val_auc) and val_auc > best[0]):
                best = (val_auc, lam, model, fit)
        assert best is not None
        val_auc, lam, model, fit = best
        test_auc = roc_auc(y[te], predict(model, x_te))
        g = global_gini(model, x_te[eval_rows], x_tr, settings.eg_samples, seed + rep)
        rows.append({"replicate": rep, "method": method, "lambda": lam, "val_auc": val_auc,
                     "test_auc": test_auc, "gini": g, "best_epoch": fit["best_epoch"],
                     "prior_steps": fit["prior_steps"]})
        log.info("replicate %d %s: lambda %.3g val AUC %.3f test AUC %.3f Gini %.3f", rep,
                 method, lam, val_auc, test_auc, g)
    return rows


def run(settings: Settings = FULL, seed: int = 0, data_dir: str | Path = ".", jobs: int = 1,
        store: ReplicateStore | None = None) -> ExperimentResult:
    """Run every replicate (``jobs`` in parallel); ``table``: one row per (replicate, method)
    with the chosen lambda, validation and test ROC AUC and the global-attribution Gini."""
    x, y = load_nhanes(data_dir)
    rows = map_replicates(run_replicate, settings.replicates, jobs, settings, seed, data_dir,
                          store=store)
    table = pd.DataFrame(rows)
    summary_table = (table.groupby("method", sort=False)[["test_auc", "gini", "best_epoch",
                                                           "prior_steps"]]
                     .agg(["mean", "sem"]))
    summary_table.columns = [f"{a}_{b}" for a, b in summary_table.columns]
    summary_table = summary_table.reset_index()
    tests = paired_wilcoxon(table, ["test_auc", "gini"], REFERENCE) \
        if REFERENCE in settings.methods and settings.replicates > 1 else pd.DataFrame()
    summary = {"experiment": "nhanes-sparsity", "settings": {**settings.__dict__},
               "seed": seed, "n_patients": int(len(y)), "n_died_10y": int(y.sum()),
               "mean": summary_table.set_index("method").to_dict(orient="index")}
    return ExperimentResult(table=table, figure=plot(table),
                            extra_tables={"summary": summary_table, "paired_tests": tests},
                            summary=summary)


def plot(table: pd.DataFrame):
    """Test ROC AUC and Gini per method, replicates joined across methods."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = list(dict.fromkeys(table["method"]))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric, label in ((axes[0], "test_auc", "test ROC AUC"),
                              (axes[1], "gini", "Gini of mean |EG|")):
        wide = table.pivot(index="replicate", columns="method", values=metric)[methods]
        for _, r in wide.iterrows():
            ax.plot(range(len(methods)), r.to_numpy(), color="0.8", lw=0.6, zorder=1)
        ax.boxplot([wide[m].dropna().to_numpy() for m in methods], positions=range(len(methods)),
                   widths=0.5)
        ax.set_xticks(range(len(methods)), methods, rotation=30, ha="right")
        ax.set_ylabel(label)
    fig.suptitle("NHANES I 10-year mortality, 100 training patients per replicate")
    fig.tight_layout()
    return fig
