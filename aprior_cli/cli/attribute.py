"""``aprior attribute``: expected-gradients attributions of a trained run and a global ranking."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from aprior_cli.cli.common import (
    Command,
    device_option,
    echo_summary,
    handle_errors,
    label_options,
    outdir_option,
    seed_option,
    threads_option,
    verbosity_options,
)
from aprior_cli.cli.interruptible import interruptible
from aprior_cli.messages import capped

log = logging.getLogger("aprior.attribute")

OUTPUT_FILES = ("attributions.tsv", "ranking.tsv")
SUMMARY_FILE = "completeness.json"  # written last


@click.command("attribute", cls=Command)
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--expression", required=True, type=click.Path(dir_okay=False),
              help="Expression table (samples as rows) containing the run's features.")
@click.option("--expression-long", default=None, metavar="SAMPLE,GENE,VALUE",
              help="--expression is a long table with these columns [default: the run's "
                   "--expression-long when --expression is the file it was trained on].")
@click.option("--labels", type=click.Path(dir_okay=False), default=None,
              help="Labels table (needed for covariates and for multiclass true classes); "
                   "read with the run's label columns and filters unless overridden.")
@label_options(defaults_from_run=True)
@click.option("--unmatched-labels", type=click.Choice(["error", "drop"]), default=None,
              help="Label rows without expression [default: as in the run's config].")
@click.option("--split", "split", type=click.Choice(["test", "val", "train", "all"]),
              default="test", show_default=True,
              help="Samples to explain (by the run's splits.tsv); all = every sample given.")
@click.option("--n-samples", type=click.IntRange(min=1), default=200, show_default=True,
              help="Expected-gradients references per sample.")
@click.option("--references", type=click.Choice(["train", "all"]), default="train",
              show_default=True, help="Reference distribution: the run's training samples "
              "or every sample given.")
@click.option("--chunk-size", type=click.IntRange(min=1), default=None,
              help="Rows per forward pass (bounds memory; default: automatic).")
@click.option("--target", "target_class", default=None,
              help="Multiclass: explain this class for every sample (default: the true "
                   "class from --labels).")
@click.option("--stderr", "with_stderr", is_flag=True,
              help="Also write the Monte-Carlo standard error of every attribution "
                   "(attributions_stderr.tsv) and of each feature's mean |EG| (ranking.tsv "
                   "column mc_stderr); aprior consensus uses it to split the spread between "
                   "runs into EG sampling error and model differences.")
@seed_option(help="Seed of the reference sampling.")
@device_option
@threads_option
@outdir_option()
@click.option("--resume", is_flag=True,
              help="Skip the work when OUTDIR already holds this command's complete outputs "
                   "for the same run and options (e.g. a requeued cluster job).")
@verbosity_options
@interruptible("nothing was written; rerun to start again")
@handle_errors
def command(run_dir: str, expression: str, expression_long: str | None, labels: str | None,
            sample_column: str | None, target_column: str | None, group_column: str | None,
            labels_where: tuple[str, ...], unmatched_labels: str | None, split: str,
            n_samples: int, references: str, chunk_size: int | None,
            target_class: str | None, with_stderr: bool, seed: int, device: str,
            threads: int | None, outdir: str, resume: bool, verbose: int, quiet: bool) -> None:
    """Explain a trained run: per-sample EG matrix and global ranking.

    \b
    Writes to OUTDIR:
      attributions.tsv   samples x features expected gradients
      ranking.tsv        feature, mean_abs_attribution, rank (1 = most important)
      completeness.json  summary of sum(phi) - (f(x) - E f(x')) (shrinks with --n-samples),
                         attribution_unit (regression: the target's own units), and the
                         run's seed, lambda, gene count and covariate features
      attributions_stderr.tsv  with --stderr: Monte-Carlo s.e. of each attribution

    RUN_DIR may be a selection directory (aprior select, or a lambda grid of aprior
    train): its chosen run is explained. SIGTERM/SIGUSR1 (exit 75) and SIGINT (exit 130)
    stop it at once, writing nothing.

    \b
    Example:
      aprior attribute runs/graph_seed0 --expression expr.tsv --labels labels.tsv \\
          --n-samples 200 -o attr/graph_seed0
    """
    import numpy as np
    import pandas as pd

    from aprior_cli import interrupt
    from aprior_cli.cli.run_data import rows_and_splits
    from aprior_cli.device import resolve_device, set_threads
    from aprior_cli.errors import UserInputError
    from aprior_cli.io.atomic import atomic_write_json
    from aprior_cli.io.outputs import claim_outputs
    from aprior_cli.io.progress import finished_outputs
    from aprior_cli.io.run_dir import load_run
    from aprior_cli.io.tables import write_table
    from aprior_cli.training.attribute import (
        attribute,
        attribution_unit,
        completeness_summary,
        global_ranking,
    )

    settings = {"run": str(Path(run_dir)), "expression": expression,
                "expression_long": expression_long, "labels": labels,
                "sample_column": sample_column, "target_column": target_column,
                "group_column": group_column, "labels_where": list(labels_where),
                "split": split, "n_samples_per_input": n_samples, "references": references,
                "target": target_class, "seed": seed, "mc_stderr": with_stderr}
    if resume and finished_outputs(outdir, list(OUTPUT_FILES), SUMMARY_FILE, settings):
        log.info("%s: already holds the outputs of these options, skipped (--resume)", outdir)
        echo_summary(quiet, f"{outdir}: already complete, skipped")
        return
    outs = claim_outputs(directory=outdir, inputs=[run_dir, expression, labels])
    set_threads(threads)
    dev = resolve_device(device)
    run = load_run(run_dir)
    spec = run.spec
    rows, sample_split = rows_and_splits(run, expression, expression_long, labels,
                                         sample_column, target_column, group_column,
                                         labels_where, unmatched_labels)
    x, samples, y = rows.x, rows.samples, rows.y
    chosen = np.ones(len(samples), bool) if split == "all" else sample_split == split
    if not chosen.any():
        raise UserInputError(f"{expression}: no samples of the run's {split!r} split "
                             "(use --split all to explain every sample)")
    ref_mask = np.ones(len(samples), bool) if references == "all" else sample_split == "train"
    if not ref_mask.any():
        raise UserInputError(f"{expression}: none of the run's training samples are present "
                             "to serve as references; use --references all")
    target: Any = None
    if spec["task"] == "multiclass":
        classes = spec["classes"]
        if target_class is not None:
            if target_class not in classes:
                raise UserInputError(f"--target: {target_class!r} is not a class of the model "
                                     f"({capped(classes, shown=8)})")
            target = classes.index(target_class)
        else:
            yc = y[chosen]
            if np.isnan(yc).any():
                raise UserInputError("multiclass model: give --labels with targets for the "
                                     "samples explained, or --target CLASS")
            target = yc.astype(np.int64)
    elif target_class is not None:
        raise UserInputError("--target is only for multiclass models")
    model = run.build_model(dev)
    interrupt.safe_point("attribute")
    outputs = attribute(model, x[chosen], x[ref_mask], n_samples=n_samples, target=target,
                        chunk_size=chunk_size, seed=seed, device=dev, return_stderr=with_stderr)
    phi, residual = outputs[0], outputs[1]
    stderr = outputs[2] if with_stderr else None
    chosen_samples = [s for s, c in zip(rows.ids, chosen, strict=True) if c]
    out = Path(outdir)
    attributions = pd.DataFrame(phi, index=pd.Index(chosen_samples, name="sample"),
                                columns=run.features)
    ranking = global_ranking(phi, run.features, stderr=stderr)
    summary = completeness_summary(residual, phi)
    unit = attribution_unit(spec, run.cfg.target_column)
    summary.update({**settings, "n_references": int(ref_mask.sum()),
                    "attribution_unit": unit, "target_scaling": run.target_scaling.to_dict(),
                    "run_path": str(run.path), "run_seed": run.cfg.seed,
                    "run_lambda": run.metrics.get("lambda"),
                    "selection": str(run.selection) if run.selection is not None else None,
                    "n_genes": spec["n_genes"],
                    "covariate_features": run.features[spec["n_genes"]:]})
    with interrupt.deferred():  # the outputs are written to the end (the summary last)
        write_table(attributions, outs / "attributions.tsv")
        if stderr is not None:
            write_table(pd.DataFrame(stderr, index=attributions.index, columns=run.features),
                        outs / "attributions_stderr.tsv")
        write_table(ranking, outs / "ranking.tsv", index=False)
        atomic_write_json(outs / SUMMARY_FILE, summary)
        outs.publish()
    top = ", ".join(ranking["feature"].head(5))
    echo_summary(quiet, f"{out}: {len(chosen_samples)} samples x {len(run.features)} features "
                 f"explained ({n_samples} references each; unit: {unit}); relative "
                 f"completeness residual {summary['relative_residual']:.3g}; top features: {top}")
