"""Comparing run directories: methods x seeds, paired by seed and data split.

Runs of different methods pair when they share the seed and the exact sample split (a hash
of ``splits.tsv``). For each metric: mean ± standard error per method; for each pair of
methods, the paired t-test (:func:`scipy.stats.ttest_rel`) and the Wilcoxon signed-rank test
(:func:`scipy.stats.wilcoxon`) over the paired runs, with a multiple-testing correction across
metrics (:func:`statsmodels.stats.multitest.multipletests`) within each pair of methods.
"""

from __future__ import annotations

import itertools
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from aprior_cli.errors import UserInputError

CORRECTIONS = ("none", "fdr_bh", "holm", "bonferroni")


def method_from_config(cfg: Mapping[str, Any], selected: bool = False) -> str:
    """A method label from a run's resolved config, e.g. ``graph-eg(humannet)-lambda=1``
    (``-unscaled`` marks a regression trained with ``--target-scaling none``).

    ``selected``: the run was chosen by a selection (its lambda varies by seed), so the label
    reads ``lambda=selected`` and runs of different seeds pair.
    """
    prior = cfg.get("prior", "none")
    if prior == "none":
        name = "baseline"
    else:
        name = f"{prior}-{cfg.get('attribution', 'eg')}"
        if prior == "graph" and cfg.get("graph"):
            name += f"({Path(str(cfg['graph'])).name.split('.')[0]})"
        lam = "selected" if selected else cfg.get("lambda")
        name += f"-lambda={lam if isinstance(lam, str) else format(float(lam), 'g')}"
        if cfg.get("schedule") == "fine-tune":
            name += "-finetune"
    if cfg.get("task", "regression") == "regression" and cfg.get("target_scaling") == "none":
        name += "-unscaled"  # --target-scaling none: a different model of the same data
    if cfg.get("param_penalty", "none") != "none":
        name += (f"+{cfg['param_penalty']}-{cfg.get('param_penalty_layers', 'first')}"
                 f"={format(float(cfg.get('param_penalty_lambda', 0)), 'g')}")
    return name


def method_from_dirname(path: str | Path) -> str:
    """The run directory's name without a ``seed<N>`` part; its parent's name if nothing is left."""
    path = Path(path)
    name = re.sub(r"[-_.]*seed[-_=]?\d+[-_.]*", "_", path.name).strip("_-.")
    return name or path.parent.name


def summarize(records: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """Mean ± standard error per method and metric.

    Parameters
    ----------
    records
        One row per run: ``method``, ``seed``, ``split_id``, ``run`` and metric columns.

    Returns
    -------
    DataFrame with ``method, metric, n, mean, sem, mean_pm_sem``.
    """
    rows = []
    for method, group in records.groupby("method", sort=False):
        for metric in metrics:
            v = pd.to_numeric(group[metric], errors="coerce").dropna().to_numpy(dtype=float)
            mean = float(v.mean()) if v.size else float("nan")
            sem = float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else float("nan")
            rows.append({"method": method, "metric": metric, "n": int(v.size), "mean": mean,
                         "sem": sem, "mean_pm_sem": f"{mean:.4g} ± {sem:.2g}"})
    return pd.DataFrame(rows)


def _paired_values(records: pd.DataFrame, a: str, b: str, metric: str
                   ) -> tuple[np.ndarray, np.ndarray]:
    ra = records[records["method"] == a].set_index(["seed", "split_id"])[metric]
    rb = records[records["method"] == b].set_index(["seed", "split_id"])[metric]
    joined = pd.concat([ra.rename("a"), rb.rename("b")], axis=1, join="inner")
    joined = joined.apply(pd.to_numeric, errors="coerce").dropna()
    return joined["a"].to_numpy(dtype=float), joined["b"].to_numpy(dtype=float)


def paired_tests(records: pd.DataFrame, metrics: Sequence[str], baseline: str | None = None,
                 correction: str = "fdr_bh") -> pd.DataFrame:
    """Paired t-test and Wilcoxon signed-rank test for each pair of methods and metric.

    Parameters
    ----------
    baseline
        Compare every method with this one only (default: all pairs).
    correction
        ``none`` or a :func:`statsmodels.stats.multitest.multipletests` method, applied across
        metrics within each pair of methods.

    Returns
    -------
    DataFrame with ``method_a, method_b, metric, n_pairs, mean_a, mean_b, mean_diff,
    t_statistic, t_pvalue, wilcoxon_statistic, wilcoxon_pvalue`` (+ ``*_adjusted``);
    ``mean_diff`` is ``a - b``.
    """
    from statsmodels.stats.multitest import multipletests

    if correction not in CORRECTIONS:
        raise UserInputError(f"--correction: unknown method {correction!r}; use "
                             f"{', '.join(CORRECTIONS)}")
    methods = list(dict.fromkeys(records["method"]))
    if baseline is not None:
        if baseline not in methods:
            raise UserInputError(f"--baseline: no method called {baseline!r} (methods: "
                                 f"{', '.join(methods)})")
        pairs = [(m, baseline) for m in methods if m != baseline]
    else:
        pairs = list(itertools.combinations(methods, 2))
    rows = []
    for a, b in pairs:
        for metric in metrics:
            va, vb = _paired_values(records, a, b, metric)
            row: dict[str, Any] = {"method_a": a, "method_b": b, "metric": metric,
                                   "n_pairs": int(va.size),
                                   "mean_a": float(va.mean()) if va.size else float("nan"),
                                   "mean_b": float(vb.mean()) if vb.size else float("nan"),
                                   "mean_diff": float((va - vb).mean()) if va.size
                                   else float("nan")}
            row["t_statistic"], row["t_pvalue"] = _ttest(va, vb)
            row["wilcoxon_statistic"], row["wilcoxon_pvalue"] = _wilcoxon(va, vb)
            rows.append(row)
    table = pd.DataFrame(rows, columns=["method_a", "method_b", "metric", "n_pairs", "mean_a",
                                        "mean_b", "mean_diff", "t_statistic", "t_pvalue",
                                        "wilcoxon_statistic", "wilcoxon_pvalue"])
    if correction != "none" and len(table):
        for col in ("t_pvalue", "wilcoxon_pvalue"):
            adjusted = np.full(len(table), np.nan)
            for _, idx in table.groupby(["method_a", "method_b"], sort=False).groups.items():
                pos = table.index.get_indexer(idx)
                p = table[col].to_numpy(dtype=float)[pos]
                ok = np.isfinite(p)
                if ok.any():
                    adjusted[pos[ok]] = multipletests(p[ok], method=correction)[1]
            table[f"{col}_adjusted"] = adjusted
    return table


def _ttest(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    if a.size < 2 or np.allclose(a - b, (a - b)[0]):
        return float("nan"), float("nan")
    res = stats.ttest_rel(a, b)
    return float(res.statistic), float(res.pvalue)


def _wilcoxon(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    if a.size < 2 or np.all(a == b):
        return float("nan"), float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = stats.wilcoxon(a, b)
        except ValueError:
            return float("nan"), float("nan")
    return float(res.statistic), float(res.pvalue)


def check_unique_pairs(records: pd.DataFrame) -> None:
    """Two runs of one method with the same seed and split cannot be paired."""
    dup = records.duplicated(["method", "seed", "split_id"], keep=False)
    if dup.any():
        rows = records[dup].sort_values(["method", "seed"])
        first = rows.iloc[0]
        others = ", ".join(map(str, rows[(rows["method"] == first["method"])
                                         & (rows["seed"] == first["seed"])]["run"]))
        raise UserInputError(f"runs {others} are the same method ({first['method']}) with the "
                             f"same seed {first['seed']} and split; give them different method "
                             "names (--method-name-from dirname) or drop one")


def plot_comparison(records: pd.DataFrame, metrics: Sequence[str]) -> Any:
    """One panel per metric: each run as a point, paired runs joined, mean ± s.e. per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = list(dict.fromkeys(records["method"]))
    n = len(metrics)
    ncols = min(n, 2)
    nrows = -(-n // ncols)
    width = max(3.5, 0.8 * len(methods) + 1.5)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, 4.2 * nrows), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    xpos = {m: i for i, m in enumerate(methods)}
    for ax, metric in zip(axes.ravel(), metrics, strict=False):
        values = records.assign(value=pd.to_numeric(records[metric], errors="coerce"))
        for _, pair in values.groupby(["seed", "split_id"]):
            pair = pair.sort_values("method", key=lambda s: s.map(xpos))
            ax.plot(pair["method"].map(xpos), pair["value"], color="0.8", lw=0.8, zorder=1)
        for m in methods:
            v = values.loc[values["method"] == m, "value"].dropna()
            ax.scatter(np.full(v.size, xpos[m]), v, s=14, color="0.4", zorder=2)
            if v.size:
                sem = v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else 0.0
                ax.errorbar(xpos[m] + 0.15, v.mean(), yerr=sem, fmt="o", color="C3", capsize=3,
                            zorder=3)
        ax.set_xticks(range(len(methods)), methods, rotation=30, ha="right", fontsize=8)
        ax.set_title(metric)
        if metric.startswith("test_graph_penalty") or metric.startswith("test_prior"):
            finite = values["value"].dropna()
            if len(finite) and (finite > 0).all():
                ax.set_yscale("log")
    fig.tight_layout()
    return fig
