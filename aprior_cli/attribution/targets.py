"""Choosing the model output that is explained, and validating it.

``target`` means the same thing everywhere in :mod:`aprior_cli.attribution`:

* ``None``  -- the model has a single output: its output must have shape ``(B,)`` or ``(B, 1)``;
* ``int``   -- that output column, for every sample;
* ``LongTensor (B,)`` -- one output column per sample (e.g. the true class).

A target that does not exist is an error, never a silent fallback to output 0.
"""

from __future__ import annotations

import torch
from torch import Tensor

from aprior_cli.errors import UserInputError

Target = int | Tensor | None


def n_outputs(output: Tensor) -> int:
    """Number of output columns of a model output of shape ``(B,)``, ``(B, 1)`` or ``(B, C)``."""
    if output.dim() == 1:
        return 1
    if output.dim() == 2:
        return int(output.shape[1])
    raise UserInputError(
        f"model output has shape {tuple(output.shape)}; expected (B,), (B, 1) or (B, C)"
    )


def check_target(target: Target, n_rows: int, n_out: int | None = None) -> Target:
    """Validate ``target`` for ``n_rows`` samples (and ``n_out`` output columns, when known).

    Returns the target unchanged (an int, ``None``, or a 1-D integer tensor).
    """
    if target is None:
        if n_out is not None and n_out > 1:
            raise UserInputError(
                f"target: the model has {n_out} outputs; give an output index or one "
                "index per sample (e.g. the true class)"
            )
        return None
    if isinstance(target, bool):
        raise UserInputError("target: must be an int or an integer tensor, not a bool")
    if isinstance(target, int):
        if target < 0 or (n_out is not None and target >= n_out):
            limit = f"0..{n_out - 1}" if n_out is not None else ">= 0"
            raise UserInputError(f"target: output index {target} is out of range ({limit})")
        return target
    if isinstance(target, Tensor):
        if target.dtype.is_floating_point or target.dtype == torch.bool or target.is_complex():
            raise UserInputError(f"target: expected an integer tensor, got dtype {target.dtype}")
        if target.dim() != 1 or target.shape[0] != n_rows:
            raise UserInputError(
                f"target: expected shape ({n_rows},) (one index per sample), "
                f"got {tuple(target.shape)}"
            )
        if target.numel():
            lo, hi = int(target.min()), int(target.max())
            if lo < 0 or (n_out is not None and hi >= n_out):
                limit = f"0..{n_out - 1}" if n_out is not None else ">= 0"
                raise UserInputError(
                    f"target: per-sample output indices span {lo}..{hi}, out of range ({limit})"
                )
        return target
    raise UserInputError(f"target: expected None, an int or a LongTensor, got {type(target).__name__}")


def select_output(output: Tensor, target: Target) -> Tensor:
    """The explained output per sample.

    Parameters
    ----------
    output
        Model output, shape ``(B,)``, ``(B, 1)`` or ``(B, C)``.
    target
        ``None``, an ``int`` or a LongTensor ``(B,)`` (see the module docstring).

    Returns
    -------
    Tensor ``(B,)``, differentiable w.r.t. ``output``.
    """
    n_out = n_outputs(output)
    target = check_target(target, int(output.shape[0]), n_out)
    if output.dim() == 1:
        return output
    if target is None:
        return output[:, 0]
    if isinstance(target, int):
        return output[:, target]
    return output.gather(1, target.to(output.device, torch.long).unsqueeze(1)).squeeze(1)


def repeat_target(target: Target, repeats: int) -> Target:
    """Target for ``repeats`` stacked copies of a batch (rows ordered copy-major: ``r * B + b``)."""
    if isinstance(target, Tensor):
        return target.repeat(repeats)
    return target


def gather_target(target: Target, rows: Tensor) -> Target:
    """Target of the given sample rows (per-sample targets are indexed, others pass through)."""
    if isinstance(target, Tensor):
        return target.to(rows.device)[rows]
    return target
