"""Small checks shared by the readers: an input path that must be an existing file."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

from aprior_cli.errors import UserInputError


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


def read_text_lines(path: Path, what: str, detail: bool = True) -> list[str]:
    """All lines of a UTF-8 text file (``.gz`` transparently); unreadable -> UserInputError.

    The message is ``"{path}: cannot read {what} (<error type>[: <error>])"``.
    """
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            return handle.readlines()
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        reason = f"{type(exc).__name__}: {exc}" if detail else type(exc).__name__
        raise UserInputError(f"{path}: cannot read {what} ({reason})") from exc
