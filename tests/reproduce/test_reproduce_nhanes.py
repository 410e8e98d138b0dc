"""NHANES sparsity experiment: label derivation, preprocessing, real-data run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aprior_cli.reproduce import nhanes_sparsity as ns


def test_ten_year_mortality_sign_convention() -> None:
    y = np.array([3.0, 10.0, 10.5, -12.0, -4.0, 15.0, -10.0])
    label, known = ns.ten_year_mortality(y)
    np.testing.assert_array_equal(known, [True, True, True, True, False, True, False])
    np.testing.assert_array_equal(label[known], [1, 1, 0, 0, 0])


def test_prepare_uses_training_statistics_only() -> None:
    x = pd.DataFrame({"a": [1.0, np.nan, 3.0, 100.0], "b": [2.0, 2.0, 2.0, 5.0]})
    train = np.array([0, 1, 2])
    out = ns.prepare(x, train, np.array([1, 3]))
    # a: train mean 2 (NaN ignored), imputed rows {1,2,3} -> sd of [1,2,3] = sqrt(2/3)
    sd = np.sqrt(2 / 3)
    np.testing.assert_allclose(out[:, 0], [0.0, (100 - 2) / sd])
    np.testing.assert_allclose(out[:, 1], [0.0, 3.0])  # constant training column: sd 1


def test_lambda_grids_are_logarithmic() -> None:
    assert ns.lambda_grid("unregularized", 5) == [0.0]
    grid = ns.lambda_grid("gini_eg", 3)
    np.testing.assert_allclose(np.diff(np.log10(grid)), np.diff(np.log10(grid))[0])
    assert len(grid) == 3 and grid[0] > 0


@pytest.mark.realdata
def test_load_nhanes_counts_match_source(shared_data) -> None:
    x, y = ns.load_nhanes(shared_data)
    assert x.shape == (9535, 18)
    assert int(y.sum()) == 1503 and int((y == 0).sum()) == 8032
    assert x["Poverty index"].max() < 999


@pytest.mark.realdata
def test_run_quick_on_real_data(shared_data) -> None:
    result = ns.run(ns.QUICK, seed=0, data_dir=shared_data)
    table = result.table
    assert len(table) == 3 * 6
    assert list(dict.fromkeys(table["method"])) == list(ns.METHODS)
    assert table["test_auc"].between(0.55, 1.0).all()  # age alone predicts mortality
    assert table["gini"].between(0.0, 1.0).all()
    grid = {m: set(ns.lambda_grid(m, ns.QUICK.grid_points)) for m in ns.METHODS}
    assert all(lam in grid[m] for m, lam in zip(table["method"], table["lambda"], strict=True))
    tests = result.extra_tables["paired_tests"]
    assert set(tests["method_b"]) == {"gini_eg"} and len(tests) == 5 * 2
    assert tests["wilcoxon_pvalue"].dropna().between(0, 1).all()
