"""Broad GSEA expression files: GCT-like tables and ``.cls`` phenotype files.

A GCT-like table is tab-separated with a gene-name column (``NAME``, or ``Gene`` in the
GSEApy Leukemia example), an optional description/probe column and one column per sample;
the classic ``#1.2`` header lines of a real ``.gct`` are skipped. A ``.cls`` file has a size
line (``n_samples n_classes 1``), a ``# name name`` line and one class label per sample.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from aprior_cli.errors import UserInputError
from aprior_cli.io.files import open_text, read_text_lines, require_file
from aprior_cli.io.read_errors import reading
from aprior_cli.io.tables import check_unique

GENE_COLUMNS = ("Gene", "gene", "symbol", "NAME", "Name")
DESCRIPTION_COLUMNS = ("DESCRIPTION", "Description", "NAME")


def read_gct(path: str | os.PathLike, duplicates: str = "mean") -> pd.DataFrame:
    """Read a GCT-like file as a samples x genes DataFrame (sample ids as index).

    Parameters
    ----------
    path
        The file.
    duplicates
        ``mean`` (average rows sharing a gene name), ``first`` or ``error``.
    """
    path = require_file(path, "a GCT table")
    with reading(path, "GCT table"):
        with open_text(path) as fh:
            first = fh.readline()
        skip = 2 if first.startswith("#1.") else 0
        table = pd.read_csv(path, sep="\t", skiprows=skip)
        raw = pd.read_csv(path, sep="\t", skiprows=skip, header=None, nrows=1, dtype=str,
                          keep_default_na=False).iloc[0]
    check_unique(pd.Index([str(c) for c in raw if str(c)]), path, "column")
    gene_col = next((c for c in GENE_COLUMNS if c in table.columns), None)
    if gene_col is None:
        raise UserInputError(f"{path}: no gene column (one of {', '.join(GENE_COLUMNS)})")
    drop = [gene_col] + [c for c in DESCRIPTION_COLUMNS if c in table.columns and c != gene_col]
    values = table.drop(columns=drop)
    values = values.loc[:, ~values.columns.astype(str).str.startswith("Unnamed")]
    non_numeric = [c for c in values.columns if not pd.api.types.is_numeric_dtype(values[c])]
    if non_numeric:
        raise UserInputError(f"{path}: sample column {non_numeric[0]!r} is not numeric")
    values.index = table[gene_col].astype(str)
    if values.index.duplicated().any():
        if duplicates == "error":
            raise UserInputError(f"{path}: duplicated gene "
                                 f"{values.index[values.index.duplicated()][0]!r}")
        values = (values.groupby(level=0, sort=False).mean() if duplicates == "mean"
                  else values[~values.index.duplicated()])
    out = values.T
    out.index = out.index.astype(str)
    out.index.name = "sample"
    return out


def read_cls(path: str | os.PathLike) -> list[str]:
    """Class label of each sample, in file order, from a categorical ``.cls`` file."""
    path = require_file(path, "a .cls file")
    lines = [ln.strip() for ln in read_text_lines(path, ".cls file") if ln.strip()]
    if len(lines) < 3 or not lines[1].startswith("#"):
        raise UserInputError(f"{path}: not a categorical .cls file (size line, '# names' "
                             "line, labels line)")
    try:
        n_samples = int(lines[0].split()[0])
    except ValueError:
        raise UserInputError(f"{path}: first line must start with the number of samples") from None
    labels = lines[2].split()
    if len(labels) != n_samples:
        raise UserInputError(f"{path}: {len(labels)} labels for {n_samples} samples")
    return labels


def gct_study(gct: str | os.PathLike, cls: str | os.PathLike
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Expression (samples x genes) and a labels table (``sample, target``) from a GCT + CLS."""
    expression = read_gct(gct)
    labels = read_cls(cls)
    if len(labels) != expression.shape[0]:
        raise UserInputError(f"{cls}: {len(labels)} labels but {gct} has "
                             f"{expression.shape[0]} samples")
    return expression, pd.DataFrame({"sample": expression.index, "target": np.array(labels)})
