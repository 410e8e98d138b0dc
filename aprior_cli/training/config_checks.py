"""Cross-option checks of a resolved training configuration, and keys that were renamed.

:func:`validate` runs after defaults < YAML < command line are merged (one line per problem);
:data:`LEGACY_KEYS` names keys that no longer exist and says what replaced them, so an old
config fails with a useful line and an old run directory's ``config.yaml`` still loads.
"""

from __future__ import annotations

from typing import Any

from aprior_cli.errors import UserInputError

#: removed key -> the keys that took over its meanings (an old value sets all of them)
LEGACY_KEYS: dict[str, tuple[str, ...]] = {
    "prior_lr": ("fine_tune_lr", "dapr_lr"),
}


def legacy_key_message(key: str, source: str) -> str:
    """The one-line error for a removed key (see :data:`LEGACY_KEYS`)."""
    new = LEGACY_KEYS[key]
    flags = " and ".join(f"{k} (--{k.replace('_', '-')})" for k in new)
    return (f"{source}: key {key!r} was split into {flags}: the fine-tune prior step's and "
            "DAPr's g's learning rates are separate options now")


def migrate_legacy(data: dict[str, Any]) -> dict[str, Any]:
    """A saved config with removed keys replaced by their successors (same meaning)."""
    out = dict(data)
    for old, new in LEGACY_KEYS.items():
        if old in out:
            value = out.pop(old)
            for key in new:
                out.setdefault(key, value)
    return out


def shorten_default_warmup(values: dict[str, Any], explicit: set[str]) -> None:
    """A default warm-up as long as ``epochs`` becomes ``epochs - 1`` (a given one is checked
    by :func:`validate`): short runs (``--epochs 3``) keep working without naming it."""
    if "warmup_epochs" not in explicit and values["warmup_epochs"] >= values["epochs"]:
        values["warmup_epochs"] = max(int(values["epochs"]) - 1, 0)


def validate(cfg: Any) -> None:
    """Cross-option checks of a :class:`~aprior_cli.training.config.TrainConfig`."""
    if cfg.prior == "graph" and not cfg.graph:
        raise UserInputError("--prior graph needs --graph (an .npz from aprior graph)")
    if cfg.prior == "dapr" and not cfg.meta_features:
        raise UserInputError("--prior dapr needs --meta-features")
    if cfg.split == "file" and not cfg.split_file:
        raise UserInputError("--split file needs --split-file")
    if cfg.val_fraction + cfg.test_fraction >= 1:
        raise UserInputError("--val-fraction + --test-fraction must be < 1")
    if cfg.dropout >= 1:
        raise UserInputError(f"--dropout must be < 1, got {cfg.dropout}")
    if cfg.prior == "none" and any(v == "auto" or (isinstance(v, float) and v > 0)
                                   for v in cfg.lambdas()):
        raise UserInputError("--lambda > 0 needs a --prior (graph, gini, l1, l2, dapr)")
    if any(h < 1 for h in cfg.dapr_hidden):
        raise UserInputError(f"--dapr-hidden sizes must be >= 1, got "
                             f"{','.join(map(str, cfg.dapr_hidden))}")
    if cfg.param_penalty != "none" and cfg.param_penalty_lambda <= 0:
        raise UserInputError("--param-penalty needs --param-penalty-lambda > 0")
    if cfg.warmup_epochs >= cfg.epochs:
        raise UserInputError(f"--warmup-epochs ({cfg.warmup_epochs}) must be < --epochs "
                             f"({cfg.epochs}): early stopping keeps an epoch after the warm-up")
