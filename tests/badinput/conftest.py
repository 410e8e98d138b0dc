"""A small, valid world of inputs every bad-input case starts from (built once per worker).

Files (``world/``): ``counts.tsv`` (genes x samples), ``lengths.tsv``, ``annotation.tsv``,
``train.txt``, ``expr.tsv`` (samples x genes), ``labels.tsv`` (sample, target, group, cls),
``edges.tsv``, ``graph.npz``, ``ranking.tsv``, ``sets.gmt``, ``truth.json``, a finished run
``run/`` (2 epochs of a tiny MLP), a preprocess output set ``pre/expr.*``, and a manifest
folder ``manifests/`` (with the packaged schema).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from aprior_cli.cli.main import cli

REPO = Path(__file__).resolve().parents[2]
N_SAMPLES, N_GENES = 40, 12
GENES = [f"G{j:02d}" for j in range(N_GENES)]
SAMPLES = [f"S{i:02d}" for i in range(N_SAMPLES)]


def _write_world(w: Path) -> None:
    rng = np.random.default_rng(0)
    counts = pd.DataFrame(rng.integers(5, 500, size=(N_GENES, N_SAMPLES)), index=GENES,
                          columns=SAMPLES)
    counts.index.name = "gene"
    counts.to_csv(w / "counts.tsv", sep="\t")
    pd.DataFrame({"gene": GENES, "length": rng.integers(500, 5000, N_GENES)}).to_csv(
        w / "lengths.tsv", sep="\t", index=False)
    pd.DataFrame({"gene": GENES, "biotype": ["protein_coding"] * N_GENES}).to_csv(
        w / "annotation.tsv", sep="\t", index=False)
    (w / "train.txt").write_text("".join(f"{s}\n" for s in SAMPLES[:24]))
    x = rng.normal(size=(N_SAMPLES, N_GENES))
    expr = pd.DataFrame(x, index=pd.Index(SAMPLES, name="sample"), columns=GENES)
    expr.to_csv(w / "expr.tsv", sep="\t")
    labels = pd.DataFrame({"sample": SAMPLES, "target": x[:, :3].sum(1),
                           "group": [f"P{i // 2}" for i in range(N_SAMPLES)],
                           "cls": [i % 2 for i in range(N_SAMPLES)]})
    labels.to_csv(w / "labels.tsv", sep="\t", index=False)
    edges = [(GENES[i], GENES[i + 1], 0.5 + 0.04 * i) for i in range(N_GENES - 1)]
    (w / "edges.tsv").write_text("".join(f"{a}\t{b}\t{c:.2f}\n" for a, b, c in edges))
    ranking = pd.DataFrame({"feature": GENES, "mean_abs_attribution": np.linspace(1, 0.1, N_GENES),
                            "rank": range(1, N_GENES + 1)})
    ranking.to_csv(w / "ranking.tsv", sep="\t", index=False)
    (w / "sets.gmt").write_text("SET_A\tdesc\t" + "\t".join(GENES[:6]) + "\n"
                                "SET_B\tdesc\t" + "\t".join(GENES[6:]) + "\n")
    (w / "truth.json").write_text(json.dumps({"driver_pathway": "SET_A"}))
    mdir = w / "manifests"
    mdir.mkdir()
    shutil.copy(REPO / "data_manifests" / "schema.json", mdir / "schema.json")

    runner = CliRunner()
    for args in (
        ["graph", "--edges", str(w / "edges.tsv"), "--expression", str(w / "expr.tsv"),
         "-o", str(w / "graph.npz")],
        ["train", "--expression", str(w / "expr.tsv"), "--labels", str(w / "labels.tsv"),
         "--hidden", "4", "--epochs", "2", "--batch-size", "8", "--eval-n-samples", "5",
         "--device", "cpu", "--threads", "1", "-o", str(w / "run")],
        ["preprocess", str(w / "counts.tsv"), "--genes-as-rows", "--lengths",
         str(w / "lengths.tsv"), "--no-biotype-filter", "-o", str(w / "pre" / "expr.tsv")],
    ):
        res = runner.invoke(cli, [*args, "-q"])
        assert res.exit_code == 0, res.output


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> Path:
    """The folder of valid inputs (never modified by a case: the tests check that)."""
    w = tmp_path_factory.mktemp("world")
    _write_world(w)
    return w
