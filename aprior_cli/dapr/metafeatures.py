"""Per-gene meta-features joined onto a model's input features (DAPr).

A meta-feature table has one row per gene and numeric columns (mutation frequency, CNV,
methylation, regulator status, expression hubness ...). :func:`join_meta_features` matches its
gene ids to the model's feature names, reports the coverage, applies an explicit policy to the
model features that have no meta-features, and standardises every meta-feature column.

Policies for model features without a row in the table
-----------------------------------------------------
``"exclude"`` (default)
    They are not penalised: the DAPr penalty only covers the matched genes (the model may use
    the others freely). Covariates should be handled this way.
``"impute-mean"``
    They get the mean meta-feature vector of the matched genes (0 after standardisation) and
    are penalised towards ``g(mean)`` like every other gene.

Gene ids are compared as stripped strings, case-sensitively. Duplicated gene ids in the table
are averaged (and counted in the coverage report).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from aprior_cli.errors import UserInputError

POLICIES = ("exclude", "impute-mean")


@dataclass
class MetaFeatureJoin:
    """Meta-features aligned with (a subset of) the model's input columns.

    Attributes
    ----------
    genes
        Names of the penalised model features, in the row order of ``values`` (length q).
    feature_index
        (q,) int64 positions of ``genes`` in the model's feature list.
    values
        (q, m) float32 standardised meta-features (column mean 0, standard deviation 1 over the
        matched genes; constant columns become 0).
    columns
        The m meta-feature names.
    center, scale
        (m,) the standardisation statistics (original units): ``values = (raw - center) / scale``.
    coverage
        Report: counts of matched / unmatched features, duplicates, policy, examples.
    """

    genes: list[str]
    feature_index: np.ndarray
    values: np.ndarray
    columns: list[str]
    center: np.ndarray
    scale: np.ndarray
    coverage: dict = field(default_factory=dict)


def meta_feature_frame(table: pd.DataFrame, source: str = "meta-features") -> pd.DataFrame:
    """Return ``table`` indexed by gene id.

    A table as read from a file (default ``RangeIndex``) has the gene ids in its first column;
    any other index is taken to be the gene ids already.
    """
    if not isinstance(table, pd.DataFrame):
        raise UserInputError(f"{source}: expected a table, got {type(table).__name__}")
    if isinstance(table.index, pd.RangeIndex):
        if table.shape[1] < 2:
            raise UserInputError(f"{source}: needs a gene id column and at least one "
                                 "meta-feature column")
        table = table.set_index(table.columns[0])
    if table.shape[1] < 1:
        raise UserInputError(f"{source}: has no meta-feature columns")
    if table.shape[0] == 0:
        raise UserInputError(f"{source}: has no rows")
    return table


def _numeric(table: pd.DataFrame, source: str) -> pd.DataFrame:
    """Check every column is numeric and finite; return it as float64."""
    out = {}
    for col in table.columns:
        series = table[col]
        if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
            converted = pd.to_numeric(series, errors="coerce")
            bad = series[converted.isna() & series.notna()]
            if len(bad):
                raise UserInputError(
                    f"{source}: column {col!r} is not numeric (e.g. value {str(bad.iloc[0])!r} "
                    f"for gene {str(bad.index[0])!r}); meta-features must be numbers")
            series = converted
        values = series.astype(np.float64)
        missing = ~np.isfinite(values.to_numpy())
        if missing.any():
            first = str(values.index[np.flatnonzero(missing)[0]])
            raise UserInputError(
                f"{source}: column {col!r} has {int(missing.sum())} missing/NaN/infinite "
                f"value(s) (e.g. gene {first!r}); fill or drop them first")
        out[str(col)] = values
    return pd.DataFrame(out, index=table.index)


def join_meta_features(table: pd.DataFrame, feature_names: Sequence[str], *,
                       policy: str = "exclude", penalizable: Sequence[str] | None = None,
                       standardize: bool = True,
                       source: str = "meta-features") -> MetaFeatureJoin:
    """Join a genes x meta-features table onto the model's features.

    Parameters
    ----------
    table
        Genes x meta-features (gene ids as index, or in the first column of a ``RangeIndex``
        table as read from a file); numeric, finite columns only.
    feature_names
        The model's input columns, in order (length p).
    policy
        What to do with penalizable features that have no meta-features: ``"exclude"`` or
        ``"impute-mean"`` (see the module docstring).
    penalizable
        Features that may take part (default: all of ``feature_names``); pass the gene columns
        only when the model also has covariates.
    standardize
        Z-score each meta-feature column over the matched genes.
    source
        Name used in error messages (a file name or option).

    Raises
    ------
    UserInputError
        Non-numeric or missing values, an empty table, no gene in common, an unknown policy.
    """
    if policy not in POLICIES:
        raise UserInputError(f"{source}: unknown missing-gene policy {policy!r}; "
                             f"use one of {', '.join(POLICIES)}")
    frame = _numeric(meta_feature_frame(table, source), source)
    frame.index = [str(g).strip() for g in frame.index]
    n_rows = int(frame.shape[0])
    n_duplicates = int(frame.index.duplicated().sum())
    if n_duplicates:
        frame = frame.groupby(level=0, sort=False).mean()

    names = [str(f) for f in feature_names]
    if len(set(names)) != len(names):
        raise UserInputError(f"{source}: the model's feature names are not unique")
    position = {name: i for i, name in enumerate(names)}
    candidates = names if penalizable is None else [str(f) for f in penalizable]
    unknown = [c for c in candidates if c not in position]
    if unknown:
        raise UserInputError(f"{source}: penalizable feature {unknown[0]!r} is not a model feature")

    matched = [g for g in candidates if g in frame.index]
    unmatched = [g for g in candidates if g not in frame.index]
    if not matched:
        raise UserInputError(
            f"{source}: none of its {frame.shape[0]} gene ids match the model's "
            f"{len(candidates)} features (table has e.g. {list(frame.index[:3])}, model has "
            f"e.g. {candidates[:3]}); check the gene id type (symbol vs Ensembl vs Entrez)")

    raw = frame.loc[matched].to_numpy(dtype=np.float64)
    center = raw.mean(axis=0) if standardize else np.zeros(raw.shape[1])
    spread = raw.std(axis=0) if standardize else np.ones(raw.shape[1])
    constant = [str(c) for c, s in zip(frame.columns, spread, strict=True) if s == 0]
    scale = np.where(spread > 0, spread, 1.0)
    values = (raw - center) / scale

    genes = list(matched)
    if policy == "impute-mean" and unmatched:
        values = np.vstack([values, np.zeros((len(unmatched), values.shape[1]))])
        genes = genes + unmatched
    feature_index = np.array([position[g] for g in genes], dtype=np.int64)

    coverage = {
        "n_model_features": len(names),
        "n_penalizable_features": len(candidates),
        "n_table_rows": n_rows,
        "n_table_genes": int(frame.shape[0]),
        "n_duplicate_rows_averaged": n_duplicates,
        "n_matched": len(matched),
        "fraction_matched": len(matched) / len(candidates),
        "n_unmatched": len(unmatched),
        "unmatched_examples": unmatched[:10],
        "policy": policy,
        "n_penalised": len(genes),
        "meta_features": [str(c) for c in frame.columns],
        "constant_meta_features": constant,
        "standardized": bool(standardize),
    }
    return MetaFeatureJoin(genes=genes, feature_index=feature_index,
                           values=values.astype(np.float32), columns=[str(c) for c in frame.columns],
                           center=center, scale=scale, coverage=coverage)


def noise_meta_features(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """Gaussian N(0, 1) meta-features of ``shape`` (q, m): the DAPr noise control (float32)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape).astype(np.float32)
