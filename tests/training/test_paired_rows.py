"""(sample, drug) pair rows and unmatched labels (aprior_cli.training.paired_rows)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aprior_cli.errors import UserInputError
from aprior_cli.training.data import align
from aprior_cli.training.paired_rows import (
    drop_unmatched,
    paired_row_ids,
    sample_splits,
    split_rows,
    unmatched_warning,
)
from aprior_cli.training.splits import make_split


def pairs(n_patients=30, drugs=("A", "B", "C")):
    """Beat AML-like: one row per (specimen, inhibitor); specimens belong to subjects."""
    rows = [{"sample": f"BA{i:04d}R", "inhibitor": d, "target": float(i + k),
             "group": f"subject{i // 2}"}
            for i in range(n_patients) for k, d in enumerate(drugs) if (i + k) % 4 != 3]
    return pd.DataFrame(rows)


def test_row_ids_need_covariates_and_must_be_unique():
    labels = pairs()
    ids = paired_row_ids(labels, ["inhibitor"])
    assert ids[0] == "BA0000R|inhibitor=A" and len(set(ids)) == len(ids)
    assert paired_row_ids(labels.drop_duplicates("sample"), []) is None
    with pytest.raises(UserInputError, match="has 3 rows; keep one row per sample with "
                                             "--labels-where"):
        paired_row_ids(labels, [])
    twice = pd.concat([labels, labels.iloc[[4]]], ignore_index=True)
    with pytest.raises(UserInputError, match=r"rows 5 and \d+ \(after filters\) are the same pair"):
        paired_row_ids(twice, ["inhibitor"])


@pytest.mark.parametrize("method", ["random", "group"])
def test_split_keeps_a_samples_rows_together(method):
    labels = pairs()
    groups = labels["group"].to_numpy(dtype=object) if method == "group" else None
    split = split_rows(method, labels["sample"], 0.2, 0.2, seed=3, groups=groups)
    per_sample = pd.DataFrame({"s": labels["sample"], "split": split}).groupby("s")["split"]
    assert (per_sample.nunique() == 1).all()
    assert set(split) == {"train", "val", "test"}
    if method == "group":
        per_group = pd.DataFrame({"g": labels["group"], "split": split}).groupby("g")["split"]
        assert (per_group.nunique() == 1).all()
    table = sample_splits(labels["sample"], split)
    assert list(table["sample"]) == list(pd.unique(labels["sample"]))


def test_unique_samples_split_exactly_as_before():
    samples = [f"s{i}" for i in range(50)]
    np.testing.assert_array_equal(split_rows("random", samples, 0.2, 0.2, seed=1),
                                  make_split("random", samples, 0.2, 0.2, seed=1))


def test_stratified_and_inconsistent_groups_are_refused():
    labels = pairs()
    with pytest.raises(UserInputError, match="cannot keep a sample's rows together"):
        split_rows("stratified", labels["sample"], 0.2, 0.2, seed=0,
                   y=np.zeros(len(labels)))
    groups = labels["group"].to_numpy(dtype=object).copy()
    groups[1] = "someone_else"  # BA0000R's second row in another subject
    with pytest.raises(UserInputError, match="sample 'BA0000R' has rows in groups"):
        split_rows("group", labels["sample"], 0.2, 0.2, seed=0, groups=groups)


def test_align_joins_expression_by_sample_and_one_hots_the_drug():
    labels = pairs(n_patients=6)
    expr = pd.DataFrame(np.arange(18, dtype=float).reshape(6, 3),
                        index=[f"BA{i:04d}R" for i in range(6)], columns=["g1", "g2", "g3"])
    data = align(expr, labels, "regression", covariates=["inhibitor"])
    assert data.features == ["g1", "g2", "g3", "inhibitor=A", "inhibitor=B", "inhibitor=C"]
    assert len(data.samples) == len(labels) and data.ids[0] == "BA0000R|inhibitor=A"
    for row, (sample, drug) in enumerate(zip(labels["sample"], labels["inhibitor"],
                                             strict=True)):
        np.testing.assert_array_equal(data.x[row, :3], expr.loc[sample].to_numpy())
        assert data.x[row, 3 + "ABC".index(drug)] == 1 and data.x[row, 3:].sum() == 1


def test_unmatched_labels_error_or_drop():
    labels = pd.DataFrame({"sample": ["a", "b", "zz", "yy"], "target": [1.0, 2.0, 3.0, 4.0]})
    expr = pd.Index(["a", "b", "c"])
    with pytest.raises(UserInputError, match="2 sample.s. not in expr: zz, yy; pass "
                                             "--unmatched-labels drop to use the 2"):
        drop_unmatched(labels, expr, "error", "labels", "expr")
    kept, dropped = drop_unmatched(labels, expr, "drop", "labels", "expr")
    assert list(kept["sample"]) == ["a", "b"] and dropped == ["zz", "yy"]
    assert "2 of 4 label rows have no expression" in unmatched_warning(dropped, 2, "l", "e")
    with pytest.raises(UserInputError, match="none of the 2 label rows has a sample"):
        drop_unmatched(labels.iloc[2:], expr, "drop", "labels", "expr")
    assert unmatched_warning([], 4, "l", "e") is None


def test_a_split_file_may_list_more_samples_than_are_used():
    table = pd.DataFrame({"sample": ["a", "b", "c", "extra"],
                          "split": ["train", "val", "test", "train"]})
    np.testing.assert_array_equal(split_rows("file", ["c", "a"], 0.2, 0.2, 0, table=table),
                                  ["test", "train"])
    with pytest.raises(UserInputError, match="1 sample.s. have no split"):
        split_rows("file", ["a", "zz"], 0.2, 0.2, 0, table=table)
