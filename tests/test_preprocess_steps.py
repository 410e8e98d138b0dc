"""Preprocessing steps: validation, ids, duplicates, filters, log2, scaler fit/apply."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aprior_cli.errors import UserInputError
from aprior_cli.preprocess import (
    PreprocessOptions,
    combine_duplicate_genes,
    preprocess,
    strip_ensembl_version,
    validate_counts,
)


def counts_table():
    # 4 samples x 5 genes; g4 is zero in 3/4 samples, g5 is non-coding
    return pd.DataFrame({"g1": [10, 20, 30, 40], "g2": [5, 0, 5, 10], "g3": [100, 80, 60, 90],
                         "g4": [0, 0, 0, 8], "g5": [7, 7, 7, 7]},
                        index=["s1", "s2", "s3", "s4"], dtype=float)


LENGTHS = pd.Series({"g1": 1000.0, "g2": 500.0, "g3": 2000.0, "g4": 1000.0, "g5": 100.0})
BIOTYPES = pd.Series({"g1": "protein_coding", "g2": "protein_coding", "g3": "protein_coding",
                      "g4": "protein_coding", "g5": "lncRNA"})


def test_strip_version():
    ids = strip_ensembl_version(["ENSG00000141956.13", "ENSMUSG0000001.2", "TP53",
                                 "ENSG00000002586.18_PAR_Y", "ENSG1"])
    assert list(ids) == ["ENSG00000141956", "ENSMUSG0000001", "TP53", "ENSG00000002586_PAR_Y",
                         "ENSG1"]


@pytest.mark.parametrize("value, message", [
    (-1, "negative count -1 for sample 's2', gene 'g3'"),
    ("abc", "non-numeric or non-finite value 'abc' for sample 's2', gene 'g3'"),
    (np.nan, "missing value"),
    (np.inf, "non-numeric or non-finite"),
])
def test_validate_rejects(value, message):
    df = counts_table().astype(object)
    df.loc["s2", "g3"] = value
    with pytest.raises(UserInputError, match=message):
        validate_counts(df)


def test_validate_duplicate_samples():
    df = counts_table()
    df.index = ["s1", "s1", "s3", "s4"]
    with pytest.raises(UserInputError, match="duplicate sample id 's1'"):
        validate_counts(df)


def test_duplicate_gene_policies():
    df = pd.DataFrame([[1.0, 2.0, 4.0], [3.0, 5.0, 7.0]], columns=["a", "b", "a"])
    with pytest.raises(UserInputError, match="duplicate gene id 'a'.*--duplicates"):
        combine_duplicate_genes(df, "error")
    summed, n = combine_duplicate_genes(df, "sum")
    assert n == 1 and list(summed.columns) == ["a", "b"]
    np.testing.assert_array_equal(summed.to_numpy(), [[5, 2], [10, 5]])
    np.testing.assert_array_equal(combine_duplicate_genes(df, "mean")[0]["a"], [2.5, 5])
    np.testing.assert_array_equal(combine_duplicate_genes(df, "first")[0]["a"], [1, 3])


def test_full_pipeline_by_hand():
    x, scaler, report = preprocess(counts_table(), PreprocessOptions(), lengths=LENGTHS,
                                   biotypes=BIOTYPES)
    # biotype drops g5, zero filter (> 70 % zeros) drops g4 (75 %); g2 (25 %) stays
    assert list(x.columns) == ["g1", "g2", "g3"]
    counts = counts_table()
    n = counts.sum(axis=1).to_numpy()  # N before any filter, includes g4 and g5
    fpkm_g1 = counts["g1"].to_numpy() * 1e9 / (n * 1000.0)
    logv = np.log2(fpkm_g1 + 1)
    np.testing.assert_allclose(x["g1"], (logv - logv.mean()) / logv.std())
    np.testing.assert_allclose(scaler.mean[0], logv.mean())
    steps = [s["step"] for s in report["steps"]]
    assert steps == ["read", "duplicate_genes", "fpkm", "biotype", "zero_filter", "log2", "zscore"]
    by = {s["step"]: s for s in report["steps"]}
    assert (by["biotype"]["genes_in"], by["biotype"]["genes_out"]) == (5, 4)
    assert (by["zero_filter"]["genes_in"], by["zero_filter"]["genes_out"]) == (4, 3)


def test_zero_filter_threshold_and_skip():
    opts = PreprocessOptions(normalization="none", keep_biotypes=None, max_zero_fraction=0.75,
                             log2=False, zscore=False)
    x, scaler, _ = preprocess(counts_table(), opts)
    assert "g4" in x.columns and scaler is None  # 75 % zeros is not > 75 %
    opts.max_zero_fraction = 0.2
    x, _, _ = preprocess(counts_table(), opts)
    assert list(x.columns) == ["g1", "g3", "g5"]
    np.testing.assert_array_equal(x.to_numpy(), counts_table()[["g1", "g3", "g5"]].to_numpy())


def test_tpm_and_log2_values():
    opts = PreprocessOptions(normalization="tpm", keep_biotypes=None, max_zero_fraction=None,
                             zscore=False)
    x, _, report = preprocess(counts_table(), opts, lengths=LENGTHS)
    np.testing.assert_allclose((2 ** x - 1).sum(axis=1), 1e6)
    assert report["steps"][2]["step"] == "tpm"


def test_missing_lengths_error_or_drop():
    lengths = LENGTHS.drop(["g2", "g4"])
    with pytest.raises(UserInputError, match="2 of 5 genes have no length"):
        preprocess(counts_table(), PreprocessOptions(), lengths=lengths)
    warnings = []
    x, _, report = preprocess(counts_table(), PreprocessOptions(drop_missing_lengths=True,
                                                                keep_biotypes=None),
                              lengths=lengths, warn=warnings.append)
    assert warnings == ["dropping 2 genes without a length (--drop-missing-lengths)"]
    assert report["steps"][2] == {"step": "drop_missing_lengths", "genes_in": 5, "genes_out": 3,
                                  "samples_in": 4, "samples_out": 4, "dropped": 2}
    assert list(x.columns) == ["g1", "g3", "g5"]


def test_no_lengths_for_fpkm():
    with pytest.raises(UserInputError, match="needs gene lengths"):
        preprocess(counts_table(), PreprocessOptions())


def test_biotype_skipped_without_annotation():
    warnings = []
    _, _, report = preprocess(counts_table(), PreprocessOptions(normalization="none"),
                              warn=warnings.append)
    assert {"step": "biotype", "genes_in": 5, "genes_out": 5, "samples_in": 4, "samples_out": 4,
            "skipped": "no biotype available"} in report["steps"]
    assert len(warnings) == 1


def test_scaler_fitted_on_training_samples_only():
    opts = PreprocessOptions(normalization="none", keep_biotypes=None, max_zero_fraction=None)
    base = counts_table()
    x, scaler, _ = preprocess(base, opts, train_samples=["s1", "s2", "s3"])
    logv = np.log2(base + 1)
    train = logv.loc[["s1", "s2", "s3"]]
    np.testing.assert_allclose(scaler.mean, train.mean().to_numpy())
    np.testing.assert_allclose(x.loc["s4"], ((logv.loc["s4"] - train.mean()) / train.std(ddof=0)
                                             .where(train.std(ddof=0) > 0, 1.0)).to_numpy())
    # no leakage: changing the test sample changes nothing fitted, nor the training rows
    changed = base.copy()
    changed.loc["s4"] *= 1000
    x2, scaler2, _ = preprocess(changed, opts, train_samples=["s1", "s2", "s3"])
    np.testing.assert_array_equal(scaler.mean, scaler2.mean)
    np.testing.assert_array_equal(scaler.sd, scaler2.sd)
    np.testing.assert_array_equal(x.loc[["s1", "s2", "s3"]], x2.loc[["s1", "s2", "s3"]])
    # g5 is constant on the training samples: sd replaced by 1, centred only
    assert scaler.sd[list(x.columns).index("g5")] == 1.0


def test_zero_filter_fitted_on_training_samples():
    opts = PreprocessOptions(normalization="none", keep_biotypes=None, zscore=False)
    x, _, _ = preprocess(counts_table(), opts, train_samples=["s1", "s2"])
    assert "g2" in x.columns  # zero in 1/2 training samples
    x, _, _ = preprocess(counts_table(), opts, train_samples=["s2", "s4"])
    assert "g4" in x.columns  # zero in 1/2 training samples, although 3/4 overall
    with pytest.raises(UserInputError, match="not samples of the counts"):
        preprocess(counts_table(), opts, train_samples=["s1", "zz"])


def test_apply_saved_scaler():
    opts = PreprocessOptions(keep_biotypes=None)
    train_counts = counts_table()
    x, scaler, _ = preprocess(train_counts, opts, lengths=LENGTHS)
    new = counts_table().iloc[[0, 2]] * 2
    new["extra"] = 3.0
    lengths = pd.concat([LENGTHS, pd.Series({"extra": 10.0})])
    y, same, report = preprocess(new, opts, lengths=lengths, scaler=scaler)
    assert same is scaler and report["mode"] == "apply"
    assert list(y.columns) == scaler.genes
    n = new.sum(axis=1).to_numpy()
    fp = np.log2(new["g1"].to_numpy() * 1e9 / (n * 1000.0) + 1)
    np.testing.assert_allclose(y["g1"], (fp - scaler.mean[0]) / scaler.sd[0])
    with pytest.raises(UserInputError, match="genes of the scaler are missing"):
        preprocess(new.drop(columns=["g3"]), opts, lengths=lengths, scaler=scaler)
    with pytest.raises(UserInputError, match="normalization=fpkm"):
        preprocess(new, PreprocessOptions(normalization="tpm"), lengths=lengths, scaler=scaler)


def test_combat_hook_receives_log_values():
    seen = {}

    def fake_combat(x, batch):
        seen["x"], seen["batch"] = x.copy(), batch.copy()
        return x - x.groupby(batch.to_numpy()).transform("mean").to_numpy()

    opts = PreprocessOptions(normalization="none", keep_biotypes=None, max_zero_fraction=None,
                             zscore=False)
    batches = pd.Series({"s1": "a", "s2": "a", "s3": "b", "s4": "b"})
    x, _, report = preprocess(counts_table(), opts, batches=batches, combat=fake_combat)
    np.testing.assert_allclose(seen["x"], np.log2(counts_table() + 1))
    assert report["steps"][-1]["step"] == "combat"
    with pytest.raises(UserInputError, match="single sample"):
        preprocess(counts_table(), opts, batches=pd.Series({"s1": "a", "s2": "a", "s3": "a",
                                                            "s4": "b"}), combat=fake_combat)
