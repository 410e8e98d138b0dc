"""Read count matrices (declared orientation), gene-length and annotation tables."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aprior_cli.errors import UserInputError
from aprior_cli.io.files import read_text_lines, require_file
from aprior_cli.io.read_errors import reading
from aprior_cli.io.tables import TEXT_FORMATS, check_unique, read_table, table_format
from aprior_cli.messages import capped
from aprior_cli.preprocess import validate_counts


def read_counts(path: str | os.PathLike, genes_as_rows: bool, id_column: str | None = None,
                annotation_columns: Sequence[str] = (),
                with_annotation: bool = False, allow_negative: bool = False) -> Any:
    """Read a count matrix and return it as (samples, genes), float64, checked (numeric,
    finite, >= 0, unique sample ids: :func:`aprior_cli.preprocess.validate_counts`).

    Parameters
    ----------
    path
        ``.tsv/.csv/.parquet`` (``.gz`` ok): first column = ids (gene ids when
        ``genes_as_rows``, sample ids otherwise), then one column per sample (or gene).
        ``.h5ad``: ``X`` is observations x variables; ``genes_as_rows`` means the
        observations are genes.
    genes_as_rows
        The declared orientation (no guessing).
    id_column
        Column holding the row ids (default: the first), e.g. ``display_label`` of a Beat
        AML table whose first column is an Ensembl id (text and parquet formats).
    annotation_columns
        Other non-count columns (``stable_id, description, biotype``): set aside, not counts.
    with_annotation
        Also return the annotation columns, indexed like the matrix's columns (genes when
        ``genes_as_rows``), or None.
    allow_negative
        Accept negative values (already normalised log-scale expression, not counts).
    """
    path = Path(path)
    fmt = table_format(path)
    annotation = None
    # duplicated gene ids are combined or rejected by the --duplicates policy of preprocess
    # (read_table keeps repeated header names as written instead of renaming them "X.1")
    if fmt == ".h5ad":
        if id_column or annotation_columns:
            raise UserInputError(f"{path}: --id-column/--annotation-columns are for text and "
                                 "parquet tables (an .h5ad keeps ids in obs/var names)")
        df = read_table(path, duplicates="keep")
    elif id_column or annotation_columns:
        df = read_table(path, duplicates="keep")
        id_column = id_column or str(df.columns[0])
        wanted = [id_column, *annotation_columns]
        missing = [c for c in wanted if c not in df.columns]
        if missing:
            raise UserInputError(f"{path}: no column {missing[0]!r} (--id-column/"
                                 f"--annotation-columns); columns: {capped(df.columns, shown=8)}")
        ids = _id_column(df[id_column])
        annotation = df[list(annotation_columns)].copy()
        annotation.index = ids
        df = df.drop(columns=wanted)
        df.index = ids
    else:
        df = read_table(path, index_col=0, duplicates="keep")
    if df.index.name is None or str(df.index.name).startswith("Unnamed"):
        df.index.name = None
    df.index = df.index.astype(str)
    df.columns = df.columns.astype(str)
    if genes_as_rows:
        df = df.T
    df.index.name = "sample"
    df.columns.name = None
    # empty, non-numeric, NaN or negative counts: one line naming this file
    df = validate_counts(df, str(path), allow_negative=allow_negative)
    df.index.name = "sample"
    return (df, annotation) if with_annotation else df


def _id_column(series: pd.Series) -> pd.Index:
    """Ids as strings; integer-valued floats (Entrez ids read with NaNs, or written as
    ``7157.0`` text by a program that read them so) lose their ``.0``."""
    if pd.api.types.is_float_dtype(series):
        finite = series.dropna()
        if len(finite) and np.all(np.mod(finite.to_numpy(), 1) == 0):
            series = series.astype("Int64")
    elif series.dtype == object:
        text = series.dropna().astype(str)
        if len(text) and text.str.fullmatch(r"\d+\.0").all():
            series = series.map(lambda v: v[:-2] if isinstance(v, str) else v)
    return pd.Index(series.astype(str))


LENGTH_DUPLICATE_POLICIES = ("error", "max", "mean")


def read_gene_lengths(path: str | os.PathLike, length_column: str = "length",
                      gene_column: str | None = None, duplicates: str = "error") -> pd.Series:
    """Gene lengths (bp) from a table with a gene id column (default: the first) and a
    ``length`` column.

    A gene id listed twice with the same length is kept once; with different lengths
    (e.g. one symbol for two Ensembl genes) ``duplicates`` decides: ``error``, or the
    ``max`` or ``mean`` of its lengths.
    """
    if duplicates not in LENGTH_DUPLICATE_POLICIES:
        raise UserInputError(f"--lengths-duplicates: unknown policy {duplicates!r}; use "
                             f"{', '.join(LENGTH_DUPLICATE_POLICIES)}")
    df = read_table(path)
    gene_column = gene_column or str(df.columns[0])
    for col, opt in ((gene_column, "--lengths-gene-column"), (length_column, "--length-column")):
        if col not in df.columns:
            raise UserInputError(f"{path}: no column {col!r} ({opt}); columns: "
                                 f"{capped(df.columns, shown=8)}")
    lengths = pd.to_numeric(df[length_column], errors="coerce")
    bad = lengths.isna() | ~np.isfinite(lengths) | (lengths <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise UserInputError(f"{path}: length {str(df[length_column].iloc[i])!r} of gene "
                             f"{df[gene_column].iloc[i]!r} is not a positive number")
    out = pd.Series(lengths.to_numpy(dtype=np.float64), index=_id_column(df[gene_column]),
                    name="length")
    out = out[out.index != "<NA>"]
    dup = out.groupby(level=0).nunique()
    if (dup > 1).any():
        if duplicates == "error":
            bad = dup.index[dup > 1]
            raise UserInputError(f"{path}: gene {bad[0]!r} has several different lengths "
                                 f"({len(bad):,} such ids); choose --lengths-duplicates max|mean")
        combined = out.groupby(level=0, sort=False).agg(duplicates)
        return combined.rename("length")
    return out[~out.index.duplicated()]


def read_annotation(path: str | os.PathLike, biotype_column: str | None = None) -> pd.Series:
    """Biotype by gene id from a table (first column = gene id; biotype column ``biotype``,
    ``gene_type`` or ``gene_biotype`` unless named)."""
    df = read_table(path)
    gene_column = str(df.columns[0])
    candidates = [biotype_column] if biotype_column else ["biotype", "gene_type", "gene_biotype"]
    found = [c for c in candidates if c in df.columns]
    if not found:
        raise UserInputError(f"{path}: no biotype column (looked for {', '.join(candidates)})")
    out = pd.Series(df[found[0]].astype(str).to_numpy(), index=_id_column(df[gene_column]),
                    name="biotype")
    return out[~out.index.duplicated()]


def read_id_list(path: str | os.PathLike, what: str) -> list[str]:
    """One id per line (blank lines and ``#`` comments ignored); duplicates are an error."""
    path = require_file(path, f"a file of {what}s, one per line")
    ids = [line.strip() for line in read_text_lines(path, f"{what} list")]
    ids = [i for i in ids if i and not i.startswith("#")]
    if not ids:
        raise UserInputError(f"{path}: no {what} listed")
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise UserInputError(f"{path}: duplicate {what} {i!r}")
        seen.add(i)
    return ids


def read_matrix_features(path: str | os.PathLike) -> list[str]:
    """Feature (gene) names of a samples x genes expression matrix without reading its values:
    the header after the first (sample id) column, parquet schema, or ``.h5ad`` ``var_names``."""
    path = require_file(path, "an expression matrix")
    fmt = table_format(path)
    with reading(path, "the matrix header"):
        if fmt == ".h5ad":
            import anndata

            adata = anndata.read_h5ad(path, backed="r")
            names = [str(v) for v in adata.var_names]
            adata.file.close()
        elif fmt == ".parquet":
            import pyarrow.parquet as pq

            names = [str(n) for n in pq.read_schema(path).names[1:]]
            names = [n for n in names if n != "__index_level_0__"]
        else:
            try:  # header=None: repeated names stay as written (no "X.1" renaming)
                header = pd.read_csv(path, sep=TEXT_FORMATS[fmt], header=None, nrows=1,
                                     dtype=str, keep_default_na=False)
            except pd.errors.EmptyDataError:
                raise UserInputError(f"{path}: file is empty") from None
            names = [str(c) for c in header.iloc[0].tolist()[1:]]
    if not names:
        raise UserInputError(f"{path}: no feature columns")
    check_unique(pd.Index(names), path, "feature")
    return names


def read_mapping(path: str | os.PathLike, map_from: str, map_to: str) -> pd.DataFrame:
    """Two id columns of a mapping table as strings (rows with an empty id dropped)."""
    df = read_table(path, dtype=str)
    for col, opt in ((map_from, "--map-from"), (map_to, "--map-to")):
        if col not in df.columns:
            raise UserInputError(f"{opt}: {path} has no column {col!r} "
                                 f"(columns: {capped(df.columns, shown=8)})")
    out = pd.DataFrame({"source": _id_column(df[map_from]), "target": _id_column(df[map_to])})
    empty = {"", "nan", "<NA>", "None"}
    out = out[~out["source"].isin(empty) & ~out["target"].isin(empty)]
    if out.empty:
        raise UserInputError(f"{path}: no row has both {map_from!r} and {map_to!r}")
    return out.drop_duplicates().reset_index(drop=True)
