"""aprior: attribution priors for biology.

Train neural networks whose expected-gradients explanations obey prior biological knowledge
(gene graphs, sparsity, learned meta-feature priors) and turn the attributions into pathway
findings.

Layers: pure computation modules (arrays/tensors/tables in and out) -> ``aprior_cli.io``
(formats, atomic writes) -> ``aprior_cli.cli`` (thin click commands).
"""

__version__ = "0.1.0"
