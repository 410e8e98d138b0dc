"""``aprior enrich``: GSEA prerank and over-representation of rankings against local GMT files."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from aprior_cli.cli.common import (
    Command,
    FiniteFloat,
    echo_summary,
    handle_errors,
    outdir_option,
    seed_option,
    threads_option,
    verbosity_options,
)
from aprior_cli.errors import UserInputError

log = logging.getLogger("aprior.enrich")

_RANKING_SUFFIXES = (".gz", ".tsv", ".txt", ".tab", ".rnk", ".csv", ".parquet")


def ranking_names(paths: list[str]) -> list[str]:
    """Output name of each ranking: the file name without extensions; the parent folder is
    prefixed where names collide (``runA/ranking.tsv`` + ``runB/ranking.tsv`` -> ``runA.ranking``,
    ``runB.ranking``); a counter is appended if they still collide."""
    def stem(p: Path) -> str:
        name = p.name
        changed = True
        while changed:
            changed = False
            for ext in _RANKING_SUFFIXES:
                if name.lower().endswith(ext) and len(name) > len(ext):
                    name, changed = name[: -len(ext)], True
        return name

    names = [stem(Path(p)) for p in paths]
    if len(set(names)) < len(names):
        names = [f"{Path(p).resolve().parent.name}.{n}" if names.count(n) > 1 else n
                 for p, n in zip(paths, names, strict=True)]
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if names.count(n) == 1 else f"{n}.{seen[n]}")
    return out


def _parse_methods(text: str) -> tuple[str, ...]:
    items = tuple(dict.fromkeys(m.strip().lower() for m in text.split(",") if m.strip()))
    return items


@click.command("enrich", cls=Command)
@click.argument("rankings", nargs=-1, required=True, metavar="RANKING [RANKING ...]")
@click.option("--gmt", "gmts", multiple=True, required=True, metavar="FILE",
              help="Local GMT gene-set file (repeatable; .gz ok). FDR is per file.")
@outdir_option()
@click.option("--score-column", default=None,
              help="Score column of the rankings [default: mean_abs_attribution, else the "
                   "second column]. Larger = more important.")
@click.option("--method", "method_text", default="prerank,ora", show_default=True,
              help="Comma-separated: prerank (GSEA via gseapy), ora (hypergeometric top-K).")
@click.option("--top-k", type=click.IntRange(min=1), default=None,
              help="ORA: number of top-ranked genes in the query [default: 200 for a "
                   "ranking (a quarter of one shorter than 400 genes); the whole list for a "
                   "plain gene list]. May equal the list length when --background is larger.")
@click.option("--background", type=str, default=None, metavar="FILE",
              help="ORA: universe genes, one per line [default: all ranked genes; required "
                   "for a plain gene list].")
@click.option("--universe", "universe", type=click.Choice(["background", "annotated"]),
              default="background", show_default=True,
              help="ORA universe: the background as given (Enrichr/gseapy), or only its genes "
                   "annotated in the library (clusterProfiler); stated in the outputs.")
@click.option("--fdr", type=FiniteFloat(), default=0.05, show_default=True,
              help="A term is significant when its BH/GSEA q-value is below this.")
@click.option("--permutations", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Prerank: gene-set permutations.")
@click.option("--prerank-method", type=click.Choice(["permutation", "multilevel"]),
              default="permutation", show_default=True,
              help="Prerank p-values: GSEA gene-set permutations, or fgsea's multilevel method "
                   "(accurate small p-values; no FWER).")
@click.option("--min-size", type=click.IntRange(min=1), default=15, show_default=True,
              help="Smallest gene set tested (genes inside the ranking / background).")
@click.option("--max-size", type=click.IntRange(min=1), default=500, show_default=True,
              help="Largest gene set tested.")
@click.option("--ignore-case", is_flag=True,
              help="Match identifiers case-insensitively (e.g. mouse symbols vs human sets).")
@click.option("--duplicate-genes", type=click.Choice(["error", "keep-highest"]), default="error",
              show_default=True, help="A gene listed twice in a ranking: error, or keep its "
              "highest score.")
@click.option("--plot-format", type=click.Choice(["png", "pdf"]), default="png",
              show_default=True, help="Dot plot format.")
@click.option("--top-terms", type=click.IntRange(min=1), default=20, show_default=True,
              help="Terms shown in the plot and listed in the summary JSON.")
@seed_option(help="Seed of the prerank permutations (same seed, same q-values).")
@threads_option(help="Threads for gseapy's prerank (gseapy caps it at CPUs - 1) "
                    "[default: $SLURM_CPUS_PER_TASK, else 1].")
@verbosity_options
@handle_errors
def command(rankings: tuple[str, ...], gmts: tuple[str, ...], outdir: str,
            score_column: str | None, method_text: str, top_k: int | None,
            background: str | None, universe: str,
            fdr: float, permutations: int, prerank_method: str, min_size: int, max_size: int, ignore_case: bool,
            duplicate_genes: str, plot_format: str, top_terms: int, seed: int,
            threads: int | None, verbose: int, quiet: bool) -> None:
    """Pathway enrichment of one or more gene rankings, with FDR.

    RANKING is the `aprior attribute` ranking (feature, mean_abs_attribution, rank), any
    gene<TAB>score table with a header, a headerless .rnk, or a plain gene list (one gene per
    line: ORA of the whole list against --background). For each ranking NAME, writes to
    OUTDIR: NAME.prerank.tsv (GSEA prerank via gseapy), NAME.ora.tsv (hypergeometric test of
    the top-K genes, Benjamini-Hochberg q-values), NAME.summary.json and NAME.dotplot.png; with
    two or more rankings also comparison.tsv (significant-term counts and overlaps per pair)
    and comparison_terms.tsv (q-values side by side). Gene sets are read from local files only.

    \b
    Examples:
      aprior enrich attr/ranking.tsv --gmt h.all.v7.0.symbols.gmt -o enrich
      aprior enrich genes.txt --method ora --background universe.txt \\
          --universe annotated --gmt c2.cp.kegg.v7.5.1.symbols.gmt -o enrich_list
    """
    from aprior_cli.io.gmt import read_gmt
    from aprior_cli.io.outputs import claim_outputs
    from aprior_cli.io.ranking import read_gene_list, read_query

    out = Path(outdir)
    outs = claim_outputs(directory=outdir, inputs=[rankings, gmts, background])
    # 1. read and validate everything before computing or writing anything (files first: a
    #    typo in a path fails before scipy/statsmodels/gseapy are imported)
    libraries = [read_gmt(p) for p in gmts]
    lib_names = [lib.name for lib in libraries]
    if len(set(lib_names)) < len(lib_names):
        raise UserInputError(f"--gmt: two files share the library name "
                             f"{next(n for n in lib_names if lib_names.count(n) > 1)!r}")
    bg = read_gene_list(background) if background is not None else None
    names = ranking_names(list(rankings))
    loaded = [read_query(p, score_column=score_column, duplicates=duplicate_genes)[0]
              for p in rankings]

    from aprior_cli.device import default_threads
    from aprior_cli.enrichment.analysis import (
        EnrichmentOptions,
        enrich_ranking,
        uppercase_library,
        uppercase_ranking,
        validate_inputs,
    )

    options = EnrichmentOptions(methods=_parse_methods(method_text), top_k=top_k, fdr=fdr,
                                permutations=permutations, seed=seed, min_size=min_size,
                                max_size=max_size, threads=threads or default_threads() or 1,
                                top_terms=top_terms, prerank_method=prerank_method,
                                universe=universe)
    if ignore_case:
        libraries = [uppercase_library(lib) for lib in libraries]
        loaded = [uppercase_ranking(r) for r in loaded]
        bg = list(dict.fromkeys(g.upper() for g in bg)) if bg is not None else None
    reports = [validate_inputs(str(path), r, libraries, options, bg,
                               background_source=background or "--background")
               for path, r in zip(rankings, loaded, strict=True)]

    # 2. compute everything in memory
    results = []
    for name, path, ranking, report in zip(names, rankings, loaded, reports, strict=True):
        log.info("enrich: %s (%d genes) against %s", path, len(ranking),
                 ", ".join(lib_names))
        res = enrich_ranking(name, ranking, libraries, options, bg, report)
        res.summary["ranking_file"] = str(path)
        res.summary["background_file"] = background
        res.summary["ignore_case"] = ignore_case
        results.append(res)

    # 3. write (each file atomically)
    written = [out / p.name for p in _write_outputs(outs.staging, results, options,
                                                    plot_format)]
    outs.publish()

    lines = []
    for res in results:
        parts = [f"{res.name}: {res.summary['n_genes']} genes"]
        if "prerank" in res.summary:
            s = res.summary["prerank"]
            parts.append(f"prerank {s['n_significant']}/{s['n_sets_tested']} sets significant")
        if "ora" in res.summary:
            s = res.summary["ora"]
            parts.append(f"ORA top {s['top_k']} {s['n_significant']}/{s['n_sets_tested']} "
                         f"significant (universe: {universe})")
        lines.append(", ".join(parts) + f" (q < {fdr:g})")
    lines.append(f"wrote {len(written)} files to {out}")
    echo_summary(quiet, "\n".join(lines))


def _six_digits(table):
    """Float columns as text with 6 significant digits (p-values keep their exponent)."""
    out = table.copy()
    for col in out.columns:
        if out[col].dtype.kind == "f":
            out[col] = [f"{v:.6g}" for v in out[col]]
    return out


def _write_outputs(out: Path, results: list, options, plot_format: str) -> list[Path]:
    from aprior_cli.enrichment.compare import compare_significant, significant_terms_matrix
    from aprior_cli.enrichment.plot import dotplot
    from aprior_cli.io.atomic import atomic_path, atomic_write_json
    from aprior_cli.io.tables import write_table

    written: list[Path] = []
    for res in results:
        for method in ("ora", "prerank"):
            if method in res.tables:
                written.append(write_table(_six_digits(res.tables[method]),
                                           out / f"{res.name}.{method}.tsv", index=False))
        path = out / f"{res.name}.summary.json"
        atomic_write_json(path, res.summary)
        written.append(path)
        fig = dotplot(res.tables, title=res.name, fdr=options.fdr, top_n=options.top_terms,
                      permutations=options.permutations)
        path = out / f"{res.name}.dotplot.{plot_format}"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=plot_format, dpi=150)
        written.append(path)
    if len(results) > 1:
        by_name = {res.name: res.tables for res in results}
        written.append(write_table(_six_digits(compare_significant(by_name)),
                                   out / "comparison.tsv",
                                   index=False))
        written.append(write_table(_six_digits(significant_terms_matrix(by_name)),
                                   out / "comparison_terms.tsv", index=False))
    return written
