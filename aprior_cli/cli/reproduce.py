"""``aprior reproduce EXPERIMENT``: rerun one of the paper's headline results."""

from __future__ import annotations

import logging
import time

import click

from aprior_cli.cli.common import (
    echo_summary,
    handle_errors,
    outdir_option,
    seed_option,
    threads_option,
    verbosity_options,
)

log = logging.getLogger("aprior.reproduce")
EXPERIMENT_NAMES = ("attribution-benchmark", "nhanes-sparsity", "expression-graph",
                    "eg-convergence")


@click.command("reproduce")
@click.argument("experiment", type=click.Choice(EXPERIMENT_NAMES))
@click.option("--quick", is_flag=True, help="Small CI-sized setting (seconds) instead of the "
              "full one.")
@click.option("--replicates", type=int, default=None,
              help="Override the number of replicates / seeds / splits of the setting.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Shared data folder (nhanes1/, gsea/, humannet/); default "
                   "$APRIOR_SHARED_DATA. Not needed by the synthetic experiments.")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Replicates run in parallel processes (one torch thread each); "
                   "nhanes-sparsity and expression-graph.")
@outdir_option()
@seed_option()
@threads_option
@verbosity_options
@handle_errors
def command(experiment: str, quick: bool, replicates: int | None, data_dir: str | None,
            jobs: int, outdir: str, seed: int, threads: int | None, verbose: int, quiet: bool) -> None:
    """Reproduce EXPERIMENT of Erion et al. (2021) and write its results.

    \b
    attribution-benchmark  Tables 1-2: 18 masking metrics, EG / IG / gradients / random
    nhanes-sparsity        Figure 3: sparsity priors on NHANES I 10-year mortality
    expression-graph       Figure 2: graph prior on P53 / Leukemia expression + HumanNet
    eg-convergence         Appendix C.1: EG error versus number of references

    \b
    Writes to OUTDIR:
      results.tsv     the results table
      figure.png      the figure
      summary.json    settings, seed, headline numbers, run time
      <name>.tsv      further tables (paired tests, curves, enrichment counts, ...)

    \b
    Example:
      aprior reproduce eg-convergence -o conv --quick
    """
    from pathlib import Path

    from aprior_cli.errors import UserInputError
    from aprior_cli.io.atomic import atomic_path, atomic_write_json
    from aprior_cli.io.tables import write_table
    from aprior_cli.reproduce import resolve
    from aprior_cli.reproduce.common import set_threads

    if Path(outdir).exists() and not Path(outdir).is_dir():
        raise UserInputError(f"--outdir: {outdir} exists and is not a directory")
    module, settings, root = resolve(experiment, quick, replicates, data_dir)
    set_threads(threads)
    start = time.perf_counter()
    import inspect

    extra = {"jobs": jobs} if "jobs" in inspect.signature(module.run).parameters else {}
    result = module.run(settings=settings, seed=seed, data_dir=root, **extra)
    seconds = time.perf_counter() - start
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    write_table(result.table, out / "results.tsv", index=False)
    for name, table in result.extra_tables.items():
        write_table(table, out / f"{name}.tsv", index=False)
    with atomic_path(out / "figure.png", suffix=".png") as tmp:
        result.figure.savefig(tmp, dpi=120, format="png")
    atomic_write_json(out / "summary.json", {**result.summary, "quick": quick, "jobs": jobs,
                                             "seconds": round(seconds, 1)})
    echo_summary(quiet, f"{experiment}: {len(result.table)} rows in {seconds:.0f} s -> "
                        f"{out / 'results.tsv'}, {out / 'figure.png'}")
