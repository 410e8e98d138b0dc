"""FPKM and TPM against hand computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from aprior_cli.errors import UserInputError
from aprior_cli.normalize import fpkm, tpm

COUNTS = pd.DataFrame([[10, 0, 90], [5, 5, 0]], index=["s1", "s2"], columns=["a", "b", "c"],
                      dtype=float)
LENGTHS = pd.Series({"a": 1000.0, "b": 2000.0, "c": 500.0, "unused": 7.0})


def test_fpkm_by_hand():
    out = fpkm(COUNTS, LENGTHS)
    # s1: N = 100; a: 10 * 1e9 / (100 * 1000) = 1e5; c: 90 * 1e9 / (100 * 500) = 1.8e6
    # s2: N = 10; a: 5e9 / (10 * 1000) = 5e5; b: 5e9 / (10 * 2000) = 2.5e5
    expected = np.array([[1e5, 0.0, 1.8e6], [5e5, 2.5e5, 0.0]])
    np.testing.assert_allclose(out.to_numpy(), expected)
    assert list(out.columns) == ["a", "b", "c"]


def test_fpkm_uses_given_library_size():
    # N from the unfiltered matrix: dropping gene c must not change gene a's FPKM
    out = fpkm(COUNTS[["a"]], LENGTHS, library_size=COUNTS.sum(axis=1))
    np.testing.assert_allclose(out["a"].to_numpy(), [1e5, 5e5])


def test_tpm_by_hand():
    out = tpm(COUNTS, LENGTHS)
    # s1 rates per bp: 0.01, 0, 0.18 -> total 0.19
    np.testing.assert_allclose(out.loc["s1"].to_numpy(), np.array([0.01, 0, 0.18]) / 0.19 * 1e6)
    # s2 rates: 0.005, 0.0025, 0 -> total 0.0075
    np.testing.assert_allclose(out.loc["s2"].to_numpy(), [1e6 * 2 / 3, 1e6 / 3, 0.0])


def test_missing_length_and_empty_sample():
    with pytest.raises(UserInputError, match="no length"):
        fpkm(COUNTS, LENGTHS.drop("b"))
    zero = COUNTS.copy()
    zero.loc["s2"] = 0
    with pytest.raises(UserInputError, match="s2"):
        tpm(zero, LENGTHS)


@settings(max_examples=30, deadline=None)
@given(arrays(np.int64, (3, 4), elements=st.integers(1, 1000)),
       arrays(np.int64, 4, elements=st.integers(50, 10_000)))
def test_tpm_is_rescaled_fpkm(counts, lengths):
    df = pd.DataFrame(counts.astype(float), columns=list("wxyz"))
    length = pd.Series(lengths.astype(float), index=list("wxyz"))
    f, t = fpkm(df, length), tpm(df, length)
    np.testing.assert_allclose(t.sum(axis=1), 1e6)
    np.testing.assert_allclose(t.to_numpy(), f.to_numpy() / f.to_numpy().sum(1, keepdims=True) * 1e6)
