"""Stopping a long command cleanly on SIGTERM, SIGUSR1 or SIGINT.

SLURM sends SIGTERM on preemption, ``scancel`` and at the time limit, and the signal chosen with
``sbatch --signal`` (SIGUSR1 by convention) shortly before the time limit; Ctrl-C sends SIGINT.
While :func:`handling` is active (a command's lifetime; the previous handlers are restored
afterwards) such a signal either

* raises :class:`Interrupted` at once, when the program is outside a :func:`deferred` region
  (nothing is lost: every output is written atomically), or
* is only recorded inside a :func:`deferred` region (the training loop, a checkpoint or output
  write); the code there polls :func:`pending` at safe points -- a training step boundary --,
  saves what it needs and raises :class:`Interrupted` itself. A region that ends with a signal
  still pending raises it then. A second signal inside a region is recorded too and never
  interrupts a write.

Exit codes (:attr:`Interrupted.exit_code`): 75 (``EX_TEMPFAIL``, "try again": requeue me) for
SIGTERM and SIGUSR1, 130 (128 + SIGINT, the shell convention) for SIGINT.

Outside :func:`handling` (library use) nothing is installed and :func:`pending` is always None.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

#: exit code after SIGTERM / SIGUSR1: EX_TEMPFAIL from sysexits.h ("requeue me")
EXIT_REQUEUE = 75
#: exit code after SIGINT (128 + 2, what a shell reports for Ctrl-C)
EXIT_SIGINT = 130

#: the signals a command stops on
SIGNALS: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGUSR1, signal.SIGINT)


def exit_code(signum: int) -> int:
    """75 for SIGTERM/SIGUSR1, 130 for SIGINT."""
    return EXIT_SIGINT if signum == signal.SIGINT else EXIT_REQUEUE


def signal_name(signum: int) -> str:
    """``SIGTERM`` etc. (the number when unknown)."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class Interrupted(BaseException):  # noqa: N818 - like KeyboardInterrupt, not an error
    """A stop signal ended the work.

    A ``BaseException`` (like ``KeyboardInterrupt``) so that ``except Exception`` blocks do not
    swallow it. The command layer turns it into one line on stderr and :attr:`exit_code`.

    Attributes
    ----------
    signum
        The signal received (the first one when several arrived).
    where
        Where the work stopped, e.g. ``"after epoch 3, step 5 of epoch 4"`` ("" if unknown).
    checkpoint
        What was saved to continue from ("" when nothing was).
    subject, hint
        Set by the command: what was being worked on (a run directory) and what to do next.
    """

    def __init__(self, signum: int, where: str = "", checkpoint: str = "") -> None:
        super().__init__(signum, where)
        self.signum = int(signum)
        self.where = where
        self.checkpoint = checkpoint
        self.subject = ""
        self.hint = ""

    @property
    def exit_code(self) -> int:
        return exit_code(self.signum)

    @property
    def signal_name(self) -> str:
        return signal_name(self.signum)

    def message(self) -> str:
        """One line: ``SUBJECT: interrupted by SIGTERM WHERE (CHECKPOINT); HINT``."""
        text = f"interrupted by {self.signal_name}"
        if self.where:
            text += f" {self.where}"
        if self.checkpoint:
            text += f" ({self.checkpoint})"
        if self.hint:
            text += f"; {self.hint}"
        return f"{self.subject}: {text}" if self.subject else text

    def __str__(self) -> str:
        return self.message()


@dataclass
class _State:
    installed: bool = False
    pending: int | None = None
    depth: int = 0
    seen: dict[str, int] = field(default_factory=dict)


_state = _State()


def pending() -> int | None:
    """The signal received and not yet acted on (None when there is none)."""
    return _state.pending


def check(where: str = "", checkpoint: str = "") -> None:
    """Raise :class:`Interrupted` if a signal is pending (a safe point in the work)."""
    if _state.pending is not None:
        raise Interrupted(_state.pending, where, checkpoint)


def _handler(signum: int, frame: object) -> None:
    if _state.pending is None:
        _state.pending = signum
    if _state.depth == 0:
        raise Interrupted(_state.pending)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """A region in which signals are only recorded (see the module docstring).

    Regions nest; when the outermost one ends normally with a signal pending, it raises
    :class:`Interrupted` (``where`` empty: the caller knows where it was).
    """
    _state.depth += 1
    try:
        yield
    finally:
        _state.depth -= 1
    if _state.depth == 0 and _state.pending is not None:
        raise Interrupted(_state.pending)


@contextlib.contextmanager
def handling() -> Iterator[None]:
    """Install the handlers of :data:`SIGNALS` for the duration of the block.

    Off the main thread (where Python cannot install handlers) or when already installed
    (nested commands) it does nothing. The previous handlers are restored on exit, and the
    pending signal is forgotten.
    """
    if _state.installed or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in SIGNALS}
    _state.installed, _state.pending, _state.depth = True, None, 0
    try:
        for s in SIGNALS:
            signal.signal(s, _handler)
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)
        _state.installed, _state.pending, _state.depth = False, None, 0
        _state.seen.clear()


#: test hook: ``"LABEL"`` or ``"LABEL@N"`` makes the N-th (default first) :func:`safe_point`
#: with that label print a line and wait for a signal (how the fault tests signal a real
#: process at a known step without racing it)
PAUSE_ENV = "APRIOR_TEST_PAUSE_AT"
PAUSE_TIMEOUT_S = 120.0


def safe_point(label: str) -> None:
    """Mark a point where stopping is safe (e.g. ``"epoch 2 step 3"``); see :data:`PAUSE_ENV`.

    Costs one dictionary lookup unless the environment variable is set.
    """
    wanted = os.environ.get(PAUSE_ENV)
    if not wanted or not _state.installed:
        return
    name, _, nth = wanted.partition("@")
    if name != label:
        return
    _state.seen[label] = _state.seen.get(label, 0) + 1
    if _state.seen[label] != (int(nth) if nth else 1):
        return
    print(f"aprior-test: paused at {label} (pid {os.getpid()})", file=sys.stderr, flush=True)
    deadline = time.monotonic() + PAUSE_TIMEOUT_S
    while _state.pending is None and time.monotonic() < deadline:
        time.sleep(0.01)  # wakes up on the signal (the handler runs between two sleeps)
