"""``aprior report``: one self-contained HTML page that answers the question, in this order.

1. **Headline** per method against the baseline, on the lambda each seed chose on validation:
   accuracy change with its paired test, scale-free smoothness change, stability change.
2. **Top genes** of each method's consensus ranking (``aprior consensus``): consensus rank,
   top-K frequency over single runs, rank interval, graph degree, membership of a significant
   pathway.
3. **Pathways** of the consensus ranking (``aprior enrich``): NES, q-value, leading-edge size
   and a significance mark; when no term passes the FDR threshold the page says so.
4. **Diagnostics**: chosen lambda per seed, graph coverage, EG completeness residual and the
   Monte-Carlo share of the spread, DAPr's g, the planted truth of a simulated study, the
   single runs' pathway positions and ``aprior compare``'s tables.

Inputs (all paths): run or selection directories (positional, laid out as
``<method>/lambda_<x>/seed_<n>`` or ``<method>/seed_<n>``; or ``--run METHOD=DIR``),
``--consensus METHOD=DIR``, ``--pathways METHOD=FILE`` (the consensus' prerank/ORA tables),
optional ``--enrich`` (single runs' tables, laid out like the runs), ``--compare``, ``--graph``,
``--truth``. The computations are in :mod:`aprior_cli.findings`, the page in
:mod:`aprior_cli.report`.
"""

from __future__ import annotations

import hashlib
import json
import re
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
from aprior_cli.errors import UserInputError

_LAMBDA = re.compile(r"^lambda_(?P<value>.+)$")
_SEED = re.compile(r"^seed_(?P<value>\d+)$")

#: metrics shown in the table of every metric (those present)
PREFERRED_METRICS = ["test_r2", "test_auc", "test_accuracy", "test_loss",
                     "test_graph_roughness_eg", "test_graph_roughness_grad",
                     "test_graph_penalty_eg", "test_graph_penalty_grad", "test_gini_eg",
                     "dapr_g_spearman", "best_epoch"]
METRIC_LABELS = {
    "test_graph_roughness_eg": "test-set graph roughness (EG, scale-free; lower = smoother)",
    "test_graph_penalty_eg": "test-set graph penalty (EG, real graph; lower = smoother)",
    "test_graph_penalty_grad": "test-set graph penalty (gradients, real graph)",
    "test_r2": "test R²", "test_auc": "test AUC", "test_accuracy": "test accuracy",
    "test_loss": "test loss", "test_gini_eg": "test Gini of mean |EG|",
}
#: short y-axis labels of the plots (the captions carry the long ones)
METRIC_AXES = {"test_graph_penalty_eg": "test graph penalty (EG)",
               "test_graph_roughness_eg": "test graph roughness (EG)", "test_r2": "test R²",
               "test_auc": "test AUC", "test_accuracy": "test accuracy",
               "test_loss": "test loss"}


def run_key(path: str | Path) -> tuple[str, str, str]:
    """(method, lambda, seed) from a path ``.../<method>/lambda_<x>/seed_<n>/...``.

    A path ``.../<method>/seed_<n>`` (a selection directory) gives lambda ``""``.
    """
    parts = Path(path).parts
    for i in range(1, len(parts) - 1):
        lam, seed = _LAMBDA.match(parts[i]), _SEED.match(parts[i + 1])
        if lam and seed:
            return parts[i - 1], lam.group("value"), seed.group("value")
    for i in range(len(parts) - 1, 0, -1):
        seed = _SEED.match(parts[i])
        if seed and not _LAMBDA.match(parts[i - 1]):
            return parts[i - 1], "", seed.group("value")
    raise UserInputError(f"{path}: expected a path like <method>/lambda_<x>/seed_<n>/... or "
                         "<method>/seed_<n>, or name the method with --run METHOD=DIR")


def _named(values: tuple[str, ...], option: str) -> list[tuple[str, str]]:
    out = []
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise UserInputError(f"{option}: expected METHOD=PATH, got {value!r}")
        out.append((name, path))
    return out


def _read_json(path: Path, what: str = "JSON file") -> dict[str, Any]:
    if not path.is_file():
        raise UserInputError(f"{path}: file not found (is the run finished?)")
    return _read_json_object(path, what)


def read_run(path: str, method: str | None = None) -> dict[str, Any]:
    """One run (or a selection directory's chosen run) as a row of the report."""
    from aprior_cli.io.run_dir import resolve_run_path

    given = Path(path)
    if method is None:
        method, lam, seed = run_key(given / "metrics.json")
    else:
        lam, seed = "", None
        for part in reversed(given.parts):
            if _SEED.match(part):
                seed = _SEED.match(part).group("value")
                break
    run, selection = resolve_run_path(given) if given.is_dir() else (given, None)
    metrics = _read_json(run / "metrics.json")
    row: dict[str, Any] = {"method": method, "seed": seed if seed is not None
                           else str(metrics.get("seed", "")), "run": str(run),
                           "selected": selection is not None, "rule": "", "prior":
                           metrics.get("prior", "")}
    if selection is not None:
        record = _read_json(selection / "selection.json")
        row["rule"] = record.get("rule", "")
        row["n_candidates"] = len(record.get("candidates", []))
        lam = format(float(record.get("chosen_lambda", metrics.get("lambda", 0))), "g")
    elif not lam:
        value = metrics.get("lambda", 0)
        lam = format(float(value), "g") if isinstance(value, int | float) else str(value)
    row["lambda"] = lam
    splits = run / "splits.tsv"
    row["split_id"] = (hashlib.sha256(splits.read_bytes()).hexdigest()[:12]
                       if splits.is_file() else "")
    # the path names the run; metrics.json's own seed/lambda entries do not override it
    row.update({k: v for k, v in metrics.items()
                if isinstance(v, int | float) and not isinstance(v, bool) and k not in row})
    return row


def read_runs(run_dirs: tuple[str, ...], named: list[tuple[str, str]]):
    """The runs as a table with a ``label`` per method (λ added where a method has several)."""
    import pandas as pd

    rows = [read_run(p) for p in run_dirs] + [read_run(p, m) for m, p in named]
    if not rows:
        raise UserInputError("no runs given: pass run/selection directories or --run METHOD=DIR")
    runs = pd.DataFrame(rows)
    n_lams = runs[~runs["selected"]].groupby("method")["lambda"].nunique()
    runs["label"] = [f"{m} (λ={lam})" if not sel and n_lams.get(m, 1) > 1 else m
                     for m, lam, sel in zip(runs["method"], runs["lambda"], runs["selected"],
                                            strict=True)]
    dup = runs.duplicated(["label", "seed", "split_id"], keep=False)
    if dup.any():
        first = runs[dup].iloc[0]
        raise UserInputError(f"{first['run']}: two runs of {first['label']} with seed "
                             f"{first['seed']}; give each run once")
    return runs


def _read_json_object(path: str | Path, what: str) -> dict:
    from aprior_cli.io.files import read_text_file
    from aprior_cli.io.read_errors import reading

    with reading(path, what):
        obj = json.loads(read_text_file(path, what))
    if not isinstance(obj, dict):
        raise UserInputError(f"{path}: expected a JSON object")
    return obj


def read_truth(path: str | None) -> dict:
    return {} if path is None else _read_json_object(path, "truth file")


def _pathway_kind(path: str, table) -> str:
    name = Path(path).name
    if ".prerank." in name or "nes" in table.columns:
        return "prerank"
    if ".ora." in name or "odds_ratio" in table.columns:
        return "ora"
    raise UserInputError(f"{path}: neither a prerank nor an ORA table of `aprior enrich`")


@click.command("report", context_settings={"help_option_names": ["-h", "--help"]}, cls=Command)
@click.argument("run_dirs", nargs=-1, type=click.Path(file_okay=False))
@click.option("--run", "named_runs", multiple=True, metavar="METHOD=DIR",
              help="A run or selection directory of METHOD (repeat; e.g. one per seed).")
@click.option("--consensus", "consensus_dirs", multiple=True, metavar="METHOD=DIR",
              help="`aprior consensus` folder of METHOD (repeat per method).")
@click.option("--pathways", "pathway_tables", multiple=True, metavar="METHOD=FILE",
              help="`aprior enrich` table (NAME.prerank.tsv and/or NAME.ora.tsv) of METHOD's "
                   "consensus ranking (repeat).")
@click.option("--enrich", "enrich_tables", multiple=True, type=click.Path(dir_okay=False),
              help="Single runs' enrichment tables, laid out like the runs (diagnostics).")
@click.option("--compare", "compare_dir", type=click.Path(file_okay=False),
              help="Output folder of `aprior compare`: its paired tests and plot are included.")
@click.option("--graph", "graph_path", type=click.Path(dir_okay=False),
              help="Gene graph .npz (aprior graph): gene degrees, coverage when the runs' "
                   "metrics do not carry it.")
@click.option("--truth", "truth_path", type=click.Path(dir_okay=False),
              help="truth.json of `aprior simulate`: driver recovery and the planted pathway.")
@click.option("--fdr", type=FiniteFloat(0, 1, min_open=True, max_open=True), default=0.05,
              show_default=True, help="A pathway is significant when its q-value is below this.")
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True,
              help="Pathways listed per method.")
@click.option("--top-genes", type=click.IntRange(min=1), default=20, show_default=True,
              help="Genes listed per method.")
@click.option("--baseline", default="baseline", show_default=True,
              help="Method the others are compared with.")
@click.option("--title", default="aprior report", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="HTML file to write.")
@verbosity_options
@handle_errors
def command(run_dirs: tuple[str, ...], named_runs: tuple[str, ...],
            consensus_dirs: tuple[str, ...], pathway_tables: tuple[str, ...],
            enrich_tables: tuple[str, ...], compare_dir: str | None, graph_path: str | None,
            truth_path: str | None, fdr: float, top: int, top_genes: int, baseline: str,
            title: str, output: str, verbose: int, quiet: bool) -> None:
    """Write one self-contained HTML page: headline, top genes, pathways, diagnostics.

    \b
    Example (the findings workflow: selection per seed, consensus per method):
      aprior report --run baseline=select/baseline/seed_0 --run baseline=select/baseline/seed_1 \\
          --run graph_eg=select/graph_eg/seed_0 --run graph_eg=select/graph_eg/seed_1 \\
          --consensus baseline=consensus/baseline --consensus graph_eg=consensus/graph_eg \\
          --pathways graph_eg=enrich/graph_eg/ranking.prerank.tsv \\
          --pathways baseline=enrich/baseline/ranking.prerank.tsv \\
          --graph graph.npz --truth sim/truth.json -o report.html
    """
    from aprior_cli.io import read_table
    from aprior_cli.io.atomic import atomic_write_text
    from aprior_cli.io.consensus import read_consensus
    from aprior_cli.io.outputs import claim_outputs
    from aprior_cli.report import render_html

    if Path(output).is_dir():
        raise UserInputError(f"{output}: is a directory; give the HTML file to write")
    named = _named(named_runs, "--run")
    named_consensus = _named(consensus_dirs, "--consensus")
    named_pathways = _named(pathway_tables, "--pathways")
    outs = claim_outputs(files={"-o/--output": output},
                         inputs=[run_dirs, [p for _, p in named], [p for _, p in named_consensus],
                                 [p for _, p in named_pathways], enrich_tables, compare_dir,
                                 graph_path, truth_path])
    # 1. read everything (a bad input fails before anything is written)
    runs = read_runs(run_dirs, named)
    truth = read_truth(truth_path)
    consensus = {m: read_consensus(p) for m, p in named_consensus}
    pathways: dict[str, dict[str, Any]] = {}
    for method, path in named_pathways:
        table = read_table(path)
        if "term" not in table.columns or "fdr_qvalue" not in table.columns:
            raise UserInputError(f"{path}: no 'term'/'fdr_qvalue' columns (is it an "
                                 "`aprior enrich` table?)")
        pathways.setdefault(method, {})[_pathway_kind(path, table)] = table
    single_tables = {}
    for path in enrich_tables:
        table = read_table(path)
        if "term" not in table.columns:
            raise UserInputError(f"{path}: no 'term' column (is it an `aprior enrich` table?)")
        key = run_key(path)
        single_tables[(key[0], key[1] or "selected", key[2])] = table
    graph = None
    if graph_path is not None:
        from aprior_cli.io.graph_npz import load_graph

        graph = load_graph(graph_path)
    compare = _read_compare(compare_dir)
    dapr = _read_dapr(runs)

    # 2. build the page in memory, then write it atomically
    from aprior_cli.report_sections import build_sections

    sections = build_sections(runs=runs, truth=truth, consensus=consensus, pathways=pathways,
                              single_tables=single_tables, graph=graph, compare=compare,
                              dapr=dapr, fdr=fdr, top=top, top_genes=top_genes,
                              baseline=baseline)
    page = render_html(title, sections, highlight=truth.get("driver_pathway"))
    atomic_write_text(outs.path(output), page)
    outs.publish()
    echo_summary(quiet, f"report: {len(runs)} runs, {len(consensus)} consensus rankings, "
                        f"{sum(len(v) for v in pathways.values())} pathway tables, "
                        f"{len(single_tables)} single-run enrichment tables written to {output}")


#: files of an `aprior compare` folder the report shows (the others repeat its own tables)
COMPARE_TABLES = {"paired_tests.tsv": "Paired tests between methods (runs paired by seed and "
                                      "split; p-values corrected across metrics)"}
COMPARE_FIGURES = {"comparison.png": "Each metric per method (aprior compare; paired runs "
                                     "joined)"}


def _read_compare(compare_dir: str | None):
    """The paired-test table and the plot of an `aprior compare` folder (those present)."""
    from aprior_cli.io import read_table
    from aprior_cli.report import Figure

    if compare_dir is None:
        return [], []
    folder = Path(compare_dir)
    if not folder.is_dir():
        raise UserInputError(f"{compare_dir}: not a folder")
    tables = []
    for name, caption in COMPARE_TABLES.items():
        if (folder / name).is_file():
            table = read_table(folder / name)
            if "metric" in table.columns:  # the headline metrics only
                table = table[table["metric"].isin(PREFERRED_METRICS)]
            tables.append((caption, table))
    figures = [Figure(caption, (folder / name).read_bytes())
               for name, caption in COMPARE_FIGURES.items() if (folder / name).is_file()]
    return tables, figures


def _read_dapr(runs) -> dict[str, Any]:
    """DAPr's g explanation files of the DAPr runs (seed -> tables), when written."""
    from aprior_cli.io import read_table
    from aprior_cli.io.dapr_outputs import DAPR_FILES

    out: dict[str, Any] = {}
    for rec in runs[runs["prior"] == "dapr"].to_dict(orient="records"):
        run = Path(rec["run"])
        entry = {}
        for key in ("importance", "second_order", "second_order_summary"):
            path = run / DAPR_FILES[key]
            if path.is_file():
                entry[key] = read_table(path)
        if entry:
            out[f"{rec['label']}, seed {rec['seed']}"] = entry
    return out


if __name__ == "__main__":  # pragma: no cover - exercised through the workflow
    command(prog_name="aprior report")
