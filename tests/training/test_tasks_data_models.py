"""Tasks' losses and metrics, data alignment, the MLP factory."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import torch

from aprior_cli.errors import UserInputError
from aprior_cli.models import build_mlp, output_size
from aprior_cli.training.data import align
from aprior_cli.training.tasks import get_task, r2_score, roc_auc


def test_roc_auc_equals_pairwise_definition():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 40)
    s = np.round(rng.normal(size=40), 1)  # ties on purpose
    pos, neg = s[y == 1], s[y == 0]
    pairwise = np.mean([1.0 if a > b else 0.5 if a == b else 0.0
                        for a, b in itertools.product(pos, neg)])
    assert roc_auc(y, s) == pytest.approx(pairwise)
    assert np.isnan(roc_auc(np.ones(5), s[:5]))


def test_r2_and_task_losses():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert r2_score(y, y) == 1.0
    assert r2_score(y, np.full(4, 2.5)) == pytest.approx(0.0)
    out = torch.tensor([[0.5], [1.0], [-2.0]])
    yt = torch.tensor([1.0, 0.0, 0.0])
    m = get_task("binary").metrics(out, yt)
    expected = -np.mean([np.log(1 / (1 + np.exp(-0.5))), np.log(1 - 1 / (1 + np.exp(-1.0))),
                         np.log(1 - 1 / (1 + np.exp(2.0)))])
    assert m["loss"] == pytest.approx(expected, rel=1e-6)
    assert m["accuracy"] == pytest.approx(2 / 3)
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 3.0]])
    mc = get_task("multiclass").metrics(logits, torch.tensor([0, 1]))
    assert mc["accuracy"] == 0.5
    with pytest.raises(UserInputError):
        get_task("ranking")


def test_build_mlp_shapes():
    m = build_mlp(7, hidden=[5, 4], n_outputs=3, activation="tanh", dropout=0.1,
                  batch_norm=True, standardize=True)
    assert m(torch.randn(6, 7)).shape == (6, 3)
    kinds = [type(layer).__name__ for layer in m]
    assert kinds == ["Standardize", "Linear", "BatchNorm1d", "Tanh", "Dropout", "Linear",
                     "BatchNorm1d", "Tanh", "Dropout", "Linear"]
    assert output_size("binary") == 1 and output_size("multiclass", 4) == 4
    with pytest.raises(UserInputError):
        build_mlp(3, activation="swishy")


def _expr():
    return pd.DataFrame(np.arange(12, dtype=float).reshape(4, 3), index=["s1", "s2", "s3", "s4"],
                        columns=["g1", "g2", "g3"])


def test_align_orders_by_labels_and_appends_covariates():
    labels = pd.DataFrame({"sample": ["s3", "s1", "s2"], "target": ["b", "a", "b"],
                           "drug": ["x", "y", "x"], "age": [30, 40, 50]})
    d = align(_expr(), labels, "binary", covariates=["drug", "age"])
    assert d.samples == ["s3", "s1", "s2"]
    assert d.features == ["g1", "g2", "g3", "drug=x", "drug=y", "age"]
    assert d.n_genes == 3 and d.classes == ["a", "b"]
    np.testing.assert_array_equal(d.y, [1, 0, 1])
    np.testing.assert_array_equal(d.x[0], [6, 7, 8, 1, 0, 30])


@pytest.mark.parametrize(("labels", "expr", "match"), [
    (pd.DataFrame({"sample": ["s1", "zz"], "target": [1.0, 2.0]}), None, "not in expression"),
    (pd.DataFrame({"sample": ["s1", "s2"], "target": [1.0, "high"]}), None, "numeric"),
    (pd.DataFrame({"sample": ["s1", "s2"], "target": [1.0, 2.0]}), "nan", "missing or infinite"),
    (pd.DataFrame({"sample": ["s1", "s1"], "target": [1.0, 2.0]}), None, "has 2 rows"),
    (pd.DataFrame({"id": ["s1"], "target": [1.0]}), None, "'sample' column"),
])
def test_align_bad_inputs(labels, expr, match):
    e = _expr()
    if expr == "nan":
        e.iloc[1, 2] = np.nan
    with pytest.raises(UserInputError, match=match):
        align(e, labels, "regression")
