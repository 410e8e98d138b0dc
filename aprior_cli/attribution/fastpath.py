"""The first-linear-layer fast path.

For a model ``f(z) = rest(W z + b)`` whose first module is an ``nn.Linear``, the first-layer output
of an interpolant ``z = x' + a (x - x')`` is ``h' + a (h - h')`` with ``h = W x + b`` and
``h' = W x' + b`` (the layer is affine). With references taken from the batch itself (training)
or from a fixed reference set (post-hoc), ``h`` and ``h'`` are computed once, so the
``(rows, p) x (p, H)`` product of the interpolants -- the dominant cost for wide genomic inputs --
disappears. The gradient w.r.t. the input is recovered exactly as ``dF/dz = (dF/dh) W``.

Which models qualify: an ``nn.Sequential`` whose first module is an ``nn.Linear``, optionally
preceded by one per-feature affine module (``aprior_cli.models.Standardize``, or any module with
``affine_coefficients() -> (scale (p,), shift (p,))`` meaning ``forward(x) = x * scale + shift``;
the pair is then one affine layer with weight ``W * scale``), or any module that defines
``split_first_linear() -> (nn.Linear, nn.Module)`` with ``model(z) == rest(linear(z))``. Every
other model takes the generic path.
"""

from __future__ import annotations

from torch import Tensor, nn


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
