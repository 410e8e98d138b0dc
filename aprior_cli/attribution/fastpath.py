"""The first-linear-layer fast path.

For a model ``f(z) = rest(W z + b)`` whose first module is an ``nn.Linear``, the first-layer output
of an interpolant ``z = x' + a (x - x')`` is ``h' + a (h - h')`` with ``h = W x + b`` and
``h' = W x' + b`` (the layer is affine). With references taken from the batch itself (training)
or from a fixed reference set (post-hoc), ``h`` and ``h'`` are computed once, so the
``(rows, p) x (p, H)`` product of the interpolants -- the dominant cost for wide genomic inputs --
disappears. The gradient w.r.t. the input is recovered exactly as ``dF/dz = (dF/dh) W``.

Precision (post-hoc): inputs far from zero (e.g. raw intensities around 1e4) make ``h`` and
``h'`` large while their difference is small, so ``h - h'`` in float32 loses digits. The post-hoc
path therefore works with *centred* first-layer outputs ``W (x - c)`` and ``W (x' - c)`` (``c`` the
references' mean) and adds the constant ``W c + b``, computed once in float64, to each
interpolant (:func:`centred_first_layer`).

Which models qualify: an ``nn.Sequential`` whose first module is an ``nn.Linear``, optionally
preceded by one per-feature affine module (``aprior_cli.models.Standardize``, or any module with
``affine_coefficients() -> (scale (p,), shift (p,))`` meaning ``forward(x) = x * scale + shift``;
the pair is then one affine layer with weight ``W * scale``), or any module that defines
``split_first_linear() -> (nn.Linear, nn.Module)`` with ``model(z) == rest(linear(z))``. Every
other model takes the generic path.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F  # noqa: N812


class ScaledLinear(nn.Module):
    """``x -> linear(x * scale + shift)``: a per-feature affine map followed by a linear layer.

    Exposes ``weight`` (``W * scale``, the effective weight w.r.t. ``x``) and ``in_features`` like
    ``nn.Linear``, so the fast path treats the pair as one affine first layer.
    """

    def __init__(self, pre: nn.Module, linear: nn.Linear) -> None:
        super().__init__()
        self.pre, self.linear = pre, linear
        self.in_features = linear.in_features

    @property
    def weight(self) -> Tensor:
        scale, _ = _affine_coefficients(self.pre)
        return self.linear.weight * scale.to(self.linear.weight.dtype)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(self.pre(x))


def _affine_coefficients(module: nn.Module) -> tuple[Tensor, Tensor]:
    hook = getattr(module, "affine_coefficients", None)
    if callable(hook):
        return hook()
    return 1.0 / module.std, -module.mean / module.std  # Standardize: (x - mean) / std


def _is_per_feature_affine(module: nn.Module) -> bool:
    if callable(getattr(module, "affine_coefficients", None)):
        return True
    try:
        from aprior_cli.models import Standardize
    except ImportError:  # pragma: no cover - models module absent
        return False
    return isinstance(module, Standardize)


def split_first_linear(model: nn.Module) -> tuple[nn.Module, nn.Module] | None:
    """``(first_layer, rest)`` such that ``model(z) == rest(first_layer(z))``, or ``None``.

    ``first_layer`` is an ``nn.Linear`` or a :class:`ScaledLinear` (both have ``weight`` and
    ``in_features``).
    """
    hook = getattr(model, "split_first_linear", None)
    if callable(hook):
        split = hook()
        if split is not None:
            linear, rest = split
            if isinstance(linear, nn.Linear):
                return linear, rest
        return None
    if isinstance(model, nn.Sequential) and len(model) >= 1 and isinstance(model[0], nn.Linear):
        rest = model[1:] if len(model) > 1 else nn.Identity()
        return model[0], rest
    if (isinstance(model, nn.Sequential) and len(model) >= 2 and isinstance(model[1], nn.Linear)
            and _is_per_feature_affine(model[0])):
        rest = model[2:] if len(model) > 2 else nn.Identity()
        return ScaledLinear(model[0], model[1]), rest
    return None


def usable_split(model: nn.Module, n_features: int, enabled: bool) -> tuple[nn.Module, nn.Module] | None:
    """The split when the fast path is ``enabled`` and the first layer takes ``n_features`` inputs."""
    if not enabled:
        return None
    split = split_first_linear(model)
    if split is None or split[0].in_features != n_features:
        return None
    return split


def input_gradient(grad_hidden: Tensor, linear: nn.Module) -> Tensor:
    """Gradient w.r.t. the layer input from the gradient w.r.t. its output: ``(rows, H) @ (H, p)``."""
    return grad_hidden @ linear.weight


def centred_first_layer(first: nn.Module, centre: Tensor) -> tuple[Tensor, Tensor]:
    """Weight and constant of ``first`` around ``centre``: ``first(z) = W (z - c) + first(c)``.

    Parameters
    ----------
    first
        An ``nn.Linear`` or a :class:`ScaledLinear` (per-feature affine, then linear).
    centre
        ``c``, ``(p,)``.

    Returns
    -------
    weight, constant
        ``W`` ``(H, p)`` (the effective weight w.r.t. the input, as ``first.weight``) and
        ``first(c)`` ``(H,)``, computed in float64 and returned in the weight's dtype, so an
        interpolant's first-layer output ``constant + W (z - c)`` keeps its digits when ``z``
        is far from zero.
    """
    weight = first.weight
    c64 = centre.detach().to(torch.float64)
    if isinstance(first, ScaledLinear):
        linear = first.linear
        c64 = _affine_float64(first.pre, c64)
    else:
        linear = first
    constant = linear.weight.detach().to(torch.float64) @ c64
    if linear.bias is not None:
        constant = constant + linear.bias.detach().to(torch.float64)
    return weight, constant.to(weight.dtype)


def _affine_float64(module: nn.Module, z: Tensor) -> Tensor:
    """The per-feature affine ``module`` applied to float64 ``z``, in float64.

    ``Standardize`` is evaluated as ``(z - mean) / std`` rather than ``z * scale + shift``: its
    float32 ``shift = -mean / std`` is large and rounded for inputs far from zero.
    """
    hook = getattr(module, "affine_coefficients", None)
    if not callable(hook) and hasattr(module, "mean") and hasattr(module, "std"):
        return (z - module.mean.detach().to(torch.float64)) / module.std.detach().to(torch.float64)
    scale, shift = _affine_coefficients(module)
    return z * scale.detach().to(torch.float64) + shift.detach().to(torch.float64)


def centred_hidden(x_centred: Tensor, weight: Tensor, chunk: int) -> Tensor:
    """``W (x - c)`` for centred rows ``(N, p)`` in blocks of ``chunk`` rows; ``(N, H)``."""
    return torch.cat([F.linear(x_centred[i:i + chunk], weight)
                      for i in range(0, x_centred.shape[0], chunk)])
