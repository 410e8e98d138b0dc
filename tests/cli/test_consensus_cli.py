"""`aprior consensus` on a real 5-seed ensemble of the simulated study, then `aprior enrich`."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

from aprior_cli.cli.main import cli
from aprior_cli.io.ranking import read_ranking

#: the module trains a real 5-seed ensemble once (about 15 s on one core)
pytestmark = pytest.mark.slow

SEEDS = (0, 1, 2, 3, 4)
K = 50


def invoke(args):
    res = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory):
    """simulate -> preprocess -> graph -> 5 seeds of the graph prior -> attribute --stderr."""
    d = tmp_path_factory.mktemp("ensemble")
    sim = d / "sim"
    invoke(["simulate", "-o", sim, "--seed", 3, "--n-samples", 160, "--n-genes", 300, "-q"])
    invoke(["preprocess", sim / "counts.tsv", "--genes-as-rows", "--lengths",
            sim / "gene_lengths.tsv", "--annotation", sim / "gene_annotation.tsv", "-o",
            d / "expr.tsv", "-q"])
    invoke(["graph", "--edges", sim / "edges.tsv.gz", "--expression", d / "expr.tsv", "-o",
            d / "graph.npz", "-q"])
    attr = []
    for seed in SEEDS:
        run = d / "runs" / f"seed_{seed}"
        invoke(["train", "--expression", d / "expr.tsv", "--labels", sim / "labels.tsv",
                "--split", "group", "--seed", seed, "--prior", "graph", "--graph",
                d / "graph.npz", "--lambda", 1, "--hidden", 32, "--epochs", 40, "--patience", 8,
                "--batch-size", 32, "--eval-n-samples", 10, "--device", "cpu", "--threads", 1,
                "-o", run, "-q"])
        out = d / "attr" / f"seed_{seed}"
        invoke(["attribute", run, "--expression", d / "expr.tsv", "--n-samples", 50,
                "--stderr", "--seed", seed, "-o", out, "-q"])
        attr.append(out)
    invoke(["consensus", *attr, "--name", "graph_eg", "--top-k", K, "-o", d / "cons"])
    truth = json.loads((sim / "truth.json").read_text())
    return d, attr, truth


def test_consensus_is_more_stable_and_recovers_the_drivers(ensemble):
    d, attr, truth = ensemble
    summary = json.loads((d / "cons" / "stability.json").read_text())
    single = summary["pairwise_top_k_jaccard"]["mean"]
    halves = summary["split_half_top_k_jaccard"]
    assert summary["n_runs"] == 5 and summary["top_k"] == K and summary["n_partitions"] == 10
    # single runs' top 50 overlap less than the consensus of two disjoint half-ensembles
    assert halves > single, (halves, single)
    drivers = set(truth["driver_genes"])
    per_run = [len(set(pd.read_csv(a / "ranking.tsv", sep="\t")["feature"].head(K)) & drivers)
               for a in attr]
    cons = pd.read_csv(d / "cons" / "consensus.tsv", sep="\t")
    consensus_hits = len(set(cons["feature"].head(K)) & drivers)
    assert consensus_hits >= statistics.median(per_run), (consensus_hits, per_run)
    print(f"\ntop-{K} Jaccard: single runs {single:.3f}, half-ensembles {halves:.3f}; "
          f"drivers in top {K}: consensus {consensus_hits}, single runs {per_run}; "
          f"MC share (top {K}) {summary['variance_top_k']['mc_share']:.4f}")


def test_consensus_outputs_and_per_gene_figures(ensemble):
    d, attr, _ = ensemble
    cons = pd.read_csv(d / "cons" / "consensus.tsv", sep="\t")
    assert list(cons["consensus_rank"]) == list(range(1, len(cons) + 1))
    assert cons["consensus_importance"].is_monotonic_decreasing
    assert cons["consensus_importance"].sum() == pytest.approx(1.0)
    assert ((cons["rank_low"] <= cons["rank_mean"]) & (cons["rank_mean"] <= cons["rank_high"])).all()
    assert set(cons["top_k_frequency"].round(6)) <= {0.0, 0.2, 0.4, 0.6, 0.8, 1.0}
    assert (cons["mc_se"] > 0).all()
    # each single run's top-K membership agrees with the frequency column
    tops = [set(pd.read_csv(a / "ranking.tsv", sep="\t")["feature"].head(K)) for a in attr]
    freq = {g: sum(g in t for t in tops) / len(tops) for g in cons["feature"]}
    assert cons.set_index("feature")["top_k_frequency"].to_dict() == pytest.approx(freq)
    summary = json.loads((d / "cons" / "stability.json").read_text())
    assert [r["seed"] for r in summary["runs"]] == list(SEEDS)
    assert all(r["lambda"] == 1.0 for r in summary["runs"])
    assert 0 <= summary["variance_all"]["mc_share"] <= 1
    pairs = pd.read_csv(d / "cons" / "pairwise.tsv", sep="\t")
    assert len(pairs) == 10
    assert pairs["top_k_jaccard"].mean() == pytest.approx(
        summary["pairwise_top_k_jaccard"]["mean"])
    stderr = pd.read_csv(attr[0] / "attributions_stderr.tsv", sep="\t", index_col=0)
    phi = pd.read_csv(attr[0] / "attributions.tsv", sep="\t", index_col=0)
    assert stderr.shape == phi.shape and (stderr.to_numpy() >= 0).all()


def test_enrichment_reads_the_consensus_ranking_unchanged(ensemble):
    d, _, truth = ensemble
    ranking = read_ranking(d / "cons" / "ranking.tsv")
    cons = pd.read_csv(d / "cons" / "consensus.tsv", sep="\t")
    assert list(ranking.index) == list(cons["feature"])
    assert ranking.to_numpy() == pytest.approx(cons["consensus_importance"].to_numpy())
    invoke(["enrich", d / "cons" / "ranking.tsv", "--gmt", d / "sim" / "pathways.gmt",
            "--permutations", 100, "--top-k", K, "--min-size", 5, "-o", d / "enrich", "-q"])
    summary = json.loads((d / "enrich" / "ranking.summary.json").read_text())
    assert summary["n_genes"] == len(cons)
    prerank = pd.read_csv(d / "enrich" / "ranking.prerank.tsv", sep="\t")
    assert {"nes", "fdr_qvalue", "leading_edge_size"} <= set(prerank.columns)
    assert truth["driver_pathway"] in set(prerank["term"])


@pytest.mark.parametrize("case", ["missing", "twice", "negative", "exists"])
def test_bad_input_one_line_nothing_written(ensemble, tmp_path, case):
    d, attr, _ = ensemble
    out = tmp_path / "c"
    args = ["consensus", *map(str, attr[:2]), "-o", str(out)]
    if case == "missing":
        args.insert(1, str(tmp_path / "nowhere"))
    elif case == "twice":
        args.insert(1, str(attr[0]))
    elif case == "negative":
        bad = tmp_path / "bad.tsv"
        bad.write_text("gene\tscore\nG1\t-1\nG2\t2\n")
        args.insert(1, str(bad))
    else:
        out.mkdir()
        (out / "old.txt").write_text("an earlier result\n")
    res = CliRunner().invoke(cli, args)
    assert res.exit_code != 0
    lines = [line for line in res.output.strip().splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("Error:"), res.output
    if case == "exists":
        assert [p.name for p in out.iterdir()] == ["old.txt"]
    else:
        assert not out.exists()
    assert not list(tmp_path.glob(".c.*"))


def test_consensus_in_a_subprocess(ensemble, tmp_path):
    d, attr, _ = ensemble
    proc = subprocess.run([sys.executable, "-m", "aprior_cli", "consensus", str(attr[0]),
                           str(tmp_path / "none"), "-o", str(tmp_path / "c")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stderr.count("\n") <= 1
    assert "ranking file not found" in proc.stderr and not (tmp_path / "c").exists()
