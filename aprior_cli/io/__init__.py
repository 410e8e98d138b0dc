"""Reading and writing files: tables by extension, atomic writes, output sets and locks.

The names below are imported on first use (PEP 562), so light modules of this package
(:mod:`~aprior_cli.io.outputs`, :mod:`~aprior_cli.io.locks`,
:mod:`~aprior_cli.io.read_errors`) do not pull in pandas.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {"atomic_path": "aprior_cli.io.atomic", "atomic_write_text": "aprior_cli.io.atomic",
            "read_table": "aprior_cli.io.tables", "write_table": "aprior_cli.io.tables"}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
