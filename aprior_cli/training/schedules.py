"""The schedules: which phases a run has, and what one mini-batch step does in each.

joint
    Phase ``joint``: the first ``warmup_epochs`` epochs are plain (history phase ``warmup``);
    then every step minimises ``task_loss + lambda * Omega(phi)``, ``phi`` the training-time
    attributions of the batch (EG with ``k`` in-batch references, IG or plain gradients).
fine-tune
    Phase ``plain`` (early stopping, best weights restored), then ``fine_tune_epochs`` epochs
    of phase ``fine-tune``: each batch takes a step on the task loss and then a step on
    ``lambda * Omega``, both with **one** optimiser (fresh at the phase start, learning rate
    ``fine_tune_lr``). Sharing it is what gives lambda its meaning: Adam divides each step by
    a running estimate of the gradient's size, so a prior step with an optimiser of its own
    moves the weights the same for every lambda (lambda = 1 and 1000 gave the same model);
    with shared estimates the task and prior gradients are measured against each other and
    lambda sets their ratio. The weights after the last fine-tune epoch are kept.

Without a prior (or lambda 0) a run has the single phase ``plain``. Learnable priors (DAPr's g)
step with their own optimiser wherever Omega is in the loss: ``prior_update="joint"`` on the
same backward, ``"alternating"`` on the detached attributions after the model's step.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from aprior_cli.errors import TrainingDivergedError


def phases_for(schedule: str, uses_prior: bool) -> list[str]:
    """Phase names of a run: ``["plain"]``, ``["joint"]`` or ``["plain", "fine-tune"]``."""
    if not uses_prior:
        return ["plain"]
    return ["plain", "fine-tune"] if schedule == "fine-tune" else ["joint"]


def epoch_label(phase: str, phase_epoch: int, warmup_epochs: int) -> str:
    """History label of the next epoch (``phase_epoch`` epochs of the phase are done)."""
    return "warmup" if phase == "joint" and phase_epoch < warmup_epochs else phase


class ScheduleSteps:
    """Mixin of :class:`~aprior_cli.training.trainer.Trainer`: one step of each schedule.

    Uses the trainer's ``model``, ``task``, ``cfg``, ``prior``, ``optimizer``,
    ``learnable_optimizer``, ``generators``, ``state`` and ``checkpoint_path``.
    """

    model: Any
    task: Any
    cfg: Any
    prior: Any
    optimizer: Any
    learnable_optimizer: Any
    generators: dict[str, torch.Generator]
    state: dict[str, Any]
    checkpoint_path: Any

    def _param_penalty(self) -> torch.Tensor | float:
        if self.cfg.param_penalty == "none" or self.cfg.param_penalty_lambda <= 0:
            return 0.0
        from aprior_cli.priors import parameter_penalty

        return self.cfg.param_penalty_lambda * parameter_penalty(
            self.model, self.cfg.param_penalty, self.cfg.param_penalty_layers)

    def _can_attribute(self, batch: int) -> bool:
        return self.cfg.attribution != "eg" or batch > self.cfg.k

    def _attributions(self, xb: torch.Tensor, yb: torch.Tensor, return_output: bool) -> Any:
        from aprior_cli.attribution import training_attributions

        return training_attributions(self.model, xb, method=self.cfg.attribution, k=self.cfg.k,
                                     target=self.task.attribution_target(yb),
                                     generator=self.generators["attribution"],
                                     return_output=return_output,
                                     batch_norm=self.cfg.batch_norm_mode)

    def _check_finite(self, what: str, value: torch.Tensor, batch_index: int) -> None:
        if not bool(torch.isfinite(value).all()):
            kind = "NaN" if bool(torch.isnan(value).any()) else "Inf"
            verb = "contain" if what.endswith("attributions") else "is"
            epoch = self.state["epoch"] + 1
            where = (f"the last good checkpoint (epoch {self.state['epoch']}) is kept in "
                     f"{self.checkpoint_path}" if self.checkpoint_path and self.state["epoch"] > 0
                     else "no epoch finished, so there is no checkpoint")
            raise TrainingDivergedError(
                f"training diverged: {what} {verb} {kind} at epoch {epoch}, batch "
                f"{batch_index}; {where}. Try a smaller --lr or --lambda.")

    def _zero_grads(self, optimizer: torch.optim.Optimizer) -> None:
        optimizer.zero_grad(set_to_none=True)
        if self.learnable_optimizer is not None:
            self.learnable_optimizer.zero_grad(set_to_none=True)

    def _step_learnable(self, phi: torch.Tensor, lam: float) -> None:
        if self.learnable_optimizer is None:
            return
        if self.cfg.prior_update == "alternating":
            self.learnable_optimizer.zero_grad(set_to_none=True)
            (lam * self.prior(phi.detach())).backward()
        self.learnable_optimizer.step()

    def _step_joint(self, xb: torch.Tensor, yb: torch.Tensor, lam: float, with_prior: bool,
                    bi: int) -> tuple[float, float]:
        """One step on ``task (+ lambda * Omega)``."""
        omega = None
        if with_prior and self.prior is not None and self._can_attribute(xb.shape[0]):
            phi, out = self._attributions(xb, yb, return_output=True)
            self._check_finite("the attributions", phi.detach(), bi)
            omega = self.prior(phi)
        else:
            out = self.model(xb)
        task_loss = self.task.loss(out, yb)
        loss = task_loss + self._param_penalty()
        if omega is not None:
            loss = loss + lam * omega
        self._check_finite("the loss", loss.detach(), bi)
        self._zero_grads(self.optimizer)
        loss.backward()
        self.optimizer.step()
        if omega is not None:
            self._step_learnable(phi, lam)
        return float(task_loss.detach()), (float(omega.detach()) if omega is not None
                                           else math.nan)

    def _step_fine_tune(self, xb: torch.Tensor, yb: torch.Tensor, lam: float,
                        bi: int) -> tuple[float, float]:
        """A task step, then a ``lambda * Omega`` step with the same optimiser."""
        task_loss, _ = self._step_joint(xb, yb, lam, with_prior=False, bi=bi)
        if not self._can_attribute(xb.shape[0]):
            return task_loss, math.nan
        phi = self._attributions(xb, yb, return_output=False)
        self._check_finite("the attributions", phi.detach(), bi)
        omega = self.prior(phi)
        loss = lam * omega
        self._check_finite("the prior loss", loss.detach(), bi)
        self._zero_grads(self.optimizer)
        loss.backward()
        self.optimizer.step()
        self._step_learnable(phi, lam)
        return task_loss, float(omega.detach())
