"""Long (sample, gene, value) tables: pivot and one-line errors naming the line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aprior_cli.errors import UserInputError
from aprior_cli.io.long_table import (
    parse_long_columns,
    read_expression,
    read_long_table,
    sample_ids,
)

COLS = ("model_id", "gene_symbol", "read_count")


def long_table(path, n_samples=4, n_genes=5, seed=0):
    """A GDSC-like long table (extra columns ignored) and the matrix it holds."""
    rng = np.random.default_rng(seed)
    samples = [f"SIDM{i:05d}" for i in range(n_samples)]
    genes = [f"GENE{j}" for j in range(n_genes)]
    wide = pd.DataFrame(rng.integers(0, 1000, size=(n_samples, n_genes)), index=samples,
                        columns=genes)
    rows = [{"model_id": s, "model_name": f"line{s}", "gene_id": f"SIDG{g}", "gene_symbol": g,
             "read_count": int(wide.loc[s, g]), "fpkm": 0.1} for s in samples for g in genes]
    table = pd.DataFrame(rows).sample(frac=1.0, random_state=1).reset_index(drop=True)
    table.to_csv(path, index=False)
    return table, wide


def test_pivot_matches_pandas(tmp_path):
    table, wide = long_table(tmp_path / "x.csv.gz")
    got = read_long_table(tmp_path / "x.csv.gz", COLS)
    expected = table.pivot(index="model_id", columns="gene_symbol", values="read_count")
    pd.testing.assert_frame_equal(got.sort_index().sort_index(axis=1),
                                  expected.astype(float).rename_axis(index="sample",
                                                                     columns=None))
    # samples and genes in order of first appearance
    assert list(got.index) == list(pd.unique(table["model_id"]))
    assert list(got.columns) == list(pd.unique(table["gene_symbol"]))
    assert read_expression(tmp_path / "x.csv.gz", COLS).equals(got)
    assert sample_ids(tmp_path / "x.csv.gz", COLS) == list(pd.unique(table["model_id"]))


def _broken(tmp_path, how):
    table, _ = long_table(tmp_path / "x.tsv")
    if how == "duplicate":
        table = pd.concat([table.iloc[:3], table.iloc[[1]], table.iloc[3:]])
    elif how == "text":
        table["read_count"] = table["read_count"].astype(object)
        table.loc[4, "read_count"] = "n/a"
    elif how == "missing_value":
        table["read_count"] = table["read_count"].astype(object)
        table.loc[2, "read_count"] = None
    elif how == "missing_pair":
        table = table.drop(index=7)
    elif how == "empty_id":
        table.loc[0, "gene_symbol"] = ""
    path = tmp_path / "broken.tsv"
    table.to_csv(path, sep="\t", index=False)
    return path


@pytest.mark.parametrize(("how", "message"), [
    ("duplicate", "line 3 and line 5: the pair (model_id="),
    ("text", "line 6: value of 'read_count' 'n/a' is not a finite number"),
    ("missing_value", "line 4: value of 'read_count' is missing"),
    ("missing_pair", "has no row (1 of 20 sample x gene pairs missing)"),
    ("empty_id", "line 2: empty 'gene_symbol' id"),
])
def test_bad_rows_name_the_line(tmp_path, how, message):
    path = _broken(tmp_path, how)
    with pytest.raises(UserInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_long_table(path, COLS)


def test_parquet_positions_are_rows(tmp_path):
    table, _ = long_table(tmp_path / "x.csv")
    table = pd.concat([table, table.iloc[[0]]], ignore_index=True)
    table.to_parquet(tmp_path / "x.parquet")
    with pytest.raises(UserInputError, match="row 1 and row 21"):
        read_long_table(tmp_path / "x.parquet", COLS)


def test_column_and_option_errors(tmp_path):
    long_table(tmp_path / "x.csv")
    with pytest.raises(UserInputError, match="no column 'fpkm_x' for the long layout"):
        read_long_table(tmp_path / "x.csv", ("model_id", "gene_symbol", "fpkm_x"))
    for bad in ("a,b", "a,b,c,d", "a,,c", "a,a,b"):
        with pytest.raises(UserInputError, match="--long"):
            parse_long_columns(bad)
    assert parse_long_columns(None) is None and parse_long_columns([]) is None
    assert parse_long_columns(["s", "g", "v"]) == ("s", "g", "v")


def test_sample_ids_of_wide_tables(tmp_path):
    wide = pd.DataFrame({"g1": [1, 2], "g2": [3, 4]}, index=pd.Index(["a", "b"], name="sample"))
    wide.to_csv(tmp_path / "w.tsv", sep="\t")
    wide.T.rename_axis("gene").to_csv(tmp_path / "t.tsv", sep="\t")
    assert sample_ids(tmp_path / "w.tsv") == ["a", "b"]
    assert sample_ids(tmp_path / "t.tsv", genes_as_rows=True) == ["a", "b"]
