"""``aprior moons``: the DAPr two-moons-with-nuisance-features experiment."""

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

log = logging.getLogger("aprior")


@click.command("moons", cls=Command)
@outdir_option()
@click.option("--p", "p_values", default="50,100,200,500,1000", show_default=True,
              help="Comma-separated numbers of nuisance features.")
@click.option("--datasets", type=int, default=5, show_default=True,
              help="Independent datasets per p.")
@seed_option()
@click.option("--epochs", type=int, default=300, show_default=True,
              help="Maximum epochs per model (early stopping on validation accuracy).")
@click.option("--patience", type=int, default=50, show_default=True,
              help="Epochs without a better validation accuracy before stopping.")
@click.option("--attribution", type=click.Choice(["signed", "abs", "phibar"]), default="signed",
              show_default=True,
              help="What g(M) is compared with: signed per-sample EG (the authors' two-moons "
                   "code), |EG| per sample, or mean |EG|.")
@click.option("--width", type=click.Choice(["half", "quarter"]), default="half", show_default=True,
              help="MLP hidden sizes: half = D/2, D/4; quarter = D/4, D/8 "
                   "(the authors' two_moons.py; 4x cheaper). D = 2 + p.")
@click.option("--quick", is_flag=True,
              help="A small smoke run: p=20,50, 2 datasets, 40 epochs (overrides those options).")
@click.option("--resume", is_flag=True,
              help="Keep the datasets an interrupted run with the same options finished "
                   "(OUTDIR.partial/progress.json); start afresh when there are none.")
@threads_option
@verbosity_options
@interruptible("rerun with --resume to continue")
@handle_errors
def command(outdir: str, p_values: str, datasets: int, seed: int, epochs: int, patience: int,
            attribution: str, width: str, quick: bool, resume: bool, threads: int | None,
            verbose: int, quiet: bool) -> None:
    """Two moons + p nuisance features: test accuracy of an MLP vs MLP + DAPr.

    Writes OUTDIR/moons.tsv (p, method, mean_accuracy, sem, n_datasets), moons_runs.tsv
    (every run) and moons.png (accuracy vs p with standard-error bars).

    SIGTERM/SIGUSR1 (exit 75) and SIGINT (exit 130) stop it at once; the datasets finished
    so far are kept in OUTDIR.partial/ for --resume.

    \b
    Example:
      aprior moons -o moons --quick
    """
    from aprior_cli import interrupt
    from aprior_cli.dapr.fit import FitConfig
    from aprior_cli.dapr.moons import parse_p_values, run_moons
    from aprior_cli.device import set_threads
    from aprior_cli.errors import UserInputError
    from aprior_cli.interrupt import Interrupted
    from aprior_cli.io.dapr_outputs import write_moons_outputs
    from aprior_cli.io.outputs import claim_outputs
    from aprior_cli.io.progress import ProgressStore

    if quick:
        p_values, datasets, epochs = "20,50", 2, 40
    ps = parse_p_values(p_values)
    if datasets < 1:
        raise UserInputError(f"--datasets must be >= 1, got {datasets}")
    if epochs < 1:
        raise UserInputError(f"--epochs must be >= 1, got {epochs}")
    if patience < 1:
        raise UserInputError(f"--patience must be >= 1, got {patience}")
    outs = claim_outputs(directory=outdir)
    set_threads(threads)
    config = FitConfig(max_epochs=epochs, patience=patience)
    start = time.perf_counter()

    settings = {"p": ps, "datasets": datasets, "seed": seed, "epochs": epochs,
                "patience": patience, "attribution": attribution, "width": width}
    store = ProgressStore(outdir, settings, resume)
    finished = {tuple(int(v) for v in key.split(",")): res for key, res in store.done.items()}

    def report(p: int, d: int, res: dict) -> None:
        log.debug("p=%d dataset=%d MLP=%.3f DAPr=%.3f", p, d, res["MLP"], res["DAPr"])
        store.add(f"{p},{d}", res)

    try:
        runs, summary = run_moons(ps, datasets, seed=seed, config=config,
                                  attribution=attribution,
                                  width_divisor=2 if width == "half" else 4, on_run=report,
                                  finished=finished)
        with interrupt.deferred():  # the outputs are written to the end
            write_moons_outputs(runs, summary, outs.staging)
            outs.publish()
            store.finish()
    except Interrupted as exc:
        if store.done:
            exc.checkpoint = f"finished ones kept in {store.path}"
        raise annotate(exc, outdir, f"after {len(store.done)} of {len(ps) * datasets} "
                       "dataset(s)", "" if store.done else "rerun to start again") from None
    lines = [f"two moons, {datasets} dataset(s) per p, MLP width {width}, "
             f"{time.perf_counter() - start:.0f} s:"]
    for p in ps:
        row = summary[summary["p"] == p].set_index("method")
        lines.append(f"  p={p:5d}  MLP {row.loc['MLP', 'mean_accuracy']:.3f} ± "
                     f"{row.loc['MLP', 'sem']:.3f}   DAPr {row.loc['DAPr', 'mean_accuracy']:.3f} ± "
                     f"{row.loc['DAPr', 'sem']:.3f}")
    lines.append(f"wrote {outdir}/moons.tsv, moons_runs.tsv, moons.png")
    echo_summary(quiet, "\n".join(lines))
