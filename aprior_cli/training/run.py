"""One training run from loaded inputs to a trained model, its history and its metrics.

:func:`prepare` validates everything (data alignment, split, graph mapping, prior) before any
training or output happens; :func:`execute` trains; :func:`evaluate` computes the metrics
written to ``metrics.json``:

* ``<split>_<metric>`` for train/val/test (``loss`` and the task's metrics);
* ``test_prior_eg`` / ``test_prior_grad``: the configured prior on the test set's expected
  gradients (``eval_n_samples`` training references per sample) and on its input gradients;
* ``test_graph_penalty_eg`` / ``test_graph_penalty_grad``: ``phibar^T L phibar`` with the
  evaluation graph (``eval_graph``, default ``graph``) -- comparable across methods that
  trained with another graph or none;
* ``test_graph_roughness_eg`` / ``test_graph_roughness_grad``: the scale-free
  ``phibar^T L phibar / phibar^T phibar`` on the same graph (lower = smoother; a model that
  merely shrinks its attributions lowers the raw penalty, not this);
* ``test_gini_eg``: Gini coefficient of the test set's mean |EG| over the gene columns
  (sparsity; scale-free);
* ``warmup_epochs``, ``prior_steps`` (optimiser steps with the prior in the loss up to the
  kept epoch);
* learnable priors with a ``predicted_importance()`` (DAPr): ``dapr_g_spearman``, the
  Spearman correlation of g(M) with the test set's mean |EG| over the penalised genes (how
  well g describes the final model), ``dapr_g_spearman_before_refit`` and
  ``dapr_g_refit_steps`` / ``_loss_before`` / ``_loss_after`` when g was refitted
  (:mod:`~aprior_cli.training.prior_refit`);
* ``prior_coverage``: the prior's coverage report when it has one (DAPr: genes matched to
  the meta-feature table, unmatched examples, policy, number penalised, meta-feature names);
* ``graph_coverage`` (fraction 0-1 of the gene columns with an edge), ``graph_components``,
  ``graph_isolated`` (:mod:`aprior_cli.graph_coverage`) of ``graph`` (else ``eval_graph``);
* ``target_scaling`` (:mod:`aprior_cli.training.target_scaling`): the prediction metrics
  (loss, mse, r2) are in original target units; the attribution-based values (test_prior_*,
  test_graph_penalty_*, test_gini_eg) are those of the network as optimised (training units,
  as in ``history.tsv``); ``{val,test}_mse_train_mean`` is the MSE of predicting the training
  mean (the bar a model must clear);
* ``labels_dropped`` (rows without expression, ``--unmatched-labels drop``), ``n_rows`` /
  ``n_samples`` (they differ when rows are (sample, drug) pairs) and ``warnings`` (the
  data-size guidance lines, :mod:`aprior_cli.training.guidance`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from aprior_cli.errors import UserInputError
from aprior_cli.models import build_mlp, output_size
from aprior_cli.training.config import TrainConfig
from aprior_cli.training.data import TrainingData, align
from aprior_cli.training.paired_rows import sample_splits, split_rows
from aprior_cli.training.prior_builders import PriorContext, build_graph_prior, build_prior
from aprior_cli.training.rng import seed_everything
from aprior_cli.training.target_scaling import TargetScaling, metrics_note
from aprior_cli.training.tasks import Task, get_task
from aprior_cli.training.trainer import FitResult, Trainer

log = logging.getLogger("aprior.train")


@dataclass
class PreparedRun:
    """Validated inputs of one run (nothing trained yet)."""

    cfg: TrainConfig
    data: TrainingData
    split: np.ndarray
    task: Task
    prior: Any
    eval_graph_prior: Any
    target_scaling: TargetScaling = field(default_factory=TargetScaling)
    graph_stats: dict[str, Any] = field(default_factory=dict)

    @property
    def n_outputs(self) -> int:
        return output_size(self.cfg.task, len(self.data.classes) if self.data.classes else None)

    def splits_table(self) -> pd.DataFrame:
        return sample_splits(self.data.samples, self.split)

    def model_spec(self) -> dict[str, Any]:
        """What ``aprior attribute`` needs besides config.yaml to rebuild the model."""
        return {"format": "aprior-run-1", "task": self.cfg.task,
                "n_inputs": len(self.data.features), "n_outputs": self.n_outputs,
                "n_genes": self.data.n_genes, "classes": self.data.classes,
                "covariates": list(self.cfg.covariates),
                "target_scaling": self.target_scaling.to_dict()}


@dataclass
class RunResult:
    model: nn.Module
    fit: FitResult
    metrics: dict[str, Any] = field(default_factory=dict)


def prepare(cfg: TrainConfig, expression: pd.DataFrame, labels: pd.DataFrame,
            graph: Any = None, eval_graph: Any = None, meta_features: pd.DataFrame | None = None,
            split_table: pd.DataFrame | None = None) -> PreparedRun:
    """Align data, split samples, build the prior; raise :class:`UserInputError` on bad input."""
    task = get_task(cfg.task)
    data = align(expression, labels, cfg.task, covariates=cfg.covariates,
                 expression_name=cfg.expression or "expression",
                 labels_name=cfg.labels or "labels", unmatched=cfg.unmatched_labels)
    split = split_rows(cfg.split, data.samples, cfg.val_fraction, cfg.test_fraction, cfg.seed,
                       y=data.y if cfg.task != "regression" else None, groups=data.groups,
                       table=split_table)
    scaling = TargetScaling.fit(data.y[split == "train"], cfg.target_scaling
                                if cfg.task == "regression" else "none")
    ctx = PriorContext(features=data.features, n_genes=data.n_genes, graph=graph,
                       graph_source=cfg.graph or "--graph", meta_features=meta_features)
    prior = build_prior(cfg, ctx)
    eval_prior = None
    if eval_graph is not None or graph is not None:
        g, src = ((eval_graph, cfg.eval_graph or "--eval-graph") if eval_graph is not None
                  else (graph, cfg.graph or "--graph"))
        eval_prior = build_graph_prior(g, data.features, data.n_genes, src)
    if (cfg.attribution == "eg" and prior is not None and cfg.k >= cfg.batch_size):
        raise UserInputError(f"--k {cfg.k} needs --batch-size > k (got {cfg.batch_size})")
    graph_stats: dict[str, Any] = {}
    if graph is not None or eval_graph is not None:
        from aprior_cli.graph_coverage import graph_coverage

        g = graph if graph is not None else eval_graph
        graph_stats = graph_coverage(g.adjacency, g.features, data.genes)
    return PreparedRun(cfg=cfg, data=data, split=split, task=task, prior=prior,
                       eval_graph_prior=eval_prior, target_scaling=scaling,
                       graph_stats=graph_stats)


def build_model(prep: PreparedRun) -> nn.Module:
    cfg = prep.cfg
    return build_mlp(len(prep.data.features), cfg.hidden, prep.n_outputs, cfg.activation,
                     cfg.dropout, cfg.batch_norm, cfg.standardize)


def tensors(prep: PreparedRun, name: str, device: torch.device,
            units: str = "training") -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets of split ``name`` on ``device``; regression targets scaled as the
    network is trained (``units="training"``) or as given (``"original"``)."""
    mask = prep.split == name
    x = torch.as_tensor(prep.data.x[mask], dtype=torch.float32, device=device)
    y = prep.data.y[mask]
    if units == "training" and prep.target_scaling.active:
        y = prep.target_scaling.transform(y)
    return x, prep.task.target_tensor(y).to(device)


def execute(prep: PreparedRun, device: torch.device, checkpoint_path: str | Path | None = None,
            resume_from: str | Path | None = None,
            on_epoch_end: Callable[[int], None] | None = None,
            show_progress: bool | None = None) -> RunResult:
    """Seed, build, (resume,) train and evaluate one run."""
    cfg = prep.cfg
    seed_everything(cfg.seed)
    model = build_model(prep).to(device)
    x_train, y_train = tensors(prep, "train", device)
    x_val, y_val = tensors(prep, "val", device)
    if cfg.standardize:
        model[0].fit(x_train)
    prior = prep.prior
    if isinstance(prior, nn.Module):
        prior.to(device)
    trainer = Trainer(model, prep.task, cfg, x_train, y_train, x_val, y_val, prior=prior,
                      checkpoint_path=checkpoint_path, on_epoch_end=on_epoch_end,
                      show_progress=show_progress)
    if resume_from is not None:
        trainer.load_checkpoint(resume_from)
        epoch, progress = trainer.state["epoch"], trainer.state.get("in_epoch")
        log.info("resuming after epoch %d%s", epoch,
                 f", step {progress['done']} of epoch {epoch + 1}" if progress else "")
    fit = trainer.fit()
    if trainer.learnable and cfg.dapr_refit_steps > 0:
        from aprior_cli.training.optim import learnable_prior_lr
        from aprior_cli.training.prior_refit import refit_on_model

        fit.prior_refit = refit_on_model(prior, model, x_train,
                                         prep.task.attribution_target(y_train),
                                         steps=cfg.dapr_refit_steps, lr=learnable_prior_lr(cfg),
                                         n_references=cfg.eval_n_samples, seed=cfg.seed)
        log.info("refitted the prior on the kept model's EG: loss %.4g -> %.4g in %d steps",
                 fit.prior_refit["loss_before"], fit.prior_refit["loss_after"],
                 fit.prior_refit["steps"])
    metrics = evaluate(prep, model, device, fit)
    return RunResult(model=model, fit=fit, metrics=metrics)


def _prior_value(prior: Any, phi: torch.Tensor) -> float:
    with torch.no_grad():
        return float(prior(phi))


def evaluate(prep: PreparedRun, model: nn.Module, device: torch.device,
             fit: FitResult | None = None) -> dict[str, Any]:
    """Metrics of the trained ``model`` (see the module docstring)."""
    from aprior_cli.attribution import expected_gradients, input_gradients
    from aprior_cli.priors import gini
    from aprior_cli.training.guidance import data_notes
    from aprior_cli.training.trainer import predict

    cfg, task = prep.cfg, prep.task
    network, model = model, prep.target_scaling.wrap(model)  # predictions: original units
    metrics: dict[str, Any] = {"task": cfg.task, "prior": cfg.prior,
                               "attribution": cfg.attribution, "seed": cfg.seed}
    if fit is not None:
        metrics.update({"lambda": fit.lambda_value, "best_epoch": fit.best_epoch,
                        "epochs_trained": len(fit.history), "stopped_early": fit.stopped_early,
                        "warmup_epochs": cfg.warmup_epochs, "prior_steps": fit.prior_steps})
    for name in ("train", "val", "test"):
        metrics[f"n_{name}"] = int(np.sum(prep.split == name))
    metrics["n_features"] = len(prep.data.features)
    metrics.update(data_notes(prep))
    metrics["target_scaling"] = metrics_note(prep.target_scaling, cfg.task)
    metrics.update(prep.graph_stats)
    coverage = getattr(prep.prior, "coverage", None)
    if isinstance(coverage, dict) and coverage:  # e.g. DAPr's meta-feature join report
        metrics["prior_coverage"] = coverage
    for name in ("train", "val", "test"):
        x, y = tensors(prep, name, device, units="original")
        if x.shape[0] == 0:
            continue
        for k, v in task.metrics(predict(model, x), y).items():
            metrics[f"{name}_{k}"] = v
    x_test, y_test = tensors(prep, "test", device, units="original")
    if x_test.shape[0] >= 1:
        x_train, _ = tensors(prep, "train", device, units="original")
        target = task.attribution_target(y_test)
        eg = expected_gradients(network, x_test, x_train, n_samples=cfg.eval_n_samples,
                                target=target, seed=cfg.seed).attributions.detach()
        grad = input_gradients(network, x_test, target=target).attributions.detach()
        genes = slice(0, prep.data.n_genes)
        metrics["test_gini_eg"] = float(gini(eg[:, genes].abs().mean(0)))
        if prep.prior is not None:
            metrics["test_prior_eg"] = _prior_value(prep.prior, eg)
            metrics["test_prior_grad"] = _prior_value(prep.prior, grad)
        if prep.eval_graph_prior is not None:
            gp = prep.eval_graph_prior.to(device)
            metrics["test_graph_penalty_eg"] = _prior_value(gp, eg)
            metrics["test_graph_penalty_grad"] = _prior_value(gp, grad)
            metrics["test_graph_roughness_eg"] = _prior_value(gp.roughness, eg)
            metrics["test_graph_roughness_grad"] = _prior_value(gp.roughness, grad)
        metrics.update(_learned_prior_fit(prep.prior, eg.abs().mean(0),
                                          fit.prior_refit if fit is not None else None))
    from aprior_cli.training.guidance import fit_warnings

    metrics["warnings"] = fit_warnings(prep, metrics, fit)
    return metrics


def _learned_prior_fit(prior: Any, phibar: torch.Tensor,
                       refit: dict[str, Any] | None) -> dict[str, Any]:
    """``dapr_g_*`` metrics: how well g(M) ranks the genes as the final model does."""
    predicted = getattr(prior, "predicted_importance", None)
    index = getattr(prior, "feature_index", None)
    if not callable(predicted) or index is None:
        return {}
    from scipy.stats import spearmanr

    target = phibar[index.to(phibar.device)].detach().cpu().double().numpy()

    def rho(g: torch.Tensor) -> float:
        value = spearmanr(g.detach().cpu().double().numpy(), target).statistic
        return float(value) if np.isfinite(value) else float("nan")

    out: dict[str, Any] = {"dapr_g_spearman": rho(predicted())}
    if refit is not None:
        if refit.get("predicted_before") is not None:
            out["dapr_g_spearman_before_refit"] = rho(refit["predicted_before"])
        out.update({f"dapr_g_refit_{k}": refit[k] for k in ("steps", "loss_before",
                                                             "loss_after")})
    return out
