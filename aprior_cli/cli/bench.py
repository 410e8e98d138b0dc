"""``aprior bench``: time attribution-prior training steps and post-hoc EG against peers."""

from __future__ import annotations

import click

from aprior_cli.cli.common import Command, handle_errors, threads_option, verbosity_options


@click.command("bench", cls=Command)
@click.option("--shapes", default="2000:128,15000:32", show_default=True,
              help="FEATURES:BATCH pairs of the MLP FEATURES-512-256-1, comma-separated.")
@click.option("--repeats", type=click.IntRange(min=1), default=20, show_default=True,
              help="Training steps timed per row (median reported).")
@click.option("--posthoc-repeats", type=click.IntRange(min=1), default=3, show_default=True,
              help="Post-hoc runs per row (median reported).")
@threads_option
@click.option("--device", default="cpu", show_default=True, help="cpu or cuda[:i].")
@click.option("--reference-path", type=click.Path(exists=True), default=None,
              envvar="APRIOR_REFERENCE_PATH",
              help="Checkout of suinleelab/attributionpriors (for the reference rows).")
@click.option("--n-samples", type=click.IntRange(min=1), default=200, show_default=True,
              help="Post-hoc references per sample.")
@click.option("--no-generic", is_flag=True, help="Leave out the generic-path contrast rows.")
@click.option("--quick", is_flag=True,
              help="Tiny shapes, few repeats, post-hoc rows in-process (no memory figure): "
                   "checks that everything runs; the timings mean nothing.")
@click.option("--output", type=click.Path(dir_okay=False), default=None,
              help="Also write the table (Markdown) to this file.")
@verbosity_options
@handle_errors
def command(shapes: str, repeats: int, posthoc_repeats: int, threads: int | None, device: str,
            reference_path: str | None, n_samples: int, no_generic: bool, quick: bool,
            output: str | None, verbose: int, quiet: bool) -> None:
    """Print ONE table measured in one run: plain training step, our EG + graph-prior step at
    k=1,4,10, the authors' reference step (with --reference-path), and post-hoc EG against
    Captum GradientShap and SHAP GradientExplainer (rows skipped with a note when missing).

    \b
    Example:
      aprior bench --threads 2 --quick
    """
    import logging

    from aprior_cli import benchmark
    from aprior_cli.device import resolve_device
    from aprior_cli.io.atomic import atomic_write_text
    from aprior_cli.io.outputs import claim_outputs

    log = logging.getLogger("aprior")
    # --reference-path is code, not data: a table written into that checkout is fine
    outs = claim_outputs(files={"--output": output}) if output else None
    dev = str(resolve_device(device))
    cfg = benchmark.BenchConfig(shapes=benchmark.parse_shapes(shapes), repeats=repeats,
                                posthoc_repeats=posthoc_repeats, threads=threads, device=dev,
                                n_samples=n_samples, reference_path=reference_path,
                                generic_rows=not no_generic)
    if quick:
        cfg.shapes, cfg.hidden = benchmark.QUICK_SHAPES, (16, 8)
        cfg.repeats, cfg.posthoc_repeats = 2, 1
        cfg.n_inputs, cfg.n_references, cfg.n_samples = 8, 10, 10
        cfg.in_process = True
    rows = benchmark.run_benchmark(cfg, progress=log.info)
    table = benchmark.format_table(rows, cfg)
    click.echo(table)
    if outs is not None:
        atomic_write_text(outs.path(output), table + "\n")
        outs.publish()
