"""The one place that turns a file that cannot be decoded or parsed into one line naming it.

Every reader wraps its parsing in :func:`reading`::

    with reading(path, "table"):
        df = pd.read_csv(path, ...)

so a truncated ``.gz`` (``EOFError``), a file that is not gzip at all (``BadGzipFile``), corrupt
zlib/bz2/xz data, text that is not UTF-8, malformed CSV/JSON/YAML, or a broken parquet / HDF5
(``.h5ad``) / ``.npz`` file ends as :class:`~aprior_cli.errors.UserInputError`
``"<path>: cannot read <what>: <reason>"``. :func:`describe` gives the short reason; the CLI's
last-resort handler (:func:`aprior_cli.cli.common.handle_errors`) uses it too for a decoding
error that escaped a reader, so the user never sees click's bare ``Aborted!``.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import json
import lzma
import os
import zipfile
import zlib
from collections.abc import Iterator

from aprior_cli.errors import UserInputError


def _optional_errors() -> tuple[type[BaseException], ...]:
    """Parser errors of the libraries that may be absent or slow to import (looked up lazily)."""
    found: list[type[BaseException]] = []
    with contextlib.suppress(ImportError):
        import pandas as pd

        found += [pd.errors.ParserError, pd.errors.EmptyDataError]
    with contextlib.suppress(ImportError):
        import yaml

        found.append(yaml.YAMLError)
    with contextlib.suppress(ImportError):
        import pyarrow as pa

        found.append(pa.ArrowException)
    return tuple(found)


#: exceptions that mean "this file's bytes are not what its name promises"
DECODE_ERRORS: tuple[type[BaseException], ...] = (
    EOFError, gzip.BadGzipFile, zlib.error, lzma.LZMAError, UnicodeDecodeError, csv.Error,
    zipfile.BadZipFile, json.JSONDecodeError)


def read_error_types() -> tuple[type[BaseException], ...]:
    """Every exception :func:`reading` converts (decode errors, parser errors, OSError,
    ValueError, KeyError)."""
    return DECODE_ERRORS + _optional_errors() + (OSError, ValueError, KeyError)


def is_decode_error(exc: BaseException) -> bool:
    """True for the errors a damaged or mislabelled file raises (not for bugs)."""
    if isinstance(exc, DECODE_ERRORS + _optional_errors()):
        return True
    text = str(exc)
    return isinstance(exc, OSError) and exc.filename is None and any(
        key in text for key in ("Invalid data stream", "Truncated compressed", "zlib inflate",
                                "file signature not found", "Unable to open file",
                                "Unable to synchronously open"))


def describe(exc: BaseException) -> str:
    """A short, one-line reason for a read error (no file name)."""
    if isinstance(exc, EOFError):
        return "truncated, the compressed data ends early (an interrupted download or copy?)"
    if isinstance(exc, gzip.BadGzipFile):
        return "not a gzip file, although the name ends in .gz"
    if isinstance(exc, zlib.error | lzma.LZMAError):
        return f"corrupt compressed data ({_first_line(exc)})"
    if isinstance(exc, UnicodeDecodeError):
        byte = exc.object[exc.start:exc.start + 1]
        shown = f"0x{byte[0]:02x}" if byte else "?"
        return f"not UTF-8 text (byte {shown} at offset {exc.start}; binary or another encoding?)"
    if isinstance(exc, zipfile.BadZipFile):
        return f"not a valid zip/.npz archive ({_first_line(exc)})"
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
    text = _first_line(exc)
    if isinstance(exc, OSError) and "Invalid data stream" in text:
        return "corrupt bz2 data"
    if isinstance(exc, OSError) and "Truncated compressed" in text:
        return "truncated, the compressed data ends early (an interrupted download or copy?)"
    if isinstance(exc, OSError) and ("file signature not found" in text
                                     or "Unable to synchronously open" in text):
        return "not an HDF5 file (.h5ad), or a damaged one"
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, IsADirectoryError):
        return "is a directory"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, KeyError) and exc.args:
        text = f"missing {exc.args[0]!r}"
    line = text.splitlines()[0] if text else type(exc).__name__
    line = " ".join(line.split())
    return line if len(line) <= 160 else line[:157] + "..."


def read_error(path: str | os.PathLike, what: str, exc: BaseException) -> UserInputError:
    """``UserInputError("<path>: cannot read <what>: <reason>")``."""
    return UserInputError(f"{path}: cannot read {what}: {describe(exc)}")


@contextlib.contextmanager
def reading(path: str | os.PathLike, what: str = "file",
            catch: tuple[type[BaseException], ...] | None = None) -> Iterator[None]:
    """Turn decoding/parsing errors raised inside the block into one line naming ``path``.

    Parameters
    ----------
    path
        The file being read (shown in the message).
    what
        What it should be ("table", "edge file", "GMT file", ...).
    catch
        Exception types to convert (default :func:`read_error_types`). A
        :class:`~aprior_cli.errors.UserInputError` raised inside passes through unchanged.
    """
    try:
        yield
    except UserInputError:
        raise
    except Exception as exc:
        if isinstance(exc, catch or read_error_types()):
            raise read_error(path, what, exc) from exc
        raise
