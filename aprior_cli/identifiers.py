"""Recognising gene identifier styles, for hints when two tables do not match.

Styles: ``Entrez`` (digits: ``7157``), ``Ensembl`` (``ENSG00000141510``, with or without a
``.13`` version), ``symbol`` (anything else: ``TP53``). Used only to explain a mismatch
("the ids look like gene symbols but the lengths table's column 'gene_id' holds Entrez ids;
try --lengths-gene-column symbol"), never to convert ids silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import pandas as pd

_ENTREZ = re.compile(r"^\d+(\.0)?$")
_ENSEMBL = re.compile(r"^ENS[A-Z]*[GTP]\d{6,}(\.\d+)?$")
_VERSIONED = re.compile(r"^ENS[A-Z]*[GTP]\d{6,}\.\d+$")
#: share of a sample of ids that must agree for a style to be named
AGREEMENT = 0.9


def id_style(ids: Iterable[object], sample: int = 2000) -> str | None:
    """``"Entrez"``, ``"Ensembl"`` (``"Ensembl (versioned)"``), ``"symbol"`` or None (mixed)."""
    values = [str(v).strip() for _, v in zip(range(sample), ids, strict=False)]
    values = [v for v in values if v and v.lower() not in ("nan", "<na>", "none")]
    if not values:
        return None
    n = len(values)
    entrez = sum(bool(_ENTREZ.match(v)) for v in values)
    ensembl = sum(bool(_ENSEMBL.match(v)) for v in values)
    if entrez >= AGREEMENT * n:
        return "Entrez"
    if ensembl >= AGREEMENT * n:
        versioned = sum(bool(_VERSIONED.match(v)) for v in values)
        return "Ensembl (versioned)" if versioned >= AGREEMENT * n else "Ensembl"
    if entrez + ensembl <= (1 - AGREEMENT) * n:
        return "symbol"
    return None


def _plural(style: str) -> str:
    return "gene symbols" if style == "symbol" else style.replace("Ensembl", "Ensembl ids", 1) \
        if style.startswith("Ensembl") else f"{style} ids"


def _as_ids(column: pd.Series) -> set[str]:
    out = set()
    for v in column.dropna():
        text = str(v).strip()
        if isinstance(v, float) and v.is_integer():
            text = str(int(v))
        out.add(text)
    return out


def best_column(table: pd.DataFrame, ids: Sequence[str]) -> tuple[str | None, int]:
    """The column of ``table`` sharing the most values with ``ids`` and how many it shares."""
    wanted = {str(i) for i in ids}
    best, best_n = None, 0
    for col in table.columns:
        n = len(_as_ids(table[col]) & wanted)
        if n > best_n:
            best, best_n = str(col), n
    return best, best_n


def mismatch_hint(ids: Sequence[str], table: pd.DataFrame, column: str, option: str,
                  what: str) -> str | None:
    """A hint when ``ids`` hardly match ``table[column]``: their styles and a better column.

    Parameters
    ----------
    ids
        The ids that should be found (e.g. the counts' genes).
    table, column
        The table and its id column in use.
    option
        The option naming that column (``--lengths-gene-column``).
    what
        Name of the table in the message (``the lengths table``).

    Returns
    -------
    str or None
        ``"the ids look like gene symbols but the lengths table's column 'gene_id' holds
        Entrez ids; try --lengths-gene-column symbol (matches 845 of 1,350)"``, or None.
    """
    mine = id_style(ids)
    theirs = id_style(table[column]) if column in table.columns else None
    alt, n_alt = best_column(table, ids)
    n_now = len(_as_ids(table[column]) & {str(i) for i in ids}) if column in table.columns else 0
    parts = []
    if mine and theirs and mine != theirs:
        parts.append(f"the ids look like {_plural(mine)} but {what}'s column {column!r} "
                     f"holds {_plural(theirs)}")
    if alt is not None and alt != column and n_alt > n_now:
        parts.append(f"try {option} {alt} (matches {n_alt:,} of {len(set(ids)):,})")
    elif mine and mine.startswith("Ensembl") and theirs and theirs.startswith("Ensembl") \
            and mine != theirs:
        parts.append("try --strip-version")
    return "; ".join(parts) if parts else None
