"""How dropout and batch-norm behave while attributions are computed.

Decision (as in the attribution-prior papers): the attribution pass runs the model in
**evaluation mode** -- dropout is off and batch-norm uses its running statistics -- so that an
attribution is a property of the function the model computes, not of one random dropout mask
or of the (interpolated) mini-batch's statistics. Batch-norm running statistics are therefore
not updated by the attribution pass. Each module's previous ``training`` flag is restored on
exit, also when an exception is raised. Gradients still flow to the parameters, so the
training-time attributions stay differentiable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn


@contextmanager
def attribution_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` (all submodules) in eval mode for the block; restore every flag after."""
    flags = [(module, module.training) for module in model.modules()]
    try:
        model.eval()
        yield model
    finally:
        for module, flag in flags:
            module.training = flag
