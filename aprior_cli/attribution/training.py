"""Attributions inside the training loop, differentiable w.r.t. the model parameters.

Expected gradients (EG) with ``k`` references per sample taken from the mini-batch itself:
reference ``j`` of sample ``b`` is sample ``(b - s_j) mod B`` for ``k`` distinct random shifts
``s_j in 1..B-1`` (no extra data is read), with one ``alpha ~ U(0, 1)`` per (sample, reference)
drawn on the batch's device. The ``k * B`` interpolants go through the model in ONE batched
forward, and the input gradients are taken with ``create_graph=True`` so a prior on the
attributions back-propagates into the parameters (double back-propagation).

Integrated gradients use the midpoint rule with ``k`` steps between a fixed baseline (zeros by
default) and ``x``; ``"grad"`` is the plain input gradient ``df/dx`` (Ross et al.'s baseline).

The attribution pass runs in :func:`~aprior_cli.attribution.modes.attribution_mode` (dropout off;
batch-norm on running statistics, or on the batch's with ``batch_norm="train"``). For models
whose first module is ``nn.Linear`` the first-layer fast path
(:mod:`~aprior_cli.attribution.fastpath`) is used unless ``fast_path=False``; with
``return_output=True`` the task output ``model(x)`` (in the model's current mode) shares the
first-layer product with the attribution pass.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from aprior_cli.attribution.fastpath import input_gradient, usable_split
from aprior_cli.attribution.modes import attribution_mode
from aprior_cli.attribution.targets import Target, check_target, repeat_target, select_output
from aprior_cli.errors import UserInputError

METHODS = ("eg", "ig", "grad")


def _check_batch(x: Tensor) -> None:
    if not isinstance(x, Tensor):
        raise UserInputError(f"inputs: expected a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 2:
        raise UserInputError(f"inputs: expected shape (batch, features), got {tuple(x.shape)}")
    if not x.dtype.is_floating_point:
        raise UserInputError(f"inputs: expected a floating-point tensor, got {x.dtype}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise UserInputError(f"inputs: empty batch of shape {tuple(x.shape)}")


def _baseline_rows(baseline: Tensor | None, x: Tensor) -> Tensor:
    """Baseline broadcast to ``(B, p)`` (zeros when ``None``)."""
    if baseline is None:
        return torch.zeros_like(x)
    baseline = torch.as_tensor(baseline, dtype=x.dtype, device=x.device)
    if baseline.shape == x.shape[1:]:
        return baseline.expand_as(x)
    if baseline.shape == x.shape:
        return baseline
    raise UserInputError(
        f"baseline: expected shape ({x.shape[1]},) or {tuple(x.shape)}, got {tuple(baseline.shape)}"
    )


def _draw_shifts_and_alpha(
    batch: int, k: int, generator: torch.Generator | None, device: torch.device, dtype: torch.dtype
) -> tuple[Tensor, Tensor]:
    gen_device = generator.device if generator is not None else device
    shifts = torch.randperm(batch - 1, generator=generator, device=gen_device)[:k] + 1
    alpha = torch.rand((k, batch, 1), generator=generator, device=gen_device, dtype=dtype)
    return shifts.to(device), alpha.to(device)


def training_attributions(
    model: nn.Module,
    x: Tensor,
    method: str = "eg",
    k: int = 1,
    target: Target = None,
    generator: torch.Generator | None = None,
    baseline: Tensor | None = None,
    *,
    fast_path: bool = True,
    return_output: bool = False,
    batch_norm: str = "eval",
) -> Tensor | tuple[Tensor, Tensor]:
    """Attributions of a mini-batch, differentiable w.r.t. the model parameters.

    Parameters
    ----------
    model
        Maps ``(rows, p)`` to ``(rows,)``, ``(rows, 1)`` or ``(rows, C)``.
    x
        Mini-batch ``(B, p)``; for EG also the reference pool (needs ``B >= 2``, ``k <= B - 1``).
    method
        ``"eg"`` (expected gradients), ``"ig"`` (integrated gradients from ``baseline``) or
        ``"grad"`` (plain input gradients).
    k
        EG: references per sample; IG: integration steps; ignored for ``"grad"``.
    target
        ``None`` (single output), ``int`` or LongTensor ``(B,)``; see
        :mod:`~aprior_cli.attribution.targets`.
    generator
        Source of the EG shifts and alphas (CPU or on ``x``'s device); ``None`` = torch's global RNG.
    baseline
        IG baseline, ``(p,)`` or ``(B, p)``; zeros when ``None``.
    fast_path
        Use the first-linear-layer fast path when the model qualifies.
    return_output
        Also return ``model(x)`` computed in the model's current (training) mode.
    batch_norm
        ``"eval"`` (running statistics) or ``"train"`` (a training-mode batch-norm keeps the
        batch's statistics); see :func:`~aprior_cli.attribution.modes.attribution_mode`.

    Returns
    -------
    ``phi`` ``(B, p)`` with ``create_graph=True`` history, or ``(phi, output)``.
    """
    _check_batch(x)
    if method not in METHODS:
        raise UserInputError(f"method: unknown attribution method {method!r}; use one of {METHODS}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise UserInputError(f"k: expected a positive integer, got {k!r}")
    batch, n_features = x.shape
    if method == "eg" and batch < 2:
        raise UserInputError("inputs: expected gradients with in-batch references needs a batch of >= 2")
    if method == "eg" and k > batch - 1:
        raise UserInputError(
            f"k: {k} references per sample need a batch of more than {k} samples (got {batch})"
        )
    check_target(target, batch)
    if method != "ig" and baseline is not None:
        raise UserInputError(f"baseline: only used by method 'ig', not {method!r}")

    split = usable_split(model, n_features, fast_path)
    hidden = None
    output = None
    if return_output:
        if split is not None:
            hidden = split[0](x)
            output = split[1](hidden)
        else:
            output = model(x)

    with attribution_mode(model, batch_norm), torch.enable_grad():
        if method == "grad":
            reps, alpha, refs, delta = 1, None, None, None
        elif method == "eg":
            reps = k
            shifts, alpha = _draw_shifts_and_alpha(batch, k, generator, x.device, x.dtype)
            ref_rows = (torch.arange(batch, device=x.device).unsqueeze(0) - shifts.unsqueeze(1)) % batch
            refs = x[ref_rows]  # (k, B, p)
            delta = x.unsqueeze(0) - refs
        else:
            reps = k
            refs = _baseline_rows(baseline, x).unsqueeze(0)  # (1, B, p)
            alpha = ((torch.arange(k, device=x.device, dtype=x.dtype) + 0.5) / k).view(k, 1, 1)
            delta = x.unsqueeze(0) - refs
        tgt = repeat_target(target, reps)

        if split is None:
            if method == "grad":
                z = x.detach().requires_grad_(True)
            else:
                z = (refs + alpha * delta).reshape(reps * batch, n_features).detach()
                z.requires_grad_(True)
            out = select_output(model(z), tgt)
            (grads,) = torch.autograd.grad(out.sum(), z, create_graph=True)
        else:
            linear, rest = split
            h = hidden if hidden is not None else linear(x)
            if method == "grad":
                hz = h
            elif method == "eg":
                h_ref = h[ref_rows]
                hz = (h_ref + alpha * (h.unsqueeze(0) - h_ref)).reshape(reps * batch, -1)
            else:
                h_ref = linear(refs[0]).unsqueeze(0)
                hz = (h_ref + alpha * (h.unsqueeze(0) - h_ref)).reshape(reps * batch, -1)
            if not hz.requires_grad:  # frozen first layer: make the interpolant a leaf
                hz = hz.detach().requires_grad_(True)
            out = select_output(rest(hz), tgt)
            (grad_h,) = torch.autograd.grad(out.sum(), hz, create_graph=True)
            grads = input_gradient(grad_h, linear)

        if method == "grad":
            phi = grads
        else:
            phi = (grads.view(reps, batch, n_features) * delta).mean(0)
    if return_output:
        return phi, output
    return phi
