"""Read count matrices (declared orientation), gene-length and annotation tables."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from aprior_cli.errors import UserInputError
from aprior_cli.io.files import read_text_lines, require_file
from aprior_cli.io.read_errors import reading
from aprior_cli.io.tables import TEXT_FORMATS, check_unique, read_table, table_format
from aprior_cli.preprocess import validate_counts


def read_counts(path: str | os.PathLike, genes_as_rows: bool) -> pd.DataFrame:
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
    """
    path = Path(path)
    fmt = table_format(path)
    # duplicated gene ids are combined or rejected by the --duplicates policy of preprocess
    # (read_table keeps repeated header names as written instead of renaming them "X.1")
    if fmt == ".h5ad":
        df = read_table(path, duplicates="keep")
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
    df = validate_counts(df, str(path))
    df.index.name = "sample"
    return df


def _id_column(series: pd.Series) -> pd.Index:
    """Ids as strings; integer-valued floats (Entrez ids read with NaNs) lose their ``.0``."""
    if pd.api.types.is_float_dtype(series):
        finite = series.dropna()
        if len(finite) and np.all(np.mod(finite.to_numpy(), 1) == 0):
            series = series.astype("Int64")
    return pd.Index(series.astype(str))


def read_gene_lengths(path: str | os.PathLike, length_column: str = "length",
                      gene_column: str | None = None) -> pd.Series:
    """Gene lengths (bp) from a table with a gene id column (default: the first) and a
    ``length`` column. Duplicated gene ids with different lengths are an error."""
    df = read_table(path)
    gene_column = gene_column or str(df.columns[0])
    for col in (gene_column, length_column):
        if col not in df.columns:
            raise UserInputError(f"{path}: no column {col!r} (columns: {', '.join(map(str, df.columns))})")
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
        raise UserInputError(f"{path}: gene {dup.index[dup > 1][0]!r} has several different lengths")
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
                                 f"(columns: {', '.join(map(str, df.columns))})")
    out = pd.DataFrame({"source": _id_column(df[map_from]), "target": _id_column(df[map_to])})
    empty = {"", "nan", "<NA>", "None"}
    out = out[~out["source"].isin(empty) & ~out["target"].isin(empty)]
    if out.empty:
        raise UserInputError(f"{path}: no row has both {map_from!r} and {map_to!r}")
    return out.drop_duplicates().reset_index(drop=True)
