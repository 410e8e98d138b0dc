"""Selection directories: the candidates' validation (and, for the record, test) figures.

A selection directory holds::

    selection.tsv   one row per candidate: candidate (run path relative to this directory),
                    lambda, val_loss, val_loss_se, diff_to_best, diff_se, n_val, within_one_se, best, chosen, then
                    every val_* and test_* figure of its metrics.json (the test figures are
                    never used for the choice)
    selection.json  rule, score, the definition of the standard error, chosen (relative path
                    of the chosen run), chosen_lambda, best, one_se_threshold, the candidates

``aprior train --lambda a,b,c`` writes both into its output directory beside the
``lambda_<v>/`` runs; ``aprior select RUN...`` writes them into its own ``-o`` directory. Any
command that takes a run directory (``attribute``, ``compare``, ``report``, ``select``) accepts
a selection directory in its place and uses the chosen run
(:func:`aprior_cli.io.run_dir.load_run`).

The choice reads only ``predictions.tsv``'s ``val`` rows (per-sample validation losses) and,
when a run has no ``predictions.tsv``, ``metrics.json``'s ``val_loss``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aprior_cli.errors import UserInputError
from aprior_cli.io.atomic import atomic_write_json
from aprior_cli.io.run_dir import SELECTION, SavedRun, load_run
from aprior_cli.io.tables import read_table, write_table
from aprior_cli.selection import SE_DEFINITION, Candidate, Selection, select

SELECTION_TABLE = "selection.tsv"
PREDICTIONS = "predictions.tsv"
FORMAT = "aprior-selection-1"
SCORE = "validation task loss (mean over the validation samples; lower is better)"


def validation_losses(run: SavedRun) -> tuple[np.ndarray | None, list[str]]:
    """Per-sample validation losses and their sample ids from ``predictions.tsv``.

    Returns ``(None, ids)`` when the run has no ``predictions.tsv`` (ids from ``splits.tsv``).
    Only the ``val`` rows are read.
    """
    val_ids = sorted(run.splits.loc[run.splits["split"] == "val", "sample"].astype(str))
    path = run.path / PREDICTIONS
    if not path.is_file():
        return None, val_ids
    table = read_table(path, dtype={"sample": str})
    if not {"sample", "split", "loss"} <= set(table.columns):
        raise UserInputError(f"{path}: expected columns sample, split, loss")
    val = table[table["split"] == "val"].sort_values("sample", kind="mergesort")
    losses = pd.to_numeric(val["loss"], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(losses).all():
        raise UserInputError(f"{path}: non-finite validation loss")
    return losses, list(val["sample"].astype(str))


def candidate_from_run(run: SavedRun, name: str) -> tuple[Candidate, list[str]]:
    """The :class:`Candidate` of one run (validation figures only) and its validation ids."""
    losses, ids = validation_losses(run)
    lam = run.metrics.get("lambda", run.cfg.lambda_)
    try:
        lam_value = float(lam)
    except (TypeError, ValueError):
        raise UserInputError(f"{run.path}: lambda {lam!r} is not a number") from None
    mean = run.metrics.get("val_loss")
    if not ids:
        raise UserInputError(f"{run.path}: the run has no validation samples; selection needs "
                             "a validation split (train with --val-fraction > 0)")
    return Candidate(name=name, lambda_value=lam_value, val_losses=losses,
                     val_loss_mean=float(mean) if isinstance(mean, int | float) else None), ids


def _figures(metrics: dict[str, Any], prefix: str) -> dict[str, float]:
    return {k: v for k, v in metrics.items() if k.startswith(prefix)
            and isinstance(v, int | float) and not isinstance(v, bool)}


def select_runs(run_dirs: Sequence[str | os.PathLike], rule: str, base: str | os.PathLike
                ) -> tuple[Selection, pd.DataFrame, dict[str, Any]]:
    """Choose among runs by their validation loss; the selection table and JSON record.

    Parameters
    ----------
    run_dirs
        Candidate run directories (or selection directories, standing for their choice).
    rule
        ``best`` or ``one-se`` (:func:`aprior_cli.selection.select`).
    base
        The selection directory; candidate names are paths relative to it.

    Raises
    ------
    UserInputError
        Unreadable runs, runs validated on different samples, or an impossible rule.
    """
    if not run_dirs:
        raise UserInputError("select: no run directories given")
    base = Path(base)
    runs = [load_run(r) for r in run_dirs]
    names = [os.path.relpath(Path(r.path).resolve(), base.resolve()) for r in runs]
    if len(set(names)) < len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise UserInputError(f"select: the run {dup} is given twice")
    candidates, id_sets = [], []
    for run, name in zip(runs, names, strict=True):
        cand, ids = candidate_from_run(run, name)
        candidates.append(cand)
        id_sets.append(ids)
    for run, ids in zip(runs[1:], id_sets[1:], strict=True):
        if ids != id_sets[0]:
            raise UserInputError(f"{run.path}: its validation samples differ from those of "
                                 f"{runs[0].path}; select among runs of one seed and split")
    chosen = select(candidates, rule)
    table = chosen.table.copy()
    val = pd.DataFrame([_figures(r.metrics, "val_") for r in runs])
    test = pd.DataFrame([_figures(r.metrics, "test_") for r in runs])
    table = pd.concat([table, val.drop(columns=["val_loss"], errors="ignore"), test], axis=1)
    winner = runs[chosen.chosen]
    record: dict[str, Any] = {
        "format": FORMAT, "rule": rule, "score": SCORE, "standard_error": SE_DEFINITION,
        "chosen": names[chosen.chosen], "chosen_lambda": candidates[chosen.chosen].lambda_value,
        "best": names[chosen.best], "best_lambda": candidates[chosen.best].lambda_value,
        "one_se_threshold": chosen.threshold, "n_val": len(id_sets[0]),
        "seed": winner.cfg.seed, "test_metrics_used_for_choice": False,
        "candidates": [
            {"run": name, "lambda": cand.lambda_value, "val_loss": cand.mean,
             "val_loss_se": cand.se, "diff_to_best": float(row.diff_to_best),
             "diff_se": float(row.diff_se), "within_one_se": bool(row.within_one_se),
             "best": bool(row.best), "chosen": bool(row.chosen),
             "val": _figures(run.metrics, "val_"), "test": _figures(run.metrics, "test_")}
            for name, cand, run, row in zip(names, candidates, runs,
                                            chosen.table.itertuples(index=False), strict=True)],
    }
    return chosen, table, record


def write_selection_files(outdir: Any, table: pd.DataFrame, record: dict[str, Any]) -> None:
    """``selection.tsv`` then ``selection.json`` (the pointer, last) into ``outdir``: a path,
    or a command's staged :class:`~aprior_cli.io.outputs.OutputSet`."""
    outdir = Path(outdir) if isinstance(outdir, str | os.PathLike) else outdir
    write_table(table, outdir / SELECTION_TABLE, index=False)
    atomic_write_json(outdir / SELECTION, record)


def write_grid_selection(outdir: str | os.PathLike, run_dirs: Sequence[str | os.PathLike],
                         rule: str) -> dict[str, Any]:
    """Select among a lambda grid's runs and write the selection files beside them."""
    _, table, record = select_runs(run_dirs, rule, outdir)
    write_selection_files(outdir, table, record)
    return record


def read_selection(path: str | os.PathLike) -> dict[str, Any]:
    """``selection.json`` of a selection directory."""
    source = Path(path) / SELECTION
    try:
        return json.loads(source.read_text())
    except FileNotFoundError:
        raise UserInputError(f"{path}: not a selection directory (no {SELECTION})") from None
    except json.JSONDecodeError as exc:
        raise UserInputError(f"{source}: not valid JSON ({exc.msg})") from None
