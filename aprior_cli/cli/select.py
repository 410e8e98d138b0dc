"""``aprior select``: choose among runs trained as separate jobs, on validation only."""

from __future__ import annotations

import click

from aprior_cli.cli.common import (
    Command,
    echo_summary,
    handle_errors,
    outdir_option,
    refuse_existing_outdir,
    verbosity_options,
)


@click.command("select", cls=Command)
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option("--rule", type=click.Choice(["best", "one-se"]), default="best",
              show_default=True,
              help="best: lowest mean validation loss; one-se: the smallest lambda within one "
                   "standard error of the best (s.e. from the per-sample validation losses).")
@outdir_option(help="Selection directory to write (selection.tsv, selection.json); other "
                    "commands accept it in place of a run directory.")
@click.option("--overwrite", is_flag=True, help="Replace an existing selection directory.")
@verbosity_options
@handle_errors
def command(run_dirs: tuple[str, ...], rule: str, outdir: str, overwrite: bool, verbose: int,
            quiet: bool) -> None:
    """Choose one of RUN_DIRS by its validation loss; never by a test figure.

    RUN_DIRS are `aprior train` runs of one seed and split (e.g. one per lambda); they must
    share their validation samples. The test figures of every candidate are recorded in
    selection.tsv for the record only.

    \b
    Example:
      aprior select runs/graph_eg/lambda_0.1/seed_0 runs/graph_eg/lambda_1/seed_0 \\
          runs/graph_eg/lambda_10/seed_0 --rule one-se -o select/graph_eg/seed_0
      aprior attribute select/graph_eg/seed_0 --expression expr.tsv -o attr/graph_eg/seed_0
    """
    from aprior_cli.io.outputs import claim_outputs
    from aprior_cli.io.selection import select_runs, write_selection_files

    refuse_existing_outdir(outdir, overwrite)
    outs = claim_outputs(directory=outdir, inputs=[run_dirs], replaces=True)
    _, table, record = select_runs(list(run_dirs), rule, outdir)
    write_selection_files(outs, table, record)
    outs.publish()
    shown = ", ".join(f"λ={c['lambda']:g} {c['val_loss']:.4g}" for c in record["candidates"])
    echo_summary(quiet, f"{outdir}: chose {record['chosen']} (λ={record['chosen_lambda']:g}, "
                        f"rule {rule}) from {len(record['candidates'])} run(s); validation "
                        f"loss {shown}")
