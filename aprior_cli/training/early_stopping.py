"""Which epoch a run keeps, and when it stops: early stopping after a warm-up.

Rules (one phase of plain or joint training; ``epoch`` counts that phase's epochs from 1):

* epochs ``1..warmup_epochs`` are never kept and never counted: a kept model has trained with
  the prior on (joint schedule) and the baseline is held to the same rule, so its comparison
  with a prior run is fair; the first epoch after the warm-up is always kept (nothing before
  it was);
* ``patience = 0`` (no early stopping) or no validation rows: every epoch after the warm-up is
  kept, i.e. the model ends with the **last** epoch's weights;
* otherwise the epoch with the best validation score is kept, and the phase stops after
  ``patience`` epochs after the warm-up without a better one.

The state lives in the trainer's checkpointed ``state`` dict (``best_score``, ``best_epoch``,
``bad_epochs``), so a resumed run decides exactly as an uninterrupted one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Decision:
    """Outcome of one epoch: keep its weights (snapshot) and/or stop the phase."""

    keep: bool
    stop: bool


def observe(state: dict[str, Any], score: float | None, epoch: int, phase_epoch: int,
            warmup_epochs: int, patience: int, max_epochs: int) -> Decision:
    """Update ``state`` with one finished epoch and say whether to keep it / stop.

    Parameters
    ----------
    state
        ``best_score``, ``best_epoch``, ``bad_epochs`` (updated in place).
    score
        Validation score, higher = better (``None``: no validation rows).
    epoch, phase_epoch
        The run's epoch number (recorded as ``best_epoch``) and the phase's (1-based).
    warmup_epochs, patience, max_epochs
        As in the configuration (``max_epochs`` = the phase's ``epochs``).
    """
    in_warmup = phase_epoch <= warmup_epochs and phase_epoch < max_epochs
    if in_warmup:
        return Decision(keep=False, stop=False)
    if score is None or patience == 0:
        state["best_epoch"], state["bad_epochs"] = epoch, 0
        if score is not None:
            state["best_score"] = score
        return Decision(keep=True, stop=False)
    if state["best_score"] is None or (math.isfinite(score) and score > state["best_score"]):
        state["best_score"], state["best_epoch"], state["bad_epochs"] = score, epoch, 0
        return Decision(keep=True, stop=False)
    state["bad_epochs"] += 1
    return Decision(keep=False, stop=state["bad_epochs"] >= patience)

