"""Read a GTF (``.gtf`` or ``.gtf.gz``) into per-gene exonic length, biotype and name.

Only ``exon`` and ``gene`` lines are used; attributes are pulled out with vectorised regular
expressions (pandas), not a Python loop over lines.
"""

from __future__ import annotations

import os

import pandas as pd

from aprior_cli.errors import UserInputError
from aprior_cli.gene_lengths import exonic_union_lengths
from aprior_cli.io.files import require_file
from aprior_cli.io.read_errors import reading

GTF_COLUMNS = ["seqname", "source", "feature", "start", "end", "score", "strand", "frame",
               "attributes"]


def _attribute(attributes: pd.Series, key: str) -> pd.Series:
    return attributes.str.extract(rf'(?:^|;)\s*{key} "([^"]*)"', expand=False)


def read_gtf_genes(path: str | os.PathLike) -> pd.DataFrame:
    """Gene table from a GTF.

    Parameters
    ----------
    path
        GTF file, optionally gzip-compressed.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``gene`` (the ``gene_id`` attribute, as written), columns ``length``
        (exonic union length, bp, int), ``biotype`` (``gene_type`` or ``gene_biotype``;
        missing when the GTF has neither) and ``name`` (``gene_name`` when present).
    """
    path = require_file(path, "a GTF file")
    with reading(path, "GTF"):
        gtf = pd.read_csv(path, sep="\t", comment="#", header=None, names=GTF_COLUMNS,
                          usecols=["feature", "start", "end", "attributes"],
                          dtype={"feature": "category", "attributes": str}, engine="c")
    exons = gtf[gtf["feature"] == "exon"]
    if exons.empty:
        raise UserInputError(f"{path}: no 'exon' lines; is this a GTF file?")
    if exons["start"].isna().any() or exons["end"].isna().any():
        raise UserInputError(f"{path}: exon lines without numeric start/end")
    gene_ids = _attribute(exons["attributes"], "gene_id")
    if gene_ids.isna().any():
        raise UserInputError(f"{path}: exon lines without a gene_id attribute")
    lengths = exonic_union_lengths(pd.DataFrame({"gene": gene_ids.to_numpy(),
                                                 "start": exons["start"].to_numpy(),
                                                 "end": exons["end"].to_numpy()}))
    # biotype and name from gene lines if present, else from exon lines (first per gene)
    genes = gtf[gtf["feature"] == "gene"]
    source = genes if not genes.empty else exons
    attrs = source["attributes"]
    info = pd.DataFrame({"gene": _attribute(attrs, "gene_id").to_numpy()})
    biotype = _attribute(attrs, "gene_type")
    if biotype.isna().all():
        biotype = _attribute(attrs, "gene_biotype")
    info["biotype"] = biotype.to_numpy()
    info["name"] = _attribute(attrs, "gene_name").to_numpy()
    info = info.dropna(subset=["gene"]).drop_duplicates("gene").set_index("gene")
    out = lengths.to_frame().join(info, how="left")
    out.index.name = "gene"
    return out
