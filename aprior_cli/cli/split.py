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
    label_options,
    log,
    seed_option,
    verbosity_options,
)
from aprior_cli.errors import UserInputError
from aprior_cli.messages import capped

METHODS = ("random", "stratified", "group")


@click.command("split", context_settings={"help_option_names": ["-h", "--help"]}, cls=Command)
@click.argument("labels", type=click.Path(dir_okay=False))
@click.option("--method", type=click.Choice(METHODS), default="group", show_default=True,
              help="random; stratified (keeps class proportions; classification targets); "
                   "group (whole groups, e.g. patients, never in two splits). When rows repeat "
                   "a sample (sample x drug pairs), a sample's rows always stay together.")
@click.option("--val-fraction", type=FiniteFloat(0, 1, max_open=True), default=0.2,
              show_default=True, help="Fraction of samples for validation (early stopping).")
@click.option("--test-fraction", type=FiniteFloat(0, 1, max_open=True), default=0.2,
              show_default=True,
              help="Fraction of samples held out for testing.")
@seed_option()
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="Split table to write: columns sample, split (train/val/test), one line "
                   "per sample.")
@click.option("--train-samples", "train_output", type=click.Path(dir_okay=False),
              help="Also write the training sample ids, one per line "
                   "(for `aprior preprocess --train-samples`).")
@label_options
@click.option("--expression", "expression_path", type=click.Path(dir_okay=False),
              default=None, help="Split only the labelled samples present in this expression "
              "or counts table (the others are counted and left out).")
@click.option("--expression-long", default=None, metavar="SAMPLE,GENE,VALUE",
              help="--expression is a long table with these columns.")
@click.option("--genes-as-rows", is_flag=True,
              help="--expression has genes as rows (its sample ids are the header).")
@verbosity_options
@handle_errors
def command(labels: str, method: str, val_fraction: float, test_fraction: float, seed: int,
            output: str, train_output: str | None, sample_column: str, target_column: str,
            group_column: str | None, labels_where: tuple[str, ...],
            expression_path: str | None, expression_long: str | None, genes_as_rows: bool,
            verbose: int, quiet: bool) -> None:
    """Split the samples of LABELS into train/val/test (one line per sample).

    LABELS has a sample column (--sample-column), and for --method group a group column
    (--group-column; default 'group', or the sample itself when rows repeat samples), for
    --method stratified a target column (--target-column). .h5ad labels are its .obs.

    \b
    Example (one drug of a GDSC response table, cell lines with RNA-seq only):
      aprior split GDSC2_fitted_dose_response.tsv --labels-where DRUG_NAME=Olaparib \\
          --sample-column SANGER_MODEL_ID --target-column LN_IC50 --method random \\
          --expression GDSC_rnaseq.csv.gz --expression-long model_id,gene_symbol,read_count \\
          -o splits.tsv --train-samples train.txt
    """
    import numpy as np

    from aprior_cli.io.labels import LabelSpec, read_labels
    from aprior_cli.io.long_table import parse_long_columns, sample_ids
    from aprior_cli.io.outputs import claim_outputs
    from aprior_cli.training.paired_rows import sample_splits, split_rows

    if expression_path is None and (expression_long or genes_as_rows):
        raise UserInputError("--expression-long/--genes-as-rows describe --expression; "
                             "give --expression")
    outs = claim_outputs(files={"--train-samples": train_output, "-o/--output": output},
                         inputs=[labels, expression_path])
    spec = LabelSpec(sample_column=sample_column, target_column=target_column,
                     group_column=group_column, where=labels_where)
    table = read_labels(labels, spec, need_target=method == "stratified")
    if expression_path is not None:
        long_columns = parse_long_columns(expression_long, "--expression-long")
        present = set(sample_ids(expression_path, long_columns, genes_as_rows))
        keep = table["sample"].isin(present).to_numpy()
        if not keep.any():
            raise UserInputError(
                f"{labels}: none of its {table['sample'].nunique():,} samples is in "
                f"{expression_path} (labels: {capped(table['sample'], quote=True)}; "
                f"expression: {capped(sorted(present), quote=True)})")
        if not keep.all():
            log.info("%s: %d of %d labelled samples have no expression in %s and are not split",
                     labels, table.loc[~keep, "sample"].nunique(), table["sample"].nunique(),
                     expression_path)
        table = table.loc[keep].reset_index(drop=True)
    samples = table["sample"]
    if method == "group" and "group" not in table.columns and not samples.duplicated().any():
        raise UserInputError(f"{labels}: --method group needs a group column "
                             f"(--group-column; columns: {capped(table.columns, shown=8)})")
    y = table["target"].astype(str).to_numpy() if method == "stratified" else None
    groups = (table["group"].astype(str).to_numpy(dtype=object)
              if method == "group" and "group" in table.columns else None)
    split = split_rows(method, list(samples), val_fraction, test_fraction, seed, y=y,
                       groups=groups, option="--method")
    result = sample_splits(list(samples), np.asarray(split, dtype=object))
    if len(result) < len(samples):
        log.info("%s: rows repeat sample ids; each sample's rows are in one split", labels)
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
