"""Counts, lengths, mapping and feature-list readers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aprior_cli.errors import UserInputError
from aprior_cli.io import write_table
from aprior_cli.io.counts import (
    read_counts,
    read_gene_lengths,
    read_id_list,
    read_mapping,
    read_matrix_features,
)


@pytest.mark.parametrize("name", ["m.tsv", "m.csv.gz", "m.parquet", "m.h5ad"])
def test_matrix_features_all_formats(tmp_path, name):
    df = pd.DataFrame(np.ones((2, 3)), index=pd.Index(["s1", "s2"], name="sample"),
                      columns=["TP53", "MDM2", "7157"])
    write_table(df, tmp_path / name)
    assert read_matrix_features(tmp_path / name) == ["TP53", "MDM2", "7157"]
    back = read_counts(tmp_path / name, genes_as_rows=False)
    assert list(back.index) == ["s1", "s2"] and list(back.columns) == ["TP53", "MDM2", "7157"]


def test_counts_orientation(tmp_path):
    (tmp_path / "c.tsv").write_text("gene\ts1\ts2\ts3\nG1\t1\t2\t3\nG2\t4\t5\t6\n")
    x = read_counts(tmp_path / "c.tsv", genes_as_rows=True)
    assert x.shape == (3, 2) and list(x.columns) == ["G1", "G2"] and x.loc["s3", "G2"] == 6
    y = read_counts(tmp_path / "c.tsv", genes_as_rows=False)
    assert y.shape == (2, 3)


def test_mapping_integer_ids_read_as_text(tmp_path):
    # BioMart exports: Entrez ids with empty cells would be floats ("7157.0") if not read as text
    (tmp_path / "map.tsv").write_text("ensembl\tsymbol\tentrez\nE1\tTP53\t7157\nE2\tX\t\n"
                                      "E3\tMDM2\t4193\n")
    m = read_mapping(tmp_path / "map.tsv", "entrez", "symbol")
    assert m.to_dict("list") == {"source": ["7157", "4193"], "target": ["TP53", "MDM2"]}
    with pytest.raises(UserInputError, match="--map-to: .* has no column 'name'"):
        read_mapping(tmp_path / "map.tsv", "entrez", "name")


def test_gene_lengths_table(tmp_path):
    (tmp_path / "l.tsv").write_text("id\tlength\tens\n1\t100\tE1\n2\t250.0\tE2\n3\t90\tE2\n")
    assert read_gene_lengths(tmp_path / "l.tsv").to_dict() == {"1": 100.0, "2": 250.0, "3": 90.0}
    with pytest.raises(UserInputError, match="gene 'E2' has several different lengths"):
        read_gene_lengths(tmp_path / "l.tsv", gene_column="ens")
    (tmp_path / "bad.tsv").write_text("gene\tlength\nA\t-5\n")
    with pytest.raises(UserInputError, match="length '-5' of gene 'A' is not a positive number"):
        read_gene_lengths(tmp_path / "bad.tsv")


def test_id_list(tmp_path):
    (tmp_path / "ids.txt").write_text("# training\ns1\n\ns2\n")
    assert read_id_list(tmp_path / "ids.txt", "sample id") == ["s1", "s2"]
    (tmp_path / "dup.txt").write_text("s1\ns1\n")
    with pytest.raises(UserInputError, match="duplicate sample id 's1'"):
        read_id_list(tmp_path / "dup.txt", "sample id")
