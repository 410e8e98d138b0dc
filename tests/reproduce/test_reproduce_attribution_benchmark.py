"""Attribution benchmark: datasets, masking measures and an end-to-end run (tiny sizes)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aprior_cli.reproduce import attribution_benchmark as ab
from aprior_cli.reproduce.common import normalized_auc


def test_corrgroups60_has_exact_group_correlation() -> None:
    x, y = ab.make_dataset("corrgroups60", 500, seed=3)
    corr = np.corrcoef(x.T)
    np.testing.assert_allclose(corr, ab.correlation_groups(), atol=1e-8)
    beta = np.zeros(60)
    beta[[0, 3, 6, 9, 12, 15, 18, 21, 24, 27]] = 1
    assert np.abs(y - x @ beta).max() < 0.05  # noise sd 0.01


def test_independentlinear60_is_centred_with_ten_true_features() -> None:
    x, y = ab.make_dataset("independentlinear60", 400, seed=1)
    np.testing.assert_allclose(x.mean(0), 0, atol=1e-12)
    coef = np.linalg.lstsq(x, y - y.mean(), rcond=None)[0]
    assert set(np.flatnonzero(np.abs(coef) > 0.5)) == set(range(0, 30, 3))
    with pytest.raises(ValueError, match="unknown dataset"):
        ab.make_dataset("nope")


def test_splits_match_sklearn_train_test_split() -> None:
    model_selection = pytest.importorskip("sklearn.model_selection")
    rows = np.arange(300)
    for state in (0, 4):
        train, test = ab.split_indices(300, 100, state)
        ref_train, ref_test = model_selection.train_test_split(rows, test_size=100,
                                                               random_state=state)
        np.testing.assert_array_equal(train, ref_train)
        np.testing.assert_array_equal(test, ref_test)


def test_seed_zero_draws_follow_shaps_legacy_stream() -> None:
    # shap.datasets.independentlinear60: np.random.seed(0); X = randn(N, 60) centred
    x, y = ab.make_dataset("independentlinear60", 50, seed=0)
    legacy = np.random.RandomState(0)  # noqa: NPY002 - the reference stream
    start = legacy.randn(50, 60)
    np.testing.assert_allclose(x, start - start.mean(0))
    beta = ((np.arange(60) % 3 == 0) & (np.arange(60) < 30)).astype(float)
    np.testing.assert_allclose(y, x @ beta + legacy.randn(50) * 1e-2)


def test_feature_counts_match_shap_intlogspace() -> None:
    # shap.benchmark.metrics.__intlogspace(0, 60, 11), evaluated with shap 0.4x
    assert ab.feature_counts(60).tolist() == [0, 2, 4, 7, 10, 14, 20, 27, 35, 46, 60]


def test_normalized_auc_is_trapezoid_over_last_x() -> None:
    x = np.array([0.0, 1.0, 3.0])
    y = np.array([0.0, 1.0, 2.0])
    assert normalized_auc(x, y) == pytest.approx((0.5 + 3.0) / 3.0)


def test_mask_and_resample_replace_the_right_features() -> None:
    x_train = np.array([[0.0, 0.0, 0.0], [2.0, 4.0, 6.0]])  # mean 1, 2, 3
    x_test = np.array([[10.0, 20.0, 30.0]])
    order = np.array([[2, 0, 1]])  # feature 2 most important
    cov = np.eye(3)
    keep = ab.masked_inputs("keep", "mask", np.array([1]), order, x_test, x_train, cov,
                            np.array([0]))
    np.testing.assert_array_equal(keep, [[1.0, 2.0, 30.0]])
    remove = ab.masked_inputs("remove", "mask", np.array([2]), order, x_test, x_train, cov,
                              np.array([0]))
    np.testing.assert_array_equal(remove, [[1.0, 20.0, 3.0]])
    res = ab.masked_inputs("remove", "resample", np.array([1]), order, x_test, x_train, cov,
                           np.array([0, 1]))
    np.testing.assert_array_equal(res, [[10.0, 20.0, 0.0], [10.0, 20.0, 6.0]])


def test_impute_equals_per_row_conditional_gaussian_mean() -> None:
    rng = np.random.default_rng(0)
    x, _ = ab.make_dataset("corrgroups60", 200, seed=2)
    x_test = x[:15]
    cov = np.cov(x.T) + np.eye(60) * 1e-6
    mean = x.mean(0)
    order = np.argsort(-rng.random((15, 60)), axis=1)
    n_sel = rng.integers(0, 61, 15)
    for kind in ("keep", "remove"):
        out = ab.masked_inputs(kind, "impute", n_sel, order, x_test, x, cov, np.arange(3))
        for i in range(15):
            top = np.zeros(60, dtype=bool)
            top[order[i, :n_sel[i]]] = True
            rep = ~top if kind == "keep" else top
            imp, obs = np.flatnonzero(rep), np.flatnonzero(~rep)
            expected = x_test[i].copy()
            if imp.size and obs.size:
                expected[imp] = mean[imp] + cov[np.ix_(imp, obs)] @ np.linalg.solve(
                    cov[np.ix_(obs, obs)], x_test[i, obs] - mean[obs])
            elif imp.size:
                expected[imp] = mean[imp]
            np.testing.assert_allclose(out[i], expected, atol=1e-8)


def test_true_linear_attributions_beat_random_on_every_metric() -> None:
    x, y = ab.make_dataset("independentlinear60", 300, seed=0)
    beta = np.zeros(60)
    beta[0:30:3] = 1.0
    x_train, x_test, y_test = x[100:], x[:100], y[:100]
    phi_true = (x_test - x_train.mean(0)) * beta  # exact Shapley values of the linear model
    phi_rand = np.random.default_rng(0).standard_normal(phi_true.shape)
    model = lambda a: a @ beta  # noqa: E731
    true = ab.metric_curves(model, phi_true, x_train, x_test, y_test, resample_size=8)
    rand = ab.metric_curves(model, phi_rand, x_train, x_test, y_test, resample_size=8)
    assert set(true) == set(ab.METRICS) and len(ab.METRICS) == 18
    for metric in ab.METRICS:
        a, b = normalized_auc(*true[metric]), normalized_auc(*rand[metric])
        assert ab.DIRECTION[metric] * (a - b) > 0, metric
    counts, values = true["keep_absolute_mask"]
    assert values[-1] == pytest.approx(1.0, abs=1e-3)  # all features kept: R^2 of the model
    assert values[0] <= 0.0                              # none kept: constant prediction


def test_run_quick_end_to_end() -> None:
    torch.manual_seed(0)
    result = ab.run(ab.QUICK, seed=0)
    table = result.table
    assert list(table.columns) == ["dataset", "method", "test_r2", *ab.METRICS]
    assert len(table) == 8
    assert set(table["method"]) == set(ab.METHODS)
    assert np.isfinite(table[list(ab.METRICS)].to_numpy()).all()
    assert (table["test_r2"] > 0.5).all()
    absolute = [m for m in ab.METRICS if "absolute" in m and m.startswith("keep")]
    assert ((table[absolute] > -1.0) & (table[absolute] <= 1.0)).all().all()
    for dataset, sub in table.groupby("dataset"):
        eg = sub[sub["method"] == "expected_gradients"].iloc[0]
        rnd = sub[sub["method"] == "random"].iloc[0]
        for masker in ab.MASKERS:
            assert eg[f"keep_absolute_{masker}"] > rnd[f"keep_absolute_{masker}"], dataset
    assert set(result.extra_tables) == {"curves", "best_method"}
    assert len(result.extra_tables["best_method"]) == 36
    assert result.figure.axes
