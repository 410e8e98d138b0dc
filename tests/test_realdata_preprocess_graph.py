"""Real data: GTEx chr21 counts + GENCODE v26 GTF through preprocess; HumanNet mapped with the
BioMart table onto the P53 expression symbols; airway .h5ad as input format."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from click.testing import CliRunner

from aprior_cli.cli.main import cli
from aprior_cli.io.graph_npz import load_graph
from aprior_cli.io.gtf import read_gtf_genes

pytestmark = pytest.mark.realdata


def invoke(args):
    res = CliRunner().invoke(cli, [str(a) for a in args])
    return res


def brute_force_exonic_length(gtf_path, gene_id):
    covered = set()
    with gzip.open(gtf_path, "rt") as fh:
        for line in fh:
            f = line.split("\t")
            if len(f) > 8 and f[2] == "exon" and f'gene_id "{gene_id}"' in f[8]:
                covered.update(range(int(f[3]), int(f[4]) + 1))
    return len(covered)


def test_gtex_chr21_full_preprocess(shared_data, tmp_path):
    folder = shared_data / "gtex_chr21"
    counts_path = folder / "gtex_lung.first30.chr21.csv.gz"
    gtf = folder / "gencode.v26.annotation.chr21.gtf.gz"
    genes = read_gtf_genes(gtf)
    assert len(genes) == 837
    assert genes.loc["ENSG00000142156.14", "length"] == brute_force_exonic_length(
        gtf, "ENSG00000142156.14") == 5343  # COL6A1
    # GENCODE v26 lengths agree with the independent hg38 knownGene table for most genes
    table = pd.read_csv(shared_data / "gene_length" / "hs_gene_length.from_rda.tsv", sep="\t")
    table = table.drop_duplicates("ensembl_id", keep=False).set_index("ensembl_id")["length"]
    ours = genes["length"].rename(lambda g: g.split(".")[0])
    ratio = (ours / table).dropna()
    assert len(ratio) > 300 and abs(np.median(ratio) - 1) < 0.02

    train = tmp_path / "train.txt"
    counts = pd.read_csv(counts_path, index_col=0)
    train.write_text("\n".join(counts.index[:20]) + "\n")
    res = invoke(["preprocess", counts_path, "--samples-as-rows", "--gtf", gtf, "--strip-version",
                  "--train-samples", train, "-o", tmp_path / "gtex.tsv.gz"])
    assert res.exit_code == 0, res.output
    assert "no biotype available" in res.stderr  # this GTF subset has no gene_type attribute
    out = pd.read_csv(tmp_path / "gtex.tsv.gz", sep="\t", index_col=0)
    report = json.loads((tmp_path / "gtex.report.json").read_text())
    by = {s["step"]: s for s in report["steps"]}
    assert by["read"]["genes_out"] == 818 and by["read"]["samples_out"] == 30
    assert by["fpkm"]["genes_out"] == 818  # every counted gene has a GTF length
    zero_out = by["zero_filter"]["genes_out"]
    assert out.shape == (30, zero_out) and 300 < zero_out < 818
    # hand computation for COL6A1 (train statistics on the first 20 samples)
    n = counts.sum(axis=1).to_numpy()
    logv = np.log2(counts["ENSG00000142156.14"].to_numpy() * 1e9 / (n * 5343) + 1)
    np.testing.assert_allclose(out["ENSG00000142156"], (logv - logv[:20].mean()) / logv[:20].std(),
                               rtol=1e-6)
    train_z = out.iloc[:20]
    np.testing.assert_allclose(train_z.mean(), 0, atol=1e-9)
    # zero filter fitted on the training samples: every kept gene is zero in <= 70 % of them
    kept_counts = counts.iloc[:20].rename(columns=lambda g: g.split(".")[0])[out.columns]
    assert ((kept_counts == 0).mean() <= 0.7).all()

    # the saved scaler transforms held-out samples exactly as in the joint run
    counts.iloc[20:].to_csv(tmp_path / "heldout.csv")
    res = invoke(["preprocess", tmp_path / "heldout.csv", "--samples-as-rows", "--gtf", gtf,
                  "--strip-version", "--apply-scaler", tmp_path / "gtex.scaler.json",
                  "-o", tmp_path / "heldout_z.tsv"])
    assert res.exit_code == 0, res.output
    heldout = pd.read_csv(tmp_path / "heldout_z.tsv", sep="\t", index_col=0)
    np.testing.assert_allclose(heldout.to_numpy(), out.iloc[20:].to_numpy(), rtol=1e-6,
                               atol=1e-9)


def test_humannet_mapped_to_p53_symbols(shared_data, tmp_path):
    # HumanNet HM90 (Entrez pairs) as a HumanBase-style 3-column file
    pairs = pd.read_csv(shared_data / "humannet" / "HM90.txt", sep="\t", header=None, dtype=str)
    assert len(pairs) == 47641
    pairs[2] = 1.0
    pairs.to_csv(tmp_path / "hm90.tsv.gz", sep="\t", header=False, index=False)
    p53 = pd.read_csv(shared_data / "gsea" / "expr" / "P53.txt", sep="\t")
    (tmp_path / "p53_genes.txt").write_text("\n".join(p53["NAME"]) + "\n")
    mapping = shared_data / "gsea" / "mapping" / "hsapiens_gene_ensembl.background.genes.txt"
    res = invoke(["graph", "--edges", tmp_path / "hm90.tsv.gz", "--mapping", mapping,
                  "--map-from", "entrezgene_id", "--map-to", "external_gene_name",
                  "--features", tmp_path / "p53_genes.txt", "-o", tmp_path / "hm90.npz"])
    assert res.exit_code == 0, res.output
    stats = json.loads((tmp_path / "hm90.stats.json").read_text())
    m = stats["mapping"]
    assert (m["ids_in_edges"], m["ids_mapped"], m["ids_unmapped"]) == (7949, 7906, 43)
    assert (m["one_to_many_ids"], m["many_to_one_targets"]) == (7, 3)
    assert m["edges_dropped_unmapped"] == 196
    s = stats["graph"]
    assert s["features"] == 10100 and s["edges"] == 19151 and s["features_with_edge"] == 4403
    assert s["fraction_without_edge"] == pytest.approx(1 - 4403 / 10100)
    assert s["largest_component"] == 4044
    graph = load_graph(tmp_path / "hm90.npz")
    assert graph.features == list(p53["NAME"])
    lap = graph.laplacian
    assert abs(lap - lap.T).max() == 0
    np.testing.assert_allclose(np.asarray(lap.sum(axis=1)).ravel(), 0, atol=1e-9)
    tp53 = graph.features.index("TP53")
    assert graph.adjacency[tp53].nnz > 20  # TP53 is a hub

    # the same network shipped with symbols: most mapped edges are also there
    res = invoke(["graph", "--edges", shared_data / "humannet" / "HumanNet90_Symbol.txt",
                  "--features", tmp_path / "p53_genes.txt", "-o", tmp_path / "sym.npz"])
    assert res.exit_code == 0, res.output
    a = sp.triu(graph.adjacency, 1).astype(bool)
    b = sp.triu(load_graph(tmp_path / "sym.npz").adjacency, 1).astype(bool)
    assert a.multiply(b).nnz / a.nnz > 0.85


def test_airway_h5ad_input(shared_data, tmp_path):
    h5ad = shared_data / "airway" / "airway.h5ad"
    lengths = shared_data / "gene_length" / "hs_gene_length.from_rda.tsv"
    res = invoke(["preprocess", h5ad, "--samples-as-rows", "--lengths", lengths,
                  "--lengths-gene-column", "ensembl_id", "-o", tmp_path / "a.tsv"])
    assert res.exit_code == 1
    assert "has several different lengths" in res.stderr  # one Ensembl id, several Entrez genes
    table = pd.read_csv(lengths, sep="\t").drop_duplicates("ensembl_id", keep=False)
    table[["ensembl_id", "length"]].to_csv(tmp_path / "len.tsv", sep="\t", index=False)
    res = invoke(["preprocess", h5ad, "--samples-as-rows", "--lengths", tmp_path / "len.tsv",
                  "--drop-missing-lengths", "--no-biotype-filter", "-o", tmp_path / "a.h5ad"])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "a.report.json").read_text())
    by = {s["step"]: s for s in report["steps"]}
    assert by["read"]["genes_out"] == 64102 and by["read"]["samples_out"] == 8
    assert by["drop_missing_lengths"]["dropped"] == 64102 - by["fpkm"]["genes_out"]
    assert 20000 < by["fpkm"]["genes_out"] < 25457
    import anndata

    out = anndata.read_h5ad(tmp_path / "a.h5ad")
    assert out.shape == (8, by["zscore"]["genes_out"])
    assert list(out.obs_names[:2]) == ["SRR1039508", "SRR1039509"]
