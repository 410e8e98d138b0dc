"""``aprior split``: assign samples to train / validation / test before preprocessing.

The workflow needs the split before ``aprior preprocess`` (whose zero filter and z-score are
fitted on the training samples only) and hands the same table to ``aprior train --split file``,
so preprocessing and training agree on which samples are held out. The assignment itself is
:func:`aprior_cli.training.splits.make_split` (the one ``aprior train`` uses).

Run as ``python -m aprior_cli.cli.split`` (or ``aprior split`` once registered).
"""

from __future__ import annotations

import click

from aprior_cli.cli.common import (
    Command,
    FiniteFloat,
    echo_summary,
    handle_errors,
    seed_option,
    verbosity_options,
)
from aprior_cli.errors import UserInputError

METHODS = ("random", "stratified", "group")


@click.command("split", context_settings={"help_option_names": ["-h", "--help"]}, cls=Command)
@click.argument("labels", type=click.Path(dir_okay=False))
@click.option("--method", type=click.Choice(METHODS), default="group", show_default=True,
              help="random; stratified (keeps class proportions; classification targets); "
                   "group (whole 'group' values, e.g. patients, never in two splits).")
@click.option("--val-fraction", type=FiniteFloat(0, 1, max_open=True), default=0.2,
              show_default=True, help="Fraction of samples for validation (early stopping).")
@click.option("--test-fraction", type=FiniteFloat(0, 1, max_open=True), default=0.2,
              show_default=True,
              help="Fraction of samples held out for testing.")
@seed_option()
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="Split table to write: columns sample, split (train/val/test).")
@click.option("--train-samples", "train_output", type=click.Path(dir_okay=False),
              help="Also write the training sample ids, one per line "
                   "(for `aprior preprocess --train-samples`).")
@verbosity_options
@handle_errors
def command(labels: str, method: str, val_fraction: float, test_fraction: float, seed: int,
            output: str, train_output: str | None, verbose: int, quiet: bool) -> None:
    """Split the samples of LABELS (columns sample[, target, group]) into train/val/test."""
    import pandas as pd

    from aprior_cli.io import read_table
    from aprior_cli.io.outputs import claim_outputs
    from aprior_cli.training.splits import make_split

    outs = claim_outputs(files={"--train-samples": train_output, "-o/--output": output},
                         inputs=[labels])
    table = read_table(labels, dtype={"sample": str, "group": str})
    if "sample" not in table.columns:
        raise UserInputError(f"{labels}: needs a 'sample' column "
                             f"(columns: {', '.join(map(str, table.columns))})")
    samples = table["sample"].astype(str)
    if samples.duplicated().any():
        raise UserInputError(f"{labels}: duplicated sample {samples[samples.duplicated()].iloc[0]!r}")
    if method == "group" and "group" not in table.columns:
        raise UserInputError(f"{labels}: --method group needs a 'group' column")
    if method == "stratified" and "target" not in table.columns:
        raise UserInputError(f"{labels}: --method stratified needs a 'target' column")
    y = table["target"].astype(str).to_numpy() if method == "stratified" else None
    groups = table["group"].astype(str).to_numpy() if method == "group" else None
    split = make_split(method, list(samples), val_fraction, test_fraction, seed, y=y,
                       groups=groups, option="--method")
    result = pd.DataFrame({"sample": samples.to_numpy(), "split": split})
    # both files or neither: staged, then published together (the split table last)
    if train_output is not None:
        train_ids = result.loc[result["split"] == "train", "sample"]
        outs.path(train_output).write_text("".join(f"{s}\n" for s in train_ids))
    result.to_csv(outs.path(output), sep="\t", index=False, lineterminator="\n")
    outs.publish()
    counts = result["split"].value_counts()
    echo_summary(quiet, f"split ({method}, seed {seed}): "
                        + ", ".join(f"{counts.get(n, 0)} {n}" for n in ("train", "val", "test"))
                        + f" samples written to {output}")


if __name__ == "__main__":  # pragma: no cover - exercised through the workflow
    command(prog_name="aprior split")
