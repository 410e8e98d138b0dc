"""Stop signals for the long commands (train, attribute, reproduce, moons).

``@interruptible(hint)`` installs the handlers of :mod:`aprior_cli.interrupt` for the
command's duration (restoring the previous ones afterwards) and turns
:class:`~aprior_cli.interrupt.Interrupted` into one line on stderr and the documented exit
code: 75 (EX_TEMPFAIL, "requeue me") after SIGTERM or SIGUSR1, 130 after SIGINT -- instead of
a silent death (SIGTERM) or click's ``Aborted!`` (SIGINT). The line starts with the command's
``outdir`` unless the command named its subject (:func:`annotate`). Place it above
``@handle_errors``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from aprior_cli import interrupt


def interruptible(hint: str) -> Callable[[Callable], Callable]:
    """Decorator; ``hint`` ends the line unless the command set its own
    (e.g. ``"rerun with --resume to continue"``)."""

    def decorate(f: Callable) -> Callable:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                with interrupt.handling():
                    return f(*args, **kwargs)
            except interrupt.Interrupted as exc:
                exc.subject = exc.subject or str(kwargs.get("outdir") or "")
                exc.hint = exc.hint or hint
                click.echo(exc.message(), err=True)
                raise click.exceptions.Exit(exc.exit_code) from None

        return wrapper

    return decorate


def annotate(exc: interrupt.Interrupted, subject: str, where: str = "",
             hint: str = "") -> interrupt.Interrupted:
    """Add what was being worked on (``subject``, e.g. the run directory), a default ``where``
    and a ``hint`` to an interruption (values the raiser set are kept)."""
    exc.subject = exc.subject or subject
    exc.where = exc.where or where
    exc.hint = exc.hint or hint
    return exc
