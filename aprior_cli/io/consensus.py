"""Files of ``aprior consensus``: reading the runs' attribution outputs, writing the consensus.

Inputs, per run: an ``aprior attribute`` output folder (or its ``ranking.tsv``) with
``completeness.json`` beside it (optional: the run's seed, lambda, completeness residual,
covariate columns). Covariate features (drug one-hots ...) are left out; features that are not
in every run (preprocessing fitted per seed may keep different genes) are left out and counted.

Output folder::

    ranking.tsv          feature, consensus_importance, rank  (what `aprior enrich` reads)
    consensus.tsv        per feature: consensus_rank, consensus_importance, importance_se,
                         rank_mean, rank_low, rank_high, top_k_frequency, n_runs[, mc_se]
    run_importance.tsv   feature x run normalised importance (each run sums to 1)
    pairwise.tsv         run_a, run_b, top_k_jaccard, spearman
    stability.json       name, runs (path, seed, lambda, completeness residual), top_k,
                         interval, pairwise and split-half stability, Monte-Carlo share
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aprior_cli.consensus import ConsensusResult
from aprior_cli.errors import UserInputError
from aprior_cli.io.atomic import atomic_write_json
from aprior_cli.io.ranking import read_ranking
from aprior_cli.io.tables import read_table, write_table

log = logging.getLogger("aprior.consensus")

FILES = ("ranking.tsv", "consensus.tsv", "run_importance.tsv", "pairwise.tsv", "stability.json")


@dataclass
class RunRanking:
    """One run's importances as read from its attribution output."""

    path: Path
    importance: pd.Series            # feature -> mean |EG| (genes only)
    mc_stderr: pd.Series | None      # feature -> Monte-Carlo s.e., when written
    info: dict[str, Any]             # completeness.json (may be empty)


def _ranking_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path / "ranking.tsv" if path.is_dir() else path


def read_run_ranking(path: str | os.PathLike) -> RunRanking:
    """An ``aprior attribute`` folder or ranking file; covariate features dropped."""
    ranking = _ranking_path(path)
    if not ranking.is_file():
        raise UserInputError(f"{ranking}: ranking file not found (give an `aprior attribute` "
                             "output folder or its ranking.tsv)")
    info_path = ranking.parent / "completeness.json"
    info: dict[str, Any] = {}
    if info_path.is_file():
        try:
            info = json.loads(info_path.read_text())
        except json.JSONDecodeError as exc:
            raise UserInputError(f"{info_path}: not valid JSON ({exc.msg})") from None
    table = read_table(ranking, dtype={"feature": str})
    mc = None
    if {"feature", "mean_abs_attribution"} <= set(table.columns):
        table = table.set_index("feature")
        importance = pd.to_numeric(table["mean_abs_attribution"], errors="coerce")
        if "mc_stderr" in table.columns:
            mc = pd.to_numeric(table["mc_stderr"], errors="coerce")
    else:
        importance = read_ranking(ranking)
    if importance.isna().any() or (importance < 0).any():
        raise UserInputError(f"{ranking}: consensus needs non-negative importances (mean |EG|)")
    if importance.index.duplicated().any():
        raise UserInputError(f"{ranking}: a feature is listed twice")
    covariates = [c for c in info.get("covariate_features") or [] if c in importance.index]
    importance = importance.drop(index=covariates)
    if mc is not None:
        mc = mc.drop(index=covariates)
    return RunRanking(path=ranking, importance=importance.astype(float), mc_stderr=mc,
                      info=info)


def align_runs(runs: Sequence[RunRanking]) -> tuple[list[str], np.ndarray, np.ndarray | None,
                                                     list[str]]:
    """Features common to all runs (first run's order), ``(R, p)`` importances and errors.

    Returns ``features, importance, mc_stderr (None unless every run has it), dropped``.
    """
    common = set(runs[0].importance.index)
    for run in runs[1:]:
        common &= set(run.importance.index)
    features = [f for f in runs[0].importance.index if f in common]
    if not features:
        raise UserInputError("consensus: the runs share no feature")
    dropped = sorted(set().union(*(set(r.importance.index) for r in runs)) - common)
    importance = np.vstack([r.importance.reindex(features).to_numpy(float) for r in runs])
    mc = None
    if all(r.mc_stderr is not None for r in runs):
        mc = np.vstack([r.mc_stderr.reindex(features).to_numpy(float) for r in runs])
    return features, importance, mc, dropped


def run_names(runs: Sequence[RunRanking], given: Sequence[str]) -> list[str]:
    """``seed_<s>`` when every run's seed is known and distinct, else the paths given."""
    seeds = [r.info.get("run_seed") for r in runs]
    if all(isinstance(s, int) for s in seeds) and len(set(seeds)) == len(seeds):
        return [f"seed_{s}" for s in seeds]
    return [str(g) for g in given]


def run_records(runs: Sequence[RunRanking], names: Sequence[str]) -> list[dict[str, Any]]:
    return [{"name": name, "ranking": str(r.path), "run": r.info.get("run"),
             "selection": r.info.get("selection"), "seed": r.info.get("run_seed"),
             "lambda": r.info.get("run_lambda"),
             "relative_completeness_residual": r.info.get("relative_residual"),
             "n_samples_explained": r.info.get("n_samples"),
             "mc_stderr": r.mc_stderr is not None}
            for name, r in zip(names, runs, strict=True)]


def write_consensus_files(directory: Any, result: ConsensusResult,
                          summary: dict[str, Any]) -> None:
    """The consensus folder's files into ``directory``: a path, or a command's staged
    :class:`~aprior_cli.io.outputs.OutputSet` (anything with ``directory / name``)."""
    genes = result.genes
    write_table(pd.DataFrame({"feature": genes["feature"],
                              "consensus_importance": genes["consensus_importance"],
                              "rank": genes["consensus_rank"]}),
                directory / "ranking.tsv", index=False)
    write_table(genes, directory / "consensus.tsv", index=False)
    write_table(result.normalised, directory / "run_importance.tsv")
    write_table(result.pairwise, directory / "pairwise.tsv", index=False)
    atomic_write_json(directory / "stability.json", summary)


@dataclass
class SavedConsensus:
    """A consensus folder read back (for the report)."""

    path: Path
    genes: pd.DataFrame
    summary: dict[str, Any]
    normalised: pd.DataFrame | None


def read_consensus(path: str | os.PathLike) -> SavedConsensus:
    """Read ``consensus.tsv``, ``stability.json`` (and ``run_importance.tsv``) of a folder."""
    path = Path(path)
    if not path.is_dir():
        raise UserInputError(f"{path}: consensus folder not found")
    try:
        summary = json.loads((path / "stability.json").read_text())
    except FileNotFoundError:
        raise UserInputError(f"{path}: not an `aprior consensus` folder (no stability.json)") \
            from None
    except json.JSONDecodeError as exc:
        raise UserInputError(f"{path / 'stability.json'}: not valid JSON ({exc.msg})") from None
    table = path / "consensus.tsv"
    if not table.is_file():
        raise UserInputError(f"{table}: file not found")
    genes = read_table(table, dtype={"feature": str})
    need = {"feature", "consensus_rank", "top_k_frequency", "rank_low", "rank_high"}
    if not need <= set(genes.columns):
        raise UserInputError(f"{table}: missing column(s) {sorted(need - set(genes.columns))}")
    normalised = None
    if (path / "run_importance.tsv").is_file():
        normalised = read_table(path / "run_importance.tsv", index_col=0,
                                dtype={"feature": str})
    return SavedConsensus(path=path, genes=genes, summary=summary, normalised=normalised)
