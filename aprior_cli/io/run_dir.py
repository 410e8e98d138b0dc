"""The run directory ``aprior train`` writes (interfaces.md section D).

Files::

    model.pt      state_dict of the network (torch.load(..., weights_only=True))
    config.yaml   the resolved training configuration (every key)
    model.json    n_inputs, n_outputs, n_genes, classes, covariates (rebuilds the network)
    metrics.json  train/val/test metrics, test-set prior values for EG and gradients
    history.tsv   one row per epoch
    splits.tsv    sample, split
    features.txt  input column order, one per line (genes, then covariate columns)
    prior.pt      state_dict of a learnable prior (e.g. DAPr's g), only when there is one
    COMPLETE      written last; a directory without it is not a finished run
    predictions.tsv  sample, split, target, output, loss (per-sample; lambda selection)

A *selection directory* (``selection.json`` from ``aprior select`` or a lambda grid of
``aprior train``) stands for the run it chose: :func:`load_run` follows its ``chosen`` entry.

Atomicity: a run is built in ``<outdir>.partial/`` beside the target (where ``checkpoint.pt``
is written after every epoch) and renamed onto ``<outdir>`` only after ``COMPLETE`` is
written. A failed or interrupted run leaves only ``<outdir>.partial/`` (which ``--resume``
continues from); nothing at ``<outdir>`` looks complete.

Every moment is resumable or complete: the checkpoint of the last epoch stays in the partial
directory until the run has been published, so a kill while the final files are written
resumes from it; :func:`finish_run_dir` writes ``COMPLETE`` first, then renames, then deletes
the checkpoint, and a ``--resume`` that finds a partial directory with ``COMPLETE`` publishes
it (:func:`publish_finished_partial`) instead of training again.

Locking: :func:`claim_run_dir` (the one call ``aprior train`` makes) locks ``<outdir>`` (which
covers ``<outdir>.partial``) for the whole command, so a second ``aprior train`` on the same
``-o`` — a ``--resume`` during a live run, two ``--overwrite`` runs — is refused with one line.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn

from aprior_cli import __version__
from aprior_cli.errors import UserInputError
from aprior_cli.io.atomic import atomic_path, atomic_write_json, atomic_write_text
from aprior_cli.io.files import read_text_file
from aprior_cli.io.outputs import check_outputs, claim_outputs, remove_stale
from aprior_cli.io.read_errors import reading
from aprior_cli.io.tables import read_table, write_table
from aprior_cli.training.config import TrainConfig, from_run_yaml, save_yaml

COMPLETE = "COMPLETE"
SELECTION = "selection.json"
CHECKPOINT = "checkpoint.pt"
PARTIAL_SUFFIX = ".partial"
RESUME_IGNORED_KEYS = ("device", "threads")
_TEMP = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp")
#: files every finished run has (``load_run`` refuses a directory without one of them)
RUN_FILES = ("model.pt", "config.yaml", "model.json", "metrics.json", "splits.tsv",
             "features.txt")


def partial_dir(outdir: str | os.PathLike) -> Path:
    """``<outdir>.partial`` beside the target."""
    outdir = Path(outdir)
    return outdir.with_name(outdir.name + PARTIAL_SUFFIX)


def is_complete(run_dir: str | os.PathLike) -> bool:
    return (Path(run_dir) / COMPLETE).is_file()


def begin_run_dir(outdir: str | os.PathLike, cfg: TrainConfig, resume: bool = False,
                  overwrite: bool = False) -> tuple[Path, Path | None]:
    """Create (or reopen for ``resume``) the partial directory of a run.

    Returns
    -------
    partial, checkpoint
        The partial directory and, when resuming, the checkpoint to continue from.

    Raises
    ------
    UserInputError
        ``outdir`` already holds a run (without ``overwrite``); ``resume`` without an
        interrupted run or with different options.
    """
    outdir = Path(outdir)
    partial = partial_dir(outdir)
    remove_stale(outdir)          # an old run moved aside by a killed --overwrite
    if outdir.exists() and not overwrite:
        what = "a finished run" if is_complete(outdir) else "files"
        raise UserInputError(f"{outdir}: already exists and holds {what}; choose another "
                             "-o/--outdir or pass --overwrite")
    if resume:
        remove_stale_temps(partial)
        checkpoint = partial / CHECKPOINT
        if not checkpoint.is_file():
            raise UserInputError(f"--resume: no interrupted run to continue "
                                 f"({checkpoint} not found)")
        saved = from_run_yaml((partial / "config.yaml").read_text(),
                              str(partial / "config.yaml")).to_dict()
        now = cfg.to_dict()
        diff = [k for k in now if k not in RESUME_IGNORED_KEYS and now[k] != saved.get(k)]
        if diff:
            k = diff[0]
            raise UserInputError(f"--resume: option {k!r} differs from the interrupted run "
                                 f"({now[k]!r} now, {saved.get(k)!r} before)")
        return partial, checkpoint
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    atomic_write_text(partial / "config.yaml", save_yaml(cfg))
    return partial, None


def write_run_files(partial: Path, *, model: nn.Module, cfg: TrainConfig,
                    model_spec: dict[str, Any], metrics: dict[str, Any],
                    history: list[dict[str, Any]], splits: pd.DataFrame,
                    features: list[str], prior: object = None) -> None:
    """Write every file of a finished run into ``partial`` (COMPLETE is not written here).

    ``prior`` is saved as ``prior.pt`` when it is an ``nn.Module`` with parameters.
    """
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    with atomic_path(partial / "model.pt", suffix=".pt") as tmp:
        torch.save(state, tmp)
    if isinstance(prior, nn.Module) and any(True for _ in prior.parameters()):
        prior_state = {k: v.detach().cpu() for k, v in prior.state_dict().items()}
        with atomic_path(partial / "prior.pt", suffix=".pt") as tmp:
            torch.save(prior_state, tmp)
    atomic_write_text(partial / "config.yaml", save_yaml(cfg))
    atomic_write_json(partial / "model.json", model_spec)
    atomic_write_json(partial / "metrics.json", metrics)
    write_table(pd.DataFrame(history), partial / "history.tsv", index=False)
    write_table(splits, partial / "splits.tsv", index=False)
    atomic_write_text(partial / "features.txt", "".join(f"{f}\n" for f in features))


def finish_run_dir(partial: Path, outdir: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write ``COMPLETE``, rename ``partial`` onto ``outdir``, then drop the checkpoint.

    In that order a kill at any moment leaves either a resumable partial directory (with its
    checkpoint), a finished partial directory (``COMPLETE``; ``--resume`` publishes it), or the
    finished run.
    """
    outdir = Path(outdir)
    remove_stale_temps(partial)
    atomic_write_text(partial / COMPLETE, f"aprior {__version__}\n")
    old = None
    if outdir.exists():
        if not overwrite:
            raise UserInputError(f"{outdir}: appeared while training; the run is kept in "
                                 f"{partial}")
        # ".<name>.XXXXXXXX.tmp": removed as a leftover by the next claim if we are killed
        old = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.", suffix=".tmp", dir=outdir.parent))
        os.replace(outdir, old / outdir.name)
    os.replace(partial, outdir)
    (outdir / CHECKPOINT).unlink(missing_ok=True)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return outdir


def publish_finished_partial(outdir: str | os.PathLike, overwrite: bool = False) -> bool:
    """Publish ``<outdir>.partial`` if it holds a finished run (killed before its rename);
    drop a checkpoint left in a finished ``outdir``. True when ``outdir`` is now finished."""
    outdir = Path(outdir)
    partial = partial_dir(outdir)
    if is_complete(partial) and (not outdir.exists() or overwrite):
        finish_run_dir(partial, outdir, overwrite=overwrite)
        return True
    if is_complete(outdir):
        (outdir / CHECKPOINT).unlink(missing_ok=True)
        return True
    return False


def remove_stale_temps(directory: Path) -> None:
    """Remove temporary files (``.<name>.XXXXXXXX.tmp*``) a killed writer left in a run's
    partial directory; call only under the run directory's lock."""
    if not directory.is_dir():
        return
    for entry in directory.iterdir():
        if _TEMP.match(entry.name):
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def claim_run_dir(outdir: str | os.PathLike, inputs: Iterable = ()) -> None:
    """Guard and lock a run directory for this command (see the module docstring).

    Refuses an input inside ``<outdir>`` or ``<outdir>.partial`` (both are replaced) or an
    ``<outdir>`` inside an input directory; a second live writer of ``<outdir>`` gets one line.
    """
    check_outputs({"-o/--outdir": partial_dir(outdir)}, inputs, replaces=True)
    claim_outputs(directory=outdir, inputs=inputs, staged=False, replaces=True)


def _read_json(path: Path) -> dict[str, Any]:
    with reading(path, "JSON file"):
        obj = json.loads(read_text_file(path, "JSON file"))
    if not isinstance(obj, dict):
        raise UserInputError(f"{path}: expected a JSON object")
    return obj


@dataclass
class SavedRun:
    """A finished run read back from its directory."""

    path: Path
    cfg: TrainConfig
    spec: dict[str, Any]
    features: list[str]
    metrics: dict[str, Any]
    splits: pd.DataFrame
    #: the selection directory this run was reached through (None: given directly)
    selection: Path | None = None

    @property
    def target_scaling(self) -> Any:
        """The regression target scaling the network was trained with (model.json)."""
        from aprior_cli.training.target_scaling import TargetScaling

        return TargetScaling.from_dict(self.spec.get("target_scaling"))

    def build_model(self, device: torch.device | str = "cpu",
                    original_units: bool = True) -> nn.Module:
        """The network with the saved weights (loaded with ``weights_only=True``), eval mode;
        with ``original_units`` wrapped so it predicts in the target's own units (a run
        trained with ``--target-scaling standard``; see
        :mod:`aprior_cli.training.target_scaling`)."""
        from aprior_cli.models import build_mlp

        c = self.cfg
        model = build_mlp(self.spec["n_inputs"], c.hidden, self.spec["n_outputs"], c.activation,
                          c.dropout, c.batch_norm, c.standardize)
        try:
            state = torch.load(self.path / "model.pt", map_location="cpu", weights_only=True)
            model.load_state_dict(state)
        except Exception as exc:  # noqa: BLE001 - any unreadable weights file is a user problem
            reason = " ".join(str(exc).split())
            reason = reason if len(reason) <= 120 else reason[:117] + "..."
            raise UserInputError(f"{self.path / 'model.pt'}: cannot load weights "
                                 f"({type(exc).__name__}: {reason})") from None
        if original_units:
            model = self.target_scaling.wrap(model)
        return model.to(device).eval()


def resolve_run_path(run_dir: str | os.PathLike) -> tuple[Path, Path | None]:
    """A run directory, or the run a selection directory chose.

    Returns
    -------
    run, selection
        The run's directory and the selection directory it was reached through (``None``
        when ``run_dir`` is not a selection directory).
    """
    path = Path(run_dir)
    if is_complete(path) or not (path / SELECTION).is_file():
        return path, None
    source = path / SELECTION
    try:
        chosen = json.loads(source.read_text()).get("chosen")
    except (json.JSONDecodeError, AttributeError) as exc:
        raise UserInputError(f"{source}: not a valid selection file ({exc})") from None
    if not isinstance(chosen, str) or not chosen:
        raise UserInputError(f"{source}: no 'chosen' entry")
    target = path / chosen
    if not is_complete(target):
        raise UserInputError(f"{source}: the chosen run {target} is not a finished run")
    return target, path


def load_run(run_dir: str | os.PathLike) -> SavedRun:
    """Read a finished run directory (or a selection directory's chosen run).

    Raises :class:`UserInputError` when it is neither.
    """
    path, selection = resolve_run_path(run_dir)
    if not path.is_dir():
        raise UserInputError(f"{path}: run directory not found")
    if not is_complete(path):
        raise UserInputError(f"{path}: not a finished run (no {COMPLETE} marker) nor a "
                              f"selection ({SELECTION})")
    missing = [n for n in RUN_FILES if not (path / n).is_file()]
    if missing:
        raise UserInputError(f"{path}: incomplete run directory ({missing[0]} missing)")
    cfg = from_run_yaml(read_text_file(path / "config.yaml", "run config"),
                        str(path / "config.yaml"))
    spec, metrics = (_read_json(path / name) for name in ("model.json", "metrics.json"))
    features = read_text_file(path / "features.txt", "feature list").splitlines()
    for key in ("n_inputs", "n_outputs", "task", "classes", "covariates", "n_genes"):
        if key not in spec:
            raise UserInputError(f"{path / 'model.json'}: key {key!r} missing (not written by "
                                 "aprior train, or damaged)")
    splits = read_table(path / "splits.tsv", dtype={"sample": str})
    if not {"sample", "split"} <= set(splits.columns):
        raise UserInputError(f"{path / 'splits.tsv'}: needs columns sample and split")
    if len(features) != spec.get("n_inputs"):
        raise UserInputError(f"{path}: features.txt has {len(features)} lines but the model "
                             f"takes {spec.get('n_inputs')} inputs")
    return SavedRun(path=path, cfg=cfg, spec=spec, features=features, metrics=metrics,
                    splits=splits, selection=selection)


def differing_option(config_yaml: str | os.PathLike, cfg: TrainConfig) -> str:
    """The first option (besides device and threads) in which ``cfg`` differs from the run
    configuration saved at ``config_yaml``, as ``"lr: 0.5 now, 0.1 before"`` ("" if none)."""
    path = Path(config_yaml)
    saved = from_run_yaml(path.read_text(), str(path)).to_dict()
    now = cfg.to_dict()
    for k in now:
        if k not in RESUME_IGNORED_KEYS and now[k] != saved.get(k):
            return f"{k}: {now[k]!r} now, {saved.get(k)!r} before"
    return ""
