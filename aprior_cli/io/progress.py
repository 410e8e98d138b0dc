"""Finished units of a long command, kept so that ``--resume`` does not redo them.

``<outdir>.partial/progress.json`` (beside the output, like a training run's partial
directory) holds the command's settings and one JSON result per finished unit (e.g. one
dataset of ``aprior moons``); it is rewritten atomically after every unit, and a signal
arriving during the write waits for it (:func:`aprior_cli.interrupt.deferred`). The folder is
removed once the outputs are written.

Resuming with other settings is refused in one line; without ``--resume`` a stale folder is
discarded.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from aprior_cli import interrupt
from aprior_cli.errors import UserInputError
from aprior_cli.io.atomic import atomic_write_text

log = logging.getLogger("aprior")

FORMAT = "aprior-progress-1"


class ProgressStore:
    """Results of finished units by key, persisted in ``<outdir>.partial/progress.json``.

    Parameters
    ----------
    outdir
        The command's output directory.
    settings
        JSON-serialisable settings the results depend on (compared on resume).
    resume
        Keep the results of an interrupted invocation with the same settings.
    """

    def __init__(self, outdir: str | os.PathLike, settings: dict[str, Any],
                 resume: bool) -> None:
        out = Path(outdir)
        self.partial = out.with_name(out.name + ".partial")
        self.path = self.partial / "progress.json"
        self.settings = json.loads(json.dumps(settings))  # as it reads back
        self.done: dict[str, Any] = {}
        if resume and self.path.is_file():
            saved = self._read()
            differs = [k for k in self.settings if saved["settings"].get(k) != self.settings[k]]
            if differs:
                k = differs[0]
                raise UserInputError(f"--resume: {k} differs from the interrupted run "
                                     f"({self.settings[k]!r} now, {saved['settings'].get(k)!r} "
                                     f"before); delete {self.partial} or rerun without "
                                     "--resume")
            self.done = dict(saved["units"])
            log.info("resuming: %d unit(s) already done (%s)", len(self.done), self.path)
        else:
            if resume:
                log.info("nothing to resume (no %s); starting afresh", self.path)
            if self.partial.exists():
                shutil.rmtree(self.partial)

    def _read(self) -> dict[str, Any]:
        try:
            saved = json.loads(self.path.read_text())
        except (OSError, ValueError) as exc:
            raise UserInputError(f"{self.path}: cannot read ({exc}); delete it or rerun "
                                 "without --resume") from None
        if (not isinstance(saved, dict) or saved.get("format") != FORMAT
                or not isinstance(saved.get("settings"), dict)
                or not isinstance(saved.get("units"), dict)):
            raise UserInputError(f"{self.path}: not an aprior progress file; delete it or "
                                 "rerun without --resume")
        return saved

    def add(self, key: str, result: Any) -> None:
        """Record a finished unit and rewrite the file (a signal waits for the write)."""
        self.done[key] = result
        with interrupt.deferred():
            atomic_write_text(self.path, json.dumps(
                {"format": FORMAT, "settings": self.settings, "units": self.done}) + "\n")

    def finish(self) -> None:
        """The outputs are written: drop the partial folder."""
        shutil.rmtree(self.partial, ignore_errors=True)


def finished_outputs(outdir: str | os.PathLike, files: list[str], summary: str,
                     settings: dict[str, Any]) -> bool:
    """True when ``outdir`` holds every one of ``files`` and its JSON ``summary`` (written
    last) records exactly ``settings`` (so ``--resume`` may skip the work)."""
    out = Path(outdir)
    if not all((out / name).is_file() for name in [*files, summary]):
        return False
    try:
        saved = json.loads((out / summary).read_text())
    except (OSError, ValueError):
        return False
    expected = json.loads(json.dumps(settings))
    return isinstance(saved, dict) and all(saved.get(k) == v for k, v in expected.items())
