"""Readers for the GDSC drug-response files and the MERGE AML meta-feature table.

Layout as in ``../shared/data`` (see its SOURCE.txt files): ``gdsc/GDSC_rnaseq_sanger.from_rda.csv.gz``
(long table: ``model_id, gene_symbol, read_count, fpkm`` ...),
``gdsc/raw/GDSC2_fitted_dose_response.tsv`` (``SANGER_MODEL_ID, DRUG_NAME, LN_IC50`` ...), and
``merge_aml/merge_features.csv`` (``GENE, SCORE, <5 driver features>, #SIGPVALS``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from aprior_cli.errors import UserInputError
from aprior_cli.io.tables import read_table
from aprior_cli.messages import capped

#: MERGE columns that are *not* meta-features (the authors' ``MergeData`` drops them too):
#: SCORE is MERGE's own driver score, #SIGPVALS a count of significant associations.
MERGE_NON_FEATURES = ("SCORE", "#SIGPVALS")


def read_gdsc_expression(path: str | os.PathLike) -> pd.DataFrame:
    """Cell lines x genes ``log2(FPKM + 1)`` from the provider's FPKM (long format reshaped).

    Rows are ``model_id`` (Sanger model id), columns gene symbols.
    """
    long = read_table(path)
    need = {"model_id", "gene_symbol", "fpkm"}
    missing = need - set(long.columns)
    if missing:
        raise UserInputError(f"{path}: missing column(s) {sorted(missing)} (expected the GDSC "
                             "long RNA-seq table)")
    wide = long.pivot_table(index="model_id", columns="gene_symbol", values="fpkm",
                            aggfunc="mean")
    if wide.isna().any().any():
        wide = wide.fillna(0.0)
    wide.columns = [str(c) for c in wide.columns]
    return np.log2(wide.astype(np.float64) + 1.0)


def read_gdsc_response(path: str | os.PathLike, drug: str) -> pd.Series:
    """``LN_IC50`` per Sanger model id for one drug (mean over duplicate fits)."""
    table = read_table(path)
    need = {"SANGER_MODEL_ID", "DRUG_NAME", "LN_IC50"}
    missing = need - set(table.columns)
    if missing:
        raise UserInputError(f"{path}: missing column(s) {sorted(missing)}")
    sub = table[table["DRUG_NAME"] == drug]
    if sub.empty:
        drugs = capped(sorted(table["DRUG_NAME"].astype(str).unique()), shown=12)
        raise UserInputError(f"{path}: no rows for drug {drug!r}; available: {drugs}")
    return sub.groupby("SANGER_MODEL_ID")["LN_IC50"].mean().rename("LN_IC50")


def read_merge_features(path: str | os.PathLike) -> pd.DataFrame:
    """MERGE AML per-gene driver features: genes (index) x 5 meta-features."""
    table = read_table(Path(path))
    if "GENE" not in table.columns:
        raise UserInputError(f"{path}: expected a GENE column (MERGE feature table)")
    table = table.drop(columns=[c for c in MERGE_NON_FEATURES if c in table.columns])
    return table.set_index("GENE")


def read_gdsc_dapr_task(data_dir: str | os.PathLike,
                        drug: str) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """(expression, LN_IC50 response, MERGE meta-features) from a ``shared/data``-style folder."""
    data_dir = Path(data_dir)
    return (read_gdsc_expression(data_dir / "gdsc" / "GDSC_rnaseq_sanger.from_rda.csv.gz"),
            read_gdsc_response(data_dir / "gdsc" / "raw" / "GDSC2_fitted_dose_response.tsv", drug),
            read_merge_features(data_dir / "merge_aml" / "merge_features.csv"))
