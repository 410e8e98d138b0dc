"""Joining meta-feature tables onto model features: coverage, policies, standardisation, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aprior_cli.dapr.metafeatures import (
    join_meta_features,
    meta_feature_frame,
    noise_meta_features,
)
from aprior_cli.errors import UserInputError


def _table() -> pd.DataFrame:
    # as read from a file: gene ids in the first column, RangeIndex
    return pd.DataFrame({"gene": ["A", "B", "C", "D", "B"],
                         "mut": [1.0, 2.0, 3.0, 4.0, 4.0],
                         "hub": [0, 0, 10, 10, 0]})


def test_join_exclude_coverage_and_standardisation():
    joined = join_meta_features(_table(), ["C", "X", "A", "B", "Y"])
    assert joined.genes == ["C", "A", "B"]
    assert joined.feature_index.tolist() == [0, 2, 3]
    cov = joined.coverage
    assert cov["n_matched"] == 3 and cov["n_unmatched"] == 2
    assert cov["unmatched_examples"] == ["X", "Y"]
    assert cov["n_duplicate_rows_averaged"] == 1
    assert cov["fraction_matched"] == pytest.approx(3 / 5)
    # B is the mean of its two rows: mut 3, hub 0
    raw = np.array([[3.0, 10.0], [1.0, 0.0], [3.0, 0.0]])
    expected = (raw - raw.mean(0)) / raw.std(0)
    np.testing.assert_allclose(joined.values, expected, rtol=1e-6)
    np.testing.assert_allclose(joined.values.mean(0), 0, atol=1e-6)
    np.testing.assert_allclose(joined.center, raw.mean(0))


def test_join_impute_mean_penalises_unmatched_at_the_mean():
    joined = join_meta_features(_table(), ["C", "X", "A"], policy="impute-mean")
    assert joined.genes == ["C", "A", "X"]
    assert joined.feature_index.tolist() == [0, 2, 1]
    np.testing.assert_allclose(joined.values[2], 0.0)
    assert joined.coverage["n_penalised"] == 3


def test_penalizable_excludes_covariates_and_constant_columns_become_zero():
    table = pd.DataFrame({"m": [1.0, 1.0]}, index=["A", "B"])
    joined = join_meta_features(table, ["A", "B", "drug"], penalizable=["A", "B"],
                                policy="impute-mean")
    assert joined.genes == ["A", "B"]
    assert joined.coverage["constant_meta_features"] == ["m"]
    np.testing.assert_allclose(joined.values, 0.0)


def test_index_table_is_used_as_gene_ids():
    frame = meta_feature_frame(pd.DataFrame({"m": [1.0]}, index=["G"]))
    assert list(frame.index) == ["G"]


def test_noise_meta_features_seeded():
    a, b, c = (noise_meta_features((50, 3), seed=s) for s in (1, 1, 2))
    assert a.shape == (50, 3) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert abs(float(a.mean())) < 0.3 and 0.7 < float(a.std()) < 1.3


@pytest.mark.parametrize(("table", "features", "kwargs", "needle"), [
    (pd.DataFrame({"gene": ["A"], "m": [1.0]}), ["X", "Y"], {}, "none of its 1 gene ids match"),
    (pd.DataFrame({"gene": ["A", "B"], "m": ["1", "high"]}), ["A"], {}, "column 'm' is not numeric"),
    (pd.DataFrame({"gene": ["A", "B"], "m": [1.0, np.nan]}), ["A"], {}, "column 'm' has 1 missing"),
    (pd.DataFrame({"gene": ["A", "B"], "m": [1.0, np.inf]}), ["A"], {}, "infinite"),
    (pd.DataFrame({"gene": ["A", "B"]}), ["A"], {}, "at least one meta-feature column"),
    (pd.DataFrame({"gene": ["A"], "m": [1.0]}), ["A"], {"policy": "zero"}, "unknown missing-gene policy"),
    (pd.DataFrame({"gene": ["A"], "m": [1.0]}), ["A"], {"penalizable": ["Q"]}, "not a model feature"),
])
def test_bad_tables_raise_one_line(table, features, kwargs, needle):
    with pytest.raises(UserInputError) as info:
        join_meta_features(table, features, source="meta.tsv", **kwargs)
    message = str(info.value)
    assert needle in message
    assert message.startswith("meta.tsv: ")
    assert "\n" not in message
