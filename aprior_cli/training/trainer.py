"""The training loop: task loss plus ``lambda * Omega(attributions)``, early stopping after a
warm-up, checkpoints that resume exactly, divergence detection.

The schedules (``joint``, ``fine-tune``) and what one step does are in
:mod:`~aprior_cli.training.schedules`; which epoch is kept and when a phase stops in
:mod:`~aprior_cli.training.early_stopping`; ``lambda: auto`` in
:mod:`~aprior_cli.training.auto_lambda` (calibrated after the warm-up of the joint schedule,
at the start of the fine-tune phase).

Learnable priors (an ``nn.Module`` prior with trainable parameters, e.g. DAPr) get their own
optimiser (learning rate ``dapr_lr``, default :data:`LEARNABLE_PRIOR_LR_FACTOR` x ``lr``). The
prior's parameters are part of the best-epoch snapshot (restored with the model's) and of
every checkpoint.

Checkpoints (``checkpoint.pt``, written atomically after every epoch) hold the weights, every
optimiser, the RNG states of torch, numpy, python and the batch-order and attribution
generators, the epoch, the early-stopping state and the history; resuming from one continues
bit-identically on CPU. Everything in it loads with ``torch.load(weights_only=True)``; format
and checks in :mod:`aprior_cli.training.checkpoint`.

Stop signals (:mod:`aprior_cli.interrupt`): on SIGTERM/SIGUSR1/SIGINT the step finishes, a
checkpoint with the position in the epoch is written and ``Interrupted`` is raised.
"""

from __future__ import annotations

import copy
import logging
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from aprior_cli import interrupt
from aprior_cli.training import checkpoint, early_stopping
from aprior_cli.training.auto_lambda import calibrate_lambda
from aprior_cli.training.config import TrainConfig
from aprior_cli.training.optim import learnable_prior_lr, make_optimizer
from aprior_cli.training.schedules import ScheduleSteps, epoch_label, phases_for
from aprior_cli.training.tasks import Task

log = logging.getLogger("aprior.train")

Prior = Callable[[torch.Tensor], torch.Tensor]
EVAL_ROWS = 4096


def is_learnable(prior: object) -> bool:
    """A prior with trainable parameters (it gets its own optimiser)."""
    return isinstance(prior, nn.Module) and any(p.requires_grad for p in prior.parameters())


def _clone_state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


# --------------------------------------------------------------------------------------------


@dataclass
class FitResult:
    """Outcome of :func:`fit`.

    Attributes
    ----------
    history
        One dict per epoch (``epoch``, ``phase``, ``train_loss``, ``train_prior``, ``val_*``,
        ``lambda``, ``seconds``).
    best_epoch
        Epoch whose weights the model holds (last epoch for fine-tune).
    lambda_value
        The lambda used (resolved when ``auto``).
    stopped_early
        Early stopping ended the (plain/joint) phase before ``epochs``.
    prior_steps
        Optimiser steps that had the prior in their loss, up to the kept epoch.
    prior_refit
        What refitting a learnable prior after training did (see
        :func:`~aprior_cli.training.prior_refit.refit_prior`), or None.
    """

    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int = 0
    lambda_value: float = 0.0
    stopped_early: bool = False
    prior_steps: int = 0
    prior_refit: dict[str, Any] | None = None


def predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Model outputs in eval mode, in blocks of rows (no gradients)."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            outs = [model(x[i:i + EVAL_ROWS]) for i in range(0, x.shape[0], EVAL_ROWS)]
    finally:
        model.train(was_training)
    return torch.cat(outs) if outs else torch.empty(0)


class Trainer(ScheduleSteps):
    """One training run; see the module docstring.

    Parameters
    ----------
    model
        Network on ``device`` (initialised by the caller after :func:`seed_everything`).
    task
        The task (loss, metrics, attribution target).
    cfg
        The resolved configuration; ``cfg.lambda_`` must be a single value.
    x_train, y_train, x_val, y_val
        Tensors on ``device`` (validation may have 0 rows: then no early stopping).
    prior
        ``prior(phi) -> scalar`` or None.
    checkpoint_path
        Where to write ``checkpoint.pt`` after every epoch (None: no checkpoints).
    on_epoch_end
        Called with the finished epoch number after its checkpoint is written.
    """

    def __init__(self, model: nn.Module, task: Task, cfg: TrainConfig, x_train: torch.Tensor,
                 y_train: torch.Tensor, x_val: torch.Tensor, y_val: torch.Tensor,
                 prior: Prior | None = None, checkpoint_path: str | Path | None = None,
                 on_epoch_end: Callable[[int], None] | None = None,
                 show_progress: bool | None = None) -> None:
        if isinstance(cfg.lambda_, list):
            raise ValueError("Trainer takes one lambda; run a grid as separate runs")
        self.model, self.task, self.cfg = model, task, cfg
        self.x_train, self.y_train, self.x_val, self.y_val = x_train, y_train, x_val, y_val
        self.prior = prior
        self.lambda_value: float | str = cfg.lambda_
        self.uses_prior = prior is not None and (cfg.lambda_ == "auto" or float(cfg.lambda_) > 0)
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
        self.on_epoch_end = on_epoch_end
        self.show_progress = sys.stderr.isatty() if show_progress is None else show_progress
        self.learnable = is_learnable(prior)
        self.generators = {
            "order": torch.Generator().manual_seed(cfg.seed),
            "attribution": torch.Generator().manual_seed(cfg.seed + 1),
        }
        self.phases = phases_for(cfg.schedule, self.uses_prior)
        self._new_optimizers()
        self.state: dict[str, Any] = {
            "epoch": 0, "phase": 0, "phase_epoch": 0, "best_score": None, "best_epoch": 0,
            "bad_epochs": 0, "best_model": _clone_state(model),
            "best_prior": _clone_state(prior) if self.learnable else None,
            "history": [], "lambda": None if cfg.lambda_ == "auto" else float(cfg.lambda_),
            "stopped_early": False, "done": False, "prior_steps": 0, "best_prior_steps": 0,
        }
        if self.phases[0] == "joint" and cfg.warmup_epochs == 0:
            if cfg.lambda_ == "auto":
                log.warning("lambda auto with --warmup-epochs 0: calibrated on the initial model")
            self._start_prior()

    # -- optimisers -------------------------------------------------------------------------

    def _new_optimizers(self, phase: int = 0) -> None:
        """Fresh optimisers for phase ``phase`` (the fine-tune phase: ``fine_tune_lr``)."""
        cfg = self.cfg
        fine_tune = self.phases[phase] == "fine-tune" and cfg.fine_tune_lr is not None
        self.optimizer = make_optimizer(list(self.model.parameters()), cfg,
                                        cfg.fine_tune_lr if fine_tune else None)
        self.learnable_optimizer = None
        if self.learnable:
            assert isinstance(self.prior, nn.Module)
            params = [p for p in self.prior.parameters() if p.requires_grad]
            self.learnable_optimizer = make_optimizer(params, cfg, learnable_prior_lr(cfg))

    def _optimizers(self) -> dict[str, torch.optim.Optimizer]:
        opts = {"task": self.optimizer}
        if self.learnable_optimizer is not None:
            opts["learnable_prior"] = self.learnable_optimizer
        return opts

    def _start_prior(self) -> None:
        """The prior switches on: calibrate ``lambda: auto``; fit a learnable prior (DAPr's g)
        to the current model's attributions first, so that its penalty starts from g's best
        description of the model instead of a random g (``dapr_refit_steps`` > 0)."""
        if self.learnable and self.cfg.dapr_refit_steps > 0:
            from aprior_cli.training.prior_refit import refit_on_model

            report = refit_on_model(self.prior, self.model, self.x_train,
                                    self.task.attribution_target(self.y_train),
                                    steps=self.cfg.dapr_refit_steps,
                                    lr=learnable_prior_lr(self.cfg),
                                    n_references=self.cfg.eval_n_samples, seed=self.cfg.seed)
            log.info("prior fitted to the model's EG as it switches on: loss %.4g -> %.4g",
                     report["loss_before"], report["loss_after"])
        if self.cfg.lambda_ == "auto":
            self.state["lambda"] = self._auto_lambda()

    def _auto_lambda(self) -> float:
        assert self.prior is not None
        cfg = self.cfg
        return calibrate_lambda(self.model, self.task, self.prior, self.x_train, self.y_train,
                                method=cfg.attribution, k=cfg.k, batch_size=cfg.batch_size,
                                seed=cfg.seed, batch_norm_mode=cfg.batch_norm_mode)

    # -- epochs ------------------------------------------------------------------------------

    def _batches(self) -> list[torch.Tensor]:
        n = self.x_train.shape[0]
        order = torch.randperm(n, generator=self.generators["order"]).to(self.x_train.device)
        bs = self.cfg.batch_size
        batches = [order[i:i + bs] for i in range(0, n, bs)]
        if len(batches) > 1 and batches[-1].numel() < 2:  # batch-norm/EG need 2 rows
            batches[-2] = torch.cat([batches[-2], batches[-1]])
            batches.pop()
        return batches

    def _score(self, val: dict[str, float]) -> float | None:
        if not val:
            return None
        if self.cfg.monitor == "loss":
            return -val["loss"]
        value = val.get(self.task.primary_metric, float("nan"))
        return value if self.task.higher_is_better(self.task.primary_metric) else -value

    def _run_epoch(self) -> dict[str, Any]:
        phase = epoch_label(self.phases[self.state["phase"]], self.state["phase_epoch"],
                            self.cfg.warmup_epochs)
        lam = self.state["lambda"] if self.state["lambda"] is not None else 0.0
        self.model.train()
        if isinstance(self.prior, nn.Module):
            self.prior.train()
        saved = self.state.pop("in_epoch", None)  # resuming mid-epoch
        progress = (checkpoint.EpochProgress.from_state(saved, self.x_train.device) if saved
                    else checkpoint.EpochProgress(self._batches()))
        start = time.perf_counter() - progress.seconds
        task_losses, priors = progress.task_losses, progress.priors
        for bi in range(progress.done, len(progress.batches)):
            xb, yb = self.x_train[progress.batches[bi]], self.y_train[progress.batches[bi]]
            if phase == "fine-tune":
                tl, om = self._step_fine_tune(xb, yb, lam, bi)
            else:
                tl, om = self._step_joint(xb, yb, lam, with_prior=phase == "joint", bi=bi)
            task_losses.append(tl)
            priors.append(om)
            progress.done = bi + 1
            self.state["prior_steps"] = self.state.get("prior_steps", 0) + int(math.isfinite(om))
            interrupt.safe_point(f"epoch {self.state['epoch'] + 1} step {bi + 1}")
            if interrupt.pending() is not None and progress.done < len(progress.batches):
                self._stop_mid_epoch(progress, start)
        row: dict[str, Any] = {
            "epoch": self.state["epoch"] + 1, "phase": phase,
            "train_loss": float(np.mean(task_losses)),
            "train_prior": float(np.nanmean(priors)) if np.isfinite(priors).any() else float("nan"),
            "lambda": lam if phase not in ("plain", "warmup") else 0.0,
        }
        if self.x_val.shape[0] > 0:
            val = self.task.metrics(predict(self.model, self.x_val), self.y_val)
            row.update({f"val_{k}": v for k, v in val.items()})
            for k, v in val.items():
                if k == "loss" and not math.isfinite(v):
                    self._check_finite("the validation loss", torch.tensor(v), -1)
        row["seconds"] = time.perf_counter() - start
        return row

    def _after_epoch(self, row: dict[str, Any]) -> None:
        st = self.state
        st["epoch"] += 1
        st["phase_epoch"] += 1
        st["history"].append(row)
        phase = self.phases[st["phase"]]
        if phase == "fine-tune":
            st["best_epoch"], st["best_prior_steps"] = st["epoch"], st.get("prior_steps", 0)
            phase_done = st["phase_epoch"] >= self.cfg.fine_tune_epochs
        else:
            val = {k[4:]: v for k, v in row.items() if k.startswith("val_")}
            decision = early_stopping.observe(
                st, self._score(val), epoch=st["epoch"], phase_epoch=st["phase_epoch"],
                warmup_epochs=self.cfg.warmup_epochs, patience=self.cfg.patience,
                max_epochs=self.cfg.epochs)
            if decision.keep:
                st["best_model"] = _clone_state(self.model)
                st["best_prior_steps"] = st.get("prior_steps", 0)
                if self.learnable:
                    st["best_prior"] = _clone_state(self.prior)
            phase_done = decision.stop or st["phase_epoch"] >= self.cfg.epochs
            st["stopped_early"] = st["stopped_early"] or decision.stop
            if phase_done:  # the kept weights
                self.model.load_state_dict(st["best_model"])
                if self.learnable:
                    self.prior.load_state_dict(st["best_prior"])
            if phase == "joint" and st["phase_epoch"] == self.cfg.warmup_epochs:
                self._start_prior()  # after the warm-up, before the prior acts
        if phase_done:
            if st["phase"] + 1 < len(self.phases):
                st["phase"] += 1
                st["phase_epoch"] = 0
                self._new_optimizers(st["phase"])
                self._start_prior()
            else:
                st["done"] = True

    # -- checkpoints (format and checks: aprior_cli.training.checkpoint) --------------------

    def checkpoint(self) -> dict[str, Any]:
        return checkpoint.build(self)

    def save_checkpoint(self) -> None:
        if self.checkpoint_path is not None:
            checkpoint.save(self, self.checkpoint_path)

    def load_checkpoint(self, path: str | Path) -> None:
        """Restore a checkpoint written by :meth:`save_checkpoint` (same config); a file that
        does not belong to this run raises one-line :class:`UserInputError`."""
        checkpoint.load(self, path)

    def _stop_mid_epoch(self, progress: checkpoint.EpochProgress, start: float) -> None:
        """A stop signal is pending: checkpoint the position in the epoch, then stop."""
        progress.seconds = time.perf_counter() - start
        self.state["in_epoch"] = progress.to_state()
        self.save_checkpoint()
        epoch = self.state["epoch"]
        interrupt.check(f"after epoch {epoch}, step {progress.done} of epoch {epoch + 1}",
                        self._saved_note())

    def _saved_note(self) -> str:
        return f"checkpoint {self.checkpoint_path}" if self.checkpoint_path else ""

    # -- main loop ---------------------------------------------------------------------------

    def fit(self) -> FitResult:
        """Train until every phase is done; the model ends with the kept (best) weights."""
        from tqdm.auto import tqdm

        total = self.cfg.epochs + (self.cfg.fine_tune_epochs if len(self.phases) > 1 else 0)
        bar = tqdm(total=total, initial=self.state["epoch"], desc="train", leave=self.show_progress,
                   disable=not self.show_progress)
        try:
            with interrupt.deferred():  # a stop signal ends the loop at a step boundary
                while not self.state["done"]:
                    row = self._run_epoch()
                    self._after_epoch(row)
                    self.save_checkpoint()
                    summary = " ".join(f"{k}={v:.4g}" for k, v in row.items()
                                       if isinstance(v, float) and k != "seconds" and math.isfinite(v))
                    if self.show_progress:
                        bar.update(1)
                        bar.set_postfix_str(summary)
                    else:
                        log.info("epoch %d (%s) %s", row["epoch"], row["phase"], summary)
                    if self.on_epoch_end is not None:
                        self.on_epoch_end(row["epoch"])
                    interrupt.check(f"after epoch {row['epoch']}", self._saved_note())
        finally:
            bar.close()
        st = self.state
        return FitResult(history=copy.deepcopy(st["history"]), best_epoch=st["best_epoch"],
                         lambda_value=st["lambda"] if st["lambda"] is not None else 0.0,
                         stopped_early=st["stopped_early"],
                         prior_steps=st.get("best_prior_steps", 0))
