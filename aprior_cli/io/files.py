"""Small checks shared by the readers: an input path that must be an existing file, and text
read through the one decoding-error translator (:mod:`aprior_cli.io.read_errors`)."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
from pathlib import Path

from aprior_cli.errors import UserInputError
from aprior_cli.io.read_errors import reading

_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


def require_file(path: str | os.PathLike, kind: str, missing: str | None = None) -> Path:
    """Return ``path`` as a Path if it is an existing file, else raise one clear line.

    ``kind`` names the file in the directory message ("a GMT file"); ``missing`` is the
    not-found message after ``"{path}: "`` (default ``"file not found"``).
    """
    path = Path(path)
    if not path.exists():
        raise UserInputError(f"{path}: {missing or 'file not found'}")
    if path.is_dir():
        raise UserInputError(f"{path}: is a directory, expected {kind}")
    return path


def open_text(path: Path, errors: str = "strict"):
    """Open a UTF-8 text file for reading, decompressing ``.gz``/``.bz2``/``.xz``."""
    opener = _OPENERS.get(path.suffix.lower(), open)
    return opener(path, "rt", encoding="utf-8", errors=errors)


def read_text_lines(path: Path, what: str) -> list[str]:
    """All lines of a UTF-8 text file (``.gz`` transparently); unreadable -> UserInputError.

    The message is ``"{path}: cannot read {what}: <reason>"`` (see
    :func:`aprior_cli.io.read_errors.describe`).
    """
    with reading(path, what), open_text(path) as handle:
        return handle.readlines()


def read_text_file(path: str | os.PathLike, what: str) -> str:
    """The whole text of an existing UTF-8 file (compressed ok); errors name the file."""
    path = require_file(path, f"a {what}")
    with reading(path, what), open_text(path) as handle:
        return handle.read()
