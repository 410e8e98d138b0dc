"""How dropout and batch-norm behave while attributions are computed.

Decision (as in the attribution-prior papers): the attribution pass runs the model in
**evaluation mode** -- dropout is off -- so that an attribution is a property of the function
the model computes, not of one random dropout mask. Batch-norm has a choice
(``batch_norm``):

``"eval"`` (post-hoc attributions, always)
    running statistics: the function the trained model computes at prediction time;
``"train"`` (training-time attributions, ``aprior train --batch-norm-mode train``, the default
there)
    a batch-norm module that was in training mode keeps using the statistics of the batch it
    sees (for expected gradients, the batch of interpolants), so the prior acts on the same
    batch-statistics function the task loss trains (the authors' sparsity script trains this
    way); its running statistics are *not* updated by the attribution pass.

Each module's previous ``training`` flag (and a batch-norm module's momentum and batch
counter) is restored on exit, also when an exception is raised. Gradients still flow to the
parameters, so the training-time attributions stay differentiable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn

BATCH_NORM_MODES = ("eval", "train")


@contextmanager
def attribution_mode(model: nn.Module, batch_norm: str = "eval") -> Iterator[nn.Module]:
    """Put ``model`` in eval mode for the block (batch-norm: see the module docstring)."""
    if batch_norm not in BATCH_NORM_MODES:
        raise ValueError(f"batch_norm must be one of {BATCH_NORM_MODES}, got {batch_norm!r}")
    flags = [(module, module.training) for module in model.modules()]
    frozen = []
    try:
        model.eval()
        if batch_norm == "train":
            for module, was_training in flags:
                if isinstance(module, nn.modules.batchnorm._BatchNorm) and was_training:
                    counter = module.num_batches_tracked
                    frozen.append((module, module.momentum,
                                   None if counter is None else counter.clone()))
                    module.momentum = 0.0  # running = 1 * running + 0 * batch: unchanged
                    module.train()
        yield model
    finally:
        for module, flag in flags:
            module.training = flag
        for module, momentum, counter in frozen:
            module.momentum = momentum
            if counter is not None:
                module.num_batches_tracked.copy_(counter)
