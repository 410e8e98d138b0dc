"""``aprior preprocess`` on user layouts: long tables, Beat AML-style annotated wide tables,
lengths by another id column (with duplicates), AnnData in and out; and their bad inputs."""

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

GENES = ["TP53", "BRCA1", "KRAS", "EGFR", "MYC", "XIST"]


def inputs(d):
    rng = np.random.default_rng(0)
    samples = [f"SIDM{i}" for i in range(8)]
    counts = pd.DataFrame(rng.integers(1, 400, size=(8, 6)), index=samples, columns=GENES)
    counts["XIST"] = 0
    rows = [{"model_id": s, "gene_symbol": g, "read_count": int(counts.loc[s, g])}
            for s in samples for g in GENES]
    pd.DataFrame(rows).to_csv(d / "long.csv", index=False)
    counts.T.rename_axis("gene").to_csv(d / "wide.tsv", sep="\t")
    pd.DataFrame({"gene_id": [7157, 672, 3845, 1956, 4609, 7503, 4609],
                  "length": [2500, 7000, 5400, 9800, 2400, 19000, 2600],
                  "symbol": ["TP53", "BRCA1", "KRAS", "EGFR", "MYC", "XIST", "MYC"]}).to_csv(
        d / "lengths.tsv", sep="\t", index=False)
    return counts


def pre(args):
    return CliRunner().invoke(cli, ["preprocess", *map(str, args)])


def test_long_equals_wide(tmp_path):
    inputs(tmp_path)
    common = ["--lengths", tmp_path / "lengths.tsv", "--lengths-gene-column", "symbol",
              "--lengths-duplicates", "max", "--no-biotype-filter"]
    res = pre([tmp_path / "long.csv", "--long", "model_id,gene_symbol,read_count", *common,
               "-o", tmp_path / "a.tsv"])
    assert res.exit_code == 0, res.output
    assert "dropped: 1 mostly-zero genes" in res.output
    assert pre([tmp_path / "wide.tsv", "--genes-as-rows", *common,
                "-o", tmp_path / "b.tsv"]).exit_code == 0
    a = pd.read_csv(tmp_path / "a.tsv", sep="\t", index_col=0)
    b = pd.read_csv(tmp_path / "b.tsv", sep="\t", index_col=0)
    pd.testing.assert_frame_equal(a, b)
    report = json.loads((tmp_path / "a.report.json").read_text())
    assert report["inputs"]["long"] == ["model_id", "gene_symbol", "read_count"]


def test_lengths_duplicates_policy(tmp_path):
    counts = inputs(tmp_path)
    base = [tmp_path / "wide.tsv", "--genes-as-rows", "--lengths", tmp_path / "lengths.tsv",
            "--lengths-gene-column", "symbol", "--no-biotype-filter", "--no-zero-filter",
            "--no-log2", "--no-zscore"]
    res = pre([*base, "-o", tmp_path / "x.tsv"])
    assert res.exit_code == 1 and "gene 'MYC' has several different lengths (1 such ids); " \
        "choose --lengths-duplicates max|mean" in res.stderr
    for policy, length in (("max", 2600), ("mean", 2500)):
        out = tmp_path / f"{policy}.tsv"
        assert pre([*base, "--lengths-duplicates", policy, "-o", out]).exit_code == 0
        fpkm = pd.read_csv(out, sep="\t", index_col=0)
        total = counts.sum(1)
        expected = counts["MYC"] * 1e9 / (total * length)  # FPKM by hand
        np.testing.assert_allclose(fpkm["MYC"], expected.to_numpy(), rtol=1e-9)


def test_lengths_id_hint(tmp_path):
    inputs(tmp_path)
    res = pre([tmp_path / "long.csv", "--long", "model_id,gene_symbol,read_count", "--lengths",
               tmp_path / "lengths.tsv", "--lengths-duplicates", "max", "--no-biotype-filter",
               "-o", tmp_path / "x.tsv"])
    assert res.exit_code == 1
    line = res.stderr.strip()
    assert line.count("\n") == 0
    assert ("the ids look like gene symbols but the lengths table's column 'gene_id' holds "
            "Entrez ids; try --lengths-gene-column symbol (matches 6 of 6)") in line
    assert not (tmp_path / "x.tsv").exists()


def test_beat_aml_style_table_with_annotation_columns(tmp_path):
    rng = np.random.default_rng(1)
    samples = ["BA2000R", "BA2001R", "BA2002R", "BA2003R"]
    table = pd.DataFrame({"stable_id": ["ENSG1", "ENSG2", "ENSG3", "ENSG4"],
                          "display_label": ["TP53", "KRAS", "MALAT1", "KRAS"],
                          "description": ["tumor protein p53", "KRAS proto-oncogene", "lnc",
                                          "a second KRAS row"],
                          "biotype": ["protein_coding", "protein_coding", "lncRNA",
                                      "protein_coding"]})
    values = pd.DataFrame(rng.normal(5, 1, size=(4, 4)), columns=samples)
    pd.concat([table, values], axis=1).to_csv(tmp_path / "beat.txt", sep="\t", index=False)
    args = [tmp_path / "beat.txt", "--genes-as-rows", "--id-column", "display_label",
            "--annotation-columns", "stable_id,description,biotype", "--normalization", "none",
            "--no-log2", "--no-zero-filter", "-o", tmp_path / "e.tsv"]
    res = pre(args)
    assert res.exit_code == 1 and "duplicate gene id 'KRAS'" in res.stderr
    res = pre([*args, "--duplicates", "mean"])
    assert res.exit_code == 0, res.output
    out = pd.read_csv(tmp_path / "e.tsv", sep="\t", index_col=0)
    assert list(out.index) == samples and list(out.columns) == ["TP53", "KRAS"]  # lncRNA out
    assert "1 of other biotypes" in res.output
    bad = pre([tmp_path / "beat.txt", "--genes-as-rows", "--id-column", "symbol",
               "--normalization", "none", "-o", tmp_path / "f.tsv"])
    assert bad.exit_code == 1 and "no column 'symbol' (--id-column/--annotation-columns)" \
        in bad.stderr


def test_missing_biotype_is_counted_in_the_summary(tmp_path):
    inputs(tmp_path)
    pd.DataFrame({"gene": GENES[:4], "biotype": ["protein_coding"] * 3 + ["lncRNA"]}).to_csv(
        tmp_path / "bt.tsv", sep="\t", index=False)
    res = pre([tmp_path / "wide.tsv", "--genes-as-rows", "--normalization", "none",
               "--annotation", tmp_path / "bt.tsv", "--no-zero-filter", "-o",
               tmp_path / "o.tsv"])
    assert res.exit_code == 0, res.output
    assert "dropped: 2 genes without a biotype, 1 of other biotypes" in res.output


def test_h5ad_output_keeps_obs(tmp_path):
    counts = inputs(tmp_path)
    obs = pd.DataFrame({"tissue": ["lung", "skin"] * 4, "age": np.arange(8)},
                       index=counts.index)
    adata = anndata.AnnData(X=counts.to_numpy(dtype=np.float32), obs=obs)
    adata.var_names = GENES
    adata.write_h5ad(tmp_path / "c.h5ad")
    res = pre([tmp_path / "c.h5ad", "--samples-as-rows", "--normalization", "none",
               "--no-biotype-filter", "-o", tmp_path / "o.h5ad"])
    assert res.exit_code == 0, res.output
    back = anndata.read_h5ad(tmp_path / "o.h5ad")
    assert list(back.obs_names) == list(counts.index)
    assert list(back.var_names) == ["TP53", "BRCA1", "KRAS", "EGFR", "MYC"]
    assert list(back.obs["tissue"]) == list(obs["tissue"])


@pytest.mark.parametrize(("extra", "message"), [
    (["--long", "model_id,gene_symbol"], "--long: give three column names"),
    (["--long", "model_id,gene,read_count"], "no column 'gene' for the long layout"),
    (["--long", "model_id,gene_symbol,read_count", "--genes-as-rows"],
     "a long table has no orientation"),
    (["--long", "model_id,gene_symbol,read_count", "--id-column", "x"],
     "--id-column/--annotation-columns are for wide tables"),
    (["--long", "model_id,gene_symbol,read_count", "--labels-where", "a=b"],
     "describe --labels, which is given only with --batch-column"),
    (["--long", "model_id,gene_symbol,read_count", "--lengths-duplicates", "min"],
     "Invalid value for '--lengths-duplicates'"),
])
def test_bad_layout_options(tmp_path, extra, message):
    inputs(tmp_path)
    res = pre([tmp_path / "long.csv", "--normalization", "none", *extra, "-o",
               tmp_path / "o.tsv"])
    assert res.exit_code != 0
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("Error")]
    assert len(errors) == 1 and message in errors[0], res.stderr
    assert not (tmp_path / "o.tsv").exists()


def test_long_duplicate_pair_as_a_subprocess(tmp_path):
    inputs(tmp_path)
    text = (tmp_path / "long.csv").read_text().splitlines()
    (tmp_path / "dup.csv").write_text("\n".join([*text, text[3]]) + "\n")
    proc = subprocess.run([sys.executable, "-m", "aprior_cli", "preprocess",
                           str(tmp_path / "dup.csv"), "--long", "model_id,gene_symbol,read_count",
                           "--normalization", "none", "-o", str(tmp_path / "o.tsv")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0
    assert "line 4 and line 50: the pair (model_id='SIDM0', gene_symbol='KRAS') appears " \
        "twice" in proc.stderr
    assert not (tmp_path / "o.tsv").exists()
