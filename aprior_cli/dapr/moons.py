"""The two-moons-with-nuisance-features experiment of the DAPr paper.

Data (as the paper and the authors' ``data.py``): 1000 points; two informative coordinates
drawn from two interleaving half-circles (scikit-learn's ``make_moons`` geometry) with
N(0, 0.1) noise; p nuisance coordinates N(0, 1); split 20 % train / 40 % validation / 40 % test.
Meta-features of each input column = its mean and standard deviation over the training split
(standardised over the columns); g is linear. f is an MLP with hidden sizes p/2 and p/4 of its
input width (the issue's specification, ``width_divisor=2``; the authors' ``two_moons.py`` uses D/4 and D/8,
``width_divisor=4``), trained with
Adam (lr 5e-4, weight decay 5e-3, batch 32) and early stopping on validation accuracy; g uses
Adam (lr 1e-3). Per p, ``n_datasets`` independent datasets; we report test accuracy mean and
standard error for the plain MLP and for MLP + DAPr (same data, same initialisation).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from aprior_cli import interrupt
from aprior_cli.dapr.fit import FitConfig, evaluate, fit
from aprior_cli.dapr.penalty import build_dapr_prior
from aprior_cli.errors import UserInputError
from aprior_cli.models import build_mlp


def make_moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half-circles: (n, 2) points and (n,) labels 0/1, shuffled.

    Outer moon ``(cos t, sin t)``, inner moon ``(1 - cos t, 0.5 - sin t)``, ``t`` evenly spaced
    on [0, pi], plus N(0, noise^2) on both coordinates.
    """
    n_out = n // 2
    n_in = n - n_out
    t_out = np.linspace(0.0, math.pi, n_out)
    t_in = np.linspace(0.0, math.pi, n_in)
    x = np.vstack([np.column_stack([np.cos(t_out), np.sin(t_out)]),
                   np.column_stack([1.0 - np.cos(t_in), 0.5 - np.sin(t_in)])])
    y = np.concatenate([np.zeros(n_out, dtype=np.int64), np.ones(n_in, dtype=np.int64)])
    x = x + rng.normal(0.0, noise, size=x.shape)
    order = rng.permutation(n)
    return x[order], y[order]


def moons_dataset(n_nuisance: int, *, n: int = 1000, noise: float = 0.1,
                  seed: int = 0) -> dict[str, np.ndarray]:
    """One dataset: ``x`` (n, 2 + n_nuisance) float32, ``y`` (n,), and a 20/40/40 ``split``.

    ``split`` holds 0 (train), 1 (validation), 2 (test) per row.
    """
    rng = np.random.default_rng(seed)
    informative, y = make_moons(n, noise, rng)
    nuisance = rng.standard_normal((n, n_nuisance))
    x = np.hstack([informative, nuisance]).astype(np.float32)
    n_train, n_val = int(round(0.2 * n)), int(round(0.4 * n))
    split = np.full(n, 2, dtype=np.int64)
    perm = rng.permutation(n)
    split[perm[:n_train]] = 0
    split[perm[n_train:n_train + n_val]] = 1
    return {"x": x, "y": y, "split": split}


def moons_meta_features(x_train: np.ndarray) -> pd.DataFrame:
    """Per input column: mean and standard deviation over the training rows (p x 2)."""
    names = [f"x{j}" for j in range(x_train.shape[1])]
    return pd.DataFrame({"mean": x_train.mean(0), "std": x_train.std(0)}, index=names)


def run_one(n_nuisance: int, dataset_seed: int, *, config: FitConfig,
            attribution: str = "signed", width_divisor: int = 2) -> dict[str, float]:
    """Train the plain MLP and MLP + DAPr on one dataset; return their test accuracies.

    The MLP's hidden sizes are ``D // width_divisor`` and ``D // (2 * width_divisor)`` for input
    width ``D = 2 + n_nuisance``.
    """
    data = moons_dataset(n_nuisance, seed=dataset_seed)
    x = torch.from_numpy(data["x"])
    y = torch.from_numpy(data["y"])
    tr, va, te = (torch.from_numpy(data["split"] == k) for k in range(3))
    d_in = x.shape[1]
    hidden = (max(d_in // width_divisor, 1), max(d_in // (2 * width_divisor), 1))
    names = [f"x{j}" for j in range(d_in)]
    results: dict[str, float] = {}
    for method in ("MLP", "DAPr"):
        torch.manual_seed(dataset_seed)
        model = build_mlp(d_in, hidden, n_outputs=2)
        prior = None
        if method == "DAPr":
            meta = moons_meta_features(data["x"][data["split"] == 0])
            prior = build_dapr_prior(meta, names, hidden=(), seed=dataset_seed,
                                     attribution=attribution)
        out = fit(model, x[tr], y[tr], x[va], y[va], config=config, prior=prior,
                  seed=dataset_seed)
        results[method] = evaluate(model, x[te], y[te], "classification")
        results[f"{method}_best_epoch"] = out.best_epoch
    return results


def parse_p_values(text: str) -> list[int]:
    """Parse ``"50,100,200"`` into a list of positive ints (``UserInputError`` otherwise)."""
    try:
        values = [int(v) for v in str(text).split(",") if v.strip()]
    except ValueError as exc:
        raise UserInputError(f"--p: expected comma-separated integers, got {text!r}") from exc
    if not values or any(v < 1 for v in values):
        raise UserInputError(f"--p: expected positive integers, got {text!r}")
    return values


def run_moons(p_values: Sequence[int], n_datasets: int = 5, *, seed: int = 0,
              config: FitConfig | None = None, attribution: str = "signed",
              width_divisor: int = 2, on_run: Callable[[int, int, dict], None] | None = None,
              finished: Mapping[tuple[int, int], dict] | None = None
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the experiment; return (runs, summary).

    ``runs``: one row per (p, dataset, method) with ``test_accuracy`` and ``best_epoch``.
    ``summary``: per (p, method) ``mean_accuracy``, ``sem`` (standard error over datasets,
    ddof=1), ``n_datasets``. ``finished`` maps ``(p, dataset)`` to the :func:`run_one` result
    of an earlier, interrupted invocation with the same settings (not run again: every
    dataset seeds itself, so the result is the same); ``on_run`` is called for the others.
    """
    if n_datasets < 1:
        raise UserInputError(f"--datasets must be >= 1, got {n_datasets}")
    config = config or FitConfig()
    finished = finished or {}
    rows = []
    for p in p_values:
        for d in range(n_datasets):
            dataset_seed = seed * 100_003 + p * 101 + d
            res = finished.get((p, d))
            if res is None:
                interrupt.safe_point(f"moons p={p} dataset {d}")
                res = run_one(p, dataset_seed, config=config, attribution=attribution,
                              width_divisor=width_divisor)
                if on_run is not None:
                    on_run(p, d, res)
            for method in ("MLP", "DAPr"):
                rows.append({"p": p, "dataset": d, "method": method,
                             "test_accuracy": res[method],
                             "best_epoch": res[f"{method}_best_epoch"]})
    runs = pd.DataFrame(rows)
    return runs, summarize_runs(runs)


def summarize_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean test accuracy and its standard error per (p, method)."""
    grouped = runs.groupby(["p", "method"], sort=False)["test_accuracy"]
    summary = grouped.agg(mean_accuracy="mean", n_datasets="count").reset_index()
    std = grouped.std(ddof=1).reset_index(drop=True).fillna(0.0)
    summary["sem"] = std.to_numpy() / np.sqrt(summary["n_datasets"].to_numpy())
    return summary[["p", "method", "mean_accuracy", "sem", "n_datasets"]]
