"""``aprior reproduce EXPERIMENT``: rerun one of the paper's headline results."""

from __future__ import annotations

import logging
import time

import click

from aprior_cli.cli.common import (
    Command,
    echo_summary,
    handle_errors,
    outdir_option,
    seed_option,
    threads_option,
    verbosity_options,
)
from aprior_cli.cli.interruptible import annotate, interruptible

log = logging.getLogger("aprior.reproduce")
EXPERIMENT_NAMES = ("attribution-benchmark", "nhanes-sparsity", "expression-graph",
                    "eg-convergence")


@click.command("reproduce", cls=Command)
@click.argument("experiment", type=click.Choice(EXPERIMENT_NAMES))
@click.option("--quick", is_flag=True, help="Small CI-sized setting (seconds) instead of the "
              "full one.")
@click.option("--replicates", type=click.IntRange(min=1), default=None,
              help="Override the number of replicates / seeds / splits of the setting.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Shared data folder (nhanes1/, gsea/, humannet/); default "
                   "$APRIOR_SHARED_DATA. Not needed by the synthetic experiments.")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Replicates run in parallel processes (one torch thread each); "
                   "nhanes-sparsity and expression-graph.")
@click.option("--resume", is_flag=True,
              help="Keep the replicates an interrupted run with the same options finished "
                   "(OUTDIR.partial/progress.json; nhanes-sparsity and expression-graph); "
                   "start afresh when there are none.")
@outdir_option()
@seed_option()
@threads_option
@verbosity_options
@interruptible("nothing was written; rerun to start again")
@handle_errors
def command(experiment: str, quick: bool, replicates: int | None, data_dir: str | None,
            jobs: int, resume: bool, outdir: str, seed: int, threads: int | None,
            verbose: int, quiet: bool) -> None:
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

    SIGTERM/SIGUSR1 (exit 75) and SIGINT (exit 130) stop it at once; nhanes-sparsity and
    expression-graph keep their finished replicates in OUTDIR.partial/ for --resume.

    \b
    Example:
      aprior reproduce eg-convergence -o conv --quick
    """
    import dataclasses
    import os
    from pathlib import Path

    from aprior_cli import interrupt
    from aprior_cli.interrupt import Interrupted
    from aprior_cli.io.atomic import atomic_path, atomic_write_json
    from aprior_cli.io.outputs import claim_outputs
    from aprior_cli.io.progress import ProgressStore
    from aprior_cli.io.tables import write_table
    from aprior_cli.reproduce import resolve
    from aprior_cli.reproduce.common import set_threads

    outs = claim_outputs(directory=outdir,
                         inputs=[data_dir or os.environ.get("APRIOR_SHARED_DATA")])
    module, settings, root = resolve(experiment, quick, replicates, data_dir)
    set_threads(threads)
    start = time.perf_counter()
    import inspect

    accepted = inspect.signature(module.run).parameters
    extra: dict = {"jobs": jobs} if "jobs" in accepted else {}
    store = None
    if "store" in accepted:  # finished replicates are kept for --resume
        store = ProgressStore(outdir, {"experiment": experiment, "quick": quick, "seed": seed,
                                       "data_dir": str(root),
                                       "settings": dataclasses.asdict(settings)}, resume)
        extra["store"] = store
    elif resume:
        log.info("--resume: %s has no replicates to keep; it runs whole", experiment)
    try:
        result = module.run(settings=settings, seed=seed, data_dir=root, **extra)
    except Interrupted as exc:  # the trainer's "after epoch e, step s" names no model here
        exc.where, exc.checkpoint = "", ""
        if store is not None and store.done:
            exc.checkpoint = f"finished ones kept in {store.path}"
            raise annotate(exc, outdir, f"during {experiment}, after {len(store.done)} of "
                           f"{settings.replicates} replicate(s)",
                           "rerun with --resume to continue") from None
        raise annotate(exc, outdir, f"during {experiment}") from None
    seconds = time.perf_counter() - start
    out = outs.staging
    try:
        with interrupt.deferred():  # the outputs are written to the end
            write_table(result.table, out / "results.tsv", index=False)
            for name, table in result.extra_tables.items():
                write_table(table, out / f"{name}.tsv", index=False)
            with atomic_path(out / "figure.png", suffix=".png") as tmp:
                result.figure.savefig(tmp, dpi=120, format="png")
            atomic_write_json(out / "summary.json", {**result.summary, "quick": quick,
                                                     "jobs": jobs, "seconds": round(seconds, 1)})
            outs.publish()
            if store is not None:
                store.finish()
    except Interrupted as exc:
        raise annotate(exc, outdir, "after the results were written",
                       "they are complete") from None
    echo_summary(quiet, f"{experiment}: {len(result.table)} rows in {seconds:.0f} s -> "
                        f"{Path(outdir) / 'results.tsv'}, {Path(outdir) / 'figure.png'}")
