"""Progress reporting: a bar on an interactive terminal, quiet in logs and batch jobs."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def progress(iterable: Iterable[T], desc: str = "", total: int | None = None,
             enabled: bool | None = None) -> Iterator[T]:
    """Wrap ``iterable`` in a tqdm bar only when stderr is a terminal (or ``enabled`` is True);
    the finished bar stays on screen."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    return iter(tqdm(iterable, desc=desc, total=total, disable=not enabled, leave=enabled))
