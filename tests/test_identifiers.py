"""Identifier styles and mismatch hints (aprior_cli.identifiers)."""

from __future__ import annotations

import pandas as pd

from aprior_cli.identifiers import best_column, id_style, mismatch_hint


def test_id_styles():
    assert id_style(["7157", "672", "675"]) == "Entrez"
    assert id_style([7157.0, 672.0]) == "Entrez"
    assert id_style(["ENSG00000141510", "ENSG00000012048"]) == "Ensembl"
    assert id_style(["ENSG00000141510.17", "ENSG00000012048.23"]) == "Ensembl (versioned)"
    assert id_style(["TP53", "BRCA1", "MT-TF"]) == "symbol"
    assert id_style(["TP53", "7157", "ENSG00000141510", "672"]) is None
    assert id_style([]) is None


def test_hint_names_the_matching_column():
    lengths = pd.DataFrame({"gene_id": [7157, 672, 675], "length": [2500, 7000, 11000],
                            "symbol": ["TP53", "BRCA1", "BRCA2"]})
    genes = ["TP53", "BRCA1", "KRAS"]
    assert best_column(lengths, genes) == ("symbol", 2)
    hint = mismatch_hint(genes, lengths, "gene_id", "--lengths-gene-column", "the lengths table")
    assert hint == ("the ids look like gene symbols but the lengths table's column 'gene_id' "
                    "holds Entrez ids; try --lengths-gene-column symbol (matches 2 of 3)")
    assert mismatch_hint(genes, lengths, "symbol", "--x", "t") is None
    versioned = pd.DataFrame({"id": ["ENSG00000141510", "ENSG00000012048"]})
    assert mismatch_hint(["ENSG00000141510.17", "ENSG00000012048.2"], versioned, "id", "--x",
                         "t").endswith("try --strip-version")
