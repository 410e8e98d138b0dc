"""Files written by the DAPr part: the two-moons table/plot and a run directory's DAPr outputs.

The tables come from pure functions (:mod:`aprior_cli.dapr.explain`,
:mod:`aprior_cli.dapr.moons`); this module only draws (matplotlib, Agg backend) and writes
atomically.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from aprior_cli.io.atomic import atomic_path
from aprior_cli.io.tables import write_table

#: file names in a run directory (``aprior train --prior dapr``)
DAPR_FILES = {
    "g_weights": "dapr_g_weights.tsv",
    "importance": "dapr_predicted_importance.tsv",
    "second_order": "dapr_second_order_eg.tsv",
    "second_order_plot": "dapr_second_order_eg.png",
    "second_order_summary": "dapr_second_order_summary.tsv",
    "partial_dependence": "dapr_partial_dependence.tsv",
    "partial_dependence_plot": "dapr_partial_dependence.png",
}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | os.PathLike) -> Path:
    """Save a matplotlib figure atomically (format from the extension) and close it."""
    plt = _pyplot()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    return path


def plot_moons(summary: pd.DataFrame):
    """Test accuracy (mean +- standard error) against the number of nuisance features."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for method, colour in (("MLP", "tab:grey"), ("DAPr", "tab:blue")):
        sub = summary[summary["method"] == method].sort_values("p")
        if len(sub):
            ax.errorbar(sub["p"], sub["mean_accuracy"], yerr=sub["sem"], marker="o", capsize=3,
                        label=method, color=colour)
    ax.axhline(0.5, color="k", lw=0.8, ls=":", label="chance")
    ax.set_xlabel("number of nuisance features p")
    ax.set_ylabel("test accuracy (mean ± s.e.)")
    ax.set_title("Two moons with nuisance features")
    ax.set_ylim(0.4, 1.02)
    ax.legend(frameon=False)
    return fig


def write_moons_outputs(runs: pd.DataFrame, summary: pd.DataFrame,
                        outdir: str | os.PathLike) -> list[Path]:
    """Write ``moons.tsv`` (summary), ``moons_runs.tsv`` (every run) and ``moons.png``."""
    outdir = Path(outdir)
    return [write_table(summary, outdir / "moons.tsv", index=False),
            write_table(runs, outdir / "moons_runs.tsv", index=False),
            save_figure(plot_moons(summary), outdir / "moons.png")]


def plot_second_order(second_order: pd.DataFrame, top: int = 20):
    """Stacked horizontal bars: the top genes by g(M) and each meta-feature's EG contribution."""
    plt = _pyplot()
    meta_cols = [c for c in second_order.columns
                 if c not in ("gene", "g_M", "rank", "completeness_residual")]
    sub = second_order.sort_values("g_M", ascending=False).head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(6.5, 0.28 * len(sub) + 1.5))
    left_pos = [0.0] * len(sub)
    left_neg = [0.0] * len(sub)
    cmap = plt.get_cmap("tab10")
    for k, col in enumerate(meta_cols):
        vals = sub[col].to_numpy()
        lefts = [lp if v >= 0 else ln for v, lp, ln in zip(vals, left_pos, left_neg, strict=True)]
        ax.barh(sub["gene"].astype(str), vals, left=lefts, color=cmap(k % 10), label=col)
        left_pos = [lp + max(v, 0) for v, lp in zip(vals, left_pos, strict=True)]
        left_neg = [ln + min(v, 0) for v, ln in zip(vals, left_neg, strict=True)]
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel("EG of g over meta-features (contribution to g(M) - mean g)")
    ax.set_title(f"Why g ranks these genes high (top {len(sub)})")
    ax.legend(frameon=False, fontsize=7, loc="lower right")
    return fig


def plot_partial_dependence(pdp: pd.DataFrame):
    """One panel per meta-feature: g averaged over genes as that meta-feature varies."""
    plt = _pyplot()
    names = list(dict.fromkeys(pdp["meta_feature"]))
    ncol = min(3, len(names))
    nrow = -(-len(names) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.6 * nrow), squeeze=False)
    for ax, name in zip(axes.ravel(), names, strict=False):
        sub = pdp[pdp["meta_feature"] == name]
        ax.plot(sub["value"], sub["partial_dependence"], marker=".")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("meta-feature value (original units)", fontsize=7)
        ax.set_ylabel("mean g", fontsize=7)
    for ax in axes.ravel()[len(names):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def write_dapr_outputs(tables: dict[str, pd.DataFrame], outdir: str | os.PathLike,
                       top: int = 20) -> list[Path]:
    """Write the DAPr tables of :func:`aprior_cli.dapr.explain.dapr_output_tables` and plots.

    ``tables`` keys: ``g_weights``, ``importance``, ``second_order``, ``partial_dependence``
    and (optional) ``second_order_summary``.
    """
    outdir = Path(outdir)
    written: list[Path] = []
    keys = ["g_weights", "importance", "second_order", "partial_dependence"]
    keys += ["second_order_summary"] if "second_order_summary" in tables else []
    for key in keys:
        written.append(write_table(tables[key], outdir / DAPR_FILES[key], index=False))
    written.append(save_figure(plot_second_order(tables["second_order"], top=top),
                               outdir / DAPR_FILES["second_order_plot"]))
    written.append(save_figure(plot_partial_dependence(tables["partial_dependence"]),
                               outdir / DAPR_FILES["partial_dependence_plot"]))
    return written


def dapr_file_names() -> Sequence[str]:
    """The file names :func:`write_dapr_outputs` creates."""
    return list(DAPR_FILES.values())
