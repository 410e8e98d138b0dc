"""Long-format tables, one row per (sample, gene, value), as GDSC and DepMap distribute them.

``--long SAMPLE_COLUMN,GENE_COLUMN,VALUE_COLUMN`` (``preprocess``) or
``--expression-long ...`` (``train``, ``attribute``, ``predict``, ``split``) names the three
columns; the table is pivoted to a samples x genes matrix (samples and genes in order of first
appearance). Other columns are ignored. Every (sample, gene) pair must appear exactly once:
a repeated pair, a non-numeric or missing value and a missing id are errors naming the line
(text files: line 1 is the header, so the first data row is line 2) -- and so is a pair with
no row at all, since filling it in (with 0? with NaN?) is the user's decision, not ours.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from aprior_cli.errors import UserInputError
from aprior_cli.io.files import require_file
from aprior_cli.io.tables import TEXT_FORMATS, read_table, table_format
from aprior_cli.messages import capped


def parse_long_columns(value: str | Sequence[str] | None,
                       option: str = "--long") -> tuple[str, str, str] | None:
    """``"model_id,gene_symbol,read_count"`` (or a 3-item list) -> the three column names."""
    if value is None or (not isinstance(value, str) and len(value) == 0):
        return None
    items = ([s.strip() for s in value.split(",")] if isinstance(value, str)
             else [str(s).strip() for s in value])
    if len(items) != 3 or not all(items):
        raise UserInputError(f"{option}: give three column names SAMPLE,GENE,VALUE "
                             f"(got {value if isinstance(value, str) else ','.join(items)!r})")
    if len(set(items)) != 3:
        raise UserInputError(f"{option}: the three columns must differ (got {','.join(items)})")
    return items[0], items[1], items[2]


def _where(fmt: str, i: int) -> str:
    """Position of data row ``i`` (0-based) for messages: a file line or a table row."""
    return f"line {i + 2}" if fmt in TEXT_FORMATS else f"row {i + 1}"


def _read_columns(path: Path, columns: tuple[str, str, str]) -> tuple[pd.DataFrame, str]:
    fmt = table_format(path)
    if fmt == ".h5ad":
        raise UserInputError(f"{path}: a long table must be .tsv/.csv/.parquet, not .h5ad")
    if fmt in TEXT_FORMATS:
        try:
            names = pd.read_csv(path, sep=TEXT_FORMATS[fmt], nrows=0).columns
        except (ValueError, OSError, EOFError, zlib.error, pd.errors.ParserError,
                pd.errors.EmptyDataError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UserInputError(f"{path}: cannot read table ({first})") from exc
        _check_columns(path, list(names), columns)
        try:
            df = pd.read_csv(path, sep=TEXT_FORMATS[fmt], usecols=list(columns),
                             dtype={columns[0]: str, columns[1]: str, columns[2]: str},
                             keep_default_na=False, na_values=[])
        except (ValueError, OSError, EOFError, zlib.error, pd.errors.ParserError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UserInputError(f"{path}: cannot read table ({first})") from exc
    else:
        df = read_table(path)
        _check_columns(path, list(df.columns), columns)
        df = df[list(columns)]
    return df, fmt


def _check_columns(path: Path, names: list[str], columns: tuple[str, str, str]) -> None:
    missing = [c for c in columns if c not in names]
    if missing:
        raise UserInputError(f"{path}: no column {missing[0]!r} for the long layout "
                             f"(SAMPLE,GENE,VALUE = {','.join(columns)}); columns: "
                             f"{capped(names, shown=8)}")


def long_to_wide(df: pd.DataFrame, columns: tuple[str, str, str], source: str,
                 fmt: str = ".tsv") -> pd.DataFrame:
    """Pivot a long (sample, gene, value) frame to samples x genes (float64).

    Parameters
    ----------
    df
        The three columns (ids as text; values as text or numbers), in file order.
    columns
        Their names: sample, gene, value.
    source
        File name for messages; ``fmt`` decides whether positions are lines or rows.

    Raises
    ------
    UserInputError
        Empty id, non-numeric or missing value, repeated (sample, gene) pair, or a pair
        with no row.
    """
    s_col, g_col, v_col = columns
    if df.empty:
        raise UserInputError(f"{source}: the long table has no rows")
    for col in (s_col, g_col):
        ids = df[col].astype(str).str.strip()
        empty = (ids == "") | df[col].isna().to_numpy()
        if empty.any():
            i = int(np.flatnonzero(empty.to_numpy())[0])
            raise UserInputError(f"{source}: {_where(fmt, i)}: empty {col!r} id")
    raw = df[v_col]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna().to_numpy() | ~np.isfinite(values.to_numpy(dtype=float))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        text = str(raw.iloc[i])
        what = "is missing" if text.strip() in ("", "nan", "NA", "None") else \
            f"{text[:40]!r} is not a finite number"
        raise UserInputError(f"{source}: {_where(fmt, i)}: value of {v_col!r} {what} "
                             f"({int(bad.sum()):,} such rows)")
    samples = df[s_col].astype(str).str.strip()
    genes = df[g_col].astype(str).str.strip()
    dup = pd.DataFrame({"s": samples, "g": genes}).duplicated(keep=False).to_numpy()
    if dup.any():
        first = np.flatnonzero(dup)
        key = (samples.iloc[first[0]], genes.iloc[first[0]])
        same = first[(samples.iloc[first] == key[0]).to_numpy()
                     & (genes.iloc[first] == key[1]).to_numpy()]
        raise UserInputError(f"{source}: {_where(fmt, int(same[0]))} and "
                             f"{_where(fmt, int(same[1]))}: the pair ({s_col}={key[0]!r}, "
                             f"{g_col}={key[1]!r}) appears twice "
                             f"({int(dup.sum()):,} rows in repeated pairs)")
    s_codes, s_names = pd.factorize(samples)
    g_codes, g_names = pd.factorize(genes)
    wide = np.full((len(s_names), len(g_names)), np.nan)
    wide[s_codes, g_codes] = values.to_numpy(dtype=np.float64)
    absent = np.isnan(wide)
    if absent.any():
        i, j = np.argwhere(absent)[0]
        raise UserInputError(f"{source}: the pair ({s_col}={s_names[i]!r}, {g_col}="
                             f"{g_names[j]!r}) has no row ({int(absent.sum()):,} of "
                             f"{absent.size:,} sample x gene pairs missing); a long table "
                             "needs every pair")
    return pd.DataFrame(wide, index=pd.Index([str(s) for s in s_names], name="sample"),
                        columns=[str(g) for g in g_names])


def read_long_table(path: str | os.PathLike, columns: tuple[str, str, str]) -> pd.DataFrame:
    """Read a long table file and pivot it to samples x genes (module docstring)."""
    path = require_file(path, "a long table")
    df, fmt = _read_columns(path, columns)
    return long_to_wide(df, columns, str(path), fmt)


def read_expression(path: str | os.PathLike,
                    long_columns: tuple[str, str, str] | None = None) -> pd.DataFrame:
    """An expression matrix, samples x genes: wide (first column the sample id; ``.h5ad``
    X with obs_names) or long when ``long_columns`` names (sample, gene, value)."""
    if long_columns is not None:
        return read_long_table(path, long_columns)
    return read_table(path, index_col=0)


def sample_ids(path: str | os.PathLike, long_columns: tuple[str, str, str] | None = None,
               genes_as_rows: bool = False) -> list[str]:
    """Sample ids of an expression or counts table without building the matrix when it can:
    the long table's sample column, the header of a genes-as-rows table, else the first
    column (``.h5ad``: obs_names)."""
    path = require_file(path, "a table file")
    fmt = table_format(path)
    if long_columns is not None:
        df, _ = _read_columns(Path(path), long_columns)
        return [str(s).strip() for s in pd.unique(df[long_columns[0]].astype(str))]
    if fmt == ".h5ad":
        import anndata

        adata = anndata.read_h5ad(path, backed="r")
        names = [str(n) for n in (adata.var_names if genes_as_rows else adata.obs_names)]
        adata.file.close()
        return names
    if genes_as_rows and fmt in TEXT_FORMATS:
        return [str(c) for c in pd.read_csv(path, sep=TEXT_FORMATS[fmt], nrows=0).columns[1:]]
    table = read_table(path, index_col=0)
    return [str(c) for c in (table.columns if genes_as_rows else table.index)]
