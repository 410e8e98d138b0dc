"""The expected-gradients engine: post-hoc and training-time attributions.

One engine serves both uses. Post-hoc (:func:`expected_gradients`, :func:`integrated_gradients`,
:func:`input_gradients`) evaluates input gradients in bounded blocks without parameter
gradients; training-time (:func:`training_attributions`) is differentiable w.r.t. the
parameters. Both run the model in :func:`attribution_mode` (dropout off, batch-norm on running
statistics) and take a first-linear-layer fast path when the model allows it. Knows nothing of
genes.
"""

from aprior_cli.attribution.fastpath import split_first_linear
from aprior_cli.attribution.modes import attribution_mode
from aprior_cli.attribution.posthoc import (
    AttributionResult,
    attribute_pairs,
    draw_pairs,
    expected_gradients,
    input_gradients,
    integrated_gradients,
)
from aprior_cli.attribution.targets import select_output
from aprior_cli.attribution.training import training_attributions

__all__ = [
    "AttributionResult",
    "attribute_pairs",
    "attribution_mode",
    "draw_pairs",
    "expected_gradients",
    "input_gradients",
    "integrated_gradients",
    "select_output",
    "split_first_linear",
    "training_attributions",
]
