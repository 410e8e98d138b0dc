"""Two moons with nuisance features: data, meta-features, summary, option parsing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aprior_cli.dapr.fit import FitConfig
from aprior_cli.dapr.moons import (
    make_moons,
    moons_dataset,
    moons_meta_features,
    parse_p_values,
    run_moons,
    summarize_runs,
)
from aprior_cli.errors import UserInputError


def test_moons_geometry():
    rng = np.random.default_rng(0)
    x, y = make_moons(400, 0.0, rng)
    assert x.shape == (400, 2) and np.bincount(y).tolist() == [200, 200]
    outer, inner = x[y == 0], x[y == 1]
    np.testing.assert_allclose(np.hypot(outer[:, 0], outer[:, 1]), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.hypot(inner[:, 0] - 1.0, inner[:, 1] - 0.5), 1.0, atol=1e-12)
    assert outer[:, 1].min() >= -1e-12 and inner[:, 1].max() <= 0.5 + 1e-12
    noisy, _ = make_moons(4000, 0.1, np.random.default_rng(1))
    clean, _ = make_moons(4000, 0.0, np.random.default_rng(1))
    # same permutation draw order is not guaranteed, so compare the residual spread directly
    assert noisy.std() > clean.std() * 0.95


def test_moons_dataset_split_and_nuisance():
    data = moons_dataset(30, seed=3)
    x, y, split = data["x"], data["y"], data["split"]
    assert x.shape == (1000, 32) and x.dtype == np.float32
    assert np.bincount(split).tolist() == [200, 400, 400]
    nuisance = x[:, 2:]
    assert abs(nuisance.mean()) < 0.02 and abs(nuisance.std() - 1.0) < 0.02
    again = moons_dataset(30, seed=3)
    np.testing.assert_array_equal(again["x"], x)
    assert set(np.unique(y)) == {0, 1}


def test_moons_meta_features_are_train_mean_and_std():
    data = moons_dataset(5, seed=0)
    train = data["x"][data["split"] == 0]
    meta = moons_meta_features(train)
    assert list(meta.columns) == ["mean", "std"] and meta.shape == (7, 2)
    np.testing.assert_allclose(meta["mean"], train.mean(0), rtol=1e-6)
    np.testing.assert_allclose(meta["std"], train.std(0), rtol=1e-6)
    # the informative coordinates stand out: smaller spread than the N(0, 1) nuisance
    assert meta["std"].iloc[:2].max() < meta["std"].iloc[2:].min()


def test_summarize_runs_mean_and_standard_error():
    runs = pd.DataFrame({"p": [5, 5, 5, 5, 5, 5], "dataset": [0, 1, 2, 0, 1, 2],
                         "method": ["MLP"] * 3 + ["DAPr"] * 3,
                         "test_accuracy": [0.5, 0.6, 0.7, 0.9, 0.9, 0.9]})
    summary = summarize_runs(runs).set_index("method")
    assert summary.loc["MLP", "mean_accuracy"] == pytest.approx(0.6)
    assert summary.loc["MLP", "sem"] == pytest.approx(0.1 / np.sqrt(3))
    assert summary.loc["DAPr", "sem"] == pytest.approx(0.0)
    assert summary.loc["DAPr", "n_datasets"] == 3


def test_run_moons_tiny():
    runs, summary = run_moons([3], 1, config=FitConfig(max_epochs=2, patience=5))
    assert len(runs) == 2 and set(runs["method"]) == {"MLP", "DAPr"}
    assert runs["test_accuracy"].between(0, 1).all()
    assert summary["n_datasets"].tolist() == [1, 1]


@pytest.mark.parametrize("text", ["", "a,b", "0", "10,-5", "1.5"])
def test_parse_p_values_rejects_bad(text):
    with pytest.raises(UserInputError, match="--p"):
        parse_p_values(text)


def test_parse_p_values():
    assert parse_p_values("50, 100,200") == [50, 100, 200]
