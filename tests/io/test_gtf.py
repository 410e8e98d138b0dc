"""GTF reading: exonic union length, biotype and name from a hand-written GTF."""

from __future__ import annotations

import gzip

import pytest

from aprior_cli.errors import UserInputError
from aprior_cli.io.gtf import read_gtf_genes

GTF = """##description: hand-made
chr1\tHAVANA\tgene\t100\t400\t.\t+\t.\tgene_id "ENSG01.3"; gene_type "protein_coding"; gene_name "AAA";
chr1\tHAVANA\ttranscript\t100\t400\t.\t+\t.\tgene_id "ENSG01.3"; transcript_id "T1";
chr1\tHAVANA\texon\t100\t199\t.\t+\t.\tgene_id "ENSG01.3"; transcript_id "T1"; gene_type "protein_coding";
chr1\tHAVANA\texon\t150\t249\t.\t+\t.\tgene_id "ENSG01.3"; transcript_id "T2"; gene_type "protein_coding";
chr1\tHAVANA\texon\t301\t400\t.\t+\t.\tgene_id "ENSG01.3"; transcript_id "T1"; gene_type "protein_coding";
chr2\tHAVANA\tgene\t10\t60\t.\t-\t.\tgene_id "ENSG02.1"; gene_type "lincRNA"; gene_name "BBB";
chr2\tHAVANA\texon\t10\t19\t.\t-\t.\tgene_id "ENSG02.1"; transcript_id "T3";
chr2\tHAVANA\texon\t51\t60\t.\t-\t.\tgene_id "ENSG02.1"; transcript_id "T3";
"""


@pytest.mark.parametrize("name", ["a.gtf", "a.gtf.gz"])
def test_read_gtf_genes(tmp_path, name):
    path = tmp_path / name
    if name.endswith(".gz"):
        with gzip.open(path, "wt") as fh:
            fh.write(GTF)
    else:
        path.write_text(GTF)
    genes = read_gtf_genes(path)
    # ENSG01: [100,199] u [150,249] = 150 bases, + [301,400] = 100 -> 250
    assert genes.loc["ENSG01.3", "length"] == 250
    assert genes.loc["ENSG02.1", "length"] == 20
    assert genes.loc["ENSG01.3", "biotype"] == "protein_coding"
    assert genes.loc["ENSG02.1", "biotype"] == "lincRNA"
    assert genes.loc["ENSG02.1", "name"] == "BBB"


def test_gene_biotype_attribute(tmp_path):
    path = tmp_path / "ens.gtf"
    path.write_text(GTF.replace("gene_type", "gene_biotype"))
    assert read_gtf_genes(path).loc["ENSG02.1", "biotype"] == "lincRNA"


def test_not_a_gtf(tmp_path):
    path = tmp_path / "x.gtf"
    path.write_text("chr1\tsrc\tgene\t1\t10\t.\t+\t.\tgene_id \"g\";\n")
    with pytest.raises(UserInputError, match="no 'exon' lines"):
        read_gtf_genes(path)
    with pytest.raises(UserInputError, match="file not found"):
        read_gtf_genes(tmp_path / "missing.gtf")
