"""Sample splits: sizes, stratification, groups never shared, split files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aprior_cli.errors import UserInputError
from aprior_cli.training.splits import group_split, make_split, random_split, stratified_split


def test_random_split_sizes_and_seed():
    a = random_split(100, 0.2, 0.1, seed=3)
    assert (a == "test").sum() == 10 and (a == "val").sum() == 20 and (a == "train").sum() == 70
    assert np.array_equal(a, random_split(100, 0.2, 0.1, seed=3))
    assert not np.array_equal(a, random_split(100, 0.2, 0.1, seed=4))


def test_stratified_split_keeps_proportions():
    y = np.array([0] * 60 + [1] * 30 + [2] * 10)
    s = stratified_split(y, 0.2, 0.3, seed=0)
    for split, frac in (("test", 0.3), ("val", 0.2)):
        for cls, n_cls in ((0, 60), (1, 30), (2, 10)):
            assert ((s == split) & (y == cls)).sum() == round(n_cls * frac)


def test_group_split_never_shares_a_group():
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 25, size=200).astype(str)
    s = group_split(groups, 0.2, 0.2, seed=1)
    for g in set(groups):
        assert len(set(s[groups == g])) == 1
    assert (s == "test").sum() >= 40 and (s == "val").sum() >= 40 and (s == "train").sum() > 0


def test_group_split_too_few_groups():
    with pytest.raises(UserInputError, match="group"):
        group_split(np.array(["a", "a", "b"]), 0.2, 0.2, seed=0)


def test_split_file_checks_samples():
    table = pd.DataFrame({"sample": ["a", "b", "c"], "split": ["train", "val", "test"]})
    out = make_split("file", ["c", "a", "b"], 0.2, 0.2, 0, table=table)
    assert list(out) == ["test", "train", "val"]
    with pytest.raises(UserInputError, match="no split"):
        make_split("file", ["a", "b", "c", "d"], 0.2, 0.2, 0, table=table)
    bad = table.assign(split=["train", "valid", "test"])
    with pytest.raises(UserInputError, match="unknown split"):
        make_split("file", ["a", "b", "c"], 0.2, 0.2, 0, table=bad)


def test_bad_fractions():
    with pytest.raises(UserInputError, match="< 1"):
        random_split(10, 0.6, 0.5, seed=0)


def test_stratified_refuses_a_continuous_target():
    """240/0/0 before: every value was its own class and rounded to zero val/test members."""
    y = np.linspace(0, 1, 240)
    with pytest.raises(UserInputError, match=r"--method stratified: target looks continuous "
                                             r"\(240 distinct values in 240 samples\); use "
                                             r"--method random or group"):
        make_split("stratified", [f"s{i}" for i in range(240)], 0.2, 0.2, 0, y=y,
                   option="--method")
    y = np.array(["a"] * 10 + ["b"] * 10 + ["c"])
    with pytest.raises(UserInputError, match="class 'c' has only 1 sample"):
        stratified_split(y, 0.2, 0.2, seed=0)


@pytest.mark.parametrize("method", ["random", "stratified", "group"])
def test_no_requested_split_comes_out_empty(method):
    n = 6
    samples = [f"s{i}" for i in range(n)]
    kwargs = {"y": np.array([0, 1] * 3), "groups": np.array(["g1", "g2", "g3"] * 2)}
    with pytest.raises(UserInputError, match=r"the val split is empty"):
        make_split(method, samples, 0.05, 0.4, 0, **kwargs)
    out = make_split(method, samples, 0.0, 0.4, 0, **kwargs)   # not asked for: fine
    assert set(out) == {"train", "test"}
