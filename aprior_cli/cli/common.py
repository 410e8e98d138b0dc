"""Options and error handling shared by every subcommand.

Conventions (DESIGN.md): ``-o/--outdir``, ``--seed``, ``--device auto|cpu|cuda``, ``--threads``,
``-v/--verbose``, ``-q/--quiet``. User errors end with one line on stderr and exit code 1
(click's own usage errors exit 2); no traceback unless ``-v`` is given twice.
"""

from __future__ import annotations

import functools
import logging
import sys
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


def seed_option(default: int = 0,
                help: str = "Random seed; the same seed gives the same result on CPU.") -> Callable:
    return click.option("--seed", type=int, default=default, show_default=True, help=help)


def device_option(f: Callable) -> Callable:
    return click.option("--device", default="auto", show_default=True,
                        help="auto (CUDA when available), cpu, or cuda[:i].")(f)


def threads_option(f: Callable | None = None, *,
                   help: str = "CPU threads (default: the library's choice).") -> Callable:
    """``--threads``; use as ``@threads_option`` or ``@threads_option(help=...)``."""
    option = click.option("--threads", type=click.IntRange(min=1), default=None, help=help)
    return option(f) if f is not None else option


def handle_errors(f: Callable) -> Callable:
    """Run a command body, turning user errors into one line and a non-zero exit.

    Expects the command to have the ``verbose``/``quiet`` parameters of
    :func:`verbosity_options` (it sets up logging from them).
    """

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        verbose = kwargs.get("verbose", 0) or 0
        setup_logging(verbose, kwargs.get("quiet", False))
        try:
            return f(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except (UserInputError, TrainingDivergedError, FileNotFoundError, FileExistsError,
                PermissionError, NotADirectoryError, IsADirectoryError) as exc:
            if verbose >= 2:
                raise
            raise click.ClickException(_one_line(exc)) from None

    return wrapper


def _one_line(exc: BaseException) -> str:
    from aprior_cli.messages import one_line

    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, FileNotFoundError) and exc.filename:
        text = f"{exc.filename}: file not found"
    return one_line(text)  # one short line, even if a message forgot to cap a list


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
