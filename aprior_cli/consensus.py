"""Consensus of several runs' gene rankings, and how stable single runs and the consensus are.

Pure computation (arrays in, tables out). One model's ranking is an anecdote: rankings move
between seeds and splits, so the unit of a finding is an ensemble of runs of one method.

Definitions (``R`` runs, ``p`` features common to all runs; run ``r``'s importance of feature
``g`` is its mean |EG| over the explained samples, ``m_rg``):

* **normalised importance** ``s_rg = m_rg / sum_g' m_rg'`` (each run sums to 1, so runs whose
  attributions differ in scale weigh the same);
* **consensus importance** ``c_g = mean_r s_rg``; the consensus ranking sorts by it (rank 1 =
  largest); its standard error ``sd_r(s_rg) / sqrt(R)``;
* per-run **rank** ``rank_rg`` (1 = largest ``s_rg``, ties in feature order); ``rank_mean``;
  the ``interval`` (default 90 %) **rank interval** is the empirical 5th-95th percentile of
  ``rank_rg`` over runs (linear interpolation; with 5 runs it is close to min-max);
* **top-K frequency**: the fraction of runs with ``rank_rg <= K``;
* **stability**: top-K Jaccard ``|A & B| / |A | B|`` and Spearman correlation of ``s`` between
  every pair of runs; **split-half stability**: the top-K Jaccard between the consensus of two
  disjoint halves of the runs (sizes ``floor(R/2)`` and ``ceil(R/2)``), averaged over the
  partitions;
* **Monte-Carlo share of the spread**: with each run's Monte-Carlo standard error of ``m_rg``
  (``mc_se_rg``, an upper bound, see :mod:`aprior_cli.training.attribute`), the EG sampling
  variance of ``s_rg`` is ``v_rg = (mc_se_rg / sum_g' m_rg')^2``. Because
  ``s_rg = (model effect) + (EG error)``, ``E[var_r(s_rg)] = var(model) + mean_r v_rg``; the
  share ``sum_g mean_r v_rg / sum_g var_r(s_rg)`` (all genes, and the consensus top K) is the
  part of the between-run spread that EG Monte-Carlo error explains (an upper bound); the rest
  is between-model variation.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from aprior_cli.errors import UserInputError

#: most partitions averaged for the split-half stability (a seeded sample beyond that)
MAX_PARTITIONS = 200


@dataclass
class ConsensusResult:
    """Outputs of :func:`consensus_ranking`.

    Attributes
    ----------
    genes
        One row per feature, sorted by consensus rank: ``feature, consensus_rank,
        consensus_importance, importance_se, rank_mean, rank_low, rank_high,
        top_k_frequency, n_runs`` (+ ``mc_se`` with Monte-Carlo errors).
    normalised
        ``(p, R)`` normalised importances, features as index, runs as columns (feature
        order of ``genes``).
    pairwise
        ``run_a, run_b, top_k_jaccard, spearman`` for every pair of runs.
    summary
        Stability and variance figures (JSON-ready).
    """

    genes: pd.DataFrame
    normalised: pd.DataFrame
    pairwise: pd.DataFrame
    summary: dict = field(default_factory=dict)


def normalise_rows(importance: np.ndarray) -> np.ndarray:
    """Each row divided by its sum, ``(R, p)``; an all-zero row is an error."""
    importance = np.asarray(importance, dtype=float)
    totals = importance.sum(1, keepdims=True)
    if np.any(totals <= 0) or not np.all(np.isfinite(importance)):
        raise UserInputError("consensus: a run has no positive finite importance to normalise")
    return importance / totals


def ranks(scores: np.ndarray) -> np.ndarray:
    """Rank of each entry of every row, ``(R, p)`` ints, 1 = largest (ties: earlier first)."""
    scores = np.atleast_2d(scores)
    order = np.argsort(-scores, axis=1, kind="stable")
    out = np.empty_like(order)
    rows = np.arange(scores.shape[0])[:, None]
    out[rows, order] = np.arange(1, scores.shape[1] + 1)
    return out


def top_k_set(scores: np.ndarray, k: int) -> set[int]:
    """Indices of the ``k`` largest entries (ties: earlier first)."""
    return set(np.argsort(-np.asarray(scores), kind="stable")[:k].tolist())


def jaccard(a: set, b: set) -> float:
    union = len(a | b)
    return len(a & b) / union if union else float("nan")


def half_partitions(n_runs: int, seed: int = 0) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Partitions of ``range(n_runs)`` into halves of ``floor(n/2)`` and ``ceil(n/2)`` runs.

    Each unordered partition once; at most :data:`MAX_PARTITIONS` (a seeded sample).
    """
    if n_runs < 2:
        return []
    half = n_runs // 2
    everything = set(range(n_runs))
    seen, parts = set(), []
    for a in itertools.combinations(range(n_runs), half):
        b = tuple(sorted(everything - set(a)))
        key = frozenset([a, b])
        if key in seen:
            continue
        seen.add(key)
        parts.append((a, b))
    if len(parts) > MAX_PARTITIONS:
        pick = np.random.default_rng(seed).choice(len(parts), MAX_PARTITIONS, replace=False)
        parts = [parts[i] for i in sorted(pick)]
    return parts


def split_half_jaccard(normalised: np.ndarray, k: int, seed: int = 0) -> tuple[float, int]:
    """Mean top-``k`` Jaccard between the consensus of two disjoint halves of the runs.

    Returns ``(mean, number of partitions)``; NaN with fewer than 2 runs.
    """
    parts = half_partitions(normalised.shape[0], seed)
    if not parts:
        return float("nan"), 0
    values = [jaccard(top_k_set(normalised[list(a)].mean(0), k),
                      top_k_set(normalised[list(b)].mean(0), k)) for a, b in parts]
    return float(np.mean(values)), len(parts)


def pairwise_stability(normalised: np.ndarray, run_names: Sequence[str], k: int
                       ) -> pd.DataFrame:
    """Top-``k`` Jaccard and Spearman correlation between every pair of runs."""
    rows = []
    tops = [top_k_set(row, k) for row in normalised]
    for i, j in itertools.combinations(range(normalised.shape[0]), 2):
        rho = stats.spearmanr(normalised[i], normalised[j]).statistic
        rows.append({"run_a": run_names[i], "run_b": run_names[j],
                     "top_k_jaccard": jaccard(tops[i], tops[j]), "spearman": float(rho)})
    return pd.DataFrame(rows, columns=["run_a", "run_b", "top_k_jaccard", "spearman"])


def variance_shares(normalised: np.ndarray, mc_var: np.ndarray, genes: np.ndarray
                    ) -> dict[str, float]:
    """Total between-run variance, its Monte-Carlo part and share over the ``genes`` columns."""
    total = float(np.var(normalised[:, genes], axis=0, ddof=1).sum())
    mc = float(mc_var[:, genes].mean(0).sum())
    share = mc / total if total > 0 else float("nan")
    return {"between_run_variance": total, "mc_variance": mc, "mc_share": share,
            "between_model_share": max(0.0, 1.0 - share) if math.isfinite(share) else share}


def consensus_ranking(importance: np.ndarray, features: Sequence[str], run_names: Sequence[str],
                      top_k: int = 50, interval: float = 0.9,
                      mc_stderr: np.ndarray | None = None, seed: int = 0) -> ConsensusResult:
    """Consensus ranking, per-gene uncertainty and ensemble stability (module docstring).

    Parameters
    ----------
    importance
        ``(R, p)`` each run's mean |EG| per feature (same feature order for all runs).
    features
        ``(p,)`` feature names.
    run_names
        ``(R,)`` labels of the runs.
    top_k
        ``K`` of the top-K frequency and Jaccard figures (capped at ``p``).
    interval
        Coverage of the rank interval, in (0, 1).
    mc_stderr
        ``(R, p)`` Monte-Carlo standard errors of ``importance`` (optional).
    seed
        Seed of the partition sample when there are more than :data:`MAX_PARTITIONS`.
    """
    importance = np.asarray(importance, dtype=float)
    n_runs, p = importance.shape
    if n_runs < 1 or p < 1 or len(features) != p or len(run_names) != n_runs:
        raise UserInputError(f"consensus: {n_runs} run(s) x {p} feature(s) do not match "
                             f"{len(run_names)} names and {len(features)} features")
    if not 0 < interval < 1:
        raise UserInputError(f"--interval: must be between 0 and 1 (got {interval})")
    k = min(int(top_k), p)
    norm = normalise_rows(importance)
    run_ranks = ranks(norm)
    cons = norm.mean(0)
    order = np.argsort(-cons, kind="stable")
    se = (norm.std(0, ddof=1) / math.sqrt(n_runs)) if n_runs > 1 else np.full(p, np.nan)
    tail = (1.0 - interval) / 2.0
    genes = pd.DataFrame({
        "feature": np.asarray(features, dtype=object)[order],
        "consensus_rank": np.arange(1, p + 1),
        "consensus_importance": cons[order],
        "importance_se": se[order],
        "rank_mean": run_ranks.mean(0)[order],
        "rank_low": np.quantile(run_ranks, tail, axis=0)[order],
        "rank_high": np.quantile(run_ranks, 1.0 - tail, axis=0)[order],
        "top_k_frequency": (run_ranks <= k).mean(0)[order],
        "n_runs": n_runs,
    })
    summary: dict = {"n_runs": n_runs, "n_features": p, "top_k": k, "interval": interval,
                     "runs": list(run_names)}
    pairwise = pairwise_stability(norm, run_names, k)
    summary["pairwise_top_k_jaccard"] = _describe(pairwise["top_k_jaccard"])
    summary["pairwise_spearman"] = _describe(pairwise["spearman"])
    summary["split_half_top_k_jaccard"], summary["n_partitions"] = split_half_jaccard(norm, k,
                                                                                      seed)
    if mc_stderr is not None:
        mc_stderr = np.asarray(mc_stderr, dtype=float)
        if mc_stderr.shape != importance.shape:
            raise UserInputError("consensus: Monte-Carlo errors do not match the importances")
        mc_var = np.square(mc_stderr / importance.sum(1, keepdims=True))
        genes["mc_se"] = (np.sqrt(mc_var.sum(0)) / n_runs)[order]
        if n_runs > 1:
            summary["variance_all"] = variance_shares(norm, mc_var, np.arange(p))
            summary["variance_top_k"] = variance_shares(norm, mc_var, order[:k])
    normalised = pd.DataFrame(norm.T[order], index=pd.Index(genes["feature"], name="feature"),
                              columns=list(run_names))
    return ConsensusResult(genes=genes, normalised=normalised, pairwise=pairwise,
                           summary=summary)


def _describe(values: pd.Series) -> dict[str, float]:
    v = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    if v.size == 0:
        return {"mean": float("nan"), "min": float("nan"), "max": float("nan"), "n_pairs": 0}
    return {"mean": float(v.mean()), "min": float(v.min()), "max": float(v.max()),
            "n_pairs": int(v.size)}


def top_k_recovery(ranking: Sequence[str], truth: Sequence[str], k: int) -> dict[str, float]:
    """How many of the ``truth`` genes are in the first ``k`` of ``ranking``.

    Returns ``{"k", "hits", "precision", "recall"}`` (precision = hits / k).
    """
    k = min(int(k), len(ranking))
    hits = len(set(ranking[:k]) & set(truth))
    return {"k": k, "hits": hits, "precision": hits / k if k else float("nan"),
            "recall": hits / len(set(truth)) if truth else float("nan")}
