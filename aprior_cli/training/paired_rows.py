"""Labels whose rows are (sample, something) pairs, and labels with samples lacking expression.

Beat AML-style drug response has one row per (patient specimen, drug): the sample id repeats,
and the model input is the specimen's expression plus the drug as a one-hot covariate
(``--covariates inhibitor``). The rules:

* A sample id may repeat only when covariates tell its rows apart: the pair (sample,
  covariate values) names a row (``BA2000R|inhibitor=Venetoclax``) and must be unique. A
  repeated sample without covariates is an error suggesting ``--labels-where`` (keep one drug)
  or ``--covariates`` (model the pairs).
* Expression is joined by the sample id, so every row of a sample gets the same genes.
* Splits keep a sample's rows together: ``--split random`` assigns whole samples (a group split
  with the sample as the group), ``--split group`` whole groups (``--group-column``; default
  the sample), ``--split file`` reads one split per sample. Stratified splits cannot keep
  rows together and are refused. A sample whose rows would land in two splits is an error.
* ``splits.tsv`` keeps one line per sample (``sample, split``), as for ordinary labels. A
  ``--split-file`` may list more samples than are used (they are ignored); a used sample
  without a split is an error.

Unmatched labels (:func:`drop_unmatched`): a label row whose sample has no expression is an
error by default; with ``--unmatched-labels drop`` it is left out and counted (a labels table
for 967 cell lines with expression for 90 of them trains on the 90).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from aprior_cli.errors import UserInputError
from aprior_cli.messages import capped
from aprior_cli.training.splits import make_split

log = logging.getLogger("aprior.data")


def drop_unmatched(labels: pd.DataFrame, expression_samples: pd.Index, policy: str,
                   labels_name: str = "labels", expression_name: str = "expression"
                   ) -> tuple[pd.DataFrame, list[str]]:
    """Rows of ``labels`` (canonical ``sample`` column) whose sample is in the expression.

    Returns the kept rows and the samples of the dropped rows (one per dropped row); raises
    when ``policy`` is ``error`` and a row is unmatched, or when no row matches at all.
    Nothing is logged here (a later error must stay the only line): see
    :func:`unmatched_warning`.
    """
    if policy not in ("error", "drop"):
        raise UserInputError(f"--unmatched-labels: unknown policy {policy!r}; use error or drop")
    present = labels["sample"].isin(set(map(str, expression_samples))).to_numpy()
    n_out = int((~present).sum())
    if n_out == 0:
        return labels, []
    unknown = pd.unique(labels.loc[~present, "sample"])
    if not present.any():
        raise UserInputError(
            f"{labels_name}: none of the {len(labels):,} label rows has a sample in "
            f"{expression_name} (labels: {capped(unknown, quote=True)}; expression: "
            f"{capped(expression_samples, quote=True)}); check --sample-column and the id type")
    if policy == "error":
        raise UserInputError(
            f"{labels_name}: {len(unknown):,} sample(s) not in {expression_name}: "
            f"{capped(unknown)}; pass --unmatched-labels drop to use the "
            f"{int(present.sum()):,} label rows that have expression")
    dropped = labels.loc[~present, "sample"].astype(str).tolist()
    return labels.loc[present].reset_index(drop=True), dropped


def unmatched_warning(dropped: list[str], n_kept: int, labels_name: str,
                      expression_name: str) -> str | None:
    """The one warning line for label rows left out by ``--unmatched-labels drop``."""
    if not dropped:
        return None
    return (f"{labels_name}: {len(dropped):,} of {len(dropped) + n_kept:,} label rows have no "
            f"expression in {expression_name} and are left out (--unmatched-labels drop): "
            f"{capped(pd.unique(pd.Series(dropped)))}")


def paired_row_ids(labels: pd.DataFrame, covariates: Sequence[str],
                   labels_name: str = "labels") -> list[str] | None:
    """Row names when sample ids repeat (module docstring); None when every sample is unique.

    Raises
    ------
    UserInputError
        A repeated sample without covariates, or two rows with the same sample and covariate
        values.
    """
    samples = labels["sample"].astype(str)
    repeated = samples.duplicated(keep=False).to_numpy()
    if not repeated.any():
        return None
    first = samples[repeated].iloc[0]
    n_rows = int((samples == first).sum())
    if not covariates:
        raise UserInputError(
            f"{labels_name}: sample {first!r} has {n_rows} rows; keep one row per sample with "
            "--labels-where COLUMN=VALUE (e.g. one drug), or model (sample, drug) pairs by "
            "giving the column that tells the rows apart as --covariates")
    missing = [c for c in covariates if c not in labels.columns]
    if missing:  # covariate_columns names them; nothing to pair on here
        return None
    parts = [samples]
    for c in covariates:
        text = labels[c].map(lambda v: "" if pd.isna(v) else str(v))
        parts.append(f"{c}=" + text)
    ids = parts[0].copy()
    for p in parts[1:]:
        ids = ids + "|" + p
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        rows = np.flatnonzero(dup)
        twin = rows[(ids.iloc[rows] == ids.iloc[rows[0]]).to_numpy()]
        raise UserInputError(
            f"{labels_name}: rows {int(twin[0]) + 1} and {int(twin[1]) + 1} (after filters) are "
            f"the same pair {ids.iloc[rows[0]]!r}; average replicate measurements first or "
            "filter them with --labels-where")
    return ids.tolist()


def split_rows(method: str, samples: Sequence[str], val_fraction: float, test_fraction: float,
               seed: int, y: np.ndarray | None = None, groups: np.ndarray | None = None,
               table: pd.DataFrame | None = None, option: str = "--split") -> np.ndarray:
    """:func:`~aprior_cli.training.splits.make_split` that keeps a repeated sample's rows in
    one split (module docstring). Unique samples: exactly ``make_split``; ``option`` names the
    method's option in messages."""
    samples = [str(s) for s in samples]
    if method == "file" and table is not None and "sample" in table.columns:
        # a split file may cover more samples than are used (e.g. label rows dropped for lack
        # of expression); samples without a split are still an error
        table = table[table["sample"].astype(str).isin(set(samples))]
    if len(set(samples)) == len(samples):
        return make_split(method, samples, val_fraction, test_fraction, seed, y=y,
                          groups=groups, table=table, option=option)
    if method == "stratified":
        raise UserInputError(f"{option} stratified: the labels repeat sample ids (one row per "
                             "sample and covariate), and a stratified split cannot keep a "
                             f"sample's rows together; use {option} random or group")
    if method == "random":
        method, groups = "group", np.asarray(samples, dtype=object)
        log.debug("rows repeat sample ids: --split random assigns whole samples")
    elif method == "group" and groups is None:
        groups = np.asarray(samples, dtype=object)
    elif method == "group":
        check_one_group_per_sample(samples, groups)
    out = make_split(method, samples, val_fraction, test_fraction, seed, y=y, groups=groups,
                     table=table, option=option)
    check_one_split_per_sample(samples, out)
    return out


def check_one_group_per_sample(samples: Sequence[str], groups: np.ndarray) -> None:
    """Raise when a repeated sample's rows carry different groups."""
    frame = pd.DataFrame({"sample": list(samples), "group": np.asarray(groups).astype(str)})
    n = frame.groupby("sample", sort=False)["group"].nunique()
    if (n > 1).any():
        bad = n.index[n > 1]
        values = frame.loc[frame["sample"] == bad[0], "group"].unique()
        raise UserInputError(f"--group-column: sample {bad[0]!r} has rows in groups "
                             f"{capped(values, quote=True)} ({len(bad):,} such samples); a "
                             "sample's rows must share one group")


def check_one_split_per_sample(samples: Sequence[str], split: np.ndarray) -> None:
    """Raise when a sample's rows are in different splits (inconsistent groups)."""
    frame = pd.DataFrame({"sample": list(samples), "split": split})
    n = frame.groupby("sample", sort=False)["split"].nunique()
    if (n > 1).any():
        bad = n.index[n > 1]
        raise UserInputError(f"--group-column: sample {bad[0]!r} has rows in different groups "
                             f"and so in different splits ({len(bad):,} such samples); a "
                             "sample's rows must share one group")


def sample_splits(samples: Sequence[str], split: np.ndarray) -> pd.DataFrame:
    """``sample, split`` with one line per sample (first occurrence order)."""
    frame = pd.DataFrame({"sample": [str(s) for s in samples], "split": split})
    return frame.drop_duplicates("sample").reset_index(drop=True)
