"""``aprior simulate`` writes the files of interfaces.md E, reproducibly and atomically."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import pandas as pd
from click.testing import CliRunner

from aprior_cli.cli.main import cli
from aprior_cli.cli.simulate import OUTPUT_FILES

SMALL = ["--n-samples", "40", "--n-genes", "300", "--n-modules", "4", "--module-size", "10"]


def run(args):
    return CliRunner().invoke(cli, ["simulate", *args])


def test_writes_every_file_in_the_agreed_format(tmp_path):
    out = tmp_path / "sim"
    result = run(["-o", str(out), "--seed", "2", *SMALL])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)
    assert "driver: MODULE_" in result.output

    counts = pd.read_csv(out / "counts.tsv", sep="\t")
    assert counts.columns[0] == "gene" and counts.shape == (300, 41)
    labels = pd.read_csv(out / "labels.tsv", sep="\t")
    assert list(labels.columns) == ["sample", "target", "group", "batch"]
    assert list(labels["sample"]) == list(counts.columns[1:])
    assert list(pd.read_csv(out / "gene_lengths.tsv", sep="\t").columns) == ["gene", "length"]
    annotation = pd.read_csv(out / "gene_annotation.tsv", sep="\t")
    assert list(annotation.columns) == ["gene", "biotype"]
    assert (annotation["biotype"] != "protein_coding").sum() >= 2
    meta = pd.read_csv(out / "meta_features.tsv", sep="\t")
    assert meta.columns[0] == "gene" and len(meta) == 300

    with gzip.open(out / "edges.tsv.gz", "rt") as fh:
        first = fh.readline().rstrip("\n").split("\t")
    assert len(first) == 3 and first[0].startswith("GENE")            # headerless
    edges = pd.read_csv(out / "edges.tsv.gz", sep="\t", header=None)
    assert edges[2].between(0, 1).all()

    truth = json.loads((out / "truth.json").read_text())
    gmt = {line.split("\t")[0]: line.rstrip("\n").split("\t")[2:]
           for line in (out / "pathways.gmt").read_text().splitlines()}
    assert sorted(gmt[truth["driver_pathway"]]) == sorted(truth["driver_genes"])
    assert len(truth["driver_genes"]) == 10
    assert truth["parameters"]["seed"] == 2 and truth["task"] == "regression"


def test_same_seed_identical_bytes_different_seed_different(tmp_path):
    for name, seed in [("a", "7"), ("b", "7"), ("c", "8")]:
        assert run(["-o", str(tmp_path / name), "--seed", seed, *SMALL]).exit_code == 0
    for f in OUTPUT_FILES:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    differ = [f for f in OUTPUT_FILES
              if (tmp_path / "a" / f).read_bytes() != (tmp_path / "c" / f).read_bytes()]
    assert {"counts.tsv", "edges.tsv.gz", "labels.tsv", "truth.json"} <= set(differ)


def test_classification_task(tmp_path):
    out = tmp_path / "cls"
    assert run(["-o", str(out), "--task", "classification", *SMALL]).exit_code == 0
    labels = pd.read_csv(out / "labels.tsv", sep="\t")
    assert set(labels["target"]) == {0, 1}


def test_bad_sizes_give_one_line_and_no_output(tmp_path):
    for args, option in [(["--n-genes", "50"], "--n-genes"), (["--n-samples", "5"], "--n-samples"),
                         (["--n-modules", "1"], "--n-modules"), (["--seed", "-3"], "--seed")]:
        out = tmp_path / option.strip("-")
        result = run(["-o", str(out), *args])
        assert result.exit_code != 0
        assert option in result.output
        assert len(result.output.strip().splitlines()) == 1
        assert "Traceback" not in result.output
        assert not out.exists()
    result = run(["-o", str(tmp_path / "t"), "--task", "survival"])
    assert result.exit_code == 2 and "survival" in result.output


def test_quiet_prints_nothing(tmp_path):
    result = run(["-o", str(tmp_path / "q"), "-q", *SMALL])
    assert result.exit_code == 0 and result.output == ""


def test_real_subprocess(tmp_path):
    out = tmp_path / "sub"
    proc = subprocess.run([sys.executable, "-m", "aprior_cli", "simulate", "-o", str(out),
                           "--seed", "4", *SMALL], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (out / "truth.json").exists() and "driver:" in proc.stdout
    bad = subprocess.run([sys.executable, "-m", "aprior_cli", "simulate", "-o",
                          str(tmp_path / "bad"), "--n-genes", "10"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1
    assert bad.stderr.strip().startswith("Error: --n-genes")
    assert len(bad.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "bad").exists()
