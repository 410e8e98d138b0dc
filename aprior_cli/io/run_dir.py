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

Atomicity: a run is built in ``<outdir>.partial/`` beside the target (where ``checkpoint.pt``
is written after every epoch) and renamed onto ``<outdir>`` only after ``COMPLETE`` is
written. A failed or interrupted run leaves only ``<outdir>.partial/`` (which ``--resume``
continues from); nothing at ``<outdir>`` looks complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn

from aprior_cli import __version__
from aprior_cli.errors import UserInputError
from aprior_cli.io.atomic import atomic_path, atomic_write_json, atomic_write_text
from aprior_cli.io.tables import read_table, write_table
from aprior_cli.training.config import TrainConfig, from_run_yaml, save_yaml

COMPLETE = "COMPLETE"
CHECKPOINT = "checkpoint.pt"
PARTIAL_SUFFIX = ".partial"
RESUME_IGNORED_KEYS = ("device", "threads")


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
    if outdir.exists() and not overwrite:
        what = "a finished run" if is_complete(outdir) else "files"
        raise UserInputError(f"{outdir}: already exists and holds {what}; choose another "
                             "-o/--outdir or pass --overwrite")
    if resume:
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
    """Write ``COMPLETE``, drop the checkpoint and rename ``partial`` onto ``outdir``."""
    outdir = Path(outdir)
    (partial / CHECKPOINT).unlink(missing_ok=True)
    atomic_write_text(partial / COMPLETE, f"aprior {__version__}\n")
    old = None
    if outdir.exists():
        if not overwrite:
            raise UserInputError(f"{outdir}: appeared while training; the run is kept in "
                                 f"{partial}")
        old = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.old.", dir=outdir.parent))
        os.replace(outdir, old / outdir.name)
    os.replace(partial, outdir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return outdir


@dataclass
class SavedRun:
    """A finished run read back from its directory."""

    path: Path
    cfg: TrainConfig
    spec: dict[str, Any]
    features: list[str]
    metrics: dict[str, Any]
    splits: pd.DataFrame

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
            raise UserInputError(f"{self.path / 'model.pt'}: cannot load weights "
                                 f"({str(exc).splitlines()[0]})") from None
        if original_units:
            model = self.target_scaling.wrap(model)
        return model.to(device).eval()


def load_run(run_dir: str | os.PathLike) -> SavedRun:
    """Read a finished run directory; raise :class:`UserInputError` when it is not one."""
    path = Path(run_dir)
    if not path.is_dir():
        raise UserInputError(f"{path}: run directory not found")
    if not is_complete(path):
        raise UserInputError(f"{path}: not a finished run (no {COMPLETE} marker)")
    try:
        cfg = from_run_yaml((path / "config.yaml").read_text(), str(path / "config.yaml"))
        spec = json.loads((path / "model.json").read_text())
        metrics = json.loads((path / "metrics.json").read_text())
        features = (path / "features.txt").read_text().splitlines()
    except FileNotFoundError as exc:
        raise UserInputError(f"{path}: incomplete run directory ({Path(exc.filename).name} "
                             "missing)") from None
    except json.JSONDecodeError as exc:
        raise UserInputError(f"{path}: corrupt JSON ({exc})") from None
    splits = read_table(path / "splits.tsv", dtype={"sample": str})
    if len(features) != spec.get("n_inputs"):
        raise UserInputError(f"{path}: features.txt has {len(features)} lines but the model "
                             f"takes {spec.get('n_inputs')} inputs")
    return SavedRun(path=path, cfg=cfg, spec=spec, features=features, metrics=metrics,
                    splits=splits)
