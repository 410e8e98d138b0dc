"""Shared pieces of the paper reproductions: the result bundle, data location, MLP training
through the project trainer, paired tests and the area under a masking curve.

Pure computation: arrays and tables in and out, no click and no file writes (the command in
:mod:`aprior_cli.cli.reproduce` writes the results).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import torch

from aprior_cli import interrupt
from aprior_cli.errors import UserInputError

log = logging.getLogger("aprior.reproduce")

DATA_ENV = "APRIOR_SHARED_DATA"


@dataclass
class ExperimentResult:
    """What one reproduction produces.

    Attributes
    ----------
    table
        The results table (written as ``results.tsv``).
    figure
        A matplotlib figure (written as ``figure.png``).
    extra_tables
        Further tables by file stem (e.g. ``paired_tests`` -> ``paired_tests.tsv``).
    summary
        JSON-serialisable settings and headline numbers (``summary.json``).
    """

    table: pd.DataFrame
    figure: Any
    extra_tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


def find_data_dir(data_dir: str | os.PathLike | None, required: Sequence[str]) -> Path:
    """Locate the shared data folder: ``data_dir``, else ``$APRIOR_SHARED_DATA``.

    Parameters
    ----------
    required
        Paths relative to the folder that must exist (checked, first missing one named).
    """
    if data_dir is None:
        env = os.environ.get(DATA_ENV)
        if not env:
            raise UserInputError(f"--data-dir: not given and ${DATA_ENV} is not set; point it "
                                 "at the shared data folder (with nhanes1/, gsea/, humannet/)")
        root, source = Path(env), f"${DATA_ENV}"
    else:
        root, source = Path(data_dir), "--data-dir"
    if not root.is_dir():
        raise UserInputError(f"{source}: {root} is not a directory")
    for rel in required:
        if not (root / rel).exists():
            raise UserInputError(f"{source}: {root / rel} not found (this experiment needs it)")
    return root


def set_threads(threads: int | None) -> None:
    """Limit torch's CPU threads (``None``: ``$SLURM_CPUS_PER_TASK`` when set, else torch's
    choice; see :func:`aprior_cli.device.set_threads`)."""
    from aprior_cli.device import set_threads as _set_threads

    _set_threads(None if threads is None else int(threads))


@dataclass
class MLPSpec:
    """Training settings of one network (mapped onto :class:`TrainConfig`).

    Every protocol setting is explicit here (none is inherited from ``aprior train``'s
    defaults), so an experiment's numbers do not move when those defaults do.
    """

    hidden: tuple[int, ...] = (64, 64)
    task: str = "regression"
    epochs: int = 100
    batch_size: int = 64
    lr: float = 1e-3
    patience: int = 10
    weight_decay: float = 0.0
    warmup_epochs: int = 0
    prior: str = "none"
    attribution: str = "eg"
    lambda_: float | str = 0.0
    k: int = 1
    param_penalty: str = "none"
    param_penalty_layers: str = "all"
    param_penalty_lambda: float = 0.0


def train_mlp(spec: MLPSpec, x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray,
              y_val: np.ndarray, seed: int, prior: Callable | None = None
              ) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Train an MLP with the project trainer (``aprior_cli.training.trainer.Trainer``).

    Parameters
    ----------
    x_train, x_val
        ``(n, p)`` float inputs (already standardised by the caller).
    y_train, y_val
        ``(n,)`` targets (0/1 for ``binary``).
    prior
        ``prior(phi) -> scalar`` for ``spec.prior != "none"`` (built by the caller).

    Returns
    -------
    (model in eval mode, FitResult as a dict with ``best_epoch``, ``lambda_value``,
    ``epochs_run``, ``prior_steps``)
    """
    from aprior_cli.models import build_mlp
    from aprior_cli.training.config import TrainConfig
    from aprior_cli.training.rng import seed_everything
    from aprior_cli.training.tasks import get_task
    from aprior_cli.training.trainer import Trainer

    cfg = TrainConfig(task=spec.task, hidden=list(spec.hidden), prior=spec.prior,
                      attribution=spec.attribution, lambda_=spec.lambda_, k=spec.k,
                      epochs=spec.epochs, batch_size=spec.batch_size, lr=spec.lr,
                      patience=spec.patience, weight_decay=spec.weight_decay,
                      warmup_epochs=min(spec.warmup_epochs, spec.epochs - 1),
                      param_penalty=spec.param_penalty,
                      param_penalty_layers=spec.param_penalty_layers,
                      param_penalty_lambda=spec.param_penalty_lambda, seed=seed, device="cpu")
    task = get_task(spec.task)
    seed_everything(seed)
    model = build_mlp(x_train.shape[1], spec.hidden, 1)
    as_x = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32))  # noqa: E731
    train_log = logging.getLogger("aprior.train")
    old_level = train_log.level
    if not log.isEnabledFor(logging.DEBUG):  # per-epoch lines only with -v
        train_log.setLevel(logging.WARNING)
    try:
        trainer = Trainer(model, task, cfg, as_x(x_train), task.target_tensor(y_train),
                          as_x(x_val), task.target_tensor(y_val),
                          prior=prior if spec.prior != "none" else None, show_progress=False)
        fit = trainer.fit()
    finally:
        train_log.setLevel(old_level)
    model.eval()
    return model, {"best_epoch": fit.best_epoch, "lambda_value": fit.lambda_value,
                   "epochs_run": len(fit.history), "prior_steps": fit.prior_steps}


class ReplicateStore(Protocol):
    """Where finished replicates are kept (e.g. :class:`aprior_cli.io.progress.ProgressStore`)."""

    done: dict[str, Any]

    def add(self, key: str, result: Any) -> None: ...


def map_replicates(function: Callable[..., list[dict[str, Any]]], replicates: int, jobs: int,
                   *args: Any, store: ReplicateStore | None = None) -> list[dict[str, Any]]:
    """``function(*args, rep)`` for ``rep`` in ``range(replicates)``, concatenated in replicate
    order; ``jobs > 1`` runs replicates in that many spawned processes (one torch thread
    each). Results do not depend on ``jobs``: every replicate seeds itself.

    Rows are returned as plain JSON values (numpy scalars as Python numbers), the same whether
    computed now or read back: replicates already in ``store`` (keyed by ``str(rep)``) are not
    run again, and every newly finished one is added to it in replicate order -- what
    ``aprior reproduce --resume`` continues from after an interruption.
    """
    results = {int(k): v for k, v in (store.done if store is not None else {}).items()
               if int(k) < replicates}
    todo = [rep for rep in range(replicates) if rep not in results]

    def finished(rep: int, rows: list[dict[str, Any]]) -> None:
        results[rep] = plain_rows(rows)
        if store is not None:
            store.add(str(rep), results[rep])

    if jobs <= 1 or len(todo) <= 1:
        for rep in todo:
            interrupt.safe_point(f"replicate {rep}")
            finished(rep, function(*args, rep))
        return [row for rep in range(replicates) for row in results[rep]]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("spawn")
    level = logging.getLogger("aprior").getEffectiveLevel()
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=ctx,
                               initializer=_worker_init, initargs=(level,))
    try:
        futures = {rep: pool.submit(function, *args, rep) for rep in todo}
        for rep in todo:
            finished(rep, futures[rep].result())
    except BaseException:  # e.g. a stop signal (aprior_cli.interrupt): do not wait for them
        _stop_workers(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return [row for rep in range(replicates) for row in results[rep]]


def plain_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` as they read back from JSON (numpy scalars -> Python numbers; NaN kept)."""
    def plain(obj: Any) -> Any:
        if isinstance(obj, np.generic):
            return obj.item()
        raise TypeError(f"replicate rows must hold plain values, not {type(obj).__name__}")

    return json.loads(json.dumps(rows, default=plain))


def _stop_workers(pool: Any) -> None:
    """Terminate the worker processes of a ProcessPoolExecutor (pending work is dropped)."""
    if hasattr(pool, "terminate_workers"):  # Python >= 3.14
        pool.terminate_workers()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()


def _worker_init(level: int) -> None:
    """Worker process: one torch thread, ``aprior`` log lines on stderr at ``level``; Ctrl-C
    (sent to the whole foreground process group) is left to the parent, which stops the
    workers."""
    import signal
    import sys

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    set_threads(1)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[aprior] %(message)s"))
    root = logging.getLogger("aprior")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def predict(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    """Model output ``(n,)`` (logit or value) for inputs ``(n, p)``."""
    from aprior_cli.training.trainer import predict as _predict

    return _predict(model, torch.as_tensor(np.asarray(x, dtype=np.float32))).reshape(-1).numpy()


def normalized_auc(x: np.ndarray, y: np.ndarray) -> float:
    """Trapezoidal area under ``y(x)`` divided by ``x[-1]`` (shap's benchmark convention)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0) / x[-1])


def paired_wilcoxon(records: pd.DataFrame, metrics: Sequence[str], reference: str
                    ) -> pd.DataFrame:
    """Paired Wilcoxon signed-rank (and t) tests of every method against ``reference``.

    ``records`` has columns ``method``, ``replicate`` and the metrics; pairs are formed by
    replicate. Uses :func:`aprior_cli.training.compare.paired_tests` (no correction).
    """
    from aprior_cli.training.compare import paired_tests

    rec = records.rename(columns={"replicate": "seed"}).assign(split_id="0")
    return paired_tests(rec, list(metrics), baseline=reference, correction="none")


def replace(obj: Any, **changes: Any) -> Any:
    """``dataclasses.replace`` (re-exported for settings overrides)."""
    return dataclasses.replace(obj, **changes)
