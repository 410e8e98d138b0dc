"""Training checkpoints (``checkpoint.pt``): what they hold, atomic saving, checked loading.

A checkpoint is a dict that loads with ``torch.load(weights_only=True)`` (tensors, numbers,
strings, lists and dicts only: a crafted pickle never executes)::

    format       "aprior-checkpoint-1"
    model        the network's state_dict
    prior        a learnable prior's state_dict (e.g. DAPr's g) or None
    optimizers   {"task": ..., "learnable_prior": ...} state_dicts
    rng          torch / numpy / python / CUDA states and the batch-order and attribution
                 generators (see :mod:`aprior_cli.training.rng`)
    state        the loop's state: epoch, phase, phase_epoch, best_score, best_epoch,
                 bad_epochs, best_model, best_prior, history, lambda, stopped_early, done,
                 and ``in_epoch`` (see :class:`EpochProgress`) when written mid-epoch

Mid-epoch checkpoints (written when a stop signal arrives, see :mod:`aprior_cli.interrupt`)
resume exactly: ``in_epoch`` keeps the epoch's batch order (drawn from the order generator at
the epoch start; the generator's state after that draw is in ``rng``), how many batches are
done and their per-batch losses; every other RNG state is the one after the last finished
step, so the remaining steps see the same random numbers as an uninterrupted run.

:func:`load` validates everything against the run before touching it: a file that is not a
checkpoint, misses a key, holds tensors of other shapes or belongs to another model ends with
one :class:`~aprior_cli.errors.UserInputError` line naming the file.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from aprior_cli.errors import UserInputError
from aprior_cli.io.atomic import atomic_path
from aprior_cli.training.rng import rng_state, set_rng_state

if TYPE_CHECKING:  # pragma: no cover
    from aprior_cli.training.trainer import Trainer

FORMAT = "aprior-checkpoint-1"
TOP_KEYS = ("format", "model", "prior", "optimizers", "rng", "state")
STATE_KEYS = ("epoch", "phase", "phase_epoch", "best_score", "best_epoch", "bad_epochs",
              "best_model", "best_prior", "history", "lambda", "stopped_early", "done")
FIX = "delete it or rerun without --resume"


@dataclass
class EpochProgress:
    """How far the current epoch got (what a mid-epoch checkpoint saves).

    Attributes
    ----------
    batches
        The epoch's mini-batches: row indices into the training tensors, in order.
    done
        Number of batches whose step is finished.
    task_losses, priors
        Per finished batch: task loss and prior value (NaN when no prior was computed).
    seconds
        Wall time spent in the epoch so far.
    """

    batches: list[torch.Tensor]
    done: int = 0
    task_losses: list[float] = field(default_factory=list)
    priors: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def to_state(self) -> dict[str, Any]:
        return {"batches": [b.detach().cpu() for b in self.batches], "done": self.done,
                "task_losses": list(self.task_losses), "priors": list(self.priors),
                "seconds": float(self.seconds)}

    @classmethod
    def from_state(cls, state: dict[str, Any], device: torch.device) -> EpochProgress:
        return cls(batches=[b.to(device) for b in state["batches"]], done=int(state["done"]),
                   task_losses=[float(v) for v in state["task_losses"]],
                   priors=[float(v) for v in state["priors"]],
                   seconds=float(state["seconds"]))


def build(trainer: Trainer) -> dict[str, Any]:
    """The checkpoint dict of ``trainer`` now."""
    prior = trainer.prior
    return {
        "format": FORMAT,
        "model": trainer.model.state_dict(),
        "prior": prior.state_dict() if isinstance(prior, nn.Module) else None,
        "optimizers": {k: o.state_dict() for k, o in trainer._optimizers().items()},
        "rng": rng_state(trainer.generators),
        "state": trainer.state,
    }


def save(trainer: Trainer, path: str | Path) -> None:
    """Write ``trainer``'s checkpoint to ``path`` atomically (temp file + rename)."""
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(build(trainer), tmp)


def read(path: str | Path) -> dict[str, Any]:
    """``torch.load(weights_only=True)`` of ``path`` with the format marker and keys checked."""
    try:
        with warnings.catch_warnings():  # torch warns about odd pickle protocols: one line only
            warnings.simplefilter("ignore")
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a user problem
        raise UserInputError(f"{path}: cannot read checkpoint ({_reason(exc)}); {FIX}") from None
    if not isinstance(ckpt, dict):
        raise UserInputError(f"{path}: not an aprior checkpoint (a {type(ckpt).__name__}, "
                             f"not a dict); {FIX}")
    if ckpt.get("format") != FORMAT:
        raise UserInputError(f"{path}: not an aprior checkpoint (format marker "
                             f"{_short(ckpt.get('format'))}, expected {FORMAT!r}); {FIX}")
    missing = [k for k in TOP_KEYS if k not in ckpt]
    if missing:
        raise UserInputError(f"{path}: does not match this run (missing key {missing[0]!r}); "
                             f"{FIX}")
    return ckpt


def load(trainer: Trainer, path: str | Path) -> None:
    """Restore ``trainer`` from the checkpoint at ``path`` (same configuration).

    Raises
    ------
    UserInputError
        One line naming ``path`` when the file does not belong to this run; ``trainer`` is
        left untouched then.
    """
    ckpt = read(path)
    problem = mismatch(trainer, ckpt)
    if problem:
        raise UserInputError(f"{path}: does not match this run ({problem}); {FIX}")
    try:
        _restore(trainer, ckpt)
    except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise UserInputError(f"{path}: does not match this run ({_reason(exc)}); "
                             f"{FIX}") from None


def _restore(trainer: Trainer, ckpt: dict[str, Any]) -> None:
    trainer.model.load_state_dict(ckpt["model"])
    if isinstance(trainer.prior, nn.Module) and ckpt["prior"] is not None:
        trainer.prior.load_state_dict(ckpt["prior"])
    state = dict(ckpt["state"])
    device = next(trainer.model.parameters()).device
    for key in ("best_model", "best_prior"):
        if state.get(key) is not None:
            state[key] = {k: v.to(device) for k, v in state[key].items()}
    state.setdefault("in_epoch", None)
    trainer.state = state
    if state["phase"] > 0:
        trainer._new_optimizers(state["phase"])
    for k, opt in trainer._optimizers().items():
        opt.load_state_dict(ckpt["optimizers"][k])
    set_rng_state(ckpt["rng"], trainer.generators)


# -- validation ---------------------------------------------------------------------------


def mismatch(trainer: Trainer, ckpt: dict[str, Any]) -> str:
    """Why ``ckpt`` cannot continue ``trainer``'s run ("" when it can)."""
    checks = (
        lambda: _tensors_match(ckpt["model"], trainer.model.state_dict(), "model"),
        lambda: _prior_matches(trainer, ckpt["prior"]),
        lambda: _state_matches(trainer, ckpt["state"]),
        lambda: _optimizers_match(trainer, ckpt["optimizers"]),
        lambda: _rng_matches(trainer, ckpt["rng"]),
    )
    for check in checks:
        problem = check()
        if problem:
            return problem
    return ""


def _tensors_match(saved: Any, expected: dict[str, torch.Tensor], what: str) -> str:
    if not isinstance(saved, dict):
        return f"{what} is a {type(saved).__name__}, not a state_dict"
    for key, ref in expected.items():
        if key not in saved:
            return f"{what} has no tensor {key!r}"
        got = saved[key]
        if not isinstance(got, torch.Tensor):
            return f"{what} entry {key!r} is not a tensor"
        if tuple(got.shape) != tuple(ref.shape):
            return (f"{what} tensor {key!r} has shape {tuple(got.shape)}, this run's has "
                    f"{tuple(ref.shape)}")
    extra = [k for k in saved if k not in expected]
    if extra:
        return f"{what} has a tensor {extra[0]!r} this run's model does not have"
    return ""


def _prior_matches(trainer: Trainer, saved: Any) -> str:
    prior = trainer.prior
    if not isinstance(prior, nn.Module):
        return ""
    if saved is None:
        return "no prior state, but this run's prior has parameters" if trainer.learnable else ""
    return _tensors_match(saved, prior.state_dict(), "prior")


def _state_matches(trainer: Trainer, state: Any) -> str:
    if not isinstance(state, dict):
        return f"'state' is a {type(state).__name__}, not a dict"
    missing = [k for k in STATE_KEYS if k not in state]
    if missing:
        return f"missing key 'state.{missing[0]}'"
    for key in ("epoch", "phase", "phase_epoch", "best_epoch", "bad_epochs"):
        if not isinstance(state[key], int) or isinstance(state[key], bool) or state[key] < 0:
            return f"'state.{key}' is {_short(state[key])}, not a count"
    if state["phase"] >= len(trainer.phases):
        return (f"phase {state['phase']} but this run has {len(trainer.phases)} phase(s) "
                f"({', '.join(trainer.phases)})")
    if not isinstance(state["history"], list) or len(state["history"]) != state["epoch"]:
        return "'state.history' does not have one row per finished epoch"
    if state["best_model"] is not None:
        problem = _tensors_match(state["best_model"], trainer.model.state_dict(), "best model")
        if problem:
            return problem
    if trainer.learnable:
        if state["best_prior"] is None:
            return "no best prior state, but this run's prior has parameters"
        problem = _tensors_match(state["best_prior"], trainer.prior.state_dict(), "best prior")
        if problem:
            return problem
    return _progress_matches(trainer, state.get("in_epoch"))


def _progress_matches(trainer: Trainer, progress: Any) -> str:
    if progress is None:
        return ""
    if not isinstance(progress, dict) or any(
            k not in progress for k in ("batches", "done", "task_losses", "priors", "seconds")):
        return "'state.in_epoch' is incomplete"
    batches, done = progress["batches"], progress["done"]
    n = trainer.x_train.shape[0]
    if (not isinstance(batches, list) or not all(isinstance(b, torch.Tensor) for b in batches)
            or sum(b.numel() for b in batches) != n):
        return f"the saved epoch's batches do not cover this run's {n} training samples"
    if any(b.numel() and (int(b.min()) < 0 or int(b.max()) >= n) for b in batches):
        return "the saved epoch's batches index rows outside the training data"
    if (not isinstance(done, int) or not 0 <= done <= len(batches)
            or len(progress["task_losses"]) != done or len(progress["priors"]) != done):
        return "the saved epoch's progress is inconsistent"
    return ""


def _optimizers_match(trainer: Trainer, saved: Any) -> str:
    if not isinstance(saved, dict):
        return "'optimizers' is not a dict"
    for name, opt in trainer._optimizers().items():
        if name not in saved:
            return f"no state of the {name!r} optimiser"
        state = saved[name]
        if not isinstance(state, dict) or "param_groups" not in state or "state" not in state:
            return f"the {name!r} optimiser state is not a state_dict"
        params = [p for g in opt.param_groups for p in g["params"]]
        ids = [i for g in state["param_groups"] for i in g.get("params", [])]
        if len(ids) != len(params):
            return (f"the {name!r} optimiser has {len(ids)} parameters, this run's has "
                    f"{len(params)}")
        shapes = dict(zip(ids, (tuple(p.shape) for p in params), strict=True))
        for pid, pstate in state["state"].items():
            if pid not in shapes or not isinstance(pstate, dict):
                return f"the {name!r} optimiser state names an unknown parameter"
            for key, value in pstate.items():
                if (isinstance(value, torch.Tensor) and value.dim() > 0
                        and tuple(value.shape) != shapes[pid]):
                    return (f"the {name!r} optimiser's {key!r} has shape "
                            f"{tuple(value.shape)}, its parameter {shapes[pid]}")
    return ""


def _rng_matches(trainer: Trainer, rng: Any) -> str:
    if not isinstance(rng, dict):
        return "'rng' is not a dict"
    for key in ("torch", "numpy", "python", "generators"):
        if key not in rng:
            return f"missing key 'rng.{key}'"
    if not isinstance(rng["torch"], torch.Tensor) or rng["torch"].dtype != torch.uint8:
        return "'rng.torch' is not a torch RNG state"
    gens = rng["generators"]
    if not isinstance(gens, dict) or any(k not in gens for k in trainer.generators):
        return "'rng.generators' lacks a generator of this run"
    return ""


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _reason(exc: BaseException, limit: int = 100) -> str:
    """The informative line of an exception's message, shortened (torch's loader writes many
    lines; for a file ``weights_only`` refuses, the line naming the refused global)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    if text.startswith("Weights only load failed"):
        named = [ln for ln in lines if "GLOBAL" in ln or "Unsupported" in ln]
        detail = named[0] if named else next(
            (ln for ln in lines if "WeightsUnpickler error" in ln), "not a plain tensor file")
        text = "refused by weights_only: " + detail.split("WeightsUnpickler error:")[-1].strip()
    else:
        text = text.split(". ")[0].rstrip(".")  # the first sentence
    return text if len(text) <= limit else text[:limit - 3] + "..."
