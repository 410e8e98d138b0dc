"""``aprior preprocess`` through click and a real subprocess; every bad input one line."""

from __future__ import annotations

import json
import subprocess
import sys

import anndata
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from aprior_cli.cli.main import cli

GENES = ["ENSG1.1", "ENSG2.4", "ENSG3.2", "ENSG4.1", "ENSG5.7"]
SAMPLES = ["s1", "s2", "s3", "s4", "s5", "s6"]


def write_inputs(folder):
    rng = np.random.default_rng(0)
    counts = pd.DataFrame(rng.integers(1, 500, size=(5, 6)), index=GENES, columns=SAMPLES)
    counts.loc["ENSG4.1", ["s1", "s2", "s3", "s4", "s5"]] = 0  # zero in 5/6 samples
    counts.index.name = "gene"
    counts.to_csv(folder / "counts.tsv", sep="\t")
    pd.DataFrame({"gene": [g.split(".")[0] for g in GENES],
                  "length": [1000, 2000, 500, 1500, 800]}).to_csv(
        folder / "lengths.tsv", sep="\t", index=False)
    pd.DataFrame({"gene": [g.split(".")[0] for g in GENES],
                  "biotype": ["protein_coding"] * 4 + ["lncRNA"]}).to_csv(
        folder / "annotation.tsv", sep="\t", index=False)
    (folder / "train.txt").write_text("s1\ns2\ns3\ns4\n")
    return counts


def base_args(tmp_path, out="out.tsv"):
    return ["preprocess", str(tmp_path / "counts.tsv"), "--genes-as-rows", "--strip-version",
            "--lengths", str(tmp_path / "lengths.tsv"), "--annotation",
            str(tmp_path / "annotation.tsv"), "-o", str(tmp_path / out)]


def test_preprocess_end_to_end(tmp_path):
    counts = write_inputs(tmp_path)
    res = CliRunner().invoke(cli, [*base_args(tmp_path), "--train-samples",
                                   str(tmp_path / "train.txt")])
    assert res.exit_code == 0, res.output
    out = pd.read_csv(tmp_path / "out.tsv", sep="\t", index_col=0)
    assert list(out.index) == SAMPLES
    assert list(out.columns) == ["ENSG1", "ENSG2", "ENSG3"]  # ENSG4 zero filter, ENSG5 lncRNA
    n = counts.sum(axis=0).to_numpy()
    logv = np.log2(counts.loc["ENSG2.4"].to_numpy() * 1e9 / (n * 2000) + 1)
    train = logv[:4]
    np.testing.assert_allclose(out["ENSG2"], (logv - train.mean()) / train.std(), rtol=1e-6)
    report = json.loads((tmp_path / "out.report.json").read_text())
    assert [s["step"] for s in report["steps"]] == [
        "read", "strip_version", "duplicate_genes", "fpkm", "biotype", "zero_filter", "log2",
        "zscore"]
    assert report["steps"][-1]["fitted_on_samples"] == 4
    scaler = json.loads((tmp_path / "out.scaler.json").read_text())
    assert scaler["genes"] == ["ENSG1", "ENSG2", "ENSG3"] and scaler["n_train_samples"] == 4
    assert "6 samples x 3 genes" in res.output

    # apply the saved scaler to new data: same genes, saved statistics
    new = counts[["s5", "s6"]]
    new.to_csv(tmp_path / "new.tsv", sep="\t")
    res = CliRunner().invoke(cli, ["preprocess", str(tmp_path / "new.tsv"), "--genes-as-rows",
                                   "--strip-version", "--lengths", str(tmp_path / "lengths.tsv"),
                                   "--apply-scaler", str(tmp_path / "out.scaler.json"),
                                   "-o", str(tmp_path / "new_out.tsv")])
    assert res.exit_code == 0, res.output
    applied = pd.read_csv(tmp_path / "new_out.tsv", sep="\t", index_col=0)
    np.testing.assert_allclose(applied.to_numpy(), out.loc[["s5", "s6"]].to_numpy(), rtol=1e-6)
    assert not (tmp_path / "new_out.scaler.json").exists()


def test_h5ad_in_parquet_out_subprocess(tmp_path):
    counts = write_inputs(tmp_path)
    adata = anndata.AnnData(X=counts.T.to_numpy(dtype=np.float32))
    adata.obs_names = SAMPLES
    adata.var_names = GENES
    adata.write_h5ad(tmp_path / "counts.h5ad")
    proc = subprocess.run(
        [sys.executable, "-m", "aprior_cli", "preprocess", str(tmp_path / "counts.h5ad"),
         "--samples-as-rows", "--strip-version", "--lengths", str(tmp_path / "lengths.tsv"),
         "--normalization", "tpm", "--no-biotype-filter", "--no-zscore", "-q",
         "-o", str(tmp_path / "out.parquet")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = pd.read_parquet(tmp_path / "out.parquet").set_index("sample")
    assert list(out.columns) == ["ENSG1", "ENSG2", "ENSG3", "ENSG5"]
    assert out.shape == (6, 4)
    # TPM is computed over all 5 genes (before filters): values are log2(TPM + 1) of those
    assert (2 ** out.to_numpy() - 1).sum(axis=1).max() < 1e6
    assert not (tmp_path / "out.scaler.json").exists()


def test_combat_option(tmp_path):
    pytest.importorskip("inmoose.pycombat", reason="optional extra 'combat' (inmoose) absent")
    write_inputs(tmp_path)
    pd.DataFrame({"sample": SAMPLES, "target": [0, 1] * 3,
                  "batch": ["a", "a", "a", "b", "b", "b"]}).to_csv(
        tmp_path / "labels.tsv", sep="\t", index=False)
    res = CliRunner().invoke(cli, [*base_args(tmp_path), "--labels", str(tmp_path / "labels.tsv"),
                                   "--batch-column", "batch", "--no-zero-filter"])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "out.report.json").read_text())
    assert report["steps"][-2]["step"] == "combat" and report["steps"][-2]["batches"] == 2


def mutate(tmp_path, how):
    counts = pd.read_csv(tmp_path / "counts.tsv", sep="\t", index_col=0).astype(object)
    if how == "negative":
        counts.iloc[1, 2] = -3
    elif how == "text":
        counts.iloc[1, 2] = "many"
    elif how == "dup_sample":
        counts.columns = ["s1", "s1", "s3", "s4", "s5", "s6"]
    elif how == "dup_gene":
        counts.index = ["ENSG1.1", "ENSG1.2", "ENSG3.2", "ENSG4.1", "ENSG5.7"]
    counts.to_csv(tmp_path / "counts.tsv", sep="\t")


@pytest.mark.parametrize("how, extra, message", [
    ("negative", [], "negative count -3 for sample 's3', gene 'ENSG2.4'"),
    ("text", [], "non-numeric or non-finite value 'many'"),
    ("dup_sample", [], "duplicate sample id 's1'"),
    ("dup_gene", [], "duplicate gene id 'ENSG1'"),
    (None, ["--lengths", "MISSING"], "MISSING: file not found"),
    (None, ["--train-samples", "MISSING"], "MISSING: file not found"),
    (None, ["--apply-scaler", "MISSING"], "MISSING: file not found"),
    (None, ["--gtf", "x.gtf"], "--lengths and --gtf"),
    (None, ["--batch-column", "batch"], "--batch-column and --labels go together"),
    (None, ["--apply-scaler", "s.json", "--train-samples", "train.txt"], "not refitted"),
])
def test_bad_inputs(tmp_path, monkeypatch, how, extra, message):
    write_inputs(tmp_path)
    if how:
        mutate(tmp_path, how)
    monkeypatch.chdir(tmp_path)
    args = base_args(tmp_path)
    if extra[:1] == ["--lengths"]:
        i = args.index("--lengths")
        args[i + 1] = extra[1]
        extra = []
    res = CliRunner().invoke(cli, [*args, *extra])
    assert res.exit_code == 1, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "annotation.tsv", "counts.tsv", "lengths.tsv", "train.txt"]


def test_missing_lengths_and_drop_flag(tmp_path):
    write_inputs(tmp_path)
    lengths = pd.read_csv(tmp_path / "lengths.tsv", sep="\t").iloc[:3]
    lengths.to_csv(tmp_path / "lengths.tsv", sep="\t", index=False)
    res = CliRunner().invoke(cli, base_args(tmp_path))
    assert res.exit_code == 1
    assert "2 of 5 genes have no length (e.g. 'ENSG4')" in res.stderr
    assert not (tmp_path / "out.tsv").exists()
    res = CliRunner().invoke(cli, [*base_args(tmp_path), "--drop-missing-lengths"])
    assert res.exit_code == 0
    assert "dropping 2 genes without a length" in res.stderr
    report = json.loads((tmp_path / "out.report.json").read_text())
    assert report["steps"][3]["dropped"] == 2


def test_orientation_must_be_declared(tmp_path):
    write_inputs(tmp_path)
    res = CliRunner().invoke(cli, ["preprocess", str(tmp_path / "counts.tsv"), "-o",
                                   str(tmp_path / "o.tsv")])
    assert res.exit_code == 1
    assert "--genes-as-rows or --samples-as-rows" in res.stderr
    assert not (tmp_path / "o.tsv").exists()


def test_apply_scaler_missing_genes(tmp_path):
    write_inputs(tmp_path)
    assert CliRunner().invoke(cli, base_args(tmp_path)).exit_code == 0
    counts = pd.read_csv(tmp_path / "counts.tsv", sep="\t", index_col=0).drop(index="ENSG2.4")
    counts.to_csv(tmp_path / "new.tsv", sep="\t")
    res = CliRunner().invoke(cli, ["preprocess", str(tmp_path / "new.tsv"), "--genes-as-rows",
                                   "--strip-version", "--lengths", str(tmp_path / "lengths.tsv"),
                                   "--apply-scaler", str(tmp_path / "out.scaler.json"),
                                   "-o", str(tmp_path / "new_out.tsv")])
    assert res.exit_code == 1
    assert "genes of the scaler are missing from the data (e.g. 'ENSG2')" in res.stderr
    assert not (tmp_path / "new_out.tsv").exists()


def test_duplicate_gene_header_samples_as_rows(tmp_path):
    (tmp_path / "c.csv").write_text("sample,A,B,A\nx,1,2,3\ny,4,5,6\nz,0,1,1\n")
    args = ["preprocess", str(tmp_path / "c.csv"), "--samples-as-rows", "--normalization",
            "none", "--no-biotype-filter", "--no-zscore", "--no-log2", "-o", str(tmp_path / "o.csv")]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 1 and "duplicate gene id 'A'" in res.stderr
    assert not (tmp_path / "o.csv").exists()
    res = CliRunner().invoke(cli, [*args, "--duplicates", "sum"])
    assert res.exit_code == 0, res.output
    out = pd.read_csv(tmp_path / "o.csv", index_col=0)
    assert out.to_dict("list") == {"A": [4.0, 10.0, 1.0], "B": [2.0, 5.0, 1.0]}
