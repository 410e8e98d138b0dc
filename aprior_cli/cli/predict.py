"""``aprior predict``: a trained run's predictions for new (or held-out) samples."""

from __future__ import annotations

import click

from aprior_cli.cli.common import (
    Command,
    device_option,
    echo_summary,
    handle_errors,
    label_options,
    threads_option,
    verbosity_options,
)


@click.command("predict", context_settings={"help_option_names": ["-h", "--help"]},
               cls=Command)
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--expression", required=True, type=click.Path(dir_okay=False),
              help="Expression table (samples as rows, preprocessed like the run's, e.g. with "
                   "aprior preprocess --apply-scaler) containing the run's genes.")
@click.option("--expression-long", default=None, metavar="SAMPLE,GENE,VALUE",
              help="--expression is a long table with these columns [default: the run's "
                   "--expression-long when --expression is the file it was trained on].")
@click.option("--labels", type=click.Path(dir_okay=False), default=None,
              help="Labels table: needed for covariates; its targets, when present, are "
                   "copied beside the predictions.")
@label_options(defaults_from_run=True)
@click.option("--unmatched-labels", type=click.Choice(["error", "drop"]), default=None,
              help="Label rows without expression [default: as in the run's config].")
@click.option("--split", "split", type=click.Choice(["all", "test", "val", "train"]),
              default="all", show_default=True,
              help="Rows to predict, by the run's splits.tsv (all = every row given).")
@device_option
@threads_option
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="Predictions table (.tsv/.csv/.parquet).")
@verbosity_options
@handle_errors
def command(run_dir: str, expression: str, expression_long: str | None, labels: str | None,
            sample_column: str | None, target_column: str | None, group_column: str | None,
            labels_where: tuple[str, ...], unmatched_labels: str | None, split: str,
            device: str, threads: int | None, output: str, verbose: int, quiet: bool) -> None:
    """Predict with a trained run; write one row per sample (or sample x drug pair).

    Columns: sample (the row name), split (the run's split of that sample, empty if it was
    not in the run), then for regression ``prediction`` in the target's own units (the run's
    --target-scaling is undone); for binary ``probability`` (of the positive class, the
    second of model.json's classes) and ``predicted_class``; for multiclass
    ``predicted_class`` and one ``probability_<class>`` column per class. With --labels
    holding targets, ``target`` too.

    \b
    Example:
      aprior predict runs/baseline_seed0 --expression new_expr.tsv -o predictions.tsv
    """
    import numpy as np
    import pandas as pd
    import torch

    from aprior_cli.cli.run_data import rows_and_splits
    from aprior_cli.device import resolve_device, set_threads
    from aprior_cli.errors import UserInputError
    from aprior_cli.io.outputs import claim_outputs
    from aprior_cli.io.run_dir import load_run
    from aprior_cli.io.tables import table_format, write_table
    from aprior_cli.training.trainer import predict

    if table_format(output) == ".h5ad":
        raise UserInputError(f"-o/--output: {output}: write predictions as .tsv, .csv or "
                             ".parquet")
    outs = claim_outputs(files={"-o/--output": output}, inputs=[run_dir, expression, labels])
    set_threads(threads)
    dev = resolve_device(device)
    run = load_run(run_dir)
    rows, row_split = rows_and_splits(run, expression, expression_long, labels, sample_column,
                                      target_column, group_column, labels_where,
                                      unmatched_labels)
    chosen = np.ones(len(rows.ids), bool) if split == "all" else row_split == split
    if not chosen.any():
        raise UserInputError(f"{expression}: no rows of the run's {split!r} split "
                             "(use --split all to predict every row)")
    model = run.build_model(dev)  # predicts in original target units
    x = torch.as_tensor(rows.x[chosen], dtype=torch.float32, device=dev)
    out = predict(model, x).detach().cpu().numpy()
    table = pd.DataFrame({"sample": [i for i, c in zip(rows.ids, chosen, strict=True) if c],
                          "split": row_split[chosen]})
    task, classes = run.spec["task"], run.spec.get("classes") or []
    if task == "regression":
        table["prediction"] = out.reshape(-1)
    elif task == "binary":
        prob = 1.0 / (1.0 + np.exp(-out.reshape(-1)))
        table["probability"] = prob
        table["predicted_class"] = np.where(prob > 0.5, classes[1], classes[0])
    else:
        z = out - out.max(1, keepdims=True)
        prob = np.exp(z) / np.exp(z).sum(1, keepdims=True)
        table["predicted_class"] = [classes[i] for i in prob.argmax(1)]
        for j, c in enumerate(classes):
            table[f"probability_{c}"] = prob[:, j]
    y = rows.y[chosen]
    if np.isfinite(y).any():
        table["target"] = y if task == "regression" else [
            "" if not np.isfinite(v) else classes[int(v)] for v in y]
    write_table(table, outs.path(output), index=False)
    outs.publish()
    summary = f"{output}: {len(table)} predictions ({task}"
    if task == "regression" and "target" in table and np.isfinite(y).sum() > 1:
        from aprior_cli.training.tasks import r2_score

        ok = np.isfinite(y)
        summary += f"; R² {r2_score(y[ok], table['prediction'].to_numpy()[ok]):.3g} " \
                   f"against the targets given"
    echo_summary(quiet, summary + ")")
