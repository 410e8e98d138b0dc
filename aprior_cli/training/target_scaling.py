"""Regression target scaling: train on z-scored targets, report in the target's own units.

With ``--target-scaling standard`` (the default for regression) the target is centred and
scaled with the mean and standard deviation (population sd, ``ddof=0``) of the *training*
samples only; the network learns ``z = (y - mean) / sd``. Everything a user sees is in the
original units: the run's model is wrapped as :class:`OriginalUnits`
(``y_hat = mean + sd * network(x)``) for ``metrics.json``, ``aprior predict`` and
``aprior attribute``. Since expected gradients are linear in the model output and blind to a
constant, attributions of the wrapped model are ``sd`` times those of the network: they are in
target units (e.g. LN_IC50) and still satisfy completeness against ``y_hat``. In scaled
(training) units stay what describes the optimisation itself: ``history.tsv`` (losses and
prior values per epoch) and the attribution-based entries of ``metrics.json``
(``test_prior_*``, ``test_graph_penalty_*``, so they equal the prior the optimiser saw).

Why: a network initialised around output 0 on a target whose mean is about 4 (GDSC LN_IC50)
spends its few epochs learning the mean, and early stopping on tiny data ends training there
(negative test R² throughout, in the study that asked for this).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

METHODS = ("standard", "none")


@dataclass(frozen=True)
class TargetScaling:
    """``z = (y - mean) / sd``; the identity for method ``none``."""

    method: str = "none"
    mean: float = 0.0
    sd: float = 1.0
    n_fitted: int = 0

    @classmethod
    def fit(cls, y_train: np.ndarray, method: str) -> TargetScaling:
        """Fit on the training targets (n,); a constant target keeps sd 1 (centred only)."""
        if method not in METHODS:
            raise ValueError(f"unknown target scaling {method!r}")
        y = np.asarray(y_train, dtype=np.float64)
        y = y[np.isfinite(y)]
        if method == "none" or y.size == 0:
            return cls("none" if method == "none" else method, 0.0, 1.0, int(y.size))
        sd = float(y.std(ddof=0))
        return cls(method, float(y.mean()), sd if sd > 0 else 1.0, int(y.size))

    @property
    def active(self) -> bool:
        return self.method != "none"

    def transform(self, y: np.ndarray) -> np.ndarray:
        """Original -> training (scaled) units."""
        return (np.asarray(y, dtype=np.float64) - self.mean) / self.sd

    def inverse(self, z: np.ndarray) -> np.ndarray:
        """Training (scaled) -> original units."""
        return np.asarray(z, dtype=np.float64) * self.sd + self.mean

    def wrap(self, model: nn.Module) -> nn.Module:
        """``model`` giving original units (itself when there is no scaling)."""
        return OriginalUnits(model, self.mean, self.sd) if self.active else model

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "mean": self.mean, "sd": self.sd,
                "n_fitted": self.n_fitted, "fitted_on": "training rows"}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> TargetScaling:
        """From ``model.json``'s ``target_scaling`` entry (absent: no scaling)."""
        if not data or data.get("method", "none") == "none":
            return cls()
        return cls(str(data["method"]), float(data["mean"]), float(data["sd"]),
                   int(data.get("n_fitted", 0)))


class OriginalUnits(nn.Module):
    """``mean + sd * network(x)``: a network trained on z-scored targets, in target units.

    The network is a submodule (``.network``), so its state dict is untouched by wrapping.
    """

    def __init__(self, network: nn.Module, mean: float, sd: float) -> None:
        super().__init__()
        self.network = network
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("sd", torch.tensor(float(sd)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.network(x)
        return out * self.sd.to(out) + self.mean.to(out)

    def split_first_linear(self) -> tuple[nn.Linear, nn.Module] | None:
        """Keep the EG first-linear-layer fast path: ``(first layer, rescaled rest)``."""
        from aprior_cli.attribution.fastpath import split_first_linear

        split = split_first_linear(self.network)
        if split is None or not isinstance(split[0], nn.Linear):
            return None
        return split[0], OriginalUnits(split[1], float(self.mean), float(self.sd))


def metrics_note(scaling: TargetScaling, task: str) -> dict[str, Any]:
    """The ``target_scaling`` entry of ``metrics.json``: what units the numbers are in."""
    if task != "regression":
        return {"method": "none", "reason": f"{task} task (only regression targets are scaled)"}
    note = scaling.to_dict()
    note["metrics_units"] = ("original target units: *_loss, *_mse, *_r2 (and predictions, "
                             "aprior attribute); training units: test_prior_*, "
                             "test_graph_penalty_* (the network as optimised)")
    if scaling.active:
        note["history_units"] = "scaled (z) units: history.tsv losses and prior values"
    return note
