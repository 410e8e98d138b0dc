"""`aprior report`: the page answers in order -- headline, genes, pathways, diagnostics."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from click.testing import CliRunner
from scipy import stats

from aprior_cli.cli.report import command, run_key
from aprior_cli.consensus import consensus_ranking
from aprior_cli.graph import GeneGraph
from aprior_cli.io.consensus import write_consensus_files
from aprior_cli.io.graph_npz import save_graph

PLANTED = "PATHWAY_007"
GENES = [f"G{i}" for i in range(12)]
DRIVERS = ["G0", "G1", "G2"]


# --- the single-run layout the current workflow passes ----------------------------------------

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
                                 "driver_module": "MODULE_01", "driver_genes": DRIVERS,
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
    assert run_key("results/select/graph_eg/seed_3") == ("graph_eg", "", "3")


def test_single_run_layout_still_gives_headline_and_positions(results):
    tmp_path, runs, tables, truth, compare = results
    out = tmp_path / "report" / "report.html"
    result = CliRunner().invoke(command, args_for(runs, tables, truth, compare, out))
    assert result.exit_code == 0, result.output
    page = out.read_text().replace("<wbr>", "")  # line-break hints in long headers
    assert "Comparison of methods" in page and "Top pathways" in page
    assert "Decoy: PATHWAY_001 shares part of the driver" in page
    header = re.search(r"<table><thead><tr>(.*?)</tr>", page).group(1)
    assert "test_graph_penalty_eg" in header and "test_r2" in header
    for method in ("baseline", "graph_eg"):
        assert f"<tr><td>{method}</td>" in page
    # the headline: -79 % graph penalty vs baseline, paired t over the 2 seeds, by scipy
    t = stats.ttest_rel([1.0, 2.0], [5.0, 7.0])
    assert f"{100 * (1.5 / 6 - 1):+.0f} % (p = {t.pvalue:.2g})" in page
    assert "not scale-free" in page  # penalty, not roughness: said so
    # mean ± sd of every metric per method
    assert "<td>6 ± 1.4</td>" in page and "<td>1.5 ± 0.71</td>" in page
    # the planted pathway in single runs: top in both graph_eg seeds, second in baseline's
    assert "baseline: top in 0/2 seeds; graph_eg (λ=1): top in 2/2 seeds" in page
    assert "<td>2, 2</td>" in page and "<td>1, 1</td>" in page
    assert "Paired tests between methods" in page and "<td>0.03</td>" in page
    assert page.count("data:image/png;base64,") == 2  # smoothness and R²
    assert "written to" in result.output


def test_report_without_truth_or_enrichment(results):
    tmp_path, runs, _, _, _ = results
    out = tmp_path / "r.html"
    result = CliRunner().invoke(command, [str(runs[0]), "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text().replace("<wbr>", "")
    assert "Top pathways" not in page and "Comparison of methods" in page


# --- the findings layout: selections per seed, consensus per method, its enrichment ----------

def _write_run(path, seed, lam, r2, rough, **extra):
    path.mkdir(parents=True)
    (path / "COMPLETE").write_text("aprior\n")
    (path / "metrics.json").write_text(json.dumps({
        "task": "regression", "prior": extra.pop("prior", "graph"), "seed": seed,
        "lambda": lam, "test_r2": r2, "test_graph_roughness_eg": rough,
        "test_graph_penalty_eg": 10 * rough, **extra}))
    pd.DataFrame({"sample": ["a", "b"], "split": ["train", "test"]}).to_csv(
        path / "splits.tsv", sep="\t", index=False)


def _write_selection(sel, chosen, lam, rule="one-se"):
    sel.mkdir(parents=True, exist_ok=True)
    (sel / "selection.json").write_text(json.dumps({
        "rule": rule, "chosen": chosen, "chosen_lambda": lam,
        "candidates": [{"run": chosen, "lambda": lam}]}))


def _consensus(outdir, importances, name):
    res = consensus_ranking(np.asarray(importances), GENES, [f"seed_{i}" for i in range(3)],
                            top_k=3, mc_stderr=0.01 * np.asarray(importances))
    runs = [{"name": f"seed_{i}", "seed": i, "relative_completeness_residual": 0.05 + i / 100}
            for i in range(3)]
    outdir.mkdir(parents=True, exist_ok=True)
    write_consensus_files(outdir, res, {"name": name, **res.summary, "runs": runs})


@pytest.fixture
def findings(tmp_path):
    """3 seeds x (baseline, graph_eg) with selections, consensus folders and prerank tables."""
    args = []
    r2 = {"baseline": [0.50, 0.55, 0.60], "graph_eg": [0.52, 0.56, 0.63]}
    rough = {"baseline": [0.30, 0.32, 0.31], "graph_eg": [0.10, 0.12, 0.09]}
    lams = [1.0, 10.0, 1.0]
    for method in ("baseline", "graph_eg"):
        for seed in range(3):
            if method == "baseline":
                run = tmp_path / "runs" / method / f"seed_{seed}"
                _write_run(run, seed, 0.0, r2[method][seed], rough[method][seed], prior="none")
            else:
                sel = tmp_path / "select" / method / f"seed_{seed}"
                lam = lams[seed]
                _write_run(sel / f"lambda_{lam:g}", seed, lam, r2[method][seed],
                           rough[method][seed])
                _write_selection(sel, f"lambda_{lam:g}", lam)
                run = sel
            args += ["--run", f"{method}={run}"]
    rng = np.random.default_rng(0)
    base = rng.uniform(0.1, 1.0, size=(3, 12))
    strong = base.copy()
    strong[:, :3] += 3.0  # graph_eg puts the drivers first in every run
    _consensus(tmp_path / "cons" / "baseline", base, "baseline")
    _consensus(tmp_path / "cons" / "graph_eg", strong, "graph_eg")
    for method, q in (("baseline", [0.4, 0.6, 0.9]), ("graph_eg", [0.001, 0.2, 0.7])):
        table = tmp_path / "enrich" / method / "ranking.prerank.tsv"
        table.parent.mkdir(parents=True)
        pd.DataFrame({"library": "p", "term": [PLANTED, "PATHWAY_001", "PATHWAY_002"],
                      "es": 0.5, "nes": [2.0, 1.2, -0.5], "pvalue": q, "fdr_qvalue": q,
                      "leading_edge_size": [3, 2, 1],
                      "leading_edge": ["G0;G1;G2", "G3;G0", "G9"]}).to_csv(table, sep="\t",
                                                                           index=False)
        args += ["--consensus", f"{method}={tmp_path / 'cons' / method}",
                 "--pathways", f"{method}={table}"]
    w = np.zeros((12, 12))
    w[0, 1] = w[1, 0] = w[1, 2] = w[2, 1] = w[3, 4] = w[4, 3] = 1.0
    save_graph(tmp_path / "graph.npz", GeneGraph(GENES, sp.csr_matrix(w),
                                                 sp.csr_matrix(np.diag(w.sum(1)) - w), False))
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps({"seed": 0, "n_samples": 9, "n_genes": 12, "task": "regression",
                                 "driver_genes": DRIVERS, "driver_pathway": PLANTED}))
    args += ["--graph", str(tmp_path / "graph.npz"), "--truth", str(truth)]
    return tmp_path, args


def _sections(page):
    return re.findall(r"<h2>(.*?)</h2>", page)


def test_findings_page_answers_in_order(findings):
    tmp_path, args = findings
    out = tmp_path / "report.html"
    result = CliRunner().invoke(command, [*args, "--top-genes", "5", "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text().replace("<wbr>", "")
    assert _sections(page) == ["Overview", "1. Headline: each method against the baseline",
                               "2. Top genes (consensus over runs)",
                               "3. Pathways (enrichment of the consensus ranking)",
                               "4. Diagnostics"]
    # (a) accuracy change with its paired test; the scale-free roughness is preferred
    t_acc = stats.ttest_rel([0.52, 0.56, 0.63], [0.50, 0.55, 0.60])
    assert f"+0.020 (p = {t_acc.pvalue:.2g};" in page
    t_rough = stats.ttest_rel([0.10, 0.12, 0.09], [0.30, 0.32, 0.31])
    change = 100 * (np.mean([0.10, 0.12, 0.09]) / np.mean([0.30, 0.32, 0.31]) - 1)
    assert f"{change:+.0f} % (p = {t_rough.pvalue:.2g})" in page
    assert "test_graph_roughness_eg (mean ± sd)" in page and "not scale-free" not in page
    assert "λ was chosen inside each seed on the validation split (rule one-se)" in page
    assert "<td>1, 10, 1</td>" in page  # graph_eg's chosen lambdas, seeds 0-2
    # (b) top genes: graph_eg's consensus has the drivers on top, in 3/3 runs' top 3,
    #     with their graph degree and the significant pathway whose leading edge holds them
    genes = page.split("2. Top genes")[1].split("3. Pathways")[0]
    graph_table = genes.split("graph_eg: top 5")[1]
    first = re.search(r"<tbody><tr>(.*?)</tr>", graph_table).group(1)
    assert re.findall(r"<td>(.*?)</td>", first)[:2] in (["1", "G0"], ["1", "G1"], ["1", "G2"])
    assert "<td>3/3</td>" in graph_table
    assert f"<td>{PLANTED}</td><td>yes</td>" in graph_table
    assert "<td>2</td>" in graph_table  # G1 has two neighbours
    # (c) pathways: graph_eg has one significant term (marked), baseline none (said so)
    paths = page.split("3. Pathways")[1].split("4. Diagnostics")[0]
    assert "1 of 3 pathways pass q &lt; 0.05 in the GSEA prerank of graph_eg" in paths
    assert ("No pathway passes the FDR threshold (q &lt; 0.05) in the GSEA prerank of "
            "baseline&#x27;s consensus ranking: none of the 3 sets tested is a finding.") in paths
    assert "none significant, so none is a finding" in paths
    assert paths.count("<td>✓</td>") == 1
    # (d) diagnostics: lambda per seed, graph coverage, completeness, MC share, truth
    diag = page.split("4. Diagnostics")[1]
    assert "<td>graph_eg</td><td>one-se</td><td>1</td><td>10</td><td>1</td>" in diag
    assert "<td>baseline</td><td>fixed</td><td>0</td><td>0</td><td>0</td>" in diag
    assert "Graph coverage 41.7 % of its genes" in diag  # 5 of 12 genes have an edge
    assert "2 connected component(s)" in diag
    assert "0.06; 0.07" in diag  # relative completeness residual: mean; max
    assert "≤ " in diag and "Monte-Carlo share" in diag
    assert "<td>3/3</td>" in diag and "1 of 3" in diag  # drivers in top 3, planted rank 1


def test_graph_keys_from_metrics_are_shown_when_present(findings, tmp_path):
    _, args = findings
    for metrics in (tmp_path / "select").rglob("metrics.json"):
        data = json.loads(metrics.read_text())
        data.update(graph_coverage=0.9, graph_components=4, graph_isolated=7,
                    dapr_g_spearman=0.5)
        metrics.write_text(json.dumps(data))
    out = tmp_path / "keys.html"
    result = CliRunner().invoke(command, [*args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text().replace("<wbr>", "")
    assert ("<th>coverage (genes with an edge)</th><th>components</th><th>isolated genes</th>"
            in page)
    assert "Graph coverage 90.0 % of the model" in page
    assert "dapr_g_spearman" in page


@pytest.mark.parametrize("case", ["no_metrics", "bad_layout", "no_term", "bad_json",
                                  "bad_named", "bad_consensus", "bad_pathways", "no_graph"])
def test_bad_input_one_line_no_output(results, findings, case):
    tmp_path, runs, tables, truth, compare = results
    args = args_for(runs, tables, truth, compare, tmp_path / "report.html")
    if case == "no_metrics":
        (runs[1] / "metrics.json").unlink()
    elif case == "bad_layout":
        odd = tmp_path / "elsewhere"
        odd.mkdir()
        (odd / "metrics.json").write_text("{}")
        args.insert(0, str(odd))
    elif case == "no_term":
        pd.DataFrame({"x": [1]}).to_csv(tables[0], sep="\t", index=False)
    elif case == "bad_json":
        truth.write_text("{not json")
    elif case == "bad_named":
        args += ["--run", "baseline"]
    elif case == "bad_consensus":
        args += ["--consensus", f"baseline={tmp_path}"]
    elif case == "bad_pathways":
        args += ["--pathways", f"baseline={tables[0]}"]
        pd.DataFrame({"term": ["A"], "nes": [1.0]}).to_csv(tables[0], sep="\t", index=False)
    else:
        args += ["--graph", str(tmp_path / "missing.npz")]
    out = tmp_path / "report.html"
    result = CliRunner().invoke(command, args)
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
    bad = subprocess.run([sys.executable, "-m", "aprior_cli", "report", "--run", "x=nowhere",
                          "-o", str(tmp_path / "bad.html")], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    assert not (tmp_path / "bad.html").exists()


# --- the page in a real browser ----------------------------------------------------------------

MEASURE = """<script>
window.addEventListener('load', function () {
  var right = 0, n = 0;
  document.querySelectorAll('table, img, p, h2').forEach(function (el) {
    right = Math.max(right, el.getBoundingClientRect().right); n += 1; });
  var d = document.createElement('pre'); d.id = 'aprior-measure';
  d.textContent = 'MEASURE scroll=' + document.documentElement.scrollWidth + ' right=' +
                  Math.ceil(right) + ' inner=' + window.innerWidth + ' n=' + n + ' END';
  document.body.appendChild(d);
});
</script>"""


def _chromium():
    import shutil

    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.skipif(_chromium() is None, reason="no headless chromium installed")
def test_page_fits_a_1280_px_window_in_a_real_browser(findings, tmp_path):
    _, args = findings
    # stress the widths: long pathway names, long leading edges, many methods' columns
    for table in (tmp_path / "enrich").rglob("*.prerank.tsv"):
        t = pd.read_csv(table, sep="\t")
        t.loc[1, "term"] = "HALLMARK_EPITHELIAL_MESENCHYMAL_TRANSITION_AND_A_VERY_LONG_SUFFIX"
        t.loc[0, "leading_edge"] = ";".join(GENES)
        t.to_csv(table, sep="\t", index=False)
    # ... and many long-named metrics (the comparison table gets a column for each)
    for metrics in tmp_path.rglob("metrics.json"):
        data = json.loads(metrics.read_text())
        data.update({name: 0.123456 for name in (
            "test_graph_roughness_eg", "test_graph_roughness_grad", "test_graph_penalty_eg",
            "test_graph_penalty_grad", "test_gini_eg", "test_prior_eg", "test_prior_grad",
            "test_mse", "test_mse_train_mean", "test_loss", "best_epoch", "dapr_g_spearman")})
        metrics.write_text(json.dumps(data))
    out = tmp_path / "wide.html"
    result = CliRunner().invoke(command, [*args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    probe = tmp_path / "probe.html"
    probe.write_text(out.read_text().replace("</body>", MEASURE + "</body>"))
    proc = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,900", "--dump-dom",
         probe.as_uri()], capture_output=True, text=True, timeout=120)
    found = re.search(r"MEASURE scroll=(\d+) right=(\d+) inner=(\d+) n=(\d+) END", proc.stdout)
    assert found, proc.stderr[-2000:]
    scroll, right, inner, n = map(int, found.groups())
    assert inner == 1280 and n > 10
    assert scroll <= 1280 and right <= 1280, (scroll, right)
