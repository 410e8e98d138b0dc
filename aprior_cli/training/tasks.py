"""Prediction tasks: loss on model outputs and the metrics reported for each split.

* regression: one output, mean squared error loss; metrics ``mse``, ``r2``.
* binary: one logit, ``BCEWithLogits`` loss; metrics ``auc`` (ROC AUC), ``accuracy`` (logit > 0).
* multiclass: ``C`` logits, cross-entropy loss; metric ``accuracy``.

Every task reports ``loss`` too. ``primary_metric`` is the one early stopping can monitor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import rankdata
from torch.nn import functional as F  # noqa: N812

from aprior_cli.errors import UserInputError

TASKS = ("regression", "binary", "multiclass")


def r2_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination ``1 - SS_res / SS_tot`` (NaN when ``y_true`` is constant)."""
    y_true = np.asarray(y_true, dtype=float)
    ss_tot = float(np.sum((y_true - y_true.mean()) ** 2))
    if ss_tot == 0.0:
        return float("nan")
    return 1.0 - float(np.sum((y_true - np.asarray(y_pred, dtype=float)) ** 2)) / ss_tot


def roc_auc(y_true: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC by the Mann-Whitney rank statistic (ties count 1/2); NaN with one class only."""
    y_true = np.asarray(y_true).astype(bool)
    n_pos = int(y_true.sum())
    n_neg = y_true.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(np.asarray(score, dtype=float))
    return float((ranks[y_true].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


@dataclass(frozen=True)
class Task:
    """A prediction task.

    Attributes
    ----------
    name
        ``regression``, ``binary`` or ``multiclass``.
    primary_metric
        Metric name early stopping can monitor (``r2``, ``auc``, ``accuracy``).
    """

    name: str
    primary_metric: str

    def target_tensor(self, y: np.ndarray) -> torch.Tensor:
        """Targets as a tensor: float (N,) for regression/binary, long (N,) for multiclass."""
        if self.name == "multiclass":
            return torch.as_tensor(np.asarray(y), dtype=torch.long)
        return torch.as_tensor(np.asarray(y, dtype=np.float32), dtype=torch.float32)

    def loss(self, output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean loss of ``output`` (B, 1) or (B, C) against ``y`` (B,)."""
        if self.name == "regression":
            return F.mse_loss(output.reshape(-1), y)
        if self.name == "binary":
            return F.binary_cross_entropy_with_logits(output.reshape(-1), y)
        return F.cross_entropy(output, y)

    def attribution_target(self, y: torch.Tensor) -> torch.Tensor | None:
        """Output index to explain: the true class per sample for multiclass, else None."""
        return y if self.name == "multiclass" else None

    def metrics(self, output: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        """Loss and metrics of ``output`` against ``y`` (no gradients)."""
        with torch.no_grad():
            result = {"loss": float(self.loss(output, y))}
            if self.name == "regression":
                pred = output.reshape(-1).cpu().numpy()
                true = y.cpu().numpy()
                result["mse"] = float(np.mean((pred - true) ** 2))
                result["r2"] = r2_score(true, pred)
            elif self.name == "binary":
                logit = output.reshape(-1).cpu().numpy()
                true = y.cpu().numpy()
                result["auc"] = roc_auc(true, logit)
                result["accuracy"] = float(np.mean((logit > 0) == (true > 0.5)))
            else:
                pred = output.argmax(1).cpu().numpy()
                result["accuracy"] = float(np.mean(pred == y.cpu().numpy()))
        return result

    def higher_is_better(self, metric: str) -> bool:
        """Direction of ``metric``: loss/mse lower is better, the rest higher."""
        return metric not in ("loss", "mse")


def get_task(name: str) -> Task:
    """Return the :class:`Task` called ``name``."""
    if name == "regression":
        return Task("regression", "r2")
    if name == "binary":
        return Task("binary", "auc")
    if name == "multiclass":
        return Task("multiclass", "accuracy")
    raise UserInputError(f"--task: unknown task {name!r}; use one of {', '.join(TASKS)}")
