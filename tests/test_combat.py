"""ComBat (optional extra 'combat' = inmoose) removes batch mean shifts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aprior_cli.combat import combat


def test_combat_removes_batch_shift():
    pytest.importorskip("inmoose.pycombat", reason="optional extra 'combat' (inmoose) absent")
    rng = np.random.default_rng(0)
    n, p = 40, 25
    biology = rng.normal(size=(n, p))
    batch = pd.Series(np.repeat(["a", "b"], n // 2), index=[f"s{i}" for i in range(n)])
    shift = np.where(batch.to_numpy() == "b", 1.0, 0.0)[:, None] * rng.uniform(2, 4, size=p)
    x = pd.DataFrame(biology + shift, index=batch.index, columns=[f"g{j}" for j in range(p)])
    y = combat(x, batch)
    gap_before = (x[batch == "b"].mean() - x[batch == "a"].mean()).abs()
    gap_after = (y[batch == "b"].mean() - y[batch == "a"].mean()).abs()
    assert gap_before.min() > 1.5
    assert gap_after.mean() < 0.1 * gap_before.mean() and gap_after.max() < 0.5
    # within-batch structure is kept: correlation with the batch-free signal stays high
    corr = np.corrcoef(y.to_numpy().ravel(), biology.ravel())[0, 1]
    assert corr > 0.9


def test_constant_gene_passes_through():
    pytest.importorskip("inmoose.pycombat", reason="optional extra 'combat' (inmoose) absent")
    rng = np.random.default_rng(1)
    x = pd.DataFrame(rng.normal(size=(12, 4)), columns=list("abcd"),
                     index=[f"s{i}" for i in range(12)])
    x["d"] = 5.0
    batch = pd.Series(np.repeat(["u", "v", "w"], 4), index=x.index)
    y = combat(x, batch)
    np.testing.assert_array_equal(y["d"], 5.0)
    assert np.isfinite(y.to_numpy()).all()
