"""Post-hoc attributions of a trained model: expected gradients, integrated gradients, gradients.

Expected gradients (Erion et al.)::

    phi_i(x) = E_{x' ~ references, a ~ U(0,1)} [ (x_i - x'_i) * df(x' + a (x - x'))/dx_i ]

estimated with ``n_samples`` (reference, alpha) pairs per input drawn by a seeded generator on
the model's device. The pairs are evaluated in blocks of at most ``chunk_size`` interpolant
rows, with gradients w.r.t. the interpolants only (parameters' ``requires_grad`` is switched
off for the pass and restored; no ``create_graph``), so memory stays flat as the number of
samples grows. Models whose first module is ``nn.Linear`` use the first-layer fast path
(:mod:`~aprior_cli.attribution.fastpath`): the interpolants' first-layer outputs are
interpolations of the inputs' and references' first-layer outputs, computed once.

The model runs in :func:`~aprior_cli.attribution.modes.attribution_mode` (eval mode).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from aprior_cli.attribution.fastpath import (
    centred_first_layer,
    centred_hidden,
    input_gradient,
    usable_split,
)
from aprior_cli.attribution.modes import attribution_mode
from aprior_cli.attribution.targets import Target, check_target, n_outputs, select_output
from aprior_cli.errors import UserInputError

#: default bound on the elements of one (rows, p) block buffer (32 MiB in float32)
DEFAULT_CHUNK_ELEMENTS = 2**23


@dataclass
class AttributionResult:
    """Attributions of ``N`` inputs over ``p`` features.

    Attributes
    ----------
    attributions
        ``(N, p)``.
    stderr
        ``(N, p)`` Monte-Carlo standard error of each attribution (std of the per-pair
        contributions / sqrt(n_samples)), or ``None``.
    completeness_residual
        ``(N,)`` ``sum_i phi_i - (f(x) - mean f(x'))`` (the mean over each input's drawn
        references; for IG ``f(baseline)``), or ``None``.
    """

    attributions: Tensor
    stderr: Tensor | None = None
    completeness_residual: Tensor | None = None


def model_device(model: nn.Module, fallback: torch.device | None = None) -> torch.device:
    """Device of the model's first parameter or buffer (``fallback`` or CPU when it has none)."""
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return fallback or torch.device("cpu")


@contextmanager
def frozen_parameters(model: nn.Module) -> Iterator[None]:
    """Switch ``requires_grad`` off for all parameters for the block; restore after."""
    params = [p for p in model.parameters() if p.requires_grad]
    try:
        for p in params:
            p.requires_grad_(False)
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def _as_matrix(name: str, value: Tensor, device: torch.device, n_features: int | None = None) -> Tensor:
    if not isinstance(value, Tensor):
        try:
            value = torch.as_tensor(value)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise UserInputError(f"{name}: expected a numeric array, got {type(value).__name__}") from exc
    if value.dim() != 2:
        raise UserInputError(f"{name}: expected shape (rows, features), got {tuple(value.shape)}")
    if value.shape[0] == 0:
        raise UserInputError(f"{name}: is empty (0 rows)")
    if not value.dtype.is_floating_point:
        value = value.float()
    if n_features is not None and value.shape[1] != n_features:
        raise UserInputError(
            f"{name}: has {value.shape[1]} features but the inputs have {n_features}"
        )
    return value.detach().to(device)


def _check_positive(name: str, value: int | None, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UserInputError(f"{name}: expected a positive integer, got {value!r}")


def _prepare(model: nn.Module, inputs: Tensor, target: Target, chunk_size: int | None,
             device: torch.device | str | None) -> tuple[torch.device, Tensor, Target]:
    """Shared checks of the post-hoc entry points: device, ``inputs (N, p)``, chunk size, target.

    Returns the device, the inputs on it and the target (a per-sample tensor moved to it).
    """
    dev = torch.device(device) if device is not None else model_device(model)
    inputs = _as_matrix("inputs", inputs, dev)
    _check_positive("chunk_size", chunk_size, allow_none=True)
    check_target(target, inputs.shape[0])
    if isinstance(target, Tensor):
        target = target.to(dev)
    return dev, inputs, target


def draw_pairs(
    n_inputs: int,
    n_references: int,
    n_samples: int,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[Tensor, Tensor]:
    """Draw EG pairs: reference indices ``(N, S)`` (uniform with replacement) then alphas ``(N, S)``."""
    device = torch.device(device) if device is not None else (
        generator.device if generator is not None else torch.device("cpu"))
    gen_device = generator.device if generator is not None else device
    ref_idx = torch.randint(n_references, (n_inputs, n_samples), generator=generator, device=gen_device)
    alpha = torch.rand((n_inputs, n_samples), generator=generator, device=gen_device, dtype=dtype)
    return ref_idx.to(device), alpha.to(device)


def default_chunk_rows(n_features: int) -> int:
    """Interpolant rows per block so that one ``(rows, p)`` buffer holds ~``2**23`` elements."""
    return max(16, DEFAULT_CHUNK_ELEMENTS // max(1, n_features))


def _blocks(n_inputs: int, n_samples: int, chunk: int) -> Iterator[tuple[int, int, int, int]]:
    """``(n0, n1, s0, s1)`` blocks of whole inputs (``chunk >= S``) or of one input's pairs."""
    if chunk >= n_samples:
        per = chunk // n_samples
        for n0 in range(0, n_inputs, per):
            yield n0, min(n_inputs, n0 + per), 0, n_samples
    else:
        for n0 in range(n_inputs):
            for s0 in range(0, n_samples, chunk):
                yield n0, n0 + 1, s0, min(n_samples, s0 + chunk)


def _rows(table: Tensor, idx: Tensor) -> Tensor:
    """``table[idx]`` for a 2-D ``idx`` via ``index_select`` (faster than advanced indexing)."""
    return table.index_select(0, idx.reshape(-1)).view(*idx.shape, table.shape[1])


def _rows_target(target: Target, n0: int, n1: int, reps: int) -> Target:
    if isinstance(target, Tensor):
        return target[n0:n1].repeat_interleave(reps)
    return target


def _forward_selected(model: nn.Module, rows: Tensor, target: Target, chunk: int) -> Tensor:
    """``select_output(model(rows), target)`` without gradients, in blocks; ``(rows,)``."""
    outs = []
    with torch.no_grad():
        for r0 in range(0, rows.shape[0], chunk):
            tgt = target[r0:r0 + chunk] if isinstance(target, Tensor) else target
            outs.append(select_output(model(rows[r0:r0 + chunk]), tgt))
    return torch.cat(outs)


def _reference_outputs(model: nn.Module, references: Tensor, ref_idx: Tensor, target: Target,
                       chunk: int) -> Tensor:
    """``f(x'_{ref_idx[n, s]})`` for each input's target, ``(N, S)``."""
    with torch.no_grad():
        outs = torch.cat([model(references[r0:r0 + chunk])
                          for r0 in range(0, references.shape[0], chunk)])
    if outs.dim() == 1:
        outs = outs.unsqueeze(1)
    n_out = outs.shape[1]
    if target is None:
        if n_out > 1:
            raise UserInputError(f"target: the model has {n_out} outputs; give an output index")
        return outs[:, 0][ref_idx]
    if isinstance(target, int):
        return outs[:, target][ref_idx]
    return outs[ref_idx, target.to(outs.device).unsqueeze(1).expand_as(ref_idx)]


def attribute_pairs(
    model: nn.Module,
    inputs: Tensor,
    references: Tensor,
    ref_idx: Tensor,
    alpha: Tensor,
    target: Target = None,
    chunk_size: int | None = None,
    return_stderr: bool = False,
    completeness: bool = False,
    fast_path: bool = True,
) -> AttributionResult:
    """Path attributions averaged over given pairs: the engine behind EG and IG.

    ``phi[n] = mean_s (x_n - r_s) * grad f(r_s + alpha[n, s] (x_n - r_s))`` with
    ``r_s = references[ref_idx[n, s]]``; inputs ``(N, p)``, references ``(R, p)``,
    ``ref_idx`` LongTensor ``(N, S)``, ``alpha`` ``(N, S)``. All tensors on the model's device.
    """
    n_inputs, n_features = inputs.shape
    n_samples = ref_idx.shape[1]
    chunk = chunk_size or default_chunk_rows(n_features)
    _check_positive("chunk_size", chunk)
    alpha = alpha.to(inputs.dtype)
    # float64 sums only when the variance (a difference of sums) is wanted; otherwise the
    # accumulator is output-sized and stays in the inputs' dtype
    acc_dtype = torch.float64 if return_stderr else inputs.dtype
    acc = torch.zeros((n_inputs, n_features), dtype=acc_dtype, device=inputs.device)
    acc_sq = torch.zeros_like(acc) if return_stderr else None

    with attribution_mode(model), frozen_parameters(model), torch.enable_grad():
        # probe the output shape once to validate the target before the long loop
        with torch.no_grad():
            n_out = n_outputs(model(inputs[:1]))
        check_target(target, n_inputs, n_out)
        split = usable_split(model, n_features, fast_path)
        if split is not None:
            linear, rest = split
            # centred first-layer outputs W (x - c), W (x' - c) and the float64-exact constant
            # W c + b (c = the references' mean): no difference of two large numbers is formed,
            # so inputs far from zero keep float32 accuracy (module docstring of fastpath)
            with torch.no_grad():
                centre = references.double().mean(0).to(inputs.dtype)
                weight, h_centre = centred_first_layer(linear, centre)
                x_c, r_c = inputs - centre, references - centre
                h_in = centred_hidden(x_c, weight, chunk)
                h_ref = centred_hidden(r_c, weight, chunk)
        for n0, n1, s0, s1 in _blocks(n_inputs, n_samples, chunk):
            m, length = n1 - n0, s1 - s0
            idx = ref_idx[n0:n1, s0:s1]
            a = alpha[n0:n1, s0:s1].unsqueeze(2)
            x_block = inputs[n0:n1].unsqueeze(1)
            tgt = _rows_target(target, n0, n1, length)
            if split is None:
                delta = _rows(references, idx).neg_().add_(x_block)  # (m, L, p) = x - x'
                z = (x_block - (1.0 - a) * delta).reshape(m * length, n_features)
                z.requires_grad_(True)
                out = select_output(model(z), tgt)
                (grads,) = torch.autograd.grad(out.sum(), z)
                del z
                contrib = grads.view(m, length, n_features).mul_(delta)
                del delta, grads
                block_sum = contrib.sum(1)
            else:
                hr = _rows(h_ref, idx)
                hz = hr.add_(a * (h_in[n0:n1].unsqueeze(1) - hr)).add_(h_centre)
                hz = hz.reshape(m * length, -1)
                hz.requires_grad_(True)
                out = select_output(rest(hz), tgt)
                (grad_h,) = torch.autograd.grad(out.sum(), hz)
                del hz, hr
                grads = input_gradient(grad_h, linear).view(m, length, n_features)
                if acc_sq is None:
                    # sum_s g_s * (x - x'_s) = (x - c) * sum_s g_s - sum_s g_s * (x'_s - c): no
                    # delta buffer, and centred so the two terms do not cancel for inputs far
                    # from zero; sum_s g_s = (sum_s dF/dh_s) W costs only (m, H) x (H, p)
                    grad_sum = input_gradient(grad_h.view(m, length, -1).sum(1), linear)
                    block_sum = grad_sum.mul_(x_c[n0:n1]).sub_(
                        grads.mul_(_rows(r_c, idx)).sum(1))
                    contrib = None
                else:
                    contrib = grads.mul_(_rows(references, idx).neg_().add_(x_block))
                    block_sum = contrib.sum(1)
                del grads, grad_h
            acc[n0:n1] += block_sum
            if acc_sq is not None:
                acc_sq[n0:n1] += contrib.square_().sum(1, dtype=torch.float64)
            del contrib, block_sum

        phi = acc.div_(n_samples)
        stderr = None
        if acc_sq is not None:
            if n_samples > 1:
                var = (acc_sq - n_samples * phi.square()).clamp_min(0.0) / (n_samples - 1)
                stderr = (var / n_samples).sqrt().to(inputs.dtype)
            else:
                stderr = torch.full_like(inputs, math.nan)
        residual = None
        if completeness:
            if split is None:
                f_x = _forward_selected(model, inputs, target, chunk)
                f_ref = _reference_outputs(model, references, ref_idx, target, chunk)
            else:  # from the centred first-layer outputs (same precision as phi)
                f_x = _forward_selected(rest, h_in + h_centre, target, chunk)
                f_ref = _reference_outputs(rest, h_ref + h_centre, ref_idx, target, chunk)
            residual = (phi.double().sum(1) - (f_x.double() - f_ref.double().mean(1))).to(inputs.dtype)
    return AttributionResult(phi.to(inputs.dtype), stderr, residual)


def expected_gradients(
    model: nn.Module,
    inputs: Tensor,
    references: Tensor,
    n_samples: int = 200,
    target: Target = None,
    chunk_size: int | None = None,
    seed: int | None = None,
    generator: torch.Generator | None = None,
    return_stderr: bool = False,
    completeness: bool = False,
    device: torch.device | str | None = None,
    fast_path: bool = True,
) -> AttributionResult:
    """Post-hoc expected gradients of ``inputs`` ``(N, p)`` against ``references`` ``(R, p)``.

    Parameters
    ----------
    n_samples
        (reference, alpha) pairs per input (100-200 converge).
    target
        ``None`` (single-output model), ``int`` or LongTensor ``(N,)``.
    chunk_size
        Interpolant rows per forward/backward (memory bound); default ~``2**23 / p``.
    seed, generator
        Pairs are drawn by ``generator``, else by a new generator seeded with ``seed`` on the
        model's device, else by torch's global RNG. See :func:`draw_pairs` for the order.
    return_stderr, completeness
        Also return the Monte-Carlo standard error / the completeness residual.
    device
        Where to compute (default: the model's device; the model is not moved).
    fast_path
        Use the first-linear-layer fast path when the model qualifies.
    """
    dev, inputs, target = _prepare(model, inputs, target, chunk_size, device)
    references = _as_matrix("references", references, dev, inputs.shape[1])
    _check_positive("n_samples", n_samples)
    if generator is None and seed is not None:
        generator = torch.Generator(device=dev).manual_seed(int(seed))
    ref_idx, alpha = draw_pairs(inputs.shape[0], references.shape[0], n_samples, generator, dev,
                                inputs.dtype)
    return attribute_pairs(model, inputs, references, ref_idx, alpha, target, chunk_size,
                           return_stderr, completeness, fast_path)


def integrated_gradients(
    model: nn.Module,
    inputs: Tensor,
    baseline: Tensor | None = None,
    n_steps: int = 50,
    target: Target = None,
    chunk_size: int | None = None,
    completeness: bool = False,
    device: torch.device | str | None = None,
    fast_path: bool = True,
) -> AttributionResult:
    """Integrated gradients from ``baseline`` (zeros, ``(p,)`` or ``(N, p)``), midpoint rule."""
    dev, inputs, target = _prepare(model, inputs, target, chunk_size, device)
    _check_positive("n_steps", n_steps)
    n_inputs, n_features = inputs.shape
    if baseline is None:
        references = torch.zeros((1, n_features), dtype=inputs.dtype, device=dev)
    else:
        baseline = torch.as_tensor(baseline, dtype=inputs.dtype, device=dev)
        if baseline.shape == (n_features,):
            references = baseline.unsqueeze(0)
        elif baseline.shape == (n_inputs, n_features):
            references = baseline
        else:
            raise UserInputError(
                f"baseline: expected shape ({n_features},) or ({n_inputs}, {n_features}), "
                f"got {tuple(baseline.shape)}"
            )
    rows = torch.arange(n_inputs, device=dev) if references.shape[0] > 1 else \
        torch.zeros(n_inputs, dtype=torch.long, device=dev)
    ref_idx = rows.unsqueeze(1).expand(n_inputs, n_steps)
    alpha = ((torch.arange(n_steps, device=dev, dtype=inputs.dtype) + 0.5) / n_steps)
    alpha = alpha.unsqueeze(0).expand(n_inputs, n_steps)
    return attribute_pairs(model, inputs, references, ref_idx, alpha, target, chunk_size,
                           False, completeness, fast_path)


def input_gradients(
    model: nn.Module,
    inputs: Tensor,
    target: Target = None,
    chunk_size: int | None = None,
    device: torch.device | str | None = None,
) -> AttributionResult:
    """Plain input gradients ``df/dx`` ``(N, p)`` (no multiplication by the input)."""
    _, inputs, target = _prepare(model, inputs, target, chunk_size, device)
    chunk = chunk_size or default_chunk_rows(inputs.shape[1])
    parts = []
    with attribution_mode(model), frozen_parameters(model), torch.enable_grad():
        for r0 in range(0, inputs.shape[0], chunk):
            z = inputs[r0:r0 + chunk].detach().clone().requires_grad_(True)
            tgt = target[r0:r0 + chunk] if isinstance(target, Tensor) else target
            out = select_output(model(z), tgt)
            (grads,) = torch.autograd.grad(out.sum(), z)
            parts.append(grads)
    return AttributionResult(torch.cat(parts))
