"""Exclusive locks on output paths: ``.<name>.lock`` beside the output, held with ``flock``.

A second aprior process that wants to write the same output (or run directory) is refused with
one line naming the holder's pid; the kernel drops an ``flock`` when its process dies, so a
SIGKILL never leaves a stale lock (the next run simply takes it). The lock file is unlinked on
release; acquirers therefore re-check after ``flock`` that the path still names the inode they
locked (``fstat`` vs ``stat``) and retry otherwise, so unlinking can never let two holders in.

Directories that had to be created to hold the lock file are removed again on release when
they are still empty, so a failed command leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import time
from pathlib import Path

from aprior_cli.errors import UserInputError

log = logging.getLogger("aprior")
LOCK_SUFFIX = ".lock"


class OutputBusyError(UserInputError):
    """Another live process holds the lock of an output."""


def lock_path_for(target: str | os.PathLike) -> Path:
    """``dir/out.tsv`` -> ``dir/.out.tsv.lock``."""
    target = Path(target)
    if target.name in ("", ".."):           # "." or "..": lock it under its real name
        target = Path(os.path.abspath(target))
    return target.parent / f".{target.name}{LOCK_SUFFIX}"


def make_parents(directory: Path) -> list[Path]:
    """Create ``directory`` and missing parents; return the ones created (outermost first)."""
    missing = []
    d = directory
    while not d.exists():
        missing.append(d)
        if d.parent == d:
            break
        d = d.parent
    created = []
    for d in reversed(missing):
        try:
            d.mkdir()
        except FileExistsError:
            continue
        created.append(d)
    return created


def remove_empty_dirs(created: list[Path]) -> None:
    """rmdir the directories of :func:`make_parents` that are still empty (innermost first)."""
    for d in reversed(created):
        with contextlib.suppress(OSError):
            d.rmdir()


class OutputLock:
    """An exclusive, non-blocking (or waiting) lock on ``target``.

    Parameters
    ----------
    target
        The output file or directory (it need not exist).
    label
        How the message names it (e.g. ``"-o/--output"``).
    wait
        Wait for the holder instead of failing (used by ``aprior fetch``, whose concurrent
        callers want the same file, not different ones).
    """

    def __init__(self, target: str | os.PathLike, label: str | None = None,
                 wait: bool = False) -> None:
        self.target = Path(target)
        self.path = lock_path_for(self.target)
        self.label = label
        self.wait = wait
        self._fd: int | None = None
        self._created: list[Path] = []

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> OutputLock:
        """Take the lock; raise :class:`OutputBusyError` if another process holds it."""
        if self._fd is not None:
            return self
        self._created = make_parents(self.path.parent)
        try:
            self._fd = self._take()
        except BaseException:
            remove_empty_dirs(self._created)
            raise
        with contextlib.suppress(OSError):  # read-only descriptor: no pid to show, still locked
            os.ftruncate(self._fd, 0)
            os.write(self._fd, f"{os.getpid()}\n".encode())
        return self

    def _take(self) -> int:
        announced = False
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o664)
            except PermissionError:  # a colleague's lock file in a shared folder: read-only
                fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    os.close(fd)
                    raise
                holder = _read_pid(fd)
                if not self.wait:
                    os.close(fd)
                    raise self._busy(holder) from None
                if not announced:
                    log.info("%s: waiting for another aprior process (pid %s) to finish it",
                             self.target, holder or "?")
                    announced = True
                fcntl.flock(fd, fcntl.LOCK_EX)
            # the holder may have unlinked the file between our open and flock: retry then
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return fd
            os.close(fd)
            time.sleep(0.001)

    def _busy(self, holder: str | None) -> OutputBusyError:
        who = f"pid {holder}" if holder else "pid unknown"
        name = f"{self.label}: {self.target}" if self.label else str(self.target)
        return OutputBusyError(f"{name} is being written by another aprior process ({who}); "
                               "wait for it or choose another output")

    def release(self) -> None:
        """Unlink the lock file and drop the lock (idempotent)."""
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError, PermissionError):
            self.path.unlink()
        os.close(self._fd)
        self._fd = None
        remove_empty_dirs(self._created)
        self._created = []

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_pid(fd: int) -> str | None:
    try:
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    except OSError:
        return None
    return text if text.isdigit() else None
