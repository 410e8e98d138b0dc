"""``aprior report``: the workflow's single self-contained HTML report.

Reads the run directories (``metrics.json``), the enrichment tables of each run
(``*.prerank.tsv``, sorted best first by ``aprior enrich``), optionally the ``aprior compare``
output folder and the simulated study's ``truth.json``; builds the page with
:mod:`aprior_cli.report` and writes it atomically.

The method, lambda and seed of a run are read from its path, as the workflow lays them out:
``.../<method>/lambda_<lambda>/seed_<seed>/...``.

Run as ``python -m aprior_cli.cli.report`` (or ``aprior report`` once registered).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import click

from aprior_cli.cli.common import echo_summary, handle_errors, verbosity_options
from aprior_cli.errors import UserInputError

_LAMBDA = re.compile(r"^lambda_(?P<value>.+)$")
_SEED = re.compile(r"^seed_(?P<value>\d+)$")

#: metrics shown in the comparison table and the paired tests (those present)
PREFERRED_METRICS = ["test_r2", "test_auc", "test_accuracy", "test_loss",
                     "test_graph_penalty_eg", "test_graph_penalty_grad", "test_gini_eg",
                     "best_epoch"]
METRIC_LABELS = {
    "test_graph_penalty_eg": "test-set graph penalty (EG, real graph; lower = smoother)",
    "test_graph_penalty_grad": "test-set graph penalty (gradients, real graph)",
    "test_r2": "test R²", "test_auc": "test AUC", "test_accuracy": "test accuracy",
    "test_loss": "test loss", "test_gini_eg": "test Gini of mean |EG|",
}


#: short y-axis labels of the plots (the captions carry the long ones)
METRIC_AXES = {"test_graph_penalty_eg": "test graph penalty (EG)", "test_r2": "test R²",
               "test_auc": "test AUC", "test_accuracy": "test accuracy",
               "test_loss": "test loss"}


def run_key(path: str | Path) -> tuple[str, str, str]:
    """(method, lambda, seed) from a path ``.../<method>/lambda_<x>/seed_<n>/...``."""
    parts = Path(path).parts
    for i in range(1, len(parts) - 1):
        lam, seed = _LAMBDA.match(parts[i]), _SEED.match(parts[i + 1])
        if lam and seed:
            return parts[i - 1], lam.group("value"), seed.group("value")
    raise UserInputError(f"{path}: expected a path like <method>/lambda_<x>/seed_<n>/...")


def read_run_metrics(run_dirs: list[str]):
    """One row per run: method, lambda, seed and the numeric entries of metrics.json."""
    import pandas as pd

    rows = []
    for run in run_dirs:
        method, lam, seed = run_key(Path(run) / "metrics.json")
        path = Path(run) / "metrics.json"
        if not path.is_file():
            raise UserInputError(f"{path}: file not found (is the run finished?)")
        try:
            metrics = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise UserInputError(f"{path}: not valid JSON ({exc.msg})") from exc
        row = {"method": method, "lambda": lam, "seed": seed}
        # the path names the run; metrics.json's own seed/lambda entries do not override it
        row.update({k: v for k, v in metrics.items()
                    if isinstance(v, int | float) and not isinstance(v, bool) and k not in row})
        rows.append(row)
    return pd.DataFrame(rows)


def read_truth(path: str | None) -> dict:
    if path is None:
        return {}
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError as exc:
        raise UserInputError(f"{path}: file not found") from exc
    except json.JSONDecodeError as exc:
        raise UserInputError(f"{path}: not valid JSON ({exc.msg})") from exc


@click.command("report", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option("--enrich", "enrich_tables", multiple=True, type=click.Path(dir_okay=False),
              help="Enrichment table of a run (NAME.prerank.tsv or NAME.ora.tsv of "
                   "`aprior enrich`), laid out like the runs (repeat for each run).")
@click.option("--compare", "compare_dir", type=click.Path(file_okay=False),
              help="Output folder of `aprior compare`: its tables and plots are included.")
@click.option("--truth", "truth_path", type=click.Path(dir_okay=False),
              help="truth.json of `aprior simulate`: the planted pathway is highlighted.")
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True,
              help="Pathways listed per method.")
@click.option("--baseline", default="baseline", show_default=True,
              help="Method the others' graph penalty is compared with.")
@click.option("--title", default="aprior workflow report", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="HTML file to write.")
@verbosity_options
@handle_errors
def command(run_dirs: tuple[str, ...], enrich_tables: tuple[str, ...], compare_dir: str | None,
            truth_path: str | None, top: int, baseline: str, title: str, output: str,
            verbose: int, quiet: bool) -> None:
    """Write one self-contained HTML page: comparison table, plots and top pathways.

    RUN_DIRS are `aprior train` run directories laid out as <method>/lambda_<x>/seed_<n>.

    \b
    Example:
      aprior report runs/*/lambda_*/seed_* --enrich enrich/*/ranking.prerank.tsv \\
          --compare comparison -o report.html
    """
    from aprior_cli.io import read_table
    from aprior_cli.io.atomic import atomic_write_text
    from aprior_cli.report import (
        Figure,
        Section,
        metric_plot,
        pathway_position_table,
        pathway_positions,
        render_html,
        summarize_runs,
        top_pathways,
    )

    runs = read_run_metrics(list(run_dirs))
    truth = read_truth(truth_path)
    planted = truth.get("driver_pathway")
    tables = {}
    for path in enrich_tables:
        table = read_table(path)
        if "term" not in table.columns:
            raise UserInputError(f"{path}: no 'term' column (is it an `aprior enrich` table?)")
        tables[run_key(path)] = table
    compare_tables, compare_figures = _read_compare(compare_dir)

    metrics = [m for m in PREFERRED_METRICS if m in runs.columns]
    sections = [_overview(runs, truth)]
    comparison = Section("Comparison of methods", paragraphs=[
        "Mean ± standard deviation over seeds of each run's metrics.json (test set: samples "
        "held out by the split of that seed). The graph penalty phibar^T L phibar is computed "
        "on the real gene graph for every method, so the methods are comparable."])
    comparison.tables.append(("", summarize_runs(runs, metrics)))
    for metric in ("test_graph_penalty_eg", "test_r2", "test_auc", "test_accuracy",
                   "test_loss"):
        if metric in runs.columns:
            comparison.figures.append(Figure(METRIC_LABELS.get(metric, metric),
                                             metric_plot(runs, metric,
                                                         METRIC_AXES.get(metric, metric))))
    if metrics and "test_graph_penalty_eg" in runs.columns:
        comparison.paragraphs.append(_penalty_sentence(runs, baseline))
    sections.append(comparison)
    if compare_tables or compare_figures:
        sections.append(Section("Paired tests (aprior compare)", tables=compare_tables,
                                figures=compare_figures))
    if tables:
        positions = pathway_positions(tables)
        pathways = Section("Top pathways", paragraphs=[
            "Pathways ordered as `aprior enrich` ranks them (FDR, then p-value, then effect) "
            f"in each run; per method the {top} with the best median position over seeds."])
        if planted:
            planted_table = pathway_position_table(positions, planted)
            pathways.paragraphs.append(_planted_sentence(planted, planted_table))
            pathways.tables.append((f"Position of the planted pathway {planted} in each seed "
                                    "(1 = top)", planted_table))
        pathways.tables.append((f"Top {top} pathways per method",
                                top_pathways(positions, top)))
        sections.append(pathways)
    page = render_html(title, sections, highlight=planted)
    atomic_write_text(output, page)
    echo_summary(quiet, f"report: {len(runs)} runs, {len(tables)} enrichment tables "
                        f"written to {output}")


def _overview(runs, truth: dict):
    from aprior_cli.report import Section

    methods = list(dict.fromkeys(runs["method"]))
    paragraphs = [f"{len(runs)} training runs: methods {', '.join(methods)}; seeds "
                  f"{', '.join(sorted(set(runs['seed']), key=int))}."]
    if truth:
        paragraphs.append(
            f"Simulated study (seed {truth.get('seed')}): {truth.get('n_samples')} samples x "
            f"{truth.get('n_genes')} genes, task {truth.get('task')}; the phenotype is driven by "
            f"module {truth.get('driver_module')} ({len(truth.get('driver_genes', []))} genes), "
            f"which is the pathway {truth.get('driver_pathway')} of the GMT (highlighted).")
        if truth.get("overlap_decoy_pathway"):
            paragraphs.append(f"Decoy: {truth['overlap_decoy_pathway']} shares part of the "
                              "driver's genes, so it is expected just below the driver.")
    return Section("Overview", paragraphs=paragraphs)


def _penalty_sentence(runs, baseline: str) -> str:
    import pandas as pd

    means = runs.groupby(["method", "lambda"], sort=False)["test_graph_penalty_eg"].mean()
    means = pd.to_numeric(means, errors="coerce").dropna().sort_values()
    if means.empty:
        return "No test-set graph penalty was recorded."
    reference = means[means.index.get_level_values("method") == baseline]
    parts = []
    for (method, lam), value in means.items():
        text = f"{method} {value:.3g}" if lam == "0" else f"{method} (λ={lam}) {value:.3g}"
        if len(reference) == 1 and method != baseline and reference.iloc[0] > 0:
            change = 100.0 * (value / reference.iloc[0] - 1.0)
            text += f" ({change:+.0f}% vs {baseline})"
        parts.append(text)
    return "Mean test-set graph penalty (EG), lowest first: " + ", ".join(parts) + "."


def _planted_sentence(planted: str, table) -> str:
    parts = []
    for rec in table.to_dict(orient="records"):
        label = rec["method"] if str(rec["lambda"]) == "0" else \
            f"{rec['method']} (λ={rec['lambda']})"
        parts.append(f"{label}: top in {rec['seeds_at_top']}/{rec['n_seeds']} seeds")
    return f"Planted pathway {planted}: " + "; ".join(parts) + "."


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


if __name__ == "__main__":  # pragma: no cover - exercised through the workflow
    command(prog_name="aprior report")
