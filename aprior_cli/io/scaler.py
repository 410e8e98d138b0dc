"""The z-score scaler file written by ``aprior preprocess`` (JSON).

``{"format": "aprior-scaler", "version": 1, "normalization": ..., "log2": ...,
"n_train_samples": ..., "genes": [...], "mean": [...], "sd": [...]}``
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from aprior_cli.errors import UserInputError
from aprior_cli.io.atomic import atomic_write_json
from aprior_cli.preprocess import Scaler

FORMAT = "aprior-scaler"


def save_scaler(path: str | os.PathLike, scaler: Scaler) -> None:
    """Write ``scaler`` atomically as JSON."""
    atomic_write_json(path, {"format": FORMAT, "version": 1,
                             "normalization": scaler.normalization, "log2": scaler.log2,
                             "n_train_samples": scaler.n_train_samples,
                             "genes": list(scaler.genes), "mean": scaler.mean.tolist(),
                             "sd": scaler.sd.tolist()})


def load_scaler(path: str | os.PathLike) -> Scaler:
    """Read a scaler file; :class:`UserInputError` on missing or malformed files."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"{path}: file not found")
    try:
        obj = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserInputError(f"{path}: not a scaler file (invalid JSON: {exc})") from exc
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
    return scaler
