"""Length and depth normalisation of RNA-seq counts: FPKM and TPM.

Both functions take a samples x genes count table and a per-gene length in base pairs
(the exonic union length, see :mod:`aprior_cli.gene_lengths`).

Convention for FPKM (stated because tools differ): ``N`` is the sample's **total counts over
all genes of the input matrix, before any gene filtering** (before genes without a length,
non-protein-coding genes or mostly-zero genes are dropped), unless ``library_size`` is given.
This is the usual definition (reads mapped to the sample, not reads mapped to the kept genes).

TPM is normalised within the genes that have a length: each sample's TPM values sum to 1e6
over the genes passed in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from aprior_cli.errors import UserInputError


def _aligned_lengths(counts: pd.DataFrame, lengths: pd.Series) -> np.ndarray:
    missing = counts.columns.difference(lengths.index)
    if len(missing):
        raise UserInputError(f"{len(missing)} genes have no length (e.g. {missing[0]!r})")
    values = lengths.reindex(counts.columns).to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise UserInputError("gene lengths must be positive finite numbers")
    return values


def fpkm(counts: pd.DataFrame, lengths: pd.Series,
         library_size: pd.Series | np.ndarray | None = None) -> pd.DataFrame:
    """Fragments per kilobase of exon per million mapped fragments.

    ``FPKM[s, g] = counts[s, g] * 1e9 / (N[s] * length[g])``.

    Parameters
    ----------
    counts
        (samples, genes) non-negative counts.
    lengths
        Gene length in bp indexed by gene id; must cover every column of ``counts``.
    library_size
        (samples,) ``N``; default the row sums of ``counts`` (pass the totals of the unfiltered
        matrix when ``counts`` is already a subset of genes).

    Returns
    -------
    pandas.DataFrame
        (samples, genes) FPKM, same index and columns.
    """
    length = _aligned_lengths(counts, lengths)
    x = counts.to_numpy(dtype=np.float64)
    n = x.sum(axis=1) if library_size is None else np.asarray(library_size, dtype=np.float64)
    if n.shape != (x.shape[0],):
        raise UserInputError("library_size must have one value per sample")
    if np.any(n <= 0):
        bad = counts.index[np.flatnonzero(n <= 0)[0]]
        raise UserInputError(f"sample {bad!r} has no counts (total 0); cannot normalise")
    out = x * 1e9 / (n[:, None] * length[None, :])
    return pd.DataFrame(out, index=counts.index, columns=counts.columns)


def tpm(counts: pd.DataFrame, lengths: pd.Series) -> pd.DataFrame:
    """Transcripts per million: ``rate = counts / length``, ``TPM = 1e6 * rate / sum_g rate``.

    Parameters
    ----------
    counts
        (samples, genes) non-negative counts.
    lengths
        Gene length in bp indexed by gene id.

    Returns
    -------
    pandas.DataFrame
        (samples, genes) TPM; each row sums to 1e6.
    """
    length = _aligned_lengths(counts, lengths)
    rate = counts.to_numpy(dtype=np.float64) / length[None, :]
    total = rate.sum(axis=1)
    if np.any(total <= 0):
        bad = counts.index[np.flatnonzero(total <= 0)[0]]
        raise UserInputError(f"sample {bad!r} has no counts (total 0); cannot normalise")
    return pd.DataFrame(rate * 1e6 / total[:, None], index=counts.index, columns=counts.columns)
