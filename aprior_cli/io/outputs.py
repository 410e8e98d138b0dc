"""Where a command's outputs go: the output-path guard, staged output sets and their locks.

Every subcommand makes **one call** at the top of its body, after its own option checks and
before it reads any input::

    outs = claim_outputs(directory=outdir, inputs=[run_dir, expression, labels])
    ...
    write_table(ranking, outs / "ranking.tsv")    # staged: not visible at OUTDIR yet
    outs.publish()                                # every file appears together

or, for a set of sibling files (``-o expr.tsv`` with ``expr.scaler.json`` beside it)::

    outs = claim_outputs(files={"-o/--output": out, "scaler": scaler_out}, inputs=[counts])
    write_table(matrix, outs.path(out))

The call, in this order:

1. **guards** (:func:`check_outputs`): refuses an output that *is* an input (same path, or
   the same file through a symbolic or hard link: :func:`os.path.samefile`), an output inside
   an input directory (``-o`` inside a run directory being read), two outputs that are the
   same file, and — where the command replaces the whole output directory (``aprior train``
   run directories, ``replaces=True``) — an input inside that directory;
2. **locks** each output (:class:`~aprior_cli.io.locks.OutputLock`, ``.<name>.lock`` beside
   it): a second concurrent writer gets one line naming the holder's pid;
3. **cleans** what killed earlier runs of the same output left: staging folders and
   temporary files ``.<name>.XXXXXXXX.tmp*`` beside it;
4. **stages**: ``outs / name`` and ``outs.path(final)`` are paths in a hidden staging folder
   ``.<name>.XXXXXXXX.tmp/`` beside the final path (same file system, so renames are atomic).

Publishing (``outs.publish()``; done automatically when the command returns normally):

* a **directory** output is renamed into place in **one rename** when it does not exist yet or
  is empty (``rename(2)`` replaces an empty directory atomically); when it already holds files
  (an earlier result, a Snakemake log) the staged files are moved in one by one under the lock,
  each atomically replacing its old version, in the order they were written — the files a
  command writes last (a summary, a report) appear last;
* **sibling files** are renamed in the order they were staged, under the lock; a command whose
  set must be recognisable as a whole writes a manifest last and gives every member a shared
  set id (``aprior preprocess``: the report is the manifest and the scaler records the matrix's
  sha256, checked by ``--apply-scaler``).

On any error — a bad input found later, a bug, Ctrl-C — everything staged is removed, the locks
are released and their files unlinked, and directories created only to hold them are removed:
nothing is left at the output path. :func:`aprior_cli.cli.common.handle_errors` runs every
command body inside :func:`command_scope`, which does this for every set claimed in the body.
Outside a command use :class:`OutputSet` as a context manager.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import logging
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from aprior_cli.errors import UserInputError
from aprior_cli.io.locks import OutputLock

log = logging.getLogger("aprior")

PathLike = str | os.PathLike


# --------------------------------------------------------------------------- the guard

def _resolved(path: PathLike) -> Path:
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path)))).resolve()


def _named(path: PathLike) -> Path:
    """``path``, made absolute when it has no name of its own (``.``, ``..``, ``a/..``)."""
    path = Path(path)
    return Path(os.path.abspath(path)) if path.name in ("", "..") else path


def _inside(child: Path, parent: Path) -> bool:
    return child != parent and parent in child.parents


def same_file(a: PathLike, b: PathLike) -> bool:
    """True when ``a`` and ``b`` name the same file or directory (links followed)."""
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    return _resolved(a) == _resolved(b)


def _flatten(items: Iterable) -> list[Path]:
    out: list[Path] = []
    for item in items:
        if item is None or (isinstance(item, str) and not item):
            continue
        if isinstance(item, str | os.PathLike):
            out.append(Path(item))
        else:
            out.extend(_flatten(item))
    return out


def check_outputs(outputs: Mapping[str, PathLike | None], inputs: Iterable = (),
                  replaces: bool = False) -> None:
    """Refuse output paths that would overwrite or delete an input.

    Parameters
    ----------
    outputs
        Option label (``"-o/--output"``) -> output path; ``None`` values are skipped.
    inputs
        Input paths (files or directories; ``None`` skipped, nested lists flattened).
    replaces
        The command deletes and recreates the output directory as a whole (run directories):
        then an input *inside* it is refused too.

    Raises
    ------
    UserInputError
        One line naming the option, the output and the input.
    """
    outs = [(label, Path(p)) for label, p in outputs.items() if p is not None and str(p)]
    ins = _flatten(inputs)
    for i, (label, out) in enumerate(outs):
        for other_label, other in outs[:i]:
            if same_file(out, other):
                raise UserInputError(f"{label}: {out} is the same path as {other_label} "
                                     f"({other}); give two different outputs")
        out_r = _resolved(out)
        for inp in ins:
            inp_r = _resolved(inp)
            if same_file(out, inp):
                raise UserInputError(f"{label}: {out} is also an input ({inp}); writing it "
                                     "would destroy the input, so choose another output path")
            if inp.is_dir() and _inside(out_r, inp_r):
                raise UserInputError(f"{label}: {out} is inside the input directory {inp}; "
                                     "write the output elsewhere")
            if replaces and _inside(inp_r, out_r):
                raise UserInputError(f"{label}: the input {inp} is inside {out}, which this "
                                     "command replaces; move the input or choose another output")


def new_set_id() -> str:
    """A random id shared by the members of one published output set."""
    return uuid.uuid4().hex[:16]


# --------------------------------------------------------------------------- stale files

def _stale_pattern(name: str) -> re.Pattern[str]:
    # tempfile.mkstemp/mkdtemp draw 8 characters from [a-z0-9_]; atomic_path and the staging
    # folders are both named ".<name>.XXXXXXXX.tmp<suffix>"
    return re.compile(rf"^\.{re.escape(name)}\.[a-z0-9_]{{8}}\.tmp")


def remove_stale(final: PathLike) -> list[Path]:
    """Remove what killed writers of ``final`` left beside it (staging folders, temp files).

    Call only while holding ``final``'s lock, so no live writer's files are touched.
    """
    final = Path(final)
    parent = final.parent
    if not parent.is_dir():
        return []
    pattern = _stale_pattern(final.name)
    removed = []
    with os.scandir(parent) as entries:
        for entry in entries:
            if not pattern.match(entry.name):
                continue
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            removed.append(path)
    if removed:
        log.info("%s: removed %d leftover temporary file(s) of an interrupted earlier run",
                 final, len(removed))
    return removed


# --------------------------------------------------------------------------- output sets

class OutputSet:
    """The files one command writes, staged and published together (see module docstring).

    Parameters
    ----------
    directory
        The output directory (``-o/--outdir``); files are named relative to it.
    files
        Instead of ``directory``: option label -> final path of each sibling output file
        (``None`` values skipped). The first is the primary output.
    inputs
        Every input path of the command (for the guard).
    label
        Option label of ``directory`` in messages.
    staged
        ``False``: only guard and lock (the caller writes in place, e.g. a run directory that
        manages its own ``.partial`` folder).
    replaces
        See :func:`check_outputs`.
    manifest
        A set of files only: the member that marks the set as complete. Its old version is
        removed before anything is renamed and the new one is renamed last, so a kill in
        between leaves a set without a manifest, never an old manifest beside new files.
    """

    def __init__(self, *, directory: PathLike | None = None,
                 files: Mapping[str, PathLike | None] | None = None, inputs: Iterable = (),
                 label: str = "-o/--outdir", staged: bool = True,
                 replaces: bool = False, manifest: PathLike | None = None) -> None:
        if (directory is None) == (files is None):
            raise ValueError("give exactly one of directory= or files=")
        self.directory = _named(directory) if directory is not None else None
        self.targets: dict[str, Path] = (
            {label: self.directory} if self.directory is not None
            else {k: _named(v) for k, v in files.items() if v is not None and str(v)})
        if not self.targets:
            raise ValueError("no output path given")
        self.inputs = _flatten(inputs)
        self.manifest = Path(manifest) if manifest is not None else None
        if self.manifest is not None and self.manifest not in self.targets.values():
            raise ValueError("the manifest must be one of the set's files")
        self.staged = staged
        self.replaces = replaces
        self._locks: list[OutputLock] = []
        self._stage: Path | None = None                   # directory sets
        self._files: dict[Path, Path] = {}                # files sets: final -> staged
        self._order: list[str] = []                       # directory sets: names, written order
        self.state = "new"

    # -- lifecycle -------------------------------------------------------------------------
    def open(self) -> OutputSet:
        """Guard, lock and clean (see module docstring); idempotent."""
        if self.state != "new":
            return self
        for label, target in self.targets.items():
            if self.directory is not None and target.exists() and not target.is_dir():
                raise UserInputError(f"{label}: {target} exists and is not a directory")
            if self.directory is None and target.is_dir():
                raise UserInputError(f"{label}: {target} is a directory; give a file path")
        check_outputs(self.targets, self.inputs, replaces=self.replaces)
        try:
            for label, target in sorted(self.targets.items(), key=lambda kv: str(kv[1])):
                self._locks.append(OutputLock(target, label).acquire())
            if self.staged:
                for target in self.targets.values():
                    remove_stale(target)
        except BaseException:
            self._release()
            raise
        self.state = "open"
        return self

    def __enter__(self) -> OutputSet:
        return self.open()

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.publish()
        else:
            self.discard()

    # -- staging ---------------------------------------------------------------------------
    @property
    def staging(self) -> Path:
        """The staging folder of a directory set (created on first use)."""
        if self.directory is None:
            raise TypeError("a set of files has one staging folder per file; use path()")
        self._check_open()
        if self._stage is None:
            self._stage = Path(tempfile.mkdtemp(prefix=f".{self.directory.name}.",
                                                suffix=".tmp", dir=self.directory.parent))
            os.chmod(self._stage, 0o755)
        return self._stage

    def path(self, name: PathLike) -> Path:
        """Staged path of ``name``: relative to the directory of a directory set, or one of
        the final paths of a set of files."""
        self._check_open()
        if self.directory is not None:
            rel = Path(name)
            if rel.is_absolute() or ".." in rel.parts:
                raise ValueError(f"{name}: not a name inside the output directory")
            if rel.parts and rel.parts[0] not in self._order:
                self._order.append(rel.parts[0])
            return self.staging / rel
        final = _named(name)
        if final not in self.targets.values():
            raise ValueError(f"{name}: not one of this set's outputs")
        if final not in self._files:
            stage = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp",
                                          dir=final.parent))
            self._files[final] = stage / final.name
        return self._files[final]

    def __truediv__(self, name: PathLike) -> Path:
        return self.path(name)

    def _check_open(self) -> None:
        if self.state != "open":
            raise RuntimeError(f"output set is {self.state}, not open")
        if not self.staged:
            raise RuntimeError("this output set only locks; it stages nothing")

    # -- publishing ------------------------------------------------------------------------
    def publish(self) -> None:
        """Move every staged file to its final path (see module docstring); release locks."""
        if self.state != "open":
            return
        try:
            if self.staged and self.directory is not None:
                self._publish_directory(self.staging, self.directory)
            elif self.staged:
                order = [f for f in self._files if f != self.manifest]
                if self.manifest is not None and self.manifest in self._files:
                    order.append(self.manifest)
                    with contextlib.suppress(FileNotFoundError):
                        self.manifest.unlink()
                for final in order:
                    if self._files[final].exists():
                        os.replace(self._files[final], final)
        except BaseException:
            self.discard()
            raise
        self._remove_staging()
        self.state = "published"
        self._release()

    def _publish_directory(self, stage: Path, target: Path) -> None:
        if not target.exists() or (target.is_dir() and not any(target.iterdir())):
            try:
                os.rename(stage, target)       # one rename: all files appear together
                self._stage = None
                return
            except OSError:
                if not target.is_dir():
                    raise
        self._merge(stage, target)

    def _merge(self, stage: Path, target: Path) -> None:
        """Move staged entries into an existing directory, each replacing its old version."""
        names = [n for n in self._order if (stage / n).exists()]
        rest = sorted((p for p in stage.iterdir() if p.name not in names),
                      key=lambda p: p.stat().st_mtime_ns)
        entries = [stage / n for n in names] + rest
        for entry in entries:
            dest = target / entry.name
            for inp in self.inputs:
                if dest.exists() and same_file(dest, inp):
                    raise UserInputError(f"{target}: writing {entry.name} would replace the "
                                         f"input {inp}; choose another output directory")
        for entry in entries:
            dest = target / entry.name
            if entry.is_dir() and dest.is_dir():
                self._merge_tree(entry, dest)
            elif dest.is_dir():
                raise UserInputError(f"{dest}: is a directory; cannot replace it by a file")
            else:
                _move(entry, dest)

    def _merge_tree(self, source: Path, dest: Path) -> None:
        for entry in sorted(source.iterdir(), key=lambda p: p.stat().st_mtime_ns):
            target = dest / entry.name
            if entry.is_dir() and target.is_dir():
                self._merge_tree(entry, target)
            else:
                _move(entry, target)

    def discard(self) -> None:
        """Remove everything staged and release the locks (idempotent)."""
        if self.state in ("discarded", "published"):
            return
        self._remove_staging()
        self.state = "discarded"
        self._release()

    def _remove_staging(self) -> None:
        if self._stage is not None:
            shutil.rmtree(self._stage, ignore_errors=True)
            self._stage = None
        for staged in self._files.values():
            shutil.rmtree(staged.parent, ignore_errors=True)
        self._files = {}

    def _release(self) -> None:
        for lock in reversed(self._locks):
            lock.release()
        self._locks = []


def _move(src: Path, dst: Path) -> None:
    """``os.replace``; across file systems (an output directory that is a mount point) copy
    to a temporary name in ``dst``'s folder first, then rename (still atomic per file)."""
    try:
        os.replace(src, dst)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        tmp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex[:8]}.tmp")
        if src.is_dir():
            shutil.copytree(src, tmp)
        else:
            shutil.copy2(src, tmp)
        os.replace(tmp, dst)


# --------------------------------------------------------------------------- command scope

_SCOPE: contextvars.ContextVar[list[OutputSet] | None] = contextvars.ContextVar(
    "aprior_output_sets", default=None)


@contextlib.contextmanager
def command_scope() -> Iterator[list[OutputSet]]:
    """Run a command body: publish its claimed sets if it returns, discard them if it raises."""
    claimed: list[OutputSet] = []
    token = _SCOPE.set(claimed)
    try:
        yield claimed
        for outs in claimed:
            outs.publish()
    except BaseException:
        for outs in reversed(claimed):
            outs.discard()
        raise
    finally:
        _SCOPE.reset(token)


def claim_outputs(*, directory: PathLike | None = None,
                  files: Mapping[str, PathLike | None] | None = None, inputs: Iterable = (),
                  label: str = "-o/--outdir", staged: bool = True, replaces: bool = False,
                  manifest: PathLike | None = None) -> OutputSet:
    """Guard, lock and stage a command's outputs; the one call every subcommand makes.

    Must run inside :func:`command_scope` (every command decorated with
    :func:`aprior_cli.cli.common.handle_errors` is), which publishes the set when the command
    returns and discards it when it fails. Arguments as for :class:`OutputSet`.
    """
    scope = _SCOPE.get()
    if scope is None:
        raise RuntimeError("claim_outputs() outside a command; use `with OutputSet(...)`")
    outs = OutputSet(directory=directory, files=files, inputs=inputs, label=label,
                     staged=staged, replaces=replaces, manifest=manifest).open()
    scope.append(outs)
    return outs
