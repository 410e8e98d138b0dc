"""Ranking files: attribute output, gene/score tables, headerless .rnk, and bad inputs."""

from __future__ import annotations

import pandas as pd
import pytest

from aprior_cli.errors import UserInputError
from aprior_cli.io.ranking import read_gene_list, read_ranking


def _write(path, text):
    path.write_text(text)
    return path


def test_attribute_ranking_uses_mean_abs_attribution(tmp_path):
    path = _write(tmp_path / "ranking.tsv", "feature\tmean_abs_attribution\trank\n"
                  "B\t0.2\t2\nA\t0.9\t1\nC\t0.05\t3\n")
    r = read_ranking(path)
    assert list(r.index) == ["A", "B", "C"]
    assert r.tolist() == [0.9, 0.2, 0.05]
    assert r.name == "mean_abs_attribution"


def test_headered_and_headerless_two_column_files(tmp_path):
    with_header = read_ranking(_write(tmp_path / "g.tsv", "gene\tscore\nX\t-1\nY\t3\nZ\t0\n"))
    assert list(with_header.index) == ["Y", "Z", "X"] and with_header.name == "score"
    rnk = read_ranking(_write(tmp_path / "g.rnk", "# comment\n7157\t1.5\n672\t2.5\n"))
    assert list(rnk.index) == ["672", "7157"]  # numeric ids kept as text
    csv = read_ranking(_write(tmp_path / "g.csv", "g,s\nA,1\nB,2\n"))
    assert list(csv.index) == ["B", "A"]


def test_ties_keep_file_order_and_score_column_option(tmp_path):
    path = _write(tmp_path / "t.tsv", "gene\ta\tb\nP\t1\t5\nQ\t1\t6\nR\t2\t7\n")
    assert list(read_ranking(path, score_column="a").index) == ["R", "P", "Q"]
    assert list(read_ranking(path, score_column="b").index) == ["R", "Q", "P"]
    with pytest.raises(UserInputError, match="name the score with --score-column"):
        read_ranking(path)
    with pytest.raises(UserInputError, match="--score-column 'c' is not a column"):
        read_ranking(path, score_column="c")


def test_parquet_ranking(tmp_path):
    path = tmp_path / "r.parquet"
    pd.DataFrame({"feature": ["A", "B"], "mean_abs_attribution": [0.1, 0.3],
                  "rank": [2, 1]}).to_parquet(path)
    assert list(read_ranking(path).index) == ["B", "A"]


@pytest.mark.parametrize("text, message", [
    ("", "ranking is empty"),
    ("gene\tscore\n", "ranking is empty"),
    ("gene\tscore\nA\t1\nB\tabc\n", "non-numeric or non-finite value 'abc' for gene 'B' \\(data row 2\\)"),
    ("gene\tscore\nA\t1\nB\t\n", "non-numeric or non-finite value '' for gene 'B'"),
    ("gene\tscore\nA\t1\nB\tinf\n", "non-finite value 'inf'"),
    ("gene\tscore\nA\t1\n\t2\n", "empty gene identifier in data row 2"),
    ("just_one_column\nA\nB\n", "needs two columns"),
    ("gene\tscore\nA\t1\nB\t2\nA\t3\n", "1 gene\\(s\\) listed more than once \\(A\\)"),
])
def test_bad_rankings(tmp_path, text, message):
    path = _write(tmp_path / "bad.tsv", text)
    with pytest.raises(UserInputError, match=message):
        read_ranking(path)


def test_duplicates_keep_highest(tmp_path):
    path = _write(tmp_path / "d.tsv", "gene\tscore\nA\t1\nB\t2\nA\t3\n")
    r = read_ranking(path, duplicates="keep-highest")
    assert r.to_dict() == {"A": 3.0, "B": 2.0}


def test_missing_and_unsupported_files(tmp_path):
    with pytest.raises(UserInputError, match="ranking file not found"):
        read_ranking(tmp_path / "nope.tsv")
    with pytest.raises(UserInputError, match="unsupported table extension"):
        read_ranking(_write(tmp_path / "r.xlsx", "x"))


def test_gene_list_strips_white_space(tmp_path):
    path = _write(tmp_path / "bg.txt", "  TP53\n\nMDM2\t1\n# c\nTP53\nEGFR,x\n")
    assert read_gene_list(path) == ["TP53", "MDM2", "EGFR"]
    with pytest.raises(UserInputError, match="gene list is empty"):
        read_gene_list(_write(tmp_path / "e.txt", "\n\n"))
    with pytest.raises(UserInputError, match="gene list file not found"):
        read_gene_list(tmp_path / "missing.txt")
