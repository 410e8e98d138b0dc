"""``aprior graph``: coverage statistics, the low-coverage warning and --feature-edges."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
from click.testing import CliRunner

from aprior_cli.cli.main import cli
from aprior_cli.io.graph_npz import load_graph


def inputs(d):
    (d / "entrez.txt").write_text("1\t2\n2\t3\n10\t11\n")            # Entrez ids
    (d / "symbols.txt").write_text("D\tE\nE\tF\nA\tF\n")             # already symbols
    pd.DataFrame({"entrezgene_id": [1.0, 2.0, 3.0, np.nan],
                  "external_gene_name": ["A", "B", "C", "Q"]}).to_csv(d / "map.tsv", sep="\t",
                                                                        index=False)
    (d / "features.txt").write_text("".join(f"{g}\n" for g in "ABCDEFGHIJ"))


def run(args):
    return CliRunner().invoke(cli, ["graph", *map(str, args)])


def test_mapped_and_feature_edges_merge_and_coverage_is_recorded(tmp_path):
    inputs(tmp_path)
    out = tmp_path / "g.npz"
    res = run(["--edges", tmp_path / "entrez.txt", "--mapping", tmp_path / "map.tsv",
               "--map-from", "entrezgene_id", "--map-to", "external_gene_name",
               "--feature-edges", tmp_path / "symbols.txt", "--features",
               tmp_path / "features.txt", "-o", out])
    assert res.exit_code == 0, res.output
    w = pd.DataFrame(load_graph(out).adjacency.toarray(), index=list("ABCDEFGHIJ"),
                     columns=list("ABCDEFGHIJ"))
    edges = {(i, j) for i in w.index for j in w.columns if i < j and w.loc[i, j]}
    assert edges == {("A", "B"), ("B", "C"), ("D", "E"), ("E", "F"), ("A", "F")}
    stats = json.loads((tmp_path / "g.stats.json").read_text())
    assert stats["graph_coverage"] == 0.6 and stats["graph_components"] == 1
    assert stats["graph_isolated"] == 4 and stats["edges_read"] == 6
    assert stats["inputs"]["feature_edges"][0]["file"].endswith("symbols.txt")
    assert "coverage 60.0 % (6 of 10 features with an edge), 1 components, 4 isolated" \
        in res.output
    assert "covers only" not in res.output


def test_low_coverage_warns_in_one_line(tmp_path):
    inputs(tmp_path)
    res = run(["--feature-edges", tmp_path / "symbols.txt", "--features",
               tmp_path / "features.txt", "-o", tmp_path / "g.npz"])
    assert res.exit_code == 0, res.output
    warnings = [ln for ln in res.output.splitlines() if "warning:" in ln]
    assert len(warnings) == 1 and "covers only 4 of 10 features (40.0 % have an edge" \
        in warnings[0]


def test_bad_inputs(tmp_path):
    inputs(tmp_path)
    for args, message in [
        (["--features", tmp_path / "features.txt"], "give at least one --edges or --feature-edges"),
        (["--feature-edges", tmp_path / "symbols.txt", "--mapping", tmp_path / "map.tsv",
          "--map-from", "entrezgene_id", "--map-to", "external_gene_name", "--features",
          tmp_path / "features.txt"], "--mapping translates --edges files; none given"),
        (["--feature-edges", tmp_path / "nope.txt", "--features", tmp_path / "features.txt"],
         "nope.txt: file not found"),
    ]:
        res = run([*args, "-o", tmp_path / "g.npz"])
        lines = [ln for ln in res.output.strip().splitlines() if ln]
        assert res.exit_code != 0 and len(lines) == 1 and message in lines[0], res.output
        assert not (tmp_path / "g.npz").exists()
    proc = subprocess.run([sys.executable, "-m", "aprior_cli", "graph", "--features",
                           str(tmp_path / "features.txt"), "-o", str(tmp_path / "g.npz")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and proc.stderr.strip().count("\n") == 0
    assert not (tmp_path / "g.npz").exists()


def test_train_records_graph_coverage(tmp_path):
    inputs(tmp_path)
    rng = np.random.default_rng(0)
    genes = list("ABCDEFGHIJ")
    expr = pd.DataFrame(rng.normal(size=(40, 10)), columns=genes,
                        index=pd.Index([f"s{i}" for i in range(40)], name="sample"))
    expr.to_csv(tmp_path / "expr.tsv", sep="\t")
    pd.DataFrame({"sample": expr.index, "target": expr["A"] + expr["B"]}).to_csv(
        tmp_path / "labels.tsv", sep="\t", index=False)
    assert run(["--feature-edges", tmp_path / "symbols.txt", "--expression",
                tmp_path / "expr.tsv", "-o", tmp_path / "g.npz"]).exit_code == 0
    out = tmp_path / "run"
    res = CliRunner().invoke(cli, ["train", "--expression", str(tmp_path / "expr.tsv"),
                                   "--labels", str(tmp_path / "labels.tsv"), "--prior", "graph",
                                   "--graph", str(tmp_path / "g.npz"), "--lambda", "1",
                                   "--hidden", "4", "--epochs", "2", "--batch-size", "8",
                                   "--eval-n-samples", "5", "--device", "cpu", "-o", str(out)])
    assert res.exit_code == 0, res.output
    m = json.loads((out / "metrics.json").read_text())
    assert (m["graph_coverage"], m["graph_components"], m["graph_isolated"]) == (0.4, 1, 6)
    assert any("covers only 4 of 10 features" in w for w in m["warnings"])
    assert "graph: coverage 40.0 %" in res.output
