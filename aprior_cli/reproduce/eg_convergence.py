"""Convergence of expected gradients in the number of samples (Erion et al. 2021, App. C.1).

An MLP (60-32-20-20-1) is trained on the synthetic Correlated Groups 60 data (see
:mod:`aprior_cli.reproduce.attribution_benchmark`); the test rows are explained with EG using
``n`` (reference, alpha) samples, references drawn from the training rows, for ``n`` on a grid
from 10 to 1000, several independent draws (``replicates``) per ``n``. Each estimate is compared
with an independent ``reference_samples`` (1000) estimate:

* ``rel_l2_error`` -- mean over test rows of ``||phi_n - phi_ref|| / ||phi_ref||``;
* ``mean_abs_error`` -- mean over rows and features of ``|phi_n - phi_ref|``;
* ``top10_overlap`` -- mean fraction of each row's 10 largest ``|phi_ref|`` features found
  among the 10 largest ``|phi_n|``.

Because the reference is itself a Monte-Carlo estimate, the error does not reach 0 at
``n = 1000`` (for independent draws the expected squared error is ``sigma^2 (1/n + 1/1000)``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from aprior_cli.reproduce.attribution_benchmark import make_dataset
from aprior_cli.reproduce.common import ExperimentResult, MLPSpec, train_mlp

log = logging.getLogger("aprior.reproduce")

REQUIRED: tuple[str, ...] = ()


@dataclass(frozen=True)
class Settings:
    """Grid of sample counts, the reference estimate's size and the model's training."""

    sample_counts: tuple[int, ...] = (10, 20, 50, 100, 200, 500, 1000)
    reference_samples: int = 1000
    replicates: int = 5
    n_points: int = 1000
    n_explain: int = 100
    epochs: int = 200
    patience: int = 20


FULL = Settings()
QUICK = Settings(sample_counts=(10, 100), reference_samples=200, replicates=2,
                 n_points=200, n_explain=20, epochs=10, patience=5)


def attribution_errors(phi: np.ndarray, phi_ref: np.ndarray, top: int = 10) -> dict[str, float]:
    """Error measures of ``phi`` (N, p) against ``phi_ref`` (N, p) (see module docstring)."""
    diff = phi - phi_ref
    norms = np.linalg.norm(phi_ref, axis=1)
    rel = np.linalg.norm(diff, axis=1) / np.where(norms > 0, norms, 1.0)
    k = min(top, phi.shape[1])
    top_est = np.argsort(-np.abs(phi), axis=1)[:, :k]
    top_ref = np.argsort(-np.abs(phi_ref), axis=1)[:, :k]
    overlap = [len(set(a) & set(b)) / k for a, b in zip(top_est, top_ref, strict=True)]
    return {"rel_l2_error": float(rel.mean()), "mean_abs_error": float(np.abs(diff).mean()),
            "top10_overlap": float(np.mean(overlap))}


def run(settings: Settings = FULL, seed: int = 0, data_dir: object = None) -> ExperimentResult:
    """``table``: one row per (n_samples, replicate) with the error measures."""
    from aprior_cli.attribution import expected_gradients

    x, y = make_dataset("corrgroups60", settings.n_points, seed=seed)
    perm = np.random.default_rng(seed).permutation(len(y))
    test, train = perm[:settings.n_explain], perm[settings.n_explain:]
    n_val = max(2, len(train) // 10)
    spec = MLPSpec(hidden=(32, 20, 20), task="regression", epochs=settings.epochs,
                   batch_size=32, patience=settings.patience)
    model, _ = train_mlp(spec, x[train[n_val:]], y[train[n_val:]], x[train[:n_val]],
                         y[train[:n_val]], seed=seed)
    xt = torch.as_tensor(x[test], dtype=torch.float32)
    refs = torch.as_tensor(x[train], dtype=torch.float32)

    def eg(n: int, s: int) -> np.ndarray:
        return expected_gradients(model, xt, refs, n_samples=n, seed=s).attributions.double() \
            .numpy()

    phi_ref = eg(settings.reference_samples, seed + 999_983)
    rows = []
    for n in settings.sample_counts:
        for rep in range(settings.replicates):
            errs = attribution_errors(eg(n, seed * 7919 + 1000 * rep + n), phi_ref)
            rows.append({"n_samples": int(n), "replicate": rep, **errs})
    table = pd.DataFrame(rows)
    means = table.groupby("n_samples")[["rel_l2_error", "mean_abs_error", "top10_overlap"]] \
        .mean().reset_index()
    summary = {"experiment": "eg-convergence", "settings": settings.__dict__, "seed": seed,
               "mean_by_n": means.set_index("n_samples").to_dict(orient="index")}
    return ExperimentResult(table=table, figure=plot(table, settings.reference_samples),
                            extra_tables={"mean_by_n": means}, summary=summary)


def plot(table: pd.DataFrame, reference_samples: int):
    """Relative error and top-10 overlap versus the number of samples (log x axis)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    means = table.groupby("n_samples").agg(["mean", "std"])
    n = means.index.to_numpy()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, col, label in ((axes[0], "rel_l2_error", "relative L2 error"),
                           (axes[1], "top10_overlap", "top-10 feature overlap")):
        ax.errorbar(n, means[(col, "mean")], yerr=means[(col, "std")].fillna(0), marker="o")
        ax.set_xscale("log")
        ax.set_xlabel("EG samples (reference, alpha pairs) per input")
        ax.set_ylabel(label)
    fig.suptitle(f"Expected gradients versus a {reference_samples}-sample estimate")
    fig.tight_layout()
    return fig
