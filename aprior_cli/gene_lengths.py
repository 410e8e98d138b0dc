"""Gene length as the union of a gene's exons (the usual length for FPKM/TPM).

Overlapping exons of different transcripts are counted once: the length is the number of
genomic bases covered by at least one exon of the gene. GTF coordinates are 1-based and
inclusive, so an exon ``[start, end]`` covers ``end - start + 1`` bases.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def exonic_union_lengths(exons: pd.DataFrame) -> pd.Series:
    """Per-gene exonic union length in bp, vectorised (no Python loop over genes).

    Parameters
    ----------
    exons
        One row per exon with columns ``gene`` (id), ``start`` and ``end`` (1-based,
        inclusive). Exons of one gene are assumed to lie on one chromosome (true in GTFs;
        PAR genes on X and Y carry distinct ids in GENCODE).

    Returns
    -------
    pandas.Series
        int64 length indexed by gene id (sorted by id), named ``length``.
    """
    if exons.empty:
        return pd.Series([], dtype=np.int64, name="length", index=pd.Index([], name="gene"))
    codes, genes = pd.factorize(exons["gene"], sort=True)
    start = exons["start"].to_numpy(dtype=np.int64)
    end = exons["end"].to_numpy(dtype=np.int64)
    order = np.lexsort((start, codes))
    codes, start, end = codes[order], start[order], end[order]
    # running maximum of `end` within each gene, over exons sorted by start
    reach = pd.Series(end).groupby(codes).cummax().to_numpy()
    prev_reach = np.empty_like(reach)
    prev_reach[0] = -1
    prev_reach[1:] = reach[:-1]
    new_gene = np.ones(len(codes), dtype=bool)
    new_gene[1:] = codes[1:] != codes[:-1]
    # a new block starts at a new gene or where the exon begins after everything so far
    new_block = new_gene | (start > prev_reach)
    block_start = start[new_block]
    block_end = np.maximum.reduceat(end, np.flatnonzero(new_block))
    block_gene = codes[new_block]
    lengths = np.bincount(block_gene, weights=block_end - block_start + 1,
                          minlength=len(genes)).astype(np.int64)
    return pd.Series(lengths, index=pd.Index(genes, name="gene"), name="length")
