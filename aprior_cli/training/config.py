"""The training configuration: every option with its default, YAML loading and validation.

One table (:data:`OPTIONS`) describes every key: its type, default, allowed values and help.
``aprior train`` turns each key into a command-line option (``batch_size`` -> ``--batch-size``),
a YAML file may set any of them, and the precedence is defaults < YAML < command line. The
resolved configuration (every key) is saved as ``config.yaml`` in the run directory.
``lambda`` may be a number, ``auto`` (:mod:`~aprior_cli.training.auto_lambda`) or a list (a
grid: one run per value, in ``<outdir>/lambda_<value>``). Cross-option checks:
:mod:`~aprior_cli.training.config_checks`.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import Any

import yaml

from aprior_cli.errors import UserInputError
from aprior_cli.training import config_checks
from aprior_cli.training.config_checks import validate
from aprior_cli.training.config_values import Option, coerce_value, copy_value

PRIORS = ("none", "graph", "gini", "sparsity", "l1", "l2", "dapr")
ATTRIBUTIONS = ("eg", "ig", "grad")


OPTIONS: tuple[Option, ...] = (
    # inputs
    Option("expression", "path", None, "Expression table: samples as rows, first column the "
           "sample id, one column per gene.", required=True),
    Option("labels", "path", None, "Labels table: columns sample, target, optional group, "
           "batch and covariates.", required=True),
    Option("graph", "path", None, "Gene graph .npz (aprior graph) for --prior graph; also used "
           "for the test-set graph penalty."),
    Option("eval_graph", "path", None, "Graph .npz for the reported test-set graph penalty "
           "(default: --graph). Use the real graph here when training on a random graph."),
    Option("meta_features", "path", None, "Meta-feature table for --prior dapr (first column "
           "gene id)."),
    Option("covariates", "strs", [], "Label columns appended as inputs after the genes "
           "(never graph nodes); non-numeric ones are one-hot encoded."),
    Option("expression_long", "strs", [], "Read --expression as a long table: its SAMPLE,GENE,"
           "VALUE columns, e.g. model_id,gene_symbol,fpkm (one row per sample and gene)."),
    Option("sample_column", "str", "sample", "Labels column holding the sample id (.h5ad: "
           "obs_names unless an .obs column is named)."),
    Option("target_column", "str", "target", "Labels column holding the target."),
    Option("group_column", "str", None, "Labels column holding the group (patient) id "
           "[default: 'group' if present]."),
    Option("batch_column", "str", None, "Labels column holding the batch [default: 'batch' "
           "if present]; recorded for preprocess --batch-column."),
    Option("labels_where", "multi", [], "Keep label rows with COLUMN=VALUE (or COLUMN!=VALUE), "
           "e.g. DRUG_NAME=Olaparib; repeatable (same column: any value; columns: all)."),
    Option("unmatched_labels", "str", "error", "Label rows whose sample has no expression: "
           "error, or drop them (counted in a warning and in metrics.json).",
           choices=("error", "drop")),
    # task and model
    Option("task", "str", "regression", "Prediction task.",
           choices=("regression", "binary", "multiclass")),
    Option("target_scaling", "str", "standard", "Regression: z-score the target with the "
           "training samples' mean/sd while training (metrics, predictions and attributions "
           "are reported in original units), or none.", choices=("standard", "none")),
    Option("hidden", "ints", [512, 256], "Hidden layer sizes, e.g. 512,256 (empty: linear)."),
    Option("activation", "str", "relu", "Hidden activation.",
           choices=("relu", "elu", "gelu", "tanh", "softplus", "sigmoid")),
    Option("dropout", "float", 0.0, "Dropout probability after each hidden layer.", minimum=0.0),
    Option("batch_norm", "bool", False, "Batch normalisation after each hidden linear layer."),
    Option("batch_norm_mode", "str", "train", "Batch-norm statistics of the training-time "
           "attributions: train = the batch's (the function the task step trains), eval = "
           "the running ones.", choices=("train", "eval")),
    Option("standardize", "bool", False, "Standardise inputs with training-split mean/std "
           "(stored in the model, so attributions are on the raw columns)."),
    # prior
    Option("prior", "str", "none", "Attribution prior.", choices=PRIORS),
    Option("attribution", "str", "eg", "Attribution the prior penalises: expected gradients, "
           "integrated gradients or plain input gradients.", choices=ATTRIBUTIONS),
    Option("lambda", "lambda", 0.0, "Prior strength: a number, 'auto' (lambda*Omega = 5 % of "
           "the task loss when the prior switches on) or a comma-separated grid (one run per value)."),
    Option("select", "str", "best", "Lambda grid: choose a run on validation (selection.json): "
           "best, one-se (smallest lambda within 1 s.e.) or none.",
           choices=("best", "one-se", "none")),
    Option("k", "int", 1, "References per sample for training-time expected gradients.",
           minimum=1),
    Option("schedule", "str", "joint", "joint: task + lambda*Omega every step after the "
           "warm-up; fine-tune: plain training to convergence, then epochs of a task step and "
           "a lambda*Omega step sharing one optimiser.", choices=("joint", "fine-tune")),
    Option("fine_tune_epochs", "int", 50, "Alternating epochs after plain training "
           "(--schedule fine-tune).", minimum=1),
    Option("fine_tune_lr", "float", None, "Learning rate of the fine-tune phase's optimiser "
           "(default: --lr).", minimum=0.0),
    Option("warmup_epochs", "int", 5, "Plain epochs first: the joint schedule's prior is off "
           "and lambda auto is calibrated after them; early stopping neither keeps nor counts "
           "an epoch before their end (every run, the baseline too).", minimum=0),
    Option("prior_update", "str", "joint", "Learnable priors (e.g. DAPr): joint = one backward, "
           "both optimisers step; alternating = a step of the model, then one of the prior.",
           choices=("joint", "alternating")),
    Option("dapr_lr", "float", None, "Learning rate of a learnable prior such as DAPr's g "
           "(default: 10 x --lr).", minimum=0.0),
    Option("dapr_refit_steps", "int", 2000, "DAPr: after training, g is refitted for up to "
           "this many full-batch steps on the kept model's EG of the training samples "
           "(0: keep g as trained).", minimum=0),
    Option("dapr_hidden", "ints", [], "DAPr: hidden layer sizes of g, the meta-feature -> "
           "importance network, e.g. 5,3 (empty: linear g)."),
    Option("dapr_missing", "str", "exclude", "DAPr: genes without meta-features are not "
           "penalised (exclude) or get the mean meta-feature vector and are penalised towards "
           "g(mean) (impute-mean). Covariates are never penalised.",
           choices=("exclude", "impute-mean")),
    Option("dapr_noise", "bool", False, "DAPr control: replace the meta-features by seeded "
           "N(0, 1) noise of the same shape (seed: --seed)."),
    Option("dapr_attribution", "str", "abs", "DAPr: what g(M) is compared with: |phi| per "
           "sample (abs, the authors' drug-response choice), signed phi (signed, their "
           "two-moons choice) or mean |phi| over the batch (phibar).",
           choices=("abs", "signed", "phibar")),
    # optimisation
    Option("epochs", "int", 500, "Maximum training epochs.", minimum=1),
    Option("batch_size", "int", 32, "Mini-batch size.", minimum=2),
    Option("lr", "float", 1e-4, "Learning rate.", minimum=0.0),
    Option("optimizer", "str", "adam", "Optimiser.", choices=("adam", "sgd")),
    Option("momentum", "float", 0.9, "SGD momentum.", minimum=0.0),
    Option("weight_decay", "float", 1e-2, "Optimiser weight decay (L2).", minimum=0.0),
    Option("param_penalty", "str", "none", "Parameter-penalty baseline.",
           choices=("none", "l1", "l2", "sgl")),
    Option("param_penalty_layers", "str", "first", "Layers the parameter penalty covers.",
           choices=("first", "all")),
    Option("param_penalty_lambda", "float", 0.0, "Strength of the parameter penalty.",
           minimum=0.0),
    Option("patience", "int", 30, "Early stopping: epochs without validation improvement "
           "after the warm-up (0: no early stopping, the last epoch is kept).", minimum=0),
    Option("monitor", "str", "loss", "Validation quantity early stopping watches: the task loss "
           "or the task's metric (r2 / auc / accuracy).", choices=("loss", "metric")),
    # data split
    Option("split", "str", "random", "How samples are split.",
           choices=("random", "stratified", "group", "file")),
    Option("split_file", "path", None, "Table with columns sample, split (--split file)."),
    Option("val_fraction", "float", 0.2, "Validation fraction.", minimum=0.0),
    Option("test_fraction", "float", 0.2, "Test fraction.", minimum=0.0),
    # evaluation
    Option("eval_n_samples", "int", 100, "References per sample for the test-set expected "
           "gradients in metrics.json.", minimum=1),
    # reproducibility and hardware
    Option("seed", "int", 0, "Random seed (split, initialisation, batch order, references).",
           minimum=0),
    Option("device", "str", "auto", "auto (CUDA when available), cpu or cuda[:i]."),
    Option("threads", "int", None, "CPU threads for torch [default: $SLURM_CPUS_PER_TASK].", minimum=1),
)

OPTIONS_BY_NAME = {o.name: o for o in OPTIONS}


def _field_name(key: str) -> str:
    return "lambda_" if key == "lambda" else key


class _ConfigMethods:
    """Methods of :class:`TrainConfig` (its fields come from :data:`OPTIONS`)."""

    def to_dict(self) -> dict[str, Any]:
        """Keys as in YAML (``lambda``, not ``lambda_``), in :data:`OPTIONS` order."""
        return {o.name: copy_value(getattr(self, _field_name(o.name))) for o in OPTIONS}

    def lambdas(self) -> list[float | str]:
        """The lambda grid (a single value is a grid of one)."""
        lam = self.lambda_  # type: ignore[attr-defined]
        return list(lam) if isinstance(lam, list) else [lam]

    def with_lambda(self, value: float | str) -> TrainConfig:
        return dataclasses.replace(self, lambda_=value)  # type: ignore[type-var]


#: Every training option as an attribute (``cfg.lr``, ``cfg.lambda_``); one field per entry of
#: :data:`OPTIONS`, with its default, so the table is the only list of keys.
TrainConfig = dataclasses.make_dataclass(
    "TrainConfig",
    [(_field_name(o.name), Any, field(default_factory=lambda v=o.default: copy_value(v)))
     for o in OPTIONS],
    bases=(_ConfigMethods,),
)
TrainConfig.__module__ = __name__
TrainConfig.__doc__ = "Every training option (see :data:`OPTIONS` for meaning and defaults)."


def coerce(key: str, value: Any, source: str = "config") -> Any:
    """Check and convert one value for ``key`` (see :func:`coerce_value`)."""
    return coerce_value(OPTIONS_BY_NAME[key], value, source)


def check_keys(mapping: Mapping[str, Any], source: str) -> None:
    """Reject unknown keys, suggesting the closest known one."""
    for key in mapping:
        if key in config_checks.LEGACY_KEYS:
            raise UserInputError(config_checks.legacy_key_message(key, source))
        if key not in OPTIONS_BY_NAME:
            close = difflib.get_close_matches(str(key), list(OPTIONS_BY_NAME), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UserInputError(f"{source}: unknown key {key!r}{hint}")


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file into a dict of known keys (values checked)."""
    from aprior_cli.io.files import read_text_file  # missing, a directory, not UTF-8: one line

    try:
        data = yaml.safe_load(read_text_file(path, "config file"))
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()[0]
        raise UserInputError(f"{path}: invalid YAML ({first})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserInputError(f"{path}: config must be a mapping of key: value")
    check_keys(data, str(path))
    return {k: coerce(k, v, str(path)) for k, v in data.items()}


def resolve(yaml_values: Mapping[str, Any] | None = None,
            cli_values: Mapping[str, Any] | None = None) -> TrainConfig:
    """Defaults < YAML < command line (``None`` on the command line means "not given").

    Raises
    ------
    UserInputError
        Unknown or ill-typed keys, missing required keys (``expression``, ``labels``), or
        inconsistent options.
    """
    values = {o.name: copy_value(o.default) for o in OPTIONS}
    explicit: set[str] = set()
    for source, given in (("config", yaml_values or {}), ("command line", cli_values or {})):
        check_keys(given, source)
        for key, value in given.items():
            if source == "command line" and value is None:
                continue
            values[key] = coerce(key, value, source)
            explicit.add(key)
    config_checks.shorten_default_warmup(values, explicit)
    for opt in OPTIONS:
        if opt.required and values[opt.name] in (None, ""):
            raise UserInputError(f"missing required key {opt.name!r} (in --config or as "
                                 f"--{opt.name.replace('_', '-')})")
    cfg = TrainConfig(**{_field_name(k): v for k, v in values.items()})
    validate(cfg)
    return cfg


def save_yaml(cfg: TrainConfig) -> str:
    """The resolved config as YAML text (every key)."""
    return yaml.safe_dump(cfg.to_dict(), sort_keys=False, default_flow_style=None)


def from_run_yaml(text: str, source: str) -> TrainConfig:
    """Parse a saved ``config.yaml`` (all keys present) back into a :class:`TrainConfig`."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise UserInputError(f"{source}: invalid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise UserInputError(f"{source}: config must be a mapping")
    data = config_checks.migrate_legacy(data)  # a run directory written before a key was renamed
    check_keys(data, source)
    values = {o.name: copy_value(o.default) for o in OPTIONS}
    values.update({k: coerce(k, v, source) for k, v in data.items()})
    return TrainConfig(**{_field_name(k): v for k, v in values.items()})
