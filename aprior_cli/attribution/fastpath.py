"""The first-linear-layer fast path.

For a model ``f(z) = rest(W z + b)`` whose first module is an ``nn.Linear``, the first-layer output
of an interpolant ``z = x' + a (x - x')`` is ``h' + a (h - h')`` with ``h = W x + b`` and
``h' = W x' + b`` (the layer is affine). With references taken from the batch itself (training)
or from a fixed reference set (post-hoc), ``h`` and ``h'`` are computed once, so the
``(rows, p) x (p, H)`` product of the interpolants -- the dominant cost for wide genomic inputs --
disappears. The gradient w.r.t. the input is recovered exactly as ``dF/dz = (dF/dh) W``.

Which models qualify: an ``nn.Sequential`` whose first module is an ``nn.Linear``, or any module
that defines ``split_first_linear() -> (nn.Linear, nn.Module)`` with ``model(z) ==
rest(linear(z))``. Every other model takes the generic path.
"""

from __future__ import annotations

from torch import Tensor, nn


def split_first_linear(model: nn.Module) -> tuple[nn.Linear, nn.Module] | None:
    """``(first_linear, rest)`` such that ``model(z) == rest(first_linear(z))``, or ``None``."""
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
    return None


def usable_split(model: nn.Module, n_features: int, enabled: bool) -> tuple[nn.Linear, nn.Module] | None:
    """The split when the fast path is ``enabled`` and the first layer takes ``n_features`` inputs."""
    if not enabled:
        return None
    split = split_first_linear(model)
    if split is None or split[0].in_features != n_features:
        return None
    return split


def input_gradient(grad_hidden: Tensor, linear: nn.Linear) -> Tensor:
    """Gradient w.r.t. the layer input from the gradient w.r.t. its output: ``(rows, H) @ (H, p)``."""
    return grad_hidden @ linear.weight
