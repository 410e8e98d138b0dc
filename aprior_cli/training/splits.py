"""Train / validation / test assignment of samples.

Methods
-------
random
    A seeded permutation; ``round(n * test_fraction)`` test and ``round(n * val_fraction)``
    validation samples.
stratified
    The same within each class, so every split keeps the class proportions (classifiers).
group
    Whole groups (e.g. patients) are assigned, so no group appears in two splits; groups are
    shuffled and taken until each split holds at least its fraction of samples.
file
    A given table with columns ``sample, split`` (``train``/``val``/``test``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from aprior_cli.errors import UserInputError
from aprior_cli.messages import capped

SPLIT_METHODS = ("random", "stratified", "group", "file")
SPLIT_NAMES = ("train", "val", "test")


def _check_fractions(val_fraction: float, test_fraction: float) -> None:
    for name, f in (("--val-fraction", val_fraction), ("--test-fraction", test_fraction)):
        if not 0.0 <= f < 1.0:
            raise UserInputError(f"{name} must be in [0, 1), got {f}")
    if val_fraction + test_fraction >= 1.0:
        raise UserInputError(f"--val-fraction + --test-fraction must be < 1, got "
                             f"{val_fraction + test_fraction:g}")


def _assign(order: np.ndarray, n_val: int, n_test: int, out: np.ndarray) -> None:
    out[order[:n_test]] = "test"
    out[order[n_test:n_test + n_val]] = "val"
    out[order[n_test + n_val:]] = "train"


def random_split(n: int, val_fraction: float, test_fraction: float, seed: int) -> np.ndarray:
    """Split ``n`` samples at random; returns an array (n,) of ``train``/``val``/``test``."""
    _check_fractions(val_fraction, test_fraction)
    rng = np.random.default_rng(seed)
    out = np.empty(n, dtype=object)
    _assign(rng.permutation(n), round(n * val_fraction), round(n * test_fraction), out)
    return out


def stratified_split(y: np.ndarray, val_fraction: float, test_fraction: float,
                     seed: int, option: str = "--split") -> np.ndarray:
    """Split within each class of ``y`` (n,) so each split keeps the class proportions."""
    _check_fractions(val_fraction, test_fraction)
    y = np.asarray(y)
    check_categorical(y, option)
    rng = np.random.default_rng(seed)
    out = np.empty(y.size, dtype=object)
    for cls in sorted(set(y.tolist()), key=str):
        members = np.flatnonzero(y == cls)
        order = members[rng.permutation(members.size)]
        _assign(order, round(members.size * val_fraction), round(members.size * test_fraction),
                out)
    return out


def check_categorical(y: np.ndarray, option: str = "--split") -> None:
    """Refuse a target that cannot be stratified: more distinct values than half the samples
    (a continuous target: each value would be its own class, rounded to zero val/test members)
    or a class with fewer than 2 samples."""
    values, counts = np.unique(np.asarray(y).astype(str), return_counts=True)
    hint = f"use {option} random or group (or bin the target)"
    if values.size > y.size / 2:
        raise UserInputError(f"{option} stratified: target looks continuous ({values.size} "
                             f"distinct values in {y.size} samples); {hint}")
    if counts.min() < 2:
        small = str(values[counts.argmin()])
        raise UserInputError(f"{option} stratified: class {small!r} has only {counts.min()} "
                             f"sample; every class needs at least 2; {hint}")


def check_split_sizes(out: np.ndarray, val_fraction: float, test_fraction: float,
                      method: str, option: str = "--split") -> None:
    """No split that was asked for (fraction > 0) may come out empty."""
    n = out.size
    for name, fraction in (("train", 1.0), ("val", val_fraction), ("test", test_fraction)):
        if fraction > 0 and not np.any(out == name):
            option = {"val": "--val-fraction", "test": "--test-fraction"}.get(name)
            why = (f"{option} {fraction:g} of {n} samples rounds to none" if option
                   else f"no samples left for training ({n} in all)")
            raise UserInputError(f"{option} {method}: the {name} split is empty ({why}); "
                                 "use larger fractions or more samples")


def group_split(groups: np.ndarray, val_fraction: float, test_fraction: float,
                seed: int) -> np.ndarray:
    """Assign whole groups: no group in two splits.

    Groups are shuffled; test takes groups until it holds ``>= n * test_fraction`` samples,
    then validation likewise; the rest is training.
    """
    _check_fractions(val_fraction, test_fraction)
    groups = np.asarray(groups).astype(str)
    unique = np.array(sorted(set(groups.tolist())))
    if unique.size < 1 + (val_fraction > 0) + (test_fraction > 0):
        raise UserInputError(f"group split needs at least one group per split; found "
                             f"{unique.size} group(s)")
    rng = np.random.default_rng(seed)
    unique = unique[rng.permutation(unique.size)]
    sizes = {g: int(np.sum(groups == g)) for g in unique}
    n = groups.size
    assignment: dict[str, str] = {}
    i = 0
    for name, fraction in (("test", test_fraction), ("val", val_fraction)):
        target, taken = n * fraction, 0
        # keep at least one group for training
        while fraction > 0 and taken < target and i < unique.size - 1:
            assignment[unique[i]] = name
            taken += sizes[unique[i]]
            i += 1
    for g in unique[i:]:
        assignment[g] = "train"
    return np.array([assignment[g] for g in groups], dtype=object)


def split_from_table(table: pd.DataFrame, samples: Sequence[str],
                     source: str = "--split-file") -> np.ndarray:
    """Read the split of each of ``samples`` from a ``sample, split`` table."""
    missing_cols = [c for c in ("sample", "split") if c not in table.columns]
    if missing_cols:
        raise UserInputError(f"{source}: needs columns 'sample' and 'split' "
                             f"(missing {', '.join(missing_cols)})")
    table = table.astype({"sample": str, "split": str})
    if table["sample"].duplicated().any():
        raise UserInputError(f"{source}: duplicated sample "
                             f"{table['sample'][table['sample'].duplicated()].iloc[0]!r}")
    bad = sorted(set(table["split"]) - set(SPLIT_NAMES))
    if bad:
        raise UserInputError(f"{source}: unknown split name(s) {bad}; use train, val, test")
    mapping = dict(zip(table["sample"], table["split"], strict=True))
    missing = [s for s in samples if s not in mapping]
    if missing:
        raise UserInputError(f"{source}: {len(missing)} sample(s) have no split, e.g. "
                             f"{capped(missing)}")
    unknown = [s for s in mapping if s not in set(samples)]
    if unknown:
        raise UserInputError(f"{source}: {len(unknown)} sample(s) are not in the labels, e.g. "
                             f"{capped(unknown)}")
    return np.array([mapping[s] for s in samples], dtype=object)


def make_split(method: str, samples: Sequence[str], val_fraction: float, test_fraction: float,
               seed: int, y: np.ndarray | None = None, groups: np.ndarray | None = None,
               table: pd.DataFrame | None = None, option: str = "--split") -> np.ndarray:
    """Dispatch to the split ``method``; returns ``train``/``val``/``test`` per sample (n,).

    Every split asked for (fraction > 0) must come out non-empty; ``option`` names the
    method's option in messages (``--split`` for train, ``--method`` for ``aprior split``).
    """
    n = len(samples)
    if method == "random":
        out = random_split(n, val_fraction, test_fraction, seed)
    elif method == "stratified":
        if y is None:
            raise UserInputError("--split stratified needs class targets")
        out = stratified_split(y, val_fraction, test_fraction, seed, option)
    elif method == "group":
        if groups is None:
            raise UserInputError("--split group needs a 'group' column in the labels")
        out = group_split(groups, val_fraction, test_fraction, seed)
    elif method == "file":
        if table is None:
            raise UserInputError("--split file needs --split-file")
        out = split_from_table(table, samples)
    else:
        raise UserInputError(f"--split: unknown method {method!r}; use {', '.join(SPLIT_METHODS)}")
    if method == "file":
        if not np.any(out == "train"):
            raise UserInputError(f"--split file: no training samples ({n} samples in all)")
    else:
        check_split_sizes(out, val_fraction, test_fraction, method, option)
    return out
