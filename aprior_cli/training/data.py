"""Aligning an expression matrix with a labels table into model inputs and targets.

Input columns are the expression's genes in file order, then covariates (never graph nodes).
A numeric covariate is one column; a non-numeric one becomes one-hot columns named
``<covariate>=<level>`` (levels sorted). Samples are the labels' rows, in labels order;
expression samples without a label are ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from aprior_cli.errors import UserInputError
from aprior_cli.messages import capped

RESERVED_LABEL_COLUMNS = ("sample", "target", "group", "batch")


@dataclass
class TrainingData:
    """Aligned inputs and targets.

    Attributes
    ----------
    x
        Inputs, float32 (n, p): genes then covariate columns.
    y
        Targets (n,): float for regression, 0/1 float for binary, class index for multiclass;
        NaN where the label is missing (prediction-only use).
    samples
        Sample ids (n,).
    features
        Input column names (p,).
    n_genes
        Number of leading gene columns (the rest are covariates).
    classes
        Class names in output order (binary: ``[negative, positive]``); None for regression.
    groups
        ``group`` column (n,) when the labels have one, else None.
    row_ids
        Row names (n,) when rows repeat a sample id (``sample|drug=X``, see
        :mod:`aprior_cli.training.paired_rows`); None when every row is its own sample.
    dropped_samples
        Samples of the label rows left out because they have no expression
        (``unmatched="drop"``), one entry per row.
    """

    x: np.ndarray
    y: np.ndarray
    samples: list[str]
    features: list[str]
    n_genes: int
    classes: list[str] | None
    groups: np.ndarray | None
    row_ids: list[str] | None = None
    dropped_samples: list[str] = field(default_factory=list)

    @property
    def labels_dropped(self) -> int:
        return len(self.dropped_samples)

    @property
    def genes(self) -> list[str]:
        return self.features[: self.n_genes]

    @property
    def ids(self) -> list[str]:
        """One name per row: the sample id, or ``row_ids`` when rows repeat samples."""
        return self.row_ids if self.row_ids is not None else self.samples


def class_order(values: pd.Series) -> list[str]:
    """Sorted distinct class labels as strings (numbers sorted numerically)."""
    distinct = pd.unique(values.dropna())
    try:
        ordered = sorted(distinct, key=float)
    except (TypeError, ValueError):
        ordered = sorted(distinct, key=str)
    return [_label_str(v) for v in ordered]


def _label_str(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def encode_targets(target: pd.Series, task: str, classes: Sequence[str] | None = None,
                   source: str = "labels", allow_missing: bool = False
                   ) -> tuple[np.ndarray, list[str] | None]:
    """Turn the ``target`` column into numbers.

    Parameters
    ----------
    target
        Raw target values (n,).
    task
        ``regression`` (numeric), ``binary`` (two classes) or ``multiclass`` (>= 2 classes).
    classes
        Fixed class order (from a trained run); inferred (sorted) when None.
    source
        Name used in error messages (the labels file).
    allow_missing
        Keep missing targets as NaN instead of raising.

    Returns
    -------
    y, classes
        ``y`` float (n,) (class index as float for classifiers, NaN if missing) and the
        class names (None for regression).
    """
    missing = target.isna().to_numpy()
    if missing.any() and not allow_missing:
        bad = list(target.index[missing])
        raise UserInputError(f"{source}: target is missing for {int(missing.sum())} sample(s), "
                             f"e.g. {capped(bad)}")
    if task == "regression":
        numeric = pd.to_numeric(target, errors="coerce")
        bad = numeric.isna() & ~target.isna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise UserInputError(f"{source}: regression target must be numeric; sample "
                                 f"{target.index[i]} has {target.iloc[i]!r}")
        values = numeric.to_numpy(dtype=float)
        if not np.all(np.isfinite(values[~missing])):
            raise UserInputError(f"{source}: regression target contains infinite values")
        return values, None
    as_str = target.map(lambda v: None if pd.isna(v) else _label_str(v))
    if classes is None:
        classes = class_order(target)
        if task == "binary" and len(classes) != 2:
            raise UserInputError(f"{source}: binary task needs exactly 2 target classes, found "
                                 f"{len(classes)} ({capped(classes)})")
        if task == "multiclass" and len(classes) < 2:
            raise UserInputError(f"{source}: multiclass task needs at least 2 target classes, "
                                 f"found {len(classes)}")
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted({v for v in as_str.dropna() if v not in index})
    if unknown:
        raise UserInputError(f"{source}: target classes {capped(unknown, quote=True)} are not "
                             f"among the model's classes {capped(classes, shown=8)}")
    y = np.array([np.nan if v is None else float(index[v]) for v in as_str], dtype=float)
    return y, list(classes)


def covariate_columns(labels: pd.DataFrame, covariates: Sequence[str],
                      source: str = "labels") -> pd.DataFrame:
    """Covariate input columns for ``labels`` rows: numeric as is, categorical one-hot."""
    out = []
    for name in covariates:
        if name not in labels.columns:
            raise UserInputError(f"{source}: covariate column {name!r} not found "
                                 f"(columns: {capped(labels.columns, shown=8)})")
        if name in ("sample", "target"):
            raise UserInputError(f"--covariates: {name!r} cannot be a covariate")
        col = labels[name]
        if col.isna().any():
            raise UserInputError(f"{source}: covariate {name!r} has missing values")
        if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
            out.append(col.astype(float).rename(name))
        else:
            levels = sorted(col.astype(str).unique())
            for level in levels:
                out.append((col.astype(str) == level).astype(float).rename(f"{name}={level}"))
    if not out:
        return pd.DataFrame(index=labels.index)
    return pd.concat(out, axis=1)


def prepare_expression(expression: pd.DataFrame, source: str = "expression") -> pd.DataFrame:
    """Validate an expression table (samples x genes, sample ids as index): unique ids,
    unique gene names, numeric finite values."""
    expression = expression.copy()
    expression.index = expression.index.map(str)
    expression.columns = expression.columns.map(str)
    if expression.shape[1] == 0 or expression.shape[0] == 0:
        raise UserInputError(f"{source}: no samples or no feature columns")
    dup = expression.index[expression.index.duplicated()]
    if len(dup):
        raise UserInputError(f"{source}: duplicated sample id {dup[0]!r}")
    dup = expression.columns[expression.columns.duplicated()]
    if len(dup):
        raise UserInputError(f"{source}: duplicated feature {dup[0]!r}")
    non_numeric = [c for c in expression.columns
                   if not pd.api.types.is_numeric_dtype(expression[c])]
    if non_numeric:
        raise UserInputError(f"{source}: feature column {non_numeric[0]!r} is not numeric "
                             "(first column must be the sample id, then one numeric column "
                             "per feature)")
    values = expression.to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise UserInputError(f"{source}: {int(bad.sum())} missing or infinite value(s), e.g. "
                             f"sample {expression.index[i]!r}, feature {expression.columns[j]!r}")
    return expression


def align(expression: pd.DataFrame, labels: pd.DataFrame, task: str,
          covariates: Sequence[str] = (), classes: Sequence[str] | None = None,
          features: Sequence[str] | None = None, n_genes: int | None = None,
          allow_missing_target: bool = False, expression_name: str = "expression",
          labels_name: str = "labels", unmatched: str = "error") -> TrainingData:
    """Align expression rows with labels rows by sample id.

    Parameters
    ----------
    expression
        Samples x genes, sample ids as index.
    labels
        Columns ``sample``, ``target`` (optional when ``allow_missing_target``), optional
        ``group``, ``batch``, covariates.
    task
        Task name (decides how targets are encoded).
    covariates
        Label columns appended as inputs after the genes.
    classes
        Class order of an existing model (classifiers).
    features, n_genes
        Input columns of an existing model: the expression must contain its genes; covariate
        columns are rebuilt and reindexed to it.
    allow_missing_target
        Accept labels without targets (attribution of unlabelled samples).
    unmatched
        Label rows whose sample is not in the expression: ``error``, or ``drop`` them
        (an error all the same when no row matches).

    Raises
    ------
    UserInputError
        Labels for samples absent from the expression, duplicated ids, NaN features,
        non-numeric regression targets, missing columns.
    """
    from aprior_cli.training.paired_rows import drop_unmatched, paired_row_ids

    expression = prepare_expression(expression, expression_name)
    if "sample" not in labels.columns:
        raise UserInputError(f"{labels_name}: needs a 'sample' column "
                             f"(columns: {capped(labels.columns, shown=8)})")
    if "target" not in labels.columns and not allow_missing_target:
        raise UserInputError(f"{labels_name}: needs a 'target' column "
                             f"(columns: {capped(labels.columns, shown=8)})")
    labels = labels.copy()
    labels["sample"] = labels["sample"].map(_label_str)
    labels, dropped = drop_unmatched(labels, expression.index, unmatched, labels_name,
                                     expression_name)
    row_ids = paired_row_ids(labels, covariates, labels_name)
    labels = labels.set_index("sample", drop=False)
    if features is None:
        genes = list(expression.columns)
    else:
        genes = list(features[: n_genes if n_genes is not None else len(features)])
        missing = [g for g in genes if g not in expression.columns]
        if missing:
            raise UserInputError(f"{expression_name}: {len(missing)} model feature(s) missing: "
                                 f"{capped(missing)}")
    x_genes = expression.loc[labels.index, genes].to_numpy(dtype=np.float32)
    cov = covariate_columns(labels, covariates, labels_name)
    clash = [c for c in cov.columns if c in genes]
    if clash:
        raise UserInputError(f"--covariates: column {clash[0]!r} is also a feature of "
                             f"{expression_name}")
    if features is not None:
        cov = cov.reindex(columns=list(features[len(genes):]), fill_value=0.0)
    x = np.concatenate([x_genes, cov.to_numpy(dtype=np.float32)], axis=1)
    if "target" in labels.columns:
        y, classes = encode_targets(labels["target"], task, classes, labels_name,
                                    allow_missing=allow_missing_target)
    else:
        y = np.full(len(labels), np.nan)
    groups = labels["group"].map(_label_str).to_numpy() if "group" in labels.columns else None
    return TrainingData(x=x, y=y, samples=list(labels.index), features=genes + list(cov.columns),
                        n_genes=len(genes), classes=list(classes) if classes else None,
                        groups=groups, row_ids=row_ids, dropped_samples=dropped)
