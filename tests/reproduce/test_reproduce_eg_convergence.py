"""EG convergence: error measures against hand values and a tiny end-to-end run."""

from __future__ import annotations

import numpy as np
import pytest

from aprior_cli.reproduce import eg_convergence as ec


def test_attribution_errors_by_hand() -> None:
    ref = np.array([[3.0, 4.0], [0.0, 1.0]])
    est = np.array([[3.0, 4.0 + 0.5], [0.0, 0.0]])
    errs = ec.attribution_errors(est, ref, top=1)
    assert errs["rel_l2_error"] == pytest.approx((0.5 / 5.0 + 1.0 / 1.0) / 2)
    assert errs["mean_abs_error"] == pytest.approx(1.5 / 4)
    # row 0: top feature 1 in both; row 1: ref top 1, estimate ties at 0 -> argsort picks 0
    assert errs["top10_overlap"] == pytest.approx(0.5)


def test_run_tiny_error_shrinks_with_samples() -> None:
    settings = ec.Settings(sample_counts=(5, 200), reference_samples=400, replicates=2,
                           n_points=200, n_explain=15, epochs=8, patience=3)
    result = ec.run(settings, seed=0)
    table = result.table
    assert list(table.columns) == ["n_samples", "replicate", "rel_l2_error", "mean_abs_error",
                                   "top10_overlap"]
    assert len(table) == 4
    means = table.groupby("n_samples").mean()
    assert means.loc[200, "rel_l2_error"] < 0.6 * means.loc[5, "rel_l2_error"]
    assert ((table["top10_overlap"] >= 0) & (table["top10_overlap"] <= 1)).all()
    assert np.isfinite(table.to_numpy(dtype=float)).all()
