"""docs/own-data.md: every shell block is executed, exactly as written.

Section 1 (GDSC) runs on the real files in ``../shared/data`` -- the chain the issue asked for,
with no intermediate file written by the test: long counts, one drug of the GDSC2 response
table, HumanNet + the cancer subnetwork, Hallmark; the default baseline must reach a positive
test R². Section 2 (Beat AML + HumanBase) runs against a synthetic study in the real file
layouts, placed in an ``aprior fetch`` cache (``conftest.py``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "own-data.md"
SECTIONS = {"gdsc": "### 1. GDSC", "beataml": "### 2. Beat AML",
            "workflow": "### 3. The same GDSC study through the workflow"}


def shell_blocks(text: str) -> list[tuple[str, str]]:
    """(heading of the section, code) of every ```sh block, in order."""
    blocks, heading = [], ""
    for match in re.finditer(r"^(### [^\n]*)$|^```sh\n(.*?)^```", text, flags=re.M | re.S):
        if match.group(1):
            heading = match.group(1)
        else:
            blocks.append((heading, match.group(2)))
    return blocks


def section_code(name: str) -> str:
    code = [c for h, c in shell_blocks(DOC.read_text()) if h.startswith(SECTIONS[name])]
    assert code, f"no shell block under {SECTIONS[name]!r}"
    return "\n".join(code)


def run_doc(code: str, cwd: Path, **env: str) -> float:
    """Run a guide block in ``cwd`` with the environment's ``bin`` first on PATH."""
    environment = dict(os.environ, **env)
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment['PATH']}"
    start = time.perf_counter()
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", code], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return time.perf_counter() - start


def test_every_shell_block_belongs_to_a_tested_section():
    blocks = shell_blocks(DOC.read_text())
    assert len(blocks) == 3
    assert all(any(h.startswith(s) for s in SECTIONS.values()) for h, _ in blocks)
    assert "own-data.md" in (REPO / "README.md").read_text()  # linked from the README


@pytest.mark.realdata
@pytest.mark.slow
def test_gdsc_chain_from_the_guide(shared_data, tmp_path):
    """The guide's GDSC block, then what its report must say (issue 12's real-data report
    test and issue 14's chain with no file written by the test)."""
    seconds = run_doc(section_code("gdsc"), tmp_path, APRIOR_SHARED_DATA=str(shared_data))
    runs = tmp_path / "runs"
    metrics = {}
    for p in runs.rglob("metrics.json"):
        metrics[p.parent.relative_to(runs).as_posix()] = json.loads(p.read_text())
    assert len(metrics) == 3 * (1 + 1 + 3)  # baseline, unscaled, graph prior x 3 lambdas
    for seed in (0, 1, 2):
        base = metrics[f"baseline/seed_{seed}"]
        assert base["test_r2"] > 0, base  # the done-when: a positive test R²
        assert base["target_scaling"]["method"] == "standard"
        assert metrics[f"unscaled/seed_{seed}"]["target_scaling"]["method"] == "none"
        assert base["n_train"] == 54 and base["labels_dropped"] == 877
        assert 0 < base["graph_coverage"] < 0.5 and base["graph_isolated"] > 0
        selection = json.loads((runs / f"graph_eg/seed_{seed}/selection.json").read_text())
        assert selection["rule"] == "one-se" and selection["test_metrics_used_for_choice"] is False
    stats = json.loads((tmp_path / "graph.stats.json").read_text())
    assert stats["graph_coverage"] == metrics["baseline/seed_0"]["graph_coverage"]
    pred = pd.read_csv(tmp_path / "predictions.tsv", sep="\t")
    assert len(pred) == 18 and 0 < pred["prediction"].mean() < 9  # LN_IC50 units
    completeness = json.loads((tmp_path / "attr/baseline/seed_0/completeness.json").read_text())
    assert completeness["attribution_unit"].startswith("target units (LN_IC50")
    check_gdsc_report((tmp_path / "report.html").read_text(), tmp_path)
    summary = {k: round(v["test_r2"], 3) for k, v in sorted(metrics.items())}
    print(f"\nGDSC chain: {seconds:.0f} s; test R²: {summary}; coverage "
          f"{stats['graph_coverage']:.3f}, {stats['graph_components']} components, "
          f"{stats['graph_isolated']} isolated")


def check_gdsc_report(page: str, d: Path) -> None:
    """The gene table, the pathway tables with q-values, and the plain 'no pathway passes'
    sentence wherever none does."""
    methods = ("baseline", "graph_eg")
    genes = page.split("2. Top genes")[1].split("3. Pathways")[0]
    for method in methods:
        caption = re.search(rf"{method}: top (\d+) of (\d+) genes over 3 runs", genes)
        assert caption and int(caption.group(1)) == 20, method
    header = re.search(r"<table><thead><tr>(.*?)</tr>", genes).group(1)
    assert "<th>gene</th>" in header and "in top-50 of single runs" in header
    assert "graph degree" in header and "in a significant pathway" in header
    paths = page.split("3. Pathways")[1].split("4. Diagnostics")[0]
    assert paths.count("<th>q-value</th>") == 2 * len(methods)  # prerank + ORA per method
    for method in methods:
        prerank = pd.read_csv(d / "enrich" / method / "ranking.prerank.tsv", sep="\t")
        q, nes = prerank["fdr_qvalue"], prerank["nes"]
        passes = int(((q < 0.05) & (nes > 0)).sum())
        if passes == 0:
            assert (f"No pathway passes the FDR threshold (q &lt; 0.05) in the GSEA prerank "
                    f"of {method}&#x27;s consensus ranking") in paths
        else:
            assert f"{passes} of {len(q)} pathways pass q &lt; 0.05 in the GSEA prerank" in paths
    diag = page.split("4. Diagnostics")[1]
    assert "Graph coverage" in diag and "relative completeness residual" in diag
    assert "<td>graph_eg</td><td>one-se</td>" in diag  # lambda chosen per seed, on validation


@pytest.mark.slow
def test_beataml_chain_from_the_guide(beataml_cache, tmp_path):
    run_doc(section_code("beataml"), tmp_path, APRIOR_DATA_DIR=str(beataml_cache))
    attr = pd.read_csv(tmp_path / "attr/baseline/lambda_0/seed_0/attributions.tsv", sep="\t",
                       index_col=0)
    assert attr.index.str.contains(r"^BA\d+R\|inhibitor=").all() and attr.index.is_unique
    splits = pd.read_csv(tmp_path / "splits.tsv", sep="\t")
    resp = pd.read_csv(beataml_cache / "beataml2_drug_response" /
                       "beataml_probit_curve_fits_v4_dbgap.txt", sep="\t")
    subject = resp.dropna(subset=["dbgap_rnaseq_sample"]).drop_duplicates(
        "dbgap_rnaseq_sample").set_index("dbgap_rnaseq_sample")["dbgap_subject_id"]
    per_patient = splits.assign(p=splits["sample"].map(subject)).groupby("p")["split"]
    assert (per_patient.nunique() == 1).all()
    m = json.loads((tmp_path / "runs/baseline/lambda_0/seed_0/metrics.json").read_text())
    assert m["n_rows"] > m["n_samples"]  # (specimen, inhibitor) pairs
    assert m["graph_coverage"] > 0.5
    features = (tmp_path / "runs/baseline/lambda_0/seed_0/features.txt").read_text().split()
    assert sum(f.startswith("inhibitor=") for f in features) == 4
    assert (tmp_path / "report.html").is_file()


@pytest.mark.realdata
@pytest.mark.slow
def test_gdsc_through_the_workflow(shared_data, tmp_path):
    """Section 3: the GDSC config of docs/configs through a real Snakemake run (2 methods x
    2 seeds; lists of edge and GMT files, an id mapping, long counts, named label columns)."""
    out = tmp_path / "gdsc run"
    seconds = run_doc(section_code("workflow"), REPO, APRIOR_SHARED_DATA=str(shared_data),
                      OUT=str(out))
    results = out / "results"
    for method in ("baseline", "graph_eg"):
        for seed in (0, 1):
            chosen = json.loads((results / "select" / method / f"seed_{seed}" /
                                 "selection.json").read_text())
            assert chosen["test_metrics_used_for_choice"] is False
        stability = json.loads((results / "consensus" / method / "stability.json").read_text())
        assert stability["n_runs"] == 2
        assert (results / "enrich" / method / "ranking.prerank.tsv").is_file()
    graph = json.loads((results / "graph" / "seed_0" / "graph.stats.json").read_text())
    assert 0 < graph["graph_coverage"] < 0.5  # HumanNet mapped + the cancer subnetwork
    metrics = json.loads((results / "runs" / "baseline" / "lambda_0" / "seed_0" /
                          "metrics.json").read_text())
    assert metrics["labels_dropped"] == 877 and metrics["test_r2"] > 0
    page = (results / "report" / "report.html").read_text()
    assert "4. Diagnostics" in page and "KEGG_" in page and "HALLMARK_" in page
    print(f"\nGDSC workflow: {seconds:.0f} s; baseline seed 0 test R² {metrics['test_r2']:.3f}")
