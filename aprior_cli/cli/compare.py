"""``aprior compare``: paired comparison of run directories (methods x seeds)."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import click

from aprior_cli.cli.common import (
    Command,
    echo_summary,
    handle_errors,
    outdir_option,
    verbosity_options,
)

#: listed by default when some runs have them (DAPr runs: how well g describes the final model)
LEARNED_PRIOR_METRICS = ("dapr_g_spearman",)

log = logging.getLogger("aprior.compare")

#: metrics.json keys compared by default besides test_* (when every run has them): the graph's
#: coverage and components, and DAPr's fit of g
ALSO_SHOWN = ("graph_coverage", "graph_components", "graph_isolated")


@click.command("compare", cls=Command)
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option("--method-name-from", type=click.Choice(["config", "dirname"]), default="config",
              show_default=True, help="Method label: from each run's config.yaml (prior, "
              "attribution, graph, lambda) or from the directory name without 'seed<N>'.")
@click.option("--metric", "metrics", multiple=True,
              help="Metric of metrics.json to compare (repeatable; default: every numeric "
                   "test_* metric all runs share, e.g. test_graph_roughness_eg, and "
                   "graph_coverage/graph_components/graph_isolated/dapr_g_spearman when all "
                   "runs have them).")
@click.option("--baseline", default=None,
              help="Test every method against this one only (default: all pairs).")
@click.option("--correction", type=click.Choice(["none", "fdr_bh", "holm", "bonferroni"]),
              default="fdr_bh", show_default=True,
              help="Multiple-testing correction across metrics within each pair of methods.")
@outdir_option()
@verbosity_options
@handle_errors
def command(run_dirs: tuple[str, ...], method_name_from: str, metrics: tuple[str, ...],
            baseline: str | None, correction: str, outdir: str, verbose: int,
            quiet: bool) -> None:
    """Compare runs: mean ± s.e. per method, paired t-test and Wilcoxon p-values, a plot.

    Runs pair across methods when they share the seed and the exact split (splits.tsv).
    A selection directory (aprior select, or a lambda grid of aprior train) stands for its
    chosen run; its method label reads lambda=selected.

    \b
    Writes to OUTDIR:
      comparison.tsv    method, metric, n, mean, sem, mean_pm_sem
      paired_tests.tsv  method_a, method_b, metric, n_pairs, mean_diff, t/Wilcoxon p-values
      comparison.png    one panel per metric, paired runs joined
      runs.tsv          every run with its method, seed, split id and metrics

    \b
    Example:
      aprior compare runs/*/seed* --baseline baseline --metric test_r2 -o comparison
    """
    import pandas as pd

    from aprior_cli.errors import UserInputError
    from aprior_cli.io.atomic import atomic_path
    from aprior_cli.io.outputs import claim_outputs
    from aprior_cli.io.run_dir import load_run
    from aprior_cli.io.tables import write_table
    from aprior_cli.training.compare import (
        check_unique_pairs,
        method_from_config,
        method_from_dirname,
        paired_tests,
        plot_comparison,
        summarize,
    )

    outs = claim_outputs(directory=outdir, inputs=run_dirs)
    rows = []
    for rd in run_dirs:
        run = load_run(rd)
        split_id = hashlib.sha256((run.path / "splits.tsv").read_bytes()).hexdigest()[:12]
        selected = run.selection is not None  # a selection directory: its chosen run
        method = (method_from_config(run.cfg.to_dict(), selected=selected)
                  if method_name_from == "config"
                  else method_from_dirname(run.selection if selected else run.path))
        rows.append({"run": str(rd), "method": method, "seed": run.cfg.seed,
                     "split_id": split_id, **{k: v for k, v in run.metrics.items()
                                             if isinstance(v, int | float)
                                             and not isinstance(v, bool)}})
    records = pd.DataFrame(rows)
    check_unique_pairs(records)
    if metrics:
        unknown = [m for m in metrics if m not in records.columns]
        if unknown:
            raise UserInputError(f"--metric: {unknown[0]!r} is not in the runs' metrics.json")
        chosen = list(metrics)
    else:
        chosen = [c for c in records.columns if (c.startswith("test_") or c in ALSO_SHOWN)
                  and records[c].notna().all()]
        # a learned prior's fit (DAPr's g vs the final model): only its runs have it
        chosen += [c for c in LEARNED_PRIOR_METRICS if c in records.columns
                   and records[c].notna().any()]
        chosen = list(dict.fromkeys(chosen))
        if not chosen:
            raise UserInputError("no test_* metric is shared by all runs; name one with --metric")
    if records["method"].nunique() < 1:
        raise UserInputError("no runs to compare")
    summary = summarize(records, chosen)
    tests = paired_tests(records, chosen, baseline=baseline, correction=correction)
    out = Path(outdir)
    fig = plot_comparison(records, chosen)
    write_table(records, outs / "runs.tsv", index=False)
    write_table(summary, outs / "comparison.tsv", index=False)
    write_table(tests, outs / "paired_tests.tsv", index=False)
    with atomic_path(outs / "comparison.png") as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    outs.publish()
    n_methods = records["method"].nunique()
    echo_summary(quiet, f"{out}: {len(records)} runs, {n_methods} method(s), "
                 f"{len(chosen)} metric(s), {len(tests)} paired test(s)")
    if not quiet:
        wide = summary.pivot(index="method", columns="metric", values="mean_pm_sem")
        click.echo(wide.loc[list(dict.fromkeys(records["method"]))].to_string())
