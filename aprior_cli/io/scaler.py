"""The z-score scaler file written by ``aprior preprocess`` (JSON).

``{"format": "aprior-scaler", "version": 1, "normalization": ..., "log2": ...,
"n_train_samples": ..., "genes": [...], "mean": [...], "sd": [...],
"set": {"id": ..., "matrix": "expr.tsv", "report": "expr.report.json"}}``

``set`` ties the scaler to the matrix it was fitted with: ``aprior preprocess`` publishes
scaler, matrix and report (``OUT.report.json``, the set's manifest, written last; its
``set.scaler_id`` names the scaler the matrix was made with) as one output set.
:func:`load_scaler` checks the set when the files are side by side: a report that names another
scaler, or a matrix beside the scaler without its report (an interrupted publish), is refused.
A scaler copied elsewhere alone, or written before sets existed, is accepted as it is.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from aprior_cli.errors import UserInputError
from aprior_cli.io.atomic import atomic_write_json
from aprior_cli.io.files import read_text_file, require_file
from aprior_cli.io.read_errors import reading
from aprior_cli.preprocess import Scaler

FORMAT = "aprior-scaler"


def save_scaler(path: str | os.PathLike, scaler: Scaler,
                set_info: dict[str, str] | None = None) -> None:
    """Write ``scaler`` atomically as JSON; ``set_info`` = ``{"id", "matrix", "report"}``
    (file names beside it) of the output set it belongs to."""
    obj = {"format": FORMAT, "version": 1, "normalization": scaler.normalization,
           "log2": scaler.log2, "n_train_samples": scaler.n_train_samples,
           "genes": list(scaler.genes), "mean": scaler.mean.tolist(), "sd": scaler.sd.tolist()}
    if set_info is not None:
        obj["set"] = dict(set_info)
    atomic_write_json(path, obj)


def _read_object(path: Path, what: str) -> object:
    with reading(path, what):
        return json.loads(read_text_file(path, what))


def scaler_set_id(path: str | os.PathLike) -> str | None:
    """The set id recorded in a scaler file (``None`` for files without one)."""
    obj = _read_object(Path(path), "scaler file")
    info = obj.get("set") if isinstance(obj, dict) else None
    return str(info["id"]) if isinstance(info, dict) and "id" in info else None


def check_scaler_set(path: Path, info: object) -> None:
    """Refuse a scaler that does not belong to the matrix beside it (see module docstring)."""
    if not isinstance(info, dict) or not {"id", "matrix", "report"} <= set(info):
        return
    report, matrix = path.parent / str(info["report"]), path.parent / str(info["matrix"])
    if report.is_file():
        rep = _read_object(report, "preprocess report")
        used = rep.get("set", {}).get("scaler_id") if isinstance(rep, dict) else None
        if used != info["id"]:
            raise UserInputError(f"{path}: does not belong to the matrix beside it ({report.name} "
                                 "records another scaler: an interrupted or concurrent aprior "
                                 "preprocess?); rerun aprior preprocess for that output")
    elif matrix.exists():
        raise UserInputError(f"{path}: incomplete output set ({matrix.name} is beside it but "
                             f"{report.name} is missing: an interrupted aprior preprocess?); "
                             "rerun aprior preprocess for that output")


def load_scaler(path: str | os.PathLike) -> Scaler:
    """Read a scaler file; :class:`UserInputError` on missing or malformed files, or on a
    scaler that does not belong to the matrix beside it (:func:`check_scaler_set`)."""
    path = require_file(path, "a scaler file (OUT.scaler.json)")
    obj = _read_object(path, "scaler file")
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise UserInputError(f"{path}: not an aprior scaler file (written by aprior preprocess)")
    try:
        genes = [str(g) for g in obj["genes"]]
        mean = np.asarray(obj["mean"], dtype=np.float64)
        sd = np.asarray(obj["sd"], dtype=np.float64)
        scaler = Scaler(genes=genes, mean=mean, sd=sd, normalization=str(obj["normalization"]),
                        log2=bool(obj["log2"]), n_train_samples=int(obj["n_train_samples"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise UserInputError(f"{path}: malformed scaler file ({exc})") from exc
    if not (len(genes) == mean.shape[0] == sd.shape[0]) or not np.all(np.isfinite(mean)) \
            or not np.all(sd > 0):
        raise UserInputError(f"{path}: malformed scaler file (lengths or values)")
    if len(set(genes)) != len(genes):
        raise UserInputError(f"{path}: malformed scaler file (duplicate genes)")
    check_scaler_set(path, obj.get("set"))
    return scaler
