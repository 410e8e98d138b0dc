"""`aprior report` (python -m aprior_cli.cli.report): the workflow's HTML report."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

from aprior_cli.cli.report import command, run_key

PLANTED = "PATHWAY_007"


@pytest.fixture
def results(tmp_path):
    """A miniature workflow result tree: 2 methods x 2 seeds, metrics and prerank tables."""
    runs, tables = [], []
    penalties = {"baseline": [5.0, 7.0], "graph_eg": [1.0, 2.0]}
    for method, lam in (("baseline", "0"), ("graph_eg", "1")):
        for seed in (0, 1):
            run = tmp_path / "results" / "runs" / method / f"lambda_{lam}" / f"seed_{seed}"
            run.mkdir(parents=True)
            (run / "metrics.json").write_text(json.dumps({
                "task": "regression", "prior": "graph", "seed": seed, "test_r2": 0.5 + seed / 10,
                "test_graph_penalty_eg": penalties[method][seed], "stopped_early": True}))
            runs.append(run)
            enrich = tmp_path / "results" / "enrich" / method / f"lambda_{lam}" / f"seed_{seed}"
            enrich.mkdir(parents=True)
            terms = ["PATHWAY_001", PLANTED, "PATHWAY_002"] if method == "baseline" else \
                [PLANTED, "PATHWAY_001", "PATHWAY_002"]
            table = enrich / "ranking.prerank.tsv"
            pd.DataFrame({"library": "pathways", "term": terms, "nes": [2.0, 1.5, 1.0],
                          "fdr_qvalue": [0.0, 0.01, 0.5]}).to_csv(table, sep="\t", index=False)
            tables.append(table)
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps({"seed": 0, "n_samples": 10, "n_genes": 5, "task": "regression",
                                 "driver_module": "MODULE_01", "driver_genes": ["G1", "G2"],
                                 "driver_pathway": PLANTED,
                                 "overlap_decoy_pathway": "PATHWAY_001"}))
    compare = tmp_path / "results" / "compare"
    compare.mkdir()
    pd.DataFrame({"metric": ["test_r2"], "p_value": [0.03]}).to_csv(compare / "paired_tests.tsv",
                                                                     sep="\t", index=False)
    return tmp_path, runs, tables, truth, compare


def args_for(runs, tables, truth, compare, out):
    args = [str(run) for run in runs]
    for table in tables:
        args += ["--enrich", str(table)]
    return args + ["--truth", str(truth), "--compare", str(compare), "-o", str(out)]


def test_run_key_reads_the_workflow_layout():
    assert run_key("results/runs/graph_eg/lambda_0.1/seed_2") == ("graph_eg", "0.1", "2")
    assert run_key("x/enrich/dapr/lambda_1/seed_0/ranking.prerank.tsv") == ("dapr", "1", "0")


def test_report_has_table_plots_and_planted_pathway(results):
    tmp_path, runs, tables, truth, compare = results
    out = tmp_path / "report" / "report.html"
    result = CliRunner().invoke(command, args_for(runs, tables, truth, compare, out))
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert "Comparison of methods" in page and "Top pathways" in page
    assert "Decoy: PATHWAY_001 shares part of the driver" in page
    # the comparison table: mean ± sd of the graph penalty per method
    assert "<td>6 ± 1.4</td>" in page and "<td>1.5 ± 0.71</td>" in page
    assert "lowest first: graph_eg (λ=1) 1.5 (-75% vs baseline), baseline 6." in page
    # the planted pathway: top in both graph_eg seeds, second in both baseline seeds
    assert "baseline: top in 0/2 seeds; graph_eg (λ=1): top in 2/2 seeds" in page
    assert "<td>2, 2</td>" in page and "<td>1, 1</td>" in page
    assert page.count('<tr class="hit">') == 2  # its row in each method's top list
    # compare's table is included, plots are embedded
    assert "Paired tests between methods" in page and "<td>0.03</td>" in page
    assert page.count("data:image/png;base64,") == 2  # graph penalty and R²
    assert "written to" in result.output


def test_report_without_truth_or_enrichment(results):
    tmp_path, runs, _, _, _ = results
    out = tmp_path / "r.html"
    result = CliRunner().invoke(command, [str(runs[0]), "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert "Top pathways" not in page and "Comparison of methods" in page


@pytest.mark.parametrize("case", ["no_metrics", "bad_layout", "no_term", "bad_json"])
def test_bad_input_one_line_no_output(results, case):
    tmp_path, runs, tables, truth, compare = results
    if case == "no_metrics":
        (runs[1] / "metrics.json").unlink()
    elif case == "bad_layout":
        odd = tmp_path / "elsewhere"
        odd.mkdir()
        (odd / "metrics.json").write_text("{}")
        runs = [*runs, odd]
    elif case == "no_term":
        pd.DataFrame({"x": [1]}).to_csv(tables[0], sep="\t", index=False)
    elif case == "bad_json":
        truth.write_text("{not json")
    out = tmp_path / "report.html"
    result = CliRunner().invoke(command, args_for(runs, tables, truth, compare, out))
    assert result.exit_code != 0
    lines = [line for line in result.output.strip().splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.output
    assert not out.exists()


def test_runs_as_a_module_in_a_subprocess(results):
    tmp_path, runs, tables, truth, compare = results
    out = tmp_path / "sub.html"
    proc = subprocess.run([sys.executable, "-m", "aprior_cli.cli.report",
                           *args_for(runs, tables, truth, compare, out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert PLANTED in out.read_text()
