"""GCT-like expression files and .cls phenotype files."""

from __future__ import annotations

import pandas as pd
import pytest

from aprior_cli.errors import UserInputError
from aprior_cli.io.gct import gct_study, read_cls, read_gct


def test_read_gct_and_cls(tmp_path):
    (tmp_path / "x.gct").write_text("#1.2\n3\t2\nNAME\tDescription\tA\tB\n"
                                    "TP53\tna\t1.5\t2\nMDM2\tna\t3\t4\nTP53\tna\t2.5\t0\n")
    (tmp_path / "x.cls").write_text("2 2 1\n# MUT WT\nMUT WT\n")
    expr, labels = gct_study(tmp_path / "x.gct", tmp_path / "x.cls")
    assert list(expr.index) == ["A", "B"] and list(expr.columns) == ["TP53", "MDM2"]
    assert expr.loc["A", "TP53"] == 2.0 and expr.loc["B", "TP53"] == 1.0  # duplicates averaged
    pd.testing.assert_frame_equal(labels, pd.DataFrame({"sample": ["A", "B"],
                                                        "target": ["MUT", "WT"]}))


def test_gene_column_preferred_over_probe_name(tmp_path):
    (tmp_path / "l.txt").write_text("Gene\tNAME\tS1\tS2\nMAPK3\t1000_at\t1\t2\n")
    expr = read_gct(tmp_path / "l.txt")
    assert list(expr.columns) == ["MAPK3"] and expr.loc["S2", "MAPK3"] == 2


@pytest.mark.parametrize(("text", "match"), [
    ("3 2 1\n# A B\nA B\n", "2 labels for 3 samples"),
    ("2 2 1\nA B\n", "not a categorical"),
])
def test_bad_cls(tmp_path, text, match):
    (tmp_path / "x.cls").write_text(text)
    with pytest.raises(UserInputError, match=match):
        read_cls(tmp_path / "x.cls")
