"""``aprior train``: train a network with an attribution prior and write a run directory.

Every configuration key (see :mod:`aprior_cli.training.config`) is an option here and a key
in ``--config`` YAML; the command line wins over the YAML, the YAML over the defaults. A
lambda grid (``--lambda 0.1,1,10``) writes one run directory per value,
``<outdir>/lambda_<value>``, and (``--select best|one-se``) ``selection.tsv``/``selection.json``
naming the run chosen on validation, so ``<outdir>`` stands for that run in later commands.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from aprior_cli.cli.common import (
    Command,
    FiniteFloat,
    echo_summary,
    handle_errors,
    verbosity_options,
)
from aprior_cli.cli.interruptible import annotate, interruptible
from aprior_cli.training.config import OPTIONS, Option

log = logging.getLogger("aprior.train")

#: called with the epoch number after each epoch's checkpoint (tests interrupt runs with it)
_EPOCH_HOOK: Callable[[int], None] | None = None

RESUME_HINT = "rerun with --resume to continue"

SUMMARY_KEYS = ("test_r2", "test_auc", "test_accuracy", "test_loss", "test_prior_eg",
                "test_graph_penalty_eg", "test_graph_penalty_grad", "test_graph_roughness_eg",
                "test_gini_eg", "dapr_g_spearman")


def _param_name(opt: Option) -> str:
    return "lambda_" if opt.name == "lambda" else opt.name


def _click_option(opt: Option) -> Callable:
    flag = "--" + opt.name.replace("_", "-")
    shown = "" if opt.default in (None, []) else f" [default: {_show(opt.default)}]"
    help_text = opt.help + shown
    if opt.kind == "bool":
        return click.option(f"{flag}/--no-{flag[2:]}", _param_name(opt), default=None,
                            help=help_text)
    if opt.kind == "multi":
        return click.option(flag, _param_name(opt), multiple=True, default=None, help=help_text)
    if opt.choices is not None:
        ptype: Any = click.Choice(opt.choices)
    elif opt.kind == "int":
        ptype = int if opt.minimum is None else click.IntRange(min=int(opt.minimum))
    elif opt.kind == "float":
        ptype = FiniteFloat(min=opt.minimum)
    else:
        ptype = str
    return click.option(flag, _param_name(opt), type=ptype, default=None, help=help_text)


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value)) or "none"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def config_options(f: Callable) -> Callable:
    for opt in reversed(OPTIONS):
        f = _click_option(opt)(f)
    return f


def lambda_dirname(value: float | str) -> str:
    """``lambda_<value>`` with the shortest float text (``0.1``, ``1``, ``auto``)."""
    return f"lambda_{value}" if isinstance(value, str) else f"lambda_{format(value, 'g')}"


@click.command("train", cls=Command)
@click.option("-c", "--config", "config_file", type=click.Path(dir_okay=False),
              help="YAML file with any of the options below (keys with underscores).")
@config_options
@click.option("-o", "--outdir", type=click.Path(file_okay=False), required=True,
              help="Run directory to write (with a lambda grid: the parent of "
                   "lambda_<value>/ run directories).")
@click.option("--resume", is_flag=True, help="Continue an interrupted run from "
              "<outdir>.partial/checkpoint.pt (same options) when there is one, else start "
              "a fresh run; a finished run with the same options is skipped. Safe on every "
              "(re)submission of a cluster job.")
@click.option("--overwrite", is_flag=True, help="Replace an existing run directory.")
@click.option("--prior-lr", "legacy_prior_lr", type=float, default=None, hidden=True)
@verbosity_options
@interruptible(RESUME_HINT)
@handle_errors
def command(config_file: str | None, outdir: str, resume: bool, overwrite: bool, verbose: int,
            quiet: bool, legacy_prior_lr: float | None, **options: Any) -> None:
    """Train a model with an attribution prior; write a run directory.

    \b
    Example:
      aprior train --expression expr.tsv --labels labels.tsv --graph graph.npz \\
          --prior graph --lambda 1 --task binary --hidden 64,32 -o runs/graph_seed0

    Output: model.pt, config.yaml, model.json, metrics.json, history.tsv, splits.tsv,
    features.txt and COMPLETE (written last) in OUTDIR; with --prior dapr also prior.pt
    (g) and the dapr_* tables and plots explaining g.

    SIGTERM/SIGUSR1 (SLURM preemption, time limit) and SIGINT (Ctrl-C) stop training at the
    next step: a checkpoint is written and the command exits with 75 (SIGTERM/SIGUSR1) or
    130 (SIGINT); --resume continues exactly where it stopped.
    """
    from aprior_cli.training.config import load_yaml, resolve

    # the configuration first: a bad option fails before torch is even imported
    cli_values = {opt.name: options[_param_name(opt)] or None if opt.kind == "multi"
                  else options[_param_name(opt)] for opt in OPTIONS}
    if legacy_prior_lr is not None:  # refused by resolve() with the names of its successors
        cli_values["prior_lr"] = legacy_prior_lr
    yaml_values = load_yaml(config_file) if config_file else None
    cfg = resolve(yaml_values, cli_values)

    from aprior_cli import interrupt
    from aprior_cli.device import resolve_device, set_threads
    from aprior_cli.errors import UserInputError
    from aprior_cli.interrupt import Interrupted
    from aprior_cli.io.run_dir import (
        CHECKPOINT,
        begin_run_dir,
        claim_run_dir,
        differing_option,
        finish_run_dir,
        partial_dir,
        publish_finished_partial,
        write_run_files,
    )
    from aprior_cli.io.selection import write_grid_selection
    from aprior_cli.io.tables import write_table
    from aprior_cli.training.guidance import post_fit_warnings, pre_fit_warnings
    from aprior_cli.training.paired_rows import unmatched_warning
    from aprior_cli.training.predictions import prediction_table
    from aprior_cli.training.run import execute, prepare

    claim_run_dir(outdir, [cfg.expression, cfg.labels, cfg.graph, cfg.eval_graph,
                           cfg.meta_features, cfg.split_file, config_file])
    try:
        set_threads(cfg.threads)
        device = resolve_device(cfg.device)
        inputs = read_inputs(cfg)
        lambdas = cfg.lambdas()
        grid = len(lambdas) > 1
        out = Path(outdir)
        runs = []
        for lam in lambdas:  # validate every run before anything is written
            run_cfg = cfg.with_lambda(lam)
            target = out / lambda_dirname(lam) if grid else out
            runs.append((target, prepare(run_cfg, **inputs)))
    except Interrupted as exc:
        raise annotate(exc, outdir, "before training started (nothing written)") from None
    if grid and cfg.select != "none" and not (runs[0][1].split == "val").any():
        raise UserInputError(f"--select {cfg.select}: choosing lambda needs validation samples "
                             "(--val-fraction > 0 or val rows in --split-file); or --select none")
    note = unmatched_warning(runs[0][1].data.dropped_samples, len(runs[0][1].data.samples),
                             str(cfg.labels), str(cfg.expression))
    if note:  # after every check passed: an error stays the only line
        log.warning("warning: %s", note)
    for target, prep in runs:
        if resume and not overwrite and publish_finished_partial(target):
            differs = differing_option(target / "config.yaml", prep.cfg)
            if differs:
                raise UserInputError(f"{target}: already holds a finished run with other "
                                     f"options ({differs}); choose another -o/--outdir or pass "
                                     "--overwrite")
            log.info("%s: already finished with these options, skipped (--resume)", target)
            echo_summary(quiet, f"{target}: already finished, skipped")
            continue
        checkpoint_file = partial_dir(target) / CHECKPOINT
        do_resume = resume and checkpoint_file.is_file()
        if resume and not do_resume:
            log.info("%s: nothing to resume (no %s); starting a fresh run", target,
                     checkpoint_file)
        partial, checkpoint = begin_run_dir(target, prep.cfg, resume=do_resume,
                                            overwrite=overwrite)
        log.info("training %s (%d samples x %d features, device %s)", target,
                 len(prep.data.samples), len(prep.data.features), device)
        if prep.graph_stats:
            from aprior_cli.graph_coverage import coverage_line

            log.info("graph: %s", coverage_line(prep.graph_stats))
        for line in pre_fit_warnings(prep):
            log.warning("warning: %s", line)
        try:
            with interrupt.deferred():  # a signal stops training at a step; writes finish
                result = execute(prep, device, checkpoint_path=partial / CHECKPOINT,
                                 resume_from=checkpoint, on_epoch_end=_EPOCH_HOOK)
                for line in post_fit_warnings(prep, result.metrics, result.fit):
                    log.warning("warning: %s", line)
                write_run_files(partial, model=result.model, cfg=prep.cfg,
                                model_spec=prep.model_spec(), metrics=result.metrics,
                                history=result.fit.history, splits=prep.splits_table(),
                                features=prep.data.features, prior=prep.prior)
                write_table(prediction_table(prep, result.model, device),
                            partial / "predictions.tsv", index=False)
                write_prior_outputs(prep.prior, partial, seed=prep.cfg.seed)
                finish_run_dir(partial, target, overwrite=overwrite)
        except Interrupted as exc:
            raise annotate(exc, str(target), "after the run was finished and written") from None
        shown = " ".join(f"{k}={result.metrics[k]:.4g}" for k in SUMMARY_KEYS
                         if isinstance(result.metrics.get(k), float))
        echo_summary(quiet, f"{target}: epoch {result.fit.best_epoch} kept of "
                     f"{len(result.fit.history)} ({result.fit.prior_steps} prior steps), "
                     f"lambda={result.fit.lambda_value:.4g} {shown}")
    if grid and cfg.select != "none":  # chosen on validation only (aprior_cli.selection)
        record = write_grid_selection(out, [target for target, _ in runs], cfg.select)
        echo_summary(quiet, f"{out}: chose {record['chosen']} on validation "
                            f"(rule {cfg.select}); see {out / 'selection.tsv'}")


def write_prior_outputs(prior: Any, run_dir: Path, seed: int) -> None:
    """Explanations of a learned prior into ``run_dir`` (before ``COMPLETE``).

    For DAPr: g's weights, ``dapr_predicted_importance.tsv`` (``gene, g_M, rank``), the
    second-order EG of g over the meta-features (TSV + plot) and g's partial dependence on
    each meta-feature (TSV + plot), all from the best epoch's g.
    """
    if prior is None:
        return
    from aprior_cli.dapr import DAPrPrior, dapr_output_tables

    if isinstance(prior, DAPrPrior):
        from aprior_cli.io.dapr_outputs import write_dapr_outputs

        write_dapr_outputs(dapr_output_tables(prior, seed=seed), run_dir)


def read_inputs(cfg: Any) -> dict[str, Any]:
    """Read the files the config names (tables, graphs, split file)."""
    from aprior_cli.io.graph_npz import load_graph
    from aprior_cli.io.labels import LabelSpec, read_labels
    from aprior_cli.io.long_table import parse_long_columns, read_expression
    from aprior_cli.io.tables import read_table

    long_columns = parse_long_columns(cfg.expression_long, "--expression-long")
    inputs: dict[str, Any] = {
        "expression": read_expression(cfg.expression, long_columns),
        "labels": read_labels(cfg.labels, LabelSpec.from_mapping(cfg.to_dict())),
        "graph": load_graph(cfg.graph) if cfg.graph else None,
        "eval_graph": load_graph(cfg.eval_graph) if cfg.eval_graph else None,
        "meta_features": read_table(cfg.meta_features) if cfg.meta_features else None,
        "split_table": read_table(cfg.split_file) if cfg.split == "file" else None,
    }
    return inputs
