"""Deep attribution priors (DAPr): learn which genes should matter from their meta-features.

Pure computation (no files, no click): :mod:`~aprior_cli.dapr.metafeatures` (join, coverage,
policy, standardisation), :mod:`~aprior_cli.dapr.prior_net` (g), :mod:`~aprior_cli.dapr.penalty`
(the learnable prior and its factory), :mod:`~aprior_cli.dapr.explain` (second-order EG and
partial dependence of g), :mod:`~aprior_cli.dapr.baselines` (controls), :mod:`~aprior_cli.dapr.fit`
(a minimal loop for the experiments), :mod:`~aprior_cli.dapr.moons` and
:mod:`~aprior_cli.dapr.drug_response` (the experiments).
"""

from aprior_cli.dapr.explain import (
    dapr_output_tables,
    g_weights_table,
    partial_dependence,
    predicted_importance_table,
    second_order_attributions,
)
from aprior_cli.dapr.metafeatures import (
    POLICIES,
    MetaFeatureJoin,
    join_meta_features,
    noise_meta_features,
)
from aprior_cli.dapr.penalty import ATTRIBUTION_MODES, DAPrPrior, build_dapr_prior
from aprior_cli.dapr.prior_net import PriorNet

__all__ = [
    "ATTRIBUTION_MODES",
    "DAPrPrior",
    "MetaFeatureJoin",
    "POLICIES",
    "PriorNet",
    "build_dapr_prior",
    "dapr_output_tables",
    "g_weights_table",
    "join_meta_features",
    "noise_meta_features",
    "partial_dependence",
    "predicted_importance_table",
    "second_order_attributions",
]
