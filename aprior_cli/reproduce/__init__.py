"""Reproductions of the attribution-prior paper's headline results (Erion et al. 2021).

One module per experiment, each with ``FULL`` and ``QUICK`` settings (frozen dataclasses with a
``replicates`` field), ``REQUIRED`` (files needed under the shared data folder; empty for
synthetic data) and ``run(settings, seed, data_dir) -> ExperimentResult``.
"""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path
from types import ModuleType

from aprior_cli.errors import UserInputError
from aprior_cli.reproduce.common import ExperimentResult, find_data_dir

EXPERIMENTS: dict[str, str] = {
    "attribution-benchmark": "attribution_benchmark",
    "nhanes-sparsity": "nhanes_sparsity",
    "expression-graph": "expression_graph",
    "eg-convergence": "eg_convergence",
}


def experiment_module(name: str) -> ModuleType:
    """The module implementing experiment ``name`` (see :data:`EXPERIMENTS`)."""
    if name not in EXPERIMENTS:
        raise UserInputError(f"EXPERIMENT: unknown experiment {name!r}; use one of "
                             f"{', '.join(EXPERIMENTS)}")
    return importlib.import_module(f"aprior_cli.reproduce.{EXPERIMENTS[name]}")


def resolve(name: str, quick: bool = False, replicates: int | None = None,
            data_dir: str | Path | None = None) -> tuple[ModuleType, object, Path | None]:
    """Validate the request before any computation: the module, its settings (``replicates``
    overridden when given) and the data folder (``None`` for synthetic experiments)."""
    module = experiment_module(name)
    settings = module.QUICK if quick else module.FULL
    if replicates is not None:
        if replicates < 1:
            raise UserInputError(f"--replicates: must be >= 1, got {replicates}")
        settings = dataclasses.replace(settings, replicates=int(replicates))
    root = find_data_dir(data_dir, module.REQUIRED) if module.REQUIRED else None
    return module, settings, root


def run_experiment(name: str, quick: bool = False, seed: int = 0,
                   replicates: int | None = None, data_dir: str | Path | None = None
                   ) -> ExperimentResult:
    """Run experiment ``name`` (``--quick`` settings when ``quick``)."""
    module, settings, root = resolve(name, quick, replicates, data_dir)
    return module.run(settings=settings, seed=seed, data_dir=root)


__all__ = ["EXPERIMENTS", "ExperimentResult", "experiment_module", "resolve", "run_experiment"]
