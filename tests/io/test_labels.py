"""Labels by column name, row filters and AnnData ``.obs`` (aprior_cli.io.labels)."""

from __future__ import annotations

import anndata
import numpy as np
import pandas as pd
import pytest

from aprior_cli.errors import UserInputError
from aprior_cli.io.labels import LabelSpec, apply_filters, parse_where, read_labels


def gdsc_like(path):
    """Several drugs per cell line, GDSC2 column names."""
    table = pd.DataFrame({
        "SANGER_MODEL_ID": ["SIDM1", "SIDM2", "SIDM1", "SIDM3", "SIDM2"],
        "DRUG_NAME": ["Olaparib", "Olaparib", "Erlotinib", "Olaparib", "Erlotinib"],
        "DRUG_ID": [1017, 1017, 1168, 1017, 1168],
        "LN_IC50": [4.1, 3.2, 2.0, 5.5, 1.1],
        "TCGA_DESC": ["BRCA", "LUAD", "BRCA", "SKCM", "LUAD"],
    })
    table.to_csv(path, sep="\t", index=False)
    return table


def test_named_columns_and_one_drug(tmp_path):
    gdsc_like(tmp_path / "r.tsv")
    spec = LabelSpec(sample_column="SANGER_MODEL_ID", target_column="LN_IC50",
                     group_column="TCGA_DESC", where=("DRUG_NAME=Olaparib",))
    labels = read_labels(tmp_path / "r.tsv", spec)
    assert list(labels["sample"]) == ["SIDM1", "SIDM2", "SIDM3"]
    assert list(labels["target"]) == [4.1, 3.2, 5.5]
    assert list(labels["group"]) == ["BRCA", "LUAD", "SKCM"]
    # other columns keep their names (usable as --covariates), the renamed ones are gone
    assert "DRUG_NAME" in labels and "TCGA_DESC" in labels
    assert "SANGER_MODEL_ID" not in labels and "LN_IC50" not in labels


def test_filters_or_within_a_column_and_within_numbers(tmp_path):
    table = gdsc_like(tmp_path / "r.tsv")
    both = apply_filters(table, parse_where(["DRUG_NAME=Olaparib", "DRUG_NAME=Erlotinib"]), "r")
    assert len(both) == 5
    one = apply_filters(table, parse_where(["DRUG_ID=1017", "TCGA_DESC!=SKCM"]), "r")
    assert list(one["SANGER_MODEL_ID"]) == ["SIDM1", "SIDM2"]
    floats = table.assign(DRUG_ID=table["DRUG_ID"].astype(float))  # 1017.0 matches "1017"
    assert len(apply_filters(floats, parse_where(["DRUG_ID=1017"]), "r")) == 3
    comma = parse_where(["PUTATIVE_TARGET=PARP1, PARP2"])[0]  # values may hold commas
    assert comma.value == "PARP1, PARP2" and not comma.negate


@pytest.mark.parametrize(("where", "message"), [
    (["DRUG_NAME"], "is not COLUMN=VALUE"),
    (["=Olaparib"], "is not COLUMN=VALUE"),
    (["DRUG=Olaparib"], "has no column 'DRUG'"),
    (["DRUG_NAME=Olaprib"], "did you mean 'Olaparib'?"),
    (["DRUG_NAME=Olaparib", "TCGA_DESC=LUAD", "DRUG_ID=1168"], "no row of r meets every"),
])
def test_filter_errors(tmp_path, where, message):
    table = gdsc_like(tmp_path / "r.tsv")
    with pytest.raises(UserInputError, match=message):
        apply_filters(table, parse_where(where), "r")


def test_missing_columns_list_what_exists_capped(tmp_path):
    header = "sample," + ",".join(f"G{i}" for i in range(5_000))
    path = tmp_path / "wide.csv"
    path.write_text(header + "\n" + "a," + ",".join(["0"] * 5_000) + "\n")
    with pytest.raises(UserInputError) as err:
        read_labels(path, LabelSpec(target_column="LN_IC50"))
    text = str(err.value)
    assert "no target column 'LN_IC50' (--target-column)" in text
    assert "… and 4,993 more" in text and len(text) < 300  # 5,001 columns, 8 shown
    with pytest.raises(UserInputError, match="no group column 'patient'"):
        read_labels(path, LabelSpec(target_column="G1", group_column="patient"))
    # a default group/batch column that is absent is simply not there
    assert "group" not in read_labels(path, LabelSpec(target_column="G1")).columns


def test_h5ad_labels_are_obs(tmp_path):
    obs = pd.DataFrame({"response": [0.5, 1.5, 2.5], "patient": pd.Categorical(["p1", "p1", "p2"]),
                        "donor_id": ["d1", "d2", "d3"]}, index=["c1", "c2", "c3"])
    adata = anndata.AnnData(X=np.ones((3, 64_000), dtype=np.float32), obs=obs)
    adata.write_h5ad(tmp_path / "x.h5ad")
    labels = read_labels(tmp_path / "x.h5ad", LabelSpec(target_column="response",
                                                         group_column="patient"))
    assert list(labels["sample"]) == ["c1", "c2", "c3"]  # obs_names
    assert list(labels["group"]) == ["p1", "p1", "p2"] and list(labels["target"]) == [0.5, 1.5, 2.5]
    by_column = read_labels(tmp_path / "x.h5ad", LabelSpec(sample_column="donor_id",
                                                           target_column="response"))
    assert list(by_column["sample"]) == ["d1", "d2", "d3"]
    with pytest.raises(UserInputError) as err:
        read_labels(tmp_path / "x.h5ad", LabelSpec(target_column="target"))
    assert "columns: response, patient, donor_id" in str(err.value)
    assert len(str(err.value)) < 200  # the .obs columns, not 64,000 genes


def test_sample_ids_become_text_and_missing_ids_are_named(tmp_path):
    pd.DataFrame({"sample": [683667.0, 684052.0], "target": [1, 2]}).to_csv(
        tmp_path / "l.csv", index=False)
    assert list(read_labels(tmp_path / "l.csv")["sample"]) == ["683667", "684052"]
    pd.DataFrame({"sample": ["a", None], "target": [1, 2]}).to_csv(tmp_path / "m.csv",
                                                                   index=False)
    with pytest.raises(UserInputError, match=r"row 2 \(after filters\) has no sample id in "
                                             r"column 'sample' .* --labels-where 'sample!='"):
        read_labels(tmp_path / "m.csv")
    kept = read_labels(tmp_path / "m.csv", LabelSpec(where=("sample!=",)))
    assert list(kept["sample"]) == ["a"]  # COLUMN!= keeps the filled-in rows
