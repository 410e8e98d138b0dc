"""Labels tables with the user's own column names, row filters, and AnnData ``.obs``.

Every command that reads labels (``split``, ``train``, ``attribute``, ``predict``,
``preprocess --batch-column``) reads them here, so the same options mean the same everywhere:

* ``--sample-column`` (default ``sample``), ``--target-column`` (default ``target``),
  ``--group-column`` (default: a column called ``group`` if there is one), ``--batch-column``
  (default: ``batch`` if present) name the columns. They are copied to the canonical names
  ``sample``, ``target``, ``group``, ``batch`` the rest of the package uses; every other column
  keeps its own name (so ``--covariates DRUG_NAME`` still finds it). A column that is missing
  is an error listing the columns that exist (capped).
* ``--labels-where COLUMN=VALUE`` (or ``COLUMN!=VALUE``), repeatable, keeps the matching rows
  before anything else happens -- one drug of a table holding several. Filters on different
  columns must all hold; several ``=`` filters on one column keep rows matching any of them.
  Values compare as text (``1017`` matches an integer or ``1017.0`` column); an empty value
  means a missing cell (``COLUMN!=`` keeps the rows where COLUMN is filled in).
* ``.h5ad`` labels are the AnnData ``.obs`` table; the sample id is ``obs_names`` unless the
  sample column names an ``.obs`` column.

Rows that repeat a sample id are allowed here (one row per (patient, drug) pair, say); what they
mean is decided where the data are aligned (:mod:`aprior_cli.training.paired_rows`).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aprior_cli.errors import UserInputError
from aprior_cli.io.files import require_file
from aprior_cli.io.tables import read_table, table_format
from aprior_cli.messages import capped

CANONICAL = ("sample", "target", "group", "batch")


@dataclass(frozen=True)
class RowFilter:
    """One ``--labels-where`` condition: ``column == value`` (or ``!=`` when ``negate``)."""

    column: str
    value: str
    negate: bool = False

    def __str__(self) -> str:
        return f"{self.column}{'!=' if self.negate else '='}{self.value}"


@dataclass(frozen=True)
class LabelSpec:
    """How to read a labels table: column names and row filters.

    ``group_column``/``batch_column`` None means "the column called group/batch, if any";
    a name given explicitly must exist.
    """

    sample_column: str = "sample"
    target_column: str = "target"
    group_column: str | None = None
    batch_column: str | None = None
    where: tuple[str, ...] = ()

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> LabelSpec:
        """From config-like keys (``sample_column``, ..., ``labels_where``); missing = default."""
        return cls(sample_column=values.get("sample_column") or "sample",
                   target_column=values.get("target_column") or "target",
                   group_column=values.get("group_column") or None,
                   batch_column=values.get("batch_column") or None,
                   where=tuple(values.get("labels_where") or ()))

    def filters(self) -> list[RowFilter]:
        return parse_where(self.where)


def parse_where(expressions: Sequence[str], option: str = "--labels-where") -> list[RowFilter]:
    """Parse ``COLUMN=VALUE`` / ``COLUMN!=VALUE`` conditions (the first ``=`` splits)."""
    out = []
    for text in expressions:
        column, sep, value = str(text).partition("=")
        negate = column.endswith("!")
        column = column[:-1] if negate else column
        if not sep or not column.strip():
            raise UserInputError(f"{option}: {text!r} is not COLUMN=VALUE (or COLUMN!=VALUE)")
        out.append(RowFilter(column.strip(), value.strip(), negate))
    return out


def _as_text(values: pd.Series) -> pd.Series:
    """Cells as the text a user would type: integer-valued floats without ``.0``."""
    def one(v: object) -> str:
        if isinstance(v, float | np.floating) and np.isfinite(v) and float(v).is_integer():
            return str(int(v))
        return "" if pd.isna(v) else str(v)  # type: ignore[arg-type]

    return values.map(one)


def apply_filters(table: pd.DataFrame, filters: Sequence[RowFilter], source: str,
                  option: str = "--labels-where") -> pd.DataFrame:
    """Rows of ``table`` meeting every filter (module docstring); errors name the filter."""
    if not filters:
        return table
    keep = np.ones(len(table), dtype=bool)
    by_column: dict[str, list[RowFilter]] = {}
    for f in filters:
        if f.column not in table.columns:
            raise UserInputError(f"{option} {f}: {source} has no column {f.column!r} "
                                 f"(columns: {capped(table.columns)})")
        by_column.setdefault(f.column, []).append(f)
    for column, conditions in by_column.items():
        text = _as_text(table[column])
        wanted = [f.value for f in conditions if not f.negate]
        if wanted:
            hit = text.isin(wanted).to_numpy()
            if not hit.any() and wanted != [""]:
                values = sorted(pd.unique(text[text != ""]), key=str)
                close = difflib.get_close_matches(wanted[0], values, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise UserInputError(
                    f"{option} {column}={'|'.join(wanted)}: no row of {source} matches; "
                    f"{hint}{column} holds {capped(values, quote=True, shown=6)}")
            keep &= hit
        for f in conditions:
            if f.negate:
                keep &= (text != f.value).to_numpy()
    out = table.loc[keep]
    if out.empty:
        raise UserInputError(f"{option}: no row of {source} meets every condition "
                             f"({' and '.join(map(str, filters))})")
    return out.reset_index(drop=True)


def _read_obs(path: Path) -> pd.DataFrame:
    """The ``.obs`` table of an AnnData file, obs_names as a column ``_obs_names``."""
    try:
        import anndata

        adata = anndata.read_h5ad(path, backed="r")
        obs = adata.obs.copy()
        names = [str(n) for n in adata.obs_names]
        adata.file.close()
    except (OSError, ValueError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserInputError(f"{path}: cannot read the AnnData .obs table ({first})") from exc
    for col in obs.columns:  # categoricals compare and one-hot like plain text
        if isinstance(obs[col].dtype, pd.CategoricalDtype):
            obs[col] = obs[col].astype(object)
    obs = obs.reset_index(drop=True)
    obs.insert(0, "_obs_names", names)
    return obs


def read_obs_table(path: str | os.PathLike) -> pd.DataFrame:
    """An AnnData file's ``.obs`` indexed by ``obs_names`` (text, categoricals as text)."""
    obs = _read_obs(require_file(path, "an .h5ad file"))
    return obs.set_index("_obs_names").rename_axis(None)


def read_raw_labels(path: str | os.PathLike) -> pd.DataFrame:
    """The labels table as written (``.h5ad``: its ``.obs`` plus ``_obs_names``)."""
    path = require_file(path, "a labels table")
    if table_format(path) == ".h5ad":
        return _read_obs(path)
    return read_table(path)


def canonical_labels(table: pd.DataFrame, spec: LabelSpec, source: str,
                     need_target: bool = True, is_obs: bool = False) -> pd.DataFrame:
    """Copy the named columns to ``sample``/``target``/``group``/``batch`` (module docstring).

    Parameters
    ----------
    table
        The labels as read (after row filters).
    spec
        Column names.
    source
        File name for messages.
    need_target
        The target column must exist (training); otherwise it is used when present.
    is_obs
        ``table`` is an AnnData ``.obs`` (sample id = ``_obs_names`` unless the sample
        column is an ``.obs`` column).

    Returns
    -------
    pandas.DataFrame
        Canonical columns first (``sample`` as text), then the other columns.
    """
    cols = [c for c in table.columns if c != "_obs_names"]

    def missing(what: str, name: str, option: str) -> UserInputError:
        return UserInputError(f"{source}: no {what} column {name!r} ({option}); columns: "
                              f"{capped(cols, shown=8)}")

    out: dict[str, pd.Series] = {}
    if spec.sample_column in table.columns:
        out["sample"] = table[spec.sample_column]
    elif is_obs and spec.sample_column == "sample":
        out["sample"] = table["_obs_names"]
    else:
        raise missing("sample", spec.sample_column, "--sample-column")
    sample = out["sample"]
    empty = sample.isna().to_numpy() | (sample.astype(str).str.strip() == "").to_numpy()
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise UserInputError(f"{source}: row {i + 1} (after filters) has no sample id in "
                             f"column {spec.sample_column!r} ({int(empty.sum()):,} such rows); "
                             f"keep the rows that have one with --labels-where "
                             f"'{spec.sample_column}!='")
    out["sample"] = _as_text(sample)
    if spec.target_column in table.columns:
        out["target"] = table[spec.target_column]
    elif need_target:
        raise missing("target", spec.target_column, "--target-column")
    for key, name in (("group", spec.group_column), ("batch", spec.batch_column)):
        if name is not None:
            if name not in table.columns:
                raise missing(key, name, f"--{key}-column")
            out[key] = _as_text(table[name])
        elif key in table.columns:
            out[key] = _as_text(table[key])
    used = {spec.sample_column, spec.target_column}
    rest = {c: table[c] for c in cols if c not in CANONICAL and c not in used}
    frame = pd.DataFrame({**out, **rest})
    return frame.reset_index(drop=True)


def read_labels(path: str | os.PathLike, spec: LabelSpec | None = None,
                need_target: bool = True) -> pd.DataFrame:
    """Read, filter and canonicalise a labels table (module docstring).

    Raises
    ------
    UserInputError
        Missing file or column, a filter no row meets, a row without a sample id.
    """
    spec = spec or LabelSpec()
    path = Path(path)
    raw = read_raw_labels(path)
    is_obs = "_obs_names" in raw.columns and table_format(path) == ".h5ad"
    filtered = apply_filters(raw, spec.filters(), str(path))
    return canonical_labels(filtered, spec, str(path), need_target=need_target, is_obs=is_obs)
