"""Gene rankings for enrichment: ``aprior attribute`` output, ``gene<TAB>score`` tables, ``.rnk``.

Accepted layouts (text formats are read by extension, ``.gz`` ok; ``.parquet`` has a header):

* the ``aprior attribute`` ranking: columns ``feature, mean_abs_attribution, rank`` -> the score is
  ``mean_abs_attribution``;
* the ``aprior consensus`` ranking: columns ``feature, consensus_importance, rank`` -> the score is
  ``consensus_importance``;
* any two-column table ``gene, score`` with a header line;
* a headerless two-column file such as a GSEA ``.rnk`` (a first line whose score field is not a
  number is taken as a header; ``#`` lines are skipped).

The first column holds the gene identifiers. A larger score means a more important gene; the
ranking is sorted by decreasing score (ties keep file order). Identifiers are compared as text
(``7157`` is not ``TP53``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from aprior_cli.errors import UserInputError
from aprior_cli.io.files import read_text_lines, require_file
from aprior_cli.io.read_errors import reading
from aprior_cli.io.tables import TEXT_FORMATS, table_format
from aprior_cli.messages import capped

ATTRIBUTION_SCORE_COLUMN = "mean_abs_attribution"
CONSENSUS_SCORE_COLUMN = "consensus_importance"
DUPLICATE_POLICIES = ("error", "keep-highest")


def _read_raw(path: Path) -> pd.DataFrame:
    """Read all cells as text; decide on a header afterwards (text formats)."""
    fmt = table_format(path)
    if fmt == ".h5ad":
        raise UserInputError(f"{path}: a ranking must be a table (.tsv/.csv/.rnk/.parquet), not .h5ad")
    if fmt == ".parquet":
        with reading(path, "parquet ranking"):
            return pd.read_parquet(path)
    with reading(path, "ranking"):
        try:
            raw = pd.read_csv(path, sep=TEXT_FORMATS[fmt], header=None, dtype=str, comment="#",
                              skip_blank_lines=True, keep_default_na=False)
        except pd.errors.EmptyDataError as exc:
            raise UserInputError(f"{path}: ranking is empty") from exc
    if raw.shape[0] == 0:
        raise UserInputError(f"{path}: ranking is empty")
    if raw.shape[1] < 2:
        raise UserInputError(f"{path}: a ranking needs two columns, gene and score "
                             f"(found one; is the separator right for {fmt}?)")
    first = raw.iloc[0, 1:].str.strip()
    numeric_first = pd.to_numeric(first, errors="coerce").notna()
    if not numeric_first.any():
        header = [str(c).strip() for c in raw.iloc[0]]
        raw = raw.iloc[1:].reset_index(drop=True)
        raw.columns = header
    else:
        raw.columns = ["gene", "score"] + [f"column{i + 3}" for i in range(raw.shape[1] - 2)]
    return raw


def _score_column(df: pd.DataFrame, path: Path, score_column: str | None) -> str:
    cols = [str(c) for c in df.columns]
    if score_column is not None:
        if score_column not in cols[1:]:
            raise UserInputError(f"{path}: --score-column {score_column!r} is not a column "
                                 f"(columns: {capped(cols, shown=8)})")
        return score_column
    for known in (ATTRIBUTION_SCORE_COLUMN, CONSENSUS_SCORE_COLUMN):
        if known in cols[1:]:
            return known
    if len(cols) == 2:
        return cols[1]
    raise UserInputError(f"{path}: {len(cols)} columns and no {ATTRIBUTION_SCORE_COLUMN!r}; "
                         f"name the score with --score-column (columns: {capped(cols, shown=8)})")


def read_ranking(path: str | os.PathLike, score_column: str | None = None,
                 duplicates: str = "error") -> pd.Series:
    """Read a ranking file into a score Series sorted by decreasing score.

    Parameters
    ----------
    path
        Ranking file (see the module docstring for the layouts).
    score_column
        Column holding the score; default ``mean_abs_attribution`` (or
        ``consensus_importance``) when present, else the second column of a two-column file.
    duplicates
        ``"error"`` (default): a gene listed twice is an error. ``"keep-highest"``: keep its
        highest-scoring entry.

    Returns
    -------
    pandas.Series
        Index: gene identifiers (str, unique); values: float64 scores, sorted decreasing
        (stable, so ties keep file order). ``series.name`` is the score column.
    """
    path = Path(path)
    if duplicates not in DUPLICATE_POLICIES:
        raise UserInputError(f"--duplicate-genes: {duplicates!r} is not one of {DUPLICATE_POLICIES}")
    require_file(path, "a ranking file", "ranking file not found")
    df = _read_raw(path)
    if df.shape[0] == 0:
        raise UserInputError(f"{path}: ranking is empty (header only)")
    col = _score_column(df, path, score_column)
    genes = df.iloc[:, 0].astype(str).str.strip()
    empty = genes.eq("") | genes.str.lower().isin(["nan", "none"])
    if empty.any():
        row = int(np.flatnonzero(empty.to_numpy())[0])
        raise UserInputError(f"{path}: empty gene identifier in data row {row + 1}")
    text = df[col]
    scores = pd.to_numeric(text.astype(str).str.strip() if text.dtype == object else text,
                           errors="coerce").astype(float)
    bad = ~np.isfinite(scores.to_numpy())
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise UserInputError(f"{path}: score column {col!r} has a non-numeric or non-finite "
                             f"value {str(text.iloc[row])!r} for gene {genes.iloc[row]!r} "
                             f"(data row {row + 1})")
    series = pd.Series(scores.to_numpy(), index=pd.Index(genes.to_numpy(), name="gene"),
                       name=col)
    series = series.sort_values(ascending=False, kind="mergesort")
    dup = series.index.duplicated(keep="first")
    if dup.any():
        if duplicates == "error":
            names = list(dict.fromkeys(series.index[dup]))
            shown = capped(names, shown=3)
            raise UserInputError(f"{path}: {len(names)} gene(s) listed more than once ({shown}); "
                                 "collapse them first or pass --duplicate-genes keep-highest")
        series = series[~dup]
    return series


def read_gene_list(path: str | os.PathLike) -> list[str]:
    """Read genes, one per line (first tab/comma field; white space stripped; blanks and ``#`` skipped).

    Returns the unique genes in file order. Used for ``--background``.
    """
    path = require_file(path, "a gene list file", "gene list file not found")
    lines = read_text_lines(path, "gene list")
    genes: dict[str, None] = {}
    for line in lines:
        item = line.replace(",", "\t").split("\t")[0].strip()
        if item and not item.startswith("#"):
            genes[item] = None
    if not genes:
        raise UserInputError(f"{path}: gene list is empty")
    return list(genes)


GENE_LIST_SCORE = "list_order"


def read_query(path: str | os.PathLike, score_column: str | None = None,
               duplicates: str = "error") -> tuple[pd.Series, bool]:
    """A ranking (see :func:`read_ranking`) or, for a one-column file, a plain gene list.

    A gene list (one gene per line; blanks and ``#`` lines skipped; a repeated gene counted
    once) becomes a Series in file order with scores ``n, n-1, ..., 1`` named ``list_order``
    (so "the top k" are its first k genes). Returns ``(series, is_gene_list)``.
    """
    path = require_file(Path(path), "a ranking file", "ranking file not found")
    fmt = table_format(path)
    if fmt in TEXT_FORMATS:
        lines = [ln.strip() for ln in read_text_lines(path, "ranking")]
        lines = [ln for ln in lines if ln and not ln.startswith("#")]
        sep = TEXT_FORMATS[fmt]
        if lines and all(len([f for f in ln.split(sep) if f.strip()]) == 1 for ln in lines):
            if score_column is not None:
                raise UserInputError(f"{path}: a gene list (one column) has no "
                                     f"--score-column {score_column!r}")
            genes = [ln.split(sep)[0].strip() for ln in lines]
            unique = list(dict.fromkeys(genes))
            if len(unique) < len(genes):  # a list is a set: repeats carry no information
                logging.getLogger("aprior.enrich").info(
                    "%s: %d repeated gene(s) counted once", path, len(genes) - len(unique))
            genes = unique
            scores = np.arange(len(genes), 0, -1, dtype=float)
            return pd.Series(scores, index=pd.Index(genes, name="gene"),
                             name=GENE_LIST_SCORE), True
    return read_ranking(path, score_column=score_column, duplicates=duplicates), False
