"""Options and error handling shared by every subcommand.

Conventions (DESIGN.md): ``-o/--outdir``, ``--seed``, ``--device auto|cpu|cuda``, ``--threads``,
``-v/--verbose``, ``-q/--quiet``. Every failure ends with **one line** on stderr and a non-zero
exit code, and nothing at the output path:

* user errors (:class:`~aprior_cli.errors.UserInputError`, missing files, ...) -> that line,
  exit 1;
* a file that cannot be decoded (a truncated ``.gz``: ``EOFError``, which click would turn into
  a bare ``Aborted!``) -> ``cannot read ...: <reason>``, exit 1;
* anything else is a bug -> ``internal error: <type>: <message> (rerun with -vv for the
  traceback)``, exit 1;
* click's usage errors (unknown option, bad choice, :class:`FiniteFloat` out of range) -> one
  ``Error: ...`` line, exit 2 (see :func:`one_line_usage_errors`).

``-vv`` prints the traceback before the line. :func:`handle_errors` also runs the body inside
:func:`aprior_cli.io.outputs.command_scope`, so the outputs a command claimed with
:func:`aprior_cli.io.outputs.claim_outputs` are published when it returns and removed when it
fails.
"""

from __future__ import annotations

import errno
import functools
import logging
import math
import sys
import traceback
from collections.abc import Callable
from typing import Any

import click

from aprior_cli.errors import TrainingDivergedError, UserInputError

log = logging.getLogger("aprior")


def setup_logging(verbose: int = 0, quiet: bool = False) -> None:
    """Log to stderr: WARNING with ``-q``, INFO by default, DEBUG with ``-v``."""
    level = logging.WARNING if quiet else (logging.DEBUG if verbose else logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[aprior] %(message)s"))
    root = logging.getLogger("aprior")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def verbosity_options(f: Callable) -> Callable:
    """Add ``-v/--verbose`` (repeatable) and ``-q/--quiet``."""
    f = click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors; no summary.")(f)
    f = click.option("-v", "--verbose", count=True,
                     help="More log output (-vv also shows tracebacks).")(f)
    return f


def outdir_option(required: bool = True, help: str = "Output directory.") -> Callable:
    return click.option("-o", "--outdir", type=click.Path(file_okay=False), required=required,
                         help=help)


def refuse_existing_outdir(outdir: str, overwrite: bool) -> None:
    """For commands whose ``-o`` folder is one result (a selection, a consensus): an existing,
    non-empty folder is replaced only with ``--overwrite``."""
    from pathlib import Path

    from aprior_cli.errors import UserInputError

    path = Path(outdir)
    if path.exists() and not path.is_dir():
        raise UserInputError(f"{outdir}: exists and is not a directory")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise UserInputError(f"{outdir}: already exists; choose another -o/--outdir or pass "
                             "--overwrite")


def seed_option(default: int = 0,
                help: str = "Random seed; the same seed gives the same result on CPU.") -> Callable:
    return click.option("--seed", type=click.IntRange(min=0), default=default,
                        show_default=True, help=help)


def device_option(f: Callable) -> Callable:
    return click.option("--device", default="auto", show_default=True,
                        help="auto (CUDA when available), cpu, or cuda[:i].")(f)


def threads_option(f: Callable | None = None, *,
                   help: str = "CPU threads (default: $SLURM_CPUS_PER_TASK when set, "
                                "else torch's choice).") -> Callable:
    """``--threads``; use as ``@threads_option`` or ``@threads_option(help=...)``."""
    option = click.option("--threads", type=click.IntRange(min=1), default=None, help=help)
    return option(f) if f is not None else option


#: exceptions whose message is already a user-facing line
USER_ERRORS = (UserInputError, TrainingDivergedError, FileNotFoundError, FileExistsError,
               PermissionError, NotADirectoryError, IsADirectoryError)
#: OSError numbers that describe the machine, not a bug (full disk, read-only file system ...)
_ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EMFILE,
                       errno.ENAMETOOLONG}


def handle_errors(f: Callable) -> Callable:
    """Run a command body, turning every failure into one line and a non-zero exit.

    Expects the command to have the ``verbose``/``quiet`` parameters of
    :func:`verbosity_options` (it sets up logging from them). The body runs inside
    :func:`aprior_cli.io.outputs.command_scope`: its claimed output sets are published when it
    returns and discarded (with their locks) when it raises.
    """

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from aprior_cli.io.outputs import command_scope

        verbose = kwargs.get("verbose", 0) or 0
        setup_logging(verbose, kwargs.get("quiet", False))
        try:
            with command_scope():
                return f(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:  # Ctrl-C outside the long commands' own handling
            click.echo("Error: interrupted (SIGINT); nothing was written at the output path",
                       err=True)
            raise click.exceptions.Exit(130) from None
        except Exception as exc:  # noqa: BLE001 - the last resort: one line, never a traceback
            if verbose >= 2:
                traceback.print_exc(file=sys.stderr)
            raise click.ClickException(error_line(exc)) from None

    return wrapper


def error_line(exc: BaseException) -> str:
    """The one line shown for ``exc``: its message for user errors, a file-reading reason for
    decoding errors, ``internal error: ...`` for anything else."""
    from aprior_cli.io.read_errors import describe, is_decode_error

    if isinstance(exc, USER_ERRORS):
        return _one_line(exc)
    if is_decode_error(exc):
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        return _squash(f"{where}cannot read an input file: {describe(exc)}")
    if isinstance(exc, OSError) and exc.errno in _ENVIRONMENT_ERRNOS:
        where = f"{exc.filename}: " if exc.filename else ""
        return _squash(f"{where}{exc.strerror or exc}")
    if isinstance(exc, MemoryError):
        return "out of memory (MemoryError); use smaller inputs or a machine with more memory"
    text = _squash(str(exc)) or "(no message)"
    if len(text) > 160:
        text = text[:157] + "..."
    return f"internal error: {type(exc).__name__}: {text} (rerun with -vv for the traceback)"


def _squash(text: str) -> str:
    from aprior_cli.messages import one_line

    return one_line(text)


def _one_line(exc: BaseException) -> str:
    from aprior_cli.messages import one_line

    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, FileNotFoundError) and exc.filename:
        text = f"{exc.filename}: file not found"
    elif isinstance(exc, OSError) and exc.filename and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}"
    return one_line(text)  # one short line, even if a message forgot to cap a list


class OneLineUsageError(click.UsageError):
    """A click usage error shown as one line (``Error: ... (see 'aprior CMD --help')``)."""

    def __init__(self, original: click.UsageError) -> None:
        super().__init__(original.format_message(), original.ctx)
        self.exit_code = original.exit_code

    def show(self, file: Any = None) -> None:
        hint = f" (see '{self.ctx.command_path} --help')" if self.ctx is not None else ""
        click.echo(f"Error: {_squash(self.format_message())}{hint}", err=True)


def one_line_usage_errors(invoke: Callable) -> Callable:
    """Wrap a command's or group's ``invoke``/``make_context`` so usage errors print one line."""

    @functools.wraps(invoke)
    def wrapper(self: click.Command, *args: Any, **kwargs: Any) -> Any:
        try:
            return invoke(self, *args, **kwargs)
        except OneLineUsageError:
            raise
        except click.UsageError as exc:
            raise OneLineUsageError(exc) from None

    return wrapper


class Command(click.Command):
    """``click.Command`` whose usage errors (bad option values, unknown options, missing
    arguments) print one line; every subcommand uses it (``@click.command(cls=Command)``)."""

    make_context = one_line_usage_errors(click.Command.make_context)
    invoke = one_line_usage_errors(click.Command.invoke)


class FiniteFloat(click.ParamType):
    """A float option that must be finite and (optionally) in a range.

    ``click.FloatRange`` lets ``nan`` through (every comparison with NaN is false) and accepts
    ``inf``; this type rejects both before the command runs.

    Parameters
    ----------
    min, max
        Bounds (``None``: unbounded).
    min_open, max_open
        Exclude the bound itself.
    """

    name = "number"

    def __init__(self, min: float | None = None, max: float | None = None,  # noqa: A002
                 min_open: bool = False, max_open: bool = False) -> None:
        self.min, self.max = min, max
        self.min_open, self.max_open = min_open, max_open

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> float:
        if isinstance(value, bool):
            self.fail(f"{value!r} is not a number", param, ctx)
        try:
            number = float(value if isinstance(value, int | float) else str(value).strip())
        except ValueError:
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        low_bad = self.min is not None and (number < self.min
                                            or (self.min_open and number == self.min))
        high_bad = self.max is not None and (number > self.max
                                             or (self.max_open and number == self.max))
        if low_bad or high_bad:
            self.fail(f"{number:g} is not in the range {self._range()}", param, ctx)
        return number

    def _range(self) -> str:
        low = "-inf" if self.min is None else f"{self.min:g}"
        high = "inf" if self.max is None else f"{self.max:g}"
        left = "(" if self.min_open or self.min is None else "["
        right = ")" if self.max_open or self.max is None else "]"
        return f"{left}{low}, {high}{right}"

    def __repr__(self) -> str:
        return f"FiniteFloat{self._range()}"


def echo_summary(quiet: bool, text: str) -> None:
    """Print the command's short summary on stdout unless ``--quiet``."""
    if not quiet:
        click.echo(text)


def label_options(f: Callable | None = None, *, defaults_from_run: bool = False) -> Callable:
    """``--sample-column``, ``--target-column``, ``--group-column``, ``--labels-where`` for a
    command that reads a labels table (:mod:`aprior_cli.io.labels`).

    With ``defaults_from_run`` (attribute, predict) every default is None, meaning "as the
    run was trained" (its config.yaml).
    """
    run = " [default: as in the run's config]" if defaults_from_run else ""

    def decorate(g: Callable) -> Callable:
        g = click.option("--labels-where", multiple=True, metavar="COLUMN=VALUE",
                         help="Keep label rows with COLUMN=VALUE (or COLUMN!=VALUE), e.g. "
                              "DRUG_NAME=Olaparib; repeatable (same column: any of the "
                              f"values; different columns: all).{run}")(g)
        g = click.option("--group-column", default=None,
                         help="Labels column with the group (patient) id [default: 'group' "
                              f"if present].{run}")(g)
        g = click.option("--target-column", default=None if defaults_from_run else "target",
                         show_default=not defaults_from_run,
                         help=f"Labels column with the target.{run}")(g)
        g = click.option("--sample-column", default=None if defaults_from_run else "sample",
                         show_default=not defaults_from_run,
                         help="Labels column with the sample id (.h5ad labels: obs_names "
                              f"unless an .obs column is named).{run}")(g)
        return g

    return decorate(f) if f is not None else decorate
