"""Tables by extension, atomic writes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aprior_cli.errors import UserInputError
from aprior_cli.io import read_table, write_table
from aprior_cli.io.atomic import atomic_path


@pytest.mark.parametrize("name", ["t.tsv", "t.csv", "t.tsv.gz", "t.csv.gz", "t.parquet", "t.h5ad"])
def test_round_trip(tmp_path, name):
    df = pd.DataFrame(np.arange(6, dtype=float).reshape(2, 3), index=["s1", "s2"],
                      columns=["g1", "g2", "g3"])
    write_table(df, tmp_path / name)
    back = read_table(tmp_path / name, index_col=0)
    back.index = back.index.astype(str)
    np.testing.assert_allclose(back.to_numpy(dtype=float), df.to_numpy())
    assert list(back.columns) == ["g1", "g2", "g3"]
    assert list(back.index) == ["s1", "s2"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_unknown_extension(tmp_path):
    (tmp_path / "x.xlsx").write_text("a")
    with pytest.raises(UserInputError, match="unsupported table extension"):
        read_table(tmp_path / "x.xlsx")


def test_missing_and_empty(tmp_path):
    with pytest.raises(UserInputError, match="file not found"):
        read_table(tmp_path / "nope.tsv")
    (tmp_path / "empty.tsv").write_text("")
    with pytest.raises(UserInputError, match="empty"):
        read_table(tmp_path / "empty.tsv")


def test_atomic_path_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out.tsv"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_duplicated_column_is_refused_not_renamed(tmp_path):
    """pandas would read the second GENE0001 as 'GENE0001.1' and the model would train on it."""
    (tmp_path / "x.tsv").write_text("sample\tGENE0001\tGENE0002\tGENE0001\nS1\t1\t2\t3\n")
    with pytest.raises(UserInputError, match=r"x.tsv: duplicated column 'GENE0001' \(2 entries"):
        read_table(tmp_path / "x.tsv", index_col=0)
    kept = read_table(tmp_path / "x.tsv", index_col=0, duplicates="keep")
    assert list(kept.columns) == ["GENE0001", "GENE0002", "GENE0001"]   # as written
    (tmp_path / "ok.tsv").write_text("sample\tA\tA.1\nS1\t1\t2\n")       # a real name 'A.1'
    assert list(read_table(tmp_path / "ok.tsv", index_col=0).columns) == ["A", "A.1"]


def test_duplicated_row_id_is_refused_where_rows_are_ids(tmp_path):
    (tmp_path / "x.csv").write_text("sample,A\nS1,1\nS2,2\nS1,3\n")
    with pytest.raises(UserInputError, match="duplicated row id 'S1'"):
        read_table(tmp_path / "x.csv", index_col=0)
    assert len(read_table(tmp_path / "x.csv")) == 3      # no index: rows are not ids
