"""Read gene-gene edge files: HumanBase-style ``gene1<TAB>gene2<TAB>weight`` and plain
two-column ``gene1<TAB>gene2`` lists (weight 1), optionally gzip-compressed.

Files are parsed by Arrow's multi-threaded CSV reader with dictionary-encoded id columns, so a
10-million-line file is read in seconds without a Python object per id. A 3-column file whose
first line has a non-numeric weight is taken to have a header line (skipped, logged).
"""

from __future__ import annotations

import gzip
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from aprior_cli.errors import UserInputError
from aprior_cli.graph import EdgeList
from aprior_cli.io.files import require_file
from aprior_cli.io.read_errors import read_error, reading

log = logging.getLogger("aprior")
_MALFORMED = "malformed line"


def _open_text(path: Path):
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def _first_line(path: Path) -> str | None:
    with reading(path, "edge file"), _open_text(path) as fh:
        for line in fh:
            if line.strip():
                return line.rstrip("\r\n")
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _find_bad_line(path: Path, n_columns: int, header: bool) -> str:
    """Slow path, only after a parse error: the first offending line, numbered from 1."""
    with reading(path, "edge file"), _open_text(path) as fh:
        for number, line in enumerate(fh, start=1):
            if header and number == 1:
                continue
            fields = line.rstrip("\r\n").split("\t")
            if not line.strip():
                return f"line {number}: empty line"
            if len(fields) != n_columns:
                return (f"line {number}: expected {n_columns} tab-separated columns, "
                        f"found {len(fields)}")
            if n_columns == 3 and not _is_number(fields[2]):
                return f"line {number}: weight {fields[2]!r} is not a number"
    return _MALFORMED


def check_weights(weight: np.ndarray, path: str | os.PathLike, header: bool = False) -> None:
    """Edge weights must be finite and >= 0: a negative weight makes ``L = D - W`` indefinite
    (the "Laplacian" penalty can go negative and reward rough attributions).

    Raises :class:`UserInputError` naming the file, the line (numbered from 1, the header
    counted) and the value of the first bad weight.
    """
    bad = ~np.isfinite(weight) | (weight < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        what = "negative" if np.isfinite(weight[i]) else "not finite"
        raise UserInputError(f"{path}: line {i + 1 + int(header)}: edge weight {weight[i]:g} "
                             f"is {what}; weights must be finite and >= 0 (a Laplacian needs "
                             "non-negative weights)")


def read_edge_file(path: str | os.PathLike) -> EdgeList:
    """Read one edge file (2 or 3 tab-separated columns, no header; ``.gz`` ok).

    Returns
    -------
    EdgeList
        ``ids`` (the distinct ids), ``src``/``dst`` codes into ``ids`` and ``weight``
        (1.0 for two-column files), one entry per line, direction as written.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    path = require_file(path, "an edge file")
    first = _first_line(path)
    if first is None:
        raise UserInputError(f"{path}: edge file is empty")
    fields = first.split("\t")
    if len(fields) not in (2, 3):
        raise UserInputError(f"{path}: line 1: expected 2 (gene1 gene2) or 3 (gene1 gene2 weight) "
                             f"tab-separated columns, found {len(fields)}")
    n_columns = len(fields)
    header = n_columns == 3 and not _is_number(fields[2])
    if header:
        log.debug("%s: first line %r taken as a header (recorded in the statistics)", path,
                  first)
    names = ["gene1", "gene2", "weight"][:n_columns]
    ids_type = pa.dictionary(pa.int32(), pa.string())
    types = {"gene1": ids_type, "gene2": ids_type}
    if n_columns == 3:
        types["weight"] = pa.float64()
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1 if header else 0,
                                           block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False),
            convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise UserInputError(f"{path}: {_find_bad_line(path, n_columns, header)}") from exc
    except (OSError, EOFError) as exc:
        raise read_error(path, "edge file", exc) from exc
    if table.num_rows == 0:
        raise UserInputError(f"{path}: edge file has no edges")
    table = table.unify_dictionaries()
    codes = []
    dictionaries = []
    for name in ("gene1", "gene2"):
        column = table.column(name)
        dictionaries.append(pd.Index(column.chunk(0).dictionary.to_numpy(zero_copy_only=False)))
        codes.append(np.concatenate([c.indices.to_numpy() for c in column.chunks])
                     .astype(np.int64, copy=False))
    ids, (src, dst) = _merge_vocabularies(dictionaries, codes)
    if n_columns == 3:
        weight = table.column("weight").to_numpy()
        if np.isnan(weight).any():  # empty or non-numeric text first; "nan" itself below
            reason = _find_bad_line(path, n_columns, header)
            if reason != _MALFORMED:
                raise UserInputError(f"{path}: {reason}")
        check_weights(weight, path, header)
    else:
        weight = np.ones(table.num_rows, dtype=np.float64)
    return EdgeList(ids=ids, src=src, dst=dst, weight=np.asarray(weight, dtype=np.float64),
                    meta={"file": str(path), "edges": int(table.num_rows), "columns": n_columns,
                          "header": header})


def _merge_vocabularies(vocabularies: Sequence[pd.Index], codes: Sequence[np.ndarray]
                        ) -> tuple[pd.Index, list[np.ndarray]]:
    """Re-code ``codes[k]`` (indices into ``vocabularies[k]``) into one shared vocabulary."""
    merged = vocabularies[0]
    for vocab in vocabularies[1:]:
        merged = merged.append(vocab)
    remap, ids = pd.factorize(merged)
    out, offset = [], 0
    for vocab, code in zip(vocabularies, codes, strict=True):
        out.append(remap[offset:offset + len(vocab)][code])
        offset += len(vocab)
    return pd.Index(ids), out


def read_edges(paths: Sequence[str | os.PathLike]) -> tuple[EdgeList, list[dict]]:
    """Read and concatenate several edge files (ids unified); also per-file line counts."""
    if not paths:
        raise UserInputError("--edges: give at least one edge file")
    parts = [read_edge_file(p) for p in paths]
    per_file = [dict(e.meta) for e in parts]
    if len(parts) == 1:
        return parts[0], per_file
    vocabularies, codes = [], []
    for e in parts:
        vocabularies += [e.ids, e.ids]
        codes += [e.src, e.dst]
    ids, recoded = _merge_vocabularies(vocabularies, codes)
    src = np.concatenate(recoded[0::2])
    dst = np.concatenate(recoded[1::2])
    weight = np.concatenate([e.weight for e in parts])
    return EdgeList(ids=ids, src=src, dst=dst, weight=weight), per_file
