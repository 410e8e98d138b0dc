"""``aprior consensus``: one method's ensemble of runs -> consensus ranking and stability."""

from __future__ import annotations

import logging

import click

from aprior_cli.cli.common import (
    Command,
    FiniteFloat,
    echo_summary,
    handle_errors,
    outdir_option,
    refuse_existing_outdir,
    verbosity_options,
)

log = logging.getLogger("aprior.consensus")


@click.command("consensus", cls=Command)
@click.argument("attributions", nargs=-1, required=True, metavar="ATTRIBUTE_DIR...")
@click.option("--top-k", type=click.IntRange(min=1), default=50, show_default=True,
              help="K of the top-K frequency, the top-K Jaccard and the Monte-Carlo share of "
                   "the top genes.")
@click.option("--interval", type=FiniteFloat(0, 1, min_open=True, max_open=True),
              default=0.9, show_default=True,
              help="Coverage of the per-gene rank interval over runs (0.9: 5th-95th "
                   "percentile).")
@click.option("--name", default=None,
              help="Name of the method (recorded in stability.json; the report's label).")
@click.option("--overwrite", is_flag=True, help="Replace an existing output folder.")
@outdir_option(help="Output folder (ranking.tsv, consensus.tsv, run_importance.tsv, "
                    "pairwise.tsv, stability.json).")
@verbosity_options
@handle_errors
def command(attributions: tuple[str, ...], top_k: int, interval: float, name: str | None,
            overwrite: bool, outdir: str, verbose: int, quiet: bool) -> None:
    """Consensus gene ranking over runs of ONE method (seeds / splits) and its stability.

    ATTRIBUTE_DIR... are `aprior attribute` output folders (or their ranking.tsv), one per
    run. Each run's mean |EG| is normalised to sum 1 over the genes shared by all runs; the
    consensus importance is the mean of those over runs. Per gene: standard error, mean rank,
    rank interval, top-K frequency; per ensemble: pairwise top-K Jaccard and Spearman,
    split-half stability and (with `aprior attribute --stderr`) how much of the spread is EG
    Monte-Carlo error. ranking.tsv goes straight into `aprior enrich`.

    \b
    Example:
      aprior consensus attr/graph_eg/seed_0 attr/graph_eg/seed_1 attr/graph_eg/seed_2 \\
          --name graph_eg --top-k 50 -o consensus/graph_eg
      aprior enrich consensus/graph_eg/ranking.tsv --gmt pathways.gmt -o enrich/graph_eg
    """
    from aprior_cli.consensus import consensus_ranking
    from aprior_cli.errors import UserInputError
    from aprior_cli.io.consensus import (
        align_runs,
        read_run_ranking,
        run_names,
        run_records,
        write_consensus_files,
    )
    from aprior_cli.io.outputs import claim_outputs

    refuse_existing_outdir(outdir, overwrite)
    outs = claim_outputs(directory=outdir, inputs=[attributions], replaces=True)
    runs = [read_run_ranking(p) for p in attributions]
    paths = [str(r.path) for r in runs]
    if len(set(paths)) < len(paths):
        raise UserInputError(f"{paths[0]}: the same ranking is given twice")
    features, importance, mc, dropped = align_runs(runs)
    if dropped:
        log.warning("consensus: %d feature(s) not in every run are left out (e.g. %s)",
                    len(dropped), ", ".join(dropped[:3]))
    if mc is None and any(r.mc_stderr is not None for r in runs):
        log.warning("consensus: only some runs have mc_stderr; the Monte-Carlo share is left out")
    names = run_names(runs, attributions)
    result = consensus_ranking(importance, features, names, top_k=top_k, interval=interval,
                               mc_stderr=mc)
    summary = {"format": "aprior-consensus-1", "name": name, **result.summary,
               "runs": run_records(runs, names), "n_features_dropped": len(dropped),
               "features_dropped_examples": dropped[:10],
               "normalisation": "each run's mean |EG| divided by its sum over the shared genes",
               "rank_interval": f"empirical {100 * (1 - interval) / 2:g}th-"
                                f"{100 * (1 + interval) / 2:g}th percentile of per-run ranks"}
    write_consensus_files(outs, result, summary)
    outs.publish()
    s = result.summary
    top = ", ".join(result.genes["feature"].head(5))
    jac = s["pairwise_top_k_jaccard"]["mean"]
    mc_text = ""
    if "variance_top_k" in s:
        mc_text = (f"; EG Monte-Carlo error explains <= {100 * s['variance_top_k']['mc_share']:.0f}"
                   f"% of the spread of the top {s['top_k']}")
    echo_summary(quiet, f"{outdir}: {s['n_runs']} runs x {s['n_features']} genes; top "
                        f"{s['top_k']} Jaccard between runs {jac:.2f}, between half-ensembles "
                        f"{s['split_half_top_k_jaccard']:.2f}{mc_text}; top genes: {top}")
