"""Tables by extension: ``.tsv`` ``.txt`` ``.csv`` ``.parquet`` (``.gz`` ok) and ``.h5ad``.

``read_table`` always returns a :class:`pandas.DataFrame`; ``.h5ad`` files give the
observations x variables matrix (``X``) with ``obs_names`` as index and ``var_names`` as
columns. Errors are :class:`~aprior_cli.errors.UserInputError` naming the file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from aprior_cli.errors import UserInputError
from aprior_cli.io.atomic import atomic_path
from aprior_cli.io.files import require_file
from aprior_cli.io.read_errors import reading

#: ``.gene_info``: NCBI's Homo_sapiens.gene_info(.gz), a tab-separated table
TEXT_FORMATS = {".tsv": "\t", ".txt": "\t", ".tab": "\t", ".rnk": "\t", ".csv": ",",
                ".gene_info": "\t"}
_MANGLED = re.compile(r"^(.*)\.(\d+)$")
SUPPORTED = ".tsv .txt .tab .rnk .csv .parquet .h5ad (text formats may end in .gz)"


def table_format(path: str | os.PathLike) -> str:
    """Return the format key of ``path``: a text extension, ``.parquet`` or ``.h5ad``.

    ``.gz`` is looked through (``x.tsv.gz`` -> ``.tsv``).
    """
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in (".gz", ".bz2", ".xz", ".zst"):
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    if ext in TEXT_FORMATS or ext in (".parquet", ".h5ad"):
        return ext
    raise UserInputError(f"{path}: unsupported table extension {ext or '(none)'!r}; use {SUPPORTED}")


def read_table(path: str | os.PathLike, index_col: int | str | None = None,
               header: int | None = 0, dtype: object = None,
               duplicates: str = "error") -> pd.DataFrame:
    """Read a table chosen by extension.

    Parameters
    ----------
    path
        File to read.
    index_col
        Column to use as the index (text and parquet formats), as in :func:`pandas.read_csv`.
    header
        Header row for text formats (``None`` for headerless files).
    dtype
        Passed to :func:`pandas.read_csv` for text formats.
    duplicates
        ``"error"`` (default): a column name given twice, or (with ``index_col``) a row id given
        twice, is an error naming the first one; pandas would otherwise rename the second
        column ``NAME.1`` and keep both. ``"keep"``: leave them (the caller applies a policy);
        text headers then keep their names as written.
    """
    path = require_file(path, "a table file")
    fmt = table_format(path)
    with reading(path, "table"):
        try:
            if fmt in TEXT_FORMATS:
                df = pd.read_csv(path, sep=TEXT_FORMATS[fmt], index_col=index_col, header=header,
                                 dtype=dtype, comment=None)
            elif fmt == ".parquet":
                df = pd.read_parquet(path)
                if index_col is not None:
                    col = df.columns[index_col] if isinstance(index_col, int) else index_col
                    df = df.set_index(col)
            else:
                df = _read_h5ad(path)
        except pd.errors.EmptyDataError as exc:
            raise UserInputError(f"{path}: file is empty") from exc
        if fmt in TEXT_FORMATS and header == 0 and _maybe_mangled(df.columns):
            _restore_header(df, path, fmt, index_col)
    if duplicates == "error":
        check_unique(df.columns, path, "column")
        if index_col is not None:
            check_unique(df.index, path, "row id")
    return df


def check_unique(names: pd.Index, path: str | os.PathLike, what: str) -> None:
    """Raise one line naming the first name of ``names`` that occurs twice."""
    dup = names[names.duplicated()]
    if len(dup):
        n = int(names.duplicated(keep=False).sum())
        raise UserInputError(f"{path}: duplicated {what} {str(dup[0])!r} ({n} entries share a "
                             f"name); make the names unique")


def _maybe_mangled(columns: pd.Index) -> bool:
    """True if pandas may have renamed repeated header names (``X`` -> ``X.1``)."""
    names = {str(c) for c in columns}
    return any(m is not None and m.group(1) in names
               for m in (_MANGLED.match(str(c)) for c in columns))


def _restore_header(df: pd.DataFrame, path: Path, fmt: str, index_col: object) -> None:
    """Put the header names back as written (so repeated names are seen, not renamed)."""
    raw = pd.read_csv(path, sep=TEXT_FORMATS[fmt], header=None, nrows=1, dtype=str,
                      keep_default_na=False).iloc[0].tolist()
    names = [str(c) for c in raw]
    if isinstance(index_col, int) and len(names) == df.shape[1] + 1:
        del names[index_col]
    if len(names) == df.shape[1]:
        df.columns = names


def _read_h5ad(path: Path) -> pd.DataFrame:
    try:
        import anndata
    except ImportError as exc:  # pragma: no cover - anndata is a dependency
        raise UserInputError(f"{path}: reading .h5ad needs the 'anndata' package") from exc
    adata = anndata.read_h5ad(path)
    x = adata.X
    if hasattr(x, "toarray"):
        x = x.toarray()
    return pd.DataFrame(np.asarray(x), index=adata.obs_names.astype(str),
                        columns=adata.var_names.astype(str))


def write_table(df: pd.DataFrame, path: str | os.PathLike, index: bool = True,
                obs: pd.DataFrame | None = None) -> Path:
    """Write ``df`` atomically in the format given by ``path``'s extension; return the path.

    ``.h5ad``: rows are ``obs_names``, columns ``var_names``; ``obs`` (indexed by row name)
    adds its columns to ``.obs`` (rows without an entry get missing values).
    """
    path = Path(path)
    fmt = table_format(path)
    with atomic_path(path) as tmp:
        if fmt in TEXT_FORMATS:
            compression = "gzip" if path.suffix.lower() == ".gz" else None
            df.to_csv(tmp, sep=TEXT_FORMATS[fmt], index=index, compression=compression)
        elif fmt == ".parquet":
            # the index becomes an ordinary first column, as in the text formats
            out = df.reset_index() if index else df.copy()
            out.columns = [str(c) for c in out.columns]
            out.to_parquet(tmp, index=False)
        else:
            import anndata

            adata = anndata.AnnData(X=df.to_numpy(dtype=np.float32))
            adata.obs_names = [str(i) for i in df.index]
            adata.var_names = [str(c) for c in df.columns]
            if obs is not None and len(obs.columns):
                extra = obs.copy()
                extra.index = extra.index.astype(str)
                extra = extra[~extra.index.duplicated()].reindex(adata.obs_names)
                for col in extra.columns:
                    adata.obs[str(col)] = extra[col].to_numpy()
            adata.write_h5ad(tmp)
    return path
