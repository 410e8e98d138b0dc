"""The findings chain on real data: GDSC Olaparib LN_IC50, HumanNet, MSigDB Hallmark.

preprocess -> graph -> per seed: train (baseline; graph prior with a lambda grid chosen on
validation) -> attribute --stderr -> per method: consensus -> enrich -> report. The report must
show the gene table, the pathway table with q-values, and say "no pathway passes" in words for
a method where none does. The assertions do not depend on how the inputs were made.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from click.testing import CliRunner

from aprior_cli.cli.main import cli

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

DRUG = "Olaparib"
SEEDS = (0, 1, 2)
METHODS = ("baseline", "graph_eg")


@pytest.fixture(scope="module")
def gdsc_inputs_built_with_a_pandas_pivot(shared_data, tmp_path_factory):
    """counts.tsv (genes x cell lines) and labels.tsv (sample, target = LN_IC50 of DRUG).

    Built here with a pandas pivot of the long RNA-seq table (the provider's FPKM) and a
    filter of the dose-response table, until `aprior preprocess`/`train` read long tables and
    named label columns themselves (then this fixture is replaced by those options).
    """
    d = tmp_path_factory.mktemp("gdsc")
    long = pd.read_csv(shared_data / "gdsc" / "GDSC_rnaseq_sanger.from_rda.csv.gz")
    wide = long.pivot_table(index="gene_symbol", columns="model_id", values="fpkm",
                            aggfunc="mean")
    resp = pd.read_csv(shared_data / "gdsc" / "raw" / "GDSC2_fitted_dose_response.tsv",
                       sep="\t")
    resp = resp[resp["DRUG_NAME"] == DRUG].groupby("SANGER_MODEL_ID")["LN_IC50"].mean()
    lines = sorted(set(wide.columns) & set(resp.index))
    wide[lines].rename_axis("gene").to_csv(d / "counts.tsv", sep="\t")
    pd.DataFrame({"sample": lines, "target": resp[lines].to_numpy()}).to_csv(
        d / "labels.tsv", sep="\t", index=False)
    return d


def invoke(args):
    res = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res


@pytest.fixture(scope="module")
def report(gdsc_inputs_built_with_a_pandas_pivot, shared_data):
    d = gdsc_inputs_built_with_a_pandas_pivot
    invoke(["preprocess", d / "counts.tsv", "--genes-as-rows", "--normalization", "none",
            "--no-biotype-filter", "-o", d / "expr.tsv", "-q"])
    invoke(["graph", "--edges", shared_data / "humannet" / "HumanNet90_Symbol.txt",
            "--expression", d / "expr.tsv", "-o", d / "graph.npz", "-q"])
    common = ["--expression", d / "expr.tsv", "--labels", d / "labels.tsv", "--split", "random",
              "--hidden", 16, "--epochs", 20, "--patience", 5, "--batch-size", 16,
              "--eval-n-samples", 10, "--eval-graph", d / "graph.npz", "--device", "cpu",
              "--threads", 1, "-q"]
    report_args = []
    for seed in SEEDS:
        invoke(["train", *common, "--seed", seed, "-o", d / "runs" / "baseline" / f"seed_{seed}"])
        invoke(["train", *common, "--seed", seed, "--prior", "graph", "--graph",
                d / "graph.npz", "--lambda", "1,10", "--select", "best", "-o",
                d / "runs" / "graph_eg" / f"seed_{seed}"])
        for method in METHODS:
            run = d / "runs" / method / f"seed_{seed}"
            invoke(["attribute", run, "--expression", d / "expr.tsv", "--n-samples", 20,
                    "--stderr", "-o", d / "attr" / method / f"seed_{seed}", "-q"])
            report_args += ["--run", f"{method}={run}"]
    gmt = shared_data / "gsea" / "gmt" / "h.all.v7.0.symbols.gmt"
    for method in METHODS:
        invoke(["consensus", *[d / "attr" / method / f"seed_{s}" for s in SEEDS], "--name",
                method, "-o", d / "cons" / method, "-q"])
        invoke(["enrich", d / "cons" / method / "ranking.tsv", "--gmt", gmt, "--permutations",
                200, "--min-size", 5, "--top-k", 50, "-o", d / "enrich" / method, "-q"])
        report_args += ["--consensus", f"{method}={d / 'cons' / method}",
                        "--pathways", f"{method}={d / 'enrich' / method / 'ranking.prerank.tsv'}",
                        "--pathways", f"{method}={d / 'enrich' / method / 'ranking.ora.tsv'}"]
    out = d / "report.html"
    invoke(["report", *report_args, "--graph", d / "graph.npz", "-o", out, "-q"])
    prerank = {m: pd.read_csv(d / "enrich" / m / "ranking.prerank.tsv", sep="\t")
               for m in METHODS}
    return out.read_text(), prerank


def test_gdsc_report_shows_genes_pathways_and_says_when_none_passes(report):
    page, prerank = report
    genes = page.split("2. Top genes")[1].split("3. Pathways")[0]
    for method in METHODS:
        caption = re.search(rf"{method}: top (\d+) of (\d+) genes over 3 runs", genes)
        assert caption and int(caption.group(1)) == 20
    header = re.search(r"<table><thead><tr>(.*?)</tr>", genes).group(1)
    assert "<th>gene</th>" in header and "in top-50 of single runs" in header
    assert "graph degree" in header and "in a significant pathway" in header
    paths = page.split("3. Pathways")[1].split("4. Diagnostics")[0]
    assert paths.count("<th>q-value</th>") == 2 * len(METHODS)  # prerank + ORA per method
    for method in METHODS:
        q = prerank[method]["fdr_qvalue"]
        nes = prerank[method]["nes"]
        passes = int(((q < 0.05) & (nes > 0)).sum())
        if passes == 0:
            assert (f"No pathway passes the FDR threshold (q &lt; 0.05) in the GSEA prerank "
                    f"of {method}&#x27;s consensus ranking") in paths
        else:
            assert f"{passes} of {len(q)} pathways pass q &lt; 0.05 in the GSEA prerank" in paths
    diag = page.split("4. Diagnostics")[1]
    assert "Graph coverage" in diag and "relative completeness residual" in diag
    assert "<td>graph_eg</td><td>best</td>" in diag  # lambda chosen per seed, on validation
