"""Real data: GDSC drug response with MERGE AML meta-features (skipped without ../shared/data)."""

from __future__ import annotations

import numpy as np
import pytest

from aprior_cli.dapr.drug_response import (
    align_samples,
    drug_response_comparison,
    summarize_comparison,
)
from aprior_cli.dapr.fit import FitConfig
from aprior_cli.errors import UserInputError
from aprior_cli.io.gdsc import read_gdsc_expression, read_gdsc_response, read_merge_features

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def gdsc(shared_data):
    expression = read_gdsc_expression(shared_data / "gdsc" / "GDSC_rnaseq_sanger.from_rda.csv.gz")
    response = read_gdsc_response(shared_data / "gdsc" / "raw" / "GDSC2_fitted_dose_response.tsv",
                                  "Erlotinib")
    meta = read_merge_features(shared_data / "merge_aml" / "merge_features.csv")
    return expression, response, meta


def test_gdsc_inputs_and_alignment(gdsc):
    expression, response, meta = gdsc
    assert expression.shape == (100, 1350)
    assert float(expression.min().min()) >= 0.0  # log2(FPKM + 1)
    assert list(meta.columns) == ["Mutation", "Expression hub", "Regulator",
                                  "Genomic abnormalities (CNV)", "meEthylation"]
    x, y, genes = align_samples(expression, response, meta)
    assert x.shape[0] == len(y) == 89
    assert len(genes) == x.shape[1] == 568


def test_gdsc_pipeline_gives_finite_mses(gdsc):
    expression, response, meta = gdsc
    config = FitConfig(task="regression", lr=1e-3, weight_decay=0.0, max_epochs=8, patience=4)
    grids = {"MLP+L1": (1e-3,), "DAPr": (1.0,), "DAPr(noise)": (1.0,)}
    runs = drug_response_comparison(expression, response, meta, n_splits=1,
                                    methods=("MLP", "MLP+L1", "DAPr", "DAPr(noise)"),
                                    hidden=(16,), config=config, grids=grids)
    assert set(runs["method"]) == {"predict-mean", "MLP", "MLP+L1", "DAPr", "DAPr(noise)"}
    assert np.isfinite(runs["test_mse"]).all() and (runs["test_mse"] > 0).all()
    assert (runs["n_train"] == 53).all() and (runs["n_genes"] == 568).all()
    summary = summarize_comparison(runs)
    assert summary.set_index("method").loc["MLP", "splits_better_than_MLP"] == 0


def test_unknown_drug_is_one_line(shared_data):
    with pytest.raises(UserInputError, match="no rows for drug 'Aspirin'"):
        read_gdsc_response(shared_data / "gdsc" / "raw" / "GDSC2_fitted_dose_response.tsv",
                           "Aspirin")
