"""``aprior graph`` through click and a real subprocess; bad inputs give one line, no file."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from aprior_cli.cli.main import cli
from aprior_cli.io.graph_npz import load_graph


def write_inputs(folder):
    with gzip.open(folder / "edges.tsv.gz", "wt") as fh:
        fh.write("1\t2\t0.9\n2\t1\t0.4\n2\t3\t0.05\n3\t4\t0.3\n4\t5\t0.7\n5\t5\t0.9\n6\t1\t0.8\n")
    (folder / "more.txt").write_text("1\t4\n")
    pd.DataFrame({"entrez": ["1", "2", "3", "4", "5", "5", "6", "7"],
                  "symbol": ["A", "B", "C", "D", "E", "E2", "A", "Z"]}).to_csv(
        folder / "map.tsv", sep="\t", index=False)
    (folder / "features.txt").write_text("A\nB\nC\nD\nE\nF\n")
    pd.DataFrame(np.zeros((2, 4)), index=["s1", "s2"], columns=["B", "D", "E", "A"]).rename_axis(
        "sample").to_csv(folder / "expr.tsv", sep="\t")


def run(args):
    return CliRunner().invoke(cli, ["graph", *map(str, args)])


def test_graph_with_mapping(tmp_path):
    write_inputs(tmp_path)
    res = run(["--edges", tmp_path / "edges.tsv.gz", "--edges", tmp_path / "more.txt",
               "--mapping", tmp_path / "map.tsv", "--map-from", "entrez", "--map-to", "symbol",
               "--features", tmp_path / "features.txt", "-o", tmp_path / "g.npz"])
    assert res.exit_code == 0, res.output
    graph = load_graph(tmp_path / "g.npz")
    assert graph.features == ["A", "B", "C", "D", "E", "F"] and not graph.normalized
    w = pd.DataFrame(graph.adjacency.toarray(), index=graph.features, columns=graph.features)
    # 1-2 max(0.9, 0.4); 6->A merges with 1->A: A-A? no: 6-1 maps to A-A, a self-loop
    expected = {("A", "B"): 0.9, ("C", "D"): 0.3, ("D", "E"): 0.7, ("A", "D"): 1.0}
    got = {(i, j): w.loc[i, j] for i in w.index for j in w.columns if i < j and w.loc[i, j]}
    assert got == expected
    np.testing.assert_allclose(graph.laplacian.toarray(), np.diag(w.sum(1)) - w.to_numpy())
    stats = json.loads((tmp_path / "g.stats.json").read_text())
    assert stats["edges_read"] == 8 and stats["edges_below_threshold"] == 1
    assert stats["mapping"]["one_to_many_ids"] == 1          # 5 -> E, E2
    assert stats["mapping"]["many_to_one_targets"] == 1      # 1, 6 -> A
    assert stats["build"]["self_loops"] == 2                 # 5-5 (E-E), 6-1 (A-A)
    assert stats["graph"]["features_with_edge"] == 5
    assert stats["graph"]["fraction_without_edge"] == pytest.approx(1 / 6)
    assert stats["graph"]["connected_components"] == 1
    assert "4 edges over 5 of 6 features" in res.output


def test_expression_features_normalized_and_random_subprocess(tmp_path):
    write_inputs(tmp_path)
    base = [sys.executable, "-m", "aprior_cli", "graph", "--edges", str(tmp_path / "edges.tsv.gz"),
            "--mapping", str(tmp_path / "map.tsv"), "--map-from", "entrez", "--map-to", "symbol",
            "--expression", str(tmp_path / "expr.tsv"), "--threshold", "0.2", "-q"]
    proc = subprocess.run([*base, "--normalized", "-o", str(tmp_path / "n.npz")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    graph = load_graph(tmp_path / "n.npz")
    assert graph.features == ["B", "D", "E", "A"] and graph.normalized
    lap = graph.laplacian.toarray()
    np.testing.assert_allclose(np.diag(lap), [1, 1, 1, 1])
    np.testing.assert_allclose(lap[1, 2], -0.7 / np.sqrt(0.7 * 0.7))  # D-E; D has only E
    proc = subprocess.run([*base, "--random", "same-edges", "--seed", "3",
                           "-o", str(tmp_path / "r.npz")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    stats = json.loads((tmp_path / "r.stats.json").read_text())
    assert stats["random"] == {"kind": "same-edges", "seed": 3}
    assert stats["graph"]["edges"] == stats["real_graph"]["edges"] == 2


@pytest.mark.parametrize("case, message", [
    ("wrong_columns", "bad.tsv: line 2: expected 3 tab-separated columns, found 4"),
    ("no_overlap", "no edge has both ends among the 6 features"),
    ("mapped_no_overlap", "no edge has both ends among the 2 features (10 edges after"),
    ("mapping_wrong_way", "--mapping: no edge id is found in column 'symbol'"),
    ("missing_edges", "nope.tsv: file not found"),
    ("missing_features", "nofeat.txt: file not found"),
    ("bad_column", "--map-from: "),
    ("no_threshold_edge", "no edge has weight >= threshold"),
    ("not_npz", "must end in .npz"),
])
def test_bad_inputs(tmp_path, case, message):
    write_inputs(tmp_path)
    edges, features, out = tmp_path / "edges.tsv.gz", tmp_path / "features.txt", "g.npz"
    mapping = ["--mapping", tmp_path / "map.tsv", "--map-from", "entrez", "--map-to", "symbol"]
    extra = []
    if case == "wrong_columns":
        edges = tmp_path / "bad.tsv"
        edges.write_text("1\t2\t0.5\n2\t3\t0.5\t7\n")
    elif case == "no_overlap":
        mapping = []  # Entrez ids never match symbols
    elif case == "mapped_no_overlap":
        features = tmp_path / "other.txt"
        features.write_text("X\nY\n")
    elif case == "mapping_wrong_way":
        mapping[3], mapping[5] = "symbol", "entrez"
    elif case == "missing_edges":
        edges = tmp_path / "nope.tsv"
    elif case == "missing_features":
        features = tmp_path / "nofeat.txt"
    elif case == "bad_column":
        mapping[3] = "ncbi"
    elif case == "no_threshold_edge":
        extra = ["--threshold", "0.95"]
    elif case == "not_npz":
        out = "g.tsv"
    before = sorted(p.name for p in tmp_path.iterdir())
    res = run(["--edges", edges, *mapping, "--features", features, *extra, "-o", tmp_path / out])
    assert res.exit_code == 1, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_features_xor_expression(tmp_path):
    write_inputs(tmp_path)
    res = run(["--edges", tmp_path / "more.txt", "-o", tmp_path / "g.npz"])
    assert res.exit_code == 1 and "exactly one of --features" in res.stderr
